/*
 * Control-socket transport: non-blocking accept, read until a newline,
 * dispatch, queue the answer and write it as the socket allows. The
 * control thread never blocks on a slow or stuck client.
 *
 * `watch` is handled here rather than in the command table: it does not
 * answer once, it turns the connection into a stream of transition events
 * fed from the daemon's feed each tick (ctl_server_pump). A watcher's
 * cursor is a sequence number; its output is filled only while under
 * CTL_WATCH_OUT_MAX, so a slow reader costs bounded memory and, if the feed
 * overwrites its cursor, gets one {"missed":K,"resume":S} line.
 *
 * Who may connect (issue 13): the socket is created 0600 under a tight
 * umask and only then opened to its group (0660), so there is no moment
 * when others could connect; each client's SO_PEERCRED must be root,
 * glournetd's user or a member of the socket's group, whatever the file's
 * mode became since. A client holds its connection only while it asks:
 * CTL_IDLE_TIMEOUT_MS without a complete request closes it, and the slots
 * are capped per uid with some kept for root, each refusal said in a line.
 *
 * Issue 14: the mode and group of the socket are options, and a second,
 * read-only socket may listen beside it (its clients may show and watch,
 * the command table says which those are). A streaming query (show
 * clients, ctl_clients.h) runs as the "query" job, ctl_server_step_queries,
 * into the connection's output under the same bound as a watcher's; the
 * connection's next requests wait, unread, until its last line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>

#define LOG_TAG "ctl"
#include "control/ctl_clients.h"
#include "control/ctl_commands.h"
#include "control/ctl_listen.h"
#include "control/ctl_server.h"
#include "control/daemon.h"
#include "control/mono_clock.h"
#include "control/registry.h"
#include "control/transitions.h"
#include "glournet/log.h"

#define WATCH_USAGE "usage: watch [--from SEQ]"

static void client_close(struct ctl_client *c)
{
	struct ctl_server *s = c->server;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->clients[i] == c)
			s->clients[i] = NULL;
	loop_del(s->loop, &c->watch);
	close(c->watch.fd);
	ctl_query_free(c->query);
	free(c->in);
	free(c->out);
	free(c);
}

static size_t out_pending(const struct ctl_client *c)
{
	return c->out_len - c->out_off;
}

static int flush_out(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->watch.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->out_off += (size_t)n;
		c->active_ns = gn_mono_ns(); /* reading its answer, however slowly */
	}
	c->out_len = c->out_off = 0;
	if (!c->watching && !c->query) { /* a stream refills every tick: keep its buffer */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return 0;
}

/* Appends one line (adds the newline); grows geometrically, so a watcher
 * queueing thousands of short lines per tick copies each byte O(1) times. */
static int queue_line(struct ctl_client *c, const char *line, size_t n)
{
	if (c->out_off && c->out_len + n + 1 > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		while (cap < c->out_len + n + 1)
			cap *= 2;
		char *b = realloc(c->out, cap);
		if (!b)
			return -ENOMEM;
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
	return 0;
}

/* Takes ownership of resp (NULL: the answer could not be built). */
static int queue_out(struct ctl_client *c, char *resp)
{
	if (!resp)
		return -ENOMEM;
	int rc = queue_line(c, resp, strlen(resp));
	free(resp);
	return rc;
}

static int queue_json(struct ctl_client *c, json_t *o)
{
	if (!o)
		return -ENOMEM;
	char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return queue_out(c, line);
}

static int queue_error(struct ctl_client *c, const char *error, const char *code)
{
	return queue_json(c, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", error, "code", code));
}

/* While a query streams, its connection's requests wait in the input
 * buffer; once that is full, nothing more is read (a hang-up still shows
 * as EPOLLHUP). */
static bool wants_input(const struct ctl_client *c)
{
	return !c->eof && (!c->query || c->in_len < CTL_MAX_LINE);
}

/* A client that half-closed (nc, socat) after a streaming request: it is
 * closed once the stream and what it asked behind it are all sent. */
static bool finished(const struct ctl_client *c)
{
	return c->eof && !c->query && !out_pending(c);
}

/* Arms EPOLLOUT only while there is something to send. */
static int update_events(struct ctl_client *c)
{
	bool want = out_pending(c) > 0;
	bool in = wants_input(c);
	if (want == c->want_out && in == !c->in_paused)
		return 0;
	c->want_out = want;
	c->in_paused = !in;
	return loop_mod(c->server->loop, &c->watch, (in ? EPOLLIN : 0) | (want ? EPOLLOUT : 0));
}

/* ---- watch ---- */

/* The guid of a status or removal event's endpoint, "" when unknown. */
static const char *event_guid(struct gn_daemon *d, const struct transition *t)
{
	if (t->kind != TK_STATUS && t->kind != TK_REMOVED)
		return NULL;
	/* The slot may have been released and reused since: trust it only
	 * while it still holds this id (or, removed, still remembers it). */
	const struct endpoint *ep = t->slot < d->reg.nslots ? registry_at(&d->reg, t->slot) : NULL;
	if (!ep || (ep->id ? ep->id : ep->removed_id) != t->id)
		return "";
	/* jansson's check: the line must parse in the watcher's json_loads. */
	json_t *probe = json_string(ep_guid(ep));
	json_decref(probe);
	return probe ? ep_guid(ep) : "";
}

/* {"event": <the event as transition_json renders it>} */
static int queue_event(struct ctl_client *c, const struct transition *t)
{
	static const char head[] = "{\"event\":";
	char line[1024];
	const size_t h = sizeof(head) - 1;
	memcpy(line, head, h);
	size_t n = transition_json(line + h, sizeof(line) - h - 1, t,
				   event_guid(c->server->daemon, t));
	if (n >= sizeof(line) - h - 1)
		return -EOVERFLOW; /* a guid is at most EP_GUID_MAX bytes: cannot happen */
	line[h + n] = '}';
	return queue_line(c, line, h + n + 1);
}

/* Queues events from the client's cursor while its output is under the
 * limit, then writes what the socket takes. */
static int pump_client(struct ctl_client *c)
{
	struct gn_daemon *d = c->server->daemon;
	struct transition_feed *f = daemon_watch_feed(d);
	if (f) {
		uint64_t oldest = feed_oldest_seq(f), next = feed_next_seq(f);
		if (c->cursor < oldest && out_pending(c) < CTL_WATCH_OUT_MAX) {
			char line[96];
			int n = snprintf(line, sizeof(line), "{\"missed\":%llu,\"resume\":%llu}",
					 (unsigned long long)(oldest - c->cursor),
					 (unsigned long long)oldest);
			int rc = queue_line(c, line, (size_t)n);
			if (rc < 0)
				return rc;
			c->server->watch_missed += oldest - c->cursor;
			c->cursor = oldest;
		}
		while (c->cursor >= oldest && c->cursor < next &&
		       out_pending(c) < CTL_WATCH_OUT_MAX) {
			const struct transition *t = feed_get(f, c->cursor);
			int rc = t ? queue_event(c, t) : 0; /* a number the stream never had */
			if (rc < 0)
				return rc;
			c->cursor++;
		}
	}
	return flush_out(c);
}

static int parse_seq(const char *s, uint64_t *out)
{
	if (!s || !*s || strlen(s) > 20 || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Reads `watch [--from SEQ]`; false on anything else. */
static bool watch_args(json_t *argv, bool *has_from, uint64_t *from)
{
	size_t argc = json_array_size(argv);
	const char *opt = json_string_value(json_array_get(argv, 1));
	*has_from = argc == 3 && opt && strcmp(opt, "--from") == 0;
	return argc == 1 ||
	       (*has_from && parse_seq(json_string_value(json_array_get(argv, 2)), from) == 0);
}

/*
 * 0: not a watch request (dispatch it); 1: answered, and the connection is
 * now a watcher when the answer was ok; < 0: could not answer.
 */
static int try_watch(struct ctl_client *c, const char *line, size_t len)
{
	json_t *req = json_loadb(line, len, 0, NULL);
	json_t *argv = json_object_get(req, "argv");
	const char *word = json_string_value(json_array_get(argv, 0));
	if (!word || strcmp(word, "watch") != 0) {
		json_decref(req);
		return 0;
	}
	struct gn_daemon *d = c->server->daemon;
	uint64_t from = 0;
	bool has_from;
	bool ok = watch_args(argv, &has_from, &from);
	json_decref(req);
	char err[160];
	int rc;
	if (!ok) {
		rc = queue_error(c, WATCH_USAGE, CTL_CODE_USAGE);
		return rc < 0 ? rc : 1;
	}
	struct transition_feed *f = daemon_watch_feed(d);
	if (!f) {
		rc = queue_error(c, "watch: this glournetd keeps no transition feed",
				 CTL_CODE_ERROR);
		return rc < 0 ? rc : 1;
	}
	uint64_t next = feed_next_seq(f), oldest = feed_oldest_seq(f);
	if (has_from && from > next) {
		/* A cursor from before a restart: the numbering began again. */
		snprintf(err, sizeof(err),
			 "watch: --from %llu is past the next event %llu "
			 "(was glournetd restarted?)",
			 (unsigned long long)from, (unsigned long long)next);
		rc = queue_error(c, err, CTL_CODE_ERROR);
		return rc < 0 ? rc : 1;
	}
	rc = queue_json(c, json_pack("{s:b, s:{s:b, s:I, s:I}}", "ok", 1, "result", "watching", 1,
				     "next", (json_int_t)next, "oldest", (json_int_t)oldest));
	if (rc < 0)
		return rc;
	c->watching = true;
	c->cursor = !has_from ? next : from ? from : 1; /* seqs start at 1 */
	return 1;
}

/* Answers every complete line in the input buffer. */
static int handle_lines(struct ctl_client *c)
{
	char *start = c->in, *nl;
	while ((nl = memchr(start, '\n', c->in_len - (size_t)(start - c->in)))) {
		*nl = '\0';
		c->active_ns = gn_mono_ns(); /* a request, not just bytes, keeps it open */
		size_t len = (size_t)(nl - start);
		int rc = try_watch(c, start, len);
		struct ctl_call call = {.read_only = c->read_only};
		if (rc == 0)
			rc = queue_out(c, ctl_dispatch_call(c->server->daemon, start, len, &call));
		if (rc < 0) {
			ctl_query_free(call.query);
			return rc;
		}
		if (c->watching) {
			c->in_len = 0; /* nothing after `watch` is answered */
			return pump_client(c);
		}
		start = nl + 1;
		if (call.query) { /* the rest waits for its last line */
			c->query = call.query;
			c->server->queries++;
			break;
		}
	}
	size_t rest = c->in_len - (size_t)(start - c->in);
	memmove(c->in, start, rest);
	c->in_len = rest;
	if (rest >= CTL_MAX_LINE && !c->query) {
		c->server->bad_requests++;
		LOG(WARN, "control client sent a line over %d bytes; closing it", CTL_MAX_LINE);
		return -EMSGSIZE;
	}
	return 0;
}

static void on_client(struct loop_watch *w, uint32_t events)
{
	struct ctl_client *c = w->ctx;
	if ((events & EPOLLIN) && wants_input(c)) {
		ssize_t n = recv(w->fd, c->in + c->in_len, CTL_MAX_LINE + 1 - c->in_len, 0);
		if (n == 0 && c->query) {
			c->eof = true; /* its stream still goes out (a full close fails the send) */
		} else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(c);
			return;
		}
		if (n > 0 && c->watching) {
			/* A watcher's input is read only to notice it hang up. */
		} else if (n > 0 && c->query) {
			c->in_len += (size_t)n; /* answered after the stream's last line */
		} else if (n > 0) {
			c->in_len += (size_t)n;
			if (handle_lines(c) < 0) {
				client_close(c);
				return;
			}
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		client_close(c);
		return;
	}
	/* A stream's reader drained its output: the "query" job refills it. */
	/* A watcher that drained its output gets the next events at once,
	 * not at the next tick: catching up is limited by the reader only. */
	if ((c->watching ? pump_client(c) : flush_out(c)) < 0 || update_events(c) < 0 ||
	    finished(c))
		client_close(c);
}

/* One line to a client being sent away, then the end of our half: it
 * reads why, then EOF. The fd lingers (CTL_LINGER_MS) before the close, so
 * a request it sends meanwhile is not answered by a reset. */
static void send_off(struct ctl_server *s, int fd, const char *error, const char *code)
{
	char sink[4096];
	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	json_t *o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", error, "code", code);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (line) {
		size_t n = strlen(line);
		char *nl = realloc(line, n + 2);
		if (nl) {
			line = nl;
			line[n++] = '\n';
		}
		if (send(fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* gone already: nothing to tell */
		}
		free(line);
	}
	shutdown(fd, SHUT_WR);
	unsigned i = s->linger_next++ % CTL_LINGER_MAX;
	if (s->linger[i].fd >= 0)
		close(s->linger[i].fd); /* a flood: the oldest goes early */
	s->linger[i].fd = fd;
	s->linger[i].since_ns = gn_mono_ns();
}

static void close_lingering(struct ctl_server *s, uint64_t now, bool all)
{
	for (unsigned i = 0; i < CTL_LINGER_MAX; i++) {
		if (s->linger[i].fd >= 0 &&
		    (all || now - s->linger[i].since_ns >= (uint64_t)CTL_LINGER_MS * 1000000ull)) {
			close(s->linger[i].fd);
			s->linger[i].fd = -1;
		}
	}
}

/* Refusals are logged once a second at most, with how many there were:
 * a local user must not fill the log either. */
static void log_refusal(struct ctl_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void log_refusal(struct ctl_server *s, const char *fmt, ...)
{
	uint64_t now = gn_mono_ns();
	s->refusals_unlogged++;
	if (s->refusal_logged_ns && now - s->refusal_logged_ns < 1000000000ull)
		return;
	char what[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (s->refusals_unlogged > 1)
		LOG(WARN, "control socket: %s (%lu refusals since the last such line)", what,
		    s->refusals_unlogged);
	else
		LOG(WARN, "control socket: %s", what);
	s->refusals_unlogged = 0;
	s->refusal_logged_ns = now;
}

/* ---- streaming queries (ctl_clients.h) ---- */

static int sink_line(void *ctx, const char *s, size_t n)
{
	return queue_line(ctx, s, n);
}

static bool sink_full(void *ctx)
{
	return out_pending(ctx) >= CTL_WATCH_OUT_MAX;
}

/* One client's query for `budget_ns`; at its end, the requests that
 * waited behind it are answered. -1: the client is gone. */
static int step_query(struct ctl_client *c, uint64_t budget_ns, bool *more)
{
	const struct ctl_sink sink = {.line = sink_line, .full = sink_full, .ctx = c};
	enum ctl_query_state st = ctl_query_step(c->query, &sink, budget_ns);
	if (st == CTL_QS_DONE) {
		ctl_query_free(c->query);
		c->query = NULL;
		c->active_ns = gn_mono_ns();
		if (handle_lines(c) < 0)
			return -1;
	}
	*more |= st == CTL_QS_MORE;
	return flush_out(c) < 0 || update_events(c) < 0 || finished(c) ? -1 : 0;
}

bool ctl_server_step_queries(void *self, uint32_t now, uint64_t budget_ns)
{
	(void)now;
	struct ctl_server *s = self;
	unsigned active = 0;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		active += s->clients[i] && s->clients[i]->query;
	if (!active) {
		loop_job_pass_end(&s->query_stats); /* the last one ended */
		return false;
	}
	loop_job_pass_begin(&s->query_stats); /* a pass: while any query runs */
	uint64_t share = budget_ns / active;
	bool more = false;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = s->clients[i];
		if (c && c->query && step_query(c, share ? share : 1, &more) < 0)
			client_close(c);
	}
	return more;
}

void ctl_server_pump(struct ctl_server *s)
{
	uint64_t now = gn_mono_ns();
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = s->clients[i];
		if (c && c->watching && (pump_client(c) < 0 || update_events(c) < 0)) {
			client_close(c);
		} else if (c && !c->watching && !c->query &&
			   now - c->active_ns >= (uint64_t)CTL_IDLE_TIMEOUT_MS * 1000000ull) {
			s->idle_closed++;
			int fd = dup(c->watch.fd);
			client_close(c);
			char why[96];
			snprintf(why, sizeof(why),
				 "closing this connection: no request for %u s "
				 "(reconnect to send one)",
				 CTL_IDLE_TIMEOUT_MS / 1000);
			if (fd >= 0)
				send_off(s, fd, why, CTL_CODE_ERROR);
		}
	}
	close_lingering(s, now, false);
}

static void on_accept(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct ctl_listener *l = w->ctx;
	struct ctl_server *s = l->server;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cr = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t crlen = sizeof(cr);
	char why[240];
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 ||
	    !ctl_listen_allows(l, fd, &cr)) {
		s->denied++;
		log_refusal(s,
			    "refused pid %d uid %u: neither root nor in the socket's group "
			    "(gid %u)",
			    (int)cr.pid, (unsigned)cr.uid, (unsigned)l->gid);
		snprintf(why, sizeof(why),
			 "permission denied: uid %u is neither root nor in the "
			 "control socket's group (gid %u)",
			 (unsigned)cr.uid, (unsigned)l->gid);
		send_off(s, fd, why, CTL_CODE_DENIED);
		return;
	}
	unsigned slot = CTL_MAX_CLIENTS, used = 0, mine = 0;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (!s->clients[i]) {
			slot = slot < i ? slot : i;
			continue;
		}
		used++;
		mine += s->clients[i]->uid == cr.uid;
	}
	const char *full = NULL;
	if (slot == CTL_MAX_CLIENTS)
		full = "too many control clients";
	else if (cr.uid != 0 && mine >= CTL_MAX_PER_UID)
		full = "too many control clients of this uid";
	else if (cr.uid != 0 && used >= CTL_MAX_CLIENTS - CTL_ROOT_RESERVED)
		full = "too many control clients (the last ones are kept for root)";
	struct ctl_client *c = full ? NULL : calloc(1, sizeof(*c));
	char *in = c ? malloc(CTL_MAX_LINE + 1) : NULL;
	if (!in) {
		s->rejected++;
		log_refusal(s, "refused pid %d uid %u: %s (%u connected, %u of this uid)",
			    (int)cr.pid, (unsigned)cr.uid, full ? full : "out of memory", used,
			    mine);
		snprintf(why, sizeof(why),
			 "%s: %u connected, %u of uid %u (at most %u per uid); "
			 "try again when one closes",
			 full ? full : "out of memory", used, mine, (unsigned)cr.uid,
			 CTL_MAX_PER_UID);
		send_off(s, fd, why, CTL_CODE_ERROR);
		free(c);
		return;
	}
	LOG(DEBUG, "control client pid %d uid %u gid %u", (int)cr.pid, (unsigned)cr.uid,
	    (unsigned)cr.gid);
	c->in = in;
	c->server = s;
	c->uid = (uint32_t)cr.uid;
	c->read_only = l->read_only;
	c->active_ns = gn_mono_ns();
	c->watch = (struct loop_watch){.fd = fd, .fn = on_client, .ctx = c};
	s->clients[slot] = c;
	if (loop_add(s->loop, &c->watch, EPOLLIN) < 0)
		client_close(c);
}

static int listen_on(struct ctl_server *s, struct ctl_listener *l, const char *path, unsigned mode,
		     const char *group, bool read_only)
{
	l->server = s;
	l->read_only = read_only;
	int rc = ctl_listen_open(l, path, mode, group,
				 read_only ? "--ctl-socket-ro" : "--ctl-socket");
	if (rc < 0)
		return rc;
	l->watch.fn = on_accept;
	l->watch.ctx = l;
	rc = loop_add(s->loop, &l->watch, EPOLLIN);
	if (rc < 0)
		ctl_listen_close(l, s->loop);
	return rc;
}

int ctl_server_start(struct ctl_server *s, struct event_loop *loop, struct gn_daemon *d,
		     const char *path)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < CTL_LINGER_MAX; i++)
		s->linger[i].fd = -1;
	s->loop = loop;
	s->daemon = d;
	const struct gn_options *o = &d->opt;
	int rc = listen_on(s, &s->main, path, o->ctl_socket_mode, o->ctl_socket_group, false);
	if (rc == 0 && o->ctl_socket_ro) {
		rc = listen_on(s, &s->ro, o->ctl_socket_ro, o->ctl_socket_ro_mode,
			       o->ctl_socket_ro_group, true);
		if (rc < 0)
			ctl_listen_close(&s->main, loop);
	}
	return rc;
}

void ctl_server_stop(struct ctl_server *s)
{
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->clients[i])
			client_close(s->clients[i]);
	if (s->main.watch.fd > 0) /* started: the lingering fds are real */
		close_lingering(s, 0, true);
	ctl_listen_close(&s->main, s->loop);
	ctl_listen_close(&s->ro, s->loop);
}
