/* enrich.c: the banner stage (enrich.h).
 *
 * Tickets: every result the scan hands over gets the next ticket (in_seq).
 * A progress report made when in_seq was T may pass once every ticket < T is
 * through: none is still in the ring (out_seq >= T), none is held back
 * because the grabber's queue was full, and none is in the grabber
 * (vt_grabber_min_ticket() >= T). Closed results are through when they are
 * dequeued, open ones when their grab's done() has written them.
 *
 * The answer's TTL and time wait for the grab in a small open-addressing
 * table keyed by ticket (at most the grabber's queue plus its connections are
 * in flight, so a table twice that size never fills). */
#include "enrich.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"

#define PENDING_REPORTS 64
#define IDLE_WAIT_MS    20

struct report {
    uint64_t ticket, done, dropped;
    bool finished;
};

struct inflight {
    uint64_t ticket; /* UINT64_MAX: free */
    uint64_t ts_ms;
    uint8_t ttl;
};

struct vt_enrich {
    struct vt_enrich_config cfg;
    struct vt_grabber *grabber;
    pthread_t thread;

    /* Shared with the scan's threads, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t not_full, wake;
    struct vt_result *ring; /* VT_ENRICH_QUEUE results, svc unused */
    uint64_t in_seq, out_seq;
    _Atomic uint64_t passed; /* results through: written on, dropped or opted out */
    struct report reports[PENDING_REPORTS];
    unsigned nreports;
    bool finishing, abandon, sink_failed;

    /* The stage thread's own. */
    struct inflight *table;
    size_t table_size; /* a power of two */
    bool put;          /* ring[out_seq] is open and already in the table */
    struct vt_ratelimit pace;
    uint64_t pace_rate, started_seen;
    struct vt_labels labels;
    struct vt_enrich_stats stats;
    char err[256];
};

/* ---- the in-flight table ---- */

static size_t slot_of(const struct vt_enrich *e, uint64_t ticket)
{
    return (size_t)(ticket * 0x9e3779b97f4a7c15ull >> 20) & (e->table_size - 1);
}

static void inflight_put(struct vt_enrich *e, uint64_t ticket, uint8_t ttl, uint64_t ts_ms)
{
    size_t i = slot_of(e, ticket);
    while (e->table[i].ticket != UINT64_MAX)
        i = (i + 1) & (e->table_size - 1);
    e->table[i] = (struct inflight){ticket, ts_ms, ttl};
}

/* Takes the entry of ticket out of the table (backward-shift deletion). */
static bool inflight_take(struct vt_enrich *e, uint64_t ticket, struct inflight *out)
{
    size_t mask = e->table_size - 1, i = slot_of(e, ticket);
    while (e->table[i].ticket != ticket) {
        if (e->table[i].ticket == UINT64_MAX)
            return false;
        i = (i + 1) & mask;
    }
    *out = e->table[i];
    for (size_t j = (i + 1) & mask; e->table[j].ticket != UINT64_MAX; j = (j + 1) & mask) {
        size_t home = slot_of(e, e->table[j].ticket);
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            e->table[i] = e->table[j];
            i = j;
        }
    }
    e->table[i].ticket = UINT64_MAX;
    return true;
}

/* ---- results on to the sink ---- */

static void write_on(struct vt_enrich *e, const struct vt_result *r)
{
    if (e->sink_failed)
        return;
    if (e->cfg.sink.write(e->cfg.sink.arg, r) != 0) {
        snprintf(e->err, sizeof e->err, "results could not be written: %s", strerror(errno));
        pthread_mutex_lock(&e->mu);
        e->sink_failed = true;
        pthread_cond_broadcast(&e->not_full);
        pthread_mutex_unlock(&e->mu);
    }
}

/* The grabber's done(): identify, then write the result on. */
static void grab_done(void *arg, const struct vt_grab *g)
{
    struct vt_enrich *e = arg;
    struct inflight f = {g->ticket, 0, 0};
    if (!inflight_take(e, g->ticket, &f))
        return; /* cannot happen: every grab was put first */
    vt_labels_clear(&e->labels);
    bool identified = false;
    for (size_t i = 0; e->cfg.rules && i < g->nparts; i++)
        if (vt_rules_match(e->cfg.rules, g->parts[i].matches, g->parts[i].text, g->parts[i].len,
                           &e->labels) > 0)
            identified = true;
    if (g->exposure)
        vt_labels_set(&e->labels, "exposure", g->exposure, true);
    for (size_t i = 0; i < g->nparts; i++)
        if (!strcmp(g->parts[i].matches, "ssh.hostkey")) { /* no rule matches it: show it */
            char fp[128];
            size_t n = g->parts[i].len < sizeof fp - 1 ? g->parts[i].len : sizeof fp - 1;
            memcpy(fp, g->parts[i].text, n);
            fp[n] = '\0';
            vt_labels_set(&e->labels, "ssh.hostkey", fp, true);
        }
    if (g->host_truncated)
        vt_labels_set(&e->labels, "truncated", "true", true);
    e->stats.grabs++;
    e->stats.banners += g->proto != NULL;
    e->stats.identified += identified;
    e->stats.capped += g->status == VT_GRAB_CAPPED;
    struct vt_service svc = {
        .grab = vt_grab_status_name(g->status),
        .proto = g->proto,
        .banner = g->banner,
        .banner_len = g->banner_len,
        .parts = g->parts,
        .nparts = g->nparts,
        .labels = &e->labels,
    };
    struct vt_result r = {g->addr, g->port, VT_STATE_OPEN, f.ttl, f.ts_ms, &svc};
    write_on(e, &r);
    atomic_fetch_add(&e->passed, 1);
}

/* ---- the thread ---- */

static uint64_t current_rate(const struct vt_enrich *e)
{
    uint64_t r = e->cfg.rate_live ? atomic_load(e->cfg.rate_live) : 0;
    return r ? r : e->cfg.rate;
}

/* Hands results from the ring to the grabber (or straight on) while the pace
 * and the grabber allow. A result leaves the ring only once the grabber has
 * it, so out_seq is also the lowest ticket not yet handed over. */
static void take_results(struct vt_enrich *e)
{
    uint64_t now = vt_now_ns();
    uint64_t rate = current_rate(e), grab_rate = rate ? rate / VT_GRAB_PACKETS : 0;
    if (rate && grab_rate == 0)
        grab_rate = 1;
    if (grab_rate != e->pace_rate) {
        vt_ratelimit_set(&e->pace, grab_rate, now);
        e->pace_rate = grab_rate;
    }
    for (;;) {
        pthread_mutex_lock(&e->mu);
        bool empty = e->out_seq == e->in_seq, abandon = e->abandon;
        uint64_t ticket = e->out_seq;
        struct vt_result r = e->ring[ticket % VT_ENRICH_QUEUE];
        pthread_mutex_unlock(&e->mu);
        if (empty || abandon)
            return;
        const struct vt_targets *optout = e->cfg.blocklist ? atomic_load(e->cfg.blocklist) : NULL;
        if (optout && vt_targets_contains(optout, r.addr)) {
            /* Opted out since it was found: no connection, no result. */
            atomic_fetch_add(&e->passed, 1);
        } else if (r.state == VT_STATE_OPEN) {
            if (!e->put) {
                if (vt_ratelimit_take(&e->pace, now, 1) == 0)
                    return; /* no budget now: it waits in the ring */
                inflight_put(e, ticket, r.ttl, r.ts_ms);
                e->put = true;
            }
            int rc = vt_grabber_add(e->grabber, r.addr, r.port, ticket);
            if (rc == 1)
                return; /* the grabber's queue is full: again after a poll */
            e->put = false;
            if (rc < 0) { /* no grab possible: the port is open all the same */
                struct inflight f;
                inflight_take(e, ticket, &f);
                r.svc = NULL;
                write_on(e, &r);
                atomic_fetch_add(&e->passed, 1);
            }
        } else {
            write_on(e, &r);
            atomic_fetch_add(&e->passed, 1);
        }
        pthread_mutex_lock(&e->mu);
        e->out_seq++;
        pthread_cond_signal(&e->not_full);
        pthread_mutex_unlock(&e->mu);
    }
}

/* Packets the grabs started since the last call cost, for the send loop. */
static void charge(struct vt_enrich *e)
{
    uint64_t started = vt_grabber_started(e->grabber);
    if (e->cfg.debt && started > e->started_seen)
        atomic_fetch_add(e->cfg.debt, (started - e->started_seen) * VT_GRAB_PACKETS);
    e->started_seen = started;
}

/* Forwards the reports whose results are all through. Without mu. */
static void pass_reports(struct vt_enrich *e)
{
    pthread_mutex_lock(&e->mu);
    unsigned waiting = e->nreports;
    pthread_mutex_unlock(&e->mu);
    if (waiting == 0)
        return; /* the grabber's lowest ticket costs a walk of its queue: only when needed */
    uint64_t low = vt_grabber_min_ticket(e->grabber);
    for (;;) {
        pthread_mutex_lock(&e->mu);
        uint64_t through = e->out_seq < low ? e->out_seq : low;
        bool go = e->nreports > 0 && e->reports[0].ticket <= through && !e->sink_failed;
        struct report rep = e->reports[0];
        if (go)
            memmove(e->reports, e->reports + 1, --e->nreports * sizeof *e->reports);
        pthread_mutex_unlock(&e->mu);
        if (!go)
            return;
        if (e->cfg.sink.flush && e->cfg.sink.flush(e->cfg.sink.arg) != 0) {
            snprintf(e->err, sizeof e->err, "results could not be written: %s", strerror(errno));
            pthread_mutex_lock(&e->mu);
            e->sink_failed = true;
            pthread_cond_broadcast(&e->not_full);
            pthread_mutex_unlock(&e->mu);
            return;
        }
        if (e->cfg.progress)
            e->cfg.progress(e->cfg.progress_arg, rep.done, rep.finished, rep.dropped);
    }
}

static void *stage_thread(void *arg)
{
    struct vt_enrich *e = arg;
    for (;;) {
        take_results(e);
        charge(e);
        size_t pending = vt_grabber_pending(e->grabber);
        pthread_mutex_lock(&e->mu);
        bool queued = e->out_seq != e->in_seq;
        bool finishing = e->finishing, abandon = e->abandon;
        if (!pending && !queued && !finishing) {
            /* Nothing to do: sleep until a result or a report comes. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += IDLE_WAIT_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&e->wake, &e->mu, &ts);
        }
        pthread_mutex_unlock(&e->mu);
        if (abandon)
            break;
        if (pending && vt_grabber_poll(e->grabber, queued ? 1 : IDLE_WAIT_MS) < 0) {
            snprintf(e->err, sizeof e->err, "the banner grabber failed: %s", strerror(errno));
            pthread_mutex_lock(&e->mu);
            e->sink_failed = true;
            pthread_cond_broadcast(&e->not_full);
            pthread_mutex_unlock(&e->mu);
            break;
        }
        pass_reports(e);
        if (finishing && !pending && !queued && vt_grabber_pending(e->grabber) == 0) {
            pass_reports(e);
            break;
        }
        if (queued && !pending)
            vt_sleep_ns(1000000); /* paced: the ring waits for budget */
    }
    return NULL;
}

/* ---- the API ---- */

struct vt_enrich *vt_enrich_start(const struct vt_enrich_config *cfg, char *err, size_t errlen)
{
    struct vt_enrich *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->cfg = *cfg;
    e->cfg.grab.done = grab_done;
    e->cfg.grab.arg = e;
    if (e->cfg.grab.queue == 0)
        e->cfg.grab.queue = 4096;
    unsigned conc = e->cfg.grab.concurrency ? e->cfg.grab.concurrency : 1000;
    e->table_size = 16;
    while (e->table_size < 2 * ((size_t)e->cfg.grab.queue + conc + 1))
        e->table_size *= 2;
    e->table = malloc(e->table_size * sizeof *e->table);
    e->ring = malloc(VT_ENRICH_QUEUE * sizeof *e->ring);
    if (!e->table || !e->ring) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < e->table_size; i++)
        e->table[i].ticket = UINT64_MAX;
    e->grabber = vt_grabber_new(&e->cfg.grab, err, errlen);
    if (!e->grabber)
        goto fail;
    vt_labels_init(&e->labels);
    vt_ratelimit_init(&e->pace, 0, vt_now_ns());
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->not_full, NULL);
    pthread_cond_init(&e->wake, NULL);
    int rc = pthread_create(&e->thread, NULL, stage_thread, e);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the banner thread: %s", strerror(rc));
        vt_grabber_free(e->grabber);
        goto fail;
    }
    return e;
fail:
    free(e->table);
    free(e->ring);
    free(e);
    return NULL;
}

int vt_enrich_write(void *arg, const struct vt_result *r)
{
    struct vt_enrich *e = arg;
    pthread_mutex_lock(&e->mu);
    while (e->in_seq - e->out_seq == VT_ENRICH_QUEUE && !e->sink_failed)
        pthread_cond_wait(&e->not_full, &e->mu);
    bool failed = e->sink_failed;
    if (!failed) {
        struct vt_result *slot = &e->ring[e->in_seq % VT_ENRICH_QUEUE];
        *slot = *r;
        slot->svc = NULL;
        if (e->in_seq++ == e->out_seq)
            pthread_cond_signal(&e->wake);
    }
    pthread_mutex_unlock(&e->mu);
    if (failed)
        errno = EIO;
    return failed ? -1 : 0;
}

int vt_enrich_flush(void *arg)
{
    struct vt_enrich *e = arg;
    pthread_mutex_lock(&e->mu);
    bool failed = e->sink_failed;
    pthread_mutex_unlock(&e->mu);
    if (failed)
        errno = EIO;
    return failed ? -1 : 0; /* results go on as their grabs end */
}

void vt_enrich_progress(void *arg, uint64_t done, bool finished, uint64_t dropped)
{
    struct vt_enrich *e = arg;
    pthread_mutex_lock(&e->mu);
    struct report rep = {e->in_seq, done, dropped, finished};
    if (e->nreports == PENDING_REPORTS)
        e->reports[e->nreports - 1] = rep; /* a later report covers an earlier one */
    else
        e->reports[e->nreports++] = rep;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
}

uint64_t vt_enrich_pending(struct vt_enrich *e)
{
    pthread_mutex_lock(&e->mu);
    uint64_t in = e->in_seq;
    pthread_mutex_unlock(&e->mu);
    uint64_t passed = atomic_load(&e->passed);
    return in > passed ? in - passed : 0;
}

int vt_enrich_finish(struct vt_enrich *e, bool abandon, struct vt_enrich_stats *st, char *err,
                     size_t errlen)
{
    pthread_mutex_lock(&e->mu);
    e->finishing = true;
    e->abandon = abandon;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    int rc = 0;
    if (e->sink_failed) {
        snprintf(err, errlen, "%s", e->err);
        rc = -1;
    } else if (e->cfg.sink.flush && e->cfg.sink.flush(e->cfg.sink.arg) != 0) {
        snprintf(err, errlen, "results could not be written: %s", strerror(errno));
        rc = -1;
    }
    if (st)
        *st = e->stats;
    vt_grabber_free(e->grabber);
    vt_labels_free(&e->labels);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->not_full);
    pthread_cond_destroy(&e->wake);
    free(e->table);
    free(e->ring);
    free(e);
    return rc;
}
