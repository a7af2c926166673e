/* oauth: the subscription's credentials and their lifecycle on the loop.
 *
 * Sources, in order: --credentials PATH (Claude Code's .credentials.json shape), CLAUDE_CODE_OAUTH_TOKEN (a
 * long-lived token: never refreshed), then Claude Code's default file ($CLAUDE_CONFIG_DIR/.credentials.json, else
 * ~/.claude/.credentials.json).
 *
 * Refresh rules (src/README.md §6): at most one refresh in flight; it starts `refresh_margin` before expiry (a
 * timer), when a request finds the token expired, or when the upstream answers 401 "OAuth token has expired".
 * Requests that need a token meanwhile wait (bounded queue, bounded wait). Under an flock on a sibling lock file
 * the file is re-read first: if its refresh token changed, another process (Claude Code) rotated it and its tokens
 * are adopted instead of refreshing. Rotated tokens are written back atomically (temp + fsync + rename, 0600), and
 * never over a file whose refresh token changed meanwhile. invalid_grant re-reads the file once before the login
 * is declared dead. With --follow-credentials the proxy never refreshes: it re-reads the file when it changes.
 *
 * Tokens never reach a log line: only log_fingerprint()s do. */
#ifndef AP_OAUTH_H
#define AP_OAUTH_H

#include "backoff.h"
#include "buf.h"
#include "config.h"
#include "credfile.h"
#include "upstream.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

enum oauth_source { OAUTH_NONE, OAUTH_FILE, OAUTH_ENV };

struct oauth_waiter;
/* Called once, from the loop (never from inside oauth_wait): `token` is the access token to use, or NULL when
 * none can be had (`why` says why, for a 503). */
typedef void (*oauth_wait_cb)(struct oauth_waiter *w, const char *token, const char *why);

struct oauth_waiter {
	oauth_wait_cb cb;           /* completion */
	void *data;                 /* caller's pointer */
	struct oauth_waiter *next;  /* queue links (private) */
	struct oauth_waiter *prev;
	uint64_t deadline;          /* uv_now after which it gives up (private) */
	int queued;                 /* in the queue (private) */
};

struct oauth {
	uv_loop_t *loop;               /* the loop (not owned) */
	const struct config *cfg;      /* margins, token URLs, client id, follow mode (not owned) */
	const char *credentials;       /* the credentials file named for this login, or NULL: CLAUDE_CODE_OAUTH_TOKEN,
					* then Claude Code's default places (not owned) */
	enum oauth_source source;      /* where the token came from */
	char **envp;                   /* the environment the sources are looked up in (not owned) */
	char path[4096];               /* credentials file (OAUTH_FILE) */
	struct cred cur;               /* tokens in use */
	uint64_t generation;           /* bumps whenever the access token changes */
	char problem[512];             /* why there is no usable token ("" when there is) */
	int dead;                      /* the refresh token was rejected for good: a new login is needed */
	/* Refresh machinery. */
	uv_timer_t timer;              /* refresh ahead of expiry / retry after failure / follow-mode stat */
	uv_timer_t wait_timer;         /* expires waiters past their deadline */
	uv_fs_event_t watch;           /* follow mode: the credentials file's directory */
	int watching;                  /* watch started */
	struct upstream token_up[CONFIG_MAX_TOKEN_URLS]; /* one client per token endpoint origin */
	char token_path[CONFIG_MAX_TOKEN_URLS][512];     /* request path per endpoint */
	char token_auth[CONFIG_MAX_TOKEN_URLS][300];     /* Host header per endpoint */
	int n_urls;                    /* endpoints configured */
	int url_idx;                   /* endpoint being tried */
	struct upstream_req req;       /* refresh request in flight */
	struct buf req_head;           /* its head */
	struct buf req_body;           /* its body (holds the refresh token: wiped) */
	struct buf resp;               /* its answer body, bounded */
	int resp_status;               /* its answer status */
	char *sent_refresh;            /* refresh token sent in the request in flight (wiped) */
	int refreshing;                /* a refresh is in flight */
	int lock_fd;                   /* flock'd lock file during a refresh, or -1 */
	int grant_retry;               /* invalid_grant already re-read the file once in this round */
	int lock_tries;                /* attempts at the lock in this round */
	struct backoff backoff;        /* retry delay after failures */
	struct oauth_waiter *waiters;  /* requests waiting for a token */
	struct oauth_waiter *waiters_tail;
	uint32_t n_waiters;            /* queue length (bounded) */
	/* Counters (for logs and metrics). */
	uint64_t n_refresh_ok;         /* refreshes that produced a token */
	uint64_t n_refresh_failed;     /* refreshes that did not */
	uint64_t n_adopted;            /* times tokens were adopted from the file */
	int64_t last_refresh_ms;       /* unix ms of the last successful refresh */
	char last_error[256];          /* why the last refresh failed */
	int closing;                   /* shutting down */
};

/* Sets up (no I/O yet); `tls` serves the token endpoints; `credentials` as the field (kept, not copied). */
void oauth_init(struct oauth *o, uv_loop_t *loop, const struct config *cfg, struct tls_ctx *tls,
		const char *credentials);
/* Loads credentials from the sources (synchronous: a small file, once). Returns 0 when a token was found, -1
 * otherwise (o->problem says why). */
int oauth_load(struct oauth *o, char **envp);
/* Starts the timers: refresh ahead of expiry, or watching the file in follow mode. */
void oauth_start(struct oauth *o);
/* Re-reads the credentials (SIGHUP). */
void oauth_reload(struct oauth *o);
void oauth_close(struct oauth *o);
void oauth_free(struct oauth *o);

/* The token to sign with now, or NULL when none is usable (no credentials, expired, login dead). */
const char *oauth_token(const struct oauth *o);
/* Whether a request should wait for a refresh before going out (token expired or a refresh in flight). */
int oauth_must_wait(const struct oauth *o);
/* Queues a request for the next token. Returns 0, or -1 when it cannot wait (queue full, no way to get a token):
 * then `why` is in o->problem. */
int oauth_wait(struct oauth *o, struct oauth_waiter *w);
/* Removes a waiter (its request went away). Safe when not queued. */
void oauth_cancel(struct oauth *o, struct oauth_waiter *w);
/* The upstream said the token of `generation` has expired: refresh (or re-read the file in follow mode) and
 * queue `w` for the result. If the token changed since, w is called back at once with the new one. Returns as
 * oauth_wait. */
int oauth_expired(struct oauth *o, uint64_t generation, struct oauth_waiter *w);
/* Whether a request could be signed now or after the refresh (or file re-read) it would wait for. */
int oauth_usable(const struct oauth *o);
/* For /readyz: 1 when a usable token is held; otherwise 0 with the reason in why. */
int oauth_ready(const struct oauth *o, char *why, size_t len);

/* Parses Claude Code's credentials JSON into o->cur (pure; for tests). Returns 0 or -1 with `err` set. */
int oauth_parse_credentials(struct oauth *o, const char *json, size_t len, char *err, size_t errlen);

#endif
