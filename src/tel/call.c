/* call.c - one call: its SIP session, its audio stream, what it says
 * (the agent's first message until the voice agent lands), what it
 * records (the caller), DTMF, transfer, limits and its store rows.
 *
 * A call is never freed inside a libre callback of its own session: its
 * end is recorded at once and the object released from a timer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "agent/provider.h"
#include "audio/mp3.h"
#include "audio/recording.h"
#include "audio/wav.h"
#include "media/amd.h"
#include "config/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "json/json.h"
#include "media/media.h"
#include "agent/session.h"
#include "store/db.h"
#include "tel/callrec.h"
#include "tel/tel_int.h"

static void call_destructor(void *data)
{
	struct call *call = data;

	list_unlink(&call->le);
	tmr_cancel(&call->tmr_ring);
	tmr_cancel(&call->tmr_maxdur);
	tmr_cancel(&call->tmr_hangup);
	tmr_cancel(&call->tmr_rtp);
	/* BYE before the transfer's subscription ends (SUBSCRIBE with
	 * Expires: 0): a caller still trying the transfer target may take
	 * the unsubscribe as a failed transfer and hang up itself, racing
	 * our BYE (baresip 1.0.0 does) */
	mem_deref(call->sess);
	mem_deref(call->refer);
	mem_deref(call->ms);
	mem_deref(call->wav);
	mem_deref(call->rec_path);
	mem_deref(call->amd);
	mem_deref(call->amd_params);
	mem_deref(call->vm_message);
	mem_deref(call->rec_buf);
	mem_deref(call->rec);
	mem_deref(call->agent);
	mem_deref(call->peer_number);
	mem_deref(call->peer_domain);
	mem_deref(call->end_cause);
}

void call_event(struct call *call, const char *type, const char *fmt, ...)
{
	char *data = NULL;
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		(void)re_vsdprintf(&data, fmt, ap);
		va_end(ap);
	}
	(void)callrec_event(call->rec, type, data);
	mem_deref(data);
}

/* ---- answering-machine detection ---- */

static void amd_machine_done(struct call *call, const struct amd_result *r)
{
	call_event(call, "amd.greeting_end", "{\"at_ms\":%d,\"cause\":\"%s\","
		   "\"beep_ms\":%d,\"beep_hz\":%u}", r->greeting_end_ms,
		   r->end_cause, r->beep_ms, r->beep_hz);
	call->amd = mem_deref(call->amd);
	if (session_leave_message(call->agent, call->vm_message))
		call_end(call, "agent", "amd_machine", "voicemail", 0);
}

static void amd_decided(struct call *call, const struct amd_result *r)
{
	bool machine = r->decision == AMD_MACHINE ||
		(r->decision == AMD_UNSURE && call->unsure_is_machine);
	const char *d = amd_decision_str(r->decision);

	call->amd_decided = true;
	call->amd_machine = machine;
	log_info("call %lld: answering-machine detection: %s after %d ms "
		 "(%s)", (long long)callrec_id(call->rec), d, r->decided_ms,
		 r->cause);
	{
		struct db_val p[] = {DBV_TEXT(d), DBV_INT(r->decided_ms)};
		callrec_update(call->rec, "amd_result = ?, amd_ms = ?", p, 2);
	}
	call_event(call, "amd.result", "{\"result\":\"%s\",\"ms\":%d,"
		   "\"cause\":%H,\"treated_as\":\"%s\"}", d, r->decided_ms,
		   json_print_str, r->cause, machine ? "machine" : "human");
	if (!machine) {
		call->amd = mem_deref(call->amd);
		session_release(call->agent);
		return;
	}
	if (!call->vm_message) {
		call_event(call, "amd_hangup", NULL);
		call_end(call, "agent", "amd_machine", "voicemail", 0);
		return;
	}
	/* wait for the beep (or the greeting's end) to leave the message */
	if (amd_state(call->amd) == AMD_DONE) {
		struct amd_result res;
		amd_result(call->amd, &res);
		amd_machine_done(call, &res);
	}
}

static void amd_listen(struct call *call, const int16_t *frame)
{
	enum amd_state st = amd_frame(call->amd, frame, MEDIA_FRAME);
	struct amd_result r;

	if (st == AMD_LISTENING)
		return;
	amd_result(call->amd, &r);
	if (!call->amd_decided) {
		amd_decided(call, &r);
		return;
	}
	if (st == AMD_DONE)
		amd_machine_done(call, &r);
}

/* the agent's outbound.amd settings; the detector's own parameters may
 * sit beside the actions (amd.h) */
static void amd_configure(struct call *call, const struct odict *cfg)
{
	const struct odict_entry *e = cfg ? odict_lookup(cfg, "outbound") :
		NULL;
	const struct odict *o;
	const char *s;
	char err[128];

	if (!call->outbound || !e || e->type != ODICT_OBJECT)
		return;
	e = odict_lookup(e->u.odict, "amd");
	if (!e || e->type != ODICT_OBJECT)
		return;
	o = e->u.odict;
	e = odict_lookup(o, "enabled");
	if (!e || e->type != ODICT_BOOL || !e->u.boolean)
		return;
	call->amd_params = mem_zalloc(sizeof(*call->amd_params), NULL);
	if (!call->amd_params)
		return;
	amd_params_default(call->amd_params);
	e = odict_lookup(o, "detector");
	if (e && e->type == ODICT_OBJECT &&
	    amd_params_decode(call->amd_params, e->u.odict, err, sizeof(err)))
		log_warn("call %lld: AMD parameters ignored: %s",
			 (long long)callrec_id(call->rec), err);
	s = odict_string(o, "voicemail_action");
	if (s && !strcmp(s, "leave_message") &&
	    odict_string(o, "voicemail_message"))
		(void)str_dup(&call->vm_message,
			      odict_string(o, "voicemail_message"));
	s = odict_string(o, "unsure_action");
	call->unsure_is_machine = s && !strcmp(s, "machine");
}

/* ---- the recording ---- */

enum { REC_BUF_FRAMES = 10 };     /* written every 200 ms */

static void rec_flush(struct call *call)
{
	if (call->wav && call->rec_fill)
		(void)wav_write(call->wav, call->rec_buf,
				call->rec_fill * MEDIA_FRAME);
	call->rec_fill = 0;
}

/* one tick of both sides. What the caller said reaches us after the
 * network and the jitter buffer's cushion, which holds 0 to 2 frames
 * (the depth settles where arrivals fall against our tick): our frame
 * is written one tick later, beside the caller's frame played then, so
 * the caller's side is within a frame of when it was said and ours is
 * exactly on the call's tick (the transcript's clock). */
static void rec_tick(struct call *call, const int16_t *caller,
		     const int16_t *agent)
{
	int16_t *out;

	if (!call->wav)
		return;
	if (call->rec_started) {
		out = call->rec_buf + call->rec_fill * MEDIA_FRAME * 2;
		for (size_t i = 0; i < MEDIA_FRAME; i++) {
			out[2 * i] = caller[i];
			out[2 * i + 1] = call->rec_prev[i];
		}
		if (++call->rec_fill == REC_BUF_FRAMES)
			rec_flush(call);
	}
	call->rec_started = true;
	if (agent)
		memcpy(call->rec_prev, agent, sizeof(call->rec_prev));
	else
		memset(call->rec_prev, 0, sizeof(call->rec_prev));
}

/* the end: what we said last, and what is buffered, is written */
static void rec_close(struct call *call)
{
	static const int16_t quiet[MEDIA_FRAME];

	if (!call->wav)
		return;
	if (call->rec_rx_pending)
		rec_tick(call, call->rec_rx, NULL);
	call->rec_rx_pending = false;
	rec_tick(call, quiet, NULL);
	rec_flush(call);
	call->wav = mem_deref(call->wav);
}

/* ---- audio and the voice agent ---- */

static void rx_h(const int16_t *frame, void *arg)
{
	struct call *call = arg;

	/* no tx last tick (held, or sending DTMF): we said nothing */
	if (call->rec_rx_pending)
		rec_tick(call, call->rec_rx, NULL);
	memcpy(call->rec_rx, frame, sizeof(call->rec_rx));
	call->rec_rx_pending = true;
	session_rx(call->agent, frame, MEDIA_FRAME);
	if (call->amd)
		amd_listen(call, frame);
}

static bool tx_h(int16_t *frame, void *arg)
{
	struct call *call = arg;
	bool said = session_tx(call->agent, frame, MEDIA_FRAME);

	if (call->rec_rx_pending) {
		rec_tick(call, call->rec_rx, said ? frame : NULL);
		call->rec_rx_pending = false;
	}
	return said;
}

static const char *dtmf_source_name(enum dtmf_source src)
{
	switch (src) {
	case DTMF_RFC4733: return "rfc4733";
	case DTMF_INBAND:  return "inband";
	default:           return "sip_info";
	}
}

static void dtmf_h(char digit, enum dtmf_source src, void *arg)
{
	struct call *call = arg;

	log_info("call %lld: DTMF %c (%s)", (long long)callrec_id(call->rec),
		 digit, dtmf_source_name(src));
	call_event(call, "dtmf", "{\"digit\":\"%c\",\"source\":\"%s\"}", digit,
		   dtmf_source_name(src));
	session_dtmf(call->agent, digit);
}

static void hangup_tmr_h(void *arg)
{
	struct call *call = arg;

	call_end(call, "agent", call->end_cause ? call->end_cause :
		 "agent_hangup", NULL, 0);
}

/* the agent is done: the last words still reach the far end's jitter
 * buffer and speaker before the BYE */
static void agent_hangup_h(void *arg, const char *cause)
{
	struct call *call = arg;

	if (call->closing || tmr_isrunning(&call->tmr_hangup))
		return;
	mem_deref(call->end_cause);
	call->end_cause = NULL;
	(void)str_dup(&call->end_cause, cause);
	tmr_start(&call->tmr_hangup, 400, hangup_tmr_h, call);
}

static int agent_transfer_h(void *arg, const char *to)
{
	struct call *call = arg;
	char *uri = NULL;
	int err;

	if (!strncmp(to, "sip:", 4) || !strncmp(to, "sips:", 5))
		return tel_transfer(call->tel, call->tenant_id,
				    callrec_id(call->rec), to);
	/* a number: at the far end's domain, as trunks route numbers */
	if (!call->peer_domain)
		return EINVAL;
	err = re_sdprintf(&uri, "sip:%s@%s", to, call->peer_domain);
	if (!err)
		err = tel_transfer(call->tel, call->tenant_id,
				   callrec_id(call->rec), uri);
	mem_deref(uri);
	return err;
}

static int agent_dtmf_h(void *arg, const char *digits)
{
	struct call *call = arg;
	int err = 0;

	for (const char *d = digits; *d && !err && call->ms; d++)
		err = mstream_send_dtmf(call->ms, *d);
	return err;
}

static void agent_event_h(void *arg, const char *type, const char *data)
{
	struct call *call = arg;

	(void)callrec_event(call->rec, type, data);
}

static void agent_turn_h(void *arg, const struct session_turn *t)
{
	struct call *call = arg;
	struct db_val p[] = {DBV_INT(t->turn), DBV_TEXT(t->speaker),
			     DBV_TEXT(t->text), DBV_INT((int64_t)t->start_ms),
			     DBV_INT((int64_t)t->end_ms),
			     DBV_INT(t->interrupted ? 1 : 0),
			     DBV_TEXT(t->timings_json)};

	(void)callrec_child(call->rec, "transcripts (turn, speaker, text, "
			    "start_ms, end_ms, interrupted, timings)", p, 7);
}

static void agent_dnc_h(void *arg)
{
	struct call *call = arg;
	int64_t now = util_now_ms();
	struct db_val p[] = {DBV_INT(call->tenant_id), DBV_INT(now),
			     DBV_INT(now), DBV_TEXT(call->peer_number),
			     call->campaign_id ? DBV_INT(call->campaign_id) :
			     DBV_NULL};

	call->dnc = true;
	if (!call->peer_number)
		return;
	(void)callrec_exec(call->rec, "INSERT INTO dnc (tenant_id, "
			   "created_at, updated_at, phone, campaign_id, "
			   "reason, source) VALUES (?, ?, ?, ?, ?, "
			   "'caller_request', 'call') ON CONFLICT DO NOTHING",
			   p, 5);
}

static const struct session_io agent_io = {
	.hangup = agent_hangup_h,
	.transfer = agent_transfer_h,
	.dtmf = agent_dtmf_h,
	.event = agent_event_h,
	.turn = agent_turn_h,
	.dnc = agent_dnc_h,
};

/* ---- life cycle ---- */

int call_alloc(struct call **callp, struct tel *tel, int64_t tenant_id,
	       int64_t call_id, bool outbound)
{
	struct call *call;
	int err;

	call = mem_zalloc(sizeof(*call), call_destructor);
	if (!call)
		return ENOMEM;
	call->tel = tel;
	call->tenant_id = tenant_id;
	call->outbound = outbound;
	call->max_duration_s = 1800;
	tmr_init(&call->tmr_ring);
	tmr_init(&call->tmr_maxdur);
	tmr_init(&call->tmr_hangup);
	tmr_init(&call->tmr_rtp);

	err = callrec_alloc(&call->rec, tel->pool, tenant_id, call_id);
	if (!err)
		err = mstream_alloc(&call->ms, tel->media, rx_h, tx_h, dtmf_h,
				    call);
	if (err) {
		mem_deref(call);
		return err;
	}
	list_append(&tel->calls, &call->le, call);
	*callp = call;
	return 0;
}

void call_configure(struct call *call, const char *agent_json,
		    const char *vars_json, const char *say_instead,
		    bool notification)
{
	struct odict *cfg = NULL, *vars = NULL;
	struct session_opts o;
	const struct odict_entry *e;
	int type, err;

	if (agent_json && json_parse(&cfg, &type, agent_json,
				     strlen(agent_json), NULL))
		cfg = NULL;
	if (cfg && type != ODICT_OBJECT)
		cfg = mem_deref(cfg);
	e = cfg ? odict_lookup(cfg, "limits") : NULL;
	if (e && e->type == ODICT_OBJECT) {
		const struct odict_entry *m =
			odict_lookup(e->u.odict, "max_duration");
		if (m && m->type == ODICT_INT && m->u.integer > 0)
			call->max_duration_s = (uint32_t)m->u.integer;
	}

	/* template variables: the contact's fields, else who calls */
	if (vars_json && json_parse(&vars, &type, vars_json,
				    strlen(vars_json), NULL))
		vars = NULL;
	if (vars && type != ODICT_OBJECT)
		vars = mem_deref(vars);
	if (!vars && call->peer_number && !odict_alloc(&vars, 4))
		(void)odict_entry_add(vars, "phone", ODICT_STRING,
				      call->peer_number);

	/* recording, on unless the agent says otherwise, with its consent
	 * announcement before anything else */
	call->record = true;
	e = cfg ? odict_lookup(cfg, "recording") : NULL;
	if (e && e->type == ODICT_OBJECT) {
		const struct odict_entry *en = odict_lookup(e->u.odict,
							    "enabled");
		if (en && en->type == ODICT_BOOL)
			call->record = en->u.boolean;
	}

	amd_configure(call, cfg);

	memset(&o, 0, sizeof(o));
	o.hold = call->amd_params != NULL;
	if (call->record && e && e->type == ODICT_OBJECT)
		o.preamble = odict_string(e->u.odict, "consent_message");
	o.outbound = call->outbound;
	o.say_only = say_instead;
	o.notification = notification;
	err = session_alloc(&call->agent, call->tel->env, cfg, vars, &o,
			    &agent_io, call);
	if (err)
		log_warn("call %lld: no voice agent: %m",
			 (long long)callrec_id(call->rec), err);
	mem_deref(cfg);
	mem_deref(vars);
}

static void maxdur_h(void *arg)
{
	struct call *call = arg;

	log_info("call %lld: maximum duration of %u s reached",
		 (long long)callrec_id(call->rec), call->max_duration_s);
	call_end(call, "system", "max_duration", NULL, 0);
}

/* A caller gone without a BYE (crashed phone, lost network) would keep
 * the call until max_duration: no packet in rtp.timeout ends it. RTCP
 * counts too, so a held call that still reports stays up. */
static void rtp_check_h(void *arg)
{
	struct call *call = arg;
	uint32_t timeout_s = call->tel->cfg->rtp_timeout;
	struct mstream_stats st;

	mstream_stats(call->ms, &st);
	if (st.rx_packets + st.rtcp_rx != call->rx_seen) {
		call->rx_seen = st.rx_packets + st.rtcp_rx;
		call->rx_at = tmr_jiffies();
	}
	else if (tmr_jiffies() - call->rx_at >= (uint64_t)timeout_s * 1000) {
		log_info("call %lld: no RTP for %u s",
			 (long long)callrec_id(call->rec), timeout_s);
		call_end(call, "system", "rtp_timeout", NULL, 0);
		return;
	}
	tmr_start(&call->tmr_rtp, 500, rtp_check_h, call);
}

static void open_recording(struct call *call)
{
	char path[512];
	int err;

	if (!call->record)
		return;
	call->rec_buf = mem_alloc(REC_BUF_FRAMES * MEDIA_FRAME * 2 *
				  sizeof(int16_t), NULL);
	err = call->rec_buf ? 0 : ENOMEM;
	if (!err)
		err = recording_path(path, sizeof(path),
				     call->tel->cfg->recordings_dir,
				     call->campaign_id, call->agent_id,
				     callrec_id(call->rec), "recording.wav");
	if (!err)
		err = recording_mkdirs(path);
	if (!err)
		err = wav_writer_open(&call->wav, path, MEDIA_SRATE, 2);
	if (!err)
		err = str_dup(&call->rec_path, path);
	if (err) {
		log_warn("call %lld: cannot record to %s: %m",
			 (long long)callrec_id(call->rec), path, err);
		call->wav = mem_deref(call->wav);
		return;
	}
	call_event(call, "recording.started", "{\"path\":%H,"
		   "\"channels\":{\"left\":\"%s\",\"right\":\"agent\"}}",
		   json_print_str, path, call->outbound ? "callee" : "caller");
}

/* the MP3 of the mix, after the call, on a speech worker */
struct mp3job {
	char *wav, *mp3;
	struct tel *tel;      /* outlives the job: shutdown waits for it */
	int64_t call_id;
	int err;
};

static void mp3job_destructor(void *data)
{
	struct mp3job *j = data;

	mem_deref(j->wav);
	mem_deref(j->mp3);
}

static void mp3_work_h(void *ctx, void *arg)
{
	struct mp3job *j = arg;
	(void)ctx;

	j->err = mp3_from_wav(j->wav, j->mp3);
}

static void mp3_done_h(int err, void *arg)
{
	struct mp3job *j = arg;

	if (!err)
		err = j->err;
	/* no event: the call's story ended with call.ended; the API makes
	 * a missing MP3 on demand */
	if (err)
		log_warn("call %lld: no MP3 of the recording: %m",
			 (long long)j->call_id, err);
	j->tel->mp3_pending--;
	mem_deref(j);
}

static void recording_done(struct call *call)
{
	struct mp3job *j;
	char *dot;

	rec_close(call);
	if (!call->rec_path)
		return;
	j = mem_zalloc(sizeof(*j), mp3job_destructor);
	if (!j)
		return;
	j->tel = call->tel;
	j->call_id = callrec_id(call->rec);
	if (str_dup(&j->wav, call->rec_path) ||
	    str_dup(&j->mp3, call->rec_path) ||
	    !(dot = strrchr(j->mp3, '.')) || strlen(dot) < 4) {
		mem_deref(j);
		return;
	}
	memcpy(dot, ".mp3", 4);
	if (pool_submit(call->tel->env->speech, mp3_work_h, mp3_done_h, j))
		mem_deref(j);
	else
		call->tel->mp3_pending++;
}

void call_answered(struct call *call)
{
	int64_t now = util_now_ms();
	int err;

	if (call->state == CALL_ANSWERED || call->closing)
		return;
	call->state = CALL_ANSWERED;
	call->was_answered = true;
	call->answered_at = tmr_jiffies();
	tmr_cancel(&call->tmr_ring);

	err = mstream_start(call->ms);
	if (err)
		log_warn("call %lld: media did not start: %m",
			 (long long)callrec_id(call->rec), err);
	{
		struct db_val p[] = {DBV_INT(now), DBV_INT(200)};
		callrec_update(call->rec, "status = 'answered', "
			       "answered_at = ?, sip_code = ?", p, 2);
	}
	call_event(call, "call.answered", NULL);
	tmr_start(&call->tmr_maxdur, (uint64_t)call->max_duration_s * 1000,
		  maxdur_h, call);
	if (call->tel->cfg->rtp_timeout) {
		call->rx_at = tmr_jiffies();
		tmr_start(&call->tmr_rtp, 500, rtp_check_h, call);
	}
	open_recording(call);
	if (call->amd_params && amd_alloc(&call->amd, call->amd_params)) {
		log_warn("call %lld: no answering-machine detection",
			 (long long)callrec_id(call->rec));
		call->amd = NULL;
	}
	session_start(call->agent);
	if (call->amd_params && !call->amd)
		session_release(call->agent);
}

static void release_tmr_h(void *arg)
{
	mem_deref(arg);
}

void call_end(struct call *call, const char *hangup_by, const char *cause,
	      const char *outcome, uint16_t scode)
{
	const char *oc = outcome;

	if (call->closing)
		return;
	call->closing = true;
	call->state = CALL_ENDED;
	tmr_cancel(&call->tmr_ring);
	tmr_cancel(&call->tmr_maxdur);
	tmr_cancel(&call->tmr_hangup);
	tmr_cancel(&call->tmr_rtp);
	list_unlink(&call->le);
	list_append(&call->tel->ending, &call->le, call);

	if (!oc)
		oc = call->amd_machine ? "voicemail" :
			call->was_answered ? "answered" :
			tel_outcome(scode, 0, false);
	/* the event first: once the row says ended, its story is complete */
	call_event(call, "call.ended", "{\"outcome\":\"%s\",\"cause\":\"%s\","
		   "\"by\":\"%s\"}", oc, cause ? cause : "",
		   hangup_by ? hangup_by : "");
	{
		struct db_val p[] = {DBV_INT(util_now_ms()),
				     scode ? DBV_INT(scode) : DBV_NULL,
				     DBV_TEXT(cause), DBV_TEXT(hangup_by),
				     DBV_TEXT(oc)};
		callrec_update(call->rec, "status = 'ended', ended_at = ?, "
			       "sip_code = COALESCE(?, sip_code), "
			       "hangup_cause = ?, hangup_by = ?, outcome = ?",
			       p, 5);
	}

	if (call->tel->endh) {
		struct tel_call_end e = {
			.tenant_id = call->tenant_id,
			.call_id = callrec_id(call->rec),
			.task_id = call->task_id,
			.campaign_id = call->campaign_id,
			.outcome = oc, .cause = cause,
			.answered = call->was_answered, .dnc = call->dnc,
			.duration_ms = call->was_answered ?
				tmr_jiffies() - call->answered_at : 0,
		};
		call->tel->endh(&e, call->tel->end_arg);
	}

	log_info("call %lld ended: %s (%s by %s)",
		 (long long)callrec_id(call->rec), oc, cause ? cause : "-",
		 hangup_by ? hangup_by : "-");

	/* media stops now; the session goes (BYE when established, CANCEL
	 * when still ringing) from a timer, outside any of its callbacks */
	session_stop(call->agent);
	call->ms = mem_deref(call->ms);
	recording_done(call);
	tmr_start(&call->tmr_hangup, 0, release_tmr_h, call);
}

struct call *call_find(struct tel *tel, int64_t tenant_id, int64_t call_id)
{
	for (struct le *le = tel ? tel->calls.head : NULL; le; le = le->next) {
		struct call *call = le->data;
		if (call->tenant_id == tenant_id &&
		    callrec_id(call->rec) == call_id && !call->closing)
			return call;
	}
	return NULL;
}

/* ---- session handlers ---- */

/* the peer held or resumed the call (its SDP direction changed) */
static void hold_changed(struct call *call, bool was_sending)
{
	bool sending = mstream_sending(call->ms);

	if (sending == was_sending)
		return;
	log_info("call %lld: %s by the %s", (long long)callrec_id(call->rec),
		 sending ? "resumed" : "held", call->outbound ? "callee" :
		 "caller");
	call_event(call, sending ? "call.resumed" : "call.held", NULL);
}

/* A re-INVITE. With SDP it is an offer (hold, resume, a new address or
 * codec) answered from the same stream; without, it asks for our offer,
 * and the answer comes in the ACK (call_answer_h). */
int call_offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	bool was_sending;
	int err;

	if (call->closing || !call->ms)
		return ECONNRESET;
	if (!mbuf_get_left(msg->mb))
		return mstream_offer(call->ms, descp);

	was_sending = mstream_sending(call->ms);
	err = mstream_answer(call->ms, msg->mb, descp);
	if (err) {
		log_info("call %lld: re-INVITE refused: %m",
			 (long long)callrec_id(call->rec), err);
		return err;
	}
	hold_changed(call, was_sending);
	return 0;
}

/* The answer to our offer: in the 2xx of an outbound INVITE, in the ACK
 * of an inbound INVITE that had no SDP, or in the ACK of a re-INVITE
 * that had none. An error ends the session (libre sends BYE). */
int call_answer_h(const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	bool was_sending;
	int err;

	if (call->closing || !call->ms)
		return ECONNRESET;
	if (!mbuf_get_left(msg->mb)) {
		/* a 2xx may leave out the answer an early 18x gave */
		return mstream_codec(call->ms) != MEDIA_CODEC_NONE ? 0 :
			EBADMSG;
	}
	was_sending = mstream_sending(call->ms);
	err = mstream_set_answer(call->ms, msg->mb);
	if (err) {
		log_warn("call %lld: unusable SDP answer: %m",
			 (long long)callrec_id(call->rec), err);
		return err;
	}
	if (call->state == CALL_ANSWERED)
		hold_changed(call, was_sending);
	/* early media plays before the answer; harmless to start now */
	return mstream_start(call->ms);
}

void call_estab_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	call_answered(arg);
}

/* the key of an INFO body: "Signal=5" (application/dtmf-relay, the
 * common one) or just "5" (application/dtmf); 0 when there is none.
 * re_regex() classes need a count and compare in lower case. Some
 * gateways send the event codes 10 and 11 for * and #. */
static char info_digit(const struct sip_msg *msg)
{
	struct pl sig;
	const char *b = (const char *)mbuf_buf(msg->mb);
	size_t n = mbuf_get_left(msg->mb);
	int err;

	/* msg_ctype_cmp() is true on a match */
	if (msg_ctype_cmp(&msg->ctyp, "application", "dtmf-relay"))
		err = re_regex(b, n, "Signal=[ \t]*[0-9a-d*#]+", NULL, &sig);
	else if (msg_ctype_cmp(&msg->ctyp, "application", "dtmf"))
		err = re_regex(b, n, "[0-9a-d*#]+", &sig);
	else
		return 0;
	if (err)
		return 0;
	if (sig.l == 1)
		return sig.p[0];
	if (!pl_strcmp(&sig, "10"))
		return '*';
	if (!pl_strcmp(&sig, "11"))
		return '#';
	return 0;
}

void call_info_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	char digit = info_digit(msg);

	if (!digit && !mbuf_get_left(msg->mb)) {
		/* an empty INFO: some UAs probe the dialog with it */
		(void)sip_reply(sip, msg, 200, "OK");
		return;
	}
	if (!digit) {
		(void)sip_reply(sip, msg, 415, "Unsupported Media Type");
		return;
	}
	(void)sip_reply(sip, msg, 200, "OK");
	if (call->ms)
		mstream_dtmf_info(call->ms, digit);
}

void call_refer_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	(void)arg;
	/* Parley transfers callers; it is not transferred itself */
	(void)sip_reply(sip, msg, 603, "Decline");
}

/*
 * The session ended without us ending it. libre says why:
 * - ECONNRESET: the far end sent BYE;
 * - a final response >= 300 to our INVITE (msg), the call never up;
 * - EPROTO/EBADMSG: the SDP answer in a 2xx or ACK was unusable (libre
 *   sends BYE, as the dialog exists);
 * - ETIMEDOUT and others: no ACK for our 2xx, no response to our
 *   INVITE, a transport failure.
 * A call that was answered keeps the outcome "answered" whatever ends it.
 */
void call_close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	const char *remote = call->outbound ? "callee" : "caller";
	const char *failed = call->was_answered ? NULL : "failed";
	char cause[32];

	if (call->closing)
		return;
	if (err == ECONNRESET) {
		call_end(call, remote, "bye", NULL, 0);
	}
	else if (msg && msg->scode >= 300 && !call->was_answered) {
		re_snprintf(cause, sizeof(cause), "sip_%u", msg->scode);
		call_end(call, remote, cause,
			 tel_outcome(msg->scode, 0, false), msg->scode);
	}
	else if (err == EPROTO || err == EBADMSG) {
		call_end(call, "system", err == EPROTO ? "no_common_codec" :
			 "bad_sdp", failed, msg ? msg->scode : 0);
	}
	else if (call->was_answered) {
		call_end(call, "system", err == ETIMEDOUT ? "timeout" :
			 "session_error", NULL, msg ? msg->scode : 0);
	}
	else {
		call_end(call, "system", err == ETIMEDOUT ? "timeout" :
			 "transport_error", call->outbound ? "unreachable" :
			 "failed", 0);
	}
}

/* ---- blind transfer (REFER, following NOTIFY) ---- */

static void refer_notify_h(struct sip *sip, const struct sip_msg *msg,
			   void *arg)
{
	struct call *call = arg;
	struct pl ver, code;
	uint16_t scode;

	(void)sip_reply(sip, msg, 200, "OK");
	if (call->closing)
		return;
	if (re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
		     "SIP/[0-9.]+ [0-9]+", &ver, &code))
		return;
	scode = (uint16_t)pl_u32(&code);
	if (scode < 200)
		return;
	if (scode < 300) {
		call_event(call, "transfer.succeeded", "{\"sip_code\":%u}",
			   scode);
		call_end(call, "agent", "transferred", NULL, 0);
	}
	else {
		call_event(call, "transfer.failed", "{\"sip_code\":%u}", scode);
		call->refer_done = true;
	}
}

static void refer_close_h(int err, const struct sip_msg *msg,
			  const struct sipevent_substate *substate, void *arg)
{
	struct call *call = arg;
	(void)substate;

	if (call->closing || call->refer_done)
		return;
	/* the REFER itself was refused, or the subscription ended without
	 * a final NOTIFY: the call stays with the agent */
	call_event(call, "transfer.failed", "{\"sip_code\":%u,\"error\":%d}",
		   msg ? msg->scode : 0, err);
	call->refer_done = true;
}

int tel_transfer(struct tel *tel, int64_t tenant_id, int64_t call_id,
		 const char *target_uri)
{
	struct call *call = call_find(tel, tenant_id, call_id);
	struct uri uri;
	struct pl pl;
	int err;

	/* it goes into a header: no line breaks, brackets or quotes */
	if (!target_uri || target_uri[strcspn(target_uri, " \t\r\n<>\"")])
		return EINVAL;
	pl_set_str(&pl, target_uri);
	if (uri_decode(&uri, &pl) || !pl_isset(&uri.host))
		return EINVAL;
	if (!call || call->state != CALL_ANSWERED || !call->sess)
		return ENOENT;
	if (call->refer && !call->refer_done)
		return EALREADY;
	call->refer = mem_deref(call->refer);
	call->refer_done = false;
	err = sipevent_drefer(&call->refer, tel->evsock,
			      sipsess_dialog(call->sess), tel->contact, NULL, NULL,
			      false, refer_notify_h, refer_close_h, call,
			      "Refer-To: <%s>\r\n", target_uri);
	if (!err)
		call_event(call, "transfer.requested", "{\"to\":%H}",
			   json_print_str, target_uri);
	return err;
}
