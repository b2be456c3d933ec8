/* shard.c: a run's target space cut into cells, and each cell's walk into
 * shards.
 *
 * Cells. Partners often allow only their own prefixes. If a campaign had one
 * walk over its whole space, every arc of it would span the whole space and
 * a worker scoped to part of it could never take one. So the space is cut
 * along the enrolled workers' scopes: two addresses are in the same cell
 * when exactly the same scopes cover them. The cut is a sweep over the scope
 * boundaries with a Zobrist signature (the XOR of one random word per worker
 * whose scope covers the point), so it is linear in the number of scope
 * ranges whatever the fleet. A cell lies wholly inside or wholly outside each
 * scope, hence a worker may take a cell's shards exactly when the cell is
 * within its scope. Space that no scope covers is a cell too: it waits for a
 * worker allowed to scan it.
 *
 * Shards. Each cell has its own walk (the scan engine's cyclic group over
 * cell × ports, with a seed derived from the campaign's) cut into arcs of
 * about VT_SHARD_SECONDS of one worker's share of the rate; a cell has at
 * least one shard. Shard numbers run over the cells in order. Each shard has
 * one slot per requested vantage, so K vantages still count per target.
 *
 * Persisted in the campaign record (campaign.c) as "cells": the ranges, seed
 * and shard count of each, so a restart rebuilds the same arcs. */
#include "coord.h"

#include <string.h>

#include "permute.h"

struct edge {
    uint64_t at;  /* first address where the toggle applies (2^32: past the end) */
    uint64_t sig; /* the worker's word */
};

struct piece {
    uint32_t first, last;
    uint64_t sig;
};

static int edge_cmp(const void *x, const void *y)
{
    const struct edge *a = x, *b = y;
    return a->at < b->at ? -1 : a->at > b->at;
}

static int piece_cmp(const void *x, const void *y)
{
    const struct piece *a = x, *b = y;
    if (a->sig != b->sig)
        return a->sig < b->sig ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* A worker's signature word: a 64-bit mix of its name (stable across runs). */
static uint64_t word(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

void vt_shard_free(struct vt_campaign *k)
{
    for (unsigned i = 0; k->shard && i < k->nshards; i++)
        free(k->shard[i].slot);
    free(k->shard);
    k->shard = NULL;
    k->nshards = 0;
    for (unsigned i = 0; k->cell && i < k->ncells; i++)
        vt_targets_free(&k->cell[i].targets);
    free(k->cell);
    k->cell = NULL;
    k->ncells = 0;
    k->next_free = 0;
}

static uint64_t cell_seed(uint64_t seed, unsigned i)
{
    return i == 0 ? seed : (seed + (uint64_t)i * 0x9e3779b97f4a7c15ull) & INT64_MAX;
}

/* Cuts the cells' walks into shards: nshards[i] each when given (a restore),
 * else sized for `per` steps a shard. */
static int cut_walks(struct vt_campaign *k, const unsigned *given, uint64_t per, char *err,
                     size_t errlen)
{
    struct vt_cycle *cyc = calloc(k->ncells, sizeof *cyc);
    if (!cyc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint64_t total = 0, nshards = 0;
    for (unsigned i = 0; i < k->ncells; i++) {
        struct vt_cell *cl = &k->cell[i];
        uint64_t n = vt_targets_count(&cl->targets) * k->ports.n;
        if (n == 0 || vt_cycle_init(&cyc[i], n, cl->seed) != 0) {
            snprintf(err, errlen, "the target space of campaign %s is %s", k->name,
                     n ? "too large" : "empty (everything is blocklisted)");
            free(cyc);
            return -1;
        }
        cl->steps = vt_cycle_steps(&cyc[i]);
        uint64_t ns = given ? given[i] : (cl->steps + per - 1) / per;
        if (ns < 1)
            ns = 1;
        if (ns > cl->steps)
            ns = cl->steps;
        cl->nshards = (unsigned)ns;
        total += cl->steps;
        nshards += ns;
    }
    if (nshards > 100000 + VT_MAX_CELLS) {
        snprintf(err, errlen, "campaign %s would need %llu shards; raise its --rate", k->name,
                 (unsigned long long)nshards);
        free(cyc);
        return -1;
    }
    k->steps = total;
    k->nshards = (unsigned)nshards;
    k->shard = calloc(nshards, sizeof *k->shard);
    if (!k->shard) {
        snprintf(err, errlen, "out of memory");
        free(cyc);
        return -1;
    }
    unsigned s = 0;
    for (unsigned i = 0; i < k->ncells; i++)
        for (unsigned j = 0; j < k->cell[i].nshards; j++, s++) {
            k->shard[s].cell = i;
            vt_cycle_arc(&cyc[i], j, k->cell[i].nshards, &k->shard[s].first, &k->shard[s].steps);
            k->shard[s].slot = calloc(k->vantages, sizeof(struct vt_slot));
            if (!k->shard[s].slot) {
                snprintf(err, errlen, "out of memory");
                free(cyc);
                return -1;
            }
        }
    free(cyc);
    return 0;
}

/* Pieces of k->targets, each with the signature of the scopes covering it. */
static struct piece *sweep(struct vt_coord *c, const struct vt_targets *t, size_t *npieces)
{
    size_t nedges = 0;
    for (size_t i = 0; i < c->nworkers; i++)
        if (!c->workers[i]->revoked)
            nedges += 2 * c->workers[i]->scope.n;
    struct edge *e = calloc(nedges + 1, sizeof *e);
    struct piece *p = calloc(t->n + nedges + 1, sizeof *p);
    if (!e || !p) {
        free(e);
        free(p);
        return NULL;
    }
    size_t ne = 0, np = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        const struct vt_worker *w = c->workers[i];
        if (w->revoked)
            continue;
        uint64_t h = word(w->name);
        for (size_t j = 0; j < w->scope.n; j++) {
            e[ne++] = (struct edge){w->scope.r[j].first, h};
            e[ne++] = (struct edge){(uint64_t)w->scope.r[j].last + 1, h};
        }
    }
    qsort(e, ne, sizeof *e, edge_cmp);
    uint64_t sig = 0;
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t a = t->r[i].first, b = t->r[i].last;
        while (a <= b) {
            while (k < ne && e[k].at <= a)
                sig ^= e[k++].sig;
            uint64_t end = k < ne && e[k].at <= b ? e[k].at - 1 : b;
            p[np++] = (struct piece){(uint32_t)a, (uint32_t)end, sig};
            a = end + 1;
        }
    }
    free(e);
    *npieces = np;
    return p;
}

int vt_shard_cut(struct vt_coord *c, struct vt_campaign *k, unsigned workers, char *err,
                 size_t errlen)
{
    vt_shard_free(k);
    size_t np = 0;
    struct piece *p = sweep(c, &k->targets, &np);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    qsort(p, np, sizeof *p, piece_cmp);
    size_t ncells = 0;
    for (size_t i = 0; i < np; i++)
        ncells += i == 0 || p[i].sig != p[i - 1].sig;
    if (ncells > VT_MAX_CELLS) {
        snprintf(err, errlen,
                 "the enrolled workers' scopes cut campaign %s into %zu pieces (at most %d)",
                 k->name, ncells, VT_MAX_CELLS);
        free(p);
        return -1;
    }
    k->cell = calloc(ncells ? ncells : 1, sizeof *k->cell);
    if (!k->cell) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    k->ncells = (unsigned)ncells;
    for (size_t i = 0, j = 0; i < np; i++) {
        if (i > 0 && p[i].sig != p[i - 1].sig)
            j++;
        if (i == 0 || p[i].sig != p[i - 1].sig)
            vt_targets_init(&k->cell[j].targets);
        if (vt_targets_add_range(&k->cell[j].targets, p[i].first, p[i].last) != 0) {
            free(p);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    free(p);
    /* Cells in address order (stable for a given fleet), seeds by position. */
    for (unsigned i = 1; i < k->ncells; i++)
        for (unsigned j = i;
             j > 0 && k->cell[j].targets.r[0].first < k->cell[j - 1].targets.r[0].first; j--) {
            struct vt_cell tmp = k->cell[j];
            k->cell[j] = k->cell[j - 1];
            k->cell[j - 1] = tmp;
        }
    for (unsigned i = 0; i < k->ncells; i++)
        k->cell[i].seed = cell_seed(k->seed, i);
    uint64_t rate_share = (k->rate ? k->rate : 10000) / (workers ? workers : 1);
    if (!rate_share)
        rate_share = 1;
    /* Saturating: a rate near 2^64 must not wrap `per` to 0. */
    uint64_t per =
        rate_share > UINT64_MAX / VT_SHARD_SECONDS ? UINT64_MAX : rate_share * VT_SHARD_SECONDS;
    /* At least VT_MIN_SHARDS in all, so a small campaign still spreads. */
    uint64_t steps = vt_targets_count(&k->targets) * k->ports.n;
    if (steps / per < VT_MIN_SHARDS)
        per = steps / VT_MIN_SHARDS ? steps / VT_MIN_SHARDS : 1;
    if (steps / per > 100000)
        per = steps / 100000;
    return cut_walks(k, NULL, per, err, errlen);
}

int vt_shard_restore(struct vt_campaign *k, json_t *cells, char *err, size_t errlen)
{
    vt_shard_free(k);
    size_t n = json_array_size(cells);
    if (n == 0 || n > VT_MAX_CELLS) {
        snprintf(err, errlen, "the stored run has %zu cells", n);
        return -1;
    }
    k->cell = calloc(n, sizeof *k->cell);
    unsigned *given = calloc(n, sizeof *given);
    if (!k->cell || !given) {
        free(given);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    k->ncells = (unsigned)n;
    size_t i;
    json_t *cl;
    json_array_foreach(cells, i, cl)
    {
        vt_targets_init(&k->cell[i].targets);
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(cl, "ranges"), j, r)
        {
            vt_targets_add_range(&k->cell[i].targets,
                                 (uint32_t)json_integer_value(json_array_get(r, 0)),
                                 (uint32_t)json_integer_value(json_array_get(r, 1)));
        }
        k->cell[i].seed = (uint64_t)json_integer_value(json_object_get(cl, "seed"));
        given[i] = (unsigned)json_integer_value(json_object_get(cl, "nshards"));
    }
    int rc = cut_walks(k, given, 1, err, errlen);
    free(given);
    return rc;
}

json_t *vt_shard_cells_json(const struct vt_campaign *k)
{
    json_t *cells = json_array();
    for (unsigned i = 0; cells && i < k->ncells; i++) {
        json_t *ranges = json_array();
        const struct vt_targets *t = &k->cell[i].targets;
        for (size_t j = 0; ranges && j < t->n; j++)
            json_array_append_new(
                ranges, json_pack("[I, I]", (json_int_t)t->r[j].first, (json_int_t)t->r[j].last));
        json_array_append_new(cells, json_pack("{s:o, s:I, s:i}", "ranges", ranges, "seed",
                                               (json_int_t)k->cell[i].seed, "nshards",
                                               (int)k->cell[i].nshards));
    }
    return cells;
}

bool vt_shard_holds(const struct vt_campaign *k, unsigned shard, uint32_t ip)
{
    return shard < k->nshards && vt_targets_contains(&k->cell[k->shard[shard].cell].targets, ip);
}
