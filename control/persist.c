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
#include "control/api.h"
#include "control/daemon.h"
#include "control/persist.h"
#include "control/status.h"
#include "control/store.h"
#include "control/transitions.h"
#include "glournet/log.h"

static void ips_text(const struct endpoint *ep, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < ep->nips; i++) {
		char one[INET6_ADDRSTRLEN];
		inet_ntop(ep->ips[i].family, ep->ips[i].bytes, one, sizeof(one));
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", i ? "," : "", one);
	}
}

uint64_t persist_endpoint(struct gn_daemon *d, const struct endpoint *ep)
{
	struct store_endpoint e = {
		.id = ep->id, .slot = ep->slot, .notify_port = ep->notify_port,
		.registered = ep->registered, .last_register = ep->last_register,
		.last_ctl_contact = ep->last_ctl_contact, .last_poll = ep->last_poll,
		.down_at = ep->down_at, .status_since = ep->status_since,
		.status = ep->status, .reason = ep->reason, .ctl_reason = ep->ctl_reason,
	};
	snprintf(e.guid, sizeof(e.guid), "%s", ep->guid);
	memcpy(e.key, ep->key, sizeof(e.key));
	snprintf(e.hostname, sizeof(e.hostname), "%s", ep->hostname ? ep->hostname : "");
	ips_text(ep, e.ips, sizeof(e.ips));
	return store_put_endpoint(d->store, &e);
}

int persist_remove(struct gn_daemon *d, struct endpoint *ep, enum ep_removal cause,
		   uint32_t now)
{
	if (d->store && !store_delete_endpoint(d->store, ep->id))
		return -EBUSY;
	registry_remove(&d->reg, ep, cause, now);
	return 0;
}

static int restore_one(void *ctx, const struct store_endpoint *e)
{
	struct gn_daemon *d = ctx;
	struct registry *r = &d->reg;
	/* Slots come in increasing order; the ones skipped were removed. */
	if (e->slot < r->nslots) {
		LOG(ERR, "store: endpoint %016llx has slot %u, but slot %u was restored already "
		    "(slots must be unique and in order)", (unsigned long long)e->id, e->slot,
		    r->nslots ? r->nslots - 1 : 0);
		return -EINVAL;
	}
	struct endpoint *ep;
	int rc = registry_add_restored(r, e->guid, e->id, e->key, e->slot, &ep);
	if (rc < 0) {
		LOG(ERR, "store: endpoint %016llx (%s, slot %u) cannot be restored: %s",
		    (unsigned long long)e->id, e->guid, e->slot,
		    rc == -EEXIST ? "its id or guid is there twice" : strerror(-rc));
		return rc;
	}
	unsigned n = 0;
	if (e->ips[0] && api_parse_ips(e->ips, ep->ips, EP_MAX_IPS, &n) < 0)
		LOG(WARN, "store: endpoint %s: unreadable addresses '%s' dropped", e->guid, e->ips);
	ep->nips = (uint8_t)n;
	ep->hostname = strdup(e->hostname);
	ep->notify_port = e->notify_port;
	ep->registered = e->registered;
	ep->last_register = e->last_register;
	ep->last_ctl_contact = e->last_ctl_contact;
	ep->ctl_reason = e->ctl_reason;
	ep->last_poll = e->last_poll;
	ep->down_at = e->down_at;
	/* The workers start from the checkpointed heartbeat time. */
	*slot_dir_seen(d->table.dir, ep->slot, 0) = e->last_heartbeat;
	ep->last_heartbeat = e->last_heartbeat;
	int32_t range;
	bool unreachable = status_classify(d->policy, ep, &range);
	registry_set_range(r, ep, range);
	bool up = e->status == EP_ONLINE || e->status == EP_UNREACH_ONLINE;
	registry_restore_state(r, ep, unreachable, up, (enum ep_reason)e->reason, e->status_since);
	return 0;
}

int persist_restore(struct gn_daemon *d)
{
	int rc = store_load_endpoints(d->store, restore_one, d);
	if (rc < 0) {
		LOG(ERR, "cannot restore endpoints from the store: %s", strerror(-rc));
		return rc;
	}
	LOG(INFO, "restored %u endpoints (%u free slots): %u online, %u offline, "
		  "%u unreachable/online, %u unreachable/offline", d->reg.count, d->reg.nfree,
	    d->reg.by_status[EP_ONLINE],
	    d->reg.by_status[EP_OFFLINE], d->reg.by_status[EP_UNREACH_ONLINE],
	    d->reg.by_status[EP_UNREACH_OFFLINE]);
	return 0;
}

static struct store_contact contact_of(struct gn_daemon *d, const struct endpoint *ep)
{
	return (struct store_contact){
		.id = ep->id, .last_heartbeat = slot_table_last_seen(&d->table, ep->slot),
		.last_ctl_contact = ep->last_ctl_contact, .status = ep->status,
		.reason = ep->reason, .status_since = ep->status_since, .down_at = ep->down_at,
	};
}

/* New transitions, and the current state of the endpoints they moved, so
 * a restart finds statuses as of this loop turn, not the last checkpoint. */
static void persist_transitions(struct gn_daemon *d)
{
	enum { BATCH = 4096 };
	struct store_contact c[64];
	size_t n = 0;
	uint64_t next = feed_next_seq(d->feed);
	if (d->persisted_seq < feed_oldest_seq(d->feed))
		d->persisted_seq = feed_oldest_seq(d->feed);   /* overrun: the log has the gap */
	for (unsigned done = 0; d->persisted_seq < next && done < BATCH; done++) {
		const struct transition *t = feed_get(d->feed, d->persisted_seq);
		if (t && t->kind == TK_STATUS) {
			if (!store_put_transition(d->store, t->seq, t->id, t->time, t->old_status,
						  t->new_status, t->reason))
				break;   /* queue full: retry next turn */
			const struct endpoint *ep = registry_by_slot(&d->reg, t->slot);
			if (ep && ep->id == t->id)
				c[n++] = contact_of(d, ep);
		}
		d->persisted_seq++;
		if (n == sizeof(c) / sizeof(c[0])) {
			store_put_contacts(d->store, c, n);
			n = 0;
		}
	}
	if (n)
		store_put_contacts(d->store, c, n);
}

/* Every endpoint's contact fields, in batches the store writes as one op. */
static void checkpoint(struct gn_daemon *d)
{
	enum { BATCH = 4096 };
	struct store_contact *c = malloc(BATCH * sizeof(*c));
	if (!c)
		return;
	size_t n = 0;
	for (uint32_t s = 0; s < d->reg.nslots; s++) {
		const struct endpoint *ep = &d->reg.eps[s];
		if (!ep->id)
			continue;   /* a free slot */
		c[n++] = contact_of(d, ep);
		if (n == BATCH) {
			if (!store_put_contacts(d->store, c, n))
				LOG(WARN, "store queue full: checkpoint of %zu endpoints skipped", n);
			n = 0;
		}
	}
	if (n && !store_put_contacts(d->store, c, n))
		LOG(WARN, "store queue full: checkpoint of %zu endpoints skipped", n);
	free(c);
}

void persist_tick(struct gn_daemon *d, uint32_t now)
{
	persist_transitions(d);
	if (now - d->last_checkpoint >= PERSIST_CHECKPOINT_INTERVAL) {
		checkpoint(d);
		d->last_checkpoint = now;
	}
}
