/*
 * Friendlier views of the commands an operator types most: status keys in
 * the order one reads them, times as dates, per-worker counters side by
 * side. Anything shaped unexpectedly is left to the generic renderer, so a
 * newer daemon never makes glournetctl fail to print its answer. Which
 * command gets which view is here too (ctl_view_find), so that the unit
 * test that feeds the real daemon's answers through them (test_ctl_views)
 * picks exactly what glournetctl picks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void ctl_print_usage(FILE *out)
{
	fputs("usage: glournetctl [-s PATH] [-j] [--timeout DUR] [--force] COMMAND [ARGS...]\n"
	      "       glournetctl [-s PATH] [-j] -f FILE|- [-e]     a batch, one command a line\n"
	      "       glournetctl [-s PATH]                        on a terminal: the prompt\n"
	      "       glournetctl completion bash                  the bash completion script\n"
	      "\n"
	      "Ask glournetd, the heartbeat collector, through its control socket.\n"
	      "\n"
	      "options:\n"
	      "  -s, --socket PATH  control socket (default: $GLOURNET_SOCKET, else\n"
	      "                     " CTL_DEFAULT_SOCKET ")\n"
	      "  -j, --json         results, and errors, as JSON on stdout\n"
	      "      --timeout DUR  give up on glournetd after DUR (500ms, 10s, 1m; default 10s)\n"
	      "      --force        do destructive commands (remove, guard release)\n"
	      "                     without asking; off a terminal they need it\n"
	      "      --wait         import, export: follow it to its end, with progress\n"
	      "  -f, --file FILE    run FILE's commands (- for stdin); -e stops at the\n"
	      "                     first that fails\n"
	      "  -V, --version      glournetctl's version (show status: glournetd's)\n"
	      "  -h, --help         show this help and glournetd's commands\n"
	      "\n"
	      "help COMMAND shows a command's options. watch [--from SEQ] [--count N]\n"
	      "follows status transitions live, from event #SEQ on (to resume: the last\n"
	      "one seen + 1), until Ctrl-C (exit 0), N events (exit 0) or glournetd\n"
	      "closing (exit 1). show clients streams the clients that match its filters\n"
	      "(help show clients); remove client takes names, --file FILE or a filter.\n"
	      "--timeout covers the connection and the first answer of a stream.\n"
	      "\n"
	      "exit status: 0 ok, 1 glournetd answered an error (or no valid answer),\n"
	      "             2 usage error (glournetctl's or glournetd's; or a destructive\n"
	      "             command not confirmed), 3 glournetd is not running,\n"
	      "             4 permission denied (credentials, or the read-only socket)\n",
	      out);
}

static bool key_in(const char *key, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		if (strcmp(keys[i], key) == 0)
			return true;
	return false;
}

/* ---- show status ---- */

/* Bytes in the unit that reads best: "640.0 MiB". */
static char *format_bytes(long long n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	size_t u = 0;
	char *s = NULL;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	int rc = u ? asprintf(&s, "%.1f %s", v, units[u]) : asprintf(&s, "%lld B", n);
	if (rc < 0)
		s = NULL;
	return s;
}

/* No alarm is said, not left blank (issue 14): in show status and show
 * stats alike. NULL for any other key. */
static char *format_alarm(const char *key, json_t *value)
{
	if (!strcmp(key, "store.alarm") && json_is_string(value) && !*json_string_value(value))
		return strdup("none");
	return NULL;
}

static char *format_status_key(const char *key, json_t *value)
{
	static const char *const times[] = {"now", "started", "guard.since", NULL};
	static const char *const durations[] = {"offline_after", "uptime", NULL};
	long long n = json_integer_value(value);
	char *s = format_alarm(key, value), *human;

	if (s)
		return s;
	if (!json_is_integer(value))
		return NULL;
	if (key_in(key, times) && n == 0)
		return strdup(strcmp(key, "guard.since") ? "never" : "-");
	if (key_in(key, times))
		human = ctl_format_time(n, false);
	else if (key_in(key, durations))
		human = ctl_format_duration(n);
	else if (!strcmp(key, "table_bytes"))
		return format_bytes(n);
	else
		return NULL;
	if (human && asprintf(&s, "%lld (%s)", n, human) < 0)
		s = NULL;
	free(human);
	return s;
}

int ctl_view_status(FILE *out, json_t *result)
{
	static const char *const first[] = {
		"clients", "online", "offline", "unreachable_online", "unreachable_offline",
		"version", "uptime", NULL,
	};
	const struct ctl_render_opts opts = {
		.first = first,
		.format = format_status_key,
	};

	if (!json_is_object(result))
		return -EINVAL;
	return ctl_render_value(out, result, &opts);
}

/* ---- show client ---- */

static char *format_client_key(const char *key, json_t *value)
{
	static const char *const times[] = {
		"last_heartbeat", "last_poll",   "last_contact", "registered",
		"status_since",   "last_notify", "last_ack",     NULL,
	};

	if (!json_is_integer(value) || !key_in(key, times))
		return NULL;
	return ctl_format_time(json_integer_value(value), true);
}

int ctl_view_client(FILE *out, json_t *result)
{
	const struct ctl_render_opts opts = {.format = format_client_key};

	if (!json_is_object(result))
		return -EINVAL;
	return ctl_render_value(out, result, &opts);
}

/* ---- show stats ---- */

struct stats {
	json_t *workers; /* array of worker objects */
	json_t *total;   /* object or NULL */
};

/* obj[key], or obj[group][key] when group is set. */
static json_t *counter(json_t *obj, const char *group, const char *key)
{
	if (group)
		obj = json_object_get(obj, group);
	return json_object_get(obj, key);
}

/* Sum of all integer members of obj[group]; -1 when there are none. */
static long long group_sum(json_t *obj, const char *group)
{
	json_t *members = json_object_get(obj, group), *v;
	long long sum = -1;
	const char *key;

	json_object_foreach(members, key, v) if (json_is_integer(v)) sum =
		(sum < 0 ? 0 : sum) + json_integer_value(v);
	return sum;
}

static void add_opt_num(struct ctl_table *t, json_t *v)
{
	if (json_is_integer(v))
		ctl_table_add_num(t, json_integer_value(v));
	else
		ctl_table_add_blank(t);
}

/* One counter across the workers; the total comes from the daemon when it
 * sent one, else it is summed here. */
static void counter_row(struct ctl_table *t, const struct stats *st, const char *label,
			const char *group, const char *key, bool with_total)
{
	long long sum = 0;
	bool summable = true;
	size_t i;
	json_t *w, *v;

	ctl_table_add(t, label);
	json_array_foreach(st->workers, i, w)
	{
		v = counter(w, group, key);
		add_opt_num(t, v);
		summable &= json_is_integer(v);
		sum += json_integer_value(v);
	}
	if (!with_total)
		ctl_table_add_blank(t);
	else if (st->total && counter(st->total, group, key))
		add_opt_num(t, counter(st->total, group, key));
	else if (summable)
		ctl_table_add_num(t, sum);
	else
		ctl_table_add_blank(t);
}

static void dropped_row(struct ctl_table *t, const struct stats *st)
{
	long long sum = 0, n;
	size_t i;
	json_t *w;

	ctl_table_add(t, "dropped");
	json_array_foreach(st->workers, i, w)
	{
		n = group_sum(w, "dropped");
		if (n < 0)
			ctl_table_add_blank(t);
		else
			ctl_table_add_num(t, n);
		sum += n < 0 ? 0 : n;
	}
	n = st->total ? group_sum(st->total, "dropped") : -1;
	ctl_table_add_num(t, n < 0 ? sum : n);
}

static bool any_worker_has(const struct stats *st, const char *key)
{
	size_t i;
	json_t *w;

	json_array_foreach(st->workers, i, w) if (json_object_get(w, key)) return true;
	return false;
}

/* Drop reasons in the daemon's order, including any only the total has. */
static json_t *drop_reasons(const struct stats *st)
{
	json_t *reasons = json_object(), *w, *v;
	const char *key;
	size_t i;

	json_array_foreach(st->workers, i, w)
		json_object_foreach(json_object_get(w, "dropped"), key, v)
			json_object_set_new(reasons, key, json_true());
	json_object_foreach(json_object_get(st->total, "dropped"), key, v)
		json_object_set_new(reasons, key, json_true());
	return reasons;
}

/* The keys of a per-worker group only the workers have (exception). */
static json_t *worker_group_keys(const struct stats *st, const char *group)
{
	json_t *keys = json_object(), *w, *v;
	const char *key;
	size_t i;

	json_array_foreach(st->workers, i, w) json_object_foreach(json_object_get(w, group), key, v)
		json_object_set_new(keys, key, json_true());
	return keys;
}

static struct ctl_table *stats_table(const struct stats *st)
{
	size_t nw = json_array_size(st->workers), i;
	struct ctl_table *t = ctl_table_new(nw + 2, true);
	json_t *reasons = drop_reasons(st), *w, *v;
	const char *key;

	ctl_table_add(t, "counter");
	json_array_foreach(st->workers, i, w)
	{
		v = json_object_get(w, "worker");
		if (json_is_integer(v))
			ctl_table_addf(t, "w%lld", (long long)json_integer_value(v));
		else
			ctl_table_addf(t, "w%zu", i);
	}
	ctl_table_add(t, "total");
	if (any_worker_has(st, "lcore"))
		counter_row(t, st, "lcore", NULL, "lcore", false);
	if (any_worker_has(st, "queue"))
		counter_row(t, st, "queue", NULL, "queue", false);
	counter_row(t, st, "rx", NULL, "rx", true);
	counter_row(t, st, "accepted", NULL, "accepted", true);
	if (json_object_size(reasons))
		dropped_row(t, st);
	json_object_foreach(reasons, key, v)
	{
		char label[128];

		snprintf(label, sizeof(label), "  %s", key);
		counter_row(t, st, label, "dropped", key, true);
	}
	json_decref(reasons);
	/* What became of the frames that were not ours (docs/exception-path.md). */
	json_t *exc = worker_group_keys(st, "exception");
	if (json_object_size(exc)) {
		ctl_table_add(t, "exception");
		for (i = 0; i <= nw; i++)
			ctl_table_add_blank(t);
	}
	json_object_foreach(exc, key, v)
	{
		char label[128];

		snprintf(label, sizeof(label), "  %s", key);
		counter_row(t, st, label, "exception", key, true);
	}
	json_decref(exc);
	return t;
}

/* Whatever else the daemon sends (http counters, future sections). */
static int stats_rest(FILE *out, json_t *result)
{
	json_t *rest = json_object(), *v;
	const char *key;
	int err = 0;

	json_object_foreach(result, key, v) if (strcmp(key, "workers") && strcmp(key, "total"))
		json_object_set(rest, key, v);
	if (json_object_size(rest)) {
		const struct ctl_render_opts opts = {.format = format_alarm};

		fputc('\n', out);
		err = ctl_render_value(out, rest, &opts);
	}
	json_decref(rest);
	return err;
}

int ctl_view_stats(FILE *out, json_t *result)
{
	struct stats st = {
		.workers = json_object_get(result, "workers"),
		.total = json_object_get(result, "total"),
	};
	struct ctl_table *t;
	size_t i;
	json_t *w;
	int err;

	if (!json_is_array(st.workers) || (st.total && !json_is_object(st.total)))
		return -EINVAL;
	json_array_foreach(st.workers, i, w) if (!json_is_object(w)) return -EINVAL;
	t = stats_table(&st);
	err = ctl_table_print(t, out, 0);
	ctl_table_free(t);
	return err ? err : stats_rest(out, result);
}

/* ---- show notify ---- */

static char *format_notify_key(const char *key, json_t *value)
{
	if (!json_is_integer(value))
		return NULL;
	long long n = json_integer_value(value);
	if (!strcmp(key, "next_verify"))
		return n ? ctl_format_time(n, true) : strdup("-");
	if (!strcmp(key, "retry_after"))
		return ctl_format_duration(n);
	if (!strcmp(key, "verify_interval"))
		return n ? ctl_format_duration(n) : strdup("0 (off)");
	return NULL;
}

static void campaign_row(struct ctl_table *t, json_t *c)
{
	static const char *const nums[] = {"targeted", "deferred", "sent",    "resent", "acked",
					   "polled",   "gave_up",  "dropped", "pending"};
	ctl_table_add_num(t, json_integer_value(json_object_get(c, "id")));
	ctl_table_add(t, json_string_value(json_object_get(c, "kind")));
	ctl_table_add(t, json_string_value(json_object_get(c, "state")));
	ctl_table_add(t, json_string_value(json_object_get(c, "trigger")));
	ctl_table_add_num(t, json_integer_value(json_object_get(c, "settings_rev")));
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		ctl_table_add_num(t, json_integer_value(json_object_get(c, nums[i])));
	ctl_table_addf(t, "%.0f/s", json_number_value(json_object_get(c, "rate")));
	json_t *p = json_object_get(c, "progress");
	ctl_table_addf(t, "%.1f%%", json_number_value(json_object_get(p, "percent")));
	long long started = json_integer_value(json_object_get(c, "started"));
	long long finished = json_integer_value(json_object_get(c, "finished"));
	char *a = ctl_format_time(started, false),
	     *b = finished ? ctl_format_time(finished, false) : strdup("-");
	ctl_table_add(t, a ? a : "?");
	ctl_table_add(t, b ? b : "?");
	free(a);
	free(b);
}

/* The settings and queues as rows, then one table of the campaigns: the
 * running ones first, then the last ones, newest first. */
int ctl_view_notify(FILE *out, json_t *result)
{
	static const char *const head[] = {"id",       "kind",     "state",   "trigger", "rev",
					   "targeted", "deferred", "sent",    "resent",  "acked",
					   "polled",   "gave_up",  "dropped", "pending", "rate",
					   "walked",   "started",  "finished"};
	json_t *running = json_object_get(result, "running"),
	       *last = json_object_get(result, "last");
	if (!json_is_object(result) || !json_is_array(running) || !json_is_array(last))
		return -EINVAL;
	json_t *rest = json_deep_copy(result);
	json_object_del(rest, "running");
	json_object_del(rest, "last");
	const struct ctl_render_opts opts = {.format = format_notify_key};
	int err = ctl_render_value(out, rest, &opts);
	json_decref(rest);
	if (err)
		return err;
	size_t ncols = sizeof(head) / sizeof(head[0]), i;
	struct ctl_table *t = ctl_table_new(ncols, true);
	for (i = 0; i < ncols; i++)
		ctl_table_add(t, head[i]);
	json_t *c;
	json_array_foreach(running, i, c) campaign_row(t, c);
	json_array_foreach(last, i, c) campaign_row(t, c);
	fputs("\ncampaigns:\n", out);
	if (ctl_table_rows(t) > 1)
		err = ctl_table_print(t, out, 2);
	else
		fputs("  none yet\n", out);
	ctl_table_free(t);
	return err;
}

/* ---- show cluster ---- */

/* The lease and feed as rows, then the collectors and the store
 * primary's standbys as tables; no standby is said ("none"): an operator
 * must see at a glance that the store has no copy (docs/store.md). */
int ctl_view_cluster(FILE *out, json_t *result)
{
	json_t *cols = json_object_get(result, "collectors"),
	       *repl = json_object_get(result, "replication");
	if (!json_is_object(result))
		return -EINVAL;
	if (!json_is_true(json_object_get(result, "cluster"))) /* SQLite: no cluster */
		return ctl_render_value(out, result, NULL);
	if (!json_is_array(cols) || !json_is_array(repl))
		return -EINVAL;
	json_t *rest = json_deep_copy(result);
	json_object_del(rest, "collectors");
	json_object_del(rest, "replication");
	static const char *const first[] = {"name", "deciding", "epoch", "primary", NULL};
	const struct ctl_render_opts opts = {.first = first};
	int err = ctl_render_value(out, rest, &opts);
	json_decref(rest);
	if (err)
		return err;
	size_t i;
	json_t *c;
	struct ctl_table *t = ctl_table_new(4, true);
	ctl_table_add(t, "collector");
	ctl_table_add(t, "decides");
	ctl_table_add(t, "seen_ago");
	ctl_table_add(t, "addrs");
	json_array_foreach(cols, i, c)
	{
		ctl_table_add(t, json_string_value(json_object_get(c, "name")));
		ctl_table_add(t, json_is_true(json_object_get(c, "decides")) ? "yes" : "no");
		ctl_table_addf(t, "%.1fs", json_number_value(json_object_get(c, "seen_ago_s")));
		ctl_table_add(t, json_string_value(json_object_get(c, "addrs")));
	}
	fputs("\ncollectors:\n", out);
	err = ctl_table_rows(t) > 1 ? ctl_table_print(t, out, 2) : (fputs("  none\n", out), 0);
	ctl_table_free(t);
	if (err)
		return err;
	t = ctl_table_new(6, true);
	static const char *const head[] = {"standby", "client",    "state",
					   "sync",    "lag_bytes", "lag"};
	for (i = 0; i < 6; i++)
		ctl_table_add(t, head[i]);
	json_array_foreach(repl, i, c)
	{
		ctl_table_add(t, json_string_value(json_object_get(c, "name")));
		const char *cl = json_string_value(json_object_get(c, "client"));
		ctl_table_add(t, cl && *cl ? cl : "local");
		ctl_table_add(t, json_string_value(json_object_get(c, "state")));
		ctl_table_add(t, json_string_value(json_object_get(c, "sync_state")));
		ctl_table_add_num(t, json_integer_value(json_object_get(c, "lag_bytes")));
		ctl_table_addf(t, "%.3fs", json_number_value(json_object_get(c, "lag_s")));
	}
	fputs("\nreplication (the primary's standbys):\n", out);
	err = ctl_table_rows(t) > 1 ? ctl_table_print(t, out, 2) : (fputs("  none\n", out), 0);
	ctl_table_free(t);
	return err;
}

/* ---- which view ---- */

/* The views that know a command's result; the rest use the generic one. */
static const struct view {
	const char *words[2];
	ctl_view_fn *render;
} views[] = {
	{{"help", NULL}, ctl_view_help},       {{"show", "status"}, ctl_view_status},
	{{"show", "client"}, ctl_view_client}, {{"show", "stats"}, ctl_view_stats},
	{{"show", "notify"}, ctl_view_notify}, {{"show", "cluster"}, ctl_view_cluster},
};

ctl_view_fn *ctl_view_find(int argc, char *const *argv)
{
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		const struct view *v = &views[i];
		int n = v->words[1] ? 2 : 1;

		if (argc < n)
			continue;
		if (strcmp(argv[0], v->words[0]) == 0 &&
		    (n == 1 || strcmp(argv[1], v->words[1]) == 0))
			return v->render;
	}
	return NULL;
}

int ctl_print_human(FILE *out, json_t *result, int argc, char *const *argv)
{
	ctl_view_fn *view = ctl_view_find(argc, argv);
	int err = view ? view(out, result) : -EINVAL;

	/* A result the view does not recognise is still worth showing. */
	if (err == -EINVAL)
		err = ctl_render_value(out, result, NULL);
	return err;
}

/* ---- help ---- */

static bool commands_valid(json_t *commands)
{
	size_t i;
	json_t *c;

	if (!json_is_array(commands))
		return false;
	json_array_foreach(commands, i,
			   c) if (!json_is_string(json_object_get(c, "name"))) return false;
	return true;
}

/* The static usage, then the daemon's own command table. */
int ctl_view_help(FILE *out, json_t *result)
{
	json_t *commands = json_object_get(result, "commands"), *c;
	struct ctl_table *t;
	size_t i;
	int err;

	ctl_print_usage(out);
	fputs("\ncommands (from glournetd):\n", out);
	if (!commands_valid(commands))
		return ctl_render_value(out, result, NULL);
	t = ctl_table_new(3, false);
	json_array_foreach(commands, i, c)
	{
		ctl_table_add(t, json_string_value(json_object_get(c, "name")));
		ctl_table_add(t, json_string_value(json_object_get(c, "args")));
		ctl_table_add(t, json_string_value(json_object_get(c, "help")));
	}
	err = ctl_table_print(t, out, 2);
	ctl_table_free(t);
	return err;
}
