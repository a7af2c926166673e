#include "clients.h"
#include "redis.h"
#include "tracker.h"
#include "unit.h"

#include <string.h>

struct redis_case {
	const char *in;
	int ok;
	const char *host, *path, *user, *password;
	int port, db;
};

static const struct redis_case redis_cases[] = {
	{"redis://127.0.0.1:6379", 1, "127.0.0.1", "", "", "", 6379, 0},
	{"redis://cache", 1, "cache", "", "", "", 6379, 0},
	{"redis://cache:6380/2", 1, "cache", "", "", "", 6380, 2},
	{"redis://:s3cret@cache/0", 1, "cache", "", "", "s3cret", 6379, 0},
	{"redis://proxy:p%40ss@[::1]:7000/5", 1, "::1", "", "proxy", "p@ss", 7000, 5},
	{"redis://lonesecret@cache", 1, "cache", "", "", "lonesecret", 6379, 0},
	{"unix:///run/redis/redis.sock", 1, "", "/run/redis/redis.sock", "", "", 0, 0},
	{"unix:///run/redis.sock?db=3", 1, "", "/run/redis.sock", "", "", 0, 3},
	{"unix://relative.sock", 0, NULL, NULL, NULL, NULL, 0, 0},
	{"unix:///s.sock?x=1", 0, NULL, NULL, NULL, NULL, 0, 0},
	{"rediss://cache", 0, NULL, NULL, NULL, NULL, 0, 0},
	{"https://cache", 0, NULL, NULL, NULL, NULL, 0, 0},
	{"redis://cache/abc", 0, NULL, NULL, NULL, NULL, 0, 0},
	{"redis://cache:99999", 0, NULL, NULL, NULL, NULL, 0, 0},
	{"redis://:bad%zz@cache", 0, NULL, NULL, NULL, NULL, 0, 0},
	{"redis://", 0, NULL, NULL, NULL, NULL, 0, 0},
};

TEST(test_redis_url_table)
{
	for (size_t i = 0; i < sizeof redis_cases / sizeof redis_cases[0]; i++) {
		const struct redis_case *k = &redis_cases[i];
		struct redis_url u;
		char err[300] = "";
		int rc = redis_parse_url(k->in, &u, err, sizeof err);
		if (!k->ok) {
			if (rc == 0)
				FAIL_AT("%s: accepted", k->in);
			CHECK_CONTAINS(err, "invalid --redis");
			continue;
		}
		if (rc)
			FAIL_AT("%s: %s", k->in, err);
		CHECK_STR(u.host, k->host);
		CHECK_STR(u.path, k->path);
		CHECK_STR(u.user, k->user);
		CHECK_STR(u.password, k->password);
		CHECK_INT(u.port, k->port);
		CHECK_INT(u.db, k->db);
		char d[300];
		redis_url_describe(&u, d, sizeof d);
		if (k->password[0] && strstr(d, k->password))
			FAIL_AT("%s: the description shows the password: %s", k->in, d);
	}
}

/* Windows another replica saw: applied newest first, a rollover when the shared reset moved on. */
TEST(test_tracker_apply_shared_newest_first)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	int64_t now = 1800000000000LL, reset = now / 1000 + 3600;
	CHECK_INT(tracker_apply_shared(&t, "5h", 0.25, reset, TRACKER_ALLOWED, now - 1000, now), 1);
	CHECK_INT(t.n, 1);
	CHECK(t.w[0].utilization == 0.25);
	CHECK_INT(t.w[0].util_src, TRACKER_SRC_HEADER);
	CHECK_INT(t.w[0].resets_at, reset);
	/* older than what the window holds: ignored */
	CHECK_INT(tracker_apply_shared(&t, "5h", 0.10, reset, TRACKER_ALLOWED, now - 2000, now), 0);
	CHECK(t.w[0].utilization == 0.25);
	/* newer: taken, status too */
	CHECK_INT(tracker_apply_shared(&t, "5h", 0.99, reset, TRACKER_REJECTED, now, now), 1);
	CHECK(t.w[0].utilization == 0.99);
	CHECK_INT(t.w[0].status, TRACKER_REJECTED);
	/* the window's tokens and the other replicas' roll over together when the reset moves forward */
	tracker_record(&t, "claude-sonnet-4-5", 10, 20, 0, 0, now);
	t.w[0].others.input = 500;
	CHECK_INT(tracker_apply_shared(&t, "5h", 0.01, reset + 5 * 3600, TRACKER_ALLOWED, now + 1000, now + 1000), 1);
	CHECK_INT(t.w[0].tokens.input, 0);
	CHECK_INT(t.w[0].others.input, 0);
	CHECK_INT(t.w[0].rollovers, 1);
	/* garbage from the network is refused */
	CHECK_INT(tracker_apply_shared(&t, "5h", -1, reset, TRACKER_ALLOWED, now + 5000, now), 0);
	CHECK_INT(tracker_apply_shared(&t, "bad name!", 0.5, reset, TRACKER_ALLOWED, now + 5000, now), 0);
}

/* A budget's share counts the other replicas' tokens of the client and of the window. */
TEST(test_clients_share_counts_the_fleet)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	int64_t now = 1800000000000LL;
	const char h[] = "anthropic-ratelimit-unified-5h-utilization", r[] = "anthropic-ratelimit-unified-5h-reset";
	char reset[24];
	snprintf(reset, sizeof reset, "%lld", (long long)(now / 1000 + 3600));
	tracker_apply_header(&t, h, sizeof h - 1, "0.8", 3, now);
	tracker_apply_header(&t, r, sizeof r - 1, reset, strlen(reset), now);
	struct clients cl;
	clients_init(&cl, 1);
	CHECK_INT(clients_add_key(&cl, "sk-proxy-x-000001"), 0);
	/* alone on this replica: all of the window's tokens are its own */
	tracker_record(&t, "claude-sonnet-4-5", 100, 0, 0, 0, now);
	clients_record(&cl, 0, 0, &t, "claude-sonnet-4-5", 100, 0, 0, 0, now);
	CHECK(clients_share(&cl, 0, 0, &t, 0) > 0.999);
	/* the fleet: 900 more input tokens elsewhere, 100 of them this client's */
	t.w[0].others.input = 900;
	const struct tracker_tokens mine = {.input = 100, .requests = 1};
	clients_set_others(&cl, 0, 0, &t, 0, &mine);
	double s = clients_share(&cl, 0, 0, &t, 0);
	CHECK(s > 0.199 && s < 0.201);
	struct tracker_tokens ft = clients_fleet_tokens(&cl, 0, 0, &t, 0);
	CHECK_INT(ft.input, 200);
	CHECK_INT(ft.requests, 2);
	CHECK_INT(clients_window_tokens(&cl, 0, 0, &t, 0)->input, 100); /* this replica's own stays its own */
	clients_free(&cl);
}
