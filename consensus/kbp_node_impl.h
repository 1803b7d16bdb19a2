/* SPDX-License-Identifier: MIT */
/* Private state of a consensus node, shared by the acceptor, proposer and learner files. */
#ifndef KBP_NODE_IMPL_H
#define KBP_NODE_IMPL_H

#include <assert.h>

#include "kbp_node.h"
#include "kbp_sm.h"

/* One retained log slot.  The ring holds slots [log_base, log_base + log_slots). */
struct kbp_entry {
	uint64_t slot;           /* UINT64_MAX: empty */
	uint64_t ballot;         /* accepted ballot (0: nothing accepted) */
	uint64_t persist_id;     /* request that makes this acceptance durable */
	uint64_t sent_ns;        /* leader: last ACCEPT transmission (0: not yet) */
	uint32_t count, len;
	uint8_t acks;            /* leader: nodes that accepted `ballot` (self once durable) */
	bool has_value;
	bool chosen;
	bool recorded;           /* the current value has a persist request (merges do not) */
	uint8_t *value;          /* batch_bytes_max bytes owned by this ring position */
};

/* A transfer spread over several flushes so one flush never needs unbounded memory. */
struct kbp_stream {
	uint8_t kind;            /* 0, KBP_MSG_PROMISE, KBP_MSG_CATCHUP or KBP_MSG_SNAPSHOT */
	uint64_t ballot;         /* PROMISE: the promise being reported */
	uint64_t next, end;      /* slots (PROMISE/CATCHUP) or bytes (SNAPSHOT) */
	uint64_t need_id;        /* PROMISE: starts once this persist id is durable */
};

struct kbp_held {
	struct kbp_msg m;        /* payload-free reply */
	uint64_t need_id;        /* release once this persist id is durable */
};

struct kbp_node {
	struct kbp_node_config cfg;
	unsigned majority;
	uint64_t rng;
	uint64_t now;

	/* acceptor */
	uint64_t promised;
	uint64_t promise_pid;            /* persist id of the newest promise record */
	uint8_t lease_holder;            /* node we granted a lease to */
	uint64_t lease_expire_ns;        /* our grant holds until then (our clock) */
	uint64_t restart_block_until;    /* after a restart: grant/promise nothing until then */

	/* proposer */
	uint8_t role;
	uint8_t leader;                  /* believed leader, KBP_LEADER_UNKNOWN if none */
	uint64_t ballot;                 /* own ballot while candidate or leader */
	uint64_t max_round_seen;
	uint32_t attempt;                /* election backoff exponent */
	uint64_t election_deadline;
	uint64_t last_heard;
	uint64_t prepare_sent_ns;
	bool prepare_out;                /* candidate: PREPAREs sent (only once our promise is durable) */
	uint8_t promise_done;            /* candidate: nodes whose promise is complete */
	uint64_t cover_next[KBP_NODES_MAX];
	uint64_t recover_top;            /* candidate: one past the highest slot reported */
	uint64_t next_slot;              /* leader: next slot to fill */
	uint64_t term_start;             /* leader: first slot proposed for new commands */
	uint64_t term_start_ns;
	uint64_t self_ack_cursor;
	uint64_t last_sent[KBP_NODES_MAX];
	uint64_t retransmit_at;
	uint64_t grant_stamp[KBP_NODES_MAX];
	uint64_t lease_until;            /* leader: lease valid before this (own clock) */
	bool lease_ever;

	/* log and learner */
	struct kbp_entry *log;
	uint8_t *values;
	uint64_t log_mask;
	uint64_t log_base;
	uint64_t log_top;                /* one past the highest slot holding a value */
	uint64_t commit;
	uint64_t commit_persisted;
	uint64_t applied;
	uint64_t known_commit;           /* highest commit index heard of */
	uint64_t catchup_at;             /* next catch-up request allowed */
	struct kbp_kv *kv;

	/* persistence */
	uint64_t persist_next_id;
	uint64_t durable_id;

	/* client queue: encoded commands waiting for a slot (leader only) */
	uint8_t *queue;
	uint32_t q_head, q_tail, q_cmds;

	/* snapshots */
	uint8_t *snap_out;
	uint32_t snap_out_len;
	uint64_t snap_out_upto;
	uint8_t *snap_in;
	uint32_t snap_in_len, snap_in_total;
	uint64_t snap_in_upto;
	uint32_t snap_bytes_max;

	/* streams, per peer */
	struct kbp_stream pstream[KBP_NODES_MAX];
	struct kbp_stream cstream[KBP_NODES_MAX];

	/* held replies (FIFO ring) */
	struct kbp_held *held;
	uint32_t held_cap, held_head, held_n;

	/* outputs of the current flush */
	bool flushed;
	struct kbp_msg *out;
	uint32_t n_out, out_cap;
	struct kbp_persist *pq;
	uint32_t n_pq, pq_cap;
	struct kbp_reply *rep;
	uint32_t n_rep, rep_cap;
	uint8_t *rep_arena;
	uint32_t rep_arena_used, rep_arena_cap;
	uint8_t *arena;
	uint32_t arena_used, arena_cap;
	bool more_work;                  /* flush left work for the next one */
	bool started;                    /* kbp_node_start() ran: recovery is over */

	kbp_apply_fn observer;
	void *observer_arg;
	uint64_t snap_in_last_ns;
	uint64_t conflict_slot;          /* latest chosen-value conflict, for the host's log */
	uint8_t conflict_from;

	/* rebuild after a lost disk (kbp_rebuild.c) */
	bool rebuilding;                 /* non-voting learner */
	uint8_t rb_answered;             /* peers whose promise-query answer arrived */
	uint64_t rb_floor;               /* highest promise they reported */
	uint64_t rb_ballot;              /* leader ballot above rb_floor whose term we wait for */
	uint64_t rb_target;              /* that leader's term start */
	uint64_t rb_query_at;            /* next promise-query retransmission */
	uint64_t rb_close_pid;           /* the closing promise record (0: not yet written) */

	struct kbp_node_stats stats;
};

#define KBP_BIT(i) ((uint8_t)(1u << (i)))
/* Node sets (acks, promise_done, rebuild answers) are uint8_t bitmasks over node ids. */
_Static_assert(KBP_NODES_MAX <= 8, "a node set must fit a uint8_t bitmask");
_Static_assert(KBP_NODES_MAX < KBP_NODE_CLIENT && KBP_NODES_MAX < KBP_LEADER_UNKNOWN,
	       "node ids must differ from the client and unknown-leader markers");

static inline unsigned kbp_popcount8(uint8_t v) { return (unsigned)__builtin_popcount(v); }

/* kbp_node.c: shared plumbing */
uint64_t kbp_rand(struct kbp_node *n);
struct kbp_entry *kbp_log_get(struct kbp_node *n, uint64_t slot);
struct kbp_entry *kbp_log_ensure(struct kbp_node *n, uint64_t slot);
void kbp_entry_set_value(struct kbp_node *n, struct kbp_entry *e, uint32_t count,
			 const uint8_t *value, uint32_t len);
bool kbp_entry_same(const struct kbp_entry *e, uint32_t count, const uint8_t *value, uint32_t len);
struct kbp_msg *kbp_out_msg(struct kbp_node *n, uint8_t type, unsigned to);
bool kbp_out_room(const struct kbp_node *n, uint32_t msgs);
uint64_t kbp_persist_add(struct kbp_node *n, uint8_t type, uint64_t ballot, uint64_t slot,
			 uint32_t count, const uint8_t *value, uint32_t len);
bool kbp_persist_room(const struct kbp_node *n, uint32_t reqs);
void kbp_reply_add(struct kbp_node *n, const struct kbp_reply *r);
void kbp_reply_status(struct kbp_node *n, uint64_t client_id, uint64_t seq, uint8_t status);
void kbp_hold(struct kbp_node *n, const struct kbp_msg *m, uint64_t need_id);
bool kbp_durable(const struct kbp_node *n, uint64_t id);

/* kbp_acceptor.c */
void kbp_acceptor_on_prepare(struct kbp_node *n, const struct kbp_msg *m);
void kbp_acceptor_on_accept(struct kbp_node *n, const struct kbp_msg *m);
void kbp_acceptor_on_commit(struct kbp_node *n, const struct kbp_msg *m);
bool kbp_acceptor_may_promise(const struct kbp_node *n, unsigned from);
void kbp_acceptor_promise_self(struct kbp_node *n, uint64_t ballot);
void kbp_acceptor_raise_promise(struct kbp_node *n, uint64_t ballot);
void kbp_acceptor_release_held(struct kbp_node *n);
void kbp_acceptor_stream_promises(struct kbp_node *n);
void kbp_nack(struct kbp_node *n, const struct kbp_msg *m);

/* kbp_proposer.c */
void kbp_proposer_start_election(struct kbp_node *n);
void kbp_proposer_on_promise(struct kbp_node *n, const struct kbp_msg *m);
void kbp_proposer_on_accepted(struct kbp_node *n, const struct kbp_msg *m);
void kbp_proposer_on_nack(struct kbp_node *n, const struct kbp_msg *m);
void kbp_proposer_on_commit_ack(struct kbp_node *n, const struct kbp_msg *m);
void kbp_proposer_flush(struct kbp_node *n);
void kbp_proposer_step_down(struct kbp_node *n, uint64_t seen_ballot);
void kbp_proposer_note_ballot(struct kbp_node *n, uint64_t ballot);
int kbp_proposer_submit(struct kbp_node *n, const struct kbp_cmd *c);
bool kbp_lease_read_ok(const struct kbp_node *n);
void kbp_election_timer_reset(struct kbp_node *n);

/* kbp_learner.c */
void kbp_learner_commit_advance(struct kbp_node *n);
void kbp_learner_learn(struct kbp_node *n, uint64_t ballot, uint64_t commit, unsigned from);
void kbp_learner_apply(struct kbp_node *n);
void kbp_learner_on_catchup_req(struct kbp_node *n, const struct kbp_msg *m);
void kbp_learner_on_catchup(struct kbp_node *n, const struct kbp_msg *m);
void kbp_learner_on_snapshot(struct kbp_node *n, const struct kbp_msg *m);
void kbp_learner_stream_catchup(struct kbp_node *n);
void kbp_learner_conflict(struct kbp_node *n, uint64_t slot, unsigned from);

/* kbp_rebuild.c */
void kbp_rebuild_on_leader(struct kbp_node *n, const struct kbp_msg *m);
void kbp_rebuild_on_answer(struct kbp_node *n, const struct kbp_msg *m);
void kbp_rebuild_flush(struct kbp_node *n);
unsigned kbp_rebuild_stage(const struct kbp_node *n);

#endif
