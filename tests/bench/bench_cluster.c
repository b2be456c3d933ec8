/* bench_cluster.c: the coordinator under a simulated fleet, over loopback
 * (tests/bench/bench_cluster.sh runs it; docs/performance.md, "Cluster").
 *
 * It is a client of a running `vantage serve`: it enrolls simulated workers
 * through the control socket (worker.add), starts a campaign (campaign.start),
 * then plays every worker itself, one DEALER socket each, CURVE on, in one
 * thread around one zmq_poll. Two modes:
 *
 *   fleet   N workers (default 1000) against a full-IPv4 campaign: time of the
 *           N CURVE handshakes (Hello -> Welcome), then for --seconds each
 *           worker holds a lease, sends Progress every second, finishes after
 *           a few seconds and asks again; "lease request -> grant" is the time
 *           from the first Heartbeat{want_lease} to the Lease.
 *   ingest  N workers (default 8) each get a lease and stream ResultBatches of
 *           1000 results within their credit window; results/s = acked results
 *           over the wall time from the first batch sent to the last Ack.
 *
 * With --pid it reads the coordinator's CPU time (/proc/PID/stat) and memory
 * (VmRSS, VmHWM of /proc/PID/status). It prints figures as key=value lines and
 * never fails on them: exit 1 only when it cannot measure, 2 for bad usage. */
#include <czmq.h>
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"

enum { S_HELLO, S_WANT, S_HOLD, S_DONE };

struct sim {
    zsock_t *zs;
    void *h; /* the raw libzmq socket */
    char name[32];
    int state;
    int64_t t_hello, t_req; /* µs */
    bool first_grant_done;
    uint64_t lease_id, steps, done;
    int64_t next_hb, next_prog, finish_at; /* µs */
    /* ingest */
    uint32_t credits;
    uint64_t sent, acked, nbatches;
    uint8_t **batch;
    size_t *batch_len;
    Vantage__Range *targets;
    size_t ntargets;
};

static struct {
    const char *control, *server, *server_key;
    int pid;
    int workers, sites, seconds, policy_ports;
    uint64_t rate, batches;
    const char *campaign, *targets, *ports;
} opt;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_cluster: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- the coordinator process ---- */

/* utime + stime of PID in seconds, or -1. */
static double proc_cpu_s(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A field of /proc/PID/status in KiB (VmRSS, VmHWM), or -1. */
static long proc_kib(int pid, const char *field)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':')
            v = strtol(line + fl + 1, NULL, 10);
    fclose(f);
    return v;
}

/* Prints the CPU seconds of each of PID's threads (name:seconds, busiest first)
 * since the last call, to show which thread is the bottleneck. */
static void print_threads(int pid, const char *key)
{
    static struct {
        int tid;
        double cpu;
    } last[256];
    static int nlast;
    if (pid <= 0)
        return;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct {
        char name[32];
        double cpu;
    } t[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        int tid = atoi(e->d_name);
        if (tid <= 0)
            continue;
        char p2[128], buf[1024];
        snprintf(p2, sizeof p2, "/proc/%d/task/%d/stat", pid, tid);
        FILE *f = fopen(p2, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        if (!open || !close ||
            sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
            continue;
        double cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK), before = 0;
        for (int i = 0; i < nlast; i++)
            if (last[i].tid == tid)
                before = last[i].cpu;
        int found = 0;
        for (int i = 0; i < nlast; i++)
            if (last[i].tid == tid) {
                last[i].cpu = cpu;
                found = 1;
            }
        if (!found && nlast < 256) {
            last[nlast].tid = tid;
            last[nlast++].cpu = cpu;
        }
        snprintf(t[n].name, sizeof t[n].name, "%.*s", (int)(close - open - 1), open + 1);
        for (char *c = t[n].name; *c; c++)
            if (*c == ' ' || *c == ',' || *c == ':')
                *c = '_';
        if (!strcmp(t[n].name, "vantage") && tid == pid)
            snprintf(t[n].name, sizeof t[n].name, "main");
        t[n++].cpu = cpu - before;
    }
    closedir(d);
    printf("%s=", key);
    for (int k = 0; k < n; k++) {
        int m = k;
        for (int j = k + 1; j < n; j++)
            if (t[j].cpu > t[m].cpu)
                m = j;
        if (m != k) {
            char nm[32];
            double c = t[k].cpu;
            memcpy(nm, t[k].name, sizeof nm);
            memcpy(t[k].name, t[m].name, sizeof nm);
            t[k].cpu = t[m].cpu;
            memcpy(t[m].name, nm, sizeof nm);
            t[m].cpu = c;
        }
        if (t[k].cpu >= 0.01)
            printf("%s%s:%.2f", k ? "," : "", t[k].name, t[k].cpu);
    }
    printf("\n");
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- the control socket ---- */

static zsock_t *ctl;

/* Sends one request, returns the reply object with "ok": true; dies otherwise. */
static json_t *control(json_t *req)
{
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text || zstr_send(ctl, text) != 0)
        die("cannot send to the control socket %s", opt.control);
    free(text);
    char *rep = zstr_recv(ctl);
    if (!rep)
        die("no answer on the control socket %s", opt.control);
    json_t *o = json_loads(rep, 0, NULL);
    if (!o || !json_is_true(json_object_get(o, "ok")))
        die("control request refused: %s", rep);
    zstr_free(&rep);
    return o;
}

static void enroll(const char *name, const char *key, const char *site)
{
    json_decref(control(json_pack("{s:s, s:s, s:s, s:s}", "cmd", "worker.add", "name", name, "key",
                                  key, "site", site)));
}

/* Starts a campaign; returns its shard count. */
static long start_campaign(const char *name, const char *targets, const char *ports, uint64_t rate)
{
    json_t *o = control(json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:i}", "cmd", "campaign.start",
                                  "name", name, "targets", targets, "ports", ports, "rate",
                                  (json_int_t)rate, "vantages", 1, "probes", 1));
    json_t *c = json_object_get(o, "campaign");
    long shards = (long)json_integer_value(json_object_get(json_object_get(c, "shards"), "total"));
    printf("campaign_%s_targets=%" JSON_INTEGER_FORMAT " campaign_%s_shards=%ld\n", name,
           json_integer_value(json_object_get(c, "targets")), name, shards);
    json_decref(o);
    return shards;
}

/* ---- the wire ---- */

static uint64_t n_sent, n_recv, n_send_fail;

static void send_env(struct sim *s, Vantage__Envelope *env)
{
    env->version = VT_PROTOCOL_VERSION;
    uint8_t *buf;
    size_t len;
    if (vt_envelope_pack(env, &buf, &len) != 0)
        die("out of memory");
    if (zmq_send(s->h, buf, len, ZMQ_DONTWAIT) < 0)
        n_send_fail++;
    else
        n_sent++;
    free(buf);
}

static void send_hello(struct sim *s)
{
    Vantage__Range r = VANTAGE__RANGE__INIT, *rp = &r;
    r.first = 0;
    r.last = 0xffffffffu;
    Vantage__PortRange pr = VANTAGE__PORT_RANGE__INIT, *prp = &pr;
    pr.first = 1;
    pr.last = (uint32_t)opt.policy_ports; /* the policy allows ports 1-N */
    Vantage__Policy p = VANTAGE__POLICY__INIT;
    p.scope = &rp;
    p.n_scope = 1;
    p.ports = &prp;
    p.n_ports = 1;
    p.has_max_rate = true;
    p.max_rate = 0;
    Vantage__Hello m = VANTAGE__HELLO__INIT;
    m.name = s->name;
    m.software = "bench_cluster 0.1.0";
    m.policy = &p;
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    env.body_case = VANTAGE__ENVELOPE__BODY_HELLO;
    env.hello = &m;
    send_env(s, &env);
}

static void send_heartbeat(struct sim *s, bool want)
{
    Vantage__Heartbeat m = VANTAGE__HEARTBEAT__INIT;
    m.has_want_lease = true;
    m.want_lease = want;
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    env.body_case = VANTAGE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &m;
    send_env(s, &env);
}

static void send_progress(struct sim *s, bool finished)
{
    Vantage__Progress m = VANTAGE__PROGRESS__INIT;
    m.lease_id = s->lease_id;
    m.done = finished ? s->steps : s->done;
    m.has_finished = finished;
    m.finished = finished;
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    env.body_case = VANTAGE__ENVELOPE__BODY_PROGRESS;
    env.progress = &m;
    send_env(s, &env);
}

/* ---- the simulated workers ---- */

static struct sim *sims;
static zmq_pollitem_t *items;
static int nsims;

/* grant latencies, µs: the first grant of each worker, and every later one */
static int64_t *lat_first, *lat_again;
static size_t n_first, n_again, cap_lat;
static int64_t *lat_hello;
static size_t n_hello;
static uint64_t n_ratechange, n_cancel, n_error, n_regrant, n_welcome, n_hb_answer, n_acks;
static int64_t t_last_welcome;
/* the simulator's own delay: the longest turn (drain + timers), µs */
static int64_t turn_max_us;
/* the slowest grants: when (µs since the run started) and how long */
#define NSLOW 8
static int64_t slow_at[NSLOW], slow_lat[NSLOW], t_run0;

static void create_sims(int n, const char *prefix, zcert_t ***certs_out)
{
    uint8_t server_key[32];
    if (strlen(opt.server_key) != 40 || !zmq_z85_decode(server_key, opt.server_key))
        die("bad --server-key: give the coordinator's public key, 40 Z85 characters");
    nsims = n;
    sims = calloc((size_t)n, sizeof *sims);
    items = calloc((size_t)n, sizeof *items);
    zcert_t **certs = calloc((size_t)n, sizeof *certs);
    if (!sims || !items || !certs)
        die("out of memory");
    for (int i = 0; i < n; i++) {
        certs[i] = zcert_new();
        if (!certs[i])
            die("cannot make a key pair");
        snprintf(sims[i].name, sizeof sims[i].name, "%s%04d", prefix, i + 1);
    }
    *certs_out = certs;
}

static void turn(int timeout_ms, bool finish);

/* Connects every worker and sends its Hello, polling between groups of 25 so
 * that the Welcomes are timed as they come, not after the last connect. */
static void connect_sims(zcert_t **certs)
{
    int n = nsims;
    for (int i = 0; i < n; i++) {
        struct sim *s = &sims[i];
        s->zs = zsock_new(ZMQ_DEALER);
        if (!s->zs)
            die("cannot make socket %d (ZMQ_MAX_SOCKETS? file descriptors: ulimit -n)", i);
        zcert_apply(certs[i], s->zs);
        zsock_set_curve_serverkey(s->zs, opt.server_key);
        zsock_set_maxmsgsize(s->zs, VT_MAX_MESSAGE);
        zsock_set_linger(s->zs, 0);
        if (zsock_connect(s->zs, "%s", opt.server) != 0)
            die("cannot connect to %s", opt.server);
        s->h = zsock_resolve(s->zs);
        items[i].socket = s->h;
        items[i].events = ZMQ_POLLIN;
        s->state = S_HELLO;
        s->t_hello = now_us();
        send_hello(s);
        zcert_destroy(&certs[i]);
        if (i % 25 == 24) {
            nsims = i + 1; /* poll those made so far */
            turn(0, false);
            nsims = n;
        }
    }
    nsims = n;
    free(certs);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Prints p50/p90/p99/max of v (µs) in ms, as key_p50_ms=... */
static void print_dist(const char *key, int64_t *v, size_t n)
{
    if (!n) {
        printf("%s_n=0\n", key);
        return;
    }
    qsort(v, n, sizeof *v, cmp64);
    size_t i50 = n * 50 / 100, i90 = n * 90 / 100, i99 = n * 99 / 100;
    printf("%s_n=%zu %s_p50_ms=%.2f %s_p90_ms=%.2f %s_p99_ms=%.2f %s_max_ms=%.2f\n", key, n, key,
           v[i50] / 1e3, key, v[i90] / 1e3, key, v[i99] / 1e3, key, v[n - 1] / 1e3);
}

static void push_lat(int64_t **v, size_t *n, int64_t x)
{
    if (*n < cap_lat)
        (*v)[(*n)++] = x;
}

static bool ingest_mode;
static void ingest_pump(struct sim *s);

/* One message from the coordinator to simulated worker s. */
static void on_message(struct sim *s, const uint8_t *buf, size_t len, int64_t now)
{
    char err[256];
    Vantage__Envelope *env = vt_envelope_unpack(buf, len, err, sizeof err);
    n_recv++;
    if (!env) {
        fprintf(stderr, "bench_cluster: %s: bad message: %s\n", s->name, err);
        n_error++;
        return;
    }
    switch (env->body_case) {
    case VANTAGE__ENVELOPE__BODY_WELCOME:
        if (s->state == S_HELLO) {
            n_welcome++;
            push_lat(&lat_hello, &n_hello, now - s->t_hello);
            t_last_welcome = now;
            s->credits = env->welcome->credits;
            s->acked = env->welcome->acked_seq;
            s->state = S_WANT;
            s->t_req = now;
            s->next_hb = now + 1000000;
            send_heartbeat(s, true);
        }
        break;
    case VANTAGE__ENVELOPE__BODY_HEARTBEAT:
        n_hb_answer++;
        break;
    case VANTAGE__ENVELOPE__BODY_LEASE: {
        const Vantage__Lease *l = env->lease;
        if (s->state == S_WANT) {
            if (!s->first_grant_done)
                push_lat(&lat_first, &n_first, now - s->t_req);
            else
                push_lat(&lat_again, &n_again, now - s->t_req);
            int m = 0; /* keep the NSLOW slowest */
            for (int k = 1; k < NSLOW; k++)
                if (slow_lat[k] < slow_lat[m])
                    m = k;
            if (now - s->t_req > slow_lat[m]) {
                slow_lat[m] = now - s->t_req;
                slow_at[m] = s->t_req - t_run0;
            }
            s->first_grant_done = true;
        } else {
            n_regrant++; /* a second lease while holding one: the coordinator took the first back */
        }
        s->state = S_HOLD;
        s->lease_id = l->lease_id;
        s->steps = l->steps;
        s->done = l->done;
        s->next_prog = now + 1000000;
        /* hold it 3-20 s, then finish and ask again */
        s->finish_at = now + 3000000 + (int64_t)(random() % 17000000);
        if (ingest_mode) {
            free(s->targets);
            s->ntargets = l->n_targets;
            s->targets = calloc(l->n_targets + 1, sizeof *s->targets);
            for (size_t i = 0; s->targets && i < l->n_targets; i++)
                s->targets[i] = *l->targets[i];
        }
        break;
    }
    case VANTAGE__ENVELOPE__BODY_RATE:
        n_ratechange++;
        break;
    case VANTAGE__ENVELOPE__BODY_CANCEL:
        n_cancel++;
        if (s->state == S_HOLD && env->cancel->lease_id == s->lease_id) {
            s->state = S_WANT;
            s->t_req = now;
            s->next_hb = now + 1000000;
            send_heartbeat(s, true);
        }
        break;
    case VANTAGE__ENVELOPE__BODY_ERROR:
        if (n_error++ < 5)
            fprintf(stderr, "bench_cluster: %s got Error %d: %s\n", s->name, env->error->code,
                    env->error->text ? env->error->text : "");
        break;
    case VANTAGE__ENVELOPE__BODY_ACK:
        n_acks++;
        if (env->ack->seq > s->acked)
            s->acked = env->ack->seq;
        if (ingest_mode)
            ingest_pump(s);
        break;
    case VANTAGE__ENVELOPE__BODY_CREDIT:
        s->credits = env->credit->batches;
        break;
    default:
        break;
    }
    vt_envelope_free(env);
}

/* Timers of one worker: heartbeat every second (asking for a lease while it has
 * none), Progress every second while it holds one, finishing when due. */
static void on_timers(struct sim *s, int64_t now, bool finish)
{
    if (s->state == S_HELLO || s->state == S_DONE)
        return;
    if (s->state == S_HOLD && finish && now >= s->finish_at) {
        send_progress(s, true);
        s->state = S_WANT;
        s->t_req = now;
        s->next_hb = now + 1000000;
        send_heartbeat(s, true);
        return;
    }
    if (s->state == S_HOLD && now >= s->next_prog) {
        s->done += s->steps / 32;
        if (s->done >= s->steps)
            s->done = s->steps - 1;
        send_progress(s, false);
        s->next_prog = now + 1000000;
    }
    if (now >= s->next_hb) {
        send_heartbeat(s, s->state == S_WANT);
        s->next_hb = now + 1000000;
    }
}

/* One turn: wait up to timeout_ms, drain every socket, run the timers. */
static void turn(int timeout_ms, bool finish)
{
    int rc = zmq_poll(items, nsims, timeout_ms);
    int64_t now = now_us(), start = now;
    if (rc > 0)
        for (int i = 0; i < nsims; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            for (int k = 0; k < 64; k++) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, sims[i].h, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                on_message(&sims[i], zmq_msg_data(&m), zmq_msg_size(&m), now);
                zmq_msg_close(&m);
            }
        }
    now = now_us();
    for (int i = 0; i < nsims; i++)
        on_timers(&sims[i], now, finish);
    if (now_us() - start > turn_max_us)
        turn_max_us = now_us() - start;
}

static void init_zmq(int sockets)
{
    zsys_init();
    zsys_set_max_sockets((size_t)sockets + 64);
    zsys_set_linger(0);
    ctl = zsock_new(ZMQ_REQ);
    zsock_set_rcvtimeo(ctl, 60000);
    zsock_set_sndtimeo(ctl, 10000);
    if (zsock_connect(ctl, "%s", opt.control) != 0)
        die("cannot connect to %s", opt.control);
}

/* ---- fleet ---- */

static int fleet(void)
{
    init_zmq(opt.workers);
    cap_lat = 4000000;
    lat_first = calloc(cap_lat, sizeof(int64_t));
    lat_again = calloc(cap_lat, sizeof(int64_t));
    lat_hello = calloc(cap_lat, sizeof(int64_t));
    if (!lat_first || !lat_again || !lat_hello)
        die("out of memory");

    zcert_t **certs;
    int64_t t0 = now_us();
    create_sims(opt.workers, "sim", &certs);
    printf("keygen_s=%.2f\n", (now_us() - t0) / 1e6);
    t0 = now_us();
    for (int i = 0; i < nsims; i++) {
        char site[32];
        snprintf(site, sizeof site, "site-%d", i % opt.sites);
        enroll(sims[i].name, zcert_public_txt(certs[i]), site);
    }
    printf("enroll_workers=%d enroll_s=%.2f\n", nsims, (now_us() - t0) / 1e6);

    /* What the rate would give, for the record, then the campaign run. */
    start_campaign("ipv4rate10m", opt.targets, opt.ports, 10000000);
    json_decref(control(json_pack("{s:s, s:s}", "cmd", "campaign.cancel", "name", "ipv4rate10m")));
    start_campaign(opt.campaign, opt.targets, opt.ports, opt.rate);
    long rss_before = proc_kib(opt.pid, "VmRSS");
    printf("coord_rss_before_connect_kib=%ld\n", rss_before);

    /* The connection storm: every worker connects and says Hello at once. */
    print_threads(opt.pid, "coord_threads_setup_cpu_s");
    double cpu0 = proc_cpu_s(opt.pid);
    t0 = t_run0 = now_us();
    connect_sims(certs);
    while (n_welcome < (uint64_t)nsims && now_us() - t0 < 120000000)
        turn(10, false);
    double cpu1 = proc_cpu_s(opt.pid);
    printf("connected=%" PRIu64 " of %d connect_all_s=%.2f coord_cpu_connect_s=%.2f\n", n_welcome,
           nsims, (t_last_welcome - t0) / 1e6, cpu1 - cpu0);
    print_dist("hello_welcome", lat_hello, n_hello);
    print_threads(opt.pid, "coord_threads_connect_cpu_s");

    /* The run: leases held, progressed, finished and asked for again. */
    int64_t t1 = now_us(), end = t1 + (int64_t)opt.seconds * 1000000, next_sample = t1;
    turn_max_us = 0;
    long rss_max = 0;
    double scpu0 = self_cpu_s();
    while (now_us() < end) {
        turn(5, true);
        if (now_us() >= next_sample) {
            long r = proc_kib(opt.pid, "VmRSS");
            if (r > rss_max)
                rss_max = r;
            next_sample += 1000000;
        }
    }
    double cpu2 = proc_cpu_s(opt.pid), run_s = (now_us() - t1) / 1e6;
    print_threads(opt.pid, "coord_threads_run_cpu_s");
    size_t waiting = 0, holding = 0;
    for (int i = 0; i < nsims; i++) {
        waiting += sims[i].state == S_WANT;
        holding += sims[i].state == S_HOLD;
    }
    printf("run_s=%.1f grants=%zu grants_per_s=%.1f holding_at_end=%zu waiting_at_end=%zu "
           "ratechanges=%" PRIu64 " cancels=%" PRIu64 " regrants=%" PRIu64 " errors=%" PRIu64
           " send_fail=%" PRIu64 "\n",
           run_s, n_first + n_again, (n_first + n_again) / run_s, holding, waiting, n_ratechange,
           n_cancel, n_regrant, n_error, n_send_fail);
    printf("msgs_sent=%" PRIu64 " msgs_recv=%" PRIu64 " heartbeat_answers=%" PRIu64 "\n", n_sent,
           n_recv, n_hb_answer);
    int64_t *all = calloc(n_first + n_again + 1, sizeof *all);
    memcpy(all, lat_first, n_first * sizeof *all);
    memcpy(all + n_first, lat_again, n_again * sizeof *all);
    print_dist("grant", all, n_first + n_again);
    print_dist("grant_first", lat_first, n_first);
    print_dist("grant_again", lat_again, n_again);
    printf("sim_turn_max_ms=%.2f slowest_grants_at_s:ms=", turn_max_us / 1e3);
    for (int k = 0; k < NSLOW; k++)
        printf("%s%.1f:%.0f", k ? "," : "", slow_at[k] / 1e6, slow_lat[k] / 1e3);
    printf("\n");
    printf("coord_cpu_run_s=%.2f coord_cpu_run_pct=%.0f bench_cpu_run_pct=%.0f\n", cpu2 - cpu1,
           100 * (cpu2 - cpu1) / run_s, 100 * (self_cpu_s() - scpu0) / run_s);
    printf("coord_rss_max_sampled_kib=%ld coord_vmhwm_kib=%ld coord_cpu_total_s=%.2f\n", rss_max,
           proc_kib(opt.pid, "VmHWM"), proc_cpu_s(opt.pid));
    free(all);
    for (int i = 0; i < nsims; i++)
        zsock_destroy(&sims[i].zs);
    zsock_destroy(&ctl);
    return 0;
}

/* ---- ingest ---- */

static uint64_t results_acked;

static uint32_t random_target(const struct sim *s)
{
    uint64_t total = 0;
    for (size_t i = 0; i < s->ntargets; i++)
        total += (uint64_t)s->targets[i].last - s->targets[i].first + 1;
    uint64_t x = (((uint64_t)random() << 31) ^ (uint64_t)random()) % total;
    for (size_t i = 0; i < s->ntargets; i++) {
        uint64_t n = (uint64_t)s->targets[i].last - s->targets[i].first + 1;
        if (x < n)
            return s->targets[i].first + (uint32_t)x;
        x -= n;
    }
    return s->targets[0].first;
}

/* Packs the worker's batches (before the clock starts). */
static void pack_batches(struct sim *s, uint16_t port)
{
    s->nbatches = opt.batches;
    s->batch = calloc(s->nbatches, sizeof *s->batch);
    s->batch_len = calloc(s->nbatches, sizeof *s->batch_len);
    Vantage__Result *r = calloc(1000, sizeof *r);
    Vantage__Result **rp = calloc(1000, sizeof *rp);
    if (!s->batch || !s->batch_len || !r || !rp || !s->targets || !s->ntargets)
        die("out of memory, or a lease without targets");
    for (uint64_t b = 0; b < s->nbatches; b++) {
        uint64_t ts = wall_ms();
        for (int i = 0; i < 1000; i++) {
            vantage__result__init(&r[i]);
            r[i].ip = random_target(s);
            r[i].port = port;
            r[i].open = random() & 1;
            r[i].has_ttl = true;
            r[i].ttl = 64;
            r[i].ts_ms = ts;
            rp[i] = &r[i];
        }
        Vantage__ResultBatch m = VANTAGE__RESULT_BATCH__INIT;
        m.seq = s->acked + b + 1;
        m.lease_id = s->lease_id;
        m.results = rp;
        m.n_results = 1000;
        Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
        env.version = VT_PROTOCOL_VERSION;
        env.body_case = VANTAGE__ENVELOPE__BODY_RESULTS;
        env.results = &m;
        if (vt_envelope_pack(&env, &s->batch[b], &s->batch_len[b]) != 0)
            die("out of memory");
    }
    free(r);
    free(rp);
    s->sent = 0;
}

static uint64_t base_seq[64];

/* Sends batches while the worker holds credit. */
static void ingest_pump(struct sim *s)
{
    int idx = (int)(s - sims);
    uint64_t acked = s->acked - base_seq[idx];
    while (s->sent < s->nbatches && s->sent - acked < s->credits) {
        if (zmq_send(s->h, s->batch[s->sent], s->batch_len[s->sent], ZMQ_DONTWAIT) < 0)
            break;
        n_sent++;
        s->sent++;
    }
}

static int ingest(void)
{
    if (opt.workers > 64)
        die("--workers: at most 64 in ingest mode");
    ingest_mode = true;
    init_zmq(opt.workers);
    cap_lat = 1024;
    lat_first = calloc(cap_lat, sizeof(int64_t));
    lat_again = calloc(cap_lat, sizeof(int64_t));
    lat_hello = calloc(cap_lat, sizeof(int64_t));
    zcert_t **certs;
    create_sims(opt.workers, "ing", &certs);
    for (int i = 0; i < nsims; i++) {
        char site[32];
        snprintf(site, sizeof site, "isp-%d", i);
        enroll(sims[i].name, zcert_public_txt(certs[i]), site);
    }
    start_campaign(opt.campaign, opt.targets, opt.ports, opt.rate);
    uint16_t port = (uint16_t)atoi(opt.ports);

    /* The value the store writes per result: a packed Observation, one site. */
    char *site = "isp-0";
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    o.first_seen_ms = o.last_seen_ms = wall_ms();
    o.open = true;
    o.has_ttl = true;
    o.ttl = 64;
    o.sites = &site;
    o.n_sites = 1;
    o.campaign = (char *)opt.campaign;
    printf("key_size=10 value_size=%zu\n", vantage__observation__get_packed_size(&o));

    int64_t t0 = now_us();
    connect_sims(certs);
    size_t holding;
    do {
        turn(10, false);
        holding = 0;
        for (int i = 0; i < nsims; i++)
            holding += sims[i].state == S_HOLD;
    } while (holding < (size_t)nsims && now_us() - t0 < 60000000);
    if (holding < (size_t)nsims)
        die("only %zu of %d workers got a lease in 60 s", holding, nsims);
    for (int i = 0; i < nsims; i++) {
        base_seq[i] = sims[i].acked;
        pack_batches(&sims[i], port);
    }
    uint64_t total = (uint64_t)nsims * opt.batches * 1000;
    double pack_s = (now_us() - t0) / 1e6;

    print_threads(opt.pid, "coord_threads_setup_cpu_s");
    double cpu0 = proc_cpu_s(opt.pid), scpu0 = self_cpu_s();
    int64_t t1 = now_us();
    n_acks = 0;
    for (int i = 0; i < nsims; i++)
        ingest_pump(&sims[i]);
    for (;;) {
        bool all = true;
        for (int i = 0; i < nsims; i++)
            all = all && sims[i].acked - base_seq[i] >= sims[i].nbatches;
        if (all || now_us() - t1 > 300000000)
            break;
        turn(5, false);
    }
    int64_t t2 = now_us();
    double cpu1 = proc_cpu_s(opt.pid), wall = (t2 - t1) / 1e6;
    print_threads(opt.pid, "coord_threads_ingest_cpu_s");
    for (int i = 0; i < nsims; i++)
        results_acked += (sims[i].acked - base_seq[i]) * 1000;
    printf("ingest_workers=%d batches=%" PRIu64 " results=%" PRIu64 " acked=%" PRIu64
           " setup_s=%.2f wall_s=%.2f results_per_s=%.0f acks=%" PRIu64 " errors=%" PRIu64 "\n",
           nsims, (uint64_t)nsims * opt.batches, total, results_acked, pack_s, wall,
           results_acked / wall, n_acks, n_error);
    printf("coord_cpu_ingest_s=%.2f coord_cpu_ingest_pct=%.0f bench_cpu_ingest_pct=%.0f "
           "coord_vmhwm_kib=%ld\n",
           cpu1 - cpu0, 100 * (cpu1 - cpu0) / wall, 100 * (self_cpu_s() - scpu0) / wall,
           proc_kib(opt.pid, "VmHWM"));

    /* The coordinator's own count of what it stored for the campaign. */
    json_t *st = control(json_pack("{s:s, s:s}", "cmd", "campaign.status", "name", opt.campaign));
    json_t *found = json_object_get(json_object_get(st, "campaign"), "found");
    if (!found)
        found = json_object_get(st, "found");
    printf("coord_found=%" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(found, "open")) +
               json_integer_value(json_object_get(found, "closed")));
    json_decref(st);
    for (int i = 0; i < nsims; i++)
        zsock_destroy(&sims[i].zs);
    zsock_destroy(&ctl);
    return results_acked == total ? 0 : 1;
}

static void usage(int rc)
{
    fprintf(rc ? stderr : stdout,
            "usage: bench_cluster fleet|ingest --control ipc://PATH --server tcp://IP:PORT\n"
            "                     --server-key Z85 [--pid PID] [--workers N] [--sites N]\n"
            "                     [--seconds S] [--batches N] [--campaign NAME]\n"
            "                     [--targets T] [--ports P] [--rate R]\n"
            "                     [--policy-ports N] (the workers allow ports 1-N; 65535)\n"
            "Simulates workers against a running `vantage serve` (see the top of\n"
            "tests/bench/bench_cluster.c); bench_cluster.sh runs it.\n");
    exit(rc);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"control", required_argument, NULL, 'c'},
        {"server", required_argument, NULL, 's'},
        {"server-key", required_argument, NULL, 'k'},
        {"pid", required_argument, NULL, 'p'},
        {"workers", required_argument, NULL, 'w'},
        {"sites", required_argument, NULL, 'S'},
        {"seconds", required_argument, NULL, 't'},
        {"batches", required_argument, NULL, 'b'},
        {"campaign", required_argument, NULL, 'n'},
        {"targets", required_argument, NULL, 'T'},
        {"ports", required_argument, NULL, 'P'},
        {"rate", required_argument, NULL, 'r'},
        {"policy-ports", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2)
        usage(2);
    const char *mode = argv[1];
    bool is_fleet = !strcmp(mode, "fleet");
    if (!strcmp(mode, "-h") || !strcmp(mode, "--help"))
        usage(0);
    if (!is_fleet && strcmp(mode, "ingest"))
        usage(2);
    opt.workers = is_fleet ? 1000 : 8;
    opt.sites = 10;
    opt.policy_ports = 65535;
    opt.seconds = 60;
    opt.batches = 250;
    opt.campaign = is_fleet ? "ipv4" : "ingest";
    opt.targets = is_fleet ? "0.0.0.0/0" : "1.0.0.0/8";
    opt.ports = is_fleet ? "23,80" : "80";
    opt.rate = is_fleet ? 10000000 : 10000;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            opt.control = optarg;
            break;
        case 's':
            opt.server = optarg;
            break;
        case 'k':
            opt.server_key = optarg;
            break;
        case 'p':
            opt.pid = atoi(optarg);
            break;
        case 'w':
            opt.workers = atoi(optarg);
            break;
        case 'S':
            opt.sites = atoi(optarg);
            break;
        case 't':
            opt.seconds = atoi(optarg);
            break;
        case 'b':
            opt.batches = strtoull(optarg, NULL, 10);
            break;
        case 'n':
            opt.campaign = optarg;
            break;
        case 'T':
            opt.targets = optarg;
            break;
        case 'P':
            opt.ports = optarg;
            break;
        case 'r':
            opt.rate = strtoull(optarg, NULL, 10);
            break;
        case 'o':
            opt.policy_ports = atoi(optarg);
            break;
        case 'h':
            usage(0);
            break;
        default:
            usage(2);
        }
    }
    if (!opt.control || !opt.server || !opt.server_key || opt.workers < 1 || opt.sites < 1 ||
        opt.seconds < 1 || opt.batches < 1 || opt.policy_ports < 80 || opt.policy_ports > 65535)
        usage(2);
    srandom((unsigned)getpid());
    setvbuf(stdout, NULL, _IOLBF, 0);
    return is_fleet ? fleet() : ingest();
}
