/* SPDX-License-Identifier: MIT */
/* History and log checkers for the simulator: agreement, durability, linearizability. */
#ifndef KBP_SIM_CHECK_H
#define KBP_SIM_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "kbp_cmd.h"

/* One client operation as the client saw it. */
struct sim_op {
	uint64_t client, seq;
	uint8_t op;
	uint8_t key;                  /* index into the simulator's key set */
	uint16_t val_len, exp_len;
	uint8_t val[32], exp[32];
	uint64_t invoke_ns, resp_ns;  /* resp_ns 0: never answered (outcome unknown) */
	uint8_t status;               /* answer, when answered */
	uint16_t resp_len;
	uint8_t resp[32];
};

struct sim_log;                       /* the chosen sequence, as nodes applied it */

struct sim_log *sim_log_new(void);
void sim_log_free(struct sim_log *l);
/* Records node `node` applying `slot`; returns false (and fills why) on disagreement. */
bool sim_log_apply(struct sim_log *l, unsigned node, uint64_t slot, uint32_t count,
		   const uint8_t *batch, uint32_t len, char *why, size_t whylen);
uint64_t sim_log_slots(const struct sim_log *l);

/*
 * Checks the client history against the chosen log: every answered write is in the log
 * with the answer the log order implies, nothing in the log was never asked for, log
 * order respects real time, and every read returned the state of some log prefix that
 * lies between its invocation and its answer.  Returns violations found (why: the first).
 */
unsigned sim_check_history(const struct sim_log *l, const struct sim_op *ops, unsigned n_ops,
			   unsigned keys, const char *const *key_names, char *why, size_t whylen);

#endif
