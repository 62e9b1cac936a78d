/*
 * The bulk file formats (issue #5): endpoints exported to a file and
 * imported from one, to migrate from another server or between glournet
 * servers. JSON lines (one object per line) or CSV with a header naming the
 * columns; both carry the same fields. Only `guid` is required: another
 * server's export has no id or key, a glournet export keeps them so a
 * migrated endpoint keeps its credentials. This file only parses, validates
 * and formats; what an import does with a record is the registry's call.
 *
 * Every error is one line of text naming the field ("field 'key': not 32
 * lowercase hex digits"); the reader adds the line number.
 */
#ifndef GLOURNET_BULK_FORMAT_H
#define GLOURNET_BULK_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/store.h"

enum bulk_format { BULK_JSONL, BULK_CSV };

/* The fields, in the order a full CSV export writes its columns. */
/* clang-format off */
#define BULK_FIELDS(X)                    \
	X(GUID,         "guid")           \
	X(ID,           "id")             \
	X(SLOT,         "slot")           \
	X(KEY,          "key")            \
	X(HOSTNAME,     "hostname")       \
	X(IPS,          "ips")            \
	X(NOTIFY_PORT,  "notify_port")    \
	X(REGISTERED,   "registered")     \
	X(LAST_CONTACT, "last_contact")   \
	X(STATUS,       "status")
/* clang-format on */

enum bulk_field {
#define BULK_FIELD_ENUM(name, str) BULK_F_##name,
	BULK_FIELDS(BULK_FIELD_ENUM)
#undef BULK_FIELD_ENUM
		BULK_F_COUNT
};
#define BULK_HAS(f) (1u << BULK_F_##f)

#define BULK_MAX_IPS      16
#define BULK_STATUS_MAX   31          /* informational text, e.g. "unreachable/online" */
#define BULK_LINE_DEFAULT (16u << 10) /* a full record is under 4 KiB, escaped */
#define BULK_MAX_COLUMNS  64

/* One endpoint as a file carries it. The store_endpoint fields a file has
 * no column for stay 0; `ips` is canonical text (inet_ntop), comma-separated,
 * as the store keeps it. */
struct bulk_record {
	struct store_endpoint e; /* guid, id, slot, key, hostname, ips, notify_port, registered */
	uint32_t last_contact;   /* informational on import */
	char status[BULK_STATUS_MAX + 1]; /* informational on import */
	uint32_t has;                     /* BULK_HAS(...) of the fields present */
};

/* A CSV header: which field each column holds, -1 for a column ignored. */
struct bulk_header {
	unsigned ncols;
	int8_t col[BULK_MAX_COLUMNS];
};

const char *bulk_field_name(enum bulk_field f);

/* By file name (".jsonl", ".ndjson", ".csv") or an explicit name ("jsonl",
 * "csv"); -EINVAL otherwise. */
int bulk_format_from_name(const char *name, enum bulk_format *out);

/* The CSV header line (without its line end); -EINVAL naming the column. */
int bulk_parse_csv_header(const char *line, size_t len, struct bulk_header *h, char *err,
			  size_t errlen);
/* Every field, in BULK_FIELDS order: the header of a full export. */
void bulk_header_full(struct bulk_header *h);

/* One record line (without its line end). `csv_header` only for BULK_CSV.
 * 0, or -EINVAL with the field and what is wrong in `err`. */
int bulk_parse_line(enum bulk_format fmt, const struct bulk_header *csv_header, const char *line,
		    size_t len, struct bulk_record *out, char *err, size_t errlen);

/* Writes the CSV header line or one record, '\n' included, NUL-terminated.
 * Returns the length written, or -ENOSPC when `len` is too small (an
 * export line is under BULK_LINE_DEFAULT) or -EINVAL for a record without
 * a guid. Only the fields in rec->has are written (CSV: empty cells). */
int bulk_format_csv_header(const struct bulk_header *h, char *buf, size_t len);
int bulk_format_record(enum bulk_format fmt, const struct bulk_header *csv_header,
		       const struct bulk_record *rec, char *buf, size_t len);

/* A streaming reader: physical line numbers, a bounded line (a longer one
 * is an error, skipped, never a crash), CRLF or LF, a UTF-8 BOM and empty
 * lines skipped. For CSV the first line read is the header. */
struct bulk_reader {
	FILE *f;
	enum bulk_format fmt;
	struct bulk_header hdr;
	unsigned long line; /* of the last line read */
	size_t max_line;
	char *buf;
	bool eof;
};

/* 0, or -EINVAL (a bad CSV header, in err), -ENOMEM. */
int bulk_reader_open(struct bulk_reader *r, FILE *f, enum bulk_format fmt, size_t max_line,
		     char *err, size_t errlen);
/* 1 with a record; 0 at the end; -EINVAL or -E2BIG for a bad line ("line 12:
 * ..." in err; the next call goes on with the next line); -EIO on a read
 * error (final). */
int bulk_reader_next(struct bulk_reader *r, struct bulk_record *out, char *err, size_t errlen);
void bulk_reader_close(struct bulk_reader *r);

#endif
