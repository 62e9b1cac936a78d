/*
 * glournet-loadgen --save writes every endpoint's key (issue 13 item 11:
 * it was 0644). Proves: the file is 0600 under umask 022, whole, with no
 * temporary left beside it; a link planted at PATH.tmp (the old temporary
 * name) is never written through; a failed save leaves nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "lg_endpoints.h"

static unsigned entries(const char *dir)
{
	DIR *d = opendir(dir);
	unsigned n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void test_save_private(void **state)
{
	(void)state;
	char dir[] = "/tmp/gn-lgsave-XXXXXX", path[64], tmp[72], victim[64], err[200];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/creds.jsonl", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	FILE *v = fopen(victim, "w");
	fputs("precious\n", v);
	fclose(v);
	assert_int_equal(symlink(victim, tmp), 0);

	struct lg_endpoints set = {0}, back = {0};
	struct lg_ep ep = {.id = 0x0123456789abcdefull, .slot = 3, .key = {1, 2, 3}};
	assert_int_equal(lg_endpoints_add(&set, "lg-run-0", &ep), 0);
	umask(022);
	assert_int_equal(lg_endpoints_save(path, &set), 0);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(lg_endpoints_load(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 1);
	assert_int_equal(back.eps[0].id, ep.id);
	assert_int_equal(back.eps[0].slot, ep.slot);
	assert_memory_equal(back.eps[0].key, ep.key, sizeof(ep.key));
	char buf[32] = "";
	v = fopen(victim, "r");
	assert_non_null(fgets(buf, sizeof(buf), v));
	fclose(v);
	assert_string_equal(buf, "precious\n");
	assert_int_equal(entries(dir), 3);   /* victim, the planted link, creds.jsonl */

	/* A directory it cannot write in: an error, nothing left. */
	char ro[80];
	snprintf(ro, sizeof(ro), "%s/no/such/creds.jsonl", dir);
	assert_true(lg_endpoints_save(ro, &set) < 0);
	assert_int_equal(entries(dir), 3);
	lg_endpoints_free(&set);
	lg_endpoints_free(&back);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_private),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
