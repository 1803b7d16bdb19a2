/* SPDX-License-Identifier: MIT */
/* The writers: .hgrm parses back, the summary has wrk2's rows, JSON and CSV are well formed. */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kbp_hist.h"
#include "kbp_json.h"
#include "kbp_report.h"
#include "kbp_rng.h"

/* Whatever was written to f, as one string (caller frees). */
static char *slurp(FILE *f)
{
	long len = ftell(f);
	char *s = malloc((size_t)len + 1);

	assert_non_null(s);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)len, f), (size_t)len);
	s[len] = '\0';
	return s;
}

static int setup_hist(void **state)
{
	static struct kbp_hist h;
	struct kbp_rng rng = { 11 };

	if (kbp_hist_init(&h, 1, 3600000000000, 3) != 0)
		return -1;
	/* ns: ~20 us body, a 1% tail of milliseconds. */
	for (int i = 0; i < 100000; i++) {
		double x = 15000 - log(1 - kbp_rng_unit(&rng)) * 5000;
		if (i % 100 == 0)
			x *= 100 * kbp_rng_unit(&rng);
		kbp_hist_record(&h, (uint64_t)x);
	}
	*state = &h;
	return 0;
}

static int teardown_hist(void **state)
{
	kbp_hist_fini(*state);
	return 0;
}

/* Parse the .hgrm back the way a plotter would and check its columns and footer. */
static void test_hgrm_parses_back(void **state)
{
	const struct kbp_hist *h = *state;
	FILE *f = tmpfile();
	char line[256];
	double prev_v = -1, prev_p = -1, last_p = -1, last_v = 0, mean = 0, sd = 0, max = 0;
	uint64_t prev_c = 0, last_c = 0, total = 0, buckets = 0, subs = 0;
	int rows = 0, footer = 0;

	assert_non_null(f);
	assert_int_equal(kbp_report_hgrm(f, h, KBP_REPORT_HGRM_TICKS, 1000.0), 0);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "       Value     Percentile TotalCount 1/(1-Percentile)\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "\n");
	while (fgets(line, sizeof(line), f)) {
		double v, p, inv;
		uint64_t c;
		int n;

		if (line[0] == '#') {
			footer += sscanf(line, "#[Mean    = %lf, StdDeviation   = %lf]", &mean, &sd) == 2;
			footer += sscanf(line, "#[Max     = %lf, Total count    = %" SCNu64 "]", &max,
					 &total) == 2;
			footer += sscanf(line, "#[Buckets = %" SCNu64 ", SubBuckets     = %" SCNu64 "]",
					 &buckets, &subs) == 2;
			continue;
		}
		assert_int_equal(footer, 0);            /* rows come before the footer */
		n = sscanf(line, "%lf %lf %" SCNu64 " %lf", &v, &p, &c, &inv);
		assert_true(n == 4 || (n == 3 && p == 1.0));
		if (n == 4)
			assert_true(fabs(inv - 1 / (1 - p)) <= 0.005 + 1e-9 * inv);
		assert_true(v >= prev_v);
		assert_true(p > prev_p);
		assert_true(c >= prev_c);
		prev_v = last_v = v;
		prev_p = last_p = p;
		prev_c = last_c = c;
		rows++;
	}
	assert_int_equal(footer, 3);
	assert_true(rows > 50);
	assert_true(last_p == 1.0);
	assert_int_equal(last_c, kbp_hist_total(h));
	assert_int_equal(total, kbp_hist_total(h));
	assert_true(fabs(max - (double)kbp_hist_max(h) / 1000.0) < 0.001);
	assert_true(fabs(last_v - max) < 0.001);
	assert_true(fabs(mean - kbp_hist_mean(h) / 1000.0) < 0.001);
	assert_true(sd > 0);
	assert_int_equal(buckets, h->bucket_count);
	assert_int_equal(subs, h->sub_count);
	fclose(f);
}

static void test_hgrm_empty(void **state)
{
	struct kbp_hist h;
	FILE *f = tmpfile();
	(void)state;

	assert_int_equal(kbp_hist_init(&h, 1, 1000000, 2), 0);
	assert_int_equal(kbp_report_hgrm(f, &h, 5, 1.0), 0);
	char *s = slurp(f);
	assert_non_null(strstr(s, "Total count    =            0]"));
	assert_null(strstr(s, "Saturated"));
	free(s);
	fclose(f);
	kbp_hist_fini(&h);
}

static void test_summary_rows(void **state)
{
	const struct kbp_hist *h = *state;
	FILE *f = tmpfile();

	assert_int_equal(kbp_report_summary(f, h, "put", 1.0), 0);
	char *s = slurp(f);
	static const char *const rows[] = { " 50.000%", " 75.000%", " 90.000%", " 99.000%",
					    " 99.900%", " 99.990%", " 99.999%", "100.000%" };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_non_null(strstr(s, rows[i]));
	assert_non_null(strstr(s, "put latency distribution (100000 requests)"));
	assert_non_null(strstr(s, "us\n"));
	assert_non_null(strstr(s, "ms\n"));
	assert_null(strstr(s, "WARNING"));
	free(s);
	fclose(f);
}

static void test_summary_saturated(void **state)
{
	struct kbp_hist h;
	FILE *f = tmpfile();
	(void)state;

	assert_int_equal(kbp_hist_init(&h, 1, 1000000, 3), 0);
	for (int i = 0; i < 99; i++)
		kbp_hist_record(&h, 1000);
	kbp_hist_record(&h, 50000000);
	assert_int_equal(kbp_report_summary(f, &h, "get", 1.0), 0);
	char *s = slurp(f);
	assert_non_null(strstr(s, "100.000%  >=   1.00ms"));
	assert_non_null(strstr(s, " 50.000%       1.00us"));
	assert_non_null(strstr(s, "WARNING: 1 values above"));
	free(s);
	fclose(f);
	kbp_hist_fini(&h);
}

static void test_fmt_ns(void **state)
{
	char b[32];
	(void)state;

	kbp_report_fmt_ns(b, sizeof(b), 999);
	assert_string_equal(b, "999.00ns");
	kbp_report_fmt_ns(b, sizeof(b), 1500);
	assert_string_equal(b, "1.50us");
	kbp_report_fmt_ns(b, sizeof(b), 2.5e6);
	assert_string_equal(b, "2.50ms");
	kbp_report_fmt_ns(b, sizeof(b), 3e9);
	assert_string_equal(b, "3.00s");
	kbp_report_fmt_ns(b, sizeof(b), 0);
	assert_string_equal(b, "0.00ns");
}

static void test_json(void **state)
{
	const struct kbp_hist *h = *state;
	FILE *f = tmpfile();
	struct kbp_json j;

	kbp_json_init(&j, f);
	kbp_json_obj_begin(&j, NULL);
	kbp_json_str(&j, "name", "run \"a\"\n");
	kbp_json_u64(&j, "requests", 12);
	kbp_json_i64(&j, "delta", -3);
	kbp_json_double(&j, "nan", NAN);
	kbp_json_bool(&j, "durable", true);
	kbp_json_arr_begin(&j, "empty");
	kbp_json_arr_end(&j);
	kbp_json_arr_begin(&j, "list");
	kbp_json_u64(&j, NULL, 1);
	kbp_json_u64(&j, NULL, 2);
	kbp_json_arr_end(&j);
	kbp_json_hist(&j, "put", h, 1000.0, "us");
	kbp_json_obj_end(&j);
	assert_int_equal(kbp_json_finish(&j), 0);
	char *s = slurp(f);
	assert_non_null(strstr(s, "\"name\": \"run \\\"a\\\"\\n\",\n"));
	assert_non_null(strstr(s, "\"nan\": null"));
	assert_non_null(strstr(s, "\"empty\": []"));
	assert_non_null(strstr(s, "\"list\": [\n    1,\n    2\n  ]"));
	assert_non_null(strstr(s, "\"99.999\": "));
	assert_non_null(strstr(s, "\"count\": 100000"));
	assert_true(s[0] == '{' && strcmp(s + strlen(s) - 3, "\n}\n") == 0);
	free(s);
	fclose(f);
}

static void test_csv(void **state)
{
	FILE *f = tmpfile();
	struct kbp_hist h;
	struct kbp_ts_row r = { .second = 3, .offered = 100000, .achieved = 99999.6, .ok = 99990,
				.errors = 10 };
	(void)state;

	assert_int_equal(kbp_hist_init(&h, 1, 1000000000, 3), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		kbp_hist_record(&h, v);       /* below 2048: every value has its own sub-bucket */
	kbp_ts_row_latency(&r, &h);
	assert_int_equal(r.p50, 500);
	assert_int_equal(kbp_report_csv_header(f, "us"), 0);
	assert_int_equal(kbp_report_csv_row(f, &r, 1.0), 0);
	char *s = slurp(f);
	assert_string_equal(s, "second,offered,achieved,ok,errors,p50_us,p99_us,p999_us\n"
			       "3,100000,100000,99990,10,500.000,990.000,999.000\n");
	free(s);
	fclose(f);
	kbp_hist_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hgrm_parses_back),
		cmocka_unit_test(test_hgrm_empty),
		cmocka_unit_test(test_summary_rows),
		cmocka_unit_test(test_summary_saturated),
		cmocka_unit_test(test_fmt_ns),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_csv),
	};
	return cmocka_run_group_tests_name("report", tests, setup_hist, teardown_hist);
}
