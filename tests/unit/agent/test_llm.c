/* test_llm.c - dlg_openai against a real OpenAI-compatible server: a
 * libre HTTP server on 127.0.0.1 (port 0) in this process, streaming
 * scripted SSE replies with delays (text, tool calls, malformed and
 * stalled streams, HTTP errors) and answering HTTP tool calls, while the
 * dialogue runs on the same libre loop. */
#include "test.h"
#include "agent/provider.h"
#include "agent/rhttp.h"
#include "json/json.h"

extern const struct dlg_ops dlg_openai;

/* ---- the server ---- */

struct step {
	uint32_t delay_ms;         /* after the previous step */
	const char *data;          /* a body chunk; NULL ends the steps */
};

struct resp {
	uint16_t status;
	const char *body;          /* a plain JSON body; NULL: steps */
	const struct step *steps;  /* NULL (and no body): never answer */
	bool stall;                /* after the steps leave the body open */
};

struct rreq {
	struct le le;
	char *method, *path, *auth, *accept, *body;
};

struct srv {
	struct http_sock *sock;
	struct sa addr;
	const struct resp *resps;
	unsigned nresps, next;
	struct list reqs;
	struct list streams;
	uint64_t last_data;        /* when the last SSE chunk went out */
};

struct stream {
	struct le le;
	struct srv *srv;
	struct http_conn *conn;
	const struct step *step;
	bool stall;
	struct tmr tmr;
};

static void rreq_destructor(void *data)
{
	struct rreq *r = data;

	list_unlink(&r->le);
	mem_deref(r->method);
	mem_deref(r->path);
	mem_deref(r->auth);
	mem_deref(r->accept);
	mem_deref(r->body);
}

static void stream_destructor(void *data)
{
	struct stream *st = data;

	tmr_cancel(&st->tmr);
	list_unlink(&st->le);
	mem_deref(st->conn);
}

static void step_h(void *arg)
{
	struct stream *st = arg;
	struct tcp_conn *tc = http_conn_tcp(st->conn);
	struct mbuf *mb;

	if (!tc)
		return;               /* the client went away */

	mb = mbuf_alloc(512);
	if (!mb)
		return;

	if (st->step->data) {
		(void)mbuf_printf(mb, "%zx\r\n%s\r\n", strlen(st->step->data),
				  st->step->data);
		st->srv->last_data = tmr_jiffies();
		++st->step;
		tmr_start(&st->tmr, st->step->delay_ms, step_h, st);
	}
	else if (!st->stall) {
		(void)mbuf_write_str(mb, "0\r\n\r\n");
	}

	mb->pos = 0;
	if (mb->end)
		(void)tcp_send(tc, mb);
	mem_deref(mb);
}

static char *hdr_dup(const struct http_msg *msg, enum http_hdrid id)
{
	const struct http_hdr *h = http_msg_hdr(msg, id);
	char *s = NULL;

	if (h)
		(void)pl_strdup(&s, &h->val);
	return s;
}

static void srv_req(struct http_conn *conn, const struct http_msg *msg,
		    void *arg)
{
	struct srv *srv = arg;
	const struct resp *r;
	struct stream *st;
	struct rreq *q;
	struct mbuf *mb;

	q = mem_zalloc(sizeof(*q), rreq_destructor);
	if (q) {
		(void)pl_strdup(&q->method, &msg->met);
		(void)re_sdprintf(&q->path, "%r%r", &msg->path, &msg->prm);
		q->auth = hdr_dup(msg, HTTP_HDR_AUTHORIZATION);
		q->accept = hdr_dup(msg, HTTP_HDR_ACCEPT);
		(void)re_sdprintf(&q->body, "%b", mbuf_buf(msg->mb),
				  mbuf_get_left(msg->mb));
		list_append(&srv->reqs, &q->le, q);
	}

	if (srv->next >= srv->nresps) {
		(void)http_ereply(conn, 503, "Script Ended");
		return;
	}
	r = &srv->resps[srv->next++];

	if (r->body) {
		(void)http_creply(conn, r->status, r->status < 300 ? "OK" :
				  "Error", "application/json", "%s", r->body);
		return;
	}
	if (!r->steps)
		return;               /* never answer */

	st = mem_zalloc(sizeof(*st), stream_destructor);
	mb = mbuf_alloc(256);
	if (!st || !mb) {
		mem_deref(st);
		mem_deref(mb);
		return;
	}
	st->srv = srv;
	st->conn = mem_ref(conn);
	st->step = r->steps;
	st->stall = r->stall;
	list_append(&srv->streams, &st->le, st);

	(void)mbuf_printf(mb, "HTTP/1.1 %u %s\r\n"
			  "Content-Type: text/event-stream\r\n"
			  "Transfer-Encoding: chunked\r\n\r\n", r->status,
			  r->status < 300 ? "OK" : "Error");
	mb->pos = 0;
	(void)tcp_send(http_conn_tcp(conn), mb);
	mem_deref(mb);
	tmr_start(&st->tmr, st->step->delay_ms, step_h, st);
}

static void noop_req(struct http_conn *conn, const struct http_msg *msg,
		     void *arg)
{
	(void)conn;
	(void)msg;
	(void)arg;
}

static int srv_start(struct srv *srv, const struct resp *resps, unsigned n)
{
	struct sa laddr;
	int err;

	memset(srv, 0, sizeof(*srv));
	srv->resps = resps;
	srv->nresps = n;
	(void)sa_set_str(&laddr, "127.0.0.1", 0);
	err = http_listen(&srv->sock, &laddr, srv_req, srv);
	if (!err)
		err = tcp_sock_local_get(http_sock_tcp(srv->sock), &srv->addr);
	return err;
}

static void srv_stop(struct srv *srv)
{
	list_flush(&srv->streams);
	srv->sock = mem_deref(srv->sock);
	list_flush(&srv->reqs);
}

static const struct rreq *srv_reqat(const struct srv *srv, unsigned i)
{
	struct le *le = list_head(&srv->reqs);

	while (le && i--)
		le = le->next;
	return le ? le->data : NULL;
}

/* ---- the session side ---- */

struct drv {
	void *st;
	char log[4096];
	uint64_t t_first_say;
	int err;
	bool http;
	unsigned ntoken;
	bool in_op, reentered;
	int release_at;            /* release st at this action (1-based) */
	int cancel_at;             /* cancel at this action, with heard */
	const char *heard;
	int nact;
};

struct ctx {
	struct srv srv;
	struct dnsc *dnsc;
	struct http_cli *cli;
	struct agent_env env;
	struct odict *agent, *vars;
	struct drv d;
};

static const char *const act_names[] = {
	"TOKEN", "SAY", "DONE", "END_CALL", "TRANSFER", "DTMF", "DNC",
	"EVENT", "ERROR",
};

static void act_h(const struct dlg_action *a, void *arg)
{
	struct drv *d = arg;
	size_t n = strlen(d->log);

	if (d->in_op)
		d->reentered = true;
	if (a->act == DLG_TOKEN) {
		++d->ntoken;
		return;
	}
	++d->nact;
	if (a->act == DLG_SAY && !d->t_first_say)
		d->t_first_say = tmr_jiffies();
	(void)re_snprintf(d->log + n, sizeof(d->log) - n, "%s%s%s|",
			  act_names[a->act], a->text && a->act != DLG_ERROR ?
			  ":" : "", a->text && a->act != DLG_ERROR ?
			  a->text : "");
	if (a->act == DLG_ERROR) {
		d->err = a->err;
		d->http = a->http;
		if (!a->text || !*a->text)
			d->err = -1;
	}

	if (d->cancel_at == d->nact) {
		dlg_openai.cancel(d->st, d->heard);
		re_cancel();
	}
	if (d->release_at == d->nact) {
		d->st = mem_deref(d->st);
		re_cancel();
		return;
	}
	if (a->act == DLG_DONE || a->act == DLG_ERROR ||
	    a->act == DLG_END_CALL || a->act == DLG_TRANSFER)
		re_cancel();
}

static void guard_h(void *arg)
{
	bool *fired = arg;

	*fired = true;
	re_cancel();
}

/* Run the loop until a turn ends (or ms pass): true when it ended. */
static bool run(uint32_t ms)
{
	struct tmr t;
	bool fired = false;

	tmr_init(&t);
	tmr_start(&t, ms, guard_h, &fired);
	(void)re_main(NULL);
	tmr_cancel(&t);
	return !fired;
}

static int ctx_init(struct ctx *c, const struct resp *resps, unsigned n,
		    uint32_t timeout_ms)
{
	struct sa dns;
	int err;

	memset(c, 0, sizeof(*c));
	err = srv_start(&c->srv, resps, n);
	(void)sa_set_str(&dns, "127.0.0.1", 53);
	err |= dnsc_alloc(&c->dnsc, NULL, &dns, 1);
	if (!err)
		err = http_client_alloc(&c->cli, c->dnsc);
	c->env.http = c->cli;
	c->env.dnsc = c->dnsc;
	c->env.http_timeout_ms = timeout_ms;
	return err;
}

/* The agent config: a JSON text with "@BASE@" and "@TOOL@" replaced by
 * the server's base URL and tool URL. */
static int ctx_dialogue(struct ctx *c, const char *agent, const char *vars)
{
	char *json = NULL, base[64], tool[64];
	struct mbuf *mb = mbuf_alloc(1024);
	const char *p;
	int err = 0;

	if (!mb)
		return ENOMEM;
	(void)re_snprintf(base, sizeof(base), "http://127.0.0.1:%u/v1",
			  sa_port(&c->srv.addr));
	(void)re_snprintf(tool, sizeof(tool), "http://127.0.0.1:%u",
			  sa_port(&c->srv.addr));
	for (p = agent; *p && !err; ) {
		if (!strncmp(p, "@BASE@", 6)) {
			err = mbuf_write_str(mb, base);
			p += 6;
		}
		else if (!strncmp(p, "@TOOL@", 6)) {
			err = mbuf_write_str(mb, tool);
			p += 6;
		}
		else {
			err = mbuf_write_u8(mb, (uint8_t)*p++);
		}
	}
	mb->pos = 0;
	if (!err)
		err = mbuf_strdup(mb, &json, mb->end);
	mem_deref(mb);
	if (err)
		return err;

	err = json_parse(&c->agent, NULL, json, strlen(json), NULL);
	if (!err && vars)
		err = json_parse(&c->vars, NULL, vars, strlen(vars), NULL);
	mem_deref(json);
	if (!err)
		err = dlg_openai.alloc(&c->d.st, &c->env, c->agent, c->vars,
				       act_h, &c->d);
	return err;
}

static void ctx_close(struct ctx *c)
{
	c->d.st = mem_deref(c->d.st);
	srv_stop(&c->srv);
	c->cli = mem_deref(c->cli);
	c->dnsc = mem_deref(c->dnsc);
	c->agent = mem_deref(c->agent);
	c->vars = mem_deref(c->vars);
}

static void clear(struct ctx *c)
{
	c->d.log[0] = '\0';
	c->d.err = 0;
	c->d.http = false;
	c->d.t_first_say = 0;
	c->d.ntoken = 0;
	c->d.nact = 0;
}

/* One user turn run to its end. */
static bool turn(struct ctx *c, const char *text)
{
	int err;

	clear(c);
	c->d.in_op = true;
	err = dlg_openai.user(c->d.st, text);
	c->d.in_op = false;
	return !err && run(5000);
}

/* The body of request i parses as JSON and contains want. */
static bool body_has(const struct ctx *c, unsigned i, const char *want)
{
	const struct rreq *r = srv_reqat(&c->srv, i);
	struct odict *o = NULL;
	bool ok;

	if (!r || !r->body)
		return false;
	ok = !json_parse(&o, NULL, r->body, strlen(r->body), NULL) &&
		strstr(r->body, want);
	mem_deref(o);
	if (!ok)
		fprintf(stderr, "request %u body: %s\nlacks: %s\n", i,
			r->body, want);
	return ok;
}

#define D(s) "data: " s "\n\n"
#define DELTA(s) D("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" \
		   s "\"},\"finish_reason\":null}]}")
#define FINISH(r) D("{\"choices\":[{\"index\":0,\"delta\":{}," \
		    "\"finish_reason\":\"" r "\"}]}")
#define CALL(i, id, name, args) D("{\"choices\":[{\"index\":0,\"delta\":" \
	"{\"tool_calls\":[{\"index\":" #i ",\"id\":\"" id "\",\"type\":" \
	"\"function\",\"function\":{\"name\":\"" name "\",\"arguments\":\"" \
	args "\"}}]}}]}")
#define ARGS(i, args) D("{\"choices\":[{\"index\":0,\"delta\":" \
	"{\"tool_calls\":[{\"index\":" #i ",\"function\":{\"arguments\":\"" \
	args "\"}}]}}]}")
#define DONE D("[DONE]")

static const char agent_basic[] =
	"{\"name\":\"t\",\"system_prompt\":\"You help {name}.\","
	"\"first_message\":\"Hello {name}. How can I help?\","
	"\"llm\":{\"provider\":\"openai\",\"model\":\"test-model\","
	"\"base_url\":\"@BASE@/\",\"api_key\":\"sk-test\","
	"\"temperature\":0.5,\"max_tokens\":120},"
	"\"inbound\":{\"transfer_number\":\"+15550001111\"},"
	"\"tools\":[{\"name\":\"lookup_order\",\"description\":\"Find an "
	"order\",\"url\":\"@TOOL@/tool/lookup\",\"method\":\"POST\","
	"\"auth_header\":\"Token abc\",\"timeout_ms\":2000,\"parameters\":"
	"{\"type\":\"object\",\"properties\":{\"order\":{\"type\":"
	"\"string\"}}}},"
	"{\"name\":\"search\",\"url\":\"@TOOL@/tool/search?v=1\","
	"\"method\":\"GET\"},"
	"{\"name\":\"end_call\",\"url\":\"@TOOL@/shadow\"},"
	"{\"name\":\"bad name!\",\"url\":\"@TOOL@/x\"}]}";

/* ---- tests ---- */

TEST(start_says_first_message_without_request)
{
	struct ctx c;

	CHECK_EQ_INT(ctx_init(&c, NULL, 0, 0), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, "{\"name\":\"Ada\"}"), 0);
	c.d.in_op = true;
	CHECK_EQ_INT(dlg_openai.start(c.d.st), 0);
	c.d.in_op = false;
	CHECK(run(2000));
	CHECK(!c.d.reentered);       /* delivered after start() returned */
	CHECK_STR(c.d.log, "SAY:Hello Ada.|SAY:How can I help?|DONE|");
	CHECK(list_isempty(&c.srv.reqs));
	CHECK(dlg_openai.grammar(c.d.st) == NULL);

	/* silence: only DONE, nothing asked */
	clear(&c);
	c.d.in_op = true;
	CHECK_EQ_INT(dlg_openai.silence(c.d.st), 0);
	c.d.in_op = false;
	CHECK(run(2000));
	CHECK_STR(c.d.log, "DONE|");
	CHECK(list_isempty(&c.srv.reqs));
	ctx_close(&c);

	/* no first message: DONE only */
	CHECK_EQ_INT(ctx_init(&c, NULL, 0, 0), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, "{\"llm\":{\"base_url\":\"@BASE@\"}}",
				  NULL), 0);
	CHECK_EQ_INT(dlg_openai.start(c.d.st), 0);
	CHECK(run(2000));
	CHECK_STR(c.d.log, "DONE|");
	ctx_close(&c);
}

TEST(streams_sentences_before_the_reply_ends)
{
	static const struct step s1[] = {
		{50, DELTA("Hi")}, {150, DELTA(" there. How")},
		{150, DELTA(" are you")}, {150, DELTA("? I am")},
		{150, DELTA(" fine.")}, {50, FINISH("stop") DONE},
		{0, NULL},
	};
	static const struct step s2[] = {
		{10, ": keepalive\r\n\r\n" DELTA("Good") "\r\n"},
		{10, DELTA("bye.") FINISH("stop")},
		{10, DONE}, {0, NULL},
	};
	static const struct resp resps[] = {
		{200, NULL, s1, false}, {200, NULL, s2, false},
	};
	const struct rreq *r;
	struct ctx c;

	CHECK_EQ_INT(ctx_init(&c, resps, 2, 0), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, "{\"name\":\"Ada\"}"), 0);
	CHECK_EQ_INT(dlg_openai.start(c.d.st), 0);
	CHECK(run(2000));

	CHECK(turn(&c, "Hello"));
	CHECK(!c.d.reentered);
	CHECK_STR(c.d.log, "SAY:Hi there.|SAY:How are you?|SAY:I am fine.|"
		  "DONE|");
	CHECK_EQ_INT(c.d.ntoken, 1);
	/* the first sentence came out before the reply's last words */
	CHECK(c.d.t_first_say + 300 < c.srv.last_data);

	r = srv_reqat(&c.srv, 0);
	CHECK(r);
	CHECK_STR(r->method, "POST");
	CHECK_STR(r->path, "/v1/chat/completions");
	CHECK_STR(r->auth, "Bearer sk-test");
	CHECK_STR(r->accept, "text/event-stream");
	CHECK(body_has(&c, 0, "{\"model\":\"test-model\",\"messages\":["
		       "{\"role\":\"system\",\"content\":\"You help Ada.\"},"
		       "{\"role\":\"assistant\",\"content\":\"Hello Ada. How "
		       "can I help?\"},{\"role\":\"user\",\"content\":"
		       "\"Hello\"}],\"stream\":true,\"temperature\":0.50,"
		       "\"max_tokens\":120,\"tools\":[{\"type\":\"function\","
		       "\"function\":{\"name\":\"end_call\""));
	CHECK(body_has(&c, 0, "\"name\":\"transfer_call\""));
	CHECK(body_has(&c, 0, "\"name\":\"send_dtmf\""));
	CHECK(body_has(&c, 0, "\"name\":\"add_to_dnc\""));
	CHECK(body_has(&c, 0, "{\"name\":\"lookup_order\",\"description\":"
		       "\"Find an order\",\"parameters\":{\"type\":\"object\","
		       "\"properties\":{\"order\":{\"type\":\"string\"}}}}"));
	CHECK(body_has(&c, 0, "{\"name\":\"search\",\"parameters\":"));
	/* a tool shadowing a built-in and an invalid name are not offered */
	CHECK(!strstr(r->body, "shadow") && !strstr(r->body, "bad name"));

	/* CRLF, comments and split chunks; the history has the reply */
	CHECK(turn(&c, "Bye"));
	CHECK_STR(c.d.log, "SAY:Goodbye.|DONE|");
	CHECK(body_has(&c, 1, "{\"role\":\"user\",\"content\":\"Hello\"},"
		       "{\"role\":\"assistant\",\"content\":\"Hi there. How "
		       "are you? I am fine.\"},{\"role\":\"user\",\"content\":"
		       "\"Bye\"}]"));
	ctx_close(&c);
}

TEST(http_tools_run_and_the_model_is_asked_again)
{
	static const struct step s1[] = {
		{20, DELTA("Let me check. ")},
		{20, CALL(0, "c1", "lookup_order", "")},
		{20, ARGS(0, "{\\\"order") ARGS(0, "\\\":\\\"A1\\\"}")},
		{20, CALL(1, "c2", "search", "{\\\"q\\\":\\\"a b&c\\\","
			  "\\\"n\\\":2,\\\"x\\\":null}")},
		{20, CALL(2, "c3", "nonexistent", "{}")},
		{20, CALL(3, "c4", "lookup_order", "not json")},
		{20, FINISH("tool_calls") DONE}, {0, NULL},
	};
	static const struct step s2[] = {
		{20, DELTA("Your order has shipped.") FINISH("stop") DONE},
		{0, NULL},
	};
	static const struct resp resps[] = {
		{200, NULL, s1, false},
		{200, "{\"status\":\"shipped\"}", NULL, false},
		{404, "nope", NULL, false},
		{200, NULL, s2, false},
	};
	const struct rreq *r;
	struct ctx c;

	CHECK_EQ_INT(ctx_init(&c, resps, 4, 0), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, NULL), 0);
	CHECK(turn(&c, "Where is order A1?"));
	CHECK_STR(c.d.log, "SAY:Let me check.|SAY:Your order has shipped.|"
		  "DONE|");

	r = srv_reqat(&c.srv, 1);
	CHECK(r);
	CHECK_STR(r->method, "POST");
	CHECK_STR(r->path, "/tool/lookup");
	CHECK_STR(r->auth, "Token abc");
	CHECK_STR(r->body, "{\"order\":\"A1\"}");
	r = srv_reqat(&c.srv, 2);
	CHECK(r);
	CHECK_STR(r->method, "GET");
	CHECK_STR(r->path, "/tool/search?v=1&q=a%20b%26c&n=2");
	CHECK(!r->auth);

	/* the second completion has the calls and all their results */
	CHECK(body_has(&c, 3, "{\"role\":\"user\",\"content\":\"Where is "
		       "order A1?\"},{\"role\":\"assistant\",\"content\":"
		       "\"Let me check.\",\"tool_calls\":[{\"id\":\"c1\","
		       "\"type\":\"function\",\"function\":{\"name\":"
		       "\"lookup_order\",\"arguments\":\"{\\\"order\\\":"
		       "\\\"A1\\\"}\"}},"));
	CHECK(body_has(&c, 3, "{\"role\":\"tool\",\"tool_call_id\":\"c1\","
		       "\"content\":\"{\\\"status\\\":\\\"shipped\\\"}\"},"
		       "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":"
		       "\"{\\\"error\\\":\\\"HTTP 404\\\",\\\"body\\\":"
		       "\\\"nope\\\"}\"},"
		       "{\"role\":\"tool\",\"tool_call_id\":\"c3\",\"content\":"
		       "\"{\\\"error\\\":\\\"unknown tool\\\"}\"},"
		       "{\"role\":\"tool\",\"tool_call_id\":\"c4\",\"content\":"
		       "\"{\\\"error\\\":\\\"arguments are not a JSON "
		       "object\\\"}\"}]"));
	CHECK(!strstr(srv_reqat(&c.srv, 0)->body, "tool_choice"));
	CHECK(!strstr(srv_reqat(&c.srv, 3)->body, "tool_choice"));

	ctx_close(&c);
}

TEST(tool_timeout_and_refused_connection)
{
	static const struct step s1[] = {
		{10, CALL(0, "", "slow", "{}") CALL(1, "", "closed", "{}")
		 FINISH("tool_calls") DONE}, {0, NULL},
	};
	static const struct step s2[] = {
		{10, DELTA("Sorry.") FINISH("stop") DONE}, {0, NULL},
	};
	static const struct resp resps[] = {
		{200, NULL, s1, false},
		{200, NULL, NULL, false},     /* the slow tool never answers */
		{200, NULL, s2, false},
	};
	struct http_sock *closed = NULL;
	struct sa a;
	struct ctx c;
	char agent[1024];
	uint64_t t0;

	/* a port nobody listens on any more */
	(void)sa_set_str(&a, "127.0.0.1", 0);
	CHECK_EQ_INT(http_listen(&closed, &a, noop_req, NULL), 0);
	CHECK_EQ_INT(tcp_sock_local_get(http_sock_tcp(closed), &a), 0);
	closed = mem_deref(closed);

	CHECK_EQ_INT(ctx_init(&c, resps, 3, 0), 0);
	(void)re_snprintf(agent, sizeof(agent),
			  "{\"llm\":{\"base_url\":\"@BASE@\"},\"tools\":["
			  "{\"name\":\"slow\",\"url\":\"@TOOL@/slow\","
			  "\"timeout_ms\":300},"
			  "{\"name\":\"closed\",\"url\":"
			  "\"http://127.0.0.1:%u/x\"}]}", sa_port(&a));
	CHECK_EQ_INT(ctx_dialogue(&c, agent, NULL), 0);
	t0 = tmr_jiffies();
	CHECK(turn(&c, "Go"));
	CHECK(tmr_jiffies() - t0 >= 300);
	CHECK_STR(c.d.log, "SAY:Sorry.|DONE|");
	/* generated ids tie the results to the calls */
	CHECK(body_has(&c, 2, "\"tool_calls\":[{\"id\":\"call_1\""));
	CHECK(body_has(&c, 2, "{\"role\":\"tool\",\"tool_call_id\":"
		       "\"call_1\",\"content\":\"{\\\"error\\\":\\\"timed "
		       "out\\\"}\"}"));
	CHECK(body_has(&c, 2, "{\"role\":\"tool\",\"tool_call_id\":"
		       "\"call_2\",\"content\":\"{\\\"error\\\":\\\"request "
		       "failed: "));
	ctx_close(&c);
}

TEST(builtin_tools_become_actions)
{
	static const struct step s_end[] = {
		{10, DELTA("Goodbye!") CALL(0, "e1", "end_call", "{}")
		 FINISH("tool_calls") DONE}, {0, NULL},
	};
	static const struct step s_endmsg[] = {
		{10, CALL(0, "e2", "end_call", "{\\\"message\\\":\\\"Bye now. "
			  "Take care.\\\"}") CALL(1, "e3", "add_to_dnc", "{}")
		 FINISH("tool_calls") DONE}, {0, NULL},
	};
	static const struct step s_xfer[] = {
		{10, CALL(0, "t1", "transfer_call", "{}")
		 FINISH("tool_calls") DONE}, {0, NULL},
	};
	static const struct step s_xfer2[] = {
		{10, CALL(0, "t2", "transfer_call", "{\\\"number\\\":"
			  "\\\"+15559990000\\\"}") FINISH("tool_calls") DONE},
		{0, NULL},
	};
	static const struct step s_dtmf[] = {
		{10, CALL(0, "d1", "send_dtmf", "{\\\"digits\\\":\\\"12#\\\"}")
		 CALL(1, "d2", "send_dtmf", "{\\\"digits\\\":\\\"x\\\"}")
		 FINISH("tool_calls") DONE}, {0, NULL},
	};
	static const struct step s_sent[] = {
		{10, DELTA("Sent.") FINISH("stop") DONE}, {0, NULL},
	};
	static const struct step s_dnc[] = {
		{10, CALL(0, "n1", "add_to_dnc", "") FINISH("tool_calls") DONE},
		{0, NULL},
	};
	static const struct step s_after_dnc[] = {
		{10, FINISH("stop") DONE}, {0, NULL},   /* nothing to add */
	};
	static const struct resp resps[] = {
		{200, NULL, s_end, false},
		{200, NULL, s_endmsg, false},
		{200, NULL, s_xfer, false},
		{200, NULL, s_xfer2, false},
		{200, NULL, s_dtmf, false}, {200, NULL, s_sent, false},
		{200, NULL, s_dnc, false}, {200, NULL, s_after_dnc, false},
	};
	struct ctx c;

	CHECK_EQ_INT(ctx_init(&c, resps, ARRAY_SIZE(resps), 0), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, NULL), 0);

	CHECK(turn(&c, "I'm done"));
	CHECK_STR(c.d.log, "SAY:Goodbye!|END_CALL|");
	CHECK(!run(200));               /* nothing more, no new request */
	CHECK_EQ_INT(c.srv.next, 1);

	/* the goodbye in the arguments is said; the call after end_call
	 * is not run */
	CHECK(turn(&c, "Bye"));
	CHECK_STR(c.d.log, "SAY:Bye now.|SAY:Take care.|END_CALL|");

	CHECK(turn(&c, "A human please"));
	CHECK_STR(c.d.log, "TRANSFER:+15550001111|");
	CHECK(turn(&c, "Another"));
	CHECK_STR(c.d.log, "TRANSFER:+15559990000|");

	CHECK(turn(&c, "Press 1 2 hash"));
	CHECK_STR(c.d.log, "DTMF:12#|SAY:Sent.|DONE|");
	CHECK(body_has(&c, 5, "{\"role\":\"tool\",\"tool_call_id\":\"d1\","
		       "\"content\":\"ok\"},{\"role\":\"tool\",\"tool_call_id\":"
		       "\"d2\",\"content\":\"{\\\"error\\\":"));

	/* an empty reply after a tool round is not an error */
	CHECK(turn(&c, "Never call me again"));
	CHECK_STR(c.d.log, "DNC|DONE|");

	/* the history of all that is valid: every call has its result */
	CHECK(body_has(&c, 1, "{\"role\":\"assistant\",\"content\":"
		       "\"Goodbye!\",\"tool_calls\":[{\"id\":\"e1\""));
	CHECK(body_has(&c, 1, "{\"role\":\"tool\",\"tool_call_id\":\"e1\","
		       "\"content\":\"ok\"},{\"role\":\"user\""));
	CHECK(body_has(&c, 2, "{\"role\":\"tool\",\"tool_call_id\":\"e2\","
		       "\"content\":\"ok\"},{\"role\":\"tool\",\"tool_call_id\":"
		       "\"e3\",\"content\":\"{\\\"error\\\":\\\"not run: the "
		       "call ended\\\"}\"},{\"role\":\"assistant\",\"content\":"
		       "\"Bye now. Take care.\"},{\"role\":\"user\""));
	ctx_close(&c);
}

TEST(tool_rounds_are_limited)
{
	static const struct step s_call[] = {
		{5, CALL(0, "", "lookup_order", "{}") FINISH("tool_calls") DONE},
		{0, NULL},
	};
	static const struct step s_text[] = {
		{5, DELTA("Done.") FINISH("stop") DONE}, {0, NULL},
	};
	static const struct resp resps[] = {
		{200, NULL, s_call, false}, {200, "{}", NULL, false},
		{200, NULL, s_call, false}, {200, "{}", NULL, false},
		{200, NULL, s_call, false}, {200, "{}", NULL, false},
		{200, NULL, s_call, false}, {200, "{}", NULL, false},
		{200, NULL, s_call, false}, {200, "{}", NULL, false},
		{200, NULL, s_text, false},
	};
	struct ctx c;

	CHECK_EQ_INT(ctx_init(&c, resps, ARRAY_SIZE(resps), 0), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, NULL), 0);
	CHECK(turn(&c, "Loop"));
	CHECK_STR(c.d.log, "SAY:Done.|DONE|");
	CHECK_EQ_INT(c.srv.next, 11);
	for (unsigned i = 0; i < 10; i += 2)
		CHECK(!strstr(srv_reqat(&c.srv, i)->body, "tool_choice"));
	CHECK(body_has(&c, 10, ",\"tool_choice\":\"none\"}"));
	CHECK(body_has(&c, 10, "\"tool_call_id\":\"call_5\""));
	ctx_close(&c);
}

TEST(failures_are_errors_without_done)
{
	static const struct step s_bad[] = {
		{10, DELTA("Fine. ")}, {10, D("{not json}")}, {0, NULL},
	};
	static const struct step s_perr[] = {
		{10, D("{\"error\":{\"message\":\"overloaded\"}}")}, {0, NULL},
	};
	static const struct step s_empty[] = {
		{10, FINISH("stop") DONE}, {0, NULL},
	};
	static const struct step s_early[] = {
		{10, DELTA("Partial. answ")}, {0, NULL},
	};
	static const struct step s_stall[] = {
		{10, DELTA("Hmm")}, {0, NULL},
	};
	static const struct step s_slow[] = {   /* idle gaps under 300 ms */
		{200, DELTA("One.")}, {200, DELTA(" Two.")},
		{200, DELTA(" Three.")}, {200, DELTA(" Four.")},
		{200, FINISH("stop")}, {200, DONE}, {0, NULL},
	};
	static const struct step s_ok[] = {
		{10, DELTA("Back.") FINISH("stop") DONE}, {0, NULL},
	};
	static const struct resp resps[] = {
		{500, "{\"error\":{\"message\":\"boom\"}}", NULL, false},
		{200, NULL, s_bad, false},
		{200, NULL, s_perr, false},
		{200, NULL, s_empty, false},
		{200, NULL, s_early, false},
		{200, NULL, s_stall, true},
		{200, NULL, NULL, false},           /* no answer at all */
		{200, NULL, s_slow, false},
		{200, NULL, s_ok, false},
	};
	struct ctx c;
	uint64_t t0;

	CHECK_EQ_INT(ctx_init(&c, resps, ARRAY_SIZE(resps), 300), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, NULL), 0);

	CHECK(turn(&c, "a"));
	CHECK_STR(c.d.log, "ERROR|");
	CHECK_EQ_INT(c.d.err, EPROTO);
	CHECK(c.d.http);

	CHECK(turn(&c, "b"));
	CHECK_STR(c.d.log, "SAY:Fine.|ERROR|");
	CHECK_EQ_INT(c.d.err, EBADMSG);
	CHECK(!c.d.http);

	CHECK(turn(&c, "c"));
	CHECK_STR(c.d.log, "ERROR|");
	CHECK_EQ_INT(c.d.err, EPROTO);
	CHECK(!c.d.http);

	CHECK(turn(&c, "d"));
	CHECK_STR(c.d.log, "ERROR|");
	CHECK_EQ_INT(c.d.err, ENODATA);

	CHECK(turn(&c, "e"));
	CHECK_STR(c.d.log, "SAY:Partial.|ERROR|");
	CHECK_EQ_INT(c.d.err, EPROTO);

	/* stalled after the first bytes: an idle timeout */
	t0 = tmr_jiffies();
	CHECK(turn(&c, "f"));
	CHECK_STR(c.d.log, "ERROR|");
	CHECK_EQ_INT(c.d.err, ETIMEDOUT);
	CHECK(c.d.http);
	CHECK(tmr_jiffies() - t0 >= 300 && tmr_jiffies() - t0 < 2000);

	t0 = tmr_jiffies();
	CHECK(turn(&c, "g"));
	CHECK_STR(c.d.log, "ERROR|");
	CHECK_EQ_INT(c.d.err, ETIMEDOUT);
	CHECK(tmr_jiffies() - t0 >= 300 && tmr_jiffies() - t0 < 2000);

	/* longer than the timeout in all, but never idle that long */
	t0 = tmr_jiffies();
	CHECK(turn(&c, "h"));
	CHECK_STR(c.d.log, "SAY:One.|SAY:Two.|SAY:Three.|SAY:Four.|DONE|");
	CHECK(tmr_jiffies() - t0 >= 1000);

	/* the dialogue goes on; failed turns left only their user lines */
	CHECK(turn(&c, "i"));
	CHECK_STR(c.d.log, "SAY:Back.|DONE|");
	CHECK(body_has(&c, 8, "{\"role\":\"user\",\"content\":\"g\"},"
		       "{\"role\":\"user\",\"content\":\"h\"},{\"role\":"
		       "\"assistant\",\"content\":\"One. Two. Three. Four.\"},"
		       "{\"role\":\"user\",\"content\":\"i\"}]"));
	ctx_close(&c);
}

TEST(connection_refused_is_an_http_error)
{
	struct http_sock *closed = NULL;
	struct sa a;
	struct ctx c;
	char agent[256];

	(void)sa_set_str(&a, "127.0.0.1", 0);
	CHECK_EQ_INT(http_listen(&closed, &a, noop_req, NULL), 0);
	CHECK_EQ_INT(tcp_sock_local_get(http_sock_tcp(closed), &a), 0);
	closed = mem_deref(closed);

	CHECK_EQ_INT(ctx_init(&c, NULL, 0, 0), 0);
	(void)re_snprintf(agent, sizeof(agent), "{\"llm\":{\"base_url\":"
			  "\"http://127.0.0.1:%u/v1\"}}", sa_port(&a));
	CHECK_EQ_INT(ctx_dialogue(&c, agent, NULL), 0);
	CHECK(turn(&c, "hello"));
	CHECK_STR(c.d.log, "ERROR|");
	CHECK_EQ_INT(c.d.err, ECONNREFUSED);
	CHECK(c.d.http);
	ctx_close(&c);

	/* no HTTP client at all: the error still comes as an action */
	CHECK_EQ_INT(ctx_init(&c, NULL, 0, 0), 0);
	c.env.http = NULL;
	CHECK_EQ_INT(ctx_dialogue(&c, agent, NULL), 0);
	CHECK(turn(&c, "hello"));
	CHECK(!c.d.reentered);
	CHECK_STR(c.d.log, "ERROR|");
	CHECK_EQ_INT(c.d.err, EINVAL);
	ctx_close(&c);
}

TEST(barge_in_records_what_was_heard)
{
	static const struct step s_slow[] = {
		{10, DELTA("First part. ")}, {400, DELTA("Never heard. ")},
		{10, FINISH("stop") DONE}, {0, NULL},
	};
	static const struct step s_full[] = {
		{10, DELTA("One sentence. Another sentence.") FINISH("stop")
		 DONE}, {0, NULL},
	};
	static const struct step s_ok[] = {
		{10, DELTA("Ok.") FINISH("stop") DONE}, {0, NULL},
	};
	static const struct resp resps[] = {
		{200, NULL, s_slow, false}, {200, NULL, s_full, false},
		{200, NULL, s_full, false}, {200, NULL, s_ok, false},
	};
	struct ctx c;

	CHECK_EQ_INT(ctx_init(&c, resps, ARRAY_SIZE(resps), 0), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, "{\"name\":\"Bo\"}"), 0);

	/* cut off while streaming, from inside the handler */
	c.d.cancel_at = 1;
	c.d.heard = "First part.";
	CHECK(turn(&c, "one"));
	CHECK_STR(c.d.log, "SAY:First part.|");
	c.d.cancel_at = 0;
	CHECK(!run(600));                    /* nothing more of that reply */
	CHECK_STR(c.d.log, "SAY:First part.|");

	/* cut off after DONE, while the reply was still playing */
	CHECK(turn(&c, "two"));
	CHECK_STR(c.d.log, "SAY:One sentence.|SAY:Another sentence.|DONE|");
	dlg_openai.cancel(c.d.st, "One sentence.");
	CHECK(body_has(&c, 0, "{\"role\":\"user\",\"content\":\"one\"}]"));

	/* heard nothing of it: it is gone from the history */
	CHECK(turn(&c, "three"));
	dlg_openai.cancel(c.d.st, "");

	CHECK(turn(&c, "four"));
	CHECK_STR(c.d.log, "SAY:Ok.|DONE|");
	CHECK(body_has(&c, 3, "{\"role\":\"user\",\"content\":\"one\"},"
		       "{\"role\":\"assistant\",\"content\":\"First part....\"},"
		       "{\"role\":\"user\",\"content\":\"two\"},"
		       "{\"role\":\"assistant\",\"content\":\"One sentence....\"},"
		       "{\"role\":\"user\",\"content\":\"three\"},"
		       "{\"role\":\"user\",\"content\":\"four\"}]"));

	ctx_close(&c);
}

TEST(dtmf_is_a_user_message)
{
	static const struct step s_ok[] = {
		{10, DELTA("You pressed five.") FINISH("stop") DONE}, {0, NULL},
	};
	static const struct resp resps[] = {{200, NULL, s_ok, false}};
	struct ctx c;

	CHECK_EQ_INT(ctx_init(&c, resps, 1, 0), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, NULL), 0);
	CHECK_EQ_INT(dlg_openai.dtmf(c.d.st, 'x'), EINVAL);
	clear(&c);
	CHECK_EQ_INT(dlg_openai.dtmf(c.d.st, '5'), 0);
	CHECK(run(5000));
	CHECK_STR(c.d.log, "SAY:You pressed five.|DONE|");
	CHECK(body_has(&c, 0, "{\"role\":\"user\",\"content\":\"[DTMF 5]\"}]"));
	ctx_close(&c);
}

/* The session may release the dialogue from inside any action. */
TEST(release_inside_actions)
{
	static const struct step s_long[] = {
		{10, DELTA("One. Two.")}, {50, DELTA(" Three.")},
		{50, FINISH("stop") DONE}, {0, NULL},
	};
	static const struct step s_end[] = {
		{10, DELTA("Bye.") CALL(0, "e", "end_call", "{}")
		 FINISH("tool_calls") DONE}, {0, NULL},
	};
	static const struct resp resps[] = {
		{200, NULL, s_long, false}, {200, NULL, s_long, false},
		{200, NULL, s_end, false},
	};
	static const int at[] = {1, 4, 2};    /* a SAY, DONE, END_CALL */
	struct ctx c;

	CHECK_EQ_INT(ctx_init(&c, resps, ARRAY_SIZE(resps), 0), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(at); i++) {
		CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, NULL), 0);
		c.d.release_at = at[i];
		CHECK(turn(&c, "x"));
		CHECK(c.d.st == NULL);
		CHECK_EQ_INT(c.d.nact, at[i]);
		c.agent = mem_deref(c.agent);
		(void)run(150);       /* the server side winds down */
	}
	CHECK_EQ_INT(c.srv.next, 3);
	ctx_close(&c);
}

/* Released with a request in flight: nothing is called any more. */
TEST(release_with_requests_in_flight)
{
	static const struct step s_tool[] = {
		{10, DELTA("Checking.") CALL(0, "l", "lookup_order", "{}")
		 FINISH("tool_calls") DONE}, {0, NULL},
	};
	static const struct resp resps[] = {
		{200, NULL, NULL, false},        /* completion: no answer */
		{200, NULL, s_tool, false},
		{200, NULL, NULL, false},        /* the tool: no answer */
	};
	struct ctx c;

	CHECK_EQ_INT(ctx_init(&c, resps, ARRAY_SIZE(resps), 0), 0);
	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, NULL), 0);
	CHECK_EQ_INT(dlg_openai.user(c.d.st, "x"), 0);
	CHECK(!run(100));
	CHECK_EQ_INT(c.srv.next, 1);
	c.d.st = mem_deref(c.d.st);
	CHECK(!run(100));
	CHECK_STR(c.d.log, "");
	c.agent = mem_deref(c.agent);

	CHECK_EQ_INT(ctx_dialogue(&c, agent_basic, NULL), 0);
	CHECK_EQ_INT(dlg_openai.user(c.d.st, "x"), 0);
	CHECK(!run(200));
	CHECK_STR(c.d.log, "SAY:Checking.|");
	CHECK_EQ_INT(c.srv.next, 3);             /* the tool was called */
	c.d.st = mem_deref(c.d.st);
	CHECK(!run(100));
	CHECK_STR(c.d.log, "SAY:Checking.|");
	ctx_close(&c);
}

/* ---- rhttp directly ---- */

struct rh_state {
	struct rhttp *req;
	int ndone, err, data_err;
	uint16_t status;
	char ctype[64];
	char *body;
	size_t ndata, nchunks;
	bool release_in_data, release_in_done;
};

static int rh_data(const uint8_t *p, size_t n, void *arg)
{
	struct rh_state *s = arg;

	(void)p;
	s->ndata += n;
	++s->nchunks;
	if (s->release_in_data) {
		s->req = mem_deref(s->req);
		re_cancel();
	}
	return s->data_err;
}

static void rh_done(int err, uint16_t status, const char *ctype,
		    struct mbuf *body, void *arg)
{
	struct rh_state *s = arg;

	++s->ndone;
	s->err = err;
	s->status = status;
	str_ncpy(s->ctype, ctype ? ctype : "", sizeof(s->ctype));
	if (body)
		(void)re_sdprintf(&s->body, "%s", (const char *)mbuf_buf(body));
	if (s->release_in_done)
		s->req = mem_deref(s->req);
	re_cancel();
}

static int rh_go(struct ctx *c, struct rh_state *s, const char *path,
		 bool collect, bool stream)
{
	struct rhttp_opts o;
	char url[128];

	(void)re_snprintf(url, sizeof(url), "http://127.0.0.1:%u%s",
			  sa_port(&c->srv.addr), path);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.bearer = "k";
	o.ctype = "text/plain";
	o.body = (const uint8_t *)"hi";
	o.body_len = 2;
	o.extra_headers = "Accept: text/event-stream\r\n";
	o.timeout_ms = 500;
	o.collect = collect;
	return rhttp_request(&s->req, c->cli, &o, stream ? rh_data : NULL,
			     rh_done, s);
}

TEST(rhttp_modes_and_errors)
{
	static const struct step s_chunks[] = {
		{10, "abc"}, {10, "defg"}, {10, "h"}, {0, NULL},
	};
	static char big[200001];
	static const struct resp resps[] = {
		{200, big, NULL, false},          /* collect, no data handler */
		{200, NULL, s_chunks, false},     /* stream and collect */
		{500, "{\"error\":\"x\"}", NULL, false},
		{200, NULL, s_chunks, false},     /* the handler fails */
		{200, NULL, s_chunks, false},     /* released in the handler */
		{200, "{}", NULL, false},         /* released in done */
		{200, NULL, NULL, false},         /* never answered */
	};
	struct rh_state s;
	struct rhttp_opts o;
	struct ctx c;
	const struct rreq *r;

	memset(big, 'z', sizeof(big) - 1);
	CHECK_EQ_INT(ctx_init(&c, resps, ARRAY_SIZE(resps), 0), 0);

	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(rh_go(&c, &s, "/a?b=1", true, false), 0);
	CHECK(run(3000));
	CHECK_EQ_INT(s.ndone, 1);
	CHECK_EQ_INT(s.err, 0);
	CHECK_EQ_INT(s.status, 200);
	CHECK_STR(s.ctype, "application/json");
	CHECK(s.body && strlen(s.body) == sizeof(big) - 1);
	r = srv_reqat(&c.srv, 0);
	CHECK(r);
	CHECK_STR(r->path, "/a?b=1");
	CHECK_STR(r->auth, "Bearer k");
	CHECK_STR(r->body, "hi");
	s.body = mem_deref(s.body);
	s.req = mem_deref(s.req);

	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(rh_go(&c, &s, "/s", true, true), 0);
	CHECK(run(3000));
	CHECK_EQ_INT(s.ndone, 1);
	CHECK_EQ_INT(s.err, 0);
	CHECK_EQ_INT(s.ndata, 8);
	CHECK(s.nchunks >= 2);
	CHECK_STR(s.ctype, "text/event-stream");
	CHECK_STR(s.body, "abcdefgh");
	s.body = mem_deref(s.body);
	s.req = mem_deref(s.req);

	/* an error status: its body for the log, not to the handler */
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(rh_go(&c, &s, "/e", false, true), 0);
	CHECK(run(3000));
	CHECK_EQ_INT(s.ndone, 1);
	CHECK_EQ_INT(s.status, 500);
	CHECK_EQ_INT(s.ndata, 0);
	CHECK_STR(s.body, "{\"error\":\"x\"}");
	s.body = mem_deref(s.body);
	s.req = mem_deref(s.req);

	memset(&s, 0, sizeof(s));
	s.data_err = EINTR;
	CHECK_EQ_INT(rh_go(&c, &s, "/f", false, true), 0);
	CHECK(run(3000));
	CHECK_EQ_INT(s.ndone, 1);
	CHECK_EQ_INT(s.err, EINTR);
	CHECK_EQ_INT(s.nchunks, 1);
	s.req = mem_deref(s.req);

	memset(&s, 0, sizeof(s));
	s.release_in_data = true;
	CHECK_EQ_INT(rh_go(&c, &s, "/r", false, true), 0);
	CHECK(run(3000));
	CHECK(!run(100));
	CHECK_EQ_INT(s.ndone, 0);
	CHECK_EQ_INT(s.nchunks, 1);
	CHECK(s.req == NULL);

	memset(&s, 0, sizeof(s));
	s.release_in_done = true;
	CHECK_EQ_INT(rh_go(&c, &s, "/d", false, false), 0);
	CHECK(run(3000));
	CHECK_EQ_INT(s.ndone, 1);
	CHECK(s.req == NULL);

	/* the deadline holds for a server that never answers */
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(rh_go(&c, &s, "/none", false, false), 0);
	CHECK(run(3000));
	CHECK_EQ_INT(s.ndone, 1);
	CHECK_EQ_INT(s.err, ETIMEDOUT);
	CHECK_EQ_INT(s.status, 0);
	s.req = mem_deref(s.req);

	/* bad requests fail at once, with no done call */
	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	o.url = "http://127.0.0.1:1/";
	o.auth = "x\r\nInjected: 1";
	CHECK_EQ_INT(rhttp_request(&s.req, c.cli, &o, NULL, rh_done, &s),
		     EINVAL);
	o.auth = NULL;
	o.extra_headers = "X-A: 1";
	CHECK_EQ_INT(rhttp_request(&s.req, c.cli, &o, NULL, rh_done, &s),
		     EINVAL);
	o.extra_headers = "X-A: 1\r\n\r\nGET / HTTP/1.1\r\n";
	CHECK_EQ_INT(rhttp_request(&s.req, c.cli, &o, NULL, rh_done, &s),
		     EINVAL);
	o.extra_headers = NULL;
	o.url = "ftp://127.0.0.1/";
	CHECK(rhttp_request(&s.req, c.cli, &o, NULL, rh_done, &s) != 0);
	o.url = NULL;
	CHECK_EQ_INT(rhttp_request(&s.req, c.cli, &o, NULL, rh_done, &s),
		     EINVAL);
	CHECK(!run(50));
	CHECK_EQ_INT(s.ndone, 0);
	CHECK(s.req == NULL);
	ctx_close(&c);
}

TEST_MAIN()
