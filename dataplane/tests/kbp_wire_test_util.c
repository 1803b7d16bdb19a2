/* SPDX-License-Identifier: MIT */
/* Sample cluster and messages (kbp_wire_test_util.h). */
#include <assert.h>
#include <string.h>

#include "kbp_wire_test_util.h"

static void node_addr(unsigned i, struct kbp_wire_addr *a)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0 };
	memcpy(a->mac, mac, 6);
	a->mac[5] = (uint8_t)(i + 1);
	a->ip = (10u << 24) | (77u << 16) | (i + 1);
	a->port = 7700;
}

static void client_addr(struct kbp_wire_addr *a)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0x01, 0x01 };
	memcpy(a->mac, mac, 6);
	a->ip = (10u << 24) | (77u << 16) | 100u;
	a->port = 7800;
}

void kbp_test_ctx(struct kbp_wire_ctx *ctx, unsigned self)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cluster_id = KBP_TEST_CLUSTER;
	ctx->self = (uint8_t)self;
	ctx->nodes = KBP_TEST_NODES;
	ctx->cmds_max = 64;
	ctx->payload_max = 8192 + KBP_PENTRY_HDR_SIZE;
	client_addr(&ctx->client);
	for (unsigned i = 0; i < KBP_TEST_NODES; i++) {
		node_addr(i, &ctx->node[i].addr);
		ctx->node[i].client_port = 7701;
	}
}

static uint32_t put_cmd(uint8_t *p, uint8_t op, uint64_t client, uint64_t seq, const char *key,
			const char *exp, const char *val)
{
	struct kbp_cmd c = {
		.client_id = client, .seq = seq, .op = op,
		.key_len = (uint8_t)strlen(key), .key = (const uint8_t *)key,
		.exp_len = (uint16_t)(exp ? strlen(exp) : 0), .exp = (const uint8_t *)exp,
		.val_len = (uint16_t)(val ? strlen(val) : 0), .val = (const uint8_t *)val,
	};
	int n = kbp_cmd_encode(&c, p, 512);
	assert(n > 0);
	return (uint32_t)n;
}

static uint32_t put_reply(uint8_t *p, uint64_t client, uint64_t seq, uint8_t status, const char *val)
{
	struct kbp_reply r = {
		.client_id = client, .seq = seq, .status = status, .leader = 0,
		.val_len = (uint16_t)(val ? strlen(val) : 0), .val = (const uint8_t *)val,
	};
	int n = kbp_reply_encode(&r, p, 512);
	assert(n > 0);
	return (uint32_t)n;
}

/* A two-command batch: put k1=hello, cas k2 old->new. */
static uint32_t put_batch(uint8_t *p)
{
	uint32_t n = put_cmd(p, KBP_OP_PUT, 42, 1, "k1", NULL, "hello");
	return n + put_cmd(p + n, KBP_OP_CAS, 42, 2, "k2", "old", "new");
}

/* Promise entry at p: slot, ballot, count, len, then the batch. */
static uint32_t put_pentry(uint8_t *p, uint64_t slot, uint64_t ballot)
{
	uint32_t blen = put_batch(p + KBP_PENTRY_HDR_SIZE);
	kbp_le64_store(p, slot);
	kbp_le64_store(p + 8, ballot);
	kbp_le32_store(p + 16, 2);
	kbp_le32_store(p + 20, blen);
	return KBP_PENTRY_HDR_SIZE + kbp_pad8(blen);
}

void kbp_test_msg(uint8_t type, struct kbp_test_msg *t)
{
	struct kbp_msg *m = &t->m;
	uint64_t b = kbp_ballot_make(5, 1);

	memset(t, 0, sizeof(*t));
	m->type = type;
	m->from = 1;
	m->to = 0;
	m->commit = 100;
	node_addr(1, &t->src);
	node_addr(0, &t->dst);
	m->payload = t->payload;
	switch (type) {
	case KBP_MSG_PREPARE:
		m->ballot = b;
		m->slot = 100;
		break;
	case KBP_MSG_PROMISE:
		m->ballot = b;
		m->slot = 100;
		m->aux = 110;
		m->flags = KBP_MF_LAST;
		m->count = 2;
		m->len = put_pentry(t->payload, 101, kbp_ballot_make(4, 2));
		m->len += put_pentry(t->payload + m->len, 103, KBP_BALLOT_CHOSEN);
		break;
	case KBP_MSG_NACK:
		m->ballot = b;
		m->slot = 101;
		m->aux = kbp_ballot_make(6, 2);
		break;
	case KBP_MSG_ACCEPT:
	case KBP_MSG_CATCHUP:
		m->ballot = b;
		m->slot = 101;
		m->count = 2;
		m->len = put_batch(t->payload);
		if (type == KBP_MSG_ACCEPT) {
			m->flags = KBP_MF_LEASE_REQ;
			m->lease_stamp = 123456789;
		}
		break;
	case KBP_MSG_ACCEPTED:
		m->ballot = b;
		m->slot = 101;
		m->flags = KBP_MF_LEASE_GRANT;
		m->lease_stamp = 123456789;
		break;
	case KBP_MSG_COMMIT:
		m->ballot = b;
		m->flags = KBP_MF_LEASE_REQ;
		m->lease_stamp = 123456790;
		break;
	case KBP_MSG_COMMIT_ACK:
		m->ballot = b;
		m->flags = KBP_MF_LEASE_GRANT;
		m->lease_stamp = 123456790;
		break;
	case KBP_MSG_CATCHUP_REQ:
		m->slot = 90;
		m->aux = 100;
		break;
	case KBP_MSG_SNAP_REQ:
		break;
	case KBP_MSG_SNAPSHOT:
		m->slot = 80;
		m->count = 1000;
		m->aux = 960;
		m->flags = KBP_MF_LAST;
		m->len = 40;
		for (uint32_t i = 0; i < m->len; i++)
			t->payload[i] = (uint8_t)i;
		break;
	case KBP_MSG_CLIENT_REQ:
		m->from = KBP_NODE_CLIENT;
		m->to = 0;
		m->commit = 0;
		client_addr(&t->src);
		t->src.port = 40000;
		t->dst.port = 7701;
		m->count = 2;
		m->len = put_cmd(t->payload, KBP_OP_PUT, 42, 7, "k1", NULL, "hello");
		m->len += put_cmd(t->payload + m->len, KBP_OP_GET, 42, 8, "k1", NULL, NULL);
		break;
	case KBP_MSG_CLIENT_REP:
		m->from = 0;
		m->to = KBP_NODE_CLIENT;
		m->commit = 0;
		node_addr(0, &t->src);
		t->src.port = 7701;
		client_addr(&t->dst);
		m->count = 2;
		m->len = put_reply(t->payload, 42, 7, KBP_ST_OK, NULL);
		m->len += put_reply(t->payload + m->len, 42, 8, KBP_ST_OK, "hello");
		break;
	default:
		assert(0);
	}
	if (m->len == 0)
		m->payload = NULL;
}

uint32_t kbp_test_frame(uint8_t type, uint8_t *buf, uint32_t cap, struct kbp_test_msg *t)
{
	kbp_test_msg(type, t);
	int n = kbp_wire_encode(buf, cap, &t->src, &t->dst, KBP_TEST_CLUSTER, &t->m);
	assert(n > 0);
	return (uint32_t)n;
}
