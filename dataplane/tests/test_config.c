/* SPDX-License-Identifier: MIT */
/*
 * Cluster config: good files load into the values they say (defaults filled in), the
 * shipped conf/ files load, EAL arguments come out right, and every kind of bad line is
 * refused with a message naming the file, section, key and what was expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kbp_config.h"

static char dir[64];
static char path[128];

static const char base[] =
	"# a minimal valid cluster\n"
	"[cluster]\n"
	"id = 3\n"
	"nodes = 3\n"
	"[node.0]\n"
	"mac = 02:00:00:00:00:01\n"
	"ip = 10.0.0.1\n"
	"lcores = 0\n"
	"log_dir = /tmp/n0\n"
	"vdev.a = net_ring0\n"
	"[node.1]\n"
	"mac = 02:00:00:00:00:02\n"
	"ip = 10.0.0.2\n"
	"lcores = 1\n"
	"log_dir = /tmp/n1\n"
	"vdev.a = net_ring1\n"
	"[node.2]\n"
	"mac = 02:00:00:00:00:03\n"
	"ip = 10.0.0.3\n"
	"lcores = 0-1\n"
	"log_dir = /tmp/n2\n"
	"vdev.a = net_ring2\n"
	"[generator]\n"
	"mac = 02:00:00:00:00:09\n"
	"ip = 10.0.0.9\n"
	"lcores = 0-1\n"
	"vdev.a = net_ring9\n";

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* base with the first line equal to `old` replaced by `new` ("" deletes it). */
static void write_edited(const char *old, const char *new)
{
	static char text[8192];
	char needle[300];
	snprintf(needle, sizeof(needle), "\n%s\n", old);
	const char *at = strstr(base, needle);
	if (at == NULL)
		fail_msg("test bug: line '%s' not in base", old);
	at++;
	int n = snprintf(text, sizeof(text), "%.*s%s%s%s", (int)(at - base), base, new, *new ? "\n" : "",
			 at + strlen(old) + 1);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	write_file(text);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kbp-test-config-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/c.ini", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static struct kbp_cluster_config cfg;   /* ~60 KiB: off the stack */
static char err[KBP_CONFIG_ERR_MAX];

static void test_base_defaults(void **state)
{
	(void)state;
	write_file(base);
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(cfg.id, 3);
	assert_int_equal(cfg.nodes, 3);
	assert_int_equal(cfg.mtu, 9000);
	assert_int_equal(cfg.window, 64);
	assert_int_equal(cfg.batch_bytes_max, 8192);
	assert_int_equal(cfg.msg_bytes_max, 8192 + KBP_PENTRY_HDR_SIZE);
	assert_true(cfg.leases);
	assert_string_equal(cfg.netns, "");
	const struct kbp_config_host *n1 = &cfg.node[1];
	assert_true(n1->present);
	assert_int_equal(n1->ip, 0x0a000002);
	assert_int_equal(n1->mac[5], 2);
	assert_int_equal(n1->port, 7700);
	assert_int_equal(n1->client_port, 7701);
	assert_string_equal(n1->file_prefix, "kbpaxos3-n1");
	assert_string_equal(n1->log_dir, "/tmp/n1");
	assert_int_equal(n1->n_devs, 1);
	assert_string_equal(n1->dev[0].name, "net_ring1");
	assert_int_equal(n1->route[0], 0);
	assert_int_equal(n1->route[1], KBP_CONFIG_ROUTE_NONE);
	assert_int_equal(n1->route[2], 0);
	assert_int_equal(n1->hugepages, KBP_HUGE_AUTO);
	assert_true(cfg.generator.present);
	assert_int_equal(cfg.generator.port, 7800);
	assert_string_equal(cfg.generator.file_prefix, "kbpaxos3-gen");
	assert_false(cfg.node[3].present);
}

static void test_node_config_and_wire_ctx(void **state)
{
	(void)state;
	struct kbp_node_config nc0, nc1;
	struct kbp_wire_ctx w;

	write_file(base);
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
	kbp_config_node_config(&cfg, 0, &nc0);
	kbp_config_node_config(&cfg, 1, &nc1);
	assert_int_equal(nc1.self, 1);
	assert_int_equal(nc1.nodes, 3);
	assert_int_equal(nc1.window, 64);
	assert_int_equal(nc1.msg_bytes_max, cfg.msg_bytes_max);
	assert_true(nc1.heartbeat_ns == 2000000ull && nc1.election_timeout_ns == 20000000ull);
	assert_true(nc1.lease_ns == 10000000ull && nc1.leases);
	assert_int_equal(kbp_node_config_check(&nc1, &(const char *){ NULL }), 0);

	/* The defaults are the consensus core's, except that leases are on. */
	struct kbp_node_config d;
	kbp_node_config_default(&d);
	d.self = 1;
	d.leases = true;
	d.seed = nc1.seed;
	assert_memory_equal(&d, &nc1, sizeof(d));
	assert_true(nc0.seed != nc1.seed);

	kbp_config_wire_ctx(&cfg, 2, &w);
	assert_int_equal(w.cluster_id, 3);
	assert_int_equal(w.self, 2);
	assert_int_equal(w.nodes, 3);
	assert_int_equal(w.payload_max, cfg.msg_bytes_max);
	assert_int_equal(w.cmds_max, cfg.batch_cmds_max);
	assert_int_equal(w.node[1].addr.ip, 0x0a000002);
	assert_int_equal(w.node[1].client_port, 7701);
	kbp_config_wire_ctx(&cfg, KBP_NODE_CLIENT, &w);
	assert_int_equal(w.client.ip, 0x0a000009);
	assert_int_equal(w.client.port, 7800);
}

static void assert_argv(const struct kbp_eal_args *a, const char *const *want)
{
	int n = 0;
	for (; want[n]; n++) {
		if (n >= a->argc)
			fail_msg("argv[%d] missing, want '%s'", n, want[n]);
		if (strcmp(a->argv[n], want[n]))
			fail_msg("argv[%d] = '%s', want '%s'", n, a->argv[n], want[n]);
	}
	assert_int_equal(a->argc, n);
	assert_null(a->argv[n]);
}

static void test_eal_args(void **state)
{
	(void)state;
	static struct kbp_eal_args a;

	write_file(base);
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(kbp_config_eal_args(&cfg, 0, "kbpaxosd", false, &a), 0);
	assert_argv(&a, (const char *const[]){ "kbpaxosd", "-l", "0", "--file-prefix", "kbpaxos3-n0",
		"--vdev", "net_ring0", "--no-pci", "--no-huge", "-m", "512", NULL });
	assert_int_equal(kbp_config_eal_args(&cfg, 0, "kbpaxosd", true, &a), 0);
	assert_argv(&a, (const char *const[]){ "kbpaxosd", "-l", "0", "--file-prefix", "kbpaxos3-n0",
		"--vdev", "net_ring0", "--no-pci", NULL });

	write_edited("vdev.a = net_ring0", "pci.nic = 0000:03:00.0,txq_inline_max=0\nhugepages = no\n"
		     "in_memory = yes\nlog_level = pmd.net.*:debug\nmem_mb = 128");
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(kbp_config_eal_args(&cfg, 0, "kbpaxosd", true, &a), 0);
	assert_argv(&a, (const char *const[]){ "kbpaxosd", "-l", "0", "--file-prefix", "kbpaxos3-n0",
		"-a", "0000:03:00.0,txq_inline_max=0", "--no-huge", "-m", "128", "--no-shconf",
		"--log-level=pmd.net.*:debug", NULL });
	assert_string_equal(cfg.node[0].dev[0].name, "0000:03:00.0");

	write_edited("vdev.a = net_ring0", "pci.nic = 03:00.0\nhugepages = yes\nin_memory = yes");
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(kbp_config_eal_args(&cfg, 0, "kbpaxosd", false, &a), 0);
	assert_argv(&a, (const char *const[]){ "kbpaxosd", "-l", "0", "--file-prefix", "kbpaxos3-n0",
		"-a", "03:00.0", "--in-memory", NULL });
	assert_int_equal(kbp_config_eal_args(&cfg, KBP_NODE_CLIENT, "kbpaxos-gen", true, &a), 0);
	assert_argv(&a, (const char *const[]){ "kbpaxos-gen", "-l", "0-1", "--file-prefix", "kbpaxos3-gen",
		"--vdev", "net_ring9", "--no-pci", NULL });
}

/* The shipped files load; the one-box mesh routes every peer through its own link. */
static void test_shipped_configs(void **state)
{
	(void)state;
	const char *root = getenv("KBP_SOURCE_ROOT");
	char p[512];
	static struct kbp_eal_args a;

	if (root == NULL)
		root = ".";
	snprintf(p, sizeof(p), "%s/conf/local.ini", root);
	if (kbp_config_load(p, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.nodes, 3);
	assert_string_equal(cfg.netns, "kbpaxos1");
	for (unsigned i = 0; i < 3; i++) {
		const struct kbp_config_host *h = &cfg.node[i];
		assert_int_equal(h->n_devs, 4);
		for (unsigned j = 0; j < 3; j++) {
			if (j == i)
				continue;
			char label[8];
			snprintf(label, sizeof(label), "n%u", j);
			assert_string_equal(h->dev[h->route[j]].label, label);
		}
	}
	assert_int_equal(cfg.generator.n_devs, 3);
	assert_string_equal(cfg.generator.dev[cfg.generator.route[2]].name, "net_memifg2");
	assert_int_equal(kbp_config_eal_args(&cfg, 1, "kbpaxosd", false, &a), 0);
	assert_argv(&a, (const char *const[]){ "kbpaxosd", "-l", "0-1", "--file-prefix", "kbpaxos1-n1",
		"--vdev", "net_memif10,role=client,socket=/kbpaxos/1/n0-n1,socket-abstract=yes,bsize=9216",
		"--vdev", "net_memif12,role=server,socket=/kbpaxos/1/n1-n2,socket-abstract=yes,bsize=9216",
		"--vdev", "net_memif1g,role=server,socket=/kbpaxos/1/gen-n1,socket-abstract=yes,bsize=9216",
		"--vdev", "net_tap1,iface=kbp1", "--no-pci", "--no-huge", "-m", "256", NULL });

	snprintf(p, sizeof(p), "%s/conf/cluster-3nic.ini", root);
	if (kbp_config_load(p, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.id, 42);
	assert_string_equal(cfg.netns, "");
	assert_int_equal(kbp_config_eal_args(&cfg, 2, "kbpaxosd", false, &a), 0);
	assert_argv(&a, (const char *const[]){ "kbpaxosd", "-l", "2-4", "--file-prefix", "kbpaxos42-n2",
		"-a", "0000:03:00.0", NULL });
}

/*
 * The digest of conf/local.ini, computed independently from the recipe in docs/CONFIG.md
 * ("The config digest") with a few lines of Python, so the document is checked too.
 * Safety-relevant fields change it; local choices do not.
 */
static void test_config_digest(void **state)
{
	(void)state;
	const char *root = getenv("KBP_SOURCE_ROOT");
	char p[512];

	snprintf(p, sizeof(p), "%s/conf/local.ini", root ? root : ".");
	if (kbp_config_load(p, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	uint64_t d = kbp_config_digest(&cfg);
	assert_int_equal(d, 0x286937e0540e7f49ull);
	struct kbp_cluster_config c2 = cfg;
	snprintf(c2.node[1].lcores, sizeof(c2.node[1].lcores), "3-4");
	snprintf(c2.node[1].log_dir, sizeof(c2.node[1].log_dir), "/elsewhere");
	c2.election_timeout_ms++;
	assert_int_equal(kbp_config_digest(&c2), d);
	c2.lease_ms++;
	assert_int_not_equal(kbp_config_digest(&c2), d);
	c2 = cfg;
	c2.node[2].ip++;
	assert_int_not_equal(kbp_config_digest(&c2), d);
	c2 = cfg;
	c2.nodes = 2;
	assert_int_not_equal(kbp_config_digest(&c2), d);
	c2 = cfg;
	c2.session_expiry_cmds = 0;            /* sessions are replicated state: replicas must agree */
	assert_int_not_equal(kbp_config_digest(&c2), d);
}

static void test_syntax_variants(void **state)
{
	(void)state;
	write_edited("id = 3", "  id=3   # trailing comment\n\n   # indented comment");
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.id, 3);
	write_edited("mac = 02:00:00:00:00:01", "mac = 02:AB:cd:00:00:01");
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.node[0].mac[1], 0xab);
	/* log_dir is stored in one spelling, so nodes' directories compare. */
	write_edited("log_dir = /tmp/n1", "log_dir = //tmp/./n1//");
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.node[1].log_dir, "/tmp/n1");
	/* A name that merely starts like another node's is not inside it. */
	write_edited("log_dir = /tmp/n1", "log_dir = /tmp/n0x");
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
	/* Without leases, lease_ms is unused and not held to the election timeout. */
	write_edited("id = 3", "id = 3\nleases = no\nlease_ms = 50");
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), 0);
}

struct bad {
	const char *old, *new;   /* edit of base; old NULL: the whole file is `new` */
	const char *want;        /* substring of the message, after "<path>: " */
};

static const struct bad bads[] = {
	/* Syntax (pre-scan, with line numbers). */
	{ "id = 3", "hello", "line 3: expected 'key = value' or '[section]', got 'hello'" },
	{ NULL, "id = 3\n[cluster]\n", "line 1: key 'id' before the first [section]" },
	{ "[cluster]", "[cluster", "line 2: expected a section header such as [cluster], got '[cluster'" },
	{ "[cluster]", "[]", "line 2: expected a section header" },
	{ "id = 3", "id =", "line 3: key 'id': expected a value of 1..255 characters" },
	{ "id = 3", "= 3", "line 3: expected a key name" },
	/* Sections. */
	{ "[generator]", "[gen]", "[gen]: unknown section: expected [cluster], [node.0] .. [node.6] or [generator]" },
	{ "[node.2]", "[node.02]", "[node.02]: unknown section" },
	{ "[node.2]", "[node.9]", "[node.9]: unknown section" },
	{ "[node.2]", "[node.5]", "[node.2]: section missing: [cluster] nodes = 3 needs [node.0] to [node.2]" },
	{ "nodes = 3", "nodes = 2", "[node.2]: node id 2: expected an id below [cluster] nodes = 2" },
	{ "[node.2]", "[node.1]", "[node.1]: duplicate section" },
	{ "[cluster]", "[clusterx]", "[clusterx]: unknown section" },
	/* [cluster] keys. */
	{ "id = 3", "", "[cluster] id: required key missing (an integer in 0..65535)" },
	{ "nodes = 3", "", "[cluster] nodes: required key missing" },
	{ "id = 3", "id = 3\nwindows = 8", "[cluster] windows: unknown key" },
	{ "id = 3", "id = 3\nwindow = 8\nwindow = 16", "[cluster] window: duplicate key" },
	{ "id = 3", "id = 65536", "[cluster] id: '65536': expected an integer in 0..65535" },
	{ "nodes = 3", "nodes = 8", "[cluster] nodes: '8': expected an integer in 1..7" },
	{ "nodes = 3", "nodes = 0", "[cluster] nodes: '0': expected an integer in 1..7" },
	{ "id = 3", "id = 3\nwindow = abc", "[cluster] window: 'abc': expected an integer in 1..65536" },
	{ "id = 3", "id = 3\nwindow = -1", "[cluster] window: '-1': expected an integer" },
	{ "id = 3", "id = 3\nwindow = 0x10", "[cluster] window: '0x10': expected an integer" },
	{ "id = 3", "id = 3\nseed = 99999999999999999999", "[cluster] seed: '99999999999999999999': expected an integer" },
	{ "id = 3", "id = 3\nlog_slots = 100", "[cluster] log_slots: 100: expected a power of two" },
	{ "id = 3", "id = 3\nlog_slots = 64", "[cluster] log_slots: 64: expected at least 2 * window = 128" },
	{ "id = 3", "id = 3\nmtu = 1500", "[cluster] mtu: 1500: a 8216-byte message needs an MTU of at least 8308" },
	{ "id = 3", "id = 3\nmsg_bytes_max = 8200", "[cluster] msg_bytes_max: 8200: expected at least batch_bytes_max + 24 = 8216" },
	{ "id = 3", "id = 3\nbatch_bytes_max = 1000", "[cluster] batch_bytes_max: '1000': expected an integer in 2136.." },
	{ "id = 3", "id = 3\nelection_timeout_ms = 2", "[cluster] election_timeout_ms: 2: expected more than heartbeat_ms = 2" },
	{ "id = 3", "id = 3\nlease_ms = 7", "[cluster] lease_ms: 7: expected at least 4 * heartbeat_ms = 8, so that" },
	{ "id = 3", "id = 3\nlease_ms = 20", "[cluster] lease_ms: 20: expected less than election_timeout_ms = 20, so that" },
	{ "id = 3", "id = 3\nelection_timeout_ms = 40\nlease_ms = 41", "[cluster] lease_ms: 41: expected less than election_timeout_ms = 40" },
	{ "id = 3", "id = 3\nqueue_bytes = 4000", "[cluster] queue_bytes: 4000: expected at least batch_bytes_max = 8192" },
	{ "id = 3", "id = 3\napply_max = 32", "[cluster] apply_max: 32: expected at least batch_cmds_max = 64" },
	{ "id = 3", "id = 3\nmax_drift_ppm = 100000", "[cluster] max_drift_ppm: '100000': expected an integer in 0..99999" },
	{ "id = 3", "id = 3\nleases = maybe", "[cluster] leases: 'maybe': expected yes or no" },
	{ "id = 3", "id = 3\nleases = no\nleases = yes", "[cluster] leases: duplicate key" },
	{ "id = 3", "id = 3\nnetns = a/b", "[cluster] netns: 'a/b': expected a network namespace name" },
	{ "id = 3", "id = 3\nnetns = ..", "[cluster] netns: '..': expected a network namespace name" },
	{ "id = 3", "id = 3\nnetns = -x", "[cluster] netns: '-x': expected a network namespace name" },
	{ "id = 3", "id = 3\nnetns = abcdefghijabcdefghijabcdefghijab", "[cluster] netns: 'abcdefghijabcdefghijabcdefghijab': expected" },
	{ "id = 3", "id = 3\nnetns = a\nnetns = b", "[cluster] netns: duplicate key" },
	/* [node.N] keys. */
	{ "mac = 02:00:00:00:00:02", "", "[node.1] mac: required key missing" },
	{ "ip = 10.0.0.2", "", "[node.1] ip: required key missing" },
	{ "lcores = 1", "", "[node.1] lcores: required key missing" },
	{ "log_dir = /tmp/n1", "", "[node.1] log_dir: required key missing" },
	{ "log_dir = /tmp/n1", "log_dir = tmp/n1", "[node.1] log_dir: 'tmp/n1': expected an absolute path (a relative one" },
	{ "log_dir = /tmp/n1", "log_dir = ./n1", "[node.1] log_dir: './n1': expected an absolute path" },
	{ "log_dir = /tmp/n1", "log_dir = /tmp/../n1", "[node.1] log_dir: '/tmp/../n1': expected an absolute path without '..'" },
	{ "vdev.a = net_ring1", "", "[node.1] vdev.<label>: required key missing (at least one" },
	{ "mac = 02:00:00:00:00:02", "macc = 02:00:00:00:00:02", "[node.1] macc: unknown key" },
	{ "mac = 02:00:00:00:00:02", "mac = zz:00:00:00:00:02", "[node.1] mac: 'zz:00:00:00:00:02': expected a unicast MAC" },
	{ "mac = 02:00:00:00:00:02", "mac = 01:00:5e:00:00:02", "[node.1] mac: '01:00:5e:00:00:02': expected a unicast MAC" },
	{ "mac = 02:00:00:00:00:02", "mac = 02:00:00:00:00", "[node.1] mac: '02:00:00:00:00': expected" },
	{ "mac = 02:00:00:00:00:02", "mac = 00:00:00:00:00:00", "[node.1] mac: '00:00:00:00:00:00': expected" },
	{ "ip = 10.0.0.2", "ip = 10.0.0.256", "[node.1] ip: '10.0.0.256': expected a unicast IPv4 address" },
	{ "ip = 10.0.0.2", "ip = 10.0.2", "[node.1] ip: '10.0.2': expected" },
	{ "ip = 10.0.0.2", "ip = 224.0.0.2", "[node.1] ip: '224.0.0.2': multicast (224.0.0.0/4) is not a host address; expected a unicast IPv4 address" },
	{ "ip = 10.0.0.2", "ip = 239.255.255.255", "[node.1] ip: '239.255.255.255': multicast (224.0.0.0/4)" },
	{ "ip = 10.0.0.2", "ip = 255.255.255.255", "[node.1] ip: '255.255.255.255': the limited broadcast address; expected a unicast IPv4 address" },
	{ "ip = 10.0.0.2", "ip = 240.0.0.1", "[node.1] ip: '240.0.0.1': reserved (240.0.0.0/4)" },
	{ "ip = 10.0.0.2", "ip = 0.0.0.0", "[node.1] ip: '0.0.0.0': 0.0.0.0/8 means 'this network'" },
	{ "ip = 10.0.0.2", "ip = 0.1.2.3", "[node.1] ip: '0.1.2.3': 0.0.0.0/8 means 'this network'" },
	{ "ip = 10.0.0.9", "ip = 255.255.255.255", "[generator] ip: '255.255.255.255': the limited broadcast address" },
	{ "ip = 10.0.0.2", "ip = 10.0.0.2.", "[node.1] ip: '10.0.0.2.': expected" },
	{ "ip = 10.0.0.2", "ip = 10.0.0.2\nport = 0", "[node.1] port: '0': expected a UDP port in 1..65535" },
	{ "ip = 10.0.0.2", "ip = 10.0.0.2\nport = 70000", "[node.1] port: '70000': expected a UDP port" },
	{ "ip = 10.0.0.2", "ip = 10.0.0.2\nclient_port = 7700", "[node.1] client_port: 7700: expected a port other than port = 7700" },
	{ "lcores = 1", "lcores = 1-", "[node.1] lcores: '1-': expected a core list such as 0-1,3" },
	{ "lcores = 1", "lcores = 3-1", "[node.1] lcores: '3-1': expected a core list" },
	{ "lcores = 1", "lcores = 0,,1", "[node.1] lcores: '0,,1': expected a core list" },
	{ "lcores = 1", "lcores = 128", "[node.1] lcores: '128': expected a core list such as 0-1,3 (cores below 128)" },
	{ "lcores = 1", "lcores = all", "[node.1] lcores: 'all': expected a core list" },
	{ "lcores = 1", "lcores = 1\nhugepages = maybe", "[node.1] hugepages: 'maybe': expected auto, yes or no" },
	{ "lcores = 1", "lcores = 1\nmem_mb = 10", "[node.1] mem_mb: '10': expected megabytes in 64..1048576" },
	{ "lcores = 1", "lcores = 1\nidle = lazy", "[node.1] idle: 'lazy': expected busy or adaptive" },
	{ "lcores = 1", "lcores = 1\nin_memory = perhaps", "[node.1] in_memory: 'perhaps': expected yes or no" },
	{ "lcores = 1", "lcores = 1\nfile_prefix = a/b", "[node.1] file_prefix: 'a/b': expected letters, digits" },
	{ "lcores = 1", "lcores = 1\nlog_level = 'debug'", "[node.1] log_level: ''debug'': expected an EAL log level" },
	{ "lcores = 1", "lcores = 1\nlcores = 0", "[node.1] lcores: duplicate key" },
	/* Devices and routes. */
	{ "vdev.a = net_ring1", "vdev. = net_ring1", "[node.1] vdev.: expected a label of letters, digits and '_' after 'vdev.'" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1 x", "[node.1] vdev.a: 'net_ring1 x': expected no spaces" },
	{ "vdev.a = net_ring1", "vdev.a = ,x=1", "[node.1] vdev.a: ',x=1': expected a virtual device such as" },
	{ "vdev.a = net_ring1", "pci.a = 03:00", "[node.1] pci.a: '03:00': expected a PCI address such as 0000:03:00.0" },
	{ "vdev.a = net_ring1", "pci.a = 0000:03:00.8", "[node.1] pci.a: '0000:03:00.8': expected a PCI address" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\npci.a = 0000:03:00.0", "[node.1] pci.a: label 'a' used twice" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\nvdev.b = net_ring1,x=1", "[node.1] vdev.b: device 'net_ring1' listed twice" },
	{ "vdev.a = net_ring1", "vdev.a = net_memif1,role=server", "[node.1] vdev.a: memif bsize 2048 is below the largest frame, [cluster] mtu + 14 = 9014: expected bsize=9014 or more" },
	{ "vdev.a = net_ring1", "vdev.a = net_memif1,bsize=4096,role=server", "[node.1] vdev.a: memif bsize 4096 is below" },
	{ "vdev.a = net_ring1", "vdev.a = net_memif1,bsize=x", "[node.1] vdev.a: 'net_memif1,bsize=x': expected bsize=<bytes>" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\nvdev.b = net_ring5", "[node.1] route.0: required key missing (with several devices, name the one that reaches node 0)" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\nvdev.b = net_ring5\nroute.0 = a", "[node.1] route.2: required key missing" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\nroute.0 = b", "[node.1] route.0: 'b': expected the label of a vdev.<label> or pci.<label> in this section" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\nroute.1 = a", "[node.1] route.1: a node needs no route to itself" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\nroute.9 = a", "[node.1] route.9: expected route.<node id> with an id below 7" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\nroute.x = a", "[node.1] route.x: expected route.<node id>" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\nroute.5 = a", "[node.1] route.5: node 5: expected an id below [cluster] nodes = 3" },
	{ "vdev.a = net_ring1", "vdev.a = net_ring1\nroute.0 = a\nroute.0 = a", "[node.1] route.0: duplicate key" },
	/* Across sections. */
	{ "mac = 02:00:00:00:00:02", "mac = 02:00:00:00:00:01", "[node.1] mac: same MAC as [node.0]" },
	{ "ip = 10.0.0.9", "ip = 10.0.0.3", "[generator] ip: same IP as [node.2]" },
	{ "lcores = 1", "lcores = 1\nfile_prefix = kbpaxos3-n0", "[node.1] file_prefix: 'kbpaxos3-n0' also used by [node.0]" },
	{ "log_dir = /tmp/n1", "log_dir = /tmp/n0", "[node.1] log_dir: '/tmp/n0' also used by [node.0]: expected one per node (two nodes must never share a log)" },
	{ "log_dir = /tmp/n2", "log_dir = //tmp/./n1/", "[node.2] log_dir: '/tmp/n1' also used by [node.1]" },
	{ "log_dir = /tmp/n1", "log_dir = /tmp/n0/sub", "[node.1] log_dir: '/tmp/n0/sub' lies inside [node.0] log_dir '/tmp/n0': expected one directory per node" },
	{ "log_dir = /tmp/n2", "log_dir = /tmp", "[node.2] log_dir: '/tmp' holds [node.0] log_dir '/tmp/n0'" },
	{ "log_dir = /tmp/n2", "log_dir = /", "[node.2] log_dir: '/' holds [node.0] log_dir '/tmp/n0'" },
	/* [generator]. */
	{ "vdev.a = net_ring9", "vdev.a = net_ring9\nlog_dir = /tmp", "[generator] log_dir: unknown key" },
	{ "vdev.a = net_ring9", "vdev.a = net_ring9\nclient_port = 1", "[generator] client_port: unknown key" },
	{ "vdev.a = net_ring9", "vdev.a = net_ring9\nvdev.b = net_ring8\nroute.0 = a\nroute.1 = b", "[generator] route.2: required key missing" },
};

static void test_bad_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		char want[KBP_CONFIG_ERR_MAX + 200];

		if (b->old)
			write_edited(b->old, b->new);
		else
			write_file(b->new);
		memset(err, 0, sizeof(err));
		int r = kbp_config_load(path, &cfg, err, sizeof(err));
		snprintf(want, sizeof(want), "%s: %s", path, b->want);
		if (r != -KBP_EINVAL || strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu ('%s' -> '%s'):\n  got  (%d) %s\n  want %s", i, b->old ? b->old : "",
				 b->new, r, err, want);
		assert_int_equal(cfg.nodes, 0);   /* nothing half-loaded survives a failure */
	}
}

static void test_file_errors(void **state)
{
	(void)state;
	char longline[400];

	assert_int_equal(kbp_config_load("/nonexistent/kbp.ini", &cfg, err, sizeof(err)), -KBP_EINVAL);
	assert_string_equal(err, "/nonexistent/kbp.ini: cannot open: No such file or directory");

	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "log_dir = /", 11);
	longline[sizeof(longline) - 1] = '\0';
	write_edited("log_dir = /tmp/n1", longline);
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), -KBP_EINVAL);
	assert_non_null(strstr(err, ": line 15: longer than 320 characters"));

	write_file("");
	assert_int_equal(kbp_config_load(path, &cfg, err, sizeof(err)), -KBP_EINVAL);
	assert_non_null(strstr(err, ": [cluster]: section missing"));
	/* A NULL error buffer is allowed. */
	assert_int_equal(kbp_config_load(path, &cfg, NULL, 0), -KBP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_defaults),
		cmocka_unit_test(test_node_config_and_wire_ctx),
		cmocka_unit_test(test_eal_args),
		cmocka_unit_test(test_shipped_configs),
		cmocka_unit_test(test_config_digest),
		cmocka_unit_test(test_syntax_variants),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_file_errors),
	};
	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
