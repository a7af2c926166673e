/* clients: the named clients, their budgets and what each used (README "Named clients and budgets").
 *
 * The table holds the clients of --clients-file (`NAME KEY [WINDOW=PCT ...] [overage=allow]`) and the keys of
 * --client-key / --client-keys-file, which are clients without budgets named `key-` + 8 hex digits of the key's
 * SHA-256. The front door (door.h) matches a request's key against it and hands the index on; the proxy counts the
 * answer's tokens here and asks whether a budget is spent before routing.
 *
 * Pure: no I/O (the caller reads the file), times passed in, so the parser and the attribution are unit-tested.
 *
 * Slots are stable: a client keeps its index (and its counters) across reloads while its name stays in the file; a
 * name dropped from the file leaves its slot inactive (its key no longer matches), and a slot is reused for another
 * name only when no never-used slot is left. An index taken at a request's head therefore still names the same
 * client when its answer ends.
 *
 * Attribution: per client, per account, per tracker window, the tokens the client sent in that window's current
 * period (counted with tracker_window_applies, as the tracker counts), tagged with the window's `rollovers` count,
 * so a slot whose tag differs from the window's now counts zero: it rolls over exactly with the window. A window's
 * utilization U is attributed to a client in proportion to its weighted tokens among all weighted tokens that
 * window counted (traffic of no client keeps its share); weights are the API's relative prices: input 1, cache
 * writes 1.25, cache reads 0.1, output 5. With several accounts a budget is a share of the pool: the attributed
 * utilization of window w is the sum over the accounts that have w of U_a,w * share_a,w divided by their number. */
#ifndef AP_CLIENTS_H
#define AP_CLIENTS_H

#include "buf.h"
#include "tracker.h"

#include <stddef.h>
#include <stdint.h>

#define CLIENTS_MAX 128         /* slots: file clients plus --client-key keys, inactive ones included */
#define CLIENTS_NAME_MAX 32     /* [a-z0-9_-]{1,32} */
#define CLIENTS_KEY_MAX 256     /* keys are 8-256 visible characters */
#define CLIENTS_MAX_BUDGETS 8   /* budgets per client */
#define CLIENTS_MAX_ACCOUNTS 16 /* as router.h */
#define CLIENTS_CLASSES 6       /* status classes (metrics.h enum metrics_class) */

#define CLIENTS_W_INPUT 1.0
#define CLIENTS_W_CACHE_WRITE 1.25
#define CLIENTS_W_CACHE_READ 0.1
#define CLIENTS_W_OUTPUT 5.0

struct clients_budget {
	char window[24]; /* a tracker window name: [a-z0-9_]{1,23} */
	double share;    /* fraction of the window, (0, 1] */
	uint64_t refusals; /* requests refused for this budget (carried over a reload by window name) */
};

/* One client as the file defines it. */
struct clients_def {
	char name[CLIENTS_NAME_MAX + 1];
	char key[CLIENTS_KEY_MAX + 1];
	struct clients_budget budgets[CLIENTS_MAX_BUDGETS];
	int n_budgets;
	int overage; /* overage=allow: may be served by an account drawing on extra usage (with --allow-overage) */
};

/* A client's tokens in one account's window. */
struct clients_slot {
	uint64_t tag;                 /* the window's `rollovers` when these were counted */
	char window[24];              /* the window's name ("" unused): a slot belongs to tracker window i by name */
	struct tracker_tokens tokens; /* since the window's period began */
	struct tracker_tokens others; /* the other replicas' tokens of this client in this period (fleet.h) */
};

struct clients_entry {
	struct clients_def def;       /* name, key, budgets, overage */
	unsigned active : 1;          /* its key lets requests in */
	unsigned from_file : 1;       /* from --clients-file (else a --client-key key) */
	unsigned used : 1;            /* the slot was ever taken */
	struct clients_slot *slots;   /* [account * TRACKER_MAX_WINDOWS + window], or NULL until it counts */
	struct tracker_tokens total;  /* since start */
	uint64_t by_class[CLIENTS_CLASSES]; /* requests by status class, since start */
};

struct clients {
	struct clients_entry e[CLIENTS_MAX]; /* slots */
	int n;                               /* slots ever used */
	int n_keys;                          /* active clients (keys the front door checks) */
	int n_accounts;                      /* accounts whose windows are counted */
};

/* Cannot fail; clients_free is safe after it. */
void clients_init(struct clients *cl, int n_accounts);
void clients_free(struct clients *cl);

/* Whether `name` is [a-z0-9_-]{1,32}. */
int clients_name_ok(const char *name);
/* The name of a --client-key key: "key-" + 8 hex digits of its SHA-256 (out: at least 13 bytes). */
void clients_key_name(const char *key, char *out, size_t n);

/* Parses a clients file's text. `path` names it in errors. Returns the number of clients (at most `max`), or -1
 * with one line in err: "PATH:LINE: problem". Duplicate names or keys are errors. */
int clients_parse(const char *text, size_t len, const char *path, struct clients_def *defs, int max, char *err,
		  size_t errlen);
/* Adds a --client-key key (at start, before clients_apply). Returns 0, or -1 when the table is full or the key is
 * there already. */
int clients_add_key(struct clients *cl, const char *key);
/* Makes `defs` the file's clients (start and reload). Nothing changes on error (-1 with err: a file client's key
 * or name collides with a --client-key one, or the table is full). */
int clients_apply(struct clients *cl, const struct clients_def *defs, int n, char *err, size_t errlen);

/* The active client whose key is k[0..n), compared against every key in constant time: its index, or -1. */
int clients_match(const struct clients *cl, const char *k, size_t n);

/* Weighted tokens (the weights above). */
double clients_weighted(const struct tracker_tokens *k);

/* Counts an answer's tokens for client `c` on account `a`, after tracker_record counted them in `t` (values < 0:
 * not seen). */
void clients_record(struct clients *cl, int c, int a, const struct tracker *t, const char *model, int64_t input,
		    int64_t output, int64_t cache_creation, int64_t cache_read, int64_t now_ms);
/* One answer's status class, for the requests counter. */
void clients_count_request(struct clients *cl, int c, int status_class);

/* The client's tokens in window i of account a's tracker t (zero when the window rolled over since). */
const struct tracker_tokens *clients_window_tokens(const struct clients *cl, int c, int a, const struct tracker *t,
						   int i);
/* The other replicas' tokens of client c in window i of account a (fleet.h): its budget counts them. */
void clients_set_others(struct clients *cl, int c, int a, const struct tracker *t, int i,
			const struct tracker_tokens *others);
/* The fleet's tokens of client c in that window: this replica's plus the others'. */
struct tracker_tokens clients_fleet_tokens(const struct clients *cl, int c, int a, const struct tracker *t, int i);
/* Its share (0..1) of that window's weighted tokens, fleet-wide when the replicas' counts are known. */
double clients_share(const struct clients *cl, int c, int a, const struct tracker *t, int i);

/* A client's part of one window over the pool. */
struct clients_attribution {
	double utilization;           /* attributed utilization (fraction), or -1 when no account knows the window's */
	int accounts;                 /* accounts that have the window with a known utilization */
	int64_t resets_at;            /* the earliest reset among those where the client holds a share (unix s), 0 unknown */
	struct tracker_tokens tokens; /* its tokens in the window, summed over the accounts */
};
void clients_attribute(const struct clients *cl, int c, const struct tracker *const *trackers, int n_accounts,
		       const char *window, int64_t now_ms, struct clients_attribution *out);

/* The budget of client c that the request (for `model`) would break, if any. */
struct clients_verdict {
	int budget;          /* index in def.budgets, or -1: within every budget */
	double used;         /* attributed utilization of that window (fraction) */
	int64_t resets_at;   /* when its share starts to fall (unix s), 0 unknown */
};
int clients_over_budget(const struct clients *cl, int c, const struct tracker *const *trackers, int n_accounts,
			const char *model, int64_t now_ms, struct clients_verdict *v);

/* The windows to show for client c: every window any account has, then its budgets' windows not seen yet.
 * Returns how many (at most `max`). */
int clients_windows(const struct clients *cl, int c, const struct tracker *const *trackers, int n_accounts,
		    char (*names)[24], int max);
/* The budget of client c for `window` as a fraction, or -1 when it has none. */
double clients_budget(const struct clients *cl, int c, const char *window);
/* /usage's "clients" object: {"<name>": {"overage_allowed": b, "requests": n, "windows": {"<window>": {"tokens":
 * {...}, "attributed_utilization_percent": x|null, "budget_percent": x|null, "budget_ratio": x|null}}}}. */
int clients_render_json(const struct clients *cl, const struct tracker *const *trackers, int n_accounts,
			int64_t now_ms, struct buf *out);

/* Whether an account drawing on extra usage may serve client c (-1: no client): --allow-overage, and for a file
 * client also its overage=allow. */
int clients_allow_overage(const struct clients *cl, int c, int cfg_allow);

/* State file: {"<client>": [{"account": "<name>", "window": "5h", "resets_at": s, "tokens": {...}}, ...], ...},
 * the current periods only (`resets_at` is the tracker window's, which the tracker's own document saves too). */
int clients_save_json(const struct clients *cl, const struct tracker *const *trackers, const char *const *accounts,
		      struct buf *out);
/* Loads what clients_save_json wrote into the clients of the same names, for windows whose reset matches the
 * tracker's (within TRACKER_ROLLOVER_MIN_S); call after the trackers were loaded. */
struct yajl_val_s;
void clients_load_value(struct clients *cl, const struct yajl_val_s *root, const struct tracker *const *trackers,
			const char *const *accounts, int n_accounts);

#endif
