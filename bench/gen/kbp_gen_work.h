/* SPDX-License-Identifier: MIT */
/*
 * The generator's workload, without DPDK: command-line options, the key distribution
 * (uniform or Zipf), the operation mix, and the encoding of one command.  Kept apart
 * from kbp_gen.c so it is unit-tested without an EAL.
 *
 * Keys are "k" followed by key_size-1 decimal digits of the key index (zero padded).
 * Every PUT writes the same value for a key (a pattern derived from its index), and a
 * CAS expects that value and writes it again, so a CAS succeeds once the key has been
 * put and fails (KBP_ST_CAS_FAILED, a correct answer) only before that.
 *
 * Under --check every write must be told apart (kbp_check.h): a PUT or CAS writes the
 * value id the checker gives it, and the value's bytes are that id (le64), the run's
 * nonce (le64) and a pattern from key and id; a reply's value is read back with
 * kbp_gen_value_id().  The key indexes are offset by key_base, a multiple of --keys
 * picked from the nonce, so a run starts on keys no earlier run wrote.
 */
#ifndef KBP_GEN_WORK_H
#define KBP_GEN_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kbp_cmd.h"
#include "kbp_rng.h"

#define KBP_GEN_TARGET_DISCOVER (-1)
#define KBP_GEN_OPS (KBP_OP_CAS + 1)   /* the workload's ops: PUT, GET, CAS (REGISTER is set-up) */
#define KBP_GEN_SESSIONS_MAX 65536u
#define KBP_GEN_KEY_SIZE_MIN 8u
#define KBP_GEN_CHECK_VALUE_MIN 16u     /* id + nonce */
#define KBP_GEN_CHECK_KEYS_MAX 1000000u
#define KBP_GEN_CHECK_KEY_SPACES 1000u  /* --check wants room for this many runs' keys */
#define KBP_GEN_CHECK_OPS_MAX (UINT32_C(1) << 28)
#define KBP_GEN_VALUE_FOREIGN UINT64_MAX

struct kbp_gen_opts {
	const char *config;          /* --config: cluster INI with a [generator] section */
	double rate;                 /* --rate: requests/s, open loop; 0 = closed loop */
	uint32_t outstanding;        /* --outstanding: closed loop requests in flight */
	uint32_t sessions;           /* --sessions: open loop client ids (requests in flight at most) */
	double duration_s;           /* --duration: measured seconds */
	double warmup_s;             /* --warmup: seconds run but not measured */
	uint32_t value_size;         /* --value-size: bytes of a PUT/CAS value */
	uint32_t key_size;           /* --key-size: bytes of a key */
	uint64_t keys;               /* --keys: distinct keys */
	double zipf_s;               /* --dist zipf:S; 0 = uniform */
	uint32_t mix[KBP_OP_COUNT];  /* --mix put=80,get=15,cas=5: weights, [KBP_OP_NOOP] unused */
	int target;                  /* --target N, or KBP_GEN_TARGET_DISCOVER */
	double timeout_ms;           /* --timeout: resend (same seq) after this long */
	uint32_t retries;            /* --retries: resends before a request counts as timed out */
	double busy_backoff_us;      /* --busy-backoff: wait before resending after BUSY */
	uint32_t batch;              /* --batch: commands per frame at most (0 = the config's) */
	uint64_t seed;               /* --seed */
	const char *out_dir;         /* --out DIR, or NULL */
	const char *label;           /* --label: run name in files and plots */
	bool quiet;                  /* --quiet: no live lines */
	bool no_plots;               /* --no-plots */
	bool check;                  /* --check: record the history, check linearizability */
	uint32_t check_ops;          /* --check-ops: records at most (the run stops there) */
	double check_time_s;         /* --check-time: bound on the check */
};

void kbp_gen_opts_default(struct kbp_gen_opts *o);

/*
 * Parse the application's arguments (after the EAL's, or all of them: the generator
 * builds EAL arguments from the config itself).  Returns 0, 1 when --help was printed,
 * or -1 with one line in err.
 */
int kbp_gen_opts_parse(struct kbp_gen_opts *o, int argc, char **argv, char *err, size_t err_len);
void kbp_gen_usage(const char *prog);

/* "put=80,get=15,cas=5" (any order, any subset, weights need not sum to 100). */
int kbp_gen_parse_mix(const char *s, uint32_t mix[KBP_OP_COUNT]);
/* "uniform" (s = 0) or "zipf:S" with S > 0. */
int kbp_gen_parse_dist(const char *s, double *zipf_s);

/*
 * Zipf over ranks 1..n with exponent s > 0 by rejection-inversion (W. Hörmann and
 * G. Derflinger, "Rejection-inversion to generate variates from monotone discrete
 * distributions", 1996): O(1) per sample, no table, any n and s.
 */
struct kbp_zipf {
	uint64_t n;
	double s;
	double h_x1;                 /* H(1.5) - 1 */
	double h_n;                  /* H(n + 0.5) */
	double cut;                  /* accept without the second test when k - x <= cut */
};

void kbp_zipf_init(struct kbp_zipf *z, uint64_t n, double s);
/* A rank in 1..n; rank 1 is the most frequent. */
uint64_t kbp_zipf_next(const struct kbp_zipf *z, struct kbp_rng *r);

/* What the generator draws for each request. */
struct kbp_gen_work {
	uint64_t keys;
	uint32_t key_size;
	uint32_t value_size;
	bool zipf;
	struct kbp_zipf z;
	uint32_t mix_cum[KBP_OP_COUNT];   /* cumulative weights, op order */
	uint32_t mix_total;
	struct kbp_rng rng;
	bool check;                  /* values carry ids (kbp_check.h) */
	uint64_t nonce;              /* --check: this run's */
	uint64_t key_base;           /* --check: added to every key index on the wire */
};

int kbp_gen_work_init(struct kbp_gen_work *w, const struct kbp_gen_opts *o);
/* --check: this run's nonce (any number that differs between runs) picks key_base. */
void kbp_gen_work_set_nonce(struct kbp_gen_work *w, uint64_t nonce);
uint64_t kbp_gen_work_key(struct kbp_gen_work *w);
uint8_t kbp_gen_work_op(struct kbp_gen_work *w);

/* Bytes one command of op takes on the wire (REGISTER: the bare header). */
uint32_t kbp_gen_cmd_size(const struct kbp_gen_work *w, uint8_t op);

/*
 * Encode command (client_id, seq, op, key) at buf, which has room for
 * kbp_gen_cmd_size(w, op) bytes.  Under --check a CAS expects value id exp and a PUT
 * or CAS writes value id val (both ignored otherwise).  For KBP_OP_REGISTER, client_id
 * is the nonce (bit 63 set) and key is ignored.  Returns the bytes written.  No
 * allocation.
 */
uint32_t kbp_gen_cmd_encode(const struct kbp_gen_work *w, uint8_t *buf, uint64_t client_id,
			    uint64_t seq, uint8_t op, uint64_t key, uint64_t exp, uint64_t val);

/* --check: the id of the value v[0..len) of key, or KBP_GEN_VALUE_FOREIGN if this run did not write it. */
uint64_t kbp_gen_value_id(const struct kbp_gen_work *w, uint64_t key, const uint8_t *v, uint32_t len);

/* The key's name as it goes on the wire ("k000000000000042"), for reports. */
void kbp_gen_key_name(const struct kbp_gen_work *w, uint64_t key, char *buf, size_t len);

#endif
