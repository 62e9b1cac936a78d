/*
 * What the reference agent's files share: the state file (one line per
 * simulated endpoint), option-parsing helpers that name the bad value, and
 * the subcommands. Kept small so each subcommand stays in its own file.
 */
#ifndef GLOURNET_AGENT_H
#define GLOURNET_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "glournet/heartbeat.h"

#define AGENT_PROG        "glournet-agent"
#define AGENT_GUID_MAX    64
#define AGENT_EXIT_OK     0
#define AGENT_EXIT_FAIL   1
#define AGENT_EXIT_USAGE  2
#define AGENT_NOTIFY_PORT 21112 /* register's default notify_port */

/* One endpoint as the state file stores it. */
struct agent_ep {
	char guid[AGENT_GUID_MAX + 1];
	uint64_t id;
	uint32_t slot;
	uint8_t key[HB_KEY_LEN];
	int64_t clock_offset; /* server_time - local time, seconds */
	uint16_t notify_port; /* as registered; 0: not in the file (older files) */
};

struct agent_state {
	struct agent_ep *eps;
	size_t n, cap;
	size_t *by_guid; /* indices sorted by guid, built by agent_state_index */
	size_t n_indexed;
};

/* agent_state.c */
int agent_state_load(const char *path, struct agent_state *st, bool missing_ok);
int agent_state_save(const char *path, const struct agent_state *st);
int agent_state_append(struct agent_state *st, const struct agent_ep *ep);
int agent_state_index(struct agent_state *st);
/* Index of guid, or -1. Only entries present at the last agent_state_index. */
long agent_state_find(const struct agent_state *st, const char *guid);
void agent_state_free(struct agent_state *st);
bool agent_guid_valid(const char *guid);
int agent_hex_decode(const char *s, uint8_t *out, size_t n);
void agent_hex_encode(const uint8_t *in, size_t n, char *out);
int agent_parse_id(const char *s, uint64_t *id);
int agent_ep_from_answer(const char *body, size_t len, struct agent_ep *ep, const char **why);

/* agent_options.c: parse an option value; on error print a message naming
 * the subcommand, option and value, and return -1. */
int agent_opt_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
		  uint64_t *out);
int agent_opt_i64(const char *cmd, const char *opt, const char *s, int64_t min, int64_t max,
		  int64_t *out);
int agent_opt_double(const char *cmd, const char *opt, const char *s, double min, double max,
		     double *out);
/* Durations in glournet's one grammar (glournet/duration.h: 15 = 15s,
 * 500ms, 5m, 1h, 2d), in [min, max] seconds: into seconds, or whole
 * seconds only (the _s form), with the grammar's one message. */
int agent_opt_duration(const char *cmd, const char *opt, const char *s, double min, double max,
		       double *out);
int agent_opt_seconds(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
		      uint64_t *out);
void agent_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report getopt_long's '?' or ':' for argv, and return AGENT_EXIT_USAGE. */
int agent_bad_option(const char *cmd, int c, char **argv);

/* CLOCK_MONOTONIC in ns, for pacing and timeouts. */
static inline uint64_t agent_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The subcommands: argv[0] is the subcommand name; they return an exit code. */
int agent_register_main(int argc, char **argv);
int agent_heartbeat_main(int argc, char **argv);
int agent_poll_main(int argc, char **argv);
int agent_listen_main(int argc, char **argv);

#endif
