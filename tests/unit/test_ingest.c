/* test_ingest.c: unit tests for coordinator/ingest.c, result batches into the
 * store, in-process (a hand-built `struct vt_coord` around a temporary store,
 * no sockets: the Acks vt_ingest_commit sends go nowhere).
 *
 * What an operator would notice: what a worker reports is stored once per
 * (window, address, port) with every site that saw it; a batch sent twice
 * counts once; a batch that breaks a check (an address or port outside the
 * campaign, a time stamp that is not now, a lease that is not the sender's) is
 * refused whole, so nothing of it reaches the store or the campaign's counts. */
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

#include "coord_fixture.h"

#define IP(a, b, c, d)                                                                             \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* A campaign over 1.0.0.0/16 × {23, 80} with two vantages, and worker a
 * (site-a) holding a lease of it. */
struct world {
    struct vt_campaign *k;
    struct vt_worker *a;
    struct vt_lease *la;
};

static struct world world(struct vt_coord *c)
{
    struct world x;
    x.k = vt_campaign_start(c, "iot", "1.0.0.0/16", "23,80", 1000, 2, 1, 0, false, err, sizeof err);
    if (!x.k)
        fail_msg("%s", err);
    x.a = connect_worker(c, "a", "site-a", ANYTHING);
    vt_lease_offer(c, x.a);
    assert_int_not_equal(x.a->lease_id, 0);
    x.la = vt_lease_by_id(c, x.a->lease_id);
    assert_non_null(x.la);
    return x;
}

/* The store's obs records, as comparable text: "window ip:port open|closed site,site". */
struct rows {
    size_t n;
    char row[32][160];
};

static int collect(void *arg, const struct vt_obs_row *row)
{
    struct rows *r = arg;
    assert_true(r->n < 32);
    char ip[16], sites[100] = "";
    for (size_t i = 0; i < row->obs->n_sites; i++)
        snprintf(sites + strlen(sites), sizeof sites - strlen(sites), "%s%s", i ? "," : "",
                 row->obs->sites[i]);
    snprintf(r->row[r->n++], sizeof r->row[0], "%u %s:%u %s %s", row->window,
             vt_ip_str(row->ip, ip), row->port, row->obs->open ? "open" : "closed", sites);
    return 0;
}

static void scan(struct vt_coord *c, struct rows *r)
{
    memset(r, 0, sizeof *r);
    if (vt_obs_scan(c->store, NULL, 0, collect, r, NULL) < 0)
        fail_msg("%s", vt_store_errmsg(c->store));
}

static void assert_same_rows(const struct rows *a, const struct rows *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->row[i], b->row[i]);
}

static uint64_t stored_seq(struct vt_coord *c, const char *worker)
{
    char key[128];
    snprintf(key, sizeof key, "seq/%s", worker);
    void *v;
    size_t len;
    uint64_t seq = 0;
    int rc = vt_meta_get(c->store, key, &v, &len);
    assert_true(rc >= 0);
    if (rc == 1) {
        assert_int_equal(len, sizeof seq);
        memcpy(&seq, v, sizeof seq);
        free(v);
    }
    return seq;
}

/* Batch seq of worker `name` is kept in quarantine. */
static bool quarantined(struct vt_coord *c, const char *name, uint64_t seq)
{
    char key[128];
    void *v;
    size_t n;
    snprintf(key, sizeof key, "quarantine/%s/%016llx", name, (unsigned long long)seq);
    int rc = vt_meta_get(c->store, key, &v, &n);
    if (rc == 1)
        free(v);
    return rc == 1;
}

/* ---- the tests ---- */

/* A valid batch: one record per (window, ip, port) with the sender's site; acked. */
static void test_valid_batch_stored(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    /* Every result of a run goes into the window of the run's start. */
    uint32_t win = (uint32_t)((uint64_t)x.k->run_started_ms / 1000 / 3600);
    struct batch b;
    batch_init(&b, 1, x.la->id);
    batch_add(&b, IP(1, 0, 0, 5), 80, true, now);
    batch_add(&b, IP(1, 0, 0, 5), 23, false, now);
    batch_add(&b, IP(1, 0, 255, 255), 23, true, now - 1000);
    batch_add(&b, IP(1, 0, 0, 5), 80, true, now + 10); /* the same pair again: one record */
    ingest(f->c, x.a, &b);

    assert_int_equal(x.a->acked_seq, 1);
    assert_int_equal(stored_seq(f->c, "a"), 1);
    struct rows r;
    scan(f->c, &r);
    assert_int_equal(r.n, 3);
    char want[3][160];
    snprintf(want[0], sizeof want[0], "%u 1.0.0.5:23 closed site-a", win);
    snprintf(want[1], sizeof want[0], "%u 1.0.0.5:80 open site-a", win);
    snprintf(want[2], sizeof want[0], "%u 1.0.255.255:23 open site-a", win);
    for (int i = 0; i < 3; i++)
        assert_string_equal(r.row[i], want[i]);
    /* found counts the first slot of each shard (a's) */
    assert_int_equal(x.la->slot, 0);
    assert_int_equal(x.k->found_open, 3);
    assert_int_equal(x.k->found_closed, 1);
}

/* The same batch again (the Ack was lost): acked again, nothing changes. */
static void test_redelivery_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    struct batch b;
    batch_init(&b, 1, x.la->id);
    batch_add(&b, IP(1, 0, 0, 5), 80, true, now);
    batch_add(&b, IP(1, 0, 0, 6), 23, false, now);
    ingest(f->c, x.a, &b);
    struct rows before, after;
    for (int i = 0; i < 3; i++)
        ingest(f->c, x.a, &b);
    /* also an older one, after a newer was stored */
    struct batch b2;
    batch_init(&b2, 2, x.la->id);
    batch_add(&b2, IP(1, 0, 0, 7), 80, true, now);
    ingest(f->c, x.a, &b2);
    scan(f->c, &before);
    uint64_t open = x.k->found_open, closed = x.k->found_closed;
    ingest(f->c, x.a, &b);
    ingest(f->c, x.a, &b2);
    scan(f->c, &after);
    assert_same_rows(&before, &after);
    assert_int_equal(before.n, 3);
    assert_int_equal(x.k->found_open, open);
    assert_int_equal(x.k->found_closed, closed);
    assert_int_equal(x.a->acked_seq, 2);
    assert_int_equal(stored_seq(f->c, "a"), 2);
}

/* One bad result spoils the batch: nothing of it is stored and the counts do
 * not move, but the batch is not lost either: it is quarantined whole (kept
 * in meta with the reason, counted for `worker list`) and acknowledged, so
 * the worker's spool moves on; the next good batch is taken. */
static void test_bad_result_rejects_whole_batch(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    struct batch good;
    batch_init(&good, 1, x.la->id);
    batch_add(&good, IP(1, 0, 0, 1), 80, true, now);
    ingest(f->c, x.a, &good);
    struct rows before, after;
    scan(f->c, &before);
    uint64_t open = x.k->found_open, closed = x.k->found_closed;

    enum { OUTSIDE, PORT, FUTURE, ANCIENT, TTL, PORT0, PORT_HIGH, NBAD };
    for (int bad = 0; bad < NBAD; bad++) {
        struct batch b;
        uint64_t seq = 2 + (uint64_t)bad;
        batch_init(&b, seq, x.la->id);
        batch_add(&b, IP(1, 0, 0, 2), 80, true, now); /* fine */
        batch_add(&b, IP(1, 0, 0, 3), 23, false, now);
        Vantage__Result *r = batch_add(&b, IP(1, 0, 0, 4), 80, true, now);
        switch (bad) {
        case OUTSIDE:
            r->ip = IP(1, 1, 0, 4); /* next to 1.0.0.0/16 */
            break;
        case PORT:
            r->port = 443;
            break;
        case FUTURE:
            r->ts_ms = now + 2 * 86400000ull;
            break;
        case ANCIENT:
            r->ts_ms = 1000;
            break;
        case TTL:
            r->ttl = 300;
            break;
        case PORT0:
            r->port = 0;
            break;
        case PORT_HIGH:
            r->port = 65536 + 80; /* 80 once truncated to 16 bits */
            break;
        }
        batch_add(&b, IP(1, 0, 0, 9), 23, true, now); /* fine, after the bad one */
        ingest(f->c, x.a, &b);
        scan(f->c, &after);
        assert_same_rows(&before, &after);
        assert_int_equal(x.a->acked_seq, seq);
        assert_int_equal(stored_seq(f->c, "a"), seq);
        assert_int_equal(x.a->quarantined, (uint64_t)bad + 1);
        assert_true(quarantined(f->c, "a", seq));
        assert_int_equal(x.k->found_open, open);
        assert_int_equal(x.k->found_closed, closed);
    }

    struct batch next;
    batch_init(&next, 2 + NBAD, x.la->id);
    batch_add(&next, IP(1, 0, 0, 2), 80, true, now);
    ingest(f->c, x.a, &next);
    assert_int_equal(x.a->acked_seq, 2 + NBAD);
    assert_false(quarantined(f->c, "a", 2 + NBAD));
    scan(f->c, &after);
    assert_int_equal(after.n, before.n + 1);
}

/* Results for someone else's lease, or for a lease this coordinator does not
 * know (its record lost in a crash), are not stored, and not lost: each such
 * batch is parked in quarantine and acknowledged. */
static void test_foreign_or_unknown_lease(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    struct vt_worker *b = connect_worker(f->c, "b", "site-b", ANYTHING);
    struct vt_worker *idle = connect_worker(f->c, "idle", "site-c", ANYTHING);
    vt_lease_offer(f->c, b);
    assert_int_not_equal(b->lease_id, 0);
    uint64_t now = (uint64_t)vt_now_ms();

    struct batch bb;
    batch_init(&bb, 1, x.la->id); /* b names a's lease */
    batch_add(&bb, IP(1, 0, 0, 1), 80, true, now);
    ingest(f->c, b, &bb);
    batch_init(&bb, 2, 9999); /* nobody's */
    batch_add(&bb, IP(1, 0, 0, 1), 80, true, now);
    ingest(f->c, b, &bb);
    batch_init(&bb, 1, 9999);
    batch_add(&bb, IP(1, 0, 0, 1), 80, true, now);
    ingest(f->c, idle, &bb);
    batch_init(&bb, 2, 0); /* "no lease" */
    batch_add(&bb, IP(1, 0, 0, 1), 80, true, now);
    ingest(f->c, idle, &bb);

    struct rows r;
    scan(f->c, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(b->acked_seq, 2);
    assert_int_equal(idle->acked_seq, 2);
    assert_int_equal(b->quarantined, 2);
    assert_int_equal(idle->quarantined, 2);
    assert_true(quarantined(f->c, "b", 1) && quarantined(f->c, "b", 2));
    assert_true(quarantined(f->c, "idle", 1) && quarantined(f->c, "idle", 2));
    assert_int_equal(stored_seq(f->c, "b"), 2);
    assert_int_equal(stored_seq(f->c, "idle"), 2);
    assert_int_equal(x.k->found_open + x.k->found_closed, 0);
}

/* Two sites see the same pair in the same window: one record, both sites;
 * the campaign counts it once. */
static void test_two_sites_one_record(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    struct vt_worker *b = connect_worker(f->c, "b", "site-b", ANYTHING);
    vt_lease_offer(f->c, b);
    struct vt_lease *lb = vt_lease_by_id(f->c, b->lease_id);
    assert_non_null(lb);
    assert_int_equal(lb->shard, x.la->shard); /* the other slot of the same shard */
    assert_int_not_equal(lb->slot, x.la->slot);

    uint64_t now = (uint64_t)vt_now_ms();
    uint32_t win = (uint32_t)(now / 1000 / 3600);
    struct batch ba, bb;
    batch_init(&ba, 1, x.la->id);
    batch_add(&ba, IP(1, 0, 1, 1), 23, true, now);
    batch_init(&bb, 1, lb->id);
    batch_add(&bb, IP(1, 0, 1, 1), 23, true, now);
    ingest(f->c, b, &bb); /* b first: sites are sorted, whoever came first */
    ingest(f->c, x.a, &ba);
    assert_int_equal(x.a->acked_seq, 1);
    assert_int_equal(b->acked_seq, 1);

    struct rows r;
    scan(f->c, &r);
    assert_int_equal(r.n, 1);
    char want[160];
    snprintf(want, sizeof want, "%u 1.0.1.1:23 open site-a,site-b", win);
    assert_string_equal(r.row[0], want);
    assert_int_equal(x.k->found_open, 1);
    assert_int_equal(x.k->found_closed, 0);
}

/* A lease that lapsed: its holder's late results are still taken. */
static void test_late_results_of_lapsed_lease(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    x.la->deadline_ms = vt_mono_ms() - 1;
    vt_leases_tick(f->c, vt_mono_ms());
    assert_false(x.la->active);
    assert_int_equal(x.a->lease_id, 0);

    struct batch b;
    batch_init(&b, 1, x.la->id);
    batch_add(&b, IP(1, 0, 0, 1), 80, true, (uint64_t)vt_now_ms());
    ingest(f->c, x.a, &b);
    assert_int_equal(x.a->acked_seq, 1);
    struct rows r;
    scan(f->c, &r);
    assert_int_equal(r.n, 1);
}

/* A restarted coordinator knows each worker's seq: a redelivered batch stays
 * a no-op across the restart. */
static void test_seq_survives_restart(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    struct batch b;
    batch_init(&b, 5, x.la->id);
    batch_add(&b, IP(1, 0, 0, 1), 80, true, now);
    ingest(f->c, x.a, &b);
    uint64_t lease_id = x.la->id;
    struct rows before, after;
    scan(f->c, &before);

    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    struct vt_worker *a = vt_worker_by_name(f->c, "a");
    assert_non_null(a);
    assert_int_equal(a->acked_seq, 5);
    a->hello = true;
    batch_init(&b, 5, lease_id);
    batch_add(&b, IP(1, 0, 0, 2), 23, true, now); /* different content, same seq */
    ingest(f->c, a, &b);
    scan(f->c, &after);
    assert_same_rows(&before, &after);
}

/* The campaign's found counts survive a restart: they are stored with the
 * results (once found only in memory until the next state change). */
static void test_found_counts_survive_restart(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    struct batch b;
    batch_init(&b, 1, x.la->id);
    batch_add(&b, IP(1, 0, 0, 1), 80, true, now);
    batch_add(&b, IP(1, 0, 0, 2), 80, false, now);
    ingest(f->c, x.a, &b);
    assert_int_equal(x.k->found_open, 1);
    assert_int_equal(x.k->found_closed, 1);

    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    struct vt_campaign *k = vt_campaign_by_name(f->c, "iot");
    assert_non_null(k);
    assert_int_equal(k->found_open, 1);
    assert_int_equal(k->found_closed, 1);
}

/* A failed WAL sync: nothing it covered is acknowledged. The worker's
 * acknowledged seq goes back to the durable one and its session ends, so the
 * re-sent batch is written again and acknowledged only after a good sync;
 * a checkpoint that batch covers does not count meanwhile. */
static void test_sync_failure_never_acked(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    struct batch b;
    batch_init(&b, 1, x.la->id);
    batch_add(&b, IP(1, 0, 0, 1), 80, true, now);
    vt_ingest_batch(f->c, x.a, &b.b);
    Vantage__Progress p = VANTAGE__PROGRESS__INIT;
    p.lease_id = x.la->id;
    p.done = 10;
    p.has_batch_seq = true;
    p.batch_seq = 1;
    vt_lease_on_progress(f->c, x.a, &p);
    f->c->fail_next_sync = true;
    vt_ingest_commit(f->c);
    assert_int_equal(x.a->durable_seq, 0);
    assert_int_equal(x.a->acked_seq, 0);
    assert_false(x.a->hello); /* must say Hello again */
    struct vt_slot *sl = &x.k->shard[x.la->shard].slot[x.la->slot];
    assert_int_equal(sl->done, 0);

    /* re-Hello, re-send: written again, acked after a good sync */
    assert_int_equal(x.k->found_open, 0); /* what the failed sync covered is not counted */
    x.a = connect_worker_again(f->c, "a", ANYTHING);
    ingest(f->c, x.a, &b);
    assert_int_equal(x.a->durable_seq, 1);
    assert_int_equal(stored_seq(f->c, "a"), 1);
    assert_int_equal(sl->done, 10);
    assert_int_equal(x.k->found_open, 1); /* once, though written twice */
}

/* No more batches per group commit than the worker's credit, whatever it
 * sends: the one beyond is not written and the session ends. */
static void test_credit_enforced(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    x.a->credits = 3;
    for (uint64_t seq = 1; seq <= 4; seq++) {
        struct batch b;
        batch_init(&b, seq, x.la->id);
        batch_add(&b, IP(1, 0, 0, (uint32_t)seq), 80, true, now);
        vt_ingest_batch(f->c, x.a, &b.b);
    }
    assert_int_equal(f->c->batches_refused, 1);
    assert_false(x.a->hello);
    vt_ingest_commit(f->c);
    assert_int_equal(x.a->durable_seq, 3);
    assert_int_equal(x.a->acked_seq, 3);
    struct rows r;
    scan(f->c, &r);
    assert_int_equal(r.n, 3);
}

/* One partner cannot write records for another's networks: a result outside
 * the sender's declared scope quarantines the batch. */
static void test_scope_checked_at_ingest(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    /* the worker says Hello again with a smaller scope (its lease stays) */
    connect_worker_again(f->c, "a",
                         (struct policy){IP(1, 0, 0, 0), IP(1, 0, 127, 255), 1, 65535, 0});
    struct batch b;
    batch_init(&b, 1, x.la->id);
    batch_add(&b, IP(1, 0, 0, 1), 80, true, now);
    batch_add(&b, IP(1, 0, 200, 1), 80, true, now); /* in the campaign, not in its scope */
    ingest(f->c, x.a, &b);
    struct rows r;
    scan(f->c, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(x.a->quarantined, 1);
    assert_true(quarantined(f->c, "a", 1));
}

/* Results for opted-out space that arrive after the opt-out are dropped
 * and counted; the rest of the batch is stored. */
static void test_optout_results_dropped(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    assert_int_equal(vt_optout_add(f->c, "1.0.9.0/24", "owner asked", err, sizeof err), 0);
    struct batch b;
    batch_init(&b, 1, x.la->id);
    batch_add(&b, IP(1, 0, 0, 1), 80, true, now);
    batch_add(&b, IP(1, 0, 9, 1), 80, true, now);
    batch_add(&b, IP(1, 0, 9, 2), 23, false, now);
    ingest(f->c, x.a, &b);
    struct rows r;
    scan(f->c, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(x.a->dropped_optout, 2);
    assert_int_equal(f->c->optout_dropped, 2);
    assert_int_equal(x.a->acked_seq, 1);
}

/* ---- banners ---- */

static const char hik_banner[] = "Serial: DS-2CD2032-I20160315CCWR111222333\r\n\r\ndvrdvs login:";

/* Gives result r the banner of a Hikvision camera, as a worker with rules
 * sends it (labels) or without (labels NULL). */
static void with_banner(Vantage__Result *r, Vantage__Label **labels, size_t nlabels,
                        Vantage__BannerPart **parts)
{
    static Vantage__BannerPart part = VANTAGE__BANNER_PART__INIT;
    part.matches = "telnet.banner";
    part.text.data = (uint8_t *)hik_banner;
    part.text.len = strlen(hik_banner);
    parts[0] = &part;
    r->proto = "telnet";
    r->grab = "ok";
    r->has_banner = true;
    r->banner.data = (uint8_t *)hik_banner;
    r->banner.len = strlen(hik_banner);
    r->parts = parts;
    r->n_parts = 1;
    r->labels = labels;
    r->n_labels = nlabels;
}

static int count_banner(void *arg, const uint8_t *id, size_t idlen,
                        const Vantage__BannerRecord *rec)
{
    (*(size_t *)arg)++;
    return 0;
}

struct banner_ids {
    size_t n, with_id;
    uint8_t id[8][VT_BANNER_ID_LEN];
};

static int collect_ids(void *arg, const struct vt_obs_row *row)
{
    struct banner_ids *b = arg;
    if (row->obs->has_banner_id && row->obs->banner_id.len == VT_BANNER_ID_LEN && b->with_id < 8)
        memcpy(b->id[b->with_id++], row->obs->banner_id.data, VT_BANNER_ID_LEN);
    b->n++;
    return 0;
}

/* A banner shared by two devices is stored once, with the worker's labels,
 * and both records name it; a closed port in the same batch names none. */
static void test_banner_stored_once(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    Vantage__Label vendor = VANTAGE__LABEL__INIT, exposure = VANTAGE__LABEL__INIT;
    vendor.key = "vendor";
    vendor.value = "Hikvision";
    exposure.key = "exposure";
    exposure.value = "telnet-login";
    Vantage__Label *labels[] = {&vendor, &exposure};
    Vantage__BannerPart *parts1[1], *parts2[1];
    struct batch b;
    batch_init(&b, 1, x.la->id);
    with_banner(batch_add(&b, IP(1, 0, 0, 5), 23, true, now), labels, 2, parts1);
    with_banner(batch_add(&b, IP(1, 0, 0, 6), 23, true, now), labels, 2, parts2);
    batch_add(&b, IP(1, 0, 0, 7), 23, false, now);
    ingest(f->c, x.a, &b);
    assert_int_equal(x.a->acked_seq, 1);

    size_t nbanners = 0;
    assert_int_equal(vt_banner_scan(f->c->store, NULL, count_banner, &nbanners, NULL), 0);
    assert_int_equal(nbanners, 1);
    struct banner_ids ids = {0};
    assert_true(vt_obs_scan(f->c->store, NULL, 0, collect_ids, &ids, NULL) >= 0);
    assert_int_equal(ids.n, 3);
    assert_int_equal(ids.with_id, 2);
    assert_memory_equal(ids.id[0], ids.id[1], VT_BANNER_ID_LEN);
    Vantage__BannerRecord *rec;
    assert_int_equal(vt_banner_get(f->c->store, ids.id[0], VT_BANNER_ID_LEN, &rec), 1);
    assert_string_equal(rec->proto, "telnet");
    assert_int_equal(rec->text.len, strlen(hik_banner));
    assert_memory_equal(rec->text.data, hik_banner, rec->text.len);
    assert_int_equal(rec->n_labels, 2);
    assert_string_equal(rec->labels[0]->value, "Hikvision");
    assert_int_equal(rec->n_parts, 1);
    assert_string_equal(rec->parts[0]->matches, "telnet.banner");
    vantage__banner_record__free_unpacked(rec, NULL);

    /* The same banner after a restart (the seen-cache is gone): still one. */
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    x.a = connect_worker_again(f->c, "a", ANYTHING);
    vt_lease_offer(f->c, x.a);
    batch_init(&b, 2, x.a->lease_id);
    Vantage__BannerPart *parts3[1];
    with_banner(batch_add(&b, IP(1, 0, 0, 8), 23, true, now), labels, 2, parts3);
    ingest(f->c, x.a, &b);
    nbanners = 0;
    assert_int_equal(vt_banner_scan(f->c->store, NULL, count_banner, &nbanners, NULL), 0);
    assert_int_equal(nbanners, 1);
}

/* One SSH line on two hosts with their own host keys is two banner records
 * (the key is a device's identity, not the firmware's); a host's truncated
 * label goes to its observation, not into the banner all its peers share. */
static void test_banner_parts_and_host_labels(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    static const char line[] = "dropbear_2017.75";
    static const char *keys[] = {"SHA256:aaaa", "SHA256:bbbb"};
    Vantage__BannerPart ssh[2], key[2], *parts[2][2];
    Vantage__Label trunc = VANTAGE__LABEL__INIT, *labels[] = {&trunc};
    trunc.key = "truncated";
    trunc.value = "true";
    struct batch b;
    batch_init(&b, 1, x.la->id);
    for (int i = 0; i < 2; i++) {
        vantage__banner_part__init(&ssh[i]);
        vantage__banner_part__init(&key[i]);
        ssh[i].matches = "ssh.banner";
        ssh[i].text.data = (uint8_t *)line;
        ssh[i].text.len = strlen(line);
        key[i].matches = "ssh.hostkey";
        key[i].text.data = (uint8_t *)keys[i];
        key[i].text.len = strlen(keys[i]);
        parts[i][0] = &ssh[i];
        parts[i][1] = &key[i];
        Vantage__Result *r = batch_add(&b, IP(1, 0, 0, 20 + i), 23, true, now);
        r->proto = "ssh";
        r->has_banner = true;
        r->banner.data = (uint8_t *)line;
        r->banner.len = strlen(line);
        r->parts = parts[i];
        r->n_parts = 2;
        if (i == 1) {
            r->labels = labels;
            r->n_labels = 1;
        }
    }
    ingest(f->c, x.a, &b);
    size_t nbanners = 0;
    assert_int_equal(vt_banner_scan(f->c->store, NULL, count_banner, &nbanners, NULL), 0);
    assert_int_equal(nbanners, 2);
    struct banner_ids ids = {0};
    assert_true(vt_obs_scan(f->c->store, NULL, 0, collect_ids, &ids, NULL) >= 0);
    assert_int_equal(ids.with_id, 2);
    for (int i = 0; i < 2; i++) {
        Vantage__BannerRecord *rec;
        assert_int_equal(vt_banner_get(f->c->store, ids.id[i], VT_BANNER_ID_LEN, &rec), 1);
        for (size_t j = 0; j < rec->n_labels; j++)
            assert_string_not_equal(rec->labels[j]->key, "truncated");
        vantage__banner_record__free_unpacked(rec, NULL);
    }
    json_t *req = json_pack("{s:s}", "cmd", "query");
    json_t *rep = query_run(f->c, req);
    json_decref(req);
    json_t *rows = json_object_get(rep, "rows");
    assert_int_equal(json_array_size(rows), 2);
    assert_null(json_object_get(json_array_get(rows, 0), "truncated")); /* 1.0.0.20 */
    assert_true(json_is_true(json_object_get(json_array_get(rows, 1), "truncated")));
    json_decref(rep);
}

/* A run whose answers straddle window boundaries (K slots one after the
 * other, a slow rate) is one record per target, in the window of the run's
 * start; a new run of the campaign is a new window. With a 2 s window. */
static void test_run_straddling_windows_is_one_record(void **state)
{
    struct fixture *f = *state;
    f->c->window_s = 2;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    x.k->run_started_ms = (int64_t)now - 7000; /* three windows ago, at least */
    uint32_t run_window = (uint32_t)((uint64_t)x.k->run_started_ms / 1000 / 2);
    struct batch b;
    batch_init(&b, 1, x.la->id);
    /* Answers 2.5 s apart: each in its own window. Their sketch bits must
     * differ, or two answers count as one (a 1 in 11 chance, by the clock). */
    uint64_t t0 = now - 7000;
    for (;; t0++) {
        uint64_t bits = 0;
        for (int i = 0; i < 4; i++)
            bits |= vt_obs_answer_bit("site-a", t0 + 2500 * (uint64_t)i);
        if (__builtin_popcountll(bits) == 4)
            break;
    }
    for (int i = 0; i < 4; i++)
        batch_add(&b, IP(1, 0, 0, 9), 23, i != 2, t0 + 2500 * (uint64_t)i);
    batch_add(&b, IP(1, 0, 0, 10), 23, true, now);
    ingest(f->c, x.a, &b);
    struct rows r;
    scan(f->c, &r);
    assert_int_equal(r.n, 2);
    char want[160];
    snprintf(want, sizeof want, "%u 1.0.0.9:23 open site-a", run_window);
    assert_string_equal(r.row[0], want);
    snprintf(want, sizeof want, "%u 1.0.0.10:23 open site-a", run_window);
    assert_string_equal(r.row[1], want);
    /* The record keeps the answers' real times and how many there were. */
    json_t *req = json_pack("{s:s}", "cmd", "query");
    json_t *rep = query_run(f->c, req);
    json_decref(req);
    json_t *row = json_array_get(json_object_get(rep, "rows"), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "answers")), 4);
    assert_string_equal(json_string_value(json_array_get(json_object_get(row, "campaigns"), 0)),
                        "iot");
    json_decref(rep);
}

static int count_dev(void *arg, uint32_t window, uint32_t ip)
{
    (*(int *)arg)++;
    return 0;
}

/* A result whose labels hold a device identity puts it into `device`;
 * other labels do not. */
static void test_identity_labels_reach_device_family(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    Vantage__Label serial = VANTAGE__LABEL__INIT, vendor = VANTAGE__LABEL__INIT;
    Vantage__Label *labels[] = {&serial, &vendor};
    serial.key = "hw.serial";
    serial.value = "DS-2CD2032-I20160315CCWR123456789";
    vendor.key = "vendor";
    vendor.value = "Hikvision";
    static const char text[] = "Serial: DS-2CD2032-I20160315CCWR123456789";
    struct batch b;
    batch_init(&b, 1, x.la->id);
    for (int i = 0; i < 2; i++) {
        Vantage__Result *r = batch_add(&b, IP(1, 0, 0, 30 + i), 23, true, now);
        r->proto = "telnet";
        r->has_banner = true;
        r->banner.data = (uint8_t *)text;
        r->banner.len = strlen(text);
        r->labels = labels;
        r->n_labels = 2;
    }
    ingest(f->c, x.a, &b);
    uint8_t id[VT_DEVICE_ID_LEN];
    vt_device_id("hw.serial", serial.value, id);
    int n = 0;
    assert_int_equal(vt_device_scan(f->c->store, id, 0, UINT32_MAX, count_dev, &n), 0);
    assert_int_equal(n, 2);
    vt_device_id("vendor", "Hikvision", id);
    n = 0;
    assert_int_equal(vt_device_scan(f->c->store, id, 0, UINT32_MAX, count_dev, &n), 0);
    assert_int_equal(n, 0);
}

/* What no grabber sends is quarantined whole: a banner on a closed port, a
 * banner above 4 KiB, an oversized label. */
static void test_banner_bounds(void **state)
{
    struct fixture *f = *state;
    struct world x = world(f->c);
    uint64_t now = (uint64_t)vt_now_ms();
    static uint8_t big[5000];
    memset(big, 'A', sizeof big);
    static char long_value[VT_LABEL_MAX_VALUE + 2];
    memset(long_value, 'v', sizeof long_value - 1);
    Vantage__Label lab = VANTAGE__LABEL__INIT;
    lab.key = "vendor";
    lab.value = long_value;
    Vantage__Label *labels[] = {&lab};
    for (int bad = 0; bad < 3; bad++) {
        struct batch b;
        Vantage__BannerPart *parts[1];
        batch_init(&b, (uint64_t)bad + 1, x.la->id);
        batch_add(&b, IP(1, 0, 0, 9), 80, true, now); /* a good one: it goes too */
        Vantage__Result *r = batch_add(&b, IP(1, 0, 0, 5), 23, bad != 0, now);
        with_banner(r, NULL, 0, parts);
        if (bad == 1) {
            r->banner.data = big;
            r->banner.len = sizeof big;
        }
        if (bad == 2) {
            r->labels = labels;
            r->n_labels = 1;
        }
        ingest(f->c, x.a, &b);
        assert_true(quarantined(f->c, "a", (uint64_t)bad + 1));
        assert_int_equal(x.a->acked_seq, (uint64_t)bad + 1); /* acked: kept, not lost */
    }
    struct rows r;
    scan(f->c, &r);
    assert_int_equal(r.n, 0);
    size_t nbanners = 0;
    assert_int_equal(vt_banner_scan(f->c->store, NULL, count_banner, &nbanners, NULL), 0);
    assert_int_equal(nbanners, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_batch_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redelivery_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_result_rejects_whole_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_or_unknown_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_sites_one_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_results_of_lapsed_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seq_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_found_counts_survive_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_failure_never_acked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_enforced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scope_checked_at_ingest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optout_results_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_banner_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_banner_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_banner_parts_and_host_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_straddling_windows_is_one_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_labels_reach_device_family, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
