/* policy.c: the worker's local policy and its checks. See policy.h. */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vt_policy_init(struct vt_policy *p, const char *scope_spec, const char *ports_spec,
                   uint64_t max_rate, char *err, size_t errlen)
{
    char why[256];
    memset(p, 0, sizeof *p);
    vt_targets_init(&p->scope);
    vt_targets_init(&p->exclude);
    p->max_rate = max_rate;
    if (scope_spec) {
        if (vt_targets_parse(&p->scope, scope_spec, why, sizeof why) != 0) {
            snprintf(err, errlen, "bad --scope: %s", why);
            goto fail;
        }
    } else {
        struct vt_targets block;
        vt_targets_init(&block);
        int rc = vt_targets_add_range(&p->scope, 0, UINT32_MAX);
        if (rc == 0)
            rc = vt_targets_builtin_blocklist(&block);
        if (rc == 0)
            rc = vt_targets_subtract(&p->scope, &block);
        vt_targets_free(&block);
        if (rc != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (vt_targets_count(&p->scope) == 0) {
        snprintf(err, errlen, "bad --scope: it holds no address");
        goto fail;
    }
    if (vt_ports_parse(&p->ports, ports_spec ? ports_spec : "1-65535", why, sizeof why) != 0) {
        snprintf(err, errlen, "bad --allow-ports: %s", why);
        goto fail;
    }
    return 0;
fail:
    vt_targets_free(&p->scope);
    return -1;
}

void vt_policy_free(struct vt_policy *p)
{
    vt_targets_free(&p->scope);
    vt_targets_free(&p->exclude);
    vt_ports_free(&p->ports);
}

int vt_policy_set_exclude(struct vt_policy *p, const char *exclude_spec, char *err, size_t errlen)
{
    char why[256];
    if (vt_targets_parse(&p->exclude, exclude_spec, why, sizeof why) != 0) {
        snprintf(err, errlen, "bad --exclude: %s", why);
        return -1;
    }
    if (vt_targets_subtract(&p->scope, &p->exclude) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (vt_targets_count(&p->scope) == 0) {
        snprintf(err, errlen,
                 "bad --exclude: it removes every address of --scope, so nothing is left to probe");
        return -1;
    }
    return 0;
}

/* The first range of t that ends at or after ip (t->n if none): t's ranges
 * are sorted, disjoint and non-adjacent. */
static size_t first_reaching(const struct vt_targets *t, uint32_t ip)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->r[mid].last < ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* True if every address of [first, last] is in t: a contained range lies
 * inside a single one of t's ranges. */
static bool range_inside(const struct vt_targets *t, uint32_t first, uint32_t last)
{
    size_t i = first_reaching(t, first);
    return i < t->n && t->r[i].first <= first && last <= t->r[i].last;
}

/* True if some address of [first, last] is in t. */
static bool range_meets(const struct vt_targets *t, uint32_t first, uint32_t last)
{
    size_t i = first_reaching(t, first);
    return i < t->n && t->r[i].first <= last;
}

/* True if every port of [first, last] is allowed: the sorted, unique array
 * holds first and, last - first places further on, last. */
static bool ports_inside(const struct vt_ports *p, uint32_t first, uint32_t last)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->port[mid] < first)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo + (last - first);
    return lo < p->n && p->port[lo] == first && end < p->n && p->port[end] == last;
}

static void range_text(uint32_t first, uint32_t last, char *buf, size_t len)
{
    char a[16], b[16];
    if (first == last)
        snprintf(buf, len, "%s", vt_ip_str(first, a));
    else
        snprintf(buf, len, "%s-%s", vt_ip_str(first, a), vt_ip_str(last, b));
}

int vt_policy_check_lease(const struct vt_policy *p, const Vantage__Lease *lease, char *reason,
                          size_t len)
{
    char r[40];
    if (lease->n_targets == 0) {
        snprintf(reason, len, "lease has no targets");
        return -1;
    }
    if (lease->n_ports == 0) {
        snprintf(reason, len, "lease has no ports");
        return -1;
    }
    for (size_t i = 0; i < lease->n_targets; i++) {
        const Vantage__Range *t = lease->targets[i];
        if (t->first > t->last) {
            snprintf(reason, len, "lease target range %zu is reversed", i);
            return -1;
        }
        if (!range_inside(&p->scope, t->first, t->last)) {
            range_text(t->first, t->last, r, sizeof r);
            if (range_inside(&p->exclude, t->first, t->last))
                snprintf(reason, len, "targets %s are excluded on this worker (--exclude)", r);
            else if (range_meets(&p->exclude, t->first, t->last))
                snprintf(reason, len,
                         "targets %s reach into addresses excluded on this worker (--exclude)", r);
            else
                snprintf(reason, len, "targets %s are outside this worker's scope (--scope)", r);
            return -1;
        }
    }
    for (size_t i = 0; i < lease->n_ports; i++) {
        const Vantage__PortRange *pr = lease->ports[i];
        if (pr->first < 1 || pr->last > 65535 || pr->first > pr->last) {
            snprintf(reason, len, "lease port range %u-%u is not within 1-65535", pr->first,
                     pr->last);
            return -1;
        }
        if (!ports_inside(&p->ports, pr->first, pr->last)) {
            if (pr->first == pr->last)
                snprintf(reason, len, "port %u is not allowed on this worker (--allow-ports)",
                         pr->first);
            else
                snprintf(reason, len, "ports %u-%u are not allowed on this worker (--allow-ports)",
                         pr->first, pr->last);
            return -1;
        }
    }
    return 0;
}

uint64_t vt_policy_clamp_rate(const struct vt_policy *p, uint64_t rate)
{
    if (p->max_rate == 0)
        return rate;
    if (rate == 0 || rate > p->max_rate)
        return p->max_rate;
    return rate;
}

int vt_policy_outside(const struct vt_policy *p, struct vt_targets *out)
{
    vt_targets_clear(out);
    if (vt_targets_add_range(out, 0, UINT32_MAX) != 0)
        return -1;
    return vt_targets_subtract(out, &p->scope); /* the scope has the exclusions cut out */
}

int vt_policy_to_proto(const struct vt_policy *p, Vantage__Policy *pol)
{
    vantage__policy__init(pol);
    pol->has_max_rate = true;
    pol->max_rate = p->max_rate;
    size_t nports = 0;
    for (size_t i = 0; i < p->ports.n; i++)
        if (i == 0 || p->ports.port[i] != p->ports.port[i - 1] + 1)
            nports++;
    /* One allocation per array: the pointers, then the messages they point at. */
    pol->scope = malloc(p->scope.n * (sizeof(Vantage__Range *) + sizeof(Vantage__Range)) + 1);
    pol->ports = malloc(nports * (sizeof(Vantage__PortRange *) + sizeof(Vantage__PortRange)) + 1);
    if (!pol->scope || !pol->ports) {
        vt_policy_proto_free(pol);
        return -1;
    }
    Vantage__Range *rs = (Vantage__Range *)(pol->scope + p->scope.n);
    for (size_t i = 0; i < p->scope.n; i++) {
        vantage__range__init(&rs[i]);
        rs[i].first = p->scope.r[i].first;
        rs[i].last = p->scope.r[i].last;
        pol->scope[i] = &rs[i];
    }
    pol->n_scope = p->scope.n;
    Vantage__PortRange *ps = (Vantage__PortRange *)(pol->ports + nports);
    size_t k = 0;
    for (size_t i = 0; i < p->ports.n; i++) {
        if (i == 0 || p->ports.port[i] != p->ports.port[i - 1] + 1) {
            vantage__port_range__init(&ps[k]);
            ps[k].first = p->ports.port[i];
            pol->ports[k] = &ps[k];
            k++;
        }
        ps[k - 1].last = p->ports.port[i];
    }
    pol->n_ports = nports;
    return 0;
}

void vt_policy_proto_free(Vantage__Policy *pol)
{
    free(pol->scope);
    free(pol->ports);
    pol->scope = NULL;
    pol->ports = NULL;
    pol->n_scope = pol->n_ports = 0;
}
