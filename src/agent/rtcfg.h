/* rtcfg.h - the agent runtime-config cache (seed 002's order).
 *
 * A call needs its agent's resolved configuration at once, even when the
 * store is slow or down. Lookups go: fresh cache entry (hit) -> the store
 * (miss; the entry is refreshed) -> a stale entry no older than the stale
 * limit (stale) -> built-in defaults (default). Updates invalidate the
 * entry. Thread-safe; entries are JSON text copied out under a lock, so
 * no object is shared between threads.
 */
#ifndef PARLEY_RTCFG_H
#define PARLEY_RTCFG_H

#include <stdint.h>

struct metrics;
struct rtcfg_cache;

enum rtcfg_source { RTCFG_HIT, RTCFG_STORE, RTCFG_STALE, RTCFG_DEFAULT };

/**
 * Load the agent's config from the store as JSON text (mem-allocated).
 * Returns 0, ENOENT (no such agent for this tenant) or another error
 * (store unreachable).
 */
typedef int (rtcfg_load_h)(char **jsonp, int64_t tenant_id, int64_t agent_id,
			   void *arg);

int rtcfg_alloc(struct rtcfg_cache **cachep, uint32_t ttl_s,
		uint32_t stale_s, const char *defaults_json,
		struct metrics *metrics);

/**
 * The config of agent_id for tenant_id: *jsonp (mem-allocated copy) and
 * where it came from. ENOENT when the store says there is no such agent.
 */
int rtcfg_get(struct rtcfg_cache *cache, int64_t tenant_id, int64_t agent_id,
	      rtcfg_load_h *loadh, void *arg, char **jsonp,
	      enum rtcfg_source *srcp);

void rtcfg_invalidate(struct rtcfg_cache *cache, int64_t agent_id);
unsigned rtcfg_count(struct rtcfg_cache *cache);
const char *rtcfg_source_name(enum rtcfg_source src);

#endif
