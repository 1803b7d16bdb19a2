/* SPDX-License-Identifier: MIT */
/*
 * The learner: a follower that missed slots fetches them (CATCHUP), and one so far
 * behind that the others no longer hold those slots installs a snapshot.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void put_and_wait(struct cluster *c, unsigned leader, uint64_t client, uint64_t seq, const char *key,
			 const char *val)
{
	struct kbp_cmd cmd = h_put(client, seq, key, val);
	assert_int_equal(cluster_submit(c, leader, &cmd), 0);
	assert_true(cluster_run_until_reply(c, client, seq, 100 * MS));
	assert_int_equal(cluster_reply(c, client, seq)->r.status, KBP_ST_OK);
}

/* Digest of node i's state machine, through its own snapshot. */
static uint64_t node_digest(struct cluster *c, unsigned i, uint64_t *upto)
{
	struct kbp_node *kn = c->nodes[i].kn;
	uint32_t cap = kbp_node_snapshot_bytes_max(kn);
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	int len = kbp_node_snapshot(kn, buf, cap, upto);
	assert_true(len > 0);
	struct kbp_kv *kv = h_kv_new(c->cfg.kv_keys_max, c->cfg.clients_max, 0);
	uint64_t tag;
	assert_int_equal(kbp_kv_restore(kv, buf, (uint32_t)len, &tag), 0);
	assert_int_equal(tag, *upto);
	uint64_t d = kbp_kv_digest(kv);
	kbp_kv_free(kv);
	free(buf);
	return d;
}

static void assert_converged(struct cluster *c, unsigned a, unsigned b)
{
	struct kbp_node_status sa = CLUSTER_STATUS(a), sb = CLUSTER_STATUS(b);
	assert_int_equal(sa.commit, sb.commit);
	assert_int_equal(sa.applied, sb.applied);
	uint64_t ua, ub;
	assert_int_equal(node_digest(c, a, &ua), node_digest(c, b, &ub));
	assert_int_equal(ua, ub);
}

CLUSTER_TEST(test_lagging_learner_catches_up)
{
	char key[16];
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "k0", "v");

	/* Node 2 is cut off (and kept from campaigning) while five slots are chosen. */
	cluster_isolate(c, 2);
	c->nodes[2].hold_timer = true;
	for (uint64_t s = 2; s <= 6; s++) {
		snprintf(key, sizeof(key), "k%u", (unsigned)s);
		put_and_wait(c, 0, 1, s, key, "v");
	}
	CLUSTER_RUN(5 * MS);
	assert_int_equal(CLUSTER_STATUS(0).commit, 6);
	assert_true(CLUSTER_STATUS(2).applied <= 1);      /* it may not have heard slot 0's commit */

	/* Back on the network: the next heartbeat shows the gap, node 2 asks for the slots. */
	unsigned mark = cluster_trace_mark(c);
	cluster_heal(c);
	CLUSTER_RUN(10 * MS);
	c->nodes[2].hold_timer = false;
	assert_true(cluster_trace_has(c, mark, "2 -> 0 CATCHUP_REQ", "slot=1"));
	assert_true(cluster_trace_has(c, mark, "0 -> 2 CATCHUP", "slot=5"));
	assert_true(CLUSTER_STATUS(2).stats.catchups >= 1);
	assert_int_equal(CLUSTER_STATUS(2).stats.snapshots_installed, 0);
	assert_converged(c, 0, 2);
	assert_int_equal(CLUSTER_STATUS(2).applied, 6);
	for (uint64_t s = 0; s < 6; s++) {
		const struct h_apply *x = h_applied_slot(&c->nodes[0], s), *y = h_applied_slot(&c->nodes[2], s);
		assert_non_null(x);
		assert_non_null(y);
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->batch, y->batch, x->len);
	}
	/* The fetched slots are durable on node 2 as chosen values. */
	size_t chosen = 0;
	for (size_t k = 0; k < c->nodes[2].n_disk; k++)
		chosen += c->nodes[2].disk[k].p.type == KBP_PERSIST_ACCEPT &&
			  c->nodes[2].disk[k].p.ballot == KBP_BALLOT_CHOSEN;
	assert_true(chosen >= 5);
}

CLUSTER_TEST(test_far_behind_learner_gets_snapshot)
{
	char key[16], val[16];
	c->cfg.window = 4;
	c->cfg.log_slots = 8;          /* the leader forgets slots quickly */
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "k0", "v0");

	cluster_isolate(c, 2);
	c->nodes[2].hold_timer = true;
	for (uint64_t s = 2; s <= 30; s++) {
		snprintf(key, sizeof(key), "k%u", (unsigned)(s % 7));
		snprintf(val, sizeof(val), "v%u", (unsigned)s);
		put_and_wait(c, 0, s % 3 + 1, s, key, val);
	}
	CLUSTER_RUN(5 * MS);
	struct kbp_node_status l = CLUSTER_STATUS(0);
	assert_int_equal(l.commit, 30);
	assert_true(l.log_base > CLUSTER_STATUS(2).commit);   /* the slots node 2 needs are gone */

	unsigned mark = cluster_trace_mark(c);
	cluster_heal(c);
	CLUSTER_RUN(20 * MS);
	c->nodes[2].hold_timer = false;
	assert_true(cluster_trace_has(c, mark, "-> 2 SNAPSHOT", NULL));
	assert_true(CLUSTER_STATUS(2).stats.snapshots_installed >= 1);
	assert_true(CLUSTER_STATUS(0).stats.snapshots_sent + CLUSTER_STATUS(1).stats.snapshots_sent >= 1);
	assert_converged(c, 0, 2);
	assert_converged(c, 0, 1);

	/* The installed snapshot is a persist request; a restart replays it and catches up again. */
	bool snap = false;
	for (size_t k = 0; k < c->nodes[2].n_disk; k++)
		snap |= c->nodes[2].disk[k].p.type == KBP_PERSIST_SNAPSHOT;
	assert_true(snap);
	cluster_restart(c, 2, false);
	put_and_wait(c, 0, 1, 31, "after", "restart");
	CLUSTER_RUN(20 * MS);
	assert_converged(c, 0, 2);
	assert_int_equal(CLUSTER_STATUS(2).applied, 31);
}

CLUSTER_TEST(test_follower_learns_commit_from_heartbeat)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	struct kbp_cmd put = h_put(1, 1, "k", "v");
	cluster_submit(c, 0, &put);
	assert_true(cluster_run_until_reply(c, 1, 1, 10 * MS));
	/* Chosen at the leader; followers learn it from the next message's commit index. */
	assert_int_equal(CLUSTER_STATUS(0).commit, 1);
	CLUSTER_RUN(c->cfg.heartbeat_ns + 2 * c->latency_ns);
	assert_int_equal(CLUSTER_STATUS(1).commit, 1);
	assert_int_equal(CLUSTER_STATUS(1).applied, 1);
	assert_true(CLUSTER_STATUS(2).applied <= 1);      /* it may not have heard slot 0's commit */
	/* No catch-up was needed: the followers held the value already. */
	assert_int_equal(CLUSTER_STATUS(1).stats.catchups, 0);
	assert_int_equal(CLUSTER_STATUS(2).stats.catchups, 0);
}

/* A CATCHUP as node `from` would send it, carrying one put. */
static struct kbp_msg catchup_put(unsigned from, unsigned to, uint64_t slot, uint64_t commit,
				  const struct kbp_cmd *cmd, uint8_t *buf)
{
	struct kbp_msg m = h_mk(KBP_MSG_CATCHUP, from, to, kbp_ballot_make(1, from), slot);
	m.commit = commit;
	m.count = 1;
	m.len = h_encode(buf, 256, cmd);
	m.payload = buf;
	return m;
}

/*
 * Issue 12: one spoofed CATCHUP "from the leader" to each follower, for the slot the
 * next write will take, used to mark that slot chosen with EVIL; the followers then
 * acknowledged GOOD without holding it, and after the leader died the new one answered
 * EVIL: an acknowledged write was gone.  Nobody had said that slot was chosen.
 */
CLUSTER_TEST(test_catchup_for_an_unannounced_slot_is_refused)
{
	uint8_t buf[256];
	struct kbp_cmd evil = h_put(66, 1, "victim", "EVIL");
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "victim", "before");
	CLUSTER_RUN(5 * MS);
	uint64_t next = CLUSTER_STATUS(0).next_slot;
	for (unsigned f = 1; f <= 2; f++) {
		struct kbp_msg m = catchup_put(0, f, next, next + 1, &evil, buf);
		cluster_inject(c, &m);
		assert_int_equal(CLUSTER_STATUS(f).stats.catchups_refused, 1);   /* new */
	}
	put_and_wait(c, 0, 1, 2, "victim", "GOOD");
	CLUSTER_RUN(5 * MS);

	CLUSTER_STOP(0);
	CLUSTER_ELECT(1);
	struct kbp_cmd get = h_get(2, 1, "victim");
	cluster_submit(c, 1, &get);
	assert_true(cluster_run_until_reply(c, 2, 1, 50 * MS));
	const struct h_reply *r = cluster_reply(c, 2, 1);
	assert_int_equal(r->r.status, KBP_ST_OK);
	assert_int_equal(r->r.val_len, 4);
	assert_memory_equal(r->r.val, "GOOD", 4);
}

/* A CATCHUP that contradicts a value we hold as chosen is an inconsistency, not news. */
CLUSTER_TEST(test_catchup_contradicting_a_chosen_value_is_counted_not_applied)
{
	uint8_t buf[256];
	struct kbp_cmd evil = h_put(66, 1, "k", "EVIL");
	c->cfg.log_slots = 64;
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "k", "v1");
	put_and_wait(c, 0, 1, 2, "k", "v2");
	CLUSTER_RUN(5 * MS);
	assert_int_equal(CLUSTER_STATUS(1).commit, 2);
	const struct h_apply *before = h_applied_slot(&c->nodes[1], 1);
	assert_non_null(before);

	struct kbp_msg m = catchup_put(2, 1, 1, 2, &evil, buf);
	cluster_inject(c, &m);
	struct kbp_node_status st = CLUSTER_STATUS(1);
	assert_int_equal(st.stats.chosen_conflicts, 1);   /* new */
	assert_int_equal(st.conflict_slot, 1);            /* new */
	assert_int_equal(st.conflict_from, 2);            /* new */
	assert_int_equal(st.commit, 2);
	/* The same value again is not a conflict. */
	m = catchup_put(2, 1, 1, 2, &(struct kbp_cmd){ 0 }, buf);
	m.len = before->len;
	m.count = before->count;
	m.payload = before->batch;
	cluster_inject(c, &m);
	assert_int_equal(CLUSTER_STATUS(1).stats.chosen_conflicts, 1);   /* new */

	/* A leader's ACCEPT of another value for a chosen slot is not acknowledged either. */
	c->nodes[0].hold_timer = c->nodes[1].hold_timer = c->nodes[2].hold_timer = true;
	m = h_mk(KBP_MSG_ACCEPT, 2, 1, kbp_ballot_make(7, 2), 1);
	m.count = 1;
	m.len = h_encode(buf, sizeof(buf), &evil);
	m.payload = buf;
	cluster_inject(c, &m);
	assert_int_equal(cluster_count(c, KBP_MSG_ACCEPTED, 1, 2), 0);
	assert_int_equal(CLUSTER_STATUS(1).stats.chosen_conflicts, 2);   /* new */

	/* Everything applied stays as it was. */
	CLUSTER_RUN(5 * MS);
	for (uint64_t s = 0; s < 2; s++) {
		const struct h_apply *x = h_applied_slot(&c->nodes[0], s), *y = h_applied_slot(&c->nodes[1], s);
		assert_non_null(x);
		assert_non_null(y);
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->batch, y->batch, x->len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CLUSTER_TEST_ENTRY(test_lagging_learner_catches_up),
		CLUSTER_TEST_ENTRY(test_far_behind_learner_gets_snapshot),
		CLUSTER_TEST_ENTRY(test_follower_learns_commit_from_heartbeat),
		CLUSTER_TEST_ENTRY(test_catchup_for_an_unannounced_slot_is_refused),
		CLUSTER_TEST_ENTRY(test_catchup_contradicting_a_chosen_value_is_counted_not_applied),
	};
	return cmocka_run_group_tests_name("learner", tests, NULL, NULL);
}
