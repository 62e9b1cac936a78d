/*
 * The registry: every endpoint the collector knows, by slot, id and guid.
 * Owned by the control thread (HTTP and the control socket run there too),
 * so it needs no lock; the workers see only the slot table it feeds.
 */
#ifndef GLOURNET_REGISTRY_H
#define GLOURNET_REGISTRY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/slot_index.h"
#include "glournet/heartbeat.h"
#include "glournet/slot_table.h"

#define EP_GUID_MAX     64
#define EP_HOSTNAME_MAX 255
#define EP_MAX_IPS      16

enum ep_status { EP_ONLINE, EP_OFFLINE };

enum ep_reason {
	EP_REASON_REGISTERED,   /* registration is contact (R4) */
	EP_REASON_HEARTBEAT,
	EP_REASON_NO_CONTACT,   /* R6 */
};

struct ep_addr {
	uint8_t family;         /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

struct endpoint {
	uint64_t id;
	uint32_t slot;
	uint32_t registered;     /* first registration */
	uint32_t last_register;  /* latest registration: contact (R4) */
	uint32_t last_heartbeat; /* as of the last sweep */
	uint32_t last_poll;
	uint32_t status_since;
	uint8_t  status;         /* enum ep_status */
	uint8_t  reason;         /* enum ep_reason */
	uint16_t notify_port;
	uint8_t  nips;
	uint8_t  key[HB_KEY_LEN];
	char     guid[EP_GUID_MAX + 1];
	char    *hostname;
	struct ep_addr ips[EP_MAX_IPS];
};

struct registry {
	struct endpoint *eps;    /* indexed by slot */
	uint32_t count;
	uint32_t cap;
	uint32_t online, offline;
	struct slot_index by_id;
	struct slot_index by_guid;
	uint8_t guid_hash_key[16];
	struct slot_table *table;
};

int registry_init(struct registry *r, struct slot_table *table);
void registry_destroy(struct registry *r);

struct endpoint *registry_by_id(struct registry *r, uint64_t id);
struct endpoint *registry_by_guid(struct registry *r, const char *guid);
struct endpoint *registry_by_slot(struct registry *r, uint32_t slot);

/* A new endpoint with a fresh id, slot and key, published to the workers.
 * Its status is online from `now` (registration is contact). */
int registry_add(struct registry *r, const char *guid, uint32_t now, struct endpoint **out);

/* A fresh key for a known endpoint; the old one stops working. */
void registry_rekey(struct registry *r, struct endpoint *ep);

/* Updates the online/offline counts with the status; for the sweep and
 * for registration. */
void registry_set_status(struct registry *r, struct endpoint *ep, enum ep_status st,
			 enum ep_reason reason, uint32_t now);

const char *ep_status_name(enum ep_status st);
const char *ep_reason_name(enum ep_reason reason);

#endif
