/* SPDX-License-Identifier: MIT */
/* Streaming JSON writer (see kbp_json.h). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_json.h"
#include "kbp_report.h"

void kbp_json_init(struct kbp_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void kbp_json_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Comma, newline, indentation and key before any value. */
static void kbp_json_member(struct kbp_json *j, const char *key)
{
	if (j->depth == 0) {
		assert(key == NULL);
		return;
	}
	unsigned d = j->depth - 1;
	assert((key != NULL) == j->in_object[d]);
	fputs(j->has_member[d] ? ",\n" : "\n", j->f);
	j->has_member[d] = true;
	for (unsigned i = 0; i < j->depth; i++)
		fputs("  ", j->f);
	if (key) {
		kbp_json_escaped(j->f, key);
		fputs(": ", j->f);
	}
}

static void kbp_json_open(struct kbp_json *j, const char *key, bool object)
{
	kbp_json_member(j, key);
	assert(j->depth < KBP_JSON_DEPTH_MAX);
	fputc(object ? '{' : '[', j->f);
	j->in_object[j->depth] = object;
	j->has_member[j->depth] = false;
	j->depth++;
}

static void kbp_json_close(struct kbp_json *j, bool object)
{
	assert(j->depth > 0);
	j->depth--;
	assert(j->in_object[j->depth] == object);
	if (j->has_member[j->depth]) {
		fputc('\n', j->f);
		for (unsigned i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(object ? '}' : ']', j->f);
}

void kbp_json_obj_begin(struct kbp_json *j, const char *key) { kbp_json_open(j, key, true); }
void kbp_json_obj_end(struct kbp_json *j) { kbp_json_close(j, true); }
void kbp_json_arr_begin(struct kbp_json *j, const char *key) { kbp_json_open(j, key, false); }
void kbp_json_arr_end(struct kbp_json *j) { kbp_json_close(j, false); }

void kbp_json_str(struct kbp_json *j, const char *key, const char *s)
{
	kbp_json_member(j, key);
	kbp_json_escaped(j->f, s);
}

void kbp_json_u64(struct kbp_json *j, const char *key, uint64_t v)
{
	kbp_json_member(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void kbp_json_i64(struct kbp_json *j, const char *key, int64_t v)
{
	kbp_json_member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void kbp_json_double(struct kbp_json *j, const char *key, double v)
{
	char buf[32];

	kbp_json_member(j, key);
	if (!isfinite(v)) {
		fputs("null", j->f);
		return;
	}
	/* Shortest of 15 or 17 digits that reads back exactly: 23.199, not 23.199000000000002. */
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, j->f);
}

void kbp_json_bool(struct kbp_json *j, const char *key, bool v)
{
	kbp_json_member(j, key);
	fputs(v ? "true" : "false", j->f);
}

int kbp_json_finish(struct kbp_json *j)
{
	assert(j->depth == 0);
	fputc('\n', j->f);
	return ferror(j->f) ? -EIO : 0;
}

void kbp_json_hist(struct kbp_json *j, const char *key, const struct kbp_hist *h,
		   double value_scale, const char *unit)
{
	char name[16];

	assert(value_scale > 0);
	kbp_json_obj_begin(j, key);
	kbp_json_str(j, "unit", unit);
	kbp_json_u64(j, "count", kbp_hist_total(h));
	kbp_json_u64(j, "saturated", kbp_hist_saturated(h));
	kbp_json_double(j, "highest_trackable", (double)h->highest / value_scale);
	kbp_json_double(j, "min", (double)kbp_hist_min(h) / value_scale);
	kbp_json_double(j, "mean", kbp_hist_mean(h) / value_scale);
	kbp_json_double(j, "stddev", kbp_hist_stddev(h) / value_scale);
	kbp_json_double(j, "max", (double)kbp_hist_max(h) / value_scale);
	kbp_json_obj_begin(j, "percentiles");
	for (int i = 0; i < KBP_REPORT_PCT_COUNT; i++) {
		snprintf(name, sizeof(name), "%g", kbp_report_pcts[i]);
		kbp_json_double(j, name,
				(double)kbp_hist_value_at_percentile(h, kbp_report_pcts[i]) /
					value_scale);
	}
	kbp_json_obj_end(j);
	kbp_json_obj_end(j);
}
