/* The change feed applied to the registry (cluster_apply.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster.h"
#include "control/cluster_apply.h"
#include "control/cluster_changes.h"
#include "control/mono_clock.h"
#include "control/registry.h"
#include "control/status.h"
#include "control/text.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"
#include "glournet/log_ratelimit.h"

/* Hostname, addresses and notify port as the row has them, when they differ. */
static int take_details(struct registry *r, struct endpoint *ep, const struct store_endpoint *e,
			bool *changed)
{
	struct gn_addr ips[EP_MAX_IPS], have[EP_MAX_IPS];
	unsigned n = 0;
	if (e->ips[0] && text_parse_ips(e->ips, ips, EP_MAX_IPS, &n) < 0)
		n = 0;
	unsigned m = ep_ips(ep, have);
	bool same = m == n && strcmp(ep_hostname(ep), e->hostname) == 0 &&
		    ep_notify_port(ep) == e->notify_port;
	for (unsigned i = 0; same && i < n; i++)
		same = gn_addr_eq(&ips[i], &have[i]);
	if (same)
		return 0;
	*changed = true;
	return registry_set_details(r, ep, e->hostname, ips, n, e->notify_port);
}

/* A new endpoint from the row, as a restore makes it (persist_restore.c);
 * on the decider its stored status is a transition (see cluster_apply.h). */
static enum change_result add(struct registry *r, const struct policy *pol,
			      const struct store_endpoint *e, uint32_t now, bool deciding,
			      char *why, size_t len)
{
	struct endpoint *ep = registry_by_guid(r, e->guid);
	if (ep && ep->slot != e->slot && ep->id != e->id) {
		/* The store has the guid at this slot (one row per guid): ours
		 * elsewhere lost the race (its put will be refused and undone,
		 * store_take_rejected) or is stale. */
		registry_remove(r, ep, EP_REMOVED_OPERATOR, now);
	}
	int rc = registry_add_at(r, e->guid, e->id, e->key, e->slot, now, &ep);
	if (rc == -EPERM)
		return CHANGE_SAME; /* our own slot: a row read before our removal */
	if (rc == -EBUSY)
		return CHANGE_RETRY;
	if (rc < 0) {
		struct endpoint *g = registry_by_guid(r, e->guid), *i = registry_by_id(r, e->id);
		snprintf(why, len, "endpoint %016llx (%s) at slot %u: %s",
			 (unsigned long long)e->id, e->guid, e->slot,
			 g               ? "its guid is another slot's here"
			 : i             ? "its id is another slot's here"
			 : rc == -EEXIST ? "the slot is taken here"
					 : strerror(-rc));
		return CHANGE_FAILED;
	}
	bool changed;
	if (take_details(r, ep, e, &changed) < 0) {
		snprintf(why, len, "endpoint %s: no memory for its details", e->guid);
		return CHANGE_FAILED; /* it is there, without its hostname */
	}
	registry_set_registered(ep, e->registered);
	ep->last_register = e->last_register;
	ep->last_ctl_contact = e->last_ctl_contact;
	ep->ctl_reason = e->ctl_reason;
	ep->last_poll = e->last_poll;
	ep->down_at = e->down_at;
	ep->last_heartbeat = e->last_heartbeat;
	ep->checkpointed =
		e->last_heartbeat > e->last_ctl_contact ? e->last_heartbeat : e->last_ctl_contact;
	int32_t range;
	bool unreachable = status_classify(pol, ep, &range);
	registry_set_range(r, ep, range);
	bool up = e->status == EP_ONLINE || e->status == EP_UNREACH_ONLINE;
	if (deciding && ep_status_of(unreachable, up) != ep->status &&
	    e->reason < EP_REASON_COUNT) {
		/* Registered (or imported) on a collector that does not decide:
		 * its own transition was fenced, so the stream gets the row here,
		 * from the new endpoint's first status (offline, as registry_add
		 * makes it) to the stored one, at the stored time (R8). */
		registry_set_state(r, ep, unreachable, up, (enum ep_reason)e->reason,
				   e->status_since);
		return CHANGE_APPLIED;
	}
	registry_restore_state(r, ep, unreachable, up, (enum ep_reason)e->reason, e->status_since);
	return CHANGE_APPLIED;
}

enum change_result cluster_apply(struct registry *r, const struct policy *pol,
				 const struct change *c, uint32_t now, bool deciding, char *why,
				 size_t len)
{
	struct endpoint *ep = registry_by_slot(r, c->slot);
	if (!c->present) {
		if (!ep || ep->id != c->id || !c->id)
			return CHANGE_SAME;
		registry_remove(r, ep, EP_REMOVED_OPERATOR, now);
		return CHANGE_APPLIED;
	}
	const struct store_endpoint *e = &c->e;
	if (ep && ep->id == e->id) {
		bool changed = false;
		if (memcmp(registry_key(r, ep), e->key, HB_KEY_LEN) != 0) {
			registry_set_key(r, ep, e->key); /* re-keyed elsewhere */
			changed = true;
		}
		if (take_details(r, ep, e, &changed) < 0) {
			snprintf(why, len, "endpoint %s: no memory for its details", e->guid);
			return CHANGE_FAILED;
		}
		return changed ? CHANGE_APPLIED : CHANGE_SAME;
	}
	if (ep) {
		if (r->slots && r->slots->mine(r->slots->ctx, c->slot))
			return CHANGE_SAME; /* ours: only we fill it, and our write comes after */
		registry_remove(r, ep, EP_REMOVED_OPERATOR, now); /* the slot changed hands */
		return CHANGE_RETRY; /* the slot is in quarantine now: the add next time */
	}
	return add(r, pol, e, now, deciding, why, len);
}

bool changes_step(void *self, uint32_t now, uint64_t budget_ns)
{
	struct changes_job *j = self;
	if (!j->feed)
		return false;
	if (!j->buf && !(j->buf = malloc(CHANGES_CHUNK * sizeof(*j->buf))))
		return false;
	if (j->at == j->n) {
		j->at = 0;
		j->n = (unsigned)cluster_changes_take(j->feed, j->buf, CHANGES_CHUNK);
		if (!j->n)
			return false;
	}
	uint64_t deadline = gn_mono_ns() + budget_ns;
	loop_job_pass_begin(&j->stats);
	bool retry = false;
	bool deciding = cluster_deciding(j->cluster);
	while (j->at < j->n) {
		char why[400] = "";
		enum change_result res = cluster_apply(j->reg, *j->policy, &j->buf[j->at], now,
						       deciding, why, sizeof(why));
		if (res == CHANGE_RETRY) {
			j->retries++;
			retry = true; /* after the next reclaim: the loop's next turn */
			break;
		}
		j->at++;
		if (res == CHANGE_APPLIED)
			j->applied++;
		else if (res == CHANGE_SAME)
			j->same++;
		else {
			j->failed++;
			LOG_RATELIMITED(WARN, "change %llu not applied: %s",
					(unsigned long long)j->buf[j->at - 1].seq, why);
		}
		if ((j->at & 31) == 0 && gn_mono_ns() >= deadline)
			break;
	}
	loop_job_pass_end(&j->stats);
	return !retry && j->at < j->n;
}

void changes_job_free(struct changes_job *j)
{
	free(j->buf);
	j->buf = NULL;
}
