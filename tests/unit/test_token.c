/*
 * The enrollment token check of POST /v1/register (control/api_register.c)
 * must not tell the token's length (issue #13 item 11). Timing is not
 * measured here (that belongs in bench/); what makes the time independent
 * of the length is: every token sent, whatever its length, is compared
 * by one constant-time comparison (sodium_memcmp) of the same number of
 * bytes, and none is refused before it. This test stands in for
 * sodium_memcmp (the executable's definition wins over libsodium's) and
 * records what each check compares. Also: the right token passes, and a
 * token differing anywhere, shorter, longer, a prefix or an extension of
 * it, empty, or without "Bearer ", does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "control/api.h"
#include "glournet/gn_mem.h"

/* ---- sodium_memcmp, recorded ---- */

static bool recording;
static unsigned calls;
static size_t compared[64];

int sodium_memcmp(const void *const b1_, const void *const b2_, size_t len)
{
	const volatile unsigned char *a = b1_, *b = b2_;
	unsigned char d = 0;
	for (size_t i = 0; i < len; i++)
		d |= a[i] ^ b[i];
	if (recording && calls < 64)
		compared[calls++] = len;
	return d ? -1 : 0;
}

/* ---- a registry to register into ---- */

#define TOKEN "s3cret-enrollment-token-0123456789"

static struct slot_table table;
static struct registry reg;
static struct gn_options opt;
static struct http_counters counters;
static struct policy *policy;

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || slot_table_init(&table, 1, 1u << 10) < 0 ||
	    registry_init(&reg, &table) < 0 || !(policy = policy_new_default()) ||
	    registry_reset_ranges(&reg, 0) < 0)
		return -1;
	opt.token = TOKEN;
	opt.window = 300;
	opt.skew = 30;
	opt.udp_port = 7100;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	policy_free(policy);
	registry_destroy(&reg);
	slot_table_destroy(&table);
	return 0;
}

/* The status of a registration with `authorization` (NULL: none), and
 * what its token check compared. */
static unsigned try_token(const char *authorization)
{
	struct api_ctx ctx = {.reg = &reg, .opt = &opt, .counters = &counters, .policy = &policy,
			      .now = 1795000000};
	/* No guid: a token that passes gets 400, so nothing else compares. */
	struct api_request req = {.body = "{}", .body_len = 2, .authorization = authorization};
	struct api_response resp = {0};
	calls = 0;
	recording = true;
	api_register(&ctx, &req, &resp);
	recording = false;
	free(resp.body);
	return resp.status;
}

static void test_right_and_wrong(void **state)
{
	(void)state;
	assert_int_equal(try_token("Bearer " TOKEN), 400);   /* past the token */
	static const char *const wrong[] = {
		"Bearer s3cret-enrollment-token-012345678X",   /* the last byte */
		"Bearer X3cret-enrollment-token-0123456789",   /* the first */
		"Bearer s3cret-enrollment-token-012345678",    /* a prefix */
		"Bearer s3cret-enrollment-token-01234567890",  /* an extension */
		"Bearer s",
		"Bearer ",
		"Bearer " TOKEN " ",
		"bearer " TOKEN,
		"Bearer" TOKEN,
		TOKEN,
		"",
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		if (try_token(wrong[i]) != 401)
			fail_msg("'%s' was not refused with 401", wrong[i]);
	assert_int_equal(try_token(NULL), 401);
}

static void test_length_not_told(void **state)
{
	(void)state;
	/* Tokens of every length from 0 to 4x the real one's. */
	size_t n = strlen(TOKEN), want = 0;
	char auth[7 + 4 * sizeof(TOKEN)];
	for (size_t len = 0; len <= 4 * n; len++) {
		memcpy(auth, "Bearer ", 7);
		for (size_t i = 0; i < len; i++)
			auth[7 + i] = i < n ? TOKEN[i] : 'x';
		auth[7 + len] = '\0';
		if (len == n)
			auth[7 + len - 1] ^= 1;   /* the right length, but wrong */
		assert_int_equal(try_token(auth), 401);
		if (calls != 1)
			fail_msg("a token of %zu bytes (the real one has %zu): %u comparisons, want "
				 "exactly one", len, n, calls);
		if (!want)
			want = compared[0];
		if (compared[0] != want)
			fail_msg("a token of %zu bytes: %zu bytes compared, %zu for others: the "
				 "comparison depends on the length", len, compared[0], want);
	}
	/* The right one: the same comparison. */
	assert_int_equal(try_token("Bearer " TOKEN), 400);
	assert_int_equal(calls, 1);
	assert_int_equal(compared[0], want);
	/* And not the token's own length: it is not the token that is compared. */
	assert_int_not_equal(want, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_right_and_wrong),
		cmocka_unit_test(test_length_not_told),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
