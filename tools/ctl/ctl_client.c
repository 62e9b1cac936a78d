/*
 * The client side of the control socket (docs/control-socket.md): one JSON
 * line out, one JSON line back, all under a single deadline so a wedged
 * daemon cannot hang a script that calls glournetctl. A streaming command
 * (watch) keeps the connection after that first answer and reads further
 * lines without a deadline, interruptible by the signals it chooses.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

#define NO_DEADLINE INT64_MAX

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until fd is ready for events or the deadline (NO_DEADLINE: none)
 * passes. With a sigmask, the signals it leaves unblocked interrupt the
 * wait (-EINTR); without, interruptions are retried.
 */
static int wait_fd(int fd, short events, int64_t deadline, const sigset_t *sigmask)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		struct timespec ts, *tsp = NULL;
		int n;

		if (deadline != NO_DEADLINE) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = left % 1000 * 1000000;
			tsp = &ts;
		}
		n = ppoll(&pfd, 1, tsp, sigmask);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
		if (sigmask)
			return -EINTR;
	}
}

/* Returns a connected fd or a negative errno. A Unix connect only blocks
 * when the listen backlog is full; SO_SNDTIMEO bounds that wait. */
static int connect_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		err = errno == EAGAIN ? -ETIMEDOUT : -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n;
		int err = wait_fd(fd, POLLOUT, deadline, NULL);

		if (err)
			return err;
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int grow(struct ctl_stream *st)
{
	size_t ncap = st->cap ? st->cap * 2 : 4096;
	char *nbuf;

	if (ncap > CTL_RESPONSE_MAX + 1)
		ncap = CTL_RESPONSE_MAX + 1;
	nbuf = realloc(st->buf, ncap);
	if (!nbuf)
		return -ENOMEM;
	st->buf = nbuf;
	st->cap = ncap;
	return 0;
}

/*
 * The next line (newline excluded from *len), kept in the stream's buffer
 * until the next call; bytes after it stay for the next line. A line cut
 * by EOF is still handed over: the parser then says whether it is whole.
 * -ENODATA: EOF before any byte of a line; -EMSGSIZE: over the limit.
 */
static int recv_line(struct ctl_stream *st, int64_t deadline, const sigset_t *sigmask,
		     const char **line, size_t *len)
{
	for (;;) {
		char *nl = st->end > st->scan ? memchr(st->buf + st->scan, '\n', st->end - st->scan)
					      : NULL;
		ssize_t n;
		int err;

		if (nl || (st->eof && st->end > st->start)) {
			size_t stop = nl ? (size_t)(nl - st->buf) : st->end;

			*line = st->buf + st->start;
			*len = stop - st->start;
			st->start = st->scan = nl ? stop + 1 : stop;
			return 0;
		}
		st->scan = st->end;
		if (st->eof)
			return -ENODATA;
		if (st->end - st->start > CTL_RESPONSE_MAX)
			return -EMSGSIZE;
		if (st->start) { /* the partial line to the front */
			memmove(st->buf, st->buf + st->start, st->end - st->start);
			st->end -= st->start;
			st->scan = st->end;
			st->start = 0;
		}
		if (st->end == st->cap && (err = grow(st)))
			return err;
		if ((err = wait_fd(st->fd, POLLIN, deadline, sigmask)))
			return err;
		n = recv(st->fd, st->buf + st->end, st->cap - st->end, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			st->eof = true;
		st->end += (size_t)n;
	}
}

/* Builds the request line; fails on arguments that are not UTF-8. */
static char *build_request(int argc, char **argv, int force, size_t *len)
{
	json_t *args = json_array();
	json_t *req = json_pack("{s:o}", "argv", args);
	char *line = NULL;

	if (req && force >= 0 && json_object_set_new(req, "force", json_boolean(force)) < 0)
		goto out;
	for (int i = 0; req && i < argc; i++) {
		json_t *s = json_string(argv[i]);

		if (!s || json_array_append_new(args, s) < 0)
			goto out;
	}
	line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (line)
		*len = strlen(line);
out:
	json_decref(req);
	return line;
}

static void failed(struct ctl_reply *reply, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void failed(struct ctl_reply *reply, int err, const char *fmt, ...)
{
	va_list ap;

	reply->status = CTL_CALL_FAILED;
	reply->errno_val = err;
	va_start(ap, fmt);
	vsnprintf(reply->why, sizeof(reply->why), fmt, ap);
	va_end(ap);
}

static void parse_response(const char *line, size_t len, struct ctl_reply *reply)
{
	json_error_t jerr;
	json_t *resp = json_loadb(line, len, 0, &jerr);
	json_t *ok;

	if (!resp) {
		failed(reply, EPROTO,
		       "malformed response from glournetd: %s "
		       "(at byte %d)",
		       jerr.text, jerr.position);
		return;
	}
	ok = json_object_get(resp, "ok");
	if (!json_is_boolean(ok)) {
		json_decref(resp);
		failed(reply, EPROTO,
		       "malformed response from glournetd: "
		       "no boolean \"ok\"");
		return;
	}
	if (json_is_true(ok) && !json_object_get(resp, "result")) {
		json_decref(resp);
		failed(reply, EPROTO,
		       "malformed response from glournetd: "
		       "\"ok\" without \"result\"");
		return;
	}
	reply->status = CTL_CALL_OK;
	reply->response = resp;
	reply->ok = json_is_true(ok);
	reply->result = json_object_get(resp, "result");
	reply->error = json_string_value(json_object_get(resp, "error"));
	reply->code = json_string_value(json_object_get(resp, "code"));
	if (!reply->ok && !reply->error)
		reply->error = "glournetd reported an error without a message";
}

static void describe_io_error(struct ctl_reply *reply, int err, int timeout_ms, bool sending)
{
	if (err == -ETIMEDOUT)
		failed(reply, -err, "no answer from glournetd within %g s", timeout_ms / 1000.0);
	else if (err == -ENODATA)
		failed(reply, -err,
		       "glournetd closed the connection without "
		       "answering");
	else if (err == -EMSGSIZE)
		failed(reply, -err, "response from glournetd exceeds %d bytes", CTL_RESPONSE_MAX);
	else
		failed(reply, -err, "%s glournetd: %s",
		       sending ? "cannot send to" : "cannot read from", strerror(-err));
}

/* One request and its first answer; the connection stays in *st. */
static void exchange(const char *path, int timeout_ms, int argc, char **argv, int force,
		     struct ctl_reply *reply, struct ctl_stream *st)
{
	int64_t deadline = now_ms() + timeout_ms;
	const char *line;
	char *req;
	size_t req_len = 0, line_len = 0;
	int err;

	memset(reply, 0, sizeof(*reply));
	*st = (struct ctl_stream){.fd = -1};
	req = build_request(argc, argv, force, &req_len);
	if (!req)
		failed(reply, EINVAL,
		       "cannot encode the request "
		       "(arguments must be UTF-8)");
	else if (req_len + 1 > CTL_REQUEST_MAX)
		failed(reply, EMSGSIZE,
		       "the request exceeds the protocol's "
		       "%d bytes",
		       CTL_REQUEST_MAX);
	if (reply->status == CTL_CALL_FAILED) {
		reply->status = CTL_CALL_BAD_REQUEST;
		free(req);
		return;
	}
	req[req_len] = '\n'; /* json_dumps left room: it was the NUL */

	st->fd = connect_unix(path, timeout_ms);
	if (st->fd < 0) {
		free(req);
		if (st->fd == -ETIMEDOUT)
			describe_io_error(reply, st->fd, timeout_ms, true);
		else {
			reply->status = CTL_CALL_NO_CONNECT;
			reply->errno_val = -st->fd;
		}
		st->fd = -1;
		return;
	}
	err = send_all(st->fd, req, req_len + 1, deadline);
	free(req);
	if (err)
		describe_io_error(reply, err, timeout_ms, true);
	else if ((err = recv_line(st, deadline, NULL, &line, &line_len)))
		describe_io_error(reply, err, timeout_ms, false);
	else
		parse_response(line, line_len, reply);
}

void ctl_call(const char *path, int timeout_ms, int argc, char **argv, struct ctl_reply *reply)
{
	struct ctl_stream st;

	exchange(path, timeout_ms, argc, argv, -1, reply, &st);
	ctl_stream_close(&st);
}

void ctl_call_stream(const char *path, int timeout_ms, int argc, char **argv,
		     struct ctl_reply *reply, struct ctl_stream *st)
{
	ctl_call_force(path, timeout_ms, argc, argv, -1, reply, st);
}

void ctl_call_force(const char *path, int timeout_ms, int argc, char **argv, int force,
		    struct ctl_reply *reply, struct ctl_stream *st)
{
	struct ctl_stream own;

	exchange(path, timeout_ms, argc, argv, force, reply, st ? st : &own);
	if (!st)
		ctl_stream_close(&own);
	else if (reply->status != CTL_CALL_OK || !reply->ok)
		ctl_stream_close(st);
}

int ctl_stream_next(struct ctl_stream *st, const sigset_t *sigmask, const char **line, size_t *len)
{
	int err = recv_line(st, NO_DEADLINE, sigmask, line, len);

	if (err == -ENODATA)
		return 0;
	return err ? err : 1;
}

void ctl_stream_close(struct ctl_stream *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	free(st->buf);
	st->buf = NULL;
	st->cap = st->start = st->end = st->scan = 0;
}

void ctl_reply_release(struct ctl_reply *reply)
{
	json_decref(reply->response);
	reply->response = NULL;
	reply->result = NULL;
	reply->error = NULL;
	reply->code = NULL;
}
