/* lease.c: the lease runner. See lease.h for the processes and the frames
 * between them.
 *
 * Three parts: the frame I/O both sides use; the helper and scan processes
 * (helper_main, scan_main), which never touch ZeroMQ; and, in the main
 * process, the lease thread (lease_thread) that spools results and posts
 * events, plus the vt_lease_ops the uplink calls. */
#include "lease.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "enrich.h"
#include "envelope.h"
#include "log.h"
#include "scan.h"

#define FRAME_MAX         (VT_MAX_MESSAGE + 64)
#define RESULT_BYTES      16
#define RESULTS_PER_FRAME 256
#define PROGRESS_BYTES    17      /* 'p': u64 done, u8 finished, u64 dropped */
#define COUNTS_BYTES      (8 * 8) /* 'c': struct vt_lease_counts, one lease's */
#define BATCH_MAX         1000
#define BATCH_MAX_BYTES                                                                            \
    (1u << 20) /* banners make results big: a batch stays far below VT_MAX_MESSAGE */
#define BATCH_MS       1000
#define LEASE_COOLDOWN 2
#define MAX_BLOCKLISTS 256

/* ---- frames ---------------------------------------------------------- */

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static int frame_write(int fd, uint8_t type, const void *body, size_t len)
{
    uint8_t hdr[5];
    uint32_t n = (uint32_t)len + 1;
    memcpy(hdr, &n, 4);
    hdr[4] = type;
    struct iovec iov[2] = {{hdr, 5}, {(void *)body, len}};
    return write_all(fd, iov, len ? 2 : 1);
}

/* 0 read whole, 1 end of file before the first byte, -1 error or torn. */
static int read_all(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (uint8_t *)p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return got == 0 ? 1 : -1;
        got += (size_t)r;
    }
    return 0;
}

/* Reads one frame; body is malloc'ed (free it). 0, 1 at end of file, -1. */
static int frame_read(int fd, uint8_t *type, uint8_t **body, size_t *len)
{
    uint8_t hdr[5];
    int rc = read_all(fd, hdr, 5);
    if (rc != 0)
        return rc;
    uint32_t n;
    memcpy(&n, hdr, 4);
    if (n < 1 || n > FRAME_MAX)
        return -1;
    *type = hdr[4];
    *len = n - 1;
    *body = malloc(*len + 1);
    if (!*body)
        return -1;
    (*body)[*len] = '\0'; /* text bodies end in NUL for free */
    if (*len && read_all(fd, *body, *len) != 0) {
        free(*body);
        return -1;
    }
    return 0;
}

/* ---- the scan process ------------------------------------------------ */

struct scan_proc {
    int fd;
    pthread_mutex_t mu; /* the fd and the result buffer: output and send threads */
    uint8_t buf[RESULTS_PER_FRAME * RESULT_BYTES];
    size_t nres;
    bool broken; /* the main process is gone */
    const struct vt_policy *policy;
    struct vt_scan_control ctl;
    struct vt_targets *sets[MAX_BLOCKLISTS]; /* every opt-out set handed out */
    size_t nsets;
    struct vt_enrich *stage; /* the lease grabs banners */
};

static int flush_locked(struct scan_proc *sp)
{
    if (sp->nres == 0 || sp->broken)
        return sp->broken ? -1 : 0;
    if (frame_write(sp->fd, 'r', sp->buf, sp->nres * RESULT_BYTES) != 0) {
        sp->broken = true;
        atomic_store(&sp->ctl.stop, true);
        return -1;
    }
    sp->nres = 0;
    return 0;
}

/* One result with its banner as a packed Result ('b' frame). */
static int write_service(struct scan_proc *sp, const struct vt_result *r)
{
    const struct vt_service *svc = r->svc;
    Vantage__Result res = VANTAGE__RESULT__INIT;
    Vantage__Label lab[VT_LABELS_MAX], *labp[VT_LABELS_MAX];
    Vantage__BannerPart part[VT_BANNER_PARTS], *partp[VT_BANNER_PARTS];
    res.ip = r->addr;
    res.port = r->port;
    res.open = true;
    res.has_ttl = true;
    res.ttl = r->ttl;
    res.ts_ms = r->ts_ms;
    res.proto = (char *)svc->proto;
    res.grab = (char *)svc->grab;
    if (svc->banner_len) {
        res.has_banner = true;
        res.banner.data = (uint8_t *)svc->banner;
        res.banner.len = svc->banner_len;
    }
    res.n_labels = vt_labels_to_pb(svc->labels, lab, labp, VT_LABELS_MAX);
    res.labels = labp;
    for (size_t i = 0; i < svc->nparts && i < VT_BANNER_PARTS; i++) {
        vantage__banner_part__init(&part[i]);
        part[i].matches = (char *)svc->parts[i].matches;
        part[i].text.data = (uint8_t *)svc->parts[i].text;
        part[i].text.len = svc->parts[i].len;
        partp[res.n_parts++] = &part[i];
    }
    res.parts = partp;
    uint8_t buf[16384];
    size_t len = vantage__result__get_packed_size(&res);
    if (len > sizeof buf) { /* parts are capped by the grabber; never this big */
        res.n_parts = 0;
        len = vantage__result__get_packed_size(&res);
        if (len > sizeof buf)
            return -1;
    }
    vantage__result__pack(&res, buf);
    if (frame_write(sp->fd, 'b', buf, len) != 0) {
        sp->broken = true;
        atomic_store(&sp->ctl.stop, true);
        return -1;
    }
    return 0;
}

static int scan_sink_write(void *arg, const struct vt_result *r)
{
    struct scan_proc *sp = arg;
    pthread_mutex_lock(&sp->mu);
    if (r->svc) {
        int rc = sp->broken ? -1 : write_service(sp, r);
        pthread_mutex_unlock(&sp->mu);
        if (rc != 0)
            errno = EPIPE;
        return rc;
    }
    uint8_t *b = sp->buf + sp->nres * RESULT_BYTES;
    memcpy(b, &r->addr, 4);
    memcpy(b + 4, &r->port, 2);
    b[6] = r->state == VT_STATE_OPEN;
    b[7] = r->ttl;
    memcpy(b + 8, &r->ts_ms, 8);
    int rc = 0;
    if (++sp->nres == RESULTS_PER_FRAME)
        rc = flush_locked(sp);
    pthread_mutex_unlock(&sp->mu);
    if (rc != 0)
        errno = EPIPE;
    return rc;
}

static int scan_sink_flush(void *arg)
{
    struct scan_proc *sp = arg;
    pthread_mutex_lock(&sp->mu);
    int rc = flush_locked(sp);
    pthread_mutex_unlock(&sp->mu);
    if (rc != 0)
        errno = EPIPE;
    return rc;
}

/* New opt-outs: a new set (current ∪ added), swapped in whole; the old one
 * stays allocated until the scan ends, as scan.h asks. */
static void add_optouts(struct scan_proc *sp, const uint8_t *body, size_t len)
{
    Vantage__BlocklistAdd *add = vantage__blocklist_add__unpack(NULL, len, body);
    if (!add)
        return;
    struct vt_targets *next = malloc(sizeof *next);
    const struct vt_targets *cur = atomic_load(&sp->ctl.blocklist);
    bool ok = next && sp->nsets < MAX_BLOCKLISTS;
    if (next)
        vt_targets_init(next);
    for (size_t i = 0; ok && cur && i < cur->n; i++)
        ok = vt_targets_add_range(next, cur->r[i].first, cur->r[i].last) == 0;
    for (size_t i = 0; ok && i < add->n_ranges; i++)
        if (add->ranges[i]->first <= add->ranges[i]->last)
            ok = vt_targets_add_range(next, add->ranges[i]->first, add->ranges[i]->last) == 0;
    if (ok) {
        vt_targets_count(next);
        sp->sets[sp->nsets++] = next;
        atomic_store(&sp->ctl.blocklist, next);
    } else {
        /* Out of room for another set: stop rather than probe an opt-out. */
        if (next) {
            vt_targets_free(next);
            free(next);
        }
        atomic_store(&sp->ctl.stop, true);
    }
    vantage__blocklist_add__free_unpacked(add, NULL);
}

/* Takes every control frame waiting, without blocking. */
static void poll_control_locked(struct scan_proc *sp)
{
    struct pollfd pfd = {sp->fd, POLLIN, 0};
    while (!sp->broken && poll(&pfd, 1, 0) > 0) {
        uint8_t type, *body;
        size_t len;
        if (frame_read(sp->fd, &type, &body, &len) != 0) {
            sp->broken = true;
            atomic_store(&sp->ctl.stop, true);
            return;
        }
        if (type == 'S') {
            atomic_store(&sp->ctl.stop, true);
        } else if (type == 'R' && len == 8) {
            uint64_t rate;
            memcpy(&rate, body, 8);
            rate = vt_policy_clamp_rate(sp->policy, rate);
            if (rate)
                atomic_store(&sp->ctl.rate, rate);
        } else if (type == 'B') {
            add_optouts(sp, body, len);
        }
        free(body);
    }
}

/* Writes a progress frame. */
static void report_progress(void *arg, uint64_t done, bool finished, uint64_t dropped)
{
    struct scan_proc *sp = arg;
    pthread_mutex_lock(&sp->mu);
    /* Results first, so the main process spools them before it forwards this. */
    if (flush_locked(sp) == 0) {
        uint8_t b[PROGRESS_BYTES];
        memcpy(b, &done, 8);
        b[8] = finished;
        memcpy(b + 9, &dropped, 8);
        if (frame_write(sp->fd, 'p', b, sizeof b) != 0) {
            sp->broken = true;
            atomic_store(&sp->ctl.stop, true);
        }
    }
    pthread_mutex_unlock(&sp->mu);
}

/* The scan's progress callback (its send thread, about once a second): takes
 * the control frames waiting, then reports — at once, or through the banner
 * stage, which holds a report back until its results' grabs are done. */
static void scan_progress(void *arg, uint64_t done, bool finished, uint64_t dropped)
{
    struct scan_proc *sp = arg;
    pthread_mutex_lock(&sp->mu);
    poll_control_locked(sp);
    pthread_mutex_unlock(&sp->mu);
    if (sp->stage)
        vt_enrich_progress(sp->stage, done, finished, dropped);
    else
        report_progress(sp, done, finished, dropped);
}

/* Runs one lease; the process exits after. Returns the exit status: 0 when
 * the end frame was written. */
static int scan_main(int fd, const struct vt_lease_link *link, const struct vt_policy *policy,
                     const struct vt_lease_banners *banners, const uint8_t *body, size_t len)
{
    char err[512] = "";
    static struct scan_proc sp;          /* static: too big for a small stack, one per process */
    struct vt_lease_counts counts = {0}; /* what the 'c' frame says */
    sp.fd = fd;
    sp.policy = policy;
    pthread_mutex_init(&sp.mu, NULL);
    Vantage__Lease *lease = vantage__lease__unpack(NULL, len, body);
    struct vt_targets targets, *optout = malloc(sizeof *optout);
    struct vt_ports ports = {NULL, 0};
    vt_targets_init(&targets);
    if (optout)
        vt_targets_init(optout);
    uint8_t *map = calloc(65536 / 8, 1);
    if (!lease || !optout || !map) {
        snprintf(err, sizeof err, "%s", lease ? "out of memory" : "lease frame unreadable");
        goto end;
    }
    /* The uplink checked the lease against the policy; check again here,
     * where the probes are made. */
    if (vt_policy_check_lease(policy, lease, err, sizeof err) != 0)
        goto end;
    for (size_t i = 0; i < lease->n_targets; i++)
        if (vt_targets_add_range(&targets, lease->targets[i]->first, lease->targets[i]->last) !=
            0) {
            snprintf(err, sizeof err, "out of memory");
            goto end;
        }
    for (size_t i = 0; i < lease->n_ports; i++)
        for (uint32_t p = lease->ports[i]->first; p <= lease->ports[i]->last; p++)
            if (!(map[p / 8] & (1u << (p % 8)))) {
                map[p / 8] |= (uint8_t)(1u << (p % 8));
                ports.n++;
            }
    ports.port = malloc(ports.n * sizeof *ports.port);
    if (!ports.port) {
        snprintf(err, sizeof err, "out of memory");
        goto end;
    }
    for (size_t p = 1, k = 0; p < 65536; p++)
        if (map[p / 8] & (1u << (p % 8)))
            ports.port[k++] = (uint16_t)p;
    /* Defence in depth: everything outside the scope, plus the lease's own
     * opt-outs, is the engine's opt-out list. Removing it from the targets
     * instead would change the walk and break the lease's arc. */
    if (vt_policy_outside(policy, optout) != 0) {
        snprintf(err, sizeof err, "out of memory");
        goto end;
    }
    for (size_t i = 0; i < lease->n_blocklist; i++)
        if (lease->blocklist[i]->first <= lease->blocklist[i]->last &&
            vt_targets_add_range(optout, lease->blocklist[i]->first, lease->blocklist[i]->last) !=
                0) {
            snprintf(err, sizeof err, "out of memory");
            goto end;
        }
    vt_targets_count(optout);
    vt_targets_count(&targets);
    sp.sets[sp.nsets++] = optout;
    optout = NULL;
    atomic_store(&sp.ctl.blocklist, sp.sets[0]);
    uint64_t rate = vt_policy_clamp_rate(policy, lease->rate);
    atomic_store(&sp.ctl.rate, rate);
    sp.ctl.progress = scan_progress;
    sp.ctl.progress_arg = &sp;
    struct vt_scan_config cfg = {
        .targets = &targets,
        .ports = &ports,
        .rate = rate,
        .probes = lease->probes,
        .cooldown = LEASE_COOLDOWN,
        .seed = lease->seed,
        .shard_i = 0,
        .shard_n = 1,
        .arc_given = true,
        .arc_first = lease->first_step,
        .arc_steps = lease->steps,
        .arc_done = lease->done,
        .ifname = link->ifname,
        .source_ip = link->source_ip,
        .gw_mac = link->have_gw_mac ? link->gw_mac : NULL,
        .send_mode = VT_SEND_AUTO,
        .status = false,
        .sink = {scan_sink_write, scan_sink_flush, &sp},
        .control = &sp.ctl,
    };
    _Atomic uint64_t debt = 0;
    if (lease->has_banners && lease->banners) {
        struct vt_enrich_config ec = {
            .grab = {.concurrency = banners->concurrency,
                     .host_cap = banners->host_cap,
                     .user_agent = banners->user_agent,
                     .deadline_ms = banners->deadline_ms,
                     .source_ip = link->source_ip},
            .rules = banners->rules,
            .rate = rate,
            .rate_live = &sp.ctl.rate,
            .debt = &debt,
            .blocklist = &sp.ctl.blocklist,
            .sink = cfg.sink,
            .progress = report_progress,
            .progress_arg = &sp,
        };
        sp.stage = vt_enrich_start(&ec, err, sizeof err);
        if (!sp.stage)
            goto end;
        cfg.sink = (struct vt_result_sink){vt_enrich_write, vt_enrich_flush, sp.stage};
        cfg.debt = &debt;
    }
    struct vt_scan_summary sum = {0};
    int scan_rc = vt_scan_run(&cfg, &sum, err, sizeof err);
    struct vt_enrich_stats est = {0};
    if (sp.stage) {
        /* A stopped lease leaves its grabs: the checkpoint stays before them. */
        char gerr[256];
        int grc = vt_enrich_finish(sp.stage, scan_rc != 0 || atomic_load(&sp.ctl.stop), &est, gerr,
                                   sizeof gerr);
        sp.stage = NULL;
        if (grc != 0 && scan_rc == 0) {
            snprintf(err, sizeof err, "%s", gerr);
            scan_rc = -1;
        }
    }
    if (scan_rc == 0)
        vt_log_line(VT_LOG_INFO, "vantage-worker",
                    "lease %" PRIu64 ": sent %" PRIu64 " probes in %.1f s, %" PRIu64
                    " open, %" PRIu64 " closed, %" PRIu64 " dropped by the kernel, %" PRIu64
                    " by the queue%s",
                    lease->lease_id, sum.sent, sum.seconds, sum.open, sum.closed, sum.pcap_drops,
                    sum.queue_drops, sum.queue_drops ? " (the spool was full or slow)" : "");
    /* What this lease did, for the worker's metrics: sent also when it failed. */
    if (scan_rc == 0 || sum.sent)
        counts = (struct vt_lease_counts){
            .sent = sum.sent,
            .answers = sum.answers,
            .open = sum.open,
            .closed = sum.closed,
            .pcap_drops = sum.pcap_drops,
            .queue_drops = sum.queue_drops,
            .grabs = est.grabs,
            .banners = est.banners,
        };
end:
    pthread_mutex_lock(&sp.mu);
    int rc = flush_locked(&sp) == 0 && frame_write(fd, 'c', &counts, COUNTS_BYTES) == 0 &&
                     frame_write(fd, 'e', err, strlen(err)) == 0
                 ? 0
                 : 3;
    pthread_mutex_unlock(&sp.mu);
    if (lease)
        vantage__lease__free_unpacked(lease, NULL);
    vt_targets_free(&targets);
    vt_ports_free(&ports);
    free(map);
    if (optout) {
        vt_targets_free(optout);
        free(optout);
    }
    for (size_t i = 0; i < sp.nsets; i++) {
        vt_targets_free(sp.sets[i]);
        free(sp.sets[i]);
    }
    return rc;
}

/* The helper: forks one scan process per lease and waits for it. It keeps
 * the privilege to open raw sockets and does nothing else. */
static void helper_main(int fd, pid_t parent, const struct vt_run_as *as,
                        const struct vt_lease_link *link, const struct vt_policy *policy,
                        const struct vt_lease_banners *banners)
{
    /* The main process handles signals and tells us to stop; if it dies, so do we. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* a reload is the main process's */
    signal(SIGPIPE, SIG_IGN);
    /* The worker's user with CAP_NET_RAW alone, before the first frame is
     * read. The parent-death signal comes after: a change of credentials
     * clears it. */
    char why[512] = "";
    int dropped = vt_run_as_enter(as, true, why, sizeof why);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    prctl(PR_SET_NAME, "vw-scan-helper");
    if (frame_write(fd, 'k', why, strlen(why)) != 0 || dropped != 0)
        _exit(1);
    for (;;) {
        uint8_t type, *body;
        size_t len;
        if (frame_read(fd, &type, &body, &len) != 0)
            _exit(0);
        if (type != 'L') {
            free(body); /* control for a scan that already ended */
            continue;
        }
        pid_t self = getpid();
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != self)
                _exit(0);
            prctl(PR_SET_NAME, "vw-scan");
            _exit(scan_main(fd, link, policy, banners, body, len));
        }
        free(body);
        char msg[128];
        if (pid < 0) {
            snprintf(msg, sizeof msg, "cannot start a scan process: %s", strerror(errno));
            frame_write(fd, 'e', msg, strlen(msg));
            continue;
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            continue;
        if (WIFSIGNALED(st))
            snprintf(msg, sizeof msg, "the scan process died of signal %d", WTERMSIG(st));
        else
            snprintf(msg, sizeof msg, "the scan process exited with status %d", WEXITSTATUS(st));
        frame_write(fd, 'e', msg, strlen(msg));
    }
}

/* ---- the main process ------------------------------------------------ */

struct vt_lease_runner {
    pid_t helper;
    int fd;
    pthread_mutex_t wmu; /* writes to fd: the uplink's ops, and a stop from the lease thread */
    struct vt_spool *spool;
    char events_ep[128];
    pthread_t thread;
    bool thread_running;
    _Atomic uint64_t lease_id;
    atomic_bool *stop;   /* the worker's: set when the helper dies */
    atomic_bool dead;    /* the helper died on its own */
    atomic_bool closing; /* vt_lease_runner_destroy ends the helper */
    /* Totals of the leases run (the 'c' frames), and results spooled: the
     * lease thread adds, vt_lease_runner_totals reads (any thread). */
    _Atomic uint64_t sent, answers, pcap_drops, queue_drops, grabs, banners, spooled, leases;
};

struct vt_lease_runner *vt_lease_runner_fork(const struct vt_run_as *as,
                                             const struct vt_lease_link *link,
                                             const struct vt_policy *policy,
                                             const struct vt_lease_banners *banners, char *err,
                                             size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "cannot create a socket pair: %s", strerror(errno));
        return NULL;
    }
    struct vt_lease_runner *lr = calloc(1, sizeof *lr);
    if (!lr) {
        close(sv[0]);
        close(sv[1]);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start the scan helper process: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        free(lr);
        return NULL;
    }
    if (pid == 0) {
        close(sv[0]);
        static const struct vt_lease_banners none = {0};
        helper_main(sv[1], parent, as, link, policy, banners ? banners : &none);
        _exit(0);
    }
    close(sv[1]);
    /* Wait for the helper to hold its user and CAP_NET_RAW, or say why not. */
    uint8_t type, *body = NULL;
    size_t len = 0;
    int rc = frame_read(sv[0], &type, &body, &len);
    if (rc != 0 || type != 'k' || len != 0) {
        if (rc == 0 && type == 'k')
            snprintf(err, errlen, "the scan helper process cannot drop its privileges: %s",
                     (char *)body);
        else
            snprintf(err, errlen, "the scan helper process ended before it was ready");
        if (rc == 0)
            free(body);
        close(sv[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        free(lr);
        return NULL;
    }
    free(body);
    lr->helper = pid;
    lr->fd = sv[0];
    pthread_mutex_init(&lr->wmu, NULL);
    return lr;
}

static int send_frame(struct vt_lease_runner *lr, uint8_t type, const void *body, size_t len)
{
    pthread_mutex_lock(&lr->wmu);
    int rc = frame_write(lr->fd, type, body, len);
    pthread_mutex_unlock(&lr->wmu);
    return rc;
}

struct batch {
    Vantage__Result res[BATCH_MAX];
    Vantage__Result *ptr[BATCH_MAX];
    Vantage__Result *owned[BATCH_MAX]; /* results with banners, unpacked: freed when spooled */
    size_t n, nowned, bytes;
    int64_t opened_ms;
    bool failed; /* a batch could not be spooled: no progress may pass it */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void spool_batch(struct vt_lease_runner *lr, struct batch *b)
{
    if (b->n == 0)
        return;
    char err[512];
    uint64_t seq;
    uint64_t lease_id = atomic_load(&lr->lease_id);
    int rc = vt_spool_next_seq(lr->spool, &seq, err, sizeof err);
    if (rc == 0) {
        Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
        Vantage__ResultBatch rb = VANTAGE__RESULT_BATCH__INIT;
        rb.seq = seq;
        rb.lease_id = lease_id;
        rb.results = b->ptr;
        rb.n_results = b->n;
        env.version = VT_PROTOCOL_VERSION;
        env.body_case = VANTAGE__ENVELOPE__BODY_RESULTS;
        env.results = &rb;
        uint8_t *buf;
        size_t len;
        if (vt_envelope_pack(&env, &buf, &len) != 0) {
            snprintf(err, sizeof err, "out of memory");
            rc = -1;
        } else {
            rc = vt_spool_put(lr->spool, seq, buf, len, err, sizeof err);
            free(buf);
            if (rc == 1)
                snprintf(err, sizeof err, "stopped while the spool was full");
        }
    }
    if (rc == 0)
        atomic_fetch_add(&lr->spooled, b->n);
    if (rc != 0 && !b->failed) {
        vt_log_line(VT_LOG_ERROR, "vantage-worker", "lease %" PRIu64 ": %zu results lost: %s",
                    lease_id, b->n, err);
        b->failed = true;
        send_frame(lr, 'S', NULL, 0);
    }
    for (size_t i = 0; i < b->nowned; i++)
        vantage__result__free_unpacked(b->owned[i], NULL);
    b->n = b->nowned = b->bytes = 0;
}

static void *lease_thread(void *arg)
{
    struct vt_lease_runner *lr = arg;
    char ep[160];
    snprintf(ep, sizeof ep, ">%s", lr->events_ep);
    zsock_t *events = zsock_new_pair(ep);
    struct batch *b = calloc(1, sizeof *b);
    if (!events || !b) {
        vt_log_line(VT_LOG_ERROR, "vantage-worker", "cannot start the lease thread: out of memory");
        zsock_destroy(&events);
        free(b);
        return NULL;
    }
    bool running = false;
    for (;;) {
        int timeout = -1;
        if (b->n) {
            int64_t left = b->opened_ms + BATCH_MS - mono_ms();
            timeout = left < 0 ? 0 : (int)left;
        }
        struct pollfd pfd = {lr->fd, POLLIN, 0};
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            spool_batch(lr, b);
            continue;
        }
        uint8_t type, *body;
        size_t len;
        int rc = n < 0 ? -1 : frame_read(lr->fd, &type, &body, &len);
        if (rc != 0) {
            spool_batch(lr, b);
            if (running)
                vt_uplink_post_ended(events, atomic_load(&lr->lease_id),
                                     "the scan helper process is gone");
            if (!atomic_load(&lr->closing)) {
                vt_log_line(VT_LOG_ERROR, "vantage-worker",
                            "the scan helper process died; stopping");
                atomic_store(&lr->dead, true);
                if (lr->stop)
                    atomic_store(lr->stop, true);
            }
            break;
        }
        if (type == 'r') {
            running = true;
            for (size_t off = 0; off + RESULT_BYTES <= len; off += RESULT_BYTES) {
                Vantage__Result *r = &b->res[b->n];
                b->ptr[b->n] = r;
                vantage__result__init(r);
                uint16_t port;
                memcpy(&r->ip, body + off, 4);
                memcpy(&port, body + off + 4, 2);
                r->port = port;
                r->open = body[off + 6] != 0;
                r->has_ttl = true;
                r->ttl = body[off + 7];
                memcpy(&r->ts_ms, body + off + 8, 8);
                b->bytes += RESULT_BYTES;
                if (b->n++ == 0)
                    b->opened_ms = mono_ms();
                if (b->n == BATCH_MAX || b->bytes >= BATCH_MAX_BYTES)
                    spool_batch(lr, b);
            }
        } else if (type == 'b') {
            running = true;
            Vantage__Result *r = vantage__result__unpack(NULL, len, body);
            if (r) { /* the scan process packed it: it decodes */
                b->ptr[b->n] = r;
                b->owned[b->nowned++] = r;
                b->bytes += len;
                if (b->n++ == 0)
                    b->opened_ms = mono_ms();
                if (b->n == BATCH_MAX || b->bytes >= BATCH_MAX_BYTES)
                    spool_batch(lr, b);
            }
        } else if (type == 'p' && len == PROGRESS_BYTES) {
            running = true;
            uint64_t done, dropped;
            memcpy(&done, body, 8);
            memcpy(&dropped, body + 9, 8);
            spool_batch(lr, b); /* every result before this checkpoint, durably */
            if (!b->failed)
                vt_uplink_post_progress(events, atomic_load(&lr->lease_id), done, body[8] != 0,
                                        dropped);
        } else if (type == 'c' && len == COUNTS_BYTES) {
            struct vt_lease_counts lc = {0};
            memcpy(&lc, body, COUNTS_BYTES);
            atomic_fetch_add(&lr->sent, lc.sent);
            atomic_fetch_add(&lr->answers, lc.answers);
            atomic_fetch_add(&lr->pcap_drops, lc.pcap_drops);
            atomic_fetch_add(&lr->queue_drops, lc.queue_drops);
            atomic_fetch_add(&lr->grabs, lc.grabs);
            atomic_fetch_add(&lr->banners, lc.banners);
        } else if (type == 'e') {
            atomic_fetch_add(&lr->leases, 1);
            spool_batch(lr, b);
            vt_uplink_post_ended(events, atomic_load(&lr->lease_id), (char *)body);
            b->failed = false;
            running = false;
        }
        free(body);
    }
    zsock_destroy(&events);
    free(b);
    return NULL;
}

void vt_lease_runner_totals(struct vt_lease_runner *lr, struct vt_lease_counts *t)
{
    t->sent = atomic_load(&lr->sent);
    t->answers = atomic_load(&lr->answers);
    t->open = t->closed = 0; /* the spooled results are counted instead */
    t->pcap_drops = atomic_load(&lr->pcap_drops);
    t->queue_drops = atomic_load(&lr->queue_drops);
    t->grabs = atomic_load(&lr->grabs);
    t->banners = atomic_load(&lr->banners);
    t->spooled = atomic_load(&lr->spooled);
    t->leases = atomic_load(&lr->leases);
}

bool vt_lease_runner_dead(struct vt_lease_runner *lr)
{
    return atomic_load(&lr->dead);
}

int vt_lease_runner_attach(struct vt_lease_runner *lr, struct vt_spool *spool,
                           const char *events_endpoint, atomic_bool *stop, char *err, size_t errlen)
{
    lr->spool = spool;
    lr->stop = stop;
    snprintf(lr->events_ep, sizeof lr->events_ep, "%s", events_endpoint);
    int e = pthread_create(&lr->thread, NULL, lease_thread, lr);
    if (e != 0) {
        snprintf(err, errlen, "cannot start the lease thread: %s", strerror(e));
        return -1;
    }
    lr->thread_running = true;
    return 0;
}

static int op_start(void *arg, const Vantage__Lease *lease, uint64_t rate, char *err, size_t errlen)
{
    struct vt_lease_runner *lr = arg;
    Vantage__Lease copy = *lease;
    copy.rate = rate;
    size_t len = vantage__lease__get_packed_size(&copy);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    vantage__lease__pack(&copy, buf);
    atomic_store(&lr->lease_id, lease->lease_id);
    int rc = send_frame(lr, 'L', buf, len);
    free(buf);
    if (rc != 0)
        snprintf(err, errlen, "the scan helper process is gone (restart vantage-worker)");
    return rc;
}

static void op_set_rate(void *arg, uint64_t rate)
{
    send_frame(arg, 'R', &rate, sizeof rate);
}

static void op_add_blocklist(void *arg, const Vantage__BlocklistAdd *add)
{
    size_t len = vantage__blocklist_add__get_packed_size(add);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        send_frame(arg, 'S', NULL, 0); /* cannot honour the opt-out: stop instead */
        return;
    }
    vantage__blocklist_add__pack(add, buf);
    send_frame(arg, 'B', buf, len);
    free(buf);
}

static void op_stop(void *arg)
{
    send_frame(arg, 'S', NULL, 0);
}

struct vt_lease_ops vt_lease_runner_ops(struct vt_lease_runner *lr)
{
    return (struct vt_lease_ops){op_start, op_set_rate, op_add_blocklist, op_stop, lr};
}

void vt_lease_runner_destroy(struct vt_lease_runner **lrp)
{
    struct vt_lease_runner *lr = *lrp;
    if (!lr)
        return;
    atomic_store(&lr->closing, true);
    send_frame(lr, 'S', NULL, 0);
    shutdown(lr->fd, SHUT_WR); /* the helper reads end of file and exits */
    if (lr->spool)
        vt_spool_interrupt(lr->spool);
    int st;
    pid_t w = 0;
    for (int i = 0; i < 50 && (w = waitpid(lr->helper, &st, WNOHANG)) == 0; i++)
        usleep(100000);
    if (w == 0) {
        kill(lr->helper, SIGKILL); /* its scan process follows (PDEATHSIG) */
        waitpid(lr->helper, &st, 0);
    }
    if (lr->thread_running)
        pthread_join(lr->thread, NULL);
    close(lr->fd);
    pthread_mutex_destroy(&lr->wmu);
    free(lr);
    *lrp = NULL;
}
