/*
 * The per-heartbeat decision, docs/protocol.md §1: slot belongs to id, MAC
 * verifies, time inside [now - window, now + skew]; then record
 * min(time, now) in the worker's own array. Inline: it is the hot path,
 * shared verbatim by the workers, the kernel-socket baseline and the tests.
 */
#ifndef GLOURNET_HB_ACCEPT_H
#define GLOURNET_HB_ACCEPT_H

#include <stddef.h>
#include <stdint.h>

#include "glournet/hb_decode.h"
#include "glournet/hb_mac.h"
#include "glournet/hb_mac_burst.h"
#include "glournet/hb_siphash.h"
#include "glournet/slot_table.h"

struct hb_window {
	uint32_t now;     /* coarse server time, seconds */
	uint32_t window;  /* accept time >= now - window */
	uint32_t skew;    /* accept time <= now + skew */
};

/*
 * For a whole burst (hb_accept_burst): start loading a heartbeat's slot
 * entry and timestamp lines, so that a burst's cache misses overlap instead
 * of following one another (on a 10 M-slot table each one is a DRAM miss).
 * The asm is rte_prefetch0's instruction, here without DPDK (this header
 * also serves the tests and the kernel baseline); GCC 12 -O2 dropped
 * __builtin_prefetch in this loop.
 */
static inline void hb_prefetch_line(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetcht0 %[p]" : : [p] "m"(*(const volatile char *)p));
#else
	__builtin_prefetch(p, 0, 3);
#endif
}

static inline void hb_slot_prefetch(const struct slot_entry *e, const uint32_t *seen)
{
	/* Its first and last byte: an entry that straddles two lines needs
	 * both; otherwise the second is the same line again, cheaper than a
	 * test for it. */
	hb_prefetch_line(e);
	hb_prefetch_line((const uint8_t *)e + sizeof(*e) - 1);
	hb_prefetch_line(seen);
}

/* Step 1: decode, then the slot must belong to the id. *e is its entry. */
static inline enum hb_verdict hb_accept_owner(const struct slot_dir *dir, const uint8_t *payload,
					      struct hb_msg *m, const struct slot_entry **e)
{
	enum hb_verdict v = hb_decode_payload(payload, m);
	if (v != HB_ACCEPTED)
		return v;
	*e = slot_dir_entry(dir, m->slot);
	if (!*e)
		return HB_UNKNOWN_SLOT;
	uint64_t owner = __atomic_load_n(&(*e)->id, __ATOMIC_ACQUIRE);
	if (owner == 0)
		return HB_UNKNOWN_SLOT;
	if (owner != m->id)
		return HB_ID_MISMATCH;
	return HB_ACCEPTED;
}

/* Step 3, after the MAC: the time window, then record min(time, now) in
 * *seen, the slot's timestamp in the worker's array. Sets m->time to what
 * was recorded. */
static inline enum hb_verdict hb_accept_store(uint32_t *seen, const struct hb_window *win,
					      struct hb_msg *m)
{
	if ((uint64_t)m->time + win->window < win->now)
		return HB_TOO_OLD;
	if ((uint64_t)m->time > (uint64_t)win->now + win->skew)
		return HB_TOO_NEW;
	uint32_t t = m->time < win->now ? m->time : win->now;
	/* Keep the newest: a reordered older heartbeat must not move it back. */
	if (t > *seen)
		*seen = t;
	m->time = t;
	return HB_ACCEPTED;
}

static inline enum hb_verdict hb_accept_record(const struct slot_dir *dir, unsigned worker,
					       const struct hb_window *win, struct hb_msg *m)
{
	return hb_accept_store(slot_dir_seen(dir, m->slot, worker), win, m);
}

/* The whole check; also hands back the decoded message, for the caller's
 * flag handling. MAC before time: a forged packet is counted as forged,
 * not stale. */
static inline enum hb_verdict hb_accept_msg(const struct slot_dir *dir, unsigned worker,
					    const uint8_t *payload, const struct hb_window *win,
					    struct hb_msg *out)
{
	const struct slot_entry *e;
	enum hb_verdict v = hb_accept_owner(dir, payload, out, &e);
	if (v != HB_ACCEPTED)
		return v;
	if (!hb_siphash_verify_hb(e->key, payload))
		return HB_BAD_MAC;
	return hb_accept_record(dir, worker, win, out);
}

static inline enum hb_verdict hb_accept(const struct slot_dir *dir, unsigned worker,
					const uint8_t *payload, const struct hb_window *win)
{
	struct hb_msg m;
	return hb_accept_msg(dir, worker, payload, win, &m);
}

/*
 * The whole check for a burst, as worker_main runs it: for each heartbeat
 * the same checks in the same order, the same verdicts and the same store
 * as hb_accept_msg, done in passes over the burst so that the slot lines
 * of all heartbeats are in flight at once and the MACs are verified side
 * by side (hb_mac_burst.h):
 *   1. decode each payload, find its slot entry, prefetch its lines;
 *   2. slot and id (step 1 of hb_accept_msg);
 *   3. the MACs of those that passed, all at once; nothing is stored
 *      for a heartbeat before its MAC is checked;
 *   4. the window and the store (step 3).
 * On entry v[i] is frame i's verdict so far and pl[i] its payload when
 * that is HB_ACCEPTED; on return v[i] is the final verdict and msg[i] the
 * decoded heartbeat (time as recorded) when it is HB_ACCEPTED. n is at
 * most HB_ACCEPT_BURST_MAX here; hb_accept_burst below takes any n.
 */
#define HB_ACCEPT_BURST_MAX HB_MAC_BURST_MAX
static inline void hb_accept_chunk(const struct slot_dir *dir, unsigned worker,
				   const uint8_t *const pl[], enum hb_verdict v[],
				   struct hb_msg msg[], unsigned n, const struct hb_window *win)
{
	const struct slot_entry *ent[HB_ACCEPT_BURST_MAX];
	uint32_t *seen[HB_ACCEPT_BURST_MAX];   /* found once, for the prefetch and the store */
	const uint8_t *key[HB_ACCEPT_BURST_MAX], *mac_pl[HB_ACCEPT_BURST_MAX];
	uint8_t todo[HB_ACCEPT_BURST_MAX];
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (v[i] != HB_ACCEPTED)
			continue;
		v[i] = hb_decode_payload(pl[i], &msg[i]);
		if (v[i] != HB_ACCEPTED)
			continue;
		ent[i] = slot_dir_entry(dir, msg[i].slot);
		if (!ent[i]) {
			v[i] = HB_UNKNOWN_SLOT;
			continue;
		}
		seen[i] = slot_dir_seen(dir, msg[i].slot, worker);
		hb_slot_prefetch(ent[i], seen[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		if (v[i] != HB_ACCEPTED)
			continue;
		uint64_t owner = __atomic_load_n(&ent[i]->id, __ATOMIC_ACQUIRE);
		if (owner == 0) {
			v[i] = HB_UNKNOWN_SLOT;
		} else if (owner != msg[i].id) {
			v[i] = HB_ID_MISMATCH;
		} else {
			key[k] = ent[i]->key;   /* read after the id: see slot_table_assign */
			mac_pl[k] = pl[i];
			todo[k++] = (uint8_t)i;
		}
	}
	uint64_t good = hb_mac_verify_burst(key, mac_pl, k);
	for (unsigned q = 0; q < k; q++) {
		unsigned i = todo[q];
		v[i] = (good >> q) & 1 ? hb_accept_store(seen[i], win, &msg[i]) : HB_BAD_MAC;
	}
}

/* Any n: a burst longer than HB_ACCEPT_BURST_MAX (the worker's never is)
 * goes in slices of that size. */
static inline void hb_accept_burst(const struct slot_dir *dir, unsigned worker,
				   const uint8_t *const pl[], enum hb_verdict v[],
				   struct hb_msg msg[], unsigned n, const struct hb_window *win)
{
	for (unsigned off = 0; off < n; off += HB_ACCEPT_BURST_MAX) {
		unsigned len = n - off < HB_ACCEPT_BURST_MAX ? n - off : HB_ACCEPT_BURST_MAX;
		hb_accept_chunk(dir, worker, pl + off, v + off, msg + off, len, win);
	}
}

#endif
