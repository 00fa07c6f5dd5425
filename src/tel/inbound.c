/* inbound.c - an INVITE from a trunk: find the dialled number's agent,
 * decide whether the caller may call (source address allowlist and/or
 * digest), check business hours, then answer.
 *
 * Broken INVITEs are refused on the loop before any of this. The store
 * lookups and the verdict run on a worker; the loop only replies.
 * Unknown callers get 403 whatever the number, so the answers never
 * reveal which numbers exist; 404 goes only to sources some trunk
 * allows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "api/handlers.h"
#include "config/config.h"
#include "contacts/e164.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "json/json.h"
#include "media/media.h"
#include "store/db.h"
#include "store/worker.h"
#include "tel/callrec.h"
#include "tel/hours.h"
#include "tel/tel_int.h"

enum { NONCE_TTL_S = 300, INVITE_MAX = 8192 };

enum verdict {
	V_ACCEPT, V_CHALLENGE, V_FORBIDDEN, V_NOT_FOUND, V_UNAVAILABLE,
	V_ERROR,
};

struct inv {
	struct le le;                 /* tel->pending */
	struct tel *tel;
	const struct sip_msg *msg;    /* referenced; read-only on the worker */
	char number[E164_MAXLEN + 1];
	struct sa src;
	uint64_t now_ms;
	/* results (worker) */
	enum verdict verdict;
	bool stale;                   /* the nonce was old: challenge again */
	int64_t tenant_id, agent_id, trunk_id, call_id;
	char *agent_json;
	bool open;
	char *closed_message;
};

static void inv_destructor(void *data)
{
	struct inv *inv = data;

	list_unlink(&inv->le);
	mem_deref((void *)inv->msg);
	mem_deref(inv->agent_json);
	mem_deref(inv->closed_message);
}

/* ---- digest nonces: time and an HMAC of it, so no state is kept ---- */

static void nonce_make(const struct tel *tel, uint64_t secs, char out[41])
{
	uint8_t mac[32];
	char ts[17];

	re_snprintf(ts, sizeof(ts), "%016llx", (unsigned long long)secs);
	util_hmac_sha256(mac, tel->nonce_key, sizeof(tel->nonce_key), ts, 16);
	memcpy(out, ts, 16);
	util_hex(out + 16, mac, 12);
}

/* 0 valid, ETIMEDOUT stale, EINVAL forged */
static int nonce_check(const struct tel *tel, const struct pl *nonce,
		       uint64_t now_s)
{
	char want[41], ts[17];
	uint64_t secs;

	if (nonce->l != 40)
		return EINVAL;
	memcpy(ts, nonce->p, 16);
	ts[16] = '\0';
	secs = strtoull(ts, NULL, 16);
	nonce_make(tel, secs, want);
	if (!util_ct_equal(want, nonce->p, 40))
		return EINVAL;
	return now_s - secs > NONCE_TTL_S ? ETIMEDOUT : 0;
}

/* ---- the verdict, on a worker ---- */

static bool src_allowed(const struct odict *inbound, const struct sa *src)
{
	const struct odict_entry *ips = odict_lookup(inbound, "allowed_ips");

	if (!ips || ips->type != ODICT_ARRAY)
		return false;
	for (struct le *le = ips->u.odict->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;
		if (e->type == ODICT_STRING && util_ipnet_match(e->u.str, src))
			return true;
	}
	return false;
}

/* digest credentials against the trunk's; sets verdict */
static enum verdict check_digest(struct inv *inv, const char *user,
				 const char *pass)
{
	const struct tel *tel = inv->tel;
	const struct sip_hdr *h;
	struct httpauth_digest_resp resp;
	uint8_t ha1[16];
	int err;

	h = sip_msg_hdr(inv->msg, SIP_HDR_AUTHORIZATION);
	if (!h)
		return V_CHALLENGE;
	if (httpauth_digest_response_decode(&resp, &h->val))
		return V_FORBIDDEN;
	err = nonce_check(tel, &resp.nonce, inv->now_ms / 1000);
	if (err == ETIMEDOUT) {
		inv->stale = true;
		return V_CHALLENGE;
	}
	/* the answer must be for this request's URI, so a captured
	 * Authorization header cannot be replayed on another one */
	if (err || pl_strcmp(&resp.username, user) ||
	    pl_strcmp(&resp.realm, tel->cfg->sip_realm) ||
	    pl_cmp(&resp.uri, &inv->msg->ruri))
		return V_FORBIDDEN;
	if (md5_printf(ha1, "%s:%s:%s", user, tel->cfg->sip_realm, pass))
		return V_ERROR;
	if (httpauth_digest_response_auth(&resp, &inv->msg->met, ha1))
		return V_FORBIDDEN;
	return V_ACCEPT;
}

/* may this source call this trunk? */
static enum verdict authorise(struct inv *inv, const char *inbound_json)
{
	struct odict *in = NULL;
	const char *user, *pass;
	enum verdict v = V_ACCEPT;
	bool has_ips;
	int type;

	if (!inbound_json ||
	    json_parse(&in, &type, inbound_json, strlen(inbound_json), NULL))
		return V_FORBIDDEN;   /* a trunk must say who may call */

	has_ips = odict_lookup(in, "allowed_ips") != NULL;
	user = odict_string(in, "username");
	pass = odict_string(in, "password");
	if (!has_ips && !(user && pass))
		v = V_FORBIDDEN;
	else if (has_ips && !src_allowed(in, &inv->src))
		v = V_FORBIDDEN;
	else if (user && pass)
		v = check_digest(inv, user, pass);
	mem_deref(in);
	return v;
}

static bool any_trunk_allows(struct db *db, const struct sa *src)
{
	struct db_res *rows = NULL;
	bool found = false;

	if (db_exec(db, &rows, "SELECT inbound FROM trunks WHERE inbound IS "
		    "NOT NULL AND COALESCE(enabled, 1) = 1", NULL, 0))
		return false;
	for (size_t i = 0; i < db_res_nrows(rows) && !found; i++) {
		const char *j = db_res_str(rows, i, 0);
		struct odict *in = NULL;
		int type;
		if (j && !json_parse(&in, &type, j, strlen(j), NULL))
			found = src_allowed(in, src);
		mem_deref(in);
	}
	mem_deref(rows);
	return found;
}

static void business_hours(struct inv *inv)
{
	struct odict *cfg = NULL;
	const struct odict_entry *in, *bh;
	int type;

	inv->open = true;
	if (!inv->agent_json || json_parse(&cfg, &type, inv->agent_json,
					   strlen(inv->agent_json), NULL))
		return;
	in = odict_lookup(cfg, "inbound");
	bh = in && in->type == ODICT_OBJECT ?
		odict_lookup(in->u.odict, "business_hours") : NULL;
	if (bh && bh->type == ODICT_OBJECT &&
	    !hours_open(bh->u.odict, NULL, (int64_t)inv->now_ms)) {
		const char *m = odict_string(in->u.odict,
					     "out_of_hours_message");
		inv->open = false;
		(void)str_dup(&inv->closed_message, m ? m :
			      "Sorry, we are closed right now. Please call "
			      "again during our opening hours. Goodbye.");
	}
	mem_deref(cfg);
}

static void route_work_h(void *ctx, void *arg)
{
	struct inv *inv = arg;
	struct db_res *rows = NULL;
	struct db *db = NULL;
	char from[128], to[128];
	int err;

	inv->verdict = V_ERROR;
	if (store_worker_db(ctx, &db))
		return;

	/* a user part that is no number is routed like an unknown number */
	if (!inv->number[0]) {
		inv->verdict = any_trunk_allows(db, &inv->src) ?
			V_NOT_FOUND : V_FORBIDDEN;
		goto out;
	}

	struct db_val p[] = {DBV_TEXT(inv->number)};
	err = db_exec(db, &rows, "SELECT n.tenant_id, n.agent_id, n.trunk_id, "
		      "t.inbound, COALESCE(t.enabled, 1) FROM phone_numbers n "
		      "LEFT JOIN trunks t ON t.id = n.trunk_id WHERE "
		      "n.number = ?", p, 1);
	if (err) {
		log_warn("sip: number lookup failed: %s", db_errmsg(db));
		if (err == ENOTCONN)
			store_worker_reset(ctx);
		goto out;
	}
	if (!db_res_nrows(rows)) {
		inv->verdict = any_trunk_allows(db, &inv->src) ?
			V_NOT_FOUND : V_FORBIDDEN;
		goto out;
	}
	inv->tenant_id = db_res_int(rows, 0, 0);
	inv->agent_id  = db_res_int(rows, 0, 1);
	inv->trunk_id  = db_res_int(rows, 0, 2);
	/* a disabled trunk lets no one in */
	inv->verdict = authorise(inv, db_res_int(rows, 0, 4) ?
				 db_res_str(rows, 0, 3) : NULL);
	if (inv->verdict != V_ACCEPT)
		goto out;
	if (!inv->agent_id) {
		inv->verdict = V_UNAVAILABLE;
		goto out;
	}

	err = agent_runtime_json(inv->tel->rtcfg, db, inv->tenant_id,
				 inv->agent_id, &inv->agent_json, NULL);
	if (err) {
		inv->verdict = V_UNAVAILABLE;
		goto out;
	}
	business_hours(inv);

	pl_strcpy(&inv->msg->from.uri.user, from, sizeof(from));
	pl_strcpy(&inv->msg->to.uri.user, to, sizeof(to));
	{
		int64_t now = (int64_t)inv->now_ms;
		char callid[256];
		struct db_res *ins = NULL;
		pl_strcpy(&inv->msg->callid, callid, sizeof(callid));
		struct db_val q[] = {
			DBV_INT(inv->tenant_id), DBV_INT(now), DBV_INT(now),
			DBV_TEXT(from), DBV_TEXT(inv->number),
			inv->trunk_id ? DBV_INT(inv->trunk_id) : DBV_NULL,
			DBV_INT(inv->agent_id), DBV_TEXT(callid), DBV_INT(now)};
		err = db_exec(db, &ins, "INSERT INTO calls (tenant_id, "
			      "created_at, updated_at, direction, from_number, "
			      "to_number, trunk_id, agent_id, sip_call_id, "
			      "status, ringing_at) VALUES (?, ?, ?, 'inbound', "
			      "?, ?, ?, ?, ?, 'ringing', ?) RETURNING id", q, 9);
		if (!err)
			inv->call_id = db_res_int(ins, 0, 0);
		mem_deref(ins);
		if (err) {
			log_warn("sip: cannot record the call: %s",
				 db_errmsg(db));
			inv->verdict = V_ERROR;
		}
	}
	(void)to;
 out:
	mem_deref(rows);
}

/* ---- the reply, on the loop ---- */

/* the router wrote a calls row, but the call cannot go on after all
 * (shutting down, no memory): the row must not stay 'ringing' */
static void row_end(const struct inv *inv, uint16_t scode, const char *cause)
{
	const char *outcome = tel_outcome(scode, 0, false);
	struct callrec *rec = NULL;
	char *data = NULL;

	if (!inv->call_id ||
	    callrec_alloc(&rec, inv->tel->pool, inv->tenant_id, inv->call_id))
		return;
	{
		struct db_val p[] = {DBV_INT(util_now_ms()), DBV_INT(scode),
				     DBV_TEXT(cause), DBV_TEXT(outcome)};
		(void)callrec_update(rec, "status = 'ended', ended_at = ?, "
				     "sip_code = ?, hangup_cause = ?, "
				     "hangup_by = 'system', outcome = ?", p, 4);
	}
	(void)re_sdprintf(&data, "{\"outcome\":\"%s\",\"cause\":\"%s\","
			  "\"by\":\"system\"}", outcome, cause);
	(void)callrec_event(rec, "call.ended", data);
	mem_deref(data);
	/* the record keeps itself until its writes are done */
	mem_deref(rec);
}

static void challenge(struct inv *inv)
{
	struct tel *tel = inv->tel;
	char nonce[41];

	nonce_make(tel, inv->now_ms / 1000, nonce);
	(void)sip_replyf(tel->sip, inv->msg, 401, "Unauthorized",
			 "WWW-Authenticate: Digest realm=\"%s\", "
			 "nonce=\"%b\", qop=\"auth\", algorithm=MD5%s\r\n"
			 "Content-Length: 0\r\n\r\n", tel->cfg->sip_realm,
			 nonce, (size_t)40, inv->stale ? ", stale=true" : "");
}

static void answer(struct inv *inv)
{
	struct tel *tel = inv->tel;
	struct call *call = NULL;
	struct mbuf *desc = NULL;
	bool offer = !mbuf_get_left(inv->msg->mb);
	int err;

	err = call_alloc(&call, tel, inv->tenant_id, inv->call_id, false);
	if (err) {
		(void)sip_treply(NULL, tel->sip, inv->msg, 500,
				 "Server Internal Error");
		row_end(inv, 500, "setup_error");
		return;
	}
	call->agent_id = inv->agent_id;
	if (pl_isset(&inv->msg->from.uri.user))
		(void)pl_strdup(&call->peer_number,
				&inv->msg->from.uri.user);
	{
		const struct uri *fu = &inv->msg->from.uri;
		(void)(fu->port ? re_sdprintf(&call->peer_domain, "%r:%u",
					      &fu->host, fu->port) :
		       re_sdprintf(&call->peer_domain, "%r", &fu->host));
	}
	call_configure(call, inv->agent_json, NULL,
		       inv->open ? NULL : inv->closed_message, false);
	if (!inv->open)
		call_event(call, "out_of_hours", NULL);

	/* an INVITE without SDP gets our offer; the answer comes in ACK */
	err = offer ? mstream_offer(call->ms, &desc)
		    : mstream_answer(call->ms, inv->msg->mb, &desc);
	if (err) {
		uint16_t code = err == EPROTO ? 488 : 400;
		(void)sip_treply(NULL, tel->sip, inv->msg, code,
				 code == 488 ? "Not Acceptable Here" :
				 "Bad Request");
		call_end(call, "system", code == 488 ? "no_common_codec" :
			 "bad_sdp", "failed", code);
		return;
	}

	err = sipsess_accept(&call->sess, tel->sock, inv->msg, 200, "OK",
			     tel->contact, "application/sdp", desc, NULL, NULL,
			     false, call_offer_h, call_answer_h, call_estab_h,
			     call_info_h, call_refer_h, call_close_h, call,
			     "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, "
			     "REFER, NOTIFY\r\n");
	mem_deref(desc);
	if (err) {
		log_warn("sip: cannot accept INVITE: %m", err);
		(void)sip_treply(NULL, tel->sip, inv->msg, 500,
				 "Server Internal Error");
		call_end(call, "system", "accept_failed", "failed", 500);
		return;
	}
	call_event(call, "call.initiated", "{\"direction\":\"inbound\"}");
	log_info("call %lld: inbound to %s answered", (long long)inv->call_id,
		 inv->number);
}

static void route_done_h(int err, void *arg)
{
	struct inv *inv = arg;
	struct tel *tel = inv->tel;
	const struct sip_msg *msg = inv->msg;

	if (err || tel->shutting_down) {
		(void)sip_treply(NULL, tel->sip, msg, 503,
				 "Service Unavailable");
		row_end(inv, 503, "shutdown");
		goto out;
	}
	switch (inv->verdict) {
	case V_ACCEPT:
		answer(inv);
		break;
	case V_CHALLENGE:
		challenge(inv);
		break;
	case V_FORBIDDEN:
		log_info("sip: INVITE from %J refused (403)", &inv->src);
		(void)sip_treply(NULL, tel->sip, msg, 403, "Forbidden");
		break;
	case V_NOT_FOUND:
		(void)sip_treply(NULL, tel->sip, msg, 404, "Not Found");
		break;
	case V_UNAVAILABLE:
		(void)sip_treply(NULL, tel->sip, msg, 480,
				 "Temporarily Unavailable");
		break;
	default:
		(void)sip_treply(NULL, tel->sip, msg, 503,
				 "Service Unavailable");
		break;
	}
 out:
	mem_deref(inv);
}

/* the dialled number: Request-URI user, else To user, as E.164 */
static int dialled(char out[E164_MAXLEN + 1], const struct sip_msg *msg)
{
	const struct pl *users[] = {&msg->uri.user, &msg->to.uri.user};
	const char *why;

	for (size_t i = 0; i < 2; i++) {
		char raw[64], plus[66];
		if (!users[i]->l || users[i]->l >= sizeof(raw))
			continue;
		pl_strcpy(users[i], raw, sizeof(raw));
		re_snprintf(plus, sizeof(plus), "%s%s",
			    raw[0] == '+' ? "" : "+", raw);
		if (!e164_normalize(out, plus, NULL, &why))
			return 0;
	}
	return ENOENT;
}

/* digits only, as Content-Length must be (libre reads "-1" as 0) */
static bool pl_isdigits(const struct pl *pl)
{
	if (!pl->l || pl->l > 9)
		return false;
	for (size_t i = 0; i < pl->l; i++)
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	return true;
}

/*
 * An INVITE no one should act on is refused before any lookup (RFC 3261
 * 8.2, 18.3): EBADMSG with the response in *scodep and *reasonp, or
 * with *scodep 0 when there must be no response at all (without a Via
 * there is nowhere to send one; libre would pick port 5060 at the
 * source address).
 */
static int invite_check(const struct sip_msg *msg, uint16_t *scodep,
			const char **reasonp)
{
	/* the request line starts the message; the body follows the headers */
	const char *head = msg->met.p;
	size_t hlen = (size_t)((const char *)mbuf_buf(msg->mb) - head);
	size_t body = mbuf_get_left(msg->mb);
	const struct sip_hdr *contact;
	struct sip_addr addr;

	*scodep = 400;
	if (!pl_isset(&msg->via.sentby)) {
		*scodep = 0;
		*reasonp = "no Via";
		return EBADMSG;
	}
	/* what one UDP datagram can bring (libre reads 8 KB): TCP callers
	 * meet the same limit rather than a bigger one */
	if (hlen + body > INVITE_MAX) {
		*scodep = 513;
		*reasonp = "Message Too Large";
		return EBADMSG;
	}
	/* NULs end C strings: a header read twice could mean two things */
	if (memchr(head, '\0', hlen)) {
		*reasonp = "NUL In Headers";
		return EBADMSG;
	}
	if (!pl_isset(&msg->callid) || !sip_msg_hdr(msg, SIP_HDR_FROM) ||
	    !sip_msg_hdr(msg, SIP_HDR_TO)) {
		*reasonp = "Missing Call-ID, From or To";
		return EBADMSG;
	}
	if (pl_strcmp(&msg->cseq.met, "INVITE")) {
		*reasonp = "Bad CSeq";
		return EBADMSG;
	}
	/* a dialog needs both (RFC 2543 peers sent no From tag; libre
	 * cannot make a dialog without one) */
	if (!pl_isset(&msg->from.tag)) {
		*reasonp = "Missing From tag";
		return EBADMSG;
	}
	contact = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	if (!contact || sip_addr_decode(&addr, &contact->val)) {
		*reasonp = "Bad Contact";
		return EBADMSG;
	}
	if (pl_isset(&msg->clen)) {
		uint32_t clen = pl_u32(&msg->clen);
		/* UDP: a datagram shorter than its Content-Length is broken,
		 * bytes after it are ignored (over TCP libre cuts it there).
		 * The message is shared, but no one reads past its body. */
		if (!pl_isdigits(&msg->clen) || clen > body) {
			*reasonp = "Bad Content-Length";
			return EBADMSG;
		}
		msg->mb->end = msg->mb->pos + clen;
		body = clen;
	}
	if (body && !pl_isset(&msg->ctyp.type)) {
		*reasonp = "Missing Content-Type";
		return EBADMSG;
	}
	if (body && !msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
		*scodep = 415;
		*reasonp = "Unsupported Media Type";
		return EBADMSG;
	}
	return 0;
}

static bool is_pending(const struct tel *tel, const struct sip_msg *msg)
{
	for (struct le *le = tel->pending.head; le; le = le->next) {
		const struct inv *inv = le->data;
		if (!pl_cmp(&inv->msg->callid, &msg->callid) &&
		    inv->msg->cseq.num == msg->cseq.num)
			return true;
	}
	return false;
}

void inbound_invite(struct tel *tel, const struct sip_msg *msg)
{
	const char *reason = NULL;
	uint16_t scode = 0;
	struct inv *inv;

	if (is_pending(tel, msg))
		return;   /* a retransmission while we look it up */

	if (invite_check(msg, &scode, &reason)) {
		log_info("sip: INVITE from %J refused: %u %s", &msg->src,
			 scode, reason);
		if (scode)
			(void)sip_treplyf(NULL, NULL, tel->sip, msg, false,
					  scode, reason,
					  "%sContent-Length: 0\r\n\r\n",
					  scode == 415 ?
					  "Accept: application/sdp\r\n" : "");
		return;
	}

	inv = mem_zalloc(sizeof(*inv), inv_destructor);
	if (!inv) {
		(void)sip_treply(NULL, tel->sip, msg, 500,
				 "Server Internal Error");
		return;
	}
	inv->tel = tel;
	inv->msg = mem_ref((void *)msg);
	inv->src = msg->src;
	inv->now_ms = (uint64_t)util_now_ms();

	/* no number to route: answered as an unknown one, which depends on
	 * the source, so it goes through the worker too */
	if (dialled(inv->number, msg))
		inv->number[0] = '\0';
	list_append(&tel->pending, &inv->le, inv);
	if (pool_submit(tel->pool, route_work_h, route_done_h, inv)) {
		(void)sip_treply(NULL, tel->sip, msg, 503,
				 "Service Unavailable");
		mem_deref(inv);
	}
}
