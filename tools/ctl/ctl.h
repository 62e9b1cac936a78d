/*
 * Internal interface of glournetctl, split by concern: talking to the
 * control socket (ctl_client.c), laying out aligned text tables
 * (ctl_table.c), turning any JSON result into tables (ctl_render.c) and the
 * friendlier views of the known commands and which command gets which
 * (ctl_views.c), following the transition stream of `watch` (ctl_watch.c).
 * glournetctl.c only parses options and maps outcomes to exit codes; the
 * rest is the ctl_cli library, which tests/unit/test_ctl_views.c links to
 * hold the views to the real daemon's answers.
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
	CTL_EXIT_ERROR = 1, /* daemon said error, or the exchange failed */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_NOT_RUNNING = 3, /* cannot connect to the socket */
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
/* The next line, however long it takes: 1 with *line and *len (no newline,
 * not NUL-terminated, valid until the next call), 0 when the daemon closed
 * the connection, -EINTR when a signal left unblocked by sigmask arrived
 * (sigmask as for ppoll), or another negative errno. */
int ctl_stream_next(struct ctl_stream *st, const sigset_t *sigmask, const char **line, size_t *len);
void ctl_stream_close(struct ctl_stream *st);

/* ---- ctl_table.c: aligned columns ---- */

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
ctl_view_fn ctl_view_status, ctl_view_client, ctl_view_stats, ctl_view_help, ctl_view_notify;
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

#endif
