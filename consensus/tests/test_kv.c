/* SPDX-License-Identifier: MIT */
/*
 * The key-value state machine: put/get/cas, and the client sessions that make a write run
 * at most once however many clients come and go: registration from a counter, kept
 * answers, STALE, SESSION_EXPIRED, LRU eviction, expiry, and snapshots that carry them.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int kv_setup(void **state)
{
	*state = h_kv_new(8, 4, 0);
	return 0;
}

static int kv_teardown(void **state)
{
	kbp_kv_free(*state);
	return 0;
}

/* Apply one command; returns the status and copies the value (if any) into val. */
static uint8_t apply(struct kbp_kv *kv, struct kbp_cmd c, bool want_ran, char *val)
{
	struct kbp_reply r;
	memset(&r, 0xee, sizeof(r));
	assert_int_equal(kbp_kv_apply(kv, &c, &r), want_ran);
	assert_int_equal(r.client_id, c.client_id);
	assert_int_equal(r.seq, c.seq);
	if (val) {
		assert_true(r.val_len < 64);
		if (r.val_len)
			memcpy(val, r.val, r.val_len);
		val[r.val_len] = 0;
	}
	return r.status;
}

/* Register under nonce; returns the id the store handed out. */
static uint64_t reg(struct kbp_kv *kv, uint64_t nonce)
{
	struct kbp_cmd c = h_register(nonce);
	struct kbp_reply r;
	assert_true(kbp_kv_apply(kv, &c, &r));
	assert_int_equal(r.status, KBP_ST_OK);
	assert_int_equal(r.client_id, c.client_id);
	assert_int_equal(r.val_len, KBP_REGISTER_REPLY_LEN);
	return kbp_le64_load(r.val);
}

static bool has_session(const struct kbp_kv *kv, uint64_t id)
{
	uint64_t ids[64], seqs[64];
	uint32_t n = kbp_kv_sessions(kv, ids, seqs, 64);
	for (uint32_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static void test_kv_put_get(void **state)
{
	struct kbp_kv *kv = *state;
	char v[64];
	uint64_t a = reg(kv, 1);
	/* Reads need no session: an unregistered id, or a nonce, reads as well. */
	assert_int_equal(apply(kv, h_get(77, 1, "apple"), true, v), KBP_ST_NOT_FOUND);
	assert_int_equal(apply(kv, h_put(a, 2, "apple", "red"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(a, 3, "apple"), true, v), KBP_ST_OK);
	assert_string_equal(v, "red");
	assert_int_equal(apply(kv, h_put(a, 4, "apple", "green"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(KBP_CLIENT_NONCE | 5, 1, "apple"), true, v), KBP_ST_OK);
	assert_string_equal(v, "green");
	assert_int_equal(kbp_kv_keys(kv), 1);
	/* Keys differ by length too, not only by bytes. */
	assert_int_equal(apply(kv, h_get(a, 5, "appl"), true, v), KBP_ST_NOT_FOUND);
}

static void test_kv_cas(void **state)
{
	struct kbp_kv *kv = *state;
	char v[64];
	uint64_t a = reg(kv, 1);
	assert_int_equal(apply(kv, h_cas(a, 1, "k", "", "x"), true, NULL), KBP_ST_NOT_FOUND);
	assert_int_equal(apply(kv, h_put(a, 2, "k", "one"), true, NULL), KBP_ST_OK);
	/* A failed CAS answers with the current value and changes nothing. */
	assert_int_equal(apply(kv, h_cas(a, 3, "k", "two", "three"), true, v), KBP_ST_CAS_FAILED);
	assert_string_equal(v, "one");
	assert_int_equal(apply(kv, h_cas(a, 4, "k", "on", "three"), true, v), KBP_ST_CAS_FAILED);
	assert_string_equal(v, "one");
	assert_int_equal(apply(kv, h_cas(a, 5, "k", "one", "two"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(a, 6, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "two");
	/* CAS to the empty value, then from it. */
	assert_int_equal(apply(kv, h_cas(a, 7, "k", "two", ""), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_cas(a, 8, "k", "", "back"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(a, 9, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "back");
}

static void test_kv_full(void **state)
{
	struct kbp_kv *kv = *state;             /* 8 keys */
	char key[8];
	uint64_t a = reg(kv, 1);
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(apply(kv, h_put(a, (uint64_t)i + 1, key, "v"), true, NULL), KBP_ST_OK);
	}
	assert_int_equal(apply(kv, h_put(a, 9, "k8", "v"), true, NULL), KBP_ST_FULL);
	/* An existing key can still be overwritten. */
	assert_int_equal(apply(kv, h_put(a, 10, "k3", "w"), true, NULL), KBP_ST_OK);
	assert_int_equal(kbp_kv_keys(kv), 8);
}

static void test_kv_register_issues_fresh_ids(void **state)
{
	struct kbp_kv *kv = *state;
	struct kbp_kv_stats st;
	assert_int_equal(reg(kv, 100), 1);
	assert_int_equal(reg(kv, 200), 2);
	/* A retried REGISTER that reached the log twice gets a second session (the first ages out). */
	assert_int_equal(reg(kv, 200), 3);
	kbp_kv_get_stats(kv, &st);
	assert_int_equal(st.next_client_id, 4);
	assert_int_equal(st.sessions, 3);
	/* A session id cannot register, nor can id 0: INVALID, nothing issued. */
	struct kbp_cmd bad = h_register(5);
	bad.client_id = 2;
	assert_int_equal(apply(kv, bad, false, NULL), KBP_ST_INVALID);
	bad.client_id = 0;
	assert_int_equal(apply(kv, bad, false, NULL), KBP_ST_INVALID);
	kbp_kv_get_stats(kv, &st);
	assert_int_equal(st.next_client_id, 4);
	assert_int_equal(st.applied, 5);
	assert_int_equal(st.executed, 3);
}

static void test_kv_session_rules(void **state)
{
	struct kbp_kv *kv = *state;
	char v[64];
	struct kbp_reply r;
	uint64_t a = reg(kv, 1), b = reg(kv, 2);

	assert_int_equal(apply(kv, h_put(a, 1, "k", "a"), true, NULL), KBP_ST_OK);
	/* A retried CAS that succeeded stays a success (running it again would fail). */
	assert_int_equal(apply(kv, h_cas(b, 5, "k", "a", "c"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_cas(b, 5, "k", "a", "c"), false, NULL), KBP_ST_OK);
	assert_true(kbp_kv_session_lookup(kv, b, 5, &r));
	assert_int_equal(r.status, KBP_ST_OK);
	/* A failed CAS keeps its answer, value included. */
	assert_int_equal(apply(kv, h_cas(b, 6, "k", "x", "y"), true, v), KBP_ST_CAS_FAILED);
	assert_int_equal(apply(kv, h_cas(b, 6, "k", "x", "y"), false, v), KBP_ST_CAS_FAILED);
	assert_string_equal(v, "c");

	/* Below the latest: STALE, answered and not run; that answer is no longer kept. */
	assert_int_equal(apply(kv, h_put(b, 4, "k", "old"), false, v), KBP_ST_STALE);
	assert_string_equal(v, "");
	assert_true(kbp_kv_session_lookup(kv, b, 4, &r));
	assert_int_equal(r.status, KBP_ST_STALE);
	assert_int_equal(apply(kv, h_get(a, 2, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "c");

	/* No session: never registered, a nonce, or one beyond the counter.  Not run. */
	assert_int_equal(apply(kv, h_put(99, 1, "k", "z"), false, NULL), KBP_ST_SESSION_EXPIRED);
	assert_int_equal(apply(kv, h_put(KBP_CLIENT_NONCE | 1, 1, "k", "z"), false, NULL),
			 KBP_ST_SESSION_EXPIRED);
	assert_false(kbp_kv_session_lookup(kv, 99, 1, &r));
	/* seq 0 is not a seq. */
	assert_int_equal(apply(kv, h_put(a, 0, "k", "z"), false, NULL), KBP_ST_INVALID);
	assert_int_equal(apply(kv, h_get(a, 3, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "c");

	/* Reads leave sessions alone: a's latest write is still seq 1. */
	assert_true(kbp_kv_session_lookup(kv, a, 1, &r));
	assert_int_equal(r.status, KBP_ST_OK);
	assert_false(kbp_kv_session_lookup(kv, a, 2, &r));
}

static void test_kv_noop_is_not_applied(void **state)
{
	struct kbp_kv *kv = *state;
	struct kbp_reply r;
	struct kbp_kv_stats st;
	struct kbp_cmd n = h_noop();
	uint64_t d = kbp_kv_digest(kv);
	assert_false(kbp_kv_apply(kv, &n, &r));
	assert_int_equal(r.status, KBP_ST_INVALID);
	assert_int_equal(kbp_kv_digest(kv), d);
	kbp_kv_get_stats(kv, &st);
	assert_int_equal(st.applied, 0);
}

static void test_kv_lru_eviction(void **state)
{
	struct kbp_kv *kv = *state;              /* 4 client sessions */
	uint64_t id[8];
	for (unsigned k = 0; k < 4; k++) {
		id[k] = reg(kv, 10 + k);
		assert_int_equal(apply(kv, h_put(id[k], 1, "k", "v"), true, NULL), KBP_ST_OK);
	}
	/* The first comes back, so the second is now the least recently used. */
	assert_int_equal(apply(kv, h_put(id[0], 2, "k", "v"), true, NULL), KBP_ST_OK);
	id[4] = reg(kv, 14);
	assert_false(has_session(kv, id[1]));
	assert_true(has_session(kv, id[0]) && has_session(kv, id[2]) && has_session(kv, id[3]));
	/* Next out: the third, then the fourth. */
	id[5] = reg(kv, 15);
	assert_false(has_session(kv, id[2]));
	id[6] = reg(kv, 16);
	assert_false(has_session(kv, id[3]));
	assert_true(has_session(kv, id[0]));
	/* An evicted client's retry is not run again: SESSION_EXPIRED, and never a new session. */
	assert_int_equal(apply(kv, h_put(id[1], 1, "k", "again"), false, NULL), KBP_ST_SESSION_EXPIRED);
	assert_int_equal(apply(kv, h_put(id[1], 2, "k", "again"), false, NULL), KBP_ST_SESSION_EXPIRED);
	assert_false(has_session(kv, id[1]));
	/* Reads do not keep a session alive: id[0] is still the oldest use. */
	assert_int_equal(apply(kv, h_get(id[0], 3, "k"), true, NULL), KBP_ST_OK);
	reg(kv, 17);
	assert_false(has_session(kv, id[0]));
	/* Ids are never issued twice. */
	for (unsigned k = 0; k < 7; k++)
		for (unsigned j = 0; j < k; j++)
			assert_int_not_equal(id[k], id[j]);
}

static void test_kv_lru_many_clients(void **state)
{
	(void)state;
	/* Many clients through a small table: probe chains must survive every deletion. */
	struct kbp_kv *kv = h_kv_new(4, 8, 0);
	struct kbp_reply r;
	for (uint64_t cl = 1; cl <= 500; cl++) {
		assert_int_equal(reg(kv, cl), cl);
		struct kbp_cmd c = h_put(cl, 1, "k", "v");
		assert_true(kbp_kv_apply(kv, &c, &r));
		for (uint64_t back = 0; back < 8 && back < cl; back++)
			assert_true(kbp_kv_session_lookup(kv, cl - back, 1, &r));
		if (cl > 8)
			assert_false(kbp_kv_session_lookup(kv, cl - 8, 1, &r));
	}
	kbp_kv_free(kv);
}

/*
 * A session that none of the next session_expiry_cmds commands (of any kind, refused ones
 * included) uses is gone before the command after them; a use starts the count again.
 * Decided in log order, like everything here.
 */
static void test_kv_expiry(void **state)
{
	(void)state;
	struct kbp_kv *kv = h_kv_new(8, 16, 3);
	uint64_t a = reg(kv, 1);                                                     /* 1 */
	uint64_t b = reg(kv, 2);                                                     /* 2 */
	assert_int_equal(apply(kv, h_put(b, 1, "k", "b"), true, NULL), KBP_ST_OK);   /* 3 */
	assert_int_equal(apply(kv, h_put(a, 1, "k", "a"), true, NULL), KBP_ST_OK);   /* 4: 3 after its last use */
	assert_int_equal(apply(kv, h_put(b, 2, "k", "b"), true, NULL), KBP_ST_OK);   /* 5 */
	assert_int_equal(apply(kv, h_get(b, 3, "k"), true, NULL), KBP_ST_OK);        /* 6 */
	assert_int_equal(apply(kv, h_put(99, 1, "k", "x"), false, NULL), KBP_ST_SESSION_EXPIRED); /* 7 */
	assert_true(has_session(kv, a));
	assert_int_equal(apply(kv, h_put(a, 2, "k", "a"), false, NULL), KBP_ST_SESSION_EXPIRED);  /* 8 */
	assert_false(has_session(kv, a));
	assert_true(has_session(kv, b));
	kbp_kv_free(kv);

	/* 0: never. */
	kv = h_kv_new(8, 16, 0);
	a = reg(kv, 1);
	for (uint64_t k = 0; k < 1000; k++)
		apply(kv, h_get(a, k + 1, "k"), true, NULL);
	assert_int_equal(apply(kv, h_put(a, 1, "k", "a"), true, NULL), KBP_ST_OK);
	kbp_kv_free(kv);
}

/*
 * Issue 11, item 1: client X's put (seq 1) is applied; after more than clients_max other
 * clients have come and gone, a late duplicate of X's seq 1 arrives.  It must not run
 * again (it would overwrite the newer value) and is answered SESSION_EXPIRED.
 */
static void test_kv_late_duplicate_after_eviction(void **state)
{
	(void)state;
	struct kbp_kv *kv = h_kv_new(16, 4096, 0);
	char v[64];
	uint64_t x = reg(kv, 1), y = reg(kv, 2);
	assert_int_equal(apply(kv, h_put(x, 1, "k", "old"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_put(y, 1, "k", "new"), true, NULL), KBP_ST_OK);
	for (uint64_t cl = 0; cl < 5000; cl++) {
		uint64_t o = reg(kv, 1000 + cl);
		assert_int_equal(apply(kv, h_put(o, 1, "other", "v"), true, NULL), KBP_ST_OK);
	}
	assert_false(has_session(kv, x));
	assert_int_equal(apply(kv, h_put(x, 1, "k", "old"), false, NULL), KBP_ST_SESSION_EXPIRED);
	assert_int_equal(apply(kv, h_get(y, 2, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "new");
	kbp_kv_free(kv);

	/* The planted bug the simulator must catch restores the old behaviour: it runs again. */
	struct kbp_kv_config kc = { .keys_max = 16, .clients_max = 4, .break_reexecute = true };
	kv = kbp_kv_new(&kc);
	x = reg(kv, 1);
	assert_int_equal(apply(kv, h_put(x, 1, "k", "old"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_put(x, 2, "k", "new"), true, NULL), KBP_ST_OK);
	for (uint64_t cl = 0; cl < 8; cl++)
		reg(kv, 1000 + cl);
	assert_int_equal(apply(kv, h_put(x, 1, "k", "old"), true, NULL), KBP_ST_OK);
	assert_int_equal(apply(kv, h_get(x, 3, "k"), true, v), KBP_ST_OK);
	assert_string_equal(v, "old");
	kbp_kv_free(kv);
}

/* Sessions 1..3: 1 wrote apple, 2 wrote berry and cherry, 3 got CAS_FAILED with a value. */
static void fill(struct kbp_kv *kv)
{
	for (uint64_t k = 1; k <= 3; k++)
		assert_int_equal(reg(kv, k), k);
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
	assert_int_equal(kbp_le32_load(buf + 4), 2);           /* format version 2 */

	struct kbp_kv *copy = h_kv_new(8, 4, 0);
	uint64_t upto = 0;
	assert_int_equal(kbp_kv_restore(copy, buf, (uint32_t)len, &upto), 0);
	assert_int_equal(upto, 42);
	assert_int_equal(kbp_kv_digest(copy), kbp_kv_digest(kv));
	assert_int_equal(kbp_kv_keys(copy), 3);

	/* Counters and sessions travel, in order of use: the same ids, seqs and answers. */
	struct kbp_kv_stats a, b;
	kbp_kv_get_stats(kv, &a);
	kbp_kv_get_stats(copy, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(b.next_client_id, 4);
	uint64_t ia[8], sa[8], ib[8], sb[8];
	assert_int_equal(kbp_kv_sessions(kv, ia, sa, 8), 3);
	assert_int_equal(kbp_kv_sessions(copy, ib, sb, 8), 3);
	assert_memory_equal(ia, ib, sizeof(ia[0]) * 3);
	assert_memory_equal(sa, sb, sizeof(sa[0]) * 3);
	assert_int_equal(ib[0], 1);                            /* least recently used first */
	struct kbp_reply r;
	assert_true(kbp_kv_session_lookup(copy, 3, 9, &r));
	assert_int_equal(r.status, KBP_ST_CAS_FAILED);
	assert_int_equal(r.val_len, 3);
	assert_memory_equal(r.val, "red", 3);
	assert_true(kbp_kv_session_lookup(copy, 2, 1, &r));
	assert_int_equal(r.status, KBP_ST_STALE);
	assert_true(kbp_kv_session_lookup(copy, 2, 2, &r));
	assert_int_equal(r.status, KBP_ST_OK);

	/* Both replicas go on identically: the same next id, the same LRU victim. */
	assert_int_equal(reg(kv, 50), 4);
	assert_int_equal(reg(copy, 50), 4);
	assert_int_equal(reg(kv, 51), 5);
	assert_int_equal(reg(copy, 51), 5);
	assert_false(has_session(kv, 1) || has_session(copy, 1));
	assert_true(has_session(kv, 2) && has_session(copy, 2));
	assert_int_equal(apply(kv, h_put(1, 2, "apple", "again"), false, NULL), KBP_ST_SESSION_EXPIRED);
	assert_int_equal(apply(copy, h_put(1, 2, "apple", "again"), false, NULL), KBP_ST_SESSION_EXPIRED);
	assert_int_equal(kbp_kv_digest(copy), kbp_kv_digest(kv));

	/* A snapshot that does not fit says so. */
	assert_int_equal(kbp_kv_snapshot(kv, 1, buf, 60), -KBP_ETOOBIG);
	assert_int_equal(kbp_kv_snapshot(kv, 1, buf, 8), -KBP_ETOOBIG);
	kbp_kv_free(copy);
	free(buf);
}

/* Offset of the first session record in a snapshot (after the key records). */
static uint32_t first_session(const uint8_t *buf)
{
	uint32_t off = 48, keys = kbp_le32_load(buf + 40);
	for (uint32_t i = 0; i < keys; i++)
		off += 3 + buf[off] + kbp_le16_load(buf + off + 1);
	return off;
}

static void test_kv_restore_rejects_bad_input(void **state)
{
	struct kbp_kv *kv = *state;
	fill(kv);
	uint32_t cap = kbp_kv_snapshot_bytes_max(kv);
	uint8_t *buf = malloc(cap + 8), *bad = malloc(cap + 8);
	int len = kbp_kv_snapshot(kv, 7, buf, cap);
	assert_true(len > 48);

	struct kbp_kv *other = h_kv_new(8, 4, 0);
	uint64_t mine = reg(other, 9);
	apply(other, h_put(mine, 1, "zzz", "untouched"), true, NULL);
	uint64_t d = kbp_kv_digest(other), upto = 1234;

	/* Every truncation is refused, and the target keeps its state. */
	for (int l = 0; l < len; l++)
		assert_int_equal(kbp_kv_restore(other, buf, (uint32_t)l, &upto), -KBP_EMALFORMED);
	/* Trailing garbage is refused too. */
	memcpy(bad, buf, (size_t)len);
	bad[len] = 0;
	assert_int_equal(kbp_kv_restore(other, bad, (uint32_t)len + 1, &upto), -KBP_EMALFORMED);

	uint32_t s0 = first_session(buf), s1 = s0 + 27;      /* session 1 keeps no value */
	assert_int_equal(kbp_le64_load(buf + s0), 1);
	struct { uint32_t off; uint8_t val; } garble[] = {
		{ 0, 0x00 },          /* magic */
		{ 4, 0x01 },          /* version 1: the old format without counters */
		{ 24, 0x7f },         /* executed above applied */
		{ 32, 0x00 },         /* next_client_id 0 */
		{ 32, 0x02 },         /* next_client_id 2: sessions 2 and 3 were never issued */
		{ 39, 0x81 },         /* next_client_id beyond the id space */
		{ 40, 0x09 },         /* key count above the store's capacity */
		{ 40, 0x02 },         /* key count lower than the records */
		{ 44, 0x05 },         /* session count above the table's capacity */
		{ 48, 0x00 },         /* first key record: key_len 0 */
		{ 48, KBP_KEY_MAX + 1 },
		{ 50, 0x10 },         /* first key record: val_len high byte (4096+) */
		{ s0, 0x00 },         /* session id 0 */
		{ s0 + 7, 0x80 },     /* a nonce as a session id */
		{ s1, 0x01 },         /* the same id twice */
		{ s1 + 16, 0x00 },    /* last use not after the previous session's */
		{ s0 + 24, KBP_ST_COUNT },  /* an answer with no such status */
	};
	for (size_t i = 0; i < sizeof(garble) / sizeof(garble[0]); i++) {
		memcpy(bad, buf, (size_t)len);
		bad[garble[i].off] = garble[i].val;
		if (garble[i].off == s1 + 16)
			memset(bad + s1 + 16, 0, 8);
		assert_int_equal(kbp_kv_restore(other, bad, (uint32_t)len, &upto), -KBP_EMALFORMED);
	}
	assert_int_equal(upto, 1234);
	assert_int_equal(kbp_kv_digest(other), d);
	assert_true(has_session(other, mine));

	/* The intact snapshot still restores. */
	assert_int_equal(kbp_kv_restore(other, buf, (uint32_t)len, &upto), 0);
	assert_int_equal(upto, 7);
	assert_int_equal(kbp_kv_digest(other), kbp_kv_digest(kv));
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
		cmocka_unit_test_setup_teardown(test_kv_register_issues_fresh_ids, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_session_rules, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_noop_is_not_applied, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_lru_eviction, kv_setup, kv_teardown),
		cmocka_unit_test(test_kv_lru_many_clients),
		cmocka_unit_test(test_kv_expiry),
		cmocka_unit_test(test_kv_late_duplicate_after_eviction),
		cmocka_unit_test_setup_teardown(test_kv_snapshot_roundtrip, kv_setup, kv_teardown),
		cmocka_unit_test_setup_teardown(test_kv_restore_rejects_bad_input, kv_setup, kv_teardown),
		cmocka_unit_test(test_touch_pages_keeps_contents),
	};
	return cmocka_run_group_tests_name("kv", tests, NULL, NULL);
}
