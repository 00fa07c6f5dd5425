/* test_template.c - prompt templates and seed 001's campaign
 * instructions. */
#include "test.h"
#include "agent/template.h"
#include "json/json.h"


static struct odict *vars_of(const char *json)
{
	struct odict *o = NULL;

	if (json_parse(&o, NULL, json, strlen(json), NULL))
		return NULL;
	return o;
}


/* render tmpl with vars given as JSON (NULL: no vars), static result */
static const char *render(const char *tmpl, const char *json)
{
	static char buf[2048];
	struct odict *vars = json ? vars_of(json) : NULL;
	char *out = NULL;
	int err;

	if (json && !vars)
		return "(bad vars)";
	err = template_render(&out, tmpl, vars);
	if (err)
		snprintf(buf, sizeof(buf), "(error %d)", err);
	else
		snprintf(buf, sizeof(buf), "%s", out);
	mem_deref(out);
	mem_deref(vars);
	return buf;
}


TEST(placeholders)
{
	const char *v = "{\"name\":\"Ann\",\"email\":\"ann@example.com\","
		"\"phone\":\"+15551234567\",\"company\":\"Acme\","
		"\"visits\":3,\"balance\":12.5,\"vip\":true}";

	CHECK_STR(render("Hello {name}, from {company}.", v),
		  "Hello Ann, from Acme.");
	CHECK_STR(render("{email} / {phone}", v),
		  "ann@example.com / +15551234567");
	CHECK_STR(render("{visits} visits, {balance} due, vip={vip}", v),
		  "3 visits, 12.5 due, vip=true");
	CHECK_STR(render("{name}{name}", v), "AnnAnn");
	CHECK_STR(render("", v), "");
	CHECK_STR(render("no placeholders at all", v),
		  "no placeholders at all");
}


TEST(defaults)
{
	/* seed 001: name defaults to "there", email and phone too */
	CHECK_STR(render("Hi {name}!", NULL), "Hi there!");
	CHECK_STR(render("Hi {name}!", "{}"), "Hi there!");
	CHECK_STR(render("Hi {name}!", "{\"name\":\"\"}"), "Hi there!");
	CHECK_STR(render("Hi {name}!", "{\"name\":\"   \"}"), "Hi there!");
	CHECK_STR(render("Hi {name}!", "{\"name\":null}"), "Hi there!");
	CHECK_STR(render("{email}, {phone}", "{}"),
		  "your email, your phone number");
	/* unknown variables without a default vanish */
	CHECK_STR(render("[{company}]", "{\"name\":\"Ann\"}"), "[]");
	CHECK_STR(render("[{obj}]", "{\"obj\":{\"a\":1}}"), "[]");
}


TEST(braces)
{
	const char *v = "{\"name\":\"Ann\"}";

	CHECK_STR(render("{{name}}", v), "{name}");
	CHECK_STR(render("{{{name}}}", v), "{Ann}");
	CHECK_STR(render("a {{ b }} c", v), "a { b } c");
	CHECK_STR(render("{ name }", v), "{ name }");
	CHECK_STR(render("{name", v), "{name");
	CHECK_STR(render("name}", v), "name}");
	CHECK_STR(render("{}", v), "{}");
	CHECK_STR(render("{na-me}", v), "{na-me}");
	CHECK_STR(render("{", v), "{");
	CHECK_STR(render("}", v), "}");
	CHECK_STR(render("{name}}", v), "Ann}");
	CHECK_STR(render("{{name}", v), "{name}");
	CHECK_STR(render("{\xc3\xa9}", v), "{\xc3\xa9}");
	/* a value is not rendered again */
	CHECK_STR(render("{x}", "{\"x\":\"{name}\"}"), "{name}");
}


TEST(paths)
{
	const char *v = "{\"contact\":{\"company\":\"Acme\",\"deep\":"
		"{\"x\":7}},\"a.b\":\"flat\"}";

	CHECK_STR(render("{contact.company}", v), "Acme");
	CHECK_STR(render("{contact.deep.x}", v), "7");
	CHECK_STR(render("{a.b}", v), "flat");
	CHECK_STR(render("[{contact.none}]", v), "[]");
	CHECK_STR(render("[{contact.company.x}]", v), "[]");
	CHECK_STR(render("[{.}][{..}][{contact.}]", v), "[][][]");
}


TEST(numbers)
{
	CHECK_STR(render("{x}", "{\"x\":-42}"), "-42");
	CHECK_STR(render("{x}", "{\"x\":0.1}"), "0.1");
	CHECK_STR(render("{x}", "{\"x\":1e300}"), "1e+300");
	CHECK_STR(render("{x}", "{\"x\":false}"), "false");
	CHECK_STR(render("{x}", "{\"x\":9223372036854775807}"),
		  "9223372036854775807");
}


TEST(long_names)
{
	char tmpl[400];

	memset(tmpl, 'a', sizeof(tmpl));
	tmpl[0] = '{';
	tmpl[sizeof(tmpl) - 2] = '}';
	tmpl[sizeof(tmpl) - 1] = '\0';
	/* too long to be a placeholder: copied */
	CHECK_STR(render(tmpl, "{}"), tmpl);
}


TEST(bad_args)
{
	char *out = NULL;

	CHECK_EQ_INT(template_render(NULL, "x", NULL), EINVAL);
	CHECK_EQ_INT(template_render(&out, NULL, NULL), EINVAL);
	CHECK(out == NULL);
}


static const char expected_head[] =
	"You are a concise, friendly **campaign dialer** (NOT the full "
	"assistant). Rules:\n"
	"- Wait for the callee to speak first; if silence for "
	"~2\xe2\x80\x93" "3 seconds, give one polite greeting.\n";


TEST(campaign_instructions)
{
	char *out = NULL, want[2048];

	CHECK_EQ_INT(template_campaign_instructions(&out, "  John Doe ",
		"  Hello {name}, this is about our new product...\n\n"), 0);
	snprintf(want, sizeof(want), "%s"
		 "- Personalize by name when possible: use \"John Doe\".\n"
		 "- Follow the campaign script briefly; keep turns short "
		 "(1\xe2\x80\x93" "2 sentences).\n"
		 "- If not interested / wrong number: apologize and end "
		 "gracefully.\n"
		 "- Do NOT use any tools or calendars. No side effects.\n"
		 "\n"
		 "If they don't speak: say once, \"Hi John Doe, \"\n"
		 "\n"
		 "CAMPAIGN SCRIPT (use naturally, don't read verbatim if "
		 "awkward):\n"
		 "Hello John Doe, this is about our new product...",
		 expected_head);
	CHECK_STR(out, want);
	out = mem_deref(out);
}


TEST(campaign_defaults)
{
	char *out = NULL;

	CHECK_EQ_INT(template_campaign_instructions(&out, NULL, NULL), 0);
	CHECK(!strncmp(out, expected_head, strlen(expected_head)));
	CHECK(strstr(out, "use \"there\".\n"));
	CHECK(strstr(out, "say once, \"Hi there, \"\n"));
	CHECK(strstr(out, "awkward):\n(no campaign script provided)"));
	CHECK(out[strlen(out) - 1] == ')');
	out = mem_deref(out);

	CHECK_EQ_INT(template_campaign_instructions(&out, " \t", "  \n "), 0);
	CHECK(strstr(out, "\"Hi there, \""));
	CHECK(strstr(out, "(no campaign script provided)"));
	out = mem_deref(out);

	/* the name is inserted as it is, never rendered */
	CHECK_EQ_INT(template_campaign_instructions(&out, "{email}",
						    "Call {name} at {phone}"),
		     0);
	CHECK(strstr(out, "use \"{email}\"."));
	CHECK(strstr(out, "\nCall {email} at your phone number"));
	out = mem_deref(out);

	CHECK_EQ_INT(template_campaign_instructions(NULL, "a", "b"), EINVAL);
}


TEST_MAIN()
