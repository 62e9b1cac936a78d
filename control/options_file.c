/*
 * The options file (options_file.h): tokenised here into an argv, so that
 * options.c checks its options with the very code that checks the command
 * line's, at start and on SIGHUP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/options_file.h"

#define MAX_LINES 256

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

void options_file_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

int options_file_read(const char *path, int *argc, char ***argv, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "--options-file '%s': %s", path, strerror(errno));
		return -1;
	}
	size_t cap = 2 * MAX_LINES + 2;
	char **v = calloc(cap, sizeof(*v));
	char line[4096];
	int n = 0, lineno = 0, rc = 0;
	if (!v) {
		fclose(f);
		snprintf(err, errlen, "--options-file '%s': out of memory", path);
		return -1;
	}
	v[n++] = strdup("glournetd");
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		if ((size_t)n + 2 >= cap) {
			snprintf(err, errlen, "--options-file '%s': more than %d options", path,
				 MAX_LINES);
			rc = -1;
			break;
		}
		size_t name_len = strcspn(s, " \t=");
		char *value = s + name_len;
		if (*value)
			*value++ = '\0';
		value = trim(value);
		if (s[0] == '-') {
			snprintf(err, errlen,
				 "--options-file '%s' line %d: '%s': write the name without '--' "
				 "(e.g. log-level debug)",
				 path, lineno, s);
			rc = -1;
			break;
		}
		char *opt = malloc(strlen(s) + 3);
		if (opt)
			sprintf(opt, "--%s", s);
		v[n++] = opt;
		if (*value)
			v[n++] = strdup(value);
	}
	fclose(f);
	for (int i = 0; rc == 0 && i < n; i++)
		if (!v[i]) {
			snprintf(err, errlen, "--options-file '%s': out of memory", path);
			rc = -1;
		}
	if (rc < 0) {
		options_file_free(v);
		return -1;
	}
	*argc = n;
	*argv = v;
	return 0;
}
