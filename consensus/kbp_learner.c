/* SPDX-License-Identifier: MIT */
/*
 * The learner: knows the chosen prefix (commit index), applies it in slot order to the
 * state machine, fetches slots it lacks from a peer (catch-up), and installs a
 * snapshot when the peer no longer retains them.
 */
#include <string.h>

#include "kbp_node_impl.h"

#define KBP_STREAM_MSGS_PER_FLUSH 64u

void kbp_node_set_apply_observer(struct kbp_node *n, kbp_apply_fn fn, void *arg)
{
	n->observer = fn;
	n->observer_arg = arg;
}

void kbp_learner_commit_advance(struct kbp_node *n)
{
	for (;;) {
		struct kbp_entry *e = kbp_log_get(n, n->commit);
		if (!e || !e->chosen)
			break;
		n->commit++;
	}
	if (n->commit > n->known_commit)
		n->known_commit = n->commit;
}

static void catchup_request(struct kbp_node *n, unsigned from)
{
	bool snapshot_flowing = n->snap_in_len > 0 && n->snap_in_len < n->snap_in_total &&
				n->now - n->snap_in_last_ns < 4 * n->cfg.retransmit_ns;
	if (n->now < n->catchup_at || snapshot_flowing || from >= n->cfg.nodes || from == n->cfg.self)
		return;
	struct kbp_msg *m = kbp_out_msg(n, KBP_MSG_CATCHUP_REQ, from);
	if (!m)
		return;
	m->slot = n->commit;
	m->aux = n->known_commit;
	n->catchup_at = n->now + n->cfg.retransmit_ns;
	n->stats.catchups++;
}

/*
 * The leader at ballot b says every slot below `commit` is chosen.  A slot we accepted
 * at b holds the value b proposed, which is the chosen one; any other slot is a gap.
 */
void kbp_learner_learn(struct kbp_node *n, uint64_t ballot, uint64_t commit, unsigned from)
{
	if (commit > n->known_commit)
		n->known_commit = commit;
	while (n->commit < commit) {
		struct kbp_entry *e = kbp_log_get(n, n->commit);
		/* Only a recorded value: a commit hint will vouch for it after a restart. */
		if (!e || !(e->chosen || (e->has_value && e->recorded && e->ballot == ballot)))
			break;
		e->chosen = true;
		n->commit++;
	}
	kbp_learner_commit_advance(n);
	if (n->commit < n->known_commit)
		catchup_request(n, from);
}

static void apply_entry(struct kbp_node *n, const struct kbp_entry *e)
{
	bool leader = n->role == KBP_ROLE_LEADER;
	uint32_t off = 0;

	if (n->observer)
		n->observer(n->observer_arg, e->slot, e->count, e->value, e->len);
	for (uint32_t i = 0; i < e->count; i++) {
		struct kbp_cmd c;
		struct kbp_reply r;
		int size = kbp_cmd_decode(&c, e->value + off, e->len - off);
		assert(size > 0);            /* batches are validated before they enter the log */
		off += (uint32_t)size;
		if (c.op == KBP_OP_NOOP)
			continue;
		/* A retry that reached the log twice is answered but applied (and counted) once. */
		if (kbp_kv_apply(n->kv, &c, &r))
			n->stats.cmds_applied++;
		if (leader) {
			r.leader = (uint8_t)n->cfg.self;
			kbp_reply_add(n, &r);
		}
	}
}

void kbp_learner_apply(struct kbp_node *n)
{
	uint32_t cmds = 0;
	while (n->applied < n->commit) {
		struct kbp_entry *e = kbp_log_get(n, n->applied);
		assert(e && e->chosen);      /* the ring never slides over unapplied slots */
		if (cmds + e->count > n->cfg.apply_max) {
			n->more_work = true;
			return;
		}
		apply_entry(n, e);
		cmds += e->count;
		n->applied++;
	}
}

void kbp_learner_on_catchup_req(struct kbp_node *n, const struct kbp_msg *m)
{
	struct kbp_stream *st = &n->cstream[m->from];
	if (st->kind == KBP_MSG_SNAPSHOT)
		return;                      /* already sending what it needs */
	st->kind = KBP_MSG_CATCHUP;
	st->next = m->type == KBP_MSG_SNAP_REQ ? 0 : m->slot;
	st->end = m->type == KBP_MSG_SNAP_REQ ? 1 : m->aux;
}

/*
 * A peer's value contradicts one we hold as chosen.  Paxos allows one chosen value per
 * slot, so one of us is broken or the message is forged: keep ours, never overwrite,
 * and let the host see it (status.conflict_slot, logged by the daemon).
 */
void kbp_learner_conflict(struct kbp_node *n, uint64_t slot, unsigned from)
{
	n->stats.chosen_conflicts++;
	n->conflict_slot = slot;
	n->conflict_from = (uint8_t)from;
}

/*
 * A slot the sender says is chosen.  We asked only for slots below the highest commit
 * index we had heard (catchup_request), and the sender's own commit index must cover
 * it: anything else is a claim nobody backed, and it would mark a slot chosen that no
 * leader has even proposed yet (issue 12's forged CATCHUP).
 */
void kbp_learner_on_catchup(struct kbp_node *n, const struct kbp_msg *m)
{
	if (m->slot >= n->known_commit || m->slot >= m->commit) {
		n->stats.catchups_refused++;
		return;
	}
	struct kbp_entry *e = kbp_log_ensure(n, m->slot);
	if (!e)
		return;
	if (e->chosen) {
		if (!kbp_entry_same(e, m->count, m->payload, m->len))
			kbp_learner_conflict(n, m->slot, m->from);
		return;
	}
	if (!kbp_persist_room(n, 1)) {
		n->stats.msgs_stale++;
		return;
	}
	kbp_entry_set_value(n, e, m->count, m->payload, m->len);
	e->chosen = true;
	e->recorded = true;
	e->ballot = m->ballot;
	e->persist_id = kbp_persist_add(n, KBP_PERSIST_ACCEPT, KBP_BALLOT_CHOSEN, m->slot, m->count,
					e->value, m->len);
	if (m->commit > n->known_commit)
		n->known_commit = m->commit;
	kbp_learner_commit_advance(n);
}

void kbp_learner_on_snapshot(struct kbp_node *n, const struct kbp_msg *m)
{
	uint64_t total = m->count, off = m->aux;
	n->snap_in_last_ns = n->now;
	if (total > n->snap_bytes_max || off > total || m->len > total - off) {
		n->stats.msgs_bad++;
		return;
	}
	if (m->slot > m->commit) {
		n->stats.catchups_refused++;     /* covers slots its sender does not know are chosen */
		return;
	}
	if (m->slot <= n->applied)
		return;
	if (m->slot != n->snap_in_upto || off == 0) {
		if (off != 0)
			return;
		n->snap_in_upto = m->slot;
		n->snap_in_len = 0;
		n->snap_in_total = (uint32_t)total;
	}
	if (off != n->snap_in_len)
		return;                      /* a chunk went missing; the next request restarts it */
	memcpy(n->snap_in + n->snap_in_len, m->payload, m->len);
	n->snap_in_len += m->len;
	if (n->snap_in_len < n->snap_in_total)
		return;
	uint64_t upto;
	if (!kbp_persist_room(n, 1) || kbp_kv_restore(n->kv, n->snap_in, n->snap_in_len, &upto) < 0 ||
	    upto != n->snap_in_upto) {
		n->stats.msgs_bad++;
		n->snap_in_len = n->snap_in_total = 0;
		n->snap_in_upto = 0;
		return;
	}
	kbp_persist_add(n, KBP_PERSIST_SNAPSHOT, 0, upto, 0, n->snap_in, n->snap_in_len);
	n->applied = upto;
	if (n->commit < upto)
		n->commit = upto;
	if (n->log_base < upto)
		n->log_base = upto;
	if (n->log_top < upto)
		n->log_top = upto;
	if (n->known_commit < upto)
		n->known_commit = upto;
	n->snap_in_len = n->snap_in_total = 0;
	n->stats.snapshots_installed++;
	kbp_learner_commit_advance(n);
}

static void snapshot_take(struct kbp_node *n)
{
	int len = kbp_kv_snapshot(n->kv, n->applied, n->snap_out, n->snap_bytes_max);
	assert(len > 0);                     /* sized by kbp_kv_snapshot_bytes_max */
	n->snap_out_len = (uint32_t)len;
	n->snap_out_upto = n->applied;
	for (unsigned p = 0; p < n->cfg.nodes; p++) {
		if (n->cstream[p].kind == KBP_MSG_SNAPSHOT)
			n->cstream[p].next = 0;  /* restart transfers of the older snapshot */
	}
}

static void stream_snapshot(struct kbp_node *n, unsigned to, struct kbp_stream *st)
{
	if (st->next == 0 && (n->snap_out_len == 0 || n->snap_out_upto < n->log_base)) {
		snapshot_take(n);
		n->stats.snapshots_sent++;
	}
	for (uint32_t i = 0; i < KBP_STREAM_MSGS_PER_FLUSH; i++) {
		if (!kbp_out_room(n, 1)) {
			n->more_work = true;
			return;
		}
		uint32_t off = (uint32_t)st->next;
		uint32_t len = n->snap_out_len - off;
		if (len > n->cfg.msg_bytes_max)
			len = n->cfg.msg_bytes_max;
		struct kbp_msg *m = kbp_out_msg(n, KBP_MSG_SNAPSHOT, to);
		m->slot = n->snap_out_upto;
		m->aux = off;
		m->count = n->snap_out_len;
		m->len = len;
		m->payload = n->snap_out + off;
		st->next += len;
		if (st->next >= n->snap_out_len) {
			m->flags |= KBP_MF_LAST;
			st->kind = 0;
			return;
		}
	}
	n->more_work = true;
}

void kbp_learner_stream_catchup(struct kbp_node *n)
{
	for (unsigned p = 0; p < n->cfg.nodes; p++) {
		struct kbp_stream *st = &n->cstream[p];
		if (st->kind == KBP_MSG_CATCHUP && st->next < n->log_base) {
			st->kind = KBP_MSG_SNAPSHOT;
			st->next = 0;
		}
		if (st->kind == KBP_MSG_SNAPSHOT) {
			stream_snapshot(n, p, st);
			continue;
		}
		if (st->kind != KBP_MSG_CATCHUP)
			continue;
		for (uint32_t i = 0; i < KBP_STREAM_MSGS_PER_FLUSH && st->next < st->end; i++) {
			struct kbp_entry *e = kbp_log_get(n, st->next);
			if (!e || !e->chosen)
				break;
			struct kbp_msg *m = kbp_out_msg(n, KBP_MSG_CATCHUP, p);
			if (!m) {
				n->more_work = true;
				return;
			}
			m->ballot = e->ballot;
			m->slot = e->slot;
			m->count = e->count;
			m->len = e->len;
			m->payload = e->value;
			st->next++;
		}
		struct kbp_entry *e = kbp_log_get(n, st->next);
		if (st->next >= st->end || !e || !e->chosen)
			st->kind = 0;
		else
			n->more_work = true;
	}
}
