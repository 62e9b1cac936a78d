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
 * replaces a guid we hold at another slot.
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

#define REG(f) cmocka_unit_test_prestate_setup_teardown(f, tu_registry_setup, tu_registry_teardown, &fx)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_blocks),
		REG(test_registry_own_slots),
		REG(test_apply),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	slot_blocks_free(&own);
	return rc;
}
