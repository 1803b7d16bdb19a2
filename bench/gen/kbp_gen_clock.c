/* SPDX-License-Identifier: MIT */
/* NIC clock -> TSC: anchors, the line through them, and the per-frame choice of clock. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "kbp_gen_clock.h"

uint32_t kbp_gen_clock_first_without(const bool *rx_timestamp, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!rx_timestamp[i])
			return i;
	return n;
}

int kbp_gen_clock_anchor_pick(const struct kbp_gen_clock_sample *s, uint32_t n,
			      struct kbp_gen_clock_anchor *a)
{
	const struct kbp_gen_clock_sample *best = NULL;

	/* The NIC's read happened somewhere inside its bracket: the narrowest pins it best. */
	for (uint32_t i = 0; i < n; i++) {
		if (s[i].tsc_after < s[i].tsc_before)
			continue;
		if (!best || s[i].tsc_after - s[i].tsc_before < best->tsc_after - best->tsc_before)
			best = &s[i];
	}
	if (!best)
		return -EINVAL;
	a->nic = best->nic;
	a->bracket_tsc = best->tsc_after - best->tsc_before;
	a->tsc = best->tsc_before + a->bracket_tsc / 2;
	return 0;
}

void kbp_gen_clock_init(struct kbp_gen_clock *c, double tsc_hz)
{
	assert(tsc_hz > 0);
	memset(c, 0, sizeof(*c));
	c->early_max_tsc = (uint64_t)(KBP_GEN_CLOCK_EARLY_MAX_S * tsc_hz);
	c->late_max_tsc = (uint64_t)(KBP_GEN_CLOCK_LATE_MAX_S * tsc_hz);
}

void kbp_gen_clock_restart(struct kbp_gen_clock *c)
{
	c->n = 0;
	c->valid = false;
	c->restarts++;
}

static void restart_from(struct kbp_gen_clock *c, const struct kbp_gen_clock_anchor *a)
{
	kbp_gen_clock_restart(c);
	c->newest = 0;
	c->ring[0] = *a;
	c->n = 1;
}

int kbp_gen_clock_add(struct kbp_gen_clock *c, const struct kbp_gen_clock_anchor *a)
{
	if (c->n == 0) {
		c->newest = 0;
		c->ring[0] = *a;
		c->n = 1;
		return -EAGAIN;
	}
	const struct kbp_gen_clock_anchor *prev = &c->ring[c->newest];
	if (a->nic <= prev->nic || a->tsc <= prev->tsc) {
		restart_from(c, a);
		return -ERANGE;
	}
	c->newest = (c->newest + 1) % KBP_GEN_CLOCK_ANCHORS;
	c->ring[c->newest] = *a;
	if (c->n < KBP_GEN_CLOCK_ANCHORS)
		c->n++;
	const struct kbp_gen_clock_anchor *old =
		&c->ring[(c->newest + KBP_GEN_CLOCK_ANCHORS - (c->n - 1)) % KBP_GEN_CLOCK_ANCHORS];
	/* Differences of at most a few seconds of ticks: exact in a double. */
	double slope = (double)(a->tsc - old->tsc) / (double)(a->nic - old->nic);
	if (c->valid && fabs(slope / c->slope - 1.0) > KBP_GEN_CLOCK_SLOPE_JUMP_MAX) {
		restart_from(c, a);
		return -ERANGE;
	}
	c->slope = slope;
	c->valid = true;
	return 0;
}

uint64_t kbp_gen_clock_to_tsc(const struct kbp_gen_clock *c, uint64_t nic)
{
	const struct kbp_gen_clock_anchor *base = &c->ring[c->newest];

	assert(c->valid);
	/* Signed: frames polled just after an anchor were often stamped before it. */
	double d_tsc = (double)(int64_t)(nic - base->nic) * c->slope;
	/* A garbage stamp must still give a number (far off, so arrival() rejects it). */
	d_tsc = fmax(fmin(d_tsc, 0x1p62), -0x1p62);
	return base->tsc + (uint64_t)llround(d_tsc);
}

bool kbp_gen_clock_arrival(struct kbp_gen_clock *c, bool stamped, uint64_t nic, uint64_t poll_tsc,
			   uint64_t *tsc)
{
	*tsc = poll_tsc;
	if (!stamped || !c->valid)
		return false;
	uint64_t t = kbp_gen_clock_to_tsc(c, nic);
	/* Wrap-free clocks: differences compared as signed, a garbage stamp lands far away. */
	int64_t early = (int64_t)(poll_tsc - t);
	if (early > (int64_t)c->early_max_tsc || early < -(int64_t)c->late_max_tsc) {
		c->rejected++;
		return false;
	}
	if (early > 0)
		*tsc = t;
	return true;
}
