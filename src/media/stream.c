/* stream.c - one call's RTP stream: sockets, lifetime, the receive path
 * and statistics.
 *
 * Symmetric RTP: we send to where the peer's packets come from, not to
 * the address in its SDP, because a peer behind NAT advertises a private
 * address it cannot be reached at. The first packet latches at once;
 * afterwards another source must send LATCH_PROBATION packets in sequence
 * before we move to it, so a stray or spoofed packet cannot steal the
 * call's audio. RTCP follows: port+1 of the latched address until the
 * peer's own reports tell us where its RTCP really comes from.
 *
 * Nothing here calls the user's handlers: telephone-events are queued
 * and reported on the next tick, so a handler may release the stream
 * without pulling a socket out from under its own receive callback.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <netinet/in.h>
#include <re.h>
#include "core/log.h"
#include "core/util.h"
#include "media/media_int.h"

enum {
	LATCH_PROBATION = 4,
	MAX_DROPOUT = 3000,      /* RFC 3550 A.1 */
	MAX_MISORDER = 100,
};

enum pt_kind { PT_UNKNOWN, PT_AUDIO, PT_TE };

static void destructor(void *arg)
{
	struct mstream *ms = arg;

	if (ms->started)
		media_stream_stop(ms->media, ms);

	mem_deref(ms->rtp);      /* sends an RTCP BYE if RTCP ran */
	mem_deref(ms->sdp);
	mem_deref(ms->pending);
	mem_deref(ms->jb);
	mem_deref(ms->telev);
	if (ms->dtmf_tx)
		dtmf_tx_free(ms->dtmf_tx);

	if (ms->media) {
		--ms->media->nstreams;
		mem_deref(ms->media);
	}
}

static enum pt_kind pt_kind(const struct mstream *ms, uint8_t pt)
{
	if (ms->te_pt >= 0 && pt == ms->te_pt)
		return PT_TE;

	if (mstream_pt_codec(ms, pt) != MEDIA_CODEC_NONE)
		return PT_AUDIO;

	return PT_UNKNOWN;
}

static void set_rtcp_peer(struct mstream *ms, const struct sa *peer)
{
	if (sa_cmp(&ms->rtcp_raddr, peer, SA_ALL))
		return;

	ms->rtcp_raddr = *peer;

	/* libre keeps one RTCP peer, set by rtcp_start() (which also
	 * restarts its 5 s report timer: only call it on a change) */
	if (ms->started)
		rtcp_start(ms->rtp, ms->cname, &ms->rtcp_raddr);
}

static void latch_to(struct mstream *ms, const struct sa *src)
{
	struct sa rtcp = *src;

	if (!sa_cmp(&ms->raddr, src, SA_ALL))
		log_debug("media: RTP latched to %J (was %J)", src, &ms->raddr);

	ms->raddr = *src;
	ms->latched = true;
	ms->cand_n = 0;

	if (ms->rtcp_latched && sa_cmp(&ms->rtcp_raddr, src, SA_ADDR))
		return;

	ms->rtcp_latched = false;
	sa_set_port(&rtcp, sa_port(src) + 1);
	set_rtcp_peer(ms, &rtcp);
}

/* true when the packet comes from the peer we talk to (after latching) */
static bool latch(struct mstream *ms, const struct sa *src,
		  const struct rtp_header *hdr)
{
	if (!ms->latched) {
		latch_to(ms, src);
		return true;
	}

	if (sa_cmp(src, &ms->raddr, SA_ALL)) {
		ms->cand_n = 0;
		return true;
	}

	if (ms->cand_n && sa_cmp(src, &ms->cand, SA_ALL) &&
	    hdr->seq == (uint16_t)(ms->cand_seq + 1)) {
		++ms->cand_n;
	}
	else {
		ms->cand = *src;
		ms->cand_n = 1;
	}
	ms->cand_seq = hdr->seq;

	if (ms->cand_n < LATCH_PROBATION)
		return false;

	latch_to(ms, src);
	return true;
}

static uint32_t seq_lost(const struct mstream *ms)
{
	int64_t expected, lost;

	if (!ms->seq_init)
		return 0;

	expected = (int64_t)ms->cycles + ms->max_seq - ms->base_seq + 1;
	lost = expected - ms->received;

	return lost > 0 ? (uint32_t)lost : 0;
}

static void seq_start(struct mstream *ms, const struct rtp_header *hdr)
{
	ms->seq_init = true;
	ms->rx_ssrc = hdr->ssrc;
	ms->base_seq = ms->max_seq = hdr->seq;
	ms->cycles = 0;
	ms->received = 0;
}

/* RFC 3550 A.1, without probation; telephone-events count too, as they
 * share the sequence space with audio */
static void seq_update(struct mstream *ms, const struct rtp_header *hdr)
{
	uint16_t udelta;

	if (!ms->seq_init) {
		seq_start(ms, hdr);
		goto out;
	}

	udelta = hdr->seq - ms->max_seq;
	if (udelta < MAX_DROPOUT) {
		if (hdr->seq < ms->max_seq)
			ms->cycles += 65536;
		ms->max_seq = hdr->seq;
	}
	else if (udelta <= 65536 - MAX_MISORDER) {
		/* the sender jumped: count what was lost so far, restart */
		ms->lost_prev += seq_lost(ms);
		seq_start(ms, hdr);
	}

 out:
	++ms->received;
}

/* RFC 3550 6.4.1 interarrival jitter, audio packets only */
static void jitter_update(struct mstream *ms, const struct rtp_header *hdr)
{
	uint32_t arrival = (uint32_t)(util_mono_us() * (MEDIA_SRATE / 1000)
				      / 1000);
	uint32_t transit = arrival - hdr->ts;
	int32_t d;

	if (!ms->transit_init) {
		ms->transit_init = true;
		ms->transit = transit;
		return;
	}

	d = (int32_t)(transit - ms->transit);
	ms->transit = transit;
	ms->jitter += (fabs((double)d) - ms->jitter) / 16.0;
}

/* a new SSRC: the peer restarted its stream (re-INVITE, transfer) */
static void new_source(struct mstream *ms)
{
	struct jbuf_stat js;

	ms->lost_prev += seq_lost(ms);
	ms->seq_init = false;
	ms->transit_init = false;

	if (!jbuf_stats(ms->jb, &js))
		ms->jb_late_prev += js.n_late + js.n_overflow;
	jbuf_flush(ms->jb);
	ms->jb_n = 0;
	mstream_rx_reset(ms);
}

static void te_recv(struct mstream *ms, const struct rtp_header *hdr,
		    struct mbuf *mb)
{
	const uint8_t *p = mbuf_buf(mb);
	bool end;
	int ev, digit, err;

	ms->te_seen = true;
	ms->teseq[ms->teseq_n++ % MEDIA_TESEQ] = hdr->seq;

	if (mbuf_get_left(mb) < 4)
		return;

	/* report a key press once, at its end; the end packet is sent
	 * three times and may be reordered: one report per timestamp */
	err = telev_recv(ms->telev, mb, &ev, &end);
	if (err == EALREADY && (p[1] & 0x80)) {
		/* telev ignores an end after an end: the next press lost
		 * all its start packets. The timestamp tells them apart */
		ev = p[0];
		end = true;
		err = 0;
	}
	if (err || !end)
		return;
	if (ms->te_have_ts && hdr->ts == ms->te_last_ts)
		return;

	ms->te_have_ts = true;
	ms->te_last_ts = hdr->ts;

	digit = telev_code2digit(ev);
	if (digit < 0 || ms->digitq_n >= MEDIA_DIGITQ)
		return;

	ms->digitq[ms->digitq_n++] = (char)digit;
}

static void audio_put(struct mstream *ms, const struct rtp_header *hdr,
		      struct mbuf *mb)
{
	size_t n = mbuf_get_left(mb);
	struct mbuf *frame;

	if (!n || n > MEDIA_MAX_PAYLOAD)
		return;

	/* the socket's buffer is reused: the jitter buffer owns a copy */
	frame = mbuf_alloc(n);
	if (!frame)
		return;

	(void)mbuf_write_mem(frame, mbuf_buf(mb), n);
	frame->pos = 0;

	/* late and duplicate packets are counted by jbuf; when full it
	 * drops its oldest frame, so the depth stays */
	if (!jbuf_put(ms->jb, hdr, frame) && ms->jb_n < ms->media->jbuf_max)
		++ms->jb_n;
	mem_deref(frame);

	ms->rx_started = true;
}

static void rtp_handler(const struct sa *src, const struct rtp_header *hdr,
			struct mbuf *mb, void *arg)
{
	struct mstream *ms = arg;
	enum pt_kind kind;

	if (!ms->started)
		return;

	kind = pt_kind(ms, hdr->pt);
	if (kind == PT_UNKNOWN)
		return;

	if (!latch(ms, src, hdr))
		return;

	if (ms->seq_init && hdr->ssrc != ms->rx_ssrc)
		new_source(ms);

	seq_update(ms, hdr);
	++ms->rx_packets;

	if (kind == PT_TE) {
		te_recv(ms, hdr, mb);
		return;
	}

	jitter_update(ms, hdr);
	audio_put(ms, hdr, mb);
}

static void rtcp_handler(const struct sa *src, struct rtcp_msg *msg,
			 void *arg)
{
	struct mstream *ms = arg;

	if (msg->hdr.pt == RTCP_SR || msg->hdr.pt == RTCP_RR)
		++ms->rtcp_rx;

	/* symmetric RTCP: reply where the peer's reports come from */
	if (ms->latched && !ms->rtcp_latched &&
	    sa_cmp(src, &ms->raddr, SA_ADDR)) {
		ms->rtcp_latched = true;
		set_rtcp_peer(ms, src);
	}
}

int mstream_alloc(struct mstream **msp, struct media *media,
		  mstream_rx_h *rxh, mstream_tx_h *txh, mstream_dtmf_h *dtmfh,
		  void *arg)
{
	struct mstream *ms;
	int err;

	if (!msp || !media)
		return EINVAL;

	ms = mem_zalloc(sizeof(*ms), destructor);
	if (!ms)
		return ENOMEM;

	ms->media = mem_ref(media);
	++media->nstreams;

	ms->rxh = rxh;
	ms->txh = txh;
	ms->dtmfh = dtmfh;
	ms->arg = arg;
	ms->pt = -1;
	ms->te_pt = -1;
	ms->ts = rand_u32();
	ms->tx_first = true;
	sa_init(&ms->raddr, AF_UNSPEC);
	sa_init(&ms->rtcp_raddr, AF_UNSPEC);
	(void)re_snprintf(ms->cname, sizeof(ms->cname), "%08x@parley",
			  rand_u32());

	err = rtp_listen(&ms->rtp, IPPROTO_UDP, &media->laddr,
			 media->port_min, media->port_max, true,
			 rtp_handler, rtcp_handler, ms);
	if (err)
		goto out;

	rtcp_set_srate(ms->rtp, MEDIA_SRATE, MEDIA_SRATE);

	/* libre's jbuf withholds frames while it holds <= min of them,
	 * even the one due now; it sorts, we keep the depth (play.c) */
	err = jbuf_alloc(&ms->jb, 0, media->jbuf_max);
	if (err)
		goto out;

	mstream_rx_reset(ms);

	err = telev_alloc(&ms->telev, MEDIA_PTIME);
	if (err)
		goto out;

	dtmf_det_init(&ms->dtmf_rx);

	err = mstream_sdp_init(ms);

 out:
	if (err)
		mem_deref(ms);
	else
		*msp = ms;

	return err;
}

int mstream_start(struct mstream *ms)
{
	if (!ms)
		return EINVAL;

	if (ms->started)
		return 0;

	if (ms->codec == MEDIA_CODEC_NONE)
		return EINVAL;   /* not negotiated yet */

	ms->started = true;

	if (sa_isset(&ms->rtcp_raddr, SA_ALL))
		rtcp_start(ms->rtp, ms->cname, &ms->rtcp_raddr);

	media_stream_start(ms->media, ms);

	return 0;
}

/* called by sdp.c with the addresses of a new remote description */
void mstream_set_remote(struct mstream *ms, const struct sa *rtp,
			const struct sa *rtcp)
{
	ms->raddr = *rtp;
	ms->latched = false;
	ms->rtcp_latched = false;
	ms->cand_n = 0;
	set_rtcp_peer(ms, rtcp);
}

void mstream_test_drop(struct mstream *ms, mstream_drop_h *droph, void *arg)
{
	if (!ms)
		return;

	ms->droph = droph;
	ms->drop_arg = arg;
}

enum media_codec mstream_codec(const struct mstream *ms)
{
	return ms ? ms->codec : MEDIA_CODEC_NONE;
}

int mstream_remote(const struct mstream *ms, struct sa *addr)
{
	if (!ms || !addr)
		return EINVAL;

	if (!sa_isset(&ms->raddr, SA_ALL))
		return ENOENT;

	*addr = ms->raddr;
	return 0;
}

int mstream_local(const struct mstream *ms, struct sa *addr)
{
	if (!ms || !addr)
		return EINVAL;

	*addr = *rtp_local(ms->rtp);
	return 0;
}

void mstream_stats(const struct mstream *ms, struct mstream_stats *st)
{
	struct jbuf_stat js;

	if (!st)
		return;

	memset(st, 0, sizeof(*st));
	if (!ms)
		return;

	st->tx_packets = ms->tx_packets;
	st->rx_packets = ms->rx_packets;
	st->rx_lost = ms->lost_prev + seq_lost(ms);
	st->rx_late = ms->rx_late + ms->jb_late_prev;
	if (!jbuf_stats(ms->jb, &js))
		st->rx_late += js.n_late + js.n_overflow;
	st->rx_missing_frames = ms->rx_missing;
	st->rtcp_rx = ms->rtcp_rx;
	st->jitter_ms = ms->jitter * 1000.0 / MEDIA_SRATE;
}
