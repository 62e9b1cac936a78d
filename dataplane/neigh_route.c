/*
 * The route mirror (neigh_route.h). Linear on purpose: a collector's
 * interface has its connected prefixes and a few routes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glournet/neigh_route.h"

int route_parse(const char *text, struct route_entry *out, const char **why)
{
	char buf[256], *save = NULL;
	memset(out, 0, sizeof(*out));
	*why = "expected PREFIX via GATEWAY [metric N], default via GATEWAY, or PREFIX (on-link)";
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", text);
	char *words[5];
	unsigned n = 0;
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == 5)
			return -EINVAL;
		words[n++] = w;
	}
	if (n == 0)
		return -EINVAL;
	unsigned i = 1;
	if (i < n && !strcmp(words[i], "via")) {
		if (i + 1 >= n || gn_addr_parse(words[i + 1], &out->gw) < 0) {
			*why = "'via' needs a gateway address";
			return -EINVAL;
		}
		out->has_gw = true;
		i += 2;
	}
	if (i < n && !strcmp(words[i], "metric")) {
		char *end;
		errno = 0;
		unsigned long m = i + 1 < n ? strtoul(words[i + 1], &end, 10) : 0;
		if (i + 1 >= n || errno || *end || words[i + 1][0] == '-' || m > UINT32_MAX) {
			*why = "'metric' needs a number";
			return -EINVAL;
		}
		out->metric = (uint32_t)m;
		i += 2;
	}
	if (i != n)
		return -EINVAL;
	if (!strcmp(words[0], "default") && !out->has_gw) {
		*why = "a default route needs 'via GATEWAY'";
		return -EINVAL;
	}
	int family = out->has_gw ? out->gw.family : 0;
	if (gn_prefix_parse(words[0], family, &out->prefix, &out->plen) < 0) {
		*why = family ? "the prefix is not an address/length of the gateway's family"
			      : "the prefix is not an address/length";
		return -EINVAL;
	}
	gn_prefix_mask(&out->prefix, out->plen);
	*why = NULL;
	return 0;
}

static int find(const struct route_table *t, const struct route_entry *r)
{
	for (unsigned i = 0; i < t->n; i++) {
		const struct route_entry *e = &t->r[i];
		if (e->plen == r->plen && e->metric == r->metric && gn_addr_eq(&e->prefix, &r->prefix))
			return (int)i;
	}
	return -1;
}

int route_upsert(struct route_table *t, const struct route_entry *r)
{
	struct route_entry c = *r;
	gn_prefix_mask(&c.prefix, c.plen);
	int i = find(t, &c);
	if (i >= 0) {
		t->r[i] = c;
		return 0;
	}
	if (t->n == ROUTE_MAX) {
		t->full++;
		return -ENOSPC;
	}
	t->r[t->n++] = c;
	return 0;
}

int route_delete(struct route_table *t, const struct route_entry *r)
{
	struct route_entry c = *r;
	gn_prefix_mask(&c.prefix, c.plen);
	int i = find(t, &c);
	if (i < 0)
		return -ENOENT;
	t->r[i] = t->r[--t->n];
	return 0;
}

static const struct route_entry *best(const struct route_table *t, const struct gn_addr *dst)
{
	const struct route_entry *b = NULL;
	for (unsigned i = 0; i < t->n; i++) {
		const struct route_entry *e = &t->r[i];
		if (!gn_prefix_match(dst, &e->prefix, e->plen))
			continue;
		if (!b || e->plen > b->plen || (e->plen == b->plen && e->metric < b->metric))
			b = e;
	}
	return b;
}

int route_next_hop(const struct route_table *t, const struct gn_addr *dst, struct gn_addr *nh)
{
	const struct route_entry *b = best(t, dst);
	if (!b)
		return -ENETUNREACH;
	*nh = b->has_gw ? b->gw : *dst;
	return 0;
}

bool route_on_link(const struct route_table *t, const struct gn_addr *dst)
{
	const struct route_entry *b = best(t, dst);
	return b && !b->has_gw;
}
