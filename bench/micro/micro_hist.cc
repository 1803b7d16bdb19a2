// SPDX-License-Identifier: MIT
// Latency histogram: recording is on the generator's per-reply path, so it must stay a
// few ns; percentile queries and merges happen once per second or at the end.
#include <cmath>
#include <vector>

#include "kbp_hist.h"
#include "kbp_micro.h"
#include "kbp_rng.h"

// Exponential latencies around 20 us in ns, precomputed so the RNG is not measured.
static std::vector<uint64_t> kbp_micro_latencies(size_t n)
{
	struct kbp_rng rng = { 42 };
	std::vector<uint64_t> v(n);

	for (auto &x : v)
		x = 5000 + (uint64_t)(-std::log(1 - kbp_rng_unit(&rng)) * 15000.0);
	return v;
}

static void BM_hist_record(benchmark::State &state)
{
	struct kbp_hist h;
	auto v = kbp_micro_latencies(4096);
	size_t i = 0;

	if (kbp_hist_init(&h, 1, 3600000000000, (int)state.range(0)) != 0) {
		state.SkipWithError("kbp_hist_init failed");
		return;
	}
	for (auto _ : state) {
		kbp_hist_record(&h, v[i++ & 4095]);
		benchmark::ClobberMemory();
	}
	state.SetItemsProcessed((int64_t)state.iterations());
	kbp_hist_fini(&h);
}
BENCHMARK(BM_hist_record)->Arg(2)->Arg(3)->ArgName("sig");

static void BM_hist_percentile(benchmark::State &state)
{
	struct kbp_hist h;

	if (kbp_hist_init(&h, 1, 3600000000000, 3) != 0) {
		state.SkipWithError("kbp_hist_init failed");
		return;
	}
	for (uint64_t x : kbp_micro_latencies(100000))
		kbp_hist_record(&h, x);
	for (auto _ : state)
		benchmark::DoNotOptimize(kbp_hist_value_at_percentile(&h, 99.9));
	kbp_hist_fini(&h);
}
BENCHMARK(BM_hist_percentile);

// Per-lcore histograms merged at the end of a run.
static void BM_hist_merge(benchmark::State &state)
{
	struct kbp_hist a, b;

	if (kbp_hist_init(&a, 1, 3600000000000, 3) != 0 ||
	    kbp_hist_init(&b, 1, 3600000000000, 3) != 0) {
		state.SkipWithError("kbp_hist_init failed");
		return;
	}
	for (uint64_t x : kbp_micro_latencies(100000))
		kbp_hist_record(&b, x);
	for (auto _ : state)
		kbp_hist_merge(&a, &b);
	state.SetBytesProcessed((int64_t)state.iterations() * b.counts_len * 8);
	kbp_hist_fini(&a);
	kbp_hist_fini(&b);
}
BENCHMARK(BM_hist_merge);
