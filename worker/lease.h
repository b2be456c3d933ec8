/* lease.h: the lease runner: runs one lease at a time with the scan engine and
 * turns its results into spooled ResultBatches and its checkpoints into
 * progress events for the uplink.
 *
 * Privileges. The scan engine opens its raw sockets and then drops every
 * privilege for good (worker/priv.c), which suits one scan per process. A
 * worker runs many leases, so each lease runs in its own short-lived process,
 * forked by a helper process that vt_lease_runner_fork() starts before any
 * thread or ZeroMQ context exists (forking a process that runs ZeroMQ is
 * unsafe). The helper becomes the worker's unprivileged user (priv.h) keeping
 * CAP_NET_RAW alone, before it reads anything, and does nothing but fork; the
 * scan process inherits that and drops everything once its sockets are open;
 * the main process, which talks to the network, becomes the same user with no
 * capability at all right after the fork (cmd_run.c).
 *
 * Main process ⇄ helper: a socketpair with frames [u32 length][u8 type][body]:
 *   from the helper, once: 'k' ready (empty), or why it could not drop to
 *                  its user (text); vt_lease_runner_fork waits for it
 *   to the scan:   'L' packed Lease (rate already clamped), 'R' u64 rate,
 *                  'B' packed BlocklistAdd, 'S' stop
 *   from the scan: 'r' results (16 bytes each), 'b' one result with its
 *                  banner (a packed Result, for open ports of a lease with
 *                  banners), 'p' progress (u64 done, u8
 *                  finished, u64 dropped: answers the scan lost so far, its
 *                  capture's and its queue's drops), 'c' once at its end,
 *                  before 'e': what the lease did (struct vt_lease_counts,
 *                  its first 8 u64: sent, answers, open, closed, pcap_drops,
 *                  queue_drops, grabs, banners), 'e' end (text: empty, or
 *                  why the scan failed, e.g. its capture failed; the helper
 *                  sends 'e' alone when a scan process died)
 * In the main process, the uplink thread writes (through vt_lease_ops) and
 * the lease thread reads: it batches results (up to 1000 or 1 s) into the
 * spool, and posts progress (dropped included, for the coordinator to re-do
 * or flag the slot) only once every result before it is spooled. Integers are
 * in host order: both ends are one binary on one host. */
#ifndef VANTAGE_WORKER_LEASE_H
#define VANTAGE_WORKER_LEASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fingerprint.h"
#include "policy.h"
#include "priv.h"
#include "spool.h"
#include "uplink.h"

/* How this host sends: the link flags of `vantage-worker run`. */
struct vt_lease_link {
    const char *ifname; /* NULL: from the route */
    uint32_t source_ip; /* 0: the interface's */
    bool have_gw_mac;
    uint8_t gw_mac[6];
};

/* How the scan process grabs banners when a lease asks for them. */
struct vt_lease_banners {
    const struct vt_rules *rules; /* loaded before the fork; NULL: no identification */
    unsigned concurrency;         /* 0: the grabber's default */
    unsigned host_cap;            /* 0: the grabber's default */
    const char *user_agent;       /* NULL: VT_BANNER_USER_AGENT */
    unsigned deadline_ms;         /* per grab; 0: the grabber's default */
};

struct vt_lease_runner;

/* What leases did: one lease's in a 'c' frame (the first 8 fields), the
 * runner's totals since its start from vt_lease_runner_totals. */
struct vt_lease_counts {
    uint64_t sent;                    /* probes sent */
    uint64_t answers;                 /* valid answers (before de-duplication) */
    uint64_t open, closed;            /* results (in one lease's frame only) */
    uint64_t pcap_drops, queue_drops; /* answers lost: the capture's, the queue's */
    uint64_t grabs, banners;          /* banner grabs tried, and those that read something */
    uint64_t spooled;                 /* totals only: results written to the spool */
    uint64_t leases;                  /* totals only: leases that ended */
};

/* Starts the helper process, which becomes `as` keeping CAP_NET_RAW (if
 * as->net_raw) and nothing else, and returns once it has. Call before any
 * thread or ZeroMQ context. NULL with err set, also when the helper could not
 * drop its privileges. */
struct vt_lease_runner *vt_lease_runner_fork(const struct vt_run_as *as,
                                             const struct vt_lease_link *link,
                                             const struct vt_policy *policy,
                                             const struct vt_lease_banners *banners, char *err,
                                             size_t errlen);

/* Starts the lease thread: results go to spool, events to the uplink's
 * events endpoint. If the helper process dies, the thread sets *stop (so the
 * worker shuts down) and vt_lease_runner_dead() turns true. 0, or -1 with
 * err set. */
int vt_lease_runner_attach(struct vt_lease_runner *lr, struct vt_spool *spool,
                           const char *events_endpoint, atomic_bool *stop, char *err,
                           size_t errlen);
bool vt_lease_runner_dead(struct vt_lease_runner *lr);
/* Totals of every lease run so far (counted when each lease ends) and of
 * results spooled (as they are); any thread. */
void vt_lease_runner_totals(struct vt_lease_runner *lr, struct vt_lease_counts *t);

/* The uplink's handle on the runner. */
struct vt_lease_ops vt_lease_runner_ops(struct vt_lease_runner *lr);

/* Ends the helper (and a scan still running), joins the lease thread. */
void vt_lease_runner_destroy(struct vt_lease_runner **lr);

#endif
