/* spool.h: the worker's durable outbox of result batches.
 *
 * A directory holding one file per batch, `<seq>.batch` (the packed
 * ResultBatch envelope exactly as it goes on the wire), and a file `seq` with
 * the last sequence number handed out. A batch is written to a temporary
 * name, fsync'ed, renamed and the directory fsync'ed, so after a crash a
 * `.batch` file is whole or absent; leftover temporary files are removed on
 * open. `seq` is persisted before a number is used, so sequence numbers never
 * repeat across restarts, even when the spool was empty.
 *
 * A batch stays until the coordinator acknowledges it (docs/protocol.md,
 * "Results"). The spool is bounded in bytes and in batches: vt_spool_put
 * blocks while it is full, which pauses the lease that fills it.
 *
 * Thread-safe: the lease thread puts, the uplink thread reads and acks. */
#ifndef VANTAGE_WORKER_SPOOL_H
#define VANTAGE_WORKER_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_SPOOL_DEFAULT_DIR         "/var/lib/vantage-worker/spool"
#define VT_SPOOL_DEFAULT_MAX_BYTES   (1ull << 30)
#define VT_SPOOL_DEFAULT_MAX_BATCHES 100000u

struct vt_spool;

/* Opens (creating it, mode 0700) the spool directory. Limits of 0 take the
 * defaults. NULL with a one-line reason in err. */
struct vt_spool *vt_spool_open(const char *dir, uint64_t max_bytes, uint64_t max_batches, char *err,
                               size_t errlen);
void vt_spool_close(struct vt_spool *sp);

/* Hands out the next sequence number, persisted first. 0, or -1 with err. */
int vt_spool_next_seq(struct vt_spool *sp, uint64_t *seq, char *err, size_t errlen);

/* Stores batch seq durably. Blocks while the spool is full (and not empty)
 * until acks free space or vt_spool_interrupt is called. Returns 0 when
 * stored, 1 when interrupted (not stored), -1 with err on an I/O error. */
int vt_spool_put(struct vt_spool *sp, uint64_t seq, const void *buf, size_t len, char *err,
                 size_t errlen);

/* The coordinator holds every batch <= seq: removes them, and makes sure
 * later numbers are above seq. 0, or -1 with err (a file that cannot be
 * removed; the index forgets it anyway). */
int vt_spool_ack(struct vt_spool *sp, uint64_t seq, char *err, size_t errlen);

/* Removes batch seq alone: the coordinator refused it for good (an Error
 * naming it), so keeping it would block the credit window forever. */
int vt_spool_drop(struct vt_spool *sp, uint64_t seq, char *err, size_t errlen);

/* The lowest spooled seq above `after`: true with *seq set, or false. */
bool vt_spool_next_after(struct vt_spool *sp, uint64_t after, uint64_t *seq);

/* Number of spooled batches with lo < seq <= hi. */
size_t vt_spool_count_between(struct vt_spool *sp, uint64_t lo, uint64_t hi);

/* Reads batch seq into a fresh buffer (free() it). 0, or -1 with err. */
int vt_spool_read(struct vt_spool *sp, uint64_t seq, uint8_t **buf, size_t *len, char *err,
                  size_t errlen);

size_t vt_spool_count(struct vt_spool *sp);
/* The highest seq stored in the spool (now or before an ack) or acked by the
 * coordinator: every batch spooled is at or below it, and each number up to
 * it that names a batch was really stored (a number handed out whose put was
 * interrupted is not counted). */
uint64_t vt_spool_last_stored(struct vt_spool *sp);
uint64_t vt_spool_bytes(struct vt_spool *sp);
/* True while a put would block. */
bool vt_spool_full(struct vt_spool *sp);
/* Wakes a put blocked on a full spool (shutdown); later puts still work. */
void vt_spool_interrupt(struct vt_spool *sp);

#endif
