#include "clients.h"

#include "json.h"

#include <mbedtls/sha256.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slots are cleared when taken, so only the counts are set here: the table (~90 KB) stays untouched, and costs no
 * memory, until clients use it. */
void clients_init(struct clients *cl, int n_accounts)
{
	cl->n = cl->n_keys = 0;
	cl->n_accounts = n_accounts < 1 ? 1 : n_accounts > CLIENTS_MAX_ACCOUNTS ? CLIENTS_MAX_ACCOUNTS : n_accounts;
}

void clients_free(struct clients *cl)
{
	for (int i = 0; i < cl->n; i++) {
		free(cl->e[i].slots);
		/* Keys are secrets: not left in memory. Slots past n were never taken. */
		memset(&cl->e[i], 0, sizeof cl->e[i]);
	}
	cl->n = cl->n_keys = 0;
}

int clients_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > CLIENTS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		      name[i] == '-'))
			return 0;
	return 1;
}

/* The rule of config_add_client_key: 8 to 256 visible ASCII characters. */
static int key_ok(const char *k, size_t n)
{
	if (n < 8 || n > CLIENTS_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f)
			return 0;
	return 1;
}

static int window_name_ok(const char *w, size_t n)
{
	if (n == 0 || n > 23)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9') || w[i] == '_'))
			return 0;
	return 1;
}

void clients_key_name(const char *key, char *out, size_t n)
{
	unsigned char d[32];
	mbedtls_sha256((const unsigned char *)key, strlen(key), d, 0);
	snprintf(out, n, "key-%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
}

/* ---- the file ---------------------------------------------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
	int k = snprintf(err, errlen, "%s:%d: ", path, line);
	if (k >= 0 && (size_t)k < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* "30", "30%", "12.5%": a percentage in (0, 100] as a fraction, or -1. */
static double parse_pct(const char *p, size_t n)
{
	if (n && p[n - 1] == '%')
		n--;
	if (n == 0 || n > 16)
		return -1;
	char tmp[20];
	memcpy(tmp, p, n);
	tmp[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (!((tmp[i] >= '0' && tmp[i] <= '9') || tmp[i] == '.'))
			return -1;
	char *end;
	double v = strtod(tmp, &end);
	if (*end || !(v > 0) || v > 100)
		return -1;
	return v / 100;
}

static int parse_option(struct clients_def *d, const char *p, size_t n, const char *path, int line, char *err,
			size_t errlen)
{
	const char *eq = memchr(p, '=', n);
	if (!eq)
		return fail(err, errlen, path, line, "option '%.*s': expected WINDOW=PCT (such as 5h=30%%) or overage=allow",
			    (int)(n > 40 ? 40 : n), p);
	size_t kl = (size_t)(eq - p), vl = n - kl - 1;
	if (kl == 7 && memcmp(p, "overage", 7) == 0) {
		if (vl == 5 && memcmp(eq + 1, "allow", 5) == 0) {
			d->overage = 1;
			return 0;
		}
		return fail(err, errlen, path, line, "overage takes only 'allow'");
	}
	if (!window_name_ok(p, kl))
		return fail(err, errlen, path, line, "window name '%.*s': expected [a-z0-9_]{1,23} such as 5h or 7d",
			    (int)(kl > 40 ? 40 : kl), p);
	double share = parse_pct(eq + 1, vl);
	if (share < 0)
		return fail(err, errlen, path, line, "budget '%.*s': expected a percentage in (0, 100] such as 30%%",
			    (int)(n > 40 ? 40 : n), p);
	for (int i = 0; i < d->n_budgets; i++)
		if (strlen(d->budgets[i].window) == kl && memcmp(d->budgets[i].window, p, kl) == 0)
			return fail(err, errlen, path, line, "window '%.*s' given twice", (int)kl, p);
	if (d->n_budgets == CLIENTS_MAX_BUDGETS)
		return fail(err, errlen, path, line, "more than %d budgets", CLIENTS_MAX_BUDGETS);
	struct clients_budget *b = &d->budgets[d->n_budgets++];
	memcpy(b->window, p, kl);
	b->window[kl] = 0;
	b->share = share;
	return 0;
}

static int parse_line(struct clients_def *d, const char *p, size_t n, const char *path, int line, char *err,
		      size_t errlen)
{
	memset(d, 0, sizeof *d);
	int field = 0;
	size_t i = 0;
	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == n)
			break;
		size_t s = i;
		while (i < n && p[i] != ' ' && p[i] != '\t')
			i++;
		const char *t = p + s;
		size_t tl = i - s;
		if (field == 0) {
			if (tl > CLIENTS_NAME_MAX)
				return fail(err, errlen, path, line, "client name longer than %d characters", CLIENTS_NAME_MAX);
			memcpy(d->name, t, tl);
			d->name[tl] = 0;
			if (!clients_name_ok(d->name)) /* not echoed: with the columns swapped it is a key */
				return fail(err, errlen, path, line,
					    "the client name (first column) is not [a-z0-9_-]{1,32}; expected NAME KEY ...");
		} else if (field == 1) {
			if (!key_ok(t, tl)) /* the key itself is never echoed */
				return fail(err, errlen, path, line, "client '%s': a key is 8 to 256 visible characters",
					    d->name);
			memcpy(d->key, t, tl);
			d->key[tl] = 0;
		} else if (parse_option(d, t, tl, path, line, err, errlen)) {
			return -1;
		}
		field++;
	}
	if (field < 2)
		return fail(err, errlen, path, line, "expected NAME KEY [WINDOW=PCT ...] [overage=allow]");
	return 0;
}

int clients_parse(const char *text, size_t len, const char *path, struct clients_def *defs, int max, char *err,
		  size_t errlen)
{
	int n = 0, line = 0;
	size_t off = 0;
	while (off < len) {
		const char *p = text + off;
		const char *nl = memchr(p, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - p) : len - off;
		off += ll + (nl ? 1 : 0);
		line++;
		while (ll && (p[ll - 1] == '\r' || p[ll - 1] == ' ' || p[ll - 1] == '\t'))
			ll--;
		size_t s = 0;
		while (s < ll && (p[s] == ' ' || p[s] == '\t'))
			s++;
		if (s == ll || p[s] == '#')
			continue;
		if (memchr(p, 0, ll))
			return fail(err, errlen, path, line, "NUL byte");
		if (n == max)
			return fail(err, errlen, path, line, "more than %d clients", max);
		struct clients_def *d = &defs[n];
		if (parse_line(d, p + s, ll - s, path, line, err, errlen))
			return -1;
		for (int k = 0; k < n; k++) {
			if (strcmp(defs[k].name, d->name) == 0)
				return fail(err, errlen, path, line, "client '%s' named twice", d->name);
			if (strcmp(defs[k].key, d->key) == 0)
				return fail(err, errlen, path, line, "client '%s' has the key of client '%s'", d->name,
					    defs[k].name);
		}
		n++;
	}
	return n;
}

/* ---- the table --------------------------------------------------------------------------------------------------- */

static int find_name(const struct clients *cl, const char *name)
{
	for (int i = 0; i < cl->n; i++)
		if (cl->e[i].used && strcmp(cl->e[i].def.name, name) == 0)
			return i;
	return -1;
}

static int find_name_in(const struct clients_def *defs, int n, const char *name)
{
	for (int k = 0; k < n; k++)
		if (strcmp(defs[k].name, name) == 0)
			return k;
	return -1;
}

int clients_add_key(struct clients *cl, const char *key)
{
	if (cl->n == CLIENTS_MAX || !key_ok(key, strlen(key)))
		return -1;
	for (int i = 0; i < cl->n; i++)
		if (cl->e[i].active && strcmp(cl->e[i].def.key, key) == 0)
			return -1;
	struct clients_entry *e = &cl->e[cl->n++];
	memset(e, 0, sizeof *e);
	clients_key_name(key, e->def.name, sizeof e->def.name);
	snprintf(e->def.key, sizeof e->def.key, "%s", key);
	e->active = e->used = 1;
	cl->n_keys++;
	return 0;
}

int clients_apply(struct clients *cl, const struct clients_def *defs, int n, char *err, size_t errlen)
{
	/* Check first, so that nothing changes on error. */
	int fresh = 0;
	for (int k = 0; k < n; k++) {
		int at = find_name(cl, defs[k].name);
		if (at >= 0 && !cl->e[at].from_file) {
			snprintf(err, errlen, "client '%s' has the name of a --client-key key", defs[k].name);
			return -1;
		}
		if (at < 0)
			fresh++;
		for (int i = 0; i < cl->n; i++)
			if (cl->e[i].active && !cl->e[i].from_file && strcmp(cl->e[i].def.key, defs[k].key) == 0) {
				snprintf(err, errlen, "client '%s' has a key also given with --client-key", defs[k].name);
				return -1;
			}
	}
	int spare = CLIENTS_MAX - cl->n;
	for (int i = 0; i < cl->n; i++)
		if (cl->e[i].from_file && find_name_in(defs, n, cl->e[i].def.name) < 0)
			spare++; /* an inactive slot (or one about to be) can be reused */
	if (fresh > spare) {
		snprintf(err, errlen, "more than %d clients", CLIENTS_MAX);
		return -1;
	}
	for (int i = 0; i < cl->n; i++)
		if (cl->e[i].from_file && cl->e[i].active) {
			cl->e[i].active = 0;
			cl->n_keys--;
		}
	for (int k = 0; k < n; k++) {
		int at = find_name(cl, defs[k].name);
		struct clients_entry *e;
		if (at >= 0) {
			e = &cl->e[at];
		} else if (cl->n < CLIENTS_MAX) {
			e = &cl->e[cl->n++];
			memset(e, 0, sizeof *e);
		} else {
			/* No never-used slot left: take an inactive one (its counters go with its old name). */
			e = NULL;
			for (int i = 0; i < cl->n && !e; i++)
				if (cl->e[i].from_file && !cl->e[i].active && find_name_in(defs, n, cl->e[i].def.name) < 0)
					e = &cl->e[i];
			if (!e)
				return -1; /* cannot happen: counted above */
			free(e->slots);
			memset(e, 0, sizeof *e);
		}
		struct clients_def old = e->def;
		e->def = defs[k];
		/* Refusal counts carry over by window name. */
		for (int b = 0; b < e->def.n_budgets; b++) {
			e->def.budgets[b].refusals = 0;
			for (int o = 0; o < old.n_budgets; o++)
				if (strcmp(old.budgets[o].window, e->def.budgets[b].window) == 0)
					e->def.budgets[b].refusals = old.budgets[o].refusals;
		}
		memset(&old, 0, sizeof old);
		e->active = e->used = e->from_file = 1;
		cl->n_keys++;
	}
	return 0;
}

/* Same length and bytes, without an early exit (door.c's rule). */
static int same_secret(const char *a, size_t an, const char *b, size_t bn)
{
	unsigned char d = (unsigned char)(an != bn);
	for (size_t i = 0; i < bn; i++)
		d |= (unsigned char)(b[i] ^ (i < an ? a[i] : 0));
	return d == 0;
}

int clients_match(const struct clients *cl, const char *k, size_t n)
{
	int found = -1;
	for (int i = 0; i < cl->n; i++) {
		const struct clients_entry *e = &cl->e[i];
		/* Every key is compared, match or not; the index is selected without a branch on the result. */
		int same = same_secret(k, n, e->def.key, strlen(e->def.key)) & e->active;
		int mask = -same;
		found = (found & ~mask) | (i & mask);
	}
	return found;
}

/* ---- attribution ------------------------------------------------------------------------------------------------- */

double clients_weighted(const struct tracker_tokens *k)
{
	return CLIENTS_W_INPUT * (double)k->input + CLIENTS_W_CACHE_WRITE * (double)k->cache_creation +
	       CLIENTS_W_CACHE_READ * (double)k->cache_read + CLIENTS_W_OUTPUT * (double)k->output;
}

static const struct tracker_tokens zero_tokens;

/* The slot of window i of account a, when it holds the window's current period. */
static const struct clients_slot *slot_now(const struct clients_entry *e, int a, const struct tracker *t, int i)
{
	if (!e->slots || a < 0 || i < 0 || i >= t->n || i >= TRACKER_MAX_WINDOWS)
		return NULL;
	const struct clients_slot *s = &e->slots[a * TRACKER_MAX_WINDOWS + i];
	if (strcmp(s->window, t->w[i].name) != 0 || s->tag != t->w[i].rollovers)
		return NULL;
	return s;
}

static void add(struct tracker_tokens *k, int64_t input, int64_t output, int64_t cc, int64_t cr)
{
	k->input += input > 0 ? (uint64_t)input : 0;
	k->output += output > 0 ? (uint64_t)output : 0;
	k->cache_creation += cc > 0 ? (uint64_t)cc : 0;
	k->cache_read += cr > 0 ? (uint64_t)cr : 0;
	k->requests++;
}

static struct clients_slot *slots_of(struct clients *cl, struct clients_entry *e)
{
	if (!e->slots)
		e->slots = calloc((size_t)cl->n_accounts * TRACKER_MAX_WINDOWS, sizeof *e->slots);
	return e->slots;
}

void clients_record(struct clients *cl, int c, int a, const struct tracker *t, const char *model, int64_t input,
		    int64_t output, int64_t cache_creation, int64_t cache_read, int64_t now_ms)
{
	(void)now_ms; /* tracker_record rolled over what had to roll over: the tags follow it */
	if (c < 0 || c >= cl->n || a < 0 || a >= cl->n_accounts)
		return;
	struct clients_entry *e = &cl->e[c];
	add(&e->total, input, output, cache_creation, cache_read);
	struct clients_slot *slots = slots_of(cl, e);
	if (!slots)
		return;
	for (int i = 0; i < t->n && i < TRACKER_MAX_WINDOWS; i++) {
		const struct tracker_window *w = &t->w[i];
		if (!tracker_window_applies(w, model))
			continue;
		struct clients_slot *s = &slots[a * TRACKER_MAX_WINDOWS + i];
		if (strcmp(s->window, w->name) != 0 || s->tag != w->rollovers) {
			memset(s, 0, sizeof *s);
			snprintf(s->window, sizeof s->window, "%s", w->name);
			s->tag = w->rollovers;
		}
		add(&s->tokens, input, output, cache_creation, cache_read);
	}
}

void clients_count_request(struct clients *cl, int c, int status_class)
{
	if (c >= 0 && c < cl->n && status_class >= 0 && status_class < CLIENTS_CLASSES)
		cl->e[c].by_class[status_class]++;
}

const struct tracker_tokens *clients_window_tokens(const struct clients *cl, int c, int a, const struct tracker *t,
						   int i)
{
	if (c < 0 || c >= cl->n)
		return &zero_tokens;
	const struct clients_slot *s = slot_now(&cl->e[c], a, t, i);
	return s ? &s->tokens : &zero_tokens;
}

void clients_set_others(struct clients *cl, int c, int a, const struct tracker *t, int i,
			const struct tracker_tokens *others)
{
	if (c < 0 || c >= cl->n || a < 0 || a >= cl->n_accounts || i < 0 || i >= t->n || i >= TRACKER_MAX_WINDOWS)
		return;
	struct clients_slot *slots = slots_of(cl, &cl->e[c]);
	if (!slots)
		return;
	struct clients_slot *s = &slots[a * TRACKER_MAX_WINDOWS + i];
	const struct tracker_window *w = &t->w[i];
	if (strcmp(s->window, w->name) != 0 || s->tag != w->rollovers) {
		memset(s, 0, sizeof *s);
		snprintf(s->window, sizeof s->window, "%s", w->name);
		s->tag = w->rollovers;
	}
	s->others = *others;
}

struct tracker_tokens clients_fleet_tokens(const struct clients *cl, int c, int a, const struct tracker *t, int i)
{
	struct tracker_tokens k = {0};
	if (c < 0 || c >= cl->n)
		return k;
	const struct clients_slot *s = slot_now(&cl->e[c], a, t, i);
	if (s) {
		tracker_tokens_add(&k, &s->tokens);
		tracker_tokens_add(&k, &s->others);
	}
	return k;
}

double clients_share(const struct clients *cl, int c, int a, const struct tracker *t, int i)
{
	if (i < 0 || i >= t->n)
		return 0;
	struct tracker_tokens wk = t->w[i].tokens;
	tracker_tokens_add(&wk, &t->w[i].others);
	double all = clients_weighted(&wk);
	if (all <= 0)
		return 0;
	struct tracker_tokens ck = clients_fleet_tokens(cl, c, a, t, i);
	double mine = clients_weighted(&ck) / all;
	return mine > 1 ? 1 : mine;
}

static int find_window(const struct tracker *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->w[i].name, name) == 0)
			return i;
	return -1;
}

void clients_attribute(const struct clients *cl, int c, const struct tracker *const *trackers, int n_accounts,
		       const char *window, int64_t now_ms, struct clients_attribution *out)
{
	memset(out, 0, sizeof *out);
	out->utilization = -1;
	double sum = 0;
	int64_t now_s = now_ms / 1000;
	for (int a = 0; a < n_accounts && a < cl->n_accounts; a++) {
		const struct tracker *t = trackers[a];
		int i = find_window(t, window);
		if (i < 0)
			continue;
		const struct tracker_window *w = &t->w[i];
		if (w->resets_at && now_s >= w->resets_at)
			continue; /* its period is over: nothing of it counts any more */
		const struct tracker_tokens *k = clients_window_tokens(cl, c, a, t, i);
		out->tokens.input += k->input;
		out->tokens.output += k->output;
		out->tokens.cache_creation += k->cache_creation;
		out->tokens.cache_read += k->cache_read;
		out->tokens.requests += k->requests;
		if (w->utilization < 0)
			continue;
		double share = clients_share(cl, c, a, t, i);
		out->accounts++;
		sum += w->utilization * share;
		if (share > 0 && w->resets_at && (!out->resets_at || w->resets_at < out->resets_at))
			out->resets_at = w->resets_at;
	}
	if (out->accounts)
		out->utilization = sum / out->accounts;
}

int clients_over_budget(const struct clients *cl, int c, const struct tracker *const *trackers, int n_accounts,
			const char *model, int64_t now_ms, struct clients_verdict *v)
{
	*v = (struct clients_verdict){.budget = -1};
	if (c < 0 || c >= cl->n)
		return 0;
	const struct clients_entry *e = &cl->e[c];
	for (int b = 0; b < e->def.n_budgets; b++) {
		struct tracker_window probe;
		memset(&probe, 0, sizeof probe);
		snprintf(probe.name, sizeof probe.name, "%s", e->def.budgets[b].window);
		if (!tracker_window_applies(&probe, model))
			continue;
		struct clients_attribution at;
		clients_attribute(cl, c, trackers, n_accounts, e->def.budgets[b].window, now_ms, &at);
		if (at.utilization < 0 || at.utilization < e->def.budgets[b].share)
			continue;
		/* Of several spent budgets, the one that clears last binds. */
		if (v->budget < 0 || (v->resets_at && (!at.resets_at || at.resets_at > v->resets_at))) {
			v->budget = b;
			v->used = at.utilization;
			v->resets_at = at.resets_at;
		}
	}
	return v->budget >= 0;
}

int clients_allow_overage(const struct clients *cl, int c, int cfg_allow)
{
	if (!cfg_allow)
		return 0;
	if (c < 0 || c >= cl->n || !cl->e[c].from_file)
		return 1; /* no client, or a --client-key key (no options): --allow-overage as before */
	return cl->e[c].def.overage;
}

/* ---- state ------------------------------------------------------------------------------------------------------- */

int clients_save_json(const struct clients *cl, const struct tracker *const *trackers, const char *const *accounts,
		      struct buf *out)
{
	int e = buf_appends(out, "{"), first = 1;
	for (int c = 0; c < cl->n && !e; c++) {
		const struct clients_entry *en = &cl->e[c];
		if (!en->used || !en->slots)
			continue;
		e = buf_printf(out, "%s\"%s\":[", first ? "" : ",", en->def.name);
		first = 0;
		int n = 0;
		for (int a = 0; a < cl->n_accounts && !e; a++)
			for (int i = 0; i < trackers[a]->n && !e; i++) {
				const struct clients_slot *s = slot_now(en, a, trackers[a], i);
				if (!s || !trackers[a]->w[i].resets_at)
					continue; /* a period whose reset is unknown cannot be matched after a restart */
				const struct tracker_tokens *k = &s->tokens;
				e = buf_printf(out,
					       "%s{\"account\":\"%s\",\"window\":\"%s\",\"resets_at\":%lld,\"tokens\":{"
					       "\"input\":%llu,\"output\":%llu,\"cache_creation\":%llu,\"cache_read\":%llu,"
					       "\"requests\":%llu}}",
					       n++ ? "," : "", accounts[a], s->window, (long long)trackers[a]->w[i].resets_at,
					       (unsigned long long)k->input, (unsigned long long)k->output,
					       (unsigned long long)k->cache_creation, (unsigned long long)k->cache_read,
					       (unsigned long long)k->requests);
			}
		e = e || buf_appends(out, "]");
	}
	return e || buf_appends(out, "}");
}

static uint64_t u64_of(yajl_val obj, const char *key)
{
	yajl_val v = json_get(obj, key);
	return v && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0 ? (uint64_t)YAJL_GET_INTEGER(v) : 0;
}

void clients_load_value(struct clients *cl, const struct yajl_val_s *root, const struct tracker *const *trackers,
			const char *const *accounts, int n_accounts)
{
	yajl_val r = (yajl_val)root;
	if (!r || !YAJL_IS_OBJECT(r))
		return;
	for (size_t k = 0; k < r->u.object.len; k++) {
		int c = find_name(cl, r->u.object.keys[k]);
		yajl_val list = r->u.object.values[k];
		if (c < 0 || !YAJL_IS_ARRAY(list))
			continue; /* a client no longer in the file: its counts are not kept */
		struct clients_entry *e = &cl->e[c];
		for (size_t j = 0; j < list->u.array.len; j++) {
			yajl_val o = list->u.array.values[j];
			yajl_val acct = json_get(o, "account"), win = json_get(o, "window"), reset = json_get(o, "resets_at");
			if (!acct || !YAJL_IS_STRING(acct) || !win || !YAJL_IS_STRING(win) || !reset ||
			    !YAJL_IS_INTEGER(reset))
				continue;
			int a = -1;
			for (int i = 0; i < n_accounts && i < cl->n_accounts; i++)
				if (strcmp(accounts[i], acct->u.string) == 0)
					a = i;
			int i = a < 0 ? -1 : find_window(trackers[a], win->u.string);
			if (i < 0 || i >= TRACKER_MAX_WINDOWS)
				continue;
			const struct tracker_window *w = &trackers[a]->w[i];
			int64_t d = w->resets_at - YAJL_GET_INTEGER(reset);
			if (!w->resets_at || d >= TRACKER_ROLLOVER_MIN_S || d <= -TRACKER_ROLLOVER_MIN_S)
				continue; /* another period than the one these tokens were counted in */
			struct clients_slot *slots = slots_of(cl, e);
			if (!slots)
				return;
			struct clients_slot *s = &slots[a * TRACKER_MAX_WINDOWS + i];
			memset(s, 0, sizeof *s);
			snprintf(s->window, sizeof s->window, "%s", w->name);
			s->tag = w->rollovers;
			yajl_val tok = json_get(o, "tokens");
			s->tokens.input = u64_of(tok, "input");
			s->tokens.output = u64_of(tok, "output");
			s->tokens.cache_creation = u64_of(tok, "cache_creation");
			s->tokens.cache_read = u64_of(tok, "cache_read");
			s->tokens.requests = u64_of(tok, "requests");
		}
	}
}

/* ---- views ------------------------------------------------------------------------------------------------------- */

static int has_name(char (*names)[24], int n, const char *w)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], w) == 0)
			return 1;
	return 0;
}

int clients_windows(const struct clients *cl, int c, const struct tracker *const *trackers, int n_accounts,
		    char (*names)[24], int max)
{
	int n = 0;
	for (int a = 0; a < n_accounts; a++)
		for (int i = 0; i < trackers[a]->n && n < max; i++)
			if (!has_name(names, n, trackers[a]->w[i].name))
				snprintf(names[n++], 24, "%s", trackers[a]->w[i].name);
	if (c >= 0 && c < cl->n)
		for (int b = 0; b < cl->e[c].def.n_budgets && n < max; b++)
			if (!has_name(names, n, cl->e[c].def.budgets[b].window))
				snprintf(names[n++], 24, "%s", cl->e[c].def.budgets[b].window);
	return n;
}

double clients_budget(const struct clients *cl, int c, const char *window)
{
	if (c < 0 || c >= cl->n)
		return -1;
	for (int b = 0; b < cl->e[c].def.n_budgets; b++)
		if (strcmp(cl->e[c].def.budgets[b].window, window) == 0)
			return cl->e[c].def.budgets[b].share;
	return -1;
}

static int put_num(struct buf *out, const char *key, double v, int known)
{
	return known ? buf_printf(out, ",\"%s\":%.4f", key, v) : buf_printf(out, ",\"%s\":null", key);
}

int clients_render_json(const struct clients *cl, const struct tracker *const *trackers, int n_accounts,
			int64_t now_ms, struct buf *out)
{
	int e = buf_appends(out, "{"), first = 1;
	for (int c = 0; c < cl->n && !e; c++) {
		const struct clients_entry *en = &cl->e[c];
		if (!en->active)
			continue;
		uint64_t reqs = 0;
		for (int k = 0; k < CLIENTS_CLASSES; k++)
			reqs += en->by_class[k];
		e = buf_printf(out, "%s\"%s\":{\"overage_allowed\":%s,\"requests\":%llu,\"windows\":{", first ? "" : ",",
			       en->def.name, en->def.overage ? "true" : "false", (unsigned long long)reqs);
		first = 0;
		char names[TRACKER_MAX_WINDOWS + CLIENTS_MAX_BUDGETS][24];
		int nw = clients_windows(cl, c, trackers, n_accounts, names, TRACKER_MAX_WINDOWS + CLIENTS_MAX_BUDGETS);
		for (int i = 0; i < nw && !e; i++) {
			struct clients_attribution at;
			clients_attribute(cl, c, trackers, n_accounts, names[i], now_ms, &at);
			const struct tracker_tokens *k = &at.tokens;
			double budget = clients_budget(cl, c, names[i]);
			e = buf_printf(out,
				       "%s\"%s\":{\"tokens\":{\"in\":%llu,\"out\":%llu,\"input\":%llu,\"output\":%llu,"
				       "\"cache_creation\":%llu,\"cache_read\":%llu,\"requests\":%llu}",
				       i ? "," : "", names[i], (unsigned long long)(k->input + k->cache_creation + k->cache_read),
				       (unsigned long long)k->output, (unsigned long long)k->input,
				       (unsigned long long)k->output, (unsigned long long)k->cache_creation,
				       (unsigned long long)k->cache_read, (unsigned long long)k->requests) ||
			    put_num(out, "attributed_utilization_percent", at.utilization * 100, at.utilization >= 0) ||
			    put_num(out, "budget_percent", budget * 100, budget > 0) ||
			    put_num(out, "budget_ratio", at.utilization / budget, budget > 0 && at.utilization >= 0) ||
			    buf_appends(out, "}");
		}
		e = e || buf_appends(out, "}}");
	}
	return e || buf_appends(out, "}");
}
