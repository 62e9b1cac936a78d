/*
 * glournetd: parse our options, bring up EAL, the port and one worker per
 * worker lcore, then run the control thread's event loop on the main lcore
 * until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <sodium.h>

#define LOG_TAG "main"
#include "control/daemon.h"
#include "control/daemon_start.h"
#include "control/daemon_netpath.h"
#include "control/expire.h"
#include "control/persist.h"
#include "control/policy_store.h"
#include "control/settings.h"
#include "control/status.h"
#include "control/sweep.h"
#include "control/bulk_job.h"
#include "control/transitions.h"
#include "glournet/gn_mem.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"
#include "glournet/port.h"


static uint32_t wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_sec;
}

/* Per loop turn, at most ~3 ms of sweep, ~2 ms of bulk import/export and
 * ~1 ms of index growth: a request waits a few milliseconds at worst. */
#define SWEEP_SLICE_NS   (3 * 1000 * 1000)
#define INDEX_STEP_CELLS (16 * 1024)
#define BULK_SLICE_NS    (2 * 1000 * 1000)

static void run(struct gn_daemon *d)
{
	struct sweep_result res;
	while (!d->quit) {
		uint32_t now = wall_seconds();
		gn_coarse_set(now);
		d->http.api.now = now;
		drain_worker_events(d, now);
		if (!sweep_busy(&d->sweep) && now - d->last_sweep >= d->opt.sweep_interval) {
			sweep_start(&d->sweep);
			port_read_stats(d->port_id, &d->port_stats);
			d->last_sweep = now;
		}
		/* Long work in slices (DESIGN.md): the socket and HTTP wait at
		 * most one slice. */
		sweep_slice(&d->sweep, &d->reg, d->policy, now, SWEEP_SLICE_NS, &res);
		bool more = registry_index_step(&d->reg, INDEX_STEP_CELLS) || sweep_busy(&d->sweep);
		more |= bulk_tick(d, now, BULK_SLICE_NS);
		more |= expire_slice(d, now);
		more |= netpath_tick(d, now);   /* exception path, neighbours, TX */
		/* Removed slots become reusable: one grace period per turn at most. */
		registry_reclaim(&d->reg);
		feed_flush(d->feed);
		persist_tick(d, now);
		ctl_server_pump(&d->ctl);
		int http_ms = http_tick(&d->http);
		int timeout = more ? 0 : http_ms >= 0 && http_ms < 100 ? http_ms : 100;
		timeout = netpath_timeout(d, timeout);
		if (loop_run_once(&d->loop, timeout) < 0)
			break;
	}
}

int main(int argc, char **argv)
{
	static struct gn_daemon d;
	int n = options_parse(&d.opt, argc, argv);
	if (n <= 0)
		return n == 0 ? 0 : 2;
	if (sodium_init() < 0) {
		fprintf(stderr, "glournetd: libsodium failed to initialise\n");
		return 1;
	}
	/* Block the signals before EAL starts threads, so only signalfd sees them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	/* EAL gets argv[0] plus everything after our `--`. */
	int eal_argc = argc - n + 1;
	char **eal_argv = argv + n - 1;
	eal_argv[0] = argv[0];
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		LOG(ERR, "EAL initialisation failed: %s", rte_strerror(rte_errno));
		return 1;
	}
	gn_coarse_set(wall_seconds());
	d.started = d.last_sweep = gn_coarse_now();
	struct loop_watch sigw;
	int rc = start_dataplane(&d);
	if (rc == 0)
		rc = start_control(&d, &sigs, &sigw);
	if (rc == 0)
		rc = launch_workers(&d);
	if (rc == 0) {
		LOG(INFO, "glournetd %s running; policy revision %llu, offline after %us", GN_VERSION,
		    (unsigned long long)d.policy->rev, d.policy->offline_after);
		run(&d);
	} else {
		LOG(ERR, "start-up failed: %s", strerror(-rc));
	}
	shutdown_all(&d);
	rte_eal_cleanup();
	LOG(INFO, "stopped");
	return rc == 0 ? 0 : 1;
}
