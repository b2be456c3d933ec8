/* test_recv.c: worker/recv.c's intake, the path every answer takes from the
 * receive thread to the output thread, without a network.
 *
 * What a user would notice: each (address, port) is reported once however
 * many copies of its answer arrive; an answer the full queue had no room for
 * is counted as dropped and, not having been marked seen, is reported when a
 * later copy of it comes (it is not lost twice); results come out whole and in
 * order; under a real producer and consumer thread no result is lost, doubled
 * or torn, and every drop is counted. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "recv.h"

static struct vt_result result(uint32_t addr, uint16_t port)
{
    return (struct vt_result){
        .addr = addr,
        .port = port,
        .state = port % 2 ? VT_STATE_OPEN : VT_STATE_CLOSED,
        .ttl = (uint8_t)(addr + port),
        .ts_ms = 1700000000000ull + addr,
    };
}

static void assert_result_equal(const struct vt_result *got, const struct vt_result *want)
{
    assert_int_equal(got->addr, want->addr);
    assert_int_equal(got->port, want->port);
    assert_int_equal(got->state, want->state);
    assert_int_equal(got->ttl, want->ttl);
    assert_int_equal(got->ts_ms, want->ts_ms);
}

static void test_sizes_checked(void **state)
{
    (void)state;
    assert_null(vt_intake_new(0, 10));
    assert_null(vt_intake_new(3, 10)); /* not a power of two */
    assert_null(vt_intake_new(1, 10));
    assert_null(vt_intake_new(8, 1));
    assert_null(vt_intake_new(8, 31));
    struct vt_intake *in = vt_intake_new(2, 2);
    assert_non_null(in);
    vt_intake_free(in);
    vt_intake_free(NULL);
}

/* The first copy is queued, later copies are ignored; the result comes out whole. */
static void test_one_result_per_pair(void **state)
{
    (void)state;
    struct vt_intake *in = vt_intake_new(16, 8);
    assert_non_null(in);
    struct vt_result a = result(0xc6120007, 23), b = result(0xc6120007, 80), got;
    assert_int_equal(vt_intake_offer(in, &a), VT_OFFER_QUEUED);
    assert_int_equal(vt_intake_offer(in, &a), VT_OFFER_DUPLICATE);
    assert_int_equal(vt_intake_offer(in, &b), VT_OFFER_QUEUED); /* same address, other port */
    /* Taken out, a pair stays seen: a late copy is still a duplicate. */
    assert_true(vt_intake_take(in, &got));
    assert_result_equal(&got, &a);
    assert_int_equal(vt_intake_offer(in, &a), VT_OFFER_DUPLICATE);
    assert_true(vt_intake_take(in, &got));
    assert_result_equal(&got, &b);
    assert_false(vt_intake_take(in, &got));
    assert_int_equal(vt_intake_dropped(in), 0);
    vt_intake_free(in);
}

/* The bug this intake exists to prevent: a pair marked seen before it was
 * queued is lost for good when the queue is full, since its re-probe's answer
 * is then refused as a duplicate. */
static void test_full_queue_does_not_mark_seen(void **state)
{
    (void)state;
    struct vt_intake *in = vt_intake_new(4, 8);
    assert_non_null(in);
    struct vt_result r[4], late = result(0xc6120063, 8080), got;
    for (unsigned i = 0; i < 4; i++) {
        r[i] = result(0xc6120001 + i, 23);
        assert_int_equal(vt_intake_offer(in, &r[i]), VT_OFFER_QUEUED);
    }
    /* Full: dropped and counted, each time a copy comes while it stays full. */
    assert_int_equal(vt_intake_offer(in, &late), VT_OFFER_DROPPED);
    assert_int_equal(vt_intake_dropped(in), 1);
    assert_int_equal(vt_intake_offer(in, &late), VT_OFFER_DROPPED);
    assert_int_equal(vt_intake_dropped(in), 2);
    /* A duplicate of a queued pair is a duplicate, not a drop, even when full. */
    assert_int_equal(vt_intake_offer(in, &r[0]), VT_OFFER_DUPLICATE);
    assert_int_equal(vt_intake_dropped(in), 2);

    /* Room again: the next copy of the dropped answer is taken, once. */
    assert_true(vt_intake_take(in, &got));
    assert_result_equal(&got, &r[0]);
    assert_int_equal(vt_intake_offer(in, &late), VT_OFFER_QUEUED);
    assert_int_equal(vt_intake_offer(in, &late), VT_OFFER_DUPLICATE);
    for (unsigned i = 1; i < 4; i++) {
        assert_true(vt_intake_take(in, &got));
        assert_result_equal(&got, &r[i]);
    }
    assert_true(vt_intake_take(in, &got));
    assert_result_equal(&got, &late);
    assert_false(vt_intake_take(in, &got));
    assert_int_equal(vt_intake_dropped(in), 2); /* drops are counted, never uncounted */
    vt_intake_free(in);
}

/* The set is bounded but remembers at least the last 2^(bits-1) pairs taken,
 * across generation changes: copies inside that window are never doubled. */
static void test_dedup_window(void **state)
{
    (void)state;
    const unsigned bits = 5, window = 1u << (bits - 1);
    struct vt_intake *in = vt_intake_new(8, bits);
    assert_non_null(in);
    struct vt_result got;
    for (uint32_t i = 0; i < 40 * window; i++) {
        struct vt_result r = result(0xc6120000 + i, 23);
        assert_int_equal(vt_intake_offer(in, &r), VT_OFFER_QUEUED);
        assert_true(vt_intake_take(in, &got));
        assert_result_equal(&got, &r);
        for (uint32_t j = i >= window - 1 ? i - (window - 1) : 0; j <= i; j++) {
            struct vt_result again = result(0xc6120000 + j, 23);
            assert_int_equal(vt_intake_offer(in, &again), VT_OFFER_DUPLICATE);
        }
    }
    /* Bounded: a pair far behind the window is taken anew. */
    struct vt_result first = result(0xc6120000, 23);
    assert_int_equal(vt_intake_offer(in, &first), VT_OFFER_QUEUED);
    assert_int_equal(vt_intake_dropped(in), 0);
    vt_intake_free(in);
}

/* A receive thread and an output thread at once, the consumer slower than the
 * producer so the small queue fills again and again. The producer re-offers a
 * dropped answer, as a second probe's answer would come; every pair comes out
 * exactly once and whole, and the drop count is the drops the producer saw. */
#define PAIRS 20000

struct pair_run {
    struct vt_intake *in;
    uint64_t drops_seen;
    unsigned wrong; /* outcomes that should not happen (cmocka asserts only on its own thread) */
    _Atomic int done;
};

static void *producer(void *arg)
{
    struct pair_run *run = arg;
    for (uint32_t i = 0; i < PAIRS; i++) {
        struct vt_result r = result(0xc6120000 + i / 4, (uint16_t)(1 + i % 4));
        enum vt_offer o;
        while ((o = vt_intake_offer(run->in, &r)) == VT_OFFER_DROPPED)
            run->drops_seen++;
        if (o != VT_OFFER_QUEUED)
            run->wrong++;
        if (i % 3 == 0 && vt_intake_offer(run->in, &r) != VT_OFFER_DUPLICATE)
            run->wrong++; /* a copy of an answer already queued */
    }
    atomic_store(&run->done, 1);
    return NULL;
}

static void test_threads_lose_nothing_uncounted(void **state)
{
    (void)state;
    struct pair_run run = {.in = vt_intake_new(64, 16)};
    assert_non_null(run.in);
    static uint8_t seen[PAIRS];
    memset(seen, 0, sizeof seen);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &run), 0);
    uint32_t taken = 0;
    for (;;) {
        int done = atomic_load(&run.done);
        struct vt_result got;
        unsigned n = 0;
        while (n < 16 && vt_intake_take(run.in, &got)) {
            uint32_t i = (got.addr - 0xc6120000) * 4 + (got.port - 1u);
            assert_true(i < PAIRS);
            struct vt_result want = result(got.addr, got.port);
            assert_result_equal(&got, &want);
            assert_int_equal(seen[i], 0);
            seen[i] = 1;
            taken++;
            n++;
        }
        if (done && n == 0)
            break;
        usleep(20); /* slower than the producer: the queue fills */
    }
    pthread_join(t, NULL);
    assert_int_equal(run.wrong, 0);
    assert_int_equal(taken, PAIRS);
    assert_true(run.drops_seen > 0); /* the full-queue path was taken */
    assert_int_equal(vt_intake_dropped(run.in), run.drops_seen);
    vt_intake_free(run.in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_checked),
        cmocka_unit_test(test_one_result_per_pair),
        cmocka_unit_test(test_full_queue_does_not_mark_seen),
        cmocka_unit_test(test_dedup_window),
        cmocka_unit_test(test_threads_lose_nothing_uncounted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
