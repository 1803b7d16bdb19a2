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

struct kbp_kv *kbp_kv_new(uint32_t keys_max, uint32_t clients_max);
void kbp_kv_free(struct kbp_kv *kv);
/* Touch the tables' pages now rather than under load (see kbp_node_prefault). */
void kbp_kv_prefault(struct kbp_kv *kv);

/*
 * Fault in one byte per 4 KiB page by writing back what it holds: the memory may already
 * hold state (kbpaxosd touches it after log recovery), so nothing may change.
 */
static inline void kbp_touch_pages(void *p, size_t len)
{
	volatile uint8_t *b = p;
	for (size_t off = 0; off < len; off += 4096)
		b[off] = b[off];
}

/*
 * Applies one chosen command.  Fills *r (its value points into the store and stays
 * valid until the next apply).  Returns true if the command was new, false if it was a
 * duplicate of the client's latest applied request (r then holds the first answer) or
 * an older one (r->status = KBP_ST_INVALID: nobody waits for it).
 */
bool kbp_kv_apply(struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r);

/* The answer a GET would give now, without touching sessions (lease reads). */
void kbp_kv_read(const struct kbp_kv *kv, const struct kbp_cmd *c, struct kbp_reply *r);

/*
 * If (client, seq) was already applied, fill *r with what to answer and return true:
 * the saved reply for the latest seq, KBP_ST_INVALID for an older one.
 */
bool kbp_kv_session_lookup(const struct kbp_kv *kv, uint64_t client_id, uint64_t seq,
			   struct kbp_reply *r);

uint32_t kbp_kv_snapshot_bytes_max(const struct kbp_kv *kv);
/* Serializes store + sessions, tagged with `upto`; returns bytes or -KBP_ETOOBIG. */
int kbp_kv_snapshot(const struct kbp_kv *kv, uint64_t upto, uint8_t *buf, uint32_t cap);
/* Replaces the whole state; *upto receives the tag.  -KBP_EMALFORMED on bad input (state untouched). */
int kbp_kv_restore(struct kbp_kv *kv, const uint8_t *buf, uint32_t len, uint64_t *upto);
/* Order-independent digest of the store, for tests comparing replicas. */
uint64_t kbp_kv_digest(const struct kbp_kv *kv);
uint32_t kbp_kv_keys(const struct kbp_kv *kv);

#endif
