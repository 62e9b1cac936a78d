/*
 * The coarse clock's one definition (see coarse_clock.h): here, beside the
 * workers that read it, so every program linking the dataplane core has it.
 */
#include "glournet/coarse_clock.h"

uint32_t gn_coarse_now_sec;
int32_t gn_coarse_base_sec[2];
