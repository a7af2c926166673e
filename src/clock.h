/* clock: wall-clock time for values compared with the API's unix timestamps (token expiry, window resets).
 * Scheduling uses uv_now(loop) instead, which is monotonic and cached per loop iteration. */
#ifndef AP_CLOCK_H
#define AP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
