#include "config.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>

static enum config_result parse(struct config *c, char **argv, char **envp, char *err)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return config_parse(c, argc, argv, envp, err, 512);
}

TEST(test_config_defaults)
{
	struct config c;
	char err[512];
	char *argv[] = {"p", NULL};
	char *envp[] = {NULL};
	CHECK_INT(parse(&c, argv, envp, err), CONFIG_OK);
	CHECK_STR(c.listen_host, "127.0.0.1");
	CHECK_INT(c.listen_port, 8080);
	CHECK_STR(c.upstream_host, "api.anthropic.com");
	CHECK_INT(c.upstream_port, 443);
	CHECK_STR(c.upstream_authority, "api.anthropic.com");
	CHECK_INT(c.max_body_size, 32 * 1024 * 1024);
	CHECK_INT(c.log_json, 1);
	CHECK(c.credentials == NULL);
}

TEST(test_config_flags_win_over_env)
{
	struct config c;
	char err[512];
	char *argv[] = {"p", "--listen", "0.0.0.0:9000", "--log-format=text", "--connect-timeout", "500ms",
			"--client-key", "k-12345678", "--client-key=k-abcdefgh", NULL};
	char *envp[] = {"ANTHROPIC_PROXY_LISTEN=127.0.0.1:1", "ANTHROPIC_PROXY_MAX_BODY_SIZE=1k",
			"ANTHROPIC_PROXY_UPSTREAM=https://localhost:8443/", NULL};
	CHECK_INT(parse(&c, argv, envp, err), CONFIG_OK);
	CHECK_INT(c.listen_port, 9000);
	CHECK_INT(c.log_json, 0);
	CHECK_INT(c.connect_timeout_ms, 500);
	CHECK_INT(c.max_body_size, 1024);
	CHECK_STR(c.upstream_host, "localhost");
	CHECK_INT(c.upstream_port, 8443);
	CHECK_STR(c.upstream_authority, "localhost:8443");
	CHECK_INT(c.n_client_keys, 2);
	CHECK_STR(c.client_keys[1], "k-abcdefgh");
	/* Beyond loopback, no keys: refused, unless explicitly allowed. */
	char *a2[] = {"p", "--listen", "0.0.0.0:9000", NULL};
	CHECK_INT(parse(&c, a2, envp, err), CONFIG_ERROR);
	CHECK_CONTAINS(err, "--allow-unauthenticated");
	char *a3[] = {"p", "--listen", "0.0.0.0:9000", "--allow-unauthenticated", NULL};
	CHECK_INT(parse(&c, a3, envp, err), CONFIG_OK);
	char *a4[] = {"p", "--client-key", "short", NULL};
	CHECK_INT(parse(&c, a4, envp, err), CONFIG_ERROR);
}

TEST(test_config_errors_are_one_clear_line)
{
	struct config c;
	char err[512];
	char *envp[] = {NULL};
	char *a1[] = {"p", "--nope", NULL};
	CHECK_INT(parse(&c, a1, envp, err), CONFIG_ERROR);
	CHECK_CONTAINS(err, "unknown flag '--nope'");
	char *a2[] = {"p", "--listen", "8080", NULL};
	CHECK_INT(parse(&c, a2, envp, err), CONFIG_ERROR);
	CHECK_CONTAINS(err, "--listen");
	char *a3[] = {"p", "--upstream", "http://api.anthropic.com", NULL};
	CHECK_INT(parse(&c, a3, envp, err), CONFIG_ERROR);
	CHECK_CONTAINS(err, "https://");
	char *a4[] = {"p", "--log-level", "loud", NULL};
	CHECK_INT(parse(&c, a4, envp, err), CONFIG_ERROR);
	char *a5[] = {"p", "--max-body-size", "-5", NULL};
	CHECK_INT(parse(&c, a5, envp, err), CONFIG_ERROR);
	char *a6[] = {"p", "--listen", NULL};
	CHECK_INT(parse(&c, a6, envp, err), CONFIG_ERROR);
	CHECK_CONTAINS(err, "needs a value");
	char *a7[] = {"p", NULL};
	char *e7[] = {"ANTHROPIC_PROXY_HEADER_TIMEOUT=soon", NULL};
	CHECK_INT(parse(&c, a7, e7, err), CONFIG_ERROR);
	CHECK_CONTAINS(err, "ANTHROPIC_PROXY_HEADER_TIMEOUT");
	CHECK(strchr(err, '\n') == NULL);
}

TEST(test_config_upstream_forms)
{
	char host[256], auth[300];
	int port;
	CHECK_INT(config_parse_upstream("https://[::1]:9443", host, sizeof host, &port, auth, sizeof auth), 0);
	CHECK_STR(host, "::1");
	CHECK_INT(port, 9443);
	CHECK_STR(auth, "[::1]:9443");
	CHECK_INT(config_parse_upstream("https://example.com:443/", host, sizeof host, &port, auth, sizeof auth), 0);
	CHECK_STR(auth, "example.com");
	CHECK_INT(config_parse_upstream("https://example.com/v1", host, sizeof host, &port, auth, sizeof auth), -1);
	CHECK_INT(config_parse_upstream("https://user@example.com", host, sizeof host, &port, auth, sizeof auth), -1);
	CHECK_INT(config_parse_upstream("https://", host, sizeof host, &port, auth, sizeof auth), -1);
	CHECK_INT(config_parse_upstream("https://h:99999", host, sizeof host, &port, auth, sizeof auth), -1);
}

TEST(test_config_help_and_version)
{
	struct config c;
	char err[4096];
	char *envp[] = {NULL};
	char *a1[] = {"p", "--version", NULL};
	CHECK_INT(config_parse(&c, 2, a1, envp, err, sizeof err), CONFIG_EXIT_OK);
	CHECK_CONTAINS(err, "anthropic-proxy ");
	char *a2[] = {"p", "--help", NULL};
	CHECK_INT(config_parse(&c, 2, a2, envp, err, sizeof err), CONFIG_EXIT_OK);
	CHECK_CONTAINS(err, "--upstream");
	CHECK_CONTAINS(err, "ANTHROPIC_PROXY_");
}

TEST(test_config_booleans)
{
	struct config c;
	char err[512];
	char *envp[] = {NULL};
	char *a1[] = {"p", "--access-log", "false", "--follow-credentials", NULL};
	CHECK_INT(parse(&c, a1, envp, err), CONFIG_OK);
	CHECK_INT(c.access_log, 0);
	CHECK_INT(c.follow_credentials, 1);
	char *a2[] = {"p", "--access-log=maybe", NULL};
	CHECK_INT(parse(&c, a2, envp, err), CONFIG_ERROR);
	char *e3[] = {"ANTHROPIC_PROXY_ACCESS_LOG=off", NULL};
	char *a3[] = {"p", NULL};
	CHECK_INT(parse(&c, a3, e3, err), CONFIG_OK);
	CHECK_INT(c.access_log, 0);
}

TEST(test_config_front_door_flags)
{
	struct config c;
	char err[512];
	char *argv[] = {"p", "--allow-origin", "https://a.example", "--allow-origin=http://localhost:3000,https://b.example",
			"--forward-prefix", "/extra/", "--send-timeout", "5s", "--allow-core-dumps", NULL};
	char *envp[] = {"ANTHROPIC_PROXY_CLIENT_KEY=env-key-12345", NULL};
	CHECK_INT(parse(&c, argv, envp, err), CONFIG_OK);
	CHECK_INT(c.allow_origins.n, 3);
	CHECK_STR(c.allow_origins.v[1], "http://localhost:3000");
	CHECK_INT(c.forward_prefixes.n, 1);
	CHECK_STR(c.forward_prefixes.v[0], "/extra/");
	CHECK_INT(c.send_timeout_ms, 5000);
	CHECK_INT(c.allow_core_dumps, 1);
	CHECK_INT(c.n_client_keys, 1);
	CHECK_INT(c.client_keys_in_argv, 0);
	CHECK_INT(c.max_connections, 0); /* main sizes it from the open-file limit */
	char *argv2[] = {"p", "--client-key", "argv-key-12345", NULL};
	CHECK_INT(parse(&c, argv2, envp, err), CONFIG_OK);
	CHECK_INT(c.client_keys_in_argv, 1);
	char *bad[][3] = {{"p", "--allow-origin", "a.example"}, {"p", "--allow-origin", "https://a/x"},
			  {"p", "--forward-prefix", "extra"}, {"p", "--forward-prefix", "/a/../b/"}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *a[] = {bad[i][0], bad[i][1], bad[i][2], NULL};
		CHECK_INT(parse(&c, a, envp, err), CONFIG_ERROR);
		CHECK(strstr(err, bad[i][1]) != NULL);
	}
}

TEST(test_config_accounts_and_guard_flags)
{
	struct config c;
	char err[512];
	char *argv[] = {"p", "--account", "personal=/h/a.json", "--account=work-2=/w/b.json", "--max-utilization", "95%",
			"--max-retry-after", "2m", "--allow-overage", NULL};
	char *envp[] = {NULL};
	CHECK_INT(parse(&c, argv, envp, err), CONFIG_OK);
	CHECK_INT(c.accounts.n, 2);
	CHECK_STR(c.accounts.v[0], "personal");
	CHECK_STR(c.account_paths[0], "/h/a.json");
	CHECK_STR(c.accounts.v[1], "work-2");
	CHECK_STR(c.account_paths[1], "/w/b.json");
	CHECK(c.max_utilization > 0.9499 && c.max_utilization < 0.9501);
	CHECK_INT(c.max_retry_after_ms, 120000);
	CHECK_INT(c.allow_overage, 1);
	/* Defaults: 98%, 300 s, no overage, one account from --credentials. */
	char *argv0[] = {"p", NULL};
	CHECK_INT(parse(&c, argv0, envp, err), CONFIG_OK);
	CHECK_INT(c.accounts.n, 0);
	CHECK(c.max_utilization > 0.9799 && c.max_utilization < 0.9801);
	CHECK_INT(c.max_retry_after_ms, 300000);
	CHECK_INT(c.allow_overage, 0);
	/* The environment twin takes a comma-separated list. */
	char *envp2[] = {"ANTHROPIC_PROXY_ACCOUNT=a=/x,b=/y", NULL};
	CHECK_INT(parse(&c, argv0, envp2, err), CONFIG_OK);
	CHECK_INT(c.accounts.n, 2);
	CHECK_STR(c.account_paths[1], "/y");
	/* Bad names, a missing path, a name twice, --credentials beside --account: one clear line each. */
	const char *bad[] = {"Work=/x", "a", "a=", "this-name-is-far-too-long-for-an-account=/x", "a=/x,a=/y"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *a[] = {"p", "--account", (char *)bad[i], NULL};
		CHECK_INT(parse(&c, a, envp, err), CONFIG_ERROR);
		CHECK(strstr(err, "--account") != NULL);
	}
	char *both[] = {"p", "--account", "a=/x", "--credentials", "/y", NULL};
	CHECK_INT(parse(&c, both, envp, err), CONFIG_ERROR);
	CHECK(strstr(err, "--account default=/y") != NULL);
}

TEST(test_config_admin_listen)
{
	struct config c;
	char err[512];
	char *envp[] = {"ANTHROPIC_PROXY_ADMIN_LISTEN=9090", NULL}, *none[] = {NULL};
	char *a0[] = {"p", NULL};
	CHECK_INT(parse(&c, a0, none, err), CONFIG_OK);
	CHECK(c.admin_listen == NULL);
	CHECK_INT(parse(&c, a0, envp, err), CONFIG_OK);
	CHECK_STR(c.admin_host, "127.0.0.1");
	CHECK_INT(c.admin_port, 9090);
	const char *good[][3] = {{":9091", "127.0.0.1", "9091"}, {"0.0.0.0:9092", "0.0.0.0", "9092"},
				 {"[::1]:9093", "::1", "9093"}, {"localhost:9094", "localhost", "9094"}};
	for (size_t i = 0; i < 4; i++) {
		char *a[] = {"p", "--admin-listen", (char *)good[i][0], NULL};
		CHECK_INT(parse(&c, a, none, err), CONFIG_OK);
		CHECK_STR(c.admin_host, good[i][1]);
		CHECK_INT(c.admin_port, atoi(good[i][2]));
	}
	const char *bad[] = {"", "x", "host.example:9090", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000", "1.2.3:4",
			     "[::1]"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *a[] = {"p", "--admin-listen", (char *)bad[i], NULL};
		if (parse(&c, a, none, err) != CONFIG_ERROR)
			FAIL_AT("--admin-listen '%s' should be refused", bad[i]);
		CHECK_CONTAINS(err, "--admin-listen");
	}
	char *same[] = {"p", "--listen", "0.0.0.0:8080", "--admin-listen", "127.0.0.1:8080", "--allow-unauthenticated",
			NULL};
	CHECK_INT(parse(&c, same, none, err), CONFIG_ERROR);
	CHECK_CONTAINS(err, "same address");
}

/* --help: within 100 columns, under headings, every flag with its value's placeholder on a line of its own. */
TEST(test_config_help_layout)
{
	struct config c;
	static char out[32768];
	char *envp[] = {NULL}, *a[] = {"p", "--help", NULL};
	CHECK_INT(config_parse(&c, 2, a, envp, out, sizeof out), CONFIG_EXIT_OK);
	CHECK(strlen(out) < sizeof out - 1); /* not cut short */
	for (const char *l = out, *e; *l; l = e + 1) {
		e = strchr(l, '\n');
		if (!e)
			FAIL_AT("--help does not end with a newline");
		if (e - l > 100)
			FAIL_AT("a --help line of %d columns: %.*s", (int)(e - l), (int)(e - l), l);
	}
	const char *want[] = {"\nListening:\n", "\nUpstream:\n", "\nLogin and accounts:\n", "\nClients and budgets:\n",
			      "\nUsage and limits:\n", "\nLogging and metrics:\n", "\nAlerts:\n", "\nOther:\n",
			      "\n  --listen HOST:PORT ", "\n  --admin-listen HOST:PORT ", "\n  --account NAME=PATH ",
			      "\n  --allow-overage ", "\n  --alert-webhook URL ", "\n  --help ", "\n  --version "};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		CHECK_CONTAINS(out, want[i]);
}
