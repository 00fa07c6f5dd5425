/* pcache.h - synthesised prompts kept for reuse. Fixed texts (greetings,
 * out-of-hours messages) are spoken by many calls: synthesise each once.
 *
 * Loop thread only. Entries are mem-allocated int16 buffers shared by
 * reference: a call playing one holds a reference, so eviction never pulls
 * audio from under it. Least recently used entries go first when the
 * cache holds more than its byte budget.
 */
#ifndef PARLEY_PCACHE_H
#define PARLEY_PCACHE_H

#include <stddef.h>
#include <stdint.h>

struct pcache;

int pcache_alloc(struct pcache **pcp, size_t max_bytes);

/** A new reference to the samples kept under key (*np of them), or NULL. */
int16_t *pcache_get(struct pcache *pc, const char *key, size_t *np);

/** Keep samples (a reference is taken) under key. */
int pcache_put(struct pcache *pc, const char *key, int16_t *samples,
	       size_t n);

struct pcache_stats {
	uint64_t hits, misses;
	size_t entries, bytes;
};
void pcache_stats(const struct pcache *pc, struct pcache_stats *st);

#endif
