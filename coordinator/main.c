/* main.c: the `vantage` program's entry point: the operator's command line,
 * and `vantage serve`, the coordinator daemon.
 *
 * Dispatches to one subcommand; each returns the process exit status: 0 success,
 * 1 failure, 2 bad usage (docs/operator-guide.md).
 *
 * The daemon is a program of its own, vantage-serve (serve_main.c), that
 * `vantage serve` becomes by exec, keeping its process (systemd's main PID
 * for Type=notify): the commands an operator types link only what talking to
 * the daemon needs (libzmq, jansson, CZMQ for key files) and start in a few
 * milliseconds, instead of loading RocksDB, libmicrohttpd and the rest on
 * every `vantage query` (docs/performance.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "keys.h"

static int cmd_keygen(int argc, char **argv)
{
    return vt_keygen_main("vantage", argc, argv);
}

static int cmd_pubkey(int argc, char **argv)
{
    return vt_pubkey_main("vantage", argc, argv);
}

#ifndef VT_SERVE_PATH
#define VT_SERVE_PATH "/usr/libexec/vantage/vantage-serve"
#endif

/* vantage-serve beside this program (a build tree, or a tree installed by
 * hand), else where the package puts it, with the same arguments (ps shows
 * "vantage-serve --config …"). */
static int cmd_serve(int argc, char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 32];
    const char *daemon = VT_SERVE_PATH;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(path, sizeof path, "%s/vantage-serve", self);
            if (access(path, X_OK) == 0)
                daemon = path;
        }
    }
    argv[0] = "vantage-serve";
    execv(daemon, argv);
    fprintf(stderr,
            "vantage: cannot run the daemon %s: %s (is the vantage package installed whole? "
            "reinstall it)\n",
            daemon, strerror(errno));
    return 1;
}

static const struct vt_command commands[] = {
    {"serve", cmd_serve, "run the coordinator daemon"},
    {"keygen", cmd_keygen, "create the coordinator's key pair; prints the public key"},
    {"pubkey", cmd_pubkey, "print the public key of the secret key on stdin"},
    {"worker", vt_cmd_worker, "enroll, list and revoke partner workers"},
    {"campaign", vt_cmd_campaign, "start, follow, pause and cancel scan campaigns"},
    {"query", vt_cmd_query, "print the consolidated results: filter, count, group"},
    {"report", vt_cmd_report, "the exposed services of a period per AS or prefix, with devices"},
    {"export", vt_cmd_export, "stream every stored record of a period as JSON Lines or CSV"},
    {"blocklist", vt_cmd_blocklist, "the opt-out list: networks never to probe"},
    {"relabel", vt_cmd_relabel, "identify stored banners again with newer rules"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vantage COMMAND [OPTIONS]\n"
                 "\n"
                 "The vantage coordinator and operator command line: leases scan shards to\n"
                 "enrolled workers and keeps the consolidated results.\n"
                 "\n"
                 "Commands:\n");
    vt_cli_list_commands(out, commands, sizeof commands / sizeof commands[0]);
    fprintf(out, "\n"
                 "Options:\n"
                 "  -h, --help     show this help (also 'vantage help COMMAND' or\n"
                 "                 'vantage COMMAND --help')\n"
                 "  -V, --version  show the version\n"
                 "\n"
                 "The operator commands (worker, campaign, query, report, export, blocklist,\n"
                 "relabel) talk to the daemon over its control socket: --control ipc://PATH,\n"
                 "or VANTAGE_CONTROL, else ipc:///run/vantage/control.\n"
                 "\n"
                 "Examples:\n"
                 "  vantage worker add isp-a-1 --key worker.key.pub --site isp-a\n"
                 "  vantage campaign start iot --targets 198.18.0.0/16 --ports 23,80\n"
                 "  vantage campaign status iot --watch\n"
                 "  vantage query --campaign iot --state open --format csv\n"
                 "  vantage query --label telnet-login --group-by label\n"
                 "  vantage report --by asn --pfx2as routeviews.pfx2as --since 7d\n"
                 "\n"
                 "Documentation: docs/operator-guide.md, docs/architecture.md.\n");
}

int main(int argc, char **argv)
{
    return vt_cli_dispatch("vantage", commands, sizeof commands / sizeof commands[0], usage, argc,
                           argv);
}
