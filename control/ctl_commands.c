/*
 * Control-socket commands, declared once in `commands[]`: name, arguments,
 * help and handler. `help` (and so glournetctl's help) is generated from
 * the table; nothing else lists the commands.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#define LOG_TAG "ctl"
#include "control/daemon.h"
#include "glournet/coarse_clock.h"
#include "glournet/gn_mem.h"
#include "glournet/log.h"

#define CTL_MAX_ARGS 16

struct ctl_cmd {
	const char *name;
	const char *args;
	const char *help;
	int min_args, max_args;
	/* Returns a result, or NULL with `err` set. */
	json_t *(*fn)(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen);
};

static json_t *cmd_help(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen);

static json_t *cmd_show_status(struct gn_daemon *d, int argc, const char **argv, char *err,
			       size_t errlen)
{
	(void)argc; (void)argv; (void)err; (void)errlen;
	const struct registry *r = &d->reg;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"clients", (json_int_t)r->count,
		"online", (json_int_t)r->online,
		"offline", (json_int_t)r->offline,
		"unreachable_online", (json_int_t)0,
		"unreachable_offline", (json_int_t)0,
		"now", (json_int_t)gn_coarse_now(),
		"started", (json_int_t)d->started,
		"offline_after", (json_int_t)d->opt.offline_after,
		"workers", (json_int_t)d->nworkers,
		"table_bytes", (json_int_t)gn_table_bytes());
}

static struct endpoint *find_client(struct gn_daemon *d, const char *key)
{
	if (strlen(key) == 16 && strspn(key, "0123456789abcdef") == 16) {
		struct endpoint *ep = registry_by_id(&d->reg, strtoull(key, NULL, 16));
		if (ep)
			return ep;
	}
	return registry_by_guid(&d->reg, key);
}

static json_t *client_json(struct gn_daemon *d, const struct endpoint *ep)
{
	char id[17];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)ep->id);
	json_t *ips = json_array();
	for (unsigned i = 0; i < ep->nips; i++) {
		char buf[INET6_ADDRSTRLEN];
		inet_ntop(ep->ips[i].family, ep->ips[i].bytes, buf, sizeof(buf));
		json_array_append_new(ips, json_string(buf));
	}
	/* Fresh from the workers, not as of the last sweep. */
	uint32_t hb = slot_table_last_seen(&d->table, ep->slot);
	uint32_t contact = hb > ep->last_register ? hb : ep->last_register;
	return json_pack("{s:s, s:s, s:I, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:I}",
		"id", id, "guid", ep->guid, "slot", (json_int_t)ep->slot,
		"status", ep_status_name(ep->status), "unreachable", 0,
		"last_heartbeat", (json_int_t)hb, "last_poll", (json_int_t)ep->last_poll,
		"last_contact", (json_int_t)contact, "registered", (json_int_t)ep->registered,
		"status_since", (json_int_t)ep->status_since,
		"reason", ep_reason_name(ep->reason),
		"hostname", ep->hostname ? ep->hostname : "", "ips", ips,
		"notify_port", (json_int_t)ep->notify_port);
}

static json_t *cmd_show_client(struct gn_daemon *d, int argc, const char **argv, char *err,
			       size_t errlen)
{
	(void)argc;
	struct endpoint *ep = find_client(d, argv[0]);
	if (!ep) {
		snprintf(err, errlen, "show client: no client with id or guid '%s'", argv[0]);
		return NULL;
	}
	return client_json(d, ep);
}

static json_t *verdicts_json(const uint64_t *v)
{
	json_t *o = json_object();
	for (int i = HB_ACCEPTED + 1; i < HB_VERDICT_COUNT; i++)
		json_object_set_new(o, hb_verdict_name(i), json_integer((json_int_t)v[i]));
	return o;
}

static json_t *cmd_show_stats(struct gn_daemon *d, int argc, const char **argv, char *err,
			      size_t errlen)
{
	(void)argc; (void)argv; (void)err; (void)errlen;
	json_t *workers = json_array();
	uint64_t total_rx = 0, total[HB_VERDICT_COUNT] = {0};
	for (unsigned w = 0; w < d->nworkers; w++) {
		struct worker_counters c;
		memcpy(&c, &d->counters[w], sizeof(c));   /* racy by design, each word whole */
		total_rx += c.rx;
		for (int i = 0; i < HB_VERDICT_COUNT; i++)
			total[i] += c.verdict[i];
		json_array_append_new(workers, json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}",
			"worker", (json_int_t)w, "lcore", (json_int_t)d->workers[w].lcore,
			"queue", (json_int_t)d->workers[w].queue, "rx", (json_int_t)c.rx,
			"accepted", (json_int_t)c.verdict[HB_ACCEPTED],
			"dropped", verdicts_json(c.verdict)));
	}
	json_t *http = json_object();
	json_object_set_new(http, "requests", json_integer((json_int_t)d->http_counters.requests));
	for (int i = 0; i < HTTP_COUNTER_COUNT; i++)
		json_object_set_new(http, http_counter_name(i),
				    json_integer((json_int_t)d->http_counters.by_result[i]));
	json_t *ctl = json_pack("{s:I, s:I}", "rejected", (json_int_t)d->ctl.rejected,
				"bad_requests", (json_int_t)d->ctl.bad_requests);
	const struct port_stats *ps = &d->port_stats;
	json_t *port = json_pack("{s:I, s:I, s:I, s:I, s:I}", "port_id", (json_int_t)d->port_id,
		"ipackets", (json_int_t)ps->ipackets, "imissed", (json_int_t)ps->imissed,
		"ierrors", (json_int_t)ps->ierrors, "rx_nombuf", (json_int_t)ps->rx_nombuf);
	return json_pack("{s:o, s:{s:I, s:I, s:o}, s:o, s:o, s:o}", "workers", workers,
		"total", "rx", (json_int_t)total_rx, "accepted", (json_int_t)total[HB_ACCEPTED],
		"dropped", verdicts_json(total), "port", port, "http", http, "control", ctl);
}

static const struct ctl_cmd commands[] = {
	{"help", "", "list the commands", 0, 0, cmd_help},
	{"show status", "", "status counts of all clients", 0, 0, cmd_show_status},
	{"show client", "<id|guid>", "one client's status and last contacts", 1, 1, cmd_show_client},
	{"show stats", "", "per-worker packet counters, drops by reason, HTTP counters", 0, 0,
	 cmd_show_stats},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static json_t *cmd_help(struct gn_daemon *d, int argc, const char **argv, char *err, size_t errlen)
{
	(void)d; (void)argc; (void)argv; (void)err; (void)errlen;
	json_t *list = json_array();
	for (size_t i = 0; i < N_COMMANDS; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "name", commands[i].name,
						      "args", commands[i].args, "help", commands[i].help));
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
			ok = words < argc && strlen(argv[words]) == wl && !strncmp(argv[words], name + pos, wl);
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
	char err[256];
	if (!json_is_array(argv_j) || argc == 0 || argc > CTL_MAX_ARGS) {
		d->ctl.bad_requests++;
		json_decref(req);
		return reply(NULL, "malformed request: expected {\"argv\": [\"word\", ...]} (1..16 words)");
	}
	for (size_t i = 0; i < argc; i++) {
		argv[i] = json_string_value(json_array_get(argv_j, i));
		if (!argv[i]) {
			d->ctl.bad_requests++;
			json_decref(req);
			return reply(NULL, "malformed request: every argv element must be a string");
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
