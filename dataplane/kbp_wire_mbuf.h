/* SPDX-License-Identifier: MIT */
/* kbp_wire over DPDK mbufs: the RX lcore parses in place, the TX path encodes into a fresh mbuf. */
#ifndef KBP_WIRE_MBUF_H
#define KBP_WIRE_MBUF_H

#include <rte_mbuf.h>

#include "kbp_wire.h"

/*
 * Parse a received mbuf in place; out->payload points into its data, so the mbuf must
 * outlive the message.  A chained (multi-segment) mbuf is refused with
 * -KBP_WIRE_MBUF_SEGS: every config keeps a frame within one segment (mtu below the
 * mbuf data room), so a chain is either misconfiguration or an attack.
 */
int kbp_wire_parse_mbuf(const struct rte_mbuf *mb, const struct kbp_wire_ctx *ctx,
			struct kbp_msg *out, struct kbp_wire_src *src);

static inline int kbp_wire_parse_mbuf_count(const struct rte_mbuf *mb, const struct kbp_wire_ctx *ctx,
					    struct kbp_msg *out, struct kbp_wire_src *src,
					    struct kbp_wire_counters *c)
{
	int r = kbp_wire_parse_mbuf(mb, ctx, out, src);
	c->n[-r]++;
	return r;
}

/*
 * Encode m into the empty mbuf mb (one segment).  Returns 0, -KBP_ETOOBIG if the frame
 * exceeds the tailroom, or -KBP_EINVAL (see kbp_wire_encode).
 */
int kbp_wire_encode_into_mbuf(struct rte_mbuf *mb, const struct kbp_wire_addr *src,
			      const struct kbp_wire_addr *dst, uint16_t cluster_id,
			      const struct kbp_msg *m);

/*
 * Allocate an mbuf from mp and encode m into it.  Returns 0 with *out set, -KBP_EFULL if
 * the pool is empty, or an error of kbp_wire_encode_into_mbuf (nothing stays allocated).
 */
int kbp_wire_encode_mbuf(struct rte_mempool *mp, const struct kbp_wire_addr *src,
			 const struct kbp_wire_addr *dst, uint16_t cluster_id,
			 const struct kbp_msg *m, struct rte_mbuf **out);

#endif
