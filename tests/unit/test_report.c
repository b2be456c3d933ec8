/* test_report.c: unit tests for coordinator/report.c (the consolidation of
 * `vantage report`), count_client.c (the paging of `count`) and
 * cmd_report.c / cmd_export.c run against a fake daemon.
 *
 * What an operator would notice: one entry per exposed service for the
 * whole period (earliest first sighting, latest last, every vantage, the
 * latest labels), each under the right AS (the most specific prefix; every
 * origin of a multi-origin or AS-set prefix; unrouted last), summaries that
 * count addresses, services, prefixes and device kinds right, device
 * estimates scaled from the global count as documented, and the requests
 * that go to the daemon (open records, the period, paging to the end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* By path: the worker has a commands.h of its own on the include path too. */
#include "../../coordinator/commands.h"
#include "../../coordinator/report.h"
#include "control_client.h"
#include "pfx2as.h"

/* ---- helpers ---- */

static struct vt_pfx2as *table_of(const char *text)
{
    struct vt_pfx2as *t = vt_pfx2as_new();
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    size_t nbad = 0;
    assert_true(vt_pfx2as_load(t, f, "t", NULL, NULL, &nbad) > 0);
    assert_int_equal(nbad, 0);
    fclose(f);
    assert_int_equal(vt_pfx2as_build(t), 0);
    return t;
}

/* A service row as the daemon sends it (docs/control.md, `count` with what
 * "services"): windows, the address's host-windows ("FIRST:RUNS"), goes
 * with an address's first service (NULL: none); labels NULL: no banner. */
static json_t *service(const char *windows, const char *ip, int port, const char *first,
                       const char *last, const char *vantages, const char *labels)
{
    json_t *r = json_pack("{s:s, s:i, s:s, s:s, s:o}", "ip", ip, "port", port, "first_seen", first,
                          "last_seen", last, "vantages", json_loads(vantages, 0, NULL));
    assert_non_null(r);
    if (windows)
        json_object_set_new(r, "host_windows", json_string(windows));
    if (labels) {
        json_object_set_new(r, "proto", json_string(port == 80 ? "http" : "telnet"));
        json_object_set_new(r, "labels", json_loads(labels, 0, NULL));
    }
    return r;
}

static void add(struct vt_report *r, json_t *row)
{
    assert_int_equal(vt_report_add_service(r, row), 0);
    json_decref(row);
}

/* The report printed in fmt, as one string (the caller frees it). */
static char *printed(struct vt_report *r, enum vt_query_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(vt_report_print(r, f, fmt), 0);
    fclose(f);
    return buf;
}

/* The jsonl output's lines as a JSON array of objects. */
static json_t *lines_of(const char *text)
{
    json_t *all = json_array();
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        json_error_t e;
        json_t *o = json_loadb(p, (size_t)(nl - p), 0, &e);
        if (!o)
            fail_msg("not a JSON line: %.*s (%s)", (int)(nl - p), p, e.text);
        json_array_append_new(all, o);
        p = nl + 1;
    }
    return all;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_int_t num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer in %s", key, json_dumps(o, JSON_COMPACT));
    return json_integer_value(v);
}

/* ---- the scenario most tests share ---- */

static const char PFX2AS[] = "198.18.0.0\t15\t64500\n"
                             "198.18.4.0\t22\t64501_64502\n" /* multi-origin */
                             "198.18.8.0\t24\t64503,64504\n" /* AS set */
                             "198.18.9.0\t24\t64500\n";      /* 64500's second prefix */

#define ZTE_GW "{\"vendor\":\"ZTE\",\"device\":\"Broadband Gateway\",\"exposure\":\"telnet-login\"}"
#define ZTE_RT "{\"vendor\":\"ZTE\",\"device\":\"Router\",\"exposure\":\"telnet-login\"}"
#define CAMERA "{\"vendor\":\"Hikvision\",\"device\":\"IP Camera\",\"exposure\":\"http-login\"}"
#define DVR    "{\"vendor\":\"Dahua, Inc.\",\"device\":\"DVR\",\"exposure\":\"telnet-login\"}"

/* The services of three windows (100-102), in (ip, port) order, as the
 * daemon consolidates them. */
static void feed(struct vt_report *r)
{
    /* Seen in all three windows; labels of the latest banner (window 101). */
    add(r, service("100:0-2", "198.18.0.7", 23, "2026-11-28T10:00:00.007Z",
                   "2026-11-28T12:00:00.000Z", "[\"isp-a\",\"isp-b\",\"isp-c\"]", ZTE_RT));
    add(r, service(NULL, "198.18.0.7", 80, "2026-11-28T10:00:02.000Z", "2026-11-28T10:00:02.000Z",
                   "[\"isp-a\"]", NULL));
    add(r, service("102:0", "198.18.0.9", 23, "2026-11-28T12:10:00.000Z",
                   "2026-11-28T12:10:00.000Z", "[\"isp-a\"]", NULL));
    add(r, service("100:0", "198.18.4.1", 23, "2026-11-28T10:10:00.000Z",
                   "2026-11-28T10:10:00.000Z", "[\"isp-b\"]", CAMERA));
    add(r, service("101:0", "198.18.8.8", 80, "2026-11-28T11:10:00.000Z",
                   "2026-11-28T11:10:00.000Z", "[\"isp-a\"]", CAMERA));
    add(r, service("100:0", "198.18.9.5", 23, "2026-11-28T10:20:00.000Z",
                   "2026-11-28T10:20:00.000Z", "[\"isp-a\"]", DVR));
    add(r, service("100:0-1", "203.0.113.9", 23, "2026-11-28T10:30:00.000Z",
                   "2026-11-28T11:30:00.000Z", "[\"isp-a\"]", NULL));
}

/* ---- consolidation and grouping ---- */

static void test_one_entry_per_service_under_each_origin(void **state)
{
    struct vt_pfx2as *t = table_of(PFX2AS);
    struct vt_report *r = vt_report_new(VT_REPORT_BY_ASN, t, 0);
    feed(r);
    struct vt_report_stats s = vt_report_stats(r);
    assert_int_equal(s.rows, 7);
    assert_int_equal(s.services, 7);
    assert_int_equal(s.skipped, 0);
    assert_int_equal(s.unordered, 0);

    char *out = printed(r, VT_QUERY_JSONL);
    json_t *lines = lines_of(out);
    /* 64500: 4 services, 64501 and 64502: the multi-origin one, 64503 and
     * 64504: the AS set's, unrouted: 1; then six summaries. */
    assert_int_equal(json_array_size(lines), 9 + 6);
    static const struct {
        json_int_t asn; /* -1: null */
        const char *prefix, *ip;
        int port;
    } want[] = {
        {64500, "198.18.0.0/15", "198.18.0.7", 23},
        {64500, "198.18.0.0/15", "198.18.0.7", 80},
        {64500, "198.18.0.0/15", "198.18.0.9", 23},
        {64500, "198.18.9.0/24", "198.18.9.5", 23},
        {64501, "198.18.4.0/22", "198.18.4.1", 23},
        {64502, "198.18.4.0/22", "198.18.4.1", 23},
        {64503, "198.18.8.0/24", "198.18.8.8", 80},
        {64504, "198.18.8.0/24", "198.18.8.8", 80},
        {-1, NULL, "203.0.113.9", 23},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        json_t *o = json_array_get(lines, i);
        json_t *asn = json_object_get(o, "asn");
        if (want[i].asn < 0)
            assert_true(json_is_null(asn) && json_is_null(json_object_get(o, "prefix")));
        else
            assert_int_equal(json_integer_value(asn), want[i].asn);
        if (want[i].prefix)
            assert_string_equal(str(o, "prefix"), want[i].prefix);
        assert_string_equal(str(o, "ip"), want[i].ip);
        assert_int_equal(num(o, "port"), want[i].port);
        assert_null(json_object_get(o, "summary"));
    }
    /* The service seen in three windows: one entry for the period. */
    json_t *gw = json_array_get(lines, 0);
    assert_string_equal(str(gw, "first_seen"), "2026-11-28T10:00:00.007Z");
    assert_string_equal(str(gw, "last_seen"), "2026-11-28T12:00:00.000Z");
    json_t *v = json_object_get(gw, "vantages");
    assert_int_equal(json_array_size(v), 3);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "isp-a");
    assert_string_equal(json_string_value(json_array_get(v, 1)), "isp-b");
    assert_string_equal(json_string_value(json_array_get(v, 2)), "isp-c");
    /* Labels as the daemon gave them. */
    assert_string_equal(str(json_object_get(gw, "labels"), "device"), "Router");
    assert_string_equal(str(gw, "proto"), "telnet");
    assert_string_equal(str(gw, "exposure"), "telnet-login");
    /* A service without a banner: no proto, empty labels, null exposure. */
    json_t *web = json_array_get(lines, 1);
    assert_true(json_is_null(json_object_get(web, "proto")));
    assert_int_equal(json_object_size(json_object_get(web, "labels")), 0);
    assert_true(json_is_null(json_object_get(web, "exposure")));

    /* Summaries: ASN ascending, unrouted last. */
    json_t *sum = json_array_get(lines, 9);
    assert_true(json_is_true(json_object_get(sum, "summary")));
    assert_int_equal(num(sum, "asn"), 64500);
    assert_int_equal(num(sum, "prefixes"), 2);
    assert_int_equal(num(sum, "addresses"), 3);
    assert_int_equal(num(sum, "services"), 4);
    /* 0.7 and 9.5 in window 100, 0.7 in 101, 0.7 and 0.9 in 102 */
    assert_int_equal(num(sum, "host_windows"), 5);
    json_t *by = json_object_get(sum, "by_device");
    assert_int_equal(json_object_size(by), 3);
    assert_int_equal(num(by, "Router"), 1);
    assert_int_equal(num(by, "DVR"), 1);
    assert_int_equal(num(by, "(not identified)"), 2);
    for (size_t i = 10; i < 14; i++)
        assert_int_equal(num(json_array_get(lines, i), "services"), 1);
    assert_int_equal(num(json_array_get(lines, 10), "asn"), 64501);
    assert_int_equal(num(json_array_get(lines, 13), "asn"), 64504);
    json_t *unrouted = json_array_get(lines, 14);
    assert_true(json_is_null(json_object_get(unrouted, "asn")));
    assert_int_equal(num(unrouted, "prefixes"), 0);
    assert_int_equal(num(unrouted, "host_windows"), 2);
    json_decref(lines);
    free(out);
    vt_report_free(r);
    vt_pfx2as_free(t);
}

static void test_host_windows_are_the_union_of_an_address_windows(void **state)
{
    struct vt_pfx2as *t = table_of(PFX2AS);
    struct vt_report *r = vt_report_new(VT_REPORT_BY_ASN, t, 0);
    /* Windows given on several rows of one address are one union: 7-9, 8
     * and 9,12 are 4 host-windows. */
    add(r, service("7:0-2", "198.18.0.1", 21, "2026-11-28T10:00:00.000Z",
                   "2026-11-28T10:00:00.000Z", "[\"isp-a\"]", NULL));
    add(r, service("8:0", "198.18.0.1", 22, "2026-11-28T10:00:00.000Z", "2026-11-28T10:00:00.000Z",
                   "[\"isp-a\"]", NULL));
    add(r, service("9:0,3", "198.18.0.1", 23, "2026-11-28T10:00:00.000Z",
                   "2026-11-28T10:00:00.000Z", "[\"isp-a\"]", NULL));
    add(r, service("7:0", "198.18.0.2", 23, "2026-11-28T10:00:00.000Z", "2026-11-28T10:00:00.000Z",
                   "[\"isp-a\"]", NULL));
    char *out = printed(r, VT_QUERY_JSONL);
    json_t *lines = lines_of(out);
    json_t *sum = json_array_get(lines, json_array_size(lines) - 1);
    assert_int_equal(num(sum, "host_windows"), 5);
    assert_int_equal(num(sum, "services"), 4);
    assert_int_equal(num(sum, "addresses"), 2);
    /* No count: no estimate; the bounds are the most hosts in one window
     * (2, in window 7) and the distinct addresses (2). */
    assert_true(json_is_null(json_object_get(sum, "devices_estimate")));
    assert_int_equal(num(sum, "devices_low"), 2);
    assert_int_equal(num(sum, "devices_high"), 2);
    assert_int_equal(vt_report_stats(r).unordered, 0);
    /* A service out of address order is noticed. */
    add(r, service("7:0", "198.18.0.0", 23, "2026-11-28T10:00:00.000Z", "2026-11-28T10:00:00.000Z",
                   "[\"isp-a\"]", NULL));
    assert_int_equal(vt_report_stats(r).unordered, 1);
    json_decref(lines);
    free(out);
    vt_report_free(r);
    vt_pfx2as_free(t);
}

static json_t *summary_of(json_t *lines, json_int_t asn)
{
    size_t i;
    json_t *o;
    json_array_foreach(lines, i, o)
    {
        json_t *a = json_object_get(o, "asn");
        if (json_is_true(json_object_get(o, "summary")) &&
            (asn < 0 ? json_is_null(a) : json_integer_value(a) == asn))
            return o;
    }
    fail_msg("no summary for AS%lld", (long long)asn);
    return NULL;
}

static void test_estimates_scale_the_global_count(void **state)
{
    struct vt_pfx2as *t = table_of(PFX2AS);
    struct vt_report *r = vt_report_new(VT_REPORT_BY_ASN, t, 0);
    feed(r);
    /* Globally 2 host-windows per device; interval 3-12 around 6. */
    json_t *count =
        json_pack("{s:i, s:i, s:i, s:f, s:i}", "devices_estimate", 6, "devices_low", 3,
                  "devices_high", 12, "host_windows_per_device", 2.0, "distinct_ips", 6);
    vt_report_set_count(r, count);
    json_decref(count); /* the report keeps its own reference */
    char *out = printed(r, VT_QUERY_JSONL);
    json_t *lines = lines_of(out);
    /* 64500: 5 host-windows / 2 = 2.5 devices, 3 rounded; low 2.5 x 3/6
     * = 1.25, but it had 2 hosts in window 100, so 2; high 2.5 x 12/6 = 5. */
    json_t *s = summary_of(lines, 64500);
    assert_int_equal(num(s, "devices_estimate"), 3);
    assert_int_equal(num(s, "devices_low"), 2);
    assert_int_equal(num(s, "devices_high"), 5);
    /* Unrouted: 2 host-windows / 2 = 1; low 0.5 floored is below its 1 host
     * a window: 1; high 2, at most its 2 host-windows. */
    s = summary_of(lines, -1);
    assert_int_equal(num(s, "devices_estimate"), 1);
    assert_int_equal(num(s, "devices_low"), 1);
    assert_int_equal(num(s, "devices_high"), 2);
    /* 64501: one host-window: 0.5 devices is below the one host seen. */
    s = summary_of(lines, 64501);
    assert_int_equal(num(s, "devices_estimate"), 1);
    assert_int_equal(num(s, "devices_low"), 1);
    assert_int_equal(num(s, "devices_high"), 1);
    json_decref(lines);
    free(out);

    /* Nothing identified: the count says null, and so does every group,
     * with the bounds from the group's own hosts. */
    count = json_pack("{s:n, s:i, s:i}", "devices_estimate", "devices_low", 2, "devices_high", 6);
    vt_report_set_count(r, count);
    json_decref(count);
    out = printed(r, VT_QUERY_JSONL);
    lines = lines_of(out);
    s = summary_of(lines, 64500);
    assert_true(json_is_null(json_object_get(s, "devices_estimate")));
    assert_int_equal(num(s, "devices_low"), 2);  /* two hosts in window 100 */
    assert_int_equal(num(s, "devices_high"), 3); /* 198.18.0.7, .0.9, .9.5 */
    json_decref(lines);
    free(out);
    vt_report_free(r);
    vt_pfx2as_free(t);
}

static void test_by_prefix(void **state)
{
    struct vt_report *r = vt_report_new(VT_REPORT_BY_PREFIX, NULL, 24);
    feed(r);
    char *out = printed(r, VT_QUERY_JSONL);
    json_t *lines = lines_of(out);
    /* 7 services, each once; groups 198.18.0/24 (3), .4/24, .8/24, .9/24, 203.0.113/24. */
    assert_int_equal(json_array_size(lines), 7 + 5);
    json_t *first = json_array_get(lines, 0);
    assert_null(json_object_get(first, "asn"));
    assert_string_equal(str(first, "prefix"), "198.18.0.0/24");
    assert_string_equal(str(first, "ip"), "198.18.0.7");
    json_t *sum = json_array_get(lines, 7);
    assert_true(json_is_true(json_object_get(sum, "summary")));
    assert_string_equal(str(sum, "prefix"), "198.18.0.0/24");
    assert_null(json_object_get(sum, "asn"));
    assert_int_equal(num(sum, "services"), 3);
    assert_int_equal(num(sum, "addresses"), 2);
    assert_string_equal(str(json_array_get(lines, 11), "prefix"), "203.0.113.0/24");
    json_decref(lines);
    free(out);
    vt_report_free(r);
}

static void test_csv_and_table(void **state)
{
    struct vt_pfx2as *t = table_of(PFX2AS);
    struct vt_report *r = vt_report_new(VT_REPORT_BY_ASN, t, 0);
    feed(r);
    char *out = printed(r, VT_QUERY_CSV);
    const char *want_start =
        "asn,prefix,ip,port,proto,vendor,device,product,exposure,first_seen,last_seen,vantages\n"
        "64500,198.18.0.0/15,198.18.0.7,23,telnet,ZTE,Router,,telnet-login,"
        "2026-11-28T10:00:00.007Z,2026-11-28T12:00:00.000Z,isp-a|isp-b|isp-c\n"
        "64500,198.18.0.0/15,198.18.0.7,80,,,,,,2026-11-28T10:00:02.000Z,"
        "2026-11-28T10:00:02.000Z,isp-a\n"
        "64500,198.18.0.0/15,198.18.0.9,23,,,,,,2026-11-28T12:10:00.000Z,"
        "2026-11-28T12:10:00.000Z,isp-a\n"
        "64500,198.18.9.0/24,198.18.9.5,23,telnet,\"Dahua, Inc.\",DVR,,telnet-login,";
    if (strncmp(out, want_start, strlen(want_start)) != 0)
        fail_msg("csv begins\n%s\nwant\n%s", out, want_start);
    const char *sums = strstr(out, "\n\nasn,addresses,services,devices_estimate,devices_low,"
                                   "devices_high\n");
    assert_non_null(sums);
    assert_non_null(strstr(sums, "\n64500,3,4,,2,3\n"));
    assert_non_null(strstr(sums, "\n,1,1,,1,1\n")); /* unrouted: no ASN, last */
    assert_string_equal(out + strlen(out) - strlen("\n,1,1,,1,1\n"), "\n,1,1,,1,1\n");
    free(out);

    out = printed(r, VT_QUERY_TABLE);
    assert_true(strncmp(out, "ASN", 3) == 0);
    assert_non_null(strstr(out, "SERVICES BY DEVICE"));
    assert_non_null(strstr(out, "(not identified) 2, DVR 1, Router 1"));
    const char *last = strrchr(out, '\n');
    while (last > out && last[-1] != '\n')
        last--;
    assert_true(strncmp(last, "unrouted", 8) == 0);
    free(out);
    vt_report_free(r);
    vt_pfx2as_free(t);
}

static void test_rows_read_defensively(void **state)
{
    struct vt_report *r = vt_report_new(VT_REPORT_BY_PREFIX, NULL, 16);
    json_t *bad[] = {
        json_pack("{s:i}", "port", 23),                           /* no ip */
        json_pack("{s:s, s:i}", "ip", "2001:db8::1", "port", 23), /* not IPv4 */
        json_pack("{s:s}", "ip", "198.18.0.1"),                   /* no port */
        json_pack("{s:s, s:i}", "ip", "198.18.0.1", "port", 0),
        json_pack("{s:s, s:s}", "ip", "198.18.0.1", "port", "23"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(vt_report_add_service(r, bad[i]), 1);
        json_decref(bad[i]);
    }
    /* The least a row can be: ip and port. Times as ms; bad windows text. */
    add(r, json_pack("{s:s, s:i}", "ip", "198.18.0.1", "port", 23));
    add(r, json_pack("{s:s, s:i, s:I, s:I, s:s, s:o}", "ip", "198.18.0.1", "port", 23, "first_seen",
                     (json_int_t)1764324000000, "last_seen", (json_int_t)1764324001000,
                     "host_windows", "3:1-x,,9-2", "labels", json_null()));
    /* A run of 2^32 windows (a hostile reply) is refused, not expanded; what
     * came before it counts. */
    add(r, json_pack("{s:s, s:i, s:s}", "ip", "198.18.0.2", "port", 23, "host_windows",
                     "5:0-2,0-4294967290"));
    struct vt_report_stats s = vt_report_stats(r);
    assert_int_equal(s.skipped, 5);
    assert_int_equal(s.rows, 3);
    assert_int_equal(s.services, 2);
    assert_int_equal(s.bad_windows, 2);
    char *out = printed(r, VT_QUERY_JSONL);
    json_t *lines = lines_of(out);
    json_t *o = json_array_get(lines, 0);
    assert_string_equal(str(o, "first_seen"), "2025-11-28T10:00:00.000Z");
    assert_int_equal(json_array_size(json_object_get(o, "vantages")), 0);
    /* 198.18.0.1: none ("1-x" is its first run); 198.18.0.2: 5-7, before the bad run. */
    assert_int_equal(num(json_array_get(lines, 2), "host_windows"), 3);
    json_decref(lines);
    free(out);
    vt_report_free(r);
}

static void test_empty_report(void **state)
{
    struct vt_report *r = vt_report_new(VT_REPORT_BY_PREFIX, NULL, 24);
    char *out = printed(r, VT_QUERY_JSONL);
    assert_string_equal(out, "");
    free(out);
    out = printed(r, VT_QUERY_CSV);
    assert_string_equal(out, "prefix,ip,port,proto,vendor,device,product,exposure,first_seen,"
                             "last_seen,vantages\n\nprefix,addresses,services,devices_estimate,"
                             "devices_low,devices_high\n");
    free(out);
    vt_report_free(r);
}

/* ---- a fake daemon answering a script of replies ---- */

#define SCRIPT_MAX 8
#define FRAME      "\x1e"

struct fake {
    char endpoint[300];
    /* in order; then none. A reply with FRAME in it goes as two frames, the
     * text before and the text after (a query's rows). */
    const char *replies[SCRIPT_MAX];
    json_t *got[SCRIPT_MAX]; /* the requests received */
    size_t n;
};

static void fake_actor(zsock_t *pipe, void *arg)
{
    struct fake *f = arg;
    zsock_t *rep = zsock_new(ZMQ_REP);
    assert_non_null(rep);
    assert_int_equal(zsock_bind(rep, "%s", f->endpoint), 0);
    zpoller_t *p = zpoller_new(pipe, rep, NULL);
    zsock_signal(pipe, 0);
    for (;;) {
        if (zpoller_wait(p, -1) != rep)
            break;
        char *req = zstr_recv(rep);
        if (!req)
            break;
        if (f->n < SCRIPT_MAX) {
            f->got[f->n] = json_loads(req, 0, NULL);
            const char *reply = f->replies[f->n++];
            const char *cut = reply ? strstr(reply, FRAME) : NULL;
            if (cut) {
                zmq_send(zsock_resolve(rep), reply, (size_t)(cut - reply), ZMQ_SNDMORE);
                zmq_send(zsock_resolve(rep), cut + 1, strlen(cut + 1), 0);
            } else {
                zstr_send(rep, reply ? reply : "{\"ok\":false,\"error\":\"script ended\"}");
            }
        }
        zstr_free(&req);
    }
    zpoller_destroy(&p);
    zsock_destroy(&rep);
}

struct env {
    char dir[64];
    struct fake fake;
    zactor_t *actor;
    struct vt_control ctl;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/vt-report-test-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->fake.endpoint, sizeof e->fake.endpoint, "ipc://%s/control", e->dir);
    char err[256];
    assert_int_equal(vt_control_init(&e->ctl, e->fake.endpoint, err, sizeof err), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    zactor_destroy(&e->actor);
    for (size_t i = 0; i < e->fake.n; i++)
        json_decref(e->fake.got[i]);
    char path[128];
    snprintf(path, sizeof path, "%s/control", e->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/out", e->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/t.pfx2as", e->dir);
    unlink(path);
    rmdir(e->dir);
    free(e);
    return 0;
}

static void start_fake(struct env *e)
{
    e->actor = zactor_new(fake_actor, &e->fake);
    assert_non_null(e->actor);
}

static void test_count_pages_to_the_end(void **state)
{
    struct env *e = *state;
    e->fake.replies[0] = "{\"ok\":true,\"done\":false,\"cursor\":7,\"examined\":200000}";
    e->fake.replies[1] = "{\"ok\":true,\"done\":false,\"cursor\":7,\"examined\":400000}";
    e->fake.replies[2] = "{\"ok\":true,\"done\":true,\"result\":{\"distinct_ips\":12,"
                         "\"devices_estimate\":9}}";
    start_fake(e);
    json_t *filters = json_pack("{s:i, s:I}", "port", 23, "since_ms", (json_int_t)1764324000000);
    char err[512] = "";
    json_t *result = vt_count_devices_try(&e->ctl, filters, NULL, NULL, NULL, err, sizeof err);
    if (!result)
        fail_msg("count failed: %s", err);
    assert_int_equal(num(result, "devices_estimate"), 9);
    assert_int_equal(e->fake.n, 3);
    /* The filters go once, with cmd and what; then only the cursor. */
    json_t *want = json_pack("{s:s, s:s, s:i, s:I}", "cmd", "count", "what", "devices", "port", 23,
                             "since_ms", (json_int_t)1764324000000);
    assert_true(json_equal(e->fake.got[0], want));
    json_decref(want);
    want = json_pack("{s:s, s:i}", "cmd", "count", "cursor", 7);
    assert_true(json_equal(e->fake.got[1], want));
    assert_true(json_equal(e->fake.got[2], want));
    json_decref(want);
    json_decref(result);
    json_decref(filters);
}

static void test_count_refused(void **state)
{
    struct env *e = *state;
    e->fake.replies[0] = "{\"ok\":false,\"error\":\"unknown command count (this coordinator is "
                         "older than the CLI?)\"}";
    e->fake.replies[1] = "{\"ok\":true,\"done\":false}"; /* no cursor */
    start_fake(e);
    json_t *filters = json_object();
    char err[512] = "";
    assert_null(vt_count_devices_try(&e->ctl, filters, NULL, NULL, NULL, err, sizeof err));
    assert_string_equal(err, "unknown command count (this coordinator is older than the CLI?)");
    assert_null(vt_count_devices_try(&e->ctl, filters, NULL, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "cursor"));
    json_decref(filters);
}

/* Runs a command's main (vt_cmd_report, vt_cmd_export) in this process with
 * stdout in DIR/out; returns its exit status and the output. */
static int run_cmd(struct env *e, int (*cmd)(int, char **), char **argv, char **out)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    char path[128];
    snprintf(path, sizeof path, "%s/out", e->dir);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    optind = 0; /* getopt starts over */
    int rc = cmd(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    FILE *f = fopen(path, "r");
    size_t cap = 0;
    *out = NULL;
    ssize_t n = getdelim(out, &cap, '\0', f);
    if (n < 0) {
        free(*out);
        *out = strdup("");
    }
    fclose(f);
    return rc;
}

static void test_report_command_pages_and_counts(void **state)
{
    struct env *e = *state;
    char pfx2as[128];
    snprintf(pfx2as, sizeof pfx2as, "%s/t.pfx2as", e->dir);
    FILE *f = fopen(pfx2as, "w");
    fputs(PFX2AS, f);
    fclose(f);
    e->fake.replies[0] = "{\"ok\":true,\"done\":false,\"cursor\":3,\"examined\":200000}";
    e->fake.replies[1] =
        "{\"ok\":true,\"done\":false,\"cursor\":3,\"examined\":250000,\"services\":["
        "{\"ip\":\"198.18.0.7\",\"port\":23,\"host_windows\":\"100:0\","
        "\"first_seen\":\"2026-11-28T10:00:00.007Z\",\"last_seen\":\"2026-11-28T10:00:01.007Z\","
        "\"vantages\":[\"isp-a\"],\"proto\":\"telnet\",\"labels\":{\"device\":\"Router\"}}]}";
    e->fake.replies[2] = "{\"ok\":true,\"done\":true,\"services\":["
                         "{\"ip\":\"198.18.4.1\",\"port\":23,\"host_windows\":\"101:0\","
                         "\"first_seen\":\"2026-11-28T11:00:00.000Z\","
                         "\"last_seen\":\"2026-11-28T11:00:00.000Z\",\"vantages\":[\"isp-b\"]}],"
                         "\"result\":{\"devices_estimate\":4,\"devices_low\":2,"
                         "\"devices_high\":8,\"host_windows_per_device\":0.5}}";
    start_fake(e);
    char *argv[] = {"report",    "--by",           "asn",     "--pfx2as",   pfx2as,
                    "--since",   "2026-11-28",     "--until", "2026-11-29", "--port",
                    "23",        "--label",        "telnet",  "--format",   "jsonl",
                    "--control", e->fake.endpoint, "--quiet", NULL};
    char *out;
    assert_int_equal(run_cmd(e, vt_cmd_report, argv, &out), 0);
    /* One request with the filters, then the cursor to the last page. */
    assert_int_equal(e->fake.n, 3);
    json_t *q = e->fake.got[0];
    assert_string_equal(str(q, "cmd"), "count");
    assert_string_equal(str(q, "what"), "services");
    assert_null(json_object_get(q, "state"));
    assert_null(json_object_get(q, "limit"));
    assert_int_equal(num(q, "port"), 23);
    assert_int_equal(num(q, "since_ms"), 1795824000000);
    assert_int_equal(num(q, "until_ms"), 1795910400000);
    assert_string_equal(json_string_value(json_array_get(json_object_get(q, "labels"), 0)),
                        "telnet");
    json_t *want = json_pack("{s:s, s:i}", "cmd", "count", "cursor", 3);
    assert_true(json_equal(e->fake.got[1], want));
    assert_true(json_equal(e->fake.got[2], want));
    json_decref(want);
    /* 64500's service, the multi-origin one twice, then the summaries. */
    json_t *lines = lines_of(out);
    assert_int_equal(json_array_size(lines), 3 + 3);
    assert_int_equal(num(json_array_get(lines, 0), "asn"), 64500);
    assert_int_equal(num(json_array_get(lines, 1), "asn"), 64501);
    assert_int_equal(num(json_array_get(lines, 2), "asn"), 64502);
    json_t *s = json_array_get(lines, 3);
    assert_int_equal(num(s, "devices_estimate"), 1); /* 1 host-window / 0.5 = 2, at most 1 */
    json_decref(lines);
    free(out);
}

static void test_export_streams_every_page(void **state)
{
    struct env *e = *state;
    e->fake.replies[0] = "{\"ok\":true,\"next\":\"00000064c612000700170000\",\"rows\":2}" FRAME
                         "{\"ip\":\"198.18.0.7\",\"port\":23,\"state\":\"open\"}\n"
                         "{\"ip\":\"198.18.0.7\",\"port\":80,\"state\":\"closed\"}\n";
    e->fake.replies[1] = "{\"ok\":true,\"next\":\"00000065c612000700170000\",\"rows\":0}" FRAME;
    e->fake.replies[2] = "{\"ok\":true,\"next\":null,\"rows\":1}" FRAME
                         "{\"ip\":\"198.18.0.8\",\"port\":23,\"state\":\"open\",\"x\":[1,2]}\n";
    start_fake(e);
    char *argv[] = {"export",  "--since",   "2026-11-28",     "--until", "now",
                    "--quiet", "--control", e->fake.endpoint, NULL};
    char *out;
    assert_int_equal(run_cmd(e, vt_cmd_export, argv, &out), 0);
    assert_string_equal(out,
                        "{\"ip\":\"198.18.0.7\",\"port\":23,\"state\":\"open\"}\n"
                        "{\"ip\":\"198.18.0.7\",\"port\":80,\"state\":\"closed\"}\n"
                        "{\"ip\":\"198.18.0.8\",\"port\":23,\"state\":\"open\",\"x\":[1,2]}\n");
    assert_int_equal(e->fake.n, 3);
    json_t *q = e->fake.got[0];
    assert_string_equal(str(q, "cmd"), "query");
    assert_null(json_object_get(q, "state")); /* open and closed */
    assert_int_equal(num(q, "since_ms"), 1795824000000);
    assert_true(num(q, "until_ms") > 1795824000000); /* now */
    assert_string_equal(str(e->fake.got[2], "after"), "00000065c612000700170000");
    free(out);
}

/* CSV reads each row: the lines are parsed, not passed on. */
static void test_export_csv_parses_the_rows(void **state)
{
    struct env *e = *state;
    e->fake.replies[0] = "{\"ok\":true,\"next\":null,\"rows\":1}" FRAME
                         "{\"ip\":\"198.18.0.9\",\"port\":80,\"state\":\"open\","
                         "\"vantages\":[\"isp-a\",\"isp-b\"]}\n";
    start_fake(e);
    char *argv[] = {"export",    "--since",        "2026-11-28", "--until", "now", "--quiet",
                    "--control", e->fake.endpoint, "--format",   "csv",     NULL};
    char *out;
    assert_int_equal(run_cmd(e, vt_cmd_export, argv, &out), 0);
    char *line2 = strchr(out, '\n');
    assert_non_null(line2);
    assert_non_null(strstr(line2, "198.18.0.9,80,open"));
    assert_non_null(strstr(line2, "isp-a|isp-b"));
    free(out);
}

/* A rows frame the CLI cannot trust is refused with a reason, never
 * printed with rows made up or lost silently. */
static int count_row(void *arg, json_t *row)
{
    ++*(int *)arg;
    return 0;
}

static void test_rows_frame_read_defensively(void **state)
{
    static const struct {
        const char *data;
        json_int_t count;
        const char *why;
    } bad[] = {
        {"{\"ip\":\"198.18.0.7\"}\n", 2, "counts 2 rows and holds 1"},
        {"{\"ip\":\"198.18.0.7\"}\n{\"ip\":\"198.18.0.8\"}\n", 1, "counts 1 rows and holds 2"},
        {"{\"ip\":\"198.18.0.7\"}", 1, "cut line"},
        {"[1,2]\n", 1, "not a JSON object"},
        {"{\"ip\":\n", 1, "not a JSON object"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = 0;
        assert_int_equal(vt_query_rows_read(bad[i].data, strlen(bad[i].data), bad[i].count,
                                            count_row, NULL, &n, err, sizeof err),
                         -1);
        if (!strstr(err, bad[i].why))
            fail_msg("case %zu: %s", i, err);
    }
    int n = 0;
    const char *good = "{\"a\":1}\n{\"b\":2}\n";
    assert_int_equal(
        vt_query_rows_read(good, strlen(good), 2, count_row, NULL, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(vt_query_rows_read("", 0, 0, count_row, NULL, &n, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_entry_per_service_under_each_origin),
        cmocka_unit_test(test_host_windows_are_the_union_of_an_address_windows),
        cmocka_unit_test(test_estimates_scale_the_global_count),
        cmocka_unit_test(test_by_prefix),
        cmocka_unit_test(test_csv_and_table),
        cmocka_unit_test(test_rows_read_defensively),
        cmocka_unit_test(test_empty_report),
        cmocka_unit_test_setup_teardown(test_count_pages_to_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_command_pages_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_streams_every_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_csv_parses_the_rows, setup, teardown),
        cmocka_unit_test(test_rows_frame_read_defensively),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
