/*
 * Netlink messages for the exception interface (neigh_netlink.h): request
 * builders, parsers, and what a message means for the mirrors. Pure
 * functions over buffers (the sockets are in neigh_netlink_link.c).
 * Attribute walks check every length against the message before reading:
 * the bytes come from the kernel, but the parsers also run on the unit
 * tests' canned buffers.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "glournet/neigh_netlink.h"

#define NL_ALIGN(n) (((n) + 3u) & ~3u)

const char *nl_counter_name(enum nl_counter c)
{
	static const char *const names[] = {
#define NL_COUNTER_NAME(name, str) str,
		NL_COUNTERS(NL_COUNTER_NAME)
#undef NL_COUNTER_NAME
	};
	return (unsigned)c < NL_COUNTER_COUNT ? names[c] : "unknown";
}

/* ---- building ---- */

struct nl_builder {
	uint8_t *buf;
	size_t room, len;
	bool overflow;
};

static void *put(struct nl_builder *b, size_t n)
{
	size_t at = b->len, need = NL_ALIGN(n);
	if (b->overflow || at + need > b->room) {
		b->overflow = true;
		return NULL;
	}
	memset(b->buf + at, 0, need);
	b->len += need;
	return b->buf + at;
}

static void put_attr(struct nl_builder *b, uint16_t type, const void *data, size_t n)
{
	struct rtattr *a = put(b, RTA_LENGTH(n));
	if (!a)
		return;
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(n);
	memcpy(RTA_DATA(a), data, n);
}

static struct nlmsghdr *begin(struct nl_builder *b, void *buf, size_t room, uint16_t type,
			      uint16_t flags, uint32_t seq)
{
	*b = (struct nl_builder){.buf = buf, .room = room};
	struct nlmsghdr *h = put(b, sizeof(*h));
	if (h) {
		h->nlmsg_type = type;
		h->nlmsg_flags = flags;
		h->nlmsg_seq = seq;
	}
	return h;
}

static size_t finish(struct nl_builder *b, struct nlmsghdr *h)
{
	if (!h || b->overflow)
		return 0;
	h->nlmsg_len = (uint32_t)b->len;
	return b->len;
}

size_t nl_build_addr(void *buf, size_t room, uint32_t seq, int ifindex,
		     const struct gn_addr *a, uint8_t plen)
{
	struct nl_builder b;
	struct nlmsghdr *h = begin(&b, buf, room, RTM_NEWADDR,
				   NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
	struct ifaddrmsg *ifa = put(&b, sizeof(*ifa));
	if (ifa) {
		ifa->ifa_family = a->family;
		ifa->ifa_prefixlen = plen;
		/* No duplicate address detection: the address is the operator's,
		 * and the HTTP server binds it right away. */
		ifa->ifa_flags = a->family == AF_INET6 ? IFA_F_NODAD : 0;
		ifa->ifa_scope = RT_SCOPE_UNIVERSE;
		ifa->ifa_index = (unsigned)ifindex;
	}
	if (a->family == AF_INET)
		put_attr(&b, IFA_LOCAL, a->bytes, 4);
	put_attr(&b, IFA_ADDRESS, a->bytes, gn_addr_len(a));
	return finish(&b, h);
}

size_t nl_build_route(void *buf, size_t room, uint32_t seq, int ifindex,
		      const struct route_entry *r)
{
	struct nl_builder b;
	/* EXCL: never replace a route someone else owns (a default route of
	 * the host); the operator picks a metric instead. */
	struct nlmsghdr *h = begin(&b, buf, room, RTM_NEWROUTE,
				   NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	struct rtmsg *rt = put(&b, sizeof(*rt));
	if (rt) {
		rt->rtm_family = r->prefix.family;
		rt->rtm_dst_len = r->plen;
		rt->rtm_table = RT_TABLE_MAIN;
		rt->rtm_protocol = RTPROT_STATIC;
		rt->rtm_scope = r->has_gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
		rt->rtm_type = RTN_UNICAST;
	}
	if (r->plen)
		put_attr(&b, RTA_DST, r->prefix.bytes, gn_addr_len(&r->prefix));
	if (r->has_gw)
		put_attr(&b, RTA_GATEWAY, r->gw.bytes, gn_addr_len(&r->gw));
	uint32_t oif = (uint32_t)ifindex;
	put_attr(&b, RTA_OIF, &oif, sizeof(oif));
	if (r->metric)
		put_attr(&b, RTA_PRIORITY, &r->metric, sizeof(r->metric));
	return finish(&b, h);
}

size_t nl_build_neigh_use(void *buf, size_t room, uint32_t seq, int ifindex,
			  const struct gn_addr *a)
{
	struct nl_builder b;
	/* No ACK: the answer that matters is the RTM_NEWNEIGH that follows. */
	struct nlmsghdr *h = begin(&b, buf, room, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE, seq);
	struct ndmsg *nd = put(&b, sizeof(*nd));
	if (nd) {
		nd->ndm_family = a->family;
		nd->ndm_ifindex = ifindex;
		nd->ndm_state = NUD_NONE;   /* NTF_USE keeps the kernel's state */
		nd->ndm_flags = NTF_USE;
	}
	put_attr(&b, NDA_DST, a->bytes, gn_addr_len(a));
	return finish(&b, h);
}

size_t nl_build_dump(void *buf, size_t room, uint32_t seq, uint16_t type, uint8_t family)
{
	struct nl_builder b;
	struct nlmsghdr *h = begin(&b, buf, room, type, NLM_F_REQUEST | NLM_F_DUMP, seq);
	if (type == RTM_GETNEIGH) {
		struct ndmsg *nd = put(&b, sizeof(*nd));
		if (nd)
			nd->ndm_family = family;
	} else {
		struct rtmsg *rt = put(&b, sizeof(*rt));
		if (rt)
			rt->rtm_family = family;
	}
	return finish(&b, h);
}

/* ---- parsing ---- */

/* The attributes after a fixed header of `fixed` bytes: calls fn per
 * attribute. -EBADMSG when one runs past the message. */
static int attrs(const struct nlmsghdr *h, size_t fixed,
		 void (*fn)(void *ctx, const struct rtattr *a, size_t len), void *ctx)
{
	size_t total = h->nlmsg_len, off = NL_ALIGN(sizeof(*h)) + NL_ALIGN(fixed);
	if (total < NL_ALIGN(sizeof(*h)) + fixed)
		return -EBADMSG;
	while (off + sizeof(struct rtattr) <= total) {
		const struct rtattr *a = (const struct rtattr *)((const uint8_t *)h + off);
		if (a->rta_len < sizeof(*a) || off + a->rta_len > total)
			return -EBADMSG;
		fn(ctx, a, a->rta_len - RTA_LENGTH(0));
		off += NL_ALIGN(a->rta_len);
	}
	return 0;
}

static void copy_addr(struct gn_addr *dst, uint8_t family, const struct rtattr *a, size_t len,
		      bool *ok)
{
	size_t want = family == AF_INET ? 4 : 16;
	if (len != want) {
		*ok = false;
		return;
	}
	memset(dst, 0, sizeof(*dst));
	dst->family = family;
	memcpy(dst->bytes, RTA_DATA(a), want);
}

struct neigh_parse {
	struct nl_neigh *n;
	bool ok, has_dst;
};

static void neigh_attr(void *ctx, const struct rtattr *a, size_t len)
{
	struct neigh_parse *p = ctx;
	if (a->rta_type == NDA_DST) {
		copy_addr(&p->n->dst, p->n->family, a, len, &p->ok);
		p->has_dst = true;
	} else if (a->rta_type == NDA_LLADDR) {
		if (len == 6) {
			memcpy(p->n->lladdr, RTA_DATA(a), 6);
			p->n->has_lladdr = true;
		}
	}
}

int nl_parse_neigh(const struct nlmsghdr *h, struct nl_neigh *out)
{
	if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH)
		return -ENOMSG;
	if (h->nlmsg_len < NL_ALIGN(sizeof(*h)) + sizeof(struct ndmsg))
		return -EBADMSG;
	const struct ndmsg *nd = (const void *)((const uint8_t *)h + NL_ALIGN(sizeof(*h)));
	memset(out, 0, sizeof(*out));
	out->family = nd->ndm_family;
	out->ifindex = nd->ndm_ifindex;
	out->nud = nd->ndm_state;
	out->flags = nd->ndm_flags;
	if (out->family != AF_INET && out->family != AF_INET6)
		return -EAFNOSUPPORT;
	struct neigh_parse p = {.n = out, .ok = true};
	if (attrs(h, sizeof(*nd), neigh_attr, &p) < 0 || !p.ok || !p.has_dst)
		return -EBADMSG;
	return 0;
}

struct route_parse {
	struct nl_route *r;
	bool ok;
};

/* A multipath route: the first next hop's interface and gateway. */
static void multipath(struct route_parse *p, const struct rtattr *a, size_t len)
{
	const struct rtnexthop *nh = RTA_DATA(a);
	if (len < sizeof(*nh) || nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > len)
		return;
	p->r->oif = nh->rtnh_ifindex;
	size_t off = NL_ALIGN(sizeof(*nh));
	while (off + sizeof(struct rtattr) <= nh->rtnh_len) {
		const struct rtattr *s = (const void *)((const uint8_t *)nh + off);
		if (s->rta_len < sizeof(*s) || off + s->rta_len > nh->rtnh_len)
			return;
		if (s->rta_type == RTA_GATEWAY) {
			copy_addr(&p->r->gw, p->r->family, s, s->rta_len - RTA_LENGTH(0), &p->ok);
			p->r->has_gw = true;
		}
		off += NL_ALIGN(s->rta_len);
	}
}

static void route_attr(void *ctx, const struct rtattr *a, size_t len)
{
	struct route_parse *p = ctx;
	uint32_t v = 0;
	if (len == 4)
		memcpy(&v, RTA_DATA(a), 4);
	switch (a->rta_type) {
	case RTA_DST:
		copy_addr(&p->r->dst, p->r->family, a, len, &p->ok);
		break;
	case RTA_GATEWAY:
		copy_addr(&p->r->gw, p->r->family, a, len, &p->ok);
		p->r->has_gw = true;
		break;
	case RTA_OIF:
		p->r->oif = (int)v;
		break;
	case RTA_PRIORITY:
		p->r->priority = v;
		break;
	case RTA_TABLE:
		p->r->table = v;
		break;
	case RTA_MULTIPATH:
		multipath(p, a, len);
		break;
	}
}

int nl_parse_route(const struct nlmsghdr *h, struct nl_route *out)
{
	if (h->nlmsg_type != RTM_NEWROUTE && h->nlmsg_type != RTM_DELROUTE)
		return -ENOMSG;
	if (h->nlmsg_len < NL_ALIGN(sizeof(*h)) + sizeof(struct rtmsg))
		return -EBADMSG;
	const struct rtmsg *rt = (const void *)((const uint8_t *)h + NL_ALIGN(sizeof(*h)));
	memset(out, 0, sizeof(*out));
	out->family = rt->rtm_family;
	out->dst_len = rt->rtm_dst_len;
	out->type = rt->rtm_type;
	out->protocol = rt->rtm_protocol;
	out->scope = rt->rtm_scope;
	out->table = rt->rtm_table;
	if (out->family != AF_INET && out->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (out->dst_len > (out->family == AF_INET ? 32 : 128))
		return -EBADMSG;
	out->dst.family = out->family;
	struct route_parse p = {.r = out, .ok = true};
	if (attrs(h, sizeof(*rt), route_attr, &p) < 0 || !p.ok)
		return -EBADMSG;
	return 0;
}

enum neigh_state nl_neigh_state(uint16_t nud)
{
	if (nud & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE))
		return NEIGH_REACHABLE;
	if (nud & (NUD_STALE | NUD_DELAY | NUD_PROBE))
		return NEIGH_STALE;
	if (nud & NUD_INCOMPLETE)
		return NEIGH_INCOMPLETE;
	if (nud & NUD_FAILED)
		return NEIGH_FAILED;
	return NEIGH_EMPTY;
}

static int apply_neigh(const struct nlmsghdr *h, int ifindex, struct neigh_table *neigh,
		       uint32_t now)
{
	struct nl_neigh n;
	int rc = nl_parse_neigh(h, &n);
	if (rc == -EAFNOSUPPORT)
		return 0;
	if (rc < 0)
		return rc;
	if (n.ifindex != ifindex || (n.flags & NTF_PROXY) || gn_addr_is_special(&n.dst))
		return 0;
	enum neigh_state st = nl_neigh_state(n.nud);
	if (h->nlmsg_type == RTM_DELNEIGH || st == NEIGH_EMPTY)
		return neigh_delete(neigh, &n.dst) == 0;
	/* A state that says it has a MAC but the message carries none. */
	if ((st == NEIGH_REACHABLE || st == NEIGH_STALE) && !n.has_lladdr)
		return 0;
	return neigh_set(neigh, &n.dst, st, n.has_lladdr ? n.lladdr : NULL, now) == 0;
}

static int apply_route(const struct nlmsghdr *h, int ifindex, struct route_table *routes)
{
	struct nl_route r;
	int rc = nl_parse_route(h, &r);
	if (rc == -EAFNOSUPPORT)
		return 0;
	if (rc < 0)
		return rc;
	if (r.table != RT_TABLE_MAIN || r.type != RTN_UNICAST)
		return 0;
	struct route_entry e = {.prefix = r.dst, .plen = r.dst_len, .has_gw = r.has_gw,
				.gw = r.gw, .metric = r.priority};
	if (h->nlmsg_type == RTM_DELROUTE || r.oif != ifindex)
		/* Deleted, or (replaced by) a route out of another interface. */
		return route_delete(routes, &e) == 0;
	return route_upsert(routes, &e) == 0;
}

int nl_apply(const struct nlmsghdr *h, int ifindex, struct neigh_table *neigh,
	     struct route_table *routes, uint32_t now)
{
	switch (h->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		return apply_neigh(h, ifindex, neigh, now);
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return apply_route(h, ifindex, routes);
	}
	return 0;
}

int nl_walk(const void *buf, size_t len, nl_msg_fn *fn, void *ctx)
{
	size_t off = 0;
	while (off + sizeof(struct nlmsghdr) <= len) {
		const struct nlmsghdr *h = (const void *)((const uint8_t *)buf + off);
		if (h->nlmsg_len < sizeof(*h) || off + h->nlmsg_len > len)
			return -EBADMSG;
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		fn(ctx, h);
		off += NL_ALIGN(h->nlmsg_len);
	}
	return off == len || len - off < sizeof(struct nlmsghdr) ? 0 : -EBADMSG;
}
