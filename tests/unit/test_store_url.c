/*
 * --store URL (control/store_url.c). Proves: every accepted form gives its
 * backend and target (sqlite:, sqlite:/PATH, postgresql:// and postgres://
 * URIs with multi-host lists and target_session_attrs, key=value strings);
 * the password never appears in the shown text, whether in a URI's
 * user:PASSWORD@, its ?password=, or a key=value string's password (bare
 * or quoted, with escapes); every bad input is refused with an error that
 * names the (masked) input and never holds the password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "control/store_url.h"

static void test_forms(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum store_kind kind;
		const char *target;
	} ok[] = {
		{"", STORE_KIND_SQLITE, ""},
		{"sqlite:", STORE_KIND_SQLITE, ""},
		{"sqlite:/var/lib/gn/x.db", STORE_KIND_SQLITE, "/var/lib/gn/x.db"},
		{"postgresql://gn@db1/glournet", STORE_KIND_PG, "postgresql://gn@db1/glournet"},
		{"postgres://db1:5433/glournet", STORE_KIND_PG, "postgres://db1:5433/glournet"},
		{"postgresql://gn@db1:5432,db2:5432/glournet?target_session_attrs=read-write",
		 STORE_KIND_PG,
		 "postgresql://gn@db1:5432,db2:5432/glournet?target_session_attrs=read-write"},
		{"host=/tmp port=5432 dbname=glournet", STORE_KIND_PG,
		 "host=/tmp port=5432 dbname=glournet"},
		{"host=a,b dbname=g target_session_attrs=read-write", STORE_KIND_PG,
		 "host=a,b dbname=g target_session_attrs=read-write"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct store_url u;
		char err[512] = "";
		if (store_url_parse(ok[i].text, &u, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", ok[i].text, err);
		assert_int_equal(u.kind, ok[i].kind);
		assert_string_equal(u.target, ok[i].target);
	}
	struct store_url u;
	char err[64];
	assert_int_equal(store_url_parse(NULL, &u, err, sizeof(err)), 0);
	assert_int_equal(u.kind, STORE_KIND_SQLITE);
	assert_string_equal(u.shown, "sqlite:");
}

static void test_mask(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} m[] = {
		{"postgresql://gn:s3cret@db1/g", "postgresql://gn:***@db1/g"},
		{"postgres://gn:s3cret@db1:5432,db2/g?sslmode=require",
		 "postgres://gn:***@db1:5432,db2/g?sslmode=require"},
		{"postgresql://gn@db1/g?password=s3cret&connect_timeout=3",
		 "postgresql://gn@db1/g?password=***&connect_timeout=3"},
		{"postgresql://db1/g?connect_timeout=3&password=s3cret",
		 "postgresql://db1/g?connect_timeout=3&password=***"},
		{"postgresql://gn@db1/g", "postgresql://gn@db1/g"},
		{"postgresql://db1:5432/g", "postgresql://db1:5432/g"},
		{"host=db1 password=s3cret dbname=g", "host=db1 password=*** dbname=g"},
		{"host=db1 password = s3cret", "host=db1 password = ***"},
		{"password='s3 \\'cret' host=db1", "password=*** host=db1"},
		{"host=db1 dbname=g", "host=db1 dbname=g"},
		{"sqlite:/x", "sqlite:/x"},
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		char out[256];
		store_url_mask(m[i].in, out, sizeof(out));
		assert_string_equal(out, m[i].want);
		assert_null(strstr(out, "s3"));
	}
	char tiny[8];
	store_url_mask("postgresql://gn:s3cret@db1/g", tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), 7); /* cut, terminated */
	/* The parse's shown text is the masked one. */
	struct store_url u;
	char err[256];
	assert_int_equal(store_url_parse("postgresql://gn:s3cret@db1/g", &u, err, sizeof(err)), 0);
	assert_string_equal(u.shown, "postgresql://gn:***@db1/g");
	assert_string_equal(u.target, "postgresql://gn:s3cret@db1/g");
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *says;
	} bad[] = {
		{"sqlite:relative.db", "sqlite:/ABSOLUTE/PATH"},
		{"mysql://gn:s3cret@db1/g", "expected sqlite:"},
		{"/var/lib/x.db", "expected sqlite:"},
		{"host=db1 password=s3cret bogus=1", "not a PostgreSQL connection string"},
		{"postgresql://gn:s3cret@db1/g?bogus=1", "not a PostgreSQL connection string"},
		{"postgresql://gn:s3%zzcret@db1/g", "not a PostgreSQL connection string"},
		{"host=db1 password='s3cret", "not a PostgreSQL connection string"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct store_url u;
		char err[512] = "";
		assert_int_equal(store_url_parse(bad[i].text, &u, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].says))
			fail_msg("'%s': error '%s' does not say '%s'", bad[i].text, err,
				 bad[i].says);
		if (strstr(err, "s3"))
			fail_msg("'%s': error '%s' shows the password", bad[i].text, err);
		/* It names the input (masked): its first characters are there. */
		char head[8] = "";
		memcpy(head, u.shown, 7);
		assert_non_null(strstr(err, head));
	}
	char longer[STORE_URL_MAX + 10];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "host=", 5);
	struct store_url u;
	char err[512];
	assert_int_equal(store_url_parse(longer, &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
