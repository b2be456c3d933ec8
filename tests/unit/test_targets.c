/* test_targets.c: unit tests for proto/targets.c, the IPv4 target sets.
 *
 * What an operator would notice: which addresses `--targets` and `@FILE` mean,
 * that the built-in blocklist keeps the scan off special-purpose space, that
 * the scan walk (vt_targets_nth) visits exactly the set, and that every typo
 * is refused with a message naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "targets.h"

#define IP(a, b, c, d)                                                                             \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static char err[512];

/* Parses spec into a fresh set, failing the test on an error. */
static void parse_ok(struct vt_targets *t, const char *spec)
{
    vt_targets_init(t);
    err[0] = '\0';
    int rc = vt_targets_parse(t, spec, err, sizeof err);
    if (rc != 0)
        fail_msg("parse of \"%s\" failed: %s", spec, err);
}

/* Writes text to a fresh temporary file; returns its path (free() it). */
static char *temp_file(const char *text)
{
    char *path = strdup("/tmp/test_targets.XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_ip_parse_and_format(void **state)
{
    uint32_t ip = 0;
    char buf[16];

    assert_int_equal(vt_ip_parse("0.0.0.0", &ip), 0);
    assert_int_equal(ip, 0);
    assert_int_equal(vt_ip_parse("255.255.255.255", &ip), 0);
    assert_int_equal(ip, UINT32_MAX);
    assert_int_equal(vt_ip_parse("198.18.0.1", &ip), 0);
    assert_int_equal(ip, IP(198, 18, 0, 1));
    assert_string_equal(vt_ip_str(ip, buf), "198.18.0.1");
    assert_string_equal(vt_ip_str(0, buf), "0.0.0.0");
    assert_string_equal(vt_ip_str(UINT32_MAX, buf), "255.255.255.255");

    static const char *bad[] = {
        "",          "1.2.3",     "1.2.3.4.5", "256.1.1.1",  "1.2.3.256", "1000.1.1.1",
        "010.1.1.1", "1.2.3.01",  "00.0.0.0",  "+1.2.3.4",   "1..2.3",    ".1.2.3",
        "1.2.3.",    "1.2.3.4x",  " 1.2.3.4",  "1.2.3.4 ",   "a.b.c.d",   "0x1.2.3.4",
        "1.2.3.-4",  "1.2.3.4/8", "1,2,3,4",   "4294967295",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ip = 12345;
        if (vt_ip_parse(bad[i], &ip) != -1)
            fail_msg("vt_ip_parse accepted \"%s\"", bad[i]);
        assert_int_equal(ip, 12345); /* untouched on failure */
    }
}

static void test_cidr(void **state)
{
    struct vt_targets t;

    parse_ok(&t, "198.18.0.0/16");
    assert_int_equal(t.n, 1);
    assert_int_equal(vt_targets_count(&t), 65536);
    assert_true(vt_targets_contains(&t, IP(198, 18, 0, 0)));
    assert_true(vt_targets_contains(&t, IP(198, 18, 255, 255)));
    assert_false(vt_targets_contains(&t, IP(198, 17, 255, 255)));
    assert_false(vt_targets_contains(&t, IP(198, 19, 0, 0)));
    vt_targets_free(&t);

    parse_ok(&t, "192.0.2.7/32");
    assert_int_equal(vt_targets_count(&t), 1);
    assert_true(vt_targets_contains(&t, IP(192, 0, 2, 7)));
    assert_false(vt_targets_contains(&t, IP(192, 0, 2, 6)));
    assert_false(vt_targets_contains(&t, IP(192, 0, 2, 8)));
    vt_targets_free(&t);

    /* The whole space: 2^32 addresses, which needs every bit of the uint64. */
    parse_ok(&t, "0.0.0.0/0");
    assert_int_equal(t.n, 1);
    assert_int_equal(vt_targets_count(&t), UINT64_C(4294967296));
    assert_true(vt_targets_contains(&t, 0));
    assert_true(vt_targets_contains(&t, UINT32_MAX));
    assert_int_equal(vt_targets_nth(&t, 0), 0);
    assert_int_equal(vt_targets_nth(&t, UINT64_C(4294967295)), UINT32_MAX);
    assert_int_equal(vt_targets_nth(&t, IP(8, 8, 8, 8)), IP(8, 8, 8, 8));
    vt_targets_free(&t);

    parse_ok(&t, "128.0.0.0/1");
    assert_int_equal(vt_targets_count(&t), UINT64_C(2147483648));
    assert_false(vt_targets_contains(&t, IP(127, 255, 255, 255)));
    assert_true(vt_targets_contains(&t, IP(128, 0, 0, 0)));
    vt_targets_free(&t);
}

static void test_ranges_and_single_addresses(void **state)
{
    struct vt_targets t;

    parse_ok(&t, "10.0.0.5-10.0.0.9");
    assert_int_equal(vt_targets_count(&t), 5);
    assert_false(vt_targets_contains(&t, IP(10, 0, 0, 4)));
    assert_true(vt_targets_contains(&t, IP(10, 0, 0, 5)));
    assert_true(vt_targets_contains(&t, IP(10, 0, 0, 9)));
    assert_false(vt_targets_contains(&t, IP(10, 0, 0, 10)));
    vt_targets_free(&t);

    parse_ok(&t, "10.0.0.5-10.0.0.5");
    assert_int_equal(vt_targets_count(&t), 1);
    vt_targets_free(&t);

    parse_ok(&t, "10.0.0.1");
    assert_int_equal(vt_targets_count(&t), 1);
    assert_true(vt_targets_contains(&t, IP(10, 0, 0, 1)));
    vt_targets_free(&t);

    /* Commas and any white space separate tokens; runs of them are one. */
    parse_ok(&t, " 10.0.0.1, 10.0.0.3\t10.0.0.2\n,,192.0.2.0/30 ");
    assert_int_equal(t.n, 2);
    assert_int_equal(t.r[0].first, IP(10, 0, 0, 1));
    assert_int_equal(t.r[0].last, IP(10, 0, 0, 3));
    assert_int_equal(vt_targets_count(&t), 7);
    vt_targets_free(&t);

    /* Parsing adds to what is there. */
    parse_ok(&t, "10.0.0.1");
    assert_int_equal(vt_targets_parse(&t, "10.0.0.2", err, sizeof err), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(vt_targets_count(&t), 2);
    vt_targets_free(&t);
}

static void test_merging(void **state)
{
    struct vt_targets t;

    /* Overlap. */
    parse_ok(&t, "10.0.0.0/24,10.0.0.128/25,10.0.0.7");
    assert_int_equal(t.n, 1);
    assert_int_equal(vt_targets_count(&t), 256);
    vt_targets_free(&t);

    /* Adjacent halves become one range. */
    parse_ok(&t, "10.0.0.128/25 10.0.0.0/25");
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].first, IP(10, 0, 0, 0));
    assert_int_equal(t.r[0].last, IP(10, 0, 0, 255));
    vt_targets_free(&t);

    /* A gap of one address keeps two ranges; filling it joins them. */
    parse_ok(&t, "10.0.0.11-10.0.0.20,10.0.0.0-10.0.0.9");
    assert_int_equal(t.n, 2);
    assert_int_equal(vt_targets_count(&t), 20);
    assert_false(vt_targets_contains(&t, IP(10, 0, 0, 10)));
    assert_int_equal(vt_targets_add_range(&t, IP(10, 0, 0, 10), IP(10, 0, 0, 10)), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(vt_targets_count(&t), 21);
    vt_targets_free(&t);

    /* One add swallowing several ranges and touching the next. */
    vt_targets_init(&t);
    for (uint32_t i = 0; i < 10; i++)
        assert_int_equal(vt_targets_add_range(&t, IP(10, 0, i, 0), IP(10, 0, i, 9)), 0);
    assert_int_equal(t.n, 10);
    assert_int_equal(vt_targets_add_range(&t, IP(10, 0, 2, 5), IP(10, 0, 6, 255)), 0);
    assert_int_equal(t.n, 5); /* 0, 1, [2..7 joined: 6.255 touches 7.0], 8, 9 */
    assert_int_equal(t.r[2].first, IP(10, 0, 2, 0));
    assert_int_equal(t.r[2].last, IP(10, 0, 7, 9));
    assert_int_equal(vt_targets_count(&t), 4 * 10 + (IP(10, 0, 7, 9) - IP(10, 0, 2, 0) + 1));
    vt_targets_free(&t);

    /* Ranges stay sorted whatever the input order. */
    parse_ok(&t, "9.0.0.0 3.0.0.0 7.0.0.0 1.0.0.0 5.0.0.0");
    assert_int_equal(t.n, 5);
    for (size_t i = 1; i < t.n; i++)
        assert_true(t.r[i - 1].last + 1 < t.r[i].first);
    vt_targets_free(&t);
}

static void test_top_of_the_space(void **state)
{
    struct vt_targets t;

    /* 255.255.255.255 + 1 wraps to 0.0.0.0 in 32 bits: the two ends of the
     * space are not neighbours and must never merge. */
    parse_ok(&t, "255.255.255.255,0.0.0.0");
    assert_int_equal(t.n, 2);
    assert_int_equal(vt_targets_count(&t), 2);
    assert_true(vt_targets_contains(&t, UINT32_MAX));
    assert_true(vt_targets_contains(&t, 0));
    assert_false(vt_targets_contains(&t, 1));
    assert_false(vt_targets_contains(&t, UINT32_MAX - 1));
    assert_int_equal(vt_targets_nth(&t, 1), UINT32_MAX);
    vt_targets_free(&t);

    vt_targets_init(&t);
    assert_int_equal(vt_targets_add_range(&t, 0, 0), 0);
    assert_int_equal(vt_targets_add_range(&t, UINT32_MAX, UINT32_MAX), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(vt_targets_add_range(&t, IP(255, 255, 255, 0), IP(255, 255, 255, 254)), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.r[1].first, IP(255, 255, 255, 0));
    assert_int_equal(t.r[1].last, UINT32_MAX);
    assert_int_equal(vt_targets_count(&t), 257);
    vt_targets_free(&t);

    parse_ok(&t, "255.255.255.0/24 255.255.255.200-255.255.255.255 0.0.0.0/24");
    assert_int_equal(t.n, 2);
    assert_int_equal(vt_targets_count(&t), 512);
    vt_targets_free(&t);
}

static void test_files(void **state)
{
    struct vt_targets t;
    char spec[256];

    char *path = temp_file("# lab targets\n"
                           "\n"
                           "198.18.0.0/24   # the first /24\n"
                           "   198.18.1.1\r\n"
                           "198.18.2.0-198.18.2.9, 198.18.3.3\n"
                           "\t# indented comment\n"
                           "198.18.4.4"); /* no newline at the end */
    snprintf(spec, sizeof spec, "@%s", path);
    parse_ok(&t, spec);
    assert_int_equal(vt_targets_count(&t), 256 + 1 + 10 + 1 + 1);
    assert_true(vt_targets_contains(&t, IP(198, 18, 1, 1)));
    assert_true(vt_targets_contains(&t, IP(198, 18, 3, 3)));
    assert_true(vt_targets_contains(&t, IP(198, 18, 4, 4)));
    assert_false(vt_targets_contains(&t, IP(198, 18, 2, 10)));
    vt_targets_free(&t);

    /* @FILE mixed with plain tokens, and vt_targets_load_file directly. */
    snprintf(spec, sizeof spec, "10.0.0.0/8,@%s", path);
    parse_ok(&t, spec);
    assert_int_equal(vt_targets_count(&t), (1u << 24) + 269);
    vt_targets_free(&t);
    vt_targets_init(&t);
    assert_int_equal(vt_targets_load_file(&t, path, err, sizeof err), 0);
    assert_int_equal(vt_targets_count(&t), 269);
    vt_targets_free(&t);
    unlink(path);
    free(path);

    /* A file of nothing but comments is an empty set, not an error. */
    path = temp_file("# nothing here\n\n   \n");
    vt_targets_init(&t);
    assert_int_equal(vt_targets_load_file(&t, path, err, sizeof err), 0);
    assert_int_equal(vt_targets_count(&t), 0);
    vt_targets_free(&t);
    unlink(path);
    free(path);

    /* A bad line is named by file and line number; the set is left as it was. */
    char expect[512];
    path = temp_file("10.0.0.0/8\n# comment\nfoo\n11.0.0.0/8\n");
    vt_targets_init(&t);
    assert_int_equal(vt_targets_add_range(&t, 1, 1), 0);
    assert_int_equal(vt_targets_load_file(&t, path, err, sizeof err), -1);
    snprintf(expect, sizeof expect, "bad target \"foo\" in %s:3: not an address, range or CIDR",
             path);
    assert_string_equal(err, expect);
    assert_int_equal(vt_targets_count(&t), 1);
    snprintf(spec, sizeof spec, "@%s", path);
    assert_int_equal(vt_targets_parse(&t, spec, err, sizeof err), -1);
    assert_string_equal(err, expect);
    assert_int_equal(vt_targets_count(&t), 1);
    vt_targets_free(&t);
    unlink(path);
    free(path);

    /* Nested @ is refused. */
    path = temp_file("10.0.0.0/8\n@/etc/passwd\n");
    snprintf(spec, sizeof spec, "@%s", path);
    vt_targets_init(&t);
    assert_int_equal(vt_targets_parse(&t, spec, err, sizeof err), -1);
    assert_non_null(strstr(err, "\"@/etc/passwd\""));
    assert_non_null(strstr(err, "@ not allowed inside a target file"));
    assert_non_null(strstr(err, ":2:"));
    vt_targets_free(&t);
    unlink(path);
    free(path);

    /* A missing file. */
    vt_targets_init(&t);
    assert_int_equal(vt_targets_load_file(&t, "x", err, sizeof err), -1);
    assert_string_equal(err, "cannot read target file \"x\": No such file or directory");
    vt_targets_free(&t);
}

/* The built-in blocklist, merged (224/4 and 240/4 join, 255.255.255.255 is in
 * 240/4), is 14 ranges of
 *     0/8, 10/8, 127/8        3 * 16,777,216 =  50,331,648
 *     224/4 + 240/4           2 * 268,435,456 = 536,870,912
 *     100.64/10                                  4,194,304
 *     172.16/12                                  1,048,576
 *     169.254/16, 192.168/16  2 * 65,536      =    131,072
 *     198.18/15                                    131,072
 *     192.0.0/24, 192.0.2/24, 192.88.99/24,
 *     198.51.100/24, 203.0.113/24  5 * 256    =      1,280
 *                                        total  592,708,864
 * so the scannable space is 4,294,967,296 - 592,708,864 = 3,702,258,432. */
#define BLOCKLIST_SIZE  UINT64_C(592708864)
#define SCANNABLE_SPACE UINT64_C(3702258432)

static void test_builtin_blocklist(void **state)
{
    struct vt_targets block, t;

    vt_targets_init(&block);
    assert_int_equal(vt_targets_builtin_blocklist(&block), 0);
    assert_int_equal(block.n, 14);
    assert_int_equal(vt_targets_count(&block), BLOCKLIST_SIZE);

    parse_ok(&t, "0.0.0.0/0");
    assert_int_equal(vt_targets_subtract(&t, &block), 0);
    assert_int_equal(vt_targets_count(&t), SCANNABLE_SPACE);
    assert_int_equal(vt_targets_count(&t) + BLOCKLIST_SIZE, UINT64_C(1) << 32);

    static const struct {
        uint32_t ip;
        bool blocked;
    } probe[] = {
        {IP(198, 18, 0, 1), true},      {IP(198, 19, 255, 255), true},
        {IP(198, 17, 255, 255), false}, {IP(198, 20, 0, 0), false},
        {IP(0, 0, 0, 0), true},         {IP(0, 255, 255, 255), true},
        {IP(1, 0, 0, 0), false},        {IP(8, 8, 8, 8), false},
        {IP(10, 1, 2, 3), true},        {IP(100, 63, 255, 255), false},
        {IP(100, 64, 0, 0), true},      {IP(100, 127, 255, 255), true},
        {IP(100, 128, 0, 0), false},    {IP(127, 0, 0, 1), true},
        {IP(169, 254, 1, 1), true},     {IP(172, 15, 255, 255), false},
        {IP(172, 31, 255, 255), true},  {IP(172, 32, 0, 0), false},
        {IP(192, 0, 0, 9), true},       {IP(192, 0, 1, 0), false},
        {IP(192, 0, 2, 255), true},     {IP(192, 88, 99, 1), true},
        {IP(192, 168, 1, 1), true},     {IP(198, 51, 100, 7), true},
        {IP(203, 0, 113, 7), true},     {IP(223, 255, 255, 255), false},
        {IP(224, 0, 0, 1), true},       {IP(239, 255, 255, 255), true},
        {IP(240, 0, 0, 0), true},       {IP(255, 255, 255, 255), true},
    };
    for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
        char buf[16];
        if (vt_targets_contains(&block, probe[i].ip) != probe[i].blocked ||
            vt_targets_contains(&t, probe[i].ip) == probe[i].blocked)
            fail_msg("%s should %sbe blocked", vt_ip_str(probe[i].ip, buf),
                     probe[i].blocked ? "" : "not ");
    }
    assert_int_equal(vt_targets_nth(&t, 0), IP(1, 0, 0, 0));
    assert_int_equal(vt_targets_nth(&t, SCANNABLE_SPACE - 1), IP(223, 255, 255, 255));

    vt_targets_free(&t);

    /* Where ZMap is installed, its own file must mean exactly the same set. */
    const char *zmap = "/etc/zmap/blacklist.conf";
    if (access(zmap, R_OK) == 0) {
        vt_targets_init(&t);
        if (vt_targets_load_file(&t, zmap, err, sizeof err) != 0)
            fail_msg("%s: %s", zmap, err);
        assert_int_equal(t.n, block.n);
        for (size_t i = 0; i < t.n; i++) {
            assert_int_equal(t.r[i].first, block.r[i].first);
            assert_int_equal(t.r[i].last, block.r[i].last);
        }
        vt_targets_free(&t);
    }
    vt_targets_free(&block);
}

static void test_subtract(void **state)
{
    struct vt_targets t, m;

    /* Everything removed: an empty set, count 0. */
    parse_ok(&t, "10.0.0.0/24,10.0.5.5");
    parse_ok(&m, "10.0.0.0/16");
    assert_int_equal(vt_targets_count(&t), 257);
    assert_int_equal(vt_targets_subtract(&t, &m), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(vt_targets_count(&t), 0);
    assert_false(vt_targets_contains(&t, IP(10, 0, 0, 1)));
    vt_targets_free(&t);
    vt_targets_free(&m);

    /* Holes in the middle and bites at both ends. */
    parse_ok(&t, "10.0.0.0-10.0.0.99");
    parse_ok(&m, "9.0.0.0-10.0.0.4 10.0.0.10-10.0.0.19 10.0.0.50 10.0.0.95-11.0.0.0");
    assert_int_equal(vt_targets_subtract(&t, &m), 0);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.r[0].first, IP(10, 0, 0, 5));
    assert_int_equal(t.r[0].last, IP(10, 0, 0, 9));
    assert_int_equal(t.r[1].first, IP(10, 0, 0, 20));
    assert_int_equal(t.r[1].last, IP(10, 0, 0, 49));
    assert_int_equal(t.r[2].first, IP(10, 0, 0, 51));
    assert_int_equal(t.r[2].last, IP(10, 0, 0, 94));
    assert_int_equal(vt_targets_count(&t), 5 + 30 + 44);
    vt_targets_free(&t);
    vt_targets_free(&m);

    /* One range of minus spanning several of t. */
    parse_ok(&t, "10.0.0.0/24 10.0.2.0/24 10.0.4.0/24");
    parse_ok(&m, "10.0.0.128-10.0.4.127");
    assert_int_equal(vt_targets_subtract(&t, &m), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(vt_targets_count(&t), 256);
    vt_targets_free(&t);
    vt_targets_free(&m);

    /* At the very top of the space. */
    parse_ok(&t, "255.255.255.0/24");
    parse_ok(&m, "255.255.255.255");
    assert_int_equal(vt_targets_subtract(&t, &m), 0);
    assert_int_equal(vt_targets_count(&t), 255);
    assert_false(vt_targets_contains(&t, UINT32_MAX));
    assert_true(vt_targets_contains(&t, UINT32_MAX - 1));
    vt_targets_free(&t);
    vt_targets_free(&m);

    /* Nothing to subtract, and nothing to subtract from. */
    parse_ok(&t, "10.0.0.0/8");
    vt_targets_init(&m);
    assert_int_equal(vt_targets_subtract(&t, &m), 0);
    assert_int_equal(vt_targets_count(&t), 1u << 24);
    assert_int_equal(vt_targets_subtract(&m, &t), 0);
    assert_int_equal(vt_targets_count(&m), 0);
    vt_targets_free(&t);
    vt_targets_free(&m);
}

static void test_intersect(void **state)
{
    struct vt_targets t, w;

    parse_ok(&t, "10.0.0.0/8");
    parse_ok(&w, "9.255.255.255-10.0.0.0 10.1.0.0/16 11.0.0.0/8");
    assert_int_equal(vt_targets_intersect(&t, &w), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(vt_targets_count(&t), 1 + 65536);
    assert_true(vt_targets_contains(&t, IP(10, 0, 0, 0)));
    assert_false(vt_targets_contains(&t, IP(10, 0, 0, 1)));
    assert_false(vt_targets_contains(&t, IP(11, 0, 0, 0)));
    vt_targets_free(&t);
    vt_targets_free(&w);

    /* Interleaved ranges: a worker's scope against a campaign. */
    parse_ok(&t, "1.0.0.0-1.0.0.9 1.0.0.20-1.0.0.29 1.0.0.40-1.0.0.49");
    parse_ok(&w, "1.0.0.5-1.0.0.24 1.0.0.28-1.0.0.42");
    assert_int_equal(vt_targets_intersect(&t, &w), 0);
    assert_int_equal(t.n, 4); /* 5-9, 20-24, 28-29, 40-42 */
    assert_int_equal(vt_targets_count(&t), 5 + 5 + 2 + 3);
    vt_targets_free(&t);
    vt_targets_free(&w);

    /* Disjoint sets, and the empty set. */
    parse_ok(&t, "10.0.0.0/8");
    parse_ok(&w, "11.0.0.0/8");
    assert_int_equal(vt_targets_intersect(&t, &w), 0);
    assert_int_equal(vt_targets_count(&t), 0);
    vt_targets_free(&t);
    vt_targets_free(&w);
    vt_targets_init(&w);
    parse_ok(&t, "10.0.0.0/8");
    assert_int_equal(vt_targets_intersect(&t, &w), 0);
    assert_int_equal(vt_targets_count(&t), 0);
    vt_targets_free(&t);
    vt_targets_free(&w);
}

static void test_nth(void **state)
{
    struct vt_targets t;

    parse_ok(&t, "10.0.0.0-10.0.0.2, 10.0.1.0/30, 255.255.255.255");
    assert_int_equal(vt_targets_count(&t), 3 + 4 + 1);
    static const uint32_t want[] = {
        IP(10, 0, 0, 0), IP(10, 0, 0, 1), IP(10, 0, 0, 2), IP(10, 0, 1, 0),
        IP(10, 0, 1, 1), IP(10, 0, 1, 2), IP(10, 0, 1, 3), UINT32_MAX,
    };
    for (uint64_t i = 0; i < 8; i++)
        assert_int_equal(vt_targets_nth(&t, i), want[i]);

    /* The prefix sums are rebuilt after a change. */
    assert_int_equal(vt_targets_add_range(&t, IP(10, 0, 0, 200), IP(10, 0, 0, 201)), 0);
    assert_int_equal(vt_targets_count(&t), 10);
    assert_int_equal(vt_targets_nth(&t, 3), IP(10, 0, 0, 200));
    assert_int_equal(vt_targets_nth(&t, 5), IP(10, 0, 1, 0));
    assert_int_equal(vt_targets_nth(&t, 9), UINT32_MAX);
    vt_targets_clear(&t);
    assert_int_equal(vt_targets_count(&t), 0);
    vt_targets_free(&t);

    /* Many ranges: nth agrees with a walk, and contains() agrees with nth. */
    vt_targets_init(&t);
    for (uint32_t i = 0; i < 1000; i++)
        assert_int_equal(vt_targets_add_range(&t, i * 1000, i * 1000 + (i % 7)), 0);
    uint64_t k = 0;
    for (size_t r = 0; r < t.n; r++)
        for (uint64_t ip = t.r[r].first; ip <= t.r[r].last; ip++, k++)
            assert_int_equal(vt_targets_nth(&t, k), ip);
    assert_int_equal(vt_targets_count(&t), k);
    assert_true(vt_targets_contains(&t, vt_targets_nth(&t, k - 1)));
    assert_false(vt_targets_contains(&t, 999 * 1000 + 999 % 7 + 1));
    vt_targets_free(&t);
}

static void test_malformed_targets(void **state)
{
    static const struct {
        const char *spec;
        const char *token; /* must appear quoted in the message */
        const char *why;   /* must appear in the message */
    } cases[] = {
        {"", NULL, "no targets given"},
        {" ,\t, ", NULL, "no targets given"},
        {"1.2.3", "1.2.3", "four octets"},
        {"1.2.3.4.5", "1.2.3.4.5", "more than four octets"},
        {"256.1.1.1", "256.1.1.1", "0-255"},
        {"1.2.3.4/33", "1.2.3.4/33", "prefix length must be 0-32"},
        {"1.2.3.4/100", "1.2.3.4/100", "prefix length must be 0-32"},
        {"1.2.3.4/x", "1.2.3.4/x", "prefix length must be 0-32"},
        {"1.2.3.4/8", "1.2.3.4/8", "host bits set (did you mean 1.0.0.0/8?)"},
        {"0.0.0.1/0", "0.0.0.1/0", "host bits set (did you mean 0.0.0.0/0?)"},
        {"1.2.3.4/", "1.2.3.4/", "prefix length missing"},
        {"/8", "/8", "address missing"},
        {"1.2.3.9-1.2.3.1", "1.2.3.9-1.2.3.1", "range end before start"},
        {"1.2.3.4-", "1.2.3.4-", "range end missing"},
        {"-1.2.3.4", "-1.2.3.4", "range start"},
        {"1.2.3.4-1.2.3", "1.2.3.4-1.2.3", "range end"},
        {"1.2.3.0/24-1.2.4.0", "1.2.3.0/24-1.2.4.0", "not an address, range or CIDR"},
        {"a.b.c.d", "a.b.c.d", "not an address, range or CIDR"},
        {"foo", "foo", "not an address, range or CIDR"},
        {"1.2.3.4x", "1.2.3.4x", "after the address"},
        {"+1.2.3.4", "+1.2.3.4", "not an address, range or CIDR"},
        {"1..2.3", "1..2.3", "empty octet"},
        {"010.1.1.1", "010.1.1.1", "leading zero"},
        {"@/nonexistent", "/nonexistent", "cannot read target file"},
        {"@", "@", "file name missing"},
        {"10.0.0.0/8,bogus", "bogus", "not an address, range or CIDR"},
        {"10.0.0.0/8 1.2.3.4/8", "1.2.3.4/8", "host bits set"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vt_targets t;
        vt_targets_init(&t);
        assert_int_equal(vt_targets_add_range(&t, 7, 7), 0);
        err[0] = '\0';
        if (vt_targets_parse(&t, cases[i].spec, err, sizeof err) != -1)
            fail_msg("\"%s\" was accepted", cases[i].spec);
        if (!strstr(err, cases[i].why))
            fail_msg("\"%s\": error \"%s\" lacks \"%s\"", cases[i].spec, err, cases[i].why);
        if (cases[i].token) {
            char quoted[128];
            snprintf(quoted, sizeof quoted, "\"%s\"", cases[i].token);
            if (!strstr(err, quoted))
                fail_msg("\"%s\": error \"%s\" does not name %s", cases[i].spec, err, quoted);
        }
        if (strchr(err, '\n'))
            fail_msg("\"%s\": error is not one line: %s", cases[i].spec, err);
        /* A failed parse leaves the set as it was. */
        assert_int_equal(vt_targets_count(&t), 1);
        assert_true(vt_targets_contains(&t, 7));
        vt_targets_free(&t);
    }

    /* The exact wording operators will see. */
    struct vt_targets t;
    vt_targets_init(&t);
    assert_int_equal(vt_targets_parse(&t, "10.0.0.0/33", err, sizeof err), -1);
    assert_string_equal(err, "bad target \"10.0.0.0/33\": prefix length must be 0-32");
    assert_int_equal(vt_targets_parse(&t, "10.0.0.1/8", err, sizeof err), -1);
    assert_string_equal(err, "bad target \"10.0.0.1/8\": host bits set (did you mean 10.0.0.0/8?)");
    assert_int_equal(vt_targets_parse(&t, "10.0.0.9-10.0.0.1", err, sizeof err), -1);
    assert_string_equal(err, "bad target \"10.0.0.9-10.0.0.1\": range end before start");
    assert_int_equal(vt_targets_parse(&t, "", err, sizeof err), -1);
    assert_string_equal(err, "no targets given");

    /* A huge token is quoted shortened, and the message still fits one line. */
    char big[4096];
    memset(big, '9', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(vt_targets_parse(&t, big, err, sizeof err), -1);
    assert_true(strlen(err) < 200);
    assert_non_null(strstr(err, "...\""));
    /* A small error buffer is truncated, not overrun. */
    char tiny[8];
    memset(tiny, 'Z', sizeof tiny);
    assert_int_equal(vt_targets_parse(&t, "bogus", tiny, 5), -1);
    assert_int_equal(tiny[4], '\0');
    assert_int_equal(tiny[5], 'Z');
    assert_int_equal(vt_targets_count(&t), 0);
    vt_targets_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_parse_and_format),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_ranges_and_single_addresses),
        cmocka_unit_test(test_merging),
        cmocka_unit_test(test_top_of_the_space),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_builtin_blocklist),
        cmocka_unit_test(test_subtract),
        cmocka_unit_test(test_intersect),
        cmocka_unit_test(test_nth),
        cmocka_unit_test(test_malformed_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
