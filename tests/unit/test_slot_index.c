/*
 * The slot index (control/slot_index.c): finds 100k entries across many
 * growths, tells colliding hashes apart by the match callback, and honours
 * its initial size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "control/slot_index.h"

#define IX_N 100000u
static uint64_t *ix_keys;

static bool ix_match(void *ctx, uint32_t slot, const void *key)
{
	const uint64_t *keys = ctx;
	return keys[slot] == *(const uint64_t *)key;
}

static uint64_t ix_hash(uint64_t k) { return k * 0x9E3779B97F4A7C15ull ^ (k >> 29); }

static void test_slot_index_100k(void **state)
{
	(void)state;
	struct slot_index ix;
	ix_keys = calloc(IX_N, sizeof(*ix_keys));
	assert_non_null(ix_keys);
	assert_int_equal(slot_index_init(&ix, 4), 0);
	size_t first_cap = (size_t)1 << ix.cur.bits;
	for (uint32_t i = 0; i < IX_N; i++) {
		ix_keys[i] = 1000003ull * i + 7;
		assert_int_equal(slot_index_insert(&ix, ix_hash(ix_keys[i]), i), 0);
	}
	while (slot_index_step(&ix, 4096))
		;
	assert_int_equal(slot_index_count(&ix), IX_N);
	assert_true(((size_t)1 << ix.cur.bits) > first_cap);        /* it grew */
	assert_true(((size_t)1 << ix.cur.bits) * 3 >= 4 * (size_t)IX_N); /* load factor up to 3/4 */
	for (uint32_t i = 0; i < IX_N; i++) {
		uint32_t s = slot_index_find(&ix, ix_hash(ix_keys[i]), ix_match, ix_keys, &ix_keys[i]);
		if (s != i)
			fail_msg("key %u found at %u", i, s);
	}
	/* Absent keys. */
	for (uint64_t k = 1; k < 2000; k++) {
		uint64_t key = 1000003ull * IX_N * 2 + k;
		assert_int_equal(slot_index_find(&ix, ix_hash(key), ix_match, ix_keys, &key),
				 UINT32_MAX);
	}
	slot_index_destroy(&ix);
	assert_null(ix.cur.cells);
	free(ix_keys);
}

/* Equal hashes: the match callback decides, each entry is found. */
static void test_slot_index_collisions(void **state)
{
	(void)state;
	struct slot_index ix;
	uint64_t keys[200];
	assert_int_equal(slot_index_init(&ix, 0), 0);
	for (uint32_t i = 0; i < 200; i++) {
		keys[i] = 0xABC000 + i;
		/* Every key gets the same hash. */
		assert_int_equal(slot_index_insert(&ix, 42, i), 0);
	}
	for (uint32_t i = 0; i < 200; i++)
		assert_int_equal(slot_index_find(&ix, 42, ix_match, keys, &keys[i]), i);
	uint64_t other = 1;
	assert_int_equal(slot_index_find(&ix, 42, ix_match, keys, &other), UINT32_MAX);
	/* A hash that only differs from a stored one in high bits. */
	assert_int_equal(slot_index_find(&ix, 42 | (1ull << 63), ix_match, keys, &keys[0]),
			 UINT32_MAX);
	slot_index_destroy(&ix);
}

/* The initial size is honoured: no growth before the load factor. */
static void test_slot_index_initial(void **state)
{
	(void)state;
	struct slot_index ix;
	assert_int_equal(slot_index_init(&ix, 1000), 0);
	size_t cap = (size_t)1 << ix.cur.bits;
	assert_true(cap >= 2000);
	assert_int_equal(cap & (cap - 1), 0);        /* a power of two (mask) */
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(slot_index_insert(&ix, i, i), 0);
	assert_int_equal((size_t)1 << ix.cur.bits, cap);
	slot_index_destroy(&ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_index_100k),
		cmocka_unit_test(test_slot_index_collisions),
		cmocka_unit_test(test_slot_index_initial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
