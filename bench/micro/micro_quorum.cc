// SPDX-License-Identifier: MIT
// The leader's quorum step, as the leader's consensus lcore runs it per burst of
// ACCEPTEDs: a pipelined window of slots is proposed and the leader's own accepts are
// durable; kbp_node_recv of one ACCEPTED per slot from follower 1 (with the leader's own
// vote, a majority of 3), then kbp_node_flush until the learner has moved the commit
// index over the window, applied every batch and produced every client reply.  Only
// that is timed (manual timing): proposing the window (CLIENT_REQs in, flush, persisted,
// flush) is set-up.  The follower's late third vote is left out.
#include <chrono>

#include "kbp_micro.h"

extern "C" {
#include "kbp_msg.h"
#include "kbp_node.h"
}

namespace {

constexpr uint32_t flushes_max = 64;   // apply_max bounds the commands applied per flush

uint64_t last_persist_id(const kbp_update &up, uint64_t id)
{
	for (uint32_t i = 0; i < up.n_persist; i++)
		id = up.persist[i].id;
	return id;
}

// Node 0 of 3 wins an election the way the protocol runs one: its election timer fires,
// its own promise is made durable, and node 1 promises with no accepted values to report
// (KBP_MF_LAST, an empty chunk from slot 0).  False if it does not end up leading.
bool make_leader(kbp_node *n, uint64_t *now)
{
	kbp_update up;
	kbp_node_status st;

	kbp_node_start(n, *now, false);
	kbp_node_flush(n, *now, &up);
	for (int i = 0; i < 100; i++) {
		kbp_node_get_status(n, &st);
		if (st.role == KBP_ROLE_CANDIDATE)
			break;
		*now = up.deadline_ns;
		kbp_node_tick(n, *now);
		kbp_node_flush(n, *now, &up);
	}
	kbp_node_persisted(n, last_persist_id(up, 0), *now);
	kbp_msg p = {};
	p.type = KBP_MSG_PROMISE;
	p.flags = KBP_MF_LAST;
	p.from = 1;
	p.to = 0;
	p.ballot = st.ballot;
	kbp_node_recv(n, &p, *now);
	kbp_node_flush(n, *now, &up);
	kbp_node_get_status(n, &st);
	return st.role == KBP_ROLE_LEADER;
}

struct quorum_fixture {
	kbp_node *n = nullptr;
	uint32_t window = 0;
	kbp_micro_puts batch;
	kbp_msg client_req = {};
	kbp_msg accepted = {};
	uint64_t now = 1000, seq = 0, next_slot = 0, persisted_id = 0;

	~quorum_fixture() { kbp_node_free(n); }

	// Fills the window: one client batch per slot, each with a fresh seq; the ACCEPTs
	// to the followers are dropped, the leader's own accepts reported durable.
	void propose_window()
	{
		kbp_update up;

		now += 1000;
		for (uint32_t w = 0; w < window; w++) {
			kbp_micro_puts_set_seq(&batch, ++seq);
			kbp_node_recv(n, &client_req, now);
		}
		kbp_node_flush(n, now, &up);
		persisted_id = last_persist_id(up, persisted_id);
		kbp_node_persisted(n, persisted_id, now);
		kbp_node_flush(n, now, &up);          // counts the leader's own votes
	}

	// Untimed: one slot of REGISTERs, committed and applied, opens the sessions 1..count
	// the puts run under.  True if every one was answered OK.
	bool open_sessions(const kbp_micro_puts &regs)
	{
		kbp_update up;
		kbp_msg req = client_req;
		uint32_t ok = 0;

		req.count = regs.count;
		req.len = regs.len();
		req.payload = regs.bytes.data();
		now += 1000;
		kbp_node_recv(n, &req, now);
		kbp_node_flush(n, now, &up);
		persisted_id = last_persist_id(up, persisted_id);
		kbp_node_persisted(n, persisted_id, now);
		kbp_node_flush(n, now, &up);
		accepted.slot = next_slot++;
		kbp_node_recv(n, &accepted, now);
		for (uint32_t f = 0; f < flushes_max && ok < regs.count; f++) {
			kbp_node_flush(n, now, &up);
			for (uint32_t i = 0; i < up.n_replies; i++)
				ok += up.replies[i].status == KBP_ST_OK;
		}
		return ok == regs.count;
	}

	// The measured step; returns the client replies it produced.
	uint64_t quorum_step()
	{
		kbp_update up;
		uint64_t replies = 0, want = (uint64_t)window * batch.count;

		for (uint32_t w = 0; w < window; w++) {
			accepted.slot = next_slot + w;
			kbp_node_recv(n, &accepted, now);
		}
		for (uint32_t f = 0; f < flushes_max && replies < want; f++) {
			kbp_node_flush(n, now, &up);
			replies += up.n_replies;
		}
		next_slot += window;
		return replies;
	}
};

} // namespace

static void BM_leader_quorum_step(benchmark::State &state)
{
	quorum_fixture q;
	kbp_node_config cfg;
	kbp_node_config_default(&cfg);
	cfg.self = 0;
	cfg.nodes = 3;
	cfg.window = (uint32_t)state.range(0);
	cfg.batch_cmds_max = (uint32_t)state.range(1);   // one client batch per slot
	q.window = cfg.window;
	q.n = kbp_node_new(&cfg);
	if (q.n == nullptr || !kbp_micro_puts_build(&q.batch, cfg.batch_cmds_max)) {
		state.SkipWithError("kbp_node_new or kbp_cmd_encode failed");
		return;
	}
	if (!make_leader(q.n, &q.now)) {
		state.SkipWithError("node 0 did not become leader");
		return;
	}
	kbp_node_status st;
	kbp_node_get_status(q.n, &st);
	q.next_slot = st.next_slot;
	q.client_req.type = KBP_MSG_CLIENT_REQ;
	q.client_req.from = KBP_NODE_CLIENT;
	q.client_req.to = 0;
	q.client_req.count = q.batch.count;
	q.client_req.len = q.batch.len();
	q.client_req.payload = q.batch.bytes.data();
	q.accepted.type = KBP_MSG_ACCEPTED;
	q.accepted.from = 1;
	q.accepted.to = 0;
	q.accepted.ballot = st.ballot;

	kbp_micro_puts regs;
	if (!kbp_micro_registers_build(&regs, q.batch.count) || !q.open_sessions(regs)) {
		state.SkipWithError("the sessions for the puts did not open");
		return;
	}
	const uint64_t first_put_slot = q.next_slot;

	// Untimed warm-up: twice round the log ring, so page faults and cold KV and
	// session slots are not in the figures.
	const uint64_t want = (uint64_t)q.window * q.batch.count;
	for (uint32_t r = 0; r < 2 * cfg.log_slots / q.window; r++) {
		q.propose_window();
		q.quorum_step();
	}

	double timed_s = 0;
	for (auto _ : state) {
		q.propose_window();
		auto t0 = std::chrono::steady_clock::now();
		uint64_t replies = q.quorum_step();
		auto t1 = std::chrono::steady_clock::now();
		double s = std::chrono::duration<double>(t1 - t0).count();
		state.SetIterationTime(s);
		timed_s += s;
		if (replies != want) {
			state.SkipWithError("the window was not committed and answered");
			return;
		}
	}
	kbp_node_get_status(q.n, &st);
	if (st.commit != q.next_slot || st.applied != st.commit) {
		state.SkipWithError("commit or applied index short of the proposed slots");
		return;
	}
	if (st.stats.cmds_applied < (q.next_slot - first_put_slot) * q.batch.count) {
		state.SkipWithError("puts were refused, not run: no sessions?");
		return;
	}
	const double slots = (double)state.iterations() * q.window;
	state.SetItemsProcessed((int64_t)slots);          // items = slots
	state.counters["ns_per_slot"] = timed_s * 1e9 / slots;
	state.counters["cmds_per_s"] = benchmark::Counter(slots * q.batch.count, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_leader_quorum_step)
	->ArgNames({ "window", "cmds" })
	->Args({ 64, 1 })
	->Args({ 64, 64 })
	->UseManualTime();
