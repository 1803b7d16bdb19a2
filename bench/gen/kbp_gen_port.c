/* SPDX-License-Identifier: MIT */
/* DPDK port bring-up for the generator and the fake cluster; reading a NIC's clock. */
/* rte_eth_read_clock is still experimental in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API 1
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "kbp_gen_port.h"

int kbp_gen_port_open(const char *name, struct rte_mempool *mp, const uint8_t mac[6],
		      bool rx_timestamp, uint16_t *port_id, char *err, size_t err_len)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t p;
	int r;

	if (rte_eth_dev_get_port_by_name(name, &p) != 0) {
		snprintf(err, err_len, "no DPDK port named %s (did EAL create the vdev?)", name);
		return -ENODEV;
	}
	memset(&conf, 0, sizeof(conf));
	if (rx_timestamp)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
	r = rte_eth_dev_info_get(p, &info);
	if (r == 0)
		r = rte_eth_dev_configure(p, 1, 1, &conf);
	uint16_t nb_rx = KBP_GEN_PORT_DESC, nb_tx = KBP_GEN_PORT_DESC;
	if (r == 0)
		r = rte_eth_dev_adjust_nb_rx_tx_desc(p, &nb_rx, &nb_tx);
	if (r == 0)
		r = rte_eth_rx_queue_setup(p, 0, nb_rx, rte_eth_dev_socket_id(p), NULL, mp);
	if (r == 0)
		r = rte_eth_tx_queue_setup(p, 0, nb_tx, rte_eth_dev_socket_id(p), NULL);
	if (r == 0) {
		struct rte_ether_addr a;
		memcpy(a.addr_bytes, mac, 6);
		(void)rte_eth_dev_default_mac_addr_set(p, &a);   /* memif/ring: not supported */
		r = rte_eth_dev_start(p);
	}
	if (r != 0) {
		snprintf(err, err_len, "port %s: setup failed: %s", name, rte_strerror(-r));
		return r < 0 ? r : -EIO;
	}
	(void)rte_eth_promiscuous_enable(p);
	*port_id = p;
	return 0;
}

int kbp_gen_port_rx_timestamp_capa(const char *name, bool *capa, const char **driver)
{
	struct rte_eth_dev_info info;
	uint16_t p;

	*capa = false;
	*driver = "?";
	if (rte_eth_dev_get_port_by_name(name, &p) != 0 || rte_eth_dev_info_get(p, &info) != 0)
		return -ENODEV;
	*driver = info.driver_name;
	*capa = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0;
	return 0;
}

int kbp_gen_port_clock_anchor(uint16_t port_id, struct kbp_gen_clock_anchor *a)
{
	struct kbp_gen_clock_sample s[KBP_GEN_CLOCK_SAMPLES];

	for (uint32_t i = 0; i < KBP_GEN_CLOCK_SAMPLES; i++) {
		/* _precise: a barrier keeps the clock read between the two TSC reads. */
		s[i].tsc_before = rte_rdtsc_precise();
		int r = rte_eth_read_clock(port_id, &s[i].nic);
		s[i].tsc_after = rte_rdtsc_precise();
		if (r != 0)
			return r < 0 ? r : -EIO;
	}
	return kbp_gen_clock_anchor_pick(s, KBP_GEN_CLOCK_SAMPLES, a);
}

bool kbp_gen_port_link_up(uint16_t port_id)
{
	struct rte_eth_link link;
	memset(&link, 0, sizeof(link));
	return rte_eth_link_get_nowait(port_id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

void kbp_gen_port_close(uint16_t port_id)
{
	(void)rte_eth_dev_stop(port_id);
	(void)rte_eth_dev_close(port_id);
}

void kbp_gen_dev_arg(const char *args, const char *key, char *out, size_t out_len)
{
	size_t kl = strlen(key);
	const char *p = args;

	out[0] = '\0';
	while ((p = strchr(p, ',')) != NULL) {
		p++;
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(out, out_len, "%.*s", (int)strcspn(p + kl + 1, ","), p + kl + 1);
			return;
		}
	}
}
