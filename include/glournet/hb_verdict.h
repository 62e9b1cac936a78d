/*
 * What a worker decided about one frame. Every frame ends in exactly one
 * verdict, and every verdict has a counter, so nothing is dropped silently.
 * The order here is the order the CLI shows them in.
 */
#ifndef GLOURNET_HB_VERDICT_H
#define GLOURNET_HB_VERDICT_H

#define HB_VERDICTS(X)                                                     \
	X(ACCEPTED,     "accepted")     /* recorded */                     \
	X(FRAME_SHORT,  "frame_short")  /* shorter than its headers say */ \
	X(NOT_IP,       "not_ip")       /* ARP, LLDP, ... */               \
	X(IP_BAD,       "ip_bad")       /* bad IP header */                \
	X(IP_FRAGMENT,  "ip_fragment")  /* heartbeats are never fragmented */ \
	X(NOT_UDP,      "not_udp")      /* ICMP, TCP, IPv6 ext. headers */ \
	X(NOT_OUR_PORT, "not_our_port") /* UDP to another port */          \
	X(BAD_LENGTH,   "bad_length")   /* UDP payload is not 32 bytes */  \
	X(BAD_MAGIC,    "bad_magic")                                       \
	X(BAD_VERSION,  "bad_version")                                     \
	X(BAD_TYPE,     "bad_type")                                        \
	X(BAD_FLAGS,    "bad_flags")    /* reserved flag bits set */       \
	X(UNKNOWN_SLOT, "unknown_slot") /* slot never assigned */          \
	X(ID_MISMATCH,  "id_mismatch")  /* slot belongs to another id */   \
	X(BAD_MAC,      "bad_mac")                                         \
	X(TOO_OLD,      "too_old")      /* time before now - window */     \
	X(TOO_NEW,      "too_new")      /* time after now + skew */

enum hb_verdict {
#define HB_VERDICT_ENUM(name, str) HB_##name,
	HB_VERDICTS(HB_VERDICT_ENUM)
#undef HB_VERDICT_ENUM
	HB_VERDICT_COUNT
};

const char *hb_verdict_name(enum hb_verdict v);

#endif
