/* SPDX-License-Identifier: MIT */
/*
 * The replicated state machine behind the log: the built-in key-value store (put, get,
 * compare-and-swap) plus client sessions that make every (client id, seq) apply once.
 * A different state machine only needs apply, snapshot and restore with these shapes.
 */
#ifndef KBP_SM_H
#define KBP_SM_H

#include "kbp_cmd.h"

struct kbp_kv;

/* The store's limits.  Every replica must use the same: they are part of the config digest. */
struct kbp_kv_config {
	uint32_t keys_max;
	uint32_t clients_max;          /* live sessions; one more registration evicts the least recently used */
	uint64_t session_expiry_cmds;  /* a session unused while this many more commands apply is gone; 0: never */
	bool break_reexecute;          /* test only: a write without a session runs (the bug of issue 11) */
};

struct kbp_kv *kbp_kv_new(const struct kbp_kv_config *cfg);
void kbp_kv_free(struct kbp_kv *kv);
/* Touch the tables' pages now rather than under load (see kbp_node_prefault). */
void kbp_kv_prefault(struct kbp_kv *kv);

/*
 * Fault in every 4 KiB page by writing back one byte of it as it is: kbpaxosd does this
 * after recovery, when the pages already hold the recovered log and state machine (a
 * plain store of 0 here once zeroed the first byte of every log value, a client id).
 */
static inline void kbp_touch_pages(void *p, size_t len)
{
	volatile uint8_t *b = p;
	for (size_t off = 0; off < len; off += 4096)
		b[off] = b[off];
}

/*
 * Applies one chosen command, in log order, and fills *r with its answer (r->val points
 * into the store and stays valid until the next apply).  The session rules
 * (docs/PROTOCOL.md, "Client sessions"):
 *   REGISTER   a new session with the next id from the replicated counter (the answer's
 *              8-byte value); when the table is full the least recently used one goes.
 *   GET        runs; reads need no session and leave sessions as they are.
 *   PUT, CAS   run only under a live session with a seq above its latest: then the answer
 *              is kept for retries.  seq equal to the latest: the kept answer.  Below it:
 *              STALE.  No live session (never registered, evicted, expired): SESSION_EXPIRED.
 * Before each command, sessions unused for more than session_expiry_cmds commands expire.
 * Returns true if the command ran, false if it was answered without running (and for
 * NOOP, whose r->status is KBP_ST_INVALID: nobody waits for it).
 */
bool kbp_kv_apply(struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r);

/*
 * A command that can never run, whatever the state: the status to answer it with
 * (INVALID: a no-op, client id 0, a write with seq 0, a REGISTER without a nonce;
 * SESSION_EXPIRED: a write under a nonce), else KBP_ST_OK.  kbp_kv_apply applies the same.
 */
uint8_t kbp_kv_refuse(const struct kbp_cmd *c);

/* The answer a GET would give now, without touching sessions (lease reads). */
void kbp_kv_read(const struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r);

/*
 * Whether a write (client, seq) can be answered from the sessions as they stand, without
 * the log: seq equal to the session's latest gets the kept answer, a lower one STALE.
 * Returns false (nothing filled) when only applying it can tell: a newer seq, or no
 * session here (the log decides whether it is SESSION_EXPIRED).
 */
bool kbp_kv_session_lookup(const struct kbp_kv *kv, uint64_t client_id, uint64_t seq,
			   struct kbp_reply *r);

/* Counters of the replicated state, for checkers comparing replicas with a model. */
struct kbp_kv_stats {
	uint64_t applied;              /* commands applied (no-ops aside) */
	uint64_t executed;             /* of those, the ones that ran */
	uint64_t next_client_id;       /* the id the next REGISTER gets */
	uint32_t keys, sessions;
};
void kbp_kv_get_stats(const struct kbp_kv *kv, struct kbp_kv_stats *st);
/* The live sessions, least recently used first: up to cap (id, latest seq); returns the count. */
uint32_t kbp_kv_sessions(const struct kbp_kv *kv, uint64_t *ids, uint64_t *seqs, uint32_t cap);

uint32_t kbp_kv_snapshot_bytes_max(const struct kbp_kv *kv);
/* Serializes store, sessions and counters, tagged with `upto`; returns bytes or -KBP_ETOOBIG. */
int kbp_kv_snapshot(const struct kbp_kv *kv, uint64_t upto, uint8_t *buf, uint32_t cap);
/* Replaces the whole state; *upto receives the tag.  -KBP_EMALFORMED on bad input (state untouched). */
int kbp_kv_restore(struct kbp_kv *kv, const uint8_t *buf, uint32_t len, uint64_t *upto);
/* Order-independent digest of the store, for tests comparing replicas. */
uint64_t kbp_kv_digest(const struct kbp_kv *kv);
uint32_t kbp_kv_keys(const struct kbp_kv *kv);

#endif
