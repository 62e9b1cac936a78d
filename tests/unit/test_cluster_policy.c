/*
 * The fleet's policy and heartbeat addresses without a database
 * (control/cluster_policy.c, control/hb_addrs.c, control/policy_store.c).
 * Proves: the compare-and-set's answer: one row changed commits, no row
 * changed is a clear refusal naming the revision the store holds and the
 * one the change was made on, a statement that did not run is a store
 * error; only a newer watched revision replaces the one in force; the
 * document round-trips through its text with its revision, settings and
 * ranges; the heartbeat addresses: this collector's first, then every
 * live other's in the view's order, each once, a dead one's left out,
 * bounded at HB_ADDRS_MAX, and the change and the hash say when the list
 * moved.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "control/cluster.h"
#include "control/cluster_policy.h"
#include "control/hb_addrs.h"
#include "control/policy_store.h"
#include "control/settings.h"

static void test_cas_outcome(void **state)
{
	(void)state;
	char err[256] = "";
	assert_int_equal(cluster_policy_cas_outcome(true, 1, 4, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(cluster_policy_cas_outcome(true, 0, 4, 5, NULL, err, sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, "policy changed on another collector meanwhile"));
	assert_non_null(strstr(err, "revision 5"));
	assert_non_null(strstr(err, "made on revision 4"));
	assert_non_null(strstr(err, "nothing applied, retry"));
	assert_int_equal(cluster_policy_cas_outcome(true, 0, 4, 0, NULL, err, sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, "revision 4"));
	assert_int_equal(cluster_policy_cas_outcome(false, 0, 4, 0, "timeout", err, sizeof(err)),
			 -EIO);
	assert_non_null(strstr(err, "timeout"));
}

static void test_newer(void **state)
{
	(void)state;
	assert_true(cluster_policy_newer(3, 4));
	assert_false(cluster_policy_newer(4, 4)); /* our own change, read back */
	assert_false(cluster_policy_newer(5, 4)); /* a late read */
}

static void test_doc_round_trip(void **state)
{
	(void)state;
	char err[512];
	struct policy *p = policy_new_default();
	assert_non_null(p);
	assert_int_equal(settings_set(p, "heartbeat.interval", "77s", err, sizeof(err)), 0);
	struct range_entry e;
	assert_int_equal(range_parse("10.9.0.0/16", &e, err, sizeof(err)), 0);
	range_set_free(p->ranges);
	p->ranges = range_set_build(&e, 1);
	p->rev = 42;
	char *text = policy_to_text(p);
	assert_non_null(text);
	struct policy *q = NULL;
	assert_int_equal(policy_from_text(text, "doc", &q, err, sizeof(err)), 0);
	assert_int_equal(q->rev, 42);
	assert_int_equal(q->hb_interval, 77);
	assert_true(policy_same(p, q));
	/* Bad input is refused as the file's is, naming the document. */
	struct policy *bad = NULL;
	assert_true(policy_from_text("{\"settings\": {\"heartbeat.interval\": \"0s\"}}", "doc",
				     &bad, err, sizeof(err)) < 0);
	assert_null(bad);
	assert_non_null(strstr(err, "doc"));
	assert_true(policy_from_text("not json", "doc", &bad, err, sizeof(err)) < 0);
	free(text);
	policy_free(p);
	policy_free(q);
}

static void row(struct cluster_view *v, const char *name, const char *addrs, double ago)
{
	unsigned i = v->n++;
	snprintf(v->collectors[i].name, sizeof(v->collectors[i].name), "%s", name);
	snprintf(v->collectors[i].addrs, sizeof(v->collectors[i].addrs), "%s", addrs);
	v->collectors[i].seen_ago_s = ago;
}

static void test_addrs_merge(void **state)
{
	(void)state;
	static const char *const own[] = {"10.0.0.2", "fd00::2"};
	struct cluster_view v = {0};
	row(&v, "a", "10.0.0.1, fd00::1", 0.5);
	row(&v, "b", "10.0.0.2,fd00::2", 0.1); /* ourselves: skipped, own goes first */
	row(&v, "c", "10.0.0.3,10.0.0.1", 1.0);
	row(&v, "d", "10.0.0.4", 9.0); /* dead: not within the lease */
	row(&v, "e", "", 0.2);
	struct hb_addrs l = {0};
	assert_true(hb_addrs_merge(&l, own, 2, &v, "b", 3.0));
	const char *want[] = {"10.0.0.2", "fd00::2", "10.0.0.1", "fd00::1", "10.0.0.3"};
	assert_int_equal(l.n, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_string_equal(l.addr[i], want[i]);
	assert_int_not_equal(l.hash, 0);
	uint32_t h = l.hash;
	/* The same view again: no change. */
	assert_false(hb_addrs_merge(&l, own, 2, &v, "b", 3.0));
	assert_int_equal(l.hash, h);
	/* d comes back: a change, another hash. */
	v.collectors[3].seen_ago_s = 0.3;
	assert_true(hb_addrs_merge(&l, own, 2, &v, "b", 3.0));
	assert_int_equal(l.n, 6);
	assert_string_equal(l.addr[5], "10.0.0.4");
	assert_int_not_equal(l.hash, h);
	/* No view: own only. */
	assert_true(hb_addrs_merge(&l, own, 2, NULL, NULL, 0));
	assert_int_equal(l.n, 2);
	/* Bounded: 20 collectors of one address each. */
	struct cluster_view big = {0};
	for (int i = 0; i < CLUSTER_VIEW_MAX; i++) {
		char n[8], a[24];
		snprintf(n, sizeof(n), "n%02d", i);
		snprintf(a, sizeof(a), "10.1.0.%d,10.2.0.%d", i, i);
		row(&big, n, a, 0);
	}
	assert_true(hb_addrs_merge(&l, own, 2, &big, "x", 3.0));
	assert_int_equal(l.n, HB_ADDRS_MAX);
	assert_string_equal(l.addr[0], "10.0.0.2");
	/* An address too long is skipped, not cut. */
	struct cluster_view odd = {0};
	row(&odd, "z", "0123456789012345678901234567890123456789012345678901234,10.3.0.1", 0);
	assert_true(hb_addrs_merge(&l, NULL, 0, &odd, NULL, 3.0));
	assert_int_equal(l.n, 1);
	assert_string_equal(l.addr[0], "10.3.0.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cas_outcome),
		cmocka_unit_test(test_newer),
		cmocka_unit_test(test_doc_round_trip),
		cmocka_unit_test(test_addrs_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
