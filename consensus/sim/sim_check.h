/* SPDX-License-Identifier: MIT */
/* History and log checkers for the simulator: agreement, durability, linearizability. */
#ifndef KBP_SIM_CHECK_H
#define KBP_SIM_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "kbp_cmd.h"

#define SIM_VAL_MAX 32
#define SIM_PROBE_KEYS 8
#define SIM_PROBE_SESSIONS 64

struct sim_val {
	bool present;
	uint16_t len;
	uint8_t v[SIM_VAL_MAX];
};

/* One client operation as the client saw it (a REGISTER too: client is then its nonce). */
struct sim_op {
	uint64_t client, seq;
	uint8_t op;
	uint8_t key;                  /* index into the simulator's key set */
	uint16_t val_len, exp_len;
	uint8_t val[SIM_VAL_MAX], exp[SIM_VAL_MAX];
	uint64_t invoke_ns, resp_ns;  /* resp_ns 0: never answered (outcome unknown) */
	uint8_t status;               /* answer, when answered; SESSION_EXPIRED: outcome unknown */
	uint16_t resp_len;
	uint8_t resp[SIM_VAL_MAX];    /* REGISTER: the new id, little-endian */
};

/*
 * A replica's state machine as it stood after applying slots < upto (read from one of its
 * snapshots): compared with the reference model at the same point, so that a command run
 * twice, or a session kept that the rules drop, shows even when no client looks.
 */
struct sim_probe {
	unsigned node;
	uint64_t upto;
	uint64_t applied, executed, next_id;
	struct sim_val val[SIM_PROBE_KEYS];
	uint32_t sessions;            /* least recently used first */
	uint64_t id[SIM_PROBE_SESSIONS], seq[SIM_PROBE_SESSIONS];
};

/* What the checker must know of the run: the keys, and the session limits of the config. */
struct sim_check_cfg {
	unsigned keys;
	const char *const *key_names;
	uint32_t clients_max;
	uint64_t session_expiry_cmds;
};

struct sim_log;                       /* the chosen sequence, as nodes applied it */

struct sim_log *sim_log_new(void);
void sim_log_free(struct sim_log *l);
/* Records node `node` applying `slot`; returns false (and fills why) on disagreement. */
bool sim_log_apply(struct sim_log *l, unsigned node, uint64_t slot, uint32_t count,
		   const uint8_t *batch, uint32_t len, char *why, size_t whylen);
uint64_t sim_log_slots(const struct sim_log *l);

/*
 * Checks the client history against the chosen log, replayed through an independent
 * reference model of the state machine and its session rules: every answered write is in
 * the log with the answer the log order implies, nothing in the log was never asked for,
 * log order respects real time, every read returned the state of some log prefix that lies
 * between its invocation and its answer, and every probed replica state equals the model's
 * at the same slot.  Returns violations found (why: the first).
 */
unsigned sim_check_history(const struct sim_log *l, const struct sim_op *ops, unsigned n_ops,
			   const struct sim_probe *probes, unsigned n_probes,
			   const struct sim_check_cfg *cfg, char *why, size_t whylen);

#endif
