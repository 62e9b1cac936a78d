/*
 * Endpoint registry (see registry.h): allocation of ids, slots and keys,
 * the lookups the HTTP API and the control socket need, and removal with
 * its quarantine, so a slot changes owner only once no worker can still
 * write a timestamp for the old one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define LOG_TAG "reg"
#include "control/registry.h"
#include "control/transitions.h"
#include "glournet/log.h"

static uint64_t guid_hash(const struct registry *r, const char *guid)
{
	uint8_t out[8];
	uint64_t h;
	crypto_shorthash_siphash24(out, (const uint8_t *)guid, strlen(guid), r->guid_hash_key);
	memcpy(&h, out, 8);
	return h;
}

/* Ids are random, so they are their own hash. */
static uint64_t id_hash(uint64_t id) { return id * 0x9E3779B97F4A7C15ull; }

static bool match_id(void *ctx, uint32_t slot, const void *key)
{
	return ((struct registry *)ctx)->eps[slot].id == *(const uint64_t *)key;
}

static bool match_guid(void *ctx, uint32_t slot, const void *key)
{
	return strcmp(((struct registry *)ctx)->eps[slot].guid, key) == 0;
}

int registry_init(struct registry *r, struct slot_table *table)
{
	memset(r, 0, sizeof(*r));
	r->table = table;
	randombytes_buf(r->guid_hash_key, sizeof(r->guid_hash_key));
	if (slot_index_init(&r->by_id, 1024) < 0 || slot_index_init(&r->by_guid, 1024) < 0)
		return -ENOMEM;
	return 0;
}

void registry_destroy(struct registry *r)
{
	for (uint32_t i = 0; i < r->nslots; i++)
		free(r->eps[i].hostname);
	free(r->eps);
	free(r->quarantine);
	free(r->free_slots);
	free(r->by_range);
	slot_index_destroy(&r->by_id);
	slot_index_destroy(&r->by_guid);
}

struct endpoint *registry_by_slot(struct registry *r, uint32_t slot)
{
	return slot < r->nslots && r->eps[slot].id ? &r->eps[slot] : NULL;
}

struct endpoint *registry_by_id(struct registry *r, uint64_t id)
{
	uint32_t s = slot_index_find(&r->by_id, id_hash(id), match_id, r, &id);
	return registry_by_slot(r, s);
}

struct endpoint *registry_by_guid(struct registry *r, const char *guid)
{
	uint32_t s = slot_index_find(&r->by_guid, guid_hash(r, guid), match_guid, r, guid);
	return registry_by_slot(r, s);
}

static uint64_t fresh_id(struct registry *r)
{
	uint64_t id;
	do
		randombytes_buf(&id, sizeof(id));
	while (id == 0 || registry_by_id(r, id));
	return id;
}

/* Room for `need` slots in eps and in both slot lists, which can never
 * hold more than every slot: pushing onto them cannot fail later. */
static int ensure_cap(struct registry *r, uint32_t need)
{
	if (need <= r->cap)
		return 0;
	uint32_t cap = r->cap ? r->cap : 1024;
	while (cap < need)
		cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
	struct endpoint *eps = realloc(r->eps, (size_t)cap * sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	r->eps = eps;
	uint32_t *q = realloc(r->quarantine, (size_t)cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	r->quarantine = q;
	uint32_t *f = realloc(r->free_slots, (size_t)cap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	r->free_slots = f;
	r->cap = cap;
	return 0;
}

static void push_free(struct registry *r, uint32_t slot)
{
	if (r->free_head + r->nfree == r->cap) {
		memmove(r->free_slots, r->free_slots + r->free_head, r->nfree * sizeof(uint32_t));
		r->free_head = 0;
	}
	r->free_slots[r->free_head + r->nfree++] = slot;
}

/* Fills eps[slot] and indexes it; on failure the slot stays unused. */
static int fill_slot(struct registry *r, uint32_t slot, const char *guid, uint64_t id,
		     uint32_t now, struct endpoint **out)
{
	struct endpoint *ep = &r->eps[slot];
	memset(ep, 0, sizeof(*ep));
	ep->slot = slot;
	snprintf(ep->guid, sizeof(ep->guid), "%s", guid);
	if (slot_index_insert(&r->by_id, id_hash(id), slot) < 0)
		return -ENOMEM;
	if (slot_index_insert(&r->by_guid, guid_hash(r, guid), slot) < 0) {
		slot_index_remove(&r->by_id, id_hash(id), slot);
		return -ENOMEM;
	}
	ep->id = id;
	ep->registered = ep->last_register = now;
	ep->range = -1;
	ep->status = EP_OFFLINE;
	ep->status_since = now;
	r->by_status[EP_OFFLINE]++;
	r->count++;
	*out = ep;
	return 0;
}

int registry_add(struct registry *r, const char *guid, uint32_t now, struct endpoint **out)
{
	uint64_t id = fresh_id(r);
	int rc;
	if (r->nfree) {
		uint32_t slot = r->free_slots[r->free_head];
		rc = fill_slot(r, slot, guid, id, now, out);
		if (rc < 0)
			return rc;
		r->free_head = --r->nfree ? r->free_head + 1 : 0;
	} else {
		uint32_t slot = r->nslots;
		if ((rc = slot_table_reserve(r->table, slot)) < 0 ||
		    (rc = ensure_cap(r, slot + 1)) < 0 ||
		    (rc = fill_slot(r, slot, guid, id, now, out)) < 0)
			return rc;
		r->nslots++;
	}
	registry_rekey(r, *out);   /* key, then id: the slot is published last */
	return 0;
}

int registry_add_restored(struct registry *r, const char *guid, uint64_t id,
			  const uint8_t key[HB_KEY_LEN], uint32_t slot, struct endpoint **out)
{
	if (id == 0 || registry_by_id(r, id) || registry_by_guid(r, guid))
		return -EEXIST;
	if (slot < r->nslots || slot == UINT32_MAX)
		return -EINVAL;
	int rc = slot_table_reserve(r->table, slot);
	if (rc == 0)
		rc = ensure_cap(r, slot + 1);
	if (rc < 0)
		return rc;
	for (; r->nslots < slot; r->nslots++) {   /* removed before the restart */
		memset(&r->eps[r->nslots], 0, sizeof(r->eps[0]));
		r->eps[r->nslots].slot = r->nslots;
		push_free(r, r->nslots);
	}
	rc = fill_slot(r, slot, guid, id, 0, out);
	if (rc < 0)
		return rc;
	r->nslots++;
	memcpy((*out)->key, key, HB_KEY_LEN);
	slot_table_assign(r->table, slot, id, key);
	return 0;
}

void registry_restore_state(struct registry *r, struct endpoint *ep, bool unreachable, bool up,
			    enum ep_reason reason, uint32_t since)
{
	struct transition_feed *feed = r->feed;
	r->feed = NULL;   /* what was, not a change */
	registry_set_state(r, ep, unreachable, up, reason, since);
	r->feed = feed;
	ep->reason = (uint8_t)reason;
	ep->status_since = since;
}

void registry_rekey(struct registry *r, struct endpoint *ep)
{
	randombytes_buf(ep->key, sizeof(ep->key));
	slot_table_assign(r->table, ep->slot, ep->id, ep->key);
}

static void count(struct registry *r, const struct endpoint *ep, int delta)
{
	r->by_status[ep->status] += (uint32_t)delta;
	if (ep->unreachable && ep->range >= 0 && (uint32_t)ep->range < r->nranges)
		r->by_range[ep->range][ep->up] += (uint32_t)delta;
}

void registry_set_state(struct registry *r, struct endpoint *ep, bool unreachable, bool up,
			enum ep_reason reason, uint32_t now)
{
	enum ep_status old = ep->status, st = ep_status_of(unreachable, up);
	count(r, ep, -1);
	ep->unreachable = unreachable;
	ep->up = up;
	ep->status = (uint8_t)st;
	count(r, ep, +1);
	if (st == old) {
		if (up)
			ep->reason = (uint8_t)reason;   /* still online, on newer contact */
		return;
	}
	ep->reason = (uint8_t)reason;
	ep->status_since = now;
	if (r->feed) {
		struct transition t = {.id = ep->id, .slot = ep->slot, .time = now,
				       .kind = TK_STATUS, .old_status = (uint8_t)old,
				       .new_status = (uint8_t)st, .reason = (uint8_t)reason};
		feed_push(r->feed, &t);
	}
}

void registry_remove(struct registry *r, struct endpoint *ep, enum ep_removal cause,
		     uint32_t now)
{
	uint32_t slot = ep->slot;
	uint64_t id = ep->id;
	/* The workers first: from here on its heartbeats are unknown_slot. */
	slot_table_release(r->table, slot);
	slot_index_remove(&r->by_id, id_hash(id), slot);
	slot_index_remove(&r->by_guid, guid_hash(r, ep->guid), slot);
	count(r, ep, -1);
	r->count--;
	r->removed[cause]++;
	if (r->feed) {
		struct transition t = {.id = id, .slot = slot, .time = now, .kind = TK_REMOVED,
				       .old_status = ep->status, .new_status = ep->status,
				       .reason = (uint8_t)cause};
		feed_push(r->feed, &t);
	}
	char guid[sizeof(ep->guid)];
	memcpy(guid, ep->guid, sizeof(guid));
	free(ep->hostname);
	memset(ep, 0, sizeof(*ep));
	ep->slot = slot;
	ep->removed_id = id;
	memcpy(ep->guid, guid, sizeof(guid));   /* for watchers, until reused */
	r->quarantine[r->nquarantine++] = slot;   /* room: see ensure_cap */
}

uint32_t registry_reclaim(struct registry *r)
{
	uint32_t n = r->nquarantine;
	if (n == 0)
		return 0;
	/* Every worker that read one of these ids before it was zeroed has
	 * finished that heartbeat: nobody writes these timestamps any more. */
	synchronize_rcu();
	for (uint32_t i = 0; i < n; i++) {
		slot_table_clear_seen(r->table, r->quarantine[i]);
		push_free(r, r->quarantine[i]);
	}
	r->nquarantine = 0;
	return n;
}

void registry_set_range(struct registry *r, struct endpoint *ep, int32_t range)
{
	count(r, ep, -1);
	ep->range = range;
	count(r, ep, +1);   /* by_status nets out: only the range moved */
}

int registry_reset_ranges(struct registry *r, uint32_t nranges)
{
	uint32_t (*by_range)[2] = calloc(nranges ? nranges : 1, sizeof(*by_range));
	if (!by_range)
		return -ENOMEM;
	free(r->by_range);
	r->by_range = by_range;
	r->nranges = nranges;
	return 0;
}

const char *ep_status_name(enum ep_status st)
{
	static const char *const names[] = {"online", "offline", "unreachable/online",
					    "unreachable/offline"};
	return (unsigned)st < EP_STATUS_COUNT ? names[st] : "unknown";
}

const char *ep_removal_name(enum ep_removal cause)
{
	static const char *const names[] = {"operator", "expired"};
	_Static_assert(sizeof(names) / sizeof(names[0]) == EP_REMOVAL_COUNT, "a name per cause");
	return (unsigned)cause < EP_REMOVAL_COUNT ? names[cause] : "unknown";
}

const char *ep_reason_name(enum ep_reason reason)
{
	static const char *const names[] = {"registered", "heartbeat", "poll", "event",
		"no-contact", "shutdown", "unreachable", "reclassified"};
	_Static_assert(sizeof(names) / sizeof(names[0]) == EP_REASON_COUNT, "a name per reason");
	return (unsigned)reason < EP_REASON_COUNT ? names[reason] : "unknown";
}
