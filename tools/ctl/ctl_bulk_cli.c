/*
 * The long operations seen through to their end from glournetctl.
 *
 * remove client with --file, or with more names than one request line
 * holds: the names go in batches of requests, each a `remove client` of
 * its own; so that the whole is still all or none, every batch is checked
 * first (--dry-run: a name that is no client stops it before anything is
 * removed, unless --missing-ok), the operator confirms once for the whole,
 * then the batches remove (--missing-ok: one removed meanwhile by someone
 * else is skipped, a busy store is waited for). The file is read twice
 * (stdin once, into a temporary file), never held whole.
 *
 * --wait: import and export run in glournetd's background; this follows
 * show bulk until the run ends, with a progress line on a terminal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define BATCH_NAMES 2000
#define BATCH_BYTES 48000 /* + quotes and commas: under the 64 KiB line */
#define BUSY_TRIES  100

struct names {
	char **argv; /* names on the command line */
	int argc, next;
	FILE *file;  /* then the file's, one a line */
	FILE *spool; /* stdin's names are copied here as they are read */
	char *line;
	size_t cap;
};

/* The next name, or NULL at the end (blank lines and # comments skipped). */
static const char *next_name(struct names *n)
{
	if (n->next < n->argc)
		return n->argv[n->next++];
	while (n->file && getline(&n->line, &n->cap, n->file) >= 0) {
		char *s = n->line, *e = s + strlen(s);
		while (*s == ' ' || *s == '\t')
			s++;
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s && *s != '#') {
			if (n->spool)
				fprintf(n->spool, "%s\n", s);
			return s;
		}
	}
	return NULL;
}

struct batch {
	char *argv[BATCH_NAMES + 4];
	char *own[BATCH_NAMES]; /* the copies of the names */
	int argc, nnames;
};

static void batch_free(struct batch *b)
{
	for (int i = 0; i < b->nnames; i++)
		free(b->own[i]);
	b->nnames = b->argc = 0;
}

/* The next batch of names after `head` words; false when there are none. */
static bool fill(struct batch *b, struct names *n, char *const *head, int nhead)
{
	size_t bytes = 0;
	const char *name;

	batch_free(b);
	for (b->argc = 0; b->argc < nhead; b->argc++)
		b->argv[b->argc] = head[b->argc];
	while (b->nnames < BATCH_NAMES && bytes < BATCH_BYTES && (name = next_name(n))) {
		if (!(b->own[b->nnames] = strdup(name)))
			break;
		bytes += strlen(name);
		b->argv[b->argc++] = b->own[b->nnames++];
	}
	return b->nnames > 0;
}

bool ctl_remove_is_batched(int argc, char **argv)
{
	size_t bytes = 0;
	int names = 0;

	if (argc < 2 || strcmp(argv[0], "remove") || strcmp(argv[1], "client"))
		return false;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--file") || !strncmp(argv[i], "--file=", 7))
			return true;
		if (strncmp(argv[i], "--", 2)) {
			names++;
			bytes += strlen(argv[i]);
		}
	}
	return names > BATCH_NAMES || bytes > BATCH_BYTES;
}

struct plan {
	struct names src;
	const char *file;
	bool missing_ok, dry_run;
	long long found, missing, removed, clients;
	json_t *first_missing;
};

static int read_args(const struct ctl_opts *o, int argc, char **argv, struct plan *p)
{
	p->src.argv = calloc((size_t)argc, sizeof(char *));
	if (!p->src.argv)
		return ctl_fail(o, CTL_EXIT_ERROR, "error", "out of memory");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--file") && i + 1 < argc)
			p->file = argv[++i];
		else if (!strncmp(argv[i], "--file=", 7))
			p->file = argv[i] + 7;
		else if (!strcmp(argv[i], "--missing-ok"))
			p->missing_ok = true;
		else if (!strcmp(argv[i], "--dry-run"))
			p->dry_run = true;
		else if (!strncmp(argv[i], "--", 2))
			return ctl_fail(o, CTL_EXIT_USAGE, "usage",
					"remove client with --file or many names: '%s' does not go "
					"with them (only --missing-ok, --dry-run, --force)",
					argv[i]);
		else
			p->src.argv[p->src.argc++] = argv[i];
	}
	if (argc > 2 && !strcmp(argv[argc - 1], "--file"))
		return ctl_fail(o, CTL_EXIT_USAGE, "usage", "remove client --file needs a file");
	return CTL_EXIT_OK;
}

/* Opens the names' source from the start; the second time, stdin's names
 * come from the spool the first pass filled. */
static int open_source(const struct ctl_opts *o, struct plan *p, FILE *spool, bool again)
{
	p->src.next = 0;
	p->src.spool = NULL;
	if (!p->file)
		return CTL_EXIT_OK;
	if (p->src.file && p->src.file != stdin && p->src.file != spool)
		fclose(p->src.file);
	p->src.file = NULL;
	if (spool && again) {
		rewind(spool);
		p->src.file = spool;
	} else if (spool) {
		p->src.file = stdin;
		p->src.spool = spool;
	} else if (!(p->src.file = fopen(p->file, "r"))) {
		return ctl_fail(o, CTL_EXIT_USAGE, "usage", "remove client --file %s: %s", p->file,
				strerror(errno));
	}
	return CTL_EXIT_OK;
}

/* One batch's exchange; a busy store is waited for. */
static int send_batch(const struct ctl_opts *o, struct batch *b, struct ctl_reply *r)
{
	for (int tries = 0;; tries++) {
		ctl_call_force(o->socket, o->timeout_ms, b->argc, b->argv, 1, r, NULL);
		if (r->status != CTL_CALL_OK || r->ok || tries >= BUSY_TRIES || !r->error ||
		    !strstr(r->error, "the store is busy"))
			return r->status == CTL_CALL_OK && r->ok ? 0 : ctl_report_reply(o, r);
		ctl_reply_release(r);
		nanosleep(&(struct timespec){.tv_nsec = 200 * 1000000}, NULL);
	}
}

/* Pass 1: every batch checked, nothing removed. */
static int check(const struct ctl_opts *o, struct plan *p)
{
	static char *head[] = {"remove", "client", "--dry-run", "--missing-ok"};
	struct batch *b = calloc(1, sizeof(*b));
	int code = CTL_EXIT_OK;

	while (b && code == CTL_EXIT_OK && fill(b, &p->src, head, 4)) {
		struct ctl_reply r;
		if ((code = send_batch(o, b, &r)) == CTL_EXIT_OK) {
			json_t *missing = json_object_get(r.result, "missing"), *m;
			size_t i;
			p->found += (long long)json_array_size(
				json_object_get(r.result, "would_remove"));
			p->missing += (long long)json_array_size(missing);
			json_array_foreach(missing, i, m) if (json_array_size(p->first_missing) < 5)
				json_array_append(p->first_missing, m);
		}
		ctl_reply_release(&r);
	}
	if (b)
		batch_free(b);
	free(b);
	return code;
}

/* Pass 2: the batches remove. */
static int apply(const struct ctl_opts *o, struct plan *p)
{
	static char *head[] = {"remove", "client", "--missing-ok"};
	struct batch *b = calloc(1, sizeof(*b));
	int code = CTL_EXIT_OK;

	while (b && code == CTL_EXIT_OK && fill(b, &p->src, head, 3)) {
		struct ctl_reply r;
		if ((code = send_batch(o, b, &r)) == CTL_EXIT_OK) {
			p->removed +=
				(long long)json_array_size(json_object_get(r.result, "removed"));
			p->clients = json_integer_value(json_object_get(r.result, "clients"));
			if (o->progress && !o->json)
				fprintf(stderr, "\r-- %lld of %lld removed --", p->removed,
					p->found);
		} else {
			fprintf(stderr, "glournetctl: %lld clients were removed before that\n",
				p->removed);
		}
		ctl_reply_release(&r);
	}
	if (o->progress && !o->json && p->removed)
		fputs("\r\033[K", stderr);
	if (b)
		batch_free(b);
	free(b);
	return code;
}

static int report(const struct ctl_opts *o, struct plan *p)
{
	if (o->json) {
		json_t *j = json_pack("{s:I, s:I, s:O}", p->dry_run ? "would_remove" : "removed",
				      (json_int_t)(p->dry_run ? p->found : p->removed), "missing",
				      (json_int_t)p->missing, "first_missing", p->first_missing);
		if (!p->dry_run)
			json_object_set_new(j, "clients", json_integer(p->clients));
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | CTL_JSON_SAFE);
		printf("%s\n", s ? s : "null");
		free(s);
		json_decref(j);
	} else if (p->dry_run) {
		printf("would remove %lld clients (%lld names are no client)\n", p->found,
		       p->missing);
	} else {
		printf("removed %lld clients (%lld names were no client; %lld clients left)\n",
		       p->removed, p->missing, p->clients);
	}
	return CTL_EXIT_OK;
}

int ctl_remove_batched(const struct ctl_opts *o, int argc, char **argv)
{
	struct plan p = {.first_missing = json_array()};
	FILE *spool = NULL;
	int code = read_args(o, argc, argv, &p);

	if (code == CTL_EXIT_OK && p.file && !strcmp(p.file, "-") && !(spool = tmpfile()))
		code = ctl_fail(o, CTL_EXIT_ERROR, "error", "cannot spool stdin: %s",
				strerror(errno));
	if (code == CTL_EXIT_OK)
		code = open_source(o, &p, spool, false);
	if (code == CTL_EXIT_OK)
		code = check(o, &p);
	if (code == CTL_EXIT_OK && p.missing && !p.missing_ok) {
		char *first = json_dumps(p.first_missing, JSON_COMPACT);
		code = ctl_fail(o, CTL_EXIT_ERROR, "error",
				"remove client: %lld names are no client (%s...); nothing removed "
				"(--missing-ok skips them)",
				p.missing, first ? first : "");
		free(first);
	} else if (code == CTL_EXIT_OK && !p.dry_run && !o->force) {
		char what[400];
		snprintf(what, sizeof(what),
			 "remove client: remove %lld clients named %s%s (their heartbeats are "
			 "refused at once)",
			 p.found, p.file ? "in " : "on the command line", p.file ? p.file : "");
		if (!o->can_ask)
			code = ctl_fail(o, CTL_EXIT_USAGE, "confirm",
					"%s: not done (confirm with --force, or run it on a "
					"terminal)",
					what);
		else if (!ctl_ask(what))
			code = ctl_fail(o, CTL_EXIT_ERROR, "cancelled", "cancelled: nothing done");
	}
	if (code == CTL_EXIT_OK && !p.dry_run && (code = open_source(o, &p, spool, true)) == 0)
		code = apply(o, &p);
	if (code == CTL_EXIT_OK)
		code = report(o, &p);
	if (p.src.file && p.src.file != stdin && p.src.file != spool)
		fclose(p.src.file);
	if (spool)
		fclose(spool);
	free(p.src.line);
	free(p.src.argv);
	json_decref(p.first_missing);
	return code;
}

/* ---- --wait ---- */

static void show_progress(const char *kind, json_t *k)
{
	long long ps = (long long)json_number_value(json_object_get(k, "per_second"));

	if (!strcmp(kind, "import"))
		fprintf(stderr,
			"\r-- import: line %lld, %lld added, %lld known, %lld refused "
			"(%lld/s) --",
			(long long)json_integer_value(json_object_get(k, "line")),
			(long long)json_integer_value(json_object_get(k, "added")),
			(long long)json_integer_value(json_object_get(k, "known")),
			(long long)json_integer_value(json_object_get(k, "refused")), ps);
	else
		fprintf(stderr, "\r-- export: %lld endpoints written (%lld/s) --",
			(long long)json_integer_value(json_object_get(k, "exported")), ps);
}

int ctl_bulk_wait(const struct ctl_opts *o, const char *kind)
{
	static char *argv[] = {"show", "bulk"};

	for (;;) {
		struct ctl_reply r;
		ctl_call(o->socket, o->timeout_ms, 2, argv, &r);
		if (r.status != CTL_CALL_OK || !r.ok) {
			int code = ctl_report_reply(o, &r);
			ctl_reply_release(&r);
			return code;
		}
		json_t *k = json_object_get(r.result, kind);
		if (!json_is_object(k)) {
			ctl_reply_release(&r);
			return ctl_fail(o, CTL_EXIT_ERROR, "error", "show bulk has no %s", kind);
		}
		if (json_is_true(json_object_get(k, "running"))) {
			if (o->progress && !o->json)
				show_progress(kind, k);
			ctl_reply_release(&r);
			nanosleep(&(struct timespec){.tv_nsec = 200 * 1000000}, NULL);
			continue;
		}
		if (o->progress && !o->json)
			fputs("\r\033[K", stderr);
		const char *failure = json_string_value(json_object_get(k, "failure"));
		int code = CTL_EXIT_OK;
		if (failure && *failure) {
			code = ctl_fail(o, CTL_EXIT_ERROR, "error", "%s failed: %s", kind, failure);
		} else if (o->json) {
			char *s =
				json_dumps(k, JSON_INDENT(2) | JSON_PRESERVE_ORDER | CTL_JSON_SAFE);
			printf("%s\n", s ? s : "null");
			free(s);
		} else {
			printf("%s done:\n", kind);
			ctl_render_value(stdout, k, NULL);
		}
		ctl_reply_release(&r);
		return code;
	}
}
