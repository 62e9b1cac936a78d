/*
 * The control plane without DPDK or sockets. Proves: duration_parse takes
 * exactly <digits>[s|m|h|d] within 32 bits; slot_index finds 100k entries
 * across many growths and tells colliding hashes apart; the registry hands
 * out distinct ids and slots, finds endpoints by id/guid/slot, keeps the
 * online/offline counts right, and a re-key reaches the slot table (the old
 * key's heartbeats fail); sweep_run applies R6 at its boundary (exactly
 * offline_after since the last contact is offline) and a worker's heartbeat
 * brings an endpoint back with reason heartbeat; POST /v1/register
 * (api_register) authenticates, validates every field, keeps id and slot
 * for a known guid, keeps the key only with a valid proof (PROTOCOL.md §3)
 * and counts each outcome once; ctl_dispatch answers help, show status,
 * show client and rejects malformed requests.
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

#include "control/api.h"
#include "control/daemon.h"
#include "control/duration.h"
#include "control/registry.h"
#include "control/slot_index.h"
#include "control/sweep.h"
#include "glournet/coarse_clock.h"
#include "glournet/hb_accept.h"
#define LOG_TAG "test"
#include "glournet/log.h"

/*
 * The coarse clock's storage lives in glournetd's main.c, outside the
 * control library; the tests provide it (weak, so a definition moved into
 * the library takes precedence).
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
	size_t first_cap = ix.mask + 1;
	for (uint32_t i = 0; i < IX_N; i++) {
		ix_keys[i] = 1000003ull * i + 7;
		assert_int_equal(slot_index_insert(&ix, ix_hash(ix_keys[i]), i), 0);
	}
	assert_int_equal(ix.used, IX_N);
	assert_true(ix.mask + 1 > first_cap);        /* it grew */
	assert_true(ix.mask + 1 >= 2 * (size_t)IX_N); /* load factor under 1/2 */
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
	assert_null(ix.cells);
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
	size_t cap = ix.mask + 1;
	assert_true(cap >= 2000);
	assert_int_equal(cap & (cap - 1), 0);        /* a power of two (mask) */
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(slot_index_insert(&ix, i, i), 0);
	assert_int_equal(ix.mask + 1, cap);
	slot_index_destroy(&ix);
}

/* ================= registry ================= */

static struct slot_table tbl;
static struct registry reg;

static int reg_setup(void **state)
{
	(void)state;
	if (slot_table_init(&tbl, 2, 1u << 20) < 0 || registry_init(&reg, &tbl) < 0)
		return -1;
	return 0;
}

static int reg_teardown(void **state)
{
	(void)state;
	registry_destroy(&reg);
	slot_table_destroy(&tbl);
	return 0;
}

static void build_hb(uint8_t p[HB_PAYLOAD_LEN], uint32_t slot, uint32_t time, uint64_t id,
		     const uint8_t key[HB_KEY_LEN])
{
	hb_put32(p, HB_MAGIC);
	p[4] = HB_VERSION;
	p[5] = HB_TYPE_HEARTBEAT;
	hb_put16(p + 6, 0);
	hb_put32(p + 8, slot);
	hb_put32(p + 12, time);
	hb_put64(p + 16, id);
	hb_mac_compute(key, p, HB_MAC_COVERED, p + HB_MAC_COVERED);
}

/* A heartbeat from `ep` under `key`, through the workers' own decision. */
static enum hb_verdict heartbeat(struct slot_table *t, const struct endpoint *ep,
				 const uint8_t key[HB_KEY_LEN], unsigned worker, uint32_t time,
				 uint32_t now)
{
	uint8_t p[HB_PAYLOAD_LEN];
	struct hb_window w = { .now = now, .window = 300, .skew = 30 };
	build_hb(p, ep->slot, time, ep->id, key);
	return hb_accept(t->dir, worker, p, &w);
}

static void check_counts(const struct registry *r)
{
	uint32_t on = 0, off = 0;
	for (uint32_t i = 0; i < r->count; i++)
		if (r->eps[i].status == EP_ONLINE)
			on++;
		else
			off++;
	assert_int_equal(r->online, on);
	assert_int_equal(r->offline, off);
	assert_int_equal(r->online + r->offline, r->count);
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
	assert_memory_not_equal(a->key, b->key, HB_KEY_LEN);
	assert_string_equal(a->guid, "guid-a");
	assert_int_equal(a->registered, NOW);
	assert_int_equal(a->last_register, NOW);
	assert_int_equal(b->registered, NOW + 1);
	assert_int_equal(a->status, EP_ONLINE);
	assert_int_equal(a->reason, EP_REASON_REGISTERED);
	assert_int_equal(reg.online, 2);
	assert_int_equal(reg.offline, 0);

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
	assert_memory_equal(e->key, a->key, HB_KEY_LEN);
	assert_int_equal(heartbeat(&tbl, a, a->key, 0, NOW, NOW), HB_ACCEPTED);
	assert_int_equal(heartbeat(&tbl, b, a->key, 0, NOW, NOW), HB_BAD_MAC);
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
	assert_int_equal(reg.online, n);
	assert_true(slot_table_capacity(&tbl) >= n);
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
	assert_int_equal(heartbeat(&tbl, ep, ep->key, 1, NOW - 3, NOW), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&tbl, n - 1), NOW - 3);
	/* Distinct ids. */
	uint64_t *ids = malloc(n * sizeof(*ids));
	assert_non_null(ids);
	for (uint32_t i = 0; i < n; i++)
		ids[i] = reg.eps[i].id;
	for (uint32_t i = 0; i < n; i++)
		assert_ptr_equal(registry_by_id(&reg, ids[i]), &reg.eps[i]);
	free(ids);
}

static void test_registry_rekey(void **state)
{
	(void)state;
	struct endpoint *ep;
	assert_int_equal(registry_add(&reg, "rekeyed", NOW, &ep), 0);
	uint8_t old[HB_KEY_LEN];
	uint64_t id = ep->id;
	uint32_t slot = ep->slot;
	memcpy(old, ep->key, sizeof(old));
	assert_int_equal(heartbeat(&tbl, ep, old, 0, NOW - 5, NOW), HB_ACCEPTED);
	registry_rekey(&reg, ep);
	assert_memory_not_equal(ep->key, old, HB_KEY_LEN);
	assert_int_equal(ep->id, id);
	assert_int_equal(ep->slot, slot);
	const struct slot_entry *e = slot_dir_entry(tbl.dir, slot);
	assert_int_equal(e->id, id);
	assert_memory_equal(e->key, ep->key, HB_KEY_LEN);
	assert_int_equal(heartbeat(&tbl, ep, old, 0, NOW, NOW), HB_BAD_MAC);
	assert_int_equal(heartbeat(&tbl, ep, ep->key, 0, NOW - 1, NOW), HB_ACCEPTED);
	assert_int_equal(slot_table_last_seen(&tbl, slot), NOW - 1);
	/* Lookups unchanged. */
	assert_ptr_equal(registry_by_id(&reg, id), ep);
	assert_ptr_equal(registry_by_guid(&reg, "rekeyed"), ep);
}

static void test_registry_status_counts(void **state)
{
	(void)state;
	struct endpoint *ep;
	for (int i = 0; i < 3; i++) {
		char g[8];
		snprintf(g, sizeof(g), "e%d", i);
		assert_int_equal(registry_add(&reg, g, NOW, &ep), 0);
	}
	assert_int_equal(reg.online, 3);
	assert_int_equal(reg.offline, 0);
	ep = registry_by_slot(&reg, 1);
	registry_set_status(&reg, ep, EP_OFFLINE, EP_REASON_NO_CONTACT, NOW + 100);
	assert_int_equal(reg.online, 2);
	assert_int_equal(reg.offline, 1);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(ep->status_since, NOW + 100);
	/* The same status again: no double count, status_since kept. */
	registry_set_status(&reg, ep, EP_OFFLINE, EP_REASON_NO_CONTACT, NOW + 200);
	assert_int_equal(reg.online, 2);
	assert_int_equal(reg.offline, 1);
	assert_int_equal(ep->status_since, NOW + 100);
	registry_set_status(&reg, ep, EP_ONLINE, EP_REASON_HEARTBEAT, NOW + 300);
	assert_int_equal(reg.online, 3);
	assert_int_equal(reg.offline, 0);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	check_counts(&reg);
	assert_string_equal(ep_status_name(EP_ONLINE), "online");
	assert_string_equal(ep_status_name(EP_OFFLINE), "offline");
	assert_string_equal(ep_reason_name(EP_REASON_NO_CONTACT), "no-contact");
	assert_string_equal(ep_reason_name(EP_REASON_HEARTBEAT), "heartbeat");
	assert_string_equal(ep_reason_name(EP_REASON_REGISTERED), "registered");
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
	assert_int_equal(r.online, 2);
	assert_int_equal(r.offline, 0);
	assert_null(registry_by_guid(&r, "three"));
	registry_destroy(&r);
	slot_table_destroy(&small);
}

/* ================= sweep ================= */

#define OFFLINE_AFTER 1800u

static void test_sweep_boundary(void **state)
{
	(void)state;
	struct endpoint *ep;
	struct sweep_result res;
	assert_int_equal(registry_add(&reg, "swept", NOW, &ep), 0);
	sweep_run(&reg, NOW, OFFLINE_AFTER, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	sweep_run(&reg, NOW + OFFLINE_AFTER - 1, OFFLINE_AFTER, &res);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(reg.online, 1);
	/* now - last == offline_after: offline (R6). */
	sweep_run(&reg, NOW + OFFLINE_AFTER, OFFLINE_AFTER, &res);
	assert_int_equal(res.went_offline, 1);
	assert_int_equal(res.went_online, 0);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(ep->reason, EP_REASON_NO_CONTACT);
	assert_int_equal(ep->status_since, NOW + OFFLINE_AFTER);
	assert_int_equal(reg.online, 0);
	assert_int_equal(reg.offline, 1);
	/* Idempotent. */
	sweep_run(&reg, NOW + OFFLINE_AFTER + 10, OFFLINE_AFTER, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status_since, NOW + OFFLINE_AFTER);
}

static void test_sweep_heartbeat_brings_back(void **state)
{
	(void)state;
	struct endpoint *ep;
	struct sweep_result res;
	assert_int_equal(registry_add(&reg, "a", NOW, &ep), 0);
	assert_int_equal(registry_add(&reg, "b", NOW, &ep), 0);
	uint32_t t1 = NOW + OFFLINE_AFTER;
	sweep_run(&reg, t1, OFFLINE_AFTER, &res);
	assert_int_equal(res.went_offline, 2);
	assert_int_equal(reg.offline, 2);

	/* Worker 1 records a heartbeat of "b". */
	ep = registry_by_guid(&reg, "b");
	assert_int_equal(heartbeat(&tbl, ep, ep->key, 1, t1 + 50, t1 + 60), HB_ACCEPTED);
	assert_int_equal(ep->status, EP_OFFLINE);      /* the sweep decides, not the worker */
	sweep_run(&reg, t1 + 60, OFFLINE_AFTER, &res);
	assert_int_equal(res.went_online, 1);
	assert_int_equal(res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->last_heartbeat, t1 + 50);
	assert_int_equal(ep->status_since, t1 + 60);
	assert_int_equal(registry_by_guid(&reg, "a")->status, EP_OFFLINE);
	assert_int_equal(reg.online, 1);
	assert_int_equal(reg.offline, 1);
	/* Online until offline_after after that heartbeat, not after the sweep. */
	sweep_run(&reg, t1 + 50 + OFFLINE_AFTER - 1, OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	sweep_run(&reg, t1 + 50 + OFFLINE_AFTER, OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(res.went_offline, 1);
	check_counts(&reg);
}

/* A value written straight into a worker's seen array counts the same. */
static void test_sweep_seen_array(void **state)
{
	(void)state;
	struct endpoint *ep;
	struct sweep_result res;
	assert_int_equal(registry_add(&reg, "direct", NOW, &ep), 0);
	sweep_run(&reg, NOW + 5000, OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	*slot_dir_seen(tbl.dir, ep->slot, 0) = NOW + 4000;
	*slot_dir_seen(tbl.dir, ep->slot, 1) = NOW + 4500;
	sweep_run(&reg, NOW + 5000, OFFLINE_AFTER, &res);
	assert_int_equal(res.went_online, 1);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	assert_int_equal(ep->last_heartbeat, NOW + 4500);   /* the newest worker wins */
	sweep_run(&reg, NOW + 4500 + OFFLINE_AFTER, OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
}

/* Registration newer than any heartbeat: back online with reason registered;
 * a later heartbeat switches the reason without a transition. */
static void test_sweep_reasons(void **state)
{
	(void)state;
	struct endpoint *ep;
	struct sweep_result res;
	assert_int_equal(registry_add(&reg, "r", NOW, &ep), 0);
	assert_int_equal(heartbeat(&tbl, ep, ep->key, 0, NOW + 10, NOW + 10), HB_ACCEPTED);
	sweep_run(&reg, NOW + 20, OFFLINE_AFTER, &res);
	assert_int_equal(res.went_online + res.went_offline, 0);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_HEARTBEAT);
	sweep_run(&reg, NOW + 10 + OFFLINE_AFTER, OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_OFFLINE);
	/* It registers again (what api_register records). */
	ep->last_register = NOW + 3000;
	sweep_run(&reg, NOW + 3001, OFFLINE_AFTER, &res);
	assert_int_equal(res.went_online, 1);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	/* A clock that stepped back does not take anyone offline. */
	sweep_run(&reg, NOW + 2000, OFFLINE_AFTER, &res);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(res.went_offline, 0);
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
	opt.hb_interval = 600;
	opt.poll_interval = 1800;
	opt.offline_after = 1800;
	opt.hb_addrs[0] = "10.0.0.1";
	opt.hb_addrs[1] = "2001:db8::1";
	opt.n_hb_addrs = 2;
	memset(&ctr, 0, sizeof(ctr));
	memset(want_ctr, 0, sizeof(want_ctr));
	ctx = (struct api_ctx){ .reg = &reg, .opt = &opt, .counters = &ctr, .now = NOW };
	return 0;
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
	for (int i = 0; i < HTTP_COUNTER_COUNT; i++)
		if (ctr.by_result[i] != want_ctr[i])
			fail_msg("body %s: counter %s is %llu, want %llu", body,
				 http_counter_name(i), (unsigned long long)ctr.by_result[i],
				 (unsigned long long)want_ctr[i]);
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
	assert_string_equal(ep->guid, g64);
	assert_string_equal(ep->hostname, h255);
	assert_int_equal(ep->notify_port, 65535);
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
	assert_int_equal(ep->nips, 16);
	assert_int_equal(ep->ips[15].bytes[3], 16);
	assert_int_equal(ep->notify_port, 0);
	/* Only guid is required. */
	json_decref(call("{\"guid\": \"minimal\"}", AUTH, NULL, 201, HTTP_REGISTER_NEW));
	ep = registry_by_guid(&reg, "minimal");
	assert_non_null(ep);
	assert_int_equal(ep->nips, 0);
	assert_string_equal(ep->hostname, "");
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
	assert_true(json_is_integer(json_object_get(j, "settings_rev")));
	json_t *hb = json_object_get(j, "heartbeat");
	assert_true(json_is_object(hb));
	assert_true(json_is_true(json_object_get(hb, "enabled")));
	assert_int_equal(jint(hb, "interval"), 600);
	assert_int_equal(jint(hb, "port"), 7100);
	json_t *addrs = json_object_get(hb, "addrs");
	assert_int_equal(json_array_size(addrs), 2);
	assert_string_equal(json_string_value(json_array_get(addrs, 0)), "10.0.0.1");
	assert_string_equal(json_string_value(json_array_get(addrs, 1)), "2001:db8::1");
	json_t *poll = json_object_get(j, "poll");
	assert_true(json_is_object(poll));
	assert_int_equal(jint(poll, "interval"), 1800);
	json_decref(j);

	struct endpoint *ep = registry_by_guid(&reg, "3f2b-agent-A");
	assert_non_null(ep);
	assert_int_equal(ep->id, id);
	assert_memory_equal(ep->key, key, HB_KEY_LEN);
	assert_string_equal(ep->hostname, "pc-a");
	assert_int_equal(ep->notify_port, 21112);
	assert_int_equal(ep->nips, 2);
	assert_int_equal(ep->ips[0].family, AF_INET);
	static const uint8_t v4[4] = {10, 1, 2, 3};
	assert_memory_equal(ep->ips[0].bytes, v4, 4);
	assert_int_equal(ep->ips[1].family, AF_INET6);
	uint8_t v6[16];
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", v6), 1);
	assert_memory_equal(ep->ips[1].bytes, v6, 16);
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->last_register, NOW);
	assert_int_equal(reg.online, 1);
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
	assert_memory_equal(ep->key, key2, HB_KEY_LEN);
	assert_string_equal(ep->hostname, "pc-a2");
	assert_int_equal(ep->nips, 1);
	assert_int_equal(ep->notify_port, 4000);
	assert_int_equal(ep->last_register, NOW + 100);
	assert_int_equal(ep->registered, NOW);
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
	};
	uint8_t prev[HB_KEY_LEN];
	memcpy(prev, key, sizeof(prev));
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		struct endpoint *ep = registry_by_id(&reg, id);
		const uint8_t *k = ep->key;
		struct proof p2;
		struct api_request req = {0};
		(void)req;
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
		assert_memory_equal(ep->key, got, HB_KEY_LEN);
		assert_memory_equal(slot_dir_entry(tbl.dir, ep->slot)->key, got, HB_KEY_LEN);
	}
	/* The newest key proves itself again. */
	struct endpoint *ep = registry_by_id(&reg, id);
	memcpy(prev, ep->key, sizeof(prev));
	make_proof(&pf, HB_AUTH_REGISTER, id, NOW, prev);
	j = call(body_a, AUTH, &pf, 200, HTTP_REGISTER_KNOWN);
	key_of(j, got);
	json_decref(j);
	assert_memory_equal(got, prev, HB_KEY_LEN);
	assert_int_equal(reg.count, 2);
}

/* A rejected request changes nothing, not even for a known guid. */
static void test_api_reject_changes_nothing(void **state)
{
	(void)state;
	json_t *j = call(body_a, AUTH, NULL, 201, HTTP_REGISTER_NEW);
	json_decref(j);
	struct endpoint *ep = registry_by_guid(&reg, "3f2b-agent-A");
	uint8_t key[HB_KEY_LEN];
	memcpy(key, ep->key, sizeof(key));
	registry_set_status(&reg, ep, EP_OFFLINE, EP_REASON_NO_CONTACT, NOW + 1);
	ctx.now = NOW + 50;
	json_decref(call("{\"guid\": \"3f2b-agent-A\", \"notify_port\": 70000}", AUTH, NULL, 400,
			 HTTP_BAD_FIELD));
	json_decref(call("{\"guid\": \"3f2b-agent-A\"}", "Bearer wrong", NULL, 401,
			 HTTP_UNAUTHORIZED));
	ep = registry_by_guid(&reg, "3f2b-agent-A");
	assert_memory_equal(ep->key, key, HB_KEY_LEN);
	assert_int_equal(ep->notify_port, 21112);
	assert_string_equal(ep->hostname, "pc-a");
	assert_int_equal(ep->last_register, NOW);
	assert_int_equal(ep->status, EP_OFFLINE);
	assert_int_equal(reg.offline, 1);
	/* A good one brings it back online (registration is contact, R4). */
	json_decref(call("{\"guid\": \"3f2b-agent-A\"}", AUTH, NULL, 200, HTTP_REGISTER_REKEY));
	assert_int_equal(ep->status, EP_ONLINE);
	assert_int_equal(ep->reason, EP_REASON_REGISTERED);
	assert_int_equal(ep->last_register, NOW + 50);
	assert_int_equal(reg.online, 1);
	assert_int_equal(reg.offline, 0);
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

/* ================= ctl_dispatch ================= */

static struct gn_daemon dmn;

static int ctl_setup(void **state)
{
	(void)state;
	memset(&dmn, 0, sizeof(dmn));
	if (slot_table_init(&dmn.table, 2, 1u << 20) < 0 || registry_init(&dmn.reg, &dmn.table) < 0)
		return -1;
	dmn.nworkers = 2;
	dmn.opt.offline_after = 1800;
	dmn.started = NOW - 1000;
	gn_coarse_set(NOW);
	return 0;
}

static int ctl_teardown(void **state)
{
	(void)state;
	registry_destroy(&dmn.reg);
	slot_table_destroy(&dmn.table);
	return 0;
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
	static const char *const want[] = {"help", "show status", "show client", "show stats"};
	for (size_t w = 0; w < 4; w++) {
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
	struct endpoint *ep;
	json_t *j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(jint(r, "clients"), 0);
	json_decref(j);
	for (int i = 0; i < 3; i++) {
		char g[8];
		snprintf(g, sizeof(g), "c%d", i);
		assert_int_equal(registry_add(&dmn.reg, g, NOW, &ep), 0);
	}
	registry_set_status(&dmn.reg, registry_by_guid(&dmn.reg, "c1"), EP_OFFLINE,
			    EP_REASON_NO_CONTACT, NOW);
	j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(jint(r, "clients"), 3);
	assert_int_equal(jint(r, "online"), 2);
	assert_int_equal(jint(r, "offline"), 1);
	assert_int_equal(jint(r, "unreachable_online"), 0);
	assert_int_equal(jint(r, "unreachable_offline"), 0);
	assert_int_equal(jint(r, "workers"), 2);
	assert_int_equal(jint(r, "offline_after"), 1800);
	assert_int_equal(jint(r, "now"), NOW);
	assert_int_equal(jint(r, "started"), NOW - 1000);
	json_decref(j);
}

static void test_ctl_show_client(void **state)
{
	(void)state;
	struct endpoint *ep;
	assert_int_equal(registry_add(&dmn.reg, "client-guid-1", NOW - 100, &ep), 0);
	ep->hostname = strdup("pc-1");
	ep->nips = 1;
	ep->ips[0].family = AF_INET;
	memcpy(ep->ips[0].bytes, (uint8_t[]){192, 0, 2, 7}, 4);
	ep->notify_port = 21112;
	assert_int_equal(heartbeat(&dmn.table, ep, ep->key, 1, NOW - 20, NOW), HB_ACCEPTED);
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
		 (unsigned long long)(dmn.reg.eps[0].id ^ 1));
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

/* Times past 2038 (uint32 Unix seconds) come out as they went in. */
static void test_ctl_times_after_2038(void **state)
{
	(void)state;
	struct endpoint *ep;
	const uint32_t t = 3000000000u;
	gn_coarse_set(t);
	assert_int_equal(registry_add(&dmn.reg, "late", t, &ep), 0);
	json_t *j = ctl("{\"argv\": [\"show\", \"status\"]}", true);
	json_int_t now = jint(json_object_get(j, "result"), "now");
	json_decref(j);
	j = ctl("{\"argv\": [\"show\", \"client\", \"late\"]}", true);
	json_int_t reg_t = jint(json_object_get(j, "result"), "registered");
	json_decref(j);
	gn_coarse_set(NOW);
	if (now != t || reg_t != t)
		fail_msg("now %lld, registered %lld; want %u for both", (long long)now,
			 (long long)reg_t, t);
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
		cmocka_unit_test(test_registry_full),
		REG(test_sweep_boundary),
		REG(test_sweep_heartbeat_brings_back),
		REG(test_sweep_seen_array),
		REG(test_sweep_reasons),
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
		CTL(test_ctl_help),
		CTL(test_ctl_show_status),
		CTL(test_ctl_show_client),
		CTL(test_ctl_show_stats),
		CTL(test_ctl_malformed),
		CTL(test_ctl_times_after_2038),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return rc;
}
