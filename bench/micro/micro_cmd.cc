// SPDX-License-Identifier: MIT
// Client command batches: encoded by clients, validated on RX, decoded on apply.  A
// batch of 16 puts with 16-byte keys and 64-byte values, the reference load.
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "kbp_cmd.h"
}
#include "kbp_micro.h"

static constexpr uint32_t kbp_micro_batch = 16;

struct kbp_micro_cmds {
	uint8_t key[kbp_micro_batch][16];
	uint8_t val[64];
	struct kbp_cmd cmd[kbp_micro_batch];
	std::vector<uint8_t> buf;
	uint32_t len = 0;

	kbp_micro_cmds() : buf(kbp_micro_batch * (KBP_CMD_HDR_SIZE + 16 + 64))
	{
		std::memset(val, 0xab, sizeof(val));
		for (uint32_t i = 0; i < kbp_micro_batch; i++) {
			std::memset(key[i], 'a' + (int)i, sizeof(key[i]));
			struct kbp_cmd &c = cmd[i];
			std::memset(&c, 0, sizeof(c));
			c.client_id = 7;
			c.seq = i + 1;
			c.op = KBP_OP_PUT;
			c.key_len = sizeof(key[i]);
			c.val_len = sizeof(val);
			c.key = key[i];
			c.val = val;
		}
	}

	// Returns false if an encode failed (it should not: buf is sized for the batch).
	bool encode()
	{
		len = 0;
		for (uint32_t i = 0; i < kbp_micro_batch; i++) {
			int n = kbp_cmd_encode(&cmd[i], buf.data() + len, (uint32_t)buf.size() - len);
			if (n < 0)
				return false;
			len += (uint32_t)n;
		}
		return true;
	}
};

static void BM_cmd_encode_batch16(benchmark::State &state)
{
	kbp_micro_cmds b;

	for (auto _ : state) {
		if (!b.encode()) {
			state.SkipWithError("kbp_cmd_encode failed");
			break;
		}
		benchmark::DoNotOptimize(b.buf.data());
	}
	state.SetItemsProcessed((int64_t)state.iterations() * kbp_micro_batch);
	state.SetBytesProcessed((int64_t)state.iterations() * b.len);
}
BENCHMARK(BM_cmd_encode_batch16);

static void BM_cmd_decode_batch16(benchmark::State &state)
{
	kbp_micro_cmds b;
	struct kbp_cmd c;

	if (!b.encode()) {
		state.SkipWithError("kbp_cmd_encode failed");
		return;
	}
	for (auto _ : state) {
		uint32_t off = 0;
		for (uint32_t i = 0; i < kbp_micro_batch; i++) {
			int n = kbp_cmd_decode(&c, b.buf.data() + off, b.len - off);
			if (n < 0) {
				state.SkipWithError("kbp_cmd_decode failed");
				return;
			}
			off += (uint32_t)n;
		}
		benchmark::DoNotOptimize(c);
	}
	state.SetItemsProcessed((int64_t)state.iterations() * kbp_micro_batch);
}
BENCHMARK(BM_cmd_decode_batch16);

static void BM_batch_validate16(benchmark::State &state)
{
	kbp_micro_cmds b;

	if (!b.encode()) {
		state.SkipWithError("kbp_cmd_encode failed");
		return;
	}
	for (auto _ : state) {
		int rc = kbp_batch_validate(b.buf.data(), b.len, kbp_micro_batch);
		if (rc != 0) {
			state.SkipWithError("kbp_batch_validate rejected a good batch");
			return;
		}
		benchmark::DoNotOptimize(rc);
	}
	state.SetItemsProcessed((int64_t)state.iterations() * kbp_micro_batch);
	state.SetBytesProcessed((int64_t)state.iterations() * b.len);
}
BENCHMARK(BM_batch_validate16);
