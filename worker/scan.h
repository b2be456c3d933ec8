/* scan.h: the scan engine: walks a target space in cyclic-group order, sends
 * probes at a paced rate, validates answers and hands out one result per
 * (address, port).
 *
 * Threads: the caller's thread sends (walk → frame → ring, no system call per
 * probe); a libpcap thread receives, validates and enqueues; an output thread
 * formats results in batches. vt_scan_run() returns when the walk is done and
 * the cooldown has passed, or at once if capture fails: a scan that cannot
 * hear answers is never reported complete. */
#ifndef VANTAGE_SCAN_H
#define VANTAGE_SCAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "output.h"
#include "ports.h"
#include "send.h"
#include "targets.h"

/* Where results go: the CLI writes them with an output module; a lease streams
 * them to the coordinator. Called from the output thread only. */
struct vt_result_sink {
    int (*write)(void *arg, const struct vt_result *r);
    int (*flush)(void *arg);
    void *arg;
};

struct vt_scan_config {
    struct vt_targets *targets; /* already minus the blocklist; not empty */
    const struct vt_ports *ports;
    uint64_t rate;             /* probes per second, all probes counted; 0 = unlimited */
    unsigned probes;           /* probes per (address, port), >= 1 */
    unsigned cooldown;         /* seconds to wait for late answers */
    uint64_t seed;             /* walk order and probe cookies */
    uint64_t shard_i, shard_n; /* scan arc shard_i of shard_n (0 of 1 = all) */
    /* A lease's arc instead of a shard: steps [arc_first, arc_first + arc_steps)
     * of the cycle, resumed after arc_done of them. */
    bool arc_given;
    uint64_t arc_first, arc_steps, arc_done;
    const char *ifname;    /* NULL: from the route to the first target */
    uint32_t source_ip;    /* 0: the interface's */
    const uint8_t *gw_mac; /* NULL: from the neighbour table */
    enum vt_send_mode send_mode;
    bool status; /* print a status line each second on stderr */
    struct vt_result_sink sink;
    struct vt_scan_control *control; /* NULL when run by hand */
    /* Packets spent of the rate budget by others (the banner stage's grabs,
     * enrich.h): the send loop pays them before it sends probes. NULL: none. */
    _Atomic uint64_t *debt;
};

/* What another thread may change while a scan runs (a lease's uplink), and
 * what the scan tells it. Every field is read by the send loop once per batch. */
struct vt_scan_control {
    _Atomic uint64_t rate; /* probes per second; replaces cfg->rate when non-zero */
    _Atomic bool stop;     /* finish now: no more probes, short cooldown */
    /* Extra opt-outs to skip from now on; swapped whole, never freed during the
     * scan (the owner frees old sets after vt_scan_run returns). */
    _Atomic(const struct vt_targets *) blocklist;
    /* Called from the send thread about once a second and at the end, with the
     * arc's steps done (absolute within the arc, arc_done included). Steps are
     * reported only once their answers had the cooldown to arrive, so every
     * result of steps <= done that was captured has been handed to the sink:
     * a safe checkpoint. `dropped` is the answers lost so far (capture drops
     * + queue drops, as in vt_scan_summary; it only grows): when it is not 0,
     * the results of the steps done may be incomplete, and the last call's
     * figure covers the whole scan. A scan whose capture failed ends with
     * finished false, a checkpoint no later than the failure, and -1. */
    void (*progress)(void *arg, uint64_t done, bool finished, uint64_t dropped);
    void *progress_arg;
};

struct vt_scan_summary {
    uint64_t targets; /* (address, port) elements in this arc's space */
    uint64_t sent;    /* frames sent */
    uint64_t answers; /* valid answers (before de-duplication) */
    uint64_t results; /* results handed to the sink (open + closed) */
    uint64_t open, closed;
    /* Answers lost, whatever became of the scan: pcap_drops are frames the
     * capture could not keep (its ring was full; pcap ps_drop + ps_ifdrop),
     * queue_drops answers the output thread's queue had no room for. When
     * either is not 0 the results are incomplete (a later copy of a dropped
     * answer may still have made it; the counts cannot tell). */
    uint64_t pcap_drops, queue_drops;
    uint64_t send_failures;
    double send_seconds; /* first probe to last */
    double seconds;      /* the whole run, cooldown included */
};

/* Runs the scan. Returns 0, or -1 with a one-line reason in err: setup, a
 * send failure, a capture failure (the receiver stopped hearing answers), or
 * results the sink could not write. sum is filled in either case. Drops do not
 * make it fail: the caller decides (see pcap_drops). */
int vt_scan_run(const struct vt_scan_config *cfg, struct vt_scan_summary *sum, char *err,
                size_t errlen);

#endif
