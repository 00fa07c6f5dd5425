/* hours.c - see hours.h. */
#include <string.h>
#include <re.h>
#include "core/util.h"
#include "tel/hours.h"

static int minutes(const char *hhmm)
{
	if (!util_hhmm_valid(hhmm))
		return -1;
	return ((hhmm[0] - '0') * 10 + (hhmm[1] - '0')) * 60 +
	       (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
}

static bool has_day(const struct odict *days, int wday)
{
	static const char *names[] = {"mon", "tue", "wed", "thu", "fri",
				      "sat", "sun"};

	for (struct le *le = days->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;
		if (e->type == ODICT_STRING && !strcmp(e->u.str, names[wday]))
			return true;
	}
	return false;
}

bool hours_open(const struct odict *hours, const char *default_tz,
		int64_t ms)
{
	const struct odict_entry *w;
	const char *tz;
	int wday, minute;

	if (!hours)
		return true;
	w = odict_lookup(hours, "windows");
	if (!w || w->type != ODICT_ARRAY || !w->u.odict->lst.head)
		return true;
	tz = odict_string(hours, "timezone");
	if (!tz)
		tz = default_tz;
	if (util_local_time(tz, ms, &wday, &minute))
		return true;   /* validated on write; never lock callers out */

	for (struct le *le = w->u.odict->lst.head; le; le = le->next) {
		const struct odict_entry *win = le->data;
		const struct odict_entry *days;
		int start, end;

		if (win->type != ODICT_OBJECT)
			continue;
		days = odict_lookup(win->u.odict, "days");
		start = minutes(odict_string(win->u.odict, "start"));
		end = minutes(odict_string(win->u.odict, "end"));
		if (!days || days->type != ODICT_ARRAY || start < 0 || end < 0)
			continue;
		if (start <= end) {
			if (has_day(days->u.odict, wday) && minute >= start &&
			    minute < end)
				return true;
		}
		else {
			/* overnight: today from start, or yesterday's window
			 * until end */
			if (has_day(days->u.odict, wday) && minute >= start)
				return true;
			if (has_day(days->u.odict, (wday + 6) % 7) &&
			    minute < end)
				return true;
		}
	}
	return false;
}
