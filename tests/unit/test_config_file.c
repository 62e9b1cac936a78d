/*
 * glournetd's --config FILE (config_file.c, options_config.c, options.c):
 * a YAML mapping whose keys are the long options, checked by the command
 * line's own code, before the command line (which wins; a repeatable
 * option given there replaces the file's list); `eal:` gives EAL's words
 * unless the command line has some after `--`. Errors name the file, the
 * line and the key: an unknown key (with the nearest name), a bad value, a
 * bad type (a list or a mapping where one value goes), a YAML syntax
 * error, a key given twice, a policy key, the token; every bad line of a
 * file is said, not only the first. options_reload re-reads the log level.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "control/config_file.h"
#include "control/options.h"
#define LOG_TAG "test"
#include "glournet/log.h"

static char path[64], errpath[64], tokpath[64];
static char said[8192]; /* what the last parse wrote on stderr */

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* options_parse over "glournetd --config PATH ARGS..." (NULL-terminated),
 * stderr kept in `said`, after freeing what the previous parse into `o`
 * allocated (o starts zeroed). */
static int parse(struct gn_options *o, ...)
{
	static char *argv[16];
	for (int i = 0; argv[i]; i++) {
		free(argv[i]);
		argv[i] = NULL;
	}
	options_free(o);
	int argc = 0;
	argv[argc++] = strdup("glournetd");
	argv[argc++] = strdup("--config");
	argv[argc++] = strdup(path);
	va_list ap;
	va_start(ap, o);
	for (const char *a; (a = va_arg(ap, const char *));)
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;
	fflush(stderr);
	int saved = dup(2);
	FILE *e = fopen(errpath, "w+");
	assert_non_null(e);
	dup2(fileno(e), 2);
	int rc = options_parse(o, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(e);
	size_t n = fread(said, 1, sizeof(said) - 1, e);
	said[n] = '\0';
	fclose(e);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/gn-config-%d.yaml", (int)getpid());
	snprintf(errpath, sizeof(errpath), "/tmp/gn-config-%d.err", (int)getpid());
	snprintf(tokpath, sizeof(tokpath), "/tmp/gn-config-%d.token", (int)getpid());
	FILE *f = fopen(tokpath, "w");
	if (!f)
		return -1;
	fputs("t0ken\n", f);
	fclose(f);
	chmod(tokpath, 0600);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(errpath);
	unlink(tokpath);
	return 0;
}

static void test_file_then_command_line(void **state)
{
	(void)state;
	struct gn_options o = {0};
	write_file("# glournetd's configuration\n\n"
		   "token-file: /dev/null\n"
		   "udp-port: 7200   # a comment\n"
		   "rx-desc: \"512\"\n"
		   "mbufs: auto\n"
		   "log-level: warn\n"
		   "hb-addr: [198.18.0.1, 198.18.0.2]\n"
		   "exception-route:\n"
		   "  - default via 198.18.0.254 metric 100\n"
		   "ctl-socket-mode: 0660\n"
		   "eal:\n"
		   "  - -l 0,1\n"
		   "  - --no-huge\n"
		   "  - --vdev net_null0,no-rx=1\n");
	/* /dev/null has no first line: the token file is refused, on its line */
	assert_true(parse(&o, NULL) < 0);
	assert_non_null(strstr(said, ":3: token-file '/dev/null': the first line"));

	write_file("udp-port: 7200   # a comment\n"
		   "rx-desc: \"512\"\n"
		   "mbufs: auto\n"
		   "log-level: warn\n"
		   "hb-addr: [198.18.0.1, 198.18.0.2]\n"
		   "exception-route:\n"
		   "  - default via 198.18.0.254 metric 100\n"
		   "ctl-socket-mode: 0640\n"
		   "eal:\n"
		   "  - -l 0,1\n"
		   "  - --no-huge\n"
		   "  - --vdev net_null0,no-rx=1\n");
	int n = parse(&o, "--token-file", tokpath, "--udp-port", "7300", NULL);
	assert_true(n > 0);
	assert_string_equal(said, "");
	assert_int_equal(o.udp_port, 7300); /* the command line wins */
	assert_int_equal(o.rx_desc, 512);
	assert_int_equal(o.mbufs, 0);
	assert_int_equal(gn_log_max_level, GN_LOG_WARN);
	assert_int_equal(o.n_hb_addrs, 2);
	assert_string_equal(o.hb_addrs[1], "198.18.0.2");
	assert_int_equal(o.n_exc_routes, 1);
	assert_int_equal(o.ctl_socket_mode, 0640);
	assert_string_equal(o.config_path, path);
	assert_string_equal(o.token, "t0ken");
	/* EAL's words from the file, each item split on blanks */
	assert_int_equal(o.eal_argc, 6);
	assert_string_equal(o.eal_argv[0], "glournetd");
	assert_string_equal(o.eal_argv[1], "-l");
	assert_string_equal(o.eal_argv[2], "0,1");
	assert_string_equal(o.eal_argv[4], "--vdev");
	assert_string_equal(o.eal_argv[5], "net_null0,no-rx=1");

	/* A repeatable option on the command line replaces the file's list;
	 * words after -- replace the file's eal. */
	n = parse(&o, "--token", "t", "--hb-addr", "203.0.113.1", "--", "-l", "0", NULL);
	assert_true(n > 0);
	assert_int_equal(o.n_hb_addrs, 1);
	assert_string_equal(o.hb_addrs[0], "203.0.113.1");
	assert_int_equal(o.n_exc_routes, 1); /* not given: the file's */
	assert_int_equal(o.eal_argc, 3);
	assert_string_equal(o.eal_argv[1], "-l");
	assert_string_equal(o.eal_argv[2], "0");

	/* eal: as one line of words */
	write_file("eal: -l 0,1 --no-huge   --in-memory\n");
	assert_true(parse(&o, "--token-file", tokpath, NULL) > 0);
	assert_int_equal(o.eal_argc, 5);
	assert_string_equal(o.eal_argv[2], "0,1");
	assert_string_equal(o.eal_argv[4], "--in-memory");

	/* An empty file, or comments only, is an empty configuration. */
	write_file("# nothing yet\n");
	assert_true(parse(&o, "--token", "t", NULL) > 0);
	assert_int_equal(o.eal_argc, 1);
	gn_log_max_level = GN_LOG_INFO;
	options_free(&o);
}

/* Each file is refused, and stderr says each expected part. */
static void test_errors_name_line_and_key(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		const char *says[3];
	} cases[] = {
		{"udp-port: 7100\nudp_port: 7200\n",
		 {":2: unknown key 'udp_port'; did you mean 'udp-port'?"}},
		{"# c\nno-such-option: 1\n", {":2: unknown key 'no-such-option' (the keys are"}},
		{"udp-port: 0\n", {":1: udp-port '0': expected a whole number from 1 to 65535"}},
		{"log-level: loud\n",
		 {":1: log-level 'loud': expected error, warn, info or debug"}},
		{"http: 127.0.0.1\n", {":1: http '127.0.0.1': expected ADDR:PORT"}},
		{"# m\nctl-socket-mode: \"0777\"\n",
		 {":2: ctl-socket-mode '0777': expected an octal mode"}},
		{"udp-port: [7100, 7200]\n",
		 {":1: udp-port: bad type: a list, expected one value"}},
		{"http:\n  listen: 127.0.0.1:80\n",
		 {":2: http: bad type: a mapping, expected a value or a list of values"}},
		{"hb-addr:\n  - [198.18.0.1]\n", {":2: hb-addr: bad type: a list inside its list"}},
		{"udp-port:\n", {":1: udp-port: no value"}},
		{"hb-addr: []\n", {":1: hb-addr: an empty list"}},
		{"udp-port: 7100\nrx-desc: 512\nudp-port: 7200\n",
		 {":3: udp-port: given twice (first on line 1)"}},
		{"udp-port: 7100\nhttp: [::]:8080\n", {":2: YAML: ", "quote a value"}},
		{"- udp-port\n", {":1: the file must be a mapping of keys to values"}},
		{"udp-port: 7100\n---\nrx-desc: 512\n", {":2: one YAML document only"}},
		{"a: &x 1\nudp-port: *x\n", {":2: udp-port: aliases (*x) are not supported"}},
		{"offline-after: 30m\n",
		 {":1: offline-after: not in the configuration file: policy"}},
		{"set: heartbeat.interval=10m\n", {"glournetctl set"}},
		{"token: secret\n", {":1: token: not in the configuration file", "token-file"}},
		{"allow-empty-store: true\n", {":1: allow-empty-store: not in the configuration"}},
		{"config: /etc/x.yaml\n",
		 {":1: config: not in the configuration file: not nested"}},
		/* every bad line is said, not only the first */
		{"udp-port: 0\nrx-desc: 512\nwindow: forever\nbogus: 1\n",
		 {":1: udp-port '0'", ":3: window: 'forever' is not a duration",
		  ":4: unknown key"}},
	};
	struct gn_options o = {0};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(cases[i].file);
		if (parse(&o, "--token", "t", NULL) >= 0)
			fail_msg("accepted: %s", cases[i].file);
		for (int j = 0; j < 3 && cases[i].says[j]; j++)
			if (!strstr(said, cases[i].says[j]))
				fail_msg("file:\n%s\nsays:\n%s\nnot: %s", cases[i].file, said,
					 cases[i].says[j]);
		if (!strstr(said, path))
			fail_msg("the error does not name the file: %s", said);
	}
	/* a file named by a key is read once all is in, and its error still
	 * names the key's line */
	write_file("https: 127.0.0.1:8443\n# tls\ntls-cert: /nonexistent/c.pem\ntls-key: /x.pem\n");
	assert_true(parse(&o, "--token", "t", NULL) < 0);
	if (!strstr(said, ":3: tls-cert '/nonexistent/c.pem': No such file or directory"))
		fail_msg("tls-cert's line: %s", said);
	unlink(path);
	assert_true(parse(&o, "--token", "t", NULL) < 0); /* no such file */
	assert_non_null(strstr(said, "No such file or directory"));
	options_free(&o);
	gn_log_max_level = GN_LOG_INFO;
}

/* The command line's errors keep their own form; --options-file is gone
 * with a pointer to its replacement. */
static void test_command_line_errors(void **state)
{
	(void)state;
	struct gn_options o = {0};
	write_file("udp-port: 7100\n");
	assert_true(parse(&o, "--token", "t", "--udp-port", "0", NULL) < 0);
	assert_non_null(strstr(said, "glournetd: --udp-port '0': expected a whole number"));
	assert_true(parse(&o, "--token", "t", "--config", "/other.yaml", NULL) < 0);
	assert_non_null(strstr(said, "--config '/other.yaml': one configuration file only"));
	assert_true(parse(&o, "--token", "t", "--options-file", "/x", NULL) < 0);
	assert_non_null(strstr(said, "--options-file is gone"));
	assert_non_null(strstr(said, "--config FILE"));
	options_free(&o);
}

static void test_reload_log_level(void **state)
{
	(void)state;
	struct gn_options o = {0};
	write_file("log-level: info\n");
	assert_true(parse(&o, "--token", "t", NULL) > 0);
	assert_int_equal(gn_log_max_level, GN_LOG_INFO);
	write_file("log-level: debug\n");
	struct options_reloaded r;
	assert_int_equal(options_reload(&o, &r), 0);
	assert_int_equal(gn_log_max_level, GN_LOG_DEBUG);
	assert_non_null(strstr(r.said, "log level info -> debug"));
	assert_null(r.cert_pem); /* no --https: no certificate to re-read */
	/* A broken file: nothing changes, and it says so. */
	write_file("log-level: loud\n");
	assert_int_equal(options_reload(&o, &r), -1);
	assert_int_equal(gn_log_max_level, GN_LOG_DEBUG);
	assert_non_null(strstr(r.said, "nothing reloaded"));
	gn_log_max_level = GN_LOG_INFO;
	options_free(&o);
}

/* The reader alone: lines of keys and of each list item. */
static void test_reader_lines(void **state)
{
	(void)state;
	static const char text[] = "# top\n"
				   "a: 1\n"
				   "b:\n"
				   "  - x y\n"
				   "\n"
				   "  - 'z'\n"
				   "c: [p, q]\n";
	struct config_file cf;
	char err[256];
	assert_int_equal(config_file_parse("t.yaml", text, sizeof(text) - 1, &cf, err, sizeof(err)),
			 0);
	assert_int_equal(cf.n, 3);
	assert_string_equal(cf.e[0].key, "a");
	assert_int_equal(cf.e[0].line, 2);
	assert_false(cf.e[0].is_list);
	assert_true(cf.e[1].is_list);
	assert_int_equal(cf.e[1].n, 2);
	assert_string_equal(cf.e[1].vals[0].text, "x y");
	assert_int_equal(cf.e[1].vals[0].line, 4);
	assert_int_equal(cf.e[1].vals[1].line, 6);
	assert_int_equal(cf.e[2].vals[1].line, 7);
	assert_non_null(config_file_find(&cf, "c"));
	assert_null(config_file_find(&cf, "d"));
	config_file_free(&cf);
	assert_int_equal(config_file_parse("t.yaml", "a: 1\0", 5, &cf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_then_command_line),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_command_line_errors),
		cmocka_unit_test(test_reload_log_level),
		cmocka_unit_test(test_reader_lines),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
