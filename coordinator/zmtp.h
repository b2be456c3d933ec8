/* zmtp.h: the operator CLI's end of the control socket, a ZeroMQ REQ socket
 * spoken directly: ZMTP 3.0 (rfc.zeromq.org/spec:23) with the NULL mechanism
 * over a Unix stream socket, which is all libzmq's ipc:// transport is.
 *
 * Why not libzmq: the CLI makes one request per command, and loading libzmq
 * (and the 14 libraries it brings: Kerberos, PGM, NORM, libstdc++, ...) and
 * starting its two threads took longer than most replies do
 * (docs/performance.md, "Store"). The daemon keeps its libzmq REP socket;
 * nothing on the wire changes, and any ZeroMQ REQ or DEALER client still talks
 * to it.
 *
 * What this speaks is the subset a REQ client needs against libzmq's REP:
 *   greeting (64 bytes each way) → READY each way (Socket-Type REQ / REP) →
 *   request: an empty delimiter frame, then one frame →
 *   reply: an empty delimiter frame, then one frame or more.
 * The steps go one after the other, as libzmq's own client takes them: our
 * greeting, theirs, our READY, theirs, then the request (libzmq's engine
 * refuses a READY that arrives with the greeting). Every wait is bounded by
 * a deadline; everything the peer sends is checked before it is used (the
 * parsers below are also what tests/fuzz/fuzz_zmtp.c runs). */
#ifndef VANTAGE_ZMTP_H
#define VANTAGE_ZMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_ZMTP_GREETING   64
#define VT_ZMTP_MAX_FRAMES 4 /* frames of one reply after the delimiter */

/* ---- the parsers of what the peer sends ---- */

/* Checks the peer's greeting: the ZMTP signature, version 3 or later, and
 * the NULL mechanism. 0, or -1 with err saying what the peer is instead. */
int vt_zmtp_greeting_check(const uint8_t g[VT_ZMTP_GREETING], char *err, size_t errlen);

/* One frame's header: flags, then the size in 1 byte (short) or 8 (long,
 * big-endian). */
struct vt_zmtp_head {
    bool more;    /* another frame of the same message follows */
    bool command; /* a command (READY, ERROR, PING), not a message frame */
    uint64_t size;
};
/* Parses the header at p (n bytes there): its length (2 or 9), 0 if n is
 * too short to tell, or -1 with err set (reserved flag bits, a command
 * with MORE, a size over max). */
int vt_zmtp_head_parse(const uint8_t *p, size_t n, uint64_t max, struct vt_zmtp_head *h, char *err,
                       size_t errlen);

/* The body of the peer's first command: READY whose Socket-Type is want
 * ("REP"), or ERROR (its reason goes into err). 0, or -1 with err set. */
int vt_zmtp_ready_check(const uint8_t *body, size_t n, const char *want, char *err, size_t errlen);

/* ---- one connection ---- */

struct vt_zmtp {
    int fd;             /* -1: closed */
    int64_t deadline;   /* CLOCK_MONOTONIC ms: the current wait ends then */
    uint64_t max_frame; /* larger frames are refused */
    size_t pos, len;    /* buf[pos, len): read from fd, for the next parse */
    uint8_t buf[8192];
};

/* One frame of a reply: malloc'ed, NUL-terminated (not counted in len). */
struct vt_zmtp_frame {
    char *data;
    size_t len;
};

/* Connects to the Unix socket path ("@name": the abstract namespace) and
 * shakes hands within timeout_ms. 0, or -1 with err set: nothing listening,
 * a peer that is not a ZeroMQ REP socket, no handshake in time. */
int vt_zmtp_connect(struct vt_zmtp *z, const char *path, int timeout_ms, uint64_t max_frame,
                    char *err, size_t errlen);

/* vt_zmtp_connect on a socket already connected (tests, the fuzz target):
 * z owns fd from here on, whatever the outcome. */
int vt_zmtp_handshake(struct vt_zmtp *z, int fd, int timeout_ms, uint64_t max_frame, char *err,
                      size_t errlen);

/* Sends one request (one frame after the delimiter) within timeout_ms. 0, or -1. */
int vt_zmtp_send(struct vt_zmtp *z, const void *data, size_t len, int timeout_ms, char *err,
                 size_t errlen);

/* Receives one reply within timeout_ms: its frames after the delimiter
 * into f[0..*n) (at most nmax; more is refused). Command frames between
 * messages (a heartbeat's PING) are skipped. 0, or -1 with err set and
 * nothing in f; on 0 the caller frees every f[i].data. *timed_out tells a
 * reply that did not come in time from one that was bad. */
int vt_zmtp_recv(struct vt_zmtp *z, struct vt_zmtp_frame *f, size_t nmax, size_t *n, int timeout_ms,
                 bool *timed_out, char *err, size_t errlen);

/* Closes the connection (a reply still on the way is dropped). */
void vt_zmtp_close(struct vt_zmtp *z);

#endif
