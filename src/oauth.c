#include "oauth.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yajl/yajl_tree.h>

#define CREDENTIALS_MAX (1024 * 1024) /* a credentials file is a few hundred bytes; refuse absurd ones */

void oauth_init(struct oauth *o) { memset(o, 0, sizeof *o); }

static void clear_tokens(struct oauth *o)
{
	/* Wipe before freeing: tokens should not linger in freed heap memory. */
	if (o->access_token) {
		memset(o->access_token, 0, strlen(o->access_token));
		free(o->access_token);
	}
	if (o->refresh_token) {
		memset(o->refresh_token, 0, strlen(o->refresh_token));
		free(o->refresh_token);
	}
	o->access_token = o->refresh_token = NULL;
	o->expires_at_ms = 0;
}

void oauth_free(struct oauth *o)
{
	clear_tokens(o);
	o->source = OAUTH_NONE;
}

const char *oauth_token(const struct oauth *o) { return o->access_token; }

static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);
	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* A token goes into an HTTP header: refuse anything that could break or smuggle header syntax. */
static int token_ok(const char *t)
{
	if (!*t || strlen(t) > 8192)
		return 0;
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

int oauth_parse_credentials(struct oauth *o, const char *json, size_t len, char *err, size_t errlen)
{
	char *copy = malloc(len + 1);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, json, len);
	copy[len] = 0;
	char perr[128] = "";
	yajl_val root = yajl_tree_parse(copy, perr, sizeof perr);
	free(copy);
	if (!root) {
		/* yajl's message can quote the input: keep only its first line, never the token-bearing context. */
		perr[strcspn(perr, "\n")] = 0;
		snprintf(err, errlen, "not valid JSON (%s)", perr);
		return -1;
	}
	int rc = -1;
	const char *at_path[] = {"claudeAiOauth", "accessToken", NULL};
	const char *rt_path[] = {"claudeAiOauth", "refreshToken", NULL};
	const char *exp_path[] = {"claudeAiOauth", "expiresAt", NULL};
	yajl_val at = yajl_tree_get(root, at_path, yajl_t_string);
	yajl_val rt = yajl_tree_get(root, rt_path, yajl_t_string);
	yajl_val exp = yajl_tree_get(root, exp_path, yajl_t_number);
	if (!at) {
		snprintf(err, errlen, "no claudeAiOauth.accessToken in it");
		goto out;
	}
	if (!token_ok(at->u.string)) {
		snprintf(err, errlen, "claudeAiOauth.accessToken is empty or holds invalid characters");
		goto out;
	}
	clear_tokens(o);
	o->access_token = strdup(at->u.string);
	if (rt && token_ok(rt->u.string))
		o->refresh_token = strdup(rt->u.string);
	if (exp && YAJL_IS_INTEGER(exp))
		o->expires_at_ms = YAJL_GET_INTEGER(exp);
	else if (exp)
		o->expires_at_ms = (int64_t)YAJL_GET_DOUBLE(exp);
	rc = o->access_token ? 0 : -1;
	if (rc)
		snprintf(err, errlen, "out of memory");
out:
	yajl_tree_free(root);
	return rc;
}

static int load_file(struct oauth *o, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	char *data = NULL;
	int rc = -1;
	if (fstat(fileno(f), &st) || st.st_size > CREDENTIALS_MAX) {
		snprintf(err, errlen, "%s is not a credentials file (too large or unreadable)", path);
		goto out;
	}
	if (st.st_mode & 077) {
		struct log_line l;
		log_begin(&l, LOG_WARN, "credentials_mode");
		log_str(&l, "path", path);
		log_str(&l, "msg", "the credentials file is readable by other users; chmod 600 it");
		log_end(&l);
	}
	data = malloc((size_t)st.st_size + 1);
	size_t n = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
	if (!data || n != (size_t)st.st_size) {
		snprintf(err, errlen, "cannot read %s", path);
		goto out;
	}
	char perr[200];
	if (oauth_parse_credentials(o, data, n, perr, sizeof perr)) {
		snprintf(err, errlen, "%s: %s", path, perr);
		goto out;
	}
	snprintf(o->path, sizeof o->path, "%s", path);
	o->source = OAUTH_FILE;
	rc = 0;
out:
	if (data) {
		memset(data, 0, (size_t)st.st_size);
		free(data);
	}
	fclose(f);
	return rc;
}

static void log_loaded(const struct oauth *o)
{
	char fp[16];
	log_fingerprint(o->access_token, fp);
	struct log_line l;
	log_begin(&l, LOG_INFO, "credentials_loaded");
	log_str(&l, "source", o->source == OAUTH_ENV ? "CLAUDE_CODE_OAUTH_TOKEN" : o->path);
	log_str(&l, "token", fp);
	log_int(&l, "has_refresh_token", o->refresh_token != NULL);
	if (o->expires_at_ms)
		log_int(&l, "expires_at_ms", (long long)o->expires_at_ms);
	log_end(&l);
}

int oauth_load(struct oauth *o, const char *explicit_path, char **envp)
{
	char err[512];
	if (explicit_path) {
		if (load_file(o, explicit_path, err, sizeof err) == 0)
			goto found;
		snprintf(o->problem, sizeof o->problem, "%s", err);
		return -1; /* an explicit file that does not work is a problem to report, not to paper over */
	}
	const char *env = env_get(envp, "CLAUDE_CODE_OAUTH_TOKEN");
	if (env && *env) {
		if (!token_ok(env)) {
			snprintf(o->problem, sizeof o->problem, "CLAUDE_CODE_OAUTH_TOKEN holds invalid characters");
			return -1;
		}
		clear_tokens(o);
		o->access_token = strdup(env);
		o->source = OAUTH_ENV;
		if (!o->access_token)
			return -1;
		goto found;
	}
	char path[4096];
	const char *dir = env_get(envp, "CLAUDE_CONFIG_DIR");
	const char *home = env_get(envp, "HOME");
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
	o->problem[0] = 0;
	log_loaded(o);
	return 0;
}
