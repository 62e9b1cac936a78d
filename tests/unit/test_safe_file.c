/*
 * Files written where other users may have been first (safe_file.h), both
 * ways (O_TMPFILE, and PATH.tmp where there is none), and import errors
 * that quote nothing of the file (bulk_reader over bulk_format).
 * Proves: the file is 0600 and ours even under umask 0, complete or absent,
 * and nothing else is left in the directory; a symbolic link at the name is
 * refused and its target untouched; a link or a 0666 file planted at
 * PATH.tmp is never written (ignored with O_TMPFILE, refused by name
 * without); a planted hard link is replaced, its other name untouched; a
 * directory others can write in without the sticky bit is refused, a
 * sticky one is not; an /etc/shadow-like file read as JSON lines or CSV is
 * refused line by line without a byte of it in the errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "control/bulk_format.h"
#include "control/safe_file.h"

struct scratch {
	char dir[64];
	char path[128];     /* the file to make */
	char victim[128];   /* what an attacker wants written */
};

static int setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	strcpy(s->dir, "/tmp/gn-safefile-XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(s->path, sizeof(s->path), "%s/out.jsonl", s->dir);
	snprintf(s->victim, sizeof(s->victim), "%s/victim", s->dir);
	FILE *f = fopen(s->victim, "w");
	fputs("precious\n", f);
	fclose(f);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct scratch *s = *state;
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	int rc = system(cmd);
	free(s);
	umask(022);
	return rc == 0 ? 0 : -1;
}

static const unsigned ways[] = {0, SAFE_FILE_NO_TMPFILE};

static int write_file(const char *path, unsigned flags, const char *text, char *err, size_t len)
{
	struct safe_file f;
	int rc = safe_file_create(&f, path, flags, err, len);
	if (rc < 0)
		return rc;
	assert_int_equal(write(f.fd, text, strlen(text)), (ssize_t)strlen(text));
	rc = safe_file_commit(&f, err, len);
	close(f.fd);
	return rc;
}

static void assert_content(const char *path, const char *want)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, want);
}

static void assert_private(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_nlink, 1);
}

static unsigned entries(const char *dir)
{
	DIR *d = opendir(dir);
	unsigned n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void test_private_and_whole(void **state)
{
	struct scratch *s = *state;
	char err[512];
	for (int w = 0; w < 2; w++) {
		umask(0);   /* a careless caller's umask takes nothing away */
		assert_int_equal(write_file(s->path, ways[w], "one\n", err, sizeof(err)), 0);
		assert_private(s->path);
		assert_content(s->path, "one\n");
		assert_int_equal(entries(s->dir), 2);   /* victim + out.jsonl: no tmp left */
		/* Abandoned half-way: nothing appears, the old file stays. */
		struct safe_file f;
		assert_int_equal(safe_file_create(&f, s->path, ways[w], err, sizeof(err)), 0);
		assert_int_equal(write(f.fd, "half", 4), 4);
		assert_int_equal(f.anon, w == 0);
		safe_file_abort(&f);
		close(f.fd);
		assert_content(s->path, "one\n");
		assert_int_equal(entries(s->dir), 2);
		unlink(s->path);
	}
}

static void test_symlink_at_name(void **state)
{
	struct scratch *s = *state;
	char err[512];
	for (int w = 0; w < 2; w++) {
		assert_int_equal(symlink(s->victim, s->path), 0);
		assert_int_equal(write_file(s->path, ways[w], "keys\n", err, sizeof(err)), -ELOOP);
		print_message("    refused: %s\n", err);
		assert_non_null(strstr(err, "symbolic link"));
		assert_content(s->victim, "precious\n");
		unlink(s->path);
	}
}

static void test_planted_tmp(void **state)
{
	struct scratch *s = *state;
	char err[512], tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
	/* A link at PATH.tmp: never followed. */
	assert_int_equal(symlink(s->victim, tmp), 0);
	assert_int_equal(write_file(s->path, 0, "keys\n", err, sizeof(err)), 0);
	assert_private(s->path);
	assert_content(s->path, "keys\n");
	unlink(s->path);
	assert_int_equal(write_file(s->path, SAFE_FILE_NO_TMPFILE, "keys\n", err, sizeof(err)),
			 -EEXIST);
	print_message("    refused: %s\n", err);
	assert_non_null(strstr(err, "exists already"));
	assert_content(s->victim, "precious\n");
	assert_int_equal(access(s->path, F_OK), -1);
	unlink(tmp);

	/* A 0666 file someone made at PATH.tmp to read the keys from. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	if (geteuid() == 0)
		assert_int_equal(fchown(fd, 65534, 65534), 0);
	close(fd);
	assert_int_equal(write_file(s->path, 0, "keys\n", err, sizeof(err)), 0);
	assert_private(s->path);
	assert_int_equal(write_file(s->path, SAFE_FILE_NO_TMPFILE, "keys\n", err, sizeof(err)),
			 -EEXIST);
	struct stat st;
	assert_int_equal(stat(tmp, &st), 0);
	assert_int_equal(st.st_size, 0);   /* not a byte written into it */
	assert_int_equal(st.st_mode & 07777, 0666);
}

static void test_hard_link_replaced(void **state)
{
	struct scratch *s = *state;
	char err[512];
	for (int w = 0; w < 2; w++) {
		assert_int_equal(link(s->victim, s->path), 0);
		assert_int_equal(write_file(s->path, ways[w], "keys\n", err, sizeof(err)), 0);
		assert_private(s->path);
		assert_content(s->path, "keys\n");
		assert_content(s->victim, "precious\n");
		unlink(s->path);
	}
	assert_int_equal(mkdir(s->path, 0700), 0);
	assert_int_equal(write_file(s->path, 0, "keys\n", err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_directory_others_write(void **state)
{
	struct scratch *s = *state;
	char err[512];
	static const struct { unsigned mode; int rc; const char *words; } cases[] = {
		{0777, -EPERM, "writable by every user (mode 0777) without the sticky bit"},
		{0770, -EPERM, "writable by its group (mode 0770)"},
		{0702, -EPERM, "writable by every user (mode 0702)"},
		{01777, 0, NULL},   /* /tmp: others cannot rename or remove our file */
		{0755, 0, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int w = 0; w < 2; w++) {
			assert_int_equal(chmod(s->dir, cases[i].mode), 0);
			err[0] = '\0';
			int rc = write_file(s->path, ways[w], "keys\n", err, sizeof(err));
			chmod(s->dir, 0700);
			if (rc != cases[i].rc)
				fail_msg("mode %04o: rc %d (%s), want %d", cases[i].mode, rc, err,
					 cases[i].rc);
			if (cases[i].words) {
				print_message("    refused: %s\n", err);
				assert_non_null(strstr(err, cases[i].words));
				assert_non_null(strstr(err, s->dir));
				assert_int_equal(access(s->path, F_OK), -1);
			} else {
				assert_private(s->path);
				unlink(s->path);
			}
		}
	}
}

/* ---- import errors quote nothing ---- */

static const char shadow[] =
	"root:$6$Sa1tSa1t$Zm9vYmFyYmF6cXV4aGFzaGhhc2g:19000:0:99999:7:::\n"
	"daemonuser:*:19000:0:99999:7:::\n"
	"{\"guid\":\"ok-1\"}\n"
	"alice:$y$j9T$SecretSalt$SecretHashValue:19100:0:99999:7:::\n"
	"{\"guid\":\"ok-2\",\"ips\":[\"hunter2-pw\"]}\n"
	"{\"guid\":\"ok-3\",\"slot\":123456789012}\n";
static const char *const secrets[] = {
	"root", "Sa1t", "Zm9v", "daemonuser", "alice", "SecretSalt", "SecretHash", "19000",
	"99999", "hunter2", "123456789012", "$6$", "$y$", ":::",
};

static void check_no_echo(const char *what, const char *err)
{
	for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
		if (strstr(err, secrets[k]))
			fail_msg("%s: error '%s' quotes '%s' from the file", what, err, secrets[k]);
}

static void test_import_errors_quote_nothing(void **state)
{
	(void)state;
	for (int fmt = 0; fmt < 2; fmt++) {
		FILE *f = fmemopen((void *)shadow, sizeof(shadow) - 1, "r");
		struct bulk_reader rd;
		char err[512] = "";
		int rc = bulk_reader_open(&rd, f, fmt ? BULK_CSV : BULK_JSONL, 0, err, sizeof(err));
		if (fmt) {   /* the first line is the CSV header: refused as a whole */
			assert_int_equal(rc, -EINVAL);
			print_message("    csv: %s\n", err);
			assert_non_null(strstr(err, "line 1: header: no 'guid' column"));
			check_no_echo("csv header", err);
			fclose(f);
			continue;
		}
		assert_int_equal(rc, 0);
		struct bulk_record rec;
		unsigned ok = 0, bad = 0;
		while ((rc = bulk_reader_next(&rd, &rec, err, sizeof(err))) != 0) {
			if (rc == 1) {
				ok++;
				continue;
			}
			assert_int_equal(rc, -EINVAL);
			print_message("    jsonl: %s\n", err);
			char want[16];
			snprintf(want, sizeof(want), "line %lu: ", rd.line);
			assert_true(strncmp(err, want, strlen(want)) == 0);
			check_no_echo("jsonl", err);
			bad++;
		}
		assert_int_equal(ok, 1);
		assert_int_equal(bad, 5);
		bulk_reader_close(&rd);
		fclose(f);
	}
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_private_and_whole),
		T(test_symlink_at_name),
		T(test_planted_tmp),
		T(test_hard_link_replaced),
		T(test_directory_others_write),
		T(test_import_errors_quote_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
