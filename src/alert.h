/* alert: conditions worth a person's attention, posted as JSON to webhooks (--alert-webhook, Slack-compatible).
 *
 * Level-triggered: an evaluator (a timer every ALERT_EVAL_MS, and alert_kick after a usage poll) checks every
 * condition of a table against the accounts' logins and windows. A condition that becomes true sends one "firing"
 * message; while it stays true nothing more is sent; when it clears one "resolved" message follows. A condition
 * instance is keyed by (event, account, window): one account's 5h window and another's 7d window are separate
 * instances. Conditions (enum alert_event):
 *   window_utilization_high      a window at or above --warn-utilization (clears 5 points below it, or when the
 *                                window's period is over)
 *   window_projected_exhaustion  at the window's burn rate it runs out before it resets (tracker_projected_exhaustion)
 *   login_unusable               an account holds no usable token and no refresh is under way (dead login, no
 *                                credentials, failing refreshes); "resolved" when it is usable again
 *   extra_usage_in_use           an account's answers are paid from extra usage (overage in use)
 *   no_account_usable            no account can take a request within its plan limits (router.h's verdict, as the
 *                                guard's)
 *   client_budget_exhausted      a named client at or above its budget for a window (clears 5 points below it);
 *                                keyed by (event, client, window)
 * New kinds are rows of the table in alert.c.
 *
 * Delivery: every message goes to every webhook. Each webhook has its own client (the shared upstream client: TLS
 * with the proxy's --ca-file, or plain HTTP), one request in flight, and a bounded queue (ALERT_QUEUE_MAX; when full
 * the oldest message not in flight is dropped and counted). A failed POST (no connection, a timeout, a 5xx, 408 or
 * 429) is retried with the shared backoff (1 s doubling to 5 min) until it is delivered or pushed out of the queue;
 * another 4xx drops it (the receiver will not take it). Nothing here is on the request path: traffic never waits.
 *
 * A webhook URL may hold a secret (Slack's do, in the path): logs name only its scheme and authority. */
#ifndef AP_ALERT_H
#define AP_ALERT_H

#include "account.h"
#include "backoff.h"
#include "buf.h"
#include "clients.h"
#include "config.h"
#include "upstream.h"

#include <stdint.h>
#include <uv.h>

#define ALERT_EVAL_MS 2000
#define ALERT_QUEUE_MAX 32
#define ALERT_MAX_ACTIVE 128
#define ALERT_RETRY_MIN_MS 1000
#define ALERT_RETRY_MAX_MS (5 * 60 * 1000)
#define ALERT_TIMEOUT_MS 10000 /* connect, and silence while the answer is due */

enum alert_event {
	ALERT_WINDOW_HIGH,
	ALERT_WINDOW_EXHAUSTION,
	ALERT_LOGIN_UNUSABLE,
	ALERT_EXTRA_USAGE,
	ALERT_NO_ACCOUNT,
	ALERT_CLIENT_BUDGET,
	ALERT_N
};
/* Event names, in enum order: the `event` field of a message and the label of its counter. */
extern const char *const alert_event_names[ALERT_N];

/* A condition instance that is firing. */
struct alert_active {
	int event;                          /* enum alert_event */
	char account[ACCOUNT_NAME_MAX + 1]; /* "" for conditions over all accounts */
	char window[24];                    /* "" for conditions over a whole account */
	char client[33];                    /* the named client, "" for conditions that are not a client's */
	int64_t since_ms;                   /* unix ms when it fired */
	int seen;                           /* its subject still exists (evaluation mark) */
};

struct alerts;

/* One webhook: its client, the message being posted and those waiting. */
struct alert_target {
	struct alerts *owner;               /* back pointer */
	struct upstream up;                 /* the receiver's origin (pool of one) */
	struct upstream_req req;            /* the POST in flight */
	struct buf head;                    /* its head */
	uv_timer_t retry;                   /* the next try after a failure */
	struct backoff backoff;             /* delay before it */
	char origin[320];                   /* scheme://authority, for logs (the path may be a secret) */
	char path[1024];                    /* request target */
	char authority[300];                /* Host header */
	struct buf q[ALERT_QUEUE_MAX];      /* message bodies (ring); q[q_head] is the one in flight */
	int q_event[ALERT_QUEUE_MAX];       /* each message's event */
	int q_head;                         /* oldest message */
	int q_len;                          /* messages queued */
	int status;                         /* answer status of the POST in flight */
	int in_flight;                      /* req is out */
	int waiting;                        /* the retry timer runs */
	uint64_t attempts;                  /* tries of the oldest message */
};

struct alerts {
	uv_loop_t *loop;                    /* the loop (not owned) */
	const struct config *cfg;           /* thresholds and webhooks (not owned) */
	struct account *const *accounts;    /* the app's account list and its length, read at each evaluation */
	const uint32_t *n_accounts;
	const struct clients *clients;      /* the named clients and their budgets (not owned), or NULL */
	struct alert_target *targets;       /* one per webhook (owned) */
	int n_targets;                      /* how many; 0: alerts are off */
	uv_timer_t timer;                   /* the evaluation period */
	struct alert_active active[ALERT_MAX_ACTIVE]; /* firing instances */
	int n_active;                       /* how many */
	char instance[64];                  /* this host's name, in every message */
	uint64_t sent[ALERT_N];             /* messages a receiver accepted, by event */
	uint64_t failures;                  /* POSTs that failed (each try) */
	uint64_t dropped;                   /* messages given up: queue overflow or refused by the receiver */
	uint64_t n_fired;                   /* conditions that became true */
	uint64_t n_resolved;                /* conditions that cleared */
	int closing;                        /* shutting down */
};

/* Sets up one client per --alert-webhook (no I/O). `accounts`/`n_accounts` point at the app's list. Cannot fail
 * (a webhook that cannot get memory is logged and left out). */
void alert_init(struct alerts *a, uv_loop_t *loop, const struct config *cfg, struct tls_ctx *tls,
		struct account *const *accounts, const uint32_t *n_accounts, const struct clients *clients);
/* Starts the evaluation timer (nothing when no webhook is set). */
void alert_start(struct alerts *a);
/* Evaluates on the next loop turn (after a usage poll or a login change). */
void alert_kick(struct alerts *a);
/* Checks every condition now and queues what changed (also for tests). */
void alert_evaluate(struct alerts *a, int64_t now_ms);
/* Cancels POSTs in flight (queued messages are lost) and closes the handles. */
void alert_close(struct alerts *a);
void alert_free(struct alerts *a);

#endif
