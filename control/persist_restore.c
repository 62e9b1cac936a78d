/*
 * The registry back from the store at start-up (persist.h), as a pipeline:
 * a loader thread reads the rows (SQLite's decoding is about a third of a
 * restore) while the control thread builds the registry from the batches
 * it hands over, prefetching a few rows ahead (the index and table lookups
 * are random reads into hundreds of MB: one cache miss each, overlapped
 * instead of one after the other). The loader runs on the first worker
 * lcore's CPU when the daemon names one (d->restore_cpu_set): idle until the
 * workers start, which is after the restore. Only the control thread
 * touches the registry; the loader touches nothing but the store's
 * connection, which no one else uses before the writer has work.
 * Issue 15 item 2: a restart with 10 M endpoints in seconds.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "store"
#include "control/daemon.h"
#include "control/mono_clock.h"
#include "control/persist.h"
#include "control/status.h"
#include "control/store.h"
#include "control/text.h"
#include "glournet/log.h"

#define RESTORE_BATCH    256 /* rows a hand-over: ~280 KB */
#define RESTORE_BATCHES  8   /* in flight between the two threads */
#define RESTORE_PREFETCH 8   /* rows ahead: about the misses a core keeps in flight */

/* Its source address (and the slot's tag of it, so its heartbeats from
 * there cost nothing) and its pending change flags, which the notify
 * engine's first campaign after the restart sends on (notify_resume). */
static void restore_notify(struct gn_daemon *d, struct endpoint *ep, const struct store_notify *n)
{
	if (n->src_family == AF_INET || n->src_family == AF_INET6) {
		struct gn_addr src = {.family = n->src_family};
		memcpy(src.bytes, n->src, sizeof(src.bytes));
		if (registry_set_source(&d->reg, ep, &src) < 0)
			LOG(WARN, "store: endpoint %s: no memory for its source address",
			    ep_guid(ep));
	}
	uint8_t pending = n->pending & NOTIFY_FLAGS_CHANGE;
	if (pending) {
		ep->notify.pending = pending;
		d->reg.notify_pending++; /* the registry's count (registry.h) */
		d->restore_notify_flags |= pending;
	}
	ep->notify.state &= (uint8_t)~EP_NOTIFY_DIRTY; /* the store has it */
}

static int restore_one(struct gn_daemon *d, const struct store_endpoint *e)
{
	struct registry *r = &d->reg;
	struct endpoint *ep;
	int rc = registry_add_restored(r, e->guid, e->id, e->key, e->slot, &ep);
	if (rc == -EEXIST) {
		/* The store keeps ids and guids unique only through the registry
		 * (slot-keyed table, no other index): a row whose id or guid an
		 * earlier slot holds is a leftover. Skipped, not fatal: its slot
		 * is free here, and the next owner's put replaces the row. */
		LOG(ERR,
		    "store: endpoint %016llx (%s, slot %u) skipped: its id or guid is held by "
		    "another slot",
		    (unsigned long long)e->id, e->guid, e->slot);
		d->restore_skipped++;
		return 0;
	}
	if (rc < 0) {
		LOG(ERR, "store: endpoint %016llx (%s, slot %u) cannot be restored: %s",
		    (unsigned long long)e->id, e->guid, e->slot, strerror(-rc));
		return rc;
	}
	unsigned n = 0;
	struct gn_addr ips[EP_MAX_IPS];
	if (e->ips[0] && text_parse_ips(e->ips, ips, EP_MAX_IPS, &n) < 0) {
		LOG(WARN, "store: endpoint %s: unreadable addresses '%s' dropped", e->guid, e->ips);
		n = 0;
	}
	if (registry_set_details(r, ep, e->hostname, ips, n, e->notify_port) < 0)
		return -ENOMEM;
	registry_set_registered(ep, e->registered);
	ep->last_register = e->last_register;
	ep->last_ctl_contact = e->last_ctl_contact;
	ep->ctl_reason = e->ctl_reason;
	ep->last_poll = e->last_poll;
	ep->down_at = e->down_at;
	/* The workers start from the checkpointed heartbeat time. */
	registry_restore_heartbeat(r, ep, e->last_heartbeat);
	ep->checkpointed =
		e->last_heartbeat > e->last_ctl_contact ? e->last_heartbeat : e->last_ctl_contact;
	int32_t range;
	bool unreachable = status_classify(d->policy, ep, &range);
	registry_set_range(r, ep, range);
	bool up = e->status == EP_ONLINE || e->status == EP_UNREACH_ONLINE;
	registry_restore_state(r, ep, unreachable, up, (enum ep_reason)e->reason, e->status_since);
	restore_notify(d, ep, &e->notify);
	return 0;
}

struct restore_batch {
	unsigned n;
	struct store_endpoint row[RESTORE_BATCH];
};

/* Rows in order; each one's lookups were started RESTORE_PREFETCH rows
 * before. The first error stops the batch. */
static int restore_batch(struct gn_daemon *d, const struct restore_batch *b)
{
	for (unsigned i = 0; i < b->n && i < RESTORE_PREFETCH; i++)
		registry_prefetch_restored(&d->reg, b->row[i].id, b->row[i].guid, b->row[i].slot);
	for (unsigned i = 0; i < b->n; i++) {
		unsigned ahead = i + RESTORE_PREFETCH;
		if (ahead < b->n)
			registry_prefetch_restored(&d->reg, b->row[ahead].id, b->row[ahead].guid,
						   b->row[ahead].slot);
		int rc = restore_one(d, &b->row[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * The hand-over: RESTORE_BATCHES batches in a ring; `filled` counts those
 * the loader gave, `emptied` those the control thread finished, both under
 * `mu`. The loader fills batch filled % RESTORE_BATCHES (free while fewer
 * than RESTORE_BATCHES are outstanding) and waits when all are; the control
 * thread waits when none is. `cancel` (the control thread failed) makes the
 * loader's callback stop the load; `done` says the loader has returned.
 */
struct restore_pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct restore_batch *b;
	unsigned filled, emptied;
	bool done, cancel;
	int load_rc;
	struct store *store;
	int cpu; /* -1: anywhere */
};

/* The loader's: the batch being filled is full, give it over. */
static int hand_over(struct restore_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->filled++;
	pthread_cond_broadcast(&p->cv);
	while (p->filled - p->emptied == RESTORE_BATCHES && !p->cancel)
		pthread_cond_wait(&p->cv, &p->mu);
	bool cancel = p->cancel;
	pthread_mutex_unlock(&p->mu);
	if (cancel)
		return -ECANCELED;
	p->b[p->filled % RESTORE_BATCHES].n = 0; /* emptied: the next to fill */
	return 0;
}

static int enqueue(void *ctx, const struct store_endpoint *e)
{
	struct restore_pipe *p = ctx;
	struct restore_batch *b = &p->b[p->filled % RESTORE_BATCHES];
	b->row[b->n++] = *e;
	return b->n == RESTORE_BATCH ? hand_over(p) : 0;
}

static void *loader_main(void *arg)
{
	struct restore_pipe *p = arg;
	if (p->cpu >= 0) {
		cpu_set_t cs;
		CPU_ZERO(&cs);
		CPU_SET(p->cpu, &cs);
		/* Not fatal: unpinned, it shares the control thread's CPU. */
		pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	}
	int rc = store_load_endpoints(p->store, enqueue, p);
	pthread_mutex_lock(&p->mu);
	if (p->b[p->filled % RESTORE_BATCHES].n && !p->cancel)
		p->filled++; /* the last batch, part full: its slot was free */
	p->load_rc = rc;
	p->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* The control thread's side: every batch as it comes, until the loader is
 * done and nothing is left, or a row fails. */
static int consume(struct gn_daemon *d, struct restore_pipe *p)
{
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->emptied == p->filled && !p->done)
			pthread_cond_wait(&p->cv, &p->mu);
		bool have = p->emptied != p->filled;
		pthread_mutex_unlock(&p->mu);
		if (!have)
			return 0;
		int rc = restore_batch(d, &p->b[p->emptied % RESTORE_BATCHES]);
		pthread_mutex_lock(&p->mu);
		p->emptied++;
		p->cancel = rc < 0;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (rc < 0)
			return rc;
	}
}

/* Without a thread (none could be made): one batch filled and emptied in
 * turn on this thread; the prefetching still applies. */
struct restore_here {
	struct gn_daemon *d;
	struct restore_batch *b;
};

static int enqueue_here(void *ctx, const struct store_endpoint *e)
{
	struct restore_here *h = ctx;
	h->b->row[h->b->n++] = *e;
	if (h->b->n < RESTORE_BATCH)
		return 0;
	int rc = restore_batch(h->d, h->b);
	h->b->n = 0;
	return rc;
}

static int load(struct gn_daemon *d, struct restore_pipe *p, bool *threaded)
{
	pthread_t th;
	*threaded = pthread_create(&th, NULL, loader_main, p) == 0;
	if (*threaded) {
		int rc = consume(d, p);
		pthread_join(th, NULL);
		return rc < 0 ? rc : p->load_rc;
	}
	LOG(WARN, "no thread to read the store with: reading and building on this one");
	struct restore_here h = {.d = d, .b = &p->b[0]};
	int rc = store_load_endpoints(d->store, enqueue_here, &h);
	return rc == 0 && h.b->n ? restore_batch(d, h.b) : rc;
}

int persist_restore(struct gn_daemon *d)
{
	uint64_t t0 = gn_mono_ns();
	int64_t span = store_slot_span(d->store);
	if (span > 0 && span <= UINT32_MAX && registry_reserve(&d->reg, (uint32_t)span) < 0)
		LOG(WARN,
		    "cannot reserve room for %lld slots up front; the tables grow as they load",
		    (long long)span);
	struct restore_pipe p = {.store = d->store,
				 .cpu = d->restore_cpu_set ? (int)d->restore_cpu : -1};
	p.b = calloc(RESTORE_BATCHES, sizeof(*p.b));
	if (!p.b || pthread_mutex_init(&p.mu, NULL) || pthread_cond_init(&p.cv, NULL)) {
		free(p.b);
		LOG(ERR, "cannot restore endpoints from the store: out of memory");
		return -ENOMEM;
	}
	bool threaded;
	int rc = load(d, &p, &threaded);
	char how[64];
	if (!threaded)
		snprintf(how, sizeof(how), "one thread");
	else if (p.cpu >= 0)
		snprintf(how, sizeof(how), "store read on CPU %d", p.cpu);
	else
		snprintf(how, sizeof(how), "store read on a thread of its own");
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	free(p.b);
	registry_restore_done(&d->reg);
	if (rc < 0) {
		LOG(ERR, "cannot restore endpoints from the store: %s", strerror(-rc));
		return rc;
	}
	LOG(INFO,
	    "restored %u endpoints in %.0f ms, %s (%u free slots, %u duplicate rows skipped): "
	    "%u online, %u offline, %u unreachable/online, %u unreachable/offline",
	    d->reg.count, (double)(gn_mono_ns() - t0) / 1e6, how, d->reg.nfree, d->restore_skipped,
	    d->reg.by_status[EP_ONLINE], d->reg.by_status[EP_OFFLINE],
	    d->reg.by_status[EP_UNREACH_ONLINE], d->reg.by_status[EP_UNREACH_OFFLINE]);
	return 0;
}
