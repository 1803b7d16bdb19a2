/* SPDX-License-Identifier: MIT */
/* kbp_wire over DPDK mbufs (see kbp_wire_mbuf.h). */
#include <assert.h>

#include "kbp_wire_mbuf.h"

int kbp_wire_parse_mbuf(const struct rte_mbuf *mb, const struct kbp_wire_ctx *ctx,
			struct kbp_msg *out, struct kbp_wire_src *src)
{
	assert(mb != NULL);
	if (mb->nb_segs != 1 || mb->next != NULL || mb->pkt_len != mb->data_len)
		return -KBP_WIRE_MBUF_SEGS;
	return kbp_wire_parse(rte_pktmbuf_mtod(mb, const uint8_t *), mb->data_len, ctx, out, src);
}

int kbp_wire_encode_into_mbuf(struct rte_mbuf *mb, const struct kbp_wire_addr *src,
			      const struct kbp_wire_addr *dst, uint16_t cluster_id,
			      const struct kbp_msg *m)
{
	assert(mb != NULL && mb->nb_segs == 1 && mb->data_len == 0);
	uint8_t *buf = rte_pktmbuf_mtod(mb, uint8_t *);
	int n = kbp_wire_encode(buf, rte_pktmbuf_tailroom(mb), src, dst, cluster_id, m);
	if (n < 0)
		return n;
	mb->data_len = (uint16_t)n;
	mb->pkt_len = (uint32_t)n;
	mb->l2_len = KBP_WIRE_ETH_SIZE;
	mb->l3_len = KBP_WIRE_IP_SIZE;
	mb->l4_len = KBP_WIRE_UDP_SIZE;
	return 0;
}

int kbp_wire_encode_mbuf(struct rte_mempool *mp, const struct kbp_wire_addr *src,
			 const struct kbp_wire_addr *dst, uint16_t cluster_id,
			 const struct kbp_msg *m, struct rte_mbuf **out)
{
	struct rte_mbuf *mb = rte_pktmbuf_alloc(mp);
	if (mb == NULL)
		return -KBP_EFULL;
	int r = kbp_wire_encode_into_mbuf(mb, src, dst, cluster_id, m);
	if (r < 0) {
		rte_pktmbuf_free(mb);
		return r;
	}
	*out = mb;
	return 0;
}
