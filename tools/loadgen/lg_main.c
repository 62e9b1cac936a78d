/*
 * glournet-loadgen: a simulated fleet for glournetd (issue #6). Reads or
 * registers the endpoints' credentials, then sends their heartbeats through
 * the chosen engine and prints a summary. See docs/loadgen.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lg_endpoints.h"
#include "lg_engine.h"
#include "lg_listen.h"
#include "lg_notify.h"
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

/* --roles-out: each endpoint's heartbeat and ack roles, so a test knows
 * which guid should do what. */
static int roles_out(const char *path, const struct lg_endpoints *set, const struct lg_sched *s,
		     const struct lg_notify *nt)
{
	static const char *const hb[] = {"normal", "silent", "shutdown"};
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	for (size_t i = 0; i < set->n; i++)
		/* guids were checked when read or made: nothing to escape */
		fprintf(f, "{\"guid\":\"%s\",\"heartbeat\":\"%s\",\"ack\":\"%s\"}\n",
			lg_endpoints_guid(set, i), hb[lg_sched_role(s, (uint32_t)i)],
			lg_ack_role_name[nt->role[i]]);
	return fclose(f) ? -EIO : 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct lg_listen *ln = NULL;
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
	if (o.notify) {
		struct lg_listen_figures f;

		if ((rc = lg_listen_start(&ln, &o, &set, &sched, mono_ns())) < 0) {
			fprintf(stderr, LG_PROG ": notifies: %s\n", strerror(-rc));
			lg_listen_free(ln);
			eng.ops->close(&eng);
			lg_sched_free(&sched);
			lg_endpoints_free(&set);
			return LG_EXIT_FAIL;
		}
		lg_listen_figures(ln, &f);
		if (o.roles_out && (rc = roles_out(o.roles_out, &set, &sched, f.nt)) < 0)
			fprintf(stderr, LG_PROG ": --roles-out %s: %s\n", o.roles_out,
				strerror(-rc));
		if (!o.quiet)
			fprintf(stderr, LG_PROG ": listening for notifies on %u port(s)\n",
				f.sockets);
	}
	lg_run(&o, &set, &sched, &eng, &st, ln);
	lg_listen_stop(ln);
	lg_summary(&o, &sched, &eng, &st, ln);
	lg_listen_free(ln);
	eng.ops->close(&eng);
	lg_sched_free(&sched);
	lg_endpoints_free(&set);
	return LG_EXIT_OK;
}
