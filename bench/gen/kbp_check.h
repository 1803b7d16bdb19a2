/* SPDX-License-Identifier: MIT */
/*
 * kbpaxos-gen --check: the generator's history of every put, get and cas it issues,
 * and the verdict on it.  Recording is a few stores per request into an array sized at
 * start (no allocation, no system call); the check runs once, after the run, one key at
 * a time (kbp_lin.h says how).
 *
 * Values.  The checker names every value: a PUT or CAS writes value id (record index
 * + 1), unique in the run, so an answer names the one write it saw.  A CAS expects the
 * latest value the generator knows for its key (the last one read or written), so CASes
 * succeed often enough on contended keys.  Id 0 is "absent"; KBP_LIN_FOREIGN is a value
 * this run never wrote.
 *
 * Bound.  At most ops_max records (KBP_CHECK_REC_BYTES each) plus 8 bytes per key.  When
 * they are all used kbp_check_full() turns true and the generator stops issuing (the
 * run ends early, as on Ctrl-C) and drains: a request it did not record could be the
 * write that a recorded read saw, so it must not send one.
 */
#ifndef KBP_CHECK_H
#define KBP_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kbp_json.h"
#include "kbp_lin.h"

#define KBP_CHECK_EXCERPT_MAX 24u
#define KBP_CHECK_REC_BYTES 48u
#define KBP_CHECK_NO_REC UINT32_MAX     /* not recorded: every call below ignores it */

struct kbp_check;

enum kbp_check_verdict {
	KBP_CHECK_YES = 0,
	KBP_CHECK_NO = 1,
	KBP_CHECK_UNKNOWN = 2,       /* the time bound (or memory) ran out first */
};

struct kbp_check_result {
	enum kbp_check_verdict verdict;
	uint64_t ops;                /* recorded */
	uint64_t unknown;            /* of which without a definite answer */
	uint64_t unknown_kept;       /* ... whose value somebody saw (searched) */
	uint64_t keys;               /* keys with at least one operation */
	uint64_t keys_failed, keys_unchecked;
	uint64_t steps;              /* search steps over every key */
	double seconds;              /* wall time of the whole check */
	bool full;                   /* the recording bound was reached */
	/* The first key that failed, and a small part of its history that cannot be ordered. */
	uint64_t bad_key;
	uint32_t bad_key_ops;
	uint32_t n_excerpt;          /* operations in the excerpt (at most KBP_CHECK_EXCERPT_MAX shown) */
	uint32_t excerpt_total;      /* its size before truncation */
	bool excerpt_minimal;
	struct kbp_lin_op excerpt[KBP_CHECK_EXCERPT_MAX];
};

/* ops_max records for keys 0..keys-1.  NULL when out of memory. */
struct kbp_check *kbp_check_new(uint32_t ops_max, uint64_t keys);
void kbp_check_free(struct kbp_check *c);

/* Every record used: issue nothing more. */
bool kbp_check_full(const struct kbp_check *c);

/*
 * Record that client invokes op on key at time t (any monotonic unit, taken before the
 * request is sent).  Precondition: !kbp_check_full(c).  Returns the record index; the
 * values the command carries are kbp_check_values().  Only PUT, GET and CAS are
 * recorded: any other op (a session's registration, say) gets KBP_CHECK_NO_REC.
 */
uint32_t kbp_check_invoke(struct kbp_check *c, uint64_t key, uint8_t op, uint32_t client, uint64_t t);
/* What record rec's command writes (PUT, CAS; else 0) and expects (CAS; else 0). */
void kbp_check_values(const struct kbp_check *c, uint32_t rec, uint64_t *exp, uint64_t *val);
/*
 * A definite answer at time t (taken after it arrived): status KBP_ST_OK, NOT_FOUND or
 * CAS_FAILED; read: the value id answered (GET OK, CAS_FAILED), else ignored.
 */
void kbp_check_complete(struct kbp_check *c, uint32_t rec, uint8_t status, uint64_t read, uint64_t t);
/* The generator is done with rec: without a definite answer, its outcome is unknown. */
void kbp_check_end(struct kbp_check *c, uint32_t rec);

/*
 * Check every key, giving up after time_limit_s seconds (the search and the excerpt
 * together); cache_bytes bounds the search's memo (0: the default).  Returns 0, or
 * -ENOMEM before anything could be checked.
 */
int kbp_check_run(struct kbp_check *c, double time_limit_s, size_t cache_bytes,
		  struct kbp_check_result *r);

/* The same as an object "check" in a run summary. */
void kbp_check_json(const struct kbp_check_result *r, struct kbp_json *j, uint64_t t0,
		    double ticks_per_s, const char *key_name);

/* "yes", "no", "unknown". */
const char *kbp_check_verdict_name(enum kbp_check_verdict v);

/*
 * Print the verdict line "linearizable=yes|no|unknown", the figures, and for no the
 * excerpt: times in seconds since t0, ticks_per_s to convert; key_name names a key.
 */
void kbp_check_print(const struct kbp_check_result *r, FILE *f, uint64_t t0, double ticks_per_s,
		     const char *key_name);

#endif
