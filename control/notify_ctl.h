/*
 * The notify engine's views for the control socket (notify_ctl.c): the
 * command handlers are declared with the others in ctl_commands.h.
 */
#ifndef GLOURNET_NOTIFY_CTL_H
#define GLOURNET_NOTIFY_CTL_H

#include <jansson.h>

#include "control/daemon.h"

/* {id, kind, state, trigger, flags, settings_rev, targeted, deferred, sent,
 * resent, acked, polled, gave_up, dropped, pending, notifies, rate,
 * started, finished, progress: {walked, slots, percent, walking}} */
json_t *notify_campaign_json(const struct notify_campaign *c, const struct registry *r);
/* ["settings", "components", "verify"], those set in `flags`. */
json_t *notify_flags_json(uint16_t flags);
/* `show client`'s "notify": {source, notify_port, notifiable, pending,
 * state, tries, last_notify, last_ack, no_ack}. */
json_t *notify_client_json(const struct gn_daemon *d, const struct endpoint *ep);
/* `show stats`' "notify": the counters and what is queued. */
json_t *notify_stats_json(const struct gn_daemon *d);

#endif
