// SPDX-License-Identifier: MIT
// The one builder of the put batches the benchmarks carry (see kbp_micro.h).
#include <cstring>

#include "kbp_micro.h"

extern "C" {
#include "kbp_cmd.h"
}

bool kbp_micro_puts_build(kbp_micro_puts *b, uint32_t count)
{
	uint8_t key[16], val[64];
	kbp_cmd c = {};

	c.client_id = 1;
	c.seq = 1;
	c.op = KBP_OP_PUT;
	c.key_len = sizeof(key);
	c.val_len = sizeof(val);
	c.key = key;
	c.val = val;
	b->count = count;
	b->bytes.assign((size_t)count * kbp_cmd_size(&c), 0);
	b->seq_off.clear();
	std::memset(val, 0x5a, sizeof(val));
	uint32_t off = 0;
	for (uint32_t i = 0; i < count; i++) {
		std::memset(key, '0', sizeof(key));
		key[0] = 'k';
		key[13] = (uint8_t)('0' + (i / 100) % 10);
		key[14] = (uint8_t)('0' + (i / 10) % 10);
		key[15] = (uint8_t)('0' + i % 10);
		c.client_id = 1 + i;
		int n = kbp_cmd_encode(&c, b->bytes.data() + off, b->len() - off);
		if (n < 0)
			return false;
		b->seq_off.push_back(off + 8);
		off += (uint32_t)n;
	}
	return off == b->len();
}

bool kbp_micro_registers_build(kbp_micro_puts *b, uint32_t count)
{
	kbp_cmd c = {};

	c.op = KBP_OP_REGISTER;
	c.seq = 1;
	b->count = count;
	b->bytes.assign((size_t)count * KBP_CMD_HDR_SIZE, 0);
	b->seq_off.clear();
	for (uint32_t i = 0; i < count; i++) {
		c.client_id = KBP_CLIENT_NONCE | (i + 1);
		if (kbp_cmd_encode(&c, b->bytes.data() + i * KBP_CMD_HDR_SIZE, KBP_CMD_HDR_SIZE) != (int)KBP_CMD_HDR_SIZE)
			return false;
		b->seq_off.push_back(i * KBP_CMD_HDR_SIZE + 8);
	}
	return true;
}
