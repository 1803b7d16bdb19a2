/* SPDX-License-Identifier: MIT */
/* CRC32C (Castagnoli) for log records and snapshots, computed by DPDK's rte_hash_crc. */
#ifndef KBP_CRC_H
#define KBP_CRC_H

#include <stddef.h>
#include <stdint.h>

/* The standard CRC32C of len bytes: "123456789" gives 0xE3069283. */
uint32_t kbp_crc32c(const void *buf, size_t len);

/* Continue a CRC32C over more bytes: kbp_crc32c_extend(kbp_crc32c(a), b) == kbp_crc32c(a || b). */
uint32_t kbp_crc32c_extend(uint32_t crc, const void *buf, size_t len);

#endif
