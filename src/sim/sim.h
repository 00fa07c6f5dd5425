/* sim.h - scripted callers: a SIP user agent that answers calls (from
 * Parley, placed through a trunk pointing here) and plays a caller
 * script against the agent, measuring turn-taking from the audio.
 *
 * One struct sim is a SIP UDP listener plus one media engine (media.h,
 * so every call's RTP runs from one shared 20 ms tick); any number of
 * struct sim_caller wait on it for an INVITE, each with its own script
 * (scripts and their audio are shared read-only, so a benchmark builds
 * and synthesises one script and starts N callers on it). Everything
 * runs on the libre loop thread.
 *
 * The script (script.h has the format) runs like this, on the media tick:
 *
 * - An utterance, @wait and @dtmf wait for the floor: the agent has
 *   spoken since our last action (the answer, the end of our last line,
 *   the digits) and its audio has then been silent for turn_silence_ms;
 *   or it has not spoken at all for no_speech_ms after that action.
 *   After a @wait, the next step only waits while the agent is in a turn
 *   (e.g. a re-prompt it began during the wait).
 * - @barge S TEXT waits for the agent's next turn (or the one in
 *   progress) and starts TEXT S seconds after that turn's audio began,
 *   even if the turn was shorter than that (no barge-in is measured
 *   then); after no_speech_ms without any agent audio it speaks anyway.
 * - @hangup hangs up at once; @expect-hangup waits for the agent's BYE.
 * - A transfer (REFER) from the agent is accepted and reported as
 *   succeeded at once, as by a phone whose target answered; the agent
 *   then hangs up as after a real transfer.
 * - At the end of the script the caller waits for the floor once more
 *   (the agent's last turn), then hangs up.
 *
 * Measurements, all from the frames received and sent on the tick, in
 * ms from the answer (tick 0 is the first tick after our 200 OK; what
 * the agent says reaches us through the jitter buffer, as it would a
 * real caller):
 * - agent audio: a received frame above SIM_AGENT_DBFS (Parley sends
 *   digital silence when it is not speaking);
 * - turns: agent audio, from its first frame to its last, separated by
 *   at least turn_silence_ms of silence;
 * - per line, latency: from our last sample to the first agent audio
 *   frame after it (-1 when the agent said nothing before our next line
 *   or the end);
 * - per @barge, reaction: from our speech onset to the first silent frame
 *   after which the agent stays silent >= SIM_BARGE_QUIET_MS (-1 when the
 *   agent was not speaking when we began, or never stopped).
 */
#ifndef PARLEY_SIM_H
#define PARLEY_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "media/media.h"

struct re_printf;
struct script;
struct sim;
struct sim_caller;

enum {
	SIM_AGENT_DBFS = -55,          /* agent audio above this level */
	SIM_BARGE_QUIET_MS = 200,
	SIM_TURN_SILENCE_MS = 800,     /* defaults of struct sim_opts */
	SIM_NO_SPEECH_MS = 4000,
	SIM_TIMEOUT_MS = 120000,
	SIM_INVITE_TIMEOUT_MS = 15000,
};

struct sim_cfg {
	const char *sip_listen;   /* SIP over UDP; NULL: "127.0.0.1:0", a
				   * free port (sim_port() says which) */
	const char *rtp_ip;       /* NULL: the SIP listener's address */
	uint16_t rtp_port_min;    /* 0: 30000 to 40000 */
	uint16_t rtp_port_max;
};

/** A listener and media engine for callers. Release with mem_deref()
 * once no caller is left (callers hold a reference to it). */
int sim_alloc(struct sim **simp, const struct sim_cfg *cfg);
/** The UDP port INVITEs go to (e.g. for a trunk "sip:127.0.0.1:PORT"). */
uint16_t sim_port(const struct sim *sim);
/** The shared media engine (media_tick_stats() for benchmarks). */
struct media *sim_media(const struct sim *sim);
/** Callers that have not finished yet. */
unsigned sim_pending(const struct sim *sim);

enum sim_outcome {
	SIM_PENDING = 0,      /* still running */
	SIM_COMPLETED,        /* the script ran to its end */
	SIM_AGENT_HANGUP,     /* the agent hung up before the end */
	SIM_TIMEOUT,          /* timeout_ms passed before the end */
	SIM_NO_CALL,          /* no INVITE came, or it was cancelled */
	SIM_ERROR,            /* SIP or media failure (see error) */
	SIM_INTERRUPTED,      /* sim_caller_hangup() */
};

const char *sim_outcome_name(enum sim_outcome oc);

struct sim_opts {
	const char *user;           /* answer only INVITEs whose Request-URI
				     * user is this; NULL: any (first come) */
	const char *record;         /* stereo WAV (left: received, right:
				     * sent); NULL: none */
	uint32_t turn_silence_ms;   /* 0: SIM_TURN_SILENCE_MS */
	uint32_t no_speech_ms;      /* 0: SIM_NO_SPEECH_MS */
	uint32_t timeout_ms;        /* whole call, counted from
				     * sim_caller_alloc; 0: SIM_TIMEOUT_MS */
	uint32_t invite_timeout_ms; /* 0: SIM_INVITE_TIMEOUT_MS */
	uint32_t ring_ms;           /* 180 Ringing before 200 OK; 0: none */
};

/** One agent turn. */
struct sim_turn {
	uint32_t start_ms, end_ms;
	bool barged;                /* a @barge began while it spoke */
};

/** One of our utterances (an utterance or a @barge). */
struct sim_line {
	size_t step;                /* index in the script */
	unsigned line;              /* line in the script file */
	bool barge;
	uint32_t start_ms, end_ms;  /* end_ms 0 while still speaking */
	int32_t latency_ms;         /* -1: no agent audio after it */
	int32_t barge_ms;           /* @barge reaction, -1: none */
	int32_t barge_after_ms;     /* @barge: began this long after the
				     * agent's turn began; -1: no turn */
};

/** What a caller saw. Arrays belong to the caller and stay valid (and
 * may grow while it runs) until it is released. */
struct sim_result {
	bool answered;
	enum sim_outcome outcome;
	const char *hangup_by;      /* "caller" (us), "agent" or NULL */
	char error[160];            /* why, when not completed */
	char sip_call_id[128];      /* of the INVITE answered */
	size_t steps_done, steps;
	uint32_t duration_ms;       /* answer to end */
	struct sim_turn *turns;
	size_t nturns;
	struct sim_line *lines;
	size_t nlines;
	char dtmf_rx[64];           /* digits the agent sent */
	char transfer_to[128];      /* Refer-To of a transfer (taken as
				     * successful: 202, NOTIFY 200) */
	struct mstream_stats rtp;   /* at the end of the call */
};

/** Called once when a caller has finished (from a timer, never inside
 * SIP or media handlers: it may release the caller). */
typedef void (sim_done_h)(struct sim_caller *caller, void *arg);

/**
 * A caller waiting for an INVITE on sim, to play script sc (referenced;
 * script_synth() must have run). opts may be NULL (defaults). The
 * recording, when asked for, is created now (errors: errno of open).
 * Releasing a caller that is still in a call hangs up.
 */
int sim_caller_alloc(struct sim_caller **callerp, struct sim *sim,
		     struct script *sc, const struct sim_opts *opts,
		     sim_done_h *doneh, void *arg);
/** End the call now (outcome SIM_INTERRUPTED unless already over). */
void sim_caller_hangup(struct sim_caller *caller);
const struct sim_result *sim_caller_result(const struct sim_caller *caller);

/**
 * The result as JSON object members, without braces: "answered",
 * "outcome", "hangup_by", "error", "duration_ms", "steps_done",
 * "steps", "turns" [{start_ms, end_ms, barged}], "lines" [{line, text,
 * barge, start_ms, end_ms, latency_ms, barge_ms}], "latencies_ms" (one
 * per line, null for none), "barge_ins_ms" (one per @barge, null for
 * none), "dtmf_received", "transfer_to", "rtp". sc gives the texts
 * (may be NULL).
 */
int sim_result_json(struct re_printf *pf, const struct sim_result *r,
		    const struct script *sc);

#endif
