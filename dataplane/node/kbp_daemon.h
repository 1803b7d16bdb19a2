/* SPDX-License-Identifier: MIT */
/*
 * kbpaxosd: the state of one node process.  Ownership: the RX lcore owns the RX queues
 * and rx_drops; the consensus lcore owns everything else (the consensus node, the log,
 * TX queues, the client address table).  They meet only in `rx_ring`.  The telemetry
 * thread reads `pub`, which the consensus lcore publishes with relaxed atomic stores.
 * The link thread owns `links` (kbp_link.h): it watches every port and re-dials memif
 * clients, parking a port with both lcores before it stops and starts it.
 */
#ifndef KBP_DAEMON_H
#define KBP_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "kbp_config.h"
#include "kbp_hist.h"
#include "kbp_link.h"
#include "kbp_log.h"
#include "kbp_node.h"
#include "kbp_rebuild_marker.h"
#include "kbp_wire.h"
#include "kbp_wire_mbuf.h"

#define KBP_BURST 32
#define KBP_RX_RING_SIZE 4096
#define KBP_PORT_DESC 1024
#define KBP_MBUFS 8191
#define KBP_MBUF_CACHE 256
#define KBP_CLIENT_ADDRS 65536

extern int kbp_logtype_node;
#define KBP_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, kbp_logtype_node, "kbpaxosd: " fmt "\n", ##__VA_ARGS__)

/* What the RX lcore attaches to each accepted mbuf (in the mbuf's private area). */
struct kbp_rx_meta {
	struct kbp_msg msg;          /* payload points into the mbuf */
	struct kbp_wire_src src;
	uint16_t port;               /* DPDK port it arrived on */
	uint8_t arp;                 /* an ARP frame, not parsed */
};

/* Why a frame was not sent (X-macro): telemetry name, and a sentence for people. */
#define KBP_TX_DROPS(X)                                                                       \
	X(KBP_TX_LINK_DOWN, "link_down", "the port's link was down or being re-dialled")       \
	X(KBP_TX_FULL, "full", "the port refused the frame with its link up (TX queue full)")  \
	X(KBP_TX_NO_MBUF, "no_mbuf", "no mbuf left to build the frame in")                     \
	X(KBP_TX_TOO_BIG, "too_big", "the frame is larger than the port takes")

enum kbp_tx_drop {
#define KBP_TX_X_ENUM(name, tag, text) name,
	KBP_TX_DROPS(KBP_TX_X_ENUM)
#undef KBP_TX_X_ENUM
	KBP_TX_DROP_COUNT
};

struct kbp_port {
	uint16_t port_id;
	struct rte_eth_dev_tx_buffer *txb;
	struct kbp_link *link;       /* &daemon.links.link[i] */
	uint32_t frame_max;          /* largest frame this port takes (its MTU + 14), read at start */
	uint32_t payload_max;        /* largest kbpaxos payload in such a frame */
	uint64_t tx_drop[KBP_TX_DROP_COUNT];   /* consensus lcore's (and the tx buffer callback's) */
};

/* Counters the consensus lcore publishes for telemetry (relaxed atomic stores). */
struct kbp_published {
	uint64_t role, leader, ballot, promised, commit, applied, next_slot, log_base;
	uint64_t lease_until_ns, now_ns, queue_bytes, ring_depth;
	uint64_t persist_issued, persist_durable, persist_writes, persist_p50_ns, persist_p99_ns,
		 persist_p999_ns;
	uint64_t batches, batch_cmds;        /* proposed batches and the commands in them */
	uint64_t msgs_in, msgs_out, msgs_bad, msgs_stale, cmds_submitted, cmds_busy, cmds_applied;
	uint64_t elections, leader_changes, retransmits, catchups, snapshots_sent, snapshots_installed;
	uint64_t lease_reads, reads_via_log, lease_lapses, tx_dropped, replies_unroutable, loop_iters,
		 rx_ring_full, replies_too_big;
	uint64_t ballots_refused, ballots_forged, ballots_exhausted, chosen_conflicts, catchups_refused;
	uint64_t conflict_slot, conflict_from;
	uint64_t rebuild, rebuild_floor, rebuild_ballot, rebuild_target;   /* rebuild: enum kbp_rebuild_stage */
	uint64_t drops[KBP_WIRE_DROP_COUNT];
	uint64_t port_tx_drop[KBP_CONFIG_DEVS_MAX][KBP_TX_DROP_COUNT];
};

struct kbp_daemon {
	const struct kbp_cluster_config *cfg;
	unsigned self;
	const struct kbp_config_host *host;
	struct kbp_wire_ctx ctx;
	struct kbp_wire_addr addr;           /* our peer endpoint */
	struct kbp_wire_addr client_addr;    /* our client endpoint (same MAC/IP, client_port) */
	struct rte_mempool *pool;
	struct rte_ring *rx_ring;
	uint16_t n_ports;
	struct kbp_port port[KBP_CONFIG_DEVS_MAX];
	struct kbp_links links;              /* the link thread's (kbp_link.h) */
	pthread_t link_thread;
	bool link_thread_running;
	uint8_t route_port[KBP_NODES_MAX];   /* index into port[] that reaches node i */
	struct kbp_node *node;
	struct kbp_log *log;
	struct rte_hash *clients;            /* client id -> position in client_addr_tab */
	struct kbp_wire_src *client_addr_tab;
	struct kbp_hist persist_lat;
	uint64_t tsc_hz;
	bool idle_adaptive;
	bool rx_inline;                      /* one lcore: the engine polls RX itself */
	bool rebuilding;                     /* started to rebuild (--rebuild or marker); until it votes */
	struct kbp_wire_counters rx_drops;   /* RX lcore's */
	uint64_t rx_ring_full;               /* RX lcore's */
	struct kbp_published pub;
	uint64_t pct_published_ns;           /* consensus lcore: last percentile refresh */
	uint8_t *snap_buf;
	uint32_t snap_cap;
	volatile bool *force_quit;
};

static inline uint64_t kbp_now_ns(const struct kbp_daemon *d)
{
	/* TSC is invariant and monotonic on the CPUs we run on; leases need exactly that. */
	uint64_t t = rte_rdtsc();
	return (uint64_t)((__uint128_t)t * 1000000000u / d->tsc_hz);
}

/* kbp_ports.c */
int kbp_ports_init(struct kbp_daemon *d);
void kbp_ports_fini(struct kbp_daemon *d);
const char *kbp_tx_drop_name(unsigned cause);
/* The link thread: watches every port every KBP_LINK_POLL_MS until *force_quit. */
int kbp_links_thread_start(struct kbp_daemon *d);
void kbp_links_thread_stop(struct kbp_daemon *d);

/* kbp_rx.c */
unsigned kbp_rx_poll(struct kbp_daemon *d);
int kbp_rx_lcore(void *arg);
void kbp_idle(bool adaptive, unsigned *idle_iters);

/* kbp_arp.c */
void kbp_arp_answer(struct kbp_daemon *d, struct rte_mbuf *m, uint16_t port_idx);

/* kbp_engine.c */
int kbp_engine_recover(struct kbp_daemon *d);
int kbp_engine_lcore(void *arg);

/* kbp_telemetry.c */
void kbp_telemetry_register(struct kbp_daemon *d);
void kbp_publish(struct kbp_daemon *d, uint64_t now);

#endif
