#include "test.h"
#include "speech/pcache.h"

static int16_t *buf(size_t n, int16_t v)
{
	int16_t *b = mem_alloc(n * sizeof(*b), NULL);

	for (size_t i = 0; i < n; i++)
		b[i] = v;
	return b;
}

TEST(hit_miss_and_shared_reference)
{
	struct pcache *pc = NULL;
	struct pcache_stats st;
	int16_t *a = buf(100, 7), *got;
	size_t n = 0;

	CHECK_EQ_INT(pcache_alloc(&pc, 1000), 0);
	CHECK(pcache_get(pc, "espeak|Hello", &n) == NULL);
	CHECK_EQ_INT(pcache_put(pc, "espeak|Hello", a, 100), 0);
	a = mem_deref(a);   /* the cache keeps its own reference */
	got = pcache_get(pc, "espeak|Hello", &n);
	CHECK(got != NULL);
	CHECK_EQ_INT(n, 100);
	CHECK_EQ_INT(got[99], 7);
	pcache_stats(pc, &st);
	CHECK_EQ_INT(st.hits, 1);
	CHECK_EQ_INT(st.misses, 1);
	CHECK_EQ_INT(st.bytes, 200);
	mem_deref(pc);
	CHECK_EQ_INT(got[0], 7);   /* a player's reference outlives the cache */
	mem_deref(got);
}

TEST(least_recently_used_goes_first)
{
	struct pcache *pc = NULL;
	struct pcache_stats st;
	size_t n;
	int16_t *x;

	CHECK_EQ_INT(pcache_alloc(&pc, 1000), 0);   /* 500 samples */
	for (int i = 0; i < 3; i++) {
		char key[8];
		int16_t *b = buf(200, (int16_t)i);
		snprintf(key, sizeof(key), "k%d", i);
		if (i == 2) {   /* touch k0 so k1 is the oldest */
			x = pcache_get(pc, "k0", &n);
			mem_deref(x);
		}
		CHECK_EQ_INT(pcache_put(pc, key, b, 200), 0);
		mem_deref(b);
	}
	pcache_stats(pc, &st);
	CHECK_EQ_INT(st.entries, 2);
	CHECK(st.bytes <= 1000);
	x = pcache_get(pc, "k1", &n);
	CHECK(x == NULL);
	x = pcache_get(pc, "k0", &n);
	CHECK(x != NULL);
	mem_deref(x);
	/* too big to keep: accepted, not kept */
	{
		int16_t *big = buf(600, 1);
		CHECK_EQ_INT(pcache_put(pc, "big", big, 600), 0);
		mem_deref(big);
		CHECK(pcache_get(pc, "big", &n) == NULL);
	}
	mem_deref(pc);
}

TEST_MAIN()
