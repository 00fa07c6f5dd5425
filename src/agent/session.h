/* session.h - the voice agent of one call: listens, understands, answers
 * and speaks, with turn-taking.
 *
 * States: LISTENING (nobody speaks), USER (the caller speaks: audio goes
 * to the STT provider), THINKING (the caller's turn ended: transcript,
 * dialogue and synthesis under way), SPEAKING (the agent's audio plays),
 * ENDED. The caller's turn ends after turn.min_silence_ms of silence, or
 * up to turn.max_silence_ms when the words so far say more is coming
 * ("and", "so", "um"). Caller speech while the agent speaks pauses the
 * agent at once; if it lasts turn.barge_in_min_ms it is a barge-in (the
 * reply is dropped, the pending dialogue and synthesis cancelled, a new
 * caller turn begins), else (a backchannel, a cough) the agent resumes
 * where it paused. One-way notifications and the voicemail message are
 * spoken without interruption.
 *
 * Clocked by the call's media tick: session_rx() once per received 20 ms
 * frame (the call timeline: offsets are counted in frames from answer),
 * session_tx() for each frame to send. Loop thread only. Providers are
 * chosen from the agent's runtime config (provider.h).
 */
#ifndef PARLEY_AGENT_SESSION_H
#define PARLEY_AGENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent_env;
struct odict;
struct session;

/** One finished turn, for the transcript. */
struct session_turn {
	unsigned turn;             /* 1, 2, ... */
	const char *speaker;       /* "user" or "agent" */
	const char *text;
	uint64_t start_ms, end_ms; /* offsets in the call (from answer) */
	bool interrupted;          /* agent turn cut off by a barge-in */
	const char *timings_json;  /* agent turns: what the reply took */
};

/** What the session asks of its call. Loop thread. */
struct session_io {
	/** End the call now (after the last audio was sent). */
	void (*hangup)(void *arg, const char *cause);
	/** Blind transfer to a number or SIP URI. */
	int (*transfer)(void *arg, const char *to);
	int (*dtmf)(void *arg, const char *digits);
	/** A call event (type, JSON object or NULL). */
	void (*event)(void *arg, const char *type, const char *data_json);
	void (*turn)(void *arg, const struct session_turn *t);
	/** The callee asked not to be called again. */
	void (*dnc)(void *arg);
};

struct session_opts {
	bool outbound;
	/**
	 * A one-way message instead of a conversation: say this
	 * (templated) without interruption, then hang up.
	 */
	const char *say_only;
	/** say_only is a notification: notification_delivered follows. */
	bool notification;
	/**
	 * Hold the agent's opening until session_release() (while an
	 * answering-machine detector listens): what the callee says
	 * meanwhile is still heard and transcribed.
	 */
	bool hold;
	/** Said first without interruption (a recording announcement). */
	const char *preamble;
	/**
	 * The agent's opening is taken as said (not spoken): the first
	 * caller utterance answers it. For the voice pipeline.
	 */
	bool opening_said;
};

/**
 * agent: the agent's runtime config (copied out as needed); vars: the
 * template variables (contact fields) or NULL. Fails with ENOENT naming
 * no provider when the config asks for an unknown one (then the call
 * falls back to the default providers and an event says so).
 */
int session_alloc(struct session **sp, const struct agent_env *env,
		  const struct odict *agent, const struct odict *vars,
		  const struct session_opts *opts,
		  const struct session_io *io, void *arg);

/** The call was answered: the conversation begins. */
void session_start(struct session *s);
/** One received 20 ms frame (MEDIA_FRAME samples), every tick. */
void session_rx(struct session *s, const int16_t *frame, size_t n);
/** Fill the next frame to send; false: nothing to say (silence). */
bool session_tx(struct session *s, int16_t *frame, size_t n);
void session_dtmf(struct session *s, char digit);
/** The call ends: pending work is dropped, the last turn written. */
void session_stop(struct session *s);

/** Say text now without interruption (voicemail drop, announcements). */
int session_say(struct session *s, const char *text, bool then_hangup);

/** The opening may go ahead (a human answered). */
void session_release(struct session *s);

/**
 * Leave a message (a voicemail after its beep): said without
 * interruption, then notification_delivered and hang-up.
 */
int session_leave_message(struct session *s, const char *text);

/** Where the session is, for tests and metrics. */
const char *session_state(const struct session *s);

#endif
