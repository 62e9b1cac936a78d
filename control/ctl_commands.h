/*
 * Control-socket command handlers, grouped by concern in ctl_*.c and
 * listed once in the table of ctl_commands.c, with what the transport,
 * help and completion need to know of each: whether it may run on the
 * read-only socket, whether it is destructive (a client that asks first
 * gets a preview), whether it streams, and its options.
 */
#ifndef GLOURNET_CTL_COMMANDS_H
#define GLOURNET_CTL_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "control/ctl_args.h"
#include "control/daemon.h"

/* Words in one request. The request line's 64 KiB (CTL_MAX_LINE) is the
 * real bound: `remove client` takes as many names as fit, and glournetctl
 * sends longer lists in several requests. */
#define CTL_MAX_ARGS 8192

/* The flags column of the table. A command without CTL_F_READ changes
 * glournetd (or reaches out of it: export writes a file, debug send a
 * packet) and is refused on the read-only socket: a new command is
 * refused there until its row says it only reads. */
enum ctl_cmd_flags {
	CTL_F_READ = 1 << 0,    /* shows or watches only: allowed on the read-only socket */
	CTL_F_CONFIRM = 1 << 1, /* destructive: "force": false in the request (glournetctl
				 * without --force) gets {"code": "confirm"} and a preview */
	CTL_F_STREAM = 1 << 2,  /* may answer with a stream of lines (ctl_clients.h) */
};

/* The kinds of error an answer's "code" names; glournetctl's exit codes
 * follow them (docs/control-socket.md). */
#define CTL_CODE_ERROR     "error"     /* the command failed: exit 1 */
#define CTL_CODE_USAGE     "usage"     /* malformed: unknown command or option, arguments: 2 */
#define CTL_CODE_DENIED    "denied"    /* not this client (credentials): 4 */
#define CTL_CODE_READ_ONLY "read-only" /* a changing command on the read-only socket: 4 */
#define CTL_CODE_CONFIRM   "confirm"   /* destructive, not confirmed: nothing done */

struct ctl_query;

/* One request as the transport hands it over, and what a command tells it
 * back besides its result. */
struct ctl_call {
	bool read_only;          /* in: from the read-only socket */
	bool ask;                /* in: "force": false, and no --force word: preview */
	const char *code;        /* out: the error's kind when not CTL_CODE_ERROR */
	json_t *extra;           /* out: members for the error answer ("preview") */
	struct ctl_query *query; /* out: the answer goes on as a stream (ctl_clients.h) */
};

/* Returns a result, or NULL with `err` set. An `err` that starts with
 * "usage: " is a usage error (CTL_CODE_USAGE). */
typedef json_t *ctl_handler(struct gn_daemon *d, int argc, const char **argv, char *err,
			    size_t errlen);
/* The same with the call: a streaming or confirming command's handler. */
typedef json_t *ctl_call_handler(struct gn_daemon *d, int argc, const char **argv,
				 struct ctl_call *call, char *err, size_t errlen);

ctl_handler cmd_show_status, cmd_show_client, cmd_show_stats;         /* ctl_show.c */
ctl_handler cmd_show_neighbours, cmd_show_routes, cmd_debug_send;     /* ctl_net.c */
ctl_call_handler cmd_remove_client;                                   /* ctl_remove.c */
ctl_call_handler cmd_show_clients, cmd_show_counts;                   /* ctl_clients.c */
ctl_handler cmd_guard_release_preview;                                /* ctl_confirm.c */
ctl_handler cmd_show_notify, cmd_notify_cancel;                       /* notify_ctl.c */
ctl_handler cmd_import, cmd_export, cmd_show_bulk;                    /* ctl_bulk.c */
ctl_handler cmd_show_cluster;                                         /* ctl_cluster.c */
ctl_handler cmd_show_settings, cmd_set, cmd_range_add, cmd_range_del, /* ctl_policy.c */
	cmd_range_list, cmd_guard_release, cmd_component_add, cmd_component_del, cmd_component_list,
	cmd_endpoint_setting_set, cmd_endpoint_setting_del, cmd_endpoint_setting_list;

/* The options of show clients, show counts and remove client (ctl_clients.c). */
extern const struct ctl_opt ctl_list_opts[], ctl_count_opts[], ctl_remove_opts[];

/* An endpoint by id (16 hex digits) or, failing that, by guid; NULL: none. */
struct endpoint *ctl_find_client(struct gn_daemon *d, const char *key);

/* [{range, unreachable_online, unreachable_offline}] for the current ranges. */
json_t *ctl_by_range_json(const struct gn_daemon *d);

/* The transport's entry (ctl_server.c): one request line in, one malloc'd
 * answer line out; `call` says where it came from and takes back what a
 * streaming command opened. */
char *ctl_dispatch_call(struct gn_daemon *d, const char *line, size_t len, struct ctl_call *call);

#endif
