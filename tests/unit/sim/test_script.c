/* test_script.c - caller scripts: the parser (every directive, every
 * error naming its line), synthesis, and scripts played by a sim caller
 * against a fake agent in the same process over real SIP and RTP on
 * 127.0.0.1 (turns, latency, barge-in reaction, hang-ups, the stereo
 * recording). The fake agent speaks tones and reacts with fixed delays,
 * so the measurements have known values; margins allow for the two
 * jitter buffers and a busy machine. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <re.h>
#include "test.h"
#include "audio/wav.h"
#include "json/json.h"
#include "media/media.h"
#include "sim/script.h"
#include "sim/sim.h"
#include "speech/tts.h"

/* ---- parser ---- */

static int parse(struct script **scp, const char *text, struct script_err *e)
{
	e->line = 999;
	e->msg[0] = '\0';
	return script_parse(scp, text, strlen(text), e);
}

TEST(parse_all_directives)
{
	static const char text[] =
		"\xef\xbb\xbf# a booking\r\n"
		"\r\n"
		"  Hello, I'd like a table for two.  \r\n"
		"@wait 2.5\n"
		"\t@BARGE 1.25   Sorry, one question\n"
		"@dtmf 12ab*#\n"
		"   # indented comment\n"
		"@barge 0 Now.\n"
		"@expect-hangup\n"
		"# trailing comment\n"
		"\n";
	struct script *sc = NULL;
	struct script_err e;

	CHECK_EQ_INT(parse(&sc, text, &e), 0);
	CHECK_EQ_INT(sc->n, 6);
	CHECK_EQ_INT(sc->steps[0].kind, SCRIPT_SAY);
	CHECK_EQ_INT(sc->steps[0].line, 3);
	CHECK_STR(sc->steps[0].text, "Hello, I'd like a table for two.");
	CHECK_EQ_INT(sc->steps[1].kind, SCRIPT_WAIT);
	CHECK_EQ_INT(sc->steps[1].ms, 2500);
	CHECK(!sc->steps[1].text);
	CHECK_EQ_INT(sc->steps[2].kind, SCRIPT_BARGE);
	CHECK_EQ_INT(sc->steps[2].ms, 1250);
	CHECK_STR(sc->steps[2].text, "Sorry, one question");
	CHECK_EQ_INT(sc->steps[3].kind, SCRIPT_DTMF);
	CHECK_STR(sc->steps[3].text, "12AB*#");
	CHECK_EQ_INT(sc->steps[4].ms, 0);
	CHECK_EQ_INT(sc->steps[4].line, 8);
	CHECK_EQ_INT(sc->steps[5].kind, SCRIPT_EXPECT_HANGUP);
	CHECK_EQ_INT(sc->steps[5].line, 9);
	CHECK(!sc->steps[0].pcm);
	mem_deref(sc);

	CHECK_EQ_INT(parse(&sc, "Hi\n@hangup", &e), 0);
	CHECK_EQ_INT(sc->n, 2);
	CHECK_EQ_INT(sc->steps[1].kind, SCRIPT_HANGUP);
	mem_deref(sc);

	/* no final line end; a CR before EOF */
	CHECK_EQ_INT(parse(&sc, "One\nTwo\r", &e), 0);
	CHECK_STR(sc->steps[1].text, "Two");
	mem_deref(sc);

	/* UTF-8 text is fine */
	CHECK_EQ_INT(parse(&sc, "Gr\xc3\xbc\xc3\x9f Gott \xe2\x82\xac", &e), 0);
	mem_deref(sc);
}

TEST(parse_errors_name_the_line)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;     /* the message starts with this */
	} bad[] = {
		{"Hi\n\n@wiat 2\n", 3, "unknown directive '@wiat'"},
		{"@\n", 1, "a directive name must follow"},
		{"@wait\n", 1, "@wait needs one duration"},
		{"@wait 0\n", 1, "@wait needs one duration"},
		{"@wait 1.2345\n", 1, "@wait needs one duration"},
		{"@wait 2s\n", 1, "@wait needs one duration"},
		{"@wait -1\n", 1, "@wait needs one duration"},
		{"@wait 3600.001\n", 1, "@wait needs one duration"},
		{"@wait 1 2\n", 1, "@wait needs one duration"},
		{"@wait .\n", 1, "@wait needs one duration"},
		{"x\n@barge\n", 2, "@barge needs a delay"},
		{"@barge 1\n", 1, "@barge needs the text"},
		{"@barge 601 Hi\n", 1, "@barge needs a delay"},
		{"@barge abc Hi\n", 1, "@barge needs a delay"},
		{"@dtmf\n", 1, "@dtmf needs one word"},
		{"@dtmf 12 3\n", 1, "@dtmf needs one word"},
		{"@dtmf 12x\n", 1, "@dtmf: 'x' is not a DTMF digit"},
		{"@dtmf 123456789012345678901234567890123\n", 1,
		 "@dtmf needs one word"},
		{"@hangup now\n", 1, "@hangup takes no argument"},
		{"@expect-hangup 5\n", 1, "@expect-hangup takes no argument"},
		{"Hi\n@hangup\n# fine\n\nBye\n", 5,
		 "nothing can follow @hangup (line 2)"},
		{"@expect-hangup\n@wait 1\n", 2,
		 "nothing can follow @expect-hangup (line 1)"},
		{"Hi\nthere\x01\n", 2, "control character 0x01"},
		{"Hi\r\r\n", 1, "control character 0x0d"},
		{"Caf\xc3\n", 1, "invalid UTF-8"},
		{"\xc0\xaf\n", 1, "invalid UTF-8"},
		{"\xed\xa0\x80\n", 1, "invalid UTF-8"},
		{"", 0, "the script has no steps"},
		{"# only\n\n  \n", 0, "the script has no steps"},
	};
	struct script *sc = NULL;
	struct script_err e;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int err = parse(&sc, bad[i].text, &e);
		if (err != EBADMSG || e.line != bad[i].line ||
		    strncmp(e.msg, bad[i].msg, strlen(bad[i].msg))) {
			fprintf(stderr, "case %zu: err %d line %u msg '%s'\n",
				i, err, e.line, e.msg);
			CHECK(0);
		}
		CHECK(sc == NULL);
	}

	/* a NUL byte (needs the length) */
	CHECK_EQ_INT(script_parse(&sc, "Hi\nA\0B\n", 7, &e), EBADMSG);
	CHECK_EQ_INT(e.line, 2);
	CHECK_STR(e.msg, "NUL byte in the script");

	/* too long a line */
	{
		char *big = mem_zalloc(SCRIPT_MAX_LINE + 8, NULL);
		CHECK(big);
		memset(big, 'a', SCRIPT_MAX_LINE + 1);
		CHECK_EQ_INT(script_parse(&sc, big, SCRIPT_MAX_LINE + 1, &e),
			     EBADMSG);
		memset(big, 'a', SCRIPT_MAX_LINE);
		CHECK_EQ_INT(script_parse(&sc, big, SCRIPT_MAX_LINE, &e), 0);
		mem_deref(sc);
		sc = NULL;
		mem_deref(big);
	}

	/* too many steps */
	{
		struct mbuf *mb = mbuf_alloc(8 * (SCRIPT_MAX_STEPS + 1));
		CHECK(mb);
		for (int i = 0; i <= SCRIPT_MAX_STEPS; i++)
			mbuf_printf(mb, "Hi %d\n", i);
		CHECK_EQ_INT(script_parse(&sc, (char *)mb->buf, mb->end, &e),
			     EBADMSG);
		CHECK_EQ_INT(e.line, SCRIPT_MAX_STEPS + 1);
		CHECK_STR(e.msg, "more than 1000 steps");
		mem_deref(mb);
	}

	/* no errp: still refused */
	CHECK_EQ_INT(script_parse(&sc, "@x", 2, NULL), EBADMSG);
}

TEST(load_file)
{
	struct script *sc = NULL;
	struct script_err e = {0, ""};
	char path[] = "/tmp/parley-script-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, "Hi\n@bogus\n", 10) == 10);
	close(fd);
	CHECK_EQ_INT(script_load(&sc, path, &e), EBADMSG);
	CHECK_EQ_INT(e.line, 2);
	unlink(path);

	CHECK_EQ_INT(script_load(&sc, path, &e), ENOENT);
	CHECK_EQ_INT(e.line, 0);
	CHECK(strstr(e.msg, "cannot open") != NULL);
	CHECK_EQ_INT(script_load(&sc, "/tmp", &e), EISDIR);
}

TEST(synth_trims_and_shares)
{
	struct script *sc = NULL;
	struct script_err e;

	CHECK_EQ_INT(parse(&sc, "Hello there.\n@wait 1\n@barge 1 Hello "
			   "there.\n", &e), 0);
	CHECK_EQ_INT(script_synth(sc, NULL, &e), 0);
	CHECK(sc->steps[0].pcm && sc->steps[0].n > MEDIA_SRATE / 4);
	CHECK(sc->steps[0].n < MEDIA_SRATE * 3);
	/* starts and ends with sound, not silence */
	CHECK(abs(sc->steps[0].pcm[0]) >= 32);
	CHECK(abs(sc->steps[0].pcm[sc->steps[0].n - 1]) >= 32);
	CHECK(!sc->steps[1].pcm);
	CHECK(sc->steps[2].pcm == sc->steps[0].pcm);
	mem_deref(sc);

	/* an unknown voice names the line */
	{
		struct tts_opts o = {TTS_ESPEAK, "no-such-voice-xx", 1.0};
		CHECK_EQ_INT(parse(&sc, "# c\nHi.\n", &e), 0);
		CHECK(script_synth(sc, &o, &e) != 0);
		CHECK_EQ_INT(e.line, 2);
		mem_deref(sc);
	}
}

/* ---- a fake agent on the same loop ---- */

enum {
	TONE_AMP = 6000,
	/* the agent's script, in ticks */
	GREET_AT = 10,            /* 200 ms after the answer */
};

struct agent {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sipsess *sess;
	struct mstream *ms;
	struct tmr tmr_bye;
	bool established, closed;
	uint32_t greet_ticks;      /* length of the greeting */
	uint32_t reply_ticks;      /* length of a reply (0: none) */
	uint32_t reply_quiet;      /* caller silence that ends its turn */
	uint32_t reply_delay;      /* ticks from then to the reply */
	uint32_t stop_after;       /* stop talking after this many ticks of
				    * caller audio (0: never) */
	uint32_t bye_after_ms;     /* hang up this long after the greeting
				    * (0: never) */
	uint32_t tick;             /* tx ticks since established */
	uint32_t talk_from, talk_to; /* current tone, in ticks */
	uint32_t heard, quiet;     /* caller audio/silence run */
	bool caller_spoke;
	unsigned replies;
	char digits[16];           /* DTMF received */
	char send_digit;           /* DTMF to send once established */
};

static struct agent ag;
static struct sim_caller *g_caller;
static struct tmr tmr_guard, tmr_quit;
static bool caller_done;

static void quit_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void done_h(struct sim_caller *c, void *arg)
{
	(void)c;
	(void)arg;
	caller_done = true;
	tmr_start(&tmr_quit, 200, quit_h, NULL);
}

static bool loud(const int16_t *f)
{
	int64_t s = 0;

	for (int i = 0; i < MEDIA_FRAME; i++)
		s += (int32_t)f[i] * f[i];
	return s > (int64_t)3396 * MEDIA_FRAME;
}

static void agent_rx(const int16_t *frame, void *arg)
{
	struct agent *a = arg;

	if (loud(frame)) {
		a->caller_spoke = true;
		a->quiet = 0;
		++a->heard;
		/* barged in on: stop */
		if (a->stop_after && a->heard >= a->stop_after &&
		    a->tick < a->talk_to)
			a->talk_to = a->tick;
		return;
	}
	a->heard = 0;
	++a->quiet;
	if (a->caller_spoke && a->quiet == a->reply_quiet &&
	    a->reply_ticks) {
		a->caller_spoke = false;
		a->talk_from = a->tick + a->reply_delay;
		a->talk_to = a->talk_from + a->reply_ticks;
		++a->replies;
	}
}

static bool agent_tx(int16_t *frame, void *arg)
{
	struct agent *a = arg;
	uint32_t t = a->tick++;

	if (t < a->talk_from || t >= a->talk_to)
		return false;
	for (int i = 0; i < MEDIA_FRAME; i++)
		frame[i] = (int16_t)(TONE_AMP * sin(2 * M_PI * 440 *
				     (t * MEDIA_FRAME + i) / MEDIA_SRATE));
	return true;
}

static void agent_dtmf(char digit, enum dtmf_source src, void *arg)
{
	struct agent *a = arg;
	size_t n = strlen(a->digits);
	(void)src;

	if (n + 1 < sizeof(a->digits))
		a->digits[n] = digit;
}

static void agent_bye_h(void *arg)
{
	struct agent *a = arg;

	a->ms = mem_deref(a->ms);
	a->sess = mem_deref(a->sess);   /* sends BYE */
}

static int agent_answer_h(const struct sip_msg *msg, void *arg)
{
	struct agent *a = arg;
	int err = mstream_set_answer(a->ms, msg->mb);

	return err ? err : mstream_start(a->ms);
}

static void agent_estab_h(const struct sip_msg *msg, void *arg)
{
	struct agent *a = arg;
	(void)msg;

	a->established = true;
	a->tick = 0;
	a->talk_from = GREET_AT;
	a->talk_to = GREET_AT + a->greet_ticks;
	if (a->send_digit)
		(void)mstream_send_dtmf(a->ms, a->send_digit);
	if (a->bye_after_ms)
		tmr_start(&a->tmr_bye, (GREET_AT + a->greet_ticks) * 20 +
			  a->bye_after_ms, agent_bye_h, a);
}

static void agent_close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct agent *a = arg;
	(void)err;
	(void)msg;

	a->closed = true;
	a->ms = mem_deref(a->ms);
}

static int agent_offer_h(struct mbuf **descp, const struct sip_msg *msg,
			 void *arg)
{
	struct agent *a = arg;

	return mstream_answer(a->ms, msg->mb, descp);
}

static int agent_call(struct sim *sim)
{
	struct sa laddr;
	struct mbuf *offer = NULL;
	char uri[64];
	int err;

	tmr_init(&ag.tmr_bye);
	err = sa_set_str(&laddr, "127.0.0.1", 0);
	if (!err)
		err = sip_alloc(&ag.sip, NULL, 16, 16, 16, "fake-agent", NULL,
				NULL);
	if (!err)
		err = sip_transp_add(ag.sip, SIP_TRANSP_UDP, &laddr);
	if (!err)
		err = sipsess_listen(&ag.sock, ag.sip, 16, NULL, NULL);
	if (!err)
		err = mstream_alloc(&ag.ms, sim_media(sim), agent_rx, agent_tx,
				    agent_dtmf, &ag);
	if (!err)
		err = mstream_offer(ag.ms, &offer);
	if (err)
		return err;
	re_snprintf(uri, sizeof(uri), "sip:+15550100100@127.0.0.1:%u",
		    sim_port(sim));
	err = sipsess_connect(&ag.sess, ag.sock, uri, NULL,
			      "sip:agent@127.0.0.1", "agent", NULL, 0,
			      "application/sdp", offer, NULL, NULL, false,
			      agent_offer_h, agent_answer_h, NULL,
			      agent_estab_h, NULL, NULL, agent_close_h, &ag,
			      NULL);
	mem_deref(offer);
	return err;
}

static void agent_free(void)
{
	tmr_cancel(&ag.tmr_bye);
	ag.ms = mem_deref(ag.ms);
	ag.sess = mem_deref(ag.sess);
	if (ag.sock)
		sipsess_close_all(ag.sock);
	ag.sock = mem_deref(ag.sock);
	if (ag.sip)
		sip_close(ag.sip, true);
	ag.sip = mem_deref(ag.sip);
}

/* a script whose utterances are 300 Hz tones of len ms each */
static int tone_script(struct script **scp, const char *text, uint32_t len)
{
	struct script_err e;
	int err = script_parse(scp, text, strlen(text), &e);

	if (err) {
		fprintf(stderr, "script: line %u: %s\n", e.line, e.msg);
		return err;
	}
	for (size_t i = 0; i < (*scp)->n; i++) {
		struct script_step *st = &(*scp)->steps[i];
		size_t n = len * (MEDIA_SRATE / 1000);

		if (st->kind != SCRIPT_SAY && st->kind != SCRIPT_BARGE)
			continue;
		st->pcm = mem_alloc(n * sizeof(int16_t), NULL);
		if (!st->pcm)
			return ENOMEM;
		st->n = n;
		for (size_t k = 0; k < n; k++)
			st->pcm[k] = (int16_t)(TONE_AMP * sin(2 * M_PI * 300 *
						(double)k / MEDIA_SRATE));
	}
	return 0;
}

static void guard_h(void *arg)
{
	(void)arg;
	fprintf(stderr, "guard timer: the test took too long\n");
	re_cancel();
}

/* Play script text (tones of line_ms) against the agent set up in ag. */
static int play(struct sim **simp, struct script **scp, const char *text,
		uint32_t line_ms, const struct sim_opts *o)
{
	int err;

	caller_done = false;
	tmr_init(&tmr_guard);
	tmr_init(&tmr_quit);
	err = tone_script(scp, text, line_ms);
	if (!err)
		err = sim_alloc(simp, NULL);
	if (!err)
		err = sim_caller_alloc(&g_caller, *simp, *scp, o, done_h, NULL);
	if (!err)
		err = agent_call(*simp);
	if (err)
		return err;
	tmr_start(&tmr_guard, 30000, guard_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&tmr_guard);
	tmr_cancel(&tmr_quit);
	return caller_done ? 0 : ETIMEDOUT;
}

static void play_free(struct sim *sim, struct script *sc)
{
	g_caller = mem_deref(g_caller);
	agent_free();
	mem_deref(sim);
	mem_deref(sc);
}

static bool near(long got, long want, long margin)
{
	if (labs(got - want) <= margin)
		return true;
	fprintf(stderr, "got %ld, want %ld +- %ld\n", got, want, margin);
	return false;
}

struct jarg {
	const struct sim_result *r;
	const struct script *sc;
};

static int print_res(struct re_printf *pf, void *arg)
{
	const struct jarg *j = arg;

	return re_hprintf(pf, "{") | sim_result_json(pf, j->r, j->sc) |
		re_hprintf(pf, "}");
}

/* the result through sim_result_json(), parsed back */
static int result_json(struct odict **op, const struct sim_caller *c,
		       const struct script *sc)
{
	struct jarg j = {sim_caller_result(c), sc};
	char *s = NULL;
	int err = re_sdprintf(&s, "%H", print_res, &j);

	if (!err)
		err = json_parse(op, NULL, s, strlen(s), NULL);
	if (getenv("SIM_DEBUG"))
		fprintf(stderr, "%s\n", s);
	if (err)
		fprintf(stderr, "bad JSON: %s\n", s ? s : "");
	mem_deref(s);
	return err;
}

TEST(turns_latency_and_record)
{
	struct sim *sim = NULL;
	struct script *sc = NULL;
	const struct sim_result *r;
	char path[] = "/tmp/parley-sim-XXXXXX.wav";
	struct sim_opts o;
	int16_t *wav = NULL;
	size_t frames = 0;
	uint32_t srate = 0;
	unsigned ch = 0;
	int fd = mkstemps(path, 4);

	CHECK(fd >= 0);
	close(fd);
	memset(&ag, 0, sizeof(ag));
	ag.greet_ticks = 50;          /* 1.0 s */
	ag.reply_quiet = 15;          /* 300 ms of caller silence */
	ag.reply_delay = 20;          /* then 400 ms */
	ag.reply_ticks = 30;          /* a 600 ms reply */
	memset(&o, 0, sizeof(o));
	o.record = path;
	o.turn_silence_ms = 600;
	CHECK_EQ_INT(play(&sim, &sc, "Hello \"you\".\n", 500, &o), 0);

	r = sim_caller_result(g_caller);
	CHECK(r->answered);
	CHECK_EQ_INT(r->outcome, SIM_COMPLETED);
	CHECK_STR(r->hangup_by, "caller");
	CHECK(r->sip_call_id[0]);
	CHECK_EQ_INT(r->steps_done, 1);
	CHECK_EQ_INT(r->nturns, 2);
	/* the greeting: 1 s, beginning 200 ms after the answer plus the
	 * way through RTP and our jitter buffer */
	CHECK(near(r->turns[0].end_ms - r->turns[0].start_ms, 1000, 40));
	CHECK(near(r->turns[0].start_ms, 260, 100));
	CHECK(near(r->turns[1].end_ms - r->turns[1].start_ms, 600, 40));
	CHECK_EQ_INT(r->nlines, 1);
	/* our line: after the greeting plus 600 ms of silence */
	CHECK(near(r->lines[0].start_ms, r->turns[0].end_ms + 600, 40));
	CHECK_EQ_INT(r->lines[0].end_ms - r->lines[0].start_ms, 500);
	/* the agent heard 300 ms of silence, waited 400 ms: 700 ms, plus
	 * both ways through RTP and the jitter buffers */
	CHECK(near(r->lines[0].latency_ms, 760, 100));
	CHECK(near(r->turns[1].start_ms,
		   r->lines[0].end_ms + r->lines[0].latency_ms, 20));
	CHECK_EQ_INT(r->lines[0].barge_ms, -1);
	/* we hung up once the reply was over, after 600 ms of silence */
	CHECK(near(r->duration_ms, r->turns[1].end_ms + 600, 60));
	CHECK(r->rtp.rx_packets > 100 && r->rtp.tx_packets > 100);
	CHECK(ag.closed);
	{
		struct odict *jo = NULL;
		const struct odict_entry *e;

		CHECK_EQ_INT(result_json(&jo, g_caller, sc), 0);
		CHECK_STR(odict_string(jo, "outcome"), "completed");
		e = odict_lookup(jo, "latencies_ms");
		CHECK(e && e->type == ODICT_ARRAY);
		CHECK_EQ_INT(list_count(&e->u.odict->lst), 1);
		CHECK_EQ_INT(((struct odict_entry *)e->u.odict->lst.head->data)
			     ->u.integer, r->lines[0].latency_ms);
		e = odict_lookup(jo, "lines");
		CHECK_STR(odict_string(((struct odict_entry *)
			  e->u.odict->lst.head->data)->u.odict, "text"),
			  "Hello \"you\".");
		e = odict_lookup(jo, "barge_ins_ms");
		CHECK(e && e->type == ODICT_ARRAY && !e->u.odict->lst.head);
		e = odict_lookup(jo, "turns");
		CHECK_EQ_INT(list_count(&e->u.odict->lst), 2);
		mem_deref(jo);
	}

	/* the recording: left what we heard, right what we said, on the
	 * same clock as the measurements */
	CHECK_EQ_INT(wav_read(path, &wav, &frames, &srate, &ch), 0);
	CHECK_EQ_INT(srate, 8000);
	CHECK_EQ_INT(ch, 2);
	CHECK(near((long)frames, r->duration_ms * 8, 160));
	{
		size_t g0 = r->turns[0].start_ms * 8;
		size_t g1 = r->turns[0].end_ms * 8;
		size_t l0 = r->lines[0].start_ms * 8;
		size_t l1 = r->lines[0].end_ms * 8;
		int64_t lg = 0, rg = 0, ll = 0, rl = 0;

		for (size_t i = g0; i < g1 && i < frames; i++) {
			lg += abs(wav[2 * i]);
			rg += abs(wav[2 * i + 1]);
		}
		for (size_t i = l0; i < l1 && i < frames; i++) {
			ll += abs(wav[2 * i]);
			rl += abs(wav[2 * i + 1]);
		}
		/* a tone of amplitude 6000 averages ~3800 */
		CHECK(lg / (int64_t)(g1 - g0) > 3000 && rg == 0);
		CHECK(rl / (int64_t)(l1 - l0) > 3000 && ll == 0);
		/* sample-exact: our first sample is where the line began */
		CHECK(wav[2 * l0 + 1] == 0 && abs(wav[2 * (l0 + 2) + 1]) > 0);
		CHECK(abs(wav[2 * (l0 - 1) + 1]) == 0);
	}
	mem_deref(wav);
	unlink(path);
	play_free(sim, sc);
}

TEST(barge_in_reaction)
{
	struct sim *sim = NULL;
	struct script *sc = NULL;
	const struct sim_result *r;
	struct sim_opts o;

	memset(&ag, 0, sizeof(ag));
	ag.greet_ticks = 200;         /* 4 s, unless interrupted */
	ag.stop_after = 5;            /* stops after 100 ms of us */
	ag.bye_after_ms = 1000;       /* and hangs up a second later */
	CHECK_EQ_INT(play(&sim, &sc, "@barge 1.2 Excuse me\n"
			  "@expect-hangup\n", 800, NULL), 0);

	r = sim_caller_result(g_caller);
	{
		struct odict *jo = NULL;
		CHECK_EQ_INT(result_json(&jo, g_caller, sc), 0);
		mem_deref(jo);
	}
	CHECK_EQ_INT(r->outcome, SIM_COMPLETED);
	CHECK_STR(r->hangup_by, "agent");
	CHECK_EQ_INT(r->steps_done, 2);
	CHECK_EQ_INT(r->nlines, 1);
	CHECK(r->lines[0].barge);
	CHECK(near(r->lines[0].barge_after_ms, 1200, 20));
	CHECK(near(r->lines[0].start_ms, r->turns[0].start_ms + 1200, 20));
	/* 100 ms of our audio, plus both ways through RTP and jitter
	 * buffers */
	CHECK(near(r->lines[0].barge_ms, 160, 100));
	CHECK_EQ_INT(r->nturns, 1);
	CHECK(r->turns[0].barged);
	CHECK(near(r->turns[0].end_ms - r->turns[0].start_ms,
		   1200 + r->lines[0].barge_ms, 20));
	play_free(sim, sc);

	/* a turn shorter than the delay: said on time, no barge-in */
	memset(&ag, 0, sizeof(ag));
	ag.greet_ticks = 25;
	memset(&o, 0, sizeof(o));
	o.no_speech_ms = 400;
	CHECK_EQ_INT(play(&sim, &sc, "@barge 1.5 Hm\n", 300, &o), 0);
	r = sim_caller_result(g_caller);
	CHECK_EQ_INT(r->outcome, SIM_COMPLETED);
	CHECK_EQ_INT(r->nlines, 1);
	CHECK_EQ_INT(r->lines[0].barge_after_ms, 1500);
	CHECK_EQ_INT(r->lines[0].start_ms, r->turns[0].start_ms + 1500);
	CHECK_EQ_INT(r->lines[0].barge_ms, -1);
	CHECK(!r->turns[0].barged);
	play_free(sim, sc);
}

TEST(agent_hangs_up_early_and_silence)
{
	struct sim *sim = NULL;
	struct script *sc = NULL;
	const struct sim_result *r;
	struct sim_opts o;

	/* the agent says nothing: the line goes after no_speech_ms; then it
	 * hangs up before the second line */
	memset(&ag, 0, sizeof(ag));
	ag.greet_ticks = 0;
	ag.bye_after_ms = 1500;
	memset(&o, 0, sizeof(o));
	o.no_speech_ms = 600;
	CHECK_EQ_INT(play(&sim, &sc, "One.\n@wait 5\nTwo.\n", 300, &o), 0);
	r = sim_caller_result(g_caller);
	CHECK(r->answered);
	CHECK_EQ_INT(r->outcome, SIM_AGENT_HANGUP);
	CHECK_STR(r->hangup_by, "agent");
	CHECK_EQ_INT(r->nturns, 0);
	CHECK_EQ_INT(r->nlines, 1);
	CHECK(near(r->lines[0].start_ms, 600, 40));
	CHECK_EQ_INT(r->lines[0].latency_ms, -1);
	CHECK(strstr(r->error, "before line 2") != NULL);
	play_free(sim, sc);

	/* @expect-hangup that never comes: the timeout fails it */
	memset(&ag, 0, sizeof(ag));
	ag.greet_ticks = 10;
	memset(&o, 0, sizeof(o));
	o.timeout_ms = 2000;
	CHECK_EQ_INT(play(&sim, &sc, "@expect-hangup\n", 300, &o), 0);
	r = sim_caller_result(g_caller);
	CHECK_EQ_INT(r->outcome, SIM_TIMEOUT);
	CHECK_STR(r->hangup_by, "caller");
	CHECK(strstr(r->error, "did not hang up") != NULL);
	CHECK_EQ_INT(r->nturns, 1);
	play_free(sim, sc);
}

TEST(dtmf_both_ways)
{
	struct sim *sim = NULL;
	struct script *sc = NULL;
	const struct sim_result *r;

	memset(&ag, 0, sizeof(ag));
	ag.greet_ticks = 15;
	ag.send_digit = '5';
	CHECK_EQ_INT(play(&sim, &sc, "@dtmf 1#\n@hangup\n", 300, NULL), 0);
	r = sim_caller_result(g_caller);
	CHECK_EQ_INT(r->outcome, SIM_COMPLETED);
	CHECK_STR(r->hangup_by, "caller");
	CHECK_EQ_INT(r->steps_done, 2);
	CHECK_STR(r->dtmf_rx, "5");
	/* every digit went out before the hang-up */
	CHECK_STR(ag.digits, "1#");
	/* the greeting, 800 ms of silence, 2 x 12 packets of digits */
	CHECK(near(r->duration_ms, r->turns[0].end_ms + 800 + 480, 60));
	play_free(sim, sc);
}

TEST(no_invite_and_json)
{
	struct sim *sim = NULL;
	struct script *sc = NULL;
	const struct sim_result *r;
	struct sim_opts o;
	struct odict *jo = NULL;

	caller_done = false;
	tmr_init(&tmr_quit);
	tmr_init(&tmr_guard);
	memset(&o, 0, sizeof(o));
	o.invite_timeout_ms = 200;
	CHECK_EQ_INT(tone_script(&sc, "Say \"hi\"\n", 100), 0);
	CHECK_EQ_INT(sim_alloc(&sim, NULL), 0);
	CHECK(sim_port(sim) > 0);
	CHECK_EQ_INT(sim_caller_alloc(&g_caller, sim, sc, &o, done_h, NULL),
		     0);
	CHECK_EQ_INT(sim_pending(sim), 1);
	tmr_start(&tmr_guard, 5000, guard_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&tmr_guard);
	CHECK(caller_done);
	CHECK_EQ_INT(sim_pending(sim), 0);
	r = sim_caller_result(g_caller);
	CHECK(!r->answered);
	CHECK_EQ_INT(r->outcome, SIM_NO_CALL);
	CHECK(!r->hangup_by);
	CHECK_EQ_INT(result_json(&jo, g_caller, sc), 0);
	CHECK_STR(odict_string(jo, "outcome"), "no_call");
	CHECK(odict_lookup(jo, "hangup_by")->type == ODICT_NULL);
	CHECK(strstr(odict_string(jo, "error"), "no INVITE") != NULL);
	CHECK(odict_lookup(jo, "latencies_ms")->type == ODICT_ARRAY);
	mem_deref(jo);
	play_free(sim, sc);

	/* a script not synthesised is refused */
	{
		struct script_err e;
		CHECK_EQ_INT(script_parse(&sc, "Hi", 2, &e), 0);
		CHECK_EQ_INT(sim_alloc(&sim, NULL), 0);
		CHECK_EQ_INT(sim_caller_alloc(&g_caller, sim, sc, NULL, NULL,
					      NULL), EINVAL);
		mem_deref(sim);
		mem_deref(sc);
	}
}

TEST_MAIN()
