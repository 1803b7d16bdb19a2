/* SPDX-License-Identifier: MIT */
/*
 * The RX lcore: bursts in, validate and parse in place, hand mbuf pointers (no copy) to
 * the consensus lcore through one single-producer/single-consumer rte_ring.
 */
#include <time.h>

#include <rte_ether.h>
#include <rte_pause.h>

#include "kbp_daemon.h"

void kbp_idle(bool adaptive, unsigned *idle_iters)
{
	if (!adaptive)
		return;              /* busy polling: a dedicated core, lowest latency */
	/*
	 * A few empty polls, then a short sleep: lets several processes share a small box.
	 * Spinning longer is worse there, not better: measured on the 2-core VM with 7
	 * polling threads, spinning 256 polls plus 2048 pauses before sleeping kept the CPUs
	 * busy with idle threads, so a woken thread waited for a core; one request in flight
	 * took 7.7 ms (p50) and saturation was ~45k/s.  Sleeping after 8 empty polls: 2.2 ms
	 * and 75-85k/s.  On dedicated cores use idle = busy.
	 */
	unsigned n = ++*idle_iters;
	if (n < 8)
		return;
	struct timespec ts = { 0, 20000 };
	nanosleep(&ts, NULL);
}

unsigned kbp_rx_poll(struct kbp_daemon *d)
{
	struct rte_mbuf *pkts[KBP_BURST], *keep[KBP_BURST];
	unsigned total = 0;

	for (uint16_t i = 0; i < d->n_ports; i++) {
		struct kbp_link *l = d->port[i].link;
		if (unlikely(!kbp_link_obey(l, &l->rx_ack)))
			continue;            /* the link thread is re-dialling it */
		uint16_t n = rte_eth_rx_burst(d->port[i].port_id, 0, pkts, KBP_BURST);
		if (likely(n == 0))
			continue;
		total += n;
		unsigned k = 0;
		for (uint16_t j = 0; j < n; j++) {
			struct rte_mbuf *m = pkts[j];
			struct kbp_rx_meta *meta = rte_mbuf_to_priv(m);
			meta->port = i;
			meta->arp = 0;
			if (m->data_len >= sizeof(struct rte_ether_hdr)) {
				const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
				if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
					meta->arp = 1;
					keep[k++] = m;
					continue;
				}
			}
			if (kbp_wire_parse_mbuf_count(m, &d->ctx, &meta->msg, &meta->src, &d->rx_drops) < 0) {
				rte_pktmbuf_free(m);     /* counted by reason */
				continue;
			}
			keep[k++] = m;
		}
		unsigned q = rte_ring_enqueue_burst(d->rx_ring, (void **)keep, k, NULL);
		if (unlikely(q < k)) {
			d->rx_ring_full += k - q;     /* the consensus lcore is behind */
			rte_pktmbuf_free_bulk(keep + q, k - q);
		}
	}
	return total;
}

int kbp_rx_lcore(void *arg)
{
	struct kbp_daemon *d = arg;
	unsigned idle = 0;

	KBP_LOG(INFO, "RX lcore %u polling %u ports", rte_lcore_id(), d->n_ports);
	while (!__atomic_load_n(d->force_quit, __ATOMIC_RELAXED)) {
		if (kbp_rx_poll(d))
			idle = 0;
		else
			kbp_idle(d->idle_adaptive, &idle);
	}
	return 0;
}
