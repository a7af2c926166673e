#include "router.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIE 0.02 /* headrooms this close (relative) are equal */

static const char *const block_names[ROUTER_BLOCK_N] = {"ok",       "tried",    "no_login", "limited",
							 "rejected", "full", "extra_usage"};
static const char *const reason_names[ROUTER_REASON_N] = {"only", "headroom", "sticky", "moved", "failover", "none"};

const char *router_block_name(enum router_block b) { return b < ROUTER_BLOCK_N ? block_names[b] : "?"; }
const char *router_reason_name(enum router_reason r) { return r < ROUTER_REASON_N ? reason_names[r] : "?"; }

int64_t router_window_length_s(const char *name)
{
	char *end;
	long n = strtol(name, &end, 10);
	if (end != name && n > 0 && n < 1000) {
		if (*end == 'h')
			return n * 3600;
		if (*end == 'd')
			return n * 86400;
	}
	return 7 * 86400;
}

/* Whether a window still describes the present: its reset time, when known, is ahead. */
static int window_current(const struct tracker_window *w, int64_t now_s)
{
	return w->resets_at == 0 || w->resets_at > now_s;
}

double router_headroom(const struct tracker *t, const char *model, int64_t now_ms)
{
	int64_t now_s = now_ms / 1000;
	double best = INFINITY;
	for (int i = 0; i < t->n; i++) {
		const struct tracker_window *w = &t->w[i];
		if (w->utilization < 0 || !window_current(w, now_s) || !tracker_window_applies(w, model))
			continue;
		double len = (double)router_window_length_s(w->name);
		double share = w->resets_at ? (double)(w->resets_at - now_s) / len : 1;
		if (share > 1)
			share = 1;
		if (share < ROUTER_MIN_TIME_SHARE)
			share = ROUTER_MIN_TIME_SHARE;
		double room = 1 - w->utilization;
		double h = (room > 0 ? room : 0) / share;
		if (h < best)
			best = h;
	}
	return isinf(best) ? ROUTER_UNKNOWN_HEADROOM : best;
}

static int hold_active(const struct account_hold *h, int64_t now_ms) { return h && h->until_ms > now_ms; }

/* A hold from a 429 that named a window holds the account back only for the models that window covers. */
static int hold_applies(const struct account_hold *h, const struct tracker *t, const char *model)
{
	if (!h->window[0] || !t)
		return 1;
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->w[i].name, h->window) == 0)
			return tracker_window_applies(&t->w[i], model);
	return 1;
}

void router_check(const struct router_account *a, int index, const struct router_request *rq,
		  const struct router_policy *p, int64_t now_ms, struct router_verdict *v)
{
	*v = (struct router_verdict){.block = ROUTER_OK, .utilization = -1};
	if (!a->login_ok) {
		v->block = ROUTER_NO_LOGIN;
		return;
	}
	if (index < ROUTER_MAX_ACCOUNTS && (rq->tried >> index) & 1) {
		v->block = ROUTER_TRIED;
		return;
	}
	if (!rq->consumes)
		return;
	if (hold_active(a->limited, now_ms) && hold_applies(a->limited, a->tracker, rq->model)) {
		v->block = ROUTER_LIMITED;
		v->window = a->limited->window[0] ? a->limited->window : NULL;
		v->until_s = (a->limited->until_ms + 999) / 1000;
		return;
	}
	int64_t now_s = now_ms / 1000;
	const struct tracker *t = a->tracker;
	for (int i = 0; t && i < t->n; i++) {
		const struct tracker_window *w = &t->w[i];
		if (!window_current(w, now_s) || !tracker_window_applies(w, rq->model))
			continue;
		/* A header's `rejected` stands until a later usage poll says how much is used (the poll has no status). */
		int rejected = w->status == TRACKER_REJECTED && w->util_src != TRACKER_SRC_POLL;
		enum router_block b = rejected					      ? ROUTER_REJECTED
				      : w->utilization >= p->max_utilization ? ROUTER_FULL
									       : ROUTER_OK;
		/* The window that clears last is the one that binds. */
		if (b != ROUTER_OK && (v->block == ROUTER_OK || (v->until_s && (!w->resets_at || w->resets_at > v->until_s)))) {
			v->block = b;
			v->window = w->name;
			v->utilization = w->utilization;
			v->until_s = w->resets_at;
		}
	}
	if (v->block == ROUTER_OK && !p->allow_overage && hold_active(a->overage, now_ms)) {
		v->block = ROUTER_OVERAGE;
		v->until_s = (a->overage->until_ms + 999) / 1000;
	}
}

/* Whether a is a better choice than b (headrooms ha, hb). */
static int better(const struct router_account *a, double ha, const struct router_account *b, double hb)
{
	double hi = ha > hb ? ha : hb;
	if (fabs(ha - hb) > TIE * hi)
		return ha > hb;
	if (a->in_flight != b->in_flight)
		return a->in_flight < b->in_flight;
	return a->requests < b->requests;
}

int router_pick(const struct router_account *accts, int n, const struct router_request *rq,
		const struct router_policy *p, int64_t now_ms, struct router_choice *out)
{
	*out = (struct router_choice){.account = -1, .reason = ROUTER_NONE};
	struct router_verdict v;
	if (rq->pinned >= 0 && rq->pinned < n) {
		router_check(&accts[rq->pinned], rq->pinned, rq, p, now_ms, &v);
		if (v.block == ROUTER_OK) {
			out->account = rq->pinned;
			out->reason = ROUTER_STICKY;
			out->headroom = router_headroom(accts[rq->pinned].tracker, rq->model, now_ms);
			return out->account;
		}
	}
	int best = -1, usable = 0;
	double best_h = 0;
	for (int i = 0; i < n; i++) {
		router_check(&accts[i], i, rq, p, now_ms, &v);
		if (v.block != ROUTER_OK)
			continue;
		usable++;
		double h = router_headroom(accts[i].tracker, rq->model, now_ms);
		if (best < 0 || better(&accts[i], h, &accts[best], best_h))
			best = i, best_h = h;
	}
	if (best < 0)
		return -1;
	out->account = best;
	out->headroom = best_h;
	out->reason = rq->tried ? ROUTER_FAILOVER : rq->pinned >= 0 ? ROUTER_MOVED : usable == 1 ? ROUTER_ONLY : ROUTER_HEADROOM;
	return best;
}

static void append_duration(struct buf *b, int64_t s)
{
	char t[48];
	if (s >= 86400)
		snprintf(t, sizeof t, "%lldd%lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(t, sizeof t, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(t, sizeof t, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	buf_appends(b, t);
}

int router_refusal(const struct router_account *accts, int n, const struct router_request *rq,
		   const struct router_policy *p, int64_t now_ms, struct buf *msg, int64_t *retry_after_s)
{
	int64_t now_s = now_ms / 1000, earliest = 0;
	int no_login = 0;
	struct router_request plain = *rq;
	plain.tried = 0; /* say what blocks each account, not that this request tried it */
	buf_appends(msg, "no account can take this request within its plan limits:");
	for (int i = 0; i < n; i++) {
		struct router_verdict v;
		router_check(&accts[i], i, &plain, p, now_ms, &v);
		if (v.block == ROUTER_OK && (rq->tried >> i) & 1) {
			v.block = ROUTER_TRIED;
		}
		char line[160];
		buf_appends(msg, i ? "; " : " ");
		buf_appends(msg, accts[i].name);
		buf_appends(msg, ": ");
		switch (v.block) {
		case ROUTER_NO_LOGIN: no_login++; buf_appends(msg, "no usable login"); break;
		case ROUTER_TRIED: buf_appends(msg, "refused this request upstream"); break;
		case ROUTER_LIMITED:
			snprintf(line, sizeof line, "%s%s%s", v.window ? v.window : "", v.window ? " window " : "",
				 strcmp(accts[i].limited->reason ? accts[i].limited->reason : "", "overloaded") == 0
					 ? "overloaded upstream" : "rate-limited upstream");
			buf_appends(msg, line);
			break;
		case ROUTER_REJECTED:
		case ROUTER_FULL:
			snprintf(line, sizeof line, "%s window %s", v.window,
				 v.block == ROUTER_REJECTED ? "exhausted (rejected)" : "");
			buf_appends(msg, line);
			if (v.block == ROUTER_FULL) {
				snprintf(line, sizeof line, "at %.0f%% (limit %.0f%%)", v.utilization * 100,
					 p->max_utilization * 100);
				buf_appends(msg, line);
			}
			break;
		case ROUTER_OVERAGE:
			buf_appends(msg, "drawing on paid extra usage (needs --allow-overage, and overage=allow for a named client)");
			break;
		default: buf_appends(msg, "usable"); break;
		}
		if (v.until_s > now_s) {
			buf_appends(msg, ", clears in ");
			append_duration(msg, v.until_s - now_s);
			if (!earliest || v.until_s < earliest)
				earliest = v.until_s;
		}
	}
	*retry_after_s = earliest ? earliest - now_s : 0;
	return no_login == n;
}
