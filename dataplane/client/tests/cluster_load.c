/* SPDX-License-Identifier: MIT */
/*
 * cluster_load: a closed-loop writer and a checker for the cluster tests.
 *
 *   cluster_load write  --config F --prefix P [--count N] [--seconds S] [--acked FILE] [--clients C]
 *       put P<i> = v<i> for i = 0..N-1 from C closed-loop clients (client t writes
 *       i = t, t+C, ...); every acknowledged write is appended to FILE as
 *       "i ack_realtime_ns send_realtime_ns" (first send of that write).
 *       Stops after N writes, S seconds, or SIGTERM/SIGINT.  Prints ops, ops/s and the
 *       longest time without any acknowledgement.
 *   cluster_load verify --config F --prefix P (--acked FILE | --count N) [--clients C]
 *       get every acknowledged (or every one of N) key and compare; exit 1 on any mismatch.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
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

struct shared {
	const char *config;
	const struct kbp_client_opts *opts;
	const char *prefix;
	uint64_t count;
	double seconds;
	unsigned clients;
	uint64_t *list;           /* verify: the indexes to check; NULL: 0..count-1 */
	uint64_t start_ns;
	pthread_mutex_t lock;     /* guards everything below */
	FILE *acked;
	uint64_t last_ack_ns, gap_max_ns, ok, failed, unknown, bad, checked;
	int setup_failed;
};

struct worker {
	struct shared *sh;
	unsigned t;
	pthread_t thread;
};

static struct kbp_client *worker_client(struct shared *sh)
{
	struct kbp_client *c;
	char err[512];
	/* One at a time: kbp_config_load is not thread-safe. */
	pthread_mutex_lock(&sh->lock);
	if (kbp_client_new(sh->config, sh->opts, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "cluster_load: %s\n", err);
		sh->setup_failed = 1;
		c = NULL;
	}
	pthread_mutex_unlock(&sh->lock);
	return c;
}

static void *write_worker(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	struct kbp_client *c = worker_client(sh);
	struct kbp_client_result res;
	char key[80], val[80];

	if (c == NULL)
		return NULL;
	for (uint64_t i = w->t; !stop && (sh->count == 0 || i < sh->count); i += sh->clients) {
		if (sh->seconds > 0 && (double)(clock_ns(CLOCK_MONOTONIC) - sh->start_ns) / 1e9 >= sh->seconds)
			break;
		int kl = snprintf(key, sizeof(key), "%s%" PRIu64, sh->prefix, i);
		int vl = snprintf(val, sizeof(val), "v%" PRIu64, i);
		uint64_t sent_ns = clock_ns(CLOCK_REALTIME);
		int r = kbp_client_put(c, key, (size_t)kl, val, (size_t)vl, &res);
		pthread_mutex_lock(&sh->lock);
		if (r == 0 && res.outcome == KBP_CLIENT_UNKNOWN) {
			/* Applied or not, nobody can say: not acknowledged, not a failure either. */
			sh->unknown++;
			fprintf(stderr, "cluster_load: put %s: outcome unknown: %s\n", key, kbp_client_error(c));
		} else if (r < 0 || res.status != KBP_ST_OK) {
			sh->failed++;
			fprintf(stderr, "cluster_load: put %s: %s\n", key,
				r < 0 ? kbp_client_error(c) : kbp_status_name(res.status));
		} else {
			uint64_t now = clock_ns(CLOCK_MONOTONIC);
			if (now - sh->last_ack_ns > sh->gap_max_ns)
				sh->gap_max_ns = now - sh->last_ack_ns;
			sh->last_ack_ns = now;
			sh->ok++;
			if (sh->acked) {
				fprintf(sh->acked, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", i,
					clock_ns(CLOCK_REALTIME), sent_ns);
				fflush(sh->acked);
			}
		}
		pthread_mutex_unlock(&sh->lock);
	}
	kbp_client_free(c);
	return NULL;
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

static void *verify_worker(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	struct kbp_client *c = worker_client(sh);

	if (c == NULL)
		return NULL;
	for (uint64_t k = w->t; !stop && k < sh->count; k += sh->clients) {
		int r = check_one(c, sh->prefix, sh->list ? sh->list[k] : k);
		pthread_mutex_lock(&sh->lock);
		sh->checked++;
		if (r != 0)
			sh->bad++;
		int enough = sh->bad >= 10;
		pthread_mutex_unlock(&sh->lock);
		if (enough)
			break;
	}
	kbp_client_free(c);
	return NULL;
}

static void run_workers(struct shared *sh, void *(*fn)(void *))
{
	struct worker *w = calloc(sh->clients, sizeof(*w));
	if (w == NULL) {
		sh->setup_failed = 1;
		return;
	}
	sh->start_ns = sh->last_ack_ns = clock_ns(CLOCK_MONOTONIC);
	for (unsigned t = 0; t < sh->clients; t++) {
		w[t] = (struct worker){ .sh = sh, .t = t };
		pthread_create(&w[t].thread, NULL, fn, &w[t]);
	}
	for (unsigned t = 0; t < sh->clients; t++)
		pthread_join(w[t].thread, NULL);
	free(w);
}

static int do_write(struct shared *sh, const char *acked_path)
{
	if (acked_path && (sh->acked = fopen(acked_path, "w")) == NULL) {
		fprintf(stderr, "cluster_load: %s: %s\n", acked_path, strerror(errno));
		return 1;
	}
	run_workers(sh, write_worker);
	double secs = (double)(clock_ns(CLOCK_MONOTONIC) - sh->start_ns) / 1e9;
	printf("write: %" PRIu64 " acknowledged, %" PRIu64 " failed, %" PRIu64 " outcome unknown, %u clients, "
	       "%.2f s, %.0f ops/s, longest time without an ack %.1f ms\n",
	       sh->ok, sh->failed, sh->unknown, sh->clients, secs, secs > 0 ? (double)sh->ok / secs : 0.0,
	       (double)sh->gap_max_ns / 1e6);
	if (sh->acked)
		fclose(sh->acked);
	return sh->ok > 0 && !sh->setup_failed ? 0 : 1;
}

static int do_verify(struct shared *sh, const char *acked_path)
{
	if (acked_path) {
		FILE *f = fopen(acked_path, "r");
		if (f == NULL) {
			fprintf(stderr, "cluster_load: %s: %s\n", acked_path, strerror(errno));
			return 1;
		}
		uint64_t i, t, t0, cap = 1024;
		sh->list = malloc(cap * sizeof(*sh->list));
		sh->count = 0;
		while (sh->list && fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64, &i, &t, &t0) == 3) {
			if (sh->count == cap) {
				cap *= 2;
				uint64_t *n = realloc(sh->list, cap * sizeof(*n));
				if (n == NULL)
					break;
				sh->list = n;
			}
			sh->list[sh->count++] = i;
		}
		fclose(f);
		if (sh->list == NULL)
			return 1;
	}
	run_workers(sh, verify_worker);
	free(sh->list);
	printf("verify: %" PRIu64 " keys checked, %" PRIu64 " wrong or missing\n", sh->checked, sh->bad);
	return sh->bad == 0 && sh->checked > 0 && !sh->setup_failed ? 0 : 1;
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
		{ "clients", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *prefix = "k", *acked = NULL;
	uint64_t count = 0;
	double seconds = 0;
	unsigned clients = 1;
	struct kbp_client_opts opts;
	kbp_client_opts_default(&opts);
	opts.timeout_ms = 10000;
	opts.retry_ms = 100;

	if (argc < 2) {
		fprintf(stderr, "usage: cluster_load write|verify --config F [--prefix P] [--count N] "
				"[--seconds S] [--acked FILE] [--clients C] [--timeout-ms MS]\n");
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
		case 'C': clients = (unsigned)strtoul(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (config == NULL) {
		fprintf(stderr, "cluster_load: --config is required\n");
		return 2;
	}
	if (clients == 0 || clients > 256) {
		fprintf(stderr, "cluster_load: --clients must be 1..256\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct shared sh = {
		.config = config, .opts = &opts, .prefix = prefix, .count = count,
		.seconds = seconds, .clients = clients,
	};
	pthread_mutex_init(&sh.lock, NULL);
	int rc;
	if (strcmp(mode, "write") == 0)
		rc = do_write(&sh, acked);
	else if (strcmp(mode, "verify") == 0)
		rc = do_verify(&sh, acked);
	else {
		fprintf(stderr, "cluster_load: unknown mode '%s'\n", mode);
		rc = 2;
	}
	pthread_mutex_destroy(&sh.lock);
	return rc;
}
