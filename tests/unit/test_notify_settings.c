/*
 * The settings of R11 and R12 (docs/status.md): notify.enabled,
 * notify.rate, notify.retries, notify.retry_after, verify.interval.
 * Proves: each accepts exactly its documented range (a rate 1 .. 10000000
 * and retries 0 .. 10 as plain whole numbers, a retry wait 1s .. 1h with a
 * unit, a verification interval 0 (off) or 1s .. 129600m) and refuses the
 * rest with a message naming the setting and the range, leaving the draft
 * as it was; `show settings` writes verify.interval's off as "0"; the
 * policy file keeps them; and the verification warning comes exactly when
 * verify.interval plus its retries is not below offline_after while
 * heartbeat does not apply to regular endpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/policy.h"
#include "control/policy_store.h"
#include "control/settings.h"
#include "support/tu_scratch.h"

__attribute__((weak)) uint32_t gn_coarse_now_sec;

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void must_set(struct policy *p, const char *name, const char *value)
{
	char err[512] = "";
	if (settings_set(p, name, value, err, sizeof(err)) != 0)
		fail_msg("%s = '%s' rejected: %s", name, value, err);
}

static void must_reject(struct policy *p, const char *name, const char *value, const char *range)
{
	struct policy before = *p;
	char err[512] = "";
	if (settings_set(p, name, value, err, sizeof(err)) == 0)
		fail_msg("%s = '%s' accepted", name, value);
	if (!strstr(err, name) || !strstr(err, range))
		fail_msg("%s = '%s': message should name the setting and '%s': %s", name, value,
			 range, err);
	assert_memory_equal(&before, p, sizeof(before));
}

static void test_rate_and_retries(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	assert_int_equal(p->notify_rate, 100000);
	assert_int_equal(p->notify_retries, 3);
	must_set(p, "notify.rate", "1");
	assert_int_equal(p->notify_rate, 1);
	must_set(p, "notify.rate", "10000000");
	assert_int_equal(p->notify_rate, 10000000);
	static const char *const bad_rate[] = {"0", "10000001", "-1", "", "1e3", "100k", "5s",
					       "99999999999999999999", " 5", "0x10"};
	for (size_t i = 0; i < N_OF(bad_rate); i++)
		must_reject(p, "notify.rate", bad_rate[i], "1 .. 10000000");
	must_set(p, "notify.retries", "0");
	assert_int_equal(p->notify_retries, 0);
	must_set(p, "notify.retries", "10");
	assert_int_equal(p->notify_retries, 10);
	static const char *const bad_retries[] = {"11", "-1", "", "3x", "2.5", "4294967299"};
	for (size_t i = 0; i < N_OF(bad_retries); i++)
		must_reject(p, "notify.retries", bad_retries[i], "0 .. 10");
	must_set(p, "notify.enabled", "off");
	assert_false(p->notify_enabled);
	must_reject(p, "notify.enabled", "0", "on, off");
	policy_free(p);
}

static void test_durations(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	assert_int_equal(p->notify_retry_after, 10);
	assert_int_equal(p->verify_interval, 0);
	must_set(p, "notify.retry_after", "1s");
	assert_int_equal(p->notify_retry_after, 1);
	must_set(p, "notify.retry_after", "1h");
	assert_int_equal(p->notify_retry_after, 3600);
	must_set(p, "notify.retry_after", "59m");
	assert_int_equal(p->notify_retry_after, 59 * 60);
	static const char *const bad_wait[] = {"0s", "3601s", "61m", "2h", "0.5", "", "1x", "0"};
	for (size_t i = 0; i < N_OF(bad_wait); i++)
		must_reject(p, "notify.retry_after", bad_wait[i], "1s .. 1h");
	must_set(p, "verify.interval", "10m");
	assert_int_equal(p->verify_interval, 600);
	must_set(p, "verify.interval", "129600m");
	assert_int_equal(p->verify_interval, 129600u * 60);
	must_set(p, "verify.interval", "0");
	assert_int_equal(p->verify_interval, 0);
	must_set(p, "verify.interval", "1s");
	must_set(p, "verify.interval", "0s"); /* off, however written */
	assert_int_equal(p->verify_interval, 0);
	static const char *const bad_verify[] = {"129601m", "91d", "1.5", "-1", "", "off"};
	for (size_t i = 0; i < N_OF(bad_verify); i++)
		must_reject(p, "verify.interval", bad_verify[i], "0 (off) or 1s .. 129600m");
	policy_free(p);
}

static const char *value_of(json_t *list, const char *name, const char *field)
{
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o) if (!strcmp(json_string_value(json_object_get(o, "name")),
						   name)) return json_string_value(json_object_get(o, field));
	fail_msg("%s not in show settings", name);
	return NULL;
}

static void test_show_and_file(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	json_t *list = settings_show(p);
	assert_string_equal(value_of(list, "verify.interval", "value"), "0");
	assert_string_equal(value_of(list, "verify.interval", "default"), "0");
	assert_string_equal(value_of(list, "notify.retry_after", "value"), "10s");
	assert_string_equal(value_of(list, "notify.rate", "value"), "100000");
	json_decref(list);
	must_set(p, "verify.interval", "2h");
	must_set(p, "notify.rate", "2500");
	must_set(p, "notify.retries", "0");
	must_set(p, "notify.enabled", "off");
	list = settings_show(p);
	assert_string_equal(value_of(list, "verify.interval", "value"), "2h");
	json_decref(list);

	struct tu_scratch dir;
	assert_int_equal(tu_scratch_make(&dir, "notify-settings", NULL), 0);
	char path[600], err[512];
	snprintf(path, sizeof(path), "%s/policy.json", dir.dir);
	assert_int_equal(policy_save(path, p, err, sizeof(err)), 0);
	struct policy *q = NULL;
	assert_int_equal(policy_load(path, &q, err, sizeof(err)), 0);
	assert_int_equal(q->verify_interval, 7200);
	assert_int_equal(q->notify_rate, 2500);
	assert_int_equal(q->notify_retries, 0);
	assert_false(q->notify_enabled);
	assert_int_equal(q->notify_retry_after, 10);
	policy_free(q);
	assert_int_equal(tu_scratch_remove(&dir), 0);
	policy_free(p);
}

static bool warns(const struct policy *p, const char *needle)
{
	json_t *out = json_array();
	settings_warnings(p, 10, out);
	bool found = false;
	size_t i;
	json_t *w;
	json_array_foreach(out, i, w) found |= strstr(json_string_value(w), needle) != NULL;
	json_decref(out);
	return found;
}

static bool warns_verify(const struct policy *p)
{
	return warns(p, "not below heartbeat.offline_after");
}

/* A verification restarts a silent endpoint's round: one longer than the
 * interval never ends, and the endpoint never goes offline with no-ack. */
static void test_verify_round_warning(void **state)
{
	(void)state;
	struct policy *p = policy_new_default(); /* 3 retries 10 s apart: rounds of 40 s */
	const char *w = "shorter than a round";
	must_set(p, "verify.interval", "40s");
	assert_false(warns(p, w));
	must_set(p, "verify.interval", "39s");
	assert_true(warns(p, w));
	must_set(p, "notify.retries", "2"); /* 30 s */
	assert_false(warns(p, w));
	must_set(p, "verify.interval", "0");
	assert_false(warns(p, w)); /* off */
	policy_free(p);
}

static void test_verify_warning(void **state)
{
	(void)state;
	struct policy *p = policy_new_default(); /* offline_after 30m, 3 retries 10 s apart */
	must_set(p, "verify.interval", "29m");
	assert_false(warns_verify(p)); /* heartbeat applies to every endpoint */
	must_set(p, "heartbeat.scope", "unreachable");
	must_set(p, "verify.interval", "1769s"); /* 29m29s */
	assert_false(warns_verify(p)); /* + 30 s = 29m59s: below */
	must_set(p, "verify.interval", "1770s"); /* 29m30s */
	assert_true(warns_verify(p)); /* + 30 s = 30m: not below */
	must_set(p, "notify.retries", "0");
	assert_false(warns_verify(p));
	must_set(p, "verify.interval", "30m");
	assert_true(warns_verify(p));
	must_set(p, "verify.interval", "0");
	assert_false(warns_verify(p)); /* off */
	must_set(p, "verify.interval", "1h");
	must_set(p, "heartbeat.scope", "all");
	must_set(p, "heartbeat.enabled", "off");
	assert_true(warns_verify(p)); /* heartbeat applies to nobody */
	must_set(p, "heartbeat.enabled", "on");
	assert_false(warns_verify(p));
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_and_retries),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_show_and_file),
		cmocka_unit_test(test_verify_warning),
		cmocka_unit_test(test_verify_round_warning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
