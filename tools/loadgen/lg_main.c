/*
 * glournet-loadgen: a simulated fleet for glournetd (issue #6). Reads or
 * registers the endpoints' credentials, then sends their heartbeats through
 * the chosen engine and prints a summary. See docs/loadgen.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lg_endpoints.h"
#include "lg_engine.h"
#include "lg_options.h"
#include "lg_register.h"
#include "lg_run.h"
#include "lg_sched.h"

static void on_signal(int sig)
{
	(void)sig;
	lg_stop = 1;
}

static int load_endpoints(const struct lg_opts *o, struct lg_endpoints *set)
{
	char err[512];
	int rc;

	if (o->register_url) {
		rc = lg_register_all(o, set);
		if (o->save && set->n && lg_endpoints_save(o->save, set) < 0) {
			fprintf(stderr, LG_PROG ": --save %s: %s\n", o->save, strerror(errno));
			return -EIO;
		}
		if (rc < 0)
			fprintf(stderr, LG_PROG ": registration failed for some endpoints\n");
		return rc;
	}
	if ((rc = lg_endpoints_load(o->endpoints_file, set, err, sizeof(err))) < 0) {
		fprintf(stderr, LG_PROG ": --endpoints %s\n", err);
		return rc;
	}
	if (o->count && o->count < set->n)
		set->n = o->count;
	if (o->count > set->n)
		fprintf(stderr, LG_PROG ": note: --count %llu but %s holds %zu endpoints\n",
			(unsigned long long)o->count, o->endpoints_file, set->n);
	return 0;
}

int main(int argc, char **argv)
{
	struct lg_opts o;
	struct lg_endpoints set = {0};
	struct lg_sched sched;
	struct lg_engine eng = {0};
	struct lg_stats st;
	struct sigaction sa = {.sa_handler = on_signal};
	int rc = lg_opts_parse(argc, argv, &o, stderr);

	if (rc)
		return rc == 1 ? LG_EXIT_OK : rc;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = load_endpoints(&o, &set);
	if (rc < 0 || o.register_only || lg_stop) {
		lg_endpoints_free(&set);
		return rc < 0 ? LG_EXIT_FAIL : LG_EXIT_OK;
	}
	if (set.n > UINT32_MAX) {
		fprintf(stderr, LG_PROG ": too many endpoints\n");
		return LG_EXIT_FAIL;
	}
	rc = lg_sched_init(
		&sched,
		&(struct lg_sched_cfg){.n = (uint32_t)set.n,
				       .interval_ns = (uint64_t)(o.interval_s * 1e9),
				       .pace = o.max_rate   ? LG_PACE_MAX
					       : o.rate > 0 ? LG_PACE_RATE
							    : LG_PACE_INTERVAL,
				       .rate = o.rate,
				       .loss = o.loss,
				       .silent = o.silent,
				       .shutdown = o.shutdown,
				       .silent_after_ns = (uint64_t)(o.silent_after_s * 1e9),
				       .shutdown_after_ns = (uint64_t)(o.shutdown_after_s * 1e9),
				       .duration_ns = (uint64_t)(o.duration_s * 1e9),
				       .rounds = o.rounds,
				       .seed = o.seed});
	if (rc < 0) {
		fprintf(stderr, LG_PROG ": schedule: %s\n", strerror(-rc));
		lg_endpoints_free(&set);
		return LG_EXIT_FAIL;
	}
	eng.ops = o.engine == LG_ENGINE_DPDK ? &lg_engine_dpdk_ops : &lg_engine_kernel_ops;
	if ((rc = eng.ops->open(&eng, &o)) < 0) {
		fprintf(stderr, LG_PROG ": engine %s: %s\n", eng.ops->name,
			eng.err[0] ? eng.err : strerror(-rc));
		eng.ops->close(&eng);
		lg_sched_free(&sched);
		lg_endpoints_free(&set);
		return LG_EXIT_FAIL;
	}
	lg_run(&o, &set, &sched, &eng, &st);
	lg_summary(&o, &sched, &eng, &st);
	eng.ops->close(&eng);
	lg_sched_free(&sched);
	lg_endpoints_free(&set);
	return LG_EXIT_OK;
}
