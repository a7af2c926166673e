/* anthropic-proxy: start-up, signals and the loop. Everything else is in the modules main wires together. */
#include "app.h"
#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define DRAIN_TIMEOUT_MS 30000
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
	drain_deadline = uv_now(app->loop) + DRAIN_TIMEOUT_MS;
	uv_timer_init(app->loop, &drain_timer);
	drain_timer.data = app;
	uv_timer_start(&drain_timer, on_drain, 0, DRAIN_CHECK_MS);
}

int main(int argc, char **argv)
{
	static struct app app; /* large (the upstream decrypt buffer): keep it off the stack */
	char err[4096];

	switch (config_parse(&app.cfg, argc, argv, environ, err, sizeof err)) {
	case CONFIG_EXIT_OK:
		fputs(err, stdout);
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "anthropic-proxy: %s\n", err);
		return 2;
	case CONFIG_OK:
		break;
	}
	log_setup((enum log_level)app.cfg.log_level, app.cfg.log_json);
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
				   "(claude /login, --credentials PATH or CLAUDE_CODE_OAUTH_TOKEN) and the proxy restarts");
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
	upstream_free(&app.up);
	tls_ctx_free(&app.tls);
	usage_poll_free(&app.poll);
	otlp_free(&app.otlp);
	oauth_free(&app.oauth);
	log_msg(LOG_INFO, "shutdown", "stopped");
	return rc == UV_EBUSY ? 1 : 0;
}
