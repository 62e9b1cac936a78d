/*
 * The one duration grammar (glournet/duration.h, issue 14) and glournetd's
 * side of it (control/duration.c). Proves: NUMBER[.FRACTION][ms|s|m|h|d],
 * a bare number being seconds, into exact milliseconds; every malformed
 * form refused with -EINVAL, a part of a millisecond (or of a second, in
 * whole seconds) with -EDOM, too long with -ERANGE, none of them writing;
 * the exact shortest spelling of a duration; the one message each refusal
 * gets, naming the option, the text, the forms or the range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "control/duration.h"
#include "glournet/duration.h"

static void test_ms_ok(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t want;
	} ok[] = {
		{"15", 15000},      {"15s", 15000},          {"500ms", 500},
		{"5m", 300000},     {"1h", 3600000},         {"2d", 172800000},
		{"0", 0},           {"0ms", 0},              {"0.5", 500},
		{"1.5s", 1500},     {"0.02", 20},            {"1.25m", 75000},
		{"0.001s", 1},      {"1.0000000000s", 1000}, {"007m", 420000},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 12345;
		int rc = gn_duration_parse_ms(ok[i].text, &v);
		if (rc != 0 || v != ok[i].want)
			fail_msg("'%s': rc %d, %llu ms; want %llu", ok[i].text, rc,
				 (unsigned long long)v, (unsigned long long)ok[i].want);
	}
	uint64_t v;
	assert_int_equal(gn_duration_parse_ms("9007199254740992ms", &v), 0); /* 2^53 */
	assert_true(v == (uint64_t)1 << 53);
}

static void test_ms_bad(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
	} bad[] = {
		{"", -EINVAL},        {"m", -EINVAL},         {"10x", -EINVAL},
		{"-5", -EINVAL},      {"10mm", -EINVAL},      {" 5", -EINVAL},
		{"5 ", -EINVAL},      {"+5", -EINVAL},        {"10M", -EINVAL},
		{"0x10", -EINVAL},    {"10 m", -EINVAL},      {"s10", -EINVAL},
		{".5s", -EINVAL},     {"5.s", -EINVAL},       {"1e3", -EINVAL},
		{"1.2.3s", -EINVAL},  {"5sec", -EINVAL},      {"5S", -EINVAL},
		{"1h30m", -EINVAL},   {"5 ms", -EINVAL},      {"msec", -EINVAL},
		{"1.5ms", -EDOM},     {"0.0001", -EDOM},      {"0.0000000001s", -EDOM},
		{"9007199254740993ms", -ERANGE},              {"99999999999999999999999", -ERANGE},
		{"999999999999999999999999999999x", -EINVAL}, {"200000000000d", -ERANGE},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 12345;
		int rc = gn_duration_parse_ms(bad[i].text, &v);
		if (rc != bad[i].rc)
			fail_msg("'%s': rc %d, want %d", bad[i].text, rc, bad[i].rc);
		if (v != 12345)
			fail_msg("'%s' was refused but wrote %llu", bad[i].text, (unsigned long long)v);
	}
	uint64_t v = 1;
	assert_int_equal(gn_duration_parse_ms(NULL, &v), -EINVAL);
	assert_int_equal(v, 1);
}

/* glournetd's (duration_parse): the same grammar, whole seconds. */
static void test_seconds(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint32_t want;
	} ok[] = {
		{"30s", 30},
		{"10m", 600},
		{"2h", 7200},
		{"1d", 86400},
		{"45", 45},
		{"0", 0},
		{"1.5h", 5400},
		{"2000ms", 2},
		{"129600m", 129600u * 60},
		{"4294967295", UINT32_MAX},
		{"49710d", 49710u * 86400},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint32_t v = 12345;
		int rc = duration_parse(ok[i].text, &v);
		if (rc != 0 || v != ok[i].want)
			fail_msg("'%s': rc %d, %u s; want %u", ok[i].text, rc, v, ok[i].want);
	}
	static const struct {
		const char *text;
		int rc;
	} bad[] = {
		{"500ms", -EDOM},        {"1.5s", -EDOM},     {"10x", -EINVAL},
		{"4294967296", -ERANGE}, {"49711d", -ERANGE}, {"", -EINVAL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v = 12345;
		int rc = duration_parse(bad[i].text, &v);
		if (rc != bad[i].rc || v != 12345)
			fail_msg("'%s': rc %d (want %d), wrote %u", bad[i].text, rc, bad[i].rc, v);
	}
}

static void test_format(void **state)
{
	(void)state;
	static const struct {
		uint64_t ms;
		const char *want;
	} f[] = {
		{0, "0s"},           {1, "1ms"},          {500, "500ms"},    {1000, "1s"},
		{1500, "1.5s"},      {1250, "1.25s"},     {1001, "1.001s"},  {90000, "90s"},
		{300000, "5m"},      {3600000, "1h"},     {5400000, "90m"},  {86400000, "1d"},
		{172800000, "2d"},   {129600ull * 60000, "90d"},
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		char buf[32], back[32];
		gn_duration_format(f[i].ms, buf, sizeof(buf));
		if (strcmp(buf, f[i].want))
			fail_msg("%llu ms written '%s', want '%s'", (unsigned long long)f[i].ms, buf,
				 f[i].want);
		uint64_t v;
		snprintf(back, sizeof(back), "%s", buf);
		if (gn_duration_parse_ms(back, &v) || v != f[i].ms)
			fail_msg("'%s' does not read back as %llu ms", buf, (unsigned long long)f[i].ms);
	}
}

/* The one message: the option, the text and what was wrong. */
static void test_messages(void **state)
{
	(void)state;
	char err[256];
	uint64_t ms = 7;
	assert_int_equal(gn_duration_take("--interval", "5sec", 1, 86400000, 0, &ms, err,
					  sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "--interval: '5sec' is not a duration: write a number and a "
				 "unit: ms, s, m, h or d (500ms, 15s, 5m, 1h, 2d; no unit: seconds)");
	assert_int_equal(ms, 7);
	assert_int_equal(gn_duration_take("--interval", "2d", 1, 86400000, 0, &ms, err,
					  sizeof(err)),
			 -ERANGE);
	assert_string_equal(err, "--interval: '2d' is out of range: 1ms .. 1d");
	assert_int_equal(gn_duration_take("--timeout", "500ms", 1000, 3600000, 1, &ms, err,
					  sizeof(err)),
			 -EDOM);
	assert_string_equal(err, "--timeout: '500ms' is finer than it takes (whole seconds), "
				 "in 1s .. 1h");
	assert_int_equal(gn_duration_take("--interval", "500ms", 1, 86400000, 0, &ms, err,
					  sizeof(err)),
			 0);
	assert_int_equal(ms, 500);

	uint32_t s = 9;
	assert_int_equal(duration_take_s("--window", "0", 1, 86400, &s, err, sizeof(err)),
			 -ERANGE);
	assert_string_equal(err, "--window: '0' is out of range: 1s .. 1d");
	assert_int_equal(duration_take_s("--window", "5m", 1, 86400, &s, err, sizeof(err)), 0);
	assert_int_equal(s, 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ms_ok),    cmocka_unit_test(test_ms_bad),
		cmocka_unit_test(test_seconds),  cmocka_unit_test(test_format),
		cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
