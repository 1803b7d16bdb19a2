/* SPDX-License-Identifier: MIT */
/*
 * A log-linear latency histogram with bounded relative error (the HdrHistogram idea,
 * written small): values are unsigned integers in any unit (ns, TSC ticks).
 *
 * Layout.  Let unit = 2^u be the largest power of two <= lowest discernible value, and
 * S = 2^m the smallest power of two >= 2 * 10^sig_digits.  A value v is first scaled,
 * s = v >> u.  Bucket 0 counts s in [0, S) one by one; bucket b >= 1 counts s in
 * [2^(m-1+b), 2^(m+b)) in S/2 sub-buckets of width 2^b.  Every sub-bucket at or above
 * S/2 * unit is therefore at most 1/(S/2) <= 10^-sig_digits of its value wide, and
 * the ones below are `unit` wide:
 *
 *     |reported - true| < max(true * 10^-sig_digits, unit)     (unit <= lowest)
 *
 * The counts are allocated once in kbp_hist_init; recording never allocates, locks or
 * fails.  A histogram is single-writer: give each lcore its own and merge at the end.
 *
 * Saturation.  A value above `highest` cannot be placed exactly.  It is counted in
 * `saturated` and recorded as `highest`, so percentile ranks stay right (a p99.9 that
 * falls among them reads as `highest`, not as some smaller value) and reports can say
 * ">= highest".  Nothing is ever dropped.
 */
#ifndef KBP_HIST_H
#define KBP_HIST_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KBP_HIST_SIG_MIN 1
#define KBP_HIST_SIG_MAX 5

struct kbp_hist {
	/* Geometry, fixed at init. */
	uint64_t lowest;          /* lowest discernible value, >= 1 */
	uint64_t highest;         /* highest trackable value, >= 2 * lowest */
	int sig_digits;           /* 1..5 */
	unsigned unit_shift;      /* u: unit = 1 << u <= lowest */
	unsigned sub_shift;       /* m: sub_count = 1 << m */
	uint32_t sub_count;       /* S: sub-buckets in bucket 0 */
	uint32_t bucket_count;    /* buckets, bucket 0 included */
	uint32_t counts_len;      /* (bucket_count + 1) * S / 2 */
	uint32_t highest_index;   /* index of `highest`, where saturated values go */
	uint64_t *counts;

	/* Totals.  min/max are exact (not bucket bounds); max may exceed highest. */
	uint64_t total;           /* every recorded value, saturated included */
	uint64_t saturated;       /* values > highest */
	uint64_t min;             /* UINT64_MAX while empty */
	uint64_t max;             /* 0 while empty */
};

/*
 * Allocate the counts for values in [0, highest] with lowest discernible value `lowest`
 * (>= 1, highest >= 2 * lowest, highest < 2^62) and sig_digits in 1..5.
 * Returns 0, -EINVAL for a bad geometry or -ENOMEM (bench/ returns negative errno,
 * like DPDK, so it links without the consensus library).
 */
int kbp_hist_init(struct kbp_hist *h, uint64_t lowest, uint64_t highest, int sig_digits);
void kbp_hist_fini(struct kbp_hist *h);
/* Forget every value, keep the geometry (per-second interval histograms). */
void kbp_hist_reset(struct kbp_hist *h);

/* Bytes of counts a geometry needs (0 if invalid): for sizing before init. */
uint64_t kbp_hist_mem_size(uint64_t lowest, uint64_t highest, int sig_digits);

/* Position of v in counts; v must be <= highest. */
static inline uint32_t kbp_hist_index(const struct kbp_hist *h, uint64_t v)
{
	uint64_t s = v >> h->unit_shift;
	/* s | (S-1) keeps the log at >= m-1 so bucket 0 needs no branch. */
	unsigned log2 = 63u - (unsigned)__builtin_clzll(s | (h->sub_count - 1u));
	unsigned b = log2 - (h->sub_shift - 1u);
	/* Bucket b starts at flat index b * S/2 (bucket 0 holds S entries). */
	return (uint32_t)((b << (h->sub_shift - 1u)) + (s >> b));
}

/* Record n occurrences of v: O(1), no allocation, never fails. */
static inline void kbp_hist_record_n(struct kbp_hist *h, uint64_t v, uint64_t n)
{
	uint32_t i;

	if (__builtin_expect(v > h->highest, 0)) {
		h->saturated += n;
		i = h->highest_index;
	} else {
		i = kbp_hist_index(h, v);
	}
	h->counts[i] += n;
	h->total += n;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

static inline void kbp_hist_record(struct kbp_hist *h, uint64_t v)
{
	kbp_hist_record_n(h, v, 1);
}

/*
 * dst += src.  Same geometry: counts are added.  Otherwise each of src's sub-buckets is
 * re-recorded at its midpoint (values above dst's highest saturate as usual).
 */
void kbp_hist_merge(struct kbp_hist *dst, const struct kbp_hist *src);

/* Bounds of the sub-bucket holding v (v <= highest): all values in it read as one. */
uint64_t kbp_hist_lowest_equiv(const struct kbp_hist *h, uint64_t v);
uint64_t kbp_hist_highest_equiv(const struct kbp_hist *h, uint64_t v);
/* Width of that sub-bucket: the resolution at v. */
uint64_t kbp_hist_equiv_range(const struct kbp_hist *h, uint64_t v);

/*
 * The value at percentile p (0..100): the smallest recorded value such that at least
 * p% of all values are <= it (nearest rank), reported as the top of its sub-bucket
 * clamped to [min, max].  0 for an empty histogram.
 */
uint64_t kbp_hist_value_at_percentile(const struct kbp_hist *h, double p);
/* Rank (1-based) that percentile p of total values selects. */
uint64_t kbp_hist_rank(uint64_t total, double p);

/* Exact extremes; 0 for an empty histogram. */
uint64_t kbp_hist_min(const struct kbp_hist *h);
uint64_t kbp_hist_max(const struct kbp_hist *h);
static inline uint64_t kbp_hist_total(const struct kbp_hist *h) { return h->total; }
static inline uint64_t kbp_hist_saturated(const struct kbp_hist *h) { return h->saturated; }
/* From sub-bucket midpoints, so within the histogram's resolution; 0 when empty. */
double kbp_hist_mean(const struct kbp_hist *h);
double kbp_hist_stddev(const struct kbp_hist *h);

/*
 * Iterator over the percentile spectrum, HdrHistogram's way: the step between reported
 * percentiles halves every time the distance to 100% halves, with `ticks_per_half`
 * steps per halving, so the tail gets as many rows as the body.  The last row is
 * percentile 100 at max.
 *
 *     struct kbp_hist_iter it;
 *     kbp_hist_iter_init(&it, h, 5);
 *     while (kbp_hist_iter_next(&it))
 *             use(it.value, it.percentile, it.count_to);
 */
struct kbp_hist_iter {
	const struct kbp_hist *h;
	uint32_t ticks_per_half;
	uint32_t index;           /* next sub-bucket to fold into count_to */
	double level;             /* next percentile to report */
	bool done;
	/* The current row. */
	uint64_t value;           /* top of the sub-bucket, clamped to [min, max] */
	double percentile;        /* 0..100 */
	uint64_t count_to;        /* values <= value */
};

void kbp_hist_iter_init(struct kbp_hist_iter *it, const struct kbp_hist *h,
			uint32_t ticks_per_half);
bool kbp_hist_iter_next(struct kbp_hist_iter *it);

#ifdef __cplusplus
}
#endif

#endif
