/* test_retention.c: unit tests for coordinator/retention.c, `vantage serve
 * --retention DUR`.
 *
 * What an operator would notice: once the time comes, every record of the
 * windows older than DUR is gone, with the device records of those windows
 * and the banners nothing names any more; records of newer windows, and
 * banners they still name, stay; a banner that ingest names while the sweep
 * runs is never deleted; nothing happens before the cutoff moves. */
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

static void banner_id_of(int n, uint8_t id[VT_BANNER_ID_LEN])
{
    memset(id, 0x10 + n, VT_BANNER_ID_LEN);
}

static void put(struct vt_coord *c, uint32_t w, uint32_t ip, int banner)
{
    struct vt_batch *b = vt_batch_new();
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    char *sites[1] = {"isp-a"};
    o.sites = sites;
    o.n_sites = 1;
    o.open = true;
    o.first_seen_ms = o.last_seen_ms = (uint64_t)w * c->window_s * 1000;
    uint8_t id[VT_BANNER_ID_LEN];
    if (banner) {
        banner_id_of(banner, id);
        Vantage__BannerRecord rec = VANTAGE__BANNER_RECORD__INIT;
        rec.proto = "telnet";
        assert_int_equal(vt_batch_banner_add(b, id, &rec), 0);
        o.has_banner_id = true;
        o.banner_id.data = id;
        o.banner_id.len = sizeof id;
        uint8_t dev[VT_DEVICE_ID_LEN];
        vt_device_id("hw.serial", "X", dev);
        assert_int_equal(vt_batch_device_put(b, dev, w, ip), 0);
    }
    assert_int_equal(vt_batch_obs_merge(b, w, ip, 23, &o), 0);
    assert_int_equal(vt_store_write(c->store, b, false, err, sizeof err), 0);
    vt_batch_free(b);
}

static int count_row(void *arg, const struct vt_obs_row *row)
{
    (*(size_t *)arg)++;
    return 0;
}

static size_t rows(struct vt_coord *c)
{
    size_t n = 0;
    assert_true(vt_obs_scan(c->store, NULL, 0, count_row, &n, NULL) >= 0);
    return n;
}

static bool has_banner(struct vt_coord *c, int n)
{
    uint8_t id[VT_BANNER_ID_LEN];
    banner_id_of(n, id);
    Vantage__BannerRecord *rec;
    int rc = vt_banner_get(c->store, id, sizeof id, &rec);
    assert_true(rc >= 0);
    if (rc == 1)
        vantage__banner_record__free_unpacked(rec, NULL);
    return rc == 1;
}

static int count_dev(void *arg, uint32_t window, uint32_t ip)
{
    (*(size_t *)arg)++;
    return 0;
}

static size_t devices(struct vt_coord *c)
{
    uint8_t dev[VT_DEVICE_ID_LEN];
    vt_device_id("hw.serial", "X", dev);
    size_t n = 0;
    assert_int_equal(vt_device_scan(c->store, dev, 0, UINT32_MAX, count_dev, &n), 0);
    return n;
}

/* Ticks until the sweep is over (bounded). */
static void run(struct vt_coord *c, int64_t now_ms, int64_t *mono)
{
    for (int i = 0; i < 1000; i++) {
        vt_retention_tick(c, now_ms, *mono += 70000);
        if (!vt_retention_busy(c))
            return;
    }
    fail_msg("the sweep did not end");
}

static void test_drops_old_windows_devices_and_banners(void **state)
{
    struct fixture *f = *state;
    uint64_t W = f->c->window_s;
    /* Windows 100..109; banner 1 only in old windows, banner 2 in old and
     * new ones, banner 3 only in new ones. */
    for (uint32_t w = 100; w < 110; w++)
        for (uint32_t h = 1; h <= 3; h++)
            put(f->c, w, IP(198, 18, 0, h), w < 105 ? (h == 1 ? 1 : 2) : (h == 1 ? 3 : 2));
    assert_int_equal(rows(f->c), 30);
    assert_int_equal(devices(f->c), 30);

    /* Keep 5 windows, now in window 110: windows before 105 go. */
    assert_int_equal(vt_retention_set(f->c, 5 * W), 0);
    int64_t now = (int64_t)(110 * W * 1000 + 10), mono = 0;
    run(f->c, now - (int64_t)W * 1000, &mono); /* one window earlier: windows before 104 */
    assert_int_equal(rows(f->c), 18);
    run(f->c, now, &mono);
    assert_int_equal(rows(f->c), 15);
    assert_int_equal(devices(f->c), 15);
    assert_false(has_banner(f->c, 1)); /* only old records named it */
    assert_true(has_banner(f->c, 2));
    assert_true(has_banner(f->c, 3));

    /* The same time again: nothing more happens. */
    run(f->c, now, &mono);
    assert_int_equal(rows(f->c), 15);
}

/* A banner ingest names while the sweep runs is kept, even if the records
 * the mark read did not name it. */
static void test_banner_named_during_sweep_kept(void **state)
{
    struct fixture *f = *state;
    uint64_t W = f->c->window_s;
    put(f->c, 10, IP(198, 18, 0, 1), 4); /* old, the only one to name banner 4 */
    put(f->c, 20, IP(198, 18, 0, 2), 0);
    assert_int_equal(vt_retention_set(f->c, 5 * W), 0);
    int64_t mono = 0;
    vt_retention_tick(f->c, (int64_t)(20 * W * 1000), mono += 70000); /* drop starts */
    assert_true(vt_retention_busy(f->c));
    /* A worker shows banner 4 again, now: ingest names it. */
    uint8_t id[VT_BANNER_ID_LEN];
    banner_id_of(4, id);
    vt_retention_note_banner(f->c, id);
    put(f->c, 20, IP(198, 18, 0, 3), 4);
    run(f->c, (int64_t)(20 * W * 1000), &mono);
    assert_true(has_banner(f->c, 4));
    assert_int_equal(rows(f->c), 2);
}

static void test_off_keeps_everything(void **state)
{
    struct fixture *f = *state;
    put(f->c, 1, IP(198, 18, 0, 1), 1);
    int64_t mono = 0;
    vt_retention_tick(f->c, vt_now_ms(), mono += 70000); /* no --retention: no-op */
    assert_false(vt_retention_busy(f->c));
    assert_int_equal(rows(f->c), 1);
    assert_true(has_banner(f->c, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_drops_old_windows_devices_and_banners, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_banner_named_during_sweep_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_keeps_everything, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
