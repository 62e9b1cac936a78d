/*
 * The registry (control/registry.c) without DPDK or sockets. Proves: it
 * hands out distinct ids and slots, finds endpoints by id, guid and slot,
 * leaves a new endpoint offline with no contact until status_on_register
 * (R4) applies, keeps the four by_status counts and the per-range counts
 * right through registry_set_state (one feed transition per change of
 * status, R8), grows past the slot table's first chunk, and a re-key
 * reaches the slot table (the old key's heartbeats fail); a full table
 * refuses the next endpoint and changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "control/registry.h"
#include "control/status.h"
#include "control/transitions.h"
#include "support/tu_heartbeat.h"
#include "support/tu_registry.h"
#include "support/tu_run.h"

#define NOW TU_NOW
#define ONLINE(r)  ((r)->by_status[EP_ONLINE])
#define OFFLINE(r) ((r)->by_status[EP_OFFLINE])

static struct tu_registry fx;

static void test_registry_add_lookup(void **state)
{
	(void)state;
	struct endpoint *a, *b;
	assert_int_equal(registry_add(&fx.reg, "guid-a", NOW, &a), 0);
	uint64_t id_a = a->id;
	assert_int_equal(registry_add(&fx.reg, "guid-b", NOW + 1, &b), 0);
	a = registry_by_guid(&fx.reg, "guid-a");   /* b's add may have moved eps */
	assert_non_null(a);
	assert_int_equal(a->id, id_a);
	assert_int_equal(fx.reg.count, 2);
	assert_int_equal(a->slot, 0);
	assert_int_equal(b->slot, 1);
	assert_true(a->id != 0 && b->id != 0 && a->id != b->id);
	assert_memory_not_equal(registry_key(&fx.reg, a), registry_key(&fx.reg, b), HB_KEY_LEN);
	assert_string_equal(ep_guid(a), "guid-a");
	assert_int_equal(ep_registered(a), NOW);
	assert_int_equal(a->last_register, NOW);
	assert_int_equal(ep_registered(b), NOW + 1);
	/* Added, not yet registered: offline, no contact, no range (R4 is
	 * status_on_register's). */
	assert_int_equal(a->status, EP_OFFLINE);
	assert_false(a->up);
	assert_false(a->unreachable);
	assert_int_equal(a->last_ctl_contact, 0);
	assert_int_equal(a->last_heartbeat, 0);
	assert_int_equal(a->last_poll, 0);
	assert_int_equal(a->down_at, 0);
	assert_int_equal(a->range, -1);
	assert_int_equal(a->status_since, NOW);
	assert_int_equal(ONLINE(&fx.reg), 0);
	assert_int_equal(OFFLINE(&fx.reg), 2);
	tu_check_counts(&fx.reg);

	assert_ptr_equal(registry_by_id(&fx.reg, a->id), a);
	assert_ptr_equal(registry_by_id(&fx.reg, b->id), b);
	assert_ptr_equal(registry_by_guid(&fx.reg, "guid-b"), b);
	assert_ptr_equal(registry_by_slot(&fx.reg, 1), b);
	assert_null(registry_by_slot(&fx.reg, 2));
	assert_null(registry_by_slot(&fx.reg, UINT32_MAX));
	assert_null(registry_by_guid(&fx.reg, "guid-c"));
	assert_null(registry_by_guid(&fx.reg, "guid-"));
	assert_null(registry_by_guid(&fx.reg, ""));
	assert_null(registry_by_id(&fx.reg, a->id ^ 1));
	assert_null(registry_by_id(&fx.reg, 0));

	/* Published to the workers: slot -> (id, key). */
	const struct slot_entry *e = slot_dir_entry(fx.tbl.dir, a->slot);
	assert_non_null(e);
	assert_int_equal(e->id, a->id);
	assert_memory_equal(e->key, registry_key(&fx.reg, a), HB_KEY_LEN);
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, a, registry_key(&fx.reg, a), 0, NOW, NOW), HB_ACCEPTED);
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, b, registry_key(&fx.reg, a), 0, NOW, NOW), HB_BAD_MAC);

	/* Registration is contact (R4): online at once, reason registered. */
	status_on_register(&fx.reg, fx.pol, a, NOW + 5);
	assert_int_equal(a->status, EP_ONLINE);
	assert_true(a->up);
	assert_int_equal(a->reason, EP_REASON_REGISTERED);
	assert_int_equal(a->ctl_reason, EP_REASON_REGISTERED);
	assert_int_equal(a->last_ctl_contact, NOW + 5);
	assert_int_equal(a->last_register, NOW + 5);
	assert_int_equal(ep_registered(a), NOW);
	assert_int_equal(a->status_since, NOW + 5);
	assert_int_equal(ONLINE(&fx.reg), 1);
	assert_int_equal(OFFLINE(&fx.reg), 1);
	tu_check_counts(&fx.reg);
}

/* Enough endpoints to grow the endpoint array, both indexes and the slot
 * table past its first chunk: every one is still found, ids are unique. */
static void test_registry_many(void **state)
{
	(void)state;
	const uint32_t n = SLOT_CHUNK_SLOTS + 1000;
	char guid[32];
	struct endpoint *ep;
	for (uint32_t i = 0; i < n; i++) {
		snprintf(guid, sizeof(guid), "host-%u", i);
		assert_int_equal(registry_add(&fx.reg, guid, NOW, &ep), 0);
		assert_int_equal(ep->slot, i);
	}
	assert_int_equal(fx.reg.count, n);
	assert_int_equal(OFFLINE(&fx.reg), n);
	assert_true(slot_table_capacity(&fx.tbl) >= n);
	for (uint32_t i = 0; i < n; i++)
		status_on_register(&fx.reg, fx.pol, registry_at(&fx.reg, i), NOW);
	assert_int_equal(ONLINE(&fx.reg), n);
	assert_int_equal(OFFLINE(&fx.reg), 0);
	for (uint32_t i = 0; i < n; i += 7) {
		snprintf(guid, sizeof(guid), "host-%u", i);
		ep = registry_by_guid(&fx.reg, guid);
		assert_non_null(ep);
		assert_int_equal(ep->slot, i);
		assert_ptr_equal(registry_by_id(&fx.reg, ep->id), ep);
		assert_int_equal(slot_dir_entry(fx.tbl.dir, i)->id, ep->id);
	}
	/* A slot in the second chunk takes heartbeats. */
	ep = registry_by_slot(&fx.reg, n - 1);
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, registry_key(&fx.reg, ep), 1, NOW - 3, NOW), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&fx.tbl, n - 1), NOW - 3);
	/* Distinct ids. */
	uint64_t *ids = malloc(n * sizeof(*ids));
	assert_non_null(ids);
	for (uint32_t i = 0; i < n; i++)
		ids[i] = (*registry_at(&fx.reg, i)).id;
	for (uint32_t i = 0; i < n; i++)
		assert_ptr_equal(registry_by_id(&fx.reg, ids[i]), registry_at(&fx.reg, i));
	free(ids);
	tu_check_counts(&fx.reg);
}

static void test_registry_rekey(void **state)
{
	(void)state;
	struct endpoint *ep;
	assert_int_equal(registry_add(&fx.reg, "rekeyed", NOW, &ep), 0);
	uint8_t old[HB_KEY_LEN];
	uint64_t id = ep->id;
	uint32_t slot = ep->slot;
	memcpy(old, registry_key(&fx.reg, ep), sizeof(old));
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, old, 0, NOW - 5, NOW), HB_ACCEPTED);
	registry_rekey(&fx.reg, ep);
	assert_memory_not_equal(registry_key(&fx.reg, ep), old, HB_KEY_LEN);
	assert_int_equal(ep->id, id);
	assert_int_equal(ep->slot, slot);
	const struct slot_entry *e = slot_dir_entry(fx.tbl.dir, slot);
	assert_int_equal(e->id, id);
	assert_memory_equal(e->key, registry_key(&fx.reg, ep), HB_KEY_LEN);
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, old, 0, NOW, NOW), HB_BAD_MAC);
	assert_int_equal(tu_heartbeat_ep(&fx.tbl, ep, registry_key(&fx.reg, ep), 0, NOW - 1, NOW), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&fx.tbl, slot), NOW - 1);
	/* Lookups unchanged. */
	assert_ptr_equal(registry_by_id(&fx.reg, id), ep);
	assert_ptr_equal(registry_by_guid(&fx.reg, "rekeyed"), ep);
}

/* The last transition in the feed, checked for what it says. */
static void check_last_transition(const struct transition_feed *f, const struct endpoint *ep,
				  enum ep_status old, enum ep_status new_, enum ep_reason why,
				  uint32_t time)
{
	const struct transition *t = feed_get(f, feed_next_seq(f) - 1);
	assert_non_null(t);
	assert_int_equal(t->kind, TK_STATUS);
	assert_int_equal(t->id, ep->id);
	assert_int_equal(t->slot, ep->slot);
	assert_int_equal(t->old_status, old);
	assert_int_equal(t->new_status, new_);
	assert_int_equal(t->reason, why);
	assert_int_equal(t->time, time);
}

static void test_registry_status_counts(void **state)
{
	(void)state;
	struct endpoint *ep;
	for (int i = 0; i < 3; i++) {
		char g[8];
		snprintf(g, sizeof(g), "e%d", i);
		tu_add_registered(&fx.reg, fx.pol, g, NOW);
	}
	assert_int_equal(ONLINE(&fx.reg), 3);
	assert_int_equal(OFFLINE(&fx.reg), 0);
	fx.reg.feed = feed_new(64, NULL);
	assert_non_null(fx.reg.feed);
	uint64_t seq = feed_next_seq(fx.reg.feed);

	ep = registry_by_slot(&fx.reg, 1);
	registry_set_state(&fx.reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 100);
	assert_int_equal(ONLINE(&fx.reg), 2);
	assert_int_equal(OFFLINE(&fx.reg), 1);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_false(ep->up);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(ep->status_since, NOW + 100);
	assert_int_equal(feed_next_seq(fx.reg.feed), ++seq);
	check_last_transition(fx.reg.feed, ep, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, NOW + 100);
	/* The same status again: no double count, status_since kept, no
	 * transition. */
	registry_set_state(&fx.reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 200);
	assert_int_equal(ONLINE(&fx.reg), 2);
	assert_int_equal(OFFLINE(&fx.reg), 1);
	assert_int_equal(ep->status_since, NOW + 100);
	assert_int_equal(feed_next_seq(fx.reg.feed), seq);
	registry_set_state(&fx.reg, ep, false, true, EP_REASON_HEARTBEAT, NOW + 300);
	assert_int_equal(ONLINE(&fx.reg), 3);
	assert_int_equal(OFFLINE(&fx.reg), 0);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->status_since, NOW + 300);
	assert_int_equal(feed_next_seq(fx.reg.feed), ++seq);
	check_last_transition(fx.reg.feed, ep, EP_OFFLINE, EP_ONLINE, EP_REASON_HEARTBEAT, NOW + 300);
	/* Still online on newer contact: the reason follows, nothing else. */
	registry_set_state(&fx.reg, ep, false, true, EP_REASON_POLL, NOW + 350);
	assert_int_equal(ep->reason, EP_REASON_POLL);
	assert_int_equal(ep->status_since, NOW + 300);
	assert_int_equal(feed_next_seq(fx.reg.feed), seq);
	tu_check_counts(&fx.reg);

	/* The unreachable pair (R7): each its own count. */
	registry_set_state(&fx.reg, ep, true, true, EP_REASON_RECLASSIFIED, NOW + 400);
	assert_int_equal(ep->status, EP_UNREACH_ONLINE);
	assert_true(ep->unreachable);
	assert_int_equal(fx.reg.by_status[EP_UNREACH_ONLINE], 1);
	assert_int_equal(ONLINE(&fx.reg), 2);
	assert_int_equal(feed_next_seq(fx.reg.feed), ++seq);
	check_last_transition(fx.reg.feed, ep, EP_ONLINE, EP_UNREACH_ONLINE, EP_REASON_RECLASSIFIED,
			      NOW + 400);
	ep = registry_by_slot(&fx.reg, 2);
	registry_set_state(&fx.reg, ep, true, false, EP_REASON_UNREACHABLE, NOW + 500);
	assert_int_equal(ep->status, EP_UNREACH_OFFLINE);
	assert_int_equal(fx.reg.by_status[EP_UNREACH_OFFLINE], 1);
	assert_int_equal(fx.reg.by_status[EP_UNREACH_ONLINE], 1);
	assert_int_equal(ONLINE(&fx.reg), 1);
	assert_int_equal(OFFLINE(&fx.reg), 0);
	assert_int_equal(feed_next_seq(fx.reg.feed), ++seq);
	tu_check_counts(&fx.reg);
	feed_free(fx.reg.feed);
	fx.reg.feed = NULL;

	assert_string_equal(ep_status_name(EP_ONLINE), "online");
	assert_string_equal(ep_status_name(EP_OFFLINE), "offline");
	assert_string_equal(ep_status_name(EP_UNREACH_ONLINE), "unreachable/online");
	assert_string_equal(ep_status_name(EP_UNREACH_OFFLINE), "unreachable/offline");
	assert_string_equal(ep_status_name(EP_STATUS_COUNT), "unknown");
	static const char *const reasons[EP_REASON_COUNT] = {
		[EP_REASON_REGISTERED] = "registered", [EP_REASON_HEARTBEAT] = "heartbeat",
		[EP_REASON_POLL] = "poll", [EP_REASON_EVENT] = "event",
		[EP_REASON_NO_CONTACT] = "no-contact", [EP_REASON_SHUTDOWN] = "shutdown",
		[EP_REASON_UNREACHABLE] = "unreachable", [EP_REASON_RECLASSIFIED] = "reclassified",
		[EP_REASON_NO_ACK] = "no-ack",
	};
	for (int i = 0; i < EP_REASON_COUNT; i++) {
		assert_non_null(reasons[i]);
		assert_string_equal(ep_reason_name(i), reasons[i]);
	}
	assert_string_equal(ep_reason_name(EP_REASON_COUNT), "unknown");
}

/* Unreachable endpoints are also counted per range, [range][up]; a move
 * between ranges leaves by_status alone. */
static void test_registry_range_counts(void **state)
{
	(void)state;
	assert_int_equal(registry_reset_ranges(&fx.reg, 3), 0);
	struct endpoint *a = tu_add_registered(&fx.reg, fx.pol, "ra", NOW);
	struct endpoint *b = tu_add_registered(&fx.reg, fx.pol, "rb", NOW);
	a = registry_by_guid(&fx.reg, "ra");
	registry_set_range(&fx.reg, a, 1);
	registry_set_state(&fx.reg, a, true, true, EP_REASON_RECLASSIFIED, NOW);
	registry_set_range(&fx.reg, b, 1);
	registry_set_state(&fx.reg, b, true, false, EP_REASON_UNREACHABLE, NOW);
	assert_int_equal(fx.reg.by_range[1][1], 1);
	assert_int_equal(fx.reg.by_range[1][0], 1);
	assert_int_equal(fx.reg.by_range[0][0] + fx.reg.by_range[0][1], 0);
	registry_set_state(&fx.reg, b, true, true, EP_REASON_POLL, NOW + 1);
	assert_int_equal(fx.reg.by_range[1][1], 2);
	assert_int_equal(fx.reg.by_range[1][0], 0);
	registry_set_range(&fx.reg, b, 2);
	assert_int_equal(fx.reg.by_range[1][1], 1);
	assert_int_equal(fx.reg.by_range[2][1], 1);
	assert_int_equal(fx.reg.by_status[EP_UNREACH_ONLINE], 2);
	/* Back to the regular network: out of every range count. */
	registry_set_range(&fx.reg, b, -1);
	registry_set_state(&fx.reg, b, false, true, EP_REASON_RECLASSIFIED, NOW + 2);
	assert_int_equal(fx.reg.by_range[2][1], 0);
	assert_int_equal(fx.reg.by_range[1][1], 1);
	assert_int_equal(ONLINE(&fx.reg), 1);
	tu_check_counts(&fx.reg);
	/* New ranges: the per-range counts start over. */
	assert_int_equal(registry_reset_ranges(&fx.reg, 2), 0);
	assert_int_equal(fx.reg.nranges, 2);
	assert_int_equal(fx.reg.by_range[1][1], 0);
}

/* What a policy change reaches is counted as endpoints change, not walked
 * (policy_apply.c): `unreachable` and `notifiable` (regular endpoints with
 * a notify address) follow a notify port, a source address, a move into
 * and out of the unreachable network, a removal and a reused slot. */
static void test_registry_reach_tallies(void **state)
{
	(void)state;
	struct gn_addr src;
	assert_int_equal(gn_addr_parse("192.0.2.7", &src), 0);
	struct endpoint *a = tu_add_registered(&fx.reg, fx.pol, "na", NOW);
	struct endpoint *b = tu_add_registered(&fx.reg, fx.pol, "nb", NOW);
	a = registry_by_guid(&fx.reg, "na");
	assert_int_equal(fx.reg.notifiable, 0);
	/* A notify port alone is no address; with a source it is. */
	assert_int_equal(registry_set_details(&fx.reg, a, "host-a", NULL, 0, 4711), 0);
	assert_int_equal(fx.reg.notifiable, 0);
	assert_int_equal(registry_set_source(&fx.reg, a, &src), 1);
	assert_int_equal(fx.reg.notifiable, 1);
	tu_check_counts(&fx.reg);
	/* Into the unreachable network: counted there, not as notifiable. */
	registry_set_state(&fx.reg, a, true, true, EP_REASON_RECLASSIFIED, NOW + 1);
	assert_int_equal(fx.reg.unreachable, 1);
	assert_int_equal(fx.reg.notifiable, 0);
	registry_set_state(&fx.reg, a, false, true, EP_REASON_RECLASSIFIED, NOW + 2);
	assert_int_equal(fx.reg.unreachable, 0);
	assert_int_equal(fx.reg.notifiable, 1);
	/* The port dropped, then back. */
	assert_int_equal(registry_set_details(&fx.reg, a, "host-a", NULL, 0, 0), 0);
	assert_int_equal(fx.reg.notifiable, 0);
	assert_int_equal(registry_set_details(&fx.reg, a, "host-a", NULL, 0, 4711), 0);
	assert_int_equal(fx.reg.notifiable, 1);
	/* b as well, then both removed; the slot's next owner starts bare. */
	assert_int_equal(registry_set_details(&fx.reg, b, "host-b", NULL, 0, 4711), 0);
	assert_int_equal(registry_set_source(&fx.reg, b, &src), 1);
	registry_set_state(&fx.reg, b, true, false, EP_REASON_UNREACHABLE, NOW + 3);
	assert_int_equal(fx.reg.unreachable, 1);
	tu_check_counts(&fx.reg);
	registry_remove(&fx.reg, a, EP_REMOVED_OPERATOR, NOW + 4);
	registry_remove(&fx.reg, b, EP_REMOVED_OPERATOR, NOW + 4);
	assert_int_equal(fx.reg.notifiable, 0);
	assert_int_equal(fx.reg.unreachable, 0);
	tu_check_counts(&fx.reg);
	assert_int_equal(registry_reclaim(&fx.reg), 2);
	struct endpoint *c = tu_add_registered(&fx.reg, fx.pol, "nc", NOW + 5);
	assert_int_equal(c->slot, a->slot); /* the oldest free slot */
	assert_int_equal(fx.reg.notifiable, 0);
	tu_check_counts(&fx.reg);
}

/* A full table refuses the next endpoint and changes nothing. */
static void test_registry_full(void **state)
{
	(void)state;
	struct slot_table small;
	struct registry r;
	struct endpoint *ep;
	assert_int_equal(slot_table_init(&small, 1, 2), 0);
	assert_int_equal(registry_init(&r, &small), 0);
	assert_int_equal(registry_add(&r, "one", NOW, &ep), 0);
	assert_int_equal(registry_add(&r, "two", NOW, &ep), 0);
	ep = NULL;
	assert_int_equal(registry_add(&r, "three", NOW, &ep), -ENOSPC);
	assert_null(ep);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.by_status[EP_OFFLINE], 2);
	assert_int_equal(r.by_status[EP_ONLINE], 0);
	assert_null(registry_by_guid(&r, "three"));
	registry_destroy(&r);
	slot_table_destroy(&small);
}

#define REG(f) cmocka_unit_test_prestate_setup_teardown(f, tu_registry_setup, tu_registry_teardown, &fx)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		REG(test_registry_add_lookup),
		REG(test_registry_many),
		REG(test_registry_rekey),
		REG(test_registry_status_counts),
		REG(test_registry_range_counts),
		REG(test_registry_reach_tallies),
		cmocka_unit_test(test_registry_full),
	};
	return TU_RUN(tests);
}
