/* recv.c: the receive side of a scan; see recv.h.
 *
 * Capture is set up completely on the caller's thread (activate, direction,
 * filter) before the thread starts, so vt_receiver_start() returns with the
 * filter in the kernel and packets queuing. The handle is non-blocking: the
 * thread waits in its own poll() (100 ms at most) and then reads what the ring
 * holds with pcap_dispatch. libpcap's read timeout cannot do this job: on
 * Linux a read does not return while nothing arrives, which would leave a stop,
 * the drop counts and the link check waiting for the next packet. So stopping
 * takes at most about 100 ms, and before it ends the thread reads the ring
 * dry: frames already captured arrived in time and must not be discarded
 * uncounted at close.
 *
 * Any negative return of pcap_dispatch is a failure (an interface that
 * disappears gives PCAP_ERROR); so is an interface that goes down or loses
 * its carrier, which libpcap does not report (it only stops delivering) and
 * the thread checks every ~100 ms. The thread records why and ends, and the
 * scan reads it and fails.
 *
 * pcap_stats() is only called on the receive thread (libpcap handles are not
 * thread-safe); the figures are published through atomics. `dropped` is
 * ps_drop (frames that passed our filter but found the socket's ring full:
 * our thread fell behind) plus ps_ifdrop (frames the interface itself lost).
 * On Linux libpcap 1.10 fills ps_ifdrop only in promiscuous mode, which we do
 * not use, so there it stays 0; other platforms count it. Both are 32-bit
 * counters in libpcap; we add up their deltas in 64 bits, so they never wrap.
 *
 * The intake (the second half of this file) is what the callback hands
 * answers to: a single-producer, single-consumer ring and a two-generation
 * exact hash set. Both belong to the receive side: only the receive thread
 * writes the set and the ring's head, only the output thread the ring's tail. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "recv.h"

#include "cli.h"
#include "ratelimit.h"

#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#define RECV_SNAPLEN      1600       /* whole frames: the parser wants every IP byte */
#define RECV_BUFFER       (32 << 20) /* resident in full: keeps the worker under 64 MiB */
#define RECV_TIMEOUT_MS   100
#define STATS_EVERY_NS    100000000ULL
#define RECV_DRAIN_ROUNDS 64 /* reads at stop: each empties the ring as it is then */

struct vt_receiver {
    pcap_t *p;
    pthread_t thread;
    bool running; /* thread started (vt_receiver_run) and not yet joined */
    vt_recv_cb cb;
    void *arg;
    atomic_bool stop;
    atomic_uint_fast64_t received, dropped;
    uint64_t received_local; /* the thread's own count, published per dispatch */
    uint64_t stats_ns;
    uint32_t last_drop, last_ifdrop; /* libpcap's 32-bit counters at the last read */
    uint64_t dropped_local;
    int link_flags; /* IFF_UP, IFF_RUNNING when the thread started (-1: unknown) */
    atomic_bool failed;
    char ifname[64];
    char err[PCAP_ERRBUF_SIZE + 128]; /* written by the thread before `failed` */
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct vt_receiver *r = (struct vt_receiver *)user;
    r->received_local++;
    r->cb(r->arg, bytes, h->caplen, &h->ts);
}

static void update_drops(struct vt_receiver *r)
{
    struct pcap_stat ps;
    if (pcap_stats(r->p, &ps) != 0)
        return; /* e.g. a savefile: no kernel counters to read */
    r->dropped_local += (uint32_t)(ps.ps_drop - r->last_drop);
    r->dropped_local += (uint32_t)(ps.ps_ifdrop - r->last_ifdrop);
    r->last_drop = ps.ps_drop;
    r->last_ifdrop = ps.ps_ifdrop;
    atomic_store(&r->dropped, r->dropped_local);
}

static void fail(struct vt_receiver *r, const char *why, const char *hint)
{
    snprintf(r->err, sizeof r->err, "capture on %s failed: %s (%s)", r->ifname, why, hint);
    atomic_store(&r->failed, true);
}

static void fail_pcap(struct vt_receiver *r, int rc)
{
    fail(r, rc == PCAP_ERROR ? pcap_geterr(r->p) : pcap_statustostr(rc), "is the interface up?");
}

/* The interface's IFF_UP and IFF_RUNNING flags; -1 with errno if they cannot
 * be read (ENODEV: it is gone). */
static int link_flags(struct vt_receiver *r)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, r->ifname, strnlen(r->ifname, sizeof ifr.ifr_name - 1));
    if (ioctl(pcap_fileno(r->p), SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    return ifr.ifr_flags & (IFF_UP | IFF_RUNNING);
}

/* libpcap reports an interface that disappears, but one that goes down (or
 * loses its carrier) only stops delivering, as if every answer were lost on
 * the way: that is a failure to capture too, so look every ~100 ms. */
static bool link_lost(struct vt_receiver *r)
{
    int f = link_flags(r);
    if (f < 0 && errno == ENODEV) {
        fail(r, "the interface disappeared", "scan again once it is back");
        return true;
    }
    if (f >= 0 && (r->link_flags & ~f) != 0) {
        fail(r, f & IFF_UP ? "the interface lost its carrier" : "the interface went down",
             "scan again once it is up");
        return true;
    }
    return false;
}

/* Hands the callback what the ring holds, without waiting. False on failure. */
static bool read_ring(struct vt_receiver *r)
{
    int n = pcap_dispatch(r->p, -1, on_packet, (u_char *)r);
    atomic_store_explicit(&r->received, r->received_local, memory_order_relaxed);
    if (n < 0) {
        fail_pcap(r, n);
        return false;
    }
    return true;
}

static void *recv_main(void *arg)
{
    struct vt_receiver *r = arg;
    struct pollfd pfd = {pcap_get_selectable_fd(r->p), POLLIN, 0};
    bool ok = true;
    while (ok && !atomic_load(&r->stop)) {
        /* POLLERR too (no need to ask): libpcap reads the socket's error in
         * pcap_dispatch and says whether the interface is gone. */
        int pr = poll(&pfd, 1, RECV_TIMEOUT_MS);
        if (pr < 0 && errno != EINTR) {
            fail(r, strerror(errno), "poll on the capture socket");
            break;
        }
        if (pr > 0)
            ok = read_ring(r);
        uint64_t now = vt_now_ns();
        if (ok && now - r->stats_ns >= STATS_EVERY_NS) {
            r->stats_ns = now;
            update_drops(r);
            ok = !link_lost(r);
        }
    }
    /* Stopping: answers already in the ring came in time; take them too. */
    for (int i = 0; ok && i < RECV_DRAIN_ROUNDS && poll(&pfd, 1, 0) > 0; i++)
        ok = read_ring(r);
    update_drops(r);
    return NULL;
}

struct vt_receiver *vt_receiver_open(const char *ifname, const char *bpf, vt_recv_cb cb, void *arg,
                                     char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct vt_receiver *r = calloc(1, sizeof *r);
    if (!r) {
        vt_set_err(err, errlen, "receiver: out of memory");
        return NULL;
    }
    r->cb = cb;
    r->arg = arg;
    snprintf(r->ifname, sizeof r->ifname, "%s", ifname);
    r->p = pcap_create(ifname, perr);
    if (!r->p) {
        vt_set_err(err, errlen, "cannot capture on %s: %s", ifname, perr);
        goto fail;
    }
    if (pcap_set_snaplen(r->p, RECV_SNAPLEN) != 0 || pcap_set_promisc(r->p, 0) != 0 ||
        pcap_set_immediate_mode(r->p, 1) != 0 || pcap_set_buffer_size(r->p, RECV_BUFFER) != 0 ||
        pcap_set_timeout(r->p, RECV_TIMEOUT_MS) != 0) {
        vt_set_err(err, errlen, "cannot set capture options on %s: %s", ifname, pcap_geterr(r->p));
        goto fail;
    }
    int rc = pcap_activate(r->p);
    if (rc < 0) {
        const char *hint = rc == PCAP_ERROR_PERM_DENIED      ? "run as root or grant CAP_NET_RAW"
                           : rc == PCAP_ERROR_NO_SUCH_DEVICE ? "see ip link; pass --interface"
                           : rc == PCAP_ERROR_IFACE_NOT_UP   ? "ip link set it up"
                                                             : "check the interface";
        vt_set_err(err, errlen, "cannot capture on %s: %s (%s)", ifname,
                   rc == PCAP_ERROR ? pcap_geterr(r->p) : pcap_statustostr(rc), hint);
        goto fail;
    }
    /* rc > 0 is a warning (e.g. promiscuous mode unsupported): harmless here. */
    if (pcap_datalink(r->p) != DLT_EN10MB) {
        vt_set_err(err, errlen,
                   "cannot capture on %s: link type %s is not Ethernet (pass --interface)", ifname,
                   pcap_datalink_val_to_name(pcap_datalink(r->p)));
        goto fail;
    }
    if (pcap_setdirection(r->p, PCAP_D_IN) != 0) {
        vt_set_err(err, errlen, "cannot capture only inbound frames on %s: %s", ifname,
                   pcap_geterr(r->p));
        goto fail;
    }
    struct bpf_program prog;
    if (pcap_compile(r->p, &prog, bpf ? bpf : "", 1, PCAP_NETMASK_UNKNOWN) != 0) {
        vt_set_err(err, errlen, "bad capture filter \"%s\": %s", bpf ? bpf : "", pcap_geterr(r->p));
        goto fail;
    }
    rc = pcap_setfilter(r->p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        vt_set_err(err, errlen, "cannot install the capture filter on %s: %s", ifname,
                   pcap_geterr(r->p));
        goto fail;
    }
    if (pcap_setnonblock(r->p, 1, perr) != 0 || pcap_get_selectable_fd(r->p) < 0) {
        vt_set_err(err, errlen, "cannot poll the capture on %s: %s", ifname, perr);
        goto fail;
    }
    return r;
fail:
    if (r->p)
        pcap_close(r->p);
    free(r);
    return NULL;
}

int vt_receiver_run(struct vt_receiver *r, char *err, size_t errlen)
{
    r->stats_ns = vt_now_ns();
    r->link_flags = link_flags(r);
    if (r->link_flags < 0)
        r->link_flags = 0; /* not an interface we can ask (a savefile): no link to lose */
    int e = pthread_create(&r->thread, NULL, recv_main, r);
    if (e != 0) {
        vt_set_err(err, errlen, "cannot start the receive thread: %s", strerror(e));
        return -1;
    }
    r->running = true;
    (void)pthread_setname_np(r->thread, "vt-recv"); /* for top -H; failure is harmless */
    return 0;
}

struct vt_receiver *vt_receiver_start(const char *ifname, const char *bpf, vt_recv_cb cb, void *arg,
                                      char *err, size_t errlen)
{
    struct vt_receiver *r = vt_receiver_open(ifname, bpf, cb, arg, err, errlen);
    if (r && vt_receiver_run(r, err, errlen) != 0) {
        vt_receiver_close(r);
        return NULL;
    }
    return r;
}

void vt_receiver_stats(struct vt_receiver *r, struct vt_recv_stats *st)
{
    st->received = atomic_load_explicit(&r->received, memory_order_relaxed);
    st->dropped = atomic_load(&r->dropped);
}

const char *vt_receiver_error(struct vt_receiver *r)
{
    return atomic_load(&r->failed) ? r->err : NULL;
}

void vt_receiver_stop(struct vt_receiver *r)
{
    if (!r || !r->running)
        return;
    atomic_store(&r->stop, true); /* seen within one poll timeout */
    int e = pthread_join(r->thread, NULL);
    if (e != 0) /* cannot happen for a joinable thread we started */
        fprintf(stderr, "vantage-worker: cannot join the receive thread: %s\n", strerror(e));
    r->running = false;
}

void vt_receiver_close(struct vt_receiver *r)
{
    if (!r)
        return;
    vt_receiver_stop(r);
    pcap_close(r->p);
    free(r);
}

/* ---- the intake ---- */

struct vt_intake {
    struct vt_result *slot;
    uint32_t mask;               /* queue_size − 1 */
    _Atomic uint32_t head, tail; /* head: next to write (producer); tail: next to read */
    _Atomic uint64_t dropped;
    /* de-duplication, the producer's alone: key + 1 per slot, 0 = empty */
    uint64_t *gen[2];
    uint64_t set_mask; /* 2^dedup_bits − 1 */
    uint32_t used;     /* keys in gen[0] */
};

struct vt_intake *vt_intake_new(uint32_t queue_size, unsigned dedup_bits)
{
    if (queue_size < 2 || (queue_size & (queue_size - 1)) != 0 || dedup_bits < 2 || dedup_bits > 30)
        return NULL;
    struct vt_intake *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->mask = queue_size - 1;
    in->set_mask = ((uint64_t)1 << dedup_bits) - 1;
    in->slot = calloc(queue_size, sizeof *in->slot);
    in->gen[0] = calloc((size_t)1 << dedup_bits, sizeof(uint64_t));
    in->gen[1] = calloc((size_t)1 << dedup_bits, sizeof(uint64_t));
    if (!in->slot || !in->gen[0] || !in->gen[1]) {
        vt_intake_free(in);
        return NULL;
    }
    return in;
}

void vt_intake_free(struct vt_intake *in)
{
    if (!in)
        return;
    free(in->slot);
    free(in->gen[0]);
    free(in->gen[1]);
    free(in);
}

static uint64_t dedup_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

/* A generation is never more than half full (see dedup_insert), so the probe
 * always reaches an empty slot. */
static bool dedup_find(const struct vt_intake *in, const uint64_t *set, uint64_t key)
{
    for (uint64_t i = dedup_hash(key) & in->set_mask;; i = (i + 1) & in->set_mask) {
        if (set[i] == 0)
            return false;
        if (set[i] == key)
            return true;
    }
}

static void dedup_insert(struct vt_intake *in, uint64_t key)
{
    if (in->used == (in->set_mask + 1) / 2) { /* half full: retire the older generation */
        uint64_t *old = in->gen[1];
        memset(old, 0, (in->set_mask + 1) * sizeof(uint64_t));
        in->gen[1] = in->gen[0];
        in->gen[0] = old;
        in->used = 0;
    }
    uint64_t i = dedup_hash(key) & in->set_mask;
    while (in->gen[0][i] != 0)
        i = (i + 1) & in->set_mask;
    in->gen[0][i] = key;
    in->used++;
}

enum vt_offer vt_intake_offer(struct vt_intake *in, const struct vt_result *r)
{
    uint64_t key = ((uint64_t)r->addr << 16 | r->port) + 1;
    if (dedup_find(in, in->gen[0], key) || dedup_find(in, in->gen[1], key))
        return VT_OFFER_DUPLICATE;
    uint32_t h = atomic_load_explicit(&in->head, memory_order_relaxed);
    uint32_t t = atomic_load_explicit(&in->tail, memory_order_acquire);
    if (h - t > in->mask) {
        /* Full: the answer is lost, but not marked seen, so its next copy is taken. */
        atomic_fetch_add_explicit(&in->dropped, 1, memory_order_relaxed);
        return VT_OFFER_DROPPED;
    }
    in->slot[h & in->mask] = *r;
    atomic_store_explicit(&in->head, h + 1, memory_order_release);
    dedup_insert(in, key); /* only now: queued means kept */
    return VT_OFFER_QUEUED;
}

bool vt_intake_take(struct vt_intake *in, struct vt_result *r)
{
    uint32_t t = atomic_load_explicit(&in->tail, memory_order_relaxed);
    uint32_t h = atomic_load_explicit(&in->head, memory_order_acquire);
    if (t == h)
        return false;
    *r = in->slot[t & in->mask];
    atomic_store_explicit(&in->tail, t + 1, memory_order_release);
    return true;
}

uint64_t vt_intake_dropped(const struct vt_intake *in)
{
    return atomic_load_explicit(&in->dropped, memory_order_relaxed);
}
