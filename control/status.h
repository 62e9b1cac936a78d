/*
 * The rules of docs/status.md that act on one endpoint when something happens
 * to it: classification (R1), registration (R4), poll (R3), other events
 * (R5), shutdown (R6). The time-driven rules (R6 timeout, R9, R10) are the
 * sweep's. Each function is the whole rule; callers only report events.
 */
#ifndef GLOURNET_STATUS_H
#define GLOURNET_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "control/policy.h"
#include "control/registry.h"

/* R1: in the unreachable network when any own address is in a range; the
 * range it is counted under is that of the first matching address. */
bool status_classify(const struct policy *p, const struct endpoint *ep, int32_t *range);

/* R4: registration, restart, reload. */
void status_on_register(struct registry *r, const struct policy *p, struct endpoint *ep,
			uint32_t now);

/* R3: a poll is contact, and marks an unreachable endpoint online at once. */
void status_on_poll(struct registry *r, struct endpoint *ep, uint32_t now);

/* R5: manual update, log upload: contact for regular endpoints only.
 * Returns whether it counted as contact. */
bool status_on_event(struct registry *r, struct endpoint *ep, uint32_t now);

/* R6: a SHUTDOWN heartbeat stamped `time`: offline at once. */
void status_on_shutdown(struct registry *r, struct endpoint *ep, uint32_t time, uint32_t now);

/* R1 again for one endpoint under the ranges in force: counted under its
 * range, and moved in or out of the unreachable network with reason
 * `reclassified`. True when it moved. */
bool status_reclassify(struct registry *r, const struct policy *p, struct endpoint *ep,
		       uint32_t now);

/* R1: after the ranges changed, every endpoint again, at once (tests; the
 * daemon walks in slices, reclassify.h); *moved counts those that moved in
 * or out of the unreachable network. 0 or -ENOMEM. */
int status_reclassify_all(struct registry *r, const struct policy *p, uint32_t now,
			  uint32_t *moved);

#endif
