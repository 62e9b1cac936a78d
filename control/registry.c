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

int registry_add(struct registry *r, const char *guid, uint32_t now, struct endpoint **out)
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
	ep->id = fresh_id(r);
	snprintf(ep->guid, sizeof(ep->guid), "%s", guid);
	ep->registered = ep->last_register = now;
	if (slot_index_insert(&r->by_id, id_hash(ep->id), slot) < 0 ||
	    slot_index_insert(&r->by_guid, guid_hash(r, guid), slot) < 0)
		return -ENOMEM;   /* only after a failed calloc: the daemon is in trouble anyway */
	r->count++;
	/* Counted offline until set online, so the counts always add up. */
	ep->status = EP_OFFLINE;
	r->offline++;
	registry_rekey(r, ep);
	registry_set_status(r, ep, EP_ONLINE, EP_REASON_REGISTERED, now);
	*out = ep;
	return 0;
}

void registry_rekey(struct registry *r, struct endpoint *ep)
{
	randombytes_buf(ep->key, sizeof(ep->key));
	slot_table_assign(r->table, ep->slot, ep->id, ep->key);
}

void registry_set_status(struct registry *r, struct endpoint *ep, enum ep_status st,
			 enum ep_reason reason, uint32_t now)
{
	ep->reason = reason;
	if (ep->status == st)
		return;
	if (ep->status == EP_ONLINE)
		r->online--;
	else
		r->offline--;
	if (st == EP_ONLINE)
		r->online++;
	else
		r->offline++;
	ep->status = st;
	ep->status_since = now;
}

const char *ep_status_name(enum ep_status st)
{
	return st == EP_ONLINE ? "online" : "offline";
}

const char *ep_reason_name(enum ep_reason reason)
{
	switch (reason) {
	case EP_REASON_REGISTERED: return "registered";
	case EP_REASON_HEARTBEAT: return "heartbeat";
	case EP_REASON_NO_CONTACT: return "no-contact";
	}
	return "unknown";
}
