/*
 * The coarse clock: Unix seconds, advanced by the control thread, read by
 * the workers once per burst. Workers never make a syscall to learn the
 * time, and every worker of one burst sees the same second.
 */
#ifndef GLOURNET_COARSE_CLOCK_H
#define GLOURNET_COARSE_CLOCK_H

#include <stdint.h>

extern uint32_t gn_coarse_now_sec;

static inline uint32_t gn_coarse_now(void)
{
	return __atomic_load_n(&gn_coarse_now_sec, __ATOMIC_RELAXED);
}

static inline void gn_coarse_set(uint32_t sec)
{
	__atomic_store_n(&gn_coarse_now_sec, sec, __ATOMIC_RELAXED);
}

#endif
