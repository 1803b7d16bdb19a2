/* SPDX-License-Identifier: MIT */
/* Loading and validating the cluster config (kbp_config.h, docs/CONFIG.md). */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cfgfile.h>
#include <rte_config.h>

#include "kbp_config.h"

_Static_assert(KBP_CONFIG_VALUE_MAX == CFG_VALUE_LEN, "value buffers match rte_cfgfile");
_Static_assert(KBP_CONFIG_NAME_MAX == CFG_NAME_LEN, "name buffers match rte_cfgfile");
_Static_assert(KBP_CONFIG_DEVS_MAX < KBP_CONFIG_ROUTE_NONE, "dev index fits route[]");
_Static_assert(KBP_CONFIG_CMD_SIZE_MAX == 2136, "largest command");

/* rte_cfgfile reads a line into CFG_NAME_LEN + CFG_VALUE_LEN + 4 bytes. */
#define LINE_MAX_ (CFG_NAME_LEN + CFG_VALUE_LEN)
#define SECTIONS_MAX (2 + KBP_NODES_MAX + 8)
#define ENTRIES_MAX 64
#define COMMENT '#'
#define SOCKET_OVERHEAD (KBP_WIRE_IP_SIZE + KBP_WIRE_UDP_SIZE + KBP_WIRE_HDR_SIZE)

struct parser {
	const char *path;
	char *err;
	size_t err_len;
	struct kbp_cluster_config *c;
};

static int fail(struct parser *p, const char *sec, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* One message: "path: [section] key: what was expected". */
static int fail(struct parser *p, const char *sec, const char *key, const char *fmt, ...)
{
	char msg[KBP_CONFIG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err_len == 0)
		return -KBP_EINVAL;
	if (sec && key)
		snprintf(p->err, p->err_len, "%s: [%s] %s: %s", p->path, sec, key, msg);
	else if (sec)
		snprintf(p->err, p->err_len, "%s: [%s]: %s", p->path, sec, msg);
	else
		snprintf(p->err, p->err_len, "%s: %s", p->path, msg);
	return -KBP_EINVAL;
}

/* ---- values ---------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

static bool parse_bool(const char *s, bool *v)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "1"))
		*v = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0"))
		*v = false;
	else
		return false;
	return true;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* xx:xx:xx:xx:xx:xx, unicast and not all zero. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	static const uint8_t zero[6];
	return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

/* Dotted quad; syntax only (ip_not_host judges the address). */
static bool parse_ip(const char *s, uint32_t *ip)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned x = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			x = x * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || x > 255)
			return false;
		if (*s != (i < 3 ? '.' : '\0'))
			return false;
		if (i < 3)
			s++;
		v = v << 8 | x;
	}
	*ip = v;
	return true;
}

/*
 * Why ip cannot be a host's own address, or NULL.  Subnet-directed broadcasts
 * (x.y.z.255 in a /24) cannot be told here: the config carries no prefix length.
 * Loopback is allowed: the kernel-UDP client's tests run fake nodes on 127.0.0.x.
 */
static const char *ip_not_host(uint32_t ip)
{
	if (ip >> 24 == 0)
		return "0.0.0.0/8 means 'this network', not a host";
	if (ip >> 28 == 0xe)
		return "multicast (224.0.0.0/4) is not a host address";
	if (ip == UINT32_MAX)
		return "the limited broadcast address";
	if (ip >> 28 == 0xf)
		return "reserved (240.0.0.0/4)";
	return NULL;
}

/* An EAL core list: "N", "N-M", comma-separated, each below RTE_MAX_LCORE. */
static bool parse_lcores(const char *s)
{
	for (;;) {
		uint64_t lo = 0, hi;
		unsigned n = 0;
		while (*s >= '0' && *s <= '9' && n < 4)
			lo = lo * 10 + (uint64_t)(*s++ - '0'), n++;
		if (n == 0 || lo >= RTE_MAX_LCORE)
			return false;
		hi = lo;
		if (*s == '-') {
			s++;
			hi = 0, n = 0;
			while (*s >= '0' && *s <= '9' && n < 4)
				hi = hi * 10 + (uint64_t)(*s++ - '0'), n++;
			if (n == 0 || hi >= RTE_MAX_LCORE || hi < lo)
				return false;
		}
		if (*s == '\0')
			return true;
		if (*s++ != ',')
			return false;
	}
}

static bool is_word(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);
	if (n == 0 || n >= max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && !strchr(extra, *s))
			return false;
	return true;
}

/* [DDDD:]BB:DD.F, hex, as EAL's -a takes it. */
static bool parse_pci(const char *s, size_t n)
{
	static const char *const shapes[] = { "hhhh:hh:hh.d", "hh:hh.d" };
	for (size_t k = 0; k < 2; k++) {
		const char *f = shapes[k];
		if (strlen(f) != n)
			continue;
		size_t i = 0;
		for (; i < n; i++) {
			if (f[i] == 'h' ? hexval(s[i]) < 0 : f[i] == 'd' ? (s[i] < '0' || s[i] > '7') : s[i] != f[i])
				break;
		}
		if (i == n)
			return true;
	}
	return false;
}

/* ---- syntax pre-scan ------------------------------------------------------------- */

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * rte_cfgfile reports syntax errors through rte_log without the line; scan the file
 * first with the same rules so the user gets "file:line: what was expected".
 */
static int prescan(struct parser *p)
{
	FILE *f = fopen(p->path, "r");
	if (f == NULL)
		return fail(p, NULL, NULL, "cannot open: %s", strerror(errno));
	char line[LINE_MAX_ + 8];
	unsigned lineno = 0;
	bool in_section = false;
	int r = 0;

	while (r == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f))
			n = sizeof(line);
		if (n > LINE_MAX_) {
			r = fail(p, NULL, NULL, "line %u: longer than %d characters", lineno, LINE_MAX_);
			break;
		}
		char *hash = strchr(line, COMMENT);
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (*s == '\0')
			continue;
		if (*s == '[') {
			size_t k = strlen(s);
			if (s[k - 1] != ']' || k < 3 || k - 2 >= CFG_NAME_LEN)
				r = fail(p, NULL, NULL, "line %u: expected a section header such as [cluster], got '%s'",
					 lineno, s);
			in_section = true;
			continue;
		}
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			r = fail(p, NULL, NULL, "line %u: expected 'key = value' or '[section]', got '%s'", lineno, s);
			continue;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		if (!in_section)
			r = fail(p, NULL, NULL, "line %u: key '%s' before the first [section]", lineno, key);
		else if (*key == '\0' || strlen(key) >= CFG_NAME_LEN)
			r = fail(p, NULL, NULL, "line %u: expected a key name of 1..%d characters before '='",
				 lineno, CFG_NAME_LEN - 1);
		else if (*val == '\0' || strlen(val) >= CFG_VALUE_LEN)
			r = fail(p, NULL, NULL, "line %u: key '%s': expected a value of 1..%d characters after '='",
				 lineno, key, CFG_VALUE_LEN - 1);
	}
	fclose(f);
	return r;
}

/* ---- [cluster] ------------------------------------------------------------------- */

#define REQUIRED UINT64_MAX
struct num_key {
	const char *name;
	uint64_t min, max, def;
	size_t off;
	size_t size;
};

#define NUM(field, lo, hi, dflt) \
	{ #field, lo, hi, dflt, offsetof(struct kbp_cluster_config, field), \
	  sizeof(((struct kbp_cluster_config *)0)->field) }

static const struct num_key cluster_keys[] = {
	NUM(id, 0, UINT16_MAX, REQUIRED),
	NUM(nodes, 1, KBP_NODES_MAX, REQUIRED),
	NUM(mtu, 1280, 9600, 9000),
	NUM(window, 1, 65536, 64),
	NUM(batch_cmds_max, 1, 4096, 64),
	NUM(batch_bytes_max, KBP_CONFIG_CMD_SIZE_MAX, KBP_WIRE_PAYLOAD_LIMIT - KBP_PENTRY_HDR_SIZE, 8192),
	NUM(log_slots, 2, 1u << 24, 1024),
	NUM(queue_bytes, KBP_CONFIG_CMD_SIZE_MAX, 1u << 30, 1u << 20),
	NUM(clients_max, 1, 1u << 24, 4096),
	NUM(session_expiry_cmds, 0, UINT64_C(1) << 62, 1000000000),
	NUM(kv_keys_max, 1, 1u << 26, 65536),
	NUM(msg_bytes_max, 0, KBP_WIRE_PAYLOAD_LIMIT, 0),     /* 0: batch_bytes_max + entry header */
	NUM(apply_max, 1, 65536, 1024),
	NUM(heartbeat_ms, 1, 10000, 2),
	NUM(election_timeout_ms, 2, 60000, 20),
	NUM(retransmit_ms, 1, 10000, 5),
	NUM(backoff_max_shift, 0, 16, 4),
	NUM(lease_ms, 1, 60000, 10),
	NUM(max_drift_ppm, 0, 99999, 1000),
	NUM(seed, 0, UINT64_MAX - 1, 1),
};
#define N_CLUSTER_KEYS (sizeof(cluster_keys) / sizeof(cluster_keys[0]))

static void store_num(struct kbp_cluster_config *c, const struct num_key *k, uint64_t v)
{
	uint8_t *dst = (uint8_t *)c + k->off;
	if (k->size == 2) {
		uint16_t x = (uint16_t)v;
		memcpy(dst, &x, 2);
	} else if (k->size == 4) {
		uint32_t x = (uint32_t)v;
		memcpy(dst, &x, 4);
	} else {
		assert(k->size == 8);
		memcpy(dst, &v, 8);
	}
}

static int parse_cluster(struct parser *p, const char *sec, const struct rte_cfgfile_entry *e, int n)
{
	bool seen[N_CLUSTER_KEYS] = { false };
	bool leases_seen = false;
	struct kbp_cluster_config *c = p->c;

	c->leases = true;
	for (int i = 0; i < n; i++) {
		if (!strcmp(e[i].name, "netns")) {
			/* A file name under /var/run/netns: no '/', no leading '.' or '-'. */
			if (!is_word(e[i].value, sizeof(c->netns), "-.") || e[i].value[0] == '.' ||
			    e[i].value[0] == '-')
				return fail(p, sec, e[i].name, "'%s': expected a network namespace name of 1..%zu "
					    "letters, digits, '_', '-' or '.', not starting with '-' or '.'",
					    e[i].value, sizeof(c->netns) - 1);
			if (c->netns[0])
				return fail(p, sec, e[i].name, "duplicate key");
			snprintf(c->netns, sizeof(c->netns), "%s", e[i].value);
			continue;
		}
		if (!strcmp(e[i].name, "leases")) {
			if (!parse_bool(e[i].value, &c->leases))
				return fail(p, sec, e[i].name, "'%s': expected yes or no", e[i].value);
			if (leases_seen)
				return fail(p, sec, e[i].name, "duplicate key");
			leases_seen = true;
			continue;
		}
		size_t k = 0;
		while (k < N_CLUSTER_KEYS && strcmp(e[i].name, cluster_keys[k].name))
			k++;
		if (k == N_CLUSTER_KEYS)
			return fail(p, sec, e[i].name, "unknown key (see docs/CONFIG.md for [cluster] keys)");
		if (seen[k])
			return fail(p, sec, e[i].name, "duplicate key");
		seen[k] = true;
		uint64_t v;
		if (!parse_u64(e[i].value, &v) || v < cluster_keys[k].min || v > cluster_keys[k].max)
			return fail(p, sec, e[i].name, "'%s': expected an integer in %" PRIu64 "..%" PRIu64,
				    e[i].value, cluster_keys[k].min, cluster_keys[k].max);
		store_num(c, &cluster_keys[k], v);
	}
	for (size_t k = 0; k < N_CLUSTER_KEYS; k++) {
		if (seen[k])
			continue;
		if (cluster_keys[k].def == REQUIRED)
			return fail(p, sec, cluster_keys[k].name, "required key missing (an integer in %" PRIu64
				    "..%" PRIu64 ")", cluster_keys[k].min, cluster_keys[k].max);
		store_num(c, &cluster_keys[k], cluster_keys[k].def);
	}
	return 0;
}

/* Relationships between knobs (the rules of kbp_node_config_check, plus the wire's). */
static int check_cluster(struct parser *p)
{
	struct kbp_cluster_config *c = p->c;
	const char *sec = "cluster";

	if (c->msg_bytes_max == 0)
		c->msg_bytes_max = c->batch_bytes_max + KBP_PENTRY_HDR_SIZE;
	if (c->log_slots & (c->log_slots - 1))
		return fail(p, sec, "log_slots", "%u: expected a power of two", c->log_slots);
	if ((uint64_t)c->log_slots < 2ull * c->window)
		return fail(p, sec, "log_slots", "%u: expected at least 2 * window = %u", c->log_slots,
			    2 * c->window);
	if (c->msg_bytes_max < c->batch_bytes_max + KBP_PENTRY_HDR_SIZE)
		return fail(p, sec, "msg_bytes_max", "%u: expected at least batch_bytes_max + %u = %u "
			    "(a promise entry carries a whole batch)", c->msg_bytes_max, KBP_PENTRY_HDR_SIZE,
			    c->batch_bytes_max + KBP_PENTRY_HDR_SIZE);
	if (c->msg_bytes_max + SOCKET_OVERHEAD > c->mtu)
		return fail(p, sec, "mtu", "%u: a %u-byte message needs an MTU of at least %u "
			    "(lower batch_bytes_max or raise mtu)", c->mtu, c->msg_bytes_max,
			    c->msg_bytes_max + SOCKET_OVERHEAD);
	if (c->election_timeout_ms <= c->heartbeat_ms)
		return fail(p, sec, "election_timeout_ms", "%u: expected more than heartbeat_ms = %u",
			    c->election_timeout_ms, c->heartbeat_ms);
	if (c->leases && (uint64_t)c->lease_ms < 4ull * c->heartbeat_ms)
		return fail(p, sec, "lease_ms", "%u: expected at least 4 * heartbeat_ms = %u, so that "
			    "renewals arrive before the lease expires", c->lease_ms, 4 * c->heartbeat_ms);
	if (c->leases && c->lease_ms >= c->election_timeout_ms)
		return fail(p, sec, "lease_ms", "%u: expected less than election_timeout_ms = %u, so that "
			    "a lease granted to a dead leader runs out before the others time it out "
			    "(otherwise every failover waits for the lease and the elections before it fail)",
			    c->lease_ms, c->election_timeout_ms);
	if (c->queue_bytes < c->batch_bytes_max)
		return fail(p, sec, "queue_bytes", "%u: expected at least batch_bytes_max = %u",
			    c->queue_bytes, c->batch_bytes_max);
	if (c->apply_max < c->batch_cmds_max)
		return fail(p, sec, "apply_max", "%u: expected at least batch_cmds_max = %u",
			    c->apply_max, c->batch_cmds_max);
	/* The core's own rules are the last word, so the two can never drift apart. */
	struct kbp_node_config nc;
	const char *why = "";
	kbp_config_node_config(c, 0, &nc);
	if (kbp_node_config_check(&nc, &why) < 0)
		return fail(p, sec, NULL, "rejected by the consensus core: %s", why);
	return 0;
}

/* ---- [node.N] and [generator] ---------------------------------------------------- */

static int add_dev(struct parser *p, const char *sec, const struct rte_cfgfile_entry *e,
		   struct kbp_config_host *h, uint8_t kind, const char *label)
{
	if (!is_word(label, KBP_CONFIG_LABEL_MAX, ""))
		return fail(p, sec, e->name, "expected a label of letters, digits and '_' after '%s.'",
			    kind == KBP_DEV_PCI ? "pci" : "vdev");
	if (h->n_devs == KBP_CONFIG_DEVS_MAX)
		return fail(p, sec, e->name, "more than %d devices", KBP_CONFIG_DEVS_MAX);
	for (uint32_t i = 0; i < h->n_devs; i++)
		if (!strcmp(h->dev[i].label, label))
			return fail(p, sec, e->name, "label '%s' used twice", label);

	struct kbp_config_dev *d = &h->dev[h->n_devs];
	const char *v = e->value;
	size_t name_len = strcspn(v, ",");
	for (const char *s = v; *s; s++)
		if (isspace((unsigned char)*s))
			return fail(p, sec, e->name, "'%s': expected no spaces in device arguments", v);
	if (kind == KBP_DEV_PCI) {
		if (!parse_pci(v, name_len))
			return fail(p, sec, e->name, "'%s': expected a PCI address such as 0000:03:00.0[,devargs]", v);
	} else {
		char name[KBP_CONFIG_VALUE_MAX];
		snprintf(name, sizeof(name), "%.*s", (int)name_len, v);
		if (!is_word(name, sizeof(name), ""))
			return fail(p, sec, e->name, "'%s': expected a virtual device such as "
				    "net_memif0,role=server,socket=/run/kbp.sock", v);
	}
	/* A frame larger than a memif buffer arrives chained, and the parser drops chains. */
	if (kind == KBP_DEV_VDEV && !strncmp(v, "net_memif", 9)) {
		const char *b = strstr(v, ",bsize=");
		uint64_t bsize = 2048;   /* the memif PMD's default */
		if (b) {
			char num[16];
			snprintf(num, sizeof(num), "%.*s", (int)strcspn(b + 7, ","), b + 7);
			if (!parse_u64(num, &bsize))
				return fail(p, sec, e->name, "'%s': expected bsize=<bytes>", v);
		}
		if (bsize < kbp_config_frame_max(p->c))
			return fail(p, sec, e->name, "memif bsize %" PRIu64 " is below the largest frame, "
				    "[cluster] mtu + 14 = %u: expected bsize=%u or more", bsize,
				    kbp_config_frame_max(p->c), kbp_config_frame_max(p->c));
	}
	for (uint32_t i = 0; i < h->n_devs; i++)
		if (strlen(h->dev[i].name) == name_len && !strncmp(h->dev[i].name, v, name_len))
			return fail(p, sec, e->name, "device '%.*s' listed twice", (int)name_len, v);
	snprintf(d->label, sizeof(d->label), "%s", label);
	snprintf(d->args, sizeof(d->args), "%s", v);
	snprintf(d->name, sizeof(d->name), "%.*s", (int)name_len, v);
	d->kind = kind;
	h->n_devs++;
	return 0;
}

enum host_key { HK_MAC, HK_IP, HK_PORT, HK_CLIENT_PORT, HK_LCORES, HK_FILE_PREFIX, HK_LOG_DIR,
		HK_LOG_LEVEL, HK_HUGEPAGES, HK_MEM_MB, HK_IN_MEMORY, HK_IDLE, HK_COUNT };
static const char *const host_key_names[HK_COUNT] = {
	"mac", "ip", "port", "client_port", "lcores", "file_prefix", "log_dir", "log_level",
	"hugepages", "mem_mb", "in_memory", "idle",
};

/*
 * An absolute path, stored without repeated or trailing '/' and "." components, so that
 * check_hosts can compare nodes' directories.  ".." is refused: it cannot be compared
 * without the filesystem (symbolic links).
 */
static int parse_log_dir(struct parser *p, const char *sec, const struct rte_cfgfile_entry *e,
			 char out[KBP_CONFIG_VALUE_MAX])
{
	const char *v = e->value, *s = v;
	size_t n = 0;

	if (v[0] != '/')
		return fail(p, sec, e->name, "'%s': expected an absolute path (a relative one would "
			    "depend on the directory kbpaxosd is started from)", v);
	while (*s) {
		size_t len;

		while (*s == '/')
			s++;
		len = strcspn(s, "/");
		if (len == 2 && !strncmp(s, "..", 2))
			return fail(p, sec, e->name, "'%s': expected an absolute path without '..'", v);
		if (len > 0 && !(len == 1 && s[0] == '.')) {
			out[n++] = '/';
			memcpy(out + n, s, len);
			n += len;
		}
		s += len;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return 0;
}

/* Is directory a inside directory b (both as parse_log_dir stores them)? */
static bool path_inside(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strcmp(b, "/") ? strcmp(a, "/") != 0 : !strncmp(a, b, n) && a[n] == '/';
}

static int host_value(struct parser *p, const char *sec, const struct rte_cfgfile_entry *e,
		      struct kbp_config_host *h, enum host_key k)
{
	const char *v = e->value;
	uint64_t x;

	switch (k) {
	case HK_MAC:
		if (!parse_mac(v, h->mac))
			return fail(p, sec, e->name, "'%s': expected a unicast MAC such as 02:00:00:00:00:01", v);
		return 0;
	case HK_IP:
		if (!parse_ip(v, &h->ip))
			return fail(p, sec, e->name, "'%s': expected a unicast IPv4 address such as 10.0.0.1", v);
		if (ip_not_host(h->ip))
			return fail(p, sec, e->name, "'%s': %s; expected a unicast IPv4 address such as 10.0.0.1",
				    v, ip_not_host(h->ip));
		return 0;
	case HK_PORT:
	case HK_CLIENT_PORT:
		if (!parse_u64(v, &x) || x < 1 || x > UINT16_MAX)
			return fail(p, sec, e->name, "'%s': expected a UDP port in 1..65535", v);
		*(k == HK_PORT ? &h->port : &h->client_port) = (uint16_t)x;
		return 0;
	case HK_LCORES:
		if (!parse_lcores(v))
			return fail(p, sec, e->name, "'%s': expected a core list such as 0-1,3 (cores below %d)",
				    v, RTE_MAX_LCORE);
		snprintf(h->lcores, sizeof(h->lcores), "%s", v);
		return 0;
	case HK_FILE_PREFIX:
		if (!is_word(v, 64, "-"))
			return fail(p, sec, e->name, "'%s': expected letters, digits, '_' or '-'", v);
		snprintf(h->file_prefix, sizeof(h->file_prefix), "%s", v);
		return 0;
	case HK_LOG_DIR:
		return parse_log_dir(p, sec, e, h->log_dir);
	case HK_LOG_LEVEL:
		if (!is_word(v, sizeof(h->log_level), ".:*,"))
			return fail(p, sec, e->name, "'%s': expected an EAL log level such as 'error' or 'pmd.*:debug'", v);
		snprintf(h->log_level, sizeof(h->log_level), "%s", v);
		return 0;
	case HK_HUGEPAGES:
		if (!strcmp(v, "auto"))
			h->hugepages = KBP_HUGE_AUTO;
		else if (!strcmp(v, "yes"))
			h->hugepages = KBP_HUGE_YES;
		else if (!strcmp(v, "no"))
			h->hugepages = KBP_HUGE_NO;
		else
			return fail(p, sec, e->name, "'%s': expected auto, yes or no", v);
		return 0;
	case HK_MEM_MB:
		if (!parse_u64(v, &x) || x < 64 || x > 1u << 20)
			return fail(p, sec, e->name, "'%s': expected megabytes in 64..1048576", v);
		h->mem_mb = (uint32_t)x;
		return 0;
	case HK_IN_MEMORY:
		if (!parse_bool(v, &h->in_memory))
			return fail(p, sec, e->name, "'%s': expected yes or no", v);
		return 0;
	case HK_IDLE:
		if (!strcmp(v, "busy"))
			h->idle = KBP_IDLE_BUSY;
		else if (!strcmp(v, "adaptive"))
			h->idle = KBP_IDLE_ADAPTIVE;
		else
			return fail(p, sec, e->name, "'%s': expected busy or adaptive", v);
		return 0;
	default:
		assert(0);
		return -KBP_EINVAL;
	}
}

/* self: node id, or KBP_NODE_CLIENT for [generator]. */
static int parse_host(struct parser *p, const char *sec, const struct rte_cfgfile_entry *e, int n,
		      unsigned self)
{
	struct kbp_cluster_config *c = p->c;
	bool gen = self == KBP_NODE_CLIENT;
	struct kbp_config_host *h = gen ? &c->generator : &c->node[self];
	bool seen[HK_COUNT] = { false };

	h->present = true;
	h->port = gen ? 7800 : 7700;
	h->client_port = gen ? 0 : 7701;
	h->hugepages = KBP_HUGE_AUTO;
	h->mem_mb = 512;
	h->idle = KBP_IDLE_BUSY;
	memset(h->route, KBP_CONFIG_ROUTE_NONE, sizeof(h->route));
	if (gen)
		snprintf(h->file_prefix, sizeof(h->file_prefix), "kbpaxos%u-gen", c->id);
	else
		snprintf(h->file_prefix, sizeof(h->file_prefix), "kbpaxos%u-n%u", c->id, self);

	/* Pass 1: plain keys and devices; routes name devices, so they wait for pass 2. */
	for (int i = 0; i < n; i++) {
		const char *name = e[i].name;
		int r;
		if (!strncmp(name, "vdev.", 5)) {
			r = add_dev(p, sec, &e[i], h, KBP_DEV_VDEV, name + 5);
		} else if (!strncmp(name, "pci.", 4)) {
			r = add_dev(p, sec, &e[i], h, KBP_DEV_PCI, name + 4);
		} else if (!strncmp(name, "route.", 6)) {
			r = 0;
		} else {
			int k = 0;
			while (k < HK_COUNT && strcmp(name, host_key_names[k]))
				k++;
			if (k == HK_COUNT || (gen && (k == HK_CLIENT_PORT || k == HK_LOG_DIR)))
				return fail(p, sec, name, "unknown key (see docs/CONFIG.md for [%s] keys)",
					    gen ? "generator" : "node.N");
			if (seen[k])
				return fail(p, sec, name, "duplicate key");
			seen[k] = true;
			r = host_value(p, sec, &e[i], h, (enum host_key)k);
		}
		if (r < 0)
			return r;
	}
	static const struct { enum host_key k; const char *what; } required[] = {
		{ HK_MAC, "a unicast MAC such as 02:00:00:00:00:01" },
		{ HK_IP, "an IPv4 address such as 10.0.0.1" },
		{ HK_LCORES, "a core list such as 0-1" },
		{ HK_LOG_DIR, "the directory of this node's durable log" },
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!seen[required[i].k] && !(gen && required[i].k == HK_LOG_DIR))
			return fail(p, sec, host_key_names[required[i].k], "required key missing (%s)",
				    required[i].what);
	if (h->n_devs == 0)
		return fail(p, sec, "vdev.<label>", "required key missing (at least one vdev.<label> or "
			    "pci.<label> device)");
	if (!gen && h->port == h->client_port)
		return fail(p, sec, "client_port", "%u: expected a port other than port = %u",
			    h->client_port, h->port);

	/* Pass 2: routes.  Node ids are checked against [cluster] nodes later. */
	for (int i = 0; i < n; i++) {
		if (strncmp(e[i].name, "route.", 6))
			continue;
		uint64_t id;
		if (!parse_u64(e[i].name + 6, &id) || id >= KBP_NODES_MAX)
			return fail(p, sec, e[i].name, "expected route.<node id> with an id below %d",
				    KBP_NODES_MAX);
		if (!gen && id == self)
			return fail(p, sec, e[i].name, "a node needs no route to itself");
		if (h->route[id] != KBP_CONFIG_ROUTE_NONE)
			return fail(p, sec, e[i].name, "duplicate key");
		uint32_t d = 0;
		while (d < h->n_devs && strcmp(h->dev[d].label, e[i].value))
			d++;
		if (d == h->n_devs)
			return fail(p, sec, e[i].name, "'%s': expected the label of a vdev.<label> or "
				    "pci.<label> in this section", e[i].value);
		h->route[id] = (uint8_t)d;
	}
	return 0;
}

/* Two nodes' log directories: never the same, neither inside the other. */
static int check_log_dirs(struct parser *p, const struct kbp_config_host *h, const struct kbp_config_host *o,
			  const char *sec, const char *osec)
{
	if (!strcmp(h->log_dir, o->log_dir))
		return fail(p, sec, "log_dir", "'%s' also used by [%s]: expected one per node (two nodes "
			    "must never share a log)", h->log_dir, osec);
	if (path_inside(h->log_dir, o->log_dir) || path_inside(o->log_dir, h->log_dir))
		return fail(p, sec, "log_dir", "'%s' %s [%s] log_dir '%s': expected one directory per "
			    "node, neither inside another", h->log_dir,
			    path_inside(h->log_dir, o->log_dir) ? "lies inside" : "holds", osec, o->log_dir);
	return 0;
}

/* Routes complete, addresses, file prefixes and log directories distinct, across sections. */
static int check_hosts(struct parser *p)
{
	struct kbp_cluster_config *c = p->c;
	char sec[2][32];
	const struct kbp_config_host *hs[KBP_NODES_MAX + 1];
	unsigned n_hosts = 0;

	for (unsigned i = 0; i < KBP_NODES_MAX; i++) {
		snprintf(sec[0], sizeof(sec[0]), "node.%u", i);
		if (i >= c->nodes) {
			if (c->node[i].present)
				return fail(p, sec[0], NULL, "node id %u: expected an id below [cluster] nodes = %u",
					    i, c->nodes);
			continue;
		}
		if (!c->node[i].present)
			return fail(p, sec[0], NULL, "section missing: [cluster] nodes = %u needs [node.0] to "
				    "[node.%u]", c->nodes, c->nodes - 1);
		hs[n_hosts++] = &c->node[i];
	}
	if (c->generator.present)
		hs[n_hosts++] = &c->generator;

	for (unsigned i = 0; i < n_hosts; i++) {
		struct kbp_config_host *h = (struct kbp_config_host *)hs[i];
		bool gen = h == &c->generator;
		if (gen)
			snprintf(sec[0], sizeof(sec[0]), "generator");
		else
			snprintf(sec[0], sizeof(sec[0]), "node.%u", i);
		for (unsigned t = 0; t < KBP_NODES_MAX; t++) {
			char key[16];
			snprintf(key, sizeof(key), "route.%u", t);
			if (t >= c->nodes) {
				if (h->route[t] != KBP_CONFIG_ROUTE_NONE)
					return fail(p, sec[0], key, "node %u: expected an id below [cluster] nodes = %u",
						    t, c->nodes);
				continue;
			}
			if (!gen && t == i)
				continue;
			if (h->route[t] == KBP_CONFIG_ROUTE_NONE) {
				if (h->n_devs > 1)
					return fail(p, sec[0], key, "required key missing (with several devices, "
						    "name the one that reaches node %u)", t);
				h->route[t] = 0;
			}
		}
		for (unsigned j = 0; j < i; j++) {
			const struct kbp_config_host *o = hs[j];
			if (o == &c->generator)
				snprintf(sec[1], sizeof(sec[1]), "generator");
			else
				snprintf(sec[1], sizeof(sec[1]), "node.%u", j);
			if (!memcmp(h->mac, o->mac, 6))
				return fail(p, sec[0], "mac", "same MAC as [%s]: expected one per process", sec[1]);
			if (h->ip == o->ip)
				return fail(p, sec[0], "ip", "same IP as [%s]: expected one per process", sec[1]);
			if (!strcmp(h->file_prefix, o->file_prefix))
				return fail(p, sec[0], "file_prefix", "'%s' also used by [%s]: expected one per "
					    "process", h->file_prefix, sec[1]);
			if (!gen && o != &c->generator && check_log_dirs(p, h, o, sec[0], sec[1]) < 0)
				return -KBP_EINVAL;
		}
	}
	return 0;
}

/* ---- loading --------------------------------------------------------------------- */

static int parse_sections(struct parser *p, struct rte_cfgfile *f)
{
	char names[SECTIONS_MAX][CFG_NAME_LEN];
	char *np[SECTIONS_MAX];
	static struct rte_cfgfile_entry e[ENTRIES_MAX];   /* 20 KiB: off the stack; load is single-threaded */
	int n = rte_cfgfile_num_sections(f, "", 0);
	bool have_cluster = false;

	if (n > SECTIONS_MAX)
		return fail(p, NULL, NULL, "%d sections: expected at most %d", n, SECTIONS_MAX);
	for (int i = 0; i < SECTIONS_MAX; i++)
		np[i] = names[i];
	n = rte_cfgfile_sections(f, np, SECTIONS_MAX);

	/* Names first, so a misspelt [cluster] is reported as what it is. */
	for (int i = 0; i < n; i++) {
		const char *sec = names[i];
		uint64_t id;
		if (strcmp(sec, "cluster") && strcmp(sec, "generator") &&
		    !(!strncmp(sec, "node.", 5) && parse_u64(sec + 5, &id) &&
		      (sec[5] != '0' || sec[6] == '\0') && id < KBP_NODES_MAX))
			return fail(p, sec, NULL, "unknown section: expected [cluster], [node.0] .. [node.%d] "
				    "or [generator]", KBP_NODES_MAX - 1);
		for (int j = 0; j < i; j++)
			if (!strcmp(names[j], sec))
				return fail(p, sec, NULL, "duplicate section");
	}
	/* [cluster] first: node defaults depend on its id. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			const char *sec = names[i];
			bool is_cluster = !strcmp(sec, "cluster");
			if ((pass == 0) != is_cluster)
				continue;
			char secbuf[CFG_NAME_LEN];
			int ne = rte_cfgfile_section_num_entries_by_index(f, secbuf, i);
			if (ne > ENTRIES_MAX)
				return fail(p, sec, NULL, "%d keys: expected at most %d", ne, ENTRIES_MAX);
			ne = rte_cfgfile_section_entries_by_index(f, i, secbuf, e, ENTRIES_MAX);
			if (ne < 0)
				return fail(p, sec, NULL, "cannot read entries");
			for (int a = 0; a < ne; a++)
				for (int b = 0; b < a; b++)
					if (!strcmp(e[a].name, e[b].name))
						return fail(p, sec, e[a].name, "duplicate key");
			int r;
			uint64_t id;
			if (is_cluster) {
				have_cluster = true;
				r = parse_cluster(p, sec, e, ne);
				if (r == 0)
					r = check_cluster(p);
			} else if (!strcmp(sec, "generator")) {
				r = parse_host(p, sec, e, ne, KBP_NODE_CLIENT);
			} else {
				bool ok = parse_u64(sec + 5, &id);
				assert(ok && id < KBP_NODES_MAX);
				(void)ok;
				r = parse_host(p, sec, e, ne, (unsigned)id);
			}
			if (r < 0)
				return r;
		}
		if (pass == 0 && !have_cluster)
			return fail(p, "cluster", NULL, "section missing");
	}
	return check_hosts(p);
}

int kbp_config_load(const char *path, struct kbp_cluster_config *out, char *err, size_t err_len)
{
	assert(path != NULL && out != NULL && (err != NULL || err_len == 0));
	struct parser p = { .path = path, .err = err, .err_len = err_len, .c = out };

	memset(out, 0, sizeof(*out));
	if (err_len)
		err[0] = '\0';
	if (strlen(path) >= sizeof(out->path))
		return fail(&p, NULL, NULL, "path longer than %zu characters", sizeof(out->path) - 1);
	snprintf(out->path, sizeof(out->path), "%s", path);
	int r = prescan(&p);
	if (r < 0)
		return r;
	struct rte_cfgfile_parameters params = { .comment_character = COMMENT };
	struct rte_cfgfile *f = rte_cfgfile_load_with_params(path, 0, &params);
	if (f == NULL)
		return fail(&p, NULL, NULL, "rte_cfgfile could not parse the file");
	r = parse_sections(&p, f);
	rte_cfgfile_close(f);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* ---- derived views --------------------------------------------------------------- */

uint32_t kbp_config_frame_max(const struct kbp_cluster_config *c)
{
	return c->mtu + KBP_WIRE_ETH_SIZE;
}

/* FNV-1a 64 over little-endian fields: small, stable, and easy to recompute elsewhere. */
static uint64_t digest_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static uint64_t digest_u64(uint64_t h, uint64_t v)
{
	uint8_t b[8];
	kbp_le64_store(b, v);
	return digest_bytes(h, b, sizeof(b));
}

uint64_t kbp_config_digest(const struct kbp_cluster_config *c)
{
	uint64_t h = 14695981039346656037ull;
	h = digest_bytes(h, "kbpaxos-config-v1", 17);
	h = digest_u64(h, c->id);
	h = digest_u64(h, c->nodes);
	for (unsigned i = 0; i < c->nodes; i++) {
		const struct kbp_config_host *n = &c->node[i];
		h = digest_bytes(h, n->mac, 6);
		h = digest_u64(h, n->ip);
		h = digest_u64(h, n->port);
		h = digest_u64(h, n->client_port);
	}
	h = digest_u64(h, c->leases);
	h = digest_u64(h, c->lease_ms);
	h = digest_u64(h, c->max_drift_ppm);
	h = digest_u64(h, c->batch_cmds_max);
	h = digest_u64(h, c->batch_bytes_max);
	h = digest_u64(h, c->clients_max);
	h = digest_u64(h, c->kv_keys_max);
	h = digest_u64(h, c->session_expiry_cmds);
	return h;
}

const struct kbp_config_host *kbp_config_host(const struct kbp_cluster_config *c, unsigned self)
{
	assert(self < c->nodes || self == KBP_NODE_CLIENT);
	return self == KBP_NODE_CLIENT ? &c->generator : &c->node[self];
}

void kbp_config_node_config(const struct kbp_cluster_config *c, unsigned self,
			    struct kbp_node_config *out)
{
	assert(self < c->nodes);
	const uint64_t ms = 1000000;

	memset(out, 0, sizeof(*out));
	out->self = self;
	out->nodes = c->nodes;
	out->window = c->window;
	out->batch_cmds_max = c->batch_cmds_max;
	out->batch_bytes_max = c->batch_bytes_max;
	out->log_slots = c->log_slots;
	out->queue_bytes = c->queue_bytes;
	out->clients_max = c->clients_max;
	out->session_expiry_cmds = c->session_expiry_cmds;
	out->kv_keys_max = c->kv_keys_max;
	out->msg_bytes_max = c->msg_bytes_max;
	out->apply_max = c->apply_max;
	out->heartbeat_ns = c->heartbeat_ms * ms;
	out->election_timeout_ns = c->election_timeout_ms * ms;
	out->retransmit_ns = c->retransmit_ms * ms;
	out->backoff_max_shift = c->backoff_max_shift;
	out->leases = c->leases;
	out->lease_ns = c->lease_ms * ms;
	out->max_drift_ppm = c->max_drift_ppm;
	/* Distinct per node, so duelling candidates draw different election jitter. */
	out->seed = c->seed * 0x9E3779B97F4A7C15ull + self + 1;
	out->break_flags = 0;
}

void kbp_config_wire_ctx(const struct kbp_cluster_config *c, unsigned self, struct kbp_wire_ctx *out)
{
	assert(self < c->nodes || (self == KBP_NODE_CLIENT && c->generator.present));
	memset(out, 0, sizeof(*out));
	out->cluster_id = c->id;
	out->self = (uint8_t)self;
	out->nodes = (uint8_t)c->nodes;
	out->cmds_max = c->batch_cmds_max;
	out->payload_max = c->msg_bytes_max;
	for (unsigned i = 0; i < c->nodes; i++) {
		memcpy(out->node[i].addr.mac, c->node[i].mac, 6);
		out->node[i].addr.ip = c->node[i].ip;
		out->node[i].addr.port = c->node[i].port;
		out->node[i].client_port = c->node[i].client_port;
	}
	if (c->generator.present) {
		memcpy(out->client.mac, c->generator.mac, 6);
		out->client.ip = c->generator.ip;
		out->client.port = c->generator.port;
	}
}

/* Append one argument to out; false when out is full. */
static bool push(struct kbp_eal_args *out, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool push(struct kbp_eal_args *out, size_t *used, const char *fmt, ...)
{
	va_list ap;
	if (out->argc >= KBP_EAL_ARGS_MAX)
		return false;
	va_start(ap, fmt);
	int n = vsnprintf(out->buf + *used, sizeof(out->buf) - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(out->buf) - *used)
		return false;
	out->argv[out->argc++] = out->buf + *used;
	out->argv[out->argc] = NULL;
	*used += (size_t)n + 1;
	return true;
}

int kbp_config_eal_args(const struct kbp_cluster_config *c, unsigned self, const char *prog,
			bool have_hugepages, struct kbp_eal_args *out)
{
	const struct kbp_config_host *h = kbp_config_host(c, self);
	size_t used = 0;
	bool ok = true, any_pci = false;

	assert(h->present);
	memset(out, 0, sizeof(*out));
	ok &= push(out, &used, "%s", prog);
	ok &= push(out, &used, "-l") && push(out, &used, "%s", h->lcores);
	ok &= push(out, &used, "--file-prefix") && push(out, &used, "%s", h->file_prefix);
	for (uint32_t i = 0; i < h->n_devs; i++) {
		any_pci |= h->dev[i].kind == KBP_DEV_PCI;
		ok &= push(out, &used, h->dev[i].kind == KBP_DEV_PCI ? "-a" : "--vdev");
		ok &= push(out, &used, "%s", h->dev[i].args);
	}
	/* Without an allow list EAL would probe (and grab) every PCI NIC on the box. */
	if (!any_pci)
		ok &= push(out, &used, "--no-pci");
	if (h->hugepages == KBP_HUGE_NO || (h->hugepages == KBP_HUGE_AUTO && !have_hugepages)) {
		ok &= push(out, &used, "--no-huge");
		ok &= push(out, &used, "-m") && push(out, &used, "%u", h->mem_mb);
		/* EAL refuses --in-memory without hugepages (it implies legacy memory); the part
		 * of it that still applies is not sharing config files. */
		if (h->in_memory)
			ok &= push(out, &used, "--no-shconf");
	} else if (h->in_memory) {
		ok &= push(out, &used, "--in-memory");
	}
	if (h->log_level[0])
		ok &= push(out, &used, "--log-level=%s", h->log_level);
	return ok ? 0 : -KBP_ETOOBIG;
}

bool kbp_config_hugepages_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long free_pages = 0;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %lu", &free_pages) == 1)
			break;
	fclose(f);
	return free_pages > 0;
}
