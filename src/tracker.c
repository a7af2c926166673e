#include "tracker.h"

#include "clock.h"
#include "http.h"
#include "json.h"
#include "log.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#define PREFIX "anthropic-ratelimit-unified-"

void tracker_init(struct tracker *t, double warn_utilization)
{
	memset(t, 0, sizeof *t);
	t->warn_utilization = warn_utilization;
	t->status = t->overage_status = TRACKER_STATUS_UNKNOWN;
	t->overage_utilization = t->fallback_percentage = -1;
	t->overage_in_use = t->extra_enabled = -1;
	t->extra_monthly_limit = t->extra_used_credits = t->extra_utilization = -1;
	t->spend.enabled = -1;
	snprintf(t->models[TRACKER_MAX_MODELS].name, sizeof t->models[0].name, "other");
}

const char *tracker_status_name(int status)
{
	switch (status) {
	case TRACKER_ALLOWED: return "allowed";
	case TRACKER_ALLOWED_WARNING: return "allowed_warning";
	case TRACKER_REJECTED: return "rejected";
	default: return NULL;
	}
}

const char *tracker_source_name(enum tracker_source s)
{
	static const char *const names[] = {NULL, "header", "poll", "state"};
	return names[s];
}

const char *tracker_scope_source_name(enum tracker_scope_src s)
{
	static const char *const names[] = {NULL, "all", "name", "limits", "learned"};
	return names[s];
}

static int parse_status(const char *v, size_t n)
{
	if (http_name_eq(v, n, "allowed"))
		return TRACKER_ALLOWED;
	if (http_name_eq(v, n, "allowed_warning"))
		return TRACKER_ALLOWED_WARNING;
	if (http_name_eq(v, n, "rejected"))
		return TRACKER_REJECTED;
	return TRACKER_STATUS_UNKNOWN;
}

/* Strict number parse of a counted string; returns 0 and the value, or -1. Values come from the network: anything
 * outside [0, 1e12] (fractions, percentages, unix seconds all fit) is refused, so no infinity or absurd magnitude
 * reaches a JSON document, a log line or a metric. */
static int parse_num(const char *v, size_t n, double *out)
{
	char tmp[48];
	if (n == 0 || n >= sizeof tmp)
		return -1;
	/* Plain decimals ("0.42", "1767225600"), every answer's case: up to 15 digits in all make an exact integer
	 * and at most 15 fraction digits an exact power of ten, so one division rounds exactly as strtod would. */
	uint64_t m = 0;
	size_t i = 0, digits = 0, frac = 0;
	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
		m = m * 10 + (uint64_t)(v[i] - '0');
	if (i < n && v[i] == '.' && i > 0)
		for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++, frac++)
			m = m * 10 + (uint64_t)(v[i] - '0');
	if (i == n && digits && digits <= 15 && v[n - 1] != '.') {
		static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
					       1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
		double d = (double)m / pow10[frac];
		if (d > 1e12)
			return -1;
		*out = d;
		return 0;
	}
	memcpy(tmp, v, n);
	tmp[n] = 0;
	char *end;
	double d = strtod(tmp, &end);
	if (*end || !isfinite(d) || d < 0 || d > 1e12)
		return -1;
	*out = d;
	return 0;
}

/* Keeps a token-like header value (a reason code) as [A-Za-z0-9_.:-] only: it goes into JSON and logs. */
static void copy_token(char *dst, size_t len, const char *v, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		char c = v[i];
		if (isalnum((unsigned char)c) || c == '_' || c == '.' || c == ':' || c == '-')
			dst[o++] = c;
	}
	dst[o] = 0;
}

/* A value from the network as a lower-case [a-z0-9_] slug (other characters become '_'): it goes into names, JSON,
 * logs and metric labels. Unknown values are kept this way, never dropped. */
static void slug(char *dst, size_t len, const char *v, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		unsigned char c = (unsigned char)v[i];
		dst[o++] = isalnum(c) ? (char)tolower(c) : '_';
	}
	dst[o] = 0;
}

int64_t tracker_parse_time(const char *s)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n < 19)
		return -1;
	const char *p = s + n;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		/* Exactly "+HH:MM": anything shorter must not be skipped over blindly. */
		for (int i = 1; i <= 5; i++)
			if (i == 3 ? p[i] != ':' : !isdigit((unsigned char)p[i]))
				return -1;
		int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = (p[4] - '0') * 10 + (p[5] - '0');
		if (oh > 23 || om > 59)
			return -1;
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) - off;
}

/* ---- windows ------------------------------------------------------------------------------------------------- */

/* Canonical window name from a header claim ("5h", "7d_sonnet") or a poll key ("five_hour", "seven_day_opus").
 * Returns 0, or -1 for names that are not plausible claim names. */
static int canonical_name(const char *in, size_t n, char *out, size_t outlen)
{
	if (http_name_eq(in, n, "five_hour") || http_name_eq(in, n, "session")) {
		in = "5h", n = 2; /* the header spelling, checked below like any other */
	} else if (http_name_eq(in, n, "seven_day") || http_name_eq(in, n, "weekly_all")) {
		in = "7d", n = 2;
	}
	char tmp[64];
	if (n > 10 && strncmp(in, "seven_day_", 10) == 0) {
		snprintf(tmp, sizeof tmp, "7d_%.*s", (int)(n - 10 < 40 ? n - 10 : 40), in + 10);
		in = tmp;
		n = strlen(tmp);
	}
	if (n == 0 || n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '_'))
			return -1;
	}
	memcpy(out, in, n);
	out[n] = 0;
	return 0;
}

struct tracker_window *tracker_window(struct tracker *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->w[i].name, name) == 0)
			return &t->w[i];
	return NULL;
}

/* Per-model weekly buckets whose name says their family; other 7d_<x> names (7d_oi, 7d_oauth_apps) need not be one. */
static const char *const name_families[] = {"sonnet", "opus", "haiku"};

static struct tracker_window *window_get(struct tracker *t, const char *name)
{
	struct tracker_window *w = tracker_window(t, name);
	if (w || t->n == TRACKER_MAX_WINDOWS)
		return w;
	w = &t->w[t->n++];
	memset(w, 0, sizeof *w);
	snprintf(w->name, sizeof w->name, "%s", name);
	w->utilization = w->surpassed_threshold = -1;
	w->status = TRACKER_STATUS_UNKNOWN;
	w->is_active = -1;
	/* The 5h and 7d windows are the session and weekly_all limits (src/README.md §4) and bind every model. */
	if (strcmp(name, "5h") == 0 || strcmp(name, "7d") == 0) {
		int five = name[0] == '5';
		snprintf(w->kind, sizeof w->kind, "%s", five ? "session" : "weekly_all");
		snprintf(w->group, sizeof w->group, "%s", five ? "session" : "weekly");
		w->scope_src = TRACKER_SCOPE_ALL;
	} else if (strncmp(name, "7d_", 3) == 0) {
		for (size_t i = 0; i < sizeof name_families / sizeof name_families[0]; i++)
			if (strcmp(name + 3, name_families[i]) == 0) {
				snprintf(w->scope, sizeof w->scope, "%s", name_families[i]);
				w->scope_src = TRACKER_SCOPE_NAME;
			}
	}
	return w;
}

int tracker_model_family(const char *model, char *out, size_t len)
{
	const char *best = NULL;
	size_t best_n = 0;
	for (const char *p = model ? model : ""; *p;) {
		while (*p && !isalnum((unsigned char)*p))
			p++;
		const char *start = p;
		int letter = 0;
		for (; isalnum((unsigned char)*p); p++)
			letter |= isalpha((unsigned char)*p) != 0;
		size_t n = (size_t)(p - start);
		if (n == 6 && strncasecmp(start, "claude", 6) == 0)
			best = NULL; /* the family is the word after it ("us.anthropic.claude-3-5-sonnet") */
		else if (letter && !best)
			best = start, best_n = n;
	}
	if (!best || len < 2)
		return -1;
	if (best_n >= len)
		best_n = len - 1;
	for (size_t i = 0; i < best_n; i++)
		out[i] = (char)tolower((unsigned char)best[i]);
	out[best_n] = 0;
	return 0;
}

/* Whether the comma-separated family list has `fam`. */
static int scope_has(const char *scope, const char *fam)
{
	size_t fl = strlen(fam);
	for (const char *p = scope; *p;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n == fl && strncmp(p, fam, n) == 0)
			return 1;
		p += n + (c != NULL);
	}
	return 0;
}

int tracker_window_applies(const struct tracker_window *w, const char *model)
{
	if (!w->scope[0])
		return 1;
	char fam[TRACKER_FAMILY_LEN];
	return tracker_model_family(model, fam, sizeof fam) == 0 && scope_has(w->scope, fam);
}

uint64_t tracker_head_begin(struct tracker *t)
{
	return ++t->head_seq;
}

void tracker_note_answer_model(struct tracker *t, const char *model, uint64_t stamp)
{
	char fam[TRACKER_FAMILY_LEN];
	if (!stamp || tracker_model_family(model, fam, sizeof fam))
		return;
	for (int i = 0; i < t->n; i++) {
		struct tracker_window *w = &t->w[i];
		int learns = w->scope_src == TRACKER_SCOPE_NONE || w->scope_src == TRACKER_SCOPE_LEARNED;
		if (w->head_stamp != stamp || !learns || scope_has(w->scope, fam))
			continue;
		int n = 1;
		for (const char *p = w->scope; *p; p++)
			n += *p == ',';
		if (!w->scope[0])
			n = 0;
		if (n == TRACKER_SCOPE_MAX) {
			/* Carried by answers of many families: a bucket of every model, and learning stops. */
			w->scope[0] = 0;
			w->scope_src = TRACKER_SCOPE_ALL;
		} else {
			size_t o = strlen(w->scope);
			snprintf(w->scope + o, sizeof w->scope - o, "%s%s", o ? "," : "", fam);
			w->scope_src = TRACKER_SCOPE_LEARNED;
		}
		struct log_line l;
		log_begin(&l, AP_INFO, "window_scope_learned");
		log_str(&l, "window", w->name);
		log_str(&l, "family", fam);
		log_str(&l, "scope", w->scope[0] ? w->scope : "every model");
		log_end(&l);
	}
}

static void rollover(struct tracker_window *w, const char *why, int64_t new_reset)
{
	struct log_line l;
	char old[32] = "", next[32] = "";
	if (w->resets_at)
		clock_format_utc(w->resets_at, old, sizeof old);
	if (new_reset)
		clock_format_utc(new_reset, next, sizeof next);
	log_begin(&l, AP_INFO, "window_rollover");
	log_str(&l, "window", w->name);
	log_str(&l, "why", why);
	log_str(&l, "old_reset", old[0] ? old : NULL);
	log_str(&l, "new_reset", next[0] ? next : NULL);
	log_int(&l, "requests", (long long)w->tokens.requests);
	log_int(&l, "input_tokens", (long long)w->tokens.input);
	log_int(&l, "output_tokens", (long long)w->tokens.output);
	log_int(&l, "cache_creation_tokens", (long long)w->tokens.cache_creation);
	log_int(&l, "cache_read_tokens", (long long)w->tokens.cache_read);
	log_end(&l);
	memset(&w->tokens, 0, sizeof w->tokens);
	memset(&w->others, 0, sizeof w->others);
	w->rollovers++;
	w->warned = 0;
	w->n_samples = w->sample_next = 0; /* the burn rate of a new period starts afresh */
}

static void add_sample(struct tracker_window *w, double frac, int64_t now_ms)
{
	int last = (w->sample_next + TRACKER_SAMPLES - 1) % TRACKER_SAMPLES;
	if (w->n_samples && now_ms - w->sample_at_ms[last] < TRACKER_SAMPLE_EVERY_MS) {
		w->sample_util[last] = frac; /* keep the newest value without crowding the ring */
		return;
	}
	w->sample_util[w->sample_next] = frac;
	w->sample_at_ms[w->sample_next] = now_ms;
	w->sample_next = (w->sample_next + 1) % TRACKER_SAMPLES;
	if (w->n_samples < TRACKER_SAMPLES)
		w->n_samples++;
}

int tracker_burn_rate(const struct tracker_window *w, int64_t now_ms, double *per_hour)
{
	if (w->n_samples < 2)
		return -1;
	int newest = (w->sample_next + TRACKER_SAMPLES - 1) % TRACKER_SAMPLES;
	int oldest = -1;
	for (int k = 0; k < w->n_samples; k++) {
		int i = (w->sample_next + TRACKER_SAMPLES - w->n_samples + k) % TRACKER_SAMPLES;
		if (now_ms - w->sample_at_ms[i] <= 3600 * 1000) {
			oldest = i;
			break;
		}
	}
	if (oldest < 0 || oldest == newest)
		return -1;
	double hours = (double)(w->sample_at_ms[newest] - w->sample_at_ms[oldest]) / 3600000.0;
	if (hours < 5.0 / 60)
		return -1;
	*per_hour = (w->sample_util[newest] - w->sample_util[oldest]) / hours;
	return 0;
}

int tracker_projected_exhaustion(const struct tracker_window *w, int64_t now_ms, int64_t *at_s)
{
	double rate;
	if (w->utilization < 0 || tracker_burn_rate(w, now_ms, &rate) || rate <= 0)
		return -1;
	double left = 1.0 - w->utilization, secs = left > 0 ? left / rate * 3600 : 0;
	if (!(secs < 10 * 365 * 86400.0)) /* a tiny rate: no exhaustion worth projecting (and no cast out of range) */
		return -1;
	int64_t at = now_ms / 1000 + (int64_t)secs;
	if (w->resets_at && at >= w->resets_at)
		return -1;
	*at_s = at;
	return 0;
}

static void set_reset(struct tracker_window *w, int64_t reset, enum tracker_source src, int64_t now_ms)
{
	/* A reset time already in the past is stale (a cached answer, or a window that has not restarted yet):
	 * taking it would make the next real value look like a rollover. */
	if (reset <= 0 || reset < now_ms / 1000)
		return;
	if (w->resets_at && reset >= w->resets_at + TRACKER_ROLLOVER_MIN_S)
		rollover(w, "reset moved forward", reset);
	w->resets_at = reset;
	w->reset_src = src;
	w->reset_at_ms = now_ms;
}

static void set_util(struct tracker *t, struct tracker_window *w, double frac, enum tracker_source src,
		     int64_t now_ms)
{
	if (frac < 0)
		return;
	w->utilization = frac;
	w->util_src = src;
	w->util_at_ms = now_ms;
	add_sample(w, frac, now_ms);
	if (frac < t->warn_utilization) {
		w->warned = 0; /* dropped below the line: warn again on the next crossing */
		return;
	}
	if (w->warned)
		return;
	w->warned = 1;
	char when[32] = "";
	if (w->resets_at)
		clock_format_utc(w->resets_at, when, sizeof when);
	struct log_line l;
	log_begin(&l, AP_WARN, "window_utilization_high");
	log_str(&l, "window", w->name);
	log_num(&l, "utilization_percent", frac * 100);
	log_num(&l, "warn_percent", t->warn_utilization * 100);
	log_str(&l, "resets_at", when[0] ? when : NULL);
	log_str(&l, "source", tracker_source_name(src));
	log_end(&l);
}

/* ---- headers ------------------------------------------------------------------------------------------------- */

static const char *const window_fields[] = {"utilization", "reset", "status", "surpassed-threshold"};

int tracker_apply_header(struct tracker *t, const char *name, size_t nl, const char *v, size_t vl, int64_t now_ms)
{
	size_t pl = sizeof PREFIX - 1;
	if (nl <= pl || strncasecmp(name, PREFIX, pl) != 0)
		return 0;
	char rest[80];
	size_t rl = nl - pl;
	if (rl >= sizeof rest)
		return 1;
	for (size_t i = 0; i < rl; i++)
		rest[i] = (char)tolower((unsigned char)name[pl + i]);
	rest[rl] = 0;
	t->header_at_ms = now_ms;
	double d;

	/* Claim-less fields. */
	if (strcmp(rest, "status") == 0) {
		t->status = parse_status(v, vl);
	} else if (strcmp(rest, "reset") == 0) {
		if (parse_num(v, vl, &d) == 0)
			t->reset = (int64_t)d;
	} else if (strcmp(rest, "representative-claim") == 0) {
		char tmp[32];
		if (canonical_name(v, vl, tmp, sizeof tmp) == 0)
			snprintf(t->representative_claim, sizeof t->representative_claim, "%s", tmp);
	} else if (strcmp(rest, "fallback-percentage") == 0) {
		if (parse_num(v, vl, &d) == 0)
			t->fallback_percentage = d;
	} else if (strcmp(rest, "fallback") == 0) {
		/* "available": nothing to keep beyond the percentage. */
	} else if (strncmp(rest, "overage-", 8) == 0) {
		const char *f = rest + 8;
		if (strcmp(f, "status") == 0)
			t->overage_status = parse_status(v, vl);
		else if (strcmp(f, "utilization") == 0 && parse_num(v, vl, &d) == 0)
			t->overage_utilization = d;
		else if (strcmp(f, "reset") == 0 && parse_num(v, vl, &d) == 0)
			t->overage_reset = (int64_t)d;
		else if (strcmp(f, "disabled-reason") == 0)
			copy_token(t->overage_disabled_reason, sizeof t->overage_disabled_reason, v, vl);
		else if (strcmp(f, "in-use") == 0)
			t->overage_in_use = http_name_eq(v, vl, "true") ? 1 : http_name_eq(v, vl, "false") ? 0 : -1;
	} else {
		/* <claim>-<field>: the claim is whatever precedes a known field name. */
		for (size_t k = 0; k < sizeof window_fields / sizeof window_fields[0]; k++) {
			size_t fl = strlen(window_fields[k]);
			if (rl <= fl + 1 || strcmp(rest + rl - fl, window_fields[k]) != 0 || rest[rl - fl - 1] != '-')
				continue;
			char wname[24];
			if (canonical_name(rest, rl - fl - 1, wname, sizeof wname))
				return 1;
			struct tracker_window *w = window_get(t, wname);
			if (!w)
				return 1;
			w->head_stamp = t->head_seq;
			switch (k) {
			case 0:
				if (parse_num(v, vl, &d) == 0)
					set_util(t, w, d, TRACKER_SRC_HEADER, now_ms);
				break;
			case 1:
				if (parse_num(v, vl, &d) == 0)
					set_reset(w, (int64_t)d, TRACKER_SRC_HEADER, now_ms);
				break;
			case 2: w->status = parse_status(v, vl); break;
			case 3:
				if (parse_num(v, vl, &d) == 0)
					w->surpassed_threshold = d;
				break;
			}
			return 1;
		}
	}
	return 1;
}

void tracker_tokens_add(struct tracker_tokens *to, const struct tracker_tokens *k)
{
	to->input += k->input;
	to->output += k->output;
	to->cache_creation += k->cache_creation;
	to->cache_read += k->cache_read;
	to->requests += k->requests;
}

int tracker_apply_shared(struct tracker *t, const char *name, double utilization, int64_t resets_at, int status,
			 int64_t at_ms, int64_t now_ms)
{
	char wname[24];
	if (canonical_name(name, strlen(name), wname, sizeof wname))
		return 0;
	struct tracker_window *w = window_get(t, wname);
	if (!w || at_ms <= w->util_at_ms || !(utilization >= 0 && utilization <= 1e6))
		return 0;
	set_reset(w, resets_at, TRACKER_SRC_HEADER, at_ms);
	set_util(t, w, utilization, TRACKER_SRC_HEADER, at_ms);
	if (status >= TRACKER_STATUS_UNKNOWN && status <= TRACKER_REJECTED)
		w->status = status;
	(void)now_ms;
	return 1;
}

/* ---- poll ---------------------------------------------------------------------------------------------------- */

static int json_num(yajl_val v, double *out)
{
	if (!v || !YAJL_IS_NUMBER(v))
		return -1;
	*out = YAJL_IS_INTEGER(v) ? (double)YAJL_GET_INTEGER(v) : YAJL_GET_DOUBLE(v);
	return isfinite(*out) && *out >= 0 && *out <= 1e12 ? 0 : -1; /* same sanity bound as headers */
}


/* One poll value pair into a window. Returns which were given: bit 0 a utilization, bit 1 a reset time. */
static int apply_poll_window(struct tracker *t, struct tracker_window *w, yajl_val util, yajl_val resets,
			     int64_t now_ms)
{
	int given = 0;
	double d;
	if (resets && YAJL_IS_STRING(resets)) {
		int64_t r = tracker_parse_time(resets->u.string);
		if (r > 0) {
			set_reset(w, r, TRACKER_SRC_POLL, now_ms);
			given |= 2;
		}
	}
	if (util && json_num(util, &d) == 0) {
		set_util(t, w, d / 100.0, TRACKER_SRC_POLL, now_ms);
		given |= 1;
	}
	return given;
}

/* A stable digest of a scope of unknown shape (keys and values, in order), so different scopes of one kind are
 * different windows from one poll to the next. */
static uint32_t hash_json(yajl_val v, uint32_t h, int depth)
{
	const char *s = "n";
	char tag = 'n';
	if (v && depth < 8) {
		if (YAJL_IS_OBJECT(v)) {
			h = (h ^ '{') * 16777619u;
			for (size_t i = 0; i < v->u.object.len; i++) {
				h = (h ^ ',') * 16777619u;
				for (const char *k = v->u.object.keys[i]; *k; k++)
					h = (h ^ (unsigned char)*k) * 16777619u;
				h = hash_json(v->u.object.values[i], h, depth + 1);
			}
			return (h ^ '}') * 16777619u;
		}
		if (YAJL_IS_ARRAY(v)) {
			h = (h ^ '[') * 16777619u;
			for (size_t i = 0; i < v->u.array.len; i++)
				h = hash_json(v->u.array.values[i], h, depth + 1);
			return (h ^ ']') * 16777619u;
		}
		if (YAJL_IS_STRING(v))
			s = v->u.string, tag = 's';
		else if (YAJL_IS_NUMBER(v))
			s = v->u.number.r, tag = 'd';
		else
			s = YAJL_IS_TRUE(v) ? "t" : YAJL_IS_FALSE(v) ? "f" : "n";
	}
	h = (h ^ (unsigned char)tag) * 16777619u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static const char *str_at(yajl_val obj, const char *key)
{
	return json_str(json_get(obj, key));
}

/* The window a limits[] entry is (the naming rule in tracker.h) and the model family it is scoped to ("" none).
 * Returns 0, or -1 for an entry without a kind. */
static int limit_window_name(yajl_val l, char *name, size_t len, char *fam, size_t flen)
{
	const char *ks = str_at(l, "kind"), *gs = str_at(l, "group");
	char k[17], g[16];
	if (!ks)
		return -1;
	slug(k, sizeof k, ks, strlen(ks));
	slug(g, sizeof g, gs ? gs : "", gs ? strlen(gs) : 0);
	if (!k[0])
		return -1;
	yajl_val scope = json_get(l, "scope");
	int scoped = scope && YAJL_IS_OBJECT(scope) && scope->u.object.len > 0;
	const char *dn = scoped ? str_at(json_get(scope, "model"), "display_name") : NULL;
	fam[0] = 0;
	if (dn && tracker_model_family(dn, fam, flen))
		fam[0] = 0;
	/* The period: by kind first (session, weekly_*), else by group. */
	const char *period = strcmp(k, "session") == 0 ? "5h" : strncmp(k, "weekly", 6) == 0 ? "7d"
			     : strcmp(g, "session") == 0 ? "5h" : strcmp(g, "weekly") == 0 ? "7d" : NULL;
	if (fam[0])
		snprintf(name, len, "%.*s_%s", (int)(len - 2 - strlen(fam)), period ? period : k, fam);
	else if (scoped)
		snprintf(name, len, "%s_%06x", k, (unsigned)(hash_json(scope, 2166136261u, 0) & 0xffffff));
	else if (strcmp(k, "session") == 0 || strcmp(k, "weekly_all") == 0)
		snprintf(name, len, "%s", period);
	else
		snprintf(name, len, "%s", k);
	return 0;
}

_Static_assert(TRACKER_MAX_WINDOWS <= 32, "a poll marks windows in 32-bit masks");

static void apply_limit(struct tracker *t, yajl_val l, uint32_t top_util, uint32_t top_reset, uint32_t *seen,
			int64_t now_ms)
{
	char name[sizeof t->w[0].name], fam[TRACKER_FAMILY_LEN];
	if (!YAJL_IS_OBJECT(l) || limit_window_name(l, name, sizeof name, fam, sizeof fam))
		return;
	struct tracker_window *w = window_get(t, name);
	if (!w)
		return;
	uint32_t bit = 1u << (w - t->w);
	yajl_val pct = json_get(l, "percent");
	double d;
	int has = json_num(pct, &d) == 0;
	/* Several entries naming one window in one poll: the highest percent wins. */
	if ((*seen & bit) && (!has || (w->utilization >= 0 && w->utilization >= d / 100.0)))
		return;
	*seen |= bit;
	const char *ks = str_at(l, "kind"), *gs = str_at(l, "group"), *ss = str_at(l, "severity");
	slug(w->kind, sizeof w->kind, ks, strlen(ks));
	if (gs)
		slug(w->group, sizeof w->group, gs, strlen(gs));
	if (ss)
		slug(w->severity, sizeof w->severity, ss, strlen(ss));
	yajl_val act = json_get(l, "is_active");
	if (act && (YAJL_IS_TRUE(act) || YAJL_IS_FALSE(act)))
		w->is_active = YAJL_IS_TRUE(act);
	if (fam[0]) { /* the API's own word: beats what the name said or the answers taught */
		snprintf(w->scope, sizeof w->scope, "%s", fam);
		w->scope_src = TRACKER_SCOPE_LIMITS;
	}
	/* The top-level key of the same window, when it gave a value in this poll, wins over limits[]. */
	apply_poll_window(t, w, top_util & bit ? NULL : pct, top_reset & bit ? NULL : json_get(l, "resets_at"), now_ms);
}

const struct tracker_spend_field *tracker_spend_get(const struct tracker_spend *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->f[i].name, name) == 0)
			return &s->f[i];
	return NULL;
}

static void spend_add(struct tracker_spend *s, const char *prefix, const char *key, double v)
{
	char raw[64], name[sizeof s->f[0].name];
	snprintf(raw, sizeof raw, "%s%s%s", prefix ? prefix : "", prefix ? "_" : "", key);
	slug(name, sizeof name, raw, strlen(raw));
	if (!name[0] || s->n == TRACKER_SPEND_FIELDS || tracker_spend_get(s, name))
		return;
	snprintf(s->f[s->n].name, sizeof s->f[0].name, "%s", name);
	s->f[s->n++].value = v;
}

static void apply_spend(struct tracker_spend *s, yajl_val v)
{
	double d;
	s->seen = 1;
	s->n = 0;
	s->enabled = -1;
	s->currency[0] = 0;
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *key = v->u.object.keys[i];
		yajl_val x = v->u.object.values[i];
		if (strcmp(key, "is_enabled") == 0) {
			if (YAJL_IS_TRUE(x) || YAJL_IS_FALSE(x))
				s->enabled = YAJL_IS_TRUE(x);
			else if (json_num(x, &d) == 0)
				s->enabled = d != 0;
		} else if (strcmp(key, "currency") == 0) {
			if (x && YAJL_IS_STRING(x))
				copy_token(s->currency, sizeof s->currency, x->u.string, strlen(x->u.string));
		} else if (json_num(x, &d) == 0) {
			spend_add(s, NULL, key, d);
		} else if (x && YAJL_IS_OBJECT(x)) { /* {"amount": {"value": ...}}: one level down, no deeper */
			for (size_t j = 0; j < x->u.object.len; j++)
				if (json_num(x->u.object.values[j], &d) == 0)
					spend_add(s, key, x->u.object.keys[j], d);
		}
	}
}

int tracker_apply_poll(struct tracker *t, const char *json, size_t len, int64_t now_ms)
{
	yajl_val root = json_parse(json, len);
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return -1;
	}
	double d;
	uint32_t top_util = 0, top_reset = 0, seen = 0; /* bit i: window i */
	for (size_t i = 0; i < root->u.object.len; i++) {
		const char *key = root->u.object.keys[i];
		yajl_val v = root->u.object.values[i];
		if (!YAJL_IS_OBJECT(v))
			continue; /* nulls and non-objects: unknown, not zero */
		if (strcmp(key, "extra_usage") == 0) {
			yajl_val en = json_get(v, "is_enabled");
			if (en && (YAJL_IS_TRUE(en) || YAJL_IS_FALSE(en)))
				t->extra_enabled = YAJL_IS_TRUE(en);
			if (json_num(json_get(v, "monthly_limit"), &d) == 0)
				t->extra_monthly_limit = d;
			if (json_num(json_get(v, "used_credits"), &d) == 0)
				t->extra_used_credits = d;
			if (json_num(json_get(v, "utilization"), &d) == 0)
				t->extra_utilization = d / 100.0;
			yajl_val cur = json_get(v, "currency");
			if (cur && YAJL_IS_STRING(cur))
				copy_token(t->extra_currency, sizeof t->extra_currency, cur->u.string, strlen(cur->u.string));
			continue;
		}
		if (strcmp(key, "spend") == 0) {
			apply_spend(&t->spend, v);
			continue;
		}
		yajl_val util = json_get(v, "utilization"), resets = json_get(v, "resets_at");
		if (!util && !resets)
			continue;
		char name[sizeof t->w[0].name];
		struct tracker_window *w;
		if (canonical_name(key, strlen(key), name, sizeof name) || !(w = window_get(t, name)))
			continue;
		int given = apply_poll_window(t, w, util, resets, now_ms);
		uint32_t bit = 1u << (w - t->w);
		top_util |= given & 1 ? bit : 0;
		top_reset |= given & 2 ? bit : 0;
	}
	yajl_val limits = json_get(root, "limits");
	if (limits && YAJL_IS_ARRAY(limits))
		for (size_t i = 0; i < limits->u.array.len; i++)
			apply_limit(t, limits->u.array.values[i], top_util, top_reset, &seen, now_ms);
	t->poll_at_ms = now_ms;
	yajl_tree_free(root);
	return 0;
}

/* ---- accounting ---------------------------------------------------------------------------------------------- */

static struct tracker_model *model_get(struct tracker *t, const char *model);

static void add_tokens(struct tracker_tokens *k, int64_t in, int64_t out, int64_t cc, int64_t cr)
{
	k->input += in > 0 ? (uint64_t)in : 0;
	k->output += out > 0 ? (uint64_t)out : 0;
	k->cache_creation += cc > 0 ? (uint64_t)cc : 0;
	k->cache_read += cr > 0 ? (uint64_t)cr : 0;
	k->requests++;
}

int tracker_model_index(struct tracker *t, const char *model)
{
	return (int)(model_get(t, model) - t->models);
}

static struct tracker_model *model_get(struct tracker *t, const char *model)
{
	char name[64];
	size_t n = 0;
	for (const char *p = model ? model : ""; *p && n < sizeof name - 1; p++)
		if (isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == ':' || *p == '-')
			name[n++] = *p;
	name[n] = 0;
	if (!n)
		snprintf(name, sizeof name, "unknown");
	for (int i = 0; i < t->n_models; i++)
		if (strcmp(t->models[i].name, name) == 0)
			return &t->models[i];
	if (t->n_models == TRACKER_MAX_MODELS)
		return &t->models[TRACKER_MAX_MODELS];
	struct tracker_model *m = &t->models[t->n_models++];
	snprintf(m->name, sizeof m->name, "%s", name);
	return m;
}

void tracker_record(struct tracker *t, const char *model, int64_t input, int64_t output, int64_t cache_creation,
		    int64_t cache_read, int64_t now_ms)
{
	int64_t now_s = now_ms / 1000;
	for (int i = 0; i < t->n; i++) {
		struct tracker_window *w = &t->w[i];
		if (w->resets_at && now_s >= w->resets_at) {
			/* The window reset on schedule; its next reset time is unknown until the next answer or poll,
			 * which is then a first observation (no second rollover). */
			rollover(w, "reset time passed", 0);
			w->resets_at = 0;
			w->reset_src = TRACKER_SRC_NONE;
			w->utilization = w->surpassed_threshold = -1;
			w->util_src = TRACKER_SRC_NONE;
			w->status = TRACKER_STATUS_UNKNOWN; /* the last answer's word was about the period that ended */
		}
		if (tracker_window_applies(w, model))
			add_tokens(&w->tokens, input, output, cache_creation, cache_read);
	}
	add_tokens(&model_get(t, model)->tokens, input, output, cache_creation, cache_read);
	t->tokens_total_requests++;
}

/* ---- rendering ----------------------------------------------------------------------------------------------- */

static int put_tokens(struct buf *out, const struct tracker_tokens *k)
{
	return buf_printf(out,
			  "{\"in\":%llu,\"out\":%llu,\"input\":%llu,\"output\":%llu,\"cache_creation\":%llu,"
			  "\"cache_read\":%llu,\"requests\":%llu}",
			  (unsigned long long)(k->input + k->cache_creation + k->cache_read),
			  (unsigned long long)k->output, (unsigned long long)k->input, (unsigned long long)k->output,
			  (unsigned long long)k->cache_creation, (unsigned long long)k->cache_read,
			  (unsigned long long)k->requests);
}

static int put_str_or_null(struct buf *out, const char *s)
{
	if (!s || !*s)
		return buf_appends(out, "null");
	return buf_appends(out, "\"") || http_json_escape(out, s, strlen(s)) || buf_appends(out, "\"");
}

static int put_num_or_null(struct buf *out, double v, double scale)
{
	return v < 0 || !isfinite(v * scale) ? buf_appends(out, "null") : buf_printf(out, "%.4g", v * scale);
}

/* Amounts (credits in minor units) keep every digit: %.4g would turn 123456 into 1.235e+05. */
static int put_amount_or_null(struct buf *out, double v)
{
	return v < 0 || !isfinite(v) ? buf_appends(out, "null") : buf_printf(out, "%.15g", v);
}

/* {"is_enabled":..,"currency":..,"used_credits":..,"monthly_limit":.., then every other numeric field}, or null. */
static int put_spend(struct buf *out, const struct tracker_spend *s)
{
	if (!s->seen)
		return buf_appends(out, "null");
	static const char *const fixed[] = {"used_credits", "monthly_limit"};
	int e = buf_printf(out, "{\"is_enabled\":%s,\"currency\":",
			   s->enabled < 0 ? "null" : s->enabled ? "true" : "false") ||
		put_str_or_null(out, s->currency);
	for (int k = 0; k < 2 && !e; k++) {
		const struct tracker_spend_field *f = tracker_spend_get(s, fixed[k]);
		e = buf_printf(out, ",\"%s\":", fixed[k]) || put_amount_or_null(out, f ? f->value : -1);
	}
	for (int i = 0; i < s->n && !e; i++)
		if (strcmp(s->f[i].name, fixed[0]) && strcmp(s->f[i].name, fixed[1]) &&
		    strcmp(s->f[i].name, "is_enabled") && strcmp(s->f[i].name, "currency"))
			e = buf_printf(out, ",\"%s\":", s->f[i].name) || put_amount_or_null(out, s->f[i].value);
	return e || buf_appends(out, "}");
}

static int put_time(struct buf *out, int64_t unix_s)
{
	char when[32];
	if (unix_s <= 0)
		return buf_appends(out, "null");
	clock_format_utc(unix_s, when, sizeof when);
	return buf_printf(out, "\"%s\"", when);
}

int tracker_render_json(const struct tracker *t, struct buf *out, int64_t now_ms, const char *poll)
{
	int e = buf_appends(out, "{\"windows\":{");
	for (int i = 0; i < t->n && !e; i++) {
		const struct tracker_window *w = &t->w[i];
		int64_t at = w->util_at_ms > w->reset_at_ms ? w->util_at_ms : w->reset_at_ms;
		e = buf_printf(out, "%s\"%s\":{\"utilization_percent\":", i ? "," : "", w->name) ||
		    put_num_or_null(out, w->utilization, 100) || buf_appends(out, ",\"resets_at\":") ||
		    put_time(out, w->resets_at) ||
		    buf_printf(out, ",\"resets_at_unix\":%lld,\"status\":", (long long)w->resets_at) ||
		    put_str_or_null(out, tracker_status_name(w->status)) ||
		    buf_appends(out, ",\"surpassed_threshold_percent\":") ||
		    put_num_or_null(out, w->surpassed_threshold, 100) || buf_appends(out, ",\"source\":") ||
		    put_str_or_null(out, tracker_source_name(w->util_src ? w->util_src : w->reset_src)) ||
		    (at ? buf_printf(out, ",\"age_seconds\":%.1f", (double)(now_ms - at) / 1000)
			: buf_appends(out, ",\"age_seconds\":null")) ||
		    buf_appends(out, ",\"tokens\":") || put_tokens(out, &w->tokens) ||
		    buf_printf(out, ",\"rollovers\":%llu,\"kind\":", (unsigned long long)w->rollovers) ||
		    put_str_or_null(out, w->kind) || buf_appends(out, ",\"group\":") ||
		    put_str_or_null(out, w->group) ||
		    buf_appends(out, ",\"severity\":") || put_str_or_null(out, w->severity) ||
		    buf_printf(out, ",\"is_active\":%s,\"scope\":",
			       w->is_active < 0 ? "null" : w->is_active ? "true" : "false") ||
		    put_str_or_null(out, w->scope) || buf_appends(out, ",\"scope_source\":") ||
		    put_str_or_null(out, tracker_scope_source_name(w->scope_src)) || buf_appends(out, "}");
	}
	e = e || buf_appends(out, "},\"status\":") || put_str_or_null(out, tracker_status_name(t->status)) ||
	    buf_appends(out, ",\"representative_claim\":") || put_str_or_null(out, t->representative_claim) ||
	    buf_appends(out, ",\"reset\":") || put_time(out, t->reset) ||
	    buf_appends(out, ",\"overage\":{\"status\":") || put_str_or_null(out, tracker_status_name(t->overage_status)) ||
	    buf_appends(out, ",\"utilization_percent\":") || put_num_or_null(out, t->overage_utilization, 100) ||
	    buf_appends(out, ",\"resets_at\":") || put_time(out, t->overage_reset) ||
	    buf_appends(out, ",\"disabled_reason\":") || put_str_or_null(out, t->overage_disabled_reason) ||
	    buf_printf(out, ",\"in_use\":%s}", t->overage_in_use < 0 ? "null" : t->overage_in_use ? "true" : "false") ||
	    buf_printf(out, ",\"extra_usage\":{\"enabled\":%s,\"monthly_limit\":",
		       t->extra_enabled < 0 ? "null" : t->extra_enabled ? "true" : "false") ||
	    put_amount_or_null(out, t->extra_monthly_limit) || buf_appends(out, ",\"used_credits\":") ||
	    put_amount_or_null(out, t->extra_used_credits) || buf_appends(out, ",\"utilization_percent\":") ||
	    put_num_or_null(out, t->extra_utilization, 100) || buf_appends(out, ",\"currency\":") ||
	    put_str_or_null(out, t->extra_currency) || buf_appends(out, "},\"spend\":") || put_spend(out, &t->spend) ||
	    buf_appends(out, ",\"models\":{");
	int first = 1;
	for (int i = 0; i <= TRACKER_MAX_MODELS && !e; i++) {
		if (i == t->n_models)
			i = TRACKER_MAX_MODELS;
		const struct tracker_model *m = &t->models[i];
		if (!m->tokens.requests)
			continue;
		e = buf_printf(out, "%s\"%s\":", first ? "" : ",", m->name) || put_tokens(out, &m->tokens);
		first = 0;
	}
	e = e || buf_printf(out, "},\"requests_counted\":%llu", (unsigned long long)t->tokens_total_requests);
	if (poll)
		e = e || buf_appends(out, ",\"poll\":") || buf_appends(out, poll);
	return e || buf_appends(out, "}");
}

int tracker_save_json(const struct tracker *t, struct buf *out)
{
	int e = buf_appends(out, "{\"version\":1,\"windows\":[");
	for (int i = 0; i < t->n && !e; i++) {
		const struct tracker_window *w = &t->w[i];
		e = buf_printf(out, "%s{\"name\":\"%s\",\"resets_at\":%lld,\"tokens\":", i ? "," : "", w->name,
			       (long long)w->resets_at) ||
		    put_tokens(out, &w->tokens) || buf_appends(out, "}");
	}
	return e || buf_appends(out, "]}\n");
}

static uint64_t json_u64(yajl_val obj, const char *key)
{
	yajl_val v = json_get(obj, key);
	return v && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0 ? (uint64_t)YAJL_GET_INTEGER(v) : 0;
}

int tracker_load_json(struct tracker *t, const char *json, size_t len, int64_t now_ms)
{
	yajl_val root = json_parse(json, len);
	int rc = tracker_load_value(t, root, now_ms);
	yajl_tree_free(root);
	return rc;
}

int tracker_load_value(struct tracker *t, const struct yajl_val_s *root, int64_t now_ms)
{
	yajl_val ws = json_get((yajl_val)root, "windows");
	if (!ws || !YAJL_IS_ARRAY(ws))
		return -1;
	for (size_t i = 0; i < ws->u.array.len; i++) {
		yajl_val o = ws->u.array.values[i];
		yajl_val name = json_get(o, "name"), tok = json_get(o, "tokens");
		yajl_val reset = json_get(o, "resets_at");
		char wname[24];
		if (!name || !YAJL_IS_STRING(name) || !reset || !YAJL_IS_INTEGER(reset) ||
		    canonical_name(name->u.string, strlen(name->u.string), wname, sizeof wname))
			continue;
		int64_t r = YAJL_GET_INTEGER(reset);
		if (r <= now_ms / 1000 || r > 1000000000000LL)
			continue; /* that window period is over (its counts do not carry into the new one), or absurd (the
				   * bound the headers and the poll have) */
		struct tracker_window *w = window_get(t, wname);
		if (!w)
			continue;
		w->resets_at = r;
		w->reset_src = TRACKER_SRC_STATE;
		w->reset_at_ms = now_ms;
		w->tokens.input = json_u64(tok, "input");
		w->tokens.output = json_u64(tok, "output");
		w->tokens.cache_creation = json_u64(tok, "cache_creation");
		w->tokens.cache_read = json_u64(tok, "cache_read");
		w->tokens.requests = json_u64(tok, "requests");
	}
	return 0;
}
