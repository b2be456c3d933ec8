/* fuzz_envelope.c: libFuzzer target for the wire edge, vt_envelope_unpack()
 * (proto/envelope.c), where every message from a peer enters either program,
 * and for the worker's check of a lease against its operator's policy
 * (worker/policy.c), the first thing done with a Lease body.
 *
 * The input is one message as a socket delivers it. Beyond "no crash, no
 * leak", it checks what envelope.h promises: a refusal says why; an envelope
 * given back speaks our version and has a body; it packs again, and what it
 * packs to is accepted and packs to the same bytes (unknown fields survive
 * round trips, docs/protocol.md); and a lease the policy lets through is inside the
 * policy's scope and ports. */
#include "envelope.h"
#include "fuzz.h"
#include "policy.h"

static const struct vt_policy *policy(void)
{
    static struct vt_policy p;
    static int ready;
    char err[256];
    if (!ready) {
        fuzz_check(vt_policy_init(&p, "198.18.0.0/15,203.0.113.0/24", "23,80,8000-8100", 1000, err,
                                  sizeof err) == 0);
        ready = 1;
    }
    return &p;
}

static void check_lease(const Vantage__Lease *lease)
{
    char reason[256];
    const struct vt_policy *p = policy();

    memset(reason, 'x', sizeof reason);
    if (vt_policy_check_lease(p, lease, reason, sizeof reason) != 0) {
        fuzz_check_err(reason, sizeof reason);
        return;
    }
    fuzz_check(lease->n_targets > 0 && lease->n_ports > 0);
    for (size_t i = 0; i < lease->n_targets; i++) {
        const Vantage__Range *r = lease->targets[i];
        struct vt_targets t;
        vt_targets_init(&t);
        fuzz_check(r->first <= r->last);
        fuzz_check(vt_targets_add_range(&t, r->first, r->last) == 0);
        fuzz_check(vt_targets_subtract(&t, &p->scope) == 0);
        fuzz_check(t.n == 0); /* nothing of the range is outside the scope */
        vt_targets_free(&t);
    }
    for (size_t i = 0; i < lease->n_ports; i++) {
        const Vantage__PortRange *r = lease->ports[i];
        fuzz_check(r->first >= 1 && r->first <= r->last && r->last <= 65535);
        for (uint32_t port = r->first; port <= r->last; port++)
            fuzz_check(vt_ports_contains(&p->ports, (uint16_t)port));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    uint8_t *b1, *b2;
    size_t n1, n2;

    memset(err, 'x', sizeof err);
    Vantage__Envelope *env = vt_envelope_unpack(data, size, err, sizeof err);
    if (!env) {
        fuzz_check_err(err, sizeof err);
        return 0;
    }
    fuzz_check(env->version == VT_PROTOCOL_VERSION);
    fuzz_check(env->body_case != VANTAGE__ENVELOPE__BODY__NOT_SET);

    fuzz_check(vt_envelope_pack(env, &b1, &n1) == 0);
    Vantage__Envelope *again = vt_envelope_unpack(b1, n1, err, sizeof err);
    if (!again) {
        fprintf(stderr, "repacked envelope refused: %s\n", err);
        abort();
    }
    fuzz_check(again->body_case == env->body_case);
    fuzz_check(vt_envelope_pack(again, &b2, &n2) == 0);
    fuzz_check(n1 == n2 && memcmp(b1, b2, n1) == 0);

    if (env->body_case == VANTAGE__ENVELOPE__BODY_LEASE)
        check_lease(env->lease);

    free(b1);
    free(b2);
    vt_envelope_free(again);
    vt_envelope_free(env);
    return 0;
}
