/*
 * The rules for text that comes from outside (HTTP bodies and headers,
 * bulk files, the policy file, the store's columns), each written once so
 * that every door checks the same way: UTF-8, docs/protocol.md §3's
 * "printable", hex, IP addresses and lists of them, and the guid. Below
 * every module that parses input; it knows no endpoint, no policy.
 */
#ifndef GLOURNET_TEXT_H
#define GLOURNET_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glournet/net_addr.h"

#define TEXT_GUID_MAX     64  /* bytes (docs/protocol.md §3) */
#define TEXT_HOSTNAME_MAX 255 /* bytes */

/* RFC 3629 UTF-8 in s[0, n): no overlong forms, no surrogates, nothing
 * past U+10FFFF, nothing cut short. */
bool text_utf8_valid(const char *s, size_t n);

/* The offset of the first control character (C0 or DEL) in s[0, n) that
 * `allowed` (NULL: none) does not list; n when there is none. NUL is never
 * allowed. */
size_t text_control_at(const char *s, size_t n, const char *allowed);

/* The offset of the first character of s[0, n) that could drive or
 * reorder a terminal (glournet/text_safe.h: C0, DEL, C1, bidi controls);
 * n when there is none. Invalid UTF-8 is not its concern. */
size_t text_unsafe_at(const char *s, size_t n);

/* docs/protocol.md §3's "printable": valid UTF-8 without control
 * characters (C0, DEL, C1) or bidi controls. */
static inline bool text_printable(const char *s, size_t n)
{
	return text_unsafe_at(s, n) == n && text_utf8_valid(s, n);
}

/* What registration answers for a guid or hostname with a character
 * text_unsafe_at finds (to follow "guid: " or "hostname: "). */
#define TEXT_UNSAFE_PHRASE                                                                     \
	"must not contain control characters (C0, DEL, C1) or bidi controls (U+061C, U+200E, " \
	"U+200F, U+202A..U+202E, U+2066..U+2069)"

/* NULL when s[0, n) is a guid a new endpoint may have: 1..TEXT_GUID_MAX
 * bytes, printable, no space (the control socket's arguments and the
 * agents' state files are separated by spaces). Otherwise why not, as a
 * phrase to follow "guid: ". Registration and import both ask here. */
const char *text_guid_problem(const char *s, size_t n);

/* docs/protocol.md writes ids and keys in lowercase; the auth headers have
 * always been read in either case. */
enum text_hex_case { TEXT_HEX_LOWER, TEXT_HEX_ANY_CASE };

/* Exactly 2 * `bytes` hex digits in s[0, n) into out[0, bytes): 0, or
 * -EINVAL (out may be partly written). */
int text_hex_decode(const char *s, size_t n, uint8_t *out, size_t bytes, enum text_hex_case c);

/* A socket's address as text, an IPv4 client of a dual-stack listener as
 * IPv4 (not ::ffff:a.b.c.d); "?" when there is none or it cannot be
 * written. Returns buf. */
struct sockaddr;
const char *text_sockaddr(const struct sockaddr *sa, char *buf, size_t len);

/* One address, exactly s[0, n) (no blanks, no prefix length): IPv4 dotted
 * quad or IPv6 text. 0, or -EINVAL. */
int text_parse_addr(const char *s, size_t n, struct gn_addr *out);

/* The next item of a list in s[0, n) whose items are separated by any of
 * `seps` (runs of them count as one): returns its start and sets *len,
 * moving *pos past it; returns NULL at the end of the list. Start with
 * *pos = 0. */
const char *text_list_next(const char *s, size_t n, const char *seps, size_t *pos, size_t *len);

/* "ip,ip, ip": X-Glournet-Ips (docs/protocol.md §3) and the store's column.
 * Spaces around an item are ignored, empty items skipped. 0 with at most
 * `max` addresses in out[0, *n), or -EINVAL (an item that is no address,
 * or more than `max`). */
int text_parse_ips(const char *list, struct gn_addr *out, unsigned max, unsigned *n);

#endif
