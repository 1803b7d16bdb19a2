/* SPDX-License-Identifier: MIT */
/*
 * CRC32C through rte_hash_crc (SSE4.2 / ARMv8 crc32c instructions when the CPU has them,
 * DPDK's table otherwise).  rte_hash_crc is the raw register update without the final
 * inversion, so the standard value is ~rte_hash_crc(buf, len, 0xFFFFFFFF).
 * This is the only file in persist/ that includes a DPDK header.
 */
#include <rte_hash_crc.h>

#include "kbp_crc.h"

uint32_t kbp_crc32c_extend(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t reg = ~crc;

	/*
	 * rte_hash_crc loads 8 bytes at a time through a uint64_t pointer: feed single bytes
	 * until p is 8-byte aligned so those loads are aligned (UBSan, strict-alignment CPUs).
	 */
	while (len > 0 && ((uintptr_t)p & 7u) != 0) {
		reg = rte_hash_crc_1byte(*p++, reg);
		len--;
	}
	/* rte_hash_crc takes a 32-bit length; records are far smaller, snapshots may not be. */
	while (len > 0) {
		uint32_t n = len > 0x40000000u ? 0x40000000u : (uint32_t)len;
		reg = rte_hash_crc(p, n, reg);
		p += n;
		len -= n;
	}
	return ~reg;
}

uint32_t kbp_crc32c(const void *buf, size_t len)
{
	return kbp_crc32c_extend(0, buf, len);
}
