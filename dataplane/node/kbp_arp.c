/* SPDX-License-Identifier: MIT */
/* ARP: answer requests for our own IPv4 address, so kernel clients and switches find us. */
#include <rte_arp.h>
#include <rte_ether.h>

#include "kbp_daemon.h"

/* Consumes m: turns a request for our address into the reply in place, else frees it. */
void kbp_arp_answer(struct kbp_daemon *d, struct rte_mbuf *m, uint16_t port_idx)
{
	if (m->data_len < sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr)) {
		rte_pktmbuf_free(m);
		return;
	}
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);
	if (ah->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    ah->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ah->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    ah->arp_data.arp_tip != rte_cpu_to_be_32(d->addr.ip)) {
		rte_pktmbuf_free(m);
		return;
	}
	struct rte_ether_addr ours;
	memcpy(ours.addr_bytes, d->addr.mac, RTE_ETHER_ADDR_LEN);
	rte_ether_addr_copy(&eh->src_addr, &eh->dst_addr);
	rte_ether_addr_copy(&ours, &eh->src_addr);
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&ah->arp_data.arp_sha, &ah->arp_data.arp_tha);
	ah->arp_data.arp_tip = ah->arp_data.arp_sip;
	rte_ether_addr_copy(&ours, &ah->arp_data.arp_sha);
	ah->arp_data.arp_sip = rte_cpu_to_be_32(d->addr.ip);
	struct kbp_port *p = &d->port[port_idx];
	rte_eth_tx_buffer(p->port_id, 0, p->txb, m);
}
