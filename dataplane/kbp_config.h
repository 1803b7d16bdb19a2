/* SPDX-License-Identifier: MIT */
/*
 * The cluster config: one INI file (docs/CONFIG.md) read with DPDK's rte_cfgfile, which
 * needs no EAL, into an immutable struct kbp_cluster_config.  Loaded once at start-up,
 * before rte_eal_init, because the EAL arguments themselves come from it
 * (kbp_config_eal_args); then passed down by const pointer, never kept in a global.
 *
 * Every error names the file, the section, the key and what was expected; unknown
 * sections and keys, duplicates and missing required keys are errors.
 */
#ifndef KBP_CONFIG_H
#define KBP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kbp_node.h"
#include "kbp_types.h"
#include "kbp_wire.h"

#define KBP_CONFIG_DEVS_MAX 8        /* ports per process */
#define KBP_CONFIG_LABEL_MAX 32      /* device label in vdev.<label> / pci.<label> */
#define KBP_CONFIG_VALUE_MAX 256     /* rte_cfgfile's CFG_VALUE_LEN */
#define KBP_CONFIG_NAME_MAX 64       /* rte_cfgfile's CFG_NAME_LEN */
#define KBP_CONFIG_ERR_MAX 512       /* room for one error message */
#define KBP_CONFIG_NETNS_MAX 32      /* [cluster] netns, with its NUL */
#define KBP_CONFIG_ROUTE_NONE 0xffu
/* The largest encoded command (CAS with a full key, expected and new value). */
#define KBP_CONFIG_CMD_SIZE_MAX (KBP_CMD_HDR_SIZE + ((KBP_KEY_MAX + 2 * KBP_VAL_MAX + 7) & ~7u))

enum kbp_dev_kind { KBP_DEV_VDEV = 0, KBP_DEV_PCI = 1 };
enum kbp_huge { KBP_HUGE_AUTO = 0, KBP_HUGE_YES = 1, KBP_HUGE_NO = 2 };
enum kbp_idle { KBP_IDLE_BUSY = 0, KBP_IDLE_ADAPTIVE = 1 };

/* One DPDK port of a process. */
struct kbp_config_dev {
	char label[KBP_CONFIG_LABEL_MAX];   /* the <label> of vdev.<label> / pci.<label> */
	uint8_t kind;                       /* enum kbp_dev_kind */
	char args[KBP_CONFIG_VALUE_MAX];    /* --vdev argument, or PCI address[,devargs] for -a */
	char name[KBP_CONFIG_VALUE_MAX];    /* ethdev name (args up to ','): rte_eth_dev_get_port_by_name */
};

/* A process of the cluster: a node ([node.N]) or the packet generator ([generator]). */
struct kbp_config_host {
	bool present;
	uint8_t mac[6];
	uint32_t ip;                        /* host byte order */
	uint16_t port;                      /* node: peer port; generator: source port */
	uint16_t client_port;               /* node: where clients send requests */
	char lcores[KBP_CONFIG_VALUE_MAX];  /* EAL -l list, validated: "0-1,3" */
	uint32_t n_devs;
	struct kbp_config_dev dev[KBP_CONFIG_DEVS_MAX];
	uint8_t route[KBP_NODES_MAX];       /* dev index that reaches node i (ROUTE_NONE: self) */
	char file_prefix[KBP_CONFIG_VALUE_MAX];
	char log_dir[KBP_CONFIG_VALUE_MAX]; /* node: durable log directory */
	char log_level[KBP_CONFIG_NAME_MAX];/* EAL --log-level, empty: EAL default */
	uint8_t hugepages;                  /* enum kbp_huge */
	uint32_t mem_mb;                    /* EAL -m when running without hugepages */
	bool in_memory;                     /* EAL --in-memory */
	uint8_t idle;                       /* enum kbp_idle */
};

struct kbp_cluster_config {
	char path[KBP_CONFIG_VALUE_MAX];
	uint16_t id;
	uint32_t nodes;
	uint32_t mtu;                       /* IPv4 MTU of every link */
	/* Consensus knobs, as in struct kbp_node_config. */
	uint32_t window;
	uint32_t batch_cmds_max;
	uint32_t batch_bytes_max;
	uint32_t log_slots;
	uint32_t queue_bytes;
	uint32_t clients_max;
	uint64_t session_expiry_cmds;
	uint32_t kv_keys_max;
	uint32_t msg_bytes_max;
	uint32_t apply_max;
	uint32_t heartbeat_ms;
	uint32_t election_timeout_ms;
	uint32_t retransmit_ms;
	uint32_t backoff_max_shift;
	bool leases;
	uint32_t lease_ms;
	uint32_t max_drift_ppm;
	uint64_t seed;
	char netns[KBP_CONFIG_NETNS_MAX];   /* network namespace of the one-box cluster, "" for none */
	struct kbp_config_host node[KBP_NODES_MAX];
	struct kbp_config_host generator;   /* .present if the file has [generator] */
};

/*
 * Load and validate path into *out.  Returns 0, or -KBP_EINVAL with one line in err
 * ("conf/x.ini: [node.1] mac = "zz": expected a unicast MAC such as 02:00:00:00:00:01").
 */
int kbp_config_load(const char *path, struct kbp_cluster_config *out, char *err, size_t err_len);

/* The consensus core's config for node self (< c->nodes). */
void kbp_config_node_config(const struct kbp_cluster_config *c, unsigned self,
			    struct kbp_node_config *out);

/* The parser's view for node self, or for the generator with self == KBP_NODE_CLIENT. */
void kbp_config_wire_ctx(const struct kbp_cluster_config *c, unsigned self, struct kbp_wire_ctx *out);

/* EAL arguments, self-contained: argv points into buf. */
#define KBP_EAL_ARGS_MAX 48
struct kbp_eal_args {
	int argc;
	char *argv[KBP_EAL_ARGS_MAX + 1];   /* NULL-terminated */
	char buf[4096];
};

/*
 * Build the rte_eal_init argv for node self, or the generator (self == KBP_NODE_CLIENT):
 * prog, -l lcores, --file-prefix, one --vdev or -a per device, --no-pci when the process
 * has no PCI device, --no-huge -m mem_mb when hugepages = no or (auto and
 * !have_hugepages), --in-memory (--no-shconf without hugepages, which EAL requires),
 * --log-level.  Returns 0 or -KBP_ETOOBIG.
 */
int kbp_config_eal_args(const struct kbp_cluster_config *c, unsigned self, const char *prog,
			bool have_hugepages, struct kbp_eal_args *out);

/* Whether /proc/meminfo reports free hugepages (for hugepages = auto). */
bool kbp_config_hugepages_available(void);

/*
 * The largest frame any process sends (mtu + Ethernet header).  Mbuf data rooms must hold
 * it after RTE_PKTMBUF_HEADROOM, and memif links need bsize >= it (checked on load), so
 * no frame ever arrives as a chain.
 */
uint32_t kbp_config_frame_max(const struct kbp_cluster_config *c);

/*
 * A digest of the safety-relevant part of the config, the part every node must agree
 * on: cluster id, node count, every node's MAC, IP, peer and client port, leases,
 * lease_ms, max_drift_ppm, batch_cmds_max, batch_bytes_max, clients_max, kv_keys_max
 * and session_expiry_cmds (the state machine must decide alike on every replica).  FNV-1a 64 over
 * the string "kbpaxos-config-v1" then each field as a little-endian u64 (MACs as their
 * 6 bytes), in that order (docs/CONFIG.md).  Lcores, devices, paths and timers are
 * local choices and not part of it.
 */
uint64_t kbp_config_digest(const struct kbp_cluster_config *c);

/* The section of node self, or of the generator for KBP_NODE_CLIENT. */
const struct kbp_config_host *kbp_config_host(const struct kbp_cluster_config *c, unsigned self);

#endif
