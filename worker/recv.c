/* recv.c: the libpcap receive thread; see recv.h.
 *
 * Capture is set up completely on the caller's thread (activate, direction,
 * filter) before the thread starts, so vt_receiver_start() returns with the
 * filter in the kernel and packets queuing. The thread loops on pcap_dispatch;
 * with a 100 ms read timeout and pcap_breakloop() (which libpcap 1.10 also
 * wakes through an eventfd), stopping takes at most about 100 ms.
 *
 * pcap_stats() is only called on the receive thread (it reads and resets
 * kernel counters, and libpcap handles are not thread-safe); the figures are
 * published through atomics. `dropped` is ps_drop (the socket's ring was full:
 * our thread fell behind) plus ps_ifdrop (the interface's own rx_dropped since
 * open, which on Linux counts drops for every reader of that interface). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "recv.h"

#include "cli.h"
#include "ratelimit.h"

#include <pcap/pcap.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECV_SNAPLEN    1600       /* whole frames: the parser wants every IP byte */
#define RECV_BUFFER     (32 << 20) /* resident in full: keeps the worker under 64 MiB */
#define RECV_TIMEOUT_MS 100
#define STATS_EVERY_NS  100000000ULL

struct vt_receiver {
    pcap_t *p;
    pthread_t thread;
    bool running; /* thread started (vt_receiver_run) */
    vt_recv_cb cb;
    void *arg;
    atomic_bool stop;
    atomic_uint_fast64_t received, dropped;
    uint64_t received_local; /* the thread's own count, published per dispatch */
    uint64_t stats_ns;
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
    if (pcap_stats(r->p, &ps) == 0)
        atomic_store(&r->dropped, (uint64_t)ps.ps_drop + ps.ps_ifdrop);
}

static void *recv_main(void *arg)
{
    struct vt_receiver *r = arg;
    while (!atomic_load(&r->stop)) {
        int n = pcap_dispatch(r->p, -1, on_packet, (u_char *)r);
        atomic_store_explicit(&r->received, r->received_local, memory_order_relaxed);
        if (n == PCAP_ERROR) {
            snprintf(r->err, sizeof r->err, "capture on %s failed: %s (is the interface up?)",
                     r->ifname, pcap_geterr(r->p));
            atomic_store(&r->failed, true);
            break;
        }
        /* n == PCAP_ERROR_BREAK: vt_receiver_stop() asked; the loop test ends it. */
        uint64_t now = vt_now_ns();
        if (now - r->stats_ns >= STATS_EVERY_NS) {
            r->stats_ns = now;
            update_drops(r);
        }
    }
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
        vt_receiver_stop(r);
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
    if (!r)
        return;
    atomic_store(&r->stop, true);
    pcap_breakloop(r->p);
    int e = r->running ? pthread_join(r->thread, NULL) : 0;
    if (e != 0) /* cannot happen for a joinable thread we started */
        fprintf(stderr, "vantage-worker: cannot join the receive thread: %s\n", strerror(e));
    pcap_close(r->p);
    free(r);
}
