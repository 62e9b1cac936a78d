/*
 * An endpoint's status, the reason it has it and why it left the registry:
 * each one list that gives the enum and the names the CLI, the store, the
 * feed and the bulk files use. Its own room, below the registry and the
 * transition feed, so both name states without calling into each other.
 */
#ifndef GLOURNET_EP_NAMES_H
#define GLOURNET_EP_NAMES_H

/* R7: the four status names; unreachable = in the unreachable network. */
/* clang-format off */
#define EP_STATUSES(X)                              \
	X(ONLINE,          "online")                \
	X(OFFLINE,         "offline")               \
	X(UNREACH_ONLINE,  "unreachable/online")    \
	X(UNREACH_OFFLINE, "unreachable/offline")
/* clang-format on */

/* Why an endpoint's status is what it is (and why a transition happened). */
/* clang-format off */
#define EP_REASONS(X)                                                    \
	X(REGISTERED,   "registered")   /* registration is contact (R4) */  \
	X(HEARTBEAT,    "heartbeat")    /* R3 */                            \
	X(POLL,         "poll")         /* R3 */                            \
	X(EVENT,        "event")        /* R5, regular endpoints only */    \
	X(NO_CONTACT,   "no-contact")   /* R6 */                            \
	X(SHUTDOWN,     "shutdown")     /* R6 */                            \
	X(UNREACHABLE,  "unreachable")  /* R4: heartbeat does not apply */  \
	X(RECLASSIFIED, "reclassified") /* R1: the ranges changed */        \
	X(NO_ACK,       "no-ack")       /* R12: verified, never acked */
/* clang-format on */

/* Why an endpoint left the registry. */
/* clang-format off */
#define EP_REMOVALS(X)              \
	X(OPERATOR, "operator")     \
	X(EXPIRED,  "expired")
/* clang-format on */

enum ep_status {
#define EP_STATUS_ENUM(name, str) EP_##name,
	EP_STATUSES(EP_STATUS_ENUM)
#undef EP_STATUS_ENUM
		EP_STATUS_COUNT
};

enum ep_reason {
#define EP_REASON_ENUM(name, str) EP_REASON_##name,
	EP_REASONS(EP_REASON_ENUM)
#undef EP_REASON_ENUM
		EP_REASON_COUNT
};

enum ep_removal {
#define EP_REMOVAL_ENUM(name, str) EP_REMOVED_##name,
	EP_REMOVALS(EP_REMOVAL_ENUM)
#undef EP_REMOVAL_ENUM
		EP_REMOVAL_COUNT
};

/* "unknown" for a value outside the list. */
const char *ep_status_name(enum ep_status st);
const char *ep_reason_name(enum ep_reason reason);
const char *ep_removal_name(enum ep_removal cause);

#endif
