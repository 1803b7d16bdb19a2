/* SPDX-License-Identifier: MIT */
/*
 * kbpaxos consensus core: one Multi-Paxos node (proposer + acceptor + learner) with the
 * key-value state machine, as a pure step machine.  Events go in (a message, a client
 * command, a tick, "durable up to id"), each with the caller's monotonic time; outputs
 * are collected by kbp_node_flush(): messages to peers, persist requests, client
 * replies and the next deadline.  No clock, no I/O, no global state; all memory is
 * allocated by kbp_node_new() and nothing is allocated afterwards.
 *
 * Batching falls out of the call pattern: feed a burst of events, then flush once.
 * Every persist request produced between two flushes forms one write (group commit).
 *
 * Durability contract ("Paxos Made Live" §4 – a replica's disk is part of its state):
 * a PROMISE, ACCEPTED or COMMIT_ACK-with-lease that depends on new acceptor state is
 * held inside the node until the host calls kbp_node_persisted() with an id at or
 * past the request that made that state durable; the leader counts its own accept
 * only then.  The host must write requests in id order and report a prefix.
 */
#ifndef KBP_NODE_H
#define KBP_NODE_H

#include "kbp_cmd.h"
#include "kbp_msg.h"
#include "kbp_types.h"

struct kbp_node;

/* Test-only switches that break the protocol on purpose (the simulator must catch them). */
#define KBP_BREAK_PERSIST_BEFORE_REPLY 0x1u   /* release replies before durability */
#define KBP_BREAK_FORGET_PROMISE 0x2u         /* acceptor ignores its promised ballot */
#define KBP_BREAK_LEASE_FROM_GRANT 0x4u       /* leader counts its lease from the grant's arrival */
#define KBP_BREAK_SESSION_REEXECUTE 0x80u     /* a write from an evicted session runs again */
#define KBP_BREAK_REBUILD_VOTES_EARLY 0x8u    /* a rebuilding node votes at once, as a blank acceptor */

struct kbp_node_config {
	unsigned self;               /* this node's id, < nodes */
	unsigned nodes;              /* cluster size, 1..KBP_NODES_MAX */
	uint32_t window;             /* slots the leader keeps outstanding */
	uint32_t batch_cmds_max;     /* commands in one ACCEPT */
	uint32_t batch_bytes_max;    /* encoded command bytes in one ACCEPT */
	uint32_t log_slots;          /* slots retained in memory; power of two, >= 2 * window */
	uint32_t queue_bytes;        /* client command bytes the leader queues before BUSY */
	uint32_t clients_max;        /* live client sessions; a new one evicts the least recently used */
	uint64_t session_expiry_cmds;/* a session unused while this many commands apply expires; 0: never */
	uint32_t kv_keys_max;        /* keys the built-in key-value store holds */
	uint32_t msg_bytes_max;      /* largest message payload (>= batch_bytes_max + KBP_PENTRY_HDR_SIZE) */
	uint32_t apply_max;          /* commands applied per flush (bounds the reply arena) */
	uint64_t heartbeat_ns;       /* leader's COMMIT interval when idle */
	uint64_t election_timeout_ns;/* follower silence before it tries to lead */
	uint64_t retransmit_ns;      /* PREPARE / ACCEPT / CATCHUP retransmission */
	uint32_t backoff_max_shift;  /* election backoff grows up to timeout << shift */
	bool leases;                 /* master leases (issue: leases) */
	uint64_t lease_ns;           /* lease duration on the granter's clock */
	uint32_t max_drift_ppm;      /* assumed bound on clock rate difference */
	uint64_t seed;               /* randomness (election jitter) */
	uint32_t break_flags;        /* KBP_BREAK_*; 0 in production */
};

/* Fill with defaults suitable for a 3-node cluster; self/nodes must still be set. */
void kbp_node_config_default(struct kbp_node_config *cfg);
/* 0 if usable, else -KBP_EINVAL with *why naming the field and the rule. */
int kbp_node_config_check(const struct kbp_node_config *cfg, const char **why);

enum kbp_persist_type {
	KBP_PERSIST_PROMISE = 1,     /* ballot: the acceptor's new promised ballot */
	KBP_PERSIST_ACCEPT = 2,      /* slot, ballot, count, value: accepted (KBP_BALLOT_CHOSEN: known chosen) */
	KBP_PERSIST_COMMIT = 3,      /* slot: every slot below it is chosen (a hint, not needed for safety) */
	KBP_PERSIST_SNAPSHOT = 4,    /* value: a state-machine snapshot received from a peer, covering slots < slot */
};

struct kbp_persist {
	uint8_t type;
	uint64_t id;                 /* 1, 2, 3 ... in the order they must reach the disk */
	uint64_t ballot;
	uint64_t slot;
	uint32_t count;
	uint32_t len;
	const uint8_t *value;        /* valid until the next call into the node: copy it into the write */
};

struct kbp_update {
	const struct kbp_msg *msgs;          /* to peers (msg.to) */
	uint32_t n_msgs;
	const struct kbp_persist *persist;
	uint32_t n_persist;
	const struct kbp_reply *replies;     /* to clients */
	uint32_t n_replies;
	uint64_t deadline_ns;                /* call kbp_node_tick() no later than this */
};

enum kbp_role { KBP_ROLE_FOLLOWER = 0, KBP_ROLE_CANDIDATE = 1, KBP_ROLE_LEADER = 2 };

struct kbp_node_stats {
	uint64_t msgs_in, msgs_out, msgs_bad, msgs_stale;
	uint64_t cmds_submitted, cmds_busy, cmds_applied, batches_proposed;
	uint64_t elections, leader_changes, retransmits, catchups, snapshots_sent, snapshots_installed;
	uint64_t lease_reads, reads_via_log;
	uint64_t lease_lapses;               /* leader stepped down: its lease ran out unrenewed */
	uint64_t ballots_refused;            /* dropped: a ballot in round 0 or the reserved last round */
	uint64_t ballots_forged;             /* dropped: a ballot naming another node than it must */
	uint64_t ballots_exhausted;          /* elections not run: the last usable round is reached */
	uint64_t chosen_conflicts;           /* a peer's value contradicted a slot we hold as chosen */
	uint64_t catchups_refused;           /* CATCHUP for a slot nobody said was chosen */
};

struct kbp_node_status {
	uint8_t role;
	uint8_t leader;              /* KBP_LEADER_UNKNOWN if none known */
	uint64_t ballot;             /* own proposer ballot */
	uint64_t promised;           /* acceptor's promised ballot (possibly not yet durable) */
	uint64_t commit;             /* chosen prefix: slots < commit are chosen */
	uint64_t applied;            /* slots < applied are applied */
	uint64_t next_slot;          /* leader: next slot to propose */
	uint64_t log_base;           /* first slot retained in memory */
	uint64_t lease_until_ns;     /* leader: lease valid before this (0: none) */
	uint64_t persist_issued, persist_durable;
	uint32_t queue_bytes;        /* client bytes waiting for a slot */
	uint64_t conflict_slot;      /* the latest stats.chosen_conflicts: slot and peer */
	uint8_t conflict_from;
	uint8_t rebuild;             /* enum kbp_rebuild_stage; KBP_REBUILD_NONE once voting */
	uint64_t rebuild_floor;      /* highest promise the peers reported */
	uint64_t rebuild_ballot;     /* the leader (ballot above the floor) whose term it waits for */
	uint64_t rebuild_target;     /* votes once commit reaches this (that leader's term start) */
	struct kbp_node_stats stats;
};

/* Where a node started with kbp_node_start_rebuild() stands (kbp_rebuild.c). */
enum kbp_rebuild_stage {
	KBP_REBUILD_NONE = 0,        /* a voting acceptor */
	KBP_REBUILD_QUERY = 1,       /* asking every peer what it has promised */
	KBP_REBUILD_LEADER = 2,      /* waiting for a leader elected above every reported promise */
	KBP_REBUILD_CATCHUP = 3,     /* learning every slot below that leader's term start */
	KBP_REBUILD_CLOSING = 4,     /* its closing promise is being written; then it votes */
};
const char *kbp_rebuild_stage_name(unsigned stage);

/* Allocates every buffer the node will ever use. NULL on bad config or no memory. */
struct kbp_node *kbp_node_new(const struct kbp_node_config *cfg);
void kbp_node_free(struct kbp_node *n);
/*
 * Touch every page of the working memory (log, values, queues, KV and session tables),
 * not the snapshot buffers, so that the first commands do not each pay a page fault.  It
 * changes no byte, so a server may call it after recovery (kbpaxosd does); the simulator,
 * creating thousands of nodes, does not.
 */
void kbp_node_prefault(struct kbp_node *n);

/*
 * Recovery: before kbp_node_start(), replay what the log holds, oldest first.  A
 * snapshot (if any) comes first; accepts below its slot are ignored.
 */
int kbp_node_restore_snapshot(struct kbp_node *n, const uint8_t *buf, uint32_t len);
int kbp_node_restore_promise(struct kbp_node *n, uint64_t ballot);
int kbp_node_restore_accept(struct kbp_node *n, uint64_t slot, uint64_t ballot,
			    uint32_t count, const uint8_t *value, uint32_t len);
void kbp_node_restore_commit(struct kbp_node *n, uint64_t commit);
/*
 * Done restoring; the node starts as a follower.  `restarted` says the process may have
 * forgotten a lease it granted, so it neither grants leases to others nor serves lease
 * reads until a full lease period has passed.
 */
void kbp_node_start(struct kbp_node *n, uint64_t now_ns, bool restarted);
/*
 * Instead of kbp_node_start(), for a node whose durable state was lost (or is being
 * rebuilt since a loss, which the host remembers across crashes): it starts as a
 * non-voting learner ("Paxos Made Live" §5.1) that sends no PROMISE, no ACCEPTED and
 * grants no lease until the rule in kbp_rebuild.c is met; status.rebuild says where it
 * stands.  The host may forget that the node is rebuilding only once status.rebuild is
 * KBP_REBUILD_NONE (every record it needed is then durable).  -KBP_EINVAL below 3 nodes:
 * the others must form a majority without it.
 */
int kbp_node_start_rebuild(struct kbp_node *n, uint64_t now_ns);

/* Events.  Payload bytes are copied as needed; the caller may reuse them on return. */
int kbp_node_recv(struct kbp_node *n, const struct kbp_msg *m, uint64_t now_ns);
/* A client command (one decoded command); replies come through the update. */
int kbp_node_submit(struct kbp_node *n, const struct kbp_cmd *c, uint64_t now_ns);
void kbp_node_tick(struct kbp_node *n, uint64_t now_ns);
void kbp_node_persisted(struct kbp_node *n, uint64_t id, uint64_t now_ns);

/*
 * Everything produced since the previous flush.  The update and every pointer in it
 * stay valid until the next call into this node.
 */
void kbp_node_flush(struct kbp_node *n, uint64_t now_ns, struct kbp_update *out);

/*
 * Snapshot of the state machine at the applied index into buf; *upto receives the first
 * slot it does not cover.  Returns bytes written or -KBP_ETOOBIG.  The host writes it,
 * then may drop log records below *upto.
 */
int kbp_node_snapshot(struct kbp_node *n, uint8_t *buf, uint32_t cap, uint64_t *upto);
uint32_t kbp_node_snapshot_bytes_max(const struct kbp_node *n);

/*
 * Called for every slot as it is applied, in slot order, with the chosen batch.  For
 * simulators and tests that check agreement; production leaves it unset.
 */
typedef void (*kbp_apply_fn)(void *arg, uint64_t slot, uint32_t count, const uint8_t *batch,
			     uint32_t len);
void kbp_node_set_apply_observer(struct kbp_node *n, kbp_apply_fn fn, void *arg);

void kbp_node_get_status(const struct kbp_node *n, struct kbp_node_status *st);
const char *kbp_role_name(unsigned role);

#endif
