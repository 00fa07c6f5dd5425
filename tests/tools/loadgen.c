/* loadgen.c - a SIP load generator for benchmarks and load tests, on libre.
 *
 * Places --calls N calls to --target (a Parley number, e.g.
 * sip:+14155550001@127.0.0.1:5060) at --rate calls per second. Every
 * answered call sends PCMU (a tone, or a 300-3000 Hz multi-tone) from ONE
 * shared 20 ms tick and receives the far end's audio. When every call has
 * been answered or has failed, the plateau begins: --duration seconds with
 * all calls up; then the calls hang up (see "hangup" below).
 *
 * Measured:
 *   - setup time, INVITE sent -> 2xx received (p50/p99/max);
 *   - received RTP: packets, expected by sequence number (RFC 3550 A.3),
 *     lost (sequence gaps), expected by time, voiced frames;
 *   - receive interval jitter: |interval - 20 ms| between consecutive
 *     packets of a call, all calls in one histogram (p50/p99/max). The
 *     arrival time is the kernel's receive timestamp (SIOCGSTAMPNS), not
 *     the time our loop got round to the socket, so the figure is the far
 *     end's send-interval jitter (on loopback the kernel stamps a packet
 *     while the sender is still inside sendto()), not our own scheduling.
 *     Once over whole calls, once over the plateau only;
 *   - our own send-interval jitter, one sample per tick;
 *   - hang-up: how many BYEs the far end answered, and how fast.
 *
 * Output: one JSON object per line on stdout: "started", "plateau" (all
 * calls settled; a benchmark samples the far end now), "hangup" (the
 * plateau is over; calls hang up at --hangup-rate per second, all at
 * once when 0) and finally "summary", when every BYE has its answer (or
 * after libre's 32 s transaction timeout). SIGINT/SIGTERM end the plateau
 * early (or stop dialling), hang up, and still print the summary; a
 * second signal quits at once. Exit status 0 unless setup failed.
 */
#include <re.h>
#include <rem.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/sockios.h>

enum {
	SRATE = 8000,
	PTIME = 20,                     /* ms */
	PTIME_US = PTIME * 1000,
	FRAME = SRATE * PTIME / 1000,
	AMPLITUDE = 8000,
	PT_PCMU = 0,
	VOICED_MEAN_ABS = 64,           /* ~ -54 dBFS: more than silence */
	HIST_BUCKET_US = 10,
	HIST_BUCKETS = 200000,          /* 10 us x 200000 = 2 s */
	BYE_WAIT_MS = 34000,            /* libre gives up on a BYE at 32 s */
	CHECK_MS = 50,
	MAX_FAIL_CODES = 16,
};

struct hist {
	uint32_t *b;                    /* HIST_BUCKETS, last one overflows */
	uint64_t n;
	uint64_t max_us;
};

enum phase { PH_DIAL, PH_PLATEAU, PH_HANGUP };

struct app {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct list calls;
	struct tmr tick, dial, check, plateau, hangup, quit;
	enum phase phase;
	bool interrupted;

	/* options */
	const char *target;
	const char *user, *pass;        /* digest credentials, optional */
	struct sa laddr;                /* SIP */
	struct sa media_ip;
	uint32_t ncalls;
	double rate;
	double hangup_rate;             /* 0: all at once */
	uint32_t duration_s;
	uint32_t setup_timeout_ms;
	uint16_t rtp_min, rtp_max;
	unsigned tone_hz;               /* 0: 300-3000 Hz multi-tone */

	uint8_t signal[SRATE];          /* 1 s of PCMU, loops seamlessly */
	struct mbuf *frame;             /* this tick's payload, all calls */

	/* dialling */
	uint64_t dial_t0;               /* mono us */
	uint32_t placed;
	uint32_t settled;               /* answered or failed */

	/* the shared tick */
	uint64_t tick_t0, tick_n, tick_last;  /* mono us */

	/* results */
	uint32_t up, failed, dropped, ended;
	struct { uint16_t code; uint32_t n; } fail[MAX_FAIL_CODES];
	uint32_t nfail_codes;
	uint32_t *setup_us;             /* one per answered call */
	uint32_t *first_rx_us;          /* answer -> first packet, per call */
	uint32_t nfirst_rx;
	uint32_t no_rx;                 /* calls that never heard anything */
	uint64_t t_plateau, t_hangup;   /* mono us */
	uint32_t hung_up;               /* calls released by the hang-up */
	bool hangup_done;
	struct list byes;               /* struct bye: BYEs not answered yet */
	uint32_t bye_sent, bye_ok, bye_failed;
	uint64_t t_bye_done;            /* mono us; 0 until all answered */
	uint64_t tx_packets, rx_packets, rx_expected, rx_lost, rx_dup;
	uint64_t rx_expected_time, rx_voiced, rx_other, rtcp_rx;
	uint64_t ts_fallback;           /* packets without a kernel stamp */
	uint64_t rx_late, rx_ssrc_changes;
	uint64_t rx_foreign;            /* not from the SDP's address */
	uint32_t calls_foreign;
	struct hist rx_jit, tx_jit;
	struct hist rx_jit_plateau;     /* all N calls up, none hanging up */
};

/* A BYE sent at hang-up, until its final response is seen. */
struct bye {
	struct le le;
	char *callid;
};

struct call {
	struct le le;
	struct app *app;
	uint32_t id;
	struct sipsess *sess;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	struct rtp_sock *rtp;
	struct tmr tmr_free;
	struct sa raddr;
	uint64_t t_invite, t_estab;     /* mono us */
	bool established, closed, counted, foreign;
	uint32_t ts;
	uint32_t nsent;
	/* receive side */
	bool seq_init;
	uint32_t ssrc;
	uint16_t base_seq, max_seq;
	uint32_t cycles;
	uint32_t received;
	uint64_t first_rx_ns, last_rx_ns;   /* kernel stamps (realtime) */
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- histograms ---- */

static int hist_init(struct hist *h)
{
	h->b = calloc(HIST_BUCKETS, sizeof(*h->b));
	return h->b ? 0 : ENOMEM;
}

static void hist_add(struct hist *h, uint64_t us)
{
	uint64_t i = us / HIST_BUCKET_US;

	++h->b[i < HIST_BUCKETS ? i : HIST_BUCKETS - 1];
	++h->n;
	if (us > h->max_us)
		h->max_us = us;
}

/* The upper edge of the bucket holding the p-quantile, in ms. */
static double hist_pct(const struct hist *h, double p)
{
	uint64_t want, sum = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)ceil(p * (double)h->n);
	if (!want)
		want = 1;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		sum += h->b[i];
		if (sum >= want) {
			double ms = (i + 1) * HIST_BUCKET_US / 1000.0;
			return MIN(ms, h->max_us / 1000.0);
		}
	}
	return h->max_us / 1000.0;
}

static int hist_json(struct re_printf *pf, const struct hist *h)
{
	return re_hprintf(pf, "{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,"
			  "\"n\":%llu}", hist_pct(h, 0.50), hist_pct(h, 0.99),
			  h->max_us / 1000.0, (unsigned long long)h->n);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct samples {
	uint32_t *v;                    /* microseconds */
	uint32_t n;
};

/* p50/p99/max of microsecond samples, printed in ms (sorts them) */
static int samples_json(struct re_printf *pf, const struct samples *s)
{
	uint32_t *v = s->v, n = s->n;
	size_t i50, i99;

	if (!n)
		return re_hprintf(pf, "{\"p50\":0,\"p99\":0,\"max\":0}");
	qsort(v, n, sizeof(*v), cmp_u32);
	i50 = (size_t)ceil(0.50 * n) - 1;
	i99 = (size_t)ceil(0.99 * n) - 1;
	return re_hprintf(pf, "{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f}",
			  v[i50] / 1000.0, v[i99] / 1000.0,
			  v[n - 1] / 1000.0);
}

static void emit(const struct app *app, const char *event)
{
	re_printf("{\"event\":\"%s\",\"t_ms\":%llu,\"placed\":%u,\"up\":%u,"
		  "\"failed\":%u,\"dropped\":%u}\n", event,
		  (unsigned long long)((mono_us() - app->dial_t0) / 1000),
		  app->placed, app->up, app->failed, app->dropped);
}

/* ---- the test signal ---- */

static void make_signal(struct app *app)
{
	/* whole numbers of Hz: one second holds whole periods, so the
	 * buffer loops without a click */
	static const unsigned multi[] = {300, 700, 1100, 1700, 2300, 3000};

	for (uint32_t n = 0; n < SRATE; n++) {
		double v = 0;

		if (app->tone_hz) {
			v = sin(2 * M_PI * app->tone_hz * n / SRATE);
		}
		else {
			for (size_t k = 0; k < ARRAY_SIZE(multi); k++)
				v += sin(2 * M_PI * multi[k] * n / SRATE +
					 k) / ARRAY_SIZE(multi);
			v *= 2;
		}
		app->signal[n] = g711_pcm2ulaw((int16_t)(AMPLITUDE * v));
	}
}

/* ---- per-call accounting ---- */

/* Fold a call's receive statistics into the totals, once, at its end. */
static void call_account(struct call *c, uint64_t end_ns)
{
	struct app *app = c->app;

	if (c->counted || !c->established)
		return;
	c->counted = true;

	app->tx_packets += c->nsent;
	if (!c->seq_init) {
		++app->no_rx;
		return;
	}

	{
		int64_t expected = (int64_t)c->cycles + c->max_seq -
			c->base_seq + 1;
		int64_t lost = expected - (int64_t)c->received;

		app->rx_expected += (uint64_t)expected;
		if (lost > 0)
			app->rx_lost += (uint64_t)lost;
	}
	if (end_ns > c->first_rx_ns)
		app->rx_expected_time += (end_ns - c->first_rx_ns) /
			(PTIME_US * 1000ULL) + 1;
}

static void call_destructor(void *arg)
{
	struct call *c = arg;

	tmr_cancel(&c->tmr_free);
	list_unlink(&c->le);
	mem_deref(c->sess);     /* BYE when established, else CANCEL */
	mem_deref(c->rtp);
	mem_deref(c->sdp);
}

static void free_tmr_h(void *arg)
{
	mem_deref(arg);
}

/* Never free a call inside its own callbacks: mark it, free it later. */
static void call_close(struct call *c)
{
	c->closed = true;
	tmr_start(&c->tmr_free, 0, free_tmr_h, c);
}

static void add_fail(struct app *app, uint16_t code)
{
	uint32_t i;

	for (i = 0; i < app->nfail_codes; i++) {
		if (app->fail[i].code == code) {
			++app->fail[i].n;
			return;
		}
	}
	if (i < MAX_FAIL_CODES) {
		app->fail[i].code = code;
		app->fail[i].n = 1;
		++app->nfail_codes;
	}
}

/* A call that never got answered: code 0 is a timeout or local error. */
static void call_fail(struct call *c, uint16_t code)
{
	++c->app->failed;
	++c->app->settled;
	add_fail(c->app, code);
	call_close(c);
}

/* ---- media ---- */

static void seq_update(struct call *c, uint16_t seq)
{
	uint16_t udelta;

	if (!c->seq_init) {
		c->seq_init = true;
		c->base_seq = c->max_seq = seq;
		return;
	}
	udelta = seq - c->max_seq;
	if (udelta == 0) {
		++c->app->rx_dup;
	}
	else if (udelta < 3000) {
		if (seq < c->max_seq)
			c->cycles += 65536;
		c->max_seq = seq;
	}
	else {
		/* late or reordered: counted as received, not as a gap */
		++c->app->rx_late;
	}
}

/* The kernel's receive time of the packet just read from this socket. */
static uint64_t rx_stamp(struct call *c)
{
	struct timespec ts;
	int fd = udp_sock_fd(rtp_sock(c->rtp), AF_INET);

	if (fd >= 0 && 0 == ioctl(fd, SIOCGSTAMPNS, &ts))
		return (uint64_t)ts.tv_sec * 1000000000ULL +
			(uint64_t)ts.tv_nsec;
	++c->app->ts_fallback;
	return real_ns();
}

static void rtp_h(const struct sa *src, const struct rtp_header *hdr,
		  struct mbuf *mb, void *arg)
{
	struct call *c = arg;
	struct app *app = c->app;
	const uint8_t *p = mbuf_buf(mb);
	size_t n = mbuf_get_left(mb);
	uint16_t prev_max = c->max_seq;
	bool in_order, first = !c->seq_init;
	uint64_t now_ns, sum = 0;

	if (c->closed || !c->established)
		return;
	/* the far end sends from where its SDP says (symmetric RTP);
	 * anything else is stray traffic on a shared machine, e.g. a
	 * stream of some other program that still sends to this port */
	if (!sa_cmp(src, &c->raddr, SA_ALL)) {
		if (!c->foreign) {
			c->foreign = true;
			++app->calls_foreign;
			re_fprintf(stderr, "loadgen: call %u: RTP from %J, "
				   "expected %J (ignored)\n", c->id, src,
				   &c->raddr);
		}
		++app->rx_foreign;
		return;
	}
	if (hdr->pt != PT_PCMU) {
		++app->rx_other;
		return;
	}

	now_ns = rx_stamp(c);
	if (!first && hdr->ssrc != c->ssrc)
		++app->rx_ssrc_changes;
	c->ssrc = hdr->ssrc;
	seq_update(c, hdr->seq);
	in_order = !first && hdr->seq == (uint16_t)(prev_max + 1);
	++c->received;
	++app->rx_packets;

	if (first) {
		c->first_rx_ns = now_ns;
		if (app->nfirst_rx < app->ncalls)
			app->first_rx_us[app->nfirst_rx++] =
				(uint32_t)(mono_us() - c->t_estab);
	}
	/* an interval only between neighbours: a lost packet is counted
	 * as lost, not as 20 ms of jitter */
	else if (in_order && now_ns > c->last_rx_ns) {
		uint64_t iv = (now_ns - c->last_rx_ns) / 1000;
		uint64_t jit = iv > PTIME_US ? iv - PTIME_US : PTIME_US - iv;

		hist_add(&app->rx_jit, jit);
		if (app->phase == PH_PLATEAU)
			hist_add(&app->rx_jit_plateau, jit);
	}
	if (first || in_order)
		c->last_rx_ns = now_ns;

	for (size_t i = 0; i < n; i++)
		sum += (uint64_t)abs(g711_ulaw2pcm(p[i]));
	if (n && sum / n >= VOICED_MEAN_ABS)
		++app->rx_voiced;
}

static void rtcp_h(const struct sa *src, struct rtcp_msg *msg, void *arg)
{
	struct call *c = arg;

	++c->app->rtcp_rx;
	(void)src;
	(void)msg;
}

/* The shared media tick: one timer for all calls, on an absolute
 * schedule so lateness is not carried into the next tick. */
static void tick_h(void *arg)
{
	struct app *app = arg;
	uint64_t now = mono_us(), due;
	uint32_t off = (uint32_t)((app->tick_n * FRAME) % SRATE);
	bool sent = false;

	app->frame->pos = app->frame->end = RTP_HEADER_SIZE;
	(void)mbuf_write_mem(app->frame, app->signal + off, FRAME);

	for (struct le *le = app->calls.head; le; le = le->next) {
		struct call *c = le->data;

		if (!c->established || c->closed ||
		    !sa_isset(&c->raddr, SA_ALL))
			continue;
		app->frame->pos = RTP_HEADER_SIZE;
		if (!rtp_send(c->rtp, &c->raddr, false, c->nsent == 0,
			      PT_PCMU, c->ts, app->frame))
			++c->nsent;
		c->ts += FRAME;
		sent = true;
	}

	if (sent && app->tick_last) {
		uint64_t iv = now - app->tick_last;

		hist_add(&app->tx_jit, iv > PTIME_US ? iv - PTIME_US :
			 PTIME_US - iv);
	}
	app->tick_last = sent ? now : 0;

	++app->tick_n;
	due = app->tick_t0 + app->tick_n * PTIME_US;
	now = mono_us();
	if (now > due + 5 * PTIME_US) {
		/* blocked for long: restart the schedule, no burst */
		app->tick_t0 = now;
		app->tick_n = 0;
		due = now;
	}
	/* libre timers have 1 ms granularity and never fire early */
	tmr_start(&app->tick, due > now ? (due - now + 999) / 1000 : 0,
		  tick_h, app);
}

/* ---- SIP ---- */

static int set_remote(struct call *c)
{
	const struct sdp_format *fmt = sdp_media_rformat(c->sdpm, "PCMU");
	struct sa rtcp;

	if (!fmt)
		return EPROTO;
	sa_cpy(&c->raddr, sdp_media_raddr(c->sdpm));
	sdp_media_raddr_rtcp(c->sdpm, &rtcp);
	rtcp_start(c->rtp, "loadgen", &rtcp);
	return 0;
}

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	int err = sdp_decode(c->sdp, msg->mb, true);

	if (!err)
		err = set_remote(c);
	if (!err)
		err = sdp_encode(descp, c->sdp, false);
	return err;
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	int err = sdp_decode(c->sdp, msg->mb, false);

	return err ? err : set_remote(c);
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	struct app *app = c->app;
	(void)msg;

	if (c->closed || c->established)
		return;
	c->established = true;
	c->t_estab = mono_us();
	app->setup_us[app->up++] = (uint32_t)(c->t_estab - c->t_invite);
	++app->settled;
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	struct app *app = c->app;

	if (c->closed)
		return;
	if (!c->established) {
		if (err)
			re_fprintf(stderr, "loadgen: call %u failed: %m %u\n",
				   c->id, err, msg ? msg->scode : 0);
		call_fail(c, msg ? msg->scode : 0);
		return;
	}
	/* the far end hung up during the test */
	++app->dropped;
	call_account(c, real_ns());
	call_close(c);
}

static int auth_h(char **user, char **pass, const char *realm, void *arg)
{
	struct app *app = arg;
	int err;
	(void)realm;

	if (!app->user)
		return EAUTH;
	err = str_dup(user, app->user);
	return err ? err : str_dup(pass, app->pass);
}

static int dial_one(struct app *app)
{
	struct call *c;
	struct mbuf *desc = NULL;
	char from[128];
	int err;

	c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c)
		return ENOMEM;
	c->app = app;
	c->id = ++app->placed;
	c->ts = rand_u32();
	list_append(&app->calls, &c->le, c);

	err = sdp_session_alloc(&c->sdp, &app->media_ip);
	if (!err)
		err = rtp_listen(&c->rtp, IPPROTO_UDP, &app->media_ip,
				 app->rtp_min, app->rtp_max, true, rtp_h,
				 rtcp_h, c);
	if (err) {
		re_fprintf(stderr, "loadgen: call %u: no RTP socket: %m\n",
			   c->id, err);
		goto out;
	}
	{
		/* the first SIOCGSTAMPNS turns the socket's receive stamps
		 * on (and fails: nothing received yet). Not SO_TIMESTAMPNS:
		 * with it the kernel puts the stamp in a control message,
		 * which libre's recvfrom() drops, instead of on the socket */
		struct timespec ts;
		int fd = udp_sock_fd(rtp_sock(c->rtp), AF_INET);
		(void)ioctl(fd, SIOCGSTAMPNS, &ts);
	}
	err  = sdp_media_add(&c->sdpm, c->sdp, "audio",
			     sa_port(rtp_local(c->rtp)), "RTP/AVP");
	if (!err)
		err = sdp_format_add(NULL, c->sdpm, false, "0", "PCMU", SRATE,
				     1, NULL, NULL, NULL, false, NULL);
	if (!err)
		err = sdp_encode(&desc, c->sdp, true);
	if (err)
		goto out;

	re_snprintf(from, sizeof(from), "sip:+1555%07u@%J", c->id,
		    &app->laddr);
	c->t_invite = mono_us();
	err = sipsess_connect(&c->sess, app->sock, app->target, NULL, from,
			      "loadgen", NULL, 0, "application/sdp", desc,
			      auth_h, app, false, offer_h, answer_h, NULL,
			      estab_h, NULL, NULL, close_h, c, NULL);
	if (err)
		re_fprintf(stderr, "loadgen: call %u: INVITE failed: %m\n",
			   c->id, err);

 out:
	mem_deref(desc);
	if (err)
		call_fail(c, 0);
	return err;
}

static void start_plateau(struct app *app);
static void hangup_all(struct app *app);

/* Place the calls that are due, at the configured rate. */
static void dial_tmr_h(void *arg)
{
	struct app *app = arg;
	uint64_t el = mono_us() - app->dial_t0;
	uint64_t due = (uint64_t)(el / 1e6 * app->rate) + 1;
	uint64_t next_us;

	while (app->placed < app->ncalls && app->placed < due)
		(void)dial_one(app);
	if (app->placed >= app->ncalls)
		return;

	next_us = (uint64_t)(app->placed / app->rate * 1e6);
	tmr_start(&app->dial, next_us > el ? (next_us - el + 999) / 1000 : 0,
		  dial_tmr_h, app);
}

/* Calls not answered in time are cancelled; when all have settled, the
 * plateau begins. */
static void check_tmr_h(void *arg)
{
	struct app *app = arg;
	uint64_t now = mono_us();

	for (struct le *le = app->calls.head; le; le = le->next) {
		struct call *c = le->data;

		if (!c->established && !c->closed &&
		    now - c->t_invite > app->setup_timeout_ms * 1000ULL) {
			re_fprintf(stderr, "loadgen: call %u: no answer in "
				   "%u ms\n", c->id, app->setup_timeout_ms);
			call_fail(c, 408);
		}
	}

	if (app->phase == PH_DIAL && app->placed >= app->ncalls &&
	    app->settled >= app->ncalls) {
		start_plateau(app);
		return;
	}
	tmr_start(&app->check, CHECK_MS, check_tmr_h, app);
}

static void plateau_tmr_h(void *arg)
{
	hangup_all(arg);
}

static void start_plateau(struct app *app)
{
	app->phase = PH_PLATEAU;
	app->t_plateau = mono_us();
	emit(app, "plateau");
	tmr_start(&app->plateau, app->duration_s * 1000ULL, plateau_tmr_h,
		  app);
}

static void quit_tmr_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void bye_destructor(void *arg)
{
	struct bye *b = arg;

	list_unlink(&b->le);
	mem_deref(b->callid);
}

/* Release one call; an established one sends BYE, which we then wait
 * for. */
static void hangup_one(struct app *app, struct call *c, uint64_t now_ns)
{
	struct bye *b;

	++app->hung_up;
	if (!c->established) {
		call_fail(c, 0);     /* CANCEL */
		return;
	}
	call_account(c, now_ns);
	++app->ended;
	b = mem_zalloc(sizeof(*b), bye_destructor);
	if (b && !str_dup(&b->callid,
			  sip_dialog_callid(sipsess_dialog(c->sess)))) {
		list_append(&app->byes, &b->le, b);
		++app->bye_sent;
	}
	else {
		mem_deref(b);
	}
	call_close(c);
}

static void bye_check(struct app *app)
{
	if (!app->hangup_done || app->byes.head || app->t_bye_done)
		return;
	app->t_bye_done = mono_us();
	/* a moment for our ACKs and the last retransmissions */
	tmr_start(&app->quit, 100, quit_tmr_h, NULL);
}

/* Hang up the calls that are due, oldest first, at --hangup-rate. */
static void hangup_tmr_h(void *arg)
{
	struct app *app = arg;
	uint64_t el = mono_us() - app->t_hangup;
	uint64_t now_ns = real_ns();
	uint64_t due = app->hangup_rate > 0 ?
		(uint64_t)(el / 1e6 * app->hangup_rate) + 1 : UINT64_MAX;
	struct le *le = app->calls.head;

	while (le) {
		struct call *c = le->data;

		le = le->next;
		if (c->closed)
			continue;
		if (app->hung_up >= due) {
			uint64_t next = (uint64_t)(app->hung_up /
						   app->hangup_rate * 1e6);
			tmr_start(&app->hangup, next > el ?
				  (next - el + 999) / 1000 : 1,
				  hangup_tmr_h, app);
			return;
		}
		hangup_one(app, c, now_ns);
	}

	app->hangup_done = true;
	tmr_start(&app->quit, BYE_WAIT_MS, quit_tmr_h, NULL);
	bye_check(app);
}

static void hangup_all(struct app *app)
{
	if (app->phase == PH_HANGUP)
		return;
	if (app->phase == PH_DIAL)
		app->t_plateau = mono_us();
	app->phase = PH_HANGUP;
	app->t_hangup = mono_us();
	tmr_cancel(&app->dial);
	tmr_cancel(&app->check);
	tmr_cancel(&app->plateau);
	emit(app, "hangup");
	hangup_tmr_h(app);
}

/* Watch the final responses to our BYEs go by. */
static void trace_h(bool tx, enum sip_transp tp, const struct sa *src,
		    const struct sa *dst, const uint8_t *pkt, size_t len,
		    void *arg)
{
	struct app *app = arg;
	struct sip_msg *msg = NULL;
	struct mbuf *mb;
	(void)tp;
	(void)src;
	(void)dst;

	if (tx || !app->byes.head || len < 12 || memcmp(pkt, "SIP/2.0 ", 8))
		return;
	mb = mbuf_alloc(len);
	if (!mb)
		return;
	(void)mbuf_write_mem(mb, pkt, len);
	mb->pos = 0;
	if (!sip_msg_decode(&msg, mb) && msg->scode >= 200 &&
	    !pl_strcmp(&msg->cseq.met, "BYE")) {
		for (struct le *le = app->byes.head; le; le = le->next) {
			struct bye *b = le->data;

			if (pl_strcmp(&msg->callid, b->callid))
				continue;
			if (msg->scode < 300)
				++app->bye_ok;
			else
				++app->bye_failed;
			mem_deref(b);
			break;
		}
		bye_check(app);
	}
	mem_deref(msg);
	mem_deref(mb);
}

/* re_main's signal handler takes no argument, so it alone uses a global. */
static struct app *g_app;

static void on_signal(int sig)
{
	struct app *app = g_app;
	(void)sig;

	if (app->phase == PH_HANGUP) {
		re_cancel();
		return;
	}
	app->interrupted = true;
	hangup_all(app);
}

static int fail_codes_json(struct re_printf *pf, const struct app *app)
{
	int err = re_hprintf(pf, "{");

	for (uint32_t i = 0; i < app->nfail_codes; i++)
		err |= re_hprintf(pf, "%s\"%u\":%u", i ? "," : "",
				  app->fail[i].code, app->fail[i].n);
	return err | re_hprintf(pf, "}");
}

static void summary(struct app *app)
{
	double plateau_s = app->t_hangup > app->t_plateau ?
		(app->t_hangup - app->t_plateau) / 1e6 : 0;
	struct samples setup = {app->setup_us, app->up};
	struct samples first_rx = {app->first_rx_us, app->nfirst_rx};

	re_printf("{\"event\":\"summary\",\"calls\":%u,\"placed\":%u,"
		  "\"up\":%u,\"failed\":%u,\"fail_codes\":%H,"
		  "\"dropped\":%u,\"interrupted\":%s,\"rate\":%.1f,"
		  "\"plateau_s\":%.2f,\"ramp_s\":%.2f,"
		  "\"setup_ms\":%H,\"first_rx_ms\":%H,"
		  "\"tx_packets\":%llu,\"rx_packets\":%llu,"
		  "\"rx_expected\":%llu,\"rx_lost\":%llu,"
		  "\"rx_expected_time\":%llu,\"rx_dup\":%llu,"
		  "\"rx_voiced\":%llu,\"rx_other_pt\":%llu,"
		  "\"rx_late\":%llu,\"rx_ssrc_changes\":%llu,"
		  "\"rx_foreign\":%llu,\"calls_foreign\":%u,"
		  "\"calls_no_rx\":%u,\"rtcp_rx\":%llu,"
		  "\"rx_unstamped\":%llu,"
		  "\"rx_jitter_ms\":%H,\"rx_jitter_plateau_ms\":%H,"
		  "\"tx_jitter_ms\":%H,"
		  "\"bye\":{\"sent\":%u,\"ok\":%u,\"failed\":%u,"
		  "\"unanswered\":%u,\"all_answered_ms\":%.1f}}\n",
		  app->ncalls, app->placed, app->up, app->failed,
		  fail_codes_json, app, app->dropped,
		  app->interrupted ? "true" : "false", app->rate, plateau_s,
		  app->t_plateau > app->dial_t0 ?
		  (app->t_plateau - app->dial_t0) / 1e6 : 0.0,
		  samples_json, &setup, samples_json, &first_rx,
		  (unsigned long long)app->tx_packets,
		  (unsigned long long)app->rx_packets,
		  (unsigned long long)app->rx_expected,
		  (unsigned long long)app->rx_lost,
		  (unsigned long long)app->rx_expected_time,
		  (unsigned long long)app->rx_dup,
		  (unsigned long long)app->rx_voiced,
		  (unsigned long long)app->rx_other,
		  (unsigned long long)app->rx_late,
		  (unsigned long long)app->rx_ssrc_changes,
		  (unsigned long long)app->rx_foreign, app->calls_foreign,
		  app->no_rx, (unsigned long long)app->rtcp_rx,
		  (unsigned long long)app->ts_fallback,
		  hist_json, &app->rx_jit, hist_json, &app->rx_jit_plateau,
		  hist_json, &app->tx_jit,
		  app->bye_sent, app->bye_ok, app->bye_failed,
		  list_count(&app->byes), app->t_bye_done ?
		  (app->t_bye_done - app->t_hangup) / 1e3 : -1.0);
}

/* Room for every socket: 2 per call (RTP, RTCP) plus SIP. libre's poll
 * table defaults to FD_SETSIZE (1024) entries and refuses fds beyond,
 * so it must be sized before the first socket exists. */
static int raise_fd_limit(uint32_t ncalls)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)ncalls * 2 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return errno;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >
			want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			return errno;
	}
	if (rl.rlim_cur < want) {
		re_fprintf(stderr, "loadgen: only %llu file descriptors for "
			   "%u calls\n", (unsigned long long)rl.rlim_cur,
			   ncalls);
		return EMFILE;
	}
	return fd_setsize((int)MIN(rl.rlim_cur, (rlim_t)1 << 20));
}

static void usage(void)
{
	re_fprintf(stderr,
		   "usage: loadgen --target sip:NUMBER@IP:PORT [--calls N]"
		   " [--rate CALLS_PER_S]\n"
		   "               [--hangup-rate CALLS_PER_S (0: all at once)]\n"
		   "               [--duration S] [--listen IP:PORT]"
		   " [--setup-timeout MS]\n"
		   "               [--rtp-ports MIN-MAX] [--tone HZ (0: "
		   "300-3000 Hz multi-tone)]\n"
		   "               [--user U --password P]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"target",        required_argument, NULL, 't'},
		{"calls",         required_argument, NULL, 'n'},
		{"rate",          required_argument, NULL, 'r'},
		{"hangup-rate",   required_argument, NULL, 'H'},
		{"duration",      required_argument, NULL, 'd'},
		{"listen",        required_argument, NULL, 'l'},
		{"setup-timeout", required_argument, NULL, 's'},
		{"rtp-ports",     required_argument, NULL, 'p'},
		{"tone",          required_argument, NULL, 'f'},
		{"user",          required_argument, NULL, 'u'},
		{"password",      required_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	struct app app = {
		.ncalls = 10, .rate = 50, .duration_s = 10,
		.setup_timeout_ms = 10000, .rtp_min = 20000,
		.rtp_max = 30000, .tone_hz = 1000,
	};
	const char *listen = "127.0.0.1:0";
	unsigned pmin, pmax;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 't': app.target = optarg; break;
		case 'n': app.ncalls = (uint32_t)strtoul(optarg, NULL, 10);
			  break;
		case 'r': app.rate = strtod(optarg, NULL); break;
		case 'H': app.hangup_rate = strtod(optarg, NULL); break;
		case 'd': app.duration_s = (uint32_t)strtoul(optarg, NULL,
							     10);
			  break;
		case 'l': listen = optarg; break;
		case 's': app.setup_timeout_ms = (uint32_t)strtoul(optarg,
								   NULL, 10);
			  break;
		case 'p':
			if (sscanf(optarg, "%u-%u", &pmin, &pmax) != 2 ||
			    pmin < 1024 || pmax > 65535 || pmax < pmin + 2) {
				usage();
				return 2;
			}
			app.rtp_min = (uint16_t)pmin;
			app.rtp_max = (uint16_t)pmax;
			break;
		case 'f': app.tone_hz = (unsigned)strtoul(optarg, NULL, 10);
			  break;
		case 'u': app.user = optarg; break;
		case 'P': app.pass = optarg; break;
		default: usage(); return 2;
		}
	}
	if (!app.target || !app.ncalls || app.rate <= 0 || app.hangup_rate < 0 ||
	    app.tone_hz >= SRATE / 2 || (!app.user != !app.pass)) {
		usage();
		return 2;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = libre_init();
	if (err)
		return 1;
	err = raise_fd_limit(app.ncalls);
	if (err) {
		re_fprintf(stderr, "loadgen: file descriptors: %m\n", err);
		goto out;
	}

	app.setup_us = calloc(app.ncalls, sizeof(*app.setup_us));
	app.first_rx_us = calloc(app.ncalls, sizeof(*app.first_rx_us));
	app.frame = mbuf_alloc(RTP_HEADER_SIZE + FRAME);
	if (!app.setup_us || !app.first_rx_us || !app.frame ||
	    hist_init(&app.rx_jit) || hist_init(&app.tx_jit) ||
	    hist_init(&app.rx_jit_plateau)) {
		err = ENOMEM;
		goto out;
	}
	make_signal(&app);

	err = sa_decode(&app.laddr, listen, strlen(listen));
	if (err) {
		re_fprintf(stderr, "loadgen: bad --listen '%s'\n", listen);
		goto out;
	}
	sa_cpy(&app.media_ip, &app.laddr);
	sa_set_port(&app.media_ip, 0);

	err = sip_alloc(&app.sip, NULL, 1024, 1024, 1024, "parley-loadgen",
			NULL, &app);
	if (!err)
		sip_set_trace_handler(app.sip, trace_h);
	if (!err)
		err = sip_transp_add(app.sip, SIP_TRANSP_UDP, &app.laddr);
	if (!err) {
		/* the port actually bound, when --listen said 0 */
		struct sa dst = app.laddr;
		err = sip_transp_laddr(app.sip, &app.laddr, SIP_TRANSP_UDP,
				       &dst);
	}
	if (!err)
		err = sipsess_listen(&app.sock, app.sip, 1024, NULL, NULL);
	if (err) {
		re_fprintf(stderr, "loadgen: SIP on %s failed: %m\n", listen,
			   err);
		goto out;
	}

	g_app = &app;
	app.dial_t0 = app.tick_t0 = mono_us();
	tmr_start(&app.tick, PTIME, tick_h, &app);
	tmr_start(&app.dial, 0, dial_tmr_h, &app);
	tmr_start(&app.check, CHECK_MS, check_tmr_h, &app);
	re_printf("{\"event\":\"started\",\"sip\":\"%J\",\"target\":\"%s\","
		  "\"calls\":%u,\"rate\":%.1f,\"duration_s\":%u,\"pid\":%d}\n",
		  &app.laddr, app.target, app.ncalls, app.rate,
		  app.duration_s, (int)getpid());

	err = re_main(on_signal);
	summary(&app);

 out:
	tmr_cancel(&app.tick);
	tmr_cancel(&app.dial);
	tmr_cancel(&app.check);
	tmr_cancel(&app.plateau);
	tmr_cancel(&app.hangup);
	tmr_cancel(&app.quit);
	list_flush(&app.calls);
	list_flush(&app.byes);
	if (app.sock)
		sipsess_close_all(app.sock);
	mem_deref(app.sock);
	if (app.sip)
		sip_close(app.sip, true);
	mem_deref(app.sip);
	mem_deref(app.frame);
	free(app.setup_us);
	free(app.first_rx_us);
	free(app.rx_jit.b);
	free(app.rx_jit_plateau.b);
	free(app.tx_jit.b);
	libre_close();

	return err ? 1 : 0;
}
