/* send.h: batched raw Ethernet frame sending for the probe loop.
 *
 * The probe loop asks for a slot, writes one frame into it and commits it; the
 * sender hands frames to the kernel a batch at a time, so the loop makes one
 * system call per batch, never one per probe (DESIGN.md, "Where the time goes").
 *
 * Modes, fastest first:
 *   ring  PACKET_TX_RING (TPACKET_V2) on an AF_PACKET socket with
 *         PACKET_QDISC_BYPASS: frames are written in place in memory shared with
 *         the kernel and one send() transmits a whole batch;
 *   mmsg  sendmmsg() of a batch on the same kind of socket;
 *   pcap  pcap_inject(), one call per frame: the last resort.
 * VT_SEND_AUTO tries them in that order. All need root (CAP_NET_RAW).
 *
 * Counting: `sent` counts frames the kernel accepted from us (ring: frames whose
 * slot came back TP_STATUS_AVAILABLE; mmsg: frames sendmmsg() reported sent;
 * pcap: pcap_inject() successes). A frame accepted and then dropped further on
 * (driver queue full, peer gone) still counts as sent: nothing below the
 * socket tells us. `failed` counts frames given up on: a permanent error, or
 * ENOBUFS/EAGAIN that did not clear after about a second of back-off.
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
 * system call unless every slot is in flight, in which case it kicks the
 * kernel and waits (poll) for a slot, for at most about a second. Returns
 * NULL if none came free or the socket failed (see vt_sender_error()). Calling
 * it twice without a commit returns the same slot. */
uint8_t *vt_sender_slot(struct vt_sender *s);

/* The frame in the slot is ready. Sends a batch when one is full. Returns 0,
 * or -1 on a fatal socket error (interface gone or down; see
 * vt_sender_error()). Transient congestion is not an error: those frames are
 * retried with back-off and at worst counted as failed. */
int vt_sender_commit(struct vt_sender *s);

/* Sends everything committed and waits (at most about a second) until the
 * kernel has taken it, so that the statistics are final. Returns 0 or -1. */
int vt_sender_flush(struct vt_sender *s);

void vt_sender_stats(const struct vt_sender *s, struct vt_send_stats *st);

/* "ring", "mmsg" or "pcap": the mode actually in use. */
const char *vt_sender_mode_name(const struct vt_sender *s);

/* The last fatal error as one line, or NULL. */
const char *vt_sender_error(const struct vt_sender *s);

/* Flushes (bounded) and frees. NULL is ignored. */
void vt_sender_close(struct vt_sender *s);

#endif
