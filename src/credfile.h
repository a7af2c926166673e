/* credfile: Claude Code's credentials JSON and the OAuth token endpoint's answer (pure: no I/O).
 *
 * The credentials file looks like
 *   {"claudeAiOauth": {"accessToken": "...", "refreshToken": "...", "expiresAt": <unix ms>, "scopes": [...], ...},
 *    ...other keys...}
 * credfile_update rewrites only the three token fields; every other key and value, known or not, survives (values
 * are re-emitted from the parsed tree, numbers from their original text). */
#ifndef AP_CREDFILE_H
#define AP_CREDFILE_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

struct cred {
	char *access_token;   /* heap string, or NULL */
	char *refresh_token;  /* heap string, or NULL */
	int64_t expires_at_ms;/* unix ms, 0 when unknown */
	int profile_scope;    /* scopes include user:profile (-1 unknown: no scopes listed) */
};

void cred_init(struct cred *c);
/* Wipes and frees the tokens. Safe twice. */
/* Wipes a secret string (a wipe the compiler keeps) and frees it; NULL is fine. */
void cred_wipe(char *s);
void cred_free(struct cred *c);
/* Moves src into dst (dst freed first; src left empty). */
void cred_move(struct cred *dst, struct cred *src);
/* A token goes into an HTTP header: refuse anything that could break or smuggle header syntax. */
int cred_token_ok(const char *t);

/* Parses a credentials file. Returns 0, or -1 with `err` set (never quoting the input: it holds secrets). */
int credfile_parse(const char *json, size_t len, struct cred *out, char *err, size_t errlen);
/* Writes `json` with claudeAiOauth.{accessToken,refreshToken,expiresAt} replaced by c's (keys added if missing;
 * a NULL refresh token keeps the old one). Returns 0 or -1. */
int credfile_update(const char *json, size_t len, const struct cred *c, struct buf *out);

/* Parses a token endpoint answer {"access_token","refresh_token","expires_in",...} into out (expires_at computed
 * from now_ms). Returns 0; or -1 with `err` set, and the OAuth error code (e.g. "invalid_grant") in `code` when the
 * body is an OAuth error. */
int credfile_parse_token_answer(const char *json, size_t len, int64_t now_ms, struct cred *out, char *code,
				size_t codelen, char *err, size_t errlen);

#endif
