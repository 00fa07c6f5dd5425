#include "test.h"
#include "api/resource.h"
#include "api/schema.h"
#include "json/json.h"

static struct odict *parse(const char *s)
{
	struct odict *o = NULL;
	int t;

	if (json_parse(&o, &t, s, strlen(s), NULL))
		return NULL;
	return o;
}

static char *enc(const struct odict *o)
{
	char *s = NULL;

	json_encode(&s, o);
	return s;
}

/* check body against res; returns the error code (NULL when valid) and
 * the normalised JSON in *outp */
static const char *run(const struct resource *res, const char *body,
		       bool create, char **outp, struct verr *ve)
{
	struct schema_ctx ctx = {"GB"};
	struct odict *in = parse(body), *out = NULL;
	int err;

	if (!in)
		return "parse";
	err = schema_check(&out, res->fields, in, create, &ctx, ve);
	mem_deref(in);
	if (err)
		return ve->code;
	if (outp)
		*outp = enc(out);
	mem_deref(out);
	return NULL;
}

TEST(defaults_and_normalisation)
{
	struct verr ve;
	char *out = NULL;

	CHECK(!run(&res_numbers, "{\"number\":\"020 7946 0958\"}", true, &out,
		   &ve));
	CHECK_STR(out, "{\"number\":\"+442079460958\"}");
	out = mem_deref(out);

	CHECK(!run(&res_trunks, "{\"name\":\"t\",\"sip_uri\":\"sip:gw:5060\"}",
		   true, &out, &ve));
	CHECK(strstr(out, "\"transport\":\"udp\""));
	CHECK(strstr(out, "\"max_channels\":30"));
	CHECK(strstr(out, "\"enabled\":true"));
	CHECK(!strstr(out, "reachable"));      /* read-only: not defaulted */
	mem_deref(out);
}

TEST(errors_name_the_field)
{
	struct verr ve;

	CHECK_STR(run(&res_agents, "{\"name\":\"a\",\"llm\":{\"temprature\":1}}",
		      true, NULL, &ve), "unknown_field");
	CHECK_STR(ve.field, "llm.temprature");
	CHECK_STR(run(&res_agents, "{\"name\":7}", true, NULL, &ve),
		  "invalid_type");
	CHECK_STR(ve.field, "name");
	CHECK(strstr(ve.msg, "must be a string, not integer"));
	CHECK_STR(run(&res_agents, "{}", true, NULL, &ve), "missing_field");
	CHECK_STR(run(&res_agents, "{\"name\":\"a\",\"version\":3}", true, NULL,
		      &ve), "read_only_field");
	CHECK_STR(run(&res_agents, "{\"name\":\"a\",\"llm\":{\"temperature\":9}}",
		      true, NULL, &ve), "invalid_value");
	CHECK_STR(run(&res_agents, "{\"name\":\"a\",\"tts\":{\"provider\":\"x\"}}",
		      true, NULL, &ve), "invalid_value");
	CHECK(strstr(ve.msg, "espeak-ng, flite, openai"));
	CHECK_STR(run(&res_agents, "{\"name\":\"a\",\"outbound\":{\"calling_window\":"
		      "{\"windows\":[{\"days\":[\"mon\",\"xyz\"],\"start\":\"9:00\","
		      "\"end\":\"10:00\"}]}}}", true, NULL, &ve), "invalid_value");
	CHECK_STR(ve.field, "outbound.calling_window.windows[0].days[1]");
	CHECK_STR(run(&res_trunks, "{\"name\":\"t\",\"sip_uri\":\"sip:g\","
		      "\"inbound\":{\"allowed_ips\":[\"10.0.0.0/33\"]}}", true,
		      NULL, &ve), "invalid_value");
	CHECK_STR(run(&res_numbers, "{\"number\":\"12ab\"}", true, NULL, &ve),
		  "invalid_value");
	CHECK(strstr(ve.msg, "letters"));
	CHECK_STR(run(&res_webhooks, "{\"url\":\"https://x.example/h\","
		      "\"secret\":\"short\"}", true, NULL, &ve), "invalid_value");
}

TEST(update_mode_skips_required_and_defaults)
{
	struct verr ve;
	char *out = NULL;

	CHECK(!run(&res_agents, "{\"first_message\":\"hi\"}", false, &out, &ve));
	CHECK_STR(out, "{\"first_message\":\"hi\"}");
	mem_deref(out);
}

TEST(merge_patch)
{
	struct odict *base = parse("{\"a\":1,\"o\":{\"x\":1,\"y\":2},\"s\":\"k\"}");
	struct odict *patch = parse("{\"o\":{\"y\":null,\"z\":3},\"s\":null,"
				    "\"n\":{\"q\":null,\"r\":1}}");
	struct odict *m = NULL;
	char *s;

	CHECK(base && patch);
	CHECK_EQ_INT(schema_merge(&m, base, patch), 0);
	s = enc(m);
	CHECK_STR(s, "{\"a\":1,\"o\":{\"x\":1,\"z\":3},\"n\":{\"r\":1}}");
	mem_deref(s);
	mem_deref(m);
	mem_deref(base);
	mem_deref(patch);
}

TEST(redaction_hides_secrets_everywhere)
{
	struct odict *doc = parse("{\"name\":\"a\",\"llm\":{\"api_key\":\"sk-1\","
				  "\"model\":\"m\"},\"tools\":[{\"name\":\"t\","
				  "\"url\":\"https://x\",\"auth_header\":\"B z\"}]}");
	struct odict *red = NULL;
	char *s;

	CHECK(doc);
	CHECK_EQ_INT(schema_redact(&red, res_agents.fields, doc), 0);
	s = enc(red);
	CHECK(!strstr(s, "sk-1"));
	CHECK(!strstr(s, "B z"));
	CHECK(strstr(s, "\"llm\":{\"model\":\"m\",\"api_key_set\":true}"));
	CHECK(strstr(s, "\"auth_header_set\":true"));
	mem_deref(s);
	mem_deref(red);
	mem_deref(doc);
}

TEST_MAIN()
