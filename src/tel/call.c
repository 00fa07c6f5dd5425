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
#include <sys/stat.h>
#include <re.h>
#include "audio/wav.h"
#include "config/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "json/json.h"
#include "media/media.h"
#include "speech/tts.h"
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
	mem_deref(call->refer);
	mem_deref(call->sess);
	mem_deref(call->ms);
	mem_deref(call->wav);
	mem_deref(call->rec);
	mem_deref(call->greeting);
	mem_deref(call->tts_voice);
	mem_deref(call->play);
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

/* ---- audio ---- */

static void rx_h(const int16_t *frame, void *arg)
{
	struct call *call = arg;

	if (call->wav)
		(void)wav_write(call->wav, frame, MEDIA_FRAME);
}

static void hangup_tmr_h(void *arg)
{
	struct call *call = arg;

	call_end(call, "agent", "message_played", NULL, 0);
}

static bool tx_h(int16_t *frame, void *arg)
{
	struct call *call = arg;
	size_t n;

	if (!call->play)
		return false;
	n = call->play_len - call->play_pos;
	if (n > MEDIA_FRAME)
		n = MEDIA_FRAME;
	memcpy(frame, call->play + call->play_pos, n * sizeof(*frame));
	memset(frame + n, 0, (MEDIA_FRAME - n) * sizeof(*frame));
	call->play_pos += n;
	if (call->play_pos >= call->play_len) {
		call->play = mem_deref(call->play);
		call_event(call, "playback.finished", NULL);
		if (call->hangup_after_play)
			tmr_start(&call->tmr_hangup, 400, hangup_tmr_h, call);
	}
	return true;
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
}

/* ---- speech (worker) ---- */

struct say {
	struct call *call;    /* referenced; loop side only */
	char *text, *voice;
	int16_t *pcm;
	size_t n;
	int err;
};

static void say_destructor(void *data)
{
	struct say *s = data;

	mem_deref(s->call);
	mem_deref(s->text);
	mem_deref(s->voice);
	mem_deref(s->pcm);
}

static void say_work_h(void *ctx, void *arg)
{
	struct say *s = arg;
	struct tts_opts o = {TTS_ESPEAK, s->voice, 1.0};
	(void)ctx;

	s->err = tts_synth(&o, s->text, &s->pcm, &s->n);
	if (s->err == ENOENT && s->voice) {
		o.voice = NULL;   /* an unknown voice still speaks */
		s->err = tts_synth(&o, s->text, &s->pcm, &s->n);
	}
}

static void say_done_h(int err, void *arg)
{
	struct say *s = arg;
	struct call *call = s->call;

	if (!err && !s->err && !call->closing) {
		mem_deref(call->play);
		call->play = s->pcm;
		call->play_len = s->n;
		call->play_pos = 0;
		s->pcm = NULL;
		call_event(call, "playback.started", "{\"samples\":%zu}", s->n);
	}
	else if (!call->closing) {
		log_warn("call %lld: speech synthesis failed: %m",
			 (long long)callrec_id(call->rec), err ? err : s->err);
		call_event(call, "error_exception",
			   "{\"where\":\"tts\",\"error\":%d}", err ? err : s->err);
		if (call->hangup_after_play)
			tmr_start(&call->tmr_hangup, 0, hangup_tmr_h, call);
	}
	mem_deref(s);
}

static void say(struct call *call, const char *text)
{
	struct say *s;

	if (!text || !*text)
		return;
	s = mem_zalloc(sizeof(*s), say_destructor);
	if (!s)
		return;
	s->call = mem_ref(call);
	if (str_dup(&s->text, text) ||
	    (call->tts_voice && str_dup(&s->voice, call->tts_voice)) ||
	    pool_submit(call->tel->pool, say_work_h, say_done_h, s))
		mem_deref(s);
}

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
		    const char *say_instead)
{
	struct odict *cfg = NULL;
	const struct odict_entry *e;
	int type;

	if (agent_json && !json_parse(&cfg, &type, agent_json,
				      strlen(agent_json), NULL)) {
		e = odict_lookup(cfg, "limits");
		if (e && e->type == ODICT_OBJECT) {
			const struct odict_entry *m =
				odict_lookup(e->u.odict, "max_duration");
			if (m && m->type == ODICT_INT && m->u.integer > 0)
				call->max_duration_s = (uint32_t)m->u.integer;
		}
		e = odict_lookup(cfg, "tts");
		if (e && e->type == ODICT_OBJECT &&
		    odict_string(e->u.odict, "voice"))
			(void)str_dup(&call->tts_voice,
				      odict_string(e->u.odict, "voice"));
		if (!say_instead && odict_string(cfg, "first_message"))
			(void)str_dup(&call->greeting,
				      odict_string(cfg, "first_message"));
	}
	if (say_instead) {
		(void)str_dup(&call->greeting, say_instead);
		call->hangup_after_play = true;
	}
	mem_deref(cfg);
}

static void maxdur_h(void *arg)
{
	struct call *call = arg;

	log_info("call %lld: maximum duration of %u s reached",
		 (long long)callrec_id(call->rec), call->max_duration_s);
	call_end(call, "system", "max_duration", NULL, 0);
}

static void open_recording(struct call *call)
{
	const char *dir = call->tel->cfg->recordings_dir;
	char path[512];
	int err;

	re_snprintf(path, sizeof(path), "%s/agent-%lld/%lld", dir,
		    (long long)call->agent_id,
		    (long long)callrec_id(call->rec));
	for (char *p = path + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(path, 0750);
			*p = '/';
		}
	}
	(void)mkdir(path, 0750);
	re_snprintf(path + strlen(path), sizeof(path) - strlen(path),
		    "/caller.wav");
	err = wav_writer_open(&call->wav, path, MEDIA_SRATE, 1);
	if (err)
		log_warn("call %lld: cannot record to %s: %m",
			 (long long)callrec_id(call->rec), path, err);
	else
		call_event(call, "recording.started", "{\"path\":\"%s\"}",
			   path);
}

void call_answered(struct call *call)
{
	int64_t now = util_now_ms();
	int err;

	if (call->state == CALL_ANSWERED || call->closing)
		return;
	call->state = CALL_ANSWERED;
	call->was_answered = true;
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
	open_recording(call);
	say(call, call->greeting);
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
	list_unlink(&call->le);
	list_append(&call->tel->ending, &call->le, call);

	if (!oc)
		oc = call->was_answered ? "answered" :
			tel_outcome(scode, 0, false);
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
	call_event(call, "call.ended", "{\"outcome\":\"%s\",\"cause\":\"%s\","
		   "\"by\":\"%s\"}", oc, cause ? cause : "",
		   hangup_by ? hangup_by : "");
	log_info("call %lld ended: %s (%s by %s)",
		 (long long)callrec_id(call->rec), oc, cause ? cause : "-",
		 hangup_by ? hangup_by : "-");

	/* media stops now; the session goes (BYE when established, CANCEL
	 * when still ringing) from a timer, outside any of its callbacks */
	call->ms = mem_deref(call->ms);
	call->wav = mem_deref(call->wav);
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

int call_offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;

	/* a re-INVITE: answer it with the same stream */
	return mstream_answer(call->ms, msg->mb, descp);
}

int call_answer_h(const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	int err;

	if (!mbuf_get_left(msg->mb))
		return 0;
	err = mstream_set_answer(call->ms, msg->mb);
	if (err) {
		log_warn("call %lld: unusable SDP answer: %m",
			 (long long)callrec_id(call->rec), err);
		return err;
	}
	/* early media plays before the answer; harmless to start now */
	return mstream_start(call->ms);
}

void call_estab_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	call_answered(arg);
}

static char info_digit(const struct sip_msg *msg)
{
	struct pl sig;
	const char *b = (const char *)mbuf_buf(msg->mb);
	size_t n = mbuf_get_left(msg->mb);

	if (!msg_ctype_cmp(&msg->ctyp, "application", "dtmf-relay")) {
		if (re_regex(b, n, "Signal=[ ]*[0-9A-D*#]", NULL, &sig))
			return 0;
		return sig.p[0];
	}
	if (!msg_ctype_cmp(&msg->ctyp, "application", "dtmf")) {
		if (re_regex(b, n, "[0-9A-D*#]", &sig))
			return 0;
		return sig.p[0];
	}
	return 0;
}

void call_info_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	char digit = info_digit(msg);

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

void call_close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	const char *remote = call->outbound ? "callee" : "caller";

	if (call->closing)
		return;
	if (msg && msg->scode >= 300) {
		char cause[32];
		re_snprintf(cause, sizeof(cause), "sip_%u", msg->scode);
		call_end(call, remote, cause,
			 tel_outcome(msg->scode, 0, false), msg->scode);
	}
	else if (err == ECONNRESET) {
		call_end(call, remote, "bye", NULL, 0);
	}
	else if (call->state == CALL_ANSWERED) {
		call_end(call, "system", "session_error", NULL, 0);
	}
	else {
		call_end(call, "system", err == ETIMEDOUT ? "timeout" :
			 "transport_error", "unreachable", 0);
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
	int err;

	if (!call || call->state != CALL_ANSWERED || !call->sess)
		return ENOENT;
	if (call->refer && !call->refer_done)
		return EALREADY;
	call->refer = mem_deref(call->refer);
	call->refer_done = false;
	err = sipevent_drefer(&call->refer, tel->evsock,
			      sipsess_dialog(call->sess), "parley", NULL, NULL,
			      false, refer_notify_h, refer_close_h, call,
			      "Refer-To: <%s>\r\n", target_uri);
	if (!err)
		call_event(call, "transfer.requested", "{\"to\":\"%s\"}",
			   target_uri);
	return err;
}
