#include "config.h"
#include "url.h"

#include "http.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

enum opt_kind { OPT_STR, OPT_LEVEL, OPT_FORMAT, OPT_SIZE, OPT_DURATION, OPT_COUNT, OPT_DURATION_OFF, OPT_PERCENT, OPT_BOOL,
		OPT_URLS, OPT_KEYS, OPT_ORIGINS, OPT_PREFIXES, OPT_ACCOUNTS, OPT_WEBHOOKS };

/* --help prints the flags under these headings, in this order. */
enum opt_group { G_LISTEN, G_UPSTREAM, G_LOGIN, G_CLIENTS, G_USAGE, G_LOG, G_ALERTS, G_FLEET, G_OTHER, G_N };
static const char *const group_title[G_N] = {"Listening", "Upstream", "Login and accounts", "Clients and budgets",
					     "Usage and limits", "Logging and metrics", "Alerts", "A fleet",
					     "Other"};

struct opt {
	const char *name;   /* flag without the leading dashes */
	enum opt_kind kind; /* how the value parses */
	size_t off;         /* field in struct config */
	const char *def;    /* default, parsed like a user value */
	enum opt_group group; /* heading in --help */
	const char *arg;    /* the value's placeholder in --help ("HOST:PORT"); NULL for a boolean */
	const char *help;   /* its description in --help (wrapped there) */
};

#define F(field) offsetof(struct config, field)
static const struct opt opts[] = {
	/* Listening */
	{"listen", OPT_STR, F(listen), "127.0.0.1:8080", G_LISTEN, "HOST:PORT", "where clients connect"},
	{"admin-listen", OPT_STR, F(admin_listen), NULL, G_LISTEN, "HOST:PORT",
	 "serve /healthz, /readyz, /metrics and /usage here, without client keys (a bare PORT means 127.0.0.1; keep it "
	 "on loopback or a private network); the client listener then answers only /healthz of them"},
	{"max-connections", OPT_COUNT, F(max_connections), NULL, G_LISTEN, "N",
	 "most client connections at once (default: what the open-file limit allows, two descriptors each)"},
	{"max-body-size", OPT_SIZE, F(max_body_size), "32M", G_LISTEN, "SIZE",
	 "largest request body accepted (bytes; k/M/G suffixes)"},
	{"max-header-size", OPT_SIZE, F(max_header_size), "64k", G_LISTEN, "SIZE", "largest request head accepted"},
	{"max-headers", OPT_COUNT, F(max_headers), "100", G_LISTEN, "N", "most header lines in a request"},
	{"max-url-length", OPT_SIZE, F(max_url_length), "8k", G_LISTEN, "SIZE", "longest request target (path and query)"},
	{"header-timeout", OPT_DURATION, F(header_timeout_ms), "30s", G_LISTEN, "DUR",
	 "time a client has to send a request head"},
	{"keepalive-timeout", OPT_DURATION, F(keepalive_timeout_ms), "75s", G_LISTEN, "DUR",
	 "idle time allowed between requests"},
	{"send-timeout", OPT_DURATION, F(send_timeout_ms), "60s", G_LISTEN, "DUR",
	 "a client that reads none of its waiting answer for this long is disconnected"},
	{"drain-timeout", OPT_DURATION, F(drain_timeout_ms), "30s", G_LISTEN, "DUR",
	 "on SIGTERM, how long answers in flight may take"},
	/* Upstream */
	{"upstream", OPT_STR, F(upstream), "https://api.anthropic.com", G_UPSTREAM, "URL",
	 "base URL of the API (https only)"},
	{"ca-file", OPT_STR, F(ca_file), DEFAULT_CA_FILE, G_UPSTREAM, "PATH", "PEM bundle of CAs trusted for the upstream"},
	{"connect-timeout", OPT_DURATION, F(connect_timeout_ms), "10s", G_UPSTREAM, "DUR",
	 "upstream TCP connect plus TLS handshake"},
	{"upstream-timeout", OPT_DURATION, F(upstream_timeout_ms), "10m", G_UPSTREAM, "DUR",
	 "upstream silence allowed while waiting for or streaming an answer"},
	{"pool-size", OPT_COUNT, F(pool_size), "256", G_UPSTREAM, "N",
	 "most idle upstream connections kept for reuse (past 16 spare ones, those unneeded for a second are closed)"},
	{"pool-idle-timeout", OPT_DURATION, F(pool_idle_ms), "30s", G_UPSTREAM, "DUR",
	 "idle upstream connections are closed after this"},
	{"forward-prefix", OPT_PREFIXES, F(forward_prefixes), NULL, G_UPSTREAM, "PREFIX",
	 "a path prefix forwarded besides /v1/ and /api/ (e.g. /extra/); repeatable; other paths get 404"},
	/* Login and accounts */
	{"credentials", OPT_STR, F(credentials), NULL, G_LOGIN, "PATH",
	 "Claude Code credentials file (default $CLAUDE_CONFIG_DIR/.credentials.json, else ~/.claude/.credentials.json)"},
	{"account", OPT_ACCOUNTS, F(accounts), NULL, G_LOGIN, "NAME=PATH",
	 "a subscription (Claude Code credentials file) in the pool; repeatable or comma-separated; NAME is "
	 "[a-z0-9_-]{1,32}. Without it the one account is --credentials, named default"},
	{"follow-credentials", OPT_BOOL, F(follow_credentials), "false", G_LOGIN, NULL,
	 "never refresh; follow the credentials file that a running Claude Code keeps fresh"},
	{"refresh-margin", OPT_DURATION, F(refresh_margin_ms), "5m", G_LOGIN, "DUR",
	 "refresh the access token this long before expiry"},
	{"token-url", OPT_URLS, F(token_urls),
	 "https://platform.claude.com/v1/oauth/token,https://console.anthropic.com/v1/oauth/token", G_LOGIN, "URL",
	 "OAuth token endpoint; repeat the flag (or comma-separate) to try several in order"},
	{"client-id", OPT_STR, F(client_id), "9d1c250a-e61b-44d9-88ed-5944d1962f5e", G_LOGIN, "ID",
	 "OAuth client id used to refresh"},
	/* Clients and budgets */
	{"client-key", OPT_KEYS, F(client_keys), NULL, G_CLIENTS, "KEY",
	 "key clients must present (x-api-key or Authorization: Bearer); repeatable or comma-separated (the command line "
	 "is visible to local users: prefer the environment or --client-keys-file)"},
	{"client-keys-file", OPT_STR, F(client_keys_file), NULL, G_CLIENTS, "PATH",
	 "file of client keys, one per line (# comments)"},
	{"clients-file", OPT_STR, F(clients_file), NULL, G_CLIENTS, "PATH",
	 "file of named clients, one per line: NAME KEY [WINDOW=PCT ...] [overage=allow] (re-read on SIGHUP)"},
	{"allow-unauthenticated", OPT_BOOL, F(allow_unauthenticated), "false", G_CLIENTS, NULL,
	 "allow a non-loopback --listen without client keys (an open proxy to your subscription)"},
	{"allow-origin", OPT_ORIGINS, F(allow_origins), NULL, G_CLIENTS, "ORIGIN",
	 "a browser Origin (scheme://host[:port]) let in; repeatable; requests with any other Origin get 403"},
	/* Usage and limits */
	{"poll-interval", OPT_DURATION_OFF, F(poll_interval_ms), "300s", G_USAGE, "DUR",
	 "period of the usage endpoint poll (+-10% jitter); 0 or off disables it"},
	{"max-utilization", OPT_PERCENT, F(max_utilization), "98", G_USAGE, "PCT",
	 "an account whose window that applies to a request is at or above this percentage is not used for it"},
	{"allow-overage", OPT_BOOL, F(allow_overage), "false", G_USAGE, NULL,
	 "let requests go to an account that draws on paid extra usage (off: such accounts are skipped)"},
	{"max-retry-after", OPT_DURATION, F(max_retry_after_ms), "300s", G_USAGE, "DUR",
	 "longest retry-after told to clients (the proxy's own 429s and the upstream's)"},
	{"max-pinned", OPT_COUNT, F(max_pinned), "4096", G_USAGE, "N",
	 "most conversations kept pinned to their account (least recently used ones go first)"},
	{"pin-idle-timeout", OPT_DURATION, F(pin_idle_ms), "1h", G_USAGE, "DUR",
	 "a conversation idle this long is no longer pinned"},
	{"state-file", OPT_STR, F(state_file), NULL, G_USAGE, "PATH",
	 "file keeping the token counters across restarts (default: none)"},
	/* Logging and metrics */
	{"log-level", OPT_LEVEL, F(log_level), "info", G_LOG, "LEVEL", "debug, info, warn or error"},
	{"log-format", OPT_FORMAT, F(log_json), "json", G_LOG, "FORMAT", "json or text"},
	{"access-log", OPT_BOOL, F(access_log), "true", G_LOG, "BOOL",
	 "log one line per request (method, path, status, model, tokens, duration, ttfb, bytes, request-id)"},
	/* Alerts */
	{"warn-utilization", OPT_PERCENT, F(warn_utilization), "80", G_ALERTS, "PCT",
	 "window utilization (percent) that logs a warning and fires an alert"},
	{"alert-webhook", OPT_WEBHOOKS, F(alert_webhooks), NULL, G_ALERTS, "URL",
	 "http:// or https:// URL that gets a JSON POST (Slack-compatible) when an alert fires or clears; repeatable"},
	/* A fleet */
	{"redis", OPT_STR, F(redis), NULL, G_FLEET, "URL",
	 "redis://[user:password@]host:port[/db] or unix:///path: share logins, windows, counters and budgets with "
	 "the other proxies of a fleet (password also from ANTHROPIC_PROXY_REDIS_PASSWORD)"},
	{"redis-prefix", OPT_STR, F(redis_prefix), "anthropic-proxy:", G_FLEET, "PREFIX",
	 "prefix of the fleet's keys and channel in Redis"},
	{"redis-lease", OPT_DURATION, F(redis_lease_ms), "45s", G_FLEET, "DUR",
	 "how long a replica holds the fleet's refresh lease; its token request must end sooner (at least "
	 "--connect-timeout + 3s)"},
	/* Other */
	{"allow-core-dumps", OPT_BOOL, F(allow_core_dumps), "false", G_OTHER, NULL,
	 "leave core dumps on (they would hold tokens; off by default)"},
	{"check", OPT_STR, F(check_url), NULL, G_OTHER, "URL",
	 "probe http://HOST:PORT/PATH, exit 0 on a 200 answer, 1 otherwise (container health checks)"},
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

int config_parse_admin_listen(const char *s, char *host, size_t hostlen, int *port)
{
	char buf[300];
	if (s[0] == ':' || (s[0] && strspn(s, "0123456789") == strlen(s))) {
		snprintf(buf, sizeof buf, "127.0.0.1%s%s", s[0] == ':' ? "" : ":", s);
		s = buf;
	}
	if (config_split_hostport(s, host, hostlen, port) || *port == 0)
		return -1;
	unsigned char addr[16];
	return strcmp(host, "localhost") == 0 || inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1
		       ? 0
		       : -1;
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

#define HELP_WIDTH 100 /* --help fits a terminal this wide */
#define HELP_COL 28     /* descriptions start in this column */

/* Appends to out[*n..len) as snprintf would; *n stops at len - 1 once the buffer is full. */
static void put(char *out, size_t len, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void put(char *out, size_t len, size_t *n, const char *fmt, ...)
{
	if (*n + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(out + *n, len - *n, fmt, ap);
	va_end(ap);
	*n = k < 0 ? *n : *n + (size_t)k >= len ? len - 1 : *n + (size_t)k;
}

/* One flag: "  --name ARG" then its description, wrapped at word boundaries within HELP_WIDTH; continuation lines
 * are indented to HELP_COL, so only a flag's own line starts with two spaces and "--" (tests rely on that). */
static void usage_flag(char *out, size_t len, size_t *n, const char *name, const char *arg, const char *help,
		       const char *def)
{
	char text[600];
	size_t t = (size_t)snprintf(text, sizeof text, "%s%s", help, def ? " (default " : "");
	for (const char *d = def; d && *d && t + 4 < sizeof text; d++) { /* a list's items apart, so lines can break */
		text[t++] = *d;
		if (*d == ',')
			text[t++] = ' ';
	}
	snprintf(text + t, sizeof text - t, "%s", def ? ")" : "");
	size_t start = *n;
	put(out, len, n, "  --%s%s%s", name, arg ? " " : "", arg ? arg : "");
	size_t col = *n - start;
	if (col + 1 > HELP_COL) { /* no room for the description on the flag's line */
		put(out, len, n, "\n");
		col = 0;
	}
	for (const char *p = text; *p; col = 0) {
		size_t avail = HELP_WIDTH - HELP_COL, take = strlen(p);
		if (take > avail) { /* break at the last space that fits (a word longer than a line is cut) */
			take = avail;
			while (take > 0 && p[take] != ' ')
				take--;
			if (take == 0)
				take = avail;
		}
		put(out, len, n, "%*s%.*s\n", (int)(HELP_COL - col), "", (int)take, p);
		p += take;
		while (*p == ' ')
			p++;
	}
}

static void usage(char *out, size_t len)
{
	size_t n = 0;
	put(out, len, &n,
	    "Usage: anthropic-proxy [FLAGS]\n"
	    "       anthropic-proxy status [--url http://HOST:PORT]\n"
	    "       anthropic-proxy --check URL | --help | --version\n\n"
	    "A sidecar proxy for the Anthropic Messages API that signs requests with a Claude subscription's\n"
	    "OAuth login. `status` prints the windows, accounts and clients of a running proxy (exit status 0:\n"
	    "ready, 1: not ready, 2: unreachable).\n\n"
	    "Each flag is also read from the environment variable ANTHROPIC_PROXY_<FLAG> (upper case, '-' as\n"
	    "'_'); the command line wins. DUR takes ms, s, m or h; SIZE takes k, M or G.\n");
	for (unsigned g = 0; g < G_N; g++) {
		put(out, len, &n, "\n%s:\n", group_title[g]);
		for (size_t i = 0; i < NOPTS; i++) {
			const struct opt *o = &opts[i];
			/* A boolean that is off unless given says nothing about its default. */
			int show_def = o->def && !(o->kind == OPT_BOOL && strcmp(o->def, "false") == 0);
			if (o->group == g)
				usage_flag(out, len, &n, o->name, o->arg, o->help, show_def ? o->def : NULL);
		}
		if (g == G_OTHER) {
			usage_flag(out, len, &n, "help", NULL, "print this help", NULL);
			usage_flag(out, len, &n, "version", NULL, "print the version and the libraries'", NULL);
		}
	}
	put(out, len, &n, "\nCLAUDE_CODE_OAUTH_TOKEN, when set, is used as the access token if no --credentials file is "
			  "given.\n");
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
	if (cfg->admin_listen) {
		if (config_parse_admin_listen(cfg->admin_listen, cfg->admin_host, sizeof cfg->admin_host,
					      &cfg->admin_port)) {
			snprintf(err, errlen, "invalid value '%s' for --admin-listen: expected HOST:PORT (an IP address or "
				 "localhost, and a port) such as 127.0.0.1:9090, or a PORT alone for loopback",
				 cfg->admin_listen);
			return CONFIG_ERROR;
		}
		if (cfg->admin_port == cfg->listen_port &&
		    (strcmp(cfg->admin_host, cfg->listen_host) == 0 || strcmp(cfg->admin_host, "0.0.0.0") == 0 ||
		     strcmp(cfg->listen_host, "0.0.0.0") == 0 || strcmp(cfg->admin_host, "::") == 0 ||
		     strcmp(cfg->listen_host, "::") == 0)) {
			snprintf(err, errlen, "--admin-listen %s is the same address as --listen %s: give it a port of its own",
				 cfg->admin_listen, cfg->listen);
			return CONFIG_ERROR;
		}
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
