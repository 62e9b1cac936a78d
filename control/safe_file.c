/*
 * Files created where other users may have been first (safe_file.h). Every
 * step works on the directory's fd (openat, fstatat, renameat), so the
 * directory checked is the one written in, whatever its path does later.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/safe_file.h"

/* The directory part of `path` into dir (at least "/"), the last part into f->name. */
static int split(struct safe_file *f, const char *path, char *dir, size_t dirlen, char *err,
		 size_t errlen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dl = slash ? (size_t)(slash - path) : 0;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		snprintf(err, errlen, "'%s': not a file name", path);
		return -EINVAL;
	}
	if (strlen(base) >= sizeof(f->name) - 8 || dl + 2 > dirlen) {
		snprintf(err, errlen, "'%s': name too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(f->name, sizeof(f->name), "%s", base);
	if (dl == 0)
		snprintf(dir, dirlen, "%s", slash ? "/" : ".");
	else
		snprintf(dir, dirlen, "%.*s", (int)dl, path);
	return 0;
}

/* Others may write in it only when it is sticky: then they cannot rename
 * or remove what glournetd made there. */
static int check_dir(int dirfd, const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(e));
		return -e;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "refusing to write in %s: it is writable by %s (mode %04o) "
			 "without the sticky bit, so another user could replace the file; use a "
			 "directory only glournetd's user can write in",
			 dir, st.st_mode & S_IWOTH ? "every user" : "its group",
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* What is at the name now may be replaced only if it is a regular file. */
static int check_target(struct safe_file *f, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		if (e == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen,
			 "refusing %s: it is a symbolic link (glournetd neither writes "
			 "through nor replaces one; remove it, or give the real path)",
			 path);
		return -ELOOP;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "refusing %s: it exists and is not a regular file", path);
		return -EEXIST;
	}
	return 0;
}

/* The file just made must be ours and private, whatever the file system did. */
static int check_new(struct safe_file *f, const char *shown, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(f->fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", shown, strerror(e));
		return -e;
	}
	/* A umask wider than 077 only takes bits away: put 0600 back. */
	if (S_ISREG(st.st_mode) && (st.st_mode & 07777) != 0600 &&
	    (fchmod(f->fd, 0600) < 0 || fstat(f->fd, &st) < 0))
		st.st_mode = 0;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0600) {
		snprintf(err, errlen,
			 "%s: created, but not a private file of glournetd's (uid %u, "
			 "mode %04o)",
			 shown, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int safe_file_create(struct safe_file *f, const char *path, unsigned flags, char *err,
		     size_t errlen)
{
	char dir[4096];
	*f = (struct safe_file){.dirfd = -1, .fd = -1};
	int rc = split(f, path, dir, sizeof(dir), err, errlen);
	if (rc < 0)
		return rc;
	f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	if ((rc = check_dir(f->dirfd, dir, err, errlen)) < 0 ||
	    (rc = check_target(f, path, err, errlen)) < 0)
		goto fail;
	if (!(flags & SAFE_FILE_NO_TMPFILE)) {
		f->fd = openat(f->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		f->anon = f->fd >= 0;
	}
	if (f->fd < 0) { /* no O_TMPFILE here (EOPNOTSUPP, EISDIR...): a name of our own */
		snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", f->name);
		f->fd = openat(f->dirfd, f->tmp,
			       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f->fd < 0) {
			rc = -errno;
			if (rc == -EEXIST)
				snprintf(err, errlen,
					 "cannot create %s.tmp: it exists already (not "
					 "made by this export; remove it after a look)",
					 path);
			else
				snprintf(err, errlen, "cannot create %s.tmp: %s", path,
					 strerror(-rc));
			f->tmp[0] = '\0';
			goto fail;
		}
	}
	if ((rc = check_new(f, path, err, errlen)) < 0)
		goto fail;
	return 0;
fail:
	safe_file_abort(f);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	return rc;
}

/* The O_TMPFILE file under a fresh random name: linkat never replaces. */
static int link_anon(struct safe_file *f)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
	for (int tries = 0; tries < 8; tries++) {
		unsigned char r[6];
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -EIO;
		snprintf(f->tmp, sizeof(f->tmp), ".%s.%02x%02x%02x%02x%02x%02x", f->name, r[0],
			 r[1], r[2], r[3], r[4], r[5]);
		int rc = linkat(AT_FDCWD, proc, f->dirfd, f->tmp, AT_SYMLINK_FOLLOW);
		if (rc < 0 && errno == ENOENT) /* no /proc: needs CAP_DAC_READ_SEARCH */
			rc = linkat(f->fd, "", f->dirfd, f->tmp, AT_EMPTY_PATH);
		if (rc == 0)
			return 0;
		if (errno != EEXIST) {
			f->tmp[0] = '\0';
			return -errno;
		}
	}
	f->tmp[0] = '\0';
	return -EEXIST;
}

int safe_file_commit(struct safe_file *f, char *err, size_t errlen)
{
	const char *step = "writing";
	int rc = fsync(f->fd) < 0 ? -errno : 0;
	if (rc == 0 && f->anon) {
		step = "naming";
		rc = link_anon(f);
	}
	if (rc == 0) {
		step = "renaming";
		/* renameat replaces a link itself, never what it points to. */
		rc = renameat(f->dirfd, f->tmp, f->dirfd, f->name) < 0 ? -errno : 0;
	}
	if (rc == 0) {
		f->tmp[0] = '\0';
		step = "syncing the directory of";
		rc = fsync(f->dirfd) < 0 ? -errno : 0;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s %s: %s", step, f->name, strerror(-rc));
	safe_file_abort(f);
	return rc;
}

void safe_file_abort(struct safe_file *f)
{
	if (f->dirfd < 0)
		return;
	if (f->tmp[0])
		unlinkat(f->dirfd, f->tmp, 0);
	f->tmp[0] = '\0';
	close(f->dirfd);
	f->dirfd = -1;
}
