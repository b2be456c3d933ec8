/* test_ports.c: unit tests for proto/ports.c, port lists like "23,80,8000-8010".
 *
 * What an operator would notice: which ports `--ports` means, that the list
 * echoed back is the canonical short form, and that every typo is refused
 * with a message naming the bad element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ports.h"

static char err[256];

static void parse_ok(struct vt_ports *p, const char *list)
{
    err[0] = '\0';
    if (vt_ports_parse(p, list, err, sizeof err) != 0)
        fail_msg("\"%s\" refused: %s", list, err);
}

/* Parses list and checks its canonical form. */
static void expect_canonical(const char *list, const char *canonical, size_t n)
{
    struct vt_ports p;
    char buf[256];
    parse_ok(&p, list);
    vt_ports_format(&p, buf, sizeof buf);
    if (strcmp(buf, canonical) != 0)
        fail_msg("\"%s\" formats as \"%s\", want \"%s\"", list, buf, canonical);
    assert_int_equal(p.n, n);
    for (size_t i = 1; i < p.n; i++)
        assert_true(p.port[i - 1] < p.port[i]);
    vt_ports_free(&p);
}

static void test_basic_list(void **state)
{
    struct vt_ports p;
    parse_ok(&p, "23,80,8000-8010");
    assert_int_equal(p.n, 2 + 11);
    assert_int_equal(p.port[0], 23);
    assert_int_equal(p.port[1], 80);
    assert_int_equal(p.port[2], 8000);
    assert_int_equal(p.port[12], 8010);
    assert_true(vt_ports_contains(&p, 23));
    assert_true(vt_ports_contains(&p, 80));
    assert_true(vt_ports_contains(&p, 8005));
    assert_true(vt_ports_contains(&p, 8010));
    assert_false(vt_ports_contains(&p, 22));
    assert_false(vt_ports_contains(&p, 81));
    assert_false(vt_ports_contains(&p, 7999));
    assert_false(vt_ports_contains(&p, 8011));
    assert_false(vt_ports_contains(&p, 0));
    char buf[64];
    vt_ports_format(&p, buf, sizeof buf);
    assert_string_equal(buf, "23,80,8000-8010");
    vt_ports_free(&p);
    assert_null(p.port);
    assert_int_equal(p.n, 0);
    vt_ports_free(&p); /* twice is harmless */
}

static void test_canonical_form(void **state)
{
    expect_canonical("80", "80", 1);
    expect_canonical("80-80", "80", 1);
    expect_canonical(" 23 ,\t80 ", "23,80", 2);
    expect_canonical("8000 - 8002", "8000-8002", 3);
    /* Unsorted, duplicated, overlapping and adjacent elements all merge. */
    expect_canonical("80,23,80,23", "23,80", 2);
    expect_canonical("85-90,80-86,1", "1,80-90", 12);
    expect_canonical("80,81,82", "80-82", 3);
    expect_canonical("10-20,21-30", "10-30", 21);
    expect_canonical("100-200,150", "100-200", 101);
    /* The ends of the port space. */
    expect_canonical("1,65535", "1,65535", 2);
    expect_canonical("65535,65534", "65534-65535", 2);
    expect_canonical("1-65535", "1-65535", 65535);
    expect_canonical("0080", "80", 1);
}

static void test_format_small_buffer(void **state)
{
    struct vt_ports p;
    parse_ok(&p, "23,80,8000-8010");
    char buf[8];
    memset(buf, 'Z', sizeof buf);
    vt_ports_format(&p, buf, 6);
    assert_string_equal(buf, "23..."); /* visibly cut, still terminated */
    assert_int_equal(buf[6], 'Z');
    vt_ports_format(&p, buf, 3);
    assert_string_equal(buf, "23");
    vt_ports_format(&p, buf, 0); /* writes nothing */
    assert_int_equal(buf[6], 'Z');
    vt_ports_free(&p);
}

static void test_malformed_lists(void **state)
{
    static const struct {
        const char *list;
        const char *names; /* must appear in the message */
        const char *why;   /* must appear in the message */
    } cases[] = {
        {"", NULL, "no ports given"},
        {"  \t", NULL, "no ports given"},
        {"23,,80", "\"23,,80\"", "empty element"},
        {"23,", "\"23,\"", "empty element"},
        {",23", "\",23\"", "empty element"},
        {"23, ,80", "\"23, ,80\"", "empty element"},
        {"0", "\"0\"", "1-65535"},
        {"0-10", "\"0-10\"", "1-65535"},
        {"65536", "\"65536\"", "1-65535"},
        {"80,70000", "\"70000\"", "1-65535"},
        {"99999999999999999999999", "\"99999999999999999999999\"", "1-65535"},
        {"90-80", "\"90-80\"", "range end before start"},
        {"http", "\"http\"", "not a port number"},
        {"80x", "\"80x\"", "not a port number"},
        {"23,80x", "\"80x\"", "not a port number"},
        {"+80", "\"+80\"", "not a port number"},
        {"80 81", "\"80 81\"", "not a port number"},
        {"-80", "\"-80\"", "range start missing"},
        {"80-", "\"80-\"", "range end missing"},
        {"1-2-3", "\"1-2-3\"", "not a port number"},
        {"80-9x", "\"80-9x\"", "not a port number"},
        {"0x50", "\"0x50\"", "not a port number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vt_ports p;
        err[0] = '\0';
        if (vt_ports_parse(&p, cases[i].list, err, sizeof err) != -1)
            fail_msg("\"%s\" was accepted", cases[i].list);
        if (!strstr(err, cases[i].why))
            fail_msg("\"%s\": error \"%s\" lacks \"%s\"", cases[i].list, err, cases[i].why);
        if (cases[i].names && !strstr(err, cases[i].names))
            fail_msg("\"%s\": error \"%s\" does not name %s", cases[i].list, err, cases[i].names);
        /* Nothing left behind to free or to misuse. */
        assert_null(p.port);
        assert_int_equal(p.n, 0);
    }

    struct vt_ports p;
    assert_int_equal(vt_ports_parse(&p, "23,80x", err, sizeof err), -1);
    assert_string_equal(err, "bad port \"80x\": not a port number");
    assert_int_equal(vt_ports_parse(&p, "0", err, sizeof err), -1);
    assert_string_equal(err, "bad port \"0\": ports are 1-65535");
    assert_int_equal(vt_ports_parse(&p, "90-80", err, sizeof err), -1);
    assert_string_equal(err, "bad port \"90-80\": range end before start");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_list),
        cmocka_unit_test(test_canonical_form),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_malformed_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
