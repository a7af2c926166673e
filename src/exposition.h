/* exposition: every metric of the app, written once per family against a sink that makes Prometheus text
 * (exposition format 0.0.4) or OTLP JSON, so the two formats cannot drift apart. Request-path counters come from
 * metrics.h; windows, tokens, login, pool and process figures are read from their owners at scrape time (one source
 * of truth per value). */
#ifndef AP_EXPOSITION_H
#define AP_EXPOSITION_H

#include "buf.h"

struct app;

/* Every metric of the app as Prometheus text. Returns 0 or -1 (out of memory). */
int exposition_prometheus(struct app *app, struct buf *out);
/* The same metrics as the `metrics` array of an OTLP ScopeMetrics (JSON encoding, without the brackets). */
int exposition_otlp(struct app *app, struct buf *out);

#endif
