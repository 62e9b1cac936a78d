/*
 * The endpoint manifest: endpoint settings and components (docs/protocol.md §3).
 * Proves: every field's check accepts its whole range and refuses what is
 * outside it with a message naming the field and what it expects; edits of
 * a manifest keep it sorted, replace by name, tell an unchanged entry, stop
 * at 1,000 entries, and a copy is deep; component add/del/list and
 * endpoint-setting set/del/list through ctl_dispatch commit once per
 * change (settings_rev + 1, persisted), change nothing on bad input, on an
 * unknown name (named in the error) or when the policy cannot be written,
 * and leave the revision alone when nothing changed; a poll's ETag changes
 * with each change and its body carries exactly the components and
 * settings; policy_save/policy_load round-trip them, and a bad policy file
 * (a wrong shape, a bad entry, a duplicate, too many) is refused with its
 * path and the entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include <unistd.h>

#include "control/api.h"
#include "control/ctl_commands.h"
#include "control/daemon.h"
#include "control/manifest.h"
#include "control/policy.h"
#include "control/policy_store.h"
#include "control/registry.h"
#include "control/sweep.h"
#include "glournet/coarse_clock.h"
#include "glournet/hb_mac.h"
#include "glournet/heartbeat.h"
#include "support/tu_api.h"
#include "support/tu_daemon.h"
#include "support/tu_json.h"
#include "support/tu_scratch.h"
#include "support/tu_run.h"

/* See test_control.c: the dataplane core defines it; this only stands in. */
__attribute__((weak)) uint32_t gn_coarse_now_sec;


#define NOW 1795000000u

#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

/* A string of `n` copies of `c` (static buffers, up to 8 alive at a time). */
static const char *rep(char c, size_t n)
{
	static char buf[8][8192];
	static int next;
	char *b = buf[next++ % 8];
	assert_true(n < sizeof(buf[0]));
	memset(b, c, n);
	b[n] = '\0';
	return b;
}

/* "PREFIX" followed by 'x' up to `n` bytes in all. */
static const char *padded(const char *prefix, size_t n)
{
	static char buf[2][8192];
	static int next;
	char *b = buf[next++ % 2];
	size_t pl = strlen(prefix);
	assert_true(n < sizeof(buf[0]) && n >= pl);
	memcpy(b, prefix, pl);
	memset(b + pl, 'x', n - pl);
	b[n] = '\0';
	return b;
}

typedef int check_fn(const char *, char *, size_t);

struct case_ {
	const char *in;
	const char *what;   /* for the failure message */
};

/* Every `ok` passes; every `bad` fails with -EINVAL and a message naming
 * `field` and saying what is expected. */
static void check_cases(check_fn *fn, const char *field, const struct case_ *ok, size_t nok,
			const struct case_ *bad, size_t nbad)
{
	char err[512];
	for (size_t i = 0; i < nok; i++) {
		err[0] = '\0';
		if (fn(ok[i].in, err, sizeof(err)) != 0)
			fail_msg("%s: %s refused: %s", field, ok[i].what, err);
	}
	for (size_t i = 0; i < nbad; i++) {
		err[0] = '\0';
		if (fn(bad[i].in, err, sizeof(err)) != -EINVAL)
			fail_msg("%s: %s accepted", field, bad[i].what);
		if (strncmp(err, field, strlen(field)) || !strstr(err, "expected"))
			fail_msg("%s: %s: message '%s' does not name the field and what it expects",
				 field, bad[i].what, err);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ================= checks ================= */

static void test_check_key(void **state)
{
	(void)state;
	const struct case_ ok[] = {
		{"a", "one character"}, {"scan.schedule", "dotted"}, {"!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
		"punctuation"}, {rep('k', 128), "128 characters"}, {"A9", "digits"},
	};
	const struct case_ bad[] = {
		{"", "empty"}, {rep('k', 129), "129 characters"}, {"scan schedule", "a space"},
		{"a\tb", "a tab"}, {"a\nb", "a newline"}, {"caf\xc3\xa9", "non-ASCII"},
		{"a\x7f", "DEL"}, {" a", "a leading space"},
	};
	check_cases(manifest_check_key, "key", ok, N(ok), bad, N(bad));
}

static void test_check_value(void **state)
{
	(void)state;
	const struct case_ ok[] = {
		{"", "empty"}, {"daily 02:00", "with a space"}, {rep('v', 4096), "4096 bytes"},
		{"line 1\nline 2\r\n\tindented", "tab, CR, LF"},
		{"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", "UTF-8 up to U+10FFFF"},
		{"{\"json\": [1, 2]} \\ \"quoted\"", "JSON-ish"},
	};
	const struct case_ bad[] = {
		{rep('v', 4097), "4097 bytes"}, {"a\x01", "a control character"}, {"\x1b[31m", "ESC"},
		{"a\x7f", "DEL"}, {"\xff", "not UTF-8"}, {"\xc0\xaf", "overlong"},
		{"\xe0\x80\xaf", "overlong (3 bytes)"}, {"\xed\xa0\x80", "a surrogate"},
		{"\xe2\x82", "truncated"}, {"\xf4\x90\x80\x80", "past U+10FFFF"},
		{"\x80", "a lone continuation byte"},
	};
	check_cases(manifest_check_value, "value", ok, N(ok), bad, N(bad));
}

static void test_check_name(void **state)
{
	(void)state;
	const struct case_ ok[] = {
		{"a", "one character"}, {"pattern", "a word"}, {"Engine_2.x-64", "every class"},
		{rep('n', 64), "64 characters"}, {"...", "three dots"}, {".hidden", "a dot first"},
	};
	const struct case_ bad[] = {
		{"", "empty"}, {rep('n', 65), "65 characters"}, {"a b", "a space"}, {"a/b", "a slash"},
		{".", "'.'"}, {"..", "'..'"}, {"caf\xc3\xa9", "non-ASCII"}, {"a+b", "a plus"},
		{"a:b", "a colon"}, {"a\\b", "a backslash"},
	};
	check_cases(manifest_check_name, "name", ok, N(ok), bad, N(bad));
}

static void test_check_version(void **state)
{
	(void)state;
	const struct case_ ok[] = {
		{"1", "one character"}, {"18.977.00", "dotted"}, {"1.0 beta (build 7)", "spaces"},
		{rep('9', 64), "64 characters"}, {"~!@#", "punctuation"},
	};
	const struct case_ bad[] = {
		{"", "empty"}, {rep('9', 65), "65 characters"}, {"1\t0", "a tab"}, {"1.0\n", "a newline"},
		{"1.0\xc3\xa9", "non-ASCII"}, {"1\x7f", "DEL"},
	};
	check_cases(manifest_check_version, "version", ok, N(ok), bad, N(bad));
}

static void test_check_sha256(void **state)
{
	(void)state;
	const struct case_ ok[] = {
		{SHA_A, "a digest"}, {rep('0', 64), "zeros"}, {rep('f', 64), "f"},
	};
	char upper[65];
	strcpy(upper, SHA_A);
	upper[1] = 'F';
	char g[65];
	strcpy(g, SHA_A);
	g[63] = 'g';
	const struct case_ bad[] = {
		{"", "empty"}, {rep('a', 63), "63 digits"}, {rep('a', 65), "65 digits"},
		{upper, "an uppercase digit"}, {g, "a 'g'"}, {rep('A', 64), "all uppercase"},
		{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0 ", "a space"},
	};
	check_cases(manifest_check_sha256, "sha256", ok, N(ok), bad, N(bad));
}

static void test_check_url(void **state)
{
	(void)state;
	const struct case_ ok[] = {
		{"http://a", "shortest"}, {"https://update.example/pattern/18.977.00", "a path"},
		{"https://[2001:db8::1]:8443/p?q=1#f", "IPv6, port, query"},
		{padded("https://h/", 2048), "2048 characters"},
		{"http://user@host/%20x", "userinfo, escape"},
	};
	const struct case_ bad[] = {
		{"", "empty"}, {"ftp://a/b", "ftp"}, {"update.example/p", "no scheme"},
		{"http:/a", "one slash"}, {"http://", "no host"}, {"https://", "no host (https)"},
		{"http:///p", "empty host"}, {"https://?q", "query for a host"},
		{"https://a b/", "a space"}, {"https://a/\x01", "a control character"},
		{"https://caf\xc3\xa9.example/", "non-ASCII"}, {padded("https://h/", 2049), "2049"},
		{"HTTP://a", "uppercase scheme"}, {" https://a", "a leading space"},
	};
	check_cases(manifest_check_url, "source", ok, N(ok), bad, N(bad));
}

static void test_check_component(void **state)
{
	(void)state;
	char err[512];
	const char *src[9] = {"https://a/1", "https://a/2", "https://a/3", "https://a/4",
			      "https://a/5", "https://a/6", "https://a/7", "https://a/8",
			      "https://a/9"};
	assert_int_equal(manifest_check_component("p", "1", SHA_A, src, 1, err, sizeof(err)), 0);
	assert_int_equal(manifest_check_component("p", "1", SHA_A, src, 8, err, sizeof(err)), 0);
	assert_int_equal(manifest_check_component("p", "1", SHA_A, src, 0, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "sources: expected 1..8"));
	assert_int_equal(manifest_check_component("p", "1", SHA_A, src, 9, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "sources: expected 1..8"));
	const char *bad_src[] = {"https://a/1", "ftp://a/2"};
	assert_int_equal(manifest_check_component("p", "1", SHA_A, bad_src, 2, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "sources[1]: expected"));
	assert_int_equal(manifest_check_component("a/b", "1", SHA_A, src, 1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "name: expected"));
	assert_int_equal(manifest_check_component("p", "", SHA_A, src, 1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "version: expected"));
	assert_int_equal(manifest_check_component("p", "1", "abc", src, 1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "sha256: expected"));
}

/* ================= edits ================= */

static void test_manifest_edits(void **state)
{
	(void)state;
	struct manifest m = {0};
	char err[512];
	const char *s1[] = {"https://a/1"};
	const char *s2[] = {"https://b/1", "http://b/2"};
	assert_int_equal(manifest_put_component(&m, "pattern", "1", SHA_A, s1, 1, err, sizeof(err)),
			 MANIFEST_ADDED);
	assert_int_equal(manifest_put_component(&m, "engine", "2", SHA_B, s2, 2, err, sizeof(err)),
			 MANIFEST_ADDED);
	assert_int_equal(manifest_put_component(&m, "zz", "3", SHA_B, s2, 2, err, sizeof(err)),
			 MANIFEST_ADDED);
	assert_int_equal(m.ncomponents, 3);
	assert_string_equal(m.components[0].name, "engine");   /* sorted by name */
	assert_string_equal(m.components[1].name, "pattern");
	assert_string_equal(m.components[2].name, "zz");
	assert_int_equal(manifest_put_component(&m, "pattern", "1", SHA_A, s1, 1, err, sizeof(err)),
			 MANIFEST_UNCHANGED);
	assert_int_equal(manifest_put_component(&m, "pattern", "1", SHA_A, s2, 2, err, sizeof(err)),
			 MANIFEST_REPLACED);
	assert_int_equal(m.ncomponents, 3);
	const struct component *c = manifest_find_component(&m, "pattern");
	assert_non_null(c);
	assert_int_equal(c->nsources, 2);
	assert_string_equal(c->sources[1], "http://b/2");
	/* A refused edit leaves the entry as it was. */
	assert_int_equal(manifest_put_component(&m, "pattern", "9", "ABC", s1, 1, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(manifest_find_component(&m, "pattern")->version, "1");
	assert_int_equal(manifest_del_component(&m, "nope"), -ENOENT);
	assert_int_equal(manifest_del_component(&m, "engine"), 0);
	assert_null(manifest_find_component(&m, "engine"));
	assert_int_equal(m.ncomponents, 2);

	assert_int_equal(manifest_set_setting(&m, "b.key", "1", err, sizeof(err)), MANIFEST_ADDED);
	assert_int_equal(manifest_set_setting(&m, "a.key", "", err, sizeof(err)), MANIFEST_ADDED);
	assert_int_equal(manifest_set_setting(&m, "b.key", "1", err, sizeof(err)),
			 MANIFEST_UNCHANGED);
	assert_int_equal(manifest_set_setting(&m, "b.key", "2", err, sizeof(err)),
			 MANIFEST_REPLACED);
	assert_string_equal(m.settings[0].key, "a.key");
	assert_string_equal(manifest_find_setting(&m, "b.key")->value, "2");
	assert_int_equal(manifest_set_setting(&m, "b key", "2", err, sizeof(err)), -EINVAL);
	assert_int_equal(manifest_del_setting(&m, "c.key"), -ENOENT);

	/* Rendering: what the poll answers, in order. */
	assert_int_equal(manifest_render(&m), 0);
	assert_string_equal(m.settings_json, "{\"a.key\":\"\",\"b.key\":\"2\"}");
	assert_string_equal(m.components_json,
		"[{\"name\":\"pattern\",\"version\":\"1\",\"sha256\":\"" SHA_A "\","
		"\"sources\":[\"https://b/1\",\"http://b/2\"]},"
		"{\"name\":\"zz\",\"version\":\"3\",\"sha256\":\"" SHA_B "\","
		"\"sources\":[\"https://b/1\",\"http://b/2\"]}]");

	/* A copy is deep: editing it leaves the original alone. */
	struct manifest cp;
	assert_int_equal(manifest_copy(&cp, &m), 0);
	assert_ptr_not_equal(cp.components[0].name, m.components[0].name);
	assert_ptr_not_equal(cp.settings_json, m.settings_json);
	assert_string_equal(cp.components_json, m.components_json);
	assert_int_equal(manifest_del_component(&cp, "pattern"), 0);
	assert_int_equal(manifest_set_setting(&cp, "a.key", "changed", err, sizeof(err)),
			 MANIFEST_REPLACED);
	assert_int_equal(manifest_render(&cp), 0);
	assert_non_null(manifest_find_component(&m, "pattern"));
	assert_string_equal(manifest_find_setting(&m, "a.key")->value, "");
	assert_string_equal(m.settings_json, "{\"a.key\":\"\",\"b.key\":\"2\"}");
	manifest_free(&cp);
	manifest_free(&m);
	manifest_free(&m);   /* freeing an empty one is harmless */
}

static void test_manifest_limits(void **state)
{
	(void)state;
	struct manifest m = {0};
	char err[512], name[16];
	const char *s1[] = {"https://a/1"};
	for (int i = 0; i < MANIFEST_COMPONENTS_MAX; i++) {
		snprintf(name, sizeof(name), "c%04d", i);
		assert_int_equal(manifest_put_component(&m, name, "1", SHA_A, s1, 1, err, sizeof(err)),
				 MANIFEST_ADDED);
		assert_int_equal(manifest_set_setting(&m, name, "v", err, sizeof(err)),
				 MANIFEST_ADDED);
	}
	assert_int_equal(manifest_put_component(&m, "one-more", "1", SHA_A, s1, 1, err,
						sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "at most 1000 components"));
	assert_int_equal(manifest_set_setting(&m, "one-more", "v", err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "at most 1000 endpoint settings"));
	/* Full, but a replacement is no new entry. */
	assert_int_equal(manifest_put_component(&m, "c0500", "2", SHA_A, s1, 1, err, sizeof(err)),
			 MANIFEST_REPLACED);
	assert_int_equal(manifest_set_setting(&m, "c0500", "w", err, sizeof(err)),
			 MANIFEST_REPLACED);
	assert_int_equal(m.ncomponents, MANIFEST_COMPONENTS_MAX);
	for (size_t i = 1; i < m.ncomponents; i++)
		assert_true(strcmp(m.components[i - 1].name, m.components[i].name) < 0);
	manifest_free(&m);
}

/* ================= ctl_dispatch ================= */

static struct gn_daemon dmn;
static struct tu_scratch dir;   /* the persisted policy, bad.json */

static int ctl_setup(void **state)
{
	(void)state;
	return tu_ctl_open(&dmn, &dir, "manifest");
}

static int ctl_teardown(void **state)
{
	(void)state;
	return tu_ctl_close(&dmn, &dir);
}

#define CTL_OK(...) tu_ctl_argv(&dmn, true, (const char *const[]){__VA_ARGS__, NULL})
#define CTL_ERR(...) tu_ctl_argv(&dmn, false, (const char *const[]){__VA_ARGS__, NULL})

static json_t *result(json_t *j)
{
	json_t *r = json_object_get(j, "result");
	assert_non_null(r);
	return r;
}

/* The error of a refused command contains every string of `want`. */
static void refused(const char *const *argv, const char *const *want)
{
	json_t *j = tu_ctl_argv(&dmn, false, argv);
	const char *e = tu_jstr(j, "error");
	for (; *want; want++)
		if (!strstr(e, *want))
			fail_msg("error '%s' does not say '%s'", e, *want);
	json_decref(j);
}
#define REFUSED(want, ...) refused((const char *const[]){__VA_ARGS__, NULL}, \
				   (const char *const[]){want, NULL})

/* The persisted policy holds what the policy in force holds. */
static void check_persisted(void)
{
	struct policy *p = tu_persisted(&dmn);
	assert_int_equal(p->rev, dmn.policy->rev);
	assert_string_equal(p->manifest.settings_json, dmn.policy->manifest.settings_json);
	assert_string_equal(p->manifest.components_json, dmn.policy->manifest.components_json);
	policy_free(p);
}

static void test_ctl_help_lists(void **state)
{
	(void)state;
	json_t *j = CTL_OK("help");
	static const char *const want[] = {"component add", "component del", "component list",
		"endpoint-setting set", "endpoint-setting del", "endpoint-setting list"};
	for (size_t w = 0; w < N(want); w++) {
		bool found = false;
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(result(j), "commands"), i, c)
			found |= !strcmp(tu_jstr(c, "name"), want[w]);
		if (!found)
			fail_msg("help lists no '%s'", want[w]);
	}
	json_decref(j);
}

static void test_ctl_components(void **state)
{
	(void)state;
	struct endpoint *ep;
	assert_int_equal(registry_add(&dmn.reg, "agent-1", NOW, &ep), 0);
	assert_int_equal(registry_add(&dmn.reg, "agent-2", NOW, &ep), 0);

	json_t *j = CTL_OK("component", "list");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 5);
	assert_int_equal(json_array_size(json_object_get(result(j), "components")), 0);
	json_decref(j);

	/* Add: one commit, persisted. */
	j = CTL_OK("component", "add", "pattern", "18.977.00", SHA_A,
		   "https://update.example/pattern/18.977.00", "http://mirror.example/p");
	json_t *r = result(j);
	assert_string_equal(tu_jstr(r, "action"), "added");
	assert_int_equal(tu_jint(r, "settings_rev"), 6);
	assert_int_equal(tu_jint(r, "components"), 1);
	assert_int_equal(tu_jint(json_object_get(r, "affected"), "components"), 2);
	assert_string_equal(tu_jstr(json_object_get(r, "component"), "sha256"), SHA_A);
	json_decref(j);
	assert_int_equal(dmn.policy->rev, 6);
	check_persisted();

	j = CTL_OK("component", "add", "engine", "2.1", SHA_B, "https://e.example/2.1");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 7);
	json_decref(j);

	/* Replace by name. */
	j = CTL_OK("component", "add", "pattern", "18.978.00", SHA_B,
		   "https://update.example/pattern/18.978.00");
	assert_string_equal(tu_jstr(result(j), "action"), "replaced");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 8);
	assert_int_equal(tu_jint(result(j), "components"), 2);
	json_decref(j);
	check_persisted();

	/* The same again: no change, no new revision. */
	j = CTL_OK("component", "add", "pattern", "18.978.00", SHA_B,
		   "https://update.example/pattern/18.978.00");
	assert_string_equal(tu_jstr(result(j), "action"), "unchanged");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 8);
	assert_true(json_is_true(json_object_get(result(j), "unchanged"))); /* as set says it */
	json_decref(j);
	assert_int_equal(dmn.policy->rev, 8);

	j = CTL_OK("component", "list");
	json_t *want = json_loads(
		"[{\"name\": \"engine\", \"version\": \"2.1\", \"sha256\": \"" SHA_B "\","
		"  \"sources\": [\"https://e.example/2.1\"]},"
		" {\"name\": \"pattern\", \"version\": \"18.978.00\", \"sha256\": \"" SHA_B "\","
		"  \"sources\": [\"https://update.example/pattern/18.978.00\"]}]", 0, NULL);
	assert_non_null(want);
	assert_true(json_equal(json_object_get(result(j), "components"), want));
	assert_int_equal(tu_jint(result(j), "settings_rev"), 8);
	json_decref(want);
	json_decref(j);

	/* Bad input: refused, naming the field; nothing changes. */
	char *before = strdup(dmn.policy->manifest.components_json);
	REFUSED("name: expected", "component", "add", "a/b", "1", SHA_A, "https://a/");
	REFUSED("name: expected", "component", "add", "..", "1", SHA_A, "https://a/");
	REFUSED("version: expected", "component", "add", "x", "", SHA_A, "https://a/");
	REFUSED("version: expected", "component", "add", "x", rep('1', 65), SHA_A, "https://a/");
	REFUSED("sha256: expected exactly 64 lowercase hex", "component", "add", "x", "1",
		rep('A', 64), "https://a/");
	REFUSED("sha256: expected", "component", "add", "x", "1", "abc", "https://a/");
	REFUSED("sources[0]: expected an http:// or https:// URL", "component", "add", "x", "1",
		SHA_A, "ftp://a/");
	REFUSED("sources[1]: expected", "component", "add", "pattern", "1", SHA_A, "https://a/",
		"https://a b/");
	REFUSED("sources: expected 1..8", "component", "add", "x", "1", SHA_A, "https://a/1",
		"https://a/2", "https://a/3", "https://a/4", "https://a/5", "https://a/6",
		"https://a/7", "https://a/8", "https://a/9");
	REFUSED("usage: component add NAME VERSION SHA256 URL", "component", "add", "x", "1",
		SHA_A);
	REFUSED("usage: component del NAME", "component", "del");
	REFUSED("usage: component list", "component", "list", "extra");
	assert_int_equal(dmn.policy->rev, 8);
	assert_string_equal(dmn.policy->manifest.components_json, before);
	check_persisted();

	/* Eight sources are fine. */
	j = CTL_OK("component", "add", "x", "1", SHA_A, "https://a/1", "https://a/2",
		   "https://a/3", "https://a/4", "https://a/5", "https://a/6", "https://a/7",
		   "https://a/8");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 9);
	json_decref(j);

	/* Delete; an unknown name is an error naming it. */
	j = CTL_OK("component", "del", "x");
	assert_string_equal(tu_jstr(result(j), "deleted"), "x");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 10);
	json_decref(j);
	REFUSED("no component named 'x'", "component", "del", "x");
	REFUSED("name: expected", "component", "del", "a b");
	assert_int_equal(dmn.policy->rev, 10);
	assert_string_equal(dmn.policy->manifest.components_json, before);
	free(before);
	check_persisted();

	/* A policy that cannot be written is not applied. */
	char saved[sizeof(dmn.policy_path)];
	memcpy(saved, dmn.policy_path, sizeof(saved));
	snprintf(dmn.policy_path, sizeof(dmn.policy_path), "%s/no/such/dir/policy.json", dir.dir);
	json_decref(CTL_ERR("component", "add", "y", "1", SHA_A, "https://a/"));
	json_decref(CTL_ERR("component", "del", "engine"));
	memcpy(dmn.policy_path, saved, sizeof(saved));
	assert_int_equal(dmn.policy->rev, 10);
	assert_null(manifest_find_component(&dmn.policy->manifest, "y"));
	assert_non_null(manifest_find_component(&dmn.policy->manifest, "engine"));

	/* Full: the 1,001st is refused, a replacement is not. */
	struct manifest *m = &dmn.policy->manifest;   /* set up directly: no 1,000 commits */
	char err[512], name[16];
	const char *s1[] = {"https://a/1"};
	for (int i = 0; m->ncomponents < MANIFEST_COMPONENTS_MAX; i++) {
		snprintf(name, sizeof(name), "c%04d", i);
		assert_true(manifest_put_component(m, name, "1", SHA_A, s1, 1, err, sizeof(err)) >= 0);
	}
	assert_int_equal(manifest_render(m), 0);
	REFUSED("at most 1000 components", "component", "add", "zzz", "1", SHA_A, "https://a/");
	assert_int_equal(dmn.policy->rev, 10);
	j = CTL_OK("component", "add", "c0001", "2", SHA_A, "https://a/");
	assert_string_equal(tu_jstr(result(j), "action"), "replaced");
	json_decref(j);
	assert_int_equal(dmn.policy->rev, 11);
	check_persisted();
	struct policy *p = tu_persisted(&dmn);
	assert_int_equal(p->manifest.ncomponents, MANIFEST_COMPONENTS_MAX);
	policy_free(p);
}

static void test_ctl_endpoint_settings(void **state)
{
	(void)state;
	json_t *j = CTL_OK("endpoint-setting", "list");
	assert_int_equal(json_object_size(json_object_get(result(j), "endpoint_settings")), 0);
	json_decref(j);

	j = CTL_OK("endpoint-setting", "set", "scan.schedule", "daily 02:00");
	assert_string_equal(tu_jstr(result(j), "action"), "added");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 6);
	assert_int_equal(tu_jint(result(j), "endpoint_settings"), 1);
	json_decref(j);
	check_persisted();
	j = CTL_OK("endpoint-setting", "set", "scan.schedule", "daily 02:00");
	assert_string_equal(tu_jstr(result(j), "action"), "unchanged");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 6);
	assert_true(json_is_true(json_object_get(result(j), "unchanged")));
	json_decref(j);
	j = CTL_OK("endpoint-setting", "set", "scan.schedule", "daily 03:00");
	assert_string_equal(tu_jstr(result(j), "action"), "replaced");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 7);
	json_decref(j);
	j = CTL_OK("endpoint-setting", "set", "log.upload", "");   /* empty is a value */
	assert_int_equal(tu_jint(result(j), "settings_rev"), 8);
	json_decref(j);
	j = CTL_OK("endpoint-setting", "set", "motd", "caf\xc3\xa9\nline 2");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 9);
	json_decref(j);

	j = CTL_OK("endpoint-setting", "list");
	json_t *want = json_pack("{s:s, s:s, s:s}", "log.upload", "", "motd", "caf\xc3\xa9\nline 2",
				 "scan.schedule", "daily 03:00");
	assert_true(json_equal(json_object_get(result(j), "endpoint_settings"), want));
	json_decref(want);
	json_decref(j);
	check_persisted();

	char *before = strdup(dmn.policy->manifest.settings_json);
	REFUSED("key: expected 1..128 printable ASCII characters without spaces",
		"endpoint-setting", "set", "scan schedule", "x");
	REFUSED("key: expected", "endpoint-setting", "set", "", "x");
	REFUSED("key: expected", "endpoint-setting", "set", rep('k', 129), "x");
	REFUSED("value: expected 0..4096 bytes", "endpoint-setting", "set", "k", rep('v', 4097));
	REFUSED("value: expected", "endpoint-setting", "set", "k", "\x1b[2J");
	REFUSED("value: expected", "endpoint-setting", "set", "motd", "\x01");
	REFUSED("usage: endpoint-setting set KEY VALUE", "endpoint-setting", "set", "k");
	REFUSED("usage: endpoint-setting set KEY VALUE", "endpoint-setting", "set", "k", "v", "w");
	REFUSED("no endpoint setting 'nope'", "endpoint-setting", "del", "nope");
	REFUSED("key: expected", "endpoint-setting", "del", "a b");
	assert_int_equal(dmn.policy->rev, 9);
	assert_string_equal(dmn.policy->manifest.settings_json, before);
	free(before);
	check_persisted();

	j = CTL_OK("endpoint-setting", "set", "k", rep('v', 4096));
	assert_int_equal(tu_jint(result(j), "settings_rev"), 10);
	json_decref(j);
	j = CTL_OK("endpoint-setting", "del", "k");
	assert_string_equal(tu_jstr(result(j), "deleted"), "k");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 11);
	assert_int_equal(tu_jint(result(j), "endpoint_settings"), 3);
	json_decref(j);
	REFUSED("no endpoint setting 'k'", "endpoint-setting", "del", "k");
	assert_int_equal(dmn.policy->rev, 11);
	check_persisted();

	/* Full. */
	struct manifest *m = &dmn.policy->manifest;
	char err[512], key[16];
	for (int i = 0; m->nsettings < MANIFEST_SETTINGS_MAX; i++) {
		snprintf(key, sizeof(key), "k%04d", i);
		assert_true(manifest_set_setting(m, key, "v", err, sizeof(err)) >= 0);
	}
	assert_int_equal(manifest_render(m), 0);
	REFUSED("at most 1000 endpoint settings", "endpoint-setting", "set", "one.more", "v");
	j = CTL_OK("endpoint-setting", "set", "k0001", "w");
	assert_int_equal(tu_jint(result(j), "settings_rev"), 12);
	json_decref(j);
	check_persisted();

	/* The other settings' commands leave the manifest alone (a clone is a
	 * deep copy of it). */
	char *comp = strdup(dmn.policy->manifest.components_json);
	char *sett = strdup(dmn.policy->manifest.settings_json);
	json_decref(CTL_OK("set", "heartbeat.interval", "5m"));
	json_decref(CTL_OK("range", "add", "10.0.0.0/8"));
	assert_int_equal(dmn.policy->rev, 14);
	assert_string_equal(dmn.policy->manifest.components_json, comp);
	assert_string_equal(dmn.policy->manifest.settings_json, sett);
	free(comp);
	free(sett);
	check_persisted();
}

/* ================= poll ================= */

/* The endpoint API over the fake daemon's registry and policy. */
static struct tu_api api;

static struct tu_answer poll_as(const struct endpoint *ep, const char *inm, unsigned want)
{
	static char tok[] = "t";
	api.opt = (struct gn_options){.token = tok, .window = 300, .skew = 30, .udp_port = 7100,
				      .n_hb_addrs = 1};
	api.opt.hb_addrs[0] = "10.0.0.1";
	api.ctx = (struct api_ctx){.reg = &dmn.reg, .opt = &api.opt, .counters = &api.ctr,
				   .policy = &dmn.policy, .now = NOW};
	struct tu_proof pf;
	tu_proof_make(&pf, HB_AUTH_POLL, ep->id, NOW, registry_key(&dmn.reg, ep));
	return tu_api_call(&api, api_poll, "poll", &pf, NULL, NULL, inm, want,
			   want == 304 ? HTTP_POLL_NOT_MODIFIED : HTTP_POLL);
}

/* The poll body carries exactly what the policy in force holds. */
static void check_body(json_t *j)
{
	json_t *s = manifest_settings_json(&dmn.policy->manifest);
	json_t *c = manifest_components_json(&dmn.policy->manifest);
	assert_true(json_equal(json_object_get(j, "settings"), s));
	assert_true(json_equal(json_object_get(j, "components"), c));
	assert_int_equal(tu_jint(j, "settings_rev"), (json_int_t)dmn.policy->rev);
	assert_int_equal(tu_jint(j, "server_time"), NOW);
	assert_true(json_is_object(json_object_get(j, "heartbeat")));
	assert_true(json_is_object(json_object_get(j, "poll")));
	json_decref(s);
	json_decref(c);
}

static void test_poll_carries_manifest(void **state)
{
	(void)state;
	struct endpoint *ep;
	assert_int_equal(registry_add(&dmn.reg, "agent-p", NOW, &ep), 0);

	struct tu_answer a = poll_as(ep, NULL, 200);
	assert_int_equal(json_object_size(json_object_get(a.j, "settings")), 0);
	assert_int_equal(json_array_size(json_object_get(a.j, "components")), 0);
	check_body(a.j);
	json_decref(a.j);
	char etag[32];
	strcpy(etag, a.etag);
	a = poll_as(ep, etag, 304);

	/* Each change: a new ETag, and the body says it. */
	static const char *const changes[][8] = {
		{"component", "add", "pattern", "18.977.00", SHA_A,
		 "https://update.example/pattern/18.977.00", NULL},
		{"endpoint-setting", "set", "scan.schedule", "daily 02:00", NULL},
		{"component", "add", "pattern", "18.978.00", SHA_B, "https://u.example/p", NULL},
		{"component", "add", "engine", "1", SHA_A, "https://u.example/e", NULL},
		{"endpoint-setting", "set", "quote\"back\\slash", "tab\there \xe2\x98\x83", NULL},
		{"endpoint-setting", "del", "scan.schedule", NULL},
		{"component", "del", "pattern", NULL},
	};
	json_int_t rev = (json_int_t)dmn.policy->rev;
	for (size_t i = 0; i < N(changes); i++) {
		json_decref(tu_ctl_argv(&dmn, true, changes[i]));
		assert_int_equal(dmn.policy->rev, ++rev);
		a = poll_as(ep, etag, 200);
		if (!strcmp(a.etag, etag))
			fail_msg("change %zu (%s %s) kept the ETag %s", i, changes[i][0], changes[i][1],
				 etag);
		check_body(a.j);
		json_decref(a.j);
		strcpy(etag, a.etag);
		a = poll_as(ep, etag, 304);
	}
	a = poll_as(ep, etag, 304);
	/* What is left, as docs/protocol.md §3 shows it. */
	a = poll_as(ep, NULL, 200);
	json_t *want = json_loads("{\"quote\\\"back\\\\slash\": \"tab\\there \\u2603\"}", 0, NULL);
	assert_true(json_equal(json_object_get(a.j, "settings"), want));
	json_decref(want);
	want = json_loads("[{\"name\": \"engine\", \"version\": \"1\", \"sha256\": \"" SHA_A "\", "
			  "\"sources\": [\"https://u.example/e\"]}]", 0, NULL);
	assert_true(json_equal(json_object_get(a.j, "components"), want));
	json_decref(want);
	json_decref(a.j);

	/* An unchanged edit keeps the ETag. */
	json_decref(CTL_OK("component", "add", "engine", "1", SHA_A, "https://u.example/e"));
	a = poll_as(ep, etag, 304);

	/* A policy loaded from the file answers the same body. */
	struct policy *old = dmn.policy;
	dmn.policy = tu_persisted(&dmn);
	a = poll_as(ep, etag, 304);
	a = poll_as(ep, NULL, 200);
	check_body(a.j);
	json_decref(a.j);
	policy_free(dmn.policy);
	dmn.policy = old;
}

/* ================= persistence ================= */

static void test_store_round_trip(void **state)
{
	(void)state;
	struct policy *p = policy_new_default();
	assert_non_null(p);
	assert_string_equal(p->manifest.settings_json, "{}");
	assert_string_equal(p->manifest.components_json, "[]");
	char err[512];
	const char *src[] = {"https://a.example/x", "http://b.example/y?z=1"};
	assert_true(manifest_put_component(&p->manifest, "pattern", "18.977.00", SHA_A, src, 2,
					   err, sizeof(err)) >= 0);
	assert_true(manifest_put_component(&p->manifest, "Engine", "1 beta", SHA_B, src, 1, err,
					   sizeof(err)) >= 0);
	assert_true(manifest_set_setting(&p->manifest, "scan.schedule", "daily 02:00", err,
					 sizeof(err)) >= 0);
	assert_true(manifest_set_setting(&p->manifest, "empty", "", err, sizeof(err)) >= 0);
	assert_true(manifest_set_setting(&p->manifest, "multi", "a\nb\t\xe2\x98\x83", err,
					 sizeof(err)) >= 0);
	assert_int_equal(manifest_render(&p->manifest), 0);
	p->rev = 42;
	p->hb_interval = 300;
	assert_int_equal(policy_save(dmn.policy_path, p, err, sizeof(err)), 0);

	struct policy *q = NULL;
	if (policy_load(dmn.policy_path, &q, err, sizeof(err)) < 0)
		fail_msg("policy_load: %s", err);
	assert_int_equal(q->rev, 42);
	assert_int_equal(q->hb_interval, 300);
	assert_int_equal(q->manifest.ncomponents, 2);
	assert_int_equal(q->manifest.nsettings, 3);
	assert_string_equal(q->manifest.settings_json, p->manifest.settings_json);
	assert_string_equal(q->manifest.components_json, p->manifest.components_json);

	/* The file's shape: "endpoint_settings": {...}, "components": [...]. */
	json_t *root = json_load_file(dmn.policy_path, 0, NULL);
	assert_non_null(root);
	assert_true(json_is_object(json_object_get(root, "endpoint_settings")));
	assert_true(json_is_array(json_object_get(root, "components")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(root,
		"endpoint_settings"), "scan.schedule")), "daily 02:00");
	json_decref(root);

	/* A clone is deep and carries the rendered text. */
	struct policy *c = policy_clone(q);
	assert_non_null(c);
	assert_ptr_not_equal(c->manifest.components, q->manifest.components);
	assert_string_equal(c->manifest.components_json, q->manifest.components_json);
	policy_free(q);
	assert_string_equal(c->manifest.settings_json, p->manifest.settings_json);
	policy_free(c);
	policy_free(p);

	/* A file from before the manifest: empty manifest. */
	FILE *f = fopen(dmn.policy_path, "w");
	assert_non_null(f);
	fputs("{\"settings_rev\": 3, \"settings\": {}, \"unreachable\": []}", f);
	fclose(f);
	q = tu_persisted(&dmn);
	assert_int_equal(q->rev, 3);
	assert_int_equal(q->manifest.ncomponents, 0);
	assert_string_equal(q->manifest.components_json, "[]");
	assert_string_equal(q->manifest.settings_json, "{}");
	policy_free(q);
}

static void test_store_bad_files(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/bad.json", dir.dir);
#define C(s) "{\"name\": \"p\", \"version\": \"1\", \"sha256\": \"" SHA_A "\", \"sources\": " s "}"
	static const struct { const char *body, *want; } bad[] = {
		{"{\"endpoint_settings\": []}", "endpoint_settings: expected"},
		{"{\"endpoint_settings\": \"x\"}", "endpoint_settings: expected"},
		{"{\"endpoint_settings\": null}", "endpoint_settings: expected"},
		{"{\"endpoint_settings\": {\"a b\": \"x\"}}", "endpoint_settings: key: expected"},
		{"{\"endpoint_settings\": {\"\": \"x\"}}", "endpoint_settings: key: expected"},
		{"{\"endpoint_settings\": {\"k\": 5}}", "endpoint_settings.k: expected a string"},
		{"{\"endpoint_settings\": {\"k\": null}}", "endpoint_settings.k: expected a string"},
		{"{\"endpoint_settings\": {\"k\": \"\\u001b\"}}", "endpoint_settings.k: value: expected"},
		{"{\"endpoint_settings\": {\"k\": \"a\", \"k\": \"b\"}}", "duplicate"},
		{"{\"components\": {}}", "components: expected"},
		{"{\"components\": \"pattern\"}", "components: expected"},
		{"{\"components\": [\"pattern\"]}", "components[0]: expected"},
		{"{\"components\": [[]]}", "components[0]: expected"},
		{"{\"components\": [{\"name\": \"p\", \"version\": \"1\", \"sources\": [\"https://a/\"]}]}",
		 "components[0].sha256: expected a string"},
		{"{\"components\": [{\"version\": \"1\", \"sha256\": \"" SHA_A "\", \"sources\": "
		 "[\"https://a/\"]}]}", "components[0].name: expected a string"},
		{"{\"components\": [{\"name\": \"p\", \"version\": 1, \"sha256\": \"" SHA_A "\", "
		 "\"sources\": [\"https://a/\"]}]}", "components[0].version: expected a string"},
		{"{\"components\": [" C("[]") "]}", "components[0].sources: expected an array of 1..8"},
		{"{\"components\": [" C("\"https://a/\"") "]}", "components[0].sources: expected"},
		{"{\"components\": [" C("[\"https://a/\", 7]") "]}",
		 "components[0].sources[1]: expected a string"},
		{"{\"components\": [" C("[\"ftp://a/\"]") "]}", "components[0].sources[0]: expected"},
		{"{\"components\": [" C("[\"https://a/1\", \"https://a/2\", \"https://a/3\", "
		 "\"https://a/4\", \"https://a/5\", \"https://a/6\", \"https://a/7\", \"https://a/8\", "
		 "\"https://a/9\"]") "]}", "components[0].sources: expected an array of 1..8"},
		{"{\"components\": [{\"name\": \"p\", \"version\": \"1\", \"sha256\": \"" SHA_A "\", "
		 "\"sources\": [\"https://a/\"], \"source\": \"x\"}]}",
		 "components[0]: unknown member 'source'"},
		{"{\"components\": [{\"name\": \"a/b\", \"version\": \"1\", \"sha256\": \"" SHA_A "\", "
		 "\"sources\": [\"https://a/\"]}]}", "components[0].name: expected"},
		{"{\"components\": [{\"name\": \"p\", \"version\": \"1\", \"sha256\": \"ABC\", "
		 "\"sources\": [\"https://a/\"]}]}", "components[0].sha256: expected"},
		{"{\"components\": [" C("[\"https://a/\"]") ", " C("[\"https://b/\"]") "]}",
		 "components[1].name: 'p' names an earlier component too"},
		{"{\"settings_rev\": \"7\"}", "settings_rev: expected a positive integer"},
		{"{\"settings_rev\": 0}", "settings_rev: expected a positive integer"},
		{"{\"settings_rev\": -3}", "settings_rev: expected a positive integer"},
		{"[]", "expected {"},
		{"{\"components\": [", "line"},
	};
#undef C
	for (size_t i = 0; i < N(bad); i++) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(bad[i].body, f);
		fclose(f);
		struct policy *p = (struct policy *)0x1;
		char err[512] = "";
		int rc = policy_load(path, &p, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("file %s: rc %d, want -EINVAL", bad[i].body, rc);
		assert_ptr_equal(p, (struct policy *)0x1);   /* nothing handed out */
		if (strncmp(err, path, strlen(path)) || !strstr(err, bad[i].want))
			fail_msg("file %s: error '%s' does not name %s and '%s'", bad[i].body, err,
				 path, bad[i].want);
	}

	/* Too many entries. */
	json_t *comps = json_array(), *sets = json_object();
	for (int i = 0; i <= MANIFEST_COMPONENTS_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "c%04d", i);
		json_array_append_new(comps, json_pack("{s:s, s:s, s:s, s:[s]}", "name", name,
						       "version", "1", "sha256", SHA_A, "sources",
						       "https://a/"));
		json_object_set_new(sets, name, json_string("v"));
	}
	const struct { const char *member; json_t *v; const char *want; } many[] = {
		{"components", comps, "components: 1001 entries (at most 1000)"},
		{"endpoint_settings", sets, "endpoint_settings: 1001 keys (at most 1000)"},
	};
	for (size_t i = 0; i < N(many); i++) {
		json_t *root = json_pack("{s:O}", many[i].member, many[i].v);
		assert_int_equal(json_dump_file(root, path, 0), 0);
		json_decref(root);
		struct policy *p = NULL;
		char err[512] = "";
		assert_int_equal(policy_load(path, &p, err, sizeof(err)), -EINVAL);
		assert_null(p);
		if (!strstr(err, many[i].want) || strncmp(err, path, strlen(path)))
			fail_msg("error '%s', want '%s'", err, many[i].want);
		/* One fewer is fine. */
		if (json_is_array(many[i].v))
			json_array_remove(many[i].v, 0);
		else
			json_object_del(many[i].v, "c0000");
		root = json_pack("{s:O}", many[i].member, many[i].v);
		assert_int_equal(json_dump_file(root, path, 0), 0);
		json_decref(root);
		if (policy_load(path, &p, err, sizeof(err)) < 0)
			fail_msg("1000 %s refused: %s", many[i].member, err);
		policy_free(p);
	}
	json_decref(comps);
	json_decref(sets);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_key),
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_check_version),
		cmocka_unit_test(test_check_sha256),
		cmocka_unit_test(test_check_url),
		cmocka_unit_test(test_check_component),
		cmocka_unit_test(test_manifest_edits),
		cmocka_unit_test(test_manifest_limits),
		cmocka_unit_test_setup_teardown(test_ctl_help_lists, ctl_setup, ctl_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_components, ctl_setup, ctl_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_endpoint_settings, ctl_setup, ctl_teardown),
		cmocka_unit_test_setup_teardown(test_poll_carries_manifest, ctl_setup, ctl_teardown),
		cmocka_unit_test_setup_teardown(test_store_round_trip, ctl_setup, ctl_teardown),
		cmocka_unit_test_setup_teardown(test_store_bad_files, ctl_setup, ctl_teardown),
	};
	return TU_RUN(tests);
}
