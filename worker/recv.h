/* recv.h: the receive side of a scan: the libpcap thread that captures
 * answers to our probes, and the intake it hands them to on their way to the
 * output thread.
 *
 * vt_receiver_start() opens the interface (whole frames, not promiscuous,
 * immediate mode, 32 MiB kernel buffer, inbound only), installs the caller's
 * BPF filter and starts a thread that calls `cb` for each matching frame. The
 * callback runs on that thread and should only validate and enqueue (docs/performance.md). When
 * start returns, capture is live: no answer to a probe sent afterwards is missed for want of a
 * filter.
 *
 * Nothing is lost silently: frames the kernel could not hand us are counted
 * (vt_recv_stats.dropped), a capture that fails says so (vt_receiver_error),
 * and the intake counts every answer it had no room for. */
#ifndef VANTAGE_RECV_H
#define VANTAGE_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "output.h"

typedef void (*vt_recv_cb)(void *arg, const uint8_t *frame, size_t caplen,
                           const struct timeval *ts);

struct vt_receiver;

struct vt_recv_stats {
    uint64_t received; /* frames handed to the callback */
    uint64_t dropped;  /* lost before we saw them: pcap ps_drop + ps_ifdrop (see recv.c) */
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
 * updated after each pcap_dispatch() batch, `dropped` every ~100 ms; after
 * vt_receiver_stop(), both are final. */
void vt_receiver_stats(struct vt_receiver *r, struct vt_recv_stats *st);

/* If capture failed on the thread (interface gone or down, socket error), the
 * reason, else NULL. The thread stops at the first failure: from then on no
 * answer reaches the callback, so a scan must not go on as if it did. */
const char *vt_receiver_error(struct vt_receiver *r);

/* Stops the thread (within ~100 ms) after handing the callback every frame
 * already captured, and joins it. The receiver stays readable (stats, error);
 * call vt_receiver_close() to free it. Calling it twice is harmless. */
void vt_receiver_stop(struct vt_receiver *r);

/* Stops the thread if it runs, closes the capture and frees r. NULL is ignored. */
void vt_receiver_close(struct vt_receiver *r);

/* ---- the intake: answers from the receive thread to the output thread ----
 *
 * A bounded queue (one producer, the receive callback; one consumer, the
 * output thread) behind a bounded de-duplication set of (address, port). An
 * answer is taken the first time its (address, port) comes, and marked seen
 * only once it is queued: an answer the full queue had no room for is counted
 * as dropped and left unseen, so a later copy of it (--probes N, a
 * retransmitted SYN-ACK) is taken rather than refused as a duplicate.
 *
 * The set is two generations of 2^dedup_bits slots and remembers at least the
 * last 2^(dedup_bits−1) answers taken; copies of one answer arrive within
 * seconds of each other, far inside that window. */

struct vt_intake;

enum vt_offer {
    VT_OFFER_QUEUED,    /* first of its (address, port): queued for the output thread */
    VT_OFFER_DUPLICATE, /* (address, port) already taken: ignored */
    VT_OFFER_DROPPED,   /* the queue was full: lost, counted, not marked seen */
};

/* queue_size: a power of two >= 2; dedup_bits: 2..30. NULL if out of memory
 * (or the sizes are out of range). */
struct vt_intake *vt_intake_new(uint32_t queue_size, unsigned dedup_bits);
void vt_intake_free(struct vt_intake *in);

/* Producer side (one thread). */
enum vt_offer vt_intake_offer(struct vt_intake *in, const struct vt_result *r);

/* Consumer side (one thread): the oldest queued result, false if none. */
bool vt_intake_take(struct vt_intake *in, struct vt_result *r);

/* Any thread: answers lost because the queue was full, so far. */
uint64_t vt_intake_dropped(const struct vt_intake *in);

#endif
