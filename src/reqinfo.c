#include "reqinfo.h"

#include <ctype.h>
#include <string.h>
#include <yajl/yajl_parse.h>

enum { K_NONE, K_MODEL, K_METADATA, K_USER_ID };

struct scan {
	struct reqinfo *out;
	int want_session;
	int depth;      /* containers open */
	int key1;       /* the current key at depth 1 */
	int key2;       /* the current key at depth 2 */
	int have_model, have_session;
};

static int done(const struct scan *s) { return s->have_model && (s->have_session || !s->want_session); }

static int on_key(void *ctx, const unsigned char *k, size_t n)
{
	struct scan *s = ctx;
	if (s->depth == 1)
		s->key1 = n == 5 && !memcmp(k, "model", 5) ? K_MODEL : n == 8 && !memcmp(k, "metadata", 8) ? K_METADATA : K_NONE;
	else if (s->depth == 2)
		s->key2 = n == 7 && !memcmp(k, "user_id", 7) ? K_USER_ID : K_NONE;
	return 1;
}

static int on_string(void *ctx, const unsigned char *v, size_t n)
{
	struct scan *s = ctx;
	if (s->depth == 1 && s->key1 == K_MODEL && !s->have_model) {
		size_t k = 0;
		for (size_t i = 0; i < n && k + 1 < sizeof s->out->model; i++)
			if (isalnum(v[i]) || v[i] == '.' || v[i] == '_' || v[i] == ':' || v[i] == '-')
				s->out->model[k++] = (char)v[i];
		s->out->model[k] = 0;
		s->have_model = 1;
	} else if (s->depth == 2 && s->key1 == K_METADATA && s->key2 == K_USER_ID && !s->have_session) {
		reqinfo_session_of_user_id((const char *)v, n, s->out->session, sizeof s->out->session);
		s->have_session = s->out->session[0] != 0;
	}
	return !done(s);
}

static int on_open(void *ctx)
{
	struct scan *s = ctx;
	s->depth++;
	if (s->depth == 2)
		s->key2 = K_NONE;
	return 1;
}

static int on_close(void *ctx)
{
	((struct scan *)ctx)->depth--;
	return 1;
}

static int on_scalar(void *ctx) { (void)ctx; return 1; }
static int on_bool(void *ctx, int b) { (void)b; return on_scalar(ctx); }
static int on_number(void *ctx, const char *v, size_t n) { (void)v, (void)n; return on_scalar(ctx); }

static const yajl_callbacks cbs = {
	.yajl_null = on_scalar,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_open,
	.yajl_map_key = on_key,
	.yajl_end_map = on_close,
	.yajl_start_array = on_open,
	.yajl_end_array = on_close,
};

void reqinfo_session_of_user_id(const char *v, size_t n, char *out, size_t outlen)
{
	static const char marker[] = "_session_";
	const char *p = memmem(v, n, marker, sizeof marker - 1);
	if (p && (size_t)(v + n - (p + sizeof marker - 1)) > 0) {
		n = (size_t)(v + n - (p + sizeof marker - 1));
		v = p + sizeof marker - 1;
	}
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < outlen; i++)
		if ((unsigned char)v[i] > 0x20 && (unsigned char)v[i] < 0x7f)
			out[k++] = v[i];
	out[k] = 0;
}

void reqinfo_scan(const char *body, size_t n, int want_session, struct reqinfo *out)
{
	memset(out, 0, sizeof *out);
	struct scan s = {.out = out, .want_session = want_session};
	yajl_handle h = yajl_alloc(&cbs, NULL, &s);
	if (!h)
		return;
	(void)yajl_parse(h, (const unsigned char *)body, n); /* stops early (client canceled) once found */
	yajl_free(h);
}
