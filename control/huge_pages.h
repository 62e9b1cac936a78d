/*
 * Transparent huge pages for the control plane's big, long-lived tables
 * (registry chunks, index tables): 10 M endpoints are ~900 MB, which in
 * 4 KiB pages is ~230,000 page faults at start-up (each one expensive in a
 * VM) and as many TLB entries for every sweep. The kernel's THP setting is
 * usually "madvise": ask for them. Advice only; without THP nothing changes.
 */
#ifndef GLOURNET_HUGE_PAGES_H
#define GLOURNET_HUGE_PAGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define GN_HUGE_PAGE ((size_t)2 << 20)

/* The 2 MiB-aligned part of [p, p + len); calloc'd blocks this large are
 * fresh mappings, so the pages are still untouched. */
static inline void gn_advise_huge(void *p, size_t len)
{
	uintptr_t a = ((uintptr_t)p + GN_HUGE_PAGE - 1) & ~(uintptr_t)(GN_HUGE_PAGE - 1);
	uintptr_t e = ((uintptr_t)p + len) & ~(uintptr_t)(GN_HUGE_PAGE - 1);
	if (e > a)
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
}

#endif
