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
 *   --keys K (both modes, K a multiple of C): write i goes to key P<i mod K>, so a long
 *       run stays within the store; each key has one writer.  verify then checks each key
 *       holds the value of its last acknowledged write or of a later one of that key (a
 *       write that timed out may still have been applied), never an older one.
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
#include "kbp_config.h"
#include "kbp_netns.h"

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
	uint64_t keys;            /* 0: key i for write i; else key i mod keys */
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
		int kl = snprintf(key, sizeof(key), "%s%" PRIu64, sh->prefix, sh->keys ? i % sh->keys : i);
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

/* With --keys: the value names write j of the same key, no older than write i. */
static bool value_at_least(const struct kbp_client_result *res, uint64_t i, uint64_t keys)
{
	char buf[32];
	if (res->val_len < 2 || res->val_len >= sizeof(buf) || res->val[0] != 'v')
		return false;
	memcpy(buf, res->val + 1, res->val_len - 1u);
	buf[res->val_len - 1] = '\0';
	char *end;
	uint64_t j = strtoull(buf, &end, 10);
	return *end == '\0' && j % keys == i % keys && j >= i;
}

static int check_one(struct kbp_client *c, const char *prefix, uint64_t i, uint64_t keys)
{
	char key[80], val[80];
	struct kbp_client_result res;
	int kl = snprintf(key, sizeof(key), "%s%" PRIu64, prefix, keys ? i % keys : i);
	int vl = snprintf(val, sizeof(val), "v%" PRIu64, i);
	int r = kbp_client_get(c, key, (size_t)kl, &res);
	if (r < 0) {
		fprintf(stderr, "cluster_load: get %s: %s\n", key, kbp_client_error(c));
		return -1;
	}
	if (keys && res.status == KBP_ST_OK && value_at_least(&res, i, keys))
		return 0;
	if (res.status != KBP_ST_OK || res.val_len != (uint16_t)vl || memcmp(res.val, val, (size_t)vl)) {
		fprintf(stderr, "cluster_load: get %s: %s from node %u, '%.*s' (want '%s')\n", key,
			kbp_status_name(res.status), res.node, (int)res.val_len, (const char *)res.val, val);
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
		int r = check_one(c, sh->prefix, sh->list ? sh->list[k] : k, sh->keys);
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

/* --keys: keep only the last acknowledged write of each key. */
static void last_per_key(struct shared *sh)
{
	uint64_t *last = malloc(sh->keys * sizeof(*last));
	if (last == NULL)
		return;
	for (uint64_t k = 0; k < sh->keys; k++)
		last[k] = UINT64_MAX;
	for (uint64_t n = 0; n < sh->count; n++) {
		uint64_t i = sh->list[n], k = i % sh->keys;
		if (last[k] == UINT64_MAX || i > last[k])
			last[k] = i;
	}
	sh->count = 0;
	for (uint64_t k = 0; k < sh->keys; k++)
		if (last[k] != UINT64_MAX)
			sh->list[sh->count++] = last[k];
	free(last);
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
		if (sh->keys)
			last_per_key(sh);
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
		{ "keys", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *prefix = "k", *acked = NULL;
	uint64_t count = 0, keys = 0;
	double seconds = 0;
	unsigned clients = 1;
	struct kbp_client_opts opts;
	kbp_client_opts_default(&opts);
	opts.timeout_ms = 10000;
	opts.retry_ms = 100;

	if (argc < 2) {
		fprintf(stderr, "usage: cluster_load write|verify --config F [--prefix P] [--count N] "
				"[--seconds S] [--acked FILE] [--clients C] [--timeout-ms MS] [--keys K]\n");
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
		case 'k': keys = strtoull(optarg, NULL, 10); break;
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
	if (keys % clients) {
		fprintf(stderr, "cluster_load: --keys must be a multiple of --clients (one writer per key)\n");
		return 2;
	}
	/* The cluster's network namespace, before any thread or socket exists. */
	static struct kbp_cluster_config cfg;
	char err[KBP_CONFIG_ERR_MAX];
	if (kbp_config_load(config, &cfg, err, sizeof(err)) != 0 ||
	    kbp_netns_enter(cfg.netns, err, sizeof(err)) != 0) {
		fprintf(stderr, "cluster_load: %s\n", err);
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct shared sh = {
		.config = config, .opts = &opts, .prefix = prefix, .count = count, .keys = keys,
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
