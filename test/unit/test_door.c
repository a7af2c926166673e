#include "door.h"
#include "unit.h"

#include <llhttp.h>
#include <string.h>

static int loop(const char *h) { return door_host_is_loopback(h, strlen(h)); }
static int normal(const char *p) { return http_path_normal(p, strlen(p)); }

TEST(test_door_loopback_hosts)
{
	const char *yes[] = {"localhost", "LOCALHOST", "localhost.", "localhost:8080", "localhost.:1", "localhost:",
			     "127.0.0.1", "127.255.0.9:65535", "[::1]", "[::1]:8080"};
	const char *no[] = {"", "evil.example", "localhost.evil.example", "127.0.0.1.evil.example", "localhostx",
			    "127.0.0.01", "127.1", "127.0.0.256", "127.0.0.1.", "[::2]", "[::1].x", "::1",
			    "localhost:80x", "localhost:123456", "10.0.0.1", "[::1]:x", "127.0.0.1:8080:1"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (!loop(yes[i]))
			FAIL_AT("'%s' should be loopback", yes[i]);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (loop(no[i]))
			FAIL_AT("'%s' should not be loopback", no[i]);
}

TEST(test_door_path_normal_form)
{
	const char *yes[] = {"/", "/v1/", "/v1/messages", "/v1/models/claude-x", "/a.b/c..d/.e", "/v1/%41"};
	const char *no[] = {"", "v1", "//", "/v1//x", "/v1/./x", "/v1/../x", "/v1/..", "/v1/.", "/v1/%2e%2e/x",
			    "/v1/%2E", "/v1/a%2fb", "/v1/a%2Fb", "/v1/a%5cb", "/v1/a\\b", "/./"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (!normal(yes[i]))
			FAIL_AT("'%s' should be in normal form", yes[i]);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (normal(no[i]))
			FAIL_AT("'%s' should not be in normal form", no[i]);
}

static const struct clients *door_table; /* the client table door_check is given, or NULL */

static int admin_listener; /* verdict() asks door_check_admin (a request on --admin-listen's listener) */

static int verdict(const struct config *cfg, int method, const char *target, const char *headers[][2], int n,
		   struct door_verdict *v)
{
	struct http_hdrs h;
	http_hdrs_init(&h, 4096, 16);
	for (int i = 0; i < n; i++) {
		http_hdrs_field(&h, headers[i][0], strlen(headers[i][0]));
		http_hdrs_value(&h, headers[i][1], strlen(headers[i][1]));
		http_hdrs_value_done(&h);
	}
	if (admin_listener)
		door_check_admin(cfg, method, target, strlen(target), &h, v);
	else
		door_check(cfg, door_table, method, target, strlen(target), &h, v);
	http_hdrs_free(&h);
	return v->status;
}

TEST(test_door_decisions)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	strcpy(cfg.listen_host, "127.0.0.1");
	struct door_verdict v;
	const char *local[][2] = {{"Host", "localhost:8080"}};
	const char *foreign[][2] = {{"Host", "evil.example"}};
	const char *origin[][2] = {{"Host", "localhost"}, {"Origin", "https://evil.example"}};
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", local, 1, &v), 0);
	CHECK_INT(v.route, DOOR_API);
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", foreign, 1, &v), 403);
	CHECK_STR(v.kind, "host");
	CHECK_INT(verdict(&cfg, HTTP_GET, "/usage", foreign, 1, &v), 403);
	CHECK_INT(verdict(&cfg, HTTP_GET, "http://evil.example/v1/models", local, 1, &v), 403);
	CHECK_INT(verdict(&cfg, HTTP_GET, "http://localhost/v1/models", foreign, 1, &v), 0);
	CHECK_INT(verdict(&cfg, HTTP_GET, "/v1/models", NULL, 0, &v), 0); /* HTTP/1.0 without Host */
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", origin, 2, &v), 403);
	CHECK_STR(v.kind, "origin");
	cfg.allow_origins.v[cfg.allow_origins.n++] = "https://evil.example";
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", origin, 2, &v), 0);
	CHECK_INT(verdict(&cfg, HTTP_TRACE, "/v1/messages", local, 1, &v), 405);
	CHECK_STR(v.allow, DOOR_API_METHODS);
	CHECK_INT(verdict(&cfg, HTTP_POST, "/healthz", local, 1, &v), 405);
	CHECK_STR(v.allow, DOOR_ADMIN_METHODS);
	CHECK_INT(verdict(&cfg, HTTP_GET, "/metrics?x", local, 1, &v), 0);
	CHECK_INT(v.route, DOOR_ADMIN);
	CHECK_INT(verdict(&cfg, HTTP_GET, "/other", local, 1, &v), 404);
	CHECK_INT(verdict(&cfg, HTTP_GET, "/v1/../other", local, 1, &v), 400);
	CHECK_INT(verdict(&cfg, HTTP_GET, "*", local, 1, &v), 400);
	cfg.forward_prefixes.v[cfg.forward_prefixes.n++] = "/other";
	CHECK_INT(verdict(&cfg, HTTP_GET, "/other", local, 1, &v), 0);
	/* With client keys: Host is not checked, the key is, admin paths need none. */
	cfg.client_keys[cfg.n_client_keys++] = "the-key-123";
	const char *keyed[][2] = {{"Host", "proxy.internal"}, {"Authorization", "Bearer the-key-123"}};
	const char *wrong[][2] = {{"Host", "proxy.internal"}, {"x-api-key", "the-key-12"}};
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", keyed, 2, &v), 0);
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", wrong, 2, &v), 401);
	CHECK_INT(verdict(&cfg, HTTP_GET, "/healthz", wrong, 2, &v), 0);
}

/* A clients file's keys let requests in and say whose they are; cfg's keys are in the table too. */
TEST(test_door_names_the_client)
{
	static struct clients cl;
	clients_init(&cl, 1);
	CHECK_INT(clients_add_key(&cl, "legacy-key-0001"), 0);
	struct clients_def d[2];
	char err[200];
	const char *file = "alpha sk-proxy-alpha1\nbeta sk-proxy-beta01\n";
	CHECK_INT(clients_parse(file, strlen(file), "f", d, 2, err, sizeof err), 2);
	CHECK_INT(clients_apply(&cl, d, 2, err, sizeof err), 0);
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	strcpy(cfg.listen_host, "127.0.0.1");
	struct door_verdict v;
	door_table = &cl;
	const char *beta[][2] = {{"Host", "x.example"}, {"x-api-key", "sk-proxy-beta01"}};
	const char *legacy[][2] = {{"Authorization", "Bearer legacy-key-0001"}};
	const char *wrong[][2] = {{"x-api-key", "sk-proxy-beta02"}};
	const char *none[][2] = {{"Host", "localhost"}};
	/* Keys are set: a foreign Host is no longer refused, the key decides. */
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", beta, 2, &v), 0);
	CHECK_INT(v.client, 2);
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", legacy, 1, &v), 0);
	CHECK_INT(v.client, 0);
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", wrong, 1, &v), 401);
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", none, 1, &v), 401);
	/* No table: cfg's keys alone, and no key set means nobody in particular. */
	door_table = NULL;
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", none, 1, &v), 0);
	CHECK_INT(v.client, DOOR_NO_CLIENT);
	clients_free(&cl);
}

/* --admin-listen: the admin listener serves the admin paths without a key; the client listener keeps /healthz. */
TEST(test_door_admin_listener)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	strcpy(cfg.listen_host, "0.0.0.0");
	strcpy(cfg.admin_host, "127.0.0.1");
	cfg.admin_listen = "9090";
	cfg.client_keys[cfg.n_client_keys++] = "the-key-123";
	struct door_verdict v;
	const char *local[][2] = {{"Host", "127.0.0.1:9090"}};
	const char *foreign[][2] = {{"Host", "evil.example"}};
	const char *keyed[][2] = {{"Host", "proxy.internal"}, {"x-api-key", "the-key-123"}};
	const char *origin[][2] = {{"Host", "localhost"}, {"Origin", "https://evil.example"}};
	admin_listener = 1;
	const char *paths[] = {"/healthz", "/readyz", "/metrics", "/usage?x=1"};
	for (size_t i = 0; i < 4; i++) {
		CHECK_INT(verdict(&cfg, HTTP_GET, paths[i], local, 1, &v), 0);
		CHECK_INT(v.route, DOOR_ADMIN);
	}
	CHECK_INT(verdict(&cfg, HTTP_HEAD, "/metrics", NULL, 0, &v), 0);
	CHECK_INT(verdict(&cfg, HTTP_POST, "/usage", local, 1, &v), 405);
	CHECK_STR(v.allow, DOOR_ADMIN_METHODS);
	const char *local_keyed[][2] = {{"Host", "localhost"}, {"x-api-key", "the-key-123"}};
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", local_keyed, 2, &v), 404); /* not the API, key or not */
	CHECK_INT(verdict(&cfg, HTTP_GET, "/metrics", foreign, 1, &v), 403);   /* loopback: DNS rebinding */
	CHECK_STR(v.kind, "host");
	CHECK_INT(verdict(&cfg, HTTP_GET, "/metrics", origin, 2, &v), 403);
	CHECK_INT(verdict(&cfg, HTTP_GET, "/v1/../metrics", local, 1, &v), 400);
	strcpy(cfg.admin_host, "10.0.0.5"); /* beyond loopback: any Host */
	CHECK_INT(verdict(&cfg, HTTP_GET, "/metrics", foreign, 1, &v), 0);
	admin_listener = 0;
	/* The client listener: 404 for what moved, /healthz kept, the API as before. */
	const char *moved[] = {"/readyz", "/metrics", "/usage"};
	for (size_t i = 0; i < 3; i++) {
		CHECK_INT(verdict(&cfg, HTTP_GET, moved[i], keyed, 2, &v), 404);
		CHECK_STR(v.kind, "admin_path");
	}
	CHECK_INT(verdict(&cfg, HTTP_GET, "/healthz", foreign, 1, &v), 0);
	CHECK_INT(v.route, DOOR_ADMIN);
	CHECK_INT(verdict(&cfg, HTTP_POST, "/v1/messages", keyed, 2, &v), 0);
	CHECK_INT(v.route, DOOR_API);
	cfg.admin_listen = NULL;
	CHECK_INT(verdict(&cfg, HTTP_GET, "/usage", foreign, 1, &v), 0);
}
