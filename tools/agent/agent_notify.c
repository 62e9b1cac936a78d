/*
 * The reference agent's notify check, ack and poll plan (agent_notify.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "glournet/hb_encode.h"
#include "agent_notify.h"

const char *const agent_notify_kind_name[AGENT_KIND_COUNT] = {
#define AGENT_KIND_NAME(name, str, flag) str,
	AGENT_NOTIFY_KINDS(AGENT_KIND_NAME)
#undef AGENT_KIND_NAME
};

const uint16_t agent_notify_kind_flag[AGENT_KIND_COUNT] = {
#define AGENT_KIND_FLAG(name, str, flag) flag,
	AGENT_NOTIFY_KINDS(AGENT_KIND_FLAG)
#undef AGENT_KIND_FLAG
};

const char *agent_verdict_name(enum hb_verdict v)
{
	static const char *const names[HB_VERDICT_COUNT] = {
#define AGENT_VERDICT_NAME(name, str, route) str,
		HB_VERDICTS(AGENT_VERDICT_NAME)
#undef AGENT_VERDICT_NAME
	};
	return (unsigned)v < HB_VERDICT_COUNT ? names[v] : "?";
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int agent_notify_init(struct agent_notify *nc, struct agent_ep *eps, size_t n, uint32_t window,
		      uint32_t skew, size_t *dups)
{
	size_t k = 0;

	memset(nc, 0, sizeof(*nc));
	nc->eps = eps;
	nc->n = n;
	nc->window = window;
	nc->skew = skew;
	*dups = 0;
	nc->by_slot = malloc((n ? n : 1) * sizeof(*nc->by_slot));
	if (!nc->by_slot)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		nc->by_slot[i] = (uint64_t)eps[i].slot << 32 | (uint32_t)i;
	/* slot, then index: of two with one slot the earlier line comes first */
	qsort(nc->by_slot, n, sizeof(*nc->by_slot), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		if (k && nc->by_slot[k - 1] >> 32 == nc->by_slot[i] >> 32) {
			(*dups)++;
			continue;
		}
		nc->by_slot[k++] = nc->by_slot[i];
	}
	nc->n_slots = k;
	return 0;
}

void agent_notify_free(struct agent_notify *nc)
{
	free(nc->by_slot);
	nc->by_slot = NULL;
	nc->n_slots = 0;
}

long agent_notify_find(const struct agent_notify *nc, uint32_t slot)
{
	size_t lo = 0, hi = nc->n_slots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t s = (uint32_t)(nc->by_slot[mid] >> 32);

		if (s == slot)
			return (long)(uint32_t)nc->by_slot[mid];
		if (s < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

enum hb_verdict agent_notify_check(struct agent_notify *nc, const uint8_t *p, size_t len,
				   int64_t local_now, long *idx, struct hb_msg *m,
				   uint8_t ack[HB_PAYLOAD_LEN])
{
	uint32_t slot = len == HB_PAYLOAD_LEN ? hb_be32(p + offsetof(struct hb_wire, slot)) : 0;
	long i = len == HB_PAYLOAD_LEN ? agent_notify_find(nc, slot) : -1;
	struct hb_self self = {.window = nc->window, .skew = nc->skew};
	enum hb_verdict v;

	*idx = i;
	if (i >= 0) {
		const struct agent_ep *ep = &nc->eps[i];

		self.slot = ep->slot;
		self.id = ep->id;
		self.key = ep->key;
		self.now = (uint32_t)(local_now + ep->clock_offset);
	} else {
		/* Nobody here has that slot: the checks before the slot's still
		 * name what is wrong first, then the slot is unknown. */
		self.slot = slot + 1;
	}
	memset(m, 0, sizeof(*m));
	v = hb_check_notify(p, len, &self, m);
	nc->verdict[v]++;
	if (v != HB_ACCEPTED)
		return v;
	for (int k = 0; k < AGENT_KIND_COUNT; k++)
		nc->kind[k] += (m->flags & agent_notify_kind_flag[k]) != 0;
	hb_encode(ack, HB_TYPE_NOTIFY_ACK, m->flags, self.slot, self.now, self.id, self.key);
	return v;
}

enum agent_poll_plan agent_notify_poll_plan(uint16_t flags, uint32_t notify_time,
					    uint32_t answered_at, bool pending,
					    int64_t poll_interval_s, uint64_t spread_ns,
					    uint64_t rnd, uint64_t *delay_ns)
{
	uint64_t spread = spread_ns;

	*delay_ns = 0;
	if (!(flags & (HB_FLAG_SETTINGS | HB_FLAG_COMPONENTS)))
		return AGENT_POLL_NONE;
	if (pending)
		return AGENT_POLL_PENDING;
	/* Strictly newer: a change in the very second of the answer may have
	 * come after it. */
	if (answered_at && notify_time < answered_at)
		return AGENT_POLL_FRESH;
	if (poll_interval_s > 0 && (uint64_t)poll_interval_s * 1000000000ull < spread)
		spread = (uint64_t)poll_interval_s * 1000000000ull;
	*delay_ns = agent_jitter_ns(rnd, spread);
	return AGENT_POLL_SCHEDULED;
}
