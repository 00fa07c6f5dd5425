/* callee.c - a scripted SIP callee for tests, on libre.
 *
 * What it does with an INVITE depends on the dialled user (Request-URI user
 * part), so one process serves every scenario a test needs:
 *
 *   busy*             486 Busy Here
 *   decline*, reject* 603 Decline
 *   unavail*          480 Temporarily Unavailable
 *   fail*             500 Server Internal Error
 *   overload*         503 Service Unavailable
 *   noanswer*         180 Ringing until CANCEL (libre answers it with 487)
 *   voicemail*        180, 200 after the ring time; silence, then a
 *                     1000 Hz beep from 1.0 s to 1.5 s after the answer
 *   machine*          an answering machine: 180, 200, a spoken-like
 *                     greeting of about 3 s (or --greeting FILE.wav), a
 *                     1000 Hz beep of 0.5 s, then silence
 *   human*            a person: 180, 200, 0.3 s of silence, a short
 *                     spoken-like "hello" (0.5 s), then silence
 *   anything else     180, 200 after the ring time, then a 440 Hz tone
 *                     ("answer" says so explicitly)
 *
 * Modifiers anywhere in the user part: "hangupN" sends BYE N seconds after
 * the answer, "ringN" rings N ms instead of --ring-ms. --behaviour USER
 * makes every INVITE act as if USER had been dialled, for callers that can
 * only dial phone numbers (events still report the dialled user).
 *
 * --map FILE chooses the behaviour per dialled number instead: lines
 * "NUMBER BEHAVIOUR[,BEHAVIOUR...]" ('#' comments; "*" matches numbers
 * not listed; a leading '+' is optional). With several behaviours the
 * Nth INVITE to that number acts as the Nth (the last one repeats), so
 * "busy,busy,human-hangup2" is answered on the third attempt. The
 * "invite" event says which behaviour ("behaviour") and which INVITE to
 * that user it was ("n").
 *
 * With --user/--password every INVITE is challenged with 407 (401 with
 * --www-auth); wrong credentials get 403. The nonce is not checked.
 * Answered calls speak PCMU or PCMA (whichever the offer lists first) and
 * report RFC 4733 DTMF; with --record DIR the received audio is written to
 * DIR/<call-id>.wav (8 kHz mono 16-bit; characters other than [A-Za-z0-9.-]
 * in the Call-ID become '_').
 *
 * One JSON object per line on stdout for every event, so tests can count
 * attempts: listening, invite, challenge, reply, ringing, answered,
 * established, dtmf, cancel, bye (peer hung up), hangup (we hung up),
 * closed (anything else), options (answered 200), exit. "ts" is
 * wall-clock milliseconds.
 *
 * All calls' RTP runs from one shared 20 ms tick. SIGINT/SIGTERM hang up
 * all calls, give the BYEs 300 ms, and exit 0.
 */
#include <re.h>
#include <rem.h>
#include <endian.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum {
	SRATE = 8000,
	PTIME = 20,
	FRAME = SRATE * PTIME / 1000,
	TONE_HZ = 440,
	BEEP_HZ = 1000,
	AMPLITUDE = 8000,
	QUIT_WAIT_MS = 300,
	SPEECH_AMPLITUDE = 9000,
	HELLO_DELAY_MS = 300,
	BEEP_GAP_MS = 300,
	BEEP_MS = 500,
};

enum kind { K_TONE, K_VOICEMAIL, K_MACHINE, K_HUMAN };

/* pre-rendered audio, 8 kHz mono */
struct clip {
	int16_t *pcm;
	size_t n;
};

/* one number of --map */
struct mapent {
	struct le le;
	char *number;           /* without a leading '+' */
	char **behs;
	size_t nbehs;
	unsigned invites;       /* INVITEs seen for it */
};

struct app {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sip_lsnr *lsnr;
	struct list calls;
	struct tmr tick;
	struct tmr quit;
	uint64_t tick_t0;
	uint64_t tick_n;
	struct sa laddr;
	const char *user;       /* NULL: no authentication */
	const char *pass;
	const char *realm;
	const char *recdir;     /* NULL: no recording */
	const char *behaviour;  /* NULL: the dialled user decides */
	struct list map;        /* struct mapent (--map) */
	struct list seen;       /* struct mapent: INVITEs per unmapped user */
	struct clip greeting;   /* the machine's greeting */
	struct clip hello;      /* the human's hello */
	uint32_t ring_ms;
	bool www_auth;
	bool quitting;
};

struct call {
	struct le le;
	struct app *app;
	struct sipsess *sess;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	struct rtp_sock *rtp;
	struct tmr tmr_answer;
	struct tmr tmr_hangup;
	struct tmr tmr_free;
	struct sa raddr;
	char *callid;
	char *user;
	FILE *wav;
	uint32_t wav_samples;
	int pt;                 /* negotiated G.711 payload type (0 or 8) */
	int te_pt;              /* telephone-event payload type, or -1 */
	uint32_t dtmf_ts;       /* RTP timestamp of the last DTMF event */
	bool dtmf_seen;
	enum kind kind;
	bool answered;
	bool closed;
	uint32_t ring_ms;
	uint32_t hangup_s;      /* 0: never */
	uint64_t answered_at;
	uint32_t frames;        /* frames sent since the answer */
	uint32_t nsent;
	uint32_t nrecv;
};

enum auth_result { AUTH_NONE, AUTH_OK, AUTH_BAD };

static const struct {
	const char *prefix;
	uint16_t scode;
	const char *reason;
} rejections[] = {
	{"busy",    486, "Busy Here"},
	{"decline", 603, "Decline"},
	{"reject",  603, "Decline"},
	{"unavail", 480, "Temporarily Unavailable"},
	{"fail",    500, "Server Internal Error"},
	{"overload", 503, "Service Unavailable"},
};

/* ---- speech-like audio ----
 *
 * Voiced syllables: a glottal-like source at a drifting pitch (harmonics
 * falling off as 1/k) shaped by two formants of a vowel, under a smooth
 * envelope; two syllables make a word, words are separated by short
 * pauses. Energy, pitch and rhythm are those of speech, which is what
 * voice activity and answering-machine detectors look at. */

static const struct {
	double f1, f2;
} vowels[] = {
	{730, 1090}, {270, 2290}, {530, 1840}, {570, 840}, {440, 1020},
	{300, 870}, {660, 1720}, {490, 1350},
};

static double formant_gain(double f, double f1, double f2)
{
	const double bw = 140.0;
	double a = (f - f1) / bw, b = (f - f2) / bw;

	return 1.0 / (1.0 + a * a) + 0.7 / (1.0 + b * b) + 0.04;
}

/* nwords words of two syllables (syl_ms each) with gap_ms pauses */
static int speech_render(struct clip *c, unsigned nwords, unsigned syl_ms,
			 unsigned gap_ms, unsigned seed)
{
	const size_t syl = (size_t)SRATE * syl_ms / 1000;
	const size_t gap = (size_t)SRATE * gap_ms / 1000;
	size_t n = nwords * (2 * syl + gap), pos = 0;
	double phase = 0.0;

	c->pcm = mem_zalloc(n * sizeof(*c->pcm), NULL);
	if (!c->pcm)
		return ENOMEM;
	c->n = n;
	for (unsigned w = 0; w < nwords; w++) {
		for (unsigned s = 0; s < 2; s++) {
			unsigned v = (seed + w * 3 + s * 5) %
				ARRAY_SIZE(vowels);
			double f0base = 105.0 + (double)((seed + w * 7 + s) % 5)
				* 9.0;

			for (size_t i = 0; i < syl; i++) {
				double t = (double)i / (double)syl;
				double env = sin(M_PI * t);
				double f0 = f0base * (1.0 + 0.08 * sin(M_PI * t));
				double x = 0.0;

				phase += f0 / SRATE;
				if (phase >= 1.0)
					phase -= 1.0;
				for (int k = 1; k * f0 < 3400.0; k++)
					x += formant_gain(k * f0, vowels[v].f1,
							  vowels[v].f2) / k *
						sin(2 * M_PI * k * phase);
				c->pcm[pos++] = (int16_t)(SPEECH_AMPLITUDE *
					env * env * x / 1.6);
			}
		}
		pos += gap;
	}
	return 0;
}

/* an 8 kHz mono 16-bit PCM WAV (the greeting of --greeting) */
static int wav_load(struct clip *c, const char *path)
{
	uint8_t hdr[12], ch[8];
	uint16_t fmt[8];
	FILE *f = fopen(path, "rb");
	int err = EINVAL;

	if (!f)
		return errno;
	if (fread(hdr, 1, 12, f) != 12 || memcmp(hdr, "RIFF", 4) ||
	    memcmp(hdr + 8, "WAVE", 4))
		goto out;
	memset(fmt, 0, sizeof(fmt));
	while (fread(ch, 1, 8, f) == 8) {
		uint32_t len = ch[4] | ch[5] << 8 | ch[6] << 16 |
			(uint32_t)ch[7] << 24;

		if (!memcmp(ch, "fmt ", 4)) {
			if (len < 16 || fread(fmt, 1, 16, f) != 16)
				goto out;
			if (fseek(f, (long)(len - 16 + (len & 1)), SEEK_CUR))
				goto out;
			continue;
		}
		if (memcmp(ch, "data", 4)) {
			if (fseek(f, (long)(len + (len & 1)), SEEK_CUR))
				goto out;
			continue;
		}
		/* PCM, mono, 8000 Hz, 16 bits */
		if (le16toh(fmt[0]) != 1 || le16toh(fmt[1]) != 1 ||
		    le16toh(fmt[2]) != SRATE || fmt[3] || le16toh(fmt[7]) != 16)
			goto out;
		c->n = len / 2;
		c->pcm = mem_alloc(c->n * 2 + 2, NULL);
		if (!c->pcm) {
			err = ENOMEM;
			goto out;
		}
		c->n = fread(c->pcm, 2, c->n, f);
		for (size_t i = 0; i < c->n; i++)
			c->pcm[i] = (int16_t)le16toh((uint16_t)c->pcm[i]);
		err = c->n ? 0 : EINVAL;
		goto out;
	}
 out:
	fclose(f);
	return err;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Print a C string as a JSON string literal (strings come from the wire). */
static int json_str(struct re_printf *pf, const char *s)
{
	int err = re_hprintf(pf, "\"");

	for (; s && *s && !err; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			err = re_hprintf(pf, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			err = re_hprintf(pf, "\\u%04x", ch);
		else
			err = re_hprintf(pf, "%c", ch);
	}

	return err | re_hprintf(pf, "\"");
}

/* One event line; fmt, when given, adds fields and starts with a comma. */
static void emit(const char *event, const char *callid, const char *user,
		 const char *fmt, ...)
{
	va_list ap;

	re_printf("{\"event\":\"%s\",\"ts\":%llu", event, now_ms());
	if (callid)
		re_printf(",\"callid\":%H,\"user\":%H",
			  json_str, callid, json_str, user);
	if (fmt) {
		va_start(ap, fmt);
		re_vprintf(fmt, ap);
		va_end(ap);
	}
	re_printf("}\n");
}

/* ---- WAV writer: header first, sizes patched on close ---- */

static void put_le(FILE *f, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		fputc((int)((v >> (8 * i)) & 0xff), f);
}

static void wav_header(FILE *f, uint32_t nsamples)
{
	fputs("RIFF", f);
	put_le(f, 36 + nsamples * 2, 4);
	fputs("WAVEfmt ", f);
	put_le(f, 16, 4);
	put_le(f, 1, 2);                /* PCM */
	put_le(f, 1, 2);                /* mono */
	put_le(f, SRATE, 4);
	put_le(f, SRATE * 2, 4);        /* bytes per second */
	put_le(f, 2, 2);                /* block align */
	put_le(f, 16, 2);               /* bits */
	fputs("data", f);
	put_le(f, nsamples * 2, 4);
}

static FILE *wav_open(const char *dir, const char *callid)
{
	char path[512], name[200];
	size_t i;
	FILE *f;

	/* Call-IDs may hold '/', '@' and worse: keep a safe subset */
	for (i = 0; callid[i] && i < sizeof(name) - 1; i++) {
		char ch = callid[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
		name[i] = ok ? ch : '_';
	}
	name[i] = '\0';

	re_snprintf(path, sizeof(path), "%s/%s.wav", dir, name);
	f = fopen(path, "wb");
	if (f)
		wav_header(f, 0);
	return f;
}

static void wav_close(FILE *f, uint32_t nsamples)
{
	if (!f)
		return;
	rewind(f);
	wav_header(f, nsamples);
	fclose(f);
}

/* ---- calls ---- */

static void call_destructor(void *arg)
{
	struct call *c = arg;

	tmr_cancel(&c->tmr_answer);
	tmr_cancel(&c->tmr_hangup);
	tmr_cancel(&c->tmr_free);
	list_unlink(&c->le);
	mem_deref(c->sess);     /* sends BYE if still established */
	mem_deref(c->rtp);
	mem_deref(c->sdp);
	wav_close(c->wav, c->wav_samples);
	mem_deref(c->callid);
	mem_deref(c->user);
}

static void free_tmr_h(void *arg)
{
	mem_deref(arg);
}

/* Never free a call inside its own callbacks: mark it, free it next turn. */
static void call_close(struct call *c)
{
	c->closed = true;
	tmr_start(&c->tmr_free, 0, free_tmr_h, c);
}

/* The last event of a call, with its statistics. */
static void call_end(struct call *c, const char *event, int err,
		     const char *why)
{
	uint32_t ms = c->answered ?
		(uint32_t)(tmr_jiffies() - c->answered_at) : 0;

	if (err)
		emit(event, c->callid, c->user, ",\"duration_ms\":%u,"
		     "\"rx\":%u,\"tx\":%u,\"reason\":\"%s%m\"", ms,
		     c->nrecv, c->nsent, why ? why : "", err);
	else
		emit(event, c->callid, c->user, ",\"duration_ms\":%u,"
		     "\"rx\":%u,\"tx\":%u,\"reason\":\"%s\"", ms,
		     c->nrecv, c->nsent, why ? why : "");
	call_close(c);
}

/* sample n (from the answer) of what this callee says */
static int16_t call_sample(const struct call *c, uint32_t n)
{
	const struct app *app = c->app;
	const uint32_t t_ms = n / (SRATE / 1000);
	const size_t ms = SRATE / 1000;
	unsigned freq = 0;

	switch (c->kind) {

	case K_TONE:
		freq = TONE_HZ;
		break;

	case K_VOICEMAIL:
		freq = (t_ms >= 1000 && t_ms < 1500) ? BEEP_HZ : 0;
		break;

	case K_MACHINE: {
		size_t beep0 = app->greeting.n + BEEP_GAP_MS * ms;

		if (n < app->greeting.n)
			return app->greeting.pcm[n];
		if (n >= beep0 && n < beep0 + BEEP_MS * ms)
			freq = BEEP_HZ;
		break;
	}

	case K_HUMAN:
		if (n >= HELLO_DELAY_MS * ms &&
		    n - HELLO_DELAY_MS * ms < app->hello.n)
			return app->hello.pcm[n - HELLO_DELAY_MS * ms];
		break;
	}

	return freq ? (int16_t)(AMPLITUDE * sin(2 * M_PI * freq * n / SRATE))
		: 0;
}

static void send_frame(struct call *c)
{
	struct mbuf *mb;

	mb = mbuf_alloc(RTP_HEADER_SIZE + FRAME);
	if (!mb)
		return;
	mb->pos = mb->end = RTP_HEADER_SIZE;
	for (uint32_t i = 0; i < FRAME; i++) {
		uint32_t n = c->frames * FRAME + i;
		int16_t s = call_sample(c, n);

		mbuf_write_u8(mb, c->pt == 8 ? g711_pcm2alaw(s)
				: g711_pcm2ulaw(s));
	}
	mb->pos = RTP_HEADER_SIZE;

	if (!rtp_send(c->rtp, &c->raddr, false, c->nsent == 0,
		      (uint8_t)c->pt, c->frames * FRAME, mb))
		c->nsent++;
	mem_deref(mb);
	c->frames++;
}

/* The shared media tick: one timer for all calls, corrected for drift. */
static void tick_h(void *arg)
{
	struct app *app = arg;
	int64_t delay;

	for (struct le *le = app->calls.head; le; le = le->next) {
		struct call *c = le->data;

		if (c->answered && !c->closed && sa_isset(&c->raddr, SA_ALL))
			send_frame(c);
	}

	++app->tick_n;
	delay = (int64_t)(app->tick_t0 + app->tick_n * PTIME) -
		(int64_t)tmr_jiffies();
	tmr_start(&app->tick, delay < 0 ? 0 : (uint64_t)delay, tick_h, app);
}

static void handle_dtmf(struct call *c, const struct rtp_header *hdr,
			struct mbuf *mb)
{
	static const char digits[] = "0123456789*#ABCD";
	uint8_t event;

	/* all packets of one RFC 4733 event carry the same timestamp */
	if (mbuf_get_left(mb) < 4 || (c->dtmf_seen && hdr->ts == c->dtmf_ts))
		return;
	c->dtmf_seen = true;
	c->dtmf_ts = hdr->ts;

	event = mbuf_buf(mb)[0];
	if (event < 16)
		emit("dtmf", c->callid, c->user, ",\"digit\":\"%c\"",
		     digits[event]);
}

static void media_recv_h(const struct sa *src, const struct rtp_header *hdr,
			 struct mbuf *mb, void *arg)
{
	struct call *c = arg;
	int16_t pcm[1024];
	size_t n;

	if (c->closed)
		return;
	if (c->te_pt >= 0 && hdr->pt == c->te_pt) {
		handle_dtmf(c, hdr, mb);
		return;
	}
	if (hdr->pt != c->pt)
		return;

	c->nrecv++;
	if (!c->wav)
		return;

	n = MIN(mbuf_get_left(mb), ARRAY_SIZE(pcm));
	for (size_t i = 0; i < n; i++) {
		uint8_t b = mbuf_buf(mb)[i];
		int16_t s = c->pt == 8 ? g711_alaw2pcm(b) : g711_ulaw2pcm(b);

		pcm[i] = (int16_t)htole16((uint16_t)s);
	}
	c->wav_samples += (uint32_t)fwrite(pcm, 2, n, c->wav);
}

static void hangup_tmr_h(void *arg)
{
	struct call *c = arg;

	if (!c->closed)
		call_end(c, "hangup", 0, "timer"); /* freeing sends BYE */
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;

	emit("established", c->callid, c->user, NULL);
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;

	if (c->closed)
		return;
	if (err == ECONNRESET)
		call_end(c, c->answered ? "bye" : "cancel", 0, NULL);
	else
		call_end(c, "closed", err, NULL);
}

/* A re-INVITE: take the new offer, keep the codec chosen first. */
static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	int err = sdp_decode(c->sdp, msg->mb, true);

	if (err)
		return err;
	sa_cpy(&c->raddr, sdp_media_raddr(c->sdpm));

	return sdp_encode(descp, c->sdp, false);
}

static void answer_tmr_h(void *arg)
{
	struct call *c = arg;
	struct mbuf *desc = NULL;
	int err;

	err = sdp_encode(&desc, c->sdp, false);
	if (!err)
		err = sipsess_answer(c->sess, 200, "OK", desc, NULL);
	mem_deref(desc);
	if (err) {
		call_end(c, "closed", err, "answer: ");
		return;
	}

	c->answered = true;
	c->answered_at = tmr_jiffies();
	if (c->app->recdir)
		c->wav = wav_open(c->app->recdir, c->callid);
	emit("answered", c->callid, c->user,
	     ",\"codec\":\"%s\",\"remote_rtp\":\"%J\"",
	     c->pt == 8 ? "PCMA" : "PCMU", &c->raddr);

	if (c->hangup_s)
		tmr_start(&c->tmr_hangup, c->hangup_s * 1000ULL,
			  hangup_tmr_h, c);
}

/* Digits after the word in the user part, e.g. "hangup5" -> 5. */
static void user_number(const char *user, const char *word, uint32_t *valp)
{
	const char *p = strcasestr(user, word);
	char *end;
	unsigned long v;

	if (!p)
		return;
	p += strlen(word);
	v = strtoul(p, &end, 10);
	if (end != p)
		*valp = (uint32_t)v;
}

static bool user_is(const char *user, const char *prefix)
{
	return 0 == strncasecmp(user, prefix, strlen(prefix));
}

/* First G.711 codec the offer lists (sdp_decode sorted ours that way). */
static int choose_codec(struct call *c)
{
	const struct sdp_format *te;

	c->pt = -1;
	for (struct le *le = list_head(sdp_media_format_lst(c->sdpm, true));
	     le && c->pt < 0; le = le->next) {
		const struct sdp_format *fmt = le->data;

		if (fmt->sup && (fmt->pt == 0 || fmt->pt == 8))
			c->pt = fmt->pt;
	}

	te = sdp_media_rformat(c->sdpm, "telephone-event");
	c->te_pt = te ? te->pt : -1;
	sa_cpy(&c->raddr, sdp_media_raddr(c->sdpm));

	return c->pt < 0 ? EPROTO : 0;
}

static int call_alloc(struct call **cp, struct app *app,
		      const char *callid, const char *user, const char *beh)
{
	struct call *c;
	struct sa laddr;
	int err;

	c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c)
		return ENOMEM;

	c->app = app;
	c->te_pt = -1;
	c->ring_ms = app->ring_ms;
	c->kind = user_is(beh, "voicemail") ? K_VOICEMAIL :
		user_is(beh, "machine") ? K_MACHINE :
		user_is(beh, "human") ? K_HUMAN : K_TONE;
	user_number(beh, "hangup", &c->hangup_s);
	user_number(beh, "ring", &c->ring_ms);
	list_append(&app->calls, &c->le, c);

	err  = str_dup(&c->callid, callid);
	err |= str_dup(&c->user, user);
	if (err)
		goto out;

	sa_cpy(&laddr, &app->laddr);
	sa_set_port(&laddr, 0);
	err = sdp_session_alloc(&c->sdp, &laddr);
	if (err)
		goto out;
	err = rtp_listen(&c->rtp, IPPROTO_UDP, &laddr, 20000, 40000, true,
			 media_recv_h, NULL, c);
	if (err)
		goto out;
	err  = sdp_media_add(&c->sdpm, c->sdp, "audio",
			     sa_port(rtp_local(c->rtp)), "RTP/AVP");
	err |= sdp_format_add(NULL, c->sdpm, false, "0", "PCMU", SRATE, 1,
			      NULL, NULL, NULL, false, NULL);
	err |= sdp_format_add(NULL, c->sdpm, false, "8", "PCMA", SRATE, 1,
			      NULL, NULL, NULL, false, NULL);
	err |= sdp_format_add(NULL, c->sdpm, false, "101", "telephone-event",
			      SRATE, 1, NULL, NULL, NULL, false, "0-15");

 out:
	if (err)
		mem_deref(c);
	else
		*cp = c;
	return err;
}

static enum auth_result check_auth(const struct app *app,
				   const struct sip_msg *msg)
{
	const struct sip_hdr *h;
	struct httpauth_digest_resp resp;
	uint8_t ha1[MD5_SIZE];

	h = sip_msg_hdr(msg, SIP_HDR_PROXY_AUTHORIZATION);
	if (!h)
		h = sip_msg_hdr(msg, SIP_HDR_AUTHORIZATION);
	if (!h)
		return AUTH_NONE;

	if (httpauth_digest_response_decode(&resp, &h->val) ||
	    pl_strcmp(&resp.username, app->user) ||
	    pl_strcmp(&resp.realm, app->realm) ||
	    md5_printf(ha1, "%s:%s:%s", app->user, app->realm, app->pass))
		return AUTH_BAD;

	return httpauth_digest_response_auth(&resp, &msg->met, ha1)
		? AUTH_BAD : AUTH_OK;
}

static void reply(struct app *app, const struct sip_msg *msg,
		  const char *callid, const char *user,
		  uint16_t scode, const char *reason)
{
	(void)sip_treply(NULL, app->sip, msg, scode, reason);
	emit("reply", callid, user, ",\"code\":%u", scode);
}

static void challenge(struct app *app, const struct sip_msg *msg,
		      const char *callid, const char *user)
{
	const bool www = app->www_auth;

	(void)sip_treplyf(NULL, NULL, app->sip, msg, false, www ? 401 : 407,
			  www ? "Unauthorized" : "Proxy Authentication Required",
			  "%s: Digest realm=\"%s\", nonce=\"%08x%08x\", "
			  "qop=\"auth\", algorithm=MD5\r\n"
			  "Content-Length: 0\r\n\r\n",
			  www ? "WWW-Authenticate" : "Proxy-Authenticate",
			  app->realm, rand_u32(), rand_u32());
	emit("challenge", callid, user, ",\"code\":%u", www ? 401 : 407);
}

/* ---- behaviour per number (--map) ---- */

static void mapent_destructor(void *arg)
{
	struct mapent *m = arg;

	list_unlink(&m->le);
	for (size_t i = 0; i < m->nbehs; i++)
		mem_deref(m->behs[i]);
	mem_deref(m->behs);
	mem_deref(m->number);
}

static struct mapent *mapent_find(const struct list *l, const char *number)
{
	if (number[0] == '+')
		++number;
	for (struct le *le = l->head; le; le = le->next) {
		struct mapent *m = le->data;
		if (!strcmp(m->number, number))
			return m;
	}
	return NULL;
}

static int mapent_add(struct list *l, const char *number, const char *behs,
		      struct mapent **mp)
{
	struct mapent *m = mem_zalloc(sizeof(*m), mapent_destructor);
	int err;

	if (!m)
		return ENOMEM;
	err = str_dup(&m->number, number[0] == '+' ? number + 1 : number);
	for (const char *p = behs; !err && p && *p;) {
		size_t len = strcspn(p, ",");
		char **nb = mem_reallocarray(m->behs, m->nbehs + 1,
						sizeof(*nb), NULL);

		if (!nb) {
			err = ENOMEM;
			break;
		}
		m->behs = nb;
		m->behs[m->nbehs] = NULL;
		err = re_sdprintf(&m->behs[m->nbehs], "%b", p, len);
		if (!err)
			++m->nbehs;
		p += len;
		if (*p == ',')
			++p;
	}
	if (err) {
		mem_deref(m);
		return err;
	}
	list_append(l, &m->le, m);
	if (mp)
		*mp = m;
	return 0;
}

static int map_load(struct app *app, const char *path)
{
	char line[512];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f)
		return errno;
	while (!err && fgets(line, sizeof(line), f)) {
		char number[64], behs[400];

		++lineno;
		if (line[strspn(line, " \t")] == '#')
			continue;
		if (sscanf(line, "%63s %399s", number, behs) != 2) {
			if (line[strspn(line, " \t\r\n")]) {
				re_fprintf(stderr, "callee: %s:%u: expected "
					   "NUMBER BEHAVIOUR\n", path, lineno);
				err = EINVAL;
			}
			continue;
		}
		err = mapent_add(&app->map, number, behs, NULL);
	}
	fclose(f);
	return err;
}

/* What this INVITE does, and which INVITE to this user it is (*np, from
 * 1): --behaviour, else the map, else the dialled user itself. */
static const char *behaviour_for(struct app *app, const char *user,
				 unsigned *np)
{
	struct mapent *m = mapent_find(&app->map, user), *def, *seen;

	if (m && m->nbehs) {
		*np = ++m->invites;
		return m->behs[MIN(m->invites, m->nbehs) - 1];
	}
	/* anything else is counted per user, and "*" applies to it */
	seen = mapent_find(&app->seen, user);
	if (!seen && mapent_add(&app->seen, user, NULL, &seen))
		return app->behaviour ? app->behaviour : user;
	*np = ++seen->invites;
	def = mapent_find(&app->map, "*");
	if (def && def->nbehs)
		return def->behs[MIN(seen->invites, def->nbehs) - 1];
	return app->behaviour ? app->behaviour : user;
}

static void connect_h(const struct sip_msg *msg, void *arg)
{
	struct app *app = arg;
	const char *beh;
	enum auth_result auth = AUTH_NONE;
	struct call *c = NULL;
	char *user = NULL, *from = NULL, *callid = NULL;
	unsigned n = 0;
	size_t i;

	if (pl_strdup(&user, &msg->uri.user) ||
	    pl_strdup(&from, &msg->from.auri) ||
	    pl_strdup(&callid, &msg->callid)) {
		(void)sip_treply(NULL, app->sip, msg, 500, "Out of Memory");
		goto out;
	}
	if (app->user)
		auth = check_auth(app, msg);
	/* a challenged INVITE is not an attempt of its own */
	beh = app->user && auth != AUTH_OK ? user :
		behaviour_for(app, user, &n);
	if (n)
		emit("invite", callid, user, ",\"from\":%H,\"auth\":%s,"
		     "\"behaviour\":%H,\"n\":%u", json_str, from,
		     auth == AUTH_OK ? "true" : "false", json_str, beh, n);
	else
		emit("invite", callid, user, ",\"from\":%H,\"auth\":%s",
		     json_str, from, auth == AUTH_OK ? "true" : "false");

	if (app->quitting) {
		reply(app, msg, callid, user, 503, "Service Unavailable");
		goto out;
	}
	if (app->user && auth == AUTH_NONE) {
		challenge(app, msg, callid, user);
		goto out;
	}
	if (app->user && auth == AUTH_BAD) {
		reply(app, msg, callid, user, 403, "Forbidden");
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(rejections); i++) {
		if (user_is(beh, rejections[i].prefix)) {
			reply(app, msg, callid, user, rejections[i].scode,
			      rejections[i].reason);
			goto out;
		}
	}

	if (call_alloc(&c, app, callid, user, beh)) {
		reply(app, msg, callid, user, 500, "Server Internal Error");
		goto out;
	}

	/* an INVITE without an offer (late offer) is not supported */
	if (!mbuf_get_left(msg->mb) || sdp_decode(c->sdp, msg->mb, true) ||
	    choose_codec(c)) {
		reply(app, msg, callid, user, 488, "Not Acceptable Here");
		mem_deref(c);
		goto out;
	}

	if (sipsess_accept(&c->sess, app->sock, msg, 180, "Ringing", "callee",
			   "application/sdp", NULL, NULL, NULL, false,
			   offer_h, NULL, estab_h, NULL, NULL, close_h, c,
			   "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n")) {
		reply(app, msg, callid, user, 500, "Server Internal Error");
		mem_deref(c);
		goto out;
	}
	emit("ringing", callid, user, NULL);

	if (!user_is(beh, "noanswer"))
		tmr_start(&c->tmr_answer, c->ring_ms, answer_tmr_h, c);

 out:
	mem_deref(user);
	mem_deref(from);
	mem_deref(callid);
}

/* OPTIONS (trunk checks): 200 with what we allow. */
static bool options_h(const struct sip_msg *msg, void *arg)
{
	struct app *app = arg;

	if (pl_strcmp(&msg->met, "OPTIONS"))
		return false;
	(void)sip_replyf(app->sip, msg, 200, "OK",
			 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n");
	emit("options", NULL, NULL, NULL);
	return true;
}

static void quit_tmr_h(void *arg)
{
	re_cancel();
}

/* re_main's signal handler takes no argument, so it alone uses a global. */
static struct app *g_app;

/* First signal: hang up every call and leave 300 ms for the BYEs. */
static void on_signal(int sig)
{
	struct app *app = g_app;

	if (app->quitting) {
		re_cancel();
		return;
	}
	app->quitting = true;

	for (struct le *le = app->calls.head; le; le = le->next) {
		struct call *c = le->data;

		if (!c->closed)
			call_end(c, c->answered ? "hangup" : "closed", 0,
				 "signal");
	}
	tmr_start(&app->quit, QUIT_WAIT_MS, quit_tmr_h, NULL);
}

static void usage(void)
{
	re_fprintf(stderr,
		   "usage: callee --listen IP:PORT [--user U --password P]"
		   " [--realm R] [--www-auth]\n"
		   "              [--record DIR] [--ring-ms N]"
		   " [--behaviour USER]\n"
		   "              [--map FILE] [--greeting FILE.wav]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen",   required_argument, NULL, 'l'},
		{"user",     required_argument, NULL, 'u'},
		{"password", required_argument, NULL, 'p'},
		{"realm",    required_argument, NULL, 'r'},
		{"www-auth", no_argument,       NULL, 'w'},
		{"record",   required_argument, NULL, 'd'},
		{"ring-ms",  required_argument, NULL, 'R'},
		{"behaviour", required_argument, NULL, 'b'},
		{"map",      required_argument, NULL, 'm'},
		{"greeting", required_argument, NULL, 'g'},
		{NULL, 0, NULL, 0},
	};
	struct app app = {.realm = "callee", .ring_ms = 200};
	const char *listen = NULL, *map = NULL, *greeting = NULL;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l': listen = optarg; break;
		case 'u': app.user = optarg; break;
		case 'p': app.pass = optarg; break;
		case 'r': app.realm = optarg; break;
		case 'w': app.www_auth = true; break;
		case 'd': app.recdir = optarg; break;
		case 'b': app.behaviour = optarg; break;
		case 'm': map = optarg; break;
		case 'g': greeting = optarg; break;
		case 'R': app.ring_ms = (uint32_t)strtoul(optarg, NULL, 10);
			  break;
		default: usage(); return 2;
		}
	}
	if (!listen || (!app.user != !app.pass)) {
		usage();
		return 2;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = libre_init();
	if (err)
		return 1;

	err = sa_decode(&app.laddr, listen, strlen(listen));
	if (err) {
		re_fprintf(stderr, "callee: bad --listen '%s'\n", listen);
		goto out;
	}
	if (map) {
		err = map_load(&app, map);
		if (err) {
			re_fprintf(stderr, "callee: --map %s: %m\n", map, err);
			goto out;
		}
	}
	/* "Hi, you've reached ... leave a message after the tone": 7 words;
	 * "hello": one */
	err = greeting ? wav_load(&app.greeting, greeting) :
		speech_render(&app.greeting, 7, 190, 140, 1);
	if (err) {
		re_fprintf(stderr, "callee: greeting %s: %m\n",
			   greeting ? greeting : "", err);
		goto out;
	}
	err = speech_render(&app.hello, 1, 220, 0, 4);
	if (err)
		goto out;

	err = sip_alloc(&app.sip, NULL, 32, 32, 32, "parley-test-callee",
			NULL, NULL);
	if (!err)
		err = sip_transp_add(app.sip, SIP_TRANSP_UDP, &app.laddr);
	if (!err)
		err = sip_transp_add(app.sip, SIP_TRANSP_TCP, &app.laddr);
	if (!err)
		err = sipsess_listen(&app.sock, app.sip, 32, connect_h, &app);
	if (!err)
		err = sip_listen(&app.lsnr, app.sip, true, options_h, &app);
	if (err) {
		re_fprintf(stderr, "callee: SIP on %J failed: %m\n",
			   &app.laddr, err);
		goto out;
	}

	g_app = &app;
	app.tick_t0 = tmr_jiffies();
	tmr_start(&app.tick, PTIME, tick_h, &app);
	emit("listening", NULL, NULL, ",\"addr\":\"%J\",\"pid\":%d",
	     &app.laddr, (int)getpid());

	err = re_main(on_signal);

 out:
	tmr_cancel(&app.tick);
	tmr_cancel(&app.quit);
	list_flush(&app.calls);
	list_flush(&app.map);
	list_flush(&app.seen);
	mem_deref(app.greeting.pcm);
	mem_deref(app.hello.pcm);
	sipsess_close_all(app.sock);
	mem_deref(app.sock);
	mem_deref(app.lsnr);
	if (app.sip)
		sip_close(app.sip, true);
	mem_deref(app.sip);
	emit("exit", NULL, NULL, NULL);
	libre_close();

	return err ? 1 : 0;
}
