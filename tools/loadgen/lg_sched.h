/*
 * The load generator's schedule: which endpoint sends next, when, and
 * whether that heartbeat is deliberately lost, carries SHUTDOWN or is never
 * sent because its endpoint went silent. Free of I/O and clocks (the caller
 * passes "now") so unit tests can check the fractions and the timing exactly.
 *
 * Every endpoint gets a random phase inside the interval (the jitter) and
 * keeps it: round k sends endpoint i at k * interval + phase[i], so each
 * endpoint sends exactly once per interval and the fleet's heartbeats are
 * spread over the whole interval, as a real fleet's are.
 */
#ifndef GLOURNET_LG_SCHED_H
#define GLOURNET_LG_SCHED_H

#include <stdbool.h>
#include <stdint.h>

enum lg_pace {
	LG_PACE_INTERVAL, /* each endpoint once per interval, at its phase */
	LG_PACE_RATE,     /* the same order, at a fixed rate (frames per second) */
	LG_PACE_MAX,      /* the same order, as fast as the engine takes them */
};

enum lg_role { LG_ROLE_NORMAL, LG_ROLE_SILENT, LG_ROLE_SHUTDOWN };

struct lg_sched_cfg {
	uint32_t n; /* endpoints */
	uint64_t interval_ns;
	enum lg_pace pace;
	double rate;     /* LG_PACE_RATE: frames per second */
	double loss;     /* fraction of heartbeats not sent, 0..1 */
	double silent;   /* fraction of endpoints that stop at silent_after */
	double shutdown; /* fraction that send SHUTDOWN at shutdown_after */
	uint64_t silent_after_ns;
	uint64_t shutdown_after_ns;
	uint64_t duration_ns; /* no event due at or after this */
	uint64_t rounds;      /* 0: no limit */
	uint64_t seed;
};

struct lg_event {
	uint32_t ep;     /* endpoint index */
	uint64_t due_ns; /* when to send, from the start (LG_PACE_MAX: now) */
	uint64_t round;
	bool lost;     /* deliberately not sent: count it, do not send it */
	bool shutdown; /* send with HB_FLAG_SHUTDOWN; the endpoint then stops */
};

struct lg_sched {
	struct lg_sched_cfg cfg;
	uint32_t *order; /* endpoints by phase */
	uint32_t *phase; /* fraction of the interval, / 2^32 */
	uint8_t *role;   /* enum lg_role, | LG_DONE once stopped */
	uint32_t n_silent, n_shutdown, lost_per_round;
	uint64_t round, seq; /* position: round and index into order */
	uint32_t pos;
	uint32_t active;     /* endpoints that may still send */
	uint64_t loss_shift; /* rotates which endpoints lose, round by round */
};

#define LG_DONE 0x80

/* -EINVAL when a fraction is outside [0, 1] or silent + shutdown > 1;
 * -ENOMEM. Counts are exact: round(n * fraction). */
int lg_sched_init(struct lg_sched *s, const struct lg_sched_cfg *cfg);
void lg_sched_free(struct lg_sched *s);
/*
 * The next event. `now_ns` is only used in LG_PACE_MAX (it is then the
 * event's time, for the silent and shutdown deadlines). Returns 0, or
 * -ENODATA when the schedule is over (duration, rounds, or nobody left).
 */
int lg_sched_next(struct lg_sched *s, uint64_t now_ns, struct lg_event *ev);
static inline enum lg_role lg_sched_role(const struct lg_sched *s, uint32_t ep)
{
	return (enum lg_role)(s->role[ep] & ~LG_DONE);
}

#endif
