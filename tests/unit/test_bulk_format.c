/*
 * The bulk import/export formats (control/bulk_format.h, issue #5).
 * Proves: 10,000 random records (every optional field present or not,
 * texts with commas, quotes, backslashes, spaces at the ends and UTF-8)
 * come back identical after format -> parse, in both formats, and again
 * through the streaming reader with CRLF and empty lines; every field's
 * bad value is refused with a message naming that field, and the reader
 * adds the line number; CSV quoting follows RFC 4180 and columns come in
 * any order; a line over the bound is an error that skips just that line;
 * a BOM, CRLF and empty lines are tolerated; a NUL byte is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "control/bulk_format.h"
#include "support/tu_rand.h"

#define ROUNDS 10000

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) { return tu_rand(&rng); }

/* Printable text that stresses both formats' quoting. */
static void random_text(char *out, size_t max)
{
	static const char *const pieces[] = {
		"a", "Z", "0", " ", ",", "\"", "\\", ";", "'", "/", "{", "}", "é", "日本", "😀", "x y",
	};
	size_t n = 0, want = rnd() % (max + 1);
	while (n < want) {
		const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t l = strlen(p);
		if (n + l > want)
			break;
		memcpy(out + n, p, l);
		n += l;
	}
	if (n == 0)
		out[n++] = 'g';
	out[n] = '\0';
}

static void random_record(struct bulk_record *r)
{
	static const char *const statuses[] = {"online", "offline", "unreachable/online",
					       "unreachable/offline"};
	memset(r, 0, sizeof(*r));
	random_text(r->e.guid, 64);
	r->has = BULK_HAS(GUID);
	uint32_t pick = (uint32_t)rnd();
	if (pick & 1) {
		do r->e.id = rnd(); while (!r->e.id);
		r->has |= BULK_HAS(ID);
	}
	if (pick & 2) {
		r->e.slot = pick & 4 ? UINT32_MAX : (uint32_t)rnd();
		r->has |= BULK_HAS(SLOT);
	}
	if (pick & 8) {
		for (int i = 0; i < 16; i++)
			r->e.key[i] = (uint8_t)rnd();
		r->has |= BULK_HAS(KEY);
	}
	if (pick & 16) {
		random_text(r->e.hostname, 255);
		r->has |= BULK_HAS(HOSTNAME);
	}
	if (pick & 32) {
		unsigned n = 1 + rnd() % BULK_MAX_IPS;
		for (unsigned i = 0; i < n; i++) {
			uint8_t b[16];
			char s[INET6_ADDRSTRLEN];
			int af = rnd() & 1 ? AF_INET : AF_INET6;
			for (int k = 0; k < 16; k++)
				b[k] = rnd() & 1 ? 0 : (uint8_t)rnd();   /* zeros: "::" forms */
			inet_ntop(af, b, s, sizeof(s));
			size_t used = strlen(r->e.ips);
			snprintf(r->e.ips + used, sizeof(r->e.ips) - used, "%s%s", i ? "," : "", s);
		}
		r->has |= BULK_HAS(IPS);
	}
	if (pick & 64) {
		r->e.notify_port = pick & 128 ? UINT16_MAX : (uint16_t)rnd();
		r->has |= BULK_HAS(NOTIFY_PORT);
	}
	if (pick & 256) {
		r->e.registered = (uint32_t)rnd();
		r->has |= BULK_HAS(REGISTERED);
	}
	if (pick & 512) {
		r->last_contact = pick & 1024 ? 0 : (uint32_t)rnd();
		r->has |= BULK_HAS(LAST_CONTACT);
	}
	if (pick & 2048) {
		snprintf(r->status, sizeof(r->status), "%s", statuses[rnd() % 4]);
		r->has |= BULK_HAS(STATUS);
	}
}

static void assert_same(const struct bulk_record *a, const struct bulk_record *b, const char *line)
{
	if (memcmp(a, b, sizeof(*a)) != 0)
		fail_msg("round trip changed the record: has %#x vs %#x, guid '%s' vs '%s', line: %s",
			 a->has, b->has, a->e.guid, b->e.guid, line);
}

static void round_trip(enum bulk_format fmt)
{
	char line[BULK_LINE_DEFAULT], err[256];
	struct bulk_header h;
	bulk_header_full(&h);
	for (int i = 0; i < ROUNDS; i++) {
		struct bulk_record in, out;
		random_record(&in);
		int n = bulk_format_record(fmt, &h, &in, line, sizeof(line));
		assert_true(n > 0);
		assert_int_equal(line[n - 1], '\n');
		assert_null(memchr(line, '\n', (size_t)n - 1));   /* one line, always */
		if (bulk_parse_line(fmt, &h, line, (size_t)n - 1, &out, err, sizeof(err)) != 0)
			fail_msg("parse of our own output failed: %s; line: %s", err, line);
		assert_same(&in, &out, line);
	}
}

static void test_round_trip_jsonl(void **state)
{
	(void)state;
	round_trip(BULK_JSONL);
}

static void test_round_trip_csv(void **state)
{
	(void)state;
	round_trip(BULK_CSV);
}

/* The same, through a file: CRLF on some lines, empty lines between. */
static void reader_round_trip(enum bulk_format fmt)
{
	static struct bulk_record recs[ROUNDS];
	char line[BULK_LINE_DEFAULT], err[256];
	FILE *f = tmpfile();
	assert_non_null(f);
	if (fmt == BULK_CSV) {
		struct bulk_header h;
		bulk_header_full(&h);
		assert_true(bulk_format_csv_header(&h, line, sizeof(line)) > 0);
		fputs(line, f);
	}
	unsigned long expect_line[ROUNDS], lineno = fmt == BULK_CSV;
	for (int i = 0; i < ROUNDS; i++) {
		random_record(&recs[i]);
		int n = bulk_format_record(fmt, NULL, &recs[i], line, sizeof(line));
		assert_true(n > 0);
		if (rnd() % 4 == 0) {
			fputs(rnd() & 1 ? "\n" : "\r\n", f);
			lineno++;
		}
		if (rnd() & 1) {
			line[n - 1] = '\r';
			line[n] = '\n';
			line[n + 1] = '\0';
		}
		fputs(line, f);
		expect_line[i] = ++lineno;
	}
	rewind(f);
	struct bulk_reader r;
	assert_int_equal(bulk_reader_open(&r, f, fmt, 0, err, sizeof(err)), 0);
	for (int i = 0; i < ROUNDS; i++) {
		struct bulk_record got;
		int rc = bulk_reader_next(&r, &got, err, sizeof(err));
		if (rc != 1)
			fail_msg("record %d: %d %s", i, rc, err);
		assert_int_equal(r.line, expect_line[i]);
		assert_same(&recs[i], &got, "(from the file)");
	}
	struct bulk_record got;
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 0);
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 0);
	bulk_reader_close(&r);
	fclose(f);
}

static void test_reader_round_trip_jsonl(void **state)
{
	(void)state;
	reader_round_trip(BULK_JSONL);
}

static void test_reader_round_trip_csv(void **state)
{
	(void)state;
	reader_round_trip(BULK_CSV);
}

/* ---- errors ---- */

struct bad {
	enum bulk_format fmt;
	const char *header;     /* CSV only */
	const char *line;
	const char *want;       /* in the error text */
};

#define J(line, want) {BULK_JSONL, NULL, line, want}
#define C(header, line, want) {BULK_CSV, header, line, want}
#define HEX15 "000000000000000"
#define K31 "0123456789abcdef0123456789abcde"

static void test_field_errors(void **state)
{
	(void)state;
	char long_guid[200], long_host[400], long_status[80], many_ips[1024], csv_host[400];
	snprintf(long_guid, sizeof(long_guid), "{\"guid\":\"%065d\"}", 0);
	snprintf(long_host, sizeof(long_host), "{\"guid\":\"g\",\"hostname\":\"%0256d\"}", 0);
	snprintf(long_status, sizeof(long_status), "{\"guid\":\"g\",\"status\":\"%032d\"}", 0);
	strcpy(many_ips, "{\"guid\":\"g\",\"ips\":[");
	for (int i = 0; i < 17; i++)
		sprintf(many_ips + strlen(many_ips), "%s\"10.0.0.%d\"", i ? "," : "", i);
	strcat(many_ips, "]}");
	snprintf(csv_host, sizeof(csv_host), "g,%0256d", 0);

	const struct bad cases[] = {
		J("{\"id\":\"0000000000000001\"}", "field 'guid': required"),
		J("{\"guid\":null}", "field 'guid': required"),
		J("{\"guid\":\"\"}", "field 'guid': 0 bytes"),
		J(long_guid, "field 'guid': 65 bytes, expected 1..64"),
		J("{\"guid\":\"a\\u0001b\"}", "field 'guid': control character 0x01"),
		J("{\"guid\":\"a\\u0000b\"}", "field 'guid': contains a NUL"),
		J("{\"guid\":7}", "field 'guid': not a string"),
		J("{\"guid\":\"g\",\"id\":\"" HEX15 "\"}", "field 'id': not 16 lowercase hex digits"),
		J("{\"guid\":\"g\",\"id\":\"" HEX15 "A\"}", "field 'id': not 16 lowercase hex digits"),
		J("{\"guid\":\"g\",\"id\":\"" HEX15 "0\"}", "field 'id': 0 is not an endpoint id"),
		J("{\"guid\":\"g\",\"id\":12}", "field 'id': not a string"),
		J("{\"guid\":\"g\",\"slot\":-1}", "field 'slot': out of range 0..4294967295"),
		J("{\"guid\":\"g\",\"slot\":4294967296}", "field 'slot': out of range"),
		J("{\"guid\":\"g\",\"slot\":\"5\"}", "field 'slot': not a whole number"),
		J("{\"guid\":\"g\",\"slot\":1.5}", "field 'slot': not a whole number"),
		J("{\"guid\":\"g\",\"key\":\"" K31 "\"}", "field 'key': not 32 lowercase hex digits"),
		J("{\"guid\":\"g\",\"key\":\"" K31 "G\"}", "field 'key': not 32 lowercase hex digits"),
		J(long_host, "field 'hostname': 256 bytes, expected 0..255"),
		J("{\"guid\":\"g\",\"hostname\":\"a\\tb\"}", "field 'hostname': control character 0x09"),
		J("{\"guid\":\"g\",\"ips\":\"10.0.0.1\"}", "field 'ips': not an array"),
		J("{\"guid\":\"g\",\"ips\":[\"10.0.0.1\",\"10.0.0.256\"]}",
		  "field 'ips': address 2 is not an IPv4 or IPv6"),
		J("{\"guid\":\"g\",\"ips\":[\"fd00::1::2\"]}", "field 'ips': address 1 is not an IPv4"),
		J("{\"guid\":\"g\",\"ips\":[\"\"]}", "field 'ips': address 1 is not"),
		J("{\"guid\":\"g\",\"ips\":[\"10.0.0.1\\u0000x\"]}", "field 'ips': address 1 is not"),
		J("{\"guid\":\"g\",\"ips\":[5]}", "field 'ips': address 1 is not a string"),
		J(many_ips, "field 'ips': more than 16 addresses"),
		J("{\"guid\":\"g\",\"notify_port\":65536}", "field 'notify_port': out of range 0..65535"),
		J("{\"guid\":\"g\",\"registered\":-5}", "field 'registered': out of range"),
		J("{\"guid\":\"g\",\"last_contact\":\"x\"}", "field 'last_contact': not a whole number"),
		J(long_status, "field 'status': 32 bytes, expected 1..31"),
		J("{\"guid\":\"g\",\"status\":true}", "field 'status': not a string"),
		J("{\"guid\":", "not JSON"),
		J("[1,2]", "not a JSON object"),
		J("{\"guid\":\"a\",\"guid\":\"b\"}", "not JSON: a key appears twice"),
		J("{\"guid\":\"a\"} x", "not JSON"),
		C("guid,key", "g," K31, "field 'key': not 32 lowercase hex digits"),
		C("guid,id", "g,0000000000000000", "field 'id': 0 is not an endpoint id"),
		C("guid,ips", "g,10.0.0.1;bogus", "field 'ips': address 2 is not an IPv4"),
		C("guid,slot", "g,abc", "field 'slot': not a whole number"),
		C("guid,slot", "g, 5", "field 'slot': not a whole number"),
		C("guid,slot", "g,99999999999999999999999", "field 'slot': not a whole number"),
		C("guid,notify_port", "g,70000", "field 'notify_port': out of range 0..65535"),
		C("guid,hostname", csv_host, "field 'hostname': 256 bytes"),
		C("guid", "\xff\xfe", "field 'guid': not valid UTF-8"),
		C("guid", "\xc0\x80", "field 'guid': not valid UTF-8"),        /* overlong NUL */
		C("guid", "\xed\xa0\x80", "field 'guid': not valid UTF-8"),    /* a surrogate */
		C("guid", "ab\xe6\x97", "field 'guid': not valid UTF-8"),       /* cut short */
		C("id,guid", "0000000000000001,", "field 'guid': 0 bytes"),
		C("guid,slot,key", "g,5", "2 cells, the header has 3 columns"),
		C("guid", "g,5", "2 cells, the header has 1 columns"),
		C("guid,hostname", "\"abc,h", "column 1: unterminated quote"),
		C("guid,hostname", "g,\"h\"x", "column 2: text after the closing quote"),
		C("guid,hostname", "g,h\"x", "column 2: a quote inside an unquoted cell"),
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad *c = &cases[i];
		struct bulk_header h = {0};
		struct bulk_record r;
		char err[300] = "";
		if (c->header)
			assert_int_equal(bulk_parse_csv_header(c->header, strlen(c->header), &h, err,
							       sizeof(err)), 0);
		int rc = bulk_parse_line(c->fmt, &h, c->line, strlen(c->line), &r, err, sizeof(err));
		if (rc != -EINVAL || !strstr(err, c->want))
			fail_msg("case %zu (%s): rc %d, error '%s', expected '%s'", i, c->line, rc, err,
				 c->want);
		/* Nothing half-parsed is handed back. */
		assert_int_equal(r.has, 0);
		assert_int_equal(r.e.guid[0], 0);
	}
}

static void test_csv_header_errors(void **state)
{
	(void)state;
	static const struct { const char *header, *want; } cases[] = {
		{"id,slot", "header: no 'guid' column"},
		{"", "header: no 'guid' column"},
		{"guid,key,guid", "header: column 'guid' appears twice"},
		{"guid,\"key", "column 2: unterminated quote"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bulk_header h;
		char err[300] = "";
		int rc = bulk_parse_csv_header(cases[i].header, strlen(cases[i].header), &h, err,
					       sizeof(err));
		if (rc != -EINVAL || !strstr(err, cases[i].want))
			fail_msg("header '%s': rc %d, error '%s'", cases[i].header, rc, err);
	}
	char many[1024] = "guid";
	for (int i = 0; i < BULK_MAX_COLUMNS; i++)
		strcat(many, ",x");
	struct bulk_header h;
	char err[300];
	assert_int_equal(bulk_parse_csv_header(many, strlen(many), &h, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 64 columns"));
}

/* ---- CSV specifics ---- */

static void test_csv_quoting_and_columns(void **state)
{
	(void)state;
	struct bulk_header h;
	struct bulk_record r;
	char err[300];
	/* Any order, unknown columns ignored, spaces around names, a quoted name. */
	const char *hdr = " hostname ,os,\"ips\",guid,key";
	assert_int_equal(bulk_parse_csv_header(hdr, strlen(hdr), &h, err, sizeof(err)), 0);
	assert_int_equal(h.ncols, 5);
	assert_int_equal(h.col[1], -1);
	const char *line = "\"web, \"\"front\"\"\",\"linux, 6.1\",\"10.0.0.1; fd00::0:1 ,192.168.1.1\","
			   "\" g 1 \",00112233445566778899aabbccddeeff";
	assert_int_equal(bulk_parse_line(BULK_CSV, &h, line, strlen(line), &r, err, sizeof(err)), 0);
	assert_string_equal(r.e.hostname, "web, \"front\"");
	assert_string_equal(r.e.guid, " g 1 ");   /* a data cell keeps its spaces */
	assert_string_equal(r.e.ips, "10.0.0.1,fd00::1,192.168.1.1");   /* canonical */
	assert_int_equal(r.e.key[0], 0x00);
	assert_int_equal(r.e.key[15], 0xff);
	assert_int_equal(r.has, BULK_HAS(GUID) | BULK_HAS(HOSTNAME) | BULK_HAS(IPS) | BULK_HAS(KEY));

	/* Empty and "" cells are absent; only separators in ips: absent. */
	const char *hdr2 = "guid,id,hostname,ips,slot";
	assert_int_equal(bulk_parse_csv_header(hdr2, strlen(hdr2), &h, err, sizeof(err)), 0);
	line = "g,,\"\",\" ; \",";
	assert_int_equal(bulk_parse_line(BULK_CSV, &h, line, strlen(line), &r, err, sizeof(err)), 0);
	assert_int_equal(r.has, BULK_HAS(GUID));

	/* What we write quotes what needs it, and only that. */
	char out[1024];
	memset(&r, 0, sizeof(r));
	strcpy(r.e.guid, "plain");
	strcpy(r.e.hostname, "a \"b\", c");
	strcpy(r.e.ips, "10.0.0.1,fd00::1");
	r.e.slot = 7;
	r.has = BULK_HAS(GUID) | BULK_HAS(HOSTNAME) | BULK_HAS(IPS) | BULK_HAS(SLOT);
	assert_int_equal(bulk_format_record(BULK_CSV, &h, &r, out, sizeof(out)),
			 (int)strlen("plain,,\"a \"\"b\"\", c\",10.0.0.1 fd00::1,7\n"));
	assert_string_equal(out, "plain,,\"a \"\"b\"\", c\",10.0.0.1 fd00::1,7\n");
	assert_int_equal(bulk_format_csv_header(&h, out, sizeof(out)), (int)strlen(hdr2) + 1);
	assert_string_equal(out, "guid,id,hostname,ips,slot\n");
	strcpy(r.e.guid, " lead");
	r.has = BULK_HAS(GUID);
	bulk_format_record(BULK_CSV, &h, &r, out, sizeof(out));
	assert_string_equal(out, "\" lead\",,,,\n");
}

static void test_json_details(void **state)
{
	(void)state;
	struct bulk_record r;
	char err[300], out[1024];
	/* Unknown fields ignored; null and "" are absent; status is kept as text. */
	const char *line = "{\"guid\":\"g\",\"os\":{\"x\":[1]},\"id\":null,\"key\":\"\",\"ips\":[],"
			   "\"status\":\"online\",\"registered\":1795000000}";
	assert_int_equal(bulk_parse_line(BULK_JSONL, NULL, line, strlen(line), &r, err, sizeof(err)), 0);
	assert_int_equal(r.has, BULK_HAS(GUID) | BULK_HAS(STATUS) | BULK_HAS(REGISTERED));
	assert_string_equal(r.status, "online");
	assert_int_equal(r.e.registered, 1795000000u);
	/* The documented shape, exactly. */
	memset(&r, 0, sizeof(r));
	strcpy(r.e.guid, "a\"b\\c");
	r.e.id = 0x9f3c0a1b2c3d4e5full;
	r.e.slot = 1234;
	for (int i = 0; i < 16; i++)
		r.e.key[i] = (uint8_t)(i * 0x11);
	strcpy(r.e.hostname, "h");
	strcpy(r.e.ips, "10.0.0.1,fd00::1");
	r.e.notify_port = 21112;
	r.e.registered = 1;
	r.last_contact = 2;
	strcpy(r.status, "online");
	r.has = (1u << BULK_F_COUNT) - 1;
	int n = bulk_format_record(BULK_JSONL, NULL, &r, out, sizeof(out));
	const char *want = "{\"guid\":\"a\\\"b\\\\c\",\"id\":\"9f3c0a1b2c3d4e5f\",\"slot\":1234,"
			   "\"key\":\"00112233445566778899aabbccddeeff\",\"hostname\":\"h\","
			   "\"ips\":[\"10.0.0.1\",\"fd00::1\"],\"notify_port\":21112,"
			   "\"registered\":1,\"last_contact\":2,\"status\":\"online\"}\n";
	assert_string_equal(out, want);
	assert_int_equal(n, (int)strlen(want));
	/* Too small a buffer, or no guid: refused, never cut. */
	assert_int_equal(bulk_format_record(BULK_JSONL, NULL, &r, out, strlen(want)), -ENOSPC);
	r.has &= ~BULK_HAS(GUID);
	assert_int_equal(bulk_format_record(BULK_JSONL, NULL, &r, out, sizeof(out)), -EINVAL);
}

static void test_format_from_name(void **state)
{
	(void)state;
	enum bulk_format f;
	assert_int_equal(bulk_format_from_name("/tmp/x.jsonl", &f), 0);
	assert_int_equal(f, BULK_JSONL);
	assert_int_equal(bulk_format_from_name("x.ndjson", &f), 0);
	assert_int_equal(f, BULK_JSONL);
	assert_int_equal(bulk_format_from_name("jsonl", &f), 0);
	assert_int_equal(f, BULK_JSONL);
	assert_int_equal(bulk_format_from_name("export.csv", &f), 0);
	assert_int_equal(f, BULK_CSV);
	assert_int_equal(bulk_format_from_name("csv", &f), 0);
	assert_int_equal(f, BULK_CSV);
	assert_int_equal(bulk_format_from_name("x.txt", &f), -EINVAL);
	assert_int_equal(bulk_format_from_name("x.csv.gz", &f), -EINVAL);
}

/* ---- the reader ---- */

static FILE *file_of(const char *text, size_t len)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	rewind(f);
	return f;
}

static void test_reader_long_lines(void **state)
{
	(void)state;
	/* Line 1: 100 bytes (the bound: fine); line 2: 101; line 3: 1 MiB; line 4 fine, no LF. */
	size_t big = 1u << 20;
	char *text = malloc(big + 1024);
	assert_non_null(text);
	size_t n = 0;
	char rec[101];
	static const char pre[] = "{\"guid\":\"g\",\"hostname\":\"";
	snprintf(rec, sizeof(rec), "%s%0*d\"}", pre, (int)(100 - (sizeof(pre) - 1) - 2), 0);
	assert_int_equal(strlen(rec), 100);
	n += (size_t)sprintf(text + n, "%s\n", rec);
	n += (size_t)sprintf(text + n, "%s \n", rec);
	memset(text + n, 'x', big);
	n += big;
	text[n++] = '\n';
	n += (size_t)sprintf(text + n, "{\"guid\":\"last\"}");
	FILE *f = file_of(text, n);
	free(text);

	struct bulk_reader r;
	struct bulk_record got;
	char err[300];
	assert_int_equal(bulk_reader_open(&r, f, BULK_JSONL, 100, err, sizeof(err)), 0);
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 1);
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "line 2: longer than 100 bytes");
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "line 3: longer than 100 bytes");
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 1);
	assert_string_equal(got.e.guid, "last");
	assert_int_equal(r.line, 4);
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 0);
	bulk_reader_close(&r);
	fclose(f);
}

static void test_reader_bom_empty_crlf_nul(void **state)
{
	(void)state;
	struct bulk_reader r;
	struct bulk_record got;
	char err[300];
	/* A BOM before the CSV header, CRLF, empty lines, a bad record in between. */
	static const char csv[] = "\xef\xbb\xbfguid,slot\r\n\r\n\r\na,1\r\nb,x\r\n\nc,3";
	FILE *f = file_of(csv, sizeof(csv) - 1);
	assert_int_equal(bulk_reader_open(&r, f, BULK_CSV, 0, err, sizeof(err)), 0);
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 1);
	assert_string_equal(got.e.guid, "a");
	assert_int_equal(r.line, 4);
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 5: field 'slot': not a whole number 0..4294967295");
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 1);
	assert_string_equal(got.e.guid, "c");
	assert_int_equal(got.e.slot, 3);
	assert_int_equal(r.line, 7);
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 0);
	bulk_reader_close(&r);
	fclose(f);

	/* JSON lines with a BOM; a NUL byte is an error on its line only. */
	static const char jl[] = "\xef\xbb\xbf{\"guid\":\"a\"}\n{\"guid\":\"b\0\"}\n{\"guid\":\"c\"}\n";
	f = file_of(jl, sizeof(jl) - 1);
	assert_int_equal(bulk_reader_open(&r, f, BULK_JSONL, 0, err, sizeof(err)), 0);
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 1);
	assert_string_equal(got.e.guid, "a");
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 2: contains a NUL byte");
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 1);
	assert_string_equal(got.e.guid, "c");
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 0);
	bulk_reader_close(&r);
	fclose(f);

	/* Empty files: JSON lines has no records, CSV has no header. */
	f = file_of("", 0);
	assert_int_equal(bulk_reader_open(&r, f, BULK_JSONL, 0, err, sizeof(err)), 0);
	assert_int_equal(bulk_reader_next(&r, &got, err, sizeof(err)), 0);
	bulk_reader_close(&r);
	rewind(f);
	assert_int_equal(bulk_reader_open(&r, f, BULK_CSV, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no CSV header"));
	fclose(f);
	f = file_of("\n\nid,slot\n", 9);
	assert_int_equal(bulk_reader_open(&r, f, BULK_CSV, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 3: header: no 'guid' column"));
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_jsonl),
		cmocka_unit_test(test_round_trip_csv),
		cmocka_unit_test(test_reader_round_trip_jsonl),
		cmocka_unit_test(test_reader_round_trip_csv),
		cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_csv_header_errors),
		cmocka_unit_test(test_csv_quoting_and_columns),
		cmocka_unit_test(test_json_details),
		cmocka_unit_test(test_format_from_name),
		cmocka_unit_test(test_reader_long_lines),
		cmocka_unit_test(test_reader_bom_empty_crlf_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
