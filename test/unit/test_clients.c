#include "clients.h"
#include "json.h"
#include "router.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>

#define NOW_S 1800000000LL
#define NOW_MS (NOW_S * 1000)

static struct clients CL; /* large: off the stack */

static int parse(const char *text, struct clients_def *defs, char *err)
{
	return clients_parse(text, strlen(text), "/etc/clients", defs, 16, err, 300);
}

TEST(test_clients_file_parse)
{
	struct clients_def d[16];
	char err[300];
	CHECK_INT(parse("# programs of mine\n\n  batch-agent sk-proxy-4f9c0001 5h=30% 7d=25\n"
			"ide   sk-proxy-ide-0001\toverage=allow 7d_opus=12.5%\r\n",
			d, err),
		  2);
	CHECK_STR(d[0].name, "batch-agent");
	CHECK_STR(d[0].key, "sk-proxy-4f9c0001");
	CHECK_INT(d[0].n_budgets, 2);
	CHECK_STR(d[0].budgets[0].window, "5h");
	CHECK(fabs(d[0].budgets[0].share - 0.30) < 1e-12);
	CHECK(fabs(d[0].budgets[1].share - 0.25) < 1e-12);
	CHECK_INT(d[0].overage, 0);
	CHECK_STR(d[1].name, "ide");
	CHECK_INT(d[1].overage, 1);
	CHECK_STR(d[1].budgets[0].window, "7d_opus");
	CHECK(fabs(d[1].budgets[0].share - 0.125) < 1e-12);
	CHECK_INT(parse("", d, err), 0);
	/* Each problem: one line naming the file and the line. */
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"ok sk-proxy-00000001\nBad sk-proxy-00000002\n", "/etc/clients:2: the client name (first column) is not"},
		{"Sk-Proxy-0000003 team-a\n", "/etc/clients:1: the client name (first column) is not"},
		{"a sk-proxy-00000001\n\nb short\n", "/etc/clients:3: client 'b': a key is 8 to 256"},
		{"a\n", "/etc/clients:1: expected NAME KEY"},
		{"a sk-proxy-00000001 5h=0%\n", "/etc/clients:1: budget '5h=0%'"},
		{"a sk-proxy-00000001 5h=101%\n", "/etc/clients:1: budget"},
		{"a sk-proxy-00000001 5h=abc\n", "/etc/clients:1: budget"},
		{"a sk-proxy-00000001 5H=3%\n", "/etc/clients:1: window name '5H'"},
		{"a sk-proxy-00000001 5h\n", "/etc/clients:1: option '5h'"},
		{"a sk-proxy-00000001 overage=yes\n", "/etc/clients:1: overage takes only 'allow'"},
		{"a sk-proxy-00000001 5h=3 5h=4\n", "/etc/clients:1: window '5h' given twice"},
		{"a sk-proxy-00000001\na sk-proxy-00000002\n", "/etc/clients:2: client 'a' named twice"},
		{"a sk-proxy-00000001\nb sk-proxy-00000001\n", "/etc/clients:2: client 'b' has the key of client 'a'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		CHECK_INT(parse(bad[i].text, d, err), -1);
		CHECK_CONTAINS(err, bad[i].want);
		CHECK(!strstr(err, "sk-proxy") && !strstr(err, "Sk-Proxy")); /* keys never echoed */
	}
}

TEST(test_clients_table_keys_and_reload)
{
	clients_init(&CL, 1);
	char name[16], err[300];
	clients_key_name("legacy-key-0001", name, sizeof name);
	CHECK(strncmp(name, "key-", 4) == 0 && strlen(name) == 12);
	CHECK_INT(clients_add_key(&CL, "legacy-key-0001"), 0);
	struct clients_def d[16];
	CHECK_INT(parse("alpha sk-proxy-alpha1 5h=30%\nbeta sk-proxy-beta01\n", d, err), 2);
	CHECK_INT(clients_apply(&CL, d, 2, err, sizeof err), 0);
	CHECK_INT(CL.n_keys, 3);
	CHECK_INT(clients_match(&CL, "sk-proxy-beta01", 15), 2);
	CHECK_INT(clients_match(&CL, "legacy-key-0001", 15), 0);
	CHECK_INT(clients_match(&CL, "sk-proxy-beta0", 14), -1);
	CHECK_INT(clients_match(&CL, "sk-proxy-beta011", 16), -1);
	CL.e[1].def.budgets[0].refusals = 7;
	/* Reload: beta goes, gamma comes, alpha keeps its slot and its refusal count. */
	CHECK_INT(parse("gamma sk-proxy-gamma1\nalpha sk-proxy-alpha2 5h=40% 7d=10%\n", d, err), 2);
	CHECK_INT(clients_apply(&CL, d, 2, err, sizeof err), 0);
	CHECK_INT(CL.n_keys, 3);
	CHECK_INT(clients_match(&CL, "sk-proxy-beta01", 15), -1);
	CHECK_INT(clients_match(&CL, "sk-proxy-alpha1", 15), -1);
	CHECK_INT(clients_match(&CL, "sk-proxy-alpha2", 15), 1);
	CHECK_INT(clients_match(&CL, "sk-proxy-gamma1", 15), 3);
	CHECK_INT((int)CL.e[1].def.budgets[0].refusals, 7);
	CHECK(fabs(CL.e[1].def.budgets[0].share - 0.40) < 1e-12);
	/* A file client with a --client-key key's key is refused, and nothing changes. */
	CHECK_INT(parse("delta legacy-key-0001\n", d, err), 1);
	CHECK_INT(clients_apply(&CL, d, 1, err, sizeof err), -1);
	CHECK_CONTAINS(err, "--client-key");
	CHECK_INT(clients_match(&CL, "sk-proxy-gamma1", 15), 3);
	/* overage=allow matters only for file clients, and only with --allow-overage. */
	CHECK_INT(clients_allow_overage(&CL, 0, 1), 1);
	CHECK_INT(clients_allow_overage(&CL, 3, 1), 0);
	CHECK_INT(clients_allow_overage(&CL, -1, 1), 1);
	CHECK_INT(clients_allow_overage(&CL, -1, 0), 0);
	clients_free(&CL);
}

static void window(struct tracker *t, const char *name, double util, int64_t reset_in_s)
{
	struct tracker_window *w = &t->w[t->n++];
	memset(w, 0, sizeof *w);
	snprintf(w->name, sizeof w->name, "%s", name);
	w->utilization = util;
	w->resets_at = NOW_S + reset_in_s;
	w->surpassed_threshold = -1;
	if (strncmp(name, "7d_", 3) == 0) { /* a per-model bucket's scope, as the tracker names it */
		snprintf(w->scope, sizeof w->scope, "%s", name + 3);
		w->scope_src = TRACKER_SCOPE_NAME;
	}
}

TEST(test_clients_attribution_weights_and_pool)
{
	/* The weights are the API's relative prices. */
	struct tracker_tokens k = {.input = 100, .output = 10, .cache_creation = 40, .cache_read = 1000};
	CHECK(fabs(clients_weighted(&k) - (100 + 50 + 50 + 100)) < 1e-9);

	clients_init(&CL, 2);
	struct clients_def d[16];
	char err[300];
	CHECK_INT(parse("a sk-proxy-aaaaaa 5h=30%\nb sk-proxy-bbbbbb\n", d, err), 2);
	CHECK_INT(clients_apply(&CL, d, 2, err, sizeof err), 0);
	static struct tracker t0, t1;
	tracker_init(&t0, 0.8);
	tracker_init(&t1, 0.8);
	window(&t0, "5h", 0.40, 3600);
	window(&t0, "7d_opus", 0.10, 86400);
	window(&t1, "5h", 0.20, 1800);
	const struct tracker *ts[2] = {&t0, &t1};
	/* Account 0: a sends 1000 input (weight 1000), b sends 100 output (weight 500); an unnamed request 500. */
	tracker_record(&t0, "claude-sonnet-4-5", 1000, 0, 0, 0, NOW_MS);
	clients_record(&CL, 0, 0, &t0, "claude-sonnet-4-5", 1000, 0, 0, 0, NOW_MS);
	tracker_record(&t0, "claude-sonnet-4-5", 0, 100, 0, 0, NOW_MS);
	clients_record(&CL, 1, 0, &t0, "claude-sonnet-4-5", 0, 100, 0, 0, NOW_MS);
	tracker_record(&t0, "claude-sonnet-4-5", 500, 0, -1, -1, NOW_MS);
	CHECK(fabs(clients_share(&CL, 0, 0, &t0, 0) - 0.5) < 1e-9);
	CHECK(fabs(clients_share(&CL, 1, 0, &t0, 0) - 0.25) < 1e-9);
	/* The Sonnet answers do not count in 7d_opus. */
	CHECK_INT(clients_window_tokens(&CL, 0, 0, &t0, 1)->requests, 0);
	/* Account 1: only a. */
	tracker_record(&t1, "claude-sonnet-4-5", 10, 0, 0, 0, NOW_MS);
	clients_record(&CL, 0, 1, &t1, "claude-sonnet-4-5", 10, 0, 0, 0, NOW_MS);
	struct clients_attribution at;
	clients_attribute(&CL, 0, ts, 2, "5h", NOW_MS, &at);
	/* (0.40 * 0.5 + 0.20 * 1) / 2 accounts = 0.20 of the pool. */
	CHECK(fabs(at.utilization - 0.20) < 1e-9);
	CHECK_INT(at.accounts, 2);
	CHECK_INT(at.tokens.input, 1010);
	CHECK_INT(at.resets_at, NOW_S + 1800);
	clients_attribute(&CL, 1, ts, 2, "5h", NOW_MS, &at);
	CHECK(fabs(at.utilization - 0.05) < 1e-9);
	CHECK_INT(at.resets_at, NOW_S + 3600);
	/* a's budget is 30%: within it at 20%; at 30% it is spent. */
	struct clients_verdict v;
	CHECK_INT(clients_over_budget(&CL, 0, ts, 2, "claude-sonnet-4-5", NOW_MS, &v), 0);
	t1.w[0].utilization = 0.40; /* (0.20 + 0.40) / 2 = 0.30 */
	CHECK_INT(clients_over_budget(&CL, 0, ts, 2, "claude-sonnet-4-5", NOW_MS, &v), 1);
	CHECK_INT(v.budget, 0);
	CHECK(fabs(v.used - 0.30) < 1e-9);
	CHECK_INT(v.resets_at, NOW_S + 1800);
	CHECK_INT(clients_over_budget(&CL, 1, ts, 2, "claude-sonnet-4-5", NOW_MS, &v), 0);
	/* The window rolls over (its reset moved on): the client's slot counts zero, the share with it. */
	tracker_apply_header(&t1, "anthropic-ratelimit-unified-5h-reset", 36, "1800020000", 10, NOW_MS);
	CHECK_INT(t1.w[0].rollovers, 1);
	CHECK_INT(clients_window_tokens(&CL, 0, 1, &t1, 0)->input, 0);
	CHECK(clients_share(&CL, 0, 1, &t1, 0) == 0);
	CHECK_INT(clients_over_budget(&CL, 0, ts, 2, "claude-sonnet-4-5", NOW_MS, &v), 0);
	/* A period whose reset passed counts nothing. */
	clients_attribute(&CL, 0, ts, 2, "5h", (NOW_S + 3600) * 1000, &at);
	CHECK_INT(at.tokens.input, 0);
	clients_free(&CL);
}

TEST(test_clients_all_named_traffic_sums_to_the_window)
{
	clients_init(&CL, 1);
	struct clients_def d[16];
	char err[300];
	CHECK_INT(parse("a sk-proxy-aaaaaa\nb sk-proxy-bbbbbb\nc sk-proxy-cccccc\n", d, err), 3);
	CHECK_INT(clients_apply(&CL, d, 3, err, sizeof err), 0);
	static struct tracker t;
	tracker_init(&t, 0.8);
	window(&t, "5h", 0.37, 3600);
	const struct tracker *ts[1] = {&t};
	int64_t seq[][4] = {{120, 33, 0, 5000}, {7, 900, 4000, 0}, {1, 1, 1, 1}, {300, 0, 0, 0}, {0, 20, 0, 2000}};
	for (int i = 0; i < 5; i++) {
		tracker_record(&t, "claude-haiku-4-5", seq[i][0], seq[i][1], seq[i][2], seq[i][3], NOW_MS);
		clients_record(&CL, i % 3, 0, &t, "claude-haiku-4-5", seq[i][0], seq[i][1], seq[i][2], seq[i][3], NOW_MS);
	}
	double sum = 0;
	for (int c = 0; c < 3; c++) {
		struct clients_attribution at;
		clients_attribute(&CL, c, ts, 1, "5h", NOW_MS, &at);
		sum += at.utilization;
	}
	CHECK(fabs(sum - 0.37) < 1e-9);
	clients_free(&CL);
}

TEST(test_clients_state_round_trip)
{
	clients_init(&CL, 2);
	struct clients_def d[16];
	char err[300];
	CHECK_INT(parse("a sk-proxy-aaaaaa\n", d, err), 1);
	CHECK_INT(clients_apply(&CL, d, 1, err, sizeof err), 0);
	static struct tracker t0, t1;
	tracker_init(&t0, 0.8);
	tracker_init(&t1, 0.8);
	window(&t0, "5h", 0.4, 3600);
	window(&t1, "5h", 0.4, 3600);
	const struct tracker *ts[2] = {&t0, &t1};
	const char *names[2] = {"one", "two"};
	tracker_record(&t1, "m", 11, 22, 33, 44, NOW_MS);
	clients_record(&CL, 0, 1, &t1, "m", 11, 22, 33, 44, NOW_MS);
	struct buf b;
	buf_init(&b, 0);
	CHECK_INT(clients_save_json(&CL, ts, names, &b), 0);
	buf_append(&b, "", 1);
	CHECK_CONTAINS(buf_ptr(&b), "\"a\":[{\"account\":\"two\",\"window\":\"5h\"");
	clients_free(&CL);
	/* A fresh start: the trackers come back with rollovers 0 and a reset a second off. */
	clients_init(&CL, 2);
	CHECK_INT(clients_apply(&CL, d, 1, err, sizeof err), 0);
	static struct tracker u0, u1;
	tracker_init(&u0, 0.8);
	tracker_init(&u1, 0.8);
	window(&u0, "5h", 0.4, 3600);
	window(&u1, "5h", 0.4, 3601);
	const struct tracker *us[2] = {&u0, &u1};
	yajl_val root = json_parse(buf_ptr(&b), buf_size(&b) - 1);
	clients_load_value(&CL, root, us, names, 2);
	yajl_tree_free(root);
	const struct tracker_tokens *k = clients_window_tokens(&CL, 0, 1, &u1, 0);
	CHECK_INT(k->input, 11);
	CHECK_INT(k->output, 22);
	CHECK_INT(k->cache_creation, 33);
	CHECK_INT(k->cache_read, 44);
	CHECK_INT(k->requests, 1);
	/* Another period (reset moved by an hour): not loaded. */
	clients_free(&CL);
	clients_init(&CL, 2);
	CHECK_INT(clients_apply(&CL, d, 1, err, sizeof err), 0);
	u1.w[0].resets_at += 3600;
	root = json_parse(buf_ptr(&b), buf_size(&b) - 1);
	clients_load_value(&CL, root, us, names, 2);
	yajl_tree_free(root);
	CHECK_INT(clients_window_tokens(&CL, 0, 1, &u1, 0)->input, 0);
	buf_free(&b);
	clients_free(&CL);
}
