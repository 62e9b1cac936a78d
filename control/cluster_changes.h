/*
 * The change feed of several collectors (issue 16; docs/store.md): every
 * collector holds every endpoint. Each put or delete of an endpoint row
 * (registration, re-key, field change, import, removal) writes, in the
 * same transaction, a row of endpoint_changes(seq, slot, id, collector)
 * numbered from the gap-free sequence 'changes' (store_pg.c); every
 * collector follows that table by cursor (seq > the last it read) from a
 * thread of its own with its own connection, reads the slot's endpoint row
 * as it is now with each change, and hands the lot to the control thread
 * (cluster_apply.h), which brings its registry to it. A polled cursor, not
 * LISTEN/NOTIFY: a notification lost on a reconnect loses nothing here.
 *
 * The same thread keeps this collector's slot blocks (slot_blocks.h): the
 * ones it owns are read at open (claimed there when it has none), and
 * another is claimed as soon as fewer than SLOT_BLOCKS_LOW fresh slots are
 * left, so the control thread never waits on the database to hand a slot
 * out.
 *
 * Threads: open/close/take/info on the control thread; the slot hook
 * (cluster_changes_slots) from the control thread, under a lock.
 */
#ifndef GLOURNET_CLUSTER_CHANGES_H
#define GLOURNET_CLUSTER_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/store.h"

struct cluster_changes;
struct registry_slots;

#define CHANGES_PERIOD_MS   200u  /* a read when the last one found nothing */
#define CHANGES_FETCH       2000  /* changes a read */
#define CHANGES_MAX_PENDING 16384 /* read, not applied yet: ~18 MB at most */

/* One change as read: the slot's row as it was at the read (`present`
 * false: the slot has no endpoint any more). */
struct change {
	uint64_t seq, id; /* the id the change was about */
	uint32_t slot;
	bool present;
	struct store_endpoint e; /* the slot's row, when present */
};

/* Connects, reads this collector's slot blocks (claims one when it has
 * none) and the cursor (the sequence's last: read before the registry's
 * load, so a change that commits meanwhile is read again, never missed;
 * applying is idempotent), and starts the thread. NULL with err set. */
struct cluster_changes *cluster_changes_open(const char *target, const char *shown,
					     const char *name, char *err, size_t errlen);
void cluster_changes_close(struct cluster_changes *c);

/* The registry's slot hook (registry.h): only our blocks' slots. */
const struct registry_slots *cluster_changes_slots(struct cluster_changes *c);

/* Up to `max` changes, in seq order, taken (removed). */
size_t cluster_changes_take(struct cluster_changes *c, struct change *out, size_t max);

struct changes_info {
	uint64_t cursor;        /* the last seq read */
	uint64_t reads, errors; /* reads of the table, and failed statements */
	uint64_t read;          /* changes read */
	uint32_t pending;       /* read, not taken yet */
	uint32_t blocks;        /* slot blocks owned */
	uint64_t slots_left;    /* fresh slots left in them */
	double lag_s;           /* since a read last found no more to read; -1 never */
};
void cluster_changes_get_info(struct cluster_changes *c, struct changes_info *out);

#endif
