/*
 * Expiry of silent endpoints (see expire.h). A pass walks every slot, like
 * the sweep, but once a minute: a limit counted in days needs no finer
 * clock, and the removals of one pass share one grace period
 * (registry_reclaim, next loop turn).
 */
#define LOG_TAG "expire"
#include "control/daemon.h"
#include "control/expire.h"
#include "control/persist.h"
#include "glournet/log.h"

uint32_t expire_last_contact(const struct registry *r, const struct endpoint *ep,
			     uint32_t started)
{
	uint32_t last = registry_last_heartbeat(r, ep);
	if (ep->last_ctl_contact > last)
		last = ep->last_ctl_contact;
	if (ep->last_register > last)
		last = ep->last_register;
	return last > started ? last : started;
}

bool expire_due(const struct registry *r, const struct endpoint *ep, uint32_t after_days,
		uint32_t started, uint32_t now)
{
	if (!after_days)
		return false;
	uint32_t last = expire_last_contact(r, ep, started);
	return now > last && (uint64_t)(now - last) > (uint64_t)after_days * 86400;
}

uint32_t expire_run_range(struct registry *r, uint32_t after_days, uint32_t started, uint32_t now,
			  uint32_t *cursor, uint32_t end, expire_remove_fn *fn, void *ctx)
{
	uint32_t n = 0;
	if (!after_days)
		return 0;
	/* Removal never moves an endpoint: the walk may go on over holes. */
	for (; *cursor < end && *cursor < r->nslots; ++*cursor) {
		struct endpoint *ep = registry_at(r, *cursor);
		if (!ep->id || !expire_due(r, ep, after_days, started, now))
			continue;
		if (fn(ctx, ep, now) < 0)
			break;
		n++;
	}
	return n;
}

uint32_t expire_run(struct registry *r, uint32_t after_days, uint32_t started, uint32_t now,
		    expire_remove_fn *fn, void *ctx)
{
	uint32_t cursor = 0;
	return expire_run_range(r, after_days, started, now, &cursor, UINT32_MAX, fn, ctx);
}

static int remove_expired(void *ctx, struct endpoint *ep, uint32_t now)
{
	int rc = persist_remove(ctx, ep, EP_REMOVED_EXPIRED, now);
	if (rc < 0)
		LOG(WARN, "expiry paused: the store is busy; the rest wait for the next pass");
	return rc;
}

uint32_t expire_tick(struct gn_daemon *d, uint32_t now)
{
	uint32_t days = d->policy->expire_after_days;
	if (!days)
		return 0;
	if (d->sweep.guard.active) {
		LOG(INFO, "expiry held: the mass-offline guard is raised");
		return 0;
	}
	uint32_t n = expire_run(&d->reg, days, d->started, now, remove_expired, d);
	if (n)
		LOG(INFO, "expired %u endpoints not heard from for over %u days (%llu since start)",
		    n, days, (unsigned long long)d->reg.removed[EP_REMOVED_EXPIRED]);
	return n;
}

bool expire_slice(struct gn_daemon *d, uint32_t now)
{
	uint32_t days = d->policy->expire_after_days;
	if (d->expire_cursor == UINT32_MAX) {
		if (!days || now - d->last_expire < EXPIRE_PASS_INTERVAL)
			return false;
		d->last_expire = now;
		if (d->sweep.guard.active) {
			LOG(INFO, "expiry held: the mass-offline guard is raised");
			return false;
		}
		d->expire_cursor = 0;
		d->expire_pass_removed = 0;
	}
	uint32_t end = d->expire_cursor + EXPIRE_SLICE_SLOTS;
	uint32_t at = d->expire_cursor;
	d->expire_pass_removed += expire_run_range(&d->reg, days, d->started, now, &d->expire_cursor,
						   end, remove_expired, d);
	bool stuck = d->expire_cursor == at && at < d->reg.nslots;   /* the store refused */
	if (d->expire_cursor < d->reg.nslots && !d->sweep.guard.active && !stuck)
		return true;
	if (d->expire_pass_removed)
		LOG(INFO, "expired %u endpoints not heard from for over %u days (%llu since start)",
		    d->expire_pass_removed, days, (unsigned long long)d->reg.removed[EP_REMOVED_EXPIRED]);
	d->expire_cursor = UINT32_MAX;
	return false;
}
