/* hist: a fixed-bucket latency histogram (seconds), cumulative like Prometheus' and OTLP's explicit buckets. */
#ifndef AP_HIST_H
#define AP_HIST_H

#include <stdint.h>

#define HIST_BUCKETS 14
/* Upper bounds in seconds; the +Inf bucket is `count`. Covers a fast local hop up to a long streamed answer. */
static const double hist_bounds[HIST_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
						 1,     2.5,  5,     10,   30,  60,   300};

struct hist {
	uint64_t bucket[HIST_BUCKETS]; /* observations <= bound (not cumulative here; summed when rendered) */
	uint64_t count;                /* all observations */
	double sum;                    /* their sum, seconds */
};

static inline void hist_observe(struct hist *h, double seconds)
{
	for (int i = 0; i < HIST_BUCKETS; i++)
		if (seconds <= hist_bounds[i]) {
			h->bucket[i]++;
			break;
		}
	h->count++;
	h->sum += seconds;
}

#endif
