/*
 * permute.c — the scan order (see permute.h): a walk around the cyclic multiplicative
 * group mod a prime p > n, as ZMap does, cut into arcs that are the shards.
 *
 * Invariants, asserted where a caller could break them:
 *   - 1 <= n < VT_CYCLE_MAX_N (2^62), so p < 2^63 and every product of two residues
 *     fits in an unsigned __int128 and the Montgomery sums below cannot overflow;
 *   - p is the smallest prime > n; g is a primitive root mod p (its order is p - 1),
 *     so the p - 1 steps of one turn visit every element of [1, p-1] exactly once;
 *   - x0 and every walk position x lie in [1, p-1]; step s of the cycle is x0 * g^s;
 *   - a walk never takes more than `count` steps and first + count <= p - 1.
 *
 * Cost. vt_cycle_init runs once per cycle: a few Miller-Rabin tests to find p, the
 * factorisation of p - 1 (trial division, then Pollard-Brent rho for a composite
 * cofactor whose factors all exceed the trial bound, so init stays in microseconds
 * even at n near 2^62), and a few modular powers to test candidate generators.
 * vt_walk_next is the hot loop: one modular multiplication per step and nothing else,
 * no division. A 64-bit divide is 15 to 90 cycles depending on the CPU, and the 128-bit
 * one is a libgcc call (__umodti3), so the step is a Montgomery multiplication: the
 * plain residue x times g in Montgomery form (g * R mod p), reduced by REDC, is
 * x * g mod p again in plain form, so nothing is ever converted. For p < 2^32, R = 2^32
 * and every product fits in 64 bits; otherwise R = 2^64 and one product is 128-bit.
 */
#include "permute.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

typedef unsigned __int128 u128;

/* ---- arithmetic mod m, m < 2^63 (only for init; the hot loop has its own) ---- */

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    return (uint64_t)((u128)a * b % m);
}

static uint64_t powmod(uint64_t b, uint64_t e, uint64_t m)
{
    uint64_t r = 1 % m;
    b %= m;
    while (e) {
        if (e & 1)
            r = mulmod(r, b, m);
        b = mulmod(b, b, m);
        e >>= 1;
    }
    return r;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Deterministic Miller-Rabin: the first twelve primes as bases are exact for every
 * n < 3.3 * 10^24, hence for all 64-bit n. */
bool vt_is_prime(uint64_t n)
{
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2)
        return false;
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (n % bases[i] == 0)
            return n == bases[i];
    }
    uint64_t d = n - 1;
    int s = 0;
    while ((d & 1) == 0) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        uint64_t x = powmod(bases[i], d, n);
        if (x == 1 || x == n - 1)
            continue;
        int r = 1;
        for (; r < s; r++) {
            x = mulmod(x, x, n);
            if (x == n - 1)
                break;
        }
        if (r == s)
            return false;
    }
    return true;
}

/* ---- factorisation of p - 1 into its distinct primes ---- */

/* Trial division covers every prime up to this bound; what is left is 1, a prime, or
 * a product of primes above the bound, which Pollard-Brent rho splits quickly. */
#define TRIAL_BOUND 65536u

struct factors {
    uint64_t q[VT_MAX_PRIME_FACTORS];
    int k;
};

static void add_factor(struct factors *f, uint64_t q)
{
    for (int i = 0; i < f->k; i++) {
        if (f->q[i] == q)
            return;
    }
    /* A 64-bit integer has at most 15 distinct prime factors. */
    assert(f->k < VT_MAX_PRIME_FACTORS);
    f->q[f->k++] = q;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

/* A non-trivial factor of the odd composite m, by Brent's variant of Pollard's rho
 * with batched gcds. Deterministic: the constants c are tried in order. */
static uint64_t rho_split(uint64_t m)
{
    assert(m > 3 && (m & 1) && !vt_is_prime(m));
    for (uint64_t c = 1;; c++) {
        uint64_t y = 2, x = 2, ys = 2, q = 1, d = 1;
        for (uint64_t r = 1; d == 1; r <<= 1) {
            x = y;
            for (uint64_t i = 0; i < r; i++)
                y = (mulmod(y, y, m) + c) % m;
            for (uint64_t k = 0; k < r && d == 1; k += 128) {
                ys = y;
                uint64_t lim = r - k < 128 ? r - k : 128;
                for (uint64_t i = 0; i < lim; i++) {
                    y = (mulmod(y, y, m) + c) % m;
                    q = mulmod(q, absdiff(x, y), m);
                }
                d = gcd(q, m);
            }
        }
        if (d == m) { /* the batch overshot: redo it one step at a time */
            do {
                ys = (mulmod(ys, ys, m) + c) % m;
                d = gcd(absdiff(x, ys), m);
            } while (d == 1);
        }
        if (d != m)
            return d;
    }
}

static void factor_rest(struct factors *f, uint64_t m)
{
    if (m == 1)
        return;
    if (vt_is_prime(m)) {
        add_factor(f, m);
        return;
    }
    uint64_t d = rho_split(m);
    factor_rest(f, d);
    factor_rest(f, m / d);
}

int vt_prime_factors(uint64_t m, uint64_t q[VT_MAX_PRIME_FACTORS])
{
    struct factors f = {.k = 0};
    assert(m < (UINT64_C(1) << 63));
    if (m < 2)
        return 0;
    if ((m & 1) == 0) {
        add_factor(&f, 2);
        while ((m & 1) == 0)
            m >>= 1;
    }
    for (uint64_t d = 3; d <= TRIAL_BOUND && d * d <= m; d += 2) {
        if (m % d)
            continue;
        add_factor(&f, d);
        while (m % d == 0)
            m /= d;
        if (m > 1 && vt_is_prime(m))
            break; /* a large prime cofactor needs no more division */
    }
    factor_rest(&f, m);
    memcpy(q, f.q, (size_t)f.k * sizeof q[0]);
    return f.k;
}

/* ---- seeded randomness: splitmix64, identical on every machine ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound >= 1, without modulo bias (rejection). */
static uint64_t uniform_below(uint64_t *s, uint64_t bound)
{
    assert(bound >= 1);
    uint64_t threshold = -bound % bound; /* 2^64 mod bound */
    for (;;) {
        uint64_t r = splitmix64(s);
        if (r >= threshold)
            return r % bound;
    }
}

static bool is_primitive_root(uint64_t g, uint64_t p, const uint64_t *q, int k)
{
    for (int i = 0; i < k; i++) {
        if (powmod(g, (p - 1) / q[i], p) == 1)
            return false;
    }
    return true;
}

/* ---- the cycle ---- */

int vt_cycle_init(struct vt_cycle *c, uint64_t n, uint64_t seed)
{
    assert(c != NULL);
    memset(c, 0, sizeof *c);
    if (n == 0 || n >= VT_CYCLE_MAX_N)
        return -1;

    uint64_t p = n + 1;
    while (!vt_is_prime(p))
        p++;

    uint64_t q[VT_MAX_PRIME_FACTORS];
    int k = vt_prime_factors(p - 1, q);

    uint64_t s = seed;
    uint64_t x0 = 1 + uniform_below(&s, p - 1);
    uint64_t g = 1; /* the primitive root mod 2 */
    if (p > 2) {
        /* Primitive roots make up phi(p-1)/(p-1) of [2, p-1]: a few draws suffice. */
        do
            g = 2 + uniform_below(&s, p - 2);
        while (!is_primitive_root(g, p, q, k));
    }

    c->n = n;
    c->p = p;
    c->g = g;
    c->x0 = x0;
    if (p == 2) {
        /* n = 1: the group is {1}, and 2 has no inverse mod R. With g_mont = R and
         * p_inv = 0, the low word of x * g_mont is 0, so REDC returns x: the step is
         * the identity, which is multiplication by g = 1. */
        c->g_mont = UINT64_C(1) << 32;
        c->p_inv = 0;
    } else if (p <= UINT32_MAX) {
        uint32_t inv = (uint32_t)p; /* Newton: correct to 3 bits, doubling each round */
        for (int i = 0; i < 4; i++)
            inv *= 2 - (uint32_t)p * inv;
        assert((uint32_t)(inv * (uint32_t)p) == 1);
        c->p_inv = inv;
        c->g_mont = (g << 32) % p; /* g < 2^32 */
    } else {
        uint64_t inv = p;
        for (int i = 0; i < 5; i++)
            inv *= 2 - p * inv;
        assert(inv * p == 1);
        c->p_inv = inv;
        c->g_mont = (uint64_t)(((u128)g << 64) % p);
    }
    return 0;
}

uint64_t vt_cycle_steps(const struct vt_cycle *c)
{
    assert(c->p >= 2);
    return c->p - 1;
}

void vt_cycle_arc(const struct vt_cycle *c, uint64_t i, uint64_t k, uint64_t *first,
                  uint64_t *count)
{
    assert(k >= 1 && i < k);
    uint64_t steps = vt_cycle_steps(c);
    uint64_t base = steps / k, extra = steps % k;
    /* The first `extra` arcs take one step more. i * base <= steps: no overflow. */
    *first = i * base + (i < extra ? i : extra);
    *count = base + (i < extra ? 1 : 0);
    assert(*first <= steps && *count <= steps - *first);
}

uint64_t vt_cycle_element_at(const struct vt_cycle *c, uint64_t step)
{
    assert(c->p >= 2 && c->x0 >= 1 && c->x0 < c->p);
    return mulmod(c->x0, powmod(c->g, step, c->p), c->p);
}

/* ---- walking an arc ---- */

void vt_walk_start(struct vt_walk *w, const struct vt_cycle *c, uint64_t first, uint64_t count)
{
    assert(first <= vt_cycle_steps(c) && count <= vt_cycle_steps(c) - first);
    w->c = c;
    w->x = vt_cycle_element_at(c, first);
    w->done = 0;
    w->count = count;
}

/* x * g mod p by REDC, R = 2^32 or 2^64, with x < p, g_mont = g * R mod p and
 * p_inv = p^-1 mod R. t = x * g_mont < p * R; m = lo(t) * p_inv makes lo(m * p) equal
 * lo(t), so (t - m * p) / R = hi(t) - hi(m * p) is exact, lies in (-p, p) and is
 * congruent to x * g_mont / R = x * g. lo and hi are the low and high R-sized halves. */
static inline uint64_t mont32_step(uint64_t x, uint64_t g_mont, uint64_t p, uint32_t p_inv)
{
    uint64_t t = x * g_mont; /* p < 2^32: fits in 64 bits */
    uint32_t m = (uint32_t)t * p_inv;
    uint64_t hi = t >> 32, mp_hi = ((uint64_t)m * p) >> 32;
    uint64_t r = hi - mp_hi;
    return hi < mp_hi ? r + p : r;
}

static inline uint64_t mont64_step(uint64_t x, uint64_t g_mont, uint64_t p, uint64_t p_inv)
{
    u128 t = (u128)x * g_mont;
    uint64_t m = (uint64_t)t * p_inv;
    uint64_t hi = (uint64_t)(t >> 64), mp_hi = (uint64_t)(((u128)m * p) >> 64);
    uint64_t r = hi - mp_hi;
    return hi < mp_hi ? r + p : r;
}

bool vt_walk_next(struct vt_walk *w, uint64_t *elem)
{
    const struct vt_cycle *c = w->c;
    assert(w->done <= w->count && w->x >= 1 && w->x < c->p);
    const uint64_t n = c->n, p = c->p;
    uint64_t x = w->x, left = w->count - w->done;

    /* Elements above n are skipped; since p is the next prime after n they are rare
     * (a prime gap out of p - 1), so the loop almost always returns on its first pass. */
    if (p <= UINT32_MAX) {
        const uint64_t g_mont = c->g_mont;
        const uint32_t p_inv = (uint32_t)c->p_inv;
        while (left) {
            uint64_t v = x;
            x = mont32_step(v, g_mont, p, p_inv);
            left--;
            if (v <= n) {
                w->x = x;
                w->done = w->count - left;
                *elem = v - 1;
                return true;
            }
        }
    } else {
        const uint64_t g_mont = c->g_mont, p_inv = c->p_inv;
        while (left) {
            uint64_t v = x;
            x = mont64_step(v, g_mont, p, p_inv);
            left--;
            if (v <= n) {
                w->x = x;
                w->done = w->count - left;
                *elem = v - 1;
                return true;
            }
        }
    }
    w->x = x;
    w->done = w->count;
    return false;
}
