/* SPDX-License-Identifier: MIT */
/*
 * Master leases ("Paxos Made Live" §5.2): grants ride on ACCEPT/COMMIT, the leader
 * counts from its own send time minus the drift margin, renews while it can, steps
 * down when it cannot, a granter refuses other proposers until the grant ends, a
 * restarted node waits a whole lease, and reads under a lease skip the log.
 */
#include <string.h>

#include "harness.h"

#define B(round, node) kbp_ballot_make((round), (node))

static uint64_t drift_margin(const struct cluster *c)
{
	/* Independent of the core's arithmetic: lease_ns * 2 * max_drift_ppm / 1e6. */
	return c->cfg.lease_ns * 2 * c->cfg.max_drift_ppm / 1000000;
}

static void start_with_leases(struct cluster *c)
{
	c->cfg.leases = true;
	cluster_start(c);
	cluster_elect(c, 0);
	cluster_run(c, 3 * MS);
}

static void put_and_wait(struct cluster *c, unsigned leader, uint64_t client, uint64_t seq, const char *key,
			 const char *val)
{
	struct kbp_cmd cmd = h_put(client, seq, key, val);
	assert_int_equal(cluster_submit(c, leader, &cmd), 0);
	assert_true(cluster_run_until_reply(c, client, seq, 100 * MS));
	assert_int_equal(cluster_reply(c, client, seq)->r.status, KBP_ST_OK);
}

CLUSTER_TEST(test_lease_granted_on_accept_and_commit)
{
	unsigned mark = cluster_trace_mark(c);
	start_with_leases(c);
	/* Idle: heartbeats ask for a lease, followers grant it. */
	assert_true(cluster_trace_has(c, mark, "0 -> 1 COMMIT b=1.0", "lease_req"));
	assert_true(cluster_trace_has(c, mark, "1 -> 0 COMMIT_ACK b=1.0", "grant"));
	assert_true(cluster_trace_has(c, mark, "2 -> 0 COMMIT_ACK b=1.0", "grant"));

	/* Busy: the ACCEPT carries the request, stamped with the leader's send time. */
	uint64_t t = c->now;
	struct kbp_cmd put = h_put(1, 1, "k", "v");
	cluster_submit(c, 0, &put);
	const struct h_msg *a = cluster_find(c, KBP_MSG_ACCEPT, 0, 1);
	assert_non_null(a);
	assert_true(a->m.flags & KBP_MF_LEASE_REQ);
	assert_int_equal(a->m.lease_stamp, t);

	c->now += c->latency_ns;
	cluster_deliver(c);
	/* The grant leaves at once on a COMMIT_ACK, not behind the ACCEPTED's disk write. */
	const struct h_msg *g = cluster_find(c, KBP_MSG_COMMIT_ACK, 1, 0);
	assert_non_null(g);
	assert_true(g->m.flags & KBP_MF_LEASE_GRANT);
	assert_int_equal(g->m.lease_stamp, t);          /* the grant echoes the request's stamp */
	const struct h_msg *acc = cluster_find(c, KBP_MSG_ACCEPTED, 1, 0);
	assert_true(!acc || !(acc->m.flags & KBP_MF_LEASE_GRANT));
	assert_non_null(cluster_find(c, KBP_MSG_COMMIT_ACK, 2, 0));
}

CLUSTER_TEST(test_lease_counted_from_send_time_minus_drift)
{
	start_with_leases(c);
	uint64_t t = c->now;
	struct kbp_cmd put = h_put(1, 1, "k", "v");
	cluster_submit(c, 0, &put);
	CLUSTER_RUN(3 * c->latency_ns);                  /* grants are back; no heartbeat yet */
	assert_non_null(cluster_reply(c, 1, 1));
	/*
	 * Granted at t + latency on the followers' clocks, received at t + 2 * latency: the
	 * lease still counts from t, the send time, less the margin for clock drift.
	 */
	assert_int_equal(drift_margin(c), 20 * US);
	assert_int_equal(CLUSTER_STATUS(0).lease_until_ns, t + c->cfg.lease_ns - drift_margin(c));
}

CLUSTER_TEST(test_lease_renewed_while_leader_is_heard)
{
	start_with_leases(c);
	uint64_t first = CLUSTER_STATUS(0).lease_until_ns;
	assert_true(first > c->now);
	uint64_t end = c->now + 3 * c->cfg.lease_ns;
	while (c->now < end) {
		CLUSTER_RUN(100 * US);
		struct kbp_node_status st = CLUSTER_STATUS(0);
		assert_int_equal(st.role, KBP_ROLE_LEADER);
		assert_true(c->now < st.lease_until_ns);
		/* Heartbeats renew well before expiry: at least lease - 2 heartbeats ahead. */
		assert_true(st.lease_until_ns - c->now >= c->cfg.lease_ns - 2 * c->cfg.heartbeat_ns -
								   drift_margin(c) - 4 * c->latency_ns);
	}
	assert_true(CLUSTER_STATUS(0).lease_until_ns >= first + 2 * c->cfg.lease_ns);
	assert_int_equal(CLUSTER_STATUS(0).stats.leader_changes, 1);
}

CLUSTER_TEST(test_granter_refuses_other_prepare_until_expiry)
{
	start_with_leases(c);
	cluster_isolate(c, 0);
	uint64_t granted = c->nodes[1].last_lease_req_ns;
	uint64_t expiry = granted + c->cfg.lease_ns;
	assert_true(expiry > c->now);

	/* One nanosecond before its grant ends, node 1 refuses a higher ballot. */
	c->now = expiry - 1;
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 2, 1, B(2, 2), 0);
	cluster_inject(c, &p);
	const struct h_msg *n = cluster_find(c, KBP_MSG_NACK, 1, 2);
	assert_non_null(n);
	assert_int_equal(n->m.aux, B(1, 0));            /* a refusal, not a higher promise */
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 1, 2), 0);
	assert_int_equal(CLUSTER_STATUS(1).promised, B(1, 0));
	cluster_take(c, KBP_MSG_NACK, 1, 2, NULL);

	/* An ACCEPT at a higher ballot is refused the same way. */
	uint8_t buf[256];
	struct kbp_cmd put = h_put(1, 1, "k", "v");
	struct kbp_msg a = h_mk(KBP_MSG_ACCEPT, 2, 1, B(2, 2), 0);
	a.count = 1;
	a.len = h_encode(buf, sizeof(buf), &put);
	a.payload = buf;
	cluster_inject(c, &a);
	assert_non_null(cluster_find(c, KBP_MSG_NACK, 1, 2));
	assert_int_equal(cluster_count(c, KBP_MSG_ACCEPTED, 1, 2), 0);
	cluster_take(c, KBP_MSG_NACK, 1, 2, NULL);

	/* At expiry it promises. */
	c->now = expiry;
	cluster_inject(c, &p);
	assert_non_null(cluster_find(c, KBP_MSG_PROMISE, 1, 2));
	assert_int_equal(CLUSTER_STATUS(1).promised, B(2, 2));
}

CLUSTER_TEST(test_leader_steps_down_when_it_cannot_renew)
{
	start_with_leases(c);
	cluster_isolate(c, 0);
	uint64_t until = CLUSTER_STATUS(0).lease_until_ns;
	assert_true(until > c->now);

	/* Until the last instant it leads and serves reads under its lease. */
	cluster_run_until(c, until - 1);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_LEADER);
	struct kbp_cmd get = h_get(9, 1, "k");
	cluster_submit(c, 0, &get);
	assert_int_equal(cluster_reply(c, 9, 1)->r.status, KBP_ST_NOT_FOUND);
	assert_int_equal(CLUSTER_STATUS(0).stats.lease_reads, 1);

	/* At lease end it steps down and stops serving at once. */
	cluster_run_until(c, until);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_FOLLOWER);
	assert_int_equal(CLUSTER_STATUS(0).lease_until_ns, 0);
	get.seq = 2;
	assert_int_equal(cluster_submit(c, 0, &get), -KBP_ENOTLEADER);
	assert_int_equal(cluster_reply(c, 9, 2)->r.status, KBP_ST_NOT_LEADER);
	assert_int_equal(CLUSTER_STATUS(0).stats.lease_reads, 1);

	/* The others elect a new leader, but only after the old lease has ended. */
	while (CLUSTER_STATUS(1).role != KBP_ROLE_LEADER && CLUSTER_STATUS(2).role != KBP_ROLE_LEADER &&
	       c->now < until + 20 * c->cfg.lease_ns)
		CLUSTER_RUN(100 * US);
	assert_true(CLUSTER_STATUS(1).role == KBP_ROLE_LEADER || CLUSTER_STATUS(2).role == KBP_ROLE_LEADER);
	assert_true(c->now >= until);
	unsigned l = CLUSTER_STATUS(1).role == KBP_ROLE_LEADER ? 1 : 2;
	CLUSTER_RUN(5 * MS);
	put_and_wait(c, l, 9, 3, "k", "new");
}

CLUSTER_TEST(test_restarted_node_waits_a_lease_before_promising)
{
	start_with_leases(c);
	uint64_t t = c->now;
	cluster_restart(c, 2, true);
	unsigned mark = cluster_trace_mark(c);
	CLUSTER_RUN(5 * MS);
	/* It follows and accepts, but grants no lease while it may have forgotten one. */
	assert_true(cluster_trace_has(c, mark, "2 -> 0 COMMIT_ACK", NULL));
	assert_false(cluster_trace_has(c, mark, "2 -> 0 COMMIT_ACK", "grant"));
	assert_true(cluster_trace_has(c, mark, "1 -> 0 COMMIT_ACK", "grant"));

	/* Nor does it promise anyone, a higher ballot included. */
	cluster_run_until(c, t + c->cfg.lease_ns - 1);
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 1, 2, B(5, 1), 0);
	cluster_inject(c, &p);
	assert_non_null(cluster_find(c, KBP_MSG_NACK, 2, 1));
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 2, 1), 0);
	assert_true(CLUSTER_STATUS(2).promised < B(5, 1));
	cluster_take(c, KBP_MSG_NACK, 2, 1, NULL);

	/* After a whole lease it grants again ... */
	cluster_run_until(c, t + c->cfg.lease_ns);
	mark = cluster_trace_mark(c);
	CLUSTER_RUN(3 * MS);
	assert_true(cluster_trace_has(c, mark, "2 -> 0 COMMIT_ACK", "grant"));
	/* ... and, once the grant it just gave to 0 has run out too, it promises. */
	cluster_isolate(c, 0);
	c->now = c->nodes[2].last_lease_req_ns + c->cfg.lease_ns;
	cluster_inject(c, &p);
	assert_non_null(cluster_find(c, KBP_MSG_PROMISE, 2, 1));
	assert_int_equal(CLUSTER_STATUS(2).promised, B(5, 1));
}

CLUSTER_TEST(test_lease_read_skips_the_log)
{
	start_with_leases(c);
	put_and_wait(c, 0, 1, 1, "k", "v");
	CLUSTER_RUN(2 * MS);
	struct kbp_node_status before = CLUSTER_STATUS(0);
	assert_true(c->now < before.lease_until_ns);

	struct kbp_cmd get = h_get(9, 1, "k");
	unsigned mark = cluster_trace_mark(c);
	cluster_submit(c, 0, &get);
	/* Answered in the same step: no ACCEPT, no new slot. */
	const struct h_reply *r = cluster_reply(c, 9, 1);
	assert_non_null(r);
	assert_int_equal(r->at, c->now);
	assert_int_equal(r->r.status, KBP_ST_OK);
	assert_int_equal(r->r.val_len, 1);
	assert_memory_equal(r->val, "v", 1);
	struct kbp_node_status after = CLUSTER_STATUS(0);
	assert_int_equal(after.stats.lease_reads, before.stats.lease_reads + 1);
	assert_int_equal(after.stats.reads_via_log, before.stats.reads_via_log);
	assert_int_equal(after.next_slot, before.next_slot);
	assert_false(cluster_trace_has(c, mark, "ACCEPT", NULL));

	/* A CAS is a write: it still goes through the log. */
	struct kbp_cmd cas = h_cas(9, 2, "k", "v", "w");
	cluster_submit(c, 0, &cas);
	assert_int_equal(CLUSTER_STATUS(0).next_slot, before.next_slot + 1);
	assert_true(cluster_run_until_reply(c, 9, 2, 50 * MS));
	get.seq = 3;
	cluster_submit(c, 0, &get);
	assert_memory_equal(cluster_reply(c, 9, 3)->val, "w", 1);
	assert_int_equal(CLUSTER_STATUS(0).stats.lease_reads, before.stats.lease_reads + 2);
}

CLUSTER_TEST(test_leases_off_reads_go_through_the_log)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "k", "v");
	CLUSTER_RUN(2 * MS);
	struct kbp_node_status before = CLUSTER_STATUS(0);
	assert_int_equal(before.lease_until_ns, 0);

	struct kbp_cmd get = h_get(9, 1, "k");
	cluster_submit(c, 0, &get);
	assert_null(cluster_reply(c, 9, 1));
	struct kbp_node_status after = CLUSTER_STATUS(0);
	assert_int_equal(after.next_slot, before.next_slot + 1);
	assert_int_equal(after.stats.reads_via_log, before.stats.reads_via_log + 1);
	assert_int_equal(after.stats.lease_reads, 0);
	assert_true(cluster_run_until_reply(c, 9, 1, 50 * MS));
	assert_int_equal(cluster_reply(c, 9, 1)->r.status, KBP_ST_OK);
	assert_memory_equal(cluster_reply(c, 9, 1)->val, "v", 1);
	/* Nobody asked for or granted a lease. */
	assert_false(cluster_trace_has(c, 0, "lease_req", NULL));
	assert_false(cluster_trace_has(c, 0, "grant", NULL));
	/* Without leases an isolated leader does not step down on its own. */
	cluster_isolate(c, 0);
	CLUSTER_RUN(5 * c->cfg.lease_ns);
	assert_int_equal(CLUSTER_STATUS(0).role, KBP_ROLE_LEADER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CLUSTER_TEST_ENTRY(test_lease_granted_on_accept_and_commit),
		CLUSTER_TEST_ENTRY(test_lease_counted_from_send_time_minus_drift),
		CLUSTER_TEST_ENTRY(test_lease_renewed_while_leader_is_heard),
		CLUSTER_TEST_ENTRY(test_granter_refuses_other_prepare_until_expiry),
		CLUSTER_TEST_ENTRY(test_leader_steps_down_when_it_cannot_renew),
		CLUSTER_TEST_ENTRY(test_restarted_node_waits_a_lease_before_promising),
		CLUSTER_TEST_ENTRY(test_lease_read_skips_the_log),
		CLUSTER_TEST_ENTRY(test_leases_off_reads_go_through_the_log),
	};
	return cmocka_run_group_tests_name("lease", tests, NULL, NULL);
}
