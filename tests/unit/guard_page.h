/*
 * A buffer that ends exactly at an inaccessible page, for the decoder
 * tests: any read past the bytes under test faults, under any allocator
 * (glournet links jemalloc, whose malloc valgrind does not track by
 * default) and without valgrind. guard_setup/guard_teardown are cmocka
 * group fixtures; guard_tail(len) is where `len` bytes end at the guard.
 */
#ifndef GLOURNET_TEST_GUARD_PAGE_H
#define GLOURNET_TEST_GUARD_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static uint8_t *guard_area;
static long page;

static int guard_setup(void **state)
{
	(void)state;
	page = sysconf(_SC_PAGESIZE);
	guard_area = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard_area == MAP_FAILED)
		return -1;
	return mprotect(guard_area + page, (size_t)page, PROT_NONE);
}

static int guard_teardown(void **state)
{
	(void)state;
	return munmap(guard_area, 2 * (size_t)page);
}

#endif
