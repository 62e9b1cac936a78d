/*
 * The transition feed: a power-of-two ring of events numbered from 1, so a
 * reader's cursor is just a sequence number and "too old" is one compare.
 * The log is written from the ring itself rather than from a queue of its
 * own: pending log lines cost no extra memory, a failing disk can hold back
 * at most one ring of events, and what the ring overwrites before the log
 * caught up is written as a gap marker instead of vanishing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "feed"
#include "control/ep_names.h"
#include "control/io_offload.h"
#include "control/mono_clock.h"
#include "control/transitions.h"
#include "glournet/gn_mem.h"
#include "glournet/log.h"

/* Rendered per flush, at most: bounds the time one tick spends on the log. */
#define FEED_FLUSH_MAX (1u << 20)
/* A write waited for this long at most (io_offload.h): an ordinary one is
 * done long before, one on a stalled disk is looked at again next tick. */
#define FEED_WRITE_WAIT_NS (100ull * 1000000ull)
#define FEED_STALL_NS      (1000ull * 1000000ull) /* then it is logged as stalled */

struct transition_feed {
	struct transition *ring;
	uint32_t mask;
	uint64_t next; /* seq of the next push */
	uint64_t base; /* seq of this run's first push (feed_start_at) */
	/* The log. */
	char *path;        /* NULL: no log */
	int fd;            /* -1: not open (yet, or after an error) */
	uint64_t log_next; /* next seq to render into buf */
	char *buf;         /* rendered, not yet written: buf[off, len) */
	size_t len, off, cap;
	uint64_t log_errors;
	uint64_t log_lost; /* overwritten before they were logged */
	bool failing;      /* the last flush failed: say so once, not per tick */
	/* The open and write run on an offload thread (io_offload.h): while
	 * one is in flight (writing), buf, off, len and fd are its alone. */
	struct io_offload io;
	bool writing, stall_logged;
	int job_fd;           /* the fd the job wrote to (it may have opened it) */
	size_t job_written;   /* bytes of buf[off, len) it wrote */
	const char *job_what; /* what failed: "open" or "write" */
	uint64_t log_stalls;  /* writes that outlived FEED_STALL_NS */
};

_Static_assert(sizeof(struct transition) == 32, "struct transition: keep the ring compact");

struct transition_feed *feed_new(uint32_t capacity, const char *log_path)
{
	if (capacity == 0 || (capacity & (capacity - 1))) {
		errno = EINVAL;
		return NULL;
	}
	struct transition_feed *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->mask = capacity - 1;
	f->next = f->log_next = f->base = 1;
	f->fd = -1;
	f->ring = gn_table_alloc((size_t)capacity * sizeof(*f->ring));
	f->cap = log_path ? FEED_FLUSH_MAX + 4096 : 0;
	f->buf = log_path ? malloc(f->cap) : NULL;
	f->path = log_path ? strdup(log_path) : NULL;
	if (!f->ring || (log_path && (!f->buf || !f->path))) {
		feed_free(f);
		errno = ENOMEM;
		return NULL;
	}
	if (f->path) {
		f->fd = open(f->path,
			     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
			     0600);
		if (f->fd < 0)
			LOG(WARN, "transition log %s: %s; will retry", f->path, strerror(errno));
		if (io_offload_start(&f->io) < 0) /* then it writes on the caller's thread */
			LOG(WARN, "transition log %s: no writer thread; writing inline", f->path);
	}
	return f;
}

uint64_t feed_push(struct transition_feed *f, const struct transition *t)
{
	struct transition *e = &f->ring[f->next & f->mask];
	*e = *t;
	e->seq = f->next;
	return f->next++;
}

int feed_push_at(struct transition_feed *f, const struct transition *t, uint64_t seq)
{
	if (seq < f->next || f->path)
		return -EINVAL; /* a log would render the skipped slots' old events */
	/* The numbers skipped keep their slots' old events, whose own seq then
	 * differs: feed_get says NULL for them. */
	f->next = seq;
	feed_push(f, t);
	return 0;
}

int feed_start_at(struct transition_feed *f, uint64_t next)
{
	if (f->next != f->base || !next)
		return -EBUSY; /* events already numbered */
	f->next = f->log_next = f->base = next;
	return 0;
}

/* The seq a log line names as its own, or after a gap the one before
 * its resume; 0: not a line of ours. */
static uint64_t line_seq(const char *line)
{
	unsigned long long seq, missed;
	if (sscanf(line, "{\"seq\":%llu,", &seq) == 1)
		return seq;
	if (sscanf(line, "{\"missed\":%llu,\"resume\":%llu}", &missed, &seq) == 2 && seq)
		return seq - 1;
	return 0;
}

uint64_t feed_log_last_seq(const char *path)
{
	enum { TAIL = 64 * 1024 };
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	char *buf = malloc(TAIL + 1);
	uint64_t last = 0;
	if (buf && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t from = st.st_size > TAIL ? st.st_size - TAIL : 0;
		ssize_t n = pread(fd, buf, TAIL, from);
		if (n > 0) {
			/* From the last line back; one cut at the window's front is
			 * not whole. A last line a crash cut short still names its
			 * seq: that number was used. */
			size_t len = (size_t)n;
			while (len && !last) {
				if (buf[len - 1] == '\n')
					len--;
				size_t start = len;
				while (start && buf[start - 1] != '\n')
					start--;
				buf[len] = '\0';
				if (start > 0 || from == 0)
					last = line_seq(buf + start);
				len = start;
			}
		}
	}
	free(buf);
	close(fd);
	return last;
}

uint64_t feed_next_seq(const struct transition_feed *f)
{
	return f->next;
}

uint64_t feed_oldest_seq(const struct transition_feed *f)
{
	uint64_t held = f->next - f->base;
	if (held > (uint64_t)f->mask + 1)
		held = (uint64_t)f->mask + 1;
	return f->next - held;
}

const struct transition *feed_get(const struct transition_feed *f, uint64_t seq)
{
	if (seq < feed_oldest_seq(f) || seq >= f->next)
		return NULL;
	const struct transition *e = &f->ring[seq & f->mask];
	return e->seq == seq ? e : NULL; /* NULL: a number feed_push_at skipped */
}

uint64_t feed_log_errors(const struct transition_feed *f)
{
	return f->log_errors;
}

/* ---- rendering ---- */

static int reserve(struct transition_feed *f, size_t more)
{
	if (f->len + more <= f->cap)
		return 0;
	size_t ncap = f->cap * 2 > f->len + more ? f->cap * 2 : f->len + more;
	char *b = realloc(f->buf, ncap);
	if (!b)
		return -ENOMEM;
	f->buf = b;
	f->cap = ncap;
	return 0;
}

static int put(struct transition_feed *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int put(struct transition_feed *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(f->buf + f->len, f->cap - f->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= f->cap - f->len) {
		int rc = reserve(f, (size_t)n + 1);
		if (rc < 0)
			return rc;
		va_start(ap, fmt);
		vsnprintf(f->buf + f->len, f->cap - f->len, fmt, ap);
		va_end(ap);
	}
	f->len += (size_t)n;
	return 0;
}

/* ---- the event's JSON (transition_json) ---- */

/* A bounded writer that counts what it could not write, as snprintf. */
struct jbuf {
	char *p;
	size_t cap, len;
};

static void jb_char(struct jbuf *b, char c)
{
	if (b->len + 1 < b->cap)
		b->p[b->len] = c;
	b->len++;
}

static void jb_fmt(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jb_fmt(struct jbuf *b, const char *fmt, ...)
{
	size_t room = b->len < b->cap ? b->cap - b->len : 0;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
	va_end(ap);
	b->len += n > 0 ? (size_t)n : 0;
}

/* A JSON string. The names come from ep_names.h and are plain words
 * today; escaping keeps the output valid whatever they become. */
static void jb_str(struct jbuf *b, const char *s)
{
	jb_char(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			jb_char(b, '\\');
			jb_char(b, (char)c);
		} else if (c < 0x20) {
			jb_fmt(b, "\\u%04x", c);
		} else {
			jb_char(b, (char)c);
		}
	}
	jb_char(b, '"');
}

/* ,"key":"value" */
static void jb_field(struct jbuf *b, const char *key, const char *value)
{
	jb_fmt(b, ",\"%s\":", key);
	jb_str(b, value);
}

/* The endpoint: its guid for a watcher, its slot in the log. */
static void jb_who(struct jbuf *b, const struct transition *t, const char *guid)
{
	if (guid)
		jb_field(b, "guid", guid);
	else
		jb_fmt(b, ",\"slot\":%u", t->slot);
}

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case TK_GUARD_RAISED:
		return "guard-raised";
	case TK_GUARD_RELEASED:
		return "guard-released";
	}
	return "unknown";
}

size_t transition_json(char *buf, size_t cap, const struct transition *t, const char *guid)
{
	struct jbuf b = {.p = buf, .cap = cap};
	jb_fmt(&b, "{\"seq\":%llu,\"time\":%u", (unsigned long long)t->seq, t->time);
	if (t->kind == TK_STATUS) {
		jb_fmt(&b, ",\"id\":\"%016llx\"", (unsigned long long)t->id);
		jb_who(&b, t, guid);
		jb_field(&b, "old", ep_status_name(t->old_status));
		jb_field(&b, "new", ep_status_name(t->new_status));
		jb_field(&b, "reason", ep_reason_name(t->reason));
	} else if (t->kind == TK_REMOVED) {
		jb_fmt(&b, ",\"kind\":\"removed\",\"id\":\"%016llx\"", (unsigned long long)t->id);
		jb_who(&b, t, guid);
		jb_field(&b, "status", ep_status_name(t->old_status));
		jb_field(&b, "cause", ep_removal_name(t->reason));
	} else {
		jb_field(&b, "kind", kind_name(t->kind));
		jb_fmt(&b, ",\"count\":%u", t->count);
	}
	jb_char(&b, '}');
	if (cap)
		buf[b.len < cap ? b.len : cap - 1] = '\0';
	return b.len;
}

/* One log line: the event's JSON and a newline. */
static int render(struct transition_feed *f, const struct transition *t)
{
	size_t n = transition_json(f->buf + f->len, f->cap - f->len, t, NULL);
	if (n + 2 > f->cap - f->len) { /* the newline and the NUL too */
		int rc = reserve(f, n + 2);
		if (rc < 0)
			return rc;
		transition_json(f->buf + f->len, f->cap - f->len, t, NULL);
	}
	f->len += n;
	f->buf[f->len++] = '\n';
	return 0;
}

/* Moves pending events from the ring into buf, up to FEED_FLUSH_MAX. */
static int render_pending(struct transition_feed *f)
{
	if (f->off) {
		memmove(f->buf, f->buf + f->off, f->len - f->off);
		f->len -= f->off;
		f->off = 0;
	}
	uint64_t oldest = feed_oldest_seq(f);
	if (f->log_next < oldest && f->len < FEED_FLUSH_MAX) {
		uint64_t lost = oldest - f->log_next;
		int rc = put(f, "{\"missed\":%llu,\"resume\":%llu}\n", (unsigned long long)lost,
			     (unsigned long long)oldest);
		if (rc < 0)
			return rc;
		f->log_lost += lost;
		f->log_next = oldest;
		LOG(WARN,
		    "transition log %s: %llu events were overwritten before they were "
		    "logged (%llu in all)",
		    f->path, (unsigned long long)lost, (unsigned long long)f->log_lost);
	}
	while (f->log_next < f->next && f->len < FEED_FLUSH_MAX) {
		size_t mark = f->len;
		int rc = render(f, &f->ring[f->log_next & f->mask]);
		if (rc < 0) {
			f->len = mark; /* no half line */
			return rc;
		}
		f->log_next++;
	}
	return 0;
}

/* ---- writing ---- */

static int failed(struct transition_feed *f, int err, const char *what)
{
	f->log_errors++;
	if (!f->failing)
		LOG(WARN,
		    "transition log %s: %s: %s; keeping the lines pending (%llu events "
		    "behind)",
		    f->path, what, strerror(err), (unsigned long long)(f->next - f->log_next));
	f->failing = true;
	return -err;
}

/* On the offload thread: open if need be, then write buf[off, len). */
static int write_job(void *arg)
{
	struct transition_feed *f = arg;
	f->job_written = 0;
	f->job_what = "write";
	if (f->job_fd < 0) {
		f->job_what = "open";
		f->job_fd = open(f->path,
				 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
				 0600);
		if (f->job_fd < 0)
			return -errno;
		f->job_what = "write";
	}
	while (f->off + f->job_written < f->len) {
		ssize_t n = write(f->job_fd, f->buf + f->off + f->job_written,
				  f->len - f->off - f->job_written);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0; /* a pipe or FIFO that is full: next tick */
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		f->job_written += (size_t)n;
	}
	return 0;
}

/* Back on the control thread: what the job did. */
static int write_done(struct transition_feed *f, int rc)
{
	f->writing = false;
	f->fd = f->job_fd;
	f->off += f->job_written;
	if (f->stall_logged)
		LOG(INFO, "transition log %s: the stalled %s returned", f->path, f->job_what);
	f->stall_logged = false;
	if (rc < 0) {
		if (f->fd >= 0) /* reopen next time: the file may have been replaced or fixed */
			close(f->fd);
		f->fd = -1;
		return failed(f, -rc, f->job_what);
	}
	if (f->off < f->len)
		return 0; /* EAGAIN */
	f->off = f->len = 0;
	if (f->failing)
		LOG(INFO, "transition log %s: writing again", f->path);
	f->failing = false;
	return 0;
}

/* A write still in flight: said once, when it has outlived FEED_STALL_NS. */
static int write_pending(struct transition_feed *f)
{
	uint64_t ran = io_offload_running_ns(&f->io);
	if (ran >= FEED_STALL_NS && !f->stall_logged) {
		f->stall_logged = true;
		f->log_stalls++;
		LOG(WARN,
		    "transition log %s: a %s has not returned after %.1f s (a stalled disk?); "
		    "keeping the lines pending (%llu events behind), the control loop goes on",
		    f->path, f->job_what ? f->job_what : "write", (double)ran / 1e9,
		    (unsigned long long)(f->next - f->log_next));
	}
	return 0;
}

int feed_flush(struct transition_feed *f)
{
	if (!f->path)
		return 0;
	int res;
	if (f->writing) {
		int rc = io_offload_poll(&f->io, 0, &res);
		if (rc < 0) /* none in flight after all: render and write afresh */
			f->writing = false;
		else
			return rc == 1 ? write_done(f, res) : write_pending(f);
	}
	int rc = render_pending(f);
	if (rc < 0)
		return failed(f, -rc, "rendering");
	if (f->off == f->len)
		return 0;
	f->job_fd = f->fd;
	f->job_what = "write";
	f->writing = true;
	rc = io_offload_run(&f->io, write_job, f, FEED_WRITE_WAIT_NS, &res);
	if (rc < 0) { /* -EBUSY: cannot be, a job in flight sets writing */
		f->writing = false;
		return 0;
	}
	return rc == 1 ? write_done(f, res) : write_pending(f);
}

bool feed_log_pending(const struct transition_feed *f)
{
	return f->path && (f->off < f->len || f->log_next < f->next);
}

uint64_t feed_log_stalls(const struct transition_feed *f)
{
	return f->log_stalls;
}

void feed_free(struct transition_feed *f)
{
	if (!f)
		return;
	/* Best effort to leave nothing unlogged; stops at the first error. */
	while (f->ring && !f->writing && feed_log_pending(f)) {
		uint64_t before = f->log_next;
		size_t left = f->len - f->off;
		if (feed_flush(f) < 0 || f->writing ||
		    (f->log_next == before && f->len - f->off == left))
			break;
	}
	if (f->writing) { /* a second more for a write in flight, then leave it */
		int res;
		if (io_offload_poll(&f->io, FEED_STALL_NS, &res) == 1)
			write_done(f, res);
	}
	if (f->writing) {
		/* Stuck in the kernel on a stalled disk: the thread still uses f,
		 * which the process's exit reclaims. */
		LOG(WARN, "transition log %s: left a stalled write behind", f->path);
		io_offload_stop(&f->io, 0);
		return;
	}
	io_offload_stop(&f->io, FEED_STALL_NS);
	if (f->fd >= 0)
		close(f->fd);
	if (f->ring)
		gn_table_free(f->ring, ((size_t)f->mask + 1) * sizeof(*f->ring));
	free(f->buf);
	free(f->path);
	free(f);
}
