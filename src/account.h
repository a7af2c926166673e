/* account: one subscription. It owns that subscription's login (oauth), its usage poll and its rate-limit
 * windows and token counters (tracker); the app holds the list of accounts and everything they share (the loop,
 * the configuration, the upstream client, the metrics).
 *
 * Lifetime, as for every long-lived part: account_init cannot fail and does no I/O (account_free is safe after
 * it); account_load reads the credentials once, before the loop runs; account_start arms its timers;
 * account_close is asynchronous (it cancels what is in flight and closes the handles, whose close callbacks run
 * on a later loop iteration); account_free releases memory once the loop has ended. Requests in flight hold a
 * pointer to the account that serves them: accounts live as long as the app. */
#ifndef AP_ACCOUNT_H
#define AP_ACCOUNT_H

#include "oauth.h"
#include "tracker.h"
#include "usage_poll.h"

/* What the accounts share, owned by the app (not owned here). */
struct account_env {
	uv_loop_t *loop;               /* the loop */
	const struct config *cfg;      /* margins, token URLs, poll interval, upstream authority */
	struct tls_ctx *tls;           /* TLS settings for the token endpoints */
	struct upstream *up;           /* the API's client, for the usage poll */
	struct usage_poll_gate *poll_gate; /* spacing of the accounts' polls */
	void (*on_poll_applied)(void *arg); /* a usage poll moved an account's windows (the app saves its state) */
	void *arg;                     /* its argument */
};

#define ACCOUNT_NAME_MAX 32

/* What routing learnt from answers that the windows do not say (router.h reads it; the proxy writes it). */
struct account_hold {
	int64_t until_ms;      /* unix ms: not used before this (0: no hold) */
	const char *reason;    /* why (static string, a metric label): "window", "overloaded", "extra_usage" */
	char window[24];       /* the window a 429 named, "" when none */
};

struct account {
	char name[ACCOUNT_NAME_MAX + 1]; /* [a-z0-9_-]{1,32}: a metric label and a key of /usage */
	struct oauth oauth;              /* the login: token, refresh, write-back */
	struct tracker tracker;          /* windows and token counters */
	struct usage_poll poll;          /* the usage endpoint poll */
	struct account_hold limited;     /* a window 429 or a 529: held back until its reset or a back-off */
	struct account_hold overage;     /* seen drawing on paid extra usage: held back unless --allow-overage */
	uint32_t in_flight;              /* requests it serves now */
	uint64_t requests;               /* requests it was chosen for, since start */
};

/* `credentials`: the account's credentials file, or NULL for the one-account default search (kept, not copied). */
void account_init(struct account *a, const char *name, const char *credentials, const struct account_env *env);
/* Loads the credentials (synchronous: a small file, once). Returns 0, or -1 when no token was found (logged with
 * what to do; the account then answers 503 until a SIGHUP finds one). */
int account_load(struct account *a, char **envp);
/* Starts the login's timers and the usage poll (its first poll after `poll_delay_ms`). */
void account_start(struct account *a, uint64_t poll_delay_ms);
/* SIGHUP: re-reads the credentials. */
void account_reload(struct account *a);
void account_close(struct account *a);
void account_free(struct account *a);

#endif
