/* SPDX-License-Identifier: MIT */
/* The key-value state machine: put/get/cas, client sessions, LRU eviction, snapshots. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int kv_setup(void **state)
{
	struct kbp_kv *kv = kbp_kv_new(8, 4);
	if (!kv)
		return -1;
	*state = kv;
	return 0;
}

static int kv_teardown(void **state)
{
	kbp_kv_free(*state);
	return 0;
}

/* Apply one command; returns the status and copies the value (if any) into val. */
static uint8_t apply(struct kbp_kv *kv, struct kbp_cmd c, bool want_new, char *val)
{
	struct kbp_reply r;
	memset(&r, 0xee, sizeof(r));
	assert_int_equal(kbp_kv_apply(kv, &c, &r), want_new);
	assert_int_equal(r.client_id, c.client_id);
	assert_int_equal(r.seq, c.seq);
	if (val) {
		assert_true(r.val_len < 64);
		memcpy(val, r.val, r.val_len);
		val[r.val_len] = 0;
	}
	return r.status;
}

static void test_kv_put_get(void **state)
{
	struct kbp_kv *kv = *state;
	char v[64];
	assert_int_equal(apply(kv, h_get(1, 1, "apple"), true, v), KBP_ST_NOT_FOUND);
	assert_int_equal(apply(kv, h_put(1, 2, "apple", "red"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(1, 3, "apple"), true, v), KBP_ST_OK);
	assert_string_equal(v, "red");
	assert_int_equal(apply(kv, h_put(1, 4, "apple", "green"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(2, 1, "apple"), true, v), KBP_ST_OK);
	assert_string_equal(v, "green");
	assert_int_equal(kbp_kv_keys(kv), 1);
	/* Keys differ by length too, not only by bytes. */
	assert_int_equal(apply(kv, h_get(2, 2, "appl"), true, v), KBP_ST_NOT_FOUND);
}

static void test_kv_cas(void **state)
{
	struct kbp_kv *kv = *state;
	char v[64];
	assert_int_equal(apply(kv, h_cas(1, 1, "k", "", "x"), true, NULL), KBP_ST_NOT_FOUND);
	assert_int_equal(apply(kv, h_put(1, 2, "k", "one"), true, NULL), KBP_ST_OK);
	/* A failed CAS answers with the current value and changes nothing. */
	assert_int_equal(apply(kv, h_cas(1, 3, "k", "two", "three"), true, v), KBP_ST_CAS_FAILED);
	assert_string_equal(v, "one");
	assert_int_equal(apply(kv, h_cas(1, 4, "k", "on", "three"), true, v), KBP_ST_CAS_FAILED);
	assert_string_equal(v, "one");
	assert_int_equal(apply(kv, h_cas(1, 5, "k", "one", "two"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(1, 6, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "two");
	/* CAS to the empty value, then from it. */
	assert_int_equal(apply(kv, h_cas(1, 7, "k", "two", ""), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_cas(1, 8, "k", "", "back"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(1, 9, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "back");
}

static void test_kv_full(void **state)
{
	struct kbp_kv *kv = *state;             /* 8 keys */
	char key[8];
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(apply(kv, h_put(1, (uint64_t)i + 1, key, "v"), true, NULL), KBP_ST_OK);
	}
	assert_int_equal(apply(kv, h_put(1, 9, "k8", "v"), true, NULL), KBP_ST_FULL);
	/* An existing key can still be overwritten. */
	assert_int_equal(apply(kv, h_put(1, 10, "k3", "w"), true, NULL), KBP_ST_OK);
	assert_int_equal(kbp_kv_keys(kv), 8);
}

static void test_kv_session_dedup(void **state)
{
	struct kbp_kv *kv = *state;
	char v[64];
	struct kbp_reply r;

	assert_int_equal(apply(kv, h_put(1, 1, "k", "a"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(7, 1, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "a");
	assert_int_equal(apply(kv, h_put(1, 2, "k", "b"), true, NULL), KBP_ST_OK);
	/* The retried GET is not executed again: it gets the first answer, "a". */
	assert_int_equal(apply(kv, h_get(7, 1, "k"), false, v), KBP_ST_OK);
	assert_string_equal(v, "a");
	assert_true(kbp_kv_session_lookup(kv, 7, 1, &r));
	assert_int_equal(r.status, KBP_ST_OK);
	assert_memory_equal(r.val, "a", 1);

	/* A retried CAS that succeeded stays a success (re-executing it would fail). */
	assert_int_equal(apply(kv, h_cas(8, 5, "k", "b", "c"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_cas(8, 5, "k", "b", "c"), false, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(1, 3, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "c");

	/* An older seq than the latest applied: nobody waits for it. */
	assert_int_equal(apply(kv, h_put(8, 4, "k", "old"), false, NULL), KBP_ST_INVALID);
	assert_true(kbp_kv_session_lookup(kv, 8, 4, &r));
	assert_int_equal(r.status, KBP_ST_INVALID);
	assert_int_equal(apply(kv, h_get(1, 4, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "c");

	/* A newer seq, or an unknown client, is not in the table. */
	assert_false(kbp_kv_session_lookup(kv, 8, 6, &r));
	assert_false(kbp_kv_session_lookup(kv, 99, 1, &r));
}

static void test_kv_noop_is_not_applied(void **state)
{
	struct kbp_kv *kv = *state;
	struct kbp_reply r;
	struct kbp_cmd n = h_noop();
	uint64_t d = kbp_kv_digest(kv);
	assert_false(kbp_kv_apply(kv, &n, &r));
	assert_int_equal(r.status, KBP_ST_INVALID);
	assert_int_equal(kbp_kv_digest(kv), d);
}

static void test_kv_lru_eviction(void **state)
{
	struct kbp_kv *kv = *state;              /* 4 client sessions */
	struct kbp_reply r;
	for (uint64_t cl = 1; cl <= 4; cl++)
		assert_int_equal(apply(kv, h_put(cl, 1, "k", "v"), true, NULL), KBP_ST_OK);
	/* Client 1 comes back, so client 2 is now the least recently used. */
	assert_int_equal(apply(kv, h_put(1, 2, "k", "v"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_put(5, 1, "k", "v"), true, NULL), KBP_ST_OK);
	assert_false(kbp_kv_session_lookup(kv, 2, 1, &r));
	assert_true(kbp_kv_session_lookup(kv, 1, 2, &r));
	assert_true(kbp_kv_session_lookup(kv, 3, 1, &r));
	assert_true(kbp_kv_session_lookup(kv, 4, 1, &r));
	assert_true(kbp_kv_session_lookup(kv, 5, 1, &r));
	/* Next out: client 3, then 4; each eviction keeps the rest findable. */
	assert_int_equal(apply(kv, h_put(6, 1, "k", "v"), true, NULL), KBP_ST_OK);
	assert_false(kbp_kv_session_lookup(kv, 3, 1, &r));
	assert_int_equal(apply(kv, h_put(7, 1, "k", "v"), true, NULL), KBP_ST_OK);
	assert_false(kbp_kv_session_lookup(kv, 4, 1, &r));
	for (uint64_t cl = 5; cl <= 7; cl++)
		assert_true(kbp_kv_session_lookup(kv, cl, 1, &r));
	assert_true(kbp_kv_session_lookup(kv, 1, 2, &r));
	/* An evicted client's retry is new to the table: it is executed again (the documented cost). */
	assert_int_equal(apply(kv, h_put(2, 1, "k", "v"), true, NULL), KBP_ST_OK);
}

static void test_kv_lru_many_clients(void **state)
{
	(void)state;
	/* Many clients through a small table: probe chains must survive every deletion. */
	struct kbp_kv *kv = kbp_kv_new(4, 8);
	struct kbp_reply r;
	assert_non_null(kv);
	for (uint64_t cl = 1; cl <= 500; cl++) {
		struct kbp_cmd c = h_put(cl * 7919, 1, "k", "v");
		assert_true(kbp_kv_apply(kv, &c, &r));
		for (uint64_t back = 0; back < 8 && back < cl; back++)
			assert_true(kbp_kv_session_lookup(kv, (cl - back) * 7919, 1, &r));
		if (cl > 8)
			assert_false(kbp_kv_session_lookup(kv, (cl - 8) * 7919, 1, &r));
	}
	kbp_kv_free(kv);
}

static void fill(struct kbp_kv *kv)
{
	apply(kv, h_put(1, 1, "apple", "red"), true, NULL);
	apply(kv, h_put(2, 1, "berry", "blue"), true, NULL);
	apply(kv, h_put(2, 2, "cherry", ""), true, NULL);
	apply(kv, h_cas(3, 9, "apple", "green", "x"), true, NULL);   /* CAS_FAILED with a value */
}

static void test_kv_snapshot_roundtrip(void **state)
{
	struct kbp_kv *kv = *state;
	fill(kv);
	uint32_t cap = kbp_kv_snapshot_bytes_max(kv);
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	int len = kbp_kv_snapshot(kv, 42, buf, cap);
	assert_true(len > 0);

	struct kbp_kv *copy = kbp_kv_new(8, 4);
	uint64_t upto = 0;
	assert_int_equal(kbp_kv_restore(copy, buf, (uint32_t)len, &upto), 0);
	assert_int_equal(upto, 42);
	assert_int_equal(kbp_kv_digest(copy), kbp_kv_digest(kv));
	assert_int_equal(kbp_kv_keys(copy), 3);

	/* Sessions travel with the store: retries are still answered with the first answer. */
	struct kbp_reply r;
	assert_true(kbp_kv_session_lookup(copy, 3, 9, &r));
	assert_int_equal(r.status, KBP_ST_CAS_FAILED);
	assert_int_equal(r.val_len, 3);
	assert_memory_equal(r.val, "red", 3);
	assert_true(kbp_kv_session_lookup(copy, 2, 1, &r));
	assert_int_equal(r.status, KBP_ST_INVALID);
	assert_true(kbp_kv_session_lookup(copy, 2, 2, &r));
	assert_int_equal(r.status, KBP_ST_OK);

	/* Both replicas go on identically, LRU order included. */
	char v1[64], v2[64];
	assert_int_equal(apply(kv, h_get(4, 1, "apple"), true, v1), apply(copy, h_get(4, 1, "apple"), true, v2));
	assert_string_equal(v1, v2);
	apply(kv, h_put(5, 1, "d", "d"), true, NULL);
	apply(copy, h_put(5, 1, "d", "d"), true, NULL);
	assert_false(kbp_kv_session_lookup(kv, 1, 1, &r));
	assert_false(kbp_kv_session_lookup(copy, 1, 1, &r));
	assert_int_equal(kbp_kv_digest(copy), kbp_kv_digest(kv));

	/* A snapshot that does not fit says so. */
	assert_int_equal(kbp_kv_snapshot(kv, 1, buf, 40), -KBP_ETOOBIG);
	assert_int_equal(kbp_kv_snapshot(kv, 1, buf, 8), -KBP_ETOOBIG);
	kbp_kv_free(copy);
	free(buf);
}

static void test_kv_restore_rejects_bad_input(void **state)
{
	struct kbp_kv *kv = *state;
	fill(kv);
	uint32_t cap = kbp_kv_snapshot_bytes_max(kv);
	uint8_t *buf = malloc(cap + 8), *bad = malloc(cap + 8);
	int len = kbp_kv_snapshot(kv, 7, buf, cap);
	assert_true(len > 32);

	struct kbp_kv *other = kbp_kv_new(8, 4);
	apply(other, h_put(9, 1, "zzz", "untouched"), true, NULL);
	uint64_t d = kbp_kv_digest(other), upto = 1234;

	/* Every truncation is refused, and the target keeps its state. */
	for (int l = 0; l < len; l++)
		assert_int_equal(kbp_kv_restore(other, buf, (uint32_t)l, &upto), -KBP_EMALFORMED);
	/* Trailing garbage is refused too. */
	memcpy(bad, buf, (size_t)len);
	bad[len] = 0;
	assert_int_equal(kbp_kv_restore(other, bad, (uint32_t)len + 1, &upto), -KBP_EMALFORMED);

	struct { uint32_t off; uint8_t val; } garble[] = {
		{ 0, 0x00 },          /* magic */
		{ 4, 0x02 },          /* version */
		{ 24, 0x09 },         /* key count above the store's capacity */
		{ 24, 0x02 },         /* key count lower than the records */
		{ 28, 0x05 },         /* client count above the table's capacity */
		{ 32, 0x00 },         /* first key record: key_len 0 */
		{ 32, KBP_KEY_MAX + 1 },
		{ 34, 0x10 },         /* first key record: val_len high byte (4096+) */
	};
	for (size_t i = 0; i < sizeof(garble) / sizeof(garble[0]); i++) {
		memcpy(bad, buf, (size_t)len);
		bad[garble[i].off] = garble[i].val;
		assert_int_equal(kbp_kv_restore(other, bad, (uint32_t)len, &upto), -KBP_EMALFORMED);
	}
	assert_int_equal(upto, 1234);
	assert_int_equal(kbp_kv_digest(other), d);
	struct kbp_reply r;
	assert_true(kbp_kv_session_lookup(other, 9, 1, &r));

	/* The intact snapshot still restores. */
	assert_int_equal(kbp_kv_restore(other, buf, (uint32_t)len, &upto), 0);
	assert_int_equal(upto, 7);
	assert_int_equal(kbp_kv_digest(other), kbp_kv_digest(kv));
	assert_false(kbp_kv_session_lookup(other, 9, 1, &r));
	kbp_kv_free(other);
	free(buf);
	free(bad);
}

/*
 * kbpaxosd faults its working memory in after recovery has filled it (the log ring, the
 * store, the sessions): touching must leave every byte as it was.  Writing 0 instead
 * clobbered a recovered entry's value pointer and crashed a restarted node on its first
 * apply (tests/cluster/kill_each.sh found it).
 */
static void test_touch_pages_keeps_contents(void **state)
{
	(void)state;
	size_t len = 5 * 4096 + 100;
	uint8_t *buf = malloc(len), *want = malloc(len);
	assert_non_null(buf);
	assert_non_null(want);
	for (size_t i = 0; i < len; i++)
		buf[i] = want[i] = (uint8_t)(0xa5 ^ i ^ (i >> 8));
	kbp_touch_pages(buf, len);
	kbp_touch_pages(buf + 1, len - 1);     /* unaligned start: still nothing changes */
	assert_memory_equal(buf, want, len);
	free(buf);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kv_put_get, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_cas, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_full, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_session_dedup, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_noop_is_not_applied, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_lru_eviction, kv_setup, kv_teardown),
		cmocka_unit_test(test_kv_lru_many_clients),
		cmocka_unit_test_setup_teardown(test_kv_snapshot_roundtrip, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_restore_rejects_bad_input, kv_setup, kv_teardown),
		cmocka_unit_test(test_touch_pages_keeps_contents),
	};
	return cmocka_run_group_tests_name("kv", tests, NULL, NULL);
}
