#include "oauth.h"

#include "clock.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREDENTIALS_MAX (1024 * 1024) /* a credentials file is a few hundred bytes; refuse absurd ones */
#define WAITERS_MAX 4096              /* requests queued behind one refresh */
#define WAIT_MS 30000                 /* longest a request waits for a token */
#define ANSWER_MAX (64 * 1024)        /* token endpoint answer */
#define BACKOFF_MIN_MS 5000
#define BACKOFF_MAX_MS (10 * 60 * 1000)
#define REQUEST_REFRESH_GAP_MS 5000 /* see refresh_resting */
#define LOCK_RETRY_MS 100
#define LOCK_TRIES 50                 /* 5 s of a held lock, then refresh anyway (and say so) */
#define FOLLOW_STAT_MS 1000           /* follow mode: how often the file is checked */
#define STORE_RETRY_MS 1000           /* fleet: the store is down; look again */
#define LEASE_WAIT_MS 300             /* fleet: another replica holds the refresh lease; ask again */

static const struct upstream_cbs refresh_cbs;
static void on_error(struct upstream_req *r, const char *kind, const char *msg);
static void refresh_start(struct oauth *o);
static void on_timer(uv_timer_t *t);

/* ---- set-up -------------------------------------------------------------------------------------------------- */

void oauth_init(struct oauth *o, uv_loop_t *loop, const struct config *cfg, struct tls_ctx *tls, const char *credentials)
{
	memset(o, 0, sizeof *o);
	o->loop = loop;
	o->cfg = cfg;
	o->credentials = credentials;
	o->lock_fd = -1;
	backoff_init(&o->backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	cred_init(&o->cur);
	buf_init(&o->req_head, 0);
	buf_init(&o->req_body, 0);
	buf_init(&o->resp, ANSWER_MAX);
	uv_timer_init(loop, &o->timer);
	uv_timer_init(loop, &o->wait_timer);
	o->timer.data = o->wait_timer.data = o;
	for (int i = 0; i < cfg->n_token_urls; i++) {
		char host[256];
		int port;
		if (config_parse_url(cfg->token_urls[i], host, sizeof host, &port, o->token_auth[i],
				     sizeof o->token_auth[i], o->token_path[i], sizeof o->token_path[i]))
			continue; /* config validated them already */
		struct upstream_opts opts = UPSTREAM_OPTS_DEFAULT;
		opts.connect_timeout_ms = cfg->connect_timeout_ms;
		opts.io_timeout_ms = WAIT_MS;
		if (cfg->redis && cfg->redis_lease_ms > cfg->connect_timeout_ms + 1000 &&
		    cfg->redis_lease_ms - cfg->connect_timeout_ms - 1000 < WAIT_MS)
			opts.io_timeout_ms = cfg->redis_lease_ms - cfg->connect_timeout_ms - 1000; /* ends inside the lease */
		opts.pool_max = 1;
		upstream_init(&o->token_up[o->n_urls], loop, host, port, tls, &opts);
		o->n_urls++;
	}
}

static int expired(const struct oauth *o)
{
	return o->cur.expires_at_ms && wall_ms() >= o->cur.expires_at_ms;
}

static int store_down(const struct oauth *o) { return o->store && !o->store->up(o->store->arg); }

static int can_refresh(const struct oauth *o)
{
	if (store_down(o))
		return 0; /* never two refreshes of one token: without the fleet's lease, none */
	return (o->source == OAUTH_FILE || o->source == OAUTH_STORE) && !o->dead &&
	       (o->cfg->follow_credentials || o->cur.refresh_token);
}

const char *oauth_token(const struct oauth *o)
{
	if (!o->cur.access_token || o->dead || expired(o))
		return NULL;
	return o->cur.access_token;
}

int oauth_must_wait(const struct oauth *o)
{
	return o->refreshing || (o->cur.access_token && expired(o) && can_refresh(o));
}

int oauth_parse_credentials(struct oauth *o, const char *json, size_t len, char *err, size_t errlen)
{
	struct cred c;
	cred_init(&c);
	if (credfile_parse(json, len, &c, err, errlen))
		return -1;
	cred_move(&o->cur, &c);
	o->generation++;
	return 0;
}

static void log_cred(const char *event, enum log_level level, const struct oauth *o, const char *msg)
{
	char fa[16] = "", fr[16] = "";
	if (o->cur.access_token)
		log_fingerprint(o->cur.access_token, fa);
	if (o->cur.refresh_token)
		log_fingerprint(o->cur.refresh_token, fr);
	struct log_line l;
	log_begin(&l, level, event);
	log_str(&l, "source", o->source == OAUTH_ENV ? "CLAUDE_CODE_OAUTH_TOKEN" : o->source == OAUTH_STORE ? "redis" : o->path);
	log_str(&l, "token", fa[0] ? fa : NULL);
	log_str(&l, "refresh_token", fr[0] ? fr : NULL);
	if (o->cur.expires_at_ms)
		log_int(&l, "expires_in_s", (long long)(o->cur.expires_at_ms - wall_ms()) / 1000);
	if (msg)
		log_str(&l, "msg", msg);
	log_end(&l);
}

/* Reads and parses the credentials file into `out`. */
static int read_file(const char *path, struct cred *out, char *err, size_t errlen)
{
	size_t len;
	char e[300];
	char *data = fs_read_all(path, CREDENTIALS_MAX, &len, e, sizeof e);
	if (!data) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	int rc = credfile_parse(data, len, out, e, sizeof e);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, e);
	explicit_bzero(data, len);
	free(data);
	return rc;
}

static int load_file(struct oauth *o, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 077)) {
		struct log_line l;
		log_begin(&l, AP_WARN, "credentials_mode");
		log_str(&l, "path", path);
		log_str(&l, "msg", "the credentials file is readable by other users; chmod 600 it");
		log_end(&l);
	}
	struct cred c;
	cred_init(&c);
	if (read_file(path, &c, err, errlen))
		return -1;
	cred_move(&o->cur, &c);
	o->generation++;
	snprintf(o->path, sizeof o->path, "%s", path);
	o->source = OAUTH_FILE;
	return 0;
}


int oauth_load(struct oauth *o, char **envp)
{
	char err[512];
	o->envp = envp;
	o->problem[0] = 0;
	o->dead = 0;
	if (o->credentials) {
		if (load_file(o, o->credentials, err, sizeof err) == 0)
			goto found;
		snprintf(o->problem, sizeof o->problem, "%s", err);
		return -1; /* an explicit file that does not work is a problem to report, not to paper over */
	}
	const char *env = config_env_get(envp, "CLAUDE_CODE_OAUTH_TOKEN");
	if (env && *env) {
		if (!cred_token_ok(env)) {
			snprintf(o->problem, sizeof o->problem, "CLAUDE_CODE_OAUTH_TOKEN holds invalid characters");
			return -1;
		}
		cred_free(&o->cur);
		o->cur.access_token = strdup(env);
		o->source = OAUTH_ENV;
		o->generation++;
		if (!o->cur.access_token)
			return -1;
		goto found;
	}
	char path[4096];
	const char *dir = config_env_get(envp, "CLAUDE_CONFIG_DIR"), *home = config_env_get(envp, "HOME");
	if (dir && *dir)
		snprintf(path, sizeof path, "%s/.credentials.json", dir);
	else if (home && *home)
		snprintf(path, sizeof path, "%s/.claude/.credentials.json", home);
	else {
		snprintf(o->problem, sizeof o->problem, "no credentials: HOME is not set and no other source was given");
		return -1;
	}
	if (load_file(o, path, err, sizeof err) == 0)
		goto found;
	snprintf(o->problem, sizeof o->problem, "%s", err);
	return -1;
found:
	log_cred("credentials_loaded", AP_INFO, o, NULL);
	return 0;
}

/* ---- waiters ------------------------------------------------------------------------------------------------- */

static void unqueue(struct oauth *o, struct oauth_waiter *w)
{
	if (!w->queued)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		o->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		o->waiters_tail = w->prev;
	w->next = w->prev = NULL;
	w->queued = 0;
	o->n_waiters--;
}

/* Hands the outcome to every waiter. A callback may queue new waiters; they are not in this round. */
static void resolve_all(struct oauth *o, const char *token, const char *why)
{
	struct oauth_waiter *list = o->waiters;
	o->waiters = o->waiters_tail = NULL;
	o->n_waiters = 0;
	while (list) {
		struct oauth_waiter *w = list;
		list = w->next;
		w->next = w->prev = NULL;
		w->queued = 0;
		w->cb(w, token, why);
	}
}

/* Whether a refresh failed so recently that requests do not start another (the timer retries with back-off): a
 * failing token endpoint is asked at most once per REQUEST_REFRESH_GAP_MS by traffic, not once per request. */
static int refresh_resting(const struct oauth *o)
{
	return o->failed_at && uv_now(o->loop) - o->failed_at < REQUEST_REFRESH_GAP_MS;
}

static void on_wait_timer(uv_timer_t *t)
{
	struct oauth *o = t->data;
	if (!o->refreshing) {
		const char *tok = oauth_token(o);
		if (tok || !can_refresh(o) || o->cfg->follow_credentials || refresh_resting(o)) {
			resolve_all(o, tok, tok ? NULL : o->problem[0] ? o->problem : "no usable access token");
			return;
		}
	}
	/* Waiters past their deadline give up; the rest keep waiting for the refresh. */
	uint64_t now = uv_now(o->loop);
	for (struct oauth_waiter *w = o->waiters, *next; w; w = next) {
		next = w->next;
		if (now >= w->deadline) {
			/* A refresh ahead of expiry can outlast the wait: the token in hand still serves. */
			const char *tok = oauth_token(o);
			unqueue(o, w);
			w->cb(w, tok, tok ? NULL : "timed out waiting for the access token to be refreshed");
		}
	}
	if (o->waiters)
		uv_timer_start(&o->wait_timer, on_wait_timer, 1000, 0);
}

static int enqueue(struct oauth *o, struct oauth_waiter *w)
{
	if (o->n_waiters >= WAITERS_MAX) {
		snprintf(o->problem, sizeof o->problem, "too many requests waiting for a token refresh");
		return -1;
	}
	w->deadline = uv_now(o->loop) + WAIT_MS;
	w->next = NULL;
	w->prev = o->waiters_tail;
	if (o->waiters_tail)
		o->waiters_tail->next = w;
	else
		o->waiters = w;
	o->waiters_tail = w;
	w->queued = 1;
	o->n_waiters++;
	if (!uv_is_active((uv_handle_t *)&o->wait_timer))
		uv_timer_start(&o->wait_timer, on_wait_timer, 1000, 0);
	return 0;
}

static int fresh_enough(const struct oauth *o);

int oauth_wait(struct oauth *o, struct oauth_waiter *w)
{
	if (o->closing || enqueue(o, w))
		return -1;
	/* A token fresh enough is the answer (a 401 for a request signed before a refresh that has happened since), and
	 * a refresh that just failed is not retried by traffic. */
	if (!o->refreshing && !refresh_resting(o) && !fresh_enough(o))
		refresh_start(o);
	if (!o->refreshing) /* nothing to wait for (follow mode re-read, or no way to refresh): answer next turn */
		uv_timer_start(&o->wait_timer, on_wait_timer, 0, 0);
	return 0;
}

void oauth_cancel(struct oauth *o, struct oauth_waiter *w) { unqueue(o, w); }

int oauth_expired(struct oauth *o, uint64_t generation, struct oauth_waiter *w)
{
	if (generation == o->generation && o->cur.access_token && !o->refreshing) {
		/* The upstream is the authority on expiry: stop handing out this token. */
		o->cur.expires_at_ms = wall_ms() - 1;
		log_cred("token_expired_upstream", AP_INFO, o, "the API says the access token expired");
	}
	return oauth_wait(o, w);
}

/* ---- refresh ------------------------------------------------------------------------------------------------- */

static void unlock(struct oauth *o)
{
	if (o->lock_fd >= 0) {
		flock(o->lock_fd, LOCK_UN);
		close(o->lock_fd);
		o->lock_fd = -1;
	}
}

/* Takes the advisory lock that serialises refreshes between processes. 1: held, 0: busy, -1: unusable. */
static int try_lock(struct oauth *o)
{
	char path[4200];
	snprintf(path, sizeof path, "%s.lock", o->path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600); /* never through a planted symlink */
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int busy = errno == EWOULDBLOCK;
		close(fd);
		return busy ? 0 : -1;
	}
	o->lock_fd = fd;
	return 1;
}

static void schedule(struct oauth *o)
{
	if (o->closing)
		return;
	if (o->source != OAUTH_FILE && o->source != OAUTH_STORE)
		return;
	if (o->cfg->follow_credentials) {
		uv_timer_start(&o->timer, on_timer, FOLLOW_STAT_MS, 0);
		return;
	}
	if (!o->cur.refresh_token || !o->cur.expires_at_ms || o->dead)
		return;
	int64_t at = o->cur.expires_at_ms - (int64_t)o->cfg->refresh_margin_ms - wall_ms();
	uv_timer_start(&o->timer, on_timer, at > 0 ? (uint64_t)at : 0, 0);
}

static void finish(struct oauth *o, const char *token, const char *why)
{
	if (token && !why)
		o->failed_at = 0; /* a token again (refreshed, or adopted): requests may start refreshes again */
	if (o->store && o->leased)
		o->store->release(o->store->arg);
	o->leased = 0;
	o->store_round = 0;
	o->refreshing = 0;
	o->grant_retry = 0;
	unlock(o);
	cred_wipe(o->sent_refresh);
	o->sent_refresh = NULL;
	schedule(o);
	resolve_all(o, token, why);
}

static void refresh_failed(struct oauth *o, const char *why)
{
	o->n_refresh_failed++;
	o->failed_at = uv_now(o->loop);
	snprintf(o->last_error, sizeof o->last_error, "%s", why);
	uint64_t delay = backoff_fail(&o->backoff, 0);
	struct log_line l;
	log_begin(&l, AP_WARN, "token_refresh_failed");
	log_str(&l, "msg", why);
	log_int(&l, "retry_in_ms", (long long)delay);
	log_end(&l);
	const char *tok = oauth_token(o); /* a refresh ahead of expiry leaves the current token usable */
	char reason[400];
	snprintf(reason, sizeof reason, "the access token expired and refreshing it failed: %s", why);
	if (!tok)
		snprintf(o->problem, sizeof o->problem, "%s", reason);
	finish(o, tok, tok ? NULL : reason);
	if (!o->closing && !o->dead)
		uv_timer_start(&o->timer, on_timer, delay, 0);
}

static void adopt(struct oauth *o, struct cred *c, const char *why)
{
	cred_move(&o->cur, c);
	o->generation++;
	o->n_adopted++;
	o->dead = 0;
	o->problem[0] = 0;
	log_cred("credentials_adopted", AP_INFO, o, why);
}

/* Whether the next token URL may still be tried: under the fleet's lease only when its whole request (connect, then
 * the answer's silence allowance) ends before the lease does; otherwise the next leased round starts with it. */
static int next_url_fits(struct oauth *o)
{
	if (o->url_idx + 1 >= o->n_urls)
		return 0;
	if (!o->leased)
		return 1;
	const struct upstream *u = &o->token_up[o->url_idx + 1];
	if (uv_now(o->loop) + u->connect_timeout_ms + u->io_timeout_ms <= o->lease_until_ms)
		return 1;
	o->url_next = o->url_idx + 1;
	struct log_line l;
	log_begin(&l, AP_INFO, "token_url_deferred");
	log_str(&l, "token_url", o->cfg->token_urls[o->url_next]);
	log_str(&l, "msg", "the refresh lease ends before this token URL could answer: the next leased round starts "
			   "with it");
	log_end(&l);
	return 0;
}

static void send_refresh(struct oauth *o)
{
	int i = o->url_idx;
	buf_reset(&o->req_body);
	buf_reset(&o->req_head);
	int e = buf_appends(&o->req_body, "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"") ||
		http_json_escape(&o->req_body, o->cur.refresh_token, strlen(o->cur.refresh_token)) ||
		buf_appends(&o->req_body, "\",\"client_id\":\"") ||
		http_json_escape(&o->req_body, o->cfg->client_id, strlen(o->cfg->client_id)) ||
		buf_appends(&o->req_body, "\"}");
	e = e || buf_printf(&o->req_head,
			    "POST %s HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\naccept: application/json\r\n"
			    "user-agent: anthropic-proxy/" AP_VERSION "\r\ncontent-length: %zu\r\n\r\n",
			    o->token_path[i], o->token_auth[i], buf_size(&o->req_body));
	cred_wipe(o->sent_refresh);
	o->sent_refresh = strdup(o->cur.refresh_token);
	if (e || !o->sent_refresh) {
		refresh_failed(o, "out of memory");
		return;
	}
	buf_reset(&o->resp);
	o->resp_status = 0;
	o->req = (struct upstream_req){
		.cbs = &refresh_cbs,
		.data = o,
		.head = buf_ptr(&o->req_head),
		.head_len = buf_size(&o->req_head),
		.body = buf_ptr(&o->req_body),
		.body_len = buf_size(&o->req_body),
	};
	struct log_line l;
	log_begin(&l, AP_INFO, "token_refresh_started");
	log_str(&l, "token_url", o->cfg->token_urls[i]);
	log_end(&l);
	o->req_active = 1;
	if (upstream_request(&o->token_up[i], &o->req))
		on_error(&o->req, UPSTREAM_ENOMEM, "out of memory");
}

/* Re-reads the file and adopts its tokens when another process rotated them. Returns 1 when adopted. */
static int adopt_from_file(struct oauth *o, const char *why)
{
	struct cred f;
	cred_init(&f);
	char err[400];
	if (read_file(o->path, &f, err, sizeof err))
		return 0;
	int changed = f.refresh_token && (!o->cur.refresh_token || strcmp(f.refresh_token, o->cur.refresh_token));
	int changed_access = strcmp(f.access_token, o->cur.access_token) != 0;
	if (changed || (o->cfg->follow_credentials && changed_access)) {
		adopt(o, &f, why);
		return 1;
	}
	cred_free(&f);
	return 0;
}

static int fresh_enough(const struct oauth *o)
{
	return o->cur.access_token && (!o->cur.expires_at_ms ||
				       wall_ms() < o->cur.expires_at_ms - (int64_t)o->cfg->refresh_margin_ms);
}

static void write_back(struct oauth *o, const struct cred *c);

/* ---- fleet: the login shared through a store ------------------------------------------------------------------ */

void oauth_set_store(struct oauth *o, const struct oauth_store *store) { o->store = store; }

void oauth_use_store_only(struct oauth *o)
{
	o->source = OAUTH_STORE;
	snprintf(o->problem, sizeof o->problem, "waiting for this account's login from the fleet store (Redis)");
}

static void publish(struct oauth *o, uint64_t version)
{
	o->store_version = version;
	o->n_store_published++;
	o->leased = 0; /* publishing releases the lease */
	o->store->publish(o->store->arg, &o->cur, version);
}

/* Takes the store's login (newer than ours). The credentials file, if any, follows, unless someone else changed it. */
static void store_adopt(struct oauth *o, struct cred *c, uint64_t version, const char *why)
{
	if (o->source == OAUTH_FILE && o->cur.refresh_token) {
		cred_wipe(o->sent_refresh);
		o->sent_refresh = strdup(o->cur.refresh_token); /* write_back's compare-then-swap checks the file against it */
		if (o->sent_refresh)
			write_back(o, c);
		else
			log_msg(AP_WARN, "credentials_not_written", "out of memory: the adopted login is not written to the file");
		cred_wipe(o->sent_refresh);
		o->sent_refresh = NULL;
	}
	if (o->source == OAUTH_NONE || o->source == OAUTH_STORE)
		o->source = OAUTH_STORE;
	adopt(o, c, why);
	o->store_version = version;
	o->n_store_adopted++;
	o->last_error[0] = 0;
	backoff_reset(&o->backoff);
	if (!o->refreshing) {
		uv_timer_stop(&o->timer);
		schedule(o);
		if (o->waiters)
			uv_timer_start(&o->wait_timer, on_wait_timer, 0, 0);
	}
}

static int same_login(const struct cred *a, const struct cred *b)
{
	return a->access_token && b->access_token && !strcmp(a->access_token, b->access_token) &&
	       (!a->refresh_token) == (!b->refresh_token) && (!a->refresh_token || !strcmp(a->refresh_token, b->refresh_token));
}

static void login_dead(struct oauth *o, const char *err)
{
	o->dead = 1;
	o->n_refresh_failed++;
	snprintf(o->problem, sizeof o->problem,
		 "login dead: the refresh token was rejected (%s). Log in again with Claude Code (`claude /login`), "
		 "then send SIGHUP or restart the proxy",
		 err);
	snprintf(o->last_error, sizeof o->last_error, "%s", err);
	log_msg(AP_ERROR, "login_dead", o->problem);
	finish(o, NULL, o->problem);
}

void oauth_store_sync(struct oauth *o, struct cred *c, uint64_t version)
{
	if (o->closing || o->source == OAUTH_ENV || o->cfg->follow_credentials || (o->refreshing && o->leased)) {
		if (c) /* (holding the lease, this replica's refresh is what the store gets next) */
			cred_free(c);
		return;
	}
	if (!c) { /* the store holds no login (a new or restarted Redis): ours seeds it */
		if (o->cur.access_token && o->cur.refresh_token && !o->dead) {
			log_cred("fleet_login_seeded", AP_INFO, o, "the fleet store held no login for this account");
			publish(o, o->store_version + 1);
		}
		return;
	}
	if (o->cur.access_token && same_login(c, &o->cur)) {
		o->store_version = version;
		cred_free(c);
		return;
	}
	int ours_valid = o->cur.access_token && o->cur.refresh_token && !o->dead;
	int ours_later = ours_valid && o->cur.expires_at_ms > c->expires_at_ms;
	/* Never synced: the later expiry is the newer login (a fresh `claude /login` here beats an older fleet
	 * login). Since: versions decide; a store behind ours lost our write (a restart) and gets it again; equal
	 * versions with different logins (two replicas re-seeding an emptied store) go to the later expiry. */
	int publish_ours = o->store_version == 0 ? ours_later
			   : version < o->store_version ? ours_valid
			   : version == o->store_version ? ours_later : 0;
	if (publish_ours) {
		uint64_t v = version < o->store_version ? o->store_version : version + 1;
		cred_free(c);
		log_cred("fleet_login_seeded", AP_INFO, o, "this replica's login is newer than the fleet store's");
		publish(o, v);
		return;
	}
	store_adopt(o, c, version, "adopted the fleet's login");
	if (o->refreshing && !o->leased && fresh_enough(o))
		finish(o, o->cur.access_token, NULL); /* the replica we waited for refreshed */
}

static void store_refresh_start(struct oauth *o)
{
	if (o->store_round)
		return;
	/* Claude Code on this machine may have logged in again or rotated the file: a newer pair seeds the fleet. */
	if (o->source == OAUTH_FILE) {
		struct cred f;
		cred_init(&f);
		char err[400];
		if (read_file(o->path, &f, err, sizeof err) == 0 && f.refresh_token && o->cur.refresh_token &&
		    strcmp(f.refresh_token, o->cur.refresh_token) != 0 && f.expires_at_ms > o->cur.expires_at_ms) {
			adopt(o, &f, "the credentials file holds a newer login");
			if (fresh_enough(o) && o->store->up(o->store->arg)) {
				publish(o, o->store_version + 1);
				if (o->refreshing)
					finish(o, o->cur.access_token, NULL);
				return;
			}
		}
		cred_free(&f);
	}
	o->refreshing = 1;
	if (o->store->begin(o->store->arg)) {
		o->refreshing = 0;
		if (expired(o))
			snprintf(o->problem, sizeof o->problem,
				 "the access token expired and the fleet store (Redis) is unreachable: the refresh waits for it, "
				 "because two replicas must never refresh one token");
		resolve_all(o, oauth_token(o), oauth_token(o) ? NULL : o->problem);
		if (!o->closing)
			uv_timer_start(&o->timer, on_timer, STORE_RETRY_MS, 0);
		return;
	}
	o->store_round = 1;
}

void oauth_store_answer(struct oauth *o, struct cred *c, uint64_t version, int leased)
{
	if (o->closing || !o->store_round) {
		if (c)
			cred_free(c);
		if (leased && o->store && !o->closing)
			o->store->release(o->store->arg);
		return;
	}
	o->leased = leased;
	int newer = c && version > o->store_version && !(o->cur.access_token && same_login(c, &o->cur));
	if (newer)
		store_adopt(o, c, version, "another replica refreshed the login");
	else if (c) {
		if (o->cur.access_token && same_login(c, &o->cur))
			o->store_version = version;
		cred_free(c);
	}
	if (fresh_enough(o) && (newer || !o->grant_retry)) {
		finish(o, o->cur.access_token, NULL);
		return;
	}
	if (o->grant_retry && !newer) {
		login_dead(o, o->last_error[0] ? o->last_error : "invalid_grant");
		return;
	}
	if (!leased) { /* another replica refreshes: its result arrives by message, or the next ask finds it */
		o->n_lease_busy++;
		o->store_round = 0;
		uv_timer_start(&o->timer, on_timer, LEASE_WAIT_MS, 0);
		return;
	}
	if (!o->cur.refresh_token) {
		finish(o, oauth_token(o), "no refresh token");
		return;
	}
	/* The lease was taken just before this answer: its end, less a second for the round trip and clocks. */
	o->lease_until_ms = uv_now(o->loop) + o->cfg->redis_lease_ms - 1000; /* (the lease is at least 3 s: config) */
	o->url_idx = o->url_next < o->n_urls ? o->url_next : 0;
	o->url_next = 0;
	send_refresh(o);
}

static void refresh_start(struct oauth *o)
{
	if (o->closing)
		return;
	if (o->source == OAUTH_STORE && o->store) {
		if (!o->dead && o->cur.refresh_token)
			store_refresh_start(o);
		return;
	}
	if (o->source != OAUTH_FILE) {
		snprintf(o->problem, sizeof o->problem,
			 o->source == OAUTH_ENV ? "CLAUDE_CODE_OAUTH_TOKEN cannot be refreshed; create a new one with "
						  "`claude setup-token`"
						: "no credentials");
		return;
	}
	if (o->cfg->follow_credentials) {
		if (!adopt_from_file(o, "the credentials file changed") && expired(o))
			snprintf(o->problem, sizeof o->problem,
				 "the access token in %s expired; --follow-credentials waits for Claude Code to refresh it",
				 o->path);
		return;
	}
	if (o->dead || !o->cur.refresh_token)
		return;
	if (o->store) {
		store_refresh_start(o);
		return;
	}
	o->refreshing = 1;
	if (o->lock_fd < 0) {
		int got = try_lock(o);
		if (got == 0 && ++o->lock_tries < LOCK_TRIES) {
			uv_timer_start(&o->timer, on_timer, LOCK_RETRY_MS, 0);
			return;
		}
		if (got != 1)
			log_msg(AP_WARN, "credentials_lock", "could not take the credentials lock; refreshing anyway");
		o->lock_tries = 0;
	}
	/* Another process may have rotated the tokens: then use theirs instead of spending ours. */
	if (adopt_from_file(o, "another process rotated the tokens") && fresh_enough(o)) {
		finish(o, o->cur.access_token, NULL);
		return;
	}
	o->url_idx = 0;
	send_refresh(o);
}

/* The rotated login could not be written: it lives in this process only. */
static void log_kept_in_memory(const struct oauth *o, const char *event, const char *msg, const char *fix)
{
	struct log_line l;
	log_begin(&l, AP_ERROR, event);
	log_str(&l, "path", o->path);
	log_str(&l, "msg", msg);
	log_str(&l, "hint", fix);
	log_end(&l);
}

static void write_back(struct oauth *o, const struct cred *c)
{
	size_t len = 0;
	char err[400];
	char *data = fs_read_all(o->path, CREDENTIALS_MAX, &len, err, sizeof err);
	struct cred disk;
	cred_init(&disk);
	if (!data && errno != ENOENT) {
		/* Unreadable is not empty: writing only the login would drop whatever else the file holds. */
		log_kept_in_memory(o, "credentials_not_written", err,
				   "the rotated tokens live only in this process now; make the file readable again");
		return;
	}
	if (data && credfile_parse(data, len, &disk, err, sizeof err) == 0 && disk.refresh_token && o->sent_refresh &&
	    strcmp(disk.refresh_token, o->sent_refresh) != 0) {
		/* Compare-then-swap: the file moved on while we refreshed; never overwrite someone else's tokens. */
		log_msg(AP_WARN, "credentials_not_written",
			"the credentials file changed during the refresh; keeping the new tokens in memory only");
		goto out;
	}
	struct buf out;
	buf_init(&out, 0);
	if (credfile_update(data ? data : "", data ? len : 0, c, &out) ||
	    fs_write_atomic(o->path, buf_ptr(&out), buf_size(&out), 0600, err, sizeof err))
		log_kept_in_memory(o, "credentials_write_failed", err,
				   "the rotated tokens live only in this process now; fix the file's permissions");
	buf_free_wipe(&out);
out:
	cred_free(&disk);
	if (data) {
		explicit_bzero(data, len);
		free(data);
	}
}

static int on_head(struct upstream_req *r, int status, const struct http_hdrs *h)
{
	struct oauth *o = r->data;
	o->resp_status = status;
	return 0;
}

static int on_body(struct upstream_req *r, const char *p, size_t n)
{
	struct oauth *o = r->data;
	(void)buf_append(&o->resp, p, n); /* past the bound it stops growing; the parse then fails */
	return 0;
}

static void on_end(struct upstream_req *r)
{
	struct oauth *o = r->data;
	char code[48], err[300], why[400];
	o->req_active = 0;
	if (o->closing)
		return;
	if (o->resp_status == 404 && next_url_fits(o)) {
		o->url_idx++;
		send_refresh(o);
		return;
	}
	struct cred c;
	cred_init(&c);
	int rc = credfile_parse_token_answer(buf_ptr(&o->resp), buf_size(&o->resp), wall_ms(), &c, code, sizeof code,
					     err, sizeof err);
	if (o->resp_status == 200 && rc == 0) {
		if (!c.refresh_token && !(c.refresh_token = strdup(o->cur.refresh_token))) {
			/* None returned, so the old one stays valid: without a copy of it, try again later. */
			cred_free(&c);
			refresh_failed(o, "out of memory");
			return;
		}
		if (c.profile_scope < 0)
			c.profile_scope = o->cur.profile_scope;
		write_back(o, &c);
		cred_move(&o->cur, &c);
		o->generation++;
		o->n_refresh_ok++;
		backoff_reset(&o->backoff);
		o->problem[0] = 0;
		o->last_error[0] = 0;
		o->last_refresh_ms = wall_ms();
		log_cred("token_refreshed", AP_INFO, o, NULL);
		if (o->store)
			publish(o, o->store_version + 1);
		finish(o, o->cur.access_token, NULL);
		return;
	}
	if (o->resp_status == 400 && strcmp(code, "invalid_grant") == 0) {
		/* Perhaps Claude Code rotated the tokens since we read them: look once more before giving up. */
		if (!o->grant_retry && o->store && o->store->up(o->store->arg)) {
			/* A peer may have rotated the tokens: ask the fleet's store before giving up. */
			o->grant_retry = 1;
			snprintf(o->last_error, sizeof o->last_error, "%s", err);
			if (o->store->begin(o->store->arg) == 0)
				return; /* oauth_store_answer decides */
		}
		if (!o->grant_retry) {
			o->grant_retry = 1;
			if (o->source == OAUTH_FILE && adopt_from_file(o, "refresh token rejected; the file has newer tokens")) {
				if (fresh_enough(o))
					finish(o, o->cur.access_token, NULL);
				else
					send_refresh(o);
				return;
			}
		}
		login_dead(o, err);
		return;
	}
	if (o->resp_status == 200)
		snprintf(why, sizeof why, "token endpoint answered 200 without a usable token (%s)", err);
	else if (rc && code[0])
		snprintf(why, sizeof why, "token endpoint answered %d: %s", o->resp_status, err);
	else
		snprintf(why, sizeof why, "token endpoint answered %d", o->resp_status);
	cred_free(&c);
	refresh_failed(o, why);
}

static void on_error(struct upstream_req *r, const char *kind, const char *msg)
{
	struct oauth *o = r->data;
	o->req_active = 0;
	if (o->closing)
		return;
	/* The next URL only when this one was never reached: a refresh request that may have arrived may have spent the
	 * refresh token (it rotates on use), and sending it again elsewhere could kill the login. */
	if (!r->sent && next_url_fits(o)) {
		struct log_line l;
		log_begin(&l, AP_WARN, "token_url_failed");
		log_str(&l, "token_url", o->cfg->token_urls[o->url_idx]);
		log_str(&l, "msg", msg);
		log_end(&l);
		o->url_idx++;
		send_refresh(o);
		return;
	}
	char why[400];
	snprintf(why, sizeof why, "%s (%s)", msg, kind);
	refresh_failed(o, why);
}

static const struct upstream_cbs refresh_cbs = {
	.on_head = on_head,
	.on_body = on_body,
	.on_end = on_end,
	.on_error = on_error,
};

/* ---- timers, reload, readiness -------------------------------------------------------------------------------- */

static void follow_check(struct oauth *o)
{
	struct stat st;
	if (stat(o->path, &st) == 0 && adopt_from_file(o, "the credentials file changed")) {
		o->problem[0] = 0;
		if (o->waiters)
			uv_timer_start(&o->wait_timer, on_wait_timer, 0, 0);
	}
}

static void on_timer(uv_timer_t *t)
{
	struct oauth *o = t->data;
	if (o->closing)
		return;
	if (o->cfg->follow_credentials) {
		follow_check(o);
		schedule(o);
		return;
	}
	/* Refreshing without the lock is either waiting for it (retry now) or sending without it: a token request
	 * already out must not be sent twice. */
	if (!o->refreshing || (o->lock_fd < 0 && !o->req_active))
		refresh_start(o);
}

void oauth_start(struct oauth *o) { schedule(o); }

void oauth_reload(struct oauth *o)
{
	if (o->source == OAUTH_NONE) {
		/* Started without credentials: look for them again (claude /login may have run since). */
		if (oauth_load(o, o->envp) == 0)
			schedule(o);
		else
			log_msg(AP_WARN, "credentials_reload_failed", o->problem);
		return;
	}
	if (o->source == OAUTH_FILE && !o->refreshing) {
		struct cred c;
		cred_init(&c);
		char err[400];
		if (read_file(o->path, &c, err, sizeof err) == 0) {
			int same = !strcmp(c.access_token, o->cur.access_token);
			cred_move(&o->cur, &c);
			if (!same)
				o->generation++;
			o->dead = 0;
			o->problem[0] = 0;
			backoff_reset(&o->backoff);
			log_cred("credentials_reloaded", AP_INFO, o, "SIGHUP");
			uv_timer_stop(&o->timer);
			schedule(o);
		} else {
			log_msg(AP_WARN, "credentials_reload_failed", err);
		}
	}
}

int oauth_usable(const struct oauth *o)
{
	return o->cur.access_token && !o->dead && (!expired(o) || can_refresh(o));
}

int oauth_ready(const struct oauth *o, char *why, size_t len)
{
	if (!o->cur.access_token) {
		snprintf(why, len, "no credentials: %s", o->problem[0] ? o->problem : "none found");
		return 0;
	}
	if (o->dead) {
		snprintf(why, len, "%s", o->problem);
		return 0;
	}
	if (expired(o)) {
		if (o->refreshing)
			snprintf(why, len, "the access token expired; a refresh is in flight");
		else
			snprintf(why, len, "the access token expired%s%s", o->last_error[0] ? " and refreshing failed: " : "",
				 o->last_error);
		return 0;
	}
	return 1;
}

static void on_close(uv_handle_t *h) { (void)h; }

int oauth_refresh_in_flight(const struct oauth *o) { return o->req_active && !o->closing; }

void oauth_close(struct oauth *o)
{
	o->closing = 1;
	if (o->refreshing)
		upstream_cancel(&o->req);
	resolve_all(o, NULL, "shutting down");
	unlock(o);
	uv_close((uv_handle_t *)&o->timer, on_close);
	uv_close((uv_handle_t *)&o->wait_timer, on_close);
	for (int i = 0; i < o->n_urls; i++)
		upstream_close(&o->token_up[i]);
}

void oauth_free(struct oauth *o)
{
	for (int i = 0; i < o->n_urls; i++)
		upstream_free(&o->token_up[i]);
	cred_free(&o->cur);
	buf_free_wipe(&o->req_body);
	buf_free(&o->req_head);
	buf_free_wipe(&o->resp);
	cred_wipe(o->sent_refresh);
	o->sent_refresh = NULL;
}
