/*
 * The registry: every endpoint the collector knows, by slot, id and guid.
 * Owned by the control thread (HTTP and the control socket run there too),
 * so it needs no lock; the workers see only the slot table it feeds.
 *
 * Removal leaves holes: eps[0..nslots) holds endpoints and free slots (id
 * 0), and every walk over it skips the free ones. A removed endpoint's slot
 * waits in quarantine until registry_reclaim has let a grace period pass
 * and cleared its timestamps (docs/design.md), then joins the free list, which
 * registry_add uses, oldest first, before growing.
 */
#ifndef GLOURNET_REGISTRY_H
#define GLOURNET_REGISTRY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/ep_names.h"
#include "control/slot_index.h"
#include "control/text.h"
#include "glournet/heartbeat.h"
#include "glournet/slot_table.h"

#define EP_GUID_MAX     TEXT_GUID_MAX
#define EP_HOSTNAME_MAX TEXT_HOSTNAME_MAX
#define EP_MAX_IPS      16

static inline enum ep_status ep_status_of(bool unreachable, bool up)
{
	return unreachable ? (up ? EP_UNREACH_ONLINE : EP_UNREACH_OFFLINE)
			   : (up ? EP_ONLINE : EP_OFFLINE);
}

/* An endpoint's notify state (R11, R12; control/notify_engine.c), in the 8
 * bytes a free slot uses for its last owner's id: a live endpoint never
 * needs both. Zero for a new endpoint: nothing pending. */
struct ep_notify {
	uint8_t pending;  /* HB_FLAG_SETTINGS, _COMPONENTS, _VERIFY not acked yet */
	uint8_t state;    /* EP_NOTIFY_TRIES (sends this round) | EP_NOTIFY_* bits */
	uint8_t cseq;     /* the change campaign its round counts for; 0: none */
	uint8_t vseq;     /* the verification campaign it counts for; 0: none */
	uint32_t sent_at; /* the last notify sent to it; 0: never */
};
#define EP_NOTIFY_TRIES   0x0Fu /* notifies sent this round: 1 + re-sends */
#define EP_NOTIFY_QUEUED  0x10u /* one entry of the engine's queues is its */
#define EP_NOTIFY_WAITING 0x20u /* retries spent: notified at its next contact */
#define EP_NOTIFY_NO_ACK  0x40u /* its last verification ended without an ack (R12) */
#define EP_NOTIFY_DIRTY \
	0x80u /* pending change flags or source address changed since
				 * the store last got them (persist.c) */

/* What the sweep and the status rules read, for every endpoint, often: one
 * cache line. What they do not (guid, hostname, addresses, the first
 * registration, the notify port) sits in a separate allocation, `details`,
 * and the key only in the slot table the workers read: 10 M endpoints cost
 * 640 MB here instead of 4.4 GB with everything inline. */
struct endpoint {
	uint64_t id; /* 0: a free (or quarantined) slot */
	union {
		uint64_t removed_id;     /* free slot: the id its last owner had, so a
					   * watcher can still name it; 0 once reused */
		struct ep_notify notify; /* an endpoint: its notifies */
	};
	struct ep_details *details; /* never NULL for an endpoint; a free slot
				       * keeps its last owner's until reused */
	uint32_t slot;
	union {
		uint32_t last_register; /* latest registration */
		uint32_t next_free;     /* free or quarantined slot: the next one in its list */
	};
	uint32_t last_ctl_contact; /* latest contact seen by the control plane:
				    * registration (R4), poll, event (R5) */
	uint32_t last_heartbeat;   /* as of the last sweep */
	uint32_t last_poll;
	uint32_t down_at; /* offline at once at this time (shutdown, R4); 0: no */
	uint32_t status_since;
	uint32_t checkpointed; /* last contact as the store last got it (persist.c) */
	int32_t range;         /* unreachable range it is counted under; -1: none */
	uint8_t status;        /* enum ep_status */
	uint8_t reason;        /* enum ep_reason */
	uint8_t ctl_reason;    /* what last_ctl_contact was: registered, poll, event */
	bool unreachable : 1;  /* R1 */
	bool up : 1;           /* online-ness; status = ep_status_of(unreachable, up) */
	uint8_t range_gen : 6; /* the range set `range` indexes (registry.range_gen);
				* another one: not yet reclassified, counted nowhere */
};
_Static_assert(sizeof(struct endpoint) == 64, "one cache line per endpoint");

/* Rarely read, rewritten whole when it changes (registration, poll's
 * X-Glournet-Ips): guid, hostname and addresses packed after the header.
 * The source address (where notifies go) leads the text, so that a new one
 * of the same family is written in place; the notify times are written in
 * place too (the engine reads the address for every notify anyway). */
struct ep_details {
	uint32_t registered; /* first registration */
	uint32_t round_at;   /* the first notify of the current round; 0: none yet */
	uint32_t last_ack;   /* the last notify-ack that settled something; 0: never */
	uint16_t notify_port;
	uint8_t nips;
	uint8_t guid_len;
	uint8_t src_family; /* AF_INET, AF_INET6; 0: no source address known */
	char text[];        /* source address (4 or 16 bytes, by src_family), guid NUL
		      * hostname NUL, then nips x (family, 4 or 16 bytes) */
};

static inline unsigned ep_details_src_len(const struct ep_details *d)
{
	return d->src_family == AF_INET ? 4 : d->src_family == AF_INET6 ? 16 : 0;
}
static inline const char *ep_guid(const struct endpoint *ep)
{
	return ep->details ? ep->details->text + ep_details_src_len(ep->details) : "";
}
static inline const char *ep_hostname(const struct endpoint *ep)
{
	return ep->details ? ep_guid(ep) + ep->details->guid_len + 1 : "";
}
/* The source address of its last heartbeat, poll or registration (where
 * notifies go, with notify_port); false when none is known. */
bool ep_source(const struct endpoint *ep, struct gn_addr *out);
/* A notify address: a source address and a notify port. */
static inline bool ep_notifiable(const struct endpoint *ep)
{
	return ep->details && ep->details->notify_port && ep->details->src_family;
}
static inline uint32_t ep_registered(const struct endpoint *ep)
{
	return ep->details ? ep->details->registered : 0;
}
static inline uint16_t ep_notify_port(const struct endpoint *ep)
{
	return ep->details ? ep->details->notify_port : 0;
}
/* Copies the endpoint's addresses out; returns how many. */
unsigned ep_ips(const struct endpoint *ep, struct gn_addr out[EP_MAX_IPS]);

struct transition_feed;

#define REGISTRY_CHUNK_SHIFT 16 /* 64 Ki endpoints, 4 MiB a chunk */
#define REGISTRY_CHUNK_SIZE  (1u << REGISTRY_CHUNK_SHIFT)

struct registry {
	/* Endpoints by slot, in chunks that never move: growing adds a chunk
	 * (and, rarely, doubles the small chunk directory), never copies. */
	struct endpoint **chunks;
	uint32_t nchunks, chunks_cap;
	uint32_t nslots; /* slots [0, nslots): endpoints and free slots */
	uint32_t count;  /* endpoints ("clients") */
	/* Lists linked through the free entries (next_free), so they need no
	 * array that would have to grow with the table. */
	uint32_t quarantine_head, quarantine_tail, nquarantine; /* released, waiting for
								   * registry_reclaim, oldest first */
	uint32_t free_head, free_tail, nfree;                   /* reusable, oldest first */
	/* Endpoints put in a free slot, ever: a walk that began before one may
	 * meet it (ctl_clients.c). */
	uint64_t slots_reused;
	uint64_t removed[EP_REMOVAL_COUNT]; /* since start, by cause */
	uint64_t details_bytes;             /* allocated for all ep_details */
	bool restore_done;                  /* registry_add_restored no longer allowed */
	uint8_t random_pool[4096];          /* for ids and keys (registry.c) */
	uint32_t random_used;
	uint32_t by_status[EP_STATUS_COUNT];
	/* Endpoints in the unreachable network, and regular ones with a notify
	 * address (ep_notifiable): what a policy change reaches, counted as
	 * they change (count() and details_replace() in registry.c) so that
	 * `set` need not walk 10 M endpoints to say so (issue 15). */
	uint32_t unreachable, notifiable;
	uint32_t notify_pending; /* endpoints with a notify pending (ep_notify.pending != 0):
				  * the notify engine counts them as it sets the flags,
				  * registry_remove as it forgets one */
	/* Transitions the feed got (R8), by new status and reason, since start. */
	uint64_t transitions[EP_STATUS_COUNT][EP_REASON_COUNT];
	uint32_t (*by_range)[2]; /* [range][up]: unreachable endpoints per range */
	uint32_t nranges;
	/* Which range set by_range counts (1..REGISTRY_RANGE_GENS-1, bumped by
	 * registry_reset_ranges), and the slots below which every endpoint is
	 * classified under it: UINT32_MAX but while the reclassification walk
	 * (status.c) runs. At or above it, an endpoint keeps its previous
	 * class until the walk reaches it. */
	uint8_t range_gen;
	uint32_t classified_below;
	struct transition_feed *feed; /* every status change goes here (R8); may be NULL */
	struct slot_index by_id;
	struct slot_index by_guid;
	uint8_t guid_hash_key[16];
	struct slot_table *table;
	/* Several collectors (slot_blocks.h): NULL hands slots out as one
	 * collector does. Set, only the slots it calls mine are handed out
	 * (fresh ones from `next`, at or after fresh_next) or reused (the free
	 * list holds only those); the others are holes until the change feed
	 * fills them (registry_add_at). */
	const struct registry_slots *slots;
	uint32_t fresh_next;
};

struct registry_slots {
	bool (*mine)(void *ctx, uint32_t slot);
	uint32_t (*next)(void *ctx, uint32_t from); /* UINT32_MAX: none left */
	void *ctx;
};

/* Any slot below nslots, endpoint or free (id 0). */
static inline struct endpoint *registry_at(const struct registry *r, uint32_t slot)
{
	return &r->chunks[slot >> REGISTRY_CHUNK_SHIFT][slot & (REGISTRY_CHUNK_SIZE - 1)];
}


int registry_init(struct registry *r, struct slot_table *table);
void registry_destroy(struct registry *r);

struct endpoint *registry_by_id(struct registry *r, uint64_t id);
struct endpoint *registry_by_guid(struct registry *r, const char *guid);
/* NULL for a free slot. */
struct endpoint *registry_by_slot(struct registry *r, uint32_t slot);

/* A new endpoint with a fresh id, slot and key, published to the workers.
 * It starts offline with no contact; the caller applies R4. -EINVAL for a
 * guid text_guid_problem refuses: every door that adds endpoints
 * (registration, import) accepts the same guids. */
int registry_add(struct registry *r, const char *guid, uint32_t now, struct endpoint **out);

/* Start-up: starts loading what registry_add_restored of (id, guid, slot)
 * will touch (both index cells, the entry, the slot table's line), so a
 * loop over many rows prefetches a few ahead (persist_restore.c). Reads
 * nothing itself; a slot not reserved yet is skipped. */
void registry_prefetch_restored(const struct registry *r, uint64_t id, const char *guid,
				uint32_t slot);
/* An endpoint as the store kept it: same id, slot and key, in any order
 * (the store reads its table sequentially). -EEXIST for a known id, guid
 * or slot; -EINVAL once registry_restore_done has run. */
int registry_add_restored(struct registry *r, const char *guid, uint64_t id,
			  const uint8_t key[HB_KEY_LEN], uint32_t slot, struct endpoint **out);
/* After the restore, from the change feed (several collectors): the
 * endpoint another collector registered, at the slot it gave it, with its
 * id and key, published to the workers; it starts offline with no
 * contact, as a restored one does. -EEXIST for a known id or guid or a
 * slot that holds an endpoint; -EPERM for a slot of our own (only we hand
 * those out); -EBUSY while the slot waits in quarantine (try again after
 * registry_reclaim); -EINVAL for a bad guid. */
int registry_add_at(struct registry *r, const char *guid, uint64_t id,
		    const uint8_t key[HB_KEY_LEN], uint32_t slot, uint32_t now,
		    struct endpoint **out);
/* A new key for the endpoint, as given (the change feed: another
 * collector re-keyed it). */
void registry_set_key(struct registry *r, struct endpoint *ep, const uint8_t key[HB_KEY_LEN]);
/* Before restoring: room for slots [0, n) and n endpoints in the indexes,
 * allocated once. */
int registry_reserve(struct registry *r, uint32_t n);
/* After the last restored endpoint: the slots nobody holds were removed
 * before the restart and become free, in slot order (the workers have not
 * started, so they need no grace period). */
void registry_restore_done(struct registry *r);

/* An endpoint from a bulk import (another server's, or a glournet export):
 * `id` 0 gets a fresh id, `key` NULL a fresh key; `slot` is kept when it
 * lies beyond every slot in use (a migration into a new collector keeps
 * the slots its agents know), otherwise a free or new one is taken. Like
 * registry_add, it starts offline with no contact and refuses a bad guid
 * with -EINVAL. -EEXIST for a known guid or id. */
int registry_add_imported(struct registry *r, const char *guid, uint64_t id, const uint8_t *key,
			  uint32_t slot, uint32_t now, struct endpoint **out);

/* Forgets `ep`: the workers refuse its heartbeats at once (its slot's id is
 * 0: HB_UNKNOWN_SLOT), its id and guid no longer resolve, the counts drop
 * it, and the feed gets one TK_REMOVED event (not a status change). Its
 * slot goes to quarantine. The store is the caller's (persist_remove). */
void registry_remove(struct registry *r, struct endpoint *ep, enum ep_removal cause, uint32_t now);

/* Quarantined slots become free: one grace period (synchronize_rcu: the
 * caller must not be inside an RCU read-side section), then each slot's
 * timestamps are cleared in every worker's array. Once per loop turn, so a
 * batch of removals costs one grace period. Returns the slots freed. */
uint32_t registry_reclaim(struct registry *r);

/* The stored heartbeat time at start-up, before the workers run: the
 * workers' timestamps and ep->last_heartbeat start from it. */
void registry_restore_heartbeat(struct registry *r, struct endpoint *ep, uint32_t last_heartbeat);

/* The stored state at start-up: counted, but not a transition. */
void registry_restore_state(struct registry *r, struct endpoint *ep, bool unreachable, bool up,
			    enum ep_reason reason, uint32_t since);

/* A fresh key for a known endpoint; the old one stops working. */
void registry_rekey(struct registry *r, struct endpoint *ep);
/* The endpoint's key, as the workers check it (the slot table holds it). */
const uint8_t *registry_key(const struct registry *r, const struct endpoint *ep);

/* The newest heartbeat any worker recorded for the endpoint, fresh from
 * the slot table (ep->last_heartbeat is as of the last sweep). */
static inline uint32_t registry_last_heartbeat(const struct registry *r, const struct endpoint *ep)
{
	return slot_table_last_seen(r->table, ep->slot);
}

/* Last contact: the newest of the workers' heartbeats and the control
 * plane's own contact (registration, poll, event). */
static inline uint32_t registry_last_contact(const struct registry *r, const struct endpoint *ep)
{
	uint32_t hb = registry_last_heartbeat(r, ep);
	return hb > ep->last_ctl_contact ? hb : ep->last_ctl_contact;
}

/* New hostname, addresses and notify port (registration); the guid and
 * first-registration time stay. -ENOMEM leaves the old ones. */
int registry_set_details(struct registry *r, struct endpoint *ep, const char *hostname,
			 const struct gn_addr *ips, unsigned nips, uint16_t notify_port);
/* The source address the endpoint was last seen from (a heartbeat, a poll,
 * a registration), and the tag of it the workers compare each heartbeat's
 * source with (slot_table.h): 1 when it changed, 0 when it is the same,
 * -ENOMEM (the old one kept). */
int registry_set_source(struct registry *r, struct endpoint *ep, const struct gn_addr *src);
/* The workers report the endpoint's next heartbeat whatever its source (its
 * tag cleared): the notify engine wants to know when an endpoint it gave
 * up on is heard from again. registry_set_source sets it back. */
void registry_watch_next_heartbeat(struct registry *r, struct endpoint *ep);
/* New addresses only (poll's X-Glournet-Ips). */
int registry_set_ips(struct registry *r, struct endpoint *ep, const struct gn_addr *ips,
		     unsigned nips);
void registry_set_registered(struct endpoint *ep, uint32_t registered);

/* Resident bytes the registry holds (entries, details, indexes), for
 * `show stats` and the memory benchmark. */
struct registry_memory {
	uint64_t entries, details, index;
};
void registry_memory(const struct registry *r, struct registry_memory *out);

/* Moves index growth along by up to `budget` cells; the event loop calls
 * it every turn, so no single insert pays for a whole rehash. Returns true
 * while a migration is still in progress. */
bool registry_index_step(struct registry *r, uint32_t budget);

/* The one place a status changes: counts follow, and a change of status is
 * one transition in the feed (R8) with `reason`. */
void registry_set_state(struct registry *r, struct endpoint *ep, bool unreachable, bool up,
			enum ep_reason reason, uint32_t now);

/* Moves the endpoint's per-range count to `range` (-1: none), an index
 * into the range set in force: the endpoint is classified under it. */
void registry_set_range(struct registry *r, struct endpoint *ep, int32_t range);

/* The range the endpoint is counted under in the set in force; -1: none,
 * or not reclassified yet since the set changed. */
static inline int32_t registry_range_of(const struct registry *r, const struct endpoint *ep)
{
	return ep->range_gen == r->range_gen ? ep->range : -1;
}

/* New ranges: per-range counts restart from zero and every endpoint's
 * range is stale (counted nowhere) until registry_set_range classifies it
 * again; no walk over the endpoints here (status.c's reclassification
 * does that in slices). */
#define REGISTRY_RANGE_GENS 64 /* range_gen's 6 bits */
int registry_reset_ranges(struct registry *r, uint32_t nranges);

#endif
