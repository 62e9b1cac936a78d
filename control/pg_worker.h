/*
 * A thread with its own PostgreSQL connection, in one shape: the lease
 * (cluster.c), the contact feed, the change feed, the transition stream
 * and the policy watch are each a pg_worker and a round function. The
 * worker owns the connection, the thread (signals blocked, named), one
 * mutex and one condition variable (CLOCK_MONOTONIC), and the loop:
 *
 *	until closed:
 *	    connection not CONNECTION_OK: PQfinish, connect again
 *	        (logs "<shown>: connected again" when conf.say_reconnect)
 *	    wait_ns = round(ctx, the connection, or NULL while it is down)
 *	    wait until wait_ns passed, or a kick, or close
 *	on_stop(ctx, the connection or NULL), on the thread
 *
 * The module keeps the state its other callers read under the worker's
 * mutex (pg_worker_lock): one lock per module, never nested in another's.
 * The round and on_stop run without it and take it around that state,
 * never across a statement.
 */
#ifndef GLOURNET_PG_WORKER_H
#define GLOURNET_PG_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pg_conn; /* libpq's PGconn */
struct pg_worker;

/* Returns the wait before the next round in ns, 0 for at once. */
typedef uint64_t pg_worker_round_fn(void *ctx, struct pg_conn *conn);
typedef void pg_worker_stop_fn(void *ctx, struct pg_conn *conn);

/* target (may hold a password) and shown (its log form) are copied; the
 * other strings are static. Errors: "<shown>: <what> connection: ...",
 * "<what> thread: ...". thread_name: at most 15 characters. */
struct pg_worker_conf {
	const char *target, *shown, *what, *app_name, *thread_name;
	unsigned statement_timeout_ms, tcp_user_timeout_ms;
	bool connect_later; /* not at open: the first round connects */
	bool say_reconnect; /* a connect_later worker's first connect too */
	pg_worker_round_fn *round;
	pg_worker_stop_fn *on_stop; /* NULL: none */
	void *ctx;
};

/* Any thread. The keys every worker connects with: connect_timeout 2 s,
 * the two timeouts, application_name, and `target` expanded as dbname.
 * Synchronous; the caller checks PQstatus and PQfinishes it. */
struct pg_conn *pg_worker_connect(const char *target, const char *app_name,
				  unsigned statement_timeout_ms, unsigned tcp_user_timeout_ms);

/* The owner's thread. Copies the strings, makes the mutex and condition
 * (lock and kick work from here on) and, unless conf.connect_later,
 * connects once so the caller can fail its start-up. No thread yet. NULL
 * with err set (never the password). */
struct pg_worker *pg_worker_open(const struct pg_worker_conf *conf, char *err, size_t errlen);

/* The owner's thread, between open and start only (after, the thread owns
 * the connection): for the start-up's statements. NULL with connect_later. */
struct pg_conn *pg_worker_conn(struct pg_worker *w);

/* The owner's thread, once. -1 with err set and no thread (close still
 * cleans up). */
int pg_worker_start(struct pg_worker *w, char *err, size_t errlen);

/* Any thread. Not recursive. */
void pg_worker_lock(struct pg_worker *w);
void pg_worker_unlock(struct pg_worker *w);

/* Any thread (the _locked form under pg_worker_lock): the wait under way
 * ends now; after a kick during a round the next one starts without one. */
void pg_worker_kick(struct pg_worker *w);
void pg_worker_kick_locked(struct pg_worker *w);

/* The owner's thread, without the lock; NULL: nothing. Stops the loop (a
 * round under way finishes: at most its statements' timeouts), joins the
 * thread (on_stop has run), closes the connection, frees the worker. Never
 * started or never connected: no thread, no connection to close. */
void pg_worker_close(struct pg_worker *w);

#endif
