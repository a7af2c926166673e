/* reqinfo: what routing needs from a request body: the model asked for and the conversation it belongs to.
 *
 * Pure. The body is already whole in memory (the proxy reads it before sending); it is scanned with yajl's
 * streaming parser, keeping nothing but the two values, and the scan stops as soon as they are found (the SDKs
 * and Claude Code put "model" first). Only top-level `model` and `metadata.user_id` count, never keys of the same
 * name deeper (inside messages or tools). Claude Code's user_id reads "user_<id>_account_<id>_session_<uuid>": the
 * part after "_session_" is the conversation; any other user_id counts whole. */
#ifndef AP_REQINFO_H
#define AP_REQINFO_H

#include <stddef.h>

#define REQINFO_SESSION_MAX 128

struct reqinfo {
	char model[64];                         /* "" when absent; only [A-Za-z0-9._:-], cut */
	char session[REQINFO_SESSION_MAX + 1];  /* "" when absent; cut */
};

/* Scans a JSON body. `want_session` 0: stops after the model. Invalid JSON keeps what was read before the error. */
void reqinfo_scan(const char *body, size_t n, int want_session, struct reqinfo *out);
/* The session of a Claude Code user_id value (see above) into out. */
void reqinfo_session_of_user_id(const char *v, size_t n, char *out, size_t outlen);

#endif
