/* stt_openai.c - the "openai" STT provider: OpenAI-compatible
 * transcription (POST {base_url}/audio/transcriptions), as served by
 * OpenAI, Groq, faster-whisper-server, LocalAI, vLLM and others.
 *
 * The endpoint takes a whole file, so the utterance is buffered (as the
 * WAV it will be sent as: 8 kHz mono 16-bit, up to MAX_SECS; the rest is
 * dropped) and posted as multipart/form-data at end. The reply is
 * {"text": "..."} (response_format "json"); a non-2xx status, a timeout
 * or anything else in the reply is an error result. No interim results.
 *
 * Utterances may overlap (one ends before the previous transcript is
 * back): each is its own request, they run in parallel and their results
 * come back in utterance order, one handler call per loop callback (the
 * handler may release the state; a result ready behind the one just
 * delivered goes out from a zero timer), as stt_pocketsphinx does.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "agent/provider.h"
#include "agent/remote_speech.h"
#include "agent/rhttp.h"
#include "audio/wav.h"
#include "core/log.h"
#include "core/util.h"

enum {
	WAV_HDR  = 44,                    /* wav_header()'s size */
	RATE     = 8000,
	MAX_SECS = 60,
	MAX_DATA = RATE * MAX_SECS * 2,   /* sample bytes */
};

#define DEFAULT_BASE  "https://api.openai.com/v1"
#define DEFAULT_MODEL "whisper-1"

struct stt_oa {
	const struct agent_env *env;    /* borrowed: env outlives calls */
	stt_result_h *resulth;
	void *arg;
	char *url;
	char *key;                      /* NULL: no Authorization */
	char *model;
	char *language;                 /* NULL: the server detects it */

	struct mbuf *wav;               /* the utterance being fed */

	struct list jobs;               /* struct job, oldest first */
	struct tmr tmr;                 /* delivers a queued-up result */
};

/* One transcription request. Owned by st->jobs; dropped jobs are freed
 * at once (releasing the request means no done call follows). */
struct job {
	struct le le;
	struct stt_oa *st;
	struct rhttp *http;
	char *text;
	int err;
	bool done;
};


static void deliver(struct stt_oa *st);


static void job_destructor(void *data)
{
	struct job *job = data;

	list_unlink(&job->le);
	mem_deref(job->http);
	mem_deref(job->text);
}


static void done_h(int err, uint16_t status, const char *ctype,
		   struct mbuf *body, void *arg)
{
	struct job *job = arg;

	(void)ctype;

	if (!err && (status < 200 || status >= 300)) {
		log_warn("stt openai: HTTP %u", status);
		err = EPROTO;
	}
	else if (err) {
		log_warn("stt openai: request failed: %m", err);
	}
	else {
		err = rspeech_openai_text(&job->text,
					  body ? (char *)mbuf_buf(body) : NULL,
					  body ? mbuf_get_left(body) : 0);
		if (err)
			log_warn("stt openai: malformed reply");
	}

	job->err = err;
	job->done = true;
	job->http = mem_deref(job->http);   /* rhttp allows it in done */

	deliver(job->st);
}


static void deliver_tmr_h(void *arg)
{
	deliver(arg);
}


/* Hand the oldest finished result to the handler, in utterance order. */
static void deliver(struct stt_oa *st)
{
	struct job *job = list_ledata(list_head(&st->jobs));
	struct job *next;

	if (!job || !job->done)
		return;

	list_unlink(&job->le);

	next = list_ledata(list_head(&st->jobs));
	if (next && next->done)
		tmr_start(&st->tmr, 0, deliver_tmr_h, st);

	/* the handler may release st: do not touch it afterwards */
	st->resulth(job->err, job->err ? NULL : job->text, true, st->arg);

	mem_deref(job);
}


static void stt_oa_cancel(void *arg)
{
	struct stt_oa *st = arg;

	if (!st)
		return;

	st->wav = mem_deref(st->wav);
	tmr_cancel(&st->tmr);
	while (st->jobs.head)
		mem_deref(st->jobs.head->data);
}


static void st_destructor(void *data)
{
	struct stt_oa *st = data;

	stt_oa_cancel(st);
	mem_deref(st->url);
	mem_deref(st->key);
	mem_deref(st->model);
	mem_deref(st->language);
}


static int stt_oa_alloc(void **stp, const struct agent_env *env,
			const struct odict *cfg, stt_result_h *resulth,
			void *arg)
{
	const char *key, *lang;
	struct stt_oa *st;
	int err;

	if (!stp || !env || !env->http || !resulth)
		return EINVAL;

	key  = rspeech_cfg_str(cfg, "api_key", NULL);
	lang = rspeech_cfg_str(cfg, "language", NULL);
	if (key && !rspeech_hdr_safe(key))
		return EINVAL;

	st = mem_zalloc(sizeof(*st), st_destructor);
	if (!st)
		return ENOMEM;

	st->env = env;
	st->resulth = resulth;
	st->arg = arg;
	tmr_init(&st->tmr);

	err = rspeech_url(&st->url, rspeech_cfg_str(cfg, "base_url", NULL),
			  DEFAULT_BASE, "/audio/transcriptions");
	err |= str_dup(&st->model, rspeech_cfg_str(cfg, "model",
						   DEFAULT_MODEL));
	if (key)
		err |= str_dup(&st->key, key);
	if (lang)
		err |= str_dup(&st->language, lang);

	if (err)
		mem_deref(st);
	else
		*stp = st;

	return err ? ENOMEM : 0;
}


static int stt_oa_begin(void *arg, const char *grammar)
{
	struct stt_oa *st = arg;

	(void)grammar;

	if (!st)
		return EINVAL;

	/* a begin without end restarts the utterance */
	st->wav = mem_deref(st->wav);
	st->wav = mbuf_alloc(WAV_HDR + RATE * 2 * 2);
	if (!st->wav)
		return ENOMEM;

	/* the header is written at end, when the size is known */
	return mbuf_fill(st->wav, 0, WAV_HDR);
}


static void stt_oa_feed(void *arg, const int16_t *pcm, size_t n)
{
	struct stt_oa *st = arg;
	uint8_t buf[512];
	size_t have, i, k;

	if (!st || !st->wav || !pcm)
		return;

	/* past MAX_SECS the rest of the utterance is dropped */
	have = st->wav->end - WAV_HDR;
	if (n > (MAX_DATA - have) / 2)
		n = (MAX_DATA - have) / 2;

	st->wav->pos = st->wav->end;
	for (i = 0; i < n; i += k) {
		for (k = 0; k < sizeof(buf) / 2 && i + k < n; k++) {
			buf[2 * k]     = (uint8_t)pcm[i + k];
			buf[2 * k + 1] = (uint8_t)((uint16_t)pcm[i + k] >> 8);
		}
		if (mbuf_write_mem(st->wav, buf, 2 * k))
			return;     /* out of memory: send what we have */
	}
}


/* One form field of the multipart body. */
static int put_field(struct mbuf *mb, const char *boundary, const char *name,
		     const char *value)
{
	return mbuf_printf(mb, "--%s\r\n"
			   "Content-Disposition: form-data; name=\"%s\"\r\n"
			   "\r\n"
			   "%s\r\n", boundary, name, value);
}


/* multipart/form-data: the WAV as "file", then model, language,
 * response_format. The boundary is random, so it cannot occur in the
 * audio by design (2^-96). */
static int build_body(struct mbuf **mbp, char boundary[40],
		      const struct stt_oa *st, const struct mbuf *wav)
{
	uint8_t rnd[12];
	char hex[25];
	struct mbuf *mb;
	int err;

	err = util_random(rnd, sizeof(rnd));
	if (err)
		return err;
	util_hex(hex, rnd, sizeof(rnd));
	(void)re_snprintf(boundary, 40, "parley-%s", hex);

	mb = mbuf_alloc(wav->end + 1024);
	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "--%s\r\n"
			  "Content-Disposition: form-data; name=\"file\"; "
			  "filename=\"audio.wav\"\r\n"
			  "Content-Type: audio/wav\r\n"
			  "\r\n", boundary);
	err |= mbuf_write_mem(mb, wav->buf, wav->end);
	err |= mbuf_write_str(mb, "\r\n");
	err |= put_field(mb, boundary, "model", st->model);
	if (st->language)
		err |= put_field(mb, boundary, "language", st->language);
	err |= put_field(mb, boundary, "response_format", "json");
	err |= mbuf_printf(mb, "--%s--\r\n", boundary);

	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}


static int stt_oa_end(void *arg)
{
	struct stt_oa *st = arg;
	struct rhttp_opts o;
	struct mbuf *wav, *body = NULL;
	char boundary[40], ctype[80];
	struct job *job;
	int err;

	if (!st)
		return EINVAL;
	if (!st->wav)
		return EPROTO;          /* no utterance begun */

	wav = st->wav;
	st->wav = NULL;
	wav_header(wav->buf, RATE, 1, (uint32_t)(wav->end - WAV_HDR));

	job = mem_zalloc(sizeof(*job), job_destructor);
	if (!job) {
		err = ENOMEM;
		goto out;
	}
	job->st = st;

	err = build_body(&body, boundary, st, wav);
	if (err)
		goto out;

	(void)re_snprintf(ctype, sizeof(ctype),
			  "multipart/form-data; boundary=%s", boundary);

	memset(&o, 0, sizeof(o));
	o.method = "POST";
	o.url = st->url;
	o.bearer = st->key;
	o.ctype = ctype;
	o.body = body->buf;
	o.body_len = body->end;
	o.timeout_ms = st->env->http_timeout_ms;
	o.collect = true;

	err = rhttp_request(&job->http, st->env->http, &o, NULL, done_h, job);
	if (err)
		goto out;

	list_append(&st->jobs, &job->le, job);

 out:
	mem_deref(body);
	mem_deref(wav);
	if (err)
		mem_deref(job);

	return err;
}


const struct stt_ops stt_openai = {
	.name   = "openai",
	.alloc  = stt_oa_alloc,
	.begin  = stt_oa_begin,
	.feed   = stt_oa_feed,
	.end    = stt_oa_end,
	.cancel = stt_oa_cancel,
};
