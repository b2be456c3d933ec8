/* test_store.c: unit tests for coordinator/store.c, the coordinator's RocksDB store.
 *
 * What an operator would notice: a restart keeps everything; a device seen by
 * several vantages, several times, is one record per window with every
 * vantage, its first and last sighting; a redelivered batch changes nothing;
 * a batch and its sequence number are stored together or not at all;
 * retention drops whole windows; and a few bad bytes never crash the
 * coordinator or lose what was stored. Each test works in its own temporary
 * directory, removed afterwards. */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

#define IP(a, b, c, d)                                                                             \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

struct fixture {
    char dir[64];
    struct vt_store *s;
};

static char err[512];

static struct vt_store *open_ok(const char *dir)
{
    err[0] = '\0';
    struct vt_store *s = vt_store_open(dir, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/test_store.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->s = open_ok(f->dir);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vt_store_close(f->s);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A sighting of one site. */
static Vantage__Observation sighting(const char **site, uint64_t ts, int open, uint32_t ttl,
                                     const char *campaign)
{
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    o.first_seen_ms = ts;
    o.last_seen_ms = ts;
    o.open = open;
    o.has_ttl = 1;
    o.ttl = ttl;
    o.n_sites = 1;
    o.sites = (char **)site;
    static char *names[16][1];
    static unsigned next;
    if (campaign) {
        char **slot = names[next++ % 16];
        slot[0] = (char *)campaign;
        o.campaigns = slot;
        o.n_campaigns = 1;
    }
    return o;
}

static void write_ok(struct vt_store *s, struct vt_batch *b, bool sync)
{
    if (vt_store_write(s, b, sync, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void merge_one(struct vt_store *s, uint32_t window, uint32_t ip, uint16_t port,
                      const Vantage__Observation *o)
{
    struct vt_batch *b = vt_batch_new();
    assert_non_null(b);
    assert_int_equal(vt_batch_obs_merge(b, window, ip, port, o), 0);
    write_ok(s, b, false);
    vt_batch_free(b);
}

/* Collects scanned rows as packed bytes (comparable with memcmp) and keys. */
struct rows {
    size_t n;
    uint32_t window[64], ip[64];
    uint16_t port[64];
    uint8_t packed[64][256];
    size_t len[64];
    size_t stop_after; /* 0: never stop */
};

static int collect(void *arg, const struct vt_obs_row *row)
{
    struct rows *r = arg;
    assert_true(r->n < 64);
    r->window[r->n] = row->window;
    r->ip[r->n] = row->ip;
    r->port[r->n] = row->port;
    r->len[r->n] = vantage__observation__get_packed_size(row->obs);
    assert_true(r->len[r->n] <= sizeof r->packed[0]);
    vantage__observation__pack(row->obs, r->packed[r->n]);
    r->n++;
    return r->stop_after && r->n == r->stop_after;
}

static void scan_all(struct vt_store *s, struct rows *r)
{
    memset(r, 0, sizeof *r);
    int rc = vt_obs_scan(s, NULL, 0, collect, r, NULL);
    if (rc < 0)
        fail_msg("%s", vt_store_errmsg(s));
    assert_int_equal(rc, 0);
}

/* The one record at (window, ip, port), decoded (free with vt_obs_free). */
static Vantage__Observation *record(struct vt_store *s, uint32_t window, uint32_t ip, uint16_t port)
{
    uint8_t key[VT_OBS_KEY_LEN];
    struct rows r = {.stop_after = 1};
    vt_obs_key(key, window, ip, port);
    assert_true(vt_obs_scan(s, key, 1, collect, &r, NULL) >= 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.window[0], window);
    assert_int_equal(r.ip[0], ip);
    assert_int_equal(r.port[0], port);
    Vantage__Observation *o = vantage__observation__unpack(NULL, r.len[0], r.packed[0]);
    assert_non_null(o);
    return o;
}

static const char *A[] = {"ams"}, *B[] = {"fra"}, *C[] = {"lis"};

static void test_key_layout(void **state)
{
    uint8_t k[VT_OBS_KEY_LEN];
    uint32_t w, ip;
    uint16_t port;

    vt_obs_key(k, 0x01020304, IP(198, 18, 0, 1), 8080);
    const uint8_t want[] = {1, 2, 3, 4, 198, 18, 0, 1, 0x1f, 0x90};
    assert_memory_equal(k, want, sizeof want);
    vt_obs_key_parse(k, &w, &ip, &port);
    assert_int_equal(w, 0x01020304);
    assert_int_equal(ip, IP(198, 18, 0, 1));
    assert_int_equal(port, 8080);
}

static void test_reopen_keeps_data(void **state)
{
    struct fixture *f = *state;
    Vantage__Observation o = sighting(A, 1000, 1, 64, "iot");
    merge_one(f->s, 7, IP(198, 18, 0, 1), 23, &o);
    assert_int_equal(vt_meta_put(f->s, "campaign/iot", "x", 1, true), 0);
    vt_store_close(f->s);

    /* A second open of the same directory is refused, with a reason. */
    f->s = open_ok(f->dir);
    assert_null(vt_store_open(f->dir, err, sizeof err));
    assert_non_null(strstr(err, "cannot open store "));
    assert_non_null(strstr(err, "is another vantage serve using it?"));
    assert_null(strchr(err, '\n'));

    Vantage__Observation *r = record(f->s, 7, IP(198, 18, 0, 1), 23);
    assert_int_equal(r->first_seen_ms, 1000);
    assert_int_equal(r->n_sites, 1);
    assert_string_equal(r->sites[0], "ams");
    vt_obs_free(r);
    void *v;
    size_t len;
    assert_int_equal(vt_meta_get(f->s, "campaign/iot", &v, &len), 1);
    assert_int_equal(len, 1);
    free(v);
}

static void test_merge_sightings(void **state)
{
    struct fixture *f = *state;
    uint32_t ip = IP(198, 18, 3, 4);
    Vantage__Observation s1 = sighting(B, 2000, 1, 60, "iot");
    Vantage__Observation s2 = sighting(A, 1000, 1, 61, "iot");
    Vantage__Observation s3 = sighting(C, 3000, 0, 57, "iot-again"); /* the latest: closed */
    Vantage__Observation s4 = sighting(A, 2500, 1, 62, "iot");

    merge_one(f->s, 1, ip, 80, &s1);
    merge_one(f->s, 1, ip, 80, &s2);
    merge_one(f->s, 1, ip, 80, &s3);
    merge_one(f->s, 1, ip, 80, &s4);

    Vantage__Observation *r = record(f->s, 1, ip, 80);
    assert_int_equal(r->first_seen_ms, 1000);
    assert_int_equal(r->last_seen_ms, 3000);
    assert_true(r->open); /* open at some time in the window: a later RST does not hide it */
    assert_true(r->has_ttl);
    assert_int_equal(r->ttl, 57); /* the last answer's */
    assert_true(r->has_ttl_min && r->has_ttl_max);
    assert_int_equal(r->ttl_min, 57);
    assert_int_equal(r->ttl_max, 62);
    assert_int_equal(r->n_campaigns, 2); /* both campaigns keep the record */
    assert_string_equal(r->campaigns[0], "iot");
    assert_string_equal(r->campaigns[1], "iot-again");
    assert_int_equal(r->n_sites, 3);
    assert_string_equal(r->sites[0], "ams");
    assert_string_equal(r->sites[1], "fra");
    assert_string_equal(r->sites[2], "lis");
    vt_obs_free(r);

    /* Still one record, and the same, once RocksDB merged it in compaction. */
    assert_int_equal(vt_store_compact(f->s, err, sizeof err), 0);
    struct rows rows;
    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 1);
    r = record(f->s, 1, ip, 80);
    assert_int_equal(r->first_seen_ms, 1000);
    assert_int_equal(r->last_seen_ms, 3000);
    assert_int_equal(r->n_sites, 3);
    vt_obs_free(r);
}

static void test_redelivery_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct vt_batch *b = vt_batch_new();
    Vantage__Observation s1 = sighting(A, 1000, 1, 64, "iot");
    Vantage__Observation s2 = sighting(B, 1500, 1, 63, "iot");
    struct rows once, twice;

    assert_int_equal(vt_batch_obs_merge(b, 3, IP(198, 18, 0, 9), 23, &s1), 0);
    assert_int_equal(vt_batch_obs_merge(b, 3, IP(198, 18, 0, 9), 23, &s2), 0);
    assert_int_equal(vt_batch_obs_merge(b, 3, IP(198, 18, 0, 10), 23, &s2), 0);
    vt_batch_meta_put(b, "seq/w1", "1", 1);
    write_ok(f->s, b, true);
    scan_all(f->s, &once);

    write_ok(f->s, b, true); /* the worker did not get the ACK and sent it again */
    scan_all(f->s, &twice);
    assert_int_equal(once.n, 2);
    assert_int_equal(twice.n, 2);
    for (size_t i = 0; i < once.n; i++) {
        assert_int_equal(once.len[i], twice.len[i]);
        assert_memory_equal(once.packed[i], twice.packed[i], once.len[i]);
    }
    vt_batch_free(b);
}

static void test_order_independence(void **state)
{
    struct fixture *f = *state;
    Vantage__Observation ops[] = {
        sighting(A, 1000, 1, 64, "iot"), sighting(B, 2000, 0, 50, "iot"),
        sighting(C, 2000, 1, 51, "iot"), /* same ms as B: open wins, whatever the order */
        sighting(A, 1500, 1, 60, "web"), sighting(B, 500, 1, 60, "web"),
    };
    const int n = sizeof ops / sizeof ops[0];
    struct rows rows;

    for (int i = 0; i < n; i++)
        merge_one(f->s, 1, IP(198, 18, 0, 1), 23, &ops[i]);
    for (int i = n - 1; i >= 0; i--)
        merge_one(f->s, 1, IP(198, 18, 0, 2), 23, &ops[i]);
    const int shuffled[] = {2, 4, 0, 3, 1};
    for (int i = 0; i < n; i++)
        merge_one(f->s, 1, IP(198, 18, 0, 3), 23, &ops[shuffled[i]]);
    /* Some operands flushed and compacted before the others arrive. */
    for (int i = 0; i < 2; i++)
        merge_one(f->s, 1, IP(198, 18, 0, 4), 23, &ops[i]);
    assert_int_equal(vt_store_compact(f->s, err, sizeof err), 0);
    for (int i = 2; i < n; i++)
        merge_one(f->s, 1, IP(198, 18, 0, 4), 23, &ops[i]);

    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 4);
    for (size_t i = 1; i < rows.n; i++) {
        assert_int_equal(rows.len[i], rows.len[0]);
        assert_memory_equal(rows.packed[i], rows.packed[0], rows.len[0]);
    }
    Vantage__Observation *r = record(f->s, 1, IP(198, 18, 0, 3), 23);
    assert_int_equal(r->first_seen_ms, 500);
    assert_int_equal(r->last_seen_ms, 2000);
    assert_true(r->open);
    assert_int_equal(r->ttl, 51);
    assert_int_equal(r->n_sites, 3);
    vt_obs_free(r);
}

static void test_obs_merge_function(void **state)
{
    const char *ab[] = {"fra", "ams"};
    Vantage__Observation a = sighting(A, 100, 1, 64, NULL);
    Vantage__Observation b = sighting(ab, 200, 0, 60, "iot");
    b.n_sites = 2;
    Vantage__Observation *m;

    assert_int_equal(vt_obs_merge(&a, &b, &m), 0);
    assert_int_equal(m->first_seen_ms, 100);
    assert_int_equal(m->last_seen_ms, 200);
    assert_true(m->open);
    assert_int_equal(m->ttl, 60);
    assert_int_equal(m->n_campaigns, 1);
    assert_string_equal(m->campaigns[0], "iot");
    assert_int_equal(m->n_sites, 2);
    assert_string_equal(m->sites[0], "ams");
    assert_string_equal(m->sites[1], "fra");

    /* Idempotent (m with itself is m) and commutative (b, a is a, b). */
    Vantage__Observation *again, *swapped;
    uint8_t p1[256], p2[256], p3[256];
    assert_int_equal(vt_obs_merge(m, m, &again), 0);
    assert_int_equal(vt_obs_merge(&b, &a, &swapped), 0);
    size_t n1 = vantage__observation__pack(m, p1);
    assert_int_equal(vantage__observation__pack(again, p2), n1);
    assert_int_equal(vantage__observation__pack(swapped, p3), n1);
    assert_memory_equal(p1, p2, n1);
    assert_memory_equal(p1, p3, n1);
    vt_obs_free(again);
    vt_obs_free(swapped);
    vt_obs_free(m);
}

struct kv {
    size_t n;
    char keys[8][32];
    char vals[8][32];
};

static int collect_meta(void *arg, const char *key, const void *val, size_t len)
{
    struct kv *kv = arg;
    assert_true(kv->n < 8 && len < 32);
    snprintf(kv->keys[kv->n], sizeof kv->keys[0], "%s", key);
    memcpy(kv->vals[kv->n], val, len);
    kv->vals[kv->n][len] = '\0';
    kv->n++;
    return 0;
}

static void test_meta(void **state)
{
    struct fixture *f = *state;
    void *v = NULL;
    size_t len = 99;
    struct kv kv = {0};

    assert_int_equal(vt_meta_get(f->s, "worker/w1", &v, &len), 0);
    assert_null(v);
    assert_int_equal(vt_meta_put(f->s, "worker/w2", "fra", 3, false), 0);
    assert_int_equal(vt_meta_put(f->s, "worker/w1", "ams", 3, true), 0);
    assert_int_equal(vt_meta_put(f->s, "workers", "no", 2, false), 0);
    assert_int_equal(vt_meta_put(f->s, "lease/1", "x", 1, false), 0);
    assert_int_equal(vt_meta_put(f->s, "worker/empty", "", 0, false), 0);

    assert_int_equal(vt_meta_get(f->s, "worker/w1", &v, &len), 1);
    assert_int_equal(len, 3);
    assert_string_equal(v, "ams"); /* NUL-terminated for convenience */
    free(v);
    assert_int_equal(vt_meta_get(f->s, "worker/empty", &v, &len), 1);
    assert_int_equal(len, 0);
    free(v);

    assert_int_equal(vt_meta_scan(f->s, "worker/", collect_meta, &kv), 0);
    assert_int_equal(kv.n, 3);
    assert_string_equal(kv.keys[0], "worker/empty");
    assert_string_equal(kv.keys[1], "worker/w1");
    assert_string_equal(kv.vals[1], "ams");
    assert_string_equal(kv.keys[2], "worker/w2");

    assert_int_equal(vt_meta_delete(f->s, "worker/w1", false), 0);
    assert_int_equal(vt_meta_get(f->s, "worker/w1", &v, &len), 0);
    memset(&kv, 0, sizeof kv);
    assert_int_equal(vt_meta_scan(f->s, "worker/", collect_meta, &kv), 0);
    assert_int_equal(kv.n, 2);
    memset(&kv, 0, sizeof kv);
    assert_int_equal(vt_meta_scan(f->s, "", collect_meta, &kv), 0);
    assert_int_equal(kv.n, 4);
    assert_string_equal(kv.keys[0], "lease/1");
}

static void test_batch_atomic(void **state)
{
    struct fixture *f = *state;
    struct vt_batch *b = vt_batch_new();
    Vantage__Observation o = sighting(A, 1000, 1, 64, "iot");
    struct rows rows;
    void *v;
    size_t len;

    vt_batch_meta_put(b, "seq/w1", "old", 3);
    write_ok(f->s, b, false);
    vt_batch_clear(b);
    assert_int_equal(vt_batch_count(b), 0);

    for (uint32_t i = 0; i < 10; i++)
        assert_int_equal(vt_batch_obs_merge(b, 2, IP(198, 18, 1, i), 80, &o), 0);
    vt_batch_meta_put(b, "seq/w1", "42", 2);
    vt_batch_meta_put(b, "lease/9", "x", 1);
    vt_batch_meta_delete(b, "lease/9");
    assert_int_equal(vt_batch_count(b), 13);
    write_ok(f->s, b, true);
    assert_int_equal(vt_store_sync(f->s), 0);

    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 10);
    assert_int_equal(vt_meta_get(f->s, "seq/w1", &v, &len), 1);
    assert_string_equal(v, "42");
    free(v);
    assert_int_equal(vt_meta_get(f->s, "lease/9", &v, &len), 0);
    vt_batch_free(b);
}

static void test_scan_order_and_paging(void **state)
{
    struct fixture *f = *state;
    Vantage__Observation o = sighting(A, 1000, 1, 64, "iot");
    struct vt_batch *b = vt_batch_new();
    /* Written out of order, across windows (prefixes) and ports. */
    const uint32_t w[] = {5, 1, 3, 1, 1, 300, 3};
    const uint32_t ip[] = {IP(1, 0, 0, 0), IP(9, 9, 9, 9), IP(1, 2, 3, 4), IP(9, 9, 9, 9),
                           IP(1, 2, 3, 4), IP(0, 0, 0, 1), IP(1, 2, 3, 4)};
    const uint16_t port[] = {23, 80, 23, 23, 8080, 23, 80};
    const int n = 7;
    for (int i = 0; i < n; i++)
        assert_int_equal(vt_batch_obs_merge(b, w[i], ip[i], port[i], &o), 0);
    write_ok(f->s, b, false);
    vt_batch_free(b);

    struct rows all;
    scan_all(f->s, &all);
    assert_int_equal(all.n, n);
    for (size_t i = 1; i < all.n; i++) {
        uint8_t k0[VT_OBS_KEY_LEN], k1[VT_OBS_KEY_LEN];
        vt_obs_key(k0, all.window[i - 1], all.ip[i - 1], all.port[i - 1]);
        vt_obs_key(k1, all.window[i], all.ip[i], all.port[i]);
        assert_true(memcmp(k0, k1, VT_OBS_KEY_LEN) < 0);
    }
    assert_int_equal(all.window[0], 1);
    assert_int_equal(all.window[n - 1], 300);

    /* Pages of 3: 3 + 3 + 1, each starting where the last one ended. */
    struct rows page = {0};
    uint8_t next[VT_OBS_KEY_LEN];
    size_t seen = 0;
    const uint8_t *start = NULL;
    for (int p = 0; p < 3; p++) {
        memset(&page, 0, sizeof page);
        int rc = vt_obs_scan(f->s, start, 3, collect, &page, next);
        assert_int_equal(rc, p < 2 ? 1 : 0);
        assert_int_equal(page.n, p < 2 ? 3 : 1);
        for (size_t i = 0; i < page.n; i++, seen++) {
            assert_int_equal(page.window[i], all.window[seen]);
            assert_int_equal(page.ip[i], all.ip[seen]);
            assert_int_equal(page.port[i], all.port[seen]);
        }
        start = next;
    }
    assert_int_equal(seen, n);

    /* The callback stops the scan: next is the row after the last one given. */
    memset(&page, 0, sizeof page);
    page.stop_after = 2;
    assert_int_equal(vt_obs_scan(f->s, NULL, 0, collect, &page, next), 1);
    assert_int_equal(page.n, 2);
    uint32_t nw, nip;
    uint16_t np;
    vt_obs_key_parse(next, &nw, &nip, &np);
    assert_int_equal(nw, all.window[2]);
    assert_int_equal(nip, all.ip[2]);
    assert_int_equal(np, all.port[2]);
}

static void test_drop_windows(void **state)
{
    struct fixture *f = *state;
    Vantage__Observation o = sighting(A, 1000, 1, 64, "iot");
    const uint32_t windows[] = {0, 1, 9, 10, 11, UINT32_MAX};
    struct rows rows;

    /* Window 0 holds records in the memtable the range tombstone goes to:
     * the tombstone must not take the merges' insert hint (store.c,
     * vt_store_drop_windows; RocksDB asserts or breaks its skip lists). */
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        merge_one(f->s, windows[i], IP(198, 18, 0, 1), 23, &o);
        merge_one(f->s, windows[i], UINT32_MAX, UINT16_MAX, &o);
    }
    assert_int_equal(vt_meta_put(f->s, "campaign/iot", "x", 1, false), 0);
    assert_int_equal(vt_store_drop_windows(f->s, 0, err, sizeof err), 0);
    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 12);

    assert_int_equal(vt_store_drop_windows(f->s, 10, err, sizeof err), 0);
    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 6);
    assert_int_equal(rows.window[0], 10);
    assert_int_equal(rows.window[2], 11);
    assert_int_equal(rows.window[4], UINT32_MAX);

    /* Merges into a dropped window start a fresh record; meta is untouched. */
    merge_one(f->s, 9, IP(198, 18, 0, 1), 23, &o);
    assert_int_equal(vt_store_compact(f->s, err, sizeof err), 0);
    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 7);
    assert_int_equal(rows.window[0], 9);
    void *v;
    size_t len;
    assert_int_equal(vt_meta_get(f->s, "campaign/iot", &v, &len), 1);
    free(v);
}

static void test_corrupt_operand(void **state)
{
    struct fixture *f = *state;
    Vantage__Observation o = sighting(A, 1000, 1, 64, "iot");
    Vantage__Observation later = sighting(B, 2000, 1, 60, "iot");
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x42, 0x00, 0x99};
    struct vt_batch *b = vt_batch_new();
    uint32_t ip = IP(198, 18, 7, 7);
    struct rows rows;

    merge_one(f->s, 4, ip, 23, &o);
    assert_int_equal(vt_batch_obs_merge_packed(b, 4, ip, 23, garbage, sizeof garbage), 0);
    assert_int_equal(vt_batch_obs_merge_packed(b, 4, ip, 23, "", 0), 0);
    /* Garbage alone, at another key: merges to nothing, which a scan skips. */
    assert_int_equal(vt_batch_obs_merge_packed(b, 4, ip + 1, 23, garbage, sizeof garbage), 0);
    write_ok(f->s, b, false);
    vt_batch_free(b);
    merge_one(f->s, 4, ip, 23, &later);

    /* Read path (full merge of memtable operands) ... */
    Vantage__Observation *r = record(f->s, 4, ip, 23);
    assert_int_equal(r->first_seen_ms, 1000);
    assert_int_equal(r->last_seen_ms, 2000);
    assert_int_equal(r->n_sites, 2);
    vt_obs_free(r);
    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 1);

    /* ... flush, compaction, and a restart: the store still takes writes. */
    assert_int_equal(vt_store_compact(f->s, err, sizeof err), 0);
    vt_store_close(f->s);
    f->s = open_ok(f->dir);
    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 1);
    r = record(f->s, 4, ip, 23);
    assert_int_equal(r->first_seen_ms, 1000);
    assert_int_equal(r->n_sites, 2);
    vt_obs_free(r);
    merge_one(f->s, 4, ip + 1, 23, &o);
    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 2);
}

/* ---- v2 merge: open wins, ranges, sets, the answers sketch ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char *site_names[] = {"ams", "fra", "lis", "par", "waw"};
static const char *campaign_names[] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6"};

/* A random operand as ingest writes them (one site, one campaign, a TTL, a
 * sketch bit, sometimes a banner), or a merged-looking one with several. */
struct op {
    Vantage__Observation o;
    char *sites[3], *campaigns[3];
    uint8_t banner[16];
};

static void random_op(struct op *op)
{
    memset(op, 0, sizeof *op);
    Vantage__Observation *o = &op->o;
    vantage__observation__init(o);
    o->first_seen_ms = o->last_seen_ms = 1000 + rnd() % 50; /* ties on purpose */
    if (rnd() % 4 == 0)
        o->first_seen_ms -= rnd() % 20;
    o->open = rnd() % 2;
    if (rnd() % 5) {
        o->has_ttl = true;
        o->ttl = 40 + (uint32_t)(rnd() % 30);
    }
    size_t ns = 1 + rnd() % 2, nc = 1 + rnd() % 2;
    for (size_t i = 0; i < ns; i++)
        op->sites[i] = (char *)site_names[rnd() % 5];
    for (size_t i = 0; i < nc; i++)
        op->campaigns[i] = (char *)campaign_names[rnd() % 7];
    o->sites = op->sites;
    o->n_sites = ns;
    o->campaigns = op->campaigns;
    o->n_campaigns = nc;
    o->has_answers = true;
    o->answers = vt_obs_answer_bit(op->sites[0], o->last_seen_ms);
    if (rnd() % 3 == 0) {
        memset(op->banner, (int)(rnd() % 4), sizeof op->banner);
        o->has_banner_id = true;
        o->banner_id.data = op->banner;
        o->banner_id.len = sizeof op->banner;
    }
    if (rnd() % 7 == 0)
        o->has_truncated = o->truncated = true;
}

static size_t pack_to(const Vantage__Observation *o, uint8_t *buf, size_t cap)
{
    size_t n = vantage__observation__get_packed_size(o);
    assert_true(n <= cap);
    return vantage__observation__pack(o, buf);
}

/* Merges ops[order[0..n)] left to right, or in a random tree, into *out. */
static Vantage__Observation *merge_seq(struct op *ops, const size_t *order, size_t n, bool tree)
{
    Vantage__Observation *acc[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vt_obs_merge(&ops[order[i]].o, &ops[order[i]].o, &acc[i]), 0);
    size_t m = n;
    while (m > 1) {
        size_t i = tree ? rnd() % (m - 1) : 0; /* merge acc[i] and acc[i+1] */
        Vantage__Observation *r;
        assert_int_equal(vt_obs_merge(acc[i], acc[i + 1], &r), 0);
        vt_obs_free(acc[i]);
        vt_obs_free(acc[i + 1]);
        acc[i] = r;
        memmove(&acc[i + 1], &acc[i + 2], (m - i - 2) * sizeof *acc);
        m--;
    }
    return acc[0];
}

static void test_merge_random_groupings(void **state)
{
    (void)state;
    for (int round = 0; round < 300; round++) {
        struct op ops[12];
        size_t n = 2 + rnd() % 11, order[12];
        for (size_t i = 0; i < n; i++) {
            random_op(&ops[i]);
            order[i] = i;
        }
        Vantage__Observation *first = merge_seq(ops, order, n, false);
        uint8_t want[1024], got[1024];
        size_t wn = pack_to(first, want, sizeof want);
        bool any_open = false;
        uint64_t min_first = UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            any_open |= ops[i].o.open;
            if (ops[i].o.first_seen_ms < min_first)
                min_first = ops[i].o.first_seen_ms;
        }
        assert_int_equal(first->open, any_open); /* open wins in the window */
        assert_int_equal(first->first_seen_ms, min_first);
        for (size_t i = 1; i < first->n_campaigns; i++)
            assert_true(strcmp(first->campaigns[i - 1], first->campaigns[i]) < 0);
        vt_obs_free(first);
        for (int t = 0; t < 6; t++) { /* shuffled (commutative), regrouped (associative) */
            for (size_t i = n - 1; i > 0; i--) {
                size_t j = rnd() % (i + 1), x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
            Vantage__Observation *r = merge_seq(ops, order, n, t % 2 == 1);
            size_t gn = pack_to(r, got, sizeof got);
            assert_int_equal(gn, wn);
            assert_memory_equal(got, want, wn);
            /* idempotent: the merge with itself is itself */
            Vantage__Observation *again;
            assert_int_equal(vt_obs_merge(r, r, &again), 0);
            assert_int_equal(pack_to(again, got, sizeof got), wn);
            assert_memory_equal(got, want, wn);
            vt_obs_free(again);
            vt_obs_free(r);
        }
    }
}

/* vt_store_write hands RocksDB a batch's merges in key order, not in the
 * order they were added: the records must not show it. 1200 operands over
 * 30 keys, shuffled, in one batch with meta puts among them, make the same
 * records (byte for byte) as the same operands written one per batch in
 * the order they were made. */
static void test_batch_order_changes_nothing(void **state)
{
    struct fixture *f = *state;
    enum { KEYS = 30, OPS = 1200 };
    static struct op ops[OPS];
    static size_t order[OPS];
    struct vt_batch *b = vt_batch_new();
    static struct rows rows;
    void *v;
    size_t len;

    for (size_t i = 0; i < OPS; i++) {
        random_op(&ops[i]);
        order[i] = i;
    }
    for (size_t i = OPS - 1; i > 0; i--) {
        size_t j = rnd() % (i + 1), x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    for (size_t i = 0; i < OPS; i++) {
        size_t k = order[i];
        assert_int_equal(vt_batch_obs_merge(b, 7, IP(198, 18, 2, k % KEYS), 23, &ops[k].o), 0);
        if (i == OPS / 2)
            vt_batch_meta_put(b, "seq/w1", "7", 1);
    }
    vt_batch_meta_put(b, "seq/w1", "8", 1); /* the later put of a key wins, as added */
    write_ok(f->s, b, false);
    vt_batch_free(b);
    for (size_t k = 0; k < OPS; k++)
        merge_one(f->s, 8, IP(198, 18, 2, k % KEYS), 23, &ops[k].o);

    scan_all(f->s, &rows);
    assert_int_equal(rows.n, 2 * KEYS);
    for (size_t i = 0; i < KEYS; i++) {
        assert_int_equal(rows.window[i], 7);
        assert_int_equal(rows.window[KEYS + i], 8);
        assert_int_equal(rows.ip[i], rows.ip[KEYS + i]);
        assert_int_equal(rows.len[i], rows.len[KEYS + i]);
        assert_memory_equal(rows.packed[i], rows.packed[KEYS + i], rows.len[i]);
    }
    assert_int_equal(vt_meta_get(f->s, "seq/w1", &v, &len), 1);
    assert_int_equal(len, 1);
    assert_memory_equal(v, "8", 1);
    free(v);
}

/* Random values of every width a varint takes, the edges included. */
static uint64_t rnd_varint(void)
{
    static const uint64_t edge[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX};
    if (rnd() % 4 == 0)
        return edge[rnd() % 8];
    return rnd() >> (rnd() % 64);
}

/* vt_batch_obs_merge packs operands by hand (vt_obs_pack): they must be
 * the bytes protobuf-c packs, or old records and the merge operator would
 * meet another encoding. Random observations with every field, set or not. */
static void test_obs_pack_matches_protobuf_c(void **state)
{
    (void)state;
    static char *strs[] = {"", "isp-0", "a-site-name-longer-than-most-0123456789", "iot", NULL};
    char long_str[300];
    memset(long_str, 'x', sizeof long_str - 1);
    long_str[sizeof long_str - 1] = '\0';
    strs[4] = long_str; /* a length of two varint bytes */
    static char *typical_site[] = {"isp-0"}, *typical_campaign[] = {"iot"};
    for (int round = 0; round < 20000; round++) {
        Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
        char *sites[4], *campaigns[4];
        uint8_t banner[200];
        o.first_seen_ms = rnd_varint();
        o.last_seen_ms = rnd_varint();
        o.open = rnd() % 2;
        o.has_ttl = rnd() % 2;
        o.ttl = (uint32_t)rnd_varint();
        o.n_sites = rnd() % 5;
        for (size_t i = 0; i < o.n_sites; i++)
            sites[i] = strs[rnd() % 5]; /* not NULL: protobuf-c's sizing would crash */
        o.sites = sites;
        o.campaign = rnd() % 3 ? NULL : strs[rnd() % 5];
        o.has_banner_id = rnd() % 2;
        o.banner_id.len = rnd() % 3 ? VT_BANNER_ID_LEN : rnd() % sizeof banner;
        for (size_t i = 0; i < o.banner_id.len; i++)
            banner[i] = (uint8_t)rnd();
        o.banner_id.data = o.banner_id.len ? banner : NULL;
        o.has_truncated = rnd() % 2;
        o.truncated = rnd() % 2;
        o.n_campaigns = rnd() % 5;
        for (size_t i = 0; i < o.n_campaigns; i++)
            campaigns[i] = strs[rnd() % 5];
        o.campaigns = campaigns;
        o.has_ttl_min = rnd() % 2;
        o.ttl_min = (uint32_t)rnd_varint();
        o.has_ttl_max = rnd() % 2;
        o.ttl_max = (uint32_t)rnd_varint();
        o.has_answers = rnd() % 2;
        o.answers = rnd_varint();
        o.has_banner_seen_ms = rnd() % 2;
        o.banner_seen_ms = rnd_varint();
        if (round == 0) /* what ingest writes for a typical result: 39 bytes */
            o = (Vantage__Observation){.base = o.base,
                                       .first_seen_ms = 1750000000000ull,
                                       .last_seen_ms = 1750000000000ull,
                                       .open = true,
                                       .has_ttl = true,
                                       .ttl = 52,
                                       .n_sites = 1,
                                       .sites = typical_site,
                                       .n_campaigns = 1,
                                       .campaigns = typical_campaign,
                                       .has_answers = true,
                                       .answers = 1ull << 63};

        size_t want_n = vantage__observation__get_packed_size(&o);
        uint8_t want[4096], got[4096];
        assert_true(want_n <= sizeof want);
        assert_int_equal(vantage__observation__pack(&o, want), want_n);
        assert_int_equal(vt_obs_packed_size(&o), want_n);
        memset(got, 0xa5, sizeof got);
        assert_int_equal(vt_obs_pack(&o, got), want_n);
        assert_memory_equal(got, want, want_n);
        assert_int_equal(got[want_n], 0xa5); /* nothing written past it */
        if (round == 0)
            assert_int_equal(want_n, 39);
    }
}

static void test_open_wins_in_window(void **state)
{
    struct fixture *f = *state;
    uint32_t ip = IP(198, 18, 1, 1);
    /* Open first, then RSTs for the rest of the window (the device went down). */
    Vantage__Observation open = sighting(A, 1000, 1, 64, "iot");
    merge_one(f->s, 7, ip, 23, &open);
    for (uint64_t t = 2000; t < 6000; t += 1000) {
        Vantage__Observation rst = sighting(B, t, 0, 60, "iot");
        merge_one(f->s, 7, ip, 23, &rst);
    }
    Vantage__Observation *r = record(f->s, 7, ip, 23);
    assert_true(r->open);
    assert_int_equal(r->last_seen_ms, 5000);
    vt_obs_free(r);
    /* Closed all the window: closed. */
    Vantage__Observation rst = sighting(B, 1000, 0, 60, "iot");
    merge_one(f->s, 7, ip + 1, 23, &rst);
    r = record(f->s, 7, ip + 1, 23);
    assert_false(r->open);
    vt_obs_free(r);
}

static void test_campaigns_bounded(void **state)
{
    (void)state;
    char names[40][16];
    Vantage__Observation *acc = NULL;
    for (int i = 39; i >= 0; i--) { /* in reverse: the bound keeps the first 32 by name */
        snprintf(names[i], sizeof names[i], "k%02d", i);
        Vantage__Observation o = sighting(A, 1000, 1, 64, names[i]);
        Vantage__Observation *m;
        assert_int_equal(vt_obs_merge(acc ? acc : &o, &o, &m), 0);
        vt_obs_free(acc);
        acc = m;
    }
    assert_int_equal(acc->n_campaigns, VT_OBS_MAX_CAMPAIGNS);
    assert_string_equal(acc->campaigns[0], "k00");
    assert_string_equal(acc->campaigns[VT_OBS_MAX_CAMPAIGNS - 1], "k31");
    vt_obs_free(acc);
}

static void test_answers_sketch(void **state)
{
    (void)state;
    /* Distinct (site, time) answers; repeats of one (redelivery) add nothing. */
    for (unsigned want = 1; want <= 12; want++) {
        uint64_t sketch = 0;
        for (unsigned i = 0; i < want; i++)
            for (int again = 0; again < 3; again++)
                sketch |= vt_obs_answer_bit(site_names[i % 5], 1000 + 250 * i);
        unsigned got = vt_obs_answers(sketch);
        assert_true(got + 2 >= want && got <= want + 2);
    }
    assert_int_equal(vt_obs_answers(0), 0);
    assert_int_equal(vt_obs_answers(UINT64_MAX), 266);
}

static void test_key_order_random(void **state)
{
    (void)state;
    for (int i = 0; i < 10000; i++) {
        uint32_t w1 = (uint32_t)rnd() % 4, w2 = (uint32_t)rnd() % 4;
        uint32_t a1 = (uint32_t)rnd() % 8 << 29 | (uint32_t)rnd() % 3,
                 a2 = (uint32_t)rnd() % 8 << 29 | (uint32_t)rnd() % 3;
        uint16_t p1 = (uint16_t)(rnd() % 3 << 14), p2 = (uint16_t)(rnd() % 3 << 14);
        uint8_t k1[VT_OBS_KEY_LEN], k2[VT_OBS_KEY_LEN];
        vt_obs_key(k1, w1, a1, p1);
        vt_obs_key(k2, w2, a2, p2);
        int tuple = w1 != w2   ? (w1 < w2 ? -1 : 1)
                    : a1 != a2 ? (a1 < a2 ? -1 : 1)
                    : p1 != p2 ? (p1 < p2 ? -1 : 1)
                               : 0;
        int bytes = memcmp(k1, k2, VT_OBS_KEY_LEN);
        assert_int_equal(tuple, bytes < 0 ? -1 : bytes > 0);
    }
}

/* The reader: bounded by windows, seeking by key. */
static void test_iter_windows_and_seek(void **state)
{
    struct fixture *f = *state;
    Vantage__Observation o = sighting(A, 1000, 1, 64, "iot");
    for (uint32_t w = 1; w <= 3; w++)
        for (uint32_t i = 0; i < 5; i++)
            merge_one(f->s, w, IP(198, 18, i, 1), 23, &o);
    merge_one(f->s, UINT32_MAX, IP(198, 18, 0, 1), 23, &o);

    struct vt_obs_iter *it = vt_obs_iter_new(f->s, 2, 2, false);
    assert_non_null(it);
    uint32_t w, ip;
    uint16_t port;
    size_t n = 0;
    struct vt_obs_row row;
    while (vt_obs_iter_key(it, &w, &ip, &port) == 1) {
        assert_int_equal(w, 2);
        assert_int_equal(vt_obs_iter_row(it, &row), 1);
        assert_int_equal(row.ip, IP(198, 18, n, 1));
        vt_obs_iter_next(it);
        n++;
    }
    assert_int_equal(n, 5);
    /* A seek inside the window lands on the first key at or after it. */
    vt_obs_iter_seek(it, 2, IP(198, 18, 2, 0), 0);
    assert_int_equal(vt_obs_iter_key(it, &w, &ip, &port), 1);
    assert_int_equal(ip, IP(198, 18, 2, 1));
    vt_obs_iter_seek(it, 3, 0, 0); /* past the last window: the end */
    assert_int_equal(vt_obs_iter_key(it, &w, &ip, &port), 0);
    vt_obs_iter_free(it);

    /* Unbounded above: the last window too. */
    it = vt_obs_iter_new(f->s, 3, UINT32_MAX, true);
    n = 0;
    while (vt_obs_iter_key(it, &w, &ip, &port) == 1) {
        n++;
        vt_obs_iter_next(it);
    }
    assert_int_equal(n, 6);
    vt_obs_iter_free(it);
}

static void test_iter_corrupt_value(void **state)
{
    struct fixture *f = *state;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x42, 0x00, 0x99};
    Vantage__Observation o = sighting(A, 1000, 1, 64, "iot");
    merge_one(f->s, 1, IP(198, 18, 0, 1), 23, &o);
    struct vt_batch *b = vt_batch_new();
    assert_int_equal(vt_batch_obs_merge_packed(b, 1, IP(198, 18, 0, 2), 23, garbage, 8), 0);
    write_ok(f->s, b, false);
    vt_batch_free(b);
    merge_one(f->s, 1, IP(198, 18, 0, 3), 23, &o);
    assert_int_equal(vt_store_compact(f->s, err, sizeof err), 0);
    struct vt_obs_iter *it = vt_obs_iter_new(f->s, 0, UINT32_MAX, false);
    uint32_t w, ip;
    uint16_t port;
    size_t good = 0;
    struct vt_obs_row row;
    while (vt_obs_iter_key(it, &w, &ip, &port) == 1) {
        good += vt_obs_iter_row(it, &row) == 1;
        vt_obs_iter_next(it);
    }
    assert_int_equal(good, 2); /* the garbage key is skipped, the others read */
    vt_obs_iter_free(it);
}

static int count_dev(void *arg, uint32_t window, uint32_t ip)
{
    uint32_t *got = arg;
    got[got[0] * 2 + 1] = window;
    got[got[0] * 2 + 2] = ip;
    got[0]++;
    return 0;
}

static void test_device_family(void **state)
{
    struct fixture *f = *state;
    uint8_t id[VT_DEVICE_ID_LEN], other[VT_DEVICE_ID_LEN];
    vt_device_id("hw.serial", "CN41234", id);
    vt_device_id("hw.serial", "CN41235", other);
    assert_memory_not_equal(id, other, sizeof id);
    struct vt_batch *b = vt_batch_new();
    for (uint32_t w = 1; w <= 4; w++) {
        assert_int_equal(vt_batch_device_put(b, id, w, IP(198, 18, 0, w)), 0);
        assert_int_equal(vt_batch_device_put(b, other, w, IP(198, 18, 1, 1)), 0);
    }
    assert_int_equal(vt_batch_device_put(b, id, 2, IP(198, 18, 0, 2)), 0); /* again: one */
    write_ok(f->s, b, true);
    vt_batch_free(b);
    uint32_t got[32] = {0};
    assert_int_equal(vt_device_scan(f->s, id, 2, 3, count_dev, got), 0);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 2);
    assert_int_equal(got[2], IP(198, 18, 0, 2));
    assert_int_equal(got[3], 3);
    size_t dropped;
    assert_int_equal(vt_device_drop_windows(f->s, 3, &dropped), 0);
    assert_int_equal(dropped, 4); /* windows 1 and 2 of both */
    memset(got, 0, sizeof got);
    assert_int_equal(vt_device_scan(f->s, id, 0, UINT32_MAX, count_dev, got), 0);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 3);
}

static void test_open_error(void **state)
{
    /* A path whose parent is a file: one line that names the directory. */
    assert_null(vt_store_open("/dev/null/store", err, sizeof err));
    assert_non_null(strstr(err, "cannot open store /dev/null/store: "));
    assert_null(strchr(err, '\n'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_layout),
        cmocka_unit_test(test_obs_merge_function),
        cmocka_unit_test(test_open_error),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_sightings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redelivery_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_independence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_order_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_operand, setup, teardown),
        cmocka_unit_test(test_merge_random_groupings),
        cmocka_unit_test(test_obs_pack_matches_protobuf_c),
        cmocka_unit_test_setup_teardown(test_batch_order_changes_nothing, setup, teardown),
        cmocka_unit_test(test_campaigns_bounded),
        cmocka_unit_test(test_answers_sketch),
        cmocka_unit_test(test_key_order_random),
        cmocka_unit_test_setup_teardown(test_open_wins_in_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_windows_and_seek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_corrupt_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_family, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
