/*
 * The streamed answers of the fleet queries (show clients, show counts,
 * remove client FILTER; docs/control-socket.md): read line by line and
 * printed as they come, so glournetctl holds one line and one block of
 * rows whatever the fleet's size. The human table takes its column widths
 * from its first block of rows and keeps them (a wider cell later pushes
 * its row, the table goes on); -j prints each client as one JSON line and
 * the last line as it came. Ctrl-C stops the stream (and with it the
 * daemon's walk) as it stops `watch`.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define BLOCK_ROWS 256
#define NCOLS      6

static volatile sig_atomic_t stopped;

static void on_stop(int sig)
{
	stopped = sig;
}

struct rows {
	char *cells[BLOCK_ROWS][NCOLS];
	size_t n;
	size_t width[NCOLS];
	bool fixed; /* the widths are set: rows print as they come */
};

static const char *const heads[NCOLS] = {"ID",     "GUID",   "HOSTNAME",
					 "STATUS", "REASON", "LAST CONTACT"};

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : "-";
}

static void print_row(FILE *out, char *const *cells, const size_t *width)
{
	for (int c = 0; c + 1 < NCOLS; c++)
		fprintf(out, "%-*s  ", (int)width[c], cells[c]);
	fprintf(out, "%s\n", cells[NCOLS - 1]);
}

static void flush_block(struct rows *t, FILE *out)
{
	if (!t->fixed) {
		for (int c = 0; c < NCOLS; c++)
			if (strlen(heads[c]) > t->width[c])
				t->width[c] = strlen(heads[c]);
		print_row(out, (char *const *)heads, t->width);
		t->fixed = true;
	}
	for (size_t r = 0; r < t->n; r++) {
		print_row(out, t->cells[r], t->width);
		for (int c = 0; c < NCOLS; c++)
			free(t->cells[r][c]);
	}
	t->n = 0;
}

static void add_row(struct rows *t, FILE *out, json_t *client)
{
	long long lc = json_integer_value(json_object_get(client, "last_contact"));
	char **cells = t->cells[t->n];

	cells[0] = strdup(str(client, "id"));
	cells[1] = ctl_text_safe(str(client, "guid")); /* names agents sent */
	cells[2] = ctl_text_safe(str(client, "hostname"));
	cells[3] = strdup(str(client, "status"));
	cells[4] = strdup(str(client, "reason"));
	cells[5] = ctl_format_time(lc, true);
	for (int c = 0; c < NCOLS; c++) {
		if (!cells[c])
			cells[c] = strdup("?");
		size_t w = cells[c] ? strlen(cells[c]) : 1;
		if (!t->fixed && w > t->width[c])
			t->width[c] = w;
	}
	if (++t->n == BLOCK_ROWS || t->fixed)
		flush_block(t, out);
}

static int print_json_line(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | CTL_JSON_SAFE);

	if (!s)
		return -ENOMEM;
	puts(s);
	free(s);
	return 0;
}

static void section(FILE *out, const char *title, json_t *counts)
{
	struct ctl_table *t = ctl_table_new(2, false);
	const char *k;
	json_t *v;

	fprintf(out, "\n%s:\n", title);
	json_object_foreach(counts, k, v)
	{
		ctl_table_add(t, k);
		ctl_table_add_num(t, json_integer_value(v));
	}
	ctl_table_print(t, out, 2);
	ctl_table_free(t);
}

int ctl_list_print_counts(FILE *out, json_t *done)
{
	json_t *ranges = json_object_get(done, "by_range"), *r;
	size_t i;

	if (!json_is_object(json_object_get(done, "by_status")))
		return -EINVAL;
	fprintf(out, "matched  %lld of %lld clients\n",
		(long long)json_integer_value(json_object_get(done, "matched")),
		(long long)json_integer_value(json_object_get(done, "scanned")));
	section(out, "by status", json_object_get(done, "by_status"));
	section(out, "by reason", json_object_get(done, "by_reason"));
	section(out, "by last contact (under)", json_object_get(done, "by_last_contact"));
	if (json_array_size(ranges)) {
		struct ctl_table *t = ctl_table_new(3, true);

		fputs("\nby unreachable range:\n", out);
		ctl_table_add(t, "RANGE");
		ctl_table_add(t, "ONLINE");
		ctl_table_add(t, "OFFLINE");
		json_array_foreach(ranges, i, r)
		{
			ctl_table_add(t, str(r, "range"));
			ctl_table_add_num(t, json_integer_value(json_object_get(r, "online")));
			ctl_table_add_num(t, json_integer_value(json_object_get(r, "offline")));
		}
		ctl_table_print(t, out, 2);
		ctl_table_free(t);
	}
	return 0;
}

/* The last line of a stream, as a person reads it. */
static void print_done(const struct ctl_opts *o, const char *kind, json_t *done)
{
	long long matched = json_integer_value(json_object_get(done, "matched"));
	json_t *after = json_object_get(done, "after");

	if (!strcmp(kind, "list")) {
		fprintf(stderr,
			"-- %lld clients listed (%lld matched of %lld scanned, %lld ms) --\n",
			(long long)json_integer_value(json_object_get(done, "listed")), matched,
			(long long)json_integer_value(json_object_get(done, "scanned")),
			(long long)json_integer_value(json_object_get(done, "elapsed_ms")));
		if (json_is_integer(after))
			fprintf(stderr, "-- more: add --after %lld for the next page --\n",
				(long long)json_integer_value(after));
	} else if (!strcmp(kind, "remove")) {
		printf("removed %lld clients (%lld left)\n",
		       (long long)json_integer_value(json_object_get(done, "removed")),
		       (long long)json_integer_value(json_object_get(done, "clients")));
	} else {
		if (!strcmp(kind, "dry-run"))
			printf("would remove %lld clients matching %s\n\n", matched,
			       str(done, "filter"));
		ctl_list_print_counts(stdout, done);
	}
	(void)o;
}

static void progress(const struct ctl_opts *o, json_t *p)
{
	long long slot = json_integer_value(json_object_get(p, "slot"));
	long long slots = json_integer_value(json_object_get(p, "slots"));

	if (o->progress && !o->json)
		fprintf(stderr, "\r-- at slot %lld of %lld, %lld matched --", slot, slots,
			(long long)json_integer_value(json_object_get(p, "matched")));
}

/* One line of the stream: 1 the last one, 0 go on, < 0 an exit code (negated). */
static int handle(const struct ctl_opts *o, const char *kind, struct rows *t, json_t *line,
		  char **confirm)
{
	json_t *v;

	if ((v = json_object_get(line, "client")) || (v = json_object_get(line, "removed"))) {
		if (o->json)
			print_json_line(v);
		else if (json_object_get(line, "client"))
			add_row(t, stdout, v);
		else {
			char *guid = ctl_text_safe(str(v, "guid")); /* a name from outside */
			printf("removed  %s  %s  (was %s)\n", str(v, "id"), guid ? guid : "?",
			       str(v, "status"));
			free(guid);
		}
		return 0;
	}
	if ((v = json_object_get(line, "progress"))) {
		progress(o, v);
		return 0;
	}
	if (o->progress && !o->json)
		fputs("\r\033[K", stderr); /* the progress line goes */
	const char *error = json_string_value(json_object_get(line, "error"));
	const char *code = json_string_value(json_object_get(line, "code"));
	if (error && code && !strcmp(code, "confirm")) {
		*confirm = strdup(error);
		return 1;
	}
	if (error)
		return -ctl_fail(o, ctl_exit_for_code(code, error), code ? code : "error", "%s",
				 error);
	if ((v = json_object_get(line, "done"))) {
		if (t->n)
			flush_block(t, stdout);
		if (!o->json)
			print_done(o, kind, v);
		else if (!strcmp(kind, "count") || !strcmp(kind, "dry-run")) {
			char *s =
				json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | CTL_JSON_SAFE);
			printf("%s\n", s ? s : "null");
			free(s);
		} else
			print_json_line(line);
		return 1;
	}
	return 0; /* from a newer glournetd: not ours to judge */
}

int ctl_list_follow(const struct ctl_opts *o, struct ctl_stream *st, json_t *head, char **confirm)
{
	const char *kind = json_string_value(json_object_get(head, "kind"));
	struct sigaction sa = {.sa_handler = on_stop}, old_int, old_term;
	struct rows *t = calloc(1, sizeof(*t));
	sigset_t stops, old_mask, wait_mask;
	int code = CTL_EXIT_ERROR;

	*confirm = NULL;
	if (!t)
		return CTL_EXIT_ERROR;
	kind = kind ? kind : "list";
	stopped = 0;
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &old_mask);
	wait_mask = old_mask;
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	for (;;) {
		const char *line;
		size_t len;
		int rc = ctl_stream_next(st, &wait_mask, &line, &len);

		if (rc == -EINTR && stopped) {
			if (t->n)
				flush_block(t, stdout);
			code = !strcmp(kind, "remove")
				       ? ctl_fail(o, CTL_EXIT_ERROR, "error",
						  "interrupted: the removal stopped (those removed "
						  "stay removed)")
				       : CTL_EXIT_OK;
			break;
		}
		if (rc == -EINTR)
			continue;
		if (rc <= 0) {
			code = ctl_fail(
				o, CTL_EXIT_ERROR, "error", "%s",
				rc ? strerror(-rc)
				   : "glournetd closed the connection before the answer's end");
			break;
		}
		json_t *obj = json_loadb(line, len, 0, NULL);
		if (json_is_object(obj))
			rc = handle(o, kind, t, obj, confirm);
		else
			rc = -ctl_fail(o, CTL_EXIT_ERROR, "error",
				       "malformed line from glournetd: %.*s",
				       (int)(len > 200 ? 200 : len), line);
		json_decref(obj);
		if (rc) {
			code = rc < 0 ? -rc : *confirm ? CTL_EXIT_USAGE : CTL_EXIT_OK;
			break;
		}
		if (fflush(stdout) != 0) {
			code = CTL_EXIT_ERROR;
			break;
		}
	}
	for (size_t r = 0; r < t->n; r++)
		for (int c = 0; c < NCOLS; c++)
			free(t->cells[r][c]);
	free(t);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return code;
}
