/*
 * One wrapper for the large tables (slot chunks, timestamp arrays): backed
 * by jemalloc, or for whole-page tables by mmap on reserved 2 MiB hugetlb
 * pages when the pool has them; cache-line aligned, zeroed, and counted so
 * the daemon can report its table memory.
 */
#ifndef GLOURNET_GN_MEM_H
#define GLOURNET_GN_MEM_H

#include <stdbool.h>
#include <stddef.h>

#define GN_HUGE_PAGE (2u << 20)

void *gn_table_alloc(size_t size); /* 64-byte aligned, zeroed; NULL on failure */
void gn_table_free(void *p, size_t size);
size_t gn_table_bytes(void); /* bytes currently held by tables */

/*
 * A table of `size` bytes, a multiple of GN_HUGE_PAGE: on reserved 2 MiB
 * hugetlb pages (MAP_HUGETLB) when the pool has enough free pages, else on
 * normal 4 KiB pages (plain anonymous mmap; no THP madvise: compaction
 * stalls, FACTS.md). *huge says which. Zeroed, page-aligned; NULL when
 * neither can be had. A reserved hugetlb mapping is backed at mmap time,
 * so a first touch never fails. Counted in gn_table_bytes. Control thread
 * or start-up; a syscall, never on the hot path.
 */
void *gn_table_alloc_pages(size_t size, bool *huge);
/* Frees what gn_table_alloc_pages gave, with the same size (NULL: nothing). */
void gn_table_free_pages(void *p, size_t size);

/* Tests: pretend the hugepage pool is empty (true) or use it (false, the
 * default), to prove the fallback where pages happen to be reserved. */
void gn_table_pages_no_huge(bool no_huge);

#endif
