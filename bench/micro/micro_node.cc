// SPDX-License-Identifier: MIT
// The acceptor's step, as a follower's consensus lcore runs it per ACCEPT: kbp_node_recv
// of an ACCEPT carrying a batch of 1 or 64 64-byte puts from the leader, kbp_node_flush
// (one persist request out), kbp_node_persisted for it (the log reports it durable), and
// kbp_node_flush again (the ACCEPTED goes out).  Each ACCEPT's commit index tells the
// node the previous slots are chosen, so the learner also applies one batch to the
// key-value store per iteration: this is the follower's whole per-slot CPU cost, minus
// I/O and packet handling.
#include "kbp_micro.h"

extern "C" {
#include "kbp_msg.h"
#include "kbp_node.h"
}

static void BM_acceptor_accept_persist_flush(benchmark::State &state)
{
	const uint32_t count = (uint32_t)state.range(0);
	kbp_node_config cfg;
	kbp_node_config_default(&cfg);
	cfg.self = 1;
	cfg.nodes = 3;
	kbp_node *n = kbp_node_new(&cfg);
	if (n == nullptr) {
		state.SkipWithError("kbp_node_new failed");
		return;
	}
	kbp_node_start(n, 1000, false);

	kbp_micro_puts batch, regs;
	if (!kbp_micro_puts_build(&batch, count) || !kbp_micro_registers_build(&regs, count)) {
		state.SkipWithError("kbp_cmd_encode failed");
		kbp_node_free(n);
		return;
	}

	// Slot 0 opens the sessions the puts run under (applied by the first measured step).
	kbp_msg m = {};
	m.type = KBP_MSG_ACCEPT;
	m.from = 0;
	m.to = 1;
	m.ballot = kbp_ballot_make(1, 0);
	m.count = count;
	m.len = regs.len();
	m.payload = regs.bytes.data();
	uint64_t now = 2000, slot = 0, accepted = 0, persisted_id = 0;
	kbp_update up;
	kbp_node_recv(n, &m, now);
	kbp_node_flush(n, now, &up);
	for (uint32_t i = 0; i < up.n_persist; i++)
		persisted_id = up.persist[i].id;
	kbp_node_persisted(n, persisted_id, now);
	kbp_node_flush(n, now, &up);
	slot = 1;
	m.len = batch.len();
	m.payload = batch.bytes.data();
	for (auto _ : state) {
		now += 1000;
		m.slot = slot;
		m.commit = slot;   // every earlier slot is chosen
		// Sessions dedupe by (client id, seq): fresh seqs so every batch is applied.  The
		// one non-step work left in the loop: count 8-byte stores, no decode.
		kbp_micro_puts_set_seq(&batch, slot + 1);
		kbp_node_recv(n, &m, now);
		kbp_node_flush(n, now, &up);
		for (uint32_t i = 0; i < up.n_persist; i++)
			persisted_id = up.persist[i].id;
		kbp_node_persisted(n, persisted_id, now);
		kbp_node_flush(n, now, &up);
		for (uint32_t i = 0; i < up.n_msgs; i++)
			accepted += up.msgs[i].type == KBP_MSG_ACCEPTED;
		slot++;
	}
	kbp_node_status st;
	kbp_node_get_status(n, &st);
	if (accepted < (uint64_t)state.iterations())
		state.SkipWithError("not every ACCEPT was answered with ACCEPTED");
	if (st.stats.cmds_applied < (st.applied - 1) * count)
		state.SkipWithError("puts were refused, not run: no sessions?");
	state.counters["applied_slots"] = (double)st.applied;
	state.SetItemsProcessed((int64_t)state.iterations() * count);
	kbp_node_free(n);
}
BENCHMARK(BM_acceptor_accept_persist_flush)->Arg(1)->Arg(64);
