/* SPDX-License-Identifier: MIT */
/*
 * Ports of a node: the mbuf pool, one RX and one TX queue per device, TX buffers, each
 * port's real frame limit, and the link thread that watches them (kbp_link.h).
 */
#include <errno.h>
#include <time.h>

#include <rte_malloc.h>

#include "kbp_daemon.h"

int kbp_logtype_node = RTE_LOGTYPE_USER1;   /* kbpaxosd registers its own at start */

const char *kbp_tx_drop_name(unsigned cause)
{
	static const char *const names[] = {
#define KBP_TX_X_NAME(name, tag, text) [name] = tag,
		KBP_TX_DROPS(KBP_TX_X_NAME)
#undef KBP_TX_X_NAME
	};
	return cause < KBP_TX_DROP_COUNT ? names[cause] : "?";
}

/* Runs on the consensus lcore, inside its TX flush: frames the port would not take. */
static void tx_drop_cb(struct rte_mbuf **pkts, uint16_t unsent, void *userdata)
{
	struct kbp_port *p = userdata;
	/* The protocol retransmits; never block the lcore.  The cause: the link, or a full queue. */
	p->tx_drop[kbp_link_is_up(p->link) ? KBP_TX_FULL : KBP_TX_LINK_DOWN] += unsent;
	rte_pktmbuf_free_bulk(pkts, unsent);
}

/* Whether port i carries peer traffic (some other node is routed through it). */
static bool is_peer_port(const struct kbp_daemon *d, unsigned i)
{
	for (unsigned n = 0; n < d->cfg->nodes; n++)
		if (n != d->self && d->host->route[n] == i)
			return true;
	return false;
}

/*
 * The port's real frame limit.  A driver that takes the config's MTU gets it.  One with
 * no MTU setting at all (-ENOTSUP: memif, ring) enforces none; for memif the config
 * already checked bsize >= mtu + 14.  One that refuses it (tap: its frames stop at 1,522
 * bytes) keeps its own MTU, and we send no larger frame there: a warning for a client
 * port (replies are split to fit), an error for a peer port (consensus messages cannot
 * be split).
 */
static int port_frame_max(struct kbp_daemon *d, unsigned i, const struct kbp_config_dev *dev)
{
	struct kbp_port *p = &d->port[i];
	uint32_t want = d->cfg->mtu;
	int r = rte_eth_dev_set_mtu(p->port_id, (uint16_t)want);
	uint16_t mtu = (uint16_t)want;
	if (r < 0 && r != -ENOTSUP) {
		if (rte_eth_dev_get_mtu(p->port_id, &mtu) < 0 || mtu >= want)
			mtu = RTE_ETHER_MTU;
		if (is_peer_port(d, i)) {
			KBP_LOG(ERR, "port %s (%s) carries peer messages but cannot take [cluster] mtu = %u "
				"(%s; it keeps %u): lower mtu in %s or use another device", dev->label, dev->name,
				want, rte_strerror(-r), mtu, d->cfg->path);
			return -EINVAL;
		}
		KBP_LOG(WARNING, "port %s (%s) cannot take [cluster] mtu = %u (%s); it keeps MTU %u, so "
			"frames through it stay within %u bytes: replies are split to fit, a single answer "
			"that cannot fit is answered TOO_BIG", dev->label, dev->name, want, rte_strerror(-r),
			mtu, mtu + KBP_WIRE_ETH_SIZE);
	}
	p->frame_max = (uint32_t)mtu + KBP_WIRE_ETH_SIZE;
	p->payload_max = p->frame_max > KBP_WIRE_OVERHEAD ? p->frame_max - KBP_WIRE_OVERHEAD : 0;
	if (p->payload_max > d->ctx.payload_max)
		p->payload_max = d->ctx.payload_max;
	if (p->payload_max < KBP_REPLY_HDR_SIZE) {
		KBP_LOG(ERR, "port %s (%s): MTU %u leaves no room for a kbpaxos message", dev->label,
			dev->name, mtu);
		return -EINVAL;
	}
	return 0;
}

static int port_queues(struct kbp_daemon *d, unsigned i)
{
	struct kbp_port *p = &d->port[i];
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t nb_rx = KBP_PORT_DESC, nb_tx = KBP_PORT_DESC;

	int r = rte_eth_dev_info_get(p->port_id, &info);
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
	return 0;
}

/* Configure, size and start port i; *started is false for a memif client with no server yet. */
static int port_start(struct kbp_daemon *d, unsigned i, const struct kbp_config_dev *dev, bool *started)
{
	struct kbp_port *p = &d->port[i];
	int r = rte_eth_dev_get_port_by_name(dev->name, &p->port_id);
	if (r < 0) {
		KBP_LOG(ERR, "%s: [%s] %s: no such DPDK port '%s' (check the vdev/pci line)",
			d->cfg->path, d->self == KBP_NODE_CLIENT ? "generator" : "node", dev->label, dev->name);
		return r;
	}
	r = port_queues(d, i);
	if (r < 0)
		return r;
	r = port_frame_max(d, i, dev);
	if (r < 0)
		return r;
	r = rte_eth_dev_start(p->port_id);
	*started = r == 0;
	if (r < 0 && strncmp(dev->name, "net_memif", 9) == 0) {
		/* A client whose server is down: the link thread dials it once it is back. */
		KBP_LOG(NOTICE, "port %s (%s): its memif server does not answer yet; the link thread "
			"will re-dial it", dev->label, dev->name);
		r = 0;
	}
	if (r < 0)
		return r;
	/* Frames are addressed to the configured MAC, not the device's own. */
	rte_eth_promiscuous_enable(p->port_id);
	KBP_LOG(INFO, "port %s (%s)%s, frames up to %u bytes", dev->label, dev->name,
		*started ? " started" : " configured", p->frame_max);
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
	bool started[KBP_CONFIG_DEVS_MAX];
	uint16_t ids[KBP_CONFIG_DEVS_MAX];
	d->n_ports = (uint16_t)h->n_devs;
	for (unsigned i = 0; i < h->n_devs; i++)
		d->port[i].link = &d->links.link[i];
	for (unsigned i = 0; i < h->n_devs; i++) {
		int r = port_start(d, i, &h->dev[i], &started[i]);
		if (r < 0) {
			KBP_LOG(ERR, "port %s: %s", h->dev[i].label, rte_strerror(-r));
			return r;
		}
		ids[i] = d->port[i].port_id;
	}
	kbp_links_init(&d->links, h, ids, false, kbp_logtype_node, "kbpaxosd");
	for (unsigned i = 0; i < h->n_devs; i++)
		if (!started[i])
			kbp_links_mark_stopped(&d->links, i);
	for (unsigned j = 0; j < KBP_NODES_MAX; j++)
		d->route_port[j] = h->route[j];
	return 0;
}

/*
 * memif ports are stopped, not closed: DPDK 22.11's memif frees a server's listening
 * socket on close without unregistering its interrupt callback, so a peer re-dialling
 * during our shutdown made the interrupt thread spin on freed memory ("Failed to accept
 * connection request on socket fd -1", hundreds of lines).  The process exits right
 * after; the kernel closes what is left.
 */
void kbp_ports_fini(struct kbp_daemon *d)
{
	for (unsigned i = 0; i < d->n_ports; i++) {
		struct kbp_port *p = &d->port[i];
		if (p->txb && !kbp_link_parked(p->link))
			rte_eth_tx_buffer_flush(p->port_id, 0, p->txb);
		rte_eth_dev_stop(p->port_id);
		if (strncmp(d->host->dev[i].name, "net_memif", 9) != 0)
			rte_eth_dev_close(p->port_id);
		rte_free(p->txb);
	}
}

static void *link_thread(void *arg)
{
	struct kbp_daemon *d = arg;
	while (!__atomic_load_n(d->force_quit, __ATOMIC_RELAXED)) {
		kbp_links_poll(&d->links, kbp_now_ns(d));
		struct timespec ts = { 0, KBP_LINK_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int kbp_links_thread_start(struct kbp_daemon *d)
{
	int r = rte_ctrl_thread_create(&d->link_thread, "kbp-link", NULL, link_thread, d);
	if (r != 0) {
		KBP_LOG(ERR, "cannot start the link thread: %s", rte_strerror(r));
		return -r;
	}
	d->link_thread_running = true;
	return 0;
}

/* After *force_quit: the lcores have stopped, so nothing is parked or dialled any more. */
void kbp_links_thread_stop(struct kbp_daemon *d)
{
	if (d->link_thread_running)
		pthread_join(d->link_thread, NULL);
	d->link_thread_running = false;
}
