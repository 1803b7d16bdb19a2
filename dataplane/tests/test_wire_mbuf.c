/* SPDX-License-Identifier: MIT */
/*
 * kbp_wire over real mbufs: needs DPDK EAL (no hugepages, no PCI, no shared config files).
 * Exits 77 (skip) when EAL cannot start on this machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "kbp_wire_mbuf.h"
#include "kbp_wire_test_util.h"

static struct rte_mempool *pool;

static void test_encode_parse_mbuf(void **state)
{
	(void)state;
	struct kbp_wire_ctx ctx;
	struct kbp_wire_counters cnt;

	memset(&cnt, 0, sizeof(cnt));
	for (uint8_t type = KBP_MSG_PREPARE; type < KBP_MSG_TYPE_END; type++) {
		struct kbp_test_msg t;
		struct rte_mbuf *mb = NULL;
		struct kbp_msg m;
		struct kbp_wire_src src;

		kbp_test_msg(type, &t);
		assert_int_equal(kbp_wire_encode_mbuf(pool, &t.src, &t.dst, KBP_TEST_CLUSTER, &t.m, &mb), 0);
		assert_int_equal(mb->pkt_len, kbp_wire_frame_size(t.m.len));
		kbp_test_ctx(&ctx, type == KBP_MSG_CLIENT_REP ? KBP_NODE_CLIENT : 0);
		assert_int_equal(kbp_wire_parse_mbuf_count(mb, &ctx, &m, &src, &cnt), 0);
		assert_int_equal(m.type, type);
		assert_int_equal(m.len, t.m.len);
		assert_ptr_equal(m.payload, rte_pktmbuf_mtod_offset(mb, const uint8_t *, KBP_WIRE_OVERHEAD));
		rte_pktmbuf_free(mb);
	}
	assert_int_equal(cnt.n[KBP_WIRE_OK], KBP_MSG_TYPE_END - 1);
}

/* A valid frame split over two segments is refused and counted, not reassembled. */
static void test_multi_segment_rejected(void **state)
{
	(void)state;
	struct kbp_wire_ctx ctx;
	struct kbp_wire_counters cnt;
	struct kbp_test_msg t;
	struct kbp_msg m;
	uint8_t frame[2048];
	uint32_t len = kbp_test_frame(KBP_MSG_ACCEPT, frame, sizeof(frame), &t);

	memset(&cnt, 0, sizeof(cnt));
	struct rte_mbuf *a = rte_pktmbuf_alloc(pool), *b = rte_pktmbuf_alloc(pool);
	assert_non_null(a);
	assert_non_null(b);
	uint32_t half = len / 2;
	memcpy(rte_pktmbuf_append(a, (uint16_t)half), frame, half);
	memcpy(rte_pktmbuf_append(b, (uint16_t)(len - half)), frame + half, len - half);
	assert_int_equal(rte_pktmbuf_chain(a, b), 0);
	assert_int_equal(a->nb_segs, 2);
	assert_int_equal(a->pkt_len, len);

	kbp_test_ctx(&ctx, 0);
	assert_int_equal(kbp_wire_parse_mbuf_count(a, &ctx, &m, NULL, &cnt), -KBP_WIRE_MBUF_SEGS);
	assert_int_equal(cnt.n[KBP_WIRE_MBUF_SEGS], 1);

	/* The same bytes in one segment are fine. */
	struct rte_mbuf *c = rte_pktmbuf_alloc(pool);
	memcpy(rte_pktmbuf_append(c, (uint16_t)len), frame, len);
	assert_int_equal(kbp_wire_parse_mbuf_count(c, &ctx, &m, NULL, &cnt), 0);
	assert_int_equal(cnt.n[KBP_WIRE_OK], 1);
	rte_pktmbuf_free(a);
	rte_pktmbuf_free(c);
}

static void test_encode_too_big_and_empty_pool(void **state)
{
	(void)state;
	struct kbp_test_msg t;
	struct rte_mbuf *mb = NULL;
	static uint8_t payload[4096];

	kbp_test_msg(KBP_MSG_SNAPSHOT, &t);
	t.m.payload = payload;
	t.m.len = sizeof(payload);       /* larger than the 2048-byte data room */
	t.m.count = sizeof(payload);
	t.m.aux = 0;
	unsigned avail = rte_mempool_avail_count(pool);
	assert_int_equal(kbp_wire_encode_mbuf(pool, &t.src, &t.dst, 1, &t.m, &mb), -KBP_ETOOBIG);
	assert_int_equal(rte_mempool_avail_count(pool), avail);   /* nothing leaked */

	struct rte_mbuf *all[64];
	unsigned n = 0;
	while (n < 64 && (all[n] = rte_pktmbuf_alloc(pool)) != NULL)
		n++;
	assert_true(n < 64);
	kbp_test_msg(KBP_MSG_PREPARE, &t);
	assert_int_equal(kbp_wire_encode_mbuf(pool, &t.src, &t.dst, 1, &t.m, &mb), -KBP_EFULL);
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(all[i]);
}

int main(int argc, char **argv)
{
	(void)argc;
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "--no-shconf", "-l", "0", "-m", "64",
			"--log-level=error", "--file-prefix=kbp-test-wire-mbuf", NULL };
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		fprintf(stderr, "test_wire_mbuf: EAL cannot start here, skipping\n");
		return 77;
	}
	pool = rte_pktmbuf_pool_create("kbp_test", 32, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "test_wire_mbuf: no mempool: %s\n", rte_strerror(rte_errno));
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_parse_mbuf),
		cmocka_unit_test(test_multi_segment_rejected),
		cmocka_unit_test(test_encode_too_big_and_empty_pool),
	};
	int r = cmocka_run_group_tests_name("wire_mbuf", tests, NULL, NULL);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return r;
}
