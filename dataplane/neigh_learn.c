/*
 * Learning next hops from frames on their way to the kernel (neigh.h,
 * neigh_learn_frame): the control thread reads a few header bytes of each
 * exception frame it moves anyway. An on-link endpoint must resolve the
 * collector's address before it can send it anything, so its ARP or ND
 * comes through here: that is how its MAC is known without the workers
 * looking at heartbeats at all.
 */
#include <string.h>
#include <sys/socket.h>

#include "glournet/neigh.h"
#include "glournet/neigh_route.h"

#define ETH_LEN 14

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int learn(struct neigh_table *t, const struct route_table *routes, int family,
		 const uint8_t *ip, const uint8_t *mac, uint32_t now)
{
	struct gn_addr a = {.family = (uint8_t)family};
	memcpy(a.bytes, ip, family == AF_INET ? 4 : 16);
	if ((mac[0] & 1) || gn_addr_is_special(&a) || !route_on_link(routes, &a))
		return 0;
	neigh_learn(t, &a, mac, now);
	return 1;
}

int neigh_learn_frame(struct neigh_table *t, const struct route_table *routes,
		      const uint8_t *frame, uint32_t len, uint32_t now)
{
	if (len < ETH_LEN)
		return 0;
	const uint8_t *l3 = frame + ETH_LEN;
	uint32_t avail = len - ETH_LEN;
	switch (be16(frame + 12)) {
	case 0x0806:   /* ARP for IPv4 over Ethernet: the sender's pair */
		if (avail < 28 || be16(l3) != 1 || be16(l3 + 2) != 0x0800 || l3[4] != 6 || l3[5] != 4)
			return 0;
		return learn(t, routes, AF_INET, l3 + 14, l3 + 8, now);
	case 0x0800:
		if (avail < 20 || (l3[0] >> 4) != 4)
			return 0;
		return learn(t, routes, AF_INET, l3 + 12, frame + 6, now);
	case 0x86DD:
		if (avail < 40 || (l3[0] >> 4) != 6)
			return 0;
		return learn(t, routes, AF_INET6, l3 + 8, frame + 6, now);
	}
	return 0;
}
