/* SPDX-License-Identifier: MIT */
/*
 * The search behind --check (kbp_lin.c says where it fits): Wing & Gong (1993) with
 * Lowe's memo (2017), as Porcupine does it.
 *
 * The calls and returns, in time order, form a linked list.  Take the first entry; if
 * it is a call, try to linearize that operation now (the register accepts its answer
 * from the current state): lift its call and return out of the list and go on; if it
 * is a return, the operation it belongs to was not linearized before its answer came,
 * so undo the last choice and try the next candidate after it.  The list empty:
 * linearizable.  Nothing left to undo at a return: not linearizable.
 *
 * Lowe's memo of (set of operations linearized, register state) makes sure that no
 * configuration is explored twice; that is what turns the exponential search into a
 * fast one in practice.  The set is stored as (lo, words): every operation below lo
 * (in call order) is in it, so only the few words from lo to the highest member are
 * kept, which keeps the memo small on long histories.  The memo is bounded
 * (limits.cache_bytes) and emptied when full: a smaller memo costs time, never
 * correctness.
 *
 * Which candidate to try first does not change the answer, only the time to it
 * (next_move): a read whose answer fits is taken at once and never undone (values are
 * unique, so that loses nothing), and writes are tried in the order their answers came,
 * so that one in flight for a second is placed where a read needs its value instead of
 * early and undone thousands of steps later.  Measured on the cluster test (seed 1):
 * 11.5 s for 99,683 operations in list order, 0.10 s for 106,665 with this order.
 *
 * The clock is read every 4096 steps: a history can be exponentially hard (many
 * concurrent writes followed by a read that none of their orders explains), and the
 * search gives up at the deadline (KBP_LIN_TIMEOUT).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_lin_impl.h"

#define LIN_CLOCK_EVERY 4096u
#define LIN_CACHE_MIN_WORDS (UINT32_C(1) << 13)
#define LIN_ENTRY_HDR 4u          /* state, hash, lo|nw, next */
#define LIN_NO_OP UINT32_MAX

/* Events (id = 2j + 1 for a return): by time, calls before returns at the same instant. */
struct event {
	uint64_t t;
	uint32_t id;
};

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if ((x->id & 1) != (y->id & 1))
		return (x->id & 1) ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* ---- The memo of visited configurations ------------------------------------------ */

/*
 * Entries live in one arena of 64-bit words: state, hash, lo << 32 | nw, next (arena
 * offset + 1 of the next entry in the bucket, 0: none), then nw words of the set.
 */
struct cache {
	uint32_t *bucket;            /* arena offset + 1; 0: empty */
	uint32_t mask;
	uint64_t *arena;
	size_t used, cap, cap_max;   /* words */
	uint64_t resets;
};

static uint64_t hash_words(uint64_t state, uint32_t lo, const uint64_t *w, uint32_t nw)
{
	uint64_t h = state * UINT64_C(0x9E3779B97F4A7C15) ^ lo;
	for (uint32_t i = 0; i < nw; i++)
		h = (h ^ w[i]) * UINT64_C(0xff51afd7ed558ccd) + i;
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 33);
}

static uint32_t pow2_at_least(size_t v)
{
	uint32_t p = 1;
	while (p < v && p < (UINT32_C(1) << 31))
		p <<= 1;
	return p;
}

static int cache_init(struct cache *c, size_t bytes, uint32_t m)
{
	memset(c, 0, sizeof(*c));
	c->cap_max = (bytes ? bytes : KBP_LIN_CACHE_DEFAULT) / 9;   /* 8/9 arena, 1/9 buckets */
	if (c->cap_max < LIN_CACHE_MIN_WORDS)
		c->cap_max = LIN_CACHE_MIN_WORDS;
	if (c->cap_max > UINT32_MAX - 1)
		c->cap_max = UINT32_MAX - 1;
	c->cap = (size_t)m * 8 + LIN_CACHE_MIN_WORDS;
	if (c->cap > c->cap_max)
		c->cap = c->cap_max;
	c->mask = pow2_at_least(c->cap / 4) - 1;
	c->arena = malloc(c->cap * sizeof(*c->arena));
	c->bucket = calloc((size_t)c->mask + 1, sizeof(*c->bucket));
	return c->arena && c->bucket ? 0 : -ENOMEM;
}

static void cache_fini(struct cache *c)
{
	free(c->arena);
	free(c->bucket);
}

/* Relink every entry into a bucket array of mask + 1. */
static int cache_rehash(struct cache *c, uint32_t mask)
{
	uint32_t *b = calloc((size_t)mask + 1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t off = 0; off < c->used; off += LIN_ENTRY_HDR + (uint32_t)c->arena[off + 2]) {
		uint32_t h = (uint32_t)c->arena[off + 1] & mask;
		c->arena[off + 3] = b[h];
		b[h] = (uint32_t)off + 1;
	}
	free(c->bucket);
	c->bucket = b;
	c->mask = mask;
	return 0;
}

/* Room for need more words: grow up to cap_max, else forget everything. */
static int cache_room(struct cache *c, size_t need)
{
	if (c->used + need <= c->cap)
		return 0;
	if (c->cap < c->cap_max) {
		size_t cap = c->cap * 2 > c->cap_max ? c->cap_max : c->cap * 2;
		uint64_t *a = realloc(c->arena, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		c->arena = a;
		c->cap = cap;
		if (pow2_at_least(cap / 4) - 1 > c->mask && cache_rehash(c, pow2_at_least(cap / 4) - 1) != 0)
			return -ENOMEM;
		if (c->used + need <= c->cap)
			return 0;
	}
	memset(c->bucket, 0, ((size_t)c->mask + 1) * sizeof(*c->bucket));
	c->used = 0;
	c->resets++;
	return c->used + need <= c->cap ? 0 : -ENOMEM;
}

/* Add (state, lo, w[0..nw)): 1 if new, 0 if seen before, -ENOMEM. */
static int cache_add(struct cache *c, uint64_t state, uint32_t lo, const uint64_t *w, uint32_t nw)
{
	uint64_t h = hash_words(state, lo, w, nw);
	uint64_t lonw = (uint64_t)lo << 32 | nw;

	for (uint32_t e = c->bucket[h & c->mask]; e; e = (uint32_t)c->arena[e - 1 + 3]) {
		const uint64_t *x = &c->arena[e - 1];
		if (x[1] == h && x[0] == state && x[2] == lonw &&
		    memcmp(x + LIN_ENTRY_HDR, w, nw * sizeof(*w)) == 0)
			return 0;
	}
	if (cache_room(c, LIN_ENTRY_HDR + nw) != 0)
		return -ENOMEM;
	uint64_t *x = &c->arena[c->used];
	x[0] = state;
	x[1] = h;
	x[2] = lonw;
	x[3] = c->bucket[h & c->mask];
	memcpy(x + LIN_ENTRY_HDR, w, nw * sizeof(*w));
	c->bucket[h & c->mask] = (uint32_t)c->used + 1;
	c->used += LIN_ENTRY_HDR + nw;
	return 1;
}

/* ---- The search --------------------------------------------------------------- */

struct frame {
	uint32_t j;                  /* operation linearized (call order) */
	uint32_t hi;                 /* 1 + the highest linearized before it */
	uint64_t state;              /* register before it */
	bool forced;                 /* a read: no other choice needs trying at that point */
};

/*
 * The event list: node x (0..2m-1) is the x-th call or return in time order, ev[x] =
 * 2j + (1 if return) for operation j (call order); node 2m is the head, 2m+1 the tail.
 */
struct search {
	uint32_t m;
	const struct kbp_lin_op *ops;
	const uint32_t *opi;         /* call order -> index into ops */
	const uint64_t *eret;        /* indexed like ops */
	uint32_t *ev, *next, *prev;
	uint32_t *call_node, *ret_node;
	uint64_t *bits;
	struct frame *stack;
	struct cache cache;
};

static void unlink_node(struct search *s, uint32_t x)
{
	s->next[s->prev[x]] = s->next[x];
	s->prev[s->next[x]] = s->prev[x];
}

static void relink_node(struct search *s, uint32_t x)
{
	s->next[s->prev[x]] = x;
	s->prev[s->next[x]] = x;
}

/* Lift operation j's call and return out of the list; unlift puts them back (reverse order). */
static void lift(struct search *s, uint32_t j)
{
	unlink_node(s, s->call_node[j]);
	unlink_node(s, s->ret_node[j]);
}

static void unlift(struct search *s, uint32_t j)
{
	relink_node(s, s->ret_node[j]);
	relink_node(s, s->call_node[j]);
}

static int search_init(struct search *s, const struct kbp_lin_op *ops, const uint32_t *opi, uint32_t m,
		       const uint64_t *eret, size_t cache_bytes)
{
	struct event *st = malloc(((size_t)2 * m + 1) * sizeof(*st));
	uint32_t nodes = 2 * m + 2;

	memset(s, 0, sizeof(*s));
	s->m = m;
	s->ops = ops;
	s->opi = opi;
	s->eret = eret;
	s->ev = malloc(nodes * sizeof(*s->ev));
	s->next = malloc(nodes * sizeof(*s->next));
	s->prev = malloc(nodes * sizeof(*s->prev));
	s->call_node = malloc((m + 1) * sizeof(*s->call_node));
	s->ret_node = malloc((m + 1) * sizeof(*s->ret_node));
	s->bits = calloc(m / 64 + 1, sizeof(*s->bits));
	s->stack = malloc((m + 1) * sizeof(*s->stack));
	if (!st || !s->ev || !s->next || !s->prev || !s->call_node || !s->ret_node || !s->bits ||
	    !s->stack || cache_init(&s->cache, cache_bytes, m) != 0) {
		free(st);
		return -ENOMEM;
	}
	/* Calls sort before returns at the same instant: such operations count as concurrent. */
	for (uint32_t j = 0; j < m; j++) {
		st[2 * j] = (struct event){ ops[opi[j]].call, 2 * j };
		st[2 * j + 1] = (struct event){ eret[opi[j]], 2 * j + 1 };
	}
	qsort(st, (size_t)2 * m, sizeof(*st), event_cmp);
	for (uint32_t x = 0; x < 2 * m; x++) {
		s->ev[x] = st[x].id;
		if (st[x].id & 1)
			s->ret_node[st[x].id >> 1] = x;
		else
			s->call_node[st[x].id >> 1] = x;
		s->next[x] = x + 1 < 2 * m ? x + 1 : 2 * m + 1;
		s->prev[x] = x == 0 ? 2 * m : x - 1;
	}
	s->next[2 * m] = m ? 0 : 2 * m + 1;
	s->prev[2 * m + 1] = m ? 2 * m - 1 : 2 * m;
	free(st);
	return 0;
}

static void search_fini(struct search *s)
{
	free(s->ev);
	free(s->next);
	free(s->prev);
	free(s->call_node);
	free(s->ret_node);
	free(s->bits);
	free(s->stack);
	cache_fini(&s->cache);
}

/*
 * Linearize j on top of the current path if the memo has not seen the result: 1 done,
 * 0 seen already (nothing changed), -ENOMEM.
 */
static int try_linearize(struct search *s, uint32_t j, uint64_t ns, uint32_t hi)
{
	const uint32_t head = 2 * s->m, tail = head + 1;

	s->bits[j >> 6] |= UINT64_C(1) << (j & 63);
	lift(s, j);
	/* Every operation below lo is linearized: the first node left is lo's call. */
	uint32_t lo = s->next[head] == tail ? s->m : s->ev[s->next[head]] >> 1;
	assert(s->next[head] == tail || !(s->ev[s->next[head]] & 1));
	uint32_t hi_new = j + 1 > hi ? j + 1 : hi;
	uint32_t lw = lo >> 6, nw = hi_new > lo ? ((hi_new - 1) >> 6) - lw + 1 : 0;
	int r = cache_add(&s->cache, ns, lo, s->bits + lw, nw);
	if (r <= 0) {
		unlift(s, j);
		s->bits[j >> 6] &= ~(UINT64_C(1) << (j & 63));
	}
	return r;
}

/* An operation that leaves the register as it found it whenever its answer fits. */
static bool reads_only(const struct kbp_lin_op *o)
{
	return o->status != KBP_LIN_UNKNOWN &&
	       (o->op == KBP_OP_GET || o->status == KBP_ST_NOT_FOUND || o->status == KBP_ST_CAS_FAILED);
}

/* Candidate order for writes: the one whose answer came first, then call order. */
static bool before(const struct search *s, uint32_t a, uint32_t b)
{
	uint64_t ra = s->eret[s->opi[a]], rb = s->eret[s->opi[b]];
	return ra != rb ? ra < rb : a < b;
}

/*
 * The next move from the current configuration: the calls before the first return in
 * the list are the candidates.
 * - A read whose answer fits the state is a forced move: taking it now loses nothing
 *   (values are unique, so the state it saw lasts until the next write, and every
 *   operation that had to precede it already has).  Its memo hit means this point is
 *   a dead end.
 * - Otherwise writes, in order of their answers (after the one tried last, `after`;
 *   LIN_NO_OP: from the start): an operation still in flight long after the others is
 *   tried late, where a read needs its value, not early and undone thousands of steps
 *   later.
 * Returns 1 (moved: *j, the state after it *ns, *forced), 0 (no move left: backtrack),
 * -ENOMEM.
 */
static int next_move(struct search *s, uint64_t state, uint32_t hi, uint32_t after, uint32_t *j,
		     uint64_t *ns, bool *forced)
{
	const uint32_t head = 2 * s->m;

	for (uint32_t x = s->next[head]; after == LIN_NO_OP && !(s->ev[x] & 1); x = s->next[x]) {
		uint32_t c = s->ev[x] >> 1;
		const struct kbp_lin_op *o = &s->ops[s->opi[c]];
		if (reads_only(o) && kbp_lin_step(state, o, ns)) {
			*j = c;
			*forced = true;
			return try_linearize(s, c, *ns, hi);
		}
	}
	*forced = false;
	for (;;) {
		uint32_t best = LIN_NO_OP;
		for (uint32_t x = s->next[head]; !(s->ev[x] & 1); x = s->next[x]) {
			uint32_t c = s->ev[x] >> 1;
			if (reads_only(&s->ops[s->opi[c]]) || (after != LIN_NO_OP && !before(s, after, c)))
				continue;
			if (best == LIN_NO_OP || before(s, c, best))
				best = c;
		}
		if (best == LIN_NO_OP)
			return 0;
		after = best;
		if (!kbp_lin_step(state, &s->ops[s->opi[best]], ns))
			continue;
		int r = try_linearize(s, best, *ns, hi);
		if (r != 0) {
			*j = best;
			return r;
		}
	}
}

static enum kbp_lin_verdict search_run(struct search *s, const struct kbp_lin_limits *lim,
				       uint64_t steps_max, uint64_t *steps_out)
{
	const uint32_t head = 2 * s->m, tail = head + 1;
	uint64_t state = KBP_LIN_ABSENT, steps = 0;
	uint32_t depth = 0, hi = 0, after = LIN_NO_OP;

	while (s->next[head] != tail) {
		uint32_t j;
		uint64_t ns;
		bool forced;
		*steps_out = steps;
		if (++steps % LIN_CLOCK_EVERY == 0 && (kbp_lin_deadline_passed(lim) || steps > steps_max))
			return KBP_LIN_TIMEOUT;
		int r = next_move(s, state, hi, after, &j, &ns, &forced);
		if (r < 0)
			return KBP_LIN_NOMEM;
		if (r > 0) {
			s->stack[depth++] = (struct frame){ j, hi, state, forced };
			state = ns;
			hi = j + 1 > hi ? j + 1 : hi;
			after = LIN_NO_OP;
			continue;
		}
		/* No move left here: undo the last choice that had alternatives. */
		struct frame f;
		do {
			if (depth == 0) {
				*steps_out = steps;
				return KBP_LIN_NO;
			}
			f = s->stack[--depth];
			s->bits[f.j >> 6] &= ~(UINT64_C(1) << (f.j & 63));
			unlift(s, f.j);
		} while (f.forced);
		state = f.state;
		hi = f.hi;
		after = f.j;
	}
	*steps_out = steps;
	return KBP_LIN_YES;
}

enum kbp_lin_verdict kbp_lin_search(const struct kbp_lin_op *ops, const uint32_t *opi, uint32_t m,
				    const uint64_t *eret, const struct kbp_lin_limits *lim,
				    uint64_t steps_max, struct kbp_lin_stats *st)
{
	struct search s;
	enum kbp_lin_verdict v = KBP_LIN_NOMEM;
	uint64_t steps = 0;

	if (search_init(&s, ops, opi, m, eret, lim ? lim->cache_bytes : 0) == 0)
		v = search_run(&s, lim, steps_max ? steps_max : UINT64_MAX, &steps);
	if (st) {
		st->steps += steps;
		st->cache_resets += s.cache.resets;
	}
	search_fini(&s);
	return v;
}
