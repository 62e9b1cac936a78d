/*
 * The control loop's table of jobs (loop_job.h): which long jobs glournetd
 * runs, in what order each turn, with what share of the turn's budget, and
 * wired to the parts of the daemon each needs (not to the daemon). A new
 * job is its state in struct gn_daemon and one row in daemon_jobs.c.
 */
#ifndef GLOURNET_DAEMON_JOBS_H
#define GLOURNET_DAEMON_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "control/loop_job.h"
#include "glournet/port.h"

struct gn_daemon;
struct registry;
struct transition_feed;

/* One loop turn's budget for all the jobs together (main.c:run): a request
 * waits about this long behind them at worst. */
#define DAEMON_TURN_BUDGET_NS (8 * 1000 * 1000)
#define DAEMON_JOBS_MAX       24

/* Thin jobs over another module's step. */
struct registry_job { /* "index": index growth; "reclaim": quarantined slots */
	struct registry *reg;
	struct loop_job_stats stats;
};

struct feed_log_job { /* "log": the transition log's pending lines */
	struct transition_feed *feed;
	struct loop_job_stats stats;
};

typedef int port_read_fn(uint16_t port_id, struct port_stats *out);
struct port_job {           /* "port": the port's counters, for show stats */
	port_read_fn *read; /* NULL: no port (tests) */
	uint16_t port_id;
	struct port_stats *out;
	uint32_t interval, last; /* read every sweep interval, as the sweep starts */
	struct loop_job_stats stats;
};

/* "netpath": the exception path, neighbours and TX (daemon_netpath.c),
 * bounded inside; true when a bound was hit. Every turn it runs is one
 * slice: the rings and netlink are polled each turn. */
typedef bool netpath_tick_fn(struct gn_daemon *d, uint32_t now);
struct netpath_job {
	netpath_tick_fn *tick; /* NULL: no port (tests) */
	struct gn_daemon *d;
	struct loop_job_stats stats;
};

/* A row only the decider runs (several collectors, cluster.h): the
 * sweep's decisions, expiry, notify campaigns and verification, and the
 * contact checkpoint. Its step is the job's own, called while
 * cluster_deciding (always with one collector) and, after a takeover,
 * once the transition stream is caught up (stream_apply.h). */
struct decider_gate {
	loop_job_step_fn *step;
	void *self;
	struct gn_daemon *d;
};
enum { GATE_SWEEP, GATE_EXPIRE, GATE_NOTIFY, GATE_CHECKPOINT, GATE_COUNT };

/* "decider": the lease's news, each turn. A takeover begins R9's grace
 * from now (the sweep's `started`: the restart grace, reused), so no
 * endpoint goes offline for the failover itself; a step-down is logged
 * by cluster.c. */
struct decider_job {
	struct gn_daemon *d;
	int64_t epoch; /* the last taken */
	struct loop_job_stats stats;
};

/* What the jobs call in the dataplane, which the control library does not
 * link: glournetd passes port_read_stats and netpath_tick; tests fakes or
 * NULL. */
struct daemon_dataplane_ops {
	port_read_fn *read_port;
	netpath_tick_fn *netpath_tick;
};

/* Wires every job and fills d->jobs: after the store is open and the
 * registry restored ("persist" starts from the feed's next entry), before
 * the loop runs. */
void daemon_jobs_init(struct gn_daemon *d, const struct daemon_dataplane_ops *dp);

#endif
