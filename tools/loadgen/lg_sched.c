/*
 * The schedule (lg_sched.h). Deterministic for a given seed, so a run can be
 * repeated and a test can predict which endpoint does what.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lg_sched.h"

/* splitmix64: small, good enough for phases and a shuffle, and seedable. */
static uint64_t lg_rng(uint64_t *state)
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

int lg_sched_init(struct lg_sched *s, const struct lg_sched_cfg *cfg)
{
	uint64_t rng = cfg->seed ^ 0x6C67u, *keyed;
	uint32_t *perm;

	memset(s, 0, sizeof(*s));
	if (cfg->n == 0 || !fraction_ok(cfg->loss) || !fraction_ok(cfg->silent) ||
	    !fraction_ok(cfg->shutdown) || cfg->silent + cfg->shutdown > 1.0 ||
	    (cfg->pace == LG_PACE_INTERVAL && cfg->interval_ns == 0) ||
	    (cfg->pace == LG_PACE_RATE && !(cfg->rate > 0.0)))
		return -EINVAL;
	s->cfg = *cfg;
	s->order = malloc(sizeof(*s->order) * cfg->n);
	s->phase = malloc(sizeof(*s->phase) * cfg->n);
	s->role = calloc(cfg->n, 1);
	keyed = malloc(sizeof(*keyed) * cfg->n);
	if (!s->order || !s->phase || !s->role || !keyed) {
		free(keyed);
		lg_sched_free(s);
		return -ENOMEM;
	}
	/* Phases, and the order they give (phase, then index: a total order). */
	for (uint32_t i = 0; i < cfg->n; i++) {
		s->phase[i] = (uint32_t)(lg_rng(&rng) >> 32);
		keyed[i] = (uint64_t)s->phase[i] << 32 | i;
	}
	qsort(keyed, cfg->n, sizeof(*keyed), cmp_u64);
	for (uint32_t i = 0; i < cfg->n; i++)
		s->order[i] = (uint32_t)keyed[i];

	/* Roles: a seeded shuffle, the first ones silent, the next shutdown,
	 * so the counts are exact and the endpoints scattered. */
	s->n_silent = (uint32_t)llround(cfg->silent * cfg->n);
	s->n_shutdown = (uint32_t)llround(cfg->shutdown * cfg->n);
	if (s->n_silent + s->n_shutdown > cfg->n)
		s->n_shutdown = cfg->n - s->n_silent;
	perm = (uint32_t *)keyed; /* reuse: n uint32 fit in n uint64 */
	for (uint32_t i = 0; i < cfg->n; i++)
		perm[i] = i;
	for (uint32_t i = cfg->n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(lg_rng(&rng) % ((uint64_t)i + 1)), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (uint32_t i = 0; i < s->n_silent; i++)
		s->role[perm[i]] = LG_ROLE_SILENT;
	for (uint32_t i = s->n_silent; i < s->n_silent + s->n_shutdown; i++)
		s->role[perm[i]] = LG_ROLE_SHUTDOWN;
	free(keyed);

	s->lost_per_round = (uint32_t)llround(cfg->loss * cfg->n);
	/* ~0.618 n: consecutive rounds lose well-separated sets of endpoints. */
	s->loss_shift = (uint64_t)((double)cfg->n * 0.6180339887) | 1;
	s->active = cfg->n;
	return 0;
}

void lg_sched_free(struct lg_sched *s)
{
	free(s->order);
	free(s->phase);
	free(s->role);
	s->order = s->phase = NULL;
	s->role = NULL;
}

/* Exactly lost_per_round of the n positions of a round, evenly spread
 * (Bresenham), rotated each round so no endpoint loses every heartbeat. */
static bool lg_sched_lost(const struct lg_sched *s, uint32_t pos, uint64_t round)
{
	uint64_t n = s->cfg.n, l = s->lost_per_round;
	uint64_t q = (pos + (round % n) * (s->loss_shift % n)) % n;

	return (q + 1) * l / n > q * l / n;
}

static uint64_t lg_sched_due(const struct lg_sched *s, uint32_t ep, uint64_t now_ns)
{
	switch (s->cfg.pace) {
	case LG_PACE_INTERVAL:
		return s->round * s->cfg.interval_ns +
		       (uint64_t)(((unsigned __int128)s->cfg.interval_ns * s->phase[ep]) >> 32);
	case LG_PACE_RATE:
		return (uint64_t)((double)s->seq * 1e9 / s->cfg.rate);
	case LG_PACE_MAX:
		break;
	}
	return now_ns;
}

int lg_sched_next(struct lg_sched *s, uint64_t now_ns, struct lg_event *ev)
{
	for (;;) {
		uint32_t pos = s->pos, ep;
		uint64_t due, round = s->round;
		uint8_t role;

		if (s->active == 0 || (s->cfg.rounds && round >= s->cfg.rounds))
			return -ENODATA;
		ep = s->order[pos];
		due = lg_sched_due(s, ep, now_ns);
		if (due >= s->cfg.duration_ns)
			return -ENODATA;
		if (++s->pos == s->cfg.n) {
			s->pos = 0;
			s->round++;
		}
		role = s->role[ep];
		if (role & LG_DONE)
			continue;
		if (role == LG_ROLE_SILENT && due >= s->cfg.silent_after_ns) {
			s->role[ep] |= LG_DONE;
			s->active--;
			continue;
		}
		/* Only events handed out take a slot of a fixed rate. */
		s->seq++;
		*ev = (struct lg_event){.ep = ep, .due_ns = due, .round = round};
		if (role == LG_ROLE_SHUTDOWN && due >= s->cfg.shutdown_after_ns) {
			/* Never lost: the last word of an endpoint is the one a test checks. */
			s->role[ep] |= LG_DONE;
			s->active--;
			ev->shutdown = true;
			return 0;
		}
		ev->lost = lg_sched_lost(s, pos, round);
		return 0;
	}
}
