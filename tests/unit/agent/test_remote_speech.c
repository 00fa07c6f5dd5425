/* test_remote_speech.c - the remote speech providers (stt_openai,
 * stt_deepgram, tts_openai) against a real in-process libre HTTP server
 * on 127.0.0.1 that plays OpenAI's transcription and speech endpoints and
 * Deepgram's streaming WebSocket; plus the reply parsers they share.
 *
 * The server's behaviour is chosen by a path prefix before "/v1/" in the
 * provider's base_url ("/err", "/stall", "/wav", ...), so one server
 * serves every case.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include "test.h"
#include "agent/provider.h"
#include "agent/remote_speech.h"
#include "audio/wav.h"
#include "json/json.h"

extern const struct stt_ops stt_openai;
extern const struct stt_ops stt_deepgram;
extern const struct tts_ops tts_openai;

enum {
	TONE_HZ    = 440,
	TONE_AMP   = 8000,
	PCM_RATE   = 24000,
	CHUNK      = 4801,          /* odd: frames split between chunks */
};


/* ---- the loop ---- */

struct waiter {
	const bool *flag;
	uint64_t until;
	struct tmr tmr;
};

static void poll_h(void *arg)
{
	struct waiter *w = arg;

	if ((w->flag && *w->flag) || tmr_jiffies() >= w->until) {
		re_cancel();
		return;
	}

	tmr_start(&w->tmr, 2, poll_h, w);
}

/* Run the loop until *flag or ms pass; the final value of *flag. */
static bool wait_for(const bool *flag, uint32_t ms)
{
	struct waiter w;

	w.flag = flag;
	w.until = tmr_jiffies() + ms;
	tmr_init(&w.tmr);
	tmr_start(&w.tmr, 0, poll_h, &w);
	(void)re_main(NULL);
	tmr_cancel(&w.tmr);

	return flag && *flag;
}

static void settle(uint32_t ms)
{
	(void)wait_for(NULL, ms);
}


/* ---- signals ---- */

static void tone(int16_t *p, size_t n, double hz, uint32_t rate, size_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (int16_t)lrint(TONE_AMP *
				      sin(2 * M_PI * hz * (double)(i + off) /
					  rate));
}

static double goertzel(const int16_t *p, size_t n, double freq,
		       uint32_t rate)
{
	double c = 2 * cos(2 * M_PI * freq / rate), s1 = 0, s2 = 0, s;

	for (size_t i = 0; i < n; i++) {
		s = p[i] + c * s1 - s2;
		s2 = s1;
		s1 = s;
	}

	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/* The strongest frequency of 8 kHz audio, scanned in 10 Hz steps. */
static unsigned dominant_hz(const int16_t *p, size_t n)
{
	double best = -1;
	unsigned hz = 0;

	for (unsigned f = 50; f < 3960; f += 10) {
		double e = goertzel(p, n, f, 8000);

		if (e > best) {
			best = e;
			hz = f;
		}
	}

	return hz;
}

static double rms(const int16_t *p, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)p[i] * p[i];

	return n ? sqrt(s / (double)n) : 0;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}


/* ---- the server ---- */

struct srv {
	struct http_sock *hs;
	struct websock *ws;
	char base[64];              /* "http://127.0.0.1:PORT" */
	struct list held;           /* struct held */
	struct list wsl;            /* struct wsc */

	/* /audio/transcriptions */
	unsigned stt_reqs;
	bool stt_ok;                /* multipart and WAV as they should be */
	char stt_model[32], stt_lang[16], stt_fmt[16], stt_auth[64];
	size_t stt_samples;
	int64_t stt_sum;

	/* /audio/speech */
	unsigned tts_reqs, tts_active, tts_max_active;
	char tts_input[64], tts_model[32], tts_voice[32], tts_fmt[16];
	char tts_auth[64];
	double tts_speed;
	unsigned chunks_sent;

	/* /listen */
	unsigned ws_accepts, finalizes, closestreams, keepalives;
	size_t ws_bytes;
	char ws_auth[64], ws_query[256];
};

/* A reply still to come: delayed, streamed, or never (a stall). */
struct held {
	struct le le;
	struct srv *srv;
	struct http_conn *conn;
	struct tmr tmr;
	struct mbuf *data;          /* stream: what is left to send */
	char *json;                 /* delayed: the reply */
	bool tts;                   /* counts in tts_active */
};

/* A Deepgram-like WebSocket session. */
struct wsc {
	struct le le;
	struct srv *srv;
	struct websock_conn *wc;
	char mode[16];
	size_t bytes;
	bool interim_sent, final_sent;
};

static void held_destructor(void *data)
{
	struct held *h = data;

	list_unlink(&h->le);
	tmr_cancel(&h->tmr);
	if (h->tts)
		--h->srv->tts_active;
	mem_deref(h->conn);
	mem_deref(h->data);
	mem_deref(h->json);
}

static void wsc_destructor(void *data)
{
	struct wsc *w = data;

	list_unlink(&w->le);
	mem_deref(w->wc);
}

static void srv_destructor(void *data)
{
	struct srv *srv = data;

	list_flush(&srv->held);
	list_flush(&srv->wsl);
	mem_deref(srv->hs);
	mem_deref(srv->ws);
}

static struct held *held_alloc(struct srv *srv, struct http_conn *conn)
{
	struct held *h = mem_zalloc(sizeof(*h), held_destructor);

	if (!h)
		return NULL;
	h->srv = srv;
	h->conn = mem_ref(conn);
	tmr_init(&h->tmr);
	list_append(&srv->held, &h->le, h);

	return h;
}

static void hdr_copy(const struct http_msg *msg, enum http_hdrid id,
		     char *buf, size_t size)
{
	const struct http_hdr *h = http_msg_hdr(msg, id);

	buf[0] = '\0';
	if (h)
		(void)pl_strcpy(&h->val, buf, size);
}

/* The content of the form field `name` (and its header block). */
static bool form_part(const uint8_t *body, size_t len, const char *bnd,
		      const char *name, const uint8_t **pp, size_t *np,
		      char *hdrs, size_t hsize)
{
	char delim[96], want[64];
	const uint8_t *p = body, *end = body + len;

	(void)re_snprintf(delim, sizeof(delim), "--%s\r\n", bnd);
	(void)re_snprintf(want, sizeof(want), "name=\"%s\"", name);

	while ((p = memmem(p, (size_t)(end - p), delim, strlen(delim)))) {
		const uint8_t *h = p + strlen(delim), *c, *ce;
		char close[96];

		c = memmem(h, (size_t)(end - h), "\r\n\r\n", 4);
		if (!c)
			return false;
		(void)re_snprintf(close, sizeof(close), "\r\n--%s", bnd);
		ce = memmem(c + 4, (size_t)(end - c - 4), close,
			    strlen(close));
		if (!ce)
			return false;

		if (memmem(h, (size_t)(c - h), want, strlen(want))) {
			size_t hn = (size_t)(c - h) < hsize - 1 ?
				(size_t)(c - h) : hsize - 1;

			memcpy(hdrs, h, hn);
			hdrs[hn] = '\0';
			*pp = c + 4;
			*np = (size_t)(ce - c - 4);
			return true;
		}
		p = ce;
	}

	return false;
}

static void field_copy(const uint8_t *body, size_t len, const char *bnd,
		       const char *name, char *out, size_t size)
{
	const uint8_t *p;
	char hdrs[256];
	size_t n;

	out[0] = '\0';
	if (!form_part(body, len, bnd, name, &p, &n, hdrs, sizeof(hdrs)))
		return;
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The uploaded file must be a 16-bit mono 8 kHz WAV whose sizes add up. */
static bool check_wav(struct srv *srv, const uint8_t *p, size_t n)
{
	size_t i;

	if (n < 44 || memcmp(p, "RIFF", 4) || memcmp(p + 8, "WAVEfmt ", 8) ||
	    rd32(p + 4) != n - 8 || rd32(p + 16) != 16 || rd16(p + 20) != 1 ||
	    rd16(p + 22) != 1 || rd32(p + 24) != 8000 ||
	    rd32(p + 28) != 16000 || rd16(p + 32) != 2 ||
	    rd16(p + 34) != 16 || memcmp(p + 36, "data", 4) ||
	    rd32(p + 40) != n - 44)
		return false;

	srv->stt_samples = (n - 44) / 2;
	srv->stt_sum = 0;
	for (i = 0; i < srv->stt_samples; i++)
		srv->stt_sum += (int16_t)rd16(p + 44 + 2 * i);

	return true;
}

static void delayed_h(void *arg)
{
	struct held *h = arg;

	(void)http_creply(h->conn, 200, "OK", "application/json", "%s",
			  h->json);
	mem_deref(h);
}

static void transcribe(struct srv *srv, struct http_conn *conn,
		       const struct http_msg *msg, const char *mode)
{
	const uint8_t *body = mbuf_buf(msg->mb), *file;
	size_t len = mbuf_get_left(msg->mb), flen;
	char ctype[128], hdrs[256];
	const char *b;

	++srv->stt_reqs;
	hdr_copy(msg, HTTP_HDR_AUTHORIZATION, srv->stt_auth,
		 sizeof(srv->stt_auth));
	hdr_copy(msg, HTTP_HDR_CONTENT_TYPE, ctype, sizeof(ctype));

	b = strstr(ctype, "boundary=");
	srv->stt_ok = !strncmp(ctype, "multipart/form-data;", 20) && b;
	if (srv->stt_ok) {
		char end[96];

		b += 9;
		srv->stt_ok = form_part(body, len, b, "file", &file, &flen,
					hdrs, sizeof(hdrs)) &&
			strstr(hdrs, "filename=\"audio.wav\"") &&
			check_wav(srv, file, flen);

		/* the closing delimiter ends the body */
		(void)re_snprintf(end, sizeof(end), "\r\n--%s--\r\n", b);
		srv->stt_ok = srv->stt_ok && len > strlen(end) &&
			!memcmp(body + len - strlen(end), end, strlen(end));

		field_copy(body, len, b, "model", srv->stt_model,
			   sizeof(srv->stt_model));
		field_copy(body, len, b, "language", srv->stt_lang,
			   sizeof(srv->stt_lang));
		field_copy(body, len, b, "response_format", srv->stt_fmt,
			   sizeof(srv->stt_fmt));
	}

	if (!strcmp(mode, "/err")) {
		(void)http_creply(conn, 500, "Internal Server Error",
				  "application/json", "%s",
				  "{\"error\":{\"message\":\"boom\"}}");
	}
	else if (!strcmp(mode, "/bad")) {
		(void)http_creply(conn, 200, "OK", "application/json", "%s",
				  "{\"text\": }");
	}
	else if (!strcmp(mode, "/notext")) {
		(void)http_creply(conn, 200, "OK", "application/json", "%s",
				  "{\"transcript\":\"hello\"}");
	}
	else if (!strcmp(mode, "/stall")) {
		(void)held_alloc(srv, conn);
	}
	else if (!strcmp(mode, "/slow") && srv->stt_samples > 12000) {
		/* the long utterance is answered after the short one */
		struct held *h = held_alloc(srv, conn);

		if (h && !str_dup(&h->json, "{\"text\":\"first\"}"))
			tmr_start(&h->tmr, 200, delayed_h, h);
	}
	else if (!strcmp(mode, "/slow")) {
		(void)http_creply(conn, 200, "OK", "application/json", "%s",
				  "{\"text\":\"second\"}");
	}
	else {
		(void)http_creply(conn, 200, "OK", "application/json", "%s",
				  "{\"text\":\" hello world \\n\","
				  "\"usage\":{\"type\":\"duration\","
				  "\"seconds\":1}}");
	}
}

/* Chunked transfer: one chunk per tick, then the terminator. */
static void stream_h(void *arg)
{
	struct held *h = arg;
	struct tcp_conn *tc = http_conn_tcp(h->conn);
	size_t n = mbuf_get_left(h->data);
	struct mbuf *mb;
	int err;

	if (!tc) {
		mem_deref(h);       /* the client went away */
		return;
	}

	if (n > CHUNK)
		n = CHUNK;

	mb = mbuf_alloc(n + 32);
	if (!mb) {
		mem_deref(h);
		return;
	}
	if (n) {
		err = mbuf_printf(mb, "%zx\r\n", n);
		err |= mbuf_write_mem(mb, mbuf_buf(h->data), n);
		err |= mbuf_write_str(mb, "\r\n");
		h->data->pos += n;
		++h->srv->chunks_sent;
	}
	else {
		err = mbuf_write_str(mb, "0\r\n\r\n");
	}
	mb->pos = 0;
	if (!err)
		err = tcp_send(tc, mb);
	mem_deref(mb);

	if (err || !n)
		mem_deref(h);
	else
		tmr_start(&h->tmr, 10, stream_h, h);
}

/* secs of a 440 Hz tone as 24 kHz PCM, streamed */
static void stream_tone(struct srv *srv, struct http_conn *conn, double secs)
{
	size_t n = (size_t)(secs * PCM_RATE), i;
	struct held *h = held_alloc(srv, conn);
	int16_t *pcm;

	if (!h)
		return;
	h->tts = true;
	++srv->tts_active;
	if (srv->tts_active > srv->tts_max_active)
		srv->tts_max_active = srv->tts_active;

	h->data = mbuf_alloc(n * 2);
	pcm = mem_alloc(n * sizeof(*pcm), NULL);
	if (!h->data || !pcm) {
		mem_deref(pcm);
		mem_deref(h);
		return;
	}
	tone(pcm, n, TONE_HZ, PCM_RATE, 0);
	for (i = 0; i < n; i++) {
		uint8_t b[2];

		wr16(b, (uint16_t)pcm[i]);
		(void)mbuf_write_mem(h->data, b, 2);
	}
	h->data->pos = 0;
	mem_deref(pcm);

	(void)http_reply(conn, 200, "OK", "Content-Type: audio/pcm\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n");
	tmr_start(&h->tmr, 5, stream_h, h);
}

/* 0.5 s of the tone as a 16 kHz stereo WAV with a LIST chunk. */
static void reply_wav(struct http_conn *conn)
{
	enum { N = 8000, RATE = 16000 };
	static const char list[] = "LIST\x04\x00\x00\x00INFO";
	uint8_t *w;
	size_t len = 12 + 24 + (sizeof(list) - 1) + 8 + N * 4, i;
	int16_t pcm[N];

	w = mem_zalloc(len, NULL);
	if (!w)
		return;
	tone(pcm, N, TONE_HZ, RATE, 0);
	memcpy(w, "RIFF", 4);
	wr32(w + 4, (uint32_t)len - 8);
	memcpy(w + 8, "WAVEfmt ", 8);
	wr32(w + 16, 16);
	wr16(w + 20, 1);
	wr16(w + 22, 2);
	wr32(w + 24, RATE);
	wr32(w + 28, RATE * 4);
	wr16(w + 32, 4);
	wr16(w + 34, 16);
	memcpy(w + 36, list, sizeof(list) - 1);
	memcpy(w + 36 + sizeof(list) - 1, "data", 4);
	wr32(w + 40 + sizeof(list) - 1, N * 4);
	for (i = 0; i < N; i++) {
		uint8_t *f = w + 44 + sizeof(list) - 1 + 4 * i;

		wr16(f, (uint16_t)pcm[i]);
		wr16(f + 2, (uint16_t)pcm[i]);
	}

	(void)http_reply(conn, 200, "OK", "Content-Type: audio/wav\r\n"
			 "Content-Length: %zu\r\n\r\n%b", len, w, len);
	mem_deref(w);
}

static void speech(struct srv *srv, struct http_conn *conn,
		   const struct http_msg *msg, const char *mode)
{
	struct odict *o = NULL;
	struct json_err jerr;
	const char *s;

	++srv->tts_reqs;
	hdr_copy(msg, HTTP_HDR_AUTHORIZATION, srv->tts_auth,
		 sizeof(srv->tts_auth));

	if (!json_parse(&o, NULL, (const char *)mbuf_buf(msg->mb),
			mbuf_get_left(msg->mb), &jerr)) {
		const struct odict_entry *e;

		s = odict_string(o, "input");
		str_ncpy(srv->tts_input, s ? s : "", sizeof(srv->tts_input));
		s = odict_string(o, "model");
		str_ncpy(srv->tts_model, s ? s : "", sizeof(srv->tts_model));
		s = odict_string(o, "voice");
		str_ncpy(srv->tts_voice, s ? s : "", sizeof(srv->tts_voice));
		s = odict_string(o, "response_format");
		str_ncpy(srv->tts_fmt, s ? s : "", sizeof(srv->tts_fmt));
		e = odict_lookup(o, "speed");
		srv->tts_speed = !e ? -1 : e->type == ODICT_DOUBLE ?
			e->u.dbl : e->type == ODICT_INT ?
			(double)e->u.integer : -1;
		mem_deref(o);
	}

	if (!strcmp(mode, "/err")) {
		(void)http_creply(conn, 401, "Unauthorized",
				  "application/json", "%s",
				  "{\"error\":{\"message\":\"bad key\"}}");
	}
	else if (!strcmp(mode, "/stall")) {
		(void)held_alloc(srv, conn);
	}
	else if (!strcmp(mode, "/wav")) {
		reply_wav(conn);
	}
	else if (!strcmp(mode, "/queue")) {
		stream_tone(srv, conn, 0.2);
	}
	else {
		stream_tone(srv, conn, 1.0);
	}
}

/* A server frame (unmasked), for sending one message in fragments. */
static void raw_frame(struct mbuf *mb, uint8_t first, const char *p,
		      size_t n)
{
	(void)mbuf_write_u8(mb, first);
	if (n < 126) {
		(void)mbuf_write_u8(mb, (uint8_t)n);
	}
	else {
		(void)mbuf_write_u8(mb, 126);
		(void)mbuf_write_u16(mb, htons((uint16_t)n));
	}
	(void)mbuf_write_mem(mb, (const uint8_t *)p, n);
}

static void send_results(struct wsc *w, const char *text, bool is_final,
			 bool from_finalize, bool fragmented)
{
	char *msg = NULL;

	if (re_sdprintf(&msg, "{\"type\":\"Results\",\"channel_index\":[0,1],"
			"\"duration\":0.5,\"start\":0.0,\"is_final\":%s,"
			"\"speech_final\":%s,\"from_finalize\":%s,"
			"\"channel\":{\"alternatives\":[{\"transcript\":"
			"\"%s\",\"confidence\":0.98,\"words\":[]}]},"
			"\"metadata\":{\"request_id\":\"r1\"}}",
			is_final ? "true" : "false",
			is_final ? "true" : "false",
			from_finalize ? "true" : "false", text))
		return;

	if (fragmented) {
		struct mbuf *mb = mbuf_alloc(strlen(msg) + 16);
		size_t half = strlen(msg) / 2;

		if (mb) {
			raw_frame(mb, 0x01, msg, half);         /* TEXT */
			raw_frame(mb, 0x80, msg + half,         /* CONT fin */
				  strlen(msg) - half);
			mb->pos = 0;
			(void)tcp_send(websock_tcp(w->wc), mb);
			mem_deref(mb);
		}
	}
	else {
		(void)websock_send(w->wc, WEBSOCK_TEXT, "%s", msg);
	}

	mem_deref(msg);
}

static void ws_recv_h(const struct websock_hdr *hdr, struct mbuf *mb,
		      void *arg)
{
	struct wsc *w = arg;
	struct srv *srv = w->srv;
	size_t n = mbuf_get_left(mb);
	struct odict *o = NULL;
	struct json_err jerr;
	const char *type;

	if (hdr->opcode == WEBSOCK_BIN) {
		bool first = !w->bytes;

		w->bytes += n;
		srv->ws_bytes += n;
		if (first)
			(void)websock_send(w->wc, WEBSOCK_TEXT, "%s",
					   "{\"type\":\"SpeechStarted\","
					   "\"timestamp\":0.1}");
		if (!w->interim_sent && w->bytes >= 3200) {
			w->interim_sent = true;
			send_results(w, "hello", false, false, false);
		}
		if (!w->final_sent && w->bytes >= 9600 &&
		    strcmp(w->mode, "/mute")) {
			w->final_sent = true;
			send_results(w, "hello world", true, false, false);
		}
		return;
	}

	if (json_parse(&o, NULL, (const char *)mbuf_buf(mb), n, &jerr))
		return;
	type = odict_string(o, "type");

	if (type && !strcmp(type, "Finalize")) {
		++srv->finalizes;

		if (!strcmp(w->mode, "/bad")) {
			(void)websock_send(w->wc, WEBSOCK_TEXT, "%s",
					   "{\"type\":\"Results\",\"channel\":");
		}
		else if (!strcmp(w->mode, "/error")) {
			(void)websock_send(w->wc, WEBSOCK_TEXT, "%s",
					   "{\"type\":\"Error\",\"description\":"
					   "\"x\",\"message\":\"y\"}");
		}
		else if (!w->mode[0] && w->bytes > 9600) {
			send_results(w, "again", false, false, false);
			send_results(w, "again", true, true, true);
		}
		else if (!w->mode[0]) {
			send_results(w, "short", true, true, false);
		}
		if (!w->mode[0]) {
			(void)websock_send(w->wc, WEBSOCK_TEXT, "%s",
					   "{\"type\":\"Metadata\","
					   "\"request_id\":\"r1\"}");
			w->bytes = 0;
			w->interim_sent = w->final_sent = false;
		}
	}
	else if (type && !strcmp(type, "CloseStream")) {
		++srv->closestreams;
		(void)websock_close(w->wc, WEBSOCK_NORMAL_CLOSURE, "bye");
	}
	else if (type && !strcmp(type, "KeepAlive")) {
		++srv->keepalives;
	}

	mem_deref(o);
}

static void ws_close_h(int err, void *arg)
{
	struct wsc *w = arg;

	(void)err;
	mem_deref(w);
}

static void listen_ws(struct srv *srv, struct http_conn *conn,
		      const struct http_msg *msg, const char *mode)
{
	struct wsc *w;

	hdr_copy(msg, HTTP_HDR_AUTHORIZATION, srv->ws_auth,
		 sizeof(srv->ws_auth));
	(void)pl_strcpy(&msg->prm, srv->ws_query, sizeof(srv->ws_query));

	if (!strcmp(mode, "/deny")) {
		(void)http_ereply(conn, 401, "Unauthorized");
		return;
	}

	w = mem_zalloc(sizeof(*w), wsc_destructor);
	if (!w)
		return;
	w->srv = srv;
	str_ncpy(w->mode, mode, sizeof(w->mode));

	if (websock_accept(&w->wc, srv->ws, conn, msg, 0, ws_recv_h,
			   ws_close_h, w)) {
		mem_deref(w);
		(void)http_ereply(conn, 400, "Bad Request");
		return;
	}

	++srv->ws_accepts;
	list_append(&srv->wsl, &w->le, w);
}

static void req_h(struct http_conn *conn, const struct http_msg *msg,
		  void *arg)
{
	struct srv *srv = arg;
	char path[128], mode[32];
	const char *v1;

	(void)pl_strcpy(&msg->path, path, sizeof(path));
	v1 = strstr(path, "/v1/");
	if (!v1 || (size_t)(v1 - path) >= sizeof(mode)) {
		(void)http_ereply(conn, 404, "Not Found");
		return;
	}
	memcpy(mode, path, (size_t)(v1 - path));
	mode[v1 - path] = '\0';

	if (!strcmp(v1, "/v1/audio/transcriptions"))
		transcribe(srv, conn, msg, mode);
	else if (!strcmp(v1, "/v1/audio/speech"))
		speech(srv, conn, msg, mode);
	else if (!strcmp(v1, "/v1/listen"))
		listen_ws(srv, conn, msg, mode);
	else
		(void)http_ereply(conn, 404, "Not Found");
}

static int srv_alloc(struct srv **srvp)
{
	struct srv *srv;
	struct sa sa;
	int err;

	srv = mem_zalloc(sizeof(*srv), srv_destructor);
	if (!srv)
		return ENOMEM;

	err = sa_set_str(&sa, "127.0.0.1", 0);
	if (!err)
		err = http_listen(&srv->hs, &sa, req_h, srv);
	if (!err)
		err = tcp_sock_local_get(http_sock_tcp(srv->hs), &sa);
	if (!err)
		err = websock_alloc(&srv->ws, NULL, NULL);
	if (!err)
		(void)re_snprintf(srv->base, sizeof(srv->base),
				  "http://127.0.0.1:%u", sa_port(&sa));

	if (err)
		mem_deref(srv);
	else
		*srvp = srv;

	return err;
}


/* ---- the client side ---- */

struct fixture {
	struct srv *srv;
	struct dnsc *dnsc;
	struct agent_env env;
};

static int fixture_init(struct fixture *f, uint32_t timeout_ms)
{
	struct sa ns;
	int err;

	memset(f, 0, sizeof(*f));
	f->env.http_timeout_ms = timeout_ms;

	err = srv_alloc(&f->srv);
	if (!err)
		err = sa_set_str(&ns, "127.0.0.1", 53);
	if (!err)
		err = dnsc_alloc(&f->dnsc, NULL, &ns, 1);
	if (!err)
		err = http_client_alloc(&f->env.http, f->dnsc);

	return err;
}

static void fixture_close(struct fixture *f)
{
	/* WebSockets say goodbye; let them */
	settle(100);
	f->env.http = mem_deref(f->env.http);
	f->srv = mem_deref(f->srv);
	f->dnsc = mem_deref(f->dnsc);
	settle(20);
}

/* A provider config object: {"base_url": base + prefix + "/v1", ...} */
static struct odict *cfg_make(const struct fixture *f, const char *prefix,
			      const char *key)
{
	struct odict *o = NULL;
	char url[128];

	if (odict_alloc(&o, 8))
		return NULL;
	(void)re_snprintf(url, sizeof(url), "%s%s/v1", f->srv->base, prefix);
	(void)odict_entry_add(o, "base_url", ODICT_STRING, url);
	if (key)
		(void)odict_entry_add(o, "api_key", ODICT_STRING, key);

	return o;
}

struct stt_rec {
	unsigned nfinal, ninterim, want;
	int err;
	char text[256];
	char interim[256];
	char order[256];            /* finals joined by '|' */
	bool done;
	bool null_text_on_err;      /* every error came with NULL text */
	/* reentrancy: release this in the handler */
	void **release;
};

static void stt_h(int err, const char *text, bool final, void *arg)
{
	struct stt_rec *r = arg;

	if (!final) {
		++r->ninterim;
		str_ncpy(r->interim, text ? text : "(null)",
			 sizeof(r->interim));
		goto out;
	}

	++r->nfinal;
	r->err = err;
	if (err && text)
		r->null_text_on_err = false;
	str_ncpy(r->text, text ? text : "(null)", sizeof(r->text));
	if (r->order[0])
		strncat(r->order, "|", sizeof(r->order) - strlen(r->order) - 1);
	strncat(r->order, text ? text : "(err)",
		sizeof(r->order) - strlen(r->order) - 1);
	r->done = r->nfinal >= r->want;

 out:
	/* the first call releases the provider */
	if (r->release) {
		*r->release = mem_deref(*r->release);
		r->release = NULL;
	}
}

static void stt_rec_init(struct stt_rec *r, unsigned want)
{
	memset(r, 0, sizeof(*r));
	r->want = want;
	r->null_text_on_err = true;
}

/* n samples of the tone, fed in 20 ms frames */
static void feed_tone(const struct stt_ops *ops, void *st, size_t n)
{
	int16_t frame[160];
	size_t off;

	for (off = 0; off < n; off += 160) {
		size_t k = n - off < 160 ? n - off : 160;

		tone(frame, k, TONE_HZ, 8000, off);
		ops->feed(st, frame, k);
	}
}

static int64_t tone_sum(size_t n)
{
	int16_t frame[160];
	int64_t sum = 0;
	size_t off, i;

	for (off = 0; off < n; off += 160) {
		size_t k = n - off < 160 ? n - off : 160;

		tone(frame, k, TONE_HZ, 8000, off);
		for (i = 0; i < k; i++)
			sum += frame[i];
	}

	return sum;
}


/* ---- parsers ---- */

TEST(openai_text_parser)
{
	const char *s;
	char *t = NULL;
	static const char *const bad[] = {
		"", "[]", "{}", "{\"text\":1}", "{\"text\":null}",
		"{\"text\":\"a\"} x", "{\"text\":\"a\",}", "\"text\"",
		"{\"text\":\"a\",\"text\":\"b\"}",
	};

	s = "{\"text\":\"  Hi there.\\n\"}";
	CHECK_EQ_INT(rspeech_openai_text(&t, s, strlen(s)), 0);
	CHECK_STR(t, "Hi there.");
	t = mem_deref(t);

	s = "{\"x\":[1,{}],\"text\":\"\"}";
	CHECK_EQ_INT(rspeech_openai_text(&t, s, strlen(s)), 0);
	CHECK_STR(t, "");
	t = mem_deref(t);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ_INT(rspeech_openai_text(&t, bad[i], strlen(bad[i])),
			     EBADMSG);
		CHECK(t == NULL);
	}
}

TEST(deepgram_parser)
{
	struct rspeech_dg_msg m;
	const char *s;
	static const char *const bad[] = {
		"{\"type\":\"Results\"}",
		"{\"type\":\"Results\",\"channel\":{}}",
		"{\"type\":\"Results\",\"channel\":{\"alternatives\":{}}}",
		"{\"type\":\"Results\",\"channel\":{\"alternatives\":[1]}}",
		"{\"type\":\"Results\",\"channel\":{\"alternatives\":[{}]}}",
		"{\"type\":\"Results\",\"is_final\":1,\"channel\":"
		"{\"alternatives\":[]}}",
		"{\"type\":1}", "{}", "[]", "{\"type\":\"Results\"",
	};

	s = "{\"type\":\"Results\",\"is_final\":true,\"from_finalize\":true,"
	    "\"channel\":{\"alternatives\":[{\"transcript\":\" yes \"},"
	    "{\"transcript\":\"no\"}]}}";
	CHECK_EQ_INT(rspeech_dg_parse(&m, s, strlen(s)), 0);
	CHECK_EQ_INT(m.type, RSPEECH_DG_RESULTS);
	CHECK_STR(m.transcript, "yes");
	CHECK(m.is_final && m.from_finalize);
	mem_deref(m.transcript);

	s = "{\"type\":\"Results\",\"channel\":{\"alternatives\":[]}}";
	CHECK_EQ_INT(rspeech_dg_parse(&m, s, strlen(s)), 0);
	CHECK_STR(m.transcript, "");
	CHECK(!m.is_final && !m.from_finalize);
	mem_deref(m.transcript);

	s = "{\"type\":\"Metadata\",\"request_id\":\"x\"}";
	CHECK_EQ_INT(rspeech_dg_parse(&m, s, strlen(s)), 0);
	CHECK_EQ_INT(m.type, RSPEECH_DG_OTHER);
	CHECK(m.transcript == NULL);

	s = "{\"type\":\"Error\",\"description\":\"x\"}";
	CHECK_EQ_INT(rspeech_dg_parse(&m, s, strlen(s)), 0);
	CHECK_EQ_INT(m.type, RSPEECH_DG_ERROR);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ_INT(rspeech_dg_parse(&m, bad[i], strlen(bad[i])),
			     EBADMSG);
}

TEST(wav_header_roundtrip_and_prefixes)
{
	uint8_t h[44 + 4];
	struct wav_info w;

	wav_header(h, 8000, 1, 4);
	memset(h + 44, 0, 4);
	CHECK_EQ_INT(wav_header_parse(&w, h, sizeof(h)), 0);
	CHECK_EQ_INT(w.srate, 8000);
	CHECK_EQ_INT(w.channels, 1);
	CHECK_EQ_INT(w.data_off, 44);
	CHECK_EQ_INT(w.data_len, 4);

	/* every prefix of the header: wait for more */
	for (size_t n = 0; n < 44; n++)
		CHECK_EQ_INT(wav_header_parse(&w, h, n), ENODATA);

	/* streaming writers' "unknown" size */
	wr32(h + 40, UINT32_MAX);
	CHECK_EQ_INT(wav_header_parse(&w, h, sizeof(h)), 0);
	CHECK(w.data_len == UINT64_MAX);

	wr16(h + 34, 8);            /* 8-bit */
	CHECK_EQ_INT(wav_header_parse(&w, h, sizeof(h)), EBADMSG);
	CHECK_EQ_INT(wav_header_parse(&w, (const uint8_t *)"RIFX", 4),
		     EBADMSG);
	CHECK_EQ_INT(wav_header_parse(&w, (const uint8_t *)"\0\0\0\0", 4),
		     EBADMSG);
}

TEST(config_and_urls)
{
	char *u = NULL;

	CHECK_EQ_INT(rspeech_url(&u, "http://h:1/v1//", "x", "/a"), 0);
	CHECK_STR(u, "http://h:1/v1/a");
	u = mem_deref(u);
	CHECK_EQ_INT(rspeech_url(&u, "", "https://d/v1", "/a"), 0);
	CHECK_STR(u, "https://d/v1/a");
	u = mem_deref(u);
	CHECK_EQ_INT(re_sdprintf(&u, "%H", rspeech_pct_print, "en-GB a&b"),
		     0);
	CHECK_STR(u, "en-GB%20a%26b");
	u = mem_deref(u);
	CHECK(rspeech_hdr_safe("sk-abc"));
	CHECK(!rspeech_hdr_safe("sk\r\nX: y"));
}


/* ---- stt openai ---- */

TEST(openai_stt_transcribes_a_wav_upload)
{
	struct fixture f;
	struct stt_rec r;
	struct odict *cfg;
	void *st = NULL;

	CHECK_EQ_INT(fixture_init(&f, 2000), 0);
	cfg = cfg_make(&f, "", "sk-test");
	CHECK(cfg);
	CHECK_EQ_INT(odict_entry_add(cfg, "language", ODICT_STRING, "en"), 0);
	stt_rec_init(&r, 1);

	CHECK_EQ_INT(stt_openai.alloc(&st, &f.env, cfg, stt_h, &r), 0);
	mem_deref(cfg);
	CHECK_EQ_INT(stt_openai.end(st), EPROTO);   /* nothing begun */

	CHECK_EQ_INT(stt_openai.begin(st, "#JSGF V1.0;"), 0);
	feed_tone(&stt_openai, st, 8000);
	CHECK_EQ_INT(stt_openai.end(st), 0);

	CHECK(wait_for(&r.done, 3000));
	CHECK_EQ_INT(r.err, 0);
	CHECK_STR(r.text, "hello world");
	CHECK_EQ_INT(r.ninterim, 0);

	CHECK(f.srv->stt_ok);
	CHECK_EQ_INT(f.srv->stt_samples, 8000);
	CHECK(f.srv->stt_sum == tone_sum(8000));
	CHECK_STR(f.srv->stt_model, "whisper-1");
	CHECK_STR(f.srv->stt_lang, "en");
	CHECK_STR(f.srv->stt_fmt, "json");
	CHECK_STR(f.srv->stt_auth, "Bearer sk-test");

	/* an empty utterance is still a valid upload */
	r.done = false;
	r.want = 2;
	CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
	CHECK_EQ_INT(stt_openai.end(st), 0);
	CHECK(wait_for(&r.done, 3000));
	CHECK(f.srv->stt_ok);
	CHECK_EQ_INT(f.srv->stt_samples, 0);

	mem_deref(st);
	fixture_close(&f);
}

TEST(openai_stt_errors_are_results)
{
	static const struct {
		const char *prefix;
		int err;
	} cases[] = {
		{"/err", EPROTO}, {"/bad", EBADMSG}, {"/notext", EBADMSG},
		{"/stall", ETIMEDOUT},
	};
	struct fixture f;

	CHECK_EQ_INT(fixture_init(&f, 300), 0);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct odict *cfg = cfg_make(&f, cases[i].prefix, NULL);
		struct stt_rec r;
		void *st = NULL;

		stt_rec_init(&r, 1);
		CHECK_EQ_INT(stt_openai.alloc(&st, &f.env, cfg, stt_h, &r), 0);
		mem_deref(cfg);
		CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
		feed_tone(&stt_openai, st, 1600);
		CHECK_EQ_INT(stt_openai.end(st), 0);

		CHECK(wait_for(&r.done, 2000));
		CHECK_EQ_INT(r.err, cases[i].err);
		CHECK(r.null_text_on_err);
		CHECK_STR(r.text, "(null)");
		mem_deref(st);
	}

	/* no server at all */
	{
		struct odict *cfg = NULL;
		struct stt_rec r;
		void *st = NULL;

		CHECK_EQ_INT(odict_alloc(&cfg, 4), 0);
		CHECK_EQ_INT(odict_entry_add(cfg, "base_url", ODICT_STRING,
					     "http://127.0.0.1:1/v1"), 0);
		stt_rec_init(&r, 1);
		CHECK_EQ_INT(stt_openai.alloc(&st, &f.env, cfg, stt_h, &r), 0);
		mem_deref(cfg);
		CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
		CHECK_EQ_INT(stt_openai.end(st), 0);
		CHECK(wait_for(&r.done, 2000));
		CHECK(r.err != 0);
		mem_deref(st);
	}

	fixture_close(&f);
}

TEST(openai_stt_results_keep_utterance_order)
{
	struct fixture f;
	struct stt_rec r;
	struct odict *cfg;
	void *st = NULL;

	CHECK_EQ_INT(fixture_init(&f, 2000), 0);
	cfg = cfg_make(&f, "/slow", NULL);
	stt_rec_init(&r, 2);
	CHECK_EQ_INT(stt_openai.alloc(&st, &f.env, cfg, stt_h, &r), 0);
	mem_deref(cfg);

	/* the first (long) one is answered 200 ms after the second */
	CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
	feed_tone(&stt_openai, st, 16000);
	CHECK_EQ_INT(stt_openai.end(st), 0);
	CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
	feed_tone(&stt_openai, st, 4000);
	CHECK_EQ_INT(stt_openai.end(st), 0);

	CHECK(wait_for(&r.done, 3000));
	CHECK_STR(r.order, "first|second");

	mem_deref(st);
	fixture_close(&f);
}

TEST(openai_stt_cancel_and_release_drop_results)
{
	struct fixture f;
	struct stt_rec r;
	struct odict *cfg;
	void *st = NULL;
	bool never = false;

	CHECK_EQ_INT(fixture_init(&f, 2000), 0);
	cfg = cfg_make(&f, "/slow", NULL);
	stt_rec_init(&r, 1);
	CHECK_EQ_INT(stt_openai.alloc(&st, &f.env, cfg, stt_h, &r), 0);

	/* cancelled while the request is out */
	CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
	feed_tone(&stt_openai, st, 16000);
	CHECK_EQ_INT(stt_openai.end(st), 0);
	stt_openai.cancel(st);
	/* cancelled while being fed: end has nothing to end */
	CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
	feed_tone(&stt_openai, st, 800);
	stt_openai.cancel(st);
	CHECK_EQ_INT(stt_openai.end(st), EPROTO);
	CHECK(!wait_for(&never, 400));
	CHECK_EQ_INT(r.nfinal, 0);

	/* and still works afterwards */
	CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
	feed_tone(&stt_openai, st, 800);
	CHECK_EQ_INT(stt_openai.end(st), 0);
	CHECK(wait_for(&r.done, 2000));
	CHECK_STR(r.text, "second");

	/* released by the handler of the first of two ready results */
	stt_rec_init(&r, 1);
	r.release = &st;
	CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
	CHECK_EQ_INT(stt_openai.end(st), 0);
	CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
	CHECK_EQ_INT(stt_openai.end(st), 0);
	CHECK(!wait_for(&never, 400));
	CHECK_EQ_INT(r.nfinal, 1);
	CHECK(st == NULL);

	/* released with a request out */
	stt_rec_init(&r, 1);
	CHECK_EQ_INT(stt_openai.alloc(&st, &f.env, cfg, stt_h, &r), 0);
	CHECK_EQ_INT(stt_openai.begin(st, NULL), 0);
	feed_tone(&stt_openai, st, 16000);
	CHECK_EQ_INT(stt_openai.end(st), 0);
	st = mem_deref(st);
	CHECK(!wait_for(&never, 400));
	CHECK_EQ_INT(r.nfinal, 0);

	mem_deref(cfg);
	fixture_close(&f);
}


/* ---- tts openai ---- */

struct tts_rec {
	struct srv *srv;
	int16_t *pcm;               /* all audio, concatenated */
	size_t n, cap;
	unsigned chunks, lasts, want_lasts;
	int err;
	bool null_on_err;
	uint32_t ids[16];           /* id of each last chunk, in order */
	size_t lens[16];            /* samples of each request */
	size_t cur_len;
	bool bad_id;                /* a chunk of another id before last */
	uint32_t cur_id;
	bool have_cur;
	unsigned sent_at_first;     /* server chunks sent at our first */
	bool done;
	/* reentrancy */
	void **release;             /* released on the first chunk */
	bool cancel_first;
	void *st;
};

static void tts_h(int err, int16_t *pcm, size_t n, bool last, uint32_t id,
		  void *arg)
{
	struct tts_rec *r = arg;

	if (!r->chunks++)
		r->sent_at_first = r->srv->chunks_sent;

	if (r->have_cur && r->cur_id != id)
		r->bad_id = true;
	r->cur_id = id;
	r->have_cur = !last;

	if (err) {
		r->err = err;
		if (pcm)
			r->null_on_err = false;
	}
	if (pcm && n) {
		if (r->n + n > r->cap) {
			size_t cap = (r->n + n) * 2;
			int16_t *p = realloc(r->pcm, cap * sizeof(*p));

			if (p) {
				r->pcm = p;
				r->cap = cap;
			}
		}
		if (r->n + n <= r->cap) {
			memcpy(r->pcm + r->n, pcm, n * sizeof(*pcm));
			r->n += n;
		}
		r->cur_len += n;
	}
	mem_deref(pcm);

	if (last) {
		if (r->lasts < ARRAY_SIZE(r->ids)) {
			r->ids[r->lasts] = id;
			r->lens[r->lasts] = r->cur_len;
		}
		r->cur_len = 0;
		++r->lasts;
		r->done = r->lasts >= r->want_lasts;
	}

	if (r->release && r->chunks == 1)
		*r->release = mem_deref(*r->release);
	if (r->cancel_first && r->chunks == 1)
		tts_openai.cancel(r->st);
}

static void tts_rec_init(struct tts_rec *r, struct srv *srv, unsigned want)
{
	free(r->pcm);
	memset(r, 0, sizeof(*r));
	r->srv = srv;
	r->want_lasts = want;
	r->null_on_err = true;
}

TEST(openai_tts_streams_and_resamples)
{
	struct fixture f;
	struct tts_rec r = {0};
	struct odict *cfg;
	void *st = NULL;
	unsigned hz;
	double level;

	CHECK_EQ_INT(fixture_init(&f, 2000), 0);
	cfg = cfg_make(&f, "", "sk-tts");
	CHECK_EQ_INT(odict_entry_add(cfg, "speed", ODICT_DOUBLE, 1.25), 0);
	tts_rec_init(&r, f.srv, 1);
	CHECK_EQ_INT(tts_openai.alloc(&st, &f.env, cfg, tts_h, &r), 0);
	mem_deref(cfg);

	CHECK_EQ_INT(tts_openai.speak(st, "Hello \"there\"", 7), 0);
	CHECK(wait_for(&r.done, 3000));

	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.lasts, 1);
	CHECK_EQ_INT(r.ids[0], 7);
	CHECK(!r.bad_id);
	/* audio came while the server was still sending */
	CHECK(r.chunks > 2);
	CHECK(r.sent_at_first < f.srv->chunks_sent);

	/* 1 s at 24 kHz is exactly 1 s at 8 kHz, still a 440 Hz tone */
	CHECK_EQ_INT(r.n, 8000);
	hz = dominant_hz(r.pcm + 200, r.n - 400);
	CHECK_EQ_INT(hz, TONE_HZ);
	level = rms(r.pcm + 200, r.n - 400);
	CHECK(level > TONE_AMP / sqrt(2) * 0.9 &&
	      level < TONE_AMP / sqrt(2) * 1.1);

	CHECK_STR(f.srv->tts_input, "Hello \"there\"");
	CHECK_STR(f.srv->tts_model, "tts-1");
	CHECK_STR(f.srv->tts_voice, "alloy");
	CHECK_STR(f.srv->tts_fmt, "pcm");
	CHECK(fabs(f.srv->tts_speed - 1.25) < 1e-9);
	CHECK_STR(f.srv->tts_auth, "Bearer sk-tts");

	mem_deref(st);
	tts_rec_init(&r, NULL, 0);
	fixture_close(&f);
}

TEST(openai_tts_runs_requests_in_order_one_at_a_time)
{
	struct fixture f;
	struct tts_rec r = {0};
	struct odict *cfg;
	void *st = NULL;

	CHECK_EQ_INT(fixture_init(&f, 2000), 0);
	cfg = cfg_make(&f, "/queue", NULL);
	CHECK_EQ_INT(odict_entry_add(cfg, "voice", ODICT_STRING, "nova"), 0);
	CHECK_EQ_INT(odict_entry_add(cfg, "model", ODICT_STRING, "kokoro"), 0);
	tts_rec_init(&r, f.srv, 3);
	CHECK_EQ_INT(tts_openai.alloc(&st, &f.env, cfg, tts_h, &r), 0);
	mem_deref(cfg);

	CHECK_EQ_INT(tts_openai.speak(st, "one", 1), 0);
	CHECK_EQ_INT(tts_openai.speak(st, "two", 2), 0);
	CHECK_EQ_INT(tts_openai.speak(st, "three", 3), 0);
	CHECK(wait_for(&r.done, 4000));

	CHECK_EQ_INT(r.err, 0);
	CHECK(!r.bad_id);
	CHECK_EQ_INT(r.ids[0], 1);
	CHECK_EQ_INT(r.ids[1], 2);
	CHECK_EQ_INT(r.ids[2], 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(r.lens[i], 1600);
	CHECK_EQ_INT(f.srv->tts_reqs, 3);
	CHECK_EQ_INT(f.srv->tts_max_active, 1);
	CHECK_STR(f.srv->tts_input, "three");
	CHECK_STR(f.srv->tts_voice, "nova");
	CHECK_STR(f.srv->tts_model, "kokoro");
	CHECK(fabs(f.srv->tts_speed - 1.0) < 1e-9);

	mem_deref(st);
	tts_rec_init(&r, NULL, 0);
	fixture_close(&f);
}

TEST(openai_tts_accepts_a_wav_reply)
{
	struct fixture f;
	struct tts_rec r = {0};
	struct odict *cfg;
	void *st = NULL;

	CHECK_EQ_INT(fixture_init(&f, 2000), 0);
	cfg = cfg_make(&f, "/wav", NULL);
	tts_rec_init(&r, f.srv, 1);
	CHECK_EQ_INT(tts_openai.alloc(&st, &f.env, cfg, tts_h, &r), 0);
	mem_deref(cfg);

	CHECK_EQ_INT(tts_openai.speak(st, "wav please", 9), 0);
	CHECK(wait_for(&r.done, 3000));
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.ids[0], 9);
	CHECK_EQ_INT(r.n, 4000);            /* 0.5 s at 16 kHz */
	CHECK_EQ_INT(dominant_hz(r.pcm + 200, r.n - 400), TONE_HZ);

	mem_deref(st);
	tts_rec_init(&r, NULL, 0);
	fixture_close(&f);
}

TEST(openai_tts_errors_end_the_request)
{
	struct fixture f;
	struct tts_rec r = {0};
	struct odict *cfg;
	void *st = NULL;

	CHECK_EQ_INT(fixture_init(&f, 300), 0);

	cfg = cfg_make(&f, "/err", NULL);
	tts_rec_init(&r, f.srv, 2);
	CHECK_EQ_INT(tts_openai.alloc(&st, &f.env, cfg, tts_h, &r), 0);
	mem_deref(cfg);
	CHECK_EQ_INT(tts_openai.speak(st, "a", 1), 0);
	CHECK_EQ_INT(tts_openai.speak(st, "b", 2), 0);
	CHECK(wait_for(&r.done, 2000));
	CHECK_EQ_INT(r.err, EPROTO);
	CHECK(r.null_on_err);
	CHECK_EQ_INT(r.chunks, 2);          /* one (last) per request */
	CHECK_EQ_INT(r.ids[0], 1);
	CHECK_EQ_INT(r.ids[1], 2);
	st = mem_deref(st);

	cfg = cfg_make(&f, "/stall", NULL);
	tts_rec_init(&r, f.srv, 1);
	CHECK_EQ_INT(tts_openai.alloc(&st, &f.env, cfg, tts_h, &r), 0);
	mem_deref(cfg);
	CHECK_EQ_INT(tts_openai.speak(st, "a", 1), 0);
	CHECK(wait_for(&r.done, 2000));
	CHECK_EQ_INT(r.err, ETIMEDOUT);
	CHECK_EQ_INT(r.chunks, 1);
	mem_deref(st);

	tts_rec_init(&r, NULL, 0);
	fixture_close(&f);
}

TEST(openai_tts_cancel_and_release_in_the_handler)
{
	struct fixture f;
	struct tts_rec r = {0};
	struct odict *cfg;
	void *st = NULL;
	bool never = false;
	unsigned n;

	CHECK_EQ_INT(fixture_init(&f, 2000), 0);
	cfg = cfg_make(&f, "", NULL);

	/* cancelled by the handler of the first chunk */
	tts_rec_init(&r, f.srv, 1);
	CHECK_EQ_INT(tts_openai.alloc(&st, &f.env, cfg, tts_h, &r), 0);
	r.cancel_first = true;
	r.st = st;
	CHECK_EQ_INT(tts_openai.speak(st, "one", 1), 0);
	CHECK_EQ_INT(tts_openai.speak(st, "two", 2), 0);
	CHECK(!wait_for(&never, 400));
	CHECK_EQ_INT(r.chunks, 1);
	CHECK_EQ_INT(r.lasts, 0);
	CHECK_EQ_INT(f.srv->tts_reqs, 1);

	/* the queue works again afterwards */
	r.cancel_first = false;
	r.want_lasts = 1;
	CHECK_EQ_INT(tts_openai.speak(st, "three", 3), 0);
	CHECK(wait_for(&r.done, 3000));
	CHECK_EQ_INT(r.ids[0], 3);
	CHECK_EQ_INT(f.srv->tts_reqs, 2);

	/* cancelled before anything was sent */
	r.done = false;
	r.want_lasts = 2;
	CHECK_EQ_INT(tts_openai.speak(st, "four", 4), 0);
	tts_openai.cancel(st);
	CHECK(!wait_for(&never, 200));
	CHECK_EQ_INT(f.srv->tts_reqs, 2);
	CHECK_EQ_INT(r.lasts, 1);

	/* released by the handler of the first chunk */
	tts_rec_init(&r, f.srv, 1);
	r.release = &st;
	CHECK_EQ_INT(tts_openai.speak(st, "five", 5), 0);
	CHECK(!wait_for(&never, 400));
	CHECK_EQ_INT(r.chunks, 1);
	CHECK(st == NULL);

	/* released with requests queued and under way */
	tts_rec_init(&r, f.srv, 1);
	CHECK_EQ_INT(tts_openai.alloc(&st, &f.env, cfg, tts_h, &r), 0);
	CHECK_EQ_INT(tts_openai.speak(st, "six", 6), 0);
	CHECK_EQ_INT(tts_openai.speak(st, "seven", 7), 0);
	settle(20);
	n = r.chunks;
	st = mem_deref(st);
	CHECK(!wait_for(&never, 300));
	CHECK_EQ_INT(r.chunks, n);
	CHECK_EQ_INT(r.lasts, 0);

	mem_deref(cfg);
	tts_rec_init(&r, NULL, 0);
	fixture_close(&f);
}


/* ---- stt deepgram ---- */

/* Feeds the tone in 40 ms pieces every 2 ms, then ends the utterance. */
struct feeder {
	const struct stt_ops *ops;
	void *st;
	size_t left, off;
	struct tmr tmr;
	bool ended;
	int end_err;
};

static void feeder_h(void *arg)
{
	struct feeder *fd = arg;
	int16_t buf[320];
	size_t k = fd->left < 320 ? fd->left : 320;

	tone(buf, k, TONE_HZ, 8000, fd->off);
	fd->ops->feed(fd->st, buf, k);
	fd->left -= k;
	fd->off += k;

	if (fd->left) {
		tmr_start(&fd->tmr, 2, feeder_h, fd);
		return;
	}

	fd->end_err = fd->ops->end(fd->st);
	fd->ended = true;
}

/* begin, some audio at once (before the connection is up), the rest
 * paced, then end */
static int utterance(struct feeder *fd, void *st, size_t n)
{
	int err;

	memset(fd, 0, sizeof(*fd));
	fd->ops = &stt_deepgram;
	fd->st = st;
	tmr_init(&fd->tmr);

	err = stt_deepgram.begin(st, NULL);
	if (err)
		return err;
	feed_tone(&stt_deepgram, st, 800);
	fd->off = 800;
	fd->left = n > 800 ? n - 800 : 0;
	if (fd->left)
		tmr_start(&fd->tmr, 2, feeder_h, fd);
	else
		feeder_h(fd);

	return 0;
}

TEST(deepgram_streams_and_finalizes)
{
	struct fixture f;
	struct stt_rec r;
	struct odict *cfg;
	struct feeder fd;
	void *st = NULL;

	CHECK_EQ_INT(fixture_init(&f, 2000), 0);
	cfg = cfg_make(&f, "", "dg-key");
	CHECK_EQ_INT(odict_entry_add(cfg, "language", ODICT_STRING, "en-GB"),
		     0);
	CHECK_EQ_INT(odict_entry_add(cfg, "model", ODICT_STRING,
				     "nova-2-phonecall"), 0);
	stt_rec_init(&r, 1);
	CHECK_EQ_INT(stt_deepgram.alloc(&st, &f.env, cfg, stt_h, &r), 0);
	mem_deref(cfg);

	CHECK_EQ_INT(utterance(&fd, st, 12800), 0);
	CHECK(wait_for(&r.done, 3000));
	CHECK_EQ_INT(fd.end_err, 0);
	CHECK_EQ_INT(r.err, 0);
	CHECK_STR(r.text, "hello world again");
	CHECK(r.ninterim >= 3);     /* hello, hello world, ... again */
	CHECK_STR(r.interim, "hello world again");

	CHECK_STR(f.srv->ws_auth, "Token dg-key");
	CHECK_STR(f.srv->ws_query, "?encoding=linear16&sample_rate=8000"
		  "&channels=1&interim_results=true"
		  "&model=nova-2-phonecall&language=en-GB");
	CHECK_EQ_INT(f.srv->ws_bytes, 12800 * 2);
	CHECK_EQ_INT(f.srv->finalizes, 1);

	/* the next utterance goes over the same connection */
	r.done = false;
	r.want = 2;
	CHECK_EQ_INT(utterance(&fd, st, 4000), 0);
	CHECK(wait_for(&r.done, 3000));
	CHECK_EQ_INT(r.err, 0);
	CHECK_STR(r.text, "short");
	CHECK_EQ_INT(f.srv->ws_accepts, 1);

	/* nothing said: an empty result at once, no Finalize needed */
	r.done = false;
	r.want = 3;
	CHECK_EQ_INT(stt_deepgram.begin(st, NULL), 0);
	CHECK_EQ_INT(stt_deepgram.end(st), 0);
	CHECK(wait_for(&r.done, 1000));
	CHECK_EQ_INT(r.err, 0);
	CHECK_STR(r.text, "");
	CHECK_EQ_INT(f.srv->finalizes, 2);
	CHECK_EQ_INT(f.srv->ws_accepts, 1);

	/* idle: KeepAlive before the server's 10 s timeout */
	settle(4300);
	CHECK(f.srv->keepalives >= 1);

	/* released: CloseStream, then the socket closes */
	st = mem_deref(st);
	settle(100);
	CHECK_EQ_INT(f.srv->closestreams, 1);
	CHECK(f.srv->wsl.head == NULL);

	fixture_close(&f);
}

TEST(deepgram_deadline_and_errors)
{
	static const struct {
		const char *prefix;
		int err;
		const char *text;
	} cases[] = {
		{"/mute", ETIMEDOUT, "(null)"},
		{"/mutefinal", 0, "hello world"},  /* the finals we have */
		{"/bad", EBADMSG, "(null)"},
		{"/error", EPROTO, "(null)"},
		{"/deny", EPROTO, "(null)"},
	};
	struct fixture f;

	CHECK_EQ_INT(fixture_init(&f, 300), 0);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct odict *cfg = cfg_make(&f, cases[i].prefix, NULL);
		struct stt_rec r;
		struct feeder fd;
		void *st = NULL;

		stt_rec_init(&r, 1);
		CHECK_EQ_INT(stt_deepgram.alloc(&st, &f.env, cfg, stt_h, &r),
			     0);
		mem_deref(cfg);
		CHECK_EQ_INT(utterance(&fd, st, 12800), 0);
		CHECK(wait_for(&r.done, 2000));
		if (r.err != cases[i].err)
			fprintf(stderr, "case %s\n", cases[i].prefix);
		CHECK_EQ_INT(r.err, cases[i].err);
		CHECK_STR(r.text, cases[i].text);
		CHECK(r.null_text_on_err);

		/* a failed connection, or one that did not answer
		 * Finalize, is not reused */
		{
			unsigned n = f.srv->ws_accepts;

			r.done = false;
			r.want = 2;
			CHECK_EQ_INT(utterance(&fd, st, 800), 0);
			CHECK(wait_for(&r.done, 2000));
			if (strcmp(cases[i].prefix, "/deny"))
				CHECK_EQ_INT(f.srv->ws_accepts, n + 1);
		}
		tmr_cancel(&fd.tmr);
		mem_deref(st);
	}

	CHECK_EQ_INT(f.srv->keepalives, 0);
	fixture_close(&f);
}

TEST(deepgram_cancel_drops_the_utterance)
{
	struct fixture f;
	struct stt_rec r;
	struct odict *cfg;
	struct feeder fd;
	void *st = NULL;
	bool never = false;

	CHECK_EQ_INT(fixture_init(&f, 2000), 0);
	cfg = cfg_make(&f, "", NULL);
	stt_rec_init(&r, 1);
	CHECK_EQ_INT(stt_deepgram.alloc(&st, &f.env, cfg, stt_h, &r), 0);

	/* ended, then cancelled before the final came */
	CHECK_EQ_INT(utterance(&fd, st, 12800), 0);
	CHECK(wait_for(&fd.ended, 2000));
	stt_deepgram.cancel(st);
	CHECK(!wait_for(&never, 300));
	CHECK_EQ_INT(r.nfinal, 0);
	CHECK_EQ_INT(stt_deepgram.end(st), EPROTO);

	/* a new connection for the next one */
	CHECK_EQ_INT(utterance(&fd, st, 4000), 0);
	CHECK(wait_for(&r.done, 2000));
	CHECK_STR(r.text, "short");
	CHECK_EQ_INT(f.srv->ws_accepts, 2);

	/* released by the handler of an interim result */
	stt_rec_init(&r, 1);
	r.release = &st;
	CHECK_EQ_INT(stt_deepgram.begin(st, NULL), 0);
	feed_tone(&stt_deepgram, st, 12800);
	CHECK(!wait_for(&never, 300));
	CHECK(st == NULL);
	CHECK_EQ_INT(r.ninterim, 1);
	CHECK_EQ_INT(r.nfinal, 0);

	/* released mid-utterance */
	stt_rec_init(&r, 1);
	CHECK_EQ_INT(stt_deepgram.alloc(&st, &f.env, cfg, stt_h, &r), 0);
	CHECK_EQ_INT(utterance(&fd, st, 12800), 0);
	settle(10);
	tmr_cancel(&fd.tmr);
	st = mem_deref(st);
	CHECK(!wait_for(&never, 200));
	CHECK_EQ_INT(r.nfinal, 0);

	mem_deref(cfg);
	fixture_close(&f);
}

TEST_MAIN()
