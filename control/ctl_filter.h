/*
 * Which clients a fleet query (show clients, show counts, remove client)
 * is about: the filter options, read once, and the test of one endpoint
 * against them; and the one JSON line that describes a client in a
 * query's stream. Below the query job (ctl_clients.c) and remove, which
 * both use it.
 */
#ifndef GLOURNET_CTL_FILTER_H
#define GLOURNET_CTL_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/ctl_args.h"
#include "control/ranges.h"

struct gn_daemon;
struct endpoint;

/* The filter options, in the order help lists them (ctl_clients.c's
 * option tables start with these). */
/* clang-format off */
#define CTL_FILTER_OPTS                                                                    \
	{"--status", "STATUS[,STATUS]", "@statuses", "with one of these statuses"},         \
	{"--unreachable", NULL, NULL, "in the unreachable network (R1)"},                   \
	{"--reachable", NULL, NULL, "not in the unreachable network"},                      \
	{"--range", "SPEC", NULL, "counted under this unreachable range (as range list "    \
	 "writes it)"},                                                                     \
	{"--reason", "REASON[,REASON]", "@reasons", "whose status has one of these "       \
	 "reasons"},                                                                        \
	{"--not-seen-since", "DURATION|TIME", NULL, "no contact since then: 30m, 7d (ago), " \
	 "2025-01-31, 2025-01-31T12:00:00Z or @UNIX; never seen included"},                 \
	{"--never-seen", NULL, NULL, "never made contact"},                                 \
	{"--guid", "PATTERN", NULL, "guid matches the glob PATTERN (*, ?, [...])"},         \
	{"--hostname", "PATTERN", NULL, "hostname matches the glob PATTERN"}
/* clang-format on */

struct ctl_filter {
	unsigned given;     /* how many filter options there were */
	uint8_t statuses;   /* bit per enum ep_status; 0: any */
	uint32_t reasons;   /* bit per enum ep_reason; 0: any */
	int8_t unreachable; /* -1: any; 0 or 1 */
	bool has_range;
	struct range_entry range; /* --range, parsed */
	int32_t range_index;      /* its index in the policy of range_rev; -1: not there */
	uint64_t range_rev;
	uint8_t range_gen; /* the registry's range set then: an endpoint the
			    * reclassification has not reached matches no range */
	bool has_seen_before;
	uint32_t seen_before; /* --not-seen-since: last contact before this */
	bool never_seen;
	char *guid_glob, *host_glob;
};

/* An empty filter (matches every client). */
void ctl_filter_init(struct ctl_filter *f);
void ctl_filter_free(struct ctl_filter *f);

/* Takes one option of CTL_FILTER_OPTS: 1 when it was one (and good), 0 when
 * it is another option, -EINVAL with the reason in err ("usage: ..." for a
 * malformed value), -ENOMEM. `now` anchors --not-seen-since DURATION. */
int ctl_filter_take(struct ctl_filter *f, const struct ctl_arg *a, const struct gn_daemon *d,
		    uint32_t now, char *err, size_t errlen);

/* Brings --range's index up to date with the policy in force (the ranges
 * may change while a query runs). False when the range is no longer one of
 * them: nothing can match it. */
bool ctl_filter_refresh(struct ctl_filter *f, const struct gn_daemon *d);

/* Whether the endpoint (slot in use) passes every filter given;
 * ctl_filter_refresh first. `last_contact` as registry_last_contact. */
bool ctl_filter_match(const struct ctl_filter *f, const struct endpoint *ep, uint32_t last_contact);

/* Writes the filter back as its options (for answers and previews). */
void ctl_filter_describe(const struct ctl_filter *f, char *buf, size_t len);

/* {"client": {"id", "guid", "hostname", "status", "reason", "unreachable",
 * "range", "last_contact", "last_heartbeat", "last_poll", "status_since",
 * "registered", "slot", "ips"}} for one endpoint, without newline (`key`
 * instead of "client" when not NULL). Returns the length as snprintf does
 * (a larger buffer is needed when that is `cap` or more). */
size_t ctl_client_line(char *buf, size_t cap, const struct gn_daemon *d, const struct endpoint *ep,
		       const char *key);
/* Room for any client line: guid, hostname and 16 addresses, escaped. */
#define CTL_CLIENT_LINE_MAX 4096

#endif
