/* SPDX-License-Identifier: MIT */
/*
 * The kbpaxos wire format: one struct kbp_msg per Ethernet / IPv4 / UDP frame, behind a
 * fixed 64-byte kbpaxos header (docs/PROTOCOL.md gives every byte).
 *
 *   frame:  Ethernet (14) | IPv4 without options (20) | UDP (8) | kbpaxos header (64) | payload
 *
 * Eth/IP/UDP fields are in network byte order; the kbpaxos header and payload are
 * little-endian like kbp_cmd.h, so a batch goes from the NIC to the log unchanged.
 * Every field of the kbpaxos header is naturally aligned relative to the header start;
 * the code reads them with byte loads, so the header's position in a frame (offset 42,
 * i.e. 2 mod 8 in an mbuf) never matters.
 *
 * Integrity: crc = CRC32C (Castagnoli, the iSCSI/ext4 one) computed as
 * ~rte_hash_crc(header-with-crc-zeroed || payload, 0xFFFFFFFF).  It covers what the
 * consensus core consumes; the IPv4 header checksum is set and checked; the UDP checksum
 * is sent as 0 (allowed for IPv4, RFC 768) and not checked, since every UDP/IP field it
 * would protect is matched against the config anyway.
 *
 * The parser is the only code that touches untrusted bytes: it validates every length
 * against the buffer before reading, checks the sender against the cluster config, walks
 * the payload (command batches, replies, promise entries) and returns a drop reason.  It
 * allocates nothing, takes no lock and makes no system call.
 */
#ifndef KBP_WIRE_H
#define KBP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "kbp_cmd.h"
#include "kbp_msg.h"
#include "kbp_types.h"

#define KBP_WIRE_MAGIC 0x5850424Bu      /* "KBPX" as little-endian bytes 4b 42 50 58 */
#define KBP_WIRE_VERSION 1u

#define KBP_WIRE_ETH_SIZE 14u
#define KBP_WIRE_IP_SIZE 20u
#define KBP_WIRE_UDP_SIZE 8u
#define KBP_WIRE_HDR_SIZE 64u
#define KBP_WIRE_L2L4_SIZE (KBP_WIRE_ETH_SIZE + KBP_WIRE_IP_SIZE + KBP_WIRE_UDP_SIZE)
#define KBP_WIRE_OVERHEAD (KBP_WIRE_L2L4_SIZE + KBP_WIRE_HDR_SIZE)   /* frame bytes before the payload */
/* Largest payload an IPv4 datagram can carry behind our headers. */
#define KBP_WIRE_PAYLOAD_LIMIT (65535u - KBP_WIRE_IP_SIZE - KBP_WIRE_UDP_SIZE - KBP_WIRE_HDR_SIZE)

#define KBP_WIRE_FLAGS_KNOWN (KBP_MF_LAST | KBP_MF_LEASE_REQ | KBP_MF_LEASE_GRANT)

/*
 * The kbpaxos header as it lies on the wire (little-endian).  This struct documents the
 * layout and lets the compiler check it; packets are never accessed through it.
 */
struct kbp_wire_hdr {
	uint32_t magic;          /*  0 KBP_WIRE_MAGIC */
	uint8_t version;         /*  4 KBP_WIRE_VERSION */
	uint8_t type;            /*  5 enum kbp_msg_type */
	uint8_t flags;           /*  6 KBP_MF_* */
	uint8_t reserved;        /*  7 must be 0 */
	uint8_t from;            /*  8 sender node id (KBP_NODE_CLIENT for clients) */
	uint8_t to;              /*  9 target node id (KBP_NODE_CLIENT for clients) */
	uint16_t cluster_id;     /* 10 */
	uint32_t count;          /* 12 commands / replies / promise entries / snapshot bytes */
	uint32_t len;            /* 16 payload bytes after this header */
	uint32_t crc;            /* 20 CRC32C of header (this field zero) + payload */
	uint64_t ballot;         /* 24 */
	uint64_t slot;           /* 32 */
	uint64_t commit;         /* 40 */
	uint64_t aux;            /* 48 */
	uint64_t lease_stamp;    /* 56 */
};

/* Drop reasons (X-macro): name used in telemetry, and a sentence for people. */
#define KBP_WIRE_DROPS(X)                                                                   \
	X(KBP_WIRE_OK, "ok", "accepted")                                                    \
	X(KBP_WIRE_TRUNC_ETH, "trunc_eth", "frame shorter than an Ethernet header")         \
	X(KBP_WIRE_ETHERTYPE, "ethertype", "ethertype is not IPv4 (VLAN tags unsupported)") \
	X(KBP_WIRE_DST_MAC, "dst_mac", "destination MAC is not ours")                       \
	X(KBP_WIRE_TRUNC_IP, "trunc_ip", "frame ends inside the IPv4 header")               \
	X(KBP_WIRE_IP_VERSION, "ip_version", "IP version is not 4")                         \
	X(KBP_WIRE_IP_IHL, "ip_ihl", "IPv4 header length below 5 words")                    \
	X(KBP_WIRE_IP_OPTIONS, "ip_options", "IPv4 options present")                        \
	X(KBP_WIRE_IP_FRAGMENT, "ip_fragment", "IPv4 fragment (MF set or offset non-zero)") \
	X(KBP_WIRE_IP_PROTO, "ip_proto", "IP protocol is not UDP")                          \
	X(KBP_WIRE_IP_CSUM, "ip_csum", "bad IPv4 header checksum")                          \
	X(KBP_WIRE_DST_IP, "dst_ip", "destination IP is not ours")                          \
	X(KBP_WIRE_TRUNC_UDP, "trunc_udp", "frame ends inside the UDP header")              \
	X(KBP_WIRE_IP_LEN, "ip_len", "IPv4 total length beyond the frame or too small")     \
	X(KBP_WIRE_UDP_LEN, "udp_len", "UDP length disagrees with the IPv4 length")         \
	X(KBP_WIRE_DST_PORT, "dst_port", "destination port is not our peer or client port") \
	X(KBP_WIRE_TRUNC_HDR, "trunc_hdr", "UDP payload shorter than the kbpaxos header")   \
	X(KBP_WIRE_MAGIC_BAD, "magic", "wrong magic")                                       \
	X(KBP_WIRE_VERSION_BAD, "version", "unsupported protocol version")                  \
	X(KBP_WIRE_RESERVED, "reserved", "reserved byte or unknown flag set")               \
	X(KBP_WIRE_CLUSTER, "cluster", "wrong cluster id")                                  \
	X(KBP_WIRE_TYPE, "type", "unknown message type")                                    \
	X(KBP_WIRE_LEN, "len", "payload length disagrees with the UDP length")              \
	X(KBP_WIRE_TOO_BIG, "too_big", "payload larger than the configured maximum")        \
	X(KBP_WIRE_CRC, "crc", "bad CRC32C")                                                \
	X(KBP_WIRE_TYPE_PORT, "type_port", "message type not accepted on this port")        \
	X(KBP_WIRE_NODE_ID, "node_id", "node id out of range")                              \
	X(KBP_WIRE_TARGET, "target", "message addressed to another node")                   \
	X(KBP_WIRE_PEER, "peer", "sender MAC/IP/port is not the configured node")           \
	X(KBP_WIRE_COUNT, "count", "count not allowed for this type (e.g. 0 commands)")     \
	X(KBP_WIRE_COUNT_MAX, "count_max", "count above the limit or beyond the payload")   \
	X(KBP_WIRE_PAYLOAD, "payload", "payload fails validation")                          \
	X(KBP_WIRE_MBUF_SEGS, "mbuf_segs", "multi-segment mbuf")

enum kbp_wire_drop {
#define KBP_WIRE_X_ENUM(name, tag, text) name,
	KBP_WIRE_DROPS(KBP_WIRE_X_ENUM)
#undef KBP_WIRE_X_ENUM
	KBP_WIRE_DROP_COUNT
};

/* Per-reason drop counters, owned by the caller (one per RX lcore); index 0 counts accepts. */
struct kbp_wire_counters {
	uint64_t n[KBP_WIRE_DROP_COUNT];
};

/* Short name ("crc") and sentence for a reason; accepts the negative return of a parse. */
const char *kbp_wire_drop_name(int reason);
const char *kbp_wire_drop_text(int reason);

/* An Ethernet/IPv4/UDP endpoint; ip and port in host byte order. */
struct kbp_wire_addr {
	uint8_t mac[6];
	uint16_t port;
	uint32_t ip;
};

/* A cluster node as the parser knows it: the peer endpoint plus the client port. */
struct kbp_wire_node {
	struct kbp_wire_addr addr;   /* peer messages are sent from and to addr.port */
	uint16_t client_port;        /* clients send requests here; replies leave from it */
};

/*
 * What the parser checks packets against; built once from the config
 * (kbp_config_wire_ctx) and read-only afterwards.
 *
 * A node (self < nodes) accepts peer messages on node[self].addr.port from the node whose
 * MAC, IP and port match the header's sender, and CLIENT_REQ on node[self].client_port
 * from anyone.  A client such as the packet generator (self == KBP_NODE_CLIENT) accepts
 * only CLIENT_REP sent to `client` from a node's client port.
 */
struct kbp_wire_ctx {
	uint16_t cluster_id;
	uint8_t self;                /* node id, or KBP_NODE_CLIENT */
	uint8_t nodes;               /* 1..KBP_NODES_MAX */
	uint32_t cmds_max;           /* commands (or replies) in one message */
	uint32_t payload_max;        /* largest payload accepted, <= KBP_WIRE_PAYLOAD_LIMIT */
	struct kbp_wire_addr client; /* self == KBP_NODE_CLIENT: our own endpoint */
	struct kbp_wire_node node[KBP_NODES_MAX];
};

/* Where an accepted packet came from (to address replies) and the port it arrived on. */
struct kbp_wire_src {
	struct kbp_wire_addr addr;
	uint16_t dst_port;
};

/* Frame bytes needed for a message with len payload bytes. */
static inline uint32_t kbp_wire_frame_size(uint32_t len) { return KBP_WIRE_OVERHEAD + len; }

/*
 * Build a whole frame for m into buf (cap bytes): headers, CRC, IPv4 checksum, and a copy
 * of m->payload.  Returns the frame length, -KBP_ETOOBIG if it does not fit cap or an IPv4
 * datagram, or -KBP_EINVAL for an unknown type or flags.  Does not judge whether the
 * message makes protocol sense; the receiver's parser does.
 */
int kbp_wire_encode(uint8_t *buf, uint32_t cap, const struct kbp_wire_addr *src,
		    const struct kbp_wire_addr *dst, uint16_t cluster_id, const struct kbp_msg *m);

/*
 * Validate frame (len bytes) against ctx and decode it into *out, whose payload then
 * points into frame.  src (may be NULL) receives the sender's address.  Returns 0 or
 * -reason (enum kbp_wire_drop); on error *out and *src are unspecified.
 */
int kbp_wire_parse(const uint8_t *frame, uint32_t len, const struct kbp_wire_ctx *ctx,
		   struct kbp_msg *out, struct kbp_wire_src *src);

/* kbp_wire_parse, and count the outcome in c->n[reason]. */
static inline int kbp_wire_parse_count(const uint8_t *frame, uint32_t len,
				       const struct kbp_wire_ctx *ctx, struct kbp_msg *out,
				       struct kbp_wire_src *src, struct kbp_wire_counters *c)
{
	int r = kbp_wire_parse(frame, len, ctx, out, src);
	c->n[-r]++;
	return r;
}

/*
 * The datagram alone (header + payload, what a kernel UDP socket sends and receives):
 * hdr_encode writes the header at h, copies m->payload after it unless it is already
 * there, and seals the CRC; hdr_decode checks every header field, the lengths and the
 * CRC of kbp_len bytes at h and decodes into *out (payload pointing into h).  Returns 0
 * or -enum kbp_wire_drop.  Who may send what is the caller's check.
 */
void kbp_wire_hdr_encode(uint8_t *h, uint16_t cluster_id, const struct kbp_msg *m);
int kbp_wire_hdr_decode(const uint8_t *h, uint32_t kbp_len, uint16_t cluster_id, uint32_t payload_max,
			struct kbp_msg *out);

/* CRC32C as the header carries it (the standard value: init and final xor ~0). */
uint32_t kbp_wire_crc32c(const uint8_t *buf, uint32_t len);
/* Recompute and store the CRC of an encoded frame (tests and tools that edit frames). */
void kbp_wire_reseal(uint8_t *frame, uint32_t len);

#endif
