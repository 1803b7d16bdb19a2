/* SPDX-License-Identifier: MIT */
/*
 * Client replies gathered into CLIENT_REP frames, each no larger than the link it leaves
 * through takes.  Replies to one destination keep their order; when the next one does not
 * fit the frame being filled, that frame is sent and a new one begins, so a request that
 * carried several large GETs is answered in several frames.  A single reply that cannot
 * fit even an empty frame of its link (a value larger than that link's MTU allows) is
 * answered KBP_ST_TOO_BIG without its value instead of being dropped.  No DPDK, no
 * allocation: the engine owns the frames and sends them from its callback.
 */
#ifndef KBP_REPLY_PACK_H
#define KBP_REPLY_PACK_H

#include <stdbool.h>
#include <stdint.h>

#include "kbp_cmd.h"
#include "kbp_wire.h"

#define KBP_REPLY_PACKS 4            /* destinations gathered at once */

struct kbp_reply_frame {
	int32_t dest;                /* the caller's destination handle; -1: free */
	uint32_t count, len;
	uint32_t payload_max;        /* of the destination's link */
	uint8_t buf[KBP_WIRE_PAYLOAD_LIMIT];
};

/* Send one frame's payload (count replies, len bytes) to dest. */
typedef void (*kbp_reply_send_fn)(void *arg, int32_t dest, const uint8_t *payload, uint32_t count,
				  uint32_t len);
/* Whether two destination handles name the same address and link. */
typedef bool (*kbp_reply_same_fn)(void *arg, int32_t a, int32_t b);

struct kbp_reply_packer {
	struct kbp_reply_frame *frame;   /* KBP_REPLY_PACKS of them, from the caller */
	uint32_t cmds_max;               /* replies per frame */
	kbp_reply_send_fn send;
	kbp_reply_same_fn same;
	void *arg;
	unsigned victim;
	uint64_t too_big;                /* replies answered KBP_ST_TOO_BIG */
};

/* frames: KBP_REPLY_PACKS frames the packer may use; cmds_max >= 1. */
void kbp_reply_packer_init(struct kbp_reply_packer *pk, struct kbp_reply_frame *frames, uint32_t cmds_max,
			   kbp_reply_send_fn send, kbp_reply_same_fn same, void *arg);

/*
 * Queue reply r for dest, whose link takes payloads of payload_max bytes (at least
 * KBP_REPLY_HDR_SIZE).  May send frames that are full.
 */
void kbp_reply_packer_add(struct kbp_reply_packer *pk, int32_t dest, uint32_t payload_max,
			  const struct kbp_reply *r);

/* Send every frame that holds replies. */
void kbp_reply_packer_flush(struct kbp_reply_packer *pk);

#endif
