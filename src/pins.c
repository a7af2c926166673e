#include "pins.h"

#include <stdlib.h>
#include <string.h>

int pins_init(struct pins *p, uint32_t capacity, uint64_t idle_ms, uint64_t seed)
{
	memset(p, 0, sizeof *p);
	p->head = p->tail = p->free_list = -1;
	p->idle_ms = idle_ms;
	p->seed = seed;
	uint32_t buckets = 1;
	while (buckets < capacity * 2 && buckets < (1u << 30))
		buckets <<= 1;
	p->e = calloc(capacity, sizeof *p->e);
	p->bucket = malloc(buckets * sizeof *p->bucket);
	if (!p->e || !p->bucket || !capacity) {
		pins_free(p);
		return capacity ? -1 : 0;
	}
	memset(p->bucket, 0xff, buckets * sizeof *p->bucket);
	p->mask = buckets - 1;
	p->cap = capacity;
	for (uint32_t i = 0; i < capacity; i++)
		p->e[i].chain = i + 1 < capacity ? (int32_t)(i + 1) : -1;
	p->free_list = 0;
	return 0;
}

void pins_free(struct pins *p)
{
	free(p->e);
	free(p->bucket);
	p->e = NULL;
	p->bucket = NULL;
	p->cap = p->n = 0;
}

uint64_t pins_key(const struct pins *p, const char *s, size_t n)
{
	/* FNV-1a over the seed and the key, then a final mix (splitmix64) so nearby keys spread over the buckets. */
	uint64_t h = 0xcbf29ce484222325ull ^ p->seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static void lru_unlink(struct pins *p, int32_t i)
{
	struct pin_entry *e = &p->e[i];
	if (e->lru_prev >= 0)
		p->e[e->lru_prev].lru_next = e->lru_next;
	else
		p->head = e->lru_next;
	if (e->lru_next >= 0)
		p->e[e->lru_next].lru_prev = e->lru_prev;
	else
		p->tail = e->lru_prev;
}

static void lru_push_front(struct pins *p, int32_t i)
{
	struct pin_entry *e = &p->e[i];
	e->lru_prev = -1;
	e->lru_next = p->head;
	if (p->head >= 0)
		p->e[p->head].lru_prev = i;
	p->head = i;
	if (p->tail < 0)
		p->tail = i;
}

static int32_t *slot_of(struct pins *p, uint64_t key)
{
	int32_t *s = &p->bucket[key & p->mask];
	while (*s >= 0 && p->e[*s].key != key)
		s = &p->e[*s].chain;
	return s;
}

static void drop(struct pins *p, int32_t i)
{
	int32_t *s = slot_of(p, p->e[i].key);
	*s = p->e[i].chain;
	lru_unlink(p, i);
	p->e[i].chain = p->free_list;
	p->free_list = i;
	p->n--;
}

static int idle(const struct pins *p, int32_t i, int64_t now_ms)
{
	return now_ms - p->e[i].used_ms >= (int64_t)p->idle_ms;
}

int pins_get(struct pins *p, uint64_t key, int64_t now_ms)
{
	if (!p->cap)
		return -1;
	int32_t i = *slot_of(p, key);
	if (i < 0)
		return -1;
	if (idle(p, i, now_ms)) {
		drop(p, i);
		p->expired++;
		return -1;
	}
	p->e[i].used_ms = now_ms;
	lru_unlink(p, i);
	lru_push_front(p, i);
	return p->e[i].account;
}

void pins_put(struct pins *p, uint64_t key, int account, int64_t now_ms)
{
	if (!p->cap)
		return;
	int32_t i = *slot_of(p, key);
	if (i >= 0) {
		lru_unlink(p, i);
	} else {
		(void)pins_sweep(p, now_ms);
		if (p->free_list < 0) {
			drop(p, p->tail);
			p->evicted++;
		}
		i = p->free_list;
		p->free_list = p->e[i].chain;
		p->e[i].key = key;
		int32_t *s = &p->bucket[key & p->mask];
		p->e[i].chain = *s;
		*s = i;
		p->n++;
	}
	p->e[i].account = account;
	p->e[i].used_ms = now_ms;
	lru_push_front(p, i);
}

uint32_t pins_sweep(struct pins *p, int64_t now_ms)
{
	while (p->tail >= 0 && idle(p, p->tail, now_ms)) {
		drop(p, p->tail);
		p->expired++;
	}
	return p->n;
}
