/*
 * Expiry (issue #5): endpoints not heard from for `expire.after_days` days
 * are removed, by a pass once a minute (off by default). Silence is
 * counted from the collector's start at the earliest: it could not hear
 * anyone while it was down (the reasoning of R9), so a long outage of the
 * collector never empties its registry.
 */
#ifndef GLOURNET_EXPIRE_H
#define GLOURNET_EXPIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "control/loop_job.h"
#include "control/registry.h"

#define EXPIRE_PASS_INTERVAL 60 /* seconds between passes */

struct guard_state;
struct policy;

/* What expiry measures silence from: the newest of the workers' heartbeat,
 * the control plane's contact and the latest registration (so one that was
 * never contacted counts from registering), and never before `started`. */
uint32_t expire_last_contact(const struct registry *r, const struct endpoint *ep, uint32_t started);

/* Silent for more than after_days × 86400 s at `now`; exactly that long is
 * not yet. Never with after_days 0. */
bool expire_due(const struct registry *r, const struct endpoint *ep, uint32_t after_days,
		uint32_t started, uint32_t now);

/* Removes an endpoint; 0, or a negative errno to stop the pass. */
typedef int expire_remove_fn(void *ctx, struct endpoint *ep, uint32_t now);

/* Calls `fn` for every endpoint due, in slot order; returns how many it
 * removed. Stops at the first failure: the next pass retries the rest. */
uint32_t expire_run(struct registry *r, uint32_t after_days, uint32_t started, uint32_t now,
		    expire_remove_fn *fn, void *ctx);
/* The same over slots [*cursor, end), advancing *cursor past what it saw
 * (it stays on an endpoint whose removal failed). */
uint32_t expire_run_range(struct registry *r, uint32_t after_days, uint32_t started, uint32_t now,
			  uint32_t *cursor, uint32_t end, expire_remove_fn *fn, void *ctx);

/* The daemon's expiry: the policy's limit, held while the mass-offline
 * guard is raised (the collector suspects itself, R10), removal through
 * `remove` (persist_remove: the store, then the registry), one log line a
 * pass. */
struct expire_job {
	struct registry *reg;
	struct policy *const *policy;    /* the snapshot in force, read each step */
	const struct guard_state *guard; /* the sweep's R10 state */
	uint32_t started;                /* collector start: silence counts from here */
	expire_remove_fn *remove;
	void *remove_ctx;
	uint32_t last_pass; /* last pass started, or held */
	uint32_t cursor;    /* next slot of the pass; UINT32_MAX: none under way */
	uint32_t pass_removed;
	struct loop_job_stats stats;
};

void expire_job_init(struct expire_job *j, struct registry *r, struct policy *const *policy,
		     const struct guard_state *guard, uint32_t started, expire_remove_fn *remove,
		     void *remove_ctx);

/* A whole pass at once (tests, small tables). Returns how many expired. */
uint32_t expire_tick(struct expire_job *j, uint32_t now);

/* The loop's job (loop_job.h): a pass every EXPIRE_PASS_INTERVAL, in
 * slices of `budget_ns` and at most EXPIRE_SLICE_SLOTS slots, so 10 M
 * endpoints are walked in ~150 turns or more instead of one long stall and
 * a slice's deletions stay a bounded burst on the store's queue. True while
 * a pass is under way. */
#define EXPIRE_SLICE_SLOTS (64 * 1024)
bool expire_step(void *self, uint32_t now, uint64_t budget_ns);

#endif
