/*
 * The send loop of glournet-loadgen: the schedule feeds batches to the
 * engine, paced by the clock; one progress line a second; the figures a
 * summary and the tests need.
 */
#ifndef GLOURNET_LG_RUN_H
#define GLOURNET_LG_RUN_H

#include <signal.h>
#include <stdint.h>

#include "lg_endpoints.h"
#include "lg_engine.h"
#include "lg_listen.h"
#include "lg_options.h"
#include "lg_sched.h"

/* Set by SIGINT/SIGTERM (lg_main.c's handler; defined in lg_run.c):
 * registration and sending stop at the next batch and the summary still
 * prints. */
extern volatile sig_atomic_t lg_stop;

struct lg_stats {
	uint64_t sent;     /* frames the engine took (shutdowns included) */
	uint64_t lost;     /* deliberately not sent (--loss) */
	uint64_t tx_drops; /* the engine would not take them (after retries) */
	uint64_t shutdown_sent;
	uint64_t rounds; /* rounds begun */
	double elapsed_s;
	bool interrupted;
};

/* Runs the schedule over set with engine e (already open). With a
 * receiver `ln` (--notify; else NULL) the run lasts the whole --duration,
 * whenever the schedule ends, and the progress line shows its figures. */
int lg_run(const struct lg_opts *o, const struct lg_endpoints *set, struct lg_sched *s,
	   struct lg_engine *e, struct lg_stats *st, struct lg_listen *ln);

/* The summary: text on stdout, or one JSON object with --json; with the
 * receiver's figures when ln (stopped) is given. */
void lg_summary(const struct lg_opts *o, const struct lg_sched *s, struct lg_engine *e,
		const struct lg_stats *st, struct lg_listen *ln);

#endif
