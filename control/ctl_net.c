/*
 * The control socket's view of the network path (glournet/netpath.h):
 * show neighbours, show routes, the exception path's and the TX path's
 * counters in show stats, and debug send, which puts one UDP datagram
 * through the TX path (an operator's reachability check, and the
 * integration test's TX smoke test). Plain reads of the control thread's
 * own state: this file never calls into DPDK.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_commands.h"
#include "control/ctl_net.h"
#include "glournet/coarse_clock.h"
#include "glournet/netpath.h"

static json_t *counters_json(const uint64_t *v, unsigned n, const char *(*name)(unsigned))
{
	json_t *o = json_object();
	for (unsigned i = 0; i < n; i++)
		json_object_set_new(o, name(i), json_integer((json_int_t)v[i]));
	return o;
}

static const char *exc_w_name(unsigned i)
{
	return exc_worker_counter_name(i);
}
static const char *exc_i_name(unsigned i)
{
	return exc_iface_counter_name(i);
}
static const char *tx_name(unsigned i)
{
	return tx_counter_name(i);
}
static const char *neigh_name(unsigned i)
{
	return neigh_counter_name(i);
}
static const char *nl_name(unsigned i)
{
	return nl_counter_name(i);
}

json_t *ctl_net_worker_json(const uint64_t exc[EXC_WORKER_COUNT])
{
	return counters_json(exc, EXC_WORKER_COUNT, exc_w_name);
}

static const char *mode(const struct netpath *np)
{
	return np->kernel ? "kernel" : "drop";
}

json_t *ctl_net_stats_json(const struct gn_daemon *d)
{
	const struct netpath *np = d->net;
	if (!np)
		return json_null();
	json_t *nb = counters_json(np->neigh.ctr, NEIGH_COUNTER_COUNT, neigh_name);
	json_object_set_new(nb, "entries", json_integer(np->neigh.count));
	json_object_set_new(nb, "learned_entries", json_integer(np->neigh.learned));
	json_object_set_new(nb, "max", json_integer(np->neigh.max));
	return json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:I, s:I}", "mode", mode(np),
			 "interface", np->exc.iface, "ifindex", np->exc.ifindex, "kernel",
			 counters_json(np->exc.ctr, EXC_IFACE_COUNT, exc_i_name), "tx",
			 counters_json(np->tx.ctr, TX_COUNTER_COUNT, tx_name), "neighbours", nb,
			 "netlink", counters_json(np->nl.ctr, NL_COUNTER_COUNT, nl_name), "turns",
			 (json_int_t)np->turns, "busy_turns", (json_int_t)np->busy_turns);
}

static const char *mac_text(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static bool no_net(const struct gn_daemon *d, const char *cmd, char *err, size_t errlen)
{
	if (d->net)
		return false;
	snprintf(err, errlen, "%s: no network path (no port running)", cmd);
	return true;
}

json_t *cmd_show_neighbours(struct gn_daemon *d, int argc, const char **argv, char *err,
			    size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	if (!d->net) /* no port (--exception drop keeps one; a test daemon has none) */
		return json_pack("{s:s, s:s, s:i, s:i, s:[]}", "mode", "none", "interface", "",
				 "count", 0, "max", 0, "neighbours");
	const struct neigh_table *t = &d->net->neigh;
	uint32_t now = gn_coarse_steady();
	json_t *list = json_array();
	for (uint32_t i = 0; t->cells && i <= t->mask; i++) {
		const struct neigh_entry *e = &t->cells[i];
		if (e->state == NEIGH_EMPTY)
			continue;
		char addr[GN_ADDR_TEXT_MAX], mac[18];
		bool has_mac = e->state == NEIGH_REACHABLE || e->state == NEIGH_STALE ||
			       e->state == NEIGH_LEARNED;
		json_array_append_new(list,
				      json_pack("{s:s, s:s?, s:s, s:s, s:I}", "address",
						gn_addr_format(&e->addr, -1, addr, sizeof(addr)),
						"mac", has_mac ? mac_text(e->mac, mac) : NULL,
						"state", neigh_state_name(e->state), "source",
						neigh_source_name(e->source), "age",
						(json_int_t)(now - e->updated)));
	}
	return json_pack("{s:s, s:s, s:I, s:I, s:o}", "mode", mode(d->net), "interface",
			 d->net->exc.iface, "count", (json_int_t)t->count, "max",
			 (json_int_t)t->max, "neighbours", list);
}

json_t *cmd_show_routes(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	if (!d->net)
		return json_pack("{s:s, s:[]}", "interface", "", "routes");
	const struct route_table *t = &d->net->routes;
	json_t *list = json_array();
	for (unsigned i = 0; i < t->n; i++) {
		const struct route_entry *r = &t->r[i];
		char p[GN_ADDR_TEXT_MAX], gw[GN_ADDR_TEXT_MAX];
		json_array_append_new(
			list,
			json_pack("{s:s, s:s?, s:I}", "prefix",
				  gn_addr_format(&r->prefix, r->plen, p, sizeof(p)), "via",
				  r->has_gw ? gn_addr_format(&r->gw, -1, gw, sizeof(gw)) : NULL,
				  "metric", (json_int_t)r->metric));
	}
	return json_pack("{s:s, s:o}", "interface", d->net->exc.iface, "routes", list);
}

json_t *cmd_debug_send(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	struct gn_addr dst;
	char *end;
	unsigned long port = strtoul(argv[1], &end, 10);
	if (gn_addr_parse(argv[0], &dst) < 0 || *end || end == argv[1] || port == 0 ||
	    port > 65535) {
		snprintf(err, errlen,
			 "usage: debug send ADDRESS PORT [TEXT] (an IPv4 or IPv6 "
			 "address, a UDP port 1..65535)");
		return NULL;
	}
	if (no_net(d, "debug send", err, errlen))
		return NULL;
	const char *text = argc > 2 ? argv[2] : "glournet debug send";
	struct gn_addr nh;
	char nh_text[GN_ADDR_TEXT_MAX] = "";
	if (route_next_hop(&d->net->routes, &dst, &nh) == 0)
		gn_addr_format(&nh, -1, nh_text, sizeof(nh_text));
	int rc = tx_send(&d->tx, &dst, (uint16_t)port, text, (uint16_t)strlen(text));
	switch (rc) {
	case 0:
		break;
	case -EAGAIN:
		snprintf(err, errlen,
			 "debug send: next hop %s not resolved yet (the kernel was "
			 "asked): try again",
			 nh_text);
		return NULL;
	case -ENETUNREACH:
		snprintf(err, errlen, "debug send: no route to %s out of %s (see show routes)",
			 argv[0], d->net->exc.iface);
		return NULL;
	case -EADDRNOTAVAIL:
		snprintf(err, errlen,
			 "debug send: the collector has no address of that family "
			 "(--hb-addr or --exception-addr)");
		return NULL;
	default:
		snprintf(err, errlen, "debug send: %s", strerror(-rc));
		return NULL;
	}
	unsigned sent = tx_flush(&d->tx);
	const struct neigh_entry *e = neigh_lookup(&d->net->neigh, &nh);
	char mac[18] = "";
	if (e)
		mac_text(e->mac, mac);
	if (!sent) {
		snprintf(err, errlen, "debug send: the port's TX queue was full: try again");
		return NULL;
	}
	return json_pack("{s:b, s:s, s:s, s:I, s:I}", "sent", 1, "next_hop", nh_text, "mac", mac,
			 "port", (json_int_t)port, "bytes", (json_int_t)strlen(text));
}
