/* SPDX-License-Identifier: MIT */
/*
 * Links that come back.  A watcher polls every port's link state off the hot path
 * (kbpaxosd: its link thread; kbpaxos-gen: its main loop every few milliseconds), counts
 * each transition, logs it at NOTICE, and re-dials the ports that cannot heal by
 * themselves.
 *
 * Why re-dial: DPDK 22.11's memif PMD connects a client only in dev_start
 * (memif_connect_client).  When the server side goes away (its process is killed), the
 * client's control channel closes, the PMD marks the link down, and nothing ever dials
 * again; a restarted server waits on its listening socket forever.  A server heals by
 * itself (it keeps listening and accepts the restarted client).  So for a memif client
 * whose link is down the watcher stops and starts the port, which dials again, backing
 * off from KBP_LINK_DIAL_MIN_MS to KBP_LINK_DIAL_MAX_MS while nobody answers.  tap,
 * af_packet and PCI ports come back by themselves; they are only watched and counted.
 * The PMDs report no link interrupt for memif, so the watcher polls
 * (rte_eth_link_get_nowait), which works for every port type.
 *
 * Only the lcore that owns a queue touches it.  Stopping a port resets its burst
 * functions and starting it re-creates its queues' state, so before either the watcher
 * parks the port: it makes `park` odd, each owner (the RX poller and the TX flusher)
 * acknowledges by storing that value once it is between bursts and then keeps off the
 * port until `park` is even again.  When the watcher is itself the only owner (the
 * generator's single lcore), acknowledgements are not needed.
 */
#ifndef KBP_LINK_H
#define KBP_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>

#include "kbp_config.h"

#define KBP_LINK_DIAL_MIN_MS 20u     /* first re-dial after a link goes down */
#define KBP_LINK_DIAL_MAX_MS 200u    /* re-dial interval while nobody answers */
#define KBP_LINK_SETTLE_MS 500u      /* a dial that connected: time to finish the handshake */
#define KBP_LINK_POLL_MS 10u         /* how often kbpaxosd's link thread looks */

struct kbp_link {
	/* Set once by kbp_links_init. */
	uint16_t port_id;
	bool redial;                 /* a memif client: re-dial while down */
	const char *label, *name;    /* the config's vdev.<label> and the ethdev name */

	/* The park handshake. */
	uint32_t park;               /* watcher: odd while owners must keep off the queues */
	uint32_t rx_ack, tx_ack;     /* owners: the odd park value they have obeyed */

	/* Published by the watcher with relaxed stores; telemetry and TX accounting read them. */
	uint32_t up;                 /* 1 while the link is up */
	uint64_t ups, downs;         /* transitions seen (a flap is one down and one up) */
	uint64_t redials, redial_failures;

	/* The watcher's own. */
	bool started;                /* the ethdev is started (a failed re-dial leaves it stopped) */
	bool seen;                   /* the first poll happened (start-up is not a transition) */
	uint64_t down_since_ns, next_dial_ns, dial_gap_ns, dials_this_outage;
};

struct kbp_links {
	unsigned n;
	bool self_owned;             /* the watcher's thread owns every queue: no acks needed */
	int logtype;                 /* rte_log type for the NOTICE lines */
	const char *who;             /* prefix of the log lines ("kbpaxosd") */
	struct kbp_link link[KBP_CONFIG_DEVS_MAX];
};

/*
 * Describe the started ports of host h (port_ids[i] is the ethdev of h->dev[i]).  A port
 * re-dials when it is a net_memif device with role=client.  Sets every link up as seen
 * now; the first kbp_links_poll reports the real state.
 */
void kbp_links_init(struct kbp_links *ls, const struct kbp_config_host *h, const uint16_t *port_ids,
		    bool self_owned, int logtype, const char *who);

/*
 * Port i could not start (a memif client whose server is not there yet): it begins parked
 * and stopped, and the watcher dials it like a port that went down.  Call before the
 * owners run.
 */
void kbp_links_mark_stopped(struct kbp_links *ls, unsigned i);

/* One watcher step at now_ns (monotonic): poll, count, log, park, re-dial, unpark. */
void kbp_links_poll(struct kbp_links *ls, uint64_t now_ns);

/* The number of links currently down. */
unsigned kbp_links_down(const struct kbp_links *ls);

/*
 * Owner side, on the hot path: one load each.  kbp_link_parked: whether the owner must
 * keep off the port now.  kbp_link_obey: call it between bursts, where the owner holds
 * nothing of the port; it acknowledges a park request in *ack and returns whether the
 * port may be used.
 */
static inline bool kbp_link_parked(const struct kbp_link *l)
{
	/* Acquire pairs with the watcher's release store of park after dev_start. */
	return unlikely(__atomic_load_n(&l->park, __ATOMIC_ACQUIRE) & 1u);
}

static inline bool kbp_link_obey(struct kbp_link *l, uint32_t *ack)
{
	uint32_t g = __atomic_load_n(&l->park, __ATOMIC_ACQUIRE);
	if (likely(!(g & 1u)))
		return true;
	if (*ack != g)   /* Release pairs with the watcher's acquire load of the ack. */
		__atomic_store_n(ack, g, __ATOMIC_RELEASE);
	return false;
}

static inline bool kbp_link_is_up(const struct kbp_link *l)
{
	return __atomic_load_n(&l->up, __ATOMIC_RELAXED) != 0;
}

#endif
