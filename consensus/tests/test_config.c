/* SPDX-License-Identifier: MIT */
/* kbp_node_config_check: the defaults pass, and each bad field is refused by name. */
#include <string.h>

#include "harness.h"

struct bad_case {
	const char *field;           /* the message must name this field */
	void (*spoil)(struct kbp_node_config *cfg);
};

#define SPOIL(name, body) \
	static void name(struct kbp_node_config *cfg) { body; }

SPOIL(nodes_zero, cfg->nodes = 0)
SPOIL(nodes_many, cfg->nodes = KBP_NODES_MAX + 1)
SPOIL(self_out, cfg->self = cfg->nodes)
SPOIL(window_zero, cfg->window = 0)
SPOIL(log_slots_odd, cfg->log_slots = 1000)
SPOIL(log_slots_zero, cfg->log_slots = 0)
SPOIL(log_slots_small, { cfg->window = 64; cfg->log_slots = 64; })
SPOIL(batch_cmds_zero, cfg->batch_cmds_max = 0)
SPOIL(batch_bytes_small, cfg->batch_bytes_max = KBP_CMD_HDR_SIZE + KBP_KEY_MAX + 2 * KBP_VAL_MAX - 1)
SPOIL(msg_bytes_small, cfg->msg_bytes_max = cfg->batch_bytes_max + KBP_PENTRY_HDR_SIZE - 1)
SPOIL(queue_small, cfg->queue_bytes = cfg->batch_bytes_max - 1)
SPOIL(clients_zero, cfg->clients_max = 0)
SPOIL(keys_zero, cfg->kv_keys_max = 0)
SPOIL(apply_small, cfg->apply_max = cfg->batch_cmds_max - 1)
SPOIL(heartbeat_zero, cfg->heartbeat_ns = 0)
SPOIL(heartbeat_long, cfg->heartbeat_ns = cfg->election_timeout_ns)
SPOIL(retransmit_zero, cfg->retransmit_ns = 0)
SPOIL(backoff_big, cfg->backoff_max_shift = 17)
SPOIL(drift_big, { cfg->leases = true; cfg->max_drift_ppm = 100000; })
SPOIL(lease_short, { cfg->leases = true; cfg->lease_ns = 4 * cfg->heartbeat_ns - 1; })

static const struct bad_case cases[] = {
	{ "nodes", nodes_zero },
	{ "nodes", nodes_many },
	{ "self", self_out },
	{ "window", window_zero },
	{ "log_slots", log_slots_odd },
	{ "log_slots", log_slots_zero },
	{ "log_slots", log_slots_small },
	{ "batch_cmds_max", batch_cmds_zero },
	{ "batch_bytes_max", batch_bytes_small },
	{ "msg_bytes_max", msg_bytes_small },
	{ "queue_bytes", queue_small },
	{ "clients_max", clients_zero },
	{ "kv_keys_max", keys_zero },
	{ "apply_max", apply_small },
	{ "heartbeat", heartbeat_zero },
	{ "heartbeat", heartbeat_long },
	{ "retransmit", retransmit_zero },
	{ "backoff_max_shift", backoff_big },
	{ "max_drift_ppm", drift_big },
	{ "lease", lease_short },
};

static void test_defaults_pass(void **state)
{
	(void)state;
	struct kbp_node_config cfg;
	const char *why = NULL;
	kbp_node_config_default(&cfg);
	assert_int_equal(kbp_node_config_check(&cfg, &why), 0);
	cfg.leases = true;
	assert_int_equal(kbp_node_config_check(&cfg, &why), 0);
	cluster_config_default(&cfg, 5);
	cfg.self = 4;
	assert_int_equal(kbp_node_config_check(&cfg, &why), 0);
	/* Edge values that are allowed. */
	kbp_node_config_default(&cfg);
	cfg.nodes = KBP_NODES_MAX;
	cfg.self = KBP_NODES_MAX - 1;
	cfg.window = cfg.log_slots / 2;
	cfg.backoff_max_shift = 16;
	cfg.queue_bytes = cfg.batch_bytes_max;
	cfg.apply_max = cfg.batch_cmds_max;
	assert_int_equal(kbp_node_config_check(&cfg, &why), 0);
	struct kbp_node *n = kbp_node_new(&cfg);
	assert_non_null(n);
	kbp_node_free(n);
	/* Lease knobs are only checked when leases are on. */
	kbp_node_config_default(&cfg);
	cfg.max_drift_ppm = 500000;
	cfg.lease_ns = 1;
	assert_int_equal(kbp_node_config_check(&cfg, &why), 0);
}

static void test_each_bad_field_is_named(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kbp_node_config cfg;
		const char *why = NULL;
		kbp_node_config_default(&cfg);
		cfg.self = 0;
		cases[i].spoil(&cfg);
		int r = kbp_node_config_check(&cfg, &why);
		if (r != -KBP_EINVAL || !why || strncmp(why, cases[i].field, strlen(cases[i].field)) != 0)
			print_error("case %zu (%s): r=%d why=%s\n", i, cases[i].field, r, why ? why : "(null)");
		assert_int_equal(r, -KBP_EINVAL);
		assert_non_null(why);
		/* The message starts with the field's name, then says the rule. */
		assert_int_equal(strncmp(why, cases[i].field, strlen(cases[i].field)), 0);
		assert_non_null(strchr(why, ':'));
		assert_true(strlen(why) > strlen(cases[i].field) + 10);
		/* And a node is not created from it. */
		assert_null(kbp_node_new(&cfg));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_pass),
		cmocka_unit_test(test_each_bad_field_is_named),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
