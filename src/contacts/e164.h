/* e164.h - phone numbers to E.164 and back to a country.
 *
 * Normalisation accepts what people type into spreadsheets:
 * "+44 20 7946 0958", "0044 20...", "(415) 555-0100" with default country
 * "US", "020 7946 0958" with default country "GB", "tel:+1-415-...".
 */
#ifndef PARLEY_E164_H
#define PARLEY_E164_H

#include <stdbool.h>
#include <stddef.h>

enum { E164_MAXLEN = 16 };   /* '+' and at most 15 digits */

/**
 * Normalise `in` to "+<digits>" in out[E164_MAXLEN + 1].
 * default_country is an ISO 3166-1 alpha-2 code (case-insensitive) used
 * for national numbers, or NULL to require an international form.
 * Returns 0, or EINVAL with *whyp set to a static reason such as
 * "contains letters", "too short", "unknown country code",
 * "national number without a default country".
 */
int e164_normalize(char out[E164_MAXLEN + 1], const char *in,
		   const char *default_country, const char **whyp);

/** True when s is already a valid E.164 string ("+" and 8..15 digits). */
bool e164_valid(const char *s);

/** True when cc is a known ISO 3166-1 alpha-2 code of the table. */
bool e164_country_known(const char *cc);

/**
 * The country of an E.164 number by longest calling-code match (for
 * NANP "+1", by area code where the table knows it; for codes shared by
 * several countries, such as +7 or +44, by leading digits) and a
 * representative IANA time zone for it (for NANP, the area code's zone).
 * A "+1" number whose area code the table does not know (toll-free,
 * non-geographic, newly opened) gives "US" and a NULL time zone: the
 * caller picks its own fallback. Returns 0, ENOENT for an unknown calling
 * code, or EINVAL when e164 is not e164_valid(). Outputs may be NULL and
 * are only written on success.
 */
int e164_country(const char *e164, const char **ccp, const char **tzp);

#endif
