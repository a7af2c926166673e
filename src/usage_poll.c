#include "usage_poll.h"

#include "clock.h"
#include "http.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (256 * 1024)             /* the answer is a few hundred bytes */
#define BACKOFF_MAX_MS (30 * 60 * 1000)   /* src/README.md §4 */
#define POLL_USER_AGENT "claude-code/2.1.0" /* the endpoint rate-limits hard without a claude-code agent */

static const struct upstream_cbs poll_cbs;
static void on_error(struct upstream_req *r, const char *kind, const char *msg);

void usage_poll_init(struct usage_poll *p, uv_loop_t *loop, const struct usage_poll_deps *deps, uint64_t interval_ms)
{
	memset(p, 0, sizeof *p);
	p->deps = *deps;
	p->interval_ms = interval_ms;
	backoff_init(&p->backoff, interval_ms * 2, BACKOFF_MAX_MS);
	buf_init(&p->head, 0);
	buf_init(&p->body, BODY_MAX);
	uv_timer_init(loop, &p->timer);
	p->timer.data = p;
	srandom((unsigned)uv_hrtime());
}

static void on_timer(uv_timer_t *t);

static void schedule(struct usage_poll *p, uint64_t delay_ms)
{
	p->next_ms = wall_ms() + (int64_t)delay_ms;
	uv_timer_start(&p->timer, on_timer, delay_ms, 0);
}

/* +-10% so that many proxies started together do not poll in step. */
static uint64_t jittered(uint64_t ms) { return backoff_jitter(ms, 20); }

static void disable(struct usage_poll *p, const char *why)
{
	p->disabled = 1;
	p->next_ms = 0;
	snprintf(p->disabled_reason, sizeof p->disabled_reason, "%s", why);
	log_msg(AP_WARN, "usage_poll_disabled", why);
}

static void failed(struct usage_poll *p, const char *why)
{
	p->n_failed++;
	snprintf(p->last_error, sizeof p->last_error, "%s", why);
	uint64_t next = backoff_fail(&p->backoff, p->retry_after_s > 0 ? (uint64_t)p->retry_after_s * 1000 : 0);
	struct log_line l;
	log_begin(&l, AP_WARN, "usage_poll_failed");
	log_str(&l, "msg", why);
	log_int(&l, "retry_in_ms", (long long)next);
	log_end(&l);
	schedule(p, next);
}

static void poll_now(struct usage_poll *p)
{
	const char *token = oauth_token(p->deps.oauth);
	if (!token) {
		failed(p, "no credentials");
		return;
	}
	buf_reset(&p->head);
	buf_reset(&p->body);
	p->status = 0;
	p->retry_after_s = -1;
	if (buf_printf(&p->head,
		       "GET /api/oauth/usage HTTP/1.1\r\nhost: %s\r\nauthorization: Bearer %s\r\n"
		       "anthropic-beta: oauth-2025-04-20\r\naccept: application/json\r\nuser-agent: " POLL_USER_AGENT
		       "\r\n\r\n",
		       p->deps.authority, token)) {
		failed(p, "out of memory");
		return;
	}
	p->req = (struct upstream_req){
		.cbs = &poll_cbs,
		.data = p,
		.head = buf_ptr(&p->head),
		.head_len = buf_size(&p->head),
	};
	p->in_flight = 1;
	p->last_attempt_ms = wall_ms();
	p->next_ms = 0;
	if (upstream_request(p->deps.up, &p->req))
		on_error(&p->req, UPSTREAM_ENOMEM, "out of memory");
}

static void on_timer(uv_timer_t *t)
{
	struct usage_poll *p = t->data;
	if (p->in_flight || p->disabled || p->closing)
		return;
	struct usage_poll_gate *g = p->deps.gate;
	if (g) {
		/* Polls of several accounts leave the address at least min_gap_ms apart, however their timers drift. */
		int64_t now = wall_ms(), wait = g->last_ms + (int64_t)g->min_gap_ms - now;
		if (g->last_ms && wait > 0) {
			schedule(p, (uint64_t)wait);
			return;
		}
		g->last_ms = now;
	}
	const struct usage_poll_share *sh = p->deps.share;
	if (sh && !p->asking && sh->acquire(sh->arg) == 0) {
		p->asking = 1;
		return;
	}
	poll_now(p);
}

void usage_poll_lease_answer(struct usage_poll *p, int leased)
{
	if (!p->asking || p->closing)
		return;
	p->asking = 0;
	if (p->in_flight || p->disabled)
		return;
	if (leased) {
		poll_now(p);
		return;
	}
	p->n_from_fleet++;
	schedule(p, jittered(p->interval_ms));
}

void usage_poll_start(struct usage_poll *p, uint64_t first_delay_ms)
{
	const struct usage_poll_deps *d = &p->deps;
	if (p->interval_ms == 0) {
		disable(p, "polling is off (--poll-interval 0)");
		return;
	}
	if (d->oauth->source == OAUTH_ENV) {
		/* Long-lived tokens from `claude setup-token` carry only user:inference: the endpoint would say 403. */
		disable(p, "CLAUDE_CODE_OAUTH_TOKEN tokens lack the user:profile scope; windows come from answer headers "
			   "only");
		return;
	}
	if (!oauth_token(d->oauth) && d->oauth->source != OAUTH_STORE) { /* a fleet login may still arrive */
		disable(p, "no credentials");
		return;
	}
	schedule(p, first_delay_ms);
}

static void on_close(uv_handle_t *h) { (void)h; }

void usage_poll_close(struct usage_poll *p)
{
	p->closing = 1;
	if (p->in_flight) {
		upstream_cancel(&p->req);
		p->in_flight = 0;
	}
	if (!uv_is_closing((uv_handle_t *)&p->timer))
		uv_close((uv_handle_t *)&p->timer, on_close);
}

void usage_poll_free(struct usage_poll *p)
{
	if (p->head.data)
		memset(p->head.data, 0, p->head.cap);
	buf_free(&p->head);
	buf_free(&p->body);
}

static int on_head(struct upstream_req *r, int status, const struct http_hdrs *h)
{
	struct usage_poll *p = r->data;
	p->status = status;
	size_t n;
	const char *ra = http_hdrs_get(h, "retry-after", &n);
	if (ra) {
		/* An HTTP date or junk gives 0 and the normal backoff applies. Honoured up to the backoff's own ceiling: a
		 * wild value must not stop the poll for days. */
		long long s = http_retry_after_s(ra, n, BACKOFF_MAX_MS / 1000);
		p->retry_after_s = s > 0 ? s : 0;
	}
	return 0;
}

static int on_body(struct upstream_req *r, const char *at, size_t n)
{
	struct usage_poll *p = r->data;
	if (buf_append(&p->body, at, n)) {
		/* Not a usage answer; treat as an error (the request is cancelled by returning -1). */
		p->in_flight = 0;
		failed(p, "usage answer larger than 256 KB");
		return -1;
	}
	return 0;
}

static void on_end(struct upstream_req *r)
{
	struct usage_poll *p = r->data;
	const struct usage_poll_deps *d = &p->deps;
	char why[200];
	p->in_flight = 0;
	if (p->closing)
		return;
	if (p->status == 200) {
		if (tracker_apply_poll(d->tracker, buf_ptr(&p->body), buf_size(&p->body), wall_ms())) {
			failed(p, "usage answer is not a JSON object");
			return;
		}
		p->n_ok++;
		backoff_reset(&p->backoff);
		p->last_error[0] = 0;
		p->last_success_ms = wall_ms();
		log_msg(AP_DEBUG, "usage_poll", "applied");
		if (d->share)
			d->share->publish(d->share->arg, buf_ptr(&p->body), buf_size(&p->body));
		if (d->on_applied)
			d->on_applied(d->arg);
		schedule(p, jittered(p->interval_ms));
		return;
	}
	if (p->status == 403) {
		p->n_failed++;
		disable(p, "the usage endpoint answered 403 (the token lacks the user:profile scope); windows now come "
			   "from answer headers only");
		return;
	}
	if (p->status == 429)
		p->n_rate_limited++;
	snprintf(why, sizeof why, "usage endpoint answered %d", p->status);
	failed(p, why);
}

static void on_error(struct upstream_req *r, const char *kind, const char *msg)
{
	struct usage_poll *p = r->data;
	p->in_flight = 0;
	if (p->closing)
		return;
	char why[220];
	snprintf(why, sizeof why, "%s error: %s", kind, msg);
	failed(p, why);
}

static const struct upstream_cbs poll_cbs = {
	.on_head = on_head,
	.on_body = on_body,
	.on_end = on_end,
	.on_error = on_error,
};

static int put_time_ms(struct buf *out, const char *key, int64_t ms)
{
	if (!ms)
		return buf_printf(out, ",\"%s\":null", key);
	char when[32];
	clock_format_utc(ms / 1000, when, sizeof when);
	return buf_printf(out, ",\"%s\":\"%s\"", key, when);
}

int usage_poll_render(const struct usage_poll *p, struct buf *out, int64_t now_ms)
{
	int e = buf_printf(out, "{\"enabled\":%s", p->disabled ? "false" : "true");
	e = e || put_time_ms(out, "last_success", p->last_success_ms);
	if (p->last_success_ms)
		e = e || buf_printf(out, ",\"age_seconds\":%.1f", (double)(now_ms - p->last_success_ms) / 1000);
	e = e || put_time_ms(out, "last_attempt", p->last_attempt_ms) || put_time_ms(out, "next_poll", p->next_ms);
	e = e || buf_appends(out, ",\"last_error\":");
	if (p->last_error[0])
		e = e || buf_appends(out, "\"") || http_json_escape(out, p->last_error, strlen(p->last_error)) ||
		    buf_appends(out, "\"");
	else
		e = e || buf_appends(out, "null");
	if (p->disabled)
		e = e || buf_appends(out, ",\"disabled_reason\":\"") ||
		    http_json_escape(out, p->disabled_reason, strlen(p->disabled_reason)) || buf_appends(out, "\"");
	if (p->deps.share)
		e = e || buf_printf(out, ",\"fleet_turns\":%llu", (unsigned long long)p->n_from_fleet);
	return e || buf_printf(out, ",\"polls_ok\":%llu,\"polls_failed\":%llu,\"rate_limited\":%llu,\"backoff_ms\":%llu}",
			       (unsigned long long)p->n_ok, (unsigned long long)p->n_failed,
			       (unsigned long long)p->n_rate_limited, (unsigned long long)p->backoff.cur_ms);
}
