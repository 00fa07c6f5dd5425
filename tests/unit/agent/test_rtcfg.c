#include "test.h"
#include <unistd.h>
#include "agent/rtcfg.h"
#include "core/metrics.h"

struct store {
	int fail;       /* errno to return, 0 to succeed */
	int calls;
	const char *json;
};

static int load(char **jsonp, int64_t tenant, int64_t agent, void *arg)
{
	struct store *s = arg;

	(void)tenant;
	(void)agent;
	++s->calls;
	if (s->fail)
		return s->fail;
	return str_dup(jsonp, s->json);
}

static const char *get(struct rtcfg_cache *c, int64_t tenant, int64_t id,
		       struct store *s, enum rtcfg_source *src, char **json)
{
	*json = mem_deref(*json);
	return rtcfg_get(c, tenant, id, load, s, json, src) ? NULL : *json;
}

TEST(fresh_store_stale_default)
{
	struct metrics *m = NULL;
	struct rtcfg_cache *c = NULL;
	struct store s = {0, 0, "{\"v\":1}"};
	enum rtcfg_source src;
	char *json = NULL;

	CHECK_EQ_INT(metrics_alloc(&m), 0);
	CHECK_EQ_INT(rtcfg_alloc(&c, 60, 3600, "{\"default\":true}", m), 0);

	CHECK_STR(get(c, 1, 7, &s, &src, &json), "{\"v\":1}");
	CHECK_EQ_INT(src, RTCFG_STORE);
	CHECK_STR(get(c, 1, 7, &s, &src, &json), "{\"v\":1}");
	CHECK_EQ_INT(src, RTCFG_HIT);
	CHECK_EQ_INT(s.calls, 1);

	/* invalidated: the store again, with the new value */
	s.json = "{\"v\":2}";
	rtcfg_invalidate(c, 7);
	CHECK_STR(get(c, 1, 7, &s, &src, &json), "{\"v\":2}");
	CHECK_EQ_INT(src, RTCFG_STORE);

	/* store down: invalidated entry is served stale */
	rtcfg_invalidate(c, 7);
	s.fail = ENOTCONN;
	CHECK_STR(get(c, 1, 7, &s, &src, &json), "{\"v\":2}");
	CHECK_EQ_INT(src, RTCFG_STALE);
	/* never loaded: defaults */
	CHECK_STR(get(c, 1, 8, &s, &src, &json), "{\"default\":true}");
	CHECK_EQ_INT(src, RTCFG_DEFAULT);
	/* another tenant never sees tenant 1's entry */
	CHECK_STR(get(c, 2, 7, &s, &src, &json), "{\"default\":true}");

	/* the store says the agent is gone: ENOENT, not stale */
	s.fail = ENOENT;
	CHECK(get(c, 1, 7, &s, &src, &json) == NULL);

	CHECK_EQ_INT(metrics_get(m, M_RTCFG_HIT), 1);
	CHECK_EQ_INT(metrics_get(m, M_RTCFG_MISS), 2);
	CHECK_EQ_INT(metrics_get(m, M_RTCFG_STALE), 1);
	CHECK_EQ_INT(metrics_get(m, M_RTCFG_DEFAULT), 2);
	CHECK_EQ_INT(rtcfg_count(c), 1);

	mem_deref(json);
	mem_deref(c);
	mem_deref(m);
}

TEST(ttl_zero_always_loads)
{
	struct rtcfg_cache *c = NULL;
	struct store s = {0, 0, "{}"};
	enum rtcfg_source src;
	char *json = NULL;

	CHECK_EQ_INT(rtcfg_alloc(&c, 0, 0, "{}", NULL), 0);
	get(c, 1, 1, &s, &src, &json);
	usleep(2000);
	get(c, 1, 1, &s, &src, &json);
	CHECK_EQ_INT(src, RTCFG_STORE);
	CHECK_EQ_INT(s.calls, 2);
	mem_deref(json);
	mem_deref(c);
}

/* an update (invalidation) lands while the old row is being read */
static struct rtcfg_cache *racing_cache;

static int load_racing(char **jsonp, int64_t tenant, int64_t agent, void *arg)
{
	struct store *s = arg;
	int err = load(jsonp, tenant, agent, arg);

	if (s->calls == 1)
		rtcfg_invalidate(racing_cache, agent);
	return err;
}

TEST(load_overlapping_an_update_is_not_fresh)
{
	struct store s = {0, 0, "{\"v\":\"old\"}"};
	enum rtcfg_source src;
	char *json = NULL;

	CHECK_EQ_INT(rtcfg_alloc(&racing_cache, 60, 60, "{}", NULL), 0);
	CHECK_EQ_INT(rtcfg_get(racing_cache, 1, 3, load_racing, &s, &json, &src),
		     0);
	CHECK_EQ_INT(src, RTCFG_STORE);
	json = mem_deref(json);
	s.json = "{\"v\":\"new\"}";
	CHECK_EQ_INT(rtcfg_get(racing_cache, 1, 3, load_racing, &s, &json, &src),
		     0);
	CHECK_EQ_INT(src, RTCFG_STORE);     /* not a stale hit */
	CHECK_STR(json, "{\"v\":\"new\"}");
	mem_deref(json);
	racing_cache = mem_deref(racing_cache);
}

TEST_MAIN()
