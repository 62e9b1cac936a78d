/*
 * Between the registry and the store: what is written when, and how the
 * registry comes back at start-up. The store (store.c) knows SQL; this
 * file knows endpoints.
 */
#ifndef GLOURNET_PERSIST_H
#define GLOURNET_PERSIST_H

#include <stdint.h>

#include "control/registry.h"

/* Seconds between checkpoints of last contact: what a crash can cost in
 * contact times (covered by R9). */
#define PERSIST_CHECKPOINT_INTERVAL 10

struct gn_daemon;

/* Queues the endpoint's whole record; the ticket to wait for, or 0 when
 * the store refused (queue full): the caller answers 503. */
uint64_t persist_endpoint(struct gn_daemon *d, const struct endpoint *ep);

/* Removes `ep` from the registry (registry_remove) and its row from the
 * store. The deletion is queued first: -EBUSY when the store refused it
 * (queue full), and then nothing was removed. Without a store (tests)
 * only the registry changes. Answers do not wait for the commit: a crash
 * in the few milliseconds before it brings the endpoint back. */
int persist_remove(struct gn_daemon *d, struct endpoint *ep, enum ep_removal cause,
		   uint32_t now);

/* Loads every stored endpoint into the registry and the slot table, before
 * the workers start. 0 or -errno (logged, naming the problem). */
int persist_restore(struct gn_daemon *d);

/* Once a loop turn: new transitions to the store, and every
 * `checkpoint_interval` the last contacts of endpoints that changed. */
void persist_tick(struct gn_daemon *d, uint32_t now);

#endif
