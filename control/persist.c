/*
 * Registry <-> store (see persist.h). Registrations are written whole and
 * answered only once committed; last contacts are checkpointed in batches
 * (a heartbeat is never a write); transitions follow the feed. A restart
 * therefore loses at most one checkpoint interval of contact times, which
 * the restart grace (R9) covers: nobody goes offline for it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "store"
#include "control/daemon.h"
#include "control/mono_clock.h"
#include "control/notify.h"
#include "control/persist.h"
#include "control/status.h"
#include "control/store.h"
#include "control/store_db.h"
#include "control/text.h"
#include "control/transitions.h"
#include "glournet/log.h"

static void ips_text(const struct endpoint *ep, char *buf, size_t len)
{
	struct gn_addr ips[EP_MAX_IPS];
	unsigned n = ep_ips(ep, ips);
	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		char one[INET6_ADDRSTRLEN];
		inet_ntop(ips[i].family, ips[i].bytes, one, sizeof(one));
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", i ? "," : "", one);
	}
}

/* What a restart must know of its notifies (store.h): the change flags not
 * acked yet (a verification round ends with the process) and the source
 * address they go to. */
static struct store_notify notify_of(const struct endpoint *ep)
{
	struct store_notify n = {.pending = ep->notify.pending & NOTIFY_FLAGS_CHANGE};
	struct gn_addr src;
	if (ep_source(ep, &src)) {
		n.src_family = src.family;
		memcpy(n.src, src.bytes, sizeof(n.src));
	}
	return n;
}

void persist_fill(const struct registry *r, const struct endpoint *ep, struct store_endpoint *out)
{
	struct store_endpoint e = {
		.id = ep->id,
		.slot = ep->slot,
		.notify_port = ep_notify_port(ep),
		.registered = ep_registered(ep),
		.last_register = ep->last_register,
		.last_ctl_contact = ep->last_ctl_contact,
		.last_poll = ep->last_poll,
		.down_at = ep->down_at,
		.status_since = ep->status_since,
		.status = ep->status,
		.reason = ep->reason,
		.ctl_reason = ep->ctl_reason,
		.notify = notify_of(ep),
	};
	snprintf(e.guid, sizeof(e.guid), "%s", ep_guid(ep));
	memcpy(e.key, registry_key(r, ep), sizeof(e.key));
	snprintf(e.hostname, sizeof(e.hostname), "%s", ep_hostname(ep));
	ips_text(ep, e.ips, sizeof(e.ips));
	*out = e;
}

uint64_t persist_endpoint(struct store *s, const struct registry *r, const struct endpoint *ep)
{
	struct store_endpoint e;
	persist_fill(r, ep, &e);
	return store_put_endpoint(s, &e);
}

int persist_remove(struct gn_daemon *d, struct endpoint *ep, enum ep_removal cause, uint32_t now)
{
	if (d->store && !store_delete_endpoint(d->store, ep->id, ep->slot))
		return -EBUSY;
	registry_remove(&d->reg, ep, cause, now);
	return 0;
}

/* What the store gets; the endpoint remembers it was written. */
static struct store_contact contact_of(struct registry *r, struct endpoint *ep)
{
	ep->checkpointed = registry_last_contact(r, ep);
	ep->notify.state &= (uint8_t)~EP_NOTIFY_DIRTY;
	return (struct store_contact){
		.id = ep->id,
		.slot = ep->slot,
		.last_heartbeat = registry_last_heartbeat(r, ep),
		.last_ctl_contact = ep->last_ctl_contact,
		.status = ep->status,
		.reason = ep->reason,
		.status_since = ep->status_since,
		.down_at = ep->down_at,
		.notify = notify_of(ep),
	};
}

void persist_transitions_init(struct persist_transitions_job *t, struct registry *r,
			      struct store *s, struct transition_feed *feed)
{
	*t = (struct persist_transitions_job){.reg = r,
					      .store = s,
					      .feed = feed,
					      .seq = feed_next_seq(feed)};
}

/* New transitions, and the current state of the endpoints they moved, so
 * a restart finds statuses as of this loop turn, not the last checkpoint:
 * both in one op (store_put_transitions), so one transaction commits a
 * transition with its status change. */
static void persist_transitions(struct persist_transitions_job *j)
{
	enum { BATCH = 4096, CHUNK = 64 };
	struct store_trans tr[CHUNK];
	struct store_contact c[CHUNK];
	size_t nt = 0, nc = 0;
	uint64_t next = feed_next_seq(j->feed);
	if (j->seq < feed_oldest_seq(j->feed))
		j->seq = feed_oldest_seq(j->feed); /* overrun: the log has the gap */
	uint64_t from = j->seq;                    /* the first not yet queued */
	for (unsigned done = 0; j->seq < next && done < BATCH; done++) {
		const struct transition *t = feed_get(j->feed, j->seq);
		if (t) {
			/* Every kind: a removal or guard event is in the fleet's
			 * stream too (a backend without one skips it, store_db.h). */
			tr[nt++] = (struct store_trans){.seq = t->seq,
							.id = t->id,
							.time = t->time,
							.count = t->count,
							.kind = t->kind,
							.old_status = t->old_status,
							.new_status = t->new_status,
							.reason = t->reason};
			struct endpoint *ep = registry_by_slot(j->reg, t->slot);
			if (t->kind == TK_STATUS && ep && ep->id == t->id)
				c[nc++] = contact_of(j->reg, ep);
		}
		j->seq++;
		if (nt == CHUNK) {
			if (!store_put_transitions(j->store, tr, nt, c, nc)) {
				j->seq = from; /* queue full: these again next turn */
				return;
			}
			nt = nc = 0;
			from = j->seq;
		}
	}
	if (nt && !store_put_transitions(j->store, tr, nt, c, nc))
		j->seq = from;
}

/* Its bound is the batch (a few thousand queue pushes), not the budget. */
bool persist_transitions_step(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)now;
	(void)budget_ns;
	struct persist_transitions_job *j = self;
	if (j->seq >= feed_next_seq(j->feed))
		return false; /* nothing new */
	loop_job_pass_begin(&j->stats);
	persist_transitions(j);
	if (j->seq >= feed_next_seq(j->feed))
		loop_job_pass_end(&j->stats); /* caught up */
	return false;
}

void persist_checkpoint_init(struct persist_checkpoint_job *c, struct registry *r, struct store *s,
			     uint32_t started)
{
	*c = (struct persist_checkpoint_job){.reg = r,
					     .store = s,
					     .last_pass = started,
					     .cursor = UINT32_MAX};
}

/* One slice of the rolling checkpoint (persist.h), up to `deadline` on the
 * monotonic clock; false when the store is too far behind to take it. */
static bool checkpoint_slice(struct persist_checkpoint_job *j, uint64_t deadline)
{
	enum { BATCH = 4096 };
	struct store_stats st;
	store_get_stats(j->store, &st);
	if (st.queue_len > PERSIST_CHECKPOINT_BACKLOG || store_degraded(j->store, NULL, 0))
		return false; /* the store is behind or failing: registrations first,
				 * and an outage does not fill the queue with checkpoints */
	struct store_contact *c = malloc(BATCH * sizeof(*c));
	if (!c)
		return false;
	struct registry *r = j->reg;
	size_t n = 0;
	uint32_t end = r->nslots - j->cursor > PERSIST_CHECKPOINT_SLOTS
			       ? j->cursor + PERSIST_CHECKPOINT_SLOTS
			       : r->nslots;
	for (unsigned k = 1; j->cursor < end; j->cursor++, k++) {
		if ((k & 1023) == 0 && gn_mono_ns() >= deadline)
			break; /* out of time: the pass goes on next turn */
		struct endpoint *ep = registry_at(r, j->cursor);
		if (!ep->id ||
		    (registry_last_contact(r, ep) < ep->checkpointed + PERSIST_CONTACT_STEP &&
		     !(ep->notify.state & EP_NOTIFY_DIRTY)))
			continue; /* a free slot, or the store is close enough */
		c[n++] = contact_of(r, ep);
		if (n == BATCH) {
			if (!store_put_contacts(j->store, c, n))
				break; /* refused: these wait for the next pass */
			j->rows += n;
			n = 0;
		}
	}
	if (n && store_put_contacts(j->store, c, n))
		j->rows += n;
	if (j->cursor >= r->nslots)
		j->cursor = UINT32_MAX; /* pass done */
	free(c);
	return true;
}

void persist_final_checkpoint(struct persist_checkpoint_job *c, struct persist_transitions_job *t)
{
	c->cursor = 0;
	while (c->cursor != UINT32_MAX && checkpoint_slice(c, UINT64_MAX))
		;
	if (c->cursor != UINT32_MAX)
		LOG(WARN,
		    "store behind at shutdown: contact checkpoint stopped at slot %u of %u "
		    "(the restart grace covers it)",
		    c->cursor, c->reg->nslots);
	persist_transitions(t);
}

bool persist_checkpoint_step(void *self, uint32_t now, uint64_t budget_ns)
{
	struct persist_checkpoint_job *c = self;
	if (c->cursor == UINT32_MAX) {
		if (now - c->last_pass < PERSIST_CHECKPOINT_INTERVAL)
			return false;
		c->cursor = 0;
		c->last_pass = now;
		loop_job_pass_begin(&c->stats);
	}
	checkpoint_slice(c, gn_mono_ns() + budget_ns);
	if (c->cursor == UINT32_MAX)
		loop_job_pass_end(&c->stats);
	return false; /* one slice a turn, on purpose (persist.h) */
}
