/*
 * Control-socket commands, declared once in `commands[]`: name, arguments,
 * help and handler. `help` (and so glournetctl's help) is generated from
 * the table; nothing else lists the commands.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl_commands.h"

struct ctl_cmd {
	const char *name;
	const char *args;
	const char *help;
	int min_args, max_args;
	ctl_handler *fn;
};

static json_t *cmd_help(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen);

static json_t *cmd_watch(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	/* ctl_server streams watch itself; reaching here means it could not. */
	(void)d;
	(void)argc;
	(void)argv;
	snprintf(err, errlen, "watch: streams on its own connection (use glournetctl watch)");
	return NULL;
}

/* clang-format off */
static const struct ctl_cmd commands[] = {
	{"help", "", "list the commands", 0, 0, cmd_help},
	{"show status", "", "status counts of all clients", 0, 0, cmd_show_status},
	{"show client", "<id|guid>", "one client's status and last contacts", 1, 1, cmd_show_client},
	{"remove client", "<id|guid>...",
	 "remove clients: their heartbeats are refused at once, their slots reused later "
	 "(answered before the store has committed the deletion)", 1, CTL_MAX_ARGS - 2,
	 cmd_remove_client},
	{"import", "FILE [jsonl|csv]",
	 "add endpoints from a file (absolute path, read by the daemon); runs in the background, "
	 "see show bulk; known guids are skipped, bad lines refused by number", 1, 2, cmd_import},
	{"export", "FILE [jsonl|csv]",
	 "write every endpoint, keys included, to FILE (mode 0600, complete or absent); "
	 "runs in the background, see show bulk", 1, 2, cmd_export},
	{"show bulk", "", "progress and errors of the last import and export", 0, 0, cmd_show_bulk},
	{"show stats", "", "per-worker packet counters, drops by reason, HTTP counters", 0, 0,
	 cmd_show_stats},
	{"show settings", "", "the policy: every setting, its range and default; warnings", 0, 0,
	 cmd_show_settings},
	{"set", "NAME VALUE [NAME VALUE ...]", "change settings, all or none, live and persisted",
	 2, CTL_MAX_ARGS - 1, cmd_set},
	{"range add", "SPEC...", "add unreachable ranges: a.b.c.d-e.f.g.h or p::/len", 1,
	 CTL_MAX_ARGS - 2, cmd_range_add},
	{"range del", "SPEC...", "remove unreachable ranges", 1, CTL_MAX_ARGS - 2, cmd_range_del},
	{"range list", "", "unreachable ranges with their endpoint counts", 0, 0, cmd_range_list},
	{"component add", "NAME VERSION SHA256 URL [URL...]",
	 "add a component for the endpoints, or replace the one of that name (1..8 URLs)", 4,
	 CTL_MAX_ARGS - 2, cmd_component_add},
	{"component del", "NAME", "remove a component", 1, 1, cmd_component_del},
	{"component list", "", "the components the endpoints are told to run", 0, 0,
	 cmd_component_list},
	{"endpoint-setting set", "KEY VALUE", "set a free-form endpoint setting", 2, 2,
	 cmd_endpoint_setting_set},
	{"endpoint-setting del", "KEY", "remove an endpoint setting", 1, 1,
	 cmd_endpoint_setting_del},
	{"endpoint-setting list", "", "the endpoint settings the endpoints are told", 0, 0,
	 cmd_endpoint_setting_list},
	{"guard release", "", "confirm a mass offline: apply the held transitions (R10)", 0, 0,
	 cmd_guard_release},
	{"show notify", "", "notify campaigns and verifications: the running ones with their "
	 "progress, the last ones (R11, R12)", 0, 0, cmd_show_notify},
	{"notify cancel", "", "stop the running campaigns: nothing more is sent or re-sent; what "
	 "a change left unacked is sent at each endpoint's next contact", 0, 0, cmd_notify_cancel},
	{"watch", "[--from SEQ]", "follow status transitions live", 0, 2, cmd_watch},
	{"show neighbours", "", "next hops for the TX path: the kernel's neighbours on the "
	 "exception interface and those learned from frames", 0, 0, cmd_show_neighbours},
	{"show routes", "", "the kernel's routes out of the exception interface, as mirrored",
	 0, 0, cmd_show_routes},
	{"debug send", "ADDRESS PORT [TEXT]",
	 "send one UDP datagram from the heartbeat address and port out of the port (a "
	 "reachability check)", 2, 3, cmd_debug_send},
};
/* clang-format on */
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static json_t *cmd_help(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)d;
	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	json_t *list = json_array();
	for (size_t i = 0; i < N_COMMANDS; i++)
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:s}", "name", commands[i].name, "args",
						commands[i].args, "help", commands[i].help));
	return json_pack("{s:o}", "commands", list);
}

/* The command whose name is the longest run of leading words of argv. */
static const struct ctl_cmd *match(int argc, const char **argv, int *consumed)
{
	const struct ctl_cmd *best = NULL;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const char *name = commands[i].name;
		int words = 0;
		size_t pos = 0;
		bool ok = true;
		while (name[pos] && ok) {
			size_t wl = strcspn(name + pos, " ");
			ok = words < argc && strlen(argv[words]) == wl &&
			     !strncmp(argv[words], name + pos, wl);
			pos += wl + (name[pos + wl] == ' ');
			words++;
		}
		if (ok && (!best || words > *consumed)) {
			best = &commands[i];
			*consumed = words;
		}
	}
	return best;
}

static char *reply(json_t *result, const char *error)
{
	json_t *o = result ? json_pack("{s:b, s:o}", "ok", 1, "result", result)
			   : json_pack("{s:b, s:s}", "ok", 0, "error", error);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

char *ctl_dispatch(struct gn_daemon *d, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, 0, &jerr);
	json_t *argv_j = json_object_get(req, "argv");
	const char *argv[CTL_MAX_ARGS];
	size_t argc = json_array_size(argv_j);
	char err[512];
	if (!json_is_array(argv_j) || argc == 0 || argc > CTL_MAX_ARGS) {
		d->ctl.bad_requests++;
		json_decref(req);
		return reply(
			NULL,
			"malformed request: expected {\"argv\": [\"word\", ...]} (1..16 words)");
	}
	for (size_t i = 0; i < argc; i++) {
		argv[i] = json_string_value(json_array_get(argv_j, i));
		if (!argv[i]) {
			d->ctl.bad_requests++;
			json_decref(req);
			return reply(NULL,
				     "malformed request: every argv element must be a string");
		}
	}
	int used = 0;
	const struct ctl_cmd *cmd = match((int)argc, argv, &used);
	json_t *result = NULL;
	int nargs = (int)argc - used;
	if (!cmd) {
		snprintf(err, sizeof(err), "unknown command '%s' (try 'help')", argv[0]);
	} else if (nargs < cmd->min_args || nargs > cmd->max_args) {
		snprintf(err, sizeof(err), "usage: %s %s", cmd->name, cmd->args);
	} else {
		result = cmd->fn(d, nargs, argv + used, err, sizeof(err));
	}
	char *out = reply(result, err);
	json_decref(req);
	return out;
}
