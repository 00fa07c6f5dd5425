/* fuzz_e164.c - libFuzzer target for src/contacts/e164.c.
 *
 * The first input byte picks the default country (none, common ones, a
 * lower-case one, unknown ones); the rest, cut at the first NUL, is the
 * number. Properties checked (abort() on violation), beyond "does not
 * crash":
 *  - e164_normalize returns 0 or EINVAL; on EINVAL a non-empty reason
 *    is given and out is the empty string;
 *  - on success the output passes e164_valid(), and normalising it again
 *    with no default country, or with the same one, gives it back;
 *  - a normalised number always maps back to a known country;
 *  - e164_country() on any input returns 0, ENOENT or EINVAL, and EINVAL
 *    exactly when the input is not e164_valid().
 */
#include <re.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "contacts/e164.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char *const defaults[] = {
	NULL, "US", "GB", "DE", "FR", "IT", "RU", "KZ", "BY", "HU", "MX",
	"BR", "AR", "IN", "CN", "JP", "KR", "TH", "AU", "NG", "CA", "JM",
	"LT", "SG", "IL", "gb", "XX", "", "USA",
};


static void check_country(const char *s)
{
	const char *cc = NULL, *tz = NULL;
	int err = e164_country(s, &cc, &tz);

	if (err == EINVAL) {
		if (e164_valid(s))
			abort();
		return;
	}
	if (!e164_valid(s))
		abort();
	if (err == ENOENT)
		return;
	if (err || !cc || !e164_country_known(cc))
		abort();
	if (tz && (!tz[0] || !strchr(tz, '/')))
		abort();
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[E164_MAXLEN + 1], again[E164_MAXLEN + 1];
	const char *dc, *why = NULL;
	char *in;
	int err;

	if (!size)
		return 0;

	dc = defaults[data[0] % ARRAY_SIZE(defaults)];

	in = malloc(size);
	if (!in)
		abort();
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';

	check_country(in);

	err = e164_normalize(out, in, dc, &why);
	if (err) {
		if (err != EINVAL || !why || !why[0] || out[0])
			abort();
		goto out;
	}

	if (why || !e164_valid(out) || strlen(out) > E164_MAXLEN)
		abort();

	if (e164_normalize(again, out, NULL, &why) || strcmp(again, out))
		abort();

	if (dc && (e164_normalize(again, out, dc, &why) ||
		   strcmp(again, out)))
		abort();

	check_country(out);
	if (e164_country(out, NULL, NULL))
		abort();

 out:
	free(in);

	return 0;
}
