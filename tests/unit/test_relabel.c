/* test_relabel.c: unit tests for coordinator/relabel.c (stored banners
 * identified again) and the banner side of coordinator/query.c (rows joined
 * with their banner, --label), in-process around a temporary store.
 *
 * What an operator would notice: banners stored by a worker whose rules did
 * not know the device get named by `vantage relabel` with no rescan, the
 * grabber's exposure label stays, a second relabel changes nothing, a
 * corrupt banner record is skipped and counted, and `query --label` finds
 * rows by any label's value. */
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

/* As a Hikvision camera's telnet greets (tests/lab/catalogue.c plays it). */
static const char hik[] = "Serial: DS-2CD2032-I20160315CCWR111222333\r\n\r\ndvrdvs login:";

/* Worker a holds a lease of campaign iot (1.0.0.0/16 × 23,80) and sends the
 * camera's banner for 1.0.0.5:23 with only the grabber's exposure label, as
 * a worker with no rule for it would, and an unlabelled banner-less 1.0.0.6:80. */
static void send_unnamed_camera(struct vt_coord *c, struct vt_worker *a, uint64_t seq)
{
    Vantage__Label exposure = VANTAGE__LABEL__INIT;
    exposure.key = "exposure";
    exposure.value = "telnet-login";
    Vantage__Label *labels[] = {&exposure};
    Vantage__BannerPart part = VANTAGE__BANNER_PART__INIT, *parts[] = {&part};
    part.matches = "telnet.banner";
    part.text.data = (uint8_t *)hik;
    part.text.len = strlen(hik);
    struct batch b;
    uint64_t now = (uint64_t)vt_now_ms();
    batch_init(&b, seq, a->lease_id);
    Vantage__Result *r = batch_add(&b, IP(1, 0, 0, 5), 23, true, now);
    r->proto = "telnet";
    r->has_banner = true;
    r->banner.data = (uint8_t *)hik;
    r->banner.len = strlen(hik);
    r->parts = parts;
    r->n_parts = 1;
    r->labels = labels;
    r->n_labels = 1;
    batch_add(&b, IP(1, 0, 0, 6), 80, true, now);
    ingest(c, a, &b);
    assert_int_equal(a->acked_seq, seq);
}

static struct vt_worker *store_unnamed_camera(struct vt_coord *c)
{
    if (!vt_campaign_start(c, "iot", "1.0.0.0/16", "23,80", 1000, 1, 1, 0, true, err, sizeof err))
        fail_msg("%s", err);
    struct vt_worker *a = connect_worker(c, "a", "site-a", ANYTHING);
    vt_lease_offer(c, a);
    assert_int_not_equal(a->lease_id, 0);
    send_unnamed_camera(c, a, 1);
    return a;
}

static json_t *run(json_t *(*fn)(struct vt_coord *, json_t *), struct vt_coord *c, json_t *req)
{
    json_t *rep = fn(c, req);
    json_decref(req);
    assert_non_null(rep);
    if (!json_is_true(json_object_get(rep, "ok")))
        fail_msg("%s", json_string_value(json_object_get(rep, "error")));
    return rep;
}

/* The rows of a query with one label filter (NULL: none). */
static json_t *query_label(struct vt_coord *c, const char *label)
{
    json_t *req = json_pack("{s:s}", "cmd", "query");
    if (label)
        json_object_set_new(req, "labels", json_pack("[s]", label));
    json_t *rep = run(query_run, c, req);
    json_t *rows = json_incref(json_object_get(rep, "rows"));
    json_decref(rep);
    return rows;
}

static const char *row_label(json_t *row, const char *key)
{
    return json_string_value(json_object_get(json_object_get(row, "labels"), key));
}

static void test_relabel_names_stored_banners(void **state)
{
    struct fixture *f = *state;
    struct vt_worker *a = store_unnamed_camera(f->c);
    json_t *rows = query_label(f->c, "Hikvision");
    assert_int_equal(json_array_size(rows), 0); /* not named yet */
    json_decref(rows);

    json_t *rep = run(vt_relabel_run, f->c, json_pack("{s:s}", "cmd", "relabel"));
    assert_int_equal(json_integer_value(json_object_get(rep, "examined")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "changed")), 1);
    assert_true(json_is_null(json_object_get(rep, "next")));
    json_decref(rep);

    rows = query_label(f->c, "hikvision"); /* case aside */
    assert_int_equal(json_array_size(rows), 1);
    json_t *row = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(row, "ip")), "1.0.0.5");
    assert_string_equal(json_string_value(json_object_get(row, "proto")), "telnet");
    assert_string_equal(row_label(row, "vendor"), "Hikvision");
    assert_string_equal(row_label(row, "exposure"), "telnet-login"); /* the grabber's, kept */
    assert_non_null(strstr(json_string_value(json_object_get(row, "banner")), "dvrdvs login:"));
    json_decref(rows);

    rows = query_label(f->c, "exposure=telnet-login");
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    rows = query_label(f->c, "vendor=telnet-login"); /* KEY=VALUE: that key only */
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    rows = query_label(f->c, NULL);
    assert_int_equal(json_array_size(rows), 2); /* the banner-less row is there, unlabelled */
    json_decref(rows);
    /* Several labels: all must hold. */
    json_t *rep2 = run(query_run, f->c,
                       json_pack("{s:s, s:[s, s]}", "cmd", "query", "labels", "hikvision",
                                 "exposure=telnet-login"));
    assert_int_equal(json_array_size(json_object_get(rep2, "rows")), 1);
    json_decref(rep2);
    rep2 = run(query_run, f->c,
               json_pack("{s:s, s:[s, s]}", "cmd", "query", "labels", "hikvision", "device=DVR"));
    assert_int_equal(json_array_size(json_object_get(rep2, "rows")), 0);
    json_decref(rep2);

    /* The worker sends the camera again, still without the vendor, also after
     * a restart (the seen-ids cache is gone): the relabelled record stays. */
    send_unnamed_camera(f->c, a, 2);
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    a = connect_worker_again(f->c, "a", ANYTHING);
    vt_lease_offer(f->c, a);
    send_unnamed_camera(f->c, a, 3);
    rows = query_label(f->c, "hikvision");
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);

    /* Again: nothing changes. With --since: the same banner, found by its rows. */
    rep = run(vt_relabel_run, f->c, json_pack("{s:s}", "cmd", "relabel"));
    assert_int_equal(json_integer_value(json_object_get(rep, "changed")), 0);
    json_decref(rep);
    rep =
        run(vt_relabel_run, f->c,
            json_pack("{s:s, s:I}", "cmd", "relabel", "since_ms", (json_int_t)vt_now_ms() - 60000));
    assert_int_equal(json_integer_value(json_object_get(rep, "examined")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "changed")), 0);
    json_decref(rep);
}

/* A banner record that does not decode: relabel skips and counts it, and the
 * row that names it is still shown, without a banner. */
static void test_relabel_skips_corrupt_records(void **state)
{
    struct fixture *f = *state;
    store_unnamed_camera(f->c);
    uint8_t id[VT_BANNER_ID_LEN];
    Vantage__BannerPart part = VANTAGE__BANNER_PART__INIT, *parts[] = {&part};
    part.matches = "telnet.banner";
    part.text.data = (uint8_t *)hik;
    part.text.len = strlen(hik);
    vt_banner_id("telnet", hik, strlen(hik), parts, 1, id);
    Vantage__BannerRecord *rec;
    assert_int_equal(vt_banner_get(f->c->store, id, sizeof id, &rec), 1);
    vantage__banner_record__free_unpacked(rec, NULL);
    /* Bytes that do not decode under the camera's id: a string whose length
     * runs past the end. */
    struct vt_batch *b = vt_batch_new();
    static const uint8_t bad[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(vt_batch_banner_put_packed(b, id, bad, sizeof bad), 0);
    assert_int_equal(vt_store_write(f->c->store, b, true, err, sizeof err), 0);
    vt_batch_free(b);
    assert_int_equal(vt_banner_get(f->c->store, id, sizeof id, &rec), -2);

    json_t *rep = run(vt_relabel_run, f->c, json_pack("{s:s}", "cmd", "relabel"));
    assert_int_equal(json_integer_value(json_object_get(rep, "corrupt")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "changed")), 0);
    json_decref(rep);
    json_t *rows = query_label(f->c, NULL);
    assert_int_equal(json_array_size(rows), 2);
    json_t *row = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(row, "ip")), "1.0.0.5");
    assert_null(json_object_get(row, "banner"));
    json_decref(rows);
}

/* Rules the request names are loaded (once) and used; a path that does not
 * exist is refused with its name. */
static void test_relabel_with_more_rules(void **state)
{
    struct fixture *f = *state;
    store_unnamed_camera(f->c);
    char path[] = "/tmp/test_relabel_rules.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs("<fingerprints matches=\"telnet.banner\">\n"
          "  <fingerprint pattern=\"^Serial: (\\S+)\\s+dvrdvs login:$\">\n"
          "    <description>test rule</description>\n"
          "    <example hw.serial=\"X1\">Serial: X1\n\ndvrdvs login:</example>\n"
          "    <param pos=\"0\" name=\"hw.model_family\" value=\"test-family\"/>\n"
          "    <param pos=\"1\" name=\"hw.serial\"/>\n"
          "  </fingerprint>\n"
          "</fingerprints>\n",
          fp);
    fclose(fp);
    json_t *rep =
        run(vt_relabel_run, f->c, json_pack("{s:s, s:[s]}", "cmd", "relabel", "rules", path));
    assert_int_equal(json_integer_value(json_object_get(rep, "changed")), 1);
    json_decref(rep);
    json_t *rows = query_label(f->c, "test-family");
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    unlink(path);

    json_t *req = json_pack("{s:s, s:[s]}", "cmd", "relabel", "rules", "/nonexistent/rules.xml");
    rep = vt_relabel_run(f->c, req);
    json_decref(req);
    assert_false(json_is_true(json_object_get(rep, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(rep, "error")), "/nonexistent"));
    json_decref(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_relabel_names_stored_banners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relabel_skips_corrupt_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relabel_with_more_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
