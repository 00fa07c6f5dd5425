/* e164.c - phone numbers to E.164 and back to a country.
 *
 * Contacts arrive from spreadsheets in every national habit, and a call
 * must go to exactly the number the person meant, so normalisation only
 * rewrites what is unambiguous: separators go, a known international
 * prefix or '+' starts an international number, otherwise the default
 * country's trunk prefix ("0", "8", "06", NANP "1") is dropped and its
 * calling code put in front. Lengths are checked against each country's
 * national significant number (NSN) range; anything doubtful is refused
 * with a short reason the import report can show.
 *
 * Rules worth knowing:
 *   - an NSN never starts with '0' in a country that has a trunk prefix,
 *     so "+44 (0)20 7946 0958" loses its "(0)";
 *   - a trunk prefix is dropped only when the rest has a valid length:
 *     Russian "812 123 4567" (St Petersburg, no trunk) stays as it is;
 *   - after '+' or an international prefix the same stripping applies,
 *     which also mends the obsolete Mexican mobile "+52 1 ...";
 *   - a default country's own international prefixes ("011", "0011",
 *     "810", carrier codes) are tried before "00", and the first reading
 *     that yields a valid number wins;
 *   - a national number too long for the default country may carry
 *     that country's calling code without its '+' (spreadsheets drop
 *     it): "447700900123" with GB is +447700900123;
 *   - NANP numbers are 10 digits (or 1 and 10 digits) whose area code
 *     and exchange start with 2-9; the area code is not an N11 code.
 *
 * The country table (calling codes, trunk prefixes, NSN lengths of
 * fixed, mobile, VoIP and personal numbers) follows libphonenumber's
 * metadata (v8.12.57, Apache-2.0). Toll-free and short service numbers of
 * other lengths are refused rather than widening every range. Time zones
 * are tzdata's zone.tab, for countries spanning several zones the most
 * populous one. The NANP table maps geographic area codes to the country
 * and the zone where most of their subscribers live.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <re.h>
#include "contacts/e164.h"

enum {
	MIN_DIGITS = 8,
	MAX_DIGITS = 15,
	MAX_INPUT_DIGITS = 23,  /* international prefix, trunk and all */
};

struct country {
	char iso[3];            /* ISO 3166-1 alpha-2, sorted */
	char code[4];           /* calling code */
	const char *trunk;      /* national prefixes, '|'-separated */
	uint8_t min, max;       /* NSN length */
	uint8_t main;           /* the country its code maps back to */
	const char *idd;        /* international prefixes besides "00" */
	const char *lead;       /* NSN prefixes mapping back to it instead */
	const char *tz;
};

static const struct country countries[] = {
	/* iso  code   trunk  NSN len main idd  lead    time zone */
	{"AC", "247", "",     5,  5, 1, NULL,  NULL,   "Atlantic/St_Helena"},
	{"AD", "376", "",     6,  9, 1, NULL,  NULL,   "Europe/Andorra"},
	{"AE", "971", "0",    8,  9, 1, NULL,  NULL,   "Asia/Dubai"},
	{"AF", "93",  "0",    9,  9, 1, NULL,  NULL,   "Asia/Kabul"},
	{"AG", "1",   "1",   10, 10, 0, "011", NULL,   "America/Antigua"},
	{"AI", "1",   "1",   10, 10, 0, "011", NULL,   "America/Anguilla"},
	{"AL", "355", "0",    8,  9, 1, NULL,  NULL,   "Europe/Tirane"},
	{"AM", "374", "0",    8,  8, 1, NULL,  NULL,   "Asia/Yerevan"},
	{"AO", "244", "",     9,  9, 1, NULL,  NULL,   "Africa/Luanda"},
	{"AR", "54",  "0",   10, 11, 1,
	 NULL, NULL, "America/Argentina/Buenos_Aires"},
	{"AS", "1",   "1",   10, 10, 0, "011", NULL,   "Pacific/Pago_Pago"},
	{"AT", "43",  "0",    4, 13, 1, NULL,  NULL,   "Europe/Vienna"},
	{"AU", "61",  "0",    9,  9, 1, "0011", NULL,   "Australia/Sydney"},
	{"AW", "297", "",     7,  7, 1, NULL,  NULL,   "America/Aruba"},
	{"AX", "358", "0",    5, 10, 0, NULL,  "18",   "Europe/Mariehamn"},
	{"AZ", "994", "0",    9,  9, 1, NULL,  NULL,   "Asia/Baku"},
	{"BA", "387", "0",    8,  9, 1, NULL,  NULL,   "Europe/Sarajevo"},
	{"BB", "1",   "1",   10, 10, 0, "011", NULL,   "America/Barbados"},
	{"BD", "880", "0",    6, 10, 1, NULL,  NULL,   "Asia/Dhaka"},
	{"BE", "32",  "0",    8,  9, 1, NULL,  NULL,   "Europe/Brussels"},
	{"BF", "226", "",     8,  8, 1, NULL,  NULL,   "Africa/Ouagadougou"},
	{"BG", "359", "0",    6,  9, 1, NULL,  NULL,   "Europe/Sofia"},
	{"BH", "973", "",     8,  8, 1, NULL,  NULL,   "Asia/Bahrain"},
	{"BI", "257", "",     8,  8, 1, NULL,  NULL,   "Africa/Bujumbura"},
	{"BJ", "229", "",     8,  8, 1, NULL,  NULL,   "Africa/Porto-Novo"},
	{"BL", "590", "0",    9,  9, 0,
	 NULL, "59027|59029|59051|59052|59087",
	 "America/St_Barthelemy"},
	{"BM", "1",   "1",   10, 10, 0, "011", NULL,   "Atlantic/Bermuda"},
	{"BN", "673", "",     7,  7, 1, NULL,  NULL,   "Asia/Brunei"},
	{"BO", "591", "0",    8,  8, 1, NULL,  NULL,   "America/La_Paz"},
	{"BQ", "599", "",     7,  8, 0, NULL,  "3|4|7", "America/Kralendijk"},
	{"BR", "55",  "0",   10, 11, 1,
	 "0012|0014|0015|0021|0022|0023|0025|0031|0041|0043|0055|0065|0099",
	 NULL, "America/Sao_Paulo"},
	{"BS", "1",   "1",   10, 10, 0, "011", NULL,   "America/Nassau"},
	{"BT", "975", "",     7,  8, 1, NULL,  NULL,   "Asia/Thimphu"},
	{"BW", "267", "",     7,  8, 1, NULL,  NULL,   "Africa/Gaborone"},
	{"BY", "375", "80|8|0",  9,  9, 1, "810", NULL,   "Europe/Minsk"},
	{"BZ", "501", "",     7,  7, 1, NULL,  NULL,   "America/Belize"},
	{"CA", "1",   "1",   10, 10, 0, "011", NULL,   "America/Toronto"},
	{"CC", "61",  "0",    9,  9, 0, "0011", "89162", "Indian/Cocos"},
	{"CD", "243", "0",    7,  9, 1, NULL,  NULL,   "Africa/Kinshasa"},
	{"CF", "236", "",     8,  8, 1, NULL,  NULL,   "Africa/Bangui"},
	{"CG", "242", "",     9,  9, 1, NULL,  NULL,   "Africa/Brazzaville"},
	{"CH", "41",  "0",    9,  9, 1, NULL,  NULL,   "Europe/Zurich"},
	{"CI", "225", "",    10, 10, 1, NULL,  NULL,   "Africa/Abidjan"},
	{"CK", "682", "",     5,  5, 1, NULL,  NULL,   "Pacific/Rarotonga"},
	{"CL", "56",  "",     9,  9, 1, NULL,  NULL,   "America/Santiago"},
	{"CM", "237", "",     9,  9, 1, NULL,  NULL,   "Africa/Douala"},
	{"CN", "86",  "0",    7, 11, 1, NULL,  NULL,   "Asia/Shanghai"},
	{"CO", "57",  "0",   10, 10, 1,
	 "00414|00444|00456|005|007|009", NULL, "America/Bogota"},
	{"CR", "506", "",     8,  8, 1, NULL,  NULL,   "America/Costa_Rica"},
	{"CU", "53",  "0",    6, 10, 1, "119", NULL,   "America/Havana"},
	{"CV", "238", "",     7,  7, 1, NULL,  NULL,   "Atlantic/Cape_Verde"},
	{"CW", "599", "",     7,  8, 1, NULL,  NULL,   "America/Curacao"},
	{"CX", "61",  "0",    9,  9, 0, "0011", "89164", "Indian/Christmas"},
	{"CY", "357", "",     8,  8, 1, NULL,  NULL,   "Asia/Nicosia"},
	{"CZ", "420", "",     9,  9, 1, NULL,  NULL,   "Europe/Prague"},
	{"DE", "49",  "0",    5, 13, 1, NULL,  NULL,   "Europe/Berlin"},
	{"DJ", "253", "",     8,  8, 1, NULL,  NULL,   "Africa/Djibouti"},
	{"DK", "45",  "",     8,  8, 1, NULL,  NULL,   "Europe/Copenhagen"},
	{"DM", "1",   "1",   10, 10, 0, "011", NULL,   "America/Dominica"},
	{"DO", "1",   "1",   10, 10, 0, "011", NULL,   "America/Santo_Domingo"},
	{"DZ", "213", "0",    8,  9, 1, NULL,  NULL,   "Africa/Algiers"},
	{"EC", "593", "0",    8,  9, 1, NULL,  NULL,   "America/Guayaquil"},
	{"EE", "372", "",     7,  8, 1, NULL,  NULL,   "Europe/Tallinn"},
	{"EG", "20",  "0",    8, 10, 1, NULL,  NULL,   "Africa/Cairo"},
	{"EH", "212", "0",    9,  9, 0, NULL,  "5288|5289", "Africa/El_Aaiun"},
	{"ER", "291", "0",    7,  7, 1, NULL,  NULL,   "Africa/Asmara"},
	{"ES", "34",  "",     9,  9, 1, NULL,  NULL,   "Europe/Madrid"},
	{"ET", "251", "0",    9,  9, 1, NULL,  NULL,   "Africa/Addis_Ababa"},
	{"FI", "358", "0",    5, 10, 1, NULL,  NULL,   "Europe/Helsinki"},
	{"FJ", "679", "",     7,  7, 1, NULL,  NULL,   "Pacific/Fiji"},
	{"FK", "500", "",     5,  5, 1, NULL,  NULL,   "Atlantic/Stanley"},
	{"FM", "691", "",     7,  7, 1, NULL,  NULL,   "Pacific/Pohnpei"},
	{"FO", "298", "",     6,  6, 1, NULL,  NULL,   "Atlantic/Faroe"},
	{"FR", "33",  "0",    9,  9, 1, NULL,  NULL,   "Europe/Paris"},
	{"GA", "241", "",     7,  8, 1, NULL,  NULL,   "Africa/Libreville"},
	{"GB", "44",  "0",    9, 10, 1, NULL,  NULL,   "Europe/London"},
	{"GD", "1",   "1",   10, 10, 0, "011", NULL,   "America/Grenada"},
	{"GE", "995", "0",    9,  9, 1, NULL,  NULL,   "Asia/Tbilisi"},
	{"GF", "594", "0",    9,  9, 1, NULL,  NULL,   "America/Cayenne"},
	{"GG", "44",  "0",    9, 10, 0,
	 NULL, "1481|7781|7839|79111|79117", "Europe/Guernsey"},
	{"GH", "233", "0",    9,  9, 1, NULL,  NULL,   "Africa/Accra"},
	{"GI", "350", "",     8,  8, 1, NULL,  NULL,   "Europe/Gibraltar"},
	{"GL", "299", "",     6,  6, 1, NULL,  NULL,   "America/Nuuk"},
	{"GM", "220", "",     7,  7, 1, NULL,  NULL,   "Africa/Banjul"},
	{"GN", "224", "",     8,  9, 1, NULL,  NULL,   "Africa/Conakry"},
	{"GP", "590", "0",    9,  9, 1, NULL,  NULL,   "America/Guadeloupe"},
	{"GQ", "240", "",     9,  9, 1, NULL,  NULL,   "Africa/Malabo"},
	{"GR", "30",  "",    10, 10, 1, NULL,  NULL,   "Europe/Athens"},
	{"GT", "502", "",     8,  8, 1, NULL,  NULL,   "America/Guatemala"},
	{"GU", "1",   "1",   10, 10, 0, "011", NULL,   "Pacific/Guam"},
	{"GW", "245", "",     7,  9, 1, NULL,  NULL,   "Africa/Bissau"},
	{"GY", "592", "",     7,  7, 1, "001", NULL,   "America/Guyana"},
	{"HK", "852", "",     8,  8, 1, NULL,  NULL,   "Asia/Hong_Kong"},
	{"HN", "504", "",     8,  8, 1, NULL,  NULL,   "America/Tegucigalpa"},
	{"HR", "385", "0",    8,  9, 1, NULL,  NULL,   "Europe/Zagreb"},
	{"HT", "509", "",     8,  8, 1,
	 NULL, NULL, "America/Port-au-Prince"},
	{"HU", "36",  "06",   8,  9, 1, NULL,  NULL,   "Europe/Budapest"},
	{"ID", "62",  "0",    7, 12, 1, "008|009", NULL,   "Asia/Jakarta"},
	{"IE", "353", "0",    7, 10, 1, NULL,  NULL,   "Europe/Dublin"},
	{"IL", "972", "0",    8, 12, 1,
	 "012|013|014|015|016|017|018|019", NULL, "Asia/Jerusalem"},
	{"IM", "44",  "0",    9, 10, 0,
	 NULL, "1624|74576|7524|7624", "Europe/Isle_of_Man"},
	{"IN", "91",  "0",   10, 10, 1, NULL,  NULL,   "Asia/Kolkata"},
	{"IO", "246", "",     7,  7, 1, NULL,  NULL,   "Indian/Chagos"},
	{"IQ", "964", "0",    8, 10, 1, NULL,  NULL,   "Asia/Baghdad"},
	{"IR", "98",  "0",    6, 10, 1, NULL,  NULL,   "Asia/Tehran"},
	{"IS", "354", "",     7,  9, 1, NULL,  NULL,   "Atlantic/Reykjavik"},
	{"IT", "39",  "",     6, 11, 1, NULL,  NULL,   "Europe/Rome"},
	{"JE", "44",  "0",    9, 10, 0,
	 NULL, "1534|7509|77003|77007|77008|7797|7829|7937", "Europe/Jersey"},
	{"JM", "1",   "1",   10, 10, 0, "011", NULL,   "America/Jamaica"},
	{"JO", "962", "0",    8,  9, 1, NULL,  NULL,   "Asia/Amman"},
	{"JP", "81",  "0",    9, 10, 1, "010", NULL,   "Asia/Tokyo"},
	{"KE", "254", "0",    7,  9, 1, "000", NULL,   "Africa/Nairobi"},
	{"KG", "996", "0",    9,  9, 1, NULL,  NULL,   "Asia/Bishkek"},
	{"KH", "855", "0",    8,  9, 1,
	 "001|004|005|006|007|008|009", NULL, "Asia/Phnom_Penh"},
	{"KI", "686", "0",    5,  8, 1, NULL,  NULL,   "Pacific/Tarawa"},
	{"KM", "269", "",     7,  7, 1, NULL,  NULL,   "Indian/Comoro"},
	{"KN", "1",   "1",   10, 10, 0, "011", NULL,   "America/St_Kitts"},
	{"KP", "850", "0",    8, 10, 1, NULL,  NULL,   "Asia/Pyongyang"},
	{"KR", "82",  "0",    5, 11, 1,
	 "001|002|005|006|008|009", NULL, "Asia/Seoul"},
	{"KW", "965", "",     8,  8, 1, NULL,  NULL,   "Asia/Kuwait"},
	{"KY", "1",   "1",   10, 10, 0, "011", NULL,   "America/Cayman"},
	{"KZ", "7",   "8",   10, 10, 0, "810", "33|7", "Asia/Almaty"},
	{"LA", "856", "0",    8, 10, 1, NULL,  NULL,   "Asia/Vientiane"},
	{"LB", "961", "0",    7,  8, 1, NULL,  NULL,   "Asia/Beirut"},
	{"LC", "1",   "1",   10, 10, 0, "011", NULL,   "America/St_Lucia"},
	{"LI", "423", "0",    7,  9, 1, NULL,  NULL,   "Europe/Vaduz"},
	{"LK", "94",  "0",    9,  9, 1, NULL,  NULL,   "Asia/Colombo"},
	{"LR", "231", "0",    7,  9, 1, NULL,  NULL,   "Africa/Monrovia"},
	{"LS", "266", "",     8,  8, 1, NULL,  NULL,   "Africa/Maseru"},
	{"LT", "370", "8|0",  8,  8, 1, NULL,  NULL,   "Europe/Vilnius"},
	{"LU", "352", "",     4, 11, 1, NULL,  NULL,   "Europe/Luxembourg"},
	{"LV", "371", "",     8,  8, 1, NULL,  NULL,   "Europe/Riga"},
	{"LY", "218", "0",    9,  9, 1, NULL,  NULL,   "Africa/Tripoli"},
	{"MA", "212", "0",    9,  9, 1, NULL,  NULL,   "Africa/Casablanca"},
	{"MC", "377", "0",    8,  9, 1, NULL,  NULL,   "Europe/Monaco"},
	{"MD", "373", "0",    8,  8, 1, NULL,  NULL,   "Europe/Chisinau"},
	{"ME", "382", "0",    8,  8, 1, NULL,  NULL,   "Europe/Podgorica"},
	{"MF", "590", "0",    9,  9, 0,
	 NULL, "59000|59007|59009|59013|59030|59043|59050|59056|"
	 "59058|59077|59079",
	 "America/Marigot"},
	{"MG", "261", "0",    9,  9, 1, NULL,  NULL,   "Indian/Antananarivo"},
	{"MH", "692", "1",    7,  7, 1, NULL,  NULL,   "Pacific/Majuro"},
	{"MK", "389", "0",    8,  8, 1, NULL,  NULL,   "Europe/Skopje"},
	{"ML", "223", "",     8,  8, 1, NULL,  NULL,   "Africa/Bamako"},
	{"MM", "95",  "0",    6, 10, 1, NULL,  NULL,   "Asia/Yangon"},
	{"MN", "976", "0",    8, 10, 1, "001", NULL,   "Asia/Ulaanbaatar"},
	{"MO", "853", "",     8,  8, 1, NULL,  NULL,   "Asia/Macau"},
	{"MP", "1",   "1",   10, 10, 0, "011", NULL,   "Pacific/Saipan"},
	{"MQ", "596", "0",    9,  9, 1, NULL,  NULL,   "America/Martinique"},
	{"MR", "222", "",     8,  8, 1, NULL,  NULL,   "Africa/Nouakchott"},
	{"MS", "1",   "1",   10, 10, 0, "011", NULL,   "America/Montserrat"},
	{"MT", "356", "",     8,  8, 1, NULL,  NULL,   "Europe/Malta"},
	{"MU", "230", "",     7,  8, 1, NULL,  NULL,   "Indian/Mauritius"},
	{"MV", "960", "",     7,  7, 1, NULL,  NULL,   "Indian/Maldives"},
	{"MW", "265", "0",    7,  9, 1, NULL,  NULL,   "Africa/Blantyre"},
	{"MX", "52",  "044|045|01|02|1", 10, 10, 1,
	 NULL, NULL, "America/Mexico_City"},
	{"MY", "60",  "0",    8, 10, 1, NULL,  NULL,   "Asia/Kuala_Lumpur"},
	{"MZ", "258", "",     8,  9, 1, NULL,  NULL,   "Africa/Maputo"},
	{"NA", "264", "0",    8,  9, 1, NULL,  NULL,   "Africa/Windhoek"},
	{"NC", "687", "",     6,  6, 1, NULL,  NULL,   "Pacific/Noumea"},
	{"NE", "227", "",     8,  8, 1, NULL,  NULL,   "Africa/Niamey"},
	{"NF", "672", "",     6,  6, 1, NULL,  NULL,   "Pacific/Norfolk"},
	{"NG", "234", "0",    7, 10, 1, "009", NULL,   "Africa/Lagos"},
	{"NI", "505", "",     8,  8, 1, NULL,  NULL,   "America/Managua"},
	{"NL", "31",  "0",    9, 11, 1, NULL,  NULL,   "Europe/Amsterdam"},
	{"NO", "47",  "",     8,  8, 1, NULL,  NULL,   "Europe/Oslo"},
	{"NP", "977", "0",    8, 10, 1, NULL,  NULL,   "Asia/Kathmandu"},
	{"NR", "674", "",     7,  7, 1, NULL,  NULL,   "Pacific/Nauru"},
	{"NU", "683", "",     4,  7, 1, NULL,  NULL,   "Pacific/Niue"},
	{"NZ", "64",  "0",    8, 10, 1, NULL,  NULL,   "Pacific/Auckland"},
	{"OM", "968", "",     8,  8, 1, NULL,  NULL,   "Asia/Muscat"},
	{"PA", "507", "",     7,  8, 1, NULL,  NULL,   "America/Panama"},
	{"PE", "51",  "0",    8,  9, 1, NULL,  NULL,   "America/Lima"},
	{"PF", "689", "",     8,  8, 1, NULL,  NULL,   "Pacific/Tahiti"},
	{"PG", "675", "",     7,  8, 1, NULL,  NULL,   "Pacific/Port_Moresby"},
	{"PH", "63",  "0",    6, 10, 1, NULL,  NULL,   "Asia/Manila"},
	{"PK", "92",  "0",    9, 10, 1, NULL,  NULL,   "Asia/Karachi"},
	{"PL", "48",  "",     7,  9, 1, NULL,  NULL,   "Europe/Warsaw"},
	{"PM", "508", "0",    6,  6, 1, NULL,  NULL,   "America/Miquelon"},
	{"PR", "1",   "1",   10, 10, 0, "011", NULL,   "America/Puerto_Rico"},
	{"PS", "970", "0",    8,  9, 1, NULL,  NULL,   "Asia/Hebron"},
	{"PT", "351", "",     9,  9, 1, NULL,  NULL,   "Europe/Lisbon"},
	{"PW", "680", "",     7,  7, 1, "011|012", NULL,   "Pacific/Palau"},
	{"PY", "595", "0",    7,  9, 1, NULL,  NULL,   "America/Asuncion"},
	{"QA", "974", "",     8,  8, 1, NULL,  NULL,   "Asia/Qatar"},
	{"RE", "262", "0",    9,  9, 1, NULL,  NULL,   "Indian/Reunion"},
	{"RO", "40",  "0",    6,  9, 1, NULL,  NULL,   "Europe/Bucharest"},
	{"RS", "381", "0",    7, 12, 1, NULL,  NULL,   "Europe/Belgrade"},
	{"RU", "7",   "8",   10, 10, 1, "810", NULL,   "Europe/Moscow"},
	{"RW", "250", "0",    8,  9, 1, NULL,  NULL,   "Africa/Kigali"},
	{"SA", "966", "0",    9,  9, 1, NULL,  NULL,   "Asia/Riyadh"},
	{"SB", "677", "",     5,  7, 1, NULL,  NULL,   "Pacific/Guadalcanal"},
	{"SC", "248", "",     7,  7, 1, NULL,  NULL,   "Indian/Mahe"},
	{"SD", "249", "0",    9,  9, 1, NULL,  NULL,   "Africa/Khartoum"},
	{"SE", "46",  "0",    7,  9, 1, NULL,  NULL,   "Europe/Stockholm"},
	{"SG", "65",  "",     8,  8, 1,
	 "001|002|008|013|018|019", NULL, "Asia/Singapore"},
	{"SH", "290", "",     4,  5, 1, NULL,  NULL,   "Atlantic/St_Helena"},
	{"SI", "386", "0",    8,  8, 1, NULL,  NULL,   "Europe/Ljubljana"},
	{"SJ", "47",  "",     8,  8, 0, NULL,  "79",   "Arctic/Longyearbyen"},
	{"SK", "421", "0",    6,  9, 1, NULL,  NULL,   "Europe/Bratislava"},
	{"SL", "232", "0",    8,  8, 1, NULL,  NULL,   "Africa/Freetown"},
	{"SM", "378", "",     8, 10, 1, NULL,  NULL,   "Europe/San_Marino"},
	{"SN", "221", "",     9,  9, 1, NULL,  NULL,   "Africa/Dakar"},
	{"SO", "252", "0",    6,  9, 1, NULL,  NULL,   "Africa/Mogadishu"},
	{"SR", "597", "",     6,  7, 1, NULL,  NULL,   "America/Paramaribo"},
	{"SS", "211", "0",    9,  9, 1, NULL,  NULL,   "Africa/Juba"},
	{"ST", "239", "",     7,  7, 1, NULL,  NULL,   "Africa/Sao_Tome"},
	{"SV", "503", "",     8,  8, 1, NULL,  NULL,   "America/El_Salvador"},
	{"SX", "1",   "1",   10, 10, 0, "011", NULL,   "America/Lower_Princes"},
	{"SY", "963", "0",    8,  9, 1, NULL,  NULL,   "Asia/Damascus"},
	{"SZ", "268", "",     8,  8, 1, NULL,  NULL,   "Africa/Mbabane"},
	{"TA", "290", "",     4,  5, 0, NULL,  "8",    "Atlantic/St_Helena"},
	{"TC", "1",   "1",   10, 10, 0, "011", NULL,   "America/Grand_Turk"},
	{"TD", "235", "",     8,  8, 1, NULL,  NULL,   "Africa/Ndjamena"},
	{"TG", "228", "",     8,  8, 1, NULL,  NULL,   "Africa/Lome"},
	{"TH", "66",  "0",    8,  9, 1,
	 "001|002|003|004|005|006|007|008|009", NULL, "Asia/Bangkok"},
	{"TJ", "992", "",     9,  9, 1, "810", NULL,   "Asia/Dushanbe"},
	{"TK", "690", "",     4,  7, 1, NULL,  NULL,   "Pacific/Fakaofo"},
	{"TL", "670", "",     7,  8, 1, NULL,  NULL,   "Asia/Dili"},
	{"TM", "993", "8",    8,  8, 1, "810", NULL,   "Asia/Ashgabat"},
	{"TN", "216", "",     8,  8, 1, NULL,  NULL,   "Africa/Tunis"},
	{"TO", "676", "",     5,  7, 1, NULL,  NULL,   "Pacific/Tongatapu"},
	{"TR", "90",  "0",   10, 10, 1, NULL,  NULL,   "Europe/Istanbul"},
	{"TT", "1",   "1",   10, 10, 0, "011", NULL,   "America/Port_of_Spain"},
	{"TV", "688", "",     5,  7, 1, NULL,  NULL,   "Pacific/Funafuti"},
	{"TW", "886", "0",    8, 11, 1,
	 "002|005|006|007|009|019", NULL, "Asia/Taipei"},
	{"TZ", "255", "0",    9,  9, 1,
	 "000|005|006", NULL, "Africa/Dar_es_Salaam"},
	{"UA", "380", "0",    9,  9, 1, NULL,  NULL,   "Europe/Kyiv"},
	{"UG", "256", "0",    9,  9, 1,
	 "000|005|007", NULL, "Africa/Kampala"},
	{"US", "1",   "1",   10, 10, 1, "011", NULL,   "America/New_York"},
	{"UY", "598", "0",    8,  8, 1, NULL,  NULL,   "America/Montevideo"},
	{"UZ", "998", "8",    9,  9, 1, "810", NULL,   "Asia/Tashkent"},
	{"VA", "39",  "",     6, 11, 0, NULL,  "06698", "Europe/Vatican"},
	{"VC", "1",   "1",   10, 10, 0, "011", NULL,   "America/St_Vincent"},
	{"VE", "58",  "0",   10, 10, 1, NULL,  NULL,   "America/Caracas"},
	{"VG", "1",   "1",   10, 10, 0, "011", NULL,   "America/Tortola"},
	{"VI", "1",   "1",   10, 10, 0, "011", NULL,   "America/St_Thomas"},
	{"VN", "84",  "0",    9, 10, 1, NULL,  NULL,   "Asia/Ho_Chi_Minh"},
	{"VU", "678", "",     5,  7, 1, NULL,  NULL,   "Pacific/Efate"},
	{"WF", "681", "",     6,  6, 1, NULL,  NULL,   "Pacific/Wallis"},
	{"WS", "685", "",     5, 10, 1, NULL,  NULL,   "Pacific/Apia"},
	{"XK", "383", "0",    8,  9, 1, NULL,  NULL,   "Europe/Belgrade"},
	{"YE", "967", "0",    7,  9, 1, NULL,  NULL,   "Asia/Aden"},
	{"YT", "262", "0",    9,  9, 0, NULL,  "269|639", "Indian/Mayotte"},
	{"ZA", "27",  "0",    5,  9, 1, NULL,  NULL,   "Africa/Johannesburg"},
	{"ZM", "260", "0",    9,  9, 1, NULL,  NULL,   "Africa/Lusaka"},
	{"ZW", "263", "0",    5, 10, 1, NULL,  NULL,   "Africa/Harare"},
};

#define ET "America/New_York"
#define CT "America/Chicago"
#define MT "America/Denver"
#define PT "America/Los_Angeles"
#define AZ "America/Phoenix"

/* NANP geographic area codes, sorted. */
static const struct npa {
	uint16_t npa;
	char iso[3];
	const char *tz;
} npas[] = {
	{201, "US", ET}, {202, "US", ET}, {203, "US", ET},
	{204, "CA", "America/Winnipeg"}, {205, "US", CT}, {206, "US", PT},
	{207, "US", ET}, {208, "US", "America/Boise"}, {209, "US", PT},
	{210, "US", CT}, {212, "US", ET}, {213, "US", PT}, {214, "US", CT},
	{215, "US", ET}, {216, "US", ET}, {217, "US", CT}, {218, "US", CT},
	{219, "US", CT}, {220, "US", ET}, {223, "US", ET}, {224, "US", CT},
	{225, "US", CT}, {226, "CA", "America/Toronto"}, {228, "US", CT},
	{229, "US", ET}, {231, "US", ET}, {234, "US", ET},
	{236, "CA", "America/Vancouver"}, {239, "US", ET}, {240, "US", ET},
	{242, "BS", "America/Nassau"}, {246, "BB", "America/Barbados"},
	{248, "US", ET}, {249, "CA", "America/Toronto"},
	{250, "CA", "America/Vancouver"}, {251, "US", CT}, {252, "US", ET},
	{253, "US", PT}, {254, "US", CT}, {256, "US", CT}, {260, "US", ET},
	{262, "US", CT}, {263, "CA", "America/Toronto"},
	{264, "AI", "America/Anguilla"}, {267, "US", ET},
	{268, "AG", "America/Antigua"}, {269, "US", ET}, {270, "US", CT},
	{272, "US", ET}, {276, "US", ET}, {279, "US", PT}, {281, "US", CT},
	{283, "US", ET}, {284, "VG", "America/Tortola"},
	{289, "CA", "America/Toronto"}, {301, "US", ET}, {302, "US", ET},
	{303, "US", MT}, {304, "US", ET}, {305, "US", ET},
	{306, "CA", "America/Regina"}, {307, "US", MT}, {308, "US", CT},
	{309, "US", CT}, {310, "US", PT}, {312, "US", CT}, {313, "US", ET},
	{314, "US", CT}, {315, "US", ET}, {316, "US", CT}, {317, "US", ET},
	{318, "US", CT}, {319, "US", CT}, {320, "US", CT}, {321, "US", ET},
	{323, "US", PT}, {325, "US", CT}, {326, "US", ET}, {330, "US", ET},
	{331, "US", CT}, {332, "US", ET}, {334, "US", CT}, {336, "US", ET},
	{337, "US", CT}, {339, "US", ET}, {340, "VI", "America/St_Thomas"},
	{341, "US", PT}, {343, "CA", "America/Toronto"},
	{345, "KY", "America/Cayman"}, {346, "US", CT}, {347, "US", ET},
	{350, "US", PT}, {351, "US", ET}, {352, "US", ET}, {360, "US", PT},
	{361, "US", CT}, {364, "US", ET}, {365, "CA", "America/Toronto"},
	{367, "CA", "America/Toronto"}, {368, "CA", "America/Edmonton"},
	{380, "US", ET}, {385, "US", MT}, {386, "US", ET}, {401, "US", ET},
	{402, "US", CT}, {403, "CA", "America/Edmonton"}, {404, "US", ET},
	{405, "US", CT}, {406, "US", MT}, {407, "US", ET}, {408, "US", PT},
	{409, "US", CT}, {410, "US", ET}, {412, "US", ET}, {413, "US", ET},
	{414, "US", CT}, {415, "US", PT}, {416, "CA", "America/Toronto"},
	{417, "US", CT}, {418, "CA", "America/Toronto"}, {419, "US", ET},
	{423, "US", ET}, {424, "US", PT}, {425, "US", PT}, {430, "US", CT},
	{431, "CA", "America/Winnipeg"}, {432, "US", CT}, {434, "US", ET},
	{435, "US", MT}, {437, "CA", "America/Toronto"},
	{438, "CA", "America/Toronto"}, {440, "US", ET},
	{441, "BM", "Atlantic/Bermuda"}, {442, "US", PT}, {443, "US", ET},
	{445, "US", ET}, {447, "US", CT}, {448, "US", CT},
	{450, "CA", "America/Toronto"}, {458, "US", PT}, {463, "US", ET},
	{464, "US", CT}, {468, "CA", "America/Toronto"}, {469, "US", CT},
	{470, "US", ET}, {473, "GD", "America/Grenada"},
	{474, "CA", "America/Regina"}, {475, "US", ET}, {478, "US", ET},
	{479, "US", CT}, {480, "US", AZ}, {484, "US", ET}, {501, "US", CT},
	{502, "US", ET}, {503, "US", PT}, {504, "US", CT}, {505, "US", MT},
	{506, "CA", "America/Halifax"}, {507, "US", CT}, {508, "US", ET},
	{509, "US", PT}, {510, "US", PT}, {512, "US", CT}, {513, "US", ET},
	{514, "CA", "America/Toronto"}, {515, "US", CT}, {516, "US", ET},
	{517, "US", ET}, {518, "US", ET}, {519, "CA", "America/Toronto"},
	{520, "US", AZ}, {530, "US", PT}, {531, "US", CT}, {534, "US", CT},
	{539, "US", CT}, {540, "US", ET}, {541, "US", PT},
	{548, "CA", "America/Toronto"}, {551, "US", ET}, {559, "US", PT},
	{561, "US", ET}, {562, "US", PT}, {563, "US", CT}, {564, "US", PT},
	{567, "US", ET}, {570, "US", ET}, {571, "US", ET}, {572, "US", CT},
	{573, "US", CT}, {574, "US", ET}, {575, "US", MT},
	{579, "CA", "America/Toronto"}, {580, "US", CT},
	{581, "CA", "America/Toronto"}, {582, "US", ET},
	{584, "CA", "America/Winnipeg"}, {585, "US", ET}, {586, "US", ET},
	{587, "CA", "America/Edmonton"}, {601, "US", CT}, {602, "US", AZ},
	{603, "US", ET}, {604, "CA", "America/Vancouver"}, {605, "US", CT},
	{606, "US", ET}, {607, "US", ET}, {608, "US", CT}, {609, "US", ET},
	{610, "US", ET}, {612, "US", CT}, {613, "CA", "America/Toronto"},
	{614, "US", ET}, {615, "US", CT}, {616, "US", ET}, {617, "US", ET},
	{618, "US", CT}, {619, "US", PT}, {620, "US", CT}, {623, "US", AZ},
	{626, "US", PT}, {628, "US", PT}, {629, "US", CT}, {630, "US", CT},
	{631, "US", ET}, {636, "US", CT}, {639, "CA", "America/Regina"},
	{640, "US", ET}, {641, "US", CT}, {646, "US", ET},
	{647, "CA", "America/Toronto"}, {649, "TC", "America/Grand_Turk"},
	{650, "US", PT}, {651, "US", CT}, {656, "US", ET}, {657, "US", PT},
	{658, "JM", "America/Jamaica"}, {659, "US", CT}, {660, "US", CT},
	{661, "US", PT}, {662, "US", CT}, {664, "MS", "America/Montserrat"},
	{667, "US", ET}, {669, "US", PT}, {670, "MP", "Pacific/Saipan"},
	{671, "GU", "Pacific/Guam"}, {672, "CA", "America/Vancouver"},
	{678, "US", ET}, {680, "US", ET}, {681, "US", ET}, {682, "US", CT},
	{684, "AS", "Pacific/Pago_Pago"}, {689, "US", ET}, {701, "US", CT},
	{702, "US", PT}, {703, "US", ET}, {704, "US", ET},
	{705, "CA", "America/Toronto"}, {706, "US", ET}, {707, "US", PT},
	{708, "US", CT}, {709, "CA", "America/St_Johns"}, {712, "US", CT},
	{713, "US", CT}, {714, "US", PT}, {715, "US", CT}, {716, "US", ET},
	{717, "US", ET}, {718, "US", ET}, {719, "US", MT}, {720, "US", MT},
	{721, "SX", "America/Lower_Princes"}, {724, "US", ET}, {725, "US", PT},
	{726, "US", CT}, {727, "US", ET}, {731, "US", CT}, {732, "US", ET},
	{734, "US", ET}, {737, "US", CT}, {740, "US", ET},
	{742, "CA", "America/Toronto"}, {743, "US", ET}, {747, "US", PT},
	{753, "CA", "America/Toronto"}, {754, "US", ET}, {757, "US", ET},
	{758, "LC", "America/St_Lucia"}, {760, "US", PT}, {762, "US", ET},
	{763, "US", CT}, {765, "US", ET}, {767, "DM", "America/Dominica"},
	{769, "US", CT}, {770, "US", ET}, {771, "US", ET}, {772, "US", ET},
	{773, "US", CT}, {774, "US", ET}, {775, "US", PT},
	{778, "CA", "America/Vancouver"}, {779, "US", CT},
	{780, "CA", "America/Edmonton"}, {781, "US", ET},
	{782, "CA", "America/Halifax"}, {784, "VC", "America/St_Vincent"},
	{785, "US", CT}, {786, "US", ET}, {787, "PR", "America/Puerto_Rico"},
	{801, "US", MT}, {802, "US", ET}, {803, "US", ET}, {804, "US", ET},
	{805, "US", PT}, {806, "US", CT}, {807, "CA", "America/Toronto"},
	{808, "US", "Pacific/Honolulu"}, {809, "DO", "America/Santo_Domingo"},
	{810, "US", ET}, {812, "US", ET}, {813, "US", ET}, {814, "US", ET},
	{815, "US", CT}, {816, "US", CT}, {817, "US", CT}, {818, "US", PT},
	{819, "CA", "America/Toronto"}, {820, "US", PT},
	{825, "CA", "America/Edmonton"}, {826, "US", ET}, {828, "US", ET},
	{829, "DO", "America/Santo_Domingo"}, {830, "US", CT}, {831, "US", PT},
	{832, "US", CT}, {838, "US", ET}, {839, "US", ET}, {840, "US", PT},
	{843, "US", ET}, {845, "US", ET}, {847, "US", CT}, {848, "US", ET},
	{849, "DO", "America/Santo_Domingo"}, {850, "US", CT}, {854, "US", ET},
	{856, "US", ET}, {857, "US", ET}, {858, "US", PT}, {859, "US", ET},
	{860, "US", ET}, {862, "US", ET}, {863, "US", ET}, {864, "US", ET},
	{865, "US", ET}, {867, "CA", "America/Whitehorse"},
	{868, "TT", "America/Port_of_Spain"}, {869, "KN", "America/St_Kitts"},
	{870, "US", CT}, {872, "US", CT}, {873, "CA", "America/Toronto"},
	{876, "JM", "America/Jamaica"}, {878, "US", ET},
	{879, "CA", "America/St_Johns"}, {901, "US", CT},
	{902, "CA", "America/Halifax"}, {903, "US", CT}, {904, "US", ET},
	{905, "CA", "America/Toronto"}, {906, "US", ET},
	{907, "US", "America/Anchorage"}, {908, "US", ET}, {909, "US", PT},
	{910, "US", ET}, {912, "US", ET}, {913, "US", CT}, {914, "US", ET},
	{915, "US", MT}, {916, "US", PT}, {917, "US", ET}, {918, "US", CT},
	{919, "US", ET}, {920, "US", CT}, {925, "US", PT}, {928, "US", AZ},
	{929, "US", ET}, {930, "US", ET}, {931, "US", CT}, {934, "US", ET},
	{936, "US", CT}, {937, "US", ET}, {938, "US", CT},
	{939, "PR", "America/Puerto_Rico"}, {940, "US", CT}, {941, "US", ET},
	{943, "US", ET}, {945, "US", CT}, {947, "US", ET}, {948, "US", ET},
	{949, "US", PT}, {951, "US", PT}, {952, "US", CT}, {954, "US", ET},
	{956, "US", CT}, {959, "US", ET}, {970, "US", MT}, {971, "US", PT},
	{972, "US", CT}, {973, "US", ET}, {978, "US", ET}, {979, "US", CT},
	{980, "US", ET}, {984, "US", ET}, {985, "US", CT},
	{986, "US", "America/Boise"}, {989, "US", ET},
};

#undef ET
#undef CT
#undef MT
#undef PT
#undef AZ


/* The next alternative of a '|'-separated *listp: *altp, *lenp. */
static bool alt_next(const char **listp, const char **altp, size_t *lenp)
{
	const char *p = *listp;
	size_t n;

	if (!p || !*p)
		return false;

	n = strcspn(p, "|");
	*altp = p;
	*lenp = n;
	*listp = p[n] ? p + n + 1 : p + n;

	return true;
}


static bool has_prefix(const char *s, size_t n, const char *pfx, size_t pn)
{
	return n >= pn && !memcmp(s, pfx, pn);
}


static int cmp_iso(const void *key, const void *elem)
{
	const struct country *c = elem;

	return strcmp(key, c->iso);
}


static const struct country *by_iso(const char *iso)
{
	char key[3];
	int i;

	if (!iso || !iso[0] || !iso[1] || iso[2])
		return NULL;

	for (i = 0; i < 2; i++) {
		key[i] = iso[i];
		if (key[i] >= 'a' && key[i] <= 'z')
			key[i] = (char)(key[i] - 'a' + 'A');
	}
	key[2] = '\0';

	return bsearch(key, countries, ARRAY_SIZE(countries),
		       sizeof(countries[0]), cmp_iso);
}


static bool code_is(const struct country *c, const char *d, size_t len)
{
	return strlen(c->code) == len && !memcmp(c->code, d, len);
}


/* The main country of the calling code that starts d[n], if any. Calling
 * codes are prefix-free, so the first match is the only one. */
static const struct country *by_code(const char *d, size_t n)
{
	size_t len, i;

	for (len = 1; len <= 3 && len <= n; len++) {
		for (i = 0; i < ARRAY_SIZE(countries); i++) {
			if (countries[i].main && code_is(&countries[i], d, len))
				return &countries[i];
		}
	}

	return NULL;
}


/* NSN length range over all countries sharing mc's calling code. */
static void code_range(const struct country *mc, uint8_t *minp,
		       uint8_t *maxp)
{
	size_t len = strlen(mc->code), i;

	*minp = mc->min;
	*maxp = mc->max;

	for (i = 0; i < ARRAY_SIZE(countries); i++) {
		const struct country *c = &countries[i];

		if (!code_is(c, mc->code, len))
			continue;
		if (c->min < *minp)
			*minp = c->min;
		if (c->max > *maxp)
			*maxp = c->max;
	}
}


static bool nsn_ok(const char *trunk, uint8_t min, uint8_t max,
		   const char *nsn, size_t n)
{
	if (n < min || n > max)
		return false;

	/* a trunk prefix implies no NSN starts with '0' */
	return !(trunk[0] && nsn[0] == '0');
}


/* Where the NSN starts in d[n], after dropping a trunk prefix if that
 * leaves a valid length. intl: d followed a calling code, keep it as it
 * is when valid. */
static int nsn_find(const char *trunk, uint8_t min, uint8_t max, bool intl,
		    const char *d, size_t n, size_t *skipp,
		    const char **whyp)
{
	const char *list = trunk, *alt;
	size_t alen, m = n;
	bool matched = false;

	if (intl && nsn_ok(trunk, min, max, d, n)) {
		*skipp = 0;
		return 0;
	}

	while (alt_next(&list, &alt, &alen)) {
		if (!has_prefix(d, n, alt, alen))
			continue;

		if (nsn_ok(trunk, min, max, d + alen, n - alen)) {
			*skipp = alen;
			return 0;
		}

		if (!matched)
			m = n - alen;
		matched = true;
	}

	if (nsn_ok(trunk, min, max, d, n)) {
		*skipp = 0;
		return 0;
	}

	if (m < min)
		*whyp = "too short";
	else if (m > max)
		*whyp = "too long";
	else
		*whyp = "invalid national number";

	return EINVAL;
}


static int finish(char *out, const char *code, const char *nsn, size_t n,
		  const char **whyp)
{
	size_t clen = strlen(code);

	if (clen + n < MIN_DIGITS) {
		*whyp = "too short";
		return EINVAL;
	}
	if (clen + n > MAX_DIGITS) {
		*whyp = "too long";
		return EINVAL;
	}

	out[0] = '+';
	memcpy(out + 1, code, clen);
	memcpy(out + 1 + clen, nsn, n);
	out[1 + clen + n] = '\0';

	return 0;
}


/* A NANP number after the country code: NPA NXX XXXX. */
static int nanp(char *out, const char *d, size_t n, const char **whyp)
{
	if (n == 11 && d[0] == '1') {
		++d;
		--n;
	}

	if (n < 10) {
		*whyp = "too short";
		return EINVAL;
	}
	if (n > 10) {
		*whyp = "too long";
		return EINVAL;
	}

	if (d[0] < '2' || (d[1] == '1' && d[2] == '1')) {
		*whyp = "invalid area code";
		return EINVAL;
	}
	if (d[3] < '2') {
		*whyp = "invalid exchange code";
		return EINVAL;
	}

	return finish(out, "1", d, n, whyp);
}


/* d[n]: calling code and NSN, after '+' or an international prefix. */
static int intl(char *out, const char *d, size_t n, const char **whyp)
{
	const struct country *c = by_code(d, n);
	size_t clen, skip;
	uint8_t min, max;
	int err;

	if (!c) {
		*whyp = n < 3 ? "too short" : "unknown country code";
		return EINVAL;
	}

	clen = strlen(c->code);
	if (c->code[0] == '1' && clen == 1)
		return nanp(out, d + 1, n - 1, whyp);

	code_range(c, &min, &max);

	err = nsn_find(c->trunk, min, max, true, d + clen, n - clen, &skip,
		       whyp);
	if (err)
		return err;

	return finish(out, c->code, d + clen + skip, n - clen - skip, whyp);
}


static int national(char *out, const struct country *c, const char *d,
		    size_t n, const char **whyp)
{
	size_t clen = strlen(c->code), skip;
	const char *why;
	int err;

	if (!strcmp(c->code, "1"))
		return nanp(out, d, n, whyp);

	err = nsn_find(c->trunk, c->min, c->max, false, d, n, &skip, whyp);
	if (!err)
		return finish(out, c->code, d + skip, n - skip, whyp);

	/* spreadsheets drop the '+' of "+44 7700 900123": the country's
	 * own calling code, when what follows it is a valid NSN */
	if (has_prefix(d, n, c->code, clen) &&
	    !nsn_find(c->trunk, c->min, c->max, true, d + clen, n - clen,
		      &skip, &why))
		return finish(out, c->code, d + clen + skip, n - clen - skip,
			      whyp);

	return err;
}


/* Digits typed without '+' in country c: an international prefix of c
 * (the first reading that gives a valid number) or a national number. */
static int dialled(char *out, const struct country *c, const char *d,
		   size_t n, const char **whyp)
{
	const char *list = c->idd, *alt;
	const char *why = NULL;
	size_t alen;
	bool last = false;
	int err = 0;

	for (;;) {
		if (!alt_next(&list, &alt, &alen)) {
			if (last)
				break;
			last = true;
			alt = "00";
			alen = 2;
		}

		if (!has_prefix(d, n, alt, alen))
			continue;

		err = intl(out, d + alen, n - alen, &why);
		if (!err)
			return 0;
	}

	if (why) {
		*whyp = why;
		return err;
	}

	return national(out, c, d, n, whyp);
}


/* A separator in UTF-8 at s: its length, else 0. Spreadsheets and word
 * processors turn spaces and hyphens into these. */
static size_t utf8_sep(const uint8_t *s)
{
	if (s[0] == 0xc2 && s[1] == 0xa0)                 /* NBSP */
		return 2;

	if (s[0] == 0xe2 && s[1] == 0x80 &&
	    ((s[2] >= 0x80 && s[2] <= 0x8a) ||         /* U+2000..200A */
	     (s[2] >= 0x90 && s[2] <= 0x95) ||         /* U+2010..2015 */
	     s[2] == 0xaf))                            /* U+202F */
		return 3;

	if (s[0] == 0xe2 && s[1] == 0x88 && s[2] == 0x92) /* U+2212 */
		return 3;

	if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) /* U+3000 */
		return 3;

	if (s[0] == 0xef && s[1] == 0xbc &&               /* fullwidth */
	    (s[2] == 0x88 || s[2] == 0x89 || s[2] == 0x8d)) /* ( ) - */
		return 3;

	return 0;
}


/* The digits of s into d (at most MAX_INPUT_DIGITS), and whether a
 * leading '+' was seen. Fullwidth digits and plus count as ASCII. */
static int scan(const char *s, char *d, size_t *np, bool *plusp,
		const char **whyp)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = 0, k;
	bool plus = false, toolong = false;

	while (*p == ' ' || *p == '\t')
		++p;

	if (!strncasecmp((const char *)p, "tel:", 4))
		p += 4;

	for (; *p; p++) {
		uint8_t c = *p;

		if (p[0] == 0xef && p[1] == 0xbc && p[2] >= 0x90 &&
		    p[2] <= 0x99) {
			c = (uint8_t)('0' + (p[2] - 0x90));
			p += 2;
		}
		else if (p[0] == 0xef && p[1] == 0xbc && p[2] == 0x8b) {
			c = '+';
			p += 2;
		}

		if (c >= '0' && c <= '9') {
			if (n < MAX_INPUT_DIGITS)
				d[n++] = (char)c;
			else
				toolong = true;
			continue;
		}

		switch (c) {

		case ' ': case '\t': case '-': case '.':
		case '(': case ')': case '/':
			continue;

		case '+':
			if (plus || n) {
				*whyp = "invalid character";
				return EINVAL;
			}
			plus = true;
			continue;

		default:
			break;
		}

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			*whyp = "contains letters";
			return EINVAL;
		}

		k = utf8_sep(p);
		if (!k) {
			*whyp = "invalid character";
			return EINVAL;
		}
		p += k - 1;
	}

	if (!n) {
		*whyp = "empty";
		return EINVAL;
	}

	if (toolong) {
		*whyp = "too long";
		return EINVAL;
	}

	*np = n;
	*plusp = plus;

	return 0;
}


int e164_normalize(char out[E164_MAXLEN + 1], const char *in,
		   const char *default_country, const char **whyp)
{
	char d[MAX_INPUT_DIGITS];
	const struct country *c = NULL;
	const char *why = NULL;
	size_t n = 0;
	bool plus = false;
	int err;

	if (!out)
		return EINVAL;

	out[0] = '\0';

	if (!in) {
		why = "empty";
		err = EINVAL;
		goto out;
	}

	if (default_country) {
		c = by_iso(default_country);
		if (!c) {
			why = "unknown default country";
			err = EINVAL;
			goto out;
		}
	}

	err = scan(in, d, &n, &plus, &why);
	if (err)
		goto out;

	if (plus) {
		err = intl(out, d, n, &why);
	}
	else if (c) {
		err = dialled(out, c, d, n, &why);
	}
	else if (n >= 2 && d[0] == '0' && d[1] == '0') {
		err = intl(out, d + 2, n - 2, &why);
	}
	else {
		why = "national number without a default country";
		err = EINVAL;
	}

 out:
	if (err)
		out[0] = '\0';
	if (whyp)
		*whyp = err ? why : NULL;

	return err;
}


bool e164_valid(const char *s)
{
	size_t n = 0;

	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;

	for (++s; *s; s++, n++) {
		if (*s < '0' || *s > '9' || n >= MAX_DIGITS)
			return false;
	}

	return n >= MIN_DIGITS;
}


bool e164_country_known(const char *cc)
{
	return by_iso(cc) != NULL;
}


static int cmp_npa(const void *key, const void *elem)
{
	const unsigned *k = key;
	const struct npa *e = elem;

	return (int)*k - (int)e->npa;
}


int e164_country(const char *e164, const char **ccp, const char **tzp)
{
	const struct country *c, *pick;
	const char *d, *cc, *tz;
	size_t n, clen, i;

	if (!e164_valid(e164))
		return EINVAL;

	d = e164 + 1;
	n = strlen(d);

	c = by_code(d, n);
	if (!c)
		return ENOENT;

	clen = strlen(c->code);

	if (clen == 1 && c->code[0] == '1') {
		unsigned key = (unsigned)((d[1] - '0') * 100 +
					  (d[2] - '0') * 10 + (d[3] - '0'));
		const struct npa *a;

		a = bsearch(&key, npas, ARRAY_SIZE(npas), sizeof(npas[0]),
			    cmp_npa);
		cc = a ? a->iso : "US";
		tz = a ? a->tz : NULL;
		goto out;
	}

	pick = c;
	for (i = 0; i < ARRAY_SIZE(countries) && pick == c; i++) {
		const struct country *o = &countries[i];
		const char *list = o->lead, *alt;
		size_t alen;

		if (!code_is(o, c->code, clen))
			continue;

		while (alt_next(&list, &alt, &alen)) {
			if (has_prefix(d + clen, n - clen, alt, alen)) {
				pick = o;
				break;
			}
		}
	}

	cc = pick->iso;
	tz = pick->tz;

 out:
	if (ccp)
		*ccp = cc;
	if (tzp)
		*tzp = tz;

	return 0;
}
