/* SPDX-License-Identifier: MIT */
/* kbpaxos header + payload without Ethernet/IPv4/UDP, for kernel UDP sockets (kbp_client_wire.h). */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "kbp_client_wire.h"

int kbp_client_wire_encode(uint8_t *buf, uint32_t cap, uint16_t cluster_id, const struct kbp_msg *m)
{
	assert(buf != NULL && m != NULL);
	assert(m->len == 0 || m->payload != NULL);
	if (m->type < KBP_MSG_PREPARE || m->type >= KBP_MSG_TYPE_END || (m->flags & ~KBP_WIRE_FLAGS_KNOWN))
		return -KBP_EINVAL;
	if (m->len > KBP_WIRE_PAYLOAD_LIMIT || KBP_WIRE_HDR_SIZE + m->len > cap)
		return -KBP_ETOOBIG;

	kbp_wire_hdr_encode(buf, cluster_id, m);
	return (int)(KBP_WIRE_HDR_SIZE + m->len);
}

int kbp_client_wire_request(uint8_t *buf, uint32_t cap, uint16_t cluster_id, uint8_t to,
			    const struct kbp_cmd *cmds, uint32_t count)
{
	assert(buf != NULL && (count == 0 || cmds != NULL));
	if (count == 0)
		return -KBP_EINVAL;
	if (cap < KBP_WIRE_HDR_SIZE)
		return -KBP_ETOOBIG;

	uint32_t off = KBP_WIRE_HDR_SIZE;
	for (uint32_t i = 0; i < count; i++) {
		if (cmds[i].op == KBP_OP_NOOP || cmds[i].op >= KBP_OP_COUNT)
			return -KBP_EINVAL;
		int n = kbp_cmd_encode(&cmds[i], buf + off, cap - off);
		if (n < 0)
			return n;
		off += (uint32_t)n;
	}
	struct kbp_msg m = {
		.type = KBP_MSG_CLIENT_REQ,
		.from = KBP_NODE_CLIENT,
		.to = to,
		.count = count,
		.len = off - KBP_WIRE_HDR_SIZE,
		.payload = buf + KBP_WIRE_HDR_SIZE,
	};
	return kbp_client_wire_encode(buf, cap, cluster_id, &m);
}

int kbp_client_wire_reply(uint8_t *buf, uint32_t len, uint16_t cluster_id, uint8_t nodes,
			  uint32_t cmds_max, struct kbp_msg *out)
{
	assert(buf != NULL && out != NULL);
	int err = kbp_wire_hdr_decode(buf, len, cluster_id, KBP_WIRE_PAYLOAD_LIMIT, out);
	if (err < 0)
		return err;
	uint32_t plen = out->len;

	if (out->type != KBP_MSG_CLIENT_REP)
		return -KBP_WIRE_TYPE_PORT;
	if (out->from >= nodes)
		return -KBP_WIRE_NODE_ID;
	if (out->to != KBP_NODE_CLIENT)
		return -KBP_WIRE_TARGET;
	if (out->count == 0)
		return -KBP_WIRE_COUNT;
	/* 64-bit product: a count near 2^32 must not wrap into a small size. */
	if (out->count > cmds_max || (uint64_t)out->count * KBP_REPLY_HDR_SIZE > plen)
		return -KBP_WIRE_COUNT_MAX;
	struct kbp_reply r;
	uint32_t off = 0;
	for (uint32_t i = 0; i < out->count; i++) {
		int n = kbp_reply_decode(&r, out->payload + off, plen - off);
		if (n < 0)
			return -KBP_WIRE_PAYLOAD;
		off += (uint32_t)n;
	}
	return off == plen ? 0 : -KBP_WIRE_PAYLOAD;
}
