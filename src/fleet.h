/* fleet: several proxies in front of the same subscriptions, sharing through Redis (README "A fleet of proxies").
 *
 * Per account, under --redis-prefix (P) and the account's name (A):
 *   P login:A           hash {v, access, refresh, expires, scope, by}: the login; v grows by one per rotation and
 *                        a write with a v not above the stored one is refused (a Lua compare-and-set)
 *   P lease:refresh:A   the refresh lease (SET owner NX PX --redis-lease), released by compare-and-delete
 *   P lease:poll:A      the usage-poll lease (SET NX PX 90% of --poll-interval): one poll per account per period
 *   P usage:A           "<unix ms> <body>": the last poll's answer, for the replicas that did not poll
 *   P windows:A         hash window -> "<ms> <utilization> <reset s> <status>": windows seen in answer headers,
 *                        newest first (a Lua compare on the time)
 *   P tokens:A:W        hash replica -> "<reset s> <input> <output> <cache writes> <cache reads> <requests>": each
 *                        replica's absolute count in window W's period; the fleet total is their sum over fields
 *                        with the same period. Absolute values, not increments: a retry or a reconnect cannot
 *                        count twice, and what a restarted Redis lost is simply written again. Expires an hour
 *                        after the period's reset.
 *   P clients:A:W       hash "client|replica" -> the same, per named client: budgets count fleet totals
 *   P replicas          sorted set replica -> last seen (unix ms)
 * and the channel P events ("login A V", "usage A") that tells the other replicas to look now rather than at
 * their next sync (every second; a sync also catches a missed message).
 *
 * The login (oauth.h's store): a refresh needs the refresh lease; the holder refreshes, stores the new pair and
 * announces it; the others adopt it without refreshing. Redis down: nothing blocks, nothing is refreshed (see
 * oauth.h), counters go on locally and are written again on reconnect. Tokens in Redis never reach a log. */
#ifndef AP_FLEET_H
#define AP_FLEET_H

#include "account.h"
#include "buf.h"
#include "clients.h"
#include "config.h"
#include "redis.h"

#include <stdint.h>
#include <uv.h>

enum fleet_lease { FLEET_LEASE_REFRESH, FLEET_LEASE_POLL, FLEET_LEASES };
enum fleet_lease_result { FLEET_ACQUIRED, FLEET_BUSY, FLEET_LEASE_RESULTS };
extern const char *const fleet_lease_names[FLEET_LEASES];
extern const char *const fleet_lease_result_names[FLEET_LEASE_RESULTS];

struct fleet;

/* A window's fleet total, as last read. */
struct fleet_window {
	char name[24];                  /* "" unused */
	int64_t resets_at;              /* the period it counts */
	struct tracker_tokens tokens;   /* every replica's tokens in it */
	int replicas;                   /* replicas that counted some */
	struct tracker_tokens pushed;   /* what this replica last wrote */
	int dirty;                      /* write even if unchanged (after a reconnect) */
	int64_t header_pushed_ms;       /* the header value last written (util_at_ms) */
};

struct fleet_account {
	struct fleet *f;                /* owner */
	struct account *a;              /* the account (not owned) */
	int index;                      /* its position in the app's list */
	struct oauth_store store;       /* what oauth calls */
	struct usage_poll_share share;  /* what the usage poll calls */
	char k_login[200], k_lease[200], k_poll[200], k_usage[200], k_windows[200];
	int lease_set_ok;               /* the SET NX of the refresh lease in flight succeeded */
	struct fleet_window w[TRACKER_MAX_WINDOWS]; /* by tracker window index */
	uint64_t n_usage_adopted;       /* snapshots of another replica's poll applied */
	uint64_t n_windows_adopted;     /* header windows of other replicas applied */
	uint64_t n_published;           /* snapshots published */
	int64_t usage_at_ms;            /* the newest snapshot applied or published */
};

struct fleet {
	uv_loop_t *loop;                /* the loop (not owned) */
	const struct config *cfg;       /* prefix, lease length (not owned) */
	struct redis redis;             /* the connections */
	struct clients *clients;        /* named clients (not owned) */
	struct fleet_account *acc;      /* one per account */
	int n;                          /* how many */
	char replica[96];               /* this process: host name and a random part */
	char channel[160];              /* P events */
	uv_timer_t timer;               /* the sync */
	uint64_t leases[FLEET_LEASES][FLEET_LEASE_RESULTS]; /* lease attempts by outcome */
	uint64_t n_login_adopted;       /* logins adopted from the store */
	int replicas;                   /* replicas seen in the last 15 s, as last read */
	int started;                    /* fleet_start ran */
};

/* Cannot fail; no I/O. `accounts` and `clients` outlive the fleet. Store-only accounts (--account NAME without a
 * path) are marked so before their credentials would be looked for: call before account_load. */
void fleet_init(struct fleet *f, uv_loop_t *loop, const struct config *cfg, const struct redis_url *url,
		struct account *accounts, int n, struct clients *clients);
/* Wires each account's login and usage poll to the fleet (before account_start) and connects. */
void fleet_start(struct fleet *f);
/* Whether commands are still out (a new login being stored among them): a drain waits for them before fleet_close. */
int fleet_busy(const struct fleet *f);
void fleet_close(struct fleet *f);
void fleet_free(struct fleet *f);

/* Takes the replica name a state file saved (ignored unless it is [A-Za-z0-9._-]{1,95}): counters restored from
 * that file are then this replica's fields in Redis again, not a second copy. Before fleet_start. */
void fleet_set_replica(struct fleet *f, const char *name);
/* /usage's "fleet" object. */
int fleet_render_json(const struct fleet *f, struct buf *out, int64_t now_ms);

#endif
