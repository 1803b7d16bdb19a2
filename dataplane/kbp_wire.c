/* SPDX-License-Identifier: MIT */
/* Encoding and validating kbpaxos frames (layout in kbp_wire.h and docs/PROTOCOL.md). */
#include <assert.h>
#include <string.h>

#include <rte_hash_crc.h>

#include "kbp_wire.h"

_Static_assert(sizeof(struct kbp_wire_hdr) == KBP_WIRE_HDR_SIZE, "header is 64 bytes");
_Static_assert(offsetof(struct kbp_wire_hdr, version) == 4, "layout");
_Static_assert(offsetof(struct kbp_wire_hdr, from) == 8, "layout");
_Static_assert(offsetof(struct kbp_wire_hdr, cluster_id) == 10, "layout");
_Static_assert(offsetof(struct kbp_wire_hdr, count) == 12, "layout");
_Static_assert(offsetof(struct kbp_wire_hdr, len) == 16, "layout");
_Static_assert(offsetof(struct kbp_wire_hdr, crc) == 20, "layout");
_Static_assert(offsetof(struct kbp_wire_hdr, ballot) == 24, "layout");
_Static_assert(offsetof(struct kbp_wire_hdr, lease_stamp) == 56, "layout");
_Static_assert(KBP_WIRE_L2L4_SIZE == 42, "Ethernet + IPv4 + UDP");
_Static_assert(KBP_WIRE_OVERHEAD == 106, "every header");
_Static_assert(KBP_MSG_TYPE_END - 1 == KBP_MSG_CLIENT_REP, "CLIENT_REP is the last type");
_Static_assert(KBP_NODES_MAX < KBP_NODE_CLIENT, "client id never names a node");

/* Header field offsets, from the struct so the two can never disagree. */
#define OFF(f) ((uint32_t)offsetof(struct kbp_wire_hdr, f))

/* Ethernet / IPv4 / UDP offsets within the frame. */
#define ETH_DST 0u
#define ETH_SRC 6u
#define ETH_TYPE 12u
#define IP_OFF KBP_WIRE_ETH_SIZE
#define UDP_OFF (KBP_WIRE_ETH_SIZE + KBP_WIRE_IP_SIZE)
#define KBP_OFF KBP_WIRE_L2L4_SIZE
#define ETHERTYPE_IPV4 0x0800u
#define IPPROTO_UDP_ 17u
#define IP_TTL 64u
#define IP_DF 0x4000u

static inline uint16_t be16_load(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32_load(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void be16_store(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void be32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

const char *kbp_wire_drop_name(int reason)
{
	static const char *const names[] = {
#define KBP_WIRE_X_NAME(name, tag, text) [name] = tag,
		KBP_WIRE_DROPS(KBP_WIRE_X_NAME)
#undef KBP_WIRE_X_NAME
	};
	if (reason < 0)
		reason = -reason;
	return reason < KBP_WIRE_DROP_COUNT ? names[reason] : "?";
}

const char *kbp_wire_drop_text(int reason)
{
	static const char *const texts[] = {
#define KBP_WIRE_X_TEXT(name, tag, text) [name] = text,
		KBP_WIRE_DROPS(KBP_WIRE_X_TEXT)
#undef KBP_WIRE_X_TEXT
	};
	if (reason < 0)
		reason = -reason;
	return reason < KBP_WIRE_DROP_COUNT ? texts[reason] : "unknown drop reason";
}

/*
 * Running CRC32C.  rte_hash_crc() loads through casted pointers, which is undefined for
 * the unaligned header (frame offset 42); memcpy loads cost the same and are defined.
 */
static uint32_t crc32c_update(uint32_t crc, const uint8_t *p, uint32_t n)
{
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		crc = rte_hash_crc_8byte(v, crc);
	}
	for (; n > 0; n--, p++)
		crc = rte_hash_crc_1byte(*p, crc);
	return crc;
}

/* CRC over the header with its crc field read as zero, then the payload. */
static uint32_t kbp_crc_frame(const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	static const uint8_t zero[4];
	uint32_t crc = 0xFFFFFFFFu;

	crc = crc32c_update(crc, hdr, OFF(crc));
	crc = crc32c_update(crc, zero, sizeof(zero));
	crc = crc32c_update(crc, hdr + OFF(crc) + 4, KBP_WIRE_HDR_SIZE - OFF(crc) - 4);
	crc = crc32c_update(crc, payload, len);
	return ~crc;
}

uint32_t kbp_wire_crc32c(const uint8_t *buf, uint32_t len)
{
	return ~crc32c_update(0xFFFFFFFFu, buf, len);
}

/* RFC 1071 one's-complement sum of the 20-byte IPv4 header; 0 means "valid" on receive. */
static uint16_t ip_csum(const uint8_t *ip)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < KBP_WIRE_IP_SIZE; i += 2)
		sum += be16_load(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

static bool type_known(unsigned type)
{
	return type >= KBP_MSG_PREPARE && type < KBP_MSG_TYPE_END;
}

/*
 * The kbpaxos header and payload (a UDP datagram's contents), shared by the frame
 * encoder below and by kernel-UDP clients that only ever see the datagram.
 */
void kbp_wire_hdr_encode(uint8_t *h, uint16_t cluster_id, const struct kbp_msg *m)
{
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
	kbp_le32_store(h + OFF(crc), kbp_crc_frame(h, h + KBP_WIRE_HDR_SIZE, m->len));
}

int kbp_wire_hdr_decode(const uint8_t *h, uint32_t kbp_len, uint16_t cluster_id, uint32_t payload_max,
			struct kbp_msg *out)
{
	if (kbp_len < KBP_WIRE_HDR_SIZE)
		return -KBP_WIRE_TRUNC_HDR;
	if (kbp_le32_load(h + OFF(magic)) != KBP_WIRE_MAGIC)
		return -KBP_WIRE_MAGIC_BAD;
	if (h[OFF(version)] != KBP_WIRE_VERSION)
		return -KBP_WIRE_VERSION_BAD;
	if (h[OFF(reserved)] != 0 || (h[OFF(flags)] & ~KBP_WIRE_FLAGS_KNOWN))
		return -KBP_WIRE_RESERVED;
	if (kbp_le16_load(h + OFF(cluster_id)) != cluster_id)
		return -KBP_WIRE_CLUSTER;
	if (!type_known(h[OFF(type)]))
		return -KBP_WIRE_TYPE;
	uint32_t plen = kbp_le32_load(h + OFF(len));
	if (plen != kbp_len - KBP_WIRE_HDR_SIZE)
		return -KBP_WIRE_LEN;
	if (plen > payload_max)
		return -KBP_WIRE_TOO_BIG;
	const uint8_t *payload = h + KBP_WIRE_HDR_SIZE;
	if (kbp_le32_load(h + OFF(crc)) != kbp_crc_frame(h, payload, plen))
		return -KBP_WIRE_CRC;

	out->type = h[OFF(type)];
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
	out->payload = payload;
	return 0;
}

int kbp_wire_encode(uint8_t *buf, uint32_t cap, const struct kbp_wire_addr *src,
		    const struct kbp_wire_addr *dst, uint16_t cluster_id, const struct kbp_msg *m)
{
	assert(buf != NULL && src != NULL && dst != NULL && m != NULL);
	assert(m->len == 0 || m->payload != NULL);
	if (!type_known(m->type) || (m->flags & ~KBP_WIRE_FLAGS_KNOWN))
		return -KBP_EINVAL;
	if (m->len > KBP_WIRE_PAYLOAD_LIMIT || kbp_wire_frame_size(m->len) > cap)
		return -KBP_ETOOBIG;

	uint8_t *eth = buf, *ip = buf + IP_OFF, *udp = buf + UDP_OFF, *h = buf + KBP_OFF;
	uint16_t ip_len = (uint16_t)(KBP_WIRE_IP_SIZE + KBP_WIRE_UDP_SIZE + KBP_WIRE_HDR_SIZE + m->len);

	memcpy(eth + ETH_DST, dst->mac, 6);
	memcpy(eth + ETH_SRC, src->mac, 6);
	be16_store(eth + ETH_TYPE, ETHERTYPE_IPV4);

	ip[0] = 0x45;                     /* version 4, 5 words, no options */
	ip[1] = 0;                        /* DSCP/ECN */
	be16_store(ip + 2, ip_len);
	be16_store(ip + 4, 0);            /* id: unused, DF is set */
	be16_store(ip + 6, IP_DF);
	ip[8] = IP_TTL;
	ip[9] = IPPROTO_UDP_;
	be16_store(ip + 10, 0);
	be32_store(ip + 12, src->ip);
	be32_store(ip + 16, dst->ip);
	be16_store(ip + 10, ip_csum(ip));

	be16_store(udp + 0, src->port);
	be16_store(udp + 2, dst->port);
	be16_store(udp + 4, (uint16_t)(ip_len - KBP_WIRE_IP_SIZE));
	be16_store(udp + 6, 0);           /* no UDP checksum: CRC32C covers what we consume */

	kbp_wire_hdr_encode(h, cluster_id, m);
	return (int)kbp_wire_frame_size(m->len);
}

void kbp_wire_reseal(uint8_t *frame, uint32_t len)
{
	assert(len >= KBP_WIRE_OVERHEAD);
	uint8_t *ip = frame + IP_OFF, *h = frame + KBP_OFF;
	uint32_t plen = kbp_le32_load(h + OFF(len));

	if (plen > len - KBP_WIRE_OVERHEAD)
		plen = len - KBP_WIRE_OVERHEAD;   /* a test's deliberately lying len: seal what is there */
	kbp_le32_store(h + OFF(crc), kbp_crc_frame(h, h + KBP_WIRE_HDR_SIZE, plen));
	be16_store(ip + 10, 0);
	be16_store(ip + 10, ip_csum(ip));
}

static bool mac_eq(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, 6) == 0; }

/* Every command decodes, fills len exactly; clients may not send no-ops (holes are ours). */
static int check_cmds(const uint8_t *p, uint32_t len, uint32_t count, bool client)
{
	if (kbp_batch_validate(p, len, count) != 0)
		return -KBP_WIRE_PAYLOAD;
	if (client) {
		struct kbp_cmd c;
		for (uint32_t off = 0, i = 0; i < count; i++) {
			int r = kbp_cmd_decode(&c, p + off, len - off);
			assert(r > 0);   /* kbp_batch_validate just walked the same bytes */
			if (c.op == KBP_OP_NOOP)
				return -KBP_WIRE_PAYLOAD;
			off += (uint32_t)r;
		}
	}
	return 0;
}

static int check_replies(const uint8_t *p, uint32_t len, uint32_t count)
{
	struct kbp_reply r;
	uint32_t off = 0;

	for (uint32_t i = 0; i < count; i++) {
		int n = kbp_reply_decode(&r, p + off, len - off);
		if (n < 0)
			return -KBP_WIRE_PAYLOAD;
		off += (uint32_t)n;
	}
	return off == len ? 0 : -KBP_WIRE_PAYLOAD;
}

/* Promise entries (kbp_msg.h): slot, ballot, count, len, batch padded to 8; slots in [lo, hi). */
static int check_promise(const uint8_t *p, uint32_t len, uint32_t count, uint32_t cmds_max,
			 uint64_t lo, uint64_t hi)
{
	uint32_t off = 0;

	for (uint32_t i = 0; i < count; i++) {
		if (len - off < KBP_PENTRY_HDR_SIZE)
			return -KBP_WIRE_PAYLOAD;
		const uint8_t *e = p + off;
		uint64_t slot = kbp_le64_load(e);
		uint32_t n = kbp_le32_load(e + 16), blen = kbp_le32_load(e + 20);
		if (slot < lo || slot >= hi || n == 0 || n > cmds_max)
			return -KBP_WIRE_PAYLOAD;
		uint32_t room = len - off - KBP_PENTRY_HDR_SIZE;
		if (blen > room || kbp_pad8(blen) > room)
			return -KBP_WIRE_PAYLOAD;
		if (kbp_batch_validate(e + KBP_PENTRY_HDR_SIZE, blen, n) != 0)
			return -KBP_WIRE_PAYLOAD;
		off += KBP_PENTRY_HDR_SIZE + kbp_pad8(blen);
	}
	return off == len ? 0 : -KBP_WIRE_PAYLOAD;
}

/* Count and payload rules per type (the table in kbp_msg.h). */
static int check_payload(const struct kbp_msg *m, const struct kbp_wire_ctx *ctx)
{
	switch (m->type) {
	case KBP_MSG_ACCEPT:
	case KBP_MSG_CATCHUP:
	case KBP_MSG_CLIENT_REQ:
	case KBP_MSG_CLIENT_REP:
		if (m->count == 0)
			return -KBP_WIRE_COUNT;
		/* 64-bit product: count up to 2^32-1 must not wrap into a small size. */
		if (m->count > ctx->cmds_max || (uint64_t)m->count * KBP_CMD_HDR_SIZE > m->len)
			return -KBP_WIRE_COUNT_MAX;
		if (m->type == KBP_MSG_CLIENT_REP)
			return check_replies(m->payload, m->len, m->count);
		return check_cmds(m->payload, m->len, m->count, m->type == KBP_MSG_CLIENT_REQ);
	case KBP_MSG_PROMISE:
		if ((uint64_t)m->count * (KBP_PENTRY_HDR_SIZE + KBP_CMD_HDR_SIZE) > m->len)
			return -KBP_WIRE_COUNT_MAX;
		return check_promise(m->payload, m->len, m->count, ctx->cmds_max, m->slot, m->aux);
	case KBP_MSG_SNAPSHOT:
		/* count = snapshot bytes, aux = this chunk's offset. */
		if (m->aux > m->count || m->len > m->count - m->aux)
			return -KBP_WIRE_PAYLOAD;
		return 0;
	default:
		if (m->count != 0)
			return -KBP_WIRE_COUNT;
		return m->len == 0 ? 0 : -KBP_WIRE_PAYLOAD;
	}
}

int kbp_wire_parse(const uint8_t *frame, uint32_t len, const struct kbp_wire_ctx *ctx,
		   struct kbp_msg *out, struct kbp_wire_src *src)
{
	assert(ctx != NULL && out != NULL);
	assert(ctx->nodes >= 1 && ctx->nodes <= KBP_NODES_MAX);
	assert(ctx->self < ctx->nodes || ctx->self == KBP_NODE_CLIENT);
	assert(ctx->payload_max <= KBP_WIRE_PAYLOAD_LIMIT);
	bool is_client = ctx->self == KBP_NODE_CLIENT;
	const struct kbp_wire_addr *me = is_client ? &ctx->client : &ctx->node[ctx->self].addr;

	/* Ethernet. */
	if (len < KBP_WIRE_ETH_SIZE)
		return -KBP_WIRE_TRUNC_ETH;
	if (be16_load(frame + ETH_TYPE) != ETHERTYPE_IPV4)
		return -KBP_WIRE_ETHERTYPE;
	if (!mac_eq(frame + ETH_DST, me->mac))
		return -KBP_WIRE_DST_MAC;

	/* IPv4: exactly 20 bytes, unfragmented UDP to us. */
	if (len < UDP_OFF)
		return -KBP_WIRE_TRUNC_IP;
	const uint8_t *ip = frame + IP_OFF;
	if ((ip[0] >> 4) != 4)
		return -KBP_WIRE_IP_VERSION;
	if ((ip[0] & 0xf) < 5)
		return -KBP_WIRE_IP_IHL;
	if ((ip[0] & 0xf) > 5)
		return -KBP_WIRE_IP_OPTIONS;
	if (be16_load(ip + 6) & 0x3fffu)     /* MF flag or fragment offset */
		return -KBP_WIRE_IP_FRAGMENT;
	if (ip[9] != IPPROTO_UDP_)
		return -KBP_WIRE_IP_PROTO;
	if (ip_csum(ip) != 0)
		return -KBP_WIRE_IP_CSUM;
	if (be32_load(ip + 16) != me->ip)
		return -KBP_WIRE_DST_IP;

	/* UDP; the frame may carry Ethernet padding past the IPv4 total length. */
	if (len < KBP_OFF)
		return -KBP_WIRE_TRUNC_UDP;
	const uint8_t *udp = frame + UDP_OFF;
	uint32_t ip_len = be16_load(ip + 2);
	if (ip_len < KBP_WIRE_IP_SIZE + KBP_WIRE_UDP_SIZE || ip_len > len - IP_OFF)
		return -KBP_WIRE_IP_LEN;
	uint32_t udp_len = be16_load(udp + 4);
	if (udp_len != ip_len - KBP_WIRE_IP_SIZE)
		return -KBP_WIRE_UDP_LEN;
	uint16_t dport = be16_load(udp + 2);
	bool on_client_port;
	if (is_client) {
		if (dport != me->port)
			return -KBP_WIRE_DST_PORT;
		on_client_port = false;
	} else if (dport == me->port) {
		on_client_port = false;
	} else if (dport == ctx->node[ctx->self].client_port) {
		on_client_port = true;
	} else {
		return -KBP_WIRE_DST_PORT;
	}

	/* kbpaxos header: cheap field checks first, the CRC once lengths are known good. */
	uint32_t kbp_len = udp_len - KBP_WIRE_UDP_SIZE;
	int r = kbp_wire_hdr_decode(frame + KBP_OFF, kbp_len, ctx->cluster_id, ctx->payload_max, out);
	if (r < 0)
		return r;

	/* Who may send what, where. */
	uint32_t sport = be16_load(udp + 0);
	uint32_t sip = be32_load(ip + 12);
	const uint8_t *smac = frame + ETH_SRC;
	const struct kbp_wire_node *peer;
	if (is_client) {
		if (out->type != KBP_MSG_CLIENT_REP)
			return -KBP_WIRE_TYPE_PORT;
		if (out->from >= ctx->nodes)
			return -KBP_WIRE_NODE_ID;
		if (out->to != KBP_NODE_CLIENT)
			return -KBP_WIRE_TARGET;
		peer = &ctx->node[out->from];
		if (!mac_eq(smac, peer->addr.mac) || sip != peer->addr.ip || sport != peer->client_port)
			return -KBP_WIRE_PEER;
	} else if (on_client_port) {
		if (out->type != KBP_MSG_CLIENT_REQ)
			return -KBP_WIRE_TYPE_PORT;
		if (out->from != KBP_NODE_CLIENT)
			return -KBP_WIRE_NODE_ID;
		if (out->to != ctx->self && out->to != KBP_NODE_CLIENT)
			return -KBP_WIRE_TARGET;
	} else {
		if (out->type == KBP_MSG_CLIENT_REQ || out->type == KBP_MSG_CLIENT_REP)
			return -KBP_WIRE_TYPE_PORT;
		if (out->from >= ctx->nodes || out->to >= ctx->nodes)
			return -KBP_WIRE_NODE_ID;
		if (out->to != ctx->self)
			return -KBP_WIRE_TARGET;
		peer = &ctx->node[out->from];
		if (out->from == ctx->self || !mac_eq(smac, peer->addr.mac) || sip != peer->addr.ip ||
		    sport != peer->addr.port)
			return -KBP_WIRE_PEER;
	}

	r = check_payload(out, ctx);
	if (r < 0)
		return r;
	if (src) {
		memcpy(src->addr.mac, smac, 6);
		src->addr.ip = sip;
		src->addr.port = (uint16_t)sport;
		src->dst_port = dport;
	}
	return 0;
}
