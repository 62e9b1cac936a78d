/*
 * An IPv4 or IPv6 address, as the registry keeps an endpoint's addresses
 * and as the exception path, the neighbour table and the TX path pass
 * them around: family plus 16 bytes (IPv4 in the first 4). Parsing and
 * formatting in one place (control/text.c's list parsers build on it).
 */
#ifndef GLOURNET_NET_ADDR_H
#define GLOURNET_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GN_ADDR_TEXT_MAX 64   /* an IPv6 address, "/128" and a NUL fit */

struct gn_addr {
	uint8_t family;       /* AF_INET, AF_INET6; 0: none */
	uint8_t bytes[16];    /* network order; IPv4 in bytes[0..3], the rest 0 */
};

static inline unsigned gn_addr_len(const struct gn_addr *a)
{
	return a->family == 2 /* AF_INET */ ? 4 : 16;
}

static inline bool gn_addr_eq(const struct gn_addr *a, const struct gn_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

/* "198.18.0.1" or "fd00::1": 0, or -EINVAL. */
int gn_addr_parse(const char *text, struct gn_addr *out);
/* "198.18.0.0/24", "fd00::/64", "default" (needs `family`, else -EINVAL)
 * or a bare address (the whole length): 0, or -EINVAL. Host bits are kept
 * (an interface address is ADDR/LEN); gn_prefix_mask clears them. */
int gn_prefix_parse(const char *text, int family, struct gn_addr *out, uint8_t *plen);
void gn_prefix_mask(struct gn_addr *a, uint8_t plen);
/* Whether the first `plen` bits of a and prefix agree (same family). */
bool gn_prefix_match(const struct gn_addr *a, const struct gn_addr *prefix, uint8_t plen);
/* Writes the address (and "/plen" when plen >= 0) into buf; returns buf. */
const char *gn_addr_format(const struct gn_addr *a, int plen, char *buf, size_t len);
/* Unspecified, multicast, broadcast or loopback: never a neighbour we
 * learn from a frame's source address. */
bool gn_addr_is_special(const struct gn_addr *a);

#endif
