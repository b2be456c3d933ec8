/* ratelimit.c: token-bucket pacing in pure arithmetic; see ratelimit.h.
 *
 * Invariants: credit <= cap, and cap >= one packet (1e9 nano-packets), so a
 * caller that waits vt_ratelimit_wait_ns() always gets at least one packet.
 * All products stay below 2^64: elapsed time is only multiplied by pps once it
 * is known to be smaller than the time to fill the bucket. */
#include "ratelimit.h"

#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <time.h>

#define NANO 1000000000ULL /* nano-packets per packet, and ns per second */

static uint64_t cap_for(uint64_t pps)
{
    uint64_t burst = pps * VT_RATELIMIT_BURST_NS / NANO;
    if (burst < VT_RATELIMIT_MIN_BURST)
        burst = VT_RATELIMIT_MIN_BURST;
    return burst * NANO;
}

static uint64_t clamp_pps(uint64_t pps)
{
    return pps > VT_RATELIMIT_MAX_PPS ? VT_RATELIMIT_MAX_PPS : pps;
}

/* Credit at now_ns without changing r. */
static uint64_t credit_at(const struct vt_ratelimit *r, uint64_t now_ns)
{
    if (now_ns <= r->last_ns)
        return r->credit;
    uint64_t elapsed = now_ns - r->last_ns;
    uint64_t room = r->cap - r->credit;
    /* elapsed * pps >= room  <=>  elapsed >= ceil(room / pps) */
    if (elapsed >= (room + r->pps - 1) / r->pps)
        return r->cap;
    return r->credit + elapsed * r->pps;
}

static void accrue(struct vt_ratelimit *r, uint64_t now_ns)
{
    r->credit = credit_at(r, now_ns);
    if (now_ns > r->last_ns)
        r->last_ns = now_ns;
}

void vt_ratelimit_init(struct vt_ratelimit *r, uint64_t pps, uint64_t now_ns)
{
    r->pps = clamp_pps(pps);
    r->cap = r->pps ? cap_for(r->pps) : 0;
    r->credit = r->pps ? NANO : 0;
    r->last_ns = now_ns;
}

void vt_ratelimit_set(struct vt_ratelimit *r, uint64_t pps, uint64_t now_ns)
{
    pps = clamp_pps(pps);
    if (r->pps == 0) { /* from unlimited: start afresh */
        vt_ratelimit_init(r, pps, now_ns);
        return;
    }
    accrue(r, now_ns);
    r->pps = pps;
    if (pps == 0) {
        r->cap = r->credit = 0;
        return;
    }
    r->cap = cap_for(pps);
    if (r->credit > r->cap)
        r->credit = r->cap;
}

uint64_t vt_ratelimit_take(struct vt_ratelimit *r, uint64_t now_ns, uint64_t want)
{
    if (r->pps == 0)
        return want;
    accrue(r, now_ns);
    uint64_t n = r->credit / NANO;
    if (n > want)
        n = want;
    r->credit -= n * NANO;
    assert(r->credit <= r->cap);
    return n;
}

uint64_t vt_ratelimit_wait_ns(const struct vt_ratelimit *r, uint64_t now_ns)
{
    if (r->pps == 0)
        return 0;
    uint64_t c = credit_at(r, now_ns);
    if (c >= NANO)
        return 0;
    uint64_t wait = (NANO - c + r->pps - 1) / r->pps;
    /* A clock behind last_ns accrues nothing until it catches up. */
    if (now_ns < r->last_ns)
        wait += r->last_ns - now_ns;
    return wait;
}

uint64_t vt_now_ns(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NANO + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

#define SLEEP_MARGIN_NS 60000ULL /* > the default 50 us timer slack: last stretch spun */
#define YIELD_MIN_NS    10000ULL /* below this, spin rather than yield */

void vt_sleep_ns(uint64_t ns)
{
    uint64_t deadline = vt_now_ns() + ns;
    if (ns > SLEEP_MARGIN_NS) {
        uint64_t wake = deadline - SLEEP_MARGIN_NS;
        struct timespec ts = {.tv_sec = (time_t)(wake / NANO), .tv_nsec = (long)(wake % NANO)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
    }
    for (;;) {
        uint64_t now = vt_now_ns();
        if (now >= deadline)
            break;
        if (deadline - now > YIELD_MIN_NS)
            (void)sched_yield();
        else
            cpu_relax();
    }
}
