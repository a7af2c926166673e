#include "status.h"
#include "unit.h"

#include <string.h>

static const char one[] =
	"{\"windows\":{\"5h\":{\"utilization_percent\":42,\"resets_at_unix\":1000000000,\"status\":\"allowed\","
	"\"tokens\":{\"in\":3097,\"out\":12,\"requests\":1}},"
	"\"7d_opus\":{\"utilization_percent\":null,\"resets_at_unix\":null,\"status\":\"rejected\"}},"
	"\"login\":{\"ready\":true,\"reason\":null},"
	"\"accounts\":{\"default\":{\"windows\":{},\"login\":{\"ready\":true,\"reason\":null}}},\"clients\":{}}";

static const char two[] =
	"{\"windows\":{},\"login\":{\"ready\":false,\"reason\":\"no credentials\"},"
	"\"accounts\":{\"a\":{\"windows\":{\"5h\":{\"utilization_percent\":100,\"resets_at_unix\":999999000}},"
	"\"login\":{\"ready\":false,\"reason\":\"no credentials\"},\"routing\":{\"usable\":false,\"block\":\"no_login\"}},"
	"\"b\":{\"windows\":{\"5h\":{\"utilization_percent\":5,\"resets_at_unix\":1000200000}},"
	"\"login\":{\"ready\":true},\"routing\":{\"usable\":true,\"block\":\"ok\"}}},"
	"\"clients\":{\"batch\":{\"requests\":3,\"windows\":{\"5h\":{\"attributed_utilization_percent\":12.5,"
	"\"budget_percent\":20,\"tokens\":{\"in\":2500000,\"out\":900}}}},\"ide\":{\"requests\":1,\"windows\":{}}}}";

TEST(test_status_render)
{
	struct buf out;
	int ready = -1;
	const long long now = 1000000000 - 2 * 3600 - 13 * 60;
	buf_init(&out, 0);
	CHECK_INT(status_render(one, strlen(one), now, &out, &ready), 0);
	buf_append(&out, "", 1);
	CHECK_INT(ready, 1);
	CHECK_CONTAINS(buf_ptr(&out), "ready\n5h      [########............]   42%  resets in 2h13m");
	CHECK_CONTAINS(buf_ptr(&out), "tokens 3.1k in, 12 out, 1 request\n");
	CHECK_CONTAINS(buf_ptr(&out), "7d_opus [????????????????????]     ?  resets unknown");
	CHECK_CONTAINS(buf_ptr(&out), "(rejected)\n");
	CHECK(!strstr(buf_ptr(&out), "account"));
	buf_free(&out);

	buf_init(&out, 0);
	CHECK_INT(status_render(two, strlen(two), 1000000000, &out, &ready), 0);
	buf_append(&out, "", 1);
	CHECK_INT(ready, 1); /* one account of two can sign */
	CHECK_CONTAINS(buf_ptr(&out), "ready: 1 of 2 accounts can sign requests\n");
	CHECK_CONTAINS(buf_ptr(&out), "account a: not ready: no credentials; not used now (no_login)\n"
				      "  5h  [####################]  100%  resets now");
	CHECK_CONTAINS(buf_ptr(&out), "account b: ready\n  5h  [#...................]    5%  resets in 2d7h");
	CHECK_CONTAINS(buf_ptr(&out), "clients:\n  batch: 3 requests\n    5h  [###.................] 12.5% of the "
				      "window, budget 20%  tokens 2.5M in, 900 out\n  ide: 1 request\n");
	buf_free(&out);

	buf_init(&out, 0);
	CHECK_INT(status_render("{\"x\":1}", 7, 0, &out, &ready), -1);
	CHECK_INT(status_render("<html>", 6, 0, &out, &ready), -1);
	buf_free(&out);
}

/* What a hostile or broken server may answer: names with escape sequences reach the terminal as '?', values past any
 * sense (a reset in year 300 billion, a percentage of 1e308) print as unknown without overflowing a cast, and a
 * document nested past JSON_DEPTH_MAX is refused (yajl frees trees recursively: depth would be stack). */
TEST(test_status_render_hostile_answers)
{
	static const char esc[] =
		"{\"windows\":{\"5h\\u001b]0;T\\u0007\\u001b[2J\":{\"utilization_percent\":1e308,"
		"\"resets_at_unix\":9.3e18,\"status\":\"x\\u001b[31m\\u009b1m\"}},"
		"\"login\":{\"ready\":false,\"reason\":\"bad\\rline\"}}";
	struct buf out;
	int ready = -1;
	buf_init(&out, 0);
	CHECK_INT(status_render(esc, strlen(esc), 1000000000, &out, &ready), 0);
	buf_append(&out, "", 1);
	CHECK_INT(ready, 0);
	CHECK(!strchr(buf_ptr(&out), '\x1b') && !strchr(buf_ptr(&out), '\a') && !strchr(buf_ptr(&out), '\r'));
	CHECK(!strstr(buf_ptr(&out), "\xc2\x9b"));
	CHECK_CONTAINS(buf_ptr(&out), "not ready: bad?line\n");
	CHECK_CONTAINS(buf_ptr(&out), "5h?]0;T??[2J [####################]  ???%  resets unknown");
	CHECK_CONTAINS(buf_ptr(&out), "(x?[31m??1m)");
	buf_free(&out);

	char deep[2 * 1000 + 64];
	size_t n = (size_t)snprintf(deep, sizeof deep, "{\"windows\":{},\"x\":");
	for (int i = 0; i < 500; i++)
		deep[n++] = '[';
	for (int i = 0; i < 500; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	buf_init(&out, 0);
	CHECK_INT(status_render(deep, n, 0, &out, &ready), -1);
	buf_free(&out);
}
