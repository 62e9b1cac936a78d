/*
 * The agent's min-heap of due times (agent_heap.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "agent_heap.h"

int agent_heap_init(struct agent_heap *h, size_t cap)
{
	h->a = malloc((cap ? cap : 1) * sizeof(*h->a));
	h->n = 0;
	h->cap = cap;
	return h->a ? 0 : -ENOMEM;
}

void agent_heap_free(struct agent_heap *h)
{
	free(h->a);
	*h = (struct agent_heap){0};
}

static void swap_at(struct agent_heap *h, size_t a, size_t b)
{
	struct agent_heap_item t = h->a[a];

	h->a[a] = h->a[b];
	h->a[b] = t;
}

int agent_heap_push(struct agent_heap *h, uint64_t due, size_t i)
{
	size_t k;

	if (h->n == h->cap)
		return -ENOSPC;
	k = h->n++;
	h->a[k] = (struct agent_heap_item){.due = due, .i = i};
	for (; k > 0 && h->a[k].due < h->a[(k - 1) / 2].due; k = (k - 1) / 2)
		swap_at(h, k, (k - 1) / 2);
	return 0;
}

struct agent_heap_item agent_heap_pop(struct agent_heap *h)
{
	struct agent_heap_item top = h->a[0];
	size_t k = 0;

	h->a[0] = h->a[--h->n];
	for (;;) {
		size_t l = 2 * k + 1, m = k;

		if (l < h->n && h->a[l].due < h->a[m].due)
			m = l;
		if (l + 1 < h->n && h->a[l + 1].due < h->a[m].due)
			m = l + 1;
		if (m == k)
			return top;
		swap_at(h, k, m);
		k = m;
	}
}
