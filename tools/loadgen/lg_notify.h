/*
 * The simulated fleet's side of notifies (docs/protocol.md §2), free of
 * sockets and clocks so the unit tests check it exactly: which endpoints
 * ack at once, ack late or never ack (exact counts, a seeded shuffle, as
 * the schedule's silent and shutdown fractions), the demultiplexer (a
 * notify names its slot; one sorted array finds the endpoint, then
 * hb_check_notify checks it under that endpoint's key), what each endpoint
 * received (how many notifies: re-sends show as more than one; when the
 * first came), the late acks' queue, and the report.
 */
#ifndef GLOURNET_LG_NOTIFY_H
#define GLOURNET_LG_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glournet/hb_verdict.h"
#include "glournet/heartbeat.h"
#include "lg_endpoints.h"

/* clang-format off */
#define LG_ACK_ROLES(X)            \
	X(NOW,   "now")   /* acks at once */      \
	X(LATE,  "late")  /* acks after a delay */ \
	X(NEVER, "never") /* receives, never acks */
/* clang-format on */

enum lg_ack_role {
#define LG_ACK_ENUM(name, str) LG_ACK_##name,
	LG_ACK_ROLES(LG_ACK_ENUM)
#undef LG_ACK_ENUM
		LG_ACK_ROLE_COUNT
};

extern const char *const lg_ack_role_name[LG_ACK_ROLE_COUNT];
const char *lg_verdict_name(enum hb_verdict v);

/* Notifies per endpoint are counted up to this; more count here. */
#define LG_NOTIFY_COUNT_MAX 15
/* The notify flags, for the counts by flag. */
#define LG_NOTIFY_FLAGS 3
extern const char *const lg_notify_flag_name[LG_NOTIFY_FLAGS];

struct lg_notify_cfg {
	double late, never; /* fractions of the endpoints, 0..1, late + never <= 1 */
	uint64_t seed;
	uint32_t window, skew; /* the server's time within [now - window, now + skew] */
};

/* What happened to one datagram. */
enum lg_notify_outcome {
	LG_NOTIFY_REFUSED,   /* the verdict says why; never answered */
	LG_NOTIFY_ACK,       /* ack[] to send now */
	LG_NOTIFY_ACK_LATER, /* ack[] to send after the delay */
	LG_NOTIFY_NO_ACK,    /* a never-acking endpoint, or a dead one */
};

struct lg_notify {
	const struct lg_endpoints *set;
	uint64_t *by_slot; /* slot << 32 | index, sorted */
	size_t n_slots;
	uint8_t *role;      /* enum lg_ack_role per endpoint */
	uint8_t *count;     /* notifies accepted per endpoint, up to LG_NOTIFY_COUNT_MAX */
	uint32_t *first_ms; /* when its first came, ms from the start; UINT32_MAX: none */
	uint32_t n_role[LG_ACK_ROLE_COUNT];
	uint32_t window, skew;
	uint32_t dup_slots; /* endpoints left out: another has their slot */
	uint64_t verdict[HB_VERDICT_COUNT];
	uint64_t by_flag[LG_NOTIFY_FLAGS];
	uint64_t outcome[4]; /* by enum lg_notify_outcome */
	uint64_t to_dead;    /* of LG_NOTIFY_NO_ACK: the endpoint had stopped (silent) */
};

/* -EINVAL for fractions outside [0, 1] or summing over 1, -ENOMEM. */
int lg_notify_init(struct lg_notify *nt, const struct lg_endpoints *set,
		   const struct lg_notify_cfg *cfg);
void lg_notify_free(struct lg_notify *nt);
/* The endpoint with this slot, or -1. */
long lg_notify_find(const struct lg_notify *nt, uint32_t slot);

/*
 * One datagram, arrived at `now` (the server's clock as the fleet has it)
 * and `ms` milliseconds after the start. `dead` says whether an endpoint
 * has stopped (the caller's schedule knows): NULL, or called with the
 * endpoint's index. On anything but LG_NOTIFY_REFUSED, *ep is the
 * endpoint and ack[] its notify-ack (type 3, the notify's flags, its own
 * slot, id and time `now`, its MAC); *v is the verdict either way.
 */
enum lg_notify_outcome lg_notify_handle(struct lg_notify *nt, const uint8_t *p, size_t len,
					uint32_t now, uint32_t ms, bool (*dead)(void *, uint32_t),
					void *dead_arg, uint32_t *ep, enum hb_verdict *v,
					uint8_t ack[HB_PAYLOAD_LEN]);

/* Uniform in [0, spread_ns) from 64 random bits (a poll's delay). */
static inline uint64_t lg_jitter_ns(uint64_t rnd, uint64_t spread_ns)
{
	return (uint64_t)(((unsigned __int128)rnd * spread_ns) >> 64);
}

/* ---- the late acks: a FIFO, since every one waits the same delay ---- */

struct lg_late_ack {
	uint64_t due_ns;
	uint32_t sock;
	uint8_t ack[HB_PAYLOAD_LEN];
};

struct lg_ackq {
	struct lg_late_ack *a;
	size_t head, n, cap; /* a ring; grows by doubling */
};

int lg_ackq_push(struct lg_ackq *q, uint64_t due_ns, uint32_t sock,
		 const uint8_t ack[HB_PAYLOAD_LEN]);
/* The oldest, when due at now_ns: copied to *out and removed; else false. */
bool lg_ackq_pop_due(struct lg_ackq *q, uint64_t now_ns, struct lg_late_ack *out);
void lg_ackq_free(struct lg_ackq *q);

/* ---- the report ---- */

struct lg_notify_report {
	uint64_t notified; /* endpoints that received at least one */
	uint64_t refused;  /* datagrams, all reasons */
	/* endpoints of each ack role by how many notifies they received
	 * ([0]: none; [LG_NOTIFY_COUNT_MAX]: that many or more) */
	uint64_t per_ep[LG_ACK_ROLE_COUNT][LG_NOTIFY_COUNT_MAX + 1];
	uint64_t resent; /* notifies beyond each endpoint's first */
	/* each endpoint's first notify, ms after the fleet's first one */
	double first_span_s, first_rate; /* last - first, (notified - 1) / span */
	uint32_t p50_ms, p90_ms, p99_ms, max_ms;
};

/* Fills r; -ENOMEM (the percentiles need a sorted copy). */
int lg_notify_report(const struct lg_notify *nt, struct lg_notify_report *r);

#endif
