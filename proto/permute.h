/*
 * permute.h — the scan order: a pseudo-random walk over a target space of n
 * elements, cut into arcs (shards) that any worker can take, checkpoint and resume.
 *
 * The walk is ZMap's: the cyclic multiplicative group of integers mod a prime p > n.
 * Step s of the cycle visits the group element x0 * g^s mod p, g a primitive root, so
 * one turn of p - 1 steps visits every element of [1, p-1] exactly once. Element v in
 * [1, n] stands for target index v - 1; elements above n are skipped but still count
 * as steps. A shard is therefore three integers (seed-derived cycle, first step, step
 * count) and its checkpoint is one integer (steps done); see
 * docs/architecture.md.
 *
 * The same (n, seed) gives the same cycle on every machine and every build: all
 * randomness comes from a seeded splitmix64, never from rand() or the clock.
 */
#ifndef VANTAGE_PERMUTE_H
#define VANTAGE_PERMUTE_H

#include <stdbool.h>
#include <stdint.h>

/* Largest n accepted is VT_CYCLE_MAX_N - 1. All of IPv4 times all ports is 2^48. */
#define VT_CYCLE_MAX_N (UINT64_C(1) << 62)

struct vt_cycle {
    uint64_t n;  /* elements 0..n-1 */
    uint64_t p;  /* prime > n */
    uint64_t g;  /* generator (primitive root mod p), drawn from the seed */
    uint64_t x0; /* start element of the walk in [1, p-1], drawn from the seed */

    /* Derived by vt_cycle_init for the hot loop, which multiplies in Montgomery form
     * with R = 2^32 when p < 2^32 (all products fit in 64 bits), else R = 2^64:
     * g_mont = g * R mod p, p_inv = p^-1 mod R (p = 2 is a special case, see .c). */
    uint64_t g_mont;
    uint64_t p_inv;
};

/* Picks p = the smallest prime > n, factors p - 1 and draws from seed a primitive root
 * g and a start element x0, deterministically. Returns 0, or -1 (and leaves *c zeroed)
 * if n == 0 or n >= VT_CYCLE_MAX_N. */
int vt_cycle_init(struct vt_cycle *c, uint64_t n, uint64_t seed);

/* Steps in one full turn of the cycle: p - 1. A step visits one group element;
 * elements > n are skipped but still count as steps, so "steps done" is a checkpoint. */
uint64_t vt_cycle_steps(const struct vt_cycle *c);

/* Arc i of k: steps [*first, *first + *count). The k arcs partition [0, steps) in
 * order and their sizes differ by at most one. Needs i < k; k may exceed the number
 * of steps, and then some arcs are empty. */
void vt_cycle_arc(const struct vt_cycle *c, uint64_t i, uint64_t k, uint64_t *first,
                  uint64_t *count);

/* x0 * g^step mod p: the group element visited at `step` of the cycle. */
uint64_t vt_cycle_element_at(const struct vt_cycle *c, uint64_t step);

/* The number theory the cycle is built on, exposed so the tests can check it. */
#define VT_MAX_PRIME_FACTORS 15 /* distinct primes of any 64-bit integer */

/* Deterministic Miller-Rabin, exact for every 64-bit n. */
bool vt_is_prime(uint64_t n);

/* Stores the distinct prime factors of m (m < 2^63) in q, in no particular order, and
 * returns how many there are (0 for m < 2). */
int vt_prime_factors(uint64_t m, uint64_t q[VT_MAX_PRIME_FACTORS]);

struct vt_walk {
    const struct vt_cycle *c;
    uint64_t x;     /* current group element */
    uint64_t done;  /* steps taken in this arc */
    uint64_t count; /* steps in this arc */
};

/* Positions w at step `first` of the cycle, to walk `count` steps; needs
 * first + count <= vt_cycle_steps(c). The walk keeps a pointer to c, which must
 * outlive it. Resuming a checkpoint = vt_walk_start(w, c, first + done, count - done). */
void vt_walk_start(struct vt_walk *w, const struct vt_cycle *c, uint64_t first, uint64_t count);

/* Stores the next element index in [0, n) of this arc in *elem and returns true, or
 * returns false when the arc is exhausted. One modular multiplication per step; no
 * allocation, no call. */
bool vt_walk_next(struct vt_walk *w, uint64_t *elem);

#endif /* VANTAGE_PERMUTE_H */
