/*
 * The control plane without DPDK or sockets. Proves: duration_parse takes
 * exactly <digits>[s|m|h|d] within 32 bits; slot_index finds 100k entries
 * across many growths and tells colliding hashes apart; the registry hands
 * out distinct ids and slots, finds endpoints by id/guid/slot, leaves a new
 * endpoint offline with no contact until status_on_register (R4) applies,
 * keeps the four by_status counts and the per-range counts right through
 * registry_set_state (one feed transition per change of status, R8), and a
 * re-key reaches the slot table (the old key's heartbeats fail); sweep_run
 * applies R6 at its boundary (exactly offline_after since the last contact
 * is offline), a worker's heartbeat brings an endpoint back with reason
 * heartbeat, the restart grace (R9) holds no-contact transitions and the
 * mass-offline guard (R10) holds them until an operator releases it;
 * POST /v1/register (api_register) authenticates, validates every field,
 * keeps id and slot for a known guid, keeps the key only with a valid proof
 * (PROTOCOL.md §3), answers from the policy (R2) and counts each outcome
 * once; GET /v1/poll and POST /v1/event authenticate with their own MAC
 * context, count as contact (R3, R5), answer 304 to a matching ETag and
 * reclassify on X-Glournet-Ips (R1); ctl_dispatch answers help, show
 * status, show client, show settings, set, range add/del/list and guard
 * release, and rejects malformed requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include <sys/stat.h>
#include <unistd.h>

#include "control/api.h"
#include "control/daemon.h"
#include "control/duration.h"
#include "control/policy.h"
#include "control/policy_store.h"
#include "control/ranges.h"
#include "control/registry.h"
#include "control/slot_index.h"
#include "control/status.h"
#include "control/sweep.h"
#include "control/transitions.h"
#include "glournet/coarse_clock.h"
#include "glournet/hb_accept.h"
#include "glournet/hb_encode.h"
#define LOG_TAG "test"
#include "glournet/log.h"

/*
 * The coarse clock's storage is defined in the dataplane core
 * (dataplane/coarse_clock.c), which this test links. The weak definition
 * only stands in should it move out again: a strong one always wins.
 */
__attribute__((weak)) uint32_t gn_coarse_now_sec;

#define NOW 1795000000u

/* ================= duration_parse ================= */

static void test_duration_ok(void **state)
{
	(void)state;
	static const struct { const char *text; uint32_t want; } ok[] = {
		{"30s", 30}, {"10m", 600}, {"2h", 7200}, {"1d", 86400}, {"45", 45},
		{"0", 0}, {"1s", 1}, {"129600m", 129600u * 60}, {"007m", 420},
		{"4294967295", UINT32_MAX}, {"4294967295s", UINT32_MAX},
		{"71582788m", 71582788u * 60}, {"1193046h", 1193046u * 3600},
		{"49710d", 49710u * 86400},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint32_t v = 12345;
		int rc = duration_parse(ok[i].text, &v);
		if (rc != 0 || v != ok[i].want)
			fail_msg("'%s': rc %d, %u seconds; want %u", ok[i].text, rc, v, ok[i].want);
	}
}

static void test_duration_bad(void **state)
{
	(void)state;
	static const struct { const char *text; int rc; } bad[] = {
		{"", -EINVAL}, {"m", -EINVAL}, {"10x", -EINVAL}, {"-5", -EINVAL},
		{"10mm", -EINVAL}, {"10ms", -EINVAL}, {" 5", -EINVAL}, {"5 ", -EINVAL},
		{"+5", -EINVAL}, {"1.5h", -EINVAL}, {"10M", -EINVAL}, {"0x10", -EINVAL},
		{"10 m", -EINVAL}, {"s10", -EINVAL},
		{"99999999999", -ERANGE}, {"4294967296", -ERANGE}, {"4294967296s", -ERANGE},
		{"71582789m", -ERANGE}, {"1193047h", -ERANGE}, {"49711d", -ERANGE},
		{"99999999999999999999999", -ERANGE},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v = 12345;
		int rc = duration_parse(bad[i].text, &v);
		if (rc != bad[i].rc)
			fail_msg("'%s': rc %d, want %d", bad[i].text, rc, bad[i].rc);
		if (v != 12345)
			fail_msg("'%s' was rejected but wrote %u", bad[i].text, v);
	}
	uint32_t v = 1;
	assert_int_equal(duration_parse(NULL, &v), -EINVAL);
	assert_int_equal(v, 1);
}

/* ================= slot_index ================= */

#define IX_N 100000u
static uint64_t *ix_keys;

static bool ix_match(void *ctx, uint32_t slot, const void *key)
{
	const uint64_t *keys = ctx;
	return keys[slot] == *(const uint64_t *)key;
}

static uint64_t ix_hash(uint64_t k) { return k * 0x9E3779B97F4A7C15ull ^ (k >> 29); }

static void test_slot_index_100k(void **state)
{
	(void)state;
	struct slot_index ix;
	ix_keys = calloc(IX_N, sizeof(*ix_keys));
	assert_non_null(ix_keys);
	assert_int_equal(slot_index_init(&ix, 4), 0);
	size_t first_cap = (size_t)1 << ix.cur.bits;
	for (uint32_t i = 0; i < IX_N; i++) {
		ix_keys[i] = 1000003ull * i + 7;
		assert_int_equal(slot_index_insert(&ix, ix_hash(ix_keys[i]), i), 0);
	}
	while (slot_index_step(&ix, 4096))
		;
	assert_int_equal(slot_index_count(&ix), IX_N);
	assert_true(((size_t)1 << ix.cur.bits) > first_cap);        /* it grew */
	assert_true(((size_t)1 << ix.cur.bits) * 3 >= 4 * (size_t)IX_N); /* load factor up to 3/4 */
	for (uint32_t i = 0; i < IX_N; i++) {
		uint32_t s = slot_index_find(&ix, ix_hash(ix_keys[i]), ix_match, ix_keys, &ix_keys[i]);
		if (s != i)
			fail_msg("key %u found at %u", i, s);
	}
	/* Absent keys. */
	for (uint64_t k = 1; k < 2000; k++) {
		uint64_t key = 1000003ull * IX_N * 2 + k;
		assert_int_equal(slot_index_find(&ix, ix_hash(key), ix_match, ix_keys, &key),
				 UINT32_MAX);
	}
	slot_index_destroy(&ix);
	assert_null(ix.cur.cells);
	free(ix_keys);
}

/* Equal hashes: the match callback decides, each entry is found. */
static void test_slot_index_collisions(void **state)
{
	(void)state;
	struct slot_index ix;
	uint64_t keys[200];
	assert_int_equal(slot_index_init(&ix, 0), 0);
	for (uint32_t i = 0; i < 200; i++) {
		keys[i] = 0xABC000 + i;
		/* Every key gets the same hash. */
		assert_int_equal(slot_index_insert(&ix, 42, i), 0);
	}
	for (uint32_t i = 0; i < 200; i++)
		assert_int_equal(slot_index_find(&ix, 42, ix_match, keys, &keys[i]), i);
	uint64_t other = 1;
	assert_int_equal(slot_index_find(&ix, 42, ix_match, keys, &other), UINT32_MAX);
	/* A hash that only differs from a stored one in high bits. */
	assert_int_equal(slot_index_find(&ix, 42 | (1ull << 63), ix_match, keys, &keys[0]),
			 UINT32_MAX);
	slot_index_destroy(&ix);
}

/* The initial size is honoured: no growth before the load factor. */
static void test_slot_index_initial(void **state)
{
	(void)state;
	struct slot_index ix;
	assert_int_equal(slot_index_init(&ix, 1000), 0);
	size_t cap = (size_t)1 << ix.cur.bits;
	assert_true(cap >= 2000);
	assert_int_equal(cap & (cap - 1), 0);        /* a power of two (mask) */
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(slot_index_insert(&ix, i, i), 0);
	assert_int_equal((size_t)1 << ix.cur.bits, cap);
	slot_index_destroy(&ix);
}

/* ================= registry ================= */

static unsigned nips_of(const struct endpoint *ep)
{
	struct ep_addr a[EP_MAX_IPS];
	return ep_ips(ep, a);
}

static struct ep_addr ip_at(const struct endpoint *ep, unsigned i)
{
	struct ep_addr a[EP_MAX_IPS];
	assert_true(i < ep_ips(ep, a));
	return a[i];
}

static struct slot_table tbl;
static struct registry reg;
static struct policy *pol;         /* the policy status_on_register and the sweep apply */
static struct sweep_state sw;

static int reg_setup(void **state)
{
	(void)state;
	if (slot_table_init(&tbl, 2, 1u << 20) < 0 || registry_init(&reg, &tbl) < 0 ||
	    registry_reset_ranges(&reg, 0) < 0)
		return -1;
	pol = policy_new_default();
	if (!pol)
		return -1;
	/* R10 has tests of its own; R9: a collector up for a long time. */
	pol->guard_threshold = 0;
	memset(&sw, 0, sizeof(sw));
	sw.started = NOW - 400u * 86400;
	return 0;
}

static int reg_teardown(void **state)
{
	(void)state;
	sweep_state_free(&sw);
	policy_free(pol);
	pol = NULL;
	registry_destroy(&reg);
	slot_table_destroy(&tbl);
	return 0;
}

/* A heartbeat from `ep` under `key`, through the workers' own decision. */
static enum hb_verdict heartbeat(struct slot_table *t, const struct endpoint *ep,
				 const uint8_t key[HB_KEY_LEN], unsigned worker, uint32_t time,
				 uint32_t now)
{
	uint8_t p[HB_PAYLOAD_LEN];
	struct hb_window w = { .now = now, .window = 300, .skew = 30 };
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, ep->slot, time, ep->id, key);
	return hb_accept(t->dir, worker, p, &w);
}

/* by_status is exactly the tally of the endpoints' statuses, and each
 * status is the one its (unreachable, up) pair names. */
static void check_counts(const struct registry *r)
{
	uint32_t n[EP_STATUS_COUNT] = {0}, total = 0;
	for (uint32_t i = 0; i < r->count; i++) {
		const struct endpoint *ep = registry_at(r, i);
		assert_true(ep->status < EP_STATUS_COUNT);
		if (ep->status != ep_status_of(ep->unreachable, ep->up))
			fail_msg("slot %u: status %s, but unreachable %d up %d", i,
				 ep_status_name(ep->status), ep->unreachable, ep->up);
		n[ep->status]++;
	}
	for (int st = 0; st < EP_STATUS_COUNT; st++) {
		if (r->by_status[st] != n[st])
			fail_msg("by_status[%s] is %u, %u endpoints have it", ep_status_name(st),
				 r->by_status[st], n[st]);
		total += r->by_status[st];
	}
	assert_int_equal(total, r->count);
}

#define ONLINE(r)  ((r)->by_status[EP_ONLINE])
#define OFFLINE(r) ((r)->by_status[EP_OFFLINE])

/* A new endpoint that registered at `now` (what api_register does). */
static struct endpoint *add_registered(struct registry *r, const struct policy *p,
				       const char *guid, uint32_t now)
{
	struct endpoint *ep;
	assert_int_equal(registry_add(r, guid, now, &ep), 0);
	status_on_register(r, p, ep, now);
	return ep;
}

static void test_registry_add_lookup(void **state)
{
	(void)state;
	struct endpoint *a, *b;
	assert_int_equal(registry_add(&reg, "guid-a", NOW, &a), 0);
	uint64_t id_a = a->id;
	assert_int_equal(registry_add(&reg, "guid-b", NOW + 1, &b), 0);
	a = registry_by_guid(&reg, "guid-a");   /* b's add may have moved eps */
	assert_non_null(a);
	assert_int_equal(a->id, id_a);
	assert_int_equal(reg.count, 2);
	assert_int_equal(a->slot, 0);
	assert_int_equal(b->slot, 1);
	assert_true(a->id != 0 && b->id != 0 && a->id != b->id);
	assert_memory_not_equal(registry_key(&reg, a), registry_key(&reg, b), HB_KEY_LEN);
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
	assert_int_equal(ONLINE(&reg), 0);
	assert_int_equal(OFFLINE(&reg), 2);
	check_counts(&reg);

	assert_ptr_equal(registry_by_id(&reg, a->id), a);
	assert_ptr_equal(registry_by_id(&reg, b->id), b);
	assert_ptr_equal(registry_by_guid(&reg, "guid-b"), b);
	assert_ptr_equal(registry_by_slot(&reg, 1), b);
	assert_null(registry_by_slot(&reg, 2));
	assert_null(registry_by_slot(&reg, UINT32_MAX));
	assert_null(registry_by_guid(&reg, "guid-c"));
	assert_null(registry_by_guid(&reg, "guid-"));
	assert_null(registry_by_guid(&reg, ""));
	assert_null(registry_by_id(&reg, a->id ^ 1));
	assert_null(registry_by_id(&reg, 0));

	/* Published to the workers: slot -> (id, key). */
	const struct slot_entry *e = slot_dir_entry(tbl.dir, a->slot);
	assert_non_null(e);
	assert_int_equal(e->id, a->id);
	assert_memory_equal(e->key, registry_key(&reg, a), HB_KEY_LEN);
	assert_int_equal(heartbeat(&tbl, a, registry_key(&reg, a), 0, NOW, NOW), HB_ACCEPTED);
	assert_int_equal(heartbeat(&tbl, b, registry_key(&reg, a), 0, NOW, NOW), HB_BAD_MAC);

	/* Registration is contact (R4): online at once, reason registered. */
	status_on_register(&reg, pol, a, NOW + 5);
	assert_int_equal(a->status, EP_ONLINE);
	assert_true(a->up);
	assert_int_equal(a->reason, EP_REASON_REGISTERED);
	assert_int_equal(a->ctl_reason, EP_REASON_REGISTERED);
	assert_int_equal(a->last_ctl_contact, NOW + 5);
	assert_int_equal(a->last_register, NOW + 5);
	assert_int_equal(ep_registered(a), NOW);
	assert_int_equal(a->status_since, NOW + 5);
	assert_int_equal(ONLINE(&reg), 1);
	assert_int_equal(OFFLINE(&reg), 1);
	check_counts(&reg);
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
		assert_int_equal(registry_add(&reg, guid, NOW, &ep), 0);
		assert_int_equal(ep->slot, i);
	}
	assert_int_equal(reg.count, n);
	assert_int_equal(OFFLINE(&reg), n);
	assert_true(slot_table_capacity(&tbl) >= n);
	for (uint32_t i = 0; i < n; i++)
		status_on_register(&reg, pol, registry_at(&reg, i), NOW);
	assert_int_equal(ONLINE(&reg), n);
	assert_int_equal(OFFLINE(&reg), 0);
	for (uint32_t i = 0; i < n; i += 7) {
		snprintf(guid, sizeof(guid), "host-%u", i);
		ep = registry_by_guid(&reg, guid);
		assert_non_null(ep);
		assert_int_equal(ep->slot, i);
		assert_ptr_equal(registry_by_id(&reg, ep->id), ep);
		assert_int_equal(slot_dir_entry(tbl.dir, i)->id, ep->id);
	}
	/* A slot in the second chunk takes heartbeats. */
	ep = registry_by_slot(&reg, n - 1);
	assert_int_equal(heartbeat(&tbl, ep, registry_key(&reg, ep), 1, NOW - 3, NOW), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&tbl, n - 1), NOW - 3);
	/* Distinct ids. */
	uint64_t *ids = malloc(n * sizeof(*ids));
	assert_non_null(ids);
	for (uint32_t i = 0; i < n; i++)
		ids[i] = (*registry_at(&reg, i)).id;
	for (uint32_t i = 0; i < n; i++)
		assert_ptr_equal(registry_by_id(&reg, ids[i]), registry_at(&reg, i));
	free(ids);
	check_counts(&reg);
}

static void test_registry_rekey(void **state)
{
	(void)state;
	struct endpoint *ep;
	assert_int_equal(registry_add(&reg, "rekeyed", NOW, &ep), 0);
	uint8_t old[HB_KEY_LEN];
	uint64_t id = ep->id;
	uint32_t slot = ep->slot;
	memcpy(old, registry_key(&reg, ep), sizeof(old));
	assert_int_equal(heartbeat(&tbl, ep, old, 0, NOW - 5, NOW), HB_ACCEPTED);
	registry_rekey(&reg, ep);
	assert_memory_not_equal(registry_key(&reg, ep), old, HB_KEY_LEN);
	assert_int_equal(ep->id, id);
	assert_int_equal(ep->slot, slot);
	const struct slot_entry *e = slot_dir_entry(tbl.dir, slot);
	assert_int_equal(e->id, id);
	assert_memory_equal(e->key, registry_key(&reg, ep), HB_KEY_LEN);
	assert_int_equal(heartbeat(&tbl, ep, old, 0, NOW, NOW), HB_BAD_MAC);
	assert_int_equal(heartbeat(&tbl, ep, registry_key(&reg, ep), 0, NOW - 1, NOW), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&tbl, slot), NOW - 1);
	/* Lookups unchanged. */
	assert_ptr_equal(registry_by_id(&reg, id), ep);
	assert_ptr_equal(registry_by_guid(&reg, "rekeyed"), ep);
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
		add_registered(&reg, pol, g, NOW);
	}
	assert_int_equal(ONLINE(&reg), 3);
	assert_int_equal(OFFLINE(&reg), 0);
	reg.feed = feed_new(64, NULL);
	assert_non_null(reg.feed);
	uint64_t seq = feed_next_seq(reg.feed);

	ep = registry_by_slot(&reg, 1);
	registry_set_state(&reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 100);
	assert_int_equal(ONLINE(&reg), 2);
	assert_int_equal(OFFLINE(&reg), 1);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_false(ep->up);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(ep->status_since, NOW + 100);
	assert_int_equal(feed_next_seq(reg.feed), ++seq);
	check_last_transition(reg.feed, ep, EP_ONLINE, EP_OFFLINE, EP_REASON_NO_CONTACT, NOW + 100);
	/* The same status again: no double count, status_since kept, no
	 * transition. */
	registry_set_state(&reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 200);
	assert_int_equal(ONLINE(&reg), 2);
	assert_int_equal(OFFLINE(&reg), 1);
	assert_int_equal(ep->status_since, NOW + 100);
	assert_int_equal(feed_next_seq(reg.feed), seq);
	registry_set_state(&reg, ep, false, true, EP_REASON_HEARTBEAT, NOW + 300);
	assert_int_equal(ONLINE(&reg), 3);
	assert_int_equal(OFFLINE(&reg), 0);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->status_since, NOW + 300);
	assert_int_equal(feed_next_seq(reg.feed), ++seq);
	check_last_transition(reg.feed, ep, EP_OFFLINE, EP_ONLINE, EP_REASON_HEARTBEAT, NOW + 300);
	/* Still online on newer contact: the reason follows, nothing else. */
	registry_set_state(&reg, ep, false, true, EP_REASON_POLL, NOW + 350);
	assert_int_equal(ep->reason, EP_REASON_POLL);
	assert_int_equal(ep->status_since, NOW + 300);
	assert_int_equal(feed_next_seq(reg.feed), seq);
	check_counts(&reg);

	/* The unreachable pair (R7): each its own count. */
	registry_set_state(&reg, ep, true, true, EP_REASON_RECLASSIFIED, NOW + 400);
	assert_int_equal(ep->status, EP_UNREACH_ONLINE);
	assert_true(ep->unreachable);
	assert_int_equal(reg.by_status[EP_UNREACH_ONLINE], 1);
	assert_int_equal(ONLINE(&reg), 2);
	assert_int_equal(feed_next_seq(reg.feed), ++seq);
	check_last_transition(reg.feed, ep, EP_ONLINE, EP_UNREACH_ONLINE, EP_REASON_RECLASSIFIED,
			      NOW + 400);
	ep = registry_by_slot(&reg, 2);
	registry_set_state(&reg, ep, true, false, EP_REASON_UNREACHABLE, NOW + 500);
	assert_int_equal(ep->status, EP_UNREACH_OFFLINE);
	assert_int_equal(reg.by_status[EP_UNREACH_OFFLINE], 1);
	assert_int_equal(reg.by_status[EP_UNREACH_ONLINE], 1);
	assert_int_equal(ONLINE(&reg), 1);
	assert_int_equal(OFFLINE(&reg), 0);
	assert_int_equal(feed_next_seq(reg.feed), ++seq);
	check_counts(&reg);
	feed_free(reg.feed);
	reg.feed = NULL;

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
	assert_int_equal(registry_reset_ranges(&reg, 3), 0);
	struct endpoint *a = add_registered(&reg, pol, "ra", NOW);
	struct endpoint *b = add_registered(&reg, pol, "rb", NOW);
	a = registry_by_guid(&reg, "ra");
	registry_set_range(&reg, a, 1);
	registry_set_state(&reg, a, true, true, EP_REASON_RECLASSIFIED, NOW);
	registry_set_range(&reg, b, 1);
	registry_set_state(&reg, b, true, false, EP_REASON_UNREACHABLE, NOW);
	assert_int_equal(reg.by_range[1][1], 1);
	assert_int_equal(reg.by_range[1][0], 1);
	assert_int_equal(reg.by_range[0][0] + reg.by_range[0][1], 0);
	registry_set_state(&reg, b, true, true, EP_REASON_POLL, NOW + 1);
	assert_int_equal(reg.by_range[1][1], 2);
	assert_int_equal(reg.by_range[1][0], 0);
	registry_set_range(&reg, b, 2);
	assert_int_equal(reg.by_range[1][1], 1);
	assert_int_equal(reg.by_range[2][1], 1);
	assert_int_equal(reg.by_status[EP_UNREACH_ONLINE], 2);
	/* Back to the regular network: out of every range count. */
	registry_set_range(&reg, b, -1);
	registry_set_state(&reg, b, false, true, EP_REASON_RECLASSIFIED, NOW + 2);
	assert_int_equal(reg.by_range[2][1], 0);
	assert_int_equal(reg.by_range[1][1], 1);
	assert_int_equal(ONLINE(&reg), 1);
	check_counts(&reg);
	/* New ranges: the per-range counts start over. */
	assert_int_equal(registry_reset_ranges(&reg, 2), 0);
	assert_int_equal(reg.nranges, 2);
	assert_int_equal(reg.by_range[1][1], 0);
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

/* ================= sweep ================= */

#define OFFLINE_AFTER 1800u

static void sweep(uint32_t now, struct sweep_result *res)
{
	sweep_run(&sw, &reg, pol, now, res);
	check_counts(&reg);
}

static void test_sweep_boundary(void **state)
{
	(void)state;
	struct sweep_result res;
	assert_int_equal(pol->offline_after, OFFLINE_AFTER);
	struct endpoint *ep = add_registered(&reg, pol, "swept", NOW);
	sweep(NOW, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	sweep(NOW + OFFLINE_AFTER - 1, &res);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ONLINE(&reg), 1);
	/* now - last == offline_after: offline (R6). */
	sweep(NOW + OFFLINE_AFTER, &res);
	assert_int_equal(res.went_offline, 1);
	assert_int_equal(res.went_online, 0);
	assert_int_equal(res.held_grace + res.held_guard, 0);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(ep->status_since, NOW + OFFLINE_AFTER);
	assert_int_equal(ONLINE(&reg), 0);
	assert_int_equal(OFFLINE(&reg), 1);
	/* Idempotent. */
	sweep(NOW + OFFLINE_AFTER + 10, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status_since, NOW + OFFLINE_AFTER);
	/* The boundary follows the policy, not a constant. */
	pol->offline_after = 100;
	struct endpoint *q = add_registered(&reg, pol, "quick", NOW + 5000);
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
	assert_int_equal(registry_add(&reg, "silent", NOW, &ep), 0);
	sweep(NOW, &res);
	sweep(NOW + 10 * OFFLINE_AFTER, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->status_since, NOW);
	/* Its first heartbeat does. */
	assert_int_equal(heartbeat(&tbl, ep, registry_key(&reg, ep), 0, NOW + 20000, NOW + 20000), HB_ACCEPTED);
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
	add_registered(&reg, pol, "a", NOW);
	add_registered(&reg, pol, "b", NOW);
	uint32_t t1 = NOW + OFFLINE_AFTER;
	sweep(t1, &res);
	assert_int_equal(res.went_offline, 2);
	assert_int_equal(OFFLINE(&reg), 2);

	/* Worker 1 records a heartbeat of "b". */
	ep = registry_by_guid(&reg, "b");
	assert_int_equal(heartbeat(&tbl, ep, registry_key(&reg, ep), 1, t1 + 50, t1 + 60), HB_ACCEPTED);
	assert_int_equal(ep->status, EP_OFFLINE);      /* the sweep decides, not the worker */
	sweep(t1 + 60, &res);
	assert_int_equal(res.went_online, 1);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->last_heartbeat, t1 + 50);
	assert_int_equal(ep->status_since, t1 + 60);
	assert_int_equal(registry_by_guid(&reg, "a")->status, EP_OFFLINE);
	assert_int_equal(ONLINE(&reg), 1);
	assert_int_equal(OFFLINE(&reg), 1);
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
	struct endpoint *ep = add_registered(&reg, pol, "direct", NOW);
	sweep(NOW + 5000, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	*slot_dir_seen(tbl.dir, ep->slot, 0) = NOW + 4000;
	*slot_dir_seen(tbl.dir, ep->slot, 1) = NOW + 4500;
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
	struct endpoint *ep = add_registered(&reg, pol, "r", NOW);
	assert_int_equal(heartbeat(&tbl, ep, registry_key(&reg, ep), 0, NOW + 10, NOW + 10), HB_ACCEPTED);
	sweep(NOW + 20, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->status_since, NOW);
	sweep(NOW + 10 + OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	/* It registers again (what api_register does). */
	status_on_register(&reg, pol, ep, NOW + 3000);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_int_equal(ep->status_since, NOW + 3000);
	sweep(NOW + 3001, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	/* A heartbeat newer than the registration: reason heartbeat, same
	 * status, same status_since. */
	assert_int_equal(heartbeat(&tbl, ep, registry_key(&reg, ep), 1, NOW + 3100, NOW + 3100), HB_ACCEPTED);
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
	sw.started = start;
	struct endpoint *ep = add_registered(&reg, pol, "before-restart", NOW);
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
	pol->guard_threshold = 50;
	const uint32_t n = GUARD_MIN_AT_RISK + 2;
	for (uint32_t i = 0; i < n; i++) {
		char g[16];
		snprintf(g, sizeof(g), "fleet-%u", i);
		add_registered(&reg, pol, g, NOW);
	}
	reg.feed = feed_new(64, NULL);
	assert_non_null(reg.feed);
	sweep(NOW + OFFLINE_AFTER, &res);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(res.held_guard, n);
	assert_true(sw.guard.active);
	assert_int_equal(sw.guard.held, n);
	assert_int_equal(ONLINE(&reg), n);
	/* Held, not forgotten: the next sweep holds them again. */
	sweep(NOW + OFFLINE_AFTER + 60, &res);
	assert_int_equal(res.held_guard, n);
	assert_int_equal(ONLINE(&reg), n);
	assert_true(sweep_guard_release(&sw, &reg, NOW + OFFLINE_AFTER + 61));
	assert_false(sw.guard.active);
	assert_false(sweep_guard_release(&sw, &reg, NOW + OFFLINE_AFTER + 62));
	sweep(NOW + OFFLINE_AFTER + 120, &res);
	assert_int_equal(res.went_offline, n);
	assert_int_equal(res.held_guard, 0);
	assert_int_equal(OFFLINE(&reg), n);
	/* Both guard events are in the feed. */
	bool raised = false, released = false;
	for (uint64_t s = feed_oldest_seq(reg.feed); s < feed_next_seq(reg.feed); s++) {
		const struct transition *t = feed_get(reg.feed, s);
		raised |= t->kind == TK_GUARD_RAISED;
		released |= t->kind == TK_GUARD_RELEASED;
	}
	assert_true(raised && released);
	feed_free(reg.feed);
	reg.feed = NULL;
}

/* Fewer than GUARD_MIN_AT_RISK at risk: a small fleet going offline
 * together is not a collector failure, even at 100%. */
static void test_sweep_guard_minimum(void **state)
{
	(void)state;
	struct sweep_result res;
	pol->guard_threshold = 50;
	for (uint32_t i = 0; i < GUARD_MIN_AT_RISK - 1; i++) {
		char g[16];
		snprintf(g, sizeof(g), "small-%u", i);
		add_registered(&reg, pol, g, NOW);
	}
	sweep(NOW + OFFLINE_AFTER, &res);
	assert_int_equal(res.went_offline, GUARD_MIN_AT_RISK - 1);
	assert_int_equal(res.held_guard, 0);
	assert_false(sw.guard.active);
}

/* ================= api_register ================= */

#define TOKEN "enroll-7f3a9c"
static char token[] = TOKEN;
static struct gn_options opt;
static struct http_counters ctr;
static uint64_t want_ctr[HTTP_COUNTER_COUNT];
static struct api_ctx ctx;

static int api_setup(void **state)
{
	if (reg_setup(state) < 0)
		return -1;
	memset(&opt, 0, sizeof(opt));
	opt.token = token;
	opt.window = 300;
	opt.skew = 30;
	opt.udp_port = 7100;
	opt.hb_addrs[0] = "10.0.0.1";
	opt.hb_addrs[1] = "2001:db8::1";
	opt.n_hb_addrs = 2;
	/* Not the defaults, so an answer that takes them from anywhere but
	 * the policy in force shows. */
	pol->hb_interval = 900;
	pol->poll_interval = 2700;
	pol->rev = 7;
	memset(&ctr, 0, sizeof(ctr));
	memset(want_ctr, 0, sizeof(want_ctr));
	ctx = (struct api_ctx){ .reg = &reg, .opt = &opt, .counters = &ctr, .policy = &pol,
				.now = NOW };
	return 0;
}

/* The unreachable ranges of the policy in force (as a range change does:
 * the per-range counts restart). */
static void use_ranges(const char *const *specs, size_t n)
{
	struct range_entry e[8];
	char err[256];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		if (range_parse(specs[i], &e[i], err, sizeof(err)) < 0)
			fail_msg("range '%s': %s", specs[i], err);
	struct range_set *rs = range_set_build(e, n);
	assert_non_null(rs);
	range_set_free(pol->ranges);
	pol->ranges = rs;
	assert_int_equal(registry_reset_ranges(&reg, (uint32_t)n), 0);
}

/* Every counter is what the test expects (want_ctr). */
static void check_counters(const char *what)
{
	for (int i = 0; i < HTTP_COUNTER_COUNT; i++)
		if (ctr.by_result[i] != want_ctr[i])
			fail_msg("%s: counter %s is %llu, want %llu", what, http_counter_name(i),
				 (unsigned long long)ctr.by_result[i],
				 (unsigned long long)want_ctr[i]);
}

struct proof {
	char id[17], time[24], mac[17];
};

/* The three X-Glournet-* headers for `ep`, MAC over `context` under `key`. */
static void make_proof(struct proof *p, const char *context, uint64_t id, uint32_t time,
		       const uint8_t key[HB_KEY_LEN])
{
	uint8_t msg[HB_AUTH_MSG_LEN], mac[HB_MAC_LEN];
	hb_auth_message(msg, context, id, time);
	hb_mac_compute(key, msg, sizeof(msg), mac);
	snprintf(p->id, sizeof(p->id), "%016llx", (unsigned long long)id);
	snprintf(p->time, sizeof(p->time), "%u", time);
	sodium_bin2hex(p->mac, sizeof(p->mac), mac, sizeof(mac));
}

/* One request; asserts that exactly counter `c` went up by one. */
static json_t *call(const char *body, const char *auth, const struct proof *pf,
		    unsigned want_status, enum http_counter c)
{
	struct api_request req = {
		.body = body, .body_len = strlen(body), .authorization = auth,
		.hdr_id = pf ? pf->id : NULL, .hdr_time = pf ? pf->time : NULL,
		.hdr_mac = pf ? pf->mac : NULL,
	};
	struct api_response resp = {0};
	api_register(&ctx, &req, &resp);
	want_ctr[c]++;
	check_counters(body);
	if (resp.status != want_status)
		fail_msg("body %s: status %u, want %u (%s)", body, resp.status, want_status,
			 resp.body ? resp.body : "no body");
	assert_non_null(resp.body);
	json_error_t err;
	json_t *j = json_loads(resp.body, 0, &err);
	if (!json_is_object(j))
		fail_msg("response is not a JSON object: %s", resp.body);
	free(resp.body);
	if (want_status >= 400) {
		const char *msg = json_string_value(json_object_get(j, "error"));
		if (!msg || !*msg)
			fail_msg("error answer without an error message");
	}
	return j;
}

#define AUTH "Bearer " TOKEN

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	if (!s)
		fail_msg("no string '%s' in the answer", k);
	return s;
}

static json_int_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		fail_msg("no integer '%s' in the answer", k);
	return json_integer_value(v);
}

static void key_of(json_t *o, uint8_t key[HB_KEY_LEN])
{
	const char *hex = jstr(o, "key");
	size_t n;
	assert_int_equal(strlen(hex), 32);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 32);
	assert_int_equal(sodium_hex2bin(key, HB_KEY_LEN, hex, 32, NULL, &n, NULL), 0);
	assert_int_equal(n, HB_KEY_LEN);
}

static uint64_t id_of(json_t *o)
{
	const char *hex = jstr(o, "id");
	assert_int_equal(strlen(hex), 16);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 16);
	return strtoull(hex, NULL, 16);
}

static const char body_a[] =
	"{\"guid\": \"3f2b-agent-A\", \"hostname\": \"pc-a\", "
	"\"ips\": [\"10.1.2.3\", \"2001:db8::5\"], \"reason\": \"install\", \"notify_port\": 21112}";

static void test_api_unauthorized(void **state)
{
	(void)state;
	static const char *const bad[] = {
		NULL, "", "Bearer", "Bearer ", "Bearer enroll-7f3a9", "Bearer enroll-7f3a9cX",
		"Bearer enroll-7f3a9C", "Basic " TOKEN, TOKEN, "Bearer  " TOKEN, "Bearer " TOKEN " ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_decref(call(body_a, bad[i], NULL, 401, HTTP_UNAUTHORIZED));
	/* Authentication comes before parsing: garbage with a bad token is a 401. */
	json_decref(call("not json", "Bearer nope", NULL, 401, HTTP_UNAUTHORIZED));
	assert_int_equal(reg.count, 0);
	json_decref(call(body_a, AUTH, NULL, 201, HTTP_REGISTER_NEW));
}

static void test_api_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "not json", "{", "[]", "[{\"guid\": \"x\"}]", "\"guid\"", "42", "null",
		"{\"guid\": \"x\", \"guid\": \"y\"}",        /* duplicate key */
		"{\"guid\": \"x\"} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_decref(call(bad[i], AUTH, NULL, 400, HTTP_MALFORMED));
	assert_int_equal(reg.count, 0);
}

static void test_api_bad_fields(void **state)
{
	(void)state;
	char g65[80], h256[300], body[512];
	memset(g65, 'g', 65);
	g65[65] = '\0';
	memset(h256, 'h', 256);
	h256[256] = '\0';
	static const char *const bad[] = {
		"{}",
		"{\"hostname\": \"x\"}",
		"{\"guid\": 5}",
		"{\"guid\": null}",
		"{\"guid\": [\"a\"]}",
		"{\"guid\": \"\"}",
		"{\"guid\": \"has space\"}",
		"{\"guid\": \"tab\\there\"}",
		"{\"guid\": \"nl\\n\"}",
		"{\"guid\": \"del\\u007f\"}",
		"{\"guid\": \"g\", \"hostname\": 5}",
		"{\"guid\": \"g\", \"hostname\": \"a\\u0001b\"}",
		"{\"guid\": \"g\", \"ips\": \"10.0.0.1\"}",
		"{\"guid\": \"g\", \"ips\": [5]}",
		"{\"guid\": \"g\", \"ips\": [null]}",
		"{\"guid\": \"g\", \"ips\": [\"10.0.0.256\"]}",
		"{\"guid\": \"g\", \"ips\": [\"1.2.3\"]}",
		"{\"guid\": \"g\", \"ips\": [\"10.0.0.1\", \"2001:db8:::1\"]}",
		"{\"guid\": \"g\", \"ips\": [\"\"]}",
		"{\"guid\": \"g\", \"ips\": [\"10.0.0.1/24\"]}",
		"{\"guid\": \"g\", \"ips\": [\"example.com\"]}",
		"{\"guid\": \"g\", \"reason\": \"upgrade\"}",
		"{\"guid\": \"g\", \"reason\": \"Install\"}",
		"{\"guid\": \"g\", \"reason\": \"\"}",
		"{\"guid\": \"g\", \"reason\": 1}",
		"{\"guid\": \"g\", \"reason\": null}",
		"{\"guid\": \"g\", \"notify_port\": 70000}",
		"{\"guid\": \"g\", \"notify_port\": 65536}",
		"{\"guid\": \"g\", \"notify_port\": -1}",
		"{\"guid\": \"g\", \"notify_port\": \"21112\"}",
		"{\"guid\": \"g\", \"notify_port\": 21112.0}",
		"{\"guid\": \"g\", \"notify_port\": true}",
		"{\"guid\": \"g\", \"notify_port\": null}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_decref(call(bad[i], AUTH, NULL, 400, HTTP_BAD_FIELD));
	snprintf(body, sizeof(body), "{\"guid\": \"%s\"}", g65);
	json_decref(call(body, AUTH, NULL, 400, HTTP_BAD_FIELD));
	snprintf(body, sizeof(body), "{\"guid\": \"g\", \"hostname\": \"%s\"}", h256);
	json_decref(call(body, AUTH, NULL, 400, HTTP_BAD_FIELD));
	/* 17 addresses: one too many. */
	strcpy(body, "{\"guid\": \"g\", \"ips\": [");
	for (int i = 0; i < 17; i++)
		sprintf(body + strlen(body), "%s\"10.0.0.%d\"", i ? ", " : "", i + 1);
	strcat(body, "]}");
	json_decref(call(body, AUTH, NULL, 400, HTTP_BAD_FIELD));
	assert_int_equal(reg.count, 0);
}

/* The limits themselves are fine. */
static void test_api_field_limits_ok(void **state)
{
	(void)state;
	char g64[80], h255[300], body[1024];
	memset(g64, 'g', 64);
	g64[64] = '\0';
	memset(h255, 'h', 255);
	h255[255] = '\0';
	snprintf(body, sizeof(body),
		 "{\"guid\": \"%s\", \"hostname\": \"%s\", \"notify_port\": 65535, \"reason\": \"reload\"}",
		 g64, h255);
	json_t *j = call(body, AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t id = id_of(j);
	json_decref(j);
	struct endpoint *ep = registry_by_guid(&reg, g64);
	assert_non_null(ep);
	assert_int_equal(ep->id, id);
	assert_string_equal(ep_guid(ep), g64);
	assert_string_equal(ep_hostname(ep), h255);
	assert_int_equal(ep_notify_port(ep), 65535);
	/* A 64-character guid is found again. */
	j = call(body, AUTH, NULL, 200, HTTP_REGISTER_REKEY);
	assert_int_equal(id_of(j), id);
	json_decref(j);

	strcpy(body, "{\"guid\": \"sixteen\", \"notify_port\": 0, \"reason\": \"restart\", \"ips\": [");
	for (int i = 0; i < 16; i++)
		sprintf(body + strlen(body), "%s\"10.0.0.%d\"", i ? ", " : "", i + 1);
	strcat(body, "]}");
	json_decref(call(body, AUTH, NULL, 201, HTTP_REGISTER_NEW));
	ep = registry_by_guid(&reg, "sixteen");
	assert_int_equal(nips_of(ep), 16);
	assert_int_equal(ip_at(ep, 15).bytes[3], 16);
	assert_int_equal(ep_notify_port(ep), 0);
	/* Only guid is required. */
	json_decref(call("{\"guid\": \"minimal\"}", AUTH, NULL, 201, HTTP_REGISTER_NEW));
	ep = registry_by_guid(&reg, "minimal");
	assert_non_null(ep);
	assert_int_equal(nips_of(ep), 0);
	assert_string_equal(ep_hostname(ep), "");
}

static void test_api_new(void **state)
{
	(void)state;
	json_t *j = call(body_a, AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t id = id_of(j);
	uint8_t key[HB_KEY_LEN];
	key_of(j, key);
	assert_int_equal(jint(j, "slot"), 0);
	assert_int_equal(jint(j, "server_time"), NOW);
	assert_true(json_is_false(json_object_get(j, "unreachable")));
	assert_int_equal(jint(j, "settings_rev"), 7);
	json_t *hb = json_object_get(j, "heartbeat");
	assert_true(json_is_object(hb));
	assert_true(json_is_true(json_object_get(hb, "enabled")));
	assert_int_equal(jint(hb, "interval"), 900);
	assert_int_equal(jint(hb, "port"), 7100);
	json_t *addrs = json_object_get(hb, "addrs");
	assert_int_equal(json_array_size(addrs), 2);
	assert_string_equal(json_string_value(json_array_get(addrs, 0)), "10.0.0.1");
	assert_string_equal(json_string_value(json_array_get(addrs, 1)), "2001:db8::1");
	json_t *poll = json_object_get(j, "poll");
	assert_true(json_is_object(poll));
	assert_true(json_is_false(json_object_get(poll, "enabled")));   /* regular (R2) */
	assert_int_equal(jint(poll, "interval"), 2700);
	json_decref(j);

	struct endpoint *ep = registry_by_guid(&reg, "3f2b-agent-A");
	assert_non_null(ep);
	assert_int_equal(ep->id, id);
	assert_memory_equal(registry_key(&reg, ep), key, HB_KEY_LEN);
	assert_string_equal(ep_hostname(ep), "pc-a");
	assert_int_equal(ep_notify_port(ep), 21112);
	assert_int_equal(nips_of(ep), 2);
	assert_int_equal(ip_at(ep, 0).family, AF_INET);
	static const uint8_t v4[4] = {10, 1, 2, 3};
	assert_memory_equal(ip_at(ep, 0).bytes, v4, 4);
	assert_int_equal(ip_at(ep, 1).family, AF_INET6);
	uint8_t v6[16];
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", v6), 1);
	assert_memory_equal(ip_at(ep, 1).bytes, v6, 16);
	/* Registration is contact (R4). */
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_false(ep->unreachable);
	assert_int_equal(ep->range, -1);
	assert_int_equal(ep->last_register, NOW);
	assert_int_equal(ep->last_ctl_contact, NOW);
	assert_int_equal(ONLINE(&reg), 1);
	assert_int_equal(OFFLINE(&reg), 0);
	/* The key handed out is the one the workers check. */
	assert_int_equal(heartbeat(&tbl, ep, key, 0, NOW, NOW), HB_ACCEPTED);
}

static void test_api_known_without_proof(void **state)
{
	(void)state;
	json_t *j = call(body_a, AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t id = id_of(j);
	json_int_t slot = jint(j, "slot");
	uint8_t key1[HB_KEY_LEN], key2[HB_KEY_LEN];
	key_of(j, key1);
	json_decref(j);
	/* Another endpoint in between, so slot 0 vs 1 is telling. */
	json_decref(call("{\"guid\": \"other\"}", AUTH, NULL, 201, HTTP_REGISTER_NEW));

	ctx.now = NOW + 100;
	j = call("{\"guid\": \"3f2b-agent-A\", \"hostname\": \"pc-a2\", \"ips\": [\"10.9.9.9\"], "
		 "\"reason\": \"restart\", \"notify_port\": 4000}", AUTH, NULL, 200, HTTP_REGISTER_REKEY);
	assert_int_equal(id_of(j), id);
	assert_int_equal(jint(j, "slot"), slot);
	assert_int_equal(jint(j, "server_time"), NOW + 100);
	key_of(j, key2);
	json_decref(j);
	assert_memory_not_equal(key1, key2, HB_KEY_LEN);
	assert_int_equal(reg.count, 2);
	struct endpoint *ep = registry_by_guid(&reg, "3f2b-agent-A");
	assert_memory_equal(registry_key(&reg, ep), key2, HB_KEY_LEN);
	assert_string_equal(ep_hostname(ep), "pc-a2");
	assert_int_equal(nips_of(ep), 1);
	assert_int_equal(ep_notify_port(ep), 4000);
	assert_int_equal(ep->last_register, NOW + 100);
	assert_int_equal(ep_registered(ep), NOW);
	/* The old key stopped working. */
	assert_int_equal(heartbeat(&tbl, ep, key1, 0, NOW + 100, NOW + 100), HB_BAD_MAC);
	assert_int_equal(heartbeat(&tbl, ep, key2, 0, NOW + 100, NOW + 100), HB_ACCEPTED);
}

/* Re-registering to get the key back; every near-miss of the proof. */
static void test_api_proof(void **state)
{
	(void)state;
	json_t *j = call(body_a, AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t id = id_of(j);
	uint8_t key[HB_KEY_LEN], got[HB_KEY_LEN];
	key_of(j, key);
	json_decref(j);
	json_t *jo = call("{\"guid\": \"other\"}", AUTH, NULL, 201, HTTP_REGISTER_NEW);
	uint64_t other_id = id_of(jo);
	uint8_t other_key[HB_KEY_LEN];
	key_of(jo, other_key);
	json_decref(jo);

	struct proof pf;
	const uint32_t times_ok[] = { NOW, NOW - 300, NOW + 30, NOW - 1 };
	for (size_t i = 0; i < sizeof(times_ok) / sizeof(times_ok[0]); i++) {
		make_proof(&pf, HB_AUTH_REGISTER, id, times_ok[i], key);
		j = call(body_a, AUTH, &pf, 200, HTTP_REGISTER_KNOWN);
		assert_int_equal(id_of(j), id);
		key_of(j, got);
		json_decref(j);
		if (memcmp(got, key, HB_KEY_LEN) != 0)
			fail_msg("a valid proof at time now%+lld lost the key",
				 (long long)times_ok[i] - NOW);
	}

	/* Each of these must cost the key: the answer carries a new one,
	 * and the next attempt has to prove that one. */
	struct { const char *what; int kind; } misses[] = {
		{"MAC one bit off", 0}, {"GLPOLL context", 1}, {"GLEVNT context", 2},
		{"time now-301", 3}, {"time now+31", 4}, {"other endpoint's id", 5},
		{"time not a number", 6}, {"time empty", 7}, {"time with junk", 8},
		{"MAC too short", 9}, {"MAC not hex", 10}, {"id too short", 11},
		{"no MAC header", 12}, {"no time header", 13}, {"no id header", 14},
		{"old key", 15}, {"time over 32 bits", 16},
		{"id header of another endpoint, MAC over its own", 17},
		{"another endpoint's valid proof", 18},
	};
	uint8_t prev[HB_KEY_LEN];
	memcpy(prev, key, sizeof(prev));
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		struct endpoint *ep = registry_by_id(&reg, id);
		const uint8_t *k = registry_key(&reg, ep);
		struct proof p2;
		switch (misses[i].kind) {
		case 0: make_proof(&pf, HB_AUTH_REGISTER, id, NOW, k);
			pf.mac[15] = pf.mac[15] == '0' ? '1' : '0'; break;
		case 1: make_proof(&pf, HB_AUTH_POLL, id, NOW, k); break;
		case 2: make_proof(&pf, HB_AUTH_EVENT, id, NOW, k); break;
		case 3: make_proof(&pf, HB_AUTH_REGISTER, id, NOW - 301, k); break;
		case 4: make_proof(&pf, HB_AUTH_REGISTER, id, NOW + 31, k); break;
		case 5: /* MAC'd correctly with this key, but naming the other endpoint */
			make_proof(&pf, HB_AUTH_REGISTER, other_id, NOW, k); break;
		case 6: make_proof(&pf, HB_AUTH_REGISTER, id, NOW, k); strcpy(pf.time, "now"); break;
		case 7: make_proof(&pf, HB_AUTH_REGISTER, id, NOW, k); pf.time[0] = '\0'; break;
		case 8: make_proof(&pf, HB_AUTH_REGISTER, id, NOW, k); strcat(pf.time, "s"); break;
		case 9: make_proof(&pf, HB_AUTH_REGISTER, id, NOW, k); pf.mac[14] = '\0'; break;
		case 10: make_proof(&pf, HB_AUTH_REGISTER, id, NOW, k); pf.mac[0] = 'z'; break;
		case 11: make_proof(&pf, HB_AUTH_REGISTER, id, NOW, k); memmove(pf.id, pf.id + 1, 16); break;
		case 17: make_proof(&pf, HB_AUTH_REGISTER, id, NOW, k);
			snprintf(pf.id, sizeof(pf.id), "%016llx", (unsigned long long)other_id); break;
		case 18: /* a good proof, but of "other", not of the guid in the body */
			make_proof(&pf, HB_AUTH_REGISTER, other_id, NOW, other_key); break;
		case 12: case 13: case 14: case 15: case 16:
			make_proof(&pf, HB_AUTH_REGISTER, id, NOW, misses[i].kind == 15 ? key : k);
			if (misses[i].kind == 16)
				/* 2^32 + NOW: the low 32 bits are a valid, MAC'd time. */
				snprintf(pf.time, sizeof(pf.time), "%llu", (1ull << 32) + NOW);
			break;
		}
		p2 = pf;
		struct api_request r2 = {
			.body = body_a, .body_len = strlen(body_a), .authorization = AUTH,
			.hdr_id = misses[i].kind == 14 ? NULL : p2.id,
			.hdr_time = misses[i].kind == 13 ? NULL : p2.time,
			.hdr_mac = misses[i].kind == 12 ? NULL : p2.mac,
		};
		struct api_response resp = {0};
		uint8_t before[HB_KEY_LEN];
		memcpy(before, k, HB_KEY_LEN);
		api_register(&ctx, &r2, &resp);
		want_ctr[HTTP_REGISTER_REKEY]++;
		if (resp.status != 200)
			fail_msg("%s: status %u", misses[i].what, resp.status);
		if (ctr.by_result[HTTP_REGISTER_REKEY] != want_ctr[HTTP_REGISTER_REKEY] ||
		    ctr.by_result[HTTP_REGISTER_KNOWN] != want_ctr[HTTP_REGISTER_KNOWN])
			fail_msg("%s: counted as %s", misses[i].what,
				 ctr.by_result[HTTP_REGISTER_KNOWN] != want_ctr[HTTP_REGISTER_KNOWN]
					 ? "register_known" : "neither");
		j = json_loads(resp.body, 0, NULL);
		free(resp.body);
		assert_non_null(j);
		assert_int_equal(id_of(j), id);
		key_of(j, got);
		json_decref(j);
		ep = registry_by_id(&reg, id);
		if (memcmp(got, before, HB_KEY_LEN) == 0)
			fail_msg("%s: the key was kept", misses[i].what);
		assert_memory_equal(registry_key(&reg, ep), got, HB_KEY_LEN);
		assert_memory_equal(slot_dir_entry(tbl.dir, ep->slot)->key, got, HB_KEY_LEN);
	}
	/* The newest key proves itself again. */
	struct endpoint *ep = registry_by_id(&reg, id);
	memcpy(prev, registry_key(&reg, ep), sizeof(prev));
	make_proof(&pf, HB_AUTH_REGISTER, id, NOW, prev);
	j = call(body_a, AUTH, &pf, 200, HTTP_REGISTER_KNOWN);
	key_of(j, got);
	json_decref(j);
	assert_memory_equal(got, prev, HB_KEY_LEN);
	assert_int_equal(reg.count, 2);
	/* None of it touched the other endpoint's key. */
	assert_memory_equal(registry_key(&reg, registry_by_id(&reg, other_id)), other_key, HB_KEY_LEN);
}

/* A rejected request changes nothing, not even for a known guid. */
static void test_api_reject_changes_nothing(void **state)
{
	(void)state;
	json_t *j = call(body_a, AUTH, NULL, 201, HTTP_REGISTER_NEW);
	json_decref(j);
	struct endpoint *ep = registry_by_guid(&reg, "3f2b-agent-A");
	uint8_t key[HB_KEY_LEN];
	memcpy(key, registry_key(&reg, ep), sizeof(key));
	registry_set_state(&reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 1);
	ctx.now = NOW + 50;
	json_decref(call("{\"guid\": \"3f2b-agent-A\", \"notify_port\": 70000}", AUTH, NULL, 400,
			 HTTP_BAD_FIELD));
	json_decref(call("{\"guid\": \"3f2b-agent-A\"}", "Bearer wrong", NULL, 401,
			 HTTP_UNAUTHORIZED));
	ep = registry_by_guid(&reg, "3f2b-agent-A");
	assert_memory_equal(registry_key(&reg, ep), key, HB_KEY_LEN);
	assert_int_equal(ep_notify_port(ep), 21112);
	assert_string_equal(ep_hostname(ep), "pc-a");
	assert_int_equal(ep->last_register, NOW);
	assert_int_equal(ep->last_ctl_contact, NOW);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(OFFLINE(&reg), 1);
	/* A good one brings it back online (registration is contact, R4). */
	json_decref(call("{\"guid\": \"3f2b-agent-A\"}", AUTH, NULL, 200, HTTP_REGISTER_REKEY));
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_int_equal(ep->last_register, NOW + 50);
	assert_int_equal(ep->last_ctl_contact, NOW + 50);
	assert_int_equal(ep->status_since, NOW + 50);
	assert_int_equal(ONLINE(&reg), 1);
	assert_int_equal(OFFLINE(&reg), 0);
}

static void test_api_full(void **state)
{
	(void)state;
	struct slot_table small;
	struct registry r;
	assert_int_equal(slot_table_init(&small, 1, 1), 0);
	assert_int_equal(registry_init(&r, &small), 0);
	ctx.reg = &r;
	json_decref(call("{\"guid\": \"first\"}", AUTH, NULL, 201, HTTP_REGISTER_NEW));
	json_decref(call("{\"guid\": \"second\"}", AUTH, NULL, 503, HTTP_FULL));
	/* The known one still re-registers. */
	json_decref(call("{\"guid\": \"first\"}", AUTH, NULL, 200, HTTP_REGISTER_REKEY));
	assert_int_equal(r.count, 1);
	ctx.reg = &reg;
	registry_destroy(&r);
	slot_table_destroy(&small);
}

/*
 * Times are 32-bit unsigned Unix seconds (PROTOCOL.md); the answer's
 * server_time must be the server's clock after 2038 too.
 */
static void test_api_server_time_after_2038(void **state)
{
	(void)state;
	ctx.now = 3000000000u;
	json_t *j = call("{\"guid\": \"future\"}", AUTH, NULL, 201, HTTP_REGISTER_NEW);
	json_int_t st = jint(j, "server_time");
	json_decref(j);
	if (st != 3000000000ll)
		fail_msg("server_time is %lld, want 3000000000", (long long)st);
}

/*
 * The answer follows the policy in force (R2) and registration applies R1
 * and R4: a regular endpoint is online; an unreachable one is
 * unreachable/online when heartbeat applies to it, unreachable/offline
 * (reason unreachable) at once when it does not.
 */
static void test_api_register_policy(void **state)
{
	(void)state;
	static const char *const ranges[] = {"10.1.0.0/16"};
	static const char body_u[] = "{\"guid\": \"far\", \"ips\": [\"192.0.2.9\", \"10.1.200.1\"]}";
	static const char body_r[] = "{\"guid\": \"near\", \"ips\": [\"192.0.2.10\"]}";

	/* Scope unreachable: heartbeat does not apply to a regular endpoint,
	 * registration is contact all the same. */
	pol->hb_scope = HB_SCOPE_UNREACHABLE;
	pol->rev = 9;
	json_t *j = call(body_r, AUTH, NULL, 201, HTTP_REGISTER_NEW);
	assert_true(json_is_false(json_object_get(j, "unreachable")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "heartbeat"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "poll"), "enabled")));
	assert_int_equal(jint(j, "settings_rev"), 9);
	json_decref(j);
	struct endpoint *ep = registry_by_guid(&reg, "near");
	assert_int_equal(ep->status, EP_ONLINE);

	/* In a range, scope unreachable: heartbeat applies, polling too. */
	use_ranges(ranges, 1);
	j = call(body_u, AUTH, NULL, 201, HTTP_REGISTER_NEW);
	assert_true(json_is_true(json_object_get(j, "unreachable")));
	assert_true(json_is_true(json_object_get(json_object_get(j, "heartbeat"), "enabled")));
	assert_true(json_is_true(json_object_get(json_object_get(j, "poll"), "enabled")));
	json_decref(j);
	ep = registry_by_guid(&reg, "far");
	assert_true(ep->unreachable);
	assert_int_equal(ep->range, 0);
	assert_int_equal(ep->status, EP_UNREACH_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_int_equal(ep->last_ctl_contact, NOW);
	assert_int_equal(reg.by_range[0][1], 1);

	/* Heartbeat off: it cannot be reached and will not heartbeat (R4). */
	pol->hb_enabled = false;
	ctx.now = NOW + 10;
	j = call(body_u, AUTH, NULL, 200, HTTP_REGISTER_REKEY);
	assert_true(json_is_true(json_object_get(j, "unreachable")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "heartbeat"), "enabled")));
	assert_true(json_is_true(json_object_get(json_object_get(j, "poll"), "enabled")));
	json_decref(j);
	assert_int_equal(ep->status, EP_UNREACH_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_UNREACHABLE);
	assert_int_equal(ep->down_at, NOW + 10);
	assert_int_equal(ep->status_since, NOW + 10);
	assert_int_equal(ep->last_register, NOW + 10);
	assert_int_equal(reg.by_range[0][1], 0);
	assert_int_equal(reg.by_range[0][0], 1);
	check_counts(&reg);

	/* Registering with addresses outside every range: regular again. */
	ctx.now = NOW + 20;
	json_decref(call("{\"guid\": \"far\", \"ips\": [\"192.0.2.9\"]}", AUTH, NULL, 200,
			 HTTP_REGISTER_REKEY));
	assert_false(ep->unreachable);
	assert_int_equal(ep->range, -1);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_int_equal(reg.by_range[0][0] + reg.by_range[0][1], 0);
	check_counts(&reg);
}

/* ================= api_poll, api_event ================= */

struct answer {
	unsigned status;
	json_t *j;                 /* NULL for 304 */
	char etag[32];
};

/* One poll or event (fn) with headers `pf` (NULL: none); asserts the
 * status, that exactly counter `c` went up, and the answer's shape. */
static struct answer endpoint_call(void (*fn)(const struct api_ctx *, const struct api_request *,
					       struct api_response *),
				   const char *what, const struct proof *pf, const char *body,
				   const char *ips, const char *inm, unsigned want_status,
				   enum http_counter c)
{
	struct api_request req = {
		.body = body, .body_len = body ? strlen(body) : 0,
		.hdr_id = pf ? pf->id : NULL, .hdr_time = pf ? pf->time : NULL,
		.hdr_mac = pf ? pf->mac : NULL, .hdr_ips = ips, .if_none_match = inm,
	};
	struct api_response resp = {0};
	fn(&ctx, &req, &resp);
	want_ctr[c]++;
	check_counters(what);
	if (resp.status != want_status)
		fail_msg("%s: status %u, want %u (%s)", what, resp.status, want_status,
			 resp.body ? resp.body : "no body");
	struct answer a = { .status = resp.status };
	memcpy(a.etag, resp.etag, sizeof(a.etag));
	if (want_status == 304) {
		assert_null(resp.body);
		return a;
	}
	assert_non_null(resp.body);
	a.j = json_loads(resp.body, 0, NULL);
	if (!json_is_object(a.j))
		fail_msg("%s: not a JSON object: %s", what, resp.body);
	free(resp.body);
	if (want_status >= 400) {
		const char *msg = json_string_value(json_object_get(a.j, "error"));
		if (!msg || !*msg)
			fail_msg("%s: error answer without an error message", what);
	}
	return a;
}

static struct answer poll_call(const char *what, const struct proof *pf, const char *ips,
			       const char *inm, unsigned want_status, enum http_counter c)
{
	return endpoint_call(api_poll, what, pf, NULL, ips, inm, want_status, c);
}

static struct answer event_call(const char *what, const struct proof *pf, const char *body,
				unsigned want_status, enum http_counter c)
{
	return endpoint_call(api_event, what, pf, body, NULL, NULL, want_status, c);
}

/* Registers body `b`; returns the endpoint and its key. */
static struct endpoint *registered(const char *b, unsigned want, enum http_counter c,
				   uint8_t key[HB_KEY_LEN])
{
	json_t *j = call(b, AUTH, NULL, want, c);
	uint64_t id = id_of(j);
	key_of(j, key);
	json_decref(j);
	return registry_by_id(&reg, id);
}

static void test_api_poll(void **state)
{
	(void)state;
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep = registered(body_a, 201, HTTP_REGISTER_NEW, key);
	uint64_t id = ep->id;
	registry_set_state(&reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 1);

	/* A poll: 200 with an ETag, and contact (R3). */
	struct proof pf;
	ctx.now = NOW + 100;
	make_proof(&pf, HB_AUTH_POLL, id, NOW + 100, key);
	struct answer a = poll_call("poll", &pf, NULL, NULL, 200, HTTP_POLL);
	assert_true(a.etag[0] != '\0');
	char etag[32];
	strcpy(etag, a.etag);
	assert_int_equal(jint(a.j, "server_time"), NOW + 100);
	assert_int_equal(jint(a.j, "settings_rev"), 7);
	assert_true(json_is_false(json_object_get(a.j, "unreachable")));
	json_t *hb = json_object_get(a.j, "heartbeat");
	assert_true(json_is_true(json_object_get(hb, "enabled")));
	assert_int_equal(jint(hb, "interval"), 900);
	assert_int_equal(jint(hb, "port"), 7100);
	assert_int_equal(json_array_size(json_object_get(hb, "addrs")), 2);
	json_t *po = json_object_get(a.j, "poll");
	assert_true(json_is_false(json_object_get(po, "enabled")));
	assert_int_equal(jint(po, "interval"), 2700);
	json_decref(a.j);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_POLL);
	assert_int_equal(ep->status_since, NOW + 100);
	assert_int_equal(ep->last_poll, NOW + 100);
	assert_int_equal(ep->last_ctl_contact, NOW + 100);
	assert_int_equal(ep->ctl_reason, EP_REASON_POLL);
	check_counts(&reg);

	/* If-None-Match with that ETag: 304, and contact all the same. */
	registry_set_state(&reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 150);
	ctx.now = NOW + 200;
	make_proof(&pf, HB_AUTH_POLL, id, NOW + 200, key);
	a = poll_call("poll 304", &pf, NULL, etag, 304, HTTP_POLL_NOT_MODIFIED);
	assert_string_equal(a.etag, etag);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_POLL);
	assert_int_equal(ep->last_poll, NOW + 200);
	assert_int_equal(ep->last_ctl_contact, NOW + 200);

	/* Another ETag: the full answer. */
	a = poll_call("poll other etag", &pf, NULL, "\"r6-r\"", 200, HTTP_POLL);
	assert_string_equal(a.etag, etag);
	json_decref(a.j);
	/* New settings: the old ETag no longer matches. */
	pol->rev = 8;
	a = poll_call("poll new rev", &pf, NULL, etag, 200, HTTP_POLL);
	assert_string_not_equal(a.etag, etag);
	assert_int_equal(jint(a.j, "settings_rev"), 8);
	json_decref(a.j);
	strcpy(etag, a.etag);
	a = poll_call("poll new rev 304", &pf, NULL, etag, 304, HTTP_POLL_NOT_MODIFIED);

	/* Every failure answers its own status and counter, and is no contact. */
	ctx.now = NOW + 400;
	registry_set_state(&reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 300);
	struct proof bad;
	struct {
		const char *what;
		int kind;
		unsigned status;
		enum http_counter c;
	} fails[] = {
		{"MAC one digit off", 0, 401, HTTP_BAD_MAC},
		{"GLRGST context", 1, 401, HTTP_BAD_MAC},
		{"GLEVNT context", 2, 401, HTTP_BAD_MAC},
		{"unknown id", 3, 404, HTTP_UNKNOWN_ID},
		{"time now-301", 4, 401, HTTP_STALE},
		{"time now+31", 5, 401, HTTP_STALE},
		{"no id header", 6, 400, HTTP_MALFORMED},
		{"no time header", 7, 400, HTTP_MALFORMED},
		{"no MAC header", 8, 400, HTTP_MALFORMED},
		{"no headers", 9, 400, HTTP_MALFORMED},
		{"time not a number", 10, 400, HTTP_MALFORMED},
		{"id too short", 11, 400, HTTP_MALFORMED},
		{"MAC not hex", 12, 400, HTTP_MALFORMED},
		{"old time in a valid MAC, new time in the header", 13, 401, HTTP_BAD_MAC},
	};
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		const uint32_t t = NOW + 400;
		make_proof(&bad, HB_AUTH_POLL, id, t, key);
		switch (fails[i].kind) {
		case 0: bad.mac[3] = bad.mac[3] == 'a' ? 'b' : 'a'; break;
		case 1: make_proof(&bad, HB_AUTH_REGISTER, id, t, key); break;
		case 2: make_proof(&bad, HB_AUTH_EVENT, id, t, key); break;
		case 3: make_proof(&bad, HB_AUTH_POLL, id ^ 1, t, key); break;
		case 4: make_proof(&bad, HB_AUTH_POLL, id, t - 301, key); break;
		case 5: make_proof(&bad, HB_AUTH_POLL, id, t + 31, key); break;
		case 10: strcpy(bad.time, "soon"); break;
		case 11: bad.id[15] = '\0'; break;
		case 12: bad.mac[0] = 'g'; break;
		case 13: make_proof(&bad, HB_AUTH_POLL, id, NOW + 200, key);
			snprintf(bad.time, sizeof(bad.time), "%u", t); break;
		default: break;
		}
		struct api_request req = {
			.hdr_id = fails[i].kind == 6 || fails[i].kind == 9 ? NULL : bad.id,
			.hdr_time = fails[i].kind == 7 || fails[i].kind == 9 ? NULL : bad.time,
			.hdr_mac = fails[i].kind == 8 || fails[i].kind == 9 ? NULL : bad.mac,
		};
		struct api_response resp = {0};
		api_poll(&ctx, &req, &resp);
		want_ctr[fails[i].c]++;
		check_counters(fails[i].what);
		if (resp.status != fails[i].status)
			fail_msg("%s: status %u, want %u", fails[i].what, resp.status, fails[i].status);
		json_t *j = json_loads(resp.body, 0, NULL);
		if (!json_string_value(json_object_get(j, "error")))
			fail_msg("%s: no error message", fails[i].what);
		json_decref(j);
		free(resp.body);
		if (ep->status != EP_OFFLINE || ep->last_poll != NOW + 200 ||
		    ep->last_ctl_contact != NOW + 200)
			fail_msg("%s counted as contact", fails[i].what);
	}
	/* The edges of the window are in it. */
	make_proof(&pf, HB_AUTH_POLL, id, NOW + 400 - 300, key);
	json_decref(poll_call("poll at now-300", &pf, NULL, NULL, 200, HTTP_POLL).j);
	make_proof(&pf, HB_AUTH_POLL, id, NOW + 400 + 30, key);
	json_decref(poll_call("poll at now+30", &pf, NULL, NULL, 200, HTTP_POLL).j);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->last_poll, NOW + 400);   /* the server's time, not the header's */
	/* A re-key (registration without proof) retires the old key here too. */
	uint8_t key2[HB_KEY_LEN];
	registered(body_a, 200, HTTP_REGISTER_REKEY, key2);
	make_proof(&pf, HB_AUTH_POLL, id, NOW + 400, key);
	json_decref(poll_call("poll with the old key", &pf, NULL, NULL, 401, HTTP_BAD_MAC).j);
	make_proof(&pf, HB_AUTH_POLL, id, NOW + 400, key2);
	json_decref(poll_call("poll with the new key", &pf, NULL, NULL, 200, HTTP_POLL).j);
	check_counts(&reg);
}

/* X-Glournet-Ips reclassifies (R1) before the poll counts as contact. */
static void test_api_poll_ips(void **state)
{
	(void)state;
	static const char *const ranges[] = {"10.200.0.0-10.200.255.255", "2001:db8:bad::/48"};
	use_ranges(ranges, 2);
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep = registered(body_a, 201, HTTP_REGISTER_NEW, key);
	uint64_t id = ep->id;
	assert_false(ep->unreachable);
	struct proof pf;
	ctx.now = NOW + 10;
	make_proof(&pf, HB_AUTH_POLL, id, NOW + 10, key);
	struct answer a = poll_call("regular poll", &pf, NULL, NULL, 200, HTTP_POLL);
	char regular_etag[32];
	strcpy(regular_etag, a.etag);
	json_decref(a.j);

	/* Into the first range; the ETag of a regular endpoint no longer fits. */
	a = poll_call("poll into range 0", &pf, "10.200.0.5", regular_etag, 200, HTTP_POLL);
	assert_string_not_equal(a.etag, regular_etag);
	assert_true(json_is_true(json_object_get(a.j, "unreachable")));
	assert_true(json_is_true(json_object_get(json_object_get(a.j, "poll"), "enabled")));
	assert_true(json_is_true(json_object_get(json_object_get(a.j, "heartbeat"), "enabled")));
	json_decref(a.j);
	assert_true(ep->unreachable);
	assert_int_equal(nips_of(ep), 1);
	assert_int_equal(ep->range, 0);
	assert_int_equal(ep->status, EP_UNREACH_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_POLL);
	assert_int_equal(reg.by_range[0][1], 1);
	check_counts(&reg);

	/* An IPv6 address in the second range (the IPv4 one is outside). */
	a = poll_call("poll into range 1", &pf, "10.1.2.3, 2001:db8:bad::1", NULL, 200, HTTP_POLL);
	json_decref(a.j);
	assert_int_equal(nips_of(ep), 2);
	assert_int_equal(ep->range, 1);
	assert_int_equal(reg.by_range[0][1], 0);
	assert_int_equal(reg.by_range[1][1], 1);

	/* Malformed addresses: 400, nothing changes, no contact. */
	ctx.now = NOW + 20;
	make_proof(&pf, HB_AUTH_POLL, id, NOW + 20, key);
	static const char *const bad_ips[] = {"10.1.2.300", "10.1.2.3,example.com", "10.0.0.0/8",
		"10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8,10.0.0.9,"
		"10.0.0.10,10.0.0.11,10.0.0.12,10.0.0.13,10.0.0.14,10.0.0.15,10.0.0.16,10.0.0.17"};
	for (size_t i = 0; i < sizeof(bad_ips) / sizeof(bad_ips[0]); i++) {
		json_decref(poll_call(bad_ips[i], &pf, bad_ips[i], NULL, 400, HTTP_BAD_FIELD).j);
		assert_int_equal(nips_of(ep), 2);
		assert_int_equal(ep->range, 1);
		assert_int_equal(ep->last_poll, NOW + 10);
	}

	/* Out of every range: regular again. */
	a = poll_call("poll out of range", &pf, "10.1.2.3,2001:db8::5", NULL, 200, HTTP_POLL);
	assert_string_equal(a.etag, regular_etag);
	assert_true(json_is_false(json_object_get(a.j, "unreachable")));
	json_decref(a.j);
	assert_false(ep->unreachable);
	assert_int_equal(ep->range, -1);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(reg.by_range[1][1], 0);
	check_counts(&reg);

	/* R3: a poll marks an unreachable endpoint that heartbeat does not
	 * apply to (unreachable/offline since registering, R4) online at once. */
	pol->hb_enabled = false;
	struct endpoint *u = registered("{\"guid\": \"behind-nat\", \"ips\": [\"10.200.1.1\"]}", 201,
					HTTP_REGISTER_NEW, key);
	assert_int_equal(u->status, EP_UNREACH_OFFLINE);
	assert_int_equal(u->reason, EP_REASON_UNREACHABLE);
	make_proof(&pf, HB_AUTH_POLL, u->id, NOW + 20, key);
	a = poll_call("unreachable poll", &pf, NULL, NULL, 200, HTTP_POLL);
	assert_true(json_is_false(json_object_get(json_object_get(a.j, "heartbeat"), "enabled")));
	assert_true(json_is_true(json_object_get(json_object_get(a.j, "poll"), "enabled")));
	json_decref(a.j);
	assert_int_equal(u->status, EP_UNREACH_ONLINE);
	assert_int_equal(u->reason, EP_REASON_POLL);
	assert_int_equal(u->down_at, 0);
	assert_int_equal(reg.by_range[0][1], 1);
	assert_int_equal(reg.by_range[0][0], 0);
	check_counts(&reg);
}

/* R5: manual update and log upload are contact for regular endpoints only. */
static void test_api_event(void **state)
{
	(void)state;
	static const char *const ranges[] = {"10.200.0.0/16"};
	use_ranges(ranges, 1);
	uint8_t key[HB_KEY_LEN];
	struct endpoint *ep = registered(body_a, 201, HTTP_REGISTER_NEW, key);
	uint64_t id = ep->id;
	registry_set_state(&reg, ep, false, false, EP_REASON_NO_CONTACT, NOW + 1);
	struct proof pf;
	ctx.now = NOW + 100;
	make_proof(&pf, HB_AUTH_EVENT, id, NOW + 100, key);
	struct answer a = event_call("manual-update", &pf, "{\"type\": \"manual-update\"}", 200,
				     HTTP_EVENT);
	assert_true(json_is_true(json_object_get(a.j, "contact")));
	assert_string_equal(jstr(a.j, "status"), "online");
	json_decref(a.j);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_EVENT);
	assert_int_equal(ep->status_since, NOW + 100);
	assert_int_equal(ep->last_ctl_contact, NOW + 100);
	assert_int_equal(ep->ctl_reason, EP_REASON_EVENT);
	assert_int_equal(ep->last_poll, 0);          /* an event is not a poll */

	ctx.now = NOW + 200;
	make_proof(&pf, HB_AUTH_EVENT, id, NOW + 200, key);
	a = event_call("log-upload", &pf, "{\"type\": \"log-upload\"}", 200, HTTP_EVENT);
	assert_true(json_is_true(json_object_get(a.j, "contact")));
	json_decref(a.j);
	assert_int_equal(ep->last_ctl_contact, NOW + 200);

	/* Refused: no contact. */
	ctx.now = NOW + 300;
	make_proof(&pf, HB_AUTH_EVENT, id, NOW + 300, key);
	json_decref(event_call("type reboot", &pf, "{\"type\": \"reboot\"}", 400, HTTP_BAD_FIELD).j);
	json_decref(event_call("no type", &pf, "{}", 400, HTTP_BAD_FIELD).j);
	json_decref(event_call("type not a string", &pf, "{\"type\": 1}", 400, HTTP_BAD_FIELD).j);
	json_decref(event_call("not JSON", &pf, "manual-update", 400, HTTP_MALFORMED).j);
	json_decref(event_call("no headers", NULL, "{\"type\": \"log-upload\"}", 400,
			       HTTP_MALFORMED).j);
	struct proof wrong;
	make_proof(&wrong, HB_AUTH_POLL, id, NOW + 300, key);
	json_decref(event_call("GLPOLL context", &wrong, "{\"type\": \"log-upload\"}", 401,
			       HTTP_BAD_MAC).j);
	make_proof(&wrong, HB_AUTH_EVENT, id, NOW - 1, key);
	json_decref(event_call("stale", &wrong, "{\"type\": \"log-upload\"}", 401, HTTP_STALE).j);
	make_proof(&wrong, HB_AUTH_EVENT, id ^ 1, NOW + 300, key);
	json_decref(event_call("unknown id", &wrong, "{\"type\": \"log-upload\"}", 404,
			       HTTP_UNKNOWN_ID).j);
	assert_int_equal(ep->last_ctl_contact, NOW + 200);

	/* Unreachable endpoints: recorded, never a change of status. */
	struct endpoint *u = registered("{\"guid\": \"far\", \"ips\": [\"10.200.3.4\"]}", 201,
					HTTP_REGISTER_NEW, key);
	assert_int_equal(u->status, EP_UNREACH_ONLINE);
	registry_set_state(&reg, u, true, false, EP_REASON_NO_CONTACT, NOW + 301);
	make_proof(&pf, HB_AUTH_EVENT, u->id, NOW + 300, key);
	a = event_call("unreachable manual-update", &pf, "{\"type\": \"manual-update\"}", 200,
		       HTTP_EVENT);
	assert_true(json_is_false(json_object_get(a.j, "contact")));
	assert_string_equal(jstr(a.j, "status"), "unreachable/offline");
	json_decref(a.j);
	assert_int_equal(u->status, EP_UNREACH_OFFLINE);
	assert_int_equal(u->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(u->last_ctl_contact, NOW + 300);
	assert_int_equal(u->status_since, NOW + 301);
	check_counts(&reg);
}

/* ================= ctl_dispatch ================= */

static struct gn_daemon dmn;
static char state_dir[64];

static int ctl_setup(void **state)
{
	(void)state;
	memset(&dmn, 0, sizeof(dmn));
	if (slot_table_init(&dmn.table, 2, 1u << 20) < 0 ||
	    registry_init(&dmn.reg, &dmn.table) < 0 || registry_reset_ranges(&dmn.reg, 0) < 0)
		return -1;
	dmn.policy = policy_new_default();
	if (!dmn.policy)
		return -1;
	/* Not the defaults, so what show status reports is seen to come from
	 * the policy in force. */
	dmn.policy->offline_after = 2400;
	dmn.policy->rev = 5;
	/* Where set and range persist the policy. */
	strcpy(state_dir, "/tmp/gn-ctl-XXXXXX");
	if (!mkdtemp(state_dir))
		return -1;
	snprintf(dmn.policy_path, sizeof(dmn.policy_path), "%s/policy.json", state_dir);
	dmn.nworkers = 2;
	dmn.started = NOW - 1000;
	dmn.sweep.started = dmn.started;
	gn_coarse_set(NOW);
	return 0;
}

static int ctl_teardown(void **state)
{
	(void)state;
	/* By name, not dmn.policy_path: a failed test may have left that
	 * pointing elsewhere. */
	char path[128];
	snprintf(path, sizeof(path), "%s/policy.json", state_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/policy.json.tmp", state_dir);
	unlink(path);
	rmdir(state_dir);
	sweep_state_free(&dmn.sweep);
	policy_free(dmn.policy);
	registry_destroy(&dmn.reg);
	slot_table_destroy(&dmn.table);
	return 0;
}

/* A client that registered at `now` with one IPv4 address (NULL: none). */
static struct endpoint *ctl_client(const char *guid, const char *ip, uint32_t now)
{
	struct endpoint *ep;
	assert_int_equal(registry_add(&dmn.reg, guid, now, &ep), 0);
	if (ip) {
		struct ep_addr a = {.family = AF_INET};
		assert_int_equal(inet_pton(AF_INET, ip, a.bytes), 1);
		assert_int_equal(registry_set_ips(&dmn.reg, ep, &a, 1), 0);
	}
	status_on_register(&dmn.reg, dmn.policy, ep, now);
	return ep;
}

/* Sends one request line; returns the parsed reply, checked for shape. */
static json_t *ctl(const char *line, bool want_ok)
{
	char *out = ctl_dispatch(&dmn, line, strlen(line));
	assert_non_null(out);
	assert_null(strchr(out, '\n'));                  /* one line */
	json_t *j = json_loads(out, 0, NULL);
	if (!json_is_object(j))
		fail_msg("'%s' answered non-JSON: %s", line, out);
	json_t *ok = json_object_get(j, "ok");
	if (!json_is_boolean(ok) || json_is_true(ok) != want_ok)
		fail_msg("'%s' answered %s", line, out);
	if (want_ok)
		assert_non_null(json_object_get(j, "result"));
	else if (!json_string_value(json_object_get(j, "error")) ||
		 !*json_string_value(json_object_get(j, "error")))
		fail_msg("'%s': failure without an error message: %s", line, out);
	free(out);
	return j;
}

static void test_ctl_help(void **state)
{
	(void)state;
	json_t *j = ctl("{\"argv\": [\"help\"]}", true);
	json_t *cmds = json_object_get(json_object_get(j, "result"), "commands");
	assert_true(json_is_array(cmds));
	static const char *const want[] = {"help", "show status", "show client", "show stats",
		"show settings", "set", "range add", "range del", "range list", "guard release",
		"watch"};
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		bool found = false;
		size_t i;
		json_t *c;
		json_array_foreach(cmds, i, c) {
			const char *name = json_string_value(json_object_get(c, "name"));
			assert_non_null(name);
			const char *help = json_string_value(json_object_get(c, "help"));
			assert_true(help && *help);
			assert_true(json_is_string(json_object_get(c, "args")));
			if (strcmp(name, want[w]) == 0)
				found = true;
		}
		if (!found)
			fail_msg("help does not list '%s'", want[w]);
	}
	json_decref(j);
	/* help takes no arguments. */
	json_decref(ctl("{\"argv\": [\"help\", \"me\"]}", false));
}

static void test_ctl_show_status(void **state)
{
	(void)state;
	json_t *j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(jint(r, "clients"), 0);
	json_decref(j);
	for (int i = 0; i < 4; i++) {
		char g[8];
		snprintf(g, sizeof(g), "c%d", i);
		ctl_client(g, NULL, NOW);
	}
	/* One of each status. */
	registry_set_state(&dmn.reg, registry_by_guid(&dmn.reg, "c1"), false, false,
			   EP_REASON_NO_CONTACT, NOW);
	registry_set_state(&dmn.reg, registry_by_guid(&dmn.reg, "c2"), true, true,
			   EP_REASON_RECLASSIFIED, NOW);
	registry_set_state(&dmn.reg, registry_by_guid(&dmn.reg, "c3"), true, false,
			   EP_REASON_UNREACHABLE, NOW);
	ctl_client("c4", NULL, NOW);
	j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(jint(r, "clients"), 5);
	assert_int_equal(jint(r, "online"), 2);
	assert_int_equal(jint(r, "offline"), 1);
	assert_int_equal(jint(r, "unreachable_online"), 1);
	assert_int_equal(jint(r, "unreachable_offline"), 1);
	assert_int_equal(jint(r, "workers"), 2);
	assert_int_equal(jint(r, "offline_after"), 2400);
	assert_int_equal(jint(r, "settings_rev"), 5);
	assert_int_equal(jint(r, "now"), NOW);
	assert_int_equal(jint(r, "started"), NOW - 1000);
	/* R9: started 1000 s ago, offline_after 2400 s. */
	assert_true(json_is_true(json_object_get(r, "restart_grace")));
	json_t *g = json_object_get(r, "guard");
	assert_true(json_is_object(g));
	assert_true(json_is_false(json_object_get(g, "active")));
	assert_int_equal(jint(g, "held"), 0);
	assert_int_equal(jint(g, "since"), 0);
	assert_int_equal(jint(g, "threshold"), 50);
	assert_true(json_is_array(json_object_get(r, "by_range")));
	assert_int_equal(json_array_size(json_object_get(r, "by_range")), 0);
	json_decref(j);

	/* Past the grace; the guard raised (R10). */
	dmn.started = NOW - 2400;
	dmn.sweep.guard.active = true;
	dmn.sweep.guard.since = NOW - 30;
	dmn.sweep.guard.held = 7;
	dmn.sweep.guard.at_risk = 12;
	dmn.sweep.guard.online = 14;
	dmn.sweep.guard.raised = 1;
	dmn.policy->guard_threshold = 40;
	j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_true(json_is_false(json_object_get(r, "restart_grace")));
	g = json_object_get(r, "guard");
	assert_true(json_is_true(json_object_get(g, "active")));
	assert_int_equal(jint(g, "since"), NOW - 30);
	assert_int_equal(jint(g, "held"), 7);
	assert_int_equal(jint(g, "at_risk"), 12);
	assert_int_equal(jint(g, "online"), 14);
	assert_int_equal(jint(g, "raised"), 1);
	assert_int_equal(jint(g, "threshold"), 40);
	json_decref(j);
}

static void test_ctl_show_client(void **state)
{
	(void)state;
	struct endpoint *ep = ctl_client("client-guid-1", "192.0.2.7", NOW - 100);
	struct ep_addr a = {.family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, "192.0.2.7", a.bytes), 1);
	assert_int_equal(registry_set_details(&dmn.reg, ep, "pc-1", &a, 1, 21112), 0);
	assert_int_equal(heartbeat(&dmn.table, ep, registry_key(&dmn.reg, ep), 1, NOW - 20, NOW), HB_ACCEPTED);
	char id[17], line[128];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)ep->id);

	/* By guid and by id: the same client. */
	json_t *j = ctl("{\"argv\": [\"show\", \"client\", \"client-guid-1\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_string_equal(jstr(r, "id"), id);
	assert_string_equal(jstr(r, "guid"), "client-guid-1");
	assert_int_equal(jint(r, "slot"), ep->slot);
	assert_string_equal(jstr(r, "status"), "online");
	assert_true(json_is_false(json_object_get(r, "unreachable")));
	/* Fresh from the workers, not as of the last sweep (none ran). */
	assert_int_equal(jint(r, "last_heartbeat"), NOW - 20);
	assert_int_equal(jint(r, "last_poll"), 0);
	assert_int_equal(jint(r, "last_contact"), NOW - 20);
	assert_int_equal(jint(r, "registered"), NOW - 100);
	assert_int_equal(jint(r, "status_since"), NOW - 100);
	assert_int_equal(jint(r, "notify_port"), 21112);
	assert_string_equal(jstr(r, "reason"), "registered");
	assert_string_equal(jstr(r, "hostname"), "pc-1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "ips"), 0)),
			    "192.0.2.7");
	json_decref(j);

	snprintf(line, sizeof(line), "{\"argv\": [\"show\", \"client\", \"%s\"]}", id);
	j = ctl(line, true);
	assert_string_equal(jstr(json_object_get(j, "result"), "guid"), "client-guid-1");
	json_decref(j);

	/* A guid that looks like an id is still found as a guid. */
	assert_int_equal(registry_add(&dmn.reg, "00000000deadbeef", NOW, &ep), 0);
	j = ctl("{\"argv\": [\"show\", \"client\", \"00000000deadbeef\"]}", true);
	assert_string_equal(jstr(json_object_get(j, "result"), "guid"), "00000000deadbeef");
	json_decref(j);

	/* Unknown: ok false, the message names what was asked for. */
	j = ctl("{\"argv\": [\"show\", \"client\", \"no-such-guid-42\"]}", false);
	assert_non_null(strstr(jstr(j, "error"), "no-such-guid-42"));
	json_decref(j);
	snprintf(line, sizeof(line), "{\"argv\": [\"show\", \"client\", \"%016llx\"]}",
		 (unsigned long long)((*registry_at(&dmn.reg, 0)).id ^ 1));
	j = ctl(line, false);
	json_decref(j);
	/* Missing argument: usage. */
	j = ctl("{\"argv\": [\"show\", \"client\"]}", false);
	assert_non_null(strstr(jstr(j, "error"), "show client"));
	json_decref(j);
	json_decref(ctl("{\"argv\": [\"show\", \"client\", \"a\", \"b\"]}", false));
}

static void test_ctl_show_stats(void **state)
{
	(void)state;
	dmn.counters[0].rx = 10;
	dmn.counters[0].verdict[HB_ACCEPTED] = 7;
	dmn.counters[0].verdict[HB_BAD_MAC] = 3;
	dmn.counters[1].rx = 5;
	dmn.counters[1].verdict[HB_ACCEPTED] = 4;
	dmn.counters[1].verdict[HB_TOO_OLD] = 1;
	dmn.http_counters.by_result[HTTP_REGISTER_NEW] = 9;
	json_t *j = ctl("{\"argv\": [\"show\", \"stats\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(json_array_size(json_object_get(r, "workers")), 2);
	json_t *total = json_object_get(r, "total");
	assert_int_equal(jint(total, "rx"), 15);
	assert_int_equal(jint(total, "accepted"), 11);
	json_t *dropped = json_object_get(total, "dropped");
	assert_int_equal(jint(dropped, "bad_mac"), 3);
	assert_int_equal(jint(dropped, "too_old"), 1);
	assert_int_equal(jint(dropped, "frame_short"), 0);
	assert_null(json_object_get(dropped, "accepted"));
	assert_int_equal(jint(json_object_get(r, "http"), "register_new"), 9);
	json_decref(j);
}

static void test_ctl_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "not json", "{", "[\"help\"]", "{}", "{\"argv\": []}", "{\"argv\": \"help\"}",
		"{\"argv\": [1]}", "{\"argv\": [\"show\", null]}", "{\"args\": [\"help\"]}",
		"{\"argv\": [\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
		"\"a\",\"a\",\"a\",\"a\",\"a\"]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned long before = dmn.ctl.bad_requests;
		json_decref(ctl(bad[i], false));
		if (dmn.ctl.bad_requests != before + 1)
			fail_msg("'%s' not counted as a bad request", bad[i]);
	}
	/* Unknown commands are answered, not counted as malformed. */
	unsigned long before = dmn.ctl.bad_requests;
	json_t *j = ctl("{\"argv\": [\"frobnicate\"]}", false);
	assert_non_null(strstr(jstr(j, "error"), "frobnicate"));
	json_decref(j);
	json_decref(ctl("{\"argv\": [\"show\"]}", false));
	json_decref(ctl("{\"argv\": [\"show\", \"everything\"]}", false));
	json_decref(ctl("{\"argv\": [\"showstatus\"]}", false));
	assert_int_equal(dmn.ctl.bad_requests, before);
}

/* The setting `name` of a show settings answer. */
static json_t *setting(json_t *result, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(result, "settings"), i, o)
		if (!strcmp(jstr(o, "name"), name))
			return o;
	fail_msg("show settings lists no '%s'", name);
	return NULL;
}

/* What a restart would load: the persisted policy. */
static struct policy *persisted(void)
{
	struct policy *p = NULL;
	char err[256];
	if (policy_load(dmn.policy_path, &p, err, sizeof(err)) < 0)
		fail_msg("policy_load: %s", err);
	return p;
}

static void test_ctl_settings(void **state)
{
	(void)state;
	json_t *j = ctl("{\"argv\": [\"show\", \"settings\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(jint(r, "settings_rev"), 5);
	assert_int_equal(jint(r, "unreachable_ranges"), 0);
	assert_true(json_is_array(json_object_get(r, "warnings")));
	static const char *const names[] = {"heartbeat.enabled", "heartbeat.scope",
		"heartbeat.interval", "heartbeat.offline_after", "poll.interval", "guard.threshold"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *o = setting(r, names[i]);
		assert_true(*jstr(o, "range") && *jstr(o, "default") && *jstr(o, "help"));
	}
	assert_string_equal(jstr(setting(r, "heartbeat.offline_after"), "value"), "40m");
	assert_int_equal(jint(setting(r, "heartbeat.offline_after"), "seconds"), 2400);
	assert_string_equal(jstr(setting(r, "heartbeat.offline_after"), "default"), "30m");
	assert_string_equal(jstr(setting(r, "heartbeat.interval"), "value"), "10m");
	json_decref(j);

	/* Several at once: applied, persisted, a new revision. */
	j = ctl("{\"argv\": [\"set\", \"heartbeat.interval\", \"5m\", \"poll.interval\", \"1h\"]}",
		true);
	r = json_object_get(j, "result");
	assert_int_equal(jint(r, "settings_rev"), 6);
	assert_string_equal(jstr(json_object_get(r, "changed"), "heartbeat.interval"), "5m");
	assert_string_equal(jstr(json_object_get(r, "changed"), "poll.interval"), "1h");
	assert_true(json_is_object(json_object_get(r, "affected")));
	assert_true(json_is_array(json_object_get(r, "warnings")));
	json_decref(j);
	assert_int_equal(dmn.policy->hb_interval, 300);
	assert_int_equal(dmn.policy->poll_interval, 3600);
	assert_int_equal(dmn.policy->offline_after, 2400);   /* untouched */
	assert_int_equal(dmn.policy->rev, 6);
	struct policy *p = persisted();
	assert_int_equal(p->hb_interval, 300);
	assert_int_equal(p->poll_interval, 3600);
	assert_int_equal(p->offline_after, 2400);
	assert_int_equal(p->rev, 6);
	policy_free(p);
	j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	assert_int_equal(jint(json_object_get(j, "result"), "settings_rev"), 6);
	json_decref(j);

	/* All or nothing: one bad value and nothing changes. */
	static const char *const bad[] = {
		"{\"argv\": [\"set\", \"heartbeat.interval\", \"20m\", \"poll.interval\", \"bogus\"]}",
		"{\"argv\": [\"set\", \"heartbeat.interval\", \"600\"]}",          /* no unit */
		"{\"argv\": [\"set\", \"heartbeat.interval\", \"0s\"]}",
		"{\"argv\": [\"set\", \"heartbeat.offline_after\", \"129601m\"]}",
		"{\"argv\": [\"set\", \"guard.threshold\", \"101\"]}",
		"{\"argv\": [\"set\", \"heartbeat.scope\", \"some\"]}",
		"{\"argv\": [\"set\", \"no.such.setting\", \"1\"]}",
		"{\"argv\": [\"set\", \"heartbeat.interval\", \"20m\", \"poll.interval\"]}",
		"{\"argv\": [\"set\", \"heartbeat.interval\"]}",
		"{\"argv\": [\"set\"]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_decref(ctl(bad[i], false));
		if (dmn.policy->rev != 6 || dmn.policy->hb_interval != 300 ||
		    dmn.policy->poll_interval != 3600 || dmn.policy->guard_threshold != 50 ||
		    dmn.policy->hb_scope != HB_SCOPE_ALL)
			fail_msg("'%s' changed the policy", bad[i]);
	}
	j = ctl("{\"argv\": [\"set\", \"heartbeat.interval\", \"600\"]}", false);
	assert_non_null(strstr(jstr(j, "error"), "heartbeat.interval"));
	json_decref(j);
	p = persisted();
	assert_int_equal(p->rev, 6);
	assert_int_equal(p->hb_interval, 300);
	policy_free(p);

	/* A policy that cannot be persisted is not applied either (the daemon
	 * logs "policy change refused": expected here). */
	char saved[sizeof(dmn.policy_path)];
	memcpy(saved, dmn.policy_path, sizeof(saved));
	snprintf(dmn.policy_path, sizeof(dmn.policy_path), "%s/no/such/dir/policy.json", state_dir);
	json_decref(ctl("{\"argv\": [\"set\", \"guard.threshold\", \"0\"]}", false));
	memcpy(dmn.policy_path, saved, sizeof(saved));
	assert_int_equal(dmn.policy->guard_threshold, 50);
	assert_int_equal(dmn.policy->rev, 6);

	/* The policy in force is what registration answers from (R2). */
	json_decref(ctl("{\"argv\": [\"set\", \"heartbeat.scope\", \"unreachable\", "
			"\"guard.threshold\", \"0\"]}", true));
	assert_int_equal(dmn.policy->hb_scope, HB_SCOPE_UNREACHABLE);
	assert_int_equal(dmn.policy->guard_threshold, 0);
	assert_int_equal(dmn.policy->rev, 7);
	assert_false(policy_hb_applies(dmn.policy, false));
	assert_true(policy_hb_applies(dmn.policy, true));
}

/* range add/del/list: validated, persisted, every endpoint reclassified
 * (R1), counted per range in show status. */
static void test_ctl_ranges(void **state)
{
	(void)state;
	struct endpoint *in = ctl_client("in-range", "10.200.0.7", NOW - 10);
	struct endpoint *out = ctl_client("outside", "192.0.2.1", NOW - 10);
	assert_false(in->unreachable);

	json_t *j = ctl("{\"argv\": [\"range\", \"add\", \"10.200.0.0-10.200.255.255\", "
			"\"2001:db8:bad::/48\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(jint(r, "ranges"), 2);
	assert_int_equal(jint(r, "settings_rev"), 6);
	assert_int_equal(jint(json_object_get(r, "affected"), "unreachable"), 1);
	json_decref(j);
	assert_int_equal(range_set_count(dmn.policy->ranges), 2);
	assert_true(in->unreachable);
	assert_int_equal(in->range, 0);
	assert_int_equal(in->status, EP_UNREACH_ONLINE);
	assert_int_equal(in->reason, EP_REASON_RECLASSIFIED);
	assert_false(out->unreachable);
	assert_int_equal(out->status, EP_ONLINE);

	j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(jint(r, "online"), 1);
	assert_int_equal(jint(r, "unreachable_online"), 1);
	assert_int_equal(jint(r, "settings_rev"), 6);
	json_t *br = json_object_get(r, "by_range");
	assert_int_equal(json_array_size(br), 2);
	assert_string_equal(jstr(json_array_get(br, 0), "range"), "10.200.0.0-10.200.255.255");
	assert_int_equal(jint(json_array_get(br, 0), "unreachable_online"), 1);
	assert_int_equal(jint(json_array_get(br, 0), "unreachable_offline"), 0);
	assert_string_equal(jstr(json_array_get(br, 1), "range"), "2001:db8:bad::/48");
	assert_int_equal(jint(json_array_get(br, 1), "unreachable_online"), 0);
	json_decref(j);
	j = ctl("{\"argv\": [\"range\", \"list\"]}", true);
	br = json_object_get(json_object_get(j, "result"), "ranges");
	assert_int_equal(json_array_size(br), 2);
	assert_int_equal(jint(json_array_get(br, 0), "unreachable_online"), 1);
	json_decref(j);
	j = ctl("{\"argv\": [\"show\", \"client\", \"in-range\"]}", true);
	r = json_object_get(j, "result");
	assert_string_equal(jstr(r, "status"), "unreachable/online");
	assert_true(json_is_true(json_object_get(r, "unreachable")));
	assert_string_equal(jstr(r, "reason"), "reclassified");
	json_decref(j);
	struct policy *p = persisted();
	assert_int_equal(range_set_count(p->ranges), 2);
	policy_free(p);

	/* Refused: nothing changes. */
	static const char *const bad[] = {
		"{\"argv\": [\"range\", \"add\", \"10.0.0.0/8\", \"bogus\"]}",
		"{\"argv\": [\"range\", \"add\", \"2001:db8::1\"]}",             /* no /len */
		"{\"argv\": [\"range\", \"del\", \"10.9.9.9\"]}",                /* not configured */
		"{\"argv\": [\"range\", \"add\"]}",
		"{\"argv\": [\"range\", \"list\", \"x\"]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_decref(ctl(bad[i], false));
		if (range_set_count(dmn.policy->ranges) != 2 || dmn.policy->rev != 6)
			fail_msg("'%s' changed the ranges", bad[i]);
	}
	assert_int_equal(in->status, EP_UNREACH_ONLINE);

	/* Removed: back in the regular network. */
	j = ctl("{\"argv\": [\"range\", \"del\", \"10.200.0.0-10.200.255.255\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(jint(r, "ranges"), 1);
	assert_int_equal(jint(json_object_get(r, "affected"), "unreachable"), 1);
	json_decref(j);
	assert_false(in->unreachable);
	assert_int_equal(in->range, -1);
	assert_int_equal(in->status, EP_ONLINE);
	j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(jint(r, "online"), 2);
	assert_int_equal(jint(r, "unreachable_online"), 0);
	br = json_object_get(r, "by_range");
	assert_int_equal(json_array_size(br), 1);
	assert_string_equal(jstr(json_array_get(br, 0), "range"), "2001:db8:bad::/48");
	json_decref(j);
	p = persisted();
	assert_int_equal(range_set_count(p->ranges), 1);
	assert_int_equal(p->rev, 7);
	policy_free(p);
	check_counts(&dmn.reg);
}

static void test_ctl_guard_release(void **state)
{
	(void)state;
	json_t *j = ctl("{\"argv\": [\"guard\", \"release\"]}", false);
	assert_non_null(strstr(jstr(j, "error"), "not raised"));
	json_decref(j);
	dmn.sweep.guard.active = true;
	dmn.sweep.guard.held = 4;
	j = ctl("{\"argv\": [\"guard\", \"release\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_true(json_is_true(json_object_get(r, "released")));
	assert_int_equal(jint(r, "held"), 4);
	json_decref(j);
	assert_false(dmn.sweep.guard.active);
	assert_true(dmn.sweep.guard.confirmed);
	json_decref(ctl("{\"argv\": [\"guard\", \"release\"]}", false));
	json_decref(ctl("{\"argv\": [\"guard\", \"release\", \"now\"]}", false));
}

/* watch streams on its own connection (ctl_server); dispatched as one
 * request it answers an error rather than nothing. */
static void test_ctl_watch(void **state)
{
	(void)state;
	json_t *j = ctl("{\"argv\": [\"watch\"]}", false);
	assert_non_null(strstr(jstr(j, "error"), "watch"));
	json_decref(j);
	json_decref(ctl("{\"argv\": [\"watch\", \"--from\", \"5\"]}", false));
}

/* Times past 2038 (uint32 Unix seconds) come out as they went in. */
static void test_ctl_times_after_2038(void **state)
{
	(void)state;
	struct endpoint *ep;
	const uint32_t t = 3000000000u;
	gn_coarse_set(t);
	dmn.started = t - 5;
	assert_int_equal(registry_add(&dmn.reg, "late", t, &ep), 0);
	status_on_register(&dmn.reg, dmn.policy, ep, t);
	json_t *j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	json_int_t now = jint(json_object_get(j, "result"), "now");
	json_int_t started = jint(json_object_get(j, "result"), "started");
	assert_true(json_is_true(json_object_get(json_object_get(j, "result"), "restart_grace")));
	json_decref(j);
	j = ctl("{\"argv\": [\"show\", \"client\", \"late\"]}", true);
	json_t *r = json_object_get(j, "result");
	json_int_t reg_t = jint(r, "registered");
	json_int_t since = jint(r, "status_since");
	json_int_t contact = jint(r, "last_contact");
	json_decref(j);
	gn_coarse_set(NOW);
	if (now != t || reg_t != t || since != t || contact != t || started != t - 5)
		fail_msg("now %lld, registered %lld, status_since %lld, last_contact %lld, "
			 "started %lld; want %u (started %u)", (long long)now, (long long)reg_t,
			 (long long)since, (long long)contact, (long long)started, t, t - 5);
}

#define REG(f) cmocka_unit_test_setup_teardown(f, reg_setup, reg_teardown)
#define API(f) cmocka_unit_test_setup_teardown(f, api_setup, reg_teardown)
#define CTL(f) cmocka_unit_test_setup_teardown(f, ctl_setup, ctl_teardown)

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	gn_log_max_level = GN_LOG_ERR;
	rcu_register_thread();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_ok),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_slot_index_100k),
		cmocka_unit_test(test_slot_index_collisions),
		cmocka_unit_test(test_slot_index_initial),
		REG(test_registry_add_lookup),
		REG(test_registry_many),
		REG(test_registry_rekey),
		REG(test_registry_status_counts),
		REG(test_registry_range_counts),
		cmocka_unit_test(test_registry_full),
		REG(test_sweep_boundary),
		REG(test_sweep_never_contacted),
		REG(test_sweep_heartbeat_brings_back),
		REG(test_sweep_seen_array),
		REG(test_sweep_reasons),
		REG(test_sweep_restart_grace),
		REG(test_sweep_guard),
		REG(test_sweep_guard_minimum),
		API(test_api_unauthorized),
		API(test_api_malformed),
		API(test_api_bad_fields),
		API(test_api_field_limits_ok),
		API(test_api_new),
		API(test_api_known_without_proof),
		API(test_api_proof),
		API(test_api_reject_changes_nothing),
		API(test_api_full),
		API(test_api_server_time_after_2038),
		API(test_api_register_policy),
		API(test_api_poll),
		API(test_api_poll_ips),
		API(test_api_event),
		CTL(test_ctl_help),
		CTL(test_ctl_show_status),
		CTL(test_ctl_show_client),
		CTL(test_ctl_show_stats),
		CTL(test_ctl_malformed),
		CTL(test_ctl_settings),
		CTL(test_ctl_ranges),
		CTL(test_ctl_guard_release),
		CTL(test_ctl_watch),
		CTL(test_ctl_times_after_2038),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return rc;
}
