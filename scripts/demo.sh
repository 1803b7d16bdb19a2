#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Main job: local 3-node cluster + generator + histograms.  Not built yet.
echo "kbpaxos demo: the local cluster and packet generator are not built yet (see issues 5 and 6)."
echo "It will start 3 kbpaxosd nodes over net_memif, run kbpaxos-gen and print latency histograms."
exit 0
