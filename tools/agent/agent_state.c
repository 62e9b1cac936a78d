/*
 * The agent's state file (docs/agent.md): what registration learned (id,
 * slot, key, clock offset) for each simulated endpoint, from the server's
 * answer, so heartbeats and a later re-registration can prove the key. It
 * holds keys, so it is written 0600, and atomically (FILE.tmp then rename)
 * so a crash never leaves half a file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2*n hex digits into n bytes; 0 or -EINVAL. */
int agent_hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Lowercase, NUL-terminated: out holds 2*n+1 chars. */
void agent_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* 16 hex digits, big-endian as written in JSON and headers. */
int agent_parse_id(const char *s, uint64_t *id)
{
	uint8_t b[8];

	if (agent_hex_decode(s, b, sizeof(b)) < 0)
		return -EINVAL;
	*id = hb_be64(b);
	return 0;
}

/* A guid we can keep in a whitespace-separated file: 1..64 printable, no
 * blanks and no '#'. docs/protocol.md allows spaces, but our own never have them. */
bool agent_guid_valid(const char *guid)
{
	size_t len = strlen(guid);

	if (len == 0 || len > AGENT_GUID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)guid[i]) || guid[i] == '#')
			return false;
	return true;
}

int agent_state_append(struct agent_state *st, const struct agent_ep *ep)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 1024;
		struct agent_ep *eps = realloc(st->eps, cap * sizeof(*eps));
		if (!eps)
			return -ENOMEM;
		st->eps = eps;
		st->cap = cap;
	}
	st->eps[st->n++] = *ep;
	return 0;
}

static int parse_line(char *line, struct agent_ep *ep, const char **why)
{
	char *tok[7], *save = NULL, *end;
	int nt = 0;
	long long off = 0;
	unsigned long long slot, port = 0;

	for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (t[0] == '#')
			break;
		if (nt == 7)
			break;
		tok[nt++] = t;
	}
	if (nt == 0)
		return 0;
	if (nt < 4 || nt > 6) {
		*why = "expected 'guid id slot key clock_offset notify_port'";
		return -EINVAL;
	}
	if (!agent_guid_valid(tok[0])) {
		*why = "bad guid (1..64 printable characters, no blanks)";
		return -EINVAL;
	}
	if (agent_parse_id(tok[1], &ep->id) < 0) {
		*why = "bad id (16 hex digits)";
		return -EINVAL;
	}
	errno = 0;
	slot = strtoull(tok[2], &end, 10);
	if (errno || *end || tok[2][0] == '-' || slot > UINT32_MAX) {
		*why = "bad slot (0..4294967295)";
		return -EINVAL;
	}
	if (agent_hex_decode(tok[3], ep->key, HB_KEY_LEN) < 0) {
		*why = "bad key (32 hex digits)";
		return -EINVAL;
	}
	if (nt >= 5) {
		errno = 0;
		off = strtoll(tok[4], &end, 10);
		if (errno || *end || off < -(1LL << 40) || off > (1LL << 40)) {
			*why = "bad clock_offset (an integer number of seconds)";
			return -EINVAL;
		}
	}
	if (nt == 6) {
		errno = 0;
		port = strtoull(tok[5], &end, 10);
		if (errno || *end || tok[5][0] == '-' || port > 65535) {
			*why = "bad notify_port (0..65535)";
			return -EINVAL;
		}
	}
	strcpy(ep->guid, tok[0]);
	ep->slot = (uint32_t)slot;
	ep->clock_offset = off;
	ep->notify_port = (uint16_t)port;
	return 1;
}

/* Loads into st (appending). A missing file is an empty state when
 * missing_ok. Errors are printed with file and line; returns 0 or -errno. */
int agent_state_load(const char *path, struct agent_state *st, bool missing_ok)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int rc = 0;

	if (!f) {
		if (errno == ENOENT && missing_ok)
			return 0;
		rc = -errno;
		fprintf(stderr, AGENT_PROG ": cannot open state file %s: %s\n", path,
			strerror(errno));
		return rc;
	}
	while (getline(&line, &cap, f) >= 0) {
		struct agent_ep ep;
		const char *why = NULL;
		int r;

		lineno++;
		r = parse_line(line, &ep, &why);
		if (r < 0) {
			fprintf(stderr, AGENT_PROG ": %s:%lu: %s\n", path, lineno, why);
			rc = r;
			break;
		}
		if (r > 0 && (rc = agent_state_append(st, &ep)) < 0) {
			fprintf(stderr, AGENT_PROG ": %s: out of memory\n", path);
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		fprintf(stderr, AGENT_PROG ": error reading %s\n", path);
	}
	free(line);
	fclose(f);
	return rc;
}

int agent_state_save(const char *path, const struct agent_state *st)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 5);
	char key[2 * HB_KEY_LEN + 1];
	FILE *f = NULL;
	int fd, rc = 0;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		fprintf(stderr, AGENT_PROG ": cannot write %s: %s\n", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return rc;
	}
	fprintf(f, "# glournet-agent state: guid id slot key clock_offset notify_port\n");
	for (size_t i = 0; i < st->n; i++) {
		const struct agent_ep *ep = &st->eps[i];
		agent_hex_encode(ep->key, HB_KEY_LEN, key);
		fprintf(f, "%s %016" PRIx64 " %" PRIu32 " %s %" PRId64 " %u\n", ep->guid, ep->id,
			ep->slot, key, ep->clock_offset, (unsigned)ep->notify_port);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0) {
		fprintf(stderr, AGENT_PROG ": cannot write state file %s: %s\n", path,
			strerror(-rc));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* Fills ep's id, slot, key and clock offset from a 200/201 answer of
 * POST /v1/register (docs/protocol.md §3); 0, or -1 with *why set. */
int agent_ep_from_answer(const char *body, size_t len, struct agent_ep *ep, const char **why)
{
	json_error_t jerr;
	json_t *root = json_loadb(body ? body : "", len, 0, &jerr);
	const char *id, *key;
	json_int_t slot, stime;
	int rc = -1;

	if (!root) {
		*why = "answer is not JSON";
		return -1;
	}
	if (json_unpack(root, "{s:s, s:I, s:s, s:I}", "id", &id, "slot", &slot, "key", &key,
			"server_time", &stime) < 0)
		*why = "answer lacks id, slot, key or server_time";
	else if (agent_parse_id(id, &ep->id) < 0)
		*why = "answer's id is not 16 hex digits";
	else if (slot < 0 || slot > (json_int_t)UINT32_MAX)
		*why = "answer's slot is out of range";
	else if (agent_hex_decode(key, ep->key, HB_KEY_LEN) < 0)
		*why = "answer's key is not 32 hex digits";
	else if (stime <= 0 || stime > (json_int_t)UINT32_MAX)
		*why = "answer's server_time is out of range";
	else {
		ep->slot = (uint32_t)slot;
		ep->clock_offset = (int64_t)stime - (int64_t)time(NULL);
		rc = 0;
	}
	json_decref(root);
	return rc;
}

static const struct agent_ep *sort_eps;

static int cmp_guid(const void *a, const void *b)
{
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	return strcmp(sort_eps[ia].guid, sort_eps[ib].guid);
}

/* Sorted index so that registering 100k endpoints against a 100k-line
 * state file stays O(n log n). */
int agent_state_index(struct agent_state *st)
{
	size_t *idx = realloc(st->by_guid, (st->n ? st->n : 1) * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < st->n; i++)
		idx[i] = i;
	sort_eps = st->eps;
	qsort(idx, st->n, sizeof(*idx), cmp_guid);
	sort_eps = NULL;
	st->by_guid = idx;
	st->n_indexed = st->n;
	return 0;
}

long agent_state_find(const struct agent_state *st, const char *guid)
{
	size_t lo = 0, hi = st->n_indexed;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->eps[st->by_guid[mid]].guid, guid);
		if (c == 0)
			return (long)st->by_guid[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void agent_state_free(struct agent_state *st)
{
	free(st->eps);
	free(st->by_guid);
	memset(st, 0, sizeof(*st));
}
