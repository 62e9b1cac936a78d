/*
 * The settings list of control/settings_table.h is the one definition
 * (issue #10): the defaults a new policy gets, the "default" that `show
 * settings` tells, and the "affected" counts of a change all come from it.
 * Proves: `show settings` gives each setting's docs/status.md default written
 * as its value would be, and a new policy's values equal them; changing any one setting through
 * daemon_policy_commit names exactly that setting under "affected", with
 * the count of endpoints its reach says (all, those heartbeat applies to,
 * those it starts or stops applying to, the unreachable ones, the ones the
 * next expiry pass would remove).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/daemon.h"
#include "control/settings.h"
#include "glournet/coarse_clock.h"

#define NOW 1795000000u
#define DAY 86400u

static struct gn_daemon dmn;
static char dir[64];

static void test_defaults(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	assert_non_null(p);
	static const struct { const char *name, *def; } want[] = {
		{"heartbeat.enabled", "on"}, {"heartbeat.scope", "all"},
		{"heartbeat.interval", "10m"}, {"heartbeat.offline_after", "30m"},
		{"poll.interval", "30m"}, {"guard.threshold", "50"}, {"expire.after_days", "0"},
		{"notify.enabled", "on"}, {"notify.rate", "100000"}, {"notify.retries", "3"},
		{"notify.retry_after", "10s"}, {"register.replace_after", "1h"},
		{"verify.interval", "0"},
	};
	json_t *list = settings_show(p);
	assert_int_equal(json_array_size(list), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *o = json_array_get(list, i);
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *def = json_string_value(json_object_get(o, "default"));
		const char *value = json_string_value(json_object_get(o, "value"));
		assert_string_equal(name, want[i].name);
		assert_string_equal(def, want[i].def);
		assert_string_equal(value, def);   /* a default policy holds its defaults */
	}
	json_decref(list);
	/* A changed value does not move the default it is shown beside. */
	p->hb_interval = 300;
	list = settings_show(p);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "value")), "5m");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "default")),
			    "10m");
	json_decref(list);
	policy_free(p);
}

static int daemon_setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/gn-settings-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	memset(&dmn, 0, sizeof(dmn));
	gn_coarse_set(NOW);
	if (slot_table_init(&dmn.table, 1, 1u << 16) < 0 || registry_init(&dmn.reg, &dmn.table) < 0 ||
	    registry_reset_ranges(&dmn.reg, 0) < 0 || !(dmn.policy = policy_new_default()))
		return -1;
	snprintf(dmn.policy_path, sizeof(dmn.policy_path), "%s/policy.json", dir);
	dmn.started = NOW - 400 * DAY;
	/* Four endpoints: one unreachable, two silent for 40 days. */
	static const struct { const char *guid; uint32_t at; bool unreachable; } eps[] = {
		{"old-1", NOW - 40 * DAY, false}, {"old-2", NOW - 40 * DAY, true},
		{"new-1", NOW, false}, {"new-2", NOW, false},
	};
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		struct endpoint *ep;
		if (registry_add(&dmn.reg, eps[i].guid, eps[i].at, &ep) < 0)
			return -1;
		registry_set_state(&dmn.reg, ep, eps[i].unreachable, false, EP_REASON_NO_CONTACT,
				   eps[i].at);
		/* A notify address (source and port) for new-1 and the unreachable
		 * old-2: only new-1 can be notified (R11) or verified (R12). */
		if (!strcmp(eps[i].guid, "new-1") || !strcmp(eps[i].guid, "old-2")) {
			struct gn_addr src = {.family = AF_INET, .bytes = {192, 0, 2, (uint8_t)i}};
			if (registry_set_details(&dmn.reg, ep, "", NULL, 0, 21112) < 0 ||
			    registry_set_source(&dmn.reg, ep, &src) != 1)
				return -1;
		}
	}
	return 0;
}

static int daemon_teardown(void **state)
{
	(void)state;
	policy_free(dmn.policy);
	registry_destroy(&dmn.reg);
	slot_table_destroy(&dmn.table);
	unlink(dmn.policy_path);   /* policy_save renames its .tmp over it */
	rmdir(dir);
	return 0;
}

static void test_affected(void **state)
{
	(void)state;
	/* From the defaults (heartbeat on for all), one setting at a time; each
	 * change stays in force for the next. */
	static const struct { const char *name, *value; json_int_t count; } changes[] = {
		{"heartbeat.interval", "5m", 4},          /* heartbeat applies to all 4 */
		{"heartbeat.scope", "unreachable", 3},    /* stops for the 3 regular ones */
		{"heartbeat.enabled", "off", 1},          /* stops for the unreachable one */
		{"heartbeat.offline_after", "1h", 4},     /* every endpoint */
		{"poll.interval", "2h", 1},               /* the unreachable one polls */
		{"guard.threshold", "20", 4},             /* every endpoint */
		{"expire.after_days", "30", 2},           /* the two silent for 40 days */
		{"notify.enabled", "off", 1},             /* the regular one with a notify address */
		{"notify.rate", "5000", 1},
		{"notify.retries", "5", 1},
		{"notify.retry_after", "30s", 1},
		{"register.replace_after", "30d", 4},     /* none has had contact (the fixture sets none) */
		{"verify.interval", "10m", 1},            /* and heartbeat does not apply to it */
	};
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		char err[256] = "";
		struct policy *draft = policy_clone(dmn.policy);
		assert_non_null(draft);
		if (settings_set(draft, changes[i].name, changes[i].value, err, sizeof(err)) < 0)
			fail_msg("%s = %s: %s", changes[i].name, changes[i].value, err);
		json_t *result = json_object();
		if (daemon_policy_commit(&dmn, draft, result, err, sizeof(err)) < 0)
			fail_msg("%s = %s not committed: %s", changes[i].name, changes[i].value, err);
		json_t *aff = json_object_get(result, "affected");
		if (json_object_size(aff) != 1 || !json_object_get(aff, changes[i].name)) {
			char *s = json_dumps(aff, 0);
			fail_msg("%s changed: affected %s, want only it", changes[i].name, s);
		}
		json_int_t n = json_integer_value(json_object_get(aff, changes[i].name));
		if (n != changes[i].count)
			fail_msg("%s changed: affected %lld, want %lld", changes[i].name, (long long)n,
				 (long long)changes[i].count);
		json_decref(result);
	}
	/* No change, nothing affected. */
	char err[256];
	json_t *result = json_object();
	assert_int_equal(daemon_policy_commit(&dmn, policy_clone(dmn.policy), result, err,
					      sizeof(err)), 0);
	assert_int_equal(json_object_size(json_object_get(result, "affected")), 0);
	json_decref(result);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_affected, daemon_setup, daemon_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
