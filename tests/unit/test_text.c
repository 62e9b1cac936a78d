/*
 * The text rules (control/text.h), each at its edges: UTF-8 at every
 * boundary of RFC 3629 and never read past its length, control characters
 * with and without exceptions, the guid's phrases, hex in either case rule,
 * one address read exactly to its length, list items between runs of
 * separators, and X-Glournet-Ips's list (spaces trimmed, empty items
 * skipped, a blank item or one too many refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "control/text.h"
#include "glournet/text_safe.h"

static void test_utf8(void **state)
{
	(void)state;
	static const struct { const char *s; bool ok; } cases[] = {
		{"", true}, {"plain", true}, {"\x7f", true},
		{"\xc2\x80", true}, {"\xdf\xbf", true},            /* 2 bytes, both ends */
		{"\xc0\x80", false}, {"\xc1\xbf", false},          /* overlong */
		{"\xe0\xa0\x80", true}, {"\xe0\x9f\xbf", false},   /* 3 bytes; overlong */
		{"\xed\x9f\xbf", true}, {"\xed\xa0\x80", false},   /* U+D7FF; a surrogate */
		{"\xed\xbf\xbf", false}, {"\xee\x80\x80", true},   /* U+DFFF; U+E000 */
		{"\xf0\x90\x80\x80", true}, {"\xf0\x8f\xbf\xbf", false},   /* 4 bytes; overlong */
		{"\xf4\x8f\xbf\xbf", true}, {"\xf4\x90\x80\x80", false},   /* U+10FFFF; past it */
		{"\xf5\x80\x80\x80", false}, {"\xf8\x88\x80\x80\x80", false}, {"\xff", false},
		{"\x80", false}, {"a\xbf", false},                 /* a lone continuation */
		{"\xc3", false}, {"\xe6\x97", false}, {"\xf0\x9f\x98", false},   /* cut short */
		{"\xc3" "a", false}, {"\xe6\x97" "a", false},      /* not a continuation */
		{"h\xc3\xa9llo \xe6\x97\xa5 \xf0\x9f\x98\x80", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (text_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
			fail_msg("case %zu: want %s", i, cases[i].ok ? "valid" : "invalid");
	/* Only n bytes count: a sequence the length cuts is cut short, and a
	 * NUL inside is plain ASCII here (text_control_at refuses it). */
	assert_false(text_utf8_valid("\xc3\xa9", 1));
	assert_true(text_utf8_valid("ab\xff", 2));
	assert_true(text_utf8_valid("a\0b", 3));
}

static void test_control(void **state)
{
	(void)state;
	assert_int_equal(text_control_at("abc", 3, NULL), 3);
	assert_int_equal(text_control_at("a\tb", 3, NULL), 1);
	assert_int_equal(text_control_at("a\tb", 3, "\t\n\r"), 3);
	assert_int_equal(text_control_at("a\tb\x01", 4, "\t"), 3);
	assert_int_equal(text_control_at("ab\x7f", 3, "\t"), 2);
	assert_int_equal(text_control_at("a\0b", 3, "\t"), 1);    /* NUL is never allowed */
	assert_int_equal(text_control_at("\xc2\x85\xc3\xa9", 4, NULL), 4);   /* bytes >= 0x80 are not */
	assert_int_equal(text_control_at("ab\x1f", 2, NULL), 2);  /* only n bytes */
	assert_true(text_printable("h\xc3\xa9 llo", 7));
	assert_false(text_printable("a\nb", 3));
	assert_false(text_printable("a\xff", 2));
	assert_true(text_printable("", 0));
}

static void test_guid_problem(void **state)
{
	(void)state;
	char g64[65], g65[66];
	memset(g64, 'g', 64), g64[64] = '\0';
	memset(g65, 'g', 65), g65[65] = '\0';
	assert_null(text_guid_problem("g", 1));
	assert_null(text_guid_problem(g64, 64));
	assert_string_equal(text_guid_problem("", 0), "required, 1..64 printable characters");
	assert_string_equal(text_guid_problem(g65, 65), "required, 1..64 printable characters");
	assert_string_equal(text_guid_problem("a\tb", 3), TEXT_UNSAFE_PHRASE);
	assert_string_equal(text_guid_problem("a\xc2\x9b" "b", 4), TEXT_UNSAFE_PHRASE);
	assert_string_equal(text_guid_problem("a\xe2\x80\xae" "b", 5), TEXT_UNSAFE_PHRASE);
	assert_string_equal(text_guid_problem("a\xff", 2), "required, 1..64 printable characters");
	assert_string_equal(text_guid_problem("a b", 3), "must not contain spaces");
	/* Unsafe first: a guid with both says what is worst about it. */
	assert_string_equal(text_guid_problem("a b\t", 4), TEXT_UNSAFE_PHRASE);
}

/* Issue 13: C0, DEL, C1 and Unicode's Bidi_Control characters, found at
 * their offset, their neighbours not; printable refuses them all. */
static void test_unsafe(void **state)
{
	(void)state;
	static const struct { const char *s; size_t at; } cases[] = {
		{"plain", 5}, {"a\tb", 1}, {"ab\x7f", 2}, {"\x1b[2J", 0},
		{"x\xc2\x80", 1}, {"x\xc2\x85", 1}, {"x\xc2\x9f", 1}, {"x\xc2\xa0", 3},
		{"h\xc3\xa9\xe2\x80\xae", 3},                          /* RLO after é */
		{"\xe2\x80\xa9\xe2\x80\xaa", 3},                       /* U+2029 ok, LRE not */
		{"\xe2\x80\xab", 0}, {"\xe2\x80\xac", 0}, {"\xe2\x80\xad", 0},
		{"\xe2\x80\xaf", 3}, {"\xe2\x81\xa5", 3}, {"\xe2\x81\xa6", 0},
		{"\xe2\x81\xa7", 0}, {"\xe2\x81\xa8", 0}, {"\xe2\x81\xa9", 0},
		{"\xe2\x81\xaa", 3}, {"\xe2\x80\x8d", 3}, {"\xe2\x80\x8e", 0},
		{"\xe2\x80\x8f", 0}, {"\xd8\x9c", 0}, {"\xd8\x9b", 2},
		{"\xff\xc2\x85", 1},         /* invalid UTF-8 is text_utf8_valid's, C1 after it found */
		{"\xf0\x9f\x98\x80", 4},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].s), at = text_unsafe_at(cases[i].s, n);
		if (at != cases[i].at)
			fail_msg("case %zu: unsafe at %zu, want %zu", i, at, cases[i].at);
		if (text_printable(cases[i].s, n) != (at == n && text_utf8_valid(cases[i].s, n)))
			fail_msg("case %zu: printable disagrees", i);
	}
	assert_int_equal(text_unsafe_at("a\0b", 3), 1);            /* NUL */
	assert_int_equal(text_unsafe_at("ab\xe2\x80\xae", 4), 4); /* only n bytes: cut, not RLO */
	assert_false(text_printable("pc\xe2\x80\xae" "exe", 8));
	assert_false(text_printable("pc\xc2\x9b", 4));
}

/* glournetctl's escape of what it prints (glournet/text_safe.h): the
 * unsafe characters and invalid bytes as escapes, everything else as it is. */
static void test_escape(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } cases[] = {
		{"plain-host", "plain-host"},
		{"h\xc3\xa9llo \xe6\x97\xa5", "h\xc3\xa9llo \xe6\x97\xa5"},
		{"back\\slash", "back\\slash"},
		{"\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"},
		{"del\x7f", "del\\x7f"},
		{"csi\xc2\x9b" "2J", "csi\\u009b2J"},
		{"exe.\xe2\x80\xaegpj", "exe.\\u202egpj"},
		{"\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069"},
		{"\xd8\x9c", "\\u061c"},
		{"bad\xff", "bad\\xff"},
		{"cut\xe6\x97", "cut\\xe6\\x97"},
		{"sur\xed\xa0\x80", "sur\\xed\\xa0\\x80"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);
		char out[GN_TEXT_ESCAPE_SIZE(64)];
		size_t len = gn_text_escape(cases[i].in, n, out);
		assert_string_equal(out, cases[i].out);
		assert_int_equal(len, strlen(out));
		assert_int_equal(gn_text_needs_escape(cases[i].in, n), strcmp(cases[i].in, cases[i].out) != 0);
	}
	/* The worst case fits the size the header promises. */
	char worst[64], out[GN_TEXT_ESCAPE_SIZE(64)];
	memset(worst, 0xff, sizeof(worst));
	assert_int_equal(gn_text_escape(worst, sizeof(worst), out), 4 * sizeof(worst));
	for (size_t i = 0; i < 21; i++)
		memcpy(worst + 3 * i, "\xe2\x80\xae", 3);
	assert_int_equal(gn_text_escape(worst, 63, out), 21 * 6);
}

static void test_hex(void **state)
{
	(void)state;
	uint8_t b[4];
	assert_int_equal(text_hex_decode("00a1ff7e", 8, b, 4, TEXT_HEX_LOWER), 0);
	assert_memory_equal(b, "\x00\xa1\xff\x7e", 4);
	assert_int_equal(text_hex_decode("00A1FF7E", 8, b, 4, TEXT_HEX_LOWER), -EINVAL);
	assert_int_equal(text_hex_decode("00A1Ff7e", 8, b, 4, TEXT_HEX_ANY_CASE), 0);
	assert_memory_equal(b, "\x00\xa1\xff\x7e", 4);
	assert_int_equal(text_hex_decode("00a1ff7", 7, b, 4, TEXT_HEX_ANY_CASE), -EINVAL);
	assert_int_equal(text_hex_decode("00a1ff7e00", 10, b, 4, TEXT_HEX_ANY_CASE), -EINVAL);
	assert_int_equal(text_hex_decode("00a1ffg0", 8, b, 4, TEXT_HEX_ANY_CASE), -EINVAL);
	assert_int_equal(text_hex_decode("00a1ff 0", 8, b, 4, TEXT_HEX_ANY_CASE), -EINVAL);
	assert_int_equal(text_hex_decode("", 0, b, 0, TEXT_HEX_LOWER), 0);
}

static void test_addr(void **state)
{
	(void)state;
	struct gn_addr a;
	assert_int_equal(text_parse_addr("10.0.0.1", 8, &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_memory_equal(a.bytes, "\x0a\x00\x00\x01", 4);
	assert_int_equal(text_parse_addr("fd00::1", 7, &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_memory_equal(a.bytes, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_int_equal(text_parse_addr("::ffff:1.2.3.4", 14, &a), 0);
	assert_int_equal(a.family, AF_INET6);   /* mapped: still IPv6 text */
	assert_int_equal(text_parse_addr("10.0.0.1x", 8, &a), 0);   /* exactly n bytes */
	static const char *const bad[] = {
		"", " 10.0.0.1", "10.0.0.1 ", "10.0.0.256", "1.2.3", "1.2.3.4.5", "10.0.0.1/24",
		"2001:db8:::1", "example.com", "fd00::1%eth0",
		"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2550",   /* 46 bytes: longer than any */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (text_parse_addr(bad[i], strlen(bad[i]), &a) != -EINVAL)
			fail_msg("'%s' parsed as an address", bad[i]);
	assert_int_equal(text_parse_addr("10.0\0.0.1", 9, &a), -EINVAL);
}

static void test_list_next(void **state)
{
	(void)state;
	const char *s = ";; a b\t,c;;";
	size_t pos = 0, len;
	const char *item;
	const char *want[] = {"a", "b", "c"};
	for (size_t i = 0; i < 3; i++) {
		item = text_list_next(s, strlen(s), " ;,\t", &pos, &len);
		assert_non_null(item);
		assert_int_equal(len, 1);
		assert_memory_equal(item, want[i], 1);
	}
	assert_null(text_list_next(s, strlen(s), " ;,\t", &pos, &len));
	pos = 0;
	assert_null(text_list_next("", 0, ",", &pos, &len));
	pos = 0;   /* only n bytes are read */
	item = text_list_next("ab,cd", 4, ",", &pos, &len);
	assert_int_equal(len, 2);
	item = text_list_next("ab,cd", 4, ",", &pos, &len);
	assert_int_equal(len, 1);
	assert_memory_equal(item, "c", 1);
}

static void test_parse_ips(void **state)
{
	(void)state;
	struct gn_addr a[16];
	unsigned n = 99;
	assert_int_equal(text_parse_ips("10.0.0.1, fd00::1 ,192.168.1.1", a, 16, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(a[0].family, AF_INET);
	assert_int_equal(a[1].family, AF_INET6);
	assert_memory_equal(a[2].bytes, "\xc0\xa8\x01\x01", 4);
	assert_int_equal(text_parse_ips("10.0.0.1,,10.0.0.2,", a, 16, &n), 0);   /* empty: skipped */
	assert_int_equal(n, 2);
	assert_int_equal(text_parse_ips("", a, 16, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(text_parse_ips("10.0.0.1, ,10.0.0.2", a, 16, &n), -EINVAL);   /* blank */
	assert_int_equal(text_parse_ips("10.0.0.1 10.0.0.2", a, 16, &n), -EINVAL);   /* not a separator */
	assert_int_equal(text_parse_ips("10.0.0.1,\t10.0.0.2", a, 16, &n), -EINVAL);
	assert_int_equal(text_parse_ips("10.0.0.1,nope", a, 16, &n), -EINVAL);
	char list[400] = "";
	for (int i = 0; i < 16; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s10.0.0.%d", i ? "," : "", i);
	assert_int_equal(text_parse_ips(list, a, 16, &n), 0);
	assert_int_equal(n, 16);
	assert_int_equal(text_parse_ips(list, a, 15, &n), -EINVAL);   /* one too many */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_guid_problem),
		cmocka_unit_test(test_unsafe),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_list_next),
		cmocka_unit_test(test_parse_ips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
