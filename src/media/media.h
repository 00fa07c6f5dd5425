/* media.h - per-call audio over RTP: G.711 (PCMU/PCMA) at 20 ms, SDP
 * offer/answer, symmetric RTP, a jitter buffer, RTCP reports, RFC 4733
 * telephone-events and in-band DTMF detection.
 *
 * One struct media per process owns the single shared 20 ms tick that
 * clocks every stream (one timer per call cost twice the CPU at 500
 * calls in the probe). On each tick, for every started stream: one
 * received frame leaves the jitter buffer (decoded, or silence when
 * missing) and goes to the rx handler; the tx handler fills one frame,
 * which is encoded and sent. All handlers run on the loop thread and
 * must return quickly.
 */
#ifndef PARLEY_MEDIA_H
#define PARLEY_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mbuf;
struct sa;

enum {
	MEDIA_SRATE = 8000,
	MEDIA_PTIME = 20,                  /* ms */
	MEDIA_FRAME = 160,                 /* samples per frame */
};

enum media_codec { MEDIA_CODEC_NONE = 0, MEDIA_CODEC_PCMU, MEDIA_CODEC_PCMA };

enum dtmf_source { DTMF_RFC4733, DTMF_INBAND, DTMF_SIPINFO };

struct media_cfg {
	const char *local_ip;      /* where RTP sockets bind, e.g. "127.0.0.1" */
	const char *public_ip;     /* advertised in SDP (NAT); NULL: local_ip */
	uint16_t port_min, port_max;   /* RTP port range (even ports) */
	uint32_t jbuf_min, jbuf_max;   /* jitter buffer depth, frames */
};

struct media;
struct mstream;

/** A received 20 ms frame (MEDIA_FRAME samples). */
typedef void (mstream_rx_h)(const int16_t *frame, void *arg);
/**
 * Fill the next outgoing frame (MEDIA_FRAME samples). Return false when
 * there is nothing to say: silence is sent then (RTP keeps flowing).
 */
typedef bool (mstream_tx_h)(int16_t *frame, void *arg);
/** A DTMF digit (0-9, *, #, A-D) received, once per key press. */
typedef void (mstream_dtmf_h)(char digit, enum dtmf_source src, void *arg);

/** The engine; starts the shared tick when the first stream starts. */
int media_alloc(struct media **mediap, const struct media_cfg *cfg);
unsigned media_nstreams(const struct media *media);

/** Tick health, for benchmarks: how late ticks ran (microseconds). */
struct media_tick_stats {
	uint64_t ticks;
	uint64_t late_max_us;      /* worst lateness of a tick */
	uint64_t late_total_us;
	uint64_t work_max_us;      /* longest time spent inside one tick */
};
void media_tick_stats(const struct media *media, struct media_tick_stats *st);

int mstream_alloc(struct mstream **msp, struct media *media,
		  mstream_rx_h *rxh, mstream_tx_h *txh, mstream_dtmf_h *dtmfh,
		  void *arg);

/** Our SDP offer (PCMU 0, PCMA 8, telephone-event 101). */
int mstream_offer(struct mstream *ms, struct mbuf **mbp);
/**
 * Answer a remote offer: choose the first codec of the offer we support,
 * matching by static payload number as well as by rtpmap name (peers may
 * send "0" without an rtpmap line). EPROTO when nothing in common (the
 * caller answers 488), EBADMSG for SDP that does not parse (400).
 */
int mstream_answer(struct mstream *ms, const struct mbuf *offer,
		   struct mbuf **mbp);
/** Take the remote answer to our offer. Same errors as mstream_answer. */
int mstream_set_answer(struct mstream *ms, const struct mbuf *answer);

/** Begin sending/receiving (after negotiation). Idempotent. */
int mstream_start(struct mstream *ms);

/**
 * Send a DTMF digit: RFC 4733 events when the peer accepted
 * telephone-event, else in-band tones. Digits queue up.
 */
int mstream_send_dtmf(struct mstream *ms, char digit);

/** Report a digit that arrived by SIP INFO through the same handler. */
void mstream_dtmf_info(struct mstream *ms, char digit);

enum media_codec mstream_codec(const struct mstream *ms);
/**
 * False while the last SDP exchange says we must not send (the peer holds
 * the call: its offer said sendonly or inactive). Nothing is sent then
 * and the tx handler is not asked, so what it plays resumes later.
 */
bool mstream_sending(const struct mstream *ms);
/** Where RTP goes now (after symmetric-RTP latching). */
int mstream_remote(const struct mstream *ms, struct sa *addr);
int mstream_local(const struct mstream *ms, struct sa *addr);

struct mstream_stats {
	uint32_t tx_packets, rx_packets;
	uint32_t rx_lost;           /* sequence gaps */
	uint32_t rx_late;           /* dropped by the jitter buffer */
	uint32_t rx_missing_frames; /* ticks with no frame to play */
	uint32_t rtcp_rx;           /* RTCP reports received */
	double jitter_ms;           /* interarrival jitter (RFC 3550) */
};
void mstream_stats(const struct mstream *ms, struct mstream_stats *st);

#endif
