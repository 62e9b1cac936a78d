/*
 * What "one source" is for the per-source limits of the HTTP API (the
 * registration rate, open connections): the client's address cut to a
 * prefix, by default an IPv4 /32 and an IPv6 /64. An IPv6 host is usually
 * given a whole /64, so a per-address limit would be no limit at all.
 * Both families share one 16-byte key space: IPv4 as IPv4-mapped IPv6, so
 * a dual-stack socket's "::ffff:a.b.c.d" and a plain "a.b.c.d" are one
 * source.
 */
#ifndef GLOURNET_SOURCE_KEY_H
#define GLOURNET_SOURCE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SOURCE_V4_PREFIX_DEFAULT 32
#define SOURCE_V6_PREFIX_DEFAULT 64

struct source_prefix {
	uint8_t v4; /* 1..32 */
	uint8_t v6; /* 1..128 */
};

#define SOURCE_PREFIX_DEFAULT \
	((struct source_prefix){SOURCE_V4_PREFIX_DEFAULT, SOURCE_V6_PREFIX_DEFAULT})

struct source_key {
	uint8_t b[16];
};

/* `sa`'s source under `p` (the port never counts). NULL or a family other
 * than IPv4/IPv6: the all-zero key, one shared source. */
struct source_key source_key_of(const struct sockaddr *sa, struct source_prefix p);

/* "192.0.2.0/24", "2001:db8:1:2::/64": for log lines. Returns `buf`. */
#define SOURCE_KEY_TEXT 64
const char *source_key_text(const struct source_key *k, struct source_prefix p,
			    char buf[SOURCE_KEY_TEXT]);

static inline bool source_key_eq(const struct source_key *a, const struct source_key *b)
{
	for (size_t i = 0; i < sizeof(a->b); i++)
		if (a->b[i] != b->b[i])
			return false;
	return true;
}

#endif
