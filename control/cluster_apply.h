/*
 * The change feed applied (cluster_changes.h): the control thread brings
 * its registry to each slot's row as the feed read it. Idempotent, so a
 * change read twice (the start-up load, then the feed from a cursor read
 * before it) or a collector's own change coming back does no harm:
 *  - the slot's row is gone: the endpoint we hold there with the change's
 *    id is removed (registry_remove);
 *  - the row holds the endpoint we hold there: its key (a re-key on
 *    another collector) and its hostname, addresses and notify port are
 *    taken; nothing else (statuses and contacts are the decider's, and the
 *    contact feed's);
 *  - the row holds another: ours there is removed, the row's is added at
 *    that slot with its id and key and its stored status
 *    (registry_add_at); on the decider (`deciding`), the stored status is
 *    set as a transition (from offline, the first status of a new
 *    endpoint, at the stored status_since): the endpoint was registered
 *    or imported on a collector that does not decide, whose own
 *    transition the fence dropped, so the decider writes its stream row
 *    (R8), as on one collector. Elsewhere it is restored (no transition).
 * A guid we hold at another slot is dropped here first: the store holds
 * one row per guid, so ours lost a race (or is stale).
 * An add at a slot of our own blocks is stale (only we fill those, so the
 * row was read before our own removal committed) and ignored. What cannot
 * be applied (a guid or id that another slot holds here, no memory) is
 * counted and logged; a slot still in quarantine is tried again later.
 * Control thread only.
 */
#ifndef GLOURNET_CLUSTER_APPLY_H
#define GLOURNET_CLUSTER_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "control/loop_job.h"

struct change;
struct cluster;
struct cluster_changes;
struct policy;
struct registry;

enum change_result {
	CHANGE_APPLIED, /* the registry changed */
	CHANGE_SAME,    /* it was so already (or stale) */
	CHANGE_RETRY,   /* not now: the slot is in quarantine */
	CHANGE_FAILED,  /* cannot be applied; `why` says why */
};

enum change_result cluster_apply(struct registry *r, const struct policy *pol,
				 const struct change *c, uint32_t now, bool deciding, char *why,
				 size_t len);

/* The loop job (loop_job.h) that takes the feed's changes and applies them. */
#define CHANGES_CHUNK 256
struct changes_job {
	struct registry *reg;
	struct policy *const *policy;
	struct cluster_changes *feed; /* NULL: no cluster, the job does nothing */
	struct cluster *cluster;      /* cluster_deciding */
	struct change *buf;           /* CHANGES_CHUNK, taken and not applied yet */
	unsigned n, at;
	uint64_t applied, same, failed, retries;
	uint64_t guid_races; /* our registrations undone: the guid was another's first */
	struct loop_job_stats stats;
};
bool changes_step(void *self, uint32_t now, uint64_t budget_ns);
void changes_job_free(struct changes_job *j);

#endif
