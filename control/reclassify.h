/*
 * R1 after the unreachable ranges changed: every endpoint classified
 * again, in slices like every long job, instead of one walk inside the
 * policy commit (347-524 ms at 10 M endpoints, issue #15). The counts by
 * range restart from zero at once (registry_reset_ranges); an endpoint
 * keeps its previous class until the walk reaches it, and is then counted
 * under its new range and moved in or out of the unreachable network with
 * reason `reclassified`. The walk's cursor is registry.classified_below:
 * the notify campaigns (notify_engine.c) never pass it, so a campaign
 * started by the same change sees every endpoint's new class.
 */
#ifndef GLOURNET_RECLASSIFY_H
#define GLOURNET_RECLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "control/loop_job.h"
#include "control/registry.h"

struct policy;

struct reclassify_job {
	struct registry *reg;
	struct policy *const *policy; /* the snapshot in force, read each step */
	bool running;
	uint32_t end;      /* slots at the start: later ones are classified as they come */
	uint32_t moved;    /* in or out of the unreachable network, this pass */
	uint32_t restarts; /* changes of the set since the last complete pass */
	uint32_t steps;    /* this pass */
	uint32_t last_moved;
	struct loop_job_stats stats;
};

void reclassify_job_init(struct reclassify_job *j, struct registry *r,
			 struct policy *const *policy);

/* The policy in force has new ranges: counts restart and the walk begins
 * at slot 0 (again, if one was under way). 0 or -ENOMEM (nothing changed). */
int reclassify_start(struct reclassify_job *j, uint32_t now);

/* The loop's job (loop_job.h): true while the walk has slots left. The
 * policy commit takes the first slice itself, of this budget. */
#define RECLASSIFY_FIRST_SLICE_NS (2 * 1000 * 1000)
bool reclassify_step(void *self, uint32_t now, uint64_t budget_ns);

/* The whole walk now (tests; and before a 63rd restart, see
 * reclassify_start). */
void reclassify_finish(struct reclassify_job *j, uint32_t now);

#endif
