/*
 * Endpoint registry (see registry.h): allocation of ids, slots and keys,
 * the lookups the HTTP API and the control socket need, and removal with
 * its quarantine, so a slot changes owner only once no worker can still
 * write a timestamp for the old one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
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
static uint64_t id_hash(uint64_t id)
{
	return id * 0x9E3779B97F4A7C15ull;
}

static bool match_id(void *ctx, uint32_t slot, const void *key)
{
	return registry_at(ctx, slot)->id == *(const uint64_t *)key;
}

static bool match_guid(void *ctx, uint32_t slot, const void *key)
{
	const struct endpoint *ep = registry_at(ctx, slot);
	return ep->id && strcmp(ep_guid(ep), key) == 0;
}

int registry_init(struct registry *r, struct slot_table *table)
{
	memset(r, 0, sizeof(*r));
	r->table = table;
	r->random_used = sizeof(r->random_pool); /* empty: filled at first use */
	r->classified_below = UINT32_MAX;        /* no reclassification under way */
	randombytes_buf(r->guid_hash_key, sizeof(r->guid_hash_key));
	if (slot_index_init(&r->by_id, 1024) < 0 || slot_index_init(&r->by_guid, 1024) < 0)
		return -ENOMEM;
	return 0;
}

void registry_destroy(struct registry *r)
{
	sodium_memzero(r->random_pool, sizeof(r->random_pool));
	for (uint32_t i = 0; i < r->nslots; i++)
		free(registry_at(r, i)->details);
	for (uint32_t c = 0; c < r->nchunks; c++)
		free(r->chunks[c]);
	free(r->chunks);
	free(r->by_range);
	slot_index_destroy(&r->by_id);
	slot_index_destroy(&r->by_guid);
}

struct endpoint *registry_by_slot(struct registry *r, uint32_t slot)
{
	if (slot >= r->nslots)
		return NULL;
	struct endpoint *ep = registry_at(r, slot);
	return ep->id ? ep : NULL;
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

/* Ids and keys come from the kernel's CSPRNG, a few KiB at a time: one
 * getrandom per ~170 endpoints instead of two each. */
static void random_bytes(struct registry *r, void *out, size_t n)
{
	if (r->random_used + n > sizeof(r->random_pool)) {
		randombytes_buf(r->random_pool, sizeof(r->random_pool));
		r->random_used = 0;
	}
	memcpy(out, r->random_pool + r->random_used, n);
	sodium_memzero(r->random_pool + r->random_used, n); /* handed out once */
	r->random_used += n;
}

static uint64_t fresh_id(struct registry *r)
{
	uint64_t id;
	do
		random_bytes(r, &id, sizeof(id));
	while (id == 0 || registry_by_id(r, id));
	return id;
}

/* Room for slots [0, need): whole chunks, allocated as the table reaches
 * them; existing endpoints never move. */
static int ensure_cap(struct registry *r, uint32_t need)
{
	uint32_t want =
		(uint32_t)(((uint64_t)need + REGISTRY_CHUNK_SIZE - 1) >> REGISTRY_CHUNK_SHIFT);
	if (want > r->chunks_cap) {
		uint32_t cap = r->chunks_cap ? r->chunks_cap * 2 : 16;
		while (cap < want)
			cap *= 2;
		struct endpoint **chunks = realloc(r->chunks, cap * sizeof(*chunks));
		if (!chunks)
			return -ENOMEM;
		r->chunks = chunks;
		r->chunks_cap = cap;
	}
	for (; r->nchunks < want; r->nchunks++) {
		struct endpoint *c = calloc(REGISTRY_CHUNK_SIZE, sizeof(*c));
		if (!c)
			return -ENOMEM;
		r->chunks[r->nchunks] = c;
	}
	return 0;
}

/* The free list is FIFO (oldest first), linked through next_free. */
static void push_free(struct registry *r, uint32_t slot)
{
	registry_at(r, slot)->next_free = UINT32_MAX;
	if (r->nfree++)
		registry_at(r, r->free_tail)->next_free = slot;
	else
		r->free_head = slot;
	r->free_tail = slot;
}


/* Packs the source address, guid, hostname and addresses into one
 * allocation; the notify times come from `old` (NULL: none yet). */
static struct ep_details *details_new(const char *guid, const char *hostname,
				      const struct gn_addr *ips, unsigned nips,
				      uint16_t notify_port, uint32_t registered,
				      const struct gn_addr *src, const struct ep_details *old)
{
	size_t gl = strnlen(guid, EP_GUID_MAX), hl = strnlen(hostname, EP_HOSTNAME_MAX);
	unsigned sl = src && src->family ? gn_addr_len(src) : 0;
	size_t len = sizeof(struct ep_details) + sl + gl + 1 + hl + 1;
	if (nips > EP_MAX_IPS)
		nips = EP_MAX_IPS;
	for (unsigned i = 0; i < nips; i++)
		len += 1 + (ips[i].family == AF_INET ? 4 : 16);
	struct ep_details *d = malloc(len);
	if (!d)
		return NULL;
	d->registered = registered;
	d->round_at = old ? old->round_at : 0;
	d->last_ack = old ? old->last_ack : 0;
	d->notify_port = notify_port;
	d->nips = (uint8_t)nips;
	d->guid_len = (uint8_t)gl;
	d->src_family = sl ? src->family : 0;
	char *p = d->text;
	if (sl)
		memcpy(p, src->bytes, sl);
	p += sl;
	memcpy(p, guid, gl);
	p[gl] = '\0';
	p += gl + 1;
	memcpy(p, hostname, hl);
	p[hl] = '\0';
	p += hl + 1;
	for (unsigned i = 0; i < nips; i++) {
		size_t n = ips[i].family == AF_INET ? 4 : 16;
		*p++ = (char)ips[i].family;
		memcpy(p, ips[i].bytes, n);
		p += n;
	}
	return d;
}

/* Whether the endpoint is one of r->notifiable: a regular endpoint with a
 * notify address. A free or released slot (id 0) is not counted. */
static bool counted_notifiable(const struct endpoint *ep)
{
	return ep->id && !ep->unreachable && ep_notifiable(ep);
}

/* The tallies an endpoint is in, by its status, range and notify address:
 * -1 before one of them changes, +1 after. */
static void count(struct registry *r, const struct endpoint *ep, int delta)
{
	r->by_status[ep->status] += (uint32_t)delta;
	r->unreachable += ep->unreachable ? (uint32_t)delta : 0;
	r->notifiable += counted_notifiable(ep) ? (uint32_t)delta : 0;
	int32_t range = registry_range_of(r, ep);
	if (ep->unreachable && range >= 0 && (uint32_t)range < r->nranges)
		r->by_range[range][ep->up] += (uint32_t)delta;
}

/* The one place details change hands, so the byte count and r->notifiable
 * stay true. */
static void details_replace(struct registry *r, struct endpoint *ep, struct ep_details *d)
{
	r->notifiable -= counted_notifiable(ep);
	if (ep->details)
		r->details_bytes -= malloc_usable_size(ep->details);
	free(ep->details);
	ep->details = d;
	if (d)
		r->details_bytes += malloc_usable_size(d);
	r->notifiable += counted_notifiable(ep);
}

unsigned ep_ips(const struct endpoint *ep, struct gn_addr out[EP_MAX_IPS])
{
	const struct ep_details *d = ep->details;
	if (!d)
		return 0;
	const char *p = ep_hostname(ep);
	p += strlen(p) + 1;
	for (unsigned i = 0; i < d->nips; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].family = (uint8_t)*p++;
		size_t n = out[i].family == AF_INET ? 4 : 16;
		memcpy(out[i].bytes, p, n);
		p += n;
	}
	return d->nips;
}

bool ep_source(const struct endpoint *ep, struct gn_addr *out)
{
	memset(out, 0, sizeof(*out));
	const struct ep_details *d = ep->details;
	if (!d || !d->src_family)
		return false;
	out->family = d->src_family;
	memcpy(out->bytes, d->text, ep_details_src_len(d));
	return true;
}

/* A copy of the details with everything as it is but what the caller
 * passes (the source address: `src`, or the old one when NULL). */
static int details_rebuild(struct registry *r, struct endpoint *ep, const char *hostname,
			   const struct gn_addr *ips, unsigned nips, uint16_t notify_port,
			   const struct gn_addr *src)
{
	struct gn_addr old_src;
	if (!src)
		src = ep_source(ep, &old_src) ? &old_src : NULL;
	struct ep_details *d = details_new(ep_guid(ep), hostname, ips, nips, notify_port,
					   ep_registered(ep), src, ep->details);
	if (!d)
		return -ENOMEM;
	details_replace(r, ep, d);
	return 0;
}

int registry_set_details(struct registry *r, struct endpoint *ep, const char *hostname,
			 const struct gn_addr *ips, unsigned nips, uint16_t notify_port)
{
	return details_rebuild(r, ep, hostname, ips, nips, notify_port, NULL);
}

int registry_set_ips(struct registry *r, struct endpoint *ep, const struct gn_addr *ips,
		     unsigned nips)
{
	char host[EP_HOSTNAME_MAX + 1];
	snprintf(host, sizeof(host), "%s", ep_hostname(ep));
	return registry_set_details(r, ep, host, ips, nips, ep_notify_port(ep));
}

int registry_set_source(struct registry *r, struct endpoint *ep, const struct gn_addr *src)
{
	struct gn_addr old;
	bool had = ep_source(ep, &old);
	int changed = !had || !gn_addr_eq(&old, src);
	if (changed && had && old.family == src->family) {
		memcpy(ep->details->text, src->bytes, gn_addr_len(src)); /* in place */
	} else if (changed) {
		struct gn_addr ips[EP_MAX_IPS];
		unsigned n = ep_ips(ep, ips);
		char host[EP_HOSTNAME_MAX + 1];
		snprintf(host, sizeof(host), "%s", ep_hostname(ep));
		int rc = details_rebuild(r, ep, host, ips, n, ep_notify_port(ep), src);
		if (rc < 0)
			return rc;
	}
	slot_table_set_tag(r->table, ep->slot, slot_src_tag(src->family, src->bytes));
	if (changed)
		ep->notify.state |= EP_NOTIFY_DIRTY; /* for the store's next checkpoint */
	return changed;
}

void registry_watch_next_heartbeat(struct registry *r, struct endpoint *ep)
{
	slot_table_set_tag(r->table, ep->slot, 0);
}

void registry_set_registered(struct endpoint *ep, uint32_t registered)
{
	if (ep->details)
		ep->details->registered = registered;
}

const uint8_t *registry_key(const struct registry *r, const struct endpoint *ep)
{
	/* The control thread is the slot table's only writer: no RCU read
	 * section needed to read what it wrote. */
	return slot_dir_entry(r->table->dir, ep->slot)->key;
}

/* Fills the free entry at `slot` and indexes it; on failure the slot
 * stays as it was. */
static int fill_slot(struct registry *r, uint32_t slot, const char *guid, uint64_t id, uint32_t now,
		     struct endpoint **out)
{
	struct ep_details *d = details_new(guid, "", NULL, 0, 0, now, NULL, NULL);
	if (!d)
		return -ENOMEM;
	if (slot_index_insert(&r->by_id, id_hash(id), slot) < 0) {
		free(d);
		return -ENOMEM;
	}
	if (slot_index_insert(&r->by_guid, guid_hash(r, guid), slot) < 0) {
		slot_index_remove(&r->by_id, id_hash(id), slot);
		free(d);
		return -ENOMEM;
	}
	struct endpoint *ep = registry_at(r, slot);
	details_replace(r, ep, NULL); /* the previous owner's, kept for watchers */
	memset(ep, 0, sizeof(*ep));
	details_replace(r, ep, d);
	ep->slot = slot;
	ep->id = id;
	ep->last_register = now;
	ep->range = -1;
	ep->status = EP_OFFLINE;
	ep->status_since = now;
	count(r, ep, +1); /* offline, regular, no notify address yet */
	r->count++;
	*out = ep;
	return 0;
}

/* Slots [nslots, upto) become holes: no endpoint, not free (another
 * collector's, or ours not handed out yet). */
static int grow_to(struct registry *r, uint32_t upto)
{
	int rc;
	if ((rc = slot_table_reserve(r->table, upto - 1)) < 0 || (rc = ensure_cap(r, upto)) < 0)
		return rc;
	for (; r->nslots < upto; r->nslots++)
		registry_at(r, r->nslots)->slot = r->nslots;
	return 0;
}

/* Several collectors: a fresh slot of our own blocks (registry.slots). */
static int take_own_slot(struct registry *r, const char *guid, uint64_t id, uint32_t now,
			 struct endpoint **out)
{
	for (;;) {
		uint32_t slot = r->slots->next(r->slots->ctx, r->fresh_next);
		if (slot == UINT32_MAX)
			return -ENOSPC; /* no block with room: the next claim brings one */
		r->fresh_next = slot + 1;
		if (slot < r->nslots && registry_at(r, slot)->id)
			continue; /* cannot be (only we fill our slots): skipped, never reused */
		int rc = slot >= r->nslots ? grow_to(r, slot + 1) : 0;
		if (rc == 0)
			rc = fill_slot(r, slot, guid, id, now, out);
		if (rc < 0)
			r->fresh_next = slot;
		return rc;
	}
}

/* An endpoint with `id` in the oldest free slot, or in a new one at the
 * end: filled and indexed; its key is the caller's to publish. */
static int take_slot(struct registry *r, const char *guid, uint64_t id, uint32_t now,
		     struct endpoint **out)
{
	int rc;
	if (r->nfree) {
		uint32_t slot = r->free_head;
		uint32_t next = registry_at(r, slot)->next_free; /* fill_slot overwrites it */
		if ((rc = fill_slot(r, slot, guid, id, now, out)) < 0)
			return rc;
		r->free_head = --r->nfree ? next : 0;
		r->slots_reused++;
		return 0;
	}
	if (r->slots)
		return take_own_slot(r, guid, id, now, out);
	uint32_t slot = r->nslots;
	if ((rc = slot_table_reserve(r->table, slot)) < 0 || (rc = ensure_cap(r, slot + 1)) < 0 ||
	    (rc = fill_slot(r, slot, guid, id, now, out)) < 0)
		return rc;
	r->nslots++;
	return 0;
}

int registry_add(struct registry *r, const char *guid, uint32_t now, struct endpoint **out)
{
	if (text_guid_problem(guid, strlen(guid)))
		return -EINVAL;
	int rc = take_slot(r, guid, fresh_id(r), now, out);
	if (rc < 0)
		return rc;
	registry_rekey(r, *out); /* key, then id: the slot is published last */
	return 0;
}

void registry_prefetch_restored(const struct registry *r, uint64_t id, const char *guid,
				uint32_t slot)
{
	slot_index_prefetch(&r->by_id, id_hash(id));
	slot_index_prefetch(&r->by_guid, guid_hash(r, guid));
	if (slot < (uint64_t)r->nchunks * REGISTRY_CHUNK_SIZE)
		__builtin_prefetch(registry_at(r, slot), 1, 3);
	const struct slot_entry *e = slot_dir_entry(r->table->dir, slot);
	if (e)
		__builtin_prefetch(e, 1, 3);
}

int registry_add_restored(struct registry *r, const char *guid, uint64_t id,
			  const uint8_t key[HB_KEY_LEN], uint32_t slot, struct endpoint **out)
{
	if (r->restore_done || slot == UINT32_MAX)
		return -EINVAL;
	if (id == 0 || registry_by_id(r, id) || registry_by_guid(r, guid) ||
	    (slot < r->nslots && registry_at(r, slot)->id))
		return -EEXIST;
	int rc = slot_table_reserve(r->table, slot);
	if (rc == 0)
		rc = ensure_cap(r, slot + 1);
	if (rc < 0)
		return rc;
	for (; r->nslots <= slot; r->nslots++) /* holes until someone fills them */
		registry_at(r, r->nslots)->slot = r->nslots;
	rc = fill_slot(r, slot, guid, id, 0, out);
	if (rc < 0)
		return rc;
	slot_table_assign(r->table, slot, id, key);
	return 0;
}

int registry_reserve(struct registry *r, uint32_t n)
{
	int rc;
	if (n == 0)
		return 0;
	if ((rc = slot_table_reserve(r->table, n - 1)) < 0 || (rc = ensure_cap(r, n)) < 0 ||
	    (rc = slot_index_reserve(&r->by_id, n)) < 0 ||
	    (rc = slot_index_reserve(&r->by_guid, n)) < 0)
		return rc;
	return 0;
}

void registry_restore_done(struct registry *r)
{
	for (uint32_t s = 0; s < r->nslots; s++)
		if (!registry_at(r, s)->id && (!r->slots || r->slots->mine(r->slots->ctx, s)))
			push_free(r, s);
	r->fresh_next = r->nslots;
	r->restore_done = true;
}

int registry_add_at(struct registry *r, const char *guid, uint64_t id,
		    const uint8_t key[HB_KEY_LEN], uint32_t slot, uint32_t now,
		    struct endpoint **out)
{
	if (text_guid_problem(guid, strlen(guid)) || slot == UINT32_MAX || id == 0)
		return -EINVAL;
	if (r->slots && r->slots->mine(r->slots->ctx, slot))
		return -EPERM;
	if (registry_by_id(r, id) || registry_by_guid(r, guid) ||
	    (slot < r->nslots && registry_at(r, slot)->id))
		return -EEXIST;
	/* A slot we removed from lies in quarantine until reclaimed: its
	 * workers' timestamps are not cleared yet, and the list runs through it. */
	for (uint32_t i = 0, q = r->quarantine_head; i < r->nquarantine; i++) {
		if (q == slot)
			return -EBUSY;
		q = registry_at(r, q)->next_free;
	}
	int rc = slot >= r->nslots ? grow_to(r, slot + 1) : 0;
	if (rc == 0)
		rc = fill_slot(r, slot, guid, id, now, out);
	if (rc < 0)
		return rc;
	slot_table_assign(r->table, slot, id, key);
	return 0;
}

void registry_set_key(struct registry *r, struct endpoint *ep, const uint8_t key[HB_KEY_LEN])
{
	slot_table_assign(r->table, ep->slot, ep->id, key);
}

int registry_add_imported(struct registry *r, const char *guid, uint64_t id, const uint8_t *key,
			  uint32_t slot, uint32_t now, struct endpoint **out)
{
	if (text_guid_problem(guid, strlen(guid)))
		return -EINVAL;
	if ((id && registry_by_id(r, id)) || registry_by_guid(r, guid))
		return -EEXIST;
	if (!id)
		id = fresh_id(r);
	int rc;
	if (slot == UINT32_MAX || slot < r->nslots || r->slots) { /* several collectors: ours */
		rc = take_slot(r, guid, id, now, out);
	} else {
		/* The slot it had: the ones skipped on the way were never used,
		 * their timestamps are zero, so they are free at once. */
		if ((rc = slot_table_reserve(r->table, slot)) < 0 ||
		    (rc = ensure_cap(r, slot + 1)) < 0)
			return rc;
		for (; r->nslots < slot; r->nslots++) {
			registry_at(r, r->nslots)->slot = r->nslots;
			push_free(r, r->nslots);
		}
		if ((rc = fill_slot(r, slot, guid, id, now, out)) == 0)
			r->nslots++;
	}
	if (rc < 0)
		return rc;
	if (key)
		slot_table_assign(r->table, (*out)->slot, id, key);
	else
		registry_rekey(r, *out);
	return 0;
}

void registry_restore_heartbeat(struct registry *r, struct endpoint *ep, uint32_t last_heartbeat)
{
	slot_table_restore_seen(r->table, ep->slot, last_heartbeat);
	ep->last_heartbeat = last_heartbeat;
}

void registry_restore_state(struct registry *r, struct endpoint *ep, bool unreachable, bool up,
			    enum ep_reason reason, uint32_t since)
{
	struct transition_feed *feed = r->feed;
	r->feed = NULL; /* what was, not a change */
	registry_set_state(r, ep, unreachable, up, reason, since);
	r->feed = feed;
	ep->reason = (uint8_t)reason;
	ep->status_since = since;
}

void registry_rekey(struct registry *r, struct endpoint *ep)
{
	uint8_t key[HB_KEY_LEN];
	random_bytes(r, key, sizeof(key));
	slot_table_assign(r->table, ep->slot, ep->id, key);
	sodium_memzero(key, sizeof(key));
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
			ep->reason = (uint8_t)reason; /* still online, on newer contact */
		return;
	}
	ep->reason = (uint8_t)reason;
	ep->status_since = now;
	if (r->feed) {
		if ((unsigned)reason < EP_REASON_COUNT)
			r->transitions[st][reason]++;
		struct transition t = {.id = ep->id,
				       .slot = ep->slot,
				       .time = now,
				       .kind = TK_STATUS,
				       .old_status = (uint8_t)old,
				       .new_status = (uint8_t)st,
				       .reason = (uint8_t)reason};
		feed_push(r->feed, &t);
	}
}

void registry_remove(struct registry *r, struct endpoint *ep, enum ep_removal cause, uint32_t now)
{
	uint32_t slot = ep->slot;
	uint64_t id = ep->id;
	/* The workers first: from here on its heartbeats are unknown_slot. */
	slot_table_release(r->table, slot);
	slot_index_remove(&r->by_id, id_hash(id), slot);
	slot_index_remove(&r->by_guid, guid_hash(r, ep_guid(ep)), slot);
	count(r, ep, -1);
	r->count--;
	r->removed[cause]++;
	if (ep->notify.pending)
		r->notify_pending--;
	if (r->feed) {
		struct transition t = {.id = id,
				       .slot = slot,
				       .time = now,
				       .kind = TK_REMOVED,
				       .old_status = ep->status,
				       .new_status = ep->status,
				       .reason = (uint8_t)cause};
		feed_push(r->feed, &t);
	}
	struct ep_details *d = ep->details; /* its guid, for watchers, until reused */
	memset(ep, 0, sizeof(*ep));
	ep->slot = slot;
	ep->removed_id = id;
	ep->details = d;
	/* Quarantine: FIFO through next_free, so slots are reused in the
	 * order they were released. */
	ep->next_free = UINT32_MAX;
	if (r->nquarantine++)
		registry_at(r, r->quarantine_tail)->next_free = slot;
	else
		r->quarantine_head = slot;
	r->quarantine_tail = slot;
}

uint32_t registry_reclaim(struct registry *r)
{
	uint32_t n = r->nquarantine;
	if (n == 0)
		return 0;
	/* Every worker that read one of these ids before it was zeroed has
	 * finished that heartbeat: nobody writes these timestamps any more. */
	synchronize_rcu();
	uint32_t slot = r->quarantine_head;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t next = registry_at(r, slot)->next_free;
		slot_table_clear_seen(r->table, slot);
		if (!r->slots || r->slots->mine(r->slots->ctx, slot))
			push_free(r, slot); /* another collector's slot stays a hole */
		slot = next;
	}
	r->nquarantine = 0;
	return n;
}

void registry_set_range(struct registry *r, struct endpoint *ep, int32_t range)
{
	count(r, ep, -1);
	ep->range = range;
	ep->range_gen = r->range_gen & (REGISTRY_RANGE_GENS - 1);
	count(r, ep, +1); /* by_status nets out: only the range moved */
}

int registry_reset_ranges(struct registry *r, uint32_t nranges)
{
	uint32_t(*by_range)[2] = calloc(nranges ? nranges : 1, sizeof(*by_range));
	if (!by_range)
		return -ENOMEM;
	free(r->by_range);
	r->by_range = by_range;
	r->nranges = nranges;
	/* 1..63: 0 is what a fresh entry holds before its first classification. */
	r->range_gen = (uint8_t)(r->range_gen % (REGISTRY_RANGE_GENS - 1) + 1);
	return 0;
}

void registry_memory(const struct registry *r, struct registry_memory *out)
{
	out->entries = (uint64_t)r->nchunks * REGISTRY_CHUNK_SIZE * sizeof(struct endpoint) +
		       r->chunks_cap * sizeof(*r->chunks);
	out->details = r->details_bytes;
	out->index = slot_index_bytes(&r->by_id) + slot_index_bytes(&r->by_guid);
}

bool registry_index_step(struct registry *r, uint32_t budget)
{
	bool a = slot_index_step(&r->by_id, budget);
	bool b = slot_index_step(&r->by_guid, budget);
	return a || b;
}
