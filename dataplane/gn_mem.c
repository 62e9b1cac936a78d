/*
 * jemalloc-backed allocation of the big tables: mallocx gives alignment and
 * zeroing in one call, sdallocx frees with the size we already know. Whole
 * page tables (the slot chunks) are mmap'd instead, on hugetlb pages when
 * the pool has them: one TLB entry per 2 MiB, which halves what a random
 * heartbeat costs over 10 M slots with the entry (FACTS.md "Costs").
 */
#include <jemalloc/jemalloc.h>
#include <sys/mman.h>

#include "glournet/gn_mem.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define MAP_HUGE_2MB_FLAG (21 << MAP_HUGE_SHIFT)

static size_t table_bytes;
static bool no_huge;

void *gn_table_alloc(size_t size)
{
	void *p = mallocx(size, MALLOCX_ALIGN(64) | MALLOCX_ZERO);
	if (p)
		__atomic_add_fetch(&table_bytes, size, __ATOMIC_RELAXED);
	return p;
}

void gn_table_free(void *p, size_t size)
{
	if (!p)
		return;
	sdallocx(p, size, MALLOCX_ALIGN(64));
	__atomic_sub_fetch(&table_bytes, size, __ATOMIC_RELAXED);
}

size_t gn_table_bytes(void)
{
	return __atomic_load_n(&table_bytes, __ATOMIC_RELAXED);
}

void *gn_table_alloc_pages(size_t size, bool *huge)
{
	void *p = MAP_FAILED;
	*huge = false;
	if (size == 0 || size % GN_HUGE_PAGE)
		return NULL;
	if (!no_huge) {
		/* ENOMEM when the pool has too few free pages (the mapping
		 * reserves them now); then normal pages. */
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB_FLAG, -1, 0);
		*huge = p != MAP_FAILED;
	}
	if (p == MAP_FAILED)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	__atomic_add_fetch(&table_bytes, size, __ATOMIC_RELAXED);
	return p;
}

void gn_table_free_pages(void *p, size_t size)
{
	if (!p)
		return;
	/* Either kind: munmap of a hugetlb mapping takes its whole length. */
	munmap(p, size);
	__atomic_sub_fetch(&table_bytes, size, __ATOMIC_RELAXED);
}

void gn_table_pages_no_huge(bool on)
{
	no_huge = on;
}
