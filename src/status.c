#include "status.h"

#include "config.h"
#include "json.h"
#include "url.h"

#include <errno.h>
#include <llhttp.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BAR_CELLS 20
#define USAGE_MAX (8 * 1024 * 1024) /* a /usage document of many accounts and clients stays far below this */
#define ANSWER_MS 5000              /* the whole answer, however slowly it comes */

/* The answer as llhttp frames it (content-length, chunked or up to the close): its body, and whether it ended. */
struct answer {
	struct buf *body;
	int done, too_large;
};

static int on_answer_body(llhttp_t *p, const char *at, size_t n)
{
	struct answer *a = p->data;
	if (buf_append(a->body, at, n)) {
		a->too_large = 1;
		return -1;
	}
	return 0;
}

static int on_answer_done(llhttp_t *p)
{
	((struct answer *)p->data)->done = 1;
	return HPE_PAUSED; /* one answer is all this client asked for */
}

int status_http_get(const char *url, size_t max, int *status, struct buf *body, char *err, size_t errlen)
{
	struct url u;
	buf_init(body, max);
	if (url_parse(url, &u) || strcmp(u.scheme, "http") || u.userinfo[0]) {
		snprintf(err, errlen, "'%s' is not an http://HOST:PORT URL", url);
		return -1;
	}
	char port[8];
	snprintf(port, sizeof port, "%d", u.port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(u.host, port, &hints, &res)) {
		snprintf(err, errlen, "cannot resolve %s", u.host);
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = -1;
	struct timeval tv = {.tv_sec = 3};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) || connect(fd, res->ai_addr, res->ai_addrlen)) {
		snprintf(err, errlen, "cannot connect to %s: %s", u.authority, strerror(errno));
		goto out;
	}
	char req[1400];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\nConnection: close\r\n\r\n",
			 u.path[0] == '/' ? u.path : "/", u.authority);
	if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
		snprintf(err, errlen, "cannot send the request to %s", u.authority);
		goto out;
	}
	struct answer ans = {.body = body};
	llhttp_settings_t settings;
	llhttp_settings_init(&settings);
	settings.on_body = on_answer_body;
	settings.on_message_complete = on_answer_done;
	llhttp_t parser;
	llhttp_init(&parser, HTTP_RESPONSE, &settings);
	parser.data = &ans;
	/* The whole answer within ANSWER_MS, however slowly it trickles. */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!ans.done) {
		char chunk[16 * 1024];
		clock_gettime(CLOCK_MONOTONIC, &t);
		long long left = ANSWER_MS - ((long long)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (ready == 0) {
			snprintf(err, errlen, "no whole answer from %s within %d s", u.authority, ANSWER_MS / 1000);
			goto out;
		}
		ssize_t got = ready < 0 ? -1 : read(fd, chunk, sizeof chunk);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "no answer from %s: %s", u.authority,
				 errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		llhttp_errno_t e = got ? llhttp_execute(&parser, chunk, (size_t)got) : llhttp_finish(&parser);
		if (ans.too_large) {
			snprintf(err, errlen, "the answer from %s is too large", u.authority);
			goto out;
		}
		if (e != HPE_OK && e != HPE_PAUSED) {
			snprintf(err, errlen, "%s did not answer in HTTP/1.1", u.authority);
			goto out;
		}
		if (got == 0 && !ans.done) {
			snprintf(err, errlen, "the answer from %s was cut short", u.authority);
			goto out;
		}
	}
	*status = parser.status_code;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	if (rc)
		buf_free(body);
	return rc;
}

/* ---- rendering ---------------------------------------------------------------------------------------------- */

static int num(yajl_val v, double *out)
{
	if (!v || !YAJL_IS_NUMBER(v))
		return 0;
	*out = YAJL_GET_DOUBLE(v);
	return 1;
}

static double num_or(yajl_val v, double dflt)
{
	double d;
	return num(v, &d) ? d : dflt;
}

/* A count for a person: 950, 3.1k, 12.4M. */
static void count(char *out, size_t len, double v)
{
	if (v < 1000)
		snprintf(out, len, "%.0f", v);
	else if (v < 1e6)
		snprintf(out, len, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(out, len, "%.1fM", v / 1e6);
	else
		snprintf(out, len, "%.1fG", v / 1e9);
}

/* Time to a reset: 43m, 2h13m, 3d4h; "now" once it has passed. */
static void until(char *out, size_t len, int64_t secs)
{
	if (secs <= 0)
		snprintf(out, len, "now");
	else if (secs < 3600)
		snprintf(out, len, "%lldm", (long long)((secs + 59) / 60));
	else if (secs < 86400)
		snprintf(out, len, "%lldh%02lldm", (long long)(secs / 3600), (long long)(secs % 3600 / 60));
	else
		snprintf(out, len, "%lldd%lldh", (long long)(secs / 86400), (long long)(secs % 86400 / 3600));
}

static void bar(struct buf *out, double pct, int known)
{
	double p = !(pct >= 0) ? 0 : pct > 100 ? 100 : pct; /* (NaN, negative or huge: clamped before the cast) */
	int cells = known ? (int)(p / 100 * BAR_CELLS + 0.5) : 0;
	buf_append(out, "[", 1);
	for (int i = 0; i < BAR_CELLS; i++)
		buf_append(out, i < cells ? "#" : known ? "." : "?", 1);
	buf_append(out, "]", 1);
}

/* "  NAME  [####......]  42%  resets in 2h13m  3.1k in, 12 out, 1 request" (plus the status when not allowed). */
static void window_line(struct buf *out, const char *indent, int width, const char *name, yajl_val w, int64_t now)
{
	double pct = 0, reset = 0;
	int known = num(json_get(w, "utilization_percent"), &pct);
	buf_printf(out, "%s%-*s ", indent, width, name);
	bar(out, pct, known);
	if (known && pct >= 0 && pct < 1e4)
		buf_printf(out, " %4.0f%%", pct);
	else
		buf_appends(out, known ? "  ???%" : "     ?");
	char t[32] = "unknown";
	if (num(json_get(w, "resets_at_unix"), &reset) && reset > 0 && reset < 1e12) /* (a year past 30000: unknown) */
		until(t, sizeof t, (int64_t)reset - now);
	buf_printf(out, "  resets %s%-7s", strcmp(t, "now") && strcmp(t, "unknown") ? "in " : "", t);
	yajl_val tok = json_get(w, "tokens");
	if (tok) {
		char in[16], o[16];
		double reqs = num_or(json_get(tok, "requests"), 0);
		count(in, sizeof in, num_or(json_get(tok, "in"), 0));
		count(o, sizeof o, num_or(json_get(tok, "out"), 0));
		buf_printf(out, "  tokens %s in, %s out, %.0f request%s", in, o, reqs, reqs == 1 ? "" : "s");
	}
	const char *st = json_str(json_get(w, "status"));
	if (st && strcmp(st, "allowed"))
		buf_printf(out, "  (%s)", st);
	buf_appends(out, "\n");
}

static int name_width(yajl_val obj, int width)
{
	for (size_t i = 0; obj && YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++) {
		int n = (int)strlen(obj->u.object.keys[i]);
		width = n > width ? n : width;
	}
	return width > 32 ? 32 : width;
}

static void windows(struct buf *out, const char *indent, yajl_val ws, int64_t now)
{
	if (!ws || !YAJL_IS_OBJECT(ws) || ws->u.object.len == 0) {
		buf_printf(out, "%s(no windows known yet: they come with the first answer or usage poll)\n", indent);
		return;
	}
	int width = name_width(ws, 3);
	for (size_t i = 0; i < ws->u.object.len; i++)
		window_line(out, indent, width, ws->u.object.keys[i], ws->u.object.values[i], now);
}

static int login_ready(yajl_val acct)
{
	yajl_val r = json_get(json_get(acct, "login"), "ready");
	return r && YAJL_IS_TRUE(r);
}

/* One account's heading: its login, and whether the router would use it now. */
static void account_head(struct buf *out, const char *name, yajl_val a)
{
	buf_printf(out, "account %s: ", name);
	if (login_ready(a)) {
		buf_appends(out, "ready");
	} else {
		const char *why = json_str(json_get(json_get(a, "login"), "reason"));
		buf_printf(out, "not ready%s%s", why ? ": " : "", why ? why : "");
	}
	yajl_val rt = json_get(a, "routing");
	yajl_val usable = json_get(rt, "usable");
	const char *block = json_str(json_get(rt, "block")), *win = json_str(json_get(rt, "window"));
	if (usable && YAJL_IS_FALSE(usable) && block)
		buf_printf(out, "; not used now (%s%s%s)", block, win ? ", window " : "", win ? win : "");
	buf_appends(out, "\n");
}

/* The named clients: per window, their attributed share and their budget. */
static void clients(struct buf *out, yajl_val cl)
{
	if (!cl || !YAJL_IS_OBJECT(cl) || cl->u.object.len == 0)
		return;
	/* One client without a budget only repeats the windows above. */
	int budgets = 0;
	for (size_t i = 0; i < cl->u.object.len; i++) {
		yajl_val ws = json_get(cl->u.object.values[i], "windows");
		for (size_t k = 0; ws && YAJL_IS_OBJECT(ws) && k < ws->u.object.len; k++)
			budgets += json_get(ws->u.object.values[k], "budget_percent") &&
				   YAJL_IS_NUMBER(json_get(ws->u.object.values[k], "budget_percent"));
	}
	if (cl->u.object.len < 2 && !budgets)
		return;
	buf_appends(out, "\nclients:\n");
	for (size_t i = 0; i < cl->u.object.len; i++) {
		yajl_val c = cl->u.object.values[i], ws = json_get(c, "windows");
		double reqs = num_or(json_get(c, "requests"), 0);
		buf_printf(out, "  %s: %.0f request%s\n", cl->u.object.keys[i], reqs, reqs == 1 ? "" : "s");
		int width = name_width(ws, 3);
		for (size_t k = 0; ws && YAJL_IS_OBJECT(ws) && k < ws->u.object.len; k++) {
			yajl_val w = ws->u.object.values[k];
			double at = 0, budget = 0;
			int known = num(json_get(w, "attributed_utilization_percent"), &at);
			buf_printf(out, "    %-*s ", width, ws->u.object.keys[k]);
			bar(out, at, known);
			if (known)
				buf_printf(out, " %4.1f%% of the window", at);
			else
				buf_appends(out, "    ? of the window");
			if (num(json_get(w, "budget_percent"), &budget))
				buf_printf(out, ", budget %.0f%%", budget);
			yajl_val tok = json_get(w, "tokens");
			if (tok) {
				char in[16], o[16];
				count(in, sizeof in, num_or(json_get(tok, "in"), 0));
				count(o, sizeof o, num_or(json_get(tok, "out"), 0));
				buf_printf(out, "  tokens %s in, %s out", in, o);
			}
			buf_appends(out, "\n");
		}
	}
}

/* Names and reasons come from the answer: control characters (C0, DEL and C1 in UTF-8) become '?', so that none
 * reaches the terminal as an escape sequence (a title, a cleared screen, colours). Line ends stay. */
static void printable(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			p[i] = '?';
		else if (c == 0xc2 && i + 1 < n && (unsigned char)p[i + 1] >= 0x80 && (unsigned char)p[i + 1] <= 0x9f)
			p[i] = p[i + 1] = '?';
	}
}

int status_render(const char *doc, size_t len, int64_t now_s, struct buf *out, int *ready)
{
	size_t start = buf_size(out);
	yajl_val root = json_parse(doc, len);
	if (!root || !YAJL_IS_OBJECT(root) || !json_get(root, "windows")) {
		yajl_tree_free(root);
		return -1;
	}
	yajl_val accts = json_get(root, "accounts");
	size_t n = accts && YAJL_IS_OBJECT(accts) ? accts->u.object.len : 0, n_ready = 0;
	for (size_t i = 0; i < n; i++)
		n_ready += (size_t)login_ready(accts->u.object.values[i]);
	if (n == 0) /* a proxy from before several accounts: its one login is at the top level */
		n_ready = (size_t)login_ready(root);
	*ready = n_ready > 0;
	if (n > 1) {
		buf_printf(out, "%s: %zu of %zu accounts can sign requests\n", *ready ? "ready" : "not ready", n_ready, n);
		for (size_t i = 0; i < n; i++) {
			buf_appends(out, "\n");
			account_head(out, accts->u.object.keys[i], accts->u.object.values[i]);
			windows(out, "  ", json_get(accts->u.object.values[i], "windows"), now_s);
		}
	} else {
		const char *why = json_str(json_get(json_get(root, "login"), "reason"));
		buf_printf(out, "%s%s%s\n", *ready ? "ready" : "not ready", !*ready && why ? ": " : "",
			   !*ready && why ? why : "");
		windows(out, "", json_get(root, "windows"), now_s);
	}
	clients(out, json_get(root, "clients"));
	yajl_tree_free(root);
	printable(buf_ptr(out) + start, buf_size(out) - start);
	return 0;
}

/* ---- the command -------------------------------------------------------------------------------------------- */

/* http://HOST:PORT of the proxy this environment configures: its admin listener, else its client listener. */
static void default_url(char **envp, char *out, size_t len)
{
	const char *admin = config_env_get(envp, "ANTHROPIC_PROXY_ADMIN_LISTEN");
	const char *listen = config_env_get(envp, "ANTHROPIC_PROXY_LISTEN");
	char host[256] = "127.0.0.1";
	int port = 8080;
	if (!(admin && *admin && config_parse_admin_listen(admin, host, sizeof host, &port) == 0) &&
	    !(listen && *listen && config_split_hostport(listen, host, sizeof host, &port) == 0)) {
		snprintf(host, sizeof host, "127.0.0.1");
		port = 8080;
	}
	/* A wildcard listener is reached on loopback. */
	const char *h = strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : strcmp(host, "::") == 0 ? "::1" : host;
	int v6 = strchr(h, ':') != NULL;
	snprintf(out, len, "http://%s%s%s:%d", v6 ? "[" : "", h, v6 ? "]" : "", port);
}

static const char status_usage[] =
	"Usage: anthropic-proxy status [--url http://HOST:PORT]\n"
	"Prints a running proxy's windows (utilization, time to reset, tokens), accounts and clients, from its\n"
	"/usage. --url defaults to ANTHROPIC_PROXY_ADMIN_LISTEN, else ANTHROPIC_PROXY_LISTEN, else\n"
	"http://127.0.0.1:8080. Exit status: 0 ready, 1 not ready, 2 not reachable.\n";

int status_main(int argc, char **argv, char **envp)
{
	char base[400];
	default_url(envp, base, sizeof base);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(status_usage, stdout);
			return 0;
		}
		if (strncmp(a, "--url=", 6) == 0 || (strcmp(a, "--url") == 0 && i + 1 < argc)) {
			snprintf(base, sizeof base, "%s", a[5] == '=' ? a + 6 : argv[++i]);
			continue;
		}
		fprintf(stderr, "anthropic-proxy status: unexpected argument '%s'\n%s", a, status_usage);
		return STATUS_UNREACHABLE;
	}
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		base[--bl] = 0;
	char url[450], err[300];
	snprintf(url, sizeof url, "%s/usage", base);
	int code = 0;
	struct buf body;
	if (status_http_get(url, USAGE_MAX, &code, &body, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy status: %s: %s\n", base, err);
		return STATUS_UNREACHABLE;
	}
	int rc = STATUS_UNREACHABLE, ready = 0;
	struct buf out;
	buf_init(&out, 0);
	if (code != 200)
		fprintf(stderr, "anthropic-proxy status: %s answered %d for /usage%s\n", base, code,
			code == 404 ? " (with --admin-listen set, point --url at the admin listener)" : "");
	else if (status_render(buf_ptr(&body), buf_size(&body), (int64_t)time(NULL), &out, &ready))
		fprintf(stderr, "anthropic-proxy status: %s/usage is not an anthropic-proxy usage document\n", base);
	else {
		printf("anthropic-proxy at %s: %.*s", base, (int)buf_size(&out), buf_ptr(&out));
		rc = ready ? STATUS_READY : STATUS_NOT_READY;
	}
	buf_free(&out);
	buf_free(&body);
	return rc;
}
