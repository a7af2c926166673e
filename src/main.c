/* anthropic-proxy: start-up, signals and the loop. Everything else is in the modules main wires together. */
#include "admin.h"
#include "app.h"
#include "door.h"
#include "log.h"
#include "status.h"

#include "fsutil.h"
#include "url.h"

#include <errno.h>
#include <llhttp.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <yajl/yajl_version.h>
#include <zlib.h>

extern char **environ;

#define DRAIN_CHECK_MS 50
#define POLL_STAGGER_MAX_MS 5000 /* usage polls of several accounts this far apart (less when the interval is short) */

static uv_timer_t drain_timer; /* owned by main: the shutdown poll (the app struct stays free of it) */
static uint64_t drain_deadline;

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* What must end before the accounts and the fleet close: a token request already out (the server may rotate the
 * login with it: cut off, the new pair would be lost and the old refresh token spent), then the fleet's commands
 * still unanswered (the new pair being stored among them). */
static int settling(struct app *app)
{
	for (uint32_t i = 0; i < app->n_accounts; i++)
		if (oauth_refresh_in_flight(&app->accounts[i].oauth))
			return 1;
	return app->fleet_on && fleet_busy(&app->fleet);
}

static void on_drain(uv_timer_t *t)
{
	struct app *app = t->data;
	if (uv_now(app->loop) < drain_deadline && settling(app))
		return;
	for (uint32_t i = 0; i < app->n_accounts; i++)
		account_close(&app->accounts[i]);
	otlp_close(&app->otlp);
	alert_close(&app->alerts);
	upstream_close(&app->up);
	if (app->fleet_on)
		fleet_close(&app->fleet);
	if (app->srv.n_clients > 0 && uv_now(app->loop) < drain_deadline)
		return;
	if (app->srv.n_clients > 0) {
		struct log_line l;
		log_begin(&l, AP_WARN, "drain_timeout");
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
	uv_close((uv_handle_t *)&app->sig_usr1, NULL);
	uv_close((uv_handle_t *)&app->sig_usr2, NULL);
	/* Closing a signal handle restores the default action, which for these two ends the process. */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	/* Pooled connections closed above; anything left (a connection still dialing) closes with the walk. */
	uv_walk(app->loop, close_walk, NULL);
}

/* A usage poll moved an account's windows: keep them, and look at the alert conditions now. */
static void on_poll_applied(void *arg)
{
	struct app *app = arg;
	app_save_state(app);
	alert_kick(&app->alerts);
}

static void on_hup(uv_signal_t *s, int signum)
{
	struct app *app = s->data;
	(void)signum;
	log_msg(AP_INFO, "reload", "SIGHUP: re-reading the credentials");
	for (uint32_t i = 0; i < app->n_accounts; i++)
		account_reload(&app->accounts[i]);
	if (app->cfg.clients_file) {
		char err[400];
		struct log_line l;
		if (app_load_clients(app, err, sizeof err)) {
			log_begin(&l, AP_ERROR, "clients_not_reloaded");
			log_str(&l, "msg", err);
			log_str(&l, "kept", "the clients as they were");
		} else {
			log_begin(&l, AP_INFO, "clients_reloaded");
			log_str(&l, "path", app->cfg.clients_file);
			log_int(&l, "clients", app->clients.n_keys);
		}
		log_end(&l);
	}
	alert_kick(&app->alerts);
}

/* SIGUSR1/SIGUSR2: conventionally "reopen the log file" and "rotate"; logs go to stderr, which the supervisor owns,
 * so there is nothing to reopen. The signals are logged and do not end the process. */
static void on_usr(uv_signal_t *s, int signum)
{
	(void)s;
	struct log_line l;
	log_begin(&l, AP_INFO, "signal_ignored");
	log_str(&l, "signal", signum == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
	log_str(&l, "msg", "logs go to stderr: there is no log file to reopen");
	log_end(&l);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct app *app = s->data;
	if (app->stopping) {
		log_msg(AP_WARN, "shutdown", "second signal: exiting now");
		log_flush(); /* batched lines, this one included, go out before exit (atexit would too: say it here) */
		exit(1);
	}
	app->stopping = 1;
	struct log_line l;
	log_begin(&l, AP_INFO, "shutdown");
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

/* --check URL: a health probe for images without curl (status.h's blocking client: no loop runs yet). */
static int check(const char *url)
{
	struct url u;
	if (url_parse(url, &u) || strcmp(u.scheme, "http") || u.userinfo[0]) {
		fprintf(stderr, "anthropic-proxy: --check takes an http:// URL\n");
		return 2;
	}
	struct buf body;
	char err[300];
	int code = 0;
	if (status_http_get(url, 1024 * 1024, &code, &body, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy: --check %s: not healthy: %s\n", url, err);
		return 1;
	}
	buf_free(&body);
	if (code != 200)
		fprintf(stderr, "anthropic-proxy: --check %s: not healthy: status %d\n", url, code);
	return code == 200 ? 0 : 1;
}

/* --version: the proxy's own version, then each library's as it reports itself (llhttp is compiled in from
 * sources: its header's). */
static void print_versions(void)
{
	int y = yajl_version();
	printf("libuv %s\nllhttp %d.%d.%d\n%s\nyajl %d.%d.%d\nzlib %s\nhiredis %d.%d.%d\n", uv_version_string(),
	       LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH, tls_library_version(), y / 10000,
	       y / 100 % 100, y % 100, zlibVersion(), HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
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

/* --state-file: the counters are written there at each poll and at shutdown; a directory that cannot take the file
 * would lose them hours later, so it stops the start now. Returns 0, or -1 with the one line to print in err. */
static int check_state_file(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--state-file %s is a directory: give a file path such as %s/state.json", path, path);
		return -1;
	}
	int e = fs_dir_writable(path, dir, sizeof dir);
	if (e == ENOENT || e == ENOTDIR)
		snprintf(err, errlen, "--state-file %s: directory %s does not exist; create it (writable by this user) "
			 "or choose another path", path, dir);
	else if (e)
		snprintf(err, errlen, "--state-file %s: directory %s is not writable by this user (uid %u): %s; make it "
			 "writable (in a container, mount it read-write) or choose another path", path, dir,
			 (unsigned)geteuid(), strerror(e));
	return e ? -1 : 0;
}

/* A login read from a file is written back after every refresh (the refresh token rotates): a directory the proxy
 * cannot write in would surface only at the first refresh, hours later, as a dead login. Said loudly now. */
static void check_credentials_dir(const struct account *a, const struct config *cfg)
{
	if (a->oauth.source != OAUTH_FILE || cfg->follow_credentials)
		return;
	char dir[4096];
	int e = fs_dir_writable(a->oauth.path, dir, sizeof dir);
	if (!e)
		return;
	struct log_line l;
	log_begin(&l, AP_WARN, "credentials_dir_not_writable");
	log_str(&l, "account", a->name);
	log_str(&l, "path", a->oauth.path);
	log_str(&l, "dir", dir);
	log_str(&l, "error", strerror(e));
	log_str(&l, "msg", "the proxy rewrites the credentials file when it refreshes the token (every few hours) and "
			   "cannot write in its directory: the login will die at the first refresh. Make the directory "
			   "writable by this user (in a container, mount it read-write, not :ro), or run with "
			   "--follow-credentials next to a Claude Code that keeps the login fresh");
	log_end(&l);
}

#define FD_RESERVE 64 /* descriptors kept for the listener, the token endpoints, files, logs */

/* The open-file soft limit is raised to the hard one; without --max-connections the proxy takes what that allows,
 * two descriptors per client (its socket and an upstream connection), and warns when the flag asks for more. */
static void fit_connections(struct config *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = {rl.rlim_max, rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	uint64_t fds = rl.rlim_cur == RLIM_INFINITY ? 2000000 : (uint64_t)rl.rlim_cur;
	uint64_t fit = fds > FD_RESERVE + 2 ? (fds - FD_RESERVE) / 2 : 1;
	if (fit > 1000000)
		fit = 1000000;
	if (!cfg->max_connections) {
		cfg->max_connections = (uint32_t)fit;
		return;
	}
	if (cfg->max_connections > fit) {
		struct log_line l;
		log_begin(&l, AP_WARN, "max_connections");
		log_int(&l, "max_connections", cfg->max_connections);
		log_int(&l, "open_file_limit", (long long)fds);
		log_int(&l, "fits", (long long)fit);
		log_str(&l, "msg", "--max-connections asks for more connections than the open-file limit allows (two "
				   "descriptors each); raise the limit (ulimit -n) or lower the flag");
		log_end(&l);
	}
}

/* Tokens live in this process's memory: no core file, and no ptrace or /proc/PID/mem for other processes of the
 * same user, unless asked for. */
static void no_core_dumps(const struct config *cfg)
{
	if (cfg->allow_core_dumps)
		return;
	struct rlimit none = {0, 0};
	if (setrlimit(RLIMIT_CORE, &none) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		log_msg(AP_WARN, "core_dumps", "could not turn core dumps off");
}

int main(int argc, char **argv)
{
	static struct app app; /* large (the upstream decrypt buffer): keep it off the stack */
	char err[16384];
#if defined(M_MMAP_THRESHOLD) && defined(M_TOP_PAD) && defined(M_ARENA_MAX)
	/* Mbed TLS gives every upstream connection a 16,429-byte input record buffer (plus a 4 KB output one: see
	 * deps/mbedtls_config.h), zeroed by calloc, and most records written into it are a few KB. calloc clears
	 * recycled heap memory (every page becomes resident) but not fresh pages from the system: with blocks this large
	 * mapped on their own and no padding kept at the heap's top, only the pages a connection writes cost memory
	 * (200 upstream connections: 8.6 MB peak instead of 13.5 MB), and a closed connection's buffers go back at once.
	 * The threshold sits just below that buffer's size; smaller allocations are unaffected. */
	mallopt(M_MMAP_THRESHOLD, 16 * 1024);
	mallopt(M_TOP_PAD, 0);
	/* The only other threads are libuv's pool, for name resolution: one heap is enough, and each extra arena would
	 * keep its own resident pages (4 threads: ~50 KB). */
	mallopt(M_ARENA_MAX, 1);
#endif

	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_main(argc - 1, argv + 1, environ);
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
	if (app.cfg.state_file && check_state_file(app.cfg.state_file, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 2;
	}
	log_setup((enum log_level)app.cfg.log_level, app.cfg.log_json);
	no_core_dumps(&app.cfg);
	struct sysinfo si;
	if (sysinfo(&si) == 0 && app.cfg.max_body_size > (uint64_t)si.totalram * si.mem_unit) {
		fprintf(stderr,
			"anthropic-proxy: --max-body-size %llu is more than this machine's memory (%llu bytes): each request "
			"body is held whole\n",
			(unsigned long long)app.cfg.max_body_size, (unsigned long long)si.totalram * si.mem_unit);
		return 2;
	}
	fit_connections(&app.cfg);
	if (app.cfg.client_keys_in_argv)
		log_msg(AP_WARN, "client_keys_in_argv",
			"--client-key on the command line is visible to every local user (/proc/PID/cmdline); use "
			"--client-keys-file or ANTHROPIC_PROXY_CLIENT_KEY instead");
	char *keys_data = NULL;
	if (app.cfg.client_keys_file && !(keys_data = load_keys(&app.cfg, err, sizeof err))) {
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 2;
	}
	/* The client table: --client-key keys (named by a fingerprint), then the clients file. */
	clients_init(&app.clients, app.cfg.accounts.n ? app.cfg.accounts.n : 1);
	for (int i = 0; i < app.cfg.n_client_keys; i++)
		if (clients_add_key(&app.clients, app.cfg.client_keys[i])) {
			fprintf(stderr, "anthropic-proxy: client key %d is given twice, or there are more than %d\n", i + 1,
				CLIENTS_MAX);
			return 2;
		}
	if (app_load_clients(&app, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 2;
	}
	if (app.clients.n_keys == 0 && !config_is_loopback(app.cfg.listen_host))
		log_msg(AP_WARN, "unauthenticated",
			"listening beyond loopback without client keys (--allow-unauthenticated): anyone who reaches this "
			"port uses your subscription");
	if (app.cfg.admin_listen && !config_is_loopback(app.cfg.admin_host))
		log_msg(AP_WARN, "admin_listen_public",
			"--admin-listen is beyond loopback: /usage and /metrics (account names, windows, clients) are "
			"served there without client keys to anyone who reaches it; keep it on loopback or a private network");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN); /* until their handlers below are in place */
	signal(SIGUSR2, SIG_IGN);

	app.loop = uv_default_loop();
	app.started_ms = uv_now(app.loop);
	if (tls_ctx_init(&app.tls, app.cfg.ca_file, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy: %s (set --ca-file)\n", err);
		tls_ctx_free(&app.tls);
		return 2;
	}
	const struct upstream_opts up_opts = {
		.connect_timeout_ms = app.cfg.connect_timeout_ms,
		.io_timeout_ms = app.cfg.upstream_timeout_ms,
		.pool_idle_ms = app.cfg.pool_idle_ms,
		.pool_max = app.cfg.pool_size,
	};
	upstream_init(&app.up, app.loop, app.cfg.upstream_host, app.cfg.upstream_port, &app.tls, &up_opts);

	/* --account NAME=PATH, in order; without it the one account "default" (--credentials or the defaults). */
	app.n_accounts = app.cfg.accounts.n ? (uint32_t)app.cfg.accounts.n : 1;
	app.accounts = calloc(app.n_accounts, sizeof *app.accounts);
	if (!app.accounts) {
		fprintf(stderr, "anthropic-proxy: out of memory\n");
		return 1;
	}
	/* The usage endpoint is rate-limited per address as well as per token: the accounts' polls go out at least
	 * this far apart (their first polls too), never in one burst. */
	uint64_t stagger = app.cfg.poll_interval_ms / app.n_accounts;
	if (stagger > POLL_STAGGER_MAX_MS)
		stagger = POLL_STAGGER_MAX_MS;
	app.poll_gate.min_gap_ms = app.n_accounts > 1 ? stagger : 0;
	const struct account_env env = {.loop = app.loop, .cfg = &app.cfg, .tls = &app.tls, .up = &app.up,
					.poll_gate = &app.poll_gate, .on_poll_applied = on_poll_applied, .arg = &app};
	if (app.cfg.accounts.n)
		for (uint32_t i = 0; i < app.n_accounts; i++)
			account_init(&app.accounts[i], app.cfg.accounts.v[i], app.cfg.account_paths[i], &env);
	else
		account_init(&app.accounts[0], "default", app.cfg.credentials, &env);
	struct redis_url rurl;
	if (app.cfg.redis) {
		if (redis_parse_url(app.cfg.redis, &rurl, err, sizeof err)) {
			fprintf(stderr, "anthropic-proxy: %s\n", err);
			return 2;
		}
		const char *pw = config_env_get(environ, "ANTHROPIC_PROXY_REDIS_PASSWORD");
		if (pw && *pw && !rurl.password[0])
			snprintf(rurl.password, sizeof rurl.password, "%s", pw);
		fleet_init(&app.fleet, app.loop, &app.cfg, &rurl, app.accounts, (int)app.n_accounts, &app.clients);
		app.fleet_on = 1;
		explicit_bzero(&rurl, sizeof rurl);
	}
	for (uint32_t i = 0; i < app.n_accounts; i++) {
		if (app.cfg.accounts.n && !app.cfg.account_paths[i]) {
			oauth_use_store_only(&app.accounts[i].oauth); /* --account NAME with --redis: the fleet's login */
			continue;
		}
		account_load(&app.accounts[i], environ);
		check_credentials_dir(&app.accounts[i], &app.cfg);
	}

	metrics_init(&app.metrics, app_wall_ms());
	app_load_state(&app);
	if (otlp_init(&app.otlp, &app, environ, &app.tls, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 2;
	}
	otlp_start(&app.otlp);
	proxy_init(&app.proxy, &app);
	admin_route_init(&app.admin, &app);
	server_init(&app.srv, app.loop, &app.cfg, &app.metrics);
	app.srv.client_table = &app.clients;
	server_route(&app.srv, DOOR_API, &app.proxy.route);
	server_route(&app.srv, DOOR_ADMIN, &app.admin);
	if (server_start(&app.srv, err, sizeof err)) {
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 1;
	}
	if (app.fleet_on)
		fleet_start(&app.fleet);
	for (uint32_t i = 0; i < app.n_accounts; i++)
		account_start(&app.accounts[i], i * stagger);
	alert_init(&app.alerts, app.loop, &app.cfg, &app.tls, &app.accounts, &app.n_accounts, &app.clients);
	alert_start(&app.alerts);
	uv_signal_init(app.loop, &app.sig_hup);
	app.sig_hup.data = &app;
	uv_signal_start(&app.sig_hup, on_hup, SIGHUP);
	uv_signal_init(app.loop, &app.sig_term);
	uv_signal_init(app.loop, &app.sig_int);
	app.sig_term.data = app.sig_int.data = &app;
	uv_signal_start(&app.sig_term, on_signal, SIGTERM);
	uv_signal_start(&app.sig_int, on_signal, SIGINT);
	uv_signal_init(app.loop, &app.sig_usr1);
	uv_signal_init(app.loop, &app.sig_usr2);
	uv_signal_start(&app.sig_usr1, on_usr, SIGUSR1);
	uv_signal_start(&app.sig_usr2, on_usr, SIGUSR2);

	struct log_line l;
	log_begin(&l, AP_INFO, "listening");
	log_str(&l, "listen", app.cfg.listen);
	char admin[300];
	if (app.cfg.admin_listen) {
		int v6 = strchr(app.cfg.admin_host, ':') != NULL;
		snprintf(admin, sizeof admin, "%s%s%s:%d", v6 ? "[" : "", app.cfg.admin_host, v6 ? "]" : "",
			 app.cfg.admin_port);
		log_str(&l, "admin_listen", admin);
	}
	log_str(&l, "upstream", app.cfg.upstream);
	log_str(&l, "version", AP_VERSION);
	log_end(&l);
	/* From here on lines are written once per loop turn; everything above (start-up messages, configuration
	 * errors) went out at once, so a supervisor waiting for "listening" sees it before the first turn. */
	log_batch_start(app.loop);

	uv_run(app.loop, UV_RUN_DEFAULT);
	/* The shutdown walk closed the log's handles (else they are closed here and one more turn runs their close):
	 * what the last turn logged goes out now, and the lines below are written at once. */
	log_batch_stop();
	uv_run(app.loop, UV_RUN_NOWAIT);

	int rc = uv_loop_close(app.loop);
	if (rc == UV_EBUSY)
		log_msg(AP_ERROR, "shutdown", "a handle was still open at exit (a bug)");
	server_free(&app.srv);
	proxy_free(&app.proxy);
	upstream_free(&app.up);
	tls_ctx_free(&app.tls);
	otlp_free(&app.otlp);
	alert_free(&app.alerts);
	if (app.fleet_on)
		fleet_free(&app.fleet);
	for (uint32_t i = 0; i < app.n_accounts; i++)
		account_free(&app.accounts[i]);
	free(app.accounts);
	clients_free(&app.clients);
	free(keys_data);
	log_msg(AP_INFO, "shutdown", "stopped");
	return rc == UV_EBUSY ? 1 : 0;
}
