/* server: the listener and client connections: accept, llhttp request parsing, limits and timeouts, routing
 * to admin or proxy, and writing with backpressure.
 *
 * A client connection handles one request at a time; bytes of a pipelined next request wait in `in` until the
 * current answer is complete. Who may go on is decided when a request's head is complete (door.h), before any body
 * byte is read; a refused request is answered and the connection closed. Memory per connection is bounded whatever
 * the client does: while its queued output is above CLIENT_WQ_HIGH nothing more is read or parsed (so answers that
 * are never read cannot pile up), and output that does not move for --send-timeout closes the connection. Lifetime: a client is freed in the close callback of the last of its two handles;
 * every callback that may close it checks `state == CL_CLOSING` before touching anything else. */
#ifndef AP_SERVER_H
#define AP_SERVER_H

#include "buf.h"
#include "http.h"
#include "proxy.h"
#include "request.h"

#include <llhttp.h>
#include <stdint.h>
#include <uv.h>

struct app;

enum client_state {
	CL_IDLE,    /* waiting for the first byte of a request (keep-alive timeout) */
	CL_HEAD,    /* reading a request head (header timeout) */
	CL_BODY,    /* reading a request body */
	CL_BUSY,    /* request complete: an answer is being produced */
	CL_LINGER,  /* answer sent, write side shut: reading and dropping until EOF so the answer is not reset */
	CL_CLOSING, /* handles closing */
};

struct client {
	uv_tcp_t tcp;              /* the socket */
	uv_timer_t timer;          /* the timeout of the current state */
	uv_shutdown_t shutdown;    /* graceful close: FIN after the last answer byte */
	struct app *app;           /* owner of everything */
	struct client *next;       /* list of open clients */
	struct client *prev;
	enum client_state state;   /* changed by set_state only */
	int refs;                  /* handle close callbacks still due */
	struct request req;        /* the current request: parser, headers, target, body (bounded) */
	struct buf in;             /* received bytes not yet parsed (pipelined requests) */
	uint64_t start_ms;         /* when the current request's first byte arrived */
	uint32_t wq_count;         /* writes in flight */
	size_t wq_bytes;           /* bytes in writes in flight */
	uint64_t out_progress_ms;  /* when queued output last moved (--send-timeout counts from here) */
	size_t out_seen;           /* libuv's write queue size at the last sweep */
	const char *door_kind;     /* why the front door refused the current request (log label), or NULL */
	const char *allow;         /* the Allow header for a 405 from the front door, or NULL */
	unsigned reading : 1;      /* uv_read_start in effect */
	unsigned keepalive : 1;    /* the connection may carry another request */
	unsigned close_after : 1;  /* close once the write queue drains */
	unsigned eof : 1;          /* the client closed its side */
	unsigned responded : 1;    /* an early answer was sent while reading (e.g. 413): close after it */
	unsigned in_process : 1;   /* inside process(): answers that end synchronously must not recurse */
	unsigned out_full : 1;     /* reading and parsing stopped: queued output is above CLIENT_WQ_HIGH */
	unsigned admin : 1;        /* the current request is for an admin path (decided at its head) */
	struct proxy_exchange ex;  /* the proxied exchange, when there is one */
};

struct server {
	struct app *app;       /* owner */
	uv_tcp_t listener;     /* listening socket */
	struct client *clients;/* open client connections */
	uint32_t n_clients;    /* how many */
	int listening;         /* listener open */
	uint64_t n_rejected;   /* connections refused over --max-connections */
	struct request_limits limits; /* from the config, shared by every connection */
	uv_timer_t sweep;      /* periodic: closes clients whose queued output did not move for --send-timeout */
	int sweeping;          /* sweep open */
	char rbuf[64 * 1024];  /* the read buffer every connection reads into (parsed in place) */
	struct buf gather;     /* answer bytes of the upstream read pass under way, for one write (proxy.c) */
	struct client *gather_owner; /* whose bytes `gather` holds, or NULL */
};

/* Binds and listens on cfg->listen. Returns 0 or a libuv error (err says what, for the user). */
int server_start(struct server *s, struct app *app, char *err, size_t errlen);
/* Stops accepting; open connections finish their current answer and close. */
void server_stop(struct server *s);
/* Closes every client connection now. */
void server_close_all(struct server *s);
/* Releases what the server still holds once the loop has closed. */
void server_free(struct server *s);

/* For the proxy and admin: write answer bytes (copied if they cannot go out at once). 0, or -1 if the client
 * is gone. */
int client_write(struct client *c, const uv_buf_t *bufs, unsigned n);
/* A complete answer with a body, built here (head + body). For local answers and proxy-made errors. */
void client_respond(struct client *c, int status, const char *content_type, const char *body, size_t len);
/* An error answer in the API's JSON shape, logged as one line. */
void client_respond_error(struct client *c, int status, const char *message);
/* The answer to the current request is over: `complete` is 0 when it was cut short (the connection then
 * closes so the client cannot take a partial answer for a whole one). */
void client_exchange_end(struct client *c, int complete);
/* Logs the request as one line and records it in the metrics (once per request). */
void client_log_request(struct client *c, const char *note);
/* Write-queue watermarks for backpressure. */
/* Bytes queued in userspace for a client: only a slow reader ever queues (the kernel's socket buffer takes the rest
 * first), so a small mark costs fast clients nothing and keeps a slow one's footprint small. */
#define CLIENT_WQ_HIGH (16 * 1024)
#define CLIENT_WQ_LOW (4 * 1024)

#endif
