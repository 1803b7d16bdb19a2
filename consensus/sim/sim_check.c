/* SPDX-License-Identifier: MIT */
/*
 * Linearizability by construction of a witness.  The chosen log is a total order of
 * every write; if the system is correct it *is* a linearization, so we check it is one:
 *   1. replay the log through an independent reference model of the state machine (a
 *      map, plus the client session rules of docs/PROTOCOL.md written out again here:
 *      registration from a counter, kept answers, STALE, SESSION_EXPIRED, eviction of the
 *      least recently used session, expiry), giving each command that runs a position and
 *      the answer it implies, and comparing every probed replica state with the model's
 *      at the same slot (a command run twice shows there even if no client looks);
 *   2. every answered non-read must sit in the log and its answer must match (this is
 *      also the durability check: an acknowledged write survived every crash); an answer
 *      SESSION_EXPIRED must match a refusal in the log;
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

struct ref_session {
	uint64_t id, seq, last_use;
	uint8_t status;
	struct sim_val answer;
};

struct ref_sm {
	const struct sim_check_cfg *cfg;
	struct sim_val state[SIM_PROBE_KEYS];
	struct ref_session *live;              /* unordered, at most cfg->clients_max */
	unsigned n_live;
	uint64_t applied, executed, next_id;
};

/* What one command did by the rules. */
struct ref_outcome {
	bool ran, changed;
	uint8_t status;
	struct sim_val answer;                 /* GET, CAS_FAILED: a value; REGISTER: the new id */
};

static struct ref_session *ref_find(struct ref_sm *m, uint64_t id)
{
	for (unsigned i = 0; i < m->n_live; i++)
		if (m->live[i].id == id)
			return &m->live[i];
	return NULL;
}

static void ref_drop(struct ref_sm *m, struct ref_session *s)
{
	*s = m->live[--m->n_live];
}

/* Expiry: gone once more than session_expiry_cmds commands applied since its last use. */
static void ref_expire(struct ref_sm *m)
{
	for (unsigned i = 0; m->cfg->session_expiry_cmds && i < m->n_live;) {
		if (m->applied - m->live[i].last_use > m->cfg->session_expiry_cmds)
			ref_drop(m, &m->live[i]);
		else
			i++;
	}
}

static void ref_register(struct ref_sm *m, struct ref_outcome *o)
{
	if (m->n_live == m->cfg->clients_max) {
		struct ref_session *lru = &m->live[0];
		for (unsigned i = 1; i < m->n_live; i++)
			if (m->live[i].last_use < lru->last_use)
				lru = &m->live[i];
		ref_drop(m, lru);
	}
	struct ref_session *s = &m->live[m->n_live++];
	memset(s, 0, sizeof(*s));
	s->id = m->next_id++;
	s->last_use = m->applied;
	s->status = KBP_ST_OK;
	o->ran = true;
	o->status = KBP_ST_OK;
	o->answer.present = true;
	o->answer.len = 8;
	kbp_le64_store(o->answer.v, s->id);
}

static void ref_write(struct ref_sm *m, const struct kbp_cmd *c, unsigned key, struct ref_outcome *o)
{
	struct ref_session *s = ref_find(m, c->client_id);
	struct sim_val *v = &m->state[key];
	if (!s || c->seq <= s->seq) {
		o->status = !s ? KBP_ST_SESSION_EXPIRED : c->seq < s->seq ? KBP_ST_STALE : s->status;
		if (s && c->seq == s->seq)
			o->answer = s->answer;
		return;
	}
	if (c->op == KBP_OP_PUT || (v->present && v->len == c->exp_len && !memcmp(v->v, c->exp, c->exp_len))) {
		v->present = true;
		v->len = c->val_len;
		memcpy(v->v, c->val, c->val_len);
		o->status = KBP_ST_OK;
		o->changed = true;
	} else {
		o->status = v->present ? KBP_ST_CAS_FAILED : KBP_ST_NOT_FOUND;
		if (v->present)
			o->answer = *v;
	}
	s->seq = c->seq;
	s->status = o->status;
	s->answer = o->answer;
	s->last_use = m->applied;
	o->ran = true;
}

/* One non-no-op command, in log order; key: its index (writes and reads). */
static void ref_apply(struct ref_sm *m, const struct kbp_cmd *c, unsigned key, struct ref_outcome *o)
{
	bool write = c->op == KBP_OP_PUT || c->op == KBP_OP_CAS, nonce = (c->client_id >> 63) != 0;
	memset(o, 0, sizeof(*o));
	m->applied++;
	ref_expire(m);
	if (c->client_id == 0 || (write && c->seq == 0) || (c->op == KBP_OP_REGISTER && !nonce))
		o->status = KBP_ST_INVALID;
	else if (write && nonce)
		o->status = KBP_ST_SESSION_EXPIRED;
	else if (c->op == KBP_OP_REGISTER)
		ref_register(m, o);
	else if (c->op == KBP_OP_GET) {
		o->ran = true;
		o->status = m->state[key].present ? KBP_ST_OK : KBP_ST_NOT_FOUND;
		o->answer = m->state[key];
	} else
		ref_write(m, c, key, o);
	m->executed += o->ran;
}

/* ---- replaying the log ------------------------------------------------------------- */

enum { EV_WRITE, EV_REGISTER, EV_EXPIRED };

struct ref_event {                     /* what the log says about one copy of (client, seq) */
	uint64_t client, seq;
	uint8_t kind;
	uint8_t status;
	uint64_t pos;                          /* EV_WRITE: its position in the witness */
	struct sim_val answer;
};

struct ref_change {                    /* key's value from position pos on */
	uint64_t pos;
	unsigned key;
	struct sim_val val;
};

struct replay {
	struct ref_sm m;
	struct ref_event *ev;
	size_t n_ev, cap_ev;
	struct ref_change *chg;
	size_t n_chg, cap_chg;
	uint64_t pos;                          /* position 0: the empty initial state */
	unsigned violations;
	char *why;
	size_t whylen;
};

#define FAIL(x, ...)                                             \
	do {                                                     \
		if ((x)->violations++ == 0)                      \
			snprintf((x)->why, (x)->whylen, __VA_ARGS__); \
	} while (0)

static int key_index(const struct sim_check_cfg *cfg, const uint8_t *k, uint8_t len)
{
	for (unsigned i = 0; i < cfg->keys; i++) {
		if (strlen(cfg->key_names[i]) == len && memcmp(cfg->key_names[i], k, len) == 0)
			return (int)i;
	}
	return -1;
}

static void event_add(struct replay *x, const struct kbp_cmd *c, uint8_t kind, const struct ref_outcome *o)
{
	if (x->n_ev == x->cap_ev)
		x->ev = realloc(x->ev, (x->cap_ev = x->cap_ev ? 2 * x->cap_ev : 1024) * sizeof(*x->ev));
	x->ev[x->n_ev++] = (struct ref_event){ .client = c->client_id, .seq = c->seq, .kind = kind,
					       .status = o->status, .pos = x->pos, .answer = o->answer };
}

static void change_add(struct replay *x, unsigned key)
{
	if (x->n_chg == x->cap_chg)
		x->chg = realloc(x->chg, (x->cap_chg = x->cap_chg ? 2 * x->cap_chg : 1024) * sizeof(*x->chg));
	x->chg[x->n_chg++] = (struct ref_change){ .pos = x->pos, .key = key, .val = x->m.state[key] };
}

static void replay_cmd(struct replay *x, const struct kbp_cmd *c, uint64_t slot)
{
	struct ref_outcome o;
	int k = 0;
	if (c->op != KBP_OP_REGISTER && (k = key_index(x->m.cfg, c->key, c->key_len)) < 0) {
		FAIL(x, "log: unknown key at slot %llu", (unsigned long long)slot);
		return;
	}
	ref_apply(&x->m, c, (unsigned)k, &o);
	if (o.ran && (c->op == KBP_OP_PUT || c->op == KBP_OP_CAS)) {
		event_add(x, c, EV_WRITE, &o);
		if (o.changed)
			change_add(x, (unsigned)k);
		x->pos++;
	} else if (o.ran && c->op == KBP_OP_REGISTER) {
		event_add(x, c, EV_REGISTER, &o);
	} else if (o.status == KBP_ST_SESSION_EXPIRED) {
		event_add(x, c, EV_EXPIRED, &o);
	}
}

static bool val_equal(const struct sim_val *a, const struct sim_val *b)
{
	return a->present == b->present && (!a->present || (a->len == b->len && !memcmp(a->v, b->v, a->len)));
}

/* A replica's state after slot < p->upto against the model's at the same point. */
static void probe_check(struct replay *x, const struct sim_probe *p)
{
	const struct ref_sm *m = &x->m;
	char what[96] = "";
	if (p->executed != m->executed || p->applied != m->applied)
		snprintf(what, sizeof(what), "%llu of %llu commands ran, the rules allow %llu of %llu",
			 (unsigned long long)p->executed, (unsigned long long)p->applied,
			 (unsigned long long)m->executed, (unsigned long long)m->applied);
	else if (p->next_id != m->next_id)
		snprintf(what, sizeof(what), "next session id %llu, the model's %llu",
			 (unsigned long long)p->next_id, (unsigned long long)m->next_id);
	else if (p->sessions != m->n_live)
		snprintf(what, sizeof(what), "%u sessions, the model has %u", p->sessions, m->n_live);
	for (unsigned k = 0; !what[0] && k < m->cfg->keys; k++)
		if (!val_equal(&p->val[k], &m->state[k]))
			snprintf(what, sizeof(what), "key %s differs", m->cfg->key_names[k]);
	/* Sessions least recently used first: the model's in order of last use. */
	uint64_t prev = 0;
	for (uint32_t i = 0; !what[0] && i < p->sessions && i < SIM_PROBE_SESSIONS; i++) {
		const struct ref_session *s = NULL;
		for (unsigned j = 0; j < m->n_live; j++)
			if ((i == 0 || m->live[j].last_use > prev) && (!s || m->live[j].last_use < s->last_use))
				s = &m->live[j];
		if (!s || s->id != p->id[i] || s->seq != p->seq[i])
			snprintf(what, sizeof(what), "session %u (oldest first) is %llu seq %llu, the model's %llu seq %llu",
				 i, (unsigned long long)p->id[i], (unsigned long long)p->seq[i],
				 (unsigned long long)(s ? s->id : 0), (unsigned long long)(s ? s->seq : 0));
		prev = s ? s->last_use : prev;
	}
	if (what[0])
		FAIL(x, "state machine: node %u after slot %llu: %s (a command ran twice, or a session outlived "
		     "the rules?)", p->node, (unsigned long long)p->upto - 1, what);
}

/* 1. replay the chosen log up to its first hole (nothing after it is applied anywhere). */
static void replay_log(struct replay *x, const struct sim_log *l, const struct sim_probe *probes,
		       unsigned n_probes)
{
	uint64_t slot = 0;
	for (;; slot++) {
		for (unsigned p = 0; p < n_probes; p++)
			if (probes[p].upto == slot)
				probe_check(x, &probes[p]);
		if (slot >= l->top || !l->s[slot].set)
			break;
		const struct sim_slot *s = &l->s[slot];
		uint32_t off = 0;
		for (uint32_t i = 0; i < s->count; i++) {
			struct kbp_cmd c;
			int size = kbp_cmd_decode(&c, s->batch + off, s->len - off);
			if (size < 0) {
				FAIL(x, "log: undecodable command at slot %llu", (unsigned long long)slot);
				break;
			}
			off += (uint32_t)size;
			if (c.op != KBP_OP_NOOP)
				replay_cmd(x, &c, slot);
		}
	}
	for (unsigned p = 0; p < n_probes; p++)
		if (probes[p].upto > slot)
			FAIL(x, "state machine: node %u applied slot %llu, the log has a hole at %llu", probes[p].node,
			     (unsigned long long)probes[p].upto - 1, (unsigned long long)slot);
}

/* ---- the history against the replay ---------------------------------------------- */

static int event_cmp(const void *a, const void *b)
{
	const struct ref_event *x = a, *y = b;
	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

/* The first event of (client, seq) of this kind, or NULL; *n: how many follow it. */
static const struct ref_event *event_find(const struct replay *x, uint64_t client, uint64_t seq,
					  uint8_t kind, size_t *n)
{
	size_t lo = 0, hi = x->n_ev;
	struct ref_event key = { .client = client, .seq = seq, .kind = kind };
	while (lo < hi) {                      /* lower bound */
		size_t mid = (lo + hi) / 2;
		if (event_cmp(&x->ev[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*n = 0;
	while (lo + *n < x->n_ev && event_cmp(&x->ev[lo + *n], &key) == 0)
		(*n)++;
	return *n ? &x->ev[lo] : NULL;
}

/* 2. one answered write or REGISTER against what the log did with it. */
static void check_answer(struct replay *x, const struct sim_op *o)
{
	size_t n;
	const struct ref_event *e;
	unsigned long long cl = o->client, sq = o->seq;
	if (o->op == KBP_OP_REGISTER) {
		e = event_find(x, o->client, o->seq, EV_REGISTER, &n);
		for (size_t i = 0; e && i < n; i++)
			if (e[i].answer.len == o->resp_len && !memcmp(e[i].answer.v, o->resp, o->resp_len))
				return;
		FAIL(x, "sessions: register %llx seq %llu answered %s id %llu, which no REGISTER in the log issued",
		     cl, sq, kbp_status_name(o->status), (unsigned long long)kbp_le64_load(o->resp));
		return;
	}
	if (o->status == KBP_ST_SESSION_EXPIRED) {
		if (!event_find(x, o->client, o->seq, EV_EXPIRED, &n))
			FAIL(x, "sessions: client %llu seq %llu answered SESSION_EXPIRED, but the log never refused it",
			     cl, sq);
		return;
	}
	e = event_find(x, o->client, o->seq, EV_WRITE, &n);
	if (!e) {
		FAIL(x, "durability: client %llu seq %llu (%s) was answered %s but did not run in the log", cl, sq,
		     kbp_op_name(o->op), kbp_status_name(o->status));
		return;
	}
	bool same = e->status == o->status;
	if (same && o->status == KBP_ST_CAS_FAILED)
		same = e->answer.len == o->resp_len && memcmp(e->answer.v, o->resp, o->resp_len) == 0;
	if (!same)
		FAIL(x, "linearizability: client %llu seq %llu (%s) answered %s, log order implies %s", cl, sq,
		     kbp_op_name(o->op), kbp_status_name(o->status), kbp_status_name(e->status));
}

/* Nothing that ran may come from nowhere: every write and REGISTER was issued by a client. */
static void check_issued(struct replay *x, const struct sim_op *ops, unsigned n_ops)
{
	for (size_t i = 0; i < x->n_ev; i++) {
		if (x->ev[i].kind == EV_EXPIRED)
			continue;
		bool asked = false;
		for (unsigned j = 0; j < n_ops && !asked; j++)
			asked = ops[j].client == x->ev[i].client && ops[j].seq == x->ev[i].seq;
		if (!asked)
			FAIL(x, "log: client %llu seq %llu ran but was never issued", (unsigned long long)x->ev[i].client,
			     (unsigned long long)x->ev[i].seq);
	}
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

/* 3. real-time order of writes: sweep invocations against earlier answers. */
static void check_real_time(struct replay *x, const struct sweep *ans, size_t n_ans, const struct sweep *inv,
			    size_t n_inv)
{
	uint64_t max_before = 0;
	for (size_t i = 0, j = 0; i < n_inv; i++) {
		while (j < n_ans && ans[j].t < inv[i].t)
			max_before = ans[j].pos > max_before ? ans[j].pos : max_before, j++;
		if (inv[i].pos <= max_before)
			FAIL(x, "linearizability: a write invoked at %llu ns sits at log position %llu, before "
			     "position %llu answered earlier", (unsigned long long)inv[i].t,
			     (unsigned long long)inv[i].pos, (unsigned long long)max_before);
	}
}

/* 4. a read: some prefix q in [lo, hi] must give the returned value. */
static void check_read(struct replay *x, const struct sim_op *o, const struct sweep *ans, size_t n_ans,
		       const struct sweep *inv, size_t n_inv)
{
	uint64_t lo = 0, hi = UINT64_MAX;
	for (size_t j = 0; j < n_ans; j++)
		if (ans[j].t < o->invoke_ns && ans[j].pos > lo)
			lo = ans[j].pos;
	for (size_t j = 0; j < n_inv; j++)
		if (inv[j].t > o->resp_ns && inv[j].pos < hi)
			hi = inv[j].pos - 1;
	/* The value after prefix q is the last change of this key at a position <= q. */
	bool ok = false;
	struct sim_val cur = { 0 };
	struct sim_val got = { .present = o->status == KBP_ST_OK, .len = o->resp_len };
	memcpy(got.v, o->resp, o->resp_len);
	size_t c = 0;
	for (uint64_t q = 0;; q++) {
		for (; c < x->n_chg && x->chg[c].pos <= q; c++)
			if (x->chg[c].key == o->key)
				cur = x->chg[c].val;
		ok = q >= lo && val_equal(&cur, &got);
		if (ok || q >= hi || q >= x->pos)
			break;
	}
	if (!ok)
		FAIL(x, "linearizability: client %llu seq %llu read %s%.*s, which no log prefix in "
		     "[%llu, %llu] holds (stale read)", (unsigned long long)o->client,
		     (unsigned long long)o->seq, kbp_status_name(o->status), (int)o->resp_len,
		     (const char *)o->resp, (unsigned long long)lo,
		     (unsigned long long)(hi == UINT64_MAX ? x->pos : hi));
}

unsigned sim_check_history(const struct sim_log *l, const struct sim_op *ops, unsigned n_ops,
			   const struct sim_probe *probes, unsigned n_probes,
			   const struct sim_check_cfg *cfg, char *why, size_t whylen)
{
	struct replay x = { .m = { .cfg = cfg, .next_id = 1 }, .pos = 1, .why = why, .whylen = whylen };
	x.m.live = calloc(cfg->clients_max + 1, sizeof(*x.m.live));
	replay_log(&x, l, probes, n_probes);
	qsort(x.ev, x.n_ev, sizeof(*x.ev), event_cmp);

	struct sweep *ans = malloc((n_ops + 1) * sizeof(*ans));
	struct sweep *inv = malloc((n_ops + 1) * sizeof(*inv));
	size_t n_ans = 0, n_inv = 0, n;
	for (unsigned i = 0; i < n_ops; i++) {
		const struct sim_op *o = &ops[i];
		if (o->op == KBP_OP_GET)
			continue;                  /* reads are checked against prefixes below */
		if (o->resp_ns)
			check_answer(&x, o);
		const struct ref_event *e = event_find(&x, o->client, o->seq, EV_WRITE, &n);
		if (!e || o->op == KBP_OP_REGISTER)
			continue;
		/* It ran: between its invocation and its answer (or the end). */
		if (o->resp_ns)
			ans[n_ans++] = (struct sweep){ o->resp_ns, e->pos };
		inv[n_inv++] = (struct sweep){ o->invoke_ns, e->pos };
	}
	check_issued(&x, ops, n_ops);
	qsort(ans, n_ans, sizeof(*ans), sweep_cmp);
	qsort(inv, n_inv, sizeof(*inv), sweep_cmp);
	check_real_time(&x, ans, n_ans, inv, n_inv);
	for (unsigned i = 0; i < n_ops; i++)
		if (ops[i].op == KBP_OP_GET && ops[i].resp_ns)
			check_read(&x, &ops[i], ans, n_ans, inv, n_inv);
	free(ans);
	free(inv);
	free(x.ev);
	free(x.chg);
	free(x.m.live);
	return x.violations;
}
