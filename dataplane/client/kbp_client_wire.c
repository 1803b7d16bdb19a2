/* SPDX-License-Identifier: MIT */
/* kbpaxos header + payload without Ethernet/IPv4/UDP, for kernel UDP sockets (kbp_client_wire.h). */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "kbp_client_wire.h"

#define OFF(f) ((uint32_t)offsetof(struct kbp_wire_hdr, f))

static uint32_t datagram_crc(uint8_t *d, uint32_t len)
{
	/* CRC over the header with its crc field zero, then the payload: contiguous here. */
	uint8_t saved[4];

	memcpy(saved, d + OFF(crc), 4);
	memset(d + OFF(crc), 0, 4);
	uint32_t crc = kbp_wire_crc32c(d, len);
	memcpy(d + OFF(crc), saved, 4);
	return crc;
}

int kbp_client_wire_encode(uint8_t *buf, uint32_t cap, uint16_t cluster_id, const struct kbp_msg *m)
{
	assert(buf != NULL && m != NULL);
	assert(m->len == 0 || m->payload != NULL);
	if (m->type < KBP_MSG_PREPARE || m->type >= KBP_MSG_TYPE_END || (m->flags & ~KBP_WIRE_FLAGS_KNOWN))
		return -KBP_EINVAL;
	if (m->len > KBP_WIRE_PAYLOAD_LIMIT || KBP_WIRE_HDR_SIZE + m->len > cap)
		return -KBP_ETOOBIG;

	uint8_t *h = buf;
	kbp_le32_store(h + OFF(magic), KBP_WIRE_MAGIC);
	h[OFF(version)] = KBP_WIRE_VERSION;
	h[OFF(type)] = m->type;
	h[OFF(flags)] = m->flags;
	h[OFF(reserved)] = 0;
	h[OFF(from)] = m->from;
	h[OFF(to)] = m->to;
	kbp_le16_store(h + OFF(cluster_id), cluster_id);
	kbp_le32_store(h + OFF(count), m->count);
	kbp_le32_store(h + OFF(len), m->len);
	kbp_le32_store(h + OFF(crc), 0);
	kbp_le64_store(h + OFF(ballot), m->ballot);
	kbp_le64_store(h + OFF(slot), m->slot);
	kbp_le64_store(h + OFF(commit), m->commit);
	kbp_le64_store(h + OFF(aux), m->aux);
	kbp_le64_store(h + OFF(lease_stamp), m->lease_stamp);
	if (m->len && m->payload != h + KBP_WIRE_HDR_SIZE)
		memmove(h + KBP_WIRE_HDR_SIZE, m->payload, m->len);
	uint32_t total = KBP_WIRE_HDR_SIZE + m->len;
	kbp_le32_store(h + OFF(crc), datagram_crc(h, total));
	return (int)total;
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
	if (len < KBP_WIRE_HDR_SIZE)
		return -KBP_WIRE_TRUNC_HDR;
	const uint8_t *h = buf;
	if (kbp_le32_load(h + OFF(magic)) != KBP_WIRE_MAGIC)
		return -KBP_WIRE_MAGIC_BAD;
	if (h[OFF(version)] != KBP_WIRE_VERSION)
		return -KBP_WIRE_VERSION_BAD;
	if (h[OFF(reserved)] != 0 || (h[OFF(flags)] & ~KBP_WIRE_FLAGS_KNOWN))
		return -KBP_WIRE_RESERVED;
	if (kbp_le16_load(h + OFF(cluster_id)) != cluster_id)
		return -KBP_WIRE_CLUSTER;
	uint8_t type = h[OFF(type)];
	if (type < KBP_MSG_PREPARE || type >= KBP_MSG_TYPE_END)
		return -KBP_WIRE_TYPE;
	uint32_t plen = kbp_le32_load(h + OFF(len));
	if (plen != len - KBP_WIRE_HDR_SIZE)
		return -KBP_WIRE_LEN;
	if (plen > KBP_WIRE_PAYLOAD_LIMIT)
		return -KBP_WIRE_TOO_BIG;
	if (kbp_le32_load(h + OFF(crc)) != datagram_crc(buf, len))
		return -KBP_WIRE_CRC;

	out->type = type;
	out->flags = h[OFF(flags)];
	out->from = h[OFF(from)];
	out->to = h[OFF(to)];
	out->count = kbp_le32_load(h + OFF(count));
	out->len = plen;
	out->ballot = kbp_le64_load(h + OFF(ballot));
	out->slot = kbp_le64_load(h + OFF(slot));
	out->commit = kbp_le64_load(h + OFF(commit));
	out->aux = kbp_le64_load(h + OFF(aux));
	out->lease_stamp = kbp_le64_load(h + OFF(lease_stamp));
	out->payload = h + KBP_WIRE_HDR_SIZE;

	if (type != KBP_MSG_CLIENT_REP)
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
