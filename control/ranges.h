/*
 * The unreachable network (docs/status.md R1, setting `unreachable`): entries
 * parsed and formatted as operators write them, and an immutable matcher
 * built once per policy snapshot, so registration and poll can ask "is one
 * of this endpoint's addresses in it?" without a scan and without a lock.
 *
 * What range_parse accepts, and why:
 *   a.b.c.d-e.f.g.h  IPv4 range, both ends inclusive (spaces around '-' are
 *                    allowed); the end must not be below the start.
 *   a.b.c.d          one IPv4 address: the range a.b.c.d-a.b.c.d.
 *   a.b.c.d/len      convenience (len 0..32), because operators copy CIDR
 *                    from other tools; stored as the equivalent range and
 *                    formatted back as one. Host bits set: rejected, as for
 *                    IPv6, since a stray bit is a typo more often than not.
 *   p::/len          IPv6 prefix, len 0..128, no host bits set (the message
 *                    names the prefix that was probably meant).
 * Octets are decimal 0..255 without leading zeros: "010" is 8 to inet_aton
 * and 10 to a reader, so it is refused rather than guessed.
 * Refused on purpose: an IPv6 address without /len (a forgotten /32 would
 * silently shrink to one address: write /128), an IPv6 range with '-', and
 * any IPv6 prefix inside ::ffff:0:0/96 (IPv4-mapped addresses are matched as
 * IPv4, so it could never match; the message gives the IPv4 range to write).
 *
 * Matching: an IPv4 address against IPv4 entries, an IPv6 address against
 * IPv6 entries. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4
 * address a.b.c.d: it matches IPv4 entries only, never an IPv6 prefix, not
 * even ::/0. IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96) addresses
 * are plain IPv6. Where entries overlap, an address belongs to the smallest
 * covering entry (fewest addresses), ties to the one added first, so
 * per-range counts stay meaningful when a specific range sits inside a
 * broad one.
 */
#ifndef GLOURNET_RANGES_H
#define GLOURNET_RANGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h> /* AF_INET, AF_INET6 for callers */

#define RANGES_MAX 10000
/* Room for any range_format() output and its NUL ("ffff:...:ffff/128"). */
#define RANGE_TEXT_MAX 64

struct range_entry {            /* as configured */
	uint8_t family;         /* AF_INET or AF_INET6 */
	uint8_t prefix_len;     /* AF_INET6 only; 0 for AF_INET */
	uint8_t lo[16], hi[16]; /* network byte order; IPv4 in the first 4 bytes */
};
struct range_set; /* immutable once built; opaque */

/*
 * Parses one entry as written by an operator. 0, or -EINVAL with a message
 * in `err` naming the input and what is expected. `out` is fully written
 * (unused bytes zero) on success, untouched on failure. `err` may be NULL.
 */
int range_parse(const char *text, struct range_entry *out, char *err, size_t errlen);
/*
 * Formats as an operator writes it: "10.0.0.0-10.0.255.255" or
 * "2001:db8::/32". IPv4 is always written as a range (one address too),
 * so every IPv4 entry reads the same way. Truncates to `len`, NUL included.
 */
void range_format(const struct range_entry *e, char *buf, size_t len);
/*
 * Builds an immutable matcher from n entries (copied). NULL on allocation
 * failure, n > RANGES_MAX, or n > 0 with entries NULL. n may be 0. Matching
 * uses lo..hi for both families (prefix_len is for display). An entry of an
 * unknown family or with lo above hi is kept (count, entry, find) but never
 * matches. O(n log n). Safe to share between threads once built.
 */
struct range_set *range_set_build(const struct range_entry *entries, size_t n);
void range_set_free(struct range_set *s);
/* NULL counts as the empty set. */
size_t range_set_count(const struct range_set *s);
/* The i-th entry as given to build, or NULL when i is out of range. */
const struct range_entry *range_set_entry(const struct range_set *s, size_t i);
/*
 * Index of the entry an address is attributed to, or -1. `family` AF_INET
 * (4 bytes) or AF_INET6 (16 bytes); any other family is -1. O(log n).
 */
int range_set_match(const struct range_set *s, int family, const uint8_t *addr);
/*
 * Finds an entry equal to `e` (same family, lo, hi; the first one when
 * several are), or -1: for removal by spec. Compares 4 bytes for AF_INET.
 */
int range_set_find(const struct range_set *s, const struct range_entry *e);

#endif
