/*
 * The state directory's modes and the store's identity (state_dir.h). Runs
 * once at start, before anything in the directory is opened, so nothing
 * glournetd writes there is ever readable by others, even for a moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define LOG_TAG "state"
#include "control/state_dir.h"
#include "control/store.h"
#include "glournet/log.h"

#define ID_HEX 32

/* The files glournetd keeps there (SQLite adds -wal and -shm, and -journal
 * only when WAL is refused). */
static const char *const known_files[] = {
	"glournet.db", "glournet.db-wal", "glournet.db-shm", "glournet.db-journal",
	"policy.json", "transitions.log", STATE_DIR_MARKER,  STATE_DIR_LOCK,
};

/* Regular files of ours made 0600; another user's file is refused. A link
 * or a FIFO (transitions.log may be one) is the owner's choice: only the
 * owner could have made it, the directory being checked first. */
static int fix_files(int dfd, const char *dir, uid_t me)
{
	char fixed[512] = "";
	for (size_t i = 0; i < sizeof(known_files) / sizeof(known_files[0]); i++) {
		struct stat st;
		if (fstatat(dfd, known_files[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (st.st_uid != me) {
			LOG(ERR,
			    "%s/%s belongs to uid %u, not to glournetd's user (uid %u): refusing "
			    "the state directory (chown the file)",
			    dir, known_files[i], (unsigned)st.st_uid, (unsigned)me);
			return -EPERM;
		}
		if (!(st.st_mode & 077))
			continue;
		if (fchmodat(dfd, known_files[i], 0600, 0) < 0) {
			int e = errno;
			LOG(ERR,
			    "%s/%s is mode %04o, readable by others, and cannot be made 0600: %s",
			    dir, known_files[i], (unsigned)(st.st_mode & 07777), strerror(e));
			return -e;
		}
		size_t used = strlen(fixed);
		snprintf(fixed + used, sizeof(fixed) - used, "%s%s (was %04o)", used ? ", " : "",
			 known_files[i], (unsigned)(st.st_mode & 07777));
	}
	if (fixed[0])
		LOG(WARN, "state directory %s: files readable by others made 0600: %s", dir, fixed);
	return 0;
}

int state_dir_prepare(const char *dir)
{
	umask(077); /* the store, its WAL, the policy, the log: ours alone from birth */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0700) < 0) {
			int e = errno;
			LOG(ERR, "state directory %s: cannot create it: %s", dir, strerror(e));
			return -e;
		}
		LOG(INFO, "state directory %s: created, mode 0700", dir);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0) {
		int e = errno;
		LOG(ERR, "state directory %s: %s", dir, strerror(e));
		return -e;
	}
	struct stat st;
	struct statvfs vfs;
	uid_t me = geteuid();
	int rc = 0;
	if (fstat(dfd, &st) < 0 || fstatvfs(dfd, &vfs) < 0) {
		rc = -errno;
		LOG(ERR, "state directory %s: %s", dir, strerror(-rc));
	} else if (vfs.f_flag & ST_RDONLY) {
		rc = -EROFS;
		LOG(ERR,
		    "state directory %s is on a read-only file system: the store, the policy "
		    "and the transition log are written there",
		    dir);
	} else if (st.st_uid != me) {
		rc = -EPERM;
		LOG(ERR,
		    "state directory %s belongs to uid %u, not to glournetd's user (uid %u): "
		    "refusing it (chown it, or give another --state-dir)",
		    dir, (unsigned)st.st_uid, (unsigned)me);
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		/* Fixing the mode would not undo what another user may have
		 * planted in it (a -wal file of theirs, a link): refuse. */
		rc = -EPERM;
		LOG(ERR,
		    "state directory %s is writable by %s (mode %04o): refusing it, since "
		    "another user could have replaced its files; check them, then chmod 0700 %s",
		    dir, st.st_mode & S_IWOTH ? "every user" : "its group",
		    (unsigned)(st.st_mode & 07777), dir);
	} else if (st.st_mode & 077) {
		if (fchmod(dfd, 0700) < 0) {
			rc = -errno;
			LOG(ERR,
			    "state directory %s is mode %04o, readable by others, and cannot be "
			    "made 0700: %s",
			    dir, (unsigned)(st.st_mode & 07777), strerror(-rc));
		} else {
			LOG(WARN,
			    "state directory %s was mode %04o, readable by others (the store "
			    "holds every endpoint's key): made it 0700",
			    dir, (unsigned)(st.st_mode & 07777));
		}
	}
	if (rc == 0)
		rc = fix_files(dfd, dir, me);
	close(dfd);
	return rc;
}

/* ---- one glournetd a directory ---- */

/* The pid in the lock file, for when F_GETLK cannot say (0: none). */
static long lock_file_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return strtol(buf, NULL, 10);
}

int state_dir_lock(const char *dir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_DIR_LOCK);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		LOG(ERR, "%s: cannot open the state directory's lock: %s", path, strerror(e));
		return -e;
	}
	/* A record lock, not flock: F_GETLK names the holder's pid. It goes
	 * with the process (no child inherits it), and only this descriptor
	 * ever opens the file, so no close elsewhere can drop it. */
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int e = errno;
		if (e != EACCES && e != EAGAIN) {
			LOG(ERR, "%s: cannot lock it: %s", path, strerror(e));
			close(fd);
			return -e;
		}
		struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		long pid = fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK ? (long)who.l_pid
										  : 0;
		if (pid <= 0)
			pid = lock_file_pid(fd);
		close(fd);
		LOG(ERR,
		    "state directory %s is in use by another glournetd (pid %ld, holding %s): "
		    "two on one store would overwrite each other's endpoints; stop that one, or "
		    "give this one another --state-dir",
		    dir, pid, path);
		return -EBUSY;
	}
	char line[32];
	int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n)
		LOG(WARN, "%s: cannot write glournetd's pid in it: %s", path, strerror(errno));
	return fd;
}

/* ---- the store's identity ---- */

static bool is_id(const char *s)
{
	return strlen(s) == ID_HEX && strspn(s, "0123456789abcdef") == ID_HEX;
}

/* 0 with the id, -ENOENT, or -EINVAL (logged: not a marker). */
static int read_marker(const char *path, char *id, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		if (e != ENOENT)
			LOG(ERR, "%s: %s", path, strerror(e));
		return -e;
	}
	char buf[ID_HEX + 2];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!is_id(buf) || len <= ID_HEX) {
		LOG(ERR,
		    "%s: not a store id (%d hex digits expected); it names the store this "
		    "directory holds: restore it, or remove it if glournet.db is the right store",
		    path, ID_HEX);
		return -EINVAL;
	}
	snprintf(id, len, "%s", buf);
	return 0;
}

/* Written whole or not at all, 0600, never through a link. */
static int write_marker(const char *dir, const char *path, const char *id)
{
	char tmp[4210], line[ID_HEX + 2];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int n = snprintf(line, sizeof(line), "%s\n", id);
	unlink(tmp); /* left by a crash; the directory is ours alone */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = fd < 0 ? -errno : 0;
	if (rc == 0 && (write(fd, line, (size_t)n) != n || fsync(fd) < 0))
		rc = errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	if (rc < 0) {
		unlink(tmp);
		LOG(ERR, "%s: cannot write it: %s", path, strerror(-rc));
	}
	return rc;
}

static int new_id(char *id, size_t len)
{
	unsigned char b[ID_HEX / 2];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -errno;
	for (size_t i = 0; i < sizeof(b) && 2 * i + 2 < len; i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* Why this store must not be taken as it is, into `why`; "" if it may. */
static void judge(const char *dir, struct store *s, int mrc, const char *marked, int src,
		  const char *have, char *why, size_t len)
{
	why[0] = '\0';
	int64_t span = store_slot_span(s);
	if (span != 0)
		return; /* endpoints, or an error the restore reports */
	if (mrc == 0 && !(src == 0 && !strcmp(have, marked))) {
		snprintf(why, len,
			 "%s is %s, but %s/%s says this directory held store "
			 "%s: its endpoints would be forgotten",
			 store_shown(s),
			 store_created(s) ? "a new, empty store"
			 : src == 0       ? "an empty store with another id"
					  : "an empty store without an id",
			 dir, STATE_DIR_MARKER, marked);
		return;
	}
	struct stat st;
	char log[4200];
	snprintf(log, sizeof(log), "%s/transitions.log", dir);
	if (mrc == -ENOENT && store_created(s) && stat(log, &st) == 0 && st.st_size > 0)
		snprintf(why, len,
			 "%s is a new, empty store, but %s (%lld bytes) "
			 "records endpoints: they would be forgotten",
			 store_shown(s), log, (long long)st.st_size);
}

int state_dir_check_store(const char *dir, struct store *s, bool allow_empty)
{
	char marker[4200], marked[ID_HEX + 1] = "", have[ID_HEX + 1] = "", why[4096 * 2 + 300];
	snprintf(marker, sizeof(marker), "%s/%s", dir, STATE_DIR_MARKER);
	int mrc = read_marker(marker, marked, sizeof(marked));
	if (mrc < 0 && mrc != -ENOENT)
		return mrc;
	int src = store_get_id(s, have, sizeof(have));
	if (src < 0 && src != -ENOENT)
		return src;
	if (src == 0 && !is_id(have)) {
		LOG(ERR, "%s: store id '%s' is not %d hex digits", store_shown(s), have, ID_HEX);
		return -EINVAL;
	}
	judge(dir, s, mrc, marked, src, have, why, sizeof(why));
	if (why[0] && !allow_empty) {
		LOG(ERR,
		    "%s. If the store is lost for good and the endpoints are to register "
		    "again, start once with --allow-empty-store; otherwise restore %s from a "
		    "backup",
		    why,
		    strcmp(store_backend(s), "sqlite") ? "the database"
						       : "glournet.db (with its -wal)");
		return -ESTALE;
	}
	if (why[0])
		LOG(WARN,
		    "%s; starting with it empty, as --allow-empty-store says: endpoints "
		    "register again",
		    why);
	else if (mrc == 0 && (src != 0 || strcmp(have, marked)))
		LOG(WARN,
		    "%s is %s%s, not the store that %s names (%s): using it, as it "
		    "holds endpoints, and recording its id",
		    store_shown(s), src == 0 ? "store " : "a store without an id",
		    src == 0 ? have : "", STATE_DIR_MARKER, marked);
	if (src == -ENOENT || why[0]) {
		int rc = new_id(have, sizeof(have));
		if (rc == 0)
			rc = store_set_id(s, have);
		if (rc < 0)
			return rc;
		LOG(INFO, "%s: store id %s", store_shown(s), have);
	}
	if (mrc == 0 && !strcmp(have, marked))
		return 0;
	return write_marker(dir, marker, have);
}
