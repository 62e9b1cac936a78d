/*
 * The registry fixture: a slot table, a registry on it, the policy that
 * status_on_register and the sweep apply, and the sweep's state, as the
 * control thread holds them, without a daemon around them. For a test
 * file's `static struct tu_registry fx`, set up and torn down per test:
 *
 *     cmocka_unit_test_prestate_setup_teardown(f, tu_registry_setup,
 *                                              tu_registry_teardown, &fx)
 */
#ifndef GLOURNET_TU_REGISTRY_H
#define GLOURNET_TU_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "control/policy.h"
#include "control/registry.h"
#include "control/sweep.h"
#include "glournet/slot_table.h"

#define TU_NOW 1795000000u   /* the tests' "now" */

struct tu_registry {
	struct slot_table tbl;
	struct registry reg;
	struct policy *pol;
	struct sweep_state sw;
};

/* What the registry fixture and the fake daemon both hold: a table for 2
 * workers and up to 2^20 slots, a registry on it without ranges or feed,
 * the default policy. 0 or -1. */
int tu_registry_open(struct slot_table *t, struct registry *r, struct policy **p);
/* Frees them, and the registry's feed when a test left one. */
void tu_registry_close(struct slot_table *t, struct registry *r, struct policy **p);

/* *state is a struct tu_registry: a table for 2 workers and up to 2^20
 * slots, a registry without ranges or feed, the default policy with the
 * mass-offline guard off (R10 has tests of its own), and a sweep whose
 * collector started 400 days before TU_NOW (no restart grace, R9). */
int tu_registry_setup(void **state);
/* Frees all of it, and the registry's feed when a test left one. */
int tu_registry_teardown(void **state);

/* by_status, unreachable and notifiable are exactly the tallies of the
 * endpoints in the slots (free ones skipped), and each status is the one
 * its (unreachable, up) pair names. */
void tu_check_counts(const struct registry *r);

/* A new endpoint that registered at `now`, as api_register adds it. */
struct endpoint *tu_add_registered(struct registry *r, const struct policy *p, const char *guid,
				   uint32_t now);

/* Makes these the unreachable ranges of fx's policy (as a range change
 * does: the per-range counts restart). */
void tu_use_ranges(struct tu_registry *fx, const char *const *specs, size_t n);

/* An endpoint's addresses: how many, and the i-th (asserted to exist). */
unsigned tu_nips(const struct endpoint *ep);
struct gn_addr tu_ip_at(const struct endpoint *ep, unsigned i);

#endif
