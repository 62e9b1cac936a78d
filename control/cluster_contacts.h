/*
 * The control thread's side of the contact feed (cluster_feed.h), as one
 * loop job ("contacts"): a collector that does not decide scans its slot
 * table every FEED_BATCH_MS for heartbeats newer than it forwarded and
 * hands them to the feed; the decider merges what the feed read into its
 * registry's last contact (as a heartbeat heard by the control plane:
 * last_ctl_contact, reason heartbeat) before its sweep decides, and holds
 * every offline (sweep.h, hold) while a live collector's batches are late,
 * and gives R9's grace again (offline_after from now) whenever the set of
 * live collectors changes.
 */
#ifndef GLOURNET_CLUSTER_CONTACTS_H
#define GLOURNET_CLUSTER_CONTACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "control/loop_job.h"

struct registry;
struct cluster;
struct cluster_feed;
struct sweep_state;

struct contacts_job {
	struct registry *reg;
	struct cluster *cluster;
	struct cluster_feed *feed; /* NULL: one collector, the job does nothing */
	struct sweep_state *sweep;
	uint32_t cursor;    /* the non-decider's scan: next slot */
	uint32_t last_scan; /* when the last scan began */
	bool scanning;
	uint64_t merged;     /* contacts that moved a last contact (decider) */
	uint64_t membership; /* cluster_feed_membership as last seen */
	struct loop_job_stats stats;
};

/* The loop's job (loop_job.h). */
bool contacts_step(void *self, uint32_t now, uint64_t budget_ns);

#endif
