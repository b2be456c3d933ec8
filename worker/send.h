/* send.h: batched raw Ethernet frame sending for the probe loop.
 *
 * The probe loop asks for a slot, writes one frame into it and commits it; the
 * sender hands frames to the kernel a batch at a time, so the loop makes one
 * system call per batch, never one per probe (docs/performance.md).
 *
 * Modes, fastest first:
 *   ring  PACKET_TX_RING (TPACKET_V2) on an AF_PACKET socket with
 *         PACKET_QDISC_BYPASS: frames are written in place in memory shared with
 *         the kernel and one send() transmits a whole batch;
 *   mmsg  sendmmsg() of a batch on the same kind of socket;
 *   pcap  pcap_inject(), one call per frame: the last resort.
 * VT_SEND_AUTO tries them in that order. All need root (CAP_NET_RAW) to open.
 * Ring and mmsg bypass the interface's qdisc (PACKET_QDISC_BYPASS), and with it
 * tc shaping, netdev egress hooks and packet taps: tcpdump on the sending
 * interface does not see the probes (capture at the peer, or use pcap mode).
 *
 * Counting: `sent` counts frames the kernel accepted from us (ring: frames whose
 * slot came back TP_STATUS_AVAILABLE; mmsg: frames sendmmsg() reported sent;
 * pcap: pcap_inject() successes). A frame accepted and then dropped further on
 * (driver queue full, peer gone) still counts as sent: nothing below the
 * socket tells us. `failed` counts frames given up on: refused by the kernel
 * (malformed), or still queued when the sender failed.
 *
 * Failure: congestion (ENOBUFS/EAGAIN) is retried with a back-off of 20 us to
 * 1 ms; if the link takes no frame for a whole second, or the interface goes
 * down or away, the sender fails for good: slot() returns NULL, commit() and
 * flush() return -1, and vt_sender_error() says why and what to check.
 *
 * Threads: a sender belongs to one thread. */
#ifndef VANTAGE_SEND_H
#define VANTAGE_SEND_H

#include <stddef.h>
#include <stdint.h>

enum vt_send_mode { VT_SEND_AUTO, VT_SEND_RING, VT_SEND_MMSG, VT_SEND_PCAP };

struct vt_sender;

struct vt_send_stats {
    uint64_t sent, failed;
};

/* Opens a sender on interface `ifname` for frames of exactly `frame_len` bytes
 * (Ethernet header included, no FCS; at most the interface MTU + 14). Returns
 * NULL with a one-line reason in err. */
struct vt_sender *vt_sender_open(const char *ifname, size_t frame_len, enum vt_send_mode mode,
                                 char *err, size_t errlen);

/* Parses "auto", "ring", "mmsg" or "pcap". Returns 0, or -1 if unknown. */
int vt_send_mode_parse(const char *s, enum vt_send_mode *mode);

/* Frames per system call (default 512 for ring, 256 for mmsg/pcap); clamped
 * to what the sender holds. For benchmarks; call before the first slot. */
void vt_sender_set_batch(struct vt_sender *s, unsigned batch);

/* Copies the template frame (frame_len bytes) into every slot once. From then
 * on a slot handed out by vt_sender_slot() holds the template except for the
 * fields written into that slot for an earlier frame, so the caller must
 * (re)write every field that varies between frames -- addresses, ports,
 * sequence number, IP id, checksums -- and may skip the memcpy. Without a
 * template a slot's contents are undefined. */
void vt_sender_set_template(struct vt_sender *s, const uint8_t *tpl);

/* Buffer for the next frame (frame_len bytes). Never allocates and makes no
 * system call unless every ring slot is in flight, in which case it kicks the
 * kernel and waits (poll) for a slot, for at most about a second. Returns
 * NULL if the sender has failed. Calling it twice without a commit returns
 * the same slot. */
uint8_t *vt_sender_slot(struct vt_sender *s);

/* The frame in the slot is ready. Sends a batch when one is full (in pcap
 * and mmsg modes, retrying congestion inside the call). Returns 0, or -1 if
 * the sender has failed (see above). */
int vt_sender_commit(struct vt_sender *s);

/* Hands every committed frame to the kernel now (one system call unless the
 * link is congested), without waiting for the driver to finish sending.
 * Frames otherwise wait until a batch is full, so a rate-limited loop must
 * call this before it sleeps, or at 1,000 pps they would leave in bursts of a
 * batch every half second. Returns 0, or -1 if the sender has failed. */
int vt_sender_flush(struct vt_sender *s);

/* Counts so far; a frame counts once the kernel has finished with it, which
 * on a NIC is a few microseconds after flush. Cheap: fine once a second. */
/* Flushes and waits (at most about a second) until the kernel has taken every
 * frame, so that the statistics that follow are final. Returns 0 or -1. */
int vt_sender_drain(struct vt_sender *s);

void vt_sender_stats(const struct vt_sender *s, struct vt_send_stats *st);

/* "ring", "mmsg" or "pcap": the mode actually in use. */
const char *vt_sender_mode_name(const struct vt_sender *s);

/* The last fatal error as one line, or NULL. */
const char *vt_sender_error(const struct vt_sender *s);

/* Flushes, waits (at most about a second) for the kernel to finish with
 * every frame, and frees. NULL is ignored. */
void vt_sender_close(struct vt_sender *s);

#endif
