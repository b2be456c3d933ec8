/* store.c: the coordinator's RocksDB store (store.h;
 * docs/storage.md).
 *
 * Four column families besides RocksDB's own `default` (unused): obs, tuned for
 * a write-heavy stream of merge operands; banner, device and meta, plain.
 *
 * obs is written only with Merge. Its merge operator (obs_full_merge,
 * obs_partial_merge) is the one place where observations meet: min first_seen,
 * the latest sighting's last_seen and TTL, open if any answer was open, the
 * TTL range, the sorted unions of sites and campaigns, the OR of the answers
 * sketches (docs/storage.md).
 * "Latest" is a total order (obs_later), so merging is commutative, associative
 * and idempotent: operands may arrive in any order, any number of times, and
 * RocksDB may combine them in any grouping (memtable, flush, compaction, read)
 * with the same result. An operand that does not decode is skipped; the merge
 * never fails, because a failed merge in a compaction would stop all writes.
 *
 * A vt_batch is an op log of its own (it has no store to take column family
 * handles from); vt_store_write turns it into one RocksDB WriteBatch, the obs
 * merges sorted by key (the memtable inserts them faster so: obs_options). */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>
#include <sodium.h>

enum { CF_DEFAULT, CF_OBS, CF_BANNER, CF_DEVICE, CF_META, CF_COUNT };
static const char *const cf_names[CF_COUNT] = {"default", "obs", "banner", "device", "meta"};

struct vt_store {
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[CF_COUNT];
    rocksdb_cache_t *cache;
    rocksdb_writeoptions_t *wo_async, *wo_sync;
    rocksdb_readoptions_t *ro_get, *ro_scan;
    char errmsg[512];
};

/* Copies a RocksDB error into buf and frees it. */
static void take_err(char *buf, size_t len, const char *what, char *rerr)
{
    if (buf && len)
        snprintf(buf, len, "%s: %s", what, rerr ? rerr : "unknown error");
    rocksdb_free(rerr);
}

/* ---- keys ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void vt_obs_key(uint8_t key[VT_OBS_KEY_LEN], uint32_t window, uint32_t ip, uint16_t port)
{
    put_be32(key, window);
    put_be32(key + 4, ip);
    key[8] = (uint8_t)(port >> 8);
    key[9] = (uint8_t)port;
}

void vt_obs_key_parse(const uint8_t key[VT_OBS_KEY_LEN], uint32_t *window, uint32_t *ip,
                      uint16_t *port)
{
    *window = get_be32(key);
    *ip = get_be32(key + 4);
    *port = (uint16_t)(key[8] << 8 | key[9]);
}

/* ---- merging observations ---- */

/* The latest of two sightings: the greater (last_seen_ms, has_ttl, ttl), a
 * total order on what the merge takes from the latest (its time and TTL), so
 * "the latest" is the same whatever order and grouping operands come in. A
 * merged record's own fields are those of its latest operand, so records
 * compare like operands. */
static int obs_later(const Vantage__Observation *a, const Vantage__Observation *b)
{
    if (a->last_seen_ms != b->last_seen_ms)
        return a->last_seen_ms > b->last_seen_ms ? 1 : -1;
    if (a->has_ttl != b->has_ttl)
        return a->has_ttl ? 1 : -1;
    if (a->has_ttl && a->ttl != b->ttl) /* without has_ttl, ttl is not packed */
        return a->ttl > b->ttl ? 1 : -1;
    return 0;
}

/* When an observation's banner was seen: an operand's own time, a merged
 * record's time of the sighting its banner came from. */
static uint64_t banner_seen(const Vantage__Observation *o)
{
    return o->has_banner_seen_ms ? o->banner_seen_ms : o->last_seen_ms;
}

/* Of two observations that carry a banner, the one whose banner the merge
 * keeps: the later banner, ties broken by the id's bytes (a total order). */
static int banner_later(const Vantage__Observation *a, const Vantage__Observation *b)
{
    uint64_t ta = banner_seen(a), tb = banner_seen(b);
    if (ta != tb)
        return ta > tb ? 1 : -1;
    if (a->banner_id.len != b->banner_id.len)
        return a->banner_id.len > b->banner_id.len ? 1 : -1;
    return memcmp(a->banner_id.data, b->banner_id.data, a->banner_id.len);
}

uint64_t vt_obs_answer_bit(const char *site, uint64_t ts_ms)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the site, then mixed with the time */
    for (const char *p = site ? site : ""; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h ^= ts_ms + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    return 1ull << (h & 63);
}

unsigned vt_obs_answers(uint64_t sketch)
{
    unsigned k = (unsigned)__builtin_popcountll(sketch);
    if (k >= 64)
        return 266; /* saturated: 64 ln 64, the most the sketch can tell */
    /* Linear counting: the expected number of distinct answers that leave
     * 64 - k of 64 bits clear. */
    return (unsigned)(-64.0 * log1p(-(double)k / 64.0) + 0.5);
}

/* The merge of any number of observations, borrowing their strings. */
struct strset {
    char **v;
    size_t n, cap;
};

struct obs_acc {
    size_t n; /* observations added */
    uint64_t first_seen_ms;
    const Vantage__Observation *latest;
    const Vantage__Observation *latest_banner; /* latest with a banner id, or NULL */
    bool open;                                 /* any of them */
    bool truncated;                            /* any of them */
    bool has_ttl;
    uint32_t ttl_min, ttl_max;
    uint64_t answers; /* OR of the sketches */
    struct strset sites, campaigns;
};

static int strset_add(struct strset *set, char *const *v, size_t n)
{
    if (set->n + n > set->cap) {
        size_t cap = set->cap ? set->cap : 8;
        while (cap < set->n + n)
            cap *= 2;
        char **grown = realloc(set->v, cap * sizeof *grown);
        if (!grown)
            return -1;
        set->v = grown;
        set->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        if (v[i]) /* protobuf-c never gives NULL; a caller's message might */
            set->v[set->n++] = v[i];
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates; keeps at most max (the smallest: the first
 * max of a sorted union are the same whatever the grouping, so a bounded set
 * still merges associatively). */
static void strset_finish(struct strset *set, size_t max)
{
    size_t n = 0;
    if (set->n > 1)
        qsort(set->v, set->n, sizeof *set->v, cmp_str);
    for (size_t i = 0; i < set->n && n < max; i++)
        if (n == 0 || strcmp(set->v[n - 1], set->v[i]) != 0)
            set->v[n++] = set->v[i];
    set->n = n;
}

static int obs_acc_add(struct obs_acc *acc, const Vantage__Observation *o)
{
    if (strset_add(&acc->sites, o->sites, o->n_sites) != 0 ||
        strset_add(&acc->campaigns, o->campaigns, o->n_campaigns) != 0 ||
        (o->campaign && strset_add(&acc->campaigns, &o->campaign, 1) != 0))
        return -1;
    if (acc->n == 0 || o->first_seen_ms < acc->first_seen_ms)
        acc->first_seen_ms = o->first_seen_ms;
    if (acc->n == 0 || obs_later(o, acc->latest) > 0)
        acc->latest = o;
    if (o->has_banner_id && o->banner_id.len &&
        (!acc->latest_banner || banner_later(o, acc->latest_banner) > 0))
        acc->latest_banner = o;
    acc->open |= o->open;
    if (o->has_truncated && o->truncated)
        acc->truncated = true;
    /* An operand carries its one TTL; a merged record its range. */
    if (o->has_ttl || o->has_ttl_min) {
        uint32_t lo = o->has_ttl_min ? o->ttl_min : o->ttl;
        uint32_t hi = o->has_ttl_max ? o->ttl_max : o->has_ttl ? o->ttl : lo;
        if (!acc->has_ttl || lo < acc->ttl_min)
            acc->ttl_min = lo;
        if (!acc->has_ttl || hi > acc->ttl_max)
            acc->ttl_max = hi;
        acc->has_ttl = true;
    }
    if (o->has_answers)
        acc->answers |= o->answers;
    acc->n++;
    return 0;
}

/* Fills out (its strings borrowed from the added observations) with the merge. */
static void obs_acc_result(struct obs_acc *acc, Vantage__Observation *out)
{
    strset_finish(&acc->sites, SIZE_MAX);
    strset_finish(&acc->campaigns, VT_OBS_MAX_CAMPAIGNS);

    vantage__observation__init(out);
    out->first_seen_ms = acc->first_seen_ms;
    out->last_seen_ms = acc->latest->last_seen_ms;
    out->open = acc->open;
    out->has_ttl = acc->latest->has_ttl;
    out->ttl = acc->latest->ttl;
    if (acc->has_ttl) {
        out->has_ttl_min = out->has_ttl_max = true;
        out->ttl_min = acc->ttl_min;
        out->ttl_max = acc->ttl_max;
    }
    if (acc->answers)
        out->has_answers = true, out->answers = acc->answers;
    if (acc->latest_banner) {
        out->has_banner_id = true;
        out->banner_id = acc->latest_banner->banner_id;
        uint64_t t = banner_seen(acc->latest_banner);
        if (t != out->last_seen_ms)
            out->has_banner_seen_ms = true, out->banner_seen_ms = t;
    }
    if (acc->truncated)
        out->has_truncated = out->truncated = true;
    out->n_sites = acc->sites.n;
    out->sites = acc->sites.v;
    out->n_campaigns = acc->campaigns.n;
    out->campaigns = acc->campaigns.v;
}

static void obs_acc_free(struct obs_acc *acc)
{
    free(acc->sites.v);
    free(acc->campaigns.v);
}

static char **dup_strs(char *const *v, size_t n, int *fail)
{
    if (!n)
        return NULL;
    char **d = calloc(n, sizeof *d);
    if (!d) {
        *fail = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(d[i] = strdup(v[i])))
            *fail = 1;
    return d;
}

int vt_obs_merge(const Vantage__Observation *a, const Vantage__Observation *b,
                 Vantage__Observation **out)
{
    struct obs_acc acc = {0};
    Vantage__Observation m, *o = NULL;
    int fail = 0;

    *out = NULL;
    if (obs_acc_add(&acc, a) != 0 || obs_acc_add(&acc, b) != 0)
        goto fail;
    obs_acc_result(&acc, &m);

    /* A deep copy that vantage__observation__free_unpacked can free. */
    o = malloc(sizeof *o);
    if (!o)
        goto fail;
    *o = m;
    o->sites = dup_strs(m.sites, m.n_sites, &fail);
    o->n_sites = o->sites ? m.n_sites : 0;
    o->campaigns = dup_strs(m.campaigns, m.n_campaigns, &fail);
    o->n_campaigns = o->campaigns ? m.n_campaigns : 0;
    if (m.has_banner_id) {
        o->banner_id.data = malloc(m.banner_id.len ? m.banner_id.len : 1);
        if (o->banner_id.data)
            memcpy(o->banner_id.data, m.banner_id.data, m.banner_id.len);
        else
            o->has_banner_id = false, o->banner_id.len = 0, fail = 1;
    }
    if (fail)
        goto fail;
    obs_acc_free(&acc);
    *out = o;
    return 0;
fail:
    if (o)
        vantage__observation__free_unpacked(o, NULL);
    obs_acc_free(&acc);
    return -1;
}

void vt_obs_free(Vantage__Observation *o)
{
    if (o)
        vantage__observation__free_unpacked(o, NULL);
}

/* ---- the merge operator ---- */

/* Packs an observation into a malloc'ed buffer (what RocksDB's C API frees). */
static char *obs_pack(const Vantage__Observation *o, size_t *len)
{
    size_t n = vantage__observation__get_packed_size(o);
    char *buf = malloc(n ? n : 1);
    if (!buf)
        return NULL;
    *len = vantage__observation__pack(o, (uint8_t *)buf);
    return buf;
}

/* Merges existing (if non-NULL) and the operands. Operands that do not decode
 * are skipped. Returns the packed merge, or NULL with *none set when nothing
 * decoded, or NULL with *none clear when out of memory. */
static char *obs_merge_packed(const char *existing, size_t existing_len, const char *const *ops,
                              const size_t *lens, int nops, size_t *out_len, int *none)
{
    Vantage__Observation **msgs = calloc((size_t)nops + 1, sizeof *msgs);
    struct obs_acc acc = {0};
    size_t nmsgs = 0;
    char *packed = NULL;
    int oom = !msgs;

    *none = 0;
    for (int i = -1; !oom && i < nops; i++) {
        const char *p = i < 0 ? existing : ops[i];
        size_t len = i < 0 ? existing_len : lens[i];
        if (!p || len == 0)
            continue;
        Vantage__Observation *o = vantage__observation__unpack(NULL, len, (const uint8_t *)p);
        if (!o)
            continue; /* corrupt or foreign bytes: skipped, never fatal */
        msgs[nmsgs++] = o;
        if (obs_acc_add(&acc, o) != 0)
            oom = 1;
    }
    if (!oom && acc.n == 0) {
        *none = 1;
    } else if (!oom) {
        Vantage__Observation m;
        obs_acc_result(&acc, &m);
        packed = obs_pack(&m, out_len);
    }
    for (size_t i = 0; i < nmsgs; i++)
        vantage__observation__free_unpacked(msgs[i], NULL);
    free(msgs);
    obs_acc_free(&acc);
    return packed;
}

static char *obs_full_merge(void *state, const char *key, size_t key_len, const char *existing,
                            size_t existing_len, const char *const *ops, const size_t *lens,
                            int nops, unsigned char *success, size_t *new_len)
{
    int none;
    char *v = obs_merge_packed(existing, existing_len, ops, lens, nops, new_len, &none);
    if (v || !none) {
        *success = v != NULL;
        return v;
    }
    /* Nothing decoded: an empty value, which a scan skips. Failing instead
     * would turn a few garbage bytes into a read-only database. */
    *new_len = 0;
    *success = 1;
    return malloc(1);
}

static char *obs_partial_merge(void *state, const char *key, size_t key_len, const char *const *ops,
                               const size_t *lens, int nops, unsigned char *success,
                               size_t *new_len)
{
    int none;
    char *v = obs_merge_packed(NULL, 0, ops, lens, nops, new_len, &none);
    if (v) {
        *success = 1;
        return v;
    }
    /* Not combinable now: RocksDB keeps the operands for the full merge. The
     * C API copies the returned buffer even on failure, so give it one. */
    *success = 0;
    *new_len = 0;
    return malloc(1);
}

static void obs_delete_value(void *state, const char *value, size_t len)
{
    free((void *)value);
}

/* The C API calls the state's destructor unconditionally: it must exist. */
static void obs_merge_destroy(void *state) {}

static const char *obs_merge_name(void *state)
{
    return "vantage.obs.v2";
}

/* ---- the banner merge operator: the first record stays ----
 *
 * Ingest writes a banner as a merge operand, never reading first; a record
 * already there (the first sighting's, or what `vantage relabel` put) wins
 * over every operand, and among operands the oldest wins. So a banner seen
 * again after a restart, or by another worker, never undoes a relabel nor
 * moves its first_seen. A value that does not decode yields to the first
 * operand that does. */

static bool banner_decodes(const char *v, size_t len)
{
    Vantage__BannerRecord *r = vantage__banner_record__unpack(NULL, len, (const uint8_t *)v);
    if (r)
        vantage__banner_record__free_unpacked(r, NULL);
    return r != NULL;
}

static char *copy_value(const char *v, size_t len, size_t *new_len)
{
    char *c = malloc(len ? len : 1);
    if (c && len)
        memcpy(c, v, len);
    *new_len = c ? len : 0;
    return c;
}

static char *banner_full_merge(void *state, const char *key, size_t key_len, const char *existing,
                               size_t existing_len, const char *const *ops, const size_t *lens,
                               int nops, unsigned char *success, size_t *new_len)
{
    const char *pick = NULL;
    size_t pick_len = 0;
    if (existing && banner_decodes(existing, existing_len)) {
        pick = existing;
        pick_len = existing_len;
    }
    for (int i = 0; !pick && i < nops; i++)
        if (banner_decodes(ops[i], lens[i])) {
            pick = ops[i];
            pick_len = lens[i];
        }
    if (!pick && existing) { /* nothing decodes: leave what was there */
        pick = existing;
        pick_len = existing_len;
    }
    char *v = pick ? copy_value(pick, pick_len, new_len) : malloc(1);
    if (!pick)
        *new_len = 0;
    *success = v != NULL;
    return v;
}

static char *banner_partial_merge(void *state, const char *key, size_t key_len,
                                  const char *const *ops, const size_t *lens, int nops,
                                  unsigned char *success, size_t *new_len)
{
    for (int i = 0; i < nops; i++)
        if (banner_decodes(ops[i], lens[i])) {
            char *v = copy_value(ops[i], lens[i], new_len);
            *success = v != NULL;
            return v ? v : malloc(1);
        }
    *success = 0;
    *new_len = 0;
    return malloc(1);
}

static const char *banner_merge_name(void *state)
{
    return "vantage.banner.first.v1";
}

/* ---- opening ---- */

/* Options of the obs family: a write-heavy stream of small merge operands on a
 * small machine. compress: LZ4 above, ZSTD at the bottom (where most data is);
 * without it (RocksDB built without them), none. */
static rocksdb_options_t *obs_options(rocksdb_cache_t *cache, int compress)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();

    /* 64 MiB memtables, L0→L1 at 2 files, 64 MiB files, L1 of 256 MiB. */
    rocksdb_options_optimize_level_style_compaction(o, 256u << 20);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
    rocksdb_options_set_max_write_buffer_number(o, 4);

    int levels[7];
    for (int i = 0; i < 7; i++)
        levels[i] = compress && i >= 2 ? rocksdb_lz4_compression : rocksdb_no_compression;
    rocksdb_options_set_compression_per_level(o, levels, 7);
    rocksdb_options_set_bottommost_compression(o, compress ? rocksdb_zstd_compression
                                                           : rocksdb_no_compression);

    rocksdb_options_set_merge_operator(
        o, rocksdb_mergeoperator_create(NULL, obs_merge_destroy, obs_full_merge, obs_partial_merge,
                                        obs_delete_value, obs_merge_name));
    /* The window: scans of one window stay in its files; the filter holds
     * whole keys too, for point lookups. */
    rocksdb_options_set_prefix_extractor(o, rocksdb_slicetransform_create_fixed_prefix(4));
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_block_based_options_set_whole_key_filtering(t, 1);
    rocksdb_block_based_options_set_block_cache(t, cache);
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);

    /* Each insert into the memtable's skip list starts from where the last
     * one of its window went (a hint per prefix, fixed up from the bottom
     * level), and vt_store_write gives each batch's merges in key order: a
     * search then climbs only as far as the previous key is away. Without
     * the hint, a single writer's inserts search from the top unless keys
     * are adjacent. Stores the same bytes; only a string sets it in the C
     * API. A RocksDB that refuses it opens without it. */
    rocksdb_options_t *hinted = rocksdb_options_create();
    char *rerr = NULL;
    rocksdb_get_options_from_string(
        o, "memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.4", hinted, &rerr);
    if (rerr) {
        rocksdb_free(rerr);
        rocksdb_options_destroy(hinted);
        return o;
    }
    rocksdb_options_destroy(o);
    return hinted;
}

/* Options of the DB as a whole, and of the plain families. */
static rocksdb_options_t *db_options(void)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    rocksdb_options_increase_parallelism(o, 2);
    rocksdb_options_set_max_background_jobs(o, 2);
    rocksdb_options_set_bytes_per_sync(o, 1u << 20);
    rocksdb_options_set_wal_bytes_per_sync(o, 1u << 20);
    /* meta is written rarely: without a cap its memtable would pin old WAL
     * files for ever, since a WAL goes only when every family has flushed it. */
    rocksdb_options_set_max_total_wal_size(o, 512u << 20);
    rocksdb_options_set_max_log_file_size(o, 16u << 20);
    rocksdb_options_set_keep_log_file_num(o, 4);
    return o;
}

/* banner: read by point lookups (a query joins each row's banner), so a
 * bloom filter on the whole id spares the levels that do not hold it, and
 * its blocks share obs's cache instead of RocksDB's default 8 MiB one. */
static rocksdb_options_t *banner_options(rocksdb_cache_t *cache)
{
    rocksdb_options_t *o = db_options();
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_block_based_options_set_block_cache(t, cache);
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);
    rocksdb_options_set_merge_operator(
        o, rocksdb_mergeoperator_create(NULL, obs_merge_destroy, banner_full_merge,
                                        banner_partial_merge, obs_delete_value, banner_merge_name));
    return o;
}

static rocksdb_t *try_open(struct vt_store *s, const char *dir, int compress, char **rerr)
{
    rocksdb_options_t *dbo = db_options();
    rocksdb_options_t *obs = obs_options(s->cache, compress);
    rocksdb_options_t *banner = banner_options(s->cache);
    const rocksdb_options_t *cfo[CF_COUNT] = {dbo, obs, banner, dbo, dbo};

    rocksdb_t *db = rocksdb_open_column_families(dbo, dir, CF_COUNT, cf_names, cfo, s->cf, rerr);
    rocksdb_options_destroy(banner);
    rocksdb_options_destroy(obs);
    rocksdb_options_destroy(dbo);
    return db;
}

struct vt_store *vt_store_open(const char *dir, char *err, size_t errlen)
{
    struct vt_store *s = calloc(1, sizeof *s);
    char *rerr = NULL;

    if (!s) {
        snprintf(err, errlen, "cannot open store %s: out of memory", dir);
        return NULL;
    }
    s->cache = rocksdb_cache_create_lru(64u << 20);
    s->db = try_open(s, dir, 1, &rerr);
    if (!s->db && rerr && strstr(rerr, "not linked with the binary")) {
        /* This RocksDB lacks LZ4 or ZSTD (Debian's has both): store plain. */
        rocksdb_free(rerr);
        rerr = NULL;
        s->db = try_open(s, dir, 0, &rerr);
    }
    if (!s->db) {
        const char *hint =
            rerr && strstr(rerr, "lock") ? " (is another vantage serve using it?)" : "";
        snprintf(err, errlen, "cannot open store %s: %s%s", dir, rerr ? rerr : "unknown error",
                 hint);
        rocksdb_free(rerr);
        rocksdb_cache_destroy(s->cache);
        free(s);
        return NULL;
    }
    s->wo_async = rocksdb_writeoptions_create();
    s->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wo_sync, 1);
    s->ro_get = rocksdb_readoptions_create();
    s->ro_scan = rocksdb_readoptions_create();
    /* Scans cross windows, i.e. prefixes: they must not stop at one. */
    rocksdb_readoptions_set_total_order_seek(s->ro_scan, 1);
    rocksdb_readoptions_set_fill_cache(s->ro_scan, 0);
    return s;
}

void vt_store_close(struct vt_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < CF_COUNT; i++)
        rocksdb_column_family_handle_destroy(s->cf[i]);
    rocksdb_close(s->db);
    rocksdb_writeoptions_destroy(s->wo_async);
    rocksdb_writeoptions_destroy(s->wo_sync);
    rocksdb_readoptions_destroy(s->ro_get);
    rocksdb_readoptions_destroy(s->ro_scan);
    rocksdb_cache_destroy(s->cache);
    free(s);
}

const char *vt_store_errmsg(const struct vt_store *s)
{
    return s->errmsg[0] ? s->errmsg : "no error";
}

/* ---- batches ---- */

/* The op log: records of  u8 op · u32 key length · u32 value length · key · value. */
enum {
    OP_OBS_MERGE = 1,
    OP_META_PUT,
    OP_META_DELETE,
    OP_BANNER_PUT,
    OP_BANNER_MERGE,
    OP_BANNER_DELETE,
    OP_DEVICE_PUT,
    OP_DEVICE_DELETE
};
#define OP_HEAD 9

/* An obs merge of the op log, by its key as two numbers (the order of the
 * key's bytes), so vt_store_write can give RocksDB the merges in key order. */
struct obs_ref {
    uint64_t hi; /* key bytes 0-7: window · ip */
    size_t off;  /* of the record in the op log */
    uint16_t lo; /* key bytes 8-9: port */
};

struct vt_batch {
    uint8_t *buf;
    size_t len, cap;
    size_t count;
    int oom; /* an append failed: the batch is incomplete and will not be written */
    rocksdb_writebatch_t *wb;
    struct obs_ref *refs; /* vt_store_write's, kept between writes: refs_cap of */
    size_t refs_cap;      /* them, then as many for the sort */
};

struct vt_batch *vt_batch_new(void)
{
    struct vt_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->wb = rocksdb_writebatch_create();
    return b;
}

void vt_batch_free(struct vt_batch *b)
{
    if (!b)
        return;
    rocksdb_writebatch_destroy(b->wb);
    free(b->buf);
    free(b->refs);
    free(b);
}

void vt_batch_clear(struct vt_batch *b)
{
    b->len = 0;
    b->count = 0;
    b->oom = 0;
}

size_t vt_batch_count(const struct vt_batch *b)
{
    return b->count;
}

/* Appends a record with room for vlen value bytes; returns where they go. */
static uint8_t *batch_append(struct vt_batch *b, int op, const void *key, size_t klen, size_t vlen)
{
    if (b->oom || klen > UINT32_MAX || vlen > UINT32_MAX)
        goto fail;
    size_t need = b->len + OP_HEAD + klen + vlen;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < need)
            cap *= 2;
        uint8_t *buf = realloc(b->buf, cap);
        if (!buf)
            goto fail;
        b->buf = buf;
        b->cap = cap;
    }
    uint8_t *p = b->buf + b->len;
    p[0] = (uint8_t)op;
    put_be32(p + 1, (uint32_t)klen);
    put_be32(p + 5, (uint32_t)vlen);
    memcpy(p + OP_HEAD, key, klen);
    b->len = need;
    b->count++;
    return p + OP_HEAD + klen;
fail:
    b->oom = 1;
    return NULL;
}

/* ---- the operand, packed by hand ----
 *
 * The ingest packs one Observation per result; protobuf-c's generic packer
 * walks the descriptor of all 13 fields twice (size, then pack) for each, a
 * few per cent of the ingest's time. These write the same protobuf wire
 * bytes directly: the fields in number order, required ones always, an
 * optional one when its has_ flag is set (a string: when non-NULL), each
 * string of a repeated field, a NULL string as an empty one — what
 * protobuf-c 1.4 does, byte for byte (test_store's
 * test_obs_pack_matches_protobuf_c). A message carrying unknown fields goes
 * to protobuf-c, which appends them. */

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2 };
#define OBS_TAG(field, wire) ((uint8_t)((field) << 3 | (wire))) /* fields 1-13: one byte */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *p++ = (uint8_t)(v | 0x80);
    *p++ = (uint8_t)v;
    return p;
}

static size_t len_field_size(size_t len)
{
    return 1 + varint_len(len) + len;
}

static uint8_t *put_len_field(uint8_t *p, uint8_t tag, const void *data, size_t len)
{
    *p++ = tag;
    p = put_varint(p, len);
    if (len)
        memcpy(p, data, len);
    return p + len;
}

static size_t str_len(const char *str)
{
    return str ? strlen(str) : 0;
}

size_t vt_obs_packed_size(const Vantage__Observation *o)
{
    if (o->base.n_unknown_fields)
        return vantage__observation__get_packed_size(o);
    size_t n = 1 + varint_len(o->first_seen_ms) + 1 + varint_len(o->last_seen_ms) + 2;
    if (o->has_ttl)
        n += 1 + varint_len(o->ttl);
    for (size_t i = 0; i < o->n_sites; i++)
        n += len_field_size(str_len(o->sites[i]));
    if (o->campaign)
        n += len_field_size(strlen(o->campaign));
    if (o->has_banner_id)
        n += len_field_size(o->banner_id.len);
    if (o->has_truncated)
        n += 2;
    for (size_t i = 0; i < o->n_campaigns; i++)
        n += len_field_size(str_len(o->campaigns[i]));
    if (o->has_ttl_min)
        n += 1 + varint_len(o->ttl_min);
    if (o->has_ttl_max)
        n += 1 + varint_len(o->ttl_max);
    if (o->has_answers)
        n += 1 + 8;
    if (o->has_banner_seen_ms)
        n += 1 + varint_len(o->banner_seen_ms);
    return n;
}

size_t vt_obs_pack(const Vantage__Observation *o, uint8_t *out)
{
    if (o->base.n_unknown_fields)
        return vantage__observation__pack(o, out);
    uint8_t *p = out;
    *p++ = OBS_TAG(1, WIRE_VARINT);
    p = put_varint(p, o->first_seen_ms);
    *p++ = OBS_TAG(2, WIRE_VARINT);
    p = put_varint(p, o->last_seen_ms);
    *p++ = OBS_TAG(3, WIRE_VARINT);
    *p++ = o->open ? 1 : 0;
    if (o->has_ttl) {
        *p++ = OBS_TAG(4, WIRE_VARINT);
        p = put_varint(p, o->ttl);
    }
    for (size_t i = 0; i < o->n_sites; i++)
        p = put_len_field(p, OBS_TAG(5, WIRE_LEN), o->sites[i], str_len(o->sites[i]));
    if (o->campaign)
        p = put_len_field(p, OBS_TAG(6, WIRE_LEN), o->campaign, strlen(o->campaign));
    if (o->has_banner_id)
        p = put_len_field(p, OBS_TAG(7, WIRE_LEN), o->banner_id.data, o->banner_id.len);
    if (o->has_truncated) {
        *p++ = OBS_TAG(8, WIRE_VARINT);
        *p++ = o->truncated ? 1 : 0;
    }
    for (size_t i = 0; i < o->n_campaigns; i++)
        p = put_len_field(p, OBS_TAG(9, WIRE_LEN), o->campaigns[i], str_len(o->campaigns[i]));
    if (o->has_ttl_min) {
        *p++ = OBS_TAG(10, WIRE_VARINT);
        p = put_varint(p, o->ttl_min);
    }
    if (o->has_ttl_max) {
        *p++ = OBS_TAG(11, WIRE_VARINT);
        p = put_varint(p, o->ttl_max);
    }
    if (o->has_answers) {
        *p++ = OBS_TAG(12, WIRE_FIXED64);
        for (int i = 0; i < 8; i++) /* little-endian */
            *p++ = (uint8_t)(o->answers >> (8 * i));
    }
    if (o->has_banner_seen_ms) {
        *p++ = OBS_TAG(13, WIRE_VARINT);
        p = put_varint(p, o->banner_seen_ms);
    }
    return (size_t)(p - out);
}

int vt_batch_obs_merge(struct vt_batch *b, uint32_t window, uint32_t ip, uint16_t port,
                       const Vantage__Observation *o)
{
    uint8_t key[VT_OBS_KEY_LEN];
    vt_obs_key(key, window, ip, port);
    size_t n = vt_obs_packed_size(o);
    uint8_t *v = batch_append(b, OP_OBS_MERGE, key, sizeof key, n);
    if (!v)
        return -1;
    size_t packed = vt_obs_pack(o, v);
    assert(packed == n);
    (void)packed;
    return 0;
}

int vt_batch_obs_merge_packed(struct vt_batch *b, uint32_t window, uint32_t ip, uint16_t port,
                              const void *packed, size_t len)
{
    uint8_t key[VT_OBS_KEY_LEN];
    vt_obs_key(key, window, ip, port);
    uint8_t *v = batch_append(b, OP_OBS_MERGE, key, sizeof key, len);
    if (!v)
        return -1;
    if (len)
        memcpy(v, packed, len);
    return 0;
}

void vt_batch_meta_put(struct vt_batch *b, const char *key, const void *val, size_t len)
{
    uint8_t *v = batch_append(b, OP_META_PUT, key, strlen(key), len);
    if (v && len)
        memcpy(v, val, len);
}

void vt_batch_meta_delete(struct vt_batch *b, const char *key)
{
    batch_append(b, OP_META_DELETE, key, strlen(key), 0);
}

/* Byte i (0-9) of a ref's key. */
static unsigned obs_ref_byte(const struct obs_ref *r, int i)
{
    return i < 8 ? (unsigned)(r->hi >> (8 * (7 - i))) & 0xff
                 : (unsigned)(r->lo >> (8 * (9 - i))) & 0xff;
}

/* Sorts n refs by key, tmp holding as many: a radix sort, a byte at a time
 * from the last, skipping a byte every key shares (the window's, usually,
 * and the port's high byte): some five linear passes over a batch, a few
 * times cheaper than qsort's n log n calls of a comparison. */
static void obs_refs_sort(struct obs_ref *r, struct obs_ref *tmp, size_t n)
{
    struct obs_ref *from = r, *to = tmp;
    for (int i = VT_OBS_KEY_LEN - 1; i >= 0 && n > 1; i--) {
        size_t count[256] = {0};
        for (size_t j = 0; j < n; j++)
            count[obs_ref_byte(&from[j], i)]++;
        if (count[obs_ref_byte(&from[0], i)] == n)
            continue;
        for (size_t c = 0, sum = 0; c < 256; c++) {
            size_t k = count[c];
            count[c] = sum;
            sum += k;
        }
        for (size_t j = 0; j < n; j++)
            to[count[obs_ref_byte(&from[j], i)]++] = from[j];
        struct obs_ref *t = from;
        from = to;
        to = t;
    }
    if (from != r)
        memcpy(r, from, n * sizeof *r);
    for (size_t j = 1; j < n; j++)
        assert(r[j - 1].hi < r[j].hi || (r[j - 1].hi == r[j].hi && r[j - 1].lo <= r[j].lo));
}

/* The op log's obs merges, sorted by key, into b->refs; how many, or -1 (out
 * of memory). */
static long long sorted_obs_refs(struct vt_batch *b)
{
    size_t n = 0;
    for (size_t off = 0; off < b->len;) {
        const uint8_t *p = b->buf + off;
        size_t klen = get_be32(p + 1), vlen = get_be32(p + 5);
        if (p[0] == OP_OBS_MERGE) {
            assert(klen == VT_OBS_KEY_LEN);
            if (n == b->refs_cap) {
                size_t cap = b->refs_cap ? 2 * b->refs_cap : 1024;
                struct obs_ref *r = realloc(b->refs, 2 * cap * sizeof *r); /* and the sort's */
                if (!r)
                    return -1;
                b->refs = r;
                b->refs_cap = cap;
            }
            const uint8_t *k = p + OP_HEAD;
            b->refs[n++] = (struct obs_ref){(uint64_t)get_be32(k) << 32 | get_be32(k + 4), off,
                                            (uint16_t)(k[8] << 8 | k[9])};
        }
        off += OP_HEAD + klen + vlen;
    }
    if (n > 1) /* (a batch of no merges has no refs: NULL) */
        obs_refs_sort(b->refs, b->refs + b->refs_cap, n);
    return (long long)n;
}

int vt_store_write(struct vt_store *s, struct vt_batch *b, bool sync, char *err, size_t errlen)
{
    char *rerr = NULL;

    long long nobs = b->oom ? -1 : sorted_obs_refs(b);
    if (nobs < 0) {
        snprintf(err, errlen, "cannot write to the store: out of memory building the batch");
        return -1;
    }
    /* RocksDB counts every key comparison in a thread-local perf context by
     * default; through the shared library each count is a __tls_get_addr
     * call, some 10% of a memtable insert. Nobody reads those counts (db_bench
     * turns them off too). The level is per thread, hence here. */
    rocksdb_set_perf_level(rocksdb_disable);
    rocksdb_writebatch_clear(b->wb);
    /* The obs merges in key order: with obs's insert hint (obs_options) each
     * one's search in the memtable's skip list starts where the previous
     * one went: a quarter fewer key comparisons for batches of random
     * addresses (RocksDB's perf context, 1M keys in one memtable), and
     * fewer cache misses; the ingest's time is mostly these. Reordering
     * merges changes no record (the merge is commutative) and the batch
     * stays one atomic write; the other ops keep their order. */
    for (long long i = 0; i < nobs; i++) {
        const uint8_t *p = b->buf + b->refs[i].off;
        size_t vlen = get_be32(p + 5);
        const char *k = (const char *)p + OP_HEAD;
        rocksdb_writebatch_merge_cf(b->wb, s->cf[CF_OBS], k, VT_OBS_KEY_LEN, k + VT_OBS_KEY_LEN,
                                    vlen);
    }
    for (size_t off = 0; off < b->len;) {
        const uint8_t *p = b->buf + off;
        size_t klen = get_be32(p + 1), vlen = get_be32(p + 5);
        const char *k = (const char *)p + OP_HEAD, *v = k + klen;
        switch (p[0]) {
        case OP_OBS_MERGE: /* above */
            break;
        case OP_META_PUT:
            rocksdb_writebatch_put_cf(b->wb, s->cf[CF_META], k, klen, v, vlen);
            break;
        case OP_META_DELETE:
            rocksdb_writebatch_delete_cf(b->wb, s->cf[CF_META], k, klen);
            break;
        case OP_BANNER_PUT:
            rocksdb_writebatch_put_cf(b->wb, s->cf[CF_BANNER], k, klen, v, vlen);
            break;
        case OP_BANNER_MERGE:
            rocksdb_writebatch_merge_cf(b->wb, s->cf[CF_BANNER], k, klen, v, vlen);
            break;
        case OP_BANNER_DELETE:
            rocksdb_writebatch_delete_cf(b->wb, s->cf[CF_BANNER], k, klen);
            break;
        case OP_DEVICE_PUT:
            rocksdb_writebatch_put_cf(b->wb, s->cf[CF_DEVICE], k, klen, v, vlen);
            break;
        case OP_DEVICE_DELETE:
            rocksdb_writebatch_delete_cf(b->wb, s->cf[CF_DEVICE], k, klen);
            break;
        }
        off += OP_HEAD + klen + vlen;
    }
    rocksdb_write(s->db, sync ? s->wo_sync : s->wo_async, b->wb, &rerr);
    rocksdb_writebatch_clear(b->wb);
    if (rerr) {
        take_err(err, errlen, "cannot write to the store", rerr);
        return -1;
    }
    return 0;
}

int vt_store_sync(struct vt_store *s)
{
    char *rerr = NULL;
    rocksdb_flush_wal(s->db, 1, &rerr);
    if (rerr) {
        take_err(s->errmsg, sizeof s->errmsg, "cannot sync the store's log", rerr);
        return -1;
    }
    return 0;
}

/* ---- meta ---- */

int vt_meta_put(struct vt_store *s, const char *key, const void *val, size_t len, bool sync)
{
    char *rerr = NULL;
    rocksdb_put_cf(s->db, sync ? s->wo_sync : s->wo_async, s->cf[CF_META], key, strlen(key), val,
                   len, &rerr);
    if (rerr) {
        take_err(s->errmsg, sizeof s->errmsg, "cannot write meta", rerr);
        return -1;
    }
    return 0;
}

int vt_meta_get(struct vt_store *s, const char *key, void **val, size_t *len)
{
    char *rerr = NULL;
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(s->db, s->ro_get, s->cf[CF_META], key, strlen(key), &rerr);

    *val = NULL;
    *len = 0;
    if (rerr) {
        take_err(s->errmsg, sizeof s->errmsg, "cannot read meta", rerr);
        return -1;
    }
    if (!ps)
        return 0;
    size_t n;
    const char *v = rocksdb_pinnableslice_value(ps, &n);
    char *copy = malloc(n + 1); /* NUL-terminated, for values that are text */
    if (!copy) {
        rocksdb_pinnableslice_destroy(ps);
        snprintf(s->errmsg, sizeof s->errmsg, "cannot read meta: out of memory");
        return -1;
    }
    if (n)
        memcpy(copy, v, n);
    copy[n] = '\0';
    rocksdb_pinnableslice_destroy(ps);
    *val = copy;
    *len = n;
    return 1;
}

int vt_meta_delete(struct vt_store *s, const char *key, bool sync)
{
    char *rerr = NULL;
    rocksdb_delete_cf(s->db, sync ? s->wo_sync : s->wo_async, s->cf[CF_META], key, strlen(key),
                      &rerr);
    if (rerr) {
        take_err(s->errmsg, sizeof s->errmsg, "cannot delete meta", rerr);
        return -1;
    }
    return 0;
}

/* ---- settings fixed at creation ---- */

/* The window in decimal seconds, as text, so `ldb` shows it plainly. */
#define WINDOW_KEY "config/window_s"

int vt_store_window(struct vt_store *s, uint64_t *window_s)
{
    void *val;
    size_t len;
    int rc = vt_meta_get(s, WINDOW_KEY, &val, &len);
    if (rc != 1)
        return rc;
    const char *text = val;
    char *end;
    errno = 0;
    unsigned long long w = len && text[0] >= '1' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
    bool ok = w != 0 && errno == 0 && end == text + len;
    free(val);
    if (!ok) {
        snprintf(s->errmsg, sizeof s->errmsg, "meta %s is not a number of seconds", WINDOW_KEY);
        return -1;
    }
    *window_s = w;
    return 1;
}

int vt_store_set_window(struct vt_store *s, uint64_t window_s)
{
    char text[24];
    int n = snprintf(text, sizeof text, "%" PRIu64, window_s);
    return vt_meta_put(s, WINDOW_KEY, text, (size_t)n, true);
}

/* Ends an iteration: 0, or -1 with the iterator's error in errmsg. */
static int iter_end(struct vt_store *s, rocksdb_iterator_t *it, const char *what)
{
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    rocksdb_iter_destroy(it);
    if (rerr) {
        take_err(s->errmsg, sizeof s->errmsg, what, rerr);
        return -1;
    }
    return 0;
}

int vt_meta_scan(struct vt_store *s, const char *prefix,
                 int (*cb)(void *arg, const char *key, const void *val, size_t len), void *arg)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro_scan, s->cf[CF_META]);
    size_t plen = strlen(prefix);
    char *kbuf = NULL;
    size_t kcap = 0;
    int rc = 0;

    for (rocksdb_iter_seek(it, prefix, plen); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen < plen || memcmp(k, prefix, plen) != 0)
            break;
        if (klen + 1 > kcap) {
            char *nb = realloc(kbuf, klen + 1);
            if (!nb) {
                snprintf(s->errmsg, sizeof s->errmsg, "cannot scan meta: out of memory");
                rc = -1;
                break;
            }
            kbuf = nb;
            kcap = klen + 1;
        }
        memcpy(kbuf, k, klen);
        kbuf[klen] = '\0';
        const char *v = rocksdb_iter_value(it, &vlen);
        if (cb(arg, kbuf, v, vlen) != 0)
            break;
    }
    free(kbuf);
    if (iter_end(s, it, "cannot scan meta") != 0)
        rc = -1;
    return rc;
}

/* ---- banner ---- */

/* Each field with its length first, so that no two different banners hash
 * the same bytes. */
static void hash_field(crypto_generichash_state *st, const void *p, size_t len)
{
    uint8_t n[8];
    for (int i = 0; i < 8; i++)
        n[i] = (uint8_t)((uint64_t)len >> (8 * i));
    crypto_generichash_update(st, n, sizeof n);
    if (len)
        crypto_generichash_update(st, p, len);
}

void vt_banner_id(const char *proto, const void *text, size_t len,
                  Vantage__BannerPart *const *parts, size_t nparts, uint8_t id[VT_BANNER_ID_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, VT_BANNER_ID_LEN);
    hash_field(&st, proto, proto ? strlen(proto) : 0);
    hash_field(&st, text, len);
    for (size_t i = 0; i < nparts; i++) {
        hash_field(&st, parts[i]->matches, strlen(parts[i]->matches));
        hash_field(&st, parts[i]->text.data, parts[i]->text.len);
    }
    crypto_generichash_final(&st, id, VT_BANNER_ID_LEN);
}

static int banner_op(struct vt_batch *b, int op, const uint8_t id[VT_BANNER_ID_LEN],
                     const Vantage__BannerRecord *rec)
{
    size_t n = vantage__banner_record__get_packed_size(rec);
    uint8_t *v = batch_append(b, op, id, VT_BANNER_ID_LEN, n);
    if (!v)
        return -1;
    vantage__banner_record__pack(rec, v);
    return 0;
}

int vt_batch_banner_put(struct vt_batch *b, const uint8_t id[VT_BANNER_ID_LEN],
                        const Vantage__BannerRecord *rec)
{
    return banner_op(b, OP_BANNER_PUT, id, rec);
}

int vt_batch_banner_add(struct vt_batch *b, const uint8_t id[VT_BANNER_ID_LEN],
                        const Vantage__BannerRecord *rec)
{
    return banner_op(b, OP_BANNER_MERGE, id, rec);
}

int vt_batch_banner_put_packed(struct vt_batch *b, const uint8_t id[VT_BANNER_ID_LEN],
                               const void *packed, size_t len)
{
    uint8_t *v = batch_append(b, OP_BANNER_PUT, id, VT_BANNER_ID_LEN, len);
    if (!v)
        return -1;
    memcpy(v, packed, len);
    return 0;
}

int vt_banner_get(struct vt_store *s, const uint8_t *id, size_t idlen, Vantage__BannerRecord **rec)
{
    char *rerr = NULL;
    *rec = NULL;
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(s->db, s->ro_get, s->cf[CF_BANNER], (const char *)id, idlen, &rerr);
    if (rerr) {
        take_err(s->errmsg, sizeof s->errmsg, "cannot read a banner", rerr);
        return -1;
    }
    if (!ps)
        return 0;
    size_t n;
    const char *v = rocksdb_pinnableslice_value(ps, &n);
    *rec = vantage__banner_record__unpack(NULL, n, (const uint8_t *)v);
    rocksdb_pinnableslice_destroy(ps);
    if (!*rec) {
        snprintf(s->errmsg, sizeof s->errmsg, "a stored banner does not decode (corrupt value)");
        return -2;
    }
    return 1;
}

int vt_banner_scan(struct vt_store *s, const uint8_t *from,
                   int (*cb)(void *arg, const uint8_t *id, size_t idlen,
                             const Vantage__BannerRecord *rec),
                   void *arg, size_t *corrupt)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro_scan, s->cf[CF_BANNER]);
    int rc = 0;
    if (from)
        rocksdb_iter_seek(it, (const char *)from, VT_BANNER_ID_LEN);
    else
        rocksdb_iter_seek_to_first(it);
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        Vantage__BannerRecord *rec = vantage__banner_record__unpack(NULL, vlen, (const uint8_t *)v);
        if (!rec) {
            if (corrupt)
                (*corrupt)++;
            continue;
        }
        int stop = cb(arg, (const uint8_t *)k, klen, rec);
        vantage__banner_record__free_unpacked(rec, NULL);
        if (stop)
            break;
    }
    if (iter_end(s, it, "cannot scan banners") != 0)
        rc = -1;
    return rc;
}

/* ---- obs ---- */

int vt_obs_scan(struct vt_store *s, const uint8_t *start, size_t limit,
                int (*cb)(void *arg, const struct vt_obs_row *row), void *arg,
                uint8_t next[VT_OBS_KEY_LEN])
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro_scan, s->cf[CF_OBS]);
    size_t given = 0;
    int stop = 0;

    if (start)
        rocksdb_iter_seek(it, (const char *)start, VT_OBS_KEY_LEN);
    else
        rocksdb_iter_seek_to_first(it);
    for (; rocksdb_iter_valid(it) && !stop; rocksdb_iter_next(it)) {
        if (limit && given == limit)
            break;
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen != VT_OBS_KEY_LEN)
            continue; /* not ours */
        Vantage__Observation *o = vantage__observation__unpack(NULL, vlen, (const uint8_t *)v);
        if (!o)
            continue; /* only garbage was ever merged here (see obs_full_merge) */
        struct vt_obs_row row = {.obs = o};
        vt_obs_key_parse((const uint8_t *)k, &row.window, &row.ip, &row.port);
        stop = cb(arg, &row) != 0;
        vantage__observation__free_unpacked(o, NULL);
        given++;
    }
    /* The iterator is on the row after the last one given, or at the end. */
    int more = rocksdb_iter_valid(it);
    if (more && next) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        memset(next, 0, VT_OBS_KEY_LEN);
        memcpy(next, k, klen < VT_OBS_KEY_LEN ? klen : VT_OBS_KEY_LEN);
    }
    if (iter_end(s, it, "cannot scan observations") != 0)
        return -1;
    return more ? 1 : 0;
}

/* A reader over a range of windows: the RocksDB iterator pins the view it
 * was made on (an implicit snapshot), so a cursor kept over several control
 * requests reads one consistent store. */
/* The records a reader decodes live in an arena that each row resets: one
 * record's messages, strings and lists are a handful of small allocations,
 * which malloc and free would pay for once each per row. */
struct arena_chunk {
    struct arena_chunk *next;
    size_t cap, used;
    max_align_t data[];
};

#define ARENA_CHUNK 8192

static void *arena_alloc(void *arg, size_t size)
{
    struct arena_chunk **head = arg, *c = *head;
    size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (!c || c->cap - c->used < size) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        struct arena_chunk *n = malloc(sizeof *n + cap);
        if (!n)
            return NULL;
        *n = (struct arena_chunk){.next = c, .cap = cap};
        *head = c = n;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

static void arena_free(void *arg, void *p)
{
    (void)arg, (void)p; /* all at once, by arena_reset */
}

/* Frees every chunk but the oldest (the common row fits one), which is emptied. */
static void arena_reset(struct arena_chunk **head, bool all)
{
    while (*head && ((*head)->next || all)) {
        struct arena_chunk *next = (*head)->next;
        free(*head);
        *head = next;
    }
    if (*head)
        (*head)->used = 0;
}

struct vt_obs_iter {
    struct arena_chunk *arena;
    ProtobufCAllocator alloc;
    struct vt_store *s;
    rocksdb_readoptions_t *ro;
    rocksdb_iterator_t *it;
    uint8_t upper[VT_OBS_KEY_LEN];
    size_t corrupt;
    uint8_t corrupt_key[VT_OBS_KEY_LEN];
    Vantage__Observation *cur; /* the decoded current record (in arena), or NULL */
    uint32_t first_window;
    bool positioned; /* seeked once: else the first _key seeks to first_window */
};

struct vt_obs_iter *vt_obs_iter_new(struct vt_store *s, uint32_t first_window, uint32_t last_window,
                                    bool fill_cache)
{
    struct vt_obs_iter *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->s = s;
    it->alloc = (ProtobufCAllocator){arena_alloc, arena_free, &it->arena};
    it->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_total_order_seek(it->ro, 1);
    rocksdb_readoptions_set_fill_cache(it->ro, fill_cache);
    if (last_window < UINT32_MAX) { /* stop after the last window, not at the end */
        vt_obs_key(it->upper, last_window + 1, 0, 0);
        rocksdb_readoptions_set_iterate_upper_bound(it->ro, (const char *)it->upper,
                                                    sizeof it->upper);
    }
    it->it = rocksdb_create_iterator_cf(s->db, it->ro, s->cf[CF_OBS]);
    it->first_window = first_window; /* the seek waits: a caller may seek elsewhere first */
    return it;
}

void vt_obs_iter_seek(struct vt_obs_iter *it, uint32_t window, uint32_t ip, uint16_t port)
{
    it->positioned = true;
    uint8_t key[VT_OBS_KEY_LEN];
    vt_obs_key(key, window, ip, port);
    rocksdb_iter_seek(it->it, (const char *)key, sizeof key);
}

int vt_obs_iter_key(struct vt_obs_iter *it, uint32_t *window, uint32_t *ip, uint16_t *port)
{
    if (!it->positioned)
        vt_obs_iter_seek(it, it->first_window, 0, 0);
    while (rocksdb_iter_valid(it->it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it->it, &klen);
        if (klen == VT_OBS_KEY_LEN) {
            vt_obs_key_parse((const uint8_t *)k, window, ip, port);
            return 1;
        }
        rocksdb_iter_next(it->it); /* not ours */
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(it->it, &rerr);
    if (rerr) {
        take_err(it->s->errmsg, sizeof it->s->errmsg, "cannot read observations", rerr);
        return -1;
    }
    return 0;
}

int vt_obs_iter_row(struct vt_obs_iter *it, struct vt_obs_row *row)
{
    size_t klen, vlen;
    const char *k = rocksdb_iter_key(it->it, &klen);
    const char *v = rocksdb_iter_value(it->it, &vlen);
    arena_reset(&it->arena, false);
    it->cur = NULL;
    if (klen != VT_OBS_KEY_LEN)
        return 0;
    vt_obs_key_parse((const uint8_t *)k, &row->window, &row->ip, &row->port);
    if (vlen == 0)
        return 0; /* only garbage was ever merged here (see obs_full_merge) */
    it->cur = vantage__observation__unpack(&it->alloc, vlen, (const uint8_t *)v);
    if (!it->cur) {
        it->corrupt++;
        memcpy(it->corrupt_key, k, VT_OBS_KEY_LEN);
        return 0;
    }
    row->obs = it->cur;
    return 1;
}

void vt_obs_iter_next(struct vt_obs_iter *it)
{
    rocksdb_iter_next(it->it);
}

size_t vt_obs_iter_corrupt(const struct vt_obs_iter *it, uint8_t last[VT_OBS_KEY_LEN])
{
    if (it->corrupt && last)
        memcpy(last, it->corrupt_key, VT_OBS_KEY_LEN);
    return it->corrupt;
}

void vt_obs_iter_free(struct vt_obs_iter *it)
{
    if (!it)
        return;
    arena_reset(&it->arena, true);
    rocksdb_iter_destroy(it->it);
    rocksdb_readoptions_destroy(it->ro);
    free(it);
}

/* ---- device ---- */

void vt_device_id(const char *key, const char *value, uint8_t id[VT_DEVICE_ID_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, VT_DEVICE_ID_LEN);
    hash_field(&st, key, strlen(key));
    hash_field(&st, value, strlen(value));
    crypto_generichash_final(&st, id, VT_DEVICE_ID_LEN);
}

static void device_key(uint8_t key[VT_DEVICE_KEY_LEN], const uint8_t id[VT_DEVICE_ID_LEN],
                       uint32_t window, uint32_t ip)
{
    memcpy(key, id, VT_DEVICE_ID_LEN);
    put_be32(key + VT_DEVICE_ID_LEN, window);
    put_be32(key + VT_DEVICE_ID_LEN + 4, ip);
}

int vt_batch_device_put(struct vt_batch *b, const uint8_t id[VT_DEVICE_ID_LEN], uint32_t window,
                        uint32_t ip)
{
    uint8_t key[VT_DEVICE_KEY_LEN];
    device_key(key, id, window, ip);
    return batch_append(b, OP_DEVICE_PUT, key, sizeof key, 0) ? 0 : -1;
}

struct vt_device_reader {
    struct vt_store *s;
    rocksdb_iterator_t *it;
};

struct vt_device_reader *vt_device_reader_new(struct vt_store *s)
{
    struct vt_device_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->s = s;
    r->it = rocksdb_create_iterator_cf(s->db, s->ro_scan, s->cf[CF_DEVICE]);
    return r;
}

void vt_device_reader_free(struct vt_device_reader *r)
{
    if (!r)
        return;
    rocksdb_iter_destroy(r->it);
    free(r);
}

int vt_device_read(struct vt_device_reader *r, const uint8_t id[VT_DEVICE_ID_LEN],
                   uint32_t first_window, uint32_t last_window,
                   int (*cb)(void *arg, uint32_t window, uint32_t ip), void *arg)
{
    uint8_t lo[VT_DEVICE_KEY_LEN];
    device_key(lo, id, first_window, 0);
    int stop = 0;
    for (rocksdb_iter_seek(r->it, (const char *)lo, sizeof lo); rocksdb_iter_valid(r->it) && !stop;
         rocksdb_iter_next(r->it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(r->it, &klen);
        if (klen != VT_DEVICE_KEY_LEN || memcmp(k, id, VT_DEVICE_ID_LEN) != 0)
            break;
        uint32_t window = get_be32(k + VT_DEVICE_ID_LEN);
        if (window > last_window)
            break;
        stop = cb(arg, window, get_be32(k + VT_DEVICE_ID_LEN + 4)) != 0;
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(r->it, &rerr);
    if (rerr) {
        take_err(r->s->errmsg, sizeof r->s->errmsg, "cannot read devices", rerr);
        return -1;
    }
    return 0;
}

int vt_device_scan(struct vt_store *s, const uint8_t id[VT_DEVICE_ID_LEN], uint32_t first_window,
                   uint32_t last_window, int (*cb)(void *arg, uint32_t window, uint32_t ip),
                   void *arg)
{
    struct vt_device_reader *r = vt_device_reader_new(s);
    if (!r) {
        snprintf(s->errmsg, sizeof s->errmsg, "cannot read devices: out of memory");
        return -1;
    }
    int rc = vt_device_read(r, id, first_window, last_window, cb, arg);
    vt_device_reader_free(r);
    return rc;
}

int vt_device_drop_windows(struct vt_store *s, uint32_t before, size_t *dropped)
{
    /* The identity leads the key, so old windows are spread through the
     * family: a scan deletes them (the family holds identified hosts only). */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro_scan, s->cf[CF_DEVICE]);
    struct vt_batch *b = vt_batch_new();
    char err[256] = "cannot drop old device records: out of memory";
    int rc = b ? 0 : -1;
    *dropped = 0;
    for (rocksdb_iter_seek_to_first(it); rc == 0 && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        if (klen == VT_DEVICE_KEY_LEN && get_be32(k + VT_DEVICE_ID_LEN) >= before)
            continue;
        batch_append(b, OP_DEVICE_DELETE, k, klen, 0);
        (*dropped)++;
        if (vt_batch_count(b) >= 10000) {
            rc = vt_store_write(s, b, false, err, sizeof err);
            vt_batch_clear(b);
        }
    }
    if (rc == 0 && vt_batch_count(b))
        rc = vt_store_write(s, b, true, err, sizeof err);
    else if (rc == 0 && *dropped)
        rc = vt_store_sync(s);
    if (rc != 0)
        snprintf(s->errmsg, sizeof s->errmsg, "%s", err);
    vt_batch_free(b);
    return iter_end(s, it, "cannot read devices") != 0 ? -1 : rc;
}

int vt_batch_banner_delete(struct vt_batch *b, const uint8_t id[VT_BANNER_ID_LEN])
{
    return batch_append(b, OP_BANNER_DELETE, id, VT_BANNER_ID_LEN, 0) ? 0 : -1;
}

int vt_store_drop_windows(struct vt_store *s, uint32_t before, char *err, size_t errlen)
{
    uint8_t hi[VT_OBS_KEY_LEN];
    char *rerr = NULL;

    if (before == 0)
        return 0;
    vt_obs_key(hi, before, 0, 0);
    /* One range tombstone hides the windows at once (synced: retention is
     * rare and an operator expects it to stick); compaction frees the space.
     * It starts at the empty key, before every obs key, not at window 0's
     * first: RocksDB 7.8 files a range tombstone under the insert hint of
     * its start key's prefix, the hints of the merges' skip list, which
     * breaks both lists (obs_options: the hint; an assertion in
     * MemTable::Add's skip list). A start shorter than the hint's 4-byte
     * prefix takes no hint. */
    rocksdb_delete_range_cf(s->db, s->wo_sync, s->cf[CF_OBS], "", 0, (const char *)hi, sizeof hi,
                            &rerr);
    if (rerr) {
        take_err(err, errlen, "cannot drop old windows", rerr);
        return -1;
    }
    return 0;
}

int vt_store_compact(struct vt_store *s, char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    rocksdb_flush_cf(s->db, fo, s->cf[CF_OBS], &rerr);
    rocksdb_flushoptions_destroy(fo);
    if (rerr) {
        take_err(err, errlen, "cannot flush observations", rerr);
        return -1;
    }
    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    rocksdb_compactoptions_set_bottommost_level_compaction(co, 2 /* kForce */);
    rocksdb_compact_range_cf_opt(s->db, s->cf[CF_OBS], co, NULL, 0, NULL, 0);
    rocksdb_compactoptions_destroy(co);
    return 0;
}

/* ---- sizes, for the metrics ---- */

static uint64_t cf_property(struct vt_store *s, int cf, const char *name)
{
    uint64_t v = 0;
    return rocksdb_property_int_cf(s->db, s->cf[cf], name, &v) == 0 ? v : 0;
}

size_t vt_store_cf_stats(struct vt_store *s, struct vt_store_cf_stats *out, size_t max)
{
    size_t n = 0;
    for (int i = CF_OBS; i < CF_COUNT && n < max; i++, n++) {
        out[n].name = cf_names[i];
        out[n].sst_bytes = cf_property(s, i, "rocksdb.total-sst-files-size");
        out[n].live_bytes = cf_property(s, i, "rocksdb.estimate-live-data-size");
        out[n].memtable_bytes = cf_property(s, i, "rocksdb.cur-size-all-mem-tables");
        out[n].keys = cf_property(s, i, "rocksdb.estimate-num-keys");
    }
    return n;
}
