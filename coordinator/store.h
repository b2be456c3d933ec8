/* store.h: the coordinator's RocksDB store (docs/storage.md).
 *
 * Column families, keys big-endian so byte order is numeric order:
 *   obs     window(u32) · ip(u32) · port(u16)  → Vantage__Observation (protobuf),
 *           written only as merge operands: the merge operator keeps the
 *           earliest first_seen, the latest last_seen (with its state, TTL and
 *           campaign) and the union of sites. No read before write, ever.
 *   banner  vt_banner_id(proto, text, parts) → Vantage__BannerRecord: the
 *           banner's text, its parts and labels; the first record of an id
 *           stays (ingest merges, the merge operator keeps the first), and
 *           only `vantage relabel` rewrites it (put)
 *   device  identity(16) · window(u32) · ip(u32) → empty: a host that showed a
 *           unique identifier (SSH host key, serial, MAC) in that window; the
 *           identity is vt_device_id() of the label that holds it
 *   meta    "campaign/…", "shard/…", "worker/…", "lease/…", "seq/<worker>",
 *           "blocklist/…": coordinator state, so a restart resumes;
 *           "config/…": settings fixed when the store was created (the window).
 *
 * A result batch becomes one write batch: its observations plus the sender's
 * new sequence number in meta, applied atomically, so a batch is either wholly
 * stored (and its seq recorded) or not at all — which makes redelivery
 * harmless. vt_store_write(..., sync=true) returns only when the WAL is on disk.
 *
 * Durability for the ingest (docs/storage.md, "Durability"): write each result
 * batch with sync=false, and after a few batches (or when the input queue runs
 * dry) call vt_store_sync() once, then ACK every batch written before it. One
 * fsync then covers many batches (group commit); nothing is ACKed before it.
 *
 * Thread safety: a store may be used from several threads (RocksDB is); a batch
 * belongs to one thread. vt_store_errmsg() is the store's last failure. */
#ifndef VANTAGE_STORE_H
#define VANTAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vantage.pb-c.h"

#define VT_OBS_KEY_LEN    10
#define VT_BANNER_ID_LEN  16
#define VT_DEVICE_ID_LEN  16
#define VT_DEVICE_KEY_LEN (VT_DEVICE_ID_LEN + 8)
/* A record lists at most this many campaigns: the first, in name order (a
 * bounded set union is still commutative and associative). */
#define VT_OBS_MAX_CAMPAIGNS 32

struct vt_store;
struct vt_batch;

/* Opens (creating if needed) the store in dir. NULL with err set. */
struct vt_store *vt_store_open(const char *dir, char *err, size_t errlen);
void vt_store_close(struct vt_store *s);

/* Key of the obs column family. */
void vt_obs_key(uint8_t key[VT_OBS_KEY_LEN], uint32_t window, uint32_t ip, uint16_t port);
void vt_obs_key_parse(const uint8_t key[VT_OBS_KEY_LEN], uint32_t *window, uint32_t *ip,
                      uint16_t *port);

/* A write batch: merges into obs and puts/deletes in meta, applied atomically. */
struct vt_batch *vt_batch_new(void);
void vt_batch_free(struct vt_batch *b);
void vt_batch_clear(struct vt_batch *b);
size_t vt_batch_count(const struct vt_batch *b);
/* Merges one sighting (o->sites usually holds the one site that saw it). */
int vt_batch_obs_merge(struct vt_batch *b, uint32_t window, uint32_t ip, uint16_t port,
                       const Vantage__Observation *o);
/* Merges an operand already packed as a Vantage__Observation, unchecked (replays,
 * tests): the merge operator skips an operand it cannot decode. */
int vt_batch_obs_merge_packed(struct vt_batch *b, uint32_t window, uint32_t ip, uint16_t port,
                              const void *packed, size_t len);
/* Packs an observation exactly as vantage__observation__pack does (the same
 * bytes: test_store compares them), without protobuf-c's generic walk of the
 * descriptor: vt_batch_obs_merge packs one per result. _size is how many
 * bytes vt_obs_pack writes to out. */
size_t vt_obs_packed_size(const Vantage__Observation *o);
size_t vt_obs_pack(const Vantage__Observation *o, uint8_t *out);
void vt_batch_meta_put(struct vt_batch *b, const char *key, const void *val, size_t len);
void vt_batch_meta_delete(struct vt_batch *b, const char *key);

/* Applies b, which keeps its contents (vt_batch_clear to reuse it). sync:
 * return only once the write-ahead log is on disk. 0 or -1. A batch that ran
 * out of memory while being built is refused whole. */
int vt_store_write(struct vt_store *s, struct vt_batch *b, bool sync, char *err, size_t errlen);

/* Group commit: puts every write made so far (synced or not) on disk (one
 * fsync of the write-ahead log). 0, or -1 (see vt_store_errmsg). */
int vt_store_sync(struct vt_store *s);

/* The last failure of a function of this store that has no err argument. */
const char *vt_store_errmsg(const struct vt_store *s);

/* meta: single keys. get returns 1 found (*val malloc'ed, free it), 0 absent, -1 error. */
int vt_meta_put(struct vt_store *s, const char *key, const void *val, size_t len, bool sync);
int vt_meta_get(struct vt_store *s, const char *key, void **val, size_t *len);
int vt_meta_delete(struct vt_store *s, const char *key, bool sync);
/* The observation window W in seconds: every obs key holds floor(time / W),
 * so W is fixed when the store is created and must never change after
 * (meta "config/window_s"). get: 1 with *window_s set, 0 if none is recorded
 * (a new store, or one from before W was recorded), -1 on error or a value
 * that is not a number (see vt_store_errmsg). set: records it, synced; 0 or -1. */
int vt_store_window(struct vt_store *s, uint64_t *window_s);
int vt_store_set_window(struct vt_store *s, uint64_t window_s);

/* Calls cb for every meta key starting with prefix, in key order; cb returns
 * non-zero to stop. Returns 0, or -1 on error. */
int vt_meta_scan(struct vt_store *s, const char *prefix,
                 int (*cb)(void *arg, const char *key, const void *val, size_t len), void *arg);

/* obs: reads merged records in key order from `start` (NULL: the beginning;
 * a key: that key or the next), calling cb with each decoded observation
 * (owned by the store: valid during the call only) until cb returns non-zero
 * or limit rows were given (0: no limit). *next, if non-NULL, gets the key after
 * the last row given (for paging); returns 1 if there may be more, 0 at the end,
 * -1 on error. */
struct vt_obs_row {
    uint32_t window, ip;
    uint16_t port;
    const Vantage__Observation *obs;
};
int vt_obs_scan(struct vt_store *s, const uint8_t *start, size_t limit,
                int (*cb)(void *arg, const struct vt_obs_row *row), void *arg,
                uint8_t next[VT_OBS_KEY_LEN]);

/* A reader of obs over the windows [first_window, last_window], in key order,
 * on one consistent view of the store (taken when it is made): queries seek
 * by the key layout instead of scanning; it starts at the range's first key
 * unless seeked first. With fill_cache the blocks it reads stay in the block
 * cache (a narrow read, which may well come again); a wide read (a count, an
 * export, retention's sweep) leaves the cache to the blocks read often, which
 * it would otherwise evict. _key gives the current key (1), or
 * 0 at the end of the range, -1 on error; _row decodes the current record
 * (1; 0 if it does not decode: skipped, counted in _corrupt with its key);
 * the record is the iterator's, valid until the next call. */
struct vt_obs_iter;
struct vt_obs_iter *vt_obs_iter_new(struct vt_store *s, uint32_t first_window, uint32_t last_window,
                                    bool fill_cache);
void vt_obs_iter_seek(struct vt_obs_iter *it, uint32_t window, uint32_t ip, uint16_t port);
int vt_obs_iter_key(struct vt_obs_iter *it, uint32_t *window, uint32_t *ip, uint16_t *port);
int vt_obs_iter_row(struct vt_obs_iter *it, struct vt_obs_row *row);
void vt_obs_iter_next(struct vt_obs_iter *it);
/* Records that did not decode so far; *last gets the key of the latest. */
size_t vt_obs_iter_corrupt(const struct vt_obs_iter *it, uint8_t last[VT_OBS_KEY_LEN]);
void vt_obs_iter_free(struct vt_obs_iter *it);

/* The answers sketch: an operand sets the bit of its (site, time); the merge
 * ORs them; vt_obs_answers reads the number of distinct answers back (exact
 * for a few, an estimate beyond; 266 at most). */
uint64_t vt_obs_answer_bit(const char *site, uint64_t ts_ms);
unsigned vt_obs_answers(uint64_t sketch);

/* device: the identity of a label (key, value), e.g. ("hw.serial", "CN41…"). */
void vt_device_id(const char *key, const char *value, uint8_t id[VT_DEVICE_ID_LEN]);
/* Records that the host ip showed identity id in window (a put: idempotent). */
int vt_batch_device_put(struct vt_batch *b, const uint8_t id[VT_DEVICE_ID_LEN], uint32_t window,
                        uint32_t ip);
/* Calls cb for each (window, ip) of identity id in [first_window,
 * last_window], in that order; cb returns non-zero to stop. 0 or -1. */
int vt_device_scan(struct vt_store *s, const uint8_t id[VT_DEVICE_ID_LEN], uint32_t first_window,
                   uint32_t last_window, int (*cb)(void *arg, uint32_t window, uint32_t ip),
                   void *arg);
/* The same for many identities through one reader (an iterator made once,
 * on one view of the store): cheaper than vt_device_scan each, and cheaper
 * still when the ids come in ascending order. */
struct vt_device_reader;
struct vt_device_reader *vt_device_reader_new(struct vt_store *s);
int vt_device_read(struct vt_device_reader *r, const uint8_t id[VT_DEVICE_ID_LEN],
                   uint32_t first_window, uint32_t last_window,
                   int (*cb)(void *arg, uint32_t window, uint32_t ip), void *arg);
void vt_device_reader_free(struct vt_device_reader *r);
/* Retention: deletes every device record of windows < before (synced);
 * *dropped gets their number. 0 or -1 (see vt_store_errmsg). */
int vt_device_drop_windows(struct vt_store *s, uint32_t before, size_t *dropped);

/* banner: the id of a banner is a 16-byte BLAKE2b of its protocol, text and
 * parts: what differs in any of them (an SSH host key is a part) is another
 * record. */
void vt_banner_id(const char *proto, const void *text, size_t len,
                  Vantage__BannerPart *const *parts, size_t nparts, uint8_t id[VT_BANNER_ID_LEN]);
/* A banner as ingest writes it: a merge operand that takes effect only if
 * no record of that id exists (the first record stays: see store.c). 0 or
 * -1 (out of memory). */
int vt_batch_banner_add(struct vt_batch *b, const uint8_t id[VT_BANNER_ID_LEN],
                        const Vantage__BannerRecord *rec);
/* Replaces the record of that id (relabel). 0 or -1 (out of memory). */
int vt_batch_banner_put(struct vt_batch *b, const uint8_t id[VT_BANNER_ID_LEN],
                        const Vantage__BannerRecord *rec);
/* Deletes the record of that id (retention: a banner no record names). */
int vt_batch_banner_delete(struct vt_batch *b, const uint8_t id[VT_BANNER_ID_LEN]);
/* Puts bytes as they are, unchecked (tests: a corrupt record). 0 or -1. */
int vt_batch_banner_put_packed(struct vt_batch *b, const uint8_t id[VT_BANNER_ID_LEN],
                               const void *packed, size_t len);
/* Reads the banner with that id: 1 found (*rec to free with
 * vantage__banner_record__free_unpacked), 0 absent, -1 error, -2 the value is
 * corrupt (see vt_store_errmsg). */
int vt_banner_get(struct vt_store *s, const uint8_t *id, size_t idlen, Vantage__BannerRecord **rec);
/* Calls cb for every banner in id order from the id from (NULL: the first)
 * on (cb returns non-zero to stop); records that do not decode are skipped
 * and counted in *corrupt. 0 or -1. */
int vt_banner_scan(struct vt_store *s, const uint8_t *from,
                   int (*cb)(void *arg, const uint8_t *id, size_t idlen,
                             const Vantage__BannerRecord *rec),
                   void *arg, size_t *corrupt);

/* Retention: drops every obs record of windows < before (DeleteRange). */
int vt_store_drop_windows(struct vt_store *s, uint32_t before, char *err, size_t errlen);

/* Compacts all of obs now, merging every operand into its record and freeing
 * the space of dropped windows (RocksDB does this in the background anyway;
 * this is for an operator's `compact` and for tests). 0 or -1. */
int vt_store_compact(struct vt_store *s, char *err, size_t errlen);

/* Sizes of the column families (obs, banner, device, meta) as RocksDB
 * estimates them, for the metrics: cheap (no I/O), any thread. Fills at
 * most max; returns how many. */
struct vt_store_cf_stats {
    const char *name;        /* "obs", ... (static) */
    uint64_t sst_bytes;      /* rocksdb.total-sst-files-size */
    uint64_t live_bytes;     /* rocksdb.estimate-live-data-size */
    uint64_t memtable_bytes; /* rocksdb.cur-size-all-mem-tables */
    uint64_t keys;           /* rocksdb.estimate-num-keys (merge operands may count) */
};
size_t vt_store_cf_stats(struct vt_store *s, struct vt_store_cf_stats *out, size_t max);

/* The merge of two observations, as the merge operator does it (exposed for
 * tests and for in-memory merging). Result is malloc'ed into *out (free with
 * vt_obs_free). */
int vt_obs_merge(const Vantage__Observation *a, const Vantage__Observation *b,
                 Vantage__Observation **out);
void vt_obs_free(Vantage__Observation *o);

#endif
