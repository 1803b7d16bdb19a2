/* SPDX-License-Identifier: MIT */
/*
 * The reply packer: replies to one client split across frames that fit its link, in
 * order; a reply that cannot fit an empty frame answered TOO_BIG; several destinations
 * at once; the per-frame reply count limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kbp_reply_pack.h"

#define SENT_MAX 64
#define TAP_PAYLOAD (1514u - KBP_WIRE_OVERHEAD)   /* a tap port: MTU 1500 */

struct sent {
	int32_t dest;
	uint32_t count, len;
	struct kbp_reply r[16];
	uint8_t vals[16][KBP_VAL_MAX];
};

static struct sent sent[SENT_MAX];
static unsigned n_sent;
static struct kbp_reply_frame frames[KBP_REPLY_PACKS];
static uint8_t value[KBP_VAL_MAX];

static void on_send(void *arg, int32_t dest, const uint8_t *payload, uint32_t count, uint32_t len)
{
	(void)arg;
	assert_true(n_sent < SENT_MAX);
	struct sent *s = &sent[n_sent++];
	s->dest = dest;
	s->count = count;
	s->len = len;
	uint32_t off = 0;
	assert_true(count <= 16);
	for (uint32_t i = 0; i < count; i++) {
		int w = kbp_reply_decode(&s->r[i], payload + off, len - off);
		assert_true(w > 0);
		memcpy(s->vals[i], s->r[i].val, s->r[i].val_len);
		s->r[i].val = s->vals[i];
		off += (uint32_t)w;
	}
	assert_int_equal(off, len);    /* the frame holds exactly its replies */
}

/* Destinations 0..9 are distinct; 100 + k is the same address as k. */
static bool same(void *arg, int32_t a, int32_t b)
{
	(void)arg;
	return a % 100 == b % 100;
}

static struct kbp_reply get_reply(uint64_t client, uint64_t seq, uint16_t val_len)
{
	return (struct kbp_reply){ .client_id = client, .seq = seq, .status = KBP_ST_OK,
				   .leader = 0, .val_len = val_len, .val = value };
}

static int setup(void **state)
{
	(void)state;
	n_sent = 0;
	memset(sent, 0, sizeof(sent));
	for (unsigned i = 0; i < KBP_VAL_MAX; i++)
		value[i] = (uint8_t)(i * 7 + 1);
	return 0;
}

/* Six GETs of a 1 KiB value through a tap: six frames, each within 1,514 bytes, in order. */
static void test_split_to_fit(void **state)
{
	(void)state;
	struct kbp_reply_packer pk;
	kbp_reply_packer_init(&pk, frames, 64, on_send, same, NULL);
	for (uint64_t i = 0; i < 6; i++) {
		struct kbp_reply r = get_reply(10 + i, 1, KBP_VAL_MAX);
		kbp_reply_packer_add(&pk, 3, TAP_PAYLOAD, &r);
	}
	kbp_reply_packer_flush(&pk);
	assert_int_equal(n_sent, 6);
	for (unsigned f = 0; f < 6; f++) {
		assert_int_equal(sent[f].dest, 3);
		assert_int_equal(sent[f].count, 1);
		assert_true(sent[f].len + KBP_WIRE_OVERHEAD <= 1514);
		assert_int_equal(sent[f].r[0].client_id, 10 + f);
		assert_int_equal(sent[f].r[0].status, KBP_ST_OK);
		assert_int_equal(sent[f].r[0].val_len, KBP_VAL_MAX);
		assert_memory_equal(sent[f].r[0].val, value, KBP_VAL_MAX);
	}
	assert_int_equal(pk.too_big, 0);
}

/* The same six replies on a 9000-MTU link share one frame. */
static void test_one_frame_when_it_fits(void **state)
{
	(void)state;
	struct kbp_reply_packer pk;
	kbp_reply_packer_init(&pk, frames, 64, on_send, same, NULL);
	for (uint64_t i = 0; i < 6; i++) {
		struct kbp_reply r = get_reply(10 + i, 1, KBP_VAL_MAX);
		kbp_reply_packer_add(&pk, 3, 9014 - KBP_WIRE_OVERHEAD, &r);
	}
	kbp_reply_packer_flush(&pk);
	assert_int_equal(n_sent, 1);
	assert_int_equal(sent[0].count, 6);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(sent[0].r[i].client_id, 10 + i);
}

/* A value that cannot fit an empty frame of its link: TOO_BIG, same client and seq, no value. */
static void test_too_big(void **state)
{
	(void)state;
	struct kbp_reply_packer pk;
	kbp_reply_packer_init(&pk, frames, 64, on_send, same, NULL);
	struct kbp_reply small = get_reply(5, 7, 8);
	struct kbp_reply big = get_reply(6, 9, KBP_VAL_MAX);
	kbp_reply_packer_add(&pk, 1, 512, &small);
	kbp_reply_packer_add(&pk, 1, 512, &big);
	kbp_reply_packer_flush(&pk);
	assert_int_equal(n_sent, 1);
	assert_int_equal(sent[0].count, 2);
	assert_int_equal(sent[0].r[0].status, KBP_ST_OK);
	assert_int_equal(sent[0].r[0].val_len, 8);
	assert_int_equal(sent[0].r[1].client_id, 6);
	assert_int_equal(sent[0].r[1].seq, 9);
	assert_int_equal(sent[0].r[1].status, KBP_ST_TOO_BIG);
	assert_int_equal(sent[0].r[1].val_len, 0);
	assert_int_equal(pk.too_big, 1);
}

/* Six destinations through four frames: every reply arrives, each destination in order. */
static void test_many_destinations(void **state)
{
	(void)state;
	struct kbp_reply_packer pk;
	kbp_reply_packer_init(&pk, frames, 64, on_send, same, NULL);
	for (uint64_t seq = 1; seq <= 3; seq++)
		for (int32_t d = 0; d < 6; d++) {
			struct kbp_reply r = get_reply((uint64_t)d, seq, 16);
			/* 100 + d is the same address as d: it joins d's frame. */
			kbp_reply_packer_add(&pk, seq == 2 ? 100 + d : d, TAP_PAYLOAD, &r);
		}
	kbp_reply_packer_flush(&pk);
	uint64_t next[6] = { 1, 1, 1, 1, 1, 1 };
	unsigned total = 0;
	for (unsigned f = 0; f < n_sent; f++)
		for (unsigned i = 0; i < sent[f].count; i++) {
			const struct kbp_reply *r = &sent[f].r[i];
			assert_int_equal(r->client_id, (uint64_t)(sent[f].dest % 100));
			assert_int_equal(r->seq, next[r->client_id]++);
			total++;
		}
	assert_int_equal(total, 18);
}

/* No more than cmds_max replies in one frame. */
static void test_count_limit(void **state)
{
	(void)state;
	struct kbp_reply_packer pk;
	kbp_reply_packer_init(&pk, frames, 4, on_send, same, NULL);
	for (uint64_t i = 0; i < 10; i++) {
		struct kbp_reply r = get_reply(i, 1, 0);
		kbp_reply_packer_add(&pk, 2, TAP_PAYLOAD, &r);
	}
	kbp_reply_packer_flush(&pk);
	assert_int_equal(n_sent, 3);
	assert_int_equal(sent[0].count, 4);
	assert_int_equal(sent[1].count, 4);
	assert_int_equal(sent[2].count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_split_to_fit, setup),
		cmocka_unit_test_setup(test_one_frame_when_it_fits, setup),
		cmocka_unit_test_setup(test_too_big, setup),
		cmocka_unit_test_setup(test_many_destinations, setup),
		cmocka_unit_test_setup(test_count_limit, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
