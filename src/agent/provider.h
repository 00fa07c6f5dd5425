/* provider.h - the speech and dialogue providers of the voice agent.
 *
 * Three kinds, each a small table of function pointers with opaque
 * per-call state, one file per provider, chosen by name from the agent's
 * runtime config ("stt", "llm", "tts" objects):
 *
 *   STT  speech to text: an utterance in, a transcript out;
 *   DLG  the dialogue (the "llm" object: a scenario graph or an
 *        OpenAI-compatible chat model): a user turn in, actions out
 *        (text to say, sentence by sentence, and tool actions);
 *   TTS  text to speech: a sentence in, 8 kHz audio out.
 *
 * Every operation is called on the loop thread and returns at once. A
 * provider that computes (pocketsphinx, espeak-ng, flite) queues the work
 * on env->speech (a pool of its own, so speech never waits behind store
 * work); a remote one uses libre's HTTP/WebSocket clients on the loop.
 * Results come back on the loop thread through the handler given at
 * alloc. After cancel (or once the state is released with mem_deref) no
 * handler of the cancelled work runs.
 *
 * Per-call state is a libre mem object: mem_deref() releases it, and any
 * work still queued for it is dropped (its result is discarded).
 */
#ifndef PARLEY_AGENT_PROVIDER_H
#define PARLEY_AGENT_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dnsc;
struct http_cli;
struct odict;
struct pcache;
struct pool;

/** Services shared by all calls' providers. Loop thread. */
struct agent_env {
	struct pool *speech;       /* workers for local engines */
	struct http_cli *http;     /* HTTP(S) client on the loop */
	struct dnsc *dnsc;
	struct pcache *prompts;    /* synthesised audio kept for reuse */
	uint32_t http_timeout_ms;  /* per provider request (default 10 s) */
};

/* ---- speech to text ---- */

/**
 * A transcript. final: the utterance is done (after stt end); non-final
 * results are interim and optional. err != 0: the provider failed
 * (timeout, HTTP error, malformed reply); text is NULL then. An empty
 * text with err == 0 means nothing was recognised (a no-match).
 */
typedef void (stt_result_h)(int err, const char *text, bool final,
			    void *arg);

struct stt_ops {
	const char *name;          /* the "provider" value */
	/** cfg: the agent's "stt" object (may be NULL: defaults). */
	int (*alloc)(void **stp, const struct agent_env *env,
		     const struct odict *cfg, stt_result_h *resulth,
		     void *arg);
	/**
	 * An utterance begins. grammar: a JSGF grammar of what the
	 * dialogue expects now (NULL: free speech). Providers without
	 * grammars ignore it.
	 */
	int (*begin)(void *st, const char *grammar);
	/** 8 kHz mono samples of the utterance, in order. */
	void (*feed)(void *st, const int16_t *pcm, size_t n);
	/** The utterance ended: one final result follows. */
	int (*end)(void *st);
	/** Drop the utterance in progress; no result follows. */
	void (*cancel)(void *st);
};

/* ---- dialogue ---- */

enum dlg_act {
	DLG_TOKEN,      /* the reply's first token arrived (timing only) */
	DLG_SAY,        /* text: a sentence-sized chunk to speak */
	DLG_DONE,       /* the reply is complete (after its DLG_SAYs) */
	DLG_END_CALL,   /* hang up once what was said has been played */
	DLG_TRANSFER,   /* text: where to (E.164 number or SIP URI) */
	DLG_DTMF,       /* text: digits to send */
	DLG_DNC,        /* the callee asked not to be called again */
	DLG_EVENT,      /* text: event type, data: JSON object or NULL */
	DLG_ERROR,      /* the provider failed; text: what (for the log) */
};

struct dlg_action {
	enum dlg_act act;
	const char *text;
	const char *data;
	int err;                   /* DLG_ERROR: errno-style cause */
	bool http;                 /* DLG_ERROR: an HTTP-level failure */
};

/** An action of the reply in progress. Several per turn. */
typedef void (dlg_action_h)(const struct dlg_action *a, void *arg);

struct dlg_ops {
	const char *name;
	/**
	 * agent: the whole runtime config of the agent (system_prompt,
	 * scenario, llm, tools, ...). vars: an object of template
	 * variables (contact fields, name, email, phone, ...) or NULL.
	 */
	int (*alloc)(void **stp, const struct agent_env *env,
		     const struct odict *agent, const struct odict *vars,
		     dlg_action_h *acth, void *arg);
	/** The agent's opening turn (its first message). */
	int (*start)(void *st);
	/** The caller said text (empty: heard something, understood nothing). */
	int (*user)(void *st, const char *text);
	/** The caller said nothing for the silence re-prompt time. */
	int (*silence)(void *st);
	/** A DTMF key from the caller. */
	int (*dtmf)(void *st, char digit);
	/**
	 * Barge-in: drop the reply in progress (no more actions for it).
	 * heard: the part of the reply that was actually played, so the
	 * history records what the caller heard.
	 */
	void (*cancel)(void *st, const char *heard);
	/** JSGF grammar of the answers expected now, or NULL. */
	const char *(*grammar)(void *st);
};

/* ---- text to speech ---- */

/**
 * Audio of one speak() request, in the order of the requests: pcm is a
 * mem reference handed to the handler (8 kHz mono), last marks the final
 * chunk of that request. err != 0: synthesis failed; pcm is NULL.
 */
typedef void (tts_audio_h)(int err, int16_t *pcm, size_t n, bool last,
			   uint32_t id, void *arg);

struct tts_ops {
	const char *name;
	/** cfg: the agent's "tts" object (may be NULL). */
	int (*alloc)(void **stp, const struct agent_env *env,
		     const struct odict *cfg, tts_audio_h *audioh, void *arg);
	/** Queue text; its audio comes back tagged with id. */
	int (*speak)(void *st, const char *text, uint32_t id);
	/** Drop everything queued or under way. */
	void (*cancel)(void *st);
};

/** Look up a provider by its config name; NULL when unknown. */
const struct stt_ops *stt_find(const char *name);
const struct dlg_ops *dlg_find(const char *name);
const struct tts_ops *tts_find(const char *name);

#endif
