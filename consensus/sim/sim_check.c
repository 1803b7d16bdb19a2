/* SPDX-License-Identifier: MIT */
/*
 * Linearizability by construction of a witness.  The chosen log is a total order of
 * every write; if the system is correct it *is* a linearization, so we check it is one:
 *   1. replay the log through an independent reference model (a map plus client
 *      sessions), giving each effective command a position and the answer it implies;
 *   2. every answered non-read must sit in the log and its answer must match (this is
 *      also the durability check: an acknowledged write survived every crash);
 *   3. real-time order: if A was answered before B was invoked, pos(A) < pos(B);
 *   4. a read (answered through the log or locally under a lease) must return the key's
 *      value after some prefix q with q > pos of everything answered before the read
 *      began and q <= pos of everything invoked after the read was answered.
 * The witness is one particular order, so a pass proves linearizability; a correct
 * system always passes because its log order is a valid witness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_check.h"

struct sim_slot {
	bool set;
	uint32_t count, len;
	uint8_t *batch;
};

struct sim_log {
	struct sim_slot *s;
	uint64_t cap, top;
};

struct sim_log *sim_log_new(void) { return calloc(1, sizeof(struct sim_log)); }

void sim_log_free(struct sim_log *l)
{
	if (!l)
		return;
	for (uint64_t i = 0; i < l->top; i++)
		free(l->s[i].batch);
	free(l->s);
	free(l);
}

uint64_t sim_log_slots(const struct sim_log *l) { return l->top; }

bool sim_log_apply(struct sim_log *l, unsigned node, uint64_t slot, uint32_t count,
		   const uint8_t *batch, uint32_t len, char *why, size_t whylen)
{
	if (slot >= l->cap) {
		uint64_t cap = l->cap ? l->cap : 256;
		while (cap <= slot)
			cap *= 2;
		l->s = realloc(l->s, cap * sizeof(*l->s));
		memset(l->s + l->cap, 0, (cap - l->cap) * sizeof(*l->s));
		l->cap = cap;
	}
	if (slot >= l->top)
		l->top = slot + 1;
	struct sim_slot *s = &l->s[slot];
	if (!s->set) {
		s->set = true;
		s->count = count;
		s->len = len;
		s->batch = malloc(len ? len : 1);
		if (len)
			memcpy(s->batch, batch, len);
		return true;
	}
	if (s->count != count || s->len != len || memcmp(s->batch, batch, len) != 0) {
		snprintf(why, whylen, "agreement: node %u applied a different value at slot %llu",
			 node, (unsigned long long)slot);
		return false;
	}
	return true;
}

/* ---- reference model ---------------------------------------------------------------- */

#define REF_KEYS_MAX 64

struct ref_val {
	bool present;
	uint16_t len;
	uint8_t v[32];
};

struct ref_change {                    /* key's value from position pos on */
	uint64_t pos;
	unsigned key;
	struct ref_val val;
};

struct ref_effect {                    /* what the log says about one (client, seq) */
	uint64_t client, seq;
	uint64_t pos;
	uint8_t status;
	struct ref_val answer;
};

static int key_index(const char *const *names, unsigned keys, const uint8_t *k, uint8_t len)
{
	for (unsigned i = 0; i < keys; i++) {
		if (strlen(names[i]) == len && memcmp(names[i], k, len) == 0)
			return (int)i;
	}
	return -1;
}

static int effect_cmp(const void *a, const void *b)
{
	const struct ref_effect *x = a, *y = b;
	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const struct ref_effect *effect_find(const struct ref_effect *e, size_t n, uint64_t client,
					    uint64_t seq)
{
	struct ref_effect key = { .client = client, .seq = seq };
	return bsearch(&key, e, n, sizeof(*e), effect_cmp);
}

struct sweep {                         /* an op reduced to what real-time order needs */
	uint64_t t;
	uint64_t pos;
};

static int sweep_cmp(const void *a, const void *b)
{
	const struct sweep *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

#define FAIL(...)                                            \
	do {                                                 \
		if (violations++ == 0)                       \
			snprintf(why, whylen, __VA_ARGS__);  \
	} while (0)

unsigned sim_check_history(const struct sim_log *l, const struct sim_op *ops, unsigned n_ops,
			   unsigned keys, const char *const *key_names, char *why, size_t whylen)
{
	unsigned violations = 0;
	size_t n_eff = 0, cap_eff = 1024, n_chg = 0, cap_chg = 1024;
	struct ref_effect *eff = malloc(cap_eff * sizeof(*eff));
	struct ref_change *chg = malloc(cap_chg * sizeof(*chg));
	struct ref_val state[REF_KEYS_MAX] = { 0 };
	uint64_t last_seq[4096] = { 0 };       /* sessions: client ids are small in the simulator */
	uint64_t pos = 1;                      /* position 0: the empty initial state */

	/* 1. replay the chosen log (up to its first hole: nothing after it is applied anywhere) */
	for (uint64_t slot = 0; slot < l->top && l->s[slot].set; slot++) {
		const struct sim_slot *s = &l->s[slot];
		uint32_t off = 0;
		for (uint32_t i = 0; i < s->count; i++) {
			struct kbp_cmd c;
			int size = kbp_cmd_decode(&c, s->batch + off, s->len - off);
			if (size < 0) {
				FAIL("log: undecodable command at slot %llu", (unsigned long long)slot);
				break;
			}
			off += (uint32_t)size;
			if (c.op == KBP_OP_NOOP)
				continue;
			if (c.client_id >= 4096 || c.client_id == 0) {
				FAIL("log: command from unknown client %llu", (unsigned long long)c.client_id);
				continue;
			}
			if (c.seq <= last_seq[c.client_id])
				continue;          /* a retry already applied: no effect */
			last_seq[c.client_id] = c.seq;
			int k = key_index(key_names, keys, c.key, c.key_len);
			if (k < 0) {
				FAIL("log: unknown key at slot %llu", (unsigned long long)slot);
				continue;
			}
			struct ref_effect e = { .client = c.client_id, .seq = c.seq, .pos = pos };
			struct ref_val *v = &state[k];
			bool changed = false;
			switch (c.op) {
			case KBP_OP_PUT:
				v->present = true;
				v->len = c.val_len;
				memcpy(v->v, c.val, c.val_len);
				e.status = KBP_ST_OK;
				changed = true;
				break;
			case KBP_OP_GET:
				e.status = v->present ? KBP_ST_OK : KBP_ST_NOT_FOUND;
				e.answer = *v;
				break;
			case KBP_OP_CAS:
				if (!v->present) {
					e.status = KBP_ST_NOT_FOUND;
				} else if (v->len != c.exp_len || memcmp(v->v, c.exp, c.exp_len) != 0) {
					e.status = KBP_ST_CAS_FAILED;
					e.answer = *v;
				} else {
					v->len = c.val_len;
					memcpy(v->v, c.val, c.val_len);
					e.status = KBP_ST_OK;
					changed = true;
				}
				break;
			}
			if (n_eff == cap_eff)
				eff = realloc(eff, (cap_eff *= 2) * sizeof(*eff));
			eff[n_eff++] = e;
			if (changed) {
				if (n_chg == cap_chg)
					chg = realloc(chg, (cap_chg *= 2) * sizeof(*chg));
				chg[n_chg].pos = pos;
				chg[n_chg].key = (unsigned)k;
				chg[n_chg].val = *v;
				n_chg++;
			}
			pos++;
		}
	}
	qsort(eff, n_eff, sizeof(*eff), effect_cmp);

	/* 2. answered operations against the log; positions for the real-time sweep */
	uint64_t *op_pos = calloc(n_ops ? n_ops : 1, sizeof(*op_pos));   /* 0: not in the log */
	for (unsigned i = 0; i < n_ops; i++) {
		const struct sim_op *o = &ops[i];
		const struct ref_effect *e = effect_find(eff, n_eff, o->client, o->seq);
		if (e)
			op_pos[i] = e->pos;
		if (!o->resp_ns || o->op == KBP_OP_GET)
			continue;              /* reads are checked against prefixes below */
		if (!e) {
			FAIL("durability: client %llu seq %llu (%s) was answered %s but is not in the log",
			     (unsigned long long)o->client, (unsigned long long)o->seq, kbp_op_name(o->op),
			     kbp_status_name(o->status));
			continue;
		}
		bool same = e->status == o->status;
		if (same && o->status == KBP_ST_CAS_FAILED)
			same = e->answer.len == o->resp_len && memcmp(e->answer.v, o->resp, o->resp_len) == 0;
		if (!same)
			FAIL("linearizability: client %llu seq %llu (%s) answered %s, log order implies %s",
			     (unsigned long long)o->client, (unsigned long long)o->seq, kbp_op_name(o->op),
			     kbp_status_name(o->status), kbp_status_name(e->status));
	}
	/* Nothing in the log may come from nowhere. */
	for (size_t i = 0; i < n_eff; i++) {
		bool asked = false;
		for (unsigned j = 0; j < n_ops && !asked; j++)
			asked = ops[j].client == eff[i].client && ops[j].seq == eff[i].seq;
		if (!asked)
			FAIL("log: client %llu seq %llu applied but never issued",
			     (unsigned long long)eff[i].client, (unsigned long long)eff[i].seq);
	}

	/* 3. real-time order of writes: sweep invocations against earlier answers */
	struct sweep *ans = malloc((n_ops + 1) * sizeof(*ans));
	struct sweep *inv = malloc((n_ops + 1) * sizeof(*inv));
	size_t n_ans = 0, n_inv = 0;
	for (unsigned i = 0; i < n_ops; i++) {
		if (!op_pos[i] || ops[i].op == KBP_OP_GET)
			continue;
		if (ops[i].resp_ns)
			ans[n_ans++] = (struct sweep){ ops[i].resp_ns, op_pos[i] };
		inv[n_inv++] = (struct sweep){ ops[i].invoke_ns, op_pos[i] };
	}
	qsort(ans, n_ans, sizeof(*ans), sweep_cmp);
	qsort(inv, n_inv, sizeof(*inv), sweep_cmp);
	uint64_t max_before = 0;
	for (size_t i = 0, j = 0; i < n_inv; i++) {
		while (j < n_ans && ans[j].t < inv[i].t)
			max_before = ans[j].pos > max_before ? ans[j].pos : max_before, j++;
		if (inv[i].pos <= max_before)
			FAIL("linearizability: a write invoked at %llu ns sits at log position %llu, before "
			     "position %llu answered earlier", (unsigned long long)inv[i].t,
			     (unsigned long long)inv[i].pos, (unsigned long long)max_before);
	}

	/* 4. reads: some prefix q in [lo, hi] must give the returned value */
	for (unsigned i = 0; i < n_ops; i++) {
		const struct sim_op *o = &ops[i];
		if (o->op != KBP_OP_GET || !o->resp_ns)
			continue;
		uint64_t lo = 0, hi = UINT64_MAX;
		for (size_t j = 0; j < n_ans; j++)
			if (ans[j].t < o->invoke_ns && ans[j].pos > lo)
				lo = ans[j].pos;
		for (size_t j = 0; j < n_inv; j++)
			if (inv[j].t > o->resp_ns && inv[j].pos < hi)
				hi = inv[j].pos - 1;
		/* The value after prefix q is the last change of this key at a position <= q. */
		bool ok = false;
		struct ref_val cur = { 0 };
		size_t c = 0;
		for (uint64_t q = 0;; q++) {
			for (; c < n_chg && chg[c].pos <= q; c++)
				if (chg[c].key == o->key)
					cur = chg[c].val;
			if (q >= lo) {
				bool present = o->status == KBP_ST_OK;
				if (cur.present == present &&
				    (!present || (cur.len == o->resp_len && memcmp(cur.v, o->resp, cur.len) == 0)))
					ok = true;
			}
			if (ok || q >= hi || q >= pos)
				break;
		}
		if (!ok)
			FAIL("linearizability: client %llu seq %llu read %s%.*s, which no log prefix in "
			     "[%llu, %llu] holds (stale read)", (unsigned long long)o->client,
			     (unsigned long long)o->seq, kbp_status_name(o->status), (int)o->resp_len,
			     (const char *)o->resp, (unsigned long long)lo,
			     (unsigned long long)(hi == UINT64_MAX ? pos : hi));
	}
	free(ans);
	free(inv);
	free(op_pos);
	free(eff);
	free(chg);
	return violations;
}
