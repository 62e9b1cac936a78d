/*
 * EXPERIMENTAL variants of worker_main for gn-bench-capacity --exp (see
 * exp_worker.c): each prices one optimisation of the hot path end to end.
 */
#ifndef GLOURNET_BENCH_EXP_WORKER_H
#define GLOURNET_BENCH_EXP_WORKER_H

#include "glournet/worker.h"

int exp_worker_prefetch(void *arg);
int exp_worker_inline(void *arg);
int exp_worker_both(void *arg);
int exp_worker_batch(void *arg);   /* accept_batch.h: prefetch + MACs 8 at a time */

#endif
