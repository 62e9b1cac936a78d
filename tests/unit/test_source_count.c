/*
 * Per-source counts (control/source_count.c) and source keys
 * (control/source_key.c), the bookkeeping of the HTTP API's per-source
 * connection limit. Proves: two addresses in one IPv6 /64 (or one IPv4
 * address and its mapped form) are one source, the next /64 another, and
 * other prefix lengths cut where they say; a source counts what it holds
 * and leaves the table when it holds nothing, so the table, sized for the
 * most that can be held at once, never fills with idle sources however
 * many come and go; past its capacity it refuses rather than forget
 * anyone; log text names the prefix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "control/source_count.h"
#include "control/source_key.h"

static struct source_key key(const char *text, struct source_prefix p)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(1234);
	} else if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(4321);
	} else {
		fail_msg("bad test address '%s'", text);
	}
	return source_key_of((struct sockaddr *)&ss, p);
}

static bool same(const char *a, const char *b, struct source_prefix p)
{
	struct source_key ka = key(a, p), kb = key(b, p);
	return source_key_eq(&ka, &kb);
}

static void test_keys(void **state)
{
	(void)state;
	struct source_prefix d = SOURCE_PREFIX_DEFAULT;
	assert_true(same("2001:db8:1:2::1", "2001:db8:1:2:abcd::7", d));
	assert_false(same("2001:db8:1:2::1", "2001:db8:1:3::1", d));
	assert_true(same("192.0.2.7", "::ffff:192.0.2.7", d));
	assert_false(same("192.0.2.7", "192.0.2.8", d));
	assert_false(same("192.0.2.7", "::192.0.2.7", d));   /* IPv4-compatible: IPv6 */
	struct source_prefix wide = {16, 32};
	assert_true(same("10.1.2.3", "10.1.200.3", wide));
	assert_false(same("10.1.2.3", "10.2.2.3", wide));
	assert_true(same("2001:db8:1::", "2001:db8:ffff::1", wide));
	struct source_prefix odd = {1, 1};
	assert_true(same("1.2.3.4", "127.255.255.255", odd));
	assert_false(same("1.2.3.4", "128.0.0.0", odd));
	assert_true(same("::1", "7fff::", odd));
	assert_false(same("::1", "8000::", odd));
	/* No address, or not IP: one shared source. */
	struct source_key none = source_key_of(NULL, d);
	struct sockaddr un = {.sa_family = AF_UNIX};
	struct source_key unix_ = source_key_of(&un, d);
	assert_true(source_key_eq(&none, &unix_));

	char buf[SOURCE_KEY_TEXT];
	struct source_key k = key("2001:db8:1:2:3:4:5:6", d);
	assert_string_equal(source_key_text(&k, d, buf), "2001:db8:1:2::/64");
	k = key("::ffff:198.51.100.77", (struct source_prefix){24, 64});
	assert_string_equal(source_key_text(&k, (struct source_prefix){24, 64}, buf),
			    "198.51.100.0/24");
}

static void test_counts(void **state)
{
	(void)state;
	struct source_count sc;
	struct source_prefix d = SOURCE_PREFIX_DEFAULT;
	assert_int_equal(sc_init(&sc, 8), 0);
	struct source_key a1 = key("2001:db8:5::1", d), a2 = key("2001:db8:5::2", d);
	struct source_key b = key("2001:db8:6::1", d);
	int h1 = sc_acquire(&sc, &a1);
	int h2 = sc_acquire(&sc, &a2);   /* the same /64: the same entry */
	assert_true(h1 > 0);
	assert_int_equal(h2, h1);
	assert_int_equal(sc_get(&sc, &a1), 2);
	assert_int_equal(sc_get(&sc, &b), 0);
	int hb = sc_acquire(&sc, &b);
	assert_true(hb > 0 && hb != h1);
	assert_int_equal(sc.sources, 2);
	sc_release(&sc, h1);
	assert_int_equal(sc_get(&sc, &a2), 1);
	sc_release(&sc, h2);
	assert_int_equal(sc_get(&sc, &a1), 0);
	assert_int_equal(sc.sources, 1);
	/* A stale or foreign handle does nothing. */
	sc_release(&sc, h1);
	sc_release(&sc, 0);
	sc_release(&sc, 99);
	assert_int_equal(sc_get(&sc, &b), 1);
	sc_destroy(&sc);
}

static void test_bound(void **state)
{
	(void)state;
	struct source_count sc;
	struct source_prefix d = SOURCE_PREFIX_DEFAULT;
	assert_int_equal(sc_init(&sc, 4), 0);
	/* 100,000 sources come and go, at most 4 held at once: it never fills. */
	char a[64];
	int held[4] = {0};
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
		struct source_key k = key(a, d);
		if (held[i % 4])
			sc_release(&sc, held[i % 4]);
		held[i % 4] = sc_acquire(&sc, &k);
		assert_true(held[i % 4] > 0);
		assert_true(sc.sources <= 4);
	}
	/* Full of sources holding something: a fifth is refused, nobody is
	 * forgotten, and one already there may still hold more. */
	struct source_key fifth = key("192.0.2.1", d);
	assert_int_equal(sc_acquire(&sc, &fifth), -ENOSPC);
	assert_int_equal(sc_get(&sc, &fifth), 0);
	snprintf(a, sizeof(a), "2001:db8:%x:%x::9", 99999 >> 16, 99999 & 0xffff);
	struct source_key last = key(a, d);
	assert_int_equal(sc_acquire(&sc, &last), held[99999 % 4]);
	assert_int_equal(sc_get(&sc, &last), 2);
	for (int i = 0; i < 4; i++)
		sc_release(&sc, held[i]);
	sc_release(&sc, held[99999 % 4]);
	assert_int_equal(sc.sources, 0);
	assert_true(sc_acquire(&sc, &fifth) > 0);
	sc_destroy(&sc);

	assert_int_equal(sc_init(&sc, 0), -EINVAL);
	assert_int_equal(sc_init(&sc, (1u << 24) + 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
