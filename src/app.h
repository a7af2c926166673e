/* app: the root object. It owns the loop, the configuration and every long-lived part; it is created in main
 * and passed down explicitly. There is no other mutable global state. */
#ifndef AP_APP_H
#define AP_APP_H

#include "config.h"
#include "oauth.h"
#include "server.h"
#include "upstream.h"

#include <uv.h>

struct app {
	uv_loop_t *loop;          /* the one loop */
	struct config cfg;        /* immutable after start */
	struct oauth oauth;       /* the subscription's credentials */
	struct upstream up;       /* upstream client and pool */
	struct server srv;        /* listener and client connections */
	uv_signal_t sig_term;     /* SIGTERM: drain and exit */
	uv_signal_t sig_int;      /* SIGINT: same */
	int stopping;             /* a stop signal arrived */
	uint64_t started_ms;      /* uv_now at start */
};

#endif
