/* SPDX-License-Identifier: MIT */
/*
 * cluster_load: a closed-loop writer and a checker for the cluster tests.
 *
 *   cluster_load write  --config F --prefix P [--count N] [--seconds S] [--acked FILE]
 *       put P<i> = v<i> for i = 0.. one at a time; every acknowledged write is appended to
 *       FILE as "i realtime_ns" before the next is sent.  Stops after N writes, S seconds,
 *       or SIGTERM/SIGINT.  Prints ops, ops/s and the longest gap between two acks.
 *   cluster_load verify --config F --prefix P (--acked FILE | --count N)
 *       get every acknowledged (or every one of N) key and compare; exit 1 on any mismatch.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kbp_client.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int do_write(struct kbp_client *c, const char *prefix, uint64_t count, double seconds,
		    const char *acked_path)
{
	FILE *acked = NULL;
	if (acked_path && (acked = fopen(acked_path, "w")) == NULL) {
		fprintf(stderr, "cluster_load: %s: %s\n", acked_path, strerror(errno));
		return 1;
	}
	uint64_t start = clock_ns(CLOCK_MONOTONIC), last = start, gap_max = 0, gap_at = 0;
	uint64_t ok = 0, failed = 0, i;
	struct kbp_client_result res;
	char key[80], val[80];

	for (i = 0; !stop && (count == 0 || i < count); i++) {
		if (seconds > 0 && (double)(clock_ns(CLOCK_MONOTONIC) - start) / 1e9 >= seconds)
			break;
		int kl = snprintf(key, sizeof(key), "%s%" PRIu64, prefix, i);
		int vl = snprintf(val, sizeof(val), "v%" PRIu64, i);
		int r = kbp_client_put(c, key, (size_t)kl, val, (size_t)vl, &res);
		if (r < 0 || res.status != KBP_ST_OK) {
			failed++;
			fprintf(stderr, "cluster_load: put %s: %s\n", key,
				r < 0 ? kbp_client_error(c) : kbp_status_name(res.status));
			continue;
		}
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		if (now - last > gap_max) {
			gap_max = now - last;
			gap_at = i;
		}
		last = now;
		ok++;
		if (acked) {
			fprintf(acked, "%" PRIu64 " %" PRIu64 "\n", i, clock_ns(CLOCK_REALTIME));
			fflush(acked);
		}
	}
	double secs = (double)(clock_ns(CLOCK_MONOTONIC) - start) / 1e9;
	printf("write: %" PRIu64 " acknowledged, %" PRIu64 " failed, %.2f s, %.0f ops/s, "
	       "longest gap %.1f ms before write %" PRIu64 "\n",
	       ok, failed, secs, secs > 0 ? (double)ok / secs : 0.0, (double)gap_max / 1e6, gap_at);
	if (acked)
		fclose(acked);
	return ok > 0 ? 0 : 1;
}

static int check_one(struct kbp_client *c, const char *prefix, uint64_t i)
{
	char key[80], val[80];
	struct kbp_client_result res;
	int kl = snprintf(key, sizeof(key), "%s%" PRIu64, prefix, i);
	int vl = snprintf(val, sizeof(val), "v%" PRIu64, i);
	int r = kbp_client_get(c, key, (size_t)kl, &res);
	if (r < 0) {
		fprintf(stderr, "cluster_load: get %s: %s\n", key, kbp_client_error(c));
		return -1;
	}
	if (res.status != KBP_ST_OK || res.val_len != (uint16_t)vl || memcmp(res.val, val, (size_t)vl)) {
		fprintf(stderr, "cluster_load: get %s: %s, %u bytes (want '%s')\n", key,
			kbp_status_name(res.status), res.val_len, val);
		return -1;
	}
	return 0;
}

static int do_verify(struct kbp_client *c, const char *prefix, uint64_t count, const char *acked_path)
{
	uint64_t checked = 0, bad = 0;
	if (acked_path) {
		FILE *f = fopen(acked_path, "r");
		if (f == NULL) {
			fprintf(stderr, "cluster_load: %s: %s\n", acked_path, strerror(errno));
			return 1;
		}
		uint64_t i, t;
		while (fscanf(f, "%" SCNu64 " %" SCNu64, &i, &t) == 2) {
			checked++;
			if (check_one(c, prefix, i) != 0 && ++bad >= 10)
				break;
		}
		fclose(f);
	} else {
		for (uint64_t i = 0; i < count; i++) {
			checked++;
			if (check_one(c, prefix, i) != 0 && ++bad >= 10)
				break;
		}
	}
	printf("verify: %" PRIu64 " keys checked, %" PRIu64 " wrong or missing\n", checked, bad);
	return bad == 0 && checked > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "acked", required_argument, NULL, 'a' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *prefix = "k", *acked = NULL;
	uint64_t count = 0;
	double seconds = 0;
	struct kbp_client_opts opts;
	kbp_client_opts_default(&opts);
	opts.timeout_ms = 10000;
	opts.retry_ms = 100;

	if (argc < 2) {
		fprintf(stderr, "usage: cluster_load write|verify --config F [--prefix P] [--count N] "
				"[--seconds S] [--acked FILE] [--timeout-ms MS]\n");
		return 2;
	}
	const char *mode = argv[1];
	optind = 2;
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'p': prefix = optarg; break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'a': acked = optarg; break;
		case 't': opts.timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (config == NULL) {
		fprintf(stderr, "cluster_load: --config is required\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct kbp_client *c;
	char err[512];
	if (kbp_client_new(config, &opts, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "cluster_load: %s\n", err);
		return 1;
	}
	int rc;
	if (strcmp(mode, "write") == 0)
		rc = do_write(c, prefix, count, seconds, acked);
	else if (strcmp(mode, "verify") == 0)
		rc = do_verify(c, prefix, count, acked);
	else {
		fprintf(stderr, "cluster_load: unknown mode '%s'\n", mode);
		rc = 2;
	}
	kbp_client_free(c);
	return rc;
}
