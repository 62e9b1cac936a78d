/*
 * The names of the exception path's and the TX path's counters (one
 * X-macro list each in exception.h and tx.h), here rather than beside the
 * DPDK code that counts them, so the control-socket views link no DPDK.
 */
#include "glournet/exception.h"
#include "glournet/tx.h"

const char *exc_worker_counter_name(enum exc_worker_counter c)
{
	static const char *const names[] = {
#define EXC_WORKER_NAME(name, str) str,
		EXC_WORKER_COUNTERS(EXC_WORKER_NAME)
#undef EXC_WORKER_NAME
	};
	return (unsigned)c < EXC_WORKER_COUNT ? names[c] : "unknown";
}

const char *exc_iface_counter_name(enum exc_iface_counter c)
{
	static const char *const names[] = {
#define EXC_IFACE_NAME(name, str) str,
		EXC_IFACE_COUNTERS(EXC_IFACE_NAME)
#undef EXC_IFACE_NAME
	};
	return (unsigned)c < EXC_IFACE_COUNT ? names[c] : "unknown";
}

const char *tx_counter_name(enum tx_counter c)
{
	static const char *const names[] = {
#define TX_COUNTER_NAME(name, str) str,
		TX_COUNTERS(TX_COUNTER_NAME)
#undef TX_COUNTER_NAME
	};
	return (unsigned)c < TX_COUNTER_COUNT ? names[c] : "unknown";
}
