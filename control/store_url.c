/*
 * --store URL (store_url.h): the forms, and the password kept out of
 * every text made of it. The connection strings are checked with libpq's
 * own parser (PQconninfoParse), the one that will read them to connect.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <libpq-fe.h>

#include "control/store_url.h"

#define MASK "***"

/* Appends n bytes of s to out (cut at len - 1). */
static void put(char *out, size_t len, size_t *at, const char *s, size_t n)
{
	for (size_t i = 0; i < n && *at + 1 < len; i++)
		out[(*at)++] = s[i];
	out[*at < len ? *at : len - 1] = '\0';
}

static bool is_uri(const char *s)
{
	return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

/* A URI: user:PASSWORD@ (as libpq reads it: the user part ends at the
 * first '@' before any '/'), and password=VALUE among the parameters. */
static void mask_uri(const char *in, char *out, size_t len)
{
	size_t at = 0;
	const char *p = strstr(in, "://") + 3;
	put(out, len, &at, in, (size_t)(p - in));
	const char *stop = p + strcspn(p, "@/");
	if (*stop == '@') {
		const char *colon = memchr(p, ':', (size_t)(stop - p));
		if (colon) {
			put(out, len, &at, p, (size_t)(colon + 1 - p));
			put(out, len, &at, MASK, strlen(MASK));
			p = stop;
		}
	}
	const char *q = strchr(p, '?');
	if (!q) {
		put(out, len, &at, p, strlen(p));
		return;
	}
	put(out, len, &at, p, (size_t)(q + 1 - p));
	for (p = q + 1; *p;) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		if (eq && eq - p == 8 && !strncmp(p, "password", 8)) {
			put(out, len, &at, p, 9);
			put(out, len, &at, MASK, strlen(MASK));
		} else {
			put(out, len, &at, p, n);
		}
		p += n;
		if (*p == '&')
			put(out, len, &at, p++, 1);
	}
}

/* key = value pairs, a value quoted in '' with \-escapes or a bare word. */
static void mask_kv(const char *in, char *out, size_t len)
{
	size_t at = 0;
	const char *p = in;
	while (*p) {
		const char *start = p;
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *key = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		size_t klen = (size_t)(p - key);
		while (*p && isspace((unsigned char)*p))
			p++;
		if (*p != '=') { /* not a pair: left as it is (libpq refuses it) */
			put(out, len, &at, start, strlen(start));
			return;
		}
		p++;
		while (*p && isspace((unsigned char)*p))
			p++;
		put(out, len, &at, start, (size_t)(p - start));
		const char *val = p;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else {
			while (*p && !isspace((unsigned char)*p))
				p++;
		}
		if (klen == 8 && !strncmp(key, "password", 8))
			put(out, len, &at, MASK, strlen(MASK));
		else
			put(out, len, &at, val, (size_t)(p - val));
	}
}

void store_url_mask(const char *in, char *out, size_t len)
{
	if (!len)
		return;
	out[0] = '\0';
	if (strstr(in, "://")) /* any scheme: a mistyped one may hold a password too */
		mask_uri(in, out, len);
	else if (strchr(in, '='))
		mask_kv(in, out, len);
	else
		snprintf(out, len, "%s", in);
}

/* libpq's message may quote the bad token, which can be the password (a
 * bad %-escape in it): the password is what masking took out of `text`
 * (the part between what `text` and `shown` share at both ends), and every
 * copy of it in `msg` becomes *** too. */
static void hide_secret(const char *text, const char *shown, char *msg, size_t size)
{
	size_t tl = strlen(text), sl = strlen(shown), pre = 0, suf = 0;
	while (pre < tl && pre < sl && text[pre] == shown[pre])
		pre++;
	while (suf < tl - pre && suf < sl - pre && text[tl - 1 - suf] == shown[sl - 1 - suf])
		suf++;
	if (pre == tl || tl - pre - suf == 0)
		return; /* nothing was masked */
	const char *secret = text + pre;
	size_t n = tl - pre - suf;
	char out[512];
	size_t at = 0;
	for (const char *p = msg; *p;) {
		if (!strncmp(p, secret, n)) {
			put(out, sizeof(out), &at, MASK, strlen(MASK));
			p += n;
		} else {
			put(out, sizeof(out), &at, p++, 1);
		}
	}
	snprintf(msg, size, "%s", at ? out : "");
}

int store_url_parse(const char *text, struct store_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	if (!text)
		text = "";
	store_url_mask(text, u->shown, sizeof(u->shown));
	if (strlen(text) >= STORE_URL_MAX) {
		snprintf(err, errlen, "'%.60s...': longer than %d characters", u->shown,
			 STORE_URL_MAX - 1);
		return -1;
	}
	if (!*text || !strcmp(text, "sqlite:")) {
		u->kind = STORE_KIND_SQLITE;
		snprintf(u->shown, sizeof(u->shown), "sqlite:");
		return 0;
	}
	if (!strncmp(text, "sqlite:", 7)) {
		if (text[7] != '/') {
			snprintf(err, errlen,
				 "'%s': expected sqlite: (glournet.db in --state-dir) or "
				 "sqlite:/ABSOLUTE/PATH",
				 u->shown);
			return -1;
		}
		u->kind = STORE_KIND_SQLITE;
		snprintf(u->target, sizeof(u->target), "%s", text + 7);
		return 0;
	}
	if (!is_uri(text) && !strchr(text, '=')) {
		snprintf(err, errlen,
			 "'%s': expected sqlite:, sqlite:/PATH, postgresql://[USER@]HOST[:PORT]"
			 "/DBNAME[?...] or a libpq connection string (host=... dbname=...)",
			 u->shown);
		return -1;
	}
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(text, &why);
	if (!opts) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", why ? why : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		hide_secret(text, u->shown, msg, sizeof(msg));
		snprintf(err, errlen, "'%s': not a PostgreSQL connection string: %s", u->shown,
			 msg);
		PQfreemem(why);
		return -1;
	}
	PQconninfoFree(opts);
	u->kind = STORE_KIND_PG;
	snprintf(u->target, sizeof(u->target), "%s", text);
	return 0;
}
