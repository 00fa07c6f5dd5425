/* Calling windows: the zone a contact is called in and the next opening,
 * across days, weekends, overnight windows and a daylight-saving change. */
#include "test.h"
#include "core/util.h"
#include "dialer/window.h"
#include "json/json.h"

static int64_t at(const char *iso)
{
	int64_t ms = 0;

	(void)util_parse_time(&ms, iso);
	return ms;
}

static struct odict *hours_of(const char *cw_json)
{
	struct odict *cw = NULL, *h = NULL;

	if (cw_json && json_parse(&cw, NULL, cw_json, strlen(cw_json), NULL))
		return NULL;
	if (window_hours(&h, cw))
		h = NULL;
	mem_deref(cw);
	return h;
}

TEST(window_default_hours)
{
	struct odict *h = hours_of(NULL);
	const char *ny = "America/New_York";

	CHECK(h != NULL);
	/* Saturday 07:00 EST: opens at 08:00 */
	CHECK_EQ_INT(window_next_open(h, ny, at("2026-11-21T12:00:00Z")),
		     at("2026-11-21T13:00:00Z"));
	/* open: now itself */
	CHECK_EQ_INT(window_next_open(h, ny, at("2026-11-21T15:00:07Z")),
		     at("2026-11-21T15:00:07Z"));
	/* the last minute and the closing minute */
	CHECK_EQ_INT(window_next_open(h, ny, at("2026-11-22T01:59:00Z")),
		     at("2026-11-22T01:59:00Z"));
	CHECK_EQ_INT(window_next_open(h, ny, at("2026-11-22T02:00:00Z")),
		     at("2026-11-22T13:00:00Z"));
	/* in Tokyo (no DST, UTC+9) 08:00 is 23:00 UTC the day before */
	CHECK_EQ_INT(window_next_open(h, "Asia/Tokyo",
				      at("2026-11-21T15:30:00Z")),
		     at("2026-11-21T23:00:00Z"));
	mem_deref(h);
}

TEST(window_weekdays_and_own_zone_ignored)
{
	/* the campaign's zone is only a fallback: hours_of drops it */
	struct odict *h = hours_of("{\"timezone\":\"Asia/Tokyo\",\"windows\":"
		"[{\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],"
		"\"start\":\"09:00\",\"end\":\"17:00\"}]}");

	CHECK(h != NULL);
	CHECK(odict_lookup(h, "timezone") == NULL);
	/* Saturday 10:00 in London: Monday 09:00 */
	CHECK_EQ_INT(window_next_open(h, "Europe/London",
				      at("2026-11-21T10:00:00Z")),
		     at("2026-11-23T09:00:00Z"));
	/* Friday 17:30: Monday */
	CHECK_EQ_INT(window_next_open(h, "Europe/London",
				      at("2026-11-20T17:30:00Z")),
		     at("2026-11-23T09:00:00Z"));
	/* Monday 08:59:30: at 09:00 */
	CHECK_EQ_INT(window_next_open(h, "Europe/London",
				      at("2026-11-23T08:59:30Z")),
		     at("2026-11-23T09:00:00Z"));
	mem_deref(h);
}

TEST(window_daylight_saving)
{
	struct odict *h = hours_of(NULL);
	const char *ny = "America/New_York";

	/* Saturday 22:00 EST; clocks go forward on Sunday 2026-03-08, so
	 * 08:00 is 12:00 UTC, not 13:00 */
	CHECK_EQ_INT(window_next_open(h, ny, at("2026-03-08T03:00:00Z")),
		     at("2026-03-08T12:00:00Z"));
	/* and back on 2026-11-01: 08:00 EST is 13:00 UTC */
	CHECK_EQ_INT(window_next_open(h, ny, at("2026-11-01T03:00:00Z")),
		     at("2026-11-01T13:00:00Z"));
	mem_deref(h);
}

TEST(window_overnight_and_never)
{
	struct odict *h = hours_of("{\"windows\":[{\"days\":[\"fri\"],"
				   "\"start\":\"22:00\",\"end\":\"02:00\"}]}");

	CHECK(h != NULL);
	/* Saturday 01:00 UTC is still Friday's window */
	CHECK_EQ_INT(window_next_open(h, NULL, at("2026-11-21T01:00:00Z")),
		     at("2026-11-21T01:00:00Z"));
	/* Saturday 03:00: next Friday 22:00 */
	CHECK_EQ_INT(window_next_open(h, NULL, at("2026-11-21T03:00:00Z")),
		     at("2026-11-27T22:00:00Z"));
	mem_deref(h);

	h = hours_of("{\"windows\":[{\"days\":[],\"start\":\"09:00\","
		     "\"end\":\"17:00\"}]}");
	CHECK(h != NULL);
	CHECK_EQ_INT(window_next_open(h, NULL, at("2026-11-21T03:00:00Z")),
		     -1);
	mem_deref(h);
}

TEST(window_zone_precedence)
{
	CHECK_STR(window_zone("Europe/Paris", "+81312345678", "UTC"),
		  "Europe/Paris");
	/* an unknown zone falls through to the number's */
	CHECK_STR(window_zone("Mars/Olympus", "+81312345678", NULL),
		  "Asia/Tokyo");
	CHECK_STR(window_zone(NULL, "+12125550100", "Asia/Tokyo"),
		  "America/New_York");
	/* a toll-free number has no zone: the campaign's */
	CHECK_STR(window_zone("", "+18005550100", "Europe/Berlin"),
		  "Europe/Berlin");
	CHECK(window_zone(NULL, "+18005550100", NULL) == NULL);
}

TEST_MAIN()
