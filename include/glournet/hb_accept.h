/*
 * The per-heartbeat decision, PROTOCOL.md §1: slot belongs to id, MAC
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
#include "glournet/hb_siphash.h"
#include "glournet/slot_table.h"

struct hb_window {
	uint32_t now;     /* coarse server time, seconds */
	uint32_t window;  /* accept time >= now - window */
	uint32_t skew;    /* accept time <= now + skew */
};

/*
 * Before step 1, for a whole burst: start loading the payload's slot entry
 * and timestamp lines, so that a burst's cache misses overlap instead of
 * following one another (on a 10 M-slot table each one is a DRAM miss).
 * Only reads the slot number; a bad slot is left for step 1 to count.
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

static inline void hb_accept_prefetch(const struct slot_dir *dir, unsigned worker,
				      const uint8_t *payload)
{
	uint32_t slot = hb_be32(payload + offsetof(struct hb_wire, slot));
	const struct slot_entry *e = slot_dir_entry(dir, slot);
	if (!e)
		return;
	hb_prefetch_line(e);
	/* An entry that straddles two lines needs both. */
	if (((uintptr_t)e & 63) + sizeof(*e) > 64)
		hb_prefetch_line((const uint8_t *)e + sizeof(*e) - 1);
	hb_prefetch_line(slot_dir_seen(dir, slot, worker));
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

/* Step 3, after the MAC: the time window, then record min(time, now).
 * Sets m->time to what was recorded. */
static inline enum hb_verdict hb_accept_record(const struct slot_dir *dir, unsigned worker,
					       const struct hb_window *win, struct hb_msg *m)
{
	if ((uint64_t)m->time + win->window < win->now)
		return HB_TOO_OLD;
	if ((uint64_t)m->time > (uint64_t)win->now + win->skew)
		return HB_TOO_NEW;
	uint32_t t = m->time < win->now ? m->time : win->now;
	uint32_t *seen = slot_dir_seen(dir, m->slot, worker);
	/* Keep the newest: a reordered older heartbeat must not move it back. */
	if (t > *seen)
		*seen = t;
	m->time = t;
	return HB_ACCEPTED;
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

#endif
