/* sim.c - scripted callers: the SIP side (answer an INVITE, hang up,
 * notice the agent's BYE) and the audio side (on the media tick: find
 * the agent's turns, play the script's lines, measure).
 *
 * Time is counted in media ticks since the answer, read from the engine's
 * tick counter, not from the clock: a frame received and a frame sent on
 * the same tick are the same 20 ms of the call, which is what the stereo
 * recording and every measurement rest on. The rx handler runs before
 * the tx handler in a tick, but either may be skipped (no RTP received
 * yet; a DTMF event being sent instead of audio), so each tick is closed
 * when a later one begins, with silence for the side that was missing.
 *
 * Decisions that end the call are taken on the tick but carried out from
 * a timer: no session or stream is released inside its own handler.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "audio/wav.h"
#include "core/log.h"
#include "json/json.h"
#include "media/media.h"
#include "sim/script.h"
#include "sim/sim.h"

enum {
	TICK_MS = MEDIA_PTIME,
	/* SIM_AGENT_DBFS as a mean square of 16-bit samples:
	 * 32768^2 * 10^(-55/10) */
	AGENT_MEAN_SQUARE = 3396,
	BARGE_QUIET_TICKS = SIM_BARGE_QUIET_MS / TICK_MS,
	RTP_PORT_MIN = 30000,
	RTP_PORT_MAX = 40000,
};

struct sim {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sipevent_sock *evsock; /* transfers' implicit subscriptions */
	struct sip_lsnr *lsnr;
	struct media *media;
	struct list callers;          /* struct sim_caller */
	struct sa laddr;
};

enum cstate { C_WAITING, C_RINGING, C_UP, C_ENDED };

/* where the script is */
enum phase {
	PH_GATE,       /* the current step waits for its moment */
	PH_SPEAK,      /* playing a line */
	PH_WAIT,       /* @wait */
	PH_DTMF,       /* @dtmf: digits queued */
	PH_EXPECT,     /* @expect-hangup */
	PH_HANGING,    /* our hang-up is on its way */
};

/* what the floor needs before the next step */
enum gate { GATE_TURN, GATE_FREE };

struct sim_caller {
	struct le le;
	struct sim *sim;              /* referenced */
	struct script *sc;            /* referenced */
	struct sipsess *sess;
	struct sipnot *refer;         /* a transfer we said succeeded */
	struct mstream *ms;
	struct mbuf *sdp;             /* our SDP for the 200 OK */
	struct wav_writer *wav;
	struct tmr tmr_timeout, tmr_invite, tmr_answer, tmr_act, tmr_end;
	sim_done_h *doneh;
	void *arg;
	char *user;
	uint32_t turn_silence, no_speech;      /* ticks */
	uint32_t ring_ms, invite_ms;
	enum cstate state;
	struct sim_result res;
	size_t turns_cap, lines_cap;

	/* the tick being assembled and what it has got so far */
	uint64_t tick0;
	uint32_t cur;
	bool rx_done, tx_done;
	int16_t rxf[MEDIA_FRAME], txf[MEDIA_FRAME];

	/* the agent's audio */
	bool in_turn;
	int64_t last_active;          /* tick, -1: none yet */
	uint32_t turn_start;
	uint32_t silent_run, silent_start;

	/* the script */
	enum phase ph;
	enum gate gate;
	size_t step;
	uint32_t ref;                 /* tick the current step became due */
	uint32_t until;               /* PH_WAIT: tick it ends */
	const int16_t *play;          /* PH_SPEAK: the line's samples */
	size_t play_n, play_pos;
	long line;                    /* its entry in res.lines, -1 */
	int64_t onset;                /* @barge: tick the agent's turn
				       * began, -1 */
	long lat_line;                /* line awaiting its latency, -1 */
	uint32_t lat_tick;            /* the tick of its last sample */
	uint64_t lat_end;             /* its last sample + 1, in samples */
	long barge_line;              /* barge awaiting the agent's stop */
	uint32_t barge_at;            /* tick our barge began */
};

static void end_call(struct sim_caller *c, enum sim_outcome oc,
		     const char *by, const char *fmt, ...);

const char *sim_outcome_name(enum sim_outcome oc)
{
	switch (oc) {
	case SIM_PENDING:      return "pending";
	case SIM_COMPLETED:    return "completed";
	case SIM_AGENT_HANGUP: return "agent_hangup";
	case SIM_TIMEOUT:      return "timeout";
	case SIM_NO_CALL:      return "no_call";
	case SIM_ERROR:        return "error";
	case SIM_INTERRUPTED:  return "interrupted";
	default:               return "?";
	}
}

/* ---- growing result arrays ---- */

static struct sim_turn *turn_add(struct sim_caller *c)
{
	struct sim_result *r = &c->res;

	if (r->nturns == c->turns_cap) {
		size_t cap = c->turns_cap ? c->turns_cap * 2 : 16;
		struct sim_turn *t = mem_reallocarray(r->turns, cap, sizeof(*t),
						     NULL);
		if (!t)
			return NULL;
		r->turns = t;
		c->turns_cap = cap;
	}
	memset(&r->turns[r->nturns], 0, sizeof(r->turns[0]));
	return &r->turns[r->nturns++];
}

static struct sim_line *line_add(struct sim_caller *c)
{
	struct sim_result *r = &c->res;

	if (r->nlines == c->lines_cap) {
		size_t cap = c->lines_cap ? c->lines_cap * 2 : 16;
		struct sim_line *l = mem_reallocarray(r->lines, cap, sizeof(*l),
						     NULL);
		if (!l)
			return NULL;
		r->lines = l;
		c->lines_cap = cap;
	}
	memset(&r->lines[r->nlines], 0, sizeof(r->lines[0]));
	return &r->lines[r->nlines++];
}

/* ---- the agent's audio ---- */

static bool is_audio(const int16_t *frame)
{
	int64_t sum = 0;

	for (size_t i = 0; i < MEDIA_FRAME; i++)
		sum += (int32_t)frame[i] * frame[i];
	return sum > (int64_t)AGENT_MEAN_SQUARE * MEDIA_FRAME;
}

/* One received frame (NULL: none this tick) at tick t. */
static void agent_frame(struct sim_caller *c, uint32_t t, const int16_t *f)
{
	struct sim_result *r = &c->res;

	if (f && is_audio(f)) {
		if (!c->in_turn) {
			struct sim_turn *tn = turn_add(c);
			c->in_turn = true;
			c->turn_start = t;
			if (tn)
				tn->start_ms = t * TICK_MS;
		}
		if (r->nturns)
			r->turns[r->nturns - 1].end_ms = (t + 1) * TICK_MS;
		c->last_active = t;
		c->silent_run = 0;
		if (c->lat_line >= 0 && t > c->lat_tick) {
			r->lines[c->lat_line].latency_ms = (int32_t)
				(((uint64_t)t * MEDIA_FRAME - c->lat_end) /
				 (MEDIA_SRATE / 1000));
			c->lat_line = -1;
		}
		return;
	}

	if (!c->silent_run)
		c->silent_start = t;
	++c->silent_run;
	/* over once turn_silence ticks of silence are behind us: the floor
	 * is ours on the tick after the last of them */
	if (c->in_turn && c->silent_run > c->turn_silence)
		c->in_turn = false;
	if (c->barge_line >= 0 && c->silent_run >= BARGE_QUIET_TICKS) {
		int64_t d = (int64_t)c->silent_start - c->barge_at;
		r->lines[c->barge_line].barge_ms = (int32_t)
			((d > 0 ? d : 0) * TICK_MS);
		c->barge_line = -1;
	}
}

/* ---- ticks ---- */

static uint32_t tick_now(const struct sim_caller *c)
{
	struct media_tick_stats st;

	media_tick_stats(c->sim->media, &st);
	return (uint32_t)(st.ticks - c->tick0);
}

/* Close the tick being assembled: what was missing is silence. */
static void close_tick(struct sim_caller *c)
{
	if (!c->rx_done)
		agent_frame(c, c->cur, NULL);
	if (c->wav) {
		int16_t st[2 * MEDIA_FRAME];

		for (size_t i = 0; i < MEDIA_FRAME; i++) {
			st[2 * i] = c->rx_done ? c->rxf[i] : 0;
			st[2 * i + 1] = c->tx_done ? c->txf[i] : 0;
		}
		if (wav_write(c->wav, st, MEDIA_FRAME)) {
			log_warn("sim: recording failed; it stops here");
			c->wav = mem_deref(c->wav);
		}
	}
	c->rx_done = c->tx_done = false;
	++c->cur;
}

static void advance(struct sim_caller *c, uint32_t t)
{
	while (c->cur < t)
		close_tick(c);
}

/* ---- the script ---- */

static bool floor_open(const struct sim_caller *c, uint32_t t)
{
	if (c->in_turn)
		return false;
	if (c->gate == GATE_FREE)
		return true;
	if (c->last_active >= (int64_t)c->ref)
		return true;
	return t >= c->ref + c->no_speech;
}

static void step_done(struct sim_caller *c, uint32_t ref, enum gate g)
{
	c->onset = -1;
	++c->step;
	c->res.steps_done = c->step;
	c->ph = PH_GATE;
	c->gate = g;
	c->ref = ref;
}

static void act_tmr_h(void *arg)
{
	struct sim_caller *c = arg;

	end_call(c, SIM_COMPLETED, "caller", NULL);
}

static void hang_up(struct sim_caller *c)
{
	c->ph = PH_HANGING;
	tmr_start(&c->tmr_act, 0, act_tmr_h, c);
}

/* Begin saying a line at tick t. onset: the agent's turn a barge goes
 * into (-1: none). */
static void line_start(struct sim_caller *c, uint32_t t,
		       const struct script_step *st, int64_t onset)
{
	struct sim_line *l = line_add(c);

	/* a line not answered before our next one has no latency */
	c->lat_line = -1;
	c->play = st->pcm;
	c->play_n = st->n;
	c->play_pos = 0;
	c->ph = PH_SPEAK;
	c->line = l ? (long)(c->res.nlines - 1) : -1;
	if (!l)
		return;
	l->step = c->step;
	l->line = st->line;
	l->barge = st->kind == SCRIPT_BARGE;
	l->start_ms = t * TICK_MS;
	l->latency_ms = -1;
	l->barge_ms = -1;
	l->barge_after_ms = onset >= 0 ?
		(int32_t)(((int64_t)t - onset) * TICK_MS) : -1;

	/* a barge-in is measured only when the agent is speaking */
	if (l->barge && c->in_turn && c->last_active >= 0 &&
	    c->last_active + BARGE_QUIET_TICKS >= t) {
		c->barge_line = c->line;
		c->barge_at = t;
		if (c->res.nturns)
			c->res.turns[c->res.nturns - 1].barged = true;
	}
}

/* Fill frame with the line being said; at its end, the next step. */
static void line_frame(struct sim_caller *c, uint32_t t, int16_t *frame)
{
	size_t n = c->play_n - c->play_pos;

	if (n > MEDIA_FRAME)
		n = MEDIA_FRAME;
	memcpy(frame, c->play + c->play_pos, n * sizeof(*frame));
	memset(frame + n, 0, (MEDIA_FRAME - n) * sizeof(*frame));
	c->play_pos += n;
	if (c->play_pos < c->play_n)
		return;

	c->play = NULL;
	if (c->line >= 0) {
		struct sim_line *l = &c->res.lines[c->line];
		c->lat_end = (uint64_t)t * MEDIA_FRAME + n;
		c->lat_tick = t;
		c->lat_line = c->line;
		/* rounded up: the last sample lies before end_ms */
		l->end_ms = (uint32_t)((c->lat_end + MEDIA_SRATE / 1000 - 1) /
				       (MEDIA_SRATE / 1000));
	}
	step_done(c, t + 1, GATE_TURN);
}

/* A @barge step at tick t: true when the line starts now. */
static bool barge_due(struct sim_caller *c, uint32_t t,
		      const struct script_step *st)
{
	/* the agent's turn in progress with audio since the step became
	 * due, or its next one */
	if (c->onset < 0 && c->in_turn && c->last_active >= (int64_t)c->ref)
		c->onset = c->turn_start;
	if (c->onset >= 0) {
		/* a turn shorter than the delay: we speak at the same
		 * moment, not a barge-in then */
		if (t < c->onset + st->ms / TICK_MS)
			return false;
		line_start(c, t, st, c->onset);
		return true;
	}
	if (c->in_turn || t < c->ref + c->no_speech)
		return false;
	line_start(c, t, st, -1);
	return true;
}

/* Run the script at tick t; true when frame holds what we say. */
static bool script_tick(struct sim_caller *c, uint32_t t, int16_t *frame)
{
	const struct script *sc = c->sc;

	for (;;) {
		const struct script_step *st;

		switch (c->ph) {

		case PH_SPEAK:
			line_frame(c, t, frame);
			return true;

		case PH_WAIT:
			if (t < c->until)
				return false;
			step_done(c, t, GATE_FREE);
			continue;

		case PH_DTMF:
			/* the tx handler is not asked while digits are sent:
			 * they are all out now */
			step_done(c, t, GATE_TURN);
			continue;

		case PH_EXPECT:
		case PH_HANGING:
			return false;

		case PH_GATE:
			break;
		}

		if (c->step >= sc->n) {
			/* the agent's last turn, then we hang up */
			if (floor_open(c, t))
				hang_up(c);
			return false;
		}
		st = &sc->steps[c->step];

		switch (st->kind) {

		case SCRIPT_SAY:
			if (!floor_open(c, t))
				return false;
			line_start(c, t, st, -1);
			continue;

		case SCRIPT_BARGE:
			if (!barge_due(c, t, st))
				return false;
			continue;

		case SCRIPT_WAIT:
			if (!floor_open(c, t))
				return false;
			c->until = t + st->ms / TICK_MS;
			c->ph = PH_WAIT;
			continue;

		case SCRIPT_DTMF:
			if (!floor_open(c, t))
				return false;
			for (const char *d = st->text; *d; d++) {
				int err = mstream_send_dtmf(c->ms, *d);
				if (err)
					log_warn("sim: DTMF %c not sent: %m",
						 *d, err);
			}
			c->ph = PH_DTMF;
			return false;

		case SCRIPT_HANGUP:
			step_done(c, t, GATE_FREE);
			hang_up(c);
			return false;

		case SCRIPT_EXPECT_HANGUP:
			c->ph = PH_EXPECT;
			return false;
		}
		return false;
	}
}

/* ---- media handlers ---- */

static void rx_h(const int16_t *frame, void *arg)
{
	struct sim_caller *c = arg;
	uint32_t t;

	if (c->state != C_UP)
		return;
	t = tick_now(c);
	advance(c, t);
	if (c->rx_done)
		return;
	agent_frame(c, t, frame);
	memcpy(c->rxf, frame, sizeof(c->rxf));
	c->rx_done = true;
}

static bool tx_h(int16_t *frame, void *arg)
{
	struct sim_caller *c = arg;
	bool say;
	uint32_t t;

	if (c->state != C_UP)
		return false;
	t = tick_now(c);
	advance(c, t);
	if (c->tx_done)
		return false;
	/* no audio received yet this tick: the agent is silent */
	if (!c->rx_done) {
		agent_frame(c, t, NULL);
		memset(c->rxf, 0, sizeof(c->rxf));
		c->rx_done = true;
	}
	say = script_tick(c, t, frame);
	if (say)
		memcpy(c->txf, frame, sizeof(c->txf));
	else
		memset(c->txf, 0, sizeof(c->txf));
	c->tx_done = true;
	return say;
}

static void dtmf_h(char digit, enum dtmf_source src, void *arg)
{
	struct sim_caller *c = arg;
	size_t n = strlen(c->res.dtmf_rx);
	(void)src;

	if (n + 1 < sizeof(c->res.dtmf_rx)) {
		c->res.dtmf_rx[n] = digit;
		c->res.dtmf_rx[n + 1] = '\0';
	}
}

/* ---- the end ---- */

static void end_tmr_h(void *arg)
{
	struct sim_caller *c = arg;

	/* BYE when we hang up an established call, 486 when still ringing
	 * (libre does either on release) */
	c->refer = mem_deref(c->refer);
	c->sess = mem_deref(c->sess);
	if (c->doneh)
		c->doneh(c, c->arg);
}

static void end_call(struct sim_caller *c, enum sim_outcome oc,
		     const char *by, const char *fmt, ...)
{
	struct sim_result *r = &c->res;

	if (c->state == C_ENDED)
		return;
	if (c->state == C_UP) {
		if (c->rx_done || c->tx_done)
			close_tick(c);
		r->duration_ms = c->cur * TICK_MS;
	}
	c->state = C_ENDED;
	r->outcome = oc;
	r->hangup_by = by;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		(void)re_vsnprintf(r->error, sizeof(r->error), fmt, ap);
		va_end(ap);
	}
	if (c->ms)
		mstream_stats(c->ms, &r->rtp);
	c->ms = mem_deref(c->ms);
	c->wav = mem_deref(c->wav);
	tmr_cancel(&c->tmr_timeout);
	tmr_cancel(&c->tmr_invite);
	tmr_cancel(&c->tmr_answer);
	tmr_cancel(&c->tmr_act);
	tmr_start(&c->tmr_end, 0, end_tmr_h, c);
}

/* The agent hung up: fine once the script is through or expects it. */
static void agent_hung_up(struct sim_caller *c)
{
	const struct script *sc = c->sc;

	if (c->ph == PH_EXPECT) {
		step_done(c, c->cur, GATE_FREE);
		end_call(c, SIM_COMPLETED, "agent", NULL);
	}
	else if (c->step >= sc->n || c->ph == PH_HANGING) {
		end_call(c, SIM_COMPLETED, "agent", NULL);
	}
	else {
		end_call(c, SIM_AGENT_HANGUP, "agent", "the agent %s "
			 "before line %u (@%s, step %zu of %zu)",
			 c->res.transfer_to[0] ? "transferred the call" :
			 "hung up", sc->steps[c->step].line,
			 script_kind_name(sc->steps[c->step].kind),
			 c->step + 1, sc->n);
	}
}

static void timeout_h(void *arg)
{
	struct sim_caller *c = arg;
	const struct script *sc = c->sc;

	if (c->state != C_UP) {
		end_call(c, SIM_NO_CALL, NULL, c->state == C_WAITING ?
			 "no INVITE arrived" : "the call was never answered");
		return;
	}
	/* all steps done: the agent was still talking at the end */
	if (c->step >= sc->n || c->ph == PH_HANGING) {
		end_call(c, SIM_COMPLETED, "caller", NULL);
		return;
	}
	end_call(c, SIM_TIMEOUT, "caller", c->ph == PH_EXPECT ?
		 "the agent did not hang up (line %u) within the timeout" :
		 "the timeout came before line %u was done",
		 sc->steps[c->step].line);
}

static void invite_timeout_h(void *arg)
{
	struct sim_caller *c = arg;

	if (c->state == C_WAITING)
		end_call(c, SIM_NO_CALL, NULL, "no INVITE arrived within "
			 "%u ms", c->invite_ms);
}

/* ---- SIP ---- */

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct sim_caller *c = arg;

	if (!c->ms)
		return ECONNRESET;
	if (!mbuf_get_left(msg->mb))
		return mstream_offer(c->ms, descp);
	return mstream_answer(c->ms, msg->mb, descp);
}

/* the answer to our offer, in the ACK of an INVITE that had none */
static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct sim_caller *c = arg;
	int err;

	if (!c->ms)
		return ECONNRESET;
	err = mstream_set_answer(c->ms, msg->mb);
	if (!err && c->state == C_UP)
		err = mstream_start(c->ms);
	return err;
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct sim_caller *c = arg;
	(void)msg;

	if (c->state == C_ENDED)
		return;
	if (err == ECONNRESET && c->state == C_UP) {
		agent_hung_up(c);
		return;
	}
	if (err == ECONNRESET) {
		end_call(c, SIM_NO_CALL, "agent", "the call was cancelled "
			 "before it was answered");
		return;
	}
	end_call(c, SIM_ERROR, NULL, "the session failed: %m", err);
}

/* A transfer: we play a phone whose transfer target answered at once
 * (202, then NOTIFY "200 OK"), so the agent ends the call as it would
 * after a real transfer; the result records the target. */
static void refer_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct sim_caller *c = arg;
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	int err;

	if (!hdr) {
		(void)sip_reply(sip, msg, 400, "Missing Refer-To header");
		return;
	}
	if (c->state != C_UP || c->refer) {
		(void)sip_reply(sip, msg, 603, "Decline");
		return;
	}
	err = sipevent_accept(&c->refer, c->sim->evsock, msg,
			      sipsess_dialog(c->sess), NULL, 202, "Accepted",
			      60, 60, 60, "sim", "message/sipfrag", NULL, NULL,
			      false, NULL, c, NULL);
	if (err) {
		(void)sip_reply(sip, msg, 500, "Server Internal Error");
		return;
	}
	{
		/* the URI without its brackets or header parameters */
		struct pl uri = hdr->val;
		const char *gt;
		if (uri.l && uri.p[0] == '<' &&
		    (gt = memchr(uri.p, '>', uri.l)) != NULL) {
			uri.p++;
			uri.l = (size_t)(gt - uri.p);
		}
		(void)pl_strcpy(&uri, c->res.transfer_to,
				sizeof(c->res.transfer_to));
	}
	(void)sipevent_notifyf(c->refer, NULL, SIPEVENT_TERMINATED,
			       SIPEVENT_NORESOURCE, 0, "SIP/2.0 200 OK\r\n");
}

static void answer_tmr_h(void *arg)
{
	struct sim_caller *c = arg;
	struct media_tick_stats st;
	int err;

	err = sipsess_answer(c->sess, 200, "OK", c->sdp, NULL);
	c->sdp = mem_deref(c->sdp);
	if (err) {
		end_call(c, SIM_ERROR, NULL, "cannot answer: %m", err);
		return;
	}
	media_tick_stats(c->sim->media, &st);
	c->tick0 = st.ticks;
	c->state = C_UP;
	c->res.answered = true;
	c->ref = 0;
	/* with a late offer the stream starts once the ACK answers */
	if (mstream_codec(c->ms) != MEDIA_CODEC_NONE) {
		err = mstream_start(c->ms);
		if (err)
			end_call(c, SIM_ERROR, "caller", "media did not start: "
				 "%m", err);
	}
}

static struct sim_caller *waiting_caller(struct sim *sim,
					 const struct sip_msg *msg)
{
	for (struct le *le = sim->callers.head; le; le = le->next) {
		struct sim_caller *c = le->data;
		if (c->state == C_WAITING &&
		    (!c->user || !pl_strcmp(&msg->uri.user, c->user)))
			return c;
	}
	return NULL;
}

static void conn_h(const struct sip_msg *msg, void *arg)
{
	struct sim *sim = arg;
	struct sim_caller *c = waiting_caller(sim, msg);
	int err;

	if (!c) {
		(void)sip_treply(NULL, sim->sip, msg, 480,
				 "Temporarily Unavailable");
		return;
	}
	err = mstream_alloc(&c->ms, sim->media, rx_h, tx_h, dtmf_h, c);
	if (err) {
		(void)sip_treply(NULL, sim->sip, msg, 500,
				 "Server Internal Error");
		end_call(c, SIM_ERROR, NULL, "no RTP port: %m", err);
		return;
	}
	err = mbuf_get_left(msg->mb) ?
		mstream_answer(c->ms, msg->mb, &c->sdp) :
		mstream_offer(c->ms, &c->sdp);
	if (err) {
		(void)sip_treply(NULL, sim->sip, msg, err == EPROTO ? 488 : 400,
				 err == EPROTO ? "Not Acceptable Here" :
				 "Bad Request");
		end_call(c, SIM_ERROR, NULL, "the offer was unusable: %m", err);
		return;
	}
	err = sipsess_accept(&c->sess, sim->sock, msg, 180, "Ringing", "sim",
			     "application/sdp", NULL, NULL, NULL, false,
			     offer_h, answer_h, estab_h, NULL, refer_h,
			     close_h, c, "Allow: INVITE, ACK, BYE, CANCEL, "
			     "OPTIONS, REFER\r\n");
	if (err) {
		(void)sip_treply(NULL, sim->sip, msg, 500,
				 "Server Internal Error");
		end_call(c, SIM_ERROR, NULL, "cannot accept the call: %m",
			 err);
		return;
	}
	(void)pl_strcpy(&msg->callid, c->res.sip_call_id,
			sizeof(c->res.sip_call_id));
	c->state = C_RINGING;
	tmr_cancel(&c->tmr_invite);
	tmr_start(&c->tmr_answer, c->ring_ms, answer_tmr_h, c);
}

static bool request_h(const struct sip_msg *msg, void *arg)
{
	struct sim *sim = arg;

	if (pl_strcmp(&msg->met, "OPTIONS"))
		return false;
	(void)sip_replyf(sim->sip, msg, 200, "OK",
			 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n");
	return true;
}

/* ---- objects ---- */

static void sim_destructor(void *data)
{
	struct sim *sim = data;

	/* callers hold references: none is left here */
	if (sim->sock)
		sipsess_close_all(sim->sock);
	mem_deref(sim->sock);
	mem_deref(sim->evsock);
	mem_deref(sim->lsnr);
	if (sim->sip)
		sip_close(sim->sip, true);
	mem_deref(sim->sip);
	mem_deref(sim->media);
}

int sim_alloc(struct sim **simp, const struct sim_cfg *cfg)
{
	static const struct sim_cfg defaults = {NULL, NULL, 0, 0};
	struct media_cfg mc;
	struct sim *sim;
	char ip[64];
	const char *listen;
	int err;

	if (!simp)
		return EINVAL;
	if (!cfg)
		cfg = &defaults;
	listen = cfg->sip_listen ? cfg->sip_listen : "127.0.0.1:0";

	sim = mem_zalloc(sizeof(*sim), sim_destructor);
	if (!sim)
		return ENOMEM;
	list_init(&sim->callers);

	err = sa_decode(&sim->laddr, listen, strlen(listen));
	if (err)
		goto out;
	err = sip_alloc(&sim->sip, NULL, 64, 64, 64,
			"Parley-simulate/" PARLEY_VERSION, NULL, NULL);
	if (!err)
		err = sip_transp_add(sim->sip, SIP_TRANSP_UDP, &sim->laddr);
	if (!err)
		err = sip_transp_laddr(sim->sip, &sim->laddr, SIP_TRANSP_UDP,
				       NULL);
	if (!err)
		err = sipsess_listen(&sim->sock, sim->sip, 64, conn_h, sim);
	if (!err)
		err = sipevent_listen(&sim->evsock, sim->sip, 16, 16, NULL,
				      NULL);
	if (!err)
		err = sip_listen(&sim->lsnr, sim->sip, true, request_h, sim);
	if (err)
		goto out;

	re_snprintf(ip, sizeof(ip), "%j", &sim->laddr);
	memset(&mc, 0, sizeof(mc));
	mc.local_ip = cfg->rtp_ip ? cfg->rtp_ip : ip;
	mc.port_min = cfg->rtp_port_min ? cfg->rtp_port_min : RTP_PORT_MIN;
	mc.port_max = cfg->rtp_port_max ? cfg->rtp_port_max : RTP_PORT_MAX;
	err = media_alloc(&sim->media, &mc);

 out:
	if (err)
		mem_deref(sim);
	else
		*simp = sim;
	return err;
}

uint16_t sim_port(const struct sim *sim)
{
	return sim ? sa_port(&sim->laddr) : 0;
}

struct media *sim_media(const struct sim *sim)
{
	return sim ? sim->media : NULL;
}

unsigned sim_pending(const struct sim *sim)
{
	unsigned n = 0;

	for (struct le *le = sim ? sim->callers.head : NULL; le;
	     le = le->next) {
		const struct sim_caller *c = le->data;
		n += c->state != C_ENDED;
	}
	return n;
}

static void caller_destructor(void *data)
{
	struct sim_caller *c = data;

	tmr_cancel(&c->tmr_timeout);
	tmr_cancel(&c->tmr_invite);
	tmr_cancel(&c->tmr_answer);
	tmr_cancel(&c->tmr_act);
	tmr_cancel(&c->tmr_end);
	list_unlink(&c->le);
	mem_deref(c->refer);
	mem_deref(c->sess);
	mem_deref(c->ms);
	mem_deref(c->sdp);
	mem_deref(c->wav);
	mem_deref(c->user);
	mem_deref(c->res.turns);
	mem_deref(c->res.lines);
	mem_deref(c->sc);
	mem_deref(c->sim);
}

static uint32_t ticks_of(uint32_t ms, uint32_t dflt)
{
	uint32_t t = (ms ? ms : dflt) / TICK_MS;

	return t ? t : 1;
}

int sim_caller_alloc(struct sim_caller **callerp, struct sim *sim,
		     struct script *sc, const struct sim_opts *opts,
		     sim_done_h *doneh, void *arg)
{
	static const struct sim_opts defaults;
	struct sim_caller *c;
	int err = 0;

	if (!callerp || !sim || !sc || !sc->n)
		return EINVAL;
	for (size_t i = 0; i < sc->n; i++) {
		const struct script_step *st = &sc->steps[i];
		if ((st->kind == SCRIPT_SAY || st->kind == SCRIPT_BARGE) &&
		    (!st->pcm || !st->n))
			return EINVAL;   /* not synthesised */
	}
	if (!opts)
		opts = &defaults;

	c = mem_zalloc(sizeof(*c), caller_destructor);
	if (!c)
		return ENOMEM;
	c->sim = mem_ref(sim);
	c->sc = mem_ref(sc);
	c->doneh = doneh;
	c->arg = arg;
	c->turn_silence = ticks_of(opts->turn_silence_ms, SIM_TURN_SILENCE_MS);
	c->no_speech = ticks_of(opts->no_speech_ms, SIM_NO_SPEECH_MS);
	c->ring_ms = opts->ring_ms;
	c->last_active = -1;
	c->lat_line = -1;
	c->barge_line = -1;
	c->line = -1;
	c->onset = -1;
	c->res.steps = sc->n;
	tmr_init(&c->tmr_timeout);
	tmr_init(&c->tmr_invite);
	tmr_init(&c->tmr_answer);
	tmr_init(&c->tmr_act);
	tmr_init(&c->tmr_end);
	list_append(&sim->callers, &c->le, c);

	if (opts->user)
		err = str_dup(&c->user, opts->user);
	if (!err && opts->record)
		err = wav_writer_open(&c->wav, opts->record, MEDIA_SRATE, 2);
	if (err) {
		mem_deref(c);
		return err;
	}
	tmr_start(&c->tmr_timeout, opts->timeout_ms ? opts->timeout_ms :
		  SIM_TIMEOUT_MS, timeout_h, c);
	c->invite_ms = opts->invite_timeout_ms ? opts->invite_timeout_ms :
		SIM_INVITE_TIMEOUT_MS;
	tmr_start(&c->tmr_invite, c->invite_ms, invite_timeout_h, c);
	*callerp = c;
	return 0;
}

void sim_caller_hangup(struct sim_caller *c)
{
	if (c)
		end_call(c, SIM_INTERRUPTED, c->state == C_UP ? "caller" :
			 NULL, "interrupted");
}

const struct sim_result *sim_caller_result(const struct sim_caller *c)
{
	return c ? &c->res : NULL;
}

/* ---- JSON ---- */

static int print_ms(struct re_printf *pf, int32_t ms)
{
	return ms < 0 ? re_hprintf(pf, "null") : re_hprintf(pf, "%d", ms);
}

int sim_result_json(struct re_printf *pf, const struct sim_result *r,
		    const struct script *sc)
{
	int err = 0;
	size_t i, k;

	err |= re_hprintf(pf, "\"answered\":%s,\"outcome\":\"%s\","
			  "\"hangup_by\":", r->answered ? "true" : "false",
			  sim_outcome_name(r->outcome));
	err |= r->hangup_by ? re_hprintf(pf, "\"%s\"", r->hangup_by) :
		re_hprintf(pf, "null");
	err |= re_hprintf(pf, ",\"error\":");
	err |= r->error[0] ? json_print_str(pf, r->error) :
		re_hprintf(pf, "null");
	err |= re_hprintf(pf, ",\"duration_ms\":%u,\"steps_done\":%zu,"
			  "\"steps\":%zu,\"turns\":[", r->duration_ms,
			  r->steps_done, r->steps);
	for (i = 0; i < r->nturns; i++)
		err |= re_hprintf(pf, "%s{\"start_ms\":%u,\"end_ms\":%u,"
				  "\"barged\":%s}", i ? "," : "",
				  r->turns[i].start_ms, r->turns[i].end_ms,
				  r->turns[i].barged ? "true" : "false");
	err |= re_hprintf(pf, "],\"lines\":[");
	for (i = 0; i < r->nlines; i++) {
		const struct sim_line *l = &r->lines[i];
		const char *text = sc && l->step < sc->n ?
			sc->steps[l->step].text : NULL;

		err |= re_hprintf(pf, "%s{\"line\":%u,\"text\":", i ? "," : "",
				  l->line);
		err |= text ? json_print_str(pf, text) : re_hprintf(pf, "null");
		err |= re_hprintf(pf, ",\"barge\":%s,\"start_ms\":%u,"
				  "\"end_ms\":%u,\"latency_ms\":",
				  l->barge ? "true" : "false", l->start_ms,
				  l->end_ms);
		err |= print_ms(pf, l->latency_ms);
		err |= re_hprintf(pf, ",\"barge_ms\":");
		err |= print_ms(pf, l->barge_ms);
		err |= re_hprintf(pf, ",\"barge_after_ms\":");
		err |= print_ms(pf, l->barge_after_ms);
		err |= re_hprintf(pf, "}");
	}
	err |= re_hprintf(pf, "],\"latencies_ms\":[");
	for (i = 0; i < r->nlines; i++) {
		err |= re_hprintf(pf, "%s", i ? "," : "");
		err |= print_ms(pf, r->lines[i].latency_ms);
	}
	err |= re_hprintf(pf, "],\"barge_ins_ms\":[");
	for (i = 0, k = 0; i < r->nlines; i++) {
		if (!r->lines[i].barge)
			continue;
		err |= re_hprintf(pf, "%s", k++ ? "," : "");
		err |= print_ms(pf, r->lines[i].barge_ms);
	}
	err |= re_hprintf(pf, "],\"dtmf_received\":");
	err |= json_print_str(pf, r->dtmf_rx);
	err |= re_hprintf(pf, ",\"transfer_to\":");
	err |= r->transfer_to[0] ? json_print_str(pf, r->transfer_to) :
		re_hprintf(pf, "null");
	err |= re_hprintf(pf, ",\"rtp\":{\"rx_packets\":%u,\"tx_packets\":%u,"
			  "\"rx_lost\":%u,\"rx_missing_frames\":%u}",
			  r->rtp.rx_packets, r->rtp.tx_packets, r->rtp.rx_lost,
			  r->rtp.rx_missing_frames);
	return err;
}
