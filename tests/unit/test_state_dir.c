/*
 * The state directory (state_dir.h), on real directories and SQLite files.
 * Proves: a missing directory is created 0700 and glournetd's umask is 077
 * afterwards; a 0755 directory with 0644 files (an older glournetd's) is
 * made 0700/0600 with a line saying so; a directory others can write in
 * (0777, 0775, 1777), one of another user, or a file of another user is
 * refused naming it and left as it was. The store's identity: a first
 * start records an id in the store and the marker; the same store opens
 * again, empty or not; a deleted, truncated or new store where one was is
 * refused naming glournet.db and --allow-empty-store, and allowed with it
 * (a new id); a store holding endpoints under another id is taken and
 * recorded; with no marker yet (an older glournetd), a new store next to a
 * transition log that is not empty is refused, one without is not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "control/state_dir.h"
#include "control/store.h"

struct scratch {
	char top[64];
	char dir[96];    /* the state directory, not made yet */
	char db[160];
	char log[4096];  /* stderr captured here */
};

static int setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	strcpy(s->top, "/tmp/gn-statedir-XXXXXX");
	if (!mkdtemp(s->top))
		return -1;
	snprintf(s->dir, sizeof(s->dir), "%s/state", s->top);
	snprintf(s->db, sizeof(s->db), "%s/glournet.db", s->dir);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct scratch *s = *state;
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", s->top, s->top);
	int rc = system(cmd);
	free(s);
	umask(022);
	return rc == 0 ? 0 : -1;
}

/* ---- stderr (the log) into s->log around one call ---- */

static int saved_fd = -1;
static char cap_path[96];

static void capture_begin(struct scratch *s)
{
	snprintf(cap_path, sizeof(cap_path), "%s/log.txt", s->top);
	fflush(stderr);
	saved_fd = dup(2);
	int fd = open(cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
}

static void capture_end(struct scratch *s)
{
	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	FILE *f = fopen(cap_path, "r");
	assert_non_null(f);
	size_t n = fread(s->log, 1, sizeof(s->log) - 1, f);
	s->log[n] = '\0';
	fclose(f);
	unlink(cap_path);
	print_message("%s", s->log);
}

static void assert_logged(const struct scratch *s, const char *words)
{
	if (!strstr(s->log, words))
		fail_msg("the log does not say '%s':\n%s", words, s->log);
}

static int prepare(struct scratch *s)
{
	capture_begin(s);
	int rc = state_dir_prepare(s->dir);
	capture_end(s);
	return rc;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void make_file(const struct scratch *s, const char *name, unsigned mode)
{
	char p[200];
	snprintf(p, sizeof(p), "%s/%s", s->dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static unsigned file_mode(const struct scratch *s, const char *name)
{
	char p[200];
	snprintf(p, sizeof(p), "%s/%s", s->dir, name);
	return mode_of(p);
}

/* ================= modes ================= */

static void test_created_0700(void **state)
{
	struct scratch *s = *state;
	umask(022);
	assert_int_equal(prepare(s), 0);
	assert_int_equal(mode_of(s->dir), 0700);
	assert_logged(s, "created, mode 0700");
	mode_t m = umask(0);
	umask(m);
	assert_int_equal(m, 077);
	/* What glournetd then creates there is its own: SQLite's files too. */
	char err[256];
	struct store *st = store_open(s->db, err, sizeof(err));
	assert_non_null(st);
	store_close(st, 1000);
	assert_int_equal(mode_of(s->db), 0600);
}

static void test_readable_fixed(void **state)
{
	struct scratch *s = *state;
	assert_int_equal(mkdir(s->dir, 0755), 0);
	assert_int_equal(chmod(s->dir, 0755), 0);
	make_file(s, "glournet.db", 0644);
	make_file(s, "glournet.db-wal", 0644);
	make_file(s, "glournet.db-shm", 0664);
	make_file(s, "policy.json", 0640);
	make_file(s, "transitions.log", 0600);
	make_file(s, "unrelated.txt", 0644);   /* not ours to judge */
	assert_int_equal(prepare(s), 0);
	assert_int_equal(mode_of(s->dir), 0700);
	assert_logged(s, "was mode 0755, readable by others");
	assert_logged(s, "made it 0700");
	assert_logged(s, "glournet.db (was 0644)");
	assert_logged(s, "glournet.db-wal (was 0644)");
	assert_logged(s, "glournet.db-shm (was 0664)");
	assert_logged(s, "policy.json (was 0640)");
	assert_null(strstr(s->log, "transitions.log"));   /* 0600 already: nothing said */
	const char *names[] = {"glournet.db", "glournet.db-wal", "glournet.db-shm", "policy.json",
			       "transitions.log"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(file_mode(s, names[i]), 0600);
	assert_int_equal(file_mode(s, "unrelated.txt"), 0644);
	/* Fixed once: the next start has nothing to say. */
	assert_int_equal(prepare(s), 0);
	assert_null(strstr(s->log, "made"));
}

static void expect_refused_dir(struct scratch *s, unsigned mode, const char *words)
{
	assert_int_equal(chmod(s->dir, mode), 0);
	assert_int_equal(prepare(s), -EPERM);
	assert_logged(s, s->dir);
	assert_logged(s, words);
	assert_int_equal(mode_of(s->dir), mode);           /* left as it was */
	assert_int_equal(file_mode(s, "glournet.db"), 0644);
}

static void test_writable_refused(void **state)
{
	struct scratch *s = *state;
	assert_int_equal(mkdir(s->dir, 0700), 0);
	make_file(s, "glournet.db", 0644);
	expect_refused_dir(s, 0777, "writable by every user (mode 0777)");
	expect_refused_dir(s, 0775, "writable by its group (mode 0775)");
	expect_refused_dir(s, 01777, "writable by every user (mode 1777)");   /* sticky: still */
	expect_refused_dir(s, 0757, "writable by every user (mode 0757)");
}

static void test_other_owner_refused(void **state)
{
	struct scratch *s = *state;
	if (geteuid() != 0)
		skip();   /* chown needs root */
	assert_int_equal(mkdir(s->dir, 0700), 0);
	make_file(s, "glournet.db", 0644);
	assert_int_equal(chown(s->dir, 65534, 65534), 0);
	assert_int_equal(prepare(s), -EPERM);
	assert_logged(s, "belongs to uid 65534, not to glournetd's user (uid 0)");
	assert_int_equal(chown(s->dir, 0, 0), 0);
	char db[200];
	snprintf(db, sizeof(db), "%s/glournet.db", s->dir);
	assert_int_equal(chown(db, 65534, 65534), 0);
	assert_int_equal(prepare(s), -EPERM);
	assert_logged(s, "glournet.db belongs to uid 65534");
	assert_int_equal(file_mode(s, "glournet.db"), 0644);
}

/* ================= the store's identity ================= */

static struct store *open_store(struct scratch *s)
{
	char err[256];
	struct store *st = store_open(s->db, err, sizeof(err));
	if (!st)
		fail_msg("store_open: %s", err);
	return st;
}

static int check(struct scratch *s, bool allow)
{
	struct store *st = open_store(s);
	capture_begin(s);
	int rc = state_dir_check_store(s->dir, st, allow);
	capture_end(s);
	store_close(st, 2000);
	return rc;
}

static void add_endpoint(struct scratch *s)
{
	struct store *st = open_store(s);
	struct store_endpoint e = {.id = 42, .slot = 0, .guid = "g-42"};
	uint64_t t = store_put_endpoint(st, &e);
	assert_true(t > 0);
	for (int i = 0; i < 500 && store_committed(st) < t; i++)
		usleep(10000);
	assert_true(store_committed(st) >= t);
	store_close(st, 2000);
}

static void read_marker(struct scratch *s, char *out, size_t len)
{
	char p[200];
	snprintf(p, sizeof(p), "%s/%s", s->dir, STATE_DIR_MARKER);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, (int)len, f));
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	assert_int_equal(strlen(out), 32);
	assert_int_equal(mode_of(p), 0600);
}

static void store_id(struct scratch *s, char *out, size_t len)
{
	struct store *st = open_store(s);
	assert_int_equal(store_get_id(st, out, len), 0);
	store_close(st, 2000);
}

static void remove_db(struct scratch *s)
{
	const char *sfx[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		char p[200];
		snprintf(p, sizeof(p), "%s%s", s->db, sfx[i]);
		unlink(p);
	}
}

static void expect_stale(struct scratch *s, const char *words)
{
	assert_int_equal(check(s, false), -ESTALE);
	assert_logged(s, s->db);
	assert_logged(s, words);
	assert_logged(s, "--allow-empty-store");
}

static void test_identity(void **state)
{
	struct scratch *s = *state;
	assert_int_equal(prepare(s), 0);
	assert_int_equal(check(s, false), 0);   /* first start */
	char m1[64], id[64];
	read_marker(s, m1, sizeof(m1));
	store_id(s, id, sizeof(id));
	assert_string_equal(m1, id);
	assert_int_equal(check(s, false), 0);   /* the same store, empty: fine */
	add_endpoint(s);
	assert_int_equal(check(s, false), 0);

	/* Lost: deleted, then truncated. */
	char keep[200], cmd[512];
	snprintf(keep, sizeof(keep), "%s/keep.db", s->top);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", s->db, keep);
	assert_int_equal(system(cmd), 0);
	remove_db(s);
	expect_stale(s, "is a new, empty store");
	assert_logged(s, m1);
	remove_db(s);
	int fd = open(s->db, O_WRONLY | O_CREAT | O_TRUNC, 0600);   /* truncated */
	close(fd);
	expect_stale(s, "is a new, empty store");
	char m[64];
	read_marker(s, m, sizeof(m));
	assert_string_equal(m, m1);   /* a refusal changes nothing */

	/* The backup put back: it is the store named, endpoint and all. */
	remove_db(s);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", keep, s->db);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(check(s, false), 0);
	struct store *st = open_store(s);
	assert_int_equal(store_slot_span(st), 1);
	store_close(st, 2000);
	remove_db(s);

	/* Told to: starts empty, with a new identity, and says so. */
	assert_int_equal(check(s, true), 0);
	assert_logged(s, "starting with it empty, as --allow-empty-store says");
	char m2[64];
	read_marker(s, m2, sizeof(m2));
	assert_string_not_equal(m2, m1);
	store_id(s, id, sizeof(id));
	assert_string_equal(id, m2);
	assert_int_equal(check(s, false), 0);   /* and from then on, as any store */
}

static void test_other_store_with_endpoints(void **state)
{
	struct scratch *s = *state;
	assert_int_equal(prepare(s), 0);
	assert_int_equal(check(s, false), 0);
	char m1[64], id[64];
	read_marker(s, m1, sizeof(m1));
	remove_db(s);
	add_endpoint(s);   /* another store, with an endpoint and no id */
	assert_int_equal(check(s, false), 0);
	assert_logged(s, "a store without an id, not the store that store-id names");
	store_id(s, id, sizeof(id));
	char m2[64];
	read_marker(s, m2, sizeof(m2));
	assert_string_equal(m2, id);
	assert_string_not_equal(m2, m1);
}

static void test_no_marker_yet(void **state)
{
	struct scratch *s = *state;
	assert_int_equal(prepare(s), 0);
	/* An older glournetd's directory: a store with endpoints, no marker. */
	add_endpoint(s);
	assert_int_equal(check(s, false), 0);
	char m[64];
	read_marker(s, m, sizeof(m));

	/* The same, but glournet.db lost and a transition log left. */
	char p[200];
	snprintf(p, sizeof(p), "%s/%s", s->dir, STATE_DIR_MARKER);
	assert_int_equal(unlink(p), 0);
	remove_db(s);
	make_file(s, "transitions.log", 0600);
	expect_stale(s, "transitions.log (1 bytes) records endpoints");
	/* An empty log says nothing about endpoints. */
	make_file(s, "transitions.log", 0600);
	snprintf(p, sizeof(p), "%s/transitions.log", s->dir);
	assert_int_equal(truncate(p, 0), 0);
	remove_db(s);
	assert_int_equal(check(s, false), 0);
}

static void test_bad_marker(void **state)
{
	struct scratch *s = *state;
	assert_int_equal(prepare(s), 0);
	make_file(s, STATE_DIR_MARKER, 0600);
	assert_int_equal(check(s, false), -EINVAL);
	assert_logged(s, "not a store id");
}

/* ================= one glournetd a directory ================= */

/* Issue 14: a second process on a locked directory is refused with -EBUSY,
 * naming the holder's pid and the lock file; once the holder is gone the
 * directory locks again, and the file holds the new holder's pid. */
static void test_lock(void **state)
{
	struct scratch *s = *state;
	assert_int_equal(prepare(s), 0);
	int go[2], ready[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) { /* the first glournetd: locks, says so, waits */
		char c = state_dir_lock(s->dir) >= 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	char c = 0;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	char lock[200], want[64];
	snprintf(lock, sizeof(lock), "%s/%s", s->dir, STATE_DIR_LOCK);
	assert_int_equal(file_mode(s, STATE_DIR_LOCK), 0600);

	capture_begin(s);
	int rc = state_dir_lock(s->dir);
	capture_end(s);
	assert_int_equal(rc, -EBUSY);
	snprintf(want, sizeof(want), "in use by another glournetd (pid %ld", (long)child);
	assert_logged(s, want);
	assert_logged(s, lock);
	assert_logged(s, "--state-dir");

	assert_int_equal(write(go[1], "x", 1), 1); /* the first one exits */
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int fd = state_dir_lock(s->dir);
	assert_true(fd >= 0);
	FILE *f = fopen(lock, "r");
	long pid = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	assert_int_equal(pid, (long)getpid());
	close(fd);
	for (int i = 0; i < 2; i++) {
		close(go[i]);
		close(ready[i]);
	}
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_created_0700),
		T(test_readable_fixed),
		T(test_writable_refused),
		T(test_other_owner_refused),
		T(test_identity),
		T(test_other_store_with_endpoints),
		T(test_no_marker_yet),
		T(test_bad_marker),
		T(test_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
