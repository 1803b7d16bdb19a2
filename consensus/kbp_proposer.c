/* SPDX-License-Identifier: MIT */
/*
 * The proposer / distinguished leader ("Paxos Made Simple" §3, "Paxos Made Live" §5):
 * one phase 1 for every slot from the first unchosen one, re-proposal of the values the
 * promises carried, no-ops for holes, then pipelined, batched phase 2.  Elections use
 * randomized, exponentially backed-off retries; master leases ride on ACCEPT/COMMIT.
 */
#include <string.h>

#include "kbp_node_impl.h"

void kbp_proposer_note_ballot(struct kbp_node *n, uint64_t ballot)
{
	if (kbp_ballot_usable(ballot) && kbp_ballot_round(ballot) > n->max_round_seen)
		n->max_round_seen = kbp_ballot_round(ballot);
}

static uint64_t jitter(struct kbp_node *n, uint64_t span)
{
	return span ? kbp_rand(n) % span : 0;
}

void kbp_election_timer_reset(struct kbp_node *n)
{
	uint64_t t = n->cfg.election_timeout_ns;
	n->election_deadline = n->now + t + jitter(n, t);
}

static void queue_reject_all(struct kbp_node *n)
{
	uint32_t off = n->q_head;
	while (off < n->q_tail) {
		struct kbp_cmd c;
		int r = kbp_cmd_decode(&c, n->queue + off, n->q_tail - off);
		assert(r > 0);               /* validated when queued */
		kbp_reply_status(n, c.client_id, c.seq, KBP_ST_NOT_LEADER);
		off += (uint32_t)r;
	}
	n->q_head = n->q_tail = n->q_cmds = 0;
}

void kbp_proposer_step_down(struct kbp_node *n, uint64_t seen_ballot)
{
	if (n->role == KBP_ROLE_FOLLOWER)
		return;
	if (n->role == KBP_ROLE_LEADER)
		n->stats.leader_changes++;
	n->role = KBP_ROLE_FOLLOWER;
	n->leader = KBP_LEADER_UNKNOWN;
	if (seen_ballot && seen_ballot != KBP_BALLOT_CHOSEN && kbp_ballot_node(seen_ballot) != n->cfg.self)
		n->leader = (uint8_t)kbp_ballot_node(seen_ballot);
	n->lease_until = 0;
	queue_reject_all(n);
	kbp_election_timer_reset(n);
}

void kbp_proposer_start_election(struct kbp_node *n)
{
	unsigned self = n->cfg.self;
	uint64_t round = n->max_round_seen;
	if (kbp_ballot_round(n->promised) > round)
		round = kbp_ballot_round(n->promised);
	uint64_t ballot = kbp_ballot_next(round, self);

	if (n->rebuilding || !ballot) {
		if (!ballot)
			n->stats.ballots_exhausted++;    /* saturated: no ballot above round exists */
		kbp_election_timer_reset(n);             /* a non-voting learner never runs */
		return;
	}
	if (!kbp_acceptor_may_promise(n, self) || !kbp_persist_room(n, 1)) {
		/* A lease we granted (or may have granted before a restart) still binds us. */
		uint64_t until = n->restart_block_until > n->lease_expire_ns ? n->restart_block_until
									      : n->lease_expire_ns;
		n->election_deadline = (until > n->now ? until : n->now) + jitter(n, n->cfg.election_timeout_ns);
		return;
	}
	n->role = KBP_ROLE_CANDIDATE;
	n->leader = KBP_LEADER_UNKNOWN;
	n->stats.elections++;
	n->ballot = ballot;
	n->max_round_seen = kbp_ballot_round(ballot);
	kbp_acceptor_promise_self(n, n->ballot);
	n->promise_done = 0;
	for (unsigned p = 0; p < KBP_NODES_MAX; p++)
		n->cover_next[p] = n->commit;
	n->recover_top = n->commit;
	/*
	 * The PREPAREs leave from kbp_proposer_flush() once our own promise is durable: a
	 * ballot that any peer has seen then survives our crash, so a restarted node never
	 * issues the same ballot twice, and a rebuilding node's peers report promises that
	 * cover every ballot anyone acted on (the argument in kbp_rebuild.c needs this).
	 */
	n->prepare_out = false;
	n->prepare_sent_ns = n->now;
	/* Randomized, exponentially growing backoff so duelling proposers drift apart. */
	uint64_t span = n->cfg.election_timeout_ns << n->attempt;
	n->election_deadline = n->now + span + jitter(n, span);
	if (n->attempt < n->cfg.backoff_max_shift)
		n->attempt++;
}

/* Merge one reported (slot, ballot, value) into our log: highest ballot wins, chosen wins all. */
static bool merge_entry(struct kbp_node *n, unsigned from, uint64_t slot, uint64_t ballot, uint32_t count,
			const uint8_t *value, uint32_t len)
{
	if (len > n->cfg.batch_bytes_max || kbp_batch_validate(value, len, count) < 0)
		return false;
	struct kbp_entry *e = kbp_log_ensure(n, slot);
	if (!e)
		return slot < n->log_base;   /* below the ring: already applied here */
	if (e->chosen) {
		if (ballot == KBP_BALLOT_CHOSEN && !kbp_entry_same(e, count, value, len))
			kbp_learner_conflict(n, slot, from);
		return true;
	}
	if (ballot == KBP_BALLOT_CHOSEN) {
		/* Durable as chosen: a later commit hint in our log will vouch for this value. */
		if (!kbp_persist_room(n, 1))
			return false;
		kbp_entry_set_value(n, e, count, value, len);
		e->chosen = true;
		e->recorded = true;
		e->persist_id = kbp_persist_add(n, KBP_PERSIST_ACCEPT, KBP_BALLOT_CHOSEN, slot, count,
						e->value, len);
	} else if (!e->has_value || ballot > e->ballot) {
		/*
		 * Adopting a higher-ballot acceptance while our own promise is the highest
		 * keeps safety: the value was proposed at that ballot, and the highest
		 * ballot we report per slot only grows (see docs/PROTOCOL.md).
		 */
		kbp_entry_set_value(n, e, count, value, len);
		e->ballot = ballot;
		e->recorded = false;
	}
	if (slot + 1 > n->recover_top)
		n->recover_top = slot + 1;
	return true;
}

void kbp_proposer_on_promise(struct kbp_node *n, const struct kbp_msg *m)
{
	unsigned a = m->from;
	if (n->role != KBP_ROLE_CANDIDATE || m->ballot != n->ballot || (n->promise_done & KBP_BIT(a)))
		return;
	if (m->slot != n->cover_next[a]) {
		if (m->slot > n->cover_next[a] && n->now >= n->catchup_at) {
			/* The acceptor truncated slots we lack: fetch its snapshot first. */
			struct kbp_msg *r = kbp_out_msg(n, KBP_MSG_SNAP_REQ, a);
			if (r)
				r->slot = n->commit;
			n->catchup_at = n->now + n->cfg.retransmit_ns;
		}
		return;
	}
	uint32_t off = 0;
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->len - off < KBP_PENTRY_HDR_SIZE)
			goto bad;
		const uint8_t *p = m->payload + off;
		uint64_t slot = kbp_le64_load(p), ballot = kbp_le64_load(p + 8);
		uint32_t count = kbp_le32_load(p + 16), len = kbp_le32_load(p + 20);
		if (len > m->len - off - KBP_PENTRY_HDR_SIZE || slot < m->slot || slot >= m->aux)
			goto bad;
		/* Until we lead, nothing is accepted at our ballot: an acceptor reports lower ones. */
		if (ballot != KBP_BALLOT_CHOSEN && ballot >= m->ballot)
			goto bad;
		if (!merge_entry(n, a, slot, ballot, count, p + KBP_PENTRY_HDR_SIZE, len)) {
			n->stats.msgs_stale++;
			return;
		}
		off += KBP_PENTRY_HDR_SIZE + kbp_pad8(len);
		if (off > m->len)
			goto bad;
	}
	n->cover_next[a] = m->aux;
	if (m->flags & KBP_MF_LAST)
		n->promise_done |= KBP_BIT(a);
	return;
bad:
	n->stats.msgs_bad++;
}

static void send_accept(struct kbp_node *n, struct kbp_entry *e, unsigned to)
{
	struct kbp_msg *m = kbp_out_msg(n, KBP_MSG_ACCEPT, to);
	if (!m) {
		n->more_work = true;
		return;
	}
	m->ballot = n->ballot;
	m->slot = e->slot;
	m->aux = n->term_start;          /* a rebuilding node waits until it holds every slot below */
	m->count = e->count;
	m->len = e->len;
	m->payload = e->value;
	if (n->cfg.leases) {
		m->flags |= KBP_MF_LEASE_REQ;
		m->lease_stamp = n->now;
	}
}

static void send_accept_all(struct kbp_node *n, struct kbp_entry *e)
{
	for (unsigned p = 0; p < n->cfg.nodes; p++) {
		if (p != n->cfg.self && !(e->acks & KBP_BIT(p)))
			send_accept(n, e, p);
	}
	e->sent_ns = n->now;
}

/* Our own acceptance of `e` at our ballot, counted once it is durable. */
static bool self_accept(struct kbp_node *n, struct kbp_entry *e)
{
	assert(!e->chosen);              /* a chosen slot keeps its value and its acceptance */
	if (!kbp_persist_room(n, 1))
		return false;
	e->ballot = n->ballot;
	e->acks = 0;
	e->chosen = false;
	e->recorded = true;
	e->sent_ns = 0;
	e->persist_id = kbp_persist_add(n, KBP_PERSIST_ACCEPT, n->ballot, e->slot, e->count, e->value, e->len);
	return true;
}

static void become_leader(struct kbp_node *n)
{
	uint64_t top = n->recover_top > n->log_top ? n->recover_top : n->log_top;
	if (top < n->commit)
		top = n->commit;
	if (!kbp_persist_room(n, (uint32_t)(top - n->commit))) {
		n->more_work = true;         /* finish the takeover in the next flush */
		return;
	}
	n->role = KBP_ROLE_LEADER;
	n->leader = (uint8_t)n->cfg.self;
	n->attempt = 0;
	n->stats.leader_changes++;
	n->term_start_ns = n->now;
	n->lease_until = 0;
	n->lease_ever = false;
	memset(n->grant_stamp, 0, sizeof(n->grant_stamp));
	/* Re-propose every unchosen slot at our ballot: the highest-ballot value, else a no-op. */
	for (uint64_t s = n->commit; s < top; s++) {
		struct kbp_entry *e = kbp_log_ensure(n, s);
		assert(e);                   /* merged entries fit the ring, holes lie between them */
		if (e->chosen)
			continue;
		if (!e->has_value) {
			struct kbp_cmd noop = { .op = KBP_OP_NOOP };
			int len = kbp_cmd_encode(&noop, e->value, n->cfg.batch_bytes_max);
			assert(len > 0);
			kbp_entry_set_value(n, e, 1, e->value, (uint32_t)len);
		}
		bool ok = self_accept(n, e);
		assert(ok);
		(void)ok;
	}
	n->next_slot = top;
	n->term_start = top;
	n->self_ack_cursor = n->commit;
	n->retransmit_at = n->now;       /* send the re-proposals in this flush */
	for (unsigned p = 0; p < n->cfg.nodes; p++)
		n->last_sent[p] = 0;         /* announce ourselves at once */
}

static void entry_ack(struct kbp_node *n, struct kbp_entry *e, unsigned from)
{
	e->acks |= KBP_BIT(from);
	if (kbp_popcount8(e->acks) >= n->majority)
		e->chosen = true;
}

static void lease_update(struct kbp_node *n, unsigned from, uint64_t stamp)
{
	if (n->cfg.break_flags & KBP_BREAK_LEASE_FROM_GRANT)
		stamp = n->now;              /* wrong on purpose: counts from the grant's arrival */
	if (stamp > n->grant_stamp[from])
		n->grant_stamp[from] = stamp;
	/* The lease starts at the (majority-1)-th newest peer grant; we always grant ourselves. */
	uint64_t s[KBP_NODES_MAX];
	unsigned k = 0;
	for (unsigned p = 0; p < n->cfg.nodes; p++) {
		if (p != n->cfg.self)
			s[k++] = n->grant_stamp[p];
	}
	for (unsigned i = 1; i < k; i++) {          /* insertion sort, newest first */
		uint64_t v = s[i];
		unsigned j = i;
		for (; j > 0 && s[j - 1] < v; j--)
			s[j] = s[j - 1];
		s[j] = v;
	}
	unsigned need = n->majority - 1;
	if (need == 0 || s[need - 1] == 0)
		return;
	/* Granters count lease_ns on their clocks; ours may run up to 2 * drift faster relative. */
	uint64_t margin = n->cfg.lease_ns / 1000000u * 2u * n->cfg.max_drift_ppm;
	uint64_t until = s[need - 1] + n->cfg.lease_ns - margin;
	if (until > n->lease_until) {
		n->lease_until = until;
		n->lease_ever = true;
	}
}

void kbp_proposer_on_accepted(struct kbp_node *n, const struct kbp_msg *m)
{
	if (n->role != KBP_ROLE_LEADER || m->ballot != n->ballot)
		return;
	if (m->flags & KBP_MF_LEASE_GRANT)
		lease_update(n, m->from, m->lease_stamp);
	struct kbp_entry *e = kbp_log_get(n, m->slot);
	if (e && !e->chosen && e->ballot == n->ballot)
		entry_ack(n, e, m->from);
}

void kbp_proposer_on_commit_ack(struct kbp_node *n, const struct kbp_msg *m)
{
	if (n->role == KBP_ROLE_LEADER && m->ballot == n->ballot && (m->flags & KBP_MF_LEASE_GRANT))
		lease_update(n, m->from, m->lease_stamp);
}

void kbp_proposer_on_nack(struct kbp_node *n, const struct kbp_msg *m)
{
	kbp_proposer_note_ballot(n, m->aux);
	if (m->ballot == 0) {
		kbp_rebuild_on_answer(n, m);     /* the answer to a promise query */
		return;
	}
	/* Only a higher promise defeats us; a lease refusal (lower aux) just means "not yet". */
	if (n->role == KBP_ROLE_FOLLOWER || m->ballot != n->ballot || m->aux <= n->ballot)
		return;
	if (n->role == KBP_ROLE_CANDIDATE) {
		n->role = KBP_ROLE_FOLLOWER;     /* keep the backoff deadline chosen at the start */
		return;
	}
	/*
	 * A leader that is nacked jumps past the promised ballot at once: typically a node
	 * that restarted or was cut off has promised itself a higher ballot; the rest of
	 * the cluster still follows us (and may hold our lease), so a new phase 1 now costs
	 * one round trip instead of an election timeout.  If it fails, the usual backoff
	 * applies.
	 */
	kbp_proposer_step_down(n, m->aux);
	n->leader = KBP_LEADER_UNKNOWN;
	kbp_proposer_start_election(n);
}

bool kbp_lease_read_ok(const struct kbp_node *n)
{
	return n->cfg.leases && n->role == KBP_ROLE_LEADER && n->now < n->lease_until &&
	       n->now >= n->restart_block_until && n->applied >= n->term_start;
}

int kbp_proposer_submit(struct kbp_node *n, const struct kbp_cmd *c)
{
	struct kbp_reply r;

	uint8_t refused = kbp_kv_refuse(c);
	if (refused != KBP_ST_OK) {
		kbp_reply_status(n, c->client_id, c->seq, refused);
		return -KBP_EINVAL;
	}
	if (n->role != KBP_ROLE_LEADER) {
		kbp_reply_status(n, c->client_id, c->seq, KBP_ST_NOT_LEADER);
		return -KBP_ENOTLEADER;
	}
	/* A retry of an applied write gets its first answer, an older seq STALE: no slot. */
	if (c->op != KBP_OP_GET && kbp_kv_session_lookup(n->kv, c->client_id, c->seq, &r)) {
		r.leader = (uint8_t)n->cfg.self;
		kbp_reply_add(n, &r);
		return 0;
	}
	if (c->op == KBP_OP_GET && kbp_lease_read_ok(n)) {
		kbp_kv_read(n->kv, c, &r);
		r.leader = (uint8_t)n->cfg.self;
		kbp_reply_add(n, &r);
		n->stats.lease_reads++;
		return 0;
	}
	uint32_t size = kbp_cmd_size(c);
	if (n->q_tail + size > n->cfg.queue_bytes && n->q_head > 0) {
		memmove(n->queue, n->queue + n->q_head, n->q_tail - n->q_head);
		n->q_tail -= n->q_head;
		n->q_head = 0;
	}
	if (n->q_tail + size > n->cfg.queue_bytes) {
		n->stats.cmds_busy++;
		kbp_reply_status(n, c->client_id, c->seq, KBP_ST_BUSY);
		return -KBP_EFULL;
	}
	int w = kbp_cmd_encode(c, n->queue + n->q_tail, n->cfg.queue_bytes - n->q_tail);
	if (w < 0) {
		kbp_reply_status(n, c->client_id, c->seq, KBP_ST_INVALID);
		return w;
	}
	n->q_tail += (uint32_t)w;
	n->q_cmds++;
	n->stats.cmds_submitted++;
	if (c->op == KBP_OP_GET)
		n->stats.reads_via_log++;
	return 0;
}

/* Fill new slots from the client queue while the pipeline window has room. */
static void propose_new(struct kbp_node *n)
{
	uint32_t peers = n->cfg.nodes - 1;
	while (n->q_cmds > 0 && n->next_slot < n->commit + n->cfg.window) {
		if (!kbp_out_room(n, peers) || !kbp_persist_room(n, 1)) {
			n->more_work = true;
			return;
		}
		struct kbp_entry *e = kbp_log_ensure(n, n->next_slot);
		if (!e)
			return;              /* ring full of unapplied slots; apply catches up */
		uint32_t len = 0, count = 0;
		while (n->q_cmds > 0 && count < n->cfg.batch_cmds_max) {
			struct kbp_cmd c;
			int size = kbp_cmd_decode(&c, n->queue + n->q_head + len, n->q_tail - n->q_head - len);
			assert(size > 0);
			if (len + (uint32_t)size > n->cfg.batch_bytes_max)
				break;
			len += (uint32_t)size;
			count++;
			n->q_cmds--;
		}
		kbp_entry_set_value(n, e, count, n->queue + n->q_head, len);
		n->q_head += len;
		if (n->q_head == n->q_tail)
			n->q_head = n->q_tail = 0;
		bool ok = self_accept(n, e);
		assert(ok);
		(void)ok;
		send_accept_all(n, e);
		n->next_slot++;
		n->stats.batches_proposed++;
	}
}

/* Sends unsent re-proposals and retransmits ACCEPTs that have waited too long. */
static void retransmit(struct kbp_node *n)
{
	if (n->now < n->retransmit_at)
		return;
	n->retransmit_at = n->now + n->cfg.retransmit_ns / 2;
	for (uint64_t s = n->commit; s < n->next_slot; s++) {
		struct kbp_entry *e = kbp_log_get(n, s);
		if (!e || e->chosen)
			continue;
		if (!kbp_out_room(n, n->cfg.nodes)) {
			n->more_work = true;
			n->retransmit_at = n->now;
			return;
		}
		if (e->sent_ns == 0) {
			send_accept_all(n, e);
		} else if (n->now - e->sent_ns >= n->cfg.retransmit_ns) {
			n->stats.retransmits++;
			send_accept_all(n, e);
		}
	}
}

static void heartbeats(struct kbp_node *n)
{
	for (unsigned p = 0; p < n->cfg.nodes; p++) {
		if (p == n->cfg.self || n->now - n->last_sent[p] < n->cfg.heartbeat_ns)
			continue;
		struct kbp_msg *m = kbp_out_msg(n, KBP_MSG_COMMIT, p);
		if (!m) {
			n->more_work = true;
			return;
		}
		m->ballot = n->ballot;
		m->aux = n->term_start;
		if (n->cfg.leases) {
			m->flags |= KBP_MF_LEASE_REQ;
			m->lease_stamp = n->now;
		}
	}
}

static void self_acks(struct kbp_node *n)
{
	if (n->self_ack_cursor < n->commit)
		n->self_ack_cursor = n->commit;
	while (n->self_ack_cursor < n->next_slot) {
		struct kbp_entry *e = kbp_log_get(n, n->self_ack_cursor);
		assert(e);
		if (!e->chosen) {
			if (e->ballot != n->ballot || !kbp_durable(n, e->persist_id))
				break;
			entry_ack(n, e, n->cfg.self);
		}
		n->self_ack_cursor++;
	}
}

/* Phase 1a to every peer whose promise is not complete yet (a retransmission after the first). */
static void send_prepares(struct kbp_node *n)
{
	if (!kbp_out_room(n, n->cfg.nodes)) {
		n->more_work = true;
		return;
	}
	for (unsigned p = 0; p < n->cfg.nodes; p++) {
		if (p == n->cfg.self || (n->promise_done & KBP_BIT(p)))
			continue;
		struct kbp_msg *m = kbp_out_msg(n, KBP_MSG_PREPARE, p);
		m->ballot = n->ballot;
		m->slot = n->cover_next[p];
		if (n->prepare_out)
			n->stats.retransmits++;
	}
	n->prepare_out = true;
	n->prepare_sent_ns = n->now;
}

void kbp_proposer_flush(struct kbp_node *n)
{
	unsigned self = n->cfg.self;

	if (n->role == KBP_ROLE_CANDIDATE) {
		bool durable = n->promised == n->ballot && kbp_durable(n, n->promise_pid);
		if (durable)
			n->promise_done |= KBP_BIT(self);
		if (kbp_popcount8(n->promise_done) >= n->majority)
			become_leader(n);
		else if (durable && (!n->prepare_out || n->now - n->prepare_sent_ns >= n->cfg.retransmit_ns))
			send_prepares(n);
	}
	if (n->role != KBP_ROLE_LEADER)
		return;
	if (n->cfg.leases) {
		bool lost = n->lease_ever ? n->now >= n->lease_until
					  : n->now - n->term_start_ns >= n->cfg.election_timeout_ns;
		if (lost) {
			n->stats.lease_lapses++;
			kbp_proposer_step_down(n, 0);   /* cannot renew: stop serving before anyone else may */
			return;
		}
		n->lease_holder = (uint8_t)self;    /* our acceptor grants our own requests */
		n->lease_expire_ns = n->now + n->cfg.lease_ns;
	}
	self_acks(n);
	kbp_learner_commit_advance(n);
	propose_new(n);
	retransmit(n);
	heartbeats(n);
}
