/* hours.h - weekly opening hours ({"timezone":..., "windows":[{"days":
 * ["mon",...],"start":"09:00","end":"17:00"}]}), as used by an agent's
 * business hours and a campaign's calling window. */
#ifndef PARLEY_HOURS_H
#define PARLEY_HOURS_H

#include <stdbool.h>
#include <stdint.h>

struct odict;

/**
 * Whether the moment `ms` lies inside one of the windows, in the hours'
 * time zone (or default_tz, or UTC). No windows at all means always open.
 * A window whose end is before its start runs past midnight.
 */
bool hours_open(const struct odict *hours, const char *default_tz,
		int64_t ms);

#endif
