#include "backoff.h"

#include <stdlib.h>

void backoff_init(struct backoff *b, uint64_t min_ms, uint64_t max_ms)
{
	b->min_ms = min_ms;
	b->max_ms = max_ms < min_ms ? min_ms : max_ms;
	b->cur_ms = 0;
}

uint64_t backoff_fail(struct backoff *b, uint64_t asked_ms)
{
	uint64_t next = b->cur_ms ? b->cur_ms * 2 : b->min_ms;
	if (next > b->max_ms || next < b->cur_ms)
		next = b->max_ms;
	b->cur_ms = next;
	return asked_ms > next ? asked_ms : next;
}

void backoff_reset(struct backoff *b) { b->cur_ms = 0; }

uint64_t backoff_jitter(uint64_t ms, unsigned pct)
{
	int64_t span = (int64_t)(ms / 100 * pct + ms % 100 * pct / 100);
	int64_t d = span ? (int64_t)(random() % (span + 1)) - span / 2 : 0;
	return (uint64_t)((int64_t)ms + d);
}
