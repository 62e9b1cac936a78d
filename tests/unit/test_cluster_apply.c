/*
 * Several collectors (issue 16): the slot blocks (control/slot_blocks.c),
 * the registry handing out only its own blocks' slots through its hook
 * (registry.h, registry_slots) with other collectors' slots as holes the
 * change feed fills (registry_add_at), and the change feed applied
 * (control/cluster_apply.c). Proves: next/left/mine over unsorted adds;
 * registrations take own-block slots only, reuse only own freed slots, and
 * a remote endpoint's freed slot stays a hole; add_at refuses our own
 * slots, known guids and ids, and slots in quarantine; a change adds an
 * endpoint at its slot with its key, re-keys it, takes new details,
 * removes it, is idempotent, ignores a stale add at our own slot, and
 * replaces a guid we hold at another slot. On the decider, a change that
 * adds an endpoint (registered on a collector that does not decide) is a
 * transition of its stored status, at its stored time, into the feed the
 * stream is written from; elsewhere it is not. The contact feed: a
 * non-decider forwards a heartbeat (once) and a registration, poll or
 * event made since its previous scan began (with its reason, even when a
 * local transition's persist marked it checkpointed; not the stored
 * contact the load or the change feed gave it); the decider merges a forwarded registration as
 * the control plane's contact with its reason, ending an earlier offline
 * at once, so the sweep judges the endpoint from it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "control/cluster_apply.h"
#include "control/cluster_changes.h"
#include "control/cluster_contacts.h"
#include "control/cluster_feed.h"
#include "control/status.h"
#include "control/sweep.h"
#include "control/transitions.h"
#include "control/registry.h"
#include "control/slot_blocks.h"
#include "support/tu_registry.h"

static struct tu_registry fx;
static struct slot_blocks own;

static bool mine(void *ctx, uint32_t slot)
{
	return slot_blocks_mine(ctx, slot);
}
static uint32_t next(void *ctx, uint32_t from)
{
	return slot_blocks_next(ctx, from);
}
static const struct registry_slots hook = {.mine = mine, .next = next, .ctx = &own};

#define B SLOT_BLOCK_SIZE

static void test_slot_blocks(void **state)
{
	(void)state;
	struct slot_blocks b = {0};
	assert_int_equal(slot_blocks_next(&b, 0), UINT32_MAX);
	assert_int_equal(slot_blocks_add(&b, 3), 0);
	assert_int_equal(slot_blocks_add(&b, 1), 0);
	assert_int_equal(slot_blocks_add(&b, 3), 0); /* idempotent */
	assert_int_equal(slot_blocks_add(&b, SLOT_BLOCKS_MAX), -EINVAL);
	assert_int_equal(b.n, 2);
	assert_int_equal(slot_blocks_next(&b, 0), B);
	assert_int_equal(slot_blocks_next(&b, B + 5), B + 5);
	assert_int_equal(slot_blocks_next(&b, 2 * B), 3 * B);
	assert_int_equal(slot_blocks_next(&b, 4 * B), UINT32_MAX);
	assert_true(slot_blocks_mine(&b, 3 * B + 7));
	assert_false(slot_blocks_mine(&b, 2 * B + 7));
	assert_false(slot_blocks_mine(&b, 0));
	assert_int_equal(slot_blocks_left(&b, 0), 2 * B);
	assert_int_equal(slot_blocks_left(&b, B + 10), 2 * B - 10);
	assert_int_equal(slot_blocks_left(&b, 3 * B + B - 1), 1);
	assert_int_equal(slot_blocks_left(&b, 4 * B), 0);
	slot_blocks_free(&b);
}

static void use_blocks(void)
{
	slot_blocks_free(&own);
	assert_int_equal(slot_blocks_add(&own, 1), 0);
	fx.reg.slots = &hook;
}

static const uint8_t K1[16] = {1, 2, 3}, K2[16] = {9, 9, 9};

static void test_registry_own_slots(void **state)
{
	(void)state;
	use_blocks();
	struct endpoint *a, *b, *x;
	assert_int_equal(registry_add(&fx.reg, "own-a", TU_NOW, &a), 0);
	assert_int_equal(a->slot, B);
	assert_int_equal(registry_add(&fx.reg, "own-b", TU_NOW, &b), 0);
	assert_int_equal(b->slot, B + 1);
	/* Another collector's endpoint below ours, and one beyond. */
	assert_int_equal(registry_add_at(&fx.reg, "far-5", 555, K1, 5, TU_NOW, &x), 0);
	assert_int_equal(x->slot, 5);
	assert_memory_equal(registry_key(&fx.reg, x), K1, 16);
	assert_int_equal(registry_add_at(&fx.reg, "far-3b", 777, K1, 3 * B + 2, TU_NOW, &x), 0);
	assert_int_equal(fx.reg.nslots, 3 * B + 3);
	/* Refused: our own slot, a known guid or id, a taken slot. */
	assert_int_equal(registry_add_at(&fx.reg, "far-x", 888, K1, B + 7, TU_NOW, &x), -EPERM);
	assert_int_equal(registry_add_at(&fx.reg, "own-a", 889, K1, 9, TU_NOW, &x), -EEXIST);
	assert_int_equal(registry_add_at(&fx.reg, "far-y", 555, K1, 9, TU_NOW, &x), -EEXIST);
	assert_int_equal(registry_add_at(&fx.reg, "far-z", 890, K1, 5, TU_NOW, &x), -EEXIST);
	/* Ours go on in our block, past the remote fill beyond nslots. */
	assert_int_equal(registry_add(&fx.reg, "own-c", TU_NOW, &x), 0);
	assert_int_equal(x->slot, B + 2);
	/* A remote slot removed: quarantined (add_at waits), then a hole, never ours. */
	registry_remove(&fx.reg, registry_by_slot(&fx.reg, 5), EP_REMOVED_OPERATOR, TU_NOW);
	assert_int_equal(registry_add_at(&fx.reg, "far-5b", 556, K1, 5, TU_NOW, &x), -EBUSY);
	registry_remove(&fx.reg, a, EP_REMOVED_OPERATOR, TU_NOW);
	assert_int_equal(registry_reclaim(&fx.reg), 2);
	assert_int_equal(fx.reg.nfree, 1); /* only B, ours */
	assert_int_equal(registry_add(&fx.reg, "own-d", TU_NOW, &x), 0);
	assert_int_equal(x->slot, B);
	assert_int_equal(registry_add(&fx.reg, "own-e", TU_NOW, &x), 0);
	assert_int_equal(x->slot, B + 3);
	assert_int_equal(registry_add_at(&fx.reg, "far-5b", 556, K1, 5, TU_NOW, &x), 0);
	/* Imports take our slots too, whatever slot they had. */
	assert_int_equal(registry_add_imported(&fx.reg, "imp-1", 0, NULL, 5 * B, TU_NOW, &x), 0);
	assert_int_equal(x->slot, B + 4);
	tu_check_counts(&fx.reg);
	fx.reg.slots = NULL;
}

static struct change row(uint64_t seq, uint32_t slot, uint64_t id, const char *guid,
			 const uint8_t *key)
{
	struct change c = {.seq = seq, .id = id, .slot = slot, .present = true};
	c.e.id = id;
	c.e.slot = slot;
	snprintf(c.e.guid, sizeof(c.e.guid), "%s", guid);
	memcpy(c.e.key, key, 16);
	snprintf(c.e.hostname, sizeof(c.e.hostname), "h-%s", guid);
	c.e.registered = c.e.last_register = c.e.last_ctl_contact = TU_NOW - 5;
	c.e.status = EP_ONLINE;
	c.e.reason = EP_REASON_REGISTERED;
	c.e.status_since = TU_NOW - 5;
	return c;
}

static enum change_result apply(const struct change *c)
{
	char why[400] = "";
	enum change_result r = cluster_apply(&fx.reg, fx.pol, c, TU_NOW, false, why, sizeof(why));
	tu_check_counts(&fx.reg);
	return r;
}

static void test_apply(void **state)
{
	(void)state;
	use_blocks();
	struct change c = row(1, 7, 0x77, "rem-7", K1);
	assert_int_equal(apply(&c), CHANGE_APPLIED);
	struct endpoint *ep = registry_by_guid(&fx.reg, "rem-7");
	assert_non_null(ep);
	assert_int_equal(ep->slot, 7);
	assert_int_equal(ep->id, 0x77);
	assert_int_equal(ep->status, EP_ONLINE); /* as stored */
	assert_string_equal(ep_hostname(ep), "h-rem-7");
	assert_memory_equal(registry_key(&fx.reg, ep), K1, 16);
	assert_int_equal(apply(&c), CHANGE_SAME); /* read twice: nothing more */
	/* Re-keyed on another collector. */
	c = row(2, 7, 0x77, "rem-7", K2);
	assert_int_equal(apply(&c), CHANGE_APPLIED);
	assert_memory_equal(registry_key(&fx.reg, ep), K2, 16);
	/* New details. */
	snprintf(c.e.hostname, sizeof(c.e.hostname), "renamed");
	snprintf(c.e.ips, sizeof(c.e.ips), "10.1.2.3");
	assert_int_equal(apply(&c), CHANGE_APPLIED);
	assert_string_equal(ep_hostname(ep), "renamed");
	assert_int_equal(tu_nips(ep), 1);
	/* Removed: the slot has no row. */
	struct change gone = {.seq = 3, .id = 0x77, .slot = 7, .present = false};
	assert_int_equal(apply(&gone), CHANGE_APPLIED);
	assert_null(registry_by_guid(&fx.reg, "rem-7"));
	assert_int_equal(apply(&gone), CHANGE_SAME);
	/* A stale add at our own slot (read before our removal committed). */
	c = row(4, B + 3, 0x99, "own-gone", K1);
	assert_int_equal(apply(&c), CHANGE_SAME);
	assert_null(registry_by_guid(&fx.reg, "own-gone"));
	/* Our registration of a guid lost the race: the store has it at 9. */
	struct endpoint *mine_ep;
	assert_int_equal(registry_add(&fx.reg, "raced", TU_NOW, &mine_ep), 0);
	assert_int_equal(mine_ep->slot, B);
	c = row(5, 9, 0x55, "raced", K2);
	assert_int_equal(apply(&c), CHANGE_APPLIED);
	ep = registry_by_guid(&fx.reg, "raced");
	assert_int_equal(ep->slot, 9);
	assert_int_equal(ep->id, 0x55);
	assert_null(registry_by_slot(&fx.reg, B));
	/* The slot changed hands elsewhere: the old one out, the add once reclaimed. */
	assert_int_equal(registry_reclaim(&fx.reg) >= 1, 1);
	c = row(6, 9, 0x56, "other", K1);
	assert_int_equal(apply(&c), CHANGE_RETRY);
	assert_null(registry_by_guid(&fx.reg, "raced"));
	registry_reclaim(&fx.reg);
	assert_int_equal(apply(&c), CHANGE_APPLIED);
	assert_int_equal(registry_by_guid(&fx.reg, "other")->slot, 9);
	fx.reg.slots = NULL;
}

static void test_apply_deciding(void **state)
{
	(void)state;
	struct transition_feed *feed = feed_new(16, NULL);
	assert_non_null(feed);
	fx.reg.feed = feed;
	char why[400];
	/* Not deciding: restored, no transition of ours. */
	struct change c = row(1, 7, 0x71, "nd-1", K1);
	assert_int_equal(cluster_apply(&fx.reg, fx.pol, &c, TU_NOW, false, why, sizeof(why)),
			 CHANGE_APPLIED);
	assert_int_equal(feed_next_seq(feed), 1);
	/* Deciding: the stored status is a transition, at its stored time. */
	c = row(2, 8, 0x81, "d-1", K1);
	assert_int_equal(cluster_apply(&fx.reg, fx.pol, &c, TU_NOW, true, why, sizeof(why)),
			 CHANGE_APPLIED);
	assert_int_equal(feed_next_seq(feed), 2);
	const struct transition *t = feed_get(feed, 1);
	assert_non_null(t);
	assert_int_equal(t->kind, TK_STATUS);
	assert_int_equal(t->id, 0x81);
	assert_int_equal(t->old_status, EP_OFFLINE);
	assert_int_equal(t->new_status, EP_ONLINE);
	assert_int_equal(t->reason, EP_REASON_REGISTERED);
	assert_int_equal(t->time, TU_NOW - 5);
	struct endpoint *ep = registry_by_id(&fx.reg, 0x81);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->status_since, TU_NOW - 5);
	tu_check_counts(&fx.reg);
	/* Read again: nothing more. */
	assert_int_equal(cluster_apply(&fx.reg, fx.pol, &c, TU_NOW, true, why, sizeof(why)),
			 CHANGE_SAME);
	assert_int_equal(feed_next_seq(feed), 2);
	/* Stored offline (an import of an offline endpoint): as new, no row. */
	c = row(3, 9, 0x91, "d-2", K1);
	c.e.status = EP_OFFLINE;
	c.e.reason = EP_REASON_NO_CONTACT;
	assert_int_equal(cluster_apply(&fx.reg, fx.pol, &c, TU_NOW, true, why, sizeof(why)),
			 CHANGE_APPLIED);
	assert_int_equal(feed_next_seq(feed), 2);
	assert_int_equal(registry_by_id(&fx.reg, 0x91)->status_since, TU_NOW - 5);
	tu_check_counts(&fx.reg);
	fx.reg.feed = NULL;
	feed_free(feed);
}

static void test_contacts(void **state)
{
	(void)state;
	char why[400];
	uint64_t ids[CONTACTS_PER_ENDPOINT];
	uint32_t ages[CONTACTS_PER_ENDPOINT], reasons[CONTACTS_PER_ENDPOINT];
	/* Loaded (or from the change feed): its stored contact, from before
	 * the previous scan began, is nothing to forward. */
	struct change c = row(1, 12, 0xC1, "c-1", K1);
	assert_int_equal(cluster_apply(&fx.reg, fx.pol, &c, TU_NOW, false, why, sizeof(why)),
			 CHANGE_APPLIED);
	struct endpoint *ep = registry_by_id(&fx.reg, 0xC1);
	assert_int_equal(contacts_collect(&fx.reg, ep, TU_NOW, TU_NOW - 4, ids, ages, reasons), 0);
	/* Re-registered here, 3 s ago, with a local transition (its persist
	 * marks it checkpointed: no matter): forwarded, with its reason. */
	registry_set_state(&fx.reg, ep, false, false, EP_REASON_NO_CONTACT, TU_NOW - 4);
	status_on_register(&fx.reg, fx.pol, ep, TU_NOW - 3);
	ep->checkpointed = TU_NOW - 3;
	assert_int_equal(contacts_collect(&fx.reg, ep, TU_NOW, TU_NOW - 4, ids, ages, reasons), 1);
	assert_int_equal(ids[0], 0xC1);
	assert_int_equal(ages[0], 3);
	assert_int_equal(reasons[0], EP_REASON_REGISTERED);
	/* The next scan (the previous began at TU_NOW): not again. */
	assert_int_equal(contacts_collect(&fx.reg, ep, TU_NOW + 2, TU_NOW, ids, ages, reasons), 0);
	/* A heartbeat and a poll since: both. */
	slot_table_restore_seen(&fx.tbl, ep->slot, TU_NOW - 1);
	status_on_poll(&fx.reg, ep, TU_NOW);
	assert_int_equal(contacts_collect(&fx.reg, ep, TU_NOW, TU_NOW, ids, ages, reasons), 2);
	assert_int_equal(reasons[0], EP_REASON_HEARTBEAT);
	assert_int_equal(ages[0], 1);
	assert_int_equal(reasons[1], EP_REASON_POLL);
	assert_int_equal(ages[1], 0);
	assert_int_equal(contacts_collect(&fx.reg, ep, TU_NOW + 2, TU_NOW + 1, ids, ages, reasons),
			 0);
	/* A SHUTDOWN heartbeat heard here (its time recorded, as the workers
	 * do): the heartbeat, then the shutdown, both at its time. */
	slot_table_restore_seen(&fx.tbl, ep->slot, TU_NOW + 3);
	status_on_shutdown(&fx.reg, ep, TU_NOW + 3, TU_NOW + 3);
	assert_int_equal(contacts_collect(&fx.reg, ep, TU_NOW + 4, TU_NOW + 2, ids, ages, reasons), 2);
	assert_int_equal(reasons[0], EP_REASON_HEARTBEAT);
	assert_int_equal(ages[0], 1);
	assert_int_equal(reasons[1], EP_REASON_SHUTDOWN);
	assert_int_equal(ages[1], 1);
	/* Once: the next scan began after it. */
	assert_int_equal(contacts_collect(&fx.reg, ep, TU_NOW + 6, TU_NOW + 4, ids, ages, reasons), 0);

	/* The decider: an endpoint last heard long ago, offline at once
	 * (a shutdown); another collector forwards its registration. */
	c = row(2, 13, 0xD1, "d-c", K1);
	c.e.last_ctl_contact = TU_NOW - 1000;
	assert_int_equal(cluster_apply(&fx.reg, fx.pol, &c, TU_NOW, false, why, sizeof(why)),
			 CHANGE_APPLIED);
	ep = registry_by_id(&fx.reg, 0xD1);
	registry_set_state(&fx.reg, ep, false, false, EP_REASON_SHUTDOWN, TU_NOW - 900);
	ep->down_at = TU_NOW - 900;
	uint64_t mono = 5000000000ull;
	struct feed_contact in = {
		.id = 0xD1, .age = 2, .reason = EP_REASON_REGISTERED, .read_ns = mono};
	assert_true(contacts_merge(&fx.reg, &in, TU_NOW, mono + 1000000000ull));
	assert_int_equal(ep->last_ctl_contact, TU_NOW - 3); /* 2 s old when read, 1 s ago */
	assert_int_equal(ep->ctl_reason, EP_REASON_REGISTERED);
	assert_int_equal(ep->down_at, 0);
	assert_false(contacts_merge(&fx.reg, &in, TU_NOW, mono + 1000000000ull)); /* once */
	in.id = 0xEEEE;
	assert_false(contacts_merge(&fx.reg, &in, TU_NOW, mono)); /* not known here */
	/* The sweep judges it from the registration: online, then offline
	 * offline_after after it, not before. */
	struct sweep_result res;
	sweep_run(&fx.sw, &fx.reg, fx.pol, TU_NOW, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	sweep_run(&fx.sw, &fx.reg, fx.pol, TU_NOW - 3 + fx.pol->offline_after - 1, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	sweep_run(&fx.sw, &fx.reg, fx.pol, TU_NOW - 3 + fx.pol->offline_after, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	tu_check_counts(&fx.reg);
}

/* The decider: a shutdown another collector heard (after its heartbeat, in
 * the same batch) takes the endpoint offline at once, reason shutdown; the
 * sweep keeps it so; a heartbeat forwarded later ends it. */
static void test_contacts_shutdown(void **state)
{
	(void)state;
	char why[400];
	struct change c = row(3, 14, 0xE1, "e-1", K1);
	c.e.last_ctl_contact = TU_NOW - 5;
	assert_int_equal(cluster_apply(&fx.reg, fx.pol, &c, TU_NOW, false, why, sizeof(why)),
			 CHANGE_APPLIED);
	struct endpoint *ep = registry_by_id(&fx.reg, 0xE1);
	struct sweep_result res;
	sweep_run(&fx.sw, &fx.reg, fx.pol, TU_NOW, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	uint64_t mono = 5000000000ull;
	struct feed_contact hb = {.id = 0xE1, .age = 1, .reason = EP_REASON_HEARTBEAT, .read_ns = mono};
	struct feed_contact down = hb;
	down.reason = EP_REASON_SHUTDOWN;
	assert_true(contacts_merge(&fx.reg, &hb, TU_NOW, mono));
	assert_true(contacts_merge(&fx.reg, &down, TU_NOW, mono));
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_SHUTDOWN);
	assert_int_equal(ep->down_at, TU_NOW - 1);
	assert_false(contacts_merge(&fx.reg, &down, TU_NOW, mono)); /* twice: nothing more */
	sweep_run(&fx.sw, &fx.reg, fx.pol, TU_NOW + 1, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_SHUTDOWN);
	/* It boots again: its next heartbeat, heard elsewhere, ends it. */
	hb.age = 0;
	hb.read_ns = mono + 3000000000ull;
	assert_true(contacts_merge(&fx.reg, &hb, TU_NOW + 3, mono + 3000000000ull));
	assert_int_equal(ep->down_at, 0);
	sweep_run(&fx.sw, &fx.reg, fx.pol, TU_NOW + 3, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	tu_check_counts(&fx.reg);
}

#define REG(f) cmocka_unit_test_prestate_setup_teardown(f, tu_registry_setup, tu_registry_teardown, &fx)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_blocks),
		REG(test_registry_own_slots),
		REG(test_apply),
		REG(test_apply_deciding),
		REG(test_contacts),
		REG(test_contacts_shutdown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	slot_blocks_free(&own);
	return rc;
}
