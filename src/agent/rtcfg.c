/* rtcfg.c - see rtcfg.h. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <re.h>
#include "agent/rtcfg.h"
#include "core/metrics.h"
#include "core/util.h"

struct entry {
	struct le he;
	int64_t agent_id;
	int64_t tenant_id;
	int64_t loaded_ms;
	bool valid;            /* false after invalidation: never fresh */
	char *json;
};

struct rtcfg_cache {
	pthread_mutex_t mtx;
	struct hash *ht;       /* LOCK: mtx */
	unsigned count;        /* LOCK: mtx */
	uint64_t invalidations;  /* LOCK: mtx; a load that overlaps one may
				  * have read the old row */
	int64_t ttl_ms, stale_ms;
	char *defaults;
	struct metrics *metrics;
};

static void entry_destructor(void *data)
{
	struct entry *e = data;

	hash_unlink(&e->he);
	mem_deref(e->json);
}

static bool id_cmp(struct le *le, void *arg)
{
	const struct entry *e = le->data;

	return e->agent_id == *(int64_t *)arg;
}

static struct entry *lookup(struct rtcfg_cache *c, int64_t agent_id)
{
	struct le *le = hash_lookup(c->ht, (uint32_t)agent_id, id_cmp,
				    &agent_id);

	return le ? le->data : NULL;
}

static bool flush_h(struct le *le, void *arg)
{
	(void)arg;
	mem_deref(le->data);
	return false;
}

static void cache_destructor(void *data)
{
	struct rtcfg_cache *c = data;

	hash_apply(c->ht, flush_h, NULL);
	mem_deref(c->ht);
	mem_deref(c->defaults);
	pthread_mutex_destroy(&c->mtx);
}

int rtcfg_alloc(struct rtcfg_cache **cachep, uint32_t ttl_s,
		uint32_t stale_s, const char *defaults_json,
		struct metrics *metrics)
{
	struct rtcfg_cache *c;
	int err;

	c = mem_zalloc(sizeof(*c), cache_destructor);
	if (!c)
		return ENOMEM;
	pthread_mutex_init(&c->mtx, NULL);
	c->ttl_ms   = (int64_t)ttl_s * 1000;
	c->stale_ms = (int64_t)stale_s * 1000;
	c->metrics  = metrics;
	err = hash_alloc(&c->ht, 256);
	if (!err)
		err = str_dup(&c->defaults, defaults_json);
	if (err)
		mem_deref(c);
	else
		*cachep = c;
	return err;
}

/* copy of an entry's JSON if it matches the tenant and age limit */
static int take(struct rtcfg_cache *c, int64_t tenant_id, int64_t agent_id,
		int64_t max_age, bool need_valid, char **jsonp)
{
	struct entry *e;
	int err = ENOENT;

	pthread_mutex_lock(&c->mtx);
	e = lookup(c, agent_id);
	if (e && e->tenant_id == tenant_id && (e->valid || !need_valid) &&
	    util_now_ms() - e->loaded_ms <= max_age)
		err = str_dup(jsonp, e->json);
	pthread_mutex_unlock(&c->mtx);
	return err;
}

static uint64_t invalidations(struct rtcfg_cache *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->mtx);
	n = c->invalidations;
	pthread_mutex_unlock(&c->mtx);
	return n;
}

/* keep what was loaded; it is fresh only if no invalidation happened
 * while it was being read (else it may predate an update) */
static void store(struct rtcfg_cache *c, int64_t tenant_id, int64_t agent_id,
		  const char *json, uint64_t seen)
{
	struct entry *e;

	pthread_mutex_lock(&c->mtx);
	e = lookup(c, agent_id);
	if (!e) {
		e = mem_zalloc(sizeof(*e), entry_destructor);
		if (e) {
			e->agent_id = agent_id;
			hash_append(c->ht, (uint32_t)agent_id, &e->he, e);
			++c->count;
		}
	}
	if (e) {
		e->json = mem_deref(e->json);
		if (str_dup(&e->json, json)) {
			mem_deref(e);
			--c->count;
		}
		else {
			e->tenant_id = tenant_id;
			e->loaded_ms = util_now_ms();
			e->valid = c->invalidations == seen;
		}
	}
	pthread_mutex_unlock(&c->mtx);
}

int rtcfg_get(struct rtcfg_cache *c, int64_t tenant_id, int64_t agent_id,
	      rtcfg_load_h *loadh, void *arg, char **jsonp,
	      enum rtcfg_source *srcp)
{
	char *json = NULL;
	enum rtcfg_source src;
	uint64_t seen;
	int err;

	if (!c || !loadh || !jsonp)
		return EINVAL;

	if (!take(c, tenant_id, agent_id, c->ttl_ms, true, jsonp)) {
		src = RTCFG_HIT;
		goto out;
	}

	seen = invalidations(c);
	err = loadh(&json, tenant_id, agent_id, arg);
	if (!err) {
		store(c, tenant_id, agent_id, json, seen);
		*jsonp = json;
		src = RTCFG_STORE;
		goto out;
	}
	if (err == ENOENT) {
		/* only this tenant's entry: another tenant's id says nothing */
		pthread_mutex_lock(&c->mtx);
		struct entry *e = lookup(c, agent_id);
		if (e && e->tenant_id == tenant_id)
			e->valid = false;
		pthread_mutex_unlock(&c->mtx);
		return ENOENT;
	}

	if (!take(c, tenant_id, agent_id, c->stale_ms, false, jsonp)) {
		src = RTCFG_STALE;
		goto out;
	}
	err = str_dup(jsonp, c->defaults);
	if (err)
		return err;
	src = RTCFG_DEFAULT;

 out:
	metrics_inc(c->metrics, (enum metric_id)(M_RTCFG_HIT + src));
	if (srcp)
		*srcp = src;
	return 0;
}

void rtcfg_invalidate(struct rtcfg_cache *c, int64_t agent_id)
{
	struct entry *e;

	if (!c)
		return;
	pthread_mutex_lock(&c->mtx);
	++c->invalidations;
	e = lookup(c, agent_id);
	if (e)
		e->valid = false;
	pthread_mutex_unlock(&c->mtx);
}

unsigned rtcfg_count(struct rtcfg_cache *c)
{
	unsigned n;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->mtx);
	n = c->count;
	pthread_mutex_unlock(&c->mtx);
	return n;
}

const char *rtcfg_source_name(enum rtcfg_source src)
{
	static const char *names[] = {"cache", "store", "stale_cache",
				      "defaults"};

	return src <= RTCFG_DEFAULT ? names[src] : "?";
}
