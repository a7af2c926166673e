#include "unit.h"
#include "url.h"

struct url_case {
	const char *in;
	const char *err;       /* NULL: accepted */
	const char *scheme, *userinfo, *host;
	int port;
	const char *authority, *path;
};

static const struct url_case url_cases[] = {
	{"https://api.anthropic.com", NULL, "https", "", "api.anthropic.com", 443, "api.anthropic.com", ""},
	{"HTTPS://Example.com:8443/v1/oauth/token?x=1", NULL, "https", "", "Example.com", 8443, "Example.com:8443",
	 "/v1/oauth/token?x=1"},
	{"http://127.0.0.1:80/", NULL, "http", "", "127.0.0.1", 80, "127.0.0.1", "/"},
	{"https://[::1]:9443/p", NULL, "https", "", "::1", 9443, "[::1]:9443", "/p"},
	{"https://[::1]", NULL, "https", "", "::1", 443, "[::1]", ""},
	{"redis://user:p@ss@cache:6380/2", NULL, "redis", "user:p@ss", "cache", 6380, "cache:6380", "/2"},
	{"redis://:secret@127.0.0.1", NULL, "redis", ":secret", "127.0.0.1", 6379, "127.0.0.1", ""},
	{"unix:///run/redis.sock", "the URL names no host", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://h:99999", "the host or port is malformed", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://h:", "the host or port is malformed", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://h:8x", "the host or port is malformed", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://::1:443", "the host or port is malformed", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://[host]:443", "the host or port is malformed", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://[::1", "the host or port is malformed", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://", "the URL names no host", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://u@/x", "the URL names no host", NULL, NULL, NULL, 0, NULL, NULL},
	{"api.anthropic.com", "expected scheme://host", NULL, NULL, NULL, 0, NULL, NULL},
	{"1http://h", "expected scheme://host", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://h/a b", "a URL has no spaces or control characters", NULL, NULL, NULL, 0, NULL, NULL},
	{"https://h/\r\nX: y", "a URL has no spaces or control characters", NULL, NULL, NULL, 0, NULL, NULL},
};

TEST(test_url_parse_table)
{
	for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
		const struct url_case *k = &url_cases[i];
		struct url u;
		const char *err = url_parse(k->in, &u);
		if (k->err) {
			CHECK_STR(err, k->err);
			continue;
		}
		if (err)
			FAIL_AT("%s: %s", k->in, err);
		CHECK_STR(u.scheme, k->scheme);
		CHECK_STR(u.userinfo, k->userinfo);
		CHECK_STR(u.host, k->host);
		CHECK_INT(u.port, k->port);
		CHECK_STR(u.authority, k->authority);
		CHECK_STR(u.path, k->path);
	}
}

TEST(test_url_split_hostport)
{
	char host[64];
	int port = 0;
	CHECK_INT(url_split_hostport("127.0.0.1:8080", host, sizeof host, &port), 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_INT(port, 8080);
	CHECK_INT(url_split_hostport("[::1]:0", host, sizeof host, &port), 0);
	CHECK_STR(host, "::1");
	CHECK_INT(port, 0);
	CHECK_INT(url_split_hostport("localhost", host, sizeof host, &port), -1);
	CHECK_INT(url_split_hostport(":8080", host, sizeof host, &port), -1);
	CHECK_INT(url_split_hostport("::1:8080", host, sizeof host, &port), -1);
	CHECK_INT(url_split_hostport("h:65536", host, sizeof host, &port), -1);
}
