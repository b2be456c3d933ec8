/* policy.h: a partner ISP's local policy for its worker, and the checks that
 * hold it against whatever a coordinator asks.
 *
 * The policy is what the worker's operator allows: the address scope it may
 * probe (--scope, with the ranges of --exclude cut out of it), the ports, and
 * a rate ceiling. It travels in Hello so the coordinator can lease within it
 * (it cuts campaigns along the scopes it is told, so excluded space goes to
 * other workers or waits), and the worker checks every lease itself anyway
 * (docs/protocol.md, "Leases"): a lease whose targets are not all inside the
 * scope, or whose ports are not all allowed, is refused with a one-line
 * reason naming --exclude when that is what it reaches into. The scan of a
 * lease gets everything outside the scope, exclusions included, as its
 * opt-out list, so no probe goes there even if a lease got past the check.
 * Nothing a coordinator sends can change the policy. These are pure
 * functions, so tests/unit/test_policy.c covers them without a network. */
#ifndef VANTAGE_WORKER_POLICY_H
#define VANTAGE_WORKER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ports.h"
#include "targets.h"
#include "vantage.pb-c.h"

struct vt_policy {
    struct vt_targets scope;   /* addresses the worker may probe: --scope − --exclude */
    struct vt_targets exclude; /* --exclude as given (for messages; may be empty) */
    struct vt_ports ports;     /* ports it may probe */
    uint64_t max_rate;         /* probes per second; 0 = no ceiling */
};

/* scope_spec NULL: all of IPv4 minus the built-in blocklist; ports_spec NULL:
 * 1-65535. 0, or -1 with a reason naming the bad flag value. */
int vt_policy_init(struct vt_policy *p, const char *scope_spec, const char *ports_spec,
                   uint64_t max_rate, char *err, size_t errlen);
void vt_policy_free(struct vt_policy *p);

/* Cuts the ranges of exclude_spec (CIDR,... or @FILE) out of the scope, for
 * good. 0, or -1 with a reason naming --exclude (also when nothing of the
 * scope would be left to probe). */
int vt_policy_set_exclude(struct vt_policy *p, const char *exclude_spec, char *err, size_t errlen);

/* 0 if the lease's targets are inside the scope and its ports allowed; else
 * -1 with a reason naming the first offending range (and --exclude when the
 * range is or reaches into excluded space). Also refuses an empty or
 * malformed lease (no targets, no ports, reversed ranges). */
int vt_policy_check_lease(const struct vt_policy *p, const Vantage__Lease *lease, char *reason,
                          size_t len);

/* The rate to run at: the lease's, at most max_rate. A lease rate of 0 means
 * "unlimited" and becomes max_rate. */
uint64_t vt_policy_clamp_rate(const struct vt_policy *p, uint64_t rate);

/* Everything the worker must never probe: the complement of the scope, so
 * the excluded ranges too, into out (initialised by the caller). The scan of
 * every lease gets it as part of its opt-out list. 0, or -1 on ENOMEM. */
int vt_policy_outside(const struct vt_policy *p, struct vt_targets *out);

/* The policy as Hello carries it (the scope without the exclusions). Fills pol and allocates its
 * arrays; free with vt_policy_proto_free. 0, or -1 on ENOMEM. */
int vt_policy_to_proto(const struct vt_policy *p, Vantage__Policy *pol);
void vt_policy_proto_free(Vantage__Policy *pol);

#endif
