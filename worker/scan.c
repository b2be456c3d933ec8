/* scan.c: the scan engine. See scan.h for the picture; the rules it keeps:
 *
 * - The send loop allocates nothing and makes no system call per probe: it
 *   walks the cyclic group (permute.c), maps each element to (address, port),
 *   has the probe module patch a frame in the sender's ring (send.c), and lets
 *   the rate limiter (ratelimit.c) hand out probes in small batches.
 * - --probes N spreads the N probes of one target in time: each new element is
 *   remembered in a delay ring and sent again LAG and 2·LAG… probes later, so
 *   a burst of loss on the path does not take every copy.
 * - The receive callback (libpcap's thread) only validates (probe module and
 *   the target space) and offers the answer to the intake (recv.c), which
 *   de-duplicates and queues it; formatting happens on the output thread,
 *   which drains the queue in batches.
 * - No answer is lost silently. The intake marks an answer seen only once it
 *   is queued, so one lost to a full queue is taken from its next copy; what
 *   the capture ring and the queue lose is counted and travels with every
 *   progress report and the summary; a capture that fails fails the scan
 *   (its checkpoint stops where capture still worked) instead of letting it
 *   report a whole arc with nobody listening. */
#include "scan.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cookie.h"
#include "link.h"
#include "permute.h"
#include "priv.h"
#include "probe.h"
#include "ratelimit.h"
#include "recv.h"

#define VT_QUEUE_SIZE (1u << 16) /* results between the pcap and output threads */
#define VT_DEDUP_BITS 20         /* slots per generation: remembers >= 2^19 answers */
#define VT_SEND_BATCH 64         /* probes per rate-limiter grant */
#define VT_LAG_MAX    65536      /* probes between copies of one target */
#define VT_STATUS_NS  1000000000ull

/* ---- the probe schedule: new targets from the walk, copies after a lag ----
 *
 * Virtual step v sends target #v (phase 0), then the copies of targets
 * #(v − lag), #(v − 2·lag), … (phases 1 … probes−1). After the walk ends the
 * steps go on with copies only, until the last target's last copy is out. The
 * ring holds the last (probes−1)·lag + 1 targets, so target #v never overwrites
 * one whose copy is still due. */

struct schedule {
    struct vt_walk walk;
    struct vt_targets *targets;
    const struct vt_ports *ports;
    uint64_t *ring; /* addr << 16 | port */
    uint64_t ring_size, lag;
    unsigned probes, phase;
    uint64_t v;     /* virtual step */
    uint64_t taken; /* targets taken from the walk */
    bool walk_done;
};

static void schedule_advance(struct schedule *s)
{
    if (++s->phase == s->probes) {
        s->phase = 0;
        s->v++;
    }
}

static bool schedule_next(struct schedule *s, uint32_t *addr, uint16_t *port)
{
    for (;;) {
        if (s->phase == 0) {
            uint64_t e;
            if (!s->walk_done && vt_walk_next(&s->walk, &e)) {
                uint64_t np = s->ports->n;
                *addr = vt_targets_nth(s->targets, e / np);
                *port = s->ports->port[e % np];
                if (s->ring)
                    s->ring[s->taken % s->ring_size] = (uint64_t)*addr << 16 | *port;
                s->taken++;
                schedule_advance(s);
                return true;
            }
            s->walk_done = true;
            if (s->v >= s->taken + (uint64_t)(s->probes - 1) * s->lag)
                return false;
            schedule_advance(s);
            continue;
        }
        uint64_t back = (uint64_t)s->phase * s->lag, v = s->v;
        schedule_advance(s);
        if (v >= back && v - back < s->taken) {
            uint64_t x = s->ring[(v - back) % s->ring_size];
            *addr = (uint32_t)(x >> 16);
            *port = (uint16_t)x;
            return true;
        }
    }
}

/* ---- checkpoints: steps whose answers have had time to arrive ----
 *
 * The send loop samples (time, steps done) every VT_CKPT_SAMPLE_NS. A step is
 * safe to report once its probes (copies included) and the cooldown are
 * behind it, so the checkpoint is the newest sample older than that. */

#define VT_CKPT_SAMPLES   256
#define VT_CKPT_SAMPLE_NS 100000000ull /* 0.1 s */

struct checkpoints {
    uint64_t t[VT_CKPT_SAMPLES], done[VT_CKPT_SAMPLES];
    unsigned n, head; /* samples held; next slot */
    uint64_t last_sample_ns, last_report_ns, safe;
};

static void ckpt_sample(struct checkpoints *c, uint64_t now, uint64_t done)
{
    c->t[c->head] = now;
    c->done[c->head] = done;
    c->head = (c->head + 1) % VT_CKPT_SAMPLES;
    if (c->n < VT_CKPT_SAMPLES)
        c->n++;
    c->last_sample_ns = now;
}

/* The newest sample taken at or before `before`; it only ever moves forward. */
static uint64_t ckpt_safe(struct checkpoints *c, uint64_t before)
{
    for (unsigned k = 1; k <= c->n; k++) {
        unsigned i = (c->head + VT_CKPT_SAMPLES - k) % VT_CKPT_SAMPLES;
        if (c->t[i] <= before) {
            if (c->done[i] > c->safe)
                c->safe = c->done[i];
            break;
        }
    }
    return c->safe;
}

/* ---- the engine ---- */

struct scan {
    const struct vt_scan_config *cfg;
    const struct vt_probe_module *probe;
    struct vt_cookie cookie;
    struct vt_frame_ctx fctx;
    struct vt_link link;
    struct vt_cycle cycle;
    struct schedule sched;
    struct vt_sender *sender;
    struct vt_receiver *receiver;

    /* receive side: written by the pcap thread only */
    struct vt_intake *intake;
    _Atomic uint64_t answers, results, open, closed;

    /* output side */
    pthread_t output_thread;
    bool output_running;
    _Atomic bool stopping; /* no more answers will be enqueued */
    uint64_t final_done;   /* checkpoint at the end (absolute in the arc) */
    bool finished;         /* the whole arc was walked */
    _Atomic int sink_error;
};

static void on_frame(void *arg, const uint8_t *frame, size_t caplen, const struct timeval *ts)
{
    struct scan *sc = arg;
    struct vt_answer a;
    if (!sc->probe->classify(frame, caplen, &sc->fctx, &a))
        return;
    /* A valid cookie proves we sent it; the space check keeps a stray from a
     * concurrent run with another target list out of this one's output. */
    if (!vt_ports_contains(sc->cfg->ports, a.port) ||
        !vt_targets_contains(sc->cfg->targets, a.addr))
        return;
    atomic_fetch_add_explicit(&sc->answers, 1, memory_order_relaxed);
    struct vt_result r = {
        .addr = a.addr,
        .port = a.port,
        .state = a.state,
        .ttl = a.ttl,
        .ts_ms = (uint64_t)ts->tv_sec * 1000 + (uint64_t)ts->tv_usec / 1000,
    };
    if (vt_intake_offer(sc->intake, &r) != VT_OFFER_QUEUED)
        return; /* a duplicate, or dropped (the intake counts those) */
    atomic_fetch_add_explicit(&sc->results, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(a.state == VT_STATE_OPEN ? &sc->open : &sc->closed, 1,
                              memory_order_relaxed);
}

static void *output_main(void *arg)
{
    struct scan *sc = arg;
    const struct vt_result_sink *sink = &sc->cfg->sink;
    struct vt_result r;
    for (;;) {
        bool stopping = atomic_load(&sc->stopping);
        unsigned n = 0;
        while (vt_intake_take(sc->intake, &r)) {
            if (sink->write(sink->arg, &r) != 0)
                atomic_store(&sc->sink_error, errno ? errno : EIO);
            n++;
        }
        if (n && sink->flush && sink->flush(sink->arg) != 0)
            atomic_store(&sc->sink_error, errno ? errno : EIO);
        if (stopping && n == 0)
            return NULL;
        if (n == 0) {
            struct timespec pause = {0, 10 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
}

static void fmt_duration(double secs, char *buf, size_t len)
{
    unsigned s = secs < 0 ? 0 : (unsigned)secs;
    snprintf(buf, len, "%u:%02u", s / 60, s % 60);
}

static void fmt_rate(double r, char *buf, size_t len)
{
    if (r >= 1e6)
        snprintf(buf, len, "%.2f Mp/s", r / 1e6);
    else if (r >= 1e3)
        snprintf(buf, len, "%.1f Kp/s", r / 1e3);
    else
        snprintf(buf, len, "%.0f p/s", r);
}

/* One status line, as zmap prints them: elapsed, done, left, send, recv, drops, hit rate. */
struct status {
    uint64_t start_ns, last_ns, last_sent, last_recv;
};

/* Answers lost so far: the capture's drops and the intake's. */
static uint64_t answers_dropped(struct scan *sc)
{
    struct vt_recv_stats rs;
    vt_receiver_stats(sc->receiver, &rs);
    return rs.dropped + vt_intake_dropped(sc->intake);
}

/* True, with the reason in err, once capture has failed: from then on no
 * answer can arrive, so the scan must end as failed, not go on as if complete. */
static bool capture_failed(struct scan *sc, char *err, size_t errlen)
{
    const char *why = vt_receiver_error(sc->receiver);
    if (why)
        snprintf(err, errlen, "%s; answers since then are lost", why);
    return why != NULL;
}

static void status_line(struct scan *sc, struct status *st, uint64_t now, uint64_t sent,
                        bool cooling)
{
    double el = (now - st->start_ns) / 1e9, dt = (now - st->last_ns) / 1e9;
    uint64_t recv = atomic_load(&sc->results);
    char e[16], left[16], sr[24], rr[24];
    fmt_duration(el, e, sizeof e);
    const struct vt_walk *w = &sc->sched.walk;
    double frac = w->count ? (double)w->done / w->count : 1;
    if (cooling)
        snprintf(left, sizeof left, "cooldown");
    else if (frac > 0)
        fmt_duration(el / frac - el, left, sizeof left), strcat(left, " left");
    else
        snprintf(left, sizeof left, "? left");
    fmt_rate(dt > 0 ? (sent - st->last_sent) / dt : 0, sr, sizeof sr);
    fmt_rate(dt > 0 ? (recv - st->last_recv) / dt : 0, rr, sizeof rr);
    fprintf(stderr,
            "%s %3.0f%% (%s); send: %" PRIu64 " %s; recv: %" PRIu64 " %s; drops: %" PRIu64
            "; hitrate: %.2f%%\n",
            e, 100 * frac, left, sent, sr, recv, rr, answers_dropped(sc),
            sent ? 100.0 * recv / sent : 0.0);
    st->last_ns = now;
    st->last_sent = sent;
    st->last_recv = recv;
}

static int scan_setup(struct scan *sc, char *err, size_t errlen)
{
    const struct vt_scan_config *cfg = sc->cfg;
    sc->probe = vt_probe_find("tcp_syn");
    if (!sc->probe) {
        snprintf(err, errlen, "probe module tcp_syn is missing from this build");
        return -1;
    }
    /* Keys are fresh per run: another run's answers, even one with the same seed
     * on the same host, fail validation here. The seed fixes only the order. */
    if (vt_cookie_init_random(&sc->cookie) != 0) {
        snprintf(err, errlen, "cannot initialise libsodium (no entropy source?)");
        return -1;
    }
    uint64_t elements = vt_targets_count(cfg->targets) * cfg->ports->n;
    if (vt_cycle_init(&sc->cycle, elements, cfg->seed) != 0) {
        snprintf(err, errlen, "target space of %" PRIu64 " elements is too large", elements);
        return -1;
    }
    uint64_t first, count;
    if (cfg->arc_given) {
        if (cfg->arc_done > cfg->arc_steps ||
            cfg->arc_first + cfg->arc_steps > vt_cycle_steps(&sc->cycle)) {
            snprintf(err, errlen,
                     "arc of %" PRIu64 " steps from %" PRIu64 " does not fit the walk of %" PRIu64
                     " steps",
                     cfg->arc_steps, cfg->arc_first, vt_cycle_steps(&sc->cycle));
            return -1;
        }
        first = cfg->arc_first + cfg->arc_done;
        count = cfg->arc_steps - cfg->arc_done;
    } else {
        vt_cycle_arc(&sc->cycle, cfg->shard_i, cfg->shard_n, &first, &count);
    }
    vt_walk_start(&sc->sched.walk, &sc->cycle, first, count);
    sc->sched.targets = cfg->targets;
    sc->sched.ports = cfg->ports;
    sc->sched.probes = cfg->probes;
    if (cfg->probes > 1) {
        uint64_t lag = cfg->rate ? cfg->rate / 4 : VT_LAG_MAX;
        sc->sched.lag = lag < 1 ? 1 : lag > VT_LAG_MAX ? VT_LAG_MAX : lag;
        sc->sched.ring_size = (cfg->probes - 1) * sc->sched.lag + 1;
        sc->sched.ring = calloc(sc->sched.ring_size, sizeof(uint64_t));
    }
    sc->intake = vt_intake_new(VT_QUEUE_SIZE, VT_DEDUP_BITS);
    if (!sc->intake || (cfg->probes > 1 && !sc->sched.ring)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (vt_link_resolve(&sc->link, vt_targets_nth(cfg->targets, 0), cfg->ifname, cfg->source_ip,
                        cfg->gw_mac, err, errlen) != 0)
        return -1;
    memcpy(sc->fctx.src_mac, sc->link.src_mac, 6);
    memcpy(sc->fctx.gw_mac, sc->link.gw_mac, 6);
    sc->fctx.saddr = sc->link.src_ip;
    sc->fctx.cookie = &sc->cookie;

    sc->sender = vt_sender_open(sc->link.ifname, sc->probe->frame_len, cfg->send_mode, err, errlen);
    if (!sc->sender)
        return -1;
    uint8_t tpl[256];
    sc->probe->make_template(tpl, &sc->fctx);
    vt_sender_set_template(sc->sender, tpl);

    char bpf[512];
    if (vt_probe_bpf_filter(sc->probe, sc->link.src_ip, bpf, sizeof bpf) < 0) {
        snprintf(err, errlen, "capture filter of probe module %s is too long", sc->probe->name);
        return -1;
    }
    sc->receiver = vt_receiver_open(sc->link.ifname, bpf, on_frame, sc, err, errlen);
    if (!sc->receiver)
        return -1;
    /* Every socket is open: from here on the scan needs no privilege at all.
     * Capabilities are per thread, so this comes before any thread starts. */
    if (vt_drop_privileges(err, errlen) != 0)
        return -1;
    if (vt_receiver_run(sc->receiver, err, errlen) != 0)
        return -1;
    int e = pthread_create(&sc->output_thread, NULL, output_main, sc);
    if (e != 0) {
        snprintf(err, errlen, "cannot start the output thread: %s", strerror(e));
        return -1;
    }
    sc->output_running = true;
    return 0;
}

int vt_scan_run(const struct vt_scan_config *cfg, struct vt_scan_summary *sum, char *err,
                size_t errlen)
{
    struct scan *sc = calloc(1, sizeof *sc);
    if (!sc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sc->cfg = cfg;
    memset(sum, 0, sizeof *sum);
    struct vt_scan_control *ctl = cfg->control;
    struct checkpoints ck = {.safe = cfg->arc_done};
    uint64_t settle_ns = 0;
    bool stopped = false, more = true;
    /* Until when every answer could have been captured: the end of the
     * cooldown, or the moment the scan gave up (a send or capture failure). */
    uint64_t cutoff_ns = 0;
    int rc = scan_setup(sc, err, errlen);
    if (rc == 0) {
        uint64_t start = vt_now_ns(), sent = 0;
        uint64_t rate = cfg->rate;
        if (ctl && atomic_load(&ctl->rate))
            rate = atomic_load(&ctl->rate);
        struct vt_ratelimit rl;
        vt_ratelimit_init(&rl, rate, start);
        struct status st = {start, start, 0, 0};
        /* A step is safe once its last copy went out and the cooldown passed. */
        settle_ns = (uint64_t)cfg->cooldown * 1000000000ull + 500000000ull +
                    (rate ? sc->sched.lag * (cfg->probes - 1) * 1000000000ull / rate : 0);
        const struct vt_targets *optout = NULL;
        uint16_t ip_id = 0;
        while (more) {
            uint64_t now = vt_now_ns();
            if (capture_failed(sc, err, errlen)) {
                rc = -1;
                break;
            }
            if (ctl) {
                if (atomic_load(&ctl->stop))
                    break;
                uint64_t r = atomic_load(&ctl->rate);
                if (r && r != rate)
                    vt_ratelimit_set(&rl, rate = r, now);
                optout = atomic_load(&ctl->blocklist);
                if (now - ck.last_sample_ns >= VT_CKPT_SAMPLE_NS)
                    ckpt_sample(&ck, now, cfg->arc_done + sc->sched.walk.done);
                if (ctl->progress && now - ck.last_report_ns >= VT_STATUS_NS) {
                    ck.last_report_ns = now;
                    ctl->progress(ctl->progress_arg,
                                  ckpt_safe(&ck, now > settle_ns ? now - settle_ns : 0), false,
                                  answers_dropped(sc));
                }
            }
            uint64_t n = vt_ratelimit_take(&rl, now, VT_SEND_BATCH);
            if (n && rate && cfg->debt) {
                /* Packets others spent of the budget (banner grabs) come first. */
                uint64_t owed = atomic_load(cfg->debt), pay = owed < n ? owed : n;
                if (pay) {
                    atomic_fetch_sub(cfg->debt, pay);
                    n -= pay;
                }
            }
            if (n == 0) {
                /* Frames leave a batch at a time; before pausing, let the ones
                 * due now go, or slow scans would send in bursts. */
                if (vt_sender_flush(sc->sender) != 0) {
                    rc = -1;
                    snprintf(err, errlen, "sending on %s failed: %s", sc->link.ifname,
                             vt_sender_error(sc->sender));
                    break;
                }
                vt_sleep_ns(vt_ratelimit_wait_ns(&rl, now));
                continue;
            }
            for (uint64_t i = 0; i < n; i++) {
                uint32_t addr;
                uint16_t port;
                if (!schedule_next(&sc->sched, &addr, &port)) {
                    more = false;
                    break;
                }
                if (optout && vt_targets_contains(optout, addr))
                    continue; /* opted out since the scan began */
                uint8_t *slot = vt_sender_slot(sc->sender);
                if (!slot) {
                    rc = -1;
                    break;
                }
                sc->probe->fill(slot, &sc->fctx, addr, port, ip_id++);
                if (vt_sender_commit(sc->sender) != 0) {
                    rc = -1;
                    break;
                }
                sent++;
            }
            if (rc != 0) {
                const char *why = vt_sender_error(sc->sender);
                snprintf(err, errlen, "sending on %s failed: %s", sc->link.ifname,
                         why ? why : "no send slot came free");
                break;
            }
            if (cfg->status && now - st.last_ns >= VT_STATUS_NS)
                status_line(sc, &st, now, sent, false);
        }
        if (rc == 0)
            vt_sender_drain(sc->sender); /* the end of sending, and final counts */
        sum->send_seconds = (vt_now_ns() - start) / 1e9;
        /* Late answers: wait out the cooldown, still reporting each second. */
        stopped = ctl && atomic_load(&ctl->stop);
        uint64_t end = vt_now_ns() + (rc == 0 ? (uint64_t)cfg->cooldown * 1000000000ull : 0);
        if (stopped && end > vt_now_ns() + 1000000000ull)
            end = vt_now_ns() + 1000000000ull; /* stopped: a short grace only */
        if (ctl)
            ckpt_sample(&ck, vt_now_ns(), cfg->arc_done + sc->sched.walk.done);
        for (uint64_t now = vt_now_ns(); now < end; now = vt_now_ns()) {
            uint64_t step = end - now < 100000000ull ? end - now : 100000000ull;
            vt_sleep_ns(step);
            if (capture_failed(sc, err, errlen)) {
                rc = -1;
                break;
            }
            if (cfg->status && vt_now_ns() - st.last_ns >= VT_STATUS_NS)
                status_line(sc, &st, vt_now_ns(), sent, true);
            if (ctl && ctl->progress && vt_now_ns() - ck.last_report_ns >= VT_STATUS_NS) {
                ck.last_report_ns = vt_now_ns();
                uint64_t t = vt_now_ns();
                ctl->progress(ctl->progress_arg, ckpt_safe(&ck, t > settle_ns ? t - settle_ns : 0),
                              false, answers_dropped(sc));
            }
        }
        cutoff_ns = vt_now_ns();
        struct vt_send_stats ss;
        vt_sender_stats(sc->sender, &ss);
        sum->targets = sc->sched.taken;
        sum->sent = ss.sent;
        sum->send_failures = ss.failed;
        sum->seconds = (vt_now_ns() - start) / 1e9;
    }
    /* Capture ends: the receiver hands over what the ring still holds, then
     * its counts are final. A failure found only now fails the scan too. */
    if (sc->receiver) {
        vt_receiver_stop(sc->receiver);
        struct vt_recv_stats rs;
        vt_receiver_stats(sc->receiver, &rs);
        sum->pcap_drops = rs.dropped;
        if (rc == 0 && capture_failed(sc, err, errlen))
            rc = -1;
    }
    if (sc->output_running) {
        atomic_store(&sc->stopping, true);
        pthread_join(sc->output_thread, NULL);
    }
    if (sc->intake)
        sum->queue_drops = vt_intake_dropped(sc->intake);
    /* The checkpoint: the whole walk if it ran to the end with capture working
     * throughout, else only the steps whose answers had time to arrive before
     * the scan gave up. */
    sc->final_done = stopped || rc != 0
                         ? ckpt_safe(&ck, cutoff_ns > settle_ns ? cutoff_ns - settle_ns : 0)
                         : cfg->arc_done + sc->sched.walk.done;
    sc->finished = !stopped && rc == 0 && !more;
    /* Every answer is in the sink now: the checkpoint may cover the whole walk. */
    if (ctl && ctl->progress && sc->output_running)
        ctl->progress(ctl->progress_arg, sc->final_done,
                      sc->finished && !atomic_load(&sc->sink_error),
                      sum->pcap_drops + sum->queue_drops);
    if (rc == 0 && atomic_load(&sc->sink_error)) {
        snprintf(err, errlen, "cannot write results: %s", strerror(atomic_load(&sc->sink_error)));
        rc = -1;
    }
    sum->answers = atomic_load(&sc->answers);
    sum->results = atomic_load(&sc->results);
    sum->open = atomic_load(&sc->open);
    sum->closed = atomic_load(&sc->closed);
    vt_receiver_close(sc->receiver);
    if (sc->sender)
        vt_sender_close(sc->sender);
    free(sc->sched.ring);
    vt_intake_free(sc->intake);
    free(sc);
    return rc;
}
