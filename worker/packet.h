/*
 * packet.h — Ethernet, IPv4 and TCP on the wire: field offsets, big-endian
 * accessors, Internet checksums (full and RFC 1624 incremental) and a bounds-checked
 * parser for captured frames.
 *
 * Frames are plain byte arrays addressed through offsets rather than cast to header
 * structs: an IPv4 header sits 14 bytes into a frame, so its 32-bit fields are
 * misaligned, and byte access is both portable and as fast once compiled.
 *
 * Checksum arithmetic here works on 16-bit words read big-endian into host integers,
 * and returns checksums as host integers to be stored with vt_put16.
 */
#ifndef VANTAGE_WORKER_PACKET_H
#define VANTAGE_WORKER_PACKET_H

#include <stddef.h>
#include <stdint.h>

/* Ethernet (DLT_EN10MB) */
#define VT_ETH_ALEN       6
#define VT_ETH_HLEN       14 /* dst, src, ethertype */
#define VT_ETH_DST        0
#define VT_ETH_SRC        6
#define VT_ETH_TYPE       12
#define VT_VLAN_HLEN      4 /* one 802.1Q tag: TPID (the ethertype slot) + TCI */
#define VT_ETHERTYPE_IPV4 0x0800
#define VT_ETHERTYPE_IPV6 0x86dd
#define VT_ETHERTYPE_VLAN 0x8100
#define VT_ETHERTYPE_QINQ 0x88a8

/* IPv4, offsets from the start of the IP header */
#define VT_IP_HLEN      20 /* without options */
#define VT_IP_VHL       0  /* version << 4 | IHL (in 32-bit words) */
#define VT_IP_TOS       1
#define VT_IP_TOTLEN    2
#define VT_IP_ID        4
#define VT_IP_FRAG      6 /* flags (3 bits) and fragment offset (13 bits) */
#define VT_IP_TTL       8
#define VT_IP_PROTO     9
#define VT_IP_CSUM      10
#define VT_IP_SADDR     12
#define VT_IP_DADDR     16
#define VT_IP_DF        0x4000
#define VT_IP_MF        0x2000
#define VT_IP_OFFMASK   0x1fff
#define VT_IPPROTO_ICMP 1
#define VT_IPPROTO_TCP  6
#define VT_IPPROTO_UDP  17

/* TCP, offsets from the start of the TCP header */
#define VT_TCP_HLEN   20 /* without options */
#define VT_TCP_SPORT  0
#define VT_TCP_DPORT  2
#define VT_TCP_SEQ    4
#define VT_TCP_ACK    8
#define VT_TCP_OFF    12 /* data offset (in 32-bit words) << 4 */
#define VT_TCP_FLAGS  13
#define VT_TCP_WIN    14
#define VT_TCP_CSUM   16
#define VT_TCP_URP    18
#define VT_TCP_FIN    0x01
#define VT_TCP_SYN    0x02
#define VT_TCP_RST    0x04
#define VT_TCP_PSH    0x08
#define VT_TCP_ACKF   0x10
#define VT_TCP_URG    0x20
#define VT_TCP_ECE    0x40
#define VT_TCP_CWR    0x80
#define VT_TCPOPT_EOL 0
#define VT_TCPOPT_NOP 1
#define VT_TCPOPT_MSS 2

static inline uint16_t vt_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t vt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void vt_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void vt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- Internet checksum (RFC 1071) ---- */

/* Adds the bytes [data, data+len) as big-endian 16-bit words to an unfolded
 * ones'-complement accumulator (an odd last byte is padded with zero). Chain calls
 * to sum discontiguous pieces; each piece but the last must have even length. */
uint32_t vt_csum_add(uint32_t sum, const uint8_t *data, size_t len);

/* Folds an accumulator to 16 bits with end-around carries (not complemented). */
static inline uint16_t vt_csum_fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* The checksum to store: the complement of the folded sum. */
static inline uint16_t vt_csum_finish(uint32_t sum)
{
    return (uint16_t)~vt_csum_fold(sum);
}

/* Checksum of an IPv4 header of hlen bytes, its checksum field counted as zero
 * (so it may hold anything). hlen must be even. */
uint16_t vt_ipv4_checksum(const uint8_t *ip, size_t hlen);

/* 1 if the IPv4 header of hlen bytes carries a correct checksum, else 0. */
int vt_ipv4_checksum_ok(const uint8_t *ip, size_t hlen);

/* Accumulator of the TCP/UDP pseudo-header: saddr, daddr (host order), protocol and
 * the layer-4 length. */
static inline uint32_t vt_csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t l4len)
{
    return (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff) + proto + l4len;
}

/* Checksum of a TCP segment of len bytes (header and payload) with its pseudo-header,
 * the checksum field counted as zero. */
uint16_t vt_tcp_checksum(uint32_t saddr, uint32_t daddr, const uint8_t *tcp, size_t len);

/* 1 if the TCP segment carries a correct checksum, else 0. */
int vt_tcp_checksum_ok(uint32_t saddr, uint32_t daddr, const uint8_t *tcp, size_t len);

/*
 * Incremental update (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')). Starting from a
 * stored checksum csum, returns the checksum after a 16-bit word (or two adjacent
 * words, for the 32-bit form) of the summed data changes from old to new. The result
 * equals a full recomputation, including the 0x0000/0xffff corner cases, whenever the
 * data summed is not all zero (true of every IPv4 header and TCP pseudo-header).
 *
 * To apply several changes at once, build one accumulator:
 *     uint32_t s = (uint16_t)~csum;
 *     s = vt_csum_acc16(s, old1, new1); s = vt_csum_acc32(s, old2, new2); ...
 *     csum = vt_csum_finish(s);
 * which costs a handful of adds and one fold.
 */
static inline uint32_t vt_csum_acc16(uint32_t sum, uint16_t old, uint16_t new_)
{
    return sum + (uint16_t)~old + new_;
}

static inline uint32_t vt_csum_acc32(uint32_t sum, uint32_t old, uint32_t new_)
{
    return sum + (uint16_t) ~(old >> 16) + (uint16_t)~old + (new_ >> 16) + (new_ & 0xffff);
}

static inline uint16_t vt_csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
    return vt_csum_finish(vt_csum_acc16((uint16_t)~csum, old, new_));
}

static inline uint16_t vt_csum_update32(uint16_t csum, uint32_t old, uint32_t new_)
{
    return vt_csum_finish(vt_csum_acc32((uint16_t)~csum, old, new_));
}

/* ---- Parsing captured frames ---- */

/* Why a frame was not parsed; the parser returns 0 or one of these. */
enum vt_parse_error {
    VT_PARSE_OK = 0,
    VT_PARSE_ETH_SHORT = -1,   /* shorter than an Ethernet (+ VLAN) header */
    VT_PARSE_NOT_IPV4 = -2,    /* ethertype is not IPv4 (after at most one tag) */
    VT_PARSE_IP_SHORT = -3,    /* fewer than 20 bytes of IP header captured */
    VT_PARSE_IP_VERSION = -4,  /* version field is not 4 */
    VT_PARSE_IP_HLEN = -5,     /* IHL < 5, or the header runs past the capture */
    VT_PARSE_IP_TOTLEN = -6,   /* total length < header length, or > captured bytes */
    VT_PARSE_IP_FRAGMENT = -7, /* MF set or fragment offset != 0 */
    VT_PARSE_IP_CHECKSUM = -8, /* IPv4 header checksum wrong */
    VT_PARSE_NOT_TCP = -9,     /* protocol is not TCP */
    VT_PARSE_TCP_SHORT = -10,  /* fewer than 20 bytes of TCP inside the IP packet */
    VT_PARSE_TCP_DOFF = -11,   /* data offset < 5 or past the end of the IP packet */
};

/* A parsed IPv4/TCP frame. Numbers are in host order; offsets index the frame. */
struct vt_parsed {
    uint32_t saddr, daddr;
    uint16_t ip_id;
    uint8_t ttl;
    uint8_t proto; /* always VT_IPPROTO_TCP on success */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags; /* VT_TCP_* */
    uint16_t window;
    size_t l3_off;      /* IP header */
    size_t l4_off;      /* TCP header */
    size_t payload_off; /* TCP payload (== l4_off + data offset) */
    size_t payload_len; /* TCP payload bytes inside the IP total length */
};

/*
 * Parses a DLT_EN10MB frame of caplen captured bytes: Ethernet (skipping one
 * 802.1Q/802.1ad tag), IPv4 (version 4, IHL >= 5 and captured, total length >= IHL
 * and captured in full, not a fragment, header checksum correct), TCP (data offset
 * >= 5 and within the IP payload). Returns 0 and fills out, or a negative
 * enum vt_parse_error (out is then unspecified). Reads no byte at or past
 * frame[caplen], whatever the input; trailing Ethernet padding is ignored.
 *
 * The TCP checksum is not verified: with checksum offload a frame captured on the
 * host (or a veth peer) may carry a partial one. Probe validation rests on the cookie.
 * The whole IP packet must be captured, so use a snaplen of at least the link MTU
 * plus headers when answers may carry payload.
 */
int vt_packet_parse(const uint8_t *frame, size_t caplen, struct vt_parsed *out);

/* A short, static description of a parse result, for counters and debug logs. */
const char *vt_parse_strerror(int rc);

#endif
