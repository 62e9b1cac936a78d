/*
 * Control-socket command handlers, grouped by concern in ctl_*.c and
 * listed once in the table of ctl_commands.c.
 */
#ifndef GLOURNET_CTL_COMMANDS_H
#define GLOURNET_CTL_COMMANDS_H

#include <stddef.h>
#include <jansson.h>

#include "control/daemon.h"

#define CTL_MAX_ARGS 16

/* Returns a result, or NULL with `err` set. */
typedef json_t *ctl_handler(struct gn_daemon *d, int argc, const char **argv, char *err,
			    size_t errlen);

ctl_handler cmd_show_status, cmd_show_client, cmd_show_stats;         /* ctl_show.c */
ctl_handler cmd_show_neighbours, cmd_show_routes, cmd_debug_send;     /* ctl_net.c */
ctl_handler cmd_remove_client;                                        /* ctl_remove.c */
ctl_handler cmd_show_notify, cmd_notify_cancel;                       /* notify_ctl.c */
ctl_handler cmd_import, cmd_export, cmd_show_bulk;                    /* ctl_bulk.c */
ctl_handler cmd_show_settings, cmd_set, cmd_range_add, cmd_range_del, /* ctl_policy.c */
	cmd_range_list, cmd_guard_release, cmd_component_add, cmd_component_del, cmd_component_list,
	cmd_endpoint_setting_set, cmd_endpoint_setting_del, cmd_endpoint_setting_list;

/* An endpoint by id (16 hex digits) or, failing that, by guid; NULL: none. */
struct endpoint *ctl_find_client(struct gn_daemon *d, const char *key);

/* [{range, unreachable_online, unreachable_offline}] for the current ranges. */
json_t *ctl_by_range_json(const struct gn_daemon *d);

#endif
