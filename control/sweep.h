/*
 * The sweep: the time-driven rules. R6 (offline after no contact for
 * offline_after), R9 (restart grace), R10 (mass-offline guard), over the
 * workers' timestamps and the control plane's own contacts.
 */
#ifndef GLOURNET_SWEEP_H
#define GLOURNET_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "control/loop_job.h"
#include "control/policy.h"
#include "control/registry.h"

/* R10 counts only when at least this many endpoints are at risk: a fleet
 * of three losing two is not a collector failure. */
#define GUARD_MIN_AT_RISK 10

struct guard_state {
	bool active;    /* transitions held, alarm raised */
	bool confirmed; /* an operator released this episode */
	uint32_t since;
	uint32_t held;    /* offline transitions held back, last sweep */
	uint32_t at_risk; /* online endpoints near offline_after, last sweep */
	uint32_t online;  /* online endpoints, last sweep */
	uint64_t raised;  /* episodes so far */
};

struct sweep_result {
	uint32_t went_online;
	uint32_t went_offline;
	uint32_t held_grace; /* R9 */
	uint32_t held_guard; /* R10 */
};

/* A pass over 10 M endpoints takes a few hundred milliseconds: it runs in
 * slices of a bounded time, between which the event loop answers the
 * control socket and HTTP. A pass scans every slot (the counts R10 needs,
 * and the candidates for offline), then applies the candidates that are
 * still silent, also in slices. */
enum sweep_phase { SWEEP_IDLE, SWEEP_SCAN, SWEEP_APPLY };

struct sweep_state {
	/* The loop's job (sweep_step): what it sweeps, and how often. */
	struct registry *reg;
	struct policy *const *policy; /* the snapshot in force, read each step */
	uint32_t interval;   /* seconds from one pass's start to the next (--sweep-interval) */
	uint32_t last_start; /* start of the last pass */
	uint32_t started;    /* collector start, or a takeover of the lease, for R9 */
	bool hold;           /* hold every offline as R9 does: a live collector's
				contacts are behind (cluster_contacts.c) */
	struct guard_state guard;
	uint32_t *candidates; /* slots going offline this pass */
	uint32_t ncap, ncand;
	enum sweep_phase phase;
	uint32_t cursor; /* next slot (scan) or candidate (apply) */
	uint32_t online, at_risk;
	struct sweep_result res;
	struct loop_job_stats stats;
};

/* One full pass at time `now`, at once (tests, benchmarks, small tables). */
void sweep_run(struct sweep_state *s, struct registry *r, const struct policy *p, uint32_t now,
	       struct sweep_result *res);

/* Starts a pass unless one is under way. */
void sweep_start(struct sweep_state *s);
/* Works on the pass for about `budget_ns` (at least a few hundred slots;
 * 0: to its end). Returns true when the pass ended in this slice, with its
 * result in *res; false while there is more (or no pass). */
bool sweep_slice(struct sweep_state *s, struct registry *r, const struct policy *p, uint32_t now,
		 uint64_t budget_ns, struct sweep_result *res);
static inline bool sweep_busy(const struct sweep_state *s)
{
	return s->phase != SWEEP_IDLE;
}

/* The loop's job (loop_job.h): starts a pass every `interval` seconds,
 * then slices of the pass under `budget_ns`, over s->reg and the policy in
 * force. True while a pass is under way. */
bool sweep_step(void *self, uint32_t now, uint64_t budget_ns);

/* R10: an operator confirms the mass offline; the held transitions apply
 * at the next sweep and the guard stays quiet until the episode ends. */
bool sweep_guard_release(struct sweep_state *s, struct registry *r, uint32_t now);

/* The look-ahead of the guard: endpoints silent for offline_after minus
 * this are at risk. A heartbeat interval, at most half of offline_after. */
uint32_t sweep_guard_window(const struct policy *p);

void sweep_state_free(struct sweep_state *s);

#endif
