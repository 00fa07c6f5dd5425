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
 *   anything else     180, 200 after the ring time, then a 440 Hz tone
 *
 * Modifiers anywhere in the user part: "hangupN" sends BYE N seconds after
 * the answer, "ringN" rings N ms instead of --ring-ms. --behaviour USER
 * makes every INVITE act as if USER had been dialled, for callers that can
 * only dial phone numbers (events still report the dialled user).
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
	bool voicemail;
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

static void send_frame(struct call *c)
{
	uint32_t t_ms = c->frames * PTIME;
	unsigned freq = TONE_HZ;
	struct mbuf *mb;

	if (c->voicemail)
		freq = (t_ms >= 1000 && t_ms < 1500) ? BEEP_HZ : 0;

	mb = mbuf_alloc(RTP_HEADER_SIZE + FRAME);
	if (!mb)
		return;
	mb->pos = mb->end = RTP_HEADER_SIZE;
	for (uint32_t i = 0; i < FRAME; i++) {
		uint32_t n = c->frames * FRAME + i;
		int16_t s = freq ? (int16_t)(AMPLITUDE *
			    sin(2 * M_PI * freq * n / SRATE)) : 0;

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
		      const char *callid, const char *user)
{
	const char *beh = app->behaviour ? app->behaviour : user;
	struct call *c;
	struct sa laddr;
	int err;

	c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c)
		return ENOMEM;

	c->app = app;
	c->te_pt = -1;
	c->ring_ms = app->ring_ms;
	c->voicemail = user_is(beh, "voicemail");
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

static void connect_h(const struct sip_msg *msg, void *arg)
{
	struct app *app = arg;
	const char *beh;
	enum auth_result auth = AUTH_NONE;
	struct call *c = NULL;
	char *user = NULL, *from = NULL, *callid = NULL;
	size_t i;

	if (pl_strdup(&user, &msg->uri.user) ||
	    pl_strdup(&from, &msg->from.auri) ||
	    pl_strdup(&callid, &msg->callid)) {
		(void)sip_treply(NULL, app->sip, msg, 500, "Out of Memory");
		goto out;
	}
	beh = app->behaviour ? app->behaviour : user;

	if (app->user)
		auth = check_auth(app, msg);
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

	if (call_alloc(&c, app, callid, user)) {
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
		   " [--behaviour USER]\n");
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
		{NULL, 0, NULL, 0},
	};
	struct app app = {.realm = "callee", .ring_ms = 200};
	const char *listen = NULL;
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
