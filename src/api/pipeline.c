/* pipeline.c - POST /api/voice-pipeline?agent_id=ID (seed 003): a WAV
 * of the caller in; the transcript, the agent's reply text and the
 * reply as a WAV out, through the agent's configured providers.
 *
 * The audio goes through the same voice agent a call runs (session.c),
 * clocked faster than real time instead of by RTP: the caller's frames
 * are fed, then silence until the turn ends, then the reply's frames are
 * drained as synthesis delivers them. The agent's opening counts as
 * already said, so the WAV answers it (a scenario's first question).
 *
 * Body: audio/wav (any rate, mono or stereo), or multipart/form-data
 * with the WAV in a part named "file" (as the seed's curl -F does).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "agent/session.h"
#include "api/api.h"
#include "api/handlers.h"
#include "audio/resample.h"
#include "audio/wav.h"
#include "core/log.h"
#include "json/json.h"

enum {
	FRAME = 160,                 /* 20 ms at 8 kHz */
	MAX_INPUT_S = 120,
	TAIL_FRAMES = 150,           /* 3 s of silence to end the turn */
	TIMEOUT_MS = 60000,
};

struct pipe {
	struct areq *r;
	int16_t *pcm;                /* the caller, 8 kHz mono */
	size_t n, pos;
	unsigned tail;
	char *agent_json;
	struct session *s;
	struct tmr tmr;
	uint64_t deadline;
	struct mbuf *out;            /* the reply, samples */
	char *heard, *reply, *timings;
	struct odict *actions;
	bool done;
};

static void pipe_destructor(void *data)
{
	struct pipe *p = data;

	tmr_cancel(&p->tmr);
	mem_deref(p->s);
	mem_deref(p->pcm);
	mem_deref(p->agent_json);
	mem_deref(p->out);
	mem_deref(p->heard);
	mem_deref(p->reply);
	mem_deref(p->timings);
	mem_deref(p->actions);
}

/* ---- worker half: the body and the agent ---- */

/* the "file" part of a multipart/form-data body */
static int form_file(const struct http_msg *msg, const uint8_t **bufp,
		     size_t *lenp)
{
	const struct http_hdr *ct = http_msg_hdr(msg, HTTP_HDR_CONTENT_TYPE);
	const uint8_t *b = mbuf_buf(msg->mb), *end, *part;
	size_t n = mbuf_get_left(msg->mb);
	struct pl bnd;
	char delim[80];
	size_t dl;

	if (!ct || re_regex(ct->val.p, ct->val.l, "boundary=[\"]*[^\";]+",
			    NULL, &bnd) || bnd.l > 70)
		return EBADMSG;
	dl = (size_t)re_snprintf(delim, sizeof(delim), "\r\n--%r", &bnd);
	end = b + n;
	/* the first delimiter may come without the CRLF */
	part = memmem(b, n, delim + 2, dl - 2);
	while (part) {
		const uint8_t *hdrs = part + dl - 2, *body, *next;
		struct pl name;

		if (end - hdrs >= 2 && !memcmp(hdrs, "--", 2))
			break;          /* the closing delimiter */
		body = memmem(hdrs, (size_t)(end - hdrs), "\r\n\r\n", 4);
		if (!body)
			return EBADMSG;
		body += 4;
		next = memmem(body, (size_t)(end - body), delim, dl);
		if (!next)
			return EBADMSG;
		if (!re_regex((const char *)hdrs, (size_t)(body - hdrs),
			      "name=\"[^\"]+\"", &name) &&
		    !pl_strcmp(&name, "file")) {
			*bufp = body;
			*lenp = (size_t)(next - body);
			return 0;
		}
		part = next + 2;
	}
	return ENOENT;
}

static int decode_audio(struct areq *r, struct pipe *p)
{
	const struct http_msg *msg = r->msg;
	const uint8_t *buf = mbuf_buf(msg->mb);
	size_t len = mbuf_get_left(msg->mb), frames = 0;
	int16_t *pcm = NULL;
	uint32_t srate = 0;
	unsigned ch = 0;
	int err;

	if (!pl_strcasecmp(&msg->ctyp.type, "multipart")) {
		err = form_file(msg, &buf, &len);
		if (err == ENOENT)
			return api_error(r, 400, "invalid_body", "file",
					 "the form has no part named 'file'");
		if (err)
			return api_error(r, 400, "invalid_body", NULL,
					 "malformed multipart/form-data body");
	}
	else if (pl_strcasecmp(&msg->ctyp.type, "audio") ||
		 (pl_strcasecmp(&msg->ctyp.subtype, "wav") &&
		  pl_strcasecmp(&msg->ctyp.subtype, "x-wav") &&
		  pl_strcasecmp(&msg->ctyp.subtype, "wave"))) {
		return api_error(r, 415, "unsupported_media_type", NULL,
				 "send audio/wav or multipart/form-data "
				 "with a 'file' part");
	}

	err = wav_decode(buf, len, &pcm, &frames, &srate, &ch);
	if (err == ENOMEM)
		return ENOMEM;
	if (err)
		return api_error(r, 400, "invalid_audio", "file",
				 "not a 16-bit PCM WAV");
	if (!frames || srate < 4000 || srate > 96000 ||
	    frames / srate > MAX_INPUT_S) {
		mem_deref(pcm);
		return api_error(r, 400, "invalid_audio", "file",
				 "the WAV must hold 0 to %u s of audio at "
				 "4-96 kHz", MAX_INPUT_S);
	}
	if (ch == 2) {
		for (size_t i = 0; i < frames; i++)
			pcm[i] = (int16_t)((pcm[2 * i] + pcm[2 * i + 1]) / 2);
	}
	if (srate != 8000) {
		int16_t *out = NULL;
		size_t nout = 0;
		err = resample(&out, &nout, pcm, frames, srate, 8000);
		mem_deref(pcm);
		if (err)
			return err;
		pcm = out;
		frames = nout;
	}
	p->pcm = pcm;
	p->n = frames;
	return 0;
}

static bool pipe_after_h(struct areq *r);

int voice_pipeline(struct areq *r)
{
	static const char *const known[] = {"agent_id", NULL};
	char buf[32];
	const char *v;
	struct pipe *p;
	int64_t agent;
	int err;

	if (api_query_check(r, known))
		return 0;
	v = api_query(r, "agent_id", buf, sizeof(buf));
	if (!v || !*v || (agent = strtoll(v, NULL, 10)) <= 0)
		return api_error(r, 400, "invalid_query", "agent_id",
				 "query parameter 'agent_id' (a positive "
				 "integer) is required");
	if (!api_env(r->api))
		return api_error(r, 503, "pipeline_unavailable", NULL,
				 "no speech providers on this node");

	p = mem_zalloc(sizeof(*p), pipe_destructor);
	if (!p)
		return ENOMEM;
	/* the agent first: another tenant's id is a 404 whatever the body */
	err = agent_runtime_json(api_rtcfg(r->api), r->db, r->tenant_id,
				 agent, &p->agent_json, NULL);
	if (err == ENOENT) {
		mem_deref(p);
		return api_error(r, 404, "not_found", "agent_id",
				 "agent %lld not found", (long long)agent);
	}
	if (err) {
		mem_deref(p);
		return api_error_db(r, err, "agent");
	}
	err = decode_audio(r, p);
	if (err || r->status) {
		mem_deref(p);
		return err;
	}
	p->r = r;
	r->afterh = pipe_after_h;
	r->after_arg = p;
	return 0;
}

/* ---- loop half: the conversation turn ---- */

static void pipe_turn_h(void *arg, const struct session_turn *t)
{
	struct pipe *p = arg;

	if (!strcmp(t->speaker, "user")) {
		mem_deref(p->heard);
		p->heard = NULL;
		(void)str_dup(&p->heard, t->text);
		return;
	}
	mem_deref(p->reply);
	mem_deref(p->timings);
	p->reply = p->timings = NULL;
	(void)str_dup(&p->reply, t->text);
	if (t->timings_json)
		(void)str_dup(&p->timings, t->timings_json);
	p->done = true;
}

static void action(struct pipe *p, const char *type, const char *key,
		   const char *val)
{
	struct odict *a = NULL;

	if (!p->actions && odict_alloc(&p->actions, 4))
		return;
	if (odict_alloc(&a, 4))
		return;
	(void)odict_entry_add(a, "type", ODICT_STRING, type);
	if (key && val)
		(void)odict_entry_add(a, key, ODICT_STRING, val);
	{
		char idx[16];
		re_snprintf(idx, sizeof(idx), "%u",
			    (unsigned)odict_count(p->actions, false));
		(void)odict_entry_add(p->actions, idx, ODICT_OBJECT, a);
	}
	mem_deref(a);
}

static void pipe_hangup_h(void *arg, const char *cause)
{
	action(arg, "end_call", "cause", cause);
}

static int pipe_transfer_h(void *arg, const char *to)
{
	action(arg, "transfer_call", "to", to);
	return 0;
}

static int pipe_dtmf_h(void *arg, const char *digits)
{
	action(arg, "send_dtmf", "digits", digits);
	return 0;
}

static void pipe_dnc_h(void *arg)
{
	action(arg, "add_to_dnc", NULL, NULL);
}

static void pipe_event_h(void *arg, const char *type, const char *data)
{
	if (!strncmp(type, "error_", 6))
		action(arg, type, "data", data);
}

static const struct session_io pipe_io = {
	.hangup = pipe_hangup_h,
	.transfer = pipe_transfer_h,
	.dtmf = pipe_dtmf_h,
	.event = pipe_event_h,
	.turn = pipe_turn_h,
	.dnc = pipe_dnc_h,
};

static void reply(struct pipe *p)
{
	struct areq *r = p->r;
	size_t ns = p->out->end / 2;
	uint8_t hdr[44];
	struct odict *o = NULL, *tm = NULL;
	char *b64 = NULL;
	size_t blen;
	int type, err;

	tmr_cancel(&p->tmr);
	session_stop(p->s);
	err = odict_alloc(&o, 8);
	if (err)
		goto out;
	/* the WAV, base64 */
	wav_header(hdr, 8000, 1, (uint32_t)(ns * 2));
	{
		struct mbuf *w = mbuf_alloc(sizeof(hdr) + ns * 2);
		if (!w) {
			err = ENOMEM;
			goto out;
		}
		(void)mbuf_write_mem(w, hdr, sizeof(hdr));
		for (size_t i = 0; i < ns; i++) {
			int16_t v;
			memcpy(&v, p->out->buf + 2 * i, 2);
			(void)mbuf_write_u16(w, sys_htols((uint16_t)v));
		}
		blen = w->end * 4 / 3 + 8;
		b64 = mem_alloc(blen + 1, NULL);
		err = b64 ? base64_encode(w->buf, w->end, b64, &blen) : ENOMEM;
		if (!err)
			b64[blen] = '\0';
		mem_deref(w);
	}
	if (err)
		goto out;
	err = odict_entry_add(o, "transcript", ODICT_STRING,
			      p->heard ? p->heard : "");
	err |= odict_entry_add(o, "reply", ODICT_STRING,
			       p->reply ? p->reply : "");
	if (p->timings && !json_parse(&tm, &type, p->timings,
				      strlen(p->timings), NULL))
		err |= odict_entry_add(o, "timings", ODICT_OBJECT, tm);
	if (p->actions)
		err |= odict_entry_add(o, "actions", ODICT_ARRAY, p->actions);
	err |= odict_entry_add(o, "audio_format", ODICT_STRING,
			       "audio/wav;rate=8000");
	err |= odict_entry_add(o, "audio_ms", ODICT_INT,
			       (int64_t)(ns / 8));
	err |= odict_entry_add(o, "audio", ODICT_STRING, b64);
	if (!err)
		err = api_reply_json(r, 200, o);
 out:
	if (err)
		api_error(r, 500, "internal", NULL, "out of memory");
	mem_deref(o);
	mem_deref(tm);
	mem_deref(b64);
	api_finish(r);
}

static void pump_h(void *arg)
{
	struct pipe *p = arg;
	int16_t frame[FRAME];
	const char *st = session_state(p->s);

	if (tmr_jiffies() > p->deadline) {
		api_error(p->r, 504, "provider_timeout", NULL,
			  "the providers did not answer within %u s",
			  TIMEOUT_MS / 1000);
		tmr_cancel(&p->tmr);
		api_finish(p->r);
		return;
	}
	/* the opening is said (into the void) before the caller speaks */
	if (!p->pos && strcmp(st, "listening"))
		goto again;

	/* the caller's words, fast */
	for (int i = 0; i < 50 && p->pos < p->n; i++) {
		size_t k = p->n - p->pos < FRAME ? p->n - p->pos : FRAME;
		memset(frame, 0, sizeof(frame));
		memcpy(frame, p->pcm + p->pos, k * sizeof(*frame));
		p->pos += k;
		session_rx(p->s, frame, FRAME);
	}
	if (p->pos < p->n)
		goto again;

	memset(frame, 0, sizeof(frame));
	if (!strcmp(st, "user_speaking") ||
	    (!strcmp(st, "listening") && !p->done)) {
		/* silence until the turn ends (or nothing was heard) */
		if (p->tail++ >= TAIL_FRAMES) {
			reply(p);
			return;
		}
		session_rx(p->s, frame, FRAME);
		goto again;
	}
	/* the reply, as fast as synthesis delivers it */
	for (int i = 0; i < 200 && !p->done; i++) {
		int16_t out[FRAME];
		if (!session_tx(p->s, out, FRAME))
			break;
		(void)mbuf_write_mem(p->out, (uint8_t *)out, sizeof(out));
		session_rx(p->s, frame, FRAME);
	}
	if (p->done) {
		reply(p);
		return;
	}
 again:
	tmr_start(&p->tmr, 1, pump_h, p);
}

static bool pipe_after_h(struct areq *r)
{
	struct pipe *p = r->after_arg;
	struct session_opts o;
	struct odict *cfg = NULL;
	int type, err;

	err = json_parse(&cfg, &type, p->agent_json, strlen(p->agent_json),
			 NULL);
	memset(&o, 0, sizeof(o));
	o.opening_said = true;
	if (!err)
		err = session_alloc(&p->s, api_env(r->api), cfg, NULL, &o,
				    &pipe_io, p);
	mem_deref(cfg);
	p->out = mbuf_alloc(16000);
	if (err || !p->out) {
		api_error(r, 500, "internal", NULL,
			  "the voice agent could not start");
		return false;
	}
	session_start(p->s);
	p->deadline = tmr_jiffies() + TIMEOUT_MS;
	tmr_start(&p->tmr, 0, pump_h, p);
	return true;
}
