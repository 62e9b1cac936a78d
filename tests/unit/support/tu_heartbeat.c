/* Heartbeats for the tests (tu_heartbeat.h). */
#include "glournet/hb_encode.h"
#include "tu_heartbeat.h"

struct hb_window tu_window(uint32_t now)
{
	return (struct hb_window){.now = now, .window = 300, .skew = 30};
}

enum hb_verdict tu_heartbeat(const struct slot_dir *dir, unsigned worker, uint32_t slot,
			     uint64_t id, const uint8_t key[HB_KEY_LEN], uint32_t time,
			     const struct hb_window *w)
{
	uint8_t p[HB_PAYLOAD_LEN];
	hb_encode(p, HB_TYPE_HEARTBEAT, 0, slot, time, id, key);
	return hb_accept(dir, worker, p, w);
}

enum hb_verdict tu_heartbeat_ep(const struct slot_table *t, const struct endpoint *ep,
				const uint8_t key[HB_KEY_LEN], unsigned worker, uint32_t time,
				uint32_t now)
{
	struct hb_window w = tu_window(now);
	return tu_heartbeat(t->dir, worker, ep->slot, ep->id, key, time, &w);
}
