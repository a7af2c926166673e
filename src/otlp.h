/* otlp: periodic OTLP/HTTP export (JSON encoding) of the same metrics /metrics serves.
 *
 * Configured by the standard OpenTelemetry environment variables: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (used as is)
 * or OTEL_EXPORTER_OTLP_ENDPOINT (+ "/v1/metrics"), OTEL_METRIC_EXPORT_INTERVAL (ms, default 60000),
 * OTEL_EXPORTER_OTLP_HEADERS / OTEL_EXPORTER_OTLP_METRICS_HEADERS ("k=v,k2=v2", percent-decoded),
 * OTEL_EXPORTER_OTLP_TIMEOUT (ms), OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. Gauges go out as gauges, counters
 * as cumulative monotonic sums, durations as explicit-bucket histograms.
 *
 * It runs on the loop through the shared upstream client (plain HTTP or HTTPS). At most one export is in flight and
 * each is built afresh, so a collector that is down costs a failed request per period and nothing more; failures
 * back off up to 5 minutes. */
#ifndef AP_OTLP_H
#define AP_OTLP_H

#include "backoff.h"
#include "buf.h"
#include "upstream.h"

#include <stdint.h>
#include <uv.h>

struct app;

struct otlp {
	struct app *app;          /* owner */
	int enabled;              /* an endpoint is configured */
	uv_timer_t timer;         /* next export */
	struct upstream up;       /* the collector's origin */
	struct upstream_req req;  /* export in flight */
	struct buf head;          /* its head */
	struct buf body;          /* its body */
	char url[600];            /* endpoint, for logs */
	char path[512];           /* request path */
	char auth[300];           /* Host header */
	char headers[2048];       /* extra header lines from OTEL_EXPORTER_OTLP_*HEADERS */
	char resource[2048];      /* resource attributes, rendered as JSON array elements */
	uint64_t interval_ms;     /* export period */
	struct backoff backoff;   /* retry delay after failures */
	int status;               /* status of the answer in flight */
	int in_flight;            /* req is out */
	int closing;              /* shutting down */
	uint64_t n_ok;            /* exports accepted */
	uint64_t n_failed;        /* exports that failed */
	char last_error[200];     /* why the last one failed */
};

/* Reads the environment. Returns 0 (enabled or not, see `enabled`), or -1 with `err` set for a bad setting. */
int otlp_init(struct otlp *o, struct app *app, char **envp, struct tls_ctx *tls, char *err, size_t errlen);
void otlp_start(struct otlp *o);
void otlp_close(struct otlp *o);
void otlp_free(struct otlp *o);

#endif
