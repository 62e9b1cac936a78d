/*
 * Monotonic time for the control plane's own measures: slice budgets,
 * timeouts, durations in stats. One definition instead of a copy per file.
 * gn_boot_ns also counts the time the machine was suspended: the elapsed
 * time the clock-step detector (clock_step.h) holds the real clock to.
 */
#ifndef GLOURNET_MONO_CLOCK_H
#define GLOURNET_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t gn_clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t gn_mono_ns(void)
{
	return gn_clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t gn_boot_ns(void)
{
	return gn_clock_ns(CLOCK_BOOTTIME);
}

/* The real clock: the wire's Unix times, and the one a step can move. */
static inline uint64_t gn_wall_ns(void)
{
	return gn_clock_ns(CLOCK_REALTIME);
}

#endif
