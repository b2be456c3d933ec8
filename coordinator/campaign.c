/* campaign.c: campaigns, their runs, and the shards a run is cut into.
 *
 * A campaign's target space is (targets − built-in/--blocklist − opt-outs) ×
 * ports, fixed when a run starts. Its walk is the scan engine's cyclic group
 * (proto/permute.c) with the campaign's seed; a shard is arc i of nshards of
 * that walk, sized to about VT_SHARD_SECONDS at the campaign's rate. Each
 * shard has one slot per requested vantage; a slot is done when one site has
 * walked the whole arc, and no site fills two slots of one shard.
 *
 * Persisted in meta: campaign/<name> (JSON: the spec, the effective target
 * ranges, the state) and shard/<name>/<run>/<i> (JSON: the slots' sites and
 * checkpoints), rewritten as they change. */
#include "coord.h"

#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#include "permute.h"

static const char *state_names[] = {"running", "paused", "complete", "cancelled"};

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
            !(s[i] >= '0' && s[i] <= '9') && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

int vt_campaign_save(struct vt_coord *c, struct vt_campaign *k)
{
    json_t *ranges = json_array();
    for (size_t i = 0; ranges && i < k->targets.n; i++)
        json_array_append_new(ranges, json_pack("[I, I]", (json_int_t)k->targets.r[i].first,
                                                (json_int_t)k->targets.r[i].last));
    /* The whole port list: a cut one ("...") would not parse on restore.
     * The longest form of one port is ",65535": 6 bytes. */
    size_t plen = k->ports.n * 6 + 1;
    char *ports = malloc(plen);
    if (!ports) {
        json_decref(ranges);
        return -1;
    }
    vt_ports_format(&k->ports, ports, plen);
    json_t *o = json_pack(
        "{s:s, s:s, s:o, s:s, s:I, s:I, s:I, s:i, s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:i, "
        "s:o}",
        "name", k->name, "targets_text", k->targets_text, "ranges", ranges, "ports", ports, "rate",
        (json_int_t)k->rate, "seed", (json_int_t)k->seed, "every_s", (json_int_t)k->every_s,
        "vantages", (int)k->vantages, "probes", (int)k->probes, "state", state_names[k->state],
        "run", (int)k->run, "created_ms", (json_int_t)k->created_ms, "run_started_ms",
        (json_int_t)k->run_started_ms, "completed_ms", (json_int_t)k->completed_ms, "found_open",
        (json_int_t)k->found_open, "found_closed", (json_int_t)k->found_closed, "nshards",
        (int)k->nshards, "cells", vt_shard_cells_json(k));
    free(ports);
    if (o && k->banners)
        json_object_set_new(o, "banners", json_true());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return -1;
    char key[128];
    snprintf(key, sizeof key, "campaign/%s", k->name);
    int rc = vt_meta_put(c->store, key, text, strlen(text), true);
    free(text);
    return rc;
}

int vt_campaign_save_shard(struct vt_coord *c, struct vt_campaign *k, unsigned s)
{
    json_t *slots = json_array();
    for (unsigned j = 0; slots && j < k->vantages; j++) {
        const struct vt_slot *sl = &k->shard[s].slot[j];
        json_array_append_new(slots,
                              json_pack("{s:s, s:I, s:b, s:i, s:b}", "site", sl->site, "done",
                                        (json_int_t)sl->done, "finished", sl->finished, "redos",
                                        (int)sl->redos, "incomplete", sl->incomplete));
    }
    json_t *o = json_pack("{s:o}", "slots", slots);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return -1;
    char key[160];
    snprintf(key, sizeof key, "shard/%s/%u/%u", k->name, k->run, s);
    int rc = vt_state_put(c, key, text);
    free(text);
    return rc;
}

static struct vt_campaign *append(struct vt_coord *c)
{
    struct vt_campaign **n = realloc(c->campaigns, (c->ncampaigns + 1) * sizeof *n);
    if (!n)
        return NULL;
    c->campaigns = n;
    struct vt_campaign *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    vt_targets_init(&k->targets);
    c->campaigns[c->ncampaigns++] = k;
    return k;
}

struct vt_campaign *vt_campaign_by_name(struct vt_coord *c, const char *name)
{
    for (size_t i = 0; i < c->ncampaigns; i++)
        if (!strcmp(c->campaigns[i]->name, name))
            return c->campaigns[i];
    return NULL;
}

/* Effective targets of a new run: the operator's list minus both blocklists. */
static int effective_targets(struct vt_coord *c, struct vt_campaign *k, char *err, size_t errlen)
{
    vt_targets_clear(&k->targets);
    if (vt_targets_parse(&k->targets, k->targets_text, err, errlen) != 0)
        return -1;
    if (vt_targets_subtract(&k->targets, &c->base_blocklist) != 0 ||
        vt_targets_subtract(&k->targets, &c->optout) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* A lease carries the whole space and the opt-outs: it must fit in one message. */
    if ((k->targets.n + c->optout.n) * 16 + 65536 > VT_MAX_MESSAGE) {
        snprintf(err, errlen,
                 "the target list is too fragmented: %zu ranges (with the opt-outs) would not "
                 "fit in one %u-byte lease; merge it into fewer, larger ranges",
                 k->targets.n + c->optout.n, VT_MAX_MESSAGE);
        return -1;
    }
    if (vt_targets_count(&k->targets) == 0) {
        snprintf(err, errlen,
                 "the target space is empty: every target is in the blocklist (the built-in "
                 "one holds the IANA special-purpose ranges; `vantage serve --blocklist FILE` "
                 "replaces it, `vantage blocklist list` shows the opt-outs)");
        return -1;
    }
    return 0;
}

/* The fleet a run's shards are cut for: the enrolled workers not revoked (a
 * worker that is offline now may well be back within a shard's minutes). */
static unsigned fleet_size(const struct vt_coord *c)
{
    unsigned n = 0;
    for (size_t i = 0; i < c->nworkers; i++)
        n += !c->workers[i]->revoked;
    return n;
}

/* Everything a new campaign is, computed and checked, in *k (the caller's):
 * its spec, its effective targets and its cells and shards. Nothing is
 * stored or registered. 0, or -1 with err set and *k freed. */
static int build(struct vt_coord *c, struct vt_campaign *k, const char *name, const char *targets,
                 const char *ports, uint64_t rate, unsigned vantages, unsigned probes,
                 uint64_t every_s, bool banners, char *err, size_t errlen)
{
    if (!valid_name(name)) {
        snprintf(err, errlen, "bad campaign name '%s': use 1-64 letters, digits, '.', '_', '-'",
                 name);
        return -1;
    }
    if (vt_campaign_by_name(c, name)) {
        snprintf(err, errlen, "campaign %s exists already (choose another name)", name);
        return -1;
    }
    if (vantages < 1 || vantages > 16 || probes < 1 || probes > 16) {
        snprintf(err, errlen, "vantages and probes must be 1-16");
        return -1;
    }
    memset(k, 0, sizeof *k);
    vt_targets_init(&k->targets);
    snprintf(k->name, sizeof k->name, "%s", name);
    k->targets_text = strdup(targets);
    k->rate = rate ? rate : 10000;
    k->vantages = vantages;
    k->probes = probes;
    k->every_s = every_s;
    k->banners = banners;
    randombytes_buf(&k->seed, sizeof k->seed);
    k->seed &= INT64_MAX; /* stored as a JSON integer */
    if (!k->targets_text || vt_ports_parse(&k->ports, ports, err, errlen) != 0 ||
        effective_targets(c, k, err, errlen) != 0 ||
        vt_shard_cut(c, k, fleet_size(c), err, errlen) != 0) {
        if (!k->targets_text)
            snprintf(err, errlen, "out of memory");
        free(k->targets_text);
        vt_targets_free(&k->targets);
        vt_ports_free(&k->ports);
        vt_shard_free(k);
        return -1;
    }
    return 0;
}

struct vt_campaign *vt_campaign_start(struct vt_coord *c, const char *name, const char *targets,
                                      const char *ports, uint64_t rate, unsigned vantages,
                                      unsigned probes, uint64_t every_s, bool banners, char *err,
                                      size_t errlen)
{
    struct vt_campaign k0;
    struct vt_campaign *k = &k0;
    if (build(c, k, name, targets, ports, rate, vantages, probes, every_s, banners, err, errlen) !=
        0)
        return NULL;
    k->state = VT_CAMPAIGN_RUNNING;
    k->run = 1;
    k->created_ms = k->run_started_ms = vt_now_ms();
    struct vt_campaign *kk = append(c);
    if (!kk) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *kk = *k;
    if (vt_campaign_save(c, kk) != 0) {
        snprintf(err, errlen, "cannot record campaign %s in the store", name);
        return NULL;
    }
    vt_log("campaign %s started: %" PRIu64 " addresses x %zu ports, %u cell(s), %u shards, %u "
           "vantage(s), %" PRIu64 " probes/s%s",
           kk->name, vt_targets_count(&kk->targets), kk->ports.n, kk->ncells, kk->nshards,
           kk->vantages, kk->rate, kk->banners ? ", banners" : "");
    return kk;
}

json_t *vt_campaign_plan(struct vt_coord *c, const char *name, const char *targets,
                         const char *ports, uint64_t rate, unsigned vantages, unsigned probes,
                         uint64_t every_s, bool banners, char *err, size_t errlen)
{
    struct vt_campaign k;
    if (build(c, &k, name, targets, ports, rate, vantages, probes, every_s, banners, err, errlen) !=
        0)
        return NULL;
    struct vt_targets given;
    vt_targets_init(&given);
    uint64_t ngiven =
        vt_targets_parse(&given, targets, err, errlen) == 0 ? vt_targets_count(&given) : 0;
    vt_targets_free(&given);
    uint64_t naddr = vt_targets_count(&k.targets), pairs = naddr * k.ports.n;
    uint64_t least = UINT64_MAX, most = 0;
    for (unsigned s = 0; s < k.nshards; s++) {
        least = k.shard[s].steps < least ? k.shard[s].steps : least;
        most = k.shard[s].steps > most ? k.shard[s].steps : most;
    }
    /* Every pair is probed `probes` times from each of K vantages. */
    uint64_t total = pairs * k.probes * k.vantages;
    json_t *plan = json_pack(
        "{s:s, s:I, s:I, s:I, s:i, s:I, s:i, s:i, s:I, s:i, s:i, s:{s:I, s:I}, s:I, s:I, s:b}",
        "name", k.name, "targets_given", (json_int_t)ngiven, "targets", (json_int_t)naddr,
        "left_out", (json_int_t)(ngiven > naddr ? ngiven - naddr : 0), "ports", (int)k.ports.n,
        "pairs", (json_int_t)pairs, "probes", (int)k.probes, "vantages", (int)k.vantages,
        "probes_total", (json_int_t)total, "cells", (int)k.ncells, "shards", (int)k.nshards,
        "steps_per_shard", "min", (json_int_t)least, "max", (json_int_t)most, "rate",
        (json_int_t)k.rate, "duration_s", (json_int_t)((total + k.rate - 1) / k.rate), "banners",
        (int)k.banners);
    free(k.targets_text);
    vt_targets_free(&k.targets);
    vt_ports_free(&k.ports);
    vt_shard_free(&k);
    if (!plan)
        snprintf(err, errlen, "out of memory");
    return plan;
}

static int load_shard(void *arg, const char *key, const void *val, size_t len)
{
    struct vt_coord *c = arg;
    char name[65];
    unsigned run, s;
    const char *p = key + strlen("shard/"), *slash = strchr(p, '/');
    if (!slash || (size_t)(slash - p) >= sizeof name)
        return 0;
    memcpy(name, p, (size_t)(slash - p));
    name[slash - p] = '\0';
    if (sscanf(slash + 1, "%u/%u", &run, &s) != 2)
        return 0;
    struct vt_campaign *k = vt_campaign_by_name(c, name);
    if (!k || k->run != run || s >= k->nshards)
        return 0;
    json_t *o = json_loadb(val, len, 0, NULL), *slot;
    size_t j;
    json_array_foreach(json_object_get(o, "slots"), j, slot)
    {
        if (j >= k->vantages)
            break;
        struct vt_slot *sl = &k->shard[s].slot[j];
        snprintf(sl->site, sizeof sl->site, "%s",
                 json_string_value(json_object_get(slot, "site")) ?: "");
        sl->done = (uint64_t)json_integer_value(json_object_get(slot, "done"));
        sl->finished = json_is_true(json_object_get(slot, "finished"));
        sl->redos = (unsigned)json_integer_value(json_object_get(slot, "redos"));
        sl->incomplete = json_is_true(json_object_get(slot, "incomplete"));
        if (sl->done > k->shard[s].steps)
            sl->done = k->shard[s].steps;
    }
    json_decref(o);
    return 0;
}

static int load_campaign(void *arg, const char *key, const void *val, size_t len)
{
    struct vt_coord *c = arg;
    json_t *o = json_loadb(val, len, 0, NULL);
    const char *name = NULL, *text = NULL, *ports = NULL, *state = NULL;
    json_t *ranges = NULL;
    json_int_t rate = 0, seed = 0, every = 0, created = 0, started = 0, completed = 0, fo = 0,
               fc = 0;
    int vantages = 1, probes = 1, run = 1, nshards = 0;
    if (!o || json_unpack(o,
                          "{s:s, s:s, s:o, s:s, s:I, s:I, s:I, s:i, s:i, s:s, s:i, s:I, s:I, "
                          "s:I, s?I, s?I, s?i}",
                          "name", &name, "targets_text", &text, "ranges", &ranges, "ports", &ports,
                          "rate", &rate, "seed", &seed, "every_s", &every, "vantages", &vantages,
                          "probes", &probes, "state", &state, "run", &run, "created_ms", &created,
                          "run_started_ms", &started, "completed_ms", &completed, "found_open", &fo,
                          "found_closed", &fc, "nshards", &nshards) != 0) {
        vt_log("ignoring unreadable record %s in the store", key);
        json_decref(o);
        return 0;
    }
    struct vt_campaign *k = append(c);
    char err[256];
    if (!k)
        return -1;
    snprintf(k->name, sizeof k->name, "%s", name);
    k->targets_text = strdup(text);
    size_t i;
    json_t *r;
    json_array_foreach(ranges, i, r)
    {
        vt_targets_add_range(&k->targets, (uint32_t)json_integer_value(json_array_get(r, 0)),
                             (uint32_t)json_integer_value(json_array_get(r, 1)));
    }
    k->rate = (uint64_t)rate;
    k->seed = (uint64_t)seed;
    k->every_s = (uint64_t)every;
    k->vantages = (unsigned)vantages;
    k->probes = (unsigned)probes;
    k->banners = json_is_true(json_object_get(o, "banners"));
    for (unsigned st = 0; st < 4; st++)
        if (!strcmp(state, state_names[st]))
            k->state = st;
    k->run = (unsigned)run;
    k->created_ms = created;
    k->run_started_ms = started;
    k->completed_ms = completed;
    k->found_open = (uint64_t)fo;
    k->found_closed = (uint64_t)fc;
    /* A record from before cells were cut is one cell of the whole space. */
    json_t *cells = json_incref(json_object_get(o, "cells"));
    if (!cells)
        cells = json_pack("[{s:O, s:I, s:i}]", "ranges", ranges, "seed", (json_int_t)k->seed,
                          "nshards", nshards);
    if (vt_ports_parse(&k->ports, ports, err, sizeof err) != 0 ||
        vt_shard_restore(k, cells, err, sizeof err) != 0)
        vt_log("campaign %s cannot be resumed: %s", name, err);
    json_decref(cells);
    /* ingest keeps the newest counts beside the results (found/<name>) */
    char fkey[96];
    void *fv;
    size_t fl;
    snprintf(fkey, sizeof fkey, "found/%s", k->name);
    if (vt_meta_get(c->store, fkey, &fv, &fl) == 1) {
        uint64_t found[2];
        if (fl == sizeof found) {
            memcpy(found, fv, sizeof found);
            k->found_open = found[0];
            k->found_closed = found[1];
        }
        free(fv);
    }
    json_decref(o);
    return 0;
}

int vt_campaigns_load(struct vt_coord *c, char *err, size_t errlen)
{
    if (vt_meta_scan(c->store, "campaign/", load_campaign, c) != 0 ||
        vt_meta_scan(c->store, "shard/", load_shard, c) != 0) {
        snprintf(err, errlen, "cannot read the campaigns from the store");
        return -1;
    }
    return 0;
}

static bool shard_done(const struct vt_campaign *k, unsigned s)
{
    for (unsigned j = 0; j < k->vantages; j++)
        if (!k->shard[s].slot[j].finished)
            return false;
    return true;
}

/* Sites online whose policy lets them take one cell of this campaign. */
static unsigned cell_sites(struct vt_coord *c, struct vt_campaign *k, unsigned cell, int64_t now)
{
    char seen[16][65];
    unsigned n = 0;
    for (size_t i = 0; i < c->nworkers && n < 16; i++) {
        struct vt_worker *w = c->workers[i];
        if (!vt_worker_online(w, now) || !vt_lease_cell_eligible(w, k, cell))
            continue;
        bool dup = false;
        for (unsigned j = 0; j < n; j++)
            dup |= !strcmp(seen[j], w->site);
        if (!dup)
            snprintf(seen[n++], sizeof seen[0], "%s", w->site);
    }
    return n;
}

/* The fewest sites that can work on any cell with shards left to do: below
 * K, some of the campaign waits. */
static unsigned eligible_sites(struct vt_coord *c, struct vt_campaign *k, int64_t now)
{
    unsigned least = 16;
    for (unsigned s = k->next_free; s < k->nshards; s++) {
        if (shard_done(k, s))
            continue;
        unsigned cell = k->shard[s].cell, n = cell_sites(c, k, cell, now);
        if (n < least)
            least = n;
        while (s + 1 < k->nshards && k->shard[s + 1].cell == cell)
            s++; /* one look per cell */
    }
    return least;
}

const char *vt_campaign_state_name(const struct vt_campaign *k, struct vt_coord *c)
{
    if (k->state == VT_CAMPAIGN_RUNNING &&
        eligible_sites(c, (struct vt_campaign *)k, vt_mono_ms()) < k->vantages)
        return "waiting";
    return state_names[k->state];
}

int vt_campaign_set_state(struct vt_coord *c, struct vt_campaign *k, enum vt_campaign_state st,
                          char *err, size_t errlen)
{
    if (k->state == VT_CAMPAIGN_CANCELLED || (k->state == VT_CAMPAIGN_COMPLETE && !k->every_s)) {
        snprintf(err, errlen, "campaign %s is %s already", k->name, state_names[k->state]);
        return -1;
    }
    if (st == VT_CAMPAIGN_RUNNING && k->state != VT_CAMPAIGN_PAUSED) {
        snprintf(err, errlen, "campaign %s is not paused", k->name);
        return -1;
    }
    if (st != VT_CAMPAIGN_RUNNING) /* pause or cancel: take every lease back */
        vt_lease_end_for_campaign(
            c, k, st == VT_CAMPAIGN_PAUSED ? "campaign paused" : "campaign cancelled");
    k->state = st;
    if (st == VT_CAMPAIGN_CANCELLED)
        k->completed_ms = vt_now_ms();
    vt_log("campaign %s is %s", k->name, state_names[st]);
    return vt_campaign_save(c, k) == 0 ? 0 : (snprintf(err, errlen, "cannot save"), -1);
}

int vt_campaign_set_rate(struct vt_coord *c, struct vt_campaign *k, uint64_t rate, unsigned *told,
                         char *err, size_t errlen)
{
    *told = 0;
    if (rate < 1 || rate > 100000000) {
        snprintf(err, errlen, "bad rate %" PRIu64 ": give probes per second, 1-100000000", rate);
        return -1;
    }
    if (k->state == VT_CAMPAIGN_CANCELLED || (k->state == VT_CAMPAIGN_COMPLETE && !k->every_s)) {
        snprintf(err, errlen, "campaign %s is %s: its rate no longer matters", k->name,
                 state_names[k->state]);
        return -1;
    }
    uint64_t old = k->rate;
    k->rate = rate;
    if (vt_campaign_save(c, k) != 0) {
        k->rate = old;
        snprintf(err, errlen, "cannot record the new rate of campaign %s in the store", k->name);
        return -1;
    }
    if (k->state == VT_CAMPAIGN_RUNNING)
        *told = vt_leases_reshare(c, k);
    vt_log("campaign %s: rate %" PRIu64 "/s (was %" PRIu64 "/s)%s", k->name, rate, old,
           k->state == VT_CAMPAIGN_RUNNING  ? ", re-shared among its leases"
           : k->state == VT_CAMPAIGN_PAUSED ? ", from its resumption"
                                            : ", from its next run");
    return 0;
}

void vt_campaigns_tick(struct vt_coord *c, int64_t now)
{
    for (size_t i = 0; i < c->ncampaigns; i++) {
        struct vt_campaign *k = c->campaigns[i];
        if (k->state == VT_CAMPAIGN_RUNNING && k->shard) {
            bool all = true;
            for (unsigned s = 0; all && s < k->nshards; s++)
                all = shard_done(k, s);
            if (all) {
                k->state = VT_CAMPAIGN_COMPLETE;
                k->completed_ms = now;
                vt_campaign_save(c, k);
                vt_log("campaign %s run %u complete in %.1f s", k->name, k->run,
                       (now - k->run_started_ms) / 1000.0);
            }
        }
        /* --every: the next run starts a period after the last one did. */
        if (k->state == VT_CAMPAIGN_COMPLETE && k->every_s &&
            now >= k->run_started_ms + (int64_t)k->every_s * 1000) {
            char err[256];
            if (effective_targets(c, k, err, sizeof err) != 0 ||
                vt_shard_cut(c, k, fleet_size(c), err, sizeof err) != 0) {
                vt_log("campaign %s: cannot start run %u: %s", k->name, k->run + 1, err);
                k->run_started_ms = now;
                continue;
            }
            k->run++;
            k->run_started_ms = now;
            k->completed_ms = 0;
            k->state = VT_CAMPAIGN_RUNNING;
            vt_campaign_save(c, k);
            vt_log("campaign %s run %u started", k->name, k->run);
        }
    }
}

json_t *vt_campaign_status(struct vt_coord *c, struct vt_campaign *k)
{
    int64_t now = vt_mono_ms();
    uint64_t done = 0, leased = 0, pending = 0, remaining = 0, incomplete = 0;
    json_t *sites = json_array(), *workers = json_array();
    for (unsigned s = 0; k->shard && s < k->nshards; s++) {
        bool any_lease = false;
        for (unsigned j = 0; j < k->vantages; j++) {
            const struct vt_slot *sl = &k->shard[s].slot[j];
            any_lease |= sl->lease_id != 0;
            incomplete += sl->incomplete;
            if (!sl->finished)
                remaining += k->shard[s].steps - sl->done;
            if (!sl->site[0])
                continue;
            json_t *e = NULL;
            size_t i;
            json_t *v;
            json_array_foreach(sites, i, v)
            {
                if (!strcmp(json_string_value(json_object_get(v, "site")), sl->site))
                    e = v;
            }
            if (!e) {
                e = json_pack("{s:s, s:i, s:i}", "site", sl->site, "done", 0, "leased", 0);
                json_array_append_new(sites, e);
            }
            const char *f = sl->finished ? "done" : sl->lease_id ? "leased" : NULL;
            if (f)
                json_object_set_new(e, f,
                                    json_integer(json_integer_value(json_object_get(e, f)) + 1));
        }
        if (shard_done(k, s))
            done++;
        else if (any_lease)
            leased++;
        else
            pending++;
    }
    uint64_t rate_now = 0;
    for (size_t i = 0; i < c->nactive; i++) {
        struct vt_lease *l = c->active[i];
        if (l->campaign != k)
            continue;
        char lease[160];
        snprintf(lease, sizeof lease, "%s/%u/%u", k->name, k->run, l->shard);
        rate_now += l->worker->rate;
        json_array_append_new(workers, json_pack("{s:s, s:s, s:s, s:I}", "name", l->worker->name,
                                                 "site", l->worker->site, "lease", lease, "rate",
                                                 (json_int_t)l->worker->rate));
    }
    char ports[1024], waiting[160] = "";
    vt_ports_format(&k->ports, ports, sizeof ports);
    unsigned online = eligible_sites(c, k, now);
    if (k->state == VT_CAMPAIGN_RUNNING && online < k->vantages)
        snprintf(waiting, sizeof waiting,
                 "%u of the %u sites it needs are online and allowed to scan it", online,
                 k->vantages);
    json_t *eta = json_null();
    if (k->state == VT_CAMPAIGN_RUNNING && rate_now)
        eta = json_integer((json_int_t)(remaining / rate_now));
    return json_pack(
        "{s:s, s:s, s:i, s:I, s:I, s:s, s:I, s:i, s:i, s:b, s:{s:i, s:I, s:I, s:I, s:I, s:i}, "
        "s:o, s:o, s:{s:I, s:I}, s:o, s:o, s:I, s:o}",
        "name", k->name, "state", vt_campaign_state_name(k, c), "run", (int)k->run, "every_s",
        (json_int_t)k->every_s, "targets", (json_int_t)vt_targets_count(&k->targets), "ports",
        ports, "rate", (json_int_t)k->rate, "vantages", (int)k->vantages, "probes", (int)k->probes,
        "banners", (int)k->banners, "shards", "total", (int)k->nshards, "done", (json_int_t)done,
        "leased", (json_int_t)leased, "pending", (json_int_t)pending, "incomplete_slots",
        (json_int_t)incomplete, "cells", (int)k->ncells, "sites", sites, "workers", workers,
        "found", "open", (json_int_t)k->found_open, "closed", (json_int_t)k->found_closed, "eta_s",
        eta, "waiting", waiting[0] ? json_string(waiting) : json_null(), "created_ms",
        (json_int_t)k->created_ms, "completed_ms",
        k->completed_ms ? json_integer(k->completed_ms) : json_null());
}

void vt_campaigns_free(struct vt_coord *c)
{
    for (size_t i = 0; i < c->ncampaigns; i++) {
        struct vt_campaign *k = c->campaigns[i];
        vt_shard_free(k);
        free(k->targets_text);
        vt_targets_free(&k->targets);
        vt_ports_free(&k->ports);
        free(k);
    }
    free(c->campaigns);
    c->campaigns = NULL;
    c->ncampaigns = 0;
}
