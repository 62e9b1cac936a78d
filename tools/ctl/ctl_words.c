/*
 * A command line typed at the prompt or written in a batch file, split
 * into words the way a shell splits them (quotes and backslashes), so that
 * a guid or a component URL with a blank in it is one word there as on
 * the command line. Nothing is expanded: no variables, no globs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static int push(char ***argv, int *argc, size_t *cap, char *word)
{
	if ((size_t)*argc + 2 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		char **n = realloc(*argv, ncap * sizeof(*n));

		if (!n) {
			free(word);
			return -ENOMEM;
		}
		*argv = n;
		*cap = ncap;
	}
	(*argv)[(*argc)++] = word;
	(*argv)[*argc] = NULL;
	return 0;
}

int ctl_words_split(const char *line, int *argc, char ***argv, char *err, size_t errlen)
{
	size_t cap = 0, len = strlen(line);
	char *word = malloc(len + 1);
	int rc = 0;

	*argc = 0;
	*argv = NULL;
	if (!word || push(argv, argc, &cap, NULL) < 0) /* an empty, terminated list */
		goto nomem;
	*argc = 0;
	for (const char *p = line; *p;) {
		size_t n = 0;
		char quote = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			break;
		for (; *p; p++) {
			if (quote == '\'') {
				if (*p == '\'')
					quote = 0;
				else
					word[n++] = *p;
			} else if (*p == '\\' && p[1] && (!quote || strchr("\"\\$`", p[1]))) {
				word[n++] = *++p;
			} else if (quote == '"') {
				if (*p == '"')
					quote = 0;
				else
					word[n++] = *p;
			} else if (*p == '\'' || *p == '"') {
				quote = *p;
			} else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
				break;
			} else {
				word[n++] = *p;
			}
		}
		if (quote) {
			snprintf(err, errlen, "a %s quote is not closed",
				 quote == '"' ? "double" : "single");
			rc = -EINVAL;
			goto fail;
		}
		char *w = strndup(word, n);
		if (!w || push(argv, argc, &cap, w) < 0)
			goto nomem;
	}
	free(word);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	rc = -ENOMEM;
fail:
	free(word);
	ctl_words_free(*argv);
	*argv = NULL;
	*argc = 0;
	return rc;
}

void ctl_words_free(char **argv)
{
	for (char **p = argv; p && *p; p++)
		free(*p);
	free(argv);
}
