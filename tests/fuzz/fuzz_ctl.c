/*
 * Fuzz target: any bytes down the control socket (control/ctl_server.c),
 * through the real transport: the input is written to a connection of a
 * running ctl_server, the client hangs up, and the event loop runs until
 * the server has closed the connection. So the line framing, `watch` and
 * its arguments, the JSON request decoding and the command table's
 * argument checks (ctl_dispatch) all see it. Every line answered must be
 * one JSON object (a reply with "ok", or a watch event), and the server
 * must close a client that hung up: a hang is a finding too.
 *
 * The daemon is a small one in memory (no store, 3 endpoints, a transition
 * feed with their events), its policy persisted under /dev/shm. An import
 * and an export are left running from the start, so the fuzzer's own
 * `import`/`export` are refused as busy and never touch a file it names.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>

#define LOG_TAG "fuzz"
#include "control/daemon.h"
#include "control/status.h"
#include "control/transitions.h"
#include "glournet/coarse_clock.h"
#include "glournet/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1795000000u

static struct gn_daemon d;
static char dir[64];
static char sock_path[96];

static void teardown(void)
{
	char p[128];
	ctl_server_stop(&d.ctl);
	static const char *const names[] = {"policy.json", "policy.json.tmp", "in.jsonl",
					    "out.jsonl.tmp", "out.jsonl"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	gn_log_max_level = GN_LOG_ERR;   /* the commands' own lines are noise here */
	strcpy(dir, "/dev/shm/gn-fuzz-ctl-XXXXXX");
	if (sodium_init() < 0 || !mkdtemp(dir) || loop_init(&d.loop) < 0 ||
	    slot_table_init(&d.table, 1, 1u << 12) < 0 || registry_init(&d.reg, &d.table) < 0 ||
	    registry_reset_ranges(&d.reg, 0) < 0 || !(d.policy = policy_new_default()) ||
	    !(d.feed = feed_new(64, NULL)))
		abort();
	atexit(teardown);
	snprintf(d.policy_path, sizeof(d.policy_path), "%s/policy.json", dir);
	d.reg.feed = d.feed;
	d.nworkers = 1;
	d.started = NOW - 1000;
	d.sweep.started = d.started;
	gn_coarse_set(NOW);
	/* Three endpoints and their transitions, for show client and watch. */
	for (int i = 0; i < 3; i++) {
		char guid[16];
		struct endpoint *ep;
		snprintf(guid, sizeof(guid), "fz-%d", i);
		if (registry_add(&d.reg, guid, NOW, &ep) < 0)
			abort();
		status_on_register(&d.reg, d.policy, ep, NOW);
		registry_set_state(&d.reg, ep, i == 2, i != 1, EP_REASON_NO_CONTACT, NOW);
	}
	/* Both bulk jobs busy for good (never stepped). */
	bulk_jobs_init(&d.bulk, &d.reg, NULL, &d.policy);
	char in[96], out[96], err[256];
	snprintf(in, sizeof(in), "%s/in.jsonl", dir);
	snprintf(out, sizeof(out), "%s/out.jsonl", dir);
	FILE *f = fopen(in, "w");
	if (!f || fputs("{\"guid\": \"bulk-1\"}\n", f) < 0 || fclose(f) != 0 ||
	    bulk_import_start(&d.bulk, in, NULL, err, sizeof(err)) < 0 ||
	    bulk_export_start(&d.bulk, out, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_ctl: bulk jobs: %s\n", err);
		abort();
	}
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
	if (ctl_server_start(&d.ctl, &d.loop, &d, sock_path) < 0)
		abort();
}

/* Checks each complete line of buf[0..*len) (one JSON object: a reply
 * with "ok", or a watch event) and keeps the incomplete rest. */
static void check_lines(char *buf, size_t *len)
{
	size_t start = 0;
	for (size_t i = 0; i < *len; i++) {
		if (buf[i] != '\n')
			continue;
		json_error_t e;
		json_t *o = json_loadb(buf + start, i - start, 0, &e);
		/* A stream's lines too (ctl_clients.h): clients, removals,
		 * progress, its last line. */
		static const char *const kinds[] = {"event", "missed", "client", "removed",
						    "progress", "done", "error"};
		bool known = json_is_boolean(json_object_get(o, "ok"));
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			known |= json_object_get(o, kinds[k]) != NULL;
		if (!json_is_object(o) || !known) {
			fprintf(stderr, "fuzz_ctl: not a reply: '%.*s'\n", (int)(i - start), buf + start);
			abort();
		}
		json_decref(o);
		start = i + 1;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, sock_path);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	/* Inputs stay far under the socket's buffer: one write, then hang up. */
	if (size && send(c, data, size, MSG_NOSIGNAL) != (ssize_t)size)
		abort();
	shutdown(c, SHUT_WR);
	static char out[CTL_MAX_LINE * 2];
	size_t got = 0;
	bool closed = false;
	for (int turn = 0; turn < 20000 && !closed; turn++) {
		loop_run_once(&d.loop, turn < 100 ? 0 : 1);
		ctl_server_step_queries(&d.ctl, NOW, 1000000); /* the "query" job */
		ctl_server_pump(&d.ctl);
		for (;;) {
			ssize_t n = recv(c, out + got, sizeof(out) - got, MSG_DONTWAIT);
			if (n > 0) {
				got += (size_t)n;
				check_lines(out, &got);
				if (got == sizeof(out)) {
					fprintf(stderr, "fuzz_ctl: a line over %zu bytes\n", sizeof(out));
					abort();
				}
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				closed = true;
			break;
		}
	}
	if (!closed) {
		fprintf(stderr, "fuzz_ctl: the server kept a client that hung up\n");
		abort();
	}
	close(c);
	if (got) {   /* the server writes whole lines only */
		fprintf(stderr, "fuzz_ctl: a partial line at the end: '%.*s'\n", (int)got, out);
		abort();
	}
	return 0;
}
