#include "config.h"
#include "url.h"

#include "http.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

enum opt_kind { OPT_STR, OPT_LEVEL, OPT_FORMAT, OPT_SIZE, OPT_DURATION, OPT_COUNT, OPT_DURATION_OFF, OPT_PERCENT, OPT_BOOL,
		OPT_URLS, OPT_KEYS, OPT_ORIGINS, OPT_PREFIXES, OPT_ACCOUNTS, OPT_WEBHOOKS };

struct opt {
	const char *name;   /* flag without the leading dashes */
	enum opt_kind kind; /* how the value parses */
	size_t off;         /* field in struct config */
	const char *def;    /* default, parsed like a user value */
	const char *help;   /* one line for --help */
};

#define F(field) offsetof(struct config, field)
static const struct opt opts[] = {
	{"listen", OPT_STR, F(listen), "127.0.0.1:8080", "HOST:PORT to accept clients on"},
	{"upstream", OPT_STR, F(upstream), "https://api.anthropic.com", "base URL of the API (https only)"},
	{"ca-file", OPT_STR, F(ca_file), DEFAULT_CA_FILE, "PEM bundle of CAs trusted for the upstream"},
	{"credentials", OPT_STR, F(credentials), NULL,
	 "Claude Code credentials file (default $CLAUDE_CONFIG_DIR/.credentials.json, else ~/.claude/.credentials.json)"},
	{"account", OPT_ACCOUNTS, F(accounts), NULL,
	 "NAME=PATH: a subscription (Claude Code credentials file) in the pool; repeatable or comma-separated; "
	 "NAME is [a-z0-9_-]{1,32}. Without it the one account is --credentials, named default"},
	{"allow-overage", OPT_BOOL, F(allow_overage), "false",
	 "let requests go to an account that draws on paid extra usage (off: such accounts are skipped)"},
	{"max-utilization", OPT_PERCENT, F(max_utilization), "98",
	 "an account whose window that applies to a request is at or above this percentage is not used for it"},
	{"max-retry-after", OPT_DURATION, F(max_retry_after_ms), "300s",
	 "longest retry-after told to clients (the proxy's own 429s and the upstream's)"},
	{"max-pinned", OPT_COUNT, F(max_pinned), "4096",
	 "most conversations kept pinned to their account (least recently used ones go first)"},
	{"pin-idle-timeout", OPT_DURATION, F(pin_idle_ms), "1h", "a conversation idle this long is no longer pinned"},
	{"log-level", OPT_LEVEL, F(log_level), "info", "debug, info, warn or error"},
	{"log-format", OPT_FORMAT, F(log_json), "json", "json or text"},
	{"max-body-size", OPT_SIZE, F(max_body_size), "32M", "largest request body accepted (bytes; k/M/G suffixes)"},
	{"max-header-size", OPT_SIZE, F(max_header_size), "64k", "largest request head accepted"},
	{"max-headers", OPT_COUNT, F(max_headers), "100", "most header lines in a request"},
	{"max-url-length", OPT_SIZE, F(max_url_length), "8k", "longest request target (path and query)"},
	{"max-connections", OPT_COUNT, F(max_connections), NULL,
	 "most client connections at once (default: what the open-file limit allows, two descriptors each)"},
	{"drain-timeout", OPT_DURATION, F(drain_timeout_ms), "30s", "on SIGTERM, how long answers in flight may take"},
	{"header-timeout", OPT_DURATION, F(header_timeout_ms), "30s", "time a client has to send a request head"},
	{"keepalive-timeout", OPT_DURATION, F(keepalive_timeout_ms), "75s", "idle time allowed between requests"},
	{"send-timeout", OPT_DURATION, F(send_timeout_ms), "60s",
	 "a client that reads none of its waiting answer for this long is disconnected"},
	{"connect-timeout", OPT_DURATION, F(connect_timeout_ms), "10s", "upstream TCP connect plus TLS handshake"},
	{"upstream-timeout", OPT_DURATION, F(upstream_timeout_ms), "10m",
	 "upstream silence allowed while waiting for or streaming an answer"},
	{"pool-size", OPT_COUNT, F(pool_size), "256",
	 "most idle upstream connections kept for reuse (past 16 spare ones, those unneeded for a second are closed)"},
	{"pool-idle-timeout", OPT_DURATION, F(pool_idle_ms), "30s", "idle upstream connections are closed after this"},
	{"poll-interval", OPT_DURATION_OFF, F(poll_interval_ms), "300s",
	 "period of the usage endpoint poll (+-10% jitter); 0 or off disables it"},
	{"warn-utilization", OPT_PERCENT, F(warn_utilization), "80", "window utilization (percent) that logs a warning and fires an alert"},
	{"state-file", OPT_STR, F(state_file), NULL, "file keeping the token counters across restarts (default: none)"},
	{"refresh-margin", OPT_DURATION, F(refresh_margin_ms), "5m", "refresh the access token this long before expiry"},
	{"token-url", OPT_URLS, F(token_urls),
	 "https://platform.claude.com/v1/oauth/token,https://console.anthropic.com/v1/oauth/token",
	 "OAuth token endpoint; repeat the flag (or comma-separate) to try several in order"},
	{"client-id", OPT_STR, F(client_id), "9d1c250a-e61b-44d9-88ed-5944d1962f5e", "OAuth client id used to refresh"},
	{"client-key", OPT_KEYS, F(client_keys), NULL,
	 "key clients must present (x-api-key or Authorization: Bearer); repeatable or comma-separated (the command line "
	 "is visible to local users: prefer the environment or --client-keys-file)"},
	{"client-keys-file", OPT_STR, F(client_keys_file), NULL, "file of client keys, one per line (# comments)"},
	{"clients-file", OPT_STR, F(clients_file), NULL,
	 "file of named clients, one per line: NAME KEY [WINDOW=PCT ...] [overage=allow] (re-read on SIGHUP)"},
	{"allow-unauthenticated", OPT_BOOL, F(allow_unauthenticated), "false",
	 "allow a non-loopback --listen without client keys (an open proxy to your subscription)"},
	{"allow-origin", OPT_ORIGINS, F(allow_origins), NULL,
	 "a browser Origin (scheme://host[:port]) let in; repeatable; requests with any other Origin get 403"},
	{"forward-prefix", OPT_PREFIXES, F(forward_prefixes), NULL,
	 "a path prefix forwarded besides /v1/ and /api/ (e.g. /extra/); repeatable; other paths get 404"},
	{"allow-core-dumps", OPT_BOOL, F(allow_core_dumps), "false",
	 "leave core dumps on (they would hold tokens; off by default)"},
	{"check", OPT_STR, F(check_url), NULL,
	 "probe http://HOST:PORT/PATH, exit 0 on a 200 answer, 1 otherwise (container health checks)"},
	{"access-log", OPT_BOOL, F(access_log), "true",
	 "log one line per request (method, path, status, model, tokens, duration, ttfb, bytes, request-id)"},
	{"alert-webhook", OPT_WEBHOOKS, F(alert_webhooks), NULL,
	 "http:// or https:// URL that gets a JSON POST (Slack-compatible) when an alert fires or clears; repeatable"},
	{"follow-credentials", OPT_BOOL, F(follow_credentials), "false",
	 "never refresh; follow the credentials file that a running Claude Code keeps fresh"},
	{"redis", OPT_STR, F(redis), NULL,
	 "redis://[user:password@]host:port[/db] or unix:///path: share logins, windows, counters and budgets with "
	 "the other proxies of a fleet (password also from ANTHROPIC_PROXY_REDIS_PASSWORD)"},
	{"redis-prefix", OPT_STR, F(redis_prefix), "anthropic-proxy:", "prefix of the fleet's keys and channel in Redis"},
	{"redis-lease", OPT_DURATION, F(redis_lease_ms), "45s",
	 "how long a replica holds the fleet's refresh lease; its token request must end sooner (at least "
	 "--connect-timeout + 3s)"},
};
#undef F
#define NOPTS (sizeof opts / sizeof opts[0])

static int parse_u64(const char *s, uint64_t *out, const char *const *suffixes, const uint64_t *mults, size_t nsuf,
		     int allow_fraction)
{
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (end == s || errno || v < 0 || !isfinite(v))
		return -1;
	uint64_t mult = nsuf ? mults[0] : 1; /* the first suffix is the unit of a bare number */
	if (*end) {
		size_t i;
		for (i = 0; i < nsuf; i++)
			if (strcmp(end, suffixes[i]) == 0)
				break;
		if (i == nsuf)
			return -1;
		mult = mults[i];
	}
	double r = v * (double)mult;
	if (!allow_fraction && v != floor(v))
		return -1;
	if (r > 1.8e19)
		return -1;
	*out = (uint64_t)r;
	return 0;
}

/* An origin as browsers serialise it (RFC 6454 §6.1): scheme "://" host [":" port], nothing more. */
static int origin_ok(const char *s)
{
	const char *sep = strstr(s, "://");
	if (!sep || sep == s || !sep[3] || strlen(s) > 300)
		return 0;
	for (const char *p = s; p < sep; p++)
		if (!isalnum((unsigned char)*p) && !strchr("+-.", *p))
			return 0;
	for (const char *p = sep + 3; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("/?#@\\", *p))
			return 0;
	return 1;
}

/* One item of a list flag, checked (an account's NAME=PATH is split in place: its PATH goes to account_paths). */
static int list_item_ok(struct config *cfg, enum opt_kind kind, char *v, int index)
{
	if (kind == OPT_ORIGINS)
		return origin_ok(v);
	if (kind == OPT_PREFIXES)
		return http_path_normal(v, strlen(v));
	char *eq = strchr(v, '=');
	if (eq && !eq[1])
		return 0;
	if (eq)
		*eq = 0;
	int ok = config_account_name_ok(v);
	for (int i = 0; i < index && ok; i++)
		ok = strcmp(cfg->accounts.v[i], v) != 0;
	if (!ok && eq)
		*eq = '='; /* whole again for the error message */
	cfg->account_paths[index] = eq ? eq + 1 : NULL; /* NAME alone: the login comes from --redis (checked below) */
	return ok;
}

static int set_opt(struct config *cfg, const struct opt *o, const char *val, char *err, size_t errlen)
{
	char *field = (char *)cfg + o->off;
	static const char *const size_suf[] = {"", "k", "K", "M", "G"};
	static const uint64_t size_mul[] = {1, 1024, 1024, 1024 * 1024, 1024 * 1024 * 1024};
	static const char *const dur_suf[] = {"s", "ms", "m", "h"};
	static const uint64_t dur_mul[] = {1000, 1, 60000, 3600000};
	uint64_t n;
	int lvl;

	switch (o->kind) {
	case OPT_STR:
		*(const char **)field = val;
		return 0;
	case OPT_LEVEL:
		if ((lvl = log_level_parse(val)) < 0)
			break;
		*(int *)field = lvl;
		return 0;
	case OPT_FORMAT:
		if (strcmp(val, "json") && strcmp(val, "text"))
			break;
		*(int *)field = strcmp(val, "json") == 0;
		return 0;
	case OPT_SIZE:
		if (parse_u64(val, &n, size_suf, size_mul, 5, 0) || n == 0)
			break;
		if (o->off == offsetof(struct config, max_header_size) || o->off == offsetof(struct config, max_url_length)) {
			if (n > 1024 * 1024 || n < 256)
				break;
			*(uint32_t *)field = (uint32_t)n;
		} else {
			*(uint64_t *)field = n;
		}
		return 0;
	case OPT_DURATION:
		if (parse_u64(val, &n, dur_suf, dur_mul, 4, 1) || n == 0)
			break;
		*(uint64_t *)field = n;
		return 0;
	case OPT_COUNT:
		if (parse_u64(val, &n, NULL, NULL, 0, 0) || n > 1000000 || (n == 0 && o->off != offsetof(struct config, pool_size)))
			break;
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case OPT_DURATION_OFF:
		if (strcmp(val, "off") == 0 || strcmp(val, "0") == 0) {
			*(uint64_t *)field = 0;
			return 0;
		}
		if (parse_u64(val, &n, dur_suf, dur_mul, 4, 1) || n == 0)
			break;
		*(uint64_t *)field = n;
		return 0;
	case OPT_BOOL:
		if (!strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "yes") || !strcmp(val, "on"))
			*(int *)field = 1;
		else if (!strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "no") || !strcmp(val, "off"))
			*(int *)field = 0;
		else
			break;
		return 0;
	case OPT_URLS: {
		/* Comma-separated; repeated flags were joined the same way. Split in place in cfg->token_url_buf. */
		char *copy = cfg->token_url_buf, *save = NULL;
		if (strlen(val) >= sizeof cfg->token_url_buf)
			break;
		snprintf(copy, sizeof cfg->token_url_buf, "%s", val);
		cfg->n_token_urls = 0;
		for (char *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
			char h[256], a[300], path[512];
			int port;
			while (*u == ' ')
				u++;
			if (config_parse_url(u, h, sizeof h, &port, a, sizeof a, path, sizeof path) ||
			    cfg->n_token_urls == CONFIG_MAX_TOKEN_URLS) {
				snprintf(err, errlen, "invalid value '%s' for --%s: expected up to %d https:// URLs with a path",
					 u, o->name, CONFIG_MAX_TOKEN_URLS);
				return -1;
			}
			cfg->token_urls[cfg->n_token_urls++] = u;
		}
		if (cfg->n_token_urls == 0)
			break;
		return 0;
	}
	case OPT_KEYS: {
		char *copy = cfg->client_key_buf, *save = NULL;
		if (strlen(val) >= sizeof cfg->client_key_buf)
			break;
		snprintf(copy, sizeof cfg->client_key_buf, "%s", val);
		for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
			if (config_add_client_key(cfg, k)) {
				snprintf(err, errlen, "invalid --%s: keys are 8 to 256 visible characters, at most %d of them",
					 o->name, CONFIG_MAX_CLIENT_KEYS);
				return -1;
			}
		}
		return 0;
	}
	case OPT_WEBHOOKS: {
		struct config_list *l = (struct config_list *)field;
		char *save = NULL;
		if (strlen(val) >= sizeof l->buf)
			break;
		snprintf(l->buf, sizeof l->buf, "%s", val);
		l->n = 0;
		for (char *v = strtok_r(l->buf, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
			struct url u;
			while (*v == ' ')
				v++;
			/* The value is not echoed: a webhook URL may hold a secret (Slack's path does). */
			if (url_parse(v, &u) || (strcmp(u.scheme, "http") && strcmp(u.scheme, "https")) || u.userinfo[0] ||
			    u.port == 0 || l->n == CONFIG_MAX_LIST) {
				snprintf(err, errlen, "invalid --%s: expected up to %d http:// or https:// URLs "
					 "(http://HOST[:PORT]/PATH)", o->name, CONFIG_MAX_LIST);
				return -1;
			}
			l->v[l->n++] = v;
		}
		return 0;
	}
	case OPT_ORIGINS:
	case OPT_PREFIXES:
	case OPT_ACCOUNTS: {
		struct config_list *l = (struct config_list *)field;
		char *save = NULL;
		if (strlen(val) >= sizeof l->buf)
			break;
		snprintf(l->buf, sizeof l->buf, "%s", val);
		l->n = 0;
		for (char *v = strtok_r(l->buf, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
			while (*v == ' ')
				v++;
			if (l->n == CONFIG_MAX_LIST || !list_item_ok(cfg, o->kind, v, l->n)) {
				snprintf(err, errlen, "invalid value '%s' for --%s: expected up to %d of %s", v, o->name,
					 CONFIG_MAX_LIST,
					 o->kind == OPT_ORIGINS	 ? "scheme://host[:port] (no path), as browsers send in Origin"
					 : o->kind == OPT_PREFIXES ? "paths such as /extra/ (no dot or empty segments)"
								   : "NAME=PATH, NAME being [a-z0-9_-]{1,32}, each NAME once");
				return -1;
			}
			l->v[l->n++] = v;
		}
		return 0;
	}
	case OPT_PERCENT: {
		char *end;
		double d = strtod(val, &end);
		if (*end == '%')
			end++;
		if (end == val || *end || !(d > 0 && d <= 100))
			break;
		*(double *)field = d / 100;
		return 0;
	}
	}
	static const char *const what[] = {"", "one of debug, info, warn, error", "json or text",
					   "a size in bytes such as 65536, 64k or 32M",
					   "a positive duration such as 30s, 500ms or 10m", "a whole number",
					   "a duration such as 300s or 5m, or off", "a percentage above 0 and at most 100",
					   "true or false", "https:// URLs", "keys", "origins", "paths", "accounts", "URLs"};
	snprintf(err, errlen, "invalid value '%s' for --%s: expected %s", val, o->name, what[o->kind]);
	return -1;
}

static int bool_word(const char *s)
{
	static const char *const words[] = {"true", "false", "1", "0", "yes", "no", "on", "off"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

static void env_name(const struct opt *o, char *out, size_t len)
{
	int n = snprintf(out, len, "ANTHROPIC_PROXY_");
	for (const char *p = o->name; *p && (size_t)n + 1 < len; p++)
		out[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	out[n] = 0;
}

const char *config_env_get(char **envp, const char *name)
{
	size_t n = strlen(name);
	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int config_add_client_key(struct config *cfg, const char *key)
{
	size_t n = strlen(key);
	if (n < 8 || n > 256 || cfg->n_client_keys == CONFIG_MAX_CLIENT_KEYS)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f)
			return -1;
	cfg->client_keys[cfg->n_client_keys++] = key;
	return 0;
}

int config_account_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		      name[i] == '-'))
			return 0;
	return 1;
}

int config_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

int config_parse_url(const char *url, char *host, size_t hostlen, int *port, char *auth, size_t authlen, char *path,
		     size_t pathlen)
{
	struct url u;
	if (url_parse(url, &u) || strcmp(u.scheme, "https") || u.userinfo[0] || u.port == 0 || u.path[0] != '/' ||
	    u.path[1] == 0 || strlen(u.path) >= pathlen || strlen(u.host) >= hostlen || strlen(u.authority) >= authlen)
		return -1;
	snprintf(host, hostlen, "%s", u.host);
	snprintf(auth, authlen, "%s", u.authority);
	snprintf(path, pathlen, "%s", u.path);
	*port = u.port;
	return 0;
}

int config_split_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	return url_split_hostport(s, host, hostlen, port);
}

int config_parse_upstream(const char *url, char *host, size_t hostlen, int *port, char *auth, size_t authlen)
{
	struct url u;
	/* Only a bare origin (optionally with a trailing '/') is accepted: paths are not rewritten. */
	if (url_parse(url, &u) || strcmp(u.scheme, "https") || u.userinfo[0] || u.port == 0 ||
	    (u.path[0] && strcmp(u.path, "/")) || strlen(u.host) >= hostlen || strlen(u.authority) >= authlen)
		return -1;
	snprintf(host, hostlen, "%s", u.host);
	snprintf(auth, authlen, "%s", u.authority);
	*port = u.port;
	return 0;
}

static void usage(char *out, size_t len)
{
	int n = snprintf(out, len,
			 "Usage: anthropic-proxy [flags]\n"
			 "A sidecar proxy for the Anthropic Messages API that signs requests with a Claude subscription's "
			 "OAuth login.\n\nFlags (each also as environment variable ANTHROPIC_PROXY_<FLAG>):\n");
	for (size_t i = 0; i < NOPTS && n > 0 && (size_t)n < len; i++)
		n += snprintf(out + n, len - (size_t)n, "  --%-20s %s%s%s%s\n", opts[i].name, opts[i].help,
			      opts[i].def ? " (default " : "", opts[i].def ? opts[i].def : "", opts[i].def ? ")" : "");
	if (n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n,
			 "  --%-20s %s\n  --%-20s %s\n\nCLAUDE_CODE_OAUTH_TOKEN, when set, is used as the access token if no "
			 "--credentials file is given.\n",
			 "help", "print this help", "version", "print the version");
}

enum config_result config_parse(struct config *cfg, int argc, char **argv, char **envp, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	const char *given[NOPTS] = {0};
	char joined[6][2048] = {"", "", "", "", "", ""}; /* repeated list flags, joined; copied into the struct */

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(err, errlen);
			return CONFIG_EXIT_OK;
		}
		if (strcmp(a, "--version") == 0) {
			snprintf(err, errlen, "anthropic-proxy %s\n", AP_VERSION);
			return CONFIG_EXIT_OK;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s' (flags start with --; see --help)", a);
			return CONFIG_ERROR;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t nl = eq ? (size_t)(eq - name) : strlen(name);
		size_t k;
		for (k = 0; k < NOPTS; k++)
			if (strlen(opts[k].name) == nl && strncmp(opts[k].name, name, nl) == 0)
				break;
		if (k == NOPTS) {
			snprintf(err, errlen, "unknown flag '--%.*s' (see --help)", (int)nl, name);
			return CONFIG_ERROR;
		}
		const char *v = NULL;
		if (eq) {
			v = eq + 1;
		} else if (opts[k].kind == OPT_BOOL) {
			/* A bare boolean flag turns it on; `--flag false` works too. */
			v = "true";
			if (i + 1 < argc && bool_word(argv[i + 1]))
				v = argv[++i];
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			snprintf(err, errlen, "flag --%s needs a value", opts[k].name);
			return CONFIG_ERROR;
		}
		int list = opts[k].kind >= OPT_URLS;
		char *j = joined[list ? opts[k].kind - OPT_URLS : 0];
		if (list && given[k]) {
			/* Repeatable: collect every occurrence, in order. */
			size_t need = strlen(j) + strlen(v) + 2;
			if (need > sizeof joined[0]) {
				snprintf(err, errlen, "too many --%s values", opts[k].name);
				return CONFIG_ERROR;
			}
			strcat(j, ",");
			strcat(j, v);
			v = j;
		} else if (list) {
			snprintf(j, sizeof joined[0], "%s", v);
			v = j;
		}
		given[k] = v;
		if (opts[k].kind == OPT_KEYS)
			cfg->client_keys_in_argv = 1;
	}

	for (size_t k = 0; k < NOPTS; k++) {
		const char *val = given[k];
		char ename[64];
		env_name(&opts[k], ename, sizeof ename);
		if (!val)
			val = config_env_get(envp, ename);
		if (val && !*val && !given[k])
			val = NULL; /* an empty variable counts as unset */
		if (!val)
			val = opts[k].def;
		if (!val)
			continue;
		if (set_opt(cfg, &opts[k], val, err, errlen)) {
			if (!given[k] && val != opts[k].def) {
				/* Say where a bad value came from when it was not on the command line. */
				size_t used = strlen(err);
				snprintf(err + used, errlen - used, " (from %s)", ename);
			}
			return CONFIG_ERROR;
		}
	}

	for (int i = 0; i < cfg->accounts.n; i++)
		if (!cfg->account_paths[i] && !cfg->redis) {
			snprintf(err, errlen, "--account %s has no credentials file: give NAME=PATH, or --redis to take the login "
					      "from the fleet", cfg->accounts.v[i]);
			return CONFIG_ERROR;
		}
	if (cfg->redis && cfg->follow_credentials) {
		snprintf(err, errlen, "--follow-credentials and --redis exclude each other: with --redis the fleet refreshes "
				      "the login under one lease");
		return CONFIG_ERROR;
	}
	if (cfg->redis && (!cfg->redis_prefix[0] || strlen(cfg->redis_prefix) > 64 || strchr(cfg->redis_prefix, ' '))) {
		snprintf(err, errlen, "invalid value '%s' for --redis-prefix: 1 to 64 characters, no spaces",
			 cfg->redis_prefix);
		return CONFIG_ERROR;
	}
	if (cfg->redis && cfg->redis_lease_ms < cfg->connect_timeout_ms + 3000) {
		snprintf(err, errlen, "--redis-lease must be at least --connect-timeout + 3s (%llu ms): the token request "
				      "has to end while the lease is held", (unsigned long long)(cfg->connect_timeout_ms + 3000));
		return CONFIG_ERROR;
	}
	if (cfg->accounts.n && cfg->credentials) {
		snprintf(err, errlen, "--credentials and --account both given: name the one file as --account default=%s",
			 cfg->credentials);
		return CONFIG_ERROR;
	}
	if (config_split_hostport(cfg->listen, cfg->listen_host, sizeof cfg->listen_host, &cfg->listen_port)) {
		snprintf(err, errlen, "invalid value '%s' for --listen: expected HOST:PORT such as 127.0.0.1:8080",
			 cfg->listen);
		return CONFIG_ERROR;
	}
	if (!config_is_loopback(cfg->listen_host) && !cfg->n_client_keys && !cfg->client_keys_file && !cfg->clients_file &&
	    !cfg->allow_unauthenticated && !cfg->check_url) {
		snprintf(err, errlen,
			 "refusing to listen on %s without client keys: anyone who can reach it would use your subscription. "
			 "Set --client-key / --client-keys-file / --clients-file, or --allow-unauthenticated if the network is yours alone",
			 cfg->listen);
		return CONFIG_ERROR;
	}
	if (config_parse_upstream(cfg->upstream, cfg->upstream_host, sizeof cfg->upstream_host, &cfg->upstream_port,
				  cfg->upstream_authority, sizeof cfg->upstream_authority)) {
		snprintf(err, errlen,
			 "invalid value '%s' for --upstream: expected an https:// origin such as https://api.anthropic.com",
			 cfg->upstream);
		return CONFIG_ERROR;
	}
	return CONFIG_OK;
}
