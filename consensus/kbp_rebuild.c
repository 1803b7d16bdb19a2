/* SPDX-License-Identifier: MIT */
/*
 * Rebuilding a node that lost its durable state ("Paxos Made Live" §5.1): it rejoins as
 * a non-voting learner and votes again only once nothing its lost incarnation promised
 * or accepted can matter any more.  PML's rule is "until it has seen a complete instance
 * begun after the rebuild started"; here that means, precisely:
 *
 *   QUERY     ask every other node what it has promised (a PREPARE at ballot 0, answered
 *             by a NACK carrying the promise); floor = the highest answer.
 *   LEADER    wait for an ACCEPT or COMMIT from a leader L* whose ballot b* > floor.  A
 *             leader at or below the floor is nacked with a promise just above it, so it
 *             re-elects itself there (one phase 1).  L*'s messages carry its term start
 *             t*: when it took over, every slot below t* was known chosen or re-proposed.
 *   CATCHUP   learn (snapshot + CATCHUP) until the chosen prefix reaches t*; a later
 *             leader above the floor replaces (b*, t*).
 *   CLOSING   write the promise b*, after every record the catch-up wrote; once it is
 *             durable, vote.
 *
 * Why that is safe.  Call T0 the start of the rebuild; the lost incarnation ("old A") did
 * nothing after it.  Facts of this implementation used:
 *   F1  a PREPARE(b) leaves its creator only once the creator's promise of b is durable
 *       (kbp_proposer.c), every promise or acceptance is durable before it is answered,
 *       and a node's promise never decreases, across restarts too;
 *   F2  A votes in nothing while rebuilding, so every majority during the rebuild is
 *       made of other nodes;
 *   F3  at most one node rebuilds at a time (docs/DEPLOY.md): the answers come from
 *       nodes that kept their disks.
 *
 * (b) Forgotten promises.  Say old A promised P to a candidate C.  C's own promise of P
 * was durable before its PREPARE left (F1), so C answered at least P, floor >= P and
 * b* > P: rebuilt A never accepts below a ballot old A promised.  If old A itself led at
 * P_A, a majority (another node among it) durably promised P_A before T0, so floor >=
 * P_A, and every ballot A creates later lies above b* > P_A: it never reuses one under
 * which old A proposed.  (A ballot old A created but never led at carries no proposals,
 * so a peer's promise of it, given late, is still an accurate report if A reuses it.)
 *
 * (a) Forgotten acceptances.  Say a value v was chosen for slot s at ballot b with old
 * A's vote.  b's leader led before T0, so some other node promised b durably before T0
 * and b <= floor < b*.  The choosing majority R has at least majority - 1 members other
 * than A, and each accepted (s, b, v) before it promised b* (afterwards it refuses b).
 * L*'s phase-1 majority M* contains no A: old A never saw b*, which by F1 was created
 * after its creator answered A's query, after T0, and new A promises nothing (F2).
 * majority + (majority - 1) > nodes - 1, so M* and R share a node, which reported v (or
 * the same value at a higher ballot) to L*, unless s is below L*'s commit.  Either way
 * s < t*.  So A waits until it holds every slot below t* as chosen, durably (the
 * CLOSING record comes after those records), and from then on reports them as chosen
 * in every promise: no majority that includes it can miss v.
 *
 * Leases: the rebuild starts like any restart, granting nothing for lease_ns (old A may
 * have granted a lease).  A crash during the rebuild: the host keeps its marker until
 * the stage is NONE, and the next start rebuilds again from the partial log; all of the
 * above holds with the later start as T0.
 *
 * Liveness: every other node must answer the query once (a node that is down delays the
 * rebuild, not the cluster: the others still form a majority), and one leader change
 * above the floor, forced at most once.  Hence at least 3 nodes.
 */
#include "kbp_node_impl.h"

static uint8_t peers_all(const struct kbp_node *n)
{
	return (uint8_t)(((1u << n->cfg.nodes) - 1) & ~(1u << n->cfg.self));
}

unsigned kbp_rebuild_stage(const struct kbp_node *n)
{
	if (!n->rebuilding)
		return KBP_REBUILD_NONE;
	if (n->rb_close_pid)
		return KBP_REBUILD_CLOSING;
	if (n->rb_answered != peers_all(n))
		return KBP_REBUILD_QUERY;
	return n->rb_ballot ? KBP_REBUILD_CATCHUP : KBP_REBUILD_LEADER;
}

const char *kbp_rebuild_stage_name(unsigned stage)
{
	static const char *const names[] = { "none", "query", "leader", "catchup", "closing" };
	return stage <= KBP_REBUILD_CLOSING ? names[stage] : "?";
}

int kbp_node_start_rebuild(struct kbp_node *n, uint64_t now_ns)
{
	if (n->cfg.nodes < 3)
		return -KBP_EINVAL;
	kbp_node_start(n, now_ns, true);
	if (n->cfg.break_flags & KBP_BREAK_REBUILD_VOTES_EARLY)
		return 0;                /* wrong on purpose: a blank acceptor that votes at once */
	n->rebuilding = true;
	n->rb_query_at = now_ns;
	return 0;
}

void kbp_rebuild_on_answer(struct kbp_node *n, const struct kbp_msg *m)
{
	if (kbp_rebuild_stage(n) != KBP_REBUILD_QUERY || (n->rb_answered & KBP_BIT(m->from)))
		return;                  /* the floor is fixed once every peer has answered */
	n->rb_answered |= KBP_BIT(m->from);
	if (m->aux > n->rb_floor)
		n->rb_floor = m->aux;
}

/*
 * An ACCEPT or COMMIT while rebuilding: follow and learn from it (the commit index
 * drives the catch-up), vote for nothing.  Once the floor is known, a leader at or below
 * it is told a promise just above it, which makes it re-elect itself higher.
 */
void kbp_rebuild_on_leader(struct kbp_node *n, const struct kbp_msg *m)
{
	unsigned stage = kbp_rebuild_stage(n);
	n->leader = m->from;
	n->last_heard = n->now;
	kbp_election_timer_reset(n);
	kbp_learner_learn(n, m->ballot, m->commit, m->from);
	if (stage != KBP_REBUILD_LEADER && stage != KBP_REBUILD_CATCHUP)
		return;
	if (m->ballot <= n->rb_floor) {
		uint64_t above = kbp_ballot_next(kbp_ballot_round(n->rb_floor), n->cfg.self);
		if (above > n->promised)
			kbp_acceptor_raise_promise(n, above);   /* a floor in memory; no vote rests on it */
		kbp_nack(n, m);
	} else if (m->ballot > n->rb_ballot) {
		n->rb_ballot = m->ballot;
		n->rb_target = m->aux;
	}
}

static void send_queries(struct kbp_node *n)
{
	if (n->now < n->rb_query_at || !kbp_out_room(n, n->cfg.nodes))
		return;
	for (unsigned p = 0; p < n->cfg.nodes; p++) {
		if (p == n->cfg.self || (n->rb_answered & KBP_BIT(p)))
			continue;
		struct kbp_msg *m = kbp_out_msg(n, KBP_MSG_PREPARE, p);
		m->ballot = 0;
		m->slot = n->commit;
	}
	n->rb_query_at = n->now + n->cfg.retransmit_ns;
}

void kbp_rebuild_flush(struct kbp_node *n)
{
	switch (kbp_rebuild_stage(n)) {
	case KBP_REBUILD_QUERY:
		send_queries(n);
		break;
	case KBP_REBUILD_CATCHUP:
		if (n->commit < n->rb_target || !kbp_persist_room(n, 1))
			break;
		if (n->rb_ballot > n->promised)
			kbp_acceptor_raise_promise(n, n->rb_ballot);
		/* Written even if promised is unchanged: its id orders it after the catch-up. */
		n->rb_close_pid = kbp_persist_add(n, KBP_PERSIST_PROMISE, n->promised, 0, 0, NULL, 0);
		n->promise_pid = n->rb_close_pid;
		break;
	case KBP_REBUILD_CLOSING:
		if (kbp_durable(n, n->rb_close_pid)) {
			n->rebuilding = false;
			n->max_round_seen = kbp_ballot_round(n->promised) > n->max_round_seen
						    ? kbp_ballot_round(n->promised) : n->max_round_seen;
		}
		break;
	default:
		break;
	}
}
