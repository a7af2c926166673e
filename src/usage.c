#include "usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#include <zlib.h>


/* Event kinds, from an `event:` line or a top-level "type". */
enum { K_UNSET, K_MESSAGE_START, K_MESSAGE_DELTA, K_ERROR, K_OTHER };
/* Key ids on the JSON path. The four counts are consecutive, in the order of usage_scan.usage. */
enum {
	KEY_NONE, /* no key yet, or an array element */
	KEY_OTHER,
	KEY_TYPE,
	KEY_MODEL,
	KEY_STOP_REASON,
	KEY_USAGE,
	KEY_MESSAGE,
	KEY_DELTA,
	KEY_ERROR,
	KEY_INPUT,
	KEY_OUTPUT,
	KEY_CACHE_CREATION,
	KEY_CACHE_READ,
};
/* Where a scalar value goes. S_USAGE and S_MSG_USAGE are followed by the three other counts. */
enum { S_NONE, S_TYPE, S_MODEL, S_STOP, S_ERROR_TYPE, S_INPUT, S_USAGE, S_MSG_USAGE = S_USAGE + 4 };
/* SSE line positions and fields. */
enum { L_START, L_NAME, L_SPACE, L_VALUE, L_SKIP };
enum { F_OTHER, F_EVENT, F_DATA };
/* What happens to an SSE event's data. */
enum {
	M_NONE,      /* no data line yet */
	M_PARSE,     /* an event of interest: parsed */
	M_SNIFF,     /* no `event:` line: parsed until the top-level "type" says whether it is of interest */
	M_SKIP,      /* of no interest: dropped */
	M_OVERSIZED, /* over USAGE_EVENT_MAX: dropped */
	M_INVALID,   /* invalid JSON: dropped */
};

/* ---- Allocation accounting: yajl and zlib allocate through these, so `mem` and `mem_peak` are exact. ---- */

union mem_head {
	max_align_t align; /* keeps the block after the header aligned */
	size_t size;       /* bytes asked for */
};

static void mem_count(struct usage_reader *r, size_t add, size_t sub)
{
	r->mem = r->mem - sub + add;
	if (r->mem > r->mem_peak)
		r->mem_peak = r->mem;
}

static void *mem_alloc(void *ctx, size_t size)
{
	if (size > SIZE_MAX - sizeof(union mem_head))
		return NULL;
	union mem_head *h = malloc(sizeof *h + size);
	if (!h)
		return NULL;
	h->size = size;
	mem_count(ctx, size, 0);
	return h + 1;
}

static void *mem_realloc(void *ctx, void *p, size_t size)
{
	if (!p)
		return mem_alloc(ctx, size);
	if (size > SIZE_MAX - sizeof(union mem_head))
		return NULL;
	union mem_head *h = (union mem_head *)p - 1;
	size_t old = h->size;
	h = realloc(h, sizeof *h + size);
	if (!h)
		return NULL;
	h->size = size;
	mem_count(ctx, size, old);
	return h + 1;
}

static void mem_release(void *ctx, void *p)
{
	if (!p)
		return;
	union mem_head *h = (union mem_head *)p - 1;
	mem_count(ctx, 0, h->size);
	free(h);
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	if (size && items > SIZE_MAX / size)
		return Z_NULL;
	return mem_alloc(opaque, (size_t)items * size);
}

static void z_release(voidpf opaque, voidpf p) { mem_release(opaque, p); }

/* ---- Small string helpers. ---- */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* Case-insensitive equality of a counted string and a C string. */
static int ieq(const char *p, size_t n, const char *s)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != s[i])
			return 0;
	return 1;
}

static int eq(const void *p, size_t n, const char *s) { return strlen(s) == n && memcmp(p, s, n) == 0; }

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/* Copies the bytes that may appear in a metric label ([A-Za-z0-9._:-]), cut to fit. */
static void copy_label(char *dst, size_t cap, const unsigned char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		unsigned char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '_' || c == ':' || c == '-')
			dst[k++] = (char)c;
	}
	dst[k] = '\0';
}

/* A JSON number that is a non-negative integer fitting int64, else -1. */
static int64_t parse_count(const char *s, size_t n)
{
	if (n == 0)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		int d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

static int kind_of(const void *p, size_t n)
{
	if (n == 0)
		return K_UNSET;
	if (eq(p, n, "message_start"))
		return K_MESSAGE_START;
	if (eq(p, n, "message_delta"))
		return K_MESSAGE_DELTA;
	if (eq(p, n, "error"))
		return K_ERROR;
	return K_OTHER;
}

static int kind_wanted(int kind) { return kind == K_MESSAGE_START || kind == K_MESSAGE_DELTA || kind == K_ERROR; }

/* ---- JSON: path tracking over yajl's callbacks. ---- */

static int key_id(const unsigned char *k, size_t n)
{
#define KEY(s) {s, sizeof s - 1}
	static const struct {
		const char *name;
		size_t len;
	} keys[] = {
		[KEY_TYPE] = KEY("type"),
		[KEY_MODEL] = KEY("model"),
		[KEY_STOP_REASON] = KEY("stop_reason"),
		[KEY_USAGE] = KEY("usage"),
		[KEY_MESSAGE] = KEY("message"),
		[KEY_DELTA] = KEY("delta"),
		[KEY_ERROR] = KEY("error"),
		[KEY_INPUT] = KEY("input_tokens"),
		[KEY_OUTPUT] = KEY("output_tokens"),
		[KEY_CACHE_CREATION] = KEY("cache_creation_input_tokens"),
		[KEY_CACHE_READ] = KEY("cache_read_input_tokens"),
	};
#undef KEY
	for (int i = KEY_TYPE; i < (int)(sizeof keys / sizeof keys[0]); i++)
		if (n == keys[i].len && memcmp(k, keys[i].name, n) == 0)
			return i;
	return KEY_OTHER;
}

static int is_count(int key) { return key >= KEY_INPUT && key <= KEY_CACHE_READ; }

/* Where the scalar at the current path goes. JSON bodies: type, model, stop_reason, input_tokens, usage.<count>,
 * error.type. SSE events: type, usage.<count>, error.type, message.model, message.stop_reason, delta.stop_reason,
 * message.usage.<count>. Anything deeper, or under other keys, is not read. */
static int slot_of(const struct usage_reader *r)
{
	const struct usage_scan *s = &r->scan;
	int sse = r->format == USAGE_SSE;
	const uint8_t *k = s->keys;
	switch (s->depth) {
	case 1:
		if (k[0] == KEY_TYPE)
			return S_TYPE;
		if (sse)
			return S_NONE;
		if (k[0] == KEY_MODEL)
			return S_MODEL;
		if (k[0] == KEY_STOP_REASON)
			return S_STOP;
		if (k[0] == KEY_INPUT)
			return S_INPUT;
		return S_NONE;
	case 2:
		if (k[0] == KEY_USAGE && is_count(k[1]))
			return S_USAGE + (k[1] - KEY_INPUT);
		if (k[0] == KEY_ERROR && k[1] == KEY_TYPE)
			return S_ERROR_TYPE;
		if (!sse)
			return S_NONE;
		if (k[0] == KEY_MESSAGE && k[1] == KEY_MODEL)
			return S_MODEL;
		if ((k[0] == KEY_MESSAGE || k[0] == KEY_DELTA) && k[1] == KEY_STOP_REASON)
			return S_STOP;
		return S_NONE;
	case 3:
		if (sse && k[0] == KEY_MESSAGE && k[1] == KEY_USAGE && is_count(k[2]))
			return S_MSG_USAGE + (k[2] - KEY_INPUT);
		return S_NONE;
	default:
		return S_NONE;
	}
}

static int on_start(void *ctx)
{
	struct usage_scan *s = &((struct usage_reader *)ctx)->scan;
	if (s->depth >= USAGE_DEPTH_MAX)
		return 0; /* yajl's stack would grow with the input: refuse */
	if (s->depth < sizeof s->keys)
		s->keys[s->depth] = KEY_NONE;
	s->depth++;
	return 1;
}

static int on_end(void *ctx)
{
	((struct usage_reader *)ctx)->scan.depth--;
	return 1;
}

static int on_key(void *ctx, const unsigned char *k, size_t n)
{
	struct usage_scan *s = &((struct usage_reader *)ctx)->scan;
	if (s->depth >= 1 && s->depth <= sizeof s->keys)
		s->keys[s->depth - 1] = (uint8_t)key_id(k, n);
	return 1;
}

static int on_number(void *ctx, const char *p, size_t n)
{
	struct usage_reader *r = ctx;
	int slot = slot_of(r);
	int64_t v = parse_count(p, n);
	if (v < 0)
		return 1;
	if (slot == S_INPUT)
		r->scan.input = v;
	else if (slot >= S_USAGE && slot < S_USAGE + 4)
		r->scan.usage[slot - S_USAGE] = v;
	else if (slot >= S_MSG_USAGE && slot < S_MSG_USAGE + 4)
		r->scan.msg_usage[slot - S_MSG_USAGE] = v;
	return 1;
}

static int on_string(void *ctx, const unsigned char *p, size_t n)
{
	struct usage_reader *r = ctx;
	struct usage_scan *s = &r->scan;
	switch (slot_of(r)) {
	case S_TYPE:
		s->kind = (uint8_t)kind_of(p, n);
		if (r->format == USAGE_SSE && r->sse.mode == M_SNIFF && !kind_wanted(s->kind)) {
			s->stopped = 1; /* an event of no interest: stop parsing it */
			return 0;
		}
		break;
	case S_MODEL:
		copy_label(s->model, sizeof s->model, p, n);
		break;
	case S_STOP:
		copy_label(s->stop, sizeof s->stop, p, n);
		break;
	case S_ERROR_TYPE:
		copy_label(s->error_type, sizeof s->error_type, p, n);
		break;
	}
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start,
	.yajl_map_key = on_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start,
	.yajl_end_array = on_end,
};

static void scan_close(struct usage_reader *r)
{
	if (r->scan.yajl) {
		yajl_free(r->scan.yajl);
		r->scan.yajl = NULL;
	}
}

/* Starts a new JSON value: forgets the previous one's path and values. Returns 0, or -1 out of memory. */
static int scan_open(struct usage_reader *r)
{
	struct usage_scan *s = &r->scan;
	scan_close(r);
	memset(s, 0, sizeof *s);
	for (int i = 0; i < 4; i++)
		s->usage[i] = s->msg_usage[i] = -1;
	s->input = -1;
	yajl_alloc_funcs funcs = {.malloc = mem_alloc, .realloc = mem_realloc, .free = mem_release, .ctx = r};
	s->yajl = yajl_alloc(&callbacks, &funcs, r);
	if (!s->yajl)
		return -1;
	/* Strings are cut (below), possibly inside a UTF-8 sequence; only labels are kept and they are ASCII. */
	yajl_config(s->yajl, yajl_dont_validate_strings, 1);
	return 0;
}

/* Hands bytes to yajl. Returns 0, 1 when a callback stopped it on purpose, -1 on invalid JSON. */
static int scan_parse(struct usage_reader *r, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (yajl_parse(r->scan.yajl, (const unsigned char *)p, n) == yajl_status_ok)
		return 0;
	return r->scan.stopped ? 1 : -1;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_number_char(unsigned char c)
{
	return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}
static int is_delimiter(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '{' || c == '}' || c == '[' || c == ']' ||
	       c == ',' || c == ':' || c == '"';
}

/* Feeds JSON text to yajl through a filter that bounds what yajl can buffer: yajl keeps a token split across two
 * calls whole, so a string is cut after USAGE_STRING_MAX bytes (never inside an escape) and a number after
 * USAGE_NUMBER_MAX characters (always after a digit, which leaves a valid number); the rest of the token is dropped
 * until its end. Cut values are never ones we read: labels are shorter, and a count that long overflows anyway.
 * Returns as scan_parse. */
static int scan_feed(struct usage_reader *r, const char *p, size_t n)
{
	struct usage_scan *s = &r->scan;
	size_t from = 0; /* first byte not yet handed to yajl */
	int rc;
	for (size_t i = 0; i < n; i++) {
		if (s->in_str && !s->bs && !s->hex) {
			/* Plain string bytes, the bulk of an answer: skip to the next quote or backslash, or (not dropping)
			 * to the byte that reaches the cut, which the slow path below handles. */
			size_t lim = n - i;
			if (!s->drop && lim > (size_t)(USAGE_STRING_MAX - 1 - s->run))
				lim = (size_t)(USAGE_STRING_MAX - 1 - s->run);
			const char *q = memchr(p + i, '"', lim);
			size_t m = q ? (size_t)(q - (p + i)) : lim;
			if ((q = memchr(p + i, '\\', m)))
				m = (size_t)(q - (p + i));
			if (!s->drop)
				s->run += m;
			i += m;
			if (i == n)
				break;
		}
		unsigned char c = (unsigned char)p[i];
		if (s->drop && s->in_str) {
			if (s->bs)
				s->bs = 0;
			else if (c == '\\')
				s->bs = 1;
			else if (c == '"') {
				s->drop = s->in_str = 0;
				from = i; /* the closing quote goes to yajl */
			}
			continue;
		}
		if (s->drop) {
			if (is_number_char(c))
				continue;
			s->drop = 0;
			from = i; /* the byte after the number is read below */
		}
		if (s->in_str) {
			if (s->bs) {
				s->bs = 0;
				s->hex = c == 'u' ? 4 : 0;
			} else if (s->hex) {
				s->hex--;
			} else if (c == '\\') {
				s->bs = 1;
			} else if (c == '"') {
				s->in_str = 0;
				continue;
			}
			if (++s->run >= USAGE_STRING_MAX && !s->bs && !s->hex) {
				if ((rc = scan_parse(r, p + from, i + 1 - from)))
					return rc;
				s->drop = 1;
			}
			continue;
		}
		if (c == '"') {
			s->in_str = 1;
			s->run = 0;
		} else if (is_delimiter(c)) {
			s->run = 0;
		} else if (++s->run >= USAGE_NUMBER_MAX && is_digit(c)) {
			if ((rc = scan_parse(r, p + from, i + 1 - from)))
				return rc;
			s->drop = 1;
		}
	}
	return s->drop ? 0 : scan_parse(r, p + from, n - from);
}

/* Completes the value. Returns as scan_parse. */
static int scan_complete(struct usage_reader *r)
{
	if (yajl_complete_parse(r->scan.yajl) == yajl_status_ok)
		return 0;
	return r->scan.stopped ? 1 : -1;
}

/* ---- Merging into the results. ---- */

static void merge_counts(struct usage_counts *u, const int64_t v[4])
{
	if (v[0] >= 0)
		u->input_tokens = v[0];
	if (v[1] >= 0)
		u->output_tokens = v[1];
	if (v[2] >= 0)
		u->cache_creation_input_tokens = v[2];
	if (v[3] >= 0)
		u->cache_read_input_tokens = v[3];
}

static void merge_str(char *dst, size_t cap, const char *src)
{
	if (!src[0])
		return;
	size_t n = strnlen(src, cap - 1);
	memmove(dst, src, n);
	dst[n] = 0;
}

/* JSON body: what was seen so far (idempotent: called after every piece). */
static void apply_body(struct usage_reader *r)
{
	struct usage_scan *s = &r->scan;
	if (s->input >= 0)
		r->usage.input_tokens = s->input;
	merge_counts(&r->usage, s->usage);
	merge_str(r->usage.model, sizeof r->usage.model, s->model);
	merge_str(r->stop_reason, sizeof r->stop_reason, s->stop);
	merge_str(r->error_type, sizeof r->error_type, s->error_type);
}

/* A complete SSE event of the given kind. */
static void apply_event(struct usage_reader *r, int kind)
{
	struct usage_scan *s = &r->scan;
	switch (kind) {
	case K_MESSAGE_START:
		merge_counts(&r->usage, s->msg_usage);
		merge_str(r->usage.model, sizeof r->usage.model, s->model);
		merge_str(r->stop_reason, sizeof r->stop_reason, s->stop);
		break;
	case K_MESSAGE_DELTA:
		merge_counts(&r->usage, s->usage);
		merge_str(r->stop_reason, sizeof r->stop_reason, s->stop);
		break;
	case K_ERROR:
		r->error_events++;
		snprintf(r->error_type, sizeof r->error_type, "%s", s->error_type);
		break;
	}
}

/* ---- SSE (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation). ---- */

/* The event ends (blank line, or end of body): apply it if it is of interest, then forget it. */
static void sse_dispatch(struct usage_reader *r)
{
	struct usage_sse *e = &r->sse;
	if (e->data_lines) {
		int kind = e->event_kind != K_UNSET ? e->event_kind : r->scan.kind;
		int counted = kind_wanted(kind) || kind == K_UNSET;
		if (e->mode == M_PARSE || e->mode == M_SNIFF) {
			int rc = scan_complete(r);
			if (rc == 0 && kind_wanted(kind))
				apply_event(r, kind);
			else if (rc < 0 && counted)
				r->bad_events++;
		} else if (e->mode == M_OVERSIZED && counted) {
			r->oversized_events++;
		} else if (e->mode == M_INVALID && counted) {
			r->bad_events++;
		}
	}
	scan_close(r);
	r->scan.kind = K_UNSET;
	e->type_len = 0;
	e->event_kind = K_UNSET;
	e->mode = M_NONE;
	e->data_lines = 0;
	e->data_bytes = 0;
}

/* Data bytes of the current event (line joins included). */
static void sse_data(struct usage_reader *r, const char *p, size_t n)
{
	struct usage_sse *e = &r->sse;
	if (e->mode != M_PARSE && e->mode != M_SNIFF)
		return;
	if (n > USAGE_EVENT_MAX - e->data_bytes) {
		scan_close(r);
		e->mode = M_OVERSIZED;
		return;
	}
	e->data_bytes += n;
	int rc = scan_feed(r, p, n);
	if (rc) {
		scan_close(r); /* release at once: the rest of the event is dropped */
		e->mode = rc > 0 ? M_SKIP : M_INVALID;
	}
}

/* A `data` line starts: the first decides what happens to the event's data; later ones join with \n. */
static void sse_data_line(struct usage_reader *r)
{
	struct usage_sse *e = &r->sse;
	if (e->data_lines++) {
		sse_data(r, "\n", 1);
		return;
	}
	if (e->event_kind == K_UNSET)
		e->mode = M_SNIFF;
	else
		e->mode = kind_wanted(e->event_kind) ? M_PARSE : M_SKIP;
	if (e->mode != M_SKIP && scan_open(r))
		e->mode = M_INVALID;
}

/* The field name is complete (at the colon, or at the end of a line without one). */
static void sse_field(struct usage_reader *r)
{
	struct usage_sse *e = &r->sse;
	e->field = F_OTHER;
	if (eq(e->name, e->name_len, "event")) {
		e->field = F_EVENT;
		e->type_len = 0; /* the last `event:` line of an event wins */
	} else if (eq(e->name, e->name_len, "data")) {
		e->field = F_DATA;
		sse_data_line(r);
	}
}

static void sse_value(struct usage_reader *r, const char *p, size_t n)
{
	struct usage_sse *e = &r->sse;
	if (e->field == F_DATA) {
		sse_data(r, p, n);
	} else if (e->field == F_EVENT) {
		for (size_t i = 0; i < n && e->type_len <= sizeof e->type; i++, e->type_len++)
			if (e->type_len < sizeof e->type)
				e->type[e->type_len] = p[i];
	}
}

/* A line ends. */
static void sse_eol(struct usage_reader *r)
{
	struct usage_sse *e = &r->sse;
	switch (e->line) {
	case L_START:
		sse_dispatch(r);
		break;
	case L_NAME:
		sse_field(r);
		/* fallthrough */
	case L_SPACE:
	case L_VALUE:
		if (e->field == F_EVENT)
			e->event_kind =
				(uint8_t)(e->type_len > sizeof e->type ? K_OTHER : kind_of(e->type, e->type_len));
		break;
	}
	e->line = L_START;
}

/* Bytes before the next line end (\n or \r). memchr: most of a stream is data lines that are skipped whole. */
static size_t line_span(const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	size_t span = lf ? (size_t)(lf - p) : n;
	const char *cr = memchr(p, '\r', span);
	return cr ? (size_t)(cr - p) : span;
}

static void sse_feed(struct usage_reader *r, const char *p, size_t n)
{
	struct usage_sse *e = &r->sse;
	size_t i = 0;
	while (i < n) {
		char c = p[i];
		if (e->cr) {
			e->cr = 0;
			if (c == '\n') { /* the second half of \r\n, possibly in a later piece */
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			sse_eol(r);
			e->cr = c == '\r';
			i++;
			continue;
		}
		size_t span;
		switch (e->line) {
		case L_START:
			if (c == ':') { /* a comment */
				e->line = L_SKIP;
				i++;
			} else {
				e->line = L_NAME;
				e->name_len = 0;
			}
			break;
		case L_NAME:
			if (c == ':') {
				sse_field(r);
				e->line = L_SPACE;
			} else if (e->name_len <= sizeof e->name) {
				if (e->name_len < sizeof e->name)
					e->name[e->name_len] = c;
				e->name_len++; /* past sizeof name: a name we do not know */
			}
			i++;
			break;
		case L_SPACE:
			if (c == ' ')
				i++;
			e->line = L_VALUE;
			break;
		case L_VALUE:
			span = line_span(p + i, n - i);
			sse_value(r, p + i, span);
			i += span;
			break;
		default: /* L_SKIP */
			i += line_span(p + i, n - i);
			break;
		}
	}
}

/* ---- The reader. ---- */

static int give_up(struct usage_reader *r, const char *why)
{
	if (!r->problem)
		r->problem = why;
	return -1;
}

/* Releases the parser and inflate state (results stay). */
static void release(struct usage_reader *r)
{
	scan_close(r);
	inflater_free(&r->inf);
}

/* Decoded body bytes. Returns 0 or -1 (given up). */
static int body_feed(struct usage_reader *r, const char *p, size_t n)
{
	if (r->format == USAGE_SSE) {
		sse_feed(r, p, n);
		return 0;
	}
	if (!r->scan.yajl && scan_open(r))
		return give_up(r, "memory");
	if (scan_feed(r, p, n))
		return give_up(r, "json");
	apply_body(r);
	return 0;
}

static int body_sink(void *arg, const char *p, size_t n) { return body_feed(arg, p, n); }

/* Compressed bytes, inflated through the reader's counted allocator. Returns 0 or -1 (given up). */
static int coded_feed(struct usage_reader *r, const char *p, size_t n)
{
	if (!r->inf.zalloc)
		inflater_init(&r->inf, z_alloc, z_release, r);
	switch (inflater_feed(&r->inf, p, n, body_sink, r)) {
	case 0:
		return 0;
	case INFLATE_SINK:
		return -1; /* body_feed gave up and said why */
	case INFLATE_MEMORY:
		return give_up(r, "memory");
	default:
		return give_up(r, "inflate");
	}
}

static enum usage_format format_of(const char *p, size_t n)
{
	if (!p)
		return USAGE_NONE;
	const char *semi = memchr(p, ';', n);
	if (semi)
		n = (size_t)(semi - p);
	trim(&p, &n);
	if (ieq(p, n, "application/json"))
		return USAGE_JSON;
	if (ieq(p, n, "text/event-stream"))
		return USAGE_SSE;
	return USAGE_NONE;
}

/* Content-Encoding is a list of codings in the order applied (RFC 9110 §8.4); one is supported, identity ignored. */
static enum usage_coding coding_of(const char *p, size_t n)
{
	enum usage_coding coding = USAGE_IDENTITY;
	if (!p)
		return coding;
	while (n) {
		const char *comma = memchr(p, ',', n);
		size_t len = comma ? (size_t)(comma - p) : n;
		const char *t = p;
		size_t tn = len;
		trim(&t, &tn);
		p += comma ? len + 1 : len;
		n -= comma ? len + 1 : len;
		if (tn == 0 || ieq(t, tn, "identity"))
			continue;
		if (coding != USAGE_IDENTITY)
			return USAGE_UNSUPPORTED;
		if (ieq(t, tn, "gzip") || ieq(t, tn, "x-gzip"))
			coding = USAGE_GZIP;
		else if (ieq(t, tn, "deflate"))
			coding = USAGE_DEFLATE;
		else
			return USAGE_UNSUPPORTED;
	}
	return coding;
}

void usage_reader_init(struct usage_reader *r, const char *content_type, size_t ct_len, const char *content_encoding,
		       size_t ce_len)
{
	memset(r, 0, sizeof *r);
	r->usage.input_tokens = r->usage.output_tokens = -1;
	r->usage.cache_creation_input_tokens = r->usage.cache_read_input_tokens = -1;
	r->format = format_of(content_type, ct_len);
	r->coding = coding_of(content_encoding, ce_len);
	if (r->format != USAGE_NONE && r->coding == USAGE_UNSUPPORTED)
		r->problem = "content-encoding";
}

int usage_reader_feed(struct usage_reader *r, const char *p, size_t n)
{
	if (r->problem)
		return -1;
	if (r->format == USAGE_NONE || r->finished || n == 0)
		return 0;
	int rc = r->coding == USAGE_IDENTITY ? body_feed(r, p, n) : coded_feed(r, p, n);
	if (rc)
		release(r); /* give the memory back now; results stay */
	return rc;
}

void usage_reader_finish(struct usage_reader *r)
{
	if (r->problem || r->format == USAGE_NONE || r->finished)
		goto done;
	if (r->coding != USAGE_IDENTITY && inflater_cut_short(&r->inf))
		give_up(r, "inflate"); /* cut short or corrupt; what was read stays */
	if (r->format == USAGE_SSE) {
		if (r->sse.line != L_START)
			sse_eol(r); /* a last line without its line end */
		sse_dispatch(r);
	} else if (r->scan.yajl) {
		int rc = scan_complete(r);
		apply_body(r); /* a number ending the input is only seen now, also when the value is cut short */
		if (rc)
			give_up(r, "json");
	}
done:
	r->finished = 1;
	release(r);
}

void usage_reader_free(struct usage_reader *r) { release(r); }
