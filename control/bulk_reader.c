/*
 * Reading a bulk file line by line (bulk_format.h). Files come from other
 * servers and from people: a line is bounded (a longer one is reported by
 * number and skipped, never buffered whole), CRLF and a UTF-8 BOM are
 * tolerated, and every error carries the line number so the operator can
 * find it. One buffer per reader, no allocation per line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/bulk_format.h"

enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL, LINE_IOERR };

/* The next physical line into r->buf, without its end of line. */
static int read_line(struct bulk_reader *r, size_t *len)
{
	size_t n = 0;
	bool too_long = false, nul = false;
	int c;
	if (r->eof)
		return LINE_EOF;
	while ((c = getc_unlocked(r->f)) != EOF && c != '\n') {
		if (c == '\0')
			nul = true;
		if (n < r->max_line)
			r->buf[n++] = (char)c;
		else
			too_long = true; /* read on to the line end, keep nothing */
	}
	if (c == EOF) {
		if (ferror(r->f))
			return LINE_IOERR;
		r->eof = true;
		if (n == 0 && !too_long)
			return LINE_EOF;
	}
	r->line++;
	if (n && r->buf[n - 1] == '\r')
		n--;
	/* A BOM is the first line's business only. */
	if (r->line == 1 && n >= 3 && !memcmp(r->buf, "\xef\xbb\xbf", 3)) {
		memmove(r->buf, r->buf + 3, n - 3);
		n -= 3;
	}
	r->buf[n] = '\0';
	*len = n;
	return too_long ? LINE_LONG : nul ? LINE_NUL : LINE_OK;
}

/* The next line with something on it, or an error about the line read. */
static int next_content(struct bulk_reader *r, size_t *len, char *err, size_t errlen)
{
	for (;;) {
		int st = read_line(r, len);
		switch (st) {
		case LINE_EOF:
			return 0;
		case LINE_IOERR:
			snprintf(err, errlen, "line %lu: read error: %s", r->line + 1,
				 strerror(errno));
			return -EIO;
		case LINE_LONG:
			snprintf(err, errlen, "line %lu: longer than %zu bytes", r->line,
				 r->max_line);
			return -E2BIG;
		case LINE_NUL:
			snprintf(err, errlen, "line %lu: contains a NUL byte", r->line);
			return -EINVAL;
		}
		if (*len)
			return 1;
	}
}

int bulk_reader_open(struct bulk_reader *r, FILE *f, enum bulk_format fmt, size_t max_line,
		     char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	r->fmt = fmt;
	r->max_line = max_line ? max_line : BULK_LINE_DEFAULT;
	r->buf = malloc(r->max_line + 1);
	if (!r->buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (fmt != BULK_CSV)
		return 0;
	size_t len;
	int rc = next_content(r, &len, err, errlen);
	if (rc == 0) {
		snprintf(err, errlen, "line %lu: no CSV header (the file is empty)", r->line);
		rc = -EINVAL;
	} else if (rc > 0) {
		char why[400];
		rc = bulk_parse_csv_header(r->buf, len, &r->hdr, why, sizeof(why));
		if (rc < 0)
			snprintf(err, errlen, "line %lu: %s", r->line, why);
	}
	if (rc < 0) {
		free(r->buf);
		r->buf = NULL;
		return rc;
	}
	return 0;
}

int bulk_reader_next(struct bulk_reader *r, struct bulk_record *out, char *err, size_t errlen)
{
	size_t len;
	int rc = next_content(r, &len, err, errlen);
	if (rc <= 0)
		return rc;
	char why[400];
	rc = bulk_parse_line(r->fmt, &r->hdr, r->buf, len, out, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "line %lu: %s", r->line, why);
		return rc;
	}
	return 1;
}

void bulk_reader_close(struct bulk_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}
