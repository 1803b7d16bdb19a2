/* SPDX-License-Identifier: MIT */
/*
 * Linearizability of one register's history (one key of the key-value store): the
 * search behind `kbpaxos-gen --check`.  Pure C, no DPDK, no clock but the deadline.
 *
 * A history is a set of operations, each with the time it was invoked (call) and the
 * time its answer arrived (ret), and what the answer said.  It is linearizable when
 * every operation can be given one instant inside [call, ret] such that, replayed in
 * the order of those instants, a single register gives exactly the recorded answers
 * (Herlihy & Wing 1990).  Values are 64-bit ids: every write writes a value no other
 * write writes, so a read names the one write it saw.
 *
 * The register (the key-value store's semantics, consensus/kbp_kv.c):
 *   PUT v            state = v                                    answer OK
 *   GET              answer OK with state, NOT_FOUND when absent
 *   CAS exp -> v     absent: NOT_FOUND; state == exp: state = v, OK;
 *                    otherwise CAS_FAILED carrying the state
 *
 * Unknown outcomes (a request that timed out, or got an answer that does not say
 * whether it ran) are handled as Jepsen's Knossos does: the operation may take effect
 * at any instant after its call, or never; its ret is +infinity (KBP_LIN_NEVER).
 * "Never" needs no extra case: an operation linearized after every answered one is
 * indistinguishable from one that never ran.
 */
#ifndef KBP_LIN_H
#define KBP_LIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kbp_cmd.h"

#define KBP_LIN_ABSENT 0u                 /* the key holds nothing */
#define KBP_LIN_FOREIGN UINT64_MAX        /* a value read that no write of ours wrote */
#define KBP_LIN_NEVER UINT64_MAX          /* ret of an operation with an unknown outcome */
#define KBP_LIN_UNKNOWN 0xffu             /* status: no definite answer */
#define KBP_LIN_CACHE_DEFAULT ((size_t)64 << 20)

struct kbp_lin_op {
	uint64_t call, ret;      /* ret = KBP_LIN_NEVER when status is KBP_LIN_UNKNOWN */
	uint64_t val;            /* PUT, CAS: the value written (unique, not ABSENT/FOREIGN) */
	uint64_t exp;            /* CAS: the value expected */
	uint64_t read;           /* GET OK, CAS_FAILED: the value answered; else ABSENT */
	uint32_t client;         /* who issued it (reports only) */
	uint32_t tag;            /* the caller's index (reports only) */
	uint8_t op;              /* KBP_OP_PUT, KBP_OP_GET, KBP_OP_CAS */
	uint8_t status;          /* KBP_ST_OK, KBP_ST_NOT_FOUND, KBP_ST_CAS_FAILED, KBP_LIN_UNKNOWN */
};

enum kbp_lin_verdict {
	KBP_LIN_YES = 0,
	KBP_LIN_NO = 1,
	KBP_LIN_TIMEOUT = 2,     /* the deadline passed first */
	KBP_LIN_NOMEM = 3,
};

struct kbp_lin_limits {
	uint64_t deadline_ns;    /* CLOCK_MONOTONIC; 0: none */
	size_t cache_bytes;      /* bound on the search's memo (0: KBP_LIN_CACHE_DEFAULT); emptied when full */
};

struct kbp_lin_stats {
	uint64_t steps;          /* operations tried at some point of the search */
	uint64_t cache_resets;
	uint32_t searched;       /* operations in the search after pruning */
	uint32_t unknown_kept;   /* unknown outcomes whose value somebody saw */
	uint32_t unknown_dropped;
};

/* The current CLOCK_MONOTONIC time, for deadlines. */
uint64_t kbp_lin_now_ns(void);

/*
 * Is ops[0..n) (one key, any order) linearizable?  YES, NO, or TIMEOUT/NOMEM when it
 * could not tell.  ops is not modified; st (may be NULL) receives counters.
 */
enum kbp_lin_verdict kbp_lin_check(const struct kbp_lin_op *ops, uint32_t n,
				   const struct kbp_lin_limits *lim, struct kbp_lin_stats *st);

/*
 * For a history kbp_lin_check() called NO (precondition): a small sub-history that is already not
 * linearizable on its own, as indexes into ops written to keep[] (capacity n, in call
 * order); returns how many, or 0 on NOMEM.  *minimal says whether removing any single
 * operation (with what depends on it) would make it linearizable; false when the
 * deadline cut the shrinking short (keep[] is then failing but larger than needed).
 */
uint32_t kbp_lin_excerpt(const struct kbp_lin_op *ops, uint32_t n, const struct kbp_lin_limits *lim,
			 uint32_t *keep, bool *minimal);

#endif
