/* redis: the fleet's Redis, reached through hiredis on the loop (its libuv adapter): one connection for commands,
 * one subscribed to the fleet's channel.
 *
 * Nothing waits for Redis. A command while the command connection is not up fails at once (redis_cmd returns -1
 * and its callback is never called); the caller then works on local state. A command left unanswered for
 * REDIS_CMD_TIMEOUT_MS, or a connect that takes longer than the connect timeout, drops the connection: the
 * callbacks of the commands in flight run with a NULL reply. Reconnects back off (backoff.h) from 250 ms to 5 s.
 * Every (re)connection of the command connection calls on_up once it answered PING after AUTH and SELECT, so the
 * owner can re-push what a restarted Redis lost.
 *
 * The password never reaches a log line. */
#ifndef AP_REDIS_H
#define AP_REDIS_H

#include "backoff.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct redisAsyncContext;
struct redisReply;

#define REDIS_CMD_TIMEOUT_MS 2000

/* What goes wrong, as the label of anthropic_proxy_redis_errors_total. */
enum redis_err { REDIS_E_CONNECT, REDIS_E_AUTH, REDIS_E_TIMEOUT, REDIS_E_DISCONNECT, REDIS_E_REPLY, REDIS_E_KINDS };
extern const char *const redis_err_names[REDIS_E_KINDS];

/* redis://[user:password@]host:port[/db] or unix:///path[?db=N]. */
struct redis_url {
	char host[256];     /* TCP host, "" for a unix socket */
	int port;           /* TCP port (6379 when not given) */
	char path[256];     /* unix socket path, "" for TCP */
	char user[128];     /* ACL user, "" for none */
	char password[256]; /* "" for none (ANTHROPIC_PROXY_REDIS_PASSWORD may fill it) */
	int db;             /* SELECT db, 0 default */
};
/* Parses a --redis value. Returns 0, or -1 with one line in err. Pure. */
int redis_parse_url(const char *url, struct redis_url *out, char *err, size_t errlen);
/* "host:port" or the socket path, for logs and /usage (never the password). */
void redis_url_describe(const struct redis_url *u, char *out, size_t n);

struct redis;
/* A command's answer: `reply` is NULL when the connection failed before it came or Redis is being closed (an error
 * reply is a reply). Called exactly once for every command redis_cmd accepted. */
typedef void (*redis_reply_cb)(struct redis *r, struct redisReply *reply, void *data);

struct redis_conn {
	struct redis *r;                 /* owner */
	struct redisAsyncContext *ac;    /* hiredis context, NULL while down (hiredis owns and frees it) */
	int ready;                       /* AUTH/SELECT (and SUBSCRIBE) answered: usable */
	int refused;                     /* AUTH or SELECT was refused: this connection is being dropped */
	int connected;                   /* TCP connected (hiredis' connect callback said so) */
	uint64_t started_ms;             /* uv_now when the connect began */
	struct backoff backoff;          /* reconnect delay */
	uint64_t next_try_ms;            /* uv_now of the next connect attempt */
	int subscriber;                  /* this is the pub/sub connection */
	uv_getaddrinfo_t gai;            /* resolving the host (hiredis would block the loop on it) */
	int resolving;                   /* gai in flight */
};

struct redis {
	uv_loop_t *loop;                 /* the loop (not owned) */
	struct redis_url url;            /* where */
	char channel[160];               /* the fleet's pub/sub channel */
	uint64_t connect_timeout_ms;     /* a connect longer than this is dropped */
	struct redis_conn cmd;           /* commands */
	struct redis_conn sub;           /* SUBSCRIBE channel */
	uv_timer_t timer;                /* reconnects and the command watchdog */
	uint32_t pending;                /* commands in flight on cmd */
	uint64_t progress_ms;            /* uv_now of the last answer (or of the first command after a quiet spell) */
	uint64_t errors[REDIS_E_KINDS];  /* by kind, since start */
	uint64_t connects;               /* times the command connection came up */
	char last_error[200];            /* the last problem, "" none yet */
	void (*on_up)(void *arg);        /* the command connection is (again) usable */
	void (*on_message)(void *arg, const char *msg, size_t len); /* a message on the channel */
	void *arg;                       /* their argument */
	int closing;                     /* shutting down */
};

/* Cannot fail; no I/O. */
void redis_init(struct redis *r, uv_loop_t *loop, const struct redis_url *url, const char *channel,
		uint64_t connect_timeout_ms);
/* Connects both connections (and keeps them connected). */
void redis_start(struct redis *r);
/* Drops both connections (callbacks in flight run with NULL) and closes the timer. */
void redis_close(struct redis *r);
void redis_free(struct redis *r);

/* Whether commands can be sent now. */
static inline int redis_up(const struct redis *r) { return r->cmd.ready; }
/* Commands written and not yet answered (a shutdown waits for them: closing discards what hiredis still holds). */
static inline int redis_busy(const struct redis *r) { return r->cmd.ready && r->pending > 0; }

/* Sends a command (hiredis format: %s strings, %b binary with length). Returns 0, or -1 when Redis is not up (cb
 * is then never called). */
int redis_cmd(struct redis *r, redis_reply_cb cb, void *data, const char *fmt, ...);
/* Same with an argument vector. */
int redis_cmdv(struct redis *r, redis_reply_cb cb, void *data, int argc, const char **argv, const size_t *lens);
/* Counts an unexpected reply (an error reply or a wrong type) as an error of kind REPLY, logged once a minute. */
void redis_reply_error(struct redis *r, const struct redisReply *reply, const char *what);

#endif
