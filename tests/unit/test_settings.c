/*
 * The settings of docs/status.md: validation where they enter
 * (settings_set), the warnings, the duration format, and the policy file.
 * Proves: every setting accepts its documented values (durations with a
 * unit s/m/h/d, every whole number of minutes 1..129600; on/off;
 * all/unreachable; a percentage 0..100 with or without '%'); rejects
 * malformed and out-of-range values (and unknown names) with a message
 * naming the setting and its range, leaving the draft untouched; warns
 * exactly at the documented edges (poll under 3 x heartbeat, offline time
 * not above the heartbeat interval, heartbeat under 60m at LARGE_FLEET
 * endpoints, with the projected rate); formats durations with the largest
 * exact unit; saves and loads the policy (ranges included) unchanged;
 * refuses a bad policy file with a message naming the file and the entry,
 * applying nothing; gives the docs/status.md defaults when there is no file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/policy.h"
#include "control/policy_store.h"
#include "control/ranges.h"
#include "control/settings.h"
#include "support/tu_scratch.h"
#include "support/tu_run.h"

/* The coarse clock's storage lives in glournetd's main.c. */
__attribute__((weak)) uint32_t gn_coarse_now_sec;

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define DUR_RANGE "1s .. 129600m"

static const char *const durations[] = {"heartbeat.interval", "heartbeat.offline_after",
					"poll.interval"};

static uint32_t *dur_field(struct policy *p, const char *name)
{
	if (!strcmp(name, "heartbeat.interval"))
		return &p->hb_interval;
	if (!strcmp(name, "heartbeat.offline_after"))
		return &p->offline_after;
	return &p->poll_interval;
}

static void must_set(struct policy *p, const char *name, const char *value)
{
	char err[512] = "";
	if (settings_set(p, name, value, err, sizeof(err)) != 0)
		fail_msg("%s = '%s' rejected: %s", name, value, err);
}

/* Rejected, with name and range in the message, nothing changed. */
static void must_reject(struct policy *p, const char *name, const char *value,
			const char *range_text)
{
	struct policy before = *p;
	char err[512] = "";
	int rc = settings_set(p, name, value, err, sizeof(err));
	if (rc != -EINVAL)
		fail_msg("%s = '%s': rc %d, want -EINVAL", name, value, rc);
	if (!strstr(err, name))
		fail_msg("%s = '%s': message does not name the setting: %s", name, value, err);
	if (range_text && !strstr(err, range_text))
		fail_msg("%s = '%s': message lacks the range '%s': %s", name, value, range_text, err);
	if (memcmp(&before, p, sizeof(before)))
		fail_msg("%s = '%s' was rejected but changed the draft", name, value);
}

/* ================= settings_set ================= */

static void test_set_bool(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	assert_true(p->hb_enabled);
	must_set(p, "heartbeat.enabled", "off");
	assert_false(p->hb_enabled);
	must_set(p, "heartbeat.enabled", "on");
	assert_true(p->hb_enabled);
	static const char *const bad[] = {"maybe", "", "ON", "Off", "1", "0", "yes", "on ", " off"};
	for (size_t i = 0; i < N_OF(bad); i++) {
		must_reject(p, "heartbeat.enabled", bad[i], "on, off");
		must_set(p, "heartbeat.enabled", "off");
		must_reject(p, "heartbeat.enabled", bad[i], "on, off");
		assert_false(p->hb_enabled);
		must_set(p, "heartbeat.enabled", "on");
	}
	policy_free(p);
}

static void test_set_scope(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	assert_int_equal(p->hb_scope, HB_SCOPE_ALL);
	must_set(p, "heartbeat.scope", "unreachable");
	assert_int_equal(p->hb_scope, HB_SCOPE_UNREACHABLE);
	must_set(p, "heartbeat.scope", "all");
	assert_int_equal(p->hb_scope, HB_SCOPE_ALL);
	static const char *const bad[] = {"none", "", "All", "UNREACHABLE", "regular", "all ",
					  "unreach"};
	for (size_t i = 0; i < N_OF(bad); i++)
		must_reject(p, "heartbeat.scope", bad[i], "all, unreachable");
	policy_free(p);
}

static void test_set_duration_units(void **state)
{
	(void)state;
	static const struct { const char *text; uint32_t s; } ok[] = {
		{"1s", 1}, {"30s", 30}, {"59s", 59}, {"90s", 90}, {"1m", 60}, {"7m", 420},
		{"10m", 600}, {"1440m", 86400}, {"129600m", 129600u * 60}, {"2h", 7200},
		{"2160h", 2160u * 3600}, {"1d", 86400}, {"90d", 90u * 86400},
		{"7776000s", 7776000},
		/* Issue 14: the one grammar (glournet/duration.h): fractions
		 * and ms that make whole seconds. */
		{"1.5h", 5400}, {"0.5m", 30}, {"2000ms", 2},
	};
	/* STATUS.md: "Durations take a unit": a bare number (seconds in the
	 * programs' options) is refused for a setting, naming it. */
	static const char *const bare[] = {"600", "1", "129600"};
	for (size_t d = 0; d < N_OF(durations); d++) {
		struct policy *p = policy_new_default();
		for (size_t i = 0; i < N_OF(ok); i++) {
			must_set(p, durations[d], ok[i].text);
			if (*dur_field(p, durations[d]) != ok[i].s)
				fail_msg("%s = %s: %u s, want %u", durations[d], ok[i].text,
					 *dur_field(p, durations[d]), ok[i].s);
		}
		for (size_t i = 0; i < N_OF(bare); i++) {
			char err[256] = "";
			uint32_t before = *dur_field(p, durations[d]);
			assert_true(settings_set(p, durations[d], bare[i], err, sizeof(err)) < 0);
			assert_non_null(strstr(err, "needs a unit"));
			assert_non_null(strstr(err, durations[d]));
			assert_int_equal(*dur_field(p, durations[d]), before);
		}
		policy_free(p);
	}
}

/* "any such value is valid": every whole number of minutes 1..129600, and
 * what settings_format_duration makes of it reads back the same. */
static void test_set_duration_every_minute(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	char text[32], err[512];
	for (size_t d = 0; d < N_OF(durations); d++) {
		uint32_t *field = dur_field(p, durations[d]);
		for (uint32_t m = 1; m <= 129600; m++) {
			snprintf(text, sizeof(text), "%um", m);
			if (settings_set(p, durations[d], text, err, sizeof(err)) || *field != m * 60)
				fail_msg("%s = %s: %s (%u s)", durations[d], text, err, *field);
			settings_format_duration(m * 60, text, sizeof(text));
			*field = 0;
			if (settings_set(p, durations[d], text, err, sizeof(err)) || *field != m * 60)
				fail_msg("%s = %s (formatted %u min) does not read back: %s",
					 durations[d], text, m, err);
		}
	}
	policy_free(p);
}

static void test_set_duration_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"0s", "0m", "0h", "0d",                          /* below 1s */
		"129601m", "7776001s", "2161h", "91d",           /* above 129600m */
		"99999999999m", "4294967296s",                   /* beyond 32 bits */
		"0", "0.0",                                      /* 0 s */
		"1.5s", "500ms", "10ms", "0.5",                  /* not whole seconds */
		"10x", "", "-5m", "m", "10 m", " 10m", "10m ", "10M", "+5m", "1h30m", "5sec",
		"maybe",
	};
	for (size_t d = 0; d < N_OF(durations); d++) {
		struct policy *p = policy_new_default();
		for (size_t i = 0; i < N_OF(bad); i++)
			must_reject(p, durations[d], bad[i], DUR_RANGE);
		/* ... also when the field holds a non-default value. */
		must_set(p, durations[d], "7m");
		for (size_t i = 0; i < N_OF(bad); i++)
			must_reject(p, durations[d], bad[i], DUR_RANGE);
		assert_int_equal(*dur_field(p, durations[d]), 420);
		policy_free(p);
	}
}

static void test_set_guard_threshold(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	assert_int_equal(p->guard_threshold, 50);
	for (uint32_t v = 0; v <= 100; v++) {
		char text[16];
		snprintf(text, sizeof(text), "%u", v);
		must_set(p, "guard.threshold", text);
		assert_int_equal(p->guard_threshold, v);
		snprintf(text, sizeof(text), "%u%%", 100 - v);
		must_set(p, "guard.threshold", text);
		assert_int_equal(p->guard_threshold, 100 - v);
	}
	must_set(p, "guard.threshold", "50%");
	assert_int_equal(p->guard_threshold, 50);
	static const char *const bad[] = {"101", "101%", "-5", "-0", "", "%", "abc", "50x",
		"50%%", "50 %", "1e2", "0x10", "99999999999999999999", "4294967346", "maybe"};
	for (size_t i = 0; i < N_OF(bad); i++)
		must_reject(p, "guard.threshold", bad[i], "0 .. 100");
	assert_int_equal(p->guard_threshold, 50);
	policy_free(p);
}

static void test_set_unknown_setting(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	static const char *const bad[] = {"heartbeat.intervall", "HEARTBEAT.ENABLED", "",
					  "unreachable", "heartbeat", "guard"};
	for (size_t i = 0; i < N_OF(bad); i++) {
		struct policy before = *p;
		char err[512] = "";
		assert_int_equal(settings_set(p, bad[i], "on", err, sizeof(err)), -EINVAL);
		char quoted[64];
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		if (!strstr(err, quoted) || !strstr(err, "heartbeat.offline_after"))
			fail_msg("unknown setting %s: message should name it and list the settings: %s",
				 quoted, err);
		assert_memory_equal(&before, p, sizeof(before));
	}
	policy_free(p);
}

/* ================= settings_warnings ================= */

static json_t *warnings(const struct policy *p, uint32_t clients)
{
	json_t *out = json_array();
	settings_warnings(p, clients, out);
	return out;
}

/* The warnings whose text contains `needle`. */
static size_t count_with(json_t *w, const char *needle)
{
	size_t i, n = 0;
	json_t *v;
	json_array_foreach(w, i, v)
		n += strstr(json_string_value(v), needle) != NULL;
	return n;
}

static void test_warnings_none_by_default(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	json_t *w = warnings(p, 0);
	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
	w = warnings(p, LARGE_FLEET - 1);
	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
	policy_free(p);
}

static void test_warnings_poll_under_3x_heartbeat(void **state)
{
	(void)state;
	static const struct { const char *hb, *poll; bool warn; } c[] = {
		{"10m", "30m", false}, {"10m", "1799s", true}, {"10m", "29m", true},
		{"10m", "1m", true}, {"1h", "2h", true}, {"1h", "3h", false}, {"1s", "3s", false},
		{"1s", "2s", true}, {"129600m", "129600m", true},
	};
	for (size_t i = 0; i < N_OF(c); i++) {
		struct policy *p = policy_new_default();
		must_set(p, "heartbeat.offline_after", "129600m");   /* keep the others quiet */
		must_set(p, "heartbeat.interval", c[i].hb);
		must_set(p, "poll.interval", c[i].poll);
		json_t *w = warnings(p, 0);
		if (count_with(w, "poll.interval") != c[i].warn)
			fail_msg("heartbeat %s, poll %s: %zu poll warnings, want %d (%zu warnings)",
				 c[i].hb, c[i].poll, count_with(w, "poll.interval"), c[i].warn,
				 json_array_size(w));
		json_decref(w);
		policy_free(p);
	}
}

static void test_warnings_offline_not_above_heartbeat(void **state)
{
	(void)state;
	static const struct { const char *hb, *off; bool warn; } c[] = {
		{"10m", "30m", false}, {"10m", "10m", true}, {"10m", "9m", true},
		{"10m", "601s", false}, {"10m", "599s", true}, {"1s", "1s", true},
		{"1s", "2s", false}, {"129600m", "129600m", true},
	};
	for (size_t i = 0; i < N_OF(c); i++) {
		struct policy *p = policy_new_default();
		must_set(p, "poll.interval", "129600m");
		must_set(p, "heartbeat.interval", c[i].hb);
		must_set(p, "heartbeat.offline_after", c[i].off);
		json_t *w = warnings(p, 0);
		if (count_with(w, "heartbeat.offline_after") != c[i].warn)
			fail_msg("heartbeat %s, offline_after %s: %zu offline warnings, want %d",
				 c[i].hb, c[i].off, count_with(w, "heartbeat.offline_after"),
				 c[i].warn);
		json_decref(w);
		policy_free(p);
	}
}

static void test_warnings_large_fleet_rate(void **state)
{
	(void)state;
	static const struct {
		const char *hb;
		uint32_t clients;
		const char *rate;     /* NULL: no bandwidth warning */
	} c[] = {
		{"10m", LARGE_FLEET, "167"},        /* 100000 / 600 s = 166.7 */
		{"10m", 120000, "200"},
		{"59m", LARGE_FLEET, "28"},         /* 100000 / 3540 s = 28.2 */
		{"1s", 250000, "250000"},
		{"60m", LARGE_FLEET, NULL},
		{"2h", 1000000, NULL},
		{"10m", LARGE_FLEET - 1, NULL},
		{"1s", 10, NULL},
	};
	for (size_t i = 0; i < N_OF(c); i++) {
		struct policy *p = policy_new_default();
		must_set(p, "heartbeat.interval", c[i].hb);
		must_set(p, "heartbeat.offline_after", "129600m");
		must_set(p, "poll.interval", "129600m");
		json_t *w = warnings(p, c[i].clients);
		size_t n = count_with(w, "heartbeat.interval");
		if (!c[i].rate) {
			if (json_array_size(w))
				fail_msg("heartbeat %s at %u endpoints: unexpected warning: %s", c[i].hb,
					 c[i].clients, json_string_value(json_array_get(w, 0)));
		} else {
			char clients[16];
			snprintf(clients, sizeof(clients), "%u", c[i].clients);
			const char *msg = json_string_value(json_array_get(w, 0));
			if (n != 1 || json_array_size(w) != 1 || !strstr(msg, c[i].rate) ||
			    !strstr(msg, clients))
				fail_msg("heartbeat %s at %u endpoints: want one warning with the rate "
					 "%s/s and the fleet size; got %zu: %s", c[i].hb, c[i].clients,
					 c[i].rate, json_array_size(w), msg ? msg : "(none)");
		}
		json_decref(w);
		policy_free(p);
	}
}

/* ================= settings_format_duration ================= */

static void test_format_duration(void **state)
{
	(void)state;
	static const struct { uint32_t s; const char *text; } c[] = {
		{0, "0s"}, {1, "1s"}, {59, "59s"}, {60, "1m"}, {61, "61s"}, {90, "90s"},
		{600, "10m"}, {3540, "59m"}, {3600, "1h"}, {3660, "61m"}, {7200, "2h"},
		{86400, "1d"}, {90000, "25h"}, {86460, "1441m"}, {129600u * 60, "90d"},
		{129599u * 60, "129599m"}, {UINT32_MAX, "4294967295s"},
	};
	for (size_t i = 0; i < N_OF(c); i++) {
		char buf[32];
		memset(buf, 'x', sizeof(buf));
		settings_format_duration(c[i].s, buf, sizeof(buf));
		if (strcmp(buf, c[i].text))
			fail_msg("%u s formatted '%s', want '%s'", c[i].s, buf, c[i].text);
	}
	char small[3];
	settings_format_duration(129600u * 60, small, sizeof(small));   /* truncates, NUL-terminated */
	assert_string_equal(small, "90");
}

/* ================= policy_save / policy_load ================= */

static int scratch_setup(void **state)
{
	return tu_scratch_setup(state, "settings", "policy.json");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void add_ranges(struct policy *p, const char *const *texts, size_t n)
{
	struct range_entry *e = calloc(n ? n : 1, sizeof(*e));
	assert_non_null(e);
	for (size_t i = 0; i < n; i++) {
		char err[256] = "";
		if (range_parse(texts[i], &e[i], err, sizeof(err)))
			fail_msg("range_parse(%s): %s", texts[i], err);
	}
	range_set_free(p->ranges);
	p->ranges = range_set_build(e, n);
	assert_non_null(p->ranges);
	free(e);
}

static void test_load_missing_file_gives_defaults(void **state)
{
	struct tu_scratch *s = *state;
	struct policy *p = NULL;
	char err[512] = "";
	assert_int_equal(policy_load(s->path, &p, err, sizeof(err)), 0);
	assert_non_null(p);
	/* docs/status.md: heartbeat on, scope all, 10m, offline 30m, poll 30m, no
	 * ranges, guard 50 %. */
	assert_true(p->hb_enabled);
	assert_int_equal(p->hb_scope, HB_SCOPE_ALL);
	assert_int_equal(p->hb_interval, 600);
	assert_int_equal(p->offline_after, 1800);
	assert_int_equal(p->poll_interval, 1800);
	assert_int_equal(p->guard_threshold, 50);
	assert_int_equal(range_set_count(p->ranges), 0);
	assert_int_equal(access(s->path, F_OK), -1);   /* loading creates nothing */
	policy_free(p);
}

static void test_save_load_round_trip(void **state)
{
	struct tu_scratch *s = *state;
	struct policy *p = policy_new_default();
	must_set(p, "heartbeat.enabled", "off");
	must_set(p, "heartbeat.scope", "unreachable");
	must_set(p, "heartbeat.interval", "7m");
	must_set(p, "heartbeat.offline_after", "1441m");
	must_set(p, "poll.interval", "1s");
	must_set(p, "guard.threshold", "0");
	p->rev = 42;
	static const char *const ranges[] = {
		"10.0.0.0-10.0.255.255", "192.168.1.7", "172.16.0.0/12", "0.0.0.0-255.255.255.255",
		"2001:db8::/32", "fd00::/8", "::/0", "fe80::1/128", "10.0.0.0-10.0.255.255",
	};
	add_ranges(p, ranges, N_OF(ranges));
	char err[512] = "";
	if (policy_save(s->path, p, err, sizeof(err)) != 0)
		fail_msg("policy_save: %s", err);
	char tmp[200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
	assert_int_equal(access(tmp, F_OK), -1);       /* renamed into place */

	struct policy *q = NULL;
	if (policy_load(s->path, &q, err, sizeof(err)) != 0)
		fail_msg("policy_load: %s", err);
	assert_false(q->hb_enabled);
	assert_int_equal(q->hb_scope, HB_SCOPE_UNREACHABLE);
	assert_int_equal(q->hb_interval, 420);
	assert_int_equal(q->offline_after, 1441 * 60);
	assert_int_equal(q->poll_interval, 1);
	assert_int_equal(q->guard_threshold, 0);
	assert_int_equal(q->rev, 42);
	assert_int_equal(range_set_count(q->ranges), N_OF(ranges));
	for (size_t i = 0; i < N_OF(ranges); i++) {
		const struct range_entry *a = range_set_entry(p->ranges, i),
					 *b = range_set_entry(q->ranges, i);
		if (memcmp(a, b, sizeof(*a))) {
			char fa[RANGE_TEXT_MAX], fb[RANGE_TEXT_MAX];
			range_format(a, fa, sizeof(fa));
			range_format(b, fb, sizeof(fb));
			fail_msg("range %zu: saved %s, loaded %s", i, fa, fb);
		}
	}
	/* Saving what was loaded writes the same file. */
	char *first = read_all(s->path);
	assert_int_equal(policy_save(s->path, q, err, sizeof(err)), 0);
	char *second = read_all(s->path);
	assert_string_equal(first, second);
	free(first);
	free(second);

	/* The extremes of every setting survive too. */
	must_set(q, "heartbeat.enabled", "on");
	must_set(q, "heartbeat.scope", "all");
	must_set(q, "heartbeat.interval", "129600m");
	must_set(q, "heartbeat.offline_after", "1s");
	must_set(q, "poll.interval", "90s");
	must_set(q, "guard.threshold", "100%");
	add_ranges(q, NULL, 0);
	assert_int_equal(policy_save(s->path, q, err, sizeof(err)), 0);
	struct policy *r = NULL;
	assert_int_equal(policy_load(s->path, &r, err, sizeof(err)), 0);
	assert_true(r->hb_enabled);
	assert_int_equal(r->hb_scope, HB_SCOPE_ALL);
	assert_int_equal(r->hb_interval, 129600u * 60);
	assert_int_equal(r->offline_after, 1);
	assert_int_equal(r->poll_interval, 90);
	assert_int_equal(r->guard_threshold, 100);
	assert_int_equal(range_set_count(r->ranges), 0);
	policy_free(p);
	policy_free(q);
	policy_free(r);
}

/* A bad file is refused whole: -EINVAL, *out untouched, and a message
 * naming the file and the entry. */
static void expect_load_fails(const struct tu_scratch *s, const char *content,
			      const char *const *needles, size_t nneedles)
{
	write_file(s->path, content);
	struct policy *sentinel = (struct policy *)(uintptr_t)0x1234, *p = sentinel;
	char err[1024] = "";
	int rc = policy_load(s->path, &p, err, sizeof(err));
	if (rc != -EINVAL) {
		if (rc == 0 && p != sentinel)
			policy_free(p);
		fail_msg("policy file %s was accepted (rc %d), want -EINVAL", content, rc);
	}
	assert_ptr_equal(p, sentinel);
	if (!strstr(err, s->path))
		fail_msg("%s: message does not name the file: %s", content, err);
	for (size_t i = 0; i < nneedles; i++)
		if (!strstr(err, needles[i]))
			fail_msg("%s: message lacks '%s': %s", content, needles[i], err);
}

static void test_load_bad_files(void **state)
{
	struct tu_scratch *s = *state;
	static const struct {
		const char *content;
		const char *needles[3];
	} c[] = {
		{"{\"settings\": {", {"line"}},
		{"{\"settings\": {\"heartbeat.enabled\": \"on\",}}", {"line"}},
		{"", {"line"}},
		{"{\"settings\": {\"heartbeat.interval\": \"10x\"}}", {"heartbeat.interval", DUR_RANGE}},
		{"{\"settings\": {\"heartbeat.offline_after\": \"0s\"}}",
		 {"heartbeat.offline_after", DUR_RANGE}},
		{"{\"settings\": {\"poll.interval\": \"129601m\"}}", {"poll.interval", DUR_RANGE}},
		{"{\"settings\": {\"heartbeat.enabled\": \"maybe\"}}", {"heartbeat.enabled", "on, off"}},
		{"{\"settings\": {\"heartbeat.scope\": \"some\"}}", {"heartbeat.scope", "all, unreachable"}},
		{"{\"settings\": {\"guard.threshold\": \"101\"}}", {"guard.threshold", "0 .. 100"}},
		{"{\"settings\": {\"guard.threshold\": 50}}", {"guard.threshold"}},
		{"{\"settings\": {\"heartbeat.colour\": \"on\"}}", {"heartbeat.colour"}},
		{"{\"settings\": {\"heartbeat.enabled\": \"on\", \"heartbeat.enabled\": \"off\"}}",
		 {"heartbeat.enabled"}},
		{"{\"settings\": {\"heartbeat.interval\": \"5m\", \"poll.interval\": \"-5m\"}}",
		 {"poll.interval"}},
		{"{\"unreachable\": [\"10.0.0.0-10.0.0.255\", \"10.0.0.300\"]}",
		 {"unreachable[1]", "10.0.0.300"}},
		{"{\"unreachable\": [\"10.0.0.0-10.0.0.255\", 7]}", {"unreachable[1]"}},
		{"{\"unreachable\": [\"2001:db8::1/32\"]}", {"unreachable[0]", "2001:db8::1/32"}},
		{"{\"unreachable\": [\"10.0.0.9-10.0.0.1\"]}", {"unreachable[0]"}},
	};
	for (size_t i = 0; i < N_OF(c); i++) {
		size_t n = 0;
		while (n < N_OF(c[i].needles) && c[i].needles[n])
			n++;
		expect_load_fails(s, c[i].content, c[i].needles, n);
	}
}

/*
 * A file of the wrong shape is as bad as a bad value: "unreachable" that is
 * not an array, "settings" that is not an object, a top level that is not
 * an object. Loaded as "no ranges" / "defaults", the daemon would then save
 * that over the operator's file at start-up (load_policy), losing the ranges.
 */
static void test_load_wrong_shapes(void **state)
{
	struct tu_scratch *s = *state;
	static const struct {
		const char *content;
		const char *needle;   /* the entry the message must name */
	} c[] = {
		{"{\"unreachable\": \"10.0.0.0-10.0.0.255\"}", "unreachable"},
		{"{\"unreachable\": {\"a\": \"10.0.0.0-10.0.0.255\"}}", "unreachable"},
		{"{\"settings\": [\"heartbeat.enabled\", \"off\"]}", "settings"},
		{"{\"settings\": \"heartbeat.enabled=off\"}", "settings"},
		{"[{\"settings\": {\"heartbeat.enabled\": \"off\"}}]", ""},
	};
	char report[2048] = "";
	for (size_t i = 0; i < N_OF(c); i++) {
		write_file(s->path, c[i].content);
		struct policy *p = NULL;
		char err[1024] = "";
		int rc = policy_load(s->path, &p, err, sizeof(err));
		if (rc == 0) {
			snprintf(report + strlen(report), sizeof(report) - strlen(report),
				 "\n  accepted (%zu ranges, heartbeat %s): %s",
				 range_set_count(p->ranges), p->hb_enabled ? "on" : "off", c[i].content);
			policy_free(p);
		} else if (!strstr(err, s->path) || !strstr(err, c[i].needle)) {
			snprintf(report + strlen(report), sizeof(report) - strlen(report),
				 "\n  refused without naming file and '%s': %s", c[i].needle, err);
		}
	}
	if (report[0])
		fail_msg("policy files of the wrong shape:%s", report);
}

static void test_load_range_limit(void **state)
{
	struct tu_scratch *s = *state;
	for (uint32_t n = RANGES_MAX; n <= RANGES_MAX + 1; n++) {
		size_t cap = (size_t)n * 32 + 64, len = 0;
		char *text = malloc(cap);
		assert_non_null(text);
		len += (size_t)snprintf(text + len, cap - len, "{\"unreachable\": [");
		for (uint32_t i = 0; i < n; i++)
			len += (size_t)snprintf(text + len, cap - len, "%s\"10.%u.%u.1\"", i ? "," : "",
						i >> 8, i & 255);
		snprintf(text + len, cap - len, "]}");
		write_file(s->path, text);
		free(text);
		struct policy *p = NULL;
		char err[512] = "";
		int rc = policy_load(s->path, &p, err, sizeof(err));
		if (n == RANGES_MAX) {
			if (rc != 0)
				fail_msg("%u ranges refused: %s", n, err);
			assert_int_equal(range_set_count(p->ranges), RANGES_MAX);
			policy_free(p);
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_non_null(strstr(err, s->path));
			assert_non_null(strstr(err, "10000"));
		}
	}
}

static void test_save_error_names_the_file(void **state)
{
	struct tu_scratch *s = *state;
	char path[256];
	snprintf(path, sizeof(path), "%s/no-such-dir/policy.json", s->dir);
	struct policy *p = policy_new_default();
	char err[512] = "";
	assert_true(policy_save(path, p, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, path));
	policy_free(p);
}

#define SCRATCH(t) cmocka_unit_test_setup_teardown(t, scratch_setup, tu_scratch_teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_bool),
		cmocka_unit_test(test_set_scope),
		cmocka_unit_test(test_set_duration_units),
		cmocka_unit_test(test_set_duration_every_minute),
		cmocka_unit_test(test_set_duration_rejected),
		cmocka_unit_test(test_set_guard_threshold),
		cmocka_unit_test(test_set_unknown_setting),
		cmocka_unit_test(test_warnings_none_by_default),
		cmocka_unit_test(test_warnings_poll_under_3x_heartbeat),
		cmocka_unit_test(test_warnings_offline_not_above_heartbeat),
		cmocka_unit_test(test_warnings_large_fleet_rate),
		cmocka_unit_test(test_format_duration),
		SCRATCH(test_load_missing_file_gives_defaults),
		SCRATCH(test_save_load_round_trip),
		SCRATCH(test_load_bad_files),
		SCRATCH(test_load_wrong_shapes),
		SCRATCH(test_load_range_limit),
		SCRATCH(test_save_error_names_the_file),
	};
	return TU_RUN(tests);
}
