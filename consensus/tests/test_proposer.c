/* SPDX-License-Identifier: MIT */
/*
 * The proposer and elections ("Paxos Made Live" §5): phase 1 once for all slots,
 * re-proposal of values the promises carry, no-ops for holes, jumping past a nacked
 * ballot, and duelling proposers converging on one leader.
 */
#include <string.h>

#include "harness.h"

#define B(round, node) kbp_ballot_make((round), (node))

static void put_and_wait(struct cluster *c, unsigned leader, uint64_t client, uint64_t seq, const char *key,
			 const char *val)
{
	struct kbp_cmd cmd = h_put(client, seq, key, val);
	assert_int_equal(cluster_submit(c, leader, &cmd), 0);
	assert_true(cluster_run_until_reply(c, client, seq, 100 * MS));
	assert_int_equal(cluster_reply(c, client, seq)->r.status, KBP_ST_OK);
}

/* Every node that applied a slot applied the same batch there. */
static void assert_agreement(const struct cluster *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		const struct h_node *a = &c->nodes[i];
		for (size_t k = 0; k < a->n_applied; k++) {
			for (unsigned j = i + 1; j < c->n; j++) {
				const struct h_apply *o = h_applied_slot(&c->nodes[j], a->applied[k].slot);
				if (!o)
					continue;
				assert_int_equal(o->count, a->applied[k].count);
				assert_int_equal(o->len, a->applied[k].len);
				assert_memory_equal(o->batch, a->applied[k].batch, o->len);
			}
		}
	}
}

CLUSTER_TEST(test_election_and_commit)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(CLUSTER_STATUS(i).leader, 0);
		assert_int_equal(CLUSTER_STATUS(i).promised, B(1, 0));
	}
	assert_int_equal(CLUSTER_STATUS(0).ballot, B(1, 0));
	assert_int_equal(CLUSTER_STATUS(0).stats.elections, 1);

	put_and_wait(c, 0, 1, 1, "apple", "red");
	put_and_wait(c, 0, 1, 2, "berry", "blue");
	CLUSTER_RUN(5 * MS);                   /* heartbeats carry the commit index */
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(CLUSTER_STATUS(i).commit, 2);
		assert_int_equal(CLUSTER_STATUS(i).applied, 2);
	}
	assert_agreement(c);
	/* Only the leader answers clients. */
	assert_int_equal(cluster_reply_count(c, 1, 1), 1);
	assert_int_equal(cluster_reply(c, 1, 1)->node, 0);
}

CLUSTER_TEST(test_new_leader_reproposes_minority_value_and_fills_holes)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "zero", "0");           /* slot 0, chosen everywhere */
	CLUSTER_RUN(2 * MS);

	/*
	 * Leader 0 proposes A at slot 1 and B at slot 2, but its own disk never completes,
	 * node 2 hears nothing, and the ACCEPT for slot 1 to node 1 is lost: only node 1
	 * accepts B (slot 2) — a minority.  Then leader 0 dies.
	 */
	c->nodes[0].manual_disk = true;
	CLUSTER_DISCONNECT(0, 2);
	struct kbp_cmd a = h_put(2, 1, "a", "A"), b = h_put(3, 1, "b", "B");
	cluster_submit(c, 0, &a);
	cluster_submit(c, 0, &b);
	assert_int_equal(CLUSTER_STATUS(0).next_slot, 3);
	struct h_msg lost;
	assert_true(cluster_take(c, KBP_MSG_ACCEPT, 0, 1, &lost));
	assert_int_equal(lost.m.slot, 1);
	cluster_msg_free(&lost);
	CLUSTER_RUN(2 * c->latency_ns);
	assert_int_equal(CLUSTER_STATUS(0).commit, 1);     /* B is not chosen */
	CLUSTER_STOP(0);
	cluster_heal(c);

	/* Node 2 takes over: node 1's promise reports (slot 2, ballot 1.0, B). */
	unsigned mark = cluster_trace_mark(c);
	CLUSTER_ELECT(2);
	assert_true(cluster_trace_has(c, mark, "1 -> 2 PROMISE b=2.2", "[2 1.0]"));
	assert_int_equal(CLUSTER_STATUS(2).ballot, B(2, 2));
	CLUSTER_RUN(10 * MS);

	/* Slot 1 was a hole: a no-op.  Slot 2 carries B, re-proposed under ballot 2.2. */
	for (unsigned i = 1; i <= 2; i++) {
		assert_int_equal(CLUSTER_STATUS(i).applied, 3);
		const struct h_apply *s1 = h_applied_slot(&c->nodes[i], 1), *s2 = h_applied_slot(&c->nodes[i], 2);
		struct kbp_cmd cmd;
		assert_non_null(s1);
		assert_non_null(s2);
		assert_true(h_batch_cmd(s1->batch, s1->len, s1->count, 0, &cmd));
		assert_int_equal(cmd.op, KBP_OP_NOOP);
		assert_true(h_batch_cmd(s2->batch, s2->len, s2->count, 0, &cmd));
		assert_int_equal(cmd.op, KBP_OP_PUT);
		assert_int_equal(cmd.client_id, 3);
		assert_memory_equal(cmd.val, "B", 1);
	}
	/* The new leader answers B's client; A was never chosen and is not applied. */
	assert_int_equal(cluster_reply(c, 3, 1)->r.status, KBP_ST_OK);
	assert_int_equal(cluster_reply(c, 3, 1)->node, 2);
	assert_null(cluster_reply(c, 2, 1));
	/* B is in the store: a CAS from "B" succeeds. */
	struct kbp_cmd cas = h_cas(4, 1, "b", "B", "B2");
	cluster_submit(c, 2, &cas);
	assert_true(cluster_run_until_reply(c, 4, 1, 50 * MS));
	assert_int_equal(cluster_reply(c, 4, 1)->r.status, KBP_ST_OK);
	assert_agreement(c);
}

CLUSTER_TEST(test_nack_makes_leader_jump_past_promised_ballot)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	assert_int_equal(CLUSTER_STATUS(0).ballot, B(1, 0));

	/* Somebody's phase 1 at ballot 5.2 reached node 1 (its proposer then went quiet). */
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 2, 1, B(5, 2), 0);
	cluster_inject(c, &p);
	cluster_take(c, KBP_MSG_PROMISE, 1, 2, NULL);
	assert_int_equal(CLUSTER_STATUS(1).promised, B(5, 2));

	/* Leader 0's next ACCEPT is nacked with 5.2: it steps down. */
	unsigned mark = cluster_trace_mark(c);
	struct kbp_cmd put = h_put(1, 1, "k", "v");
	cluster_submit(c, 0, &put);
	CLUSTER_RUN(3 * c->latency_ns);
	assert_true(cluster_trace_has(c, mark, "1 -> 0 NACK b=1.0", "promised=5.2"));
	assert_int_not_equal(CLUSTER_STATUS(0).role, KBP_ROLE_LEADER);

	/* Its next ballot is past the promised one: round 6, not 2. */
	CLUSTER_ELECT(0);
	assert_int_equal(kbp_ballot_round(CLUSTER_STATUS(0).ballot), 6);
	assert_true(CLUSTER_STATUS(0).ballot > B(5, 2));
	/* The command either committed before the takeover or the client retries it now. */
	cluster_submit(c, 0, &put);
	assert_true(cluster_run_until_reply(c, 1, 1, 50 * MS));
}

CLUSTER_TEST(test_nack_makes_candidate_jump_past_promised_ballot)
{
	CLUSTER_START();
	CLUSTER_STOP(1);
	CLUSTER_STOP(2);
	c->now = 2 * c->cfg.election_timeout_ns;   /* past any first election deadline */
	cluster_tick(c, 0);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_CANDIDATE);
	assert_int_equal(CLUSTER_STATUS(0).ballot, B(1, 0));

	/* A lease refusal (a NACK naming a lower ballot) does not defeat the candidate. */
	struct kbp_msg n = h_mk(KBP_MSG_NACK, 1, 0, B(1, 0), 0);
	n.aux = 0;
	cluster_inject(c, &n);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_CANDIDATE);

	/* A NACK naming 7.1: the candidate gives up ... */
	n.aux = B(7, 1);
	cluster_inject(c, &n);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_FOLLOWER);

	/* ... and its next attempt (after backoff) starts at round 8. */
	uint64_t give_up = c->now + 50 * c->cfg.election_timeout_ns;
	while (CLUSTER_STATUS(0).stats.elections < 2 && c->now < give_up)
		CLUSTER_RUN(MS);
	assert_int_equal(CLUSTER_STATUS(0).stats.elections, 2);
	assert_int_equal(CLUSTER_STATUS(0).ballot, B(8, 0));
	assert_int_equal(CLUSTER_STATUS(0).promised, B(8, 0));
}

CLUSTER_TEST(test_election_backoff_grows)
{
	/* Alone, a candidate retries with exponentially growing gaps (bounded by the shift). */
	CLUSTER_START();
	CLUSTER_STOP(1);
	CLUSTER_STOP(2);
	uint64_t at[6] = { 0 };
	unsigned k = 0;
	while (k < 6 && c->now < 2000 * MS) {
		CLUSTER_RUN(100 * US);
		uint64_t e = CLUSTER_STATUS(0).stats.elections;
		if (e > k)
			at[k++] = c->now;
	}
	assert_int_equal(k, 6);
	uint64_t t = c->cfg.election_timeout_ns;
	for (unsigned i = 1; i < 6; i++) {
		uint64_t gap = at[i] - at[i - 1];
		unsigned shift = i - 1 < c->cfg.backoff_max_shift ? i - 1 : c->cfg.backoff_max_shift;
		assert_true(gap + 100 * US >= t << shift);   /* sampled every 100 us */
		assert_true(gap < (2 * t << shift) + c->cfg.retransmit_ns);
	}
	/* Every attempt used a fresh, higher ballot. */
	assert_int_equal(kbp_ballot_round(CLUSTER_STATUS(0).ballot), 6);
}

CLUSTER_TEST(test_duelling_proposers_converge)
{
	CLUSTER_START();
	/* Nodes 0 and 1 start phase 1 at the same instant; node 2 only votes at first. */
	c->nodes[2].hold_timer = true;
	c->now = 2 * c->cfg.election_timeout_ns;
	cluster_tick(c, 0);
	cluster_tick(c, 1);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_CANDIDATE);
	assert_int_equal(CLUSTER_STATUS(1).role, KBP_ROLE_CANDIDATE);
	assert_int_equal(kbp_ballot_round(CLUSTER_STATUS(0).ballot), kbp_ballot_round(CLUSTER_STATUS(1).ballot));

	CLUSTER_RUN(100 * MS);
	c->nodes[2].hold_timer = false;
	CLUSTER_RUN(200 * MS);

	assert_int_equal(cluster_leader_count(c), 1);
	int l = cluster_leader(c);
	assert_true(l >= 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(CLUSTER_STATUS(i).leader, (unsigned)l);
	/* The cluster is stable: nobody started an election in the last stretch. */
	uint64_t elections = 0;
	for (unsigned i = 0; i < 3; i++)
		elections += CLUSTER_STATUS(i).stats.elections;
	CLUSTER_RUN(200 * MS);
	uint64_t after = 0;
	for (unsigned i = 0; i < 3; i++)
		after += CLUSTER_STATUS(i).stats.elections;
	assert_int_equal(after, elections);

	for (uint64_t s = 1; s <= 5; s++)
		put_and_wait(c, (unsigned)l, 9, s, "k", "v");
	CLUSTER_RUN(5 * MS);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(CLUSTER_STATUS(i).applied, CLUSTER_STATUS((unsigned)l).commit);
	assert_agreement(c);
}

CLUSTER_TEST(test_duel_with_lost_promises_converges)
{
	/* A harder duel: the first round of promises is lost, so both retry and must back off. */
	CLUSTER_START();
	c->now = 2 * c->cfg.election_timeout_ns;
	cluster_tick(c, 0);
	cluster_tick(c, 1);
	cluster_tick(c, 2);
	CLUSTER_RUN(c->latency_ns);
	while (cluster_take(c, KBP_MSG_PROMISE, H_ANY, H_ANY, NULL))
		;
	CLUSTER_RUN(500 * MS);
	assert_int_equal(cluster_leader_count(c), 1);
	int l = cluster_leader(c);
	for (uint64_t s = 1; s <= 3; s++)
		put_and_wait(c, (unsigned)l, 9, s, "k", "v");
	assert_agreement(c);
}

CLUSTER_TEST(test_leader_steps_down_for_higher_prepare)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 1, 0, B(4, 1), 0);
	cluster_inject(c, &p);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_FOLLOWER);
	assert_int_equal(CLUSTER_STATUS(0).leader, 1);
	assert_non_null(cluster_find(c, KBP_MSG_PROMISE, 0, 1));
	/* A queued client command is answered NOT_LEADER with the new hint. */
	struct kbp_cmd put = h_put(1, 1, "k", "v");
	assert_int_equal(cluster_submit(c, 0, &put), -KBP_ENOTLEADER);
	assert_int_equal(cluster_reply(c, 1, 1)->r.status, KBP_ST_NOT_LEADER);
	assert_int_equal(cluster_reply(c, 1, 1)->r.leader, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CLUSTER_TEST_ENTRY(test_election_and_commit),
		CLUSTER_TEST_ENTRY(test_new_leader_reproposes_minority_value_and_fills_holes),
		CLUSTER_TEST_ENTRY(test_nack_makes_leader_jump_past_promised_ballot),
		CLUSTER_TEST_ENTRY(test_nack_makes_candidate_jump_past_promised_ballot),
		CLUSTER_TEST_ENTRY(test_election_backoff_grows),
		CLUSTER_TEST_ENTRY(test_duelling_proposers_converge),
		CLUSTER_TEST_ENTRY(test_duel_with_lost_promises_converges),
		CLUSTER_TEST_ENTRY(test_leader_steps_down_for_higher_prepare),
	};
	return cmocka_run_group_tests_name("proposer", tests, NULL, NULL);
}
