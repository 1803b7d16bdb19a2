/* SPDX-License-Identifier: MIT */
/* The generator's workload: options, mix, Zipf against its exact pmf, command encoding. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kbp_gen_work.h"

static int parse(struct kbp_gen_opts *o, char *err, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = { (char *)"gen", (char *)a1, (char *)a2, (char *)a3, NULL };
	int argc = 1 + (a1 != NULL) + (a2 != NULL) + (a3 != NULL);
	kbp_gen_opts_default(o);
	return kbp_gen_opts_parse(o, argc, argv, err, 256);
}

static void test_opts(void **state)
{
	struct kbp_gen_opts o;
	char err[256];
	(void)state;

	assert_int_equal(parse(&o, err, "--rate=250000", "--duration=3", "--dist=zipf:0.99"), 0);
	assert_true(o.rate == 250000 && o.duration_s == 3 && fabs(o.zipf_s - 0.99) < 1e-12);
	assert_int_equal(parse(&o, err, "--outstanding", "64", "--target=2"), 0);
	assert_int_equal(o.outstanding, 64);
	assert_int_equal(o.target, 2);
	assert_int_equal(parse(&o, err, "--rate=10", "--outstanding=4", NULL), -1);
	assert_non_null(strstr(err, "exclude"));
	assert_int_equal(parse(&o, err, "--dist=zipf:", NULL, NULL), -1);
	assert_int_equal(parse(&o, err, "--value-size=2000", NULL, NULL), -1);
	assert_int_equal(parse(&o, err, "--bogus", NULL, NULL), -1);
	assert_int_equal(parse(&o, err, "--keys=1000", "--key-size=8", NULL), 0);
	assert_int_equal(parse(&o, err, "--keys=10000001", "--key-size=8", NULL), -1);
}

static void test_mix(void **state)
{
	uint32_t mix[KBP_OP_COUNT];
	struct kbp_gen_opts o;
	struct kbp_gen_work w;
	uint64_t seen[KBP_OP_COUNT] = { 0 };
	(void)state;

	assert_int_equal(kbp_gen_parse_mix("put=80,get=15,cas=5", mix), 0);
	assert_int_equal(mix[KBP_OP_PUT], 80);
	assert_int_equal(mix[KBP_OP_GET], 15);
	assert_int_equal(mix[KBP_OP_CAS], 5);
	assert_int_equal(kbp_gen_parse_mix("get=1", mix), 0);
	assert_int_equal(mix[KBP_OP_PUT], 0);
	assert_int_equal(kbp_gen_parse_mix("put=0", mix), -1);
	assert_int_equal(kbp_gen_parse_mix("del=3", mix), -1);
	assert_int_equal(kbp_gen_parse_mix("put=1,register=1", mix), -1);   /* set-up, not workload */
	assert_int_equal(kbp_gen_parse_mix("put", mix), -1);

	kbp_gen_opts_default(&o);
	assert_int_equal(kbp_gen_parse_mix("put=80,get=15,cas=5", o.mix), 0);
	assert_int_equal(kbp_gen_work_init(&w, &o), 0);
	for (int i = 0; i < 200000; i++)
		seen[kbp_gen_work_op(&w)]++;
	assert_int_equal(seen[KBP_OP_NOOP], 0);
	assert_true(fabs((double)seen[KBP_OP_PUT] / 200000 - 0.80) < 0.01);
	assert_true(fabs((double)seen[KBP_OP_GET] / 200000 - 0.15) < 0.01);
	assert_true(fabs((double)seen[KBP_OP_CAS] / 200000 - 0.05) < 0.01);
}

/* Sampled frequencies of ranks 1..10 against the exact pmf k^-s / H(n,s). */
static void check_zipf(uint64_t n, double s)
{
	struct kbp_zipf z;
	struct kbp_rng r = { 42 };
	const int draws = 400000;
	uint64_t cnt[11] = { 0 };
	double norm = 0;

	kbp_zipf_init(&z, n, s);
	for (uint64_t k = 1; k <= n; k++)
		norm += pow((double)k, -s);
	for (int i = 0; i < draws; i++) {
		uint64_t k = kbp_zipf_next(&z, &r);
		assert_true(k >= 1 && k <= n);
		if (k <= 10)
			cnt[k]++;
	}
	for (uint64_t k = 1; k <= 10 && k <= n; k++) {
		double p = pow((double)k, -s) / norm;
		double sd = sqrt(p * (1 - p) / draws);
		assert_true(fabs((double)cnt[k] / draws - p) < 5 * sd + 1e-4);
	}
}

static void test_zipf(void **state)
{
	(void)state;
	check_zipf(1000, 0.99);
	check_zipf(100000, 1.2);
	check_zipf(50, 0.5);
	check_zipf(10, 1.0);
	check_zipf(1, 0.99);
}

static void test_encode(void **state)
{
	struct kbp_gen_opts o;
	struct kbp_gen_work w;
	uint8_t buf[4096];
	struct kbp_cmd c;
	(void)state;

	kbp_gen_opts_default(&o);
	o.value_size = 61;
	o.key_size = 13;
	assert_int_equal(kbp_gen_work_init(&w, &o), 0);
	for (uint8_t op = KBP_OP_PUT; op < KBP_GEN_OPS; op++) {
		memset(buf, 0xaa, sizeof(buf));
		uint32_t n = kbp_gen_cmd_encode(&w, buf, 77, 9, op, 1234, 5, 6);
		assert_int_equal(n, kbp_gen_cmd_size(&w, op));
		assert_int_equal(kbp_cmd_decode(&c, buf, n), (int)n);
		assert_int_equal(kbp_batch_validate(buf, n, 1), 0);
		assert_true(c.client_id == 77 && c.seq == 9 && c.op == op && c.key_len == 13);
		assert_memory_equal(c.key, "k000000001234", 13);
		assert_int_equal(c.val_len, op == KBP_OP_GET ? 0 : 61);
		assert_int_equal(c.exp_len, op == KBP_OP_CAS ? 61 : 0);
		if (op == KBP_OP_CAS)
			assert_memory_equal(c.exp, c.val, 61);   /* a CAS expects what PUT wrote */
	}
	/* A REGISTER: the bare header under a nonce, as the node's decoder wants it. */
	memset(buf, 0xaa, sizeof(buf));
	uint32_t n = kbp_gen_cmd_encode(&w, buf, KBP_CLIENT_NONCE | 5, 1u << 20, KBP_OP_REGISTER, 1234, 0, 0);
	assert_int_equal(n, KBP_CMD_HDR_SIZE);
	assert_int_equal(kbp_gen_cmd_size(&w, KBP_OP_REGISTER), KBP_CMD_HDR_SIZE);
	assert_int_equal(kbp_cmd_decode(&c, buf, n), (int)n);
	assert_true(c.client_id == (KBP_CLIENT_NONCE | 5) && c.seq == 1u << 20 && c.op == KBP_OP_REGISTER);
	assert_true(c.key_len == 0 && c.val_len == 0 && c.exp_len == 0);
}

/* --check: unique values that read back to their ids, keys in a range of their own. */
static void test_check_values(void **state)
{
	struct kbp_gen_opts o;
	struct kbp_gen_work w, other;
	uint8_t buf[4096];
	struct kbp_cmd c;
	char err[256], name[80];
	(void)state;

	assert_int_equal(parse(&o, err, "--check", "--value-size=15", NULL), -1);
	assert_non_null(strstr(err, "--value-size >= 16"));
	assert_int_equal(parse(&o, err, "--check", "--keys=100000", "--key-size=8"), -1);
	assert_int_equal(parse(&o, err, "--check", "--keys=1000000000", NULL), -1);
	assert_int_equal(parse(&o, err, "--check", "--check-ops=0", NULL), -1);
	assert_int_equal(parse(&o, err, "--check", "--keys=8", "--check-time=5"), 0);
	assert_true(o.check && o.keys == 8 && o.check_time_s == 5 && o.check_ops == 1000000);
	o.value_size = 40;
	assert_int_equal(kbp_gen_work_init(&w, &o), 0);
	kbp_gen_work_set_nonce(&w, 123456789);
	other = w;
	kbp_gen_work_set_nonce(&other, 987654321);
	assert_true(w.key_base > 0 && w.key_base % 8 == 0 && w.key_base != other.key_base);

	uint32_t n = kbp_gen_cmd_encode(&w, buf, 1, 1, KBP_OP_CAS, 5, 41, 42);
	assert_int_equal(kbp_cmd_decode(&c, buf, n), (int)n);
	kbp_gen_key_name(&w, 5, name, sizeof(name));
	assert_int_equal(strlen(name), 16);
	assert_memory_equal(c.key, name, 16);
	assert_int_equal(kbp_gen_value_id(&w, 5, c.exp, c.exp_len), 41);
	assert_int_equal(kbp_gen_value_id(&w, 5, c.val, c.val_len), 42);
	/* Another key's, another run's, a shorter or a changed value: not ours. */
	assert_int_equal(kbp_gen_value_id(&w, 6, c.val, c.val_len), KBP_GEN_VALUE_FOREIGN);
	assert_int_equal(kbp_gen_value_id(&other, 5, c.val, c.val_len), KBP_GEN_VALUE_FOREIGN);
	assert_int_equal(kbp_gen_value_id(&w, 5, c.val, c.val_len - 1), KBP_GEN_VALUE_FOREIGN);
	memcpy(buf + 2000, c.val, c.val_len);
	buf[2000 + 30] ^= 1;
	assert_int_equal(kbp_gen_value_id(&w, 5, buf + 2000, c.val_len), KBP_GEN_VALUE_FOREIGN);
	/* Without --check the old values, which never read back as an id. */
	o.check = false;
	assert_int_equal(kbp_gen_work_init(&other, &o), 0);
	n = kbp_gen_cmd_encode(&other, buf, 1, 1, KBP_OP_PUT, 5, 41, 42);
	assert_int_equal(kbp_cmd_decode(&c, buf, n), (int)n);
	assert_int_equal(kbp_gen_value_id(&w, 5, c.val, c.val_len), KBP_GEN_VALUE_FOREIGN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_mix),
		cmocka_unit_test(test_zipf),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_check_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
