/* metrics: the proxy's request-path counters and histograms, and the label sets they are kept by (routes, status
 * classes, models, error kinds). Rendering them, with everything read from its owner at scrape time, is
 * exposition.h's.
 *
 * Counters that only the request path knows live here and are bumped by the proxy; everything else (windows,
 * tokens, login, pool) is read from its owner at scrape time, so there is one source of truth per value. Every
 * label set is bounded: routes and status classes are fixed lists, models come from the tracker's capped table,
 * error and event types from fixed lists with an "other". Names follow Prometheus conventions: base units,
 * `_total` for counters, prefix anthropic_proxy_. */
#ifndef AP_METRICS_H
#define AP_METRICS_H

#include "buf.h"
#include "hist.h"
#include "tracker.h"

#include <stdint.h>

enum metrics_route { ROUTE_MESSAGES, ROUTE_COUNT_TOKENS, ROUTE_MODELS, ROUTE_OTHER, ROUTE_ADMIN, ROUTE_N };
enum metrics_class { CLASS_1XX, CLASS_2XX, CLASS_3XX, CLASS_4XX, CLASS_5XX, CLASS_NONE, CLASS_N };
enum metrics_429 { RL_WINDOW, RL_BARE, RL_N };
enum metrics_reject { REJECT_CLAUDE_CODE_ONLY, REJECT_EXTRA_USAGE, REJECT_N };
#define METRICS_STREAM_ERRORS 6 /* overloaded_error, api_error, rate_limit_error, invalid_request_error, ...other */
#define METRICS_MODEL_NONE (TRACKER_MAX_MODELS + 1) /* requests whose answer named no model */

struct metrics {
	uint64_t requests[ROUTE_N][CLASS_N][TRACKER_MAX_MODELS + 2]; /* by route, status class, model slot */
	struct hist duration[ROUTE_N];      /* request duration */
	struct hist ttfb[ROUTE_N];          /* time to the answer's head */
	uint64_t rate_limited[RL_N];        /* 429 answers by kind */
	uint64_t rejected[REJECT_N];        /* subscription-only 400s by reason */
	uint64_t stream_errors[METRICS_STREAM_ERRORS]; /* in-stream `error` events by type */
	uint64_t oversized_events;          /* SSE events too big to read usage from */
	uint64_t client_timeouts[4];        /* head, body, keep-alive, send timeouts fired */
	uint64_t replays;                   /* requests replayed after a refresh */
	int64_t started_ms;                 /* process start, unix ms */
};

void metrics_init(struct metrics *m, int64_t now_ms);
enum metrics_route metrics_route(const char *path, size_t len);
enum metrics_class metrics_class(int status);
/* Index into stream_errors for an error type string. */
int metrics_stream_error_index(const char *type);

/* Stream error types in the order of the counters (the last is "other"). */
extern const char *const metrics_stream_error_names[METRICS_STREAM_ERRORS];

#endif
