/*
 * glournetd's configuration file (--config FILE): YAML, read by libyaml,
 * a flat mapping of keys to a value or a list of values. This file only
 * reads the YAML and keeps each key and value with its line; what a key
 * means, and whether its value is good, is options.c's (the keys are the
 * command line's option names, so every option is defined once).
 */
#ifndef GLOURNET_CONFIG_FILE_H
#define GLOURNET_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

struct config_value {
	char *text;
	unsigned line; /* 1-based */
};

struct config_entry {
	char *key;
	unsigned line;
	bool is_list; /* given as a YAML sequence (even of one) */
	struct config_value *vals;
	unsigned n;
};

struct config_file {
	char *path; /* as named, for messages */
	struct config_entry *e;
	unsigned n;
};

/* At most this many keys and values: a configuration, not a data set. */
#define CONFIG_MAX_ENTRIES 256
#define CONFIG_MAX_VALUES  256
#define CONFIG_MAX_BYTES   (1u << 20)

/*
 * Reads and parses FILE into `cf`. Errors are said in `err`, one a line,
 * each "FILE:LINE: what". A key that is not a plain name, a value that is
 * a mapping or a list of lists, an alias, an empty value or a key given
 * twice: that key is left out and the walk goes on, so every such key is
 * said; then 1, with the good keys in `cf`. A YAML syntax error, a top
 * level that is not a mapping or more than one document: -1 (nothing
 * kept). An empty file (or only comments) is an empty configuration.
 * 0 when all is good.
 */
int config_file_read(const char *path, struct config_file *cf, char *err, size_t errlen);
/* The same over bytes in memory (the fuzz target); `name` for messages. */
int config_file_parse(const char *name, const char *text, size_t len, struct config_file *cf,
		      char *err, size_t errlen);
/* Frees what either returned (a zeroed or freed `cf`: nothing). */
void config_file_free(struct config_file *cf);
/* The entry for KEY, or NULL. */
const struct config_entry *config_file_find(const struct config_file *cf, const char *key);

#endif
