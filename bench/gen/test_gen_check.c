/* SPDX-License-Identifier: MIT */
/*
 * The --check linearizability checker must be able to fail: hand-written histories with
 * each kind of violation, histories whose unknown outcomes make them linearizable,
 * generated concurrent histories (linearizable by construction, and the same with a
 * contradiction at the end), thousands of small random histories against a brute-force
 * checker written from the definition, one that runs into the time bound, and the
 * recording API the generator uses.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kbp_check.h"
#include "kbp_lin.h"
#include "kbp_rng.h"

#define NEVER KBP_LIN_NEVER
#define UNK KBP_LIN_UNKNOWN
#define ABSENT KBP_LIN_ABSENT
#define FOREIGN KBP_LIN_FOREIGN

/* ---- History builders --------------------------------------------------------------- */

static struct kbp_lin_op put(uint64_t call, uint64_t ret, uint64_t v)
{
	return (struct kbp_lin_op){ .call = call, .ret = ret, .val = v, .op = KBP_OP_PUT,
				    .status = ret == NEVER ? UNK : KBP_ST_OK };
}

/* read: ABSENT for NOT_FOUND; ret NEVER: unknown. */
static struct kbp_lin_op get(uint64_t call, uint64_t ret, uint64_t read)
{
	return (struct kbp_lin_op){ .call = call, .ret = ret, .read = read, .op = KBP_OP_GET,
				    .status = ret == NEVER ? UNK : read == ABSENT ? KBP_ST_NOT_FOUND : KBP_ST_OK };
}

static struct kbp_lin_op cas(uint64_t call, uint64_t ret, uint64_t exp, uint64_t v, uint8_t status,
			     uint64_t read)
{
	return (struct kbp_lin_op){ .call = call, .ret = ret, .exp = exp, .val = v, .read = read,
				    .op = KBP_OP_CAS, .status = ret == NEVER ? UNK : status };
}

static enum kbp_lin_verdict check(const struct kbp_lin_op *ops, uint32_t n)
{
	struct kbp_lin_limits lim = { .deadline_ns = kbp_lin_now_ns() + UINT64_C(20000000000) };
	return kbp_lin_check(ops, n, &lim, NULL);
}

/* ---- A checker written from the definition, for small histories ---------------------- */

static bool model(uint64_t s, const struct kbp_lin_op *o, uint64_t *ns)
{
	*ns = s;
	if (o->op == KBP_OP_PUT) {
		*ns = o->val;
		return true;
	}
	if (o->op == KBP_OP_GET)
		return o->status == UNK || (o->status == KBP_ST_NOT_FOUND && s == ABSENT) ||
		       (o->status == KBP_ST_OK && s != ABSENT && s == o->read);
	/* CAS, exactly as consensus/kbp_kv.c executes it. */
	uint8_t would = s == ABSENT ? KBP_ST_NOT_FOUND : s == o->exp ? KBP_ST_OK : KBP_ST_CAS_FAILED;
	if (would == KBP_ST_OK)
		*ns = o->val;
	if (o->status == UNK)
		return true;
	return o->status == would && (would != KBP_ST_CAS_FAILED || o->read == s);
}

/*
 * Some order of some of the operations -- every answered one, any unknown ones -- that
 * respects real time (a before b when a was answered before b was invoked) and that a
 * register accepts.  Unknown operations left out never ran.
 */
static bool brute(const struct kbp_lin_op *o, uint32_t n, uint32_t done, uint64_t s)
{
	bool answered_left = false;
	for (uint32_t i = 0; i < n; i++)
		answered_left |= !(done >> i & 1) && o[i].status != UNK;
	if (!answered_left)
		return true;
	for (uint32_t i = 0; i < n; i++) {
		bool may = !(done >> i & 1);
		uint64_t ns;
		for (uint32_t j = 0; j < n && may; j++)
			may = j == i || (done >> j & 1) || o[j].status == UNK || o[j].ret >= o[i].call;
		if (may && model(s, &o[i], &ns) && brute(o, n, done | 1u << i, ns))
			return true;
	}
	return false;
}

/* ---- Hand-written histories ------------------------------------------------------ */

static void assert_excerpt(const struct kbp_lin_op *h, uint32_t n, uint32_t want)
{
	uint32_t keep[64];
	bool minimal;
	struct kbp_lin_limits lim = { .deadline_ns = kbp_lin_now_ns() + UINT64_C(20000000000) };
	uint32_t k = kbp_lin_excerpt(h, n, &lim, keep, &minimal);
	assert_int_equal(k, want);
	assert_true(minimal);
}

static void test_sequential(void **state)
{
	(void)state;
	struct kbp_lin_op h[] = {
		get(0, 1, ABSENT), put(2, 3, 1), get(4, 5, 1), cas(6, 7, 1, 2, KBP_ST_OK, 0),
		cas(8, 9, 1, 3, KBP_ST_CAS_FAILED, 2), get(10, 11, 2),
	};
	assert_int_equal(check(h, 0), KBP_LIN_YES);
	assert_int_equal(check(h, 6), KBP_LIN_YES);
}

static void test_stale_read(void **state)
{
	(void)state;
	struct kbp_lin_op h[] = {
		put(0, 1, 1), get(1, 2, 1), put(3, 4, 2), put(20, 21, 3), get(5, 6, 1),
	};
	assert_int_equal(check(h, 5), KBP_LIN_NO);
	assert_excerpt(h, 5, 3);          /* put 1, put 2, then a read of 1 */
	/* The same read while put 2 is still in flight is fine. */
	h[4] = get(3, 4, 1);
	assert_int_equal(check(h, 5), KBP_LIN_YES);
}

static void test_lost_write(void **state)
{
	(void)state;
	struct kbp_lin_op h[] = { put(0, 1, 1), get(2, 3, 1), get(4, 5, ABSENT) };
	assert_int_equal(check(h, 3), KBP_LIN_NO);
	assert_excerpt(h, 3, 2);          /* put 1 (and its read) then not_found: the put and the not_found */
	struct kbp_lin_op h2[] = { put(0, 1, 1), cas(2, 3, 1, 2, KBP_ST_OK, 0), get(4, 5, 1) };
	assert_int_equal(check(h2, 3), KBP_LIN_NO);
}

static void test_cas_never_written(void **state)
{
	(void)state;
	/* A CAS succeeded against v7, which nobody wrote. */
	struct kbp_lin_op h[] = { put(0, 1, 1), cas(2, 3, 7, 2, KBP_ST_OK, 0), get(4, 5, 2) };
	assert_int_equal(check(h, 3), KBP_LIN_NO);
	assert_excerpt(h, 3, 1);
	/* A CAS that failed showing the current value is fine; showing another is not. */
	struct kbp_lin_op h2[] = { put(0, 1, 1), cas(2, 3, 7, 2, KBP_ST_CAS_FAILED, 1) };
	assert_int_equal(check(h2, 2), KBP_LIN_YES);
	h2[1].read = 3;
	assert_int_equal(check(h2, 2), KBP_LIN_NO);
	/* CAS on an absent key answers NOT_FOUND, never OK. */
	struct kbp_lin_op h3[] = { cas(0, 1, ABSENT, 1, KBP_ST_OK, 0) };
	assert_int_equal(check(h3, 1), KBP_LIN_NO);
	h3[0].status = KBP_ST_NOT_FOUND;
	assert_int_equal(check(h3, 1), KBP_LIN_YES);
}

static void test_read_before_write(void **state)
{
	(void)state;
	struct kbp_lin_op h[] = { put(0, 1, 1), get(2, 3, 2), put(4, 5, 2) };
	assert_int_equal(check(h, 3), KBP_LIN_NO);
	assert_excerpt(h, 3, 2);
	struct kbp_lin_op h2[] = { get(0, 1, FOREIGN) };
	assert_int_equal(check(h2, 1), KBP_LIN_NO);
	/* The same read overlapping the write is fine. */
	h[1] = get(2, 4, 2);
	assert_int_equal(check(h, 3), KBP_LIN_YES);
}

static void test_unknown_outcomes(void **state)
{
	(void)state;
	/* The put timed out but took effect: seen 10 s later. */
	struct kbp_lin_op h1[] = { put(0, NEVER, 1), get(10, 11, 1) };
	assert_int_equal(check(h1, 2), KBP_LIN_YES);
	/* Or it never ran: reads keep seeing the old value. */
	struct kbp_lin_op h2[] = { put(0, 1, 1), put(2, NEVER, 2), get(10, 11, 1), get(12, 13, 1) };
	assert_int_equal(check(h2, 4), KBP_LIN_YES);
	/* But once seen it stays: 2 then 1 again is a violation. */
	struct kbp_lin_op h3[] = { put(0, 1, 1), put(2, NEVER, 2), get(10, 11, 2), get(12, 13, 1) };
	assert_int_equal(check(h3, 4), KBP_LIN_NO);
	assert_excerpt(h3, 4, 4);
	/* It may take effect long after the client gave up, even after later answers. */
	struct kbp_lin_op h4[] = { put(0, NEVER, 1), put(5, 6, 2), get(7, 8, 2), get(9, 10, 1) };
	assert_int_equal(check(h4, 4), KBP_LIN_YES);
	/* A timed-out CAS that ran, and one that could not have (its expected value was never there). */
	struct kbp_lin_op h5[] = { put(0, 1, 1), cas(2, NEVER, 1, 2, 0, 0), get(5, 6, 2) };
	assert_int_equal(check(h5, 3), KBP_LIN_YES);
	h5[1].exp = 3;
	assert_int_equal(check(h5, 3), KBP_LIN_NO);
	/* An unknown get is no evidence of anything. */
	struct kbp_lin_op h6[] = { put(0, 1, 1), get(2, NEVER, 99) };
	assert_int_equal(check(h6, 2), KBP_LIN_YES);
	/* A write seen before it was invoked, unknown outcome or not. */
	struct kbp_lin_op h7[] = { get(0, 1, 1), put(2, NEVER, 1) };
	assert_int_equal(check(h7, 2), KBP_LIN_NO);
}

/* Operations that overlap: only some orders work, and the search must find one. */
static void test_needs_search(void **state)
{
	(void)state;
	struct kbp_lin_op h[] = {
		put(0, 100, 1), put(0, 100, 2), put(0, 100, 3), put(0, 100, 4),
		get(10, 20, 3), get(30, 40, 1), cas(50, 60, 1, 5, KBP_ST_OK, 0), get(65, 70, 5),
		get(110, 120, 4), get(130, 140, 4),
	};
	assert_int_equal(check(h, 10), KBP_LIN_YES);  /* 3, 1, cas 1->5, 2, then 4 last */
	h[9] = get(130, 140, 2);
	assert_int_equal(check(h, 10), KBP_LIN_NO);   /* every put ended: 4 then 2 is impossible */
	h[8] = get(110, 120, 2);
	h[9] = get(130, 140, 5);
	assert_int_equal(check(h, 10), KBP_LIN_NO);   /* 5 was written after 1, which was after 2 ... */
	h[9] = get(130, 140, 2);
	assert_int_equal(check(h, 10), KBP_LIN_YES);  /* ... but 2 can come after 5 */
}

/* ---- Generated histories ----------------------------------------------------------- */

struct gen_op {
	struct kbp_lin_op o;
	uint64_t lin;                /* when it took effect; NEVER: did not run */
};

static int lin_cmp(const void *a, const void *b)
{
	const struct gen_op *x = a, *y = b;
	return x->lin < y->lin ? -1 : x->lin > y->lin;
}

/*
 * clients x per operations on one key, each taking effect at a random instant inside
 * its interval (unknown ones: any time after the call, or never); the answers are what
 * a register gives in that order, so the history is linearizable by construction.
 * Returns the final state.
 */
struct shape {
	uint32_t clients, per;       /* clients x operations each */
	uint64_t start, dur, gap;    /* first call in [0, start), durations 1..dur, pauses 0..gap-1 */
	uint32_t unknown_one_in;     /* how often a request times out */
};

static uint64_t gen_history(struct kbp_lin_op *out, const struct shape *sh, uint64_t seed)
{
	uint32_t clients = sh->clients, per = sh->per;
	struct kbp_rng rng = { seed };
	uint32_t n = clients * per;
	struct gen_op *g = calloc(n, sizeof(*g));
	uint64_t s = ABSENT;

	assert_non_null(g);
	for (uint32_t c = 0; c < clients; c++) {
		uint64_t t = kbp_rng_next(&rng) % sh->start;
		for (uint32_t k = 0; k < per; k++) {
			struct gen_op *x = &g[c * per + k];
			uint64_t dur = 1 + kbp_rng_next(&rng) % sh->dur;
			x->o.call = t;
			x->o.ret = t + dur;
			x->o.client = c;
			x->o.val = c * per + k + 1;
			x->o.op = (uint8_t)(KBP_OP_PUT + kbp_rng_next(&rng) % 3);
			x->lin = t + kbp_rng_next(&rng) % (dur + 1);
			x->o.status = KBP_ST_OK;
			if (kbp_rng_next(&rng) % sh->unknown_one_in == 0) {   /* timed out */
				x->o.status = UNK;
				x->o.ret = NEVER;
				x->lin = kbp_rng_next(&rng) % 2 ? NEVER : t + kbp_rng_next(&rng) % (4 * dur + 1);
			}
			t += dur + kbp_rng_next(&rng) % sh->gap;
		}
	}
	qsort(g, n, sizeof(*g), lin_cmp);
	for (uint32_t i = 0; i < n; i++) {
		struct kbp_lin_op *o = &g[i].o;
		bool ran = g[i].lin != NEVER;
		if (o->op == KBP_OP_CAS)
			o->exp = kbp_rng_next(&rng) % 2 ? s : (kbp_rng_next(&rng) % (i + 1)) + 1;
		uint8_t status = o->op == KBP_OP_GET ? (s == ABSENT ? KBP_ST_NOT_FOUND : KBP_ST_OK)
			       : o->op == KBP_OP_PUT ? KBP_ST_OK
			       : s == ABSENT ? KBP_ST_NOT_FOUND : s == o->exp ? KBP_ST_OK : KBP_ST_CAS_FAILED;
		if (o->status != UNK) {
			o->status = status;
			o->read = status == KBP_ST_OK && o->op == KBP_OP_GET ? s
				: status == KBP_ST_CAS_FAILED ? s : ABSENT;
		}
		if (ran && (o->op == KBP_OP_PUT || (o->op == KBP_OP_CAS && status == KBP_ST_OK)))
			s = o->val;
		out[i] = *o;
	}
	free(g);
	return s;
}

static void generated(const struct shape *sh, uint64_t seed)
{
	const uint32_t n = sh->clients * sh->per;
	struct kbp_lin_op *h = calloc(n + 2, sizeof(*h));
	uint32_t *keep = malloc((n + 2) * sizeof(*keep));
	struct kbp_lin_stats st;
	struct kbp_lin_limits lim = { .deadline_ns = kbp_lin_now_ns() + UINT64_C(60000000000) };
	uint64_t s = gen_history(h, sh, seed), w = ABSENT, end = 0, t0;
	bool minimal;

	assert_true(h && keep);
	t0 = kbp_lin_now_ns();
	assert_int_equal(kbp_lin_check(h, n, &lim, &st), KBP_LIN_YES);
	assert_true(st.unknown_kept > 0 && st.unknown_dropped > 0);
	printf("%u clients x %u, seed %llu: linearizable, %.3f s, %llu steps\n", sh->clients, sh->per,
	       (unsigned long long)seed, (double)(kbp_lin_now_ns() - t0) / 1e9, (unsigned long long)st.steps);
	/*
	 * Afterwards two reads in a row: the final value, then another one written by an
	 * answered write.  Only a search over the orders of the concurrent tail can rule
	 * that out.
	 */
	for (uint32_t i = 0; i < n; i++) {
		if (h[i].status == UNK)
			continue;
		end = h[i].ret > end ? h[i].ret : end;
		if (h[i].op == KBP_OP_PUT && h[i].val != s)
			w = h[i].val;
	}
	assert_true(s != ABSENT && w != ABSENT);
	h[n] = get(end + 10, end + 11, s);
	h[n + 1] = get(end + 12, end + 13, w);
	t0 = kbp_lin_now_ns();
	assert_int_equal(kbp_lin_check(h, n + 2, &lim, &st), KBP_LIN_NO);
	printf("  and with a stale read at the end: not, %.3f s, %llu steps;", (double)(kbp_lin_now_ns() - t0) / 1e9,
	       (unsigned long long)st.steps);
	t0 = kbp_lin_now_ns();
	uint32_t k = kbp_lin_excerpt(h, n + 2, &lim, keep, &minimal);
	printf(" excerpt of %u in %.3f s\n", k, (double)(kbp_lin_now_ns() - t0) / 1e9);
	assert_true(minimal);
	assert_true(k >= 2 && k <= 16);
	assert_true(keep[k - 1] == n + 1);        /* it ends with the read that cannot be */
	free(keep);
	free(h);
}

static void test_generated_concurrent(void **state)
{
	(void)state;
	const struct shape eight = { .clients = 8, .per = 600, .start = 50, .dur = 60, .gap = 5,
				     .unknown_one_in = 20 };
	const struct shape sixteen = { .clients = 16, .per = 300, .start = 50, .dur = 60, .gap = 5,
				       .unknown_one_in = 20 };
	for (uint64_t seed = 1; seed <= 3; seed++)
		generated(&eight, seed);
	generated(&sixteen, 1);
}

/* A small correct history, then maybe one answer changed. */
static uint32_t gen_small(struct kbp_lin_op *h, struct kbp_rng *rng)
{
	const struct shape sh = { .clients = 1 + (uint32_t)(kbp_rng_next(rng) % 7), .per = 1, .start = 10,
				  .dur = 6, .gap = 1, .unknown_one_in = 4 };
	uint32_t n = sh.clients;

	gen_history(h, &sh, kbp_rng_next(rng));
	if (kbp_rng_next(rng) % 2)
		return n;
	struct kbp_lin_op *o = &h[kbp_rng_next(rng) % n];
	uint64_t v = kbp_rng_next(rng) % (n + 2);      /* 0: absent, n + 1: never written */
	v = v == n + 1 ? 77 : v;
	if (o->op == KBP_OP_CAS && kbp_rng_next(rng) % 2)
		o->exp = v;
	else if (o->op == KBP_OP_CAS && o->status != UNK)
		*o = cas(o->call, o->ret, o->exp, o->val,
			 (uint8_t)(KBP_ST_OK + kbp_rng_next(rng) % 3), v ? v : 1);
	else if (o->op == KBP_OP_GET && o->status != UNK)
		*o = get(o->call, o->ret, v);
	else if (o->status != UNK)
		o->ret = o->call + kbp_rng_next(rng) % 3;
	return n;
}

/* Small random histories, correct or not: the search agrees with brute force. */
static void test_random_vs_brute(void **state)
{
	(void)state;
	struct kbp_rng rng = { 42 };
	struct kbp_lin_op h[8], sub[8];
	uint32_t yes = 0, no = 0, keep[8];

	for (uint32_t iter = 0; iter < 20000; iter++) {
		uint32_t n = gen_small(h, &rng);
		bool want = brute(h, n, 0, ABSENT);
		assert_int_equal(check(h, n), want ? KBP_LIN_YES : KBP_LIN_NO);
		if (want) {
			yes++;
			continue;
		}
		no++;
		/* The excerpt fails on its own. */
		bool minimal;
		struct kbp_lin_limits lim = { .deadline_ns = kbp_lin_now_ns() + UINT64_C(10000000000) };
		uint32_t k = kbp_lin_excerpt(h, n, &lim, keep, &minimal);
		assert_true(k >= 1 && k <= n && minimal);
		for (uint32_t j = 0; j < k; j++)
			sub[j] = h[keep[j]];
		assert_false(brute(sub, k, 0, ABSENT));
	}
	printf("random histories: %u linearizable, %u not\n", yes, no);
	assert_true(yes > 1000 && no > 1000);
}

/* 40 concurrent writes, then two reads that no order explains: 2^40 orders to rule out. */
static void test_time_bound(void **state)
{
	(void)state;
	struct kbp_lin_op h[42];
	for (uint32_t i = 0; i < 40; i++)
		h[i] = put(0, 100, i + 1);
	h[40] = get(200, 201, 1);
	h[41] = get(202, 203, 2);
	uint64_t t0 = kbp_lin_now_ns();
	struct kbp_lin_limits lim = { .deadline_ns = t0 + 200000000, .cache_bytes = 1 << 20 };
	struct kbp_lin_stats st;
	assert_int_equal(kbp_lin_check(h, 42, &lim, &st), KBP_LIN_TIMEOUT);
	uint64_t took = kbp_lin_now_ns() - t0;
	printf("time bound: gave up after %.3f s, %llu steps, %llu memo resets\n", (double)took / 1e9,
	       (unsigned long long)st.steps, (unsigned long long)st.cache_resets);
	assert_true(took < UINT64_C(2000000000));
}

/* ---- The recording API ----------------------------------------------------------- */

static void test_recording(void **state)
{
	(void)state;
	struct kbp_check *c = kbp_check_new(16, 4);
	struct kbp_check_result r;
	uint64_t exp, val;
	char *buf = NULL;
	size_t len = 0;

	assert_non_null(c);
	/* Key 1: put, get, cas expecting what was read, a timed-out put nobody saw. */
	uint32_t p = kbp_check_invoke(c, 1, KBP_OP_PUT, 0, 10);
	kbp_check_values(c, p, &exp, &val);
	assert_int_equal(val, p + 1);
	kbp_check_complete(c, p, KBP_ST_OK, 0, 20);
	kbp_check_end(c, p);
	uint32_t g = kbp_check_invoke(c, 1, KBP_OP_GET, 1, 30);
	kbp_check_complete(c, g, KBP_ST_OK, p + 1, 40);
	kbp_check_end(c, g);
	uint32_t x = kbp_check_invoke(c, 1, KBP_OP_CAS, 0, 50);
	kbp_check_values(c, x, &exp, &val);
	assert_int_equal(exp, p + 1);
	assert_int_equal(val, x + 1);
	kbp_check_complete(c, x, KBP_ST_OK, 0, 60);
	kbp_check_end(c, x);
	uint32_t u = kbp_check_invoke(c, 1, KBP_OP_PUT, 2, 70);
	kbp_check_end(c, u);
	/* Key 3: nothing there yet. */
	uint32_t n3 = kbp_check_invoke(c, 3, KBP_OP_GET, 3, 5);
	kbp_check_complete(c, n3, KBP_ST_NOT_FOUND, 0, 6);
	kbp_check_end(c, n3);
	assert_int_equal(kbp_check_run(c, 10, 0, &r), 0);
	assert_int_equal(r.verdict, KBP_CHECK_YES);
	assert_int_equal(r.ops, 5);
	assert_int_equal(r.keys, 2);
	assert_int_equal(r.unknown, 1);
	assert_int_equal(r.unknown_kept, 0);

	/* Key 3 then shows key 1's value: a read of a value written to another key. */
	uint32_t bad = kbp_check_invoke(c, 3, KBP_OP_GET, 3, 100);
	kbp_check_complete(c, bad, KBP_ST_OK, x + 1, 110);
	kbp_check_end(c, bad);
	assert_int_equal(kbp_check_run(c, 10, 0, &r), 0);
	assert_int_equal(r.verdict, KBP_CHECK_NO);
	assert_int_equal(r.bad_key, 3);
	assert_int_equal(r.keys_failed, 1);
	assert_int_equal(r.excerpt_total, 1);
	assert_true(r.excerpt_minimal);
	assert_int_equal(r.excerpt[0].tag, bad);

	FILE *f = open_memstream(&buf, &len);
	kbp_check_print(&r, f, 0, 10.0, "k3");
	fclose(f);
	assert_non_null(strstr(buf, "linearizable=no\n"));
	assert_non_null(strstr(buf, "key k3 (2 operations): the 1 below cannot be ordered"));
	assert_non_null(strstr(buf, "get -> ok v3"));
	free(buf);

	/* Only put, get and cas are recorded. */
	uint32_t noop = kbp_check_invoke(c, 0, KBP_OP_NOOP, 0, 150);
	assert_int_equal(noop, KBP_CHECK_NO_REC);
	kbp_check_values(c, noop, &exp, &val);
	assert_true(exp == 0 && val == 0);
	kbp_check_complete(c, noop, KBP_ST_OK, 0, 160);
	kbp_check_end(c, noop);

	/* The bound: 16 records, then full. */
	while (!kbp_check_full(c))
		kbp_check_end(c, kbp_check_invoke(c, 0, KBP_OP_GET, 0, 200));
	assert_int_equal(kbp_check_run(c, 10, 0, &r), 0);
	assert_true(r.full && r.ops == 16);
	kbp_check_free(c);
}

static void test_recording_time_bound(void **state)
{
	(void)state;
	struct kbp_check *c = kbp_check_new(64, 1);
	struct kbp_check_result r;
	uint32_t w[40];

	for (uint32_t i = 0; i < 40; i++)
		w[i] = kbp_check_invoke(c, 0, KBP_OP_PUT, i, 0);
	for (uint32_t i = 0; i < 40; i++) {
		kbp_check_complete(c, w[i], KBP_ST_OK, 0, 100);
		kbp_check_end(c, w[i]);
	}
	uint32_t a = kbp_check_invoke(c, 0, KBP_OP_GET, 0, 200);
	kbp_check_complete(c, a, KBP_ST_OK, w[0] + 1, 201);
	uint32_t b = kbp_check_invoke(c, 0, KBP_OP_GET, 0, 202);
	kbp_check_complete(c, b, KBP_ST_OK, w[1] + 1, 203);
	assert_int_equal(kbp_check_run(c, 0.2, 1 << 20, &r), 0);
	assert_int_equal(r.verdict, KBP_CHECK_UNKNOWN);
	assert_int_equal(r.keys_unchecked, 1);
	assert_true(r.seconds < 2.0);
	kbp_check_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_stale_read),
		cmocka_unit_test(test_lost_write),
		cmocka_unit_test(test_cas_never_written),
		cmocka_unit_test(test_read_before_write),
		cmocka_unit_test(test_unknown_outcomes),
		cmocka_unit_test(test_needs_search),
		cmocka_unit_test(test_generated_concurrent),
		cmocka_unit_test(test_random_vs_brute),
		cmocka_unit_test(test_time_bound),
		cmocka_unit_test(test_recording),
		cmocka_unit_test(test_recording_time_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
