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

enum oauth_source { OAUTH_NONE, OAUTH_FILE, OAUTH_ENV, OAUTH_STORE };

/* A store the login is shared through by a fleet of proxies (fleet.h implements it over Redis). With a store,
 * refreshes happen only under its lease: begin() asks for the lease and the store's newest login, answered later
 * through oauth_store_answer(); the holder refreshes and publish()es the new pair (which releases the lease), or
 * release()s it. While the store is down nothing is refreshed (README "A fleet of proxies"): the token in hand is
 * used until it expires, then the account answers 503 until the store is back. */
struct oauth_store {
	int (*up)(void *arg);                                     /* the store can be asked now */
	int (*begin)(void *arg);                                  /* 0: an answer will come; -1: store down */
	void (*publish)(void *arg, const struct cred *c, uint64_t version); /* store (if newer), announce, release */
	void (*release)(void *arg);                               /* give the lease back (compare-and-delete) */
	void *arg;
};

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
	int url_next;                  /* endpoint the next leased round starts with (one the lease left untried) */
	int req_active;                /* a token request is out (it may rotate the login when it ends) */
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
	uint64_t failed_at;            /* uv_now of the last failed refresh (0: none since the last success) */
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
	/* Fleet (a store, when --redis is set). */
	const struct oauth_store *store; /* or NULL */
	uint64_t store_version;        /* version of the store's login that cur is (0: none known) */
	int store_round;               /* begin() was called and its answer is awaited, or the lease is held */
	int leased;                    /* this process holds the refresh lease */
	uint64_t lease_until_ms;       /* loop time by which a request under the lease must have ended */
	uint64_t n_store_adopted;      /* logins adopted from the store */
	uint64_t n_store_published;    /* logins published to the store */
	uint64_t n_lease_busy;         /* rounds that found the lease held by another replica */
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
/* Whether a token request is out: shutting down then would lose the login it may rotate (the refresh token is spent
 * when the server takes it), so a drain waits for it. */
int oauth_refresh_in_flight(const struct oauth *o);
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

/* Fleet: shares this login through `store` (kept, not copied); call before oauth_start. An account without a
 * credentials file (source OAUTH_STORE) takes its login from the store alone. */
void oauth_set_store(struct oauth *o, const struct oauth_store *store);
/* Marks the login as coming from the store only (no file, no environment). */
void oauth_use_store_only(struct oauth *o);
/* The store's answer to begin(): its newest login `c` (NULL: none; taken over when adopted) with `version`, and
 * whether this process now holds the lease. */
void oauth_store_answer(struct oauth *o, struct cred *c, uint64_t version, int leased);
/* The store's login as read on (re)connect or announced by a peer (NULL: the store holds none): adopted when
 * newer than ours; ours seeds the store when the store's is older or missing. `c` is taken over. */
void oauth_store_sync(struct oauth *o, struct cred *c, uint64_t version);

/* Parses Claude Code's credentials JSON into o->cur (pure; for tests). Returns 0 or -1 with `err` set. */
int oauth_parse_credentials(struct oauth *o, const char *json, size_t len, char *err, size_t errlen);

#endif
