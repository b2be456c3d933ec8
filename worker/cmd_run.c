/* cmd_run.c: `vantage-worker run`, the long-running worker: connects to a
 * coordinator, takes leases within the local policy and streams results back
 * (docs/protocol.md, docs/partner-guide.md).
 *
 * Order matters: flags and config are checked first (bad usage exits 2; a
 * run without an explicit --scope is bad usage), the user to run as is
 * chosen and the spool handed to it, the spool is opened, the scan helper
 * process is forked before any thread or ZeroMQ context exists (lease.h) and
 * becomes that user keeping CAP_NET_RAW alone, the key files are read, the
 * main process then becomes the same user with no capability at all (priv.h),
 * and only then does ZeroMQ start, and the --metrics server's thread.
 * SIGTERM/SIGINT stop the running lease, send its last progress and exit 0;
 * SIGHUP re-reads the --config file (reload(): what can change without a
 * restart is taken, the rest is named in the log) and never stops it.
 *
 * Under systemd (Type=notify) the worker says READY=1 once its uplink runs,
 * a STATUS= line of what it does, and WATCHDOG=1 from the uplink's loop when
 * the unit asks for a watchdog: a loop that hangs gets the worker restarted. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>
#include <systemd/sd-daemon.h>

#include "cli.h"
#include "commands.h"
#include "banner.h"
#include "config.h"
#include "keys.h"
#include "lease.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "policy.h"
#include "priv.h"
#include "rules.h"
#include "spool.h"
#include "uplink.h"

#define PROG "vantage-worker run"

static atomic_bool stop_requested, reload_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static void on_hup(int sig)
{
    (void)sig;
    atomic_store(&reload_requested, true);
}

static void run_usage(void)
{
    printf(
        "usage: vantage-worker run --coordinator tcp://HOST:PORT --server-key Z85|FILE --key FILE\n"
        "                          --scope CIDR,...|@FILE [OPTIONS]\n"
        "\n"
        "Runs this host as a vantage worker: connects out to the coordinator (CURVE-encrypted\n"
        "ZeroMQ), takes leases (arcs of a campaign's scan) and runs them one at a time with\n"
        "the SYN scan engine, spools results on disk until the coordinator has stored them,\n"
        "and reports progress. Leases reaching outside the local policy (--scope,\n"
        "--allow-ports) are refused; addresses in --exclude are never probed; the rate never\n"
        "exceeds --max-rate, whatever the coordinator asks. Runs until SIGTERM or SIGINT,\n"
        "which stop the lease cleanly. SIGHUP re-reads the --config file: max-rate applies\n"
        "at once (up to the value at start); the log names keys that need a restart.\n"
        "\n"
        "Needs CAP_NET_RAW: start it as root, or as an unprivileged user with the capability\n"
        "(setcap cap_net_raw+ep on the binary, or systemd's AmbientCapabilities). Started as\n"
        "root, every process becomes --user; only the process that forks the scans keeps\n"
        "CAP_NET_RAW, and nothing keeps anything else. See docs/partner-guide.md.\n"
        "\n"
        "Options (each is also a key in the --config file, without '--'):\n"
        "      --coordinator URL     the coordinator, tcp://HOST:PORT (required)\n"
        "      --server-key Z85|FILE the coordinator's public key: 40 Z85 characters, or its\n"
        "                            key file (FILE or FILE.pub) (required)\n"
        "  -k, --key FILE            this worker's secret key, made by\n"
        "                            'vantage-worker keygen --out FILE' (required)\n"
        "  -n, --name NAME           name told to the coordinator (default: the hostname)\n"
        "  -i, --interface IF        send on IF (default: the route to each lease's targets)\n"
        "  -S, --source-ip IP        source address (default: the interface's)\n"
        "  -G, --gateway-mac MAC     next hop's MAC (default: from the neighbour table)\n"
        "  -r, --max-rate PPS        never send more probes per second than this\n"
        "                            (default 0 = no local ceiling: the lease's rate)\n"
        "      --scope CIDR,...|@FILE  the only addresses this worker may probe (required:\n"
        "                            there is no default; --scope 0.0.0.0/0 allows all of\n"
        "                            IPv4, if that is what you mean)\n"
        "      --exclude CIDR,...|@FILE  addresses never probed, whatever the coordinator\n"
        "                            says: cut out of the scope it is told, refused in any\n"
        "                            lease, and skipped by every scan\n"
        "      --allow-ports LIST    the only ports it may probe (default 1-65535)\n"
        "  -u, --user NAME           when started as root, the user every process becomes\n"
        "                            (default: " VT_RUN_AS_PACKAGED " if it exists, else nobody);\n"
        "                            the spool directory is handed to it\n"
        "      --spool DIR           results wait here until stored (default\n"
        "                            " VT_SPOOL_DEFAULT_DIR ", created mode 0700)\n"
        "      --spool-max SIZE      spool bound, e.g. 512M or 2G (default 1G; also at most\n"
        "                            100000 batches); when full, the lease pauses\n"
        "      --banner-concurrency N  banner connections at once, for campaigns started\n"
        "                            with --banners (default 1000)\n"
        "      --banner-timeout SEC  whole time one grab may take (default 10)\n"
        "      --host-cap N          banner grabs per address and lease (default 32)\n"
        "      --rules PATH          more fingerprint rules (Recog XML file or directory),\n"
        "                            repeatable; the built-in rules always load\n"
        "      --metrics IP:PORT     serve Prometheus metrics at http://IP:PORT/metrics\n"
        "                            (default: none; e.g. 127.0.0.1:9101)\n"
        "      --user-agent TEXT     User-Agent of the HTTP probe of banner grabs; name\n"
        "                            the survey and its opt-out page (default\n"
        "                            \"" VT_BANNER_USER_AGENT "\")\n"
        "      --config FILE         read 'key = value' settings; flags override them\n"
        "\n"
        "Example (the lab, tests/lab/README):\n"
        "  vantage-worker keygen --out /etc/vantage/worker.key\n"
        "  ip netns exec vl-v1 vantage-worker run --coordinator tcp://198.19.254.2:7700 \\\n"
        "      --server-key /etc/vantage/coordinator.key.pub --key /etc/vantage/worker.key \\\n"
        "      --scope 198.18.0.0/16 --exclude 198.18.200.0/24 --allow-ports 23,80 \\\n"
        "      --max-rate 20000 --spool /tmp/spool-v1\n"
        "\n"
        "See docs/partner-guide.md and docs/protocol.md.\n");
}

/* "123", "512K", "64M", "2G": bytes. 0, or -1. */
static int parse_size(const char *s, uint64_t *out)
{
    char num[32];
    size_t len = strlen(s);
    uint64_t mult = 1;
    if (len == 0 || len >= sizeof num)
        return -1;
    memcpy(num, s, len + 1);
    switch (num[len - 1]) {
    case 'K':
    case 'k':
        mult = 1ull << 10;
        break;
    case 'M':
    case 'm':
        mult = 1ull << 20;
        break;
    case 'G':
    case 'g':
        mult = 1ull << 30;
        break;
    case 'T':
    case 't':
        mult = 1ull << 40;
        break;
    default:
        break;
    }
    if (mult > 1)
        num[len - 1] = '\0';
    uint64_t v;
    if (vt_parse_u64(num, 1, UINT64_MAX / mult, &v) != 0)
        return -1;
    *out = v * mult;
    return 0;
}

/* The coordinator's public key from Z85 text or a key file. */
static int server_key_text(const char *arg, char z85[VT_Z85_KEY_LEN + 1])
{
    if (vt_z85_key_valid(arg)) {
        snprintf(z85, VT_Z85_KEY_LEN + 1, "%s", arg);
        return 0;
    }
    struct vt_keypair kp;
    char pub[4096], why[256];
    int rc = vt_key_file_read(arg, &kp, why, sizeof why);
    if (rc != 0 && snprintf(pub, sizeof pub, "%s.pub", arg) < (int)sizeof pub)
        rc = vt_key_file_read(pub, &kp, why, sizeof why);
    if (rc != 0)
        return -1;
    snprintf(z85, VT_Z85_KEY_LEN + 1, "%s", kp.public_txt);
    vt_keypair_wipe(&kp);
    return 0;
}

/* ---- the daemon's housekeeping, on the uplink's thread ---- */

struct run_ctx {
    const char *config_file;              /* NULL: none to reload */
    const struct vt_worker_config *cfg;   /* as started (flags over file) */
    const struct vt_worker_config *flags; /* the command line: it wins over the file */
    struct vt_policy *policy;             /* max_rate changes on reload */
    uint64_t start_max_rate;              /* the scan helper's ceiling, fixed at its fork */
    struct vt_metrics_http *http;         /* NULL: no --metrics */
    struct vt_buf text;
    struct vt_worker_metrics_src src;
    bool ready;
    uint64_t watchdog_us; /* 0: the unit asks for none */
    int64_t next_render_ms, next_status_ms, next_watchdog_ms;
    char status[256];
};

#define LOG(level, ...) vt_log_line(level, "vantage-worker", __VA_ARGS__)

/* SIGHUP: the config file again. Only max-rate takes effect at once (the
 * uplink clamps the running lease and tells the coordinator); the scan
 * helper was forked with the ceiling of the start, so a higher one waits
 * for a restart, as does every other key (the rules, banner settings, scope
 * and links are the helper's, or the session's). */
static void reload(struct run_ctx *x)
{
    x->src.reloads++;
    if (!x->config_file) {
        LOG(VT_LOG_INFO, "reload: no --config file: every setting came from the command line; "
                         "changing one needs a restart");
        return;
    }
    struct vt_worker_config fresh = {0};
    char err[1024];
    uint64_t rate = 0;
    if (vt_worker_config_load(&fresh, x->config_file, err, sizeof err) != 0 ||
        vt_worker_config_merge(&fresh, x->flags) != 0) {
        LOG(VT_LOG_WARNING, "reload: %s; nothing changed", err);
        x->src.reload_failures++;
        vt_worker_config_free(&fresh);
        return;
    }
    if (fresh.max_rate && vt_parse_u64(fresh.max_rate, 0, 100000000, &rate) != 0) {
        LOG(VT_LOG_WARNING,
            "reload: %s: bad max-rate '%s' (give probes per second, 0-100000000); nothing "
            "changed",
            x->config_file, fresh.max_rate);
        x->src.reload_failures++;
        vt_worker_config_free(&fresh);
        return;
    }
    if (x->start_max_rate && (rate == 0 || rate > x->start_max_rate)) {
        LOG(VT_LOG_WARNING,
            "reload: max-rate %" PRIu64 "%s is above the %" PRIu64
            " this worker started with: that stays the ceiling until a restart",
            rate, rate ? "" : " (none)", x->start_max_rate);
        rate = x->start_max_rate;
    }
    if (rate != x->policy->max_rate) {
        LOG(VT_LOG_INFO, "reload: max-rate %" PRIu64 " -> %" PRIu64 " probes/s",
            x->policy->max_rate, rate);
        x->policy->max_rate = rate;
        x->src.max_rate = rate;
        vt_uplink_policy_changed(x->src.up);
    }
    const char *changed[32];
    size_t n = vt_worker_config_changed(x->cfg, &fresh, changed, 32);
    char rest[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(changed[i], "max-rate") != 0 && len < sizeof rest)
            len += (size_t)snprintf(rest + len, sizeof rest - len, "%s%s", len ? ", " : "",
                                    changed[i]);
    if (rest[0])
        LOG(VT_LOG_WARNING, "reload: %s changed in %s but needs a restart to apply", rest,
            x->config_file);
    LOG(VT_LOG_INFO, "reload: done (max-rate %" PRIu64 "%s)", x->policy->max_rate,
        x->policy->max_rate ? " probes/s" : ": none");
    vt_worker_config_free(&fresh);
}

/* What systemctl status shows. */
static void status_line(struct run_ctx *x, char *buf, size_t len)
{
    struct vt_uplink_stats us;
    vt_uplink_stats(x->src.up, &us);
    size_t spooled = vt_spool_count(x->src.spool);
    if (!us.connected) {
        const char *why = vt_uplink_problem(x->src.up);
        snprintf(buf, len, "not connected%s%s; %zu batches spooled", why[0] ? ": " : "", why,
                 spooled);
    } else if (us.lease_id) {
        snprintf(buf, len,
                 "connected, lease %" PRIu64 " of campaign %s at %" PRIu64
                 " probes/s; %zu batches spooled",
                 us.lease_id, us.campaign, us.rate, spooled);
    } else {
        snprintf(buf, len, "connected, idle; %zu batches spooled", spooled);
    }
}

static void on_turn(void *arg, struct vt_uplink *up)
{
    struct run_ctx *x = arg;
    x->src.up = up;
    int64_t now = zclock_mono();
    if (!x->ready) { /* the uplink runs: serving */
        x->ready = true;
        sd_notify(0, "READY=1\nSTATUS=connecting");
    }
    if (atomic_exchange(&reload_requested, false)) {
        sd_notify(0, "RELOADING=1");
        reload(x);
        sd_notify(0, "READY=1");
        x->next_render_ms = 0;
    }
    if (x->http && now >= x->next_render_ms) {
        vt_worker_metrics_render(&x->src, &x->text);
        vt_metrics_http_publish(x->http, &x->text);
        x->next_render_ms = now + 1000;
    }
    if (now >= x->next_status_ms) {
        char st[256];
        status_line(x, st, sizeof st);
        if (strcmp(st, x->status) != 0) {
            snprintf(x->status, sizeof x->status, "%s", st);
            sd_notifyf(0, "STATUS=%s", st);
        }
        x->next_status_ms = now + 1000;
    }
    if (x->watchdog_us && now >= x->next_watchdog_ms) {
        sd_notify(0, "WATCHDOG=1");
        x->next_watchdog_ms = now + (int64_t)(x->watchdog_us / 3000);
    }
}

int vt_cmd_run(int argc, char **argv)
{
    enum {
        OPT_SCOPE = 256,
        OPT_EXCLUDE,
        OPT_PORTS,
        OPT_SPOOL,
        OPT_SPOOL_MAX,
        OPT_BANNER_CONC,
        OPT_HOST_CAP,
        OPT_RULES,
        OPT_USER_AGENT,
        OPT_BANNER_TIMEOUT,
        OPT_METRICS
    };
    static const struct option opts[] = {
        {"coordinator", required_argument, NULL, 'c'},
        {"server-key", required_argument, NULL, 's'},
        {"key", required_argument, NULL, 'k'},
        {"name", required_argument, NULL, 'n'},
        {"interface", required_argument, NULL, 'i'},
        {"source-ip", required_argument, NULL, 'S'},
        {"gateway-mac", required_argument, NULL, 'G'},
        {"max-rate", required_argument, NULL, 'r'},
        {"scope", required_argument, NULL, OPT_SCOPE},
        {"exclude", required_argument, NULL, OPT_EXCLUDE},
        {"allow-ports", required_argument, NULL, OPT_PORTS},
        {"user", required_argument, NULL, 'u'},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"spool-max", required_argument, NULL, OPT_SPOOL_MAX},
        {"banner-concurrency", required_argument, NULL, OPT_BANNER_CONC},
        {"host-cap", required_argument, NULL, OPT_HOST_CAP},
        {"rules", required_argument, NULL, OPT_RULES},
        {"user-agent", required_argument, NULL, OPT_USER_AGENT},
        {"banner-timeout", required_argument, NULL, OPT_BANNER_TIMEOUT},
        {"metrics", required_argument, NULL, OPT_METRICS},
        {"config", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct vt_worker_config flags = {0}, cfg = {0};
    const char *config_file = NULL;
    char err[1024];
    /* A SIGHUP before the loop runs is kept for it, never fatal. The helper
     * process, forked below, ignores it. */
    struct sigaction hup;
    memset(&hup, 0, sizeof hup);
    hup.sa_handler = on_hup;
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL);

    opterr = 0;
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, ":k:n:i:S:G:r:u:h", opts, &idx)) != -1) {
        const char *key = NULL;
        switch (c) {
        case 'h':
            run_usage();
            return 0;
        case 'f':
            config_file = optarg;
            continue;
        case ':':
            vt_usage_error(PROG, "%s needs a value", argv[optind - 1]);
        case '?':
            vt_usage_error(PROG, "unknown option '%s'", argv[optind - 1]);
        default:
            for (const struct option *o = opts; o->name; o++)
                if (o->val == c)
                    key = o->name;
        }
        if (!key || vt_worker_config_set(&flags, key, optarg) != 0)
            vt_fatal(PROG, "out of memory");
    }
    if (optind < argc)
        vt_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
    if (config_file && vt_worker_config_load(&cfg, config_file, err, sizeof err) != 0)
        vt_usage_error(PROG, "%s", err);
    if (vt_worker_config_merge(&cfg, &flags) != 0)
        vt_fatal(PROG, "out of memory");

    /* Check every setting before anything starts. */
    if (!cfg.coordinator)
        vt_usage_error(PROG, "--coordinator tcp://HOST:PORT is required");
    if (strncmp(cfg.coordinator, "tcp://", 6) != 0 && strncmp(cfg.coordinator, "ipc://", 6) != 0)
        vt_usage_error(PROG, "bad --coordinator '%s': give tcp://HOST:PORT", cfg.coordinator);
    if (!cfg.server_key)
        vt_usage_error(PROG, "--server-key is required: the coordinator's public key (Z85) or "
                             "its key file");
    if (!cfg.key)
        vt_usage_error(PROG, "--key FILE is required (create one with 'vantage-worker keygen "
                             "--out FILE')");
    /* Fail closed: no scope means no consent, not "everything". */
    if (!cfg.scope)
        vt_usage_error(PROG, "--scope is required: give the prefixes this worker may probe, e.g. "
                             "--scope 192.0.2.0/24 (or --scope 0.0.0.0/0 for all of IPv4, if "
                             "that is meant)");
    char hostname[256];
    if (!cfg.name) {
        if (gethostname(hostname, sizeof hostname) != 0)
            vt_usage_error(PROG, "cannot read the hostname: give --name NAME");
        hostname[sizeof hostname - 1] = '\0';
    }
    const char *name = cfg.name ? cfg.name : hostname;
    if (!name[0] || strlen(name) > 255)
        vt_usage_error(PROG, "bad --name: give 1-255 characters");
    struct vt_lease_link link = {0};
    if (cfg.interface) {
        if (strlen(cfg.interface) >= 16 || !cfg.interface[0])
            vt_usage_error(PROG, "bad --interface '%s': not an interface name", cfg.interface);
        link.ifname = cfg.interface;
    }
    if (cfg.source_ip && vt_ip_parse(cfg.source_ip, &link.source_ip) != 0)
        vt_usage_error(PROG, "bad --source-ip '%s': give an IPv4 address", cfg.source_ip);
    if (cfg.gateway_mac) {
        if (vt_mac_parse(cfg.gateway_mac, link.gw_mac) != 0)
            vt_usage_error(PROG,
                           "bad --gateway-mac '%s': give six hex bytes, e.g. 02:00:00:00:00:01",
                           cfg.gateway_mac);
        link.have_gw_mac = true;
    }
    uint64_t max_rate = 0, spool_max = VT_SPOOL_DEFAULT_MAX_BYTES;
    if (cfg.max_rate && vt_parse_u64(cfg.max_rate, 0, 100000000, &max_rate) != 0)
        vt_usage_error(PROG,
                       "bad --max-rate '%s': give probes per second, 0-100000000 (0 = no "
                       "ceiling)",
                       cfg.max_rate);
    if (cfg.spool_max && parse_size(cfg.spool_max, &spool_max) != 0)
        vt_usage_error(PROG, "bad --spool-max '%s': give a size such as 512M or 2G", cfg.spool_max);
    if (cfg.metrics && vt_metrics_http_check(cfg.metrics, err, sizeof err) != 0)
        vt_usage_error(PROG, "%s", err);
    struct vt_policy policy;
    if (vt_policy_init(&policy, cfg.scope, cfg.allow_ports, max_rate, err, sizeof err) != 0 ||
        (cfg.exclude && vt_policy_set_exclude(&policy, cfg.exclude, err, sizeof err) != 0))
        vt_usage_error(PROG, "%s", err);
    struct vt_run_as as;
    if (vt_run_as_resolve(&as, cfg.user, err, sizeof err) != 0)
        vt_usage_error(PROG, "%s", err);
    if (!as.net_raw)
        LOG(VT_LOG_WARNING, "no CAP_NET_RAW, so every lease will fail to open its raw sockets "
                            "(start as root, or grant it once with 'setcap cap_net_raw+ep "
                            "$(command -v vantage-worker)')");
    /* Banner settings and rules: checked (and the rules loaded) before anything
     * is made, and before the fork, so every scan process has them. */
    struct vt_lease_banners banners = {0};
    uint64_t num;
    if (cfg.banner_concurrency) {
        if (vt_parse_u64(cfg.banner_concurrency, 1, 100000, &num) != 0)
            vt_usage_error(PROG, "bad --banner-concurrency '%s': give 1-100000",
                           cfg.banner_concurrency);
        banners.concurrency = (unsigned)num;
    }
    if (cfg.banner_timeout) {
        if (vt_parse_u64(cfg.banner_timeout, 1, 300, &num) != 0)
            vt_usage_error(PROG, "bad --banner-timeout '%s': give seconds, 1-300",
                           cfg.banner_timeout);
        banners.deadline_ms = (unsigned)num * 1000;
    }
    if (cfg.host_cap) {
        if (vt_parse_u64(cfg.host_cap, 1, 65536, &num) != 0)
            vt_usage_error(PROG, "bad --host-cap '%s': give 1-65536", cfg.host_cap);
        banners.host_cap = (unsigned)num;
    }
    if (cfg.user_agent) {
        if (!vt_banner_user_agent_ok(cfg.user_agent))
            vt_usage_error(PROG, "bad --user-agent: give 1-%d printable ASCII characters",
                           VT_BANNER_USER_AGENT_MAX);
        banners.user_agent = cfg.user_agent;
    }
    struct vt_rules *rules = vt_rules_open_lines(cfg.rules, stderr, err, sizeof err);
    if (!rules)
        vt_fatal(PROG, "%s", err);
    banners.rules = rules;

    const char *spool_dir = cfg.spool ? cfg.spool : VT_SPOOL_DEFAULT_DIR;

    /* The spool is opened (its directory fd kept) while we may still be
     * root, and handed to the user first, who writes to it from then on. */
    if (vt_run_as_own_dir(&as, spool_dir, err, sizeof err) != 0)
        vt_fatal(PROG, "%s", err);
    struct vt_spool *spool = vt_spool_open(spool_dir, spool_max, 0, err, sizeof err);
    if (!spool)
        vt_fatal(PROG, "%s", err);

    /* Before any thread or ZeroMQ context: the process that will fork scans. */
    struct vt_lease_runner *runner =
        vt_lease_runner_fork(&as, &link, &policy, &banners, err, sizeof err);
    if (!runner)
        vt_fatal(PROG, "%s", err);

    /* The keys are read before the change of user, which may not read them. */
    struct vt_keypair kp;
    if (vt_key_load_secret(cfg.key, "vantage-worker", &kp, err, sizeof err) != 0) {
        /* unreadable, too open (chmod 600), a .pub, or a torn pair */
        vt_lease_runner_destroy(&runner);
        vt_fatal(PROG, "%s", err);
    }
    zcert_t *cert = zcert_new_from(kp.public_key, kp.secret_key);
    vt_keypair_wipe(&kp);
    if (!cert) {
        vt_lease_runner_destroy(&runner);
        vt_fatal(PROG, "cannot hold the key %s: out of memory", cfg.key);
    }
    char server_key[VT_Z85_KEY_LEN + 1];
    if (server_key_text(cfg.server_key, server_key) != 0) {
        vt_lease_runner_destroy(&runner);
        vt_fatal(PROG,
                 "bad --server-key '%s': neither a 40-character Z85 key nor a readable key file "
                 "(ask the coordinator's operator for its public key)",
                 cfg.server_key);
    }
    /* This process talks to the network and parses what comes in: it keeps no
     * capability at all (the helper keeps CAP_NET_RAW for the scans). */
    if (vt_run_as_enter(&as, false, err, sizeof err) != 0) {
        zcert_destroy(&cert);
        vt_lease_runner_destroy(&runner);
        vt_fatal(PROG, "%s", err);
    }

    /* --metrics: after the change of user (a port below 1024 is refused) and
     * after the fork (its thread must not exist before). */
    struct run_ctx x = {
        .config_file = config_file,
        .cfg = &cfg,
        .flags = &flags,
        .policy = &policy,
        .start_max_rate = max_rate,
        .src = {.runner = runner, .spool = spool, .spool_dir = spool_dir, .max_rate = max_rate},
    };
    if (cfg.metrics) {
        int st = 1;
        x.http = vt_metrics_http_start(cfg.metrics, &st, err, sizeof err);
        if (!x.http) {
            zcert_destroy(&cert);
            vt_lease_runner_destroy(&runner);
            if (st == 2)
                vt_usage_error(PROG, "%s", err);
            vt_fatal(PROG, "%s", err);
        }
    }
    if (sd_watchdog_enabled(0, &x.watchdog_us) <= 0)
        x.watchdog_us = 0;

    zsys_handler_set(NULL); /* our handler, not CZMQ's */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        vt_fatal(PROG, "cannot install signal handlers: %s", strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    zsys_init();

    struct vt_uplink_config ucfg = {
        .endpoint = cfg.coordinator,
        .server_key = server_key,
        .cert = cert,
        .name = name,
        .policy = &policy,
        .spool = spool,
        .ops = vt_lease_runner_ops(runner),
        .on_turn = on_turn,
        .turn_arg = &x,
    };
    struct vt_uplink *up = vt_uplink_new(&ucfg, err, sizeof err);
    if (!up || vt_lease_runner_attach(runner, spool, vt_uplink_events_endpoint(up), &stop_requested,
                                      err, sizeof err) != 0) {
        vt_uplink_destroy(&up);
        vt_lease_runner_destroy(&runner);
        vt_fatal(PROG, "%s", err);
    }
    char ps[64];
    vt_ports_format(&policy.ports, ps, sizeof ps);
    LOG(VT_LOG_INFO,
        "%s connecting to %s as user %s; scope %zu ranges (%llu addresses, %zu ranges "
        "excluded), ports %s, max rate %llu%s, spool %s (%zu batches waiting)%s%s",
        name, cfg.coordinator, as.name, policy.scope.n,
        (unsigned long long)vt_targets_count(&policy.scope), policy.exclude.n, ps,
        (unsigned long long)max_rate, max_rate ? "/s" : " (none)", spool_dir, vt_spool_count(spool),
        x.http ? "; metrics on " : "", x.http ? cfg.metrics : "");
    int rc = vt_uplink_run(up, &stop_requested, err, sizeof err);
    if (rc == 0 && vt_lease_runner_dead(runner)) {
        snprintf(err, sizeof err,
                 "the scan helper process died (see the log above; killed, or out of memory?): "
                 "restart vantage-worker");
        rc = -1;
    }
    sd_notify(0, "STOPPING=1");
    vt_metrics_http_stop(&x.http);
    vt_buf_free(&x.text);
    vt_uplink_destroy(&up);
    vt_lease_runner_destroy(&runner);
    vt_spool_close(spool);
    zcert_destroy(&cert);
    vt_policy_free(&policy);
    vt_worker_config_free(&cfg);
    vt_worker_config_free(&flags);
    vt_rules_free(rules);
    if (rc != 0)
        vt_fatal(PROG, "%s", err);
    LOG(VT_LOG_INFO, "stopped");
    return 0;
}
