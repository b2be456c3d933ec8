/* uplink.h: the worker's session with its coordinator (docs/protocol.md).
 *
 * One thread owns the DEALER socket: it says Hello with the local policy on
 * every (re)connection, keeps the heartbeat, checks each Lease against the
 * policy (refusing what reaches outside it), sends spooled result batches
 * within the coordinator's credit, drops them when acknowledged, and forwards
 * the lease runner's progress. ZeroMQ sockets are not thread-safe, so the
 * lease runner never touches the DEALER: it posts its events on an inproc
 * PAIR socket (vt_uplink_post_*), and the uplink calls the runner through
 * struct vt_lease_ops. Tests plug in a fake runner; ops.start NULL means
 * "no scanner": every lease is refused. */
#ifndef VANTAGE_WORKER_UPLINK_H
#define VANTAGE_WORKER_UPLINK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "policy.h"
#include "spool.h"
#include "vantage.pb-c.h"

struct vt_uplink;

/* What the uplink asks of the lease runner; called from the uplink thread. */
struct vt_lease_ops {
    /* Runs a lease that passed the policy, at `rate` (already clamped). 0, or
     * -1 with a one-line reason (sent back as LeaseRefused). */
    int (*start)(void *arg, const Vantage__Lease *lease, uint64_t rate, char *err, size_t errlen);
    void (*set_rate)(void *arg, uint64_t rate);
    void (*add_blocklist)(void *arg, const Vantage__BlocklistAdd *add);
    void (*stop)(void *arg); /* LeaseCancel semantics: end soon, report progress */
    void *arg;
};

struct vt_uplink_config {
    const char *endpoint;   /* tcp://HOST:PORT */
    const char *server_key; /* the coordinator's public key, Z85 */
    zcert_t *cert;          /* this worker's key pair */
    const char *name;
    const struct vt_policy *policy;
    struct vt_spool *spool;
    struct vt_lease_ops ops;
    bool quiet; /* no log lines (tests) */
    /* Called on the uplink's thread at every turn of its loop (at least every
     * 100 ms): the daemon's own housekeeping — a reload asked by SIGHUP, the
     * metrics text, systemd's status and watchdog. NULL: none. */
    void (*on_turn)(void *arg, struct vt_uplink *up);
    void *turn_arg;
};

/* What the session is doing, for metrics and status lines (read on the
 * uplink's thread, e.g. from on_turn). */
struct vt_uplink_stats {
    bool connected;          /* welcomed by the coordinator */
    uint64_t lease_id;       /* running lease, 0: none */
    char campaign[65];       /* its campaign */
    uint64_t rate;           /* its rate, probes/s */
    uint64_t leases_started; /* leases taken since the start */
    uint64_t leases_refused; /* leases refused (policy, a failed scan, ...) */
    uint64_t batches_sent;   /* result batches sent (re-sends included) */
    uint64_t batches_acked;  /* acknowledged: stored by the coordinator */
    uint64_t connects;       /* Welcomes after not being connected */
};

/* Prepares the session (no connection yet). NULL with err set. */
struct vt_uplink *vt_uplink_new(const struct vt_uplink_config *cfg, char *err, size_t errlen);
void vt_uplink_destroy(struct vt_uplink **up);

/* Where the lease runner posts its events: connect a PAIR socket here
 * (zsock_new_pair(">" endpoint)) before vt_uplink_run. */
const char *vt_uplink_events_endpoint(const struct vt_uplink *up);

/* Runs the session until *stop becomes true; then stops a running lease,
 * waits (bounded) for its last progress, sends what credit allows and
 * returns 0. Returns -1 with err on a failure the worker cannot mend alone. */
int vt_uplink_run(struct vt_uplink *up, atomic_bool *stop, char *err, size_t errlen);

/* Why the worker is not connected, when the handshake said ("" otherwise):
 * its key refused by the coordinator (not enrolled or revoked), a CURVE
 * failure (a wrong --server-key), or the coordinator unreachable. Read it
 * from the uplink thread, or after vt_uplink_run returned. */
const char *vt_uplink_problem(const struct vt_uplink *up);

void vt_uplink_stats(const struct vt_uplink *up, struct vt_uplink_stats *st);

/* The policy's max_rate changed (a reload): a running lease is clamped at
 * once, and the coordinator hears the new ceiling in a Hello. Call on the
 * uplink's thread (on_turn). */
void vt_uplink_policy_changed(struct vt_uplink *up);

/* Lease-runner side, on its own PAIR socket. `done` is a safe checkpoint:
 * every result of those steps is in the spool. `dropped`: answers the scan
 * lost so far (capture or queue drops); a slot with drops is not whole. */
int vt_uplink_post_progress(zsock_t *events, uint64_t lease_id, uint64_t done, bool finished,
                            uint64_t dropped);
/* The lease ended; error NULL or "" if it ran to its end or was stopped. */
int vt_uplink_post_ended(zsock_t *events, uint64_t lease_id, const char *error);

#endif
