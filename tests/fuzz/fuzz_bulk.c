/*
 * Fuzz target: any bytes as a bulk import file (control/bulk_format.h). The
 * first byte picks the format and the line bound; the rest is the file.
 * Nothing may crash, hang or leak; every error must carry its line number;
 * and every record accepted must come back identical after being written
 * out again in either format and parsed back (export(import(x)) is stable).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/bulk_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct bulk_record *rec, enum bulk_format fmt)
{
	static char line[BULK_LINE_DEFAULT];
	char err[400];
	struct bulk_header full;
	struct bulk_record back;
	bulk_header_full(&full);
	int n = bulk_format_record(fmt, &full, rec, line, sizeof(line));
	if (n <= 0 || line[n - 1] != '\n' || memchr(line, '\n', (size_t)n - 1))
		abort();   /* an accepted record always formats, as exactly one line */
	if (bulk_parse_line(fmt, &full, line, (size_t)n - 1, &back, err, sizeof(err)) != 0)
		abort();
	if (memcmp(rec, &back, sizeof(back)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum bulk_format fmt = data[0] & 1 ? BULK_CSV : BULK_JSONL;
	size_t max_line = (size_t)16 << ((data[0] >> 1) & 7);   /* 16 .. 2048 bytes */
	static char empty[] = "\n";   /* fmemopen may refuse an empty buffer */
	FILE *f = size > 1 ? fmemopen((void *)(data + 1), size - 1, "r") : fmemopen(empty, 1, "r");
	if (!f)
		return 0;
	struct bulk_reader r;
	char err[400];
	if (bulk_reader_open(&r, f, fmt, max_line, err, sizeof(err)) == 0) {
		struct bulk_record rec;
		int rc;
		unsigned long last = r.line;
		while ((rc = bulk_reader_next(&r, &rec, err, sizeof(err))) != 0) {
			if (r.line <= last && rc != -EIO)
				abort();   /* every call moves on: no loop on one line */
			last = r.line;
			if (rc == 1) {
				check_round_trip(&rec, BULK_JSONL);
				check_round_trip(&rec, BULK_CSV);
			} else if (strncmp(err, "line ", 5) != 0 || rc == -EIO) {
				abort();
			}
		}
		bulk_reader_close(&r);
	} else if (strncmp(err, "line ", 5) != 0) {
		abort();
	}
	fclose(f);
	return 0;
}
