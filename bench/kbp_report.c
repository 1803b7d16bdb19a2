/* SPDX-License-Identifier: MIT */
/* Text writers for latency histograms: wrk2 summary, .hgrm distribution, CSV time series. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>

#include "kbp_report.h"

const double kbp_report_pcts[KBP_REPORT_PCT_COUNT] = {
	50, 75, 90, 99, 99.9, 99.99, 99.999, 100,
};

static int kbp_report_status(FILE *f)
{
	return ferror(f) ? -EIO : 0;
}

void kbp_report_fmt_ns(char *buf, size_t len, double ns)
{
	static const struct {
		double div;
		const char *unit;
	} units[] = { { 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" }, { 1, "ns" } };
	size_t i = 0;

	while (i + 1 < sizeof(units) / sizeof(units[0]) && ns < units[i].div)
		i++;
	snprintf(buf, len, "%.2f%s", ns / units[i].div, units[i].unit);
}

int kbp_report_summary(FILE *f, const struct kbp_hist *h, const char *title,
		       double ns_per_value)
{
	char a[32], b[32], c[32], d[32];
	uint64_t total = kbp_hist_total(h);

	assert(ns_per_value > 0);
	fprintf(f, "  %s latency distribution (%" PRIu64 " requests)\n", title, total);
	if (total == 0) {
		fprintf(f, "  (no values)\n");
		return kbp_report_status(f);
	}
	for (int i = 0; i < KBP_REPORT_PCT_COUNT; i++) {
		uint64_t v = kbp_hist_value_at_percentile(h, kbp_report_pcts[i]);
		bool sat = h->saturated && v >= h->highest;
		kbp_report_fmt_ns(a, sizeof(a), (double)(sat ? h->highest : v) * ns_per_value);
		fprintf(f, "%7.3f%%  %s%9s\n", kbp_report_pcts[i], sat ? ">=" : "  ", a);
	}
	kbp_report_fmt_ns(a, sizeof(a), kbp_hist_mean(h) * ns_per_value);
	kbp_report_fmt_ns(b, sizeof(b), kbp_hist_stddev(h) * ns_per_value);
	kbp_report_fmt_ns(c, sizeof(c), (double)kbp_hist_min(h) * ns_per_value);
	kbp_report_fmt_ns(d, sizeof(d), (double)kbp_hist_max(h) * ns_per_value);
	fprintf(f, "  mean %s, stddev %s, min %s, max %s\n", a, b, c, d);
	if (h->saturated) {
		kbp_report_fmt_ns(a, sizeof(a), (double)h->highest * ns_per_value);
		fprintf(f, "  WARNING: %" PRIu64 " values above the histogram's highest "
			"trackable %s were counted as %s (true max %s)\n",
			h->saturated, a, a, d);
	}
	return kbp_report_status(f);
}

int kbp_report_hgrm(FILE *f, const struct kbp_hist *h, uint32_t ticks_per_half,
		    double value_scale)
{
	struct kbp_hist_iter it;

	assert(value_scale > 0);
	fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
		"1/(1-Percentile)");
	kbp_hist_iter_init(&it, h, ticks_per_half);
	while (kbp_hist_iter_next(&it)) {
		double v = (double)it.value / value_scale;
		double p = it.percentile / 100.0;
		if (it.percentile < 100)
			fprintf(f, "%12.3f %2.12f %10" PRIu64 " %14.2f\n", v, p, it.count_to,
				1.0 / (1.0 - p));
		else
			fprintf(f, "%12.3f %2.12f %10" PRIu64 "\n", v, p, it.count_to);
	}
	fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n",
		kbp_hist_mean(h) / value_scale, kbp_hist_stddev(h) / value_scale);
	fprintf(f, "#[Max     = %12.3f, Total count    = %12" PRIu64 "]\n",
		(double)kbp_hist_max(h) / value_scale, kbp_hist_total(h));
	fprintf(f, "#[Buckets = %12" PRIu32 ", SubBuckets     = %12" PRIu32 "]\n",
		h->bucket_count, h->sub_count);
	if (h->saturated)
		fprintf(f, "#[Saturated = %" PRIu64 " above %.3f]\n", h->saturated,
			(double)h->highest / value_scale);
	return kbp_report_status(f);
}

void kbp_ts_row_latency(struct kbp_ts_row *r, const struct kbp_hist *interval)
{
	r->p50 = kbp_hist_value_at_percentile(interval, 50);
	r->p99 = kbp_hist_value_at_percentile(interval, 99);
	r->p999 = kbp_hist_value_at_percentile(interval, 99.9);
}

int kbp_report_csv_header(FILE *f, const char *unit)
{
	fprintf(f, "second,offered,achieved,ok,errors,p50_%s,p99_%s,p999_%s\n", unit, unit, unit);
	return kbp_report_status(f);
}

int kbp_report_csv_row(FILE *f, const struct kbp_ts_row *r, double value_scale)
{
	assert(value_scale > 0);
	fprintf(f, "%" PRIu32 ",%.0f,%.0f,%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.3f\n", r->second,
		r->offered, r->achieved, r->ok, r->errors, (double)r->p50 / value_scale,
		(double)r->p99 / value_scale, (double)r->p999 / value_scale);
	return kbp_report_status(f);
}
