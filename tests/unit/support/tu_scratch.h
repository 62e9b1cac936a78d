/*
 * A scratch directory per test, under /tmp, removed with everything in it
 * afterwards, so tests that write files (stores, logs, policies) neither
 * see each other's nor leave any behind.
 */
#ifndef GLOURNET_TU_SCRATCH_H
#define GLOURNET_TU_SCRATCH_H

struct tu_scratch {
	char dir[64];        /* /tmp/gn-<tag>-XXXXXX */
	char path[192];      /* dir/<file>: the test's main file ("" without one) */
};

/* Makes a fresh directory; `file` (may be NULL) names s->path in it.
 * 0, or -errno. */
int tu_scratch_make(struct tu_scratch *s, const char *tag, const char *file);
/* Removes the directory and all below it (mount points excepted: unmount
 * them first). 0, or -errno for the first entry that could not go. */
int tu_scratch_remove(struct tu_scratch *s);

/* As a cmocka fixture: a calloc'd tu_scratch in *state. The setup is
 * tu_scratch_make with the tag and file of the test file's own setup. */
int tu_scratch_setup(void **state, const char *tag, const char *file);
int tu_scratch_teardown(void **state);

#endif
