/* fuzz_store_obs.c: libFuzzer target for the decoding of stored observations
 * (coordinator/store.c): the obs merge operator, which decodes every operand and
 * stored value RocksDB hands it (bytes read back from disk, which a bad disk or
 * an older version may have garbled), and vt_obs_scan, which decodes what the
 * merge left. They are reached the way the coordinator reaches them, through a
 * real store in a temporary directory.
 *
 * Input: up to 16 operands, each a length byte and that many bytes (the last
 * one may be cut short by the end of the input). Each input gets a key of its
 * own; its operands go in as two write batches; every COMPACT_EVERY inputs the
 * store is compacted between the two, so that the second half meets the first
 * as a partial merge's result and a stored value (the full merge's `existing`).
 *
 * Beyond "no crash, no leak", it checks what store.h promises: operands that do
 * not decode are skipped, never fatal; the record read back is exactly the
 * in-memory merge (vt_obs_merge) of the operands that decode, whatever was
 * merged when; and a key where nothing decoded gives no row. */
#define _GNU_SOURCE
#include <ftw.h>
#include <unistd.h>

#include "fuzz.h"
#include "store.h"

#define MAX_OPS       16
#define COMPACT_EVERY 128
#define REOPEN_EVERY  20000 /* a fresh store now and then bounds disk and memory */

static char dir[] = "/tmp/fuzz_store_obs.XXXXXX";
static char db[sizeof dir + 3];
static struct vt_store *store;
static struct vt_batch *batch;
static unsigned long inputs;
static uint32_t window;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void close_store(void)
{
    vt_store_close(store);
    store = NULL;
    nftw(db, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void at_exit(void)
{
    close_store();
    vt_batch_free(batch);
    rmdir(dir);
}

static void open_store(void)
{
    char err[512];
    store = vt_store_open(db, err, sizeof err);
    if (!store) {
        fprintf(stderr, "fuzz_store_obs: %s\n", err);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_check(mkdtemp(dir) != NULL);
    snprintf(db, sizeof db, "%s/db", dir);
    open_store();
    batch = vt_batch_new();
    fuzz_check(batch != NULL);
    atexit(at_exit);
    return 0;
}

struct found {
    uint32_t window;
    int rows;
    uint8_t *packed;
    size_t len;
};

static int on_row(void *arg, const struct vt_obs_row *row)
{
    struct found *f = arg;
    if (row->window != f->window)
        return 1;
    fuzz_check(row->ip == 0 && row->port == 0);
    f->rows++;
    f->len = vantage__observation__get_packed_size(row->obs);
    f->packed = malloc(f->len ? f->len : 1);
    fuzz_check(f->packed != NULL);
    vantage__observation__pack(row->obs, f->packed);
    return 1;
}

static void write_ops(const uint8_t *const *ops, const size_t *lens, size_t from, size_t to)
{
    char err[512];
    vt_batch_clear(batch);
    for (size_t i = from; i < to; i++)
        fuzz_check(vt_batch_obs_merge_packed(batch, window, 0, 0, ops[i], lens[i]) == 0);
    if (vt_store_write(store, batch, false, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_store_obs: %s\n", err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *ops[MAX_OPS];
    size_t lens[MAX_OPS], nops = 0;
    char err[512];

    for (size_t off = 0; off < size && nops < MAX_OPS;) {
        size_t len = data[off++];
        if (len > size - off)
            len = size - off;
        ops[nops] = data + off;
        lens[nops++] = len;
        off += len;
    }

    if (++inputs % REOPEN_EVERY == 0) {
        close_store();
        open_store();
    }
    window++;

    /* What the store should give back: the in-memory merge of what decodes. */
    Vantage__Observation *want = NULL;
    for (size_t i = 0; i < nops; i++) {
        Vantage__Observation *o = vantage__observation__unpack(NULL, lens[i], ops[i]), *m;
        if (!o)
            continue;
        fuzz_check(vt_obs_merge(want ? want : o, o, &m) == 0);
        vt_obs_free(want);
        vantage__observation__free_unpacked(o, NULL);
        want = m;
    }

    write_ops(ops, lens, 0, nops / 2);
    if (inputs % COMPACT_EVERY == 0 && vt_store_compact(store, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_store_obs: %s\n", err);
        abort();
    }
    write_ops(ops, lens, nops / 2, nops);

    uint8_t key[VT_OBS_KEY_LEN];
    struct found f = {.window = window};
    vt_obs_key(key, window, 0, 0);
    fuzz_check(vt_obs_scan(store, key, 1, on_row, &f, NULL) >= 0);
    if (!want) {
        fuzz_check(f.rows == 0);
    } else {
        fuzz_check(f.rows == 1);
        size_t len = vantage__observation__get_packed_size(want);
        uint8_t *packed = malloc(len ? len : 1);
        fuzz_check(packed != NULL);
        vantage__observation__pack(want, packed);
        fuzz_check(f.len == len && memcmp(f.packed, packed, len) == 0);
        free(packed);
    }
    free(f.packed);
    vt_obs_free(want);
    return 0;
}
