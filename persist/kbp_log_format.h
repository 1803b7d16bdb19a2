/* SPDX-License-Identifier: MIT */
/*
 * The on-disk format of the log, byte by byte (little-endian).  Shared by the writer,
 * recovery and the kbpaxos-log tool.  docs/PERSIST.md describes the same layout.
 *
 * Identity file "kbpaxos.id", 64 bytes: whose log this is and how far it goes.
 * Replaced (kbpaxos.id.tmp, fsync, rename, directory fsync) at each rollover and
 * snapshot, so recovery can tell a deleted segment or snapshot from one never written:
 *   magic "KBPXIDN\0", u32 version, u32 cluster id, u64 first_seq (oldest segment of
 *   the log), u64 last_seq (newest segment installed; 0: none yet), u64 snap_upto (the
 *   snapshot the log starts from; 0: none), u64 config digest, u32 node id,
 *   8 reserved bytes, u32 crc32c of [0, 60)
 *
 * Segment file "seg-<seq:016x>.log", segment_bytes long, preallocated with zeros:
 *   [0, 64)      header: magic "KBPXLOG\0", u32 version, u32 cluster id, u64 seq,
 *                u64 promised (highest promised ballot when the segment was opened:
 *                old segments can be deleted without forgetting a promise),
 *                u32 write_bytes_max of the session that writes it, u32 align,
 *                u64 config digest, u64 segment_bytes (the file's size), u32 node id,
 *                u32 crc32c of [0, 60)
 *   [64, 4096)   zeros
 *   [4096, ...)  records, back to back, each a multiple of 8 bytes; zeros after the last
 *
 * Record:
 *   0 u32 crc32c of bytes [4, size)    4 u32 size (48 + pad8(len))
 *   8 u8 type, 3 zero bytes            12 u32 count
 *  16 u64 id   24 u64 ballot   32 u64 slot   40 u32 len   44 u32 zero
 *  48 value[len], zero padding to a multiple of 8
 *
 * Snapshot file "snap-<upto:016x>.snap": a 64-byte header (magic "KBPXSNP\0", u32
 * version, u32 crc32c of the payload, u64 len, u64 upto_slot, u32 cluster id, u32 node
 * id, u64 config digest, u64 seq (the first segment replayed after it), 4 reserved
 * bytes, u32 crc32c of [0, 60)) then the payload.  Written as "snap.tmp" and renamed.
 */
#ifndef KBP_LOG_FORMAT_H
#define KBP_LOG_FORMAT_H

#include <stdint.h>
#include <string.h>

#include "kbp_crc.h"
#include "kbp_node.h"

#define KBP_LOG_VERSION 2u               /* 1: before logs carried their identity (refused) */
#define KBP_LOG_SEG_MAGIC "KBPXLOG"       /* 7 chars + NUL = 8 bytes */
#define KBP_LOG_SNAP_MAGIC "KBPXSNP"
#define KBP_LOG_IDENT_MAGIC "KBPXIDN"
#define KBP_LOG_HDR_SIZE 64u
#define KBP_LOG_DATA_OFF 4096u            /* first record; also the largest supported block */
#define KBP_LOG_REC_HDR 48u
#define KBP_LOG_SECTOR 512u               /* torn-write detection granule (smallest block) */
#define KBP_LOG_REC_LEN_MAX (64u << 20)   /* sanity bound on one record's value */

_Static_assert(KBP_LOG_DATA_OFF % KBP_LOG_SECTOR == 0, "data must start on a sector");
_Static_assert(KBP_LOG_REC_HDR % 8 == 0, "records are 8-byte aligned");

/* Whose log: written into every header and the identity file, compared on recovery. */
struct kbp_log_owner {
	uint32_t cluster_id;
	uint32_t node_id;
	uint64_t config_digest;
};

struct kbp_log_seg_hdr {
	uint32_t version;
	uint64_t seq;
	uint64_t promised;
	uint32_t write_bytes_max;
	uint32_t align;
	uint64_t bytes;              /* the segment file's size */
	struct kbp_log_owner owner;
};

struct kbp_log_snap_hdr {
	uint32_t version;
	uint32_t payload_crc;
	uint64_t len;
	uint64_t upto;
	uint64_t seq;                /* the first segment replayed after this snapshot */
	struct kbp_log_owner owner;
};

/* The identity file: the owner, and which segments and snapshot make up the log. */
struct kbp_log_ident_rec {
	uint32_t version;
	uint64_t first_seq, last_seq, snap_upto;
	struct kbp_log_owner owner;
};

static inline int kbp_log_owner_equal(const struct kbp_log_owner *a, const struct kbp_log_owner *b)
{
	return a->cluster_id == b->cluster_id && a->node_id == b->node_id &&
	       a->config_digest == b->config_digest;
}

static inline uint32_t kbp_log_rec_size(uint32_t len)
{
	return KBP_LOG_REC_HDR + ((len + 7u) & ~7u);
}

/* Frames req into p (kbp_log_rec_size(req->len) bytes available), padding included. */
static inline void kbp_log_rec_encode(uint8_t *p, const struct kbp_persist *req)
{
	uint32_t size = kbp_log_rec_size(req->len);

	kbp_le32_store(p + 4, size);
	p[8] = req->type;
	p[9] = p[10] = p[11] = 0;
	kbp_le32_store(p + 12, req->count);
	kbp_le64_store(p + 16, req->id);
	kbp_le64_store(p + 24, req->ballot);
	kbp_le64_store(p + 32, req->slot);
	kbp_le32_store(p + 40, req->len);
	kbp_le32_store(p + 44, 0);
	if (req->len > 0)
		memcpy(p + KBP_LOG_REC_HDR, req->value, req->len);
	memset(p + KBP_LOG_REC_HDR + req->len, 0, size - KBP_LOG_REC_HDR - req->len);
	kbp_le32_store(p, kbp_crc32c(p + 4, size - 4));
}

/* Header fields plausible (size consistent with len, known type), CRC not checked. */
static inline int kbp_log_rec_plausible(const uint8_t *p, uint64_t room)
{
	if (room < KBP_LOG_REC_HDR)
		return 0;                    /* before any load: the bytes may end here */
	uint32_t size = kbp_le32_load(p + 4), len = kbp_le32_load(p + 40);

	if (len > KBP_LOG_REC_LEN_MAX || size != kbp_log_rec_size(len) || size > room)
		return 0;
	if (p[8] < KBP_PERSIST_PROMISE || p[8] > KBP_PERSIST_COMMIT || p[9] || p[10] || p[11])
		return 0;
	return 1;
}

static inline int kbp_log_rec_crc_ok(const uint8_t *p)
{
	uint32_t size = kbp_le32_load(p + 4);

	return kbp_crc32c(p + 4, size - 4) == kbp_le32_load(p);
}

static inline void kbp_log_rec_decode(const uint8_t *p, struct kbp_persist *r)
{
	r->type = p[8];
	r->count = kbp_le32_load(p + 12);
	r->id = kbp_le64_load(p + 16);
	r->ballot = kbp_le64_load(p + 24);
	r->slot = kbp_le64_load(p + 32);
	r->len = kbp_le32_load(p + 40);
	r->value = p + KBP_LOG_REC_HDR;
}

static inline void kbp_log_seg_hdr_encode(uint8_t *p, const struct kbp_log_seg_hdr *h)
{
	memset(p, 0, KBP_LOG_HDR_SIZE);
	memcpy(p, KBP_LOG_SEG_MAGIC, 8);
	kbp_le32_store(p + 8, h->version);
	kbp_le32_store(p + 12, h->owner.cluster_id);
	kbp_le64_store(p + 16, h->seq);
	kbp_le64_store(p + 24, h->promised);
	kbp_le32_store(p + 32, h->write_bytes_max);
	kbp_le32_store(p + 36, h->align);
	kbp_le64_store(p + 40, h->owner.config_digest);
	kbp_le64_store(p + 48, h->bytes);
	kbp_le32_store(p + 56, h->owner.node_id);
	kbp_le32_store(p + 60, kbp_crc32c(p, 60));
}

/* 0 ok, -1 not a segment header (magic or CRC), version returned for the caller to judge. */
static inline int kbp_log_seg_hdr_decode(const uint8_t *p, struct kbp_log_seg_hdr *h)
{
	if (memcmp(p, KBP_LOG_SEG_MAGIC, 8) != 0 || kbp_crc32c(p, 60) != kbp_le32_load(p + 60))
		return -1;
	h->version = kbp_le32_load(p + 8);
	h->owner.cluster_id = kbp_le32_load(p + 12);
	h->seq = kbp_le64_load(p + 16);
	h->promised = kbp_le64_load(p + 24);
	h->write_bytes_max = kbp_le32_load(p + 32);
	h->align = kbp_le32_load(p + 36);
	h->owner.config_digest = kbp_le64_load(p + 40);
	h->bytes = kbp_le64_load(p + 48);
	h->owner.node_id = kbp_le32_load(p + 56);
	return 0;
}

static inline void kbp_log_snap_hdr_encode(uint8_t *p, const struct kbp_log_snap_hdr *h)
{
	memset(p, 0, KBP_LOG_HDR_SIZE);
	memcpy(p, KBP_LOG_SNAP_MAGIC, 8);
	kbp_le32_store(p + 8, h->version);
	kbp_le32_store(p + 12, h->payload_crc);
	kbp_le64_store(p + 16, h->len);
	kbp_le64_store(p + 24, h->upto);
	kbp_le32_store(p + 32, h->owner.cluster_id);
	kbp_le32_store(p + 36, h->owner.node_id);
	kbp_le64_store(p + 40, h->owner.config_digest);
	kbp_le64_store(p + 48, h->seq);
	kbp_le32_store(p + 60, kbp_crc32c(p, 60));
}

static inline int kbp_log_snap_hdr_decode(const uint8_t *p, struct kbp_log_snap_hdr *h)
{
	if (memcmp(p, KBP_LOG_SNAP_MAGIC, 8) != 0 || kbp_crc32c(p, 60) != kbp_le32_load(p + 60))
		return -1;
	h->version = kbp_le32_load(p + 8);
	h->payload_crc = kbp_le32_load(p + 12);
	h->len = kbp_le64_load(p + 16);
	h->upto = kbp_le64_load(p + 24);
	h->owner.cluster_id = kbp_le32_load(p + 32);
	h->owner.node_id = kbp_le32_load(p + 36);
	h->owner.config_digest = kbp_le64_load(p + 40);
	h->seq = kbp_le64_load(p + 48);
	return 0;
}

static inline void kbp_log_ident_encode(uint8_t *p, const struct kbp_log_ident_rec *r)
{
	memset(p, 0, KBP_LOG_HDR_SIZE);
	memcpy(p, KBP_LOG_IDENT_MAGIC, 8);
	kbp_le32_store(p + 8, r->version);
	kbp_le32_store(p + 12, r->owner.cluster_id);
	kbp_le64_store(p + 16, r->first_seq);
	kbp_le64_store(p + 24, r->last_seq);
	kbp_le64_store(p + 32, r->snap_upto);
	kbp_le64_store(p + 40, r->owner.config_digest);
	kbp_le32_store(p + 48, r->owner.node_id);
	kbp_le32_store(p + 60, kbp_crc32c(p, 60));
}

/* 0 ok, -1 not an identity file (magic or CRC); the version is the caller's to judge. */
static inline int kbp_log_ident_decode(const uint8_t *p, struct kbp_log_ident_rec *r)
{
	if (memcmp(p, KBP_LOG_IDENT_MAGIC, 8) != 0 || kbp_crc32c(p, 60) != kbp_le32_load(p + 60))
		return -1;
	r->version = kbp_le32_load(p + 8);
	r->owner.cluster_id = kbp_le32_load(p + 12);
	r->first_seq = kbp_le64_load(p + 16);
	r->last_seq = kbp_le64_load(p + 24);
	r->snap_upto = kbp_le64_load(p + 32);
	r->owner.config_digest = kbp_le64_load(p + 40);
	r->owner.node_id = kbp_le32_load(p + 48);
	return 0;
}

#endif
