/* pcache.c - see pcache.h. A list in recency order is enough: prompts
 * are few (one or two per agent). */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "speech/pcache.h"

struct pentry {
	struct le le;
	char *key;
	int16_t *samples;
	size_t n;
};

struct pcache {
	struct list entries;     /* most recently used first */
	size_t max_bytes, bytes;
	uint64_t hits, misses;
};

static void pentry_destructor(void *data)
{
	struct pentry *e = data;

	list_unlink(&e->le);
	mem_deref(e->key);
	mem_deref(e->samples);
}

static void pcache_destructor(void *data)
{
	struct pcache *pc = data;

	list_flush(&pc->entries);
}

int pcache_alloc(struct pcache **pcp, size_t max_bytes)
{
	struct pcache *pc = mem_zalloc(sizeof(*pc), pcache_destructor);

	if (!pc)
		return ENOMEM;
	pc->max_bytes = max_bytes;
	*pcp = pc;
	return 0;
}

static struct pentry *find(const struct pcache *pc, const char *key)
{
	for (struct le *le = pc->entries.head; le; le = le->next) {
		struct pentry *e = le->data;
		if (!strcmp(e->key, key))
			return e;
	}
	return NULL;
}

int16_t *pcache_get(struct pcache *pc, const char *key, size_t *np)
{
	struct pentry *e = pc && key ? find(pc, key) : NULL;

	if (!e) {
		if (pc)
			++pc->misses;
		return NULL;
	}
	++pc->hits;
	list_unlink(&e->le);
	list_prepend(&pc->entries, &e->le, e);
	*np = e->n;
	return mem_ref(e->samples);
}

static void evict(struct pcache *pc)
{
	while (pc->bytes > pc->max_bytes && pc->entries.tail) {
		struct pentry *e = pc->entries.tail->data;
		pc->bytes -= e->n * sizeof(int16_t);
		mem_deref(e);
	}
}

int pcache_put(struct pcache *pc, const char *key, int16_t *samples,
	       size_t n)
{
	struct pentry *e;
	int err;

	if (!pc || !key || !samples)
		return EINVAL;
	if (n * sizeof(int16_t) > pc->max_bytes)
		return 0;   /* too big to keep: spoken, not cached */
	e = find(pc, key);
	if (e) {
		pc->bytes -= e->n * sizeof(int16_t);
		mem_deref(e);
	}
	e = mem_zalloc(sizeof(*e), pentry_destructor);
	if (!e)
		return ENOMEM;
	err = str_dup(&e->key, key);
	if (err) {
		mem_deref(e);
		return err;
	}
	e->samples = mem_ref(samples);
	e->n = n;
	list_prepend(&pc->entries, &e->le, e);
	pc->bytes += n * sizeof(int16_t);
	evict(pc);
	return 0;
}

void pcache_stats(const struct pcache *pc, struct pcache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!pc)
		return;
	st->hits = pc->hits;
	st->misses = pc->misses;
	st->entries = list_count(&pc->entries);
	st->bytes = pc->bytes;
}
