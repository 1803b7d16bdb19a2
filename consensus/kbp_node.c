/* SPDX-License-Identifier: MIT */
/* Node lifecycle, event entry points, and the output plumbing shared by all roles. */
#include <stdlib.h>
#include <string.h>

#include "kbp_node_impl.h"

void kbp_node_config_default(struct kbp_node_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nodes = 3;
	cfg->window = 64;
	cfg->batch_cmds_max = 64;
	cfg->batch_bytes_max = 8192;
	cfg->log_slots = 1024;
	cfg->queue_bytes = 1u << 20;
	cfg->clients_max = 4096;
	cfg->session_expiry_cmds = 1000000000;
	cfg->kv_keys_max = 65536;
	cfg->msg_bytes_max = 8192 + KBP_PENTRY_HDR_SIZE;
	cfg->apply_max = 1024;
	cfg->heartbeat_ns = 2 * 1000 * 1000ull;
	cfg->election_timeout_ns = 20 * 1000 * 1000ull;
	cfg->retransmit_ns = 5 * 1000 * 1000ull;
	cfg->backoff_max_shift = 4;
	cfg->leases = false;
	cfg->lease_ns = 10 * 1000 * 1000ull;
	cfg->max_drift_ppm = 1000;
	cfg->seed = 1;
}

int kbp_node_config_check(const struct kbp_node_config *c, const char **why)
{
#define KBP_REQUIRE(cond, msg)             \
	do {                               \
		if (!(cond)) {             \
			*why = msg;        \
			return -KBP_EINVAL; \
		}                          \
	} while (0)
	KBP_REQUIRE(c->nodes >= 1 && c->nodes <= KBP_NODES_MAX, "nodes: must be 1..7");
	KBP_REQUIRE(c->self < c->nodes, "self: must be below nodes");
	KBP_REQUIRE(c->window >= 1, "window: must be at least 1");
	KBP_REQUIRE(c->log_slots && (c->log_slots & (c->log_slots - 1)) == 0,
		    "log_slots: must be a power of two");
	KBP_REQUIRE(c->log_slots >= 2 * c->window, "log_slots: must be at least 2 * window");
	KBP_REQUIRE(c->batch_cmds_max >= 1, "batch_cmds_max: must be at least 1");
	KBP_REQUIRE(c->batch_bytes_max >= KBP_CMD_HDR_SIZE + KBP_KEY_MAX + 2 * KBP_VAL_MAX,
		    "batch_bytes_max: must hold one largest command (2176 bytes)");
	KBP_REQUIRE(c->msg_bytes_max >= c->batch_bytes_max + KBP_PENTRY_HDR_SIZE,
		    "msg_bytes_max: must be at least batch_bytes_max + 24");
	KBP_REQUIRE(c->queue_bytes >= c->batch_bytes_max, "queue_bytes: must be at least batch_bytes_max");
	KBP_REQUIRE(c->clients_max >= 1, "clients_max: must be at least 1");
	KBP_REQUIRE(c->kv_keys_max >= 1, "kv_keys_max: must be at least 1");
	KBP_REQUIRE(c->apply_max >= c->batch_cmds_max, "apply_max: must be at least batch_cmds_max");
	KBP_REQUIRE(c->heartbeat_ns > 0 && c->heartbeat_ns < c->election_timeout_ns,
		    "heartbeat: must be shorter than the election timeout");
	KBP_REQUIRE(c->retransmit_ns > 0, "retransmit: must be positive");
	KBP_REQUIRE(c->backoff_max_shift <= 16, "backoff_max_shift: must be 0..16");
	if (c->leases) {
		KBP_REQUIRE(c->max_drift_ppm < 100000, "max_drift_ppm: must be below 100000 (10%)");
		KBP_REQUIRE(c->heartbeat_ns * 4 <= c->lease_ns,
			    "lease: must be at least 4 heartbeats so renewals arrive before expiry");
	}
	return 0;
#undef KBP_REQUIRE
}

uint64_t kbp_rand(struct kbp_node *n)
{
	uint64_t x = n->rng;             /* xorshift64*: cheap, deterministic per seed */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	n->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

struct kbp_node *kbp_node_new(const struct kbp_node_config *cfg)
{
	const char *why;
	if (kbp_node_config_check(cfg, &why) < 0)
		return NULL;
	struct kbp_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->cfg = *cfg;
	n->majority = cfg->nodes / 2 + 1;
	n->rng = (cfg->seed ^ (0x9E3779B97F4A7C15ull * (cfg->self + 1))) | 1;
	n->log_mask = cfg->log_slots - 1;
	n->log = calloc(cfg->log_slots, sizeof(*n->log));
	n->values = malloc((size_t)cfg->log_slots * cfg->batch_bytes_max);
	struct kbp_kv_config kc = {
		.keys_max = cfg->kv_keys_max, .clients_max = cfg->clients_max,
		.session_expiry_cmds = cfg->session_expiry_cmds,
		.break_reexecute = (cfg->break_flags & KBP_BREAK_SESSION_REEXECUTE) != 0,
	};
	n->kv = kbp_kv_new(&kc);
	n->queue = malloc(cfg->queue_bytes);
	n->held_cap = cfg->log_slots * 2 + 16 * KBP_NODES_MAX;
	n->held = calloc(n->held_cap, sizeof(*n->held));
	/* Bound per flush: every in-window slot sent to every peer, plus control traffic. */
	n->out_cap = cfg->nodes * (cfg->window + 64) + n->held_cap + 64;
	n->out = calloc(n->out_cap, sizeof(*n->out));
	n->pq_cap = cfg->log_slots + 64;
	n->pq = calloc(n->pq_cap, sizeof(*n->pq));
	n->rep_cap = cfg->apply_max + cfg->batch_cmds_max + 256;
	n->rep = calloc(n->rep_cap, sizeof(*n->rep));
	n->rep_arena_cap = n->rep_cap * KBP_VAL_MAX;
	n->rep_arena = malloc(n->rep_arena_cap);
	n->arena_cap = cfg->msg_bytes_max * (2 * KBP_NODES_MAX);
	n->arena = malloc(n->arena_cap);
	if (n->kv)
		n->snap_bytes_max = kbp_kv_snapshot_bytes_max(n->kv);
	n->snap_out = malloc(n->snap_bytes_max ? n->snap_bytes_max : 1);
	n->snap_in = malloc(n->snap_bytes_max ? n->snap_bytes_max : 1);
	if (!n->log || !n->values || !n->kv || !n->queue || !n->held || !n->out || !n->pq ||
	    !n->rep || !n->rep_arena || !n->arena || !n->snap_out || !n->snap_in) {
		kbp_node_free(n);
		return NULL;
	}
	for (uint32_t i = 0; i < cfg->log_slots; i++) {
		n->log[i].slot = UINT64_MAX;
		n->log[i].value = n->values + (size_t)i * cfg->batch_bytes_max;
	}
	n->leader = KBP_LEADER_UNKNOWN;
	n->lease_holder = KBP_LEADER_UNKNOWN;
	n->persist_next_id = 1;
	return n;
}

void kbp_node_prefault(struct kbp_node *n)
{
	kbp_touch_pages(n->log, (size_t)n->cfg.log_slots * sizeof(*n->log));
	kbp_touch_pages(n->values, (size_t)n->cfg.log_slots * n->cfg.batch_bytes_max);
	kbp_touch_pages(n->queue, n->cfg.queue_bytes);
	kbp_touch_pages(n->held, n->held_cap * sizeof(*n->held));
	kbp_touch_pages(n->out, n->out_cap * sizeof(*n->out));
	kbp_touch_pages(n->pq, n->pq_cap * sizeof(*n->pq));
	kbp_touch_pages(n->rep, n->rep_cap * sizeof(*n->rep));
	kbp_touch_pages(n->rep_arena, n->rep_arena_cap);
	kbp_touch_pages(n->arena, n->arena_cap);
	kbp_kv_prefault(n->kv);
}

void kbp_node_free(struct kbp_node *n)
{
	if (!n)
		return;
	free(n->log);
	free(n->values);
	kbp_kv_free(n->kv);
	free(n->queue);
	free(n->held);
	free(n->out);
	free(n->pq);
	free(n->rep);
	free(n->rep_arena);
	free(n->arena);
	free(n->snap_out);
	free(n->snap_in);
	free(n);
}

/* ---- log ring ---------------------------------------------------------------------- */

struct kbp_entry *kbp_log_get(struct kbp_node *n, uint64_t slot)
{
	if (slot < n->log_base || slot - n->log_base > n->log_mask)
		return NULL;
	struct kbp_entry *e = &n->log[slot & n->log_mask];
	return e->slot == slot ? e : NULL;
}

/*
 * The entry for `slot`, creating it empty.  The ring may slide forward over applied
 * slots (chosen and in the state machine, so a snapshot covers them); NULL if the slot
 * lies below the ring or the ring cannot slide that far yet.
 */
struct kbp_entry *kbp_log_ensure(struct kbp_node *n, uint64_t slot)
{
	if (slot < n->log_base)
		return NULL;
	if (slot - n->log_base > n->log_mask) {
		uint64_t base = slot - n->log_mask;
		if (base > n->applied)
			return NULL;
		/*
		 * Recovery replays records in order and can slide the ring only as far as a
		 * commit hint already replayed allows, so the hint goes first.
		 */
		if (n->started && n->commit > n->commit_persisted) {
			if (!kbp_persist_room(n, 2))
				return NULL;
			kbp_persist_add(n, KBP_PERSIST_COMMIT, 0, n->commit, 0, NULL, 0);
			n->commit_persisted = n->commit;
		}
		n->log_base = base;
	}
	struct kbp_entry *e = &n->log[slot & n->log_mask];
	if (e->slot != slot) {
		uint8_t *v = e->value;
		memset(e, 0, sizeof(*e));
		e->slot = slot;
		e->value = v;
	}
	return e;
}

void kbp_entry_set_value(struct kbp_node *n, struct kbp_entry *e, uint32_t count,
			 const uint8_t *value, uint32_t len)
{
	assert(!e->chosen);              /* a chosen slot's value never changes */
	assert(len <= n->cfg.batch_bytes_max);
	if (value != e->value && len)
		memcpy(e->value, value, len);
	e->count = count;
	e->len = len;
	e->has_value = true;
	if (e->slot + 1 > n->log_top)
		n->log_top = e->slot + 1;
}

bool kbp_entry_same(const struct kbp_entry *e, uint32_t count, const uint8_t *value, uint32_t len)
{
	return e->has_value && e->count == count && e->len == len && (len == 0 || memcmp(e->value, value, len) == 0);
}

/* ---- outputs -------------------------------------------------------------------------- */

static void out_reset_if_flushed(struct kbp_node *n)
{
	if (!n->flushed)
		return;
	n->flushed = false;
	n->n_out = n->n_pq = n->n_rep = 0;
	n->rep_arena_used = n->arena_used = 0;
}

bool kbp_out_room(const struct kbp_node *n, uint32_t msgs) { return n->n_out + msgs <= n->out_cap; }

struct kbp_msg *kbp_out_msg(struct kbp_node *n, uint8_t type, unsigned to)
{
	if (n->n_out >= n->out_cap)
		return NULL;
	struct kbp_msg *m = &n->out[n->n_out++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = (uint8_t)n->cfg.self;
	m->to = (uint8_t)to;
	m->commit = n->commit;
	n->stats.msgs_out++;
	if (to < KBP_NODES_MAX)
		n->last_sent[to] = n->now;
	return m;
}

bool kbp_persist_room(const struct kbp_node *n, uint32_t reqs) { return n->n_pq + reqs <= n->pq_cap; }

uint64_t kbp_persist_add(struct kbp_node *n, uint8_t type, uint64_t ballot, uint64_t slot,
			 uint32_t count, const uint8_t *value, uint32_t len)
{
	assert(n->n_pq < n->pq_cap);      /* callers check kbp_persist_room first */
	struct kbp_persist *p = &n->pq[n->n_pq++];
	p->type = type;
	p->id = n->persist_next_id++;
	p->ballot = ballot;
	p->slot = slot;
	p->count = count;
	p->len = len;
	p->value = value;
	return p->id;
}

bool kbp_durable(const struct kbp_node *n, uint64_t id)
{
	return id <= n->durable_id || (n->cfg.break_flags & KBP_BREAK_PERSIST_BEFORE_REPLY);
}

void kbp_reply_add(struct kbp_node *n, const struct kbp_reply *r)
{
	if (n->n_rep >= n->rep_cap || n->rep_arena_used + r->val_len > n->rep_arena_cap)
		return;          /* the client retries with the same seq and gets the saved answer */
	struct kbp_reply *o = &n->rep[n->n_rep++];
	*o = *r;
	if (r->val_len) {
		o->val = n->rep_arena + n->rep_arena_used;
		memcpy(n->rep_arena + n->rep_arena_used, r->val, r->val_len);
		n->rep_arena_used += r->val_len;
	}
}

void kbp_reply_status(struct kbp_node *n, uint64_t client_id, uint64_t seq, uint8_t status)
{
	struct kbp_reply r = {
		.client_id = client_id,
		.seq = seq,
		.status = status,
		.leader = n->leader,
	};
	kbp_reply_add(n, &r);
}

void kbp_hold(struct kbp_node *n, const struct kbp_msg *m, uint64_t need_id)
{
	if (n->held_n == n->held_cap) {
		n->stats.msgs_stale++;       /* the sender retransmits */
		return;
	}
	struct kbp_held *h = &n->held[(n->held_head + n->held_n++) % n->held_cap];
	h->m = *m;
	h->m.payload = NULL;
	h->need_id = need_id;
}

/* ---- recovery --------------------------------------------------------------------------- */

/*
 * A commit hint is written after the chosen values below it are durable (they precede it
 * in the log), so every value we hold below the hint is the chosen one.
 */
static void restore_mark_chosen(struct kbp_node *n)
{
	while (n->commit < n->known_commit) {
		struct kbp_entry *e = kbp_log_get(n, n->commit);
		if (!e || !e->has_value)
			break;
		e->chosen = true;
		n->commit++;
	}
	n->commit_persisted = n->commit;
}

static void restore_apply(struct kbp_node *n)
{
	restore_mark_chosen(n);
	while (n->applied < n->commit) {
		uint64_t before = n->applied;
		kbp_learner_apply(n);
		assert(n->applied > before);
		(void)before;
	}
	n->more_work = false;
}

int kbp_node_restore_snapshot(struct kbp_node *n, const uint8_t *buf, uint32_t len)
{
	uint64_t upto;
	int r = kbp_kv_restore(n->kv, buf, len, &upto);
	if (r < 0)
		return r;
	n->applied = n->commit = n->log_base = n->log_top = upto;
	n->commit_persisted = upto;
	return 0;
}

int kbp_node_restore_promise(struct kbp_node *n, uint64_t ballot)
{
	if (!kbp_ballot_usable(ballot))
		return -KBP_EMALFORMED;  /* no node ever promises the reserved last round */
	if (ballot > n->promised)
		kbp_acceptor_raise_promise(n, ballot);
	return 0;
}

int kbp_node_restore_accept(struct kbp_node *n, uint64_t slot, uint64_t ballot, uint32_t count,
			    const uint8_t *value, uint32_t len)
{
	if (len > n->cfg.batch_bytes_max || kbp_batch_validate(value, len, count) < 0 ||
	    (ballot != KBP_BALLOT_CHOSEN && !kbp_ballot_usable(ballot)))
		return -KBP_EMALFORMED;
	if (slot < n->log_base)
		return 0;                /* covered by the snapshot */
	struct kbp_entry *e = kbp_log_ensure(n, slot);
	if (!e) {
		restore_apply(n);        /* apply the chosen prefix so the ring can slide */
		e = kbp_log_ensure(n, slot);
		if (!e)
			return -KBP_ERANGE;
	}
	if (e->chosen)
		return 0;
	kbp_entry_set_value(n, e, count, value, len);
	e->recorded = true;
	if (ballot == KBP_BALLOT_CHOSEN) {
		e->chosen = true;
	} else {
		e->ballot = ballot;
		if (ballot > n->promised)    /* accepting b implied promising b */
			kbp_acceptor_raise_promise(n, ballot);
	}
	return 0;
}

void kbp_node_restore_commit(struct kbp_node *n, uint64_t commit)
{
	if (commit > n->known_commit)
		n->known_commit = commit;
	restore_mark_chosen(n);
}

void kbp_node_start(struct kbp_node *n, uint64_t now_ns, bool restarted)
{
	n->now = now_ns;
	n->max_round_seen = kbp_ballot_round(n->promised);
	restore_mark_chosen(n);
	n->started = true;
	if (restarted && n->cfg.leases)
		n->restart_block_until = now_ns + n->cfg.lease_ns;
	n->last_heard = now_ns;
	kbp_election_timer_reset(n);
}

/* ---- events ----------------------------------------------------------------------------- */

static int node_on_client_req(struct kbp_node *n, const struct kbp_msg *m)
{
	uint32_t off = 0;
	for (uint32_t i = 0; i < m->count; i++) {
		struct kbp_cmd c;
		int r = kbp_cmd_decode(&c, m->payload + off, m->len - off);
		if (r < 0)
			return r;
		off += (uint32_t)r;
		kbp_proposer_submit(n, &c);
	}
	return 0;
}

/*
 * Ballots checked before anything reads the message (docs/PROTOCOL.md "Ballot rules").
 * PREPARE, ACCEPT and COMMIT carry the sender's own ballot; PROMISE, ACCEPTED, NACK and
 * COMMIT_ACK echo ours.  One naming another node can only be forged: the sender id is
 * checked against the frame's source at the boundary, and ballots are unique per node.
 * A ballot in round 0 or in the reserved last round was never created by anyone.  Ballot 0 in a
 * PREPARE or NACK is the promise query and its answer (kbp_rebuild.c).  The ballots of
 * other types are not trusted for anything and do not feed max_round_seen.
 */
static bool ballot_check(struct kbp_node *n, const struct kbp_msg *m)
{
	unsigned owner;
	switch (m->type) {
	case KBP_MSG_PREPARE:
	case KBP_MSG_ACCEPT:
	case KBP_MSG_COMMIT:
		owner = m->from;
		break;
	case KBP_MSG_NACK:
		if (!kbp_ballot_usable(m->aux))
			goto refused;
		/* fall through */
	case KBP_MSG_PROMISE:
	case KBP_MSG_ACCEPTED:
	case KBP_MSG_COMMIT_ACK:
		owner = n->cfg.self;
		break;
	default:
		return true;
	}
	if (m->ballot == 0 && (m->type == KBP_MSG_PREPARE || m->type == KBP_MSG_NACK))
		return true;
	if (kbp_ballot_round(m->ballot) == 0 || !kbp_ballot_usable(m->ballot))
		goto refused;            /* rounds start at 1 and end before the reserved one */
	if (kbp_ballot_node(m->ballot) != owner) {
		n->stats.ballots_forged++;
		return false;
	}
	if (owner == m->from)
		kbp_proposer_note_ballot(n, m->ballot);
	return true;
refused:
	n->stats.ballots_refused++;
	return false;
}

int kbp_node_recv(struct kbp_node *n, const struct kbp_msg *m, uint64_t now_ns)
{
	out_reset_if_flushed(n);
	n->now = now_ns;
	n->stats.msgs_in++;
	if (m->type != KBP_MSG_CLIENT_REQ &&
	    (m->from >= n->cfg.nodes || m->from == n->cfg.self || m->to != n->cfg.self)) {
		n->stats.msgs_bad++;
		return -KBP_EINVAL;
	}
	if (m->len && !m->payload) {
		n->stats.msgs_bad++;
		return -KBP_EINVAL;
	}
	if (!ballot_check(n, m))
		return -KBP_EINVAL;
	switch (m->type) {
	case KBP_MSG_PREPARE:
		kbp_acceptor_on_prepare(n, m);
		break;
	case KBP_MSG_PROMISE:
		kbp_proposer_on_promise(n, m);
		break;
	case KBP_MSG_NACK:
		kbp_proposer_on_nack(n, m);
		break;
	case KBP_MSG_ACCEPT:
		if (m->len > n->cfg.batch_bytes_max || kbp_batch_validate(m->payload, m->len, m->count) < 0)
			goto bad;
		kbp_acceptor_on_accept(n, m);
		break;
	case KBP_MSG_ACCEPTED:
		kbp_proposer_on_accepted(n, m);
		break;
	case KBP_MSG_COMMIT:
		kbp_acceptor_on_commit(n, m);
		break;
	case KBP_MSG_COMMIT_ACK:
		kbp_proposer_on_commit_ack(n, m);
		break;
	case KBP_MSG_CATCHUP_REQ:
	case KBP_MSG_SNAP_REQ:
		kbp_learner_on_catchup_req(n, m);
		break;
	case KBP_MSG_CATCHUP:
		if (m->len > n->cfg.batch_bytes_max || kbp_batch_validate(m->payload, m->len, m->count) < 0)
			goto bad;
		kbp_learner_on_catchup(n, m);
		break;
	case KBP_MSG_SNAPSHOT:
		kbp_learner_on_snapshot(n, m);
		break;
	case KBP_MSG_CLIENT_REQ:
		if (node_on_client_req(n, m) < 0)
			goto bad;
		break;
	default:
		goto bad;
	}
	return 0;
bad:
	n->stats.msgs_bad++;
	return -KBP_EMALFORMED;
}

int kbp_node_submit(struct kbp_node *n, const struct kbp_cmd *c, uint64_t now_ns)
{
	out_reset_if_flushed(n);
	n->now = now_ns;
	return kbp_proposer_submit(n, c);
}

void kbp_node_tick(struct kbp_node *n, uint64_t now_ns)
{
	out_reset_if_flushed(n);
	n->now = now_ns;
	if (n->role != KBP_ROLE_LEADER && now_ns >= n->election_deadline)
		kbp_proposer_start_election(n);
}

void kbp_node_persisted(struct kbp_node *n, uint64_t id, uint64_t now_ns)
{
	out_reset_if_flushed(n);
	n->now = now_ns;
	assert(id < n->persist_next_id);   /* the host cannot make durable what it was never given */
	if (id > n->durable_id)
		n->durable_id = id;
}

static uint64_t node_deadline(struct kbp_node *n)
{
	if (n->more_work)
		return n->now;
	uint64_t d = n->now + n->cfg.retransmit_ns;
	if (n->role != KBP_ROLE_LEADER && n->election_deadline < d)
		d = n->election_deadline;
	if (n->role == KBP_ROLE_LEADER) {
		for (unsigned p = 0; p < n->cfg.nodes; p++) {
			if (p != n->cfg.self && n->last_sent[p] + n->cfg.heartbeat_ns < d)
				d = n->last_sent[p] + n->cfg.heartbeat_ns;
		}
		if (n->cfg.leases && n->lease_until && n->lease_until < d)
			d = n->lease_until;
	}
	return d > n->now ? d : n->now;
}

void kbp_node_flush(struct kbp_node *n, uint64_t now_ns, struct kbp_update *out)
{
	out_reset_if_flushed(n);
	n->now = now_ns;
	n->more_work = false;
	kbp_acceptor_release_held(n);
	kbp_rebuild_flush(n);
	kbp_proposer_flush(n);
	kbp_learner_commit_advance(n);
	kbp_learner_apply(n);
	kbp_acceptor_stream_promises(n);
	kbp_learner_stream_catchup(n);
	if (n->commit > n->commit_persisted && kbp_persist_room(n, 1)) {
		kbp_persist_add(n, KBP_PERSIST_COMMIT, 0, n->commit, 0, NULL, 0);
		n->commit_persisted = n->commit;
	}
	out->msgs = n->out;
	out->n_msgs = n->n_out;
	out->persist = n->pq;
	out->n_persist = n->n_pq;
	out->replies = n->rep;
	out->n_replies = n->n_rep;
	out->deadline_ns = node_deadline(n);
	n->flushed = true;
}

/* ---- snapshots and status ----------------------------------------------------------------- */

uint32_t kbp_node_snapshot_bytes_max(const struct kbp_node *n) { return n->snap_bytes_max; }

int kbp_node_snapshot(struct kbp_node *n, uint8_t *buf, uint32_t cap, uint64_t *upto)
{
	int r = kbp_kv_snapshot(n->kv, n->applied, buf, cap);
	if (r >= 0)
		*upto = n->applied;
	return r;
}

const char *kbp_role_name(unsigned role)
{
	static const char *const names[] = { "follower", "candidate", "leader" };
	return role <= KBP_ROLE_LEADER ? names[role] : "?";
}

const char *kbp_msg_type_name(unsigned type)
{
	static const char *const names[] = {
		[KBP_MSG_PREPARE] = "PREPARE", [KBP_MSG_PROMISE] = "PROMISE",
		[KBP_MSG_NACK] = "NACK", [KBP_MSG_ACCEPT] = "ACCEPT",
		[KBP_MSG_ACCEPTED] = "ACCEPTED", [KBP_MSG_COMMIT] = "COMMIT",
		[KBP_MSG_COMMIT_ACK] = "COMMIT_ACK", [KBP_MSG_CATCHUP_REQ] = "CATCHUP_REQ",
		[KBP_MSG_CATCHUP] = "CATCHUP", [KBP_MSG_SNAP_REQ] = "SNAP_REQ",
		[KBP_MSG_SNAPSHOT] = "SNAPSHOT", [KBP_MSG_CLIENT_REQ] = "CLIENT_REQ",
		[KBP_MSG_CLIENT_REP] = "CLIENT_REP",
	};
	return type > 0 && type < KBP_MSG_TYPE_END ? names[type] : "?";
}

void kbp_node_get_status(const struct kbp_node *n, struct kbp_node_status *st)
{
	memset(st, 0, sizeof(*st));
	st->role = n->role;
	st->leader = n->leader;
	st->ballot = n->ballot;
	st->promised = n->promised;
	st->commit = n->commit;
	st->applied = n->applied;
	st->next_slot = n->next_slot;
	st->log_base = n->log_base;
	st->lease_until_ns = n->role == KBP_ROLE_LEADER ? n->lease_until : 0;
	st->persist_issued = n->persist_next_id - 1;
	st->persist_durable = n->durable_id;
	st->queue_bytes = n->q_tail - n->q_head;
	st->conflict_slot = n->conflict_slot;
	st->conflict_from = n->conflict_from;
	st->rebuild = (uint8_t)kbp_rebuild_stage(n);
	st->rebuild_floor = n->rb_floor;
	st->rebuild_ballot = n->rb_ballot;
	st->rebuild_target = n->rb_target;
	st->stats = n->stats;
}
