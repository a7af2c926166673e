/* fleet: see fleet.h. */
#include "fleet.h"

#include "clock.h"
#include "credfile.h"
#include "http.h"
#include "log.h"

#include <hiredis/hiredis.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYNC_MS 1000
#define REPLICA_SEEN_MS 15000           /* a replica not seen this long is not counted */
#define PERIOD_SLACK_S 60               /* resets this close name the same period (tracker.h's rollover rule) */
#define KEY_AFTER_RESET_S 3600          /* counters outlive their period by this much */
#define WINDOWS_TTL_MS (8LL * 86400 * 1000)
#define USAGE_TTL_S 86400

const char *const fleet_lease_names[FLEET_LEASES] = {"refresh", "poll"};
const char *const fleet_lease_result_names[FLEET_LEASE_RESULTS] = {"acquired", "busy"};

/* Stores a login only when its version is above the stored one (at an equal version: when it expires later);
 * releases the caller's lease either way; announces it. Returns 0 when stored, else the version found. */
static const char LUA_PUBLISH_LOGIN[] =
	"if redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('DEL', KEYS[2]) end "
	"local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') "
	"if cur > tonumber(ARGV[1]) or (cur == tonumber(ARGV[1]) and "
	"tonumber(redis.call('HGET', KEYS[1], 'expires') or '0') >= tonumber(ARGV[4])) then return cur end "
	"redis.call('HSET', KEYS[1], 'v', ARGV[1], 'access', ARGV[2], 'refresh', ARGV[3], 'expires', ARGV[4], "
	"'scope', ARGV[5], 'by', ARGV[6]) "
	"redis.call('PUBLISH', ARGV[7], ARGV[8]) return 0";
/* Compare-and-delete: only the holder releases a lease. */
static const char LUA_RELEASE[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) "
				  "end return 0";
/* A header window, kept only when newer than the stored one. */
static const char LUA_WINDOW[] =
	"local cur = redis.call('HGET', KEYS[1], ARGV[1]) "
	"if cur and tonumber(string.match(cur, '^%d+')) >= tonumber(ARGV[2]) then return 0 end "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) redis.call('PEXPIRE', KEYS[1], ARGV[4]) return 1";

static void on_sync(uv_timer_t *t);

/* ---- helpers ------------------------------------------------------------------------------------------------- */

static int reply_ok(struct fleet *f, const redisReply *r, int type, const char *what)
{
	if (!r)
		return 0;
	if (r->type != type) {
		redis_reply_error(&f->redis, r, what);
		return 0;
	}
	return 1;
}

/* A login hash's fields (HMGET v access refresh expires scope) -> a cred; returns its version, 0 when absent. */
static uint64_t login_from_reply(const redisReply *r, struct cred *c)
{
	cred_init(c);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 5)
		return 0;
	for (int i = 0; i < 5; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return 0;
	uint64_t v = strtoull(r->element[0]->str, NULL, 10);
	if (!v || !cred_token_ok(r->element[1]->str) || (r->element[2]->len && !cred_token_ok(r->element[2]->str)))
		return 0; /* a mangled entry is no login: never hand it to the upstream */
	c->access_token = strdup(r->element[1]->str);
	c->refresh_token = r->element[2]->len ? strdup(r->element[2]->str) : NULL;
	c->expires_at_ms = strtoll(r->element[3]->str, NULL, 10);
	c->profile_scope = atoi(r->element[4]->str);
	if (!c->access_token || (r->element[2]->len && !c->refresh_token)) {
		cred_free(c);
		return 0;
	}
	return v;
}

static int hmget_login(struct fleet_account *fa, redis_reply_cb cb)
{
	return redis_cmd(&fa->f->redis, cb, fa, "HMGET %s v access refresh expires scope", fa->k_login);
}

/* ---- the login (oauth_store) ---------------------------------------------------------------------------------- */

static int store_up(void *arg)
{
	struct fleet_account *fa = arg;
	return redis_up(&fa->f->redis);
}

static void on_lease_login(struct redis *r, redisReply *reply, void *data)
{
	(void)r;
	struct fleet_account *fa = data;
	struct oauth *o = &fa->a->oauth;
	int leased = fa->lease_set_ok;
	fa->lease_set_ok = 0;
	if (!reply) { /* Redis went away mid-round: the lease, if taken, expires by itself */
		oauth_store_answer(o, NULL, 0, 0);
		return;
	}
	struct cred c;
	uint64_t v = login_from_reply(reply, &c);
	oauth_store_answer(o, v ? &c : NULL, v, leased);
}

static void on_lease_set(struct redis *r, redisReply *reply, void *data)
{
	struct fleet_account *fa = data;
	int got = reply && reply->type == REDIS_REPLY_STATUS; /* "OK"; nil when held */
	if (reply && reply->type == REDIS_REPLY_ERROR)
		redis_reply_error(r, reply, "refresh lease");
	fa->lease_set_ok = got;
	if (reply && reply->type != REDIS_REPLY_ERROR)
		fa->f->leases[FLEET_LEASE_REFRESH][got ? FLEET_ACQUIRED : FLEET_BUSY]++;
	if (got) {
		struct log_line l;
		log_begin(&l, AP_INFO, "fleet_lease");
		log_str(&l, "account", fa->a->name);
		log_str(&l, "lease", "refresh");
		log_str(&l, "replica", fa->f->replica);
		log_end(&l);
	}
}

static int store_begin(void *arg)
{
	struct fleet_account *fa = arg;
	struct fleet *f = fa->f;
	fa->lease_set_ok = fa->a->oauth.leased; /* asked again while holding it (invalid_grant): still ours */
	if (!fa->a->oauth.leased &&
	    redis_cmd(&f->redis, on_lease_set, fa, "SET %s %s NX PX %llu", fa->k_lease, f->replica,
		      (unsigned long long)f->cfg->redis_lease_ms))
		return -1;
	/* Answered in order on one connection: the lease's answer is known when the login's arrives. */
	if (hmget_login(fa, on_lease_login)) {
		fa->lease_set_ok = 0;
		return -1; /* the lease, if the SET went out, expires by itself */
	}
	return 0;
}

static void on_login_read(struct redis *r, redisReply *reply, void *data);

static void on_published(struct redis *r, redisReply *reply, void *data)
{
	struct fleet_account *fa = data;
	if (!reply_ok(fa->f, reply, REDIS_REPLY_INTEGER, "publish login"))
		return;
	(void)r;
	if (reply->integer > 0) {
		/* Another replica stored its login first (a newer one, or a re-seed after Redis came back empty): read
		 * it now. Noting its version alone would leave this replica with a login the store no longer holds
		 * and a version that says it does: its next refresh would spend a refresh token already spent. */
		(void)hmget_login(fa, on_login_read);
		struct log_line l;
		log_begin(&l, AP_INFO, "fleet_login_not_stored");
		log_str(&l, "account", fa->a->name);
		log_int(&l, "store_version", (long long)reply->integer);
		log_end(&l);
	}
}

static void store_publish(void *arg, const struct cred *c, uint64_t version)
{
	struct fleet_account *fa = arg;
	struct fleet *f = fa->f;
	char v[24], exp[24], scope[8], msg[200];
	snprintf(v, sizeof v, "%" PRIu64, version);
	snprintf(exp, sizeof exp, "%lld", (long long)c->expires_at_ms);
	snprintf(scope, sizeof scope, "%d", c->profile_scope);
	snprintf(msg, sizeof msg, "login %s %s", fa->a->name, v);
	const char *argv[] = {"EVAL", LUA_PUBLISH_LOGIN, "2", fa->k_login, fa->k_lease, v, c->access_token,
			      c->refresh_token ? c->refresh_token : "", exp, scope, f->replica, f->channel, msg};
	size_t lens[sizeof argv / sizeof argv[0]];
	for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
		lens[i] = strlen(argv[i]);
	if (redis_cmdv(&f->redis, on_published, fa, (int)(sizeof argv / sizeof argv[0]), argv, lens))
		log_msg(AP_WARN, "fleet_login_not_stored", "the fleet store went away before the new login was stored; "
							    "it is written when the store is back");
	struct log_line l;
	log_begin(&l, AP_INFO, "fleet_login_published");
	log_str(&l, "account", fa->a->name);
	log_int(&l, "version", (long long)version);
	log_end(&l);
}

static void on_released(struct redis *r, redisReply *reply, void *data)
{
	(void)data;
	if (reply && reply->type == REDIS_REPLY_ERROR)
		redis_reply_error(r, reply, "release lease");
}

static void store_release(void *arg)
{
	struct fleet_account *fa = arg;
	(void)redis_cmd(&fa->f->redis, on_released, fa, "EVAL %s 1 %s %s", LUA_RELEASE, fa->k_lease, fa->f->replica);
}

/* The store's login read outside a refresh round (connect, a peer's message, the sync's version check). */
static void on_login_read(struct redis *r, redisReply *reply, void *data)
{
	(void)r;
	struct fleet_account *fa = data;
	if (!reply || reply->type != REDIS_REPLY_ARRAY)
		return;
	struct cred c;
	uint64_t v = login_from_reply(reply, &c);
	uint64_t before = fa->a->oauth.n_store_adopted;
	oauth_store_sync(&fa->a->oauth, v ? &c : NULL, v);
	fa->f->n_login_adopted += fa->a->oauth.n_store_adopted - before;
}

static void on_login_version(struct redis *r, redisReply *reply, void *data)
{
	(void)r;
	struct fleet_account *fa = data;
	if (!reply)
		return;
	uint64_t v = reply->type == REDIS_REPLY_STRING ? strtoull(reply->str, NULL, 10) : 0;
	/* Missing (Redis restarted empty) or not the version we hold: read it all (adopt it, or write ours again). */
	if (v == 0 ? fa->a->oauth.store_version > 0 || fa->a->oauth.cur.access_token : v != fa->a->oauth.store_version)
		(void)hmget_login(fa, on_login_read);
}

/* ---- the usage poll (usage_poll_share) ---------------------------------------------------------------------- */

static int apply_usage(struct fleet_account *fa, const redisReply *reply)
{
	if (!reply || reply->type != REDIS_REPLY_STRING)
		return 0;
	char *end;
	long long at = strtoll(reply->str, &end, 10);
	if (end == reply->str || *end != ' ' || at <= fa->usage_at_ms)
		return 0;
	struct tracker *t = &fa->a->tracker;
	size_t off = (size_t)(end + 1 - reply->str);
	if (tracker_apply_poll(t, reply->str + off, reply->len - off, at))
		return 0;
	fa->usage_at_ms = at;
	fa->n_usage_adopted++;
	fa->a->poll.last_success_ms = at; /* the windows are as fresh as the replica's poll */
	return 1;
}

static void on_usage_read(struct redis *r, redisReply *reply, void *data)
{
	(void)r;
	struct fleet_account *fa = data;
	apply_usage(fa, reply);
}

static void on_usage_for_poll(struct redis *r, redisReply *reply, void *data)
{
	(void)r;
	struct fleet_account *fa = data;
	apply_usage(fa, reply);
	usage_poll_lease_answer(&fa->a->poll, !reply); /* Redis gone: poll locally after all */
}

static void on_poll_lease(struct redis *r, redisReply *reply, void *data)
{
	struct fleet_account *fa = data;
	struct fleet *f = fa->f;
	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		if (reply)
			redis_reply_error(r, reply, "poll lease");
		usage_poll_lease_answer(&fa->a->poll, 1);
		return;
	}
	int got = reply->type == REDIS_REPLY_STATUS;
	f->leases[FLEET_LEASE_POLL][got ? FLEET_ACQUIRED : FLEET_BUSY]++;
	if (got || redis_cmd(r, on_usage_for_poll, fa, "GET %s", fa->k_usage))
		usage_poll_lease_answer(&fa->a->poll, 1);
}

static int share_acquire(void *arg)
{
	struct fleet_account *fa = arg;
	struct fleet *f = fa->f;
	uint64_t ms = f->cfg->poll_interval_ms * 9 / 10; /* the next turn of whoever polls finds it free */
	return redis_cmd(&f->redis, on_poll_lease, fa, "SET %s %s NX PX %llu", fa->k_poll, f->replica,
			 (unsigned long long)(ms ? ms : 1));
}

static void on_ignored(struct redis *r, redisReply *reply, void *data)
{
	(void)data;
	if (reply && reply->type == REDIS_REPLY_ERROR)
		redis_reply_error(r, reply, "write");
}

static void share_publish(void *arg, const char *body, size_t len)
{
	struct fleet_account *fa = arg;
	struct fleet *f = fa->f;
	int64_t now = wall_ms();
	struct buf b;
	buf_init(&b, 0);
	char msg[120];
	snprintf(msg, sizeof msg, "usage %s", fa->a->name);
	if (buf_printf(&b, "%lld ", (long long)now) == 0 && buf_append(&b, body, len) == 0 &&
	    redis_cmd(&f->redis, on_ignored, fa, "SET %s %b EX %d", fa->k_usage, buf_ptr(&b), buf_size(&b),
		      USAGE_TTL_S) == 0) {
		(void)redis_cmd(&f->redis, on_ignored, fa, "PUBLISH %s %s", f->channel, msg);
		fa->usage_at_ms = now;
		fa->n_published++;
	}
	buf_free(&b);
}

/* ---- windows and counters ------------------------------------------------------------------------------------ */

struct win_ctx {
	struct fleet_account *fa;
	int i;              /* tracker window index */
	int64_t resets_at;  /* the period read */
};

static void on_windows(struct redis *r, redisReply *reply, void *data)
{
	struct fleet_account *fa = data;
	if (!reply_ok(fa->f, reply, REDIS_REPLY_ARRAY, "windows"))
		return;
	(void)r;
	struct tracker *t = &fa->a->tracker;
	int64_t now = wall_ms();
	for (size_t k = 0; k + 1 < reply->elements; k += 2) {
		const redisReply *name = reply->element[k], *val = reply->element[k + 1];
		if (name->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING || name->len >= 24)
			continue;
		long long at, reset;
		double util;
		int status;
		if (sscanf(val->str, "%lld %lf %lld %d", &at, &util, &reset, &status) != 4)
			continue;
		if (tracker_apply_shared(t, name->str, util, reset, status, at, now)) {
			fa->n_windows_adopted++;
			for (int i = 0; i < t->n; i++) /* no need to write back what came from Redis */
				if (strcmp(t->w[i].name, name->str) == 0 && fa->w[i].header_pushed_ms < at)
					fa->w[i].header_pushed_ms = at;
		}
	}
}

static int same_period(int64_t a, int64_t b) { return a > b - PERIOD_SLACK_S && a < b + PERIOD_SLACK_S; }

/* Field k of an HGETALL answer of counts ("<reset> <in> <out> <cw> <cr> <req>") when it counts the period
 * `resets_at`: 1 with the field's name and tokens, else 0. */
static int count_field(const redisReply *reply, size_t k, int64_t resets_at, const redisReply **field,
		       struct tracker_tokens *tk)
{
	const redisReply *f = reply->element[k], *v = reply->element[k + 1];
	long long rs;
	unsigned long long a, b, c, d, e;
	if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
	    sscanf(v->str, "%lld %llu %llu %llu %llu %llu", &rs, &a, &b, &c, &d, &e) != 6 || !same_period(rs, resets_at))
		return 0;
	*field = f;
	*tk = (struct tracker_tokens){.input = a, .output = b, .cache_creation = c, .cache_read = d, .requests = e};
	return 1;
}

static int window_current(const struct fleet_account *fa, const struct win_ctx *x)
{
	const struct tracker *t = &fa->a->tracker;
	return x->i < t->n && same_period(t->w[x->i].resets_at, x->resets_at);
}

static void on_tokens(struct redis *r, redisReply *reply, void *data)
{
	struct win_ctx *x = data;
	struct fleet_account *fa = x->fa;
	if (reply_ok(fa->f, reply, REDIS_REPLY_ARRAY, "tokens") && window_current(fa, x)) {
		struct tracker_window *w = &fa->a->tracker.w[x->i];
		struct tracker_tokens all = {0}, others = {0};
		int replicas = 0, seen_own = 0;
		size_t mine = strlen(fa->f->replica);
		for (size_t k = 0; k + 1 < reply->elements; k += 2) {
			const redisReply *field;
			struct tracker_tokens tk;
			if (!count_field(reply, k, w->resets_at, &field, &tk))
				continue;
			replicas++;
			int own = field->len == mine && memcmp(field->str, fa->f->replica, mine) == 0;
			seen_own |= own;
			if (own)
				tk = w->tokens; /* ours as it is now, not as last written */
			else
				tracker_tokens_add(&others, &tk);
			tracker_tokens_add(&all, &tk);
		}
		w->others = others;
		struct fleet_window *fw = &fa->w[x->i];
		if (!seen_own && w->tokens.requests) {
			/* Ours is gone from Redis (FLUSHALL, eviction, a DEL) without a reconnect: count it, write it again. */
			tracker_tokens_add(&all, &w->tokens);
			replicas++;
			fw->dirty = 1;
		}
		snprintf(fw->name, sizeof fw->name, "%s", w->name);
		fw->resets_at = w->resets_at;
		fw->tokens = all;
		fw->replicas = replicas;
	}
	(void)r;
	free(x);
}

static void on_client_tokens(struct redis *r, redisReply *reply, void *data)
{
	struct win_ctx *x = data;
	struct fleet_account *fa = x->fa;
	struct clients *cl = fa->f->clients;
	if (cl && reply_ok(fa->f, reply, REDIS_REPLY_ARRAY, "client tokens") && window_current(fa, x)) {
		const struct tracker *t = &fa->a->tracker;
		struct tracker_tokens others[CLIENTS_MAX];
		memset(others, 0, sizeof others);
		size_t mine = strlen(fa->f->replica);
		for (size_t k = 0; k + 1 < reply->elements; k += 2) {
			const redisReply *field;
			struct tracker_tokens tk;
			if (!count_field(reply, k, t->w[x->i].resets_at, &field, &tk))
				continue;
			const char *bar = memchr(field->str, '|', field->len);
			if (!bar)
				continue;
			size_t nl = (size_t)(bar - field->str), rl = field->len - nl - 1;
			if (rl == mine && memcmp(bar + 1, fa->f->replica, mine) == 0)
				continue;
			for (int c = 0; c < cl->n; c++)
				if (cl->e[c].used && strlen(cl->e[c].def.name) == nl && !memcmp(cl->e[c].def.name, field->str, nl)) {
					tracker_tokens_add(&others[c], &tk);
					break;
				}
		}
		for (int c = 0; c < cl->n; c++) {
			static const struct tracker_tokens zero;
			if (cl->e[c].used && (cl->e[c].slots || memcmp(&others[c], &zero, sizeof zero)))
				clients_set_others(cl, c, fa->index, t, x->i, &others[c]);
		}
	}
	(void)r;
	free(x);
}

static int count_value(char *out, size_t n, int64_t reset, const struct tracker_tokens *k)
{
	return snprintf(out, n, "%lld %llu %llu %llu %llu %llu", (long long)reset, (unsigned long long)k->input,
			(unsigned long long)k->output, (unsigned long long)k->cache_creation,
			(unsigned long long)k->cache_read, (unsigned long long)k->requests);
}

static void sync_window(struct fleet_account *fa, int i)
{
	struct fleet *f = fa->f;
	struct redis *r = &f->redis;
	struct tracker_window *w = &fa->a->tracker.w[i];
	struct fleet_window *fw = &fa->w[i];
	/* Header values newer than what this replica last wrote (or read). */
	if (w->util_src == TRACKER_SRC_HEADER && w->util_at_ms > fw->header_pushed_ms && w->utilization >= 0) {
		char at[24], val[96], ttl[24];
		snprintf(at, sizeof at, "%lld", (long long)w->util_at_ms);
		snprintf(val, sizeof val, "%lld %.6f %lld %d", (long long)w->util_at_ms, w->utilization,
			 (long long)w->resets_at, w->status);
		snprintf(ttl, sizeof ttl, "%lld", WINDOWS_TTL_MS);
		if (redis_cmd(r, on_ignored, fa, "EVAL %s 1 %s %s %s %s %s", LUA_WINDOW, fa->k_windows, w->name, at, val,
			      ttl) == 0)
			fw->header_pushed_ms = w->util_at_ms;
	}
	if (!w->resets_at)
		return; /* no period to count in yet */
	if (!same_period(fw->resets_at, w->resets_at) || strcmp(fw->name, w->name) != 0) {
		memset(fw, 0, sizeof *fw);
		snprintf(fw->name, sizeof fw->name, "%s", w->name);
		fw->resets_at = w->resets_at;
		fw->dirty = 1;
		fw->header_pushed_ms = w->util_at_ms;
	}
	char key[300], val[160];
	snprintf(key, sizeof key, "%stokens:%s:%s", f->cfg->redis_prefix, fa->a->name, w->name);
	long long expire_at = (long long)w->resets_at + KEY_AFTER_RESET_S;
	if ((fw->dirty || memcmp(&fw->pushed, &w->tokens, sizeof w->tokens)) && w->tokens.requests) {
		count_value(val, sizeof val, w->resets_at, &w->tokens);
		if (redis_cmd(r, on_ignored, fa, "HSET %s %s %s", key, f->replica, val) == 0 &&
		    redis_cmd(r, on_ignored, fa, "EXPIREAT %s %lld", key, expire_at) == 0) {
			fw->pushed = w->tokens;
			fw->dirty = 0;
		}
	}
	struct win_ctx *x = malloc(sizeof *x);
	if (x) {
		*x = (struct win_ctx){fa, i, w->resets_at};
		if (redis_cmd(r, on_tokens, x, "HGETALL %s", key))
			free(x);
	}
	struct clients *cl = f->clients;
	if (!cl || !cl->n)
		return;
	snprintf(key, sizeof key, "%sclients:%s:%s", f->cfg->redis_prefix, fa->a->name, w->name);
	int wrote = 0;
	for (int c = 0; c < cl->n; c++) {
		const struct tracker_tokens *k = clients_window_tokens(cl, c, fa->index, &fa->a->tracker, i);
		if (!cl->e[c].used || !k->requests)
			continue;
		char field[CLIENTS_NAME_MAX + 100];
		snprintf(field, sizeof field, "%s|%s", cl->e[c].def.name, f->replica);
		count_value(val, sizeof val, w->resets_at, k);
		wrote |= redis_cmd(r, on_ignored, fa, "HSET %s %s %s", key, field, val) == 0;
	}
	if (wrote)
		(void)redis_cmd(r, on_ignored, fa, "EXPIREAT %s %lld", key, expire_at);
	x = malloc(sizeof *x);
	if (x) {
		*x = (struct win_ctx){fa, i, w->resets_at};
		if (redis_cmd(r, on_client_tokens, x, "HGETALL %s", key))
			free(x);
	}
}

static void on_replicas(struct redis *r, redisReply *reply, void *data)
{
	struct fleet *f = data;
	(void)r;
	if (reply_ok(f, reply, REDIS_REPLY_INTEGER, "replicas"))
		f->replicas = (int)reply->integer;
}

static void sync_now(struct fleet *f)
{
	struct redis *r = &f->redis;
	if (!redis_up(r))
		return;
	char key[200];
	snprintf(key, sizeof key, "%sreplicas", f->cfg->redis_prefix);
	long long now = (long long)wall_ms();
	(void)redis_cmd(r, on_ignored, f, "ZADD %s %lld %s", key, now, f->replica);
	(void)redis_cmd(r, on_ignored, f, "ZREMRANGEBYSCORE %s -inf %lld", key, now - REPLICA_SEEN_MS);
	(void)redis_cmd(r, on_replicas, f, "ZCARD %s", key);
	for (int k = 0; k < f->n; k++) {
		struct fleet_account *fa = &f->acc[k];
		if (fa->a->oauth.source != OAUTH_ENV)
			(void)redis_cmd(r, on_login_version, fa, "HGET %s v", fa->k_login);
		for (int i = 0; i < fa->a->tracker.n; i++)
			sync_window(fa, i);
		(void)redis_cmd(r, on_windows, fa, "HGETALL %s", fa->k_windows);
	}
}

static void on_sync(uv_timer_t *t) { sync_now(t->data); }

/* ---- connection events --------------------------------------------------------------------------------------- */

static void on_up(void *arg)
{
	struct fleet *f = arg;
	for (int k = 0; k < f->n; k++) {
		struct fleet_account *fa = &f->acc[k];
		for (int i = 0; i < TRACKER_MAX_WINDOWS; i++)
			fa->w[i].dirty = 1; /* a restarted Redis lost them: write them again */
		if (fa->a->oauth.source != OAUTH_ENV)
			(void)hmget_login(fa, on_login_read);
		(void)redis_cmd(&f->redis, on_usage_read, fa, "GET %s", fa->k_usage);
	}
	sync_now(f);
}

static void on_message(void *arg, const char *msg, size_t len)
{
	struct fleet *f = arg;
	char kind[16], name[ACCOUNT_NAME_MAX + 1];
	char m[160];
	if (len >= sizeof m)
		return;
	memcpy(m, msg, len);
	m[len] = 0;
	if (sscanf(m, "%15s %32s", kind, name) != 2)
		return;
	for (int k = 0; k < f->n; k++) {
		struct fleet_account *fa = &f->acc[k];
		if (strcmp(fa->a->name, name) != 0)
			continue;
		if (strcmp(kind, "login") == 0)
			(void)hmget_login(fa, on_login_read);
		else if (strcmp(kind, "usage") == 0)
			(void)redis_cmd(&f->redis, on_usage_read, fa, "GET %s", fa->k_usage);
	}
}

/* ---- lifetime ------------------------------------------------------------------------------------------------ */

void fleet_init(struct fleet *f, uv_loop_t *loop, const struct config *cfg, const struct redis_url *url,
		struct account *accounts, int n, struct clients *clients)
{
	memset(f, 0, sizeof *f);
	f->loop = loop;
	f->cfg = cfg;
	f->clients = clients;
	f->n = n;
	f->acc = calloc((size_t)n, sizeof *f->acc);
	if (!f->acc)
		f->n = 0;
	char host[64] = "replica";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = 0;
	for (char *p = host; *p; p++)
		if (*p == ' ' || *p == '|')
			*p = '-';
	unsigned char rnd[4] = {0};
	(void)uv_random(NULL, NULL, rnd, sizeof rnd, 0, NULL);
	snprintf(f->replica, sizeof f->replica, "%s-%02x%02x%02x%02x", host, rnd[0], rnd[1], rnd[2], rnd[3]);
	snprintf(f->channel, sizeof f->channel, "%sevents", cfg->redis_prefix);
	redis_init(&f->redis, loop, url, f->channel, cfg->connect_timeout_ms);
	f->redis.on_up = on_up;
	f->redis.on_message = on_message;
	f->redis.arg = f;
	for (int k = 0; k < f->n; k++) {
		struct fleet_account *fa = &f->acc[k];
		const char *p = cfg->redis_prefix, *a = accounts[k].name;
		fa->f = f;
		fa->a = &accounts[k];
		fa->index = k;
		snprintf(fa->k_login, sizeof fa->k_login, "%slogin:%s", p, a);
		snprintf(fa->k_lease, sizeof fa->k_lease, "%slease:refresh:%s", p, a);
		snprintf(fa->k_poll, sizeof fa->k_poll, "%slease:poll:%s", p, a);
		snprintf(fa->k_usage, sizeof fa->k_usage, "%susage:%s", p, a);
		snprintf(fa->k_windows, sizeof fa->k_windows, "%swindows:%s", p, a);
		fa->store = (struct oauth_store){store_up, store_begin, store_publish, store_release, fa};
		fa->share = (struct usage_poll_share){share_acquire, share_publish, fa};
	}
	uv_timer_init(loop, &f->timer);
	f->timer.data = f;
}

void fleet_start(struct fleet *f)
{
	for (int k = 0; k < f->n; k++) {
		struct fleet_account *fa = &f->acc[k];
		if (fa->a->oauth.source != OAUTH_ENV)
			oauth_set_store(&fa->a->oauth, &fa->store);
		fa->a->poll.deps.share = &fa->share;
	}
	char where[300];
	redis_url_describe(&f->redis.url, where, sizeof where);
	struct log_line l;
	log_begin(&l, AP_INFO, "fleet");
	log_str(&l, "redis", where);
	log_str(&l, "replica", f->replica);
	log_str(&l, "prefix", f->cfg->redis_prefix);
	log_end(&l);
	redis_start(&f->redis);
	uv_timer_start(&f->timer, on_sync, SYNC_MS, SYNC_MS);
	f->started = 1;
}

void fleet_set_replica(struct fleet *f, const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof f->replica || f->started)
		return;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return;
	memcpy(f->replica, name, n + 1);
}

static void timer_closed(uv_handle_t *h) { (void)h; }

int fleet_busy(const struct fleet *f) { return redis_busy(&f->redis); }

void fleet_close(struct fleet *f)
{
	if (!f->started)
		return;
	f->started = 0;
	redis_close(&f->redis); /* a lease still held expires by itself (--redis-lease) */
	if (!uv_is_closing((uv_handle_t *)&f->timer))
		uv_close((uv_handle_t *)&f->timer, timer_closed);
}

void fleet_free(struct fleet *f)
{
	redis_free(&f->redis);
	free(f->acc);
	f->acc = NULL;
}

/* ---- /usage -------------------------------------------------------------------------------------------------- */

static int put_tokens(struct buf *out, const struct tracker_tokens *k)
{
	return buf_printf(out,
			  "{\"input\":%llu,\"output\":%llu,\"cache_creation\":%llu,\"cache_read\":%llu,\"requests\":%llu}",
			  (unsigned long long)k->input, (unsigned long long)k->output,
			  (unsigned long long)k->cache_creation, (unsigned long long)k->cache_read,
			  (unsigned long long)k->requests);
}

int fleet_render_json(const struct fleet *f, struct buf *out, int64_t now_ms)
{
	(void)now_ms;
	char where[300];
	redis_url_describe(&f->redis.url, where, sizeof where);
	int e = buf_appends(out, "{\"redis\":\"") || http_json_escape(out, where, strlen(where)) ||
		buf_printf(out, "\",\"up\":%s,\"replica\":\"", redis_up(&f->redis) ? "true" : "false") ||
		http_json_escape(out, f->replica, strlen(f->replica)) ||
		buf_printf(out, "\",\"replicas\":%d,\"errors\":{", f->replicas);
	for (int k = 0; k < REDIS_E_KINDS; k++)
		e = e || buf_printf(out, "%s\"%s\":%llu", k ? "," : "", redis_err_names[k],
				    (unsigned long long)f->redis.errors[k]);
	e = e || buf_appends(out, "},\"leases\":{");
	for (int k = 0; k < FLEET_LEASES; k++)
		e = e || buf_printf(out, "%s\"%s\":{\"acquired\":%llu,\"busy\":%llu}", k ? "," : "", fleet_lease_names[k],
				    (unsigned long long)f->leases[k][FLEET_ACQUIRED],
				    (unsigned long long)f->leases[k][FLEET_BUSY]);
	e = e || buf_appends(out, "},\"accounts\":{");
	for (int k = 0; k < f->n; k++) {
		const struct fleet_account *fa = &f->acc[k];
		const struct oauth *o = &fa->a->oauth;
		e = e || buf_printf(out,
				    "%s\"%s\":{\"login_version\":%llu,\"logins_adopted\":%llu,\"logins_published\":%llu,"
				    "\"refresh_lease_busy\":%llu,\"usage_adopted\":%llu,\"usage_published\":%llu,"
				    "\"windows_adopted\":%llu,\"windows\":{",
				    k ? "," : "", fa->a->name, (unsigned long long)o->store_version,
				    (unsigned long long)o->n_store_adopted, (unsigned long long)o->n_store_published,
				    (unsigned long long)o->n_lease_busy, (unsigned long long)fa->n_usage_adopted,
				    (unsigned long long)fa->n_published, (unsigned long long)fa->n_windows_adopted);
		int first = 1;
		const struct tracker *t = &fa->a->tracker;
		for (int i = 0; i < t->n; i++) {
			const struct fleet_window *fw = &fa->w[i];
			if (!fw->name[0] || !same_period(fw->resets_at, t->w[i].resets_at))
				continue;
			struct tracker_tokens all = t->w[i].tokens; /* ours now plus the others' as last read */
			tracker_tokens_add(&all, &t->w[i].others);
			e = e || buf_printf(out, "%s\"%s\":{\"replicas\":%d,\"tokens\":", first ? "" : ",", fw->name,
					    fw->replicas) ||
			    put_tokens(out, &all) || buf_appends(out, "}");
			first = 0;
		}
		e = e || buf_appends(out, "}}");
	}
	e = e || buf_appends(out, "},\"clients\":{");
	const struct clients *cl = f->clients;
	int firstc = 1;
	for (int c = 0; cl && c < cl->n; c++) {
		if (!cl->e[c].used)
			continue;
		e = e || buf_printf(out, "%s\"%s\":{", firstc ? "" : ",", cl->e[c].def.name);
		firstc = 0;
		int first = 1;
		for (int k = 0; k < f->n; k++) {
			const struct tracker *t = &f->acc[k].a->tracker;
			for (int i = 0; i < t->n; i++) {
				struct tracker_tokens ft = clients_fleet_tokens(cl, c, k, t, i);
				if (!ft.requests)
					continue;
				e = e || buf_printf(out, "%s\"%s/%s\":", first ? "" : ",", f->acc[k].a->name, t->w[i].name) ||
				    put_tokens(out, &ft);
				first = 0;
			}
		}
		e = e || buf_appends(out, "}");
	}
	return e || buf_appends(out, "}}");
}
