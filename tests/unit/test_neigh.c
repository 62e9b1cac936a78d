/*
 * The neighbour table (dataplane/neigh.c), the route mirror
 * (neigh_route.c) and learning from frames (neigh_learn.c). Proves: an
 * unknown next hop asks the kernel once per second and is -EAGAIN until
 * the kernel answers; kernel states map to usable or not; a frame-learned
 * MAC never overrides the kernel's, and learned entries fill at most 3/4
 * of the table; expiry drops learned entries after their TTL and
 * unanswered resolutions after theirs, never kernel ones; deletion keeps
 * every other entry findable (5,000 entries, half deleted in random order,
 * against a plain list); forgetting the kernel's entries keeps the learned
 * ones; longest-prefix match with metric ties; route text parsing; ARP,
 * IPv4 and IPv6 sources learned only when on-link and not special.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <sodium.h>

#include "glournet/neigh.h"
#include "glournet/neigh_route.h"

static const uint8_t MAC_K[6] = {0x02, 0xAA, 0, 0, 0, 1};
static const uint8_t MAC_F[6] = {0x02, 0xBB, 0, 0, 0, 2};

static struct gn_addr addr(const char *text)
{
	struct gn_addr a;
	assert_int_equal(gn_addr_parse(text, &a), 0);
	return a;
}

static struct gn_addr addr4(uint32_t v)
{
	struct gn_addr a = {.family = AF_INET};
	a.bytes[0] = (uint8_t)(v >> 24);
	a.bytes[1] = (uint8_t)(v >> 16);
	a.bytes[2] = (uint8_t)(v >> 8);
	a.bytes[3] = (uint8_t)v;
	return a;
}

static const struct neigh_entry *find(const struct neigh_table *t, const char *text)
{
	struct gn_addr a = addr(text);
	return neigh_lookup(t, &a);
}

static bool is(const struct gn_addr *a, const char *text)
{
	struct gn_addr b = addr(text);
	return gn_addr_eq(a, &b);
}

static struct route_entry route(const char *text);

static int add(struct route_table *t, const char *text)
{
	struct route_entry r = route(text);
	return route_upsert(t, &r);
}

static int del(struct route_table *t, const char *text)
{
	struct route_entry r = route(text);
	return route_delete(t, &r);
}

static void resolve_asks_once_a_second(void **state)
{
	(void)state;
	struct neigh_table t;
	assert_int_equal(neigh_init(&t, 64), 0);
	struct gn_addr nh = addr("198.18.0.2");
	uint8_t mac[6];
	bool ask;
	assert_int_equal(neigh_resolve(&t, &nh, 100, mac, &ask), -EAGAIN);
	assert_true(ask);
	assert_int_equal(neigh_resolve(&t, &nh, 100, mac, &ask), -EAGAIN);
	assert_false(ask);
	assert_int_equal(neigh_resolve(&t, &nh, 101, mac, &ask), -EAGAIN);
	assert_true(ask);
	assert_int_equal(neigh_lookup(&t, &nh)->state, NEIGH_INCOMPLETE);
	/* The kernel answers. */
	assert_int_equal(neigh_set(&t, &nh, NEIGH_REACHABLE, MAC_K, 101), 0);
	assert_int_equal(neigh_resolve(&t, &nh, 101, mac, &ask), 0);
	assert_false(ask);
	assert_memory_equal(mac, MAC_K, 6);
	assert_int_equal(t.ctr[NEIGH_C_RESOLVE_ASKED], 2);
	/* Failed: unusable, asked again at most once a second. */
	assert_int_equal(neigh_set(&t, &nh, NEIGH_FAILED, NULL, 102), 0);
	assert_int_equal(neigh_resolve(&t, &nh, 102, mac, &ask), -EAGAIN);
	assert_true(ask);
	neigh_free(&t);
}

static void stale_used_and_reconfirmed(void **state)
{
	(void)state;
	struct neigh_table t;
	assert_int_equal(neigh_init(&t, 64), 0);
	struct gn_addr nh = addr("fd00::2");
	uint8_t mac[6];
	bool ask;
	assert_int_equal(neigh_set(&t, &nh, NEIGH_STALE, MAC_K, 1000), 0);
	assert_int_equal(neigh_resolve(&t, &nh, 1000, mac, &ask), 0);
	assert_false(ask);
	/* Old enough: still used, and the kernel is asked to confirm it. */
	assert_int_equal(neigh_resolve(&t, &nh, 1000 + NEIGH_LEARNED_TTL, mac, &ask), 0);
	assert_true(ask);
	assert_memory_equal(mac, MAC_K, 6);
	assert_int_equal(neigh_resolve(&t, &nh, 1000 + NEIGH_LEARNED_TTL, mac, &ask), 0);
	assert_false(ask);
	/* The kernel re-resolving an address we hold a MAC for: keep it. */
	assert_int_equal(neigh_set(&t, &nh, NEIGH_INCOMPLETE, NULL, 1400), 0);
	assert_int_equal(neigh_lookup(&t, &nh)->state, NEIGH_STALE);
	assert_int_equal(neigh_resolve(&t, &nh, 1400, mac, &ask), 0);
	neigh_free(&t);
}

static void kernel_wins_over_frames(void **state)
{
	(void)state;
	struct neigh_table t;
	assert_int_equal(neigh_init(&t, 64), 0);
	struct gn_addr a = addr("198.18.0.7"), b = addr("198.18.0.8");
	uint8_t mac[6];
	bool ask;
	neigh_learn(&t, &a, MAC_F, 10);
	assert_int_equal(neigh_resolve(&t, &a, 10, mac, &ask), 0);
	assert_memory_equal(mac, MAC_F, 6);
	assert_int_equal(t.learned, 1);
	assert_int_equal(neigh_set(&t, &a, NEIGH_REACHABLE, MAC_K, 11), 0);
	assert_int_equal(t.learned, 0);
	neigh_learn(&t, &a, MAC_F, 12);   /* another MAC from a frame: ignored */
	assert_int_equal(neigh_resolve(&t, &a, 12, mac, &ask), 0);
	assert_memory_equal(mac, MAC_K, 6);
	neigh_learn(&t, &a, MAC_K, 13);   /* the same MAC: a refresh */
	assert_int_equal(neigh_lookup(&t, &a)->updated, 13);
	assert_int_equal(t.ctr[NEIGH_C_REFRESHED], 1);
	/* A learned MAC that changes is followed. */
	neigh_learn(&t, &b, MAC_F, 20);
	neigh_learn(&t, &b, MAC_K, 21);
	assert_int_equal(neigh_resolve(&t, &b, 21, mac, &ask), 0);
	assert_memory_equal(mac, MAC_K, 6);
	assert_int_equal(t.ctr[NEIGH_C_LEARNED], 3);
	neigh_free(&t);
}

static void learned_share_and_full(void **state)
{
	(void)state;
	struct neigh_table t;
	assert_int_equal(neigh_init(&t, 16), 0);
	for (uint32_t i = 0; i < 20; i++) {
		struct gn_addr a = addr4(0x0A000000 + i);
		neigh_learn(&t, &a, MAC_F, 1);
	}
	assert_int_equal(t.learned, 12);   /* 3/4 of 16 */
	assert_int_equal(t.ctr[NEIGH_C_TABLE_FULL], 8);
	for (uint32_t i = 0; i < 4; i++) {
		struct gn_addr a = addr4(0x0B000000 + i);
		assert_int_equal(neigh_set(&t, &a, NEIGH_REACHABLE, MAC_K, 1), 0);
	}
	struct gn_addr more = addr4(0x0C000000);
	assert_int_equal(neigh_set(&t, &more, NEIGH_REACHABLE, MAC_K, 1), -ENOSPC);
	assert_int_equal(t.count, 16);
	neigh_free(&t);
}

static void expiry(void **state)
{
	(void)state;
	struct neigh_table t;
	assert_int_equal(neigh_init(&t, 64), 0);
	struct gn_addr l = addr("198.18.0.10"), k = addr("198.18.0.11"), q = addr("198.18.0.12");
	uint8_t mac[6];
	bool ask;
	neigh_learn(&t, &l, MAC_F, 1000);
	assert_int_equal(neigh_set(&t, &k, NEIGH_STALE, MAC_K, 1000), 0);
	assert_int_equal(neigh_resolve(&t, &q, 1000, mac, &ask), -EAGAIN);
	unsigned cells = t.mask + 1;
	assert_int_equal(neigh_expire_step(&t, 1000 + NEIGH_INCOMPLETE_TTL - 1, cells), 0);
	assert_int_equal(neigh_expire_step(&t, 1000 + NEIGH_INCOMPLETE_TTL, cells), 1);
	assert_null(neigh_lookup(&t, &q));
	assert_non_null(neigh_lookup(&t, &l));
	assert_int_equal(neigh_expire_step(&t, 1000 + NEIGH_LEARNED_TTL, cells), 1);
	assert_null(neigh_lookup(&t, &l));
	assert_non_null(neigh_lookup(&t, &k));   /* the kernel's: the kernel decides */
	assert_int_equal(neigh_expire_step(&t, 999999, cells), 0);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.learned, 0);
	assert_int_equal(t.ctr[NEIGH_C_EXPIRED], 2);
	/* A small budget walks on from where it stopped. */
	neigh_learn(&t, &l, MAC_F, 5000);
	unsigned removed = 0;
	for (unsigned i = 0; i < cells; i++)
		removed += neigh_expire_step(&t, 5000 + NEIGH_LEARNED_TTL, 1);
	assert_int_equal(removed, 1);
	neigh_free(&t);
}

static void delete_keeps_the_rest(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct neigh_table t;
	assert_int_equal(neigh_init(&t, N), 0);
	static struct gn_addr a[N];
	static bool gone[N];
	for (uint32_t i = 0; i < N; i++) {
		a[i] = addr4(0xC6120000 + i * 7919);
		uint8_t m[6] = {2, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
		assert_int_equal(neigh_set(&t, &a[i], NEIGH_REACHABLE, m, 1), 0);
	}
	srand(7);
	for (uint32_t n = 0; n < N / 2;) {
		uint32_t i = (uint32_t)rand() % N;
		if (gone[i])
			continue;
		assert_int_equal(neigh_delete(&t, &a[i]), 0);
		gone[i] = true;
		n++;
	}
	assert_int_equal(t.count, N - N / 2);
	for (uint32_t i = 0; i < N; i++) {
		const struct neigh_entry *e = neigh_lookup(&t, &a[i]);
		if (gone[i]) {
			assert_null(e);
			assert_int_equal(neigh_delete(&t, &a[i]), -ENOENT);
		} else {
			assert_non_null(e);
			assert_int_equal(e->mac[5], (uint8_t)i);
		}
	}
	neigh_free(&t);
}

static void forget_kernel_keeps_learned(void **state)
{
	(void)state;
	struct neigh_table t;
	assert_int_equal(neigh_init(&t, 512), 0);
	for (uint32_t i = 0; i < 300; i++) {
		struct gn_addr a = addr4(0x0A000000 + i);
		if (i % 3)
			assert_int_equal(neigh_set(&t, &a, NEIGH_REACHABLE, MAC_K, 1), 0);
		else
			neigh_learn(&t, &a, MAC_F, 1);
	}
	neigh_forget_kernel(&t);
	assert_int_equal(t.count, 100);
	assert_int_equal(t.learned, 100);
	for (uint32_t i = 0; i < 300; i++) {
		struct gn_addr a = addr4(0x0A000000 + i);
		if (i % 3)
			assert_null(neigh_lookup(&t, &a));
		else
			assert_non_null(neigh_lookup(&t, &a));
	}
	neigh_free(&t);
}

static struct route_entry route(const char *text)
{
	struct route_entry r;
	const char *why;
	if (route_parse(text, &r, &why) != 0)
		fail_msg("route_parse(\"%s\"): %s", text, why);
	return r;
}

static void routes_lpm(void **state)
{
	(void)state;
	struct route_table t = {0};
	assert_int_equal(add(&t, "198.18.0.0/24"), 0);
	assert_int_equal(add(&t, "default via 198.18.0.254"), 0);
	assert_int_equal(add(&t, "203.0.113.0/24 via 198.18.0.9 metric 20"), 0);
	assert_int_equal(add(&t, "203.0.113.0/24 via 198.18.0.8 metric 10"), 0);
	assert_int_equal(add(&t, "fd00::/64"), 0);
	struct gn_addr nh, d;
	d = addr("198.18.0.77");
	assert_int_equal(route_next_hop(&t, &d, &nh), 0);
	assert_true(gn_addr_eq(&nh, &d));
	assert_true(route_on_link(&t, &d));
	d = addr("192.0.2.1");
	assert_int_equal(route_next_hop(&t, &d, &nh), 0);
	assert_true(is(&nh, "198.18.0.254"));
	assert_false(route_on_link(&t, &d));
	d = addr("203.0.113.200");   /* longest prefix, then the lower metric */
	assert_int_equal(route_next_hop(&t, &d, &nh), 0);
	assert_true(is(&nh, "198.18.0.8"));
	d = addr("2001:db8::1");   /* no IPv6 default route */
	assert_int_equal(route_next_hop(&t, &d, &nh), -ENETUNREACH);
	d = addr("fd00::5");
	assert_int_equal(route_next_hop(&t, &d, &nh), 0);
	/* Same prefix and metric: replaced; deleted by its identity. */
	assert_int_equal(add(&t, "203.0.113.9/24 via 198.18.0.7 metric 10"), 0);
	assert_int_equal(t.n, 5);
	d = addr("203.0.113.1");
	assert_int_equal(route_next_hop(&t, &d, &nh), 0);
	assert_true(is(&nh, "198.18.0.7"));
	assert_int_equal(del(&t, "203.0.113.0/24 metric 10"), 0);
	assert_int_equal(del(&t, "203.0.113.0/24 metric 10"), -ENOENT);
	assert_int_equal(route_next_hop(&t, &d, &nh), 0);
	assert_true(is(&nh, "198.18.0.9"));
}

static void route_text(void **state)
{
	(void)state;
	struct route_entry r = route("default via fd00::fe metric 100");
	assert_int_equal(r.prefix.family, AF_INET6);
	assert_int_equal(r.plen, 0);
	assert_true(r.has_gw);
	assert_int_equal(r.metric, 100);
	r = route("10.1.2.3/8");
	assert_false(r.has_gw);
	assert_int_equal(r.plen, 8);
	assert_int_equal(r.prefix.bytes[1], 0);   /* host bits cleared */
	static const char *const bad[] = {
		"", "default", "10.0.0.0/33", "10.0.0.0/8 via", "10.0.0.0/8 via fd00::1",
		"10.0.0.0/8 via 10.0.0.1 metric", "10.0.0.0/8 via 10.0.0.1 metric -1",
		"10.0.0.0/8 via 10.0.0.1 extra", "fd00::/64 via 10.0.0.1", "10.0.0.0/x", NULL,
	};
	for (int i = 0; bad[i]; i++) {
		const char *why = NULL;
		if (route_parse(bad[i], &r, &why) != -EINVAL)
			fail_msg("route_parse(\"%s\") accepted", bad[i]);
		assert_non_null(why);
	}
}

static void learn_from_frames(void **state)
{
	(void)state;
	struct neigh_table t;
	assert_int_equal(neigh_init(&t, 64), 0);
	struct route_table rt = {0};
	add(&rt, "198.18.0.0/24");
	add(&rt, "fd00::/64");
	add(&rt, "default via 198.18.0.254");
	/* ARP request from 198.18.0.2 (02:bb:..:02) for 198.18.0.1. */
	uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xbb, 0, 0, 0, 2, 0x08, 0x06,
			   0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0xbb, 0, 0, 0, 2, 198, 18, 0, 2,
			   0, 0, 0, 0, 0, 0, 198, 18, 0, 1};
	assert_int_equal(neigh_learn_frame(&t, &rt, arp, sizeof(arp), 5), 1);
	const struct neigh_entry *e = find(&t, "198.18.0.2");
	assert_non_null(e);
	assert_memory_equal(e->mac, MAC_F, 6);
	assert_int_equal(e->state, NEIGH_LEARNED);
	assert_int_equal(neigh_learn_frame(&t, &rt, arp, 41, 5), 0);   /* truncated */
	/* An ARP probe (sender 0.0.0.0) teaches nothing. */
	uint8_t probe[42];
	memcpy(probe, arp, 42);
	memset(probe + 28, 0, 4);
	assert_int_equal(neigh_learn_frame(&t, &rt, probe, 42, 5), 0);
	/* IPv4 from an on-link source, and from beyond the router (its MAC is
	 * the router's: not that address's). */
	uint8_t ip4[34] = {0x02, 0, 0, 0, 0, 1, 0x02, 0xbb, 0, 0, 0, 2, 0x08, 0x00, 0x45};
	memcpy(ip4 + 14 + 12, (uint8_t[]){198, 18, 0, 9}, 4);
	assert_int_equal(neigh_learn_frame(&t, &rt, ip4, sizeof(ip4), 6), 1);
	memcpy(ip4 + 14 + 12, (uint8_t[]){192, 0, 2, 9}, 4);
	assert_int_equal(neigh_learn_frame(&t, &rt, ip4, sizeof(ip4), 6), 0);
	assert_null(find(&t, "192.0.2.9"));
	/* A multicast source MAC is never a neighbour's. */
	memcpy(ip4 + 14 + 12, (uint8_t[]){198, 18, 0, 10}, 4);
	ip4[6] = 0x03;
	assert_int_equal(neigh_learn_frame(&t, &rt, ip4, sizeof(ip4), 6), 0);
	/* IPv6, and the unspecified source of duplicate address detection. */
	uint8_t ip6[54] = {0x33, 0x33, 0xff, 0, 0, 1, 0x02, 0xbb, 0, 0, 0, 2, 0x86, 0xdd, 0x60};
	uint8_t src6[16] = {0xfd, 0, [15] = 2};
	memcpy(ip6 + 14 + 8, src6, 16);
	assert_int_equal(neigh_learn_frame(&t, &rt, ip6, sizeof(ip6), 7), 1);
	memset(ip6 + 14 + 8, 0, 16);
	assert_int_equal(neigh_learn_frame(&t, &rt, ip6, sizeof(ip6), 7), 0);
	assert_int_equal(t.count, 3);
	/* Tagged frames are left to the kernel. */
	uint8_t tagged[46] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xbb, 0, 0, 0, 2, 0x81, 0};
	assert_int_equal(neigh_learn_frame(&t, &rt, tagged, sizeof(tagged), 8), 0);
	neigh_free(&t);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resolve_asks_once_a_second),
		cmocka_unit_test(stale_used_and_reconfirmed),
		cmocka_unit_test(kernel_wins_over_frames),
		cmocka_unit_test(learned_share_and_full),
		cmocka_unit_test(expiry),
		cmocka_unit_test(delete_keeps_the_rest),
		cmocka_unit_test(forget_kernel_keeps_learned),
		cmocka_unit_test(routes_lpm),
		cmocka_unit_test(route_text),
		cmocka_unit_test(learn_from_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
