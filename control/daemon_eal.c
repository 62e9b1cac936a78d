/*
 * EAL owned by glournetd (daemon_eal.h). EAL's own messages say what went
 * wrong in EAL's terms ("No buffer space available", "No such device");
 * an operator needs the argument to add or fix. So the EAL arguments are
 * read here first: glournetd sizes its pools from the workers and
 * descriptors and, under --no-huge, asks EAL for that memory (-m) when the
 * operator gave none; and every refusal is explained with the fix.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define LOG_TAG "eal"
#include "control/daemon_eal.h"
#include "control/options.h"
#include "glournet/log.h"

#define POOL_CACHE         256 /* daemon_start.c's RX pool */
#define BURST              32  /* dataplane/worker.c */
#define BASE_MB            16  /* EAL, ethdev, rings, the PMDs' own: measured < 8 */
#define NO_HUGE_DEFAULT_MB 64  /* what EAL takes under --no-huge without -m */

uint32_t eal_auto_mbufs(unsigned workers, uint32_t rx_desc)
{
	uint64_t n =
		(uint64_t)workers * (rx_desc + BURST) + (workers + 1) * POOL_CACHE * 3 / 2 + 1024;
	uint32_t p = 1024;
	while (p - 1 < n && p < (1u << 24))
		p <<= 1;
	return p - 1;
}

uint32_t eal_pool_mb(uint32_t mbufs, bool no_huge)
{
	struct rte_mempool_objsz sz;
	uint32_t elt = (uint32_t)sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE;
	uint64_t obj = rte_mempool_calc_obj_size(elt, 0, &sz);
	if (no_huge && obj <= 4096)
		obj = 4096 / (4096 / obj); /* whole objects per page, the rest padding */
	uint64_t bytes = (uint64_t)mbufs * obj + (uint64_t)mbufs * 8 * 2; /* + the ring */
	return (uint32_t)((bytes + (1u << 20) - 1) >> 20);
}

/* Lcores in an EAL -l list ("0-3,5"), --lcores list ("0@0,(1,2)@1") or
 * -c mask; 0 when it does not parse (EAL will say so). */
static unsigned count_list(const char *s, bool lcores_syntax)
{
	unsigned n = 0;
	while (*s) {
		if (lcores_syntax && *s == '(') { /* a group of lcores sharing a CPU set */
			const char *end = strchr(s, ')');
			if (!end)
				return 0;
			char inner[128];
			size_t len = (size_t)(end - s - 1);
			if (len >= sizeof(inner))
				return 0;
			memcpy(inner, s + 1, len);
			inner[len] = '\0';
			n += count_list(inner, false);
			s = end + 1;
		} else {
			char *end;
			long a = strtol(s, &end, 10), b = a;
			if (end == s || a < 0)
				return 0;
			s = end;
			if (*s == '-') {
				b = strtol(s + 1, &end, 10);
				if (end == s + 1 || b < a)
					return 0;
				s = end;
			}
			n += (unsigned)(b - a + 1);
		}
		if (lcores_syntax && *s == '@') { /* the CPU set: skip it */
			s++;
			if (*s == '(') {
				const char *end = strchr(s, ')');
				if (!end)
					return 0;
				s = end + 1;
			} else {
				while (isdigit((unsigned char)*s) || *s == '-')
					s++;
			}
		}
		if (*s == ',')
			s++;
		else if (*s)
			return 0;
	}
	return n;
}

static unsigned count_mask(const char *s)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	unsigned n = 0;
	for (; *s; s++) {
		if (!isxdigit((unsigned char)*s))
			return 0;
		unsigned v = (unsigned)(isdigit((unsigned char)*s)
						? *s - '0'
						: tolower((unsigned char)*s) - 'a' + 10);
		n += (unsigned)__builtin_popcount(v);
	}
	return n;
}

/* The value of option `name` at argv[*i] ("--opt V", "--opt=V", "-lV"),
 * advancing *i past it; NULL when argv[*i] is not that option. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, len) != 0)
		return NULL;
	if (a[len] == '=' && name[1] == '-')
		return a + len + 1;
	if (a[len] == '\0')
		return *i + 1 < argc ? argv[++*i] : NULL;
	if (name[1] != '-') /* a short option glued to its value: -l0,1 */
		return a + len;
	return NULL;
}

static int add_arg(struct eal_plan *p, char *arg)
{
	if (p->argc >= EAL_MAX_ARGS + 3)
		return -1;
	p->argv[p->argc++] = arg;
	size_t n = strlen(p->added);
	snprintf(p->added + n, sizeof(p->added) - n, "%s%s", n ? " " : "", arg);
	return 0;
}

int eal_plan_make(struct eal_plan *p, const struct gn_options *o, int argc, char **argv)
{
	memset(p, 0, sizeof(*p));
	if (argc > EAL_MAX_ARGS) {
		LOG(ERR, "more than %d EAL arguments", EAL_MAX_ARGS);
		return -1;
	}
	p->file_prefix = "rte";
	for (int i = 0; i < argc; i++) {
		p->argv[p->argc++] = argv[i];
		if (i == 0)
			continue;
		const char *v;
		int j = i;
		if ((v = opt_value(argc, argv, &j, "-l")) ||
		    (v = opt_value(argc, argv, &j, "--lcores"))) {
			p->lcores = count_list(v, strchr(v, '@') || strchr(v, '('));
		} else if ((v = opt_value(argc, argv, &j, "-c"))) {
			p->lcores = count_mask(v);
		} else if ((v = opt_value(argc, argv, &j, "-m")) ||
			   (v = opt_value(argc, argv, &j, "--socket-mem"))) {
			p->mem_given = true;
		} else if ((v = opt_value(argc, argv, &j, "--file-prefix"))) {
			p->file_prefix = v;
		} else if ((v = opt_value(argc, argv, &j, "--vdev"))) {
			if (p->nvdevs < EAL_MAX_VDEVS)
				p->vdevs[p->nvdevs++] = v;
		} else {
			const char *a = argv[i];
			p->no_huge |= !strcmp(a, "--no-huge");
			p->in_memory |= !strcmp(a, "--in-memory");
			p->huge_unlink |= !strncmp(a, "--huge-unlink", 13);
			p->no_shconf |= !strcmp(a, "--no-shconf");
			p->no_telemetry |= !strcmp(a, "--no-telemetry");
		}
		for (; i < j; i++) /* the option's value, if it took the next word */
			p->argv[p->argc++] = argv[i + 1];
	}
	if (p->no_huge && !p->mem_given) {
		unsigned lcores = p->lcores;
		if (!lcores) {
			cpu_set_t set;
			lcores = sched_getaffinity(0, sizeof(set), &set) == 0
					 ? (unsigned)CPU_COUNT(&set)
					 : 2;
		}
		unsigned workers = lcores > 1 ? lcores - 1 : 1;
		uint32_t mbufs = o->mbufs ? o->mbufs : eal_auto_mbufs(workers, o->rx_desc);
		uint32_t mb =
			BASE_MB + eal_pool_mb(mbufs, true) + eal_pool_mb(EAL_OTHER_MBUFS, true);
		if (mb < NO_HUGE_DEFAULT_MB)
			mb = NO_HUGE_DEFAULT_MB;
		snprintf(p->mem_arg, sizeof(p->mem_arg), "%u", mb);
		static char m_opt[] = "-m";
		if (add_arg(p, m_opt) < 0 || add_arg(p, p->mem_arg) < 0)
			return -1;
	}
	if (!p->no_huge && !p->in_memory && !p->huge_unlink) {
		static char unlink_opt[] = "--huge-unlink";
		if (add_arg(p, unlink_opt) < 0)
			return -1;
	}
	p->argv[p->argc] = NULL;
	return 0;
}

/* The vdev drivers of DPDK 22.11 an operator is likely to mean. */
static const char *const known_vdevs[] = {
	"net_af_packet",   "net_af_xdp", "net_tap",     "net_tun",
	"net_pcap",        "net_null",   "net_ring",    "net_memif",
	"net_virtio_user", "net_vhost",  "net_bonding", "net_failsafe",
};

static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64];
	if (lb >= 64)
		return UINT_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned sub = diag + (a[i - 1] != b[j - 1]);
			unsigned best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
			row[j] = sub < best ? sub : best;
			diag = up;
		}
	}
	return row[lb];
}

/* "net_af_packet0,iface=x" -> "net_af_packet": the name up to the comma,
 * less the instance number. */
static void vdev_driver(const char *vdev, char *out, size_t len)
{
	size_t n = strcspn(vdev, ",");
	if (n >= len)
		n = len - 1;
	memcpy(out, vdev, n);
	out[n] = '\0';
	while (n > 0 && isdigit((unsigned char)out[n - 1]))
		out[--n] = '\0';
}

static bool known_driver(const char *drv, const char **nearest)
{
	unsigned best = UINT_MAX;
	*nearest = NULL;
	for (size_t k = 0; k < sizeof(known_vdevs) / sizeof(known_vdevs[0]); k++) {
		if (!strcmp(drv, known_vdevs[k]))
			return true;
		unsigned d = edit_distance(drv, known_vdevs[k]);
		if (d < best) {
			best = d;
			*nearest = known_vdevs[k];
		}
	}
	if (best > 3)
		*nearest = NULL;
	return false;
}

static void explain_vdevs(const struct eal_plan *p)
{
	for (unsigned i = 0; i < p->nvdevs; i++) {
		char drv[64];
		const char *nearest;
		vdev_driver(p->vdevs[i], drv, sizeof(drv));
		if (!known_driver(drv, &nearest) && nearest)
			LOG(ERR,
			    "--vdev '%s': no driver '%s'; did you mean %s (e.g. --vdev %s0%s)?",
			    p->vdevs[i], drv, nearest, nearest,
			    p->vdevs[i] + strcspn(p->vdevs[i], ","));
	}
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int eal_plan_start(struct eal_plan *p)
{
	if (p->added[0])
		LOG(INFO, "EAL arguments added by glournetd: %s%s", p->added,
		    p->mem_arg[0] ? " (--no-huge without -m: the memory its mbuf pools need)" : "");
	if (rte_eal_init(p->argc, p->argv) >= 0) {
		snprintf(p->runtime_dir, sizeof(p->runtime_dir), "%s", rte_eal_get_runtime_dir());
		return 0;
	}
	int err = rte_errno;
	LOG(ERR, "EAL initialisation failed: %s", rte_strerror(err));
	explain_vdevs(p);
	if (err == EINVAL)
		LOG(ERR,
		    "EAL refused an argument (its message is above); glournetd's own options go "
		    "before '--', EAL's after it (glournetd --help has an example)");
	if (!p->no_huge && (err == ENOMEM || err == EACCES || err == ENOENT)) {
		long nr = read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
		if (nr <= 0)
			LOG(ERR,
			    "no hugepages reserved: echo 1024 > "
			    "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages (and mount "
			    "hugetlbfs), or run without them: -- --no-huge ... (slower)");
	}
	return -1;
}

void eal_plan_cleanup(const struct eal_plan *p)
{
	if (!p->runtime_dir[0])
		return;
	DIR *dir = opendir(p->runtime_dir);
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", p->runtime_dir, de->d_name);
		if (unlink(path) < 0)
			LOG(WARN, "cannot remove %s: %s", path, strerror(errno));
	}
	if (dir)
		closedir(dir);
	if (rmdir(p->runtime_dir) < 0 && errno != ENOENT)
		LOG(WARN, "cannot remove %s: %s", p->runtime_dir, strerror(errno));
}

void eal_explain_no_port(const struct eal_plan *p)
{
	if (p->nvdevs == 0) {
		LOG(ERR,
		    "no DPDK port: give EAL a device, e.g. -- --vdev net_af_packet0,iface=eth1, "
		    "or a NIC bound to vfio-pci with -a 0000:3b:00.1 (docs/real-nic.md)");
		return;
	}
	for (unsigned i = 0; i < p->nvdevs; i++) {
		const char *v = p->vdevs[i];
		const char *iface = strstr(v, "iface=");
		char name[64] = "";
		if (iface) {
			size_t n = strcspn(iface + 6, ",");
			if (n < sizeof(name)) {
				memcpy(name, iface + 6, n);
				name[n] = '\0';
			}
		}
		char path[128];
		struct stat st;
		snprintf(path, sizeof(path), "/sys/class/net/%s", name);
		if (name[0] && stat(path, &st) != 0)
			LOG(ERR, "--vdev '%s': there is no interface '%s' (ip link show)", v, name);
		else if (!iface &&
			 (!strncmp(v, "net_af_packet", 13) || !strncmp(v, "net_af_xdp", 10)))
			LOG(ERR, "--vdev '%s': needs iface=NAME, e.g. --vdev %.*s,iface=eth1", v,
			    (int)strcspn(v, ","), v);
		else
			LOG(ERR,
			    "--vdev '%s' did not start: see the driver's message above (a "
			    "misspelt option is refused whole)",
			    v);
	}
}

void eal_explain_pool(const struct eal_plan *p, uint32_t mbufs)
{
	uint32_t need =
		BASE_MB + eal_pool_mb(mbufs, p->no_huge) + eal_pool_mb(EAL_OTHER_MBUFS, p->no_huge);
	if (p->no_huge)
		LOG(ERR,
		    "the mbuf pools need ~%u MB of EAL memory under --no-huge: pass EAL -m %u "
		    "(or fewer --mbufs / --rx-desc)",
		    need, need);
	else
		LOG(ERR,
		    "the mbuf pools need ~%u MB of hugepages: reserve more (echo %u > "
		    "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) or pass fewer "
		    "--mbufs / --rx-desc",
		    need, (need + 1) / 2 + 64);
}
