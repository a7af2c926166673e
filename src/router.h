/* router: which account serves a request, and why none can.
 *
 * Pure: a function of the accounts' windows and holds, the policy and the time (passed in), so the rule is
 * tested as a table. The proxy builds one `router_account` view per account, asks, and acts; pins.h remembers
 * conversations. The rule (README "Several subscriptions"):
 * - Usable: the login can sign; for a request that consumes (POST /v1/messages) also: no hold from a window 429 or
 *   a 529 still running; no window that applies to the request's model `rejected` (by a header not followed by a
 *   usage poll) or at or above max_utilization (windows whose reset time has passed are ignored: they rolled over);
 *   no extra-usage hold unless allow_overage.
 * - Headroom of an account for a model: over the windows that apply to it and whose utilization is known, the
 *   least of (1 - utilization) / (time to reset / window length), the time share floored at 1/48. Room that
 *   resets soon is spent before room that must last, in units of each window's even pace; an account with no
 *   known window is tried first (ROUTER_UNKNOWN_HEADROOM), so that every account's windows become known.
 * - Choice: the pinned account while it is usable; else the usable, untried account with the most headroom;
 *   headrooms within 2% of each other are a tie, broken by fewer requests in flight, then fewer requests chosen,
 *   then configuration order. */
#ifndef AP_ROUTER_H
#define AP_ROUTER_H

#include "account.h"
#include "buf.h"
#include "tracker.h"

#include <stdint.h>

#define ROUTER_MAX_ACCOUNTS 16      /* `tried` is a bit mask */
#define ROUTER_MIN_TIME_SHARE (1.0 / 48)
#define ROUTER_UNKNOWN_HEADROOM 1e9 /* no window known yet: tried first, so that its windows become known */

struct router_policy {
	double max_utilization; /* fraction at which a window stops an account */
	int allow_overage;      /* accounts drawing on extra usage stay usable */
};

/* One account as the router sees it (not owned). */
struct router_account {
	const char *name;
	const struct tracker *tracker;
	const struct account_hold *limited; /* window 429 / 529 hold */
	const struct account_hold *overage; /* extra-usage hold */
	int login_ok;                       /* the login can sign now or after a refresh in flight */
	uint32_t in_flight;
	uint64_t requests;
};

struct router_request {
	const char *model; /* the model asked for, "" unknown */
	int consumes;      /* POST /v1/messages: the guard applies */
	uint32_t tried;    /* accounts already tried for this request (bit i: account i) */
	int pinned;        /* the account the conversation is pinned to, or -1 */
};

enum router_block {
	ROUTER_OK,
	ROUTER_TRIED,         /* already tried for this request */
	ROUTER_NO_LOGIN,      /* no usable login */
	ROUTER_LIMITED,       /* a window 429 or a 529 hold */
	ROUTER_REJECTED,      /* a window that applies says rejected */
	ROUTER_FULL,          /* a window that applies is at or above max_utilization */
	ROUTER_OVERAGE,       /* drawing on extra usage */
	ROUTER_BLOCK_N
};

/* Why an account cannot take a request (ROUTER_OK when it can), the window concerned and when it clears. */
struct router_verdict {
	enum router_block block;
	const char *window;   /* window name, or NULL */
	double utilization;   /* that window's, or -1 */
	int64_t until_s;      /* unix seconds when it clears, 0 unknown */
};

enum router_reason {
	ROUTER_ONLY,     /* one account usable: no choice */
	ROUTER_HEADROOM, /* most headroom */
	ROUTER_STICKY,   /* the conversation's account */
	ROUTER_MOVED,    /* the conversation's account became unusable: moved */
	ROUTER_FAILOVER, /* a replay after a 429/529 on another account */
	ROUTER_NONE,     /* none usable */
	ROUTER_REASON_N
};

struct router_choice {
	int account;               /* index, or -1 */
	enum router_reason reason;
	double headroom;           /* of the chosen account */
};

const char *router_block_name(enum router_block b);
const char *router_reason_name(enum router_reason r);

/* Length of a window from its name ("5h", "7d", "7d_opus", "<n>h", "<n>d"); unknown names count 7 days. */
int64_t router_window_length_s(const char *name);
double router_headroom(const struct tracker *t, const char *model, int64_t now_ms);
void router_check(const struct router_account *a, int index, const struct router_request *rq,
		  const struct router_policy *p, int64_t now_ms, struct router_verdict *v);
/* Picks an account. Returns its index (also in out->account), or -1 when none is usable. */
int router_pick(const struct router_account *accts, int n, const struct router_request *rq,
		const struct router_policy *p, int64_t now_ms, struct router_choice *out);
/* When none is usable: a message naming every account's block (windows and when they reset) appended to `msg`,
 * and the seconds until the earliest one clears (0 unknown). Returns 1 when every account lacks a login (the
 * caller then answers as for missing credentials), else 0. */
int router_refusal(const struct router_account *accts, int n, const struct router_request *rq,
		   const struct router_policy *p, int64_t now_ms, struct buf *msg, int64_t *retry_after_s);

#endif
