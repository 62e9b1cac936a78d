/*
 * A client address cut to its source prefix (source_key.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "control/source_key.h"

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Keeps the first `bits` bits of b[from..16), zeroes the rest. */
static void cut(uint8_t b[16], unsigned from, unsigned bits)
{
	for (unsigned i = from; i < 16; i++) {
		unsigned have = (i - from) * 8;
		if (have >= bits)
			b[i] = 0;
		else if (bits - have < 8)
			b[i] &= (uint8_t)(0xff00u >> (bits - have));
	}
}

struct source_key source_key_of(const struct sockaddr *sa, struct source_prefix p)
{
	struct source_key k;
	memset(&k, 0, sizeof(k));
	if (!sa)
		return k;
	if (sa->sa_family == AF_INET) {
		memcpy(k.b, v4_mapped, sizeof(v4_mapped));
		memcpy(k.b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(k.b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return k;
	}
	/* A mapped address is IPv4, whichever socket saw it. */
	if (!memcmp(k.b, v4_mapped, sizeof(v4_mapped)))
		cut(k.b, 12, p.v4);
	else
		cut(k.b, 0, p.v6);
	return k;
}

const char *source_key_text(const struct source_key *k, struct source_prefix p,
			    char buf[SOURCE_KEY_TEXT])
{
	char a[INET6_ADDRSTRLEN];
	if (!memcmp(k->b, v4_mapped, sizeof(v4_mapped))) {
		inet_ntop(AF_INET, k->b + 12, a, sizeof(a));
		snprintf(buf, SOURCE_KEY_TEXT, "%s/%u", a, p.v4);
	} else {
		inet_ntop(AF_INET6, k->b, a, sizeof(a));
		snprintf(buf, SOURCE_KEY_TEXT, "%s/%u", a, p.v6);
	}
	return buf;
}
