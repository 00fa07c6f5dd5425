/* test_scenario.c - scenario checks and the "scenario" dialogue provider:
 * whole conversations, asserted as a log of the actions they produce. */
#include "test.h"
#include <stdarg.h>
#include "agent/provider.h"
#include "agent/scenario.h"
#include "http/httpd.h"
#include "json/json.h"

extern const struct dlg_ops dlg_scenario;

static const char booking[] =
"{\"start\":\"greet\",\"steps\":{"
" \"greet\":{\"type\":\"say\",\"text\":\"Hello {name}, this is the Parley "
"clinic.\",\"next\":\"ask_book\"},"
" \"ask_book\":{\"type\":\"ask\",\"text\":\"Would you like to book an "
"appointment?\",\"expect\":\"yes_no\",\"slot\":\"wants\","
"  \"branches\":{\"yes\":\"ask_day\",\"no\":\"bye\"},"
"  \"no_match\":{\"text\":\"Sorry, please say yes or no.\",\"max\":2,"
"  \"next\":\"bye\"}},"
" \"ask_day\":{\"type\":\"ask\",\"text\":\"Which day suits you, Monday, "
"Tuesday or Wednesday?\",\"expect\":\"choice\",\"choices\":[\"monday\","
"\"tuesday\",\"wednesday\"],\"slot\":\"day\",\"next\":\"confirm\"},"
" \"confirm\":{\"type\":\"say\",\"text\":\"You are booked for {day}. "
"Goodbye.\",\"next\":\"end\"},"
" \"bye\":{\"type\":\"say\",\"text\":\"Okay, goodbye.\",\"next\":\"end\"},"
" \"end\":{\"type\":\"hangup\"}}}";


/* ---- the action log ---- */

struct rec {
	char log[8192];
	void *st;              /* released on end when release_on_end */
	bool release_on_end;
	bool cancel_on_say;
	bool stop_on_done;     /* re_cancel() on DLG_DONE */
	unsigned dones;
	bool http_error;
	char last_step_data[512];
};


static void logf_(struct rec *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(struct rec *r, const char *fmt, ...)
{
	size_t l = strlen(r->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->log + l, sizeof(r->log) - l, fmt, ap);
	va_end(ap);
}


static const char *s_(const char *s)
{
	return s ? s : "(null)";
}


static void action_h(const struct dlg_action *a, void *arg)
{
	struct rec *r = arg;
	struct odict *o = NULL;

	switch (a->act) {

	case DLG_SAY:
		logf_(r, "say %s\n", s_(a->text));
		if (r->cancel_on_say)
			dlg_scenario.cancel(r->st, "");
		break;

	case DLG_DONE:
		logf_(r, "done\n");
		++r->dones;
		if (r->stop_on_done)
			re_cancel();
		break;

	case DLG_END_CALL:
		logf_(r, "end\n");
		if (r->release_on_end)
			r->st = mem_deref(r->st);
		break;

	case DLG_TRANSFER:
		logf_(r, "transfer %s\n", s_(a->text));
		break;

	case DLG_DNC:
		logf_(r, "dnc\n");
		break;

	case DLG_ERROR:
		logf_(r, "error %s\n", s_(a->text));
		r->http_error = a->http;
		break;

	case DLG_EVENT:
		if (a->data && json_parse(&o, NULL, a->data,
					  strlen(a->data), NULL)) {
			logf_(r, "bad event data %s\n", a->data);
			break;
		}
		if (!strcmp(a->text, "scenario.step")) {
			logf_(r, "step %s\n", s_(odict_string(o, "step")));
			snprintf(r->last_step_data, sizeof(r->last_step_data),
				 "%s", a->data);
		}
		else if (!strcmp(a->text, "scenario.completed"))
			logf_(r, "completed %s at %s\n",
			      s_(odict_string(o, "outcome")),
			      s_(odict_string(o, "step")));
		else if (!strcmp(a->text, "scenario.no_match"))
			logf_(r, "no_match %s\n",
			      s_(odict_string(o, "step")));
		else
			logf_(r, "event %s\n", s_(a->text));
		mem_deref(o);
		break;

	default:
		logf_(r, "other\n");
		break;
	}
}


static struct odict *parse(const char *json)
{
	struct odict *o = NULL;

	(void)json_parse(&o, NULL, json, strlen(json), NULL);
	return o;
}


/* a dialogue for scenario json and contact vars json (or NULL) */
static int dlg_new(struct rec *r, const struct agent_env *env,
		   const char *scn, const char *vars)
{
	struct odict *agent = NULL, *s = parse(scn), *v = NULL;
	int err;

	memset(r, 0, sizeof(*r));
	if (!s)
		return EBADMSG;
	if (vars)
		v = parse(vars);
	err = odict_alloc(&agent, 8);
	if (!err)
		err = odict_entry_add(agent, "scenario", ODICT_OBJECT, s);
	if (!err)
		err = dlg_scenario.alloc(&r->st, env, agent, v, action_h, r);
	/* the provider keeps what it needs */
	mem_deref(agent);
	mem_deref(s);
	mem_deref(v);
	return err;
}


static const char *turn(struct rec *r, int err)
{
	static char out[8192];

	if (err)
		snprintf(out, sizeof(out), "(error %d)", err);
	else
		snprintf(out, sizeof(out), "%s", r->log);
	r->log[0] = '\0';
	return out;
}

#define START(r)   turn(r, dlg_scenario.start((r)->st))
#define USER(r, t) turn(r, dlg_scenario.user((r)->st, t))
#define SILENCE(r) turn(r, dlg_scenario.silence((r)->st))
#define DTMF(r, d) turn(r, dlg_scenario.dtmf((r)->st, d))


/* ---- conversations ---- */

TEST(booking_yes)
{
	struct rec r;

	CHECK_EQ_INT(dlg_new(&r, NULL, booking, "{\"name\":\"Ann\"}"), 0);
	CHECK_STR(START(&r),
		  "step greet\n"
		  "say Hello Ann, this is the Parley clinic.\n"
		  "step ask_book\n"
		  "say Would you like to book an appointment?\n"
		  "done\n");
	CHECK(dlg_scenario.grammar(r.st));
	CHECK(strstr(dlg_scenario.grammar(r.st), "yes | sure"));

	CHECK_STR(USER(&r, "Yeah, sure."),
		  "step ask_day\n"
		  "say Which day suits you, Monday, Tuesday or Wednesday?\n"
		  "done\n");
	CHECK_STR(r.last_step_data,
		  "{\"step\":\"ask_day\",\"slots\":{\"wants\":\"yes\"}}");
	CHECK(strstr(dlg_scenario.grammar(r.st), "monday | tuesday"));

	CHECK_STR(USER(&r, "Tuesday would be great"),
		  "step confirm\n"
		  "say You are booked for tuesday.\n"
		  "say Goodbye.\n"
		  "step end\n"
		  "completed hangup at end\n"
		  "end\n"
		  "done\n");
	CHECK_STR(r.last_step_data, "{\"step\":\"end\",\"slots\":"
		  "{\"wants\":\"yes\",\"day\":\"tuesday\"}}");
	CHECK(dlg_scenario.grammar(r.st) == NULL);

	/* over: later turns are empty replies */
	CHECK_STR(USER(&r, "hello?"), "done\n");
	CHECK_STR(SILENCE(&r), "done\n");
	CHECK_STR(DTMF(&r, '1'), "done\n");
	CHECK_EQ_INT(dlg_scenario.start(r.st), EALREADY);
	mem_deref(r.st);
}


TEST(booking_no)
{
	struct rec r;

	CHECK_EQ_INT(dlg_new(&r, NULL, booking, NULL), 0);
	CHECK(strstr(START(&r), "say Hello there, this is the Parley "
		      "clinic.\n"));
	CHECK_STR(USER(&r, "no thanks, I'm not interested"),
		  "step bye\n"
		  "say Okay, goodbye.\n"
		  "step end\n"
		  "completed hangup at end\n"
		  "end\n"
		  "done\n");
	CHECK_STR(r.last_step_data,
		  "{\"step\":\"end\",\"slots\":{\"wants\":\"no\"}}");
	mem_deref(r.st);
}


TEST(no_match_max)
{
	struct rec r;

	CHECK_EQ_INT(dlg_new(&r, NULL, booking, NULL), 0);
	(void)START(&r);
	CHECK_STR(USER(&r, "purple elephants"),
		  "no_match ask_book\n"
		  "say Sorry, please say yes or no.\n"
		  "done\n");
	/* heard something, understood nothing: a no-match too */
	CHECK_STR(USER(&r, ""),
		  "no_match ask_book\n"
		  "step bye\n"
		  "say Okay, goodbye.\n"
		  "step end\n"
		  "completed hangup at end\n"
		  "end\n"
		  "done\n");
	mem_deref(r.st);

	/* the default text, and the max-th no-match with nowhere to go */
	CHECK_EQ_INT(dlg_new(&r, NULL, booking, NULL), 0);
	(void)START(&r);
	(void)USER(&r, "yes");
	CHECK_STR(USER(&r, "friday"),
		  "no_match ask_day\n"
		  "say Sorry, I didn't catch that.\n"
		  "say Which day suits you, Monday, Tuesday or Wednesday?\n"
		  "done\n");
	CHECK_STR(USER(&r, "saturday?"),
		  "no_match ask_day\n"
		  "completed no_match at ask_day\n"
		  "end\n"
		  "done\n");
	mem_deref(r.st);
}


TEST(silence_reprompt)
{
	struct rec r;

	CHECK_EQ_INT(dlg_new(&r, NULL, booking, NULL), 0);
	(void)START(&r);
	CHECK_STR(SILENCE(&r),
		  "say Would you like to book an appointment?\n"
		  "done\n");
	CHECK_STR(SILENCE(&r),
		  "say Would you like to book an appointment?\n"
		  "done\n");
	/* silences are no no-matches: one no-match still re-asks */
	CHECK_STR(USER(&r, "hmm"),
		  "no_match ask_book\n"
		  "say Sorry, please say yes or no.\n"
		  "done\n");
	/* a match resets the count for the next ask */
	CHECK(strstr(USER(&r, "yes"), "step ask_day\n"));
	CHECK(strstr(USER(&r, "hmm"), "say Sorry, I didn't catch that.\n"));
	CHECK(strstr(USER(&r, "the first one"), "say You are booked for "
		     "monday.\n"));
	mem_deref(r.st);

	/* an explicit reprompt */
	CHECK_EQ_INT(dlg_new(&r, NULL, "{\"start\":\"a\",\"steps\":{\"a\":"
		"{\"type\":\"ask\",\"text\":\"Your name?\",\"reprompt\":"
		"\"Are you still there?\"}}}", NULL), 0);
	CHECK_STR(START(&r), "step a\nsay Your name?\ndone\n");
	CHECK(dlg_scenario.grammar(r.st) == NULL);  /* free text */
	CHECK_STR(SILENCE(&r), "say Are you still there?\ndone\n");
	CHECK_STR(USER(&r, "  Bob Smith "),
		  "completed end at a\nend\ndone\n");
	mem_deref(r.st);
}


TEST(dtmf)
{
	struct rec r;

	CHECK_EQ_INT(dlg_new(&r, NULL, booking, NULL), 0);
	(void)START(&r);
	CHECK_STR(DTMF(&r, '#'), "done\n");       /* no meaning: ignored */
	CHECK_STR(DTMF(&r, '7'),
		  "no_match ask_book\n"
		  "say Sorry, please say yes or no.\n"
		  "done\n");
	CHECK(strstr(DTMF(&r, '1'), "step ask_day\n"));
	CHECK(strstr(DTMF(&r, '3'), "say You are booked for wednesday.\n"));
	CHECK_STR(r.last_step_data, "{\"step\":\"end\",\"slots\":"
		  "{\"wants\":\"yes\",\"day\":\"wednesday\"}}");
	mem_deref(r.st);

	CHECK_EQ_INT(dlg_new(&r, NULL, booking, NULL), 0);
	(void)START(&r);
	CHECK(strstr(DTMF(&r, '2'), "step bye\n"));
	mem_deref(r.st);
}


static const char numbers[] =
"{\"start\":\"n\",\"steps\":{"
" \"n\":{\"type\":\"ask\",\"text\":\"How many people?\",\"expect\":"
"\"number\",\"slot\":\"party\",\"branches\":{\"1\":\"solo\"},"
"\"next\":\"d\"},"
" \"solo\":{\"type\":\"say\",\"text\":\"Just you then.\",\"next\":\"d\"},"
" \"d\":{\"type\":\"ask\",\"text\":\"Which date?\",\"expect\":\"date\","
"\"slot\":\"when\",\"next\":\"ok\"},"
" \"ok\":{\"type\":\"hangup\",\"text\":\"{party} people on {when}.\"}}}";


TEST(number_and_date)
{
	struct rec r;

	CHECK_EQ_INT(dlg_new(&r, NULL, numbers, NULL), 0);
	(void)START(&r);
	CHECK(strstr(dlg_scenario.grammar(r.st), "<num>+"));
	CHECK_STR(USER(&r, "twenty three of us"),
		  "step d\nsay Which date?\ndone\n");
	CHECK(strstr(dlg_scenario.grammar(r.st), "<month>"));
	CHECK_STR(USER(&r, "March third"),
		  "step ok\n"
		  "say 23 people on --03-03.\n"
		  "completed hangup at ok\n"
		  "end\n"
		  "done\n");
	mem_deref(r.st);

	/* keypad digits up to '#', '*' starts over; a branch on the value */
	CHECK_EQ_INT(dlg_new(&r, NULL, numbers, NULL), 0);
	(void)START(&r);
	CHECK_STR(DTMF(&r, '4'), "done\n");
	CHECK_STR(DTMF(&r, '*'), "done\n");
	CHECK_STR(DTMF(&r, '#'),
		  "no_match n\n"
		  "say Sorry, I didn't catch that.\n"
		  "say How many people?\n"
		  "done\n");
	CHECK_STR(DTMF(&r, '1'), "done\n");
	CHECK_STR(DTMF(&r, '#'),
		  "step solo\nsay Just you then.\nstep d\nsay Which date?\n"
		  "done\n");
	CHECK(strstr(USER(&r, "next friday"), "say 1 people on next "
		     "friday.\n"));
	mem_deref(r.st);
}


static const char flow[] =
"{\"start\":\"s\",\"steps\":{"
" \"s\":{\"type\":\"set\",\"var\":\"who\",\"value\":\"{name} of {company}\","
"\"next\":\"b\"},"
" \"b\":{\"type\":\"branch\",\"var\":\"tier\",\"cases\":{\"Gold\":\"t\","
"\"silver\":\"q\"},\"default\":\"x\"},"
" \"t\":{\"type\":\"transfer\",\"to\":\"+15551234567\",\"text\":\"Putting "
"you through, {who}.\"},"
" \"q\":{\"type\":\"ask\",\"text\":\"Billing or support?\",\"expect\":"
"\"intent\",\"intents\":{\"billing\":[\"billing\",\"my invoice\"],"
"\"support\":[\"help\",\"broken\"]},\"slot\":\"topic\",\"branches\":{"
"\"support\":\"sip\"},\"next\":\"x\"},"
" \"sip\":{\"type\":\"transfer\",\"to\":\"{support_uri}\"},"
" \"x\":{\"type\":\"dnc\",\"text\":\"We will not call again.\","
"\"next\":\"h\"},"
" \"h\":{\"type\":\"hangup\",\"text\":\"Bye {who}.\"}}}";


TEST(branch_set_transfer_dnc)
{
	struct rec r;

	CHECK_EQ_INT(dlg_new(&r, NULL, flow, "{\"name\":\"Ann\",\"company\":"
			     "\"Acme\",\"tier\":\"gold\"}"), 0);
	CHECK_STR(START(&r),
		  "step s\nstep b\nstep t\n"
		  "say Putting you through, Ann of Acme.\n"
		  "completed transfer at t\n"
		  "transfer +15551234567\n"
		  "done\n");
	CHECK_STR(r.last_step_data, "{\"step\":\"t\",\"slots\":"
		  "{\"who\":\"Ann of Acme\"}}");
	mem_deref(r.st);

	CHECK_EQ_INT(dlg_new(&r, NULL, flow, "{\"name\":\"Bo\",\"tier\":7}"),
		     0);
	CHECK_STR(START(&r),
		  "step s\nstep b\nstep x\n"
		  "say We will not call again.\n"
		  "dnc\n"
		  "step h\n"
		  "say Bye Bo of .\n"
		  "completed hangup at h\n"
		  "end\n"
		  "done\n");
	mem_deref(r.st);

	CHECK_EQ_INT(dlg_new(&r, NULL, flow, "{\"tier\":\"SILVER\",\"support_"
			     "uri\":\"sip:help@example.com\"}"), 0);
	CHECK(strstr(START(&r), "step q\nsay Billing or support?\n"));
	CHECK_STR(USER(&r, "my screen is broken"),
		  "step sip\n"
		  "completed transfer at sip\n"
		  "transfer sip:help@example.com\n"
		  "done\n");
	CHECK(strstr(r.last_step_data, "\"topic\":\"support\""));
	mem_deref(r.st);

	/* DTMF picks an intent by position; no branch: next */
	CHECK_EQ_INT(dlg_new(&r, NULL, flow, "{\"tier\":\"silver\"}"), 0);
	(void)START(&r);
	CHECK(strstr(DTMF(&r, '1'), "step x\n"));
	mem_deref(r.st);
}


/* the state released from inside the handler: nothing more happens */
TEST(released_in_handler)
{
	struct rec r;

	CHECK_EQ_INT(dlg_new(&r, NULL, "{\"start\":\"a\",\"steps\":{\"a\":{"
		"\"type\":\"say\",\"text\":\"One. Two.\",\"next\":\"h\"},"
		"\"h\":{\"type\":\"hangup\",\"text\":\"Three.\"}}}", NULL), 0);
	r.release_on_end = true;
	CHECK_STR(START(&r), "step a\nsay One.\nsay Two.\nstep h\n"
		  "say Three.\ncompleted hangup at h\nend\n");
	CHECK(r.st == NULL);
}


/* a cancel from inside the handler drops the rest of the reply; the
 * next turn goes on where it stopped */
TEST(cancel_in_handler)
{
	struct rec r;

	CHECK_EQ_INT(dlg_new(&r, NULL, "{\"start\":\"a\",\"steps\":{\"a\":{"
		"\"type\":\"say\",\"text\":\"One. Two.\",\"next\":\"b\"},"
		"\"b\":{\"type\":\"ask\",\"text\":\"Yes?\",\"expect\":"
		"\"yes_no\"}}}", NULL), 0);
	r.cancel_on_say = true;
	CHECK_STR(START(&r), "step a\nsay One.\n");
	r.cancel_on_say = false;
	CHECK_STR(USER(&r, "whatever"), "step b\nsay Yes?\ndone\n");
	CHECK_STR(USER(&r, "yes"), "completed end at b\nend\ndone\n");
	mem_deref(r.st);
}


/* ---- webhooks ---- */

static const char hook[] =
"{\"start\":\"w\",\"steps\":{"
" \"w\":{\"type\":\"webhook\",\"url\":\"%s\",\"next\":\"ok\","
"\"on_error\":\"bad\"},"
" \"ok\":{\"type\":\"hangup\",\"text\":\"Booked {ref} for {name}.\"},"
" \"bad\":{\"type\":\"hangup\",\"text\":\"Sorry {name}.\"}}}";


TEST(webhook_without_client)
{
	struct agent_env env;
	char scn[1024];
	struct rec r;

	memset(&env, 0, sizeof(env));
	snprintf(scn, sizeof(scn), hook, "http://127.0.0.1:9/x");
	CHECK_EQ_INT(dlg_new(&r, &env, scn, "{\"name\":\"Ann\"}"), 0);
	CHECK(strstr(START(&r), "step w\nerror webhook 'w': "));
	CHECK(r.http_error);
	mem_deref(r.st);

	CHECK_EQ_INT(dlg_new(&r, NULL, scn, "{\"name\":\"Ann\"}"), 0);
	CHECK(strstr(START(&r), "\nstep bad\nsay Sorry Ann.\ncompleted "
		     "hangup at bad\nend\ndone\n"));
	mem_deref(r.st);
}


struct srv {
	uint16_t status;
	const char *reply;
	char got[1024];
	char method[8];
	bool hold;             /* answer nothing (for cancel) */
};


static void srv_req_h(struct hconn *conn, const struct http_msg *msg,
		      void *arg)
{
	struct srv *s = arg;

	(void)pl_strcpy(&msg->met, s->method, sizeof(s->method));
	snprintf(s->got, sizeof(s->got), "%.*s", (int)mbuf_get_left(msg->mb),
		 (const char *)mbuf_buf(msg->mb));
	if (s->hold) {
		re_cancel();
		return;
	}
	(void)hconn_reply(conn, s->status, "X", "application/json", NULL,
			  s->reply, strlen(s->reply));
}


static size_t srv_limit_h(const struct http_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return 65536;
}


static void timeout_h(void *arg)
{
	bool *timedout = arg;

	*timedout = true;
	re_cancel();
}


/* run the loop until the reply is done (or 5 s) */
static bool wait_done(void)
{
	struct tmr t;
	bool timedout = false;

	tmr_init(&t);
	tmr_start(&t, 5000, timeout_h, &timedout);
	(void)re_main(NULL);
	tmr_cancel(&t);
	return !timedout;
}


struct hookenv {
	struct agent_env env;
	struct dnsc *dnsc;
	struct httpd *httpd;
	char url[128];
};


static int hookenv_init(struct hookenv *h, struct srv *s)
{
	struct sa laddr, dns;
	int err;

	memset(h, 0, sizeof(*h));
	err = sa_set_str(&laddr, "127.0.0.1", 0);
	err |= sa_set_str(&dns, "127.0.0.1", 53);
	if (err)
		return err;
	err = httpd_alloc(&h->httpd, &laddr, 10, srv_limit_h, srv_req_h,
			  s);
	if (!err)
		err = httpd_local(h->httpd, &laddr);
	if (!err)
		err = dnsc_alloc(&h->dnsc, NULL, &dns, 1);
	if (!err)
		err = http_client_alloc(&h->env.http, h->dnsc);
	h->env.http_timeout_ms = 3000;
	(void)re_snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%u/book",
			  sa_port(&laddr));
	return err;
}


static void hookenv_close(struct hookenv *h)
{
	mem_deref(h->env.http);
	mem_deref(h->dnsc);
	mem_deref(h->httpd);
}


TEST(webhook_roundtrip)
{
	struct srv s = {200, "{\"ref\":\"B-17\",\"n\":3,\"ok\":true,"
			"\"skip\":{\"a\":1}}", "", "", false};
	struct hookenv h;
	char scn[1024];
	struct rec r;

	CHECK_EQ_INT(hookenv_init(&h, &s), 0);
	snprintf(scn, sizeof(scn), hook, h.url);
	CHECK_EQ_INT(dlg_new(&r, &h.env, scn, "{\"name\":\"Ann\",\"age\":"
			     "40}"), 0);
	r.stop_on_done = true;

	/* the reply waits for the request */
	CHECK_STR(START(&r), "step w\n");
	CHECK(dlg_scenario.grammar(r.st) == NULL);
	CHECK_EQ_INT(dlg_scenario.user(r.st, "hello?"), 0);
	CHECK(wait_done());
	CHECK_STR(s.method, "POST");
	CHECK_STR(s.got, "{\"name\":\"Ann\",\"age\":40}");
	CHECK_STR(turn(&r, 0),
		  "step ok\n"
		  "say Booked B-17 for Ann.\n"
		  "completed hangup at ok\n"
		  "end\n"
		  "done\n");
	CHECK_STR(r.last_step_data, "{\"step\":\"ok\",\"slots\":{\"ref\":"
		  "\"B-17\",\"n\":\"3\",\"ok\":\"true\"}}");
	CHECK_EQ_INT(r.dones, 1);
	mem_deref(r.st);
	hookenv_close(&h);
}


TEST(webhook_http_error)
{
	struct srv s = {503, "{\"error\":\"down\"}", "", "", false};
	struct hookenv h;
	char scn[1024];
	struct rec r;

	CHECK_EQ_INT(hookenv_init(&h, &s), 0);
	snprintf(scn, sizeof(scn), hook, h.url);
	CHECK_EQ_INT(dlg_new(&r, &h.env, scn, "{\"name\":\"Ann\"}"), 0);
	r.stop_on_done = true;
	CHECK_STR(START(&r), "step w\n");
	CHECK(wait_done());
	CHECK_STR(turn(&r, 0),
		  "error webhook 'w': HTTP 503\n"
		  "step bad\n"
		  "say Sorry Ann.\n"
		  "completed hangup at bad\n"
		  "end\n"
		  "done\n");
	CHECK(r.http_error);
	mem_deref(r.st);
	hookenv_close(&h);
}


TEST(webhook_cancelled)
{
	struct srv s = {200, "{}", "", "", true};
	struct hookenv h;
	char scn[1024];
	struct rec r;

	CHECK_EQ_INT(hookenv_init(&h, &s), 0);
	snprintf(scn, sizeof(scn), hook, h.url);
	CHECK_EQ_INT(dlg_new(&r, &h.env, scn, "{\"name\":\"Ann\"}"), 0);
	CHECK_STR(START(&r), "step w\n");
	CHECK(wait_done());          /* the server has the request */
	dlg_scenario.cancel(r.st, "");
	CHECK_STR(turn(&r, 0), "");
	/* the next turn goes on at on_error, without sending again */
	CHECK_STR(USER(&r, "hello"),
		  "step bad\n"
		  "say Sorry Ann.\n"
		  "completed hangup at bad\n"
		  "end\n"
		  "done\n");
	mem_deref(r.st);

	/* released while the request is under way: nothing is called */
	CHECK_EQ_INT(dlg_new(&r, &h.env, scn, NULL), 0);
	CHECK_STR(START(&r), "step w\n");
	r.st = mem_deref(r.st);
	hookenv_close(&h);
}


/* ---- checks ---- */

struct bad {
	const char *json;
	const char *field;
	const char *msg;     /* a part of the message */
};

static const struct bad bads[] = {
	{"{\"steps\":{\"a\":{\"type\":\"hangup\"}}}", "start",
	 "'start' is required"},
	{"{\"start\":\"b\",\"steps\":{\"a\":{\"type\":\"hangup\"}}}", "start",
	 "start 'b' is not a step"},
	{"{\"start\":\"a\"}", "steps", "'steps' is required"},
	{"{\"start\":\"a\",\"steps\":{}}", "steps", "'steps' is empty"},
	{"{\"start\":\"a\",\"steps\":[]}", "steps", "must be an object"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"hangup\"}},\"x\":1}",
	 "x", "unknown member 'x'"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"play\"}}}",
	 "steps.a.type", "step 'a': unknown type 'play'"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"text\":\"hi\"}}}",
	 "steps.a.type", "step 'a': 'type' is required"},
	{"{\"start\":\"a\",\"steps\":{\"a\":\"say\"}}", "steps.a",
	 "step 'a': a step must be an object"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"say\",\"text\":\"x\","
	 "\"next\":\"confrim\"}}}", "steps.a.next",
	 "step 'a': next 'confrim' is not a step"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"say\",\"text\":\"x\","
	 "\"nxt\":\"a\"}}}", "steps.a.nxt", "unknown member 'nxt'"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"say\"}}}",
	 "steps.a.text", "'text' is required"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"expect\":"
	 "\"yes_no\"}}}", "steps.a.text", "step 'a': 'text' is required"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"say\",\"text\":5}}}",
	 "steps.a.text", "'text' must be a string"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"choice\"}}}", "steps.a.choices",
	 "expect choice needs 'choices'"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"choice\",\"choices\":[]}}}", "steps.a.choices",
	 "1 to 50 entries"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"choice\",\"choices\":[\"a\",\" \"]}}}",
	 "steps.a.choices", "non-empty string"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"yes_no\",\"choices\":[\"a\"]}}}", "steps.a.choices",
	 "only for expect choice"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"intent\"}}}", "steps.a.intents",
	 "expect intent needs 'intents'"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"intent\",\"intents\":{\"b\":[]}}}}", "steps.a.intents",
	 "intent 'b' must be an array"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"maybe\"}}}", "steps.a.expect", "unknown expect 'maybe'"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"yes_no\",\"branches\":{\"yes\":\"a\",\"si\":\"a\"}}}}",
	 "steps.a.branches.si", "branch 'si' can never be taken"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"yes_no\",\"branches\":{\"yes\":\"zz\"}}}}",
	 "steps.a.branches.yes", "goes to 'zz', which is not a step"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"expect\":\"choice\",\"choices\":[\"Red\"],\"branches\":{\"blue\":"
	 "\"a\"}}}}", "steps.a.branches.blue", "can never be taken"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"no_match\":{\"next\":\"q\"}}}}", "steps.a.no_match.next",
	 "next 'q' is not a step"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"no_match\":{\"max\":0}}}}", "steps.a.no_match.max",
	 "from 1 to 10"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"no_match\":{\"tries\":3}}}}", "steps.a.no_match.tries",
	 "unknown member 'tries'"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":\"x\","
	 "\"slot\":\"my slot\"}}}", "steps.a.slot", "is not a name"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"branch\",\"cases\":"
	 "{}}}}", "steps.a.var", "'var' is required"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"branch\",\"var\":\"v\","
	 "\"cases\":{\"x\":\"nope\"}}}}", "steps.a.cases.x",
	 "goes to 'nope'"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"set\",\"var\":\"v\"}}}",
	 "steps.a.value", "'value' is required"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"set\",\"var\":\"v\","
	 "\"value\":[1]}}}", "steps.a.value", "must be a string"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"transfer\"}}}",
	 "steps.a.to", "'to' is required"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"transfer\",\"to\":"
	 "\"5551234\"}}}", "steps.a.to", "E.164"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"transfer\",\"to\":"
	 "\"+1555\"}}}", "steps.a.to", "E.164"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"transfer\",\"to\":"
	 "\"+15551234567\",\"next\":\"a\"}}}", "steps.a.next",
	 "unknown member 'next'"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"webhook\",\"url\":"
	 "\"ftp://x\"}}}", "steps.a.url", "http:// or https://"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"webhook\",\"url\":"
	 "\"https://x\",\"method\":\"DELETE\"}}}", "steps.a.method",
	 "POST, PUT or GET"},
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"webhook\",\"url\":"
	 "\"https://x\",\"on_error\":\"b\"}}}", "steps.a.on_error",
	 "on_error 'b' is not a step"},
	/* loops that never wait */
	{"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"say\",\"text\":\"x\","
	 "\"next\":\"a\"}}}", "steps.a", "step 'a': a loop that never "
	 "waits for the caller (no ask on the way): a -> a"},
	{"{\"start\":\"a\",\"steps\":{"
	 "\"a\":{\"type\":\"say\",\"text\":\"x\",\"next\":\"b\"},"
	 "\"b\":{\"type\":\"set\",\"var\":\"v\",\"value\":\"1\",\"next\":\"c\"},"
	 "\"c\":{\"type\":\"say\",\"text\":\"y\",\"next\":\"a\"}}}", "steps.a",
	 "a -> b -> c -> a"},
	{"{\"start\":\"q\",\"steps\":{"
	 "\"q\":{\"type\":\"ask\",\"text\":\"x\",\"next\":\"b\"},"
	 "\"b\":{\"type\":\"branch\",\"var\":\"v\",\"cases\":{\"1\":\"q\"},"
	 "\"default\":\"w\"},"
	 "\"w\":{\"type\":\"webhook\",\"url\":\"http://h/\",\"on_error\":"
	 "\"b\"}}}", "steps.b", "b -> w -> b"},
};


TEST(validation_errors)
{
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		struct odict *o = parse(bads[i].json);
		struct scenario_err e;
		int err;

		if (!o) {
			fprintf(stderr, "bad test JSON %zu\n", i);
			CHECK(0);
		}
		err = scenario_validate(o, &e);
		mem_deref(o);
		if (err != EINVAL || strcmp(e.field, bads[i].field) ||
		    !strstr(e.msg, bads[i].msg)) {
			fprintf(stderr, "case %zu: err %d, field \"%s\", msg "
				"\"%s\"\n", i, err, e.field, e.msg);
			CHECK(0);
		}
	}
	CHECK_EQ_INT(scenario_validate(NULL, NULL), EINVAL);
}


TEST(too_many_steps)
{
	char *json = malloc(64 * 1024);
	struct odict *o;
	struct scenario_err e;
	size_t l;

	CHECK(json);
	l = (size_t)snprintf(json, 64, "{\"start\":\"s0\",\"steps\":{");
	for (int i = 0; i <= SCENARIO_MAX_STEPS; i++)
		l += (size_t)snprintf(json + l, 64 * 1024 - l,
				      "%s\"s%d\":{\"type\":\"hangup\"}",
				      i ? "," : "", i);
	snprintf(json + l, 64 * 1024 - l, "}}");
	o = parse(json);
	free(json);
	CHECK(o);
	CHECK_EQ_INT(scenario_validate(o, &e), EINVAL);
	CHECK_STR(e.field, "steps");
	CHECK_STR(e.msg, "201 steps, at most 200 allowed");
	mem_deref(o);
}


TEST(valid_scenarios)
{
	static const char *const good[] = {
		booking, numbers, flow,
		/* loops through an ask are fine: the caller is waited for */
		"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"ask\",\"text\":"
		"\"x\",\"next\":\"b\",\"no_match\":{\"next\":\"a\"}},\"b\":"
		"{\"type\":\"say\",\"text\":\"again\",\"next\":\"a\"}}}",
		"{\"start\":\"a\",\"_editor\":{},\"steps\":{\"a\":{\"type\":"
		"\"hangup\",\"_pos\":[1,2]}}}",
		"{\"start\":\"a\",\"steps\":{\"a\":{\"type\":\"set\",\"var\":"
		"\"n\",\"value\":5,\"next\":\"b\"},\"b\":{\"type\":\"set\","
		"\"var\":\"f\",\"value\":false}}}",
	};
	struct scenario *scn = NULL;
	struct odict *o;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct scenario_err e;
		o = parse(good[i]);
		CHECK(o);
		if (scenario_validate(o, &e)) {
			fprintf(stderr, "case %zu: %s: %s\n", i, e.field,
				e.msg);
			CHECK(0);
		}
		mem_deref(o);
	}

	o = parse(booking);
	CHECK_EQ_INT(scenario_compile(&scn, o, NULL), 0);
	mem_deref(o);   /* the compiled scenario keeps it */
	CHECK_EQ_INT(scenario_count(scn), 6);
	CHECK_EQ_INT(scenario_start(scn), 0);
	CHECK_EQ_INT(scenario_find(scn, "ask_day"), 2);
	CHECK_EQ_INT(scenario_find(scn, "nope"), SCENARIO_NO_STEP);
	CHECK(scenario_step(scn, 6) == NULL);
	CHECK(scenario_step(scn, -1) == NULL);
	CHECK_STR(scenario_step(scn, 1)->text,
		  "Would you like to book an appointment?");
	CHECK_EQ_INT(scenario_step(scn, 1)->nm_max, 2);
	CHECK_EQ_INT(scenario_step(scn, 1)->nm_next, 4);
	CHECK_EQ_INT(scenario_step(scn, 2)->nm_max, 2);
	CHECK_EQ_INT(scenario_step(scn, 2)->nm_next, SCENARIO_NO_STEP);
	CHECK_STR(scenario_type_name(scenario_step(scn, 5)->type), "hangup");
	mem_deref(scn);
}


TEST(alloc_errors)
{
	struct odict *agent = NULL;
	void *st = NULL;

	CHECK_EQ_INT(dlg_scenario.alloc(&st, NULL, NULL, NULL, action_h,
					NULL), EINVAL);
	agent = parse("{\"scenario\":{\"start\":\"x\",\"steps\":{}}}");
	CHECK(agent);
	CHECK_EQ_INT(dlg_scenario.alloc(&st, NULL, agent, NULL, action_h,
					NULL), EINVAL);
	CHECK(st == NULL);
	mem_deref(agent);
	agent = parse("{\"first_message\":\"Hi\"}");
	CHECK_EQ_INT(dlg_scenario.alloc(&st, NULL, agent, NULL, action_h,
					NULL), EINVAL);
	mem_deref(agent);
	CHECK_STR(dlg_scenario.name, "scenario");
}


TEST_MAIN()
