#include "tracker.h"
#include "unit.h"

#include <stdlib.h>

#define H(t, n, v, now) tracker_apply_header(t, n, strlen(n), v, strlen(v), now)

TEST(test_tracker_headers_generic_claims)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	int64_t now = 1795690000000LL;
	CHECK_INT(H(&t, "Anthropic-Ratelimit-Unified-5h-Utilization", "0.42", now), 1);
	H(&t, "anthropic-ratelimit-unified-5h-reset", "1795699797", now);
	H(&t, "anthropic-ratelimit-unified-5h-status", "allowed_warning", now);
	H(&t, "anthropic-ratelimit-unified-7d-utilization", "0.17", now);
	H(&t, "anthropic-ratelimit-unified-7d_sonnet-utilization", "0.05", now);
	H(&t, "anthropic-ratelimit-unified-7d_opus-surpassed-threshold", "0.75", now);
	H(&t, "anthropic-ratelimit-unified-status", "rejected", now);
	H(&t, "anthropic-ratelimit-unified-representative-claim", "seven_day", now);
	H(&t, "anthropic-ratelimit-unified-overage-utilization", "1.25", now);
	H(&t, "anthropic-ratelimit-unified-overage-disabled-reason", "org_level_disabled", now);
	H(&t, "anthropic-ratelimit-unified-overage-in-use", "true", now);
	H(&t, "anthropic-ratelimit-unified-fallback-percentage", "0.5", now);
	CHECK_INT(H(&t, "content-type", "application/json", now), 0);
	CHECK_INT(H(&t, "anthropic-ratelimit-unified-5h-utilization", "not-a-number", now), 1);

	struct tracker_window *w = tracker_window(&t, "5h");
	CHECK(w != NULL);
	CHECK(w->utilization > 0.419 && w->utilization < 0.421); /* the bad value left it unchanged */
	CHECK_INT(w->resets_at, 1795699797);
	CHECK_INT(w->status, TRACKER_ALLOWED_WARNING);
	CHECK_INT(w->util_src, TRACKER_SRC_HEADER);
	CHECK(tracker_window(&t, "7d_sonnet") != NULL);
	CHECK(tracker_window(&t, "7d_opus")->surpassed_threshold == 0.75);
	CHECK_INT(t.status, TRACKER_REJECTED);
	CHECK_STR(t.representative_claim, "7d");
	CHECK(t.overage_utilization == 1.25);
	CHECK_STR(t.overage_disabled_reason, "org_level_disabled");
	CHECK_INT(t.overage_in_use, 1);
}

TEST(test_tracker_caps_windows_from_the_network)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	char name[80];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "anthropic-ratelimit-unified-7d_m%d-utilization", i);
		H(&t, name, "0.1", 1000);
	}
	CHECK_INT(t.n, TRACKER_MAX_WINDOWS);
	H(&t, "anthropic-ratelimit-unified-Bad$Claim-utilization", "0.1", 1000);
	CHECK_INT(t.n, TRACKER_MAX_WINDOWS);
}

TEST(test_tracker_poll_window_shape)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	const char *body = "{\"five_hour\":{\"utilization\":42.5,\"resets_at\":\"2026-01-02T19:59:59.600956+00:00\"},"
			   "\"seven_day\":{\"utilization\":17,\"resets_at\":null},\"seven_day_opus\":null,"
			   "\"seven_day_sonnet\":{\"utilization\":null,\"resets_at\":\"2026-01-05T00:00:00Z\"},"
			   "\"seven_day_oauth_apps\":7,\"iguana_necktie\":{\"utilization\":3,\"resets_at\":null},"
			   "\"extra_usage\":{\"is_enabled\":true,\"monthly_limit\":5000,\"used_credits\":1234,"
			   "\"utilization\":24.68,\"currency\":\"USD\"},\"unknown\":[1,2]}";
	CHECK_INT(tracker_apply_poll(&t, body, strlen(body), 5000), 0);
	struct tracker_window *w = tracker_window(&t, "5h");
	CHECK(w && w->utilization > 0.4249 && w->utilization < 0.4251);
	CHECK_INT(w->resets_at, 1767383999);
	CHECK_INT(w->util_src, TRACKER_SRC_POLL);
	CHECK(tracker_window(&t, "7d")->utilization == 0.17);
	CHECK_INT(tracker_window(&t, "7d")->resets_at, 0);
	CHECK(tracker_window(&t, "7d_opus") == NULL);
	CHECK(tracker_window(&t, "7d_sonnet")->utilization < 0); /* null is unknown, not zero */
	CHECK_INT(tracker_window(&t, "7d_sonnet")->resets_at, 1767571200);
	CHECK(tracker_window(&t, "7d_oauth_apps") == NULL);
	CHECK(tracker_window(&t, "iguana_necktie") != NULL);
	CHECK_INT(t.extra_enabled, 1);
	CHECK(t.extra_monthly_limit == 5000 && t.extra_used_credits == 1234);
	CHECK_STR(t.extra_currency, "USD");
	CHECK_INT(tracker_apply_poll(&t, "[1]", 3, 6000), -1);
	CHECK_INT(tracker_apply_poll(&t, "{nope", 5, 6000), -1);
	CHECK_INT(tracker_apply_poll(&t, "null", 4, 6000), -1);
}

TEST(test_tracker_poll_limits_only_shape)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	const char *body = "{\"limits\":[{\"kind\":\"session\",\"group\":\"session\",\"percent\":55,"
			   "\"resets_at\":\"2026-01-02T10:00:00Z\",\"severity\":\"warning\",\"scope\":null,\"is_active\":true},"
			   "{\"kind\":\"weekly_all\",\"group\":\"weekly\",\"percent\":12.5,\"resets_at\":null},"
			   "{\"kind\":\"weekly_model\",\"percent\":99},{\"kind\":7},\"junk\"]}";
	CHECK_INT(tracker_apply_poll(&t, body, strlen(body), 1), 0);
	CHECK(tracker_window(&t, "5h")->utilization == 0.55);
	CHECK_INT(tracker_window(&t, "5h")->resets_at, 1767348000);
	CHECK_STR(tracker_window(&t, "5h")->severity, "warning");
	CHECK_INT(tracker_window(&t, "5h")->is_active, 1);
	CHECK(tracker_window(&t, "7d")->utilization == 0.125);
	/* A kind without a scope is kept under its own name and binds every model; a kind that is not a string and
	 * an entry that is not an object are not windows. */
	CHECK(tracker_window(&t, "weekly_model")->utilization == 0.99);
	CHECK_INT(tracker_window(&t, "weekly_model")->scope_src, TRACKER_SCOPE_NONE);
	CHECK_INT(t.n, 3);
}

/* limits[] entries: named by kind and scope, merged with the header buckets of the same family, unknown kinds and
 * scope shapes kept. */
TEST(test_tracker_limits_named_scoped_and_kept)
{
	struct tracker t;
	tracker_init(&t, 0.99);
	H(&t, "anthropic-ratelimit-unified-7d_opus-utilization", "0.10", 1000);
	const char *body =
		"{\"limits\":["
		"{\"kind\":\"weekly_scoped\",\"group\":\"weekly\",\"percent\":81,"
		"\"resets_at\":\"2026-01-05T00:00:00Z\","
		"\"severity\":\"warning\",\"scope\":{\"model\":{\"display_name\":\"Opus\"}},\"is_active\":false},"
		"{\"kind\":\"weekly_model\",\"percent\":5,\"scope\":{\"model\":{\"display_name\":\"Sonnet 4.5\"}}},"
		"{\"kind\":\"weekly_scoped\",\"percent\":7,\"scope\":{\"model\":{\"display_name\":\"Claude Oi\"}}},"
		"{\"kind\":\"session\",\"percent\":9,\"scope\":{\"model\":{\"display_name\":\"Haiku 4.5\"}}},"
		"{\"kind\":\"Monthly-Credits!\",\"group\":\"billing\",\"percent\":33,\"severity\":\"apocalyptic\","
		"\"scope\":null},"
		"{\"kind\":\"weekly_scoped\",\"percent\":1,\"scope\":{\"workspace\":{\"id\":\"w1\"}}},"
		"{\"kind\":\"weekly_scoped\",\"percent\":2,\"scope\":{\"workspace\":{\"id\":\"w2\"}}},"
		"{\"kind\":\"weekly_scoped\",\"percent\":3,\"scope\":{}}"
		"]}";
	CHECK_INT(tracker_apply_poll(&t, body, strlen(body), 2000), 0);
	struct tracker_window *w = tracker_window(&t, "7d_opus");
	CHECK(w && w->utilization == 0.81); /* the header bucket and the scoped entry are one window */
	CHECK_INT(w->util_src, TRACKER_SRC_POLL);
	CHECK_INT(w->resets_at, 1767571200);
	CHECK_STR(w->kind, "weekly_scoped");
	CHECK_STR(w->group, "weekly");
	CHECK_STR(w->severity, "warning");
	CHECK_INT(w->is_active, 0);
	CHECK_STR(w->scope, "opus");
	CHECK_INT(w->scope_src, TRACKER_SCOPE_LIMITS);
	CHECK_STR(tracker_window(&t, "7d_sonnet")->kind, "weekly_model");
	CHECK_STR(tracker_window(&t, "7d_sonnet")->scope, "sonnet");
	CHECK_STR(tracker_window(&t, "7d_oi")->scope, "oi");
	CHECK_STR(tracker_window(&t, "5h_haiku")->scope, "haiku");
	CHECK(tracker_window(&t, "5h") == NULL); /* a scoped session entry is not the 5h window */
	w = tracker_window(&t, "monthly_credits_");
	CHECK(w && w->utilization == 0.33);
	CHECK_STR(w->group, "billing");
	CHECK_STR(w->severity, "apocalyptic");
	CHECK_INT(w->is_active, -1);
	CHECK_INT(w->scope_src, TRACKER_SCOPE_NONE);
	/* Unknown scope shapes: one stable name per scope, every model. */
	int hashed = 0;
	for (int i = 0; i < t.n; i++)
		if (strncmp(t.w[i].name, "weekly_scoped_", 14) == 0 && strlen(t.w[i].name) == 20) {
			hashed++;
			CHECK_INT(t.w[i].scope_src, TRACKER_SCOPE_NONE);
		}
	CHECK_INT(hashed, 2);
	CHECK(tracker_window(&t, "weekly_scoped") != NULL); /* an empty scope is no scope */
	int n = t.n;
	CHECK_INT(n, 8);
	/* The next poll lands in the same windows. */
	CHECK_INT(tracker_apply_poll(&t, body, strlen(body), 3000), 0);
	CHECK_INT(t.n, n);
	/* Windows from the network stay capped. */
	char big[8192];
	size_t o = (size_t)snprintf(big, sizeof big, "{\"limits\":[");
	for (int i = 0; i < 60; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, "%s{\"kind\":\"k%d\",\"percent\":1}", i ? "," : "", i);
	snprintf(big + o, sizeof big - o, "]}");
	CHECK_INT(tracker_apply_poll(&t, big, strlen(big), 4000), 0);
	CHECK_INT(t.n, TRACKER_MAX_WINDOWS);
}

TEST(test_tracker_poll_precedence)
{
	struct tracker t;
	tracker_init(&t, 0.99);
	/* Both present: the top-level key wins; limits[] fill what it left unknown. */
	const char *body = "{\"five_hour\":{\"utilization\":40,\"resets_at\":null},"
			   "\"seven_day\":{\"utilization\":null,\"resets_at\":\"2026-01-05T00:00:00Z\"},"
			   "\"limits\":[{\"kind\":\"session\",\"percent\":60,\"resets_at\":\"2026-01-02T10:00:00Z\","
			   "\"severity\":\"normal\"},"
			   "{\"kind\":\"weekly_all\",\"percent\":30,\"resets_at\":\"2026-01-09T00:00:00Z\"},"
			   "{\"kind\":\"weekly_scoped\",\"percent\":20,"
			   "\"scope\":{\"model\":{\"display_name\":\"Opus 4\"}}},"
			   "{\"kind\":\"weekly_model\",\"percent\":50,"
			   "\"scope\":{\"model\":{\"display_name\":\"Opus 4.1\"}}},"
			   "{\"kind\":\"weekly_scoped\",\"percent\":35,\"scope\":{\"model\":{\"display_name\":\"Opus\"}}}]}";
	CHECK_INT(tracker_apply_poll(&t, body, strlen(body), 1000), 0);
	struct tracker_window *w = tracker_window(&t, "5h");
	CHECK(w->utilization == 0.40);
	CHECK_INT(w->resets_at, 1767348000); /* top-level null: from limits[] */
	CHECK_STR(w->severity, "normal");     /* metadata only limits[] has */
	w = tracker_window(&t, "7d");
	CHECK(w->utilization == 0.30);
	CHECK_INT(w->resets_at, 1767571200); /* the top-level reset wins */
	/* Several entries naming one window: the highest percent. */
	CHECK(tracker_window(&t, "7d_opus")->utilization == 0.50);
	CHECK_STR(tracker_window(&t, "7d_opus")->kind, "weekly_model");
	/* Between sources: the newest value. */
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.45", 2000);
	CHECK(tracker_window(&t, "5h")->utilization == 0.45);
	CHECK_INT(tracker_window(&t, "5h")->util_src, TRACKER_SRC_HEADER);
	/* A limits-only poll after the header: limits[] values apply. */
	const char *only = "{\"limits\":[{\"kind\":\"session\",\"percent\":47}]}";
	CHECK_INT(tracker_apply_poll(&t, only, strlen(only), 3000), 0);
	CHECK(tracker_window(&t, "5h")->utilization == 0.47);
}

TEST(test_tracker_model_family_table)
{
	static const struct {
		const char *model, *family;
	} cases[] = {
		{"claude-opus-4-1-20250805", "opus"},
		{"claude-sonnet-4-5-20250929", "sonnet"},
		{"claude-3-5-sonnet-20241022", "sonnet"},
		{"claude-haiku-4-5", "haiku"},
		{"us.anthropic.claude-opus-4-1-20250805-v1:0", "opus"},
		{"claude-sonnet-4-5@20250929", "sonnet"},
		{"claude-opus-4-6[1m]", "opus"},
		{"Sonnet 4.5", "sonnet"},
		{"Opus", "opus"},
		{"Claude Oi", "oi"},
		{"gpt-4o", "gpt"},
		{"claude", NULL},
		{"claude-3-5", NULL},
		{"", NULL},
		{NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char fam[TRACKER_FAMILY_LEN] = "x";
		int rc = tracker_model_family(cases[i].model, fam, sizeof fam);
		if (!cases[i].family) {
			CHECK_INT(rc, -1);
			continue;
		}
		CHECK_INT(rc, 0);
		CHECK_STR(fam, cases[i].family);
	}
	char small[4];
	CHECK_INT(tracker_model_family("claude-sonnet-4", small, sizeof small), 0);
	CHECK_STR(small, "son");
}

TEST(test_tracker_window_applies_table)
{
	static const struct {
		const char *scope;
		const char *model;
		int applies;
	} cases[] = {
		{"", "claude-opus-4-1", 1},
		{"", NULL, 1},
		{"", "", 1},
		{"sonnet", "claude-sonnet-4-5-20250929", 1},
		{"sonnet", "claude-3-5-sonnet-20241022", 1},
		{"sonnet", "claude-opus-4-1", 0},
		{"sonnet", "claude-haiku-4-5", 0},
		{"opus", "claude-opus-4-1-20250805", 1},
		{"opus", "us.anthropic.claude-opus-4-1-v1:0", 1},
		{"opus", "claude-opusx-1", 0}, /* a family, not a substring */
		{"opus", NULL, 0},
		{"opus", "", 0},
		{"opus", "claude", 0},
		{"oi,opus", "claude-oi-1", 1},
		{"oi,opus", "claude-opus-4", 1},
		{"oi,opus", "claude-sonnet-4-5", 0},
		{"oi,opus", "claude-o", 0},
		{"sonnet", "Sonnet 4.5", 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tracker_window w;
		memset(&w, 0, sizeof w);
		snprintf(w.scope, sizeof w.scope, "%s", cases[i].scope);
		w.scope_src = cases[i].scope[0] ? TRACKER_SCOPE_LIMITS : TRACKER_SCOPE_NONE;
		if (tracker_window_applies(&w, cases[i].model) != cases[i].applies)
			printf("    case %zu: scope \"%s\" model \"%s\"\n", i, cases[i].scope,
			       cases[i].model ? cases[i].model : "(null)");
		CHECK_INT(tracker_window_applies(&w, cases[i].model), cases[i].applies);
	}
	/* Scopes by name: 5h, 7d and unknown buckets every model; 7d_sonnet / 7d_opus / 7d_haiku their family. */
	struct tracker t;
	tracker_init(&t, 0.99);
	static const char *const names[] = {"5h", "7d", "7d_sonnet", "7d_opus", "7d_haiku", "7d_oi", "7d_oauth_apps"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char h[96];
		snprintf(h, sizeof h, "anthropic-ratelimit-unified-%s-utilization", names[i]);
		H(&t, h, "0.5", 1);
	}
	static const struct {
		const char *window, *model;
		int applies;
	} by_name[] = {
		{"5h", "claude-opus-4-1", 1},	     {"7d", "claude-haiku-4-5", 1},
		{"7d_sonnet", "claude-sonnet-4-5", 1}, {"7d_sonnet", "claude-opus-4-1", 0},
		{"7d_opus", "claude-opus-4-1", 1},     {"7d_opus", "claude-sonnet-4-5", 0},
		{"7d_haiku", "claude-haiku-4-5", 1},   {"7d_haiku", "claude-opus-4-1", 0},
		{"7d_oi", "claude-sonnet-4-5", 1},     {"7d_oauth_apps", "claude-opus-4-1", 1},
		{"5h", NULL, 1},		     {"7d_opus", NULL, 0},
	};
	for (size_t i = 0; i < sizeof by_name / sizeof by_name[0]; i++)
		CHECK_INT(tracker_window_applies(tracker_window(&t, by_name[i].window), by_name[i].model),
			  by_name[i].applies);
	CHECK_STR(tracker_window(&t, "5h")->kind, "session");
	CHECK_STR(tracker_window(&t, "7d")->group, "weekly");
	CHECK_INT(tracker_window(&t, "7d")->scope_src, TRACKER_SCOPE_ALL);
	CHECK_INT(tracker_window(&t, "7d_sonnet")->scope_src, TRACKER_SCOPE_NAME);
	CHECK_STR(tracker_window(&t, "7d_oi")->kind, "");
}

TEST(test_tracker_learns_bucket_scope_from_answers)
{
	struct tracker t;
	tracker_init(&t, 0.99);
	/* Before any head was opened nothing is learned. */
	H(&t, "anthropic-ratelimit-unified-7d_oi-utilization", "0.2", 1);
	tracker_note_answer_model(&t, "claude-oi-1", 0);
	CHECK_INT(tracker_window(&t, "7d_oi")->scope_src, TRACKER_SCOPE_NONE);
	/* Two heads in flight: the oi answer carries 7d_oi, the sonnet answer does not; models become known later. */
	uint64_t a = tracker_head_begin(&t);
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.3", 2);
	H(&t, "anthropic-ratelimit-unified-7d_oi-utilization", "0.25", 2);
	H(&t, "anthropic-ratelimit-unified-7d_opus-utilization", "0.1", 2);
	uint64_t b = tracker_head_begin(&t);
	CHECK(a != 0 && b != a);
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.31", 2);
	tracker_note_answer_model(&t, "claude-sonnet-4-5", b);
	struct tracker_window *oi = tracker_window(&t, "7d_oi");
	CHECK_INT(oi->scope_src, TRACKER_SCOPE_NONE);
	CHECK(tracker_window_applies(oi, "claude-sonnet-4-5")); /* unknown: every model */
	tracker_note_answer_model(&t, "claude-oi-1-20260101", a);
	CHECK_INT(oi->scope_src, TRACKER_SCOPE_LEARNED);
	CHECK_STR(oi->scope, "oi");
	CHECK(!tracker_window_applies(oi, "claude-sonnet-4-5"));
	CHECK(tracker_window_applies(oi, "claude-oi-2"));
	CHECK_INT(tracker_window(&t, "5h")->scope_src, TRACKER_SCOPE_ALL);     /* fixed scopes do not learn */
	CHECK_STR(tracker_window(&t, "7d_opus")->scope, "opus");
	/* Token counting follows the scope. */
	tracker_record(&t, "claude-sonnet-4-5", 10, 0, 0, 0, 3);
	tracker_record(&t, "claude-oi-1", 7, 0, 0, 0, 3);
	CHECK_INT(oi->tokens.input, 7);
	CHECK_INT(tracker_window(&t, "5h")->tokens.input, 17);
	CHECK_INT(tracker_window(&t, "7d_opus")->tokens.input, 0);
	/* Answers of more families carry it: a list, then (past TRACKER_SCOPE_MAX) every model for good. */
	const char *more[] = {"claude-oi-1", "claude-opus-4-1", "claude-haiku-4-5", "claude-sonnet-4-5"};
	for (size_t i = 0; i < 4; i++) {
		uint64_t s = tracker_head_begin(&t);
		H(&t, "anthropic-ratelimit-unified-7d_oi-utilization", "0.25", 4);
		tracker_note_answer_model(&t, more[i], s);
		if (i == 2) {
			CHECK_STR(oi->scope, "oi,opus,haiku");
			CHECK(!tracker_window_applies(oi, "claude-sonnet-4-5"));
		}
	}
	CHECK_INT(oi->scope_src, TRACKER_SCOPE_ALL);
	CHECK_STR(oi->scope, "");
	CHECK(tracker_window_applies(oi, "claude-sonnet-4-5"));
	/* limits[] naming the family overrides what was learned. */
	H(&t, "anthropic-ratelimit-unified-7d_xy-utilization", "0.25", 5);
	uint64_t s = tracker_head_begin(&t);
	H(&t, "anthropic-ratelimit-unified-7d_xy-utilization", "0.25", 5);
	tracker_note_answer_model(&t, "claude-opus-4", s);
	CHECK_STR(tracker_window(&t, "7d_xy")->scope, "opus");
	const char *body = "{\"limits\":[{\"kind\":\"weekly_scoped\",\"percent\":3,"
			   "\"scope\":{\"model\":{\"display_name\":\"Xy\"}}}]}";
	CHECK_INT(tracker_apply_poll(&t, body, strlen(body), 6), 0);
	CHECK_STR(tracker_window(&t, "7d_xy")->scope, "xy");
	CHECK_INT(tracker_window(&t, "7d_xy")->scope_src, TRACKER_SCOPE_LIMITS);
	s = tracker_head_begin(&t);
	H(&t, "anthropic-ratelimit-unified-7d_xy-utilization", "0.25", 7);
	tracker_note_answer_model(&t, "claude-opus-4", s);
	CHECK_STR(tracker_window(&t, "7d_xy")->scope, "xy");
}

TEST(test_tracker_rollover_rule)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	int64_t base = 1800000000, now = base * 1000 - 3600 * 1000;
	char v[32];
	/* First observation: never a rollover. */
	snprintf(v, sizeof v, "%lld", (long long)base);
	H(&t, "anthropic-ratelimit-unified-5h-reset", v, now);
	tracker_record(&t, "m", 10, 5, 0, 0, now);
	struct tracker_window *w = tracker_window(&t, "5h");
	CHECK_INT(w->rollovers, 0);
	CHECK_INT(w->tokens.input, 10);
	/* 1000 polls jittering by up to +-2 s and flapping across second boundaries: no rollover. */
	srand(7);
	for (int i = 0; i < 1000; i++) {
		snprintf(v, sizeof v, "%lld", (long long)(base + rand() % 5 - 2));
		H(&t, "anthropic-ratelimit-unified-5h-reset", v, now + i);
	}
	CHECK_INT(w->rollovers, 0);
	CHECK_INT(w->tokens.input, 10);
	/* A 5 h jump: exactly one rollover, counters zeroed. */
	snprintf(v, sizeof v, "%lld", (long long)(base + 5 * 3600));
	H(&t, "anthropic-ratelimit-unified-5h-reset", v, now + 2000);
	H(&t, "anthropic-ratelimit-unified-5h-reset", v, now + 2001);
	CHECK_INT(w->rollovers, 1);
	CHECK_INT(w->tokens.input, 0);
	CHECK_INT(w->tokens.requests, 0);
}

TEST(test_tracker_rollover_when_reset_time_passes)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	H(&t, "anthropic-ratelimit-unified-5h-reset", "1000", 900000);
	tracker_record(&t, "m", 1, 1, 1, 1, 900000);
	tracker_record(&t, "m", 1, 1, 1, 1, 1000500); /* after the reset: counted in the new period only */
	struct tracker_window *w = tracker_window(&t, "5h");
	CHECK_INT(w->rollovers, 1);
	CHECK_INT(w->tokens.requests, 1);
	/* The next observation of the new reset is a first observation: no second rollover. */
	H(&t, "anthropic-ratelimit-unified-5h-reset", "19000", 1000600);
	CHECK_INT(w->rollovers, 1);
	CHECK_INT(w->tokens.requests, 1);
}

TEST(test_tracker_record_splits_and_models)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	H(&t, "anthropic-ratelimit-unified-7d-utilization", "0.1", 1);
	tracker_record(&t, "claude-sonnet-4-5", 25, 87, 1024, 2048, 2);
	tracker_record(&t, "claude-sonnet-4-5", -1, 3, -1, -1, 3);
	tracker_record(&t, "evil\"model\n{", 1, 1, 0, 0, 4);
	struct tracker_window *w = tracker_window(&t, "7d");
	CHECK_INT(w->tokens.input, 26);
	CHECK_INT(w->tokens.output, 91);
	CHECK_INT(w->tokens.cache_creation, 1024);
	CHECK_INT(w->tokens.requests, 3);
	CHECK_INT(t.n_models, 2);
	CHECK_STR(t.models[1].name, "evilmodel");
	/* Per-model weekly windows count their family only. */
	H(&t, "anthropic-ratelimit-unified-7d_sonnet-utilization", "0.1", 5);
	H(&t, "anthropic-ratelimit-unified-7d_opus-utilization", "0.1", 5);
	tracker_record(&t, "claude-opus-4-1", 100, 0, 0, 0, 6);
	CHECK_INT(tracker_window(&t, "7d_opus")->tokens.input, 100);
	CHECK_INT(tracker_window(&t, "7d_sonnet")->tokens.input, 0);
	CHECK_INT(tracker_window(&t, "7d")->tokens.input, 126);
	for (int i = 0; i < 40; i++) {
		char m[16];
		snprintf(m, sizeof m, "m%d", i);
		tracker_record(&t, m, 1, 0, 0, 0, 5);
	}
	CHECK_INT(t.n_models, TRACKER_MAX_MODELS);
	CHECK(t.models[TRACKER_MAX_MODELS].tokens.requests > 0);
}

TEST(test_tracker_warning_once_per_crossing)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.5", 1);
	struct tracker_window *w = tracker_window(&t, "5h");
	CHECK_INT(w->warned, 0);
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.85", 2);
	CHECK_INT(w->warned, 1);
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.9", 3);
	CHECK_INT(w->warned, 1);
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.2", 4);
	CHECK_INT(w->warned, 0);
}

TEST(test_tracker_json_and_state_round_trip)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	H(&t, "anthropic-ratelimit-unified-5h-reset", "2000000000", 1000);
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.25", 1000);
	H(&t, "anthropic-ratelimit-unified-7d-reset", "1000", 1000);
	tracker_record(&t, "claude-x", 10, 20, 30, 40, 1000);
	struct buf b;
	buf_init(&b, 0);
	CHECK_INT(tracker_render_json(&t, &b, 3000, "{\"enabled\":true}"), 0);
	buf_append(&b, "", 1);
	CHECK_CONTAINS(buf_ptr(&b), "\"5h\":{\"utilization_percent\":25,\"resets_at\":\"2033-05-18T03:33:20Z\"");
	CHECK_CONTAINS(buf_ptr(&b), "\"age_seconds\":2.0");
	CHECK_CONTAINS(buf_ptr(&b), "\"tokens\":{\"in\":80,\"out\":20,\"input\":10,\"output\":20");
	CHECK_CONTAINS(buf_ptr(&b), "\"models\":{\"claude-x\":");
	CHECK_CONTAINS(buf_ptr(&b), "\"poll\":{\"enabled\":true}");
	CHECK_CONTAINS(buf_ptr(&b), "\"rollovers\":0,\"kind\":\"session\",\"group\":\"session\",\"severity\":null,"
				    "\"is_active\":null,\"scope\":null,\"scope_source\":\"all\"}");
	/* limits[] windows: their kind, group, severity, is_active and scope, unknown values included. */
	const char *poll = "{\"limits\":[{\"kind\":\"weekly_scoped\",\"group\":\"weekly\",\"percent\":81,"
			   "\"severity\":\"critical\",\"is_active\":true,"
			   "\"scope\":{\"model\":{\"display_name\":\"Opus\"}}},"
			   "{\"kind\":\"fortnightly\",\"percent\":4,\"severity\":\"meh\",\"is_active\":false}]}";
	CHECK_INT(tracker_apply_poll(&t, poll, strlen(poll), 2000), 0);
	buf_reset(&b);
	CHECK_INT(tracker_render_json(&t, &b, 3000, NULL), 0);
	buf_append(&b, "", 1);
	CHECK_CONTAINS(buf_ptr(&b), "\"7d_opus\":{\"utilization_percent\":81,");
	CHECK_CONTAINS(buf_ptr(&b), "\"kind\":\"weekly_scoped\",\"group\":\"weekly\",\"severity\":\"critical\","
				    "\"is_active\":true,\"scope\":\"opus\",\"scope_source\":\"limits\"}");
	CHECK_CONTAINS(buf_ptr(&b), "\"fortnightly\":{\"utilization_percent\":4,");
	CHECK_CONTAINS(buf_ptr(&b), "\"kind\":\"fortnightly\",\"group\":null,\"severity\":\"meh\","
				    "\"is_active\":false,\"scope\":null,\"scope_source\":null}");
	buf_reset(&b);
	CHECK_INT(tracker_save_json(&t, &b), 0);
	struct tracker u;
	tracker_init(&u, 0.8);
	CHECK_INT(tracker_load_json(&u, buf_ptr(&b), buf_size(&b), 5000 * 1000), 0);
	CHECK_INT(u.n, 1); /* 7d reset at 1000 s already passed at load: dropped */
	CHECK_INT(tracker_window(&u, "5h")->tokens.cache_read, 40);
	CHECK_INT(tracker_window(&u, "5h")->resets_at, 2000000000);
	CHECK_INT(tracker_load_json(&u, "{\"windows\":3}", 13, 0), -1);
	/* A reset beyond any real one (a hand-edited or damaged file) is not taken: later arithmetic on it would overflow. */
	struct tracker v;
	tracker_init(&v, 0.8);
	const char *absurd = "{\"windows\":[{\"name\":\"5h\",\"resets_at\":9223372036854775000,\"tokens\":{\"input\":1}}]}";
	CHECK_INT(tracker_load_json(&v, absurd, strlen(absurd), 5000 * 1000), 0);
	CHECK_INT(v.n, 0);
	buf_free(&b);
}

TEST(test_tracker_parse_time)
{
	CHECK_INT(tracker_parse_time("2026-01-02T19:59:59.600956+00:00"), 1767383999);
	CHECK_INT(tracker_parse_time("2026-01-02T19:59:59Z"), 1767383999);
	CHECK_INT(tracker_parse_time("2026-01-02T21:59:59+02:00"), 1767383999);
	CHECK_INT(tracker_parse_time("2026-01-02"), -1);
	CHECK_INT(tracker_parse_time("2026-13-02T19:59:59Z"), -1);
	CHECK_INT(tracker_parse_time("2026-01-02T19:59:59+0"), -1);
	CHECK_INT(tracker_parse_time("2026-01-02T19:59:59+0:00"), -1);
	CHECK_INT(tracker_parse_time("2026-01-02T19:59:59+00:0"), -1);
	CHECK_INT(tracker_parse_time("2026-01-02T19:59:59+99:00"), -1);
}

TEST(test_tracker_burn_rate_and_projection)
{
	struct tracker t;
	tracker_init(&t, 0.99);
	int64_t t0 = 1800000000000LL;
	char v[32];
	/* Reset 4 h ahead; 10% per 30 min → 20%/h: from 10% exhaustion comes in 4.5 h, after the reset. */
	snprintf(v, sizeof v, "%lld", (long long)(t0 / 1000 + 4 * 3600));
	H(&t, "anthropic-ratelimit-unified-5h-reset", v, t0);
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.10", t0);
	struct tracker_window *w = tracker_window(&t, "5h");
	double rate;
	int64_t at;
	CHECK_INT(tracker_burn_rate(w, t0, &rate), -1); /* one sample: unknown */
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.12", t0 + 10000); /* within 30 s: replaces */
	CHECK_INT(w->n_samples, 1);
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.20", t0 + 1800 * 1000);
	CHECK_INT(tracker_burn_rate(w, t0 + 1800 * 1000, &rate), 0);
	CHECK(rate > 0.159 && rate < 0.161); /* (0.20 - 0.12) / 0.5 h */
	CHECK_INT(tracker_projected_exhaustion(w, t0 + 1800 * 1000, &at), -1); /* 5 h more: after the reset */
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.80", t0 + 3600 * 1000);
	CHECK_INT(tracker_burn_rate(w, t0 + 3600 * 1000, &rate), 0);
	CHECK_INT(tracker_projected_exhaustion(w, t0 + 3600 * 1000, &at), 0);
	CHECK(at > t0 / 1000 + 3600 && at < t0 / 1000 + 4 * 3600);
	/* A rate too small to matter projects nothing (the seconds it gives do not fit in an integer). */
	struct tracker u;
	tracker_init(&u, 0.99);
	H(&u, "anthropic-ratelimit-unified-5h-utilization", "0.1", t0);
	H(&u, "anthropic-ratelimit-unified-5h-utilization", "0.10000000000000002", t0 + 1800 * 1000);
	w = tracker_window(&u, "5h");
	CHECK_INT(tracker_burn_rate(w, t0 + 1800 * 1000, &rate), 0);
	CHECK(rate > 0 && rate < 1e-15);
	CHECK_INT(tracker_projected_exhaustion(w, t0 + 1800 * 1000, &at), -1);
}

/* The spend object is read forgivingly: flags and currency when given, every numeric field by name (one nested level
 * flattened), nulls and other types skipped; a later poll with the object replaces it, one without it keeps it. */
TEST(test_tracker_poll_spend_forgiving)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	int64_t now = 1795690000000LL;
	struct buf b;
	buf_init(&b, 0);
	const char *p1 = "{\"five_hour\":{\"utilization\":10,\"resets_at\":null},\"spend\":{\"is_enabled\":true,"
			 "\"used_credits\":123456,\"monthly_limit\":500000,\"currency\":\"EUR\",\"Weird Key\":2.5,"
			 "\"note\":\"x\",\"resets_at\":null,\"period\":{\"days\":30,\"name\":\"m\"},\"neg\":-1}}";
	CHECK_INT(tracker_apply_poll(&t, p1, strlen(p1), now), 0);
	CHECK_INT(t.spend.seen, 1);
	CHECK_INT(t.spend.enabled, 1);
	CHECK_STR(t.spend.currency, "EUR");
	CHECK_INT(t.spend.n, 4);
	CHECK(tracker_spend_get(&t.spend, "used_credits")->value == 123456);
	CHECK(tracker_spend_get(&t.spend, "weird_key")->value == 2.5);
	CHECK(tracker_spend_get(&t.spend, "period_days")->value == 30);
	CHECK(tracker_spend_get(&t.spend, "neg") == NULL);
	CHECK_INT(tracker_render_json(&t, &b, now, NULL), 0);
	buf_append(&b, "", 1);
	CHECK_CONTAINS(buf_ptr(&b), "\"spend\":{\"is_enabled\":true,\"currency\":\"EUR\",\"used_credits\":123456,"
				    "\"monthly_limit\":500000,\"weird_key\":2.5,\"period_days\":30}");
	/* A poll without spend keeps it; one with a sparse spend replaces it. */
	const char *p2 = "{\"five_hour\":{\"utilization\":11,\"resets_at\":null}}";
	CHECK_INT(tracker_apply_poll(&t, p2, strlen(p2), now), 0);
	CHECK_INT(t.spend.n, 4);
	const char *p3 = "{\"spend\":{\"used_credits\":7}}";
	CHECK_INT(tracker_apply_poll(&t, p3, strlen(p3), now), 0);
	CHECK_INT(t.spend.n, 1);
	CHECK_INT(t.spend.enabled, -1);
	buf_reset(&b);
	CHECK_INT(tracker_render_json(&t, &b, now, NULL), 0);
	buf_append(&b, "", 1);
	CHECK_CONTAINS(buf_ptr(&b), "\"spend\":{\"is_enabled\":null,\"currency\":null,\"used_credits\":7,"
				    "\"monthly_limit\":null}");
	/* More fields than kept: the first TRACKER_SPEND_FIELDS, no overflow. */
	char big[2048] = "{\"spend\":{";
	for (int i = 0; i < 40; i++)
		snprintf(big + strlen(big), sizeof big - strlen(big), "%s\"f%d\":%d", i ? "," : "", i, i);
	strcat(big, "}}");
	CHECK_INT(tracker_apply_poll(&t, big, strlen(big), now), 0);
	CHECK_INT(t.spend.n, TRACKER_SPEND_FIELDS);
	/* Never seen: null. */
	tracker_init(&t, 0.8);
	buf_reset(&b);
	CHECK_INT(tracker_render_json(&t, &b, now, NULL), 0);
	buf_append(&b, "", 1);
	CHECK_CONTAINS(buf_ptr(&b), "\"spend\":null");
	buf_free(&b);
}

/* Per-window -status and -surpassed-threshold headers show in /usage; a window that resets on schedule forgets
 * them with its utilization. */
TEST(test_tracker_window_status_and_threshold)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	int64_t now = 1795690000000LL;
	H(&t, "anthropic-ratelimit-unified-5h-utilization", "0.81", now);
	H(&t, "anthropic-ratelimit-unified-5h-status", "allowed_warning", now);
	H(&t, "anthropic-ratelimit-unified-5h-surpassed-threshold", "0.75", now);
	H(&t, "anthropic-ratelimit-unified-5h-reset", "1795690100", now);
	struct buf b;
	buf_init(&b, 0);
	CHECK_INT(tracker_render_json(&t, &b, now, NULL), 0);
	buf_append(&b, "", 1);
	CHECK_CONTAINS(buf_ptr(&b), "\"status\":\"allowed_warning\",\"surpassed_threshold_percent\":75,");
	tracker_record(&t, "claude-opus-4-1", 1, 1, 0, 0, 1795690200000LL);
	struct tracker_window *w = tracker_window(&t, "5h");
	CHECK_INT(w->status, TRACKER_STATUS_UNKNOWN);
	CHECK(w->surpassed_threshold < 0);
	buf_free(&b);
}
