/*
 * Writing bulk records (bulk_format.h): the export side. Straight into the
 * caller's buffer, no allocation, so an export of millions of endpoints
 * costs a few hundred bytes of formatting each. What is written parses
 * back to the same record (the unit test and the fuzz target check it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "control/bulk_format.h"

struct out {
	char *buf;
	size_t len, used;
	bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->over || o->used + n >= o->len) {
		o->over = true;
		return;
	}
	memcpy(o->buf + o->used, s, n);
	o->used += n;
	o->buf[o->used] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(o, tmp, n < 0 ? 0 : (size_t)n);
}

static void put_hex(struct out *o, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[64];
	for (size_t i = 0; i < n && i < sizeof(tmp) / 2; i++) {
		tmp[2 * i] = digits[b[i] >> 4];
		tmp[2 * i + 1] = digits[b[i] & 15];
	}
	put(o, tmp, 2 * n);
}

static void put_id(struct out *o, uint64_t id)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(id >> (56 - 8 * i));
	put_hex(o, b, 8);
}

/* Validated text has no control characters; escape them anyway, so a
 * record built by code can never break the line structure. */
static void put_json_string(struct out *o, const char *s, size_t n)
{
	put(o, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		put(o, s + run, i - run);
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(o, e, 2);
		} else {
			putf(o, "\\u%04x", c);
		}
		run = i + 1;
	}
	put(o, s + run, n - run);
	put(o, "\"", 1);
}

/* A CSV cell, quoted (RFC 4180) when it holds what would split or strip it. */
static void put_csv_cell(struct out *o, const char *s, size_t n)
{
	bool quote = n && (s[0] == ' ' || s[n - 1] == ' ');
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		put(o, s, n);
		return;
	}
	put(o, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"')
			continue;
		put(o, s + run, i + 1 - run); /* through the quote, then a second one */
		put(o, "\"", 1);
		run = i + 1;
	}
	put(o, s + run, n - run);
	put(o, "\"", 1);
}

static void put_number_field(struct out *o, const struct bulk_record *r, enum bulk_field f)
{
	uint32_t v = f == BULK_F_SLOT          ? r->e.slot
		     : f == BULK_F_NOTIFY_PORT ? r->e.notify_port
		     : f == BULK_F_REGISTERED  ? r->e.registered
					       : r->last_contact;
	putf(o, "%" PRIu32, v);
}

static size_t bounded_len(const char *s, size_t size)
{
	return strnlen(s, size - 1);
}

static int format_json(const struct bulk_record *r, struct out *o)
{
	puts_(o, "{");
	bool first = true;
	for (int f = 0; f < BULK_F_COUNT; f++) {
		if (!(r->has & 1u << f))
			continue;
		putf(o, "%s\"%s\":", first ? "" : ",", bulk_field_name((enum bulk_field)f));
		first = false;
		switch ((enum bulk_field)f) {
		case BULK_F_GUID:
			put_json_string(o, r->e.guid, bounded_len(r->e.guid, sizeof(r->e.guid)));
			break;
		case BULK_F_HOSTNAME:
			put_json_string(o, r->e.hostname,
					bounded_len(r->e.hostname, sizeof(r->e.hostname)));
			break;
		case BULK_F_STATUS:
			put_json_string(o, r->status, bounded_len(r->status, sizeof(r->status)));
			break;
		case BULK_F_ID:
			puts_(o, "\"");
			put_id(o, r->e.id);
			puts_(o, "\"");
			break;
		case BULK_F_KEY:
			puts_(o, "\"");
			put_hex(o, r->e.key, sizeof(r->e.key));
			puts_(o, "\"");
			break;
		case BULK_F_IPS: {
			const char *s = r->e.ips;
			size_t n = bounded_len(s, sizeof(r->e.ips));
			puts_(o, "[");
			for (size_t i = 0; i < n;) {
				size_t j = i;
				while (j < n && s[j] != ',')
					j++;
				if (i)
					puts_(o, ",");
				put_json_string(o, s + i, j - i);
				i = j + 1;
			}
			puts_(o, "]");
			break;
		}
		default:
			put_number_field(o, r, (enum bulk_field)f);
			break;
		}
	}
	puts_(o, "}\n");
	return 0;
}

static int format_csv(const struct bulk_header *h, const struct bulk_record *r, struct out *o)
{
	for (unsigned c = 0; c < h->ncols; c++) {
		if (c)
			puts_(o, ",");
		int f = h->col[c];
		if (f < 0 || !(r->has & 1u << f))
			continue;
		switch ((enum bulk_field)f) {
		case BULK_F_GUID:
			put_csv_cell(o, r->e.guid, bounded_len(r->e.guid, sizeof(r->e.guid)));
			break;
		case BULK_F_HOSTNAME:
			put_csv_cell(o, r->e.hostname,
				     bounded_len(r->e.hostname, sizeof(r->e.hostname)));
			break;
		case BULK_F_STATUS:
			put_csv_cell(o, r->status, bounded_len(r->status, sizeof(r->status)));
			break;
		case BULK_F_ID:
			put_id(o, r->e.id);
			break;
		case BULK_F_KEY:
			put_hex(o, r->e.key, sizeof(r->e.key));
			break;
		case BULK_F_IPS: {
			/* Spaces between addresses: no quoting needed. */
			size_t n = bounded_len(r->e.ips, sizeof(r->e.ips));
			for (size_t i = 0; i < n; i++)
				put(o, r->e.ips[i] == ',' ? " " : &r->e.ips[i], 1);
			break;
		}
		default:
			put_number_field(o, r, (enum bulk_field)f);
			break;
		}
	}
	puts_(o, "\n");
	return 0;
}

int bulk_format_csv_header(const struct bulk_header *h, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};
	for (unsigned c = 0; c < h->ncols; c++) {
		if (c)
			puts_(&o, ",");
		/* An ignored column keeps no name: write a placeholder that stays ignored. */
		puts_(&o, h->col[c] >= 0 ? bulk_field_name((enum bulk_field)h->col[c]) : "-");
	}
	puts_(&o, "\n");
	return o.over ? -ENOSPC : (int)o.used;
}

int bulk_format_record(enum bulk_format fmt, const struct bulk_header *csv_header,
		       const struct bulk_record *rec, char *buf, size_t len)
{
	if (!(rec->has & BULK_HAS(GUID)) || !rec->e.guid[0])
		return -EINVAL;
	struct out o = {.buf = buf, .len = len};
	if (len)
		buf[0] = '\0';
	if (fmt == BULK_CSV) {
		struct bulk_header full;
		if (!csv_header) {
			bulk_header_full(&full);
			csv_header = &full;
		}
		format_csv(csv_header, rec, &o);
	} else {
		format_json(rec, &o);
	}
	return o.over ? -ENOSPC : (int)o.used;
}
