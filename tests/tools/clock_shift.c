/*
 * A test's clock-step lever (LD_PRELOAD): CLOCK_REALTIME, as glournetd
 * reads it through clock_gettime (and gettimeofday), shifted by the whole
 * seconds in the file $CLOCK_SHIFT_FILE (e.g. "172800" or "-3600"),
 * re-read at most every 50 ms, so a test steps the real clock of one
 * process by writing a number. Every other clock stays real. libfaketime
 * does this too, but recurses at start-up under jemalloc (its dlsym
 * allocates, jemalloc's init reads the clock): here the clock is read by
 * the system call itself, with no symbol to look up and nothing allocated.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t shift_s;
static int64_t read_at_ns = INT64_MIN;

static int raw_clock(clockid_t id, struct timespec *ts)
{
	return (int)syscall(SYS_clock_gettime, id, ts);
}

static int64_t shift(void)
{
	struct timespec m;
	raw_clock(CLOCK_MONOTONIC, &m);
	int64_t now = (int64_t)m.tv_sec * 1000000000 + m.tv_nsec;
	int64_t last = __atomic_load_n(&read_at_ns, __ATOMIC_RELAXED);
	if (last != INT64_MIN && now - last < 50000000)
		return __atomic_load_n(&shift_s, __ATOMIC_RELAXED);
	__atomic_store_n(&read_at_ns, now, __ATOMIC_RELAXED);
	const char *path = getenv("CLOCK_SHIFT_FILE");
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		char buf[32];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			__atomic_store_n(&shift_s, strtoll(buf, NULL, 10), __ATOMIC_RELAXED);
		}
	}
	return __atomic_load_n(&shift_s, __ATOMIC_RELAXED);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = raw_clock(id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += shift();
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	(void)tz;
	struct timespec ts;
	int rc = clock_gettime(CLOCK_REALTIME, &ts);
	if (rc == 0) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	return rc;
}

time_t time(time_t *t)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
