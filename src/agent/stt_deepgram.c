/* stt_deepgram.c - the "deepgram" STT provider: Deepgram's streaming
 * API (a WebSocket to {base_url}/v1/listen), or a server speaking it.
 *
 * Audio goes out as it is fed (binary messages of 16-bit little-endian
 * 8 kHz mono), so the transcript is ready moments after the caller stops:
 * at end we send {"type":"Finalize"}, which makes the server flush what
 * it holds and mark that answer from_finalize. The final text is every
 * is_final segment of the utterance joined; interim results (segments so
 * far plus the current guess) are reported with final=false.
 *
 * One connection serves the utterances of a call one after another: after
 * a final result it is kept open (KeepAlive messages stop the server
 * timing it out) for the next begin. A connection is dropped, never
 * reused, when its utterance was cancelled or failed (the server may
 * still hold that audio), and when an utterance begins while the
 * previous one still waits for its final result (then each has its own
 * connection). Audio fed before the handshake completes is buffered.
 *
 * The final result has a deadline (http_timeout_ms, at most FINAL_MS).
 * When it passes, or the server closes, with segments already final and
 * no guess pending, those are the answer; otherwise it is an error.
 * Malformed messages and {"type":"Error"} are errors.
 *
 * Every handler call is the last thing a callback does: the handler may
 * cancel or release us. libre's websock lets its connection be released
 * inside its receive and close handlers.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "agent/provider.h"
#include "agent/remote_speech.h"
#include "core/log.h"

enum {
	RATE       = 8000,
	FINAL_MS   = 5000,          /* longest wait for the final result */
	KA_MS      = 4000,          /* KeepAlive when idle this long */
	PEND_MAX   = RATE * 2 * 30, /* audio bytes buffered while connecting */
	SEND_CHUNK = 3200,          /* bytes per message when flushing */
	MSG_MAX    = 262144,        /* a fragmented text message */
};

#define DEFAULT_BASE  "wss://api.deepgram.com"
#define DEFAULT_MODEL "nova-2"

static const char finalize_msg[]  = "{\"type\":\"Finalize\"}";
static const char close_msg[]     = "{\"type\":\"CloseStream\"}";
static const char keepalive_msg[] = "{\"type\":\"KeepAlive\"}";

struct stt_dg {
	const struct agent_env *env;    /* borrowed: env outlives calls */
	stt_result_h *resulth;
	void *arg;
	char *uri;
	char *auth;                     /* "Token KEY" or NULL */
	uint32_t final_ms;
	struct websock *ws;

	struct list conns;              /* struct dgc */
	struct dgc *cur;                /* the utterance being fed */
	struct dgc *idle;               /* open, between utterances */
};

enum ustate {
	U_IDLE,                         /* no utterance */
	U_LISTEN,                       /* begun, being fed */
	U_FINAL,                        /* ended, waiting for the final */
};

/* A connection and the utterance it carries. */
struct dgc {
	struct le le;
	struct stt_dg *st;
	struct websock_conn *wc;        /* NULL once closed */
	bool open;
	enum ustate u;
	int err;                        /* the connection failed */

	struct mbuf *pend;              /* audio fed before open */
	bool finalize;                  /* end came before open */
	uint64_t sent;                  /* audio bytes of this utterance */
	uint64_t last_tx;               /* tmr_jiffies() of the last send */

	struct mbuf *msg;               /* a text message in fragments */
	char *text;                     /* final segments so far */
	bool guess;                     /* an interim result is pending */

	struct tmr tmr;                 /* deadline, or error delivery */
	struct tmr ka;
};


static void conn_destructor(void *data)
{
	struct dgc *c = data;

	list_unlink(&c->le);
	tmr_cancel(&c->tmr);
	tmr_cancel(&c->ka);
	if (c->st && c->st->cur == c)
		c->st->cur = NULL;
	if (c->st && c->st->idle == c)
		c->st->idle = NULL;

	/* libre's websock says goodbye with a close frame and lingers
	 * until the server answers it */
	mem_deref(c->wc);
	mem_deref(c->pend);
	mem_deref(c->msg);
	mem_deref(c->text);
}


/* Close and forget a connection (CloseStream first, if it is open). */
static void conn_drop(struct dgc *c)
{
	if (c->open)
		(void)websock_send(c->wc, WEBSOCK_TEXT, "%s", close_msg);

	mem_deref(c);
}


static int send_text(struct dgc *c, const char *msg)
{
	c->last_tx = tmr_jiffies();

	return websock_send(c->wc, WEBSOCK_TEXT, "%s", msg);
}


static int send_audio(struct dgc *c, const uint8_t *p, size_t n)
{
	int err = 0;

	while (n && !err) {
		size_t k = n < SEND_CHUNK ? n : SEND_CHUNK;

		err = websock_send(c->wc, WEBSOCK_BIN, "%b", p, k);
		p += k;
		n -= k;
	}

	c->last_tx = tmr_jiffies();

	return err;
}


/*
 * The end of an utterance that waits for its final result: text (err
 * 0) or an error. reuse: the server owes us nothing more for it (the
 * answer to Finalize came, or there was nothing to finalize); then the
 * connection stays for the next utterance when it is healthy and no
 * other one is idle.
 */
static void conn_deliver(struct dgc *c, int err, bool reuse)
{
	struct stt_dg *st = c->st;
	char *text = NULL;

	if (!err) {
		text = c->text ? mem_ref(c->text) : NULL;
		if (!text && str_dup(&text, ""))
			err = ENOMEM;
	}

	tmr_cancel(&c->tmr);
	c->u = U_IDLE;
	c->text = mem_deref(c->text);
	c->guess = false;
	c->sent = 0;

	/* healthy: open, or still connecting */
	if (reuse && !err && c->wc && !c->err && !st->idle)
		st->idle = c;
	else
		conn_drop(c);

	/* the handler may release st: do not touch it afterwards */
	st->resulth(err, err ? NULL : text, true, st->arg);

	mem_deref(text);
}


/* No final answer (deadline, the server closed): the final segments we
 * have are the answer when no guess is pending. The connection is not
 * reused: the answer to Finalize may still come. */
static void conn_settle(struct dgc *c, int err)
{
	conn_deliver(c, c->text && !c->guess ? 0 : err, false);
}


static void deadline_h(void *arg)
{
	struct dgc *c = arg;

	if (c->err)
		conn_deliver(c, c->err, false);
	else if (!c->sent)
		conn_deliver(c, 0, true);   /* nothing said: empty result */
	else
		conn_settle(c, ETIMEDOUT);
}


static void ka_h(void *arg)
{
	struct dgc *c = arg;
	uint64_t idle = tmr_jiffies() - c->last_tx;

	if (!c->open)
		return;

	if (idle >= KA_MS) {
		(void)send_text(c, keepalive_msg);
		idle = 0;
	}

	/* next: KA_MS after the last message sent */
	tmr_start(&c->ka, KA_MS - idle, ka_h, c);
}


static void estab_h(void *arg)
{
	struct dgc *c = arg;
	int err = 0;

	c->open = true;
	c->last_tx = tmr_jiffies();
	tmr_start(&c->ka, KA_MS, ka_h, c);

	if (c->pend) {
		err = send_audio(c, c->pend->buf, c->pend->end);
		c->pend = mem_deref(c->pend);
	}
	if (!err && c->finalize) {
		c->finalize = false;
		err = send_text(c, finalize_msg);
	}
	if (err && !c->err)
		c->err = err;
	if (c->err && c->u == U_FINAL)
		tmr_start(&c->tmr, 0, deadline_h, c);
}


/* The connection failed or ended (the websock is gone). */
static void conn_fail(struct dgc *c, int err, bool orderly)
{
	c->open = false;
	tmr_cancel(&c->ka);

	switch (c->u) {

	case U_IDLE:
		mem_deref(c);
		break;

	case U_LISTEN:
		/* reported at end */
		if (!c->err)
			c->err = err;
		break;

	case U_FINAL:
		if (orderly && !c->err)
			conn_settle(c, err);
		else
			conn_deliver(c, c->err ? c->err : err, false);
		break;
	}
}


static void close_h(int err, void *arg)
{
	struct dgc *c = arg;

	c->wc = mem_deref(c->wc);   /* allowed in websock's close handler */
	if (err)
		log_warn("stt deepgram: connection lost: %m", err);

	conn_fail(c, err ? err : ECONNRESET, !err);
}


/* "words so far" + " " + "more" as a new mem string */
static int join(char **strp, const char *a, const char *b)
{
	if (!a || !a[0])
		return str_dup(strp, b);
	if (!b[0])
		return str_dup(strp, a);

	return re_sdprintf(strp, "%s %s", a, b);
}


static void on_results(struct dgc *c, const struct rspeech_dg_msg *m)
{
	struct stt_dg *st = c->st;
	char *text = NULL;

	if (c->u == U_IDLE)
		return;         /* late words of an utterance already done */

	if (m->is_final || m->from_finalize) {
		if (m->transcript[0]) {
			if (join(&text, c->text, m->transcript))
				return;
			mem_deref(c->text);
			c->text = text;
			text = NULL;
		}
		c->guess = false;

		if (c->u == U_FINAL && m->from_finalize) {
			conn_deliver(c, 0, true);
			return;
		}

		/* an interim view: the words final so far */
		if (!m->transcript[0] || !c->text)
			return;
		text = mem_ref(c->text);
	}
	else {
		c->guess = m->transcript[0] != '\0';
		if (!c->guess || join(&text, c->text, m->transcript))
			return;
	}

	/* the handler may release st: do not touch it afterwards */
	st->resulth(0, text, false, st->arg);
	mem_deref(text);
}


static void on_message(struct dgc *c, const char *p, size_t n)
{
	struct rspeech_dg_msg m;
	int err;

	err = rspeech_dg_parse(&m, p, n);
	if (!err && m.type == RSPEECH_DG_RESULTS) {
		on_results(c, &m);
		mem_deref(m.transcript);
		return;
	}
	if (!err && m.type == RSPEECH_DG_OTHER)
		return;

	log_warn("stt deepgram: %s", err ? "malformed message" :
		 "server reports an error");
	err = err ? err : EPROTO;

	/* no more trust in this connection */
	c->open = false;
	c->wc = mem_deref(c->wc);   /* allowed in websock's recv handler */
	conn_fail(c, err, false);
}


static void recv_h(const struct websock_hdr *hdr, struct mbuf *mb, void *arg)
{
	struct dgc *c = arg;
	size_t n = mbuf_get_left(mb);

	if (hdr->opcode == WEBSOCK_BIN)
		return;         /* nothing binary in this protocol */

	if (hdr->opcode == WEBSOCK_TEXT && hdr->fin) {
		c->msg = mem_deref(c->msg);
		on_message(c, (const char *)mbuf_buf(mb), n);
		return;
	}

	/* a fragment: TEXT without fin, then CONT ... with fin */
	if (hdr->opcode == WEBSOCK_TEXT) {
		c->msg = mem_deref(c->msg);
		c->msg = mbuf_alloc(n + 256);
		if (!c->msg)
			return;
	}
	if (!c->msg)
		return;
	if (c->msg->end + n > MSG_MAX ||
	    mbuf_write_mem(c->msg, mbuf_buf(mb), n)) {
		c->msg = mem_deref(c->msg);
		return;
	}
	if (hdr->fin) {
		struct mbuf *msg = c->msg;

		c->msg = NULL;
		on_message(c, (const char *)msg->buf, msg->end);
		mem_deref(msg);
	}
}


static int conn_alloc(struct dgc **cp, struct stt_dg *st)
{
	struct dgc *c;
	int err;

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c)
		return ENOMEM;

	c->st = st;
	tmr_init(&c->tmr);
	tmr_init(&c->ka);

	if (st->auth)
		err = websock_connect(&c->wc, st->ws, st->env->http, st->uri,
				      0, estab_h, recv_h, close_h, c,
				      "Authorization: %s\r\n", st->auth);
	else
		err = websock_connect(&c->wc, st->ws, st->env->http, st->uri,
				      0, estab_h, recv_h, close_h, c, "%s",
				      "");
	if (err) {
		mem_deref(c);
		return err;
	}

	list_append(&st->conns, &c->le, c);
	*cp = c;

	return 0;
}


static void stt_dg_cancel(void *arg)
{
	struct stt_dg *st = arg;
	struct le *le;

	if (!st)
		return;

	/* the idle one holds no audio: it may stay */
	for (le = st->conns.head; le; ) {
		struct dgc *c = le->data;

		le = le->next;
		if (c != st->idle)
			conn_drop(c);
	}
}


static void st_destructor(void *data)
{
	struct stt_dg *st = data;

	while (st->conns.head)
		conn_drop(st->conns.head->data);

	mem_deref(st->ws);
	mem_deref(st->uri);
	mem_deref(st->auth);
}


/* {base}/v1/listen?... with http(s) turned into ws(s); a base that
 * already ends in /v1 (as Deepgram's REST base URL does) is kept. */
static int make_uri(char **urip, const struct odict *cfg)
{
	const char *base = rspeech_cfg_str(cfg, "base_url", DEFAULT_BASE);
	const char *model = rspeech_cfg_str(cfg, "model", DEFAULT_MODEL);
	const char *lang = rspeech_cfg_str(cfg, "language", NULL);
	const char *scheme = "", *rest = base;
	size_t n;

	if (!strncmp(base, "https://", 8)) {
		scheme = "wss://";
		rest = base + 8;
	}
	else if (!strncmp(base, "http://", 7)) {
		scheme = "ws://";
		rest = base + 7;
	}

	n = strlen(rest);
	while (n > 0 && rest[n - 1] == '/')
		--n;

	return re_sdprintf(urip, "%s%b%s?encoding=linear16&sample_rate=%u"
			   "&channels=1&interim_results=true&model=%H%s%H",
			   scheme, rest, n,
			   n >= 3 && !memcmp(rest + n - 3, "/v1", 3) ?
			   "/listen" : "/v1/listen",
			   RATE, rspeech_pct_print, model,
			   lang ? "&language=" : "", rspeech_pct_print, lang);
}


static int stt_dg_alloc(void **stp, const struct agent_env *env,
			const struct odict *cfg, stt_result_h *resulth,
			void *arg)
{
	const char *key;
	struct stt_dg *st;
	int err;

	if (!stp || !env || !env->http || !resulth)
		return EINVAL;

	key = rspeech_cfg_str(cfg, "api_key", NULL);
	if (key && !rspeech_hdr_safe(key))
		return EINVAL;

	st = mem_zalloc(sizeof(*st), st_destructor);
	if (!st)
		return ENOMEM;

	st->env = env;
	st->resulth = resulth;
	st->arg = arg;
	st->final_ms = env->http_timeout_ms &&
		env->http_timeout_ms < FINAL_MS ?
		env->http_timeout_ms : FINAL_MS;

	err = websock_alloc(&st->ws, NULL, NULL);
	if (!err)
		err = make_uri(&st->uri, cfg);
	if (!err && key)
		err = re_sdprintf(&st->auth, "Token %s", key);

	if (err)
		mem_deref(st);
	else
		*stp = st;

	return err;
}


static int stt_dg_begin(void *arg, const char *grammar)
{
	struct stt_dg *st = arg;
	struct dgc *c;
	int err;

	(void)grammar;

	if (!st)
		return EINVAL;

	/* a begin without end restarts the utterance */
	if (st->cur)
		conn_drop(st->cur);

	if (st->idle) {
		c = st->idle;
		st->idle = NULL;
	}
	else {
		err = conn_alloc(&c, st);
		if (err)
			return err;
	}

	c->u = U_LISTEN;
	st->cur = c;

	return 0;
}


static void stt_dg_feed(void *arg, const int16_t *pcm, size_t n)
{
	struct stt_dg *st = arg;
	struct dgc *c = st ? st->cur : NULL;
	uint8_t buf[SEND_CHUNK];
	size_t i, k;

	if (!c || c->err || !pcm)
		return;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < sizeof(buf) / 2 && i + k < n; k++) {
			buf[2 * k]     = (uint8_t)pcm[i + k];
			buf[2 * k + 1] = (uint8_t)((uint16_t)pcm[i + k] >> 8);
		}

		if (c->open) {
			c->err = send_audio(c, buf, 2 * k);
			if (c->err)
				return;
		}
		else {
			if (!c->pend)
				c->pend = mbuf_alloc(RATE * 2);
			if (!c->pend || c->pend->end + 2 * k > PEND_MAX)
				return;   /* the rest is dropped */
			(void)mbuf_write_mem(c->pend, buf, 2 * k);
		}

		c->sent += 2 * k;
	}
}


static int stt_dg_end(void *arg)
{
	struct stt_dg *st = arg;
	struct dgc *c;

	if (!st)
		return EINVAL;

	c = st->cur;
	if (!c)
		return EPROTO;          /* no utterance begun */

	st->cur = NULL;
	c->u = U_FINAL;

	/* nothing was said: nothing to wait for */
	if (!c->sent && !c->err) {
		tmr_start(&c->tmr, 0, deadline_h, c);
		return 0;
	}

	if (c->open && !c->err)
		c->err = send_text(c, finalize_msg);
	else if (!c->err)
		c->finalize = true;

	tmr_start(&c->tmr, c->err ? 0 : st->final_ms, deadline_h, c);

	return 0;
}


const struct stt_ops stt_deepgram = {
	.name   = "deepgram",
	.alloc  = stt_dg_alloc,
	.begin  = stt_dg_begin,
	.feed   = stt_dg_feed,
	.end    = stt_dg_end,
	.cancel = stt_dg_cancel,
};
