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
	CHECK(tracker_window(&t, "7d")->utilization == 0.125);
	CHECK_INT(t.n, 2);
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
	buf_reset(&b);
	CHECK_INT(tracker_save_json(&t, &b), 0);
	struct tracker u;
	tracker_init(&u, 0.8);
	CHECK_INT(tracker_load_json(&u, buf_ptr(&b), buf_size(&b), 5000 * 1000), 0);
	CHECK_INT(u.n, 1); /* 7d reset at 1000 s already passed at load: dropped */
	CHECK_INT(tracker_window(&u, "5h")->tokens.cache_read, 40);
	CHECK_INT(tracker_window(&u, "5h")->resets_at, 2000000000);
	CHECK_INT(tracker_load_json(&u, "{\"windows\":3}", 13, 0), -1);
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
}
