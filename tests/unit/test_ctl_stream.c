/*
 * The control socket's side of the fleet queries and access (issue 14),
 * on real Unix sockets: control/ctl_server.c, ctl_listen.c, the "query"
 * job. Proves:
 *  - show clients streams over the connection as the job steps it; while
 *    the client reads nothing, glournetd queues at most 256 KiB (and a
 *    line) for it; the stream ends with its done line, and a request sent
 *    behind it on the same connection is answered after that line;
 *  - a client that hangs up in the middle ends its query (ASan: nothing
 *    leaks); one that half-closes after asking gets the whole stream and
 *    the answer to what it sent behind it, then end of file;
 *  - --ctl-socket-mode, --ctl-socket-group and a read-only socket with its
 *    own mode: the files have them; the read-only one answers show and
 *    show clients, and refuses set with code "read-only";
 *  - the job's slices are counted in show stats' "jobs".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "control/ctl_server.h"
#include "control/daemon.h"
#include "control/daemon_jobs.h"
#include "control/event_loop.h"
#include "control/registry.h"
#include "glournet/coarse_clock.h"
#include "support/tu_daemon.h"
#include "support/tu_json.h"
#include "support/tu_run.h"
#include "support/tu_scratch.h"

__attribute__((weak)) uint32_t gn_coarse_now_sec;

#define NOW     TU_NOW
#define N       3000
#define OUT_MAX (256 * 1024)

static struct gn_daemon dmn;
static struct tu_scratch dir;
static char main_path[200], ro_path[200], gid_text[16];

static int setup(void **state)
{
	(void)state;
	if (tu_ctl_open(&dmn, &dir, "stream") < 0 || loop_init(&dmn.loop) < 0)
		return -1;
	char g[16];
	for (int i = 0; i < N; i++) {
		struct endpoint *ep;
		snprintf(g, sizeof(g), "s%05d", i);
		if (registry_add(&dmn.reg, g, NOW - 100, &ep) < 0)
			return -1;
	}
	snprintf(main_path, sizeof(main_path), "%s/ctl.sock", dir.dir);
	snprintf(ro_path, sizeof(ro_path), "%s/ro/ctl-ro.sock", dir.dir);
	snprintf(gid_text, sizeof(gid_text), "%u", (unsigned)getgid());
	dmn.opt.ctl_socket_mode = 0600;
	dmn.opt.ctl_socket_group = gid_text;
	dmn.opt.ctl_socket_ro = ro_path;
	dmn.opt.ctl_socket_ro_mode = 0666;
	/* The one job this test needs, as daemon_jobs.c lists it. */
	dmn.jobs[0] = (struct loop_job){"query", ctl_server_step_queries, &dmn.ctl,
					&dmn.ctl.query_stats, 2 * 1000 * 1000};
	dmn.njobs = 1;
	return ctl_server_start(&dmn.ctl, &dmn.loop, &dmn, main_path);
}

static int teardown(void **state)
{
	(void)state;
	ctl_server_stop(&dmn.ctl);
	loop_close(&dmn.loop);
	return tu_ctl_close(&dmn, &dir);
}

static int conn(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* One loop turn as main.c:run() takes it (the jobs, then the sockets). */
static void turn(void)
{
	loop_jobs_run(dmn.jobs, dmn.njobs, NOW, DAEMON_TURN_BUDGET_NS);
	ctl_server_pump(&dmn.ctl);
	loop_run_once(&dmn.loop, 0);
}

static size_t pending(void)
{
	size_t most = 0;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = dmn.ctl.clients[i];
		if (c && c->out_len - c->out_off > most)
			most = c->out_len - c->out_off;
	}
	return most;
}

struct lines {
	char *buf;
	size_t len, cap;
};

/* The next whole line (NUL-terminated, the caller frees), turning the
 * loop meanwhile; NULL after 10 s. */
static char *next_line(int fd, struct lines *l)
{
	for (int i = 0; i < 100000; i++) {
		char *nl = l->len ? memchr(l->buf, '\n', l->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - l->buf);
			char *line = strndup(l->buf, n);
			memmove(l->buf, nl + 1, l->len - n - 1);
			l->len -= n + 1;
			return line;
		}
		turn();
		if (l->cap - l->len < 65536) {
			l->cap = l->cap * 2 + 65536;
			l->buf = realloc(l->buf, l->cap);
		}
		ssize_t r = recv(fd, l->buf + l->len, l->cap - l->len, MSG_DONTWAIT);
		if (r > 0)
			l->len += (size_t)r;
		else if (r == 0)
			return NULL;
		else
			usleep(100);
	}
	return NULL;
}

static json_t *next_json(int fd, struct lines *l)
{
	char *s = next_line(fd, l);
	if (!s)
		fail_msg("no line from glournetd");
	json_t *o = json_loads(s, 0, NULL);
	if (!json_is_object(o))
		fail_msg("not JSON: %s", s);
	free(s);
	return o;
}

static void test_stream_bounded_then_next_request(void **state)
{
	(void)state;
	int fd = conn(main_path);
	static const char req[] = "{\"argv\": [\"show\", \"clients\"]}\n"
				  "{\"argv\": [\"show\", \"status\"]}\n";
	assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
	/* Nothing read for a while: what waits for the client stays bounded. */
	size_t most = 0;
	for (int i = 0; i < 200; i++) {
		turn();
		most = pending() > most ? pending() : most;
	}
	assert_true(most > 0);
	assert_true(most <= OUT_MAX + 4096);
	print_message("unread by the client: at most %zu bytes queued\n", most);

	struct lines l = {0};
	json_t *head = next_json(fd, &l);
	assert_true(json_is_true(json_object_get(json_object_get(head, "result"), "streaming")));
	json_decref(head);
	unsigned clients = 0;
	json_t *o;
	while ((o = next_json(fd, &l)) && json_object_get(o, "client")) {
		clients++;
		json_decref(o);
	}
	assert_non_null(json_object_get(o, "done"));
	assert_int_equal(tu_jint(json_object_get(o, "done"), "listed"), N);
	json_decref(o);
	assert_int_equal(clients, N);
	o = next_json(fd, &l); /* the request behind the stream */
	assert_int_equal(tu_jint(json_object_get(o, "result"), "clients"), N);
	json_decref(o);
	assert_true(dmn.ctl.query_stats.slices > 1);
	assert_int_equal(dmn.ctl.queries, 1);
	free(l.buf);
	close(fd);

	/* A client gone in the middle: its query ends with it. */
	fd = conn(main_path);
	static const char again[] = "{\"argv\": [\"show\", \"clients\"]}\n";
	assert_int_equal(send(fd, again, sizeof(again) - 1, 0), (ssize_t)sizeof(again) - 1);
	for (int i = 0; i < 20; i++)
		turn();
	close(fd);
	for (int i = 0; i < 20; i++)
		turn();
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		assert_null(dmn.ctl.clients[i]);

	/* One that half-closes after asking (nc, socat) gets it all, then EOF. */
	fd = conn(main_path);
	static const char two[] = "{\"argv\": [\"show\", \"clients\", \"--limit\", \"5\"]}\n"
				  "{\"argv\": [\"help\", \"watch\"]}\n";
	assert_int_equal(send(fd, two, sizeof(two) - 1, 0), (ssize_t)sizeof(two) - 1);
	shutdown(fd, SHUT_WR);
	struct lines h = {0};
	unsigned n = 0;
	char *s;
	bool saw_done = false, saw_help = false;
	while ((s = next_line(fd, &h))) {
		saw_done |= strstr(s, "{\"done\":") == s;
		saw_help |= saw_done && strstr(s, "\"commands\"") != NULL;
		n++;
		free(s);
	}
	assert_true(saw_done && saw_help);
	assert_int_equal(n, 1 + 5 + 1 + 1); /* head, 5 clients, done, help */
	free(h.buf);
	close(fd);
}

static void test_sockets_modes_and_read_only(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(lstat(main_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_gid, getgid());
	assert_int_equal(lstat(ro_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);

	int fd = conn(ro_path);
	struct lines l = {0};
	static const char set[] = "{\"argv\": [\"set\", \"heartbeat.interval\", \"5m\"]}\n";
	assert_int_equal(send(fd, set, sizeof(set) - 1, 0), (ssize_t)sizeof(set) - 1);
	json_t *o = next_json(fd, &l);
	assert_true(json_is_false(json_object_get(o, "ok")));
	assert_string_equal(tu_jstr(o, "code"), "read-only");
	json_decref(o);
	assert_int_equal(dmn.policy->hb_interval, 600);
	static const char show[] = "{\"argv\": [\"show\", \"clients\", \"--limit\", \"2\"]}\n";
	assert_int_equal(send(fd, show, sizeof(show) - 1, 0), (ssize_t)sizeof(show) - 1);
	o = next_json(fd, &l);
	assert_true(json_is_true(json_object_get(o, "ok")));
	json_decref(o);
	unsigned clients = 0;
	while ((o = next_json(fd, &l)) && json_object_get(o, "client")) {
		clients++;
		json_decref(o);
	}
	assert_int_equal(clients, 2);
	/* the next page's cursor */
	assert_true(json_is_integer(json_object_get(json_object_get(o, "done"), "after")));
	json_decref(o);
	free(l.buf);
	close(fd);

	/* The main socket changes things. */
	fd = conn(main_path);
	assert_int_equal(send(fd, set, sizeof(set) - 1, 0), (ssize_t)sizeof(set) - 1);
	struct lines m = {0};
	o = next_json(fd, &m);
	assert_true(json_is_true(json_object_get(o, "ok")));
	json_decref(o);
	assert_int_equal(dmn.policy->hb_interval, 300);
	free(m.buf);
	close(fd);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_stream_bounded_then_next_request),
		T(test_sockets_modes_and_read_only),
	};
	return TU_RUN(tests);
}
