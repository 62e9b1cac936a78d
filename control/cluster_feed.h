/*
 * The contact feed of several collectors (issue 16; docs/store.md): what a
 * collector that does not decide hears, forwarded to the decider through
 * the database in batches, ONE row per batch with the contacts as arrays
 * (`contact_batches(collector, seq, sent_at, ids int8[], ages int4[],
 * reasons int2[])`: each contact's kind, a heartbeat or a registration,
 * poll or event the control plane heard (R3, R4, R5);
 * per-row updates cost ~28 % of this VM at 10 M endpoints, arrays under
 * 1 %). Ages, not times: each contact's age in seconds on the sender's
 * clock when the batch was made, so the collectors' clocks need not agree;
 * the decider counts the age back from when it READ the batch, which makes
 * a late batch look fresher than it is (a lag delays offlines, never causes
 * them). The decider takes the batches with a fenced DELETE ... RETURNING
 * (only the lease's holder and epoch can take them, and each once).
 *
 * A thread of its own with its own connection, every FEED_PERIOD_MS.
 * Threads: open/close/send/take/behind on the control thread.
 */
#ifndef GLOURNET_CLUSTER_FEED_H
#define GLOURNET_CLUSTER_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cluster;
struct cluster_feed;

/* A non-decider scans every FEED_BATCH_MS and sends what it found at the
 * next FEED_PERIOD_MS (an empty batch too, every FEED_BATCH_MS: the
 * decider's sign it is caught up); the decider reads every FEED_PERIOD_MS. */
#define FEED_BATCH_MS  2000u
#define FEED_PERIOD_MS 500u
/* A live collector (its `collectors` row seen within a lease) whose last
 * batch reached the decider longer ago than this is behind: the decider
 * then holds every offline decision (sweep.h, hold) until it catches up. */
#define FEED_BEHIND_MS (2 * FEED_BATCH_MS + 1000u)

struct feed_contact {
	uint64_t id;
	uint32_t age;     /* seconds before the batch was made */
	uint8_t reason;   /* enum ep_reason: HEARTBEAT, or a control-plane contact's */
	uint64_t read_ns; /* when the decider read it (monotonic) */
};

/* NULL with err set. `c` gives the lease (cluster_deciding, the fence). */
struct cluster_feed *cluster_feed_open(const char *target, const char *shown, const char *name,
				       uint32_t lease_ms, struct cluster *c, char *err,
				       size_t errlen);
void cluster_feed_close(struct cluster_feed *f);

/* Non-decider: contacts to forward in the next batch (copied; ids, ages
 * and reasons, enum ep_reason, side by side). False when the buffer is
 * full (bounded at FEED_MAX_PENDING: the rest wait for the next scan). */
#define FEED_MAX_PENDING (4u << 20)
bool cluster_feed_send(struct cluster_feed *f, const uint64_t *ids, const uint32_t *ages,
		       const uint32_t *reasons, size_t n);
/* Decider: up to `max` contacts read from the others, taken (removed). */
size_t cluster_feed_take(struct cluster_feed *f, struct feed_contact *out, size_t max);
/* Decider: true while a live collector's batches are late (FEED_BEHIND_MS),
 * or one that joined or came back has sent none made since. */
bool cluster_feed_behind(struct cluster_feed *f);

/* Decider: how many live collectors stopped counting (no `last_seen`
 * within a lease: dead, stalled or cut off); the contacts job gives R9's
 * grace from each, so the endpoints last heard through it get
 * offline_after from then, as after a restart. One that joins or comes
 * back costs no grace: cluster_feed_behind holds the offlines until a
 * batch it made since is read. */
uint64_t cluster_feed_losses(struct cluster_feed *f);

struct feed_info {
	uint64_t batches_sent, batches_read, contacts_sent, contacts_read, errors;
	double lag_s;  /* decider: the oldest live collector's last batch, seconds ago; -1 none */
	unsigned live; /* decider: other live collectors */
};
void cluster_feed_get_info(struct cluster_feed *f, struct feed_info *out);

#endif
