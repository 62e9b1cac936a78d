/*
 * What a worker decided about one frame. Every frame ends in exactly one
 * verdict, and every verdict has a counter, so nothing is dropped silently.
 * The order here is the order the CLI shows them in.
 *
 * Each verdict also says where the frame goes next (the third column), so
 * that the worker routes by one table lookup:
 *   OURS    addressed to glournet (UDP to the heartbeat port): recorded,
 *           or dropped for a reason of ours (bad checksum, fragment, bad
 *           MAC...). The kernel never sees these: nothing listens there,
 *           and it would answer with ICMP port unreachable.
 *   KERNEL  not for glournet (ARP, ND, ICMP, TCP to the HTTP port, other
 *           UDP ports, fragments we cannot tell are ours): the exception
 *           path hands them to the kernel (or drops them, by option).
 *   BAD     broken below UDP (truncated, bad IP header or checksum, an
 *           extension-header chain longer than we walk): dropped, as the
 *           kernel would drop them too.
 */
#ifndef GLOURNET_HB_VERDICT_H
#define GLOURNET_HB_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#define HB_VERDICTS(X)                                                                 \
	X(ACCEPTED,        "accepted",        OURS)   /* recorded */                   \
	X(FRAME_SHORT,     "frame_short",     BAD)    /* shorter than its headers say */ \
	X(NOT_IP,          "not_ip",          KERNEL) /* ARP, LLDP, 3+ VLAN tags... */  \
	X(IP_BAD,          "ip_bad",          BAD)    /* version, IHL, length, hop-by-hop not first */ \
	X(IP_CHECKSUM,     "ip_checksum",     BAD)    /* IPv4 header checksum wrong */   \
	X(IP6_EXT_LIMIT,   "ip6_ext_limit",   BAD)    /* more IPv6 ext. headers than we walk */ \
	X(IP6_ROUTED,      "ip6_routed",      KERNEL) /* routing header, segments left: not the final hop */ \
	X(FRAGMENT_OTHER,  "fragment_other",  KERNEL) /* a later fragment, or not UDP to our port */ \
	X(NOT_UDP,         "not_udp",         KERNEL) /* ICMP, TCP, ESP, ... */          \
	X(NOT_OUR_PORT,    "not_our_port",    KERNEL) /* UDP to another port */          \
	X(IP_FRAGMENT,     "ip_fragment",     OURS)   /* first fragment to our port: never reassembled */ \
	X(BAD_LENGTH,      "bad_length",      OURS)   /* UDP payload is not 32 bytes */  \
	X(UDP_CHECKSUM,    "udp_checksum",    OURS)   /* UDP checksum wrong */           \
	X(UDP_NO_CHECKSUM, "udp_no_checksum", OURS)   /* zero UDP checksum over IPv6 */  \
	X(BAD_MAGIC,       "bad_magic",       OURS)                                      \
	X(BAD_VERSION,     "bad_version",     OURS)                                      \
	X(BAD_TYPE,        "bad_type",        OURS)                                      \
	X(BAD_FLAGS,       "bad_flags",       OURS)   /* reserved flag bits set */       \
	X(UNKNOWN_SLOT,    "unknown_slot",    OURS)   /* slot never assigned */          \
	X(ID_MISMATCH,     "id_mismatch",     OURS)   /* slot belongs to another id */   \
	X(BAD_MAC,         "bad_mac",         OURS)                                      \
	X(TOO_OLD,         "too_old",         OURS)   /* time before now - window */     \
	X(TOO_NEW,         "too_new",         OURS)   /* time after now + skew */

enum hb_verdict {
#define HB_VERDICT_ENUM(name, str, route) HB_##name,
	HB_VERDICTS(HB_VERDICT_ENUM)
#undef HB_VERDICT_ENUM
	HB_VERDICT_COUNT
};

enum hb_route { HB_ROUTE_OURS, HB_ROUTE_KERNEL, HB_ROUTE_BAD };

/* One bit per verdict whose frame goes to the kernel: routing is a shift
 * and a mask, no table in memory. */
#define HB_VERDICT_KERNEL_BIT(name, str, route) \
	| (HB_ROUTE_##route == HB_ROUTE_KERNEL ? UINT64_C(1) << HB_##name : 0)
#define HB_VERDICT_KERNEL_MASK (UINT64_C(0) HB_VERDICTS(HB_VERDICT_KERNEL_BIT))
_Static_assert(HB_VERDICT_COUNT <= 64, "the routing masks hold one bit per verdict");

static inline bool hb_verdict_to_kernel(enum hb_verdict v)
{
	return (HB_VERDICT_KERNEL_MASK >> v) & 1;
}

const char *hb_verdict_name(enum hb_verdict v);
enum hb_route hb_verdict_route(enum hb_verdict v);
const char *hb_route_name(enum hb_route r);   /* "ours", "kernel", "bad" */

#endif
