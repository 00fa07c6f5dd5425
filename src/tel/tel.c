/* tel.c - the SIP user agent: transports, the session socket, OPTIONS,
 * outbound dialling, live-call actions and shutdown. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "config/config.h"
#include "core/log.h"
#include "core/util.h"
#include "media/media.h"
#include "store/db.h"
#include "tel/callrec.h"
#include "tel/tel_int.h"


const char *tel_outcome(uint16_t scode, int err, bool ring_timeout)
{
	if (ring_timeout)
		return "no_answer";
	if (!scode)
		return err ? "unreachable" : "failed";
	if (scode < 300)
		return "answered";
	switch (scode) {
	case 486:
	case 600:
		return "busy";
	case 408:
	case 480:
		return "no_answer";
	case 603:
		return "rejected";
	case 503:
		return "unreachable";
	default:
		return "failed";
	}
}

/* requests outside dialogs that sipsess does not take */
static bool request_h(const struct sip_msg *msg, void *arg)
{
	struct tel *tel = arg;

	if (!pl_strcmp(&msg->met, "OPTIONS")) {
		/* a draining node: a dispatcher probing with OPTIONS (Kamailio)
		 * takes it out of rotation instead of sending calls to 503 */
		if (tel->shutting_down) {
			(void)sip_reply(tel->sip, msg, 503,
					"Service Unavailable");
			return true;
		}
		(void)sip_replyf(tel->sip, msg, 200, "OK",
				 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, "
				 "INFO, REFER, NOTIFY\r\n"
				 "Accept: application/sdp\r\n"
				 "Content-Length: 0\r\n\r\n");
		return true;
	}
	return false;
}

static void conn_h(const struct sip_msg *msg, void *arg)
{
	struct tel *tel = arg;

	if (tel->shutting_down) {
		(void)sip_treply(NULL, tel->sip, msg, 503,
				 "Service Unavailable");
		return;
	}
	inbound_invite(tel, msg);
}

static void tel_destructor(void *data)
{
	struct tel *tel = data;

	list_flush(&tel->pending);
	/* checks still waiting end silently: whoever asked is gone */
	list_flush(&tel->pings);
	list_flush(&tel->calls);
	list_flush(&tel->ending);
	mem_deref(tel->lsnr);
	mem_deref(tel->evsock);
	if (tel->sock)
		sipsess_close_all(tel->sock);
	mem_deref(tel->sock);
	if (tel->sip)
		sip_close(tel->sip, true);
	mem_deref(tel->sip);
	mem_deref(tel->tls);
	mem_deref(tel->dnsc);
	mem_deref(tel->contact);
	mem_deref(tel->env);
}

static int add_transports(struct tel *tel)
{
	const struct config *cfg = tel->cfg;
	struct sa laddr;
	int err;

	err = sa_decode(&laddr, cfg->sip_listen, strlen(cfg->sip_listen));
	if (err)
		return err;
	err = sip_transp_add(tel->sip, SIP_TRANSP_UDP, &laddr);
	if (!err)
		err = sip_transp_add(tel->sip, SIP_TRANSP_TCP, &laddr);
	if (err) {
		log_error("sip: cannot listen on %s: %m", cfg->sip_listen, err);
		return err;
	}
	if (cfg->sip_tls_listen[0]) {
		err = sa_decode(&laddr, cfg->sip_tls_listen,
				strlen(cfg->sip_tls_listen));
		if (!err)
			err = tls_alloc(&tel->tls, TLS_METHOD_SSLV23,
					cfg->sip_tls_cert, NULL);
		if (!err)
			err = sip_transp_add(tel->sip, SIP_TRANSP_TLS, &laddr,
					     tel->tls);
		if (err) {
			log_error("sip: cannot listen for TLS on %s with "
				  "certificate %s: %m", cfg->sip_tls_listen,
				  cfg->sip_tls_cert, err);
			return err;
		}
	}
	return 0;
}

int tel_alloc(struct tel **telp, const struct config *cfg, struct pool *pool,
	      struct media *media, struct metrics *metrics,
	      struct rtcfg_cache *rtcfg, struct agent_env *env)
{
	struct tel *tel;
	struct sa dns[4];
	uint32_t ndns = ARRAY_SIZE(dns);
	char domain[256] = "";
	int err;

	tel = mem_zalloc(sizeof(*tel), tel_destructor);
	if (!tel)
		return ENOMEM;
	tel->cfg = cfg;
	tel->pool = pool;
	tel->media = media;
	tel->metrics = metrics;
	tel->rtcfg = rtcfg;
	tel->env = mem_ref(env);

	/* behind NAT, advertise the public address in Contact (libre prints
	 * a Contact "user" containing ':' as the whole URI) */
	err = cfg->public_addr[0] ?
		re_sdprintf(&tel->contact, "sip:parley@%s", cfg->public_addr) :
		str_dup(&tel->contact, "parley");
	if (err) {
		mem_deref(tel);
		return err;
	}

	err = util_random(tel->nonce_key, sizeof(tel->nonce_key));
	/* trunks given by name (most are) resolve through the system's
	 * name servers; a host without resolv.conf still gets a resolver
	 * on itself */
	if (!err && (dns_srv_get(domain, sizeof(domain), dns, &ndns) ||
		     !ndns)) {
		ndns = 1;
		err = sa_set_str(&dns[0], "127.0.0.1", 53);
	}
	if (!err)
		err = dnsc_alloc(&tel->dnsc, NULL, dns, ndns);
	if (!err)
		err = sip_alloc(&tel->sip, tel->dnsc, 256, 256, 256,
				"Parley/" PARLEY_VERSION, NULL, NULL);
	if (!err)
		err = add_transports(tel);
	if (!err)
		err = sipsess_listen(&tel->sock, tel->sip, 256, conn_h, tel);
	if (!err)
		err = sipevent_listen(&tel->evsock, tel->sip, 64, 64, NULL,
				      NULL);
	if (!err)
		err = sip_listen(&tel->lsnr, tel->sip, true, request_h, tel);

	if (err)
		mem_deref(tel);
	else
		*telp = tel;
	return err;
}

int tel_trunk_uri(char **urip, const char *uri, const char *transport)
{
	if (!urip || !uri)
		return EINVAL;
	if (!transport || !strcmp(transport, "udp") ||
	    strstr(uri, "transport="))
		return str_dup(urip, uri);
	if (!strcmp(transport, "tls") && !strncmp(uri, "sip:", 4))
		return re_sdprintf(urip, "sips:%s", uri + 4);
	return re_sdprintf(urip, "%s;transport=%s", uri, transport);
}

void tel_set_end_handler(struct tel *tel, tel_end_h *h, void *arg)
{
	tel->endh = h;
	tel->end_arg = arg;
}

unsigned tel_active(const struct tel *tel)
{
	return tel ? list_count(&tel->calls) : 0;
}

void tel_shutdown(struct tel *tel, bool hangup_all)
{
	if (!tel)
		return;
	tel->shutting_down = true;
	if (!hangup_all)
		return;
	for (struct le *le = tel->calls.head; le;) {
		struct call *call = le->data;
		le = le->next;
		if (!call->closing)
			call_end(call, "system", "shutdown", NULL, 0);
	}
}

bool tel_idle(const struct tel *tel)
{
	return !tel || (!tel->calls.head && !tel->ending.head &&
			!tel->pending.head && !tel->pings.head &&
			!tel->mp3_pending);
}

/* ---- outbound ---- */

struct dial_auth {
	char *user, *pass;
};

static void dial_auth_destructor(void *data)
{
	struct dial_auth *a = data;

	mem_deref(a->user);
	mem_deref(a->pass);
}

static int auth_h(char **user, char **pass, const char *realm, void *arg)
{
	struct dial_auth *a = arg;
	int err;
	(void)realm;

	if (!a->user || !a->pass)
		return EAUTH;
	err = str_dup(user, a->user);
	if (!err)
		err = str_dup(pass, a->pass);
	return err;
}

static void progress_h(const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	int err;

	if (call->closing)
		return;
	/* even a 100 Trying shows the trunk is there (see ring_timeout_h) */
	call->responded = true;
	if (msg->scode >= 180 && call->state == CALL_INIT) {
		struct db_val p[] = {DBV_INT(util_now_ms())};

		call->state = CALL_RINGING;
		callrec_update(call->rec, "status = 'ringing', ringing_at = ?",
			       p, 1);
		call_event(call, "call.ringing", "{\"sip_code\":%u}",
			   msg->scode);
	}

	/* libre 1.1.0 gives a 18x's SDP (early media: ringback or an
	 * announcement from the network) to no other handler; without 100rel
	 * the 2xx repeats the answer and call_answer_h takes it again */
	if (msg->scode <= 100 || !mbuf_get_left(msg->mb) ||
	    !msg_ctype_cmp(&msg->ctyp, "application", "sdp"))
		return;
	err = mstream_set_answer(call->ms, msg->mb);
	if (!err)
		err = mstream_start(call->ms);
	if (err) {
		log_info("call %lld: early media not usable: %m",
			 (long long)callrec_id(call->rec), err);
		return;
	}
	if (!call->early_media) {
		call->early_media = true;
		call_event(call, "call.early_media", "{\"sip_code\":%u}",
			   msg->scode);
	}
}

static void ring_timeout_h(void *arg)
{
	struct call *call = arg;
	const struct config *cfg = call->tel->cfg;

	/* not even a 100 Trying: nobody is there (over UDP libre would only
	 * give up after timer B, 32 s) */
	if (!call->responded) {
		log_info("call %lld: no response from the trunk within %u s",
			 (long long)callrec_id(call->rec),
			 cfg->sip_ring_timeout);
		call_end(call, "system", "timeout", "unreachable", 0);
		return;
	}
	log_info("call %lld: no answer within %u s, cancelling",
		 (long long)callrec_id(call->rec), cfg->sip_ring_timeout);
	call->cancelled_by_timeout = true;
	call_end(call, "system", "ring_timeout", "no_answer", 0);
}

/* The Request-URI: the number at the trunk's host and port, with the
 * trunk's URI parameters (transport=...). A user part in the trunk URI is
 * replaced, as PBXs do with a gateway's contact. */
static int dial_uri(char **urip, const struct uri *turi, const char *to)
{
	const char *scheme = !pl_strcasecmp(&turi->scheme, "sips") ?
		"sips" : "sip";
	const bool v6 = turi->af == AF_INET6;

	if (turi->port)
		return re_sdprintf(urip, "%s:%s@%s%r%s:%u%r", scheme, to,
				   v6 ? "[" : "", &turi->host, v6 ? "]" : "",
				   turi->port, &turi->params);
	return re_sdprintf(urip, "%s:%s@%s%r%s%r", scheme, to, v6 ? "[" : "",
			   &turi->host, v6 ? "]" : "", &turi->params);
}

/* The calls row of a call that could not even be set up (no RTP port
 * left, no memory): ended as failed rather than left initiated. */
static void dial_failed(struct tel *tel, const struct tel_dial *d)
{
	struct callrec *rec = NULL;

	if (callrec_alloc(&rec, tel->pool, d->tenant_id, d->call_id))
		return;
	{
		struct db_val p[] = {DBV_INT(util_now_ms())};
		(void)callrec_update(rec, "status = 'ended', ended_at = ?, "
				     "hangup_cause = 'setup_error', "
				     "hangup_by = 'system', outcome = 'failed'",
				     p, 1);
	}
	(void)callrec_event(rec, "call.ended", "{\"outcome\":\"failed\","
			    "\"cause\":\"setup_error\",\"by\":\"system\"}");
	/* the record keeps itself until its writes are done */
	mem_deref(rec);
}

int tel_dial(struct tel *tel, const struct tel_dial *d)
{
	struct call *call = NULL;
	struct dial_auth *auth = NULL;
	struct mbuf *offer = NULL;
	char *to_uri = NULL, *from_uri = NULL;
	const char *cause = "setup_error";
	struct uri turi;
	struct pl pl;
	int err;

	if (!tel || !d || !d->to || !d->trunk_uri)
		return EINVAL;

	/* from here on every failure also ends the calls row, which the
	 * API has already returned as initiated */
	err = call_alloc(&call, tel, d->tenant_id, d->call_id, true);
	if (err) {
		log_warn("call %lld: cannot set up: %m", (long long)d->call_id,
			 err);
		dial_failed(tel, d);
		return err;
	}
	call->agent_id = d->agent_id;
	call->campaign_id = d->campaign_id;
	call->task_id = d->task_id;
	(void)str_dup(&call->peer_number, d->to);
	call_configure(call, d->agent_json, d->vars_json, d->message,
		       d->message != NULL);

	if (tel->shutting_down) {
		cause = "shutdown";
		err = ESHUTDOWN;
		goto out;
	}
	pl_set_str(&pl, d->trunk_uri);
	if (uri_decode(&turi, &pl)) {
		cause = "invalid_trunk_uri";
		err = EINVAL;
		goto out;
	}
	(void)(turi.port ? re_sdprintf(&call->peer_domain, "%r:%u",
				       &turi.host, turi.port) :
	       re_sdprintf(&call->peer_domain, "%r", &turi.host));

	auth = mem_zalloc(sizeof(*auth), dial_auth_destructor);
	if (!auth) {
		err = ENOMEM;
		goto out;
	}
	if (d->username && *d->username)
		err |= str_dup(&auth->user, d->username);
	if (d->password)
		err |= str_dup(&auth->pass, d->password);
	err |= dial_uri(&to_uri, &turi, d->to);
	err |= re_sdprintf(&from_uri, "sip:%s@%s", d->from && *d->from ?
			   d->from : "parley", tel->cfg->public_addr[0] ?
			   tel->cfg->public_addr : tel->cfg->sip_listen);
	if (err)
		goto out;

	err = mstream_offer(call->ms, &offer);
	if (err)
		goto out;

	err = sipsess_connect(&call->sess, tel->sock, to_uri, NULL, from_uri,
			      tel->contact, NULL, 0, "application/sdp", offer,
			      auth_h, auth, true, call_offer_h, call_answer_h,
			      progress_h, call_estab_h, call_info_h,
			      call_refer_h, call_close_h, call,
			      "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, "
			      "REFER, NOTIFY\r\n");
	if (err) {
		/* e.g. a transport we do not listen on: the call is placed
		 * as far as the API is concerned, and ends unreachable */
		log_warn("call %lld: cannot send INVITE to %s: %m",
			 (long long)d->call_id, to_uri, err);
		call_end(call, "system", "transport_error", "unreachable", 0);
		err = 0;
		goto out;
	}
	{
		struct db_val p[] = {
			DBV_TEXT(sip_dialog_callid(sipsess_dialog(call->sess)))};
		callrec_update(call->rec, "sip_call_id = ?", p, 1);
	}
	call_event(call, "call.initiated", "{\"to\":\"%s\"}", d->to);
	tmr_start(&call->tmr_ring, (uint64_t)tel->cfg->sip_ring_timeout * 1000,
		  ring_timeout_h, call);

 out:
	if (err) {
		log_warn("call %lld: cannot dial: %m", (long long)d->call_id,
			 err);
		/* call_end owns the call and frees it from a timer */
		call_end(call, "system", cause, "failed", 0);
	}
	mem_deref(auth);
	mem_deref(offer);
	mem_deref(to_uri);
	mem_deref(from_uri);
	return err;
}

int tel_hangup(struct tel *tel, int64_t tenant_id, int64_t call_id)
{
	struct call *call = call_find(tel, tenant_id, call_id);

	if (!call)
		return ENOENT;
	call_end(call, "agent", "api_hangup", NULL, 0);
	return 0;
}

int tel_send_dtmf(struct tel *tel, int64_t tenant_id, int64_t call_id,
		  const char *digits)
{
	struct call *call = call_find(tel, tenant_id, call_id);
	int err = 0;

	if (!call || call->state != CALL_ANSWERED)
		return ENOENT;
	for (const char *p = digits; *p && !err; p++)
		err = mstream_send_dtmf(call->ms, *p);
	if (!err)
		call_event(call, "dtmf.sent", "{\"digits\":\"%s\"}", digits);
	return err;
}

/* ---- OPTIONS ping ---- */

/* How long a trunk check waits. Over UDP libre would retransmit until
 * timer F (32 s), longer than an HTTP client waits; 3 s is what
 * Asterisk's qualify_timeout defaults to. */
enum { PING_TIMEOUT_MS = 3000 };

struct ping {
	struct le le;
	tel_ping_h *h;
	void *arg;
	uint64_t t0;
	struct sip_request *req;
	struct tmr tmr;
};

static void ping_destructor(void *data)
{
	struct ping *p = data;

	list_unlink(&p->le);
	tmr_cancel(&p->tmr);
	mem_deref(p->req);   /* still pending: libre cancels it quietly */
}

static void ping_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct ping *p = arg;
	uint32_t rtt = (uint32_t)((util_mono_us() - p->t0) / 1000);

	/* a non-INVITE transaction reports 1xx too; wait for the final */
	if (!err && msg && msg->scode < 200)
		return;
	/* any final response means the trunk is there */
	p->req = NULL;   /* libre frees the request after this returns */
	p->h(err, msg ? msg->scode : 0, rtt, p->arg);
	mem_deref(p);
}

static void ping_timeout_h(void *arg)
{
	struct ping *p = arg;

	p->h(ETIMEDOUT, 0, PING_TIMEOUT_MS, p->arg);
	mem_deref(p);
}

int tel_ping(struct tel *tel, const char *uri, tel_ping_h *h, void *arg)
{
	struct ping *p;
	int err;

	if (!tel || !uri || !h)
		return EINVAL;
	p = mem_zalloc(sizeof(*p), ping_destructor);
	if (!p)
		return ENOMEM;
	p->h = h;
	p->arg = arg;
	p->t0 = util_mono_us();
	list_append(&tel->pings, &p->le, p);
	/* armed first: nothing may touch p once the handler may have run */
	tmr_start(&p->tmr, PING_TIMEOUT_MS, ping_timeout_h, p);
	err = sip_requestf(&p->req, tel->sip, true, "OPTIONS", uri, NULL, NULL,
			   NULL, ping_resp_h, p,
			   "From: <sip:parley@%s>;tag=%x\r\n"
			   "To: <%s>\r\n"
			   "Call-ID: %x%x\r\n"
			   "CSeq: 1 OPTIONS\r\n"
			   "Max-Forwards: 70\r\n"
			   "Content-Length: 0\r\n\r\n",
			   tel->cfg->public_addr[0] ? tel->cfg->public_addr :
			   tel->cfg->sip_listen, rand_u32(), uri, rand_u32(),
			   rand_u32());
	if (err)
		mem_deref(p);
	return err;
}
