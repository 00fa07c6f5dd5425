/* play.c - one 20 ms tick of a stream, and DTMF in and out.
 *
 * Receive: libre's jbuf (1.1.0) sorts packets by sequence number and
 * drops duplicates, but its "min" withholds every frame while it holds
 * <= min of them - after a loss even the frame due now - and it hands
 * over whatever comes next, so a lost packet pulls the rest of the audio
 * 20 ms early. So we run it with min 0 and keep the playout policy here:
 * - start playing once jbuf_min + 1 frames are buffered (the cushion);
 * - a hole in the sequence gets a concealed frame (conceal.c) in its
 *   slot, unless more than the cushion is buffered (then skipping the
 *   hole takes back latency); slots used by telephone-events (same
 *   sequence space) are skipped, not concealed;
 * - nothing buffered: conceal, and play the late packet when it comes
 *   (latency grows to fit the network's jitter);
 * - when the depth never fell to the cushion for DEPTH_WINDOW ticks,
 *   drop one frame (latency shrinks back after a jitter spike).
 * Decoded audio passes a small FIFO, so 10 or 30 ms packets still give
 * 20 ms frames.
 *
 * Every user handler runs from here, on the tick. The tick holds a
 * reference to the stream; when a handler released the owner's reference
 * (mem_nrefs drops to 1) we stop calling into the owner at once.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "media/media_int.h"

enum {
	MAX_CONCEAL = 8,         /* bigger holes: the sender jumped, resync */
	DEPTH_WINDOW = 100,      /* ticks (2 s) */
	DTMF_ON_MS = 80,         /* in-band tones we send */
	DTMF_OFF_MS = 80,
};

static bool alive(const struct mstream *ms)
{
	return mem_nrefs(ms) > 1;
}

enum media_codec mstream_pt_codec(const struct mstream *ms, uint8_t pt)
{
	if (ms->pt >= 0 && pt == ms->pt)
		return ms->codec;
	if (pt == 0)
		return MEDIA_CODEC_PCMU;
	if (pt == 8)
		return MEDIA_CODEC_PCMA;

	return MEDIA_CODEC_NONE;
}

void mstream_rx_reset(struct mstream *ms)
{
	ms->pending = mem_deref(ms->pending);
	ms->playing = false;
	ms->play_init = false;
	ms->teseq_n = 0;
	ms->depth_ticks = 0;
	ms->depth_min = UINT32_MAX;
}

static bool te_slot(const struct mstream *ms, uint16_t seq)
{
	unsigned i, n = ms->teseq_n < MEDIA_TESEQ ? ms->teseq_n : MEDIA_TESEQ;

	for (i = 0; i < n; i++) {
		if (ms->teseq[i] == seq)
			return true;
	}

	return false;
}

/* the pending packet -> FIFO */
static void decode_pending(struct mstream *ms)
{
	enum media_codec codec = mstream_pt_codec(ms, ms->phdr.pt);
	const uint8_t *p = mbuf_buf(ms->pending);
	size_t i, n = mbuf_get_left(ms->pending);
	int16_t *out = ms->fifo + ms->fifo_n;

	for (i = 0; i < n; i++) {
		out[i] = codec == MEDIA_CODEC_PCMA ? alaw_to_linear(p[i])
						   : ulaw_to_linear(p[i]);
	}

	conceal_good(&ms->plc, out, n);   /* history; smooths the seam */

	ms->fifo_n += n;
	ms->last_samples = n;
	ms->play_seq = ms->phdr.seq + 1;
	ms->play_init = true;
	ms->pending = mem_deref(ms->pending);
}

static bool jb_get(struct mstream *ms)
{
	void *mem = NULL;

	if (jbuf_get(ms->jb, &ms->phdr, &mem))
		return false;

	--ms->jb_n;
	ms->pending = mem;
	return true;
}

/* fill the FIFO up to one frame, from the jitter buffer */
static void fill(struct mstream *ms)
{
	if (!ms->playing) {
		if (ms->jb_n <= ms->media->jbuf_min)
			return;
		ms->playing = true;
	}

	while (ms->fifo_n < MEDIA_FRAME) {
		int16_t gap;

		if (!ms->pending && !jb_get(ms))
			break;

		if (!ms->play_init) {
			decode_pending(ms);
			continue;
		}

		gap = (int16_t)(ms->phdr.seq - ms->play_seq);
		if (gap < 0) {
			/* its slot was concealed already */
			++ms->rx_late;
			ms->pending = mem_deref(ms->pending);
			continue;
		}

		if (gap == 0 || gap > MAX_CONCEAL ||
		    ms->jb_n > ms->media->jbuf_min) {
			decode_pending(ms);
			continue;
		}

		if (!te_slot(ms, ms->play_seq)) {
			conceal_fill(&ms->plc, ms->fifo + ms->fifo_n,
				     ms->last_samples);
			ms->fifo_n += ms->last_samples;
		}
		++ms->play_seq;
	}
}

/* latency shrinks back when the buffer stayed deeper than the cushion */
static void depth_check(struct mstream *ms)
{
	if (ms->jb_n < ms->depth_min)
		ms->depth_min = ms->jb_n;

	if (++ms->depth_ticks < DEPTH_WINDOW)
		return;

	if (ms->depth_min > ms->media->jbuf_min && !ms->pending &&
	    jb_get(ms)) {
		++ms->rx_late;
		ms->play_seq = ms->phdr.seq + 1;
		ms->pending = mem_deref(ms->pending);
	}

	ms->depth_ticks = 0;
	ms->depth_min = UINT32_MAX;
}

static void inband_h(char digit, void *arg)
{
	struct mstream *ms = arg;

	if (ms->dtmfh && alive(ms))
		ms->dtmfh(digit, DTMF_INBAND, ms->arg);
}

static void rx_tick(struct mstream *ms)
{
	int16_t frame[MEDIA_FRAME];

	fill(ms);
	if (ms->playing)
		depth_check(ms);

	if (ms->fifo_n >= MEDIA_FRAME) {
		memcpy(frame, ms->fifo, sizeof(frame));
		ms->fifo_n -= MEDIA_FRAME;
		memmove(ms->fifo, ms->fifo + MEDIA_FRAME,
			ms->fifo_n * sizeof(ms->fifo[0]));
	}
	else if (!ms->rx_started) {
		return;
	}
	else {
		/* nothing in time: what we have, then concealment, which
		 * fades to silence within a few frames */
		size_t have = ms->fifo_n;

		memcpy(frame, ms->fifo, have * sizeof(frame[0]));
		if (ms->play_init)
			conceal_fill(&ms->plc, frame + have,
				     MEDIA_FRAME - have);
		else
			memset(frame + have, 0,
			       (MEDIA_FRAME - have) * sizeof(frame[0]));
		ms->fifo_n = 0;
		++ms->rx_missing;
	}

	/* in-band detection until the peer shows it sends RFC 4733 */
	if (!ms->te_seen)
		dtmf_det_process(&ms->dtmf_rx, frame, MEDIA_FRAME,
				 inband_h, ms);

	if (ms->rxh && alive(ms))
		ms->rxh(frame, ms->arg);
}

static void report_digits(struct mstream *ms)
{
	char q[MEDIA_DIGITQ];
	unsigned i, n = ms->digitq_n;

	memcpy(q, ms->digitq, n);
	ms->digitq_n = 0;

	for (i = 0; i < n && ms->dtmfh && alive(ms); i++)
		ms->dtmfh(q[i], DTMF_RFC4733, ms->arg);
}

static void send_rtp(struct mstream *ms, bool marker, int pt, uint32_t ts,
		     struct mbuf *mb)
{
	if (!sa_isset(&ms->raddr, SA_ALL))
		return;

	mb->pos = RTP_HEADER_SIZE;

	if (ms->droph && ms->droph(ms->drop_arg)) {
		/* use up the sequence number, as a lost packet would */
		mb->pos = 0;
		(void)rtp_encode(ms->rtp, false, marker, (uint8_t)pt, ts, mb);
		return;
	}

	if (!rtp_send(ms->rtp, &ms->raddr, false, marker, (uint8_t)pt, ts,
		      mb))
		++ms->tx_packets;
}

static void encode(enum media_codec codec, const int16_t *pcm,
		   struct mbuf *mb)
{
	uint8_t *p = mbuf_buf(mb);
	size_t i;

	for (i = 0; i < MEDIA_FRAME; i++) {
		p[i] = codec == MEDIA_CODEC_PCMA ? linear_to_alaw(pcm[i])
						 : linear_to_ulaw(pcm[i]);
	}

	mb->end = mb->pos + MEDIA_FRAME;
}

static void tx_tick(struct mstream *ms)
{
	int16_t pcm[MEDIA_FRAME];
	bool marker = false;
	struct mbuf *mb;
	int k;

	/* on hold (the peer's SDP says sendonly or inactive) nothing is
	 * sent, and what we were saying waits for the resume, which starts
	 * a talkspurt (marker: the timestamp jumped) */
	if (!mstream_sending(ms)) {
		ms->tx_first = true;
		mb = NULL;
		goto out;
	}

	mb = mbuf_alloc(RTP_HEADER_SIZE + MEDIA_FRAME);
	if (!mb)
		goto out;

	mb->pos = mb->end = RTP_HEADER_SIZE;

	/* RFC 4733 events replace audio while a key is sent; they keep the
	 * timestamp of the key press and grow in duration */
	if (ms->te_pt >= 0 && !telev_poll(ms->telev, &marker, mb)) {
		if (marker)
			ms->te_ts = ms->ts;
		send_rtp(ms, marker, ms->te_pt, ms->te_ts, mb);
		goto out;
	}

	k = ms->dtmf_tx ? dtmf_tx(ms->dtmf_tx, pcm, MEDIA_FRAME) : 0;
	if (k > 0) {
		memset(pcm + k, 0, (size_t)(MEDIA_FRAME - k) * sizeof(pcm[0]));
	}
	else if (!ms->txh || !ms->txh(pcm, ms->arg)) {
		memset(pcm, 0, sizeof(pcm));
	}

	if (!alive(ms))
		goto out;

	if (mbuf_get_space(mb) < MEDIA_FRAME)
		goto out;

	encode(ms->codec, pcm, mb);
	send_rtp(ms, ms->tx_first, ms->pt, ms->ts, mb);
	ms->tx_first = false;

 out:
	mem_deref(mb);
	ms->ts += MEDIA_FRAME;
}

void mstream_tick(struct mstream *ms)
{
	report_digits(ms);
	if (!alive(ms))
		return;

	rx_tick(ms);
	if (!alive(ms))
		return;

	tx_tick(ms);
}

int mstream_send_dtmf(struct mstream *ms, char digit)
{
	int code, err;
	char d;

	if (!ms)
		return EINVAL;

	code = telev_digit2code(digit);
	if (code < 0)
		return EINVAL;

	if (ms->te_pt >= 0) {
		/* press and release: telev sends the start packets, then
		 * the end packets three times */
		err = telev_send(ms->telev, code, false);
		if (!err)
			err = telev_send(ms->telev, code, true);
		return err;
	}

	if (!ms->dtmf_tx) {
		ms->dtmf_tx = dtmf_tx_init(NULL);
		if (!ms->dtmf_tx)
			return ENOMEM;
		dtmf_tx_set_timing(ms->dtmf_tx, DTMF_ON_MS, DTMF_OFF_MS);
	}

	d = (char)telev_code2digit(code);   /* upper case A-D */

	/* spandsp 0.0.6 returns how many digits did NOT fit */
	return dtmf_tx_put(ms->dtmf_tx, &d, 1) ? EOVERFLOW : 0;
}

void mstream_dtmf_info(struct mstream *ms, char digit)
{
	int code;

	if (!ms || !ms->dtmfh)
		return;

	code = telev_digit2code(digit);
	if (code < 0)
		return;

	ms->dtmfh((char)telev_code2digit(code), DTMF_SIPINFO, ms->arg);
}
