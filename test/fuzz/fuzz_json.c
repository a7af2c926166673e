/* fuzz_json: the JSON documents the proxy reads, all fed the same input:
 *   tracker_apply_poll (usage endpoint answers), tracker_load_json (the state file), tracker_apply_header (each
 *   "name: value" line of the input, as rate-limit answer headers), credfile_parse (Claude Code's credentials
 *   file), credfile_update (write-back into that file) and credfile_parse_token_answer (the OAuth token endpoint).
 *
 * Invariants: nothing crashes or leaks (ASan/UBSan/LSan); the /usage snapshot and the state file the tracker then
 * renders are valid JSON, and the state file loads back; credentials parsed hold tokens that are safe in a header
 * (cred_token_ok); an update of a document that parses writes a document that parses back to exactly the new
 * tokens and expiry, keeping every other top-level key; error texts never quote a token.
 *
 * -DFUZZ_SKIP_KNOWN=1 looks past the bugs already reported (test/fuzz/README.md): documents with a time whose zone
 * offset is shorter than "+HH:MM" are not polled (tracker_parse_time over-read); the UB in credfile is suppressed
 * through test/fuzz/known.supp. */
#include "credfile.h"
#include "log.h"
#include "tracker.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define NOW_MS 1767000000000LL /* 2025-12-29 */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz_json invariant broken: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

/* Parses a buffer as JSON (a NUL-terminated copy); NULL when invalid. */
static yajl_val parse(const char *p, size_t n)
{
	char *copy = malloc(n + 1);
	if (!copy)
		abort();
	memcpy(copy, p, n);
	copy[n] = 0;
	char err[128];
	yajl_val v = yajl_tree_parse(copy, err, sizeof err);
	free(copy);
	return v;
}

#ifndef FUZZ_SKIP_KNOWN
#define FUZZ_SKIP_KNOWN 0
#endif

static void must_be_json(const char *what, const struct buf *b)
{
	yajl_val v = parse(buf_ptr(b), buf_size(b));
	if (!v)
		die("%s is not valid JSON: %.*s", what, (int)(buf_size(b) < 600 ? buf_size(b) : 600), buf_ptr(b));
	yajl_tree_free(v);
}

static int depth(yajl_val v)
{
	int d = 0;
	if (YAJL_IS_OBJECT(v))
		for (size_t i = 0; i < v->u.object.len; i++) {
			int k = depth(v->u.object.values[i]);
			d = k > d ? k : d;
		}
	else if (YAJL_IS_ARRAY(v))
		for (size_t i = 0; i < v->u.array.len; i++) {
			int k = depth(v->u.array.values[i]);
			d = k > d ? k : d;
		}
	else
		return 0;
	return d + 1;
}

static void check_err(const char *what, const char *err, size_t cap)
{
	if (!memchr(err, 0, cap))
		die("%s: error text not NUL-terminated", what);
	if (strstr(err, "sk-ant-"))
		die("%s: error text quotes a token: %s", what, err);
}

/* FUZZ_SKIP_KNOWN: whether a JSON value holds a string that tracker_parse_time would read past (a time whose zone
 * offset after the sign is shorter than "HH:MM"). */
static int has_short_offset(yajl_val v)
{
	if (YAJL_IS_STRING(v)) {
		const char *str = v->u.string;
		size_t len = strlen(str);
		for (size_t k = len; k-- > 19;)
			if (str[k] == '+' || str[k] == '-')
				return len - k - 1 < 5;
		return 0;
	}
	if (YAJL_IS_OBJECT(v)) {
		for (size_t i = 0; i < v->u.object.len; i++)
			if (has_short_offset(v->u.object.values[i]))
				return 1;
	} else if (YAJL_IS_ARRAY(v)) {
		for (size_t i = 0; i < v->u.array.len; i++)
			if (has_short_offset(v->u.array.values[i]))
				return 1;
	}
	return 0;
}

static void fuzz_tracker(const char *in, size_t n)
{
	struct tracker t;
	tracker_init(&t, 0.8);
	int skip_poll = 0;
	if (FUZZ_SKIP_KNOWN) {
		yajl_val v = parse(in, n);
		skip_poll = v && has_short_offset(v);
		yajl_tree_free(v);
	}
	if (!skip_poll)
		(void)tracker_apply_poll(&t, in, n, NOW_MS);
	(void)tracker_load_json(&t, in, n, NOW_MS);
	/* Every line as an answer header (names are matched case-insensitively on the rate-limit prefix). */
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(in + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - in) : n;
		const char *colon = memchr(in + i, ':', end - i);
		if (colon) {
			const char *v = colon + 1;
			while (v < in + end && *v == ' ')
				v++;
			(void)tracker_apply_header(&t, in + i, (size_t)(colon - (in + i)), v, (size_t)(in + end - v),
						   NOW_MS);
		}
		i = end + 1;
	}
	tracker_record(&t, "claude-sonnet-4-5", 10, 20, 30, 40, NOW_MS);
	tracker_record(&t, "claude-opus-4-1", -1, 5, -1, 0, NOW_MS + 1000);
	for (int i = 0; i < t.n; i++) {
		double rate;
		int64_t at;
		(void)tracker_burn_rate(&t.w[i], NOW_MS + 3600 * 1000, &rate);
		(void)tracker_projected_exhaustion(&t.w[i], NOW_MS + 3600 * 1000, &at);
	}
	struct buf b;
	buf_init(&b, 0);
	if (tracker_render_json(&t, &b, NOW_MS + 5000, "{\"enabled\":false}"))
		die("tracker_render_json failed");
	must_be_json("the /usage snapshot", &b);
	buf_reset(&b);
	if (tracker_save_json(&t, &b))
		die("tracker_save_json failed");
	must_be_json("the state file", &b);
	struct tracker u;
	tracker_init(&u, 0.8);
	if (tracker_load_json(&u, buf_ptr(&b), buf_size(&b), NOW_MS))
		die("the state file the tracker wrote does not load back: %.*s", (int)buf_size(&b), buf_ptr(&b));
	buf_free(&b);
}

static void fuzz_credfile(const char *in, size_t n)
{
	char err[200], code[64];
	struct cred c;
	cred_init(&c);
	memset(err, 0, sizeof err);
	if (credfile_parse(in, n, &c, err, sizeof err) == 0) {
		if (!cred_token_ok(c.access_token))
			die("credfile_parse accepted an access token unfit for a header");
		if (c.refresh_token && !cred_token_ok(c.refresh_token))
			die("credfile_parse accepted a refresh token unfit for a header");
	} else {
		check_err("credfile_parse", err, sizeof err);
		if (c.access_token)
			die("credfile_parse failed but filled the access token");
	}
	cred_free(&c);
	cred_free(&c); /* safe twice */

	/* Write-back: new tokens into whatever the file holds. */
	struct cred nc;
	cred_init(&nc);
	nc.access_token = strdup("sk-ant-oat01-NEWACCESS");
	nc.refresh_token = (n & 1) ? strdup("sk-ant-ort01-NEWREFRESH") : NULL;
	nc.expires_at_ms = 1767003600000LL;
	struct buf out;
	buf_init(&out, 0);
	yajl_val before = parse(in, n);
	int rc = credfile_update(in, n, &nc, &out);
	if (rc == 0) {
		yajl_val after = parse(buf_ptr(&out), buf_size(&out));
		if (!after)
			die("credfile_update wrote invalid JSON: %.*s", (int)buf_size(&out), buf_ptr(&out));
		struct cred back;
		cred_init(&back);
		memset(err, 0, sizeof err);
		if (credfile_parse(buf_ptr(&out), buf_size(&out), &back, err, sizeof err))
			die("the updated file does not parse back: %s", err);
		if (strcmp(back.access_token, nc.access_token) != 0 || back.expires_at_ms != nc.expires_at_ms)
			die("the updated file holds other tokens than written");
		if (nc.refresh_token && (!back.refresh_token || strcmp(back.refresh_token, nc.refresh_token) != 0))
			die("the updated file lost the new refresh token");
		/* Every other top-level key survives. */
		if (before && YAJL_IS_OBJECT(before)) {
			for (size_t i = 0; i < before->u.object.len; i++) {
				const char *path[] = {before->u.object.keys[i], NULL};
				if (!yajl_tree_get(after, path, yajl_t_any))
					die("top-level key '%s' lost by credfile_update", before->u.object.keys[i]);
			}
		}
		cred_free(&back);
		yajl_tree_free(after);
	} else if (n == 0 || (before && YAJL_IS_OBJECT(before) && depth(before) < 100)) {
		/* (yajl's generator stops at 128 levels: deeper documents may be refused.) */
		die("credfile_update refused %s", n == 0 ? "an empty file" : "a JSON object");
	}
	yajl_tree_free(before);
	buf_free(&out);
	cred_free(&nc);

	/* The token endpoint's answer. */
	struct cred tc;
	cred_init(&tc);
	memset(err, 0, sizeof err);
	memset(code, 0x55, sizeof code);
	if (credfile_parse_token_answer(in, n, NOW_MS, &tc, code, sizeof code, err, sizeof err) == 0) {
		if (!cred_token_ok(tc.access_token))
			die("token answer: accepted an access token unfit for a header");
		if (tc.refresh_token && !cred_token_ok(tc.refresh_token))
			die("token answer: accepted a refresh token unfit for a header");
		if (tc.expires_at_ms <= NOW_MS && !FUZZ_SKIP_KNOWN) /* (known: huge expires_in overflows, README.md) */
			die("token answer: expiry %lld not after now", (long long)tc.expires_at_ms);
	} else {
		if (!memchr(err, 0, sizeof err)) /* the server's own error text may be quoted: no token check here */
			die("token answer: error text not NUL-terminated");
		if (!memchr(code, 0, sizeof code))
			die("token answer: error code not NUL-terminated");
	}
	cred_free(&tc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The tracker logs warnings (window over the threshold...): the log code runs too, in JSON like the proxy's. */
	log_setup(AP_WARN, 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256 * 1024)
		return 0;
	fuzz_tracker((const char *)data, size);
	fuzz_credfile((const char *)data, size);
	return 0;
}
