/* oauth: the subscription's credentials and the access token requests are signed with.
 *
 * Sources, in order: the --credentials file (Claude Code's .credentials.json shape), CLAUDE_CODE_OAUTH_TOKEN,
 * then Claude Code's default file ($CLAUDE_CONFIG_DIR/.credentials.json, else ~/.claude/.credentials.json).
 * The token is never logged; only its fingerprint is. Reading happens once at start (a small file). */
#ifndef AP_OAUTH_H
#define AP_OAUTH_H

#include <stddef.h>
#include <stdint.h>

enum oauth_source { OAUTH_NONE, OAUTH_FILE, OAUTH_ENV };

struct oauth {
	enum oauth_source source; /* where the token came from */
	char path[4096];          /* credentials file in use (OAUTH_FILE) */
	char *access_token;       /* heap string, or NULL without credentials */
	char *refresh_token;      /* heap string, or NULL */
	int64_t expires_at_ms;    /* expiry (unix ms), 0 when unknown */
	char problem[256];        /* why there are no credentials, for the log and the 503 */
};

void oauth_init(struct oauth *o);
void oauth_free(struct oauth *o);
/* Loads credentials from the sources above. `explicit_path` is --credentials (or NULL); envp is the environment.
 * Returns 0 when a token was found, -1 otherwise (o->problem then says why). */
int oauth_load(struct oauth *o, const char *explicit_path, char **envp);
/* Parses Claude Code's credentials JSON (pure). Returns 0 or -1 with `err` set. */
int oauth_parse_credentials(struct oauth *o, const char *json, size_t len, char *err, size_t errlen);
/* The token to sign requests with, or NULL. */
const char *oauth_token(const struct oauth *o);

#endif
