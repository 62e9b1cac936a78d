/*
 * Several collectors on one PostgreSQL store (issue 16): this collector's
 * row in `collectors`, and the decider lease (cluster_lease.h) in the
 * single-row table `decider`, kept by a thread of its own with its own
 * connection, so a slow store writer never delays a renewal. Only the
 * decider runs the sweep's offline decisions, the guard, expiry, notify
 * campaigns and verification and the contact checkpoint (daemon_jobs.c
 * gates those rows on cluster_deciding); the store's writer fences every
 * transaction that writes statuses or transitions on the lease's epoch
 * (store_set_fence). SQLite has no cluster: a NULL cluster always decides.
 *
 * Threads: cluster_open/close and cluster_take_event on the control
 * thread; cluster_deciding and the fence calls from any thread.
 */
#ifndef GLOURNET_CLUSTER_H
#define GLOURNET_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cluster;

struct cluster_conf {
	const char *target; /* the libpq connection string (may hold a password) */
	const char *shown;  /* what the log says of it */
	const char *name;   /* --collector-name */
	const char *addrs;  /* the heartbeat addresses, comma-separated */
	uint32_t lease_ms;  /* --lease */
};

/* Connects, makes the tables if absent (under an advisory lock: two
 * collectors may start together), records this collector and starts the
 * lease thread. NULL with err set (never the password). */
struct cluster *cluster_open(const struct cluster_conf *conf, char *err, size_t errlen);
/* Stops the thread; a decider gives the lease up (expires it now), so a
 * planned stop hands over at once rather than after the lease. */
void cluster_close(struct cluster *c);

/* True while this collector may decide: it holds the lease and its last
 * renewal is fresh, or it was alone when the store went away
 * (cluster_lease.h). NULL: true (SQLite). */
bool cluster_deciding(struct cluster *c);

/* What changed since the last call: 1 this collector took the lease
 * (*epoch the new epoch), -1 it stepped down, 0 nothing. Control thread. */
int cluster_take_event(struct cluster *c, int64_t *epoch);

/* The fence, for store_set_fence: the holder and epoch a status write
 * must find in `decider`, the last lease this collector held (false:
 * none in this run, drop such writes); and
 * the writer's report that the fence found no row for `epoch` (someone
 * else decides): steps down at once. */
bool cluster_fence_current(void *ctx, char *holder, size_t len, int64_t *epoch);
void cluster_fence_lost(void *ctx, int64_t epoch);

/* For show cluster and the test: a snapshot of this collector's view. */
struct cluster_info {
	const char *name;
	bool deciding;
	int64_t epoch;
	double renewed_age_s; /* since the last renewal was sent; -1 never */
	uint64_t took, lost, rounds, round_errors;
	uint32_t lease_ms;
};
void cluster_get_info(struct cluster *c, struct cluster_info *out);

/* The database's view, as of the lease thread's last round (each lease/3):
 * every collector's row, the decider row, the server that answers
 * (the store's primary: inet_server_addr and port), and its standbys as
 * pg_stat_replication on it shows them (none: n_standbys 0; a role
 * without pg_read_all_stats sees the rows but not their state, shown as
 * given). */
#define CLUSTER_VIEW_MAX     16
#define CLUSTER_STANDBYS_MAX 8
struct cluster_view {
	unsigned n;
	struct {
		char name[64];
		char addrs[200];
		double seen_ago_s; /* now() - last_seen */
	} collectors[CLUSTER_VIEW_MAX];
	char holder[64];
	int64_t epoch;
	double expires_in_s; /* expires_at - now(); negative: expired */
	char primary[80];
	unsigned n_standbys;
	struct cluster_standby {
		char name[64];       /* application_name */
		char client[48];     /* client_addr (empty: unix socket) */
		char state[24];      /* streaming, catchup, ... */
		char sync_state[16]; /* sync, quorum, potential, async */
		int64_t lag_bytes;   /* the primary's current LSN - replay_lsn; -1 unknown */
		double lag_s; /* replay_lag; 0 when idle (PostgreSQL reports NULL), -1 unknown */
	} standbys[CLUSTER_STANDBYS_MAX];
	double age_s; /* since that round; -1: none yet */
};
void cluster_get_view(struct cluster *c, struct cluster_view *out);

#endif
