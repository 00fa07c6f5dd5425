/* sdp.c - SDP offer/answer for a stream, on libre's sdp_session.
 *
 * libre aligns local and remote formats itself (static payload types by
 * number, dynamic ones by name and rate), which already copes with peers
 * that offer "m=audio ... 0" without an rtpmap line. On top of that we
 * pick exactly one codec, the first of the remote's list we support, and
 * answer with only that codec (plus telephone-event when offered, with
 * the offered payload type), so the peer has no second codec to switch to.
 *
 * Errors: EBADMSG when the text does not parse as SDP (the caller answers
 * 400), EPROTO when it parses but we have nothing in common (488).
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "media/media_int.h"

enum { DYNPT_MIN = 96, PT_MAX = 127 };

int mstream_sdp_init(struct mstream *ms)
{
	int err;

	err = sdp_session_alloc(&ms->sdp, &ms->media->paddr);
	if (err)
		return err;

	err = sdp_media_add(&ms->sdpm, ms->sdp, sdp_media_audio,
			    sa_port(rtp_local(ms->rtp)), sdp_proto_rtpavp);
	if (err)
		return err;

	err  = sdp_format_add(NULL, ms->sdpm, false, "0", "PCMU", MEDIA_SRATE,
			      1, NULL, NULL, NULL, false, NULL);
	err |= sdp_format_add(NULL, ms->sdpm, false, "8", "PCMA", MEDIA_SRATE,
			      1, NULL, NULL, NULL, false, NULL);
	err |= sdp_format_add(NULL, ms->sdpm, false, "101", telev_rtpfmt,
			      TELEV_SRATE, 1, NULL, NULL, NULL, false, "0-15");
	err |= sdp_media_set_lattr(ms->sdpm, true, sdp_attr_ptime, "%u",
				   MEDIA_PTIME);

	return err ? ENOMEM : 0;
}

/* the payload type of a format, -1 unless its id is a number 0-127
 * (libre's fmt->pt is atoi(id): "abc" would read as PCMU) */
static int fmt_pt(const struct sdp_format *fmt)
{
	const char *p = fmt->id;
	int pt = 0;

	if (!p || !*p)
		return -1;

	for (; *p; ++p) {
		if (*p < '0' || *p > '9')
			return -1;
		pt = pt * 10 + (*p - '0');
		if (pt > PT_MAX)
			return -1;
	}

	return pt;
}

static enum media_codec fmt_codec(const struct sdp_format *fmt)
{
	int pt = fmt_pt(fmt);

	/* static payload types mean what RFC 3551 says, rtpmap or not */
	if (pt == 0)
		return MEDIA_CODEC_PCMU;
	if (pt == 8)
		return MEDIA_CODEC_PCMA;
	if (pt < DYNPT_MIN || !fmt->name || fmt->srate != MEDIA_SRATE ||
	    fmt->ch > 1)
		return MEDIA_CODEC_NONE;

	if (!str_casecmp(fmt->name, "PCMU"))
		return MEDIA_CODEC_PCMU;
	if (!str_casecmp(fmt->name, "PCMA"))
		return MEDIA_CODEC_PCMA;

	return MEDIA_CODEC_NONE;
}

static bool fmt_is_te(const struct sdp_format *fmt)
{
	return fmt_pt(fmt) >= DYNPT_MIN && fmt->name &&
	       !str_casecmp(fmt->name, telev_rtpfmt) &&
	       fmt->srate == TELEV_SRATE;
}

static int decode(struct mstream *ms, const struct mbuf *mb, bool offer)
{
	struct mbuf tmp;
	int err;

	if (!ms || !mb)
		return EINVAL;

	/* sdp_decode() takes a mutable mbuf but only reads it: decode a
	 * shallow copy rather than cast away the caller's const */
	tmp = *mb;

	/* RFC 4566: "v=" comes first; libre accepts an empty body */
	if (mbuf_get_left(&tmp) < 2 || memcmp(mbuf_buf(&tmp), "v=", 2))
		return EBADMSG;

	err = sdp_decode(ms->sdp, &tmp, offer);
	switch (err) {

	case 0:
	case ENOMEM:
		return err;

	case EPROTO:      /* answer with m-lines we did not offer */
	case ENOTSUP:     /* re-offer changing a media line's type */
		return EPROTO;

	default:
		return EBADMSG;
	}
}

/* our answer carries the chosen codec and telephone-event only */
static void answer_formats(struct mstream *ms, const struct sdp_format *codec,
			   const struct sdp_format *te)
{
	struct le *le;

	le = list_head(sdp_media_format_lst(ms->sdpm, true));
	for (; le; le = le->next) {
		struct sdp_format *lf = le->data;

		/* libre gave matched local formats the remote's id */
		lf->sup = lf->sup && (lf->pt == codec->pt ||
				      (te && lf->pt == te->pt));
	}
}

static int negotiate(struct mstream *ms, bool offer)
{
	const struct sdp_format *codec = NULL, *te = NULL;
	struct sa rtcp;
	struct le *le;

	/* port 0: the peer rejected (or never offered) audio */
	if (!sdp_media_rport(ms->sdpm))
		return EPROTO;

	le = list_head(sdp_media_format_lst(ms->sdpm, false));
	for (; le; le = le->next) {
		const struct sdp_format *rf = le->data;

		if (!rf->sup)
			continue;

		if (!codec && fmt_codec(rf) != MEDIA_CODEC_NONE)
			codec = rf;
		else if (!te && fmt_is_te(rf))
			te = rf;
	}

	if (!codec)
		return EPROTO;

	if (offer)
		answer_formats(ms, codec, te);

	ms->codec = fmt_codec(codec);
	ms->pt = fmt_pt(codec);
	ms->te_pt = te ? fmt_pt(te) : -1;

	sdp_media_raddr_rtcp(ms->sdpm, &rtcp);
	mstream_set_remote(ms, sdp_media_raddr(ms->sdpm), &rtcp);

	return 0;
}

int mstream_offer(struct mstream *ms, struct mbuf **mbp)
{
	struct le *le;

	if (!ms || !mbp)
		return EINVAL;

	/* a new offer lists all we support, even after an answer of ours
	 * narrowed the list to one codec */
	le = list_head(sdp_media_format_lst(ms->sdpm, true));
	for (; le; le = le->next) {
		struct sdp_format *lf = le->data;

		lf->sup = true;
	}

	return sdp_encode(mbp, ms->sdp, true);
}

int mstream_answer(struct mstream *ms, const struct mbuf *offer,
		   struct mbuf **mbp)
{
	int err;

	if (!mbp)
		return EINVAL;

	err = decode(ms, offer, true);
	if (err)
		return err;

	err = negotiate(ms, true);
	if (err)
		return err;

	return sdp_encode(mbp, ms->sdp, false);
}

int mstream_set_answer(struct mstream *ms, const struct mbuf *answer)
{
	int err;

	err = decode(ms, answer, false);
	if (err)
		return err;

	return negotiate(ms, false);
}

bool mstream_sending(const struct mstream *ms)
{
	/* libre keeps the remote direction from our side: its "sendonly"
	 * reads SDP_RECVONLY; sdp_media_dir() is what both sides allow */
	return ms && (sdp_media_dir(ms->sdpm) & SDP_SENDONLY);
}
