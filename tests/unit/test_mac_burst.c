/*
 * The burst MAC verifier (hb_mac_burst.h) against libsodium: every variant
 * this CPU can run (scalar always; AVX2 and AVX-512 where present, skipped
 * and said so otherwise) answers, for bursts of every length 0..64 of
 * random keys and payloads, exactly the bit mask libsodium's SipHash-2-4
 * gives, with good MACs, forged ones (a single flipped bit in key, covered
 * bytes or MAC, at random lanes) and all forged; lanes of one burst do not
 * leak into each other (the same heartbeat gets the same answer at every
 * position). Also: the default variant is the widest supported, a variant
 * the CPU lacks cannot be selected, and one that is selected is used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "glournet/hb_mac_burst.h"
#include "glournet/heartbeat.h"
#include "support/tu_rand.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t rnd(void) { return tu_rand(&rng); }

struct hb_case {
	uint8_t key[HB_KEY_LEN];
	uint8_t pl[HB_PAYLOAD_LEN];
};

/* A random heartbeat with a right MAC; `forge` flips one random bit of
 * its key, covered bytes or MAC afterwards. */
static void make_case(struct hb_case *c, int forge)
{
	for (size_t i = 0; i < sizeof(c->key); i++)
		c->key[i] = (uint8_t)rnd();
	for (size_t i = 0; i < HB_MAC_COVERED; i++)
		c->pl[i] = (uint8_t)rnd();
	crypto_shorthash_siphash24(c->pl + HB_MAC_COVERED, c->pl, HB_MAC_COVERED, c->key);
	if (forge) {
		unsigned bit = (unsigned)(rnd() % (8 * (HB_KEY_LEN + HB_PAYLOAD_LEN)));
		if (bit < 8 * HB_KEY_LEN)
			c->key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		else
			c->pl[(bit - 8 * HB_KEY_LEN) / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

/* What libsodium says about case c. */
static int sodium_ok(const struct hb_case *c)
{
	uint8_t want[HB_MAC_LEN];
	crypto_shorthash_siphash24(want, c->pl, HB_MAC_COVERED, c->key);
	return memcmp(want, c->pl + HB_MAC_COVERED, HB_MAC_LEN) == 0;
}

static void check_variant(enum hb_mac_impl impl)
{
	if (!hb_mac_impl_supported(impl)) {
		printf("# %s: not supported on this CPU, not tested here\n", hb_mac_impl_name(impl));
		skip();
	}
	static struct hb_case cases[HB_MAC_BURST_MAX];
	const uint8_t *key[HB_MAC_BURST_MAX], *pl[HB_MAC_BURST_MAX];
	unsigned bursts = 0, forged = 0, good = 0;
	for (int round = 0; round < 300; round++) {
		for (unsigned n = 0; n <= HB_MAC_BURST_MAX; n++) {
			/* Rounds alternate: all good, 1 in 4 forged, all forged. */
			uint64_t want = 0;
			for (unsigned i = 0; i < n; i++) {
				int forge = round % 3 == 0 ? 0 : round % 3 == 1 ? rnd() % 4 == 0 : 1;
				make_case(&cases[i], forge);
				key[i] = cases[i].key;
				pl[i] = cases[i].pl;
				if (sodium_ok(&cases[i])) {
					want |= 1ull << i;
					good++;
				} else {
					forged++;
				}
			}
			uint64_t got = hb_mac_verify_burst_with(impl, key, pl, n);
			if (got != want)
				fail_msg("%s, burst of %u: mask %016llx, libsodium %016llx",
					 hb_mac_impl_name(impl), n, (unsigned long long)got,
					 (unsigned long long)want);
			bursts++;
		}
	}
	assert_true(good > 1000 && forged > 1000);
	printf("# %s: %u bursts, %u good and %u forged MACs, all as libsodium\n",
	       hb_mac_impl_name(impl), bursts, good, forged);
}

static void test_scalar(void **state) { (void)state; check_variant(HB_MAC_IMPL_SCALAR); }
static void test_avx2(void **state) { (void)state; check_variant(HB_MAC_IMPL_AVX2); }
static void test_avx512(void **state) { (void)state; check_variant(HB_MAC_IMPL_AVX512); }

/* One forged heartbeat at every position of a full burst of good ones,
 * and one good among forged: only its own bit moves. */
static void test_lanes_independent(void **state)
{
	(void)state;
	static struct hb_case cases[HB_MAC_BURST_MAX];
	const uint8_t *key[HB_MAC_BURST_MAX], *pl[HB_MAC_BURST_MAX];
	for (unsigned i = 0; i < HB_MAC_BURST_MAX; i++) {
		make_case(&cases[i], 0);
		key[i] = cases[i].key;
		pl[i] = cases[i].pl;
	}
	for (int impl = 0; impl < HB_MAC_IMPL_COUNT; impl++) {
		if (!hb_mac_impl_supported((enum hb_mac_impl)impl))
			continue;
		for (unsigned n = 1; n <= HB_MAC_BURST_MAX; n++) {
			uint64_t all = n == 64 ? ~0ull : (1ull << n) - 1;
			for (unsigned at = 0; at < n; at++) {
				cases[at].pl[HB_MAC_COVERED] ^= 0x80;
				uint64_t got = hb_mac_verify_burst_with((enum hb_mac_impl)impl, key, pl, n);
				cases[at].pl[HB_MAC_COVERED] ^= 0x80;
				if (got != (all & ~(1ull << at)))
					fail_msg("%s: forged lane %u of %u gives %016llx",
						 hb_mac_impl_name((enum hb_mac_impl)impl), at, n,
						 (unsigned long long)got);
			}
		}
	}
}

static void test_selection(void **state)
{
	(void)state;
	enum hb_mac_impl widest = HB_MAC_IMPL_SCALAR;
	for (int i = 0; i < HB_MAC_IMPL_COUNT; i++)
		if (hb_mac_impl_supported((enum hb_mac_impl)i))
			widest = (enum hb_mac_impl)i;
	assert_int_equal(hb_mac_burst_impl(), widest);
	printf("# default variant here: %s\n", hb_mac_impl_name(widest));
	assert_true(hb_mac_impl_supported(HB_MAC_IMPL_SCALAR));
	assert_int_equal(hb_mac_burst_select(HB_MAC_IMPL_COUNT), -EINVAL);
	struct hb_case c;
	make_case(&c, 0);
	const uint8_t *key[1] = {c.key}, *pl[1] = {c.pl};
	for (int i = 0; i < HB_MAC_IMPL_COUNT; i++) {
		int rc = hb_mac_burst_select((enum hb_mac_impl)i);
		if (!hb_mac_impl_supported((enum hb_mac_impl)i)) {
			assert_int_equal(rc, -ENOTSUP);
			assert_int_equal(hb_mac_verify_burst_with((enum hb_mac_impl)i, key, pl, 1), 0);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(hb_mac_burst_impl(), i);
		assert_int_equal(hb_mac_verify_burst(key, pl, 1), 1);
	}
	assert_int_equal(hb_mac_burst_select(widest), 0);
	assert_string_equal(hb_mac_impl_name(HB_MAC_IMPL_AVX512), "avx512");
	assert_string_equal(hb_mac_impl_name(HB_MAC_IMPL_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_scalar),
		cmocka_unit_test(test_avx2),
		cmocka_unit_test(test_avx512),
		cmocka_unit_test(test_lanes_independent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
