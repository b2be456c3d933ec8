/* lease.c: who holds which slot of which shard, until when, at what rate.
 *
 * A worker that asks for work gets the first slot it may take: a running
 * campaign whose targets and ports its local policy allows, a shard slot not
 * finished and not leased, on a shard where its site holds no other slot (K
 * vantages means K distinct sites). The lease resumes the slot's checkpoint.
 * Progress renews the deadline and moves the checkpoint; a lease without
 * progress for VT_LEASE_MS lapses and its slot goes back to the queue.
 *
 * Leases are persisted (meta lease/<id>), also after they end, so a restarted
 * coordinator still knows whose late results to accept. A campaign's rate is
 * one budget shared equally by its active leases, never above a worker's own
 * --max-rate. */
#include "coord.h"

#include <inttypes.h>
#include <string.h>

bool vt_lease_eligible(const struct vt_worker *w, const struct vt_campaign *k)
{
    if (w->revoked || !w->hello ||
        (!strcmp(w->refused, k->name) && vt_now_ms() < w->refused_until_ms))
        return false;
    for (size_t i = 0; i < k->ports.n; i++)
        if (!vt_worker_allows_port(w, k->ports.port[i]))
            return false;
    /* targets ⊆ scope: nothing is left of targets − scope */
    struct vt_targets rest;
    vt_targets_init(&rest);
    bool ok = true;
    for (size_t i = 0; ok && i < k->targets.n; i++)
        ok = vt_targets_add_range(&rest, k->targets.r[i].first, k->targets.r[i].last) == 0;
    ok = ok && vt_targets_subtract(&rest, &w->scope) == 0 && vt_targets_count(&rest) == 0;
    vt_targets_free(&rest);
    return ok;
}

struct vt_lease *vt_lease_by_id(struct vt_coord *c, uint64_t id)
{
    size_t lo = 0, hi = c->nleases; /* ids ascend with the array */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->leases[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nleases && c->leases[lo]->id == id ? c->leases[lo] : NULL;
}

static int save(struct vt_coord *c, const struct vt_lease *l)
{
    json_t *o =
        json_pack("{s:I, s:s, s:i, s:i, s:i, s:s, s:b}", "id", (json_int_t)l->id, "campaign",
                  l->campaign->name, "run", (int)l->campaign->run, "shard", (int)l->shard, "slot",
                  (int)l->slot, "worker", l->worker->name, "active", l->active);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return -1;
    char key[64];
    snprintf(key, sizeof key, "lease/%016" PRIx64, l->id);
    int rc = vt_state_put(c, key, text);
    free(text);
    return rc;
}

static struct vt_lease *append(struct vt_coord *c)
{
    struct vt_lease **n = realloc(c->leases, (c->nleases + 1) * sizeof *n);
    if (!n)
        return NULL;
    c->leases = n;
    struct vt_lease *l = calloc(1, sizeof *l);
    if (l)
        c->leases[c->nleases++] = l;
    return l;
}

static int activate(struct vt_coord *c, struct vt_lease *l)
{
    if (c->nactive == c->cap_active) {
        size_t cap = c->cap_active ? 2 * c->cap_active : 64;
        struct vt_lease **n = realloc(c->active, cap * sizeof *n);
        if (!n)
            return -1;
        c->active = n;
        c->cap_active = cap;
    }
    c->active[c->nactive++] = l;
    l->active = true;
    l->campaign->active_leases++;
    return 0;
}

static void deactivate(struct vt_coord *c, struct vt_lease *l)
{
    for (size_t i = 0; i < c->nactive; i++)
        if (c->active[i] == l) {
            c->active[i] = c->active[--c->nactive];
            break;
        }
    l->active = false;
    l->campaign->active_leases--;
}

static int load_one(void *arg, const char *key, const void *val, size_t len)
{
    struct vt_coord *c = arg;
    json_t *o = json_loadb(val, len, 0, NULL);
    json_int_t id = 0;
    const char *camp = NULL, *worker = NULL;
    int run = 0, shard = 0, slot = 0, active = 0;
    if (!o || json_unpack(o, "{s:I, s:s, s:i, s:i, s:i, s:s, s:b}", "id", &id, "campaign", &camp,
                          "run", &run, "shard", &shard, "slot", &slot, "worker", &worker, "active",
                          &active) != 0) {
        vt_log("ignoring unreadable record %s in the store", key);
        json_decref(o);
        return 0;
    }
    struct vt_campaign *k = vt_campaign_by_name(c, camp);
    struct vt_worker *w = vt_worker_by_name(c, worker);
    if ((uint64_t)id >= c->next_lease_id)
        c->next_lease_id = (uint64_t)id + 1;
    if (k && w && (unsigned)shard < k->nshards && (unsigned)slot < k->vantages) {
        struct vt_lease *l = append(c);
        if (!l) {
            json_decref(o);
            return -1;
        }
        l->id = (uint64_t)id;
        l->campaign = k;
        l->shard = (unsigned)shard;
        l->slot = (unsigned)slot;
        l->worker = w;
        /* A lease held when the coordinator stopped stays with its worker, who
         * gets a fresh deadline to report in. */
        if (active && (unsigned)run == k->run && k->state == VT_CAMPAIGN_RUNNING &&
            !k->shard[shard].slot[slot].finished && activate(c, l) == 0) {
            l->deadline_ms = vt_now_ms() + VT_LEASE_MS;
            k->shard[shard].slot[slot].lease_id = l->id;
            w->lease_id = l->id;
        }
    }
    json_decref(o);
    return 0;
}

int vt_leases_load(struct vt_coord *c)
{
    c->next_lease_id = 1;
    return vt_meta_scan(c->store, "lease/", load_one, c);
}

static void ranges_out(const struct vt_targets *t, Vantage__Range ***out, size_t *n,
                       Vantage__Range *store)
{
    for (size_t i = 0; i < t->n; i++) {
        vantage__range__init(&store[i]);
        store[i].first = t->r[i].first;
        store[i].last = t->r[i].last;
        out[0][i] = &store[i];
    }
    *n = t->n;
}

static void send_lease(struct vt_coord *c, struct vt_lease *l)
{
    struct vt_campaign *k = l->campaign;
    const struct vt_slot *sl = &k->shard[l->shard].slot[l->slot];
    Vantage__Lease m = VANTAGE__LEASE__INIT;
    m.lease_id = l->id;
    m.campaign = k->name;
    m.run = k->run;
    m.shard = l->shard;
    m.seed = k->seed;
    m.first_step = k->shard[l->shard].first;
    m.steps = k->shard[l->shard].steps;
    m.done = sl->done;
    m.rate = l->rate;
    m.probes = k->probes;
    m.deadline_ms = VT_LEASE_MS;
    Vantage__Range *tr = calloc(k->targets.n + 1, sizeof *tr),
                   **tp = calloc(k->targets.n + 1, sizeof *tp);
    Vantage__Range *br = calloc(c->optout.n + 1, sizeof *br),
                   **bp = calloc(c->optout.n + 1, sizeof *bp);
    Vantage__PortRange *pr = calloc(k->ports.n + 1, sizeof *pr),
                       **pp = calloc(k->ports.n + 1, sizeof *pp);
    if (tr && tp && br && bp && pr && pp) {
        ranges_out(&k->targets, &tp, &m.n_targets, tr);
        ranges_out(&c->optout, &bp, &m.n_blocklist, br);
        m.targets = tp;
        m.blocklist = bp;
        /* ports as ranges of consecutive numbers */
        size_t n = 0;
        for (size_t i = 0; i < k->ports.n; i++) {
            if (n && pr[n - 1].last + 1 == k->ports.port[i]) {
                pr[n - 1].last = k->ports.port[i];
                continue;
            }
            vantage__port_range__init(&pr[n]);
            pr[n].first = pr[n].last = k->ports.port[i];
            pp[n] = &pr[n];
            n++;
        }
        m.ports = pp;
        m.n_ports = n;
        Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
        env.version = VT_PROTOCOL_VERSION;
        env.body_case = VANTAGE__ENVELOPE__BODY_LEASE;
        env.lease = &m;
        vt_send_to(c, l->worker, &env);
    }
    free(tr), free(tp), free(br), free(bp), free(pr), free(pp);
}

static bool shard_finished(const struct vt_campaign *k, unsigned s)
{
    for (unsigned j = 0; j < k->vantages; j++)
        if (!k->shard[s].slot[j].finished)
            return false;
    return true;
}

/* An equal share of the campaign's budget, capped by the worker's own limit.
 * The others' shares follow at the next vt_leases_rebalance (each tick). */
static uint64_t share(struct vt_coord *c, const struct vt_campaign *k, const struct vt_worker *w)
{
    unsigned n = k->active_leases ? k->active_leases : 1;
    uint64_t r = k->rate / n ? k->rate / n : 1;
    return w->max_rate && r > w->max_rate ? w->max_rate : r;
}

void vt_lease_offer(struct vt_coord *c, struct vt_worker *w)
{
    if (w->lease_id || w->revoked || !w->hello)
        return;
    for (size_t i = 0; i < c->ncampaigns; i++) {
        struct vt_campaign *k = c->campaigns[i];
        if (k->state != VT_CAMPAIGN_RUNNING || !k->shard || !vt_lease_eligible(w, k))
            continue;
        /* Skip the shards finished for good; the hint only moves forward. */
        while (k->next_free < k->nshards && shard_finished(k, k->next_free))
            k->next_free++;
        for (unsigned s = k->next_free; s < k->nshards; s++) {
            struct vt_shard *sh = &k->shard[s];
            /* Candidates: slots neither finished nor leased. Best is the
             * slot this site already started, then an untouched one, then one
             * another site left half done. The site may hold no other slot of
             * this shard: K vantages are K distinct sites. */
            int pick = -1, rank = 3;
            for (unsigned j = 0; j < k->vantages; j++) {
                const struct vt_slot *sl = &sh->slot[j];
                if (sl->finished || sl->lease_id)
                    continue;
                int r = !strcmp(sl->site, w->site) ? 0 : !sl->site[0] ? 1 : 2;
                if (r < rank) {
                    rank = r;
                    pick = (int)j;
                }
            }
            bool site_elsewhere = false;
            for (unsigned j = 0; pick >= 0 && j < k->vantages; j++)
                if ((int)j != pick && !strcmp(sh->slot[j].site, w->site))
                    site_elsewhere = true;
            if (pick < 0 || site_elsewhere)
                continue;
            struct vt_lease *l = append(c);
            if (!l)
                return;
            l->id = c->next_lease_id++;
            l->campaign = k;
            l->shard = s;
            l->slot = (unsigned)pick;
            l->worker = w;
            if (activate(c, l) != 0)
                return;
            l->granted_ms = vt_now_ms();
            l->deadline_ms = l->granted_ms + VT_LEASE_MS;
            struct vt_slot *sl = &sh->slot[pick];
            /* With K > 1 a slot another site left half done starts over: its
             * first part must not count as this site's sighting, or a site
             * could end up covering part of one arc twice and the other
             * site's part once. With K = 1 any site may resume it. */
            if (rank == 2 && k->vantages > 1)
                sl->done = 0;
            snprintf(sl->site, sizeof sl->site, "%s", w->site);
            sl->lease_id = l->id;
            w->lease_id = l->id;
            save(c, l);
            vt_campaign_save_shard(c, k, s);
            l->rate = share(c, k, w); /* the others follow at the next rebalance */
            send_lease(c, l);
            vt_log("lease %" PRIu64 ": %s/%u shard %u/%u slot %d to %s (site %s) from step %" PRIu64
                   " of %" PRIu64 " at %" PRIu64 "/s",
                   l->id, k->name, k->run, s, k->nshards, pick, w->name, w->site, sl->done,
                   sh->steps, l->rate);
            return;
        }
    }
}

void vt_lease_end(struct vt_coord *c, struct vt_lease *l, bool cancel)
{
    if (!l->active)
        return;
    deactivate(c, l);
    struct vt_slot *sl = &l->campaign->shard[l->shard].slot[l->slot];
    if (sl->lease_id == l->id)
        sl->lease_id = 0;
    if (!sl->finished && sl->done == 0)
        sl->site[0] = '\0'; /* nothing done: any site may take it */
    if (l->worker->lease_id == l->id)
        l->worker->lease_id = 0;
    if (cancel && vt_worker_online(l->worker, vt_now_ms())) {
        Vantage__LeaseCancel m = VANTAGE__LEASE_CANCEL__INIT;
        m.lease_id = l->id;
        Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
        env.version = VT_PROTOCOL_VERSION;
        env.body_case = VANTAGE__ENVELOPE__BODY_CANCEL;
        env.cancel = &m;
        vt_send_to(c, l->worker, &env);
    }
    save(c, l);
    vt_campaign_save_shard(c, l->campaign, l->shard);
}

void vt_lease_on_progress(struct vt_coord *c, struct vt_worker *w, const Vantage__Progress *p)
{
    struct vt_lease *l = vt_lease_by_id(c, p->lease_id);
    if (!l || l->worker != w || !l->active) {
        vt_send_error(c, w, VANTAGE__ERROR__CODE__UNKNOWN, "lease %" PRIu64 " is not yours",
                      p->lease_id);
        return;
    }
    struct vt_campaign *k = l->campaign;
    struct vt_slot *sl = &k->shard[l->shard].slot[l->slot];
    uint64_t steps = k->shard[l->shard].steps;
    if (p->done > steps) {
        vt_complain(c, w, "progress %" PRIu64 " beyond the lease's %" PRIu64 " steps", p->done,
                    steps);
        return;
    }
    if (p->done > sl->done)
        sl->done = p->done;
    if (p->has_rate)
        w->rate = p->rate;
    l->deadline_ms = vt_now_ms() + VT_LEASE_MS;
    if (p->has_finished && p->finished) {
        sl->done = steps;
        sl->finished = true;
        vt_lease_end(c, l, false);
        return;
    }
    vt_campaign_save_shard(c, k, l->shard);
}

void vt_lease_on_refused(struct vt_coord *c, struct vt_worker *w, const Vantage__LeaseRefused *r)
{
    struct vt_lease *l = vt_lease_by_id(c, r->lease_id);
    if (!l || l->worker != w)
        return;
    vt_log("worker %s refused lease %" PRIu64 " of %s: %s", w->name, l->id, l->campaign->name,
           r->reason);
    /* Not offered that campaign again for a while (a failed scan may heal:
     * the worker asks again after 30 s; a policy refusal stands until the
     * worker says Hello with another policy, or an hour passes). */
    snprintf(w->refused, sizeof w->refused, "%s", l->campaign->name);
    w->refused_until_ms = vt_now_ms() + (strncmp(r->reason, "scan failed", 11) ? 3600000 : 30000);
    vt_lease_end(c, l, false);
}

void vt_leases_tick(struct vt_coord *c, int64_t now)
{
    for (size_t i = c->nactive; i-- > 0;) { /* backwards: ending one moves the last here */
        struct vt_lease *l = c->active[i];
        if (now > l->deadline_ms) {
            vt_log("lease %" PRIu64 " of worker %s lapsed (no progress for %d s); shard %u goes "
                   "back to the queue at step %" PRIu64,
                   l->id, l->worker->name, VT_LEASE_MS / 1000, l->shard,
                   l->campaign->shard[l->shard].slot[l->slot].done);
            vt_lease_end(c, l, true);
        }
    }
}

void vt_leases_rebalance(struct vt_coord *c)
{
    for (size_t j = 0; j < c->nactive; j++) {
        struct vt_lease *l = c->active[j];
        uint64_t r = share(c, l->campaign, l->worker);
        /* small drifts are not worth a message to every worker */
        if (r == l->rate || (r > l->rate ? r - l->rate : l->rate - r) * 20 < l->rate)
            continue;
        l->rate = r;
        Vantage__RateChange m = VANTAGE__RATE_CHANGE__INIT;
        m.lease_id = l->id;
        m.rate = r;
        Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
        env.version = VT_PROTOCOL_VERSION;
        env.body_case = VANTAGE__ENVELOPE__BODY_RATE;
        env.rate = &m;
        vt_send_to(c, l->worker, &env);
    }
}

void vt_leases_push_optout(struct vt_coord *c, uint32_t first, uint32_t last)
{
    Vantage__Range r = VANTAGE__RANGE__INIT, *rp = &r;
    r.first = first;
    r.last = last;
    Vantage__BlocklistAdd m = VANTAGE__BLOCKLIST_ADD__INIT;
    m.ranges = &rp;
    m.n_ranges = 1;
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    env.version = VT_PROTOCOL_VERSION;
    env.body_case = VANTAGE__ENVELOPE__BODY_BLOCKLIST;
    env.blocklist = &m;
    for (size_t i = 0; i < c->nworkers; i++)
        if (c->workers[i]->lease_id)
            vt_send_to(c, c->workers[i], &env);
}
