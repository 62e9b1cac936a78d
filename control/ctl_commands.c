/*
 * Control-socket commands, declared once in `commands[]`: name, arguments,
 * help, handler, flags and options. `help` (and so glournetctl's help, its
 * completion and its confirmation prompts) is generated from the table;
 * nothing else lists the commands. The dispatcher holds every rule the
 * table states, before a command runs: the read-only socket, the options
 * and the count of arguments (usage errors), the preview of a destructive
 * command that a client asked to confirm.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl_clients.h"
#include "control/ctl_commands.h"

struct ctl_cmd {
	const char *name;
	const char *args;
	const char *help;
	int min_args, max_args; /* positional words (options not counted) */
	ctl_handler *fn;
	/* Added columns, after the first six so that a row written as
	 * {name, args, help, min, max, fn} stays valid (and read-write). */
	unsigned flags;             /* enum ctl_cmd_flags */
	const struct ctl_opt *opts; /* NULL: no options, every word positional */
	ctl_call_handler *call_fn;  /* instead of fn: needs the call (stream, confirm) */
	ctl_handler *preview;       /* CTL_F_CONFIRM with fn: what it would do, not doing it */
	const char *complete;       /* what positional words complete to (ctl_args_choices) */
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

static const struct ctl_opt watch_opts[] = {
	{"--from", "SEQ", NULL, "from event #SEQ on (to resume: the last one seen + 1)"},
	{NULL, NULL, NULL, NULL},
};

#define R  CTL_F_READ
#define C  CTL_F_CONFIRM
#define S  CTL_F_STREAM
#define MA (CTL_MAX_ARGS - 2)

/* clang-format off */
static const struct ctl_cmd commands[] = {
	{"help", "[COMMAND]", "list the commands, or those that start with COMMAND's words", 0, 3,
	 cmd_help, .flags = R},
	{"show status", "", "status counts of all clients, version, uptime, guard, store", 0, 0,
	 cmd_show_status, .flags = R},
	{"show client", "<id|guid>", "one client's status and last contacts", 1, 1, cmd_show_client,
	 .flags = R},
	{"show clients", "[FILTER...] [--sort KEY] [--limit N] [--after SLOT]",
	 "list the clients that match every filter given, streamed in slot order (or by status; "
	 "by guid or last contact up to --limit), one line each", 0, 0, NULL,
	 .flags = R | S, .opts = ctl_list_opts, .call_fn = cmd_show_clients},
	{"show counts", "[FILTER...]",
	 "count the clients that match: by status, reason, unreachable range and last contact",
	 0, 0, NULL, .flags = R | S, .opts = ctl_count_opts, .call_fn = cmd_show_counts},
	{"remove client", "<id|guid>... | FILTER... | --file FILE",
	 "remove clients: their heartbeats are refused at once, their slots reused later "
	 "(answered before the store has committed the deletion); names all or none, a filter "
	 "streams what it removes", 0, MA, NULL,
	 .flags = C | S, .opts = ctl_remove_opts, .call_fn = cmd_remove_client},
	{"import", "FILE [jsonl|csv]",
	 "add endpoints from a file (absolute path, read by the daemon); runs in the background, "
	 "see show bulk; known guids are skipped, bad lines refused by number", 1, 2, cmd_import},
	{"export", "FILE [jsonl|csv]",
	 "write every endpoint, keys included, to FILE (mode 0600, complete or absent); "
	 "runs in the background, see show bulk", 1, 2, cmd_export},
	{"show cluster", "",
	 "several collectors on PostgreSQL: who decides, the epoch, the lease's age, every "
	 "collector (last seen), the contact feed's lag, the store's primary", 0, 0,
	 cmd_show_cluster, .flags = R},
	{"show bulk", "", "progress and errors of the last import and export", 0, 0, cmd_show_bulk,
	 .flags = R},
	{"show stats", "", "per-worker packet counters, drops by reason, HTTP counters", 0, 0,
	 cmd_show_stats, .flags = R},
	{"show settings", "", "the policy: every setting, its range and default; warnings", 0, 0,
	 cmd_show_settings, .flags = R},
	{"set", "NAME VALUE [NAME VALUE ...]", "change settings, all or none, live and persisted",
	 2, CTL_MAX_ARGS - 1, cmd_set, .complete = "@settings"},
	{"range add", "SPEC...", "add unreachable ranges: a.b.c.d-e.f.g.h or p::/len", 1, MA,
	 cmd_range_add},
	{"range del", "SPEC...", "remove unreachable ranges", 1, MA, cmd_range_del},
	{"range list", "", "unreachable ranges with their endpoint counts", 0, 0, cmd_range_list,
	 .flags = R},
	{"component add", "NAME VERSION SHA256 URL [URL...]",
	 "add a component for the endpoints, or replace the one of that name (1..8 URLs)", 4,
	 MA, cmd_component_add},
	{"component del", "NAME", "remove a component", 1, 1, cmd_component_del},
	{"component list", "", "the components the endpoints are told to run", 0, 0,
	 cmd_component_list, .flags = R},
	{"endpoint-setting set", "KEY VALUE", "set a free-form endpoint setting", 2, 2,
	 cmd_endpoint_setting_set},
	{"endpoint-setting del", "KEY", "remove an endpoint setting", 1, 1,
	 cmd_endpoint_setting_del},
	{"endpoint-setting list", "", "the endpoint settings the endpoints are told", 0, 0,
	 cmd_endpoint_setting_list, .flags = R},
	{"guard release", "", "confirm a mass offline: apply the held transitions (R10)", 0, 0,
	 cmd_guard_release, .flags = C, .preview = cmd_guard_release_preview},
	{"show notify", "", "notify campaigns and verifications: the running ones with their "
	 "progress, the last ones (R11, R12)", 0, 0, cmd_show_notify, .flags = R},
	{"notify cancel", "", "stop the running campaigns: nothing more is sent or re-sent; what "
	 "a change left unacked is sent at each endpoint's next contact", 0, 0, cmd_notify_cancel},
	{"watch", "[--from SEQ]", "follow status transitions live", 0, 0, cmd_watch,
	 .flags = R | S, .opts = watch_opts},
	{"show neighbours", "", "next hops for the TX path: the kernel's neighbours on the "
	 "exception interface and those learned from frames", 0, 0, cmd_show_neighbours,
	 .flags = R},
	{"show routes", "", "the kernel's routes out of the exception interface, as mirrored",
	 0, 0, cmd_show_routes, .flags = R},
	{"debug send", "ADDRESS PORT [TEXT]",
	 "send one UDP datagram from the heartbeat address and port out of the port (a "
	 "reachability check)", 2, 3, cmd_debug_send},
};
/* clang-format on */
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

#undef R
#undef C
#undef S
#undef MA

static json_t *choices_json(const char *choices)
{
	json_t *list = json_array();
	const char *c = ctl_args_choices(choices);
	while (c && *c) {
		size_t n = strcspn(c, "|");
		if (n)
			json_array_append_new(list, json_stringn(c, n));
		c += n + (c[n] == '|');
	}
	return list;
}

/* One row as help tells it: glournetctl's help, completion and prompts
 * read "flags", "options" and "complete". */
static json_t *command_json(const struct ctl_cmd *c)
{
	json_t *flags = json_array(), *opts = json_array();
	if (c->flags & CTL_F_READ)
		json_array_append_new(flags, json_string("read"));
	if (c->flags & CTL_F_CONFIRM)
		json_array_append_new(flags, json_string("confirm"));
	if (c->flags & CTL_F_STREAM)
		json_array_append_new(flags, json_string("stream"));
	for (const struct ctl_opt *o = c->opts; o && o->name; o++) {
		json_t *oj =
			json_pack("{s:s, s:s}", "name", o->name, "help", o->help ? o->help : "");
		if (o->value)
			json_object_set_new(oj, "value", json_string(o->value));
		if (o->choices)
			json_object_set_new(oj, "choices", choices_json(o->choices));
		json_array_append_new(opts, oj);
	}
	if (c->flags & CTL_F_CONFIRM)
		json_array_append_new(opts, json_pack("{s:s, s:s}", "name", "--force", "help",
						      "do it without asking"));
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", c->name, "args", c->args, "help",
			      c->help, "flags", flags, "options", opts);
	if (c->complete)
		json_object_set_new(o, "complete", choices_json(c->complete));
	return o;
}

/* Whether the command's name starts with the words argv[0..argc). */
static bool name_starts_with(const char *name, int argc, const char **argv)
{
	size_t pos = 0;
	for (int w = 0; w < argc; w++) {
		size_t wl = strcspn(name + pos, " ");
		if (strlen(argv[w]) != wl || strncmp(argv[w], name + pos, wl) != 0)
			return false;
		pos += wl;
		if (!name[pos])
			return w + 1 == argc;
		pos++;
	}
	return true;
}

static json_t *cmd_help(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)d;
	json_t *list = json_array();
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (name_starts_with(commands[i].name, argc, argv))
			json_array_append_new(list, command_json(&commands[i]));
	if (argc && !json_array_size(list)) {
		json_decref(list);
		snprintf(err, errlen, "usage: help: no command starts with '%s%s%s' (try 'help')",
			 argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		return NULL;
	}
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

/* "unknown command 'show foo' (show: status, client, ...)": the words that
 * were tried, and what follows the first one where that is a group. */
static void unknown_command(int argc, const char **argv, char *err, size_t errlen)
{
	char next[512] = "";
	size_t n = 0;
	for (size_t i = 0; i < N_COMMANDS && n + 40 < sizeof(next); i++)
		if (name_starts_with(commands[i].name, 1, argv) && strchr(commands[i].name, ' '))
			n += (size_t)snprintf(next + n, sizeof(next) - n, "%s%s", n ? ", " : "",
					      strchr(commands[i].name, ' ') + 1);
	if (n && argc > 1)
		snprintf(err, errlen, "usage: unknown command '%.64s %.64s' (%s: %s)", argv[0],
			 argv[1], argv[0], next);
	else if (n)
		snprintf(err, errlen, "usage: '%.64s' needs more words (%s: %s)", argv[0], argv[0],
			 next);
	else
		snprintf(err, errlen, "usage: unknown command '%.64s' (try 'help')", argv[0]);
}

/* Options checked against the row, positional words counted. Returns
 * the positional count, or -1 with a usage message. */
static int check_args(const struct ctl_cmd *cmd, int argc, const char **argv, char *err,
		      size_t errlen)
{
	struct ctl_args it = ctl_args_start(cmd->opts, argc, argv);
	struct ctl_arg a;
	int positional = 0, rc;
	while ((rc = ctl_args_next(&it, &a, err, errlen)) > 0)
		positional += !a.opt;
	if (rc < 0)
		return -1;
	if (positional < cmd->min_args || positional > cmd->max_args) {
		snprintf(err, errlen, "usage: %s %s", cmd->name, cmd->args);
		return -1;
	}
	return positional;
}

/* A confirm row takes "--force" in argv too (a client without "force").
 * Removes it from argv (compacting it); true when there was one. */
static bool take_force(int *argc, const char **argv)
{
	bool found = false;
	int k = 0;
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) { /* the rest is positional */
			while (i < *argc)
				argv[k++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--force") == 0)
			found = true;
		else
			argv[k++] = argv[i];
	}
	*argc = k;
	return found;
}

static char *reply(json_t *result, const char *error, const char *code, json_t *extra)
{
	json_t *o = result ? json_pack("{s:b, s:o}", "ok", 1, "result", result)
			   : json_pack("{s:b, s:s, s:s}", "ok", 0, "error", error, "code", code);
	if (!result && extra && o)
		json_object_update(o, extra);
	json_decref(extra);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* A preview becomes the error that asks for confirmation. */
static json_t *confirm_from(json_t *preview, struct ctl_call *call, char *err, size_t errlen)
{
	if (!preview)
		return NULL;
	const char *what = json_string_value(json_object_get(preview, "confirm"));
	snprintf(err, errlen, "%s", what ? what : "this cannot be undone");
	call->code = CTL_CODE_CONFIRM;
	call->extra = json_pack("{s:o}", "preview", preview);
	return NULL;
}

static json_t *run(struct gn_daemon *d, const struct ctl_cmd *cmd, int argc, const char **argv,
		   struct ctl_call *call, char *err, size_t errlen)
{
	if (call->read_only && !(cmd->flags & CTL_F_READ)) {
		snprintf(err, errlen,
			 "%s: refused on the read-only control socket, which can show and "
			 "watch only",
			 cmd->name);
		call->code = CTL_CODE_READ_ONLY;
		return NULL;
	}
	bool force = false;
	if (cmd->flags & CTL_F_CONFIRM)
		force = take_force(&argc, argv);
	if (force)
		call->ask = false;
	if (check_args(cmd, argc, argv, err, errlen) < 0)
		return NULL;
	if (cmd->call_fn)
		return cmd->call_fn(d, argc, argv, call, err, errlen);
	if ((cmd->flags & CTL_F_CONFIRM) && call->ask && cmd->preview)
		return confirm_from(cmd->preview(d, argc, argv, err, errlen), call, err, errlen);
	return cmd->fn(d, argc, argv, err, errlen);
}

char *ctl_dispatch_call(struct gn_daemon *d, const char *line, size_t len, struct ctl_call *call)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, 0, &jerr);
	json_t *argv_j = json_object_get(req, "argv");
	json_t *force_j = json_object_get(req, "force");
	static const char *argv[CTL_MAX_ARGS];
	size_t argc = json_array_size(argv_j);
	char err[512];
	call->code = NULL;
	call->extra = NULL;
	call->query = NULL;
	if (!json_is_array(argv_j) || argc == 0 || argc > CTL_MAX_ARGS ||
	    (force_j && !json_is_boolean(force_j))) {
		d->ctl.bad_requests++;
		json_decref(req);
		snprintf(err, sizeof(err),
			 "malformed request: expected {\"argv\": [\"word\", ...]} (1..%d words) "
			 "and an optional boolean \"force\"",
			 CTL_MAX_ARGS);
		return reply(NULL, err, CTL_CODE_USAGE, NULL);
	}
	for (size_t i = 0; i < argc; i++) {
		argv[i] = json_string_value(json_array_get(argv_j, i));
		if (!argv[i]) {
			d->ctl.bad_requests++;
			json_decref(req);
			return reply(NULL, "malformed request: every argv element must be a string",
				     CTL_CODE_USAGE, NULL);
		}
	}
	/* No "force" at all: a client from before confirmations, which asked
	 * its operator itself (or never did): run it as it always ran. */
	call->ask = json_is_false(force_j);
	int used = 0;
	const struct ctl_cmd *cmd = match((int)argc, argv, &used);
	json_t *result = NULL;
	err[0] = '\0';
	if (!cmd)
		unknown_command((int)argc, argv, err, sizeof(err));
	else
		result = run(d, cmd, (int)argc - used, argv + used, call, err, sizeof(err));
	if (!result && !call->code)
		call->code = strncmp(err, "usage: ", 7) == 0 ? CTL_CODE_USAGE : CTL_CODE_ERROR;
	if (!result && call->query) { /* a stream opens only with an ok answer */
		ctl_query_free(call->query);
		call->query = NULL;
	}
	char *out = reply(result, err[0] ? err : "failed", call->code, call->extra);
	call->extra = NULL;
	json_decref(req);
	return out;
}

char *ctl_dispatch(struct gn_daemon *d, const char *line, size_t len)
{
	struct ctl_call call = {.read_only = false};
	char *out = ctl_dispatch_call(d, line, len, &call);
	/* A streaming command's first answer only: no transport to run it. */
	ctl_query_free(call.query);
	return out;
}
