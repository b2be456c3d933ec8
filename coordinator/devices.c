/* devices.c: the device-count estimator of devices.h (docs/storage.md, "Counting devices").
 *
 * Notation: S = sum_w hosts_w, the period's host-windows; for identified
 * device i, s_i its sightings (distinct (window, ip)) and r_i its distinct
 * windows; n identified devices. Then
 *
 *     a = sum s_i / sum r_i,  r = sum r_i / n,  a*r = sum s_i / n,
 *     N = S / (a*r) = S * n / sum s_i.
 *
 * Each device seen holds its own addresses in each window it is seen in (no
 * two devices behind one address at once), so S is the sum of s_i over all
 * devices seen, and N is S over the identified devices' mean s_i: a ratio
 * estimator, right when the identified are a random sample of the devices
 * seen. Only the mean of s_i enters N, so the bootstrap resamples s_i (and
 * r_i, for the spread of a that the floor below needs).
 *
 * The interval: percentiles of the bootstrap's N, their distances from N
 * scaled. The identified are a sample without replacement of the N
 * devices, so the spread of the mean of s_i is the bootstrap's times
 * sqrt(1 - n/N): with n = N (all identified) it is nil, as it should be.
 * And for few identified devices the distances are widened as Student's t
 * widens a normal interval (bootstrap()'s caller).
 *
 * The floor: N is at least n, and at least any one window's devices,
 * D_w = hosts_w / a_w (a_w: that window's addresses per device). We only
 * have hosts_w / a, which is D_w plus noise (a_w is not a, and a is
 * estimated); the largest of W noisy values overshoots, so a plain
 * N >= max_w hosts_w / a would bias N up whenever every device is seen in
 * every window (then N is the mean of the D_w, and the max lies above it).
 * So each window's value is lowered by z of its standard deviations, with z
 * such that W standard normals all stay below it with probability >= 95%
 * (z = sqrt(2 ln(20 W)), from P(Z > z) <= exp(-z^2/2)). When the floor
 * still binds, the estimate becomes the floor; when it lies above the whole interval, the data
 * contradict the model, and the interval reaches up to distinct_ips. */
#include "devices.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEV_BOOTSTRAP_DEFAULT 1000
#define DEV_PREFIX_DEFAULT    24

/* splitmix64 (Steele, Lea and Flood, 2014): small, fast, and every seed
 * gives a full-period stream, which is all a bootstrap needs. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n >= 1, with no modulo bias: multiply and reject
 * (Lemire, 2019). */
static uint64_t rng_below(uint64_t *state, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)rng_next(state) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)rng_next(state) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* Index of window w in the ascending windows[], or -1. */
static ptrdiff_t window_index(const uint32_t *windows, size_t n, uint32_t w)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (windows[mid] < w)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && windows[lo] == w ? (ptrdiff_t)lo : -1;
}

/* What the estimator needs of one identified device. */
struct dev_sum {
    uint64_t sightings, windows;
};

/* What the walk over the identified devices adds up. */
struct id_totals {
    uint64_t sightings, windows; /* sum s_i, sum r_i */
    uint64_t k2;                 /* sum over device-windows of (addresses in it)^2 */
    size_t base, changed, crossed;
};

/* Whether the sightings s[j .. j+len) name the same addresses as
 * s[0 .. len) (both runs are sorted by ip). */
static bool same_addresses(const struct vt_dev_sighting *s, size_t j, size_t len)
{
    for (size_t t = 0; t < len; t++) {
        if (s[j + t].ip != s[t].ip)
            return false;
    }
    return true;
}

/* Checks one history and adds it up: sightings and windows into *sum, its
 * sightings per window into id_per_window, churn into *t. -1 if the history
 * breaks the contract of devices.h. */
static int walk_device(const struct vt_dev_input *in, const struct vt_dev_history *h, uint32_t mask,
                       uint64_t *id_per_window, struct dev_sum *sum, struct id_totals *t)
{
    if (!h->s || h->n == 0)
        return -1;
    size_t first_len = 0; /* addresses in the device's first window */
    uint64_t windows = 0;
    bool changed = false, crossed = false;
    for (size_t j = 0; j < h->n;) {
        uint32_t w = h->s[j].window;
        if (j > 0 && w <= h->s[j - 1].window)
            return -1;
        size_t e = j + 1;
        for (; e < h->n && h->s[e].window == w; e++) {
            if (h->s[e].ip <= h->s[e - 1].ip)
                return -1;
        }
        ptrdiff_t idx = window_index(in->windows, in->nwindows, w);
        if (idx < 0)
            return -1;
        uint64_t k = e - j;
        id_per_window[idx] += k;
        t->k2 += k * k;
        if (windows == 0)
            first_len = k;
        else if (!changed)
            changed = k != first_len || !same_addresses(h->s, j, k);
        for (size_t u = j; u < e; u++)
            crossed = crossed || (h->s[u].ip & mask) != (h->s[0].ip & mask);
        windows++;
        j = e;
    }
    sum->sightings = h->n;
    sum->windows = windows;
    t->sightings += h->n;
    t->windows += windows;
    if (windows >= 2) {
        t->base++;
        t->changed += changed;
        t->crossed += crossed;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile of sorted x[0 .. n), interpolating between order
 * statistics (Hyndman and Fan's type 7, R's default). */
static double quantile(const double *x, size_t n, double p)
{
    assert(n >= 1);
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)h;
    if (lo + 1 >= n)
        return x[n - 1];
    return x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

/* Student's t, 97.5% quantile, nu degrees of freedom: the table up to 10,
 * then the Cornish-Fisher expansion (off by < 2e-4 from nu = 11 on). */
static double t975(double nu)
{
    static const double table[] = {0,      12.7062, 4.3027, 3.1824, 2.7764, 2.5706,
                                   2.4469, 2.3646,  2.3060, 2.2622, 2.2281};
    if (nu <= 10)
        return table[(int)nu];
    const double z = 1.959964, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
    return z + (z3 + z) / (4 * nu) + (5 * z5 + 16 * z3 + 3 * z) / (96 * nu * nu) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * nu * nu * nu);
}

/* The bootstrap: B resamples of the n devices with replacement; into
 * reps[b] the N of resample b, and the variance of its a into *var_a. */
static void bootstrap(const struct dev_sum *sum, size_t n, double host_windows, unsigned B,
                      uint64_t seed, double *reps, double *var_a)
{
    uint64_t state = seed;
    double mean = 0, m2 = 0; /* Welford's running mean and squares of a* */
    for (unsigned b = 0; b < B; b++) {
        uint64_t ss = 0, rr = 0;
        for (size_t j = 0; j < n; j++) {
            const struct dev_sum *d = &sum[rng_below(&state, n)];
            ss += d->sightings;
            rr += d->windows;
        }
        reps[b] = host_windows * (double)n / (double)ss;
        double a = (double)ss / (double)rr, delta = a - mean;
        mean += delta / (b + 1);
        m2 += delta * (a - mean);
    }
    *var_a = B > 1 ? m2 / (B - 1) : 0;
}

/* The answer without identified devices: bounds only. */
static void bounds_only(const struct vt_dev_input *in, uint64_t max_hosts,
                        struct vt_dev_estimate *out)
{
    out->estimated = false;
    out->estimate = NAN;
    out->low = (double)max_hosts;
    out->high = (double)in->distinct_ips;
    out->addresses_per_window = NAN;
    out->windows_per_device = NAN;
    out->host_windows_per_device = NAN;
}

int vt_dev_estimate(const struct vt_dev_input *in, struct vt_dev_estimate *out)
{
    if (!in || !out || (in->nwindows && (!in->windows || !in->hosts)) ||
        (in->ndevices && !in->devices) || in->prefix_len > 32) {
        errno = EINVAL;
        return -1;
    }
    unsigned prefix = in->prefix_len ? in->prefix_len : DEV_PREFIX_DEFAULT;
    uint32_t mask = (uint32_t)(0xffffffffULL << (32 - prefix));
    unsigned B = in->bootstrap ? in->bootstrap : DEV_BOOTSTRAP_DEFAULT;

    uint64_t host_windows = 0, max_hosts = 0;
    for (size_t i = 0; i < in->nwindows; i++) {
        if (i > 0 && in->windows[i] <= in->windows[i - 1]) {
            errno = EINVAL;
            return -1;
        }
        host_windows += in->hosts[i];
        if (in->hosts[i] > max_hosts)
            max_hosts = in->hosts[i];
    }
    if (in->distinct_ips < max_hosts || in->distinct_ips > host_windows) {
        errno = EINVAL;
        return -1;
    }

    *out = (struct vt_dev_estimate){
        .max_window_hosts = max_hosts, .churn_changed = NAN, .churn_crossed = NAN};
    size_t n = in->ndevices;
    if (n == 0) {
        bounds_only(in, max_hosts, out);
        return 0;
    }

    uint64_t *id_per_window = calloc(in->nwindows ? in->nwindows : 1, sizeof(*id_per_window));
    struct dev_sum *sum = malloc(n * sizeof(*sum));
    double *reps = malloc((size_t)B * sizeof(*reps));
    if (!id_per_window || !sum || !reps) {
        free(id_per_window);
        free(sum);
        free(reps);
        errno = ENOMEM;
        return -1;
    }
    struct id_totals t = {0};
    int rc = 0;
    for (size_t d = 0; d < n && rc == 0; d++)
        rc = walk_device(in, &in->devices[d], mask, id_per_window, &sum[d], &t);
    for (size_t i = 0; i < in->nwindows && rc == 0; i++) {
        if (id_per_window[i] > in->hosts[i])
            rc = -1;
    }
    free(id_per_window);
    if (rc < 0) {
        free(sum);
        free(reps);
        errno = EINVAL;
        return -1;
    }

    out->estimated = true;
    out->churn_base = t.base;
    if (t.base) {
        out->churn_changed = (double)t.changed / (double)t.base;
        out->churn_crossed = (double)t.crossed / (double)t.base;
    }
    double a = (double)t.sightings / (double)t.windows;
    out->addresses_per_window = a;
    out->windows_per_device = (double)t.windows / (double)n;
    out->host_windows_per_device = (double)t.sightings / (double)n;
    /* Every identified sighting is one of its window's hosts, so
     * sum s_i <= S and ratio >= n. */
    double ratio = (double)host_windows * (double)n / (double)t.sightings;
    assert(ratio >= (double)n * (1 - 1e-12));

    double var_a = 0, fpc = 0, lo = ratio, hi = ratio;
    if (n >= 2) {
        bootstrap(sum, n, (double)host_windows, B, in->seed, reps, &var_a);
        qsort(reps, B, sizeof(*reps), cmp_double);
        fpc = sqrt(fmax(0, 1 - (double)n / fmax(ratio, (double)n)));
        /* The bootstrap's spread of a mean is sqrt((n-1)/n) of the sample's,
         * and a normal quantile is too short for a variance estimated from
         * few devices: widen by t/z and sqrt(n/(n-1)). Nil at n in the
         * hundreds; with ~8 devices it lifts coverage from 87% to 95%
         * (test_coverage). */
        double nu = (double)(n - 1);
        double widen = fpc * t975(nu) / 1.959964 * sqrt((double)n / nu);
        lo = ratio + widen * (quantile(reps, B, 0.025) - ratio);
        hi = ratio + widen * (quantile(reps, B, 0.975) - ratio);
        var_a *= fpc * fpc;
    }
    free(sum);
    free(reps);

    /* The floor (top of file). v: variance of the addresses a device holds
     * in a window it is seen in, over the identified device-windows. */
    double v = fmax(0, (double)t.k2 / (double)t.windows - a * a);
    double z = sqrt(2 * log(100.0 * (double)in->nwindows));
    double lower = (double)n;
    for (size_t i = 0; i < in->nwindows; i++) {
        double dw = (double)in->hosts[i] / a;
        double f = dw - z * sqrt(dw * v + dw * dw * var_a) / a;
        lower = fmax(lower, f);
    }

    out->estimate = fmax(ratio, lower);
    if (n < 2) {
        /* One device shows no spread: the interval is what is known without
         * one, widened to hold the estimate. */
        lo = (double)max_hosts;
        hi = (double)in->distinct_ips;
    } else if (lower > hi) {
        /* Even the top of the interval lies below the floor: the model is
         * off by more than its noise. Above the floor, nothing better is
         * known than the naive count. */
        out->unrepresentative = true;
        hi = (double)in->distinct_ips;
    }
    out->low = fmin(fmax(lo, lower), out->estimate);
    out->high = fmax(fmax(hi, lower), out->estimate);
    return 0;
}
