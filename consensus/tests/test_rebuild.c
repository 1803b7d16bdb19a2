/* SPDX-License-Identifier: MIT */
/*
 * A node that lost its disk rebuilds as a non-voting learner ("Paxos Made Live" §5.1,
 * issue 11 item 4): it promises, accepts and grants nothing until it has heard a leader
 * elected above every promise its peers reported and holds every slot below that
 * leader's term start.  The rule and its argument are in consensus/kbp_rebuild.c.
 *
 * KBP_TEST_BREAK=0x8 (rebuild-votes-early) makes the pitfall tests below fail.
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

/* Asks `leader` for key; returns the reply (OK or NOT_FOUND), failing on a timeout. */
static const struct h_reply *get_from(struct cluster *c, unsigned leader, uint64_t client, const char *key)
{
	struct kbp_cmd cmd = h_get(client, 1, key);
	cluster_submit(c, leader, &cmd);
	assert_true(cluster_run_until_reply(c, client, 1, 200 * MS));
	return cluster_reply(c, client, 1);
}

static void assert_value(const struct h_reply *r, const char *val)
{
	assert_int_equal(r->r.status, KBP_ST_OK);
	assert_int_equal(r->r.val_len, strlen(val));
	assert_memory_equal(r->r.val, val, strlen(val));
}

/* What node i said since trace mark `mark` that counts as a vote, or NULL. */
static const char *vote_since(const struct cluster *c, unsigned mark, unsigned i)
{
	char from[16];
	snprintf(from, sizeof(from), "%u -> ", i);
	static const char *const votes[] = { "PROMISE", "ACCEPTED", "grant@" };
	for (unsigned k = 0; k < 3; k++)
		if (cluster_trace_has(c, mark, from, votes[k]))
			return votes[k];
	return NULL;
}

static void assert_no_votes(const struct cluster *c, unsigned mark, unsigned i)
{
	const char *v = vote_since(c, mark, i);
	if (v)
		fail_msg("node %u voted (%s) while rebuilding", i, v);
}

CLUSTER_TEST(test_rebuild_learns_then_votes_after_a_new_leader)
{
	char key[16];
	CLUSTER_START();
	CLUSTER_ELECT(0);
	for (unsigned k = 0; k < 6; k++) {
		snprintf(key, sizeof(key), "k%u", k);
		put_and_wait(c, 0, 1, k + 1, key, "v");
	}
	CLUSTER_RUN(5 * MS);
	uint64_t old_ballot = CLUSTER_STATUS(0).ballot;

	cluster_wipe(c, 2);
	unsigned mark = cluster_trace_mark(c);
	cluster_restart_rebuild(c, 2);
	assert_int_equal(CLUSTER_STATUS(2).rebuild, KBP_REBUILD_QUERY);
	/* It asks both peers what they promised (a PREPARE at ballot 0), and they answer. */
	assert_int_equal(cluster_count(c, KBP_MSG_PREPARE, 2, H_ANY), 2);
	assert_int_equal(cluster_find(c, KBP_MSG_PREPARE, 2, 0)->m.ballot, 0);
	CLUSTER_RUN(2 * c->latency_ns);
	assert_true(cluster_trace_has(c, mark, "0 -> 2 NACK b=0.0", NULL));
	assert_int_equal(CLUSTER_STATUS(2).rebuild_floor, old_ballot);
	/* The leader's ballot is not above the floor: it is told a higher promise and re-elects. */
	put_and_wait(c, 0, 1, 7, "k7", "v");
	CLUSTER_RUN(20 * MS);
	uint64_t new_ballot = CLUSTER_STATUS(0).ballot;
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_LEADER);
	assert_true(new_ballot > old_ballot);
	assert_true(cluster_trace_has(c, mark, "2 -> 0 NACK", "promised=2.2"));
	assert_no_votes(c, mark, 2);

	/* It caught up, wrote its closing promise and votes now. */
	struct kbp_node_status st = CLUSTER_STATUS(2);
	assert_int_equal(st.rebuild, KBP_REBUILD_NONE);
	assert_int_equal(st.rebuild_ballot, new_ballot);
	assert_true(st.commit >= st.rebuild_target);
	assert_true(st.promised >= new_ballot);
	assert_int_equal(st.applied, CLUSTER_STATUS(0).applied);
	mark = cluster_trace_mark(c);
	put_and_wait(c, 0, 1, 8, "k8", "v");
	assert_true(cluster_trace_has(c, mark, "2 -> 0 ACCEPTED", NULL));
	/* Its disk holds the closing promise after the chosen values it learnt. */
	const struct h_node *hn = &c->nodes[2];
	size_t promise_at = 0, chosen = 0;
	for (size_t k = 0; k < hn->n_disk; k++) {
		if (hn->disk[k].p.type == KBP_PERSIST_PROMISE && !promise_at)
			promise_at = k;
		chosen += hn->disk[k].p.type == KBP_PERSIST_ACCEPT && hn->disk[k].p.ballot == KBP_BALLOT_CHOSEN;
	}
	assert_true(chosen >= 7 && promise_at >= chosen);
}

/*
 * Pitfall (a), forgotten acceptances: x=1 was chosen by nodes 0 and 2 only (node 1 was
 * cut off).  Node 2 loses its disk and the leader crashes: the only copy of x=1 is on
 * node 0's disk.  Voting at once, node 2 would let node 1 lead without x=1.
 */
CLUSTER_TEST(test_rebuild_does_not_forget_an_acceptance)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "base", "v");
	CLUSTER_RUN(5 * MS);
	cluster_isolate(c, 1);
	c->nodes[1].hold_timer = true;
	put_and_wait(c, 0, 1, 2, "x", "1");
	CLUSTER_RUN(5 * MS);

	cluster_wipe(c, 2);
	CLUSTER_STOP(0);
	cluster_heal(c);
	c->nodes[1].hold_timer = false;
	cluster_restart_rebuild(c, 2);
	unsigned mark = cluster_trace_mark(c);
	CLUSTER_RUN(100 * MS);
	unsigned leaders_meanwhile = cluster_leader_count(c);
	unsigned stage_meanwhile = CLUSTER_STATUS(2).rebuild;
	const char *vote_meanwhile = vote_since(c, mark, 2);

	cluster_restart(c, 0, true);
	CLUSTER_RUN(100 * MS);
	int l = cluster_leader(c);
	assert_true(l >= 0);
	assert_value(get_from(c, (unsigned)l, 2, "x"), "1");
	CLUSTER_RUN(50 * MS);
	cluster_assert_agreement(c);
	assert_int_equal(CLUSTER_STATUS(2).rebuild, KBP_REBUILD_NONE);
	/* Without node 0 nobody could lead: node 2 was no voter, node 1 was alone. */
	assert_int_equal(leaders_meanwhile, 0);
	assert_int_not_equal(stage_meanwhile, KBP_REBUILD_NONE);
	assert_null(vote_meanwhile);
}

/*
 * Pitfall (b), forgotten promises: node 2 promised 2.1 to node 1, which leads on that
 * promise; then node 2 loses its disk.  The old leader 0 (at 1.0) still runs.  Voting at
 * once, node 2 accepts 1.0 (v chosen with node 0) and then 2.1 (w chosen with node 1)
 * for the same slot.
 */
CLUSTER_TEST(test_rebuild_does_not_forget_a_promise)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "base", "v");
	CLUSTER_RUN(5 * MS);

	/* Node 1, cut off from node 0, leads at 2.1 on node 2's promise; node 0 never hears. */
	CLUSTER_DISCONNECT(0, 1);
	c->link_down[2][0] = true;
	c->nodes[0].hold_timer = c->nodes[2].hold_timer = true;
	CLUSTER_ELECT(1);
	assert_int_equal(CLUSTER_STATUS(1).ballot, B(2, 1));
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_LEADER);

	/* Node 2 loses its disk and comes back; for a while it hears only node 0. */
	cluster_wipe(c, 2);
	c->link_down[2][0] = false;
	c->link_down[1][2] = c->link_down[2][1] = true;
	cluster_restart_rebuild(c, 2);
	struct kbp_cmd v = h_put(5, 1, "k", "v");
	cluster_submit(c, 0, &v);
	cluster_run_until_reply(c, 5, 1, 20 * MS);
	/* Then only node 1. */
	CLUSTER_DISCONNECT(0, 2);
	CLUSTER_RECONNECT(1, 2);
	struct kbp_cmd w = h_put(6, 1, "k", "w");
	cluster_submit(c, 1, &w);
	CLUSTER_RUN(20 * MS);
	cluster_heal(c);
	c->nodes[0].hold_timer = c->nodes[2].hold_timer = false;
	CLUSTER_RUN(100 * MS);
	cluster_assert_agreement(c);
	/* Both writes that were acknowledged are in the one history the nodes share. */
	const struct h_reply *rv = cluster_reply(c, 5, 1), *rw = cluster_reply(c, 6, 1);
	int l = cluster_leader(c);
	assert_true(l >= 0);
	const struct h_reply *g = get_from(c, (unsigned)l, 7, "k");
	if (rv && rv->r.status == KBP_ST_OK && rw && rw->r.status == KBP_ST_OK)
		fail_msg("both v and w acknowledged for one key by two leaders");
	if (rw && rw->r.status == KBP_ST_OK)
		assert_value(g, "w");
	CLUSTER_RUN(50 * MS);
	assert_int_equal(CLUSTER_STATUS(2).rebuild, KBP_REBUILD_NONE);
}

/*
 * Pitfall (c): a node that crashes while rebuilding restarts rebuilding (the host keeps
 * its marker), from the partial log it wrote, and still votes only at the end.
 */
CLUSTER_TEST(test_rebuild_interrupted_by_a_crash_resumes)
{
	char key[16];
	CLUSTER_START();
	CLUSTER_ELECT(0);
	for (unsigned k = 0; k < 10; k++) {
		snprintf(key, sizeof(key), "k%u", k);
		put_and_wait(c, 0, 1, k + 1, key, "v");
	}
	cluster_wipe(c, 2);
	/* Node 2 gets half of the slots it must catch up on, then crashes. */
	cluster_restart_rebuild(c, 2);
	uint64_t give_up = c->now + 100 * MS;
	while (!cluster_find(c, KBP_MSG_CATCHUP, H_ANY, 2) && c->now < give_up)
		CLUSTER_RUN(c->latency_ns / 4);
	for (size_t k = 0; k < c->q_n;) {
		if (c->q[k].m.type == KBP_MSG_CATCHUP && c->q[k].m.slot >= 5) {
			cluster_msg_free(&c->q[k]);
			memmove(c->q + k, c->q + k + 1, (c->q_n - k - 1) * sizeof(*c->q));
			c->q_n--;
		} else {
			k++;
		}
	}
	CLUSTER_RUN(c->latency_ns);
	assert_int_not_equal(CLUSTER_STATUS(2).rebuild, KBP_REBUILD_NONE);
	assert_int_equal(CLUSTER_STATUS(2).commit, 5);
	unsigned mark = cluster_trace_mark(c);
	cluster_stop(c, 2);
	size_t partial = c->nodes[2].n_disk;
	assert_true(partial > 0);

	cluster_restart_rebuild(c, 2);
	assert_int_equal(CLUSTER_STATUS(2).rebuild, KBP_REBUILD_QUERY);
	assert_true(CLUSTER_STATUS(2).commit > 0);       /* it kept what it had learnt */
	while (CLUSTER_STATUS(2).rebuild != KBP_REBUILD_NONE && c->now < give_up + 100 * MS)
		CLUSTER_RUN(c->latency_ns);
	assert_no_votes(c, mark, 2);
	assert_int_equal(CLUSTER_STATUS(2).rebuild, KBP_REBUILD_NONE);
	CLUSTER_RUN(10 * MS);
	assert_int_equal(CLUSTER_STATUS(2).applied, CLUSTER_STATUS(0).applied);
	cluster_assert_agreement(c);
}

/*
 * The operator's whole procedure (tests/cluster/rebuild.sh in the harness), leases on:
 * after the rebuild, the old leader dies and the rebuilt node is part of the majority
 * that must still answer every acknowledged write.
 */
CLUSTER_TEST(test_rebuilt_node_carries_the_majority)
{
	char key[16], val[16];
	c->cfg.leases = true;
	c->cfg.lease_ns = 15 * MS;
	c->cfg.kv_keys_max = 1024;
	c->cfg.election_timeout_ns = 20 * MS;
	c->cfg.heartbeat_ns = 1 * MS;
	CLUSTER_START();
	CLUSTER_ELECT(0);
	for (unsigned k = 0; k < 300; k++) {
		snprintf(key, sizeof(key), "k%u", k);
		snprintf(val, sizeof(val), "v%u", k);
		put_and_wait(c, 0, k % 7 + 1, k / 7 + 1, key, val);
	}
	cluster_wipe(c, 1);
	CLUSTER_STOP(2);
	cluster_restart_rebuild(c, 1);
	CLUSTER_RUN(50 * MS);
	assert_int_equal(CLUSTER_STATUS(1).rebuild, KBP_REBUILD_QUERY);
	cluster_restart_rebuild(c, 1);                /* killed while rebuilding */
	cluster_restart(c, 2, true);
	CLUSTER_RUN(200 * MS);
	assert_int_equal(CLUSTER_STATUS(1).rebuild, KBP_REBUILD_NONE);
	int l = cluster_leader(c);
	assert_true(l >= 0);
	CLUSTER_STOP((unsigned)l);
	CLUSTER_RUN(200 * MS);
	l = cluster_leader(c);
	assert_true(l >= 0);
	for (unsigned k = 0; k < 300; k++) {
		snprintf(key, sizeof(key), "k%u", k);
		snprintf(val, sizeof(val), "v%u", k);
		struct kbp_cmd get = h_get(100, k + 1, key);
		cluster_submit(c, (unsigned)l, &get);
		assert_true(cluster_run_until_reply(c, 100, k + 1, 100 * MS));
		assert_value(cluster_reply(c, 100, k + 1), val);
	}
	cluster_assert_agreement(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CLUSTER_TEST_ENTRY(test_rebuild_learns_then_votes_after_a_new_leader),
		CLUSTER_TEST_ENTRY(test_rebuild_does_not_forget_an_acceptance),
		CLUSTER_TEST_ENTRY(test_rebuild_does_not_forget_a_promise),
		CLUSTER_TEST_ENTRY(test_rebuild_interrupted_by_a_crash_resumes),
		CLUSTER_TEST_ENTRY(test_rebuilt_node_carries_the_majority),
	};
	return cmocka_run_group_tests_name("rebuild", tests, NULL, NULL);
}
