/*
 * The clock-step detector (clock_step.h): a handful of arithmetic on two
 * clock readings, kept apart so the unit tests can drive it with any
 * clocks they like.
 */
#include "control/clock_step.h"

#define NS 1000000000ll

void clock_step_init(struct clock_step *c, uint64_t wall_ns, uint64_t mono_ns)
{
	*c = (struct clock_step){.wall_ns = wall_ns, .mono_ns = mono_ns};
}

int64_t clock_step_observe(struct clock_step *c, uint64_t wall_ns, uint64_t mono_ns)
{
	int64_t drift = (int64_t)(wall_ns - c->wall_ns) - (int64_t)(mono_ns - c->mono_ns);
	c->wall_ns = wall_ns;
	c->mono_ns = mono_ns;
	if (drift <= CLOCK_STEP_TOLERANCE_NS && drift >= -CLOCK_STEP_TOLERANCE_NS)
		return 0;
	/* Whole seconds, rounded to the nearest: the steady clock is read in
	 * seconds and its base must be one exact number of them. */
	int64_t step = drift >= 0 ? (drift + NS / 2) / NS : -((-drift + NS / 2) / NS);
	c->prev_base_s = c->base_s;
	c->base_s += step;
	c->last_step_s = step;
	c->last_step_at = wall_ns / NS;
	if (step > 0)
		c->forward++;
	else
		c->backward++;
	return step;
}

uint32_t clock_step_wall(const struct clock_step *c)
{
	return (uint32_t)(c->wall_ns / NS);
}

uint32_t clock_step_steady(const struct clock_step *c)
{
	return (uint32_t)((int64_t)(c->wall_ns / NS) - c->base_s);
}
