/*
 * The two netlink sockets of the exception interface (neigh_netlink.h):
 * requests that wait for their answer (start-up, dumps) and the subscribed
 * event socket the control thread drains every turn. Messages are built
 * and read by neigh_netlink.c.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "glournet/neigh_netlink.h"

#define NL_BUF 65536

static int nl_socket(unsigned groups, bool nonblock)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
			NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (groups) {
		/* Room for a burst of neighbour changes between two turns. */
		int rcv = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	return fd;
}

int nl_link_open(struct nl_link *l, int ifindex)
{
	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	l->req_fd = nl_socket(0, false);
	l->ev_fd = nl_socket(RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE, true);
	if (l->req_fd < 0 || l->ev_fd < 0) {
		int e = l->req_fd < 0 ? l->req_fd : l->ev_fd;
		nl_link_close(l);
		return e;
	}
	struct timeval tv = {.tv_sec = 2};
	setsockopt(l->req_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

void nl_link_close(struct nl_link *l)
{
	if (l->req_fd >= 0)
		close(l->req_fd);
	if (l->ev_fd >= 0)
		close(l->ev_fd);
	l->req_fd = l->ev_fd = -1;
}

struct ack_wait {
	uint32_t seq;
	int err;
	bool done;
};

static void on_ack(void *ctx, const struct nlmsghdr *h)
{
	struct ack_wait *w = ctx;
	if (h->nlmsg_seq != w->seq || h->nlmsg_type != NLMSG_ERROR)
		return;
	if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
		const struct nlmsgerr *e = NLMSG_DATA(h);
		w->err = e->error;
	} else {
		w->err = -EBADMSG;
	}
	w->done = true;
}

int nl_link_request(struct nl_link *l, void *msg, size_t len)
{
	if (!len)
		return -EMSGSIZE;
	struct nlmsghdr *h = msg;
	h->nlmsg_seq = ++l->seq;
	if (send(l->req_fd, msg, len, 0) < 0)
		return -errno;
	static uint8_t buf[8192];
	struct ack_wait w = {.seq = h->nlmsg_seq};
	while (!w.done) {
		ssize_t n = recv(l->req_fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (nl_walk(buf, (size_t)n, on_ack, &w) < 0)
			return -EBADMSG;
	}
	return w.err;
}

struct dump_ctx {
	struct nl_link *l;
	struct neigh_table *neigh;
	struct route_table *routes;
	uint32_t now, seq;
	int err;
};

static void on_dump(void *ctx, const struct nlmsghdr *h)
{
	struct dump_ctx *c = ctx;
	if (h->nlmsg_seq != c->seq)
		return;
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);
		c->err = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) ? e->error : -EBADMSG;
		return;
	}
	c->l->ctr[NL_C_MESSAGES]++;
	if (nl_apply(h, c->l->ifindex, c->neigh, c->routes, c->now) < 0)
		c->l->ctr[NL_C_ERRORS]++;
}

static int dump_one(struct dump_ctx *c, uint16_t type, uint8_t family)
{
	static uint8_t buf[NL_BUF];
	uint8_t req[64];
	size_t len = nl_build_dump(req, sizeof(req), ++c->l->seq, type, family);
	c->seq = c->l->seq;
	c->err = 0;
	if (send(c->l->req_fd, req, len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(c->l->req_fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		int rc = nl_walk(buf, (size_t)n, on_dump, c);
		if (rc < 0)
			return rc;
		if (c->err)
			return c->err;
		if (rc == 1)
			return 0;
	}
}

int nl_link_dump(struct nl_link *l, struct neigh_table *neigh, struct route_table *routes,
		 uint32_t now)
{
	struct dump_ctx c = {.l = l, .neigh = neigh, .routes = routes, .now = now};
	static const uint8_t families[] = {AF_INET, AF_INET6};
	for (unsigned i = 0; i < 2; i++) {
		int rc = dump_one(&c, RTM_GETROUTE, families[i]);
		if (rc == 0)
			rc = dump_one(&c, RTM_GETNEIGH, families[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct drain_ctx {
	struct nl_link *l;
	struct neigh_table *neigh;
	struct route_table *routes;
	uint32_t now;
	unsigned changed;
};

static void on_event(void *ctx, const struct nlmsghdr *h)
{
	struct drain_ctx *c = ctx;
	c->l->ctr[NL_C_MESSAGES]++;
	if (h->nlmsg_type == NLMSG_ERROR) {
		/* An answer to a resolution request: only errors come back. */
		c->l->ctr[NL_C_ERRORS]++;
		return;
	}
	int rc = nl_apply(h, c->l->ifindex, c->neigh, c->routes, c->now);
	if (rc < 0)
		c->l->ctr[NL_C_ERRORS]++;
	else if (rc == 0)
		c->l->ctr[NL_C_IGNORED]++;
	else {
		c->changed++;
		if (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE)
			c->l->ctr[NL_C_ROUTE_UPDATES]++;
	}
}

unsigned nl_link_drain(struct nl_link *l, struct neigh_table *neigh, struct route_table *routes,
		       uint32_t now, unsigned budget)
{
	static uint8_t buf[NL_BUF];
	struct drain_ctx c = {.l = l, .neigh = neigh, .routes = routes, .now = now};
	while (l->ev_fd >= 0 && budget--) {
		ssize_t n = recv(l->ev_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ENOBUFS) {
				l->ctr[NL_C_OVERRUNS]++;
				l->resync = true;
				continue;
			}
			break;   /* EAGAIN: nothing more */
		}
		if (nl_walk(buf, (size_t)n, on_event, &c) < 0)
			l->ctr[NL_C_ERRORS]++;
	}
	if (l->resync) {
		/* Updates were lost: rebuild both mirrors from a fresh dump. */
		l->resync = false;
		neigh_forget_kernel(neigh);
		routes->n = 0;
		if (nl_link_dump(l, neigh, routes, now) < 0)
			l->ctr[NL_C_ERRORS]++;
	}
	return c.changed;
}

void nl_link_resolve(struct nl_link *l, const struct gn_addr *nh)
{
	uint8_t req[64];
	size_t len = nl_build_neigh_use(req, sizeof(req), ++l->seq, l->ifindex, nh);
	if (l->ev_fd >= 0 && len && send(l->ev_fd, req, len, MSG_DONTWAIT) == (ssize_t)len)
		l->ctr[NL_C_RESOLVE_SENT]++;
	else
		l->ctr[NL_C_RESOLVE_FAILED]++;
}
