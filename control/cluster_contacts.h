/*
 * The control thread's side of the contact feed (cluster_feed.h), as one
 * loop job ("contacts"): a collector that does not decide scans its slot
 * table every FEED_BATCH_MS for heartbeats newer than it forwarded and
 * hands them to the feed, and the registrations, polls and events it heard
 * (the control plane's contact, R3 R4 R5: last_ctl_contact, ctl_reason);
 * the decider merges what the feed read into its
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
struct endpoint;
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
	uint32_t ctl_since; /* this scan: control-plane contacts from then on */
	bool scanning;
	uint64_t merged; /* contacts that moved a last contact (decider) */
	uint64_t losses; /* cluster_feed_losses as last seen */
	struct loop_job_stats stats;
};

/* Non-decider: what of `ep` to forward (up to CONTACTS_PER_ENDPOINT: a
 * heartbeat newer than the last forwarded, marked forwarded; a
 * control-plane contact at or after `ctl_since`, the second the previous
 * scan began; a SHUTDOWN heartbeat heard here since then, reason
 * shutdown), each as id, age in seconds at `now`, reason. Exposed for the
 * unit tests. */
#define CONTACTS_PER_ENDPOINT 3
struct feed_contact;
unsigned contacts_collect(struct registry *r, struct endpoint *ep, uint32_t now, uint32_t ctl_since,
			  uint64_t ids[CONTACTS_PER_ENDPOINT], uint32_t ages[CONTACTS_PER_ENDPOINT],
			  uint32_t reasons[CONTACTS_PER_ENDPOINT]);
/* Decider: one contact another collector forwarded (read at c->read_ns on
 * the monotonic clock; `mono_ns` is now on it) into its endpoint's last
 * contact: a heartbeat as a control-plane contact with reason heartbeat,
 * a registration, poll or event with its reason (ending an earlier
 * "offline at once", as status.c does); a shutdown takes it offline at
 * once, as one heard here would (status_on_shutdown, R6). True when it
 * changed the endpoint. */
bool contacts_merge(struct registry *r, const struct feed_contact *c, uint32_t now,
		    uint64_t mono_ns);

/* The loop's job (loop_job.h). */
bool contacts_step(void *self, uint32_t now, uint64_t budget_ns);

#endif
