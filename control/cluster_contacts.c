/* The contact feed's loop job (cluster_contacts.h). */
#include "control/cluster.h"
#include "control/cluster_contacts.h"
#include "control/cluster_feed.h"
#include "control/mono_clock.h"
#include "control/registry.h"
#include "control/sweep.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

#define CHUNK 4096 /* contacts per hand-over, and slots between looks at the clock */

/* Non-decider: one slice of the scan; true while it goes on. */
static bool scan_slice(struct contacts_job *j, uint32_t now, uint64_t deadline)
{
	struct registry *r = j->reg;
	uint64_t ids[CHUNK];
	uint32_t ages[CHUNK];
	size_t n = 0;
	while (j->cursor < r->nslots) {
		struct endpoint *ep = registry_at(r, j->cursor);
		if (ep->id) {
			uint32_t hb = registry_last_heartbeat(r, ep);
			/* last_heartbeat is the sweep's, and the sweep does not run
			 * here: it says what was forwarded. */
			if (hb > ep->last_heartbeat) {
				if (n == CHUNK) {
					if (!cluster_feed_send(j->feed, ids, ages, n))
						break; /* full: the rest wait for the next scan */
					n = 0;
					if (gn_mono_ns() >= deadline)
						break;
				}
				ids[n] = ep->id;
				ages[n++] = now > hb ? now - hb : 0;
				ep->last_heartbeat = hb;
			}
		}
		j->cursor++;
	}
	if (n)
		cluster_feed_send(j->feed, ids, ages, n);
	return j->cursor < r->nslots;
}

/* Decider: merges what the feed read; true when there is more. */
static bool merge_slice(struct contacts_job *j, uint32_t now, uint64_t deadline)
{
	struct feed_contact in[CHUNK];
	size_t n;
	do {
		n = cluster_feed_take(j->feed, in, CHUNK);
		uint64_t mono = gn_mono_ns();
		for (size_t i = 0; i < n; i++) {
			struct endpoint *ep = registry_by_id(j->reg, in[i].id);
			if (!ep)
				continue; /* removed meanwhile, or not known here yet */
			/* The age counts from when we read it: a late batch looks
			 * fresher, which delays an offline, never causes one. */
			uint64_t back = in[i].age + (mono - in[i].read_ns) / 1000000000ull;
			uint32_t t = now > back ? now - (uint32_t)back : 0;
			if (t > ep->last_ctl_contact && t > registry_last_heartbeat(j->reg, ep)) {
				ep->last_ctl_contact = t;
				ep->ctl_reason = EP_REASON_HEARTBEAT;
				j->merged++;
			}
		}
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
		uint64_t m = cluster_feed_membership(j->feed);
		if (m != j->membership) {
			/* A collector died (the endpoints last heard through it get
			 * R9's grace, as after a restart) or came back (its contacts
			 * are on their way). Rounded up: `now` is whole seconds. */
			j->membership = m;
			j->sweep->started = now + 1;
			LOG(WARN,
			    "the live collectors changed: offlines held for offline_after (R9)");
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
		j->last_scan = now;
		loop_job_pass_begin(&j->stats);
	}
	if (scan_slice(j, now, deadline))
		return true;
	j->scanning = false;
	loop_job_pass_end(&j->stats);
	return false;
}
