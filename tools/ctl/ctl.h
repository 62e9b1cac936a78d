/*
 * Internal interface of glournetctl, split by concern: talking to the
 * control socket (ctl_client.c), laying out aligned text tables
 * (ctl_table.c), turning any JSON result into tables (ctl_render.c) and the
 * friendlier views of the known commands and which command gets which
 * (ctl_views.c), following the transition stream of `watch` (ctl_watch.c);
 * running one command with its confirmation, stream and exit code
 * (ctl_run.c), the streamed answers of the fleet queries (ctl_list.c),
 * long lists of names and --wait (ctl_bulk_cli.c), words of a line
 * (ctl_words.c), batches (ctl_batch.c), completion from the daemon's
 * command table (ctl_complete.c) and `help COMMAND` (ctl_help.c).
 * glournetctl.c parses options and picks the mode; the interactive one
 * (ctl_interactive.c, libedit) is in the executable only. The rest is the
 * ctl_cli library, which tests/unit/test_ctl_views.c links to hold the
 * views to the real daemon's answers.
 */
#ifndef GLOURNET_CTL_H
#define GLOURNET_CTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

/* The exit codes are part of the CLI contract (docs/control-socket.md). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_ERROR = 1,       /* daemon said error, or the exchange failed */
	CTL_EXIT_USAGE = 2,       /* ours or the daemon's ("code": "usage"), or not confirmed */
	CTL_EXIT_NOT_RUNNING = 3, /* cannot connect to the socket */
	CTL_EXIT_DENIED = 4,      /* permission denied: credentials, or the read-only socket */
};

#define CTL_DEFAULT_SOCKET "/run/glournet/glournetd.sock"
#define CTL_REQUEST_MAX    (64 * 1024)        /* the protocol's line limit */
#define CTL_RESPONSE_MAX   (16 * 1024 * 1024) /* generous, the daemon may grow */

/* ---- ctl_client.c: one request/response exchange ---- */

enum ctl_call_status {
	CTL_CALL_OK,          /* response parsed; ok=true or ok=false */
	CTL_CALL_BAD_REQUEST, /* argv cannot be sent (not UTF-8, too long) */
	CTL_CALL_NO_CONNECT,  /* connect() failed: errno_val says why */
	CTL_CALL_FAILED,      /* connected, but the exchange went wrong */
};

struct ctl_reply {
	enum ctl_call_status status;
	int errno_val;     /* CTL_CALL_NO_CONNECT / transport failures */
	bool ok;           /* the daemon's "ok" */
	json_t *response;  /* whole parsed response, owns result/error */
	json_t *result;    /* borrowed from response when ok */
	const char *error; /* borrowed from response when !ok */
	const char *code;  /* borrowed: the error's kind ("usage", "denied", ...), or NULL */
	char why[256];     /* BAD_REQUEST, FAILED: what went wrong */
};

/* Sends {"argv": argv} to the socket at path, waits at most timeout_ms. */
void ctl_call(const char *path, int timeout_ms, int argc, char **argv, struct ctl_reply *reply);
void ctl_reply_release(struct ctl_reply *reply);

/* A connection that goes on after its first answer (watch). */
struct ctl_stream {
	int fd;    /* -1: closed */
	char *buf; /* received, not yet handed out: [start, end) */
	size_t cap, start, end, scan;
	bool eof;
};

/* ctl_call for a streaming command: on an ok answer the connection stays
 * open in *st (lines already received after the answer included);
 * otherwise st->fd is -1. Close it with ctl_stream_close either way. */
void ctl_call_stream(const char *path, int timeout_ms, int argc, char **argv,
		     struct ctl_reply *reply, struct ctl_stream *st);
/* Either of them with the request's "force" (-1: none sent, 0: a
 * destructive command answers a preview, 1: it runs); st NULL: ctl_call. */
void ctl_call_force(const char *path, int timeout_ms, int argc, char **argv, int force,
		    struct ctl_reply *reply, struct ctl_stream *st);
/* The next line, however long it takes: 1 with *line and *len (no newline,
 * not NUL-terminated, valid until the next call), 0 when the daemon closed
 * the connection, -EINTR when a signal left unblocked by sigmask arrived
 * (sigmask as for ppoll), or another negative errno. */
int ctl_stream_next(struct ctl_stream *st, const sigset_t *sigmask, const char **line, size_t *len);
void ctl_stream_close(struct ctl_stream *st);

/* ---- ctl_table.c: aligned columns ---- */

/* s as it may go to a terminal (glournet/text_safe.h: C0, DEL, C1 and bidi
 * controls, invalid UTF-8 as \xHH / \uXXXX escapes), malloc'd (NULL:
 * out of memory). Every table cell, and every name printed outside a
 * table, goes through it: a guid or hostname is whatever an agent sent. */
char *ctl_text_safe(const char *s);
/* For -j output: jansson writes every non-ASCII character as \uXXXX, so no
 * raw C1 or bidi control reaches a terminal (the JSON means the same). */
#define CTL_JSON_SAFE JSON_ENSURE_ASCII

struct ctl_table;

/* A table of ncols columns; rows fill cell by cell, left to right. A column
 * whose data cells are all numbers (or blank) is right-aligned. */
struct ctl_table *ctl_table_new(size_t ncols, bool has_header);
int ctl_table_add(struct ctl_table *t, const char *text);
int ctl_table_addf(struct ctl_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ctl_table_add_num(struct ctl_table *t, long long n);
int ctl_table_add_blank(struct ctl_table *t);
size_t ctl_table_rows(const struct ctl_table *t);
int ctl_table_print(const struct ctl_table *t, FILE *out, int indent);
void ctl_table_free(struct ctl_table *t);

/* ---- ctl_render.c: any JSON value as text ---- */

/* Lets a view format some keys its own way. Returns a malloc'd string, or
 * NULL to fall back to the default formatting. */
typedef char *(*ctl_format_fn)(const char *key, json_t *value);

struct ctl_render_opts {
	const char *const *first; /* keys shown first, NULL-terminated */
	ctl_format_fn format;     /* may be NULL */
};

int ctl_render_value(FILE *out, json_t *value, const struct ctl_render_opts *opts);
char *ctl_format_scalar(json_t *value);
bool ctl_is_inline(json_t *value);
char *ctl_format_time(long long t, bool relative);
char *ctl_format_duration(long long secs);

/* ---- ctl_views.c: the known commands, made friendly ---- */

void ctl_print_usage(FILE *out);
/* Each returns 0 or a negative errno; -EINVAL when the result is not
 * shaped as expected (the caller then falls back to ctl_render_value). */
typedef int ctl_view_fn(FILE *out, json_t *result);
ctl_view_fn ctl_view_status, ctl_view_client, ctl_view_stats, ctl_view_help, ctl_view_notify,
	ctl_view_cluster;
/* The view of the command argv[0..argc), or NULL: the generic renderer. */
ctl_view_fn *ctl_view_find(int argc, char *const *argv);
/* The result of argv as text: its view, or ctl_render_value when it has
 * none or the result is not shaped as the view expects. */
int ctl_print_human(FILE *out, json_t *result, int argc, char *const *argv);

/* ---- ctl_watch.c: the `watch` stream ---- */

/* Prints the events that follow the first answer of `watch` (human lines,
 * or with json each event's object as one line) until `count` events (0:
 * no limit), SIGINT/SIGTERM, or the daemon closing. Returns an exit code:
 * CTL_EXIT_OK for count reached or a signal, CTL_EXIT_ERROR when the
 * connection ended or a line was not understood. */
int ctl_watch_follow(struct ctl_stream *st, bool json, long long count);
/* One event (the object inside "event") as a human line, newline included. */
int ctl_watch_print_event(FILE *out, json_t *event);

/* ---- ctl_run.c: one command, as a script or a person runs it ---- */

/* How glournetctl was started (glournetctl.c), for every command it runs. */
struct ctl_opts {
	const char *socket;
	bool json;      /* -j: results and errors as JSON on stdout */
	int timeout_ms; /* for the connection and the first answer */
	bool force;     /* --force: destructive commands without asking */
	bool wait;      /* --wait: import and export until they end */
	bool can_ask;   /* a terminal to ask a confirmation on */
	bool progress;  /* stderr is a terminal: progress lines */
	bool interactive;
};

/* Runs argv (the command words and arguments) against glournetd: the
 * request, a confirmation if the daemon asks for one, the answer or its
 * stream printed, and the exit code of the contract. */
int ctl_run(const struct ctl_opts *o, int argc, char **argv);
/* The exit code for an error answer's "code" (NULL: an older daemon). */
int ctl_exit_for_code(const char *code, const char *error);
/* An error as the contract says: the message on stderr, and with -j also
 * {"ok": false, "error", "code", "exit"} on stdout. Returns `exit`. */
int ctl_fail(const struct ctl_opts *o, int exit, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Reports a finished exchange that did not end well (any status). */
int ctl_report_reply(const struct ctl_opts *o, const struct ctl_reply *r);
/* Asks "what? [y/N]" on the terminal: true for y or yes. */
bool ctl_ask(const char *what);
/* The command's words without the ones glournetctl takes itself
 * (--force, --wait): *force / *wait set when they were there. */
int ctl_take_local_flags(int *argc, char **argv, bool *force, bool *wait);

/* ---- ctl_list.c: the streamed answers of show clients, show counts,
 * remove client FILTER ---- */

/* Follows the stream after its first answer (`head`) to its last line:
 * rows, counts or removals printed, the summary on stderr. Returns an exit
 * code; *confirm is set (caller frees) when the stream ended by asking for
 * a confirmation, with its message. */
int ctl_list_follow(const struct ctl_opts *o, struct ctl_stream *st, json_t *head, char **confirm);
/* The tallies of a show counts (or dry-run) last line as tables. */
int ctl_list_print_counts(FILE *out, json_t *done);

/* ---- ctl_bulk_cli.c: long lists of names, --wait ---- */

/* remove client with --file, or more names than one request holds:
 * checked first (--dry-run), confirmed once, sent in batches. */
bool ctl_remove_is_batched(int argc, char **argv);
int ctl_remove_batched(const struct ctl_opts *o, int argc, char **argv);
/* After import/export answered "started": follows show bulk to the end. */
int ctl_bulk_wait(const struct ctl_opts *o, const char *kind);

/* ---- ctl_words.c: a line as words ---- */

/* Splits a line as a shell would, without expansions: blanks separate,
 * '...' and "..." quote (backslash escapes in "..." and outside), '#' at
 * a word's start comments out the rest. 0 with *argv (NULL-terminated,
 * free with ctl_words_free), -EINVAL with why (an open quote). */
int ctl_words_split(const char *line, int *argc, char ***argv, char *err, size_t errlen);
void ctl_words_free(char **argv);

/* ---- ctl_batch.c: -f FILE, or commands on stdin ---- */

/* Runs each line of `in` (`name` for messages) as a command; with
 * stop_on_error, stops at the first that fails. Returns 0, or the exit
 * code of the first failure (the last one run, with stop_on_error). */
int ctl_batch(const struct ctl_opts *o, FILE *in, const char *name, bool stop_on_error);

/* ---- ctl_complete.c: completion from glournetd's command table ---- */

/* The commands of `help` (the daemon's table), NULL when it does not
 * answer within timeout_ms. */
json_t *ctl_complete_table(const char *socket, int timeout_ms);
/* Appends to `out` the words that may follow words[0..nwords) (the
 * command and its arguments so far) and start with `cur`. `extra` adds
 * words of glournetctl's own at the command's place (NULL-terminated). */
void ctl_complete(json_t *commands, int nwords, char *const *words, const char *cur,
		  const char *const *extra, json_t *out);
/* `glournetctl completion bash`: the script, which calls back
 * `glournetctl completion words CWORD WORDS...` (ctl_complete_words). */
void ctl_complete_bash(FILE *out);
int ctl_complete_words(int argc, char **argv);

/* ---- ctl_interactive.c (the executable only: libedit) ---- */

/* The prompt, until Ctrl-D or quit: exit code 0. */
int ctl_interactive(const struct ctl_opts *o);

/* ---- ctl_help.c: help COMMAND ---- */

/* The commands of a `help WORDS` answer with their options and flags. */
int ctl_view_help_detail(FILE *out, json_t *result);

#endif
