/* window.h - calling windows: may a contact be called now, and if not,
 * when next? Open and closed are decided by hours_open() (tel/hours.h,
 * the same code as an agent's business hours); this adds the zone a
 * contact is called in and the search for the next opening. */
#ifndef PARLEY_DIALER_WINDOW_H
#define PARLEY_DIALER_WINDOW_H

#include <stdint.h>

struct odict;

/**
 * The hours a campaign calls in: the "windows" of a calling_window
 * object (cw may be NULL), or when there are none 08:00-21:00 every
 * day. The result holds no time zone: the caller passes the task's.
 */
int window_hours(struct odict **hoursp, const struct odict *cw);

/**
 * The zone a contact is called in: its own (when valid), else its
 * number's (e164_country()), else the campaign's (may be NULL: UTC).
 */
const char *window_zone(const char *contact_tz, const char *phone,
			const char *campaign_tz);

/**
 * now_ms when the hours are open then; else the next moment they open
 * (to the minute); -1 when they never do (no day in any window).
 */
int64_t window_next_open(const struct odict *hours, const char *tz,
			 int64_t now_ms);

#endif
