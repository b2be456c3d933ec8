/*
 * probe_tcp_syn.c — the tcp_syn probe kind: a TCP SYN with an MSS option, as ZMap's
 * tcp_synscan. An open port answers SYN-ACK, a closed one RST-ACK; both acknowledge
 * our sequence number + 1, and both come back to the source port we chose, which is
 * how classify() knows them for ours without any per-probe state (cookie.h).
 *
 * Frame (58 bytes): Ethernet | IPv4, 20 bytes, TTL 255, no DF (as ZMap) | TCP, 24
 * bytes: window 65535, options MSS 1460. The per-target fields (IP id, destination
 * address, ports, sequence number) are zero in the template; fill() writes them and
 * patches both checksums by RFC 1624, so a probe costs one SipHash and a few adds.
 */
#include "probe.h"

#include <string.h>

#include "packet.h"

#define SYN_TTL     255
#define SYN_WINDOW  65535
#define SYN_MSS     1460
#define SYN_OPTLEN  4
#define SYN_TCP_LEN (VT_TCP_HLEN + SYN_OPTLEN)
#define SYN_IP_LEN  (VT_IP_HLEN + SYN_TCP_LEN)
#define SYN_FRAME   (VT_ETH_HLEN + SYN_IP_LEN)
#define IP_OFF      VT_ETH_HLEN
#define TCP_OFF     (VT_ETH_HLEN + VT_IP_HLEN)

static void tcp_syn_make_template(uint8_t *frame, const struct vt_frame_ctx *ctx)
{
    uint8_t *ip = frame + IP_OFF, *tcp = frame + TCP_OFF;

    memset(frame, 0, SYN_FRAME);
    memcpy(frame + VT_ETH_DST, ctx->gw_mac, VT_ETH_ALEN);
    memcpy(frame + VT_ETH_SRC, ctx->src_mac, VT_ETH_ALEN);
    vt_put16(frame + VT_ETH_TYPE, VT_ETHERTYPE_IPV4);

    ip[VT_IP_VHL] = 4 << 4 | VT_IP_HLEN / 4;
    vt_put16(ip + VT_IP_TOTLEN, SYN_IP_LEN);
    ip[VT_IP_TTL] = SYN_TTL;
    ip[VT_IP_PROTO] = VT_IPPROTO_TCP;
    vt_put32(ip + VT_IP_SADDR, ctx->saddr);
    vt_put16(ip + VT_IP_CSUM, vt_ipv4_checksum(ip, VT_IP_HLEN));

    tcp[VT_TCP_OFF] = SYN_TCP_LEN / 4 << 4;
    tcp[VT_TCP_FLAGS] = VT_TCP_SYN;
    vt_put16(tcp + VT_TCP_WIN, SYN_WINDOW);
    tcp[VT_TCP_HLEN] = VT_TCPOPT_MSS;
    tcp[VT_TCP_HLEN + 1] = SYN_OPTLEN;
    vt_put16(tcp + VT_TCP_HLEN + 2, SYN_MSS);
    vt_put16(tcp + VT_TCP_CSUM, vt_tcp_checksum(ctx->saddr, 0, tcp, SYN_TCP_LEN));
}

static void tcp_syn_fill(uint8_t *frame, const struct vt_frame_ctx *ctx, uint32_t daddr,
                         uint16_t dport, uint16_t ip_id)
{
    uint8_t *ip = frame + IP_OFF, *tcp = frame + TCP_OFF;
    struct vt_probe_id id = vt_cookie_probe(ctx->cookie, ctx->saddr, daddr, dport);
    /* Whatever the frame holds now (template zeros or an earlier probe) is "old". */
    uint32_t old_daddr = vt_get32(ip + VT_IP_DADDR);
    uint32_t s;

    s = (uint16_t)~vt_get16(ip + VT_IP_CSUM);
    s = vt_csum_acc16(s, vt_get16(ip + VT_IP_ID), ip_id);
    s = vt_csum_acc32(s, old_daddr, daddr);
    vt_put16(ip + VT_IP_ID, ip_id);
    vt_put32(ip + VT_IP_DADDR, daddr);
    vt_put16(ip + VT_IP_CSUM, vt_csum_finish(s));

    /* TCP: daddr enters through the pseudo-header; sport|dport is one 32-bit word. */
    s = (uint16_t)~vt_get16(tcp + VT_TCP_CSUM);
    s = vt_csum_acc32(s, old_daddr, daddr);
    s = vt_csum_acc32(s, vt_get32(tcp + VT_TCP_SPORT), (uint32_t)id.sport << 16 | dport);
    s = vt_csum_acc32(s, vt_get32(tcp + VT_TCP_SEQ), id.seq);
    vt_put16(tcp + VT_TCP_SPORT, id.sport);
    vt_put16(tcp + VT_TCP_DPORT, dport);
    vt_put32(tcp + VT_TCP_SEQ, id.seq);
    vt_put16(tcp + VT_TCP_CSUM, vt_csum_finish(s));
}

static int tcp_syn_classify(const uint8_t *frame, size_t caplen, const struct vt_frame_ctx *ctx,
                            struct vt_answer *out)
{
    struct vt_parsed p;
    struct vt_probe_id id;
    enum vt_state state;
    uint8_t synack = VT_TCP_SYN | VT_TCP_ACKF;

    if (vt_packet_parse(frame, caplen, &p) != VT_PARSE_OK)
        return 0;
    if (p.daddr != ctx->saddr)
        return 0;
    /* Their (address, port) is the (daddr, dport) we probed. */
    id = vt_cookie_probe(ctx->cookie, ctx->saddr, p.saddr, p.sport);
    if (p.dport != id.sport || p.ack != id.seq + 1)
        return 0;
    if ((p.flags & (synack | VT_TCP_RST)) == synack)
        state = VT_STATE_OPEN;
    else if ((p.flags & (synack | VT_TCP_RST)) == (VT_TCP_RST | VT_TCP_ACKF))
        state = VT_STATE_CLOSED;
    else
        return 0; /* SYN alone, ACK alone, RST without ACK, SYN+RST: not an answer */

    out->addr = p.saddr;
    out->port = p.sport;
    out->state = state;
    out->ttl = p.ttl;
    return 1;
}

const struct vt_probe_module vt_probe_tcp_syn = {
    .name = "tcp_syn",
    .frame_len = SYN_FRAME,
    /* RST (any), or SYN and ACK both set (ECN bits may ride along). */
    .bpf_filter = "tcp and (tcp[tcpflags] & tcp-rst != 0 or "
                  "tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack))",
    .make_template = tcp_syn_make_template,
    .fill = tcp_syn_fill,
    .classify = tcp_syn_classify,
};
