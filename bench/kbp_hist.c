/* SPDX-License-Identifier: MIT */
/* Log-linear histogram: geometry, queries, merge and the percentile iterator (see kbp_hist.h). */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_hist.h"

/* Highest value we accept as `highest`: keeps every shift below 64 bits. */
#define KBP_HIST_HIGHEST_MAX (UINT64_C(1) << 62)

struct kbp_hist_geom {
	unsigned unit_shift;
	unsigned sub_shift;
	uint32_t bucket_count;
	uint32_t counts_len;
};

static unsigned kbp_log2_floor(uint64_t v)
{
	assert(v != 0);
	return 63u - (unsigned)__builtin_clzll(v);
}

static int kbp_hist_geom(struct kbp_hist_geom *g, uint64_t lowest, uint64_t highest, int sig)
{
	if (sig < KBP_HIST_SIG_MIN || sig > KBP_HIST_SIG_MAX)
		return -EINVAL;
	if (lowest < 1 || highest >= KBP_HIST_HIGHEST_MAX || highest / 2 < lowest)
		return -EINVAL;

	/* S/2 >= 10^sig sub-buckets per bucket bound the relative width by 10^-sig. */
	uint64_t single_unit_max = 2;
	for (int i = 0; i < sig; i++)
		single_unit_max *= 10;
	g->sub_shift = kbp_log2_floor(single_unit_max - 1) + 1;
	g->unit_shift = kbp_log2_floor(lowest);

	/* Bucket b (b >= 1) ends below 2^(m+b) in scaled units; take the first that holds highest. */
	uint64_t top = highest >> g->unit_shift;
	uint32_t b = 1;
	while (g->sub_shift + b - 1 < 64 && (top >> (g->sub_shift + b - 1)) != 0)
		b++;
	g->bucket_count = b;
	g->counts_len = (b + 1) << (g->sub_shift - 1);
	assert((uint64_t)(g->counts_len) << g->unit_shift > 0);
	return 0;
}

uint64_t kbp_hist_mem_size(uint64_t lowest, uint64_t highest, int sig_digits)
{
	struct kbp_hist_geom g;

	if (kbp_hist_geom(&g, lowest, highest, sig_digits) != 0)
		return 0;
	return (uint64_t)g.counts_len * sizeof(uint64_t);
}

int kbp_hist_init(struct kbp_hist *h, uint64_t lowest, uint64_t highest, int sig_digits)
{
	struct kbp_hist_geom g;
	int rc = kbp_hist_geom(&g, lowest, highest, sig_digits);

	memset(h, 0, sizeof(*h));
	if (rc != 0)
		return rc;
	h->counts = calloc(g.counts_len, sizeof(uint64_t));
	if (h->counts == NULL)
		return -ENOMEM;
	h->lowest = lowest;
	h->highest = highest;
	h->sig_digits = sig_digits;
	h->unit_shift = g.unit_shift;
	h->sub_shift = g.sub_shift;
	h->sub_count = UINT32_C(1) << g.sub_shift;
	h->bucket_count = g.bucket_count;
	h->counts_len = g.counts_len;
	h->highest_index = kbp_hist_index(h, highest);
	assert(h->highest_index < h->counts_len);
	kbp_hist_reset(h);
	return 0;
}

void kbp_hist_fini(struct kbp_hist *h)
{
	free(h->counts);
	memset(h, 0, sizeof(*h));
}

void kbp_hist_reset(struct kbp_hist *h)
{
	memset(h->counts, 0, (size_t)h->counts_len * sizeof(uint64_t));
	h->total = 0;
	h->saturated = 0;
	h->min = UINT64_MAX;
	h->max = 0;
}

/* Inverse of kbp_hist_index: the bucket and the scaled sub-bucket start of index i. */
static void kbp_hist_locate(const struct kbp_hist *h, uint32_t i, unsigned *b, uint64_t *sub)
{
	assert(i < h->counts_len);
	if (i < h->sub_count) {
		*b = 0;
		*sub = i;
	} else {
		*b = (i >> (h->sub_shift - 1)) - 1;
		*sub = i - ((uint64_t)*b << (h->sub_shift - 1));
	}
}

static uint64_t kbp_hist_index_low(const struct kbp_hist *h, uint32_t i)
{
	unsigned b;
	uint64_t sub;

	kbp_hist_locate(h, i, &b, &sub);
	return sub << (b + h->unit_shift);
}

static uint64_t kbp_hist_index_width(const struct kbp_hist *h, uint32_t i)
{
	unsigned b;
	uint64_t sub;

	kbp_hist_locate(h, i, &b, &sub);
	return UINT64_C(1) << (b + h->unit_shift);
}

static uint64_t kbp_hist_index_mid(const struct kbp_hist *h, uint32_t i)
{
	return kbp_hist_index_low(h, i) + kbp_hist_index_width(h, i) / 2;
}

/* What a row or a percentile reports for index i: its top, but never above the true max. */
static uint64_t kbp_hist_index_report(const struct kbp_hist *h, uint32_t i)
{
	uint64_t top = kbp_hist_index_low(h, i) + kbp_hist_index_width(h, i) - 1;

	return top < h->max ? top : h->max;
}

uint64_t kbp_hist_lowest_equiv(const struct kbp_hist *h, uint64_t v)
{
	assert(v <= h->highest);
	return kbp_hist_index_low(h, kbp_hist_index(h, v));
}

uint64_t kbp_hist_highest_equiv(const struct kbp_hist *h, uint64_t v)
{
	return kbp_hist_lowest_equiv(h, v) + kbp_hist_equiv_range(h, v) - 1;
}

uint64_t kbp_hist_equiv_range(const struct kbp_hist *h, uint64_t v)
{
	assert(v <= h->highest);
	return kbp_hist_index_width(h, kbp_hist_index(h, v));
}

static bool kbp_hist_same_geom(const struct kbp_hist *a, const struct kbp_hist *b)
{
	return a->unit_shift == b->unit_shift && a->sub_shift == b->sub_shift &&
	       a->counts_len == b->counts_len && a->highest == b->highest;
}

void kbp_hist_merge(struct kbp_hist *dst, const struct kbp_hist *src)
{
	uint64_t min = dst->min < src->min ? dst->min : src->min;
	uint64_t max = dst->max > src->max ? dst->max : src->max;

	if (src->total == 0)
		return;
	if (kbp_hist_same_geom(dst, src)) {
		for (uint32_t i = 0; i < src->counts_len; i++)
			dst->counts[i] += src->counts[i];
		dst->total += src->total;
		dst->saturated += src->saturated;
	} else {
		uint64_t before = dst->total;
		for (uint32_t i = 0; i < src->counts_len; i++) {
			uint64_t n = src->counts[i];
			if (n == 0)
				continue;
			if (i == src->highest_index && src->saturated) {
				/* Saturated values are known only to lie in (highest, max]. */
				kbp_hist_record_n(dst, src->max, src->saturated);
				n -= src->saturated;
			}
			kbp_hist_record_n(dst, kbp_hist_index_mid(src, i), n);
		}
		assert(dst->total == before + src->total);
	}
	/* Midpoints are approximations; the extremes are known exactly. */
	dst->min = min;
	dst->max = max;
}

uint64_t kbp_hist_rank(uint64_t total, double p)
{
	if (total == 0)
		return 0;
	if (!(p > 0))                     /* also catches NaN */
		return 1;
	if (p >= 100)
		return total;
	double t = p / 100.0 * (double)total;
	/* Nearest rank is ceil(t); the margin absorbs the rounding of p/100 (99.9 * 1000 = 999.0000000000001). */
	double r = ceil(t - t * 1e-12);
	if (r < 1)
		return 1;
	if (r >= (double)total)
		return total;
	return (uint64_t)r;
}

uint64_t kbp_hist_value_at_percentile(const struct kbp_hist *h, double p)
{
	uint64_t rank = kbp_hist_rank(h->total, p);
	uint64_t seen = 0;

	if (rank == 0)
		return 0;
	for (uint32_t i = 0; i < h->counts_len; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			return kbp_hist_index_report(h, i);
	}
	assert(!"counts sum below total");
	return h->max;
}

uint64_t kbp_hist_min(const struct kbp_hist *h)
{
	return h->total ? h->min : 0;
}

uint64_t kbp_hist_max(const struct kbp_hist *h)
{
	return h->total ? h->max : 0;
}

double kbp_hist_mean(const struct kbp_hist *h)
{
	double sum = 0;

	if (h->total == 0)
		return 0;
	for (uint32_t i = 0; i < h->counts_len; i++)
		if (h->counts[i])
			sum += (double)h->counts[i] * (double)kbp_hist_index_mid(h, i);
	return sum / (double)h->total;
}

double kbp_hist_stddev(const struct kbp_hist *h)
{
	double mean = kbp_hist_mean(h), sq = 0;

	if (h->total == 0)
		return 0;
	for (uint32_t i = 0; i < h->counts_len; i++) {
		if (h->counts[i]) {
			double d = (double)kbp_hist_index_mid(h, i) - mean;
			sq += (double)h->counts[i] * d * d;
		}
	}
	return sqrt(sq / (double)h->total);
}

void kbp_hist_iter_init(struct kbp_hist_iter *it, const struct kbp_hist *h,
			uint32_t ticks_per_half)
{
	assert(ticks_per_half > 0);
	memset(it, 0, sizeof(*it));
	it->h = h;
	it->ticks_per_half = ticks_per_half;
	it->done = h->total == 0;
}

/* The next level: ticks_per_half steps between 0% and 50%, as many between 50% and 75%, ... */
static double kbp_hist_next_level(double level, uint32_t ticks_per_half)
{
	if (level >= 100)
		return 100;
	double halvings = floor(log2(100.0 / (100.0 - level)));
	double ticks = (double)ticks_per_half * pow(2.0, halvings + 1);
	return level + 100.0 / ticks;
}

bool kbp_hist_iter_next(struct kbp_hist_iter *it)
{
	const struct kbp_hist *h = it->h;

	if (it->done)
		return false;
	if (it->count_to == h->total && it->index > 0) {
		/* Every value is behind us: close the spectrum with 100% at max. */
		it->percentile = 100;
		it->done = true;
		return true;
	}
	uint64_t rank = kbp_hist_rank(h->total, it->level);
	while (it->count_to < rank) {
		assert(it->index < h->counts_len);
		it->count_to += h->counts[it->index];
		it->value = kbp_hist_index_report(h, it->index);
		it->index++;
	}
	it->percentile = it->level;
	it->done = it->percentile >= 100;
	it->level = kbp_hist_next_level(it->level, it->ticks_per_half);
	return true;
}
