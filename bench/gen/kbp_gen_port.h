/* SPDX-License-Identifier: MIT */
/*
 * DPDK port bring-up shared by kbpaxos-gen and kbp-fake-cluster: one RX and one TX queue;
 * and, for the generator, the NIC's receive stamps and clock.
 */
#ifndef KBP_GEN_PORT_H
#define KBP_GEN_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "kbp_gen_clock.h"

#define KBP_GEN_PORT_DESC 1024u

/*
 * Configure and start the ethdev called name (a --vdev or -a argument up to the first
 * ','): one RX queue fed from mp, one TX queue; tries to set mac and promiscuous mode
 * (virtual devices may refuse both; that is fine).  rx_timestamp turns on the NIC's
 * receive stamps (only on a port that has them: kbp_gen_port_rx_timestamp_capa).
 * Returns 0 with *port_id set, or a negative errno with one line in err.
 */
int kbp_gen_port_open(const char *name, struct rte_mempool *mp, const uint8_t mac[6],
		      bool rx_timestamp, uint16_t *port_id, char *err, size_t err_len);

/*
 * Whether the port called name can stamp received frames (RTE_ETH_RX_OFFLOAD_TIMESTAMP),
 * asked before it is configured; *driver points at its PMD's name.  0, or -ENODEV.
 */
int kbp_gen_port_rx_timestamp_capa(const char *name, bool *capa, const char **driver);

/*
 * Read the started port's clock KBP_GEN_CLOCK_SAMPLES times, each between two TSC reads,
 * and keep the tightest.  0, or rte_eth_read_clock's negative errno.
 */
int kbp_gen_port_clock_anchor(uint16_t port_id, struct kbp_gen_clock_anchor *a);

/* Link status without waiting. */
bool kbp_gen_port_link_up(uint16_t port_id);

/* Stop and close. */
void kbp_gen_port_close(uint16_t port_id);

/* The value of key= in a device argument string ("net_memif0,socket=/x,..."), or "". */
void kbp_gen_dev_arg(const char *args, const char *key, char *out, size_t out_len);

#endif
