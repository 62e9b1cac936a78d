/*
 * The control socket's commands (control/ctl_commands.c and the files of
 * its command table) through ctl_dispatch on the fake daemon. Proves:
 * help lists every command; show status, show client and show stats
 * report what the daemon holds (fresh from the workers, times past 2038
 * as they went in); set, range add/del/list and guard release apply,
 * persist and refuse all or nothing; malformed requests are counted and
 * answered; watch, dispatched as one request, answers an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/ctl_commands.h"
#include "control/daemon.h"
#include "control/policy.h"
#include "control/ranges.h"
#include "control/registry.h"
#include "control/status.h"
#include "glournet/coarse_clock.h"
#include "glournet/duration.h"
#include "support/tu_daemon.h"
#include "support/tu_heartbeat.h"
#include "support/tu_json.h"
#include "support/tu_registry.h"
#include "support/tu_scratch.h"
#include "support/tu_run.h"

/*
 * The coarse clock's storage is defined in the dataplane core
 * (dataplane/coarse_clock.c), which this test links. The weak definition
 * only stands in should it move out again: a strong one always wins.
 */
__attribute__((weak)) uint32_t gn_coarse_now_sec;

#define NOW TU_NOW

static struct gn_daemon dmn;
static struct tu_scratch dir;    /* where set and range persist the policy */

static int ctl_setup(void **state)
{
	(void)state;
	if (tu_ctl_open(&dmn, &dir, "ctl") < 0)
		return -1;
	/* Not the default, so what show status reports is seen to come from
	 * the policy in force. */
	dmn.policy->offline_after = 2400;
	return 0;
}

static int ctl_teardown(void **state)
{
	(void)state;
	return tu_ctl_close(&dmn, &dir);
}

/* A client that registered at `now` with one IPv4 address (NULL: none). */
static struct endpoint *ctl_client(const char *guid, const char *ip, uint32_t now)
{
	struct endpoint *ep;
	assert_int_equal(registry_add(&dmn.reg, guid, now, &ep), 0);
	if (ip) {
		struct gn_addr a = {.family = AF_INET};
		assert_int_equal(inet_pton(AF_INET, ip, a.bytes), 1);
		assert_int_equal(registry_set_ips(&dmn.reg, ep, &a, 1), 0);
	}
	status_on_register(&dmn.reg, dmn.policy, ep, now);
	return ep;
}

static void test_ctl_help(void **state)
{
	(void)state;
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"help\"]}", true);
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
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"help\", \"me\"]}", false));
}

static void test_ctl_show_status(void **state)
{
	(void)state;
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"status\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "clients"), 0);
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
	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "clients"), 5);
	assert_int_equal(tu_jint(r, "online"), 2);
	assert_int_equal(tu_jint(r, "offline"), 1);
	assert_int_equal(tu_jint(r, "unreachable_online"), 1);
	assert_int_equal(tu_jint(r, "unreachable_offline"), 1);
	assert_int_equal(tu_jint(r, "workers"), 2);
	assert_int_equal(tu_jint(r, "offline_after"), 2400);
	assert_int_equal(tu_jint(r, "settings_rev"), 5);
	assert_int_equal(tu_jint(r, "now"), NOW);
	assert_int_equal(tu_jint(r, "started"), NOW - 1000);
	/* R9: started 1000 s ago, offline_after 2400 s. */
	assert_true(json_is_true(json_object_get(r, "restart_grace")));
	json_t *g = json_object_get(r, "guard");
	assert_true(json_is_object(g));
	assert_true(json_is_false(json_object_get(g, "active")));
	assert_int_equal(tu_jint(g, "held"), 0);
	assert_int_equal(tu_jint(g, "since"), 0);
	assert_int_equal(tu_jint(g, "threshold"), 50);
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
	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_true(json_is_false(json_object_get(r, "restart_grace")));
	g = json_object_get(r, "guard");
	assert_true(json_is_true(json_object_get(g, "active")));
	assert_int_equal(tu_jint(g, "since"), NOW - 30);
	assert_int_equal(tu_jint(g, "held"), 7);
	assert_int_equal(tu_jint(g, "at_risk"), 12);
	assert_int_equal(tu_jint(g, "online"), 14);
	assert_int_equal(tu_jint(g, "raised"), 1);
	assert_int_equal(tu_jint(g, "threshold"), 40);
	json_decref(j);
}

static void test_ctl_show_client(void **state)
{
	(void)state;
	struct endpoint *ep = ctl_client("client-guid-1", "192.0.2.7", NOW - 100);
	struct gn_addr a = {.family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, "192.0.2.7", a.bytes), 1);
	assert_int_equal(registry_set_details(&dmn.reg, ep, "pc-1", &a, 1, 21112), 0);
	assert_int_equal(tu_heartbeat_ep(&dmn.table, ep, registry_key(&dmn.reg, ep), 1, NOW - 20, NOW), HB_ACCEPTED);
	char id[17], line[128];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)ep->id);

	/* By guid and by id: the same client. */
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"client\", \"client-guid-1\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_string_equal(tu_jstr(r, "id"), id);
	assert_string_equal(tu_jstr(r, "guid"), "client-guid-1");
	assert_int_equal(tu_jint(r, "slot"), ep->slot);
	assert_string_equal(tu_jstr(r, "status"), "online");
	assert_true(json_is_false(json_object_get(r, "unreachable")));
	/* Fresh from the workers, not as of the last sweep (none ran). */
	assert_int_equal(tu_jint(r, "last_heartbeat"), NOW - 20);
	assert_int_equal(tu_jint(r, "last_poll"), 0);
	assert_int_equal(tu_jint(r, "last_contact"), NOW - 20);
	assert_int_equal(tu_jint(r, "registered"), NOW - 100);
	assert_int_equal(tu_jint(r, "status_since"), NOW - 100);
	assert_int_equal(tu_jint(r, "notify_port"), 21112);
	assert_string_equal(tu_jstr(r, "reason"), "registered");
	assert_string_equal(tu_jstr(r, "hostname"), "pc-1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "ips"), 0)),
			    "192.0.2.7");
	json_decref(j);

	snprintf(line, sizeof(line), "{\"argv\": [\"show\", \"client\", \"%s\"]}", id);
	j = tu_ctl(&dmn, line, true);
	assert_string_equal(tu_jstr(json_object_get(j, "result"), "guid"), "client-guid-1");
	json_decref(j);

	/* A guid that looks like an id is still found as a guid. */
	assert_int_equal(registry_add(&dmn.reg, "00000000deadbeef", NOW, &ep), 0);
	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"client\", \"00000000deadbeef\"]}", true);
	assert_string_equal(tu_jstr(json_object_get(j, "result"), "guid"), "00000000deadbeef");
	json_decref(j);

	/* Unknown: ok false, the message names what was asked for. */
	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"client\", \"no-such-guid-42\"]}", false);
	assert_non_null(strstr(tu_jstr(j, "error"), "no-such-guid-42"));
	json_decref(j);
	snprintf(line, sizeof(line), "{\"argv\": [\"show\", \"client\", \"%016llx\"]}",
		 (unsigned long long)((*registry_at(&dmn.reg, 0)).id ^ 1));
	j = tu_ctl(&dmn, line, false);
	json_decref(j);
	/* Missing argument: usage. */
	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"client\"]}", false);
	assert_non_null(strstr(tu_jstr(j, "error"), "show client"));
	json_decref(j);
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"show\", \"client\", \"a\", \"b\"]}", false));
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
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"stats\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(json_array_size(json_object_get(r, "workers")), 2);
	json_t *total = json_object_get(r, "total");
	assert_int_equal(tu_jint(total, "rx"), 15);
	assert_int_equal(tu_jint(total, "accepted"), 11);
	json_t *dropped = json_object_get(total, "dropped");
	assert_int_equal(tu_jint(dropped, "bad_mac"), 3);
	assert_int_equal(tu_jint(dropped, "too_old"), 1);
	assert_int_equal(tu_jint(dropped, "frame_short"), 0);
	assert_null(json_object_get(dropped, "accepted"));
	assert_int_equal(tu_jint(json_object_get(r, "http"), "register_new"), 9);
	json_decref(j);
}

static void test_ctl_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "not json", "{", "[\"help\"]", "{}", "{\"argv\": []}", "{\"argv\": \"help\"}",
		"{\"argv\": [1]}", "{\"argv\": [\"show\", null]}", "{\"args\": [\"help\"]}",
		"{\"argv\": [\"help\"], \"force\": 1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned long before = dmn.ctl.bad_requests;
		json_decref(tu_ctl(&dmn, bad[i], false));
		if (dmn.ctl.bad_requests != before + 1)
			fail_msg("'%s' not counted as a bad request", bad[i]);
	}
	/* Issue 14: a request holds up to CTL_MAX_ARGS words (it was 16, and
	 * `remove client` with 15 names failed); one more is malformed. */
	char *many = malloc(16 + 4 * (CTL_MAX_ARGS + 1));
	assert_non_null(many);
	size_t n = (size_t)sprintf(many, "{\"argv\": [\"a\"");
	for (int i = 1; i <= CTL_MAX_ARGS; i++)
		n += (size_t)sprintf(many + n, ",\"a\"");
	strcpy(many + n, "]}");
	unsigned long was = dmn.ctl.bad_requests;
	json_decref(tu_ctl(&dmn, many, false));
	assert_int_equal(dmn.ctl.bad_requests, was + 1);
	free(many);
	/* Unknown commands are answered, not counted as malformed. */
	unsigned long before = dmn.ctl.bad_requests;
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"frobnicate\"]}", false);
	assert_non_null(strstr(tu_jstr(j, "error"), "frobnicate"));
	json_decref(j);
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"show\"]}", false));
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"show\", \"everything\"]}", false));
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"showstatus\"]}", false));
	assert_int_equal(dmn.ctl.bad_requests, before);
}

/* The setting `name` of a show settings answer. */
static json_t *setting(json_t *result, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(result, "settings"), i, o)
		if (!strcmp(tu_jstr(o, "name"), name))
			return o;
	fail_msg("show settings lists no '%s'", name);
	return NULL;
}

static void test_ctl_settings(void **state)
{
	(void)state;
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"settings\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "settings_rev"), 5);
	assert_int_equal(tu_jint(r, "unreachable_ranges"), 0);
	assert_true(json_is_array(json_object_get(r, "warnings")));
	static const char *const names[] = {"heartbeat.enabled", "heartbeat.scope",
		"heartbeat.interval", "heartbeat.offline_after", "poll.interval", "guard.threshold"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *o = setting(r, names[i]);
		assert_true(*tu_jstr(o, "range") && *tu_jstr(o, "default") && *tu_jstr(o, "help"));
	}
	assert_string_equal(tu_jstr(setting(r, "heartbeat.offline_after"), "value"), "40m");
	assert_int_equal(tu_jint(setting(r, "heartbeat.offline_after"), "seconds"), 2400);
	assert_string_equal(tu_jstr(setting(r, "heartbeat.offline_after"), "default"), "30m");
	assert_string_equal(tu_jstr(setting(r, "heartbeat.interval"), "value"), "10m");
	json_decref(j);

	/* Several at once: applied, persisted, a new revision. */
	j = tu_ctl(&dmn, "{\"argv\": [\"set\", \"heartbeat.interval\", \"5m\", \"poll.interval\", \"1h\"]}",
		true);
	r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "settings_rev"), 6);
	assert_string_equal(tu_jstr(json_object_get(r, "changed"), "heartbeat.interval"), "5m");
	assert_string_equal(tu_jstr(json_object_get(r, "changed"), "poll.interval"), "1h");
	assert_true(json_is_object(json_object_get(r, "affected")));
	assert_true(json_is_array(json_object_get(r, "warnings")));
	json_decref(j);
	assert_int_equal(dmn.policy->hb_interval, 300);
	assert_int_equal(dmn.policy->poll_interval, 3600);
	assert_int_equal(dmn.policy->offline_after, 2400);   /* untouched */
	assert_int_equal(dmn.policy->rev, 6);
	struct policy *p = tu_persisted(&dmn);
	assert_int_equal(p->hb_interval, 300);
	assert_int_equal(p->poll_interval, 3600);
	assert_int_equal(p->offline_after, 2400);
	assert_int_equal(p->rev, 6);
	policy_free(p);
	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"status\"]}", true);
	assert_int_equal(tu_jint(json_object_get(j, "result"), "settings_rev"), 6);
	json_decref(j);

	/* All or nothing: one bad value and nothing changes. */
	static const char *const bad[] = {
		"{\"argv\": [\"set\", \"heartbeat.interval\", \"20m\", \"poll.interval\", \"bogus\"]}",
		"{\"argv\": [\"set\", \"heartbeat.interval\", \"600x\"]}",         /* not a duration */
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
		json_decref(tu_ctl(&dmn, bad[i], false));
		if (dmn.policy->rev != 6 || dmn.policy->hb_interval != 300 ||
		    dmn.policy->poll_interval != 3600 || dmn.policy->guard_threshold != 50 ||
		    dmn.policy->hb_scope != HB_SCOPE_ALL)
			fail_msg("'%s' changed the policy", bad[i]);
	}
	j = tu_ctl(&dmn, "{\"argv\": [\"set\", \"heartbeat.interval\", \"600x\"]}", false);
	assert_non_null(strstr(tu_jstr(j, "error"), "heartbeat.interval"));
	assert_non_null(strstr(tu_jstr(j, "error"), "is not a duration: write " GN_DURATION_FORMS));
	json_decref(j);
	p = tu_persisted(&dmn);
	assert_int_equal(p->rev, 6);
	assert_int_equal(p->hb_interval, 300);
	policy_free(p);

	/* A policy that cannot be persisted is not applied either (the daemon
	 * logs "policy change refused": expected here). */
	char saved[sizeof(dmn.policy_path)];
	memcpy(saved, dmn.policy_path, sizeof(saved));
	snprintf(dmn.policy_path, sizeof(dmn.policy_path), "%s/no/such/dir/policy.json", dir.dir);
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"set\", \"guard.threshold\", \"0\"]}", false));
	memcpy(dmn.policy_path, saved, sizeof(saved));
	assert_int_equal(dmn.policy->guard_threshold, 50);
	assert_int_equal(dmn.policy->rev, 6);

	/* The policy in force is what registration answers from (R2). */
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"set\", \"heartbeat.scope\", \"unreachable\", "
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

	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"range\", \"add\", \"10.200.0.0-10.200.255.255\", "
			"\"2001:db8:bad::/48\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "ranges"), 2);
	assert_int_equal(tu_jint(r, "settings_rev"), 6);
	assert_int_equal(tu_jint(json_object_get(r, "affected"), "unreachable"), 1);
	json_decref(j);
	assert_int_equal(range_set_count(dmn.policy->ranges), 2);
	assert_true(in->unreachable);
	assert_int_equal(in->range, 0);
	assert_int_equal(in->status, EP_UNREACH_ONLINE);
	assert_int_equal(in->reason, EP_REASON_RECLASSIFIED);
	assert_false(out->unreachable);
	assert_int_equal(out->status, EP_ONLINE);

	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "online"), 1);
	assert_int_equal(tu_jint(r, "unreachable_online"), 1);
	assert_int_equal(tu_jint(r, "settings_rev"), 6);
	json_t *br = json_object_get(r, "by_range");
	assert_int_equal(json_array_size(br), 2);
	assert_string_equal(tu_jstr(json_array_get(br, 0), "range"), "10.200.0.0-10.200.255.255");
	assert_int_equal(tu_jint(json_array_get(br, 0), "unreachable_online"), 1);
	assert_int_equal(tu_jint(json_array_get(br, 0), "unreachable_offline"), 0);
	assert_string_equal(tu_jstr(json_array_get(br, 1), "range"), "2001:db8:bad::/48");
	assert_int_equal(tu_jint(json_array_get(br, 1), "unreachable_online"), 0);
	json_decref(j);
	j = tu_ctl(&dmn, "{\"argv\": [\"range\", \"list\"]}", true);
	br = json_object_get(json_object_get(j, "result"), "ranges");
	assert_int_equal(json_array_size(br), 2);
	assert_int_equal(tu_jint(json_array_get(br, 0), "unreachable_online"), 1);
	json_decref(j);
	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"client\", \"in-range\"]}", true);
	r = json_object_get(j, "result");
	assert_string_equal(tu_jstr(r, "status"), "unreachable/online");
	assert_true(json_is_true(json_object_get(r, "unreachable")));
	assert_string_equal(tu_jstr(r, "reason"), "reclassified");
	json_decref(j);
	struct policy *p = tu_persisted(&dmn);
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
		json_decref(tu_ctl(&dmn, bad[i], false));
		if (range_set_count(dmn.policy->ranges) != 2 || dmn.policy->rev != 6)
			fail_msg("'%s' changed the ranges", bad[i]);
	}
	assert_int_equal(in->status, EP_UNREACH_ONLINE);

	/* Removed: back in the regular network. */
	j = tu_ctl(&dmn, "{\"argv\": [\"range\", \"del\", \"10.200.0.0-10.200.255.255\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "ranges"), 1);
	assert_int_equal(tu_jint(json_object_get(r, "affected"), "unreachable"), 1);
	json_decref(j);
	assert_false(in->unreachable);
	assert_int_equal(in->range, -1);
	assert_int_equal(in->status, EP_ONLINE);
	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"status\"]}", true);
	r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "online"), 2);
	assert_int_equal(tu_jint(r, "unreachable_online"), 0);
	br = json_object_get(r, "by_range");
	assert_int_equal(json_array_size(br), 1);
	assert_string_equal(tu_jstr(json_array_get(br, 0), "range"), "2001:db8:bad::/48");
	json_decref(j);
	p = tu_persisted(&dmn);
	assert_int_equal(range_set_count(p->ranges), 1);
	assert_int_equal(p->rev, 7);
	policy_free(p);
	tu_check_counts(&dmn.reg);
}

static void test_ctl_guard_release(void **state)
{
	(void)state;
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"guard\", \"release\"]}", false);
	assert_non_null(strstr(tu_jstr(j, "error"), "not raised"));
	json_decref(j);
	dmn.sweep.guard.active = true;
	dmn.sweep.guard.held = 4;
	j = tu_ctl(&dmn, "{\"argv\": [\"guard\", \"release\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_true(json_is_true(json_object_get(r, "released")));
	assert_int_equal(tu_jint(r, "held"), 4);
	json_decref(j);
	assert_false(dmn.sweep.guard.active);
	assert_true(dmn.sweep.guard.confirmed);
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"guard\", \"release\"]}", false));
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"guard\", \"release\", \"now\"]}", false));
}

/* watch streams on its own connection (ctl_server); dispatched as one
 * request it answers an error rather than nothing. */
static void test_ctl_watch(void **state)
{
	(void)state;
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"watch\"]}", false);
	assert_non_null(strstr(tu_jstr(j, "error"), "watch"));
	json_decref(j);
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"watch\", \"--from\", \"5\"]}", false));
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
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"status\"]}", true);
	json_int_t now = tu_jint(json_object_get(j, "result"), "now");
	json_int_t started = tu_jint(json_object_get(j, "result"), "started");
	assert_true(json_is_true(json_object_get(json_object_get(j, "result"), "restart_grace")));
	json_decref(j);
	j = tu_ctl(&dmn, "{\"argv\": [\"show\", \"client\", \"late\"]}", true);
	json_t *r = json_object_get(j, "result");
	json_int_t reg_t = tu_jint(r, "registered");
	json_int_t since = tu_jint(r, "status_since");
	json_int_t contact = tu_jint(r, "last_contact");
	json_decref(j);
	gn_coarse_set(NOW);
	if (now != t || reg_t != t || since != t || contact != t || started != t - 5)
		fail_msg("now %lld, registered %lld, status_since %lld, last_contact %lld, "
			 "started %lld; want %u (started %u)", (long long)now, (long long)reg_t,
			 (long long)since, (long long)contact, (long long)started, t, t - 5);
}

/* Issue 14: a change that changes nothing (set to the value in force, a
 * range already there, both in one command) keeps settings_rev: the poll
 * ETags ("r<rev>-..") stay and the polls get 304. Its answer says so
 * (unchanged), and a real change in the same command still bumps it. */
static void test_ctl_noop_keeps_rev(void **state)
{
	(void)state;
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"range\", \"add\", \"10.200.0.0/16\"]}", true));
	assert_int_equal(dmn.policy->rev, 6);
	const struct policy *before = dmn.policy;
	static const char *const noop[] = {
		"{\"argv\": [\"set\", \"heartbeat.offline_after\", \"40m\"]}",
		"{\"argv\": [\"set\", \"heartbeat.offline_after\", \"2400s\", \"heartbeat.interval\", "
		"\"10m\"]}",
		"{\"argv\": [\"set\", \"guard.threshold\", \"50\", \"heartbeat.enabled\", \"on\"]}",
		"{\"argv\": [\"set\", \"heartbeat.interval\", \"5m\", \"heartbeat.interval\", \"10m\"]}",
		"{\"argv\": [\"range\", \"add\", \"10.200.0.0/16\"]}",
		"{\"argv\": [\"range\", \"add\", \"10.200.0.0-10.200.255.255\"]}",
	};
	for (size_t i = 0; i < sizeof(noop) / sizeof(noop[0]); i++) {
		json_t *j = tu_ctl(&dmn, noop[i], true);
		json_t *r = json_object_get(j, "result");
		if (tu_jint(r, "settings_rev") != 6 || dmn.policy->rev != 6)
			fail_msg("'%s': settings_rev %lld, policy rev %llu; want 6", noop[i],
				 (long long)tu_jint(r, "settings_rev"),
				 (unsigned long long)dmn.policy->rev);
		if (!json_is_true(json_object_get(r, "unchanged")))
			fail_msg("'%s': the answer does not say unchanged", noop[i]);
		assert_int_equal(json_object_size(json_object_get(r, "affected")), 0);
		json_decref(j);
	}
	assert_ptr_equal(dmn.policy, before); /* not even swapped */
	struct policy *p = tu_persisted(&dmn);
	assert_int_equal(p->rev, 6);
	policy_free(p);

	/* One real change among no-ops: a new revision. */
	json_t *j = tu_ctl(&dmn, "{\"argv\": [\"set\", \"guard.threshold\", \"50\", "
			   "\"poll.interval\", \"1h\"]}", true);
	json_t *r = json_object_get(j, "result");
	assert_int_equal(tu_jint(r, "settings_rev"), 7);
	assert_null(json_object_get(r, "unchanged"));
	json_decref(j);
	assert_int_equal(dmn.policy->rev, 7);
	json_decref(tu_ctl(&dmn, "{\"argv\": [\"range\", \"add\", \"10.201.0.0/16\", "
			   "\"10.200.0.0/16\"]}", true));
	assert_int_equal(dmn.policy->rev, 8);
	assert_int_equal(range_set_count(dmn.policy->ranges), 2);
}

#define CTL(f) cmocka_unit_test_setup_teardown(f, ctl_setup, ctl_teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
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
		CTL(test_ctl_noop_keeps_rev),
	};
	return TU_RUN(tests);
}
