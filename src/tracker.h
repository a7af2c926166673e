/* tracker: the subscription's rate-limit windows and the proxy's token counts within them.
 *
 * Pure state and logic: fed rate-limit headers from answers (fractions, unix seconds) and usage-endpoint polls
 * (percent, RFC 3339), it keeps one picture in one unit (utilization as a fraction 0..1, may exceed 1 for
 * overage) and remembers for every value where it came from and when. Times are passed in (unix ms) so tests
 * drive it without a clock.
 *
 * Rollover (src/README.md §5): a window has rolled over only when its reset time moves forward by at least
 * TRACKER_ROLLOVER_MIN_S, never on its first observation; jitter of a few seconds either way is not a rollover.
 * A rollover zeroes that window's proxy token counters (the old counts are logged).
 *
 * Windows are generic (src/README.md §3, §4): every `anthropic-ratelimit-unified-<claim>-*` bucket, every
 * `seven_day_*` key of a poll and every entry of its `limits[]` is a window, named as follows.
 *   header claim "5h", "7d", "7d_oi", ...             -> that name
 *   poll key five_hour / seven_day / seven_day_<x>    -> "5h" / "7d" / "7d_<x>"
 *   limits[] kind session / weekly_all, no scope      -> "5h" / "7d"
 *   limits[] entry whose scope.model.display_name names a model family F ("Opus", "Sonnet 4.5"):
 *     kind session (or group session) -> "5h_F"; kind weekly_* (or group weekly) -> "7d_F"; other -> "<kind>_F"
 *   limits[] entry of any other kind / scope shape    -> "<kind>", or "<kind>_<6 hex of the scope>" when it has one
 * so a scoped Opus entry and the 7d_opus header bucket are one window. Within one poll a top-level key's non-null value
 * beats a limits[] entry for the same window (limits[] fill what it left unknown; several entries naming one window:
 * the highest percent wins); between answers and polls the newest value wins, each remembering its source and time.
 *
 * A window's scope says which requests draw on it (tracker_window_applies): "5h" and "7d" every model; "7d_sonnet",
 * "7d_opus", "7d_haiku" their family by name; a limits[] entry with a model scope that model's family; any other
 * header bucket (such as 7d_oi, sent only on some models' answers) the families of the answers that carried it,
 * learned through tracker_head_begin / tracker_note_answer_model, and every model until then (or once more than
 * TRACKER_SCOPE_MAX families carried it). Everything else applies to every model. */
#ifndef AP_TRACKER_H
#define AP_TRACKER_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define TRACKER_MAX_WINDOWS 24   /* window names come from the network: capped */
#define TRACKER_MAX_MODELS 16    /* model names too; the rest count as "other" */
#define TRACKER_ROLLOVER_MIN_S 60
#define TRACKER_SAMPLES 64        /* utilization history per window, for the burn rate */
#define TRACKER_SAMPLE_EVERY_MS 30000

enum tracker_source { TRACKER_SRC_NONE, TRACKER_SRC_HEADER, TRACKER_SRC_POLL, TRACKER_SRC_STATE };
enum tracker_status { TRACKER_STATUS_UNKNOWN = -1, TRACKER_ALLOWED, TRACKER_ALLOWED_WARNING, TRACKER_REJECTED };
/* Where a window's scope came from. NONE: not known (applies to every model; a header bucket may still learn it). */
enum tracker_scope_src { TRACKER_SCOPE_NONE, TRACKER_SCOPE_ALL, TRACKER_SCOPE_NAME, TRACKER_SCOPE_LIMITS,
			 TRACKER_SCOPE_LEARNED };
#define TRACKER_SCOPE_MAX 3      /* learned families per window; more: the bucket applies to every model */
#define TRACKER_FAMILY_LEN 16    /* a model family slug ("opus", "sonnet") with its NUL */

struct tracker_tokens {
	uint64_t input;          /* input_tokens (excludes cache) */
	uint64_t output;         /* output_tokens */
	uint64_t cache_creation; /* cache_creation_input_tokens */
	uint64_t cache_read;     /* cache_read_input_tokens */
	uint64_t requests;       /* answers counted */
};

/* to += k, field by field. */
void tracker_tokens_add(struct tracker_tokens *to, const struct tracker_tokens *k);

struct tracker_window {
	char name[24];                 /* "5h", "7d", "7d_sonnet", "7d_opus", "7d_<other>", ... (see above) */
	char kind[24];                 /* limits[] kind ("session", "weekly_scoped", anything), "" unknown */
	char group[16];                /* limits[] group ("session", "weekly", ...), "" unknown */
	char severity[16];             /* limits[] severity ("normal", "warning", "critical", ...), "" unknown */
	int is_active;                 /* limits[] is_active: -1 unknown, 0, 1 */
	char scope[TRACKER_SCOPE_MAX * TRACKER_FAMILY_LEN]; /* model families it applies to, comma-separated; "" all */
	enum tracker_scope_src scope_src; /* where scope came from */
	uint64_t head_stamp;           /* the last answer head (tracker_head_begin) that carried this bucket */
	double utilization;            /* fraction; < 0 when unknown */
	int64_t resets_at;             /* unix seconds; 0 when unknown */
	int status;                    /* enum tracker_status */
	double surpassed_threshold;    /* fraction; < 0 when unknown */
	enum tracker_source util_src;  /* where utilization came from */
	int64_t util_at_ms;            /* when (unix ms) */
	enum tracker_source reset_src; /* where resets_at came from */
	int64_t reset_at_ms;           /* when (unix ms) */
	struct tracker_tokens tokens;  /* proxy traffic since the window last rolled over */
	struct tracker_tokens others;  /* the other replicas' traffic in this period (fleet.h; zero without --redis) */
	uint64_t rollovers;            /* rollovers seen since start */
	int warned;                    /* the utilization warning was logged for this window period */
	double sample_util[TRACKER_SAMPLES]; /* utilization history (ring), this period only */
	int64_t sample_at_ms[TRACKER_SAMPLES]; /* when each sample was taken */
	int n_samples;                 /* samples held */
	int sample_next;               /* ring position of the next sample */
};

/* The usage poll's `spend` object (src/README.md §4), undocumented and drifting, so read forgivingly: is_enabled and
 * currency when they are there, and every numeric field by name (a nested object's fields one level down as
 * outer_inner), in the endpoint's own units (credits are minor units, like extra_usage's). Each poll that carries
 * the object replaces what was kept; a poll without it leaves it. */
#define TRACKER_SPEND_FIELDS 12
struct tracker_spend_field {
	char name[32];  /* the key as a [a-z0-9_] slug */
	double value;   /* as sent (finite, >= 0) */
};
struct tracker_spend {
	int seen;                 /* a poll carried a spend object */
	int enabled;              /* is_enabled: -1 unknown, 0, 1 */
	char currency[8];         /* "USD", "" unknown */
	int n;                    /* fields kept */
	struct tracker_spend_field f[TRACKER_SPEND_FIELDS]; /* numeric fields in the order sent; the rest dropped */
};
/* A spend field by name, or NULL. */
const struct tracker_spend_field *tracker_spend_get(const struct tracker_spend *s, const char *name);

struct tracker_model {
	char name[64];                /* model name, sanitised */
	struct tracker_tokens tokens; /* since start */
};

struct tracker {
	struct tracker_window w[TRACKER_MAX_WINDOWS]; /* windows, in order of first sight */
	int n;                                        /* windows used */
	struct tracker_model models[TRACKER_MAX_MODELS + 1]; /* last slot is "other" */
	int n_models;                                 /* model slots used (without "other") */
	double warn_utilization;                      /* fraction that triggers the warning (config) */
	/* Overall state (claim-less headers). */
	int status;                                   /* enum tracker_status */
	int64_t reset;                                /* reset of the binding claim, unix seconds */
	char representative_claim[32];                /* window name of the binding claim, "" unknown */
	int64_t header_at_ms;                         /* last answer that carried rate-limit headers */
	/* Overage (paid extra usage) from headers. */
	int overage_status;                           /* enum tracker_status */
	double overage_utilization;                   /* fraction, may exceed 1; < 0 unknown */
	int64_t overage_reset;                        /* unix seconds */
	char overage_disabled_reason[48];             /* as sent */
	int overage_in_use;                           /* -1 unknown, 0, 1 */
	double fallback_percentage;                   /* < 0 unknown */
	/* Extra usage from the poll. */
	int extra_enabled;                            /* -1 unknown, 0, 1 */
	double extra_monthly_limit;                   /* minor units (cents); < 0 unknown */
	double extra_used_credits;                    /* minor units; < 0 unknown */
	double extra_utilization;                     /* fraction; < 0 unknown */
	char extra_currency[8];                       /* "USD" */
	struct tracker_spend spend;                   /* the poll's spend object */
	int64_t poll_at_ms;                           /* last poll applied */
	uint64_t head_seq;                            /* last stamp handed out by tracker_head_begin */
	uint64_t tokens_total_requests;               /* answers counted since start */
};

void tracker_init(struct tracker *t, double warn_utilization);

/* One answer header. Returns 1 when it was a rate-limit header (applied), 0 otherwise. */
int tracker_apply_header(struct tracker *t, const char *name, size_t nl, const char *value, size_t vl,
			 int64_t now_ms);
/* Learning which models a header bucket belongs to. Call tracker_head_begin before applying each answer's headers
 * (every answer applied to this tracker, or a head without one is taken for the previous one) and keep the stamp;
 * once that answer's model is known (the request's model right away, or the answer's later) call
 * tracker_note_answer_model with it: every bucket that head carried, and no later head carried since, learns the
 * model's family. Stamps are never 0; until tracker_head_begin is first called nothing is learned. */
uint64_t tracker_head_begin(struct tracker *t);
void tracker_note_answer_model(struct tracker *t, const char *model, uint64_t stamp);
/* A window's values as another replica saw them in an answer's headers at `at_ms` (fleet.h): applied when newer
 * than what this window holds. Returns 1 when applied. */
int tracker_apply_shared(struct tracker *t, const char *name, double utilization, int64_t resets_at, int status,
			 int64_t at_ms, int64_t now_ms);
/* A usage-endpoint body. Returns 0, or -1 when it is not a JSON object (nothing changes then). */
int tracker_apply_poll(struct tracker *t, const char *json, size_t len, int64_t now_ms);

/* Counts one answer's tokens (values < 0 mean "not seen" and count as 0) in every window that applies to its model
 * (tracker_window_applies) and for the model.
 * A window whose reset time has passed (now) rolls over first: the tokens belong to the new period. */
void tracker_record(struct tracker *t, const char *model, int64_t input, int64_t output, int64_t cache_creation,
		    int64_t cache_read, int64_t now_ms);

/* Burn rate of a window: utilization gained per hour over up to the last hour (at least 5 minutes of history).
 * Returns 0 and the rate, or -1 when there is not enough history. */
int tracker_burn_rate(const struct tracker_window *w, int64_t now_ms, double *per_hour);
/* When the window would be exhausted at that rate (unix seconds). Returns 0, or -1 when it would not be before its
 * reset (or the rate is unknown or not positive). */
int tracker_projected_exhaustion(const struct tracker_window *w, int64_t now_ms, int64_t *at_s);
/* Index of a model's slot (as used by tracker_record), creating it; TRACKER_MAX_MODELS is "other". */
int tracker_model_index(struct tracker *t, const char *model);

/* Whether a request for `model` draws on window `w` (its scope; see above). Pure. A model without a family (NULL,
 * "", no word besides "claude") draws only on windows that apply to every model. */
int tracker_window_applies(const struct tracker_window *w, const char *model);
/* The family of a model id or display name, lower case: the first word with a letter after "claude" (or the first
 * one when there is no "claude"): "claude-opus-4-1-20250805" -> "opus", "claude-3-5-sonnet-20241022" -> "sonnet",
 * "us.anthropic.claude-haiku-4-5-v1:0" -> "haiku", "Sonnet 4.5" -> "sonnet". Returns 0, or -1 when there is none. */
int tracker_model_family(const char *model, char *out, size_t len);
const char *tracker_scope_source_name(enum tracker_scope_src s);

/* Window by name, or NULL. */
struct tracker_window *tracker_window(struct tracker *t, const char *name);
const char *tracker_status_name(int status);
const char *tracker_source_name(enum tracker_source s);

/* The /usage snapshot (JSON). `poll` is an already-rendered JSON object for the "poll" key (or NULL). */
int tracker_render_json(const struct tracker *t, struct buf *out, int64_t now_ms, const char *poll);

/* State file contents: windows' reset times and token counters. */
int tracker_save_json(const struct tracker *t, struct buf *out);
/* Loads saved counters. Windows whose reset time has already passed (now) are dropped: their counts belong to
 * a period that is over. Returns 0 or -1 (unreadable: nothing changes). */
int tracker_load_json(struct tracker *t, const char *json, size_t len, int64_t now_ms);
/* The same from an already parsed document (a yajl tree: one account's part of the state file). */
struct yajl_val_s;
int tracker_load_value(struct tracker *t, const struct yajl_val_s *root, int64_t now_ms);

/* Parses RFC 3339 ("2026-01-02T19:59:59.600956+00:00", "...Z") to unix seconds (fraction dropped); -1 on error. */
int64_t tracker_parse_time(const char *s);

#endif
