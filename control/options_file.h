/*
 * glournetd's options file (--options-file): the same options as the
 * command line, one a line, read at start and again on SIGHUP.
 */
#ifndef GLOURNET_OPTIONS_FILE_H
#define GLOURNET_OPTIONS_FILE_H

#include <stddef.h>

/*
 * Reads FILE: each line "NAME VALUE" or "NAME=VALUE" (NAME as on the
 * command line without its "--"; a bare "NAME" for an option without a
 * value), blank lines and "#" comments skipped. Gives back an argv for
 * getopt_long: argv[0] = "glournetd", then "--NAME", "VALUE", ...,
 * NULL-terminated. Its strings are never freed: the options parsed from
 * them point into them, for the life of the process (a SIGHUP adds one
 * small copy). 0, or -1 with `err` naming the file and line.
 */
int options_file_read(const char *path, int *argc, char ***argv, char *err, size_t errlen);
/* Frees what options_file_read returned (NULL: nothing). */
void options_file_free(char **argv);

#endif
