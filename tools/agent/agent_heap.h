/*
 * A binary min-heap of (due time, endpoint index): what `poll` keeps each
 * endpoint's next poll in, and `listen` the polls its notifies asked for,
 * so the next one due is found in O(1) and taken in O(log n).
 */
#ifndef GLOURNET_AGENT_HEAP_H
#define GLOURNET_AGENT_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct agent_heap_item {
	uint64_t due;
	size_t i;
};

struct agent_heap {
	struct agent_heap_item *a;
	size_t n, cap;
};

/* Room for cap items; 0 or -ENOMEM. */
int agent_heap_init(struct agent_heap *h, size_t cap);
void agent_heap_free(struct agent_heap *h);
/* 0, or -ENOSPC when full. */
int agent_heap_push(struct agent_heap *h, uint64_t due, size_t i);
/* The earliest; the heap must not be empty. */
static inline const struct agent_heap_item *agent_heap_top(const struct agent_heap *h)
{
	return &h->a[0];
}
struct agent_heap_item agent_heap_pop(struct agent_heap *h);

#endif
