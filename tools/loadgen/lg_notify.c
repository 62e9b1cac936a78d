/*
 * The fleet's notify handling, its late-ack queue and its report
 * (lg_notify.h).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "glournet/hb_encode.h"
#include "lg_notify.h"

const char *const lg_ack_role_name[LG_ACK_ROLE_COUNT] = {
#define LG_ACK_NAME(name, str) str,
	LG_ACK_ROLES(LG_ACK_NAME)
#undef LG_ACK_NAME
};

const char *const lg_notify_flag_name[LG_NOTIFY_FLAGS] = {"settings", "components", "verify"};
static const uint16_t flag_bit[LG_NOTIFY_FLAGS] = {HB_FLAG_SETTINGS, HB_FLAG_COMPONENTS,
						   HB_FLAG_VERIFY};

const char *lg_verdict_name(enum hb_verdict v)
{
	static const char *const names[HB_VERDICT_COUNT] = {
#define LG_VERDICT_NAME(name, str, route) str,
		HB_VERDICTS(LG_VERDICT_NAME)
#undef LG_VERDICT_NAME
	};
	return (unsigned)v < HB_VERDICT_COUNT ? names[v] : "?";
}

/* splitmix64, as the schedule's, on a stream of its own. */
static uint64_t rng(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool fraction_ok(double f)
{
	return isfinite(f) && f >= 0.0 && f <= 1.0;
}

int lg_notify_init(struct lg_notify *nt, const struct lg_endpoints *set,
		   const struct lg_notify_cfg *cfg)
{
	size_t n = set->n, k = 0;
	uint64_t st = cfg->seed ^ 0x6E6F74696679ull; /* "notify" */
	uint32_t *perm;

	memset(nt, 0, sizeof(*nt));
	if (!fraction_ok(cfg->late) || !fraction_ok(cfg->never) || cfg->late + cfg->never > 1.0 ||
	    n > UINT32_MAX)
		return -EINVAL;
	nt->set = set;
	nt->window = cfg->window;
	nt->skew = cfg->skew;
	nt->by_slot = malloc((n ? n : 1) * sizeof(*nt->by_slot));
	nt->role = calloc(n ? n : 1, 1);
	nt->count = calloc(n ? n : 1, 1);
	nt->first_ms = malloc((n ? n : 1) * sizeof(*nt->first_ms));
	perm = malloc((n ? n : 1) * sizeof(*perm));
	if (!nt->by_slot || !nt->role || !nt->count || !nt->first_ms || !perm) {
		free(perm);
		lg_notify_free(nt);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		nt->by_slot[i] = (uint64_t)set->eps[i].slot << 32 | (uint32_t)i;
		nt->first_ms[i] = UINT32_MAX;
		perm[i] = (uint32_t)i;
	}
	qsort(nt->by_slot, n, sizeof(*nt->by_slot), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		if (k && nt->by_slot[k - 1] >> 32 == nt->by_slot[i] >> 32) {
			nt->dup_slots++;
			continue;
		}
		nt->by_slot[k++] = nt->by_slot[i];
	}
	nt->n_slots = k;

	/* Exact counts: the first never-ackers of a seeded shuffle, then the
	 * late ones; the rest ack at once. */
	nt->n_role[LG_ACK_NEVER] = (uint32_t)llround(cfg->never * (double)n);
	nt->n_role[LG_ACK_LATE] = (uint32_t)llround(cfg->late * (double)n);
	if (nt->n_role[LG_ACK_NEVER] + nt->n_role[LG_ACK_LATE] > n)
		nt->n_role[LG_ACK_LATE] = (uint32_t)n - nt->n_role[LG_ACK_NEVER];
	nt->n_role[LG_ACK_NOW] = (uint32_t)n - nt->n_role[LG_ACK_NEVER] - nt->n_role[LG_ACK_LATE];
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng(&st) % i);
		uint32_t t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		nt->role[perm[i]] = i < nt->n_role[LG_ACK_NEVER] ? LG_ACK_NEVER
				    : i < (size_t)nt->n_role[LG_ACK_NEVER] + nt->n_role[LG_ACK_LATE]
					    ? LG_ACK_LATE
					    : LG_ACK_NOW;
	free(perm);
	return 0;
}

void lg_notify_free(struct lg_notify *nt)
{
	free(nt->by_slot);
	free(nt->role);
	free(nt->count);
	free(nt->first_ms);
	nt->by_slot = NULL;
	nt->role = nt->count = NULL;
	nt->first_ms = NULL;
	nt->n_slots = 0;
}

long lg_notify_find(const struct lg_notify *nt, uint32_t slot)
{
	size_t lo = 0, hi = nt->n_slots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t s = (uint32_t)(nt->by_slot[mid] >> 32);

		if (s == slot)
			return (long)(uint32_t)nt->by_slot[mid];
		if (s < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

enum lg_notify_outcome lg_notify_handle(struct lg_notify *nt, const uint8_t *p, size_t len,
					uint32_t now, uint32_t ms, bool (*dead)(void *, uint32_t),
					void *dead_arg, uint32_t *ep, enum hb_verdict *v,
					uint8_t ack[HB_PAYLOAD_LEN])
{
	uint32_t slot = len == HB_PAYLOAD_LEN ? hb_be32(p + offsetof(struct hb_wire, slot)) : 0;
	long i = len == HB_PAYLOAD_LEN ? lg_notify_find(nt, slot) : -1;
	struct hb_self self = {.slot = slot + 1,
			       .now = now,
			       .window = nt->window,
			       .skew = nt->skew};
	struct hb_msg m;
	enum lg_notify_outcome out;
	const struct lg_ep *e;

	if (i >= 0) {
		e = &nt->set->eps[i];
		self.slot = e->slot;
		self.id = e->id;
		self.key = e->key;
	} /* else: the checks before the slot's name what is wrong, then the slot */
	*v = hb_check_notify(p, len, &self, &m);
	nt->verdict[*v]++;
	if (*v != HB_ACCEPTED) {
		nt->outcome[LG_NOTIFY_REFUSED]++;
		return LG_NOTIFY_REFUSED;
	}
	*ep = (uint32_t)i;
	for (int k = 0; k < LG_NOTIFY_FLAGS; k++)
		nt->by_flag[k] += (m.flags & flag_bit[k]) != 0;
	if (nt->count[i] < LG_NOTIFY_COUNT_MAX)
		nt->count[i]++;
	if (nt->first_ms[i] == UINT32_MAX)
		nt->first_ms[i] = ms < UINT32_MAX ? ms : UINT32_MAX - 1;
	hb_encode(ack, HB_TYPE_NOTIFY_ACK, m.flags, self.slot, now, self.id, self.key);
	if (dead && dead(dead_arg, (uint32_t)i)) {
		nt->to_dead++;
		out = LG_NOTIFY_NO_ACK;
	} else {
		out = nt->role[i] == LG_ACK_NOW    ? LG_NOTIFY_ACK
		      : nt->role[i] == LG_ACK_LATE ? LG_NOTIFY_ACK_LATER
						   : LG_NOTIFY_NO_ACK;
	}
	nt->outcome[out]++;
	return out;
}

/* ---- late acks ---- */

int lg_ackq_push(struct lg_ackq *q, uint64_t due_ns, uint32_t sock,
		 const uint8_t ack[HB_PAYLOAD_LEN])
{
	struct lg_late_ack *e;

	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 1024;
		struct lg_late_ack *a = malloc(cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		/* unroll the ring into the new array, oldest first */
		for (size_t k = 0; k < q->n; k++)
			a[k] = q->a[(q->head + k) % q->cap];
		free(q->a);
		q->a = a;
		q->head = 0;
		q->cap = cap;
	}
	e = &q->a[(q->head + q->n) % q->cap];
	e->due_ns = due_ns;
	e->sock = sock;
	memcpy(e->ack, ack, HB_PAYLOAD_LEN);
	q->n++;
	return 0;
}

bool lg_ackq_pop_due(struct lg_ackq *q, uint64_t now_ns, struct lg_late_ack *out)
{
	if (q->n == 0 || q->a[q->head].due_ns > now_ns)
		return false;
	*out = q->a[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return true;
}

void lg_ackq_free(struct lg_ackq *q)
{
	free(q->a);
	*q = (struct lg_ackq){0};
}

/* ---- report ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least q of the values at or below it. */
static uint32_t rank(const uint32_t *v, size_t n, double q)
{
	size_t k = (size_t)ceil(q * (double)n);

	return v[k ? k - 1 : 0];
}

int lg_notify_report(const struct lg_notify *nt, struct lg_notify_report *r)
{
	size_t n = nt->set->n, m = 0;
	uint32_t *t = malloc((n ? n : 1) * sizeof(*t));

	memset(r, 0, sizeof(*r));
	if (!t)
		return -ENOMEM;
	for (int v = 1; v < HB_VERDICT_COUNT; v++)
		r->refused += nt->verdict[v];
	for (size_t i = 0; i < n; i++) {
		r->per_ep[nt->role[i]][nt->count[i]]++;
		if (nt->count[i]) {
			r->resent += nt->count[i] - 1u;
			t[m++] = nt->first_ms[i];
		}
	}
	r->notified = m;
	if (m) {
		uint32_t t0;

		qsort(t, m, sizeof(*t), cmp_u32);
		t0 = t[0];
		for (size_t i = 0; i < m; i++)
			t[i] -= t0;
		r->p50_ms = rank(t, m, 0.50);
		r->p90_ms = rank(t, m, 0.90);
		r->p99_ms = rank(t, m, 0.99);
		r->max_ms = t[m - 1];
		r->first_span_s = (double)r->max_ms / 1e3;
		r->first_rate = r->max_ms ? (double)(m - 1) / r->first_span_s : 0;
	}
	free(t);
	return 0;
}
