/* SPDX-License-Identifier: MIT */
/*
 * Linearizability of one register's history: the method behind `kbpaxos-gen --check`.
 * kbp_lin_search.c holds the search itself (Wing & Gong with Lowe's memo, as Porcupine).
 *
 * P-compositionality (Herlihy & Wing 1990 call it locality; Horn & Kroening 2015 use
 * it to split the search): a key-value history is linearizable iff each key's history
 * is, so the caller (kbp_check.c) checks one key at a time.  For one key:
 *
 * 1. Prune (prune_set).  Every write writes a unique value, so an answered read names
 *    the write it saw.  An operation "requires" a value: a GET answered OK or a CAS
 *    answered CAS_FAILED requires the value it returned, a CAS answered OK (or an
 *    unknown CAS that is kept) requires its expected value.  Then:
 *    - an unknown GET is dropped: it changes nothing and its answer was never seen;
 *    - an unknown PUT or CAS whose value nobody requires is dropped.  Sound: from any
 *      linearization of the whole history, delete it and declare "never ran" every
 *      unknown CAS that then had no effect -- nobody saw the difference.  Complete:
 *      any linearization without it extends by putting it last;
 *    - an unknown write that is kept must have taken effect before the first answer
 *      that required its value: its return becomes that answer's (never below its
 *      call).  No linearization is lost, and no +infinity is left for the search, so
 *      an unknown outcome does not make every later operation concurrent with it.
 *
 * 2. Closed sub-histories.  A sub-history that keeps, with every operation, the writer
 *    of the value it requires ("closed") is linearizable whenever the whole history is:
 *    restrict a linearization of the whole to it; every requirement is still met by the
 *    same writer, and nothing between them changed.  So a closed sub-history that is
 *    not linearizable proves that the whole is not, and can be shown instead of it.
 *
 * 3. The whole search (kbp_lin_search.c), first with a budget of steps that a
 *    linearizable history rarely needs: most are done in about one step per operation.
 *
 * 4. Windows (check_windows), when the budget ran out.  A search that must answer "no"
 *    explores every order of everything before the violation, which is hopeless on a
 *    long history with many concurrent clients.  Violations are local (a stale read, a
 *    lost write), so every window of LIN_WINDOW consecutive operations (by call,
 *    overlapping by half), closed by adding the writers it requires, is searched on
 *    its own: cheap, and a failing window is a proof (2).  If every window passes, the
 *    whole search runs again, now until the deadline.
 *
 * 5. The excerpt (kbp_lin_excerpt).  From the failing window (or the whole history):
 *    the shortest failing closed prefix by bisection (failure is monotone in the
 *    prefix), then chunks and then single operations are removed, with whatever
 *    requires their values, while it still fails (delta debugging).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kbp_lin_impl.h"

#define LIN_NONE UINT32_MAX
#define LIN_WINDOW 64u
#define LIN_STRIDE (LIN_WINDOW / 2)
#define LIN_FIRST_STEPS(m) ((uint64_t)(m) * 64u + (UINT64_C(1) << 20))

uint64_t kbp_lin_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool kbp_lin_deadline_passed(const struct kbp_lin_limits *lim)
{
	return lim && lim->deadline_ns && kbp_lin_now_ns() >= lim->deadline_ns;
}

/* ---- The register -------------------------------------------------------------- */

/* The value op needs the register to hold when it takes effect; false when none. */
static bool required(const struct kbp_lin_op *o, uint64_t *v)
{
	if (o->op == KBP_OP_GET && o->status == KBP_ST_OK)
		*v = o->read;
	else if (o->op == KBP_OP_CAS && o->status == KBP_ST_CAS_FAILED)
		*v = o->read;
	else if (o->op == KBP_OP_CAS && (o->status == KBP_ST_OK || o->status == KBP_LIN_UNKNOWN))
		*v = o->exp;
	else
		return false;
	return *v != KBP_LIN_ABSENT && *v != KBP_LIN_FOREIGN;
}

static bool writes(const struct kbp_lin_op *o)
{
	return o->op == KBP_OP_PUT || o->op == KBP_OP_CAS;
}

bool kbp_lin_step(uint64_t s, const struct kbp_lin_op *o, uint64_t *ns)
{
	bool present = s != KBP_LIN_ABSENT;

	*ns = s;
	switch (o->op) {
	case KBP_OP_PUT:
		*ns = o->val;
		return o->status == KBP_ST_OK || o->status == KBP_LIN_UNKNOWN;
	case KBP_OP_GET:
		if (o->status == KBP_LIN_UNKNOWN)
			return true;
		if (o->status == KBP_ST_NOT_FOUND)
			return !present;
		return o->status == KBP_ST_OK && present && s == o->read;
	case KBP_OP_CAS:
		if (o->status == KBP_LIN_UNKNOWN) {       /* ran (with whatever effect) or not */
			if (present && s == o->exp)
				*ns = o->val;
			return true;
		}
		if (o->status == KBP_ST_NOT_FOUND)
			return !present;
		if (o->status == KBP_ST_CAS_FAILED)
			return present && s != o->exp && s == o->read;
		if (o->status == KBP_ST_OK && present && s == o->exp) {
			*ns = o->val;
			return true;
		}
		return false;
	default:
		return false;
	}
}

/* ---- Writers: value -> the operation that wrote it -------------------------------- */

struct writer {
	uint64_t val;
	uint32_t i;
};

static int writer_cmp(const void *a, const void *b)
{
	const struct writer *x = a, *y = b;
	if (x->val != y->val)
		return x->val < y->val ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Sorted (value, index) for the writes among idx[0..k); *nw receives the count. */
static struct writer *writers_build(const struct kbp_lin_op *ops, const uint32_t *idx, uint32_t k,
				    uint32_t *nw)
{
	struct writer *w = malloc((k ? k : 1) * sizeof(*w));
	uint32_t n = 0;

	if (!w)
		return NULL;
	for (uint32_t j = 0; j < k; j++)
		if (writes(&ops[idx[j]]))
			w[n++] = (struct writer){ ops[idx[j]].val, idx[j] };
	qsort(w, n, sizeof(*w), writer_cmp);
	*nw = n;
	return w;
}

static uint32_t writer_of(const struct writer *w, uint32_t n, uint64_t v)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (w[mid].val < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && w[lo].val == v ? w[lo].i : LIN_NONE;
}


/* ---- Sorting indexes by time ------------------------------------------------------ */

struct stamp {
	uint64_t t;
	uint32_t id;
};

static int stamp_cmp(const void *a, const void *b)
{
	const struct stamp *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* idx[0..k) in call order (ties: by index).  Returns 0 or -ENOMEM. */
static int sort_by_call(const struct kbp_lin_op *ops, uint32_t *idx, uint32_t k)
{
	struct stamp *s = malloc((k ? k : 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (uint32_t j = 0; j < k; j++)
		s[j] = (struct stamp){ ops[idx[j]].call, idx[j] };
	qsort(s, k, sizeof(*s), stamp_cmp);
	for (uint32_t j = 0; j < k; j++)
		idx[j] = s[j].id;
	free(s);
	return 0;
}

/* ---- Pruning unknown outcomes ------------------------------------------------- */

struct prune {
	const struct kbp_lin_op *ops;
	uint64_t *eret;              /* indexed like ops */
	bool *keep, *queued;         /* indexed like ops */
	uint32_t *queue, nq;
};

/* Unknown write w must have taken effect by time t: keep it, and by then at the latest. */
static void relax(struct prune *p, uint32_t w, uint64_t t)
{
	if (w == LIN_NONE || p->ops[w].status != KBP_LIN_UNKNOWN)
		return;
	if (p->keep[w] && p->eret[w] <= t)
		return;
	p->keep[w] = true;
	if (t < p->eret[w])
		p->eret[w] = t;
	if (!p->queued[w]) {
		p->queued[w] = true;
		p->queue[p->nq++] = w;
	}
}

/* Kept ones to out[] (call order), effective rets to eret[] (like ops).  Count or -ENOMEM. */
static int prune_set(const struct kbp_lin_op *ops, uint32_t n, const uint32_t *idx, uint32_t k,
		     uint32_t *out, uint64_t *eret, struct kbp_lin_stats *st)
{
	struct prune p = { .ops = ops, .eret = eret };
	uint32_t nw = 0, kept = 0, unknown = 0, kept_unknown = 0;
	struct writer *w = writers_build(ops, idx, k, &nw);
	uint64_t v;
	int rc = -ENOMEM;

	p.keep = calloc(n ? n : 1, sizeof(*p.keep));
	p.queued = calloc(n ? n : 1, sizeof(*p.queued));
	p.queue = malloc((k ? k : 1) * sizeof(*p.queue));
	if (!w || !p.keep || !p.queued || !p.queue)
		goto out;
	for (uint32_t j = 0; j < k; j++) {
		const struct kbp_lin_op *o = &ops[idx[j]];
		bool known = o->status != KBP_LIN_UNKNOWN;
		p.keep[idx[j]] = known;
		eret[idx[j]] = !known ? KBP_LIN_NEVER : o->ret < o->call ? o->call : o->ret;
	}
	/* Answers require values; a kept unknown CAS requires its expected value in turn. */
	for (uint32_t j = 0; j < k; j++)
		if (ops[idx[j]].status != KBP_LIN_UNKNOWN && required(&ops[idx[j]], &v))
			relax(&p, writer_of(w, nw, v), eret[idx[j]]);
	while (p.nq > 0) {
		uint32_t u = p.queue[--p.nq];
		p.queued[u] = false;
		if (required(&ops[u], &v))
			relax(&p, writer_of(w, nw, v), eret[u]);
	}
	for (uint32_t j = 0; j < k; j++) {
		uint32_t i = idx[j];
		bool unk = ops[i].status == KBP_LIN_UNKNOWN;
		unknown += unk;
		if (!p.keep[i])
			continue;
		if (unk && eret[i] < ops[i].call)
			eret[i] = ops[i].call;   /* seen before it was sent: the search will say no */
		kept_unknown += unk;
		out[kept++] = i;
	}
	if (sort_by_call(ops, out, kept) != 0)
		goto out;
	if (st) {
		st->searched = kept;
		st->unknown_kept = kept_unknown;
		st->unknown_dropped = unknown - kept_unknown;
	}
	rc = (int)kept;
out:
	free(w);
	free(p.keep);
	free(p.queued);
	free(p.queue);
	return rc;
}

/* ---- Closed sub-histories ---------------------------------------------------------- */

struct ctx {
	const struct kbp_lin_op *ops;
	uint32_t n;
	const struct kbp_lin_limits *lim;
	struct kbp_lin_stats *st;    /* steps only; may be NULL */
	uint32_t *parent;            /* the writer of the value op i requires, or LIN_NONE */
	bool *in;                    /* scratch, all false between uses */
	uint32_t *cand;              /* scratch: a candidate sub-history */
	uint64_t *eret;              /* scratch for prune_set */
	bool gave_up;                /* the deadline passed (or memory ran out) */
};

static void ctx_fini(struct ctx *c)
{
	free(c->parent);
	free(c->in);
	free(c->cand);
	free(c->eret);
}

static int ctx_init(struct ctx *c, const struct kbp_lin_op *ops, uint32_t n,
		    const struct kbp_lin_limits *lim, struct kbp_lin_stats *st, uint32_t *all)
{
	struct writer *w;
	uint32_t nw;
	uint64_t v;

	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->n = n;
	c->lim = lim;
	c->st = st;
	c->parent = malloc((n ? n : 1) * sizeof(*c->parent));
	c->in = calloc(n ? n : 1, sizeof(*c->in));
	c->cand = malloc((n ? n : 1) * sizeof(*c->cand));
	c->eret = malloc((n ? n : 1) * sizeof(*c->eret));
	for (uint32_t i = 0; i < n; i++)
		all[i] = i;
	if (!c->parent || !c->in || !c->cand || !c->eret || !(w = writers_build(ops, all, n, &nw))) {
		ctx_fini(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		c->parent[i] = required(&ops[i], &v) ? writer_of(w, nw, v) : LIN_NONE;
	free(w);
	return 0;
}

/*
 * Prune cand[0..nc) and search it: true when it is not linearizable, its pruned form
 * then in out[] (*nout).  A search that ran out of time or memory sets gave_up.
 */
static bool fails(struct ctx *c, uint32_t nc, uint32_t *out, uint32_t *nout)
{
	int m = prune_set(c->ops, c->n, c->cand, nc, out, c->eret, NULL);
	enum kbp_lin_verdict v = m < 0 ? KBP_LIN_NOMEM
			       : kbp_lin_search(c->ops, out, (uint32_t)m, c->eret, c->lim, 0, c->st);

	*nout = m < 0 ? 0 : (uint32_t)m;
	if (v == KBP_LIN_TIMEOUT || v == KBP_LIN_NOMEM || kbp_lin_deadline_passed(c->lim))
		c->gave_up = true;
	return v == KBP_LIN_NO;
}

/* cur[from..to) and, transitively, the writers they require, into cand (call order). */
static uint32_t close_up(struct ctx *c, const uint32_t *cur, uint32_t k, uint32_t from, uint32_t to)
{
	uint32_t nc = 0;

	for (uint32_t j = from; j < to; j++)
		for (uint32_t i = cur[j]; i != LIN_NONE && !c->in[i]; i = c->parent[i])
			c->in[i] = true;
	for (uint32_t j = 0; j < k; j++)
		if (c->in[cur[j]]) {
			c->in[cur[j]] = false;
			c->cand[nc++] = cur[j];
		}
	return nc;
}

/* cur[0..k) without cur[from..to) and, transitively, what requires their values. */
static uint32_t close_down(struct ctx *c, const uint32_t *cur, uint32_t k, uint32_t from, uint32_t to)
{
	uint32_t nc = 0;
	bool changed = true;

	for (uint32_t j = 0; j < k; j++)
		c->in[cur[j]] = j < from || j >= to;
	while (changed) {
		changed = false;
		for (uint32_t j = 0; j < k; j++) {
			uint32_t i = cur[j], p = c->parent[i];
			if (c->in[i] && p != LIN_NONE && !c->in[p]) {
				c->in[i] = false;
				changed = true;
			}
		}
	}
	for (uint32_t j = 0; j < k; j++) {
		if (c->in[cur[j]])
			c->cand[nc++] = cur[j];
		c->in[cur[j]] = false;
	}
	return nc;
}

/* 4. The first window of cur[0..k) that fails, pruned, into out[]; false when none does. */
static bool check_windows(struct ctx *c, const uint32_t *cur, uint32_t k, uint32_t *out, uint32_t *nout)
{
	if (k <= LIN_WINDOW)
		return false;
	for (uint32_t from = 0; from < k && !c->gave_up; from += LIN_STRIDE) {
		uint32_t to = from + LIN_WINDOW < k ? from + LIN_WINDOW : k;
		if (fails(c, close_up(c, cur, k, from, to), out, nout))
			return true;
		if (to == k)
			break;
	}
	return false;
}

/* Steps 1, 3 and 4: the search with a budget, then the windows, then without a budget. */
enum kbp_lin_verdict kbp_lin_check(const struct kbp_lin_op *ops, uint32_t n,
				   const struct kbp_lin_limits *lim, struct kbp_lin_stats *st)
{
	uint32_t *all = malloc((n ? n : 1) * sizeof(*all));
	uint32_t *kept = malloc((n ? n : 1) * sizeof(*kept));
	uint32_t *scratch = malloc((n ? n : 1) * sizeof(*scratch));
	enum kbp_lin_verdict v = KBP_LIN_NOMEM;
	struct ctx c;
	uint32_t ns;
	int m;

	if (st)
		memset(st, 0, sizeof(*st));
	if (!all || !kept || !scratch || ctx_init(&c, ops, n, lim, st, all) != 0)
		goto out;
	m = prune_set(ops, n, all, n, kept, c.eret, st);
	if (m >= 0)
		v = kbp_lin_search(ops, kept, (uint32_t)m, c.eret, lim, LIN_FIRST_STEPS(m), st);
	if (v != KBP_LIN_TIMEOUT || kbp_lin_deadline_passed(lim))
		goto done;
	if (check_windows(&c, kept, (uint32_t)m, scratch, &ns))
		v = KBP_LIN_NO;
	else if (!c.gave_up && prune_set(ops, n, all, n, kept, c.eret, NULL) == m)  /* windows reused eret */
		v = kbp_lin_search(ops, kept, (uint32_t)m, c.eret, lim, 0, st);
done:
	ctx_fini(&c);
out:
	free(all);
	free(kept);
	free(scratch);
	return v;
}

/* ---- 5. The smallest failing excerpt --------------------------------------------- */

/* Bisection: the shortest failing closed prefix of cur (failure is monotone in it). */
static uint32_t shrink_prefix(struct ctx *c, uint32_t *cur, uint32_t k, uint32_t *tmp)
{
	uint32_t lo = 0, hi = k, nt;

	while (hi - lo > 1 && !c->gave_up) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (fails(c, close_down(c, cur, k, mid, k), tmp, &nt)) {
			hi = mid;
			memcpy(cur + k, tmp, nt * sizeof(*cur));   /* the best so far, after cur */
			cur[2 * k] = nt;
		} else {
			lo = mid;
		}
	}
	if (hi == k)
		return k;
	nt = cur[2 * k];
	memmove(cur, cur + k, nt * sizeof(*cur));
	return nt;
}

/* Delta debugging: remove chunks, then single operations, while it still fails. */
static uint32_t shrink_chunks(struct ctx *c, uint32_t *cur, uint32_t k, uint32_t *tmp, bool *minimal)
{
	uint32_t chunk = k / 2 ? k / 2 : 1, nt;

	for (;;) {
		bool removed = false;
		for (uint32_t from = 0; from < k && !c->gave_up;) {
			uint32_t to = from + chunk < k ? from + chunk : k;
			uint32_t nc = close_down(c, cur, k, from, to);
			if (nc > 0 && nc < k && fails(c, nc, tmp, &nt)) {
				memcpy(cur, tmp, nt * sizeof(*cur));
				k = nt;
				removed = true;
			} else {
				from = to;
			}
		}
		if (c->gave_up)
			return k;
		if (chunk == 1 && !removed) {
			*minimal = true;
			return k;
		}
		chunk = chunk / 2 ? chunk / 2 : 1;
	}
}

uint32_t kbp_lin_excerpt(const struct kbp_lin_op *ops, uint32_t n, const struct kbp_lin_limits *lim,
			 uint32_t *keep, bool *minimal)
{
	uint32_t *cur = malloc(((size_t)2 * n + 1) * sizeof(*cur));
	uint32_t *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	uint32_t k = 0, nt;
	struct ctx c;
	int m;

	*minimal = false;
	if (!cur || !tmp || ctx_init(&c, ops, n, lim, NULL, tmp) != 0)
		goto out;
	/* The caller's search said NO: start from the window that failed, or everything. */
	m = prune_set(ops, n, tmp, n, cur, c.eret, NULL);
	if (m >= 0) {
		k = (uint32_t)m;
		if (check_windows(&c, cur, k, tmp, &nt)) {
			memcpy(cur, tmp, nt * sizeof(*cur));
			k = nt;
		}
		k = shrink_prefix(&c, cur, k, tmp);
		k = shrink_chunks(&c, cur, k, tmp, minimal);
		memcpy(keep, cur, k * sizeof(*keep));
	}
	ctx_fini(&c);
out:
	free(cur);
	free(tmp);
	return k;
}
