/* proxy: one proxied exchange on a client connection: rewrite the request, send it upstream, stream the
 * answer back with backpressure.
 *
 * The exchange lives inside struct client (one at a time per connection: HTTP/1.1 answers are in order).
 * The server calls proxy_start when a request is complete, proxy_abort when the client goes away, and
 * proxy_drained when the client's write queue falls below the low-water mark. The proxy ends every exchange
 * it starts with client_exchange_end. */
#ifndef AP_PROXY_H
#define AP_PROXY_H

#include "buf.h"
#include "oauth.h"
#include "upstream.h"
#include "usage.h"

#include <stdint.h>

struct account;
struct client;

struct proxy_exchange {
	struct upstream_req ureq; /* the upstream request (its head points into `head`) */
	struct account *acct;     /* the subscription that signs this exchange (not owned) */
	struct buf head;          /* rewritten request head, reused across requests on the connection */
	int status;               /* status sent to the client, 0 until the head went out */
	unsigned active : 1;      /* an upstream request is in flight */
	unsigned chunked : 1;     /* the body goes to the client in chunked framing */
	unsigned paused : 1;      /* upstream reading paused because the client is slow */
	unsigned messages : 1;    /* a POST /v1/messages: its answer is consumption (tracked and counted) */
	unsigned waiting : 1;     /* queued for an access token (refresh in flight) */
	unsigned holding : 1;     /* a 401 is held back until we know whether a refresh fixes it */
	unsigned replayed : 1;    /* already sent again after a 401 "expired": never twice */
	struct oauth_waiter waiter; /* the token wait */
	uint64_t generation;      /* oauth generation of the token the request was signed with */
	struct buf hold;          /* the held 401 answer, as it would go to the client (bounded) */
	struct buf hold_body;     /* its body alone, to read the error message */
	int held_status;          /* its status */
	int hold_coded;           /* the held body has a content-encoding */
	unsigned sniff : 1;       /* keep the start of the body (error answers) to read its message */
	unsigned reading : 1;     /* `usage` reads this answer */
	unsigned accounted : 1;   /* this answer's tokens went to the tracker */
	uint8_t route;            /* enum metrics_route */
	int model_slot;           /* tracker model slot of the answer, or METRICS_MODEL_NONE */
	struct usage_reader usage;/* token usage read on the side (never moved once fed) */
	uint64_t bytes_out;       /* body bytes written to the client */
	uint64_t ttfb_ms;         /* time to the answer's head */
	int upstream_answered;    /* the upstream sent a head (ttfb_ms is meaningful) */
	char request_id[72];      /* upstream request-id, for the log */
	const char *error;        /* error kind when the exchange failed (static string), or NULL */
};

void proxy_exchange_init(struct proxy_exchange *ex);
void proxy_exchange_free(struct proxy_exchange *ex);

void proxy_start(struct client *c);
void proxy_abort(struct client *c);
void proxy_drained(struct client *c);
/* When the answer named no model, attributes the request to the model its body asked for (for metrics). */
void proxy_fill_model(struct client *c);

/* Builds the upstream request head from a client request (pure; exposed for unit tests).
 * Returns 0, or -1 when out of memory. */
struct http_hdrs;
int proxy_rewrite_head(struct buf *out, const char *method, const char *url, size_t url_len,
		       const struct http_hdrs *h, const char *authority, const char *token, int has_body,
		       uint64_t body_len);

#endif
