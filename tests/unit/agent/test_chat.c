#include "test.h"
#include "agent/chat.h"
#include "json/json.h"

static int feed(struct chat_dec *dec, const char *data)
{
	return chat_dec_feed(dec, data, strlen(data));
}

TEST(text_deltas_and_done)
{
	struct chat_dec *dec = NULL;
	size_t len;

	CHECK_EQ_INT(chat_dec_alloc(&dec), 0);
	CHECK_STR(chat_dec_text(dec, &len), "");
	CHECK_EQ_INT(feed(dec, "{\"id\":\"x\",\"choices\":[{\"index\":0,"
			  "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
			  "\"finish_reason\":null}]}"), 0);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"index\":0,\"delta\":"
			  "{\"content\":\"Hel\"}}]}"), 0);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"delta\":{\"content\":"
			  "\"lo \\u00e9\\n\"}}]}"), 0);
	/* another choice and a null content are skipped */
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"index\":1,\"delta\":"
			  "{\"content\":\"NO\"}},{\"index\":0,\"delta\":"
			  "{\"content\":null}}]}"), 0);
	CHECK(chat_dec_finish_reason(dec) == NULL);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"index\":0,\"delta\":{},"
			  "\"finish_reason\":\"stop\"}]}"), 0);
	/* a usage chunk without choices */
	CHECK_EQ_INT(feed(dec, "{\"choices\":[],\"usage\":{\"total_tokens\":"
			  "5}}"), 0);
	CHECK(!chat_dec_done(dec));
	CHECK_EQ_INT(feed(dec, " [DONE]\n"), 0);
	CHECK(chat_dec_done(dec));
	CHECK_EQ_INT(feed(dec, "garbage after done is ignored"), 0);
	CHECK_STR(chat_dec_text(dec, &len), "Hello \xc3\xa9\n");
	CHECK_EQ_INT(len, 9);
	CHECK_STR(chat_dec_finish_reason(dec), "stop");
	CHECK_EQ_INT(chat_dec_ncalls(dec), 0);
	CHECK_EQ_INT(chat_dec_end(dec), 0);

	chat_dec_reset(dec);
	CHECK(!chat_dec_done(dec));
	CHECK_STR(chat_dec_text(dec, NULL), "");
	mem_deref(dec);
}

TEST(tool_calls_in_pieces)
{
	struct chat_dec *dec = NULL;
	struct chat_call c;

	CHECK_EQ_INT(chat_dec_alloc(&dec), 0);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"index\":0,\"delta\":"
			  "{\"content\":\"One moment.\",\"tool_calls\":["
			  "{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
			  "\"function\":{\"name\":\"lookup\",\"arguments\":\"\"}}"
			  "]}}]}"), 0);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"delta\":{\"tool_calls\":["
			  "{\"index\":0,\"function\":{\"arguments\":"
			  "\"{\\\"order\"}}]}}]}"), 0);
	/* a second call interleaved, the name repeated (kept once) */
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"delta\":{\"tool_calls\":["
			  "{\"index\":1,\"id\":\"call_b\",\"function\":"
			  "{\"name\":\"end_call\",\"arguments\":\"{}\"}},"
			  "{\"index\":0,\"function\":{\"name\":\"lookup\","
			  "\"arguments\":\"\\\": 42}\"}}]}}]}"), 0);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"delta\":{},\"finish_reason\":"
			  "\"tool_calls\"}]}"), 0);
	CHECK_EQ_INT(chat_dec_ncalls(dec), 2);
	CHECK_EQ_INT(chat_dec_call(dec, 0, &c), 0);
	CHECK_STR(c.id, "call_a");
	CHECK_STR(c.name, "lookup");
	CHECK_STR(c.args, "{\"order\": 42}");
	CHECK_EQ_INT(chat_dec_call(dec, 1, &c), 0);
	CHECK_STR(c.id, "call_b");
	CHECK_STR(c.name, "end_call");
	CHECK_STR(c.args, "{}");
	CHECK_EQ_INT(chat_dec_call(dec, 2, &c), ENOENT);
	CHECK_STR(chat_dec_text(dec, NULL), "One moment.");
	CHECK_STR(chat_dec_finish_reason(dec), "tool_calls");
	CHECK_EQ_INT(chat_dec_end(dec), 0);
	mem_deref(dec);
}

TEST(tool_calls_without_index)
{
	struct chat_dec *dec = NULL;
	struct chat_call c;

	/* some servers send whole calls without an index, or split a
	 * name */
	CHECK_EQ_INT(chat_dec_alloc(&dec), 0);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"delta\":{\"tool_calls\":["
			  "{\"id\":\"a\",\"function\":{\"name\":\"get_\","
			  "\"arguments\":\"{\\\"x\\\":\"}}]}}]}"), 0);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"delta\":{\"tool_calls\":["
			  "{\"function\":{\"name\":\"time\",\"arguments\":"
			  "\"1}\"}}]}}]}"), 0);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"delta\":{\"tool_calls\":["
			  "{\"id\":\"b\",\"function\":{\"name\":\"add_to_dnc\","
			  "\"arguments\":\"{}\"}}]}}]}"), 0);
	CHECK_EQ_INT(chat_dec_ncalls(dec), 2);
	CHECK_EQ_INT(chat_dec_call(dec, 0, &c), 0);
	CHECK_STR(c.name, "get_time");
	CHECK_STR(c.args, "{\"x\":1}");
	CHECK_EQ_INT(chat_dec_call(dec, 1, &c), 0);
	CHECK_STR(c.id, "b");
	CHECK_EQ_INT(chat_dec_end(dec), 0);
	mem_deref(dec);
}

TEST(malformed_chunks)
{
	static const char *const bad[] = {
		"{\"choices\":[{\"delta\":{\"content\":\"x\"}}]",   /* cut */
		"data: {}",
		"[1,2]",
		"{\"choices\":{}}",
		"{\"choices\":[1]}",
		"{\"choices\":[{\"index\":\"0\"}]}",
		"{\"choices\":[{\"delta\":[]}]}",
		"{\"choices\":[{\"delta\":{\"content\":5}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":{}}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":16}]}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-1}]}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
		"\"function\":{\"arguments\":{}}}]}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":[7]}}]}",
		"{\"choices\":[{\"finish_reason\":1}]}",
		"{\"a\":1,\"a\":2}",
	};
	struct chat_dec *dec = NULL;

	CHECK_EQ_INT(chat_dec_alloc(&dec), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		chat_dec_reset(dec);
		if (feed(dec, bad[i]) != EBADMSG) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			CHECK(0);
		}
		CHECK(chat_dec_error(dec) != NULL);
		/* errors stick */
		CHECK_EQ_INT(feed(dec, "{}"), EBADMSG);
	}

	/* the provider's error object */
	chat_dec_reset(dec);
	CHECK_EQ_INT(feed(dec, "{\"error\":{\"message\":\"Rate limit\","
			  "\"type\":\"x\"}}"), EPROTO);
	CHECK_STR(chat_dec_error(dec), "provider error: Rate limit");

	/* a call that never got a name */
	chat_dec_reset(dec);
	CHECK_EQ_INT(feed(dec, "{\"choices\":[{\"delta\":{\"tool_calls\":["
			  "{\"index\":1,\"function\":{\"name\":\"f\"}}]}}]}"),
		     0);
	CHECK_EQ_INT(chat_dec_ncalls(dec), 2);
	CHECK_EQ_INT(chat_dec_end(dec), EBADMSG);
	CHECK_STR(chat_dec_error(dec), "tool call 0 has no name");
	mem_deref(dec);
}

TEST(limits)
{
	struct chat_dec *dec = NULL;
	char *chunk = NULL;
	char *big;
	int err = 0;

	big = mem_zalloc(70000, NULL);
	CHECK(big);
	memset(big, 'a', 69999);
	CHECK_EQ_INT(re_sdprintf(&chunk, "{\"choices\":[{\"delta\":{"
				 "\"content\":\"%s\"}}]}", big), 0);
	CHECK_EQ_INT(chat_dec_alloc(&dec), 0);
	for (int i = 0; i < 4 && !err; i++)
		err = feed(dec, chunk);
	CHECK_EQ_INT(err, EMSGSIZE);
	CHECK_STR(chat_dec_error(dec), "reply too long");
	mem_deref(chunk);

	chat_dec_reset(dec);
	CHECK_EQ_INT(re_sdprintf(&chunk, "{\"choices\":[{\"delta\":{"
				 "\"tool_calls\":[{\"index\":0,\"function\":{"
				 "\"name\":\"%s\"}}]}}]}", big), 0);
	CHECK_EQ_INT(feed(dec, chunk), EMSGSIZE);
	mem_deref(chunk);
	mem_deref(big);
	mem_deref(dec);
}

/* The request body parses as strict JSON and says what it should. */
TEST(request_body)
{
	static const struct chat_tool tools[] = {
		{"end_call", "Hang up", NULL},
		{"lookup", NULL, "{\"type\":\"object\",\"properties\":{\"id\":"
		 "{\"type\":\"integer\"}}}"},
	};
	struct chat_hist *h = NULL;
	struct chat_call calls[2] = {
		{"call_1", "lookup", "{\"id\":7}"},
		{"call_2", "end_call", ""},
	};
	struct chat_req r;
	struct odict *o = NULL;
	char *body = NULL, *exp = NULL;
	int type;

	CHECK_EQ_INT(chat_hist_alloc(&h, 0), 0);
	CHECK_EQ_INT(chat_hist_add(h, CHAT_ASSISTANT, "Hi, I'm \"Ada\"."), 0);
	CHECK_EQ_INT(chat_hist_add(h, CHAT_USER, "Order 7?\n\ttab"), 0);
	CHECK_EQ_INT(chat_hist_add_calls(h, "Checking.", calls, 2), 0);
	CHECK_EQ_INT(chat_hist_add_result(h, "call_1", "{\"status\":\"sent\"}"),
		     0);
	CHECK_EQ_INT(chat_hist_add_result(h, "call_2", "ok"), 0);
	CHECK_EQ_INT(chat_hist_add_calls(h, NULL, calls, 1), 0);
	CHECK_EQ_INT(chat_hist_add_result(h, "call_1", "ok"), 0);
	CHECK_EQ_INT(chat_hist_count(h), 7);
	CHECK_EQ_INT(chat_hist_add(h, CHAT_TOOL, "x"), EINVAL);
	CHECK_EQ_INT(chat_hist_add_calls(h, NULL, calls, 0), EINVAL);

	memset(&r, 0, sizeof(r));
	r.model = "gpt-4o";
	r.system = "Be brief.";
	r.hist = h;
	r.temperature = 0.7;
	r.max_tokens = 300;
	r.tools = tools;
	r.ntools = 2;
	CHECK_EQ_INT(chat_req_encode(&body, &r), 0);
	CHECK_EQ_INT(json_parse(&o, &type, body, strlen(body), NULL), 0);
	CHECK_EQ_INT(type, ODICT_OBJECT);
	exp = body;
	CHECK_STR(exp,
		  "{\"model\":\"gpt-4o\",\"messages\":["
		  "{\"role\":\"system\",\"content\":\"Be brief.\"},"
		  "{\"role\":\"assistant\",\"content\":\"Hi, I'm \\\"Ada\\\".\"},"
		  "{\"role\":\"user\",\"content\":\"Order 7?\\n\\ttab\"},"
		  "{\"role\":\"assistant\",\"content\":\"Checking.\","
		  "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
		  "\"function\":{\"name\":\"lookup\",\"arguments\":"
		  "\"{\\\"id\\\":7}\"}},{\"id\":\"call_2\",\"type\":"
		  "\"function\",\"function\":{\"name\":\"end_call\","
		  "\"arguments\":\"{}\"}}]},"
		  "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":"
		  "\"{\\\"status\\\":\\\"sent\\\"}\"},"
		  "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":"
		  "\"ok\"},"
		  "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
		  "{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
		  "{\"name\":\"lookup\",\"arguments\":\"{\\\"id\\\":7}\"}}]},"
		  "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":"
		  "\"ok\"}],"
		  "\"stream\":true,\"temperature\":0.70,\"max_tokens\":300,"
		  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
		  "\"end_call\",\"description\":\"Hang up\",\"parameters\":"
		  "{\"type\":\"object\",\"properties\":{}}}},"
		  "{\"type\":\"function\",\"function\":{\"name\":\"lookup\","
		  "\"parameters\":{\"type\":\"object\",\"properties\":{\"id\":"
		  "{\"type\":\"integer\"}}}}}]}");
	body = mem_deref(body);
	o = mem_deref(o);

	/* no system, no temperature/max_tokens, tool calls forbidden */
	r.system = NULL;
	r.temperature = -1;
	r.max_tokens = 0;
	r.no_tool_calls = true;
	r.hist = NULL;
	CHECK_EQ_INT(chat_req_encode(&body, &r), 0);
	CHECK_EQ_INT(json_parse(&o, &type, body, strlen(body), NULL), 0);
	CHECK(strstr(body, "\"messages\":[],\"stream\":true,\"tools\":["));
	CHECK(strstr(body, "],\"tool_choice\":\"none\"}"));
	CHECK(!strstr(body, "temperature"));
	body = mem_deref(body);
	o = mem_deref(o);

	r.model = NULL;
	CHECK_EQ_INT(chat_req_encode(&body, &r), EINVAL);
	mem_deref(h);
}

TEST(history_trim_and_set_last)
{
	struct chat_hist *h = NULL;
	struct chat_call call = {"c1", "f", "{}"};
	char *s = NULL;

	CHECK_EQ_INT(chat_hist_alloc(&h, 4), 0);
	CHECK_EQ_INT(chat_hist_add(h, CHAT_ASSISTANT, "greeting"), 0);
	CHECK_EQ_INT(chat_hist_add(h, CHAT_USER, "u1"), 0);
	CHECK_EQ_INT(chat_hist_add_calls(h, NULL, &call, 1), 0);
	CHECK_EQ_INT(chat_hist_add_result(h, "c1", "r"), 0);
	CHECK_EQ_INT(chat_hist_count(h), 4);
	/* over 4: the greeting goes (the history still opens with u1) */
	CHECK_EQ_INT(chat_hist_add(h, CHAT_ASSISTANT, "a1"), 0);
	CHECK_EQ_INT(chat_hist_count(h), 4);
	/* again: u1 goes, and the call and its result after it */
	CHECK_EQ_INT(chat_hist_add(h, CHAT_USER, "u2"), 0);
	CHECK_EQ_INT(re_sdprintf(&s, "%H", chat_hist_print, h), 0);
	CHECK_STR(s, "[{\"role\":\"user\",\"content\":\"u2\"}]");
	s = mem_deref(s);

	/* set_last: only a plain assistant message */
	CHECK_EQ_INT(chat_hist_set_last(h, "x"), ENOENT);
	CHECK_EQ_INT(chat_hist_add(h, CHAT_ASSISTANT, "Long reply. More."), 0);
	CHECK_EQ_INT(chat_hist_set_last(h, "Long reply..."), 0);
	CHECK_EQ_INT(re_sdprintf(&s, "%H", chat_hist_print, h), 0);
	CHECK(strstr(s, "{\"role\":\"assistant\",\"content\":"
		     "\"Long reply...\"}]"));
	s = mem_deref(s);
	CHECK_EQ_INT(chat_hist_set_last(h, NULL), 0);
	CHECK_EQ_INT(chat_hist_count(h), 1);
	mem_deref(h);
}

TEST_MAIN()
