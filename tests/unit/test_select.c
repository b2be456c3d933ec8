/* test_select.c: unit tests for coordinator/select.c and query.c: which
 * records a `query` request selects and how it pages.
 *
 * What an operator would notice: every filter (port, prefix, state,
 * campaign, vantage, label, time range) returns exactly the records it
 * names, also at window and prefix edges; a time range is a range of whole
 * windows; pages together give the same rows as one big answer, and a
 * selective filter over many records pages instead of reading the store in
 * one request; a record that does not decode is skipped and said, never a
 * crash. The store is filled directly (store.h), as ingest would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_fixture.h"

#define IP(a, b, c, d)                                                                             \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static void put_obs(struct vt_coord *c, uint32_t window, uint32_t ip, uint16_t port, bool open,
                    const char *site, const char *campaign, const uint8_t *banner)
{
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    char *sites[1] = {(char *)site}, *campaigns[1] = {(char *)campaign};
    o.first_seen_ms = o.last_seen_ms = (uint64_t)window * c->window_s * 1000 + 5;
    o.open = open;
    o.has_ttl = true;
    o.ttl = 60;
    o.sites = sites;
    o.n_sites = 1;
    o.campaigns = campaigns;
    o.n_campaigns = 1;
    if (banner) {
        o.has_banner_id = true;
        o.banner_id.data = (uint8_t *)banner;
        o.banner_id.len = VT_BANNER_ID_LEN;
    }
    struct vt_batch *b = vt_batch_new();
    assert_int_equal(vt_batch_obs_merge(b, window, ip, port, &o), 0);
    assert_int_equal(vt_store_write(c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
}

/* A banner record with one label, under a fixed id. */
static void put_banner(struct vt_coord *c, uint8_t id[VT_BANNER_ID_LEN], int n, const char *key,
                       const char *value)
{
    memset(id, n, VT_BANNER_ID_LEN);
    Vantage__BannerRecord rec = VANTAGE__BANNER_RECORD__INIT;
    Vantage__Label l = VANTAGE__LABEL__INIT, *lp[1] = {&l};
    l.key = (char *)key;
    l.value = (char *)value;
    rec.proto = "telnet";
    rec.labels = lp;
    rec.n_labels = 1;
    struct vt_batch *b = vt_batch_new();
    assert_int_equal(vt_batch_banner_put(b, id, &rec), 0);
    assert_int_equal(vt_store_write(c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
}

/* Runs a query (all pages) and returns "window ip:port" of every row, one
 * per line; *pages gets the number of requests it took. */
static char *query_all(struct vt_coord *c, json_t *filters, int limit, int *pages)
{
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    json_object_set_new(filters, "limit", json_integer(limit));
    *pages = 0;
    for (;;) {
        json_t *reply = query_run(c, filters);
        (*pages)++;
        assert_true(json_is_true(json_object_get(reply, "ok")));
        size_t i;
        json_t *row;
        json_array_foreach(json_object_get(reply, "rows"), i, row)
        {
            if (cap - len < 64) {
                out = realloc(out, cap *= 2);
                assert_non_null(out);
            }
            len += (size_t)snprintf(out + len, cap - len, "%lld %s:%lld\n",
                                    json_integer_value(json_object_get(row, "window")),
                                    json_string_value(json_object_get(row, "ip")),
                                    json_integer_value(json_object_get(row, "port")));
            assert_true(len < cap);
        }
        json_t *next = json_object_get(reply, "next");
        if (!json_is_string(next)) {
            json_decref(reply);
            break;
        }
        json_object_set_new(filters, "after", json_string(json_string_value(next)));
        json_decref(reply);
    }
    json_decref(filters);
    return out;
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Windows 10..12, a /24 each of 198.18.{0,1,2}.x, ports 23 and 80. */
static void fill(struct vt_coord *c, uint8_t *banner)
{
    for (uint32_t w = 10; w <= 12; w++)
        for (uint32_t net = 0; net < 3; net++)
            for (uint32_t h = 1; h <= 4; h++) {
                uint32_t ip = IP(198, 18, net, h);
                put_obs(c, w, ip, 23, h != 4, h % 2 ? "isp-a" : "isp-b", w == 11 ? "b" : "a",
                        h == 1 ? banner : NULL);
                put_obs(c, w, ip, 80, false, "isp-a", "a", NULL);
            }
}

static void test_filters(void **state)
{
    struct fixture *f = *state;
    uint8_t banner[VT_BANNER_ID_LEN];
    put_banner(f->c, banner, 7, "vendor", "Hikvision");
    fill(f->c, banner);
    int pages;
    char *r;

    r = query_all(f->c, json_object(), 1000, &pages);
    assert_int_equal(lines(r), 3 * 3 * 4 * 2);
    free(r);

    r = query_all(f->c, json_pack("{s:i}", "port", 23), 1000, &pages);
    assert_int_equal(lines(r), 36);
    free(r);

    r = query_all(f->c, json_pack("{s:s}", "state", "open"), 1000, &pages);
    assert_int_equal(lines(r), 27); /* h 1..3 on 23 */
    free(r);

    r = query_all(f->c, json_pack("{s:s}", "campaign", "b"), 1000, &pages);
    assert_int_equal(lines(r), 12); /* window 11, port 23 */
    assert_non_null(strstr(r, "11 198.18.0.1:23\n"));
    assert_null(strstr(r, "10 "));
    free(r);

    r = query_all(f->c, json_pack("{s:s}", "vantage", "isp-b"), 1000, &pages);
    assert_int_equal(lines(r), 18); /* h 2 and 4 on 23 */
    free(r);

    r = query_all(f->c, json_pack("{s:[s]}", "labels", "vendor=hikvision"), 1000, &pages);
    assert_int_equal(lines(r), 9); /* h 1 on 23 in every window and net */
    free(r);

    /* A prefix inside each window: only 198.18.1.0/24, every window. */
    r = query_all(f->c, json_pack("{s:s}", "prefix", "198.18.1.0/24"), 1000, &pages);
    assert_int_equal(lines(r), 3 * 4 * 2);
    assert_null(strstr(r, "198.18.0."));
    assert_null(strstr(r, "198.18.2."));
    free(r);
    r = query_all(f->c, json_pack("{s:s}", "prefix", "198.18.2.4/32"), 1000, &pages);
    assert_string_equal(r, "10 198.18.2.4:23\n10 198.18.2.4:80\n11 198.18.2.4:23\n"
                           "11 198.18.2.4:80\n12 198.18.2.4:23\n12 198.18.2.4:80\n");
    free(r);

    /* Time ranges are whole windows: since in window 11, until in window 11. */
    int64_t w11 = (int64_t)11 * (int64_t)f->c->window_s * 1000;
    r = query_all(f->c, json_pack("{s:I, s:I}", "since_ms", w11 + 1000, "until_ms", w11 + 2000),
                  1000, &pages);
    assert_int_equal(lines(r), 24);
    assert_null(strstr(r, "10 "));
    assert_null(strstr(r, "12 "));
    free(r);
    r = query_all(f->c, json_pack("{s:I}", "since_ms", w11 - 1), 1000, &pages); /* end of 10 */
    assert_int_equal(lines(r), 72);
    free(r);
    r = query_all(
        f->c, json_pack("{s:I, s:s, s:i}", "until_ms", w11, "prefix", "198.18.0.0/24", "port", 80),
        1000, &pages);
    assert_int_equal(lines(r), 8); /* windows 10 and 11 */
    free(r);
}

static void test_paging_same_rows(void **state)
{
    struct fixture *f = *state;
    fill(f->c, NULL);
    int pages, pages1;
    char *all = query_all(f->c, json_object(), 1000, &pages1);
    char *paged = query_all(f->c, json_object(), 5, &pages);
    assert_string_equal(all, paged);
    assert_int_equal(pages1, 1);
    assert_true(pages >= 72 / 5);
    free(paged);
    paged = query_all(f->c, json_pack("{s:s}", "prefix", "198.18.1.0/24"), 3, &pages);
    char *one = query_all(f->c, json_pack("{s:s}", "prefix", "198.18.1.0/24"), 1000, &pages1);
    assert_string_equal(one, paged);
    free(one);
    free(paged);
    free(all);
}

/* A /16 in one window of a store with many windows reads that /16 only:
 * a page budget that a full scan would spend many times over is enough. */
static void test_prefix_seeks(void **state)
{
    struct fixture *f = *state;
    struct vt_batch *b = vt_batch_new();
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    char *sites[1] = {"isp-a"};
    o.sites = sites;
    o.n_sites = 1;
    o.open = true;
    /* 8 windows × 32768 addresses spread over 10.0.0.0/8 = 262,144 records,
     * more than one request may examine (VT_QUERY_EXAMINE); of them 128 per
     * window lie in 10.7.0.0/16. */
    for (uint32_t w = 0; w < 8; w++) {
        for (uint32_t i = 0; i < 32768; i++) {
            uint32_t ip = IP(10, 0, 0, 0) | (i * 512u) | (w & 1);
            assert_int_equal(vt_batch_obs_merge(b, w, ip, 23, &o), 0);
        }
        assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
        vt_batch_clear(b);
    }
    vt_batch_free(b);
    int pages;
    char *r = query_all(f->c, json_pack("{s:s}", "prefix", "10.7.0.0/16"), 100000, &pages);
    assert_int_equal(lines(r), 8 * 128);
    assert_int_equal(pages, 1); /* a full scan would need two */
    free(r);
    r = query_all(f->c, json_object(), 100000, &pages);
    assert_int_equal(lines(r), 8 * 32768);
    assert_true(pages >= 2);
    free(r);
}

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = {
        "{\"state\":\"maybe\"}",
        "{\"prefix\":\"198.18.0.0/33\"}",
        "{\"prefix\":\"1.2.3.0/24,5.6.7.0/24\"}",
        "{\"since_ms\":5000,\"until_ms\":10}",
        "{\"labels\":\"x\"}",
        "{\"after\":\"zz\"}",
        "{\"port\":70000}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *req = json_loads(bad[i], 0, NULL);
        assert_non_null(req);
        json_t *reply = query_run(f->c, req);
        assert_false(json_is_true(json_object_get(reply, "ok")));
        const char *e = json_string_value(json_object_get(reply, "error"));
        assert_non_null(e);
        assert_null(strchr(e, '\n'));
        json_decref(reply);
        json_decref(req);
    }
}

static void test_corrupt_record_skipped(void **state)
{
    struct fixture *f = *state;
    fill(f->c, NULL);
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x42, 0x00, 0x99};
    struct vt_batch *b = vt_batch_new();
    assert_int_equal(
        vt_batch_obs_merge_packed(b, 11, IP(198, 18, 1, 9), 23, garbage, sizeof garbage), 0);
    assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
    assert_int_equal(vt_store_compact(f->c->store, err, sizeof err), 0);
    json_t *req = json_object();
    json_t *reply = query_run(f->c, req);
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_int_equal(json_array_size(json_object_get(reply, "rows")), 72);
    json_decref(reply);
    json_decref(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging_same_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_seeks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_skipped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
