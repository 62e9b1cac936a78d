/*
 * EXPERIMENT, not code the collector runs: hb_accept for a whole burst at
 * once, in passes, to price two changes together:
 *   1. decode every payload of the burst and prefetch its slot entry and
 *      timestamp line first, so that the burst's cache misses overlap;
 *   2. verify the MACs eight at a time (siphash_x8.h, AVX-512).
 * Same checks, same verdicts, same stores as hb_accept_msg for each
 * heartbeat (the order of the checks within one heartbeat is kept: slot,
 * id, MAC, then the window). Used by the micro-benchmarks and by
 * gn-bench-capacity --exp batch.
 */
#ifndef GLOURNET_BENCH_ACCEPT_BATCH_H
#define GLOURNET_BENCH_ACCEPT_BATCH_H

#include "glournet/hb_accept.h"
#include "siphash_ref.h"
#include "siphash_x8.h"

#define GNB_BATCH_MAX 64

static inline void gnb_prefetch0(const void *p)
{
	__asm__ volatile("prefetcht0 %[p]" : : [p] "m"(*(const volatile char *)p));
}

/*
 * pl[i]: the payload of frame i when v[i] == HB_ACCEPTED on entry (what
 * hb_decode_frame said); on return v[i] is the final verdict, and msg[i]
 * the decoded heartbeat when accepted.
 */
static inline void gnb_accept_batch(const struct slot_dir *dir, unsigned worker,
				    const uint8_t *const pl[], enum hb_verdict v[],
				    struct hb_msg msg[], unsigned n, const struct hb_window *win,
				    bool x8)
{
	const struct slot_entry *ent[GNB_BATCH_MAX];
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
		gnb_prefetch0(ent[i]);
		gnb_prefetch0(slot_dir_seen(dir, msg[i].slot, worker));
	}
	/* Slot and id; the survivors queue for the MAC. */
	unsigned todo[GNB_BATCH_MAX], k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (v[i] != HB_ACCEPTED)
			continue;
		uint64_t owner = __atomic_load_n(&ent[i]->id, __ATOMIC_ACQUIRE);
		if (owner == 0)
			v[i] = HB_UNKNOWN_SLOT;
		else if (owner != msg[i].id)
			v[i] = HB_ID_MISMATCH;
		else
			todo[k++] = i;
	}
	unsigned j = 0;
#if GNB_HAVE_X8
	if (x8) {
		for (; j + 8 <= k; j += 8) {
			const uint8_t *key[8], *m[8];
			for (unsigned l = 0; l < 8; l++) {
				key[l] = ent[todo[j + l]]->key;
				m[l] = pl[todo[j + l]];
			}
			uint8_t ok = gnb_siphash24_24_verify_x8(key, m);
			for (unsigned l = 0; l < 8; l++)
				if (!(ok & (1u << l)))
					v[todo[j + l]] = HB_BAD_MAC;
		}
	}
#else
	(void)x8;
#endif
	for (; j < k; j++) {   /* the rest, one at a time */
		uint64_t want = gnb_siphash24_24(ent[todo[j]]->key, pl[todo[j]]);
		if (!hb_mac_equal((const uint8_t *)&want, msg[todo[j]].mac))
			v[todo[j]] = HB_BAD_MAC;
	}
	for (unsigned q = 0; q < k; q++) {
		unsigned i = todo[q];
		if (v[i] != HB_ACCEPTED)
			continue;
		struct hb_msg *m = &msg[i];
		if ((uint64_t)m->time + win->window < win->now) {
			v[i] = HB_TOO_OLD;
			continue;
		}
		if ((uint64_t)m->time > (uint64_t)win->now + win->skew) {
			v[i] = HB_TOO_NEW;
			continue;
		}
		uint32_t t = m->time < win->now ? m->time : win->now;
		uint32_t *seen = slot_dir_seen(dir, m->slot, worker);
		if (t > *seen)
			*seen = t;
		m->time = t;
	}
}

#endif
