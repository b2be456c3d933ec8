/*
 * packet.c — Internet checksums and the bounds-checked parser of captured frames
 * (see packet.h). The parser is the edge where untrusted bytes from the network
 * become a typed struct; every length it uses is checked against caplen before the
 * bytes it covers are read.
 */
#include "packet.h"

#include <assert.h>

uint32_t vt_csum_add(uint32_t sum, const uint8_t *data, size_t len)
{
    /* 64-bit accumulator: no carry is lost however long the buffer. */
    uint64_t s = sum;
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(data[i] << 8 | data[i + 1]);
    if (len & 1)
        s += (uint32_t)data[len - 1] << 8;
    while (s >> 32)
        s = (s & 0xffffffff) + (s >> 32);
    /* Fold to keep headroom for the caller's further additions. */
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint32_t)s;
}

uint16_t vt_ipv4_checksum(const uint8_t *ip, size_t hlen)
{
    uint32_t s;

    assert(hlen >= VT_IP_HLEN && hlen % 2 == 0);
    s = vt_csum_add(0, ip, VT_IP_CSUM);
    s = vt_csum_add(s, ip + VT_IP_CSUM + 2, hlen - VT_IP_CSUM - 2);
    return vt_csum_finish(s);
}

int vt_ipv4_checksum_ok(const uint8_t *ip, size_t hlen)
{
    return vt_csum_fold(vt_csum_add(0, ip, hlen)) == 0xffff;
}

uint16_t vt_tcp_checksum(uint32_t saddr, uint32_t daddr, const uint8_t *tcp, size_t len)
{
    uint32_t s;

    assert(len >= VT_TCP_HLEN && len <= 0xffff);
    s = vt_csum_pseudo(saddr, daddr, VT_IPPROTO_TCP, (uint16_t)len);
    s = vt_csum_add(s, tcp, VT_TCP_CSUM);
    s = vt_csum_add(s, tcp + VT_TCP_CSUM + 2, len - VT_TCP_CSUM - 2);
    return vt_csum_finish(s);
}

int vt_tcp_checksum_ok(uint32_t saddr, uint32_t daddr, const uint8_t *tcp, size_t len)
{
    uint32_t s;

    if (len > 0xffff)
        return 0;
    s = vt_csum_pseudo(saddr, daddr, VT_IPPROTO_TCP, (uint16_t)len);
    return vt_csum_fold(vt_csum_add(s, tcp, len)) == 0xffff;
}

int vt_packet_parse(const uint8_t *frame, size_t caplen, struct vt_parsed *out)
{
    size_t l3, ihl, totlen, avail, l4, doff;
    uint16_t type, frag;
    const uint8_t *ip, *tcp;

    assert(frame != NULL || caplen == 0);
    assert(out != NULL);

    /* Ethernet, and at most one VLAN tag. */
    if (caplen < VT_ETH_HLEN)
        return VT_PARSE_ETH_SHORT;
    l3 = VT_ETH_HLEN;
    type = vt_get16(frame + VT_ETH_TYPE);
    if (type == VT_ETHERTYPE_VLAN || type == VT_ETHERTYPE_QINQ) {
        if (caplen < VT_ETH_HLEN + VT_VLAN_HLEN)
            return VT_PARSE_ETH_SHORT;
        type = vt_get16(frame + VT_ETH_TYPE + VT_VLAN_HLEN);
        l3 += VT_VLAN_HLEN;
    }
    if (type != VT_ETHERTYPE_IPV4)
        return VT_PARSE_NOT_IPV4;

    /* IPv4. From here on, avail = captured bytes from the IP header on. */
    avail = caplen - l3;
    ip = frame + l3;
    if (avail < VT_IP_HLEN)
        return VT_PARSE_IP_SHORT;
    if (ip[VT_IP_VHL] >> 4 != 4)
        return VT_PARSE_IP_VERSION;
    ihl = (size_t)(ip[VT_IP_VHL] & 0x0f) * 4;
    if (ihl < VT_IP_HLEN || ihl > avail)
        return VT_PARSE_IP_HLEN;
    totlen = vt_get16(ip + VT_IP_TOTLEN);
    if (totlen < ihl || totlen > avail)
        return VT_PARSE_IP_TOTLEN;
    frag = vt_get16(ip + VT_IP_FRAG);
    if (frag & (VT_IP_MF | VT_IP_OFFMASK))
        return VT_PARSE_IP_FRAGMENT;
    if (!vt_ipv4_checksum_ok(ip, ihl))
        return VT_PARSE_IP_CHECKSUM;
    if (ip[VT_IP_PROTO] != VT_IPPROTO_TCP)
        return VT_PARSE_NOT_TCP;

    /* TCP, bounded by the IP total length (not caplen: Ethernet pads short frames). */
    l4 = l3 + ihl;
    tcp = frame + l4;
    if (totlen - ihl < VT_TCP_HLEN)
        return VT_PARSE_TCP_SHORT;
    doff = (size_t)(tcp[VT_TCP_OFF] >> 4) * 4;
    if (doff < VT_TCP_HLEN || doff > totlen - ihl)
        return VT_PARSE_TCP_DOFF;

    out->saddr = vt_get32(ip + VT_IP_SADDR);
    out->daddr = vt_get32(ip + VT_IP_DADDR);
    out->ip_id = vt_get16(ip + VT_IP_ID);
    out->ttl = ip[VT_IP_TTL];
    out->proto = ip[VT_IP_PROTO];
    out->sport = vt_get16(tcp + VT_TCP_SPORT);
    out->dport = vt_get16(tcp + VT_TCP_DPORT);
    out->seq = vt_get32(tcp + VT_TCP_SEQ);
    out->ack = vt_get32(tcp + VT_TCP_ACK);
    out->flags = tcp[VT_TCP_FLAGS];
    out->window = vt_get16(tcp + VT_TCP_WIN);
    out->l3_off = l3;
    out->l4_off = l4;
    out->payload_off = l4 + doff;
    out->payload_len = totlen - ihl - doff;
    return VT_PARSE_OK;
}

const char *vt_parse_strerror(int rc)
{
    switch (rc) {
    case VT_PARSE_OK:
        return "ok";
    case VT_PARSE_ETH_SHORT:
        return "truncated Ethernet header";
    case VT_PARSE_NOT_IPV4:
        return "not IPv4";
    case VT_PARSE_IP_SHORT:
        return "truncated IPv4 header";
    case VT_PARSE_IP_VERSION:
        return "bad IP version";
    case VT_PARSE_IP_HLEN:
        return "bad IPv4 header length";
    case VT_PARSE_IP_TOTLEN:
        return "bad IPv4 total length";
    case VT_PARSE_IP_FRAGMENT:
        return "IPv4 fragment";
    case VT_PARSE_IP_CHECKSUM:
        return "bad IPv4 header checksum";
    case VT_PARSE_NOT_TCP:
        return "not TCP";
    case VT_PARSE_TCP_SHORT:
        return "truncated TCP header";
    case VT_PARSE_TCP_DOFF:
        return "bad TCP data offset";
    }
    return "unknown parse error";
}
