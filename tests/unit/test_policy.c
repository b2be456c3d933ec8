/* test_policy.c: unit tests for worker/policy.c, the partner's local policy.
 *
 * What a partner ISP would notice: a lease inside its scope and ports runs;
 * one that reaches outside is refused with a reason naming the first
 * offending range; the rate never exceeds --max-rate; Hello tells the
 * coordinator exactly the policy that was configured; what --exclude names is
 * in the opt-out list of every scan, and a lease that would probe nothing
 * else is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))

static char err[256];

/* A lease of up to four target ranges and four port ranges. */
struct lease_buf {
    Vantage__Lease lease;
    Vantage__Range r[4];
    Vantage__Range *rp[4];
    Vantage__PortRange p[4];
    Vantage__PortRange *pp[4];
};

static Vantage__Lease *make_lease(struct lease_buf *b, const uint32_t *ranges, size_t nr,
                                  const uint32_t *ports, size_t np)
{
    vantage__lease__init(&b->lease);
    for (size_t i = 0; i < nr; i++) {
        vantage__range__init(&b->r[i]);
        b->r[i].first = ranges[2 * i];
        b->r[i].last = ranges[2 * i + 1];
        b->rp[i] = &b->r[i];
    }
    for (size_t i = 0; i < np; i++) {
        vantage__port_range__init(&b->p[i]);
        b->p[i].first = ports[2 * i];
        b->p[i].last = ports[2 * i + 1];
        b->pp[i] = &b->p[i];
    }
    b->lease.targets = b->rp;
    b->lease.n_targets = nr;
    b->lease.ports = b->pp;
    b->lease.n_ports = np;
    return &b->lease;
}

static void lab_policy(struct vt_policy *p, uint64_t max_rate)
{
    if (vt_policy_init(p, "198.18.0.0/16", "23,80,8000-8010", max_rate, err, sizeof err) != 0)
        fail_msg("policy refused: %s", err);
}

static void lease_inside_scope_is_accepted(void **state)
{
    (void)state;
    struct vt_policy p;
    lab_policy(&p, 0);
    struct lease_buf b;
    uint32_t r[] = {IP(198, 18, 0, 0), IP(198, 18, 0, 255), IP(198, 18, 255, 0),
                    IP(198, 18, 255, 255)};
    uint32_t ports[] = {23, 23, 8000, 8010};
    char reason[256] = "";
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, r, 2, ports, 2), reason, sizeof reason), 0);
    vt_policy_free(&p);
}

static void lease_partly_outside_scope_is_refused_naming_the_range(void **state)
{
    (void)state;
    struct vt_policy p;
    lab_policy(&p, 0);
    struct lease_buf b;
    uint32_t r[] = {IP(198, 18, 0, 0), IP(198, 18, 0, 255), IP(198, 18, 255, 0),
                    IP(198, 19, 0, 3), IP(10, 0, 0, 1),     IP(10, 0, 0, 1)};
    uint32_t ports[] = {23, 23};
    char reason[256] = "";
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, r, 3, ports, 1), reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "198.18.255.0-198.19.0.3"));
    assert_non_null(strstr(reason, "scope"));
    assert_null(strstr(reason, "10.0.0.1"));
    vt_policy_free(&p);
}

static void ports_outside_allowed_are_refused(void **state)
{
    (void)state;
    struct vt_policy p;
    lab_policy(&p, 0);
    struct lease_buf b;
    uint32_t r[] = {IP(198, 18, 1, 0), IP(198, 18, 1, 9)};
    char reason[256] = "";
    uint32_t one[] = {80, 80, 22, 22};
    assert_int_equal(vt_policy_check_lease(&p, make_lease(&b, r, 1, one, 2), reason, sizeof reason),
                     -1);
    assert_non_null(strstr(reason, "port 22 "));
    uint32_t span[] = {8005, 8011};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, r, 1, span, 1), reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "8005-8011"));
    uint32_t gap[] = {23, 80}; /* 24..79 are not allowed */
    assert_int_equal(vt_policy_check_lease(&p, make_lease(&b, r, 1, gap, 1), reason, sizeof reason),
                     -1);
    uint32_t zero[] = {0, 23};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, r, 1, zero, 1), reason, sizeof reason), -1);
    vt_policy_free(&p);
}

static void empty_lease_is_refused(void **state)
{
    (void)state;
    struct vt_policy p;
    lab_policy(&p, 0);
    struct lease_buf b;
    uint32_t ports[] = {23, 23};
    char reason[256] = "";
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, NULL, 0, ports, 1), reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "no targets"));
    vt_policy_free(&p);
}

static void default_scope_excludes_the_builtin_blocklist(void **state)
{
    (void)state;
    struct vt_policy p;
    assert_int_equal(vt_policy_init(&p, NULL, NULL, 0, err, sizeof err), 0);
    struct lease_buf b;
    uint32_t ports[] = {1, 65535};
    char reason[256] = "";
    uint32_t pub[] = {IP(8, 8, 8, 0), IP(8, 8, 8, 255)};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, pub, 1, ports, 1), reason, sizeof reason), 0);
    uint32_t lab[] = {IP(198, 18, 0, 1), IP(198, 18, 0, 1)};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, lab, 1, ports, 1), reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "198.18.0.1 "));
    vt_policy_free(&p);
}

static void rate_is_clamped_to_max_rate(void **state)
{
    (void)state;
    struct vt_policy p;
    lab_policy(&p, 5000);
    assert_int_equal(vt_policy_clamp_rate(&p, 1000), 1000);
    assert_int_equal(vt_policy_clamp_rate(&p, 5000), 5000);
    assert_int_equal(vt_policy_clamp_rate(&p, 100000), 5000);
    assert_int_equal(vt_policy_clamp_rate(&p, 0), 5000); /* "unlimited" is not */
    vt_policy_free(&p);
    lab_policy(&p, 0);
    assert_int_equal(vt_policy_clamp_rate(&p, 100000), 100000);
    assert_int_equal(vt_policy_clamp_rate(&p, 0), 0);
    vt_policy_free(&p);
}

static void bad_flags_are_refused(void **state)
{
    (void)state;
    struct vt_policy p;
    assert_int_equal(vt_policy_init(&p, "198.18.0.0/33", NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "--scope"));
    assert_int_equal(vt_policy_init(&p, NULL, "80,0", 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "--allow-ports"));
}

static void hello_carries_the_policy(void **state)
{
    (void)state;
    struct vt_policy p;
    if (vt_policy_init(&p, "198.18.0.0/16,198.19.3.0/24", "23,80,8000-8010", 700, err,
                       sizeof err) != 0)
        fail_msg("policy refused: %s", err);
    Vantage__Policy pol;
    assert_int_equal(vt_policy_to_proto(&p, &pol), 0);
    assert_int_equal(pol.n_scope, 2);
    assert_int_equal(pol.scope[0]->first, IP(198, 18, 0, 0));
    assert_int_equal(pol.scope[0]->last, IP(198, 18, 255, 255));
    assert_int_equal(pol.scope[1]->first, IP(198, 19, 3, 0));
    assert_int_equal(pol.n_ports, 3);
    assert_int_equal(pol.ports[2]->first, 8000);
    assert_int_equal(pol.ports[2]->last, 8010);
    assert_true(pol.has_max_rate);
    assert_int_equal(pol.max_rate, 700);
    vt_policy_proto_free(&pol);

    struct vt_targets out;
    vt_targets_init(&out);
    assert_int_equal(vt_policy_outside(&p, &out), 0);
    assert_true(vt_targets_contains(&out, IP(10, 0, 0, 1)));
    assert_false(vt_targets_contains(&out, IP(198, 18, 7, 7)));
    assert_int_equal(vt_targets_count(&out), (1ull << 32) - 65536 - 256);
    vt_targets_free(&out);
    vt_policy_free(&p);
}

/* Excluded space is cut out of the scope: Hello tells the coordinator the
 * rest, and the scan's opt-out list — what it never probes — holds every
 * excluded address, so a lease that got past the check still probes none. */
static void excluded_ranges_are_blocked_in_every_scan(void **state)
{
    (void)state;
    struct vt_policy p;
    lab_policy(&p, 0);
    assert_int_equal(vt_policy_set_exclude(&p, "198.18.5.0/24, 198.18.200.7", err, sizeof err), 0);

    struct vt_targets blocked;
    vt_targets_init(&blocked);
    assert_int_equal(vt_policy_outside(&p, &blocked), 0);
    assert_true(vt_targets_contains(&blocked, IP(198, 18, 5, 0)));
    assert_true(vt_targets_contains(&blocked, IP(198, 18, 5, 255)));
    assert_true(vt_targets_contains(&blocked, IP(198, 18, 200, 7)));
    assert_true(vt_targets_contains(&blocked, IP(10, 0, 0, 1))); /* outside the scope, as before */
    assert_false(vt_targets_contains(&blocked, IP(198, 18, 4, 255)));
    assert_false(vt_targets_contains(&blocked, IP(198, 18, 6, 0)));
    assert_false(vt_targets_contains(&blocked, IP(198, 18, 200, 6)));
    assert_false(vt_targets_contains(&blocked, IP(198, 18, 200, 8)));
    /* Of the scope, exactly the 257 excluded addresses are blocked. */
    assert_int_equal(vt_targets_count(&blocked), (1ull << 32) - 65536 + 257);
    vt_targets_free(&blocked);

    Vantage__Policy pol;
    assert_int_equal(vt_policy_to_proto(&p, &pol), 0);
    assert_int_equal(pol.n_scope, 3);
    assert_int_equal(pol.scope[0]->first, IP(198, 18, 0, 0));
    assert_int_equal(pol.scope[0]->last, IP(198, 18, 4, 255));
    assert_int_equal(pol.scope[1]->first, IP(198, 18, 6, 0));
    assert_int_equal(pol.scope[1]->last, IP(198, 18, 200, 6));
    assert_int_equal(pol.scope[2]->first, IP(198, 18, 200, 8));
    assert_int_equal(pol.scope[2]->last, IP(198, 18, 255, 255));
    vt_policy_proto_free(&pol);
    vt_policy_free(&p);
}

/* A lease inside the exclusion, or reaching into it, is refused whole and the
 * reason names --exclude; what lies beside it runs. */
static void lease_into_excluded_space_is_refused(void **state)
{
    (void)state;
    struct vt_policy p;
    lab_policy(&p, 0);
    assert_int_equal(vt_policy_set_exclude(&p, "198.18.5.0/24,198.18.9.0/24", err, sizeof err), 0);
    struct lease_buf b;
    uint32_t ports[] = {23, 23};
    char reason[256] = "";
    uint32_t one[] = {IP(198, 18, 5, 10), IP(198, 18, 5, 20)};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, one, 1, ports, 1), reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "198.18.5.10-198.18.5.20 are excluded"));
    assert_non_null(strstr(reason, "--exclude"));
    uint32_t two[] = {IP(198, 18, 5, 0), IP(198, 18, 5, 255), IP(198, 18, 9, 1), IP(198, 18, 9, 1)};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, two, 2, ports, 1), reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "--exclude"));
    /* The whole scope, or a range straddling the edge: refused, not clipped. */
    uint32_t all[] = {IP(198, 18, 0, 0), IP(198, 18, 255, 255)};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, all, 1, ports, 1), reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "reach into"));
    assert_non_null(strstr(reason, "--exclude"));
    uint32_t edge[] = {IP(198, 18, 4, 255), IP(198, 18, 5, 3)};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, edge, 1, ports, 1), reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "--exclude"));
    /* Outside the scope altogether is still a --scope matter. */
    uint32_t far[] = {IP(10, 0, 0, 0), IP(10, 0, 0, 255)};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, far, 1, ports, 1), reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "(--scope)"));
    /* Beside the exclusion: runs. */
    uint32_t beside[] = {IP(198, 18, 4, 0), IP(198, 18, 4, 255), IP(198, 18, 6, 0),
                         IP(198, 18, 8, 255)};
    assert_int_equal(
        vt_policy_check_lease(&p, make_lease(&b, beside, 2, ports, 1), reason, sizeof reason), 0);
    vt_policy_free(&p);
}

static void exclude_reads_a_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_policy_exclude.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "# core network\n198.18.7.0/24\n\n198.18.8.1-198.18.8.3\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    char spec[64];
    snprintf(spec, sizeof spec, "@%s", path);
    struct vt_policy p;
    lab_policy(&p, 0);
    assert_int_equal(vt_policy_set_exclude(&p, spec, err, sizeof err), 0);
    unlink(path);
    struct vt_targets blocked;
    vt_targets_init(&blocked);
    assert_int_equal(vt_policy_outside(&p, &blocked), 0);
    assert_true(vt_targets_contains(&blocked, IP(198, 18, 7, 128)));
    assert_true(vt_targets_contains(&blocked, IP(198, 18, 8, 3)));
    assert_false(vt_targets_contains(&blocked, IP(198, 18, 8, 4)));
    vt_targets_free(&blocked);
    vt_policy_free(&p);
}

static void bad_exclude_is_refused(void **state)
{
    (void)state;
    struct vt_policy p;
    lab_policy(&p, 0);
    assert_int_equal(vt_policy_set_exclude(&p, "198.18.0.0/33", err, sizeof err), -1);
    assert_non_null(strstr(err, "--exclude"));
    vt_policy_free(&p);
    /* Excluding all of the scope leaves a worker that can do nothing: refused. */
    lab_policy(&p, 0);
    assert_int_equal(vt_policy_set_exclude(&p, "198.18.0.0/17,198.18.128.0/17", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "--exclude"));
    assert_non_null(strstr(err, "every address"));
    vt_policy_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lease_inside_scope_is_accepted),
        cmocka_unit_test(lease_partly_outside_scope_is_refused_naming_the_range),
        cmocka_unit_test(ports_outside_allowed_are_refused),
        cmocka_unit_test(empty_lease_is_refused),
        cmocka_unit_test(default_scope_excludes_the_builtin_blocklist),
        cmocka_unit_test(rate_is_clamped_to_max_rate),
        cmocka_unit_test(bad_flags_are_refused),
        cmocka_unit_test(hello_carries_the_policy),
        cmocka_unit_test(excluded_ranges_are_blocked_in_every_scan),
        cmocka_unit_test(lease_into_excluded_space_is_refused),
        cmocka_unit_test(exclude_reads_a_file),
        cmocka_unit_test(bad_exclude_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
