/* request: one HTTP/1.1 request parsed from client bytes with llhttp (strict mode), with every limit enforced
 * while parsing: head bytes, header lines, target length, body size (refused as soon as Content-Length says so),
 * chunk-extension bytes. Pure: no sockets, so the fuzzer drives exactly what the server runs.
 *
 * The parser stops at the end of each request (pipelined bytes stay with the caller); request_next readies it
 * for the next one. Buffers are kept across requests on a connection (one allocation, reused). */
#ifndef AP_REQUEST_H
#define AP_REQUEST_H

#include "buf.h"
#include "http.h"

#include <llhttp.h>
#include <stdint.h>

struct request_limits {
	uint32_t max_header_size; /* head bytes (names and values) */
	uint32_t max_headers;     /* header lines */
	uint32_t max_url_length;  /* request target bytes */
	uint64_t max_body_size;   /* body bytes */
};

enum request_phase { REQ_IDLE, REQ_HEAD, REQ_BODY, REQ_COMPLETE };
enum request_result { REQ_MORE, REQ_DONE, REQ_ERROR };

struct request {
	llhttp_t parser;                  /* strict llhttp, request mode */
	const struct request_limits *lim; /* limits (not owned) */
	enum request_phase phase;         /* where the current request is */
	struct http_hdrs hdrs;            /* headers */
	struct buf url;                   /* request target */
	struct buf body;                  /* body, de-chunked, buffered whole */
	uint64_t content_length;          /* declared length, when has_length */
	size_t chunk_ext;                 /* chunk-extension bytes in the current chunk */
	uint8_t method;                   /* llhttp method */
	unsigned has_length : 1;          /* Content-Length given */
	unsigned chunked : 1;             /* Transfer-Encoding: chunked */
	unsigned http10 : 1;              /* HTTP/1.0 */
	unsigned keepalive : 1;           /* the request allows another one on the connection */
	unsigned want_continue : 1;       /* Expect: 100-continue with a body to come: answer 100 before reading it */
	const char *feed_start;           /* the buffer being parsed (to look one byte back) */
	unsigned field_seen : 1;          /* a header name was seen since the last value ended */
	size_t trailer_size;              /* bytes of chunked trailer fields (dropped, but bounded) */
	struct {
		uint8_t cr;                   /* the last byte was CR */
		uint8_t line_empty;           /* nothing but the line end so far on this line */
		uint8_t started;              /* the request line has begun (leading empty lines are allowed) */
		uint8_t done;                 /* the head's blank line was seen */
	} lf;                             /* head line-end scanner */
	int feed_prev_lf;                 /* the last byte of the previous feed was a line feed */
	/* Set by the caller after request_init (NULL: none): called when a head is complete and well-formed, before any
	 * body byte is taken, any buffer is reserved for it or 100 Continue is due. Returns 0 to go on, or a status to
	 * refuse the request with, its reason written into r->error. */
	int (*gate)(struct request *r, void *arg);
	void *gate_arg;                   /* the gate's argument */
	int status;                       /* REQ_ERROR: the status to answer with (400, 413, 414, 431, 501, 505...) */
	char error[200];                  /* REQ_ERROR: what was wrong, for the client and the log */
};

void request_init(struct request *r, const struct request_limits *lim);
void request_free(struct request *r);
/* Parses up to n bytes; *used tells how many were consumed. REQ_MORE: all taken, more needed. REQ_DONE: a whole
 * request is ready (bytes after it are not consumed). REQ_ERROR: stop; answer r->status and close. */
enum request_result request_feed(struct request *r, const char *p, size_t n, size_t *used);
/* After REQ_DONE: ready the parser for the next request on the connection. */
void request_next(struct request *r);
/* Between requests: gives the body buffer back (a keep-alive connection holds none while idle). */
void request_release_body(struct request *r);
/* Whether the request carries a body (Content-Length, chunked, or a method that always does). */
int request_has_body(const struct request *r);

#endif
