/* media.c - the media engine and its one shared 20 ms tick.
 *
 * One libre timer clocks every started stream: a timer per call cost
 * twice the CPU at 500 calls in the probe. The timer is re-armed against
 * an absolute schedule (t0 + n * 20 ms) rather than "20 ms from now", so
 * the lateness of one tick is not carried into the next and the RTP clock
 * does not drift. When the loop was blocked for long, catching up would
 * send a burst of packets; past MAX_LAG the schedule restarts instead.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/util.h"
#include "media/media_int.h"

enum {
	PORT_MIN_DEFAULT = 10000,
	PORT_MAX_DEFAULT = 20000,
	JBUF_MIN_DEFAULT = 1,
	JBUF_MAX_DEFAULT = 10,
	MAX_LAG_US = 5 * MEDIA_PTIME_US,
};

static void tick_h(void *arg);

static void destructor(void *arg)
{
	struct media *media = arg;

	tmr_cancel(&media->tmr);
}

int media_alloc(struct media **mediap, const struct media_cfg *cfg)
{
	struct media *media;
	int err;

	if (!mediap || !cfg || !cfg->local_ip)
		return EINVAL;

	media = mem_zalloc(sizeof(*media), destructor);
	if (!media)
		return ENOMEM;

	tmr_init(&media->tmr);
	list_init(&media->streams);

	err = sa_set_str(&media->laddr, cfg->local_ip, 0);
	if (err)
		goto out;

	err = sa_set_str(&media->paddr,
			 cfg->public_ip ? cfg->public_ip : cfg->local_ip, 0);
	if (err)
		goto out;

	media->port_min = cfg->port_min ? cfg->port_min : PORT_MIN_DEFAULT;
	media->port_max = cfg->port_max ? cfg->port_max : PORT_MAX_DEFAULT;
	/* rtp_listen() picks an even port in [min, max) and uses port+1 */
	if (media->port_max < media->port_min + 2) {
		err = EINVAL;
		goto out;
	}

	media->jbuf_min = cfg->jbuf_min ? cfg->jbuf_min : JBUF_MIN_DEFAULT;
	media->jbuf_max = cfg->jbuf_max ? cfg->jbuf_max : JBUF_MAX_DEFAULT;
	if (media->jbuf_max <= media->jbuf_min) {
		err = EINVAL;
		goto out;
	}

 out:
	if (err)
		mem_deref(media);
	else
		*mediap = media;

	return err;
}

/** All live streams (allocated, started or not). */
unsigned media_nstreams(const struct media *media)
{
	return media ? media->nstreams : 0;
}

void media_tick_stats(const struct media *media, struct media_tick_stats *st)
{
	if (!st)
		return;

	if (media)
		*st = media->stats;
	else
		memset(st, 0, sizeof(*st));
}

static void schedule(struct media *media)
{
	uint64_t now = util_mono_us();
	uint64_t due = media->t0_us + media->n * MEDIA_PTIME_US;
	uint64_t delay_ms = 0;

	if (now > due + MAX_LAG_US) {
		media->t0_us = due = now;
		media->n = 0;
	}

	/* round up: libre timers have 1 ms granularity, never fire early.
	 * At least 1 ms even when behind: tmr_poll() runs a timer re-armed
	 * with 0 again at once, and the loop must read the sockets between
	 * two ticks or the streams miss the packets of the tick before */
	if (due > now)
		delay_ms = (due - now + 999) / 1000;
	if (!delay_ms)
		delay_ms = 1;

	tmr_start(&media->tmr, delay_ms, tick_h, media);
}

static void tick_h(void *arg)
{
	struct media *media = arg;
	uint64_t due = media->t0_us + media->n * MEDIA_PTIME_US;
	uint64_t start = util_mono_us(), late, work;
	struct le *le;

	late = start > due ? start - due : 0;

	/* handlers may release streams (even the last reference to the
	 * engine): hold references while walking the list */
	mem_ref(media);

	le = media->streams.head;
	while (le) {
		struct mstream *ms = mem_ref(le->data);

		mstream_tick(ms);
		le = le->next;
		mem_deref(ms);
	}

	work = util_mono_us() - start;

	++media->stats.ticks;
	media->stats.late_total_us += late;
	if (late > media->stats.late_max_us)
		media->stats.late_max_us = late;
	if (work > media->stats.work_max_us)
		media->stats.work_max_us = work;

	++media->n;
	if (media->streams.head)
		schedule(media);

	mem_deref(media);
}

void media_stream_start(struct media *media, struct mstream *ms)
{
	list_append(&media->streams, &ms->le, ms);

	if (tmr_isrunning(&media->tmr))
		return;

	media->t0_us = util_mono_us();
	media->n = 0;
	tmr_start(&media->tmr, 0, tick_h, media);
}

void media_stream_stop(struct media *media, struct mstream *ms)
{
	list_unlink(&ms->le);

	if (!media->streams.head)
		tmr_cancel(&media->tmr);
}
