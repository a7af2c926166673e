/* pins: which account each conversation runs on, so its prompt cache (kept per account upstream) survives.
 *
 * A bounded table of session key -> account index: least recently used entries make room for new ones, and an
 * entry idle longer than the idle timeout no longer counts (and is dropped as it is met). Keys are hashed (64-bit,
 * seeded per process) and only the hash is kept: a conversation's id never stays in memory after its request.
 * Pure but for the allocation at init: times are passed in. */
#ifndef AP_PINS_H
#define AP_PINS_H

#include <stddef.h>
#include <stdint.h>

struct pin_entry {
	uint64_t key;      /* hash of the session key */
	int64_t used_ms;   /* last use */
	int32_t account;   /* account index */
	int32_t lru_prev;  /* towards the most recently used, -1 none */
	int32_t lru_next;  /* towards the least recently used, -1 none */
	int32_t chain;     /* next entry in the same hash bucket, -1 none */
};

struct pins {
	struct pin_entry *e; /* capacity entries */
	int32_t *bucket;     /* hash buckets (power of two), -1 empty */
	uint32_t mask;       /* buckets - 1 */
	uint32_t cap;        /* entries at most */
	uint32_t n;          /* entries used (some may be idle past the timeout until met) */
	int32_t head, tail;  /* most and least recently used */
	int32_t free_list;   /* unused entries, chained through `chain` */
	uint64_t idle_ms;    /* idle timeout */
	uint64_t seed;       /* hash seed */
	uint64_t evicted;    /* entries dropped to make room */
	uint64_t expired;    /* entries dropped for idleness */
};

/* Returns 0, or -1 when out of memory (the table then pins nothing: lookups miss, puts do nothing). */
int pins_init(struct pins *p, uint32_t capacity, uint64_t idle_ms, uint64_t seed);
void pins_free(struct pins *p);
/* The hash of a session key (what the other calls take). */
uint64_t pins_key(const struct pins *p, const char *s, size_t n);
/* The account a conversation is pinned to (its entry becomes the most recently used), or -1. */
int pins_get(struct pins *p, uint64_t key, int64_t now_ms);
/* Pins a conversation to an account (replacing a pin it had). */
void pins_put(struct pins *p, uint64_t key, int account, int64_t now_ms);
/* Drops entries idle past the timeout; returns how many are left (the gauge). */
uint32_t pins_sweep(struct pins *p, int64_t now_ms);

#endif
