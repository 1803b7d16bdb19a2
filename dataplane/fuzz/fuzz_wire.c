/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes into kbp_wire_parse, as node 0 and as a client.
 * The first input byte picks how much of a valid frame prefix to keep, so the fuzzer
 * reaches the deep checks (CRC, payload walks) instead of dying at the Ethernet header.
 * An accepted message is re-encoded and must parse back to the same message.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_wire.h"
#include "kbp_wire_test_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const struct kbp_msg *m, const struct kbp_wire_src *src,
			   const struct kbp_wire_ctx *ctx)
{
	static uint8_t again[70000];
	struct kbp_wire_addr dst = ctx->self == KBP_NODE_CLIENT ? ctx->client : ctx->node[ctx->self].addr;
	struct kbp_msg back;

	dst.port = src->dst_port;
	int n = kbp_wire_encode(again, sizeof(again), &src->addr, &dst, ctx->cluster_id, m);
	if (n < 0 || kbp_wire_parse(again, (uint32_t)n, ctx, &back, NULL) != 0)
		abort();
	if (back.type != m->type || back.count != m->count || back.len != m->len ||
	    back.ballot != m->ballot || back.slot != m->slot || back.aux != m->aux ||
	    memcmp(back.payload, m->payload, m->len) != 0)
		abort();
}

static void run(const uint8_t *buf, uint32_t len, unsigned self)
{
	struct kbp_wire_ctx ctx;
	struct kbp_wire_src src;
	struct kbp_msg m;

	kbp_test_ctx(&ctx, self);
	int r = kbp_wire_parse(buf, len, &ctx, &m, &src);
	if (r > 0 || r <= -KBP_WIRE_DROP_COUNT)
		abort();
	if (r == 0) {
		if (m.payload < buf || m.payload + m.len > buf + len)
			abort();
		check_accepted(&m, &src, &ctx);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[70000];

	if (size > 65600)
		return 0;
	/* Raw: the bytes as a frame (a copy of exactly size bytes, so ASan sees overreads). */
	uint8_t *raw = malloc(size ? size : 1);
	memcpy(raw, data, size);
	run(raw, (uint32_t)size, 0);
	run(raw, (uint32_t)size, KBP_NODE_CLIENT);
	free(raw);

	/* Seeded: a valid frame of type data[0], its tail from data[1] on overwritten by the input. */
	if (size >= 2) {
		struct kbp_test_msg t;
		uint8_t type = (uint8_t)(KBP_MSG_PREPARE + data[0] % (KBP_MSG_TYPE_END - 1));
		uint32_t len = kbp_test_frame(type, frame, sizeof(frame), &t);
		uint32_t at = data[1] < len ? data[1] : len;
		uint32_t n = (uint32_t)(size - 2);
		if (at + n > sizeof(frame))
			n = (uint32_t)sizeof(frame) - at;
		memcpy(frame + at, data + 2, n);
		uint32_t flen = at + n > len ? at + n : len;
		if (data[0] & 0x80)
			kbp_wire_reseal(frame, flen >= KBP_WIRE_OVERHEAD ? flen : KBP_WIRE_OVERHEAD);
		uint8_t *copy = malloc(flen);
		memcpy(copy, frame, flen);
		run(copy, flen, type == KBP_MSG_CLIENT_REP ? KBP_NODE_CLIENT : 0);
		free(copy);
	}
	return 0;
}
