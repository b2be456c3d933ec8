/* link.h: how this host reaches a destination at the Ethernet layer.
 *
 * The probe loop writes whole Ethernet frames, so before a scan the worker
 * needs what the kernel's IP stack would otherwise work out for each packet:
 * the outgoing interface, our source address and MAC, and the next hop's MAC.
 * vt_link_resolve() asks the kernel over rtnetlink (route, then neighbour
 * table), the way `ip route get` and `ip neigh` do, and lets the operator's
 * --interface/--source-ip/--gateway-mac override each piece. */
#ifndef VANTAGE_LINK_H
#define VANTAGE_LINK_H

#include <stddef.h>
#include <stdint.h>

struct vt_link {
    char ifname[16];
    int ifindex;
    uint8_t src_mac[6], gw_mac[6];
    uint32_t src_ip, gw_ip; /* host order; gw_ip is the destination itself when on-link */
};

/* Fills l for sending to `dst` (host order). Route lookup (RTM_GETROUTE, the
 * kernel's own choice, as `ip route get`) gives the interface, preferred
 * source and gateway (or dst itself if on-link); the interface MAC comes from
 * SIOCGIFHWADDR; the gateway MAC from the neighbour table (RTM_GETNEIGH). If
 * the gateway is not there, we ask it ourselves with ARP requests on a packet
 * socket (needs CAP_NET_RAW, as scanning does) for up to 2 s: no IP frame ever
 * goes to an address outside the target space. Overrides: a non-NULL ifname constrains the
 * route lookup to that interface (as `ip route get DST oif IF`: if no route
 * uses IF, the kernel takes DST to be on-link there, so a gateway's MAC must
 * then come from gw_mac), a non-zero src_ip replaces the preferred
 * source, a non-NULL gw_mac skips the neighbour table (and, with all three
 * given, no route is needed at all). Returns 0, or -1 with a one-line reason
 * and remedy in err. Sends nothing but ARP requests. */
int vt_link_resolve(struct vt_link *l, uint32_t dst, const char *ifname, uint32_t src_ip,
                    const uint8_t *gw_mac, char *err, size_t errlen);

/* Parses "aa:bb:cc:dd:ee:ff" (or with '-'), hex digits in either case.
 * Returns 0, or -1 if malformed. */
int vt_mac_parse(const char *s, uint8_t mac[6]);

/* Formats mac as "aa:bb:cc:dd:ee:ff" into buf (at least 18 bytes); returns buf. */
char *vt_mac_format(const uint8_t mac[6], char *buf);

#endif
