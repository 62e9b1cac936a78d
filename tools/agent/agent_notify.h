/*
 * What the reference agent does with one datagram on its notify port
 * (docs/protocol.md §2), free of sockets and clocks so that the unit tests
 * hold it byte for byte: find the endpoint by the slot it names among the
 * state file's, check the datagram with hb_check_notify under that
 * endpoint's key and clock, write the notify-ack, and decide whether and
 * when that endpoint polls. Every refusal is counted by the server's
 * verdict name and never answered.
 */
#ifndef GLOURNET_AGENT_NOTIFY_H
#define GLOURNET_AGENT_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glournet/hb_verdict.h"
#include "glournet/heartbeat.h"
#include "agent.h"

/* The protocol's defaults for the acceptance window (§1): the agent checks
 * the server's time as the server checks the endpoint's. */
#define AGENT_NOTIFY_WINDOW 300
#define AGENT_NOTIFY_SKEW   30
/* A poll after a notify comes uniformly within min(this, poll.interval). */
#define AGENT_POLL_SPREAD_S 30

/* The kinds a notify may carry; one notify may count under several. */
/* clang-format off */
#define AGENT_NOTIFY_KINDS(X)                          \
	X(SETTINGS,   "settings",   HB_FLAG_SETTINGS)   \
	X(COMPONENTS, "components", HB_FLAG_COMPONENTS) \
	X(VERIFY,     "verify",     HB_FLAG_VERIFY)
/* clang-format on */

enum agent_notify_kind {
#define AGENT_KIND_ENUM(name, str, flag) AGENT_KIND_##name,
	AGENT_NOTIFY_KINDS(AGENT_KIND_ENUM)
#undef AGENT_KIND_ENUM
		AGENT_KIND_COUNT
};

extern const char *const agent_notify_kind_name[AGENT_KIND_COUNT];
extern const uint16_t agent_notify_kind_flag[AGENT_KIND_COUNT];
/* hb_verdict_name's table, for a program that does not link the dataplane. */
const char *agent_verdict_name(enum hb_verdict v);

struct agent_notify {
	struct agent_ep *eps; /* not owned; clock_offset is read at each check */
	size_t n;
	uint64_t *by_slot; /* slot << 32 | index, sorted: the demultiplexer */
	size_t n_slots;
	uint32_t window, skew;
	uint64_t verdict[HB_VERDICT_COUNT]; /* [HB_ACCEPTED]: notifies acted on */
	uint64_t kind[AGENT_KIND_COUNT];
};

/* Indexes eps[0..n) by slot. An endpoint whose slot an earlier one already
 * has (two servers' state in one file) is left out and counted in *dups.
 * 0 or -ENOMEM. */
int agent_notify_init(struct agent_notify *nc, struct agent_ep *eps, size_t n, uint32_t window,
		      uint32_t skew, size_t *dups);
void agent_notify_free(struct agent_notify *nc);
/* The index of the endpoint with this slot, or -1. */
long agent_notify_find(const struct agent_notify *nc, uint32_t slot);

/*
 * Checks one datagram (p, len) that arrived at local time `local_now`
 * (time(NULL): each endpoint's estimate of the server's time is local_now
 * plus its clock_offset). HB_ACCEPTED: *idx is the endpoint, *m the
 * notify, and ack[] the notify-ack to send: type 3, the notify's flags,
 * the endpoint's own slot, id and time, its MAC. Otherwise the first check
 * that failed, in the server's order (hb_check_notify; a slot no endpoint
 * has is HB_UNKNOWN_SLOT after the checks before it). Counted either way.
 */
enum hb_verdict agent_notify_check(struct agent_notify *nc, const uint8_t *p, size_t len,
				   int64_t local_now, long *idx, struct hb_msg *m,
				   uint8_t ack[HB_PAYLOAD_LEN]);

/* What an accepted notify asks of its endpoint's polling. */
enum agent_poll_plan {
	AGENT_POLL_NONE,      /* VERIFY (or no flag): the ack is all */
	AGENT_POLL_SCHEDULED, /* SETTINGS or COMPONENTS: poll after *delay_ns */
	AGENT_POLL_PENDING,   /* a poll is already due: it will bring this too */
	AGENT_POLL_FRESH,     /* the last poll answer is newer than the notify */
};

/*
 * The plan for a notify with `flags` sent at server time `notify_time`, to
 * an endpoint whose last 200 poll answer carried server_time `answered_at`
 * (0: none), with `pending` true when a poll is already scheduled.
 * Scheduled polls wait agent_jitter_ns(rnd, spread) with spread
 * min(spread_ns, poll_interval_s seconds when known): a fleet notified
 * within a second does not poll within the same second.
 */
enum agent_poll_plan agent_notify_poll_plan(uint16_t flags, uint32_t notify_time,
					    uint32_t answered_at, bool pending,
					    int64_t poll_interval_s, uint64_t spread_ns,
					    uint64_t rnd, uint64_t *delay_ns);

/* Uniform in [0, spread_ns) from 64 random bits; 0 when spread_ns is 0. */
static inline uint64_t agent_jitter_ns(uint64_t rnd, uint64_t spread_ns)
{
	return (uint64_t)(((unsigned __int128)rnd * spread_ns) >> 64);
}

#endif
