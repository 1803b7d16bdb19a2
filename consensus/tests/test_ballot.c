/* SPDX-License-Identifier: MIT */
/*
 * Ballots a peer cannot abuse (issue 11 item 2, issue 12): one maximal ballot must not
 * make a later ballot wrap and a promise go backwards, and a ballot naming another node
 * than the one that sends it is dropped wherever only a forger could send it.
 */
#include <string.h>

#include "harness.h"

#define B(round, node) kbp_ballot_make((round), (node))
#define ROUND_LAST (KBP_BALLOT_ROUND_MAX - 1)   /* the highest round a node may use */
/* A ballot no node can make: in the reserved last round (kbp_ballot_make asserts). */
#define B_MAX(node) ((KBP_BALLOT_ROUND_MAX << KBP_BALLOT_NODE_BITS) | (node))

/* Runs the cluster for `ns` in 100 us steps, failing if any node's promise goes down. */
static void run_watching_promises(struct cluster *c, uint64_t ns)
{
	uint64_t end = c->now + ns;
	uint64_t last[H_NODES] = { 0 };
	for (unsigned i = 0; i < c->n; i++)
		last[i] = c->nodes[i].up ? CLUSTER_STATUS(i).promised : 0;
	while (c->now < end) {
		CLUSTER_RUN(100 * US);
		for (unsigned i = 0; i < c->n; i++) {
			if (!c->nodes[i].up)
				continue;
			uint64_t p = CLUSTER_STATUS(i).promised;
			if (p < last[i])
				fail_msg("node %u: promise went backwards from %llx to %llx", i,
					 (unsigned long long)last[i], (unsigned long long)p);
			last[i] = p;
		}
	}
}

static void put_and_wait(struct cluster *c, unsigned leader, uint64_t client, const char *val)
{
	struct kbp_cmd cmd = h_put(client, 1, "k", val);
	cluster_submit(c, leader, &cmd);
	assert_true(cluster_run_until_reply(c, client, 1, 50 * MS));
	assert_int_equal(cluster_reply(c, client, 1)->r.status, KBP_ST_OK);
}

/*
 * The scenario: node 0 leads at 1.0 and, cut off, proposes A for slot 1; node 2
 * takes over at 2.2 and gets B chosen for slot 1 with node 1.  Then one message with a
 * maximal ballot reaches node 2, and an ordinary partition schedule follows.  Before the
 * fix node 2's next ballot wrapped to round 0, its promise fell below 1.0, it accepted
 * node 0's stale ACCEPT, and node 0 applied A where the others applied B.
 */
static void max_ballot_then_partitions(struct cluster *c, const struct kbp_msg *evil)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, "first");
	CLUSTER_RUN(5 * MS);

	cluster_isolate(c, 0);
	struct kbp_cmd a = h_put(2, 1, "k", "A");
	cluster_submit(c, 0, &a);                 /* slot 1 at 1.0, accepted by node 0 alone */
	c->nodes[0].hold_timer = true;
	CLUSTER_ELECT(2);
	c->nodes[0].hold_timer = false;
	put_and_wait(c, 2, 3, "B");               /* slot 1 at 2.2, chosen by nodes 1 and 2 */
	CLUSTER_RUN(5 * MS);
	assert_int_equal(CLUSTER_STATUS(2).ballot, B(2, 2));

	uint64_t promised = CLUSTER_STATUS(2).promised;
	cluster_inject(c, evil);
	assert_true(CLUSTER_STATUS(2).promised >= promised);

	/*
	 * Ordinary partitions: node 1 loses node 2 and starts an election; when they meet
	 * again node 2 is nacked and runs one itself; then node 0 is heard again.
	 */
	CLUSTER_DISCONNECT(1, 2);
	run_watching_promises(c, 40 * MS);
	CLUSTER_RECONNECT(1, 2);
	run_watching_promises(c, 2 * MS);
	CLUSTER_RECONNECT(0, 2);
	run_watching_promises(c, 20 * MS);
	cluster_heal(c);
	run_watching_promises(c, 60 * MS);
	cluster_assert_agreement(c);
}

CLUSTER_TEST(test_max_round_prepare_cannot_wrap_ballots)
{
	struct kbp_msg evil = h_mk(KBP_MSG_PREPARE, 1, 2, B_MAX(1), 0);
	max_ballot_then_partitions(c, &evil);
	assert_true(CLUSTER_STATUS(2).stats.ballots_refused >= 1);   /* new */
}

CLUSTER_TEST(test_max_round_in_any_field_cannot_wrap_ballots)
{
	/* A COMMIT_ACK's ballot is not even read, yet it used to feed the next round. */
	struct kbp_msg evil = h_mk(KBP_MSG_COMMIT_ACK, 1, 2, B_MAX(2), 0);
	max_ballot_then_partitions(c, &evil);
}

CLUSTER_TEST(test_ballots_saturate_at_the_last_round)
{
	CLUSTER_START();
	/* The highest usable round is promised: fine, nothing newer can be created. */
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 1, 0, B(ROUND_LAST, 1), 0);
	cluster_inject(c, &p);
	assert_int_equal(CLUSTER_STATUS(0).promised, B(ROUND_LAST, 1));
	/* Node 0 times out: it cannot make a ballot above ROUND_LAST, so it does not run. */
	c->nodes[1].hold_timer = c->nodes[2].hold_timer = true;
	uint64_t elections = CLUSTER_STATUS(0).stats.elections;
	run_watching_promises(c, 10 * c->cfg.election_timeout_ns);
	assert_int_equal(CLUSTER_STATUS(0).stats.elections, elections);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_FOLLOWER);
	assert_int_equal(CLUSTER_STATUS(0).promised, B(ROUND_LAST, 1));
	assert_true(CLUSTER_STATUS(0).stats.ballots_exhausted >= 1);   /* new */
}

/* Sends m to node 0 and checks that it changed nothing and was counted as forged. */
static void assert_forged_dropped(struct cluster *c, struct kbp_msg *m)
{
	struct kbp_node_status before = CLUSTER_STATUS(0);
	size_t q = c->q_n, pend = c->nodes[0].n_pend + c->nodes[0].n_disk;
	m->to = 0;
	cluster_inject(c, m);
	struct kbp_node_status after = CLUSTER_STATUS(0);
	assert_int_equal(after.stats.ballots_forged, before.stats.ballots_forged + 1);   /* new */
	assert_int_equal(after.promised, before.promised);
	assert_int_equal(after.role, before.role);
	assert_int_equal(after.leader, before.leader);
	assert_int_equal(after.commit, before.commit);
	assert_int_equal(c->nodes[0].n_pend + c->nodes[0].n_disk, pend);   /* nothing written */
	assert_int_equal(c->q_n, q);                                       /* nothing answered */
}

CLUSTER_TEST(test_ballot_naming_another_node_is_dropped)
{
	uint8_t buf[256];
	struct kbp_cmd put = h_put(9, 1, "k", "evil");
	CLUSTER_START();
	CLUSTER_ELECT(0);                          /* node 0 leads at 1.0 */
	CLUSTER_RUN(5 * MS);
	uint64_t b0 = CLUSTER_STATUS(0).ballot;
	assert_int_equal(b0, B(1, 0));

	/* Types that carry the sender's own ballot, sent by 1 but naming 2. */
	struct kbp_msg m = h_mk(KBP_MSG_PREPARE, 1, 0, B(5, 2), 0);
	assert_forged_dropped(c, &m);
	m = h_mk(KBP_MSG_ACCEPT, 1, 0, B(5, 2), 3);
	m.count = 1;
	m.len = h_encode(buf, sizeof(buf), &put);
	m.payload = buf;
	assert_forged_dropped(c, &m);
	/* Issue 12: a COMMIT "from node 1" at the leader's own ballot deposed the leader. */
	m = h_mk(KBP_MSG_COMMIT, 1, 0, b0, 0);
	m.commit = 1;
	assert_forged_dropped(c, &m);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_LEADER);

	/* Types that echo the receiver's ballot, naming someone else. */
	m = h_mk(KBP_MSG_PROMISE, 1, 0, B(1, 2), 0);
	m.flags = KBP_MF_LAST;
	assert_forged_dropped(c, &m);
	m = h_mk(KBP_MSG_ACCEPTED, 1, 0, B(1, 1), 0);
	assert_forged_dropped(c, &m);
	m = h_mk(KBP_MSG_NACK, 1, 0, B(1, 1), 0);
	m.aux = B(9, 1);
	assert_forged_dropped(c, &m);
	m = h_mk(KBP_MSG_COMMIT_ACK, 1, 0, B(1, 2), 0);
	assert_forged_dropped(c, &m);

	/* The same types with the right node still work: a NACK above us deposes us. */
	m = h_mk(KBP_MSG_NACK, 1, 0, b0, 0);
	m.aux = B(9, 1);
	cluster_inject(c, &m);
	assert_int_not_equal(CLUSTER_STATUS(0).role, KBP_ROLE_LEADER);
	assert_int_equal(CLUSTER_STATUS(0).stats.ballots_forged, 7);   /* new */
}

CLUSTER_TEST(test_reserved_round_is_refused_in_every_ballot_field)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	CLUSTER_RUN(5 * MS);
	struct kbp_node_status before = CLUSTER_STATUS(0);
	struct kbp_msg m = h_mk(KBP_MSG_NACK, 1, 0, before.ballot, 0);
	m.aux = B_MAX(1);                          /* "I promised the last round" */
	cluster_inject(c, &m);
	m = h_mk(KBP_MSG_ACCEPT, 1, 0, B_MAX(1), 0);
	cluster_inject(c, &m);
	struct kbp_node_status after = CLUSTER_STATUS(0);
	assert_int_equal(after.role, KBP_ROLE_LEADER);
	assert_int_equal(after.promised, before.promised);
	assert_int_equal(after.stats.ballots_refused, before.stats.ballots_refused + 2);   /* new */
	/* Nothing was noted: its next ballot after a real defeat is an ordinary one. */
	m = h_mk(KBP_MSG_NACK, 1, 0, before.ballot, 0);
	m.aux = B(3, 1);
	cluster_inject(c, &m);
	c->nodes[1].hold_timer = c->nodes[2].hold_timer = true;
	CLUSTER_RUN(c->latency_ns);
	assert_int_equal(CLUSTER_STATUS(0).ballot, B(4, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CLUSTER_TEST_ENTRY(test_max_round_prepare_cannot_wrap_ballots),
		CLUSTER_TEST_ENTRY(test_max_round_in_any_field_cannot_wrap_ballots),
		CLUSTER_TEST_ENTRY(test_ballots_saturate_at_the_last_round),
		CLUSTER_TEST_ENTRY(test_ballot_naming_another_node_is_dropped),
		CLUSTER_TEST_ENTRY(test_reserved_round_is_refused_in_every_ballot_field),
	};
	return cmocka_run_group_tests_name("ballot", tests, NULL, NULL);
}
