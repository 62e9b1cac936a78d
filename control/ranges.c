/*
 * The unreachable-network set (docs/status.md R1). Up to RANGES_MAX entries may
 * overlap and nest, and every registration and poll asks about each of an
 * endpoint's addresses, so a scan per address is out. range_set_build cuts
 * each family's address line into disjoint elementary segments at every
 * entry boundary and settles, once, which entry owns each segment (the
 * smallest cover, ties to the earliest); range_set_match is then one binary
 * search. IPv4 keys are uint32_t, IPv6 keys unsigned __int128.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ranges.h"
#include "control/text.h"

__extension__ typedef unsigned __int128 u128;

#define V4_MAX ((u128)UINT32_MAX)
#define V6_MAX (~(u128)0)

/* Segment i covers [start[i], start[i + 1]); start[0] is 0, so every key lands in one. */
struct seg_table {
	size_t n;
	void *start;    /* uint32_t[n] for IPv4, u128[n] for IPv6 */
	int32_t *owner; /* entry index, or -1 */
};

struct range_set {
	size_t n;
	struct range_entry *entries;
	struct seg_table v4, v6;
};

/* ---------------- keys ---------------- */

static u128 key_of(const uint8_t *b, size_t width)
{
	u128 k = 0;
	for (size_t i = 0; i < width; i++)
		k = (k << 8) | b[i];
	return k;
}

static void key_put(u128 k, uint8_t *b, size_t width)
{
	for (size_t i = width; i-- > 0; k >>= 8)
		b[i] = (uint8_t)k;
}

/* The mask of the first `len` bits of a `width`-byte address. */
static u128 prefix_mask(unsigned len, size_t width)
{
	unsigned bits = (unsigned)width * 8;
	u128 all = width == 16 ? V6_MAX : V4_MAX;
	return len == 0 ? 0 : all & ~(((u128)1 << (bits - len)) - 1) & all;
}

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* ---------------- parsing ---------------- */

static const char expect_v4[] =
	"expected an IPv4 range a.b.c.d-e.f.g.h, one address a.b.c.d or a.b.c.d/len, "
	"octets 0..255";
static const char expect_v6[] = "expected an IPv6 prefix p::/len, len 0..128";
static const char expect_any[] = "expected an IPv4 range a.b.c.d-e.f.g.h or an IPv6 prefix p::/len";

/*
 * Writes `"input": what; expected ...`. The input is shown trimmed,
 * shortened and with control bytes replaced, because it ends up in logs
 * and in the control socket's JSON.
 */
__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, const char *input,
						      const char *fmt, ...)
{
	if (!err || errlen == 0)
		return -EINVAL;
	char shown[84];
	size_t i = 0;
	for (; input[i] && i < 80; i++)
		shown[i] = isprint((unsigned char)input[i]) ? input[i] : '?';
	if (input[i]) {
		memcpy(shown + 77, "...", 3);
		i = 80;
	}
	shown[i] = '\0';
	int k = snprintf(err, errlen, "\"%s\": ", shown);
	if (k >= 0 && (size_t)k < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Strict dotted quad. 0, or -EINVAL with the reason (no "expected" tail) in `why`. */
static int parse_v4(const char *s, uint8_t out[4], char *why, size_t wl)
{
	const char *p = s;
	if (*s == '\0') {
		snprintf(why, wl, "no address");
		return -EINVAL;
	}
	for (int i = 0; i < 4; i++) {
		const char *start = p;
		unsigned v = 0;
		while (*p >= '0' && *p <= '9') {
			if (p - start < 4)
				v = v * 10 + (unsigned)(*p - '0');
			p++;
		}
		int nd = (int)(p - start);
		if (nd == 0) {
			if (*p == '.' || *p == '\0')
				snprintf(why, wl, "%s has an empty octet", s);
			else
				snprintf(why, wl, "unexpected character '%c' in %s", *p, s);
			return -EINVAL;
		}
		if (nd > 3 || v > 255) {
			snprintf(why, wl, "bad octet %.*s in %s", nd, start, s);
			return -EINVAL;
		}
		if (nd > 1 && *start == '0') {
			snprintf(why, wl,
				 "octet %.*s in %s has a leading zero (octal to some tools); "
				 "write %u",
				 nd, start, s, v);
			return -EINVAL;
		}
		out[i] = (uint8_t)v;
		if (i < 3) {
			if (*p == '\0') {
				snprintf(why, wl, "%s has %d octets, an IPv4 address has 4", s,
					 i + 1);
				return -EINVAL;
			}
			if (*p != '.') {
				snprintf(why, wl, "unexpected character '%c' in %s", *p, s);
				return -EINVAL;
			}
			p++;
		}
	}
	if (*p == '.') {
		snprintf(why, wl, "%s has more than 4 octets", s);
		return -EINVAL;
	}
	if (*p != '\0') {
		snprintf(why, wl, "unexpected character '%c' in %s", *p, s);
		return -EINVAL;
	}
	return 0;
}

static int parse_len(const char *s, unsigned max, unsigned *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 3 || strspn(s, "0123456789") != n)
		return -EINVAL;
	unsigned v = (unsigned)atoi(s);
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static void fill(struct range_entry *e, int family, unsigned plen, u128 lo, u128 hi)
{
	size_t w = family == AF_INET ? 4 : 16;
	memset(e, 0, sizeof(*e));
	e->family = (uint8_t)family;
	e->prefix_len = family == AF_INET6 ? (uint8_t)plen : 0;
	key_put(lo, e->lo, w);
	key_put(hi, e->hi, w);
}

static int parse_v6_text(const char *input, char *s, struct range_entry *out, char *err,
			 size_t errlen)
{
	if (strchr(s, '-'))
		return fail(err, errlen, input, "IPv6 takes a prefix, not a range with '-'; %s",
			    expect_v6);
	char *slash = strchr(s, '/');
	if (!slash)
		return fail(err, errlen, input,
			    "no prefix length (write /128 for one address); "
			    "%s",
			    expect_v6);
	*slash = '\0';
	const char *lentext = slash + 1;
	struct gn_addr addr;
	if (text_parse_addr(s, strlen(s), &addr) < 0 || addr.family != AF_INET6)
		return fail(err, errlen, input, "%s is not an IPv6 address; %s", s, expect_v6);
	const uint8_t *a = addr.bytes;
	unsigned len;
	if (parse_len(lentext, 128, &len) < 0)
		return fail(err, errlen, input, "prefix length \"%s\" is not 0..128; %s", lentext,
			    expect_v6);

	u128 lo = key_of(a, 16), mask = prefix_mask(len, 16);
	if (lo & ~mask) {
		char net[INET6_ADDRSTRLEN];
		uint8_t b[16];
		key_put(lo & mask, b, 16);
		inet_ntop(AF_INET6, b, net, sizeof(net));
		return fail(err, errlen, input,
			    "host bits are set after /%u; the prefix would be "
			    "%s/%u",
			    len, net, len);
	}
	if (len >= 96 && memcmp(a, mapped_prefix, sizeof(mapped_prefix)) == 0) {
		char v4lo[INET_ADDRSTRLEN], v4hi[INET_ADDRSTRLEN];
		uint8_t b[4];
		inet_ntop(AF_INET, a + 12, v4lo, sizeof(v4lo));
		key_put((lo | ~mask) & V4_MAX, b, 4);
		inet_ntop(AF_INET, b, v4hi, sizeof(v4hi));
		return fail(err, errlen, input,
			    "IPv4-mapped addresses (::ffff:0:0/96) are matched "
			    "as IPv4 and never against an IPv6 prefix; write the IPv4 range %s-%s",
			    v4lo, v4hi);
	}
	fill(out, AF_INET6, len, lo, lo | (~mask));
	return 0;
}

static int parse_v4_text(const char *input, char *s, struct range_entry *out, char *err,
			 size_t errlen)
{
	char why[160];
	uint8_t a[4], b[4];
	char *dash = strchr(s, '-'), *slash = strchr(s, '/');

	if (dash && slash)
		return fail(err, errlen, input, "mixes a range '-' and a prefix '/'; %s",
			    expect_v4);
	if (slash) {
		*slash = '\0';
		unsigned len;
		if (parse_v4(s, a, why, sizeof(why)) < 0)
			return fail(err, errlen, input, "%s; %s", why, expect_v4);
		if (parse_len(slash + 1, 32, &len) < 0)
			return fail(err, errlen, input, "prefix length \"%s\" is not 0..32; %s",
				    slash + 1, expect_v4);
		u128 lo = key_of(a, 4), mask = prefix_mask(len, 4);
		if (lo & ~mask) {
			char net[INET_ADDRSTRLEN], last[INET_ADDRSTRLEN];
			key_put(lo & mask, b, 4);
			inet_ntop(AF_INET, b, net, sizeof(net));
			key_put((lo | ~mask) & V4_MAX, b, 4);
			inet_ntop(AF_INET, b, last, sizeof(last));
			return fail(err, errlen, input,
				    "host bits are set after /%u; the range would "
				    "be %s/%u (%s-%s)",
				    len, net, len, net, last);
		}
		fill(out, AF_INET, 0, lo, (lo | ~mask) & V4_MAX);
		return 0;
	}
	if (!dash) {
		if (parse_v4(s, a, why, sizeof(why)) < 0)
			return fail(err, errlen, input, "%s; %s", why, expect_v4);
		fill(out, AF_INET, 0, key_of(a, 4), key_of(a, 4));
		return 0;
	}
	*dash = '\0';
	char *first = trim(s), *last = trim(dash + 1);
	if (!*first || !*last)
		return fail(err, errlen, input, "the range has no %s; %s", *first ? "end" : "start",
			    expect_v4);
	if (strchr(last, '-'))
		return fail(err, errlen, input, "more than one '-'; %s", expect_v4);
	if (parse_v4(first, a, why, sizeof(why)) < 0 || parse_v4(last, b, why, sizeof(why)) < 0)
		return fail(err, errlen, input, "%s; %s", why, expect_v4);
	u128 lo = key_of(a, 4), hi = key_of(b, 4);
	if (lo > hi)
		return fail(err, errlen, input,
			    "reversed: the start %s is above the end %s; "
			    "write %s-%s",
			    first, last, last, first);
	fill(out, AF_INET, 0, lo, hi);
	return 0;
}

int range_parse(const char *text, struct range_entry *out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!text)
		return fail(err, errlen, "", "no range given; %s", expect_any);
	char buf[128];
	while (isspace((unsigned char)*text))
		text++;
	if (strlen(text) >= sizeof(buf))
		return fail(err, errlen, text, "too long for an address range; %s", expect_any);
	strcpy(buf, text);
	char *s = trim(buf);
	/* The trimmed copy is what the operator meant to say: name that. */
	char input[sizeof(buf)];
	strcpy(input, s);

	if (*s == '\0')
		return fail(err, errlen, input, "empty; %s", expect_any);
	size_t bad = strspn(s, "0123456789abcdefABCDEF.:/- \t");
	if (s[bad])
		return fail(err, errlen, input, "unexpected character '%c'; %s",
			    isprint((unsigned char)s[bad]) ? s[bad] : '?', expect_any);

	struct range_entry e;
	int rc = strchr(s, ':') ? parse_v6_text(input, s, &e, err, errlen)
				: parse_v4_text(input, s, &e, err, errlen);
	if (rc == 0)
		*out = e;
	return rc;
}

void range_format(const struct range_entry *e, char *buf, size_t len)
{
	if (!buf || len == 0)
		return;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	if (e->family == AF_INET) {
		inet_ntop(AF_INET, e->lo, a, sizeof(a));
		inet_ntop(AF_INET, e->hi, b, sizeof(b));
		snprintf(buf, len, "%s-%s", a, b);
	} else if (e->family == AF_INET6) {
		inet_ntop(AF_INET6, e->lo, a, sizeof(a));
		snprintf(buf, len, "%s/%u", a, e->prefix_len);
	} else {
		snprintf(buf, len, "(family %u)", e->family);
	}
}

/* ---------------- building ---------------- */

struct item {
	u128 lo, hi, span; /* span = hi - lo: fewer addresses, smaller span */
	int32_t idx;
};

static int cmp_u128(const void *a, const void *b)
{
	u128 x = *(const u128 *)a, y = *(const u128 *)b;
	return (x > y) - (x < y);
}

static int cmp_item_lo(const void *a, const void *b)
{
	return cmp_u128(&((const struct item *)a)->lo, &((const struct item *)b)->lo);
}

/* Heap order: the smaller entry first, then the one added first. */
static bool item_before(const struct item *x, const struct item *y)
{
	return x->span < y->span || (x->span == y->span && x->idx < y->idx);
}

static void heap_push(int32_t *heap, size_t *n, const struct item *it, int32_t v)
{
	size_t i = (*n)++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!item_before(&it[v], &it[heap[parent]]))
			break;
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = v;
}

static void heap_pop(int32_t *heap, size_t *n, const struct item *it)
{
	int32_t v = heap[--(*n)];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && item_before(&it[heap[c + 1]], &it[heap[c]]))
			c++;
		if (!item_before(&it[heap[c]], &it[v]))
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (*n > 0)
		heap[i] = v;
}

/*
 * Sweeps the boundaries in order, keeping the entries that cover the
 * current point in a heap (expired ones are dropped lazily when they reach
 * the top), so each segment's owner is the heap's top: O(n log n).
 */
static int build_family(const struct range_entry *entries, size_t n, int family,
			struct seg_table *t)
{
	size_t w = family == AF_INET ? 4 : 16;
	u128 max = family == AF_INET ? V4_MAX : V6_MAX;
	struct item *items = malloc((n ? n : 1) * sizeof(*items));
	u128 *points = malloc((2 * n + 1) * sizeof(*points));
	int32_t *heap = malloc((n ? n : 1) * sizeof(*heap));
	u128 *starts = malloc((2 * n + 1) * sizeof(*starts));
	int32_t *owner = malloc((2 * n + 1) * sizeof(*owner));
	int rc = -ENOMEM;
	if (!items || !points || !heap || !starts || !owner)
		goto out;

	size_t m = 0, np = 0;
	points[np++] = 0;
	for (size_t i = 0; i < n; i++) {
		if (entries[i].family != family)
			continue;
		u128 lo = key_of(entries[i].lo, w), hi = key_of(entries[i].hi, w);
		if (lo > hi)
			continue;
		items[m++] = (struct item){.lo = lo, .hi = hi, .span = hi - lo, .idx = (int32_t)i};
		points[np++] = lo;
		if (hi != max)
			points[np++] = hi + 1;
	}
	qsort(points, np, sizeof(*points), cmp_u128);
	qsort(items, m, sizeof(*items), cmp_item_lo);

	size_t nseg = 0, next = 0, nheap = 0;
	for (size_t k = 0; k < np; k++) {
		u128 p = points[k];
		if (k > 0 && p == points[k - 1])
			continue;
		while (next < m && items[next].lo <= p)
			heap_push(heap, &nheap, items, (int32_t)next++);
		while (nheap > 0 && items[heap[0]].hi < p)
			heap_pop(heap, &nheap, items);
		int32_t o = nheap ? items[heap[0]].idx : -1;
		if (nseg > 0 && owner[nseg - 1] == o)
			continue; /* same owner: one longer segment */
		starts[nseg] = p;
		owner[nseg++] = o;
	}

	t->n = nseg;
	t->owner = owner;
	owner = NULL;
	if (family == AF_INET) {
		/* Narrow keys: a quarter of the cache footprint for the common family. */
		uint32_t *s4 = malloc(nseg * sizeof(*s4));
		if (!s4)
			goto out;
		for (size_t i = 0; i < nseg; i++)
			s4[i] = (uint32_t)starts[i];
		t->start = s4;
	} else {
		t->start = starts;
		starts = NULL;
	}
	rc = 0;
out:
	free(items);
	free(points);
	free(heap);
	free(starts);
	free(owner);
	return rc;
}

struct range_set *range_set_build(const struct range_entry *entries, size_t n)
{
	if (n > RANGES_MAX || (n > 0 && !entries))
		return NULL;
	struct range_set *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->n = n;
	if (n > 0) {
		s->entries = malloc(n * sizeof(*s->entries));
		if (!s->entries)
			goto fail;
		memcpy(s->entries, entries, n * sizeof(*s->entries));
	}
	if (build_family(s->entries, n, AF_INET, &s->v4) < 0 ||
	    build_family(s->entries, n, AF_INET6, &s->v6) < 0)
		goto fail;
	return s;
fail:
	range_set_free(s);
	return NULL;
}

void range_set_free(struct range_set *s)
{
	if (!s)
		return;
	free(s->entries);
	free(s->v4.start);
	free(s->v4.owner);
	free(s->v6.start);
	free(s->v6.owner);
	free(s);
}

size_t range_set_count(const struct range_set *s)
{
	return s ? s->n : 0;
}

const struct range_entry *range_set_entry(const struct range_set *s, size_t i)
{
	return s && i < s->n ? &s->entries[i] : NULL;
}

/* ---------------- matching ---------------- */

/*
 * The last segment starting at or below `key`. Branch-free halving: the
 * comparison becomes a conditional move, so random addresses cost no
 * mispredictions.
 */
static int32_t lookup_v4(const struct seg_table *t, uint32_t key)
{
	const uint32_t *start = t->start;
	size_t base = 0, len = t->n;
	while (len > 1) {
		size_t half = len / 2;
		base = start[base + half] <= key ? base + half : base;
		len -= half;
	}
	return t->owner[base];
}

static int32_t lookup_v6(const struct seg_table *t, u128 key)
{
	const u128 *start = t->start;
	size_t base = 0, len = t->n;
	while (len > 1) {
		size_t half = len / 2;
		base = start[base + half] <= key ? base + half : base;
		len -= half;
	}
	return t->owner[base];
}

int range_set_match(const struct range_set *s, int family, const uint8_t *addr)
{
	if (!s || !addr)
		return -1;
	if (family == AF_INET)
		return lookup_v4(&s->v4, (uint32_t)key_of(addr, 4));
	if (family != AF_INET6)
		return -1;
	if (memcmp(addr, mapped_prefix, sizeof(mapped_prefix)) == 0)
		return lookup_v4(&s->v4, (uint32_t)key_of(addr + 12, 4)); /* R1: it is IPv4 */
	return lookup_v6(&s->v6, key_of(addr, 16));
}

int range_set_find(const struct range_set *s, const struct range_entry *e)
{
	if (!s || !e || (e->family != AF_INET && e->family != AF_INET6))
		return -1;
	size_t w = e->family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < s->n; i++) {
		const struct range_entry *x = &s->entries[i];
		if (x->family == e->family && memcmp(x->lo, e->lo, w) == 0 &&
		    memcmp(x->hi, e->hi, w) == 0)
			return (int)i;
	}
	return -1;
}
