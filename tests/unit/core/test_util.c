#include "test.h"
#include "core/util.h"

TEST(parse_time_forms)
{
	int64_t ms;

	CHECK_EQ_INT(util_parse_time(&ms, "1970-01-01T00:00:00Z"), 0);
	CHECK_EQ_INT(ms, 0);
	CHECK_EQ_INT(util_parse_time(&ms, "2026-11-21T01:40:54.123Z"), 0);
	CHECK_EQ_INT(ms, 1795225254123LL);
	CHECK_EQ_INT(util_parse_time(&ms, "2026-11-21T02:40:54.1+01:00"), 0);
	CHECK_EQ_INT(ms, 1795225254100LL);
	CHECK_EQ_INT(util_parse_time(&ms, "2026-11-21"), 0);
	CHECK_EQ_INT(ms, 1795219200000LL);
}

TEST(parse_time_rejects)
{
	int64_t ms;
	const char *bad[] = {"", "2026", "2026-13-01", "2026-02-30",
			     "2026-11-21T25:00:00Z", "2026-11-21T01:40:54",
			     "2026-11-21T01:40:54Zjunk", "2026-11-21T01:40:54.Z",
			     "2026-11-21T01:40:54+0100", "x026-11-21"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECK(util_parse_time(&ms, bad[i]) == EINVAL);
}

TEST(iso8601_round_trip)
{
	char buf[32];
	int64_t ms;

	util_iso8601(buf, 1795225254123LL);
	CHECK_STR(buf, "2026-11-21T01:40:54.123Z");
	CHECK_EQ_INT(util_parse_time(&ms, buf), 0);
	CHECK_EQ_INT(ms, 1795225254123LL);
}

TEST(sha256_and_hex)
{
	char out[65];

	util_sha256_hex(out, "abc", 3);
	CHECK_STR(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(util_ct_equal("abc", "abc", 3));
	CHECK(!util_ct_equal("abc", "abd", 3));
}

TEST(timezones_and_hours)
{
	CHECK(util_tz_valid("Europe/London"));
	CHECK(util_tz_valid("America/Argentina/Buenos_Aires"));
	CHECK(util_tz_valid("UTC"));
	CHECK(!util_tz_valid("Mars/Olympus"));
	CHECK(!util_tz_valid("../../etc/passwd"));
	CHECK(!util_tz_valid("/etc/passwd"));
	CHECK(!util_tz_valid("Europe"));   /* a directory */
	CHECK(util_hhmm_valid("00:00"));
	CHECK(util_hhmm_valid("23:59"));
	CHECK(util_hhmm_valid("24:00"));
	CHECK(!util_hhmm_valid("24:01"));
	CHECK(!util_hhmm_valid("9:00"));
	CHECK(!util_hhmm_valid("12:60"));
}

TEST(random_differs)
{
	uint8_t a[16], b[16];

	CHECK_EQ_INT(util_random(a, sizeof(a)), 0);
	CHECK_EQ_INT(util_random(b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

TEST_MAIN()
