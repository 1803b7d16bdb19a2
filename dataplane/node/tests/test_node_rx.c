/* SPDX-License-Identifier: MIT */
/*
 * The node's RX path over a real virtual device: a net_ring port loops what we transmit
 * back to its RX queue, so frames go through rte_eth_rx_burst, the parser, the drop
 * counters and the rte_ring hand-off exactly as in kbpaxosd.  Exits 77 if EAL cannot start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ether.h>

#include "kbp_daemon.h"

static struct kbp_cluster_config cfg;
static struct kbp_config_host host;
static struct kbp_daemon d;
static volatile bool quit;
static struct kbp_wire_addr client = { .mac = { 0x02, 0, 0, 0, 0, 0x42 }, .ip = 0x0a4d0064, .port = 9000 };

static void tx(struct rte_mbuf *m)
{
	assert_int_equal(rte_eth_tx_burst(d.port[0].port_id, 0, &m, 1), 1);
}

static struct rte_mbuf *frame_of(const struct kbp_wire_addr *src, const struct kbp_wire_addr *dst,
				 const struct kbp_msg *m)
{
	struct rte_mbuf *mb;
	assert_int_equal(kbp_wire_encode_mbuf(d.pool, src, dst, cfg.id, m, &mb), 0);
	return mb;
}

static unsigned drain(struct rte_mbuf **out, unsigned cap)
{
	kbp_rx_poll(&d);
	return rte_ring_dequeue_burst(d.rx_ring, (void **)out, cap, NULL);
}

static void test_client_request_reaches_the_ring(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct kbp_cmd c = { .client_id = 7, .seq = 1, .op = KBP_OP_PUT, .key_len = 1,
			     .key = (const uint8_t *)"k", .val_len = 1, .val = (const uint8_t *)"v" };
	int len = kbp_cmd_encode(&c, buf, sizeof(buf));
	struct kbp_msg m = { .type = KBP_MSG_CLIENT_REQ, .from = KBP_NODE_CLIENT, .to = 0,
			     .count = 1, .len = (uint32_t)len, .payload = buf };
	struct kbp_wire_addr dst = d.client_addr;
	client.port = 9000;
	tx(frame_of(&client, &dst, &m));
	struct rte_mbuf *got[4];
	assert_int_equal(drain(got, 4), 1);
	struct kbp_rx_meta *meta = rte_mbuf_to_priv(got[0]);
	assert_int_equal(meta->msg.type, KBP_MSG_CLIENT_REQ);
	assert_int_equal(meta->msg.count, 1);
	assert_int_equal(meta->port, 0);
	assert_int_equal(meta->src.addr.port, 9000);
	/* Zero copy: the payload points into the mbuf itself. */
	assert_true(meta->msg.payload > rte_pktmbuf_mtod(got[0], uint8_t *));
	assert_memory_equal(meta->msg.payload, buf, (size_t)len);
	rte_pktmbuf_free(got[0]);
}

static void test_peer_message_only_from_its_configured_address(void **state)
{
	(void)state;
	struct kbp_msg m = { .type = KBP_MSG_COMMIT, .from = 1, .to = 0, .ballot = kbp_ballot_make(3, 1) };
	struct kbp_wire_addr peer = d.ctx.node[1].addr;
	uint64_t before = d.rx_drops.n[KBP_WIRE_PEER];
	tx(frame_of(&peer, &d.addr, &m));
	struct rte_mbuf *got[4];
	assert_int_equal(drain(got, 4), 1);
	assert_int_equal(((struct kbp_rx_meta *)rte_mbuf_to_priv(got[0]))->msg.type, KBP_MSG_COMMIT);
	rte_pktmbuf_free(got[0]);

	/* The same message from a stranger's MAC claiming to be node 1 is dropped and counted. */
	struct kbp_wire_addr forged = peer;
	forged.mac[5] ^= 0x55;
	tx(frame_of(&forged, &d.addr, &m));
	assert_int_equal(drain(got, 4), 0);
	assert_int_equal(d.rx_drops.n[KBP_WIRE_PEER], before + 1);
}

static void test_garbage_and_truncated_frames_are_counted_by_reason(void **state)
{
	(void)state;
	struct kbp_msg m = { .type = KBP_MSG_COMMIT, .from = 1, .to = 0, .ballot = kbp_ballot_make(3, 1) };
	struct kbp_wire_addr peer = d.ctx.node[1].addr;
	uint64_t crc = d.rx_drops.n[KBP_WIRE_CRC], trunc = d.rx_drops.n[KBP_WIRE_TRUNC_HDR];
	uint64_t eth = d.rx_drops.n[KBP_WIRE_TRUNC_ETH];

	struct rte_mbuf *bad = frame_of(&peer, &d.addr, &m);
	rte_pktmbuf_mtod(bad, uint8_t *)[bad->data_len - 1] ^= 0xff;        /* payload/header byte */
	tx(bad);
	struct rte_mbuf *cut = frame_of(&peer, &d.addr, &m);
	/* Cut inside the kbpaxos header, with IP and UDP lengths rewritten to agree. */
	uint16_t keep = KBP_WIRE_L2L4_SIZE + 20;
	uint8_t *p = rte_pktmbuf_mtod(cut, uint8_t *);
	rte_pktmbuf_trim(cut, (uint16_t)(cut->data_len - keep));
	uint16_t ip_len = (uint16_t)(keep - KBP_WIRE_ETH_SIZE), udp_len = (uint16_t)(ip_len - KBP_WIRE_IP_SIZE);
	p[16] = (uint8_t)(ip_len >> 8), p[17] = (uint8_t)ip_len;
	p[38] = (uint8_t)(udp_len >> 8), p[39] = (uint8_t)udp_len;
	p[24] = p[25] = 0;
	uint32_t sum = 0;
	for (int i = 14; i < 34; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p[24] = (uint8_t)(~sum >> 8), p[25] = (uint8_t)~sum;
	tx(cut);
	struct rte_mbuf *tiny = rte_pktmbuf_alloc(d.pool);
	memset(rte_pktmbuf_append(tiny, 6), 0xab, 6);
	tx(tiny);

	struct rte_mbuf *got[4];
	assert_int_equal(drain(got, 4), 0);
	assert_int_equal(d.rx_drops.n[KBP_WIRE_CRC], crc + 1);
	assert_int_equal(d.rx_drops.n[KBP_WIRE_TRUNC_HDR], trunc + 1);
	assert_int_equal(d.rx_drops.n[KBP_WIRE_TRUNC_ETH], eth + 1);
}

static void test_arp_request_for_our_address_is_answered(void **state)
{
	(void)state;
	struct rte_mbuf *m = rte_pktmbuf_alloc(d.pool);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eh) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);
	memset(&eh->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	memcpy(&eh->src_addr, client.mac, RTE_ETHER_ADDR_LEN);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = 6;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	memcpy(&ah->arp_data.arp_sha, client.mac, 6);
	ah->arp_data.arp_sip = rte_cpu_to_be_32(client.ip);
	ah->arp_data.arp_tip = rte_cpu_to_be_32(d.addr.ip);
	tx(m);

	struct rte_mbuf *got[4];
	assert_int_equal(drain(got, 4), 1);
	struct kbp_rx_meta *meta = rte_mbuf_to_priv(got[0]);
	assert_true(meta->arp);
	kbp_arp_answer(&d, got[0], meta->port);           /* replies on the same port */
	rte_eth_tx_buffer_flush(d.port[0].port_id, 0, d.port[0].txb);
	assert_int_equal(drain(got, 4), 1);
	eh = rte_pktmbuf_mtod(got[0], struct rte_ether_hdr *);
	ah = (struct rte_arp_hdr *)(eh + 1);
	assert_int_equal(rte_be_to_cpu_16(ah->arp_opcode), RTE_ARP_OP_REPLY);
	assert_memory_equal(ah->arp_data.arp_sha.addr_bytes, d.addr.mac, 6);
	assert_int_equal(rte_be_to_cpu_32(ah->arp_data.arp_sip), d.addr.ip);
	assert_memory_equal(eh->dst_addr.addr_bytes, client.mac, 6);
	rte_pktmbuf_free(got[0]);
}

int main(int argc, char **argv)
{
	char err[KBP_CONFIG_ERR_MAX];
	if (argc < 2 || kbp_config_load(argv[1], &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "test_node_rx: %s\n", argc < 2 ? "usage: test_node_rx CONFIG" : err);
		return 1;
	}
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry", "-l", "0", "-m", "256",
			"--vdev=net_ring0", "--log-level=error", NULL };
	if (rte_eal_init(11, eal) < 0) {
		fprintf(stderr, "test_node_rx: EAL cannot start here: skipped\n");
		return 77;
	}
	/* Node 0 of the one-box config, with one net_ring port in place of its memif links. */
	host = *kbp_config_host(&cfg, 0);
	host.n_devs = 1;
	snprintf(host.dev[0].name, sizeof(host.dev[0].name), "net_ring0");
	snprintf(host.dev[0].label, sizeof(host.dev[0].label), "ring");
	d.cfg = &cfg;
	d.self = 0;
	d.host = &host;
	d.force_quit = &quit;
	kbp_config_wire_ctx(&cfg, 0, &d.ctx);
	d.addr = d.ctx.node[0].addr;
	d.client_addr = d.addr;
	d.client_addr.port = d.ctx.node[0].client_port;
	d.rx_ring = rte_ring_create("kbp_rx", KBP_RX_RING_SIZE, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!d.rx_ring || kbp_ports_init(&d) < 0) {
		fprintf(stderr, "test_node_rx: cannot set up the net_ring port\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_request_reaches_the_ring),
		cmocka_unit_test(test_peer_message_only_from_its_configured_address),
		cmocka_unit_test(test_garbage_and_truncated_frames_are_counted_by_reason),
		cmocka_unit_test(test_arp_request_for_our_address_is_answered),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	kbp_ports_fini(&d);
	rte_ring_free(d.rx_ring);
	rte_eal_cleanup();
	return r;
}
