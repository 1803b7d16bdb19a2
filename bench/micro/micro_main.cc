// SPDX-License-Identifier: MIT
// kbp-micro: Google Benchmark over the C hot paths.  Its own main starts the DPDK EAL
// first (no hugepages, no PCI, one lcore) so benchmarks of rings and mbufs can run; if
// the EAL cannot start (or KBP_MICRO_NO_EAL is set), those skip and the rest run anyway.
// Benchmarks live in one micro_<area>.cc file per area and register themselves with
// BENCHMARK().
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>

#include "kbp_micro.h"

bool kbp_micro_eal_ok = false;

static void kbp_micro_eal_init(const char *prog)
{
	// DPDK 22.11 rejects --in-memory with --no-huge (which implies --legacy-mem);
	// --no-shconf and --no-telemetry give the same effect: no files or sockets under
	// /var/run, so concurrent runs and a running node never collide.
	std::vector<std::string> args = { prog, "--no-huge", "--no-shconf", "--no-pci",
					  "--no-telemetry", "-l", "0", "--log-level=error" };
	std::vector<char *> argv;

	if (std::getenv("KBP_MICRO_NO_EAL") != nullptr)
		return;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	if (rte_eal_init((int)args.size(), argv.data()) < 0) {
		std::fprintf(stderr, "kbp-micro: EAL did not start (%s); EAL benchmarks will skip\n",
			     rte_strerror(rte_errno));
		return;
	}
	kbp_micro_eal_ok = true;
}

int main(int argc, char **argv)
{
	kbp_micro_eal_init(argv[0]);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	if (kbp_micro_eal_ok)
		rte_eal_cleanup();
	return 0;
}
