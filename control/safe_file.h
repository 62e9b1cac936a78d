/*
 * A file glournetd writes where an operator says (an export holds every
 * endpoint's key), so where other users may have been first: it is created
 * by glournetd alone (exclusively, mode 0600, checked with fstat), never
 * opened or replaced through a link, and appears under its name only once
 * complete (rename). The directory must not be writable by others unless
 * it is sticky (/tmp): otherwise another user could swap the file between
 * the write and the rename, or after.
 *
 * Where the file system has O_TMPFILE the data has no name until done (a
 * crash leaves nothing, and a file planted at any name is never touched);
 * elsewhere it is written to PATH.tmp, created with O_EXCL, so a PATH.tmp
 * already there (planted, or left by a crash) is refused by name.
 */
#ifndef GLOURNET_SAFE_FILE_H
#define GLOURNET_SAFE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#define SAFE_FILE_NO_TMPFILE 1u /* the PATH.tmp way even where O_TMPFILE works (tests) */

struct safe_file {
	int dirfd;
	int fd;         /* write here; the caller closes it (fclose of fdopen) after commit */
	bool anon;      /* O_TMPFILE: no name yet */
	char name[256]; /* the file's name in the directory */
	char tmp[272];  /* PATH.tmp's name, "" with O_TMPFILE */
};

/* Checks the directory and the name, creates the file. `path` absolute.
 * 0, or -errno with `err` saying what was refused and why. */
int safe_file_create(struct safe_file *f, const char *path, unsigned flags, char *err,
		     size_t errlen);
/* Flushed data to disk, then the file under its name (replacing a regular
 * file there, never following a link) and the directory synced. The fd
 * stays open. 0, or -errno with `err` (the file is then removed). */
int safe_file_commit(struct safe_file *f, char *err, size_t errlen);
/* Gives up: removes PATH.tmp if there is one. The fd stays open. */
void safe_file_abort(struct safe_file *f);

#endif
