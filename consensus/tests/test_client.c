/* SPDX-License-Identifier: MIT */
/*
 * Client commands at the node: a retried (client, seq) is applied once and answered
 * with the first answer; followers say NOT_LEADER with a hint; a full queue says BUSY.
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

	/* An older seq than the latest is neither applied nor answered. */
	before = CLUSTER_STATUS(0);
	replies = cluster_reply_count(c, 7, 1);
	assert_int_equal(cluster_submit(c, 0, &cas), 0);
	CLUSTER_RUN(5 * MS);
	assert_int_equal(cluster_reply_count(c, 7, 1), replies);
	assert_int_equal(CLUSTER_STATUS(0).next_slot, before.next_slot);
}

CLUSTER_TEST(test_retried_get_gets_first_answer)
{
	CLUSTER_START();
	CLUSTER_ELECT(0);
	put_and_wait(c, 0, 1, 1, "k", "first");
	struct kbp_cmd get = h_get(7, 1, "k");
	cluster_submit(c, 0, &get);
	assert_true(cluster_run_until_reply(c, 7, 1, 50 * MS));
	put_and_wait(c, 0, 1, 2, "k", "second");
	/* The retried GET was answered before the second PUT; its answer does not change. */
	cluster_submit(c, 0, &get);
	const struct h_reply *r = &c->replies[c->n_replies - 1];
	assert_int_equal(r->r.client_id, 7);
	assert_int_equal(r->r.status, KBP_ST_OK);
	assert_int_equal(r->r.val_len, 5);
	assert_memory_equal(r->val, "first", 5);
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
		CLUSTER_TEST_ENTRY(test_retried_get_gets_first_answer),
		CLUSTER_TEST_ENTRY(test_follower_answers_not_leader_with_hint),
		CLUSTER_TEST_ENTRY(test_invalid_commands_are_refused),
		CLUSTER_TEST_ENTRY(test_busy_when_queue_full),
		CLUSTER_TEST_ENTRY(test_client_req_message_is_decoded),
	};
	return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
