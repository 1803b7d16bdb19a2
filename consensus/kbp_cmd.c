/* SPDX-License-Identifier: MIT */
/* Encoding and validation of client commands and replies (layout in kbp_cmd.h). */
#include <string.h>

#include "kbp_cmd.h"

const char *kbp_strerror(int err)
{
	static const char *const names[] = {
#define KBP_X_STR(name, str) [name] = str,
		KBP_ERRORS(KBP_X_STR)
#undef KBP_X_STR
	};
	if (err < 0)
		err = -err;
	if (err >= KBP_ERR_COUNT)
		return "unknown error";
	return names[err];
}

const char *kbp_op_name(unsigned op)
{
	static const char *const names[] = { "noop", "put", "get", "cas", "register" };
	_Static_assert(sizeof(names) / sizeof(names[0]) == KBP_OP_COUNT, "one name per op");
	return op < KBP_OP_COUNT ? names[op] : "?";
}

const char *kbp_status_name(unsigned st)
{
	static const char *const names[] = { "OK", "NOT_FOUND", "CAS_FAILED", "NOT_LEADER",
					     "BUSY", "FULL", "INVALID", "STALE",
					     "SESSION_EXPIRED", "TOO_BIG" };
	_Static_assert(sizeof(names) / sizeof(names[0]) == KBP_ST_COUNT, "one name per status");
	return st < KBP_ST_COUNT ? names[st] : "?";
}

int kbp_cmd_encode(const struct kbp_cmd *c, uint8_t *buf, uint32_t cap)
{
	uint32_t body = (uint32_t)c->key_len + c->exp_len + c->val_len;
	uint32_t size = kbp_cmd_size(c);

	if (c->key_len > KBP_KEY_MAX || c->val_len > KBP_VAL_MAX || c->exp_len > KBP_VAL_MAX)
		return -KBP_ETOOBIG;
	if (size > cap)
		return -KBP_ETOOBIG;
	kbp_le64_store(buf, c->client_id);
	kbp_le64_store(buf + 8, c->seq);
	buf[16] = c->op;
	buf[17] = c->key_len;
	kbp_le16_store(buf + 18, c->val_len);
	kbp_le16_store(buf + 20, c->exp_len);
	kbp_le16_store(buf + 22, 0);
	uint8_t *p = buf + KBP_CMD_HDR_SIZE;
	if (c->key_len)
		memcpy(p, c->key, c->key_len);
	p += c->key_len;
	if (c->exp_len)
		memcpy(p, c->exp, c->exp_len);
	p += c->exp_len;
	if (c->val_len)
		memcpy(p, c->val, c->val_len);
	memset(buf + KBP_CMD_HDR_SIZE + body, 0, kbp_pad8(body) - body);
	return (int)size;
}

int kbp_cmd_decode(struct kbp_cmd *c, const uint8_t *buf, uint32_t len)
{
	if (len < KBP_CMD_HDR_SIZE)
		return -KBP_EMALFORMED;
	c->client_id = kbp_le64_load(buf);
	c->seq = kbp_le64_load(buf + 8);
	c->op = buf[16];
	c->key_len = buf[17];
	c->val_len = kbp_le16_load(buf + 18);
	c->exp_len = kbp_le16_load(buf + 20);
	if (kbp_le16_load(buf + 22) != 0 || c->op >= KBP_OP_COUNT)
		return -KBP_EMALFORMED;
	if (c->key_len > KBP_KEY_MAX || c->val_len > KBP_VAL_MAX || c->exp_len > KBP_VAL_MAX)
		return -KBP_EMALFORMED;
	/* Per-op shape: NOOP and REGISTER carry nothing, GET only a key, PUT no expected value. */
	switch (c->op) {
	case KBP_OP_NOOP:
	case KBP_OP_REGISTER:
		if (c->key_len || c->val_len || c->exp_len)
			return -KBP_EMALFORMED;
		break;
	case KBP_OP_GET:
		if (c->key_len == 0 || c->val_len || c->exp_len)
			return -KBP_EMALFORMED;
		break;
	case KBP_OP_PUT:
		if (c->key_len == 0 || c->exp_len)
			return -KBP_EMALFORMED;
		break;
	default:
		if (c->key_len == 0)
			return -KBP_EMALFORMED;
		break;
	}
	uint32_t size = kbp_cmd_size(c);
	if (size > len)
		return -KBP_EMALFORMED;
	c->key = buf + KBP_CMD_HDR_SIZE;
	c->exp = c->key + c->key_len;
	c->val = c->exp + c->exp_len;
	return (int)size;
}

int kbp_batch_validate(const uint8_t *buf, uint32_t len, uint32_t count)
{
	uint32_t off = 0;
	struct kbp_cmd c;

	for (uint32_t i = 0; i < count; i++) {
		int r = kbp_cmd_decode(&c, buf + off, len - off);
		if (r < 0)
			return r;
		off += (uint32_t)r;
	}
	return off == len ? 0 : -KBP_EMALFORMED;
}

int kbp_reply_encode(const struct kbp_reply *r, uint8_t *buf, uint32_t cap)
{
	uint32_t size = kbp_reply_size(r);

	if (r->val_len > KBP_VAL_MAX || size > cap)
		return -KBP_ETOOBIG;
	kbp_le64_store(buf, r->client_id);
	kbp_le64_store(buf + 8, r->seq);
	buf[16] = r->status;
	buf[17] = r->leader;
	kbp_le16_store(buf + 18, r->val_len);
	kbp_le32_store(buf + 20, 0);
	if (r->val_len)
		memcpy(buf + KBP_REPLY_HDR_SIZE, r->val, r->val_len);
	memset(buf + KBP_REPLY_HDR_SIZE + r->val_len, 0, kbp_pad8(r->val_len) - r->val_len);
	return (int)size;
}

int kbp_reply_decode(struct kbp_reply *r, const uint8_t *buf, uint32_t len)
{
	if (len < KBP_REPLY_HDR_SIZE)
		return -KBP_EMALFORMED;
	r->client_id = kbp_le64_load(buf);
	r->seq = kbp_le64_load(buf + 8);
	r->status = buf[16];
	r->leader = buf[17];
	r->val_len = kbp_le16_load(buf + 18);
	if (r->status >= KBP_ST_COUNT || r->val_len > KBP_VAL_MAX || kbp_le32_load(buf + 20) != 0)
		return -KBP_EMALFORMED;
	if (kbp_reply_size(r) > len)
		return -KBP_EMALFORMED;
	r->val = buf + KBP_REPLY_HDR_SIZE;
	return (int)kbp_reply_size(r);
}
