/*
 * One blocking file system job at a time, off the control thread
 * (io_offload.h).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "control/io_offload.h"
#include "control/mono_clock.h"

static void *offload_main(void *self)
{
	struct io_offload *o = self;
	pthread_mutex_lock(&o->mu);
	for (;;) {
		while (!o->fn && !o->stop)
			pthread_cond_wait(&o->cv, &o->mu);
		if (!o->fn)
			break;
		io_job_fn *fn = o->fn;
		void *arg = o->arg;
		o->fn = NULL;
		pthread_mutex_unlock(&o->mu);
		int rc = fn(arg); /* where a stalled disk holds us, not the control thread */
		pthread_mutex_lock(&o->mu);
		o->result = rc;
		o->done = true;
		pthread_cond_broadcast(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

int io_offload_start(struct io_offload *o)
{
	memset(o, 0, sizeof(*o));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&o->thread, NULL, offload_main, o);
	if (rc != 0)
		return -rc;
	pthread_setname_np(o->thread, "gn-io");
	o->started = true;
	return 0;
}

/* Under o->mu: waits for the job in flight until deadline (mono ns). */
static bool wait_done(struct io_offload *o, uint64_t deadline)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
			      .tv_nsec = (long)(deadline % 1000000000ull)};
	while (!o->done && gn_mono_ns() < deadline)
		if (pthread_cond_timedwait(&o->cv, &o->mu, &ts) == ETIMEDOUT)
			break;
	return o->done;
}

/* Under o->mu, the job done: hands over its result and frees the slot. */
static int collect(struct io_offload *o, int *result)
{
	*result = o->result;
	o->busy = o->done = false;
	o->since_ns = 0;
	return 1;
}

int io_offload_run(struct io_offload *o, io_job_fn *fn, void *arg, uint64_t wait_ns, int *result)
{
	if (!o->started) { /* no thread (tests, start-up): run it here */
		*result = fn(arg);
		return 1;
	}
	pthread_mutex_lock(&o->mu);
	if (o->busy) {
		pthread_mutex_unlock(&o->mu);
		return -EBUSY;
	}
	o->fn = fn;
	o->arg = arg;
	o->busy = true;
	o->done = false;
	o->since_ns = gn_mono_ns();
	pthread_cond_broadcast(&o->cv);
	int rc = wait_done(o, o->since_ns + wait_ns) ? collect(o, result) : 0;
	if (rc == 0)
		o->stalls++;
	pthread_mutex_unlock(&o->mu);
	return rc;
}

int io_offload_poll(struct io_offload *o, uint64_t wait_ns, int *result)
{
	if (!o->started)
		return -ENOENT;
	pthread_mutex_lock(&o->mu);
	int rc = !o->busy ? -ENOENT : wait_done(o, gn_mono_ns() + wait_ns) ? collect(o, result) : 0;
	pthread_mutex_unlock(&o->mu);
	return rc;
}

uint64_t io_offload_running_ns(struct io_offload *o)
{
	if (!o->started)
		return 0;
	pthread_mutex_lock(&o->mu);
	uint64_t since = o->busy ? o->since_ns : 0;
	pthread_mutex_unlock(&o->mu);
	return since ? gn_mono_ns() - since : 0;
}

void io_offload_stop(struct io_offload *o, uint64_t wait_ns)
{
	if (!o->started)
		return;
	pthread_mutex_lock(&o->mu);
	bool free_now = !o->busy || wait_done(o, gn_mono_ns() + wait_ns);
	o->stop = true;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	if (free_now)
		pthread_join(o->thread, NULL);
	else
		pthread_detach(o->thread);
	o->started = false;
}
