/* send.c: batched raw frame sending (PACKET_TX_RING, sendmmsg, pcap_inject);
 * see send.h for the contract.
 *
 * The TX ring (Documentation/networking/packet_mmap.rst) is an array of
 * nframes slots, each a struct tpacket2_hdr followed by the frame, in memory
 * shared with the kernel. The sender owns a slot while its tp_status is
 * TP_STATUS_AVAILABLE; committing sets TP_STATUS_SEND_REQUEST; send() makes the
 * kernel transmit every SEND_REQUEST slot from its own head onwards, marking
 * them SENDING, and the skb destructor sets them back to AVAILABLE once the
 * driver is done with the pages. Since slots are filled and sent strictly in
 * order, our head and the kernel's stay in step.
 *
 * Invariants of the ring:
 *   - slots [tail, tail + inflight) (mod nframes) are committed and not yet
 *     reaped; every other slot is AVAILABLE and ours to write;
 *   - reaping walks from tail and stops at the first slot still owned by the
 *     kernel, counting each returned slot as sent.
 * We set PACKET_LOSS so that a frame the kernel rejects as malformed is skipped
 * (set AVAILABLE) instead of halting the ring; frame_len is checked against the
 * MTU at open, so that cannot happen in practice. A frame the driver refuses
 * (ENOBUFS) is put back to SEND_REQUEST by the kernel and retried on the next
 * send(). */
#define _GNU_SOURCE /* sendmmsg */
#include "send.h"

#include "cli.h"
#include "ratelimit.h"

#include <assert.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define RING_BLOCK_SIZE (1u << 16)  /* bytes per ring block (page multiple) */
#define RING_FRAMES     8192u       /* slots in the TX ring ... */
#define RING_MAX_BYTES  (32u << 20) /* ... unless that exceeds this */
#define RING_BATCH      512u
#define MMSG_BATCH      256u
#define BUF_BATCH_MAX   1024u /* frames buffered in mmsg/pcap modes */
#define SNDBUF_BYTES    (4 << 20)
#define GIVE_UP_NS      1000000000ULL /* retry transient errors this long */
#define BACKOFF_MIN_US  20u
#define BACKOFF_MAX_US  1000u

/* Offset of frame data in a TPACKET_V2 TX slot (without PACKET_TX_HAS_OFF). */
#define SLOT_DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

struct vt_sender {
    enum vt_send_mode mode; /* RING, MMSG or PCAP once open */
    int fd;                 /* AF_PACKET socket (ring, mmsg) or -1 */
    pcap_t *pcap;           /* pcap mode */
    size_t frame_len;
    unsigned batch;
    bool dead; /* a fatal error happened; err says which */
    struct vt_send_stats st;
    char ifname[IF_NAMESIZE];
    char err[256];

    /* ring mode */
    uint8_t *ring;
    size_t ring_len;
    unsigned frame_size, nframes, mask;
    size_t data_off; /* frame data offset in a slot */
    uint32_t tp_len; /* what the kernel is told to send from each slot */
    unsigned head, tail, inflight, since_kick;

    /* mmsg and pcap modes: `count` frames are filled in buf */
    uint8_t *buf;
    size_t stride;
    unsigned count, cap;
    struct mmsghdr *msgs;
    struct iovec *iov;
};

/* Errors after which sending cannot go on without the operator. */
static bool fatal_errno(int e)
{
    return e == ENETDOWN || e == ENXIO || e == ENODEV || e == EBADF || e == EPERM || e == EACCES ||
           e == EFAULT || e == ENOTSOCK;
}

static bool transient_errno(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == ENOMEM || e == EINTR;
}

/* Sleeps a little longer each time; false once the retry time is used up. */
static bool backoff(unsigned *tries, uint64_t *since)
{
    uint64_t now = vt_now_ns();
    if (*tries == 0)
        *since = now;
    else if (now - *since > GIVE_UP_NS)
        return false;
    unsigned us = BACKOFF_MIN_US << (*tries < 6 ? *tries : 6);
    if (us > BACKOFF_MAX_US)
        us = BACKOFF_MAX_US;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};
    (void)nanosleep(&ts, NULL); /* EINTR just shortens the wait */
    (*tries)++;
    return true;
}

static void ring_reap(struct vt_sender *s);

/* Marks the sender dead with a one-line reason. Frames still queued will not
 * go out any more: they count as failed. */
static void die(struct vt_sender *s, const char *what, int e)
{
    s->dead = true;
    if (s->mode == VT_SEND_RING) {
        ring_reap(s);
        s->st.failed += s->inflight;
        s->inflight = 0;
    }
    if (e == ENETDOWN)
        snprintf(s->err, sizeof s->err, "%s on %s: interface is down (ip link set %s up)", what,
                 s->ifname, s->ifname);
    else if (transient_errno(e))
        snprintf(s->err, sizeof s->err,
                 "%s on %s: the link took no frame for 1 s (%s): is its carrier or peer up? "
                 "see ip -s link show %s",
                 what, s->ifname, strerror(e), s->ifname);
    else if (e == ENXIO || e == ENODEV)
        snprintf(s->err, sizeof s->err, "%s on %s: interface has gone (check ip link)", what,
                 s->ifname);
    else
        snprintf(s->err, sizeof s->err, "%s on %s: %s", what, s->ifname, strerror(e));
}

/* ---- ring mode ---------------------------------------------------------- */

static struct tpacket2_hdr *ring_slot_hdr(const struct vt_sender *s, unsigned i)
{
    /* frame_size divides RING_BLOCK_SIZE, so slots are contiguous. */
    return (struct tpacket2_hdr *)(s->ring + (size_t)i * s->frame_size);
}

static uint8_t *ring_slot_data(const struct vt_sender *s, unsigned i)
{
    return (uint8_t *)ring_slot_hdr(s, i) + s->data_off;
}

/* Counts slots the kernel has handed back. */
static void ring_reap(struct vt_sender *s)
{
    while (s->inflight) {
        struct tpacket2_hdr *h = ring_slot_hdr(s, s->tail);
        uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
        if (status == TP_STATUS_AVAILABLE)
            s->st.sent++;
        else if (status & TP_STATUS_WRONG_FORMAT) /* only without PACKET_LOSS */
            s->st.failed++;
        else
            break;
        s->tail = (s->tail + 1) & s->mask;
        s->inflight--;
    }
}

/* Asks the kernel to transmit every SEND_REQUEST slot. Transient errors leave
 * the slots queued for the next kick; returns -1 only on a fatal error. */
static int ring_kick(struct vt_sender *s)
{
    s->since_kick = 0;
    for (;;) {
        if (send(s->fd, NULL, 0, MSG_DONTWAIT) >= 0)
            break;
        int e = errno;
        if (e == EINTR)
            continue;
        if (fatal_errno(e)) {
            die(s, "send on the TX ring", e);
            return -1;
        }
        break; /* EAGAIN, ENOBUFS, ...: retried by the caller's wait loop */
    }
    ring_reap(s);
    return 0;
}

/* Kicks and waits until at most `target` slots are in flight, up to
 * GIVE_UP_NS. Returns 0, or -1 (fatal error or timeout, reason in s->err). */
static int ring_wait(struct vt_sender *s, unsigned target)
{
    uint64_t start = 0;
    for (;;) {
        if (ring_kick(s) < 0)
            return -1;
        if (s->inflight <= target)
            return 0;
        uint64_t now = vt_now_ns();
        if (!start)
            start = now;
        else if (now - start > GIVE_UP_NS) {
            die(s, "TX ring", ENOBUFS);
            return -1;
        }
        /* POLLOUT: the slot at the kernel's head came back. If the driver
         * refuses frames (ENOBUFS), no POLLOUT comes and this is the
         * back-off. */
        struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
        if (poll(&pfd, 1, 1) < 0 && errno != EINTR) {
            die(s, "poll on the TX ring", errno);
            return -1;
        }
    }
}

/* Kicks until the kernel has taken every committed slot (none is left
 * SEND_REQUEST), without waiting for the driver to finish sending them.
 * Returns 0, or -1 if the sender failed. */
static int ring_push(struct vt_sender *s)
{
    uint64_t start = 0;
    for (;;) {
        if (ring_kick(s) < 0)
            return -1;
        /* The kernel takes slots in order: if the newest is taken, all are. */
        unsigned newest = (s->head - 1) & s->mask;
        if (!s->inflight || __atomic_load_n(&ring_slot_hdr(s, newest)->tp_status,
                                            __ATOMIC_ACQUIRE) != TP_STATUS_SEND_REQUEST)
            return 0;
        uint64_t now = vt_now_ns();
        if (!start)
            start = now;
        else if (now - start > GIVE_UP_NS) {
            die(s, "TX ring", ENOBUFS);
            return -1;
        }
        /* The driver refused a frame (ENOBUFS): back off a little. */
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 50000};
        (void)nanosleep(&ts, NULL);
    }
}

static bool kernel_at_least(int major, int minor)
{
    struct utsname u;
    int ma = 0, mi = 0;
    if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
        return false;
    return ma > major || (ma == major && mi >= minor);
}

static int ring_open(struct vt_sender *s, char *err, size_t errlen)
{
    /* A virtio_net_hdr before each frame lets us say hdr_len = the whole frame,
     * so the kernel copies the (small) frame into the skb's linear part instead
     * of attaching the ring page as a zero-copy fragment; the latter costs a
     * page allocation and copy per frame wherever the skb is forwarded (veth,
     * bridges) and two DMA mappings on a NIC. The TX ring honours the header
     * since Linux 4.14; before, it would be sent as part of the frame. */
    int one = 1;
    bool vnet = s->frame_len <= 0xffff && kernel_at_least(4, 14) &&
                setsockopt(s->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) == 0;
    s->data_off = SLOT_DATA_OFF + (vnet ? sizeof(struct virtio_net_hdr) : 0);
    s->tp_len = (uint32_t)(s->frame_len + (vnet ? sizeof(struct virtio_net_hdr) : 0));
    unsigned need = (unsigned)(s->data_off + s->frame_len);
    unsigned fs = TPACKET_ALIGNMENT;
    while (fs < need)
        fs <<= 1;
    if (fs > RING_BLOCK_SIZE) {
        vt_set_err(err, errlen, "TX ring on %s: frames of %zu bytes are too large for the ring",
                   s->ifname, s->frame_len);
        return -1;
    }
    unsigned nframes = RING_FRAMES;
    while ((size_t)nframes * fs > RING_MAX_BYTES)
        nframes >>= 1;
    if ((size_t)nframes * fs < RING_BLOCK_SIZE)
        nframes = RING_BLOCK_SIZE / fs;

    int v = TPACKET_V2;
    if (setsockopt(s->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) {
        vt_set_err(err, errlen, "TX ring on %s: cannot select TPACKET_V2: %s", s->ifname,
                   strerror(errno));
        return -1;
    }
    if (setsockopt(s->fd, SOL_PACKET, PACKET_LOSS, &one, sizeof one) < 0) {
        vt_set_err(err, errlen, "TX ring on %s: cannot set PACKET_LOSS: %s", s->ifname,
                   strerror(errno));
        return -1;
    }
    struct tpacket_req req = {
        .tp_block_size = RING_BLOCK_SIZE,
        .tp_block_nr = (unsigned)((size_t)nframes * fs / RING_BLOCK_SIZE),
        .tp_frame_size = fs,
        .tp_frame_nr = nframes,
    };
    if (setsockopt(s->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) {
        vt_set_err(err, errlen, "TX ring on %s: cannot allocate %u x %u bytes: %s", s->ifname,
                   nframes, fs, strerror(errno));
        return -1;
    }
    size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
    void *ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, s->fd, 0);
    if (ring == MAP_FAILED) {
        vt_set_err(err, errlen, "TX ring on %s: cannot map it: %s", s->ifname, strerror(errno));
        return -1;
    }
    s->ring = ring;
    s->ring_len = len;
    s->frame_size = fs;
    s->nframes = nframes;
    s->mask = nframes - 1;
    s->batch = RING_BATCH < nframes / 2 ? RING_BATCH : nframes / 2;
    for (unsigned i = 0; i < nframes; i++) {
        struct tpacket2_hdr *h = ring_slot_hdr(s, i);
        assert(h->tp_status == TP_STATUS_AVAILABLE);
        h->tp_len = s->tp_len;
        if (vnet) {
            struct virtio_net_hdr *vh = (struct virtio_net_hdr *)((uint8_t *)h + SLOT_DATA_OFF);
            memset(vh, 0, sizeof *vh);
            vh->gso_type = VIRTIO_NET_HDR_GSO_NONE;
            vh->hdr_len = (uint16_t)s->frame_len; /* legacy virtio: host byte order */
        }
    }
    return 0;
}

/* ---- mmsg and pcap modes ------------------------------------------------ */

static int buf_alloc(struct vt_sender *s, char *err, size_t errlen)
{
    s->cap = BUF_BATCH_MAX;
    s->stride = (s->frame_len + 63) & ~(size_t)63;
    s->buf = aligned_alloc(64, s->stride * s->cap);
    s->msgs = calloc(s->cap, sizeof *s->msgs);
    s->iov = calloc(s->cap, sizeof *s->iov);
    if (!s->buf || !s->msgs || !s->iov) {
        vt_set_err(err, errlen, "sender on %s: out of memory", s->ifname);
        return -1;
    }
    memset(s->buf, 0, s->stride * s->cap);
    for (unsigned i = 0; i < s->cap; i++) {
        s->iov[i].iov_base = s->buf + (size_t)i * s->stride;
        s->iov[i].iov_len = s->frame_len;
        s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
        s->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    s->batch = MMSG_BATCH;
    return 0;
}

static int mmsg_send(struct vt_sender *s)
{
    unsigned off = 0, tries = 0;
    uint64_t since = 0;
    while (off < s->count) {
        int n = sendmmsg(s->fd, s->msgs + off, s->count - off, MSG_DONTWAIT);
        if (n > 0) {
            s->st.sent += (unsigned)n;
            off += (unsigned)n;
            tries = 0;
            continue;
        }
        int e = n < 0 ? errno : EAGAIN;
        if (fatal_errno(e)) {
            s->st.failed += s->count - off;
            s->count = 0;
            die(s, "sendmmsg", e);
            return -1;
        }
        if (transient_errno(e)) {
            if (e == EINTR || backoff(&tries, &since))
                continue;
            s->st.failed += s->count - off; /* nothing went out for a second */
            s->count = 0;
            die(s, "sendmmsg", e);
            return -1;
        }
        s->st.failed++; /* this frame is refused (EMSGSIZE, EINVAL): skip it */
        off++;
    }
    s->count = 0;
    return 0;
}

static int pcap_send(struct vt_sender *s)
{
    unsigned tries = 0;
    uint64_t since = 0;
    for (unsigned i = 0; i < s->count; i++) {
        for (;;) {
            if (pcap_inject(s->pcap, s->iov[i].iov_base, s->frame_len) >= 0) {
                s->st.sent++;
                tries = 0;
                break;
            }
            int e = errno;
            if (fatal_errno(e)) {
                s->st.failed += s->count - i;
                s->count = 0;
                die(s, "pcap_inject", e);
                return -1;
            }
            if (e == EINTR || (transient_errno(e) && backoff(&tries, &since)))
                continue;
            if (transient_errno(e)) { /* nothing went out for a second */
                s->st.failed += s->count - i;
                s->count = 0;
                die(s, "pcap_inject", e);
                return -1;
            }
            s->st.failed++; /* this frame is refused: skip it */
            break;
        }
    }
    s->count = 0;
    return 0;
}

static int pcap_mode_open(struct vt_sender *s, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    s->pcap = pcap_create(s->ifname, perr);
    if (!s->pcap) {
        vt_set_err(err, errlen, "pcap on %s: %s", s->ifname, perr);
        return -1;
    }
    /* We only inject; keep the capture side small and, below, empty. */
    if (pcap_set_snaplen(s->pcap, 64) != 0 || pcap_set_buffer_size(s->pcap, 1 << 20) != 0 ||
        pcap_set_timeout(s->pcap, 100) != 0) {
        vt_set_err(err, errlen, "pcap on %s: cannot set options: %s", s->ifname,
                   pcap_geterr(s->pcap));
        return -1;
    }
    int rc = pcap_activate(s->pcap);
    if (rc < 0) {
        vt_set_err(err, errlen, "pcap on %s: %s (run as root; check the interface name)", s->ifname,
                   rc == PCAP_ERROR ? pcap_geterr(s->pcap) : pcap_statustostr(rc));
        return -1;
    }
    struct bpf_program none;
    if (pcap_compile(s->pcap, &none, "less 1", 1, PCAP_NETMASK_UNKNOWN) != 0) {
        vt_set_err(err, errlen, "pcap on %s: %s", s->ifname, pcap_geterr(s->pcap));
        return -1;
    }
    rc = pcap_setfilter(s->pcap, &none);
    pcap_freecode(&none);
    if (rc != 0) {
        vt_set_err(err, errlen, "pcap on %s: %s", s->ifname, pcap_geterr(s->pcap));
        return -1;
    }
    return 0;
}

/* ---- opening ------------------------------------------------------------ */

static void release(struct vt_sender *s)
{
    if (s->ring)
        (void)munmap(s->ring, s->ring_len);
    s->ring = NULL;
    if (s->fd >= 0)
        (void)close(s->fd);
    s->fd = -1;
    if (s->pcap)
        pcap_close(s->pcap);
    s->pcap = NULL;
    free(s->buf);
    free(s->msgs);
    free(s->iov);
    s->buf = NULL;
    s->msgs = NULL;
    s->iov = NULL;
}

/* AF_PACKET socket bound to the interface, protocol 0 so it receives nothing,
 * bypassing the qdisc layer (as the ring and mmsg modes want). */
static int packet_socket(struct vt_sender *s, int ifindex, bool ring, char *err, size_t errlen)
{
    s->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        vt_set_err(err, errlen,
                   "cannot open an AF_PACKET socket: %s (run as root or grant CAP_NET_RAW)",
                   strerror(errno));
        return -1;
    }
    int one = 1;
    if (setsockopt(s->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) {
        vt_set_err(err, errlen, "AF_PACKET socket: cannot set PACKET_QDISC_BYPASS: %s",
                   strerror(errno));
        return -1;
    }
    int sndbuf = SNDBUF_BYTES;
    if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0 &&
        setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0) {
        vt_set_err(err, errlen, "AF_PACKET socket: cannot set SO_SNDBUF: %s", strerror(errno));
        return -1;
    }
    if (ring && ring_open(s, err, errlen) < 0)
        return -1;
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = 0, .sll_ifindex = ifindex};
    if (bind(s->fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
        vt_set_err(err, errlen, "cannot bind an AF_PACKET socket to %s: %s", s->ifname,
                   strerror(errno));
        return -1;
    }
    return 0;
}

/* Checks the interface exists, is up with a carrier and takes frames of
 * frame_len bytes. */
static int check_interface(const char *ifname, size_t frame_len, int *ifindex, char *err,
                           size_t errlen)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        vt_set_err(err, errlen, "cannot open a socket: %s", strerror(errno));
        return -1;
    }
    int rc = -1;
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        vt_set_err(err, errlen, "no interface %s: %s (see ip link; pass --interface)", ifname,
                   strerror(errno));
        goto out;
    }
    *ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        vt_set_err(err, errlen, "interface %s: cannot read its flags: %s", ifname, strerror(errno));
        goto out;
    }
    if (!(ifr.ifr_flags & IFF_UP)) {
        vt_set_err(err, errlen, "interface %s is down (ip link set %s up)", ifname, ifname);
        goto out;
    }
    if (!(ifr.ifr_flags & IFF_RUNNING)) {
        vt_set_err(err, errlen,
                   "interface %s has no carrier (cable out, or a veth whose peer is down): see "
                   "ip link show %s",
                   ifname, ifname);
        goto out;
    }
    if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
        vt_set_err(err, errlen, "interface %s: cannot read its MTU: %s", ifname, strerror(errno));
        goto out;
    }
    if (frame_len < ETH_HLEN || frame_len > (size_t)ifr.ifr_mtu + ETH_HLEN) {
        vt_set_err(err, errlen, "frames of %zu bytes do not fit %s (MTU %d): need 14..%d",
                   frame_len, ifname, ifr.ifr_mtu, ifr.ifr_mtu + ETH_HLEN);
        goto out;
    }
    rc = 0;
out:
    (void)close(fd);
    return rc;
}

static int open_mode(struct vt_sender *s, enum vt_send_mode mode, int ifindex, char *err,
                     size_t errlen)
{
    s->mode = mode;
    int rc;
    if (mode == VT_SEND_RING)
        rc = packet_socket(s, ifindex, true, err, errlen);
    else if (mode == VT_SEND_MMSG)
        rc = packet_socket(s, ifindex, false, err, errlen) < 0 ? -1 : buf_alloc(s, err, errlen);
    else
        rc = pcap_mode_open(s, err, errlen) < 0 ? -1 : buf_alloc(s, err, errlen);
    if (rc < 0)
        release(s);
    return rc;
}

struct vt_sender *vt_sender_open(const char *ifname, size_t frame_len, enum vt_send_mode mode,
                                 char *err, size_t errlen)
{
    if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
        vt_set_err(err, errlen, "sender: bad interface name '%s' (pass --interface)",
                   ifname ? ifname : "");
        return NULL;
    }
    int ifindex;
    if (check_interface(ifname, frame_len, &ifindex, err, errlen) < 0)
        return NULL;
    struct vt_sender *s = calloc(1, sizeof *s);
    if (!s) {
        vt_set_err(err, errlen, "sender: out of memory");
        return NULL;
    }
    s->fd = -1;
    s->frame_len = frame_len;
    snprintf(s->ifname, sizeof s->ifname, "%s", ifname);

    if (mode != VT_SEND_AUTO) {
        if (open_mode(s, mode, ifindex, err, errlen) == 0)
            return s;
        free(s);
        return NULL;
    }
    /* Auto: the first mode that opens; report the ring's reason if none. */
    char first[256] = "";
    static const enum vt_send_mode order[] = {VT_SEND_RING, VT_SEND_MMSG, VT_SEND_PCAP};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (open_mode(s, order[i], ifindex, i ? NULL : first, i ? 0 : sizeof first) == 0)
            return s;
    }
    vt_set_err(err, errlen, "%s", first);
    free(s);
    return NULL;
}

int vt_send_mode_parse(const char *str, enum vt_send_mode *mode)
{
    static const char *const names[] = {"auto", "ring", "mmsg", "pcap"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(str, names[i])) {
            *mode = (enum vt_send_mode)i;
            return 0;
        }
    return -1;
}

/* ---- the probe loop's calls --------------------------------------------- */

void vt_sender_set_batch(struct vt_sender *s, unsigned batch)
{
    unsigned max = s->mode == VT_SEND_RING ? s->nframes / 2 : s->cap;
    s->batch = batch < 1 ? 1 : batch > max ? max : batch;
}

void vt_sender_set_template(struct vt_sender *s, const uint8_t *tpl)
{
    if (s->mode == VT_SEND_RING) {
        /* Slots in flight belong to the kernel; take them back first. */
        if (s->inflight)
            (void)ring_wait(s, 0);
        for (unsigned i = 0; i < s->nframes; i++) {
            unsigned slot = (s->tail + s->inflight + i) & s->mask;
            if (i < s->nframes - s->inflight)
                memcpy(ring_slot_data(s, slot), tpl, s->frame_len);
        }
    } else {
        for (unsigned i = s->count; i < s->cap; i++)
            memcpy(s->iov[i].iov_base, tpl, s->frame_len);
    }
}

uint8_t *vt_sender_slot(struct vt_sender *s)
{
    if (s->dead)
        return NULL;
    if (s->mode == VT_SEND_RING) {
        if (s->inflight == s->nframes) {
            ring_reap(s);
            if (s->inflight == s->nframes && ring_wait(s, s->nframes - 1) < 0)
                return NULL;
        }
        return ring_slot_data(s, s->head);
    }
    return s->iov[s->count].iov_base;
}

int vt_sender_commit(struct vt_sender *s)
{
    if (s->dead)
        return -1;
    if (s->mode == VT_SEND_RING) {
        assert(s->inflight < s->nframes);
        struct tpacket2_hdr *h = ring_slot_hdr(s, s->head);
        h->tp_len = s->tp_len;
        __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        s->head = (s->head + 1) & s->mask;
        s->inflight++;
        if (++s->since_kick >= s->batch)
            return ring_kick(s);
        return 0;
    }
    if (++s->count >= s->batch)
        return s->mode == VT_SEND_MMSG ? mmsg_send(s) : pcap_send(s);
    return 0;
}

int vt_sender_flush(struct vt_sender *s)
{
    if (s->dead)
        return -1;
    if (s->mode == VT_SEND_RING)
        return ring_push(s);
    if (!s->count)
        return 0;
    return s->mode == VT_SEND_MMSG ? mmsg_send(s) : pcap_send(s);
}

int vt_sender_drain(struct vt_sender *s)
{
    if (vt_sender_flush(s) != 0)
        return -1;
    return s->mode == VT_SEND_RING ? ring_wait(s, 0) : 0;
}

void vt_sender_stats(const struct vt_sender *s, struct vt_send_stats *st)
{
    *st = s->st;
    if (s->mode != VT_SEND_RING)
        return;
    /* Count slots the kernel has handed back but we have not reaped, without
     * reaping (s is const): the same walk as ring_reap(). */
    for (unsigned i = 0, slot = s->tail; i < s->inflight; i++, slot = (slot + 1) & s->mask) {
        uint32_t status = __atomic_load_n(&ring_slot_hdr(s, slot)->tp_status, __ATOMIC_ACQUIRE);
        if (status == TP_STATUS_AVAILABLE)
            st->sent++;
        else if (status & TP_STATUS_WRONG_FORMAT)
            st->failed++;
        else
            break;
    }
}

const char *vt_sender_mode_name(const struct vt_sender *s)
{
    switch (s->mode) {
    case VT_SEND_RING:
        return "ring";
    case VT_SEND_MMSG:
        return "mmsg";
    case VT_SEND_PCAP:
        return "pcap";
    default:
        return "auto";
    }
}

const char *vt_sender_error(const struct vt_sender *s)
{
    return s->err[0] ? s->err : NULL;
}

void vt_sender_close(struct vt_sender *s)
{
    if (!s)
        return;
    if (!s->dead && s->mode == VT_SEND_RING)
        (void)ring_wait(s, 0); /* let the kernel finish with the ring's pages */
    else
        (void)vt_sender_flush(s);
    release(s);
    free(s);
}
