/*
 * `glournetctl watch`: follows glournetd's transition events live. Unlike
 * the other commands it has no deadline once the daemon has answered, so
 * it owns its signal handling: SIGINT and SIGTERM end it cleanly (exit 0)
 * instead of killing it mid-line, and only interrupt the wait for input,
 * never the printing of an event.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* What catch_stop_signals changed, put back when the watch ends (the
 * prompt and a batch go on after it). */
struct saved_signals {
	sigset_t mask;
	struct sigaction on_int, on_term;
};

/* Blocks SIGINT and SIGTERM except while waiting for input: no race
 * between testing the flag and going to sleep. */
static void catch_stop_signals(sigset_t *wait_mask, struct saved_signals *saved)
{
	struct sigaction sa = {.sa_handler = on_stop};
	sigset_t stops;

	stop_signal = 0;
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &saved->mask);
	*wait_mask = saved->mask;
	sigdelset(wait_mask, SIGINT);
	sigdelset(wait_mask, SIGTERM);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &saved->on_int);
	sigaction(SIGTERM, &sa, &saved->on_term);
}

static void restore_signals(const struct saved_signals *saved)
{
	sigaction(SIGINT, &saved->on_int, NULL);
	sigaction(SIGTERM, &saved->on_term, NULL);
	sigprocmask(SIG_SETMASK, &saved->mask, NULL);
}

static long long int_of(json_t *obj, const char *key, long long dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static const char *str_of(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int ctl_watch_print_event(FILE *out, json_t *event)
{
	const char *kind = str_of(event, "kind");
	const char *id = str_of(event, "id");
	char *guid = ctl_text_safe(str_of(event, "guid")); /* names from outside */
	const char *old = str_of(event, "old"), *new_ = str_of(event, "new");
	const char *reason = str_of(event, "reason");
	long long count = int_of(event, "count", -1);
	char *when = ctl_format_time(int_of(event, "time", 0), false);
	char *raw = NULL;
	int n;

	n = fprintf(out, "%s  #%lld  ", when ? when : "?", int_of(event, "seq", 0));
	free(when);
	if (n < 0) {
		free(guid);
		return -EIO;
	}
	if (!kind && id && old && new_)
		n = fprintf(out, "%s  %s  %s -> %s  (%s)\n", id, guid && *guid ? guid : "-", old,
			    new_, reason ? reason : "?");
	else if (kind && !strcmp(kind, "removed") && id)
		n = fprintf(out, "%s  %s  REMOVED (%s, was %s)\n", id, guid && *guid ? guid : "-",
			    str_of(event, "cause") ? str_of(event, "cause") : "?",
			    str_of(event, "status") ? str_of(event, "status") : "?");
	else if (kind && !strcmp(kind, "guard-raised") && count >= 0)
		n = fprintf(out, "GUARD RAISED: %lld endpoints held\n", count);
	else if (kind && !strcmp(kind, "guard-released") && count >= 0)
		n = fprintf(out, "GUARD RELEASED: %lld endpoints released\n", count);
	else { /* a kind this glournetctl does not know: show it whole */
		raw = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER | CTL_JSON_SAFE);
		n = fprintf(out, "%s  %s\n", kind ? kind : "event", raw ? raw : "?");
		free(raw);
	}
	free(guid);
	return n < 0 ? -EIO : 0;
}

static int print_json_line(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | CTL_JSON_SAFE);

	if (!text)
		return -ENOMEM;
	puts(text);
	free(text);
	return 0;
}

/* One line of the stream: 1 an event, 0 anything else understood,
 * -EPROTO not JSON, other negative errno: cannot print. */
static int handle_line(const char *line, size_t len, bool json)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	json_t *event = json_object_get(o, "event");
	json_t *missed = json_object_get(o, "missed");
	int err = 0;

	if (!json_is_object(o)) {
		json_decref(o);
		return -EPROTO;
	}
	if (json_is_object(event)) {
		err = json ? print_json_line(event) : ctl_watch_print_event(stdout, event);
		err = err ? err : 1;
	} else if (json_is_integer(missed)) {
		if (json)
			err = print_json_line(o);
		else
			fprintf(stderr,
				"-- missed %lld events; resuming at "
				"#%lld --\n",
				(long long)json_integer_value(missed), int_of(o, "resume", 0));
	}
	/* Anything else is from a newer glournetd: not ours to judge. */
	json_decref(o);
	return err;
}

int ctl_watch_follow(struct ctl_stream *st, bool json, long long count)
{
	sigset_t wait_mask;
	struct saved_signals saved;
	long long seen = 0;
	int code = CTL_EXIT_OK;

	catch_stop_signals(&wait_mask, &saved);
	while (!stop_signal && (count <= 0 || seen < count)) {
		const char *line;
		size_t len;
		int rc = ctl_stream_next(st, &wait_mask, &line, &len);

		if (rc == -EINTR)
			continue;
		if (rc <= 0) {
			if (rc == 0)
				fputs("glournetctl: glournetd closed the "
				      "connection\n",
				      stderr);
			else
				fprintf(stderr,
					"glournetctl: cannot read from "
					"glournetd: %s\n",
					strerror(-rc));
			code = CTL_EXIT_ERROR;
			break;
		}
		rc = handle_line(line, len, json);
		if (rc == -EPROTO) {
			fprintf(stderr,
				"glournetctl: malformed line from "
				"glournetd: %.*s\n",
				(int)(len > 200 ? 200 : len), line);
			code = CTL_EXIT_ERROR;
			break;
		}
		if (rc < 0 || fflush(stdout) != 0) {
			code = CTL_EXIT_ERROR; /* main says why */
			break;
		}
		seen += rc;
	}
	restore_signals(&saved);
	return code;
}
