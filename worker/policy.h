/* policy.h: a partner ISP's local policy for its worker, and the checks that
 * hold it against whatever a coordinator asks.
 *
 * The policy is what the worker's operator allows: the address scope it may
 * probe, the ports, and a rate ceiling. It travels in Hello so the coordinator
 * can lease within it, and the worker checks every lease itself anyway
 * (docs/protocol.md, "Leases"): a lease whose targets are not all inside the
 * scope, or whose ports are not all allowed, is refused with a one-line
 * reason. These are pure functions, so tests/unit/test_policy.c covers them
 * without a network. */
#ifndef VANTAGE_WORKER_POLICY_H
#define VANTAGE_WORKER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ports.h"
#include "targets.h"
#include "vantage.pb-c.h"

struct vt_policy {
    struct vt_targets scope; /* addresses the worker may probe */
    struct vt_ports ports;   /* ports it may probe */
    uint64_t max_rate;       /* probes per second; 0 = no ceiling */
};

/* scope_spec NULL: all of IPv4 minus the built-in blocklist; ports_spec NULL:
 * 1-65535. 0, or -1 with a reason naming the bad flag value. */
int vt_policy_init(struct vt_policy *p, const char *scope_spec, const char *ports_spec,
                   uint64_t max_rate, char *err, size_t errlen);
void vt_policy_free(struct vt_policy *p);

/* 0 if the lease's targets are inside the scope and its ports allowed; else
 * -1 with a reason naming the first offending range. Also refuses an
 * empty or malformed lease (no targets, no ports, reversed ranges). */
int vt_policy_check_lease(const struct vt_policy *p, const Vantage__Lease *lease, char *reason,
                          size_t len);

/* The rate to run at: the lease's, at most max_rate. A lease rate of 0 means
 * "unlimited" and becomes max_rate. */
uint64_t vt_policy_clamp_rate(const struct vt_policy *p, uint64_t rate);

/* The complement of the scope (everything the worker must never probe), into
 * out (initialised by the caller). 0, or -1 on ENOMEM. */
int vt_policy_outside(const struct vt_policy *p, struct vt_targets *out);

/* The policy as Hello carries it. Fills pol and allocates its arrays; free
 * with vt_policy_proto_free. 0, or -1 on ENOMEM. */
int vt_policy_to_proto(const struct vt_policy *p, Vantage__Policy *pol);
void vt_policy_proto_free(Vantage__Policy *pol);

#endif
