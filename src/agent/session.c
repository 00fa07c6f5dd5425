/* session.c - see session.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "agent/provider.h"
#include "agent/session.h"
#include "agent/template.h"
#include "core/log.h"
#include "core/util.h"
#include "json/json.h"
#include "media/vad.h"
#include "speech/pcache.h"

enum {
	FRAME_MS = 20,
	PRE_FRAMES = 16,          /* 320 ms of audio kept before an onset */
	ONSET_FRAMES = 3,         /* what the VAD needs to say "speech" */
	RESUME_MS = 300,          /* a pause ends when the caller stops */
	MAX_UTTERANCE_MS = 30000,
	MAX_FRAME = 160,
};

enum sstate { S_IDLE, S_LISTENING, S_USER, S_THINKING, S_SPEAKING,
	      S_ENDED };

static const char *const state_names[] = {
	"idle", "listening", "user_speaking", "thinking", "agent_speaking",
	"ended",
};

enum first { FIRST_AGENT, FIRST_USER, FIRST_WAIT };

static const char fallback_line[] =
	"Sorry, I am having trouble right now. Please bear with me.";
static const char reprompt_line[] = "Are you still there?";

/* audio of a sentence, as it arrives */
struct chunk {
	struct le le;
	int16_t *pcm;
	size_t n;
};

/* one sentence of a reply */
struct seg {
	struct le le;
	uint32_t id;
	char *text;
	char *key;                /* cache key, NULL: not kept */
	struct list chunks;
	bool done;                /* all its audio is here */
	bool started;             /* it began to play */
	bool cached;
	bool fallback;            /* spoken by the fallback engine */
};

struct session {
	const struct agent_env *env;
	const struct session_io *io;
	void *arg;

	const struct stt_ops *stt;
	void *stt_st;
	const struct dlg_ops *dlg;
	void *dlg_st;
	const struct tts_ops *tts;
	void *tts_st;
	const struct tts_ops *fb;  /* fallback voice (espeak-ng) */
	void *fb_st;
	char *tts_prefix;          /* cache key of this voice */
	char *fb_prefix;
	char *first_message;       /* without a dialogue provider */

	/* turn-taking settings */
	enum first first;
	uint32_t greet_after_ms, min_sil_ms, max_sil_ms;
	uint32_t barge_min_ms, min_speech_ms;
	uint32_t sil_timeout_ms, reprompts;
	bool barge_in, outbound, notification, opening_said, muted;
	char *say_only;
	char *preamble;
	bool after_preamble;       /* the conversation starts after it */
	char *transfer_number;     /* where a model may transfer to */

	enum sstate st;
	uint64_t frame;            /* received frames since start */
	struct vad vad;
	int16_t pre[PRE_FRAMES][MAX_FRAME];
	size_t pre_n;              /* samples per kept frame */
	uint64_t pre_count;

	/* the caller's turn */
	bool user_open;            /* an utterance goes to the STT */
	uint64_t user_start, user_last_voice, user_end;
	uint32_t user_voiced;      /* frames */
	char *interim;

	/* the agent's reply */
	struct list segs;
	uint32_t next_id;
	size_t play_pos;           /* in the head chunk of the head seg */
	bool reply_open, reply_done, reply_end_call, reply_playing;
	bool uninterruptible, then_hangup, reprompting, said_any;
	bool notice;               /* the reply is the notification */
	char *transfer_to;
	struct mbuf *spoken;       /* text of sentences that played */
	struct mbuf *all_text;
	uint64_t agent_start;
	bool paused;
	uint64_t pause_at;

	/* timings of the reply in progress, microseconds */
	uint64_t t_endpoint, t_stt, t_token, t_say, t_audio, t_rtp;
	uint64_t endpoint_frame;

	unsigned turns;
	uint64_t quiet_since;
	unsigned reprompts_done;
	bool greeted;
	bool held;                 /* the opening waits for release */
	bool hanging;              /* hang-up asked for */
	bool greet_pending;
};

static void reply_finished(struct session *s);
static void begin_reply(struct session *s);
static void converse(struct session *s);
static void hangup(struct session *s, const char *cause);

/* ---- helpers ---- */

static uint64_t offset_ms(const struct session *s, uint64_t frame)
{
	return frame * FRAME_MS;
}

static void event(struct session *s, const char *type, const char *fmt, ...)
{
	char *data = NULL;
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		(void)re_vsdprintf(&data, fmt, ap);
		va_end(ap);
	}
	if (s->io->event)
		s->io->event(s->arg, type, data);
	mem_deref(data);
}

static void chunk_destructor(void *data)
{
	struct chunk *c = data;

	list_unlink(&c->le);
	mem_deref(c->pcm);
}

static void seg_destructor(void *data)
{
	struct seg *g = data;

	list_unlink(&g->le);
	list_flush(&g->chunks);
	mem_deref(g->text);
	mem_deref(g->key);
}

static struct seg *seg_find(struct session *s, uint32_t id)
{
	for (struct le *le = s->segs.head; le; le = le->next) {
		struct seg *g = le->data;
		if (g->id == id)
			return g;
	}
	return NULL;
}

static int chunk_add(struct seg *g, int16_t *pcm, size_t n)
{
	struct chunk *c = mem_zalloc(sizeof(*c), chunk_destructor);

	if (!c) {
		mem_deref(pcm);
		return ENOMEM;
	}
	c->pcm = pcm;
	c->n = n;
	list_append(&g->chunks, &c->le, c);
	return 0;
}

/* keep a sentence's audio for the next call that says it */
static void seg_keep(struct session *s, struct seg *g)
{
	size_t total = 0, at = 0;
	int16_t *all;

	if (!g->key || g->cached || !s->env->prompts)
		return;
	for (struct le *le = g->chunks.head; le; le = le->next)
		total += ((struct chunk *)le->data)->n;
	if (!total)
		return;
	all = mem_alloc(total * sizeof(*all), NULL);
	if (!all)
		return;
	for (struct le *le = g->chunks.head; le; le = le->next) {
		struct chunk *c = le->data;
		memcpy(all + at, c->pcm, c->n * sizeof(*all));
		at += c->n;
	}
	(void)pcache_put(s->env->prompts, g->key, all, total);
	mem_deref(all);
}

static const char *cfg_str(const struct odict *o, const char *obj,
			   const char *key)
{
	const struct odict_entry *e = obj ? odict_lookup(o, obj) : NULL;

	if (obj) {
		if (!e || e->type != ODICT_OBJECT)
			return NULL;
		o = e->u.odict;
	}
	e = o ? odict_lookup(o, key) : NULL;
	return e && e->type == ODICT_STRING ? e->u.str : NULL;
}

static const struct odict *cfg_obj(const struct odict *o, const char *key)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	return e && e->type == ODICT_OBJECT ? e->u.odict : NULL;
}

static uint32_t cfg_int(const struct odict *o, const char *key, uint32_t def,
			uint32_t lo, uint32_t hi)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	if (!e || e->type != ODICT_INT || e->u.integer < lo ||
	    e->u.integer > hi)
		return def;
	return (uint32_t)e->u.integer;
}

static bool cfg_bool(const struct odict *o, const char *key, bool def)
{
	const struct odict_entry *e = o ? odict_lookup(o, key) : NULL;

	return e && e->type == ODICT_BOOL ? e->u.boolean : def;
}

/* ---- speaking ---- */

static void speak(struct session *s, const char *text, bool fallback)
{
	const struct tts_ops *tts = fallback ? s->fb : s->tts;
	void *st = fallback ? s->fb_st : s->tts_st;
	const char *prefix = fallback ? s->fb_prefix : s->tts_prefix;
	struct seg *g;
	int16_t *pcm;
	size_t n = 0;
	int err;

	if (!text || !*text || s->muted)
		return;
	g = mem_zalloc(sizeof(*g), seg_destructor);
	if (!g)
		return;
	g->id = ++s->next_id;
	g->fallback = fallback;
	if (str_dup(&g->text, text) ||
	    re_sdprintf(&g->key, "%s%s", prefix, text)) {
		mem_deref(g);
		return;
	}
	list_append(&s->segs, &g->le, g);
	if (s->all_text->end)
		(void)mbuf_write_str(s->all_text, " ");
	(void)mbuf_write_str(s->all_text, text);
	if (!s->t_say)
		s->t_say = util_mono_us();

	pcm = s->env->prompts ? pcache_get(s->env->prompts, g->key, &n) :
		NULL;
	if (pcm) {
		g->cached = true;
		g->done = true;
		if (!s->t_audio)
			s->t_audio = util_mono_us();
		(void)chunk_add(g, pcm, n);
		return;
	}
	err = tts && st ? tts->speak(st, text, g->id) : ENOSYS;
	if (err) {
		event(s, "error_exception", "{\"where\":\"tts\",\"error\":%d}",
		      err);
		if (!fallback && s->fb_st && tts != s->fb &&
		    !s->fb->speak(s->fb_st, text, g->id)) {
			char *k = NULL;
			g->fallback = true;
			if (!re_sdprintf(&k, "%s%s", s->fb_prefix, text)) {
				mem_deref(g->key);
				g->key = k;
			}
			return;
		}
		g->done = true;
	}
}

/* audio from either voice (arg: the session; fallback voice ids are in
 * the same sequence) */
static void on_tts_audio(int err, int16_t *pcm, size_t n, bool last,
			uint32_t id, void *arg)
{
	struct session *s = arg;
	struct seg *g = seg_find(s, id);

	if (!g || s->st == S_ENDED) {
		mem_deref(pcm);
		return;
	}
	if (err) {
		mem_deref(pcm);
		log_warn("session: speech synthesis failed: %m", err);
		event(s, "error_exception", "{\"where\":\"tts\",\"error\":%d}",
		      err);
		if (!g->fallback && s->fb_st && s->fb != s->tts &&
		    !g->chunks.head) {
			/* the same words in the local voice, in place */
			char *k = NULL;
			g->fallback = true;
			if (!re_sdprintf(&k, "%s%s", s->fb_prefix, g->text)) {
				mem_deref(g->key);
				g->key = k;
			}
			if (!s->fb->speak(s->fb_st, g->text, g->id))
				return;
		}
		g->done = true;
		return;
	}
	if (pcm && n) {
		if (!s->t_audio)
			s->t_audio = util_mono_us();
		(void)chunk_add(g, pcm, n);
	}
	else {
		mem_deref(pcm);
	}
	if (last) {
		g->done = true;
		seg_keep(s, g);
	}
}

static void timings_json(struct session *s, char *buf, size_t sz)
{
	char parts[5][48];
	const uint64_t t[5] = {s->t_stt, s->t_token, s->t_say, s->t_audio,
			       s->t_rtp};
	const char *names[5] = {"stt_ms", "llm_first_token_ms",
				"llm_first_sentence_ms", "tts_first_audio_ms",
				"first_rtp_ms"};

	for (size_t i = 0; i < 5; i++) {
		if (!s->t_endpoint || !t[i] || t[i] < s->t_endpoint)
			snprintf(parts[i], sizeof(parts[i]), "\"%s\":null",
				 names[i]);
		else
			snprintf(parts[i], sizeof(parts[i]), "\"%s\":%.1f",
				 names[i], (double)(t[i] - s->t_endpoint) /
				 1000.0);
	}
	if (s->t_endpoint)
		snprintf(buf, sz, "{\"endpoint_at_ms\":%llu,%s,%s,%s,%s,%s}",
			 (unsigned long long)offset_ms(s, s->endpoint_frame),
			 parts[0], parts[1], parts[2], parts[3], parts[4]);
	else
		snprintf(buf, sz, "{\"endpoint_at_ms\":null,%s,%s,%s,%s,%s}",
			 parts[0], parts[1], parts[2], parts[3], parts[4]);
}

/* the agent's turn is over (played, cut off, or the call ended) */
static void agent_turn(struct session *s, bool interrupted)
{
	struct mbuf *mb = interrupted ? s->spoken : s->all_text;
	char timings[400];
	char *text = NULL;
	struct session_turn t;

	if (!s->said_any || !mb || !mb->end)
		return;
	mb->pos = 0;
	if (mbuf_strdup(mb, &text, mb->end))
		return;
	timings_json(s, timings, sizeof(timings));
	memset(&t, 0, sizeof(t));
	t.turn = ++s->turns;
	t.speaker = "agent";
	t.text = text;
	t.start_ms = offset_ms(s, s->agent_start);
	t.end_ms = offset_ms(s, s->frame);
	t.interrupted = interrupted;
	t.timings_json = timings;
	if (s->io->turn)
		s->io->turn(s->arg, &t);
	mem_deref(text);
}

static void reset_reply(struct session *s)
{
	list_flush(&s->segs);
	s->play_pos = 0;
	s->reply_open = s->reply_done = s->reply_end_call = false;
	s->reply_playing = s->uninterruptible = s->then_hangup = false;
	s->reprompting = s->said_any = s->paused = s->notice = false;
	s->transfer_to = mem_deref(s->transfer_to);
	mbuf_reset(s->spoken);
	mbuf_reset(s->all_text);
	s->t_token = s->t_say = s->t_audio = s->t_rtp = 0;
}

static void begin_reply(struct session *s)
{
	reset_reply(s);
	s->reply_open = true;
	s->st = S_THINKING;
}

/* barge-in: what was not heard is dropped */
static void cancel_reply(struct session *s)
{
	char *heard = NULL, *to;
	bool end_call;

	if (s->spoken->end) {
		s->spoken->pos = 0;
		(void)mbuf_strdup(s->spoken, &heard, s->spoken->end);
	}
	if (s->dlg && s->dlg_st)
		s->dlg->cancel(s->dlg_st, heard ? heard : "");
	if (s->tts && s->tts_st)
		s->tts->cancel(s->tts_st);
	if (s->fb_st && s->fb_st != s->tts_st)
		s->fb->cancel(s->fb_st);
	agent_turn(s, true);
	mem_deref(heard);
	end_call = s->reply_end_call;
	to = s->transfer_to;
	s->transfer_to = NULL;
	reset_reply(s);
	/* the caller talked over a goodbye or a transfer line: what the
	 * reply was leading to still happens */
	if (to) {
		int err = s->io->transfer ? s->io->transfer(s->arg, to) :
			ENOSYS;
		if (err)
			event(s, "error_exception", "{\"where\":\"transfer\","
			      "\"error\":%d}", err);
	}
	mem_deref(to);
	if (end_call)
		hangup(s, "agent_hangup");
}

static void hangup(struct session *s, const char *cause)
{
	if (s->st == S_ENDED || s->hanging)
		return;
	/* the call ends soon (after the last audio drains): nothing more
	 * is decided here */
	s->hanging = true;
	if (s->io->hangup)
		s->io->hangup(s->arg, cause);
}

/* everything of the reply has played */
static void reply_finished(struct session *s)
{
	bool end_call = s->reply_end_call, notice = s->notice;
	bool then_hangup = s->then_hangup;
	char *to = s->transfer_to;

	s->transfer_to = NULL;
	if (s->reply_playing)
		event(s, "playback.finished", NULL);
	if (!s->said_any && s->reprompting) {
		/* the dialogue had nothing to say to the silence */
		s->reprompting = false;
		s->reply_done = false;
		speak(s, reprompt_line, false);
		s->reply_done = true;
		mem_deref(to);
		return;
	}
	agent_turn(s, false);
	reset_reply(s);
	s->st = S_LISTENING;
	s->quiet_since = s->frame;
	s->muted = false;

	if (notice)
		event(s, "notification_delivered", NULL);
	if (to) {
		int err = s->io->transfer ? s->io->transfer(s->arg, to) :
			ENOSYS;
		if (err)
			event(s, "error_exception", "{\"where\":\"transfer\","
			      "\"error\":%d}", err);
	}
	mem_deref(to);
	if (notice || then_hangup)
		hangup(s, "message_played");
	else if (end_call)
		hangup(s, "agent_hangup");
	else if (s->after_preamble) {
		s->after_preamble = false;
		converse(s);
	}
}

static void check_reply(struct session *s)
{
	if (s->reply_open && s->reply_done && !s->segs.head)
		reply_finished(s);
}

/* ---- the dialogue's actions ---- */

static void fail(struct session *s, const char *where, int err, bool http)
{
	log_warn("session: %s failed: %m", where, err);
	event(s, http ? "error_http" : "error_exception",
	      "{\"where\":\"%s\",\"error\":%d}", where, err);
	if (!s->reply_open)
		begin_reply(s);
	speak(s, fallback_line, s->fb_st != NULL);
	s->reply_done = true;
	check_reply(s);
}

static void on_dlg_action(const struct dlg_action *a, void *arg)
{
	struct session *s = arg;

	if (s->st == S_ENDED)
		return;
	if (!s->reply_open && a->act != DLG_EVENT && a->act != DLG_DNC &&
	    a->act != DLG_DTMF)
		begin_reply(s);

	switch (a->act) {
	case DLG_TOKEN:
		if (!s->t_token)
			s->t_token = util_mono_us();
		break;
	case DLG_SAY:
		if (!s->t_token)
			s->t_token = util_mono_us();
		speak(s, a->text, false);
		break;
	case DLG_DONE:
		s->reply_done = true;
		check_reply(s);
		break;
	case DLG_END_CALL:
		s->reply_end_call = true;
		s->reply_done = true;
		check_reply(s);
		break;
	case DLG_TRANSFER:
		/* a model may be talked into calling anywhere: it transfers
		 * only to the number the agent names (scenarios are the
		 * operator's own and go where they say) */
		if (a->text && s->dlg && strcmp(s->dlg->name, "scenario") &&
		    (!s->transfer_number ||
		     strcmp(a->text, s->transfer_number))) {
			event(s, "transfer.refused", "{\"to\":%H}",
			      json_print_str, a->text);
			s->reply_done = true;
			check_reply(s);
			break;
		}
		if (a->text) {
			mem_deref(s->transfer_to);
			(void)str_dup(&s->transfer_to, a->text);
		}
		s->reply_done = true;
		check_reply(s);
		break;
	case DLG_DTMF:
		if (a->text && s->io->dtmf)
			(void)s->io->dtmf(s->arg, a->text);
		break;
	case DLG_DNC:
		if (s->io->dnc)
			s->io->dnc(s->arg);
		event(s, "dnc.requested", NULL);
		break;
	case DLG_EVENT:
		if (a->text && a->data)
			event(s, a->text, "%s", a->data);
		else if (a->text)
			event(s, a->text, NULL);
		break;
	case DLG_ERROR:
		/* a scenario goes on by itself (its webhook step has an
		 * on_error path); a model that failed has nothing to say */
		if (s->dlg && !strcmp(s->dlg->name, "scenario")) {
			event(s, a->http ? "error_http" : "error_exception",
			      "{\"where\":\"scenario\",\"error\":%d}",
			      a->err ? a->err : EPROTO);
			break;
		}
		fail(s, s->dlg ? s->dlg->name : "dialogue",
		     a->err ? a->err : EPROTO, a->http);
		break;
	}
}

/* ---- the caller's turn ---- */

static void user_turn(struct session *s, const char *text)
{
	struct session_turn t;

	memset(&t, 0, sizeof(t));
	t.turn = ++s->turns;
	t.speaker = "user";
	t.text = text;
	t.start_ms = offset_ms(s, s->user_start);
	t.end_ms = offset_ms(s, s->user_end);
	if (s->io->turn)
		s->io->turn(s->arg, &t);
}

static void greet(struct session *s)
{
	int err = 0;

	if (s->held) {
		/* after session_release() */
		s->greet_pending = true;
		s->st = S_LISTENING;
		s->quiet_since = s->frame;
		return;
	}
	s->greeted = true;
	begin_reply(s);
	if (s->dlg_st)
		err = s->dlg->start(s->dlg_st);
	else {
		speak(s, s->first_message, false);
		s->reply_done = true;
	}
	if (err)
		fail(s, "dialogue", err, false);
	else
		check_reply(s);
}

static void on_stt_result(int err, const char *text, bool final, void *arg)
{
	struct session *s = arg;
	int e = 0;

	if (s->st == S_ENDED)
		return;
	if (!final) {
		mem_deref(s->interim);
		s->interim = NULL;
		if (text)
			(void)str_dup(&s->interim, text);
		return;
	}
	if (s->st != S_THINKING || s->reply_open)
		return;
	s->t_stt = util_mono_us();
	if (err) {
		fail(s, s->stt->name, err, err != ETIMEDOUT && err != ENOMEM);
		return;
	}
	if (text && *text)
		user_turn(s, text);
	if (!s->greeted) {
		greet(s);
		return;
	}
	if ((!text || !*text) && !(s->dlg && s->dlg->grammar &&
				   s->dlg->grammar(s->dlg_st))) {
		/* nothing understood and nothing particular expected */
		s->st = S_LISTENING;
		s->quiet_since = s->frame;
		return;
	}
	begin_reply(s);
	e = s->dlg->user(s->dlg_st, text ? text : "");
	if (e)
		fail(s, s->dlg->name, e, false);
}

static void keep_frame(struct session *s, const int16_t *frame, size_t n)
{
	memcpy(s->pre[s->pre_count % PRE_FRAMES], frame, n * sizeof(*frame));
	s->pre_n = n;
	s->pre_count++;
}

/* start sending an utterance to the STT with the frames before the
 * onset (the VAD needs a few frames, words start softly) */
static void user_open(struct session *s, unsigned back)
{
	const char *grammar = NULL;
	uint64_t from;

	if (!s->stt_st) {
		s->user_open = false;
		return;
	}
	if (s->dlg && s->dlg->grammar && s->dlg_st)
		grammar = s->dlg->grammar(s->dlg_st);
	if (s->stt->begin(s->stt_st, grammar)) {
		s->user_open = false;
		return;
	}
	s->user_open = true;
	if (back > PRE_FRAMES)
		back = PRE_FRAMES;
	if (back > s->pre_count)
		back = (unsigned)s->pre_count;
	from = s->pre_count - back;
	for (uint64_t i = from; i < s->pre_count; i++)
		s->stt->feed(s->stt_st, s->pre[i % PRE_FRAMES], s->pre_n);
}

static void user_close(struct session *s)
{
	if (s->user_open && s->stt_st)
		s->stt->cancel(s->stt_st);
	s->user_open = false;
}

static void user_begin(struct session *s, uint64_t onset)
{
	s->st = S_USER;
	s->user_start = onset;
	s->user_last_voice = s->frame;
	s->user_voiced = ONSET_FRAMES;
	s->interim = mem_deref(s->interim);
	s->reprompts_done = 0;
	if (!s->user_open)
		user_open(s, (unsigned)(s->frame - onset) + 10);
}

/* words that say the caller has not finished */
static bool goes_on(const char *text)
{
	static const char *const words[] = {
		"and", "but", "so", "because", "or", "um", "uh", "the", "a",
		"to", "my", "is", "if", "then", NULL};
	const char *last;
	size_t n;

	if (!text)
		return false;
	n = strlen(text);
	while (n && (text[n - 1] == ' ' || text[n - 1] == ','))
		n--;
	last = text + n;
	while (last > text && last[-1] != ' ')
		last--;
	for (size_t i = 0; words[i]; i++) {
		if (strlen(words[i]) == (size_t)(text + n - last) &&
		    !strncasecmp(last, words[i], strlen(words[i])))
			return true;
	}
	return false;
}

static void endpoint(struct session *s)
{
	s->user_end = s->user_last_voice + 1;
	if ((uint64_t)s->user_voiced * FRAME_MS < s->min_speech_ms) {
		/* a click, a breath: not a turn */
		user_close(s);
		s->st = S_LISTENING;
		return;
	}
	s->st = S_THINKING;
	s->t_endpoint = util_mono_us();
	s->endpoint_frame = s->frame;
	s->t_stt = 0;
	if (!s->user_open) {
		/* nobody transcribes (no dialogue): the turn just ends */
		s->st = S_LISTENING;
		s->quiet_since = s->frame;
		if (!s->greeted && s->first != FIRST_AGENT)
			greet(s);
		return;
	}
	s->user_open = false;
	if (s->stt->end(s->stt_st))
		fail(s, s->stt->name, EIO, false);
}

/* ---- the tick ---- */

static void silence_check(struct session *s)
{
	uint64_t quiet_ms = offset_ms(s, s->frame - s->quiet_since);
	uint32_t step;

	if (!s->greeted) {
		if (s->first == FIRST_WAIT &&
		    offset_ms(s, s->frame) >= s->greet_after_ms) {
			s->t_endpoint = 0;
			greet(s);
		}
		return;
	}
	if (!s->sil_timeout_ms || !s->dlg_st)
		return;
	step = s->sil_timeout_ms / (s->reprompts + 1);
	if (quiet_ms >= s->sil_timeout_ms) {
		event(s, "silence_timeout", NULL);
		hangup(s, "silence_timeout");
		return;
	}
	if (s->reprompts_done < s->reprompts &&
	    quiet_ms >= (uint64_t)step * (s->reprompts_done + 1)) {
		int err;
		s->reprompts_done++;
		s->t_endpoint = 0;
		begin_reply(s);
		s->reprompting = true;
		err = s->dlg->silence(s->dlg_st);
		if (err)
			fail(s, s->dlg->name, err, false);
	}
}

void session_rx(struct session *s, const int16_t *frame, size_t n)
{
	bool voice;

	if (!s || s->st == S_IDLE || s->st == S_ENDED || n > MAX_FRAME)
		return;
	s->frame++;
	if (s->hanging)
		return;
	keep_frame(s, frame, n);
	voice = vad_frame(&s->vad, frame, n);
	if (voice)
		s->user_last_voice = s->frame;

	switch (s->st) {
	case S_LISTENING:
		if (voice) {
			user_begin(s, s->frame - ONSET_FRAMES);
			break;
		}
		silence_check(s);
		break;

	case S_USER: {
		uint64_t sil;
		if (s->user_open)
			s->stt->feed(s->stt_st, frame, n);
		if (voice) {
			s->user_voiced++;
			break;
		}
		sil = offset_ms(s, s->frame - s->user_last_voice);
		if (sil >= (goes_on(s->interim) ? s->max_sil_ms :
			    s->min_sil_ms) ||
		    offset_ms(s, s->frame - s->user_start) >= MAX_UTTERANCE_MS)
			endpoint(s);
		break;
	}

	case S_THINKING:
	case S_SPEAKING:
		if (s->uninterruptible || !s->barge_in || !s->reply_open)
			break;
		if (s->user_open && s->stt_st)
			s->stt->feed(s->stt_st, frame, n);
		if (voice && !s->paused) {
			/* hold the agent's voice at once; decide later */
			s->paused = true;
			s->pause_at = s->frame;
			s->user_voiced = ONSET_FRAMES;
			s->user_start = s->frame - ONSET_FRAMES;
			user_open(s, ONSET_FRAMES + 10);
			break;
		}
		if (!s->paused)
			break;
		if (voice)
			s->user_voiced++;
		if ((uint64_t)s->user_voiced * FRAME_MS >= s->barge_min_ms) {
			event(s, "barge_in", "{\"paused_after_ms\":%u,"
			      "\"confirmed_after_ms\":%llu}",
			      ONSET_FRAMES * FRAME_MS,
			      (unsigned long long)offset_ms(s, s->frame -
							    s->user_start));
			cancel_reply(s);
			s->st = S_USER;
			s->interim = mem_deref(s->interim);
			break;
		}
		if (offset_ms(s, s->frame - s->user_last_voice) >= RESUME_MS) {
			/* a backchannel or a noise: go on speaking */
			event(s, "backchannel", "{\"ms\":%u}",
			      s->user_voiced * FRAME_MS);
			user_close(s);
			s->paused = false;
		}
		break;

	default:
		break;
	}
}

bool session_tx(struct session *s, int16_t *frame, size_t n)
{
	size_t got = 0;

	if (!s || s->st == S_ENDED || s->paused)
		return false;
	while (got < n && s->segs.head) {
		struct seg *g = s->segs.head->data;
		struct chunk *c = g->chunks.head ? g->chunks.head->data : NULL;
		size_t k;

		if (!c) {
			if (!g->done)
				break;      /* waiting for synthesis */
			mem_deref(g);
			s->play_pos = 0;
			continue;
		}
		if (!g->started) {
			g->started = true;
			s->said_any = true;
			if (s->spoken->end)
				(void)mbuf_write_str(s->spoken, " ");
			(void)mbuf_write_str(s->spoken, g->text);
		}
		if (!s->reply_playing) {
			size_t total = 0;
			s->reply_playing = true;
			s->st = S_SPEAKING;
			s->agent_start = s->frame;
			s->t_rtp = util_mono_us();
			for (struct le *le = g->chunks.head; le; le = le->next)
				total += ((struct chunk *)le->data)->n;
			event(s, "playback.started", "{\"samples\":%zu,"
			      "\"cached\":%s}", total, g->cached ? "true" :
			      "false");
		}
		k = c->n - s->play_pos;
		if (k > n - got)
			k = n - got;
		memcpy(frame + got, c->pcm + s->play_pos, k * sizeof(*frame));
		got += k;
		s->play_pos += k;
		if (s->play_pos >= c->n) {
			mem_deref(c);
			s->play_pos = 0;
		}
	}
	if (!got) {
		check_reply(s);
		return false;
	}
	memset(frame + got, 0, (n - got) * sizeof(*frame));
	if (!s->segs.head)
		check_reply(s);
	return true;
}

void session_dtmf(struct session *s, char digit)
{
	int err;

	if (!s || s->st == S_IDLE || s->st == S_ENDED || !s->dlg_st ||
	    s->uninterruptible)
		return;
	if (s->reply_open)
		cancel_reply(s);
	user_close(s);
	s->greeted = true;
	s->t_endpoint = 0;
	begin_reply(s);
	err = s->dlg->dtmf(s->dlg_st, digit);
	if (err)
		fail(s, s->dlg->name, err, false);
}

int session_say(struct session *s, const char *text, bool then_hangup)
{
	if (!s || s->st == S_ENDED || !text || !*text)
		return EINVAL;
	if (s->reply_open)
		cancel_reply(s);
	user_close(s);
	s->greeted = true;
	s->t_endpoint = 0;
	begin_reply(s);
	s->uninterruptible = true;
	s->then_hangup = then_hangup;
	speak(s, text, false);
	s->reply_done = true;
	return 0;
}

static void converse(struct session *s)
{
	if (s->dlg_st)
		event(s, "conversation_started", NULL);
	if (s->opening_said) {
		/* the dialogue says its opening into the void (the reply
		 * ends unheard, then the session listens) */
		s->muted = true;
		greet(s);
		return;
	}
	if (s->first == FIRST_AGENT)
		greet(s);
}

void session_start(struct session *s)
{
	if (!s || s->st != S_IDLE)
		return;
	s->st = S_LISTENING;
	if (s->say_only) {
		if (session_say(s, s->say_only, true))
			hangup(s, "message_played");    /* nothing to say */
		s->notice = s->notification;
		return;
	}
	if (s->preamble && !session_say(s, s->preamble, false)) {
		s->greeted = false;
		s->after_preamble = true;
		return;
	}
	converse(s);
}

void session_stop(struct session *s)
{
	if (!s || s->st == S_ENDED)
		return;
	if (s->reply_open && s->said_any)
		agent_turn(s, true);
	user_close(s);
	s->st = S_ENDED;
	/* no provider result may arrive any more */
	s->stt_st = mem_deref(s->stt_st);
	s->dlg_st = mem_deref(s->dlg_st);
	s->tts_st = mem_deref(s->tts_st);
	s->fb_st = mem_deref(s->fb_st);
	list_flush(&s->segs);
}

void session_release(struct session *s)
{
	if (!s || !s->held)
		return;
	s->held = false;
	if (s->st == S_ENDED || s->st == S_IDLE || s->after_preamble)
		return;
	if (s->greet_pending) {
		s->greet_pending = false;
		if (!s->reply_open && s->st != S_USER)
			greet(s);
		else
			s->greet_pending = true;
	}
}

int session_leave_message(struct session *s, const char *text)
{
	int err = session_say(s, text, true);

	if (!err)
		s->notice = true;
	return err;
}

const char *session_state(const struct session *s)
{
	return s ? state_names[s->st] : "none";
}

/* ---- set-up ---- */

static void session_destructor(void *data)
{
	struct session *s = data;

	session_stop(s);
	mem_deref(s->tts_prefix);
	mem_deref(s->fb_prefix);
	mem_deref(s->first_message);
	mem_deref(s->say_only);
	mem_deref(s->preamble);
	mem_deref(s->transfer_number);
	mem_deref(s->interim);
	mem_deref(s->transfer_to);
	mem_deref(s->spoken);
	mem_deref(s->all_text);
}

static int voice_prefix(char **p, const char *provider,
			const struct odict *tts)
{
	const char *voice = tts ? odict_string(tts, "voice") : NULL;
	const char *model = tts ? odict_string(tts, "model") : NULL;
	const struct odict_entry *e = tts ? odict_lookup(tts, "speed") : NULL;
	double speed = 1.0;
	char sp[32];

	if (e && e->type == ODICT_DOUBLE)
		speed = e->u.dbl;
	else if (e && e->type == ODICT_INT)
		speed = (double)e->u.integer;
	snprintf(sp, sizeof(sp), "%.2f", speed);
	return re_sdprintf(p, "%s|%s|%s|%s|", provider, voice ? voice : "",
			   model ? model : "", sp);
}

int session_alloc(struct session **sp, const struct agent_env *env,
		  const struct odict *agent, const struct odict *vars,
		  const struct session_opts *opts,
		  const struct session_io *io, void *arg)
{
	const struct odict *turn = cfg_obj(agent, "turn");
	const struct odict *limits = cfg_obj(agent, "limits");
	const struct odict *out = cfg_obj(agent, "outbound");
	const struct odict *tts_cfg = cfg_obj(agent, "tts");
	const char *name, *first;
	struct session *s;
	int err = 0;

	if (!sp || !env || !io)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), session_destructor);
	if (!s)
		return ENOMEM;
	s->env = env;
	s->io = io;
	s->arg = arg;
	s->spoken = mbuf_alloc(256);
	s->all_text = mbuf_alloc(256);
	if (!s->spoken || !s->all_text) {
		err = ENOMEM;
		goto out;
	}
	vad_init(&s->vad);

	first = cfg_str(agent, NULL, "first_speaker");
	s->first = first && !strcmp(first, "user") ? FIRST_USER :
		first && !strcmp(first, "wait") ? FIRST_WAIT : FIRST_AGENT;
	s->greet_after_ms = cfg_int(out, "greet_after_silence_ms", 2500, 0,
				    10000);
	s->min_sil_ms = cfg_int(turn, "min_silence_ms", 500, 100, 5000);
	s->max_sil_ms = cfg_int(turn, "max_silence_ms", 1500, 100, 10000);
	if (s->max_sil_ms < s->min_sil_ms)
		s->max_sil_ms = s->min_sil_ms;
	s->barge_in = cfg_bool(turn, "barge_in", true);
	s->barge_min_ms = cfg_int(turn, "barge_in_min_ms", 400, 0, 5000);
	s->min_speech_ms = cfg_int(turn, "min_speech_ms", 120, 0, 2000);
	s->sil_timeout_ms = cfg_int(limits, "silence_timeout", 20, 1, 600) *
		1000;
	s->reprompts = cfg_int(limits, "silence_reprompts", 1, 0, 10);
	s->outbound = opts && opts->outbound;
	s->notification = opts && opts->notification;
	s->opening_said = opts && opts->opening_said;
	s->held = opts && opts->hold;
	if (opts && opts->preamble && *opts->preamble) {
		err = template_render(&s->preamble, opts->preamble, vars);
		if (err)
			goto out;
	}
	if (opts && opts->say_only) {
		err = template_render(&s->say_only, opts->say_only, vars);
		if (err)
			goto out;
	}

	{
		const char *tn = cfg_str(agent, "inbound", "transfer_number");
		if (tn)
			err = str_dup(&s->transfer_number, tn);
		if (err)
			goto out;
	}

	/* the voice, with the local one to fall back on */
	name = cfg_str(agent, "tts", "provider");
	s->tts = tts_find(name ? name : "espeak-ng");
	if (!s->tts) {
		event(s, "error_exception", "{\"where\":\"tts\","
		      "\"error\":\"unknown provider\"}");
		s->tts = tts_find("espeak-ng");
	}
	s->fb = tts_find("espeak-ng");
	err = voice_prefix(&s->tts_prefix, s->tts->name, tts_cfg);
	if (!err)
		err = voice_prefix(&s->fb_prefix, s->fb->name, NULL);
	if (err)
		goto out;
	err = s->tts->alloc(&s->tts_st, env, tts_cfg, on_tts_audio, s);
	if (err) {
		log_warn("session: %s voice unavailable: %m", s->tts->name,
			 err);
		s->tts = s->fb;
		mem_deref(s->tts_prefix);
		err = str_dup(&s->tts_prefix, s->fb_prefix);
		if (!err)
			err = s->fb->alloc(&s->tts_st, env, NULL, on_tts_audio,
					   s);
		if (err)
			goto out;
	}
	if (s->tts == s->fb)
		s->fb_st = mem_ref(s->tts_st);
	else if (s->fb->alloc(&s->fb_st, env, NULL, on_tts_audio, s))
		s->fb_st = NULL;

	/* the dialogue; without one the agent only greets */
	name = cfg_str(agent, "llm", "provider");
	s->dlg = dlg_find(name ? name : "scenario");
	if (s->dlg && !strcmp(s->dlg->name, "scenario") &&
	    !cfg_obj(agent, "scenario"))
		s->dlg = NULL;
	if (s->dlg && s->dlg->alloc(&s->dlg_st, env, agent, vars,
				    on_dlg_action, s)) {
		log_warn("session: %s dialogue unavailable", s->dlg->name);
		s->dlg = NULL;
	}
	if (!s->dlg) {
		const char *fm = cfg_str(agent, NULL, "first_message");
		if (fm)
			err = template_render(&s->first_message, fm, vars);
		if (err)
			goto out;
	}

	/* ears only when someone listens */
	if (s->dlg_st) {
		name = cfg_str(agent, "stt", "provider");
		s->stt = stt_find(name ? name : "pocketsphinx");
		if (s->stt && s->stt->alloc(&s->stt_st, env,
					    cfg_obj(agent, "stt"),
					    on_stt_result, s)) {
			log_warn("session: %s recognition unavailable",
				 s->stt->name);
			s->stt_st = NULL;
		}
	}
 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;
	return err;
}
