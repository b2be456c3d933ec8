/* cmd_worker.c: `vantage worker add|list|revoke`, enrolling partner workers.
 *
 * A worker is admitted by its CURVE public key (the coordinator's ZAP handler
 * lets in only enrolled keys) and leased work under its name and site label.
 * These commands check their arguments here, then send worker.add,
 * worker.list or worker.revoke over the control socket (docs/control.md). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"
#include "keys.h"

static void add_usage(void)
{
    printf(
        "usage: vantage worker add NAME --key Z85|FILE --site SITE [--asn N]\n"
        "\n"
        "Enrolls a worker. From now on the coordinator admits a worker that connects\n"
        "with this CURVE public key and leases it shards under NAME. The partner sends\n"
        "you its public key (the line `vantage-worker keygen` printed, or its .pub\n"
        "file); you send them the coordinator's (from `vantage keygen`, or\n"
        "coordinator.key.pub) for their --server-key.\n"
        "\n"
        "NAME is 1-64 of A-Z a-z 0-9 . _ - and must be new.\n"
        "\n"
        "Options:\n"
        "  -k, --key Z85|FILE        the worker's public key: 40 Z85 characters, or the\n"
        "                            .pub file `vantage-worker keygen` wrote (a file\n"
        "                            holding a secret key, all zeros and the\n"
        "                            coordinator's own key are refused)\n"
        "  -s, --site SITE           the vantage label (e.g. the partner ISP); a\n"
        "                            campaign with --vantages K wants K different sites\n"
        "  -a, --asn N               the partner network's AS number (optional)\n" VT_CONTROL_HELP
        "\n"
        "Example:\n"
        "  vantage worker add isp-a-1 --key 'rq:rM>}U?@Lns47E1%%kR.o@n%%FcmmsL/@{H8]yf7' \\\n"
        "      --site isp-a --asn 64500\n");
}

/* The public key from --key: Z85 text itself, or a key file (a public
 * one: a file holding a secret key is refused). What is told here and what by
 * the daemon (registry.c, vt_worker_add): all zeros (both); a secret key
 * file (here); the coordinator's own public or secret key, or an enrolled
 * worker's secret key (the daemon, which knows them). Any other secret key
 * pasted as text looks like a public key and cannot be told: the worker then
 * is refused at its handshake, which the daemon logs with its key's prefix. */
static void key_from_arg(const char *prog, const char *arg, char out[41])
{
    static const char zero_key[] = "0000000000000000000000000000000000000000";
    if (vt_z85_key_valid(arg)) {
        if (!strcmp(arg, zero_key))
            vt_usage_error(prog, "bad --key: all zeros is no key (a placeholder?); give the "
                                 "worker's public key");
        snprintf(out, 41, "%s", arg);
        return;
    }
    if (access(arg, F_OK) != 0) {
        if (strlen(arg) == 40)
            vt_usage_error(prog, "bad --key: '%s' has characters outside the Z85 alphabet", arg);
        vt_usage_error(prog,
                       "bad --key '%s': give the worker's public key (40 Z85 characters) or "
                       "its key file",
                       arg);
    }
    struct vt_keypair kp;
    char why[256];
    if (vt_key_file_read(arg, &kp, why, sizeof why) != 0)
        vt_usage_error(prog,
                       "bad --key: %s is not a key file written by `vantage-worker keygen` (%s)",
                       arg, why);
    bool ok = strcmp(kp.public_txt, zero_key) != 0;
    /* A file with a secret in it is the partner's own key file: it must not
     * have left their host, and enrolling its public half would hide that. */
    bool secret = kp.has_secret;
    if (ok)
        snprintf(out, 41, "%s", kp.public_txt);
    vt_keypair_wipe(&kp);
    if (secret)
        vt_usage_error(prog,
                       "bad --key: %s holds a SECRET key; give the public one (%s.pub); a "
                       "worker's secret key never leaves its host: if this one did, the partner "
                       "should make a new pair",
                       arg, arg);
    if (!ok)
        vt_usage_error(prog, "bad --key: %s holds no public key", arg);
}

/* The NAME argument of add and revoke. */
static const char *one_name(const char *prog, int argc, char **argv)
{
    const char *name = vt_control_one_arg(prog, argc, argv, "give the worker's NAME");
    if (!vt_name_valid(name))
        vt_usage_error(prog, "bad NAME '%s': use 1-64 of A-Z a-z 0-9 . _ -", name);
    return name;
}

static int worker_add(int argc, char **argv)
{
    const char *prog = "vantage worker add";
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'}, {"site", required_argument, NULL, 's'},
        {"asn", required_argument, NULL, 'a'}, {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    const char *control = NULL, *key_arg = NULL, *site = NULL;
    uint64_t asn = 0;
    bool have_asn = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:s:a:h", opts, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, &control))
            continue;
        switch (c) {
        case 'k':
            key_arg = optarg;
            break;
        case 's':
            site = optarg;
            break;
        case 'a':
            if (vt_parse_u64(optarg, 1, UINT32_MAX, &asn) != 0)
                vt_usage_error(prog, "bad --asn '%s': give an AS number, 1-4294967295", optarg);
            have_asn = true;
            break;
        case 'h':
            add_usage();
            return 0;
        }
    }
    const char *name = one_name(prog, argc, argv);
    if (!key_arg)
        vt_usage_error(prog, "--key is required: the worker's public key");
    if (!site)
        vt_usage_error(prog, "--site is required: the vantage label, e.g. the partner ISP");
    if (!vt_name_valid(site))
        vt_usage_error(prog, "bad --site '%s': use 1-64 of A-Z a-z 0-9 . _ -", site);
    char key[41];
    key_from_arg(prog, key_arg, key);

    json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "cmd", "worker.add", "name", name, "key", key,
                            "site", site);
    if (req && have_asn && json_object_set_new(req, "asn", json_integer((json_int_t)asn)) != 0) {
        json_decref(req);
        req = NULL;
    }
    vt_control_send(prog, control, req);
    printf("enrolled worker %s at site %s; it may connect now\n", name, site);
    vt_stdout_done();
    return 0;
}

static int add_worker_row(struct vt_table *t, json_t *w, int64_t now_ms)
{
    char asn[16] = "-", seen[40] = "never", rate[32] = "-", refused[48];
    json_t *a = json_object_get(w, "asn");
    if (json_is_integer(a) && json_integer_value(a) > 0)
        snprintf(asn, sizeof asn, "%" JSON_INTEGER_FORMAT, json_integer_value(a));
    json_t *ls = json_object_get(w, "last_seen_ms");
    if (json_is_integer(ls))
        vt_time_ago(json_integer_value(ls), now_ms, seen, sizeof seen);
    json_t *r = json_object_get(w, "rate");
    if (json_is_number(r) && json_is_string(json_object_get(w, "lease")))
        snprintf(rate, sizeof rate, "%.0f/s", json_number_value(r));
    snprintf(refused, sizeof refused, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(w, "quarantined")),
             json_integer_value(json_object_get(w, "dropped_optout")));
    const char *online = json_is_true(json_object_get(w, "revoked"))  ? "revoked"
                         : json_is_true(json_object_get(w, "online")) ? "yes"
                                                                      : "no";
    const char *row[] = {json_string_value(json_object_get(w, "name")),
                         json_string_value(json_object_get(w, "site")),
                         asn,
                         online,
                         seen,
                         json_string_value(json_object_get(w, "lease")),
                         rate,
                         refused};
    return vt_table_add(t, row);
}

static int worker_list(int argc, char **argv)
{
    static const char *const head[] = {"NAME",      "SITE",  "ASN",  "ONLINE",
                                       "LAST-SEEN", "LEASE", "RATE", "QUARANTINED/OPTOUT"};
    static const struct vt_list_command list = {
        .prog = "vantage worker list",
        .help = "usage: vantage worker list [--format table|jsonl | --json]\n"
                "\n"
                "Lists the enrolled workers: name, site, AS number, whether connected now,\n"
                "when last heard from, the shard it holds (campaign/run/shard) and its probe\n"
                "rate now. Revoked workers show ONLINE 'revoked'. QUARANTINED/OPTOUT counts\n"
                "its result batches kept aside unstored (a result outside its lease or its\n"
                "declared scope, or a lease unknown after a crash; meta quarantine/NAME/SEQ)\n"
                "and its results dropped because they lie in opted-out space.\n"
                "\n"
                "Options:\n" VT_LIST_FORMAT_HELP VT_CONTROL_HELP "\n"
                "Example:\n"
                "  vantage worker list\n",
        .request = "worker.list",
        .member = "workers",
        .reply_name = "worker list",
        .noun = "worker list",
        .empty = "no workers enrolled (add one: vantage worker add --help)\n",
        .ncols = 8,
        .head = head,
        .add_row = add_worker_row,
    };
    return vt_list_command_run(&list, argc, argv);
}

static void revoke_usage(void)
{
    printf("usage: vantage worker revoke NAME\n"
           "\n"
           "Revokes a worker: the coordinator stops admitting its key, ends its session\n"
           "and gives its shards to other workers (from their last checkpoint). To let\n"
           "it back in, enroll it again with `vantage worker add`.\n"
           "\n"
           "Options:\n" VT_CONTROL_HELP "\n"
           "Example:\n"
           "  vantage worker revoke isp-a-1\n");
}

static int worker_revoke(int argc, char **argv)
{
    const char *prog = "vantage worker revoke", *control = NULL;
    if (vt_control_leaf_opts(prog, argc, argv, &control, NULL)) {
        revoke_usage();
        return 0;
    }
    const char *name = one_name(prog, argc, argv);
    vt_control_send(prog, control, json_pack("{s:s, s:s}", "cmd", "worker.revoke", "name", name));
    printf("revoked worker %s\n", name);
    vt_stdout_done();
    return 0;
}

static const struct vt_command subcommands[] = {
    {"add", worker_add, "enroll a worker by its public key"},
    {"list", worker_list, "show enrolled workers, online or not, and what they do"},
    {"revoke", worker_revoke, "stop admitting a worker and take back its shards"},
};

static void worker_usage(FILE *out)
{
    vt_command_group_usage(out, "vantage worker",
                           "Enrolls and manages the partner workers this coordinator admits.\n",
                           subcommands, sizeof subcommands / sizeof subcommands[0],
                           "Examples:\n"
                           "  vantage worker add isp-a-1 --key worker.key.pub --site isp-a\n"
                           "  vantage worker list\n");
}

int vt_cmd_worker(int argc, char **argv)
{
    return vt_cli_dispatch("vantage worker", subcommands,
                           sizeof subcommands / sizeof subcommands[0], worker_usage, argc, argv);
}
