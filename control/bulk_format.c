/*
 * Parsing, validation and formatting of one bulk record (bulk_format.h).
 * Both formats funnel into the same per-field checks, so a CSV and a JSON
 * line that say the same thing give the same record or the same error.
 * JSON is parsed with jansson (the untrusted side); output is written by
 * hand, which is simple for these few fields and avoids building a tree
 * per line on an export of millions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "control/bulk_format.h"
#include "control/text.h"


static const char *const field_names[BULK_F_COUNT] = {
#define BULK_FIELD_NAME(name, str) str,
	BULK_FIELDS(BULK_FIELD_NAME)
#undef BULK_FIELD_NAME
};

const char *bulk_field_name(enum bulk_field f)
{
	return (unsigned)f < BULK_F_COUNT ? field_names[f] : "?";
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int bulk_format_from_name(const char *name, enum bulk_format *out)
{
	if (!strcmp(name, "jsonl") || ends_with(name, ".jsonl") || ends_with(name, ".ndjson")) {
		*out = BULK_JSONL;
		return 0;
	}
	if (!strcmp(name, "csv") || ends_with(name, ".csv")) {
		*out = BULK_CSV;
		return 0;
	}
	return -EINVAL;
}

static int ferr(char *err, size_t errlen, enum bulk_field f, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int ferr(char *err, size_t errlen, enum bulk_field f, const char *fmt, ...)
{
	int n = snprintf(err, errlen, "field '%s': ", field_names[f]);
	if (n >= 0 && (size_t)n < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- per-field checks, on text (CSV cells, JSON strings) ---- */

/* docs/protocol.md §3's "printable": no control characters, valid UTF-8. */
static int check_text(enum bulk_field f, const char *s, size_t n, size_t min, size_t max, char *err,
		      size_t errlen)
{
	if (n < min || n > max)
		return ferr(err, errlen, f, "%zu bytes, expected %zu..%zu", n, min, max);
	size_t i = text_control_at(s, n, NULL);
	if (i < n)
		return ferr(err, errlen, f, "control character 0x%02x at byte %zu",
			    (unsigned char)s[i], i + 1);
	if (!text_utf8_valid(s, n))
		return ferr(err, errlen, f, "not valid UTF-8");
	return 0;
}

static int parse_hex(enum bulk_field f, const char *s, size_t n, uint8_t *out, size_t bytes,
		     char *err, size_t errlen)
{
	if (text_hex_decode(s, n, out, bytes, TEXT_HEX_LOWER) < 0)
		return ferr(err, errlen, f, "not %zu lowercase hex digits", 2 * bytes);
	return 0;
}

static int parse_uint(enum bulk_field f, const char *s, size_t n, uint64_t max, uint64_t *out,
		      char *err, size_t errlen)
{
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return ferr(err, errlen, f, "not a whole number 0..%llu", (unsigned long long)max);
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return ferr(err, errlen, f, "not a whole number 0..%llu",
				    (unsigned long long)max);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return ferr(err, errlen, f, "out of range 0..%llu", (unsigned long long)max);
	*out = v;
	return 0;
}

static uint64_t field_max(enum bulk_field f)
{
	return f == BULK_F_NOTIFY_PORT ? UINT16_MAX : UINT32_MAX;
}

static void set_number(struct bulk_record *r, enum bulk_field f, uint64_t v)
{
	switch (f) {
	case BULK_F_SLOT:
		r->e.slot = (uint32_t)v;
		break;
	case BULK_F_NOTIFY_PORT:
		r->e.notify_port = (uint16_t)v;
		break;
	case BULK_F_REGISTERED:
		r->e.registered = (uint32_t)v;
		break;
	case BULK_F_LAST_CONTACT:
		r->last_contact = (uint32_t)v;
		break;
	default:
		break;
	}
}

/* One address onto r->e.ips, in canonical form. `n` is its length. */
static int add_ip(struct bulk_record *r, unsigned *count, const char *s, size_t n, char *err,
		  size_t errlen)
{
	char canon[INET6_ADDRSTRLEN];
	struct gn_addr a;
	if (++*count > BULK_MAX_IPS)
		return ferr(err, errlen, BULK_F_IPS, "more than %d addresses", BULK_MAX_IPS);
	if (text_parse_addr(s, n, &a) < 0 || !inet_ntop(a.family, a.bytes, canon, sizeof(canon)))
		/* Not the text itself: the daemon may read files the operator cannot. */
		return ferr(err, errlen, BULK_F_IPS, "address %u is not an IPv4 or IPv6 address",
			    *count);
	size_t used = strlen(r->e.ips);
	snprintf(r->e.ips + used, sizeof(r->e.ips) - used, "%s%s", used ? "," : "", canon);
	return 0;
}

/* A CSV cell: addresses separated by spaces, ';' or ','. */
static int parse_ip_list(struct bulk_record *r, const char *s, size_t n, char *err, size_t errlen)
{
	unsigned count = 0;
	size_t pos = 0, len;
	const char *item;
	while ((item = text_list_next(s, n, " ;,\t", &pos, &len)))
		if (add_ip(r, &count, item, len, err, errlen) < 0)
			return -EINVAL;
	return 0;
}

/* Any field from its text. Empty is "absent" (a CSV cannot tell an empty
 * cell from a missing value, so JSON's "" means the same), except for guid:
 * required. */
static int set_text(struct bulk_record *r, enum bulk_field f, const char *s, size_t n, char *err,
		    size_t errlen)
{
	uint64_t v = 0;
	int rc = 0;
	if (n == 0 && f != BULK_F_GUID)
		return 0;
	switch (f) {
	case BULK_F_GUID:
		if ((rc = check_text(f, s, n, 1, TEXT_GUID_MAX, err, errlen)) == 0)
			memcpy(r->e.guid, s, n), r->e.guid[n] = '\0';
		break;
	case BULK_F_HOSTNAME:
		if ((rc = check_text(f, s, n, 0, TEXT_HOSTNAME_MAX, err, errlen)) == 0)
			memcpy(r->e.hostname, s, n), r->e.hostname[n] = '\0';
		break;
	case BULK_F_STATUS:
		if ((rc = check_text(f, s, n, 1, BULK_STATUS_MAX, err, errlen)) == 0)
			memcpy(r->status, s, n), r->status[n] = '\0';
		break;
	case BULK_F_ID: {
		uint8_t b[8];
		if ((rc = parse_hex(f, s, n, b, 8, err, errlen)) < 0)
			break;
		r->e.id = 0;
		for (int i = 0; i < 8; i++)
			r->e.id = r->e.id << 8 | b[i];
		if (r->e.id == 0)
			rc = ferr(err, errlen, f, "0 is not an endpoint id");
		break;
	}
	case BULK_F_KEY:
		rc = parse_hex(f, s, n, r->e.key, sizeof(r->e.key), err, errlen);
		break;
	case BULK_F_IPS:
		r->e.ips[0] = '\0';
		rc = parse_ip_list(r, s, n, err, errlen);
		if (rc == 0 && !r->e.ips[0])
			return 0; /* only separators: no address, absent */
		break;
	case BULK_F_SLOT:
	case BULK_F_NOTIFY_PORT:
	case BULK_F_REGISTERED:
	case BULK_F_LAST_CONTACT:
		if ((rc = parse_uint(f, s, n, field_max(f), &v, err, errlen)) == 0)
			set_number(r, f, v);
		break;
	case BULK_F_COUNT:
		break;
	}
	if (rc == 0)
		r->has |= 1u << f;
	return rc;
}

/* ---- JSON lines ---- */

static int json_field(struct bulk_record *r, enum bulk_field f, json_t *v, char *err, size_t errlen)
{
	if (json_is_null(v)) /* another exporter's "no value" */
		return f == BULK_F_GUID ? ferr(err, errlen, f, "required") : 0;
	switch (f) {
	case BULK_F_SLOT:
	case BULK_F_NOTIFY_PORT:
	case BULK_F_REGISTERED:
	case BULK_F_LAST_CONTACT: {
		if (!json_is_integer(v))
			return ferr(err, errlen, f, "not a whole number 0..%llu",
				    (unsigned long long)field_max(f));
		json_int_t i = json_integer_value(v);
		if (i < 0 || (uint64_t)i > field_max(f))
			return ferr(err, errlen, f, "out of range 0..%llu",
				    (unsigned long long)field_max(f));
		set_number(r, f, (uint64_t)i);
		r->has |= 1u << f;
		return 0;
	}
	case BULK_F_IPS: {
		if (!json_is_array(v))
			return ferr(err, errlen, f, "not an array of addresses");
		unsigned count = 0;
		size_t i;
		json_t *ip;
		r->e.ips[0] = '\0';
		json_array_foreach(v, i, ip)
		{
			if (!json_is_string(ip))
				return ferr(err, errlen, f, "address %zu is not a string", i + 1);
			if (add_ip(r, &count, json_string_value(ip), json_string_length(ip), err,
				   errlen) < 0)
				return -EINVAL;
		}
		if (count) /* [] is absent, like an empty CSV cell */
			r->has |= 1u << f;
		return 0;
	}
	default:
		if (!json_is_string(v))
			return ferr(err, errlen, f, "not a string");
		/* A "\u0000" inside would cut the C string short. */
		if (strlen(json_string_value(v)) != json_string_length(v))
			return ferr(err, errlen, f, "contains a NUL character");
		return set_text(r, f, json_string_value(v), json_string_length(v), err, errlen);
	}
}

/* jansson's own text quotes the line ("near 'root'"): an error names what
 * is wrong and where, never what is there, since the daemon may read files
 * the operator cannot (issue 13: `import /etc/shadow`). */
static const char *json_reason(const json_error_t *je)
{
	switch (json_error_code(je)) {
	case json_error_invalid_utf8:
		return "not valid UTF-8";
	case json_error_premature_end_of_input:
		return "the line ends inside the JSON";
	case json_error_end_of_input_expected:
		return "text after the JSON object";
	case json_error_duplicate_key:
		return "a key appears twice";
	case json_error_null_character:
		return "a NUL character";
	case json_error_numeric_overflow:
		return "a number out of range";
	case json_error_item_not_found:
	case json_error_wrong_type:
	case json_error_invalid_syntax:
	default:
		return "invalid syntax";
	}
}

static int parse_json(const char *line, size_t len, struct bulk_record *r, char *err, size_t errlen)
{
	json_error_t je;
	/* NUL allowed here so that the field check can name the field. */
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!root) {
		snprintf(err, errlen, "not JSON: %s (column %d)", json_reason(&je), je.column);
		return -EINVAL;
	}
	int rc = 0;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		rc = -EINVAL;
	}
	for (int f = 0; rc == 0 && f < BULK_F_COUNT; f++) {
		json_t *v = json_object_get(root, field_names[f]);
		if (v)
			rc = json_field(r, (enum bulk_field)f, v, err, errlen);
	}
	json_decref(root);
	return rc;
}

/* ---- CSV (RFC 4180, one physical line per record) ---- */

/* Cuts the next cell out of line[*pos..len), unquoting into `out` (at
 * least len bytes). *pos ends past the separator, or at len + 1 after the
 * last cell. */
static int csv_cell(const char *line, size_t len, size_t *pos, char *out, size_t *outlen,
		    unsigned column, char *err, size_t errlen)
{
	size_t i = *pos, n = 0;
	if (i < len && line[i] == '"') {
		for (i++;; i++) {
			if (i >= len) {
				snprintf(err, errlen, "column %u: unterminated quote", column);
				return -EINVAL;
			}
			if (line[i] == '"') {
				if (i + 1 < len && line[i + 1] == '"') {
					out[n++] = '"';
					i++;
					continue;
				}
				i++;
				break;
			}
			out[n++] = line[i];
		}
		if (i < len && line[i] != ',') {
			snprintf(err, errlen, "column %u: text after the closing quote", column);
			return -EINVAL;
		}
	} else {
		for (; i < len && line[i] != ','; i++) {
			if (line[i] == '"') {
				snprintf(err, errlen,
					 "column %u: a quote inside an unquoted cell "
					 "(quote the whole cell and double the quote)",
					 column);
				return -EINVAL;
			}
			out[n++] = line[i];
		}
	}
	*pos = i + 1;
	*outlen = n;
	return 0;
}

int bulk_parse_csv_header(const char *line, size_t len, struct bulk_header *h, char *err,
			  size_t errlen)
{
	char name[64];
	char *cell = malloc(len + 1);
	if (!cell) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	uint32_t seen = 0;
	int rc = 0;
	h->ncols = 0;
	for (size_t pos = 0; rc == 0 && pos <= len;) {
		size_t n;
		unsigned column = h->ncols + 1;
		if ((rc = csv_cell(line, len, &pos, cell, &n, column, err, errlen)) < 0)
			break;
		if (h->ncols == BULK_MAX_COLUMNS) {
			snprintf(err, errlen, "header: more than %d columns", BULK_MAX_COLUMNS);
			rc = -EINVAL;
			break;
		}
		/* Spaces around a name are a spreadsheet's, not part of it. */
		while (n && cell[n - 1] == ' ')
			n--;
		size_t skip = 0;
		while (skip < n && cell[skip] == ' ')
			skip++;
		snprintf(name, sizeof(name), "%.*s", (int)(n - skip), cell + skip);
		int f = -1;
		for (int k = 0; k < BULK_F_COUNT; k++)
			if (n - skip == strlen(field_names[k]) && !strcmp(name, field_names[k]))
				f = k;
		if (f >= 0 && (seen & 1u << f)) {
			snprintf(err, errlen, "header: column '%s' appears twice", name);
			rc = -EINVAL;
			break;
		}
		if (f >= 0)
			seen |= 1u << f;
		h->col[h->ncols++] = (int8_t)f;
	}
	if (rc == 0 && !(seen & BULK_HAS(GUID))) {
		snprintf(err, errlen, "header: no 'guid' column (the header names the columns: %s",
			 field_names[0]);
		for (int k = 1; k < BULK_F_COUNT; k++) {
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, ",%s", field_names[k]);
		}
		size_t used = strlen(err);
		snprintf(err + used, errlen - used, ")");
		rc = -EINVAL;
	}
	free(cell);
	return rc;
}

void bulk_header_full(struct bulk_header *h)
{
	h->ncols = BULK_F_COUNT;
	for (int k = 0; k < BULK_F_COUNT; k++)
		h->col[k] = (int8_t)k;
}

static int parse_csv(const struct bulk_header *h, const char *line, size_t len,
		     struct bulk_record *r, char *err, size_t errlen)
{
	char *cell = malloc(len + 1);
	if (!cell) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	unsigned ncells = 0;
	int rc = 0;
	for (size_t pos = 0; rc == 0 && pos <= len; ncells++) {
		size_t n;
		if ((rc = csv_cell(line, len, &pos, cell, &n, ncells + 1, err, errlen)) < 0)
			break;
		if (ncells < h->ncols && h->col[ncells] >= 0)
			rc = set_text(r, (enum bulk_field)h->col[ncells], cell, n, err, errlen);
	}
	if (rc == 0 && ncells != h->ncols) {
		snprintf(err, errlen, "%u cells, the header has %u columns", ncells, h->ncols);
		rc = -EINVAL;
	}
	free(cell);
	return rc;
}

int bulk_parse_line(enum bulk_format fmt, const struct bulk_header *csv_header, const char *line,
		    size_t len, struct bulk_record *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int rc = fmt == BULK_CSV ? parse_csv(csv_header, line, len, out, err, errlen)
				 : parse_json(line, len, out, err, errlen);
	if (rc == 0 && !(out->has & BULK_HAS(GUID)))
		rc = ferr(err, errlen, BULK_F_GUID, "required");
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
