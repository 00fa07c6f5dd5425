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
	      struct rtcfg_cache *rtcfg)
{
	struct tel *tel;
	struct sa dns;
	int err;

	tel = mem_zalloc(sizeof(*tel), tel_destructor);
	if (!tel)
		return ENOMEM;
	tel->cfg = cfg;
	tel->pool = pool;
	tel->media = media;
	tel->metrics = metrics;
	tel->rtcfg = rtcfg;

	err = util_random(tel->nonce_key, sizeof(tel->nonce_key));
	/* trunks are usually given by address; DNS when they are not */
	if (!err)
		err = sa_set_str(&dns, "127.0.0.1", 53);
	if (!err)
		err = dnsc_alloc(&tel->dnsc, NULL, &dns, 1);
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
			!tel->pending.head);
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

	if (msg->scode < 180 || call->state != CALL_INIT)
		return;
	call->state = CALL_RINGING;
	{
		struct db_val p[] = {DBV_INT(util_now_ms())};
		callrec_update(call->rec, "status = 'ringing', ringing_at = ?",
			       p, 1);
	}
	call_event(call, "call.ringing", "{\"sip_code\":%u}", msg->scode);
	/* early media (183 with SDP) is taken by call_answer_h */
}

static void ring_timeout_h(void *arg)
{
	struct call *call = arg;

	log_info("call %lld: no answer within %u s, cancelling",
		 (long long)callrec_id(call->rec),
		 call->tel->cfg->sip_ring_timeout);
	call->cancelled_by_timeout = true;
	call_end(call, "system", "ring_timeout", "no_answer", 0);
}

int tel_dial(struct tel *tel, const struct tel_dial *d)
{
	struct call *call = NULL;
	struct dial_auth *auth = NULL;
	struct mbuf *offer = NULL;
	char *to_uri = NULL, *from_uri = NULL;
	struct uri turi;
	struct pl pl;
	int err;

	if (!tel || !d || !d->to || !d->trunk_uri)
		return EINVAL;
	if (tel->shutting_down)
		return ESHUTDOWN;

	pl_set_str(&pl, d->trunk_uri);
	err = uri_decode(&turi, &pl);
	if (err)
		return EINVAL;

	err = call_alloc(&call, tel, d->tenant_id, d->call_id, true);
	if (err)
		return err;
	call->agent_id = d->agent_id;
	call_configure(call, d->agent_json, NULL);

	auth = mem_zalloc(sizeof(*auth), dial_auth_destructor);
	if (!auth) {
		err = ENOMEM;
		goto out;
	}
	if (d->username)
		err |= str_dup(&auth->user, d->username);
	if (d->password)
		err |= str_dup(&auth->pass, d->password);

	/* the number at the trunk's host, with the trunk's parameters */
	{
		const char *scheme = !pl_strcmp(&turi.scheme, "sips") ?
			"sips" : "sip";
		if (turi.port)
			err |= re_sdprintf(&to_uri, "%s:%s@%r:%u%r", scheme,
					   d->to, &turi.host, turi.port,
					   &turi.params);
		else
			err |= re_sdprintf(&to_uri, "%s:%s@%r%r", scheme,
					   d->to, &turi.host, &turi.params);
	}
	if (err)
		goto out;
	err = re_sdprintf(&from_uri, "sip:%s@%s", d->from && *d->from ?
			  d->from : "parley", tel->cfg->public_addr[0] ?
			  tel->cfg->public_addr : tel->cfg->sip_listen);
	if (err)
		goto out;

	err = mstream_offer(call->ms, &offer);
	if (err)
		goto out;

	err = sipsess_connect(&call->sess, tel->sock, to_uri, NULL, from_uri,
			      "parley", NULL, 0, "application/sdp", offer,
			      auth_h, auth, true, call_offer_h, call_answer_h,
			      progress_h, call_estab_h, call_info_h,
			      call_refer_h, call_close_h, call,
			      "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, "
			      "REFER, NOTIFY\r\n");
	if (err) {
		log_warn("call %lld: cannot send INVITE to %s: %m",
			 (long long)d->call_id, to_uri, err);
		call_end(call, "system", "transport_error", "unreachable", 0);
		call = NULL;   /* call_end owns it now */
		err = 0;
		goto out;
	}
	call_event(call, "call.initiated", "{\"to\":\"%s\"}", d->to);
	tmr_start(&call->tmr_ring, (uint64_t)tel->cfg->sip_ring_timeout * 1000,
		  ring_timeout_h, call);
	call = NULL;

 out:
	if (call)
		mem_deref(call);
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

struct ping {
	tel_ping_h *h;
	void *arg;
	uint64_t t0;
	struct sip_request *req;
};

static void ping_destructor(void *data)
{
	struct ping *p = data;

	mem_deref(p->req);
}

static void ping_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct ping *p = arg;
	uint32_t rtt = (uint32_t)((util_mono_us() - p->t0) / 1000);

	/* any final response means the trunk is there */
	p->h(err, msg ? msg->scode : 0, rtt, p->arg);
	p->req = NULL;
	mem_deref(p);
}

int tel_ping(struct tel *tel, const char *uri, tel_ping_h *h, void *arg)
{
	struct ping *p;
	int err;

	p = mem_zalloc(sizeof(*p), ping_destructor);
	if (!p)
		return ENOMEM;
	p->h = h;
	p->arg = arg;
	p->t0 = util_mono_us();
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
