/* admin: the proxy's own endpoints, served on the client listener at reserved paths: /healthz and /usage (the
 * tracker's JSON snapshot). Pure rendering: no sockets, no upstream. */
#ifndef AP_ADMIN_H
#define AP_ADMIN_H

#include "buf.h"

#include <stddef.h>

struct app;

struct admin_answer {
	int status;               /* HTTP status */
	const char *content_type; /* static string */
	struct buf body;          /* rendered body (caller frees) */
};

/* Whether a request target is one of the reserved paths (the query string is ignored). */
int admin_match(const char *url, size_t len);
/* Renders the answer for a reserved path. */
void admin_render(struct app *app, const char *method, const char *url, size_t len, struct admin_answer *a);

#endif
