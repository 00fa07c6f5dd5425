/* tel_int.h - telephony internals shared by tel.c, inbound.c, call.c and
 * outbound.c. Loop thread only, except where a comment says otherwise. */
#ifndef PARLEY_TEL_INT_H
#define PARLEY_TEL_INT_H

#include <re.h>
#include "media/media.h"
#include "tel/tel.h"

struct amd;
struct amd_params;
struct callrec;
struct mstream;
struct wav_writer;

struct tel {
	const struct config *cfg;
	struct pool *pool;
	struct media *media;
	struct metrics *metrics;
	struct rtcfg_cache *rtcfg;
	struct dnsc *dnsc;
	struct sip *sip;
	struct tls *tls;
	struct sipsess_sock *sock;
	struct sipevent_sock *evsock;
	struct sip_lsnr *lsnr;       /* OPTIONS and stray requests */
	struct list calls;           /* struct call, live */
	struct list ending;          /* struct call, ended, freed soon */
	struct list pending;         /* INVITEs being routed (struct inv) */
	struct list pings;           /* OPTIONS trunk checks under way */
	uint8_t nonce_key[32];       /* digest nonces are HMACs of time */
	struct agent_env *env;       /* speech and dialogue providers */
	char *contact;               /* Contact user, or a URI with the
				      * public address behind NAT */
	bool shutting_down;
	unsigned mp3_pending;        /* recordings being encoded */
	tel_end_h *endh;             /* call ends, for the dialer */
	void *end_arg;
};

enum call_state { CALL_INIT, CALL_RINGING, CALL_ANSWERED, CALL_ENDED };

struct call {
	struct le le;
	struct tel *tel;
	struct callrec *rec;
	struct sipsess *sess;
	struct mstream *ms;
	struct sipsub *refer;
	struct wav_writer *wav;      /* the recording (stereo) */
	char *rec_path;
	bool record;                 /* the agent records its calls */
	/* answering-machine detection (outbound, when the agent asks) */
	struct amd *amd;
	struct amd_params *amd_params;
	char *vm_message;            /* left after the beep; NULL: hang up */
	bool unsure_is_machine;
	bool amd_decided;
	bool amd_machine;            /* a machine answered */
	/* both sides of a tick meet here: the caller's frame (rx) waits
	 * for ours (tx) of the same tick */
	int16_t rec_rx[MEDIA_FRAME];
	bool rec_rx_pending;
	int16_t rec_prev[MEDIA_FRAME];    /* ours, written a tick later */
	bool rec_started;
	int16_t *rec_buf;            /* stereo frames not written yet */
	size_t rec_fill;
	struct session *agent;       /* the voice agent */
	struct tmr tmr_ring, tmr_maxdur, tmr_hangup;
	struct tmr tmr_rtp;          /* RTP inactivity check (rtp.timeout) */
	uint32_t rx_seen;            /* RTP+RTCP packets at the last check */
	uint64_t rx_at;              /* when that count last grew (jiffies) */
	enum call_state state;
	bool outbound;
	bool closing;
	int64_t tenant_id, agent_id;
	uint32_t max_duration_s;
	char *peer_number;           /* the caller, or who we call */
	char *peer_domain;           /* its SIP host[:port] */
	int64_t campaign_id;
	int64_t task_id;
	uint64_t answered_at;        /* jiffies */
	bool dnc;                    /* the callee asked not to be called */
	char *end_cause;             /* why the agent hangs up */
	uint16_t final_scode;
	bool cancelled_by_timeout;
	bool was_answered;
	bool responded;              /* outbound: any reply to our INVITE */
	bool early_media;            /* outbound: a 18x brought SDP */
	bool refer_done;             /* the transfer attempt has ended */
};

/* call.c */
int call_alloc(struct call **callp, struct tel *tel, int64_t tenant_id,
	       int64_t call_id, bool outbound);
/**
 * Set up the voice agent and limits from the agent's runtime config
 * JSON; vars_json: template variables (contact fields) or NULL;
 * say_instead: a one-way message spoken instead of a conversation.
 * notification: say_instead is a notification (notification_delivered)
 * rather than an out-of-hours message.
 */
void call_configure(struct call *call, const char *agent_json,
		    const char *vars_json, const char *say_instead,
		    bool notification);
void call_answered(struct call *call);
/** End the call: BYE/CANCEL as needed, write the outcome, free later. */
void call_end(struct call *call, const char *hangup_by, const char *cause,
	      const char *outcome, uint16_t scode);
struct call *call_find(struct tel *tel, int64_t tenant_id, int64_t call_id);
void call_event(struct call *call, const char *type, const char *fmt, ...);

/* handlers shared by inbound and outbound sessions */
int  call_offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg);
int  call_answer_h(const struct sip_msg *msg, void *arg);
void call_estab_h(const struct sip_msg *msg, void *arg);
void call_info_h(struct sip *sip, const struct sip_msg *msg, void *arg);
void call_refer_h(struct sip *sip, const struct sip_msg *msg, void *arg);
void call_close_h(int err, const struct sip_msg *msg, void *arg);

/* inbound.c */
void inbound_invite(struct tel *tel, const struct sip_msg *msg);

/** The outcome of a call attempt from its final SIP code or error. */
const char *tel_outcome(uint16_t scode, int err, bool ring_timeout);

#endif
