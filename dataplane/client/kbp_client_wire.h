/* SPDX-License-Identifier: MIT */
/*
 * The kbpaxos header and payload as a kernel UDP socket sees them: the UDP payload of a
 * frame (docs/PROTOCOL.md, frame offset 42 on).  The kernel owns Ethernet, IPv4 and UDP;
 * this file builds CLIENT_REQ datagrams and validates CLIENT_REP datagrams with the same
 * header rules and CRC32C (kbp_wire_crc32c) as kbp_wire_parse, and reports failures with
 * the same drop reasons (enum kbp_wire_drop).
 */
#ifndef KBP_CLIENT_WIRE_H
#define KBP_CLIENT_WIRE_H

#include <stdint.h>

#include "kbp_cmd.h"
#include "kbp_msg.h"
#include "kbp_wire.h"

/*
 * Encode a CLIENT_REQ datagram (header + count commands) for node `to` (or
 * KBP_NODE_CLIENT: whichever node receives it) into buf (cap bytes).  Returns the datagram
 * length, -KBP_EINVAL for count 0 or a no-op, or -KBP_ETOOBIG if it does not fit.
 */
int kbp_client_wire_request(uint8_t *buf, uint32_t cap, uint16_t cluster_id, uint8_t to,
			    const struct kbp_cmd *cmds, uint32_t count);

/*
 * Encode any message as a UDP payload (header + m->payload), CRC included.  Tests use it
 * to forge replies and bad requests.  Returns the length, -KBP_EINVAL or -KBP_ETOOBIG.
 */
int kbp_client_wire_encode(uint8_t *buf, uint32_t cap, uint16_t cluster_id, const struct kbp_msg *m);

/*
 * Validate a datagram (len bytes) received by a client: a CLIENT_REP from a node id below
 * nodes, to KBP_NODE_CLIENT, at most cmds_max replies that fill the payload exactly.
 * Returns 0 with *out decoded (out->payload points into buf), or -reason
 * (enum kbp_wire_drop; kbp_wire_drop_text names it).  buf is written during the CRC check
 * (the crc field is zeroed and restored), so it must be writable and not shared.
 */
int kbp_client_wire_reply(uint8_t *buf, uint32_t len, uint16_t cluster_id, uint8_t nodes,
			  uint32_t cmds_max, struct kbp_msg *out);

#endif
