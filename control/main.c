/*
 * glournetd: parse our options, bring up EAL, the port and one worker per
 * worker lcore, then run the control thread's event loop on the main lcore
 * until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <sodium.h>

#define LOG_TAG "main"
#include "control/daemon.h"
#include "control/daemon_dpdk_log.h"
#include "control/daemon_eal.h"
#include "control/daemon_service.h"
#include "control/daemon_start.h"
#include "control/daemon_netpath.h"
#include "control/daemon_telemetry.h"
#include "control/state_dir.h"
#include "control/mono_clock.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

/* Reads the real clock once a turn, and publishes it with the steady
 * one (coarse_clock.h); a step of the real clock is logged and counted
 * (show stats, metrics) and moves no duration. */
static uint32_t clock_tick(struct gn_daemon *d)
{
	int64_t step = clock_step_observe(&d->clock, gn_wall_ns(), gn_boot_ns());
	if (step) {
		gn_coarse_set_base((int32_t)d->clock.base_s, (int32_t)d->clock.prev_base_s);
		LOG(WARN,
		    "the real clock stepped %s by %llds; durations (offline, expiry, restart grace) "
		    "keep running on the steady clock, now %llds behind the real one",
		    step > 0 ? "forward" : "backward", (long long)(step > 0 ? step : -step),
		    (long long)d->clock.base_s);
	}
	gn_coarse_set(clock_step_wall(&d->clock));
	return clock_step_steady(&d->clock);
}

/* --check: what a start would use, said on stdout; 0 when it is good. */
static int daemon_check(const struct gn_options *o, struct eal_plan *eal)
{
	if (eal_plan_make(eal, o, o->eal_argc, o->eal_argv) < 0)
		return 2;
	printf("glournetd: %s: configuration OK\n", o->config_path ? o->config_path : "options");
	printf("EAL arguments:");
	for (int i = 1; i < eal->argc; i++)
		printf(" %s", eal->argv[i]);
	printf("%s\n", eal->argc > 1 ? "" : " (none)");
	return 0;
}

static void run(struct gn_daemon *d)
{
	while (!d->quit) {
		uint32_t now = clock_tick(d);
		d->http.api.now = now;
		d->http.api.wire_now = gn_coarse_now();
		drain_worker_events(d, now);
		/* Long work in slices (loop_job.h): the socket and HTTP wait at
		 * most one turn's budget. */
		bool more = loop_jobs_run(d->jobs, d->njobs, now, DAEMON_TURN_BUDGET_NS);
		ctl_server_pump(&d->ctl);
		daemon_policy_tick(d);
		int http_ms = http_tick(&d->http), metrics_ms = metrics_tick(&d->metrics);
		if (metrics_ms >= 0 && (http_ms < 0 || metrics_ms < http_ms))
			http_ms = metrics_ms;
		int timeout = more ? 0 : http_ms >= 0 && http_ms < 100 ? http_ms : 100;
		timeout = netpath_timeout(d, timeout);
		if (loop_run_once(&d->loop, timeout) < 0)
			break;
		service_watchdog(); /* the loop turns: systemd's watchdog is fed */
		service_status(d->reg.by_status, d->nworkers);
	}
}

int main(int argc, char **argv)
{
	static struct gn_daemon d;
	int n = options_parse(&d.opt, argc, argv);
	if (n <= 0)
		return n == 0 ? 0 : 2;
	static struct eal_plan eal;
	if (d.opt.check) /* the options and the EAL arguments, without starting DPDK */
		return daemon_check(&d.opt, &eal);
	if (sodium_init() < 0) {
		LOG(ERR, "libsodium failed to initialise");
		return 1;
	}
	/* The state directory first (its modes, then its lock), before EAL
	 * touches hugepages or a port: a second glournetd on the same
	 * directory stops here, naming the first (state_dir.h). The lock's
	 * descriptor stays open for the process's life. */
	int rc = state_dir_prepare(d.opt.state_dir);
	if (rc == 0)
		rc = state_dir_lock(d.opt.state_dir);
	if (rc < 0) {
		LOG(ERR, "start-up failed: %s", strerror(-rc));
		options_free(&d.opt);
		return 1;
	}
	/* Block the signals before EAL starts threads, so only signalfd sees them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP); /* reload (daemon_start.c), no longer the default: exit */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	/* EAL gets argv[0] plus everything after our `--`, completed and, on
	 * failure, explained by daemon_eal.c. */
	/* EAL's own lines through our logger, from its first. */
	if (dpdk_log_redirect() < 0)
		LOG(WARN, "DPDK's log: %s (it writes to stdout)", strerror(errno));
	if (eal_plan_make(&eal, &d.opt, d.opt.eal_argc, d.opt.eal_argv) < 0 ||
	    eal_plan_start(&eal) < 0) {
		service_failed(EINVAL);
		return 1;
	}
	d.eal = &eal;
	clock_step_init(&d.clock, gn_wall_ns(), gn_boot_ns());
	gn_coarse_set(clock_step_wall(&d.clock));
	d.started = clock_step_steady(&d.clock);
	struct loop_watch sigw;
	rc = start_dataplane(&d);
	if (rc == 0)
		rc = start_control(&d, &sigs, &sigw);
	if (rc == 0)
		rc = launch_workers(&d);
	if (rc == 0)
		daemon_telemetry_start(&d); /* optional: a failure is logged, not fatal */
	if (rc == 0) {
		LOG(INFO, "glournetd %s running; policy revision %llu, offline after %us",
		    GN_VERSION, (unsigned long long)d.policy->rev, d.policy->offline_after);
		service_ready(d.reg.count, d.nworkers);
		run(&d);
		service_stopping();
	} else {
		LOG(ERR, "start-up failed: %s", strerror(-rc));
		service_failed(-rc);
	}
	shutdown_all(&d);
	options_free(&d.opt);
	rte_eal_cleanup();
	eal_plan_cleanup(&eal);
	LOG(INFO, "stopped");
	return rc == 0 ? 0 : 1;
}
