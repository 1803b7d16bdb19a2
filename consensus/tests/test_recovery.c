/* SPDX-License-Identifier: MIT */
/*
 * Recovery: a node rebuilt from its log (restore_promise / restore_accept /
 * restore_commit, then start) keeps every promise it made and applies the chosen
 * prefix it had recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define B(round, node) kbp_ballot_make((round), (node))

static void restore_put(struct cluster *c, unsigned i, uint64_t slot, uint64_t ballot, uint64_t client,
			const char *key, const char *val)
{
	uint8_t buf[256];
	struct kbp_cmd cmd = h_put(client, 1, key, val);
	uint32_t len = h_encode(buf, sizeof(buf), &cmd);
	assert_int_equal(kbp_node_restore_accept(c->nodes[i].kn, slot, ballot, 1, buf, len), 0);
}

CLUSTER_TEST(test_restored_node_keeps_promise_and_applies_chosen)
{
	/* Node 0's log: promise 9.1; slots 0..2 accepted; a commit hint says 0 and 1 are chosen. */
	cluster_node_create(c, 0);
	kbp_node_restore_promise(c->nodes[0].kn, B(9, 1));
	restore_put(c, 0, 0, B(3, 1), 10, "a", "1");
	restore_put(c, 0, 1, B(9, 1), 11, "b", "2");
	restore_put(c, 0, 2, B(9, 1), 12, "c", "3");
	kbp_node_restore_commit(c->nodes[0].kn, 2);
	cluster_node_start(c, 0, false);
	for (unsigned i = 1; i < 3; i++) {
		cluster_node_create(c, i);
		cluster_node_start(c, i, false);
	}

	struct kbp_node_status st = CLUSTER_STATUS(0);
	assert_int_equal(st.promised, B(9, 1));
	assert_int_equal(st.commit, 2);
	assert_int_equal(st.applied, 2);          /* the recorded chosen prefix is applied */
	assert_non_null(h_applied_slot(&c->nodes[0], 0));
	assert_non_null(h_applied_slot(&c->nodes[0], 1));
	assert_null(h_applied_slot(&c->nodes[0], 2));   /* accepted, not known chosen */
	/* Nothing was re-written: recovery replays, it does not log again. */
	assert_int_equal(st.persist_issued, 0);

	/* Below the restored promise: refused, and nothing is written. */
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 2, 0, B(8, 2), 0);
	cluster_inject(c, &p);
	const struct h_msg *m = cluster_find(c, KBP_MSG_NACK, 0, 2);
	assert_non_null(m);
	assert_int_equal(m->m.aux, B(9, 1));
	uint8_t buf[256];
	struct kbp_cmd put = h_put(20, 1, "x", "y");
	struct kbp_msg a = h_mk(KBP_MSG_ACCEPT, 2, 0, B(8, 2), 5);
	a.count = 1;
	a.len = h_encode(buf, sizeof(buf), &put);
	a.payload = buf;
	cluster_inject(c, &a);
	assert_int_equal(cluster_count(c, KBP_MSG_NACK, 0, 2), 2);
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 0, H_ANY), 0);
	assert_int_equal(cluster_count(c, KBP_MSG_ACCEPTED, 0, H_ANY), 0);
	assert_int_equal(CLUSTER_STATUS(0).persist_issued, 0);
	assert_int_equal(CLUSTER_STATUS(0).promised, B(9, 1));
	while (cluster_take(c, KBP_MSG_NACK, 0, 2, NULL))
		;

	/* Its own next ballot lies above the restored promise, and it finishes slot 2. */
	CLUSTER_ELECT(0);
	assert_int_equal(CLUSTER_STATUS(0).ballot, B(10, 0));
	CLUSTER_RUN(10 * MS);
	assert_int_equal(CLUSTER_STATUS(0).applied, 3);
	const struct h_apply *s2 = h_applied_slot(&c->nodes[0], 2);
	struct kbp_cmd cmd;
	assert_non_null(s2);
	assert_true(h_batch_cmd(s2->batch, s2->len, s2->count, 0, &cmd));
	assert_int_equal(cmd.client_id, 12);
	/* The followers, fresh, learn all three slots. */
	for (unsigned i = 1; i < 3; i++)
		assert_int_equal(CLUSTER_STATUS(i).applied, 3);
}

CLUSTER_TEST(test_restore_rejects_bad_records)
{
	uint8_t buf[256];
	cluster_node_create(c, 0);
	struct kbp_cmd put = h_put(1, 1, "k", "v");
	uint32_t len = h_encode(buf, sizeof(buf), &put);
	struct kbp_node *kn = c->nodes[0].kn;
	assert_int_equal(kbp_node_restore_accept(kn, 0, B(1, 1), 2, buf, len), -KBP_EMALFORMED);
	assert_int_equal(kbp_node_restore_accept(kn, 0, B(1, 1), 1, buf, len - 8), -KBP_EMALFORMED);
	assert_int_equal(kbp_node_restore_accept(kn, 0, B(1, 1), 1, buf, c->cfg.batch_bytes_max + 8),
			 -KBP_EMALFORMED);
	uint8_t garbage[40] = { 1, 2, 3 };
	assert_int_equal(kbp_node_restore_snapshot(kn, garbage, sizeof(garbage)), -KBP_EMALFORMED);
	/* A promise only ever grows during replay. */
	kbp_node_restore_promise(kn, B(5, 2));
	kbp_node_restore_promise(kn, B(3, 1));
	cluster_node_start(c, 0, false);
	assert_int_equal(CLUSTER_STATUS(0).promised, B(5, 2));
	assert_int_equal(CLUSTER_STATUS(0).applied, 0);
}

CLUSTER_TEST(test_restore_snapshot_then_accepts)
{
	/* A snapshot covering slots < 3 from one node seeds another node's recovery. */
	CLUSTER_START();
	CLUSTER_ELECT(0);
	const char *keys[] = { "a", "b", "c" };
	for (uint64_t s = 0; s < 3; s++) {
		struct kbp_cmd put = h_put(1, s + 1, keys[s], "v");
		cluster_submit(c, 0, &put);
		assert_true(cluster_run_until_reply(c, 1, s + 1, 50 * MS));
	}
	static uint8_t snap[1 << 20];
	uint64_t upto;
	int len = kbp_node_snapshot(c->nodes[0].kn, snap, sizeof(snap), &upto);
	assert_true(len > 0);
	assert_int_equal(upto, 3);

	struct cluster d;
	cluster_init(&d, 3);
	cluster_node_create(&d, 0);
	struct kbp_node *kn = d.nodes[0].kn;
	assert_int_equal(kbp_node_restore_snapshot(kn, snap, (uint32_t)len), 0);
	/* Accepts below the snapshot are ignored, the one above it is kept. */
	uint8_t buf[256];
	struct kbp_cmd put = h_put(2, 1, "d", "v");
	uint32_t l = h_encode(buf, sizeof(buf), &put);
	assert_int_equal(kbp_node_restore_accept(kn, 1, B(1, 0), 1, buf, l), 0);
	assert_int_equal(kbp_node_restore_accept(kn, 3, KBP_BALLOT_CHOSEN, 1, buf, l), 0);
	kbp_node_restore_commit(kn, 4);
	cluster_node_start(&d, 0, false);
	struct kbp_node_status st = cluster_status(&d, 0);
	assert_int_equal(st.log_base, 3);
	assert_int_equal(st.commit, 4);
	assert_int_equal(st.applied, 4);
	assert_null(h_applied_slot(&d.nodes[0], 1));
	assert_non_null(h_applied_slot(&d.nodes[0], 3));
	cluster_fini(&d);
}

CLUSTER_TEST(test_crash_restart_from_disk_rejoins)
{
	CLUSTER_START();
	CLUSTER_ELECT(2);
	for (uint64_t s = 1; s <= 3; s++) {
		struct kbp_cmd put = h_put(1, s, "k", "v");
		cluster_submit(c, 2, &put);
		assert_true(cluster_run_until_reply(c, 1, s, 50 * MS));
	}
	CLUSTER_RUN(5 * MS);
	uint64_t promised = CLUSTER_STATUS(1).promised;
	assert_int_equal(promised, B(1, 2));

	cluster_restart(c, 1, false);
	assert_int_equal(CLUSTER_STATUS(1).promised, promised);
	assert_true(CLUSTER_STATUS(1).applied >= 2);
	/* The restarted acceptor still refuses what it refused before the crash. */
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 0, 1, B(1, 0), 0);
	cluster_inject(c, &p);
	assert_non_null(cluster_find(c, KBP_MSG_NACK, 1, 0));
	cluster_take(c, KBP_MSG_NACK, 1, 0, NULL);

	struct kbp_cmd put = h_put(1, 4, "k", "w");
	cluster_submit(c, 2, &put);
	assert_true(cluster_run_until_reply(c, 1, 4, 50 * MS));
	CLUSTER_RUN(5 * MS);
	assert_int_equal(CLUSTER_STATUS(1).applied, CLUSTER_STATUS(2).applied);
	assert_int_equal(CLUSTER_STATUS(1).commit, 4);
}

CLUSTER_TEST(test_crash_loses_only_what_was_not_durable)
{
	/* A promise that never reached the disk is forgotten by the crash, and was never sent. */
	CLUSTER_START();
	c->nodes[1].manual_disk = true;
	struct kbp_msg p = h_mk(KBP_MSG_PREPARE, 2, 1, B(4, 2), 0);
	cluster_inject(c, &p);
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 1, H_ANY), 0);
	cluster_restart(c, 1, false);
	assert_int_equal(CLUSTER_STATUS(1).promised, 0);
	/* One that did reach the disk survives. */
	c->nodes[1].manual_disk = true;
	cluster_inject(c, &p);
	CLUSTER_PERSIST(1);
	assert_int_equal(cluster_count(c, KBP_MSG_PROMISE, 1, 2), 1);
	cluster_restart(c, 1, false);
	assert_int_equal(CLUSTER_STATUS(1).promised, B(4, 2));
}

/* Node i's state machine, through its own snapshot (bytes in *buf, malloc'd). */
static int node_image(struct cluster *c, unsigned i, uint8_t **buf)
{
	uint32_t cap = kbp_node_snapshot_bytes_max(c->nodes[i].kn);
	uint64_t upto;
	*buf = malloc(cap);
	assert_non_null(*buf);
	int len = kbp_node_snapshot(c->nodes[i].kn, *buf, cap, &upto);
	assert_true(len > 0);
	return len;
}

/*
 * kbpaxosd faults its working memory in after recovery (kbp_node_prefault): that must not
 * change a byte of what recovery put there, applied (the store, the sessions) or not yet
 * applied (the recorded log values, whose first bytes are the first command's client id).
 */
CLUSTER_TEST(test_prefault_after_recovery_keeps_the_state)
{
	/* A log of three chosen slots, recorded but not applied before the prefault. */
	cluster_node_create(c, 0);
	restore_put(c, 0, 0, B(3, 0), 1, "a", "1");
	restore_put(c, 0, 1, B(3, 0), 2, "b", "2");
	restore_put(c, 0, 2, B(3, 0), 3, "c", "3");
	kbp_node_restore_commit(c->nodes[0].kn, 3);
	kbp_node_prefault(c->nodes[0].kn);
	cluster_node_start(c, 0, true);
	for (unsigned i = 1; i < 3; i++) {
		cluster_node_create(c, i);
		cluster_node_start(c, i, false);
	}
	assert_int_equal(CLUSTER_STATUS(0).applied, 3);
	assert_int_equal(CLUSTER_STATUS(0).stats.cmds_applied, 3);   /* none refused: ids intact */
	CLUSTER_ELECT(0);
	for (unsigned k = 0; k < 3; k++) {
		struct kbp_cmd get = h_get(9, 10 + k, (const char *[]){ "a", "b", "c" }[k]);
		cluster_submit(c, 0, &get);
		assert_true(cluster_run_until_reply(c, 9, 10 + k, 50 * MS));
		assert_int_equal(cluster_reply(c, 9, 10 + k)->r.status, KBP_ST_OK);
	}
	/* And once applied: the whole image, byte for byte. */
	uint8_t *before, *after;
	int lb = node_image(c, 0, &before);
	kbp_node_prefault(c->nodes[0].kn);
	int la = node_image(c, 0, &after);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, (size_t)lb);
	free(before);
	free(after);
}

/*
 * The same for batches of 8 KiB values, as conf/local.ini has them: a value spans two
 * pages, and the zero written in the middle of one made a command undecodable (a
 * restarted kbpaxosd aborted in apply_entry in the cluster test tests/cluster/rebuild.sh).
 */
CLUSTER_TEST(test_prefault_keeps_batches_that_span_pages)
{
	uint8_t big[4096 + 512];
	char key[16];
	uint32_t len = 0, count = 0;
	for (; len + 64 <= sizeof(big); count++) {
		snprintf(key, sizeof(key), "key%u", count);
		struct kbp_cmd cmd = h_put(0x1122334455667700ull + count, 1, key, "some value bytes");
		len += h_encode(big + len, sizeof(big) - len, &cmd);
	}
	c->cfg.batch_bytes_max = 8192;          /* as in conf/local.ini: a value spans two pages */
	c->cfg.msg_bytes_max = 8192 + KBP_PENTRY_HDR_SIZE;
	c->cfg.batch_cmds_max = count;
	c->cfg.apply_max = 4 * count;
	cluster_node_create(c, 0);
	for (uint64_t s = 0; s < 4; s++)
		assert_int_equal(kbp_node_restore_accept(c->nodes[0].kn, s, KBP_BALLOT_CHOSEN, count, big, len), 0);
	kbp_node_prefault(c->nodes[0].kn);
	cluster_node_start(c, 0, true);
	assert_int_equal(CLUSTER_STATUS(0).applied, 4);
	for (uint64_t s = 0; s < 4; s++) {
		const struct h_apply *a = h_applied_slot(&c->nodes[0], s);
		assert_non_null(a);
		assert_int_equal(a->len, len);
		assert_memory_equal(a->batch, big, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CLUSTER_TEST_ENTRY(test_restored_node_keeps_promise_and_applies_chosen),
		CLUSTER_TEST_ENTRY(test_restore_rejects_bad_records),
		CLUSTER_TEST_ENTRY(test_restore_snapshot_then_accepts),
		CLUSTER_TEST_ENTRY(test_crash_restart_from_disk_rejoins),
		CLUSTER_TEST_ENTRY(test_crash_loses_only_what_was_not_durable),
		CLUSTER_TEST_ENTRY(test_prefault_after_recovery_keeps_the_state),
		CLUSTER_TEST_ENTRY(test_prefault_keeps_batches_that_span_pages),
	};
	return cmocka_run_group_tests_name("recovery", tests, NULL, NULL);
}
