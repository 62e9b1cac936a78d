/*
 * The load generator's endpoint credential set: id, slot and key of every
 * simulated endpoint, filled by bulk registration or read from the daemon's
 * JSON-lines export, and written back in that same format so the two tools
 * share one file format.
 */
#ifndef GLOURNET_LG_ENDPOINTS_H
#define GLOURNET_LG_ENDPOINTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "glournet/heartbeat.h"

#define LG_GUID_MAX 64

struct lg_ep {
	uint64_t id;
	uint32_t slot;
	uint8_t key[HB_KEY_LEN];
	uint16_t notify_port; /* as registered; 0: not known (then the options') */
};

/* Guids live in one arena (one allocation, not one per endpoint): at ten
 * million endpoints a malloc each would cost more than the credentials. */
struct lg_endpoints {
	struct lg_ep *eps;
	uint32_t *guid_off; /* offset of endpoint i's guid in guids */
	char *guids;
	size_t n, cap, guids_len, guids_cap;
};

int lg_endpoints_add(struct lg_endpoints *set, const char *guid, const struct lg_ep *ep);
const char *lg_endpoints_guid(const struct lg_endpoints *set, size_t i);
void lg_endpoints_free(struct lg_endpoints *set);

/*
 * Reads JSON lines {"guid":..,"id":"<16 hex>","slot":N,"key":"<32 hex>",...}
 * with an optional "notify_port" (other fields ignored). On a bad line: -EINVAL, with "FILE:LINE: why"
 * in err. Blank lines are skipped.
 */
int lg_endpoints_load(const char *path, struct lg_endpoints *set, char *err, size_t errlen);
/* id, slot, key (and notify_port, when there) of a JSON object (a file line
 * or a registration answer). */
struct json_t;
int lg_ep_from_json(const struct json_t *o, struct lg_ep *ep, char *err, size_t errlen);
/* Parses one line (the unit of lg_endpoints_load); -EINVAL with why in err. */
int lg_endpoints_parse_line(const char *line, size_t len, struct lg_endpoints *set, char *err,
			    size_t errlen);
/* Writes the set as JSON lines, mode 0600 (keys), to a new file of its own
 * (path.tmpXXXXXX, O_EXCL), then renames it over path. */
int lg_endpoints_save(const char *path, const struct lg_endpoints *set);

#endif
