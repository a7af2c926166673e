/* server: the listener and client connections: accept, request parsing (request.h), the front door (door.h), limits
 * and timeouts, and writing with backpressure. It decides nothing about answers: a complete request goes to the
 * route the front door chose (a table filled at start: the API proxy, the admin endpoints), which answers through
 * the client API below. The server knows no route and no route knows the server's structs.
 *
 * A client connection handles one request at a time; bytes of a pipelined next request wait in `in` until the
 * current answer is complete. Who may go on is decided when a request's head is complete, before any body byte is
 * read; a refused request is answered and the connection closed. Memory per connection is bounded whatever the
 * client does: while its queued output is above CLIENT_WQ_HIGH nothing more is read or parsed (so answers that are
 * never read cannot pile up), output that does not move for --send-timeout closes the connection, and a parsed
 * request lives only from its first byte to the end of its answer (an idle keep-alive connection holds its socket,
 * its timer and a few flags).
 *
 * Lifetime: a client is freed in the close callback of the last of its two handles, never inside another callback;
 * every callback that may close it checks `state == CL_CLOSING` first. A route's exchange is its own: the route
 * allocates it, tells the server with client_attach (so the server can report the client's going away and its
 * drained output), and frees it; after client_end the route touches neither the client nor the request again. */
#ifndef AP_SERVER_H
#define AP_SERVER_H

#include "buf.h"
#include "http.h"
#include "request.h"

#include <llhttp.h>
#include <stdint.h>
#include <uv.h>

struct clients;
struct config;
struct metrics;
struct usage_counts;

enum client_state {
	CL_IDLE,    /* waiting for the first byte of a request (keep-alive timeout) */
	CL_HEAD,    /* reading a request head (header timeout) */
	CL_BODY,    /* reading a request body */
	CL_BUSY,    /* request complete: an answer is being produced */
	CL_LINGER,  /* answer sent, write side shut: reading and dropping until EOF so the answer is not reset */
	CL_CLOSING, /* handles closing */
};

struct client_route;

/* A request's own id: "req_" + 16 lower-case hex digits + NUL. */
#define CLIENT_ID_LEN 21

struct client {
	uv_tcp_t tcp;              /* the socket */
	uv_timer_t timer;          /* the timeout of the current state */
	uv_shutdown_t shutdown;    /* graceful close: FIN after the last answer byte */
	struct server *srv;        /* owner */
	struct client *next;       /* list of open clients */
	struct client *prev;
	enum client_state state;   /* changed by set_state only */
	int refs;                  /* handle close callbacks still due */
	struct request *req;       /* the request from its first byte to the end of its answer, else NULL */
	struct buf in;             /* received bytes not yet parsed (pipelined requests) */
	uint64_t start_ms;         /* when the current request's first byte arrived */
	uint32_t wq_count;         /* writes in flight */
	size_t wq_bytes;           /* bytes in writes in flight */
	uint64_t out_progress_ms;  /* when queued output last moved (--send-timeout counts from here) */
	size_t out_seen;           /* libuv's write queue size at the last sweep */
	const struct client_route *route; /* who answers the current request (chosen at its head) */
	void *exchange;            /* the route's state for it (client_attach), or NULL */
	const char *door_kind;     /* why the front door refused the current request (log label), or NULL */
	const char *allow;         /* the Allow header for a 405 from the front door, or NULL */
	int client_id;             /* the client the front door matched the request's key to (clients.h), or -1 */
	char id[CLIENT_ID_LEN];    /* the current request's own id (client_request_id), "" before its first byte */
	char addr[48];             /* the peer, "IP:PORT" ("[IPv6]:PORT"), set at accept; "-" when unknown */
	int status;                /* status of an answer made by client_respond, 0 none */
	uint32_t local_bytes;      /* body bytes of that answer */
	unsigned reading : 1;      /* uv_read_start in effect */
	unsigned keepalive : 1;    /* the connection may carry another request */
	unsigned close_after : 1;  /* close once the write queue drains */
	unsigned eof : 1;          /* the client closed its side */
	unsigned responded : 1;    /* an early answer was sent while reading (e.g. 413): close after it */
	unsigned in_process : 1;   /* inside process(): answers that end synchronously must not recurse */
	unsigned out_full : 1;     /* reading and parsing stopped: queued output is above CLIENT_WQ_HIGH */
	unsigned failed : 1;       /* a write failed: closed by the reaper on the next loop turn */
	unsigned admin : 1;        /* accepted on the admin listener: door_check_admin decides its requests */
	struct client *reap_next;  /* the reaper's list */
};

/* A route answers the requests the front door sends its way. `ctx` is the route's own object. */
struct client_route {
	/* The request is complete (head and bounded body): answer through the client API, now or later, and end
	 * with client_end. */
	void (*start)(void *ctx, struct client *c);
	/* The client went away before client_end: stop at once, free the exchange, and still call client_end (its
	 * report is logged; nothing more is written). */
	void (*abort)(void *ctx, struct client *c, void *exchange);
	/* Optional: queued output fell below CLIENT_WQ_LOW while the exchange runs (resume what was paused). */
	void (*drained)(void *ctx, struct client *c, void *exchange);
	void *ctx;
};

/* Connections the admin listener takes at once, besides --max-connections: a flood on either listener cannot starve
 * the other (scrapers and probes need a few; FD_RESERVE in main.c leaves room for them). */
#define SERVER_ADMIN_MAX 16

struct server {
	uv_loop_t *loop;       /* the loop (not owned) */
	const struct config *cfg; /* limits, timeouts, access log (not owned) */
	struct metrics *metrics;  /* request and timeout counters (not owned) */
	const struct clients *client_table; /* the client table the front door checks keys against, or NULL: cfg's keys */
	int stopping;          /* server_stop ran: answers in flight finish, connections then close */
	uv_tcp_t listener;     /* listening socket */
	uv_tcp_t admin_listener; /* --admin-listen's socket (its connections serve the admin route alone) */
	int admin_listening;   /* admin_listener open */
	struct client *clients;/* open client connections */
	uint32_t n_clients;    /* how many (both listeners) */
	uint32_t n_admin;      /* of them, on the admin listener (a limit of its own: see SERVER_ADMIN_MAX) */
	int listening;         /* listener open */
	uint64_t n_rejected;   /* connections refused over --max-connections */
	struct request_limits limits; /* from the config, shared by every connection */
	const struct client_route *routes[2]; /* by enum door_route: the API, the admin endpoints */
	uv_timer_t sweep;      /* periodic: closes clients whose queued output did not move for --send-timeout */
	uv_timer_t reaper;     /* zero timer: closes the clients whose writes failed, outside the route's calls */
	struct client *reap;   /* those clients */
	int sweeping;          /* sweep open */
	uint64_t id_seed;      /* random at server_init: request ids differ between processes and restarts */
	uint64_t id_count;     /* requests begun: the counter behind their ids */
	char rbuf[64 * 1024];  /* the read buffer every connection reads into (parsed in place) */
};

/* What an exchange reports when it ends: its access-log line and the request metrics are made from it. Pointers
 * need to stay valid only during the client_end call. */
struct client_report {
	int status;                       /* status sent; 0: the one client_respond sent, if any */
	uint64_t bytes_out;               /* body bytes the route wrote with client_write (client_respond's count) */
	int route;                        /* enum metrics_route */
	int model_slot;                   /* metrics model slot, or METRICS_MODEL_NONE */
	int64_t ttfb_ms;                  /* time to the upstream's answer head, < 0 when none came */
	const char *request_id;           /* the upstream's request-id, or NULL */
	const char *error;                /* static error kind (a metric label), or NULL */
	const struct usage_counts *usage; /* tokens read from the answer, or NULL */
	const char *note;                 /* a sentence for the log line, or NULL */
	const char *client;               /* the client's name (clients.h), or NULL */
};

/* Sets up (no I/O, cannot fail): routes are added next, then server_start. */
void server_init(struct server *s, uv_loop_t *loop, const struct config *cfg, struct metrics *metrics);
/* Binds and listens on cfg->listen, and on cfg->admin_listen when set. Returns 0 or a libuv error (err says what,
 * for the user). */
int server_start(struct server *s, char *err, size_t errlen);
/* Stops accepting; open connections finish their current answer and close. */
void server_stop(struct server *s);
/* Closes every client connection now. */
void server_close_all(struct server *s);
/* Releases what the server still holds once the loop has closed. */
void server_free(struct server *s);

/* Routes the requests that the front door sends to `which` (enum door_route) to `r` (kept, not copied). */
void server_route(struct server *s, int which, const struct client_route *r);

/* ---- The client API: all a route may do with a client. ---- */

/* The request's own id, given by the server when its first byte arrived ("req_" + 16 hex digits, distinct within
 * the process, unrelated between processes). Every answer carries it as `x-proxy-request-id`, the proxy's own error
 * bodies as "request_id", and every log line about the request as `id`. Valid until client_end. */
static inline const char *client_request_id(const struct client *c) { return c->id; }
/* The peer's address, "IP:PORT" or "[IPv6]:PORT" ("-" when unknown), for log lines. */
static inline const char *client_addr(const struct client *c) { return c->addr; }
/* The request being answered (valid until client_end). */
static inline const struct request *client_request(const struct client *c) { return c->req; }
/* Which client sent the request: its index in the client table the front door matched its key against, or -1. */
static inline int client_identity(const struct client *c) { return c->client_id; }
/* The status of an answer made by client_respond (0: none). */
static inline int client_local_status(const struct client *c) { return c->status; }
/* When the request's first byte arrived (uv_now). */
static inline uint64_t client_start_ms(const struct client *c) { return c->start_ms; }
/* Answer bytes queued and not yet taken by the socket (compare with CLIENT_WQ_HIGH / CLIENT_WQ_LOW). */
static inline size_t client_queued(const struct client *c) { return c->wq_bytes; }
/* Whether the connection may carry another request after this answer. */
static inline int client_keepalive(const struct client *c) { return c->keepalive; }
/* The answer will be delimited by closing the connection (a length-less answer to an HTTP/1.0 client). */
void client_no_keepalive(struct client *c);
/* The route's state for the current request: the server passes it to abort and drained. */
void client_attach(struct client *c, void *exchange);
/* Writes answer bytes (copied if they cannot go out at once). 0, or -1 if the client is gone. */
int client_write(struct client *c, const uv_buf_t *bufs, unsigned n);
/* A complete answer with a body, built here (head + body, x-proxy-request-id included): local answers and
 * proxy-made errors. */
void client_respond(struct client *c, int status, const char *content_type, const char *body, size_t len);
/* The same with extra header lines (each ending in \r\n; a few hundred bytes at most), or NULL. */
void client_respond_with(struct client *c, int status, const char *content_type, const char *extra, const char *body,
			 size_t len);
/* An error answer in the API's JSON shape, with the request's id as its "request_id". */
void client_respond_error(struct client *c, int status, const char *message);
void client_respond_error_with(struct client *c, int status, const char *message, const char *extra);
/* The answer is over: logged and counted from `rep`; `complete` is 0 when it was cut short (the connection then
 * closes so the client cannot take a partial answer for a whole one). The exchange is detached; the next
 * pipelined request may start from inside this call. */
void client_end(struct client *c, const struct client_report *rep, int complete);

/* The route cannot go on with the exchange (out of memory): the connection is closed from the server's reaper on
 * the next loop turn, the exchange aborted with it, as after a failed write. Safe inside callbacks; idempotent. */
void client_fail(struct client *c);

/* Write-queue watermarks for backpressure. */
/* Bytes queued in userspace for a client: only a slow reader ever queues (the kernel's socket buffer takes the rest
 * first), so a small mark costs fast clients nothing and keeps a slow one's footprint small. */
#define CLIENT_WQ_HIGH (16 * 1024)
#define CLIENT_WQ_LOW (4 * 1024)

#endif
