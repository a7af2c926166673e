/* app: the root object. It owns the loop, the configuration and every long-lived part; it is created in main
 * and passed down explicitly. There is no other mutable global state. */
#ifndef AP_APP_H
#define AP_APP_H

#include "account.h"
#include "alert.h"
#include "clients.h"
#include "clock.h"
#include "config.h"
#include "fleet.h"
#include "metrics.h"
#include "otlp.h"
#include "proxy.h"
#include "server.h"
#include "upstream.h"

#include <stdint.h>
#include <time.h>
#include <uv.h>

struct app {
	uv_loop_t *loop;          /* the one loop */
	struct config cfg;        /* immutable after start */
	struct tls_ctx tls;       /* TLS settings shared by every upstream origin */
	struct upstream up;       /* the API origin: client and pool */
	struct server srv;        /* listener and client connections */
	struct proxy proxy;       /* the API route: proxied exchanges */
	struct client_route admin;/* the admin route: /healthz, /readyz, /usage, /metrics */
	struct account *accounts; /* the subscriptions, in configuration order (one today: "default") */
	uint32_t n_accounts;      /* how many */
	struct clients clients;   /* named clients (--clients-file) and client keys: who used what, budgets */
	struct usage_poll_gate poll_gate; /* the accounts' usage polls, spaced */
	struct metrics metrics;   /* request-path counters and histograms */
	struct otlp otlp;         /* OTLP exporter (when configured) */
	struct alerts alerts;     /* alert conditions and their webhooks (when configured) */
	struct fleet fleet;       /* the fleet's shared state in Redis (when --redis is set) */
	int fleet_on;             /* --redis is set */
	uv_signal_t sig_term;     /* SIGTERM: drain and exit */
	uv_signal_t sig_int;      /* SIGINT: same */
	uv_signal_t sig_hup;      /* SIGHUP: re-read the credentials */
	uv_signal_t sig_usr1;     /* SIGUSR1: logged and ignored (there is no log file to reopen) */
	uv_signal_t sig_usr2;     /* SIGUSR2: the same */
	int stopping;             /* a stop signal arrived */
	uint64_t started_ms;      /* uv_now at start */
};

/* The account whose login and windows the one-account views (/usage's top level, the unlabelled metrics, the
 * state file) show, and which serves requests until routing chooses among several. */
static inline struct account *app_default_account(struct app *app) { return &app->accounts[0]; }

/* Wall-clock time in unix milliseconds (for values compared with the API's unix timestamps). */
static inline int64_t app_wall_ms(void) { return wall_ms(); }

/* The accounts' trackers and names, in order, as clients.h takes them (at most CLIENTS_MAX_ACCOUNTS). */
int app_trackers(struct app *app, const struct tracker **trackers, const char **names);

/* Reads --clients-file into the client table. Returns 0, or -1 with one line in err ("PATH:LINE: problem"); the
 * table is then unchanged. */
int app_load_clients(struct app *app, char *err, size_t errlen);

/* Writes the tracker state file when --state-file is set (atomic; logged on failure). */
void app_save_state(struct app *app);
/* Loads the tracker state file when --state-file is set (a missing or unreadable file is logged, not fatal). */
void app_load_state(struct app *app);

#endif
