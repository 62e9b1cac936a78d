/*
 * The sweep: the time-driven rules. R6 (offline after no contact for
 * offline_after), R9 (restart grace), R10 (mass-offline guard), over the
 * workers' timestamps and the control plane's own contacts.
 */
#ifndef GLOURNET_SWEEP_H
#define GLOURNET_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "control/policy.h"
#include "control/registry.h"

/* R10 counts only when at least this many endpoints are at risk: a fleet
 * of three losing two is not a collector failure. */
#define GUARD_MIN_AT_RISK 10

struct guard_state {
	bool active;          /* transitions held, alarm raised */
	bool confirmed;       /* an operator released this episode */
	uint32_t since;
	uint32_t held;        /* offline transitions held back, last sweep */
	uint32_t at_risk;     /* online endpoints near offline_after, last sweep */
	uint32_t online;      /* online endpoints, last sweep */
	uint64_t raised;      /* episodes so far */
};

struct sweep_state {
	uint32_t started;     /* collector start, for R9 */
	struct guard_state guard;
	uint32_t *candidates; /* scratch: slots going offline this sweep */
	uint32_t ncap;
};

struct sweep_result {
	uint32_t went_online;
	uint32_t went_offline;
	uint32_t held_grace;  /* R9 */
	uint32_t held_guard;  /* R10 */
};

/* One full pass at time `now`. */
void sweep_run(struct sweep_state *s, struct registry *r, const struct policy *p, uint32_t now,
	       struct sweep_result *res);

/* R10: an operator confirms the mass offline; the held transitions apply
 * at the next sweep and the guard stays quiet until the episode ends. */
bool sweep_guard_release(struct sweep_state *s, struct registry *r, uint32_t now);

/* The look-ahead of the guard: endpoints silent for offline_after minus
 * this are at risk. A heartbeat interval, at most half of offline_after. */
uint32_t sweep_guard_window(const struct policy *p);

void sweep_state_free(struct sweep_state *s);

#endif
