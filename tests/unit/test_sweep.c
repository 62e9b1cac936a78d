/*
 * The sweep (control/sweep.c) over a registry, without DPDK or sockets.
 * Proves: sweep_run applies R6 at its boundary (exactly offline_after since
 * the last contact is offline) and follows the policy's offline_after; an
 * endpoint never heard is never brought online; a worker's heartbeat
 * (through hb_accept or written into its seen array) brings an endpoint
 * back with reason heartbeat, the newest worker winning; reasons follow
 * the newest contact without a transition; the restart grace (R9) holds
 * no-contact transitions, and the mass-offline guard (R10) holds them
 * until an operator releases it, but not for fewer than GUARD_MIN_AT_RISK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <cmocka.h>

#include "control/registry.h"
#include "control/status.h"
#include "control/sweep.h"
#include "control/transitions.h"
#include "support/tu_heartbeat.h"
#include "support/tu_registry.h"
#include "support/tu_run.h"

#define NOW TU_NOW
#define ONLINE(r)  ((r)->by_status[EP_ONLINE])
#define OFFLINE(r) ((r)->by_status[EP_OFFLINE])

static struct tu_registry fx;

#define OFFLINE_AFTER 1800u

static void sweep(uint32_t now, struct sweep_result *res)
{
	sweep_run(&fx.sw, &fx.reg, fx.pol, now, res);
	tu_check_counts(&fx.reg);
}

static void test_sweep_boundary(void **state)
{
	(void)state;
	struct sweep_result res;
	assert_int_equal(fx.pol->offline_after, OFFLINE_AFTER);
	struct endpoint *ep = tu_add_registered(&fx.reg, fx.pol, "swept", NOW);
	sweep(NOW, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	sweep(NOW + OFFLINE_AFTER - 1, &res);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ONLINE(&fx.reg), 1);
	/* now - last == offline_after: offline (R6). */
	sweep(NOW + OFFLINE_AFTER, &res);
	assert_int_equal(res.went_offline, 1);
	assert_int_equal(res.went_online, 0);
	assert_int_equal(res.held_grace + res.held_guard, 0);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(ep->status_since, NOW + OFFLINE_AFTER);
	assert_int_equal(ONLINE(&fx.reg), 0);
	assert_int_equal(OFFLINE(&fx.reg), 1);
	/* Idempotent. */
	sweep(NOW + OFFLINE_AFTER + 10, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status_since, NOW + OFFLINE_AFTER);
	/* The boundary follows the policy, not a constant. */
	fx.pol->offline_after = 100;
	struct endpoint *q = tu_add_registered(&fx.reg, fx.pol, "quick", NOW + 5000);
	sweep(NOW + 5099, &res);
	assert_int_equal(q->status, EP_ONLINE);
	sweep(NOW + 5100, &res);
	assert_int_equal(q->status, EP_OFFLINE);
	assert_int_equal(res.went_offline, 1);
}

/* Added but never registered nor heard: no contact at all, and the sweep
 * neither brings it online nor counts it. */
static void test_sweep_never_contacted(void **state)
{
	(void)state;
	struct endpoint *ep;
	struct sweep_result res;
	assert_int_equal(registry_add(&fx.reg, "silent", NOW, &ep), 0);
	sweep(NOW, &res);
	sweep(NOW + 10 * OFFLINE_AFTER, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->status_since, NOW);
	/* Its first heartbeat does. */
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, registry_key(&fx.reg, ep), 0, NOW + 20000, NOW + 20000), HB_ACCEPTED);
	sweep(NOW + 20001, &res);
	assert_int_equal(res.went_online, 1);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
}

static void test_sweep_heartbeat_brings_back(void **state)
{
	(void)state;
	struct endpoint *ep;
	struct sweep_result res;
	tu_add_registered(&fx.reg, fx.pol, "a", NOW);
	tu_add_registered(&fx.reg, fx.pol, "b", NOW);
	uint32_t t1 = NOW + OFFLINE_AFTER;
	sweep(t1, &res);
	assert_int_equal(res.went_offline, 2);
	assert_int_equal(OFFLINE(&fx.reg), 2);

	/* Worker 1 records a heartbeat of "b". */
	ep = registry_by_guid(&fx.reg, "b");
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, registry_key(&fx.reg, ep), 1, t1 + 50, t1 + 60), HB_ACCEPTED);
	assert_int_equal(ep->status, EP_OFFLINE);      /* the sweep decides, not the worker */
	sweep(t1 + 60, &res);
	assert_int_equal(res.went_online, 1);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->last_heartbeat, t1 + 50);
	assert_int_equal(ep->status_since, t1 + 60);
	assert_int_equal(registry_by_guid(&fx.reg, "a")->status, EP_OFFLINE);
	assert_int_equal(ONLINE(&fx.reg), 1);
	assert_int_equal(OFFLINE(&fx.reg), 1);
	/* Online until offline_after after that heartbeat, not after the sweep. */
	sweep(t1 + 50 + OFFLINE_AFTER - 1, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	sweep(t1 + 50 + OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(res.went_offline, 1);
}

/* A value written straight into a worker's seen array counts the same. */
static void test_sweep_seen_array(void **state)
{
	(void)state;
	struct sweep_result res;
	struct endpoint *ep = tu_add_registered(&fx.reg, fx.pol, "direct", NOW);
	sweep(NOW + 5000, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	*slot_dir_seen(fx.tbl.dir, ep->slot, 0) = NOW + 4000;
	*slot_dir_seen(fx.tbl.dir, ep->slot, 1) = NOW + 4500;
	sweep(NOW + 5000, &res);
	assert_int_equal(res.went_online, 1);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->last_heartbeat, NOW + 4500);   /* the newest worker wins */
	sweep(NOW + 4500 + OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
}

/* Registration after going offline: online at once with reason registered
 * (R4, no sweep needed); the sweep keeps that reason while the registration
 * is the newest contact, and a later heartbeat switches the reason without
 * a transition. */
static void test_sweep_reasons(void **state)
{
	(void)state;
	struct sweep_result res;
	struct endpoint *ep = tu_add_registered(&fx.reg, fx.pol, "r", NOW);
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, registry_key(&fx.reg, ep), 0, NOW + 10, NOW + 10), HB_ACCEPTED);
	sweep(NOW + 20, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->status_since, NOW);
	sweep(NOW + 10 + OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	/* It registers again (what api_register does). */
	status_on_register(&fx.reg, fx.pol, ep, NOW + 3000);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_int_equal(ep->status_since, NOW + 3000);
	sweep(NOW + 3001, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	/* A heartbeat newer than the registration: reason heartbeat, same
	 * status, same status_since. */
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, registry_key(&fx.reg, ep), 1, NOW + 3100, NOW + 3100), HB_ACCEPTED);
	sweep(NOW + 3101, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->status_since, NOW + 3000);
	/* Online until offline_after after the newest of the two contacts. */
	sweep(NOW + 3100 + OFFLINE_AFTER - 1, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	/* A clock that stepped back does not take anyone offline. */
	sweep(NOW + 2000, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(res.went_offline, 0);
	sweep(NOW + 3100 + OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
}

/* R9: no offline for lack of contact until offline_after since the start;
 * held endpoints go at the first sweep after the grace. */
static void test_sweep_restart_grace(void **state)
{
	(void)state;
	struct sweep_result res;
	const uint32_t start = NOW + 1000;
	fx.sw.started = start;
	struct endpoint *ep = tu_add_registered(&fx.reg, fx.pol, "before-restart", NOW);
	sweep(start + OFFLINE_AFTER - 1, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(res.held_grace, 1);
	sweep(start + OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(res.went_offline, 1);
	assert_int_equal(res.held_grace, 0);
}

/* R10: a dozen endpoints falling silent together are held (threshold 50%,
 * at least GUARD_MIN_AT_RISK at risk) until an operator releases the
 * guard; the held transitions apply at the next sweep. */
static void test_sweep_guard(void **state)
{
	(void)state;
	struct sweep_result res;
	fx.pol->guard_threshold = 50;
	const uint32_t n = GUARD_MIN_AT_RISK + 2;
	for (uint32_t i = 0; i < n; i++) {
		char g[16];
		snprintf(g, sizeof(g), "fleet-%u", i);
		tu_add_registered(&fx.reg, fx.pol, g, NOW);
	}
	fx.reg.feed = feed_new(64, NULL);
	assert_non_null(fx.reg.feed);
	sweep(NOW + OFFLINE_AFTER, &res);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(res.held_guard, n);
	assert_true(fx.sw.guard.active);
	assert_int_equal(fx.sw.guard.held, n);
	assert_int_equal(ONLINE(&fx.reg), n);
	/* Held, not forgotten: the next sweep holds them again. */
	sweep(NOW + OFFLINE_AFTER + 60, &res);
	assert_int_equal(res.held_guard, n);
	assert_int_equal(ONLINE(&fx.reg), n);
	assert_true(sweep_guard_release(&fx.sw, &fx.reg, NOW + OFFLINE_AFTER + 61));
	assert_false(fx.sw.guard.active);
	assert_false(sweep_guard_release(&fx.sw, &fx.reg, NOW + OFFLINE_AFTER + 62));
	sweep(NOW + OFFLINE_AFTER + 120, &res);
	assert_int_equal(res.went_offline, n);
	assert_int_equal(res.held_guard, 0);
	assert_int_equal(OFFLINE(&fx.reg), n);
	/* Both guard events are in the feed. */
	bool raised = false, released = false;
	for (uint64_t s = feed_oldest_seq(fx.reg.feed); s < feed_next_seq(fx.reg.feed); s++) {
		const struct transition *t = feed_get(fx.reg.feed, s);
		raised |= t->kind == TK_GUARD_RAISED;
		released |= t->kind == TK_GUARD_RELEASED;
	}
	assert_true(raised && released);
	feed_free(fx.reg.feed);
	fx.reg.feed = NULL;
}

/* Fewer than GUARD_MIN_AT_RISK at risk: a small fleet going offline
 * together is not a collector failure, even at 100%. */
static void test_sweep_guard_minimum(void **state)
{
	(void)state;
	struct sweep_result res;
	fx.pol->guard_threshold = 50;
	for (uint32_t i = 0; i < GUARD_MIN_AT_RISK - 1; i++) {
		char g[16];
		snprintf(g, sizeof(g), "small-%u", i);
		tu_add_registered(&fx.reg, fx.pol, g, NOW);
	}
	sweep(NOW + OFFLINE_AFTER, &res);
	assert_int_equal(res.went_offline, GUARD_MIN_AT_RISK - 1);
	assert_int_equal(res.held_guard, 0);
	assert_false(fx.sw.guard.active);
}

#define REG(f) cmocka_unit_test_prestate_setup_teardown(f, tu_registry_setup, tu_registry_teardown, &fx)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		REG(test_sweep_boundary),
		REG(test_sweep_never_contacted),
		REG(test_sweep_heartbeat_brings_back),
		REG(test_sweep_seen_array),
		REG(test_sweep_reasons),
		REG(test_sweep_restart_grace),
		REG(test_sweep_guard),
		REG(test_sweep_guard_minimum),
	};
	return TU_RUN(tests);
}
