/*
 * Endpoint registry (see registry.h): allocation of ids, slots and keys,
 * and the lookups the HTTP API and the control socket need.
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
	for (uint32_t i = 0; i < r->count; i++)
		free(r->eps[i].hostname);
	free(r->eps);
	free(r->by_range);
	slot_index_destroy(&r->by_id);
	slot_index_destroy(&r->by_guid);
}

struct endpoint *registry_by_slot(struct registry *r, uint32_t slot)
{
	return slot < r->count ? &r->eps[slot] : NULL;
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

static int add_with_id(struct registry *r, const char *guid, uint64_t id, uint32_t now,
		       struct endpoint **out);

int registry_add(struct registry *r, const char *guid, uint32_t now, struct endpoint **out)
{
	int rc = add_with_id(r, guid, fresh_id(r), now, out);
	if (rc == 0)
		registry_rekey(r, *out);
	return rc;
}

int registry_add_restored(struct registry *r, const char *guid, uint64_t id,
			  const uint8_t key[HB_KEY_LEN], struct endpoint **out)
{
	if (id == 0 || registry_by_id(r, id) || registry_by_guid(r, guid))
		return -EEXIST;
	int rc = add_with_id(r, guid, id, 0, out);
	if (rc == 0) {
		memcpy((*out)->key, key, HB_KEY_LEN);
		slot_table_assign(r->table, (*out)->slot, id, key);
	}
	return rc;
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

static int add_with_id(struct registry *r, const char *guid, uint64_t id, uint32_t now,
		       struct endpoint **out)
{
	uint32_t slot = r->count;
	int rc = slot_table_reserve(r->table, slot);
	if (rc < 0)
		return rc;
	if (r->count == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 1024;
		struct endpoint *eps = realloc(r->eps, (size_t)cap * sizeof(*eps));
		if (!eps)
			return -ENOMEM;
		r->eps = eps;
		r->cap = cap;
	}
	struct endpoint *ep = &r->eps[slot];
	memset(ep, 0, sizeof(*ep));
	ep->slot = slot;
	ep->id = id;
	snprintf(ep->guid, sizeof(ep->guid), "%s", guid);
	ep->registered = ep->last_register = now;
	ep->range = -1;
	if (slot_index_insert(&r->by_id, id_hash(ep->id), slot) < 0 ||
	    slot_index_insert(&r->by_guid, guid_hash(r, guid), slot) < 0)
		return -ENOMEM;   /* only after a failed calloc: the daemon is in trouble anyway */
	r->count++;
	ep->status = EP_OFFLINE;
	ep->status_since = now;
	r->by_status[EP_OFFLINE]++;
	*out = ep;
	return 0;
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

const char *ep_reason_name(enum ep_reason reason)
{
	static const char *const names[] = {"registered", "heartbeat", "poll", "event",
		"no-contact", "shutdown", "unreachable", "reclassified"};
	_Static_assert(sizeof(names) / sizeof(names[0]) == EP_REASON_COUNT, "a name per reason");
	return (unsigned)reason < EP_REASON_COUNT ? names[reason] : "unknown";
}
