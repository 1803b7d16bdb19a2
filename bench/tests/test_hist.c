/* SPDX-License-Identifier: MIT */
/* kbp_hist against exact percentiles of sorted random data, plus merge, saturation and edges. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kbp_hist.h"
#include "kbp_rng.h"

#define N_VALUES 200000

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The documented bound: |reported - true| < max(true * 10^-sig, unit). */
static void assert_within_bound(const struct kbp_hist *h, uint64_t reported, uint64_t exact)
{
	uint64_t unit = UINT64_C(1) << h->unit_shift;
	uint64_t range = kbp_hist_equiv_range(h, exact);

	/* Reports are the top of the sub-bucket: never below the truth. */
	assert_true(reported >= exact);
	assert_true(reported - exact < range);
	assert_true(range <= unit || (double)range <= (double)exact * pow(10, -h->sig_digits));
}

/* Record values, compare every percentile of interest and a random spread against sorting. */
static void check_against_sorted(uint64_t lowest, uint64_t highest, int sig, uint64_t *v, size_t n)
{
	static const double pcts[] = { 0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 99.999, 100 };
	struct kbp_hist h;
	struct kbp_rng rng = { 7 };
	double sum = 0;

	assert_int_equal(kbp_hist_init(&h, lowest, highest, sig), 0);
	for (size_t i = 0; i < n; i++) {
		kbp_hist_record(&h, v[i]);
		sum += (double)v[i];
	}
	qsort(v, n, sizeof(v[0]), cmp_u64);

	assert_int_equal(kbp_hist_total(&h), n);
	assert_int_equal(kbp_hist_saturated(&h), 0);
	assert_int_equal(kbp_hist_min(&h), v[0]);
	assert_int_equal(kbp_hist_max(&h), v[n - 1]);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		uint64_t exact = v[kbp_hist_rank(n, pcts[i]) - 1];
		assert_within_bound(&h, kbp_hist_value_at_percentile(&h, pcts[i]), exact);
	}
	for (int i = 0; i < 500; i++) {
		double p = kbp_rng_unit(&rng) * 100;
		uint64_t exact = v[kbp_hist_rank(n, p) - 1];
		assert_within_bound(&h, kbp_hist_value_at_percentile(&h, p), exact);
	}
	/* The mean comes from midpoints: each is within half a sub-bucket of its values. */
	double mean = sum / (double)n;
	double tol = mean * pow(10, -sig) + (double)(UINT64_C(1) << h.unit_shift);
	assert_true(fabs(kbp_hist_mean(&h) - mean) <= tol);
	kbp_hist_fini(&h);
}

static void test_uniform(void **state)
{
	static const int sigs[] = { 1, 2, 3, 4, 5 };
	uint64_t *v = malloc(N_VALUES * sizeof(*v));
	(void)state;

	for (size_t s = 0; s < sizeof(sigs) / sizeof(sigs[0]); s++) {
		struct kbp_rng rng = { 42 + s };
		for (size_t i = 0; i < N_VALUES; i++)
			v[i] = kbp_rng_next(&rng) % 10000000;
		check_against_sorted(1, UINT64_C(3600000000000), sigs[s], v, N_VALUES);
	}
	free(v);
}

/* Exponential body with a Pareto tail: what a server with occasional stalls looks like. */
static void test_long_tail(void **state)
{
	uint64_t *v = malloc(N_VALUES * sizeof(*v));
	struct kbp_rng rng = { 1234 };
	(void)state;

	for (size_t i = 0; i < N_VALUES; i++) {
		double u = kbp_rng_unit(&rng);
		double x = -log(1 - u) * 20000.0 + 5000.0;
		if (i % 100 == 0)
			x = 50000.0 / pow(1 - kbp_rng_unit(&rng), 1 / 1.1);
		v[i] = x > 1e12 ? (uint64_t)1e12 : (uint64_t)x;
	}
	check_against_sorted(1, UINT64_C(3600000000000), 3, v, N_VALUES);
	for (size_t i = 0; i < N_VALUES; i++)
		v[i] = (uint64_t)(-log(1 - kbp_rng_unit(&rng)) * 1e6);
	/* A coarse unit: values below lowest are only known to `unit`. */
	check_against_sorted(1000, UINT64_C(100000000000), 2, v, N_VALUES);
	check_against_sorted(3, UINT64_C(100000000000), 4, v, N_VALUES);
	free(v);
}

/* Index and sub-bucket bounds agree for every value of a small geometry. */
static void test_index_contiguous(void **state)
{
	struct kbp_hist h;
	(void)state;

	assert_int_equal(kbp_hist_init(&h, 4, 1000000, 2), 0);
	uint32_t prev = kbp_hist_index(&h, 0);
	assert_int_equal(prev, 0);
	for (uint64_t v = 0; v <= h.highest; v++) {
		uint32_t i = kbp_hist_index(&h, v);
		assert_true(i == prev || i == prev + 1);
		assert_true(i < h.counts_len);
		assert_true(kbp_hist_lowest_equiv(&h, v) <= v);
		assert_true(kbp_hist_highest_equiv(&h, v) >= v);
		prev = i;
	}
	assert_int_equal(h.highest_index, kbp_hist_index(&h, h.highest));
	kbp_hist_fini(&h);
}

static void test_merge_equals_single(void **state)
{
	struct kbp_hist all, lcore[4], merged;
	struct kbp_rng rng = { 99 };
	(void)state;

	assert_int_equal(kbp_hist_init(&all, 1, 10000000000, 3), 0);
	assert_int_equal(kbp_hist_init(&merged, 1, 10000000000, 3), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(kbp_hist_init(&lcore[i], 1, 10000000000, 3), 0);
	for (int i = 0; i < 100000; i++) {
		uint64_t v = (uint64_t)(-log(1 - kbp_rng_unit(&rng)) * 30000.0);
		if (i % 1000 == 0)
			v = 20000000000;      /* saturates in both */
		kbp_hist_record(&all, v);
		kbp_hist_record(&lcore[i % 4], v);
	}
	for (int i = 0; i < 4; i++)
		kbp_hist_merge(&merged, &lcore[i]);
	assert_memory_equal(merged.counts, all.counts, all.counts_len * sizeof(uint64_t));
	assert_int_equal(merged.total, all.total);
	assert_int_equal(merged.saturated, all.saturated);
	assert_int_equal(merged.saturated, 100);
	assert_int_equal(merged.min, all.min);
	assert_int_equal(merged.max, all.max);

	/* Another geometry: re-recorded at midpoints, so within one sub-bucket of each. */
	struct kbp_hist coarse;
	assert_int_equal(kbp_hist_init(&coarse, 1, 100000000000, 2), 0);
	kbp_hist_merge(&coarse, &all);
	assert_int_equal(coarse.total, all.total);
	assert_int_equal(coarse.saturated, 0);
	assert_int_equal(coarse.min, all.min);
	assert_int_equal(coarse.max, all.max);
	for (double p = 1; p < 99.9; p += 1.7) {
		double a = (double)kbp_hist_value_at_percentile(&all, p);
		double c = (double)kbp_hist_value_at_percentile(&coarse, p);
		assert_true(fabs(a - c) <= a * 0.011 + 1);
	}
	kbp_hist_fini(&coarse);
	for (int i = 0; i < 4; i++)
		kbp_hist_fini(&lcore[i]);
	kbp_hist_fini(&merged);
	kbp_hist_fini(&all);
}

static void test_saturation_counted(void **state)
{
	struct kbp_hist h;
	(void)state;

	assert_int_equal(kbp_hist_init(&h, 1, 1000000, 3), 0);
	for (uint64_t v = 1; v <= 995; v++)
		kbp_hist_record(&h, v);
	kbp_hist_record_n(&h, 5000000, 5);
	assert_int_equal(kbp_hist_total(&h), 1000);
	assert_int_equal(kbp_hist_saturated(&h), 5);
	assert_int_equal(kbp_hist_max(&h), 5000000);
	/* The top 0.5% are the saturated ones: they read as highest, not as something smaller. */
	assert_true(kbp_hist_value_at_percentile(&h, 99.9) >= h.highest);
	assert_true(kbp_hist_value_at_percentile(&h, 100) >= h.highest);
	assert_true(kbp_hist_value_at_percentile(&h, 99) < 1000);
	/* Exactly highest is trackable. */
	kbp_hist_reset(&h);
	kbp_hist_record(&h, h.highest);
	assert_int_equal(kbp_hist_saturated(&h), 0);
	assert_int_equal(kbp_hist_value_at_percentile(&h, 100), h.highest);
	kbp_hist_fini(&h);
}

static void test_edges(void **state)
{
	struct kbp_hist h;
	struct kbp_hist_iter it;
	(void)state;

	assert_int_equal(kbp_hist_init(&h, 0, 1000, 3), -EINVAL);
	assert_int_equal(kbp_hist_init(&h, 1, 1000, 0), -EINVAL);
	assert_int_equal(kbp_hist_init(&h, 1, 1000, 6), -EINVAL);
	assert_int_equal(kbp_hist_init(&h, 600, 1000, 3), -EINVAL);
	assert_int_equal(kbp_hist_init(&h, 1, UINT64_MAX, 3), -EINVAL);
	assert_int_equal(kbp_hist_mem_size(1, 1000, 6), 0);
	assert_true(kbp_hist_mem_size(1, 3600000000000, 3) < 512 * 1024);

	/* Empty. */
	assert_int_equal(kbp_hist_init(&h, 1, 3600000000000, 3), 0);
	assert_int_equal(kbp_hist_total(&h), 0);
	assert_int_equal(kbp_hist_value_at_percentile(&h, 50), 0);
	assert_int_equal(kbp_hist_min(&h), 0);
	assert_int_equal(kbp_hist_max(&h), 0);
	assert_true(kbp_hist_mean(&h) == 0);
	assert_true(kbp_hist_stddev(&h) == 0);
	kbp_hist_iter_init(&it, &h, 5);
	assert_false(kbp_hist_iter_next(&it));

	/* Value 0. */
	kbp_hist_record(&h, 0);
	assert_int_equal(kbp_hist_value_at_percentile(&h, 50), 0);
	assert_int_equal(kbp_hist_value_at_percentile(&h, 100), 0);
	assert_int_equal(kbp_hist_min(&h), 0);

	/* A single large value reads back exactly: reports clamp to the true max. */
	kbp_hist_reset(&h);
	kbp_hist_record(&h, 123456789);
	for (double p = 0; p <= 100; p += 12.5)
		assert_int_equal(kbp_hist_value_at_percentile(&h, p), 123456789);
	assert_int_equal(kbp_hist_min(&h), 123456789);
	assert_true(fabs(kbp_hist_mean(&h) - 123456789.0) < 123456789.0 * 1e-3);
	kbp_hist_iter_init(&it, &h, 5);
	assert_true(kbp_hist_iter_next(&it));
	assert_true(it.percentile == 0);
	assert_int_equal(it.value, 123456789);
	assert_true(kbp_hist_iter_next(&it));
	assert_true(it.percentile == 100);
	assert_int_equal(it.count_to, 1);
	assert_false(kbp_hist_iter_next(&it));

	/* record_n is n records. */
	struct kbp_hist one;
	assert_int_equal(kbp_hist_init(&one, 1, 3600000000000, 3), 0);
	kbp_hist_reset(&h);
	kbp_hist_record_n(&h, 777, 1000);
	for (int i = 0; i < 1000; i++)
		kbp_hist_record(&one, 777);
	assert_memory_equal(h.counts, one.counts, h.counts_len * sizeof(uint64_t));
	assert_int_equal(h.total, one.total);
	kbp_hist_fini(&one);
	kbp_hist_fini(&h);
}

/* The spectrum is monotonic, denser toward the tail, and ends at 100% with max and total. */
static void test_iterator_spectrum(void **state)
{
	struct kbp_hist h;
	struct kbp_hist_iter it;
	struct kbp_rng rng = { 5 };
	uint64_t prev_v = 0, prev_c = 0;
	double prev_p = -1;
	int rows = 0, rows_above_99 = 0;
	(void)state;

	assert_int_equal(kbp_hist_init(&h, 1, 3600000000000, 3), 0);
	for (int i = 0; i < 1000000; i++)
		kbp_hist_record(&h, (uint64_t)(-log(1 - kbp_rng_unit(&rng)) * 1e5));
	kbp_hist_iter_init(&it, &h, 5);
	while (kbp_hist_iter_next(&it)) {
		assert_true(it.value >= prev_v);
		assert_true(it.count_to >= prev_c);
		assert_true(it.percentile > prev_p);
		/* The row's count covers its percentile. */
		assert_true((double)it.count_to >= it.percentile / 100 * (double)h.total - 1e-6);
		if (it.percentile > 99)
			rows_above_99++;
		prev_v = it.value;
		prev_c = it.count_to;
		prev_p = it.percentile;
		rows++;
	}
	assert_true(prev_p == 100);
	assert_int_equal(prev_c, h.total);
	assert_int_equal(prev_v, kbp_hist_max(&h));
	/* 5 ticks per halving: 10 rows to 50%, then 5 per halving down to 1e-6. */
	assert_true(rows > 80 && rows < 200);
	assert_true(rows_above_99 > 40);
	kbp_hist_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_long_tail),
		cmocka_unit_test(test_index_contiguous),
		cmocka_unit_test(test_merge_equals_single),
		cmocka_unit_test(test_saturation_counted),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_iterator_spectrum),
	};
	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
