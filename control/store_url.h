/*
 * --store URL (store: in the configuration file): which backend holds the
 * endpoint store, and where. The forms:
 *   sqlite:              SQLite, glournet.db in --state-dir (the default)
 *   sqlite:/PATH         SQLite at an absolute path
 *   postgresql://...     PostgreSQL, a libpq URI (postgres:// too), multi-
 *                        host lists and target_session_attrs=read-write
 *                        included
 *   key=value ...        PostgreSQL, a libpq key=value connection string
 * A password in any of them is never shown: store_url_mask() replaces it
 * with "***" wherever the string is logged, answered or refused.
 */
#ifndef GLOURNET_STORE_URL_H
#define GLOURNET_STORE_URL_H

#include <stddef.h>

#define STORE_URL_MAX 1024 /* longest --store value, and its masked text */

enum store_kind { STORE_KIND_SQLITE, STORE_KIND_PG };

struct store_url {
	enum store_kind kind;
	char target[STORE_URL_MAX]; /* SQLite: the path ("" : --state-dir's); PG: as given */
	char shown[STORE_URL_MAX];  /* the text with its password masked */
};

/* Parses `text` (NULL or "": sqlite:). 0, or -1 with err saying what is
 * wrong with the (masked) input. A connection string is checked by
 * libpq's own parser, so what passes here connects or fails for a reason
 * of the server's. */
int store_url_parse(const char *text, struct store_url *u, char *err, size_t errlen);

/* `in` with any password masked: a URI's user:PASSWORD@ and ?password=,
 * a key=value string's password=VALUE (quoted or not). Always
 * NUL-terminated; cut to `len`. */
void store_url_mask(const char *in, char *out, size_t len);

#endif
