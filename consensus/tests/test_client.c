/* SPDX-License-Identifier: MIT */
/*
 * Client commands at the node: a retried (client, seq) is applied once and answered
 * with the first answer, an older seq STALE, a write without a session SESSION_EXPIRED;
 * sessions are registered through the log; followers say NOT_LEADER with a hint; a full
 * queue says BUSY.
 */
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

CLUSTER_TEST(test_retried_request_applied_once)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "k", "a");
	uint64_t applied0 = CLUSTER_STATUS(0).stats.cmds_applied;

	/*
	 * The client sends CAS(k: a -> b) and, before any answer, retries it.  Executing it
	 * twice would answer CAS_FAILED the second time; applied once, both answers are OK.
	 */
	struct kbp_cmd cas = h_cas(7, 1, "k", "a", "b");
	assert_int_equal(cluster_submit(c, 0, &cas), 0);
	assert_int_equal(cluster_submit(c, 0, &cas), 0);
	assert_true(cluster_run_until_reply(c, 7, 1, 50 * MS));
	CLUSTER_RUN(5 * MS);
	assert_true(cluster_reply_count(c, 7, 1) >= 1);
	for (size_t k = 0; k < c->n_replies; k++) {
		if (c->replies[k].r.client_id == 7)
			assert_int_equal(c->replies[k].r.status, KBP_ST_OK);
	}
	assert_int_equal(CLUSTER_STATUS(0).stats.cmds_applied - applied0, 1);
	for (unsigned i = 1; i < 3; i++)
		assert_int_equal(CLUSTER_STATUS(i).stats.cmds_applied, CLUSTER_STATUS(0).stats.cmds_applied);

	/* A retry after the commit is answered at once from the session, without a slot. */
	struct kbp_node_status before = CLUSTER_STATUS(0);
	unsigned replies = cluster_reply_count(c, 7, 1);
	assert_int_equal(cluster_submit(c, 0, &cas), 0);
	assert_int_equal(cluster_reply_count(c, 7, 1), replies + 1);
	assert_int_equal(c->replies[c->n_replies - 1].r.status, KBP_ST_OK);
	assert_int_equal(c->replies[c->n_replies - 1].r.leader, 0);
	assert_int_equal(CLUSTER_STATUS(0).next_slot, before.next_slot);
	assert_int_equal(CLUSTER_STATUS(0).stats.cmds_submitted, before.stats.cmds_submitted);

	/* The value is b: a CAS from b succeeds. */
	struct kbp_cmd next = h_cas(7, 2, "k", "b", "c");
	cluster_submit(c, 0, &next);
	assert_true(cluster_run_until_reply(c, 7, 2, 50 * MS));
	assert_int_equal(cluster_reply(c, 7, 2)->r.status, KBP_ST_OK);

	/* An older seq than the latest is not run, and is answered STALE at once, without a slot. */
	before = CLUSTER_STATUS(0);
	replies = cluster_reply_count(c, 7, 1);
	assert_int_equal(cluster_submit(c, 0, &cas), 0);
	assert_int_equal(cluster_reply_count(c, 7, 1), replies + 1);
	assert_int_equal(c->replies[c->n_replies - 1].r.status, KBP_ST_STALE);
	assert_int_equal(c->replies[c->n_replies - 1].r.leader, 0);
	CLUSTER_RUN(5 * MS);
	assert_int_equal(CLUSTER_STATUS(0).next_slot, before.next_slot);
	assert_int_equal(CLUSTER_STATUS(0).stats.cmds_applied, before.stats.cmds_applied);
}

/*
 * The same when the stale copy reaches the log (sent before the newer seq was applied,
 * held up in a queue): applying it answers STALE and runs nothing.
 */
CLUSTER_TEST(test_stale_seq_in_the_log_is_answered)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	cluster_isolate(c, 0);                 /* nothing commits: both copies enter the log */
	struct kbp_cmd two = h_put(5, 2, "k", "two"), one = h_put(5, 1, "k", "one");
	assert_int_equal(cluster_submit(c, 0, &two), 0);
	assert_int_equal(cluster_submit(c, 0, &one), 0);
	assert_int_equal(CLUSTER_STATUS(0).next_slot, 2);
	cluster_heal(c);
	assert_true(cluster_run_until_reply(c, 5, 1, 100 * MS));
	assert_int_equal(cluster_reply(c, 5, 2)->r.status, KBP_ST_OK);
	assert_int_equal(cluster_reply(c, 5, 1)->r.status, KBP_ST_STALE);
	struct kbp_cmd get = h_get(5, 3, "k");
	cluster_submit(c, 0, &get);
	assert_true(cluster_run_until_reply(c, 5, 3, 50 * MS));
	assert_memory_equal(cluster_reply(c, 5, 3)->val, "two", 3);
}

/*
 * Issue 11, item 1, through the node: X's put (seq 1) is applied, another client writes a
 * newer value, more than clients_max other clients register (through the log) and write,
 * then a late duplicate of X's seq 1 reaches the leader.  It is answered SESSION_EXPIRED,
 * never run, and the newer value stays.
 */
CLUSTER_TEST(test_late_duplicate_after_many_clients_is_not_executed)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "k", "old");
	put_and_wait(c, 0, 2, 1, "k", "new");
	uint64_t first = 0, id = 0;
	for (uint64_t cl = 0; cl < c->cfg.clients_max + 36; cl++) {
		id = cluster_register(c, 0, 1000 + cl);
		if (!first)
			first = id;
		put_and_wait(c, 0, id, 1, "other", "v");
	}
	assert_int_equal(first, H_SESSIONS + 1);               /* ids come from the counter */
	assert_int_equal(id, first + c->cfg.clients_max + 35);
	uint64_t applied = CLUSTER_STATUS(0).stats.cmds_applied;
	struct kbp_node_status before = CLUSTER_STATUS(0);
	struct kbp_cmd dup = h_put(1, 1, "k", "old");
	unsigned replies = cluster_reply_count(c, 1, 1);
	cluster_submit(c, 0, &dup);
	assert_true(cluster_run_until_reply(c, 1, 1, 50 * MS));
	CLUSTER_RUN(5 * MS);
	assert_int_equal(cluster_reply_count(c, 1, 1), replies + 1);
	assert_int_equal(c->replies[c->n_replies - 1].r.status, KBP_ST_SESSION_EXPIRED);
	/* The log decided it (one slot), and no replica ran it. */
	assert_int_equal(CLUSTER_STATUS(0).next_slot, before.next_slot + 1);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(CLUSTER_STATUS(i).stats.cmds_applied, applied);
	struct kbp_cmd get = h_get(2, 2, "k");
	cluster_submit(c, 0, &get);
	assert_true(cluster_run_until_reply(c, 2, 2, 50 * MS));
	const struct h_reply *r = cluster_reply(c, 2, 2);
	assert_int_equal(r->r.status, KBP_ST_OK);
	assert_int_equal(r->r.val_len, 3);
	assert_memory_equal(r->val, "new", 3);
}

/* REGISTER goes through the log, on the leader only; every replica issues the same ids. */
CLUSTER_TEST(test_register_through_the_log)
{
	CLUSTER_START();
	struct kbp_cmd reg = h_register(77);
	assert_int_equal(cluster_submit(c, 1, &reg), -KBP_ENOTLEADER);
	assert_int_equal(cluster_reply(c, reg.client_id, 1)->r.status, KBP_ST_NOT_LEADER);
	CLUSTER_ELECT(0);
	assert_int_equal(cluster_register(c, 0, 77), H_SESSIONS + 1);
	assert_int_equal(cluster_register(c, 0, 78), H_SESSIONS + 2);
	put_and_wait(c, 0, H_SESSIONS + 2, 1, "k", "v");
	/* A REGISTER must carry a nonce; a nonce cannot write: answered at once, no slot. */
	uint64_t slot = CLUSTER_STATUS(0).next_slot;
	struct kbp_cmd bad = h_register(1);
	bad.client_id = 5;
	assert_int_equal(cluster_submit(c, 0, &bad), -KBP_EINVAL);
	assert_int_equal(cluster_reply(c, 5, 1)->r.status, KBP_ST_INVALID);
	struct kbp_cmd nonce_put = h_put(KBP_CLIENT_NONCE | 9, 1, "k", "v");
	assert_int_equal(cluster_submit(c, 0, &nonce_put), -KBP_EINVAL);
	assert_int_equal(cluster_reply(c, nonce_put.client_id, 1)->r.status, KBP_ST_SESSION_EXPIRED);
	struct kbp_cmd seq0 = h_put(3, 0, "k", "v");
	assert_int_equal(cluster_submit(c, 0, &seq0), -KBP_EINVAL);
	assert_int_equal(cluster_reply(c, 3, 0)->r.status, KBP_ST_INVALID);
	assert_int_equal(CLUSTER_STATUS(0).next_slot, slot);
	/* A write from an id the cluster never issued goes through the log and is refused there. */
	struct kbp_cmd unknown = h_put(500, 1, "k", "w");
	assert_int_equal(cluster_submit(c, 0, &unknown), 0);
	assert_true(cluster_run_until_reply(c, 500, 1, 50 * MS));
	assert_int_equal(cluster_reply(c, 500, 1)->r.status, KBP_ST_SESSION_EXPIRED);
	/* The new leader knows the sessions: a retry gets the kept answer, the next id follows on. */
	CLUSTER_RUN(5 * MS);
	CLUSTER_ELECT(1);
	struct kbp_cmd retry = h_put(H_SESSIONS + 2, 1, "k", "v");
	unsigned n = cluster_reply_count(c, H_SESSIONS + 2, 1);
	cluster_submit(c, 1, &retry);
	assert_int_equal(cluster_reply_count(c, H_SESSIONS + 2, 1), n + 1);
	assert_int_equal(c->replies[c->n_replies - 1].r.status, KBP_ST_OK);
	assert_int_equal(cluster_register(c, 1, 79), H_SESSIONS + 3);
}

/*
 * Reads need no session and are not deduplicated: a GET has no effect to repeat, so a
 * retried GET simply runs again and sees the state of its own time.
 */
CLUSTER_TEST(test_reads_need_no_session)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "k", "first");
	struct kbp_cmd get = h_get(KBP_CLIENT_NONCE | 4242, 1, "k");
	cluster_submit(c, 0, &get);
	assert_true(cluster_run_until_reply(c, get.client_id, 1, 50 * MS));
	assert_memory_equal(cluster_reply(c, get.client_id, 1)->val, "first", 5);
	put_and_wait(c, 0, 1, 2, "k", "second");
	unsigned n = cluster_reply_count(c, get.client_id, 1);
	cluster_submit(c, 0, &get);
	CLUSTER_RUN(10 * MS);
	assert_int_equal(cluster_reply_count(c, get.client_id, 1), n + 1);
	const struct h_reply *r = &c->replies[c->n_replies - 1];
	assert_int_equal(r->r.client_id, get.client_id);
	assert_int_equal(r->r.status, KBP_ST_OK);
	assert_int_equal(r->r.val_len, 6);
	assert_memory_equal(r->val, "second", 6);
	/* A GET under a session leaves it alone: a later write with the next seq still runs. */
	struct kbp_cmd mine = h_get(1, 3, "k");
	cluster_submit(c, 0, &mine);
	assert_true(cluster_run_until_reply(c, 1, 3, 50 * MS));
	put_and_wait(c, 0, 1, 3, "k", "third");
	struct kbp_cmd check = h_get(1, 4, "k");
	cluster_submit(c, 0, &check);
	assert_true(cluster_run_until_reply(c, 1, 4, 50 * MS));
	assert_memory_equal(cluster_reply(c, 1, 4)->val, "third", 5);
}

CLUSTER_TEST(test_follower_answers_not_leader_with_hint)
{
	CLUSTER_START();
	struct kbp_cmd put = h_put(1, 1, "k", "v");
	/* Before any election nobody knows a leader. */
	assert_int_equal(cluster_submit(c, 1, &put), -KBP_ENOTLEADER);
	assert_int_equal(cluster_reply(c, 1, 1)->r.status, KBP_ST_NOT_LEADER);
	assert_int_equal(cluster_reply(c, 1, 1)->r.leader, KBP_LEADER_UNKNOWN);

	CLUSTER_ELECT(2);
	put.seq = 2;
	assert_int_equal(cluster_submit(c, 1, &put), -KBP_ENOTLEADER);
	assert_int_equal(cluster_reply(c, 1, 2)->r.status, KBP_ST_NOT_LEADER);
	assert_int_equal(cluster_reply(c, 1, 2)->r.leader, 2);
	assert_int_equal(CLUSTER_STATUS(1).queue_bytes, 0);
	/* The same request at the hinted node goes through. */
	cluster_submit(c, 2, &put);
	assert_true(cluster_run_until_reply(c, 1, 2, 50 * MS));
	assert_int_equal(c->replies[c->n_replies - 1].r.status, KBP_ST_OK);
}

CLUSTER_TEST(test_invalid_commands_are_refused)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	struct kbp_cmd noop = h_noop();
	noop.client_id = 5;
	assert_int_equal(cluster_submit(c, 0, &noop), -KBP_EINVAL);
	assert_int_equal(cluster_reply(c, 5, 0)->r.status, KBP_ST_INVALID);
	struct kbp_cmd anon = h_put(0, 1, "k", "v");       /* client id 0 is reserved */
	assert_int_equal(cluster_submit(c, 0, &anon), -KBP_EINVAL);
	assert_int_equal(cluster_reply(c, 0, 1)->r.status, KBP_ST_INVALID);
	assert_int_equal(CLUSTER_STATUS(0).next_slot, 0);
}

CLUSTER_TEST(test_busy_when_queue_full)
{
	static char big[1001];
	memset(big, 'x', 1000);
	c->cfg.queue_bytes = c->cfg.batch_bytes_max;       /* 4096: three 1032-byte commands */
	CLUSTER_START();
	CLUSTER_ELECT(0);

	/* The leader is cut off: the window of 8 slots fills, then the queue. */
	cluster_isolate(c, 0);
	uint64_t seq = 1;
	for (; seq <= 8; seq++) {
		struct kbp_cmd put = h_put(1, seq, "k", big);
		assert_int_equal(cluster_submit(c, 0, &put), 0);
	}
	assert_int_equal(CLUSTER_STATUS(0).next_slot, 8);
	assert_int_equal(CLUSTER_STATUS(0).queue_bytes, 0);
	for (; seq <= 11; seq++) {
		struct kbp_cmd put = h_put(1, seq, "k", big);
		assert_int_equal(cluster_submit(c, 0, &put), 0);
	}
	assert_int_equal(CLUSTER_STATUS(0).queue_bytes, 3 * 1032);
	assert_null(cluster_reply(c, 1, 11));

	struct kbp_cmd over = h_put(1, 12, "k", big);
	assert_int_equal(cluster_submit(c, 0, &over), -KBP_EFULL);
	assert_int_equal(cluster_reply(c, 1, 12)->r.status, KBP_ST_BUSY);
	assert_int_equal(cluster_reply(c, 1, 12)->r.leader, 0);
	assert_int_equal(CLUSTER_STATUS(0).stats.cmds_busy, 1);
	/* BUSY is about bytes: a small command still fits (3 * 1032 + 32 <= 4096). */
	struct kbp_cmd small = h_put(2, 1, "k", "v");
	assert_int_equal(cluster_submit(c, 0, &small), 0);
	assert_int_equal(CLUSTER_STATUS(0).stats.cmds_busy, 1);
	assert_int_equal(CLUSTER_STATUS(0).queue_bytes, 3 * 1032 + 32);

	/* Once the network heals the queue drains and the same seq is accepted on retry. */
	cluster_heal(c);
	assert_true(cluster_run_until_reply(c, 1, 11, 100 * MS));
	assert_int_equal(CLUSTER_STATUS(0).queue_bytes, 0);
	assert_int_equal(cluster_submit(c, 0, &over), 0);
	assert_true(cluster_run_until_reply(c, 1, 12, 100 * MS));
	const struct h_reply *last = &c->replies[c->n_replies - 1];
	assert_int_equal(last->r.seq, 12);
	assert_int_equal(last->r.status, KBP_ST_OK);
}

CLUSTER_TEST(test_client_req_message_is_decoded)
{
	uint8_t buf[512];
	CLUSTER_START();
	CLUSTER_ELECT(0);
	struct kbp_cmd a = h_put(3, 1, "a", "1"), b = h_put(4, 1, "b", "2");
	uint32_t len = h_encode(buf, sizeof(buf), &a);
	len += h_encode(buf + len, sizeof(buf) - len, &b);
	struct kbp_msg m = h_mk(KBP_MSG_CLIENT_REQ, KBP_NODE_CLIENT, 0, 0, 0);
	m.count = 2;
	m.len = len;
	m.payload = buf;
	assert_int_equal(cluster_inject(c, &m), 0);
	/* Both commands were queued together: one slot, one batch of two. */
	assert_int_equal(CLUSTER_STATUS(0).next_slot, 1);
	assert_true(cluster_run_until_reply(c, 4, 1, 50 * MS));
	assert_non_null(cluster_reply(c, 3, 1));
	const struct h_apply *s = h_applied_slot(&c->nodes[0], 0);
	assert_non_null(s);
	assert_int_equal(s->count, 2);
	/* A truncated CLIENT_REQ is refused as malformed. */
	m.count = 3;
	assert_int_equal(cluster_inject(c, &m), -KBP_EMALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CLUSTER_TEST_ENTRY(test_retried_request_applied_once),
		CLUSTER_TEST_ENTRY(test_stale_seq_in_the_log_is_answered),
		CLUSTER_TEST_ENTRY(test_late_duplicate_after_many_clients_is_not_executed),
		CLUSTER_TEST_ENTRY(test_register_through_the_log),
		CLUSTER_TEST_ENTRY(test_reads_need_no_session),
		CLUSTER_TEST_ENTRY(test_follower_answers_not_leader_with_hint),
		CLUSTER_TEST_ENTRY(test_invalid_commands_are_refused),
		CLUSTER_TEST_ENTRY(test_busy_when_queue_full),
		CLUSTER_TEST_ENTRY(test_client_req_message_is_decoded),
	};
	return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
