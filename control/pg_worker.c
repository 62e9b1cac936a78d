/*
 * A thread with its own PostgreSQL connection (pg_worker.h): the keys,
 * the thread's start and stop, the reconnect and the wait, once.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "control/mono_clock.h"
#include "control/pg_worker.h"
#define LOG_TAG "cluster"
#include "glournet/log.h"

struct pg_worker {
	struct pg_worker_conf conf; /* target and shown: ours */
	PGconn *conn;               /* the thread's once started */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu; /* the module's state, and: */
	pthread_cond_t wake;
	bool stop, kicked;
};

PGconn *pg_worker_connect(const char *target, const char *app_name, unsigned statement_timeout_ms,
			  unsigned tcp_user_timeout_ms)
{
	static const char *const keys[] = {"connect_timeout",  "tcp_user_timeout", "options",
					   "application_name", "dbname",           NULL};
	char tcp[16], options[48];
	snprintf(tcp, sizeof(tcp), "%u", tcp_user_timeout_ms);
	snprintf(options, sizeof(options), "-c statement_timeout=%u", statement_timeout_ms);
	const char *vals[] = {"2", tcp, options, app_name, target, NULL};
	return PQconnectdbParams(keys, vals, 1);
}

/* A new connection in place of the one there (none, or broken). */
static bool connect_again(struct pg_worker *w)
{
	const struct pg_worker_conf *c = &w->conf;
	PQfinish(w->conn);
	w->conn = pg_worker_connect(c->target, c->app_name, c->statement_timeout_ms,
				    c->tcp_user_timeout_ms);
	return PQstatus(w->conn) == CONNECTION_OK;
}

struct pg_worker *pg_worker_open(const struct pg_worker_conf *conf, char *err, size_t errlen)
{
	struct pg_worker *w = calloc(1, sizeof(*w));
	char *target = strdup(conf->target), *shown = strdup(conf->shown);
	if (!w || !target || !shown) {
		snprintf(err, errlen, "%s: out of memory", conf->what);
		free(w);
		free(target);
		free(shown);
		return NULL;
	}
	w->conf = *conf;
	w->conf.target = target;
	w->conf.shown = shown;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->mu, NULL);
	if (!conf->connect_later && !connect_again(w)) {
		snprintf(err, errlen, "%s: %s connection: %s", shown, conf->what,
			 PQerrorMessage(w->conn));
		pg_worker_close(w);
		return NULL;
	}
	return w;
}

PGconn *pg_worker_conn(struct pg_worker *w)
{
	return w->conn;
}

static void *worker_main(void *arg)
{
	struct pg_worker *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		w->kicked = false;
		pthread_mutex_unlock(&w->mu);
		bool ok = PQstatus(w->conn) == CONNECTION_OK;
		if (!ok && (ok = connect_again(w)) && w->conf.say_reconnect)
			LOG(INFO, "%s: connected again", w->conf.shown);
		uint64_t wait_ns = w->conf.round(w->conf.ctx, ok ? w->conn : NULL);
		pthread_mutex_lock(&w->mu);
		uint64_t due = gn_mono_ns() + wait_ns;
		while (!w->stop && !w->kicked && gn_mono_ns() < due) {
			struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull),
					      .tv_nsec = (long)(due % 1000000000ull)};
			pthread_cond_timedwait(&w->wake, &w->mu, &ts);
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (w->conf.on_stop)
		w->conf.on_stop(w->conf.ctx, PQstatus(w->conn) == CONNECTION_OK ? w->conn : NULL);
	return NULL;
}

int pg_worker_start(struct pg_worker *w, char *err, size_t errlen)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "%s thread: %s", w->conf.what, strerror(rc));
		return -1;
	}
	pthread_setname_np(w->thread, w->conf.thread_name);
	w->started = true;
	return 0;
}

void pg_worker_lock(struct pg_worker *w)
{
	pthread_mutex_lock(&w->mu);
}

void pg_worker_unlock(struct pg_worker *w)
{
	pthread_mutex_unlock(&w->mu);
}

void pg_worker_kick_locked(struct pg_worker *w)
{
	w->kicked = true;
	pthread_cond_broadcast(&w->wake);
}

void pg_worker_kick(struct pg_worker *w)
{
	pthread_mutex_lock(&w->mu);
	pg_worker_kick_locked(w);
	pthread_mutex_unlock(&w->mu);
}

void pg_worker_close(struct pg_worker *w)
{
	if (!w)
		return;
	if (w->started) {
		pg_worker_lock(w);
		w->stop = true;
		pthread_cond_broadcast(&w->wake);
		pg_worker_unlock(w);
		pthread_join(w->thread, NULL);
	}
	PQfinish(w->conn);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->mu);
	free((char *)w->conf.target);
	free((char *)w->conf.shown);
	free(w);
}
