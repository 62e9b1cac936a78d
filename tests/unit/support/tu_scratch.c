/*
 * Scratch directories (tu_scratch.h): mkdtemp, then nftw depth first to
 * remove, rather than a shell's rm -rf.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tu_scratch.h"

int tu_scratch_make(struct tu_scratch *s, const char *tag, const char *file)
{
	memset(s, 0, sizeof(*s));
	if (snprintf(s->dir, sizeof(s->dir), "/tmp/gn-%s-XXXXXX", tag) >= (int)sizeof(s->dir))
		return -ENAMETOOLONG;
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return -errno;
	}
	if (file && snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, file) >=
			    (int)sizeof(s->path))
		return -ENAMETOOLONG;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? errno : 0;
}

int tu_scratch_remove(struct tu_scratch *s)
{
	if (!s->dir[0])
		return 0;
	int rc = nftw(s->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (rc < 0)
		return -errno;
	return -rc;
}

int tu_scratch_setup(void **state, const char *tag, const char *file)
{
	struct tu_scratch *s = calloc(1, sizeof(*s));
	if (!s || tu_scratch_make(s, tag, file) < 0) {
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

int tu_scratch_teardown(void **state)
{
	struct tu_scratch *s = *state;
	int rc = tu_scratch_remove(s);
	free(s);
	return rc < 0 ? -1 : 0;
}
