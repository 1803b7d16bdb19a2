/* SPDX-License-Identifier: MIT */
/*
 * One simulated run: an event heap over simulated time drives real kbp_node instances.
 * Everything random comes from one seeded generator, so a seed replays exactly.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_node.h"
#include "kbp_sm.h"
#include "sim.h"
#include "sim_check.h"

#define US 1000ull
#define MS 1000000ull
#define SIM_KEYS 4
#define SIM_TRACE_LINES 400

static const char *const sim_keys[SIM_KEYS] = { "apple", "berry", "cherry", "damson" };

enum ev_kind { EV_DELIVER, EV_TICK, EV_DISK, EV_REPLY, EV_CLIENT, EV_FAULT, EV_RESTART, EV_END_FAULTS,
	       EV_LATE_DUP };

struct ev {
	uint64_t t, seq;
	uint8_t kind, node;
	bool deferred;                     /* held back by a process pause */
	uint32_t gen;
	uint64_t arg;
	void *data;
};

struct rec {                               /* one record on a simulated disk */
	uint8_t type;
	uint64_t id, ballot, slot;
	uint32_t count, len;
	uint8_t *value;
};

struct recs {
	struct rec *r;
	size_t n, cap;
};

struct snode {
	struct kbp_node *kn;
	bool up;
	uint32_t gen;                      /* bumped at each crash: older events are void */
	double rate;                       /* clock rate relative to true time */
	int64_t offset;
	uint64_t frozen_until;             /* process pause */
	uint64_t clock_at_pause;           /* the node's clock when the pause began */
	bool stale_clock;                  /* lease-clock-early: hand the core clock_at_pause */
	uint64_t tick_at;
	struct recs disk;                  /* durable */
	struct recs pend;                  /* handed to the disk, not yet written */
	size_t inflight;                   /* pend[0..inflight) are being written */
	uint8_t *snap;
	uint32_t snap_len;
	uint64_t snap_upto;
	uint64_t applied_probe;
	bool rebuild_marker;               /* durable: the disk was lost, rebuild until voting */
	unsigned rebuild_boots;            /* starts since the wipe */
};

struct sclient {
	uint64_t id, seq;                  /* the session (0: none yet, or it expired) */
	uint64_t nonce;                    /* of the latest REGISTER */
	unsigned left;                     /* operations before this client leaves */
	unsigned target;
	int cur;                           /* index into ops of the op in flight, -1 none */
	uint32_t timer_gen;
	unsigned done;
};

struct sim {
	const struct sim_opts *o;
	struct sim_result *res;
	FILE *trace;
	uint64_t rng, now, seq;
	struct ev *heap;
	size_t n_ev, cap_ev;
	struct snode nodes[KBP_NODES_MAX];
	struct kbp_node_config cfg;
	bool link_down[KBP_NODES_MAX][KBP_NODES_MAX];
	unsigned loss_pct, dup_pct;
	bool faults_on;
	uint64_t faults_end;
	struct sclient *clients;
	struct sim_op *ops;
	unsigned n_ops, cap_ops, ops_issued;
	uint64_t nonces;                   /* REGISTER nonces handed out */
	struct sim_probe *probes;          /* replica states, for the checker */
	unsigned n_probes, cap_probes;
	struct kbp_kv *scratch;            /* a snapshot is read back into it */
	struct sim_log *log;
	char trace_ring[SIM_TRACE_LINES][160];
	unsigned trace_n;
	uint64_t killed_leader_at;
	unsigned killed_leader;
	bool wiping;                       /* a node without its state: no second wipe until it votes */
	unsigned observing;                /* node whose apply is being observed */
};

static uint64_t rnd(struct sim *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1Dull;
}
static uint64_t rnd_range(struct sim *s, uint64_t lo, uint64_t hi) { return lo + rnd(s) % (hi - lo + 1); }
static bool chance(struct sim *s, unsigned pct) { return rnd(s) % 100 < pct; }

static void tracef(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tracef(struct sim *s, const char *fmt, ...)
{
	char *line = s->trace_ring[s->trace_n++ % SIM_TRACE_LINES];
	int k = snprintf(line, 160, "[%8.3f ms] ", (double)s->now / MS);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + k, (size_t)(160 - k), fmt, ap);
	va_end(ap);
	if (s->o->verbose && s->trace)
		fprintf(s->trace, "%s\n", line);
}

static void violation(struct sim *s, const char *what)
{
	if (s->res->violations++ == 0)
		snprintf(s->res->violation, sizeof(s->res->violation), "%s", what);
	tracef(s, "VIOLATION %s", what);
}

/* ---- event heap ----------------------------------------------------------------------- */

static bool ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void ev_push_at(struct sim *s, uint64_t t, uint8_t kind, unsigned node, uint64_t arg, void *data,
		       bool deferred)
{
	if (s->n_ev == s->cap_ev) {
		s->cap_ev = s->cap_ev ? s->cap_ev * 2 : 1024;
		s->heap = realloc(s->heap, s->cap_ev * sizeof(*s->heap));
	}
	struct ev e = { .t = t, .seq = s->seq++, .kind = kind, .node = (uint8_t)node, .deferred = deferred,
			.arg = arg, .data = data };
	e.gen = node < KBP_NODES_MAX ? s->nodes[node].gen : 0;
	size_t i = s->n_ev++;
	while (i > 0 && ev_less(&e, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = e;
}

static void ev_push(struct sim *s, uint64_t t, uint8_t kind, unsigned node, uint64_t arg, void *data)
{
	ev_push_at(s, t, kind, node, arg, data, false);
}

static struct ev ev_pop(struct sim *s)
{
	struct ev top = s->heap[0], last = s->heap[--s->n_ev];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->n_ev)
			break;
		if (c + 1 < s->n_ev && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->n_ev)
		s->heap[i] = last;
	return top;
}

/* ---- per-node clocks ------------------------------------------------------------------- */

static uint64_t node_clock(const struct sim *s, unsigned i)
{
	const struct snode *sn = &s->nodes[i];
	return (uint64_t)((int64_t)((double)s->now * sn->rate) + sn->offset);
}

/*
 * The time the driver hands the core.  kbp_engine.c reads the clock after it takes a
 * request off the RX ring, so a pause before that is seen; with --break
 * lease-clock-early, whatever a pause held back is handled at the reading taken before
 * the pause, as the old engine did (it sampled the clock, then drained the ring).
 */
static uint64_t node_now(const struct sim *s, unsigned i)
{
	const struct snode *sn = &s->nodes[i];
	return sn->stale_clock ? sn->clock_at_pause : node_clock(s, i);
}

/*
 * Clocks change rate over time (NTP slewing, temperature).  The new rate applies from
 * now on and the reading stays continuous, so the clock stays monotonic.
 */
static void node_clock_slew(struct sim *s, unsigned i, double rate)
{
	struct snode *sn = &s->nodes[i];
	uint64_t local = node_clock(s, i);
	sn->rate = rate;
	sn->offset = (int64_t)local - (int64_t)((double)s->now * rate);
}

/* The slowest rate the run may use: within the configured drift, or far past it. */
static double slow_rate(const struct sim *s)
{
	if (s->o->break_flags & SIM_BREAK_LEASE_DRIFT)
		return 0.5;
	return 1.0 - (double)s->cfg.max_drift_ppm / 1e6 / 2;
}

/* True time at which node i's clock reads `local`. */
static uint64_t node_clock_inverse(const struct sim *s, unsigned i, uint64_t local)
{
	const struct snode *sn = &s->nodes[i];
	double t = ((double)local - (double)sn->offset) / sn->rate;
	uint64_t tt = t < 0 ? 0 : (uint64_t)t + 1;
	return tt > s->now ? tt : s->now;
}

/* ---- disk ------------------------------------------------------------------------------- */

static void recs_push(struct recs *r, const struct rec *x)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->r = realloc(r->r, r->cap * sizeof(*r->r));
	}
	r->r[r->n++] = *x;
}

static void recs_clear(struct recs *r, size_t from)
{
	for (size_t i = from; i < r->n; i++)
		free(r->r[i].value);
	r->n = from;
}

static void disk_start_write(struct sim *s, unsigned i)
{
	struct snode *sn = &s->nodes[i];
	if (sn->inflight || sn->pend.n == 0)
		return;
	sn->inflight = sn->pend.n;
	ev_push(s, s->now + rnd_range(s, 30 * US, 400 * US), EV_DISK, i, 0, NULL);
}

/* A durable snapshot replaces everything it covers (what persist/ does with segments). */
static void disk_install_snapshot(struct snode *sn, const uint8_t *buf, uint32_t len, uint64_t upto)
{
	if (upto <= sn->snap_upto)
		return;
	free(sn->snap);
	sn->snap = malloc(len);
	memcpy(sn->snap, buf, len);
	sn->snap_len = len;
	sn->snap_upto = upto;
	size_t k = 0;
	for (size_t j = 0; j < sn->disk.n; j++) {
		struct rec *r = &sn->disk.r[j];
		bool covered = (r->type == KBP_PERSIST_ACCEPT && r->slot < upto) ||
			       (r->type == KBP_PERSIST_COMMIT && r->slot <= upto);
		if (covered)
			free(r->value);
		else
			sn->disk.r[k++] = *r;
	}
	sn->disk.n = k;
}

static void disk_done(struct sim *s, unsigned i)
{
	struct snode *sn = &s->nodes[i];
	uint64_t upto = 0;
	for (size_t j = 0; j < sn->inflight; j++) {
		struct rec *r = &sn->pend.r[j];
		upto = r->id;
		if (r->type == KBP_PERSIST_SNAPSHOT) {
			disk_install_snapshot(sn, r->value, r->len, r->slot);
			free(r->value);
		} else {
			recs_push(&sn->disk, r);
		}
	}
	memmove(sn->pend.r, sn->pend.r + sn->inflight, (sn->pend.n - sn->inflight) * sizeof(*sn->pend.r));
	sn->pend.n -= sn->inflight;
	sn->inflight = 0;
	kbp_node_persisted(sn->kn, upto, node_now(s, i));
	disk_start_write(s, i);
}

/* Node i's state machine, read back from an image of it, for the checker (sim_check.h). */
static void probe_add(struct sim *s, unsigned i, const uint8_t *buf, uint32_t len)
{
	uint64_t upto;
	struct kbp_kv_stats st;
	if (kbp_kv_restore(s->scratch, buf, len, &upto) < 0) {
		violation(s, "snapshot: a node's own state machine image does not restore");
		return;
	}
	if (s->n_probes == s->cap_probes) {
		s->cap_probes = s->cap_probes ? 2 * s->cap_probes : 64;
		s->probes = realloc(s->probes, s->cap_probes * sizeof(*s->probes));
	}
	struct sim_probe *p = &s->probes[s->n_probes++];
	memset(p, 0, sizeof(*p));
	kbp_kv_get_stats(s->scratch, &st);
	*p = (struct sim_probe){ .node = i, .upto = upto, .applied = st.applied, .executed = st.executed,
				 .next_id = st.next_client_id, .sessions = st.sessions };
	kbp_kv_sessions(s->scratch, p->id, p->seq, SIM_PROBE_SESSIONS);
	for (unsigned k = 0; k < SIM_KEYS; k++) {
		struct kbp_cmd get = { .op = KBP_OP_GET, .key_len = (uint8_t)strlen(sim_keys[k]),
				       .key = (const uint8_t *)sim_keys[k] };
		struct kbp_reply r;
		kbp_kv_read(s->scratch, &get, &r);
		p->val[k].present = r.status == KBP_ST_OK;
		p->val[k].len = r.val_len < SIM_VAL_MAX ? r.val_len : SIM_VAL_MAX;
		if (p->val[k].len)
			memcpy(p->val[k].v, r.val, p->val[k].len);
	}
}

/* Every running node's state machine as it stands, for the checker. */
static void probe_all(struct sim *s)
{
	for (unsigned i = 0; i < s->o->nodes; i++) {
		if (!s->nodes[i].up)
			continue;
		uint32_t cap = kbp_node_snapshot_bytes_max(s->nodes[i].kn);
		uint8_t *buf = malloc(cap);
		uint64_t upto;
		int len = kbp_node_snapshot(s->nodes[i].kn, buf, cap, &upto);
		assert(len > 0);
		probe_add(s, i, buf, (uint32_t)len);
		free(buf);
	}
}

/* The host compacts: snapshot the state machine, drop what it covers. */
static void disk_maybe_compact(struct sim *s, unsigned i)
{
	struct snode *sn = &s->nodes[i];
	if (sn->disk.n < 2 * s->cfg.log_slots)
		return;
	uint32_t cap = kbp_node_snapshot_bytes_max(sn->kn);
	uint8_t *buf = malloc(cap);
	uint64_t upto;
	int len = kbp_node_snapshot(sn->kn, buf, cap, &upto);
	assert(len > 0);
	disk_install_snapshot(sn, buf, (uint32_t)len, upto);
	probe_add(s, i, buf, (uint32_t)len);
	free(buf);
}

/* ---- node driver ------------------------------------------------------------------------ */

static void observe_apply(void *arg, uint64_t slot, uint32_t count, const uint8_t *batch, uint32_t len)
{
	struct sim *s = arg;
	char why[200];
	if (!sim_log_apply(s->log, s->observing, slot, count, batch, len, why, sizeof(why)))
		violation(s, why);
}

static void deliver_reply(struct sim *s, unsigned from, const struct kbp_reply *r)
{
	if (chance(s, s->loss_pct))
		return;
	struct kbp_reply *c = malloc(sizeof(*c) + r->val_len);
	*c = *r;
	if (r->val_len)
		memcpy(c + 1, r->val, r->val_len);
	c->val = (const uint8_t *)(c + 1);
	ev_push(s, s->now + rnd_range(s, 20 * US, 150 * US), EV_REPLY, KBP_NODES_MAX, from, c);
}

static void send_msg(struct sim *s, const struct kbp_msg *m)
{
	unsigned copies = 1 + (chance(s, s->dup_pct) ? 1 : 0);
	if (s->link_down[m->from][m->to] || chance(s, s->loss_pct))
		return;
	for (unsigned k = 0; k < copies; k++) {
		struct kbp_msg *c = malloc(sizeof(*c) + m->len);
		*c = *m;
		if (m->len)
			memcpy(c + 1, m->payload, m->len);
		c->payload = (const uint8_t *)(c + 1);
		/* Random delay: reordering falls out of it. */
		ev_push(s, s->now + rnd_range(s, 20 * US, 300 * US), EV_DELIVER, m->to, 0, c);
	}
}

static void node_flush(struct sim *s, unsigned i)
{
	struct snode *sn = &s->nodes[i];
	struct kbp_update u;
	s->observing = i;
	kbp_node_flush(sn->kn, node_now(s, i), &u);
	for (uint32_t k = 0; k < u.n_persist; k++) {
		const struct kbp_persist *p = &u.persist[k];
		struct rec r = { .type = p->type, .id = p->id, .ballot = p->ballot, .slot = p->slot,
				 .count = p->count, .len = p->len };
		r.value = malloc(p->len ? p->len : 1);
		if (p->len)
			memcpy(r.value, p->value, p->len);
		recs_push(&sn->pend, &r);
	}
	disk_start_write(s, i);
	for (uint32_t k = 0; k < u.n_msgs; k++)
		send_msg(s, &u.msgs[k]);
	for (uint32_t k = 0; k < u.n_replies; k++)
		deliver_reply(s, i, &u.replies[k]);
	uint64_t t = node_clock_inverse(s, i, u.deadline_ns);
	if (t < s->now + 1 * US)
		t = s->now + 1 * US;        /* "more work": come back almost at once */
	if (sn->tick_at == 0 || t < sn->tick_at || sn->tick_at < s->now) {
		sn->tick_at = t;
		ev_push(s, t, EV_TICK, i, 0, NULL);
	}
	disk_maybe_compact(s, i);
	if (sn->rebuild_marker) {
		/* The host clears its marker (durably) once the node votes again. */
		struct kbp_node_status st;
		kbp_node_get_status(sn->kn, &st);
		if (st.rebuild == KBP_REBUILD_NONE) {
			sn->rebuild_marker = false;
			s->wiping = false;
			s->res->rebuilds++;
			tracef(s, "node %u rebuilt: votes from promise %llx on (waited for ballot %llx, slot %llu)", i,
			       (unsigned long long)st.promised, (unsigned long long)st.rebuild_ballot,
			       (unsigned long long)st.rebuild_target);
		}
	}
}

static void node_boot(struct sim *s, unsigned i, bool restarted)
{
	struct snode *sn = &s->nodes[i];
	struct kbp_node_config cfg = s->cfg;
	cfg.self = i;
	cfg.seed = rnd(s);
	sn->kn = kbp_node_new(&cfg);
	assert(sn->kn);
	s->observing = i;
	kbp_node_set_apply_observer(sn->kn, observe_apply, s);
	if (sn->snap && kbp_node_restore_snapshot(sn->kn, sn->snap, sn->snap_len) < 0)
		violation(s, "recovery: snapshot refused");
	for (size_t j = 0; j < sn->disk.n; j++) {
		const struct rec *r = &sn->disk.r[j];
		if (r->type == KBP_PERSIST_PROMISE && kbp_node_restore_promise(sn->kn, r->ballot) < 0)
			violation(s, "recovery: promise record refused");
		else if (r->type == KBP_PERSIST_ACCEPT &&
			 kbp_node_restore_accept(sn->kn, r->slot, r->ballot, r->count, r->value, r->len) < 0)
			violation(s, "recovery: accept record refused");
		else if (r->type == KBP_PERSIST_COMMIT)
			kbp_node_restore_commit(sn->kn, r->slot);
	}
	if (sn->rebuild_marker && sn->rebuild_boots++ > 0)
		s->res->rebuild_crashes++;       /* crashed while rebuilding: rebuilds again */
	if (sn->rebuild_marker)
		kbp_node_start_rebuild(sn->kn, node_clock(s, i));
	else
		kbp_node_start(sn->kn, node_clock(s, i), restarted);
	sn->up = true;
	sn->tick_at = 0;
	tracef(s, "node %u %s (clock rate %.4f)", i, sn->rebuild_marker ? "rebuilds, not voting yet" :
	       restarted ? "restarts from its log" : "starts", sn->rate);
	node_flush(s, i);
}

static void node_crash(struct sim *s, unsigned i)
{
	struct snode *sn = &s->nodes[i];
	if (!sn->up)
		return;
	/* A write in flight may have landed in part: a prefix of it survives, unreported. */
	size_t keep = sn->inflight ? rnd_range(s, 0, sn->inflight) : 0;
	for (size_t j = 0; j < keep; j++) {
		struct rec *r = &sn->pend.r[j];
		if (r->type == KBP_PERSIST_SNAPSHOT) {
			disk_install_snapshot(sn, r->value, r->len, r->slot);
			free(r->value);
		} else {
			recs_push(&sn->disk, r);
		}
	}
	for (size_t j = keep; j < sn->pend.n; j++)
		free(sn->pend.r[j].value);
	sn->pend.n = 0;
	sn->inflight = 0;
	kbp_node_free(sn->kn);
	sn->kn = NULL;
	sn->up = false;
	sn->gen++;
	s->res->crashes++;
	tracef(s, "node %u crashes (%zu records of the write in flight survive)", i, keep);
}

/*
 * The node's disk fails and is replaced by an empty one: it loses everything, snapshot
 * included, and restarts rebuilding (the marker is the first thing on the new disk).
 * The fault model allows one node without its state at a time, until it votes again.
 */
static void node_wipe(struct sim *s, unsigned i)
{
	struct snode *sn = &s->nodes[i];
	node_crash(s, i);
	recs_clear(&sn->disk, 0);
	free(sn->snap);
	sn->snap = NULL;
	sn->snap_len = 0;
	sn->snap_upto = 0;
	sn->rebuild_marker = true;
	sn->rebuild_boots = 0;
	s->wiping = true;
	s->res->wipes++;
	tracef(s, "node %u loses its disk", i);
}

/* ---- clients ---------------------------------------------------------------------------- */

/*
 * Clients come and go: each registers a session through the log, uses it for a few
 * operations, then leaves and registers a new one (a new client, as far as the cluster
 * knows), so that over a run far more sessions pass through than clients_max holds.
 */
#define SIM_SESSION_OPS_MIN 2
#define SIM_SESSION_OPS_MAX 8

static struct sim_op *op_new(struct sim *s, struct sclient *c)
{
	if (s->n_ops == s->cap_ops) {
		s->cap_ops *= 2;
		s->ops = realloc(s->ops, s->cap_ops * sizeof(*s->ops));
	}
	struct sim_op *o = &s->ops[s->n_ops];
	memset(o, 0, sizeof(*o));
	c->cur = (int)s->n_ops++;
	o->invoke_ns = s->now;
	return o;
}

static void client_send(struct sim *s, struct sclient *c)
{
	const struct sim_op *o = &s->ops[c->cur];
	bool keyed = o->op != KBP_OP_REGISTER;
	struct kbp_cmd cmd = {
		.client_id = o->client, .seq = o->seq, .op = o->op,
		.key_len = keyed ? (uint8_t)strlen(sim_keys[o->key]) : 0,
		.key = keyed ? (const uint8_t *)sim_keys[o->key] : NULL,
		.val_len = o->val_len, .val = o->val, .exp_len = o->exp_len, .exp = o->exp,
	};
	uint8_t buf[256];
	int len = kbp_cmd_encode(&cmd, buf, sizeof(buf));
	assert(len > 0);
	struct kbp_msg m = { .type = KBP_MSG_CLIENT_REQ, .from = KBP_NODE_CLIENT, .to = (uint8_t)c->target,
			     .count = 1, .len = (uint32_t)len, .payload = buf };
	if (!chance(s, s->loss_pct)) {
		struct kbp_msg *cp = malloc(sizeof(*cp) + m.len);
		*cp = m;
		memcpy(cp + 1, buf, m.len);
		cp->payload = (const uint8_t *)(cp + 1);
		ev_push(s, s->now + rnd_range(s, 20 * US, 150 * US), EV_DELIVER, c->target, 0, cp);
	}
	tracef(s, "client %llx sends %s seq %llu to node %u", (unsigned long long)o->client, kbp_op_name(o->op),
	       (unsigned long long)o->seq, c->target);
	c->timer_gen++;
	ev_push(s, s->now + 5 * MS, EV_CLIENT, KBP_NODES_MAX, ((uint64_t)(c - s->clients + 1) << 32) | c->timer_gen,
		NULL);
}

/* A new session: REGISTER under a fresh nonce; the answer names the id. */
static void client_register(struct sim *s, struct sclient *c)
{
	c->id = 0;
	struct sim_op *o = op_new(s, c);
	o->op = KBP_OP_REGISTER;
	o->client = c->nonce = KBP_CLIENT_NONCE | ++s->nonces;
	o->seq = 1;
	client_send(s, c);
}

/* Expect a value this client may have seen: the last answer it got for that key. */
static void client_pick_expected(const struct sim *s, const struct sclient *c, struct sim_op *o)
{
	for (unsigned k = (unsigned)c->cur; k-- > 0;) {
		const struct sim_op *p = &s->ops[k];
		if (p->resp_ns && p->key == o->key && p->resp_len &&
		    (p->op == KBP_OP_GET || p->status == KBP_ST_CAS_FAILED)) {
			o->exp_len = p->resp_len;
			memcpy(o->exp, p->resp, p->resp_len);
			return;
		}
	}
	o->exp_len = 2;
	memcpy(o->exp, "no", 2);
}

static void client_next(struct sim *s, struct sclient *c)
{
	if (s->ops_issued >= s->o->ops) {
		c->cur = -1;
		return;
	}
	if (c->id == 0 || c->left == 0) {
		client_register(s, c);
		return;
	}
	struct sim_op *o = op_new(s, c);
	s->ops_issued++;
	c->left--;
	o->client = c->id;
	o->seq = ++c->seq;
	o->key = (uint8_t)rnd_range(s, 0, SIM_KEYS - 1);
	unsigned r = (unsigned)rnd_range(s, 0, 99);
	o->op = r < 45 ? KBP_OP_PUT : r < 80 ? KBP_OP_GET : KBP_OP_CAS;
	if (o->op != KBP_OP_GET)
		o->val_len = (uint16_t)snprintf((char *)o->val, sizeof(o->val), "c%llus%llu",
						(unsigned long long)o->client, (unsigned long long)o->seq);
	if (o->op == KBP_OP_CAS)
		client_pick_expected(s, c, o);
	/* Clients with stale leader caches: some requests go wherever, maybe to a deposed leader. */
	if (chance(s, 35))
		c->target = (unsigned)rnd_range(s, 0, s->o->nodes - 1);
	client_send(s, c);
}

/* The client whose request in flight this reply answers, or NULL (late, or a late duplicate's). */
static struct sclient *client_of(struct sim *s, const struct kbp_reply *r)
{
	for (unsigned i = 0; i < s->o->clients; i++) {
		struct sclient *c = &s->clients[i];
		if (c->cur >= 0 && s->ops[c->cur].client == r->client_id && s->ops[c->cur].seq == r->seq)
			return c;
	}
	return NULL;
}

/* NOT_LEADER, BUSY and the answers no client of ours may get; false: the request goes on. */
static bool client_answered(struct sim *s, struct sclient *c, unsigned from, const struct kbp_reply *r)
{
	switch (r->status) {
	case KBP_ST_NOT_LEADER:
		if (r->leader < s->o->nodes && r->leader != from) {
			c->target = r->leader;     /* follow the hint at once */
			client_send(s, c);
		} else {
			c->target = (unsigned)rnd_range(s, 0, s->o->nodes - 1);   /* the timer resends */
		}
		return false;
	case KBP_ST_BUSY:
		return false;
	case KBP_ST_INVALID:
	case KBP_ST_FULL:
		violation(s, "client: unexpected INVALID/FULL answer");
		return false;
	case KBP_ST_STALE:
		violation(s, "client: STALE for the request in flight (its seq is the session's newest)");
		return false;
	default:
		return true;
	}
}

static void client_on_reply(struct sim *s, unsigned from, const struct kbp_reply *r)
{
	struct sclient *c = client_of(s, r);
	if (!c || !client_answered(s, c, from, r))
		return;
	struct sim_op *o = &s->ops[c->cur];
	o->resp_ns = s->now;
	o->status = r->status;
	o->resp_len = r->val_len < sizeof(o->resp) ? r->val_len : sizeof(o->resp);
	memcpy(o->resp, r->val, o->resp_len);
	if (o->op == KBP_OP_REGISTER) {
		c->id = kbp_le64_load(o->resp);
		c->seq = 0;
		c->left = (unsigned)rnd_range(s, SIM_SESSION_OPS_MIN, SIM_SESSION_OPS_MAX);
		s->res->sessions++;
		tracef(s, "client %llx registered: session %llu (node %u)", (unsigned long long)o->client,
		       (unsigned long long)c->id, from);
		client_next(s, c);
		return;
	}
	if (o->op == KBP_OP_GET)
		s->res->reads++;
	s->res->ops_done++;
	tracef(s, "client %llu seq %llu %s %s -> %s %.*s (node %u)", (unsigned long long)o->client,
	       (unsigned long long)o->seq, kbp_op_name(o->op), sim_keys[o->key], kbp_status_name(o->status),
	       (int)o->resp_len, (const char *)o->resp, from);
	/* Its outcome is unknown (it may have run before the session went); a new session next. */
	if (o->status == KBP_ST_SESSION_EXPIRED) {
		s->res->expired++;
		c->id = 0;
	}
	c->done++;
	/* Failover: from the crash to the first answer from another node (the old leader's last
	 * replies may still be in flight after it died, and do not count). */
	if (s->killed_leader_at && !s->res->failover_ns && from != s->killed_leader)
		s->res->failover_ns = s->now - s->killed_leader_at;
	client_next(s, c);
}

static void client_on_timer(struct sim *s, uint64_t arg)
{
	struct sclient *c = &s->clients[(arg >> 32) - 1];
	if ((uint32_t)arg != c->timer_gen || c->cur < 0)
		return;
	/* Retry with the same seq, at the next node: a timeout says nothing about the leader. */
	c->target = (unsigned)rnd_range(s, 0, s->o->nodes - 1);
	client_send(s, c);
}

/*
 * A late duplicate: a copy of an old write or REGISTER, held up somewhere in the network
 * while (usually) many other clients came and went, now reaches a node.  Nobody waits for
 * its answer.  The session rules must not let it run again.
 */
static void late_duplicate(struct sim *s)
{
	unsigned n = s->n_ops, pick = n;
	for (unsigned tries = 0; n && tries < 8 && pick == n; tries++) {
		unsigned k = (unsigned)rnd_range(s, 0, n - 1);
		if (s->ops[k].op != KBP_OP_GET && s->ops[k].invoke_ns + 2 * MS < s->now)
			pick = k;
	}
	if (pick < n) {
		const struct sim_op *o = &s->ops[pick];
		bool keyed = o->op != KBP_OP_REGISTER;
		struct kbp_cmd cmd = {
			.client_id = o->client, .seq = o->seq, .op = o->op,
			.key_len = keyed ? (uint8_t)strlen(sim_keys[o->key]) : 0,
			.key = keyed ? (const uint8_t *)sim_keys[o->key] : NULL,
			.val_len = o->val_len, .val = o->val, .exp_len = o->exp_len, .exp = o->exp,
		};
		unsigned to = (unsigned)rnd_range(s, 0, s->o->nodes - 1);
		struct kbp_msg *m = malloc(sizeof(*m) + 256);
		int len = kbp_cmd_encode(&cmd, (uint8_t *)(m + 1), 256);
		assert(len > 0);
		*m = (struct kbp_msg){ .type = KBP_MSG_CLIENT_REQ, .from = KBP_NODE_CLIENT, .to = (uint8_t)to,
				       .count = 1, .len = (uint32_t)len, .payload = (const uint8_t *)(m + 1) };
		ev_push(s, s->now + rnd_range(s, 20 * US, 150 * US), EV_DELIVER, to, 0, m);
		s->res->late_dups++;
		tracef(s, "late duplicate of client %llx %s seq %llu (sent %.3f ms ago; %llu sessions so far) to node %u",
		       (unsigned long long)o->client, kbp_op_name(o->op), (unsigned long long)o->seq,
		       (double)(s->now - o->invoke_ns) / MS, (unsigned long long)s->res->sessions, to);
	}
	ev_push(s, s->now + rnd_range(s, 1 * MS, 6 * MS), EV_LATE_DUP, KBP_NODES_MAX, 0, NULL);
}

/* ---- faults ------------------------------------------------------------------------------ */

static bool is_leader(const struct sim *s, unsigned i)
{
	struct kbp_node_status st;
	if (!s->nodes[i].up)
		return false;
	kbp_node_get_status(s->nodes[i].kn, &st);
	return st.role == KBP_ROLE_LEADER;
}

/* The leader still hears its peers, but they no longer hear it (an asymmetric partition). */
static void fault_deaf_leader(struct sim *s)
{
	for (unsigned i = 0; i < s->o->nodes; i++) {
		if (!is_leader(s, i))
			continue;
		for (unsigned j = 0; j < s->o->nodes; j++)
			s->link_down[i][j] = j != i;
		node_clock_slew(s, i, slow_rate(s));
		tracef(s, "leader %u can hear its peers but they cannot hear it; its clock slews to rate %.4f",
		       i, s->nodes[i].rate);
	}
}

/*
 * Freeze a process (GC pause, VM stall) for about a lease: usually the leader, which
 * resumes believing in a lease its granters may have let go.
 */
static void fault_pause(struct sim *s, unsigned a)
{
	for (unsigned i = 0; i < s->o->nodes && chance(s, 75); i++)
		if (is_leader(s, i))
			a = i;
	uint64_t d = rnd_range(s, s->cfg.lease_ns / 2, 2 * s->cfg.lease_ns);
	if (s->nodes[a].frozen_until <= s->now)
		s->nodes[a].clock_at_pause = node_clock(s, a);   /* its last reading before it stalls */
	s->nodes[a].frozen_until = s->now + d;
	node_clock_slew(s, a, slow_rate(s));
	tracef(s, "node %u pauses for %.1f ms", a, (double)d / MS);
}

static void fault_step(struct sim *s)
{
	enum sim_faults f = s->o->faults;
	bool net = f == SIM_FAULTS_NET || f == SIM_FAULTS_ALL;
	bool crash = f == SIM_FAULTS_CRASH || f == SIM_FAULTS_ALL;
	unsigned n = s->o->nodes;
	unsigned what = (unsigned)rnd_range(s, 0, 9);
	unsigned a = (unsigned)rnd_range(s, 0, n - 1), b = (unsigned)rnd_range(s, 0, n - 1);

	/* With leases on, the faults that matter most aim at the leader. */
	if (s->o->leases && net && chance(s, 15)) {
		fault_deaf_leader(s);
	} else if ((s->o->leases && chance(s, 15)) || (what == 7 && s->o->leases)) {
		fault_pause(s, a);
	} else if (crash && what < 3) {
		if (s->nodes[a].up) {
			if (!s->o->no_wipes && n >= 3 && !s->wiping && chance(s, 25))
				node_wipe(s, a);
			else
				node_crash(s, a);
			ev_push(s, s->now + rnd_range(s, 1 * MS, 60 * MS), EV_RESTART, a, 0, NULL);
		}
	} else if (net && what < 5) {
		if (a != b) {
			bool both = chance(s, 50);  /* else asymmetric: a can send to b, not hear back */
			s->link_down[b][a] = true;
			if (both)
				s->link_down[a][b] = true;
			tracef(s, "partition %u %s %u", a, both ? "<->" : "<-", b);
		}
	} else if (net && what < 7) {
		memset(s->link_down, 0, sizeof(s->link_down));
		tracef(s, "partitions heal");
	} else if (net) {
		s->loss_pct = (unsigned)rnd_range(s, 0, 20);
		s->dup_pct = (unsigned)rnd_range(s, 0, 10);
		tracef(s, "network loss %u%% duplication %u%%", s->loss_pct, s->dup_pct);
	}
	if (s->now + 5 * MS < s->faults_end)
		ev_push(s, s->now + rnd_range(s, 1 * MS, 8 * MS), EV_FAULT, KBP_NODES_MAX, 0, NULL);
}

static void faults_end(struct sim *s)
{
	s->faults_on = false;
	memset(s->link_down, 0, sizeof(s->link_down));
	s->loss_pct = s->dup_pct = 0;
	for (unsigned i = 0; i < s->o->nodes; i++) {
		s->nodes[i].frozen_until = 0;
		if (!s->nodes[i].up)
			node_boot(s, i, true);
	}
	tracef(s, "faults stop: network healed, every node up");
}

/* ---- the run ------------------------------------------------------------------------------ */

static void sim_config(struct sim *s)
{
	struct kbp_node_config *c = &s->cfg;
	kbp_node_config_default(c);
	c->nodes = s->o->nodes;
	c->window = 8;
	c->batch_cmds_max = 4;
	c->batch_bytes_max = 4096;
	c->msg_bytes_max = 4096 + 64;
	c->log_slots = 32;                 /* small, so rings slide and snapshots travel */
	c->queue_bytes = 16384;
	/*
	 * Session limits per seed: from tables smaller than the number of clients (sessions
	 * evicted under requests in flight) to roomy ones, expiry off or short enough that a
	 * client stuck behind a partition outlives its session.
	 */
	c->clients_max = (uint32_t)rnd_range(s, 2, 16);
	c->session_expiry_cmds = chance(s, 25) ? 0 : rnd_range(s, 12, 96);
	c->kv_keys_max = 16;
	c->apply_max = 64;
	c->heartbeat_ns = 1 * MS;
	c->election_timeout_ns = 8 * MS;
	c->retransmit_ns = 3 * MS;
	c->leases = s->o->leases;
	/* Longer than the election timeout: successors take over the moment grants run out. */
	c->lease_ns = 10 * MS;
	c->max_drift_ppm = 2000;
	c->break_flags = s->o->break_flags & 0xffu;
	/* Node clocks: offsets anywhere, rates within the configured drift (or beyond, to break it). */
	for (unsigned i = 0; i < s->o->nodes; i++) {
		double bound = (double)c->max_drift_ppm / 1e6;
		if (s->o->break_flags & SIM_BREAK_LEASE_DRIFT)
			bound = 1.0;      /* rates 0.5x..1.5x, far past the 2000 ppm assumed */
		double r = ((double)(rnd(s) % 20001) / 10000.0 - 1.0) * bound / 2;
		s->nodes[i].rate = 1.0 + r;
		s->nodes[i].offset = (int64_t)rnd_range(s, 0, 1000 * MS);
	}
}

static bool all_clients_done(const struct sim *s)
{
	for (unsigned i = 0; i < s->o->clients; i++)
		if (s->clients[i].cur >= 0)
			return false;
	return true;
}

void sim_run(const struct sim_opts *o, struct sim_result *res, FILE *trace)
{
	struct sim *s = calloc(1, sizeof(*s));
	memset(res, 0, sizeof(*res));
	s->o = o;
	s->res = res;
	s->trace = trace;
	s->rng = (o->seed * 0x9E3779B97F4A7C15ull) ^ 0xD1B54A32D192ED03ull;
	if (!s->rng)
		s->rng = 1;
	s->log = sim_log_new();
	s->clients = calloc(o->clients, sizeof(*s->clients));
	s->cap_ops = o->ops + 16;
	s->ops = calloc(s->cap_ops, sizeof(*s->ops));
	sim_config(s);
	struct kbp_kv_config kc = { .keys_max = s->cfg.kv_keys_max, .clients_max = s->cfg.clients_max,
				    .session_expiry_cmds = s->cfg.session_expiry_cmds };
	s->scratch = kbp_kv_new(&kc);
	for (unsigned i = 0; i < o->nodes; i++)
		node_boot(s, i, false);
	for (unsigned i = 0; i < o->clients; i++) {
		s->clients[i].target = (unsigned)rnd_range(s, 0, o->nodes - 1);
		client_next(s, &s->clients[i]);
	}
	if (o->late_dups)
		ev_push(s, rnd_range(s, 5 * MS, 15 * MS), EV_LATE_DUP, KBP_NODES_MAX, 0, NULL);
	s->faults_on = o->faults != SIM_FAULTS_NONE;
	s->faults_end = 150 * MS;
	if (s->faults_on) {
		ev_push(s, rnd_range(s, 5 * MS, 20 * MS), EV_FAULT, KBP_NODES_MAX, 0, NULL);
		ev_push(s, s->faults_end, EV_END_FAULTS, KBP_NODES_MAX, 0, NULL);
	}
	uint64_t liveness_bound = 2000 * MS;   /* after faults stop, everything completes by then */
	uint64_t stop_at = (s->faults_on ? s->faults_end : 0) + liveness_bound;

	/* A wiped node must also get to vote again, not only the clients to finish. */
	while (s->n_ev && (!all_clients_done(s) || s->wiping)) {
		struct ev e = ev_pop(s);
		if (e.t > stop_at) {
			violation(s, all_clients_done(s) ?
				     "liveness: a wiped node still rebuilding 2 s (simulated) after faults stopped" :
				     "liveness: requests still pending 2 s (simulated) after faults stopped");
			if (e.kind == EV_DELIVER || e.kind == EV_REPLY)
				free(e.data);
			break;
		}
		s->now = e.t;
		res->events++;
		struct snode *sn = e.node < KBP_NODES_MAX ? &s->nodes[e.node] : NULL;
		if (sn && (e.kind == EV_DELIVER || e.kind == EV_TICK || e.kind == EV_DISK) && sn->up &&
		    s->now < sn->frozen_until) {
			/* A paused process handles nothing until it resumes. */
			ev_push_at(s, sn->frozen_until, e.kind, e.node, e.arg, e.data, true);
			if (e.kind == EV_TICK)
				sn->tick_at = sn->frozen_until;
			continue;
		}
		if (sn)
			sn->stale_clock = e.deferred && (o->break_flags & SIM_BREAK_LEASE_CLOCK_EARLY);
		switch (e.kind) {
		case EV_DELIVER: {
			struct kbp_msg *m = e.data;
			if (sn->up) {
				kbp_node_recv(sn->kn, m, node_now(s, e.node));
				node_flush(s, e.node);
			}
			free(m);
			break;
		}
		case EV_TICK:
			if (!sn->up || e.gen != sn->gen || e.t != sn->tick_at)
				break;
			sn->tick_at = 0;
			kbp_node_tick(sn->kn, node_now(s, e.node));
			node_flush(s, e.node);
			break;
		case EV_DISK:
			if (sn->up && e.gen == sn->gen) {
				disk_done(s, e.node);
				node_flush(s, e.node);
			}
			break;
		case EV_REPLY:
			client_on_reply(s, (unsigned)e.arg, e.data);
			free(e.data);
			break;
		case EV_CLIENT:
			client_on_timer(s, e.arg);
			break;
		case EV_FAULT:
			if (s->faults_on)
				fault_step(s);
			break;
		case EV_RESTART:
			if (s->faults_on && !sn->up)
				node_boot(s, e.node, true);
			break;
		case EV_END_FAULTS:
			faults_end(s);
			break;
		case EV_LATE_DUP:
			late_duplicate(s);
			break;
		}
		if (sn)
			sn->stale_clock = false;
		if (o->kill_leader_once && !s->killed_leader_at && s->ops_issued >= o->ops / 3) {
			for (unsigned i = 0; i < o->nodes; i++) {
				if (is_leader(s, i)) {
					node_crash(s, i);
					s->killed_leader_at = s->now;
					s->killed_leader = i;
					break;
				}
			}
		}
	}
	res->sim_ns = s->now;
	for (unsigned i = 0; i < o->nodes; i++) {
		if (!s->nodes[i].up)
			continue;
		struct kbp_node_status st;
		kbp_node_get_status(s->nodes[i].kn, &st);
		tracef(s, "node %u: %s leader=%d ballot=%llx promised=%llx commit=%llu applied=%llu base=%llu "
		       "msgs in=%llu out=%llu bad=%llu stale=%llu elections=%llu", i, kbp_role_name(st.role),
		       st.leader == KBP_LEADER_UNKNOWN ? -1 : st.leader, (unsigned long long)st.ballot,
		       (unsigned long long)st.promised, (unsigned long long)st.commit,
		       (unsigned long long)st.applied, (unsigned long long)st.log_base,
		       (unsigned long long)st.stats.msgs_in, (unsigned long long)st.stats.msgs_out,
		       (unsigned long long)st.stats.msgs_bad, (unsigned long long)st.stats.msgs_stale,
		       (unsigned long long)st.stats.elections);
		res->leader_changes += st.stats.leader_changes;
		res->elections += st.stats.elections;
		res->lease_reads += st.stats.lease_reads;
		res->snapshots_installed += st.stats.snapshots_installed;
	}
	for (unsigned i = 0; i < s->n_ops; i++)
		if (!s->ops[i].resp_ns)
			res->ops_pending_unknown++;
	probe_all(s);
	char why[256];
	struct sim_check_cfg ccfg = { .keys = SIM_KEYS, .key_names = sim_keys, .clients_max = s->cfg.clients_max,
				      .session_expiry_cmds = s->cfg.session_expiry_cmds };
	unsigned v = sim_check_history(s->log, s->ops, s->n_ops, s->probes, s->n_probes, &ccfg, why, sizeof(why));
	if (v) {
		if (res->violations == 0)
			snprintf(res->violation, sizeof(res->violation), "%s", why);
		res->violations += v;
	}
	if (res->violations && trace && !o->verbose) {
		unsigned first = s->trace_n > SIM_TRACE_LINES ? s->trace_n - SIM_TRACE_LINES : 0;
		fprintf(trace, "seed %llu: trace (last %u lines):\n", (unsigned long long)o->seed, s->trace_n - first);
		for (unsigned k = first; k < s->trace_n; k++)
			fprintf(trace, "  %s\n", s->trace_ring[k % SIM_TRACE_LINES]);
	}
	/* teardown */
	for (size_t k = 0; k < s->n_ev; k++)
		if (s->heap[k].kind == EV_DELIVER || s->heap[k].kind == EV_REPLY)
			free(s->heap[k].data);
	free(s->heap);
	for (unsigned i = 0; i < o->nodes; i++) {
		struct snode *sn = &s->nodes[i];
		kbp_node_free(sn->kn);
		recs_clear(&sn->disk, 0);
		recs_clear(&sn->pend, 0);
		free(sn->disk.r);
		free(sn->pend.r);
		free(sn->snap);
	}
	sim_log_free(s->log);
	kbp_kv_free(s->scratch);
	free(s->probes);
	free(s->clients);
	free(s->ops);
	free(s);
}
