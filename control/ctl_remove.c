/*
 * `remove client`: the operator forgets endpoints (issue #5). Every name is
 * resolved before anything is removed, so a typo in a list removes nothing;
 * then each endpoint leaves the registry and the store (persist_remove).
 * The answer does not wait for the store's commit (the control socket
 * answers synchronously); the help says so.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define LOG_TAG "ctl"
#include "control/ctl_commands.h"
#include "control/persist.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

static json_t *removed_json(const struct endpoint *ep)
{
	char id[17];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)ep->id);
	json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "id", id, "guid", ep_guid(ep), "slot",
			      (json_int_t)ep->slot, "status", ep_status_name(ep->status));
	if (!o) /* a guid that is not UTF-8 */
		o = json_pack("{s:s, s:s, s:I, s:s}", "id", id, "guid", "", "slot",
			      (json_int_t)ep->slot, "status", ep_status_name(ep->status));
	return o;
}

json_t *cmd_remove_client(struct gn_daemon *d, int argc, const char **argv, char *err,
			  size_t errlen)
{
	struct endpoint *eps[CTL_MAX_ARGS];
	int n = 0;
	for (int i = 0; i < argc && i < CTL_MAX_ARGS; i++) {
		struct endpoint *ep = ctl_find_client(d, argv[i]);
		if (!ep) {
			snprintf(err, errlen,
				 "remove client: no client with id or guid '%s' "
				 "(nothing removed)",
				 argv[i]);
			return NULL;
		}
		bool twice = false; /* named by id and by guid, say */
		for (int k = 0; k < n; k++)
			twice |= eps[k] == ep;
		if (!twice)
			eps[n++] = ep;
	}
	uint32_t now = gn_coarse_now();
	json_t *removed = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = removed_json(eps[i]);
		uint64_t id = eps[i]->id;
		uint32_t slot = eps[i]->slot;
		if (persist_remove(d, eps[i], EP_REMOVED_OPERATOR, now) < 0) {
			snprintf(err, errlen,
				 "remove client: the store is busy: %d of %d removed; "
				 "'%s' and any after it were not, retry them",
				 i, n, ep_guid(eps[i]));
			LOG(WARN, "%s", err);
			json_decref(o);
			json_decref(removed);
			return NULL;
		}
		LOG(INFO, "client %016llx (slot %u) removed by an operator", (unsigned long long)id,
		    slot);
		json_array_append_new(removed, o);
	}
	return json_pack("{s:o, s:I}", "removed", removed, "clients", (json_int_t)d->reg.count);
}
