/* SPDX-License-Identifier: MIT */
/*
 * The NIC-clock-to-TSC line against synthetic clocks: other rates and origins (one past
 * 2^63), noisy brackets, drift, a stepped clock; and every way a reply falls back to the
 * TSC at poll (no stamp, no line, implausible stamp, a port without the offload).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kbp_gen_clock.h"

/* Two free-running clocks read at true time t (seconds since the test began). */
struct synth {
	uint64_t nic0, tsc0;
	double nic_hz, tsc_hz;
	double nic_drift;       /* relative change of nic_hz per second */
	uint32_t rng;
	uint32_t jitter_tsc;    /* each TSC read lands up to this far from the clock read */
};

static uint64_t nic_at(const struct synth *s, double t)
{
	return s->nic0 + (uint64_t)floor(s->nic_hz * t * (1.0 + s->nic_drift * t / 2));
}

static uint64_t tsc_at(const struct synth *s, double t)
{
	return s->tsc0 + (uint64_t)floor(s->tsc_hz * t);
}

static uint32_t rnd(struct synth *s, uint32_t below)
{
	s->rng = s->rng * 1664525u + 1013904223u;
	return below ? (s->rng >> 8) % below : 0;
}

/* What kbp_gen_port_clock_anchor does on a real port, at time t. */
static struct kbp_gen_clock_anchor anchor_at(struct synth *s, double t)
{
	struct kbp_gen_clock_sample smp[KBP_GEN_CLOCK_SAMPLES];
	struct kbp_gen_clock_anchor a;

	for (uint32_t i = 0; i < KBP_GEN_CLOCK_SAMPLES; i++) {
		double ti = t + i * 1e-6;
		smp[i].nic = nic_at(s, ti);
		smp[i].tsc_before = tsc_at(s, ti) - rnd(s, s->jitter_tsc + 1);
		smp[i].tsc_after = tsc_at(s, ti) + rnd(s, s->jitter_tsc + 1);
	}
	assert_int_equal(kbp_gen_clock_anchor_pick(smp, KBP_GEN_CLOCK_SAMPLES, &a), 0);
	assert_true(a.bracket_tsc <= 2u * s->jitter_tsc);
	return a;
}

static double err_tsc(const struct kbp_gen_clock *c, const struct synth *s, double t)
{
	return fabs((double)(int64_t)(kbp_gen_clock_to_tsc(c, nic_at(s, t)) - tsc_at(s, t)));
}

/* One port without the offload (net_memif, net_tap) puts the whole run on the TSC. */
static void test_first_without(void **state)
{
	bool capa[3] = { true, true, true };
	(void)state;

	assert_int_equal(kbp_gen_clock_first_without(capa, 3), 3);    /* every port: NIC */
	capa[1] = false;
	assert_int_equal(kbp_gen_clock_first_without(capa, 3), 1);
	capa[0] = false;
	assert_int_equal(kbp_gen_clock_first_without(capa, 3), 0);    /* the first one is named */
	assert_int_equal(kbp_gen_clock_first_without(capa, 0), 0);
}

static void test_anchor_pick(void **state)
{
	struct kbp_gen_clock_sample s[4] = {
		{ .tsc_before = 1000, .nic = 10, .tsc_after = 1300 },
		{ .tsc_before = 2000, .nic = 20, .tsc_after = 2041 },   /* tightest */
		{ .tsc_before = 3000, .nic = 30, .tsc_after = 2000 },   /* TSC went back: ignored */
		{ .tsc_before = 4000, .nic = 40, .tsc_after = 4100 },
	};
	struct kbp_gen_clock_anchor a;
	(void)state;

	assert_int_equal(kbp_gen_clock_anchor_pick(s, 4, &a), 0);
	assert_true(a.nic == 20 && a.tsc == 2020 && a.bracket_tsc == 41);
	assert_int_equal(kbp_gen_clock_anchor_pick(&s[2], 1, &a), -EINVAL);
	assert_int_equal(kbp_gen_clock_anchor_pick(s, 0, &a), -EINVAL);
}

/*
 * The run's schedule: two anchors KBP_GEN_CLOCK_FIRST_MS apart, then one per period;
 * stamps from just before the newest anchor to just before the next one.  The bound:
 * the base is off by half a bracket, the slope by a bracket and a NIC tick over its
 * span, and the stamp itself is quantised to a NIC tick.  *steady: the worst error once
 * the slope spans its full second.
 */
#define SCHEDULE_MAX 256u

static void run_schedule(struct synth *s, double seconds, double *steady)
{
	const double period = KBP_GEN_CLOCK_PERIOD_MS / 1e3, first = KBP_GEN_CLOCK_FIRST_MS / 1e3;
	const double probe[] = { -0.005, 0, 1e-6, period / 2, period * 0.99 };
	const double tick = s->tsc_hz / s->nic_hz;   /* a NIC tick in TSC ticks */
	double at[SCHEDULE_MAX];
	struct kbp_gen_clock c;
	struct kbp_gen_clock_anchor a;
	uint32_t n = 0;

	kbp_gen_clock_init(&c, s->tsc_hz);
	a = anchor_at(s, 0);
	assert_int_equal(kbp_gen_clock_add(&c, &a), -EAGAIN);
	assert_false(c.valid);
	at[n++] = 0;
	*steady = 0;
	for (double t = first; t < seconds; t += period) {
		assert_true(n < SCHEDULE_MAX);
		a = anchor_at(s, t);
		assert_int_equal(kbp_gen_clock_add(&c, &a), 0);
		assert_true(c.valid);
		at[n++] = t;
		double oldest = at[n > KBP_GEN_CLOCK_ANCHORS ? n - KBP_GEN_CLOCK_ANCHORS : 0];
		double span = t - oldest;
		for (unsigned k = 0; k < sizeof(probe) / sizeof(probe[0]); k++) {
			double d = fabs(probe[k]) + 1e-5;     /* the anchor's sample may be 7 us late */
			double bound = s->jitter_tsc / 2.0 + (s->jitter_tsc + 2 * tick) * d / span +
				       tick + 2 + s->tsc_hz * fabs(s->nic_drift) * (d + span) * d;
			double e = err_tsc(&c, s, t + probe[k]);
			assert_true(e <= bound);
			if (span > 0.99 && e > *steady)
				*steady = e;
		}
	}
	assert_int_equal(c.restarts, 0);
}

static void test_conversion(void **state)
{
	struct synth clocks[] = {
		/* ConnectX-like 156.25 MHz device clock, 2.9 GHz TSC, origin past 2^63. */
		{ .nic0 = UINT64_C(0xC000000000000123), .tsc0 = UINT64_C(123456789012345),
		  .nic_hz = 156.25e6, .tsc_hz = 2.9e9 },
		/* A nanosecond clock (E810, mlx5 real-time format), 2.1 GHz TSC. */
		{ .nic0 = UINT64_C(1700000000000000000), .tsc0 = 7, .nic_hz = 1e9, .tsc_hz = 2.1e9 },
		/* A NIC clock faster than the TSC. */
		{ .nic0 = 0, .tsc0 = UINT64_C(1) << 62, .nic_hz = 3.2e9, .tsc_hz = 1.5e9 },
	};
	double worst;
	(void)state;

	for (unsigned i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		/* Reads that take no time: off by little more than one NIC tick. */
		clocks[i].jitter_tsc = 0;
		run_schedule(&clocks[i], 3.0, &worst);
		assert_true(worst <= 1.25 * clocks[i].tsc_hz / clocks[i].nic_hz + 2);
		/* Reads bracketed by up to 2 x 40 TSC ticks: tens of nanoseconds at worst. */
		clocks[i].jitter_tsc = 40;
		clocks[i].rng = 1 + i;
		run_schedule(&clocks[i], 3.0, &worst);
		assert_true(worst / clocks[i].tsc_hz < 50e-9);
	}
}

/* A NIC crystal warming up: 1 ppm per second, far more than real; the line keeps up. */
static void test_drift(void **state)
{
	struct synth s = { .nic0 = 99, .tsc0 = 1000, .nic_hz = 1e9, .tsc_hz = 2.5e9,
			   .nic_drift = 1e-6, .jitter_tsc = 20, .rng = 7 };
	double worst;
	(void)state;

	run_schedule(&s, 10.0, &worst);
	/* By the end the rates differ by 10 ppm from the start (10 us per second if the
	 * first slope were kept); the moving slope stays within nanoseconds. */
	assert_true(worst / s.tsc_hz < 100e-9);
}

static struct kbp_gen_clock valid_line(struct synth *s, double *t)
{
	struct kbp_gen_clock c;
	struct kbp_gen_clock_anchor a;

	kbp_gen_clock_init(&c, s->tsc_hz);
	for (*t = 0; *t < 1.0; *t += 0.1) {
		a = anchor_at(s, *t);
		(void)kbp_gen_clock_add(&c, &a);
	}
	assert_true(c.valid);
	return c;
}

/* Someone sets the NIC's clock (PTP): the line restarts instead of bending. */
static void test_step(void **state)
{
	struct synth s = { .nic0 = 5000, .tsc0 = 1, .nic_hz = 1e9, .tsc_hz = 3e9 };
	struct kbp_gen_clock_anchor a;
	uint64_t at;
	double t;
	(void)state;

	struct kbp_gen_clock c = valid_line(&s, &t);
	s.nic0 += 1000000000u;                          /* one second forward */
	a = anchor_at(&s, t);
	assert_int_equal(kbp_gen_clock_add(&c, &a), -ERANGE);
	assert_false(c.valid);
	assert_int_equal(c.restarts, 1);
	assert_false(kbp_gen_clock_arrival(&c, true, nic_at(&s, t + 0.01), tsc_at(&s, t + 0.01), &at));
	assert_true(at == tsc_at(&s, t + 0.01));
	t += 0.1;
	a = anchor_at(&s, t);
	assert_int_equal(kbp_gen_clock_add(&c, &a), 0);
	assert_true(err_tsc(&c, &s, t + 0.05) <= 5);
	s.nic0 -= 500000000u;                           /* and back: NIC time did not advance */
	t += 0.1;
	a = anchor_at(&s, t);
	assert_int_equal(kbp_gen_clock_add(&c, &a), -ERANGE);
	assert_int_equal(c.restarts, 2);
}

/* Every reply is timed: by its stamp when there is a believable one, else at the poll. */
static void test_arrival(void **state)
{
	struct synth s = { .nic0 = UINT64_C(1) << 40, .tsc0 = UINT64_C(1) << 45, .nic_hz = 156.25e6,
			   .tsc_hz = 2e9 };
	struct kbp_gen_clock c;
	struct kbp_gen_clock_anchor a;
	uint64_t at, poll;
	double t;
	(void)state;

	/* No line yet (a port whose clock has not been anchored twice): the poll. */
	kbp_gen_clock_init(&c, s.tsc_hz);
	assert_false(kbp_gen_clock_arrival(&c, true, nic_at(&s, 0), tsc_at(&s, 0), &at));
	a = anchor_at(&s, 0);
	assert_int_equal(kbp_gen_clock_add(&c, &a), -EAGAIN);
	assert_false(kbp_gen_clock_arrival(&c, true, nic_at(&s, 0), tsc_at(&s, 0), &at));
	assert_true(at == tsc_at(&s, 0));

	c = valid_line(&s, &t);
	poll = tsc_at(&s, t + 0.05);
	/* A frame without the stamp flag: the poll. */
	assert_false(kbp_gen_clock_arrival(&c, false, nic_at(&s, t + 0.04), poll, &at));
	assert_true(at == poll);
	/* Stamped 3 us before the poll: the stamp, to within a NIC tick. */
	assert_true(kbp_gen_clock_arrival(&c, true, nic_at(&s, t + 0.05 - 3e-6), poll, &at));
	assert_true(fabs((double)(int64_t)(at - tsc_at(&s, t + 0.05 - 3e-6))) <= s.tsc_hz / s.nic_hz + 2);
	/* A bit after the poll (the fit's error): capped at the poll, still the NIC's. */
	assert_true(kbp_gen_clock_arrival(&c, true, nic_at(&s, t + 0.05 + 5e-6), poll, &at));
	assert_true(at == poll);
	assert_int_equal(c.rejected, 0);
	/* A millisecond after the poll, two seconds before it, garbage: rejected, the poll. */
	assert_false(kbp_gen_clock_arrival(&c, true, nic_at(&s, t + 0.051), poll, &at));
	assert_true(at == poll);
	assert_false(kbp_gen_clock_arrival(&c, true, nic_at(&s, t + 0.05 - 2.0), poll, &at));
	assert_false(kbp_gen_clock_arrival(&c, true, UINT64_MAX, poll, &at));
	assert_false(kbp_gen_clock_arrival(&c, true, 0, poll, &at));
	assert_true(at == poll);
	assert_int_equal(c.rejected, 4);
	/* The clock could not be read: back to the poll until two anchors again. */
	kbp_gen_clock_restart(&c);
	assert_false(kbp_gen_clock_arrival(&c, true, nic_at(&s, t + 0.05 - 3e-6), poll, &at));
	assert_true(at == poll);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_without),
		cmocka_unit_test(test_anchor_pick),
		cmocka_unit_test(test_conversion),
		cmocka_unit_test(test_drift),
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_arrival),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
