/* usage: token usage read from an answer as it streams by, without holding the body.
 *
 * The proxy writes each answer piece to the client and hands the same bytes to a reader (usage_reader_feed). The
 * reader never affects forwarding: when it cannot read something it gives up quietly and says why (`problem`).
 * Pure: no I/O, no libuv. Memory is bounded whatever the body size; `mem_peak` measures it (tests check the bound).
 *
 * Formats (src/README.md §2):
 * - text/event-stream: server-sent events. Lines end in \n, \r\n or \r, and bytes may be split anywhere. Only the data
 *   of `message_start`, `message_delta` and `error` events is parsed; it is streamed into an incremental JSON parser,
 *   never buffered, and other events are skipped byte by byte. An event without an `event:` line is typed by its
 *   JSON `type` (parsing stops as soon as that names an event of no interest). An event of interest with more than
 *   USAGE_EVENT_MAX data bytes is skipped and counted in `oversized_events`; one whose JSON is invalid is counted in
 *   `bad_events`. Neither stops the reader. A last event without its blank line is taken at usage_reader_finish.
 *   message_start gives message.usage.*, message.model, message.stop_reason; message_delta gives usage.* and
 *   delta.stop_reason; error gives error.type and counts in `error_events`.
 * - application/json: one JSON value, parsed incrementally. Only top-level `model`, `stop_reason`, `usage.<count>`
 *   and `error.type` are read, never keys of the same name deeper (in `content`, in `usage.cache_creation`...).
 *   Top-level `input_tokens` (the count_tokens answer `{"input_tokens": N}`) is read into usage.input_tokens too: the
 *   caller knows the endpoint and decides whether to count it. An error body fills `error_type` but not
 *   `error_events`, which counts in-stream SSE events only (the status code already tells the caller). Values are
 *   taken as they are parsed, so a body cut short keeps what was seen; invalid JSON makes the reader give up.
 * - Content-Encoding gzip/x-gzip/deflate is inflated on the side through a fixed-size output buffer (inflate.h tells
 *   gzip, zlib and raw deflate apart). Any other coding, or more than one, and the reader does not start.
 *
 * Merging: each count present and valid (a non-negative integer that fits int64) replaces the previous one: the
 * last value wins, counts are never added (message_delta counts are cumulative). null, fractions, negatives, strings
 * leave the field as it was. Strings kept (`model`, `stop_reason`, `error_type`) keep only [A-Za-z0-9._:-], cut to
 * their arrays, because they become metric labels.
 *
 * Bounds: the JSON parser (yajl) buffers a token split across two feeds whole, so the reader hands it every string
 * cut to USAGE_STRING_MAX bytes and every number cut to USAGE_NUMBER_MAX characters (the rest is dropped before the
 * parser sees it), and nesting deeper than USAGE_DEPTH_MAX is refused (as invalid JSON). With that, the parser holds
 * a few KB and inflate its 32 KB window plus state, whatever the body. Work is linear in the input.
 *
 * Lifetime: usage_reader_init never allocates and cannot fail; the parser and the inflate state are allocated on
 * the first bytes that need them and released by usage_reader_finish, usage_reader_free or on giving up. The
 * reader must not be moved once fed (its allocations point back at it). Results are readable at any time, also
 * after usage_reader_free (a client that disconnects mid-stream still gets the tokens seen so far counted). */
#ifndef AP_USAGE_H
#define AP_USAGE_H

#include "inflate.h"

#include <stddef.h>
#include <stdint.h>

#define USAGE_EVENT_MAX  (64 * 1024) /* most data bytes parsed in one SSE event */
#define USAGE_STRING_MAX 128         /* JSON string bytes the parser sees; longer strings are cut */
#define USAGE_NUMBER_MAX 64          /* JSON number characters the parser sees; longer numbers are cut */
#define USAGE_DEPTH_MAX  128         /* deepest JSON nesting accepted */

enum usage_format { USAGE_NONE, USAGE_JSON, USAGE_SSE };
enum usage_coding { USAGE_IDENTITY, USAGE_GZIP, USAGE_DEFLATE, USAGE_UNSUPPORTED };

struct usage_counts {
	int64_t input_tokens;                /* -1 = not seen */
	int64_t output_tokens;               /* -1 = not seen */
	int64_t cache_creation_input_tokens; /* -1 = not seen */
	int64_t cache_read_input_tokens;     /* -1 = not seen */
	char model[64];                      /* "" = not seen; only [A-Za-z0-9._:-], cut */
};

/* Private: where the SSE line parser is. */
struct usage_sse {
	uint8_t line;        /* position in the current line (L_* in usage.c) */
	uint8_t cr;          /* the last byte was \r: a \n right after it is part of the same line end */
	uint8_t field;       /* field of the current line (F_* in usage.c) */
	uint8_t name_len;    /* bytes of the field name read (saturates past sizeof name) */
	char name[8];        /* field name being read */
	uint8_t type_len;    /* bytes of the `event:` value read (saturates past sizeof type) */
	char type[24];       /* value of this event's last `event:` line */
	uint8_t event_kind;  /* kind named by the `event:` line (K_* in usage.c), unset without one */
	uint8_t mode;        /* what happens to this event's data (M_* in usage.c) */
	uint32_t data_lines; /* `data:` lines in this event */
	size_t data_bytes;   /* data bytes of this event given to the parser, line joins included */
};

/* Private: the JSON value being parsed: path, the cutting filter in front of the parser, and values seen. */
struct usage_scan {
	struct yajl_handle_t *yajl; /* parser, or NULL */
	uint32_t depth;             /* containers open */
	uint8_t keys[3];            /* key ids on the path at depths 1..3 (KEY_* in usage.c) */
	uint8_t kind;               /* event kind named by the top-level "type" (K_* in usage.c) */
	uint8_t stopped;            /* a callback stopped the parser on purpose (an event of no interest) */
	uint8_t in_str;             /* the filter is inside a string */
	uint8_t drop;               /* the filter drops the rest of a long string or number */
	uint8_t bs;                 /* the last string byte was a backslash */
	uint8_t hex;                /* \u hex digits still to come */
	size_t run;                 /* bytes of the current string or number so far */
	int64_t usage[4];           /* usage.{input,output,cache_creation_input,cache_read_input}_tokens, -1 unseen */
	int64_t msg_usage[4];       /* message.usage.* (SSE message_start), same order */
	int64_t input;              /* top-level input_tokens (count_tokens, JSON only), -1 unseen */
	char model[64];             /* model (JSON: top-level; SSE: message.model), "" unseen */
	char stop[32];              /* stop_reason (JSON: top-level; SSE: message. or delta.), "" unseen */
	char error_type[48];        /* error.type, "" unseen */
};

struct usage_reader {
	/* Results. */
	struct usage_counts usage; /* counts and model seen so far */
	char stop_reason[32];      /* last stop_reason seen, "" none */
	char error_type[48];       /* error.type of the last SSE `error` event (or of a JSON error body), "" none */
	uint32_t error_events;     /* SSE `error` events */
	uint32_t oversized_events; /* SSE events of interest skipped for being over USAGE_EVENT_MAX */
	uint32_t bad_events;       /* SSE events of interest skipped for invalid JSON */
	const char *problem;       /* NULL while reading; else why the reader stopped (static string, a metric label) */
	enum usage_format format;  /* from Content-Type; USAGE_NONE: nothing is read, and that is no problem */
	enum usage_coding coding;  /* from Content-Encoding */
	size_t mem;                /* bytes allocated now by the parser and inflate */
	size_t mem_peak;           /* most bytes allocated at once */
	/* Private state. */
	int finished;           /* usage_reader_finish ran: further bytes are ignored */
	struct inflater inf;    /* compressed bodies */
	struct usage_sse sse;   /* SSE line parser */
	struct usage_scan scan; /* JSON value being parsed */
};

/* Picks the format from Content-Type (application/json, text/event-stream; parameters ignored) and the coding from
 * Content-Encoding (absent, identity, gzip, x-gzip, deflate). Either header may be NULL. An unsupported coding on a
 * readable format sets `problem` to "content-encoding" at once. */
void usage_reader_init(struct usage_reader *r, const char *content_type, size_t ct_len, const char *content_encoding,
		       size_t ce_len);
/* Reads the next body bytes. Returns 0, or -1 when the reader has given up (`problem` says why: "content-encoding",
 * "inflate", "json", "memory"); it then ignores further input and keeps the results seen so far. Bytes after
 * usage_reader_finish are ignored. */
int usage_reader_feed(struct usage_reader *r, const char *p, size_t n);
/* End of body: takes a last SSE event that had no blank line, completes the JSON value (gives up with "json" if it
 * was cut short; "inflate" if the compressed data did not end) and releases the parser and inflate state. */
void usage_reader_finish(struct usage_reader *r);
/* Releases what the reader holds; results stay readable. Safe twice, and after usage_reader_init alone. */
void usage_reader_free(struct usage_reader *r);

#endif
