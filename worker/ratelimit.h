/* ratelimit.h: pacing of the probe loop to a rate in packets per second.
 *
 * A token bucket in pure arithmetic: the caller passes the time, so the
 * limiter is exact and unit-testable with a simulated clock (tests/unit/
 * test_ratelimit.c). Credit accrues at `pps` packets per second, counted in
 * nano-packets, so no rounding drifts the long-run rate at any rate from
 * 1 pps to billions.
 *
 * Bursts: credit is capped at VT_RATELIMIT_BURST_NS worth of packets (2 ms),
 * and at least VT_RATELIMIT_MIN_BURST packets. So at high rates the loop sends
 * small batches (2,000 frames at 1M pps) while a late wake-up up to the cap
 * costs no rate, and after a stall (the process descheduled for a second) at
 * most one cap's worth goes out back to back: the rest of the stall's credit
 * is forfeited, so a stall makes the run slower, never burstier.
 *
 * pps == 0 means unlimited. The clock helpers below read CLOCK_MONOTONIC; the
 * limiter itself never does. A limiter belongs to one thread: another thread
 * that wants to change the rate should publish it (an atomic) for the sending
 * thread to pass to vt_ratelimit_set() between batches. */
#ifndef VANTAGE_RATELIMIT_H
#define VANTAGE_RATELIMIT_H

#include <stdint.h>

#define VT_RATELIMIT_BURST_NS  2000000ULL     /* credit cap: 2 ms worth of packets */
#define VT_RATELIMIT_MIN_BURST 4ULL           /* ... but at least this many packets */
#define VT_RATELIMIT_MAX_PPS   10000000000ULL /* higher rates are clamped to this */

struct vt_ratelimit {
    uint64_t pps;     /* packets per second; 0 = unlimited */
    uint64_t cap;     /* credit cap, nano-packets */
    uint64_t credit;  /* nano-packets available now (1e9 = one packet) */
    uint64_t last_ns; /* time credit was last brought up to date */
};

/* Starts with credit for one packet, so the first probe goes at once. */
void vt_ratelimit_init(struct vt_ratelimit *r, uint64_t pps, uint64_t now_ns);

/* Changes the rate from now on; credit earned so far at the old rate is kept
 * (up to the new cap). */
void vt_ratelimit_set(struct vt_ratelimit *r, uint64_t pps, uint64_t now_ns);

/* How many of `want` may be sent now (0..want); they are taken from the
 * credit. A clock that steps back is treated as standing still. */
uint64_t vt_ratelimit_take(struct vt_ratelimit *r, uint64_t now_ns, uint64_t want);

/* Nanoseconds until at least one packet may be sent: 0 if one may now;
 * otherwise vt_ratelimit_take(r, now_ns + wait, 1) returns 1. */
uint64_t vt_ratelimit_wait_ns(const struct vt_ratelimit *r, uint64_t now_ns);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t vt_now_ns(void);

/* Sleeps ns nanoseconds, accurate to a few microseconds unless the thread
 * is preempted: clock_nanosleep for the bulk of a wait, then sched_yield() and
 * spinning for the last 60 us (the default timer slack is 50 us). Costs CPU:
 * about 6% at 1,000 pps, half a core at 10,000 pps, all of it above. */
void vt_sleep_ns(uint64_t ns);

#endif
