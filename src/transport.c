#include "transport.h"

#include <stdio.h>
#include <string.h>

void transport_buffers_init(struct transport *t)
{
	buf_init(&t->in, 256 * 1024);
	buf_init(&t->out, 0);
	t->lent = NULL;
	t->lent_len = 0;
	t->eof = 0;
}

void transport_lend(struct transport *t, const char *p, size_t n)
{
	t->lent = p;
	t->lent_len = n;
}

int transport_keep(struct transport *t)
{
	int rc = t->lent_len ? buf_append(&t->in, t->lent, t->lent_len) : 0;
	t->lent = NULL;
	t->lent_len = 0;
	if (buf_size(&t->in) == 0)
		buf_free(&t->in); /* a pass usually takes everything: idle connections keep no input buffer */
	return rc;
}

size_t transport_take(struct transport *t, void *p, size_t n)
{
	int kept = buf_size(&t->in) > 0; /* bytes kept from an earlier pass come before the lent ones */
	size_t have = kept ? buf_size(&t->in) : t->lent_len;
	if (n > have)
		n = have;
	if (!n)
		return 0;
	memcpy(p, kept ? buf_ptr(&t->in) : t->lent, n);
	if (kept) {
		buf_consume(&t->in, n);
	} else {
		t->lent += n;
		t->lent_len -= n;
	}
	return n;
}

/* ---- plain TCP ------------------------------------------------------------------------------------------------- */

static int plain_handshake(struct transport *t) { return (void)t, 0; }

static int plain_read(struct transport *t, char *p, size_t n)
{
	size_t got = transport_take(t, p, n > (1u << 30) ? (1u << 30) : n);
	return got ? (int)got : t->eof ? 0 : TRANSPORT_AGAIN;
}

static int plain_write(struct transport *t, const char *p, size_t n)
{
	if (n > (1u << 30))
		n = 1u << 30;
	return buf_append(&t->out, p, n) ? -1 : (int)n;
}

static int plain_none(const struct transport *t) { return (void)t, 0; }
static int plain_pending(struct transport *t) { return (void)t, 0; }
static void plain_nothing(struct transport *t) { (void)t; }
static const char *plain_name(const struct transport *t) { return (void)t, NULL; }

static void plain_describe(struct transport *t, int rc, char *out, size_t len)
{
	(void)t, (void)rc;
	snprintf(out, len, "%s", "out of memory");
}

static void plain_free(struct transport *t)
{
	buf_free(&t->in);
	buf_free(&t->out);
}

static const struct transport_ops plain_ops = {
	.handshake = plain_handshake,
	.read = plain_read,
	.write = plain_write,
	.pending = plain_pending,
	.close_notify = plain_nothing,
	.describe = plain_describe,
	.resume = plain_nothing,
	.full_handshake = plain_none,
	.late_session = plain_none,
	.version = plain_name,
	.cipher = plain_name,
	.free = plain_free,
};

void transport_plain_init(struct transport *t)
{
	t->ops = &plain_ops;
	transport_buffers_init(t);
}
