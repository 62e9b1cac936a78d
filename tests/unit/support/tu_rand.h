/*
 * The unit tests' one random source: xorshift64, seeded by each test, so a
 * failure reproduces run after run. Not for anything but test inputs.
 */
#ifndef GLOURNET_TU_RAND_H
#define GLOURNET_TU_RAND_H

#include <stdint.h>

/* The next number of the sequence that *state (never 0) is at. */
static inline uint64_t tu_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif
