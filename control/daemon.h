/*
 * The daemon's state, owned by the control thread and handed to the parts
 * that serve it (HTTP API, control socket, sweep).
 */
#ifndef GLOURNET_DAEMON_H
#define GLOURNET_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "control/bulk_job.h"
#include "control/clock_step.h"
#include "control/ctl_server.h"
#include "control/daemon_jobs.h"
#include "control/event_loop.h"
#include "control/expire.h"
#include "control/hb_addrs.h"
#include "control/io_offload.h"
#include "control/http_counters.h"
#include "control/http_server.h"
#include "control/metrics_server.h"
#include "control/cluster_apply.h"
#include "control/cluster_contacts.h"
#include "control/stream_apply.h"
#include "control/notify.h"
#include "control/options.h"
#include "control/persist.h"
#include "control/policy.h"
#include "control/reclassify.h"
#include "control/registry.h"
#include "control/sweep.h"
#include "glournet/port.h"
#include "glournet/slot_table.h"
#include "glournet/tx.h"
#include "glournet/worker.h"

struct store;
struct cluster;
struct cluster_feed;
struct cluster_policy;
struct netpath;

struct eal_plan;

struct gn_daemon {
	struct gn_options opt;
	const struct eal_plan *eal; /* EAL's arguments as glournetd read them (daemon_eal.h) */
	struct event_loop loop;
	struct slot_table table;
	struct registry reg;
	struct policy *policy; /* current snapshot; only this thread reads it (policy_apply.c) */
	char policy_path[4096];
	struct { /* policy.json written off the control thread (policy_apply.c) */
		struct io_offload io;
		bool in_flight;       /* a save outlived its wait and has not returned */
		struct policy *owned; /* the refused draft it writes, freed once it returns */
		const struct policy *saving;
		uint64_t expected; /* several collectors: the revision it was made on */
		char err[512];
	} policy_saver;
	struct transition_feed *feed;  /* R8 */
	struct store *store;           /* SQLite; registrations answered once committed */
	struct loop_watch store_watch; /* the store's eventfd: commits advanced */
	uint32_t restore_skipped;      /* duplicate rows found at the last restore */
	uint8_t restore_notify_flags;  /* change flags pending in the endpoints restored */
	/* A CPU for the restore's store reader (persist_restore.c): the first
	 * worker lcore's, idle until the workers start; unset: anywhere. */
	bool restore_cpu_set;
	unsigned restore_cpu;
	struct hb_event_ring *rings[GN_MAX_WORKERS]; /* rare messages from the workers */
	struct {                                     /* what drain_worker_events took off them */
		uint64_t shutdowns, boots, notify_acks, sources, stale;
	} events;
	struct http_counters http_counters;
	struct http_server http;
	struct metrics_server metrics; /* --metrics (docs/metrics.md) */
	struct ctl_server ctl;
	uint16_t port_id;
	struct port_stats port_stats; /* refreshed by the main loop */
	unsigned nworkers;
	struct worker_conf workers[GN_MAX_WORKERS];
	struct worker_counters counters[GN_MAX_WORKERS];
	uint32_t started;        /* on the steady clock, as every duration */
	struct clock_step clock; /* the real clock's steps (main.c) */
	/* The control loop's jobs: each one's state (wired by daemon_jobs.c),
	 * and the table main.c:run() walks. */
	struct sweep_state sweep;
	struct expire_job expire;
	struct reclassify_job reclassify; /* R1 after a range change, in slices */
	struct persist_transitions_job persist;
	struct persist_checkpoint_job checkpoint;
	struct bulk_jobs bulk;
	struct registry_job index_job, reclaim_job;
	struct feed_log_job log_job;
	struct port_job port_job;
	struct loop_job jobs[DAEMON_JOBS_MAX];
	unsigned njobs;
	struct netpath_job netpath_job;
	struct decider_job decider_job;
	struct decider_gate gates[GATE_COUNT];
	struct cluster *cluster; /* several collectors on PostgreSQL; NULL: this one decides */
	struct cluster_feed
		*cluster_feed; /* their contact feed (cluster_feed.h); NULL with cluster */
	struct contacts_job contacts_job;
	struct cluster_changes *cluster_changes; /* the change feed (cluster_changes.h); NULL
						  * without cluster */
	struct changes_job changes_job;          /* applies it (cluster_apply.h) */
	/* The transition stream of several collectors (cluster_stream.h): its
	 * reader, the feed watchers follow (global numbers), the loop job that
	 * applies it. NULL without a cluster: watchers follow d->feed. */
	struct cluster_stream *cluster_stream;
	struct transition_feed *stream_feed;
	struct stream_job stream_job;
	/* The fleet's policy in PostgreSQL (cluster_policy.h); NULL: policy.json only. */
	struct cluster_policy *cluster_policy;
	/* heartbeat.addrs of every live collector (hb_addrs.h), refreshed
	 * from the cluster's view by daemon_policy_tick; the API reads it
	 * only with a cluster. */
	struct hb_addrs hb_addrs;
	uint64_t hb_addrs_ns;        /* when last refreshed */
	struct notify_engine notify; /* R11 campaigns, R12 verification ("notify" job) */
	/* The exception path, neighbours and TX (glournet/netpath.h,
	 * daemon_netpath.c); NULL where no port runs (unit tests). */
	struct netpath *net;
	struct tx_handle tx; /* the port's TX path, for the control plane */
	volatile bool stop_workers;
	volatile bool quit;
};

/* Makes `draft` the policy (ownership passes): validated already; persisted
 * first, then swapped in (the old one freed), then every endpoint
 * reclassified when the ranges changed. On failure nothing changes. Adds "settings_rev",
 * "affected" and "warnings" to `result`. */
/* Each loop turn: collects a policy save that outlived its wait, once it
 * returns; with several collectors, applies a newer fleet policy the
 * watch read (cluster_policy.h) and refreshes heartbeat.addrs. */
void daemon_policy_tick(struct gn_daemon *d);

/* The feed `watch` and show status's next_event follow: the stream's with
 * several collectors, the local one otherwise. */
static inline struct transition_feed *daemon_watch_feed(const struct gn_daemon *d)
{
	return d->stream_feed ? d->stream_feed : d->feed;
}
int daemon_policy_commit(struct gn_daemon *d, struct policy *draft, json_t *result, char *err,
			 size_t errlen);

#endif
