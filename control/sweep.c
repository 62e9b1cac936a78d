/*
 * Status sweep. last contact = max(newest heartbeat over all workers,
 * latest registration); the status follows from its age alone, so a sweep
 * can run at any time and twice in a row without changing the answer.
 */
#define LOG_TAG "sweep"
#include "control/sweep.h"
#include "glournet/log.h"

void sweep_run(struct registry *r, uint32_t now, uint32_t offline_after, struct sweep_result *res)
{
	res->went_online = res->went_offline = 0;
	for (uint32_t slot = 0; slot < r->count; slot++) {
		struct endpoint *ep = &r->eps[slot];
		uint32_t hb = slot_table_last_seen(r->table, slot);
		ep->last_heartbeat = hb;
		uint32_t last = hb > ep->last_register ? hb : ep->last_register;
		/* last <= now always (workers store min(time, now)); guard anyway. */
		int online = last && (now < last || now - last < offline_after);
		if (online && ep->status != EP_ONLINE) {
			registry_set_status(r, ep, EP_ONLINE,
					    hb >= ep->last_register ? EP_REASON_HEARTBEAT
								    : EP_REASON_REGISTERED, now);
			res->went_online++;
			LOG(DEBUG, "%016llx %s: offline -> online", (unsigned long long)ep->id, ep->guid);
		} else if (!online && ep->status != EP_OFFLINE) {
			registry_set_status(r, ep, EP_OFFLINE, EP_REASON_NO_CONTACT, now);
			res->went_offline++;
			LOG(DEBUG, "%016llx %s: online -> offline", (unsigned long long)ep->id, ep->guid);
		} else if (online && hb > ep->last_register && ep->reason != EP_REASON_HEARTBEAT) {
			ep->reason = EP_REASON_HEARTBEAT;   /* still online, now on heartbeats */
		}
	}
	if (res->went_online || res->went_offline)
		LOG(INFO, "%u went online, %u went offline; %u online, %u offline",
		    res->went_online, res->went_offline, r->online, r->offline);
}
