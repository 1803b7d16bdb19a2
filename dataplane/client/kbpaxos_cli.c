/* SPDX-License-Identifier: MIT */
/*
 * kbpaxos-cli: talk to a kbpaxos cluster from an ordinary Linux box over kernel UDP.
 *
 *   kbpaxos-cli --config FILE put KEY VALUE
 *   kbpaxos-cli --config FILE get KEY
 *   kbpaxos-cli --config FILE cas KEY EXPECTED NEW
 *   kbpaxos-cli --config FILE status
 *   kbpaxos-cli --config FILE telemetry NODE [COMMAND[,PARAMS]]   (default /kbpaxos/status)
 *   kbpaxos-cli --config FILE nodes        one line per node, for scripts
 *   kbpaxos-cli --config FILE netns        the config's network namespace ("-": none)
 *
 * put, get, cas and status first enter the network namespace the config names
 * ([cluster] netns), which needs root unless the caller is already inside it.
 *
 * Exit status: 0 done, 1 error (timeout, socket, config), 2 usage, 3 key not found,
 * 4 CAS failed (the current value is printed on stderr), 5 outcome unknown (the session
 * expired before the answer: the put or cas may or may not have been applied).
 *
 * Each put or cas registers its own session (docs/PROTOCOL.md, "Client sessions"): two
 * round trips through the log; the session is not used again and ages out.  get and
 * status need no session.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "kbp_client.h"
#include "kbp_config.h"
#include "kbp_netns.h"

enum { EXIT_USAGE = 2, EXIT_NOT_FOUND = 3, EXIT_CAS_FAILED = 4, EXIT_UNKNOWN = 5 };

#define PROBE_KEY "kbpaxos-cli-status"
#define TELEMETRY_BUF 65536

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kbpaxos-cli --config FILE [options] COMMAND\n"
		"commands:\n"
		"  put KEY VALUE           store VALUE under KEY\n"
		"  get KEY                 print the value of KEY (exit 3 if there is none)\n"
		"  cas KEY EXPECTED NEW    set KEY to NEW if it holds EXPECTED (exit 4 if not)\n"
		"  status                  ask every node who leads; add its DPDK telemetry if local:\n"
		"                          role, commit, TX drops by cause, links (all of it: telemetry N\n"
		"                          /kbpaxos/status, /kbpaxos/drops, /kbpaxos/ports)\n"
		"  telemetry NODE [CMD]    print node NODE's telemetry reply to CMD (default /kbpaxos/status)\n"
		"  nodes                   print 'id ip client_port tap_iface log_dir file_prefix' per node\n"
		"  netns                   print the config's network namespace ('-': none)\n"
		"put, get, cas and status run inside the config's network namespace ([cluster] netns)\n"
		"options:\n"
		"  -c, --config FILE       cluster config (INI, docs/CONFIG.md)\n"
		"  -t, --timeout-ms MS     give up after MS milliseconds (default 5000)\n"
		"  -r, --retry-ms MS       resend to the next node after MS unanswered (default 200)\n"
		"  -n, --node N            send to node N first (default: random)\n"
		"  -v, --verbose           trace sends, replies and leader hints on stderr\n"
		"  -h, --help\n"
		"exit status: 0 done, 1 error, 2 usage, 3 not found, 4 CAS failed,\n"
		"             5 outcome unknown (session expired: the put or cas may or may not have run)\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Print a value: as is if printable, else as hex. */
static void print_value(FILE *f, const uint8_t *v, uint16_t len)
{
	for (uint16_t i = 0; i < len; i++) {
		if (v[i] < 0x20 || v[i] > 0x7e) {
			fprintf(f, "0x");
			for (uint16_t j = 0; j < len; j++)
				fprintf(f, "%02x", v[j]);
			return;
		}
	}
	fwrite(v, 1, len, f);
}

static int report(const char *what, const char *key, int r, struct kbp_client *c,
		  const struct kbp_client_result *res)
{
	if (r < 0) {
		fprintf(stderr, "kbpaxos-cli: %s %s: %s\n", what, key, kbp_client_error(c));
		return EXIT_FAILURE;
	}
	if (res->outcome == KBP_CLIENT_UNKNOWN) {
		fprintf(stderr, "kbpaxos-cli: %s %s: outcome unknown (node %u answered %s): %s; "
			"read the key to see\n", what, key, res->node, kbp_status_name(res->status),
			kbp_client_error(c));
		return EXIT_UNKNOWN;
	}
	switch (res->status) {
	case KBP_ST_OK:
		return EXIT_SUCCESS;
	case KBP_ST_NOT_FOUND:
		fprintf(stderr, "kbpaxos-cli: %s %s: not found\n", what, key);
		return EXIT_NOT_FOUND;
	case KBP_ST_CAS_FAILED:
		fprintf(stderr, "kbpaxos-cli: %s %s: failed, current value is '", what, key);
		print_value(stderr, res->val, res->val_len);
		fprintf(stderr, "'\n");
		return EXIT_CAS_FAILED;
	case KBP_ST_FULL:
		fprintf(stderr, "kbpaxos-cli: %s %s: node %u reports the store full\n",
			what, key, res->node);
		return EXIT_FAILURE;
	default:
		fprintf(stderr, "kbpaxos-cli: %s %s: node %u answered %s\n", what, key, res->node,
			kbp_status_name(res->status));
		return EXIT_FAILURE;
	}
}

/* The iface= argument of the host's net_tap device, or "-". */
static void tap_iface(const struct kbp_config_host *h, char *out, size_t len)
{
	snprintf(out, len, "-");
	for (uint32_t d = 0; d < h->n_devs; d++) {
		if (strncmp(h->dev[d].args, "net_tap", 7) != 0)
			continue;
		const char *p = strstr(h->dev[d].args, "iface=");
		if (p == NULL)
			continue;
		p += 6;
		size_t n = strcspn(p, ",");
		if (n >= len)
			n = len - 1;
		memcpy(out, p, n);
		out[n] = '\0';
		return;
	}
}

static int cmd_nodes(const struct kbp_cluster_config *cfg)
{
	for (unsigned i = 0; i < cfg->nodes; i++) {
		const struct kbp_config_host *h = &cfg->node[i];
		struct in_addr a = { .s_addr = htonl(h->ip) };
		char ip[INET_ADDRSTRLEN], iface[64];
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		tap_iface(h, iface, sizeof(iface));
		printf("%u %s %u %s %s %s\n", i, ip, h->client_port, iface,
		       h->log_dir[0] ? h->log_dir : "-", h->file_prefix[0] ? h->file_prefix : "-");
	}
	return EXIT_SUCCESS;
}

/*
 * One request to a node's DPDK telemetry socket (SOCK_SEQPACKET, protocol v2: the server
 * greets with a JSON info message, then answers each command with one message).
 * Returns the reply length, or -errno with *why set.
 */
static int telemetry_query(const char *file_prefix, const char *cmd, char *buf, size_t len,
			   const char **why)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	/* EAL's runtime directory: /var/run/dpdk for root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk. */
	char paths[3][sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n_dirs = 0;
	if (snprintf(paths[n_dirs], sizeof(paths[0]), "/var/run/dpdk/%s/dpdk_telemetry.v2",
		     file_prefix) < (int)sizeof(paths[0]))
		n_dirs++;
	if (xdg && snprintf(paths[n_dirs], sizeof(paths[0]), "%s/dpdk/%s/dpdk_telemetry.v2", xdg,
			    file_prefix) < (int)sizeof(paths[0]))
		n_dirs++;
	if (snprintf(paths[n_dirs], sizeof(paths[0]), "/tmp/dpdk/%s/dpdk_telemetry.v2",
		     file_prefix) < (int)sizeof(paths[0]))
		n_dirs++;

	int err = ENOENT;
	for (int i = 0; i < n_dirs; i++) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		memcpy(sun.sun_path, paths[i], sizeof(sun.sun_path));
		if (access(sun.sun_path, F_OK) != 0)
			continue;
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			*why = "socket";
			return -errno;
		}
		struct timeval tv = { .tv_sec = 2 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			err = errno;
			close(fd);
			continue;   /* a stale socket of a dead process */
		}
		ssize_t r = recv(fd, buf, len - 1, 0);   /* the greeting */
		if (r > 0 && send(fd, cmd, strlen(cmd), 0) == (ssize_t)strlen(cmd))
			r = recv(fd, buf, len - 1, 0);
		else if (r > 0)
			r = -1;                  /* the send failed */
		int e = errno ? errno : EIO;
		close(fd);
		if (r <= 0) {
			*why = "telemetry socket";
			return r == 0 ? -ECONNRESET : -e;
		}
		buf[r] = '\0';
		return (int)r;
	}
	*why = "no telemetry socket";
	return -err;
}

static int cmd_telemetry(const struct kbp_cluster_config *cfg, const char *node_s, const char *cmd)
{
	uint32_t node;
	if (parse_u32(node_s, &node) != 0 || node >= cfg->nodes) {
		fprintf(stderr, "kbpaxos-cli: telemetry: node must be 0..%u, got '%s'\n", cfg->nodes - 1,
			node_s);
		return EXIT_USAGE;
	}
	static char buf[TELEMETRY_BUF];
	const char *why = "";
	int r = telemetry_query(cfg->node[node].file_prefix, cmd, buf, sizeof(buf), &why);
	if (r < 0) {
		fprintf(stderr,
			"kbpaxos-cli: telemetry: node %u (file_prefix %s): %s: %s "
			"(is kbpaxosd running on this box, and are you root?)\n",
			node, cfg->node[node].file_prefix, why, strerror(-r));
		return EXIT_FAILURE;
	}
	printf("%s\n", buf);
	return EXIT_SUCCESS;
}

/* The raw value of "key": in a flat telemetry JSON reply, or "?" (no JSON parser needed). */
static const char *json_field(const char *json, const char *key, char *out, size_t len)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(json, pat);
	if (p == NULL) {
		snprintf(out, len, "?");
		return out;
	}
	p += strlen(pat);
	if (*p == '"')
		p++;
	size_t n = strcspn(p, "\",}");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

/* A rebuilding (non-voting) node and any contradicted chosen value, from /kbpaxos/status. */
static void print_rebuild_and_conflicts(const char *buf)
{
	char f[5][32];
	json_field(buf, "rebuild", f[0], sizeof(f[0]));
	if (strcmp(f[0], "none") != 0 && strcmp(f[0], "?") != 0)
		printf("    REBUILDING (non-voting) stage %s: commit %s, waits for slot %s of leader ballot %s "
		       "(peers' highest promise %s)\n", f[0], json_field(buf, "commit", f[1], sizeof(f[1])),
		       json_field(buf, "rebuild_target", f[2], sizeof(f[2])),
		       json_field(buf, "rebuild_ballot", f[3], sizeof(f[3])),
		       json_field(buf, "rebuild_floor", f[4], sizeof(f[4])));
	json_field(buf, "chosen_conflicts", f[0], sizeof(f[0]));
	if (strcmp(f[0], "0") != 0 && strcmp(f[0], "?") != 0)
		printf("    INCONSISTENCY: %s contradicted chosen values, latest slot %s from node %s\n", f[0],
		       json_field(buf, "conflict_slot", f[1], sizeof(f[1])),
		       json_field(buf, "conflict_from", f[2], sizeof(f[2])));
}

static int cmd_status(struct kbp_client *c, uint32_t wait_ms)
{
	const struct kbp_cluster_config *cfg = kbp_client_config(c);
	int leaders = 0, answered = 0;
	static char buf[TELEMETRY_BUF];

	for (unsigned i = 0; i < cfg->nodes; i++) {
		struct in_addr a = { .s_addr = htonl(cfg->node[i].ip) };
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		printf("node %u  %s:%u  ", i, ip, cfg->node[i].client_port);

		struct kbp_client_result res;
		int r = kbp_client_probe(c, i, PROBE_KEY, strlen(PROBE_KEY), wait_ms, &res);
		if (r == -ETIMEDOUT) {
			printf("no answer within %u ms\n", wait_ms);
		} else if (r < 0) {
			printf("error: %s\n", kbp_client_error(c));
		} else if (res.status == KBP_ST_NOT_LEADER) {
			answered++;
			if (res.node < cfg->nodes)
				printf("follower (leader: node %u)\n", res.node);
			else
				printf("follower (leader unknown)\n");
		} else {
			answered++;
			leaders++;
			printf("LEADER (answered %s)\n", kbp_status_name(res.status));
		}
		const char *why = "";
		if (cfg->node[i].file_prefix[0] &&
		    telemetry_query(cfg->node[i].file_prefix, "/kbpaxos/status", buf, sizeof(buf), &why) > 0) {
			char f[6][32];
			printf("    telemetry: role %s, ballot %s, commit %s, applied %s, lease %s us, "
			       "elections %s\n",
			       json_field(buf, "role", f[0], sizeof(f[0])),
			       json_field(buf, "ballot", f[1], sizeof(f[1])),
			       json_field(buf, "commit", f[2], sizeof(f[2])),
			       json_field(buf, "applied", f[3], sizeof(f[3])),
			       json_field(buf, "lease_remaining_us", f[4], sizeof(f[4])),
			       json_field(buf, "elections", f[5], sizeof(f[5])));
			char g[8][32];
			printf("    tx drops: link down %s, queue full %s, no mbuf %s, too big %s, port errors %s; "
			       "replies too big %s; links down %s, flaps %s\n",
			       json_field(buf, "tx_drop_link_down", g[0], sizeof(g[0])),
			       json_field(buf, "tx_drop_full", g[1], sizeof(g[1])),
			       json_field(buf, "tx_drop_no_mbuf", g[2], sizeof(g[2])),
			       json_field(buf, "tx_drop_too_big", g[3], sizeof(g[3])),
			       json_field(buf, "tx_port_errors", g[4], sizeof(g[4])),
			       json_field(buf, "replies_too_big", g[5], sizeof(g[5])),
			       json_field(buf, "links_down", g[6], sizeof(g[6])),
			       json_field(buf, "link_flaps", g[7], sizeof(g[7])));
			print_rebuild_and_conflicts(buf);
		}
	}
	if (answered == 0) {
		fprintf(stderr, "kbpaxos-cli: status: no node answered; is the cluster running "
				"(scripts/cluster status) and reachable?\n");
		return EXIT_FAILURE;
	}
	if (leaders == 0) {
		printf("no leader answered (election in progress?)\n");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/*
 * The cluster's network namespace ([cluster] netns), entered before the client opens its
 * socket, so `kbpaxos-cli --config conf/local.ini put k v` works from the host shell.
 */
static int enter_netns(const char *config, char *err, size_t len)
{
	static struct kbp_cluster_config cfg;
	if (kbp_config_load(config, &cfg, err, len) != 0)
		return -1;
	return kbp_netns_enter(cfg.netns, err, len);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "retry-ms", required_argument, NULL, 'r' },
		{ "node", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kbp_client_opts opts;
	const char *config = NULL;
	kbp_client_opts_default(&opts);

	int ch;
	while ((ch = getopt_long(argc, argv, "+c:t:r:n:vh", longopts, NULL)) != -1) {
		uint32_t v;
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 't':
		case 'r':
		case 'n':
			if (parse_u32(optarg, &v) != 0 || (ch != 'n' && v == 0)) {
				fprintf(stderr, "kbpaxos-cli: -%c expects a %s number, got '%s'\n", ch,
					ch == 'n' ? "node" : "positive", optarg);
				return EXIT_USAGE;
			}
			if (ch == 't')
				opts.timeout_ms = v;
			else if (ch == 'r')
				opts.retry_ms = v;
			else
				opts.first_node = (int)(v > 255 ? 255 : v);
			break;
		case 'v':
			opts.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (config == NULL) {
		fprintf(stderr, "kbpaxos-cli: --config FILE is required (e.g. conf/local.ini)\n");
		return EXIT_USAGE;
	}
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[0];
	static const struct { const char *name; int args; } cmds[] = {
		{ "put", 2 }, { "get", 1 }, { "cas", 3 }, { "status", 0 }, { "nodes", 0 },
		{ "telemetry", -1 }, { "netns", 0 },
	};
	int want = -2;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			want = cmds[i].args;
	if (want == -2) {
		fprintf(stderr, "kbpaxos-cli: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((want >= 0 && argc - 1 != want) || (want == -1 && (argc < 2 || argc > 3))) {
		fprintf(stderr, "kbpaxos-cli: %s: wrong number of arguments\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (opts.first_node == 255) {
		fprintf(stderr, "kbpaxos-cli: --node out of range\n");
		return EXIT_USAGE;
	}

	char err[KBP_CONFIG_ERR_MAX];
	if (strcmp(cmd, "nodes") && strcmp(cmd, "telemetry") && strcmp(cmd, "netns") &&
	    enter_netns(config, err, sizeof(err)) != 0) {
		fprintf(stderr, "kbpaxos-cli: %s\n", err);
		return EXIT_FAILURE;
	}
	struct kbp_client *c;
	int r = kbp_client_new(config, &opts, &c, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kbpaxos-cli: %s\n", err);
		return EXIT_FAILURE;
	}
	if (opts.first_node >= 0 && (unsigned)opts.first_node >= kbp_client_config(c)->nodes) {
		fprintf(stderr, "kbpaxos-cli: --node %d: the cluster has nodes 0..%u\n", opts.first_node,
			kbp_client_config(c)->nodes - 1);
		kbp_client_free(c);
		return EXIT_USAGE;
	}

	struct kbp_client_result res;
	int rc;
	if (strcmp(cmd, "put") == 0) {
		r = kbp_client_put(c, argv[1], strlen(argv[1]), argv[2], strlen(argv[2]), &res);
		rc = report("put", argv[1], r, c, &res);
		if (rc == EXIT_SUCCESS)
			printf("OK\n");
	} else if (strcmp(cmd, "get") == 0) {
		r = kbp_client_get(c, argv[1], strlen(argv[1]), &res);
		rc = report("get", argv[1], r, c, &res);
		if (rc == EXIT_SUCCESS) {
			print_value(stdout, res.val, res.val_len);
			putchar('\n');
		}
	} else if (strcmp(cmd, "cas") == 0) {
		r = kbp_client_cas(c, argv[1], strlen(argv[1]), argv[2], strlen(argv[2]), argv[3],
				   strlen(argv[3]), &res);
		rc = report("cas", argv[1], r, c, &res);
		if (rc == EXIT_SUCCESS)
			printf("OK\n");
	} else if (strcmp(cmd, "status") == 0) {
		rc = cmd_status(c, opts.retry_ms < 500 ? 500 : opts.retry_ms);
	} else if (strcmp(cmd, "nodes") == 0) {
		rc = cmd_nodes(kbp_client_config(c));
	} else if (strcmp(cmd, "netns") == 0) {
		const char *ns = kbp_client_config(c)->netns;
		printf("%s\n", ns[0] ? ns : "-");
		rc = EXIT_SUCCESS;
	} else {
		rc = cmd_telemetry(kbp_client_config(c), argv[1], argc == 3 ? argv[2] : "/kbpaxos/status");
	}
	kbp_client_free(c);
	return rc;
}
