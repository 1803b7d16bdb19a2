// SPDX-License-Identifier: MIT
// Shared by the microbenchmark files: whether the EAL came up, how to bow out if not,
// and the batch of puts that the wire, node and log benchmarks all carry.
#ifndef KBP_MICRO_H
#define KBP_MICRO_H

#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

extern "C" {
#include "kbp_types.h"
}

// Set by micro_main.cc before any benchmark runs.
extern bool kbp_micro_eal_ok;

// First line of a benchmark that needs the EAL (mempools, rings): skips it, with a
// reason in the output, when the EAL could not start on this machine.
#define KBP_MICRO_NEED_EAL(state)                                           \
	do {                                                                \
		if (!kbp_micro_eal_ok) {                                    \
			(state).SkipWithError("DPDK EAL not initialised");  \
			return;                                             \
		}                                                           \
	} while (0)

// An encoded batch of count puts as clients send it and an ACCEPT carries it: 16-byte
// keys ("k", zeros, then i in 3 decimal digits: distinct below 1000), 64-byte values,
// client ids 1 + i (the sessions a fresh cluster opens for the first count REGISTERs:
// see kbp_micro_registers_build), seq 1.  seq_off holds where each command's seq lies
// (offset 8 of the kbp_cmd.h layout) so a benchmark can renumber the batch without
// decoding it.
struct kbp_micro_puts {
	std::vector<uint8_t> bytes;
	std::vector<uint32_t> seq_off;
	uint32_t count = 0;
	uint32_t len() const { return (uint32_t)bytes.size(); }
};

// False if an encode failed (it should not: the buffer is sized for the batch).
bool kbp_micro_puts_build(kbp_micro_puts *b, uint32_t count);

// count REGISTERs (nonces 1..count): applied on a fresh node, they open sessions 1..count,
// under which the puts above run (a write without a session is refused, not run).
bool kbp_micro_registers_build(kbp_micro_puts *b, uint32_t count);

// Gives every command in the batch the same new seq: sessions dedupe by (client id,
// seq), so a batch applied again must carry a fresh one.  A few stores, no decode.
static inline void kbp_micro_puts_set_seq(kbp_micro_puts *b, uint64_t seq)
{
	for (uint32_t off : b->seq_off)
		kbp_le64_store(b->bytes.data() + off, seq);
}

#endif
