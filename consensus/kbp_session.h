/* SPDX-License-Identifier: MIT */
/*
 * The client session table behind the key-value store (Raft dissertation §6.3): one record
 * per live session, found by client id through an open-addressing index, and kept on a
 * list in order of last use (by log position), oldest first, so that eviction and expiry
 * take the oldest in O(1).  Records never move; the index holds record numbers, so a
 * deletion shifts only 4-byte index entries.  Everything is allocated by _init.
 *
 * The table is part of the replicated state: only the key-value store changes it, while
 * applying chosen commands in log order, so every replica holds the same sessions in the
 * same order.  Private to consensus/.
 */
#ifndef KBP_SESSION_H
#define KBP_SESSION_H

#include "kbp_cmd.h"

#define KBP_SESSION_NONE UINT32_MAX

struct kbp_session {
	uint64_t client_id;          /* 0: a free record */
	uint64_t seq;                /* latest executed seq; 0 before the first */
	uint64_t last_use;           /* store's apply count at registration or the latest execution */
	uint32_t older, newer;       /* the use-order list (free records: `newer` chains them) */
	uint8_t status;              /* the answer to `seq`, kept for its retries */
	uint16_t val_len;
	uint8_t val[KBP_VAL_MAX];
};

struct kbp_sessions {
	uint32_t max, n;
	uint32_t index_mask;         /* index size - 1; the index is at most half full */
	uint32_t *index;             /* record numbers, KBP_SESSION_NONE: empty */
	uint64_t *scratch;           /* an index-sized set of client ids (0: empty), for checking snapshots */
	struct kbp_session *rec;
	uint32_t oldest, newest;     /* list ends, KBP_SESSION_NONE when empty */
	uint32_t free_head;
};

int kbp_sessions_init(struct kbp_sessions *t, uint32_t max);
void kbp_sessions_fini(struct kbp_sessions *t);
void kbp_sessions_clear(struct kbp_sessions *t);
void kbp_sessions_prefault(struct kbp_sessions *t);

struct kbp_session *kbp_sessions_find(const struct kbp_sessions *t, uint64_t client_id);
/* Adds a session as the newest.  Precondition: not full, client_id new and not 0. */
struct kbp_session *kbp_sessions_add(struct kbp_sessions *t, uint64_t client_id, uint64_t now);
void kbp_sessions_remove(struct kbp_sessions *t, struct kbp_session *s);
/* s was used at apply count `now`: it becomes the newest. */
void kbp_sessions_touch(struct kbp_sessions *t, struct kbp_session *s, uint64_t now);
/* The least recently used session, or NULL. */
struct kbp_session *kbp_sessions_oldest(const struct kbp_sessions *t);
/* The next newer one than s, or NULL: walks the table oldest first. */
const struct kbp_session *kbp_sessions_newer(const struct kbp_sessions *t, const struct kbp_session *s);

/*
 * For validating a snapshot without touching the live table: forget every id in the
 * scratch set, then add them one by one; _scratch_add returns false on a repeat.
 */
void kbp_sessions_scratch_reset(struct kbp_sessions *t);
bool kbp_sessions_scratch_add(struct kbp_sessions *t, uint64_t client_id);

#endif
