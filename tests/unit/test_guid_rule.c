/*
 * One guid rule for every door that adds endpoints (issue #10): a guid
 * that POST /v1/register accepts, `glournetctl import` accepts, and the
 * other way round. Each tricky guid goes through the real doors, start to
 * end short of the store: api_register with a JSON body, and the import's
 * two gates (bulk_parse_line, then registry_add_imported as bulk_job.c's
 * import_record calls it) for a JSON line and for a CSV line. All three
 * must give the answer the table expects, so the test fails both when the
 * doors disagree and when the rule itself moves.
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

#include "control/api.h"
#include "control/bulk_format.h"
#include "control/policy.h"
#include "control/registry.h"

#define NOW   1795000000u
#define TOKEN "t0ken"

struct door {
	struct slot_table table;
	struct registry reg;
};

static struct door api_door, jsonl_door, csv_door;
static struct policy *pol;
static struct gn_options opt;
static struct http_counters ctr;

static int door_init(struct door *d)
{
	return slot_table_init(&d->table, 1, 1u << 16) < 0 || registry_init(&d->reg, &d->table) < 0 ||
	       registry_reset_ranges(&d->reg, 0) < 0 ? -1 : 0;
}

static void door_fini(struct door *d)
{
	registry_destroy(&d->reg);
	slot_table_destroy(&d->table);
}

static int setup(void **state)
{
	(void)state;
	memset(&opt, 0, sizeof(opt));
	opt.token = TOKEN;
	opt.window = 300;
	opt.skew = 30;
	opt.udp_port = 7100;
	pol = policy_new_default();
	return !pol || door_init(&api_door) < 0 || door_init(&jsonl_door) < 0 ||
	       door_init(&csv_door) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	door_fini(&api_door);
	door_fini(&jsonl_door);
	door_fini(&csv_door);
	policy_free(pol);
	return 0;
}

/* `g` as a JSON string: quotes, backslashes and control bytes escaped,
 * every other byte as it is (so invalid UTF-8 stays invalid). */
static void json_string_of(const char *g, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	out[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)g[i];
		assert_true(k + 8 < cap);
		if (c == '"' || c == '\\')
			k += (size_t)snprintf(out + k, cap - k, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			k += (size_t)snprintf(out + k, cap - k, "\\u%04x", c);
		else
			out[k++] = (char)c;
	}
	out[k++] = '"';
	out[k] = '\0';
}

/* POST /v1/register's status for `body`. */
static unsigned register_status(const char *body)
{
	struct api_ctx ctx = { .reg = &api_door.reg, .opt = &opt, .counters = &ctr, .policy = &pol,
			       .now = NOW };
	struct api_request req = { .body = body, .body_len = strlen(body),
				   .authorization = "Bearer " TOKEN };
	struct api_response resp = {0};
	api_register(&ctx, &req, &resp);
	free(resp.body);
	return resp.status;
}

static bool register_accepts(const char *g, size_t n)
{
	char body[1024], s[900];
	json_string_of(g, n, s, sizeof(s));
	snprintf(body, sizeof(body), "{\"guid\": %s}", s);
	unsigned status = register_status(body);
	if (status != 201 && status != 400)
		fail_msg("register: status %u", status);
	return status == 201;
}

/* What bulk_job.c does with one line: parse it, then add the endpoint. */
static bool import_accepts(struct door *d, enum bulk_format fmt, const struct bulk_header *h,
			   const char *line)
{
	struct bulk_record rec;
	char err[300];
	if (bulk_parse_line(fmt, h, line, strlen(line), &rec, err, sizeof(err)) < 0)
		return false;
	struct endpoint *ep;
	int rc = registry_add_imported(&d->reg, rec.e.guid, 0, NULL, UINT32_MAX, NOW, &ep);
	if (rc < 0 && rc != -EINVAL)
		fail_msg("import of '%s': %d, neither added nor refused for its guid", line, rc);
	return rc == 0;
}

static bool jsonl_accepts(const char *g, size_t n)
{
	char line[1024], s[900];
	json_string_of(g, n, s, sizeof(s));
	snprintf(line, sizeof(line), "{\"guid\":%s}", s);
	return import_accepts(&jsonl_door, BULK_JSONL, NULL, line);
}

static bool csv_accepts(const char *g, size_t n)
{
	struct bulk_header h;
	char err[200], line[1024];
	assert_int_equal(bulk_parse_csv_header("guid", 4, &h, err, sizeof(err)), 0);
	size_t k = 0;
	line[k++] = '"';   /* quoted, quotes doubled (RFC 4180) */
	for (size_t i = 0; i < n; i++) {
		if (g[i] == '"')
			line[k++] = '"';
		line[k++] = g[i];
	}
	line[k++] = '"';
	line[k] = '\0';
	return import_accepts(&csv_door, BULK_CSV, &h, line);
}

static void test_same_guids_everywhere(void **state)
{
	(void)state;
	char g64[65], g65[66], e32[65], e33[67];
	memset(g64, 'g', 64), g64[64] = '\0';
	memset(g65, 'h', 65), g65[65] = '\0';
	for (int i = 0; i < 32; i++)
		memcpy(e32 + 2 * i, "\xc3\xa9", 2), memcpy(e33 + 2 * i, "\xc3\xa9", 2);
	e32[64] = '\0';
	memcpy(e33 + 64, "\xc3\xa9", 3);   /* 33 x "é": 66 bytes, 33 characters */
	static const struct { const char *what, *guid; bool ok; } cases[] = {
		{"plain", "host-42", true},
		{"empty", "", false},
		{"a space inside", "has space", false},
		{"a leading space", " lead", false},
		{"a trailing space", "trail ", false},
		{"only a space", " ", false},
		{"a tab", "tab\there", false},
		{"a newline", "nl\n", false},
		{"a carriage return", "cr\r", false},
		{"ESC", "\x1b[31m", false},
		{"DEL", "del\x7f", false},
		{"\\x01", "a\x01" "b", false},
		{"non-ASCII UTF-8", "h\xc3\xa9llo-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x98\x80", true},
		/* Issue 13: C1 controls and bidi controls drive or reorder an
		 * operator's terminal; the characters next to them do not. */
		{"a C1 control as UTF-8 (U+0085)", "c1\xc2\x85", false},
		{"CSI as UTF-8 (U+009B)", "csi\xc2\x9b" "2J", false},
		{"U+0080, the first C1", "c1\xc2\x80", false},
		{"U+009F, the last C1", "c1\xc2\x9f", false},
		{"U+00A0, past C1", "nb\xc2\xa0sp", true},
		{"RLO (U+202E)", "exe.\xe2\x80\xaegpj", false},
		{"LRE (U+202A)", "a\xe2\x80\xaa" "b", false},
		{"PDF (U+202C)", "a\xe2\x80\xac" "b", false},
		{"U+202F, past the overrides", "a\xe2\x80\xaf" "b", true},
		{"LRI (U+2066)", "a\xe2\x81\xa6" "b", false},
		{"PDI (U+2069)", "a\xe2\x81\xa9" "b", false},
		{"U+2065, before the isolates", "a\xe2\x81\xa5" "b", true},
		{"U+206A, after them", "a\xe2\x81\xaa" "b", true},
		{"LRM (U+200E)", "a\xe2\x80\x8e" "b", false},
		{"RLM (U+200F)", "a\xe2\x80\x8f" "b", false},
		{"ZWJ (U+200D), no bidi control", "a\xe2\x80\x8d" "b", true},
		{"ALM (U+061C)", "a\xd8\x9c" "b", false},
		{"invalid UTF-8 (\\xff)", "bad\xff", false},
		{"an overlong NUL", "ov\xc0\x80", false},
		{"a surrogate", "su\xed\xa0\x80", false},
		{"UTF-8 cut short", "cut\xe6\x97", false},
		{"a double quote", "quo\"te", true},
		{"a single quote", "it's", true},
		{"a comma", "a,b", true},
		{"a semicolon", "a;b", true},
		{"a backslash", "back\\slash", true},
		{"braces", "{x}", true},
		{"a hash", "#1", true},
	};
	const struct { const char *what, *guid; bool ok; } sized[] = {
		{"64 bytes", g64, true}, {"65 bytes", g65, false},
		{"32 x U+00E9, 64 bytes", e32, true}, {"33 x U+00E9, 66 bytes", e33, false},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]), m = sizeof(sized) / sizeof(sized[0]);
	for (size_t i = 0; i < n + m; i++) {
		const char *what = i < n ? cases[i].what : sized[i - n].what;
		const char *g = i < n ? cases[i].guid : sized[i - n].guid;
		bool want = i < n ? cases[i].ok : sized[i - n].ok;
		size_t len = strlen(g);
		bool api = register_accepts(g, len), jl = jsonl_accepts(g, len),
		     csv = csv_accepts(g, len);
		if (api != want || jl != want || csv != want)
			fail_msg("guid %s: register %s, import jsonl %s, import csv %s; want all %s",
				 what, api ? "accepts" : "refuses", jl ? "accepts" : "refuses",
				 csv ? "accepts" : "refuses", want ? "to accept" : "to refuse");
	}
	/* Each door added exactly the guids it accepted, no more. */
	uint32_t accepted = 0;
	for (size_t i = 0; i < n; i++)
		accepted += cases[i].ok;
	accepted += 2;   /* g64, e32 */
	assert_int_equal(api_door.reg.count, accepted);
	assert_int_equal(jsonl_door.reg.count, accepted);
	assert_int_equal(csv_door.reg.count, accepted);
}

/* A NUL cannot reach the registry through either door: JSON's \u0000 is
 * refused by registration and named by the import. */
static void test_nul_refused_everywhere(void **state)
{
	(void)state;
	assert_int_equal(register_status("{\"guid\": \"a\\u0000b\"}"), 400);
	assert_false(import_accepts(&jsonl_door, BULK_JSONL, NULL, "{\"guid\":\"a\\u0000b\"}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_guids_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_refused_everywhere, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
