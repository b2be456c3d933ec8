/* test_pfx2as.c: unit tests for coordinator/pfx2as.c, the prefix-to-AS table
 * `vantage report --by asn` maps addresses with.
 *
 * What an operator would notice: every form of a CAIDA prefix2as line is
 * read as CAIDA means it (multi-origin, AS sets, both), every bad line is
 * named with its line number and what is wrong with it and the rest still
 * loads, a prefix given twice takes the last line, and an address is put
 * under the most specific prefix that holds it: checked at the edges of
 * nested and adjacent prefixes, and against a brute-force search over
 * thousands of random prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfx2as.h"
#include "targets.h"

static char err[256];

static uint32_t ip(const char *s)
{
    uint32_t a;
    if (vt_ip_parse(s, &a) != 0)
        fail_msg("test bug: bad address %s", s);
    return a;
}

/* A built table of the lines of text (one string, '\n' separated). */
static struct vt_pfx2as *table_of(const char *text)
{
    struct vt_pfx2as *t = vt_pfx2as_new();
    assert_non_null(t);
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    size_t nbad = 0;
    assert_true(vt_pfx2as_load(t, f, "test", NULL, NULL, &nbad) >= 0);
    fclose(f);
    assert_int_equal(nbad, 0);
    assert_int_equal(vt_pfx2as_build(t), 0);
    return t;
}

/* addr maps to want ("a.b.c.d/len", or NULL for no match) with the
 * origins listed in origins ("64500 64501"), in that order. */
static void expect_match(const struct vt_pfx2as *t, const char *addr, const char *want,
                         const char *origins)
{
    struct vt_pfx2as_match m;
    bool found = vt_pfx2as_lookup(t, ip(addr), &m);
    char got[64], a[16];
    if (found)
        snprintf(got, sizeof got, "%s/%u", vt_ip_str(m.prefix, a), m.len);
    if (!want) {
        if (found)
            fail_msg("%s matched %s, want no match", addr, got);
        return;
    }
    if (!found)
        fail_msg("%s has no match, want %s", addr, want);
    if (strcmp(got, want) != 0)
        fail_msg("%s matched %s, want %s", addr, got, want);
    char list[128] = "";
    for (size_t i = 0; i < m.norigins; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%u", i ? " " : "",
                 m.origins[i]);
    if (strcmp(list, origins) != 0)
        fail_msg("%s (%s) has origins \"%s\", want \"%s\"", addr, got, list, origins);
}

/* ---- parsing ---- */

static void add_ok(struct vt_pfx2as *t, const char *line)
{
    err[0] = '\0';
    int rc = vt_pfx2as_add_line(t, line, err, sizeof err);
    if (rc != 0)
        fail_msg("\"%s\" gave %d (%s), want it added", line, rc, err);
}

static void test_every_form(void **state)
{
    struct vt_pfx2as *t = vt_pfx2as_new();
    add_ok(t, "198.18.0.0\t15\t64500\n");
    add_ok(t, "198.18.0.0\t22\t64501_64502\n");       /* multi-origin */
    add_ok(t, "198.18.4.0\t24\t64503,64504\n");       /* AS set */
    add_ok(t, "198.18.8.0\t24\t64505_64506,64507\n"); /* both */
    add_ok(t, "198.18.9.0 24 64508\r\n");             /* spaces, CRLF */
    add_ok(t, "  198.18.10.0 \t 24\t\t64509  \n");    /* runs of both */
    add_ok(t, "198.18.11.0\t24\t64510_64510,64511");  /* a repeat kept once; no newline */
    add_ok(t, "0.0.0.0\t0\t4294967295\n");            /* a default route; the largest ASN */
    add_ok(t, "203.0.113.7\t32\t0\n");
    const char *skipped[] = {"# comment", "   # indented comment\n", "", "\n", "  \t \r\n"};
    for (size_t i = 0; i < sizeof skipped / sizeof *skipped; i++)
        assert_int_equal(vt_pfx2as_add_line(t, skipped[i], err, sizeof err), 1);
    assert_int_equal(vt_pfx2as_count(t), 9);
    assert_int_equal(vt_pfx2as_build(t), 0);

    expect_match(t, "198.19.255.255", "198.18.0.0/15", "64500");
    expect_match(t, "198.18.3.1", "198.18.0.0/22", "64501 64502");
    expect_match(t, "198.18.4.200", "198.18.4.0/24", "64503 64504");
    expect_match(t, "198.18.8.1", "198.18.8.0/24", "64505 64506 64507");
    expect_match(t, "198.18.9.1", "198.18.9.0/24", "64508");
    expect_match(t, "198.18.10.1", "198.18.10.0/24", "64509");
    expect_match(t, "198.18.11.1", "198.18.11.0/24", "64510 64511");
    expect_match(t, "8.8.8.8", "0.0.0.0/0", "4294967295");
    expect_match(t, "203.0.113.7", "203.0.113.7/32", "0"); /* AS 0 is a value */

    /* Built: no more lines. */
    assert_int_equal(vt_pfx2as_add_line(t, "10.0.0.0\t8\t1", err, sizeof err), -1);
    assert_non_null(strstr(err, "built"));
    vt_pfx2as_free(t);
}

static void expect_bad(const char *line, const char *reason)
{
    struct vt_pfx2as *t = vt_pfx2as_new();
    err[0] = '\0';
    int rc = vt_pfx2as_add_line(t, line, err, sizeof err);
    if (rc != -1)
        fail_msg("\"%s\" gave %d, want it refused for \"%s\"", line, rc, reason);
    if (!strstr(err, reason))
        fail_msg("\"%s\" refused with \"%s\", want \"%s\" in it", line, err, reason);
    assert_int_equal(vt_pfx2as_count(t), 0);
    vt_pfx2as_free(t);
}

static void test_bad_lines(void **state)
{
    expect_bad("198.18.0\t24\t64500", "bad address '198.18.0'");
    expect_bad("256.18.0.0\t24\t64500", "bad address '256.18.0.0'");
    expect_bad("198.018.0.0\t24\t64500", "bad address");
    expect_bad("hello world 1", "bad address 'hello'");
    expect_bad("198.18.0.0/24\t64500", "bad address '198.18.0.0/24'");
    expect_bad("2001:db8::\t32\t64500", "'2001:db8::' is not IPv4");
    expect_bad("198.18.0.0\t33\t64500", "prefix length '33' is not 0-32");
    expect_bad("198.18.0.0\t-1\t64500", "prefix length '-1'");
    expect_bad("198.18.0.0\t/24\t64500", "prefix length '/24'");
    expect_bad("198.18.0.1\t24\t64500", "host bits set in 198.18.0.1/24 (the network would be "
                                        "198.18.0.0/24)");
    expect_bad("128.0.0.0\t0\t64500", "host bits set in 128.0.0.0/0");
    expect_bad("198.18.0.0\t24\tAS64500", "ASN 'AS64500' is not a number");
    expect_bad("198.18.0.0\t24\t4294967296", "more than 4294967295");
    expect_bad("198.18.0.0\t24\t64500_64501x", "is not a number");
    expect_bad("198.18.0.0\t24\t64500,,64501", "empty ASN in '64500,,64501'");
    expect_bad("198.18.0.0\t24\t64500_", "empty ASN");
    expect_bad("198.18.0.0\t24\t_64500", "empty ASN");
    expect_bad("198.18.0.0\t24\t1_2_3_4_5,6,7,8,9", "more than 8 origin ASNs");
    expect_bad("198.18.0.0\t24\t64500 extra", "junk after the ASN: 'extra'");
    expect_bad("198.18.0.0\t24", "missing the ASN");
    expect_bad("198.18.0.0", "missing the prefix length and the ASN");
    /* Eight origins are fine, even with repeats beyond. */
    struct vt_pfx2as *t = vt_pfx2as_new();
    add_ok(t, "198.18.0.0\t24\t1_2_3_4,5,6,7,8_8_1");
    assert_int_equal(vt_pfx2as_build(t), 0);
    expect_match(t, "198.18.0.1", "198.18.0.0/24", "1 2 3 4 5 6 7 8");
    vt_pfx2as_free(t);
    /* A bad field is quoted printable and short. */
    expect_bad("198.18.0.0\t24\t\x01\x7f", "ASN '?"
                                           "?'");
    char longline[300] = "198.18.0.0\t24\t";
    memset(longline + strlen(longline), 'x', 200);
    expect_bad(longline, "...' is not a number");
}

/* ---- loading a file ---- */

struct msgs {
    char text[16][256];
    size_t n;
};

static void collect(void *arg, const char *msg)
{
    struct msgs *m = arg;
    if (m->n < 16)
        snprintf(m->text[m->n++], sizeof m->text[0], "%s", msg);
}

static void test_load_reports_bad_lines_and_goes_on(void **state)
{
    static const char text[] = "# CAIDA routeviews prefix2as\n" /* 1 */
                               "198.18.0.0\t15\t64500\n"        /* 2 */
                               "198.18.0.0\t33\t64500\n"        /* 3: bad */
                               "\n"                             /* 4 */
                               "198.18.7.1\t24\t64501\n"        /* 5: bad */
                               "10.0.0.0\t8\t64502\n"           /* 6 */
                               "2001:db8::\t32\t64503\n"        /* 7: bad */
                               "10.0.0.0\t8\t64504_64505\n"     /* 8: replaces line 6 */
                               "198.51.100.0\t24\t64506\n";     /* 9 */
    struct vt_pfx2as *t = vt_pfx2as_new();
    FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
    struct msgs m = {0};
    size_t nbad = 0;
    assert_int_equal(vt_pfx2as_load(t, f, "rv.pfx2as", collect, &m, &nbad), 3);
    fclose(f);
    assert_int_equal(nbad, 4);
    assert_int_equal(m.n, 4);
    assert_string_equal(m.text[0], "rv.pfx2as:3: prefix length '33' is not 0-32 (skipped)");
    assert_string_equal(m.text[1], "rv.pfx2as:5: host bits set in 198.18.7.1/24 (the network "
                                   "would be 198.18.7.0/24) (skipped)");
    assert_string_equal(m.text[2], "rv.pfx2as:7: '2001:db8::' is not IPv4 (IPv6 prefixes are "
                                   "not supported) (skipped)");
    assert_string_equal(m.text[3], "rv.pfx2as:6: 10.0.0.0/8 is given again on line 8 (skipped: "
                                   "the last line wins)");
    assert_int_equal(vt_pfx2as_count(t), 3);
    assert_int_equal(vt_pfx2as_build(t), 0);
    expect_match(t, "10.1.2.3", "10.0.0.0/8", "64504 64505"); /* the last line's */
    expect_match(t, "198.18.7.1", "198.18.0.0/15", "64500");
    expect_match(t, "198.51.100.255", "198.51.100.0/24", "64506");
    vt_pfx2as_free(t);
}

static void test_add_line_says_what_it_replaced(void **state)
{
    struct vt_pfx2as *t = vt_pfx2as_new();
    add_ok(t, "10.0.0.0\t8\t1");
    add_ok(t, "10.0.0.0\t9\t2"); /* same address, another length: another prefix */
    assert_int_equal(vt_pfx2as_add_line(t, "10.0.0.0 8 3", err, sizeof err), 2);
    assert_string_equal(err, "replaces 10.0.0.0/8 of line 1");
    assert_int_equal(vt_pfx2as_count(t), 2);
    assert_int_equal(vt_pfx2as_build(t), 0);
    expect_match(t, "10.200.0.0", "10.0.0.0/8", "3");
    expect_match(t, "10.0.0.0", "10.0.0.0/9", "2");
    vt_pfx2as_free(t);
}

static void test_load_refuses_gzip_and_nul(void **state)
{
    static const char gz[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03junk\nmore junk\n";
    struct vt_pfx2as *t = vt_pfx2as_new();
    FILE *f = fmemopen((void *)gz, sizeof gz - 1, "r");
    struct msgs m = {0};
    size_t nbad = 0;
    assert_int_equal(vt_pfx2as_load(t, f, "rv.pfx2as.gz", collect, &m, &nbad), 0);
    fclose(f);
    assert_int_equal(m.n, 1); /* one line, not one per line of binary */
    assert_non_null(strstr(m.text[0], "rv.pfx2as.gz: gzip-compressed"));
    assert_non_null(strstr(m.text[0], "zcat rv.pfx2as.gz"));
    vt_pfx2as_free(t);

    static const char nul[] = "10.0.0.0\t8\t1\n10.1.0.0\0\t16\t2\n10.2.0.0\t16\t3\n";
    t = vt_pfx2as_new();
    f = fmemopen((void *)nul, sizeof nul - 1, "r");
    m.n = 0;
    assert_int_equal(vt_pfx2as_load(t, f, "x", collect, &m, NULL), 2);
    fclose(f);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.text[0], "x:2: holds a NUL byte (is it a text file?) (skipped)");
    vt_pfx2as_free(t);
}

/* ---- longest-prefix match ---- */

static void test_nested_prefixes(void **state)
{
    struct vt_pfx2as *t = table_of("0.0.0.0\t0\t1\n"
                                   "10.0.0.0\t8\t2\n"
                                   "10.1.0.0\t16\t3\n"
                                   "10.1.2.0\t24\t4\n"
                                   "10.1.2.3\t32\t5\n"
                                   "10.255.0.0\t16\t6\n"); /* ends where the /8 ends */
    expect_match(t, "0.0.0.0", "0.0.0.0/0", "1");
    expect_match(t, "9.255.255.255", "0.0.0.0/0", "1");
    expect_match(t, "10.0.0.0", "10.0.0.0/8", "2");
    expect_match(t, "10.0.255.255", "10.0.0.0/8", "2");
    expect_match(t, "10.1.0.0", "10.1.0.0/16", "3");
    expect_match(t, "10.1.1.255", "10.1.0.0/16", "3");
    expect_match(t, "10.1.2.0", "10.1.2.0/24", "4");
    expect_match(t, "10.1.2.2", "10.1.2.0/24", "4");
    expect_match(t, "10.1.2.3", "10.1.2.3/32", "5");
    expect_match(t, "10.1.2.4", "10.1.2.0/24", "4");
    expect_match(t, "10.1.2.255", "10.1.2.0/24", "4");
    expect_match(t, "10.1.3.0", "10.1.0.0/16", "3");
    expect_match(t, "10.1.255.255", "10.1.0.0/16", "3");
    expect_match(t, "10.2.0.0", "10.0.0.0/8", "2");
    expect_match(t, "10.254.255.255", "10.0.0.0/8", "2");
    expect_match(t, "10.255.0.0", "10.255.0.0/16", "6");
    expect_match(t, "10.255.255.255", "10.255.0.0/16", "6");
    expect_match(t, "11.0.0.0", "0.0.0.0/0", "1");
    expect_match(t, "255.255.255.255", "0.0.0.0/0", "1");
    vt_pfx2as_free(t);
}

static void test_adjacent_edges_and_no_match(void **state)
{
    struct vt_pfx2as *t = table_of("198.18.0.0\t24\t1\n"
                                   "198.18.1.0\t24\t1\n" /* adjacent, same AS: still its own */
                                   "198.18.2.0\t23\t2\n"
                                   "0.0.0.0\t32\t3\n"
                                   "255.255.255.255\t32\t4\n"
                                   "128.0.0.0\t1\t5\n");
    expect_match(t, "0.0.0.0", "0.0.0.0/32", "3");
    expect_match(t, "0.0.0.1", NULL, "");
    expect_match(t, "198.17.255.255", "128.0.0.0/1", "5");
    expect_match(t, "127.255.255.255", NULL, "");
    expect_match(t, "198.18.0.255", "198.18.0.0/24", "1");
    expect_match(t, "198.18.1.0", "198.18.1.0/24", "1");
    expect_match(t, "198.18.1.255", "198.18.1.0/24", "1");
    expect_match(t, "198.18.2.0", "198.18.2.0/23", "2");
    expect_match(t, "198.18.3.255", "198.18.2.0/23", "2");
    expect_match(t, "198.18.4.0", "128.0.0.0/1", "5");
    expect_match(t, "128.0.0.0", "128.0.0.0/1", "5");
    expect_match(t, "255.255.255.254", "128.0.0.0/1", "5");
    expect_match(t, "255.255.255.255", "255.255.255.255/32", "4");
    vt_pfx2as_free(t);

    t = table_of("# nothing but comments\n\n");
    assert_int_equal(vt_pfx2as_count(t), 0);
    expect_match(t, "0.0.0.0", NULL, "");
    expect_match(t, "255.255.255.255", NULL, "");
    vt_pfx2as_free(t);

    t = table_of("0.0.0.0 0 7\n");
    expect_match(t, "0.0.0.0", "0.0.0.0/0", "7");
    expect_match(t, "255.255.255.255", "0.0.0.0/0", "7");
    vt_pfx2as_free(t);
}

/* ---- against brute force ---- */

struct pfx {
    uint32_t prefix, asn;
    unsigned len;
};

static uint32_t rnd32(void)
{
    return (uint32_t)rand() << 16 ^ (uint32_t)rand();
}

static uint32_t mask_of(unsigned len)
{
    return len ? UINT32_MAX << (32 - len) : 0;
}

/* The longest of the prefixes holding a (the last given of equal ones), or -1. */
static long brute(const struct pfx *p, size_t n, uint32_t a)
{
    long best = -1;
    for (size_t i = 0; i < n; i++)
        if ((a & mask_of(p[i].len)) == p[i].prefix && (best < 0 || p[i].len >= p[best].len))
            best = (long)i;
    return best;
}

static void check_one(const struct vt_pfx2as *t, const struct pfx *p, size_t n, uint32_t a)
{
    struct vt_pfx2as_match m;
    long want = brute(p, n, a);
    bool found = vt_pfx2as_lookup(t, a, &m);
    if (want < 0) {
        if (found)
            fail_msg("%08x: matched %08x/%u, brute force finds none", a, m.prefix, m.len);
        return;
    }
    if (!found)
        fail_msg("%08x: no match, brute force finds %08x/%u", a, p[want].prefix, p[want].len);
    if (m.prefix != p[want].prefix || m.len != p[want].len || m.norigins != 1 ||
        m.origins[0] != p[want].asn)
        fail_msg("%08x: matched %08x/%u AS%u, brute force finds %08x/%u AS%u", a, m.prefix, m.len,
                 m.origins[0], p[want].prefix, p[want].len, p[want].asn);
}

static void test_random_against_brute_force(void **state)
{
    enum { N = 4000 };
    unsigned seed = 20261128;
    srand(seed);
    struct pfx *p = calloc(N, sizeof *p);
    struct vt_pfx2as *t = vt_pfx2as_new();
    for (size_t i = 0; i < N; i++) {
        unsigned len;
        uint32_t base;
        if (i > 0 && rand() % 3 == 0) { /* inside, next to or equal to an earlier one */
            const struct pfx *q = &p[(size_t)rand() % i];
            len = q->len + (unsigned)rand() % (33 - q->len);
            base = q->prefix + (rand() % 4 == 0 ? (uint32_t)(1ull << (32 - q->len)) : 0);
            base |= rnd32() & ~mask_of(q->len);
        } else {
            len = 4 + (unsigned)rand() % 29;
            base = rnd32() & 0x3fffffff; /* a quarter of the space: more overlaps */
        }
        p[i] = (struct pfx){base & mask_of(len), (uint32_t)i + 1, len};
        char line[64], a[16];
        snprintf(line, sizeof line, "%s\t%u\t%u\n", vt_ip_str(p[i].prefix, a), len, p[i].asn);
        int rc = vt_pfx2as_add_line(t, line, err, sizeof err);
        if (rc != 0 && rc != 2)
            fail_msg("seed %u: \"%s\" refused: %s", seed, line, err);
    }
    assert_int_equal(vt_pfx2as_build(t), 0);
    /* Each prefix's first and last address and their neighbours, and random ones. */
    for (size_t i = 0; i < N; i++) {
        uint32_t first = p[i].prefix, last = first | ~mask_of(p[i].len);
        check_one(t, p, N, first);
        check_one(t, p, N, last);
        check_one(t, p, N, first - 1);
        check_one(t, p, N, last + 1);
    }
    for (int i = 0; i < 20000; i++)
        check_one(t, p, N, rnd32() & (i % 2 ? 0x3fffffff : UINT32_MAX));
    vt_pfx2as_free(t);
    free(p);
}

/* A full Routeviews table has about a million prefixes: the built table
 * must stay within a few dozen bytes each. (Under a sanitizer mallinfo2
 * may count nothing; then this checks nothing.) */
static size_t heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd; /* small blocks, and the large ones mmap()ed */
}

static void test_memory_per_prefix(void **state)
{
    enum { N = 200000 };
    size_t before = heap_used();
    struct vt_pfx2as *t = vt_pfx2as_new();
    srand(7);
    for (size_t i = 0; i < N; i++) {
        char line[64], a[16];
        unsigned len = 16 + (unsigned)rand() % 17;
        snprintf(line, sizeof line, "%s %u %u_%u", vt_ip_str(rnd32() & mask_of(len), a), len,
                 (unsigned)rand(), (unsigned)rand());
        int rc = vt_pfx2as_add_line(t, line, err, sizeof err);
        assert_true(rc == 0 || rc == 2);
    }
    assert_int_equal(vt_pfx2as_build(t), 0);
    size_t used = heap_used() - before;
    if (used > 48 * (size_t)N)
        fail_msg("%zu bytes for %d prefixes: %zu a prefix", used, N, used / N);
    vt_pfx2as_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_form),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_load_reports_bad_lines_and_goes_on),
        cmocka_unit_test(test_add_line_says_what_it_replaced),
        cmocka_unit_test(test_load_refuses_gzip_and_nul),
        cmocka_unit_test(test_nested_prefixes),
        cmocka_unit_test(test_adjacent_edges_and_no_match),
        cmocka_unit_test(test_random_against_brute_force),
        cmocka_unit_test(test_memory_per_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
