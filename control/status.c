/*
 * Event-driven status rules (see status.h). Contact seen by the control
 * plane clears an "offline at once" (down_at); contact from the workers
 * clears it in the sweep, when its time is later than down_at.
 */
#include <sys/socket.h>

#include "control/status.h"

bool status_classify(const struct policy *p, const struct endpoint *ep, int32_t *range)
{
	struct gn_addr ips[EP_MAX_IPS];
	unsigned n = ep_ips(ep, ips);
	for (unsigned i = 0; i < n; i++) {
		int m = range_set_match(p->ranges, ips[i].family, ips[i].bytes);
		if (m >= 0) {
			*range = m;
			return true;
		}
	}
	*range = -1;
	return false;
}

static void ctl_contact(struct registry *r, struct endpoint *ep, enum ep_reason why, uint32_t now)
{
	ep->last_ctl_contact = now;
	ep->ctl_reason = (uint8_t)why;
	ep->down_at = 0;
	registry_set_state(r, ep, ep->unreachable, true, why, now);
}

void status_on_register(struct registry *r, const struct policy *p, struct endpoint *ep,
			uint32_t now)
{
	int32_t range;
	bool unreachable = status_classify(p, ep, &range);
	registry_set_range(r, ep, range);
	ep->last_register = now;
	if (!unreachable || policy_hb_applies(p, true)) {
		ep->last_ctl_contact = now;
		ep->ctl_reason = EP_REASON_REGISTERED;
		ep->down_at = 0;
		registry_set_state(r, ep, unreachable, true, EP_REASON_REGISTERED, now);
		return;
	}
	/* The server cannot reach it and it will not heartbeat: offline now. */
	ep->down_at = now;
	registry_set_state(r, ep, true, false, EP_REASON_UNREACHABLE, now);
}

void status_on_poll(struct registry *r, struct endpoint *ep, uint32_t now)
{
	ep->last_poll = now;
	ctl_contact(r, ep, EP_REASON_POLL, now);
}

bool status_on_event(struct registry *r, struct endpoint *ep, uint32_t now)
{
	if (ep->unreachable)
		return false;
	ctl_contact(r, ep, EP_REASON_EVENT, now);
	return true;
}

void status_on_shutdown(struct registry *r, struct endpoint *ep, uint32_t time, uint32_t now)
{
	/* A poll or registration after it says the endpoint is back already. */
	if (ep->last_ctl_contact > time || (ep->down_at && ep->down_at >= time) ||
	    registry_last_heartbeat(r, ep) > time) /* a later heartbeat won */
		return;
	ep->down_at = time;
	registry_set_state(r, ep, ep->unreachable, false, EP_REASON_SHUTDOWN, now);
}

bool status_reclassify(struct registry *r, const struct policy *p, struct endpoint *ep,
		       uint32_t now)
{
	int32_t range;
	bool unreachable = status_classify(p, ep, &range);
	registry_set_range(r, ep, range);
	if (unreachable == ep->unreachable)
		return false;
	registry_set_state(r, ep, unreachable, ep->up, EP_REASON_RECLASSIFIED, now);
	return true;
}

int status_reclassify_all(struct registry *r, const struct policy *p, uint32_t now,
			  uint32_t *moved_out)
{
	uint32_t moved = 0;
	/* Range indices change with the set: recount from zero (every
	 * endpoint's range is stale until classified again). */
	int rc = registry_reset_ranges(r, (uint32_t)range_set_count(p->ranges));
	if (rc < 0)
		return rc;
	for (uint32_t s = 0; s < r->nslots; s++) {
		struct endpoint *ep = registry_at(r, s);
		if (ep->id) /* not a free slot */
			moved += status_reclassify(r, p, ep, now);
	}
	*moved_out = moved;
	return 0;
}
