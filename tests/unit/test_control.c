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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dry_run_starts_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_set, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
