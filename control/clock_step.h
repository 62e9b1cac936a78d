/*
 * Steps of the real clock, told from time passing. Durations (offline,
 * expiry, grace) run on the collector's steady clock: the real clock
 * minus `base`, the sum of the steps seen so far. Each observation
 * compares how far the real clock moved with how far CLOCK_BOOTTIME did
 * (monotonic, and it counts a suspend, which is time that really passed);
 * a difference over CLOCK_STEP_TOLERANCE_NS is a step, in whole seconds,
 * added to base. So the steady clock follows the real one second for
 * second (slewing included) and never jumps with it. Pure: the daemon
 * reads the clocks (main.c), the tests hand in their own.
 */
#ifndef GLOURNET_CLOCK_STEP_H
#define GLOURNET_CLOCK_STEP_H

#include <stdbool.h>
#include <stdint.h>

/* Under this the real and the elapsed time may differ between two
 * observations and it is not a step: NTP's slew (at most 500 ppm) is far
 * below it, and two clock reads a few ns apart cannot drift by a second. */
#define CLOCK_STEP_TOLERANCE_NS 1000000000ll

struct clock_step {
	uint64_t wall_ns, mono_ns;  /* the last observation */
	int64_t base_s;             /* real - steady, in seconds: the steps so far */
	int64_t prev_base_s;        /* the base before the last step */
	uint64_t forward, backward; /* steps seen, by direction */
	int64_t last_step_s;        /* the last one's size (negative: backward) */
	uint64_t last_step_at;      /* real time (Unix seconds) right after it; 0: none */
};

void clock_step_init(struct clock_step *c, uint64_t wall_ns, uint64_t mono_ns);

/* One observation of both clocks. Returns the step seen since the last
 * one, in seconds (negative: backward), or 0. */
int64_t clock_step_observe(struct clock_step *c, uint64_t wall_ns, uint64_t mono_ns);

/* Real Unix seconds as of the last observation, and the steady clock's. */
uint32_t clock_step_wall(const struct clock_step *c);
uint32_t clock_step_steady(const struct clock_step *c);

#endif
