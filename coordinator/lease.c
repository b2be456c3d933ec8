/* lease.c: who holds which slot of which shard, until when, at what rate.
 *
 * This file owns the lease state: the lease records, each slot's lease_id,
 * site and checkpoint, and each worker's lease_id. Nothing else writes them;
 * campaigns, the registry, ingest and the session call the functions below
 * (grant, progress, end_for_campaign, end_for_worker, reconcile, on_durable).
 *
 * A worker that asks for work gets the first slot it may take: a running
 * campaign, a cell of it that the worker's local policy covers (targets and
 * ports), a shard slot not finished and not leased, on a shard where its site
 * holds no other slot (K vantages means K distinct sites). The lease resumes
 * the slot's checkpoint.
 *
 * "Finished" means stored. Progress says how far the scan got and which
 * result batch covers it (batch_seq); the checkpoint moves only once the
 * worker's durably stored batches reach that seq (vt_leases_on_durable, after
 * each group commit). A finished arc whose batches are not all stored keeps
 * its lease "finishing": the worker is free for other work, the slot is not
 * finished until the store has every result of it.
 *
 * Orders reach a worker that was away: every Hello and Heartbeat says which
 * lease the worker runs (vt_lease_reconcile). A lease the coordinator no
 * longer holds live is answered with LeaseCancel, each time the worker names
 * it, so a cancel, pause or revoke issued while the worker was offline stops
 * its scan at its next word.
 *
 * Deadlines are on the monotonic clock. A lease without progress for
 * VT_LEASE_MS lapses and its slot goes back to the queue at its (durable)
 * checkpoint. Lease ids are never reissued, even after a crash: ids are
 * reserved in blocks whose high-water mark is synced to the store before the
 * first id of a block goes out (meta.c). Leases are persisted (meta
 * lease/<id>), also after they end, so a restarted coordinator still knows
 * whose late results to accept. A campaign's rate is one budget shared
 * equally by its active leases, never above a worker's own --max-rate. */
#include "coord.h"

#include <inttypes.h>
#include <string.h>

/* ---- eligibility ---- */

static bool ports_allowed(const struct vt_worker *w, const struct vt_campaign *k)
{
    for (size_t i = 0; i < k->ports.n; i++)
        if (!vt_worker_allows_port(w, k->ports.port[i]))
            return false;
    return true;
}

static bool barred(const struct vt_worker *w, const struct vt_campaign *k)
{
    return w->revoked || !w->hello ||
           (!strcmp(w->refused, k->name) && vt_mono_ms() < w->refused_until_ms);
}

bool vt_lease_cell_eligible(const struct vt_worker *w, const struct vt_campaign *k, unsigned cell)
{
    return !barred(w, k) && ports_allowed(w, k) &&
           vt_targets_within(&k->cell[cell].targets, &w->scope);
}

bool vt_lease_eligible(const struct vt_worker *w, const struct vt_campaign *k)
{
    if (barred(w, k) || !ports_allowed(w, k))
        return false;
    for (unsigned i = 0; i < k->ncells; i++)
        if (vt_targets_within(&k->cell[i].targets, &w->scope))
            return true;
    return false;
}

/* ---- the lease table ---- */

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

bool vt_lease_live(const struct vt_lease *l)
{
    return l && l->active && !l->finishing && l->campaign->state == VT_CAMPAIGN_RUNNING;
}

static int save(struct vt_coord *c, const struct vt_lease *l)
{
    json_t *o = json_pack("{s:I, s:s, s:i, s:i, s:i, s:s, s:b, s:b, s:I, s:I}", "id",
                          (json_int_t)l->id, "campaign", l->campaign->name, "run", (int)l->run,
                          "shard", (int)l->shard, "slot", (int)l->slot, "worker", l->worker->name,
                          "active", l->active, "finishing", l->finishing, "pend_seq",
                          (json_int_t)l->pend_seq, "pend_done", (json_int_t)l->pend_done);
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
    json_int_t id = 0, pend_seq = 0, pend_done = 0;
    const char *camp = NULL, *worker = NULL;
    int run = 0, shard = 0, slot = 0, active = 0, finishing = 0;
    if (!o || json_unpack(o, "{s:I, s:s, s:i, s:i, s:i, s:s, s:b, s?b, s?I, s?I}", "id", &id,
                          "campaign", &camp, "run", &run, "shard", &shard, "slot", &slot, "worker",
                          &worker, "active", &active, "finishing", &finishing, "pend_seq",
                          &pend_seq, "pend_done", &pend_done) != 0) {
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
        l->run = (unsigned)run;
        l->shard = (unsigned)shard;
        l->slot = (unsigned)slot;
        l->worker = w;
        /* A lease held when the coordinator stopped stays with its worker, who
         * gets a fresh deadline to report in; a finishing one goes on waiting
         * for its results. Records come in id order, so of two running leases
         * of one worker (a record whose end was lost) the newer wins. */
        if (active && (unsigned)run == k->run && k->state == VT_CAMPAIGN_RUNNING &&
            !k->shard[shard].slot[slot].finished) {
            struct vt_lease *old = w->lease_id ? vt_lease_by_id(c, w->lease_id) : NULL;
            if (!finishing && old && old->active && !old->finishing) {
                deactivate(c, old);
                struct vt_slot *os = &old->campaign->shard[old->shard].slot[old->slot];
                if (os->lease_id == old->id)
                    os->lease_id = 0;
                w->lease_id = 0;
            }
            if (activate(c, l) == 0) {
                l->granted_ms = vt_mono_ms();
                l->deadline_ms = l->granted_ms + VT_LEASE_MS;
                k->shard[shard].slot[slot].lease_id = l->id;
                if (finishing) {
                    l->finishing = true;
                    k->finishing_leases++;
                    l->pend_seq = (uint64_t)pend_seq;
                    l->pend_done = (uint64_t)pend_done;
                    l->pend_finished = true;
                } else {
                    w->lease_id = l->id;
                }
            }
        }
    }
    json_decref(o);
    return 0;
}

int vt_leases_load(struct vt_coord *c)
{
    c->next_lease_id = 1;
    if (vt_meta_scan(c->store, "lease/", load_one, c) != 0)
        return -1;
    /* Ids up to the synced high-water mark may have gone out without their
     * record reaching the store: never hand them out again. */
    uint64_t hwm = vt_lease_ids_reserved(c);
    if (hwm > c->next_lease_id)
        c->next_lease_id = hwm;
    c->lease_ids_hwm = c->next_lease_id;
    return 0;
}

/* ---- messages to the worker ---- */

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
    const struct vt_shard *sh = &k->shard[l->shard];
    const struct vt_cell *cell = &k->cell[sh->cell];
    Vantage__Lease m = VANTAGE__LEASE__INIT;
    m.lease_id = l->id;
    m.campaign = k->name;
    m.run = k->run;
    m.shard = l->shard;
    m.seed = cell->seed;
    m.first_step = sh->first;
    m.steps = sh->steps;
    m.done = sh->slot[l->slot].done;
    m.rate = l->rate;
    m.probes = k->probes;
    m.has_banners = k->banners;
    m.banners = k->banners;
    m.deadline_ms = VT_LEASE_MS;
    Vantage__Range *tr = calloc(cell->targets.n + 1, sizeof *tr),
                   **tp = calloc(cell->targets.n + 1, sizeof *tp);
    Vantage__Range *br = calloc(c->optout.n + 1, sizeof *br),
                   **bp = calloc(c->optout.n + 1, sizeof *bp);
    Vantage__PortRange *pr = calloc(k->ports.n + 1, sizeof *pr),
                       **pp = calloc(k->ports.n + 1, sizeof *pp);
    if (tr && tp && br && bp && pr && pp) {
        ranges_out(&cell->targets, &tp, &m.n_targets, tr);
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
        vt_send_body(c, l->worker, VANTAGE__ENVELOPE__BODY_LEASE, &m);
    }
    free(tr), free(tp), free(br), free(bp), free(pr), free(pp);
}

void vt_lease_send_cancel(struct vt_coord *c, struct vt_worker *w, uint64_t id, const char *why)
{
    Vantage__LeaseCancel m = VANTAGE__LEASE_CANCEL__INIT;
    m.lease_id = id;
    m.reason = (char *)why;
    vt_send_body(c, w, VANTAGE__ENVELOPE__BODY_CANCEL, &m);
}

/* ---- granting ---- */

static bool shard_finished(const struct vt_campaign *k, unsigned s)
{
    for (unsigned j = 0; j < k->vantages; j++)
        if (!k->shard[s].slot[j].finished)
            return false;
    return true;
}

/* An equal share of the campaign's budget, capped by the worker's own limit.
 * The others' shares follow at the next vt_leases_rebalance (each tick). */
static uint64_t share(const struct vt_campaign *k, const struct vt_worker *w)
{
    unsigned scanning = k->active_leases - k->finishing_leases; /* finishing ones send nothing */
    unsigned n = scanning ? scanning : 1;
    uint64_t r = k->rate / n ? k->rate / n : 1;
    return w->max_rate && r > w->max_rate ? w->max_rate : r;
}

/* The slot of shard s that w should take, or -1. Best is the slot this site
 * already started, then an untouched one, then one another site left half
 * done. The site may hold no other slot of this shard: K vantages are K
 * distinct sites. *rank says which of the three it is. */
static int pick_slot(const struct vt_campaign *k, unsigned s, const struct vt_worker *w, int *rank)
{
    const struct vt_shard *sh = &k->shard[s];
    int pick = -1;
    *rank = 3;
    for (unsigned j = 0; j < k->vantages; j++) {
        const struct vt_slot *sl = &sh->slot[j];
        if (sl->finished || sl->lease_id)
            continue;
        int r = !strcmp(sl->site, w->site) ? 0 : !sl->site[0] ? 1 : 2;
        if (r < *rank) {
            *rank = r;
            pick = (int)j;
        }
    }
    for (unsigned j = 0; pick >= 0 && j < k->vantages; j++)
        if ((int)j != pick && !strcmp(sh->slot[j].site, w->site))
            return -1;
    return pick;
}

static void grant(struct vt_coord *c, struct vt_worker *w, struct vt_campaign *k, unsigned s,
                  int pick, int rank)
{
    /* The id is reserved durably before it can reach a worker. */
    if (c->next_lease_id >= c->lease_ids_hwm && vt_lease_ids_reserve(c) != 0)
        return;
    struct vt_lease *l = append(c);
    if (!l)
        return;
    l->id = c->next_lease_id++;
    l->campaign = k;
    l->run = k->run;
    l->shard = s;
    l->slot = (unsigned)pick;
    l->worker = w;
    if (activate(c, l) != 0)
        return;
    l->granted_ms = vt_mono_ms();
    l->deadline_ms = l->granted_ms + VT_LEASE_MS;
    struct vt_shard *sh = &k->shard[s];
    struct vt_slot *sl = &sh->slot[pick];
    /* With K > 1 a slot another site left half done starts over: its first
     * part must not count as this site's sighting, or a site could end up
     * covering part of one arc twice and the other site's part once. With
     * K = 1 any site may resume it. */
    if (rank == 2 && k->vantages > 1)
        sl->done = 0;
    snprintf(sl->site, sizeof sl->site, "%s", w->site);
    sl->lease_id = l->id;
    w->lease_id = l->id;
    save(c, l);
    vt_campaign_save_shard(c, k, s);
    l->rate = share(k, w); /* the others follow at the next rebalance */
    send_lease(c, l);
    vt_log("lease %" PRIu64 ": %s/%u shard %u/%u (cell %u) slot %d to %s (site %s) from step "
           "%" PRIu64 " of %" PRIu64 " at %" PRIu64 "/s",
           l->id, k->name, k->run, s, k->nshards, sh->cell, pick, w->name, w->site, sl->done,
           sh->steps, l->rate);
}

void vt_lease_offer(struct vt_coord *c, struct vt_worker *w)
{
    if (w->lease_id || w->revoked || !w->hello || w->optout_gen < c->optout_gen)
        return; /* a worker behind on opt-outs gets them before any work */
    for (size_t i = 0; i < c->ncampaigns; i++) {
        struct vt_campaign *k = c->campaigns[i];
        if (k->state != VT_CAMPAIGN_RUNNING || !k->shard || barred(w, k) || !ports_allowed(w, k))
            continue;
        /* Skip the shards finished for good; the hint only moves forward. */
        while (k->next_free < k->nshards && shard_finished(k, k->next_free))
            k->next_free++;
        bool ok[VT_MAX_CELLS];
        for (unsigned j = 0; j < k->ncells; j++)
            ok[j] = vt_targets_within(&k->cell[j].targets, &w->scope);
        for (unsigned s = k->next_free; s < k->nshards; s++) {
            if (!ok[k->shard[s].cell])
                continue;
            int rank, pick = pick_slot(k, s, w, &rank);
            if (pick >= 0) {
                grant(c, w, k, s, pick, rank);
                return;
            }
        }
    }
}

/* ---- checkpoints and ends ---- */

/* Ends a lease: the slot is free again at its checkpoint; `why` non-NULL
 * tells the worker to stop (now, or at its next word if it is away). */
static void end(struct vt_coord *c, struct vt_lease *l, const char *why)
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
    if (why && !l->finishing)
        vt_lease_send_cancel(c, l->worker, l->id, why);
    if (l->finishing)
        l->campaign->finishing_leases--;
    l->finishing = false;
    l->pend_seq = 0;
    save(c, l);
    vt_campaign_save_shard(c, l->campaign, l->shard);
}

/* A slot whose scan lost answers is not whole: with one vantage it is done
 * again (up to VT_MAX_REDOS times), with several it is flagged. */
static void finish_slot(struct vt_coord *c, struct vt_lease *l)
{
    struct vt_campaign *k = l->campaign;
    struct vt_slot *sl = &k->shard[l->shard].slot[l->slot];
    uint64_t steps = k->shard[l->shard].steps;
    if (l->dropped && k->vantages == 1 && sl->redos < VT_MAX_REDOS) {
        sl->redos++;
        sl->done = 0;
        vt_log("lease %" PRIu64 " of %s lost %" PRIu64 " answers: shard %u is scanned again", l->id,
               k->name, l->dropped, l->shard);
    } else {
        sl->done = steps;
        sl->finished = true;
        if (l->dropped) {
            sl->incomplete = true;
            vt_log("lease %" PRIu64 " of %s lost %" PRIu64 " answers: shard %u slot %u is "
                   "flagged incomplete",
                   l->id, k->name, l->dropped, l->shard, l->slot);
        }
    }
    end(c, l, NULL);
}

/* Applies a checkpoint whose results are all stored. */
static void apply(struct vt_coord *c, struct vt_lease *l, uint64_t done, bool finished)
{
    struct vt_slot *sl = &l->campaign->shard[l->shard].slot[l->slot];
    if (done > sl->done)
        sl->done = done;
    if (finished)
        finish_slot(c, l);
    else
        vt_campaign_save_shard(c, l->campaign, l->shard);
}

void vt_lease_on_progress(struct vt_coord *c, struct vt_worker *w, const Vantage__Progress *p)
{
    struct vt_lease *l = vt_lease_by_id(c, p->lease_id);
    if (!l || l->worker != w) {
        vt_send_error(c, w, VANTAGE__ERROR__CODE__UNKNOWN, "lease %" PRIu64 " is not yours",
                      p->lease_id);
        return;
    }
    if (!vt_lease_live(l) && !(l->active && l->finishing)) {
        vt_lease_send_cancel(c, w, l->id, "this lease has ended");
        return;
    }
    uint64_t steps = l->campaign->shard[l->shard].steps;
    if (p->done > steps) {
        vt_complain(c, w, "progress %" PRIu64 " beyond the lease's %" PRIu64 " steps", p->done,
                    steps);
        return;
    }
    if (p->has_rate)
        w->rate = p->rate;
    if (p->has_dropped && p->dropped > l->dropped)
        l->dropped = p->dropped;
    l->deadline_ms = vt_mono_ms() + VT_LEASE_MS;
    bool finished = p->has_finished && p->finished;
    uint64_t seq = p->has_batch_seq ? p->batch_seq : 0;
    bool becomes_finishing = finished && !l->finishing;
    if (becomes_finishing) {
        /* The worker is free for other work; the slot waits for its results. */
        l->finishing = true;
        l->campaign->finishing_leases++;
        if (w->lease_id == l->id)
            w->lease_id = 0;
    }
    if (seq <= w->durable_seq) {
        apply(c, l, p->done, finished);
        return;
    }
    /* Not stored yet: held until the batches up to seq are durable. */
    if (p->done >= l->pend_done || finished) {
        l->pend_done = p->done;
        l->pend_seq = seq;
        l->pend_finished = l->pend_finished || finished; /* a late, older word never unfinishes */
    }
    if (becomes_finishing)
        save(c, l); /* a restart keeps waiting for these results */
}

void vt_leases_on_durable(struct vt_coord *c)
{
    for (size_t i = c->nactive; i-- > 0;) { /* backwards: ending one moves the last here */
        struct vt_lease *l = c->active[i];
        if (l->pend_seq && l->worker->durable_seq >= l->pend_seq) {
            l->pend_seq = 0;
            apply(c, l, l->pend_done, l->pend_finished);
        }
    }
}

void vt_lease_on_refused(struct vt_coord *c, struct vt_worker *w, const Vantage__LeaseRefused *r)
{
    struct vt_lease *l = vt_lease_by_id(c, r->lease_id);
    if (!l || l->worker != w)
        return;
    char reason[256];
    vt_log("worker %s refused lease %" PRIu64 " of %s: %s", w->name, l->id, l->campaign->name,
           vt_escape(r->reason, reason, sizeof reason));
    /* Not offered that campaign again for a while (a failed scan may heal:
     * the worker asks again after 30 s; a policy refusal stands until the
     * worker says Hello with another policy, or an hour passes). */
    bool busy = !strncmp(r->reason, "this worker runs lease", 22); /* crossed on the wire */
    if (!busy) {
        snprintf(w->refused, sizeof w->refused, "%s", l->campaign->name);
        w->refused_until_ms =
            vt_mono_ms() + (strncmp(r->reason, "scan failed", 11) ? 3600000 : 30000);
    }
    end(c, l, NULL);
}

void vt_lease_end_for_campaign(struct vt_coord *c, struct vt_campaign *k, const char *why)
{
    for (size_t i = c->nactive; i-- > 0;)
        if (c->active[i]->campaign == k)
            end(c, c->active[i], why);
}

void vt_lease_end_for_worker(struct vt_coord *c, struct vt_worker *w, const char *why)
{
    for (size_t i = c->nactive; i-- > 0;)
        if (c->active[i]->worker == w)
            end(c, c->active[i], why);
}

void vt_lease_reconcile(struct vt_coord *c, struct vt_worker *w, uint64_t held, bool hello)
{
    int64_t now = vt_mono_ms();
    struct vt_lease *mine = w->lease_id ? vt_lease_by_id(c, w->lease_id) : NULL;
    if (held) {
        struct vt_lease *l = vt_lease_by_id(c, held);
        if (l && l->worker == w && vt_lease_live(l)) {
            l->deadline_ms = now + VT_LEASE_MS; /* it goes on */
            return;
        }
        if (l && l->worker == w && l->active && l->finishing)
            return; /* its scan is over; its results are on their way */
        /* Ended, lapsed, cancelled, another's, or unknown: stop it. Said
         * again at every beat that names it, so a lost message heals. */
        vt_lease_send_cancel(c, w, held,
                             !l || l->worker != w                        ? "unknown lease"
                             : l->campaign->state != VT_CAMPAIGN_RUNNING ? "campaign not running"
                                                                         : "lease ended");
        return;
    }
    /* It runs nothing: a lease we think it holds was lost (it restarted),
     * unless the grant is so fresh that the worker's word crossed it. */
    if (mine && vt_lease_live(mine) && (hello || now - mine->granted_ms >= VT_LEASE_SETTLE_MS))
        end(c, mine, NULL);
}

void vt_leases_tick(struct vt_coord *c, int64_t now)
{
    for (size_t i = c->nactive; i-- > 0;) { /* backwards: ending one moves the last here */
        struct vt_lease *l = c->active[i];
        /* A finishing lease waits for its worker's spool while the worker is
         * around; it lapses only if the worker stays away. */
        if (l->finishing && vt_worker_online(l->worker, now))
            l->deadline_ms = now + VT_LEASE_MS;
        if (now > l->deadline_ms) {
            vt_log("lease %" PRIu64 " of worker %s lapsed (no word for %d s); shard %u goes "
                   "back to the queue at step %" PRIu64,
                   l->id, l->worker->name, VT_LEASE_MS / 1000, l->shard,
                   l->campaign->shard[l->shard].slot[l->slot].done);
            end(c, l, "lease lapsed");
        }
    }
}

static void set_rate(struct vt_coord *c, struct vt_lease *l, uint64_t r)
{
    l->rate = r;
    Vantage__RateChange m = VANTAGE__RATE_CHANGE__INIT;
    m.lease_id = l->id;
    m.rate = r;
    vt_send_body(c, l->worker, VANTAGE__ENVELOPE__BODY_RATE, &m);
}

void vt_leases_rebalance(struct vt_coord *c)
{
    for (size_t j = 0; j < c->nactive; j++) {
        struct vt_lease *l = c->active[j];
        if (l->finishing)
            continue;
        uint64_t r = share(l->campaign, l->worker);
        /* small drifts are not worth a message to every worker */
        if (r == l->rate || (r > l->rate ? r - l->rate : l->rate - r) * 20 < l->rate)
            continue;
        set_rate(c, l, r);
    }
}

unsigned vt_leases_reshare(struct vt_coord *c, struct vt_campaign *k)
{
    /* Every scanning lease is told, even where its share did not change (a
     * worker capped by its --max-rate): the operator asked for it now, and
     * a repeated RateChange is harmless. Finishing leases send nothing. */
    unsigned n = 0;
    for (size_t j = 0; j < c->nactive; j++) {
        struct vt_lease *l = c->active[j];
        if (l->campaign != k || l->finishing)
            continue;
        set_rate(c, l, share(k, l->worker));
        n++;
    }
    return n;
}

void vt_leases_free(struct vt_coord *c)
{
    for (size_t i = 0; i < c->nleases; i++)
        free(c->leases[i]);
    free(c->leases);
    free(c->active);
    c->leases = c->active = NULL;
    c->nleases = c->nactive = c->cap_active = 0;
}
