/* test_media.c - the media engine over real sockets on 127.0.0.1: two
 * streams in one process and one libre loop talk to each other, and what
 * arrives is checked by signal measures (Goertzel, level), counts and
 * the DTMF digits reported. Timing-sensitive checks allow generous
 * margins; speed goals belong to benchmarks. */
#include <math.h>
#include <netinet/in.h>
#include <re.h>
#include "test.h"
#include "core/util.h"
#include "media/media.h"
#include "media/media_int.h"

enum { RX_MAX = MEDIA_SRATE * 8 };

struct peer {
	struct mstream *ms;
	double freq;             /* sine we send; 0: silence */
	uint64_t nsent;          /* samples generated */
	unsigned txframes;
	int16_t rx[RX_MAX];
	size_t rx_n;
	unsigned frames;         /* rx handler calls */
	char digits[64];
	enum dtmf_source srcs[64];
	unsigned ndigits;
	unsigned drop_every, drop_count, dropped;
	unsigned drop_from, drop_to; /* or packets from..to-1, from 0 */
	unsigned deref_after;    /* release own stream in the tx handler */
};

static struct peer pa, pb;
static struct tmr tmr_stop, tmr_cond;
static bool (*until)(void);

static const char sdp_head[] =
	"v=0\r\n"
	"o=- 1 1 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n";

static void rx_h(const int16_t *frame, void *arg)
{
	struct peer *p = arg;

	if (p->rx_n + MEDIA_FRAME <= RX_MAX) {
		memcpy(p->rx + p->rx_n, frame, MEDIA_FRAME * sizeof(*frame));
		p->rx_n += MEDIA_FRAME;
	}
	++p->frames;
}

static bool tx_h(int16_t *frame, void *arg)
{
	struct peer *p = arg;
	int i;

	++p->txframes;
	if (p->deref_after && p->txframes == p->deref_after) {
		p->ms = mem_deref(p->ms);
		return false;
	}

	if (p->freq <= 0)
		return false;

	for (i = 0; i < MEDIA_FRAME; i++, p->nsent++)
		frame[i] = (int16_t)(8000.0 * sin(2 * M_PI * p->freq *
						  (double)p->nsent /
						  MEDIA_SRATE));
	return true;
}

static void dtmf_h(char digit, enum dtmf_source src, void *arg)
{
	struct peer *p = arg;

	if (p->ndigits < sizeof(p->digits) - 1) {
		p->srcs[p->ndigits] = src;
		p->digits[p->ndigits++] = digit;
		p->digits[p->ndigits] = '\0';
	}
}

static bool drop_h(void *arg)
{
	struct peer *p = arg;

	++p->drop_count;
	if (p->drop_to) {
		if (p->drop_count <= p->drop_from ||
		    p->drop_count > p->drop_to)
			return false;
	}
	else if (!p->drop_every || p->drop_count % p->drop_every) {
		return false;
	}

	++p->dropped;
	return true;
}

static void stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void poll_h(void *arg)
{
	(void)arg;
	if (until && until())
		re_cancel();
	else
		tmr_start(&tmr_cond, 10, poll_h, NULL);
}

/* run the loop for ms milliseconds, or until cond() holds; elapsed us */
static uint64_t run(unsigned ms, bool (*cond)(void))
{
	uint64_t t0 = util_mono_us();

	until = cond;
	tmr_start(&tmr_stop, ms, stop_h, NULL);
	if (cond)
		tmr_start(&tmr_cond, 10, poll_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&tmr_stop);
	tmr_cancel(&tmr_cond);
	until = NULL;

	return util_mono_us() - t0;
}

static void peers_reset(void)
{
	memset(&pa, 0, sizeof(pa));
	memset(&pb, 0, sizeof(pb));
}

static int media_new(struct media **mp, const char *public_ip)
{
	struct media_cfg cfg = {
		.local_ip = "127.0.0.1",
		.public_ip = public_ip,
		.port_min = 30000,
		.port_max = 40000,
	};

	return media_alloc(mp, &cfg);
}

static int stream_new(struct media *m, struct peer *p)
{
	return mstream_alloc(&p->ms, m, rx_h, tx_h, dtmf_h, p);
}

static struct mbuf *mb_str(const char *s)
{
	struct mbuf *mb = mbuf_alloc(strlen(s) + 1);

	if (!mb)
		return NULL;
	(void)mbuf_write_str(mb, s);
	mb->pos = 0;
	return mb;
}

static void mb_text(char *buf, size_t sz, const struct mbuf *mb)
{
	size_t n = mbuf_get_left(mb);

	if (n >= sz)
		n = sz - 1;
	memcpy(buf, mbuf_buf(mb), n);
	buf[n] = '\0';
}

/* drop telephone-event from an offer: the " 101" format and its lines */
static void strip_te(char *sdp)
{
	char out[2048] = "", *line, *save = NULL;

	for (line = strtok_r(sdp, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		char *p;

		if (strstr(line, ":101 "))
			continue;
		p = strstr(line, " 101");
		if (!strncmp(line, "m=", 2) && p)
			*p = '\0';
		strcat(out, line);
		strcat(out, "\r\n");
	}
	strcpy(sdp, out);
}

/* the port on the m= line becomes port */
static void set_port(char *sdp, unsigned port)
{
	char out[2048], *m = strstr(sdp, "m=audio "), *rest;

	rest = strchr(m + 8, ' ');
	*m = '\0';
	snprintf(out, sizeof(out), "%sm=audio %u%s", sdp, port, rest);
	strcpy(sdp, out);
}

typedef void (sdp_edit_h)(char *sdp);

/* A offers, B answers, A takes the answer; edit changes the offer */
static int negotiate(sdp_edit_h *edit, unsigned offer_port)
{
	struct mbuf *offer = NULL, *eoffer = NULL, *answer = NULL;
	char text[2048];
	int err;

	err = mstream_offer(pa.ms, &offer);
	if (err)
		goto out;

	mb_text(text, sizeof(text), offer);
	if (edit)
		edit(text);
	if (offer_port)
		set_port(text, offer_port);

	eoffer = mb_str(text);
	err = eoffer ? mstream_answer(pb.ms, eoffer, &answer) : ENOMEM;
	if (err)
		goto out;

	err = mstream_set_answer(pa.ms, answer);

 out:
	mem_deref(offer);
	mem_deref(eoffer);
	mem_deref(answer);
	return err;
}

static double goertzel(const int16_t *x, size_t n, double f)
{
	double c = 2 * cos(2 * M_PI * f / MEDIA_SRATE), s1 = 0, s2 = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;

		s2 = s1;
		s1 = s0;
	}

	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static double dominant(const int16_t *x, size_t n)
{
	double best = 0, bestf = 0, f;

	for (f = 200; f <= 3800; f += 50) {
		double pw = goertzel(x, n, f);

		if (pw > best) {
			best = pw;
			bestf = f;
		}
	}

	return bestf;
}

static double rms(const int16_t *x, size_t n)
{
	double e = 0;
	size_t i;

	for (i = 0; i < n; i++)
		e += (double)x[i] * x[i];

	return n ? sqrt(e / (double)n) : 0;
}

/* the received audio after warm-up is a clean sine of f at ~8000 peak */
static bool is_tone(const struct peer *p, double f)
{
	const size_t skip = MEDIA_SRATE / 4, n = MEDIA_SRATE / 2;
	double level;

	if (p->rx_n < skip + n)
		return false;

	level = rms(p->rx + skip, n);
	if (dominant(p->rx + skip, n) != f) {
		fprintf(stderr, "dominant %.0f Hz, want %.0f\n",
			dominant(p->rx + skip, n), f);
		return false;
	}

	if (level < 8000 / sqrt(2) * 0.9 || level > 8000 / sqrt(2) * 1.1) {
		fprintf(stderr, "level %.0f, want %.0f\n", level,
			8000 / sqrt(2));
		return false;
	}
	return true;
}

TEST(offer_sdp)
{
	struct media *m = NULL;
	struct mbuf *mb = NULL;
	struct media_cfg bad = {.local_ip = "not-an-ip"};
	struct sa local;
	char text[2048], want[64];

	peers_reset();
	CHECK(media_alloc(&m, &bad) != 0);
	CHECK(media_new(&m, "192.0.2.10") == 0);
	CHECK(stream_new(m, &pa) == 0);
	CHECK_EQ_INT(media_nstreams(m), 1);
	CHECK_EQ_INT(mstream_codec(pa.ms), MEDIA_CODEC_NONE);
	CHECK_EQ_INT(mstream_start(pa.ms), EINVAL);

	CHECK(mstream_local(pa.ms, &local) == 0);
	CHECK(sa_port(&local) >= 30000 && sa_port(&local) <= 40000);

	CHECK(mstream_offer(pa.ms, &mb) == 0);
	mb_text(text, sizeof(text), mb);
	snprintf(want, sizeof(want), "m=audio %u RTP/AVP 0 8 101\r\n",
		 sa_port(&local));
	CHECK(strstr(text, want));
	CHECK(strstr(text, "c=IN IP4 192.0.2.10\r\n"));
	CHECK(strstr(text, "a=rtpmap:0 PCMU/8000\r\n"));
	CHECK(strstr(text, "a=rtpmap:8 PCMA/8000\r\n"));
	CHECK(strstr(text, "a=rtpmap:101 telephone-event/8000\r\n"));
	CHECK(strstr(text, "a=fmtp:101 0-15\r\n"));
	CHECK(strstr(text, "a=ptime:20\r\n"));
	CHECK(strstr(text, "a=sendrecv\r\n"));

	mem_deref(mb);
	pa.ms = mem_deref(pa.ms);
	CHECK_EQ_INT(media_nstreams(m), 0);
	mem_deref(m);
}

/* answer text for a hand-written offer, and the codec chosen */
static int answer_text(struct media *m, const char *media_lines,
		       char *text, size_t sz)
{
	char offer[1024];
	struct mbuf *mo, *ma = NULL;
	int err;

	snprintf(offer, sizeof(offer), "%s%s", sdp_head, media_lines);
	mo = mb_str(offer);
	pb.ms = mem_deref(pb.ms);
	err = stream_new(m, &pb);
	if (!err)
		err = mstream_answer(pb.ms, mo, &ma);
	if (!err)
		mb_text(text, sz, ma);
	mem_deref(mo);
	mem_deref(ma);
	return err;
}

TEST(answer_sdp)
{
	struct media *m = NULL;
	struct sa raddr, want_addr;
	char text[2048], want[64];

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);

	/* PCMA only, no rtpmap line */
	CHECK(answer_text(m, "m=audio 40000 RTP/AVP 8\r\n", text,
			  sizeof(text)) == 0);
	CHECK_EQ_INT(mstream_codec(pb.ms), MEDIA_CODEC_PCMA);
	CHECK(mstream_local(pb.ms, &raddr) == 0);
	snprintf(want, sizeof(want), "m=audio %u RTP/AVP 8\r\n",
		 sa_port(&raddr));
	CHECK(strstr(text, want));
	CHECK(strstr(text, "a=rtpmap:8 PCMA/8000\r\n"));
	CHECK(!strstr(text, "telephone-event"));
	CHECK(mstream_remote(pb.ms, &raddr) == 0);
	CHECK(sa_set_str(&want_addr, "127.0.0.1", 40000) == 0);
	CHECK(sa_cmp(&raddr, &want_addr, SA_ALL));

	/* PCMU by number without rtpmap, after an unknown codec */
	CHECK(answer_text(m, "m=audio 40000 RTP/AVP 18 0 101\r\n"
			  "a=rtpmap:18 G729/8000\r\n"
			  "a=rtpmap:101 telephone-event/8000\r\n"
			  "a=fmtp:101 0-16\r\n", text, sizeof(text)) == 0);
	CHECK_EQ_INT(mstream_codec(pb.ms), MEDIA_CODEC_PCMU);
	CHECK(strstr(text, " RTP/AVP 0 101\r\n"));

	/* the remote's order wins; its telephone-event pt is kept */
	CHECK(answer_text(m, "m=audio 40000 RTP/AVP 8 0 96\r\n"
			  "a=rtpmap:96 telephone-event/8000\r\n", text,
			  sizeof(text)) == 0);
	CHECK_EQ_INT(mstream_codec(pb.ms), MEDIA_CODEC_PCMA);
	CHECK(strstr(text, " RTP/AVP 8 96\r\n"));
	CHECK(strstr(text, "a=rtpmap:96 telephone-event/8000\r\n"));

	/* a dynamic payload type by name */
	CHECK(answer_text(m, "m=audio 40000 RTP/AVP 97\r\n"
			  "a=rtpmap:97 pcmu/8000\r\n", text,
			  sizeof(text)) == 0);
	CHECK_EQ_INT(mstream_codec(pb.ms), MEDIA_CODEC_PCMU);
	CHECK(strstr(text, " RTP/AVP 97\r\n"));

	pb.ms = mem_deref(pb.ms);
	mem_deref(m);
}

TEST(sdp_errors)
{
	static const char *garbage[] = {
		"", "garbage", "hello world\r\n", "v=0\r\nm=audio\r\n",
		"v=1\r\nm=audio 4000 RTP/AVP 0\r\n",
	};
	struct media *m = NULL;
	struct mbuf *mb, *ans = NULL;
	char text[1024];
	size_t i;

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);

	CHECK_EQ_INT(answer_text(m, "m=audio 40000 RTP/AVP 18\r\n"
				 "a=rtpmap:18 G729/8000\r\n", text,
				 sizeof(text)), EPROTO);
	CHECK_EQ_INT(mstream_codec(pb.ms), MEDIA_CODEC_NONE);
	CHECK_EQ_INT(answer_text(m, "m=video 40000 RTP/AVP 0\r\n", text,
				 sizeof(text)), EPROTO);
	CHECK_EQ_INT(answer_text(m, "m=audio 0 RTP/AVP 0\r\n", text,
				 sizeof(text)), EPROTO);
	CHECK_EQ_INT(answer_text(m, "m=audio 40000 RTP/SAVP 0\r\n", text,
				 sizeof(text)), EPROTO);

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		mb = mb_str(garbage[i]);
		CHECK(mb);
		CHECK_EQ_INT(mstream_answer(pb.ms, mb, &ans), EBADMSG);
		CHECK_EQ_INT(mstream_set_answer(pb.ms, mb), EBADMSG);
		mem_deref(mb);
	}

	/* an answer with nothing we offered */
	CHECK(stream_new(m, &pa) == 0);
	CHECK(mstream_offer(pa.ms, &mb) == 0);
	mem_deref(mb);
	snprintf(text, sizeof(text), "%sm=audio 40000 RTP/AVP 18\r\n",
		 sdp_head);
	mb = mb_str(text);
	CHECK_EQ_INT(mstream_set_answer(pa.ms, mb), EPROTO);
	mem_deref(mb);

	pa.ms = mem_deref(pa.ms);
	pb.ms = mem_deref(pb.ms);
	mem_deref(m);
}

static bool enough_audio(void)
{
	return pa.rx_n >= MEDIA_SRATE && pb.rx_n >= MEDIA_SRATE;
}

TEST(two_way_audio)
{
	struct media *m = NULL;
	struct mstream_stats sa_, sb;
	uint64_t us;

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);
	CHECK(stream_new(m, &pa) == 0);
	CHECK(stream_new(m, &pb) == 0);
	CHECK(negotiate(NULL, 0) == 0);
	CHECK_EQ_INT(mstream_codec(pa.ms), MEDIA_CODEC_PCMU);
	CHECK_EQ_INT(mstream_codec(pb.ms), MEDIA_CODEC_PCMU);

	pa.freq = 1000;
	pb.freq = 500;
	CHECK(mstream_start(pa.ms) == 0);
	CHECK(mstream_start(pa.ms) == 0);   /* idempotent */
	CHECK(mstream_start(pb.ms) == 0);

	us = run(1500, enough_audio);
	CHECK(enough_audio());
	CHECK(is_tone(&pb, 1000));
	CHECK(is_tone(&pa, 500));

	/* ~50 frames/s: 1 s of audio took about 1 s (plus the buffer) */
	CHECK(us > 950000 && us < 1200000);
	mstream_stats(pb.ms, &sb);
	mstream_stats(pa.ms, &sa_);
	CHECK(sb.rx_packets >= 48 && sb.rx_packets <= 62);
	CHECK(sa_.rx_packets >= 48 && sa_.rx_packets <= 62);
	CHECK(sa_.tx_packets >= 48 && sa_.tx_packets <= 62);
	CHECK_EQ_INT(sb.rx_lost, 0);
	if (sb.rx_missing_frames > 2) {
		struct media_tick_stats ts;

		media_tick_stats(m, &ts);
		fprintf(stderr, "missing %u, ticks %llu late max %llu us\n",
			sb.rx_missing_frames, (unsigned long long)ts.ticks,
			(unsigned long long)ts.late_max_us);
	}
	CHECK(sb.rx_missing_frames <= 2);
	CHECK_EQ_INT(pa.ndigits + pb.ndigits, 0);   /* no talk-off */
	CHECK(sb.jitter_ms < 20);

	pa.ms = mem_deref(pa.ms);
	pb.ms = mem_deref(pb.ms);
	mem_deref(m);
}

static bool six_digits(void)
{
	return pb.ndigits >= 6;
}

static void dtmf_run(sdp_edit_h *edit, enum dtmf_source want_src,
		     int *failed_)
{
	struct media *m = NULL;
	const char *seq = "123#*9";
	unsigned i;

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);
	CHECK(stream_new(m, &pa) == 0);
	CHECK(stream_new(m, &pb) == 0);
	CHECK(negotiate(edit, 0) == 0);
	CHECK(mstream_start(pa.ms) == 0);
	CHECK(mstream_start(pb.ms) == 0);

	for (i = 0; seq[i]; i++)
		CHECK(mstream_send_dtmf(pa.ms, seq[i]) == 0);
	CHECK_EQ_INT(mstream_send_dtmf(pa.ms, 'x'), EINVAL);

	(void)run(4000, six_digits);
	(void)run(300, NULL);   /* no late duplicates */

	CHECK_STR(pb.digits, seq);
	for (i = 0; i < pb.ndigits; i++)
		CHECK_EQ_INT(pb.srcs[i], want_src);
	CHECK_EQ_INT(pa.ndigits, 0);

	pa.ms = mem_deref(pa.ms);
	pb.ms = mem_deref(pb.ms);
	mem_deref(m);
}

TEST(dtmf_rfc4733)
{
	dtmf_run(NULL, DTMF_RFC4733, failed_);
}

/* every start packet of the second key press is lost: only its end
 * packets tell, and they must still count as a new press */
TEST(dtmf_rfc4733_lost_start)
{
	struct media *m = NULL;

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);
	CHECK(stream_new(m, &pa) == 0);
	CHECK(stream_new(m, &pb) == 0);
	CHECK(negotiate(NULL, 0) == 0);

	/* telev sends 9 start and 3 end packets per key, back to back */
	pa.drop_from = 12;
	pa.drop_to = 21;
	mstream_test_drop(pa.ms, drop_h, &pa);
	CHECK(mstream_start(pa.ms) == 0);
	CHECK(mstream_start(pb.ms) == 0);
	CHECK(mstream_send_dtmf(pa.ms, '1') == 0);
	CHECK(mstream_send_dtmf(pa.ms, '2') == 0);
	CHECK(mstream_send_dtmf(pa.ms, '2') == 0);

	(void)run(1500, NULL);
	CHECK_EQ_INT(pa.dropped, 9);
	CHECK_STR(pb.digits, "122");

	pa.ms = mem_deref(pa.ms);
	pb.ms = mem_deref(pb.ms);
	mem_deref(m);
}

TEST(dtmf_inband)
{
	dtmf_run(strip_te, DTMF_INBAND, failed_);
}

TEST(dtmf_info)
{
	struct media *m = NULL;

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);
	CHECK(stream_new(m, &pa) == 0);
	mstream_dtmf_info(pa.ms, '5');
	mstream_dtmf_info(pa.ms, 'x');
	mstream_dtmf_info(pa.ms, 'b');
	CHECK_STR(pa.digits, "5B");
	CHECK_EQ_INT(pa.srcs[0], DTMF_SIPINFO);
	pa.ms = mem_deref(pa.ms);
	mem_deref(m);
}

static bool a_heard(void)
{
	return pa.rx_n >= MEDIA_SRATE;
}

TEST(symmetric_rtp)
{
	struct media *m = NULL;
	struct sa a_local, b_remote;

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);
	CHECK(stream_new(m, &pa) == 0);
	CHECK(stream_new(m, &pb) == 0);

	/* B is told A is at port 9, where nobody listens */
	CHECK(negotiate(NULL, 9) == 0);
	CHECK(mstream_remote(pb.ms, &b_remote) == 0);
	CHECK_EQ_INT(sa_port(&b_remote), 9);

	pa.freq = 1000;
	pb.freq = 500;
	CHECK(mstream_start(pa.ms) == 0);
	CHECK(mstream_start(pb.ms) == 0);

	(void)run(2000, a_heard);
	CHECK(a_heard());
	CHECK(is_tone(&pa, 500));
	CHECK(mstream_local(pa.ms, &a_local) == 0);
	CHECK(mstream_remote(pb.ms, &b_remote) == 0);
	CHECK(sa_cmp(&a_local, &b_remote, SA_ALL));

	pa.ms = mem_deref(pa.ms);
	pb.ms = mem_deref(pb.ms);
	mem_deref(m);
}

/* one long run: 10% loss A->B, RTCP reports (5 s interval), tick count */
TEST(loss_rtcp_ticks)
{
	struct media *m = NULL;
	struct media_tick_stats ts;
	struct mstream_stats sa_, sb;
	uint64_t us, want_ticks, want_frames;

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);
	CHECK(stream_new(m, &pa) == 0);
	CHECK(stream_new(m, &pb) == 0);
	CHECK(negotiate(NULL, 0) == 0);

	pa.freq = 1000;
	pb.freq = 500;
	pa.drop_every = 10;
	mstream_test_drop(pa.ms, drop_h, &pa);

	CHECK(mstream_start(pa.ms) == 0);
	CHECK(mstream_start(pb.ms) == 0);
	us = run(6200, NULL);

	mstream_stats(pa.ms, &sa_);
	mstream_stats(pb.ms, &sb);
	media_tick_stats(m, &ts);

	/* ticks ~ duration / 20 ms */
	want_ticks = us / MEDIA_PTIME_US;
	if (ts.ticks + 3 < want_ticks || ts.ticks > want_ticks + 3)
		fprintf(stderr, "ticks %llu, want %llu, late max %llu us\n",
			(unsigned long long)ts.ticks,
			(unsigned long long)want_ticks,
			(unsigned long long)ts.late_max_us);
	CHECK(ts.ticks + want_ticks / 20 + 3 >= want_ticks);
	CHECK(ts.ticks <= want_ticks + 3);
	CHECK(ts.late_max_us < 1000000);

	/* every 10th packet lost, B still plays 50 frames/s */
	CHECK(pa.dropped >= 28);
	CHECK(sb.rx_lost + 1 >= pa.dropped && sb.rx_lost <= pa.dropped);
	CHECK(sb.rx_packets + sb.rx_lost >= sa_.tx_packets + pa.dropped - 2);
	want_frames = us / MEDIA_PTIME_US;
	CHECK(pb.frames + 5 >= want_frames && pb.frames <= want_frames + 1);
	CHECK(is_tone(&pb, 1000));
	CHECK(is_tone(&pa, 500));
	CHECK_EQ_INT(sa_.rx_lost, 0);

	/* libre sends its first RTCP report 5 s after rtcp_start() */
	CHECK(sa_.rtcp_rx > 0);
	CHECK(sb.rtcp_rx > 0);
	CHECK(sb.jitter_ms < 20);

	pa.ms = mem_deref(pa.ms);
	pb.ms = mem_deref(pb.ms);
	mem_deref(m);
}

TEST(lifecycle)
{
	struct media *m = NULL;
	struct media_tick_stats t1, t2;

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);
	CHECK(stream_new(m, &pa) == 0);
	CHECK(stream_new(m, &pb) == 0);
	CHECK_EQ_INT(media_nstreams(m), 2);
	CHECK(negotiate(NULL, 0) == 0);

	/* A releases itself from inside its own tx handler */
	pa.deref_after = 10;
	pa.freq = 1000;
	CHECK(mstream_start(pa.ms) == 0);
	CHECK(mstream_start(pb.ms) == 0);
	(void)run(400, NULL);
	CHECK(pa.ms == NULL);
	CHECK_EQ_INT(pa.txframes, 10);
	CHECK_EQ_INT(media_nstreams(m), 1);

	/* the engine may go before its streams: they hold it */
	mem_deref(m);
	(void)run(100, NULL);
	CHECK(pb.frames > 0);

	/* the last stream stops the tick */
	m = mem_ref(pb.ms->media);
	pb.ms = mem_deref(pb.ms);
	CHECK_EQ_INT(media_nstreams(m), 0);
	media_tick_stats(m, &t1);
	(void)run(100, NULL);
	media_tick_stats(m, &t2);
	CHECK_EQ_INT(t2.ticks, t1.ticks);
	CHECK(!tmr_isrunning(&m->tmr));
	mem_deref(m);
}

/* a hand-made RTP peer: 30 ms PCMU packets of a 1 kHz sine */
struct raw {
	struct rtp_sock *rtp;
	struct tmr tmr;
	struct sa dst;
	uint32_t ts;
	uint64_t t0, n, nsamp;
};

static void raw_recv(const struct sa *src, const struct rtp_header *hdr,
		     struct mbuf *mb, void *arg)
{
	(void)src;
	(void)hdr;
	(void)mb;
	(void)arg;
}

static int raw_send(struct raw *r, uint8_t pt, size_t samples)
{
	struct mbuf *mb = mbuf_alloc(RTP_HEADER_SIZE + samples);
	size_t i;
	int err;

	if (!mb)
		return ENOMEM;

	mb->pos = mb->end = RTP_HEADER_SIZE;
	for (i = 0; i < samples; i++, r->nsamp++) {
		double v = 8000.0 * sin(2 * M_PI * 1000 * (double)r->nsamp /
					MEDIA_SRATE);

		(void)mbuf_write_u8(mb, linear_to_ulaw((int)v));
	}
	mb->pos = RTP_HEADER_SIZE;
	err = rtp_send(r->rtp, &r->dst, false, false, pt, r->ts, mb);
	r->ts += (uint32_t)samples;
	mem_deref(mb);
	return err;
}

static void raw_tick(void *arg)
{
	struct raw *r = arg;
	int64_t delay;

	(void)raw_send(r, 0, 240);
	++r->n;
	delay = (int64_t)(r->t0 + r->n * 30) - (int64_t)tmr_jiffies();
	tmr_start(&r->tmr, delay > 0 ? (uint64_t)delay : 0, raw_tick, r);
}

static int raw_open(struct raw *r)
{
	struct sa ip;

	memset(r, 0, sizeof(*r));
	tmr_init(&r->tmr);
	sa_set_str(&ip, "127.0.0.1", 0);
	return rtp_listen(&r->rtp, IPPROTO_UDP, &ip, 41000, 42000, false,
			  raw_recv, NULL, NULL);
}

static bool b_heard(void)
{
	return pb.rx_n >= MEDIA_SRATE;
}

/* a peer with 30 ms packets, packets of unknown type, and a second
 * source that must prove itself before we move to it */
TEST(raw_peer)
{
	struct media *m = NULL;
	struct raw r1, r2;
	struct mstream_stats st;
	struct mbuf *mo, *ma = NULL;
	struct sa b_local, remote;
	char offer[1024];
	uint64_t us;
	int i;

	peers_reset();
	CHECK(media_new(&m, NULL) == 0);
	CHECK(stream_new(m, &pb) == 0);
	CHECK(raw_open(&r1) == 0);
	CHECK(raw_open(&r2) == 0);

	snprintf(offer, sizeof(offer), "%sm=audio %u RTP/AVP 0\r\n"
		 "a=ptime:30\r\n", sdp_head, sa_port(rtp_local(r1.rtp)));
	mo = mb_str(offer);
	CHECK(mstream_answer(pb.ms, mo, &ma) == 0);
	mem_deref(mo);
	mem_deref(ma);
	CHECK(mstream_start(pb.ms) == 0);
	CHECK(mstream_local(pb.ms, &b_local) == 0);
	r1.dst = r2.dst = b_local;

	/* G.729 packets are not ours: dropped, not counted, no latching */
	for (i = 0; i < 5; i++)
		CHECK(raw_send(&r2, 18, 20) == 0);
	(void)run(60, NULL);
	mstream_stats(pb.ms, &st);
	CHECK_EQ_INT(st.rx_packets, 0);
	CHECK(mstream_remote(pb.ms, &remote) == 0);
	CHECK(sa_cmp(&remote, rtp_local(r1.rtp), SA_ALL));

	/* 30 ms packets come out as 20 ms frames, 50 a second */
	r1.t0 = tmr_jiffies();
	tmr_start(&r1.tmr, 0, raw_tick, &r1);
	us = run(2000, b_heard);
	CHECK(b_heard());
	CHECK(is_tone(&pb, 1000));
	CHECK(pb.frames * MEDIA_PTIME_US + 3 * MEDIA_PTIME_US >= us);
	CHECK(pb.frames * MEDIA_PTIME_US <= us + MEDIA_PTIME_US);
	tmr_cancel(&r1.tmr);

	/* another source: two packets are not enough to move B ... */
	for (i = 0; i < 2; i++)
		CHECK(raw_send(&r2, 0, 160) == 0);
	(void)run(40, NULL);
	CHECK(mstream_remote(pb.ms, &remote) == 0);
	CHECK(sa_cmp(&remote, rtp_local(r1.rtp), SA_ALL));

	/* ... four in sequence are */
	for (i = 0; i < 4; i++)
		CHECK(raw_send(&r2, 0, 160) == 0);
	(void)run(40, NULL);
	CHECK(mstream_remote(pb.ms, &remote) == 0);
	CHECK(sa_cmp(&remote, rtp_local(r2.rtp), SA_ALL));

	pb.ms = mem_deref(pb.ms);
	mem_deref(r1.rtp);
	mem_deref(r2.rtp);
	mem_deref(m);
}

TEST_MAIN()
