#include "clients.h"
#include "pins.h"
#include "reqinfo.h"
#include "router.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>

#define NOW_S 1800000000LL
#define NOW_MS (NOW_S * 1000)

/* A tracker with one window set (name, utilization fraction, seconds to reset, status). */
static void window(struct tracker *t, const char *name, double util, int64_t reset_in_s, int status)
{
	struct tracker_window *w = &t->w[t->n++];
	memset(w, 0, sizeof *w);
	snprintf(w->name, sizeof w->name, "%s", name);
	w->utilization = util;
	w->resets_at = reset_in_s ? NOW_S + reset_in_s : 0;
	w->status = status;
	w->surpassed_threshold = -1;
	if (strncmp(name, "7d_", 3) == 0) { /* a per-model bucket's scope, as the tracker names it */
		snprintf(w->scope, sizeof w->scope, "%s", name + 3);
		w->scope_src = TRACKER_SCOPE_NAME;
	}
}

static struct router_account view(const char *name, struct tracker *t, struct account_hold *lim,
				  struct account_hold *over)
{
	return (struct router_account){.name = name, .tracker = t, .limited = lim, .overage = over, .login_ok = 1};
}

static const struct router_policy POL = {.max_utilization = 0.98, .allow_overage = 0};

TEST(test_router_headroom_weighs_time_to_reset)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	/* No window known: tried first. */
	CHECK(router_headroom(&t, "claude-sonnet-4-5", NOW_MS) == ROUTER_UNKNOWN_HEADROOM);
	/* 5h window at 50% resetting in 1 hour: 0.5 of room over 1/5 of the window -> 2.5. */
	window(&t, "5h", 0.5, 3600, TRACKER_ALLOWED);
	CHECK(fabs(router_headroom(&t, "claude-sonnet-4-5", NOW_MS) - 2.5) < 1e-9);
	/* A 7d window at 50% with 6 days to go binds: 0.5 / (6/7) = 0.583. */
	window(&t, "7d", 0.5, 6 * 86400, TRACKER_ALLOWED);
	CHECK(fabs(router_headroom(&t, "claude-sonnet-4-5", NOW_MS) - 0.5 / (6.0 / 7)) < 1e-9);
	/* A per-model window counts only for its models. */
	window(&t, "7d_opus", 0.9, 6 * 86400, TRACKER_ALLOWED);
	CHECK(fabs(router_headroom(&t, "claude-sonnet-4-5", NOW_MS) - 0.5 / (6.0 / 7)) < 1e-9);
	CHECK(fabs(router_headroom(&t, "claude-opus-4-1", NOW_MS) - 0.1 / (6.0 / 7)) < 1e-9);
	/* Room resetting in a minute: the time share is floored at 1/48, so it is large but finite. */
	struct tracker u;
	tracker_init(&u, 0.8);
	window(&u, "5h", 0.9, 60, TRACKER_ALLOWED);
	CHECK(fabs(router_headroom(&u, "m", NOW_MS) - 0.1 * 48) < 1e-9);
	/* A window whose reset passed has rolled over: ignored. */
	struct tracker v;
	tracker_init(&v, 0.8);
	window(&v, "5h", 0.99, -10, TRACKER_ALLOWED);
	CHECK(router_headroom(&v, "m", NOW_MS) == ROUTER_UNKNOWN_HEADROOM);
	CHECK_INT(router_window_length_s("5h"), 5 * 3600);
	CHECK_INT(router_window_length_s("7d_oi"), 7 * 86400);
	CHECK_INT(router_window_length_s("12h"), 12 * 3600);
	CHECK_INT(router_window_length_s("weird"), 7 * 86400);
}

TEST(test_router_picks_most_headroom_and_ties_by_load)
{
	struct tracker a, b;
	tracker_init(&a, 0.8);
	tracker_init(&b, 0.8);
	struct account_hold la = {0}, oa = {0}, lb = {0}, ob = {0};
	window(&a, "5h", 0.7, 4 * 3600, TRACKER_ALLOWED); /* 0.3 / 0.8 = 0.375 */
	window(&b, "5h", 0.8, 1800, TRACKER_ALLOWED);     /* 0.2 / 0.1 = 2.0: less room, but it resets soon */
	struct router_account v[2] = {view("a", &a, &la, &oa), view("b", &b, &lb, &ob)};
	struct router_request rq = {.model = "claude-sonnet-4-5", .consumes = 1, .pinned = -1};
	struct router_choice ch;
	CHECK_INT(router_pick(v, 2, &rq, &POL, NOW_MS, &ch), 1);
	CHECK_INT(ch.reason, ROUTER_HEADROOM);
	/* Equal headroom: fewer requests in flight wins, then fewer chosen, then order. */
	struct tracker c, d;
	tracker_init(&c, 0.8);
	tracker_init(&d, 0.8);
	struct router_account w[2] = {view("c", &c, &la, &oa), view("d", &d, &lb, &ob)};
	CHECK_INT(router_pick(w, 2, &rq, &POL, NOW_MS, &ch), 0);
	w[0].in_flight = 2;
	CHECK_INT(router_pick(w, 2, &rq, &POL, NOW_MS, &ch), 1);
	w[0].in_flight = 0;
	w[0].requests = 5;
	CHECK_INT(router_pick(w, 2, &rq, &POL, NOW_MS, &ch), 1);
	/* Tried accounts are skipped; the reason says failover. */
	rq.tried = 2;
	CHECK_INT(router_pick(w, 2, &rq, &POL, NOW_MS, &ch), 0);
	CHECK_INT(ch.reason, ROUTER_FAILOVER);
	rq.tried = 3;
	CHECK_INT(router_pick(w, 2, &rq, &POL, NOW_MS, &ch), -1);
}

TEST(test_router_sticky_until_unusable)
{
	struct tracker a, b;
	tracker_init(&a, 0.8);
	tracker_init(&b, 0.8);
	struct account_hold la = {0}, oa = {0}, lb = {0}, ob = {0};
	window(&a, "5h", 0.9, 4 * 3600, TRACKER_ALLOWED);
	struct router_account v[2] = {view("a", &a, &la, &oa), view("b", &b, &lb, &ob)};
	struct router_request rq = {.model = "m", .consumes = 1, .pinned = 0};
	struct router_choice ch;
	CHECK_INT(router_pick(v, 2, &rq, &POL, NOW_MS, &ch), 0); /* less headroom, but the conversation is there */
	CHECK_INT(ch.reason, ROUTER_STICKY);
	a.w[0].utilization = 0.985; /* over --max-utilization: the conversation moves */
	CHECK_INT(router_pick(v, 2, &rq, &POL, NOW_MS, &ch), 1);
	CHECK_INT(ch.reason, ROUTER_MOVED);
}

TEST(test_router_guard_blocks_and_explains)
{
	struct tracker a, b;
	tracker_init(&a, 0.8);
	tracker_init(&b, 0.8);
	struct account_hold la = {0}, oa = {0}, lb = {0}, ob = {0};
	window(&a, "5h", 0.4, 3600, TRACKER_ALLOWED);
	window(&a, "7d_opus", 1.0, 2 * 86400, TRACKER_REJECTED);
	window(&b, "5h", 0.99, 1200, TRACKER_ALLOWED);
	struct router_account v[2] = {view("a", &a, &la, &oa), view("b", &b, &lb, &ob)};
	struct router_verdict vd;
	struct router_request opus = {.model = "claude-opus-4-1", .consumes = 1, .pinned = -1};
	struct router_request sonnet = {.model = "claude-sonnet-4-5", .consumes = 1, .pinned = -1};
	router_check(&v[0], 0, &opus, &POL, NOW_MS, &vd);
	CHECK_INT(vd.block, ROUTER_REJECTED);
	CHECK_STR(vd.window, "7d_opus");
	CHECK_INT(vd.until_s, NOW_S + 2 * 86400);
	router_check(&v[0], 0, &sonnet, &POL, NOW_MS, &vd);
	CHECK_INT(vd.block, ROUTER_OK); /* the Opus cap does not stop Sonnet */
	router_check(&v[1], 1, &sonnet, &POL, NOW_MS, &vd);
	CHECK_INT(vd.block, ROUTER_FULL);
	/* Requests that consume nothing (count_tokens, models) only need a login. */
	struct router_request free_rq = {.model = "claude-opus-4-1", .consumes = 0, .pinned = -1};
	router_check(&v[1], 1, &free_rq, &POL, NOW_MS, &vd);
	CHECK_INT(vd.block, ROUTER_OK);
	/* Opus: none usable; the refusal names both and the earliest clearing (b's 5h in 20 minutes). */
	struct router_choice ch;
	CHECK_INT(router_pick(v, 2, &opus, &POL, NOW_MS, &ch), -1);
	struct buf msg;
	buf_init(&msg, 0);
	int64_t ra = 0;
	CHECK_INT(router_refusal(v, 2, &opus, &POL, NOW_MS, &msg, &ra), 0);
	buf_append(&msg, "", 1);
	CHECK_INT(ra, 1200);
	CHECK(strstr(buf_ptr(&msg), "a: 7d_opus window exhausted") != NULL);
	CHECK(strstr(buf_ptr(&msg), "b: 5h window at 99% (limit 98%)") != NULL);
	CHECK(strstr(buf_ptr(&msg), "clears in 20m00s") != NULL);
	buf_free(&msg);
	/* A dead login everywhere: the caller answers as for missing credentials. */
	v[0].login_ok = v[1].login_ok = 0;
	buf_init(&msg, 0);
	CHECK_INT(router_refusal(v, 2, &opus, &POL, NOW_MS, &msg, &ra), 1);
	buf_free(&msg);
}

TEST(test_router_holds_from_answers)
{
	struct tracker a;
	tracker_init(&a, 0.8);
	window(&a, "7d_opus", 0.5, 86400, TRACKER_ALLOWED);
	struct account_hold lim = {.until_ms = NOW_MS + 60000, .reason = "window"}, over = {0};
	snprintf(lim.window, sizeof lim.window, "7d_opus");
	struct router_account v = view("a", &a, &lim, &over);
	struct router_verdict vd;
	struct router_request opus = {.model = "claude-opus-4-1", .consumes = 1, .pinned = -1};
	struct router_request sonnet = {.model = "claude-sonnet-4-5", .consumes = 1, .pinned = -1};
	router_check(&v, 0, &opus, &POL, NOW_MS, &vd);
	CHECK_INT(vd.block, ROUTER_LIMITED);
	CHECK_INT(vd.until_s, NOW_S + 60);
	router_check(&v, 0, &sonnet, &POL, NOW_MS, &vd);
	CHECK_INT(vd.block, ROUTER_OK); /* a 429 for the Opus window holds the account back for Opus only */
	router_check(&v, 0, &opus, &POL, NOW_MS + 60000, &vd);
	CHECK_INT(vd.block, ROUTER_OK); /* the hold ran out */
	/* Extra usage: held back unless allowed. */
	over.until_ms = NOW_MS + 1000;
	router_check(&v, 0, &sonnet, &POL, NOW_MS, &vd);
	CHECK_INT(vd.block, ROUTER_OVERAGE);
	const struct router_policy allow = {.max_utilization = 0.98, .allow_overage = 1};
	router_check(&v, 0, &sonnet, &allow, NOW_MS, &vd);
	CHECK_INT(vd.block, ROUTER_OK);
}

TEST(test_pins_lru_and_idle_expiry)
{
	struct pins p;
	CHECK_INT(pins_init(&p, 3, 1000, 42), 0);
	uint64_t k[5];
	char s[8];
	for (int i = 0; i < 5; i++) {
		snprintf(s, sizeof s, "s%d", i);
		k[i] = pins_key(&p, s, strlen(s));
	}
	CHECK(k[0] != k[1]);
	CHECK(pins_key(&p, "s0", 2) == k[0]);
	pins_put(&p, k[0], 0, 0);
	pins_put(&p, k[1], 1, 10);
	pins_put(&p, k[2], 0, 20);
	CHECK_INT(pins_get(&p, k[0], 30), 0); /* k0 becomes the most recent: k1 is now the least */
	pins_put(&p, k[3], 1, 40);            /* full: k1 goes */
	CHECK_INT(p.n, 3);
	CHECK_INT(pins_get(&p, k[1], 50), -1);
	CHECK_INT(p.evicted, 1);
	CHECK_INT(pins_get(&p, k[2], 60), 0);
	pins_put(&p, k[2], 1, 70); /* re-pinned: replaced, not added */
	CHECK_INT(pins_get(&p, k[2], 80), 1);
	CHECK_INT(p.n, 3);
	/* Idle past the timeout: gone when met, and swept. */
	CHECK_INT(pins_get(&p, k[0], 1031), -1);
	CHECK_INT(pins_sweep(&p, 1500), 0);
	CHECK_INT(p.n, 0);
	for (int round = 0; round < 1000; round++) { /* churn keeps the table consistent */
		snprintf(s, sizeof s, "%d", round);
		pins_put(&p, pins_key(&p, s, strlen(s)), round & 1, 2000 + round);
	}
	CHECK_INT(p.n, 3);
	CHECK_INT(pins_get(&p, pins_key(&p, "999", 3), 3000), 1);
	pins_free(&p);
	/* Zero capacity pins nothing. */
	CHECK_INT(pins_init(&p, 0, 1000, 1), 0);
	pins_put(&p, 1, 1, 0);
	CHECK_INT(pins_get(&p, 1, 0), -1);
	pins_free(&p);
}

TEST(test_reqinfo_reads_top_level_model_and_session)
{
	struct reqinfo ri;
	const char *b1 = "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
			 "\"metadata\":{\"user_id\":\"user_abc_account_def_session_1234-5678\"}}";
	reqinfo_scan(b1, strlen(b1), 1, &ri);
	CHECK_STR(ri.model, "claude-sonnet-4-5");
	CHECK_STR(ri.session, "1234-5678");
	/* Keys of the same name deeper do not count; a user_id without a session counts whole. */
	const char *b2 = "{\"messages\":[{\"model\":\"x\",\"metadata\":{\"user_id\":\"no\"}}],\"metadata\":{\"user_id\":"
			 "\"plain-user\"},\"model\":\"claude-opus-4-1\"}";
	reqinfo_scan(b2, strlen(b2), 1, &ri);
	CHECK_STR(ri.model, "claude-opus-4-1");
	CHECK_STR(ri.session, "plain-user");
	/* Without want_session the scan stops at the model; invalid JSON keeps what came before. */
	const char *b3 = "{\"model\":\"m1\",\"metadata\":{\"user_id\":\"u\"}}";
	reqinfo_scan(b3, strlen(b3), 0, &ri);
	CHECK_STR(ri.model, "m1");
	CHECK_STR(ri.session, "");
	const char *b4 = "{\"model\":\"m2\", oops";
	reqinfo_scan(b4, strlen(b4), 1, &ri);
	CHECK_STR(ri.model, "m2");
	reqinfo_scan("", 0, 1, &ri);
	CHECK_STR(ri.model, "");
	/* Cut and cleaned: model names become metric labels. */
	const char *b5 = "{\"model\":\"bad model\\\"name\"}";
	reqinfo_scan(b5, strlen(b5), 1, &ri);
	CHECK_STR(ri.model, "badmodelname");
}

/* --allow-overage lets an account drawing on extra usage serve only the clients whose line says overage=allow
 * (requests of no client and --client-key keys follow the flag alone): the policy is made per request. */
TEST(test_router_overage_per_client)
{
	static struct clients cl;
	clients_init(&cl, 2);
	struct clients_def d[2];
	char err[200];
	const char *file = "careful sk-proxy-careful1\nspender sk-proxy-spender1 overage=allow\n";
	CHECK_INT(clients_parse(file, strlen(file), "f", d, 2, err, sizeof err), 2);
	CHECK_INT(clients_apply(&cl, d, 2, err, sizeof err), 0);
	struct tracker a, b;
	tracker_init(&a, 0.8);
	tracker_init(&b, 0.8);
	window(&a, "5h", 0.1, 3600, TRACKER_ALLOWED); /* more room, but drawing on extra usage */
	window(&b, "5h", 0.9, 3600, TRACKER_ALLOWED);
	struct account_hold la = {0}, oa = {.until_ms = NOW_MS + 60000, .reason = "extra_usage"}, lb = {0}, ob = {0};
	struct router_account v[2] = {view("a", &a, &la, &oa), view("b", &b, &lb, &ob)};
	struct router_request rq = {.model = "claude-sonnet-4-5", .consumes = 1, .pinned = -1};
	struct router_choice ch;
	for (int cfg_allow = 0; cfg_allow <= 1; cfg_allow++)
		for (int c = -1; c < 2; c++) {
			struct router_policy pol = {.max_utilization = 0.98,
						    .allow_overage = clients_allow_overage(&cl, c, cfg_allow)};
			int want = cfg_allow && c != 0 ? 0 : 1; /* "careful" (0) never goes to a */
			CHECK_INT(router_pick(v, 2, &rq, &pol, NOW_MS, &ch), want);
		}
	clients_free(&cl);
}
