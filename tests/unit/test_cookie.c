/*
 * test_cookie.c — worker/cookie.c: the keyed SipHash that gives each probe its TCP
 * sequence number and source port. What a user would notice if it broke: answers
 * rejected (not deterministic), answers of one scan accepted by another (keys not
 * mixed in), probes from ports outside the configured range, or `--seed N` not
 * reproducing a scan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "cookie.h"

static const unsigned char key_a[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const unsigned char key_b[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16};

#define SRC 0xc6130102u /* 198.19.1.2 */
#define DST 0xc6120007u /* 198.18.0.7 */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void) /* xorshift64*: fixed sequence on every libc */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_init_sets_default_range(void **state)
{
    struct vt_cookie c;

    vt_cookie_init(&c, key_a);
    assert_memory_equal(c.key, key_a, 16);
    assert_int_equal(c.sport_first, VT_COOKIE_SPORT_FIRST);
    assert_int_equal(c.sport_first + c.sport_count - 1, VT_COOKIE_SPORT_LAST);
}

static void test_deterministic_for_a_key(void **state)
{
    struct vt_cookie c1, c2;

    vt_cookie_init(&c1, key_a);
    vt_cookie_init(&c2, key_a);
    for (int i = 0; i < 1000; i++) {
        uint32_t d = (uint32_t)rng();
        uint16_t p = (uint16_t)rng();
        struct vt_probe_id a = vt_cookie_probe(&c1, SRC, d, p);
        struct vt_probe_id b = vt_cookie_probe(&c1, SRC, d, p);
        struct vt_probe_id e = vt_cookie_probe(&c2, SRC, d, p);
        assert_int_equal(a.seq, b.seq);
        assert_int_equal(a.sport, b.sport);
        assert_int_equal(a.seq, e.seq);
        assert_int_equal(a.sport, e.sport);
    }
}

/* The hash input is saddr|daddr|dport big-endian and the output is read
 * little-endian, independently of the host: check against libsodium directly. */
static void test_hash_layout(void **state)
{
    struct vt_cookie c;
    unsigned char in[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, out[8];
    uint64_t want = 0;

    vt_cookie_init(&c, key_a);
    crypto_shorthash(out, in, sizeof in, key_a);
    for (int i = 7; i >= 0; i--)
        want = want << 8 | out[i];
    assert_int_equal(vt_cookie_hash(&c, 0x00010203u, 0x04050607u, 0x0809), want);

    struct vt_probe_id id = vt_cookie_probe(&c, 0x00010203u, 0x04050607u, 0x0809);
    assert_int_equal(id.seq, (uint32_t)want);
    assert_int_equal(id.sport, VT_COOKIE_SPORT_FIRST + (uint32_t)(want >> 32) % c.sport_count);
}

static void test_different_keys_differ(void **state)
{
    struct vt_cookie a, b;
    int same_seq = 0;

    vt_cookie_init(&a, key_a);
    vt_cookie_init(&b, key_b);
    for (int i = 0; i < 10000; i++) {
        uint32_t d = (uint32_t)rng();
        uint16_t p = (uint16_t)rng();
        same_seq += vt_cookie_probe(&a, SRC, d, p).seq == vt_cookie_probe(&b, SRC, d, p).seq;
    }
    assert_int_equal(same_seq, 0); /* 10^4 / 2^32: a collision would be a bug */
}

static void test_different_inputs_differ(void **state)
{
    struct vt_cookie c;
    struct vt_probe_id base, other;

    vt_cookie_init(&c, key_a);
    base = vt_cookie_probe(&c, SRC, DST, 80);
    other = vt_cookie_probe(&c, SRC + 1, DST, 80);
    assert_int_not_equal(base.seq, other.seq);
    other = vt_cookie_probe(&c, SRC, DST + 1, 80);
    assert_int_not_equal(base.seq, other.seq);
    other = vt_cookie_probe(&c, SRC, DST, 81);
    assert_int_not_equal(base.seq, other.seq);
    /* Fields must not be interchangeable: swapping saddr and daddr is another probe. */
    other = vt_cookie_probe(&c, DST, SRC, 80);
    assert_int_not_equal(base.seq, other.seq);

    /* Over a /16 of neighbouring targets, the two ports of one address never share a
     * seq: a mix that ignored the port would make all 65536 pairs equal. */
    enum { N = 2 * 65536 };
    static uint32_t seqs[N];
    int n = 0;
    for (uint32_t d = 0; d < 65536; d++) {
        seqs[n++] = vt_cookie_probe(&c, SRC, 0xc6120000u + d, 23).seq;
        seqs[n++] = vt_cookie_probe(&c, SRC, 0xc6120000u + d, 80).seq;
    }
    int dup = 0;
    for (int i = 0; i < N; i += 2)
        dup += seqs[i] == seqs[i + 1];
    assert_true(dup <= 1); /* 2^16 / 2^32 expected by chance */
}

static void test_sport_within_default_range_and_spread(void **state)
{
    struct vt_cookie c;
    unsigned buckets[16] = {0};
    const int n = 160000;

    vt_cookie_init(&c, key_a);
    for (int i = 0; i < n; i++) {
        struct vt_probe_id id = vt_cookie_probe(&c, SRC, (uint32_t)rng(), (uint16_t)rng());
        assert_in_range(id.sport, VT_COOKIE_SPORT_FIRST, VT_COOKIE_SPORT_LAST);
        buckets[(id.sport - VT_COOKIE_SPORT_FIRST) * 16 / c.sport_count]++;
    }
    for (int b = 0; b < 16; b++) /* expected 10000 each; 10% is > 10 sigma */
        assert_in_range(buckets[b], 9000, 11000);
}

static void test_custom_sport_range(void **state)
{
    struct vt_cookie c;

    vt_cookie_init(&c, key_a);
    assert_int_equal(vt_cookie_set_sport_range(&c, 40000, 40009), 0);
    for (int i = 0; i < 10000; i++) {
        struct vt_probe_id id = vt_cookie_probe(&c, SRC, (uint32_t)rng(), (uint16_t)rng());
        assert_in_range(id.sport, 40000, 40009);
    }
    assert_int_equal(vt_cookie_set_sport_range(&c, 1000, 1000), 0);
    assert_int_equal(vt_cookie_probe(&c, SRC, DST, 80).sport, 1000);
    assert_int_equal(vt_cookie_set_sport_range(&c, 1, 65535), 0);
    assert_int_equal(c.sport_count, 65535);
    for (int i = 0; i < 10000; i++)
        assert_int_not_equal(vt_cookie_probe(&c, SRC, (uint32_t)rng(), 80).sport, 0);

    /* Bad ranges are refused and leave the range alone. */
    assert_int_equal(vt_cookie_set_sport_range(&c, 5000, 4999), -1);
    assert_int_equal(vt_cookie_set_sport_range(&c, 0, 100), -1);
    assert_int_equal(c.sport_first, 1);
    assert_int_equal(c.sport_count, 65535);
}

/* `--seed N` must give the same probes on every run, host and release: the derived
 * key is pinned here. Changing it is a wire-visible change (bump the label). */
static void test_seed_keys_stable(void **state)
{
    struct vt_cookie a, b, c;

    vt_cookie_init_seed(&a, 42);
    vt_cookie_init_seed(&b, 42);
    vt_cookie_init_seed(&c, 43);
    assert_memory_equal(a.key, b.key, 16);
    assert_memory_not_equal(a.key, c.key, 16);
    assert_int_equal(a.sport_first, VT_COOKIE_SPORT_FIRST);

    unsigned char want[16];
    unsigned char msg[21 + 8] = "vantage cookie key v1"; /* label, then 42 as LE u64 */
    memset(msg + 21, 0, 8);
    msg[21] = 42;
    crypto_generichash(want, 16, msg, sizeof msg, NULL, 0);
    assert_memory_equal(a.key, want, 16);

    static const unsigned char golden[16] = {0xc7, 0x9e, 0x61, 0x4e, 0x7c, 0x28, 0xbe, 0x68,
                                             0xa9, 0x8b, 0x68, 0xfe, 0x15, 0x92, 0x3d, 0x30};
    assert_memory_equal(a.key, golden, 16);
    struct vt_probe_id id = vt_cookie_probe(&a, SRC, DST, 80);
    assert_int_equal(id.seq, 0x368af9f0u);
    assert_int_equal(id.sport, 50123);
}

static void test_random_keys_differ(void **state)
{
    struct vt_cookie a, b;

    assert_int_equal(vt_cookie_init_random(&a), 0);
    assert_int_equal(vt_cookie_init_random(&b), 0);
    assert_memory_not_equal(a.key, b.key, 16);
    assert_int_equal(a.sport_first, VT_COOKIE_SPORT_FIRST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_sets_default_range),
        cmocka_unit_test(test_deterministic_for_a_key),
        cmocka_unit_test(test_hash_layout),
        cmocka_unit_test(test_different_keys_differ),
        cmocka_unit_test(test_different_inputs_differ),
        cmocka_unit_test(test_sport_within_default_range_and_spread),
        cmocka_unit_test(test_custom_sport_range),
        cmocka_unit_test(test_seed_keys_stable),
        cmocka_unit_test(test_random_keys_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
