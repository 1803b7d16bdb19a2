// SPDX-License-Identifier: MIT
// rte_ring burst handoff, the RX lcore -> consensus lcore path: single producer, single
// consumer, bursts of 32 pointers.  Needs the EAL (rings live in EAL memory); measured
// on one core, so this is the per-burst cost without cross-core cache traffic.
#include <rte_errno.h>
#include <rte_ring.h>

#include "kbp_micro.h"

static void BM_ring_spsc_burst32(benchmark::State &state)
{
	KBP_MICRO_NEED_EAL(state);
	struct rte_ring *r = rte_ring_create("kbp_micro_ring", 1024, SOCKET_ID_ANY,
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
	void *objs[32], *out[32];

	if (r == nullptr) {
		state.SkipWithError(rte_strerror(rte_errno));
		return;
	}
	for (unsigned i = 0; i < 32; i++)
		objs[i] = &objs[i];
	for (auto _ : state) {
		unsigned n = rte_ring_enqueue_burst(r, objs, 32, nullptr);
		unsigned m = rte_ring_dequeue_burst(r, out, n, nullptr);
		benchmark::DoNotOptimize(m);
	}
	state.SetItemsProcessed((int64_t)state.iterations() * 32);
	rte_ring_free(r);
}
BENCHMARK(BM_ring_spsc_burst32);
