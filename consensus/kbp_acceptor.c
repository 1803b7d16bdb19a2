/* SPDX-License-Identifier: MIT */
/*
 * The acceptor ("Paxos Made Simple" §2.2, phase 1b and 2b) with master-lease grants.
 * Every reply that depends on new acceptor state waits in the held queue until the
 * persist request that records the state is durable.
 */
#include <string.h>

#include "kbp_node_impl.h"

static bool forget_promise(const struct kbp_node *n)
{
	return n->cfg.break_flags & KBP_BREAK_FORGET_PROMISE;
}

void kbp_nack(struct kbp_node *n, const struct kbp_msg *m)
{
	struct kbp_msg *r = kbp_out_msg(n, KBP_MSG_NACK, m->from);
	if (!r)
		return;
	r->ballot = m->ballot;
	r->slot = m->slot;
	r->aux = n->promised;
}

/*
 * A granted lease is a promise not to promise or accept anyone else's ballot until it
 * ends on our clock.  After a restart we may have forgotten a grant, so we wait a whole
 * lease period before promising anything.
 */
bool kbp_acceptor_may_promise(const struct kbp_node *n, unsigned from)
{
	if (n->now < n->restart_block_until)
		return false;
	if (n->cfg.leases && n->lease_holder != KBP_LEADER_UNKNOWN && from != n->lease_holder &&
	    n->now < n->lease_expire_ns)
		return false;
	return true;
}

/*
 * Every write of `promised` goes through here: a promise only ever grows ("Paxos Made
 * Simple" §2.2: an acceptor never accepts below what it promised, so forgetting a
 * higher promise could un-choose a value), and never reaches the reserved last round.
 */
void kbp_acceptor_raise_promise(struct kbp_node *n, uint64_t ballot)
{
	assert(ballot >= n->promised);
	assert(kbp_ballot_usable(ballot));
	n->promised = ballot;
}

void kbp_acceptor_promise_self(struct kbp_node *n, uint64_t ballot)
{
	kbp_acceptor_raise_promise(n, ballot);
	n->promise_pid = kbp_persist_add(n, KBP_PERSIST_PROMISE, ballot, 0, 0, NULL, 0);
}

void kbp_acceptor_on_prepare(struct kbp_node *n, const struct kbp_msg *m)
{
	uint64_t b = m->ballot;

	if (b == 0) {
		kbp_nack(n, m);          /* a promise query (kbp_rebuild.c): "what have you promised?" */
		return;
	}
	if (n->rebuilding)
		return;                  /* a non-voting learner promises nothing */
	if (!kbp_acceptor_may_promise(n, m->from) || (b < n->promised && !forget_promise(n))) {
		kbp_nack(n, m);
		return;
	}
	if (b > n->promised) {
		if (!kbp_persist_room(n, 1)) {
			n->stats.msgs_stale++;   /* the proposer retransmits */
			return;
		}
		if (n->role != KBP_ROLE_FOLLOWER)
			kbp_proposer_step_down(n, b);
		kbp_acceptor_promise_self(n, b);
	}
	/* Give the candidate a full election timeout before competing with it. */
	kbp_election_timer_reset(n);
	struct kbp_stream *st = &n->pstream[m->from];
	st->kind = KBP_MSG_PROMISE;
	st->ballot = b;
	st->next = m->slot;
	st->end = 0;
	st->need_id = n->promise_pid;
}

/*
 * Answer a lease request.  The grant is not acceptor state that needs the disk (a
 * restart waits out any lease it may have granted), so it leaves at once on a
 * COMMIT_ACK rather than behind the held ACCEPTED: a slow disk write must not let a busy
 * leader's lease lapse.  While a restart wait lasts we answer but grant nothing.
 */
static void lease_grant(struct kbp_node *n, const struct kbp_msg *m)
{
	if (!n->cfg.leases || !(m->flags & KBP_MF_LEASE_REQ) || n->rebuilding)
		return;
	struct kbp_msg *r = kbp_out_msg(n, KBP_MSG_COMMIT_ACK, m->from);
	if (!r)
		return;
	r->ballot = m->ballot;
	if (n->now < n->restart_block_until)
		return;
	n->lease_holder = m->from;
	n->lease_expire_ns = n->now + n->cfg.lease_ns;
	r->flags |= KBP_MF_LEASE_GRANT;
	r->lease_stamp = m->lease_stamp;
}

/* A message from a leader at ballot b >= promised: remember it and stop competing. */
static void follow(struct kbp_node *n, const struct kbp_msg *m)
{
	if (n->role != KBP_ROLE_FOLLOWER)
		kbp_proposer_step_down(n, m->ballot);
	n->leader = m->from;
	n->last_heard = n->now;
	kbp_election_timer_reset(n);
}

void kbp_acceptor_on_accept(struct kbp_node *n, const struct kbp_msg *m)
{
	uint64_t b = m->ballot;
	struct kbp_msg reply = {
		.type = KBP_MSG_ACCEPTED,
		.from = (uint8_t)n->cfg.self,
		.to = m->from,
		.ballot = b,
		.slot = m->slot,
	};

	if (n->rebuilding) {
		kbp_rebuild_on_leader(n, m);     /* learns from it, votes nothing */
		return;
	}
	if (!forget_promise(n)) {
		if (b < n->promised || (b > n->promised && !kbp_acceptor_may_promise(n, m->from))) {
			kbp_nack(n, m);
			return;
		}
	}
	follow(n, m);
	struct kbp_entry *e = kbp_log_ensure(n, m->slot);
	if (!e) {
		if (m->slot < n->log_base) {
			/* Already chosen and applied here; the leader's value is the chosen one. */
			lease_grant(n, m);
			kbp_hold(n, &reply, 0);
		} else {
			n->stats.msgs_stale++;       /* ring full of unapplied slots: catch up first */
		}
		kbp_learner_learn(n, b, m->commit, m->from);
		return;
	}
	if (e->chosen) {
		/* A leader re-proposes a chosen slot only with the chosen value; never vouch for another. */
		if (!kbp_entry_same(e, m->count, m->payload, m->len)) {
			kbp_learner_conflict(n, m->slot, m->from);
			return;
		}
		lease_grant(n, m);
		kbp_hold(n, &reply, 0);
	} else if (e->has_value && e->ballot == b) {
		lease_grant(n, m);
		kbp_hold(n, &reply, e->persist_id);    /* duplicate: answer once the first write lands */
	} else {
		if (!kbp_persist_room(n, 1)) {
			n->stats.msgs_stale++;
			return;
		}
		if (b > n->promised)       /* accepting b promises b; the accept record makes it durable */
			kbp_acceptor_raise_promise(n, b);
		kbp_entry_set_value(n, e, m->count, m->payload, m->len);
		e->ballot = b;
		e->recorded = true;
		e->persist_id = kbp_persist_add(n, KBP_PERSIST_ACCEPT, b, m->slot, m->count, e->value, m->len);
		lease_grant(n, m);
		kbp_hold(n, &reply, e->persist_id);
	}
	kbp_learner_learn(n, b, m->commit, m->from);
}

void kbp_acceptor_on_commit(struct kbp_node *n, const struct kbp_msg *m)
{
	uint64_t b = m->ballot;

	if (n->rebuilding) {
		kbp_rebuild_on_leader(n, m);
		return;
	}
	if (b < n->promised || (b > n->promised && !kbp_acceptor_may_promise(n, m->from))) {
		kbp_nack(n, m);
		return;
	}
	follow(n, m);
	lease_grant(n, m);
	kbp_learner_learn(n, b, m->commit, m->from);
}

void kbp_acceptor_release_held(struct kbp_node *n)
{
	while (n->held_n > 0) {
		struct kbp_held *h = &n->held[n->held_head];
		if (!kbp_durable(n, h->need_id))
			break;
		struct kbp_msg *m = kbp_out_msg(n, h->m.type, h->m.to);
		if (!m) {
			n->more_work = true;
			break;
		}
		*m = h->m;
		m->commit = n->commit;
		n->held_head = (n->held_head + 1) % n->held_cap;
		n->held_n--;
	}
}

/*
 * Promise chunk: entries (slot, ballot, count, len, bytes) for every slot at or above
 * the prepare's first slot that holds a value, KBP_BALLOT_CHOSEN for known-chosen ones.
 */
static uint32_t pentry_put(uint8_t *p, const struct kbp_entry *e)
{
	kbp_le64_store(p, e->slot);
	kbp_le64_store(p + 8, e->chosen ? KBP_BALLOT_CHOSEN : e->ballot);
	kbp_le32_store(p + 16, e->count);
	kbp_le32_store(p + 20, e->len);
	memcpy(p + KBP_PENTRY_HDR_SIZE, e->value, e->len);
	uint32_t size = KBP_PENTRY_HDR_SIZE + kbp_pad8(e->len);
	memset(p + KBP_PENTRY_HDR_SIZE + e->len, 0, size - KBP_PENTRY_HDR_SIZE - e->len);
	return size;
}

static bool promise_chunk(struct kbp_node *n, unsigned to, struct kbp_stream *st)
{
	uint32_t cap = n->cfg.msg_bytes_max;
	if (n->arena_used + cap > n->arena_cap || !kbp_out_room(n, 1))
		return false;
	uint8_t *buf = n->arena + n->arena_used;
	uint64_t lo = st->next < n->log_base ? n->log_base : st->next;
	uint64_t s = lo;
	uint32_t len = 0, count = 0;
	for (; s < n->log_top; s++) {
		const struct kbp_entry *e = kbp_log_get(n, s);
		if (!e || !e->has_value)
			continue;
		uint32_t size = KBP_PENTRY_HDR_SIZE + kbp_pad8(e->len);
		if (len + size > cap)
			break;
		len += pentry_put(buf + len, e);
		count++;
	}
	struct kbp_msg *m = kbp_out_msg(n, KBP_MSG_PROMISE, to);
	m->ballot = st->ballot;
	m->slot = lo;
	m->aux = s;
	m->count = count;
	m->len = len;
	m->payload = buf;
	n->arena_used += len;
	if (s >= n->log_top) {
		m->flags |= KBP_MF_LAST;
		st->kind = 0;
	}
	st->next = s;
	return true;
}

void kbp_acceptor_stream_promises(struct kbp_node *n)
{
	for (unsigned p = 0; p < n->cfg.nodes; p++) {
		struct kbp_stream *st = &n->pstream[p];
		if (st->kind != KBP_MSG_PROMISE || !kbp_durable(n, st->need_id))
			continue;
		if (st->ballot != n->promised && !forget_promise(n)) {
			st->kind = 0;        /* superseded by a higher promise */
			continue;
		}
		while (st->kind == KBP_MSG_PROMISE) {
			if (!promise_chunk(n, p, st)) {
				n->more_work = true;
				break;
			}
		}
	}
}
