/*
 * The per-heartbeat decision, docs/protocol.md §1: slot belongs to id, MAC
 * verifies, time inside [now - window, now + skew]; then record
 * min(time, now) as the worker's own timestamp of the slot. Inline: it is the hot path,
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
	uint32_t now;      /* coarse server time, seconds: the real clock (coarse_clock.h) */
	uint32_t window;   /* accept time >= now - window */
	uint32_t skew;     /* accept time <= now + skew */
	int32_t base;      /* real - steady: what a recorded time is on */
	int32_t prev_base; /* the base before the real clock's last step */
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

/* The entry is within one line (slot_table.h) and holds the timestamp of
 * the workers below slot_dir.ninline; only an overflow worker's timestamp
 * is a line of its own (then `seen` is outside the entry). */
static inline void hb_slot_prefetch(const struct slot_entry *e, const uint32_t *seen)
{
	hb_prefetch_line(e);
	if ((uintptr_t)seen - (uintptr_t)e >= 64)
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

static inline enum hb_verdict hb_window_verdict(uint32_t time, uint32_t now,
						const struct hb_window *win)
{
	if ((uint64_t)time + win->window < now)
		return HB_TOO_OLD;
	if ((uint64_t)time > (uint64_t)now + win->skew)
		return HB_TOO_NEW;
	return HB_ACCEPTED;
}

/* Step 3, after the MAC: the time window, then record min(time, now) in
 * *seen, the worker's own timestamp of the slot, on the steady clock
 * (time - base). After a step of the real clock, a sender still on the
 * clock it learned before (it learns the new one at its next registration
 * or poll) is judged and recorded on that one, the previous base: a step
 * neither refuses every heartbeat nor ages or rejuvenates an endpoint.
 * Only a refused heartbeat pays for that test. Sets m->time to what was
 * recorded (steady). */
static inline enum hb_verdict hb_accept_store(uint32_t *seen, const struct hb_window *win,
					      struct hb_msg *m)
{
	uint32_t now = win->now;
	int32_t base = win->base;
	enum hb_verdict v = hb_window_verdict(m->time, now, win);
	if (v != HB_ACCEPTED && win->prev_base != win->base) {
		uint32_t before = now - (uint32_t)(win->base - win->prev_base);
		if (hb_window_verdict(m->time, before, win) == HB_ACCEPTED) {
			v = HB_ACCEPTED;
			now = before;
			base = win->prev_base;
		}
	}
	if (v != HB_ACCEPTED)
		return v;
	uint32_t t = (m->time < now ? m->time : now) - (uint32_t)base;
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
				   struct hb_msg msg[], uint32_t tag[], unsigned n,
				   const struct hb_window *win)
{
	const struct slot_entry *ent[HB_ACCEPT_BURST_MAX];
	uint32_t *seen[HB_ACCEPT_BURST_MAX]; /* found once, for the prefetch and the store */
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
		seen[i] = slot_entry_seen(dir, ent[i], msg[i].slot, worker);
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
			key[k] = ent[i]->key; /* read after the id: see slot_table_assign */
			mac_pl[k] = pl[i];
			todo[k++] = (uint8_t)i;
		}
	}
	uint64_t good = hb_mac_verify_burst(key, mac_pl, k);
	for (unsigned q = 0; q < k; q++) {
		unsigned i = todo[q];
		v[i] = (good >> q) & 1 ? hb_accept_store(seen[i], win, &msg[i]) : HB_BAD_MAC;
		if (tag) /* its line is in cache: the key was just read from it */
			tag[i] = __atomic_load_n(&ent[i]->src_tag, __ATOMIC_RELAXED);
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
		hb_accept_chunk(dir, worker, pl + off, v + off, msg + off, NULL, len, win);
	}
}

/* The worker's burst (n at most HB_ACCEPT_BURST_MAX): hb_accept_chunk, and
 * for each accepted heartbeat its slot's source tag in tag[i], for
 * hb_source_moved. */
static inline void hb_accept_burst_tags(const struct slot_dir *dir, unsigned worker,
					const uint8_t *const pl[], enum hb_verdict v[],
					struct hb_msg msg[], uint32_t tag[], unsigned n,
					const struct hb_window *win)
{
	hb_accept_chunk(dir, worker, pl, v, msg, tag, n, win);
}

/*
 * The source address of a frame the decoder accepted (Ethernet, up to two
 * VLAN tags, IPv4 or IPv6: the address fields come before any IPv4 option
 * or IPv6 extension header): *family 2 (AF_INET) or 10 (AF_INET6), and
 * where its bytes are. A few loads from the frame's first line, which the
 * decoder has just read.
 */
static inline const uint8_t *hb_frame_source(const uint8_t *frame, uint8_t *family)
{
	unsigned off = 12;
	uint16_t type = hb_be16(frame + off);
	for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88A8); tags++) {
		off += 4;
		type = hb_be16(frame + off);
	}
	const uint8_t *ip = frame + off + 2;
	*family = type == 0x0800 ? 2 : 10;
	return type == 0x0800 ? ip + 12 : ip + 8;
}

static inline int hb_source_moved_any(const uint8_t *frame, uint32_t tag)
{
	uint8_t family;
	const uint8_t *src = hb_frame_source(frame, &family);
	return slot_src_tag(family, src) != tag;
}

/* Whether an accepted heartbeat came from elsewhere than the address its
 * slot's tag names (slot_table.h): the control thread is told, so that
 * notifies go where the endpoint is now. For the common frame (untagged
 * IPv4) two loads and two compares: the EtherType, and the source address
 * as loaded against the tag (an IPv4 address is its own tag; 0.0.0.0,
 * whose tag is 1, is never a heartbeat's source). */
static inline int hb_source_moved(const uint8_t *frame, uint32_t tag)
{
	uint16_t type;
	memcpy(&type, frame + 12, 2);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (__builtin_expect(type == 0x0008, 1)) {
#else
	if (__builtin_expect(type == 0x0800, 1)) {
#endif
		uint32_t src;
		memcpy(&src, frame + 14 + 12, 4);
		return src != tag;
	}
	return hb_source_moved_any(frame, tag);
}

#endif
