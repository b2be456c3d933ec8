/*
 * world.c: deterministic placement of the lab's devices, closed hosts, dynamic
 * pools and vantage-blocked networks in 198.18.0.0/16 (see world.h).
 *
 * Randomness: splitmix64 streams derived from (seed, purpose, index), so that one
 * choice (say, the addresses of pool 3 in epoch 7) does not depend on how many
 * numbers another choice drew. Streams added later (S_ONLINE, S_SHARED) come
 * after the old ones, and draw nothing when availability is 100% and no
 * identifier is shared, so those worlds are the ones earlier builds made.
 * Invariant after every world_set_epoch(): no two devices or closed hosts share
 * an address (offline devices included: an absent device keeps its address), and
 * every dynamic device's address differs from its address in the previous epoch.
 */
#include "world.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Purposes of the random streams. */
enum {
    S_POOLS = 1,
    S_TYPES,
    S_DYNAMIC,
    S_STATIC,
    S_CLOSED,
    S_BLOCKED,
    S_IDENT,
    S_EPOCH,
    S_ONLINE, /* index: device << 32 | epoch */
    S_SHARED, /* index: catalogue type */
};

struct rng {
    uint64_t s;
};

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static struct rng rng_stream(uint64_t seed, uint64_t purpose, uint64_t index)
{
    uint64_t s = seed;
    struct rng r;
    s ^= splitmix64(&s) + purpose * 0xd1b54a32d192ed03ull;
    s ^= splitmix64(&s) + index * 0x8cb92ba72f3d8dd7ull;
    r.s = splitmix64(&s);
    return r;
}

/* Uniform enough in [0, n) for n < 2^32. */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((splitmix64(&r->s) >> 32) * (uint64_t)n) >> 32);
}

const char *ip_str(uint32_t addr, char *buf)
{
    snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
             addr & 0xff);
    return buf;
}

/* A host address real networks would hand out: not .0, not .255. */
static bool usable_host(uint32_t addr)
{
    uint32_t last = addr & 0xff;
    return last != 0 && last != 255;
}

static bool in_pool(const struct world *w, uint32_t addr)
{
    for (unsigned i = 0; i < w->npools; i++)
        if ((addr & ~(WORLD_POOL_SIZE - 1)) == w->pools[i])
            return true;
    return false;
}

static unsigned pool_usable(uint32_t base, uint32_t *out)
{
    unsigned n = 0;
    for (uint32_t a = base; a < base + WORLD_POOL_SIZE; a++)
        if (usable_host(a))
            out[n++] = a;
    return n;
}

static const struct device_type *pick_type(struct rng *r)
{
    unsigned total = 0, x;
    for (size_t i = 0; i < catalogue_len; i++)
        total += catalogue[i].weight;
    x = rng_below(r, total);
    for (size_t i = 0; i < catalogue_len; i++) {
        if (x < catalogue[i].weight)
            return &catalogue[i];
        x -= catalogue[i].weight;
    }
    return &catalogue[catalogue_len - 1];
}

/* Draws a free usable address outside the pools and marks it taken. */
static uint32_t draw_free(struct rng *r, uint8_t *taken)
{
    for (;;) {
        uint32_t off = rng_below(r, WORLD_SIZE);
        if (!taken[off]) {
            taken[off] = 1;
            return WORLD_NET + off;
        }
    }
}

void world_default_ident(const struct device_type *t, struct device_ident *id)
{
    memset(id, 0, sizeof(*id));
    memcpy(id->mac, t->oui, 3);
    if (t->ident == IDENT_SERIAL)
        snprintf(id->serial, sizeof(id->serial), "%s%09u", t->serial_prefix, 0u);
}

/*
 * Per type that shows an identifier, round(n * shared_ids_pct / 100) of its n
 * devices, drawn from the type's own stream, show the type's default instead.
 * scratch holds ndev entries.
 */
static void share_idents(struct world *w, unsigned *scratch)
{
    for (size_t t = 0; t < catalogue_len; t++) {
        const struct device_type *type = &catalogue[t];
        struct rng r = rng_stream(w->p.seed, S_SHARED, t);
        unsigned n = 0, nshared;

        if (type->ident == IDENT_NONE)
            continue;
        for (unsigned i = 0; i < w->ndev; i++)
            if (w->dev[i].type == type)
                scratch[n++] = i;
        nshared = (n * w->p.shared_ids_pct + 50) / 100;
        for (unsigned k = 0; k < nshared; k++) {
            unsigned j = k + rng_below(&r, n - k), x = scratch[k];
            struct device *d;
            scratch[k] = scratch[j];
            scratch[j] = x;
            d = &w->dev[scratch[k]];
            world_default_ident(type, &d->ident);
            d->ident_shared = true;
        }
    }
}

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

int world_build(struct world *w, const struct world_params *p, char *err, size_t errlen)
{
    unsigned ndyn, nstatic, free_addrs = 0;
    unsigned *order = NULL;
    uint8_t *taken = NULL;
    struct rng r;

    memset(w, 0, sizeof(*w));
    w->p = *p;
    if (p->devices == 0 || p->devices > WORLD_MAX_DEVICES)
        return fail(err, errlen, "--devices must be 1..20000");
    if (p->churn_pct > 100)
        return fail(err, errlen, "--churn must be 0..100");
    if (p->vantages == 0 || p->vantages > WORLD_MAX_VANTAGES)
        return fail(err, errlen, "--vantages must be 1..64");
    if (p->closed_permille > 100)
        return fail(err, errlen, "closed hosts must be at most 100 per thousand addresses");
    if (p->availability_pct > 100)
        return fail(err, errlen, "--availability must be 0..100");
    if (p->shared_ids_pct > 100)
        return fail(err, errlen, "--shared-ids must be 0..100");

    ndyn = (p->devices * p->churn_pct + 50) / 100;
    nstatic = p->devices - ndyn;
    w->npools = ndyn == 0 ? 0 : (ndyn + 255) / 256;
    if (w->npools > WORLD_MAX_POOLS)
        w->npools = WORLD_MAX_POOLS;
    /* A pool at most half full, so that every device can move at every epoch. */
    if (ndyn > w->npools * ((WORLD_POOL_SIZE - 2 * WORLD_POOL_SIZE / 256) / 2))
        return fail(err, errlen, "too many dynamic devices: lower --devices or --churn");

    w->dev = calloc(p->devices, sizeof(*w->dev));
    w->owner = malloc(WORLD_SIZE * sizeof(*w->owner));
    taken = calloc(WORLD_SIZE, 1);
    order = malloc(p->devices * sizeof(*order));
    if (w->dev == NULL || w->owner == NULL || taken == NULL || order == NULL) {
        fail(err, errlen, "out of memory");
        goto fail;
    }
    w->ndev = p->devices;

    /* Pools: distinct /22 blocks of the /16. */
    {
        unsigned blocks[1u << (WORLD_POOL_BITS - WORLD_NET_BITS)];
        unsigned nblocks = sizeof(blocks) / sizeof(blocks[0]);
        r = rng_stream(p->seed, S_POOLS, 0);
        for (unsigned i = 0; i < nblocks; i++)
            blocks[i] = i;
        for (unsigned i = 0; i < w->npools; i++) {
            unsigned j = i + rng_below(&r, nblocks - i), t = blocks[i];
            blocks[i] = blocks[j];
            blocks[j] = t;
            w->pools[i] = WORLD_NET + blocks[i] * WORLD_POOL_SIZE;
        }
    }
    for (uint32_t off = 0; off < WORLD_SIZE; off++) {
        taken[off] = !usable_host(WORLD_NET + off) || in_pool(w, WORLD_NET + off);
        free_addrs += !taken[off];
    }
    w->nclosed = (unsigned)((uint64_t)WORLD_SIZE * p->closed_permille / 1000);
    if (nstatic + w->nclosed > free_addrs / 2) {
        fail(err, errlen, "world too full: lower --devices");
        goto fail;
    }

    /* Types and identities. */
    r = rng_stream(p->seed, S_TYPES, 0);
    for (unsigned i = 0; i < w->ndev; i++) {
        w->dev[i].id = i;
        w->dev[i].type = pick_type(&r);
        w->dev[i].pool = -1;
    }
    r = rng_stream(p->seed, S_IDENT, 0);
    for (unsigned i = 0; i < w->ndev; i++) {
        struct device *d = &w->dev[i];
        struct device_ident def;
        /* A device's own identifier is never its type's default: drawn again in the
         * rare case that it is (one in 2^24 MACs, 10^9 serials). */
        world_default_ident(d->type, &def);
        do {
            memcpy(d->ident.mac, d->type->oui, 3);
            for (int b = 3; b < 6; b++)
                d->ident.mac[b] = (uint8_t)rng_below(&r, 256);
        } while (d->type->ident == IDENT_MAC && memcmp(d->ident.mac, def.mac, 6) == 0);
        if (d->type->ident == IDENT_SERIAL)
            do
                snprintf(d->ident.serial, sizeof(d->ident.serial), "%s%09u", d->type->serial_prefix,
                         rng_below(&r, 1000000000u));
            while (strcmp(d->ident.serial, def.serial) == 0);
    }
    if (p->shared_ids_pct > 0)
        share_idents(w, order);

    /* Which devices are dynamic, and in which pool (round robin, so pools balance). */
    r = rng_stream(p->seed, S_DYNAMIC, 0);
    for (unsigned i = 0; i < w->ndev; i++)
        order[i] = i;
    for (unsigned i = 0; i < ndyn; i++) {
        unsigned j = i + rng_below(&r, w->ndev - i), t = order[i];
        order[i] = order[j];
        order[j] = t;
        w->dev[order[i]].dynamic = true;
        w->dev[order[i]].pool = (int)(i % w->npools);
    }

    /* Static devices, then closed hosts, outside the pools. */
    r = rng_stream(p->seed, S_STATIC, 0);
    for (unsigned i = 0; i < w->ndev; i++)
        if (!w->dev[i].dynamic)
            w->dev[i].addr = draw_free(&r, taken);
    w->closed_hosts = malloc((w->nclosed + 1) * sizeof(*w->closed_hosts));
    if (w->closed_hosts == NULL) {
        fail(err, errlen, "out of memory");
        goto fail;
    }
    r = rng_stream(p->seed, S_CLOSED, 0);
    for (unsigned i = 0; i < w->nclosed; i++)
        w->closed_hosts[i] = draw_free(&r, taken);

    /*
     * One blocked /24 per vantage: the /24 of a static device (so it holds a device
     * in every epoch), a different one for each vantage while there are enough.
     */
    r = rng_stream(p->seed, S_BLOCKED, 0);
    for (unsigned v = 1; !p->no_blocked && v <= p->vantages; v++) {
        uint32_t net = 0;
        for (unsigned tries = 0; tries < 1000; tries++) {
            bool dup = false;
            if (nstatic > 0) {
                const struct device *d;
                do
                    d = &w->dev[rng_below(&r, w->ndev)];
                while (d->dynamic);
                net = d->addr & 0xffffff00u;
            } else {
                do
                    net = WORLD_NET + (rng_below(&r, WORLD_SIZE) & 0xffffff00u);
                while (in_pool(w, net));
            }
            for (unsigned k = 0; k < w->nblocked; k++)
                dup = dup || w->blocked[k].net == net;
            if (!dup)
                break;
        }
        w->blocked[w->nblocked].vantage = v;
        w->blocked[w->nblocked].net = net;
        w->nblocked++;
    }

    free(order);
    free(taken);
    return world_set_epoch(w, 0, err, errlen);

fail:
    free(order);
    free(taken);
    world_free(w);
    return -1;
}

void world_free(struct world *w)
{
    free(w->dev);
    free(w->owner);
    free(w->closed_hosts);
    free(w->history);
    free(w->online_hist);
    memset(w, 0, sizeof(*w));
}

/* Places the dynamic devices of pool pi for epochs 0..epoch into the history. */
static void place_pool(struct world *w, unsigned pi, unsigned epoch, uint32_t *usable,
                       unsigned *members)
{
    unsigned m, k = 0;
    uint32_t base = w->pools[pi];

    for (unsigned i = 0; i < w->ndev; i++)
        if (w->dev[i].pool == (int)pi)
            members[k++] = i;
    for (unsigned e = 0; e <= epoch; e++) {
        struct rng r = rng_stream(w->p.seed, S_EPOCH, ((uint64_t)pi << 32) | e);
        m = pool_usable(base, usable);
        assert(k + 1 < m);
        for (unsigned j = 0; j < k; j++) {
            unsigned s = j + rng_below(&r, m - j);
            uint32_t t = usable[j];
            usable[j] = usable[s];
            usable[s] = t;
            /* A dynamic device always moves: never keep last epoch's address. */
            if (e > 0 && usable[j] == w->history[(size_t)(e - 1) * w->ndev + members[j]]) {
                s = j + 1 + rng_below(&r, m - j - 1);
                t = usable[j];
                usable[j] = usable[s];
                usable[s] = t;
            }
            w->history[(size_t)e * w->ndev + members[j]] = usable[j];
        }
    }
}

int world_set_epoch(struct world *w, unsigned epoch, char *err, size_t errlen)
{
    uint32_t *usable, *hist;
    bool *online;
    unsigned *members;
    char a[16];

    if (epoch > WORLD_MAX_EPOCH)
        return fail(err, errlen, "epoch must be 0..100000");
    hist = realloc(w->history, (size_t)(epoch + 1) * w->ndev * sizeof(*hist));
    if (hist != NULL)
        w->history = hist;
    online = realloc(w->online_hist, (size_t)(epoch + 1) * w->ndev * sizeof(*online));
    if (online != NULL)
        w->online_hist = online;
    usable = malloc(WORLD_POOL_SIZE * sizeof(*usable));
    members = malloc(w->ndev * sizeof(*members));
    if (hist == NULL || online == NULL || usable == NULL || members == NULL) {
        free(usable);
        free(members);
        return fail(err, errlen, "out of memory");
    }
    /* Online or not: one draw per (device, epoch), none at 100%. */
    for (unsigned e = 0; e <= epoch; e++)
        for (unsigned i = 0; i < w->ndev; i++) {
            struct rng r;
            bool *on = &online[(size_t)e * w->ndev + i];
            if (w->p.availability_pct >= 100) {
                *on = true;
                continue;
            }
            r = rng_stream(w->p.seed, S_ONLINE, ((uint64_t)i << 32) | e);
            *on = rng_below(&r, 100) < w->p.availability_pct;
        }
    for (unsigned e = 0; e <= epoch; e++)
        for (unsigned i = 0; i < w->ndev; i++)
            if (!w->dev[i].dynamic)
                hist[(size_t)e * w->ndev + i] = w->dev[i].addr;
    for (unsigned pi = 0; pi < w->npools; pi++)
        place_pool(w, pi, epoch, usable, members);
    free(usable);
    free(members);

    w->epoch = epoch;
    for (uint32_t off = 0; off < WORLD_SIZE; off++)
        w->owner[off] = OWNER_NONE;
    for (unsigned i = 0; i < w->nclosed; i++)
        w->owner[w->closed_hosts[i] - WORLD_NET] = OWNER_CLOSED;
    for (unsigned i = 0; i < w->ndev; i++) {
        uint32_t addr = hist[(size_t)epoch * w->ndev + i];
        if (w->owner[addr - WORLD_NET] != OWNER_NONE) {
            snprintf(err, errlen, "internal error: two owners for %s", ip_str(addr, a));
            return -1;
        }
        w->dev[i].addr = addr;
        w->dev[i].online = online[(size_t)epoch * w->ndev + i];
        w->owner[addr - WORLD_NET] = (int32_t)i;
    }
    return 0;
}

const struct device *world_device_at(const struct world *w, uint32_t addr)
{
    int32_t o;
    if (addr - WORLD_NET >= WORLD_SIZE)
        return NULL;
    o = w->owner[addr - WORLD_NET];
    return o >= 0 && w->dev[o].online ? &w->dev[o] : NULL;
}

bool world_is_closed_host(const struct world *w, uint32_t addr)
{
    return addr - WORLD_NET < WORLD_SIZE && w->owner[addr - WORLD_NET] == OWNER_CLOSED;
}

bool world_blocked_for(const struct world *w, unsigned vantage, uint32_t addr)
{
    for (unsigned i = 0; i < w->nblocked; i++)
        if (w->blocked[i].vantage == vantage && (addr & 0xffffff00u) == w->blocked[i].net)
            return true;
    return false;
}
