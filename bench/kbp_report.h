/* SPDX-License-Identifier: MIT */
/*
 * Human- and machine-readable output of latency histograms: the wrk2-style summary,
 * HdrHistogram's percentile-distribution text (.hgrm, read by its plotters and by
 * bench/plot.sh), and the per-second CSV time series.
 *
 * Units.  A histogram holds integers in whatever unit the recorder chose.  Writers for
 * people take `ns_per_value` (1.0 when values are ns) and pick us/ms/s themselves;
 * writers for files take `value_scale`, the divisor HdrHistogram calls the output
 * scaling ratio (1000.0 turns ns into us), and the caller names the unit.
 *
 * Every writer returns 0 or -EIO when the stream reported an error.
 */
#ifndef KBP_REPORT_H
#define KBP_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kbp_hist.h"

/* The percentiles wrk2 users read: 50 75 90 99 99.9 99.99 99.999 100. */
#define KBP_REPORT_PCT_COUNT 8
extern const double kbp_report_pcts[KBP_REPORT_PCT_COUNT];

/* Ticks per half distance in .hgrm output, as HdrHistogram's tools default to. */
#define KBP_REPORT_HGRM_TICKS 5

/* "12.34us": ns printed with the unit that keeps 1-3 digits before the point. */
void kbp_report_fmt_ns(char *buf, size_t len, double ns);

/*
 * The wrk2 block: a title line, one line per kbp_report_pcts entry, then mean, stddev,
 * min, max and count.  A percentile that falls among saturated values is printed as
 * ">=value" and a warning line says how many values exceeded the histogram.
 */
int kbp_report_summary(FILE *f, const struct kbp_hist *h, const char *title,
		       double ns_per_value);

/*
 * HdrHistogram's percentile distribution: the header
 * "       Value     Percentile TotalCount 1/(1-Percentile)", one row per iterator step
 * (ticks_per_half, usually KBP_REPORT_HGRM_TICKS), and the #[Mean/#[Max/#[Buckets
 * footer.  Values are divided by value_scale and printed with 3 decimals.  When values
 * saturated, one more comment line "#[Saturated = n above highest]" follows.
 */
int kbp_report_hgrm(FILE *f, const struct kbp_hist *h, uint32_t ticks_per_half,
		    double value_scale);

/* One second of a run, for the time series.  Latencies are in histogram units. */
struct kbp_ts_row {
	uint32_t second;          /* since the end of warm-up */
	double offered;           /* requests/s the pacer intended */
	double achieved;          /* replies/s received */
	uint64_t ok;              /* replies with KBP_ST_OK (or an expected CAS/GET miss) */
	uint64_t errors;          /* everything else: NOT_LEADER, BUSY, timeouts, ... */
	uint64_t p50, p99, p999;
};

/* Fill the latency fields from that second's interval histogram. */
void kbp_ts_row_latency(struct kbp_ts_row *r, const struct kbp_hist *interval);
/* "second,offered,achieved,ok,errors,p50_<unit>,p99_<unit>,p999_<unit>" */
int kbp_report_csv_header(FILE *f, const char *unit);
int kbp_report_csv_row(FILE *f, const struct kbp_ts_row *r, double value_scale);

#endif
