/* SPDX-License-Identifier: MIT */
/* Inside the --check search: what kbp_lin.c (the method) and kbp_lin_search.c (the search) share. */
#ifndef KBP_LIN_IMPL_H
#define KBP_LIN_IMPL_H

#include "kbp_lin.h"

/* Can op take effect on register state s with the answer it got?  *ns: the state after. */
bool kbp_lin_step(uint64_t s, const struct kbp_lin_op *o, uint64_t *ns);

bool kbp_lin_deadline_passed(const struct kbp_lin_limits *lim);

/*
 * The Wing & Gong search with Lowe's memo over ops[opi[0..m)] (opi in call order), op
 * i's call at ops[i].call and its return at eret[i].  TIMEOUT at the deadline or after
 * about steps_max steps (0: no limit).  Adds its steps to st (may be NULL).
 */
enum kbp_lin_verdict kbp_lin_search(const struct kbp_lin_op *ops, const uint32_t *opi, uint32_t m,
				    const uint64_t *eret, const struct kbp_lin_limits *lim,
				    uint64_t steps_max, struct kbp_lin_stats *st);

#endif
