/* SPDX-License-Identifier: MIT */
/*
 * kbpaxosd --config FILE --node N [--init | --rebuild] [--log-dir DIR] [--idle busy|adaptive]
 *          [-- EAL args...]
 *
 * --rebuild: this node lost its log (a failed disk replaced by an empty one): start with
 * an empty log_dir as a non-voting learner that votes only once that is safe
 * (consensus/kbp_rebuild.c, docs/DEPLOY.md "Replacing a failed disk").
 *
 * One kbpaxos node: the EAL arguments come from the config (cores, devices, file prefix,
 * hugepages or not), extra ones after "--" are appended.  --init is for the first start
 * of a cluster only: it creates the node's log (and log_dir) and refuses a directory that
 * already holds one; every later start opens the log it finds and refuses to run
 * without one, so a node that lost its disk never comes back as a blank acceptor.  The main lcore runs consensus;
 * the next lcore, if the config gives one, polls RX.  SIGINT/SIGTERM stop RX, drain the
 * log and exit.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_hash_crc.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "kbp_daemon.h"
#include "kbp_netns.h"

static volatile bool force_quit;

/* Milliseconds on the monotonic clock, for the start-up report (before the TSC is known). */
static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&force_quit, true, __ATOMIC_RELAXED);
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s --config FILE --node N [--init | --rebuild] [--log-dir DIR] "
		"[--idle busy|adaptive] [-- EAL args]\n"
		"  --init     first start of a cluster: create this node's log (docs/DEPLOY.md)\n"
		"  --rebuild  this node lost its log: rebuild it as a non-voting learner (docs/DEPLOY.md)\n",
		prog);
	exit(2);
}

/* A node id: 1 to 3 decimal digits and nothing else (no sign, space, suffix or fraction). */
static long parse_node(const char *s)
{
	long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3 || strspn(s, "0123456789") != n) {
		fprintf(stderr, "kbpaxosd: --node '%s': expected a node id, a decimal number such as 0 "
			"or 2\n", s);
		exit(2);
	}
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int mkdir_p(const char *path)
{
	char buf[KBP_CONFIG_VALUE_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Decides whether this start rebuilds, and makes that durable before the node talks: with
 * --rebuild the directory must hold no log (an unusable one is moved aside by the
 * operator, never deleted here), and the marker is written and synced first; a marker
 * left by an unfinished rebuild means rebuilding again, with or without --rebuild.
 * *create: a fresh rebuild creates its log.
 */
static int rebuild_prepare(struct kbp_daemon *d, bool rebuild, bool *create)
{
	const char *dir = d->host->log_dir;
	char err[KBP_CONFIG_ERR_MAX];
	int marker = kbp_rebuild_marker_present(dir, err, sizeof(err));
	if (marker < 0) {
		KBP_LOG(ERR, "%s", err);
		return marker;
	}
	if (marker) {
		KBP_LOG(WARNING, "log_dir %s: this node was rebuilding when it stopped; it rebuilds again", dir);
		d->rebuilding = true;
		return 0;
	}
	if (!rebuild)
		return 0;
	int empty = kbp_rebuild_dir_empty(dir, err, sizeof(err));
	if (empty <= 0) {
		if (empty < 0)
			KBP_LOG(ERR, "%s", err);
		else
			KBP_LOG(ERR, "--rebuild: log_dir %s is not empty; move the unusable log aside "
				"(mv %s %s.broken) and start again", dir, dir, dir);
		return empty < 0 ? empty : -EEXIST;
	}
	if (kbp_rebuild_marker_set(dir, err, sizeof(err)) < 0) {
		KBP_LOG(ERR, "%s", err);
		return -EIO;
	}
	d->rebuilding = true;
	*create = true;
	return 0;
}

/*
 * Fault the consensus core's working memory in now, then lock what is resident.  Pages
 * otherwise arrive one 4 KiB fault at a time under the first few hundred thousand
 * commands: measured on this project's 2-core VM, that stalled the leader long enough
 * for its lease to lapse again and again in the first seconds of load (throughput took
 * 5-8 s to ramp up).  MCL_ONFAULT locks without populating the snapshot buffers, which
 * are as large as the whole key-value table and only used by snapshots.
 */
static void prefault_memory(struct kbp_node *node)
{
	uint64_t t0 = rte_rdtsc();
	kbp_node_prefault(node);
	double ms = (double)(rte_rdtsc() - t0) * 1e3 / (double)rte_get_tsc_hz();
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		KBP_LOG(WARNING, "mlockall: %s; memory may be swapped out (raise RLIMIT_MEMLOCK or "
			"grant CAP_IPC_LOCK)", strerror(errno));
	KBP_LOG(INFO, "working memory faulted in (%.0f ms)", ms);
}

int main(int argc, char **argv)
{
	static struct kbp_cluster_config cfg;
	static struct kbp_daemon d;
	static struct kbp_config_host host;
	const char *config = NULL, *log_dir = NULL, *idle = NULL;
	long node = -1;
	bool init = false;
	double t_start = mono_ms(), t_eal = 0, t_recovered = 0, t_ports = 0;
	bool rebuild = false;
	char err[KBP_CONFIG_ERR_MAX];
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "node", required_argument, NULL, 'n' },
		{ "log-dir", required_argument, NULL, 'l' }, { "idle", required_argument, NULL, 'i' },
		{ "init", no_argument, NULL, 'I' }, { "rebuild", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "c:n:l:i:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': config = optarg; break;
		case 'n': node = parse_node(optarg); break;
		case 'I': init = true; break;
		case 'l': log_dir = optarg; break;
		case 'i': idle = optarg; break;
		case 'r': rebuild = true; break;
		default: usage(argv[0]);
		}
	}
	if (!config || node < 0 || (init && rebuild))
		usage(argv[0]);
	if (kbp_config_load(config, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "kbpaxosd: %s\n", err);
		return 1;
	}
	if ((unsigned long)node >= cfg.nodes) {
		fprintf(stderr, "kbpaxosd: --node %ld: %s has nodes 0..%u\n", node, config, cfg.nodes - 1);
		return 1;
	}
	if (kbp_netns_enter(cfg.netns, err, sizeof(err)) != 0) {   /* before EAL starts threads */
		fprintf(stderr, "kbpaxosd: %s\n", err);
		return 1;
	}
	d.cfg = &cfg;
	d.self = (unsigned)node;
	host = *kbp_config_host(&cfg, d.self);
	if (log_dir)
		snprintf(host.log_dir, sizeof(host.log_dir), "%s", log_dir);
	if (idle && strcmp(idle, "busy") && strcmp(idle, "adaptive"))
		usage(argv[0]);
	d.host = &host;
	d.idle_adaptive = idle ? !strcmp(idle, "adaptive") : host.idle == KBP_IDLE_ADAPTIVE;
	d.force_quit = &force_quit;
	/* Adaptive idling sleeps ~20 us; the default 50 us timer slack would triple that. */
	if (d.idle_adaptive)
		prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

	/* EAL: the config's arguments, then whatever follows "--" on our command line. */
	static struct kbp_eal_args ea;
	if (kbp_config_eal_args(&cfg, d.self, argv[0], kbp_config_hugepages_available(), &ea) < 0) {
		fprintf(stderr, "kbpaxosd: EAL arguments do not fit\n");
		return 1;
	}
	for (int i = optind; i < argc && ea.argc < KBP_EAL_ARGS_MAX; i++)
		ea.argv[ea.argc++] = argv[i];
	ea.argv[ea.argc] = NULL;
	if (rte_eal_init(ea.argc, ea.argv) < 0) {
		fprintf(stderr, "kbpaxosd: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	t_eal = mono_ms();
	kbp_logtype_node = rte_log_register_type_and_pick_level("kbpaxos.node", RTE_LOG_INFO);
	if (kbp_logtype_node < 0)
		kbp_logtype_node = RTE_LOGTYPE_USER1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	d.tsc_hz = rte_get_tsc_hz();

	int rc = 1;
	kbp_config_wire_ctx(&cfg, d.self, &d.ctx);
	d.addr = d.ctx.node[d.self].addr;
	d.client_addr = d.addr;
	d.client_addr.port = d.ctx.node[d.self].client_port;
	d.rx_ring = rte_ring_create("kbp_rx", KBP_RX_RING_SIZE, (int)rte_socket_id(),
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct rte_hash_parameters hp = {
		.name = "kbp_clients", .entries = KBP_CLIENT_ADDRS, .key_len = sizeof(uint64_t),
		.hash_func = rte_hash_crc, .socket_id = (int)rte_socket_id(),
	};
	d.clients = rte_hash_create(&hp);
	if (!d.rx_ring || !d.clients) {
		KBP_LOG(ERR, "cannot create the RX ring or client table: %s", rte_strerror(rte_errno));
		goto out;
	}
	if (kbp_hist_init(&d.persist_lat, 1000, 60ull * 1000000000ull, 3) < 0)
		goto out;

	struct kbp_node_config ncfg;
	kbp_config_node_config(&cfg, d.self, &ncfg);
	ncfg.seed ^= rte_rdtsc();      /* election jitter must differ between runs and nodes */
	d.node = kbp_node_new(&ncfg);
	if (!d.node) {
		KBP_LOG(ERR, "cannot allocate the consensus node (out of memory?)");
		goto out;
	}
	d.snap_cap = kbp_node_snapshot_bytes_max(d.node);
	d.snap_buf = malloc(d.snap_cap);
	/* Only a first start or a rebuild makes the directory: a missing one is a missing log otherwise. */
	int r = init || rebuild ? mkdir_p(host.log_dir) : 0;
	if (!d.snap_buf || r < 0) {
		KBP_LOG(ERR, "log_dir %s: %s", host.log_dir, r < 0 ? strerror(-r) : "out of memory");
		goto out;
	}
	bool create = init;
	if (rebuild_prepare(&d, rebuild, &create) < 0)
		goto out;
	struct kbp_log_config lc;
	kbp_log_config_default(&lc);
	lc.dir = host.log_dir;
	lc.cluster_id = cfg.id;
	lc.node_id = d.self;
	lc.config_digest = kbp_config_digest(&cfg);
	lc.create = create;
	r = kbp_log_open(&d.log, &lc, err, sizeof(err));
	if (r == -ENOENT && d.rebuilding && !create) {
		lc.create = create = true;   /* it stopped rebuilding before its new log existed */
		r = kbp_log_open(&d.log, &lc, err, sizeof(err));
	}
	if (r < 0) {
		KBP_LOG(ERR, "log_dir %s: %s", host.log_dir, err);
		goto out;
	}
	KBP_LOG(INFO, "log_dir %s: %s the log of cluster %u node %u (config digest %016" PRIx64 ")",
		host.log_dir, create ? "created" : "opened", cfg.id, d.self, lc.config_digest);
	if (kbp_engine_recover(&d) < 0)
		goto out;
	t_recovered = mono_ms();
	if (kbp_ports_init(&d) < 0)
		goto out;
	t_ports = mono_ms();
	kbp_publish(&d, kbp_now_ns(&d));     /* telemetry never shows a state before recovery */
	kbp_telemetry_register(&d);
	prefault_memory(d.node);
	if (kbp_links_thread_start(&d) < 0)
		goto out;
	/* A restart's cost, for whoever measures failover and catch-up. */
	KBP_LOG(INFO, "start-up took %.0f ms: EAL %.0f, log open and recovery %.0f, ports %.0f, "
		"memory %.0f", mono_ms() - t_start, t_eal - t_start, t_recovered - t_eal,
		t_ports - t_recovered, mono_ms() - t_ports);

	unsigned rx_lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	d.rx_inline = rx_lcore >= RTE_MAX_LCORE;
	if (!d.rx_inline)
		rte_eal_remote_launch(kbp_rx_lcore, &d, rx_lcore);
	KBP_LOG(INFO, "node %u serving on %s:%u (peers) / :%u (clients), idle %s, RX %s", d.self,
		host.dev[0].name, d.addr.port, d.client_addr.port, d.idle_adaptive ? "adaptive" : "busy",
		d.rx_inline ? "inline" : "on its own lcore");
	rc = kbp_engine_lcore(&d) < 0 ? 1 : 0;
	__atomic_store_n(&force_quit, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	KBP_LOG(INFO, "node %u stopping: draining the log", d.self);
out:
	__atomic_store_n(&force_quit, true, __ATOMIC_RELAXED);
	kbp_links_thread_stop(&d);
	if (d.n_ports)
		kbp_ports_fini(&d);
	kbp_log_close(d.log);
	kbp_node_free(d.node);
	free(d.snap_buf);
	kbp_hist_fini(&d.persist_lat);
	rte_hash_free(d.clients);
	rte_ring_free(d.rx_ring);
	rte_eal_cleanup();
	return rc;
}
