#include "account.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

void account_init(struct account *a, const char *name, const char *credentials, const struct account_env *env)
{
	memset(a, 0, sizeof *a);
	snprintf(a->name, sizeof a->name, "%s", name);
	oauth_init(&a->oauth, env->loop, env->cfg, env->tls, credentials);
	tracker_init(&a->tracker, env->cfg->warn_utilization);
	const struct usage_poll_deps deps = {.gate = env->poll_gate, .oauth = &a->oauth, .tracker = &a->tracker, .up = env->up,
					     .authority = env->cfg->upstream_authority, .on_applied = env->on_poll_applied,
					     .arg = env->arg};
	usage_poll_init(&a->poll, env->loop, &deps, env->cfg->poll_interval_ms);
}

int account_load(struct account *a, char **envp)
{
	if (oauth_load(&a->oauth, envp) == 0)
		return 0;
	struct log_line l;
	log_begin(&l, AP_WARN, "no_credentials");
	log_str(&l, "account", a->name);
	log_str(&l, "reason", a->oauth.problem);
	log_str(&l, "msg", "serving /healthz; proxied requests get 503 until credentials are provided "
			   "(claude /login, --credentials PATH or CLAUDE_CODE_OAUTH_TOKEN), then SIGHUP or a restart");
	log_end(&l);
	return -1;
}

void account_start(struct account *a, uint64_t poll_delay_ms)
{
	usage_poll_start(&a->poll, poll_delay_ms);
	oauth_start(&a->oauth);
}

void account_reload(struct account *a) { oauth_reload(&a->oauth); }

void account_close(struct account *a)
{
	usage_poll_close(&a->poll);
	if (!a->oauth.closing)
		oauth_close(&a->oauth);
}

void account_free(struct account *a)
{
	usage_poll_free(&a->poll);
	oauth_free(&a->oauth);
}
