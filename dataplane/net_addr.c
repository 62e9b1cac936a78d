/*
 * Address parsing, formatting and prefix tests (net_addr.h), shared by the
 * option parser, netlink, the route mirror and the control socket views.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "glournet/net_addr.h"

int gn_addr_parse(const char *text, struct gn_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->bytes) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->bytes) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

int gn_prefix_parse(const char *text, int family, struct gn_addr *out, uint8_t *plen)
{
	if (!strcmp(text, "default")) {
		if (family != AF_INET && family != AF_INET6)
			return -EINVAL;
		memset(out, 0, sizeof(*out));
		out->family = (uint8_t)family;
		*plen = 0;
		return 0;
	}
	char buf[GN_ADDR_TEXT_MAX];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (gn_addr_parse(buf, out) < 0 || (family && out->family != family))
		return -EINVAL;
	unsigned max = out->family == AF_INET ? 32 : 128;
	if (!slash) {
		*plen = (uint8_t)max;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || slash[1] == '-' || slash[1] == '+' || v > max)
		return -EINVAL;
	*plen = (uint8_t)v;
	return 0;
}

void gn_prefix_mask(struct gn_addr *a, uint8_t plen)
{
	unsigned len = gn_addr_len(a);
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = i >= len ? 0 : plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
		a->bytes[i] &= (uint8_t)(0xFF00u >> bits);
	}
}

bool gn_prefix_match(const struct gn_addr *a, const struct gn_addr *prefix, uint8_t plen)
{
	if (a->family != prefix->family)
		return false;
	unsigned full = plen / 8, rest = plen % 8;
	if (memcmp(a->bytes, prefix->bytes, full))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xFF00u >> rest);
	return (a->bytes[full] & mask) == (prefix->bytes[full] & mask);
}

const char *gn_addr_format(const struct gn_addr *a, int plen, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, a->bytes, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	if (plen >= 0)
		snprintf(buf, len, "%s/%d", text, plen);
	else
		snprintf(buf, len, "%s", text);
	return buf;
}

bool gn_addr_is_special(const struct gn_addr *a)
{
	static const uint8_t zero[16];
	const uint8_t *b = a->bytes;
	if (a->family == AF_INET)
		return !memcmp(b, zero, 4) || b[0] >= 224 || b[0] == 127;   /* multicast, broadcast */
	if (a->family == AF_INET6)
		return !memcmp(b, zero, 16) || b[0] == 0xFF;              /* unspecified, multicast */
	return true;
}
