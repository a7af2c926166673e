/* anthropic-proxy: start-up, signals and the loop. Everything else is in the modules main wires together. */
#include "app.h"
#include "log.h"

#include "fsutil.h"

#include <llhttp.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_version.h>
#include <zlib.h>

extern char **environ;

#define DRAIN_CHECK_MS 50

static uv_timer_t drain_timer; /* owned by main: the shutdown poll (the app struct stays free of it) */
static uint64_t drain_deadline;

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_drain(uv_timer_t *t)
{
	struct app *app = t->data;
	usage_poll_close(&app->poll);
	otlp_close(&app->otlp);
	if (!app->oauth.closing)
		oauth_close(&app->oauth);
	upstream_close(&app->up);
	if (app->srv.n_clients > 0 && uv_now(app->loop) < drain_deadline)
		return;
	if (app->srv.n_clients > 0) {
		struct log_line l;
		log_begin(&l, LOG_WARN, "drain_timeout");
		log_int(&l, "open_connections", app->srv.n_clients);
		log_end(&l);
		server_close_all(&app->srv);
	}
	app_save_state(app);
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, NULL);
	uv_close((uv_handle_t *)&app->sig_term, NULL);
	uv_close((uv_handle_t *)&app->sig_int, NULL);
	uv_close((uv_handle_t *)&app->sig_hup, NULL);
	/* Pooled connections closed above; anything left (a connection still dialing) closes with the walk. */
	uv_walk(app->loop, close_walk, NULL);
}

static void on_hup(uv_signal_t *s, int signum)
{
	struct app *app = s->data;
	(void)signum;
	log_msg(LOG_INFO, "reload", "SIGHUP: re-reading the credentials");
	oauth_reload(&app->oauth);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct app *app = s->data;
	if (app->stopping) {
		log_msg(LOG_WARN, "shutdown", "second signal: exiting now");
		exit(1);
	}
	app->stopping = 1;
	struct log_line l;
	log_begin(&l, LOG_INFO, "shutdown");
	log_str(&l, "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	log_int(&l, "open_connections", app->srv.n_clients);
	log_str(&l, "msg", "not accepting; letting answers in flight finish");
	log_end(&l);
	server_stop(&app->srv);
	drain_deadline = uv_now(app->loop) + app->cfg.drain_timeout_ms;
	uv_timer_init(app->loop, &drain_timer);
	drain_timer.data = app;
	uv_timer_start(&drain_timer, on_drain, 0, DRAIN_CHECK_MS);
}

/* --check URL: a health probe for images without curl. Blocking is fine here: no loop runs yet. */
static int check(const char *url)
{
	char host[256], path[1024] = "/";
	int port = 80;
	if (strncmp(url, "http://", 7) != 0) {
		fprintf(stderr, "anthropic-proxy: --check takes an http:// URL\n");
		return 2;
	}
	const char *hp = url + 7, *slash = strchr(hp, '/');
	size_t hl = slash ? (size_t)(slash - hp) : strlen(hp);
	if (hl == 0 || hl >= sizeof host) {
		fprintf(stderr, "anthropic-proxy: --check: bad URL\n");
		return 2;
	}
	memcpy(host, hp, hl);
	host[hl] = 0;
	if (slash)
		snprintf(path, sizeof path, "%s", slash);
	char *colon = strrchr(host, ':');
	if (colon) {
		*colon = 0;
		port = atoi(colon + 1);
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	char ports[8];
	snprintf(ports, sizeof ports, "%d", port);
	if (getaddrinfo(host, ports, &hints, &res)) {
		fprintf(stderr, "anthropic-proxy: --check: cannot resolve %s\n", host);
		return 1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 3};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int ok = 0;
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
		char req[1400], ans[64] = "";
		int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
		if (write(fd, req, (size_t)n) == n) {
			ssize_t got = read(fd, ans, sizeof ans - 1);
			ok = got > 12 && strncmp(ans, "HTTP/1.1 200", 12) == 0;
		}
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	if (!ok)
		fprintf(stderr, "anthropic-proxy: --check %s: not healthy\n", url);
	return ok ? 0 : 1;
}

/* --version: the proxy's own version, then each library's as it reports itself (llhttp is compiled in from
 * sources: its header's). */
static void print_versions(void)
{
	int y = yajl_version();
	printf("libuv %s\nllhttp %d.%d.%d\n%s\nyajl %d.%d.%d\nzlib %s\n", uv_version_string(), LLHTTP_VERSION_MAJOR,
	       LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH, tls_library_version(), y / 10000, y / 100 % 100, y % 100,
	       zlibVersion());
}

/* --client-keys-file: one key per line; blank lines and # comments ignored. The data stays alive with the config. */
static char *load_keys(struct config *cfg, char *err, size_t errlen)
{
	size_t len;
	char *data = fs_read_all(cfg->client_keys_file, 1024 * 1024, &len, err, errlen);
	if (!data)
		return NULL;
	int before = cfg->n_client_keys;
	for (char *line = data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		if (config_add_client_key(cfg, line)) {
			snprintf(err, errlen, "%s: keys are 8 to 256 visible characters, at most %d in all",
				 cfg->client_keys_file, CONFIG_MAX_CLIENT_KEYS);
			free(data);
			return NULL;
		}
	}
	if (cfg->n_client_keys == before) {
		snprintf(err, errlen, "%s holds no client keys", cfg->client_keys_file);
		free(data);
		return NULL;
	}
	return data;
}

int main(int argc, char **argv)
{
	static struct app app; /* large (the upstream decrypt buffer): keep it off the stack */
	char err[4096];
#if defined(M_MMAP_THRESHOLD) && defined(M_TOP_PAD)
	/* Mbed TLS gives every upstream connection a 16 KB input record buffer (plus a 4 KB output one: see
	 * deps/mbedtls_config.h), zeroed by calloc, and most records written into it are a few KB. calloc clears
	 * recycled heap memory (every page becomes resident) but not fresh pages from the system: with blocks this large
	 * mapped on their own and no padding kept at the heap's top, only the pages a connection writes cost memory
	 * (200 upstream connections: 8.6 MB peak instead of 13.5 MB), and a closed connection's buffers go back at once.
	 * Smaller allocations are unaffected. */
	mallopt(M_MMAP_THRESHOLD, 16 * 1024 + 256);
	mallopt(M_TOP_PAD, 0);
#endif

	switch (config_parse(&app.cfg, argc, argv, environ, err, sizeof err)) {
	case CONFIG_EXIT_OK:
		fputs(err, stdout);
		if (strncmp(err, "anthropic-proxy ", 16) == 0) /* --version (not --help) */
			print_versions();
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 2;
	case CONFIG_OK:
		break;
	}
	if (app.cfg.check_url)
		return check(app.cfg.check_url);
	log_setup((enum log_level)app.cfg.log_level, app.cfg.log_json);
	char *keys_data = NULL;
	if (app.cfg.client_keys_file && !(keys_data = load_keys(&app.cfg, err, sizeof err))) {
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 2;
	}
	if (app.cfg.n_client_keys == 0 && !config_is_loopback(app.cfg.listen_host))
		log_msg(LOG_WARN, "unauthenticated",
			"listening beyond loopback without client keys (--allow-unauthenticated): anyone who reaches this "
			"port uses your subscription");
	signal(SIGPIPE, SIG_IGN);

	app.loop = uv_default_loop();
	app.started_ms = uv_now(app.loop);
	if (tls_ctx_init(&app.tls, app.cfg.ca_file, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy: %s (set --ca-file)\n", err);
		tls_ctx_free(&app.tls);
		return 2;
	}
	upstream_init(&app.up, app.loop, app.cfg.upstream_host, app.cfg.upstream_port, &app.tls);
	app.up.connect_timeout_ms = app.cfg.connect_timeout_ms;
	app.up.io_timeout_ms = app.cfg.upstream_timeout_ms;
	app.up.pool_idle_ms = app.cfg.pool_idle_ms;
	app.up.pool_max = app.cfg.pool_size;

	oauth_init(&app.oauth, app.loop, &app.cfg, &app.tls);
	if (oauth_load(&app.oauth, environ)) {
		struct log_line l;
		log_begin(&l, LOG_WARN, "no_credentials");
		log_str(&l, "reason", app.oauth.problem);
		log_str(&l, "msg", "serving /healthz; proxied requests get 503 until credentials are provided "
				   "(claude /login, --credentials PATH or CLAUDE_CODE_OAUTH_TOKEN), then SIGHUP or a restart");
		log_end(&l);
	}

	metrics_init(&app.metrics, app_wall_ms());
	tracker_init(&app.tracker, app.cfg.warn_utilization);
	app_load_state(&app);
	if (otlp_init(&app.otlp, &app, environ, &app.tls, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 2;
	}
	otlp_start(&app.otlp);
	usage_poll_init(&app.poll, &app, app.cfg.poll_interval_ms);
	usage_poll_start(&app.poll);

	if (server_start(&app.srv, &app, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 1;
	}
	oauth_start(&app.oauth);
	uv_signal_init(app.loop, &app.sig_hup);
	app.sig_hup.data = &app;
	uv_signal_start(&app.sig_hup, on_hup, SIGHUP);
	uv_signal_init(app.loop, &app.sig_term);
	uv_signal_init(app.loop, &app.sig_int);
	app.sig_term.data = app.sig_int.data = &app;
	uv_signal_start(&app.sig_term, on_signal, SIGTERM);
	uv_signal_start(&app.sig_int, on_signal, SIGINT);

	struct log_line l;
	log_begin(&l, LOG_INFO, "listening");
	log_str(&l, "listen", app.cfg.listen);
	log_str(&l, "upstream", app.cfg.upstream);
	log_str(&l, "version", AP_VERSION);
	log_end(&l);

	uv_run(app.loop, UV_RUN_DEFAULT);

	int rc = uv_loop_close(app.loop);
	if (rc == UV_EBUSY)
		log_msg(LOG_ERROR, "shutdown", "a handle was still open at exit (a bug)");
	server_free(&app.srv);
	upstream_free(&app.up);
	tls_ctx_free(&app.tls);
	usage_poll_free(&app.poll);
	otlp_free(&app.otlp);
	oauth_free(&app.oauth);
	free(keys_data);
	log_msg(LOG_INFO, "shutdown", "stopped");
	return rc == UV_EBUSY ? 1 : 0;
}
