/*
 * One wrapper for the large tables (slot chunks, timestamp arrays), backed
 * by jemalloc: cache-line aligned, zeroed, and counted so the daemon can
 * report its table memory.
 */
#ifndef GLOURNET_GN_MEM_H
#define GLOURNET_GN_MEM_H

#include <stddef.h>

void *gn_table_alloc(size_t size);          /* 64-byte aligned, zeroed; NULL on failure */
void gn_table_free(void *p, size_t size);
size_t gn_table_bytes(void);                /* bytes currently held by tables */

#endif
