/*
 * A file system call the control thread must never be stuck in: a write
 * to a disk that stalls (a frozen file system, a hung NFS or iSCSI path,
 * a dying device that neither fails nor returns) blocks the caller in the
 * kernel for as long as the disk likes, and a control thread blocked there
 * answers no registration (no 503), no control socket, no sweep. One job
 * at a time runs on a thread of its own; the caller waits for it a bounded
 * time, and when that passes goes on and looks again later. Ordinary
 * writes finish within the wait, so callers keep their synchronous
 * results; only a stall turns into "still running".
 */
#ifndef GLOURNET_IO_OFFLOAD_H
#define GLOURNET_IO_OFFLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef int io_job_fn(void *arg); /* runs on the offload thread; 0 or -errno */

struct io_offload {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	io_job_fn *fn;     /* the job submitted, not yet taken; NULL: none */
	void *arg;
	bool busy; /* submitted and not yet collected */
	bool done; /* it returned: result is its return */
	int result;
	bool stop, started;
	uint64_t since_ns; /* when the job in flight was submitted */
	uint64_t stalls;   /* jobs that outlived the caller's wait */
};

int io_offload_start(struct io_offload *o);
/* Joins the thread if it is free within wait_ns; otherwise leaves it to
 * the process's exit (stuck in the kernel, it cannot be cancelled). */
void io_offload_stop(struct io_offload *o, uint64_t wait_ns);

/* Runs fn(arg) on the thread and waits up to wait_ns for it. 1: it
 * returned, *result set; 0: still running (collect it with
 * io_offload_poll; arg must stay valid until then); -EBUSY: a job
 * submitted earlier is still running. */
int io_offload_run(struct io_offload *o, io_job_fn *fn, void *arg, uint64_t wait_ns, int *result);
/* The job in flight: 1 finished (*result set, the slot free again), 0
 * still running, -ENOENT none. Waits up to wait_ns. */
int io_offload_poll(struct io_offload *o, uint64_t wait_ns, int *result);
/* How long the job in flight has run, ns; 0: none. */
uint64_t io_offload_running_ns(struct io_offload *o);

#endif
