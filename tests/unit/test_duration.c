/*
 * duration_parse (control/duration.c): takes exactly <digits>[s|m|h|d]
 * within 32 bits, and refuses everything else without writing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <cmocka.h>

#include "control/duration.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_ok),
		cmocka_unit_test(test_duration_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
