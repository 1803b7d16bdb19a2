/* SPDX-License-Identifier: MIT */
/*
 * kbp-synth: writes the generator's output files from synthetic latencies, so the
 * writers and bench/plot.sh can be tried (and tested) without a cluster.
 *
 * Usage: kbp-synth OUTDIR [SEED]
 * Writes OUTDIR/{calm,stalls}.hgrm, OUTDIR/timeseries.csv, OUTDIR/summary.json and
 * prints the wrk2 summaries.  Latencies are in ns; files are in us.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbp_hist.h"
#include "kbp_json.h"
#include "kbp_report.h"
#include "kbp_rng.h"

#define SYNTH_SECONDS 30
#define SYNTH_RATE 200000.0

/* ns: a 12 us floor, an exponential body, and with `stall` a 0.5% Pareto tail. */
static uint64_t synth_latency(struct kbp_rng *rng, double body_ns, bool stall)
{
	double x = 12000 - log(1 - kbp_rng_unit(rng)) * body_ns;

	if (stall && kbp_rng_unit(rng) < 0.005)
		x += 100000.0 / pow(1 - kbp_rng_unit(rng), 1 / 1.3);
	return (uint64_t)x;
}

static FILE *synth_open(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		fprintf(stderr, "kbp-synth: %s: %s\n", path, strerror(errno));
	return f;
}

static int synth_close(FILE *f, int rc)
{
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	return rc;
}

int main(int argc, char **argv)
{
	struct kbp_hist calm, stalls, second;
	struct kbp_rng rng;
	FILE *f;
	int rc = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: kbp-synth OUTDIR [SEED]\n");
		return 2;
	}
	rng.state = argc == 3 ? strtoull(argv[2], NULL, 0) : 1;
	/* 1 ns resolution up to one hour, 3 digits: what the generator uses. */
	if (kbp_hist_init(&calm, 1, 3600000000000, 3) || kbp_hist_init(&stalls, 1, 3600000000000, 3) ||
	    kbp_hist_init(&second, 1, 3600000000000, 3)) {
		fprintf(stderr, "kbp-synth: out of memory\n");
		return 1;
	}

	f = synth_open(argv[1], "timeseries.csv");
	if (f == NULL)
		return 1;
	rc = kbp_report_csv_header(f, "us");
	for (uint32_t s = 0; s < SYNTH_SECONDS && rc == 0; s++) {
		/* Seconds 12-14 stall the server: achieved rate drops, the tail climbs. */
		bool hiccup = s >= 12 && s < 15;
		uint64_t n = (uint64_t)(SYNTH_RATE / 100 * (hiccup ? 0.6 : 1.0));
		struct kbp_ts_row row = { .second = s, .offered = SYNTH_RATE,
					  .achieved = (double)n * 100, .errors = hiccup ? 37 : 0 };

		kbp_hist_reset(&second);
		/* A 1% sample per second keeps this quick; rates are scaled back above. */
		for (uint64_t i = 0; i < n; i++) {
			uint64_t v = synth_latency(&rng, hiccup ? 40000 : 8000, true);
			kbp_hist_record(&second, v);
			kbp_hist_record(&stalls, v);
			kbp_hist_record(&calm, synth_latency(&rng, 8000, false));
		}
		row.ok = n * 100 - row.errors;
		kbp_ts_row_latency(&row, &second);
		rc = kbp_report_csv_row(f, &row, 1000.0);
	}
	rc = synth_close(f, rc);

	if (rc == 0 && (f = synth_open(argv[1], "calm.hgrm")) != NULL)
		rc = synth_close(f, kbp_report_hgrm(f, &calm, KBP_REPORT_HGRM_TICKS, 1000.0));
	if (rc == 0 && (f = synth_open(argv[1], "stalls.hgrm")) != NULL)
		rc = synth_close(f, kbp_report_hgrm(f, &stalls, KBP_REPORT_HGRM_TICKS, 1000.0));
	if (rc == 0 && (f = synth_open(argv[1], "summary.json")) != NULL) {
		struct kbp_json j;
		kbp_json_init(&j, f);
		kbp_json_obj_begin(&j, NULL);
		kbp_json_str(&j, "source", "kbp-synth");
		kbp_json_u64(&j, "seconds", SYNTH_SECONDS);
		kbp_json_obj_begin(&j, "latency");
		kbp_json_hist(&j, "calm", &calm, 1000.0, "us");
		kbp_json_hist(&j, "stalls", &stalls, 1000.0, "us");
		kbp_json_obj_end(&j);
		kbp_json_obj_end(&j);
		rc = synth_close(f, kbp_json_finish(&j));
	}
	if (rc == 0)
		rc = kbp_report_summary(stdout, &calm, "calm", 1.0);
	if (rc == 0)
		rc = kbp_report_summary(stdout, &stalls, "stalls", 1.0);
	kbp_hist_fini(&second);
	kbp_hist_fini(&stalls);
	kbp_hist_fini(&calm);
	if (rc != 0 || f == NULL) {
		fprintf(stderr, "kbp-synth: writing %s failed\n", argv[1]);
		return 1;
	}
	return 0;
}
