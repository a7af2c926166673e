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
	return w;
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
	double left = 1.0 - w->utilization;
	int64_t at = now_ms / 1000 + (int64_t)(left > 0 ? left / rate * 3600 : 0);
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

/* ---- poll ---------------------------------------------------------------------------------------------------- */

static int json_num(yajl_val v, double *out)
{
	if (!v || !YAJL_IS_NUMBER(v))
		return -1;
	*out = YAJL_IS_INTEGER(v) ? (double)YAJL_GET_INTEGER(v) : YAJL_GET_DOUBLE(v);
	return isfinite(*out) && *out >= 0 && *out <= 1e12 ? 0 : -1; /* same sanity bound as headers */
}


static void apply_poll_window(struct tracker *t, const char *name, double percent, int has_percent,
			      yajl_val resets, int64_t now_ms)
{
	struct tracker_window *w = window_get(t, name);
	if (!w)
		return;
	if (resets && YAJL_IS_STRING(resets)) {
		int64_t r = tracker_parse_time(resets->u.string);
		if (r > 0)
			set_reset(w, r, TRACKER_SRC_POLL, now_ms);
	}
	if (has_percent && percent >= 0)
		set_util(t, w, percent / 100.0, TRACKER_SRC_POLL, now_ms);
}

int tracker_apply_poll(struct tracker *t, const char *json, size_t len, int64_t now_ms)
{
	yajl_val root = json_parse(json, len);
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return -1;
	}
	double d;
	int have_5h = 0, have_7d = 0;
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
		yajl_val util = json_get(v, "utilization"), resets = json_get(v, "resets_at");
		if (!util && !resets)
			continue;
		char name[24];
		if (canonical_name(key, strlen(key), name, sizeof name))
			continue;
		int has = json_num(util, &d) == 0;
		apply_poll_window(t, name, has ? d : -1, has, resets, now_ms);
		have_5h |= strcmp(name, "5h") == 0;
		have_7d |= strcmp(name, "7d") == 0;
	}
	/* Newer answers may carry only limits[]: session is the 5h window, weekly_all the 7d one. */
	yajl_val limits = json_get(root, "limits");
	if (limits && YAJL_IS_ARRAY(limits)) {
		for (size_t i = 0; i < limits->u.array.len; i++) {
			yajl_val l = limits->u.array.values[i];
			yajl_val kind = json_get(l, "kind");
			if (!kind || !YAJL_IS_STRING(kind))
				continue;
			const char *k = kind->u.string;
			const char *name = strcmp(k, "session") == 0 ? "5h" : strcmp(k, "weekly_all") == 0 ? "7d" : NULL;
			if (!name || (name[0] == '5' && have_5h) || (name[0] == '7' && have_7d))
				continue;
			int has = json_num(json_get(l, "percent"), &d) == 0;
			apply_poll_window(t, name, has ? d : -1, has, json_get(l, "resets_at"), now_ms);
		}
	}
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

/* A per-model weekly window ("7d_sonnet", "7d_opus") only counts its model family; every other window counts
 * every answer. */
static int window_counts_model(const char *window, const char *model)
{
	if (strncmp(window, "7d_", 3) != 0)
		return 1;
	const char *family = window + 3;
	static const char *const families[] = {"sonnet", "opus", "haiku"};
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
		if (strcmp(family, families[i]) == 0)
			return model && strstr(model, family) != NULL;
	return 1;
}

int tracker_window_applies(const struct tracker_window *w, const char *model)
{
	return window_counts_model(w->name, model);
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
			w->utilization = -1;
			w->util_src = TRACKER_SRC_NONE;
		}
		if (window_counts_model(w->name, model))
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
		    put_str_or_null(out, tracker_status_name(w->status)) || buf_appends(out, ",\"source\":") ||
		    put_str_or_null(out, tracker_source_name(w->util_src ? w->util_src : w->reset_src)) ||
		    (at ? buf_printf(out, ",\"age_seconds\":%.1f", (double)(now_ms - at) / 1000)
			: buf_appends(out, ",\"age_seconds\":null")) ||
		    buf_appends(out, ",\"tokens\":") || put_tokens(out, &w->tokens) ||
		    buf_printf(out, ",\"rollovers\":%llu}", (unsigned long long)w->rollovers);
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
	    put_num_or_null(out, t->extra_monthly_limit, 1) || buf_appends(out, ",\"used_credits\":") ||
	    put_num_or_null(out, t->extra_used_credits, 1) || buf_appends(out, ",\"utilization_percent\":") ||
	    put_num_or_null(out, t->extra_utilization, 100) || buf_appends(out, ",\"currency\":") ||
	    put_str_or_null(out, t->extra_currency) || buf_appends(out, "},\"models\":{");
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
		if (r <= now_ms / 1000)
			continue; /* that window period is over: its counts do not carry into the new one */
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
