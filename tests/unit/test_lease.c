/* test_lease.c: unit tests for coordinator/lease.c and the shard arithmetic of
 * coordinator/campaign.c, the coordinator's lease state machine, in-process.
 *
 * Each test builds a `struct vt_coord` by hand around a temporary store, with
 * no sockets: workers are enrolled with vt_worker_add and "connect" by a Hello
 * handed to vt_worker_on_hello; their route stays NULL, so nothing is sent.
 *
 * What an operator would notice: a campaign's shards cover its walk exactly
 * once; a partner's policy (scope, ports, max rate) is never overridden; one
 * worker holds one lease; a checkpoint only moves forward and survives a lapse,
 * a pause and a coordinator restart; K vantages are K distinct sites; a revoked
 * worker gets nothing; a campaign's rate is one budget shared by its leases. */
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

/* "1.0.0.0/16" x "23,80": 131072 pairs. */
static struct vt_campaign *start(struct vt_coord *c, const char *name, uint64_t rate, unsigned k)
{
    struct vt_campaign *camp =
        vt_campaign_start(c, name, "1.0.0.0/16", "23,80", rate, k, 1, 0, false, err, sizeof err);
    if (!camp)
        fail_msg("%s", err);
    return camp;
}

static void progress(struct vt_coord *c, struct vt_worker *w, uint64_t done, bool finished)
{
    Vantage__Progress p = VANTAGE__PROGRESS__INIT;
    p.lease_id = w->lease_id;
    p.done = done;
    p.has_finished = finished;
    p.finished = finished;
    vt_lease_on_progress(c, w, &p);
}

static struct vt_slot *slot_of(struct vt_lease *l)
{
    return &l->campaign->shard[l->shard].slot[l->slot];
}

static struct vt_lease *lease_of(struct vt_coord *c, struct vt_worker *w)
{
    assert_int_not_equal(w->lease_id, 0);
    struct vt_lease *l = vt_lease_by_id(c, w->lease_id);
    assert_non_null(l);
    assert_true(l->active);
    assert_ptr_equal(l->worker, w);
    return l;
}

static const char *status_str(struct vt_coord *c, struct vt_campaign *k, const char *field,
                              char *buf, size_t len)
{
    json_t *st = vt_campaign_status(c, k);
    assert_non_null(st);
    const char *v = json_string_value(json_object_get(st, field));
    snprintf(buf, len, "%s", v ? v : "(null)");
    json_decref(st);
    return buf;
}

/* ---- the tests ---- */

/* Shards are consecutive arcs that cover the walk exactly once, whatever the rate. */
static void test_shards_partition_the_walk(void **state)
{
    struct fixture *f = *state;
    const uint64_t rates[] = {10, 100, 1000, 10000, 1000000};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        char name[32];
        snprintf(name, sizeof name, "c%zu", r);
        struct vt_campaign *k = start(f->c, name, rates[r], 1);
        assert_true(k->steps >= 131072); /* every (address, port) pair is a step */
        assert_true(k->nshards >= VT_MIN_SHARDS);
        uint64_t next = 0;
        for (unsigned s = 0; s < k->nshards; s++) {
            assert_int_equal(k->shard[s].first, next);
            assert_true(k->shard[s].steps > 0);
            next = k->shard[s].first + k->shard[s].steps;
        }
        assert_int_equal(next, k->steps);
    }
}

/* A worker whose policy does not allow the whole campaign is offered nothing. */
static void test_policy_is_respected(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    /* scope 1.0.0.0/17: half the targets */
    struct vt_worker *half =
        connect_worker(f->c, "half", "a", (struct policy){0x01000000, 0x01007fff, 1, 65535, 0});
    /* every address, but port 23 only */
    struct vt_worker *p23 =
        connect_worker(f->c, "p23", "b", (struct policy){0, UINT32_MAX, 23, 23, 0});
    /* ports 22-79: 80 missing */
    struct vt_worker *p79 =
        connect_worker(f->c, "p79", "c", (struct policy){0, UINT32_MAX, 22, 79, 0});
    struct vt_worker *ok = connect_worker(f->c, "ok", "d", ANYTHING);
    struct vt_worker *bad[] = {half, p23, p79};
    for (size_t i = 0; i < 3; i++) {
        assert_false(vt_lease_eligible(bad[i], k));
        vt_lease_offer(f->c, bad[i]);
        assert_int_equal(bad[i]->lease_id, 0);
    }
    assert_int_equal(f->c->nactive, 0);
    assert_true(vt_lease_eligible(ok, k));
    vt_lease_offer(f->c, ok);
    assert_int_not_equal(ok->lease_id, 0);
    assert_int_equal(f->c->nactive, 1);
}

/* No route (never connected): sending fails, harmlessly. */
static void test_send_without_route_fails(void **state)
{
    struct fixture *f = *state;
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    assert_null(w->route);
    Vantage__Heartbeat hb = VANTAGE__HEARTBEAT__INIT;
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    env.version = VT_PROTOCOL_VERSION;
    env.body_case = VANTAGE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    assert_int_equal(vt_send_to(f->c, w, &env), -1);
    vt_send_error(f->c, w, VANTAGE__ERROR__CODE__UNKNOWN, "nobody hears this");
}

/* K=1: one lease at a time; the checkpoint only moves forward, never past the
 * arc; finishing frees the worker; the campaign completes with its last shard. */
static void test_single_vantage_life_cycle(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);

    for (unsigned n = 0; n < k->nshards; n++) {
        vt_lease_offer(f->c, w);
        struct vt_lease *l = lease_of(f->c, w);
        uint64_t id = l->id;
        vt_lease_offer(f->c, w); /* a second ask while it holds one: nothing new */
        assert_int_equal(w->lease_id, id);
        assert_int_equal(f->c->nactive, 1);
        assert_int_equal(k->active_leases, 1);

        struct vt_slot *sl = slot_of(l);
        uint64_t steps = k->shard[l->shard].steps;
        assert_int_equal(sl->lease_id, id);
        assert_string_equal(sl->site, "a");
        assert_int_equal(sl->done, 0);
        progress(f->c, w, 100, false);
        assert_int_equal(sl->done, 100);
        progress(f->c, w, 50, false); /* a late, older checkpoint */
        assert_int_equal(sl->done, 100);
        progress(f->c, w, steps + 1, false); /* beyond the arc: ignored */
        assert_int_equal(sl->done, 100);
        progress(f->c, w, steps, false);
        assert_int_equal(sl->done, steps);
        assert_false(sl->finished);

        vt_campaigns_tick(f->c, vt_now_ms());
        assert_int_equal(k->state, VT_CAMPAIGN_RUNNING);

        progress(f->c, w, steps, true);
        assert_true(sl->finished);
        assert_int_equal(sl->done, steps);
        assert_int_equal(sl->lease_id, 0);
        assert_int_equal(w->lease_id, 0);
        assert_false(l->active);
        assert_int_equal(f->c->nactive, 0);
        assert_int_equal(k->active_leases, 0);
    }
    vt_lease_offer(f->c, w); /* nothing left */
    assert_int_equal(w->lease_id, 0);
    vt_campaigns_tick(f->c, vt_now_ms());
    assert_int_equal(k->state, VT_CAMPAIGN_COMPLETE);
    assert_int_not_equal(k->completed_ms, 0);
    char buf[64];
    assert_string_equal(status_str(f->c, k, "state", buf, sizeof buf), "complete");
}

/* Progress for a lease that is not the sender's moves nothing. */
static void test_progress_of_others_ignored(void **state)
{
    struct fixture *f = *state;
    start(f->c, "iot", 1000, 1);
    struct vt_worker *a = connect_worker(f->c, "a", "a", ANYTHING);
    struct vt_worker *b = connect_worker(f->c, "b", "b", ANYTHING);
    vt_lease_offer(f->c, a);
    struct vt_lease *l = lease_of(f->c, a);
    Vantage__Progress p = VANTAGE__PROGRESS__INIT;
    p.lease_id = l->id;
    p.done = 10;
    p.has_finished = true;
    p.finished = true;
    vt_lease_on_progress(f->c, b, &p);
    assert_int_equal(slot_of(l)->done, 0);
    assert_false(slot_of(l)->finished);
    assert_true(l->active);
    p.lease_id = 9999; /* no such lease */
    vt_lease_on_progress(f->c, b, &p);
    assert_int_equal(b->lease_id, 0);
}

/* K=3: a shard's slots go to three distinct sites; a second worker of a site
 * gets a slot of another shard only; fewer sites than K: "waiting". */
static void test_distinct_sites(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 3);
    char buf[256];

    struct vt_worker *a1 = connect_worker(f->c, "a1", "site-a", ANYTHING);
    struct vt_worker *b1 = connect_worker(f->c, "b1", "site-b", ANYTHING);
    assert_string_equal(status_str(f->c, k, "state", buf, sizeof buf), "waiting");
    assert_string_not_equal(status_str(f->c, k, "waiting", buf, sizeof buf), "(null)");
    assert_string_equal(vt_campaign_state_name(k, f->c), "waiting");

    struct vt_worker *c1 = connect_worker(f->c, "c1", "site-c", ANYTHING);
    assert_string_equal(status_str(f->c, k, "state", buf, sizeof buf), "running");
    assert_string_equal(status_str(f->c, k, "waiting", buf, sizeof buf), "(null)");

    struct vt_worker *a2 = connect_worker(f->c, "a2", "site-a", ANYTHING);
    struct vt_worker *order[] = {a1, b1, c1, a2};
    for (size_t i = 0; i < 4; i++)
        vt_lease_offer(f->c, order[i]);
    struct vt_lease *la1 = lease_of(f->c, a1), *lb1 = lease_of(f->c, b1), *lc1 = lease_of(f->c, c1),
                    *la2 = lease_of(f->c, a2);
    assert_int_equal(la1->shard, lb1->shard);
    assert_int_equal(la1->shard, lc1->shard);
    assert_int_not_equal(la2->shard, la1->shard);

    /* Every shard: no site in two of its slots. */
    for (unsigned s = 0; s < k->nshards; s++)
        for (unsigned i = 0; i < k->vantages; i++)
            for (unsigned j = i + 1; j < k->vantages; j++)
                if (k->shard[s].slot[i].site[0])
                    assert_string_not_equal(k->shard[s].slot[i].site, k->shard[s].slot[j].site);

    /* Site c goes offline: the campaign waits again. */
    c1->last_seen_ms = vt_mono_ms() - 2 * VT_ONLINE_MS;
    assert_string_equal(status_str(f->c, k, "state", buf, sizeof buf), "waiting");
    assert_string_not_equal(status_str(f->c, k, "waiting", buf, sizeof buf), "(null)");
}

/* Two sites, K=3: the same site never fills two slots of one shard, even when
 * the only free slots left are on shards it already works on. */
static void test_site_never_doubles_up(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 3);
    struct vt_worker *w[8];
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i);
        w[i] = connect_worker(f->c, name, i % 2 ? "site-b" : "site-a", ANYTHING);
        vt_lease_offer(f->c, w[i]);
    }
    for (unsigned s = 0; s < k->nshards; s++)
        for (unsigned i = 0; i < k->vantages; i++)
            for (unsigned j = i + 1; j < k->vantages; j++)
                if (k->shard[s].slot[i].site[0])
                    assert_string_not_equal(k->shard[s].slot[i].site, k->shard[s].slot[j].site);
    /* Each shard can take one worker of each site: 2 per shard at most. */
    unsigned leased = 0;
    for (int i = 0; i < 8; i++)
        leased += w[i]->lease_id != 0;
    assert_true(leased <= 2 * k->nshards);
    assert_int_equal(leased, 8 < 2 * k->nshards ? 8 : 2 * k->nshards);
}

/* A lease without progress lapses; its slot keeps its checkpoint and the next
 * worker resumes from it. */
static void test_lapse_requeues_with_checkpoint(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *a = connect_worker(f->c, "a", "site-a", ANYTHING);
    struct vt_worker *b = connect_worker(f->c, "b", "site-b", ANYTHING);
    vt_lease_offer(f->c, a);
    struct vt_lease *la = lease_of(f->c, a);
    unsigned shard = la->shard, slot = la->slot;
    uint64_t id = la->id;
    progress(f->c, a, 500, false);

    vt_leases_tick(f->c, vt_mono_ms()); /* deadline not reached: nothing happens */
    assert_true(la->active);

    la->deadline_ms = vt_mono_ms() - 1;
    vt_leases_tick(f->c, vt_mono_ms());
    assert_false(la->active);
    assert_int_equal(a->lease_id, 0);
    assert_int_equal(f->c->nactive, 0);
    assert_int_equal(k->active_leases, 0);
    struct vt_slot *sl = &k->shard[shard].slot[slot];
    assert_int_equal(sl->lease_id, 0);
    assert_int_equal(sl->done, 500);
    assert_false(sl->finished);

    vt_lease_offer(f->c, b);
    struct vt_lease *lb = lease_of(f->c, b);
    assert_int_not_equal(lb->id, id);
    assert_int_equal(lb->shard, shard);
    assert_int_equal(lb->slot, slot);
    assert_int_equal(sl->lease_id, lb->id);
    assert_int_equal(sl->done, 500); /* resumes, not restarts */
    assert_string_equal(sl->site, "site-b");
    /* The old lease is still known (its holder's late results are taken). */
    assert_ptr_equal(vt_lease_by_id(f->c, id), la);
}

/* A lapsed lease with nothing done frees its slot for any site. */
static void test_lapse_without_progress(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *a = connect_worker(f->c, "a", "site-a", ANYTHING);
    vt_lease_offer(f->c, a);
    struct vt_lease *la = lease_of(f->c, a);
    la->deadline_ms = vt_mono_ms() - 1;
    vt_leases_tick(f->c, vt_mono_ms());
    struct vt_slot *sl = &k->shard[la->shard].slot[la->slot];
    assert_string_equal(sl->site, "");
    assert_int_equal(sl->done, 0);
}

/* Revocation takes the lease back and no lease is offered afterwards. */
static void test_revoke(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    vt_lease_offer(f->c, w);
    struct vt_lease *l = lease_of(f->c, w);
    progress(f->c, w, 7, false);
    assert_int_equal(vt_worker_revoke(f->c, "w", err, sizeof err), 0);
    assert_false(l->active);
    assert_int_equal(w->lease_id, 0);
    assert_int_equal(slot_of(l)->lease_id, 0);
    assert_int_equal(slot_of(l)->done, 7);
    assert_int_equal(f->c->nactive, 0);
    assert_false(vt_lease_eligible(w, k));
    vt_lease_offer(f->c, w);
    assert_int_equal(w->lease_id, 0);
    /* and it stays revoked after a restart */
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    assert_true(vt_worker_by_name(f->c, "w")->revoked);
}

/* Pause takes every lease back, resume offers again, cancel is final. */
static void test_pause_resume_cancel(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *a = connect_worker(f->c, "a", "site-a", ANYTHING);
    struct vt_worker *b = connect_worker(f->c, "b", "site-b", ANYTHING);
    vt_lease_offer(f->c, a);
    vt_lease_offer(f->c, b);
    struct vt_lease *la = lease_of(f->c, a);
    lease_of(f->c, b);
    progress(f->c, a, 42, false);

    assert_int_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_PAUSED, err, sizeof err), 0);
    assert_int_equal(f->c->nactive, 0);
    assert_int_equal(k->active_leases, 0);
    assert_int_equal(a->lease_id, 0);
    assert_int_equal(b->lease_id, 0);
    assert_int_equal(slot_of(la)->done, 42);
    vt_lease_offer(f->c, a);
    assert_int_equal(a->lease_id, 0);
    char buf[64];
    assert_string_equal(status_str(f->c, k, "state", buf, sizeof buf), "paused");
    /* resume, once: resuming a running campaign is an error */
    assert_int_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_RUNNING, err, sizeof err), 0);
    assert_int_not_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_RUNNING, err, sizeof err), 0);

    vt_lease_offer(f->c, a);
    struct vt_lease *la2 = lease_of(f->c, a);
    assert_int_equal(la2->shard, la->shard); /* its own half-done slot first */
    assert_int_equal(slot_of(la2)->done, 42);

    assert_int_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_CANCELLED, err, sizeof err), 0);
    assert_int_equal(f->c->nactive, 0);
    assert_int_equal(a->lease_id, 0);
    vt_lease_offer(f->c, a);
    vt_lease_offer(f->c, b);
    assert_int_equal(a->lease_id, 0);
    assert_int_equal(b->lease_id, 0);
    assert_int_not_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_RUNNING, err, sizeof err), 0);
    assert_int_not_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_PAUSED, err, sizeof err), 0);
    assert_int_equal(k->state, VT_CAMPAIGN_CANCELLED);
    vt_campaigns_tick(f->c, vt_now_ms());
    assert_int_equal(k->state, VT_CAMPAIGN_CANCELLED);
    assert_string_equal(status_str(f->c, k, "state", buf, sizeof buf), "cancelled");
}

/* A restarted coordinator has every checkpoint, finished slot and active lease. */
static void test_restart_restores_state(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 2);
    struct vt_worker *a = connect_worker(f->c, "a", "site-a", ANYTHING);
    struct vt_worker *b = connect_worker(f->c, "b", "site-b", ANYTHING);
    vt_lease_offer(f->c, a);
    vt_lease_offer(f->c, b);
    struct vt_lease *la = lease_of(f->c, a), *lb = lease_of(f->c, b);
    assert_int_equal(la->shard, lb->shard);
    unsigned s0 = la->shard, slot_a = la->slot, slot_b = lb->slot;
    uint64_t id_a = la->id, id_b = lb->id, steps0 = k->shard[s0].steps;
    progress(f->c, a, 300, false);
    progress(f->c, b, steps0, true);
    vt_lease_offer(f->c, b); /* b moves on to the next shard */
    struct vt_lease *lb2 = lease_of(f->c, b);
    unsigned s1 = lb2->shard, slot_b2 = lb2->slot;
    uint64_t id_b2 = lb2->id;
    progress(f->c, b, 11, false);
    assert_int_not_equal(s1, s0);

    uint64_t seed = k->seed, steps = k->steps;
    unsigned nshards = k->nshards;
    uint64_t first[64], len[64];
    assert_true(nshards <= 64);
    for (unsigned s = 0; s < nshards; s++)
        first[s] = k->shard[s].first, len[s] = k->shard[s].steps;

    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    struct vt_coord *c = f->c;

    k = vt_campaign_by_name(c, "iot");
    assert_non_null(k);
    assert_int_equal(k->state, VT_CAMPAIGN_RUNNING);
    assert_int_equal(k->seed, seed);
    assert_int_equal(k->steps, steps);
    assert_int_equal(k->nshards, nshards);
    assert_int_equal(k->vantages, 2);
    for (unsigned s = 0; s < nshards; s++) {
        assert_int_equal(k->shard[s].first, first[s]);
        assert_int_equal(k->shard[s].steps, len[s]);
    }
    a = vt_worker_by_name(c, "a");
    b = vt_worker_by_name(c, "b");
    assert_non_null(a);
    assert_non_null(b);

    struct vt_slot *sa = &k->shard[s0].slot[slot_a], *sb = &k->shard[s0].slot[slot_b],
                   *sb2 = &k->shard[s1].slot[slot_b2];
    assert_int_equal(sa->done, 300);
    assert_string_equal(sa->site, "site-a");
    assert_false(sa->finished);
    assert_true(sb->finished);
    assert_int_equal(sb->done, steps0);
    assert_string_equal(sb->site, "site-b");
    assert_int_equal(sb2->done, 11);

    /* the two running leases are running again, with their holders */
    assert_int_equal(c->nactive, 2);
    assert_int_equal(k->active_leases, 2);
    assert_int_equal(a->lease_id, id_a);
    assert_int_equal(b->lease_id, id_b2);
    assert_int_equal(sa->lease_id, id_a);
    assert_int_equal(sb2->lease_id, id_b2);
    assert_true(vt_lease_by_id(c, id_a)->active);
    assert_true(vt_lease_by_id(c, id_b2)->active);
    assert_true(vt_lease_by_id(c, id_a)->deadline_ms > vt_mono_ms());
    /* the ended one is known, not active */
    struct vt_lease *old = vt_lease_by_id(c, id_b);
    assert_non_null(old);
    assert_false(old->active);
    assert_ptr_equal(old->worker, b);
    /* new ids never reuse old ones */
    assert_true(c->next_lease_id > id_b2);

    /* and the lease goes on: progress after the restart moves the checkpoint */
    a->hello = true;
    a->last_seen_ms = vt_mono_ms();
    progress(c, a, 400, false);
    assert_int_equal(sa->done, 400);
}

/* The campaign's rate is shared equally by its leases, capped by a worker's
 * own max_rate. */
static void test_rate_budget(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 9000, 1);
    assert_true(k->nshards >= 3);
    struct vt_worker *a = connect_worker(f->c, "a", "site-a", ANYTHING);
    struct vt_worker *b = connect_worker(f->c, "b", "site-b", ANYTHING);
    struct policy slow = ANYTHING;
    slow.max_rate = 1000;
    struct vt_worker *s = connect_worker(f->c, "s", "site-c", slow);

    vt_lease_offer(f->c, a);
    assert_int_equal(lease_of(f->c, a)->rate, 9000); /* alone: the whole budget */
    vt_lease_offer(f->c, b);
    vt_lease_offer(f->c, s);
    assert_int_equal(lease_of(f->c, s)->rate, 1000); /* capped at the grant already */
    vt_leases_rebalance(f->c);
    assert_int_equal(lease_of(f->c, a)->rate, 3000);
    assert_int_equal(lease_of(f->c, b)->rate, 3000);
    assert_int_equal(lease_of(f->c, s)->rate, 1000);
    uint64_t total = 0;
    for (size_t i = 0; i < f->c->nactive; i++)
        total += f->c->active[i]->rate;
    assert_true(total <= k->rate);

    /* one lease ends: the others share its part at the next rebalance */
    progress(f->c, b, 0, true);
    vt_leases_rebalance(f->c);
    assert_int_equal(lease_of(f->c, a)->rate, 4500);
    assert_int_equal(lease_of(f->c, s)->rate, 1000);
}

/* A worker whose messages the test reads: a DEALER on the other side of the
 * coordinator's ROUTER (inproc), its identity taken as the worker's route. */
static zsock_t *attach(struct vt_coord *c, struct vt_worker *w)
{
    if (!c->router) {
        c->router = zsock_new(ZMQ_ROUTER);
        assert_non_null(c->router);
        assert_int_equal(zsock_bind(c->router, "inproc://test-lease-router"), 0);
    }
    zsock_t *d = zsock_new(ZMQ_DEALER);
    assert_non_null(d);
    zsock_set_identity(d, w->name);
    assert_int_equal(zsock_connect(d, "inproc://test-lease-router"), 0);
    zstr_send(d, "hello");
    zmsg_t *m = zmsg_recv(c->router);
    assert_non_null(m);
    zframe_destroy(&w->route);
    w->route = zmsg_pop(m);
    zmsg_destroy(&m);
    return d;
}

/* The last RateChange the worker behind d was sent (other messages are
 * skipped); fails the test if none comes within 1 s. */
static void last_rate(zsock_t *d, uint64_t *lease_id, uint64_t *rate)
{
    zpoller_t *p = zpoller_new(d, NULL);
    bool seen = false;
    while (zpoller_wait(p, seen ? 50 : 1000) == d) {
        zframe_t *f = zframe_recv(d);
        char why[128];
        Vantage__Envelope *env =
            vt_envelope_unpack(zframe_data(f), zframe_size(f), why, sizeof why);
        zframe_destroy(&f);
        assert_non_null(env);
        if (env->body_case == VANTAGE__ENVELOPE__BODY_RATE) {
            *lease_id = env->rate->lease_id;
            *rate = env->rate->rate;
            seen = true;
        }
        vt_envelope_free(env);
    }
    zpoller_destroy(&p);
    if (!seen)
        fail_msg("no RateChange reached the worker");
}

static void detach(struct vt_coord *c, zsock_t **d)
{
    zsock_destroy(d);
    zsock_destroy(&c->router);
}

/* `campaign set --rate`: the new budget is re-shared at once among the
 * campaign's scanning leases (a capped worker stays at its cap), each worker
 * is sent its share, the rate survives a restart; on a paused campaign it
 * applies from the resumption; a cancelled campaign refuses. */
static void test_set_rate_reshares_now(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 9000, 1);
    struct vt_worker *a = connect_worker(f->c, "a", "site-a", ANYTHING);
    struct vt_worker *b = connect_worker(f->c, "b", "site-b", ANYTHING);
    struct policy slow = ANYTHING;
    slow.max_rate = 1000;
    struct vt_worker *s = connect_worker(f->c, "s", "site-c", slow);
    zsock_t *da = attach(f->c, a), *ds = attach(f->c, s);
    vt_lease_offer(f->c, a);
    vt_lease_offer(f->c, b);
    vt_lease_offer(f->c, s);
    vt_leases_rebalance(f->c);
    assert_int_equal(lease_of(f->c, a)->rate, 3000);
    uint64_t id, rate;
    last_rate(da, &id, &rate);
    assert_int_equal(rate, 3000);

    unsigned told = 99;
    assert_int_equal(vt_campaign_set_rate(f->c, k, 6000, &told, err, sizeof err), 0);
    assert_int_equal(told, 3);
    assert_int_equal(k->rate, 6000);
    assert_int_equal(lease_of(f->c, a)->rate, 2000);
    assert_int_equal(lease_of(f->c, b)->rate, 2000);
    assert_int_equal(lease_of(f->c, s)->rate, 1000); /* its own cap */
    last_rate(da, &id, &rate);
    assert_int_equal(id, a->lease_id);
    assert_int_equal(rate, 2000);
    last_rate(ds, &id, &rate);
    assert_int_equal(id, s->lease_id);
    assert_int_equal(rate, 1000);
    /* the next tick's rebalance agrees: nothing drifts back */
    vt_leases_rebalance(f->c);
    assert_int_equal(lease_of(f->c, a)->rate, 2000);

    /* out of range: refused, nothing changes */
    assert_int_not_equal(vt_campaign_set_rate(f->c, k, 0, &told, err, sizeof err), 0);
    assert_int_equal(k->rate, 6000);

    /* paused: stored, applied from the resumption */
    assert_int_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_PAUSED, err, sizeof err), 0);
    assert_int_equal(vt_campaign_set_rate(f->c, k, 4000, &told, err, sizeof err), 0);
    assert_int_equal(told, 0);
    detach(f->c, &da);
    zsock_destroy(&ds);
    coord_close(f->c); /* a restart keeps the new rate */
    f->c = coord_open(f->dir, f->keydir);
    k = vt_campaign_by_name(f->c, "iot");
    assert_non_null(k);
    assert_int_equal(k->rate, 4000);
    assert_int_equal(k->state, VT_CAMPAIGN_PAUSED);
    a = connect_worker_again(f->c, "a", ANYTHING);
    assert_int_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_RUNNING, err, sizeof err), 0);
    vt_lease_offer(f->c, a);
    assert_int_equal(lease_of(f->c, a)->rate, 4000); /* alone: the whole new budget */

    assert_int_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_CANCELLED, err, sizeof err), 0);
    assert_int_not_equal(vt_campaign_set_rate(f->c, k, 100, &told, err, sizeof err), 0);
    assert_non_null(strstr(err, "cancelled"));
}

/* The status object counts shards done, leased and pending as leases move. */
static void test_status_counts_shards(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *a = connect_worker(f->c, "a", "site-a", ANYTHING);
    struct vt_worker *b = connect_worker(f->c, "b", "site-b", ANYTHING);
    vt_lease_offer(f->c, a);
    progress(f->c, a, 0, true);
    vt_lease_offer(f->c, a);
    vt_lease_offer(f->c, b);
    json_t *st = vt_campaign_status(f->c, k);
    assert_non_null(st);
    json_t *sh = json_object_get(st, "shards");
    assert_int_equal(json_integer_value(json_object_get(sh, "total")), k->nshards);
    assert_int_equal(json_integer_value(json_object_get(sh, "done")), 1);
    assert_int_equal(json_integer_value(json_object_get(sh, "leased")), 2);
    assert_int_equal(json_integer_value(json_object_get(sh, "pending")), k->nshards - 3);
    assert_int_equal(json_array_size(json_object_get(st, "workers")), 2);
    json_decref(st);
}

/* --every: a complete campaign starts its next run a period after the last
 * one started, with every slot fresh; a restart keeps the new run. */
static void test_recurring_runs(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = vt_campaign_start(f->c, "daily", "1.0.0.0/16", "23,80", 1000, 1, 1, 60,
                                              false, err, sizeof err);
    if (!k)
        fail_msg("%s", err);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    for (unsigned n = 0; n < k->nshards; n++) {
        vt_lease_offer(f->c, w);
        progress(f->c, w, 0, true);
    }
    int64_t t0 = k->run_started_ms;
    vt_campaigns_tick(f->c, t0 + 1000);
    assert_int_equal(k->state, VT_CAMPAIGN_COMPLETE);
    vt_campaigns_tick(f->c, t0 + 30000); /* not due yet */
    assert_int_equal(k->state, VT_CAMPAIGN_COMPLETE);
    assert_int_equal(k->run, 1);
    vt_campaigns_tick(f->c, t0 + 60000);
    assert_int_equal(k->state, VT_CAMPAIGN_RUNNING);
    assert_int_equal(k->run, 2);
    for (unsigned s = 0; s < k->nshards; s++) {
        assert_false(k->shard[s].slot[0].finished);
        assert_int_equal(k->shard[s].slot[0].done, 0);
        assert_int_equal(k->shard[s].slot[0].lease_id, 0);
    }
    vt_lease_offer(f->c, w);
    struct vt_lease *l = lease_of(f->c, w);
    progress(f->c, w, 9, false);
    uint64_t id = l->id;
    unsigned shard = l->shard;

    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    k = vt_campaign_by_name(f->c, "daily");
    assert_non_null(k);
    assert_int_equal(k->run, 2);
    assert_int_equal(k->state, VT_CAMPAIGN_RUNNING);
    assert_int_equal(k->shard[shard].slot[0].done, 9);
    assert_int_equal(k->shard[shard].slot[0].lease_id, id);
    for (unsigned s = 0; s < k->nshards; s++)
        assert_false(k->shard[s].slot[0].finished); /* run 1's slots stay in run 1 */
}

/* A Hello's port ranges in any order, overlapping, are the set they describe
 * (once a bug: a list left unsorted for a binary search made the worker
 * ineligible, and thousands of ranges could allocate hundreds of MB). */
static void test_policy_ports_in_any_order(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);

    Vantage__Range scope = VANTAGE__RANGE__INIT, *scopes[1] = {&scope};
    scope.first = 0;
    scope.last = UINT32_MAX;
    Vantage__PortRange p80 = VANTAGE__PORT_RANGE__INIT, p23 = VANTAGE__PORT_RANGE__INIT,
                       p10 = VANTAGE__PORT_RANGE__INIT, *portv[3] = {&p80, &p23, &p10};
    p80.first = p80.last = 80;
    p23.first = p23.last = 23;
    p10.first = 10; /* overlaps 23 */
    p10.last = 30;
    Vantage__Policy pol = VANTAGE__POLICY__INIT;
    pol.scope = scopes;
    pol.n_scope = 1;
    pol.ports = portv;
    pol.n_ports = 3;
    Vantage__Hello h = VANTAGE__HELLO__INIT;
    h.name = "w";
    h.software = "test_lease";
    h.policy = &pol;
    vt_worker_on_hello(f->c, w, &h);

    assert_true(vt_worker_allows_port(w, 23));
    assert_true(vt_worker_allows_port(w, 80));
    assert_true(vt_worker_allows_port(w, 10));
    assert_false(vt_worker_allows_port(w, 31));
    assert_true(vt_lease_eligible(w, k));
    vt_lease_offer(f->c, w);
    assert_int_not_equal(w->lease_id, 0);
}

/* Progress with the batch seq that covers it (as the worker sends it). */
static void progress_seq(struct vt_coord *c, struct vt_worker *w, uint64_t id, uint64_t done,
                         bool finished, uint64_t seq, uint64_t dropped)
{
    Vantage__Progress p = VANTAGE__PROGRESS__INIT;
    p.lease_id = id;
    p.done = done;
    p.has_finished = finished;
    p.finished = finished;
    p.has_batch_seq = true;
    p.batch_seq = seq;
    p.has_dropped = dropped != 0;
    p.dropped = dropped;
    vt_lease_on_progress(c, w, &p);
}

/* "Finished" means stored: a finished arc whose batches are not durable yet
 * neither finishes its slot nor completes the campaign; the worker is free
 * meanwhile; once the batches up to the seq are durable, both happen. */
static void test_finished_means_stored(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    for (unsigned n = 0; n < k->nshards; n++) {
        vt_lease_offer(f->c, w);
        struct vt_lease *l = lease_of(f->c, w);
        struct vt_slot *sl = slot_of(l);
        uint64_t steps = k->shard[l->shard].steps, seq = 10 * (n + 1);
        progress_seq(f->c, w, l->id, steps / 2, false, seq - 5, 0);
        assert_int_equal(sl->done, 0); /* batch seq-5 is not stored yet */
        progress_seq(f->c, w, l->id, steps, true, seq, 0);
        assert_false(sl->finished);
        assert_int_equal(w->lease_id, 0); /* free for other work */
        assert_true(l->active);           /* but the slot waits */
        vt_campaigns_tick(f->c, vt_now_ms());
        assert_int_equal(k->state, VT_CAMPAIGN_RUNNING);
        w->durable_seq = seq - 1;
        vt_leases_on_durable(f->c);
        assert_false(sl->finished);
        w->durable_seq = seq;
        vt_leases_on_durable(f->c);
        assert_true(sl->finished);
        assert_false(l->active);
    }
    vt_campaigns_tick(f->c, vt_now_ms());
    assert_int_equal(k->state, VT_CAMPAIGN_COMPLETE);
}

/* A finishing lease whose worker stays away lapses: the slot goes back at
 * its durable checkpoint, never counted finished. */
static void test_finishing_lease_of_absent_worker_lapses(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    vt_lease_offer(f->c, w);
    struct vt_lease *l = lease_of(f->c, w);
    progress_seq(f->c, w, l->id, 100, false, 0, 0);
    progress_seq(f->c, w, l->id, k->shard[l->shard].steps, true, 7, 0);
    w->last_seen_ms = vt_mono_ms() - 2 * VT_ONLINE_MS;
    l->deadline_ms = vt_mono_ms() - 1;
    vt_leases_tick(f->c, vt_mono_ms());
    assert_false(l->active);
    assert_false(slot_of(l)->finished);
    assert_int_equal(slot_of(l)->done, 100);
}

/* Lease ids are never given twice, also when the coordinator crashed before
 * the lease records reached the store. */
static void test_lease_ids_never_reissued(void **state)
{
    struct fixture *f = *state;
    start(f->c, "iot", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    vt_lease_offer(f->c, w);
    uint64_t first = w->lease_id;
    assert_int_not_equal(first, 0);
    char key[64];
    snprintf(key, sizeof key, "lease/%016llx", (unsigned long long)first);
    /* the crash: the (unsynced) lease record is gone */
    assert_int_equal(vt_meta_delete(f->c->store, key, true), 0);
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    assert_null(vt_lease_by_id(f->c, first));
    w = connect_worker_again(f->c, "w", ANYTHING);
    vt_lease_offer(f->c, w);
    assert_true(w->lease_id > first);
}

/* Deadlines are on the monotonic clock: a wall-clock step cannot lapse them. */
static void test_deadlines_are_monotonic(void **state)
{
    struct fixture *f = *state;
    start(f->c, "iot", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    vt_lease_offer(f->c, w);
    struct vt_lease *l = lease_of(f->c, w);
    int64_t left = l->deadline_ms - vt_mono_ms();
    assert_true(left > VT_LEASE_MS - 1000 && left <= VT_LEASE_MS);
    /* a tick given the wall clock (an hour ahead, as after an NTP step) is
     * still measured against the monotonic deadline */
    vt_leases_tick(f->c, vt_mono_ms());
    assert_true(l->active);
}

/* Hello after a restart of the worker (it runs nothing): the lease it held
 * ends at once, keeping its checkpoint, and is offered again. */
static void test_reconcile_on_hello(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    vt_lease_offer(f->c, w);
    struct vt_lease *l = lease_of(f->c, w);
    progress(f->c, w, 33, false);
    vt_lease_reconcile(f->c, w, l->id, true); /* still runs it: goes on */
    assert_true(l->active);
    vt_lease_reconcile(f->c, w, 0, true); /* restarted: lost it */
    assert_false(l->active);
    assert_int_equal(w->lease_id, 0);
    assert_int_equal(slot_of(l)->done, 33);
    /* a cancelled campaign's lease named at the next Hello is not revived */
    vt_lease_offer(f->c, w);
    struct vt_lease *l2 = lease_of(f->c, w);
    assert_int_equal(vt_campaign_set_state(f->c, k, VT_CAMPAIGN_CANCELLED, err, sizeof err), 0);
    vt_lease_reconcile(f->c, w, l2->id, true);
    assert_false(l2->active);
    assert_false(vt_lease_live(l2));
}

/* A slot whose scan lost answers is scanned again (K = 1), a bounded number
 * of times; with K > 1 it is flagged instead. */
static void test_dropped_answers(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "one", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    vt_lease_offer(f->c, w);
    struct vt_lease *l = lease_of(f->c, w);
    unsigned shard = l->shard;
    struct vt_slot *sl = slot_of(l);
    progress_seq(f->c, w, l->id, k->shard[shard].steps, true, 0, 3);
    assert_false(sl->finished);
    assert_int_equal(sl->done, 0);
    assert_int_equal(sl->redos, 1);
    for (unsigned i = 0; i < VT_MAX_REDOS; i++) {
        vt_lease_offer(f->c, w);
        l = lease_of(f->c, w);
        assert_int_equal(l->shard, shard); /* its own slot first */
        progress_seq(f->c, w, l->id, k->shard[shard].steps, true, 0, 1);
    }
    assert_true(sl->finished);
    assert_true(sl->incomplete);

    struct vt_campaign *k2 =
        vt_campaign_start(f->c, "two", "2.0.0.0/16", "23", 1000, 2, 1, 0, false, err, sizeof err);
    assert_non_null(k2);
    vt_campaign_set_state(f->c, k, VT_CAMPAIGN_CANCELLED, err, sizeof err);
    vt_lease_offer(f->c, w);
    l = lease_of(f->c, w);
    assert_ptr_equal(l->campaign, k2);
    progress_seq(f->c, w, l->id, k2->shard[l->shard].steps, true, 0, 5);
    assert_true(slot_of(l)->finished);
    assert_true(slot_of(l)->incomplete);
    json_t *st = vt_campaign_status(f->c, k2);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(st, "shards"), "incomplete_slots")), 1);
    json_decref(st);
}

/* A worker behind on opt-outs is offered nothing until it has them. */
static void test_optout_generation_gates_work(void **state)
{
    struct fixture *f = *state;
    start(f->c, "iot", 1000, 1);
    assert_int_equal(vt_optout_add(f->c, "1.0.200.0/24", "owner asked", err, sizeof err), 0);
    assert_int_equal(f->c->optout_gen, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    assert_int_equal(w->optout_gen, 0);
    vt_lease_offer(f->c, w);
    assert_int_equal(w->lease_id, 0);
    w->optout_gen = 1; /* it said so in a Heartbeat */
    vt_lease_offer(f->c, w);
    assert_int_not_equal(w->lease_id, 0);
    /* the generation survives a restart, and so does the entry */
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    assert_int_equal(f->c->optout_gen, 1);
    assert_true(vt_targets_contains(&f->c->optout, 0x0100c801));
    assert_int_equal(vt_optout_remove(f->c, "1.0.200.0/24", err, sizeof err), 0);
    assert_int_equal(f->c->optout_gen, 2);
    assert_false(vt_targets_contains(&f->c->optout, 0x0100c801));
}

/* Scoped partners get work: with one worker allowed 1.0.0.0/17 and one the
 * whole /16, the campaign is cut into cells along the scopes; the /17 worker
 * gets leases, only inside its scope, and both together finish it. */
static void test_scoped_partners_get_work(void **state)
{
    struct fixture *f = *state;
    struct vt_worker *half =
        connect_worker(f->c, "half", "a", (struct policy){0x01000000, 0x01007fff, 1, 65535, 0});
    struct vt_worker *all = connect_worker(f->c, "all", "b", ANYTHING);
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    assert_int_equal(k->ncells, 2);
    assert_true(vt_lease_eligible(half, k));
    unsigned got_half = 0;
    for (int round = 0; round < 1000 && k->state == VT_CAMPAIGN_RUNNING; round++) {
        struct vt_worker *ws[2] = {half, all};
        for (int i = 0; i < 2; i++) {
            vt_lease_offer(f->c, ws[i]);
            if (!ws[i]->lease_id)
                continue;
            struct vt_lease *l = lease_of(f->c, ws[i]);
            const struct vt_targets *t = &k->cell[k->shard[l->shard].cell].targets;
            if (ws[i] == half) {
                got_half++;
                for (size_t j = 0; j < t->n; j++)
                    assert_true(t->r[j].first >= 0x01000000 && t->r[j].last <= 0x01007fff);
            }
            progress(f->c, ws[i], k->shard[l->shard].steps, true);
        }
        vt_campaigns_tick(f->c, vt_now_ms());
    }
    assert_int_equal(k->state, VT_CAMPAIGN_COMPLETE);
    assert_true(got_half > 0);
    /* the cells cover the targets exactly once */
    uint64_t n = 0;
    for (unsigned i = 0; i < k->ncells; i++)
        n += vt_targets_count(&k->cell[i].targets);
    assert_int_equal(n, 65536);
    /* and a restart rebuilds the same cells and arcs */
    unsigned ncells = k->ncells, nshards = k->nshards;
    uint64_t first_last = k->shard[nshards - 1].first;
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    k = vt_campaign_by_name(f->c, "iot");
    assert_int_equal(k->ncells, ncells);
    assert_int_equal(k->nshards, nshards);
    assert_int_equal(k->shard[nshards - 1].first, first_last);
}

/* A finishing lease survives a restart as finishing: the worker's newer
 * lease stays its own, and the old slot finishes once its batches are stored. */
static void test_finishing_survives_restart(void **state)
{
    struct fixture *f = *state;
    struct vt_campaign *k = start(f->c, "iot", 1000, 1);
    struct vt_worker *w = connect_worker(f->c, "w", "a", ANYTHING);
    vt_lease_offer(f->c, w);
    struct vt_lease *a = lease_of(f->c, w);
    uint64_t ida = a->id;
    unsigned shard_a = a->shard;
    progress_seq(f->c, w, ida, k->shard[shard_a].steps, true, 5, 0); /* batch 5 not stored */
    vt_lease_offer(f->c, w);
    uint64_t idb = lease_of(f->c, w)->id;
    assert_int_not_equal(idb, ida);
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    k = vt_campaign_by_name(f->c, "iot");
    w = vt_worker_by_name(f->c, "w");
    assert_int_equal(w->lease_id, idb); /* the lease it runs, not the finishing one */
    struct vt_lease *a2 = vt_lease_by_id(f->c, ida);
    assert_true(a2->active && a2->finishing);
    assert_false(k->shard[shard_a].slot[a2->slot].finished);
    assert_int_equal(k->finishing_leases, 1);
    w->durable_seq = 5;
    vt_leases_on_durable(f->c);
    assert_true(k->shard[shard_a].slot[a2->slot].finished);
    assert_int_equal(k->finishing_leases, 0);
}

/* A campaign with a long port list resumes after a restart (the stored list
 * is never cut short), and an absurd rate is refused or survived, not a crash. */
static void test_long_port_list_and_huge_rate(void **state)
{
    struct fixture *f = *state;
    char ports[4096] = "";
    for (int p = 1; p < 1200; p += 2)
        snprintf(ports + strlen(ports), sizeof ports - strlen(ports), "%s%d", p > 1 ? "," : "", p);
    struct vt_campaign *k =
        vt_campaign_start(f->c, "many", "1.0.0.0/24", ports, 1000, 1, 1, 0, false, err, sizeof err);
    if (!k)
        fail_msg("%s", err);
    unsigned nshards = k->nshards;
    coord_close(f->c);
    f->c = coord_open(f->dir, f->keydir);
    k = vt_campaign_by_name(f->c, "many");
    assert_int_equal(k->ports.n, 600);
    assert_int_equal(k->nshards, nshards);
    struct vt_campaign *fast = vt_campaign_start(
        f->c, "fast", "1.0.0.0/24", "23", (uint64_t)1 << 62, 1, 1, 0, false, err, sizeof err);
    assert_non_null(fast);
    assert_true(fast->nshards >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shards_partition_the_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_is_respected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_without_route_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_vantage_life_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_of_others_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_distinct_sites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_site_never_doubles_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lapse_requeues_with_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lapse_without_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_restores_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_rate_reshares_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_counts_shards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recurring_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_ports_in_any_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finished_means_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finishing_lease_of_absent_worker_lapses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lease_ids_never_reissued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadlines_are_monotonic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_on_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optout_generation_gates_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scoped_partners_get_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finishing_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_port_list_and_huge_rate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
