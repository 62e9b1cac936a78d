/*
 * Fuzz target: any bytes as glournetd's configuration file
 * (control/config_file.h, libyaml underneath). Nothing may crash, hang or
 * leak; every error must name the file and a line within the input; an
 * accepted file's keys are unique, each with at least one value, and every
 * line is one of the input's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An upper bound on YAML's lines: \n, \r, and the last byte of NEL
	 * (C2 85), LS and PS (E2 80 A8/A9), which YAML counts as breaks too. */
	unsigned lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 || data[i] == 0xA8 ||
			 data[i] == 0xA9;
	struct config_file cf;
	char err[2048];
	int rc = config_file_parse("f.yaml", (const char *)data, size, &cf, err, sizeof(err));
	if (rc != 0) {
		/* every error line: "f.yaml:LINE: ..." (or f.yaml: for a NUL) */
		for (const char *l = err; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
			if (strncmp(l, "f.yaml:", 7) != 0)
				abort();
			unsigned long n = strtoul(l + 7, NULL, 10);
			/* +1: libyaml's end of a last line without \n */
			if (l[7] != ' ' && (n < 1 || n > lines + 1))
				abort();
		}
	}
	if (rc < 0) {
		if (cf.n || cf.e)
			abort(); /* nothing kept */
		return 0;
	}
	for (unsigned i = 0; i < cf.n; i++) {
		const struct config_entry *e = &cf.e[i];
		if (!e->key || !*e->key || e->n == 0 || e->line < 1 || e->line > lines)
			abort();
		if (config_file_find(&cf, e->key) != e)
			abort(); /* unique keys */
		for (unsigned j = 0; j < e->n; j++)
			if (!e->vals[j].text || e->vals[j].line < e->line ||
			    e->vals[j].line > lines)
				abort();
	}
	config_file_free(&cf);
	return 0;
}
