// SPDX-License-Identifier: MIT
// CRC32C over a 4 KiB log block, as persist/ checks every record it writes and reads.
// rte_hash_crc picks the SSE4.2 crc32 instruction when the CPU has it.
#include <cstdint>
#include <vector>

#include <rte_hash_crc.h>

#include "kbp_micro.h"

static void BM_crc32c_4k(benchmark::State &state)
{
	std::vector<uint8_t> block(4096);

	for (size_t i = 0; i < block.size(); i++)
		block[i] = (uint8_t)(i * 131u + 7u);
	for (auto _ : state)
		benchmark::DoNotOptimize(rte_hash_crc(block.data(), (uint32_t)block.size(), 0xffffffffu));
	state.SetBytesProcessed((int64_t)state.iterations() * (int64_t)block.size());
}
BENCHMARK(BM_crc32c_4k);
