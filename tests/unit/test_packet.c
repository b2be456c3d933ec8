/*
 * test_packet.c — worker/packet.c (checksums, the frame parser) and the tcp_syn probe
 * module built on it (worker/probe_tcp_syn.c, probe_modules.c).
 *
 * What a user would notice: probes a target's stack drops (bad checksums), answers
 * missed (a valid SYN-ACK or RST not recognised), answers invented (a stray or forged
 * packet counted), or the scanner crashing on a hostile frame. Checksums are checked
 * against a deliberately naive reference written here, not against packet.c.
 *
 * Every frame handed to the parser is first copied into a heap block of exactly its
 * length, so an out-of-bounds read shows under valgrind / ASan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pcap/pcap.h>

#include "cookie.h"
#include "packet.h"
#include "probe.h"

#define US   0xc6130102u /* 198.19.1.2, the scanner */
#define THEM 0xc6120007u /* 198.18.0.7, a target */

static const unsigned char key[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
                                      0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static struct vt_cookie cookie;
static struct vt_frame_ctx ctx;
static const struct vt_probe_module *syn;

static uint64_t rng_state;

static uint64_t rng(void) /* xorshift64*: fixed sequence on every libc */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static int setup(void **state)
{
    static const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    static const uint8_t gw_mac[6] = {0x02, 0, 0, 0, 0, 0xfe};

    vt_cookie_init(&cookie, key);
    memcpy(ctx.src_mac, src_mac, 6);
    memcpy(ctx.gw_mac, gw_mac, 6);
    ctx.saddr = US;
    ctx.cookie = &cookie;
    syn = vt_probe_find("tcp_syn");
    rng_state = 0x0123456789abcdefull;
    return syn == NULL;
}

/* ---- the reference: RFC 1071 as plainly as it can be written ---- */

static uint16_t ref_sum(const uint8_t *b, size_t len)
{
    uint64_t s = 0;

    for (size_t i = 0; i < len; i++)
        s += (i % 2 == 0) ? (uint64_t)b[i] << 8 : b[i];
    while (s > 0xffff)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Checksum of an IP header as it should be stored (field taken as zero). */
static uint16_t ref_ip_csum(const uint8_t *ip, size_t hlen)
{
    uint8_t tmp[60];

    memcpy(tmp, ip, hlen);
    tmp[10] = tmp[11] = 0;
    return ref_sum(tmp, hlen);
}

static uint16_t ref_tcp_csum(uint32_t saddr, uint32_t daddr, const uint8_t *tcp, size_t len)
{
    static uint8_t tmp[12 + 65536];

    tmp[0] = saddr >> 24, tmp[1] = saddr >> 16, tmp[2] = saddr >> 8, tmp[3] = saddr;
    tmp[4] = daddr >> 24, tmp[5] = daddr >> 16, tmp[6] = daddr >> 8, tmp[7] = daddr;
    tmp[8] = 0, tmp[9] = 6, tmp[10] = len >> 8, tmp[11] = len;
    memcpy(tmp + 12, tcp, len);
    tmp[12 + 16] = tmp[12 + 17] = 0;
    return ref_sum(tmp, 12 + len);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- a builder for answer frames, every field overridable ---- */

struct spec {
    int vlan;           /* insert one 802.1Q tag */
    uint16_t ethertype; /* after the tag, if any */
    uint8_t version;    /* IP version nibble */
    size_t ip_hdr;      /* IP header bytes actually written (20..60) */
    int ihl;            /* IHL nibble; -1 = ip_hdr / 4 */
    int totlen_adj;     /* added to the true total length */
    uint16_t frag;      /* flags + offset */
    uint8_t ttl, proto;
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    size_t tcp_hdr; /* TCP header bytes actually written */
    int doff;       /* data offset nibble; -1 = tcp_hdr / 4 */
    size_t payload; /* TCP payload bytes */
    size_t trailer; /* bytes after the IP packet (Ethernet padding) */
    int bad_ip_csum, bad_tcp_csum;
};

/* The answer a target gives to our probe of THEM:port — open (SYN-ACK) by default. */
static struct spec answer(uint16_t port, uint8_t flags)
{
    struct vt_probe_id id = vt_cookie_probe(&cookie, US, THEM, port);
    struct spec s = {
        .ethertype = VT_ETHERTYPE_IPV4,
        .version = 4,
        .ip_hdr = 20,
        .ihl = -1,
        .frag = VT_IP_DF,
        .ttl = 57,
        .proto = VT_IPPROTO_TCP,
        .saddr = THEM,
        .daddr = US,
        .sport = port,
        .dport = id.sport,
        .seq = 0x11223344,
        .ack = id.seq + 1,
        .flags = flags,
        .tcp_hdr = 24, /* MSS option, as real SYN-ACKs */
        .doff = -1,
    };
    return s;
}

static size_t build(uint8_t *f, const struct spec *s)
{
    size_t o = 0, ip, tcp, iplen = s->ip_hdr + s->tcp_hdr + s->payload;

    memset(f, 0, 14);
    memcpy(f, ctx.src_mac, 6);    /* to us */
    memcpy(f + 6, ctx.gw_mac, 6); /* from the gateway */
    o = 12;
    if (s->vlan) {
        f[o++] = 0x81, f[o++] = 0x00, f[o++] = 0x00, f[o++] = 0x2a;
    }
    f[o++] = s->ethertype >> 8, f[o++] = (uint8_t)s->ethertype;
    ip = o;
    memset(f + ip, 0, s->ip_hdr);
    f[ip] = (uint8_t)(s->version << 4 | (s->ihl < 0 ? s->ip_hdr / 4 : (size_t)s->ihl));
    f[ip + 2] = (uint8_t)((iplen + s->totlen_adj) >> 8),
           f[ip + 3] = (uint8_t)(iplen + s->totlen_adj);
    f[ip + 4] = 0xbe, f[ip + 5] = 0xef;
    f[ip + 6] = s->frag >> 8, f[ip + 7] = (uint8_t)s->frag;
    f[ip + 8] = s->ttl, f[ip + 9] = s->proto;
    for (int i = 0; i < 4; i++) {
        f[ip + 12 + i] = (uint8_t)(s->saddr >> (24 - 8 * i));
        f[ip + 16 + i] = (uint8_t)(s->daddr >> (24 - 8 * i));
    }
    for (size_t i = 20; i < s->ip_hdr; i++)
        f[ip + i] = VT_TCPOPT_NOP; /* IP option "NOP" is 1 too */
    tcp = ip + s->ip_hdr;
    memset(f + tcp, 0, s->tcp_hdr);
    f[tcp] = s->sport >> 8, f[tcp + 1] = (uint8_t)s->sport;
    f[tcp + 2] = s->dport >> 8, f[tcp + 3] = (uint8_t)s->dport;
    for (int i = 0; i < 4; i++) {
        f[tcp + 4 + i] = (uint8_t)(s->seq >> (24 - 8 * i));
        f[tcp + 8 + i] = (uint8_t)(s->ack >> (24 - 8 * i));
    }
    f[tcp + 12] = (uint8_t)((s->doff < 0 ? s->tcp_hdr / 4 : (size_t)s->doff) << 4);
    f[tcp + 13] = s->flags;
    f[tcp + 14] = 0x72, f[tcp + 15] = 0x10;
    if (s->tcp_hdr >= 24)
        f[tcp + 20] = 2, f[tcp + 21] = 4, f[tcp + 22] = 0x05, f[tcp + 23] = 0xb4;
    for (size_t i = 0; i < s->payload; i++)
        f[tcp + s->tcp_hdr + i] = (uint8_t)('a' + i % 26);
    memset(f + tcp + s->tcp_hdr + s->payload, 0, s->trailer);

    uint16_t c = ref_ip_csum(f + ip, s->ip_hdr) ^ (s->bad_ip_csum ? 0x0101 : 0);
    f[ip + 10] = c >> 8, f[ip + 11] = (uint8_t)c;
    if (s->tcp_hdr >= 20) {
        size_t l4 = s->tcp_hdr + s->payload;
        c = ref_tcp_csum(s->saddr, s->daddr, f + tcp, l4) ^ (s->bad_tcp_csum ? 0x0101 : 0);
        f[tcp + 16] = c >> 8, f[tcp + 17] = (uint8_t)c;
    }
    return tcp + s->tcp_hdr + s->payload + s->trailer;
}

/* Parse / classify a copy of exactly len bytes, so any overread is caught. */
static int parse_exact(const uint8_t *f, size_t len, struct vt_parsed *p)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, f, len);
    rc = vt_packet_parse(len ? copy : NULL, len, p);
    free(copy);
    return rc;
}

static int classify_exact(const uint8_t *f, size_t len, struct vt_answer *a)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, f, len);
    rc = syn->classify(len ? copy : NULL, len, &ctx, a);
    free(copy);
    return rc;
}

/* ---- checksums ---- */

static void test_checksum_helpers_match_reference(void **state)
{
    uint8_t buf[1501];

    for (int n = 0; n < 2000; n++) {
        size_t len = 20 + rng() % 1400;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rng();
        len &= ~(size_t)1;
        uint32_t sa = (uint32_t)rng(), da = (uint32_t)rng();

        assert_int_equal(vt_ipv4_checksum(buf, 20), ref_ip_csum(buf, 20));
        assert_int_equal(vt_tcp_checksum(sa, da, buf, len), ref_tcp_csum(sa, da, buf, len));

        uint16_t c = ref_tcp_csum(sa, da, buf, len);
        buf[16] = c >> 8, buf[17] = (uint8_t)c;
        assert_true(vt_tcp_checksum_ok(sa, da, buf, len));
        buf[17] ^= 1;
        assert_false(vt_tcp_checksum_ok(sa, da, buf, len));

        c = ref_ip_csum(buf, 20);
        buf[10] = c >> 8, buf[11] = (uint8_t)c;
        assert_true(vt_ipv4_checksum_ok(buf, 20));
        buf[0] ^= 0x40;
        assert_false(vt_ipv4_checksum_ok(buf, 20));
    }

    /* Odd lengths pad with a zero byte. */
    const uint8_t odd[3] = {0x12, 0x34, 0x56};
    assert_int_equal(vt_csum_finish(vt_csum_add(0, odd, 3)), (uint16_t) ~(0x1234 + 0x5600));
}

/* RFC 1624 updates equal a full recomputation, for any old and new word. */
static void test_incremental_update_matches_full(void **state)
{
    uint8_t h[20];

    for (int n = 0; n < 100000; n++) {
        for (int i = 0; i < 20; i++)
            h[i] = (uint8_t)rng();
        h[0] = 0x45; /* never an all-zero header */
        if (n % 7 == 0)
            memset(h + 4, n % 2 ? 0xff : 0, 16); /* corner cases of 0x0000/0xffff */
        uint16_t c = ref_ip_csum(h, 20);

        size_t w = 4 + 2 * (rng() % 3); /* id, frag or ttl/proto word */
        uint16_t old16 = be16(h + w), new16 = (uint16_t)rng();
        h[w] = new16 >> 8, h[w + 1] = (uint8_t)new16;
        assert_int_equal(vt_csum_update16(c, old16, new16), ref_ip_csum(h, 20));

        c = ref_ip_csum(h, 20);
        uint32_t old32 = be32(h + 16), new32 = n % 5 ? (uint32_t)rng() : 0;
        for (int i = 0; i < 4; i++)
            h[16 + i] = (uint8_t)(new32 >> (24 - 8 * i));
        assert_int_equal(vt_csum_update32(c, old32, new32), ref_ip_csum(h, 20));
    }
}

/* ---- the tcp_syn module: templates and probes ---- */

static void test_module_table(void **state)
{
    const struct vt_probe_module *const *all = vt_probe_list();

    assert_ptr_equal(vt_probe_find("tcp_syn"), &vt_probe_tcp_syn);
    assert_null(vt_probe_find("udp_nope"));
    assert_null(vt_probe_find(NULL));
    assert_ptr_equal(all[0], &vt_probe_tcp_syn);
    for (size_t i = 0; all[i] != NULL; i++) {
        assert_non_null(all[i]->name);
        assert_non_null(all[i]->bpf_filter);
        assert_non_null(all[i]->make_template);
        assert_non_null(all[i]->fill);
        assert_non_null(all[i]->classify);
        assert_true(all[i]->frame_len >= 14 + 20 && all[i]->frame_len <= 1514);
    }
}

/* Checks a probe frame field by field, with the reference checksums. */
static void check_probe(const uint8_t *f, uint32_t daddr, uint16_t dport, uint16_t ip_id)
{
    struct vt_probe_id id = vt_cookie_probe(&cookie, US, daddr, dport);
    const uint8_t *ip = f + 14, *tcp = f + 34;
    struct vt_parsed p;

    assert_memory_equal(f, ctx.gw_mac, 6);
    assert_memory_equal(f + 6, ctx.src_mac, 6);
    assert_int_equal(be16(f + 12), 0x0800);
    assert_int_equal(be16(ip + 10), ref_ip_csum(ip, 20));
    assert_int_equal(be16(tcp + 16), ref_tcp_csum(US, daddr, tcp, syn->frame_len - 34));

    assert_int_equal(parse_exact(f, syn->frame_len, &p), VT_PARSE_OK);
    assert_int_equal(p.saddr, US);
    assert_int_equal(p.daddr, daddr);
    assert_int_equal(p.ip_id, ip_id);
    assert_int_equal(p.proto, VT_IPPROTO_TCP);
    assert_int_equal(p.sport, id.sport);
    assert_int_equal(p.dport, dport);
    assert_int_equal(p.seq, id.seq);
    assert_int_equal(p.ack, 0);
    assert_int_equal(p.flags, VT_TCP_SYN);
    assert_true(p.ttl >= 64);
    assert_true(p.window >= 1024);
    assert_int_equal(p.l3_off, 14);
    assert_int_equal(p.l4_off, 34);
    assert_int_equal(p.payload_len, 0);
    assert_int_equal(be16(ip + 2), syn->frame_len - 14);
    /* the MSS option, first in the options */
    assert_true(p.payload_off - p.l4_off >= 24);
    assert_int_equal(tcp[20], VT_TCPOPT_MSS);
    assert_int_equal(tcp[21], 4);
    assert_int_equal(be16(tcp + 22), 1460);
}

static void test_template_is_a_valid_frame(void **state)
{
    uint8_t f[1514];
    struct vt_parsed p;

    assert_string_equal(syn->name, "tcp_syn");
    assert_int_equal(syn->frame_len, 58);
    syn->make_template(f, &ctx);
    assert_int_equal(be16(f + 14 + 10), ref_ip_csum(f + 14, 20));
    assert_int_equal(be16(f + 34 + 16), ref_tcp_csum(US, 0, f + 34, 24));
    assert_int_equal(parse_exact(f, syn->frame_len, &p), VT_PARSE_OK);
}

static void test_syn_parses_back(void **state)
{
    uint8_t f[1514];

    syn->make_template(f, &ctx);
    syn->fill(f, &ctx, THEM, 80, 0x1234);
    check_probe(f, THEM, 80, 0x1234);
}

/* 10^5 random probes: filled into a fresh template and into a reused slot (a frame
 * still holding the previous probe), both equal the full recomputation. */
static void test_incremental_fill_equals_full(void **state)
{
    static const uint32_t edge_addr[] = {0, 1, 0xffffffffu, 0xffff0000u, 0x0000ffffu, US, THEM};
    static const uint16_t edge16[] = {0, 1, 0xffff, 0xff00, 0x00ff};
    uint8_t tmpl[1514], fresh[1514], reused[1514];

    syn->make_template(tmpl, &ctx);
    memcpy(reused, tmpl, syn->frame_len);
    for (int n = 0; n < 100000; n++) {
        uint32_t d = (uint32_t)rng();
        uint16_t port = (uint16_t)rng(), ipid = (uint16_t)rng();
        if (n < 7 * 5 * 5) { /* every combination of edge values first */
            d = edge_addr[n % 7];
            port = edge16[n / 7 % 5];
            ipid = edge16[n / 35 % 5];
        }
        memcpy(fresh, tmpl, syn->frame_len);
        syn->fill(fresh, &ctx, d, port, ipid);
        syn->fill(reused, &ctx, d, port, ipid);
        assert_memory_equal(fresh, reused, syn->frame_len);
        if (n < 1000) {
            check_probe(fresh, d, port, ipid);
        } else {
            assert_int_equal(be16(fresh + 24), ref_ip_csum(fresh + 14, 20));
            assert_int_equal(be16(fresh + 50), ref_tcp_csum(US, d, fresh + 34, 24));
        }
    }
}

/* ---- classify: answers accepted ---- */

static void test_classify_open_and_closed(void **state)
{
    uint8_t f[2048];
    struct vt_answer a;
    struct spec s;
    size_t len;

    s = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    len = build(f, &s);
    memset(&a, 0, sizeof a);
    assert_int_equal(classify_exact(f, len, &a), 1);
    assert_int_equal(a.addr, THEM);
    assert_int_equal(a.port, 80);
    assert_int_equal(a.state, VT_STATE_OPEN);
    assert_int_equal(a.ttl, 57);

    s = answer(23, VT_TCP_RST | VT_TCP_ACKF);
    s.tcp_hdr = 20;
    s.ttl = 250;
    len = build(f, &s);
    memset(&a, 0, sizeof a);
    assert_int_equal(classify_exact(f, len, &a), 1);
    assert_int_equal(a.addr, THEM);
    assert_int_equal(a.port, 23);
    assert_int_equal(a.state, VT_STATE_CLOSED);
    assert_int_equal(a.ttl, 250);
}

static void test_classify_accepts_variants(void **state)
{
    uint8_t f[2048];
    struct vt_answer a;
    struct spec s;

    /* Tagged with 802.1Q. */
    s = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    s.vlan = 1;
    assert_int_equal(classify_exact(f, build(f, &s), &a), 1);
    assert_int_equal(a.state, VT_STATE_OPEN);
    /* ECN-setup SYN-ACK. */
    s = answer(80, VT_TCP_SYN | VT_TCP_ACKF | VT_TCP_ECE);
    assert_int_equal(classify_exact(f, build(f, &s), &a), 1);
    /* IP options, a full set of TCP options, payload, Ethernet padding. */
    s = answer(8080, VT_TCP_SYN | VT_TCP_ACKF);
    s.ip_hdr = 24;
    s.tcp_hdr = 40;
    s.payload = 5;
    s.trailer = 30;
    assert_int_equal(classify_exact(f, build(f, &s), &a), 1);
    assert_int_equal(a.port, 8080);
    /* Minimal 60-byte padded RST as it arrives on Ethernet. */
    s = answer(23, VT_TCP_RST | VT_TCP_ACKF);
    s.tcp_hdr = 20;
    s.trailer = 6;
    s.frag = 0;
    assert_int_equal(classify_exact(f, build(f, &s), &a), 1);
    assert_int_equal(a.state, VT_STATE_CLOSED);
    /* A wrong TCP checksum is not a reason to drop: with checksum offload, frames
     * captured on a host or veth may carry partial sums. The cookie decides. */
    s = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    s.bad_tcp_csum = 1;
    assert_int_equal(classify_exact(f, build(f, &s), &a), 1);
    /* Any of our probes' answers: a large trailing garbage after a valid packet. */
    s = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    s.trailer = 1400;
    assert_int_equal(classify_exact(f, build(f, &s), &a), 1);
}

/* ---- classify and parse: everything else rejected, with the right reason ---- */

struct reject_case {
    const char *what;
    void (*mutate)(struct spec *s);
    int parse_rc; /* expected from the parser; 0 = parses but is not ours */
};

#define MUT(name, body)                                                                            \
    static void mut_##name(struct spec *s)                                                         \
    {                                                                                              \
        body;                                                                                      \
    }
MUT(ack_plus2, s->ack += 1)
MUT(ack_equal_seq, s->ack -= 1)
MUT(ack_zero, s->ack = 0)
MUT(wrong_our_port, s->dport = (uint16_t)(s->dport + 1))
MUT(wrong_their_addr, s->saddr += 1)
MUT(wrong_their_port, s->sport = 81)
MUT(not_to_us, s->daddr += 1)
MUT(syn_only, s->flags = VT_TCP_SYN)
MUT(ack_only, s->flags = VT_TCP_ACKF)
MUT(rst_no_ack, s->flags = VT_TCP_RST)
MUT(syn_rst_ack, s->flags = VT_TCP_SYN | VT_TCP_RST | VT_TCP_ACKF)
MUT(fin_ack, s->flags = VT_TCP_FIN | VT_TCP_ACKF)
MUT(no_flags, s->flags = 0)
MUT(udp, s->proto = VT_IPPROTO_UDP)
MUT(icmp, s->proto = VT_IPPROTO_ICMP)
MUT(ipv6_ethertype, s->ethertype = VT_ETHERTYPE_IPV6)
MUT(arp_ethertype, s->ethertype = 0x0806)
MUT(double_vlan, (s->vlan = 1, s->ethertype = VT_ETHERTYPE_VLAN))
MUT(version6, s->version = 6)
MUT(ihl_4, s->ihl = 4)
MUT(ihl_0, s->ihl = 0)
MUT(ihl_beyond_caplen, s->ihl = 15)
MUT(totlen_over_caplen, s->totlen_adj = 1)
MUT(totlen_under_ihl, s->totlen_adj = -(int)(s->tcp_hdr + s->payload + 1))
MUT(more_fragments, s->frag = VT_IP_MF)
MUT(fragment_offset, s->frag = 1)
MUT(last_fragment, s->frag = VT_IP_DF | 0x00b9)
MUT(bad_ip_csum, s->bad_ip_csum = 1)
MUT(tcp_short, (s->tcp_hdr = 12, s->doff = 5))
MUT(doff_4, s->doff = 4)
MUT(doff_0, s->doff = 0)
MUT(doff_beyond_packet, s->doff = 15)
MUT(doff_beyond_totlen, (s->doff = 7, s->trailer = 8)) /* bytes there, but not in IP */
#undef MUT

static const struct reject_case rejects[] = {
    {"wrong ack (seq+2)", mut_ack_plus2, 0},
    {"wrong ack (seq)", mut_ack_equal_seq, 0},
    {"wrong ack (0)", mut_ack_zero, 0},
    {"wrong sport (our port)", mut_wrong_our_port, 0},
    {"wrong source address", mut_wrong_their_addr, 0},
    {"wrong source port", mut_wrong_their_port, 0},
    {"not addressed to us", mut_not_to_us, 0},
    {"SYN only", mut_syn_only, 0},
    {"ACK only", mut_ack_only, 0},
    {"RST without ACK", mut_rst_no_ack, 0},
    {"SYN+RST+ACK", mut_syn_rst_ack, 0},
    {"FIN+ACK", mut_fin_ack, 0},
    {"no flags", mut_no_flags, 0},
    {"UDP", mut_udp, VT_PARSE_NOT_TCP},
    {"ICMP", mut_icmp, VT_PARSE_NOT_TCP},
    {"IPv6 ethertype", mut_ipv6_ethertype, VT_PARSE_NOT_IPV4},
    {"ARP ethertype", mut_arp_ethertype, VT_PARSE_NOT_IPV4},
    {"two VLAN tags", mut_double_vlan, VT_PARSE_NOT_IPV4},
    {"IP version 6", mut_version6, VT_PARSE_IP_VERSION},
    {"IHL 4", mut_ihl_4, VT_PARSE_IP_HLEN},
    {"IHL 0", mut_ihl_0, VT_PARSE_IP_HLEN},
    {"IHL beyond caplen", mut_ihl_beyond_caplen, VT_PARSE_IP_HLEN},
    {"total length > caplen", mut_totlen_over_caplen, VT_PARSE_IP_TOTLEN},
    {"total length < IHL", mut_totlen_under_ihl, VT_PARSE_IP_TOTLEN},
    {"MF", mut_more_fragments, VT_PARSE_IP_FRAGMENT},
    {"fragment offset 1", mut_fragment_offset, VT_PARSE_IP_FRAGMENT},
    {"last fragment", mut_last_fragment, VT_PARSE_IP_FRAGMENT},
    {"bad IP checksum", mut_bad_ip_csum, VT_PARSE_IP_CHECKSUM},
    {"TCP header < 20 bytes", mut_tcp_short, VT_PARSE_TCP_SHORT},
    {"TCP data offset 4", mut_doff_4, VT_PARSE_TCP_DOFF},
    {"TCP data offset 0", mut_doff_0, VT_PARSE_TCP_DOFF},
    {"TCP data offset beyond packet", mut_doff_beyond_packet, VT_PARSE_TCP_DOFF},
    {"TCP data offset beyond IP length", mut_doff_beyond_totlen, VT_PARSE_TCP_DOFF},
};

static void test_classify_rejects(void **state)
{
    static const uint8_t kinds[] = {VT_TCP_SYN | VT_TCP_ACKF, VT_TCP_RST | VT_TCP_ACKF};
    uint8_t f[2048];
    struct vt_answer a;
    struct vt_parsed p;

    for (size_t k = 0; k < sizeof kinds; k++) {
        for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++) {
            struct spec s = answer(443, kinds[k]);
            rejects[i].mutate(&s);
            size_t len = build(f, &s);
            int rc = parse_exact(f, len, &p);
            if (rc != rejects[i].parse_rc || classify_exact(f, len, &a) != 0)
                fail_msg("%s (%s): parse %d (%s), want %d; classify accepted?", rejects[i].what,
                         k ? "RST" : "SYN-ACK", rc, vt_parse_strerror(rc), rejects[i].parse_rc);
        }
    }
}

/* Every truncation of valid answers fails cleanly (and reads nothing past the end). */
static void test_truncated_at_every_length(void **state)
{
    uint8_t f[2048];
    struct vt_answer a;
    struct vt_parsed p;
    struct spec specs[3];

    specs[0] = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    specs[1] = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    specs[1].vlan = 1, specs[1].ip_hdr = 60, specs[1].tcp_hdr = 60, specs[1].payload = 3;
    specs[2] = answer(23, VT_TCP_RST | VT_TCP_ACKF);
    specs[2].tcp_hdr = 20;
    for (int k = 0; k < 3; k++) {
        size_t full = build(f, &specs[k]);
        assert_int_equal(classify_exact(f, full, &a), 1);
        for (size_t len = 0; len < full; len++) {
            assert_true(parse_exact(f, len, &p) < 0);
            assert_int_equal(classify_exact(f, len, &a), 0);
        }
    }
}

static void test_random_frames_do_not_crash(void **state)
{
    uint8_t f[2048], good[2048];
    struct vt_answer a;
    struct vt_parsed p;
    struct spec s = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    size_t good_len = build(good, &s);
    int accepted = 0;

    rng_state = 0xfeedfacecafebeefull;
    for (int n = 0; n < 100000; n++) {
        size_t len = rng() % 200;
        for (size_t i = 0; i < len; i++)
            f[i] = (uint8_t)rng();
        if (n % 2) { /* half: plausible headers, so the deeper checks get exercised */
            size_t keep = len < good_len ? len : good_len;
            memcpy(f, good, keep);
            for (int flips = 1 + (int)(rng() % 4); flips > 0 && keep > 0; flips--)
                f[rng() % keep] = (uint8_t)rng();
        }
        int rc = parse_exact(f, len, &p);
        assert_true(rc <= 0 && rc >= VT_PARSE_TCP_DOFF);
        if (rc == 0)
            assert_true(p.payload_off + p.payload_len <= len);
        accepted += classify_exact(f, len, &a);
    }
    /* Flipping bytes of a valid answer mostly keeps it valid or breaks it in a checked
     * way; what matters is that the flipped frames that still pass are exactly ours. */
    assert_true(accepted < 100000);
}

static void test_oversized_garbage(void **state)
{
    enum { BIG = 65536 + 100 };
    uint8_t *f = malloc(BIG);
    struct vt_answer a;
    struct vt_parsed p;

    assert_non_null(f);
    for (size_t i = 0; i < BIG; i++)
        f[i] = (uint8_t)rng();
    assert_true(vt_packet_parse(f, BIG, &p) < 0 || p.payload_off + p.payload_len <= BIG);
    assert_int_equal(syn->classify(f, BIG, &ctx, &a), 0);
    memset(f, 0xff, BIG);
    assert_true(vt_packet_parse(f, BIG, &p) < 0);
    assert_int_equal(syn->classify(f, BIG, &ctx, &a), 0);
    /* An IPv4 header claiming the maximum lengths over a huge capture. */
    struct spec s = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    s.ip_hdr = 60, s.tcp_hdr = 60, s.payload = 65535 - 120;
    uint8_t *g = malloc(14 + 65535);
    assert_non_null(g);
    size_t len = build(g, &s);
    assert_int_equal(len, 14 + 65535);
    assert_int_equal(vt_packet_parse(g, len, &p), VT_PARSE_OK);
    assert_int_equal(p.payload_len, 65535 - 120);
    assert_int_equal(syn->classify(g, len, &ctx, &a), 1);
    free(g);
    free(f);
}

/* ---- the capture filter ---- */

static void test_bpf_filter(void **state)
{
    char expr[256];
    pcap_t *pc = pcap_open_dead(DLT_EN10MB, 65535);
    struct bpf_program prog;
    struct pcap_pkthdr h = {0};
    uint8_t f[2048];
    struct spec s;

    assert_non_null(pc);
    assert_int_equal(vt_probe_bpf_filter(syn, US, expr, 10), -1);
    assert_true(vt_probe_bpf_filter(syn, US, expr, sizeof expr) > 0);
    assert_non_null(strstr(expr, "dst host 198.19.1.2"));
    if (pcap_compile(pc, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
        fail_msg("filter \"%s\" does not compile: %s", expr, pcap_geterr(pc));

    s = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    h.caplen = h.len = (bpf_u_int32)build(f, &s);
    assert_true(pcap_offline_filter(&prog, &h, f));
    s = answer(80, VT_TCP_RST | VT_TCP_ACKF);
    h.caplen = h.len = (bpf_u_int32)build(f, &s);
    assert_true(pcap_offline_filter(&prog, &h, f));
    s = answer(80, VT_TCP_SYN | VT_TCP_ACKF | VT_TCP_ECE);
    h.caplen = h.len = (bpf_u_int32)build(f, &s);
    assert_true(pcap_offline_filter(&prog, &h, f));
    s = answer(80, VT_TCP_SYN); /* someone's SYN to us */
    h.caplen = h.len = (bpf_u_int32)build(f, &s);
    assert_false(pcap_offline_filter(&prog, &h, f));
    s = answer(80, VT_TCP_ACKF | VT_TCP_PSH);
    h.caplen = h.len = (bpf_u_int32)build(f, &s);
    assert_false(pcap_offline_filter(&prog, &h, f));
    s = answer(80, VT_TCP_SYN | VT_TCP_ACKF);
    s.daddr = US + 1; /* not to us */
    h.caplen = h.len = (bpf_u_int32)build(f, &s);
    assert_false(pcap_offline_filter(&prog, &h, f));
    /* our own probe, seen outbound on the capture interface */
    syn->make_template(f, &ctx);
    syn->fill(f, &ctx, THEM, 80, 1);
    h.caplen = h.len = (bpf_u_int32)syn->frame_len;
    assert_false(pcap_offline_filter(&prog, &h, f));

    pcap_freecode(&prog);
    pcap_close(pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_helpers_match_reference),
        cmocka_unit_test(test_incremental_update_matches_full),
        cmocka_unit_test(test_module_table),
        cmocka_unit_test(test_template_is_a_valid_frame),
        cmocka_unit_test(test_syn_parses_back),
        cmocka_unit_test(test_incremental_fill_equals_full),
        cmocka_unit_test(test_classify_open_and_closed),
        cmocka_unit_test(test_classify_accepts_variants),
        cmocka_unit_test(test_classify_rejects),
        cmocka_unit_test(test_truncated_at_every_length),
        cmocka_unit_test(test_random_frames_do_not_crash),
        cmocka_unit_test(test_oversized_garbage),
        cmocka_unit_test(test_bpf_filter),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
