/* recv.h: the libpcap receive thread that captures answers to our probes.
 *
 * vt_receiver_start() opens the interface (whole frames, not promiscuous,
 * immediate mode, 32 MiB kernel buffer, inbound only), installs the caller's
 * BPF filter and starts a thread that calls `cb` for each matching frame. The
 * callback runs on that thread and should only validate and enqueue (DESIGN.md,
 * "Where the time goes"). When start returns, capture is live: no answer to a
 * probe sent afterwards is missed for want of a filter. */
#ifndef VANTAGE_RECV_H
#define VANTAGE_RECV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

typedef void (*vt_recv_cb)(void *arg, const uint8_t *frame, size_t caplen,
                           const struct timeval *ts);

struct vt_receiver;

struct vt_recv_stats {
    uint64_t received; /* frames handed to the callback */
    uint64_t dropped;  /* lost in the kernel: pcap ps_drop + ps_ifdrop (see recv.c) */
};

/* Opens and filters without starting the thread (capture is live, frames
 * queue in the kernel buffer): for callers that must drop privileges, which
 * are per thread, before any thread starts. Then vt_receiver_run(). */
struct vt_receiver *vt_receiver_open(const char *ifname, const char *bpf, vt_recv_cb cb, void *arg,
                                     char *err, size_t errlen);
int vt_receiver_run(struct vt_receiver *r, char *err, size_t errlen);

/* Open and run in one call. `bpf` is a pcap filter expression (pcap-filter(7)); NULL or "" captures
 * all. The link type must be Ethernet. Returns NULL with a one-line reason in err. */
struct vt_receiver *vt_receiver_start(const char *ifname, const char *bpf, vt_recv_cb cb, void *arg,
                                      char *err, size_t errlen);

/* Safe to call from any thread while the receiver runs: `received` is
 * updated after each pcap_dispatch() batch, `dropped` every ~100 ms. */
void vt_receiver_stats(struct vt_receiver *r, struct vt_recv_stats *st);

/* If capture failed on the thread (interface gone), the reason, else NULL. */
const char *vt_receiver_error(struct vt_receiver *r);

/* Stops the thread (within ~100 ms), joins it and frees r. NULL is ignored. */
void vt_receiver_stop(struct vt_receiver *r);

#endif
