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
 * SIGINT end the loop; writes in flight are committed before exit 0; SIGHUP
 * reloads the blocklist and rules (serve_reload). Once a second the loop
 * renders the --metrics text (metrics.c; the HTTP thread only copies it),
 * tells systemd its STATUS= and, when the unit asks, pings its watchdog. */
#include "coord.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <ini.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "keyring.h"
#include "keys.h"
#include "rules.h"
#include "version.h"

#define PROG         "vantage serve"
#define VT_DRAIN_MAX 256 /* messages per socket per turn, so neither starves */

static volatile sig_atomic_t stop_signal, reload_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void on_hup(int sig)
{
    (void)sig;
    reload_signal = 1;
}

/* ---- flags and config ---- */

struct serve_opts {
    char *db, *listen, *control, *key, *blocklist, *window, *rules, *metrics, *retention, *config;
    char *unknown; /* the first key of the config file that is no flag */
};

static int set_opt(struct serve_opts *o, const char *name, const char *value)
{
    char **slot = !strcmp(name, "db")          ? &o->db
                  : !strcmp(name, "listen")    ? &o->listen
                  : !strcmp(name, "control")   ? &o->control
                  : !strcmp(name, "key")       ? &o->key
                  : !strcmp(name, "blocklist") ? &o->blocklist
                  : !strcmp(name, "window")    ? &o->window
                  : !strcmp(name, "rules")     ? &o->rules
                  : !strcmp(name, "metrics")   ? &o->metrics
                  : !strcmp(name, "retention") ? &o->retention
                                               : NULL;
    if (!slot)
        return -1;
    if (slot == &o->rules && *slot) { /* repeatable: one path per line */
        char *both = malloc(strlen(*slot) + strlen(value) + 2);
        if (!both)
            return -1;
        sprintf(both, "%s\n%s", *slot, value);
        free(*slot);
        *slot = both;
        return 0;
    }
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
                   : !strcmp(name, "rules")     ? &cli->rules
                   : !strcmp(name, "metrics")   ? &cli->metrics
                   : !strcmp(name, "retention") ? &cli->retention
                                                : NULL;
    if (!given) { /* said by vt_cmd_serve, on the one line of the failure */
        if (!o->unknown)
            o->unknown = strdup(name);
        return 0;
    }
    return *given ? 1 : set_opt(o, name, value) == 0;
}

static void usage(void)
{
    printf("usage: vantage serve --db DIR --listen tcp://IP:PORT --control ipc://PATH --key FILE\n"
           "                     [--blocklist FILE] [--window DUR] [--rules PATH]...\n"
           "                     [--metrics IP:PORT] [--retention DUR] [--config FILE]\n"
           "\n"
           "Runs the coordinator: leases campaign shards to enrolled workers over CURVE,\n"
           "stores their results in RocksDB under time windows, and takes the operator's\n"
           "commands on the control socket.\n"
           "\n"
           "  --db DIR           the store (RocksDB); created if missing; holds every\n"
           "                     worker, campaign, shard, lease and result. One daemon\n"
           "                     per store: a second one is refused\n"
           "  --listen ENDPOINT  where workers connect: tcp://IP:PORT, e.g.\n"
           "                     tcp://0.0.0.0:7700 (IP: an address of this host, [IPv6],\n"
           "                     * or an interface name; no host names)\n"
           "  --control ENDPOINT the operators' socket, ipc://PATH (made mode 0600). A\n"
           "                     stale socket at PATH is replaced; a live one (another\n"
           "                     daemon) or anything not a socket is refused, never removed\n"
           "  --key FILE         the coordinator's secret key (vantage keygen --out FILE);\n"
           "                     refused if others can read it (chmod 600 FILE; 0640 is\n"
           "                     allowed when another user, e.g. root, owns it)\n"
           "  --blocklist FILE   addresses never to scan; replaces the built-in IANA list\n"
           "  --window DUR       observation window, e.g. 1h (default), 30m, 1d. Fixed\n"
           "                     when the store is created: later, give the same or none\n"
           "  --rules PATH       more fingerprint rules (Recog XML, a file or a directory)\n"
           "                     for 'vantage relabel', besides the built-in ones;\n"
           "                     repeatable (workers identify with their own)\n"
           "  --metrics IP:PORT  serve Prometheus metrics at http://IP:PORT/metrics (off\n"
           "                     unless given), e.g. 127.0.0.1:9100\n"
           "  --retention DUR    keep the records of the last DUR only, e.g. 90d (default:\n"
           "                     all, for ever). Checked every minute: whole windows older\n"
           "                     than DUR go at once, with their device records and the\n"
           "                     banners nothing names any more. At least one window\n"
           "  --config FILE      key = value lines, one per flag above (command line wins)\n"
           "\n"
           "SIGTERM stops taking work, commits the writes in flight and exits 0. SIGHUP\n"
           "re-reads --blocklist (for campaigns started after) and --rules; a file that\n"
           "does not load keeps the old one, and the log says so. Under systemd\n"
           "(Type=notify) it reports ready once the sockets are bound, a STATUS= line,\n"
           "and watchdog pings when the unit asks for them. A start\n"
           "that fails (port in use, store locked, bad flag) says why in one line on\n"
           "stderr and exits 1, or 2 for a bad command line.\n"
           "\n"
           "Example:\n"
           "  vantage keygen --out /etc/vantage/coordinator.key\n"
           "  vantage serve --db /var/lib/vantage/db --listen tcp://0.0.0.0:7700 \\\n"
           "      --control ipc:///run/vantage/control --key /etc/vantage/coordinator.key\n"
           "\n"
           "See docs/operator-guide.md.\n");
}

/* ---- starting up ----
 *
 * Every ordinary failure at start (a port in use, a store another daemon
 * holds, a bad endpoint, a key file others can read, …) ends in one line on
 * stderr and exit 1, or 2 when the command line itself is wrong — never in
 * an abort: what can be checked is checked before anything is made (the
 * endpoints are parsed here: libzmq's "No such device" for a mistyped
 * address helps nobody), and what was made is taken down before the line is
 * printed (exiting with a CZMQ socket
 * or actor alive aborts in CZMQ's atexit handler). Nothing outside the
 * daemon's own making is removed: a control path is unlinked only if it is
 * a socket nobody answers on, and only once the store is open. */

#define VT_WINDOW_DEFAULT 3600 /* seconds: --window when a new store is made without it */

/* Messages libzmq queues from ONE worker connection before it stops reading
 * it; TCP then pushes back on the worker, so nothing is dropped. ZMQ_RCVHWM
 * is per peer, not per socket, so the bound is sized for one worker: at most
 * VT_CREDITS result batches in flight, and besides them a Heartbeat a
 * second, Progress, the odd Hello or LeaseRefused — 56 more is ample for
 * what comes between two turns of the loop. With VT_MAX_MESSAGE it bounds
 * what one connection can make the coordinator hold (64 × 4 MiB), where
 * libzmq's default (1000 messages) would allow 4 GiB. */
#define VT_ROUTER_RCVHWM (VT_CREDITS + 56)

/* What a failed start says, and its exit status (1, or 2 for bad usage). */
static int start_fail(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int start_fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return status;
}

/* --listen: tcp://HOST:PORT where HOST is what libzmq can bind (an IPv4
 * address, [IPv6], * or a network interface; never a name to resolve) and
 * PORT is 1-65535. *ipv6 tells whether the socket needs ZMQ_IPV6. */
static int check_listen(const char *ep, bool *ipv6, char *err, size_t errlen)
{
    static const char how[] = "give tcp://IP:PORT, e.g. tcp://0.0.0.0:7700";
    *ipv6 = false;
    if (strncmp(ep, "tcp://", 6) != 0)
        return start_fail(err, errlen, 2, "bad --listen '%s': workers connect over TCP; %s", ep,
                          how);
    const char *host = ep + 6, *colon = strrchr(host, ':');
    uint64_t port;
    if (!colon || colon == host || vt_parse_u64(colon + 1, 1, 65535, &port) != 0)
        return start_fail(err, errlen, 2,
                          "bad --listen '%s': no host, or a port not in 1-65535; %s", ep, how);
    char name[IF_NAMESIZE + INET6_ADDRSTRLEN + 2];
    size_t n = (size_t)(colon - host);
    if (n >= sizeof name)
        return start_fail(err, errlen, 2, "bad --listen '%s': the host is too long; %s", ep, how);
    memcpy(name, host, n);
    name[n] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcmp(name, "*") || inet_pton(AF_INET, name, &a4) == 1)
        return 0;
    if (n > 2 && name[0] == '[' && name[n - 1] == ']') {
        name[n - 1] = '\0';
        if (inet_pton(AF_INET6, name + 1, &a6) != 1)
            return start_fail(err, errlen, 2, "bad --listen '%s': %s] is not an IPv6 address; %s",
                              ep, name, how);
        *ipv6 = true;
        return 0;
    }
    if (if_nametoindex(name) != 0) /* libzmq binds an interface's address too */
        return 0;
    return start_fail(
        err, errlen, 2,
        "bad --listen '%s': '%s' is neither an IP address nor a network interface of this "
        "host; %s",
        ep, name, how);
}

/* --control: ipc://PATH, a path a socket file can have. */
static int check_control(const char *ep, char *err, size_t errlen)
{
    if (strncmp(ep, "ipc://", 6) != 0)
        return start_fail(
            err, errlen, 2,
            "bad --control '%s': give ipc://PATH, a local socket made mode 0600 that only "
            "this user opens, e.g. ipc:///run/vantage/control",
            ep);
    const char *path = ep + 6;
    size_t n = strlen(path);
    if (n == 0 || path[0] == '@' || !strcmp(path, "*") || path[n - 1] == '/')
        return start_fail(err, errlen, 2,
                          "bad --control '%s': give the path of a socket file after ipc://, e.g. "
                          "ipc:///run/vantage/control",
                          ep);
    if (n >= sizeof((struct sockaddr_un *)0)->sun_path)
        return start_fail(
            err, errlen, 2,
            "bad --control '%s': the path is %zu bytes, a local socket's may be %zu at "
            "most; choose a shorter one",
            ep, n, sizeof((struct sockaddr_un *)0)->sun_path - 1);
    return 0;
}

/* The control path is free to bind: nothing is there, or a socket of a
 * previous run nobody answers on (removed if remove_stale). libzmq's ipc bind
 * unlinks whatever is at the path, so this is what keeps a regular file, or
 * a live daemon's socket, from being replaced. 0, or 1 with err set. */
static int control_path_free(const char *path, bool remove_stale, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0
                               : start_fail(err, errlen, 1, "cannot use the control socket %s: %s",
                                            path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return start_fail(
            err, errlen, 1,
            "%s exists and is not a socket: refusing to replace it (remove it if it is "
            "not needed, or give another --control)",
            path);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return start_fail(err, errlen, 1, "cannot check the control socket %s: %s", path,
                          strerror(errno));
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a), e = errno;
    close(fd);
    if (rc == 0)
        return start_fail(err, errlen, 1,
                          "another vantage serve is using the control socket %s (stop it, or give "
                          "another --control)",
                          path);
    if (e != ECONNREFUSED)
        return start_fail(err, errlen, 1, "cannot tell whether the control socket %s is in use: %s",
                          path, strerror(e));
    if (remove_stale && unlink(path) != 0 && errno != ENOENT)
        return start_fail(err, errlen, 1, "cannot remove the stale control socket %s: %s", path,
                          strerror(errno));
    return 0;
}

/* A duration as --window takes it: "1h", "1h30m", "90s" → "1m30s", "1d". */
static const char *duration_text(uint64_t s, char *buf, size_t len)
{
    static const struct {
        uint64_t seconds;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof units[0] && n < len; i++)
        if (s >= units[i].seconds) {
            n += (size_t)snprintf(buf + n, len - n, "%" PRIu64 "%c", s / units[i].seconds,
                                  units[i].unit);
            s %= units[i].seconds;
        }
    return buf;
}

/* Why bind failed, in the operator's terms. */
static const char *bind_hint(int e)
{
    return e == EADDRINUSE      ? " (another vantage serve, or another program, has that port: "
                                  "ss -ltnp shows which)"
           : e == EADDRNOTAVAIL ? " (no interface of this host has that address)"
           : e == EACCES        ? " (a port below 1024 needs privilege: use 7700)"
                                : "";
}

/* Takes down what a start made, in reverse; the control path is not touched. */
static void serve_teardown(struct vt_coord *c)
{
    vt_metrics_http_stop(&c->metrics);
    vt_buf_free(&c->metrics_text);
    zsock_destroy(&c->control);
    zsock_destroy(&c->router);
    vt_keyring_destroy(&c->auth);
    vt_coord_release(c);
}

/* Everything up to serving, in an order that fails before it makes: flags,
 * key, paths; then the keyring (before the ROUTER can bind), the store, its
 * state; then the sockets. 0, or the exit status with err set. */
static int serve_start(struct vt_coord *c, struct serve_opts *o, char *err, size_t errlen)
{
    uint64_t asked = 0;
    if (o->window && (vt_parse_duration(o->window, &asked) != 0 || asked == 0))
        return start_fail(err, errlen, 2, "bad --window '%s': give a duration such as 1h or 30m",
                          o->window);
    uint64_t keep = 0;
    if (o->retention && (vt_parse_duration(o->retention, &keep) != 0 || keep == 0))
        return start_fail(err, errlen, 2,
                          "bad --retention '%s': give a duration such as 90d or 12h", o->retention);
    bool ipv6;
    int st = check_listen(o->listen, &ipv6, err, errlen);
    if (st || (st = check_control(o->control, err, errlen)))
        return st;
    if (o->metrics && vt_metrics_http_check(o->metrics, err, errlen) != 0)
        return 2;
    const char *control_path = o->control + 6;
    vt_targets_init(&c->base_blocklist);
    vt_targets_init(&c->optout);
    char berr[512];
    if (o->blocklist ? vt_targets_load_file(&c->base_blocklist, o->blocklist, berr, sizeof berr)
                     : vt_targets_builtin_blocklist(&c->base_blocklist))
        return start_fail(err, errlen, 2, "--blocklist: %s", berr);

    /* The rules relabel uses: a bad path fails the start, before anything is made. */
    c->rules = vt_rules_open_lines(o->rules, stderr, berr, sizeof berr);
    c->rules_lines = o->rules ? strdup(o->rules) : NULL;
    if (!c->rules)
        return start_fail(err, errlen, 2, "%s", berr);

    struct vt_keypair kp;
    if (vt_key_load_secret(o->key, "vantage", &kp, err, errlen) != 0)
        return 1;
    zcert_t *cert = zcert_new_from(kp.public_key, kp.secret_key);
    vt_keypair_wipe(&kp);
    if (!cert)
        return start_fail(err, errlen, 1, "cannot hold the key %s: out of memory", o->key);
    snprintf(c->public_key, sizeof c->public_key, "%s", kp.public_txt);

    /* A control path in use is refused now, before anything is made; a stale
     * socket there is removed only once the store is open (ours to remove). */
    if ((st = control_path_free(control_path, false, err, errlen)))
        goto out;
    struct stat dbst;
    if (stat(o->db, &dbst) == 0 && !S_ISDIR(dbst.st_mode)) {
        st = start_fail(err, errlen, 1,
                        "--db %s is not a directory: give the store's directory (it is created if "
                        "missing)",
                        o->db);
        goto out;
    }
    if (mkdir(o->db, 0700) != 0 && errno != EEXIST) {
        st = start_fail(err, errlen, 1, "cannot create the store directory %s: %s", o->db,
                        strerror(errno));
        goto out;
    }

    zsys_set_logstream(stderr);
    zsys_handler_set(NULL); /* our own signal handling, in serve() */
    /* The ZAP handler first: the ROUTER must never be bound without it. */
    c->auth = vt_keyring_new();
    if (!c->auth) {
        st = start_fail(err, errlen, 1, "cannot start the authenticator (ZAP handler): %s",
                        zmq_strerror(zmq_errno()));
        goto out;
    }
    c->store = vt_store_open(o->db, err, errlen);
    if (!c->store) {
        st = 1;
        goto out;
    }
    uint64_t stored = 0;
    int rc = vt_store_window(c->store, &stored);
    bool recorded = rc == 1;
    char had[32], want[32];
    if (rc < 0) {
        st = start_fail(err, errlen, 1, "cannot read the window of the store %s: %s", o->db,
                        vt_store_errmsg(c->store));
        goto out;
    }
    if (rc == 1 && asked && asked != stored) {
        st = start_fail(
            err, errlen, 2,
            "this store was created with --window %s; give --window %s or none (a store's "
            "window is fixed when it is made: its records are keyed by it), or use a new "
            "--db for --window %s",
            duration_text(stored, had, sizeof had), had, duration_text(asked, want, sizeof want));
        goto out;
    }
    c->window_s = rc == 1 ? stored : asked ? asked : VT_WINDOW_DEFAULT;
    if (keep && keep < c->window_s) {
        char ws[32];
        st = start_fail(err, errlen, 2,
                        "bad --retention '%s': shorter than the store's window %s (whole "
                        "windows are dropped): give at least %s",
                        o->retention, duration_text(c->window_s, ws, sizeof ws), ws);
        goto out;
    }
    if (keep && vt_retention_set(c, keep) != 0) {
        st = start_fail(err, errlen, 1, "out of memory");
        goto out;
    }
    err[0] = '\0';
    c->batch = vt_batch_new();
    c->state_batch = vt_batch_new();
    if (!c->batch || !c->state_batch || vt_registry_load(c, err, errlen) != 0 ||
        vt_optout_load(c) != 0 || vt_campaigns_load(c, err, errlen) != 0 ||
        vt_leases_load(c) != 0) {
        if (!err[0])
            snprintf(err, errlen, "cannot load state from the store %s: %s", o->db,
                     vt_store_errmsg(c->store));
        st = 1;
        goto out;
    }

    c->router = zsock_new(ZMQ_ROUTER);
    if (!c->router || vt_keyring_guard(c->router) != 0) {
        st =
            start_fail(err, errlen, 1, "cannot make the workers' socket: %s (libzmq 4.3 or later?)",
                       zmq_strerror(zmq_errno()));
        goto out;
    }
    zcert_apply(cert, c->router);
    zsock_set_curve_server(c->router, 1);
    zsock_set_ipv6(c->router, ipv6);
    zsock_set_maxmsgsize(c->router, VT_MAX_MESSAGE);
    zsock_set_router_mandatory(c->router, 0);
    zsock_set_sndhwm(c->router, 10000);
    zsock_set_rcvhwm(c->router, VT_ROUTER_RCVHWM);
    zsock_set_linger(c->router, 1000);
    if (zsock_bind(c->router, "%s", o->listen) < 0) {
        int e = zmq_errno();
        st = start_fail(err, errlen, 1, "cannot listen on %s: %s%s", o->listen, zmq_strerror(e),
                        bind_hint(e));
        goto out;
    }

    c->control = zsock_new(ZMQ_REP);
    if (!c->control) {
        st = start_fail(err, errlen, 1, "cannot make the control socket: %s",
                        zmq_strerror(zmq_errno()));
        goto out;
    }
    zsock_set_maxmsgsize(c->control, VT_MAX_MESSAGE);
    if ((st = control_path_free(control_path, true, err, errlen)))
        goto out;
    mode_t old = umask(077);
    rc = zsock_bind(c->control, "%s", o->control);
    umask(old);
    if (rc < 0 || chmod(control_path, 0600) != 0) {
        int e = rc < 0 ? zmq_errno() : errno;
        st = start_fail(err, errlen, 1, "cannot bind the control socket %s: %s%s", o->control,
                        rc < 0 ? zmq_strerror(e) : strerror(e),
                        e == ENOENT ? " (does its directory exist?)" : "");
        if (rc >= 0)
            unlink(control_path); /* ours, made a moment ago */
        goto out;
    }
    if (o->metrics) {
        c->metrics = vt_metrics_http_start(o->metrics, &st, err, errlen);
        if (!c->metrics) {
            unlink(control_path);
            goto out;
        }
        vt_metrics_render(c, &c->metrics_text); /* served from the first scrape */
        vt_metrics_http_publish(c->metrics, &c->metrics_text);
    }
    /* Recorded last, so a start that failed leaves a new store's window open. */
    if (!recorded && vt_store_set_window(c->store, c->window_s) != 0) {
        st = start_fail(err, errlen, 1, "cannot record the window in the store %s: %s", o->db,
                        vt_store_errmsg(c->store));
        unlink(control_path);
        goto out;
    }
out:
    zcert_destroy(&cert);
    return st;
}

/* SIGHUP: reads again what can change without a restart — the --blocklist
 * file and the --rules — and says in the log what it took. A file that no
 * longer loads keeps what was loaded before (and the log says why): a
 * reload never stops the daemon, nor leaves it without a blocklist. The
 * new blocklist applies to runs started from now on (a run's space was cut
 * at its start); everything else (--listen, --db, --window, --key, the
 * config file's other keys) needs a restart. */
static void serve_reload(struct vt_coord *c, const struct serve_opts *o)
{
    char err[512];
    bool failed = false;
    c->reloads++;
    if (o->blocklist) {
        struct vt_targets fresh;
        vt_targets_init(&fresh);
        if (vt_targets_load_file(&fresh, o->blocklist, err, sizeof err) != 0) {
            vt_targets_free(&fresh);
            failed = true;
            vt_log_at(VT_LOG_WARNING,
                      "reload: --blocklist %s not taken: %s; the %zu ranges loaded before stay",
                      o->blocklist, err, c->base_blocklist.n);
        } else {
            vt_targets_free(&c->base_blocklist);
            c->base_blocklist = fresh;
            vt_log("reload: --blocklist %s: %zu ranges (%" PRIu64
                   " addresses), for runs started from now on",
                   o->blocklist, c->base_blocklist.n, vt_targets_count(&c->base_blocklist));
        }
    } else {
        vt_log("reload: no --blocklist file: the built-in blocklist stays");
    }
    struct vt_rules *rules = vt_rules_open_lines(o->rules, stderr, err, sizeof err);
    if (!rules) {
        failed = true;
        vt_log_at(VT_LOG_WARNING, "reload: rules not taken: %s; the rules loaded before stay", err);
    } else {
        vt_relabel_set_rules(c, rules);
        vt_log("reload: %zu fingerprint rules (built-in%s%s), for relabel requests from now on",
               vt_rules_count(c->rules), o->rules ? " and --rules " : "", o->rules ? o->rules : "");
    }
    c->reload_failures += failed;
    vt_log("reload: done; --listen, --control, --db, --key, --window, --metrics and --retention "
           "need a restart");
}

static int serve(struct vt_coord *c, struct serve_opts *o)
{
    char err[1024] = "";
    /* SIGHUP reloads (serve_reload); from the start, so that a HUP sent while
     * the store opens does not kill the daemon (its default action). */
    struct sigaction hup = {.sa_handler = on_hup};
    sigaction(SIGHUP, &hup, NULL);
    int status = serve_start(c, o, err, sizeof err);
    if (status != 0) {
        serve_teardown(c);
        if (status == 2)
            vt_usage_error(PROG, "%s", err);
        vt_fatal(PROG, "%s", err);
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sd_notify(0, "READY=1");
    uint64_t watchdog_us = 0;
    if (sd_watchdog_enabled(0, &watchdog_us) <= 0)
        watchdog_us = 0;
    int64_t next_second = 0, next_watchdog = 0;
    char told[256] = ""; /* the last STATUS= */
    char window[32];
    vt_log("serving on %s (control %s, store %s, window %s, %zu workers, %zu campaigns, public "
           "key %s)",
           o->listen, o->control, o->db, duration_text(c->window_s, window, sizeof window),
           c->nworkers, c->ncampaigns, c->public_key);
    if (o->metrics)
        vt_log("metrics on http://%s/metrics", o->metrics);
    uint64_t keep = 0;
    if (o->retention && vt_parse_duration(o->retention, &keep) == 0 && keep)
        vt_log("retention %s: windows older than that are dropped, checked every minute",
               duration_text(keep, window, sizeof window));

    zpoller_t *poller = zpoller_new(c->router, c->control, NULL);
    int64_t next_tick = 0;
    while (!stop_signal) {
        void *which = zpoller_wait(poller, 250);
        if (zpoller_terminated(poller) && !which && stop_signal)
            break;
        if (reload_signal) {
            reload_signal = 0;
            sd_notify(0, "RELOADING=1");
            serve_reload(c, o);
            sd_notify(0, "READY=1");
        }
        for (int i = 0; i < VT_DRAIN_MAX && (zsock_events(c->router) & ZMQ_POLLIN); i++)
            vt_session_message(c);
        vt_state_flush(c);
        vt_ingest_commit(c);
        for (int i = 0; i < VT_DRAIN_MAX && (zsock_events(c->control) & ZMQ_POLLIN); i++)
            vt_control_handle(c);
        vt_state_flush(c); /* what control requests changed */
        int64_t now = vt_mono_ms();
        if (now >= next_tick) {
            vt_leases_tick(c, now);
            vt_session_tick(c, now);
            vt_leases_rebalance(c);
            vt_campaigns_tick(c, vt_now_ms());
            next_tick = now + 250;
        }
        vt_retention_tick(c, vt_now_ms(), now); /* a budget of its sweep, when one runs */
        if (now >= next_second) {
            if (c->metrics) {
                vt_metrics_render(c, &c->metrics_text);
                vt_metrics_http_publish(c->metrics, &c->metrics_text);
            }
            char st[256];
            vt_metrics_status(c, st, sizeof st);
            if (strcmp(st, told) != 0) {
                snprintf(told, sizeof told, "%s", st);
                sd_notifyf(0, "STATUS=%s", st);
            }
            next_second = now + 1000;
        }
        if (watchdog_us && now >= next_watchdog) {
            sd_notify(0, "WATCHDOG=1"); /* the loop turns: a hung one gets restarted */
            next_watchdog = now + (int64_t)(watchdog_us / 3000);
        }
    }
    sd_notify(0, "STOPPING=1");
    vt_log("stopping (signal %d): committing writes in flight", (int)stop_signal);
    vt_state_flush(c);
    vt_ingest_commit(c);
    zpoller_destroy(&poller);
    serve_teardown(c);
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
        {"rules", required_argument, NULL, 'R'},
        {"metrics", required_argument, NULL, 'M'},
        {"retention", required_argument, NULL, 'T'},
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
    struct serve_opts file = {.config = cli.config};
    if (cli.config) {
        struct serve_opts *pair[2] = {&file, &cli};
        int rc = ini_parse(cli.config, ini_cb, pair);
        if (rc == -1)
            vt_fatal(PROG, "cannot read the config file %s: %s", cli.config, strerror(errno));
        if (rc < 0)
            vt_fatal(PROG, "cannot read the config file %s: out of memory", cli.config);
        if (rc > 0 && file.unknown)
            vt_usage_error(PROG,
                           "%s:%d: unknown key '%s' (the keys are the flags without '--': db, "
                           "listen, control, key, blocklist, window, rules, metrics, retention)",
                           cli.config, rc, file.unknown);
        if (rc > 0)
            vt_usage_error(PROG, "%s:%d: bad line (give key = value)", cli.config, rc);
        o.db = cli.db ? cli.db : file.db;
        o.listen = cli.listen ? cli.listen : file.listen;
        o.control = cli.control ? cli.control : file.control;
        o.key = cli.key ? cli.key : file.key;
        o.blocklist = cli.blocklist ? cli.blocklist : file.blocklist;
        o.window = cli.window ? cli.window : file.window;
        o.rules = cli.rules ? cli.rules : file.rules;
        o.metrics = cli.metrics ? cli.metrics : file.metrics;
        o.retention = cli.retention ? cli.retention : file.retention;
    }
    if (!o.db || !o.listen || !o.control || !o.key)
        vt_usage_error(PROG, "--db, --listen, --control and --key are required");
    struct vt_coord c = {0};
    int rc = serve(&c, &o);
    struct serve_opts *owned[2] = {&cli, &file}; /* config names argv; the rest are copies */
    for (int i = 0; i < 2; i++) {
        free(owned[i]->db), free(owned[i]->listen), free(owned[i]->control);
        free(owned[i]->key), free(owned[i]->blocklist), free(owned[i]->window);
        free(owned[i]->rules), free(owned[i]->metrics), free(owned[i]->retention);
        free(owned[i]->unknown);
    }
    return rc;
}
