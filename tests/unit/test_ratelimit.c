/* test_ratelimit.c: worker/ratelimit.c against a simulated clock.
 *
 * A simulated sender asks for batches, "spends" a little time per frame, and
 * sleeps as long as vt_ratelimit_wait_ns() says (sometimes oversleeping, as a
 * real timer does). What a user would notice: the long-run rate is within 1%
 * of what they asked for, a rate change takes effect, a stall is not followed
 * by a flood, and 0 means unlimited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000000ULL

/* xorshift64: deterministic jitter for the simulated timer. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

struct sim {
    uint64_t now;       /* simulated clock, ns */
    uint64_t batch;     /* frames asked for per take */
    uint64_t per_frame; /* ns of work per frame sent */
    uint64_t oversleep; /* max extra ns a sleep may last */
    uint64_t rng;
};

/* Runs the sender until sim->now reaches `until`; returns frames sent. */
static uint64_t run(struct vt_ratelimit *r, struct sim *sim, uint64_t until)
{
    uint64_t sent = 0;
    while (sim->now < until) {
        uint64_t n = vt_ratelimit_take(r, sim->now, sim->batch);
        assert_true(n <= sim->batch);
        sent += n;
        sim->now += n * sim->per_frame;
        if (n == 0) {
            uint64_t w = vt_ratelimit_wait_ns(r, sim->now);
            assert_true(w > 0);
            if (sim->oversleep)
                w += rng_next(&sim->rng) % sim->oversleep;
            sim->now += w;
        }
    }
    return sent;
}

static void assert_within_1pct(uint64_t got, uint64_t want)
{
    double lo = (double)want * 0.99, hi = (double)want * 1.01;
    if ((double)got < lo || (double)got > hi)
        fail_msg("sent %llu, expected %llu +-1%%", (unsigned long long)got,
                 (unsigned long long)want);
}

static void test_long_run_rate(void **state)
{
    static const uint64_t rates[] = {1000, 10000, 100000, 1000000, 10000000};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        /* An exact timer, then one that oversleeps up to 50 us (a VM's). */
        for (uint64_t over = 0; over <= 50000; over += 50000) {
            struct vt_ratelimit r;
            struct sim sim = {.batch = 256, .per_frame = 20, .oversleep = over, .rng = 42};
            vt_ratelimit_init(&r, rates[i], 0);
            uint64_t sent = run(&r, &sim, 10 * SEC);
            assert_within_1pct(sent, rates[i] * 10);
        }
    }
}

static void test_small_batches_at_high_rate(void **state)
{
    /* At 1M pps a batch of 1024 is never granted whole: bursts stay <= 2 ms. */
    struct vt_ratelimit r;
    struct sim sim = {.batch = 1000000, .per_frame = 0};
    vt_ratelimit_init(&r, 1000000, 0);
    uint64_t biggest = 0;
    while (sim.now < SEC) {
        uint64_t n = vt_ratelimit_take(&r, sim.now, sim.batch);
        if (n > biggest)
            biggest = n;
        sim.now += 100000; /* look every 100 us */
    }
    assert_true(biggest <= 2000);
}

static void test_rate_change(void **state)
{
    struct vt_ratelimit r;
    struct sim sim = {.batch = 64, .per_frame = 50, .oversleep = 20000, .rng = 7};
    vt_ratelimit_init(&r, 100000, 0);
    uint64_t first = run(&r, &sim, 5 * SEC);
    assert_within_1pct(first, 500000);
    vt_ratelimit_set(&r, 10000, sim.now);
    uint64_t second = run(&r, &sim, 10 * SEC);
    assert_within_1pct(second, 50000);
    vt_ratelimit_set(&r, 2000000, sim.now);
    uint64_t third = run(&r, &sim, 12 * SEC);
    assert_within_1pct(third, 4000000);
}

static void test_burst_after_stall_is_bounded(void **state)
{
    static const uint64_t rates[] = {1000, 100000, 10000000};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        struct vt_ratelimit r;
        struct sim sim = {.batch = 32, .per_frame = 10};
        vt_ratelimit_init(&r, rates[i], 0);
        (void)run(&r, &sim, SEC);
        sim.now += SEC; /* descheduled for a second */
        uint64_t burst = vt_ratelimit_take(&r, sim.now, UINT64_MAX);
        uint64_t bound = rates[i] * VT_RATELIMIT_BURST_NS / SEC;
        if (bound < VT_RATELIMIT_MIN_BURST)
            bound = VT_RATELIMIT_MIN_BURST;
        assert_true(burst >= 1);
        assert_true(burst <= bound);
        /* ... and the pace resumes: the next second sends one second's worth. */
        uint64_t start = sim.now;
        uint64_t sent = run(&r, &sim, start + SEC);
        assert_within_1pct(sent, rates[i]);
    }
}

static void test_unlimited(void **state)
{
    struct vt_ratelimit r;
    vt_ratelimit_init(&r, 0, 123);
    for (uint64_t want = 0; want < 5000; want += 999) {
        assert_int_equal(vt_ratelimit_take(&r, 123, want), want);
        assert_int_equal(vt_ratelimit_wait_ns(&r, 123), 0);
    }
    assert_int_equal(vt_ratelimit_take(&r, 0, UINT64_MAX), UINT64_MAX);
    /* limited -> unlimited -> limited */
    vt_ratelimit_set(&r, 1000, 1000);
    assert_int_equal(vt_ratelimit_take(&r, 1000, 10), 1);
    vt_ratelimit_set(&r, 0, 2000);
    assert_int_equal(vt_ratelimit_take(&r, 2000, 1000000), 1000000);
}

static void test_wait_consistent_with_take(void **state)
{
    static const uint64_t rates[] = {1, 1000, 33333, 1000000, 7777777, 10000000000ULL};
    uint64_t rng = 99;
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        struct vt_ratelimit r;
        uint64_t now = 1000;
        vt_ratelimit_init(&r, rates[i], now);
        for (int step = 0; step < 2000; step++) {
            now += rng_next(&rng) % (2 * SEC / rates[i] + 1);
            (void)vt_ratelimit_take(&r, now, rng_next(&rng) % 8);
            uint64_t w = vt_ratelimit_wait_ns(&r, now);
            struct vt_ratelimit copy = r;
            if (w == 0) {
                assert_int_equal(vt_ratelimit_take(&copy, now, 1), 1);
            } else {
                assert_int_equal(vt_ratelimit_take(&copy, now + w - 1, 1), 0);
                copy = r;
                assert_int_equal(vt_ratelimit_take(&copy, now + w, 1), 1);
            }
        }
    }
}

static void test_clock_step_back(void **state)
{
    struct vt_ratelimit r;
    vt_ratelimit_init(&r, 1000, 10 * SEC);
    assert_int_equal(vt_ratelimit_take(&r, 10 * SEC, 5), 1);
    assert_int_equal(vt_ratelimit_take(&r, 5 * SEC, 5), 0); /* no credit from the past */
    uint64_t w = vt_ratelimit_wait_ns(&r, 5 * SEC);
    assert_true(w >= 5 * SEC);
    assert_int_equal(vt_ratelimit_take(&r, 5 * SEC + w, 5), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_run_rate),   cmocka_unit_test(test_small_batches_at_high_rate),
        cmocka_unit_test(test_rate_change),     cmocka_unit_test(test_burst_after_stall_is_bounded),
        cmocka_unit_test(test_unlimited),       cmocka_unit_test(test_wait_consistent_with_take),
        cmocka_unit_test(test_clock_step_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
