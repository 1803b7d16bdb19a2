/* SPDX-License-Identifier: MIT */
/*
 * The acceptor, driven message by message ("Paxos Made Simple" §2.2, phases 1b and 2b):
 * node 0 is the acceptor under test; the test plays the proposers 1 and 2 and reads
 * node 0's answers off the network before anything is delivered.
 */
#include <string.h>

#include "harness.h"

#define B(round, node) kbp_ballot_make((round), (node))

/* A promise entry as the PROMISE payload carries it. */
struct pentry {
	uint64_t slot, ballot;
	uint32_t count, len;
	const uint8_t *value;
};

static uint32_t parse_promise(const struct kbp_msg *m, struct pentry *out, uint32_t max)
{
	uint32_t off = 0, k = 0;
	for (; k < m->count; k++) {
		assert_true(k < max);
		assert_true(off + KBP_PENTRY_HDR_SIZE <= m->len);
		const uint8_t *p = m->payload + off;
		out[k].slot = kbp_le64_load(p);
		out[k].ballot = kbp_le64_load(p + 8);
		out[k].count = kbp_le32_load(p + 16);
		out[k].len = kbp_le32_load(p + 20);
		out[k].value = p + KBP_PENTRY_HDR_SIZE;
		off += KBP_PENTRY_HDR_SIZE + kbp_pad8(out[k].len);
		assert_true(off <= m->len);
	}
	assert_int_equal(off, m->len);
	return k;
}

/* An ACCEPT from `from` at ballot b for slot, carrying one encoded command. */
static int send_accept(struct cluster *c, unsigned from, uint64_t b, uint64_t slot, const struct kbp_cmd *cmd,
		       uint8_t *buf)
{
	struct kbp_msg m = h_mk(KBP_MSG_ACCEPT, from, 0, b, slot);
	m.count = 1;
	m.len = h_encode(buf, 256, cmd);
	m.payload = buf;
	return cluster_inject(c, &m);
}

CLUSTER_TEST(test_promise_held_until_durable)
{
	CLUSTER_START();
	c->nodes[0].manual_disk = true;

	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 1, 0, B(1, 1), 0);
	assert_int_equal(cluster_inject(c, &p), 0);
	/* The promise is recorded (a persist request) but not yet announced. */
	assert_int_equal(CLUSTER_STATUS(0).promised, B(1, 1));
	assert_int_equal(c->nodes[0].n_pend, 1);
	assert_int_equal(c->nodes[0].pend[0].p.type, KBP_PERSIST_PROMISE);
	assert_int_equal(c->nodes[0].pend[0].p.ballot, B(1, 1));
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 0, H_ANY), 0);

	/* Time passing does not release it either; only the disk does. */
	c->now += 2 * MS;
	cluster_tick(c, 0);
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 0, H_ANY), 0);
	assert_true(CLUSTER_STATUS(0).persist_durable < CLUSTER_STATUS(0).persist_issued);

	CLUSTER_PERSIST(0);
	const struct h_msg *m = cluster_find(c, KBP_MSG_PROMISE, 0, 1);
	assert_non_null(m);
	assert_int_equal(m->m.ballot, B(1, 1));
	assert_int_equal(m->m.count, 0);
	assert_true(m->m.flags & KBP_MF_LAST);
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 0, H_ANY), 1);
}

CLUSTER_TEST(test_accepted_only_after_durable)
{
	uint8_t buf[256];
	struct kbp_cmd put = h_put(5, 1, "apple", "red");
	CLUSTER_START();
	c->nodes[0].manual_disk = true;

	assert_int_equal(send_accept(c, 1, B(1, 1), 0, &put, buf), 0);
	assert_int_equal(cluster_count(c, KBP_MSG_ACCEPTED, 0, H_ANY), 0);
	assert_int_equal(c->nodes[0].n_pend, 1);
	const struct h_rec *r = &c->nodes[0].pend[0];
	assert_int_equal(r->p.type, KBP_PERSIST_ACCEPT);
	assert_int_equal(r->p.slot, 0);
	assert_int_equal(r->p.ballot, B(1, 1));
	assert_int_equal(r->p.count, 1);
	assert_int_equal(r->p.len, kbp_cmd_size(&put));
	assert_memory_equal(r->value, buf, r->p.len);
	/* Accepting b implies promising b. */
	assert_int_equal(CLUSTER_STATUS(0).promised, B(1, 1));
	assert_int_equal(CLUSTER_STATUS(0).leader, 1);

	/* A retransmitted ACCEPT before the write lands: no second write, no early answer. */
	assert_int_equal(send_accept(c, 1, B(1, 1), 0, &put, buf), 0);
	assert_int_equal(c->nodes[0].n_pend, 1);
	assert_int_equal(cluster_count(c, KBP_MSG_ACCEPTED, 0, H_ANY), 0);

	CLUSTER_PERSIST(0);
	assert_int_equal(cluster_count(c, KBP_MSG_ACCEPTED, 0, 1), 2);
	const struct h_msg *m = cluster_find(c, KBP_MSG_ACCEPTED, 0, 1);
	assert_int_equal(m->m.ballot, B(1, 1));
	assert_int_equal(m->m.slot, 0);
	assert_false(m->m.flags & KBP_MF_LEASE_GRANT);     /* leases are off */
}

CLUSTER_TEST(test_promise_carries_accepted_entries)
{
	uint8_t a[256], b[256];
	struct kbp_cmd put_a = h_put(5, 1, "apple", "red"), put_b = h_put(6, 1, "berry", "blue");
	struct pentry e[8];
	CLUSTER_START();

	/* Proposer 1 got slots 0 and 2 accepted at ballot 1.1; slot 1 never arrived. */
	send_accept(c, 1, B(1, 1), 0, &put_a, a);
	send_accept(c, 1, B(1, 1), 2, &put_b, b);
	assert_int_equal(cluster_count(c, KBP_MSG_ACCEPTED, 0, 1), 2);

	/* Proposer 2 runs phase 1 from slot 0: the promise reports both accepted values. */
	unsigned mark = cluster_trace_mark(c);
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 2, 0, B(2, 2), 0);
	cluster_inject(c, &p);
	const struct h_msg *m = cluster_find(c, KBP_MSG_PROMISE, 0, 2);
	assert_non_null(m);
	assert_int_equal(m->m.ballot, B(2, 2));
	assert_true(m->m.flags & KBP_MF_LAST);
	assert_int_equal(m->m.slot, 0);
	assert_int_equal(m->m.aux, 3);
	assert_int_equal(parse_promise(&m->m, e, 8), 2);
	assert_int_equal(e[0].slot, 0);
	assert_int_equal(e[0].ballot, B(1, 1));
	assert_int_equal(e[0].count, 1);
	assert_int_equal(e[0].len, kbp_cmd_size(&put_a));
	assert_memory_equal(e[0].value, a, e[0].len);
	assert_int_equal(e[1].slot, 2);
	assert_int_equal(e[1].ballot, B(1, 1));
	assert_memory_equal(e[1].value, b, e[1].len);
	assert_true(cluster_trace_has(c, mark, "0 -> 2 PROMISE b=2.2", "[0 1.1] [2 1.1]"));

	/* A prepare from a later first slot reports only what lies at or above it. */
	cluster_take(c, KBP_MSG_PROMISE, 0, 2, NULL);
	p.slot = 1;
	cluster_inject(c, &p);
	m = cluster_find(c, KBP_MSG_PROMISE, 0, 2);
	assert_non_null(m);
	assert_int_equal(parse_promise(&m->m, e, 8), 1);
	assert_int_equal(e[0].slot, 2);
}

CLUSTER_TEST(test_promise_marks_chosen_entries)
{
	uint8_t a[256], b[256];
	struct kbp_cmd put_a = h_put(5, 1, "apple", "red"), put_b = h_put(6, 1, "berry", "blue");
	struct pentry e[4];
	CLUSTER_START();

	send_accept(c, 1, B(1, 1), 0, &put_a, a);
	/* The next ACCEPT says slot 0 is chosen (commit 1): the acceptor learns it. */
	struct kbp_msg m1 = h_mk(KBP_MSG_ACCEPT, 1, 0, B(1, 1), 1);
	m1.count = 1;
	m1.len = h_encode(b, sizeof(b), &put_b);
	m1.payload = b;
	m1.commit = 1;
	cluster_inject(c, &m1);
	assert_int_equal(CLUSTER_STATUS(0).commit, 1);
	assert_int_equal(CLUSTER_STATUS(0).applied, 1);

	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 2, 0, B(2, 2), 0);
	cluster_inject(c, &p);
	const struct h_msg *m = cluster_find(c, KBP_MSG_PROMISE, 0, 2);
	assert_non_null(m);
	assert_int_equal(parse_promise(&m->m, e, 4), 2);
	assert_int_equal(e[0].ballot, KBP_BALLOT_CHOSEN);
	assert_int_equal(e[1].ballot, B(1, 1));
}

CLUSTER_TEST(test_lower_ballot_is_nacked_with_promised)
{
	uint8_t a[256];
	struct kbp_cmd put = h_put(5, 1, "apple", "red");
	CLUSTER_START();

	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 2, 0, B(3, 2), 0);
	cluster_inject(c, &p);
	uint64_t issued = CLUSTER_STATUS(0).persist_issued;

	/* A prepare below the promise: NACK naming the promise so the proposer can jump past it. */
	p = h_mk(KBP_MSG_PREPARE, 1, 0, B(2, 1), 0);
	cluster_inject(c, &p);
	const struct h_msg *m = cluster_find(c, KBP_MSG_NACK, 0, 1);
	assert_non_null(m);
	assert_int_equal(m->m.ballot, B(2, 1));
	assert_int_equal(m->m.aux, B(3, 2));
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 0, 1), 0);
	cluster_take(c, KBP_MSG_NACK, 0, 1, NULL);

	/* Same round, lower node id: still lower. */
	p = h_mk(KBP_MSG_PREPARE, 1, 0, B(3, 1), 0);
	cluster_inject(c, &p);
	assert_non_null(cluster_find(c, KBP_MSG_NACK, 0, 1));
	cluster_take(c, KBP_MSG_NACK, 0, 1, NULL);

	/* An accept below the promise: NACK, and nothing is written or accepted. */
	send_accept(c, 1, B(2, 1), 4, &put, a);
	m = cluster_find(c, KBP_MSG_NACK, 0, 1);
	assert_non_null(m);
	assert_int_equal(m->m.slot, 4);
	assert_int_equal(m->m.aux, B(3, 2));
	assert_int_equal(cluster_count(c, KBP_MSG_ACCEPTED, 0, H_ANY), 0);
	assert_int_equal(CLUSTER_STATUS(0).persist_issued, issued);
	assert_int_equal(CLUSTER_STATUS(0).promised, B(3, 2));

	/* The promised proposer's accept goes through. */
	send_accept(c, 2, B(3, 2), 4, &put, a);
	assert_non_null(cluster_find(c, KBP_MSG_ACCEPTED, 0, 2));
}

CLUSTER_TEST(test_higher_prepare_replaces_unreported_promise)
{
	CLUSTER_START();
	c->nodes[0].manual_disk = true;
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 1, 0, B(1, 1), 0);
	cluster_inject(c, &p);
	p = h_mk(KBP_MSG_PREPARE, 2, 0, B(2, 2), 0);
	cluster_inject(c, &p);
	CLUSTER_PERSIST(0);
	/* The older promise was superseded before it became durable: only 2.2 is announced. */
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 0, 1), 0);
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 0, 2), 1);
	assert_int_equal(CLUSTER_STATUS(0).promised, B(2, 2));
}

CLUSTER_TEST(test_bad_messages_are_counted)
{
	uint8_t buf[256];
	CLUSTER_START();
	struct kbp_msg m = h_mk(KBP_MSG_PREPARE, 0, 0, B(1, 0), 0);   /* from itself */
	assert_int_equal(cluster_inject(c, &m), -KBP_EINVAL);
	m = h_mk(KBP_MSG_PREPARE, 1, 0, B(1, 1), 0);
	m.from = 5;                                                  /* no such node */
	assert_int_equal(kbp_node_recv(c->nodes[0].kn, &m, c->now), -KBP_EINVAL);
	m = h_mk(KBP_MSG_PREPARE, 1, 0, B(1, 1), 0);
	m.len = 8;                                                   /* bytes without a buffer */
	assert_int_equal(kbp_node_recv(c->nodes[0].kn, &m, c->now), -KBP_EINVAL);
	/* An ACCEPT whose batch does not decode is refused before it reaches the acceptor. */
	struct kbp_cmd put = h_put(5, 1, "apple", "red");
	m = h_mk(KBP_MSG_ACCEPT, 1, 0, B(1, 1), 0);
	m.count = 2;
	m.len = h_encode(buf, sizeof(buf), &put);
	m.payload = buf;
	assert_int_equal(cluster_inject(c, &m), -KBP_EMALFORMED);
	m = h_mk(KBP_MSG_TYPE_END, 1, 0, 0, 0);
	assert_int_equal(cluster_inject(c, &m), -KBP_EMALFORMED);
	assert_int_equal(CLUSTER_STATUS(0).stats.msgs_bad, 5);
	assert_int_equal(CLUSTER_STATUS(0).promised, 0);
	assert_int_equal(CLUSTER_STATUS(0).persist_issued, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CLUSTER_TEST_ENTRY(test_promise_held_until_durable),
		CLUSTER_TEST_ENTRY(test_accepted_only_after_durable),
		CLUSTER_TEST_ENTRY(test_promise_carries_accepted_entries),
		CLUSTER_TEST_ENTRY(test_promise_marks_chosen_entries),
		CLUSTER_TEST_ENTRY(test_lower_ballot_is_nacked_with_promised),
		CLUSTER_TEST_ENTRY(test_higher_prepare_replaces_unreported_promise),
		CLUSTER_TEST_ENTRY(test_bad_messages_are_counted),
	};
	return cmocka_run_group_tests_name("acceptor", tests, NULL, NULL);
}
