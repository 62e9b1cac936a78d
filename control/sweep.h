/*
 * The sweep: turns the workers' timestamps and the control plane's own
 * contacts into statuses (STATUS.md R6, R7).
 */
#ifndef GLOURNET_SWEEP_H
#define GLOURNET_SWEEP_H

#include <stdint.h>

#include "control/registry.h"

struct sweep_result {
	uint32_t went_online;
	uint32_t went_offline;
};

/* One full pass. Online while now - last contact < offline_after. */
void sweep_run(struct registry *r, uint32_t now, uint32_t offline_after, struct sweep_result *res);

#endif
