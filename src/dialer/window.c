/* window.c - see window.h.
 *
 * The next opening is found from the local weekday and minute now: each
 * window's start on each of its days is a candidate, turned into an
 * instant with the zone's current UTC offset. A daylight-saving change in
 * between can make that instant an hour off, so the candidate is checked
 * with hours_open() and moved: forward in quarter hours until open, then
 * back minute by minute to where the opening really is. */
#include <string.h>
#include <re.h>
#include "contacts/e164.h"
#include "core/util.h"
#include "dialer/window.h"
#include "json/json.h"
#include "tel/hours.h"

enum {
	MIN_MS = 60 * 1000,
	DAY_MIN = 24 * 60,
	WEEK_MIN = 7 * DAY_MIN,
	STEP_MS = 15 * MIN_MS,
	HORIZON_MS = 8 * DAY_MIN * MIN_MS,
};

int window_hours(struct odict **hoursp, const struct odict *cw)
{
	static const char def[] =
		"{\"windows\":[{\"days\":[\"mon\",\"tue\",\"wed\",\"thu\","
		"\"fri\",\"sat\",\"sun\"],\"start\":\"08:00\","
		"\"end\":\"21:00\"}]}";
	const struct odict_entry *w = cw ? odict_lookup(cw, "windows") : NULL;
	struct odict *h = NULL;
	int err;

	if (w && w->type == ODICT_ARRAY && w->u.odict->lst.head) {
		err = odict_alloc(&h, 4);
		if (!err)
			err = odict_entry_add(h, "windows", ODICT_ARRAY,
					      w->u.odict);
	}
	else {
		err = json_parse(&h, NULL, def, strlen(def), NULL);
	}
	if (err) {
		mem_deref(h);
		return err;
	}
	*hoursp = h;
	return 0;
}

const char *window_zone(const char *contact_tz, const char *phone,
			const char *campaign_tz)
{
	const char *tz = NULL;

	if (contact_tz && *contact_tz && util_tz_valid(contact_tz))
		return contact_tz;
	if (phone && !e164_country(phone, NULL, &tz) && tz)
		return tz;
	if (campaign_tz && *campaign_tz && util_tz_valid(campaign_tz))
		return campaign_tz;
	return NULL;
}

static int hhmm(const char *s)
{
	if (!s || !util_hhmm_valid(s))
		return -1;
	return ((s[0] - '0') * 10 + (s[1] - '0')) * 60 +
	       (s[3] - '0') * 10 + (s[4] - '0');
}

static int day_index(const char *name)
{
	static const char *const names[] = {"mon", "tue", "wed", "thu", "fri",
					    "sat", "sun"};

	for (int i = 0; name && i < 7; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

/* the nearest window start after now, by the local clock now; -1: none */
static int64_t first_candidate(const struct odict *hours, int wday,
			       int minute, int64_t now_ms)
{
	const struct odict_entry *w = odict_lookup(hours, "windows");
	int64_t best = -1, base = now_ms - now_ms % MIN_MS;

	if (!w || w->type != ODICT_ARRAY)
		return -1;
	for (struct le *le = w->u.odict->lst.head; le; le = le->next) {
		const struct odict_entry *win = le->data;
		const struct odict_entry *days;
		int start;

		if (win->type != ODICT_OBJECT)
			continue;
		days = odict_lookup(win->u.odict, "days");
		start = hhmm(odict_string(win->u.odict, "start"));
		if (!days || days->type != ODICT_ARRAY || start < 0)
			continue;
		for (struct le *dl = days->u.odict->lst.head; dl;
		     dl = dl->next) {
			const struct odict_entry *d = dl->data;
			int di = d->type == ODICT_STRING ?
				day_index(d->u.str) : -1;
			int64_t delta, cand;

			if (di < 0)
				continue;
			delta = (int64_t)((di - wday + 7) % 7) * DAY_MIN +
				start - minute;
			if (delta <= 0)
				delta += WEEK_MIN;
			cand = base + delta * MIN_MS;
			if (best < 0 || cand < best)
				best = cand;
		}
	}
	return best;
}

int64_t window_next_open(const struct odict *hours, const char *tz,
			 int64_t now_ms)
{
	int64_t t;
	int wday, minute;

	if (hours_open(hours, tz, now_ms))
		return now_ms;
	if (util_local_time(tz, now_ms, &wday, &minute))
		return now_ms;   /* as hours_open: never lock a task out */
	t = first_candidate(hours, wday, minute, now_ms);
	if (t < 0)
		return -1;
	while (!hours_open(hours, tz, t)) {
		t += STEP_MS;
		if (t > now_ms + HORIZON_MS)
			return -1;
	}
	for (int i = 0; i < 120 && t - MIN_MS > now_ms &&
	     hours_open(hours, tz, t - MIN_MS); i++)
		t -= MIN_MS;
	return t;
}
