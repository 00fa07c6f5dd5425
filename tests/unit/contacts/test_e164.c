/* test_e164.c - phone number normalisation and country lookup: the
 * formats people put in spreadsheets for many countries, every refusal
 * reason, and the country and time zone tables. */

#include <errno.h>
#include <unistd.h>
#include "test.h"
#include "contacts/e164.h"

/* Normalise in with default country dc; "!reason" expects a refusal. */
static bool norm(const char *in, const char *dc, const char *want)
{
	char out[E164_MAXLEN + 1];
	const char *why = "unset";
	int err;
	bool ok;

	memset(out, 'x', sizeof(out));
	err = e164_normalize(out, in, dc, &why);

	if (want[0] == '!')
		ok = err == EINVAL && why && !strcmp(why, want + 1) && !out[0];
	else
		ok = !err && !why && !strcmp(out, want) && e164_valid(out);

	if (!ok)
		fprintf(stderr, "  \"%s\" (%s): err=%d out=\"%s\" why=\"%s\", "
			"want \"%s\"\n", in ? in : "(null)", dc ? dc : "-", err,
			err ? "" : out, why ? why : "(null)", want);

	return ok;
}

/* The country and zone of an E.164 number; tz NULL: no zone. */
static bool country(const char *e164, const char *cc, const char *tz)
{
	const char *gcc = NULL, *gtz = "unset";
	int err;
	bool ok;

	err = e164_country(e164, &gcc, &gtz);
	ok = !err && gcc && !strcmp(gcc, cc) &&
		(tz ? gtz && !strcmp(gtz, tz) : !gtz);
	if (!ok)
		fprintf(stderr, "  %s: err=%d cc=%s tz=%s, want %s %s\n",
			e164, err, gcc ? gcc : "(null)",
			gtz ? gtz : "(null)", cc, tz ? tz : "(null)");

	return ok;
}


TEST(e164_valid)
{
	CHECK(e164_valid("+14155550100"));
	CHECK(e164_valid("+12345678"));          /* 8 digits */
	CHECK(e164_valid("+123456789012345"));   /* 15 digits */
	CHECK(!e164_valid("+1234567"));
	CHECK(!e164_valid("+1234567890123456"));
	CHECK(!e164_valid("+04155550100"));
	CHECK(!e164_valid("14155550100"));
	CHECK(!e164_valid("+1 4155550100"));
	CHECK(!e164_valid("+1415555010a"));
	CHECK(!e164_valid("++14155550100"));
	CHECK(!e164_valid("+14155550100 "));
	CHECK(!e164_valid("+"));
	CHECK(!e164_valid(""));
	CHECK(!e164_valid(NULL));
}

TEST(e164_country_known)
{
	CHECK(e164_country_known("US"));
	CHECK(e164_country_known("us"));
	CHECK(e164_country_known("Gb"));
	CHECK(e164_country_known("DE"));
	CHECK(e164_country_known("AC"));         /* first in the table */
	CHECK(e164_country_known("ZW"));         /* last */
	CHECK(e164_country_known("JM"));
	CHECK(e164_country_known("KZ"));
	CHECK(e164_country_known("XK"));
	CHECK(!e164_country_known("XX"));
	CHECK(!e164_country_known("UK"));        /* GB is the code */
	CHECK(!e164_country_known("USA"));
	CHECK(!e164_country_known("U"));
	CHECK(!e164_country_known(""));
	CHECK(!e164_country_known(NULL));
}

TEST(e164_international_forms)
{
	CHECK(norm("+44 20 7946 0958", NULL, "+442079460958"));
	CHECK(norm("+442079460958", NULL, "+442079460958"));
	CHECK(norm("0044 20 7946 0958", NULL, "+442079460958"));
	CHECK(norm("00 44 (20) 7946-0958", NULL, "+442079460958"));
	CHECK(norm("+44 (0)20 7946 0958", NULL, "+442079460958"));
	CHECK(norm("+1 (415) 555-0100", NULL, "+14155550100"));
	CHECK(norm("+1.415.555.0100", NULL, "+14155550100"));
	CHECK(norm("+1/415/555/0100", NULL, "+14155550100"));
	CHECK(norm("tel:+1-415-555-0100", NULL, "+14155550100"));
	CHECK(norm("TEL:+1-415-555-0100", NULL, "+14155550100"));
	CHECK(norm("  tel:+1 415 555 0100  ", NULL, "+14155550100"));
	CHECK(norm("\t+33 1 23 45 67 89\t", NULL, "+33123456789"));
	CHECK(norm("(+49) 30 123456", NULL, "+4930123456"));
	CHECK(norm("+49 (0)30 123456", NULL, "+4930123456"));
	CHECK(norm("+49 151 12345678", NULL, "+4915112345678"));
	CHECK(norm("+39 06 1234 5678", NULL, "+390612345678"));
	CHECK(norm("+39 333 123 4567", NULL, "+393331234567"));
	CHECK(norm("+34 612 34 56 78", NULL, "+34612345678"));
	CHECK(norm("+7 495 123-45-67", NULL, "+74951234567"));
	CHECK(norm("+7 812 123 45 67", NULL, "+78121234567"));
	CHECK(norm("+7 8 800 555 35 35", NULL, "+78005553535"));
	CHECK(norm("+91 98765 43210", NULL, "+919876543210"));
	CHECK(norm("+86 138 0013 8000", NULL, "+8613800138000"));
	CHECK(norm("+81 90-1234-5678", NULL, "+819012345678"));
	CHECK(norm("+61 4 1234 5678", NULL, "+61412345678"));
	CHECK(norm("+55 11 91234-5678", NULL, "+5511912345678"));
	CHECK(norm("+52 55 1234 5678", NULL, "+525512345678"));
	CHECK(norm("+52 1 55 1234 5678", NULL, "+525512345678"));
	CHECK(norm("+54 9 11 1234-5678", NULL, "+5491112345678"));
	CHECK(norm("+234 803 123 4567", NULL, "+2348031234567"));
	CHECK(norm("+27 82 123 4567", NULL, "+27821234567"));
	CHECK(norm("+353 87 123 4567", NULL, "+353871234567"));
	CHECK(norm("+971 50 123 4567", NULL, "+971501234567"));
	CHECK(norm("+65 9123 4567", NULL, "+6591234567"));
	CHECK(norm("+852 9123 4567", NULL, "+85291234567"));
	CHECK(norm("+1 1 415 555 0100", NULL, "+14155550100"));
}

TEST(e164_us_ca)
{
	CHECK(norm("(415) 555-0100", "US", "+14155550100"));
	CHECK(norm("415-555-0100", "US", "+14155550100"));
	CHECK(norm("415.555.0100", "us", "+14155550100"));
	CHECK(norm("4155550100", "US", "+14155550100"));
	CHECK(norm("1 (415) 555-0100", "US", "+14155550100"));
	CHECK(norm("1-415-555-0100", "US", "+14155550100"));
	CHECK(norm("+1 415 555 0100", "US", "+14155550100"));
	CHECK(norm("011 44 20 7946 0958", "US", "+442079460958"));
	CHECK(norm("0044 20 7946 0958", "US", "+442079460958"));
	CHECK(norm("800-555-0199", "US", "+18005550199"));
	CHECK(norm("(604) 555-0199", "CA", "+16045550199"));
	CHECK(norm("416 555 0199", "CA", "+14165550199"));
	CHECK(norm("876-555-0123", "JM", "+18765550123"));
	CHECK(norm("1 787 555 0123", "PR", "+17875550123"));
	/* a Canadian default happily takes a US number: one plan */
	CHECK(norm("212 555 0100", "CA", "+12125550100"));

	CHECK(norm("555-0100", "US", "!too short"));
	CHECK(norm("415 555 010", "US", "!too short"));
	CHECK(norm("415 555 01000", "US", "!too long"));
	CHECK(norm("2 415 555 0100", "US", "!too long"));
	CHECK(norm("(041) 555-0100", "US", "!invalid area code"));
	CHECK(norm("(115) 555-0100", "US", "!invalid area code"));
	CHECK(norm("(911) 555-0100", "US", "!invalid area code"));
	CHECK(norm("(415) 055-0100", "US", "!invalid exchange code"));
	CHECK(norm("(415) 155-0100", "US", "!invalid exchange code"));
	CHECK(norm("+1 011 555 0100", NULL, "!invalid area code"));
	CHECK(norm("+1 415 123 4567", NULL, "!invalid exchange code"));
	CHECK(norm("+1 415 555 010", NULL, "!too short"));
	CHECK(norm("1-800-FLOWERS", "US", "!contains letters"));
	CHECK(norm("415 555 0100 ext. 12", "US", "!contains letters"));
	CHECK(norm("415 555 0100 x12", "US", "!contains letters"));
}

TEST(e164_gb)
{
	CHECK(norm("020 7946 0958", "GB", "+442079460958"));
	CHECK(norm("(020) 7946 0958", "GB", "+442079460958"));
	CHECK(norm("07700 900123", "GB", "+447700900123"));
	CHECK(norm("07700-900-123", "gb", "+447700900123"));
	CHECK(norm("0161 496 0000", "GB", "+441614960000"));
	CHECK(norm("01632 960123", "GB", "+441632960123"));
	CHECK(norm("0800 123 4567", "GB", "+448001234567"));
	CHECK(norm("7700 900123", "GB", "+447700900123"));
	CHECK(norm("+44 7700 900123", "GB", "+447700900123"));
	CHECK(norm("0044 7700 900123", "GB", "+447700900123"));
	CHECK(norm("011 1 415 555 0100", "GB", "!too long"));
	CHECK(norm("020 7946 09581", "GB", "!too long"));
	/* the '+' lost in a spreadsheet */
	CHECK(norm("447700900123", "GB", "+447700900123"));
	CHECK(norm("44 20 7946 0958", "GB", "+442079460958"));
	CHECK(norm("4402079460958", "GB", "+442079460958"));
	CHECK(norm("44 20 7946 0958 1", "GB", "!too long"));
	CHECK(norm("020 794", "GB", "!too short"));
	CHECK(norm("0 0", "GB", "!too short"));
}

TEST(e164_europe)
{
	/* Germany: variable length, trunk 0 */
	CHECK(norm("030 123456", "DE", "+4930123456"));
	CHECK(norm("030/12345678", "DE", "+493012345678"));
	CHECK(norm("0151 12345678", "DE", "+4915112345678"));
	CHECK(norm("0049 30 123456", "DE", "+4930123456"));
	CHECK(norm("089 1234567", "DE", "+49891234567"));
	/* France */
	CHECK(norm("01 23 45 67 89", "FR", "+33123456789"));
	CHECK(norm("06.12.34.56.78", "FR", "+33612345678"));
	CHECK(norm("+33 (0)6 12 34 56 78", "FR", "+33612345678"));
	CHECK(norm("06 12 34 56 7", "FR", "!too short"));
	CHECK(norm("06 12 34 56 789", "FR", "!too long"));
	CHECK(norm("33612345678", "FR", "+33612345678"));
	/* Italy keeps its leading 0: no trunk prefix */
	CHECK(norm("06 1234 5678", "IT", "+390612345678"));
	CHECK(norm("02 1234 5678", "IT", "+390212345678"));
	CHECK(norm("333 123 4567", "IT", "+393331234567"));
	CHECK(norm("+39 02 1234 5678", "IT", "+390212345678"));
	/* Spain, Portugal, Poland: no trunk prefix */
	CHECK(norm("612 34 56 78", "ES", "+34612345678"));
	CHECK(norm("91 234 56 78", "ES", "+34912345678"));
	CHECK(norm("912 345 678", "PT", "+351912345678"));
	CHECK(norm("512 345 678", "PL", "+48512345678"));
	/* Netherlands, Belgium, Switzerland, Austria, Sweden */
	CHECK(norm("06-12345678", "NL", "+31612345678"));
	CHECK(norm("020 123 4567", "NL", "+31201234567"));
	CHECK(norm("0470 12 34 56", "BE", "+32470123456"));
	CHECK(norm("044 668 18 00", "CH", "+41446681800"));
	CHECK(norm("0664 1234567", "AT", "+436641234567"));
	CHECK(norm("070-123 45 67", "SE", "+46701234567"));
	/* Hungary: trunk 06 */
	CHECK(norm("06 1 234 5678", "HU", "+3612345678"));
	CHECK(norm("06 30 123 4567", "HU", "+36301234567"));
	/* Ireland, Greece, Ukraine, Turkey */
	CHECK(norm("087 123 4567", "IE", "+353871234567"));
	CHECK(norm("21 0123 4567", "GR", "+302101234567"));
	CHECK(norm("067 123 4567", "UA", "+380671234567"));
	CHECK(norm("0532 123 45 67", "TR", "+905321234567"));
}

TEST(e164_trunk_8)
{
	/* Russia: trunk 8, but St Petersburg (812) and toll-free (800)
	 * numbers start with 8 too */
	CHECK(norm("8 (495) 123-45-67", "RU", "+74951234567"));
	CHECK(norm("8 912 345 67 89", "RU", "+79123456789"));
	CHECK(norm("8 812 123 4567", "RU", "+78121234567"));
	CHECK(norm("812 123 4567", "RU", "+78121234567"));
	CHECK(norm("8 800 555 35 35", "RU", "+78005553535"));
	CHECK(norm("800 555 35 35", "RU", "+78005553535"));
	CHECK(norm("495 123 45 67", "RU", "+74951234567"));
	CHECK(norm("810 44 20 7946 0958", "RU", "+442079460958"));
	CHECK(norm("8 495 123 4", "RU", "!too short"));
	CHECK(norm("8 495 123 45 678", "RU", "!too long"));
	/* Kazakhstan shares +7 */
	CHECK(norm("8 701 123 4567", "KZ", "+77011234567"));
	/* Belarus: 8 0XX */
	CHECK(norm("8 029 123 45 67", "BY", "+375291234567"));
	CHECK(norm("80291234567", "BY", "+375291234567"));
	/* Lithuania: 8, and 0 since the 2025 change */
	CHECK(norm("8 612 34567", "LT", "+37061234567"));
	CHECK(norm("0 612 34567", "LT", "+37061234567"));
}

TEST(e164_americas_asia_africa)
{
	/* Mexico: obsolete 01 / 044 / 045 / 1 prefixes still in old sheets */
	CHECK(norm("55 1234 5678", "MX", "+525512345678"));
	CHECK(norm("044 55 1234 5678", "MX", "+525512345678"));
	CHECK(norm("01 55 1234 5678", "MX", "+525512345678"));
	CHECK(norm("1 55 1234 5678", "MX", "+525512345678"));
	/* Brazil: carrier-selected international prefixes */
	CHECK(norm("(11) 91234-5678", "BR", "+5511912345678"));
	CHECK(norm("011 91234 5678", "BR", "+5511912345678"));
	CHECK(norm("0021 1 212 555 0100", "BR", "+12125550100"));
	CHECK(norm("00 1 212 555 0100", "BR", "+12125550100"));
	CHECK(norm("011 4321-1234", "AR", "+541143211234"));
	CHECK(norm("300 123 4567", "CO", "+573001234567"));
	CHECK(norm("9 1234 5678", "CL", "+56912345678"));
	/* Asia */
	CHECK(norm("098765 43210", "IN", "+919876543210"));
	CHECK(norm("98765 43210", "IN", "+919876543210"));
	CHECK(norm("138 0013 8000", "CN", "+8613800138000"));
	CHECK(norm("010 1234 5678", "CN", "+861012345678"));
	CHECK(norm("03-1234-5678", "JP", "+81312345678"));
	CHECK(norm("090-1234-5678", "JP", "+819012345678"));
	CHECK(norm("010 1 212 555 0100", "JP", "+12125550100"));
	CHECK(norm("010-1234-5678", "KR", "+821012345678"));
	CHECK(norm("02-123-4567", "KR", "+8221234567"));
	CHECK(norm("001 1 212 555 0100", "KR", "+12125550100"));
	CHECK(norm("0917 123 4567", "PH", "+639171234567"));
	CHECK(norm("081 234 5678", "TH", "+66812345678"));
	CHECK(norm("0812 3456 7890", "ID", "+6281234567890"));
	CHECK(norm("0300 1234567", "PK", "+923001234567"));
	CHECK(norm("9123 4567", "SG", "+6591234567"));
	CHECK(norm("050 123 4567", "AE", "+971501234567"));
	CHECK(norm("050-123-4567", "IL", "+972501234567"));
	/* Thai 004 is a carrier prefix, yet "0044..." still reads as 00 44 */
	CHECK(norm("0044 20 7946 0958", "TH", "+442079460958"));
	CHECK(norm("001 44 20 7946 0958", "TH", "+442079460958"));
	/* Oceania */
	CHECK(norm("0412 345 678", "AU", "+61412345678"));
	CHECK(norm("(02) 9876 5432", "AU", "+61298765432"));
	CHECK(norm("0011 44 20 7946 0958", "AU", "+442079460958"));
	CHECK(norm("021 123 4567", "NZ", "+64211234567"));
	/* Africa */
	CHECK(norm("0803 123 4567", "NG", "+2348031234567"));
	CHECK(norm("082 123 4567", "ZA", "+27821234567"));
	CHECK(norm("0712 345678", "KE", "+254712345678"));
	CHECK(norm("010 1234 5678", "EG", "+201012345678"));
	CHECK(norm("0612-345678", "MA", "+212612345678"));
}

TEST(e164_unicode_separators)
{
	CHECK(norm("+44\xc2\xa0" "20\xc2\xa0" "7946\xc2\xa0" "0958", NULL,
		   "+442079460958"));                       /* NBSP */
	CHECK(norm("415\xe2\x80\x93" "555\xe2\x80\x93" "0100", "US",
		   "+14155550100"));                        /* en dash */
	CHECK(norm("415\xe2\x80\x91" "555\xe2\x88\x92" "0100", "US",
		   "+14155550100"));             /* non-breaking hyphen, minus */
	CHECK(norm("+33\xe2\x80\xaf" "6\xe2\x80\x89" "12345678", NULL,
		   "+33612345678"));          /* narrow NBSP, thin space */
	/* fullwidth digits, plus, parentheses and ideographic space */
	CHECK(norm("\xef\xbc\x8b\xef\xbc\x98\xef\xbc\x91\xe3\x80\x80"
		   "\xef\xbc\x88\xef\xbc\x90\xef\xbc\x89"
		   "90-1234-5678", NULL, "+819012345678"));
	CHECK(norm("\xef\xbc\x90\xef\xbc\x93\xef\xbc\x8d"
		   "1234-5678", "JP", "+81312345678"));
	/* other non-ASCII is refused, truncated sequences included */
	CHECK(norm("+44 20 7946 0958 \xc3\xa9", NULL, "!invalid character"));
	CHECK(norm("+44 20 7946 0958\xe2\x80", NULL, "!invalid character"));
	CHECK(norm("+44 20 7946 0958\xef\xbc", NULL, "!invalid character"));
	CHECK(norm("+44 20 7946 0958\xc2", NULL, "!invalid character"));
}

TEST(e164_refusals)
{
	CHECK(norm("", "US", "!empty"));
	CHECK(norm("   ", "US", "!empty"));
	CHECK(norm("()- ./", NULL, "!empty"));
	CHECK(norm("+", NULL, "!empty"));
	CHECK(norm("tel:", NULL, "!empty"));
	CHECK(norm(NULL, NULL, "!empty"));
	CHECK(norm("abc", NULL, "!contains letters"));
	CHECK(norm("+44 20 7946 O958", NULL, "!contains letters"));
	CHECK(norm("+1 415 555 0100;ext=1", NULL, "!invalid character"));
	CHECK(norm("+1 415 555 0100#", NULL, "!invalid character"));
	CHECK(norm("*67 415 555 0100", "US", "!invalid character"));
	CHECK(norm("++44 20 7946 0958", NULL, "!invalid character"));
	CHECK(norm("44+20 7946 0958", NULL, "!invalid character"));
	CHECK(norm("+44 20 7946 0958\n", NULL, "!invalid character"));
	CHECK(norm("+4", NULL, "!too short"));
	CHECK(norm("+44 20", NULL, "!too short"));
	CHECK(norm("+44 20 7946 0958 0958", NULL, "!too long"));
	CHECK(norm("+1234567890123456789012345678901234567890", NULL,
		   "!too long"));
	CHECK(norm("+999 123 4567", NULL, "!unknown country code"));
	CHECK(norm("+800 1234 5678", NULL, "!unknown country code"));
	CHECK(norm("0099912345678", NULL, "!unknown country code"));
	CHECK(norm("00", NULL, "!too short"));
	CHECK(norm("020 7946 0958", NULL,
		   "!national number without a default country"));
	CHECK(norm("1 415 555 0100", NULL,
		   "!national number without a default country"));
	CHECK(norm("011 44 20 7946 0958", NULL,
		   "!national number without a default country"));
	CHECK(norm("020 7946 0958", "XX", "!unknown default country"));
	CHECK(norm("020 7946 0958", "UK", "!unknown default country"));
	CHECK(norm("+44 20 7946 0958", "", "!unknown default country"));
	CHECK(norm("+44 20 7946 0958", "GBR", "!unknown default country"));
	/* minimum total length of 8 digits */
	CHECK(norm("+290 5123", NULL, "!too short"));
	CHECK(norm("+290 22123", NULL, "+29022123"));
}

TEST(e164_null_whyp_and_out)
{
	char out[E164_MAXLEN + 1] = "junk";

	CHECK_EQ_INT(e164_normalize(out, "+44 20 7946 0958", NULL, NULL), 0);
	CHECK_STR(out, "+442079460958");
	CHECK_EQ_INT(e164_normalize(out, "nope", NULL, NULL), EINVAL);
	CHECK_STR(out, "");
	CHECK_EQ_INT(e164_normalize(NULL, "+442079460958", NULL, NULL),
		     EINVAL);
}

TEST(e164_renormalise_is_identity)
{
	static const struct { const char *in, *cc; } v[] = {
		{"020 7946 0958", "GB"}, {"(415) 555-0100", "US"},
		{"8 812 123 4567", "RU"}, {"06 1234 5678", "IT"},
		{"044 55 1234 5678", "MX"}, {"06 1 234 5678", "HU"},
		{"+44 (0)20 7946 0958", NULL}, {"8 029 123 45 67", "BY"},
		{"0412 345 678", "AU"}, {"(11) 91234-5678", "BR"},
		{"+7 8 800 555 35 35", NULL}, {"030 123456", "DE"},
		{"0801 234 5678", "NG"}, {"+599 7 123 456", NULL},
	};
	char a[E164_MAXLEN + 1], b[E164_MAXLEN + 1];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		CHECK_EQ_INT(e164_normalize(a, v[i].in, v[i].cc, NULL), 0);
		CHECK_EQ_INT(e164_normalize(b, a, NULL, NULL), 0);
		CHECK_STR(b, a);
		CHECK_EQ_INT(e164_normalize(b, a, "JP", NULL), 0);
		CHECK_STR(b, a);
	}
}

TEST(e164_country_nanp)
{
	CHECK(country("+12125550100", "US", "America/New_York"));
	CHECK(country("+16465550100", "US", "America/New_York"));
	CHECK(country("+19175550100", "US", "America/New_York"));
	CHECK(country("+12135550100", "US", "America/Los_Angeles"));
	CHECK(country("+13105550100", "US", "America/Los_Angeles"));
	CHECK(country("+14155550100", "US", "America/Los_Angeles"));
	CHECK(country("+16505550100", "US", "America/Los_Angeles"));
	CHECK(country("+13125550100", "US", "America/Chicago"));
	CHECK(country("+17735550100", "US", "America/Chicago"));
	CHECK(country("+13035550100", "US", "America/Denver"));
	CHECK(country("+16025550100", "US", "America/Phoenix"));
	CHECK(country("+14805550100", "US", "America/Phoenix"));
	CHECK(country("+18085550100", "US", "Pacific/Honolulu"));
	CHECK(country("+19075550100", "US", "America/Anchorage"));
	CHECK(country("+12085550100", "US", "America/Boise"));
	CHECK(country("+19155550100", "US", "America/Denver"));  /* El Paso */
	CHECK(country("+13175550100", "US", "America/New_York"));
	CHECK(country("+18505550100", "US", "America/Chicago"));
	CHECK(country("+14165550100", "CA", "America/Toronto"));
	CHECK(country("+16475550100", "CA", "America/Toronto"));
	CHECK(country("+14375550100", "CA", "America/Toronto"));
	CHECK(country("+15145550100", "CA", "America/Toronto"));
	CHECK(country("+16045550100", "CA", "America/Vancouver"));
	CHECK(country("+14035550100", "CA", "America/Edmonton"));
	CHECK(country("+12045550100", "CA", "America/Winnipeg"));
	CHECK(country("+13065550100", "CA", "America/Regina"));
	CHECK(country("+19025550100", "CA", "America/Halifax"));
	CHECK(country("+17095550100", "CA", "America/St_Johns"));
	CHECK(country("+18765550100", "JM", "America/Jamaica"));
	CHECK(country("+17875550100", "PR", "America/Puerto_Rico"));
	CHECK(country("+18095550100", "DO", "America/Santo_Domingo"));
	CHECK(country("+12425550100", "BS", "America/Nassau"));
	CHECK(country("+14415550100", "BM", "Atlantic/Bermuda"));
	CHECK(country("+16715550100", "GU", "Pacific/Guam"));
	CHECK(country("+16845550100", "AS", "Pacific/Pago_Pago"));
	CHECK(country("+13405550100", "VI", "America/St_Thomas"));
	/* toll-free and unknown area codes: US without a zone */
	CHECK(country("+18005550100", "US", NULL));
	CHECK(country("+18885550100", "US", NULL));
	CHECK(country("+15005550100", "US", NULL));
	CHECK(country("+12115550100", "US", NULL));
}

TEST(e164_country_world)
{
	CHECK(country("+442079460958", "GB", "Europe/London"));
	CHECK(country("+447700900123", "GB", "Europe/London"));
	CHECK(country("+441481123456", "GG", "Europe/Guernsey"));
	CHECK(country("+441534123456", "JE", "Europe/Jersey"));
	CHECK(country("+447624123456", "IM", "Europe/Isle_of_Man"));
	CHECK(country("+4930123456", "DE", "Europe/Berlin"));
	CHECK(country("+33123456789", "FR", "Europe/Paris"));
	CHECK(country("+390612345678", "IT", "Europe/Rome"));
	CHECK(country("+390669812345", "VA", "Europe/Vatican"));
	CHECK(country("+34612345678", "ES", "Europe/Madrid"));
	CHECK(country("+74951234567", "RU", "Europe/Moscow"));
	CHECK(country("+77011234567", "KZ", "Asia/Almaty"));
	CHECK(country("+919876543210", "IN", "Asia/Kolkata"));
	CHECK(country("+8613800138000", "CN", "Asia/Shanghai"));
	CHECK(country("+819012345678", "JP", "Asia/Tokyo"));
	CHECK(country("+61412345678", "AU", "Australia/Sydney"));
	CHECK(country("+5511912345678", "BR", "America/Sao_Paulo"));
	CHECK(country("+525512345678", "MX", "America/Mexico_City"));
	CHECK(country("+5491112345678", "AR",
		      "America/Argentina/Buenos_Aires"));
	CHECK(country("+2348031234567", "NG", "Africa/Lagos"));
	CHECK(country("+27821234567", "ZA", "Africa/Johannesburg"));
	CHECK(country("+201012345678", "EG", "Africa/Cairo"));
	CHECK(country("+380671234567", "UA", "Europe/Kyiv"));
	CHECK(country("+35818123456", "AX", "Europe/Mariehamn"));
	CHECK(country("+358401234567", "FI", "Europe/Helsinki"));
	CHECK(country("+4779123456", "SJ", "Arctic/Longyearbyen"));
	CHECK(country("+4791234567", "NO", "Europe/Oslo"));
	CHECK(country("+5997123456", "BQ", "America/Kralendijk"));
	CHECK(country("+59991234567", "CW", "America/Curacao"));
	CHECK(country("+262639123456", "YT", "Indian/Mayotte"));
	CHECK(country("+262692123456", "RE", "Indian/Reunion"));
	CHECK(country("+590690123456", "GP", "America/Guadeloupe"));
	CHECK(country("+29022123", "SH", "Atlantic/St_Helena"));
	CHECK(country("+38344123456", "XK", "Europe/Belgrade"));
}

TEST(e164_country_errors)
{
	const char *cc = "keep", *tz = "keep";

	CHECK_EQ_INT(e164_country("+80012345678", &cc, &tz), ENOENT);
	CHECK_EQ_INT(e164_country("+99912345678", &cc, &tz), ENOENT);
	CHECK_EQ_INT(e164_country("+2912345678", &cc, &tz), 0);   /* ER */
	CHECK_STR(cc, "ER");
	cc = tz = "keep";
	CHECK_EQ_INT(e164_country("4155550100", &cc, &tz), EINVAL);
	CHECK_EQ_INT(e164_country("+1415", &cc, &tz), EINVAL);
	CHECK_EQ_INT(e164_country(NULL, &cc, &tz), EINVAL);
	CHECK_STR(cc, "keep");
	CHECK_STR(tz, "keep");
	/* outputs may be NULL */
	CHECK_EQ_INT(e164_country("+442079460958", NULL, NULL), 0);
	CHECK_EQ_INT(e164_country("+442079460958", &cc, NULL), 0);
	CHECK_STR(cc, "GB");
	CHECK_EQ_INT(e164_country("+14155550100", NULL, &tz), 0);
	CHECK_STR(tz, "America/Los_Angeles");
}

/* Every zone the tables hand out names a tzdata zone, and every calling
 * code maps back to a known country. */
TEST(e164_tables_consistent)
{
	char num[32], path[96];
	const char *cc, *tz;
	unsigned code, npa, nnanp = 0, ncodes = 0;
	bool have_tzdata = !access("/usr/share/zoneinfo/UTC", R_OK);

	for (npa = 200; npa <= 999; npa++) {
		re_snprintf(num, sizeof(num), "+1%u5550100", npa);
		CHECK_EQ_INT(e164_country(num, &cc, &tz), 0);
		CHECK(e164_country_known(cc));
		if (!tz)
			continue;
		++nnanp;
		re_snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
		if (have_tzdata && access(path, R_OK)) {
			fprintf(stderr, "  +1 %u: no zone %s\n", npa, tz);
			CHECK(0);
		}
	}
	CHECK(nnanp >= 400);

	for (code = 2; code <= 999; code++) {
		if (code / 100 == 1 || code / 10 == 1)
			continue;               /* NANP */
		re_snprintf(num, sizeof(num), "+%u2345678901", code);
		num[16] = '\0';
		if (e164_country(num, &cc, &tz))
			continue;
		++ncodes;
		CHECK(e164_country_known(cc));
		CHECK(tz);
		re_snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
		if (have_tzdata && access(path, R_OK)) {
			fprintf(stderr, "  +%u: no zone %s\n", code, tz);
			CHECK(0);
		}
	}
	/* each 2-digit code counts 10 times, 3-digit ones once */
	CHECK(ncodes >= 500);
}

TEST_MAIN()
