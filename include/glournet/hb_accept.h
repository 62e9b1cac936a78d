/*
 * The per-heartbeat decision, PROTOCOL.md §1: slot belongs to id, MAC
 * verifies, time inside [now - window, now + skew]; then record
 * min(time, now) in the worker's own array. Inline: it is the hot path,
 * shared verbatim by the workers, the kernel-socket baseline and the tests.
 */
#ifndef GLOURNET_HB_ACCEPT_H
#define GLOURNET_HB_ACCEPT_H

#include <stdint.h>

#include "glournet/hb_decode.h"
#include "glournet/hb_mac.h"
#include "glournet/slot_table.h"

struct hb_window {
	uint32_t now;     /* coarse server time, seconds */
	uint32_t window;  /* accept time >= now - window */
	uint32_t skew;    /* accept time <= now + skew */
};

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
	if (!hb_mac_verify(e->key, payload, HB_MAC_COVERED, out->mac))
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
