/*
 * Expiry of silent endpoints (see expire.h). A pass walks every slot, like
 * the sweep, but once a minute: a limit counted in days needs no finer
 * clock, and the removals of one pass share one grace period
 * (registry_reclaim, next loop turn).
 */
#define LOG_TAG "expire"
#include "control/expire.h"
#include "control/mono_clock.h"
#include "control/sweep.h"
#include "glournet/log.h"

uint32_t expire_last_contact(const struct registry *r, const struct endpoint *ep, uint32_t started)
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

void expire_job_init(struct expire_job *j, struct registry *r, struct policy *const *policy,
		     const struct guard_state *guard, uint32_t started, expire_remove_fn *remove,
		     void *remove_ctx)
{
	*j = (struct expire_job){.reg = r,
				 .policy = policy,
				 .guard = guard,
				 .started = started,
				 .remove = remove,
				 .remove_ctx = remove_ctx,
				 .last_pass = started,
				 .cursor = UINT32_MAX};
}

static int remove_expired(void *ctx, struct endpoint *ep, uint32_t now)
{
	struct expire_job *j = ctx;
	int rc = j->remove(j->remove_ctx, ep, now);
	if (rc < 0)
		LOG(WARN, "expiry paused: the store is busy; the rest wait for the next pass");
	return rc;
}

static void log_pass(const struct expire_job *j, uint32_t n, uint32_t days)
{
	if (n)
		LOG(INFO, "expired %u endpoints not heard from for over %u days (%llu since start)",
		    n, days, (unsigned long long)j->reg->removed[EP_REMOVED_EXPIRED]);
}

uint32_t expire_tick(struct expire_job *j, uint32_t now)
{
	uint32_t days = (*j->policy)->expire_after_days;
	if (!days)
		return 0;
	if (j->guard->active) {
		LOG(INFO, "expiry held: the mass-offline guard is raised");
		return 0;
	}
	uint32_t n = expire_run(j->reg, days, j->started, now, remove_expired, j);
	log_pass(j, n, days);
	return n;
}

/* The clock is read once per this many slots. */
#define EXPIRE_CHECK_SLOTS 4096

bool expire_step(void *self, uint32_t now, uint64_t budget_ns)
{
	struct expire_job *j = self;
	struct registry *r = j->reg;
	uint32_t days = (*j->policy)->expire_after_days;
	if (j->cursor == UINT32_MAX) {
		if (!days || now - j->last_pass < EXPIRE_PASS_INTERVAL)
			return false;
		j->last_pass = now;
		if (j->guard->active) {
			LOG(INFO, "expiry held: the mass-offline guard is raised");
			return false;
		}
		j->cursor = 0;
		j->pass_removed = 0;
		loop_job_pass_begin(&j->stats);
	}
	uint64_t deadline = gn_mono_ns() + budget_ns;
	uint32_t at = j->cursor;
	uint32_t end = at < UINT32_MAX - EXPIRE_SLICE_SLOTS ? at + EXPIRE_SLICE_SLOTS : UINT32_MAX;
	while (j->cursor < end && j->cursor < r->nslots) {
		uint32_t stop =
			end - j->cursor > EXPIRE_CHECK_SLOTS ? j->cursor + EXPIRE_CHECK_SLOTS : end;
		j->pass_removed += expire_run_range(r, days, j->started, now, &j->cursor, stop,
						    remove_expired, j);
		if (j->cursor < stop && j->cursor < r->nslots)
			break; /* a removal failed: the next slice tries it again */
		if (gn_mono_ns() >= deadline)
			break;
	}
	bool stuck = j->cursor == at && at < r->nslots; /* the store refused */
	if (j->cursor < r->nslots && !j->guard->active && !stuck)
		return true;
	log_pass(j, j->pass_removed, days);
	j->cursor = UINT32_MAX;
	loop_job_pass_end(&j->stats);
	return false;
}
