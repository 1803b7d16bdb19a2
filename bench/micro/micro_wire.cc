// SPDX-License-Identifier: MIT
// The RX hot path's first step: validate and parse one received frame with kbp_wire_parse
// (Ethernet/IPv4/UDP checks, sender check against the config, CRC32C over header and
// payload, walk of every command).  Frames are built once with kbp_wire_encode: a
// CLIENT_REQ with 1 and 64 64-byte puts as a leader sees them, and an ACCEPT carrying a
// 64-command batch as an acceptor sees it.
#include <cstring>
#include <vector>

#include "kbp_micro.h"

extern "C" {
#include "kbp_wire.h"
}

namespace {

struct wire_fixture {
	kbp_wire_ctx ctx;
	std::vector<uint8_t> frame;
	uint32_t frame_len = 0;
};

// A 3-node cluster as node 1 sees it; the generator at .100 is the client.
void make_ctx(kbp_wire_ctx *ctx)
{
	std::memset(ctx, 0, sizeof(*ctx));
	ctx->cluster_id = 1;
	ctx->self = 1;
	ctx->nodes = 3;
	ctx->cmds_max = 64;
	ctx->payload_max = 8192 + 24;
	for (unsigned i = 0; i < 3; i++) {
		uint8_t mac[6] = { 0x02, 0x6b, 0x70, 0, 0, (uint8_t)(i + 1) };
		std::memcpy(ctx->node[i].addr.mac, mac, 6);
		ctx->node[i].addr.ip = 0x0a4d0001u + i;
		ctx->node[i].addr.port = 7700;
		ctx->node[i].client_port = 7701;
	}
	uint8_t gmac[6] = { 0x02, 0x6b, 0x70, 0, 0, 0xff };
	std::memcpy(ctx->client.mac, gmac, 6);
	ctx->client.ip = 0x0a4d0064u;
	ctx->client.port = 7800;
}

void build(wire_fixture *f, uint8_t type, uint32_t count)
{
	make_ctx(&f->ctx);
	kbp_micro_puts batch;
	if (!kbp_micro_puts_build(&batch, count))
		return;                      // frame_len stays 0: the benchmark skips
	kbp_msg m = {};
	m.type = type;
	m.count = count;
	m.len = batch.len();
	m.payload = batch.bytes.data();
	kbp_wire_addr src, dst;
	if (type == KBP_MSG_CLIENT_REQ) {
		m.from = KBP_NODE_CLIENT;
		m.to = 1;
		src = f->ctx.client;
		dst = f->ctx.node[1].addr;
		dst.port = f->ctx.node[1].client_port;
	} else {
		m.from = 0;
		m.to = 1;
		m.ballot = (1u << 8) | 0;
		m.slot = 7;
		m.commit = 7;
		src = f->ctx.node[0].addr;
		dst = f->ctx.node[1].addr;
	}
	f->frame.assign(kbp_wire_frame_size(m.len), 0);
	int n = kbp_wire_encode(f->frame.data(), (uint32_t)f->frame.size(), &src, &dst, 1, &m);
	f->frame_len = n > 0 ? (uint32_t)n : 0;
}

void run_parse(benchmark::State &state, uint8_t type, uint32_t count)
{
	wire_fixture f;
	build(&f, type, count);
	kbp_msg out;
	kbp_wire_src src;
	if (f.frame_len == 0 || kbp_wire_parse(f.frame.data(), f.frame_len, &f.ctx, &out, &src) != 0) {
		state.SkipWithError("test frame does not parse");
		return;
	}
	for (auto _ : state) {
		int r = kbp_wire_parse(f.frame.data(), f.frame_len, &f.ctx, &out, &src);
		benchmark::DoNotOptimize(r);
		benchmark::DoNotOptimize(out.payload);
	}
	state.SetItemsProcessed((int64_t)state.iterations() * count);
	state.SetBytesProcessed((int64_t)state.iterations() * f.frame_len);
	state.counters["frame_bytes"] = f.frame_len;
}

} // namespace

static void BM_wire_parse_client_req_1(benchmark::State &state)
{
	run_parse(state, KBP_MSG_CLIENT_REQ, 1);
}
BENCHMARK(BM_wire_parse_client_req_1);

static void BM_wire_parse_client_req_64(benchmark::State &state)
{
	run_parse(state, KBP_MSG_CLIENT_REQ, 64);
}
BENCHMARK(BM_wire_parse_client_req_64);

static void BM_wire_parse_accept_64(benchmark::State &state)
{
	run_parse(state, KBP_MSG_ACCEPT, 64);
}
BENCHMARK(BM_wire_parse_accept_64);
