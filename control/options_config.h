/*
 * The configuration file's keys as glournetd's options (options_config.c):
 * a key is an option's long name, so each option is defined once, in
 * options.c's table, and checked by the code that checks the command
 * line. The file's entries (config_file.h) become getopt words
 * "--key=value", each with its line, plus the EAL arguments of `eal:`.
 */
#ifndef GLOURNET_OPTIONS_CONFIG_H
#define GLOURNET_OPTIONS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "control/config_file.h"

struct option;

/* What the file may do with an option (by its getopt value): give a list
 * (a repeatable option), or nothing at all, and why. */
struct options_config_rule {
	int opt;
	bool list;
	const char *refused; /* not in the file: the reason, with what to do */
};

/* The key of the EAL arguments: a list of words (an item may hold several,
 * "-l 1-5"), or one line of them. */
#define OPTIONS_CONFIG_EAL "eal"

struct options_config_words {
	struct config_file cf;
	int argc;
	char **argv;    /* [0] "glournetd", then "--key=value" */
	unsigned *line; /* of each argv word */
	int eal_argc;
	char **eal_argv; /* EAL's words, into cf's values */
};

/*
 * Reads FILE and turns it into words: every key checked against `opts`
 * (unknown: refused, with the nearest name), against `rules` (refused
 * ones; a list where one value is expected), every error said with its
 * line (all of them, not only the first). 0; 1 when some keys were
 * refused (the others' words are in `w`, so that their values are checked
 * too); -1 when the file is unreadable or not YAML (`w` empty).
 */
int options_config_load(const char *path, const struct option *opts,
			const struct options_config_rule *rules, size_t nrules,
			struct options_config_words *w);
/* The rule for getopt value `opt`, or NULL. */
const struct options_config_rule *options_config_rule(const struct options_config_rule *rules,
						      size_t nrules, int opt);
void options_config_free(struct options_config_words *w);

#endif
