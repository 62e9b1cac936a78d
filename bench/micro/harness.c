/*
 * The micro-benchmarks' fixtures and loops (see harness.h). The loops call
 * the collector's own functions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/policy.h"
#include "control/ranges.h"
#include "control/registry.h"
#include "control/sweep.h"
#include "glournet/gn_mem.h"
#include "glournet/hb_accept.h"
#include "glournet/hb_mac_burst.h"
#define LOG_TAG "bench"
#include "glournet/log.h"

#include "../dataplane/hb_fixture.h"
#include "harness.h"

static char errbuf[256];

const char *gnb_error(void) { return errbuf; }

static int fail(int rc, const char *what)
{
	snprintf(errbuf, sizeof(errbuf), "%s: %s", what, strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -rc;
}

int gnb_init(void)
{
	gn_log_max_level = GN_LOG_WARN;   /* the warm-up sweep's INFO line is noise here */
	return sodium_init() < 0 ? fail(-EIO, "sodium_init") : 0;
}

/* ---- decode and MAC: small, cache-resident sets ---- */

#define HOT_N 4096   /* power of two */

static uint8_t (*hot_frames)[128];
static uint8_t (*hot_keys)[HB_KEY_LEN];
static uint32_t hot_pos;

static int hot_setup(void)
{
	if (hot_frames)
		return 0;
	hot_frames = aligned_alloc(64, HOT_N * sizeof(*hot_frames));
	hot_keys = malloc(HOT_N * sizeof(*hot_keys));
	if (!hot_frames || !hot_keys)
		return fail(-ENOMEM, "hot fixture");
	uint64_t st = 42;
	for (uint32_t i = 0; i < HOT_N; i++) {
		uint32_t slot = (uint32_t)(hbf_rand(&st) % (1u << 24));
		uint64_t id;
		hbf_frame(hot_frames[i], slot);
		hbf_identity(slot, &id, hot_keys[i]);
	}
	/* Every burst variant this CPU runs: right on every fixture, wrong on
	 * a flipped bit (the unit tests check far more; this guards the figure). */
	for (int impl = 0; impl < HB_MAC_IMPL_COUNT; impl++) {
		if (!hb_mac_impl_supported((enum hb_mac_impl)impl))
			continue;
		hot_pos = 0;
		uint64_t good = gnb_mac_burst(impl, HOT_N);
		hot_frames[3][HBF_PAYLOAD_OFF + 12] ^= 1;
		hot_pos = 0;
		uint64_t one_bad = gnb_mac_burst(impl, HOT_N);
		hot_frames[3][HBF_PAYLOAD_OFF + 12] ^= 1;
		if (good != HOT_N || one_bad != HOT_N - 1) {
			snprintf(errbuf, sizeof(errbuf), "%s burst MAC disagrees with libsodium",
				 hb_mac_impl_name((enum hb_mac_impl)impl));
			return -EPROTO;
		}
	}
	hot_pos = 0;
	return 0;
}

int gnb_decode_setup(void) { return hot_setup(); }
int gnb_mac_setup(void) { return hot_setup(); }

uint64_t gnb_decode(uint32_t n)
{
	uint64_t sum = 0;
	uint32_t pos = hot_pos;
	for (uint32_t i = 0; i < n; i++, pos = (pos + 1) & (HOT_N - 1)) {
		const uint8_t *payload;
		struct hb_msg m;
		if (hb_decode_frame(hot_frames[pos], HBF_FRAME_LEN, HBF_UDP_PORT, &payload) ==
			    HB_ACCEPTED &&
		    hb_decode_payload(payload, &m) == HB_ACCEPTED)
			sum += m.slot;
	}
	hot_pos = pos;
	return sum;
}

uint64_t gnb_mac_verify(uint32_t n)
{
	uint64_t ok = 0;
	uint32_t pos = hot_pos;
	for (uint32_t i = 0; i < n; i++, pos = (pos + 1) & (HOT_N - 1)) {
		const uint8_t *p = hot_frames[pos] + HBF_PAYLOAD_OFF;
		ok += hb_mac_verify(hot_keys[pos], p, HB_MAC_COVERED, p + HB_MAC_COVERED);
	}
	hot_pos = pos;
	return ok;
}

int gnb_mac_impl_supported(int impl)
{
	return hb_mac_impl_supported((enum hb_mac_impl)impl);
}

uint64_t gnb_mac_burst(int impl, uint32_t n)
{
	uint64_t ok = 0;
	uint32_t pos = hot_pos & ~(uint32_t)(GNB_BURST - 1);
	for (uint32_t i = 0; i + GNB_BURST <= n; i += GNB_BURST, pos = (pos + GNB_BURST) & (HOT_N - 1)) {
		const uint8_t *key[GNB_BURST], *pl[GNB_BURST];
		for (unsigned l = 0; l < GNB_BURST; l++) {
			key[l] = hot_keys[pos + l];
			pl[l] = hot_frames[pos + l] + HBF_PAYLOAD_OFF;
		}
		ok += (uint64_t)__builtin_popcountll(
			hb_mac_verify_burst_with((enum hb_mac_impl)impl, key, pl, GNB_BURST));
	}
	hot_pos = pos;
	return ok;
}

/* ---- the per-burst path over 1 M / 10 M slots ---- */

struct accept_fx {
	uint32_t nslots;
	struct slot_table t;
	uint8_t (*frames)[128];   /* one per slot, random order; 128: an mbuf's data alignment */
	uint32_t pos;
	uint32_t passes;          /* over all frames, so far */
	uint64_t verdict[HB_VERDICT_COUNT];
};

static struct accept_fx accept_fx[4];

static struct accept_fx *accept_find(uint32_t nslots)
{
	for (size_t i = 0; i < sizeof(accept_fx) / sizeof(accept_fx[0]); i++)
		if (accept_fx[i].nslots == nslots)
			return &accept_fx[i];
	return NULL;
}

int gnb_accept_setup(uint32_t nslots)
{
	if (nslots < GNB_BURST)
		return fail(-EINVAL, "accept fixture");
	if (accept_find(nslots))
		return 0;
	struct accept_fx *fx = accept_find(0);
	if (!fx)
		return fail(-ENOSPC, "accept fixture");
	int rc = hbf_table_build(&fx->t, nslots, 1);
	if (rc < 0)
		return fail(rc, "slot table");
	uint32_t *order = hbf_sample_slots(nslots, nslots, 0x5107 + nslots);
	fx->frames = aligned_alloc(64, (size_t)nslots * sizeof(*fx->frames));
	if (!order || !fx->frames)
		return fail(-ENOMEM, "frames");
	for (uint32_t i = 0; i < nslots; i++)
		hbf_frame(fx->frames[i], order[i]);
	free(order);
	fx->nslots = nslots;
	return 0;
}

static void burst(struct accept_fx *fx, const struct slot_dir *dir, const struct hb_window *win,
		  enum gnb_accept_variant var, uint8_t (*fr)[128])
{
	const uint8_t *pl[GNB_BURST];
	enum hb_verdict v[GNB_BURST];
	if (var == GNB_ACCEPT_BURST) {
		/* worker.c's handle_burst, less the rare pass_on (never taken here). */
		struct hb_msg msg[GNB_BURST];
		for (unsigned i = 0; i < GNB_BURST; i++) {
			if (i + 1 < GNB_BURST)
				hb_prefetch_line(fr[i + 1]);
			v[i] = hb_decode_frame(fr[i], HBF_FRAME_LEN, HBF_UDP_PORT, &pl[i]);
		}
		hb_accept_burst(dir, 0, pl, v, msg, GNB_BURST, win);
		for (unsigned i = 0; i < GNB_BURST; i++)
			fx->verdict[v[i]]++;
		return;
	}
	for (unsigned i = 0; i < GNB_BURST; i++) {
		if (i + 1 < GNB_BURST)
			hb_prefetch_line(fr[i + 1]);
		v[i] = hb_decode_frame(fr[i], HBF_FRAME_LEN, HBF_UDP_PORT, &pl[i]);
		if (v[i] == HB_ACCEPTED) {
			struct hb_msg msg;
			v[i] = hb_accept_msg(dir, 0, pl[i], win, &msg);
		}
		fx->verdict[v[i]]++;
	}
}

uint64_t gnb_accept_bursts(uint32_t nslots, enum gnb_accept_variant var, uint32_t nbursts)
{
	struct accept_fx *fx = accept_find(nslots);
	if (!fx)
		return 0;
	/* Each pass records its times one second later than the pass before
	 * (a base one lower: recorded = time - base), so that every heartbeat
	 * is news and stores its time, as in production, with nothing to
	 * clear between passes. */
	int32_t base = -(int32_t)fx->passes;
	struct hb_window win = {.now = HBF_NOW, .window = HBF_WINDOW, .skew = HBF_SKEW,
				.base = base, .prev_base = base};
	uint64_t before = fx->verdict[HB_ACCEPTED];
	for (uint32_t b = 0; b < nbursts; b++) {
		if (fx->pos + GNB_BURST > fx->nslots) {
			fx->pos = 0;
			win.base = win.prev_base = -(int32_t)++fx->passes;
		}
		/* Once per burst, as the worker. */
		const struct slot_dir *dir = rcu_dereference(fx->t.dir);
		burst(fx, dir, &win, var, &fx->frames[fx->pos]);
		fx->pos += GNB_BURST;
	}
	return fx->verdict[HB_ACCEPTED] - before;
}

/* ---- range matching ---- */

#define RQ_N 65536   /* queried addresses, power of two */

static struct range_set *rs4, *rs6;
static uint8_t (*rq4)[4], (*rq6)[16];
static uint32_t rq_pos;

int gnb_ranges_setup(uint32_t nranges)
{
	if (rs4)
		return 0;
	if (nranges == 0 || nranges > RANGES_MAX)
		return fail(-EINVAL, "ranges");
	struct range_entry *e4 = calloc(nranges, sizeof(*e4)), *e6 = calloc(nranges, sizeof(*e6));
	rq4 = malloc(RQ_N * sizeof(*rq4));
	rq6 = malloc(RQ_N * sizeof(*rq6));
	if (!e4 || !e6 || !rq4 || !rq6)
		return fail(-ENOMEM, "ranges");
	uint64_t st = 7;
	/* IPv4: one range per bin of the address space, random place and size. */
	uint32_t bin = (uint32_t)((1ull << 32) / nranges);
	for (uint32_t i = 0; i < nranges; i++) {
		uint32_t lo = i * bin + (uint32_t)(hbf_rand(&st) % (bin / 2));
		uint32_t hi = lo + (uint32_t)(hbf_rand(&st) % (bin / 2));
		e4[i].family = AF_INET;
		hb_put32(e4[i].lo, lo);
		hb_put32(e4[i].hi, hi);
	}
	/* IPv6: random /48 prefixes inside 2000::/3. */
	for (uint32_t i = 0; i < nranges; i++) {
		uint64_t top = (hbf_rand(&st) & 0x1FFFFFFFFFFF0000ull) | 0x2000000000000000ull;
		e6[i].family = AF_INET6;
		e6[i].prefix_len = 48;
		hb_put64(e6[i].lo, top);
		hb_put64(e6[i].hi, top | 0xFFFF);
		memset(e6[i].hi + 8, 0xFF, 8);
	}
	rs4 = range_set_build(e4, nranges);
	rs6 = range_set_build(e6, nranges);
	if (!rs4 || !rs6)
		return fail(-ENOMEM, "range_set_build");
	for (uint32_t q = 0; q < RQ_N; q++) {
		const struct range_entry *r4 = &e4[hbf_rand(&st) % nranges];
		const struct range_entry *r6 = &e6[hbf_rand(&st) % nranges];
		if (q & 1) {   /* inside a range */
			uint32_t lo = hb_be32(r4->lo), hi = hb_be32(r4->hi);
			hb_put32(rq4[q], lo + (uint32_t)(hbf_rand(&st) % ((uint64_t)hi - lo + 1)));
			memcpy(rq6[q], r6->lo, 6);
			hb_put16(rq6[q] + 6, (uint16_t)hbf_rand(&st));
			hb_put64(rq6[q] + 8, hbf_rand(&st));
		} else {       /* anywhere */
			hb_put32(rq4[q], (uint32_t)hbf_rand(&st));
			hb_put64(rq6[q], (hbf_rand(&st) >> 3) | 0x2000000000000000ull);
			hb_put64(rq6[q] + 8, hbf_rand(&st));
		}
	}
	free(e4);
	free(e6);
	return 0;
}

uint64_t gnb_range_match(int family, uint32_t n)
{
	uint64_t sum = 0;
	uint32_t pos = rq_pos;
	for (uint32_t i = 0; i < n; i++, pos = (pos + 1) & (RQ_N - 1))
		sum += (uint64_t)(int64_t)(family == 4 ? range_set_match(rs4, AF_INET, rq4[pos])
						    : range_set_match(rs6, AF_INET6, rq6[pos]));
	rq_pos = pos;
	return sum;
}

/* ---- registry lookups and the sweep ---- */

#define GUID_LEN 36

static struct slot_table reg_table;
static struct registry reg;
static struct policy *reg_policy;
static struct sweep_state reg_sweep;
static uint32_t reg_n, reg_pos;
static uint64_t *q_id;
static char (*q_guid)[GUID_LEN + 1];

static void guid_of(uint32_t slot, char out[GUID_LEN + 1])
{
	uint64_t st = 0x6A1D000000000000ull | slot;
	uint64_t a = hbf_rand(&st), b = hbf_rand(&st);
	snprintf(out, GUID_LEN + 1, "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xFFFF, (unsigned)a & 0xFFF, (unsigned)(b >> 48) & 0xFFF,
		 (unsigned long long)(b & 0xFFFFFFFFFFFFull));
}

int gnb_registry_setup(uint32_t n)
{
	if (reg_n)
		return 0;
	const char *small = getenv("GN_BENCH_SMALL_PAGES"); /* as hbf_table_build */
	gn_table_pages_no_huge(small && *small == '1');
	int rc = slot_table_init(&reg_table, 1, n);
	if (rc < 0)
		return fail(rc, "slot table");
	rc = registry_init(&reg, &reg_table);
	if (rc < 0)
		return fail(rc, "registry_init");
	uint64_t *ids = malloc((size_t)n * sizeof(*ids));
	if (!ids)
		return fail(-ENOMEM, "ids");
	/* As registrations do: fresh random id and key, the next free slot. */
	for (uint32_t s = 0; s < n; s++) {
		char guid[GUID_LEN + 1];
		struct endpoint *ep;
		guid_of(s, guid);
		rc = registry_add(&reg, guid, HBF_NOW - 3600, &ep);
		if (rc < 0)
			return fail(rc, "registry_add");
		if (ep->slot != s)
			return fail(-EPROTO, "registry slot order");
		ids[s] = ep->id;
	}
	uint32_t *order = hbf_sample_slots(n, n, 0xB1D);
	q_id = malloc((size_t)n * sizeof(*q_id));
	q_guid = malloc((size_t)n * sizeof(*q_guid));
	if (!order || !q_id || !q_guid)
		return fail(-ENOMEM, "queries");
	for (uint32_t i = 0; i < n; i++) {
		q_id[i] = ids[order[i]];
		guid_of(order[i], q_guid[i]);
	}
	free(order);
	free(ids);

	/* Sweep: every endpoint heard from 0..59 s ago, by the one worker. */
	for (uint32_t s = 0; s < n; s++)
		*slot_dir_seen(reg_table.dir, s, 0) = hbf_time(s);
	reg_policy = policy_new_default();
	if (!reg_policy)
		return fail(-ENOMEM, "policy");
	memset(&reg_sweep, 0, sizeof(reg_sweep));
	reg_sweep.started = HBF_NOW - 10 * reg_policy->offline_after;   /* past R9's grace */
	struct sweep_result res;
	sweep_run(&reg_sweep, &reg, reg_policy, HBF_NOW, &res);   /* all come online once */
	if (res.went_online != n)
		return fail(-EPROTO, "warm-up sweep");
	reg_n = n;
	return 0;
}

uint64_t gnb_registry_by_id(uint32_t n)
{
	uint64_t found = 0;
	uint32_t pos = reg_pos;
	for (uint32_t i = 0; i < n; i++) {
		found += registry_by_id(&reg, q_id[pos]) != NULL;
		if (++pos == reg_n)
			pos = 0;
	}
	reg_pos = pos;
	return found;
}

uint64_t gnb_registry_by_guid(uint32_t n)
{
	uint64_t found = 0;
	uint32_t pos = reg_pos;
	for (uint32_t i = 0; i < n; i++) {
		found += registry_by_guid(&reg, q_guid[pos]) != NULL;
		if (++pos == reg_n)
			pos = 0;
	}
	reg_pos = pos;
	return found;
}

uint64_t gnb_sweep(uint32_t n)
{
	uint64_t changed = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct sweep_result res;
		sweep_run(&reg_sweep, &reg, reg_policy, HBF_NOW, &res);
		changed += res.went_online + res.went_offline + res.held_grace + res.held_guard;
	}
	return changed;
}

/* ---- memory latency and parallelism, for scale ---- */

static uint64_t *mem;          /* a line per 64 bytes; word 0 links to the next line */
static uint64_t mem_lines, mem_pos, mem_rng = 99;

int gnb_mem_setup(uint32_t mb)
{
	if (mem)
		return 0;
	mem_lines = (uint64_t)mb * 1048576 / 64;
	mem = malloc(mem_lines * 64);
	uint32_t *perm = hbf_sample_slots((uint32_t)mem_lines, (uint32_t)mem_lines, 0xC4A5E);
	if (!mem || !perm)
		return fail(-ENOMEM, "memory fixture");
	/* One cycle through every line in random order. */
	for (uint64_t i = 0; i < mem_lines; i++)
		mem[(uint64_t)perm[i] * 8] = (uint64_t)perm[(i + 1) % mem_lines] * 8;
	free(perm);
	return 0;
}

uint64_t gnb_mem_dependent(uint32_t n)
{
	uint64_t p = mem_pos;
	for (uint32_t i = 0; i < n; i++)
		p = mem[p];
	mem_pos = p;
	return p;
}

uint64_t gnb_mem_independent(uint32_t n)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += mem[(hbf_rand(&mem_rng) % mem_lines) * 8];
	return sum;
}
