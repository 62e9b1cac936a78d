/* The contact feed's loop job (cluster_contacts.h). */
#include "control/cluster.h"
#include "control/cluster_contacts.h"
#include "control/cluster_feed.h"
#include "control/mono_clock.h"
#include "control/registry.h"
#include "control/status.h"
#include "control/sweep.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

#define CHUNK 4096 /* contacts per hand-over, and slots between looks at the clock */

unsigned contacts_collect(struct registry *r, struct endpoint *ep, uint32_t now, uint32_t ctl_since,
			  uint64_t ids[CONTACTS_PER_ENDPOINT], uint32_t ages[CONTACTS_PER_ENDPOINT],
			  uint32_t reasons[CONTACTS_PER_ENDPOINT])
{
	unsigned n = 0;
	uint32_t hb = registry_last_heartbeat(r, ep);
	/* last_heartbeat is the sweep's, and the sweep does not run here: it
	 * says what was forwarded. */
	if (hb > ep->last_heartbeat) {
		ids[n] = ep->id;
		ages[n] = now > hb ? now - hb : 0;
		reasons[n++] = EP_REASON_HEARTBEAT;
		ep->last_heartbeat = hb;
	}
	/* A registration, poll or event heard here (R3, R4, R5) since the
	 * previous scan began. No field says what was forwarded (the entry is
	 * one cache line, full), so a contact in the second a scan began goes
	 * out twice: merging it again changes nothing. */
	if (ep->last_ctl_contact && ep->last_ctl_contact >= ctl_since) {
		ids[n] = ep->id;
		ages[n] = now > ep->last_ctl_contact ? now - ep->last_ctl_contact : 0;
		reasons[n++] = ep->ctl_reason;
	}
	/* A SHUTDOWN heard here (status_on_shutdown: offline here, fenced, and
	 * down_at its time) since the previous scan began: the decider takes
	 * it offline at once too, instead of for lack of contact later. */
	if (ep->down_at && ep->down_at >= ctl_since && !ep->up &&
	    ep->reason == EP_REASON_SHUTDOWN) {
		ids[n] = ep->id;
		ages[n] = now > ep->down_at ? now - ep->down_at : 0;
		reasons[n++] = EP_REASON_SHUTDOWN;
	}
	return n;
}

/* Non-decider: one slice of the scan; true while it goes on. */
static bool scan_slice(struct contacts_job *j, uint32_t now, uint64_t deadline)
{
	struct registry *r = j->reg;
	uint64_t ids[CHUNK];
	uint32_t ages[CHUNK], reasons[CHUNK];
	size_t n = 0;
	while (j->cursor < r->nslots) {
		struct endpoint *ep = registry_at(r, j->cursor);
		if (ep->id) {
			if (n + CONTACTS_PER_ENDPOINT > CHUNK) {
				if (!cluster_feed_send(j->feed, ids, ages, reasons, n))
					break; /* full: the rest wait for the next scan */
				n = 0;
				if (gn_mono_ns() >= deadline)
					break;
			}
			n += contacts_collect(r, ep, now, j->ctl_since, ids + n, ages + n,
					      reasons + n);
		}
		j->cursor++;
	}
	if (n)
		cluster_feed_send(j->feed, ids, ages, reasons, n);
	return j->cursor < r->nslots;
}

bool contacts_merge(struct registry *r, const struct feed_contact *c, uint32_t now,
		    uint64_t mono_ns)
{
	struct endpoint *ep = registry_by_id(r, c->id);
	if (!ep)
		return false; /* removed meanwhile, or not known here yet (the
			       * change feed brings its stored contact) */
	/* The age counts from when we read it: a late batch looks fresher,
	 * which delays an offline, never causes one. */
	uint64_t back = c->age + (mono_ns - c->read_ns) / 1000000000ull;
	uint32_t t = now > back ? now - (uint32_t)back : 0;
	if (c->reason == EP_REASON_SHUTDOWN) {
		/* Unless a later contact says it is back (status.c decides). */
		bool was_up = ep->up;
		status_on_shutdown(r, ep, t, now);
		return was_up != ep->up;
	}
	if (c->reason == EP_REASON_HEARTBEAT) {
		if (t <= ep->last_ctl_contact || t <= registry_last_heartbeat(r, ep))
			return false;
		ep->last_ctl_contact = t;
		ep->ctl_reason = EP_REASON_HEARTBEAT;
		/* A heartbeat after a shutdown ends it (sweep.c's held_down
		 * sees only this collector's own heartbeats). */
		if (ep->down_at && ep->down_at < t)
			ep->down_at = 0;
		return true;
	}
	/* A registration, poll or event on another collector: contact as
	 * status.c makes it, for the sweep to judge (R4: the endpoint is
	 * judged from it, as on one collector); it ends an "offline at once"
	 * that came before it, as there. */
	if (t <= ep->last_ctl_contact)
		return false;
	ep->last_ctl_contact = t;
	ep->ctl_reason = c->reason;
	if (ep->down_at && ep->down_at <= t)
		ep->down_at = 0;
	if (c->reason == EP_REASON_POLL && t > ep->last_poll)
		ep->last_poll = t;
	return true;
}

/* Decider: merges what the feed read; true when there is more. */
static bool merge_slice(struct contacts_job *j, uint32_t now, uint64_t deadline)
{
	struct feed_contact in[CHUNK];
	size_t n;
	do {
		n = cluster_feed_take(j->feed, in, CHUNK);
		uint64_t mono = gn_mono_ns();
		for (size_t i = 0; i < n; i++)
			j->merged += contacts_merge(j->reg, &in[i], now, mono);
	} while (n == CHUNK && gn_mono_ns() < deadline);
	return n == CHUNK;
}

bool contacts_step(void *self, uint32_t now, uint64_t budget_ns)
{
	struct contacts_job *j = self;
	if (!j->feed)
		return false;
	uint64_t deadline = gn_mono_ns() + budget_ns;
	if (cluster_deciding(j->cluster)) {
		j->scanning = false;
		j->last_scan = 0; /* on a step-down, the first scan at once */
		/* Before the sweep's next decision: hold while anyone is behind. */
		j->sweep->hold = cluster_feed_behind(j->feed);
		uint64_t m = cluster_feed_losses(j->feed);
		if (m != j->losses) {
			/* A collector stopped counting: the endpoints last heard
			 * through it get R9's grace, as after a restart. Rounded up:
			 * `now` is whole seconds. */
			j->losses = m;
			j->sweep->started = now + 1;
			LOG(WARN,
			    "a live collector was lost: offlines held for offline_after (R9)");
		}
		loop_job_pass_begin(&j->stats);
		bool more = merge_slice(j, now, deadline);
		loop_job_pass_end(&j->stats);
		return more;
	}
	j->sweep->hold = false;
	if (!j->scanning) {
		if (now - j->last_scan < FEED_BATCH_MS / 1000)
			return false;
		j->scanning = true;
		j->cursor = 0;
		/* Control-plane contacts since the previous scan began; after a
		 * step-down (last_scan 0) from now: the ones before were ours,
		 * made while deciding. */
		j->ctl_since = j->last_scan ? j->last_scan : now;
		j->last_scan = now;
		loop_job_pass_begin(&j->stats);
	}
	if (scan_slice(j, now, deadline))
		return true;
	j->scanning = false;
	loop_job_pass_end(&j->stats);
	return false;
}
