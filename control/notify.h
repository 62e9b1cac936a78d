/*
 * Notify campaigns and connection verification (docs/status.md R11, R12):
 * which endpoints the collector tells of a change or checks, when, at what
 * pace, and what their acks settle. The collector's only traffic of its
 * own toward endpoints, so the one place that decides it.
 *
 * A campaign walks the registry once, in slices (a loop job, loop_job.h),
 * and gives every endpoint it targets a *round*: a notify now, re-sent
 * notify.retries times notify.retry_after apart until an ack settles what
 * it carries. Per endpoint the state is 8 bytes in its registry entry
 * (struct ep_notify) and the notify times in its details; what waits for
 * a send or a re-send sits in two FIFOs of {id, slot, due} (16 bytes an
 * endpoint in flight). All campaigns share one token bucket of
 * notify.rate a second on the monotonic clock.
 *
 * Owned by the control thread, like the registry.
 */
#ifndef GLOURNET_NOTIFY_H
#define GLOURNET_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "control/loop_job.h"
#include "control/policy.h"
#include "control/registry.h"
#include "glournet/heartbeat.h"
#include "glournet/net_addr.h"
#include "glournet/tx.h"

#define NOTIFY_FLAGS_CHANGE (HB_FLAG_SETTINGS | HB_FLAG_COMPONENTS)
#define NOTIFY_FLAGS_ALL    (NOTIFY_FLAGS_CHANGE | HB_FLAG_VERIFY)

/* An ack stamped this many seconds before the round it would answer is
 * taken for a replay of an older one. The endpoint's clock is the
 * server's to within the second its registration or poll answer gave it
 * (server_time is whole seconds), so a true ack may read up to ~1 s
 * early; a replayed one is older than the round by retry_after or more. */
#define NOTIFY_ACK_SLACK 2

/* How many seconds of notify.rate the bucket holds: a loop turn that came
 * late (up to this) still sends its share, and no turn sends more than
 * this in one burst. */
#define NOTIFY_BURST_NS (50ull * 1000 * 1000)

/* Counters for `show stats` (notify): one list gives the enum and names. */
/* clang-format off */
#define NOTIFY_COUNTERS(X)                                                            \
	X(SENT,            "sent")             /* first notify of a round */          \
	X(RESENT,          "resent")           /* a re-send: no ack in time */        \
	X(RECONTACT,       "recontact")        /* a round again at the next contact */ \
	X(RETRY_LATER,     "retry_later")      /* next hop resolving, no mbuf: later, no try spent */ \
	X(TX_FAILED,       "tx_failed")        /* no route, no source address: a try spent */ \
	X(GAVE_UP,         "gave_up")          /* retries spent without an ack */     \
	X(DEFERRED,        "deferred")         /* offline at a campaign: at its next contact */ \
	X(DROPPED,         "dropped")          /* unreachable or no notify address now */ \
	X(ACKED,           "acked")            /* an ack settled a pending flag */    \
	X(ACK_UNSOLICITED, "ack_unsolicited")  /* no notify was ever sent to it */    \
	X(ACK_NOT_PENDING, "ack_not_pending")  /* its flags were not pending */       \
	X(ACK_REPLAY,      "ack_replay")       /* stamped before the round it would answer */ \
	X(ACK_STALE,       "ack_stale")        /* its slot changed hands meanwhile */ \
	X(POLLED,          "polled")           /* SETTINGS/COMPONENTS settled by a poll */ \
	X(SOURCE_CHANGED,  "source_changed")   /* a new source address */             \
	X(SOURCE_SAME,     "source_same")      /* reported again, unchanged */        \
	X(NO_ACK,          "verify_no_ack")    /* verifications that ended without an ack */
/* clang-format on */

enum notify_counter {
#define NOTIFY_COUNTER_ENUM(name, str) NOTIFY_C_##name,
	NOTIFY_COUNTERS(NOTIFY_COUNTER_ENUM)
#undef NOTIFY_COUNTER_ENUM
		NOTIFY_COUNTER_COUNT
};

/* The counters' names (notify_ctl.c). */
const char *notify_counter_name(enum notify_counter c);

enum notify_kind { NOTIFY_CHANGE, NOTIFY_VERIFY, NOTIFY_KINDS };
enum notify_state {
	NOTIFY_NEVER, /* no campaign of the kind yet */
	NOTIFY_RUNNING,
	NOTIFY_DONE,
	NOTIFY_SUPERSEDED,
	NOTIFY_CANCELLED
};

struct notify_campaign {
	uint32_t seq;  /* 1, 2, ...; 0: never started */
	uint8_t kind;  /* enum notify_kind */
	uint8_t state; /* enum notify_state */
	uint16_t flags;
	uint64_t settings_rev;
	char trigger[96];
	uint32_t started, finished; /* Unix seconds; finished 0 while running */
	uint32_t cursor, slots;     /* the walk: next slot, and the slots it covers */
	bool walking;
	bool resume; /* after a restart: only to the endpoints with change flags
		      * pending, each with its own (notify_resume) */
	/* Endpoints: targeted (a round started), deferred (offline: at their
	 * next contact), then how each targeted one ended, and those still in
	 * flight (pending = targeted - acked - polled - gave_up - dropped). */
	uint32_t targeted, deferred, acked, polled, gave_up, dropped, inflight;
	uint64_t sent, resent;      /* notifies */
	uint64_t first_ns, last_ns; /* first and last notify, for its rate */
};

/* A FIFO of endpoints waiting for their next step at `due`. */
struct notify_qent {
	uint64_t id;
	uint32_t slot;
	uint32_t due;
};
struct notify_queue {
	struct notify_qent *e;
	uint32_t head, len, cap; /* cap: a power of two, or 0 */
};

#define NOTIFY_HISTORY 8

/* Per kind, for the metrics (docs/metrics.md, glournet_notify_*): a
 * notify counts for each kind whose flags it carries (change: SETTINGS,
 * COMPONENTS; verify: VERIFY). */
enum notify_kind_counter {
	NOTIFY_K_CAMPAIGNS, /* campaigns started */
	NOTIFY_K_SENT,      /* notifies sent, first sends and re-sends */
	NOTIFY_K_RESENT,    /* re-sends */
	NOTIFY_K_ACKED,     /* acks that settled the kind's flags */
	NOTIFY_K_GAVE_UP,   /* endpoints that did not ack after every re-send */
	NOTIFY_K_COUNT
};

struct notify_engine {
	struct registry *reg;
	struct policy *const *policy;
	const struct tx_handle *tx;
	uint64_t (*clock_ns)(void); /* monotonic; a fake in tests */
	uint64_t credit;            /* the bucket: ns x notify.rate, 1e9 a notify */
	uint64_t refilled_ns;
	/* soon: rounds to start (a recontact, a send to retry shortly);
	 * retry: rounds sent, due for a re-send at the last send + retry_after. */
	struct notify_queue soon, retry;
	struct notify_campaign cur[NOTIFY_KINDS];    /* the running or last one of each kind */
	struct notify_campaign hist[NOTIFY_HISTORY]; /* the last ones that ended, a ring */
	uint32_t nhist;
	uint32_t next_seq;
	uint32_t verify_interval, verify_next; /* as last seen in the policy; next start */
	uint64_t ctr[NOTIFY_COUNTER_COUNT];
	uint64_t by_kind[NOTIFY_KINDS][NOTIFY_K_COUNT];
	struct loop_job_stats stats;
};

/* Wired to the registry, the policy in force and the TX handle (whose ops
 * may be NULL: nothing leaves, every send fails). 0 or -ENOMEM. */
int notify_init(struct notify_engine *e, struct registry *reg, struct policy *const *policy,
		const struct tx_handle *tx, uint32_t now);
void notify_free(struct notify_engine *e);

/* A new policy is in force (daemon_policy_commit): what changed for the
 * endpoints starts a campaign (docs/status.md, "How glournet applies
 * them": manifest settings, heartbeat and poll settings and the ranges are
 * SETTINGS, components COMPONENTS), superseding the running one;
 * notify.enabled off cancels it; a new verify.interval reschedules R12. */
void notify_policy_changed(struct notify_engine *e, const struct policy *old,
			   const struct policy *new, bool ranges_changed, uint32_t now);

/* Starts a change campaign with these flags (NOTIFY_FLAGS_CHANGE bits);
 * false when notify.enabled is off. */
bool notify_start_change(struct notify_engine *e, uint16_t flags, const char *trigger,
			 uint32_t now);
/* Starts a verification campaign now (R12; the loop job does it every
 * verify.interval). False when heartbeat applies to regular endpoints:
 * there is nobody to verify. */
bool notify_start_verify(struct notify_engine *e, uint32_t now);

/* After a restart (persist.c restored the endpoints' pending change flags
 * and source addresses): a change campaign, trigger "restart", that walks
 * the registry like any other but notifies only the endpoints with change
 * flags pending, each with what it has pending, so a campaign a restart
 * interrupted goes on where the endpoints' acks left it. `flags` is the
 * union of what is pending (for show notify). False when nothing is
 * pending or notify.enabled is off (the flags wait for the next contact
 * or campaign). */
bool notify_resume(struct notify_engine *e, uint16_t flags, uint32_t now);

/* Cancels the running campaigns: their walks stop, nothing queued is sent
 * or re-sent. What an endpoint has not acked of a change stays pending
 * and is sent at its next contact (as after its retries); a verification
 * round simply ends. Returns how many campaigns were running. */
unsigned notify_cancel(struct notify_engine *e, uint32_t now);

/* The loop job (loop_job.h): starts verifications when due, then re-sends,
 * rounds to start, and the campaigns' walks, as tokens and the budget
 * allow; flushes the TX batch. */
bool notify_step(void *self, uint32_t now, uint64_t budget_ns);

/* What the workers passed on (drain_worker_events): */
/* an accepted notify-ack from `ep` with `flags`, stamped `time`. */
void notify_on_ack(struct notify_engine *e, struct endpoint *ep, uint16_t flags, uint32_t time,
		   uint32_t now);
/* an accepted heartbeat from `src`, a source its slot's tag did not match. */
void notify_on_source(struct notify_engine *e, struct endpoint *ep, const struct gn_addr *src,
		      uint32_t now);
/* an event whose slot changed hands before it was drained. */
void notify_on_stale_ack(struct notify_engine *e);

/* Contact through HTTP (api_poll.c, api_register.c): its peer address
 * (IPv4-mapped IPv6 as IPv4) becomes the source address (`peer` NULL:
 * unknown; loopback and other special addresses are not taken); a poll
 * settles what
 * is pending of SETTINGS and COMPONENTS (its answer carries all of it);
 * then a round for what is still pending, if it waited for this contact.
 * `e` may be NULL (tests without an engine): the address only. */
enum notify_contact { NOTIFY_CONTACT_POLL, NOTIFY_CONTACT_REGISTER };
struct sockaddr;
void notify_on_contact(struct notify_engine *e, struct registry *r, struct endpoint *ep,
		       const struct sockaddr *peer, enum notify_contact kind, uint32_t now);
/* A socket address as a source address: false for another family. */
bool notify_peer_addr(const struct sockaddr *sa, struct gn_addr *out);

#endif
