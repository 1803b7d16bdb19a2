// SPDX-License-Identifier: MIT
// Framing one ACCEPT record into the log's write buffer, as kbp_log_append does for every
// persist request: kbp_log_rec_encode (kbp_log_format.h, the writer's own inline) writes
// the 48-byte header, copies the batch and pads it to 8, then takes kbp_crc32c over the
// record.  The value is a batch of 1 or 64 64-byte puts; records go back to back through
// a 1 MiB buffer, the default write_bytes_max, as the writer fills one write.  No I/O.
#include <vector>

#include "kbp_micro.h"

// The header is C11: its _Static_assert is spelled static_assert in C++.
#define _Static_assert static_assert
extern "C" {
#include "kbp_log_format.h"
}
#undef _Static_assert

static void BM_log_rec_encode_crc(benchmark::State &state)
{
	constexpr uint32_t buf_bytes = 1u << 20;
	kbp_micro_puts batch;

	if (!kbp_micro_puts_build(&batch, (uint32_t)state.range(0))) {
		state.SkipWithError("kbp_cmd_encode failed");
		return;
	}
	kbp_persist req = {};
	req.type = KBP_PERSIST_ACCEPT;
	req.id = 1;
	req.ballot = kbp_ballot_make(1, 0);
	req.count = batch.count;
	req.len = batch.len();
	req.value = batch.bytes.data();
	const uint32_t size = kbp_log_rec_size(req.len);
	// uint64_t elements: records start 8-byte aligned, as in the writer's buffers.
	std::vector<uint64_t> buf(buf_bytes / 8);
	uint8_t *base = reinterpret_cast<uint8_t *>(buf.data());

	kbp_log_rec_encode(base, &req);
	if (!kbp_log_rec_plausible(base, size) || !kbp_log_rec_crc_ok(base)) {
		state.SkipWithError("the encoded record does not read back");
		return;
	}
	uint32_t off = 0;
	for (auto _ : state) {
		if (off + size > buf_bytes)
			off = 0;
		kbp_log_rec_encode(base + off, &req);
		benchmark::DoNotOptimize(base + off);
		benchmark::ClobberMemory();
		off += size;
		req.id++;
		req.slot++;
	}
	state.SetItemsProcessed((int64_t)state.iterations() * batch.count);   // items = commands
	state.SetBytesProcessed((int64_t)state.iterations() * size);
	state.counters["rec_bytes"] = size;
}
BENCHMARK(BM_log_rec_encode_crc)->Arg(1)->Arg(64)->ArgName("cmds");
