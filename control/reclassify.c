/*
 * The sliced reclassification (reclassify.h).
 */
#include <errno.h>

#define LOG_TAG "policy"
#include "control/mono_clock.h"
#include "control/policy.h"
#include "control/reclassify.h"
#include "control/status.h"
#include "glournet/log.h"

/* Endpoints between two reads of the clock: a classification reads the
 * endpoint's details (a cache miss) and matches each address. */
#define RECLASSIFY_CHECK_EVERY 256

void reclassify_job_init(struct reclassify_job *j, struct registry *r, struct policy *const *policy)
{
	*j = (struct reclassify_job){.reg = r, .policy = policy};
}

int reclassify_start(struct reclassify_job *j, uint32_t now)
{
	struct registry *r = j->reg;
	/* An endpoint the walk has not reached holds the generation of the
	 * set it was last classified under; after 62 changes in one walk the
	 * next generation could be one of those: finish first. */
	if (j->running && j->restarts >= REGISTRY_RANGE_GENS - 2)
		reclassify_finish(j, now);
	int rc = registry_reset_ranges(r, (uint32_t)range_set_count((*j->policy)->ranges));
	if (rc < 0)
		return rc;
	j->restarts = j->running ? j->restarts + 1 : 0;
	j->running = true;
	j->end = r->nslots;
	j->moved = 0;
	j->steps = 0;
	r->classified_below = 0;
	loop_job_pass_begin(&j->stats);
	return 0;
}

/* Classifies slots from the cursor to the end or the deadline. */
static void walk(struct reclassify_job *j, uint32_t now, uint64_t deadline)
{
	struct registry *r = j->reg;
	const struct policy *p = *j->policy;
	for (unsigned n = 1; r->classified_below < j->end; n++) {
		struct endpoint *ep = registry_at(r, r->classified_below);
		if (ep->id && status_reclassify(r, p, ep, now))
			j->moved++;
		r->classified_below++;
		if (n % RECLASSIFY_CHECK_EVERY == 0 && gn_mono_ns() >= deadline)
			return;
	}
}

static void pass_done(struct reclassify_job *j)
{
	struct registry *r = j->reg;
	r->classified_below = UINT32_MAX;
	j->running = false;
	j->restarts = 0;
	j->last_moved = j->moved;
	loop_job_pass_end(&j->stats);
	LOG(INFO,
	    "unreachable ranges changed: %u ranges, %u endpoints moved, %u slots in %u slices",
	    r->nranges, j->moved, j->end, j->steps);
}

bool reclassify_step(void *self, uint32_t now, uint64_t budget_ns)
{
	struct reclassify_job *j = self;
	if (!j->running)
		return false;
	j->steps++;
	walk(j, now, gn_mono_ns() + budget_ns);
	if (j->reg->classified_below < j->end)
		return true;
	pass_done(j);
	return false;
}

void reclassify_finish(struct reclassify_job *j, uint32_t now)
{
	if (!j->running)
		return;
	j->steps++;
	walk(j, now, UINT64_MAX);
	pass_done(j);
}
