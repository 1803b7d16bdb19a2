// SPDX-License-Identifier: MIT
// Shared by the microbenchmark files: whether the EAL came up, and how to bow out if not.
#ifndef KBP_MICRO_H
#define KBP_MICRO_H

#include <benchmark/benchmark.h>

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

#endif
