/* admin: the proxy's own endpoints, /healthz, /readyz, /usage (the tracker's JSON snapshot) and /metrics, served as
 * a route of the server (server.h) at reserved paths: on the client listener, or with --admin-listen on that listener
 * alone (the client listener keeps /healthz). Answers are rendered at once from the app's state: no upstream, no
 * waiting. The front door (door.h) lets only GET and HEAD through to here. */
#ifndef AP_ADMIN_H
#define AP_ADMIN_H

#include "buf.h"

#include <stddef.h>

struct app;
struct client_route;

struct admin_answer {
	int status;               /* HTTP status */
	const char *content_type; /* static string */
	struct buf body;          /* rendered body (caller frees) */
};

/* Renders the answer for a reserved path (pure rendering over the app's state). */
void admin_render(struct app *app, const char *path, size_t len, struct admin_answer *a);
/* The route the server sends admin requests to. */
void admin_route_init(struct client_route *r, struct app *app);

#endif
