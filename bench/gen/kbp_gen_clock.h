/* SPDX-License-Identifier: MIT */
/*
 * Reply arrival times from the NIC's receive stamps, in TSC ticks.  The NIC's clock is
 * not the TSC (other rate, other origin, its own drift), so each port keeps a line
 * tsc = base.tsc + (nic - base.nic) * slope, fitted through anchors: instants where
 * both clocks were read back to back.  A new anchor every KBP_GEN_CLOCK_PERIOD_MS moves
 * the base; the slope spans the last KBP_GEN_CLOCK_ANCHORS of them, so it follows drift
 * while one noisy anchor cannot tilt it much.  Pure arithmetic, no DPDK: the samples come
 * from kbp_gen_port.c, and the unit test drives it with synthetic clocks.
 */
#ifndef KBP_GEN_CLOCK_H
#define KBP_GEN_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define KBP_GEN_CLOCK_SAMPLES 8u           /* NIC clock reads per anchor: the tightest wins */
#define KBP_GEN_CLOCK_ANCHORS 11u          /* the slope spans 10 periods (1 s) */
#define KBP_GEN_CLOCK_PERIOD_MS 100u       /* a new anchor per port every ... */
#define KBP_GEN_CLOCK_FIRST_MS 20u         /* between the two anchors taken before the run */
#define KBP_GEN_CLOCK_SLOPE_JUMP_MAX 1e-3  /* crystals differ by ~100 ppm: more, the clock was set */
#define KBP_GEN_CLOCK_EARLY_MAX_S 1.0      /* a stamp this long before its poll is not believed */
#define KBP_GEN_CLOCK_LATE_MAX_S 20e-6     /* the fit's error allowed past the poll */

_Static_assert(KBP_GEN_CLOCK_ANCHORS >= 2, "a line needs two anchors");

/* One read of the NIC's clock between two TSC reads. */
struct kbp_gen_clock_sample {
	uint64_t tsc_before;
	uint64_t nic;
	uint64_t tsc_after;
};

/* Both clocks at (about) the same instant: tsc is the middle of the tightest bracket. */
struct kbp_gen_clock_anchor {
	uint64_t nic;
	uint64_t tsc;
	uint64_t bracket_tsc;   /* tsc_after - tsc_before of that sample: the anchor's uncertainty */
};

/* One port's NIC clock mapped onto the TSC.  Both clocks are 64-bit and never wrap. */
struct kbp_gen_clock {
	struct kbp_gen_clock_anchor ring[KBP_GEN_CLOCK_ANCHORS];
	uint32_t n;             /* anchors held */
	uint32_t newest;        /* ring index of the base */
	double slope;           /* TSC ticks per NIC tick */
	bool valid;             /* a line through at least two anchors */
	uint64_t early_max_tsc, late_max_tsc;
	uint64_t restarts;      /* anchors that broke the line (clock set or read failed) */
	uint64_t rejected;      /* stamped frames whose mapped time was implausible */
};

/*
 * The index of the first of n ports without RX timestamp offload (rx_timestamp[i]
 * false), or n when every one has it.  One clock serves the whole run so that a
 * histogram never mixes the NIC's times with the TSC's (which include the loop's delay
 * before the poll).  Whether a port can also read its clock is learnt when the started
 * port is anchored.
 */
uint32_t kbp_gen_clock_first_without(const bool *rx_timestamp, uint32_t n);

/*
 * The anchor of the sample with the smallest TSC bracket.  Returns 0, or -EINVAL when no
 * sample has tsc_after >= tsc_before (n == 0 included).
 */
int kbp_gen_clock_anchor_pick(const struct kbp_gen_clock_sample *s, uint32_t n,
			      struct kbp_gen_clock_anchor *a);

/* An empty line (no anchor, not valid); tsc_hz sets the plausibility window of stamps. */
void kbp_gen_clock_init(struct kbp_gen_clock *c, double tsc_hz);

/*
 * Add the newest anchor.  Returns 0 when the line is valid, -EAGAIN while it has one
 * anchor only, -ERANGE when the anchor broke the line (a clock did not advance, or the
 * slope jumped by more than KBP_GEN_CLOCK_SLOPE_JUMP_MAX): the line restarts from it.
 */
int kbp_gen_clock_add(struct kbp_gen_clock *c, const struct kbp_gen_clock_anchor *a);

/* Forget every anchor (the NIC's clock could not be read): invalid until two more. */
void kbp_gen_clock_restart(struct kbp_gen_clock *c);

/* A NIC time on the TSC.  Precondition: c->valid. */
uint64_t kbp_gen_clock_to_tsc(const struct kbp_gen_clock *c, uint64_t nic);

/*
 * When a frame polled at poll_tsc arrived: its NIC stamp mapped onto the TSC when it has
 * one (stamped), the line is valid and the result lies in [poll - EARLY_MAX, poll +
 * LATE_MAX] (capped at poll_tsc: it cannot have arrived after we saw it); otherwise
 * poll_tsc, as without hardware stamps.  Returns true when the NIC's time was used.
 */
bool kbp_gen_clock_arrival(struct kbp_gen_clock *c, bool stamped, uint64_t nic, uint64_t poll_tsc,
			   uint64_t *tsc);

#endif
