/*
 * test_permute.c — the scan order (worker/permute.c): every target is probed exactly
 * once per turn, shards partition the turn, a checkpoint resumes exactly where the
 * walk stopped, the order depends on the seed and on nothing else, and all of this
 * holds at the scale of all of IPv4 times many ports.
 *
 * The checks recompute what they can independently of permute.c (trial division,
 * plain 128-bit modular arithmetic, brute-force orders), so that a bug shared by the
 * code and its test is unlikely.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "permute.h"

typedef unsigned __int128 u128;

/* ---- independent helpers ---- */

static uint64_t t_mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    return (uint64_t)((u128)a * b % m);
}

static uint64_t t_powmod(uint64_t b, uint64_t e, uint64_t m)
{
    uint64_t r = 1 % m;
    for (b %= m; e; e >>= 1) {
        if (e & 1)
            r = t_mulmod(r, b, m);
        b = t_mulmod(b, b, m);
    }
    return r;
}

static bool t_prime_by_division(uint64_t n)
{
    if (n < 2)
        return false;
    if (n % 2 == 0)
        return n == 2;
    for (uint64_t d = 3; d * d <= n; d += 2) {
        if (n % d == 0)
            return false;
    }
    return true;
}

/* Distinct prime factors by plain trial division (fine up to ~2^40). */
static int t_factor(uint64_t m, uint64_t *q)
{
    int k = 0;
    for (uint64_t d = 2; d * d <= m; d += (d == 2 ? 1 : 2)) {
        if (m % d == 0) {
            q[k++] = d;
            while (m % d == 0)
                m /= d;
        }
    }
    if (m > 1)
        q[k++] = m;
    return k;
}

static uint64_t t_rng(uint64_t *s) /* test-local xorshift, not the code's PRNG */
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct bitmap {
    uint64_t *w;
    uint64_t n;
};

static struct bitmap bm_new(uint64_t n)
{
    struct bitmap b = {calloc(n / 64 + 1, sizeof(uint64_t)), n};
    assert_non_null(b.w);
    return b;
}

/* Sets bit i; returns false if it was already set (a duplicate). */
static bool bm_set(struct bitmap *b, uint64_t i)
{
    uint64_t m = UINT64_C(1) << (i % 64);
    if (b->w[i / 64] & m)
        return false;
    b->w[i / 64] |= m;
    return true;
}

/* Walks steps [first, first + count) and marks each element; returns how many. */
static uint64_t walk_mark(const struct vt_cycle *c, uint64_t first, uint64_t count,
                          struct bitmap *b)
{
    struct vt_walk w;
    uint64_t e, seen = 0;
    vt_walk_start(&w, c, first, count);
    while (vt_walk_next(&w, &e)) {
        assert_true(e < c->n);
        assert_true(bm_set(b, e));
        seen++;
    }
    assert_int_equal(w.done, count);
    assert_false(vt_walk_next(&w, &e)); /* stays exhausted */
    return seen;
}

static const uint64_t seeds[] = {0, 1, 42, 0xdeadbeefULL, UINT64_MAX};
#define NSEEDS (sizeof seeds / sizeof seeds[0])

/* ---- number theory ---- */

static void test_is_prime(void **state)
{
    (void)state;
    for (uint64_t n = 0; n < 100000; n++)
        assert_int_equal(vt_is_prime(n), t_prime_by_division(n));
    /* Known primes, and composites that fool weaker tests: Carmichael numbers, strong
     * pseudoprimes to base 2, and 3825123056546413051, a strong pseudoprime to every
     * prime base up to 23. */
    const uint64_t primes[] = {4294967291ULL,     4294967311ULL,     (1ULL << 61) - 1,
                               (1ULL << 62) - 57, (1ULL << 63) - 25, 18446744073709551557ULL};
    const uint64_t composites[] = {561,
                                   1105,
                                   2047,
                                   3215031751ULL,
                                   4294967297ULL, /* 641 * 6700417 */
                                   3825123056546413051ULL,
                                   (1ULL << 62) - 1,
                                   2147483647ULL * 2147483647ULL};
    for (size_t i = 0; i < sizeof primes / sizeof primes[0]; i++)
        assert_true(vt_is_prime(primes[i]));
    for (size_t i = 0; i < sizeof composites / sizeof composites[0]; i++)
        assert_false(vt_is_prime(composites[i]));
}

/* q must be exactly the distinct primes of m. */
static void check_factors(uint64_t m)
{
    uint64_t q[VT_MAX_PRIME_FACTORS];
    int k = vt_prime_factors(m, q);
    uint64_t rest = m;
    for (int i = 0; i < k; i++) {
        assert_true(vt_is_prime(q[i]));
        assert_int_equal(rest % q[i], 0);
        while (rest % q[i] == 0)
            rest /= q[i];
    }
    assert_int_equal(rest, 1);
}

static uint64_t next_prime(uint64_t n)
{
    while (!vt_is_prime(n))
        n++;
    return n;
}

static void test_prime_factors(void **state)
{
    (void)state;
    uint64_t q[VT_MAX_PRIME_FACTORS];
    assert_int_equal(vt_prime_factors(1, q), 0);
    assert_int_equal(vt_prime_factors(2, q), 1);
    assert_int_equal(q[0], 2);
    for (uint64_t m = 2; m < 20000; m++)
        check_factors(m);
    /* Against plain trial division. */
    uint64_t s = 88172645463325252ULL;
    for (int i = 0; i < 200; i++) {
        uint64_t m = t_rng(&s) >> 28, tq[16];
        if (m < 2)
            continue;
        int tk = t_factor(m, tq);
        assert_int_equal(vt_prime_factors(m, q), tk);
        check_factors(m);
    }
    /* What trial division to 2^16 leaves to rho: products of large primes, powers of a
     * large prime, and the largest inputs. */
    uint64_t a = next_prime(70001), b = next_prime(1000003), c = next_prime(1 << 20),
             d = next_prime(3000000000ULL);
    const uint64_t hard[] = {a * b,
                             a * a,
                             c * c * c,
                             a * b * c,
                             d * 2147483647ULL,
                             2147483647ULL * 2147483647ULL,
                             2ULL * 3 * 5 * 7 * 11 * 13 * 17 * 19 * 23 * 29 * 31 * 37 * 41 * 43 *
                                 47,
                             (1ULL << 62) - 1,
                             (1ULL << 63) - 26,
                             (1ULL << 63) - 1};
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++)
        check_factors(hard[i]);
    assert_int_equal(vt_prime_factors(a * b * c, q), 3);
    assert_int_equal(
        vt_prime_factors(2ULL * 3 * 5 * 7 * 11 * 13 * 17 * 19 * 23 * 29 * 31 * 37 * 41 * 43 * 47,
                         q),
        15);
}

/* ---- the cycle ---- */

static void test_invalid(void **state)
{
    (void)state;
    struct vt_cycle c;
    assert_int_equal(vt_cycle_init(&c, 0, 1), -1);
    assert_int_equal(vt_cycle_init(&c, VT_CYCLE_MAX_N, 1), -1);
    assert_int_equal(vt_cycle_init(&c, UINT64_MAX, 1), -1);
    assert_int_equal(vt_cycle_init(&c, VT_CYCLE_MAX_N - 1, 1), 0);
    assert_true(c.p > c.n && vt_is_prime(c.p));
}

static void test_bijection(void **state)
{
    (void)state;
    uint64_t sizes[32] = {1,  2,   3,    4,     5,     6,     7,     8,     10,        16,     31,
                          97, 100, 1000, 65520, 65521, 65536, 65537, 65538, 65536 * 6, 1 << 20};
    size_t ns = 21;
    uint64_t s = 0x1234567ULL;
    while (ns < sizeof sizes / sizeof sizes[0])
        sizes[ns++] = 1 + t_rng(&s) % 300000;

    for (size_t i = 0; i < ns; i++) {
        for (size_t j = 0; j < NSEEDS; j++) {
            struct vt_cycle c;
            assert_int_equal(vt_cycle_init(&c, sizes[i], seeds[j]), 0);
            assert_int_equal(c.n, sizes[i]);
            assert_true(c.p > c.n && vt_is_prime(c.p));
            assert_true(c.x0 >= 1 && c.x0 < c.p);
            assert_int_equal(vt_cycle_steps(&c), c.p - 1);
            struct bitmap b = bm_new(c.n);
            assert_int_equal(walk_mark(&c, 0, vt_cycle_steps(&c), &b), c.n);
            free(b.w);
        }
    }
}

static void test_small_cycles_exact(void **state)
{
    (void)state;
    /* n = 1: p = 2, one step, one element. */
    struct vt_cycle c;
    assert_int_equal(vt_cycle_init(&c, 1, 7), 0);
    assert_int_equal(c.p, 2);
    assert_int_equal(c.g, 1);
    assert_int_equal(c.x0, 1);
    struct vt_walk w;
    uint64_t e;
    vt_walk_start(&w, &c, 0, 1);
    assert_true(vt_walk_next(&w, &e));
    assert_int_equal(e, 0);
    assert_false(vt_walk_next(&w, &e));

    /* p is the smallest prime above n and g has order exactly p - 1, by brute force. */
    for (uint64_t n = 1; n < 3000; n += (n < 200 ? 1 : 37)) {
        for (size_t j = 0; j < NSEEDS; j++) {
            assert_int_equal(vt_cycle_init(&c, n, seeds[j]), 0);
            for (uint64_t m = n + 1; m < c.p; m++)
                assert_false(t_prime_by_division(m));
            assert_true(t_prime_by_division(c.p));
            uint64_t x = c.g % c.p, order = 1;
            while (x != 1 % c.p) {
                x = x * c.g % c.p;
                order++;
            }
            assert_int_equal(order, c.p - 1);
        }
    }
}

static void test_primitive_root_large_p(void **state)
{
    (void)state;
    uint64_t ns[] = {65521, 1000003, 4294967290ULL, 4294967296ULL * 6};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        for (size_t j = 0; j < NSEEDS; j++) {
            struct vt_cycle c;
            assert_int_equal(vt_cycle_init(&c, ns[i], seeds[j]), 0);
            uint64_t q[64];
            int k = t_factor(c.p - 1, q);
            for (int f = 0; f < k; f++)
                assert_int_not_equal(t_powmod(c.g, (c.p - 1) / q[f], c.p), 1);
            assert_int_equal(t_powmod(c.g, c.p - 1, c.p), 1);
        }
    }
}

static void first_elems(const struct vt_cycle *c, uint64_t *out, int k)
{
    struct vt_walk w;
    vt_walk_start(&w, c, 0, vt_cycle_steps(c));
    for (int i = 0; i < k; i++)
        assert_true(vt_walk_next(&w, &out[i]));
}

static void test_seeds(void **state)
{
    (void)state;
    enum { K = 16, NS = 20 };
    uint64_t sizes[] = {1000, 100000, 4294967296ULL * 2};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t seq[NS][K];
        for (int s = 0; s < NS; s++) {
            struct vt_cycle c1, c2;
            assert_int_equal(vt_cycle_init(&c1, sizes[i], (uint64_t)s * 1000003), 0);
            assert_int_equal(vt_cycle_init(&c2, sizes[i], (uint64_t)s * 1000003), 0);
            assert_memory_equal(&c1, &c2, sizeof c1); /* same seed, same cycle */
            first_elems(&c1, seq[s], K);
            uint64_t again[K];
            first_elems(&c2, again, K);
            assert_memory_equal(seq[s], again, sizeof again);
            for (int t = 0; t < s; t++) /* different seed, different order */
                assert_memory_not_equal(seq[s], seq[t], sizeof seq[s]);
        }
    }
}

/* The order must be the same on every machine and in every release, or a shard
 * leased to a new worker would probe different targets: pin two cycles exactly. A
 * change here (PRNG, draw order, generator search) breaks campaigns in flight. */
static void test_golden(void **state)
{
    (void)state;
    struct vt_cycle c;
    assert_int_equal(vt_cycle_init(&c, 1000, 1), 0);
    assert_int_equal(c.p, 1009);
    assert_int_equal(c.g, 390);
    assert_int_equal(c.x0, 402);
    assert_int_equal(vt_cycle_init(&c, 4294967296ULL * 6, 20240601), 0);
    assert_int_equal(c.p, 25769803799ULL);
    assert_int_equal(c.g, 7241845037ULL);
    assert_int_equal(c.x0, 1682734835ULL);
    uint64_t e[4], want[4] = {1682734834ULL, 410436602ULL, 12153540239ULL, 17257772724ULL};
    first_elems(&c, e, 4);
    assert_memory_equal(e, want, sizeof e);
}

/* ---- arcs, shards, checkpoints ---- */

static void check_arcs(const struct vt_cycle *c, uint64_t k)
{
    uint64_t steps = vt_cycle_steps(c), next = 0, min = UINT64_MAX, max = 0, seen = 0;
    struct bitmap b = bm_new(c->n);
    for (uint64_t i = 0; i < k; i++) {
        uint64_t first, count;
        vt_cycle_arc(c, i, k, &first, &count);
        assert_int_equal(first, next); /* contiguous, in order */
        next = first + count;
        min = count < min ? count : min;
        max = count > max ? count : max;
        seen += walk_mark(c, first, count, &b);
    }
    assert_int_equal(next, steps);
    assert_true(max - min <= 1);
    assert_int_equal(seen, c->n); /* with no duplicate: the union is the whole space */
    free(b.w);
}

static void test_arcs(void **state)
{
    (void)state;
    uint64_t sizes[] = {1, 2, 10, 1000, 65536, 99991};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t j = 0; j < 3; j++) {
            struct vt_cycle c;
            assert_int_equal(vt_cycle_init(&c, sizes[i], seeds[j]), 0);
            uint64_t steps = vt_cycle_steps(&c);
            uint64_t ks[] = {1, 2, 3, 4, 7, 16, steps + 1, steps + 5};
            for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++)
                check_arcs(&c, ks[t]);
        }
    }
    /* k > steps: arcs hold one step or none; very large k is fine too. */
    struct vt_cycle c;
    assert_int_equal(vt_cycle_init(&c, 10, 3), 0);
    uint64_t first, count;
    vt_cycle_arc(&c, UINT64_MAX - 1, UINT64_MAX, &first, &count);
    assert_int_equal(count, 0);
    assert_int_equal(first, vt_cycle_steps(&c));
    vt_cycle_arc(&c, 0, UINT64_MAX, &first, &count);
    assert_int_equal(first, 0);
    assert_int_equal(count, 1);
}

/* Stop an arc after `stop` elements, resume from the checkpoint (steps done) with a
 * fresh walk, and expect exactly the rest of the uninterrupted walk. */
static void check_resume(const struct vt_cycle *c, uint64_t first, uint64_t count)
{
    enum { MAX = 4000 };
    static uint64_t all[MAX];
    uint64_t total = 0, e;
    struct vt_walk w;
    vt_walk_start(&w, c, first, count);
    while (total < MAX && vt_walk_next(&w, &e))
        all[total++] = e;
    uint64_t stops[] = {0, 1, 2, total / 3, total / 2, total - 1, total};
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        if (stops[i] > total)
            continue;
        vt_walk_start(&w, c, first, count);
        for (uint64_t j = 0; j < stops[i]; j++) {
            assert_true(vt_walk_next(&w, &e));
            assert_int_equal(e, all[j]);
        }
        uint64_t checkpoint = w.done; /* what a worker reports */
        struct vt_walk r;
        vt_walk_start(&r, c, first + checkpoint, count - checkpoint);
        for (uint64_t j = stops[i]; j < total; j++) {
            assert_true(vt_walk_next(&r, &e));
            assert_int_equal(e, all[j]);
        }
    }
}

static void test_resume(void **state)
{
    (void)state;
    /* Small spaces, where skipped elements sit inside the arc (p - 1 - n of them). */
    uint64_t sizes[] = {1, 7, 8, 90, 1000, 1020, 3000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t j = 0; j < NSEEDS; j++) {
            struct vt_cycle c;
            assert_int_equal(vt_cycle_init(&c, sizes[i], seeds[j]), 0);
            for (uint64_t k = 1; k <= 5; k += 2) {
                for (uint64_t a = 0; a < k; a++) {
                    uint64_t first, count;
                    vt_cycle_arc(&c, a, k, &first, &count);
                    check_resume(&c, first, count);
                }
            }
        }
    }
    /* Large spaces, both multiplication paths. */
    uint64_t big[] = {4294967290ULL, 4294967296ULL * 6};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        struct vt_cycle c;
        assert_int_equal(vt_cycle_init(&c, big[i], 99), 0);
        uint64_t first, count;
        vt_cycle_arc(&c, 5, 16, &first, &count);
        check_resume(&c, first, count);
        vt_cycle_arc(&c, 15, 16, &first, &count); /* last arc */
        check_resume(&c, first + count - 3000, 3000);
    }
}

/* ---- all of IPv4 times some ports ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The walk from `step`, checked against plain repeated multiplication. */
static void check_chain(const struct vt_cycle *c, uint64_t step, int len)
{
    uint64_t v = vt_cycle_element_at(c, step), e;
    struct vt_walk w;
    vt_walk_start(&w, c, step, (uint64_t)len);
    for (int i = 0; i < len; i++) {
        if (v <= c->n) {
            assert_true(vt_walk_next(&w, &e));
            assert_int_equal(e, v - 1);
        }
        v = t_mulmod(v, c->g, c->p);
    }
    assert_false(vt_walk_next(&w, &e));
}

static void check_big(uint64_t n, uint64_t seed, bool prove_prime)
{
    struct vt_cycle c;
    double t0 = now_s();
    assert_int_equal(vt_cycle_init(&c, n, seed), 0);
    double dt = now_s() - t0;
    print_message("n=%llu p=%llu g=%llu init %.3f ms\n", (unsigned long long)n,
                  (unsigned long long)c.p, (unsigned long long)c.g, dt * 1e3);
    assert_true(dt < 2.0); /* microseconds expected; only a hang fails */
    assert_true(c.p > n);
    assert_true(vt_is_prime(c.p));
    for (uint64_t m = n + 1; m < c.p; m++)
        assert_false(vt_is_prime(m));
    if (prove_prime)
        assert_true(t_prime_by_division(c.p));
    uint64_t steps = vt_cycle_steps(&c);

    /* Step s is x0 * g^s: by repeated multiplication for small s ... */
    uint64_t x = c.x0;
    for (uint64_t s = 0; s < 2000; s++) {
        assert_int_equal(vt_cycle_element_at(&c, s), x);
        x = t_mulmod(x, c.g, c.p);
    }
    /* ... and x0 * g^(a+b) = (x0 * g^a) * g^b for far ones; one turn is the identity. */
    uint64_t s = 0xfeedULL;
    for (int i = 0; i < 50; i++) {
        uint64_t a = t_rng(&s) % steps, b = t_rng(&s) % (steps - a);
        assert_int_equal(vt_cycle_element_at(&c, a + b),
                         t_mulmod(vt_cycle_element_at(&c, a), t_powmod(c.g, b, c.p), c.p));
    }
    assert_int_equal(vt_cycle_element_at(&c, steps), c.x0);
    /* A walk started at a far step steps exactly like plain multiplication. */
    check_chain(&c, 0, 5000);
    check_chain(&c, steps / 2 + 12345, 5000);
    check_chain(&c, steps - 5000, 5000);

    /* The first 10^6 elements of a shard are in range and distinct. */
    enum { M = 1000000 };
    uint64_t *e = malloc(M * sizeof *e), first, count;
    assert_non_null(e);
    vt_cycle_arc(&c, 3, 7, &first, &count);
    struct vt_walk w;
    vt_walk_start(&w, &c, first, count);
    for (int i = 0; i < M; i++) {
        assert_true(vt_walk_next(&w, &e[i]));
        assert_true(e[i] < n);
    }
    qsort(e, M, sizeof *e, cmp_u64);
    for (int i = 1; i < M; i++)
        assert_true(e[i - 1] < e[i]);
    free(e);
}

static void test_big_spaces(void **state)
{
    (void)state;
    check_big(4294967296ULL * 6, 1, true);                  /* all IPv4, 6 ports */
    check_big((4294967296ULL - 592708864ULL) * 2, 2, true); /* IPv4 minus blocklist, 2 ports */
    check_big(4294967296ULL * 65536, 3, false);             /* all IPv4, all ports */
    check_big(VT_CYCLE_MAX_N - 1, 4, false);                /* the largest n accepted */
}

/* The boundary between the 64-bit and the Montgomery multiplication. */
static void test_multiply_paths(void **state)
{
    (void)state;
    uint64_t ns[] = {4294967290ULL, 4294967291ULL, 4294967296ULL, 4294967310ULL};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        for (size_t j = 0; j < NSEEDS; j++) {
            struct vt_cycle c;
            assert_int_equal(vt_cycle_init(&c, ns[i], seeds[j]), 0);
            check_chain(&c, 0, 3000);
            check_chain(&c, vt_cycle_steps(&c) / 3, 3000);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_prime),
        cmocka_unit_test(test_prime_factors),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_bijection),
        cmocka_unit_test(test_small_cycles_exact),
        cmocka_unit_test(test_primitive_root_large_p),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_arcs),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_big_spaces),
        cmocka_unit_test(test_multiply_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
