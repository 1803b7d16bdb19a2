/* SPDX-License-Identifier: MIT */
/* kbpaxos-gen --check: the bounded history of the run and its verdict, key by key. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_check.h"

#define CHECK_PENDING 0xfeu
#define CHECK_EXCERPT_MIN_NS UINT64_C(1000000000)   /* the excerpt gets 1 s even at the bound */

/* One request as the generator saw it. */
struct rec {
	uint64_t call, ret;          /* ticks; ret only with a definite answer */
	uint64_t exp;                /* CAS: value expected */
	uint64_t read;               /* GET OK, CAS_FAILED: value answered */
	uint32_t key;
	uint32_t client;
	uint8_t op;
	uint8_t status;              /* KBP_ST_*, CHECK_PENDING or KBP_LIN_UNKNOWN */
};
_Static_assert(sizeof(struct rec) == KBP_CHECK_REC_BYTES, "the documented bound per record");

struct kbp_check {
	uint32_t used, ops_max;
	uint64_t keys;
	struct rec *rec;
	uint64_t *known;             /* per key: the latest value seen, for CAS to expect */
};

struct kbp_check *kbp_check_new(uint32_t ops_max, uint64_t keys)
{
	struct kbp_check *c = calloc(1, sizeof(*c));

	if (!c || ops_max == 0 || keys == 0 || keys > UINT32_MAX)
		goto fail;
	c->ops_max = ops_max;
	c->keys = keys;
	/* calloc: pages are touched as records fill them, not up front. */
	c->rec = calloc(ops_max, sizeof(*c->rec));
	c->known = calloc(keys, sizeof(*c->known));
	if (!c->rec || !c->known)
		goto fail;
	return c;
fail:
	kbp_check_free(c);
	return NULL;
}

void kbp_check_free(struct kbp_check *c)
{
	if (!c)
		return;
	free(c->rec);
	free(c->known);
	free(c);
}

bool kbp_check_full(const struct kbp_check *c)
{
	return c->used >= c->ops_max;
}

static uint64_t value_of(uint32_t rec)
{
	return (uint64_t)rec + 1;
}

uint32_t kbp_check_invoke(struct kbp_check *c, uint64_t key, uint8_t op, uint32_t client, uint64_t t)
{
	if (op != KBP_OP_PUT && op != KBP_OP_GET && op != KBP_OP_CAS)
		return KBP_CHECK_NO_REC;
	assert(c->used < c->ops_max && key < c->keys);
	uint32_t i = c->used++;
	struct rec *r = &c->rec[i];

	r->call = t;
	r->key = (uint32_t)key;
	r->client = client;
	r->op = op;
	r->status = CHECK_PENDING;
	r->exp = op == KBP_OP_CAS ? c->known[key] : 0;
	return i;
}

void kbp_check_values(const struct kbp_check *c, uint32_t rec, uint64_t *exp, uint64_t *val)
{
	*exp = *val = 0;
	if (rec == KBP_CHECK_NO_REC)
		return;
	const struct rec *r = &c->rec[rec];
	*exp = r->exp;
	*val = r->op == KBP_OP_GET ? 0 : value_of(rec);
}

void kbp_check_complete(struct kbp_check *c, uint32_t rec, uint8_t status, uint64_t read, uint64_t t)
{
	if (rec == KBP_CHECK_NO_REC)
		return;
	struct rec *r = &c->rec[rec];
	assert(rec < c->used && r->status == CHECK_PENDING);
	assert(status == KBP_ST_OK || status == KBP_ST_NOT_FOUND || status == KBP_ST_CAS_FAILED);
	r->status = status;
	r->ret = t;
	r->read = KBP_LIN_ABSENT;
	if ((r->op == KBP_OP_GET && status == KBP_ST_OK) || status == KBP_ST_CAS_FAILED)
		r->read = read;
	/* What a CAS on this key should expect next: the latest value we heard of. */
	if (status == KBP_ST_NOT_FOUND)
		c->known[r->key] = KBP_LIN_ABSENT;
	else if (r->op != KBP_OP_GET && status == KBP_ST_OK)
		c->known[r->key] = value_of(rec);
	else if (r->read != KBP_LIN_FOREIGN)
		c->known[r->key] = r->read;
}

void kbp_check_end(struct kbp_check *c, uint32_t rec)
{
	if (rec == KBP_CHECK_NO_REC)
		return;
	assert(rec < c->used);
	if (c->rec[rec].status == CHECK_PENDING)
		c->rec[rec].status = KBP_LIN_UNKNOWN;
}

const char *kbp_check_verdict_name(enum kbp_check_verdict v)
{
	return v == KBP_CHECK_YES ? "yes" : v == KBP_CHECK_NO ? "no" : "unknown";
}

static struct kbp_lin_op lin_op(const struct kbp_check *c, uint32_t i)
{
	const struct rec *r = &c->rec[i];
	bool known = r->status != KBP_LIN_UNKNOWN && r->status != CHECK_PENDING;

	return (struct kbp_lin_op){
		.call = r->call,
		.ret = known ? r->ret : KBP_LIN_NEVER,
		.val = r->op == KBP_OP_GET ? 0 : value_of(i),
		.exp = r->exp,
		.read = r->read,
		.client = r->client,
		.tag = i,
		.op = r->op,
		.status = known ? r->status : KBP_LIN_UNKNOWN,
	};
}

/* Records grouped by key, each group in call order: the order they were recorded. */
static int group_by_key(const struct kbp_check *c, uint32_t **start_out, uint32_t **order_out)
{
	uint32_t *start = calloc(c->keys + 1, sizeof(*start));
	uint32_t *order = malloc((c->used ? c->used : 1) * sizeof(*order));

	if (!start || !order) {
		free(start);
		free(order);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c->used; i++)
		start[c->rec[i].key + 1]++;
	for (uint64_t k = 0; k < c->keys; k++)
		start[k + 1] += start[k];
	for (uint32_t i = 0; i < c->used; i++)
		order[start[c->rec[i].key]++] = i;
	/* start[k] now ends key k: shift back. */
	memmove(start + 1, start, c->keys * sizeof(*start));
	start[0] = 0;
	*start_out = start;
	*order_out = order;
	return 0;
}

/* Shrink key k's failing history to the excerpt in r (the operations near the failure). */
static void excerpt(const struct kbp_lin_op *ops, uint32_t m, uint64_t deadline, size_t cache_bytes,
		    struct kbp_check_result *r)
{
	struct kbp_lin_limits lim = { .deadline_ns = deadline, .cache_bytes = cache_bytes };
	uint32_t *keep = malloc((m ? m : 1) * sizeof(*keep));
	uint32_t n, first;

	if (!keep)
		return;
	n = kbp_lin_excerpt(ops, m, &lim, keep, &r->excerpt_minimal);
	r->excerpt_total = n;
	first = n > KBP_CHECK_EXCERPT_MAX ? n - KBP_CHECK_EXCERPT_MAX : 0;
	for (uint32_t j = first; j < n; j++)
		r->excerpt[r->n_excerpt++] = ops[keep[j]];
	free(keep);
}

/* Key k's operations, ops[] filled from order[from..to). */
static uint32_t key_ops(const struct kbp_check *c, const uint32_t *order, uint32_t from, uint32_t to,
			struct kbp_lin_op *ops, struct kbp_check_result *r)
{
	for (uint32_t j = from; j < to; j++) {
		ops[j - from] = lin_op(c, order[j]);
		r->unknown += ops[j - from].status == KBP_LIN_UNKNOWN;
	}
	return to - from;
}

int kbp_check_run(struct kbp_check *c, double time_limit_s, size_t cache_bytes,
		  struct kbp_check_result *r)
{
	uint64_t t0 = kbp_lin_now_ns();
	struct kbp_lin_limits lim = {
		.deadline_ns = t0 + (uint64_t)(time_limit_s * 1e9), .cache_bytes = cache_bytes,
	};
	struct kbp_lin_op *ops = malloc((c->used ? c->used : 1) * sizeof(*ops));
	uint32_t *start, *order;
	bool failed = false;

	memset(r, 0, sizeof(*r));
	r->ops = c->used;
	r->full = kbp_check_full(c);
	if (!ops || group_by_key(c, &start, &order) != 0) {
		free(ops);
		return -ENOMEM;
	}
	for (uint64_t k = 0; k < c->keys; k++) {
		uint32_t m = key_ops(c, order, start[k], start[k + 1], ops, r);
		struct kbp_lin_stats st;
		if (m == 0)
			continue;
		r->keys++;
		enum kbp_lin_verdict v = kbp_lin_check(ops, m, &lim, &st);
		r->steps += st.steps;
		r->unknown_kept += st.unknown_kept;
		if (v == KBP_LIN_NO && !failed) {
			failed = true;
			r->bad_key = k;
			r->bad_key_ops = m;
		}
		r->keys_failed += v == KBP_LIN_NO;
		r->keys_unchecked += v == KBP_LIN_TIMEOUT || v == KBP_LIN_NOMEM;
	}
	if (failed) {
		/* The excerpt: at least 1 s of its own, even when the bound is spent. */
		uint64_t now = kbp_lin_now_ns();
		uint64_t dl = lim.deadline_ns > now + CHECK_EXCERPT_MIN_NS ? lim.deadline_ns
									  : now + CHECK_EXCERPT_MIN_NS;
		uint64_t unknown = r->unknown;
		uint32_t m = key_ops(c, order, start[r->bad_key], start[r->bad_key + 1], ops, r);
		r->unknown = unknown;
		excerpt(ops, m, dl, cache_bytes, r);
	}
	r->verdict = failed ? KBP_CHECK_NO : r->keys_unchecked ? KBP_CHECK_UNKNOWN : KBP_CHECK_YES;
	r->seconds = (double)(kbp_lin_now_ns() - t0) / 1e9;
	free(ops);
	free(start);
	free(order);
	return 0;
}

/* ---- Reports --------------------------------------------------------------------- */

static void fmt_value(char *buf, size_t len, uint64_t v)
{
	if (v == KBP_LIN_ABSENT)
		snprintf(buf, len, "absent");
	else if (v == KBP_LIN_FOREIGN)
		snprintf(buf, len, "a value never written");
	else
		snprintf(buf, len, "v%" PRIu64, v);
}

/* What the answer said: "ok v7", "cas_failed, holds v5", "no answer (...)". */
static void fmt_result(char *buf, size_t len, const struct kbp_lin_op *o)
{
	char v[32];

	fmt_value(v, sizeof(v), o->read);
	if (o->status == KBP_LIN_UNKNOWN)
		snprintf(buf, len, "no answer (may have run, or not)");
	else if (o->status == KBP_ST_NOT_FOUND)
		snprintf(buf, len, "not_found");
	else if (o->status == KBP_ST_CAS_FAILED)
		snprintf(buf, len, "cas_failed, holds %s", v);
	else if (o->op == KBP_OP_GET)
		snprintf(buf, len, "ok %s", v);
	else
		snprintf(buf, len, "ok");
}

/* "put v12 -> ok", "get -> ok v7", "cas v3 to v9 -> cas_failed, holds v5". */
static void fmt_op(char *buf, size_t len, const struct kbp_lin_op *o)
{
	char a[32], b[32], res[64];

	fmt_result(res, sizeof(res), o);
	fmt_value(a, sizeof(a), o->val);
	fmt_value(b, sizeof(b), o->exp);
	if (o->op == KBP_OP_PUT)
		snprintf(buf, len, "put %s -> %s", a, res);
	else if (o->op == KBP_OP_GET)
		snprintf(buf, len, "get -> %s", res);
	else
		snprintf(buf, len, "cas %s to %s -> %s", b, a, res);
}

static double secs(uint64_t t, uint64_t t0, double ticks_per_s)
{
	return t >= t0 ? (double)(t - t0) / ticks_per_s : -(double)(t0 - t) / ticks_per_s;
}

void kbp_check_print(const struct kbp_check_result *r, FILE *f, uint64_t t0, double ticks_per_s,
		     const char *key_name)
{
	char op[160];

	fprintf(f, "linearizable=%s\n", kbp_check_verdict_name(r->verdict));
	fprintf(f, "  check: %" PRIu64 " operations on %" PRIu64 " keys (%" PRIu64 " without a definite "
		"answer, %" PRIu64 " of those seen by another answer and searched), %" PRIu64 " keys not "
		"linearizable, %" PRIu64 " not decided in time; %.3f s, %" PRIu64 " search steps%s\n",
		r->ops, r->keys, r->unknown, r->unknown_kept, r->keys_failed, r->keys_unchecked, r->seconds,
		r->steps, r->full ? "; the recording bound ended the run early" : "");
	if (r->verdict != KBP_CHECK_NO)
		return;
	fprintf(f, "  key %s (%u operations): the %u below cannot be ordered as one register%s\n", key_name,
		r->bad_key_ops, r->excerpt_total,
		r->excerpt_minimal ? " (minimal: without any one of them, and what read its value, they can)"
				   : " (not minimal: the time bound cut the shrinking short)");
	if (r->excerpt_total > r->n_excerpt)
		fprintf(f, "    (the last %u shown)\n", r->n_excerpt);
	fprintf(f, "    %8s %14s %14s  %s\n", "client", "invoked (s)", "answered (s)", "operation");
	for (uint32_t j = 0; j < r->n_excerpt; j++) {
		const struct kbp_lin_op *o = &r->excerpt[j];
		char ret[32];
		fmt_op(op, sizeof(op), o);
		if (o->status == KBP_LIN_UNKNOWN)
			snprintf(ret, sizeof(ret), "-");
		else
			snprintf(ret, sizeof(ret), "%.6f", secs(o->ret, t0, ticks_per_s));
		fprintf(f, "    %8u %14.6f %14s  %s\n", o->client, secs(o->call, t0, ticks_per_s), ret, op);
	}
}

void kbp_check_json(const struct kbp_check_result *r, struct kbp_json *j, uint64_t t0,
		    double ticks_per_s, const char *key_name)
{
	char op[160];

	kbp_json_obj_begin(j, "check");
	kbp_json_str(j, "linearizable", kbp_check_verdict_name(r->verdict));
	kbp_json_u64(j, "ops", r->ops);
	kbp_json_u64(j, "keys", r->keys);
	kbp_json_u64(j, "unknown", r->unknown);
	kbp_json_u64(j, "unknown_searched", r->unknown_kept);
	kbp_json_u64(j, "keys_failed", r->keys_failed);
	kbp_json_u64(j, "keys_undecided", r->keys_unchecked);
	kbp_json_u64(j, "steps", r->steps);
	kbp_json_double(j, "check_s", r->seconds);
	kbp_json_bool(j, "bound_reached", r->full);
	if (r->verdict == KBP_CHECK_NO) {
		kbp_json_str(j, "key", key_name);
		kbp_json_u64(j, "excerpt_ops", r->excerpt_total);
		kbp_json_bool(j, "excerpt_minimal", r->excerpt_minimal);
		kbp_json_arr_begin(j, "excerpt");
		for (uint32_t k = 0; k < r->n_excerpt; k++) {
			const struct kbp_lin_op *o = &r->excerpt[k];
			fmt_op(op, sizeof(op), o);
			kbp_json_obj_begin(j, NULL);
			kbp_json_u64(j, "client", o->client);
			kbp_json_double(j, "invoked_s", secs(o->call, t0, ticks_per_s));
			kbp_json_double(j, "answered_s", o->status == KBP_LIN_UNKNOWN ? NAN
							: secs(o->ret, t0, ticks_per_s));
			kbp_json_str(j, "op", op);
			kbp_json_obj_end(j);
		}
		kbp_json_arr_end(j);
	}
	kbp_json_obj_end(j);
}
