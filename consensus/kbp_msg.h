/* SPDX-License-Identifier: MIT */
/*
 * Protocol messages between nodes and from clients, as the consensus core sees them.
 * The dataplane maps each one to one packet (docs/PROTOCOL.md); the core never sees
 * bytes of framing.  Field use per type:
 *
 *   type         ballot         slot              commit   aux                 payload
 *   PREPARE      proposer's     first undecided   sender's -                   -     (ballot 0: promise query)
 *   PROMISE      promised       chunk first slot  sender's chunk end (excl.)   promise entries (count)
 *   NACK         rejected one   slot or 0         sender's promised ballot     -     (ballot 0: query answer)
 *   ACCEPT       leader's       slot              leader's term start          batch of commands (count)
 *   ACCEPTED     accepted       slot              sender's -                   -
 *   COMMIT       leader's       -                 leader's term start          -     (heartbeat)
 *   COMMIT_ACK   leader's       -                 sender's -                   -
 *   CATCHUP_REQ  -              first wanted      sender's last wanted (excl.) -
 *   CATCHUP      ballot chosen  slot              sender's -                   batch of commands (count)
 *   SNAP_REQ     -              -                 sender's -                   -
 *   SNAPSHOT     -              covers < slot     sender's byte offset         snapshot chunk; count = total bytes
 *   CLIENT_REQ   -              -                 -        -                   commands (count)
 *   CLIENT_REP   -              -                 -        -                   replies (count)
 *
 * Which node each ballot must name, and the promise query: docs/PROTOCOL.md "Ballot rules".
 * PROMISE flag KBP_MF_LAST marks the final chunk: the sender's promise covers every slot
 * from the PREPARE's first slot on.  Lease flags ride on ACCEPT/COMMIT (request, with
 * lease_stamp = the leader's send time) and ACCEPTED/COMMIT_ACK (grant, echoing it).
 *
 * Promise entry layout (little-endian, 8-byte aligned, KBP_PENTRY_HDR_SIZE header):
 *   0 u64 slot, 8 u64 ballot (KBP_BALLOT_CHOSEN: known chosen), 16 u32 count,
 *  20 u32 len, 24 batch bytes padded to 8.
 */
#ifndef KBP_MSG_H
#define KBP_MSG_H

#include "kbp_types.h"

enum kbp_msg_type {
	KBP_MSG_PREPARE = 1,
	KBP_MSG_PROMISE = 2,
	KBP_MSG_NACK = 3,
	KBP_MSG_ACCEPT = 4,
	KBP_MSG_ACCEPTED = 5,
	KBP_MSG_COMMIT = 6,
	KBP_MSG_COMMIT_ACK = 7,
	KBP_MSG_CATCHUP_REQ = 8,
	KBP_MSG_CATCHUP = 9,
	KBP_MSG_SNAP_REQ = 10,
	KBP_MSG_SNAPSHOT = 11,
	KBP_MSG_CLIENT_REQ = 12,
	KBP_MSG_CLIENT_REP = 13,
	KBP_MSG_TYPE_END
};

/* Message flags. */
#define KBP_MF_LAST 0x01         /* PROMISE: final chunk; SNAPSHOT: final chunk */
#define KBP_MF_LEASE_REQ 0x02    /* ACCEPT/COMMIT: grant me a lease counted from lease_stamp */
#define KBP_MF_LEASE_GRANT 0x04  /* ACCEPTED/COMMIT_ACK: lease granted for lease_stamp */

#define KBP_BALLOT_CHOSEN UINT64_MAX
#define KBP_PENTRY_HDR_SIZE 24u
#define KBP_NODE_CLIENT 0xffu    /* from/to of client messages */

struct kbp_msg {
	uint8_t type;
	uint8_t flags;
	uint8_t from;
	uint8_t to;
	uint32_t count;
	uint32_t len;            /* payload bytes */
	uint64_t ballot;
	uint64_t slot;
	uint64_t commit;         /* sender's commit index: every slot below it is chosen */
	uint64_t aux;
	uint64_t lease_stamp;    /* leader's clock at the lease request, echoed by grants */
	const uint8_t *payload;  /* len bytes; owned by the sender until the step returns */
};

const char *kbp_msg_type_name(unsigned type);

#endif
