/*
 * Batches: `glournetctl -f FILE` (or commands piped on stdin), one
 * command a line, blank lines and # comments skipped, each run as it
 * would run from the command line (ctl_run). -e stops at the first that
 * fails, as `sh -e` does; without it every line runs and the exit code is
 * the first failure's, so a script still learns that one failed.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int ctl_batch(const struct ctl_opts *o, FILE *in, const char *name, bool stop_on_error)
{
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int first_failure = CTL_EXIT_OK;

	while (getline(&line, &cap, in) >= 0) {
		char err[128], **argv;
		int argc, code;

		lineno++;
		if (ctl_words_split(line, &argc, &argv, err, sizeof(err)) < 0) {
			code = ctl_fail(o, CTL_EXIT_USAGE, "usage", "%s:%ld: %s", name, lineno,
					err);
		} else if (argc == 0) {
			ctl_words_free(argv);
			continue;
		} else {
			code = ctl_run(o, argc, argv);
			ctl_words_free(argv);
			fflush(stdout);
		}
		if (code != CTL_EXIT_OK) {
			if (first_failure == CTL_EXIT_OK)
				first_failure = code;
			if (stop_on_error) {
				fprintf(stderr, "glournetctl: %s:%ld: stopped (-e)\n", name,
					lineno);
				free(line);
				return code;
			}
		}
	}
	free(line);
	if (ferror(in))
		return ctl_fail(o, CTL_EXIT_ERROR, "error", "%s: read error", name);
	return first_failure;
}
