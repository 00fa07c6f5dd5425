/* bench_providers.c - "bench": instant providers for measuring what the
 * platform itself adds to a reply (VAD, endpointing, the session, the
 * media tick, RTP), as `make bench` does. They answer through the same
 * function tables as the real engines, at once and without computing:
 *
 *   stt  every utterance is heard as "hello";
 *   llm  the first message, then "You said: <text>." to each turn;
 *   tts  a voiced buzz (120 Hz glottal-like pulses) of 55 ms per
 *        character, at most 4 s, from one buffer made at start-up.
 *
 * Not for real calls: an agent configured with them talks nonsense.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <re.h>
#include "agent/provider.h"
#include "agent/template.h"

enum { BUZZ_MAX = 4 * 8000 };

/* ---- stt ---- */

struct bstt {
	stt_result_h *h;
	void *arg;
	bool open;
};

static int bstt_alloc(void **stp, const struct agent_env *env,
		      const struct odict *cfg, stt_result_h *resulth, void *arg)
{
	struct bstt *b = mem_zalloc(sizeof(*b), NULL);

	if (!b)
		return ENOMEM;
	b->h = resulth;
	b->arg = arg;
	*stp = b;
	return 0;
}

static int bstt_begin(void *st, const char *grammar)
{
	((struct bstt *)st)->open = true;
	return 0;
}

static void bstt_feed(void *st, const int16_t *pcm, size_t n)
{
}

static int bstt_end(void *st)
{
	struct bstt *b = st;

	if (!b->open)
		return EPROTO;
	b->open = false;
	b->h(0, "hello", true, b->arg);
	return 0;
}

static void bstt_cancel(void *st)
{
	((struct bstt *)st)->open = false;
}

const struct stt_ops stt_bench = {
	"bench", bstt_alloc, bstt_begin, bstt_feed, bstt_end, bstt_cancel,
};

/* ---- dialogue ---- */

struct bdlg {
	dlg_action_h *h;
	void *arg;
	char *first;
};

static void bdlg_destructor(void *data)
{
	mem_deref(((struct bdlg *)data)->first);
}

static int bdlg_alloc(void **stp, const struct agent_env *env,
		      const struct odict *agent, const struct odict *vars,
		      dlg_action_h *acth, void *arg)
{
	struct bdlg *b = mem_zalloc(sizeof(*b), bdlg_destructor);
	const char *fm = agent ? odict_string(agent, "first_message") : NULL;
	int err = 0;

	if (!b)
		return ENOMEM;
	b->h = acth;
	b->arg = arg;
	if (fm)
		err = template_render(&b->first, fm, vars);
	if (err)
		mem_deref(b);
	else
		*stp = b;
	return err;
}

static void act(struct bdlg *b, enum dlg_act a, const char *text)
{
	struct dlg_action x;

	memset(&x, 0, sizeof(x));
	x.act = a;
	x.text = text;
	b->h(&x, b->arg);
}

static int bdlg_start(void *st)
{
	struct bdlg *b = st;

	if (b->first)
		act(b, DLG_SAY, b->first);
	act(b, DLG_DONE, NULL);
	return 0;
}

static int bdlg_user(void *st, const char *text)
{
	char *reply = NULL;
	int err = re_sdprintf(&reply, "You said: %s.", text);

	if (err)
		return err;
	act(st, DLG_TOKEN, NULL);
	act(st, DLG_SAY, reply);
	act(st, DLG_DONE, NULL);
	mem_deref(reply);
	return 0;
}

static int bdlg_silence(void *st)
{
	act(st, DLG_DONE, NULL);
	return 0;
}

static int bdlg_dtmf(void *st, char digit)
{
	act(st, DLG_DONE, NULL);
	return 0;
}

static void bdlg_cancel(void *st, const char *heard)
{
}

static const char *bdlg_grammar(void *st)
{
	return NULL;
}

const struct dlg_ops dlg_bench = {
	"bench", bdlg_alloc, bdlg_start, bdlg_user, bdlg_silence, bdlg_dtmf,
	bdlg_cancel, bdlg_grammar,
};

/* ---- tts ---- */

static int16_t buzz[BUZZ_MAX];
static bool buzz_ready;    /* written once on the loop thread */

struct btts {
	tts_audio_h *h;
	void *arg;
};

static void buzz_make(void)
{
	for (size_t i = 0; i < BUZZ_MAX; i++) {
		double t = (double)(i % 66) / 8000.0;   /* 121 Hz pulses */
		double env = 0.5 + 0.5 * sin(2 * M_PI * 4.0 * i / 8000.0);
		buzz[i] = (int16_t)(6000.0 * env * exp(-t * 900.0) *
				    cos(2 * M_PI * 700.0 * t));
	}
	buzz_ready = true;
}

static int btts_alloc(void **stp, const struct agent_env *env,
		      const struct odict *cfg, tts_audio_h *audioh, void *arg)
{
	struct btts *b = mem_zalloc(sizeof(*b), NULL);

	if (!b)
		return ENOMEM;
	if (!buzz_ready)
		buzz_make();
	b->h = audioh;
	b->arg = arg;
	*stp = b;
	return 0;
}

static int btts_speak(void *st, const char *text, uint32_t id)
{
	struct btts *b = st;
	size_t n = strlen(text) * 440;
	int16_t *pcm;

	if (!*text)
		return EINVAL;
	if (n > BUZZ_MAX)
		n = BUZZ_MAX;
	pcm = mem_alloc(n * sizeof(*pcm), NULL);
	if (!pcm)
		return ENOMEM;
	memcpy(pcm, buzz, n * sizeof(*pcm));
	b->h(0, pcm, n, true, id, b->arg);
	return 0;
}

static void btts_cancel(void *st)
{
}

const struct tts_ops tts_bench = {
	"bench", btts_alloc, btts_speak, btts_cancel,
};
