/* SPDX-License-Identifier: MIT */
/* Command and reply encoding: round trips, and every malformed shape is rejected. */
#include <string.h>

#include "harness.h"

static void assert_cmd_equal(const struct kbp_cmd *a, const struct kbp_cmd *b)
{
	assert_int_equal(a->client_id, b->client_id);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->key_len, b->key_len);
	assert_int_equal(a->val_len, b->val_len);
	assert_int_equal(a->exp_len, b->exp_len);
	if (a->key_len)
		assert_memory_equal(a->key, b->key, a->key_len);
	if (a->exp_len)
		assert_memory_equal(a->exp, b->exp, a->exp_len);
	if (a->val_len)
		assert_memory_equal(a->val, b->val, a->val_len);
}

static void roundtrip(const struct kbp_cmd *c)
{
	uint8_t buf[4096];
	memset(buf, 0xaa, sizeof(buf));
	int w = kbp_cmd_encode(c, buf, sizeof(buf));
	assert_int_equal(w, (int)kbp_cmd_size(c));
	assert_int_equal(w % 8, 0);
	/* The padding is zero so the same bytes can go to disk and the wire unchanged. */
	for (int i = (int)KBP_CMD_HDR_SIZE + c->key_len + c->exp_len + c->val_len; i < w; i++)
		assert_int_equal(buf[i], 0);
	struct kbp_cmd d;
	assert_int_equal(kbp_cmd_decode(&d, buf, (uint32_t)w), w);
	assert_cmd_equal(c, &d);
	/* Decoding with extra bytes after it reads only its own size. */
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), w);
}

static void test_cmd_roundtrip_each_op(void **state)
{
	(void)state;
	struct kbp_cmd put = h_put(7, 1, "apple", "red");
	struct kbp_cmd get = h_get(7, 2, "apple");
	struct kbp_cmd cas = h_cas(UINT64_MAX, UINT64_MAX - 1, "k", "old-value", "new");
	struct kbp_cmd noop = h_noop();
	roundtrip(&put);
	roundtrip(&get);
	roundtrip(&cas);
	roundtrip(&noop);
	assert_int_equal(kbp_cmd_size(&noop), KBP_CMD_HDR_SIZE);
	assert_int_equal(kbp_cmd_size(&put), KBP_CMD_HDR_SIZE + 8);
}

static void test_cmd_roundtrip_largest(void **state)
{
	(void)state;
	static uint8_t key[KBP_KEY_MAX], exp[KBP_VAL_MAX], val[KBP_VAL_MAX];
	memset(key, 'k', sizeof(key));
	memset(exp, 'e', sizeof(exp));
	memset(val, 'v', sizeof(val));
	struct kbp_cmd c = {
		.client_id = 3, .seq = 9, .op = KBP_OP_CAS, .key_len = KBP_KEY_MAX,
		.exp_len = KBP_VAL_MAX, .val_len = KBP_VAL_MAX, .key = key, .exp = exp, .val = val,
	};
	roundtrip(&c);
	assert_int_equal(kbp_cmd_size(&c), KBP_CMD_HDR_SIZE + KBP_KEY_MAX + 2 * KBP_VAL_MAX);
}

static void test_cmd_encode_too_big(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct kbp_cmd c = h_put(1, 1, "apple", "a value that does not fit in 64 bytes, not at all");
	assert_int_equal(kbp_cmd_encode(&c, buf, sizeof(buf)), -KBP_ETOOBIG);
	c = h_put(1, 1, "k", "v");
	assert_int_equal(kbp_cmd_encode(&c, buf, KBP_CMD_HDR_SIZE + 7), -KBP_ETOOBIG);
	assert_int_equal(kbp_cmd_encode(&c, buf, KBP_CMD_HDR_SIZE + 8), KBP_CMD_HDR_SIZE + 8);
	static uint8_t big[KBP_VAL_MAX + 1];
	static uint8_t out[4096];
	c.val = big;
	c.val_len = KBP_VAL_MAX + 1;
	assert_int_equal(kbp_cmd_encode(&c, out, sizeof(out)), -KBP_ETOOBIG);
	c = h_put(1, 1, "k", "v");
	c.key = big;
	c.key_len = KBP_KEY_MAX + 1;
	assert_int_equal(kbp_cmd_encode(&c, out, sizeof(out)), -KBP_ETOOBIG);
}

/* Encode a valid PUT, then let `mutate` break one field; decode must refuse it. */
static uint32_t encode_put(uint8_t *buf)
{
	struct kbp_cmd c = h_put(5, 6, "key", "value");
	int w = kbp_cmd_encode(&c, buf, 256);
	assert_true(w > 0);
	return (uint32_t)w;
}

static void test_cmd_decode_rejects_lengths(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct kbp_cmd d;
	uint32_t len = encode_put(buf);

	/* Every truncation: shorter than the header, or shorter than the body it announces. */
	for (uint32_t l = 0; l < len; l++)
		assert_int_equal(kbp_cmd_decode(&d, buf, l), -KBP_EMALFORMED);
	assert_int_equal(kbp_cmd_decode(&d, buf, len), (int)len);

	len = encode_put(buf);
	buf[17] = KBP_KEY_MAX + 1;                 /* key_len over the limit */
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);

	encode_put(buf);
	kbp_le16_store(buf + 18, KBP_VAL_MAX + 1); /* val_len over the limit */
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);

	encode_put(buf);
	kbp_le16_store(buf + 18, 200);             /* body longer than the bytes present */
	assert_int_equal(kbp_cmd_decode(&d, buf, len), -KBP_EMALFORMED);

	encode_put(buf);
	kbp_le16_store(buf + 22, 1);               /* reserved must be zero */
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);

	encode_put(buf);
	buf[16] = KBP_OP_COUNT;                    /* unknown op */
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);
	buf[16] = 0xff;
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);
}

static void test_cmd_decode_rejects_op_shapes(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct kbp_cmd d;

	/* NOOP carries nothing. */
	struct kbp_cmd c = h_noop();
	c.key = (const uint8_t *)"k";
	c.key_len = 1;
	assert_true(kbp_cmd_encode(&c, buf, sizeof(buf)) > 0);
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);

	/* GET has a key and nothing else. */
	c = h_get(1, 1, "k");
	c.val = (const uint8_t *)"v";
	c.val_len = 1;
	assert_true(kbp_cmd_encode(&c, buf, sizeof(buf)) > 0);
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);
	c = h_get(1, 1, "k");
	c.exp = (const uint8_t *)"e";
	c.exp_len = 1;
	assert_true(kbp_cmd_encode(&c, buf, sizeof(buf)) > 0);
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);
	c = h_get(1, 1, "");
	assert_true(kbp_cmd_encode(&c, buf, sizeof(buf)) > 0);
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);

	/* PUT needs a key and has no expected value. */
	c = h_put(1, 1, "", "v");
	assert_true(kbp_cmd_encode(&c, buf, sizeof(buf)) > 0);
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);
	c = h_put(1, 1, "k", "v");
	c.exp = (const uint8_t *)"e";
	c.exp_len = 1;
	assert_true(kbp_cmd_encode(&c, buf, sizeof(buf)) > 0);
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);

	/* CAS needs a key; an empty expected or new value is fine. */
	c = h_cas(1, 1, "", "e", "v");
	assert_true(kbp_cmd_encode(&c, buf, sizeof(buf)) > 0);
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);
	c = h_cas(1, 1, "k", "", "");
	int w = kbp_cmd_encode(&c, buf, sizeof(buf));
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), w);
	/* A PUT of an empty value is allowed too. */
	c = h_put(1, 1, "k", "");
	w = kbp_cmd_encode(&c, buf, sizeof(buf));
	assert_int_equal(kbp_cmd_decode(&d, buf, sizeof(buf)), w);
}

static void test_batch_validate(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct kbp_cmd a = h_put(1, 1, "apple", "red"), b = h_get(2, 1, "apple"), n = h_noop();
	uint32_t len = 0;
	len += (uint32_t)kbp_cmd_encode(&a, buf + len, sizeof(buf) - len);
	len += (uint32_t)kbp_cmd_encode(&b, buf + len, sizeof(buf) - len);
	len += (uint32_t)kbp_cmd_encode(&n, buf + len, sizeof(buf) - len);

	assert_int_equal(kbp_batch_validate(buf, len, 3), 0);
	/* Count must match the bytes exactly: too few leaves bytes over, too many runs out. */
	assert_int_equal(kbp_batch_validate(buf, len, 2), -KBP_EMALFORMED);
	assert_int_equal(kbp_batch_validate(buf, len, 4), -KBP_EMALFORMED);
	assert_int_equal(kbp_batch_validate(buf, len - 8, 3), -KBP_EMALFORMED);
	assert_int_equal(kbp_batch_validate(buf, len + 8, 3), -KBP_EMALFORMED);
	assert_int_equal(kbp_batch_validate(buf, 0, 0), 0);
	/* One bad command inside spoils the batch. */
	buf[kbp_cmd_size(&a) + 16] = 0x7f;         /* second command's op */
	assert_int_equal(kbp_batch_validate(buf, len, 3), -KBP_EMALFORMED);
}

static void test_reply_roundtrip_and_rejects(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct kbp_reply r = {
		.client_id = 11, .seq = 12, .status = KBP_ST_CAS_FAILED, .leader = 2,
		.val_len = 5, .val = (const uint8_t *)"hello",
	}, d;
	int w = kbp_reply_encode(&r, buf, sizeof(buf));
	assert_int_equal(w, KBP_REPLY_HDR_SIZE + 8);
	assert_int_equal(kbp_reply_decode(&d, buf, (uint32_t)w), w);
	assert_int_equal(d.client_id, 11);
	assert_int_equal(d.seq, 12);
	assert_int_equal(d.status, KBP_ST_CAS_FAILED);
	assert_int_equal(d.leader, 2);
	assert_int_equal(d.val_len, 5);
	assert_memory_equal(d.val, "hello", 5);

	for (uint32_t l = 0; l < (uint32_t)w; l++)
		assert_int_equal(kbp_reply_decode(&d, buf, l), -KBP_EMALFORMED);
	assert_int_equal(kbp_reply_encode(&r, buf, (uint32_t)w - 1), -KBP_ETOOBIG);

	kbp_reply_encode(&r, buf, sizeof(buf));
	buf[16] = KBP_ST_COUNT;                    /* unknown status */
	assert_int_equal(kbp_reply_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);
	kbp_reply_encode(&r, buf, sizeof(buf));
	buf[20] = 1;                               /* reserved */
	assert_int_equal(kbp_reply_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);
	kbp_reply_encode(&r, buf, sizeof(buf));
	kbp_le16_store(buf + 18, KBP_VAL_MAX + 1);
	assert_int_equal(kbp_reply_decode(&d, buf, sizeof(buf)), -KBP_EMALFORMED);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(kbp_op_name(KBP_OP_CAS), "cas");
	assert_string_equal(kbp_op_name(99), "?");
	assert_string_equal(kbp_status_name(KBP_ST_NOT_LEADER), "NOT_LEADER");
	assert_string_equal(kbp_status_name(KBP_ST_COUNT), "?");
	assert_string_equal(kbp_strerror(-KBP_EMALFORMED), "malformed encoding");
	assert_string_equal(kbp_strerror(KBP_ERR_COUNT + 3), "unknown error");
	assert_string_equal(kbp_msg_type_name(KBP_MSG_PROMISE), "PROMISE");
	assert_string_equal(kbp_msg_type_name(0), "?");
	assert_string_equal(kbp_msg_type_name(KBP_MSG_TYPE_END), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_roundtrip_each_op),
		cmocka_unit_test(test_cmd_roundtrip_largest),
		cmocka_unit_test(test_cmd_encode_too_big),
		cmocka_unit_test(test_cmd_decode_rejects_lengths),
		cmocka_unit_test(test_cmd_decode_rejects_op_shapes),
		cmocka_unit_test(test_batch_validate),
		cmocka_unit_test(test_reply_roundtrip_and_rejects),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests_name("cmd", tests, NULL, NULL);
}
