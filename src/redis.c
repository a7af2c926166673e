/* redis: see redis.h. */
#include "redis.h"

#include "log.h"
#include "url.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define TICK_MS 250
#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 5000
#define REPLY_LOG_EVERY_MS 60000

const char *const redis_err_names[REDIS_E_KINDS] = {"connect", "auth", "timeout", "disconnect", "reply"};

/* ---- URL ----------------------------------------------------------------------------------------------------- */

static int url_fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "invalid --redis: %s (expected redis://[user:password@]host:port[/db] or unix:///path)",
		 why);
	return -1;
}

/* Percent-decodes s[0..n) into out (a password may carry escaped characters). */
static int pct_decode(const char *s, size_t n, char *out, size_t outn)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			char hex[3] = {i + 1 < n ? s[i + 1] : 0, i + 2 < n ? s[i + 2] : 0, 0}, *end;
			long v = strtol(hex, &end, 16);
			if (*end || end != hex + 2 || v <= 0)
				return -1;
			c = (char)v;
			i += 2;
		}
		if (k + 1 >= outn)
			return -1;
		out[k++] = c;
	}
	out[k] = 0;
	return 0;
}

/* "/N" (or "", "/"): the database number. */
static int parse_db(const char *s, int *db)
{
	if (*s == '?')
		s += strncmp(s, "?db=", 4) == 0 ? 4 : 0;
	else if (*s == '/')
		s++;
	if (!*s)
		return 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || end == s || v < 0 || v > 1000000)
		return -1;
	*db = (int)v;
	return 0;
}

int redis_parse_url(const char *s, struct redis_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	if (strncmp(s, "unix://", 7) == 0) { /* url.h parses host-based URLs; a socket path is the rest */
		const char *p = s + 7, *q = strchr(p, '?');
		size_t n = q ? (size_t)(q - p) : strlen(p);
		if (p[0] != '/' || n < 2 || n >= sizeof u->path)
			return url_fail(err, errlen, "a unix socket needs an absolute path");
		memcpy(u->path, p, n);
		if (q && (strncmp(q, "?db=", 4) != 0 || parse_db(q, &u->db)))
			return url_fail(err, errlen, "the only query is ?db=N");
		return 0;
	}
	struct url x;
	const char *why = url_parse(s, &x);
	if (why)
		return url_fail(err, errlen, why);
	if (strcmp(x.scheme, "redis") != 0)
		return url_fail(err, errlen, "the scheme must be redis:// (rediss:// is not supported)");
	snprintf(u->host, sizeof u->host, "%s", x.host);
	u->port = x.port;
	if (parse_db(x.path, &u->db))
		return url_fail(err, errlen, "the path must be a database number");
	if (x.userinfo[0]) {
		const char *colon = strchr(x.userinfo, ':');
		size_t ul = colon ? (size_t)(colon - x.userinfo) : strlen(x.userinfo);
		/* user:password, :password, or a lone secret (the older AUTH form) */
		if (colon ? pct_decode(x.userinfo, ul, u->user, sizeof u->user) ||
				    pct_decode(colon + 1, strlen(colon + 1), u->password, sizeof u->password)
			  : pct_decode(x.userinfo, ul, u->password, sizeof u->password))
			return url_fail(err, errlen, "bad user or password");
		explicit_bzero(x.userinfo, sizeof x.userinfo);
	}
	return 0;
}

void redis_url_describe(const struct redis_url *u, char *out, size_t n)
{
	if (u->path[0])
		snprintf(out, n, "unix:%s", u->path);
	else
		snprintf(out, n, strchr(u->host, ':') ? "[%s]:%d" : "%s:%d", u->host, u->port);
}

/* ---- errors -------------------------------------------------------------------------------------------------- */

static void fail(struct redis *r, enum redis_err kind, const char *msg)
{
	r->errors[kind]++;
	/* Log a change of problem, not every retry of the same one. */
	if (strcmp(r->last_error, msg) != 0) {
		char where[300];
		redis_url_describe(&r->url, where, sizeof where);
		struct log_line l;
		log_begin(&l, AP_WARN, "redis_error");
		log_str(&l, "redis", where);
		log_str(&l, "kind", redis_err_names[kind]);
		log_str(&l, "msg", msg);
		log_end(&l);
		snprintf(r->last_error, sizeof r->last_error, "%s", msg);
	}
}

void redis_reply_error(struct redis *r, const struct redisReply *reply, const char *what)
{
	char msg[200];
	snprintf(msg, sizeof msg, "%s: %s", what,
		 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply type");
	fail(r, REDIS_E_REPLY, msg);
}

/* ---- connections --------------------------------------------------------------------------------------------- */

static void lost(struct redis_conn *c, enum redis_err kind, const char *msg)
{
	struct redis *r = c->r;
	int was_ready = c->ready, refused = c->refused;
	c->ac = NULL;
	c->ready = c->connected = c->refused = 0;
	if (!c->subscriber)
		r->pending = 0;
	if (r->closing)
		return;
	if (!refused) /* (a refused AUTH/SELECT was counted and said already) */
		fail(r, kind, msg);
	c->next_try_ms = uv_now(r->loop) + backoff_jitter(backoff_fail(&c->backoff, 0), 20);
	if (was_ready && !c->subscriber)
		log_msg(AP_WARN, "redis_down", "the fleet store is unreachable: working on local state until it is back");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_conn *c = ac->data;
	if (status != REDIS_OK) {
		char msg[160];
		snprintf(msg, sizeof msg, "connect failed: %s", ac->errstr);
		lost(c, REDIS_E_CONNECT, msg); /* hiredis frees the context after this */
		return;
	}
	c->connected = 1;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_conn *c = ac->data;
	char msg[160];
	snprintf(msg, sizeof msg, "connection lost: %s", status == REDIS_OK ? "closed" : ac->errstr);
	lost(c, REDIS_E_DISCONNECT, msg);
}

/* AUTH and SELECT answers: an error drops the connection (a wrong password is not retried faster than back-off). */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *data)
{
	struct redis_conn *c = data;
	redisReply *rep = reply;
	if (!rep || c->r->closing)
		return;
	if (rep->type == REDIS_REPLY_ERROR) {
		char msg[200];
		snprintf(msg, sizeof msg, "AUTH/SELECT refused: %s", rep->str);
		fail(c->r, REDIS_E_AUTH, msg);
		c->refused = 1; /* the PING or SUBSCRIBE answer behind it must not call this connection up */
		redisAsyncDisconnect(ac);
	}
}

static void on_ping(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct redis_conn *c = data;
	struct redis *r = c->r;
	redisReply *rep = reply;
	if (!rep || r->closing || c->refused || rep->type == REDIS_REPLY_ERROR)
		return;
	c->ready = 1;
	backoff_reset(&c->backoff);
	r->connects++;
	r->progress_ms = uv_now(r->loop);
	r->last_error[0] = 0;
	char where[300];
	redis_url_describe(&r->url, where, sizeof where);
	struct log_line l;
	log_begin(&l, AP_INFO, "redis_up");
	log_str(&l, "redis", where);
	log_int(&l, "connects", (long long)r->connects);
	log_end(&l);
	if (r->on_up)
		r->on_up(r->arg);
}

static void on_sub(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct redis_conn *c = data;
	struct redis *r = c->r;
	redisReply *rep = reply;
	if (!rep || r->closing || c->refused || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3)
		return;
	const redisReply *kind = rep->element[0];
	if (kind->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(kind->str, "subscribe") == 0) {
		c->ready = 1;
		backoff_reset(&c->backoff);
		return;
	}
	const redisReply *msg = rep->element[2];
	if (strcmp(kind->str, "message") == 0 && msg->type == REDIS_REPLY_STRING && r->on_message)
		r->on_message(r->arg, msg->str, msg->len);
}

static void connect_to(struct redis_conn *c, const char *ip)
{
	struct redis *r = c->r;
	redisAsyncContext *ac = r->url.path[0] ? redisAsyncConnectUnix(r->url.path) : redisAsyncConnect(ip, r->url.port);
	if (!ac || ac->err) {
		char msg[160];
		snprintf(msg, sizeof msg, "connect failed: %s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		lost(c, REDIS_E_CONNECT, msg);
		return;
	}
	if (redisLibuvAttach(ac, r->loop) != REDIS_OK) {
		ac->ev.cleanup = NULL; /* the adapter's cleanup would run on data it never set */
		redisAsyncFree(ac);
		lost(c, REDIS_E_CONNECT, "could not attach to the loop");
		return;
	}
	/* A peer that vanished (NAT or a load balancer dropped the flow) is found by TCP keepalive: the subscriber
	 * sends nothing of its own, and the adapter does not report socket errors. */
	if (!r->url.path[0])
		(void)redisEnableKeepAlive(&ac->c);
	ac->data = c;
	c->ac = ac;
	c->started_ms = uv_now(r->loop);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* Queued now, sent once connected: the setup needs no round trip of its own. */
	if (r->url.password[0]) {
		if (r->url.user[0])
			redisAsyncCommand(ac, on_setup_reply, c, "AUTH %s %s", r->url.user, r->url.password);
		else
			redisAsyncCommand(ac, on_setup_reply, c, "AUTH %s", r->url.password);
	}
	if (r->url.db)
		redisAsyncCommand(ac, on_setup_reply, c, "SELECT %d", r->url.db);
	if (c->subscriber)
		redisAsyncCommand(ac, on_sub, c, "SUBSCRIBE %s", r->channel);
	else
		redisAsyncCommand(ac, on_ping, c, "PING");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct redis_conn *c = req->data;
	c->resolving = 0;
	if (c->r->closing || status == UV_ECANCELED) {
		uv_freeaddrinfo(res);
		return;
	}
	char ip[64] = "";
	if (status == 0 && res)
		uv_ip_name(res->ai_addr, ip, sizeof ip);
	uv_freeaddrinfo(res);
	if (!ip[0]) {
		char msg[200];
		snprintf(msg, sizeof msg, "cannot resolve %s: %s", c->r->url.host, status ? uv_strerror(status) : "no address");
		lost(c, REDIS_E_CONNECT, msg);
		return;
	}
	connect_to(c, ip);
}

static void conn_start(struct redis_conn *c)
{
	struct redis *r = c->r;
	c->started_ms = uv_now(r->loop);
	if (r->url.path[0]) {
		connect_to(c, NULL);
		return;
	}
	/* hiredis resolves with a blocking getaddrinfo: resolve on libuv's pool, connect to the address. */
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	c->gai.data = c;
	if (uv_getaddrinfo(r->loop, &c->gai, on_resolved, r->url.host, NULL, &hints) == 0)
		c->resolving = 1;
	else
		lost(c, REDIS_E_CONNECT, "cannot start resolving the host");
}

static void conn_tick(struct redis_conn *c, uint64_t now)
{
	struct redis *r = c->r;
	if (c->resolving)
		return;
	if (!c->ac) {
		if (now >= c->next_try_ms)
			conn_start(c);
		return;
	}
	if (!c->connected && !r->url.path[0]) {
		/* A refused connect shows as POLLERR, which the libuv adapter drops: ask the socket. */
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->ac->c.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) {
			redisAsyncContext *ac = c->ac;
			char msg[160];
			snprintf(msg, sizeof msg, "connect failed: %s", strerror(err));
			lost(c, REDIS_E_CONNECT, msg);
			ac->onDisconnect = NULL;
			redisAsyncFree(ac);
			return;
		}
	}
	if (!c->ready && now - c->started_ms > r->connect_timeout_ms) {
		redisAsyncContext *ac = c->ac;
		int was_connected = c->connected;
		lost(c, REDIS_E_CONNECT, "connect timed out");
		ac->onDisconnect = NULL; /* lost() ran already */
		(void)was_connected;
		redisAsyncFree(ac);
		return;
	}
	if (!c->subscriber && c->ready && r->pending && now - r->progress_ms > REDIS_CMD_TIMEOUT_MS) {
		redisAsyncContext *ac = c->ac;
		lost(c, REDIS_E_TIMEOUT, "a command went unanswered");
		ac->onDisconnect = NULL;
		redisAsyncFree(ac); /* runs the callbacks in flight with NULL */
	}
}

static void on_tick(uv_timer_t *t)
{
	struct redis *r = t->data;
	if (r->closing)
		return;
	uint64_t now = uv_now(r->loop);
	conn_tick(&r->cmd, now);
	conn_tick(&r->sub, now);
}

void redis_init(struct redis *r, uv_loop_t *loop, const struct redis_url *url, const char *channel,
		uint64_t connect_timeout_ms)
{
	memset(r, 0, sizeof *r);
	r->loop = loop;
	r->url = *url;
	snprintf(r->channel, sizeof r->channel, "%s", channel);
	r->connect_timeout_ms = connect_timeout_ms ? connect_timeout_ms : 5000;
	struct redis_conn *cs[2] = {&r->cmd, &r->sub};
	for (int i = 0; i < 2; i++) {
		cs[i]->r = r;
		cs[i]->subscriber = i == 1;
		backoff_init(&cs[i]->backoff, RECONNECT_MIN_MS, RECONNECT_MAX_MS);
	}
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
}

void redis_start(struct redis *r)
{
	conn_start(&r->cmd);
	conn_start(&r->sub);
	uv_timer_start(&r->timer, on_tick, TICK_MS, TICK_MS);
}

static void timer_closed(uv_handle_t *h) { (void)h; }

void redis_close(struct redis *r)
{
	r->closing = 1;
	struct redis_conn *cs[2] = {&r->cmd, &r->sub};
	for (int i = 0; i < 2; i++) {
		if (cs[i]->resolving)
			uv_cancel((uv_req_t *)&cs[i]->gai);
		redisAsyncContext *ac = cs[i]->ac;
		cs[i]->ac = NULL;
		cs[i]->ready = 0;
		if (ac)
			redisAsyncFree(ac); /* the callbacks in flight see closing */
	}
	if (!uv_is_closing((uv_handle_t *)&r->timer))
		uv_close((uv_handle_t *)&r->timer, timer_closed);
}

void redis_free(struct redis *r)
{
	explicit_bzero(r->url.password, sizeof r->url.password);
}

/* ---- commands ------------------------------------------------------------------------------------------------ */

struct pending_cmd {
	struct redis *r;
	redis_reply_cb cb;
	void *data;
};

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	(void)ac;
	struct pending_cmd *p = privdata;
	struct redis *r = p->r;
	if (r->pending)
		r->pending--;
	r->progress_ms = uv_now(r->loop);
	if (p->cb) /* always called, so the caller's context is freed; NULL when shutting down */
		p->cb(r, r->closing ? NULL : reply, p->data);
	free(p);
}

static struct pending_cmd *pending_new(struct redis *r, redis_reply_cb cb, void *data)
{
	if (!r->cmd.ready || !r->cmd.ac)
		return NULL;
	struct pending_cmd *p = malloc(sizeof *p);
	if (!p)
		return NULL;
	*p = (struct pending_cmd){r, cb, data};
	if (!r->pending)
		r->progress_ms = uv_now(r->loop); /* the watchdog measures from the first command after a quiet spell */
	return p;
}

int redis_cmd(struct redis *r, redis_reply_cb cb, void *data, const char *fmt, ...)
{
	struct pending_cmd *p = pending_new(r, cb, data);
	if (!p)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int rc = redisvAsyncCommand(r->cmd.ac, on_reply, p, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK) {
		free(p);
		return -1;
	}
	r->pending++;
	return 0;
}

int redis_cmdv(struct redis *r, redis_reply_cb cb, void *data, int argc, const char **argv, const size_t *lens)
{
	struct pending_cmd *p = pending_new(r, cb, data);
	if (!p)
		return -1;
	if (redisAsyncCommandArgv(r->cmd.ac, on_reply, p, argc, argv, lens) != REDIS_OK) {
		free(p);
		return -1;
	}
	r->pending++;
	return 0;
}
