// SPDX-License-Identifier: MIT
// The acceptor's step, as a follower's consensus lcore runs it per ACCEPT: kbp_node_recv
// of an ACCEPT carrying a 64-command batch (64-byte puts) from the leader, kbp_node_flush
// (one persist request out), kbp_node_persisted for it (the log reports it durable), and
// kbp_node_flush again (the ACCEPTED goes out).  Each ACCEPT's commit index tells the
// node the previous slots are chosen, so the learner also applies one batch to the
// key-value store per iteration: this is the follower's whole per-slot CPU cost, minus
// I/O and packet handling.
#include <cstring>
#include <vector>

#include "kbp_micro.h"

extern "C" {
#include "kbp_cmd.h"
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

	// count puts over 1024 keys, so the store stays small.
	std::vector<uint8_t> batch(count * 128);
	uint8_t key[16], val[64];
	uint32_t len = 0;
	std::memset(val, 0x5a, sizeof(val));
	for (uint32_t i = 0; i < count; i++) {
		std::memset(key, '0', sizeof(key));
		key[0] = 'k';
		key[13] = (uint8_t)('0' + (i / 100) % 10);
		key[14] = (uint8_t)('0' + (i / 10) % 10);
		key[15] = (uint8_t)('0' + i % 10);
		kbp_cmd c = {};
		c.client_id = 1000 + i;
		c.seq = 1;
		c.op = KBP_OP_PUT;
		c.key_len = sizeof(key);
		c.val_len = sizeof(val);
		c.key = key;
		c.val = val;
		len += (uint32_t)kbp_cmd_encode(&c, batch.data() + len, (uint32_t)batch.size() - len);
	}

	kbp_msg m = {};
	m.type = KBP_MSG_ACCEPT;
	m.from = 0;
	m.to = 1;
	m.ballot = kbp_ballot_make(1, 0);
	m.count = count;
	m.len = len;
	m.payload = batch.data();

	uint64_t now = 2000, slot = 0, accepted = 0, persisted_id = 0;
	kbp_update up;
	for (auto _ : state) {
		now += 1000;
		m.slot = slot;
		m.commit = slot;   // every earlier slot is chosen
		// Sessions dedupe by (client id, seq): fresh seqs so every batch is applied.
		for (uint32_t i = 0, off = 0; i < count; i++) {
			kbp_le64_store(batch.data() + off + 8, slot + 1);
			kbp_cmd c;
			off += (uint32_t)kbp_cmd_decode(&c, batch.data() + off, len - off);
		}
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
	state.counters["applied_slots"] = (double)st.applied;
	state.SetItemsProcessed((int64_t)state.iterations() * count);
	kbp_node_free(n);
}
BENCHMARK(BM_acceptor_accept_persist_flush)->Arg(1)->Arg(64);
