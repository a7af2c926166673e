/* usage_poll: the timer that fetches GET /api/oauth/usage and applies it to the tracker.
 *
 * Polls at start and then every interval (+-10% jitter so many proxies do not align). The endpoint is itself
 * rate-limited: on 429 or 5xx it backs off exponentially up to 30 minutes, honouring retry-after, and the last
 * good snapshot stays with its age. A 403 means the token lacks the user:profile scope: polling stops and the
 * windows come from answer headers alone (said once in the log). Requests go through the app's shared upstream client. */
#ifndef AP_USAGE_POLL_H
#define AP_USAGE_POLL_H

#include "backoff.h"
#include "buf.h"
#include "oauth.h"
#include "tracker.h"
#include "upstream.h"

#include <stdint.h>
#include <uv.h>

/* Shared by the polls of several accounts: the endpoint is rate-limited per address as well as per token. */
struct usage_poll_gate {
	int64_t last_ms;     /* unix ms of the last poll sent by any account, 0 none */
	uint64_t min_gap_ms; /* polls at least this far apart */
};

/* A fleet shares one poll per account (fleet.h): before polling, acquire() asks for the poll lease and answers
 * through usage_poll_lease_answer(); a poll's answer is publish()ed for the other replicas. */
struct usage_poll_share {
	int (*acquire)(void *arg);                               /* 0: an answer comes; -1: poll locally */
	void (*publish)(void *arg, const char *body, size_t len); /* a good answer, for the fleet */
	void *arg;
};

/* What a poll works with (not owned): the login it polls with, the tracker it feeds, the client it goes through. */
struct usage_poll_deps {
	struct usage_poll_gate *gate;  /* spacing shared with the other accounts' polls, or NULL */
	struct oauth *oauth;         /* the token (and whether it can have the user:profile scope) */
	struct tracker *tracker;     /* where the answer goes */
	struct upstream *up;         /* the API's client */
	const char *authority;       /* its Host header value */
	void (*on_applied)(void *arg); /* after an answer was applied (the owner saves its state), or NULL */
	const struct usage_poll_share *share; /* the fleet's poll lease, or NULL */
	void *arg;                   /* its argument */
};

struct usage_poll {
	struct usage_poll_deps deps; /* login, tracker, client (not owned) */
	uv_timer_t timer;           /* next poll */
	struct upstream_req req;    /* the request in flight */
	struct buf head;            /* its head (holds the token: wiped when freed) */
	struct buf body;            /* answer body, bounded */
	int status;                 /* answer status */
	int64_t retry_after_s;      /* retry-after of the answer, or -1 */
	unsigned in_flight : 1;     /* req is out */
	unsigned disabled : 1;      /* 403 or no usable token: no more polls */
	unsigned closing : 1;       /* shutting down */
	unsigned asking : 1;        /* the fleet's poll lease was asked for */
	uint64_t interval_ms;       /* normal period (config) */
	struct backoff backoff;     /* retry delay after failures */
	int64_t last_success_ms;    /* unix ms of the last good poll, 0 never */
	int64_t last_attempt_ms;    /* unix ms of the last attempt */
	int64_t next_ms;            /* unix ms of the next poll, 0 none */
	char last_error[200];       /* why the last poll failed, "" when it did not */
	char disabled_reason[160];  /* why polling is off */
	uint64_t n_ok;              /* successful polls */
	uint64_t n_failed;          /* failed polls */
	uint64_t n_rate_limited;    /* 429 answers */
	uint64_t n_from_fleet;      /* turns another replica held the poll lease (its snapshot serves) */
};

void usage_poll_init(struct usage_poll *p, uv_loop_t *loop, const struct usage_poll_deps *deps, uint64_t interval_ms);
/* Starts polling, the first poll after `first_delay_ms` (several accounts start apart: the endpoint is
 * rate-limited per address too). Does nothing, and says why in /usage, when disabled. */
void usage_poll_start(struct usage_poll *p, uint64_t first_delay_ms);
/* The fleet's answer to acquire(): poll now, or (another replica polls) wait for the next turn. */
void usage_poll_lease_answer(struct usage_poll *p, int leased);
/* Cancels a poll in flight and closes the timer. */
void usage_poll_close(struct usage_poll *p);
void usage_poll_free(struct usage_poll *p);
/* Appends the "poll" object of /usage. */
int usage_poll_render(const struct usage_poll *p, struct buf *out, int64_t now_ms);

#endif
