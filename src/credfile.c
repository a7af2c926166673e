#include "credfile.h"

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

void cred_init(struct cred *c)
{
	memset(c, 0, sizeof *c);
	c->profile_scope = -1;
}

void cred_wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s)); /* memset before free may be removed by the compiler; this is not */
		free(s);
	}
}

void cred_free(struct cred *c)
{
	cred_wipe(c->access_token);
	cred_wipe(c->refresh_token);
	cred_init(c);
}

void cred_move(struct cred *dst, struct cred *src)
{
	cred_free(dst);
	*dst = *src;
	cred_init(src);
}

int cred_token_ok(const char *t)
{
	if (!t || !*t || strlen(t) > 8192)
		return 0;
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

static yajl_val parse(const char *json, size_t len, char *err, size_t errlen)
{
	yajl_val root = json_parse(json, len);
	if (!root)
		snprintf(err, errlen, "not valid JSON");
	return root;
}

/* A fresh cred holding copies of an access token (already checked) and of a refresh token when it is usable. */
static int take_tokens(struct cred *c, const char *at, const char *rt)
{
	cred_init(c);
	c->access_token = strdup(at);
	if (rt && cred_token_ok(rt))
		c->refresh_token = strdup(rt);
	if (!c->access_token || (rt && cred_token_ok(rt) && !c->refresh_token)) {
		cred_free(c);
		return -1;
	}
	return 0;
}

int credfile_parse(const char *json, size_t len, struct cred *out, char *err, size_t errlen)
{
	yajl_val root = parse(json, len, err, errlen);
	if (!root)
		return -1;
	int rc = -1;
	yajl_val oauth = json_get(root, "claudeAiOauth");
	const char *at = json_str(json_get(oauth, "accessToken")), *rt = json_str(json_get(oauth, "refreshToken"));
	yajl_val exp = json_get(oauth, "expiresAt"), scopes = json_get(oauth, "scopes");
	if (!at) {
		snprintf(err, errlen, "no claudeAiOauth.accessToken in it");
		goto out;
	}
	if (!cred_token_ok(at)) {
		snprintf(err, errlen, "claudeAiOauth.accessToken is empty or holds invalid characters");
		goto out;
	}
	struct cred c;
	if (take_tokens(&c, at, rt)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* Expiry comes from a file others write: anything outside (0, 1e15) ms is "unknown", never arithmetic fodder. */
	if (exp && YAJL_IS_INTEGER(exp))
		c.expires_at_ms = YAJL_GET_INTEGER(exp) > 0 && YAJL_GET_INTEGER(exp) < 1000000000000000LL ? YAJL_GET_INTEGER(exp) : 0;
	else if (exp && YAJL_IS_DOUBLE(exp))
		c.expires_at_ms = exp->u.number.d > 0 && exp->u.number.d < 1e15 ? (int64_t)exp->u.number.d : 0;
	if (scopes && YAJL_IS_ARRAY(scopes)) {
		c.profile_scope = 0;
		for (size_t i = 0; i < scopes->u.array.len; i++) {
			const char *s = json_str(scopes->u.array.values[i]);
			if (s && strcmp(s, "user:profile") == 0)
				c.profile_scope = 1;
		}
	}
	cred_move(out, &c);
	rc = 0;
out:
	yajl_tree_free(root);
	return rc;
}

/* ---- write-back ------------------------------------------------------------------------------------------------ */

static int gen_str(yajl_gen g, const char *s) { return yajl_gen_string(g, (const unsigned char *)s, strlen(s)); }

static int gen_value(yajl_gen g, yajl_val v)
{
	if (!v)
		return yajl_gen_null(g);
	switch (v->type) {
	case yajl_t_string: return gen_str(g, v->u.string);
	case yajl_t_number: return yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
	case yajl_t_true: return yajl_gen_bool(g, 1);
	case yajl_t_false: return yajl_gen_bool(g, 0);
	case yajl_t_null: return yajl_gen_null(g);
	case yajl_t_array: {
		int e = yajl_gen_array_open(g);
		for (size_t i = 0; i < v->u.array.len && !e; i++)
			e = gen_value(g, v->u.array.values[i]);
		return e || yajl_gen_array_close(g);
	}
	case yajl_t_object: {
		int e = yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len && !e; i++)
			e = gen_str(g, v->u.object.keys[i]) || gen_value(g, v->u.object.values[i]);
		return e || yajl_gen_map_close(g);
	}
	default: return -1;
	}
}

static int gen_tokens(yajl_gen g, const struct cred *c, const char *old_refresh)
{
	char exp[32];
	snprintf(exp, sizeof exp, "%lld", (long long)c->expires_at_ms);
	const char *rt = c->refresh_token ? c->refresh_token : old_refresh;
	return gen_str(g, "accessToken") || gen_str(g, c->access_token) ||
	       (rt && (gen_str(g, "refreshToken") || gen_str(g, rt))) || gen_str(g, "expiresAt") ||
	       yajl_gen_number(g, exp, strlen(exp));
}

static int gen_oauth(yajl_gen g, yajl_val oauth, const struct cred *c)
{
	const char *old_refresh = json_str(json_get(oauth, "refreshToken"));
	int e = yajl_gen_map_open(g), wrote = 0;
	for (size_t i = 0; oauth && YAJL_IS_OBJECT(oauth) && i < oauth->u.object.len && !e; i++) {
		const char *k = oauth->u.object.keys[i];
		if (!strcmp(k, "accessToken") || !strcmp(k, "refreshToken") || !strcmp(k, "expiresAt")) {
			/* The three fields go out together where the first of them stood. */
			if (!wrote)
				e = gen_tokens(g, c, old_refresh);
			wrote = 1;
			continue;
		}
		e = gen_str(g, k) || gen_value(g, oauth->u.object.values[i]);
	}
	if (!wrote && !e)
		e = gen_tokens(g, c, old_refresh);
	return e || yajl_gen_map_close(g);
}

int credfile_update(const char *json, size_t len, const struct cred *c, struct buf *out)
{
	char err[64];
	yajl_val root = len ? parse(json, len, err, sizeof err) : NULL;
	if (len && (!root || !YAJL_IS_OBJECT(root))) {
		yajl_tree_free(root);
		return -1;
	}
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g) {
		yajl_tree_free(root);
		return -1;
	}
	int e = yajl_gen_map_open(g), wrote = 0;
	for (size_t i = 0; root && i < root->u.object.len && !e; i++) {
		const char *k = root->u.object.keys[i];
		e = gen_str(g, k);
		if (!e && strcmp(k, "claudeAiOauth") == 0) {
			e = gen_oauth(g, root->u.object.values[i], c);
			wrote = 1;
		} else if (!e) {
			e = gen_value(g, root->u.object.values[i]);
		}
	}
	if (!wrote && !e)
		e = gen_str(g, "claudeAiOauth") || gen_oauth(g, NULL, c);
	e = e || yajl_gen_map_close(g);
	const unsigned char *p;
	size_t n;
	if (!e && yajl_gen_get_buf(g, &p, &n) == yajl_gen_status_ok)
		e = buf_append(out, p, n) || buf_append(out, "\n", 1);
	else
		e = -1;
	yajl_gen_clear(g);
	yajl_gen_free(g);
	yajl_tree_free(root);
	return e ? -1 : 0;
}

int credfile_parse_token_answer(const char *json, size_t len, int64_t now_ms, struct cred *out, char *code,
				size_t codelen, char *err, size_t errlen)
{
	code[0] = 0;
	yajl_val root = parse(json, len, err, errlen);
	if (!root)
		return -1;
	int rc = -1;
	const char *e = json_str(json_get(root, "error"));
	if (e) {
		const char *desc = json_str(json_get(root, "error_description"));
		snprintf(code, codelen, "%.40s", e);
		snprintf(err, errlen, "%.40s: %.150s", e, desc ? desc : "(no description)");
		goto out;
	}
	const char *at = json_str(json_get(root, "access_token")), *rt = json_str(json_get(root, "refresh_token"));
	yajl_val exp = json_get(root, "expires_in");
	if (!cred_token_ok(at)) {
		snprintf(err, errlen, "the answer has no usable access_token");
		goto out;
	}
	struct cred c;
	if (take_tokens(&c, at, rt)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	int64_t secs = exp && YAJL_IS_INTEGER(exp) && YAJL_GET_INTEGER(exp) > 0 ? YAJL_GET_INTEGER(exp) : 3600;
	if (secs > 10LL * 365 * 24 * 3600) /* from the network: no overflow, no token "valid" for centuries */
		secs = 10LL * 365 * 24 * 3600;
	c.expires_at_ms = now_ms + secs * 1000;
	const char *scope = json_str(json_get(root, "scope"));
	if (scope)
		c.profile_scope = strstr(scope, "user:profile") != NULL;
	cred_move(out, &c);
	rc = 0;
out:
	yajl_tree_free(root);
	return rc;
}
