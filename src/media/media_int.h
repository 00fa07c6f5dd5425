/* media_int.h - what the media module's files share: the engine and the
 * stream structs, and the per-file entry points the shared tick calls.
 * Only src/media/ includes this (and its unit test, for the loss hook).
 *
 * Files: media.c (engine, shared tick), stream.c (lifetime, sockets,
 * symmetric RTP, receive path, stats), sdp.c (offer/answer), play.c (one
 * tick of a stream: jitter buffer -> decode -> rx handler, tx handler ->
 * encode -> send, DTMF both ways), conceal.c (packet loss concealment),
 * dtmf.c (in-band DTMF detection).
 */
#ifndef PARLEY_MEDIA_INT_H
#define PARLEY_MEDIA_INT_H

#include <re.h>
#include <spandsp.h>
#include "media/media.h"

enum {
	MEDIA_PTIME_US = MEDIA_PTIME * 1000,
	MEDIA_MAX_PAYLOAD = MEDIA_FRAME * 3,   /* 60 ms of G.711 */
	MEDIA_RX_FIFO = MEDIA_FRAME + MEDIA_MAX_PAYLOAD,
	MEDIA_DIGITQ = 32,
	MEDIA_TESEQ = 64,        /* remembered telephone-event seq numbers */
	CONCEAL_PITCH_MAX = 160, /* 50 Hz */
	CONCEAL_HIST = 2 * CONCEAL_PITCH_MAX,
	DTMF_DET_BLOCK = 102,
};

/* in-band DTMF detector state (dtmf.c) */
struct dtmf_det {
	double coef[8];
	int16_t buf[DTMF_DET_BLOCK];
	size_t n;
	char last, cur;          /* digit in the last block, reported */
};

typedef void (dtmf_det_h)(char digit, void *arg);

/* packet loss concealment state (conceal.c) */
struct conceal {
	int16_t hist[CONCEAL_HIST];  /* the latest audio played */
	unsigned pitch, pos;
	unsigned missing;        /* samples synthesised since real audio */
};

struct media {
	struct sa laddr;         /* RTP sockets bind here */
	struct sa paddr;         /* advertised in SDP */
	uint16_t port_min, port_max;
	uint32_t jbuf_min, jbuf_max;
	unsigned nstreams;       /* allocated streams */
	struct list streams;     /* started streams, clocked by the tick */
	struct tmr tmr;
	uint64_t t0_us;          /* tick n is due at t0_us + n * 20 ms */
	uint64_t n;
	struct media_tick_stats stats;
};

/**
 * Test hook: return true to drop (not send) the next outgoing RTP packet.
 * Its sequence number is still used up, so the receiver sees real loss.
 */
typedef bool (mstream_drop_h)(void *arg);

struct mstream {
	struct le le;            /* in media->streams while started */
	struct media *media;     /* a reference: the engine outlives us */
	struct rtp_sock *rtp;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;  /* owned by sdp */
	struct jbuf *jb;
	struct telev *telev;
	struct dtmf_det dtmf_rx;
	dtmf_tx_state_t *dtmf_tx;    /* allocated on first in-band digit */
	struct conceal plc;
	mstream_rx_h *rxh;
	mstream_tx_h *txh;
	mstream_dtmf_h *dtmfh;
	void *arg;
	char cname[24];

	/* negotiated */
	enum media_codec codec;
	int pt;                  /* audio payload type we send */
	int te_pt;               /* telephone-event payload type, -1: none */
	bool started;

	/* where we send: from SDP, then latched to the packets' source */
	struct sa raddr;
	struct sa rtcp_raddr;
	bool latched;
	bool rtcp_latched;
	struct sa cand;          /* another source on probation */
	unsigned cand_n;
	uint16_t cand_seq;

	/* tx */
	uint32_t ts;
	uint32_t te_ts;          /* timestamp of the event being sent */
	bool tx_first;
	mstream_drop_h *droph;
	void *drop_arg;

	/* rx: source and RFC 3550 sequence/jitter bookkeeping */
	bool rx_started;         /* first audio packet seen */
	uint32_t rx_ssrc;
	bool seq_init;
	uint16_t max_seq;
	uint32_t base_seq, cycles, received;
	uint32_t lost_prev;      /* losses counted before an SSRC change */
	bool transit_init;
	uint32_t transit;
	double jitter;           /* in timestamp units (1/8000 s) */

	/* rx: playout */
	uint32_t jb_n;           /* frames in the jitter buffer */
	bool playing;            /* the jitter buffer filled up once */
	uint32_t depth_min;      /* lowest depth in this window */
	unsigned depth_ticks;
	struct mbuf *pending;    /* next frame from the jitter buffer */
	struct rtp_header phdr;
	bool play_init;
	uint16_t play_seq;       /* sequence number due next */
	size_t last_samples;     /* size of the last played packet */
	unsigned nmissing;       /* consecutive ticks without audio */
	int16_t fifo[MEDIA_RX_FIFO];
	size_t fifo_n;
	uint16_t teseq[MEDIA_TESEQ];
	unsigned teseq_n;

	/* rx: DTMF */
	bool te_seen;            /* a telephone-event ever arrived */
	bool te_have_ts;
	uint32_t te_last_ts;     /* timestamp of the last reported event */
	char digitq[MEDIA_DIGITQ];   /* RFC 4733 digits for the next tick */
	unsigned digitq_n;

	/* counters */
	uint32_t tx_packets, rx_packets, rx_late, rx_missing, rtcp_rx;
	uint32_t jb_late_prev;   /* jitter buffer drops before a flush */
};

/* media.c */
void media_stream_start(struct media *media, struct mstream *ms);
void media_stream_stop(struct media *media, struct mstream *ms);

/* sdp.c */
int mstream_sdp_init(struct mstream *ms);

/* play.c */
void mstream_tick(struct mstream *ms);
void mstream_rx_reset(struct mstream *ms);
enum media_codec mstream_pt_codec(const struct mstream *ms, uint8_t pt);

/* dtmf.c */
void dtmf_det_init(struct dtmf_det *d);
void dtmf_det_process(struct dtmf_det *d, const int16_t *x, size_t n,
		      dtmf_det_h *h, void *arg);

/* conceal.c */
void conceal_fill(struct conceal *c, int16_t *out, size_t n);
void conceal_good(struct conceal *c, int16_t *x, size_t n);

/* stream.c */
void mstream_set_remote(struct mstream *ms, const struct sa *rtp,
			const struct sa *rtcp);
void mstream_test_drop(struct mstream *ms, mstream_drop_h *droph, void *arg);

#endif
