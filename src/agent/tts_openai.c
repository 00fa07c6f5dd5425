/* tts_openai.c - the "openai" TTS provider: OpenAI-compatible speech
 * (POST {base_url}/audio/speech), as served by OpenAI and by local
 * servers (openedai-speech, Kokoro-FastAPI, LocalAI ...).
 *
 * We ask for response_format "pcm": raw 24 kHz signed 16-bit
 * little-endian mono, streamed as it is synthesised. Some compatible
 * servers answer a WAV instead (whatever was asked), so a reply that
 * starts with "RIFF" is read as a WAV at its own rate and channel count.
 * The audio is resampled to 8 kHz as it arrives (one speexdsp state per
 * request, filter delay removed at both ends like audio/resample.c) and
 * handed on at once, so the call hears the first words while the rest
 * is still being synthesised. One chunk is always held back, so the one
 * marked last carries audio (the resampler's tail joins it).
 *
 * speak() requests are queued and run one at a time, in order; their
 * audio therefore comes back in order. A handler call is always the last
 * thing a loop callback does (the handler may cancel or release us):
 * rhttp allows the request to be released inside its handlers, and the
 * next request is started from a zero timer.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include <speex/speex_resampler.h>
#include "agent/provider.h"
#include "agent/remote_speech.h"
#include "audio/wav.h"
#include "agent/rhttp.h"
#include "core/log.h"
#include "json/json.h"

enum {
	RATE      = 8000,
	PCM_RATE  = 24000,          /* response_format "pcm" */
	MAX_SECS  = 600,            /* longer audio for one text is an error */
	CONV      = 1024,           /* frames converted per resampler call */
};

#define QUALITY       SPEEX_RESAMPLER_QUALITY_DESKTOP
#define DEFAULT_BASE  "https://api.openai.com/v1"
#define DEFAULT_MODEL "tts-1"
#define DEFAULT_VOICE "alloy"

struct tts_oa {
	const struct agent_env *env;    /* borrowed: env outlives calls */
	tts_audio_h *audioh;
	void *arg;
	char *url;
	char *key;                      /* NULL: no Authorization */
	char *model;
	char *voice;
	unsigned speed;                 /* hundredths: 100 = normal */

	struct list reqs;               /* struct req; the head runs */
	struct tmr tmr;                 /* starts the head */
};

enum fmt { FMT_UNKNOWN, FMT_PCM, FMT_WAV };

/* One speak() request and the decoding of its reply. */
struct req {
	struct le le;
	struct tts_oa *st;
	struct rhttp *http;             /* NULL: queued (or finished) */
	char *text;
	uint32_t id;

	enum fmt fmt;
	struct mbuf *head;              /* reply bytes until fmt is known */
	uint32_t rate;
	unsigned channels;
	uint64_t left;                  /* WAV data bytes still to come */
	uint8_t carry[4];               /* a frame split between arrivals */
	size_t ncarry;

	SpeexResamplerState *rs;        /* NULL while rate == RATE */
	uint64_t nin, nout;             /* frames in, samples out */

	int16_t *held;                  /* output not yet handed on */
	size_t nheld;
};

/* 8 kHz samples produced from one arrival */
struct out {
	int16_t *pcm;
	size_t n, cap;
};


static void start_tmr_h(void *arg);


static void req_destructor(void *data)
{
	struct req *r = data;

	list_unlink(&r->le);
	mem_deref(r->http);
	mem_deref(r->text);
	mem_deref(r->head);
	mem_deref(r->held);
	if (r->rs)
		speex_resampler_destroy(r->rs);
}


static int out_reserve(struct out *o, size_t more)
{
	size_t cap;
	int16_t *pcm;

	if (o->n + more <= o->cap)
		return 0;

	cap = o->cap ? o->cap * 2 : 1024;
	while (cap < o->n + more)
		cap *= 2;

	/* libre's mem_realloc() does not take NULL */
	if (o->pcm)
		pcm = mem_realloc(o->pcm, cap * sizeof(*pcm));
	else
		pcm = mem_alloc(cap * sizeof(*pcm), NULL);
	if (!pcm)
		return ENOMEM;

	o->pcm = pcm;
	o->cap = cap;

	return 0;
}


/*
 * Push nin frames (NULL: silence, to flush the filter) through the
 * resampler. limit: stop once this many samples were produced in all.
 */
static int rs_run(struct req *r, const int16_t *in, size_t nin,
		  struct out *o, uint64_t limit)
{
	unsigned stalls = 0;
	int err, serr;

	if (r->rate == RATE) {
		if (!in)
			return 0;
		err = out_reserve(o, nin);
		if (err)
			return err;
		memcpy(o->pcm + o->n, in, nin * sizeof(*in));
		o->n += nin;
		r->nout += nin;
		return 0;
	}

	if (!r->rs) {
		r->rs = speex_resampler_init(1, r->rate, RATE, QUALITY, &serr);
		if (!r->rs)
			return serr == RESAMPLER_ERR_ALLOC_FAILED ?
				ENOMEM : EINVAL;
		speex_resampler_skip_zeros(r->rs);
	}

	while (nin && r->nout < limit) {
		spx_uint32_t ilen = (spx_uint32_t)(nin < CONV ? nin : CONV);
		spx_uint32_t olen;

		err = out_reserve(o, (size_t)ilen * RATE / r->rate + 16);
		if (err)
			return err;

		olen = (spx_uint32_t)(o->cap - o->n);
		if (olen > limit - r->nout)
			olen = (spx_uint32_t)(limit - r->nout);

		serr = speex_resampler_process_int(r->rs, 0, in, &ilen,
						   o->pcm + o->n, &olen);
		if (serr != RESAMPLER_ERR_SUCCESS)
			return EINVAL;

		if (in)
			in += ilen;
		nin -= ilen;
		o->n += olen;
		r->nout += olen;

		/* a resampler that stops moving would spin forever */
		stalls = ilen || olen ? 0 : stalls + 1;
		if (stalls > 4)
			return EPROTO;
	}

	return 0;
}


static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}


/* Reply bytes of the sample data: to frames (stereo mixed down), then
 * through the resampler. */
static int feed(struct req *r, const uint8_t *p, size_t n, struct out *o)
{
	const size_t fsz = 2 * r->channels;
	int16_t frames[CONV];
	size_t k = 0;
	int err;

	if (n > r->left)
		n = (size_t)r->left;    /* what follows the data chunk */
	r->left -= n;

	while (n) {
		uint8_t f[4];

		if (r->ncarry || n < fsz) {
			size_t take = fsz - r->ncarry;

			if (take > n)
				take = n;
			memcpy(r->carry + r->ncarry, p, take);
			r->ncarry += take;
			p += take;
			n -= take;
			if (r->ncarry < fsz)
				break;
			memcpy(f, r->carry, fsz);
			r->ncarry = 0;
		}
		else {
			memcpy(f, p, fsz);
			p += fsz;
			n -= fsz;
		}

		if (r->channels == 2)
			frames[k++] = (int16_t)(((int16_t)le16(f) +
						 (int16_t)le16(f + 2)) / 2);
		else
			frames[k++] = (int16_t)le16(f);

		if (k == CONV) {
			err = rs_run(r, frames, k, o, UINT64_MAX);
			if (err)
				return err;
			r->nin += k;
			k = 0;
		}
	}

	if (r->nin + k > (uint64_t)r->rate * MAX_SECS)
		return EFBIG;

	err = rs_run(r, frames, k, o, UINT64_MAX);
	r->nin += k;

	return err;
}


/* The first bytes of the reply decide its format: a WAV header, else
 * the raw PCM we asked for. */
static int sniff(struct req *r, const uint8_t *p, size_t n, struct out *o)
{
	struct wav_info w;
	const uint8_t *h;
	size_t hn;
	int err;

	if (!r->head) {
		r->head = mbuf_alloc(n > 256 ? n : 256);
		if (!r->head)
			return ENOMEM;
	}
	err = mbuf_write_mem(r->head, p, n);
	if (err)
		return err;

	h  = r->head->buf;
	hn = r->head->end;

	err = wav_header_parse(&w, h, hn);
	if (err == ENODATA)
		return 0;

	if (err && hn >= 4 && !memcmp(h, "RIFF", 4)) {
		return err;     /* a WAV, but not one we can play */
	}
	else if (err) {
		/* not a WAV: the raw PCM we asked for */
		r->fmt      = FMT_PCM;
		r->rate     = PCM_RATE;
		r->channels = 1;
		r->left     = UINT64_MAX;
		err = feed(r, h, hn, o);
	}
	else {
		r->fmt      = FMT_WAV;
		r->rate     = w.srate;
		r->channels = w.channels;
		r->left     = w.data_len;
		err = w.data_off < hn ?
			feed(r, h + w.data_off, hn - w.data_off, o) : 0;
	}

	r->head = mem_deref(r->head);

	return err;
}


static int data_h(const uint8_t *p, size_t n, void *arg)
{
	struct req *r = arg;
	struct tts_oa *st = r->st;
	struct out o = {NULL, 0, 0};
	int16_t *pcm;
	size_t np;
	int err;

	if (r->fmt == FMT_UNKNOWN)
		err = sniff(r, p, n, &o);
	else
		err = feed(r, p, n, &o);

	if (err || !o.n) {
		mem_deref(o.pcm);
		return err;
	}

	/* hold the new audio back, hand on what was held */
	pcm = r->held;
	np  = r->nheld;
	r->held  = o.pcm;
	r->nheld = o.n;

	if (!pcm)
		return 0;

	/* last: the handler may release r and st */
	st->audioh(0, pcm, np, false, r->id, st->arg);

	return 0;
}


/* The end of a reply: the resampler's tail joins the held chunk. */
static int finish(struct req *r)
{
	struct out o;
	uint64_t want;
	int err = 0;

	if (r->fmt == FMT_UNKNOWN && r->head) {
		/* a reply shorter than a WAV header: PCM after all */
		struct mbuf *head = r->head;

		if (head->end >= 4 && !memcmp(head->buf, "RIFF", 4))
			return EBADMSG;     /* a WAV cut short */

		r->head = NULL;
		r->fmt = FMT_PCM;
		r->rate = PCM_RATE;
		r->channels = 1;
		r->left = UINT64_MAX;

		o.pcm = r->held;
		o.n = o.cap = r->nheld;
		r->held = NULL;
		err = feed(r, head->buf, head->end, &o);
		r->held = o.pcm;
		r->nheld = o.n;
		mem_deref(head);
		if (err)
			return err;
	}

	if (r->rs) {
		want = (r->nin * RATE + r->rate / 2) / r->rate;

		o.pcm = r->held;
		o.n = o.cap = r->nheld;
		r->held = NULL;

		while (!err && r->nout < want) {
			size_t lat = (size_t)
				speex_resampler_get_input_latency(r->rs) + 1;

			err = rs_run(r, NULL, lat, &o, want);
		}

		r->held = o.pcm;
		r->nheld = o.n;
	}

	if (!err && !r->held) {
		/* no audio at all: an empty last chunk */
		r->held = mem_zalloc(sizeof(*r->held), NULL);
		r->nheld = 0;
		if (!r->held)
			err = ENOMEM;
	}

	return err;
}


static void done_h(int err, uint16_t status, const char *ctype,
		   struct mbuf *body, void *arg)
{
	struct req *r = arg;
	struct tts_oa *st = r->st;
	int16_t *pcm = NULL;
	size_t n = 0;

	(void)ctype;
	(void)body;

	if (!err && (status < 200 || status >= 300)) {
		log_warn("tts openai: HTTP %u", status);
		err = EPROTO;
	}
	else if (err) {
		log_warn("tts openai: request failed: %m", err);
	}
	else {
		err = finish(r);
	}

	if (!err) {
		pcm = r->held;
		n = r->nheld;
		r->held = NULL;
	}

	r->http = mem_deref(r->http);   /* rhttp allows it in done */
	list_unlink(&r->le);
	if (st->reqs.head)
		tmr_start(&st->tmr, 0, start_tmr_h, st);

	/* the handler may release st: do not touch it afterwards */
	st->audioh(err, pcm, n, true, r->id, st->arg);

	mem_deref(r);
}


static int start(struct tts_oa *st, struct req *r)
{
	struct rhttp_opts o;
	char *body = NULL;
	int err;

	err = re_sdprintf(&body, "{\"model\":%H,\"voice\":%H,\"input\":%H,"
			  "\"response_format\":\"pcm\",\"speed\":%u.%02u}",
			  json_print_str, st->model, json_print_str, st->voice,
			  json_print_str, r->text, st->speed / 100,
			  st->speed % 100);
	if (err)
		return err;

	memset(&o, 0, sizeof(o));
	o.method = "POST";
	o.url = st->url;
	o.bearer = st->key;
	o.ctype = "application/json";
	o.body = (const uint8_t *)body;
	o.body_len = strlen(body);
	o.timeout_ms = st->env->http_timeout_ms;

	err = rhttp_request(&r->http, st->env->http, &o, data_h, done_h, r);

	mem_deref(body);

	return err;
}


/* Start the head of the queue; a request that cannot even be sent is
 * failed here (and the next one tried from the timer again). */
static void start_tmr_h(void *arg)
{
	struct tts_oa *st = arg;
	struct req *r = list_ledata(list_head(&st->reqs));
	int err;

	if (!r || r->http)
		return;

	err = start(st, r);
	if (!err)
		return;

	log_warn("tts openai: cannot send request: %m", err);
	list_unlink(&r->le);
	if (st->reqs.head)
		tmr_start(&st->tmr, 0, start_tmr_h, st);

	st->audioh(err, NULL, 0, true, r->id, st->arg);

	mem_deref(r);
}


static void tts_oa_cancel(void *arg)
{
	struct tts_oa *st = arg;

	if (!st)
		return;

	tmr_cancel(&st->tmr);
	while (st->reqs.head)
		mem_deref(st->reqs.head->data);
}


static void st_destructor(void *data)
{
	struct tts_oa *st = data;

	tts_oa_cancel(st);
	mem_deref(st->url);
	mem_deref(st->key);
	mem_deref(st->model);
	mem_deref(st->voice);
}


static int tts_oa_alloc(void **stp, const struct agent_env *env,
			const struct odict *cfg, tts_audio_h *audioh,
			void *arg)
{
	const char *key;
	struct tts_oa *st;
	double speed;
	int err;

	if (!stp || !env || !env->http || !audioh)
		return EINVAL;

	key = rspeech_cfg_str(cfg, "api_key", NULL);
	if (key && !rspeech_hdr_safe(key))
		return EINVAL;

	st = mem_zalloc(sizeof(*st), st_destructor);
	if (!st)
		return ENOMEM;

	st->env = env;
	st->audioh = audioh;
	st->arg = arg;
	tmr_init(&st->tmr);

	/* OpenAI takes 0.25 .. 4.0 */
	speed = rspeech_cfg_num(cfg, "speed", 1.0);
	if (!(speed >= 0.25))
		speed = 0.25;
	if (speed > 4.0)
		speed = 4.0;
	st->speed = (unsigned)(speed * 100 + 0.5);

	err = rspeech_url(&st->url, rspeech_cfg_str(cfg, "base_url", NULL),
			  DEFAULT_BASE, "/audio/speech");
	err |= str_dup(&st->model, rspeech_cfg_str(cfg, "model",
						   DEFAULT_MODEL));
	err |= str_dup(&st->voice, rspeech_cfg_str(cfg, "voice",
						   DEFAULT_VOICE));
	if (key)
		err |= str_dup(&st->key, key);

	if (err)
		mem_deref(st);
	else
		*stp = st;

	return err ? ENOMEM : 0;
}


static int tts_oa_speak(void *arg, const char *text, uint32_t id)
{
	struct tts_oa *st = arg;
	struct req *r;
	int err;

	if (!st || !text)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), req_destructor);
	if (!r)
		return ENOMEM;

	r->st = st;
	r->id = id;
	err = str_dup(&r->text, text);
	if (err) {
		mem_deref(r);
		return err;
	}

	list_append(&st->reqs, &r->le, r);
	if (st->reqs.head == &r->le)
		tmr_start(&st->tmr, 0, start_tmr_h, st);

	return 0;
}


const struct tts_ops tts_openai = {
	.name   = "openai",
	.alloc  = tts_oa_alloc,
	.speak  = tts_oa_speak,
	.cancel = tts_oa_cancel,
};
