/*
 * The endpoint credential set and its JSON-lines file (lg_endpoints.h).
 * One line per endpoint keeps ten million endpoints streamable, and is the
 * format of the daemon's bulk export, so an export can drive a load test.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lg_endpoints.h"

int lg_endpoints_add(struct lg_endpoints *set, const char *guid, const struct lg_ep *ep)
{
	size_t glen = strlen(guid) + 1;

	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 1024;
		struct lg_ep *eps = realloc(set->eps, cap * sizeof(*eps));
		uint32_t *off;

		if (!eps)
			return -ENOMEM;
		set->eps = eps;
		off = realloc(set->guid_off, cap * sizeof(*off));
		if (!off)
			return -ENOMEM;
		set->guid_off = off;
		set->cap = cap;
	}
	if (set->guids_len + glen > UINT32_MAX)
		return -E2BIG;
	if (set->guids_len + glen > set->guids_cap) {
		size_t cap = set->guids_cap ? set->guids_cap * 2 : 65536;
		char *g;

		while (cap < set->guids_len + glen)
			cap *= 2;
		if (!(g = realloc(set->guids, cap)))
			return -ENOMEM;
		set->guids = g;
		set->guids_cap = cap;
	}
	memcpy(set->guids + set->guids_len, guid, glen);
	set->guid_off[set->n] = (uint32_t)set->guids_len;
	set->guids_len += glen;
	set->eps[set->n++] = *ep;
	return 0;
}

const char *lg_endpoints_guid(const struct lg_endpoints *set, size_t i)
{
	return set->guids + set->guid_off[i];
}

void lg_endpoints_free(struct lg_endpoints *set)
{
	free(set->eps);
	free(set->guid_off);
	free(set->guids);
	memset(set, 0, sizeof(*set));
}

/* Exactly 2 * n lowercase hex digits, as docs/protocol.md writes ids and keys. */
static int hex_lower(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return -EINVAL;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

#define BAD(...)                                    \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                     \
	} while (0)

int lg_ep_from_json(const json_t *o, struct lg_ep *ep, char *err, size_t errlen)
{
	const json_t *id = json_object_get(o, "id"), *slot = json_object_get(o, "slot"),
		     *key = json_object_get(o, "key"), *port = json_object_get(o, "notify_port");
	uint8_t idb[8];
	json_int_t sv, pv = 0;

	if (!json_is_string(id) || hex_lower(json_string_value(id), idb, 8) < 0)
		BAD("\"id\" must be 16 lowercase hex digits");
	if (!json_is_integer(slot) || (sv = json_integer_value(slot)) < 0 || sv > UINT32_MAX)
		BAD("\"slot\" must be an integer 0..%" PRIu32, UINT32_MAX);
	if (!json_is_string(key) || hex_lower(json_string_value(key), ep->key, HB_KEY_LEN) < 0)
		BAD("\"key\" must be 32 lowercase hex digits");
	if (port && (!json_is_integer(port) || (pv = json_integer_value(port)) < 0 || pv > 65535))
		BAD("\"notify_port\" must be an integer 0..65535");
	ep->id = hb_be64(idb);
	ep->slot = (uint32_t)sv;
	ep->notify_port = (uint16_t)pv;
	return 0;
}

int lg_endpoints_parse_line(const char *line, size_t len, struct lg_endpoints *set, char *err,
			    size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *g;
	struct lg_ep ep;
	const char *gs;
	int rc;

	/* Padding too: a record loaded back is byte for byte the one saved. */
	memset(&ep, 0, sizeof(ep));
	if (!o)
		BAD("not JSON: %s", jerr.text);
	g = json_object_get(o, "guid");
	gs = json_is_string(g) ? json_string_value(g) : NULL;
	if (!json_is_object(o))
		rc = -EINVAL, snprintf(err, errlen, "not a JSON object");
	else if (!gs || gs[0] == '\0' || strlen(gs) > LG_GUID_MAX)
		rc = -EINVAL,
		snprintf(err, errlen, "\"guid\" must be a string of 1..%d characters", LG_GUID_MAX);
	else if ((rc = lg_ep_from_json(o, &ep, err, errlen)) == 0 &&
		 (rc = lg_endpoints_add(set, gs, &ep)) < 0)
		snprintf(err, errlen, "%s", strerror(-rc));
	json_decref(o);
	return rc;
}
#undef BAD

int lg_endpoints_load(const char *path, struct lg_endpoints *set, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, why[200];
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		size_t l = (size_t)len;

		lineno++;
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
			l--;
		if (l == 0)
			continue;
		if ((rc = lg_endpoints_parse_line(line, l, set, why, sizeof(why))) < 0) {
			snprintf(err, errlen, "%s:%lu: %s", path, lineno, why);
			break;
		}
	}
	if (!rc && ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
	if (!rc && set->n == 0) {
		rc = -ENODATA;
		snprintf(err, errlen, "%s: no endpoints in the file", path);
	}
	free(line);
	fclose(f);
	return rc;
}

/* The keys are inside: a file of our own (mkostemp: O_EXCL, 0600, a fresh
 * random name, so nothing planted at a guessable name is written through),
 * renamed over path once complete. */
int lg_endpoints_save(const char *path, const struct lg_endpoints *set)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 12);
	FILE *f = NULL;
	int rc = 0, fd;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmpXXXXXX", 11);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		errno = -rc;
		return rc;
	}
	for (size_t i = 0; i < set->n; i++) {
		const struct lg_ep *ep = &set->eps[i];
		json_t *g = json_string(lg_endpoints_guid(set, i));
		char *gq = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL;

		if (!gq) {
			json_decref(g);
			rc = -ENOMEM;
			break;
		}
		fprintf(f, "{\"guid\":%s,\"id\":\"%016" PRIx64 "\",\"slot\":%" PRIu32 ",\"key\":\"",
			gq, ep->id, ep->slot);
		for (int k = 0; k < HB_KEY_LEN; k++)
			fprintf(f, "%02x", ep->key[k]);
		if (ep->notify_port)
			fprintf(f, "\",\"notify_port\":%u}\n", (unsigned)ep->notify_port);
		else
			fputs("\"}\n", f);
		free(gq);
		json_decref(g);
	}
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)
		rc = rc ? rc : -EIO;
	if (fclose(f) != 0 && !rc)
		rc = -EIO;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	free(tmp);
	if (rc)
		errno = -rc; /* the caller prints strerror(errno) */
	return rc;
}
