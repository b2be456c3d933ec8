/* link.c: route, source address and next-hop MAC for raw sending, found with
 * plain rtnetlink requests (no libnl); see link.h.
 *
 * Each request is a single NLM_F_REQUEST "get" (no dump) on a fresh
 * NETLINK_ROUTE socket; the kernel answers with one message or an
 * NLMSG_ERROR carrying a negative errno. A receive timeout bounds every wait. */
#include "link.h"

#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NL_BUF        8192
#define NL_TIMEOUT_MS 1000
#define ARP_WAIT_MS   2000 /* how long to wait for the gateway to answer ARP */
#define ARP_RESEND_MS 500

static const char *ip_str(uint32_t ip, char *buf)
{
    struct in_addr a = {.s_addr = htonl(ip)};
    return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) ? buf : "?";
}

/* ---- rtnetlink ---------------------------------------------------------- */

static void nl_put_attr(struct nlmsghdr *nh, size_t cap, unsigned short type, const void *data,
                        size_t len)
{
    struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
    size_t need = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len);
    if (need > cap)
        return; /* callers size their buffers; cannot happen */
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    nh->nlmsg_len = (uint32_t)need;
}

/* Sends one request and receives its answer into buf. Returns the answer's
 * length, or a negative errno (the kernel's, or ours). */
static int nl_get(struct nlmsghdr *req, char *buf, size_t buflen)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    int rc;
    struct timeval tv = {.tv_sec = NL_TIMEOUT_MS / 1000, .tv_usec = (NL_TIMEOUT_MS % 1000) * 1000};
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        rc = -errno;
        goto out;
    }
    static const uint32_t seq_base = 0x7674; /* "vt" */
    req->nlmsg_seq = seq_base;
    req->nlmsg_pid = 0;
    if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        rc = -errno;
        goto out;
    }
    for (;;) {
        ssize_t n = recv(fd, buf, buflen, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
            goto out;
        }
        struct nlmsghdr *nh = (struct nlmsghdr *)buf;
        if (!NLMSG_OK(nh, (size_t)n)) {
            rc = -EPROTO;
            goto out;
        }
        if (nh->nlmsg_seq != seq_base)
            continue; /* not ours */
        if (nh->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(nh);
            rc = e->error ? e->error : -EPROTO; /* an ACK is not an answer */
            goto out;
        }
        rc = (int)n;
        goto out;
    }
out:
    (void)close(fd);
    return rc;
}

struct route {
    int oif;
    uint32_t prefsrc, gateway; /* host order; 0 if absent */
    unsigned char type;
};

/* The kernel's route to dst (host order), as `ip route get dst [from src]
 * [oif X]`. */
static int route_get(uint32_t dst, uint32_t src, int oif, struct route *rt)
{
    union {
        struct nlmsghdr nh;
        char buf[NLMSG_SPACE(sizeof(struct rtmsg)) + 64];
    } req;
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    req.nh.nlmsg_type = RTM_GETROUTE;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    struct rtmsg *rtm = NLMSG_DATA(&req.nh);
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = 32;
    uint32_t be = htonl(dst);
    nl_put_attr(&req.nh, sizeof req, RTA_DST, &be, sizeof be);
    if (oif)
        nl_put_attr(&req.nh, sizeof req, RTA_OIF, &oif, sizeof oif);
    if (src) {
        uint32_t sbe = htonl(src);
        nl_put_attr(&req.nh, sizeof req, RTA_SRC, &sbe, sizeof sbe);
    }

    char buf[NL_BUF];
    int n = nl_get(&req.nh, buf, sizeof buf);
    if (n < 0)
        return n;
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
        return -EPROTO;
    const struct rtmsg *ans = NLMSG_DATA(nh);
    memset(rt, 0, sizeof *rt);
    rt->type = ans->rtm_type;
    int len = (int)RTM_PAYLOAD(nh);
    for (const struct rtattr *a = RTM_RTA(ans); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        uint32_t v;
        switch (a->rta_type) {
        case RTA_OIF:
            if (RTA_PAYLOAD(a) >= sizeof(int))
                memcpy(&rt->oif, RTA_DATA(a), sizeof(int));
            break;
        case RTA_PREFSRC:
        case RTA_GATEWAY:
            if (RTA_PAYLOAD(a) < sizeof v)
                break;
            memcpy(&v, RTA_DATA(a), sizeof v);
            if (a->rta_type == RTA_PREFSRC)
                rt->prefsrc = ntohl(v);
            else
                rt->gateway = ntohl(v);
            break;
        case RTA_VIA: /* an IPv6 next hop for IPv4 (RFC 5549) */
            return -EAFNOSUPPORT;
        default:
            break;
        }
    }
    return 0;
}

/* Looks up ip (host order) on ifindex in the neighbour table. Returns 1 with
 * mac filled if usable, 0 if absent or not (yet) resolved, or a negative
 * errno. *failed is set if the kernel gave up resolving it. */
static int neigh_get(int ifindex, uint32_t ip, uint8_t mac[6], bool *failed)
{
    union {
        struct nlmsghdr nh;
        char buf[NLMSG_SPACE(sizeof(struct ndmsg)) + 32];
    } req;
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
    req.nh.nlmsg_type = RTM_GETNEIGH;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    struct ndmsg *ndm = NLMSG_DATA(&req.nh);
    ndm->ndm_family = AF_INET;
    ndm->ndm_ifindex = ifindex;
    uint32_t be = htonl(ip);
    nl_put_attr(&req.nh, sizeof req, NDA_DST, &be, sizeof be);

    *failed = false;
    char buf[NL_BUF];
    int n = nl_get(&req.nh, buf, sizeof buf);
    if (n == -ENOENT)
        return 0;
    if (n < 0)
        return n;
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    if (nh->nlmsg_type != RTM_NEWNEIGH || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ndmsg)))
        return -EPROTO;
    const struct ndmsg *ans = NLMSG_DATA(nh);
    if (ans->ndm_state & NUD_FAILED)
        *failed = true;
    if (!(ans->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
        return 0;
    int len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(struct ndmsg)));
    const struct rtattr *a =
        (const struct rtattr *)((const char *)ans + NLMSG_ALIGN(sizeof(struct ndmsg)));
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
            memcpy(mac, RTA_DATA(a), 6);
            return 1;
        }
    return 0;
}

/* ---- the interface ------------------------------------------------------ */

/* Checks ifname is up and Ethernet; fills its MAC and, if asked, its primary
 * IPv4 address (0 if none). */
static int iface_info(const char *ifname, uint8_t mac[6], uint32_t *addr, char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        vt_set_err(err, errlen, "cannot open a socket: %s", strerror(errno));
        return -1;
    }
    int rc = -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        vt_set_err(err, errlen, "interface %s: %s (see ip link; pass --interface)", ifname,
                   strerror(errno));
        goto out;
    }
    if (!(ifr.ifr_flags & IFF_UP)) {
        vt_set_err(err, errlen, "interface %s is down (ip link set %s up)", ifname, ifname);
        goto out;
    }
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        vt_set_err(err, errlen, "interface %s: cannot read its MAC address: %s", ifname,
                   strerror(errno));
        goto out;
    }
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        vt_set_err(err, errlen,
                   "interface %s is not Ethernet (link type %u): vantage sends Ethernet frames; "
                   "pass --interface with an Ethernet interface",
                   ifname, (unsigned)ifr.ifr_hwaddr.sa_family);
        goto out;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    if (addr) {
        *addr = 0;
        if (ioctl(fd, SIOCGIFADDR, &ifr) == 0 && ifr.ifr_addr.sa_family == AF_INET)
            *addr = ntohl(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr);
    }
    rc = 0;
out:
    (void)close(fd);
    return rc;
}

/* Asks for ip's MAC with our own ARP requests on a packet socket (one every
 * ARP_RESEND_MS, for at most ARP_WAIT_MS) and reads the reply there. We do not
 * make the kernel resolve it with a datagram to the next hop: that would be a
 * frame to an address outside the target space. Returns 1 with mac set, 0 if
 * nobody answered, or -errno. */
static int arp_ask(int ifindex, const uint8_t src_mac[6], uint32_t src_ip, uint32_t ip,
                   uint8_t mac[6])
{
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0)
        return -errno;
    struct sockaddr_ll me = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = ifindex};
    if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0) {
        int e = -errno;
        (void)close(fd);
        return e;
    }
    /* RFC 826 request for Ethernet/IPv4: who has ip? tell src_ip. */
    uint8_t req[28] = {0, 1, 8, 0, 6, 4, 0, 1};
    memcpy(req + 8, src_mac, 6);
    for (int k = 0; k < 4; k++) {
        req[14 + k] = (uint8_t)(src_ip >> (24 - 8 * k));
        req[24 + k] = (uint8_t)(ip >> (24 - 8 * k));
    }
    struct sockaddr_ll bcast = {.sll_family = AF_PACKET,
                                .sll_protocol = htons(ETH_P_ARP),
                                .sll_ifindex = ifindex,
                                .sll_halen = 6,
                                .sll_addr = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    int rc = 0;
    for (int waited = 0; waited < ARP_WAIT_MS && rc == 0; waited += ARP_RESEND_MS) {
        if (sendto(fd, req, sizeof req, 0, (struct sockaddr *)&bcast, sizeof bcast) < 0) {
            rc = -errno;
            break;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        while (rc == 0 && poll(&pfd, 1, ARP_RESEND_MS) > 0) {
            uint8_t rep[64];
            ssize_t n = recv(fd, rep, sizeof rep, MSG_DONTWAIT);
            if (n < 28 || rep[6] != 0 || rep[7] != 2 || rep[4] != 6 || rep[5] != 4)
                continue; /* not an Ethernet/IPv4 ARP reply */
            uint32_t sender = (uint32_t)rep[14] << 24 | (uint32_t)rep[15] << 16 |
                              (uint32_t)rep[16] << 8 | rep[17];
            if (sender == ip) {
                memcpy(mac, rep + 8, 6);
                rc = 1;
            }
        }
    }
    (void)close(fd);
    return rc;
}

static int neigh_resolve(const char *ifname, int ifindex, const uint8_t src_mac[6], uint32_t src_ip,
                         uint32_t ip, uint8_t mac[6], char *err, size_t errlen)
{
    char ipb[INET_ADDRSTRLEN];
    bool failed;
    int rc = neigh_get(ifindex, ip, mac, &failed);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        vt_set_err(err, errlen,
                   "cannot read the neighbour table for %s on %s: %s (pass --gateway-mac)",
                   ip_str(ip, ipb), ifname, strerror(-rc));
        return -1;
    }
    rc = arp_ask(ifindex, src_mac, src_ip, ip, mac);
    if (rc == 1)
        return 0;
    if (rc < 0)
        vt_set_err(err, errlen, "cannot send ARP for next hop %s on %s: %s (pass --gateway-mac)",
                   ip_str(ip, ipb), ifname, strerror(-rc));
    else
        vt_set_err(err, errlen,
                   "no ARP answer from next hop %s on %s within %d s: is it up and on that link? "
                   "pass --gateway-mac",
                   ip_str(ip, ipb), ifname, ARP_WAIT_MS / 1000);
    return -1;
}

/* ---- the public calls --------------------------------------------------- */

int vt_link_resolve(struct vt_link *l, uint32_t dst, const char *ifname, uint32_t src_ip,
                    const uint8_t *gw_mac, char *err, size_t errlen)
{
    char dstb[INET_ADDRSTRLEN];
    memset(l, 0, sizeof *l);
    int oif = 0;
    if (ifname && *ifname) {
        if (strlen(ifname) >= sizeof l->ifname || !(oif = (int)if_nametoindex(ifname))) {
            vt_set_err(err, errlen, "no interface %s (see ip link; pass --interface)", ifname);
            return -1;
        }
    }

    /* With --source-ip, ask as `ip route get DST from SRC` so that source
     * routing rules apply; a source the host does not own makes that lookup
     * fail, and then the plain one decides. */
    struct route rt;
    int rc = src_ip ? route_get(dst, src_ip, oif, &rt) : -EINVAL;
    if (rc != 0)
        rc = route_get(dst, 0, oif, &rt);
    if (rc == 0 && rt.type != RTN_UNICAST) {
        vt_set_err(err, errlen, "%s is %s, not reachable by a unicast route (see ip route get %s)",
                   ip_str(dst, dstb),
                   rt.type == RTN_LOCAL       ? "an address of this host"
                   : rt.type == RTN_BLACKHOLE ? "blackholed"
                   : rt.type == RTN_BROADCAST ? "a broadcast address"
                                              : "unreachable",
                   dstb);
        return -1;
    }
    if (rc == 0) {
        l->ifindex = rt.oif;
        l->gw_ip = rt.gateway ? rt.gateway : dst;
    } else if (oif && gw_mac) {
        /* The operator named interface and next hop: no route needed. */
        l->ifindex = oif;
        l->gw_ip = 0;
        rt.prefsrc = 0;
    } else if (rc == -ENETUNREACH || rc == -EHOSTUNREACH || rc == -ESRCH) {
        vt_set_err(err, errlen,
                   "no route to %s%s%s: is the interface up? add a route or pass "
                   "--interface/--gateway-mac",
                   ip_str(dst, dstb), oif ? " via " : "", oif ? ifname : "");
        return -1;
    } else {
        vt_set_err(err, errlen,
                   "cannot look up the route to %s: %s (pass --interface/--gateway-mac)",
                   ip_str(dst, dstb), rc == -EAFNOSUPPORT ? "its next hop is IPv6" : strerror(-rc));
        return -1;
    }

    if (oif)
        snprintf(l->ifname, sizeof l->ifname, "%s", ifname);
    else if (!if_indextoname((unsigned)l->ifindex, l->ifname)) {
        vt_set_err(err, errlen, "route to %s uses interface #%d, which has gone (try again)",
                   ip_str(dst, dstb), l->ifindex);
        return -1;
    }

    uint32_t if_addr = 0;
    if (iface_info(l->ifname, l->src_mac, &if_addr, err, errlen) < 0)
        return -1;
    l->src_ip = src_ip ? src_ip : rt.prefsrc ? rt.prefsrc : if_addr;
    if (!l->src_ip) {
        vt_set_err(err, errlen, "interface %s has no IPv4 address: add one or pass --source-ip",
                   l->ifname);
        return -1;
    }

    if (gw_mac) {
        memcpy(l->gw_mac, gw_mac, 6);
        return 0;
    }
    if (neigh_resolve(l->ifname, l->ifindex, l->src_mac, l->src_ip, l->gw_ip, l->gw_mac, err,
                      errlen) < 0)
        return -1;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vt_mac_parse(const char *s, uint8_t mac[6])
{
    if (!s || strlen(s) != 17)
        return -1;
    char sep = s[2];
    if (sep != ':' && sep != '-')
        return -1;
    uint8_t out[6];
    for (int i = 0; i < 6; i++) {
        const char *p = s + 3 * i;
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0 || (i < 5 && p[2] != sep))
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(mac, out, 6);
    return 0;
}

char *vt_mac_format(const uint8_t mac[6], char *buf)
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}
