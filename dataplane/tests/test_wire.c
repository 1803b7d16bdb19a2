/* SPDX-License-Identifier: MIT */
/*
 * Wire format: every message type round-trips, and a corpus of bad packets is dropped,
 * each by the reason it deserves, and counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kbp_wire.h"
#include "kbp_wire_test_util.h"

#define FRAME_CAP 16384
#define IP_OFF 14
#define UDP_OFF 34
#define H 42     /* kbpaxos header offset */

static uint8_t frame[FRAME_CAP];

static uint8_t ctx_self(uint8_t type) { return type == KBP_MSG_CLIENT_REP ? KBP_NODE_CLIENT : 0; }

static int parse(uint32_t len, uint8_t self, struct kbp_msg *m, struct kbp_wire_src *src)
{
	struct kbp_wire_ctx ctx;
	kbp_test_ctx(&ctx, self);
	return kbp_wire_parse(frame, len, &ctx, m, src);
}

static void test_round_trip_every_type(void **state)
{
	(void)state;
	for (uint8_t type = KBP_MSG_PREPARE; type < KBP_MSG_TYPE_END; type++) {
		struct kbp_test_msg t;
		struct kbp_msg m;
		struct kbp_wire_src src;
		uint32_t len = kbp_test_frame(type, frame, sizeof(frame), &t);

		assert_int_equal(len, kbp_wire_frame_size(t.m.len));
		assert_int_equal(parse(len, ctx_self(type), &m, &src), 0);
		assert_int_equal(m.type, type);
		assert_int_equal(m.flags, t.m.flags);
		assert_int_equal(m.from, t.m.from);
		assert_int_equal(m.to, t.m.to);
		assert_int_equal(m.count, t.m.count);
		assert_int_equal(m.len, t.m.len);
		assert_true(m.ballot == t.m.ballot && m.slot == t.m.slot && m.commit == t.m.commit);
		assert_true(m.aux == t.m.aux && m.lease_stamp == t.m.lease_stamp);
		if (m.len)
			assert_memory_equal(m.payload, t.m.payload, m.len);
		assert_ptr_equal(m.payload, frame + KBP_WIRE_OVERHEAD);
		assert_memory_equal(src.addr.mac, t.src.mac, 6);
		assert_int_equal(src.addr.ip, t.src.ip);
		assert_int_equal(src.addr.port, t.src.port);
		assert_int_equal(src.dst_port, t.dst.port);
	}
}

/* The CRC is the standard CRC32C: check value of "123456789" is 0xE3069283. */
static void test_crc32c_standard(void **state)
{
	(void)state;
	assert_int_equal(kbp_wire_crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
}

static void test_drop_names(void **state)
{
	(void)state;
	for (int r = 0; r < KBP_WIRE_DROP_COUNT; r++) {
		assert_non_null(kbp_wire_drop_name(r));
		assert_non_null(kbp_wire_drop_text(r));
		assert_string_equal(kbp_wire_drop_name(r), kbp_wire_drop_name(-r));
		for (int q = 0; q < r; q++)
			assert_string_not_equal(kbp_wire_drop_name(r), kbp_wire_drop_name(q));
	}
	assert_string_equal(kbp_wire_drop_name(-KBP_WIRE_CRC), "crc");
	assert_string_equal(kbp_wire_drop_name(KBP_WIRE_DROP_COUNT), "?");
}

/* A valid frame cut at every length is dropped; the reason says which header it ends in. */
static void test_truncated_everywhere(void **state)
{
	(void)state;
	struct kbp_test_msg t;
	struct kbp_msg m;
	uint32_t len = kbp_test_frame(KBP_MSG_ACCEPT, frame, sizeof(frame), &t);

	for (uint32_t k = 0; k < len; k++) {
		int want = k < 14 ? -KBP_WIRE_TRUNC_ETH : k < 34 ? -KBP_WIRE_TRUNC_IP
			 : k < 42 ? -KBP_WIRE_TRUNC_UDP : -KBP_WIRE_IP_LEN;
		assert_int_equal(parse(k, 0, &m, NULL), want);
	}
	assert_int_equal(parse(len, 0, &m, NULL), 0);
}

/* Rewrite IPv4 and UDP lengths so that the datagram ends at frame byte `end`. */
static void set_l3_end(uint32_t end)
{
	uint16_t ip_len = (uint16_t)(end - IP_OFF), udp_len = (uint16_t)(end - UDP_OFF);
	frame[IP_OFF + 2] = (uint8_t)(ip_len >> 8);
	frame[IP_OFF + 3] = (uint8_t)ip_len;
	frame[UDP_OFF + 4] = (uint8_t)(udp_len >> 8);
	frame[UDP_OFF + 5] = (uint8_t)udp_len;
}

/* Truncated inside the kbpaxos header, with every outer length consistent. */
static void test_truncated_kbp_header(void **state)
{
	(void)state;
	struct kbp_test_msg t;
	struct kbp_msg m;

	for (uint32_t end = H; end < H + KBP_WIRE_HDR_SIZE; end++) {
		kbp_test_frame(KBP_MSG_PREPARE, frame, sizeof(frame), &t);
		set_l3_end(end);
		kbp_wire_reseal(frame, KBP_WIRE_OVERHEAD);
		assert_int_equal(parse(end, 0, &m, NULL), -KBP_WIRE_TRUNC_HDR);
	}
}

/* ---- frame-level corpus: edit bytes of a valid frame ------------------------------ */

struct frame_case {
	const char *name;
	uint8_t type;
	void (*edit)(uint32_t *len);
	bool reseal;          /* recompute CRC and IP checksum after the edit */
	int want;             /* 0 or -KBP_WIRE_* */
};

static void e_ethertype_v6(uint32_t *len) { (void)len; frame[12] = 0x86; frame[13] = 0xdd; }
static void e_vlan(uint32_t *len) { (void)len; frame[12] = 0x81; frame[13] = 0x00; }
static void e_arp(uint32_t *len) { (void)len; frame[12] = 0x08; frame[13] = 0x06; }
static void e_dst_mac(uint32_t *len) { (void)len; frame[5] = 0x09; }
static void e_broadcast(uint32_t *len) { (void)len; memset(frame, 0xff, 6); }
static void e_ip_v6(uint32_t *len) { (void)len; frame[IP_OFF] = 0x65; }
static void e_ihl4(uint32_t *len) { (void)len; frame[IP_OFF] = 0x44; }
static void e_ihl0(uint32_t *len) { (void)len; frame[IP_OFF] = 0x40; }
static void e_ihl6(uint32_t *len) { (void)len; frame[IP_OFF] = 0x46; }
static void e_mf(uint32_t *len) { (void)len; frame[IP_OFF + 6] = 0x20; }
static void e_frag_off(uint32_t *len) { (void)len; frame[IP_OFF + 7] = 0x01; }
static void e_frag_last(uint32_t *len) { (void)len; frame[IP_OFF + 6] = 0x40; frame[IP_OFF + 7] = 0xb9; }
static void e_tcp(uint32_t *len) { (void)len; frame[IP_OFF + 9] = 6; }
static void e_ip_csum(uint32_t *len) { (void)len; frame[IP_OFF + 10] ^= 0x01; }
static void e_ip_ttl_no_csum(uint32_t *len) { (void)len; frame[IP_OFF + 8] = 1; }
static void e_dst_ip(uint32_t *len) { (void)len; frame[IP_OFF + 19] = 9; }
static void e_ip_len_long(uint32_t *len) { set_l3_end(*len + 1); }
static void e_ip_len_short(uint32_t *len) { (void)len; frame[IP_OFF + 2] = 0; frame[IP_OFF + 3] = 27; }
static void e_ip_len_max(uint32_t *len) { (void)len; frame[IP_OFF + 2] = 0xff; frame[IP_OFF + 3] = 0xff; }
static void e_udp_len_small(uint32_t *len) { (void)len; frame[UDP_OFF + 5]--; }
static void e_udp_len_big(uint32_t *len) { (void)len; frame[UDP_OFF + 5]++; }
static void e_udp_len_zero(uint32_t *len) { (void)len; frame[UDP_OFF + 4] = 0; frame[UDP_OFF + 5] = 0; }
static void e_dst_port(uint32_t *len) { (void)len; frame[UDP_OFF + 2] = 0x27; frame[UDP_OFF + 3] = 0x0f; }
static void e_eth_padding(uint32_t *len) { memset(frame + *len, 0, 18); *len += 18; }
static void e_magic(uint32_t *len) { (void)len; frame[H] = 'X'; }
static void e_version(uint32_t *len) { (void)len; frame[H + 4] = 2; }
static void e_version0(uint32_t *len) { (void)len; frame[H + 4] = 0; }
static void e_reserved(uint32_t *len) { (void)len; frame[H + 7] = 1; }
static void e_flag_unknown(uint32_t *len) { (void)len; frame[H + 6] |= 0x80; }
static void e_cluster(uint32_t *len) { (void)len; frame[H + 10] = 8; }
static void e_type0(uint32_t *len) { (void)len; frame[H + 5] = 0; }
static void e_type14(uint32_t *len) { (void)len; frame[H + 5] = KBP_MSG_TYPE_END; }
static void e_type255(uint32_t *len) { (void)len; frame[H + 5] = 255; }
static void e_len_plus(uint32_t *len) { (void)len; frame[H + 16]++; }
static void e_len_minus(uint32_t *len) { (void)len; frame[H + 16]--; }
static void e_len_huge(uint32_t *len) { (void)len; memset(frame + H + 16, 0xff, 4); }
/* Grow the datagram past payload_max (8216) with lengths and CRC consistent. */
static void e_too_big(uint32_t *len)
{
	uint32_t plen = 8192 + KBP_PENTRY_HDR_SIZE + 8;
	memset(frame + KBP_WIRE_OVERHEAD, 0, plen);
	*len = KBP_WIRE_OVERHEAD + plen;
	set_l3_end(*len);
	kbp_le32_store(frame + H + 16, plen);
}
static void e_crc_payload(uint32_t *len) { (void)len; frame[KBP_WIRE_OVERHEAD + 3] ^= 0x10; }
static void e_crc_header(uint32_t *len) { (void)len; frame[H + 24] ^= 0x01; }
static void e_crc_field(uint32_t *len) { (void)len; frame[H + 20] ^= 0x80; }
static void e_to_client_port(uint32_t *len) { (void)len; frame[UDP_OFF + 3] = 0x15; /* 7701 */ }
static void e_to_peer_port(uint32_t *len) { (void)len; frame[UDP_OFF + 3] = 0x14; /* 7700 */ }
static void e_src_mac(uint32_t *len) { (void)len; frame[11] = 0x03; }
static void e_src_ip(uint32_t *len) { (void)len; frame[IP_OFF + 15] = 3; }
static void e_src_port(uint32_t *len) { (void)len; frame[UDP_OFF + 1] ^= 1; }

static const struct frame_case frame_cases[] = {
	{ "ethertype IPv6", KBP_MSG_PREPARE, e_ethertype_v6, true, -KBP_WIRE_ETHERTYPE },
	{ "VLAN tag", KBP_MSG_PREPARE, e_vlan, true, -KBP_WIRE_ETHERTYPE },
	{ "ARP", KBP_MSG_PREPARE, e_arp, true, -KBP_WIRE_ETHERTYPE },
	{ "other dst MAC", KBP_MSG_PREPARE, e_dst_mac, true, -KBP_WIRE_DST_MAC },
	{ "broadcast", KBP_MSG_PREPARE, e_broadcast, true, -KBP_WIRE_DST_MAC },
	{ "IP version 6", KBP_MSG_PREPARE, e_ip_v6, true, -KBP_WIRE_IP_VERSION },
	{ "ihl 4", KBP_MSG_PREPARE, e_ihl4, true, -KBP_WIRE_IP_IHL },
	{ "ihl 0", KBP_MSG_PREPARE, e_ihl0, true, -KBP_WIRE_IP_IHL },
	{ "IP options (ihl 6)", KBP_MSG_PREPARE, e_ihl6, true, -KBP_WIRE_IP_OPTIONS },
	{ "more fragments", KBP_MSG_ACCEPT, e_mf, true, -KBP_WIRE_IP_FRAGMENT },
	{ "fragment offset", KBP_MSG_ACCEPT, e_frag_off, true, -KBP_WIRE_IP_FRAGMENT },
	{ "last fragment with DF", KBP_MSG_ACCEPT, e_frag_last, true, -KBP_WIRE_IP_FRAGMENT },
	{ "TCP", KBP_MSG_PREPARE, e_tcp, true, -KBP_WIRE_IP_PROTO },
	{ "IP checksum", KBP_MSG_PREPARE, e_ip_csum, false, -KBP_WIRE_IP_CSUM },
	{ "IP field edited, checksum stale", KBP_MSG_PREPARE, e_ip_ttl_no_csum, false, -KBP_WIRE_IP_CSUM },
	{ "other dst IP", KBP_MSG_PREPARE, e_dst_ip, true, -KBP_WIRE_DST_IP },
	{ "IP length past frame", KBP_MSG_ACCEPT, e_ip_len_long, true, -KBP_WIRE_IP_LEN },
	{ "IP length below headers", KBP_MSG_ACCEPT, e_ip_len_short, true, -KBP_WIRE_IP_LEN },
	{ "IP length 65535", KBP_MSG_ACCEPT, e_ip_len_max, true, -KBP_WIRE_IP_LEN },
	{ "UDP length short of IP", KBP_MSG_ACCEPT, e_udp_len_small, true, -KBP_WIRE_UDP_LEN },
	{ "UDP length past IP", KBP_MSG_ACCEPT, e_udp_len_big, true, -KBP_WIRE_UDP_LEN },
	{ "UDP length 0", KBP_MSG_ACCEPT, e_udp_len_zero, true, -KBP_WIRE_UDP_LEN },
	{ "unknown dst port", KBP_MSG_PREPARE, e_dst_port, true, -KBP_WIRE_DST_PORT },
	{ "Ethernet padding is fine", KBP_MSG_PREPARE, e_eth_padding, true, 0 },
	{ "magic", KBP_MSG_PREPARE, e_magic, true, -KBP_WIRE_MAGIC_BAD },
	{ "version 2", KBP_MSG_PREPARE, e_version, true, -KBP_WIRE_VERSION_BAD },
	{ "version 0", KBP_MSG_PREPARE, e_version0, true, -KBP_WIRE_VERSION_BAD },
	{ "reserved byte", KBP_MSG_PREPARE, e_reserved, true, -KBP_WIRE_RESERVED },
	{ "unknown flag", KBP_MSG_ACCEPT, e_flag_unknown, true, -KBP_WIRE_RESERVED },
	{ "cluster id", KBP_MSG_PREPARE, e_cluster, true, -KBP_WIRE_CLUSTER },
	{ "type 0", KBP_MSG_PREPARE, e_type0, true, -KBP_WIRE_TYPE },
	{ "type past the last", KBP_MSG_PREPARE, e_type14, true, -KBP_WIRE_TYPE },
	{ "type 255", KBP_MSG_PREPARE, e_type255, true, -KBP_WIRE_TYPE },
	{ "len one past the datagram", KBP_MSG_ACCEPT, e_len_plus, true, -KBP_WIRE_LEN },
	{ "len one short of the datagram", KBP_MSG_ACCEPT, e_len_minus, true, -KBP_WIRE_LEN },
	{ "len 2^32-1", KBP_MSG_ACCEPT, e_len_huge, true, -KBP_WIRE_LEN },
	{ "payload above msg_bytes_max", KBP_MSG_SNAPSHOT, e_too_big, true, -KBP_WIRE_TOO_BIG },
	{ "payload bit flip", KBP_MSG_ACCEPT, e_crc_payload, false, -KBP_WIRE_CRC },
	{ "header bit flip", KBP_MSG_ACCEPT, e_crc_header, false, -KBP_WIRE_CRC },
	{ "crc bit flip", KBP_MSG_PREPARE, e_crc_field, false, -KBP_WIRE_CRC },
	{ "peer message on client port", KBP_MSG_ACCEPT, e_to_client_port, true, -KBP_WIRE_TYPE_PORT },
	{ "client request on peer port", KBP_MSG_CLIENT_REQ, e_to_peer_port, true, -KBP_WIRE_TYPE_PORT },
	{ "peer from wrong MAC", KBP_MSG_ACCEPT, e_src_mac, true, -KBP_WIRE_PEER },
	{ "peer from wrong IP", KBP_MSG_ACCEPT, e_src_ip, true, -KBP_WIRE_PEER },
	{ "peer from wrong port", KBP_MSG_ACCEPT, e_src_port, true, -KBP_WIRE_PEER },
	{ "client from any address", KBP_MSG_CLIENT_REQ, e_src_ip, true, 0 },
};

static void test_frame_corpus(void **state)
{
	(void)state;
	struct kbp_wire_ctx ctx;
	struct kbp_wire_counters cnt;
	uint64_t expect[KBP_WIRE_DROP_COUNT] = { 0 };

	memset(&cnt, 0, sizeof(cnt));
	kbp_test_ctx(&ctx, 0);
	for (size_t i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		const struct frame_case *c = &frame_cases[i];
		struct kbp_test_msg t;
		struct kbp_msg m;
		uint32_t len = kbp_test_frame(c->type, frame, sizeof(frame), &t);

		c->edit(&len);
		if (c->reseal)
			kbp_wire_reseal(frame, len);
		int r = kbp_wire_parse_count(frame, len, &ctx, &m, NULL, &cnt);
		if (r != c->want)
			fail_msg("case '%s': got %s, want %s", c->name, kbp_wire_drop_name(r),
				 kbp_wire_drop_name(c->want));
		expect[-c->want]++;
	}
	assert_memory_equal(cnt.n, expect, sizeof(expect));
}

/* ---- message-level corpus: encode a sample after editing the message --------------- */

struct msg_case {
	const char *name;
	uint8_t type;
	void (*edit)(struct kbp_test_msg *t);
	uint8_t self;         /* the receiver: 0, or KBP_NODE_CLIENT */
	int want;
};

static uint8_t big[FRAME_CAP];

static void m_none(struct kbp_test_msg *t) { (void)t; }
static void m_count0(struct kbp_test_msg *t) { t->m.count = 0; }
static void m_count1(struct kbp_test_msg *t) { t->m.count = 1; }
static void m_count3(struct kbp_test_msg *t) { t->m.count = 3; }
/* One PUT with a 100-byte value (128 bytes) claiming to be two commands. */
static void m_count2_one_cmd(struct kbp_test_msg *t)
{
	static const uint8_t val[100];
	struct kbp_cmd c = { .client_id = 1, .seq = 1, .op = KBP_OP_PUT, .key_len = 1,
			     .key = (const uint8_t *)"k", .val_len = sizeof(val), .val = val };
	t->m.len = (uint32_t)kbp_cmd_encode(&c, t->payload, sizeof(t->payload));
	t->m.count = 2;
}
static void m_count_huge(struct kbp_test_msg *t) { t->m.count = UINT32_MAX; }
static void m_len8(struct kbp_test_msg *t) { memset(t->payload, 0, 8); t->m.len = 8; t->m.payload = t->payload; }
/* n no-op commands (24 bytes each) as the payload. */
static void noops(struct kbp_test_msg *t, uint32_t n)
{
	memset(big, 0, (size_t)n * KBP_CMD_HDR_SIZE);
	for (uint32_t i = 0; i < n; i++)
		kbp_le64_store(big + i * KBP_CMD_HDR_SIZE, i + 1);
	t->m.count = n;
	t->m.len = n * KBP_CMD_HDR_SIZE;
	t->m.payload = big;
}
static void m_cmds_max(struct kbp_test_msg *t) { noops(t, 64); }
static void m_cmds_max1(struct kbp_test_msg *t) { noops(t, 65); }
static void m_key_past_end(struct kbp_test_msg *t) { t->payload[17] = 64; /* first key_len */ }
static void m_cmd_reserved(struct kbp_test_msg *t) { t->payload[22] = 1; }
static void m_cmd_bad_op(struct kbp_test_msg *t) { t->payload[16] = 9; }
static void m_trailing(struct kbp_test_msg *t) { memset(t->payload + t->m.len, 0, 8); t->m.len += 8; }
static void m_short_batch(struct kbp_test_msg *t) { t->m.len -= 8; }
static void m_client_noop(struct kbp_test_msg *t) { noops(t, 1); }
static void m_val_past_end(struct kbp_test_msg *t) { kbp_le16_store(t->payload + 18, 1000); }
static void m_reply_status(struct kbp_test_msg *t) { t->payload[16] = KBP_ST_COUNT; }
static void m_pentry_slot_low(struct kbp_test_msg *t) { kbp_le64_store(t->payload, 99); }
static void m_pentry_slot_high(struct kbp_test_msg *t) { t->m.aux = 102; }
static void m_pentry_len_past(struct kbp_test_msg *t) { kbp_le32_store(t->payload + 20, 4096); }
static void m_pentry_len_huge(struct kbp_test_msg *t) { kbp_le32_store(t->payload + 20, UINT32_MAX); }
static void m_pentry_count0(struct kbp_test_msg *t) { kbp_le32_store(t->payload + 16, 0); }
static void m_pentry_count_huge(struct kbp_test_msg *t) { kbp_le32_store(t->payload + 16, UINT32_MAX); }
static void m_promise_empty(struct kbp_test_msg *t) { t->m.count = 0; t->m.len = 0; }
static void m_snap_past(struct kbp_test_msg *t) { t->m.aux = 961; }
static void m_snap_off_past(struct kbp_test_msg *t) { t->m.aux = 2000; }
static void m_from_out(struct kbp_test_msg *t) { t->m.from = KBP_TEST_NODES; }
static void m_from_200(struct kbp_test_msg *t) { t->m.from = 200; }
static void m_to_out(struct kbp_test_msg *t) { t->m.to = KBP_NODES_MAX; }
static void m_to_other(struct kbp_test_msg *t) { t->m.to = 2; }
static void m_from_self(struct kbp_test_msg *t) { t->m.from = 0; }
static void m_from_other_peer(struct kbp_test_msg *t) { t->m.from = 2; }
static void m_client_from_node(struct kbp_test_msg *t) { t->m.from = 1; }
static void m_client_to_other(struct kbp_test_msg *t) { t->m.to = 2; }
static void m_client_to_any(struct kbp_test_msg *t) { t->m.to = KBP_NODE_CLIENT; }
static void m_rep_to_node(struct kbp_test_msg *t) { t->m.to = 1; }
static void m_rep_src_port(struct kbp_test_msg *t) { t->src.port = 7700; }
static void m_rep_from_other(struct kbp_test_msg *t) { t->m.from = 1; }
static void m_rep_dst_port(struct kbp_test_msg *t) { t->dst.port = 7801; }
static void m_rep_to_node_port(struct kbp_test_msg *t)
{
	/* A CLIENT_REP sent at node 0's client port. */
	struct kbp_wire_ctx ctx;
	kbp_test_ctx(&ctx, 0);
	t->dst = ctx.node[0].addr;
	t->dst.port = ctx.node[0].client_port;
}
static void m_prepare_to_client(struct kbp_test_msg *t)
{
	struct kbp_wire_ctx ctx;
	kbp_test_ctx(&ctx, 0);
	t->dst = ctx.client;
}

static const struct msg_case msg_cases[] = {
	{ "ACCEPT with 0 commands", KBP_MSG_ACCEPT, m_count0, 0, -KBP_WIRE_COUNT },
	{ "CATCHUP with 0 commands", KBP_MSG_CATCHUP, m_count0, 0, -KBP_WIRE_COUNT },
	{ "CLIENT_REQ with 0 commands", KBP_MSG_CLIENT_REQ, m_count0, 0, -KBP_WIRE_COUNT },
	{ "CLIENT_REP with 0 replies", KBP_MSG_CLIENT_REP, m_count0, KBP_NODE_CLIENT, -KBP_WIRE_COUNT },
	{ "PREPARE with a count", KBP_MSG_PREPARE, m_count1, 0, -KBP_WIRE_COUNT },
	{ "COMMIT with a payload", KBP_MSG_COMMIT, m_len8, 0, -KBP_WIRE_PAYLOAD },
	{ "ACCEPT with cmds_max commands", KBP_MSG_ACCEPT, m_cmds_max, 0, 0 },
	{ "ACCEPT with cmds_max + 1", KBP_MSG_ACCEPT, m_cmds_max1, 0, -KBP_WIRE_COUNT_MAX },
	{ "ACCEPT with count 2^32-1", KBP_MSG_ACCEPT, m_count_huge, 0, -KBP_WIRE_COUNT_MAX },
	{ "CLIENT_REQ with count 2^32-1", KBP_MSG_CLIENT_REQ, m_count_huge, 0, -KBP_WIRE_COUNT_MAX },
	{ "CLIENT_REP with count 2^32-1", KBP_MSG_CLIENT_REP, m_count_huge, KBP_NODE_CLIENT, -KBP_WIRE_COUNT_MAX },
	{ "PROMISE with count 2^32-1", KBP_MSG_PROMISE, m_count_huge, 0, -KBP_WIRE_COUNT_MAX },
	{ "ACCEPT count beyond its bytes", KBP_MSG_ACCEPT, m_count3, 0, -KBP_WIRE_COUNT_MAX },
	{ "ACCEPT count above its commands", KBP_MSG_ACCEPT, m_count2_one_cmd, 0, -KBP_WIRE_PAYLOAD },
	{ "PROMISE count above its entries", KBP_MSG_PROMISE, m_count3, 0, -KBP_WIRE_PAYLOAD },
	{ "ACCEPT key length past the end", KBP_MSG_ACCEPT, m_key_past_end, 0, -KBP_WIRE_PAYLOAD },
	{ "ACCEPT value length past the end", KBP_MSG_ACCEPT, m_val_past_end, 0, -KBP_WIRE_PAYLOAD },
	{ "ACCEPT command reserved bits", KBP_MSG_ACCEPT, m_cmd_reserved, 0, -KBP_WIRE_PAYLOAD },
	{ "ACCEPT unknown op", KBP_MSG_ACCEPT, m_cmd_bad_op, 0, -KBP_WIRE_PAYLOAD },
	{ "ACCEPT trailing bytes", KBP_MSG_ACCEPT, m_trailing, 0, -KBP_WIRE_PAYLOAD },
	{ "CATCHUP batch cut short", KBP_MSG_CATCHUP, m_short_batch, 0, -KBP_WIRE_PAYLOAD },
	{ "CLIENT_REQ trailing bytes", KBP_MSG_CLIENT_REQ, m_trailing, 0, -KBP_WIRE_PAYLOAD },
	{ "CLIENT_REQ no-op from a client", KBP_MSG_CLIENT_REQ, m_client_noop, 0, -KBP_WIRE_PAYLOAD },
	{ "CLIENT_REP value past the end", KBP_MSG_CLIENT_REP, m_val_past_end, KBP_NODE_CLIENT, -KBP_WIRE_PAYLOAD },
	{ "CLIENT_REP unknown status", KBP_MSG_CLIENT_REP, m_reply_status, KBP_NODE_CLIENT, -KBP_WIRE_PAYLOAD },
	{ "CLIENT_REP trailing bytes", KBP_MSG_CLIENT_REP, m_trailing, KBP_NODE_CLIENT, -KBP_WIRE_PAYLOAD },
	{ "PROMISE entry below the chunk", KBP_MSG_PROMISE, m_pentry_slot_low, 0, -KBP_WIRE_PAYLOAD },
	{ "PROMISE entry past the chunk", KBP_MSG_PROMISE, m_pentry_slot_high, 0, -KBP_WIRE_PAYLOAD },
	{ "PROMISE entry length past the end", KBP_MSG_PROMISE, m_pentry_len_past, 0, -KBP_WIRE_PAYLOAD },
	{ "PROMISE entry length 2^32-1", KBP_MSG_PROMISE, m_pentry_len_huge, 0, -KBP_WIRE_PAYLOAD },
	{ "PROMISE entry without commands", KBP_MSG_PROMISE, m_pentry_count0, 0, -KBP_WIRE_PAYLOAD },
	{ "PROMISE entry count 2^32-1", KBP_MSG_PROMISE, m_pentry_count_huge, 0, -KBP_WIRE_PAYLOAD },
	{ "PROMISE trailing bytes", KBP_MSG_PROMISE, m_trailing, 0, -KBP_WIRE_PAYLOAD },
	{ "PROMISE with no entries is fine", KBP_MSG_PROMISE, m_promise_empty, 0, 0 },
	{ "SNAPSHOT chunk past the total", KBP_MSG_SNAPSHOT, m_snap_past, 0, -KBP_WIRE_PAYLOAD },
	{ "SNAPSHOT offset past the total", KBP_MSG_SNAPSHOT, m_snap_off_past, 0, -KBP_WIRE_PAYLOAD },
	{ "from = nodes", KBP_MSG_ACCEPT, m_from_out, 0, -KBP_WIRE_NODE_ID },
	{ "from = 200", KBP_MSG_PREPARE, m_from_200, 0, -KBP_WIRE_NODE_ID },
	{ "to = KBP_NODES_MAX", KBP_MSG_PREPARE, m_to_out, 0, -KBP_WIRE_NODE_ID },
	{ "to another node", KBP_MSG_ACCEPTED, m_to_other, 0, -KBP_WIRE_TARGET },
	{ "from ourselves", KBP_MSG_PREPARE, m_from_self, 0, -KBP_WIRE_PEER },
	{ "node 2's id from node 1's address", KBP_MSG_ACCEPT, m_from_other_peer, 0, -KBP_WIRE_PEER },
	{ "client claims a node id", KBP_MSG_CLIENT_REQ, m_client_from_node, 0, -KBP_WIRE_NODE_ID },
	{ "client request for another node", KBP_MSG_CLIENT_REQ, m_client_to_other, 0, -KBP_WIRE_TARGET },
	{ "client request for any node", KBP_MSG_CLIENT_REQ, m_client_to_any, 0, 0 },
	{ "CLIENT_REP at a node's client port", KBP_MSG_CLIENT_REP, m_rep_to_node_port, 0, -KBP_WIRE_TYPE_PORT },
	{ "client gets a reply for a node", KBP_MSG_CLIENT_REP, m_rep_to_node, KBP_NODE_CLIENT, -KBP_WIRE_TARGET },
	{ "reply from a node's peer port", KBP_MSG_CLIENT_REP, m_rep_src_port, KBP_NODE_CLIENT, -KBP_WIRE_PEER },
	{ "reply claims another node", KBP_MSG_CLIENT_REP, m_rep_from_other, KBP_NODE_CLIENT, -KBP_WIRE_PEER },
	{ "reply to another client port", KBP_MSG_CLIENT_REP, m_rep_dst_port, KBP_NODE_CLIENT, -KBP_WIRE_DST_PORT },
	{ "client gets a PREPARE", KBP_MSG_PREPARE, m_prepare_to_client, KBP_NODE_CLIENT, -KBP_WIRE_TYPE_PORT },
	{ "plain ACCEPT", KBP_MSG_ACCEPT, m_none, 0, 0 },
};

static void test_msg_corpus(void **state)
{
	(void)state;
	struct kbp_wire_counters cnt;
	uint64_t expect[KBP_WIRE_DROP_COUNT] = { 0 };

	memset(&cnt, 0, sizeof(cnt));
	for (size_t i = 0; i < sizeof(msg_cases) / sizeof(msg_cases[0]); i++) {
		const struct msg_case *c = &msg_cases[i];
		struct kbp_test_msg t;
		struct kbp_wire_ctx ctx;
		struct kbp_msg m;

		kbp_test_msg(c->type, &t);
		c->edit(&t);
		int n = kbp_wire_encode(frame, sizeof(frame), &t.src, &t.dst, KBP_TEST_CLUSTER, &t.m);
		assert_true(n > 0);
		kbp_test_ctx(&ctx, c->self);
		int r = kbp_wire_parse_count(frame, (uint32_t)n, &ctx, &m, NULL, &cnt);
		if (r != c->want)
			fail_msg("case '%s': got %s, want %s", c->name, kbp_wire_drop_name(r),
				 kbp_wire_drop_name(c->want));
		expect[-c->want]++;
	}
	assert_memory_equal(cnt.n, expect, sizeof(expect));
}

/* A count whose size product wraps 32 bits is caught even when cmds_max allows it. */
static void test_count_overflow_unbounded_ctx(void **state)
{
	(void)state;
	struct kbp_test_msg t;
	struct kbp_wire_ctx ctx;
	struct kbp_msg m;
	/* 0xAAAAAAAB * 24 = 2^32 * 16 + 8: a 32-bit product would read as 8 bytes. */
	const uint32_t counts[] = { UINT32_MAX, 0xAAAAAAABu, 0x0AAAAAABu };

	for (size_t i = 0; i < 3; i++) {
		kbp_test_msg(KBP_MSG_ACCEPT, &t);
		t.m.count = counts[i];
		int n = kbp_wire_encode(frame, sizeof(frame), &t.src, &t.dst, KBP_TEST_CLUSTER, &t.m);
		kbp_test_ctx(&ctx, 0);
		ctx.cmds_max = UINT32_MAX;
		assert_int_equal(kbp_wire_parse(frame, (uint32_t)n, &ctx, &m, NULL), -KBP_WIRE_COUNT_MAX);
	}
}

static void test_encode_errors(void **state)
{
	(void)state;
	struct kbp_test_msg t;
	kbp_test_msg(KBP_MSG_ACCEPT, &t);

	uint32_t need = kbp_wire_frame_size(t.m.len);
	assert_int_equal(kbp_wire_encode(frame, need - 1, &t.src, &t.dst, 1, &t.m), -KBP_ETOOBIG);
	assert_int_equal(kbp_wire_encode(frame, need, &t.src, &t.dst, 1, &t.m), (int)need);
	t.m.type = 0;
	assert_int_equal(kbp_wire_encode(frame, sizeof(frame), &t.src, &t.dst, 1, &t.m), -KBP_EINVAL);
	t.m.type = KBP_MSG_ACCEPT;
	t.m.flags = 0x40;
	assert_int_equal(kbp_wire_encode(frame, sizeof(frame), &t.src, &t.dst, 1, &t.m), -KBP_EINVAL);
	t.m.flags = 0;
	t.m.len = KBP_WIRE_PAYLOAD_LIMIT + 1;
	assert_int_equal(kbp_wire_encode(frame, UINT32_MAX, &t.src, &t.dst, 1, &t.m), -KBP_ETOOBIG);
}

/* Random single-bit flips never crash and never pass unnoticed. */
static void test_random_edits(void **state)
{
	(void)state;
	uint64_t x = 88172645463325252ull;
	struct kbp_wire_ctx ctx;
	struct kbp_msg m;

	kbp_test_ctx(&ctx, 0);
	for (int i = 0; i < 20000; i++) {
		struct kbp_test_msg t;
		uint8_t type = (uint8_t)(KBP_MSG_PREPARE + i % (KBP_MSG_TYPE_END - 1));
		if (type == KBP_MSG_CLIENT_REP)
			continue;
		uint32_t len = kbp_test_frame(type, frame, sizeof(frame), &t);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint32_t pos = (uint32_t)(x % len);
		uint8_t flip = (uint8_t)(1u << ((x >> 32) % 8));
		/* Ignored on purpose: the UDP checksum, and a client's own addresses. */
		if (pos == 40 || pos == 41)
			continue;
		if (type == KBP_MSG_CLIENT_REQ && ((pos >= 6 && pos < 12) || (pos >= 26 && pos < 30) ||
						   pos == 34 || pos == 35))
			continue;
		frame[pos] ^= flip;
		int r = kbp_wire_parse(frame, len, &ctx, &m, NULL);
		/* Every single-bit flip is caught: by a field check, a checksum or the CRC. */
		if (r == 0)
			fail_msg("bit %u of byte %u in a type %u frame went unnoticed", flip, pos, type);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_crc32c_standard),
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_truncated_kbp_header),
		cmocka_unit_test(test_frame_corpus),
		cmocka_unit_test(test_msg_corpus),
		cmocka_unit_test(test_count_overflow_unbounded_ctx),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_random_edits),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
