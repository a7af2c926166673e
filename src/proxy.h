/* proxy: the API route. For each request the front door lets through, one exchange: pick the account that signs
 * it, rewrite the head, send it upstream, stream the answer back with backpressure, and read its usage on the side.
 *
 * The proxy talks to the client only through the client API (server.h) and to the upstream only through
 * upstream.h. An exchange is allocated when a request starts and freed when it ends (an idle connection holds
 * none); it is attached to the client so that the server can report the client's going away (abort) and its
 * drained output (drained). Every exchange that starts ends with exactly one client_end.
 *
 * Answer bytes of one upstream read pass are gathered in one buffer the proxy shares among its exchanges (one loop,
 * one pass at a time) and written in one piece when the pass ends. */
#ifndef AP_PROXY_H
#define AP_PROXY_H

#include "buf.h"
#include "pins.h"
#include "router.h"
#include "server.h"

#include <stdint.h>

struct app;
struct http_hdrs;
struct proxy_exchange;

/* Routing among the accounts: what was decided, for /usage and the metrics. */
struct proxy_routing {
	struct pins pins;                        /* conversation -> account */
	uint64_t decisions[ROUTER_REASON_N];     /* accounts chosen, by reason */
	uint64_t refusals[ROUTER_BLOCK_N];       /* requests answered 429 by the guard, by what blocked the accounts */
	uint64_t failovers;                      /* requests replayed on another account after a 429/529/400 */
	uint64_t overage_trips;                  /* accounts found drawing on extra usage */
	int last_account;                        /* last choice, -1 none */
	enum router_reason last_reason;          /* and why */
	int64_t last_at_ms;                      /* and when (unix ms) */
};

struct proxy {
	struct app *app;                     /* owner: config, accounts, upstream client, metrics */
	struct client_route route;           /* how the server reaches the proxy (ctx: this struct) */
	struct buf gather;                   /* answer bytes of the upstream read pass under way, for one write */
	struct proxy_exchange *gather_owner; /* whose bytes `gather` holds, or NULL */
	struct proxy_routing routing;        /* account choice */
};

/* After the accounts are set up (the pin table is sized from the configuration). */
void proxy_init(struct proxy *p, struct app *app);
/* After the loop has ended (no exchange is left). */
void proxy_free(struct proxy *p);

/* Builds the upstream request head from a client request (pure; exposed for unit tests and the fuzzer).
 * Returns 0, or -1 when out of memory. */
int proxy_rewrite_head(struct buf *out, const char *method, const char *url, size_t url_len,
		       const struct http_hdrs *h, const char *authority, const char *token, int has_body,
		       uint64_t body_len);

#endif
