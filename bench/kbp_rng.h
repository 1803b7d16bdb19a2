/* SPDX-License-Identifier: MIT */
/*
 * splitmix64: a tiny seeded generator for load generation and tests.  Reproducible from
 * its seed, one state word, good enough for picking keys and synthetic latencies; not
 * for anything secret.
 */
#ifndef KBP_RNG_H
#define KBP_RNG_H

#include <stdint.h>

struct kbp_rng {
	uint64_t state;
};

static inline uint64_t kbp_rng_next(struct kbp_rng *r)
{
	uint64_t z = (r->state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, 1): the top 53 bits, so every double step is reachable. */
static inline double kbp_rng_unit(struct kbp_rng *r)
{
	return (double)(kbp_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
