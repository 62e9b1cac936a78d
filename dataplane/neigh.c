/*
 * The neighbour table (neigh.h): a small open-addressing hash of next hops,
 * owned by the control thread. Lookups run once per frame the control
 * plane sends, so they are one hash and a short probe.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "glournet/neigh.h"

const char *neigh_state_name(enum neigh_state s)
{
	static const char *const names[] = {"empty", "incomplete", "reachable", "stale",
					    "learned", "failed"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *neigh_source_name(enum neigh_source s)
{
	static const char *const names[] = {"kernel", "frame", "glournet"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *neigh_counter_name(enum neigh_counter c)
{
	static const char *const names[] = {
#define NEIGH_COUNTER_NAME(name, str) str,
		NEIGH_COUNTERS(NEIGH_COUNTER_NAME)
#undef NEIGH_COUNTER_NAME
	};
	return (unsigned)c < NEIGH_COUNTER_COUNT ? names[c] : "unknown";
}

int neigh_init(struct neigh_table *t, uint32_t max)
{
	memset(t, 0, sizeof(*t));
	if (max == 0 || max > (1u << 24))
		return -EINVAL;
	uint32_t cells = 16;
	while (cells < 2 * max)   /* load factor at most 1/2: short probes */
		cells <<= 1;
	t->cells = calloc(cells, sizeof(*t->cells));
	if (!t->cells)
		return -ENOMEM;
	t->mask = cells - 1;
	t->max = max;
	t->learned_ttl = NEIGH_LEARNED_TTL;
	t->incomplete_ttl = NEIGH_INCOMPLETE_TTL;
	randombytes_buf(t->key, sizeof(t->key));
	return 0;
}

void neigh_free(struct neigh_table *t)
{
	free(t->cells);
	t->cells = NULL;
	t->count = t->learned = 0;
}

static uint32_t home(const struct neigh_table *t, const struct gn_addr *a)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)a, sizeof(*a), t->key);
	uint32_t v;
	memcpy(&v, h, sizeof(v));
	return v & t->mask;
}

/* The cell holding `a`, or the empty cell where it would go. */
static uint32_t find(const struct neigh_table *t, const struct gn_addr *a)
{
	uint32_t i = home(t, a);
	while (t->cells[i].state != NEIGH_EMPTY && !gn_addr_eq(&t->cells[i].addr, a))
		i = (i + 1) & t->mask;
	return i;
}

struct neigh_entry *neigh_lookup(const struct neigh_table *t, const struct gn_addr *a)
{
	if (!t->cells)
		return NULL;
	uint32_t i = find(t, a);
	return t->cells[i].state == NEIGH_EMPTY ? NULL : &t->cells[i];
}

/* A new entry at `i` (empty), within the limits. */
static struct neigh_entry *add(struct neigh_table *t, uint32_t i, const struct gn_addr *a,
			       enum neigh_source src)
{
	if (t->count >= t->max || (src == NEIGH_FROM_FRAME && t->learned >= t->max / 4 * 3)) {
		t->ctr[NEIGH_C_TABLE_FULL]++;
		return NULL;
	}
	struct neigh_entry *e = &t->cells[i];
	memset(e, 0, sizeof(*e));
	e->addr = *a;
	e->source = (uint8_t)src;
	t->count++;
	if (src == NEIGH_FROM_FRAME)
		t->learned++;
	return e;
}

static void set_source(struct neigh_table *t, struct neigh_entry *e, enum neigh_source src)
{
	if (e->source == NEIGH_FROM_FRAME && src != NEIGH_FROM_FRAME)
		t->learned--;
	else if (e->source != NEIGH_FROM_FRAME && src == NEIGH_FROM_FRAME)
		t->learned++;
	e->source = (uint8_t)src;
}

int neigh_set(struct neigh_table *t, const struct gn_addr *a, enum neigh_state st,
	      const uint8_t *mac, uint32_t now)
{
	uint32_t i = find(t, a);
	struct neigh_entry *e = &t->cells[i];
	if (e->state == NEIGH_EMPTY && !(e = add(t, i, a, NEIGH_FROM_KERNEL)))
		return -ENOSPC;
	/* The kernel still resolving an address we hold a MAC for (it never
	 * saw it, or forgot it): keep ours, our best guess while it probes.
	 * Failed is failed: the host did not answer. */
	bool had_mac = e->state == NEIGH_REACHABLE || e->state == NEIGH_STALE ||
		       e->state == NEIGH_LEARNED;
	if (st == NEIGH_INCOMPLETE && !mac && had_mac)
		st = NEIGH_STALE;
	set_source(t, e, NEIGH_FROM_KERNEL);
	if (mac)
		memcpy(e->mac, mac, 6);
	e->state = (uint8_t)st;
	e->updated = now;
	t->ctr[NEIGH_C_KERNEL_UPDATES]++;
	return 0;
}

/* Backward-shift deletion: pull later members of the run into the hole
 * when their home is not between the hole and themselves. */
static void remove_at(struct neigh_table *t, uint32_t i)
{
	if (t->cells[i].source == NEIGH_FROM_FRAME)
		t->learned--;
	t->count--;
	uint32_t hole = i, j = i;
	for (;;) {
		j = (j + 1) & t->mask;
		if (t->cells[j].state == NEIGH_EMPTY)
			break;
		uint32_t h = home(t, &t->cells[j].addr);
		/* Stays when h lies cyclically in (hole, j]. */
		if (hole <= j ? (hole < h && h <= j) : (hole < h || h <= j))
			continue;
		t->cells[hole] = t->cells[j];
		hole = j;
	}
	memset(&t->cells[hole], 0, sizeof(t->cells[hole]));
}

int neigh_delete(struct neigh_table *t, const struct gn_addr *a)
{
	uint32_t i = find(t, a);
	if (t->cells[i].state == NEIGH_EMPTY)
		return -ENOENT;
	remove_at(t, i);
	t->ctr[NEIGH_C_KERNEL_DELETES]++;
	return 0;
}

void neigh_learn(struct neigh_table *t, const struct gn_addr *a, const uint8_t mac[6],
		 uint32_t now)
{
	uint32_t i = find(t, a);
	struct neigh_entry *e = &t->cells[i];
	if (e->state == NEIGH_EMPTY) {
		if (!(e = add(t, i, a, NEIGH_FROM_FRAME)))
			return;
	} else if (e->source == NEIGH_FROM_KERNEL &&
		   (e->state == NEIGH_REACHABLE || e->state == NEIGH_STALE)) {
		if (!memcmp(e->mac, mac, 6)) {
			e->updated = now;
			t->ctr[NEIGH_C_REFRESHED]++;
		}
		return;
	} else if (e->state == NEIGH_LEARNED && !memcmp(e->mac, mac, 6)) {
		e->updated = now;
		t->ctr[NEIGH_C_REFRESHED]++;
		return;
	}
	set_source(t, e, NEIGH_FROM_FRAME);
	memcpy(e->mac, mac, 6);
	e->state = NEIGH_LEARNED;
	e->updated = now;
	t->ctr[NEIGH_C_LEARNED]++;
}

void neigh_forget_kernel(struct neigh_table *t)
{
	/* An entry only ever moves back towards its home, into the hole at the
	 * cell just examined (looked at again) or past it: one pass sees all. */
	for (uint32_t i = 0; t->cells && i <= t->mask;) {
		if (t->cells[i].state != NEIGH_EMPTY && t->cells[i].source == NEIGH_FROM_KERNEL)
			remove_at(t, i);
		else
			i++;
	}
}

static bool ask_due(const struct neigh_entry *e, uint32_t now)
{
	return !e->asked || now - e->asked >= NEIGH_ASK_EVERY;
}

int neigh_resolve(struct neigh_table *t, const struct gn_addr *nh, uint32_t now, uint8_t mac[6],
		  bool *ask)
{
	*ask = false;
	uint32_t i = find(t, nh);
	struct neigh_entry *e = &t->cells[i];
	switch (e->state) {
	case NEIGH_REACHABLE:
		memcpy(mac, e->mac, 6);
		return 0;
	case NEIGH_STALE:
	case NEIGH_LEARNED:
		memcpy(mac, e->mac, 6);
		if (now - e->updated >= t->learned_ttl && ask_due(e, now)) {
			e->asked = now;
			*ask = true;
			t->ctr[NEIGH_C_RESOLVE_ASKED]++;
		}
		return 0;
	case NEIGH_EMPTY:
		if (!(e = add(t, i, nh, NEIGH_FROM_US)))
			return -EAGAIN;
		e->state = NEIGH_INCOMPLETE;
		e->updated = now;
		break;
	default:   /* incomplete, failed */
		if (!ask_due(e, now))
			return -EAGAIN;
		break;
	}
	e->asked = now;
	*ask = true;
	t->ctr[NEIGH_C_RESOLVE_ASKED]++;
	return -EAGAIN;
}

unsigned neigh_expire_step(struct neigh_table *t, uint32_t now, unsigned budget)
{
	unsigned removed = 0;
	if (!t->cells)
		return 0;
	while (budget--) {
		uint32_t i = t->cursor;
		const struct neigh_entry *e = &t->cells[i];
		bool old_learned = e->state == NEIGH_LEARNED && now - e->updated >= t->learned_ttl;
		bool old_unresolved = (e->state == NEIGH_INCOMPLETE || e->state == NEIGH_FAILED) &&
				      now - e->updated >= t->incomplete_ttl;
		if (old_learned || old_unresolved) {
			remove_at(t, i);   /* the cell may now hold a shifted entry: look again */
			t->ctr[NEIGH_C_EXPIRED]++;
			removed++;
			continue;
		}
		t->cursor = (i + 1) & t->mask;
	}
	return removed;
}
