/*
 * Frame and payload decoding for heartbeats, free of DPDK so that unit
 * tests and fuzzers drive exactly the code the workers run.
 */
#ifndef GLOURNET_HB_DECODE_H
#define GLOURNET_HB_DECODE_H

#include <stdint.h>

#include "glournet/heartbeat.h"
#include "glournet/hb_verdict.h"

/*
 * Walks Ethernet (up to two VLAN tags), IPv4 or IPv6, UDP to `udp_port`
 * (host order). On HB_ACCEPTED, *payload points at the 32 heartbeat bytes
 * inside `frame`; otherwise the verdict says why the frame is not one.
 */
enum hb_verdict hb_decode_frame(const uint8_t *frame, uint32_t len, uint16_t udp_port,
				const uint8_t **payload);

/* Checks magic, version, type and flags of 32 bytes and converts them. */
enum hb_verdict hb_decode_payload(const uint8_t *payload, struct hb_msg *msg);

#endif
