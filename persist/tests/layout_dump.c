/* SPDX-License-Identifier: MIT */
/*
 * Prints the on-disk layout as the encoders in kbp_log_format.h actually write it, one
 * line per field: "section|offset|type|field".  Each offset is found by encoding twice,
 * with and without a marker in one field, and seeing which bytes change; gaps are
 * reported as zeros.  layout.sh compares the lines with the tables in docs/PERSIST.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_log_format.h"

#define M32 0xa1a2a3a4u
#define M64 0xb1b2b3b4b5b6b7b8ull

static const char *sec;
static uint8_t covered[KBP_LOG_HDR_SIZE];

static const char *type_of(size_t n)
{
	static char buf[32];

	if (n == 1 || n == 4 || n == 8)
		return n == 1 ? "u8" : n == 4 ? "u32" : "u64";
	snprintf(buf, sizeof(buf), "%zu bytes", n);
	return buf;
}

/* The changed bytes of [from, to) must form one run; prints it and marks it covered. */
static void one_run(const uint8_t *a, const uint8_t *b, size_t from, size_t to, const char *field)
{
	size_t lo = to, hi = 0;

	for (size_t i = from; i < to; i++)
		if (a[i] != b[i]) {
			lo = lo < i ? lo : i;
			hi = i + 1;
		}
	for (size_t i = lo; i < hi; i++)
		if (a[i] == b[i] || covered[i]) {
			fprintf(stderr, "layout: %s %s: not one run of its own at %zu..%zu\n", sec, field, lo, hi);
			exit(1);
		}
	if (lo >= hi) {
		fprintf(stderr, "layout: %s %s: the encoder does not write it\n", sec, field);
		exit(1);
	}
	memset(covered + lo, 1, hi - lo);
	printf("%s|%zu|%s|%s\n", sec, lo, type_of(hi - lo), field);
}

/* Magic at 0, CRC32C of [0, 60) at 60, and zeros in every byte no field covers. */
static void frame(const uint8_t *p, const char *magic, size_t end)
{
	if (memcmp(p, magic, 8) != 0 || kbp_le32_load(p + 60) != kbp_crc32c(p, 60)) {
		fprintf(stderr, "layout: %s: magic or CRC32C not where expected\n", sec);
		exit(1);
	}
	printf("%s|0|8 bytes|magic `%s\\0`\n", sec, magic);
	memset(covered, 1, 8);
	for (size_t i = 8; i < end;) {
		size_t j = i;

		while (j < end && !covered[j])
			j++;
		if (j > i) {
			for (size_t k = i; k < j; k++)
				if (p[k] != 0) {
					fprintf(stderr, "layout: %s: byte %zu is not zero\n", sec, k);
					exit(1);
				}
			printf("%s|%zu|%zu bytes|zero\n", sec, i, j - i);
		}
		i = j + 1;
	}
	printf("%s|60|u32|CRC32C of bytes 0..59\n", sec);
}

static void ident(void)
{
	struct kbp_log_ident_rec z = { 0 }, r;
	uint8_t a[KBP_LOG_HDR_SIZE], b[KBP_LOG_HDR_SIZE];

	sec = "ident";
	memset(covered, 0, sizeof(covered));
	kbp_log_ident_encode(a, &z);
#define PROBE(field, val, name) \
	r = z; r.field = val; kbp_log_ident_encode(b, &r); one_run(a, b, 8, 60, name)
	PROBE(version, M32, "version");
	PROBE(owner.cluster_id, M32, "cluster id");
	PROBE(first_seq, M64, "first_seq");
	PROBE(last_seq, M64, "last_seq");
	PROBE(snap_upto, M64, "snap_upto");
	PROBE(owner.config_digest, M64, "config digest");
	PROBE(owner.node_id, M32, "node id");
#undef PROBE
	frame(a, KBP_LOG_IDENT_MAGIC, 60);
}

static void seg(void)
{
	struct kbp_log_seg_hdr z = { 0 }, h;
	uint8_t a[KBP_LOG_HDR_SIZE], b[KBP_LOG_HDR_SIZE];

	sec = "seg";
	memset(covered, 0, sizeof(covered));
	kbp_log_seg_hdr_encode(a, &z);
#define PROBE(field, val, name) \
	h = z; h.field = val; kbp_log_seg_hdr_encode(b, &h); one_run(a, b, 8, 60, name)
	PROBE(version, M32, "version");
	PROBE(owner.cluster_id, M32, "cluster id");
	PROBE(seq, M64, "seq");
	PROBE(promised, M64, "promised");
	PROBE(write_bytes_max, M32, "write_bytes_max of the writing session");
	PROBE(align, M32, "O_DIRECT alignment");
	PROBE(owner.config_digest, M64, "config digest");
	PROBE(bytes, M64, "segment bytes");
	PROBE(owner.node_id, M32, "node id");
#undef PROBE
	frame(a, KBP_LOG_SEG_MAGIC, 60);
}

static void snap(void)
{
	struct kbp_log_snap_hdr z = { 0 }, h;
	uint8_t a[KBP_LOG_HDR_SIZE], b[KBP_LOG_HDR_SIZE];

	sec = "snap";
	memset(covered, 0, sizeof(covered));
	kbp_log_snap_hdr_encode(a, &z);
#define PROBE(field, val, name) \
	h = z; h.field = val; kbp_log_snap_hdr_encode(b, &h); one_run(a, b, 8, 60, name)
	PROBE(version, M32, "version");
	PROBE(payload_crc, M32, "CRC32C of the payload");
	PROBE(len, M64, "len");
	PROBE(upto, M64, "upto_slot");
	PROBE(owner.cluster_id, M32, "cluster id");
	PROBE(owner.node_id, M32, "node id");
	PROBE(owner.config_digest, M64, "config digest");
	PROBE(seq, M64, "seq");
#undef PROBE
	frame(a, KBP_LOG_SNAP_MAGIC, 60);
}

/* Records: the CRC and size are checked, the other fields probed in [4, 48). */
static void rec(void)
{
	static const uint8_t value[5] = "VALUE";
	struct kbp_persist z = { .type = KBP_PERSIST_PROMISE }, r;
	uint8_t a[64] = { 0 }, b[64] = { 0 };

	sec = "rec";
	memset(covered, 0, sizeof(covered));
	kbp_log_rec_encode(a, &z);
	printf("rec|0|u32|CRC32C of bytes 4..size-1\n");
	memset(covered, 1, 4);
	if (kbp_le32_load(a + 4) != KBP_LOG_REC_HDR || !kbp_log_rec_crc_ok(a)) {
		fprintf(stderr, "layout: rec: size or CRC not where expected\n");
		exit(1);
	}
	printf("rec|4|u32|size = 48 + pad8(len)\n");
	memset(covered + 4, 1, 4);
#define PROBE(field, val, name) \
	r = z; r.field = val; memset(b, 0, sizeof(b)); kbp_log_rec_encode(b, &r); one_run(a, b, 4, 48, name)
	PROBE(type, KBP_PERSIST_COMMIT, "type");
	PROBE(count, M32, "count");
	PROBE(id, M64, "id");
	PROBE(ballot, M64, "ballot");
	PROBE(slot, M64, "slot");
#undef PROBE
	/*
	 * len cannot hold a marker in every byte (the value would follow it), so its bytes
	 * are the ones the decoder reads it from; persist_crc checks encode/decode round trips.
	 */
	{
		size_t lo = 0, hi = 0;

		for (size_t i = 8; i < KBP_LOG_REC_HDR; i++) {
			struct kbp_persist d;

			memset(b, 0, sizeof(b));
			b[i] = 0xff;
			kbp_log_rec_decode(b, &d);
			if (d.len != 0) {
				lo = hi ? lo : i;
				hi = i + 1;
			}
		}
		if (hi == 0 || covered[lo]) {
			fprintf(stderr, "layout: rec: len not found\n");
			exit(1);
		}
		memset(covered + lo, 1, hi - lo);
		printf("rec|%zu|%s|len\n", lo, type_of(hi - lo));
	}
	r = z;
	r.len = sizeof(value);
	r.value = value;
	memset(b, 0, sizeof(b));
	kbp_log_rec_encode(b, &r);
	if (kbp_le32_load(b + 4) != kbp_log_rec_size(sizeof(value)) || kbp_le32_load(b + 40) != sizeof(value))
		exit(1);
	for (size_t i = 8; i < KBP_LOG_REC_HDR;) {
		size_t j = i;

		while (j < KBP_LOG_REC_HDR && !covered[j])
			j++;
		if (j > i)
			printf("rec|%zu|%zu bytes|zero\n", i, j - i);
		i = j + 1;
	}
	if (memcmp(b + 48, value, sizeof(value)) != 0 || b[53] || b[54] || b[55]) {
		fprintf(stderr, "layout: rec: the value is not at 48, padded with zeros\n");
		exit(1);
	}
	printf("rec|48|len bytes|value, then zeros to a multiple of 8\n");
}

int main(void)
{
	ident();
	seg();
	rec();
	snap();
	return 0;
}
