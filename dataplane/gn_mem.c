/*
 * jemalloc-backed allocation of the big tables: mallocx gives alignment and
 * zeroing in one call, sdallocx frees with the size we already know.
 */
#include <jemalloc/jemalloc.h>

#include "glournet/gn_mem.h"

static size_t table_bytes;

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
