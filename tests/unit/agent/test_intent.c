/* test_intent.c - normalising transcripts and matching answers. */
#include "test.h"
#include "agent/intent.h"
#include "json/json.h"


static const char *norm(const char *text)
{
	static char buf[1024];
	char *out = NULL;

	if (intent_normalise(&out, text))
		return "(error)";
	snprintf(buf, sizeof(buf), "%s", out);
	mem_deref(out);
	return buf;
}


/* the value matched, or "-" for no match */
static const char *match_spec(const struct intent_spec *spec,
			      const char *text)
{
	static char buf[256];
	char *v = NULL;
	int err = intent_match(&v, spec, text);

	if (err == ENOENT)
		return "-";
	if (err)
		return "(error)";
	snprintf(buf, sizeof(buf), "%s", v);
	mem_deref(v);
	return buf;
}


static const char *match(enum intent_expect e, const char *text)
{
	struct intent_spec spec = {e, NULL, NULL};

	return match_spec(&spec, text);
}


static struct odict *parse(const char *json)
{
	struct odict *o = NULL;

	(void)json_parse(&o, NULL, json, strlen(json), NULL);
	return o;
}


TEST(normalise)
{
	CHECK_STR(norm("  Yes, PLEASE!! "), "yes please");
	CHECK_STR(norm("Don't call me."), "dont call me");
	CHECK_STR(norm("I don\xe2\x80\x99t know\xe2\x80\xa6 maybe"),
		  "i dont know maybe");
	CHECK_STR(norm("twenty-three"), "twenty three");
	CHECK_STR(norm("$1,000,000 or 2, 3"), "1000000 or 2 3");
	CHECK_STR(norm("Caf\xc3\xa9 au lait"), "caf\xc3\xa9 au lait");
	CHECK_STR(norm(""), "");
	CHECK_STR(norm(NULL), "");
	CHECK_STR(norm("?!."), "");
}


TEST(yes_no)
{
	static const char *const yes[] = {
		"yes", "Yeah.", "yep", "Sure thing", "that's correct",
		"right", "okay", "OK", "of course", "Absolutely!",
		"yes please", "no problem", "why not", "sounds good",
		"Definitely.", "go ahead",
	};
	static const char *const no[] = {
		"no", "Nope.", "not interested", "never", "I'm not interested",
		"don't", "no thanks", "no thank you", "nah", "not right",
		"Yes... actually no.", "I do not", "wrong number",
	};
	static const char *const neither[] = {
		"", "hmm", "I'm not sure", "I don't know", "maybe",
		"what did you say", "perhaps later",
	};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		CHECK_STR(match(INTENT_YES_NO, yes[i]), "yes");
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		CHECK_STR(match(INTENT_YES_NO, no[i]), "no");
	for (size_t i = 0; i < ARRAY_SIZE(neither); i++)
		CHECK_STR(match(INTENT_YES_NO, neither[i]), "-");
}


TEST(numbers)
{
	CHECK_STR(match(INTENT_NUMBER, "twenty three"), "23");
	CHECK_STR(match(INTENT_NUMBER, "Twenty-three"), "23");
	CHECK_STR(match(INTENT_NUMBER, "one two three"), "123");
	CHECK_STR(match(INTENT_NUMBER, "1 2 3"), "123");
	CHECK_STR(match(INTENT_NUMBER, "It's 42."), "42");
	CHECK_STR(match(INTENT_NUMBER, "zero"), "0");
	CHECK_STR(match(INTENT_NUMBER, "seven"), "7");
	CHECK_STR(match(INTENT_NUMBER, "fifteen"), "15");
	CHECK_STR(match(INTENT_NUMBER, "one hundred"), "100");
	CHECK_STR(match(INTENT_NUMBER, "a hundred"), "100");
	CHECK_STR(match(INTENT_NUMBER, "hundred"), "100");
	CHECK_STR(match(INTENT_NUMBER, "one hundred and five"), "105");
	CHECK_STR(match(INTENT_NUMBER, "three hundred forty two"), "342");
	CHECK_STR(match(INTENT_NUMBER, "two thousand and five"), "2005");
	CHECK_STR(match(INTENT_NUMBER, "a thousand"), "1000");
	CHECK_STR(match(INTENT_NUMBER, "hundred thousand"), "100000");
	CHECK_STR(match(INTENT_NUMBER, "twelve thousand three hundred "
			"forty five"), "12345");
	CHECK_STR(match(INTENT_NUMBER, "two million three hundred thousand"),
		  "2300000");
	CHECK_STR(match(INTENT_NUMBER, "nine hundred ninety nine million "
			"nine hundred ninety nine thousand nine hundred "
			"ninety nine"), "999999999");
	CHECK_STR(match(INTENT_NUMBER, "nineteen eighty four"), "1984");
	CHECK_STR(match(INTENT_NUMBER, "five five five one two one two"),
		  "5551212");
	CHECK_STR(match(INTENT_NUMBER, "five oh two"), "502");
	CHECK_STR(match(INTENT_NUMBER, "oh five"), "05");
	CHECK_STR(match(INTENT_NUMBER, "3 million"), "3000000");
	CHECK_STR(match(INTENT_NUMBER, "1,000"), "1000");
	CHECK_STR(match(INTENT_NUMBER, "007"), "007");
	CHECK_STR(match(INTENT_NUMBER, "my number is 555 1234"), "5551234");
	CHECK_STR(match(INTENT_NUMBER, "two people and a dog"), "2");
	CHECK_STR(match(INTENT_NUMBER, "oh, I see"), "-");
	CHECK_STR(match(INTENT_NUMBER, "a lot"), "-");
	CHECK_STR(match(INTENT_NUMBER, "none"), "-");
	CHECK_STR(match(INTENT_NUMBER, ""), "-");
	/* too long to be an answer */
	CHECK_STR(match(INTENT_NUMBER, "1234567890 1234567890 1234567890 "
			"1234567890 1234567890 1234567890 1234567890"), "-");
}


TEST(dates)
{
	CHECK_STR(match(INTENT_DATE, "Monday"), "monday");
	CHECK_STR(match(INTENT_DATE, "on tuesday please"), "tuesday");
	CHECK_STR(match(INTENT_DATE, "Next Friday."), "next friday");
	CHECK_STR(match(INTENT_DATE, "this sunday"), "sunday");
	CHECK_STR(match(INTENT_DATE, "today"), "today");
	CHECK_STR(match(INTENT_DATE, "tonight"), "today");
	CHECK_STR(match(INTENT_DATE, "tomorrow works"), "tomorrow");
	CHECK_STR(match(INTENT_DATE, "not monday, wednesday"), "wednesday");
	CHECK_STR(match(INTENT_DATE, "march third"), "--03-03");
	CHECK_STR(match(INTENT_DATE, "March 3rd"), "--03-03");
	CHECK_STR(match(INTENT_DATE, "march the 3rd"), "--03-03");
	CHECK_STR(match(INTENT_DATE, "the third of march"), "--03-03");
	CHECK_STR(match(INTENT_DATE, "3 march"), "--03-03");
	CHECK_STR(match(INTENT_DATE, "december twenty first"), "--12-21");
	CHECK_STR(match(INTENT_DATE, "the thirty first of january"),
		  "--01-31");
	CHECK_STR(match(INTENT_DATE, "july twenty"), "--07-20");
	CHECK_STR(match(INTENT_DATE, "on the twentieth of may"), "--05-20");
	CHECK_STR(match(INTENT_DATE, "sept 9"), "--09-09");
	CHECK_STR(match(INTENT_DATE, "February 29th"), "--02-29");
	CHECK_STR(match(INTENT_DATE, "march 3rd, 2026"), "2026-03-03");
	CHECK_STR(match(INTENT_DATE, "monday the first of june"), "--06-01");
	CHECK_STR(match(INTENT_DATE, "february thirtieth"), "-");
	CHECK_STR(match(INTENT_DATE, "april 31"), "-");
	CHECK_STR(match(INTENT_DATE, "may I ask who is calling"), "-");
	CHECK_STR(match(INTENT_DATE, "whenever"), "-");
}


TEST(choices)
{
	struct odict *c = parse("[\"monday\",\"tuesday\",\"wednesday\"]");
	struct intent_spec spec = {INTENT_CHOICE, NULL, NULL};

	CHECK(c);
	spec.choices = c;
	CHECK_STR(match_spec(&spec, "Tuesday please"), "tuesday");
	CHECK_STR(match_spec(&spec, "TUESDAY"), "tuesday");
	CHECK_STR(match_spec(&spec, "mondays are best"), "monday");
	CHECK_STR(match_spec(&spec, "not monday, wednesday"), "wednesday");
	CHECK_STR(match_spec(&spec, "the second one"), "tuesday");
	CHECK_STR(match_spec(&spec, "first"), "monday");
	CHECK_STR(match_spec(&spec, "the 3rd"), "wednesday");
	CHECK_STR(match_spec(&spec, "option two"), "tuesday");
	CHECK_STR(match_spec(&spec, "number 3"), "wednesday");
	CHECK_STR(match_spec(&spec, "the last one"), "wednesday");
	CHECK_STR(match_spec(&spec, "two"), "tuesday");
	CHECK_STR(match_spec(&spec, "the fourth one"), "-");
	CHECK_STR(match_spec(&spec, "friday"), "-");
	CHECK_STR(match_spec(&spec, ""), "-");
	mem_deref(c);

	/* phrases, as written; the longest wins */
	c = parse("[\"Front Desk\",\"Desk\",\"Billing Team\"]");
	CHECK(c);
	spec.choices = c;
	CHECK_STR(match_spec(&spec, "the front desk please"), "Front Desk");
	CHECK_STR(match_spec(&spec, "desk"), "Desk");
	CHECK_STR(match_spec(&spec, "billing team"), "Billing Team");
	CHECK_STR(match_spec(&spec, "billing"), "-");
	mem_deref(c);
}


TEST(intents)
{
	struct odict *in = parse("{\"billing\":[\"billing question\","
		"\"my invoice\",\"pay my bill\"],\"support\":[\"technical "
		"support\",\"it does not work\",\"broken\"],\"human\":["
		"\"talk to a person\",\"agent\",\"representative\"]}");
	struct intent_spec spec = {INTENT_INTENT, NULL, NULL};

	CHECK(in);
	spec.intents = in;
	CHECK_STR(match_spec(&spec, "I have a question about my invoice"),
		  "billing");
	CHECK_STR(match_spec(&spec, "I'd like to pay my bill"), "billing");
	CHECK_STR(match_spec(&spec, "my phone is broken"), "support");
	CHECK_STR(match_spec(&spec, "can I talk to a real person"), "human");
	CHECK_STR(match_spec(&spec, "Representative!"), "human");
	CHECK_STR(match_spec(&spec, "agents"), "human");
	CHECK_STR(match_spec(&spec, "what's the weather"), "-");
	CHECK_STR(match_spec(&spec, "the a to"), "-");
	mem_deref(in);
}


TEST(free_text)
{
	CHECK_STR(match(INTENT_FREE_TEXT, "  I need a plumber.  "),
		  "I need a plumber.");
	CHECK_STR(match(INTENT_FREE_TEXT, "   "), "-");
	CHECK_STR(match(INTENT_FREE_TEXT, "..."), "-");
	CHECK_STR(match(INTENT_FREE_TEXT, ""), "-");
}


static const char *dtmf(const struct intent_spec *spec, const char *keys)
{
	static char buf[64];
	char *v = NULL;
	int err = intent_dtmf(&v, spec, keys);

	if (err)
		return err == ENOENT ? "-" : "(error)";
	snprintf(buf, sizeof(buf), "%s", v);
	mem_deref(v);
	return buf;
}


TEST(keypad)
{
	struct odict *c = parse("[\"monday\",\"tuesday\"]");
	struct odict *in = parse("{\"sales\":[\"buy\"],\"support\":"
				 "[\"help\"]}");
	struct intent_spec yn = {INTENT_YES_NO, NULL, NULL};
	struct intent_spec num = {INTENT_NUMBER, NULL, NULL};
	struct intent_spec ch = {INTENT_CHOICE, c, NULL};
	struct intent_spec it = {INTENT_INTENT, NULL, in};
	struct intent_spec ft = {INTENT_FREE_TEXT, NULL, NULL};

	CHECK(c && in);
	CHECK_STR(dtmf(&yn, "1"), "yes");
	CHECK_STR(dtmf(&yn, "2"), "no");
	CHECK_STR(dtmf(&yn, "3"), "-");
	CHECK_STR(dtmf(&num, "0042"), "0042");
	CHECK_STR(dtmf(&num, "12#"), "-");
	CHECK_STR(dtmf(&ch, "2"), "tuesday");
	CHECK_STR(dtmf(&ch, "3"), "-");
	CHECK_STR(dtmf(&ch, "0"), "-");
	CHECK_STR(dtmf(&it, "2"), "support");
	CHECK_STR(dtmf(&ft, "1"), "-");
	CHECK_STR(dtmf(&yn, ""), "-");
	mem_deref(c);
	mem_deref(in);
}


TEST(expect_names)
{
	enum intent_expect e;

	CHECK_EQ_INT(intent_expect_parse(&e, "choice"), 0);
	CHECK_EQ_INT(e, INTENT_CHOICE);
	CHECK_EQ_INT(intent_expect_parse(&e, "intent"), 0);
	CHECK_EQ_INT(e, INTENT_INTENT);
	CHECK_EQ_INT(intent_expect_parse(&e, "Choice"), EINVAL);
	CHECK_EQ_INT(intent_expect_parse(&e, NULL), EINVAL);
	CHECK_STR(intent_expect_name(INTENT_YES_NO), "yes_no");
	CHECK_STR(intent_expect_name(INTENT_FREE_TEXT), "free_text");
}


/* grammar words: lower-case letters and apostrophes only */
static bool jsgf_ok(const char *g)
{
	static const char head[] = "#JSGF V1.0;\ngrammar parley;\n"
		"public <answer> = ";
	const char *p;

	if (strncmp(g, head, strlen(head)))
		return false;
	for (p = g + strlen(head); *p; p++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyz' |()[]<>+=;\n", *p))
			return false;
	}
	return g[strlen(g) - 1] == '\n';
}


TEST(grammars)
{
	struct odict *c = parse("[\"Monday\",\"Front-Desk 2\",\"123\","
				"\"O'Brien\"]");
	struct odict *in = parse("{\"a\":[\"Talk to a PERSON\"],\"b\":"
				 "[\"42\"]}");
	struct intent_spec spec = {INTENT_YES_NO, NULL, NULL};
	char *g = NULL;

	CHECK(c && in);
	CHECK_EQ_INT(intent_grammar(&g, &spec), 0);
	CHECK(g && jsgf_ok(g));
	CHECK(strstr(g, "= yes | sure"));
	CHECK(strstr(g, "| no |"));
	g = mem_deref(g);

	spec.expect = INTENT_NUMBER;
	CHECK_EQ_INT(intent_grammar(&g, &spec), 0);
	CHECK(g && jsgf_ok(g));
	CHECK(strstr(g, "<num>+ ;\n<num> = zero | oh | one"));
	g = mem_deref(g);

	spec.expect = INTENT_DATE;
	CHECK_EQ_INT(intent_grammar(&g, &spec), 0);
	CHECK(g && jsgf_ok(g));
	CHECK(strstr(g, "<month> = january"));
	g = mem_deref(g);

	spec.expect = INTENT_CHOICE;
	spec.choices = c;
	CHECK_EQ_INT(intent_grammar(&g, &spec), 0);
	CHECK(g && jsgf_ok(g));
	CHECK_STR(g, "#JSGF V1.0;\ngrammar parley;\npublic <answer> = "
		  "[the] (monday | front desk | o'brien | (first | second | "
		  "third | fourth | last) [one]) ;\n");
	g = mem_deref(g);

	spec.expect = INTENT_INTENT;
	spec.intents = in;
	CHECK_EQ_INT(intent_grammar(&g, &spec), 0);
	CHECK_STR(g, "#JSGF V1.0;\ngrammar parley;\npublic <answer> = "
		  "talk to a person ;\n");
	g = mem_deref(g);

	spec.expect = INTENT_FREE_TEXT;
	CHECK_EQ_INT(intent_grammar(&g, &spec), 0);
	CHECK(g == NULL);

	/* nothing writable: no grammar */
	mem_deref(c);
	c = parse("[\"123\",\"!!\"]");
	spec.expect = INTENT_CHOICE;
	spec.choices = c;
	CHECK_EQ_INT(intent_grammar(&g, &spec), 0);
	CHECK(g == NULL);

	mem_deref(c);
	mem_deref(in);
}


TEST_MAIN()
