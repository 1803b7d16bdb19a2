/* SPDX-License-Identifier: MIT */
/* Ports of a node: the mbuf pool, one RX and one TX queue per device, TX buffers. */
#include <rte_malloc.h>

#include "kbp_daemon.h"

int kbp_logtype_node = RTE_LOGTYPE_USER1;   /* kbpaxosd registers its own at start */

static void tx_drop_cb(struct rte_mbuf **pkts, uint16_t unsent, void *userdata)
{
	struct kbp_port *p = userdata;
	p->tx_dropped += unsent;     /* the protocol retransmits; never block the lcore */
	rte_pktmbuf_free_bulk(pkts, unsent);
}

static int port_start(struct kbp_daemon *d, unsigned i, const struct kbp_config_dev *dev)
{
	struct kbp_port *p = &d->port[i];
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t nb_rx = KBP_PORT_DESC, nb_tx = KBP_PORT_DESC;
	int r;

	r = rte_eth_dev_get_port_by_name(dev->name, &p->port_id);
	if (r < 0) {
		KBP_LOG(ERR, "%s: [%s] %s: no such DPDK port '%s' (check the vdev/pci line)",
			d->cfg->path, d->self == KBP_NODE_CLIENT ? "generator" : "node", dev->label, dev->name);
		return r;
	}
	r = rte_eth_dev_info_get(p->port_id, &info);
	if (r < 0)
		return r;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	r = rte_eth_dev_configure(p->port_id, 1, 1, &conf);
	if (r < 0)
		return r;
	r = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nb_rx, &nb_tx);
	if (r < 0)
		return r;
	/* Not every virtual device supports an MTU change; the frames we send fit either way. */
	if (rte_eth_dev_set_mtu(p->port_id, (uint16_t)d->cfg->mtu) < 0)
		KBP_LOG(DEBUG, "port %s: MTU %u not settable, keeping the default", dev->name, d->cfg->mtu);
	int socket = rte_eth_dev_socket_id(p->port_id);
	r = rte_eth_rx_queue_setup(p->port_id, 0, nb_rx, socket, NULL, d->pool);
	if (r < 0)
		return r;
	r = rte_eth_tx_queue_setup(p->port_id, 0, nb_tx, socket, NULL);
	if (r < 0)
		return r;
	p->txb = rte_zmalloc_socket("kbp_txb", RTE_ETH_TX_BUFFER_SIZE(KBP_BURST), 0, socket);
	if (!p->txb)
		return -ENOMEM;
	rte_eth_tx_buffer_init(p->txb, KBP_BURST);
	rte_eth_tx_buffer_set_err_callback(p->txb, tx_drop_cb, p);
	r = rte_eth_dev_start(p->port_id);
	if (r < 0)
		return r;
	/* Frames are addressed to the configured MAC, not the device's own. */
	rte_eth_promiscuous_enable(p->port_id);
	KBP_LOG(INFO, "port %s (%s) up, %u/%u descriptors", dev->label, dev->name, nb_rx, nb_tx);
	return 0;
}

int kbp_ports_init(struct kbp_daemon *d)
{
	const struct kbp_config_host *h = d->host;
	uint32_t room = kbp_config_frame_max(d->cfg);
	if (room < 9216)
		room = 9216;         /* memif hands us buffers of its bsize: never chain them */
	d->pool = rte_pktmbuf_pool_create("kbp_pool", KBP_MBUFS, KBP_MBUF_CACHE,
					  RTE_ALIGN(sizeof(struct kbp_rx_meta), RTE_MBUF_PRIV_ALIGN),
					  (uint16_t)(room + RTE_PKTMBUF_HEADROOM), (int)rte_socket_id());
	if (!d->pool) {
		KBP_LOG(ERR, "cannot create the mbuf pool: %s (raise mem_mb in %s?)",
			rte_strerror(rte_errno), d->cfg->path);
		return -rte_errno;
	}
	d->n_ports = (uint16_t)h->n_devs;
	for (unsigned i = 0; i < h->n_devs; i++) {
		int r = port_start(d, i, &h->dev[i]);
		if (r < 0) {
			KBP_LOG(ERR, "port %s: %s", h->dev[i].label, rte_strerror(-r));
			return r;
		}
	}
	for (unsigned j = 0; j < KBP_NODES_MAX; j++)
		d->route_port[j] = h->route[j];
	return 0;
}

void kbp_ports_fini(struct kbp_daemon *d)
{
	for (unsigned i = 0; i < d->n_ports; i++) {
		struct kbp_port *p = &d->port[i];
		if (p->txb)
			rte_eth_tx_buffer_flush(p->port_id, 0, p->txb);
		rte_eth_dev_stop(p->port_id);
		rte_eth_dev_close(p->port_id);
		rte_free(p->txb);
	}
}
