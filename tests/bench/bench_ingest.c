/* bench_ingest.c: the store half of the ingest benchmark (docs/performance.md,
 * "Ingest (store half)"; tests/bench/bench_ingest.sh compares it with db_bench).
 *
 * Eight simulated workers (sites isp-0 … isp-7) each produce result batches of
 * 1000 Results, packed as Vantage__ResultBatch the way a worker sends them;
 * that packing happens before the clock starts (it is the workers' work).
 * Timed is what the coordinator's ingest does with each batch, one thread:
 * unpack the ResultBatch, turn every Result into one obs merge (10-byte key)
 * with ingest's own vt_ingest_result (ingest.c: first = last seen = the
 * answer's time, its state and TTL, the worker's one site, the lease's one
 * campaign, the answers-sketch bit of (site, time)), under the window of the
 * campaign run's start; then the worker's new sequence number (8 bytes) and
 * the campaign's found counts (16 bytes) put into meta, all in one vt_batch,
 * written unsynced; every --sync-every batches one vt_store_sync() (group
 * commit), after which the
 * ingest could ACK them. The figure is results per second, wall clock, up to
 * and including the last sync; ingest_cpu_s is the CPU time of the ingesting
 * thread in that span, process_cpu_s that of every thread (RocksDB's flushes
 * and compactions run in its own). Left out (the coordinator's side, not the
 * store's): the per-result checks and opt-out lookup, ZeroMQ, CURVE and the
 * event loop (bench_cluster measures the whole path). The results carry no
 * banners: a worker scanning without --banners sends none.
 *
 *   bench_ingest --db DIR [--results N] [--sync-every K] [--seed S]
 *
 * Prints one line of key=value figures; value_size_avg is the mean packed
 * operand, the --value_size to give db_bench. Never fails on time: exit 1
 * only when it cannot measure, 2 for bad usage. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord.h"
#include "store.h"
#include "vantage.pb-c.h"

#define WORKERS   8
#define BATCH     1000
#define WINDOW_MS 3600000ull
#define T0_MS     1750000000000ull /* June 2025: ts_ms takes 6 varint bytes, as now */
#define CAMPAIGN  "iot"
#define RUN_MS    T0_MS /* the campaign run's start: its window is every result's */

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

struct packed {
    uint8_t *buf;
    size_t len;
    int worker;
};

/* What worker w sends as its batch seq: BATCH results of a scan at about 100k
 * answers per second, random addresses, ports 23 and 80, mostly open. */
static int make_batch(struct packed *p, int w, uint64_t seq, uint64_t *rng, uint64_t *ts)
{
    Vantage__ResultBatch rb = VANTAGE__RESULT_BATCH__INIT;
    Vantage__Result results[BATCH], *ptrs[BATCH];

    rb.seq = seq;
    rb.lease_id = 1000 + (uint64_t)w;
    rb.n_results = BATCH;
    rb.results = ptrs;
    for (int i = 0; i < BATCH; i++) {
        uint64_t r = xorshift(rng);
        vantage__result__init(&results[i]);
        results[i].ip = (uint32_t)r;
        results[i].port = (r >> 32) & 1 ? 80 : 23;
        results[i].open = ((r >> 33) & 7) != 0;
        results[i].has_ttl = 1;
        results[i].ttl = 40 + (uint32_t)((r >> 36) % 25);
        results[i].ts_ms = (*ts += 1) / 100 + T0_MS; /* 100 results per ms */
        ptrs[i] = &results[i];
    }
    p->len = vantage__result_batch__get_packed_size(&rb);
    p->buf = malloc(p->len);
    if (!p->buf)
        return -1;
    vantage__result_batch__pack(&rb, p->buf);
    p->worker = w;
    return 0;
}

/* The operand vt_ingest_result writes for a result without a banner, for its
 * size only (db_bench's --value_size): the store does not say how many bytes
 * a batch holds. Keep it as ingest.c builds it. */
static size_t operand_size(const Vantage__Result *r, char *site, char *campaign)
{
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    o.first_seen_ms = o.last_seen_ms = r->ts_ms;
    o.open = r->open;
    o.has_ttl = r->has_ttl;
    o.ttl = r->ttl;
    o.sites = &site;
    o.n_sites = 1;
    o.campaigns = &campaign;
    o.n_campaigns = 1;
    o.has_answers = true;
    o.answers = vt_obs_answer_bit(site, r->ts_ms);
    return vantage__observation__get_packed_size(&o);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_ingest --db DIR [--results N] [--sync-every K] [--seed S]\n"
               "  --results N     results to ingest, a multiple of 1000 (default 2000000)\n"
               "  --sync-every K  one vt_store_sync per K batches; 0: sync=true on every\n"
               "                  write instead (default 8: one per round of the 8 workers)\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"results", required_argument, NULL, 'n'},
                                         {"sync-every", required_argument, NULL, 'k'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL;
    unsigned long long nresults = 2000000, sync_every = 8, seed = 1;
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'n':
            nresults = strtoull(optarg, &end, 10);
            if (*end || nresults == 0 || nresults % BATCH) {
                fprintf(stderr, "bench_ingest: --results %s: not a positive multiple of %d\n",
                        optarg, BATCH);
                return 2;
            }
            break;
        case 'k':
            sync_every = strtoull(optarg, &end, 10);
            if (*end) {
                fprintf(stderr, "bench_ingest: --sync-every %s: not a number\n", optarg);
                return 2;
            }
            break;
        case 's':
            seed = strtoull(optarg, &end, 10);
            if (*end || seed == 0) {
                fprintf(stderr, "bench_ingest: --seed %s: not a positive number\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!db || optind != argc) {
        usage(stderr);
        return 2;
    }

    /* The workers' side: pack every batch, round robin over the workers. */
    size_t nbatches = nresults / BATCH;
    struct packed *in = calloc(nbatches, sizeof *in);
    uint64_t rng = seed * 0x9e3779b97f4a7c15ull | 1, ts = 0, seqs[WORKERS] = {0};
    double t = now_s();
    size_t wire = 0;
    if (!in) {
        fprintf(stderr, "bench_ingest: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < nbatches; i++) {
        int w = (int)(i % WORKERS);
        if (make_batch(&in[i], w, ++seqs[w], &rng, &ts) != 0) {
            fprintf(stderr, "bench_ingest: out of memory\n");
            return 1;
        }
        wire += in[i].len;
    }
    double pack_s = now_s() - t;

    char err[512];
    struct vt_store *s = vt_store_open(db, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bench_ingest: %s\n", err);
        return 1;
    }
    struct vt_batch *b = vt_batch_new();
    if (!b) {
        fprintf(stderr, "bench_ingest: out of memory\n");
        return 1;
    }
    char site[WORKERS][16];
    for (int w = 0; w < WORKERS; w++)
        snprintf(site[w], sizeof site[w], "isp-%d", w);
    const uint32_t run_window = (uint32_t)(RUN_MS / WINDOW_MS);
    uint64_t found[2] = {0, 0}; /* the campaign's open and closed counts */

    /* The coordinator's side, timed. */
    uint64_t value_bytes = 0, syncs = 0;
    double cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID), proc0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    t = now_s();
    for (size_t i = 0; i < nbatches; i++) {
        Vantage__ResultBatch *rb = vantage__result_batch__unpack(NULL, in[i].len, in[i].buf);
        if (!rb) {
            fprintf(stderr, "bench_ingest: batch %zu does not unpack\n", i);
            return 1;
        }
        const char *name = site[in[i].worker];
        vt_batch_clear(b);
        for (size_t j = 0; j < rb->n_results; j++) {
            const Vantage__Result *r = rb->results[j];
            uint8_t id[VT_BANNER_ID_LEN];
            bool has_banner;
            if (vt_ingest_result(b, r, run_window, site[in[i].worker], (char *)CAMPAIGN, NULL, NULL,
                                 id, &has_banner) != 0) {
                fprintf(stderr, "bench_ingest: out of memory\n");
                return 1;
            }
            found[r->open ? 0 : 1]++;
        }
        char key[32];
        snprintf(key, sizeof key, "found/%s", CAMPAIGN);
        vt_batch_meta_put(b, key, found, sizeof found);
        snprintf(key, sizeof key, "seq/%s", name);
        uint64_t seq = rb->seq;
        vt_batch_meta_put(b, key, &seq, sizeof seq);
        vantage__result_batch__free_unpacked(rb, NULL);

        if (vt_store_write(s, b, sync_every == 0, err, sizeof err) != 0) {
            fprintf(stderr, "bench_ingest: %s\n", err);
            return 1;
        }
        if (sync_every && ((i + 1) % sync_every == 0 || i + 1 == nbatches)) {
            if (vt_store_sync(s) != 0) {
                fprintf(stderr, "bench_ingest: %s\n", vt_store_errmsg(s));
                return 1;
            }
            syncs++;
        }
    }
    double ingest_s = now_s() - t;
    double cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    double proc_s = clock_s(CLOCK_PROCESS_CPUTIME_ID) - proc0;

    /* The mean operand, for db_bench's --value_size: the batches again,
     * untimed (measuring it inside the loop would slow what is timed). */
    for (size_t i = 0; i < nbatches; i++) {
        Vantage__ResultBatch *rb = vantage__result_batch__unpack(NULL, in[i].len, in[i].buf);
        if (!rb)
            return 1;
        for (size_t j = 0; j < rb->n_results; j++) {
            const Vantage__Result *r = rb->results[j];
            value_bytes += operand_size(r, site[in[i].worker], (char *)CAMPAIGN);
        }
        vantage__result_batch__free_unpacked(rb, NULL);
    }

    printf("bench_ingest results=%llu batches=%zu workers=%d key_size=%d value_size_avg=%.2f "
           "wire_bytes_per_result=%.2f sync=%s syncs=%" PRIu64 " pack_s=%.3f ingest_s=%.3f "
           "ingest_cpu_s=%.3f process_cpu_s=%.3f results_per_s=%.0f\n",
           nresults, nbatches, WORKERS, VT_OBS_KEY_LEN, (double)value_bytes / (double)nresults,
           (double)wire / (double)nresults, sync_every ? "group" : "every-batch",
           sync_every ? syncs : (uint64_t)nbatches, pack_s, ingest_s, cpu_s, proc_s,
           (double)nresults / ingest_s);

    vt_batch_free(b);
    vt_store_close(s);
    for (size_t i = 0; i < nbatches; i++)
        free(in[i].buf);
    free(in);
    return 0;
}
