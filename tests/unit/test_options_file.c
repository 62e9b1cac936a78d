/*
 * glournetd's --options-file (options_file.c, options.c): the file's
 * options go through the command line's checks, before it (the command
 * line wins); a line is "NAME VALUE" or "NAME=VALUE", comments and blank
 * lines skipped; a "--NAME", an unknown name, a bad value, a nested
 * --options-file or a stray word are refused with the file (and line);
 * --mbufs takes a number or auto; options_reload re-reads the log level
 * from the file and says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "control/options.h"
#define LOG_TAG "test"
#include "glournet/log.h"

static char path[64];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* options_parse over "glournetd ARGS... -- -l 0,1" with --options-file,
 * freeing what the previous parse into `o` allocated (o starts zeroed). */
static int parse(struct gn_options *o, const char *a1, const char *a2)
{
	static char *argv[8];
	for (int i = 0; argv[i]; i++) {
		free(argv[i]);
		argv[i] = NULL;
	}
	options_free(o);
	int argc = 0;
	argv[argc++] = strdup("glournetd");
	argv[argc++] = strdup("--options-file");
	argv[argc++] = strdup(path);
	if (a1)
		argv[argc++] = strdup(a1);
	if (a2)
		argv[argc++] = strdup(a2);
	argv[argc++] = strdup("--");
	argv[argc++] = strdup("-l");
	argv[argc] = NULL;
	return options_parse(o, argc, argv);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/gn-optfile-%d", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_file_then_command_line(void **state)
{
	(void)state;
	struct gn_options o = {0};
	write_file("# glournetd options\n\n"
		   "token file-token\n"
		   "udp-port=7200   # a comment\n"
		   "  rx-desc 512\n"
		   "mbufs auto\n"
		   "log-level warn\n");
	int n = parse(&o, "--udp-port", "7300");
	assert_true(n > 0);
	assert_string_equal(o.token, "file-token");
	assert_int_equal(o.udp_port, 7300);   /* the command line wins */
	assert_int_equal(o.rx_desc, 512);
	assert_int_equal(o.mbufs, 0);
	assert_int_equal(gn_log_max_level, GN_LOG_WARN);
	assert_string_equal(o.options_file, path);
	write_file("token t\nmbufs 8191\n");
	assert_true(parse(&o, NULL, NULL) > 0);
	assert_int_equal(o.mbufs, 8191);
	options_free(&o);
}

static void test_bad_files_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"token t\n--udp-port 7100\n",   /* written with its dashes */
		"token t\nno-such-option 1\n",
		"token t\nudp-port 0\n",          /* the command line's range check */
		"token t\noptions-file /etc/x\n", /* not nested */
		"token t\nmbufs lots\n",
	};
	struct gn_options o = {0};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(bad[i]);
		if (parse(&o, NULL, NULL) >= 0)
			fail_msg("accepted: %s", bad[i]);
	}
	unlink(path);
	assert_true(parse(&o, NULL, NULL) < 0);   /* no such file */
	options_free(&o);
}

static void test_reload_log_level(void **state)
{
	(void)state;
	struct gn_options o = {0};
	write_file("token t\nlog-level info\n");
	assert_true(parse(&o, NULL, NULL) > 0);
	assert_int_equal(gn_log_max_level, GN_LOG_INFO);
	write_file("token t\nlog-level debug\n");
	struct options_reloaded r;
	assert_int_equal(options_reload(&o, &r), 0);
	assert_int_equal(gn_log_max_level, GN_LOG_DEBUG);
	assert_non_null(strstr(r.said, "log level info -> debug"));
	assert_null(r.cert_pem);   /* no --https: no certificate to re-read */
	/* A broken file: nothing changes, and it says so. */
	write_file("token t\nlog-level loud\n");
	assert_int_equal(options_reload(&o, &r), -1);
	assert_int_equal(gn_log_max_level, GN_LOG_DEBUG);
	assert_non_null(strstr(r.said, "nothing reloaded"));
	gn_log_max_level = GN_LOG_INFO;
	options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_then_command_line),
		cmocka_unit_test(test_bad_files_refused),
		cmocka_unit_test(test_reload_log_level),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
