/* SPDX-License-Identifier: MIT */
/* Sample cluster and one valid message of every type, shared by the wire tests and kbp_wire_dump. */
#ifndef KBP_WIRE_TEST_UTIL_H
#define KBP_WIRE_TEST_UTIL_H

#include "kbp_wire.h"

#define KBP_TEST_CLUSTER 7u
#define KBP_TEST_NODES 3u

/* Node i: 02:00:00:00:00:0(i+1), 10.77.0.(i+1), port 7700, client port 7701; client: .100:7800. */
void kbp_test_ctx(struct kbp_wire_ctx *ctx, unsigned self);

/* A sample message of type, as node 1 would send it to node 0 (client types: client <-> node 0). */
struct kbp_test_msg {
	struct kbp_msg m;
	struct kbp_wire_addr src, dst;
	uint8_t payload[1024];
};
void kbp_test_msg(uint8_t type, struct kbp_test_msg *t);

/* Encode the sample of type into buf; returns the frame length (asserts on failure). */
uint32_t kbp_test_frame(uint8_t type, uint8_t *buf, uint32_t cap, struct kbp_test_msg *t);

#endif
