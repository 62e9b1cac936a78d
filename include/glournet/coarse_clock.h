/*
 * The coarse clock: Unix seconds, advanced by the control thread, read by
 * the workers once per burst. Workers never make a syscall to learn the
 * time, and every worker of one burst sees the same second.
 *
 * Two clocks in one: gn_coarse_now() is the real clock, the one the wire's
 * times are on (a heartbeat's time is judged against it); steady =
 * real - base is the one durations are measured on, and what every stored
 * timestamp is on (control/clock_step.h): base moves only when the real
 * clock is stepped. The previous base stays for the senders that learned
 * the server's clock before the step (hb_accept.h).
 */
#ifndef GLOURNET_COARSE_CLOCK_H
#define GLOURNET_COARSE_CLOCK_H

#include <stdint.h>

extern uint32_t gn_coarse_now_sec;
extern int32_t gn_coarse_base_sec[2]; /* [0] real - steady now, [1] before the last step */

static inline uint32_t gn_coarse_now(void)
{
	return __atomic_load_n(&gn_coarse_now_sec, __ATOMIC_ACQUIRE);
}

static inline int32_t gn_coarse_base(void)
{
	return __atomic_load_n(&gn_coarse_base_sec[0], __ATOMIC_RELAXED);
}

static inline int32_t gn_coarse_prev_base(void)
{
	return __atomic_load_n(&gn_coarse_base_sec[1], __ATOMIC_RELAXED);
}

/* The steady clock, for the control thread's readers (ctl, metrics). */
static inline uint32_t gn_coarse_steady(void)
{
	return gn_coarse_now() - (uint32_t)gn_coarse_base();
}

/* A steady time as the wire writes it (a notify's time). */
static inline uint32_t gn_coarse_wire(uint32_t steady)
{
	return steady + (uint32_t)gn_coarse_base();
}

/* A base before the second: a worker that sees the new second sees the
 * new base (a worker that sees the old second with the new base records
 * one heartbeat as older than it was, which is harmless). */
static inline void gn_coarse_set_base(int32_t base, int32_t prev)
{
	__atomic_store_n(&gn_coarse_base_sec[1], prev, __ATOMIC_RELAXED);
	__atomic_store_n(&gn_coarse_base_sec[0], base, __ATOMIC_RELAXED);
}

static inline void gn_coarse_set(uint32_t sec)
{
	__atomic_store_n(&gn_coarse_now_sec, sec, __ATOMIC_RELEASE);
}

#endif
