/* make_seeds.c: writes the binary seed corpora of the fuzz targets.
 *
 *   make_seeds DIR     creates DIR/envelope/, DIR/store_obs/ and DIR/packet/
 *
 * Seeds are well-formed inputs a fuzzer mutates from; without them it would
 * spend its minute rediscovering protobuf tags and checksums. They are made
 * from the code (not kept as files) so they follow vantage.proto as it grows.
 * The text targets' seeds are plain files in tests/fuzz/corpus/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cookie.h"
#include "envelope.h"
#include "packet.h"

static const char *out_dir;

static void save(const char *target, const char *name, const void *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_seeds: cannot create %s: %s\n", path, strerror(errno));
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* ---- envelope: one of every body kind ---- */

static void save_envelope(const char *name, Vantage__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    env->version = VT_PROTOCOL_VERSION;
    if (vt_envelope_pack(env, &buf, &len) != 0)
        exit(1);
    save("envelope", name, buf, len);
    free(buf);
}

static void envelopes(void)
{
    Vantage__Range r1 = VANTAGE__RANGE__INIT, r2 = VANTAGE__RANGE__INIT;
    Vantage__Range *ranges[] = {&r1, &r2};
    Vantage__PortRange p1 = VANTAGE__PORT_RANGE__INIT, p2 = VANTAGE__PORT_RANGE__INIT;
    Vantage__PortRange *ports[] = {&p1, &p2};
    r1.first = 0xc6120000; /* 198.18.0.0/24: inside fuzz_envelope's policy */
    r1.last = 0xc61200ff;
    r2.first = 0xc6120200;
    r2.last = 0xc6120201;
    p1.first = p1.last = 23;
    p2.first = 8000;
    p2.last = 8080;

    Vantage__Envelope env;

    Vantage__Policy pol = VANTAGE__POLICY__INIT;
    pol.n_scope = 2;
    pol.scope = ranges;
    pol.n_ports = 2;
    pol.ports = ports;
    pol.has_max_rate = 1;
    pol.max_rate = 10000;
    Vantage__Hello hello = VANTAGE__HELLO__INIT;
    hello.name = "isp-a-1";
    hello.software = "vantage-worker 0.1.0";
    hello.policy = &pol;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    save_envelope("hello", &env);

    Vantage__Error error = VANTAGE__ERROR__INIT;
    error.code = VANTAGE__ERROR__CODE__NOT_ALLOWED;
    error.text = "lease 7 is not yours";
    error.has_batch_seq = 1;
    error.batch_seq = 12;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_ERROR;
    env.error = &error;
    save_envelope("error", &env);

    Vantage__Welcome welcome = VANTAGE__WELCOME__INIT;
    welcome.site = "isp-a";
    welcome.acked_seq = 41;
    welcome.credits = 8;
    welcome.has_heartbeat_ms = 1;
    welcome.heartbeat_ms = 1000;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_WELCOME;
    env.welcome = &welcome;
    save_envelope("welcome", &env);

    Vantage__Heartbeat beat = VANTAGE__HEARTBEAT__INIT;
    beat.has_want_lease = 1;
    beat.want_lease = 1;
    beat.has_rate = 1;
    beat.rate = 5000;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &beat;
    save_envelope("heartbeat", &env);

    Vantage__Lease lease = VANTAGE__LEASE__INIT;
    lease.lease_id = 7;
    lease.campaign = "iot-23";
    lease.run = 1;
    lease.shard = 3;
    lease.n_targets = 2;
    lease.targets = ranges;
    lease.n_ports = 2;
    lease.ports = ports;
    lease.seed = 0x1234567890abcdefull;
    lease.first_step = 3000;
    lease.steps = 1000;
    lease.done = 250;
    lease.rate = 1000;
    lease.probes = 1;
    lease.deadline_ms = 30000;
    lease.n_blocklist = 1;
    lease.blocklist = &ranges[1];
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_LEASE;
    env.lease = &lease;
    save_envelope("lease", &env);

    Vantage__LeaseRefused refused = VANTAGE__LEASE_REFUSED__INIT;
    refused.lease_id = 7;
    refused.reason = "targets 10.0.0.0-10.0.0.255 are outside this worker's scope (--scope)";
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_LEASE_REFUSED;
    env.lease_refused = &refused;
    save_envelope("lease_refused", &env);

    Vantage__Progress progress = VANTAGE__PROGRESS__INIT;
    progress.lease_id = 7;
    progress.done = 1000;
    progress.has_finished = 1;
    progress.finished = 1;
    progress.has_batch_seq = 1;
    progress.batch_seq = 44;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_PROGRESS;
    env.progress = &progress;
    save_envelope("progress", &env);

    Vantage__Result res1 = VANTAGE__RESULT__INIT, res2 = VANTAGE__RESULT__INIT;
    Vantage__Result *results[] = {&res1, &res2};
    res1.ip = 0xc6120007;
    res1.port = 23;
    res1.open = 1;
    res1.has_ttl = 1;
    res1.ttl = 61;
    res1.ts_ms = 1700000000123ull;
    res2.ip = 0xc6120008;
    res2.port = 80;
    res2.ts_ms = 1700000000456ull;
    Vantage__ResultBatch rb = VANTAGE__RESULT_BATCH__INIT;
    rb.seq = 44;
    rb.lease_id = 7;
    rb.n_results = 2;
    rb.results = results;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_RESULTS;
    env.results = &rb;
    save_envelope("results", &env);

    Vantage__Ack ack = VANTAGE__ACK__INIT;
    ack.seq = 44;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    save_envelope("ack", &env);

    Vantage__Credit credit = VANTAGE__CREDIT__INIT;
    credit.batches = 16;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_CREDIT;
    env.credit = &credit;
    save_envelope("credit", &env);

    Vantage__RateChange rate = VANTAGE__RATE_CHANGE__INIT;
    rate.lease_id = 7;
    rate.rate = 2500;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_RATE;
    env.rate = &rate;
    save_envelope("rate", &env);

    Vantage__BlocklistAdd bl = VANTAGE__BLOCKLIST_ADD__INIT;
    bl.n_ranges = 2;
    bl.ranges = ranges;
    bl.has_generation = 1;
    bl.generation = 3;
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_BLOCKLIST;
    env.blocklist = &bl;
    save_envelope("blocklist", &env);

    Vantage__LeaseCancel cancel = VANTAGE__LEASE_CANCEL__INIT;
    cancel.lease_id = 7;
    cancel.reason = "campaign paused";
    vantage__envelope__init(&env);
    env.body_case = VANTAGE__ENVELOPE__BODY_CANCEL;
    env.cancel = &cancel;
    save_envelope("cancel", &env);

    /* A newer peer's field (number 99, varint 5) after an Ack: it must survive. */
    uint8_t *buf;
    size_t len;
    vantage__envelope__init(&env);
    env.version = VT_PROTOCOL_VERSION;
    env.body_case = VANTAGE__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    if (vt_envelope_pack(&env, &buf, &len) != 0)
        exit(1);
    uint8_t *more = malloc(len + 3);
    if (!more)
        exit(1);
    memcpy(more, buf, len);
    more[len] = 0x98; /* (99 << 3 | 0) as a two-byte varint */
    more[len + 1] = 0x06;
    more[len + 2] = 5;
    save("envelope", "unknown_field", more, len + 3);
    free(more);
    free(buf);
}

/* ---- store_obs: operands, each a length byte and a packed Observation ---- */

static size_t put_obs(uint8_t *out, const Vantage__Observation *o)
{
    size_t len = vantage__observation__get_packed_size(o);
    if (len > 255)
        exit(1);
    out[0] = (uint8_t)len;
    vantage__observation__pack(o, out + 1);
    return len + 1;
}

static void observations(void)
{
    char *sites_a[] = {"isp-a"}, *sites_b[] = {"isp-c", "isp-b"};
    Vantage__Observation a = VANTAGE__OBSERVATION__INIT, b = VANTAGE__OBSERVATION__INIT;
    a.first_seen_ms = a.last_seen_ms = 1700000000123ull;
    a.open = 1;
    a.has_ttl = 1;
    a.ttl = 61;
    a.n_sites = 1;
    a.sites = sites_a;
    a.campaign = "iot-23";
    b.first_seen_ms = 1700000000100ull;
    b.last_seen_ms = 1700000000999ull;
    b.n_sites = 2;
    b.sites = sites_b;

    uint8_t buf[1024];
    size_t n = put_obs(buf, &a);
    save("store_obs", "one", buf, n);
    n += put_obs(buf + n, &b);
    save("store_obs", "two", buf, n);
    buf[n++] = 3; /* an operand that does not decode, between good ones */
    memcpy(buf + n, "\xff\xff\xff", 3);
    n += 3;
    n += put_obs(buf + n, &a);
    save("store_obs", "garbage_between", buf, n);
}

/* ---- packet: answers to fuzz_packet's probes ---- */

/* A TCP answer from 198.18.0.7:sport to fuzz_packet's 198.19.1.2, answering its
 * probe (the cookie key is fuzz_packet's), with an optional 802.1Q tag. */
static void answer(const char *name, uint8_t flags, int vlan, uint16_t sport)
{
    static const unsigned char key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const uint32_t us = 0xc6130102u, them = 0xc6120007u;
    struct vt_cookie cookie;
    uint8_t f[128] = {0};
    size_t l2 = VT_ETH_HLEN + (vlan ? VT_VLAN_HLEN : 0);
    uint8_t *ip = f + l2, *tcp = ip + VT_IP_HLEN;

    vt_cookie_init(&cookie, key);
    struct vt_probe_id id = vt_cookie_probe(&cookie, us, them, sport);
    memset(f, 0x02, 12); /* MAC addresses */
    if (vlan) {
        vt_put16(f + VT_ETH_TYPE, VT_ETHERTYPE_VLAN);
        vt_put16(f + VT_ETH_TYPE + 2, 42);
    }
    vt_put16(f + l2 - 2, VT_ETHERTYPE_IPV4);
    ip[VT_IP_VHL] = 0x45;
    vt_put16(ip + VT_IP_TOTLEN, VT_IP_HLEN + VT_TCP_HLEN + 4);
    vt_put16(ip + VT_IP_FRAG, VT_IP_DF);
    ip[VT_IP_TTL] = 61;
    ip[VT_IP_PROTO] = VT_IPPROTO_TCP;
    vt_put32(ip + VT_IP_SADDR, them);
    vt_put32(ip + VT_IP_DADDR, us);
    vt_put16(ip + VT_IP_CSUM, vt_ipv4_checksum(ip, VT_IP_HLEN));
    vt_put16(tcp + VT_TCP_SPORT, sport);
    vt_put16(tcp + VT_TCP_DPORT, id.sport);
    vt_put32(tcp + VT_TCP_SEQ, 0x01020304u);
    vt_put32(tcp + VT_TCP_ACK, id.seq + 1);
    tcp[VT_TCP_OFF] = (VT_TCP_HLEN + 4) / 4 << 4;
    tcp[VT_TCP_FLAGS] = flags;
    vt_put16(tcp + VT_TCP_WIN, 29200);
    tcp[VT_TCP_HLEN] = VT_TCPOPT_MSS;
    tcp[VT_TCP_HLEN + 1] = 4;
    vt_put16(tcp + VT_TCP_HLEN + 2, 1460);
    vt_put16(tcp + VT_TCP_CSUM, vt_tcp_checksum(them, us, tcp, VT_TCP_HLEN + 4));
    save("packet", name, f, l2 + VT_IP_HLEN + VT_TCP_HLEN + 4);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_seeds: cannot create %s: %s\n", out_dir, strerror(errno));
        return 1;
    }
    envelopes();
    observations();
    answer("synack", VT_TCP_SYN | VT_TCP_ACKF, 0, 23);
    answer("rst", VT_TCP_RST | VT_TCP_ACKF, 0, 80);
    answer("synack_vlan", VT_TCP_SYN | VT_TCP_ACKF, 1, 8080);
    return 0;
}
