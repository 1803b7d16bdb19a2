/* SPDX-License-Identifier: MIT */
/*
 * A tiny streaming JSON writer for run summaries: nesting and commas are tracked so
 * callers only say what to write.  Output is indented, one member per line, so the
 * file is readable with less and diffable between runs.
 *
 *     struct kbp_json j;
 *     kbp_json_init(&j, f);
 *     kbp_json_obj_begin(&j, NULL);
 *     kbp_json_u64(&j, "requests", n);
 *     kbp_json_hist(&j, "put", &put_hist, 1000.0, "us");
 *     kbp_json_obj_end(&j);
 *     rc = kbp_json_finish(&j);
 *
 * Keys are NULL inside arrays and for the top-level value, and non-NULL inside objects.
 */
#ifndef KBP_JSON_H
#define KBP_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kbp_hist.h"

#define KBP_JSON_DEPTH_MAX 16

struct kbp_json {
	FILE *f;
	unsigned depth;
	bool in_object[KBP_JSON_DEPTH_MAX];   /* per level: object (keys) or array */
	bool has_member[KBP_JSON_DEPTH_MAX];  /* per level: a comma is due before the next */
};

void kbp_json_init(struct kbp_json *j, FILE *f);
void kbp_json_obj_begin(struct kbp_json *j, const char *key);
void kbp_json_obj_end(struct kbp_json *j);
void kbp_json_arr_begin(struct kbp_json *j, const char *key);
void kbp_json_arr_end(struct kbp_json *j);
void kbp_json_str(struct kbp_json *j, const char *key, const char *s);
void kbp_json_u64(struct kbp_json *j, const char *key, uint64_t v);
void kbp_json_i64(struct kbp_json *j, const char *key, int64_t v);
/* NaN and infinities are written as null (JSON has no spelling for them). */
void kbp_json_double(struct kbp_json *j, const char *key, double v);
void kbp_json_bool(struct kbp_json *j, const char *key, bool v);
/* Every level closed: ends the line; 0 or -EIO if the stream failed. */
int kbp_json_finish(struct kbp_json *j);

/*
 * A histogram as an object: unit, count, saturated, min, mean, stddev, max and
 * "percentiles": {"50": .., "75": .., ..., "100": ..}, values divided by value_scale.
 */
void kbp_json_hist(struct kbp_json *j, const char *key, const struct kbp_hist *h,
		   double value_scale, const char *unit);

#endif
