/* clock: wall-clock time for values compared with the API's unix timestamps (token expiry, window resets).
 * Scheduling uses uv_now(loop) instead, which is monotonic and cached per loop iteration. */
#ifndef AP_CLOCK_H
#define AP_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

static inline int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unix seconds as RFC 3339 in UTC ("2026-01-02T19:59:59Z"); out needs 21 bytes. */
static inline void clock_format_utc(int64_t unix_s, char *out, size_t len)
{
	time_t tt = (time_t)unix_s;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

#endif
