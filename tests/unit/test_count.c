/* test_count.c: unit tests for coordinator/count.c, the control request
 * "count" behind `vantage query --count devices`.
 *
 * What an operator would notice: hosts per window and the distinct
 * addresses are exact; a device that shows a unique identifier is counted
 * once however often its address changed; an identifier many addresses
 * show in one window (a firmware default) is no identity; the estimate's
 * interval holds the true number of devices while the naive count is far
 * above it; with nothing identified only bounds are given; a count pages
 * through its cursor and a lost cursor says how to mend. The store is
 * filled as ingest would fill it: obs records, banner records with labels,
 * device records. */
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

static uint64_t rng = 12345;
static uint32_t rnd(uint32_t n)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (uint32_t)((z >> 32) * n >> 32);
}

/* A record of (w, ip, port) seen by site at ms, with a banner whose label
 * key=value (value NULL: no banner). */
static void seen_label(struct vt_batch *b, uint32_t w, uint32_t ip, uint16_t port, const char *site,
                       uint64_t ms, const char *key, const char *value)
{
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    char *sites[1] = {(char *)site};
    o.first_seen_ms = o.last_seen_ms = ms;
    o.open = true;
    o.sites = sites;
    o.n_sites = 1;
    uint8_t id[VT_BANNER_ID_LEN];
    if (value) {
        Vantage__BannerRecord rec = VANTAGE__BANNER_RECORD__INIT;
        Vantage__Label l = VANTAGE__LABEL__INIT, *lp[1] = {&l};
        l.key = (char *)key;
        l.value = (char *)value;
        rec.labels = lp;
        rec.n_labels = 1;
        rec.proto = "telnet";
        vt_banner_id("telnet", value, strlen(value), NULL, 0, id);
        assert_int_equal(vt_batch_banner_put(b, id, &rec), 0);
        o.has_banner_id = true;
        o.banner_id.data = id;
        o.banner_id.len = sizeof id;
    }
    assert_int_equal(vt_batch_obs_merge(b, w, ip, port, &o), 0);
}

/* The same with a hw.serial label (serial NULL: none), as the services tests write it. */
static void seen(struct vt_batch *b, uint32_t w, uint32_t ip, uint16_t port, const char *site,
                 uint64_t ms, const char *serial)
{
    seen_label(b, w, ip, port, site, ms, "hw.serial", serial);
}

/* One host of one window as ingest writes it: its record on port seen by
 * isp-a, with a banner whose label key=value and, for it, the device
 * record (value NULL: no banner). */
static void host(struct vt_coord *c, struct vt_batch *b, uint32_t w, uint32_t ip, uint16_t port,
                 const char *key, const char *value)
{
    seen_label(b, w, ip, port, "isp-a", (uint64_t)w * c->window_s * 1000 + 1, key, value);
    if (value) {
        uint8_t dev[VT_DEVICE_ID_LEN];
        vt_device_id(key, value, dev);
        assert_int_equal(vt_batch_device_put(b, dev, w, ip), 0);
    }
}

/* Runs a count to its end; the result (the caller frees), pages in *pages. */
static json_t *count(struct vt_coord *c, json_t *req, int *pages)
{
    json_object_set_new(req, "what", json_string("devices"));
    json_t *reply = vt_count_run(c, req);
    json_decref(req);
    *pages = 1;
    while (json_is_true(json_object_get(reply, "ok")) &&
           !json_is_true(json_object_get(reply, "done"))) {
        json_t *next = json_pack("{s:O}", "cursor", json_object_get(reply, "cursor"));
        json_decref(reply);
        reply = vt_count_run(c, next);
        json_decref(next);
        (*pages)++;
    }
    if (!json_is_true(json_object_get(reply, "ok")))
        fail_msg("%s", json_string_value(json_object_get(reply, "error")));
    json_t *r = json_incref(json_object_get(reply, "result"));
    json_decref(reply);
    return r;
}

static json_int_t num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", key);
    return json_integer_value(v);
}

/* A world of devices over 5 windows: share `dynamic` get a new address every
 * window, each is up with probability `up`%, share `ident`% show a unique
 * serial, `shared` devices show one firmware-default serial. */
struct world {
    unsigned n, windows;
    unsigned seen;         /* devices up in at least one window */
    unsigned identified;   /* of those, with a unique serial */
    unsigned hosts[8];     /* per window */
    unsigned distinct_ips; /* over all windows */
};

static struct world build(struct vt_coord *c, unsigned n, unsigned dynamic, unsigned up,
                          unsigned ident, unsigned shared)
{
    struct world x = {.n = n, .windows = 5};
    struct vt_batch *b = vt_batch_new();
    uint8_t *used = calloc(1u << 16, 1); /* addresses handed out: 10.0.0.0/16 */
    for (unsigned d = 0; d < n; d++) {
        bool dyn = rnd(100) < dynamic, is_ident = rnd(100) < ident, is_shared = d < shared,
             any = false, ident_seen = false;
        uint32_t addr = 0;
        char serial[32];
        snprintf(serial, sizeof serial, is_shared ? "DEFAULT0000" : "SN%08u", d);
        for (unsigned w = 0; w < x.windows; w++) {
            if (w == 0 || dyn) {
                do
                    addr = rnd(1u << 16);
                while (used[addr]);
                used[addr] = 1;
                x.distinct_ips++;
            }
            if (rnd(100) >= up)
                continue;
            any = true;
            x.hosts[w]++;
            bool shows = is_shared || is_ident;
            host(c, b, 100 + w, IP(10, 0, 0, 0) | addr, 23, "hw.serial", shows ? serial : NULL);
            ident_seen |= is_ident && !is_shared;
        }
        x.seen += any;
        x.identified += ident_seen;
        if (vt_batch_count(b) > 5000) {
            assert_int_equal(vt_store_write(c->store, b, false, err, sizeof err), 0);
            vt_batch_clear(b);
        }
    }
    assert_int_equal(vt_store_write(c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
    free(used);
    /* distinct_ips counts addresses a device was given; only those of a
     * window it was up in were seen: recount from the store's view. */
    return x;
}

static void test_devices_under_churn(void **state)
{
    struct fixture *f = *state;
    struct world x = build(f->c, 3000, 50, 80, 30, 40);
    int pages;
    json_t *r = count(f->c, json_object(), &pages);
    json_t *windows = json_object_get(r, "windows");
    assert_int_equal(json_array_size(windows), 5);
    unsigned total = 0;
    for (unsigned w = 0; w < 5; w++) {
        json_t *o = json_array_get(windows, w);
        assert_int_equal(num(o, "window"), 100 + w);
        assert_int_equal(num(o, "hosts"), x.hosts[w]); /* exact */
        total += x.hosts[w];
    }
    assert_int_equal(num(r, "identified_devices"), x.identified);
    assert_int_equal(num(r, "shared_defaults"), 1);
    json_int_t distinct = num(r, "distinct_ips"), est = num(r, "devices_estimate"),
               low = num(r, "devices_low"), high = num(r, "devices_high");
    assert_true(distinct > (json_int_t)x.seen * 5 / 4); /* the naive count is inflated */
    assert_true(distinct <= total);
    assert_true(low <= (json_int_t)x.seen && (json_int_t)x.seen <= high);
    assert_true(est > (json_int_t)x.seen * 95 / 100 && est < (json_int_t)x.seen * 105 / 100);
    json_t *churn = json_object_get(r, "churn");
    double changed = json_number_value(json_object_get(churn, "changed_address"));
    assert_true(changed > 0.35 && changed < 0.65); /* half the devices are dynamic */
    json_decref(r);
}

static void test_nothing_identified_gives_bounds(void **state)
{
    struct fixture *f = *state;
    struct world x = build(f->c, 500, 50, 100, 0, 0);
    int pages;
    json_t *r = count(f->c, json_object(), &pages);
    assert_true(json_is_null(json_object_get(r, "devices_estimate")));
    unsigned maxw = 0;
    for (unsigned w = 0; w < 5; w++)
        maxw = x.hosts[w] > maxw ? x.hosts[w] : maxw;
    assert_int_equal(num(r, "devices_low"), maxw);
    assert_int_equal(num(r, "devices_high"), num(r, "distinct_ips"));
    assert_int_equal(num(r, "identified_devices"), 0);
    json_decref(r);
}

/* A shared default is decided on every address it showed in a window, not
 * only those the filters select: a prefix that holds one of them does not
 * make it an identity. */
static void test_shared_default_seen_through_filters(void **state)
{
    struct fixture *f = *state;
    struct vt_batch *b = vt_batch_new();
    for (uint32_t i = 0; i < 6; i++) /* one default serial on 6 addresses of window 5 */
        host(f->c, b, 5, IP(10, 0, i, 1), 23, "hw.serial", "DEFAULT");
    host(f->c, b, 5, IP(10, 0, 0, 2), 23, "hw.serial", "UNIQUE1");
    host(f->c, b, 6, IP(10, 0, 7, 2), 23, "hw.serial", "UNIQUE1"); /* moved */
    assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
    int pages;
    json_t *r = count(f->c, json_pack("{s:s}", "prefix", "10.0.0.0/24"), &pages);
    assert_int_equal(num(r, "identified_devices"), 1);
    assert_int_equal(num(r, "shared_defaults"), 1);
    assert_int_equal(num(r, "distinct_ips"), 2);
    json_decref(r);
    r = count(f->c, json_object(), &pages);
    assert_int_equal(num(r, "identified_devices"), 1);
    assert_int_equal(num(r, "distinct_ips"), 8);
    json_t *churn = json_object_get(r, "churn");
    assert_int_equal(num(churn, "devices"), 1);
    assert_true(json_number_value(json_object_get(churn, "changed_address")) == 1.0);
    assert_true(json_number_value(json_object_get(churn, "crossed_prefix")) == 1.0);
    json_decref(r);
}

/* A banner not read in one window (a grab lost) does not make a device with
 * one address look offline there: its anonymous host is still it. A device
 * that moved is not guessed at. */
static void test_unread_identifier_still_the_device(void **state)
{
    struct fixture *f = *state;
    struct vt_batch *b = vt_batch_new();
    char serial[32];
    for (uint32_t d = 0; d < 20; d++) {
        snprintf(serial, sizeof serial, "SN%04u", d);
        for (uint32_t w = 1; w <= 4; w++) /* window 3: the first 5 were not read */
            host(f->c, b, w, IP(10, 0, 1, d), 23, "hw.serial", w == 3 && d < 5 ? NULL : serial);
    }
    assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
    int pages;
    json_t *r = count(f->c, json_object(), &pages);
    assert_int_equal(num(r, "identified_devices"), 20);
    assert_int_equal(num(r, "identified_unread"), 5);
    assert_int_equal(num(r, "devices_estimate"), 20); /* not 80 / 3.75 = 21 */
    assert_int_equal(num(json_array_get(json_object_get(r, "windows"), 2), "identified"), 20);
    json_decref(r);
}

/* Many distinct identifiers (a serial per device: a banner per device) are
 * each read once and all count; a label filter narrows the count to the
 * hosts whose banner carries it; a record naming a banner the store does not
 * hold is a host without identity, not an error. */
static void test_many_banners_and_label_filter(void **state)
{
    struct fixture *f = *state;
    struct vt_batch *b = vt_batch_new();
    char serial[32];
    for (uint32_t d = 0; d < 3000; d++) {
        snprintf(serial, sizeof serial, "SN%06u", d);
        for (uint32_t w = 1; w <= 2; w++)
            host(f->c, b, w, IP(10, 1, 0, 0) + d * 2 + (w == 2 && d % 2), 23, "hw.serial", serial);
    }
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    char *sites[1] = {"isp-a"};
    uint8_t missing[VT_BANNER_ID_LEN] = {0xab};
    o.sites = sites;
    o.n_sites = 1;
    o.open = true;
    o.has_banner_id = true;
    o.banner_id.data = missing;
    o.banner_id.len = sizeof missing;
    assert_int_equal(vt_batch_obs_merge(b, 1, IP(10, 2, 0, 1), 23, &o), 0);
    assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
    int pages;
    json_t *r = count(f->c, json_object(), &pages);
    assert_int_equal(num(r, "identified_devices"), 3000);
    assert_int_equal(num(r, "distinct_ips"), 3000 + 1500 + 1);
    assert_int_equal(num(r, "devices_estimate"), 3001);
    assert_int_equal(num(json_array_get(json_object_get(r, "windows"), 0), "hosts"), 3001);
    assert_int_equal(num(r, "corrupt"), 0);
    json_decref(r);
    r = count(f->c, json_pack("{s:[s]}", "labels", "sn000007"), &pages);
    assert_int_equal(num(r, "identified_devices"), 1);
    assert_int_equal(num(r, "distinct_ips"), 2);
    json_decref(r);
}

/* Runs a count of what "services" to its end: the services in order (the
 * caller frees), the count's result in *result. */
static json_t *services(struct vt_coord *c, json_t *req, json_t **result, int *pages)
{
    json_object_set_new(req, "what", json_string("services"));
    json_t *all = json_array(), *reply = vt_count_run(c, req);
    json_decref(req);
    *pages = 0;
    for (;;) {
        if (!json_is_true(json_object_get(reply, "ok")))
            fail_msg("%s", json_string_value(json_object_get(reply, "error")));
        json_t *rows = json_object_get(reply, "services");
        *pages += rows != NULL;
        json_array_extend(all, rows ? rows : json_array());
        if (json_is_true(json_object_get(reply, "done")))
            break;
        json_t *next = json_pack("{s:O}", "cursor", json_object_get(reply, "cursor"));
        json_decref(reply);
        reply = vt_count_run(c, next);
        json_decref(next);
    }
    *result = json_incref(json_object_get(reply, "result"));
    json_decref(reply);
    return all;
}

/* The daemon's consolidation for `vantage report`: one row per (ip, port)
 * over the period, in (ip, port) order, with the earliest first sighting,
 * the latest last, every vantage, the labels of the latest banner and the
 * windows it was open in; the device count of the same records with the
 * last page; many services page. */
static void test_services_consolidate_over_the_period(void **state)
{
    struct fixture *f = *state;
    struct vt_batch *b = vt_batch_new();
    uint64_t h = 3600 * 1000;
    seen(b, 1, IP(10, 0, 0, 9), 23, "isp-b", 1 * h + 5, "OLD1");
    seen(b, 2, IP(10, 0, 0, 9), 23, "isp-a", 2 * h + 5, NULL);
    seen(b, 4, IP(10, 0, 0, 9), 23, "isp-a", 4 * h + 9, "NEW1");
    seen(b, 5, IP(10, 0, 0, 9), 23, "isp-c", 5 * h + 1, NULL);
    seen(b, 2, IP(10, 0, 0, 9), 80, "isp-a", 2 * h + 7, NULL);
    seen(b, 1, IP(10, 0, 0, 3), 23, "isp-a", 1 * h + 1, NULL);
    assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
    json_t *result;
    int pages;
    json_t *rows = services(f->c, json_object(), &result, &pages);
    assert_int_equal(json_array_size(rows), 3);
    json_t *a = json_array_get(rows, 0), *s23 = json_array_get(rows, 1),
           *s80 = json_array_get(rows, 2);
    assert_string_equal(json_string_value(json_object_get(a, "ip")), "10.0.0.3");
    assert_string_equal(json_string_value(json_object_get(s23, "ip")), "10.0.0.9");
    assert_int_equal(num(s23, "port"), 23);
    assert_int_equal(num(s80, "port"), 80);
    /* The address's windows (23's 1, 2, 4, 5 and 80's 2) with its first service. */
    assert_string_equal(json_string_value(json_object_get(s23, "host_windows")), "1:0-1,3-4");
    assert_null(json_object_get(s80, "host_windows"));
    assert_string_equal(json_string_value(json_object_get(a, "host_windows")), "1:0");
    assert_string_equal(json_string_value(json_object_get(s23, "first_seen")),
                        "1970-01-01T01:00:00.005Z");
    assert_string_equal(json_string_value(json_object_get(s23, "last_seen")),
                        "1970-01-01T05:00:00.001Z");
    assert_int_equal(json_array_size(json_object_get(s23, "vantages")), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(s23, "labels"), "hw.serial")), "NEW1");
    assert_string_equal(json_string_value(json_object_get(s23, "proto")), "telnet");
    assert_null(json_object_get(s80, "labels"));
    /* The count of the same records came with it. */
    assert_int_equal(num(result, "distinct_ips"), 2);
    assert_int_equal(num(result, "services"), 3);
    assert_int_equal(num(result, "identified_devices"), 2); /* OLD1 and NEW1 (no device CF) */
    json_decref(rows);
    json_decref(result);
    /* Filters hold: a port, a window range. */
    rows = services(f->c, json_pack("{s:i, s:I}", "port", 80, "since_ms", (json_int_t)(2 * h)),
                    &result, &pages);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    json_decref(result);

    /* More services than one reply holds: they page, each once, in order. */
    b = vt_batch_new();
    for (uint32_t i = 0; i < 12000; i++)
        seen(b, 7, IP(10, 1, 0, 0) + i, 23, "isp-a", 7 * h, NULL);
    assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
    rows = services(f->c, json_pack("{s:s}", "prefix", "10.1.0.0/16"), &result, &pages);
    assert_int_equal(json_array_size(rows), 12000);
    assert_true(pages >= 3);
    uint32_t prev = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        uint32_t ip;
        assert_int_equal(vt_ip_parse(json_string_value(json_object_get(row, "ip")), &ip), 0);
        assert_true(i == 0 || ip > prev);
        prev = ip;
    }
    assert_int_equal(num(result, "services"), 12000);
    json_decref(rows);
    json_decref(result);

    /* what is devices or services. */
    json_t *req = json_pack("{s:s}", "what", "ports");
    json_t *reply = vt_count_run(f->c, req);
    assert_false(json_is_true(json_object_get(reply, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(reply, "error")), "services"));
    json_decref(reply);
    json_decref(req);
}

/* A page of services is bounded in bytes as well as rows: addresses seen in
 * every other window carry long host_windows, and a reply must stay well
 * under what a CLI takes in one message (4 MiB). */
static void test_services_pages_bounded_in_bytes(void **state)
{
    struct fixture *f = *state;
    struct vt_batch *b = vt_batch_new();
    for (uint32_t a = 0; a < 900; a++) {
        for (uint32_t w = 0; w < 600; w += 2)
            seen(b, 1000 + w, IP(10, 3, 0, 0) + a, 23, "isp-a", 1, NULL);
        if (vt_batch_count(b) > 20000) {
            assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
            vt_batch_clear(b);
        }
    }
    assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
    char want[4096] = "1000:0";
    for (uint32_t w = 2; w < 600; w += 2)
        snprintf(want + strlen(want), sizeof want - strlen(want), ",%u", w);
    json_t *req = json_pack("{s:s}", "what", "services"), *reply = vt_count_run(f->c, req);
    json_decref(req);
    size_t rows = 0, pages = 0;
    for (;;) {
        assert_true(json_is_true(json_object_get(reply, "ok")));
        json_t *page = json_object_get(reply, "services");
        if (page) {
            pages++;
            rows += json_array_size(page);
            char *text = json_dumps(page, JSON_COMPACT);
            assert_true(strlen(text) < 1536 * 1024);
            free(text);
            json_t *row = json_array_get(page, 0);
            assert_string_equal(json_string_value(json_object_get(row, "host_windows")), want);
        }
        if (json_is_true(json_object_get(reply, "done")))
            break;
        json_t *next = json_pack("{s:O}", "cursor", json_object_get(reply, "cursor"));
        json_decref(reply);
        reply = vt_count_run(f->c, next);
        json_decref(next);
    }
    json_decref(reply);
    assert_int_equal(rows, 900);
    assert_true(pages >= 2); /* 900 rows would fit one page by count */
}

static void test_cursor_pages_and_errors(void **state)
{
    struct fixture *f = *state;
    struct vt_batch *b = vt_batch_new();
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    char *sites[1] = {"isp-a"};
    o.sites = sites;
    o.n_sites = 1;
    o.open = true;
    for (uint32_t i = 0; i < 450000; i++) { /* more than two budgets */
        assert_int_equal(vt_batch_obs_merge(b, 1 + i % 3, IP(10, 0, 0, 0) + i, 23, &o), 0);
        if (vt_batch_count(b) == 50000) {
            assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
            vt_batch_clear(b);
        }
    }
    assert_int_equal(vt_store_write(f->c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
    int pages;
    json_t *r = count(f->c, json_object(), &pages);
    assert_true(pages >= 3);
    assert_int_equal(num(r, "distinct_ips"), 450000);
    assert_int_equal(num(json_array_get(json_object_get(r, "windows"), 0), "hosts"), 150000);
    json_decref(r);

    /* A cursor that is not there; a request without what; state given. */
    json_t *req = json_pack("{s:i}", "cursor", 99);
    json_t *reply = vt_count_run(f->c, req);
    assert_false(json_is_true(json_object_get(reply, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(reply, "error")), "start it again"));
    json_decref(reply);
    json_decref(req);
    req = json_object();
    reply = vt_count_run(f->c, req);
    assert_false(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);
    json_decref(req);
    req = json_pack("{s:s, s:s}", "what", "devices", "state", "closed");
    reply = vt_count_run(f->c, req);
    assert_false(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);
    json_decref(req);

    /* At most VT_COUNT_CURSORS at once: the next is refused, not queued. */
    for (int i = 0; i <= VT_COUNT_CURSORS; i++) {
        req = json_pack("{s:s}", "what", "devices");
        reply = vt_count_run(f->c, req);
        assert_int_equal(json_is_true(json_object_get(reply, "ok")), i < VT_COUNT_CURSORS);
        json_decref(reply);
        json_decref(req);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_devices_under_churn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_identified_gives_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_default_seen_through_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unread_identifier_still_the_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_banners_and_label_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_services_consolidate_over_the_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_services_pages_bounded_in_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_pages_and_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
