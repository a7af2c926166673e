/* door: the front door. Who may use the proxy and what it signs, decided from a request's head alone, before any
 * body byte is read or buffered:
 * - Host: without client keys on a loopback listener, only a loopback name or address (a browser page that reaches
 *   127.0.0.1 through DNS rebinding shows its own name here);
 * - Origin: only values allowed by --allow-origin (a web page's fetch carries one; command-line clients never do);
 * - the client key, when keys are configured (compared in constant time);
 * - the API's methods and paths (/v1/, /api/, --forward-prefix), in normal form only; the admin paths, served locally
 *   (with --admin-listen, on that listener only: the client listener answers them 404, but for /healthz).
 *
 * Pure: no sockets, so the unit tests and the request fuzzer drive exactly what the server runs. */
#ifndef AP_DOOR_H
#define AP_DOOR_H

#include "clients.h"
#include "config.h"
#include "http.h"

#include <stddef.h>

enum door_route { DOOR_API, DOOR_ADMIN };

struct door_verdict {
	int status;            /* 0: let in; else the status to refuse with (400, 401, 403, 404, 405) */
	const char *kind;      /* why it was refused: a static label for the log line ("host", "origin", ...) */
	const char *allow;     /* a 405's Allow header value, else NULL */
	enum door_route route; /* status 0: where the request goes */
	int client;            /* status 0: the client whose key matched (clients.h index), or DOOR_NO_CLIENT */
	char msg[200];         /* status != 0: what was wrong, for the client and the log */
};

/* The methods the API is forwarded with, as an Allow header value. */
#define DOOR_API_METHODS "GET, HEAD, POST, DELETE"
#define DOOR_ADMIN_METHODS "GET, HEAD"

#define DOOR_NO_CLIENT (-1) /* no keys are set: the request is nobody's in particular */
#define DOOR_BAD_KEY (-2)   /* keys are set and none matched */

/* Decides one request from its llhttp method, its target as received and its headers. `cl` is the client table
 * whose keys are checked (it holds cfg's keys too), or NULL for cfg's keys alone. */
void door_check(const struct config *cfg, const struct clients *cl, int method, const char *target, size_t target_len,
		const struct http_hdrs *h, struct door_verdict *v);

/* The same for a request on the admin listener (--admin-listen): no client key is asked for; the admin paths are
 * served (GET and HEAD), any other path gets 404. Host must name loopback when that listener is on loopback (a web
 * page reaching it through DNS rebinding names its own host), and Origin is checked as on the client listener. */
void door_check_admin(const struct config *cfg, int method, const char *target, size_t target_len,
		      const struct http_hdrs *h, struct door_verdict *v);

/* Whether a Host value (or an absolute-form authority) names this machine's loopback: localhost (any case, a
 * trailing dot allowed), 127.x.y.z or [::1], each with an optional port. */
int door_host_is_loopback(const char *host, size_t n);

/* Whether the request carries one of cfg's client keys (x-api-key, or Authorization: Bearer). 1 when none are set. */
int door_client_key_ok(const struct config *cfg, const struct http_hdrs *h);
/* Which client the request's key names: its index in `cl` (or in cfg's keys when cl is NULL), DOOR_NO_CLIENT when
 * no keys are set, DOOR_BAD_KEY when none matched. Every key is compared in constant time. */
int door_client(const struct config *cfg, const struct clients *cl, const struct http_hdrs *h);


#endif
