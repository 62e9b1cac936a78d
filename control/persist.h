/*
 * Between the registry and the store: what is written when, and how the
 * registry comes back at start-up. The store (store.c) knows SQL; this
 * file knows endpoints.
 */
#ifndef GLOURNET_PERSIST_H
#define GLOURNET_PERSIST_H

#include <stdint.h>

#include "control/loop_job.h"
#include "control/registry.h"

/* Last contacts are checkpointed by a rolling pass that starts every
 * PERSIST_CHECKPOINT_INTERVAL seconds and walks PERSIST_CHECKPOINT_SLOTS
 * slots a loop turn, writing only endpoints whose contact moved by at least
 * PERSIST_CONTACT_STEP since the store last had it. A crash costs at most
 * that much contact time, which the restart grace (R9) covers: nobody goes
 * offline for it. Statuses are not checkpointed: each change is written as
 * it happens (persist_transitions_step). At 10 M endpoints heartbeating
 * every minute this is ~150 k rows a second instead of 1 M.
 *
 * The notify state a restart must keep (R11: who still has to be told of a
 * change, and where) rides on the same pass: an endpoint whose pending
 * change flags or source address changed (EP_NOTIFY_DIRTY) is written at
 * the next pass whatever its contact did, and the shutdown's final pass
 * writes them all. A campaign's million flags cost one pass of rows. After
 * a crash, an endpoint may be notified once more than needed (an ack the
 * store had not got yet), or learn at its next poll (flags set since the
 * last pass): R11's guarantee that the alive learn holds either way. */
#define PERSIST_CHECKPOINT_INTERVAL 10
#define PERSIST_CHECKPOINT_SLOTS    (16 * 1024)
#define PERSIST_CONTACT_STEP        60
/* The pass waits while the store has this many ops queued: checkpoints
 * never crowd out registrations. */
#define PERSIST_CHECKPOINT_BACKLOG (64 * 1024)

struct gn_daemon;
struct store;
struct store_endpoint;
struct transition_feed;

/* The endpoint's whole record as the store (and a bulk export) holds it. */
void persist_fill(const struct registry *r, const struct endpoint *ep, struct store_endpoint *out);

/* Queues the endpoint's whole record; the ticket to wait for, or 0 when
 * the store refused (queue full): the caller answers 503. */
uint64_t persist_endpoint(struct store *s, const struct registry *r, const struct endpoint *ep);

/* Removes `ep` from the registry (registry_remove) and its row from the
 * store. The deletion is queued first: -EBUSY when the store refused it
 * (queue full), and then nothing was removed. Without a store (tests)
 * only the registry changes. Answers do not wait for the commit: a crash
 * in the few milliseconds before it brings the endpoint back. */
int persist_remove(struct gn_daemon *d, struct endpoint *ep, enum ep_removal cause, uint32_t now);

/* Loads every stored endpoint into the registry and the slot table, before
 * the workers start. 0 or -errno (logged, naming the problem). */
int persist_restore(struct gn_daemon *d);

/* The loop's job "persist" (loop_job.h): new transitions of the feed to
 * the store, with the current state of the endpoints they moved, at most
 * a batch a turn. Never "more": the rest waits for the next turn. */
struct persist_transitions_job {
	struct registry *reg;
	struct store *store;
	struct transition_feed *feed;
	uint64_t seq; /* next feed entry to write */
	struct loop_job_stats stats;
};
/* Starts from the feed's next entry: what is in the ring is in the store. */
void persist_transitions_init(struct persist_transitions_job *t, struct registry *r,
			      struct store *s, struct transition_feed *feed);
bool persist_transitions_step(void *self, uint32_t now, uint64_t budget_ns);

/* The loop's job "checkpoint": the rolling pass above, one slice of at
 * most PERSIST_CHECKPOINT_SLOTS slots a turn; never "more", so that the
 * pass trickles into the store instead of flooding it. */
struct persist_checkpoint_job {
	struct registry *reg;
	struct store *store;
	uint32_t last_pass; /* start of the last pass */
	uint32_t cursor;    /* next slot of the pass; UINT32_MAX: none under way */
	uint64_t rows;      /* contacts written by checkpoints since start */
	struct loop_job_stats stats;
};
void persist_checkpoint_init(struct persist_checkpoint_job *c, struct registry *r, struct store *s,
			     uint32_t started);
bool persist_checkpoint_step(void *self, uint32_t now, uint64_t budget_ns);

/* At shutdown: a whole checkpoint pass, as far as the store's queue takes
 * it, then the last transitions. */
void persist_final_checkpoint(struct persist_checkpoint_job *c, struct persist_transitions_job *t);

#endif
