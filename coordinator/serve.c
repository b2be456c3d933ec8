/* serve.c: `vantage serve`, the coordinator daemon: its flags and config
 * file, its sockets, and the loop.
 *
 * Order matters for security: the keyring (the ZAP handler, admitting only
 * enrolled keys; keyring.c) starts before the ROUTER binds, so no connection
 * is ever accepted unauthenticated. The control socket is an ipc
 * path made mode 0600 right after bind.
 *
 * The loop: drain the ROUTER (workers) and the control REP, then commit the
 * ingest (one WAL sync for every batch written, then the Acks), then every
 * 250 ms the tick: lapsed leases, finished campaigns, due runs. SIGTERM or
 * SIGINT end the loop; writes in flight are committed before exit 0. */
#include "coord.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "keyring.h"
#include "version.h"

#define PROG         "vantage serve"
#define VT_DRAIN_MAX 256 /* messages per socket per turn, so neither starves */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

void vt_log(const char *fmt, ...)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s vantage: ", ts);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int vt_send_to(struct vt_coord *c, struct vt_worker *w, const Vantage__Envelope *env)
{
    if (!w->route)
        return -1;
    uint8_t *buf;
    size_t len;
    if (vt_envelope_pack(env, &buf, &len) != 0)
        return -1;
    zmsg_t *m = zmsg_new();
    zframe_t *id = zframe_dup(w->route);
    zmsg_append(m, &id);
    zmsg_addmem(m, buf, len);
    free(buf);
    /* ROUTER drops (does not block) for a peer whose queue is full: the
     * protocol tolerates that (heartbeats, re-sent batches, re-offered leases). */
    return zmsg_send(&m, c->router);
}

static void send_error(struct vt_coord *c, struct vt_worker *w, Vantage__Error__Code code,
                       uint64_t batch_seq, const char *fmt, va_list ap)
{
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    Vantage__Error e = VANTAGE__ERROR__INIT;
    e.code = code;
    e.text = text;
    e.has_batch_seq = batch_seq != 0;
    e.batch_seq = batch_seq;
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    env.version = VT_PROTOCOL_VERSION;
    env.body_case = VANTAGE__ENVELOPE__BODY_ERROR;
    env.error = &e;
    vt_send_to(c, w, &env);
}

void vt_send_error(struct vt_coord *c, struct vt_worker *w, Vantage__Error__Code code,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_error(c, w, code, 0, fmt, ap);
    va_end(ap);
}

void vt_send_batch_error(struct vt_coord *c, struct vt_worker *w, Vantage__Error__Code code,
                         uint64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_error(c, w, code, seq, fmt, ap);
    va_end(ap);
}

void vt_complain(struct vt_coord *c, struct vt_worker *w, const char *fmt, ...)
{
    c->bad_messages++;
    int64_t now = vt_now_ms();
    if (w) {
        w->rejected++;
        if (now - w->last_complaint_ms < VT_LOG_EVERY_MS)
            return;
        w->last_complaint_ms = now;
    }
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    vt_log("worker %s: %s (%" PRIu64 " rejected so far; next report in a minute at most)",
           w ? w->name : "?", text, w ? w->rejected : c->bad_messages);
}

static void send_welcome(struct vt_coord *c, struct vt_worker *w)
{
    Vantage__Welcome m = VANTAGE__WELCOME__INIT;
    m.site = w->site;
    m.acked_seq = w->durable_seq; /* never a batch whose write is not yet synced */
    m.credits = VT_CREDITS;
    m.has_heartbeat_ms = true;
    m.heartbeat_ms = VT_HEARTBEAT_MS;
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    env.version = VT_PROTOCOL_VERSION;
    env.body_case = VANTAGE__ENVELOPE__BODY_WELCOME;
    env.welcome = &m;
    vt_send_to(c, w, &env);
}

/* One message from a worker: [routing id][envelope]. */
static void on_worker_message(struct vt_coord *c)
{
    zmsg_t *msg = zmsg_recv(c->router);
    if (!msg)
        return;
    zframe_t *id = zmsg_pop(msg), *body = zmsg_pop(msg);
    const char *key = body ? zframe_meta(body, "User-Id") : NULL;
    struct vt_worker *w = key ? vt_worker_by_key(c, key) : NULL;
    if (!id || !body || !w) {
        vt_complain(c, NULL, "malformed or unattributable message dropped");
        goto out;
    }
    if (w->revoked) {
        /* the keyring admits only enrolled keys, but a revoked worker may still hold
         * a connection from before: it gets nothing but refusals. */
        zframe_t *route = w->route;
        w->route = id;
        vt_complain(c, w, "message from a revoked worker refused");
        vt_send_error(c, w, VANTAGE__ERROR__CODE__NOT_ALLOWED,
                      "worker %s is revoked: its messages are refused", w->name);
        w->route = route;
        goto out;
    }
    if (zmsg_size(msg) != 0) {
        zframe_t *route = w->route;
        w->route = id;
        vt_complain(c, w, "message of %zu frames (one expected) refused", zmsg_size(msg) + 1);
        vt_send_error(c, w, VANTAGE__ERROR__CODE__BAD_MESSAGE,
                      "a message is one frame holding one envelope");
        w->route = route;
        goto out;
    }
    if (!w->route || !zframe_eq(w->route, id)) { /* a new connection */
        zframe_destroy(&w->route);
        w->route = zframe_dup(id);
        w->hello = false;
    }
    w->last_seen_ms = vt_now_ms();
    char err[256];
    Vantage__Envelope *env =
        vt_envelope_unpack(zframe_data(body), zframe_size(body), err, sizeof err);
    if (!env) {
        vt_complain(c, w, "%s", err);
        vt_send_error(c, w,
                      strstr(err, "version") ? VANTAGE__ERROR__CODE__BAD_VERSION
                                             : VANTAGE__ERROR__CODE__BAD_MESSAGE,
                      "%s", err);
        goto out;
    }
    if (env->body_case != VANTAGE__ENVELOPE__BODY_HELLO && !w->hello) {
        vt_send_error(c, w, VANTAGE__ERROR__CODE__NOT_ALLOWED, "say Hello first");
        vt_envelope_free(env);
        goto out;
    }
    switch (env->body_case) {
    case VANTAGE__ENVELOPE__BODY_HELLO:
        vt_worker_on_hello(c, w, env->hello);
        w->refused[0] = '\0';
        send_welcome(c, w);
        if (w->lease_id) { /* it held a lease before: it may go on with it */
            struct vt_lease *l = vt_lease_by_id(c, w->lease_id);
            if (l)
                l->deadline_ms = vt_now_ms() + VT_LEASE_MS;
        }
        break;
    case VANTAGE__ENVELOPE__BODY_HEARTBEAT: {
        if (env->heartbeat->has_rate)
            w->rate = env->heartbeat->rate;
        Vantage__Heartbeat hb = VANTAGE__HEARTBEAT__INIT;
        Vantage__Envelope rep = VANTAGE__ENVELOPE__INIT;
        rep.version = VT_PROTOCOL_VERSION;
        rep.body_case = VANTAGE__ENVELOPE__BODY_HEARTBEAT;
        rep.heartbeat = &hb;
        vt_send_to(c, w, &rep);
        if (env->heartbeat->has_want_lease && env->heartbeat->want_lease) {
            /* Asking while holding a lease: the worker lost it (it restarted)
             * — unless the request crossed the grant on the wire. */
            struct vt_lease *l = w->lease_id ? vt_lease_by_id(c, w->lease_id) : NULL;
            if (l && vt_now_ms() - l->granted_ms >= VT_LEASE_SETTLE_MS)
                vt_lease_end(c, l, false);
            vt_lease_offer(c, w);
        }
        break;
    }
    case VANTAGE__ENVELOPE__BODY_PROGRESS:
        vt_lease_on_progress(c, w, env->progress);
        break;
    case VANTAGE__ENVELOPE__BODY_LEASE_REFUSED:
        vt_lease_on_refused(c, w, env->lease_refused);
        break;
    case VANTAGE__ENVELOPE__BODY_RESULTS:
        vt_ingest_batch(c, w, env->results);
        break;
    case VANTAGE__ENVELOPE__BODY_ERROR: {
        /* The text is the peer's: shortened, control bytes escaped, and rate
         * limited like every complaint, so it can neither flood nor forge log lines. */
        char text[256];
        size_t n = 0;
        for (const char *p = env->error->text ? env->error->text : "?"; *p && n < 200; p++)
            n += (unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f
                     ? (size_t)snprintf(text + n, sizeof text - n, "\\x%02x", (unsigned char)*p)
                     : (size_t)snprintf(text + n, sizeof text - n, "%c", *p);
        vt_complain(c, w, "reports an error: %s", text);
        break;
    }
    default:
        vt_complain(c, w, "unexpected message kind %d", env->body_case);
        vt_send_error(c, w, VANTAGE__ERROR__CODE__BAD_MESSAGE, "unexpected message kind");
    }
    vt_envelope_free(env);
out:
    zframe_destroy(&id);
    zframe_destroy(&body);
    zmsg_destroy(&msg);
}

/* ---- flags and config ---- */

struct serve_opts {
    char *db, *listen, *control, *key, *blocklist, *window, *config;
};

static int set_opt(struct serve_opts *o, const char *name, const char *value)
{
    char **slot = !strcmp(name, "db")          ? &o->db
                  : !strcmp(name, "listen")    ? &o->listen
                  : !strcmp(name, "control")   ? &o->control
                  : !strcmp(name, "key")       ? &o->key
                  : !strcmp(name, "blocklist") ? &o->blocklist
                  : !strcmp(name, "window")    ? &o->window
                                               : NULL;
    if (!slot)
        return -1;
    free(*slot);
    *slot = strdup(value);
    return 0;
}

static int ini_cb(void *arg, const char *section, const char *name, const char *value)
{
    struct serve_opts *o = ((struct serve_opts **)arg)[0], *cli = ((struct serve_opts **)arg)[1];
    if (section[0] && strcmp(section, "serve"))
        return 1; /* other sections belong to other programs */
    /* the command line wins over the file */
    char **given = !strcmp(name, "db")          ? &cli->db
                   : !strcmp(name, "listen")    ? &cli->listen
                   : !strcmp(name, "control")   ? &cli->control
                   : !strcmp(name, "key")       ? &cli->key
                   : !strcmp(name, "blocklist") ? &cli->blocklist
                   : !strcmp(name, "window")    ? &cli->window
                                                : NULL;
    if (!given) {
        fprintf(stderr, "%s: unknown key '%s' in %s\n", PROG, name, o->config);
        return 0;
    }
    return *given ? 1 : set_opt(o, name, value) == 0;
}

static void usage(void)
{
    printf("usage: vantage serve --db DIR --listen tcp://IP:PORT --control ipc://PATH --key FILE\n"
           "                     [--blocklist FILE] [--window DUR] [--config FILE]\n"
           "\n"
           "Runs the coordinator: leases campaign shards to enrolled workers over CURVE,\n"
           "stores their results in RocksDB under time windows, and takes the operator's\n"
           "commands on the control socket.\n"
           "\n"
           "  --db DIR           the store (RocksDB); created if missing; holds every\n"
           "                     worker, campaign, shard, lease and result\n"
           "  --listen ENDPOINT  where workers connect, e.g. tcp://0.0.0.0:7700\n"
           "  --control ENDPOINT the operators' socket, ipc://PATH (made mode 0600)\n"
           "  --key FILE         the coordinator's secret key (vantage keygen --out FILE)\n"
           "  --blocklist FILE   addresses never to scan; replaces the built-in IANA list\n"
           "  --window DUR       observation window, e.g. 1h (default), 30m, 1d\n"
           "  --config FILE      key = value lines, one per flag above (command line wins)\n"
           "\n"
           "SIGTERM stops taking work, commits the writes in flight and exits 0. Under\n"
           "systemd (Type=notify) it reports ready once the sockets are bound.\n"
           "\n"
           "Example:\n"
           "  vantage keygen --out /etc/vantage/coordinator.key\n"
           "  vantage serve --db /var/lib/vantage/db --listen tcp://0.0.0.0:7700 \\\n"
           "      --control ipc:///run/vantage/control --key /etc/vantage/coordinator.key\n"
           "\n"
           "See docs/operator-guide.md.\n");
}

static int serve(struct vt_coord *c, struct serve_opts *o)
{
    char err[512];
    if (mkdir(o->db, 0700) != 0 && errno != EEXIST)
        vt_fatal(PROG, "cannot create %s: %s", o->db, strerror(errno));
    uint64_t window = 3600;
    if (o->window && (vt_parse_duration(o->window, &window) != 0 || window == 0))
        vt_usage_error(PROG, "bad --window '%s': give a duration such as 1h or 30m", o->window);
    c->window_s = window;
    vt_targets_init(&c->base_blocklist);
    vt_targets_init(&c->optout);
    if (o->blocklist ? vt_targets_load_file(&c->base_blocklist, o->blocklist, err, sizeof err)
                     : vt_targets_builtin_blocklist(&c->base_blocklist))
        vt_usage_error(PROG, "--blocklist: %s", err);

    zsys_set_logstream(stderr);
    zsys_handler_set(NULL); /* our own signal handling, below */
    zcert_t *cert = zcert_load(o->key);
    if (!cert)
        vt_fatal(PROG, "cannot read the key %s (create it with: vantage keygen --out %s)", o->key,
                 o->key);
    uint8_t zero[32] = {0};
    if (!memcmp(zcert_secret_key(cert), zero, 32))
        vt_fatal(PROG, "%s holds no secret key (give the secret file, not the .pub)", o->key);

    /* The ZAP handler first: the ROUTER must never be bound without it. */
    c->auth = vt_keyring_new();
    if (!c->auth)
        vt_fatal(PROG, "cannot start the authenticator (ZAP handler)");
    c->store = vt_store_open(o->db, err, sizeof err);
    if (!c->store)
        vt_fatal(PROG, "%s", err);
    c->batch = vt_batch_new();
    c->state_batch = vt_batch_new();
    if (!c->batch || !c->state_batch || vt_registry_load(c, err, sizeof err) != 0 ||
        vt_blocklist_load(c) != 0 || vt_campaigns_load(c, err, sizeof err) != 0 ||
        vt_leases_load(c) != 0)
        vt_fatal(PROG, "%s", err[0] ? err : "cannot load state from the store");

    c->router = zsock_new(ZMQ_ROUTER);
    zcert_apply(cert, c->router);
    zsock_set_curve_server(c->router, 1);
    zsock_set_zap_domain(c->router, "vantage");
    zsock_set_maxmsgsize(c->router, VT_MAX_MESSAGE);
    zsock_set_router_mandatory(c->router, 0);
    zsock_set_sndhwm(c->router, 10000);
    zsock_set_linger(c->router, 1000);
    if (zsock_bind(c->router, "%s", o->listen) < 0)
        vt_fatal(PROG, "cannot listen on %s: %s (address in use? another vantage serve?)",
                 o->listen, zmq_strerror(zmq_errno()));

    if (strncmp(o->control, "ipc://", 6) != 0)
        vt_usage_error(PROG, "--control must be ipc://PATH (a local socket only its owner opens)");
    c->control = zsock_new(ZMQ_REP);
    zsock_set_maxmsgsize(c->control, VT_MAX_MESSAGE);
    unlink(o->control + 6); /* a stale socket of a previous run */
    mode_t old = umask(077);
    int rc = zsock_bind(c->control, "%s", o->control);
    umask(old);
    if (rc < 0 || chmod(o->control + 6, 0600) != 0)
        vt_fatal(PROG, "cannot bind the control socket %s: %s", o->control,
                 rc < 0 ? zmq_strerror(zmq_errno()) : strerror(errno));

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sd_notify(0, "READY=1");
    vt_log("serving on %s (control %s, store %s, %zu workers, %zu campaigns, public key %s)",
           o->listen, o->control, o->db, c->nworkers, c->ncampaigns, zcert_public_txt(cert));
    zcert_destroy(&cert);

    zpoller_t *poller = zpoller_new(c->router, c->control, NULL);
    int64_t next_tick = 0;
    while (!stop_signal) {
        void *which = zpoller_wait(poller, 250);
        if (zpoller_terminated(poller) && !which && stop_signal)
            break;
        for (int i = 0; i < VT_DRAIN_MAX && (zsock_events(c->router) & ZMQ_POLLIN); i++)
            on_worker_message(c);
        vt_state_flush(c);
        vt_ingest_commit(c);
        for (int i = 0; i < VT_DRAIN_MAX && (zsock_events(c->control) & ZMQ_POLLIN); i++)
            vt_control_handle(c);
        vt_state_flush(c); /* what control requests changed */
        int64_t now = vt_now_ms();
        if (now >= next_tick) {
            vt_leases_tick(c, now);
            vt_leases_rebalance(c);
            vt_campaigns_tick(c, now);
            next_tick = now + 250;
        }
    }
    sd_notify(0, "STOPPING=1");
    vt_log("stopping (signal %d): committing writes in flight", (int)stop_signal);
    vt_state_flush(c);
    vt_ingest_commit(c);
    zpoller_destroy(&poller);
    zsock_destroy(&c->control);
    zsock_destroy(&c->router);
    vt_keyring_destroy(&c->auth);
    vt_batch_free(c->batch);
    vt_batch_free(c->state_batch);
    vt_store_close(c->store);
    unlink(o->control + 6);
    vt_log("stopped");
    return 0;
}

int vt_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"control", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"blocklist", required_argument, NULL, 'b'},
        {"window", required_argument, NULL, 'w'},
        {"config", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct serve_opts cli = {0}, o = {0};
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        const char *name = NULL;
        for (size_t i = 0; opts[i].name; i++)
            if (opts[i].val == ch)
                name = opts[i].name;
        if (ch == 'h') {
            usage();
            return 0;
        } else if (ch == 'C') {
            cli.config = optarg;
        } else if (ch == ':') {
            vt_usage_error(PROG, "%s needs a value", argv[optind - 1]);
        } else if (!name || set_opt(&cli, name, optarg) != 0) {
            vt_usage_error(PROG, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        vt_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
    o = cli;
    if (cli.config) {
        struct serve_opts file = {.config = cli.config};
        struct serve_opts *pair[2] = {&file, &cli};
        int rc = ini_parse(cli.config, ini_cb, pair);
        if (rc < 0)
            vt_fatal(PROG, "cannot read the config file %s", cli.config);
        if (rc > 0)
            vt_usage_error(PROG, "%s:%d: bad line", cli.config, rc);
        o.db = cli.db ? cli.db : file.db;
        o.listen = cli.listen ? cli.listen : file.listen;
        o.control = cli.control ? cli.control : file.control;
        o.key = cli.key ? cli.key : file.key;
        o.blocklist = cli.blocklist ? cli.blocklist : file.blocklist;
        o.window = cli.window ? cli.window : file.window;
    }
    if (!o.db || !o.listen || !o.control || !o.key)
        vt_usage_error(PROG, "--db, --listen, --control and --key are required");
    struct vt_coord c = {0};
    return serve(&c, &o);
}
