/* SPDX-License-Identifier: MIT */
/* Unit tests: CRC32C through rte_hash_crc, and the record and header encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kbp_log_format.h"

static void crc_check_vector(void **state)
{
	(void)state;
	/* The CRC-32C check value (RFC 3720 appendix B.4 family, Castagnoli polynomial). */
	assert_int_equal(kbp_crc32c("123456789", 9), 0xE3069283u);
	assert_int_equal(kbp_crc32c("", 0), 0);
}

static void crc_extends(void **state)
{
	uint8_t buf[1000];

	(void)state;
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (unsigned cut = 0; cut <= sizeof(buf); cut += 37)
		assert_int_equal(kbp_crc32c_extend(kbp_crc32c(buf, cut), buf + cut, sizeof(buf) - cut),
				 kbp_crc32c(buf, sizeof(buf)));
}

static void record_round_trips(void **state)
{
	uint8_t value[13] = "hello, paxos", out[128];
	struct kbp_persist in = {
		.type = KBP_PERSIST_ACCEPT, .id = 7, .ballot = kbp_ballot_make(3, 2), .slot = 99,
		.count = 1, .len = sizeof(value), .value = value,
	}, r;

	(void)state;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(kbp_log_rec_size(13), 64);
	kbp_log_rec_encode(out, &in);
	assert_true(kbp_log_rec_plausible(out, sizeof(out)));
	assert_true(kbp_log_rec_crc_ok(out));
	for (unsigned i = 48 + 13; i < 64; i++)
		assert_int_equal(out[i], 0);   /* padding is zero, so the CRC is deterministic */
	kbp_log_rec_decode(out, &r);
	assert_int_equal(r.type, in.type);
	assert_int_equal(r.id, in.id);
	assert_int_equal(r.ballot, in.ballot);
	assert_int_equal(r.slot, in.slot);
	assert_int_equal(r.count, in.count);
	assert_int_equal(r.len, in.len);
	assert_memory_equal(r.value, value, sizeof(value));
	/* Any flipped bit after the CRC field is caught. */
	for (unsigned i = 4; i < 64; i++) {
		out[i] ^= 0x10;
		assert_false(kbp_log_rec_plausible(out, sizeof(out)) && kbp_log_rec_crc_ok(out));
		out[i] ^= 0x10;
	}
	assert_false(kbp_log_rec_plausible(out, 63));   /* does not fit the room left */
}

static void headers_round_trip(void **state)
{
	struct kbp_log_seg_hdr h = { .version = 1, .seq = 42, .promised = 77, .write_bytes_max = 1 << 20,
				     .align = 512 }, g;
	struct kbp_log_snap_hdr s = { .version = 1, .payload_crc = 5, .len = 9, .upto = 1000 }, t;
	uint8_t buf[64];

	(void)state;
	kbp_log_seg_hdr_encode(buf, &h);
	assert_int_equal(kbp_log_seg_hdr_decode(buf, &g), 0);
	assert_int_equal(g.seq, 42);
	assert_int_equal(g.promised, 77);
	assert_int_equal(g.write_bytes_max, 1 << 20);
	buf[20] ^= 1;
	assert_int_equal(kbp_log_seg_hdr_decode(buf, &g), -1);
	kbp_log_snap_hdr_encode(buf, &s);
	assert_int_equal(kbp_log_snap_hdr_decode(buf, &t), 0);
	assert_int_equal(t.upto, 1000);
	assert_int_equal(t.len, 9);
	assert_int_equal(kbp_log_seg_hdr_decode(buf, &g), -1);   /* a snapshot is not a segment */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc_check_vector),
		cmocka_unit_test(crc_extends),
		cmocka_unit_test(record_round_trips),
		cmocka_unit_test(headers_round_trip),
	};

	return cmocka_run_group_tests_name("persist_crc", tests, NULL, NULL);
}
