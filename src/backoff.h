/* backoff: the one retry schedule, for every loop that retries something over the network (token refresh, usage
 * poll, OTLP export, and whatever later joins them). Pure: no clock, no I/O; the caller arms its own timer.
 *
 * After a failure the delay is `min_ms`, then doubles, capped at `max_ms`. A longer delay the other side asked
 * for (a retry-after) wins, even over the cap: the server knows best when it will take the next try. A success
 * resets the schedule. */
#ifndef AP_BACKOFF_H
#define AP_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint64_t min_ms; /* first delay after a success */
	uint64_t max_ms; /* cap of the doubling */
	uint64_t cur_ms; /* the delay last given, 0 while healthy */
};

void backoff_init(struct backoff *b, uint64_t min_ms, uint64_t max_ms);
/* A failure: returns the delay before the next try (and remembers it). `asked_ms` is the other side's
 * retry-after in ms, or 0. */
uint64_t backoff_fail(struct backoff *b, uint64_t asked_ms);
/* A success: the next failure starts again at min_ms. */
void backoff_reset(struct backoff *b);
/* `ms` moved by up to +-pct/2 percent at random, so that many processes started together do not act in step. */
uint64_t backoff_jitter(uint64_t ms, unsigned pct);

#endif
