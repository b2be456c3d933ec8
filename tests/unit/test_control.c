/* test_control.c: unit tests for coordinator/control.c, the operators'
 * requests (docs/control.md), sent as the CLI sends them to an in-process
 * coordinator (coord_fixture.h) over an inproc REQ/REP pair.
 *
 * What an operator would notice: `campaign start --dry-run` says what a
 * campaign would scan and how long it would take, and starts nothing (the
 * store stays as it was); `campaign set --rate` answers with the new rate and
 * the leases told, and refuses what makes no sense. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_fixture.h"

/* One request through vt_control_handle, as the daemon's loop would. */
static zsock_t *client;

static json_t *request(struct vt_coord *c, json_t *req)
{
    if (!c->control) {
        c->control = zsock_new(ZMQ_REP);
        assert_non_null(c->control);
        assert_int_equal(zsock_bind(c->control, "inproc://test-control"), 0);
        zsock_destroy(&client);
        client = zsock_new(ZMQ_REQ);
        assert_int_equal(zsock_connect(client, "inproc://test-control"), 0);
    }
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    zstr_send(client, text);
    free(text);
    vt_control_handle(c);
    char *r = zstr_recv(client);
    assert_non_null(r);
    json_t *rep = json_loads(r, 0, NULL);
    zstr_free(&r);
    assert_non_null(rep);
    return rep;
}

static void close_control(struct vt_coord *c)
{
    zsock_destroy(&client);
    zsock_destroy(&c->control);
}

static int count_key(void *arg, const char *key, const void *val, size_t len)
{
    (void)key, (void)val, (void)len;
    ++*(int *)arg;
    return 0;
}

static int meta_count(struct vt_coord *c, const char *prefix)
{
    int n = 0;
    assert_int_equal(vt_meta_scan(c->store, prefix, count_key, &n), 0);
    return n;
}

static json_int_t num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("no integer %s in %s", key, json_dumps(o, JSON_COMPACT));
    return json_integer_value(v);
}

/* --dry-run: the space after both blocklists and the opt-outs, the shard
 * plan and the duration; nothing stored, nothing listed, the name still free. */
static void test_dry_run_starts_nothing(void **state)
{
    struct fixture *f = *state;
    connect_worker(f->c, "a", "site-a", ANYTHING);
    assert_int_equal(vt_optout_add(f->c, "1.0.1.0/24", "abuse@example.net", err, sizeof err), 0);
    int campaigns = meta_count(f->c, "campaign/"), shards = meta_count(f->c, "shard/");
    /* 1.0.0.0/16 minus the opt-out, plus 198.18.0.1 that the built-in list holds */
    json_t *rep =
        request(f->c, json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:b}", "cmd", "campaign.start",
                                "name", "iot", "targets", "1.0.0.0/16,198.18.0.1", "ports", "23,80",
                                "rate", 1000, "probes", 2, "dry_run", 1));
    assert_true(json_is_true(json_object_get(rep, "ok")));
    json_t *plan = json_object_get(rep, "plan");
    assert_non_null(plan);
    assert_int_equal(num(plan, "targets_given"), 65537);
    assert_int_equal(num(plan, "targets"), 65536 - 256);
    assert_int_equal(num(plan, "left_out"), 257);
    assert_int_equal(num(plan, "ports"), 2);
    assert_int_equal(num(plan, "pairs"), (65536 - 256) * 2);
    assert_int_equal(num(plan, "probes_total"), (65536 - 256) * 2 * 2);
    assert_int_equal(num(plan, "duration_s"), ((65536 - 256) * 4 + 999) / 1000);
    assert_true(num(plan, "shards") >= VT_MIN_SHARDS);
    assert_int_equal(num(plan, "cells"), 1);
    json_t *steps = json_object_get(plan, "steps_per_shard");
    assert_true(num(steps, "min") > 0 && num(steps, "min") <= num(steps, "max"));
    assert_true(num(steps, "max") * num(plan, "shards") >= num(plan, "pairs"));
    json_decref(rep);

    /* nothing changed: no campaign, no record, the name is free */
    assert_int_equal(f->c->ncampaigns, 0);
    assert_int_equal(meta_count(f->c, "campaign/"), campaigns);
    assert_int_equal(meta_count(f->c, "shard/"), shards);
    rep = request(f->c, json_pack("{s:s}", "cmd", "campaign.list"));
    assert_int_equal(json_array_size(json_object_get(rep, "campaigns")), 0);
    json_decref(rep);

    /* a dry run is checked as strictly as a start */
    rep = request(f->c, json_pack("{s:s, s:s, s:s, s:s, s:b}", "cmd", "campaign.start", "name", "x",
                                  "targets", "198.18.0.0/15", "ports", "23", "dry_run", 1));
    assert_false(json_is_true(json_object_get(rep, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(rep, "error")), "empty"));
    json_decref(rep);

    /* and the real start afterwards works, with the same name */
    rep = request(f->c, json_pack("{s:s, s:s, s:s, s:s, s:i}", "cmd", "campaign.start", "name",
                                  "iot", "targets", "1.0.0.0/16", "ports", "23,80", "rate", 1000));
    assert_true(json_is_true(json_object_get(rep, "ok")));
    json_decref(rep);
    assert_int_equal(f->c->ncampaigns, 1);
    close_control(f->c);
}

/* campaign.set answers with the rate, the state and the leases told. */
static void test_campaign_set(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = vt_campaign_start(f->c, "iot", "1.0.0.0/16", "23,80", 9000, 1, 1, 0,
                                              false, err, sizeof err);
    assert_non_null(k);
    struct vt_worker *a = connect_worker(f->c, "a", "site-a", ANYTHING);
    struct vt_worker *b = connect_worker(f->c, "b", "site-b", ANYTHING);
    vt_lease_offer(f->c, a);
    vt_lease_offer(f->c, b);
    json_t *rep = request(
        f->c, json_pack("{s:s, s:s, s:i}", "cmd", "campaign.set", "name", "iot", "rate", 5000));
    assert_true(json_is_true(json_object_get(rep, "ok")));
    assert_int_equal(num(rep, "rate"), 5000);
    assert_int_equal(num(rep, "leases"), 2);
    json_decref(rep);
    assert_int_equal(vt_lease_by_id(f->c, a->lease_id)->rate, 2500);

    rep = request(f->c, json_pack("{s:s, s:s}", "cmd", "campaign.set", "name", "iot"));
    assert_false(json_is_true(json_object_get(rep, "ok")));
    json_decref(rep);
    rep = request(f->c,
                  json_pack("{s:s, s:s, s:i}", "cmd", "campaign.set", "name", "iot", "rate", -1));
    assert_false(json_is_true(json_object_get(rep, "ok")));
    json_decref(rep);
    rep = request(f->c,
                  json_pack("{s:s, s:s, s:i}", "cmd", "campaign.set", "name", "nope", "rate", 10));
    assert_non_null(strstr(json_string_value(json_object_get(rep, "error")), "no campaign nope"));
    json_decref(rep);
    assert_int_equal(k->rate, 5000);
    close_control(f->c);
}

static json_t *blocklist_add(struct vt_coord *c, const char *entry, const char *reason,
                             const char *by)
{
    return request(c, json_pack("{s:s, s:s, s:s, s:s}", "cmd", "blocklist.add", "cidr", entry,
                                "reason", reason, "by", by));
}

static bool ok_of(json_t *rep)
{
    bool ok = json_is_true(json_object_get(rep, "ok"));
    json_decref(rep);
    return ok;
}

/* The opt-out list keeps who asked, when and why; a second add appends; it
 * takes ranges as targets do, lists in address order, refuses everything
 * without force, and reads (and rewrites) the records of older stores. */
static void test_blocklist_history(void **state)
{
    struct fixture *f = *state;
    /* a record as older versions wrote it */
    const char *old =
        "{\"cidr\":\"203.0.113.0/24\",\"reason\":\"from 2025\",\"added_ms\":1700000000000}";
    assert_int_equal(vt_meta_put(f->c->store, "blocklist/203.0.113.0/24", old, strlen(old), true),
                     0);
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    assert_true(vt_targets_contains(&f->c->optout, 0xcb007101)); /* 203.0.113.1 */

    uint64_t gen = f->c->optout_gen;
    assert_true(ok_of(blocklist_add(f->c, "10.0.0.0/8", "abuse@a.example", "alice")));
    assert_int_equal(f->c->optout_gen, gen + 1);
    assert_true(ok_of(blocklist_add(f->c, "10.0.0.0/8", "asked again, #12", "bob")));
    assert_int_equal(f->c->optout_gen, gen + 1); /* no address changed */
    assert_true(ok_of(blocklist_add(f->c, "9.0.0.0/8", "x", "carol")));
    assert_true(ok_of(blocklist_add(f->c, "1.2.3.4", "one host", "dave")));
    assert_true(ok_of(blocklist_add(f->c, "192.0.2.10-192.0.2.20", "a range", "erin")));
    assert_true(vt_targets_contains(&f->c->optout, 0xc000020f));  /* 192.0.2.15 */
    assert_false(vt_targets_contains(&f->c->optout, 0xc0000215)); /* 192.0.2.21 */
    assert_false(ok_of(blocklist_add(f->c, "0.0.0.0/0", "everything", "mallory")));
    assert_false(ok_of(blocklist_add(f->c, "1.2.3.4,5.6.7.8", "two", "x")));
    assert_false(ok_of(blocklist_add(f->c, "1.2.3.0/33", "bad", "x")));
    assert_true(
        ok_of(request(f->c, json_pack("{s:s, s:s, s:s, s:b}", "cmd", "blocklist.add", "cidr",
                                      "0.0.0.0/0", "reason", "drill", "force", 1))));
    assert_true(ok_of(
        request(f->c, json_pack("{s:s, s:s}", "cmd", "blocklist.remove", "cidr", "0.0.0.0/0"))));

    json_t *rep = request(f->c, json_pack("{s:s}", "cmd", "blocklist.list"));
    json_t *e = json_object_get(rep, "entries");
    const char *order[] = {"1.2.3.4/32", "9.0.0.0/8", "10.0.0.0/8", "192.0.2.10-192.0.2.20",
                           "203.0.113.0/24"};
    assert_int_equal(json_array_size(e), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(e, i), "cidr")),
                            order[i]);
    json_t *ten = json_object_get(json_array_get(e, 2), "history");
    assert_int_equal(json_array_size(ten), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ten, 0), "by")), "alice");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ten, 0), "reason")),
                        "abuse@a.example");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ten, 1), "by")), "bob");
    assert_true(num(json_array_get(ten, 1), "at_ms") >= num(json_array_get(ten, 0), "at_ms"));
    json_t *migrated = json_object_get(json_array_get(e, 4), "history");
    assert_int_equal(json_array_size(migrated), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(migrated, 0), "reason")),
                        "from 2025");
    assert_int_equal(num(json_array_get(migrated, 0), "at_ms"), 1700000000000);
    json_decref(rep);

    /* removed by the range as given; a restart keeps the history */
    assert_true(ok_of(request(f->c, json_pack("{s:s, s:s}", "cmd", "blocklist.remove", "cidr",
                                              "192.0.2.10-192.0.2.20"))));
    close_control(f->c);
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    assert_false(vt_targets_contains(&f->c->optout, 0xc000020f));
    json_t *list = vt_optout_list(f->c);
    assert_int_equal(json_array_size(list), 4);
    assert_int_equal(json_array_size(json_object_get(json_array_get(list, 2), "history")), 2);
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dry_run_starts_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocklist_history, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
