/*
 * Netlink for the exception interface (dataplane/neigh_netlink.c), on
 * messages captured from a Linux 6.18 kernel (ip neigh / ip route on a
 * veth, ifindex 3; the captures are `ip netns exec ... python3` dumps, as
 * hex). Proves: neighbour and route messages decode to the right family,
 * interface, state, addresses, gateway and metric; nl_apply mirrors what
 * is ours (main table, unicast, our interface) and ignores the rest (the
 * local table, another interface, multicast neighbours); a route replaced
 * onto another interface leaves the mirror; deletes apply; a walk over
 * concatenated messages sees each one and stops at NLMSG_DONE; truncated
 * and malformed buffers are refused; the request builders' messages
 * decode back to what was asked (NTF_USE resolution, routes), and a
 * buffer too small gives 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <cmocka.h>
#include <sodium.h>

#include "glournet/neigh_netlink.h"

#define IFX 3

/* RTM_NEWNEIGH 10.9.9.3 INCOMPLETE (after `ip neigh replace ... use`), no lladdr. */
static const char N_INCOMPLETE[] = "400000001c000200010000007b710000020000000300000001000001080001000a0909030800040004000000140003007b1700000b0000000b00000001000000";
/* RTM_NEWNEIGH 10.9.9.2 REACHABLE 02:11:22:33:44:55. */
static const char N_REACHABLE4[] = "4c0000001c000200010000007b710000020000000300000002000001080001000a0909020a00020002112233445500000800040000000000140003000b0000000b0000000b00000001000000";
/* RTM_NEWNEIGH ff02::16 NOARP 33:33:00:00:00:16 (multicast). */
static const char N_MCAST6[] = "580000001c000200010000007b7100000a000000030000004000000514000100ff0200000000000000000000000000160a00020033330000001600000800040000000000140003007a1700000a0000000a00000000000000";
/* RTM_NEWNEIGH 2001:db8:9::2 STALE 02:11:22:33:44:66. */
static const char N_STALE6[] = "580000001c000200010000007b7100000a00000003000000040000011400010020010db80009000000000000000000020a00020002112233446600000800040000000000140003007b1700000b0000000b00000000000000";
/* RTM_NEWROUTE 10.9.9.0/24 dev 3 proto kernel scope link, table main. */
static const char R_CONNECTED4[] = "3c00000018000200010000007b71000002180000fe02fd010000000008000f00fe000000080001000a090900080007000a0909010800040003000000";
/* RTM_NEWROUTE 203.0.113.0/24 via 10.9.9.2 dev 3 metric 5, table main. */
static const char R_VIA4[] = "4400000018000200010000007b71000002180000fe0300010000000008000f00fe00000008000100cb0071000800060005000000080005000a0909020800040003000000";
/* RTM_NEWROUTE local 10.9.9.1 dev 3, table local. */
static const char R_LOCAL4[] = "3c00000018000200010000007b71000002200000ff02fe020000000008000f00ff000000080001000a090901080007000a0909010800040003000000";
/* RTM_NEWROUTE 2001:db8:7::/48 via 2001:db8:9::2 dev 3 metric 1024, table main. */
static const char R_VIA6[] = "8800000018000200010000007b7100000a300000fe0300010000000008000f00fe0000001400010020010db800070000000000000000000008000600000400001400050020010db8000900000000000000000002080004000300000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000";

static size_t unhex(const char *hex, uint8_t *out, size_t room)
{
	size_t n = strlen(hex) / 2;
	assert_true(n <= room);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* A message in an aligned buffer. */
static const struct nlmsghdr *msg(const char *hex, uint8_t *buf, size_t room)
{
	unhex(hex, buf, room);
	return (const struct nlmsghdr *)buf;
}

static struct gn_addr addr(const char *text)
{
	struct gn_addr a;
	assert_int_equal(gn_addr_parse(text, &a), 0);
	return a;
}

/* Rewrites the RTA_OIF of a route message in place. */
static void set_oif(struct nlmsghdr *h, uint32_t oif)
{
	for (size_t off = NLMSG_LENGTH(sizeof(struct rtmsg)); off + 4 <= h->nlmsg_len;) {
		struct rtattr *a = (struct rtattr *)((uint8_t *)h + off);
		if (a->rta_type == RTA_OIF) {
			memcpy(RTA_DATA(a), &oif, 4);
			return;
		}
		off += RTA_ALIGN(a->rta_len);
	}
	fail_msg("no RTA_OIF");
}

static void parse_neighbours(void **state)
{
	(void)state;
	_Alignas(8) uint8_t b[256];
	struct nl_neigh n;
	assert_int_equal(nl_parse_neigh(msg(N_REACHABLE4, b, sizeof(b)), &n), 0);
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.ifindex, IFX);
	assert_int_equal(n.nud, NUD_REACHABLE);
	struct gn_addr want = addr("10.9.9.2");
	assert_true(gn_addr_eq(&n.dst, &want));
	assert_true(n.has_lladdr);
	assert_memory_equal(n.lladdr, ((uint8_t[]){0x02, 0x11, 0x22, 0x33, 0x44, 0x55}), 6);
	assert_int_equal(nl_neigh_state(n.nud), NEIGH_REACHABLE);

	assert_int_equal(nl_parse_neigh(msg(N_INCOMPLETE, b, sizeof(b)), &n), 0);
	assert_int_equal(n.nud, NUD_INCOMPLETE);
	assert_false(n.has_lladdr);
	assert_int_equal(nl_neigh_state(n.nud), NEIGH_INCOMPLETE);

	assert_int_equal(nl_parse_neigh(msg(N_STALE6, b, sizeof(b)), &n), 0);
	want = addr("2001:db8:9::2");
	assert_int_equal(n.family, AF_INET6);
	assert_true(gn_addr_eq(&n.dst, &want));
	assert_int_equal(nl_neigh_state(n.nud), NEIGH_STALE);
	assert_int_equal(n.lladdr[5], 0x66);

	assert_int_equal(nl_neigh_state(NUD_DELAY), NEIGH_STALE);
	assert_int_equal(nl_neigh_state(NUD_PROBE), NEIGH_STALE);
	assert_int_equal(nl_neigh_state(NUD_PERMANENT), NEIGH_REACHABLE);
	assert_int_equal(nl_neigh_state(NUD_FAILED), NEIGH_FAILED);
	assert_int_equal(nl_neigh_state(NUD_NONE), NEIGH_EMPTY);
	/* Not a neighbour message. */
	assert_int_equal(nl_parse_neigh(msg(R_VIA4, b, sizeof(b)), &n), -ENOMSG);
}

static void parse_routes(void **state)
{
	(void)state;
	_Alignas(8) uint8_t b[256];
	struct nl_route r;
	assert_int_equal(nl_parse_route(msg(R_VIA4, b, sizeof(b)), &r), 0);
	struct gn_addr dst = addr("203.0.113.0"), gw = addr("10.9.9.2");
	assert_int_equal(r.family, AF_INET);
	assert_int_equal(r.dst_len, 24);
	assert_int_equal(r.table, RT_TABLE_MAIN);
	assert_int_equal(r.type, RTN_UNICAST);
	assert_true(gn_addr_eq(&r.dst, &dst));
	assert_true(r.has_gw);
	assert_true(gn_addr_eq(&r.gw, &gw));
	assert_int_equal(r.oif, IFX);
	assert_int_equal(r.priority, 5);

	assert_int_equal(nl_parse_route(msg(R_CONNECTED4, b, sizeof(b)), &r), 0);
	assert_false(r.has_gw);
	assert_int_equal(r.scope, RT_SCOPE_LINK);
	assert_int_equal(r.protocol, RTPROT_KERNEL);

	assert_int_equal(nl_parse_route(msg(R_LOCAL4, b, sizeof(b)), &r), 0);
	assert_int_equal(r.table, RT_TABLE_LOCAL);
	assert_int_equal(r.type, RTN_LOCAL);

	assert_int_equal(nl_parse_route(msg(R_VIA6, b, sizeof(b)), &r), 0);
	dst = addr("2001:db8:7::");
	gw = addr("2001:db8:9::2");
	assert_int_equal(r.dst_len, 48);
	assert_true(gn_addr_eq(&r.dst, &dst));
	assert_true(gn_addr_eq(&r.gw, &gw));
	assert_int_equal(r.priority, 1024);
}

static void apply_mirrors_what_is_ours(void **state)
{
	(void)state;
	_Alignas(8) uint8_t b[256];
	struct neigh_table nt;
	struct route_table rt = {0};
	assert_int_equal(neigh_init(&nt, 64), 0);
	const char *const ours[] = {N_REACHABLE4, N_STALE6, N_INCOMPLETE, R_CONNECTED4, R_VIA4,
				    R_VIA6};
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(nl_apply(msg(ours[i], b, sizeof(b)), IFX, &nt, &rt, 10), 1);
	assert_int_equal(nl_apply(msg(R_LOCAL4, b, sizeof(b)), IFX, &nt, &rt, 10), 0);
	assert_int_equal(nl_apply(msg(N_MCAST6, b, sizeof(b)), IFX, &nt, &rt, 10), 0);
	assert_int_equal(nt.count, 3);
	assert_int_equal(rt.n, 3);
	/* The same messages about interface 4: not ours. */
	struct neigh_table other;
	struct route_table ort = {0};
	assert_int_equal(neigh_init(&other, 64), 0);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(nl_apply(msg(ours[i], b, sizeof(b)), 4, &other, &ort, 10), 0);
	assert_int_equal(other.count, 0);
	assert_int_equal(ort.n, 0);
	neigh_free(&other);
	/* What the mirrors now say. */
	struct gn_addr d = addr("203.0.113.50"), nh, want = addr("10.9.9.2");
	assert_int_equal(route_next_hop(&rt, &d, &nh), 0);
	assert_true(gn_addr_eq(&nh, &want));
	uint8_t mac[6];
	bool ask;
	assert_int_equal(neigh_resolve(&nt, &nh, 10, mac, &ask), 0);
	assert_int_equal(mac[5], 0x55);
	/* Deleted: the same bytes as RTM_DELNEIGH / RTM_DELROUTE. */
	struct nlmsghdr *h = (struct nlmsghdr *)b;
	msg(N_REACHABLE4, b, sizeof(b));
	h->nlmsg_type = RTM_DELNEIGH;
	assert_int_equal(nl_apply(h, IFX, &nt, &rt, 11), 1);
	assert_int_equal(neigh_resolve(&nt, &nh, 11, mac, &ask), -EAGAIN);
	msg(R_VIA4, b, sizeof(b));
	h->nlmsg_type = RTM_DELROUTE;
	assert_int_equal(nl_apply(h, IFX, &nt, &rt, 11), 1);
	assert_int_equal(route_next_hop(&rt, &d, &nh), -ENETUNREACH);
	/* A route replaced onto another interface leaves the mirror. */
	msg(R_VIA6, b, sizeof(b));
	set_oif(h, 7);
	struct nl_route r;
	assert_int_equal(nl_parse_route(h, &r), 0);
	assert_int_equal(r.oif, 7);
	assert_int_equal(nl_apply(h, IFX, &nt, &rt, 12), 1);
	assert_int_equal(rt.n, 1);
	neigh_free(&nt);
}

struct seen {
	unsigned n;
	uint16_t types[8];
};

static void count_msg(void *ctx, const struct nlmsghdr *h)
{
	struct seen *s = ctx;
	if (s->n < 8)
		s->types[s->n] = h->nlmsg_type;
	s->n++;
}

static void walk_and_malformed(void **state)
{
	(void)state;
	_Alignas(8) uint8_t b[1024];
	size_t n = unhex(N_REACHABLE4, b, sizeof(b));
	n += unhex(R_VIA4, b + n, sizeof(b) - n);
	struct nlmsghdr done = {.nlmsg_len = NLMSG_LENGTH(4), .nlmsg_type = NLMSG_DONE};
	memcpy(b + n, &done, sizeof(done));
	memset(b + n + sizeof(done), 0, 4);
	size_t with_done = n + NLMSG_LENGTH(4);
	n += unhex(N_STALE6, b + with_done, sizeof(b) - with_done);   /* after DONE: not read */
	struct seen s = {0};
	assert_int_equal(nl_walk(b, with_done, count_msg, &s), 1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.types[0], RTM_NEWNEIGH);
	assert_int_equal(s.types[1], RTM_NEWROUTE);
	s.n = 0;
	assert_int_equal(nl_walk(b, 0x4c + 0x44 - 1, count_msg, &s), -EBADMSG);   /* cut short */
	/* A message whose attribute runs past its end. */
	_Alignas(8) uint8_t m[256];
	msg(N_REACHABLE4, m, sizeof(m));
	((struct nlmsghdr *)m)->nlmsg_len = 0x2c;   /* inside the lladdr attribute */
	struct nl_neigh nn;
	assert_int_equal(nl_parse_neigh((struct nlmsghdr *)m, &nn), -EBADMSG);
	((struct nlmsghdr *)m)->nlmsg_len = 0x14;   /* shorter than the ndmsg */
	assert_int_equal(nl_parse_neigh((struct nlmsghdr *)m, &nn), -EBADMSG);
	/* An IPv4 route whose RTA_GATEWAY is 16 bytes. */
	msg(R_VIA6, m, sizeof(m));
	m[16] = AF_INET;
	m[17] = 24;
	struct nl_route r;
	assert_int_equal(nl_parse_route((struct nlmsghdr *)m, &r), -EBADMSG);
	m[16] = AF_BRIDGE;
	assert_int_equal(nl_parse_route((struct nlmsghdr *)m, &r), -EAFNOSUPPORT);
}

static void builders_round_trip(void **state)
{
	(void)state;
	_Alignas(8) uint8_t b[256];
	struct gn_addr a = addr("fd00:676c::2");
	size_t n = nl_build_neigh_use(b, sizeof(b), 42, IFX, &a);
	assert_true(n > 0 && n % 4 == 0);
	const struct nlmsghdr *h = (const void *)b;
	assert_int_equal(h->nlmsg_len, n);
	assert_int_equal(h->nlmsg_type, RTM_NEWNEIGH);
	assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE);   /* no ACK asked */
	assert_int_equal(h->nlmsg_seq, 42);
	struct nl_neigh nn;
	assert_int_equal(nl_parse_neigh(h, &nn), 0);
	assert_int_equal(nn.flags, NTF_USE);
	assert_int_equal(nn.ifindex, IFX);
	assert_true(gn_addr_eq(&nn.dst, &a));

	struct route_entry re;
	const char *why;
	assert_int_equal(route_parse("203.0.113.0/24 via 198.18.0.2 metric 7", &re, &why), 0);
	n = nl_build_route(b, sizeof(b), 1, IFX, &re);
	assert_true(n > 0);
	assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	struct nl_route r;
	assert_int_equal(nl_parse_route(h, &r), 0);
	assert_int_equal(r.dst_len, 24);
	assert_int_equal(r.oif, IFX);
	assert_int_equal(r.priority, 7);
	assert_int_equal(r.table, RT_TABLE_MAIN);
	assert_true(gn_addr_eq(&r.dst, &re.prefix));
	assert_true(gn_addr_eq(&r.gw, &re.gw));

	a = addr("198.18.0.1");
	n = nl_build_addr(b, sizeof(b), 2, IFX, &a, 24);
	assert_int_equal(h->nlmsg_type, RTM_NEWADDR);
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	assert_int_equal(ifa->ifa_prefixlen, 24);
	assert_int_equal(ifa->ifa_index, IFX);
	assert_int_equal(ifa->ifa_flags, 0);
	/* IFA_LOCAL and IFA_ADDRESS, 4 bytes each. */
	assert_int_equal(n, NLMSG_LENGTH(sizeof(*ifa)) + 2 * RTA_SPACE(4));
	a = addr("fd00::1");
	nl_build_addr(b, sizeof(b), 3, IFX, &a, 64);
	assert_int_equal(ifa->ifa_flags, IFA_F_NODAD);

	assert_int_equal(nl_build_dump(b, sizeof(b), 4, RTM_GETNEIGH, AF_INET6),
			 NLMSG_LENGTH(sizeof(struct ndmsg)));
	assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	/* Too small: nothing. */
	assert_int_equal(nl_build_neigh_use(b, 40, 5, IFX, &a), 0);
	assert_int_equal(nl_build_route(b, 16, 5, IFX, &re), 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_neighbours),
		cmocka_unit_test(parse_routes),
		cmocka_unit_test(apply_mirrors_what_is_ours),
		cmocka_unit_test(walk_and_malformed),
		cmocka_unit_test(builders_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
