/* main.c: the `vantage-worker` program's entry point.
 *
 * Dispatches to one subcommand. Each subcommand lives in its own cmd_*.c file,
 * parses its own flags and returns the process exit status: 0 success,
 * 1 failure, 2 bad usage (DESIGN.md, "Command line"). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "keys.h"
#include "version.h"

static int cmd_keygen(int argc, char **argv)
{
    return vt_keygen_main("vantage-worker", argc, argv);
}

static const struct vt_command commands[] = {
    /* SCAN-PENDING {"scan", vt_cmd_scan, "SYN-scan targets from this host, as zmap does"}, */
    {"keygen", cmd_keygen, "create this worker's key pair; prints the public key"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vantage-worker COMMAND [OPTIONS]\n"
                 "\n"
                 "The vantage scanning worker: a stateless TCP SYN scanner that runs alone\n"
                 "or takes leases from a vantage coordinator.\n"
                 "\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n"
                 "Options:\n"
                 "  -h, --help     show this help (also 'vantage-worker COMMAND --help')\n"
                 "  -V, --version  show the version\n"
                 "\n"
                 "Example:\n"
                 "  vantage-worker scan 198.18.0.0/16 --ports 23,80 --rate 10000\n"
                 "\n"
                 "Documentation: docs/worker-scan.md, man vantage-worker.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("vantage-worker %s\n", VANTAGE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    if (cmd[0] == '-')
        vt_usage_error("vantage-worker", "unknown option '%s'", cmd);
    vt_usage_error("vantage-worker", "unknown command '%s'", cmd);
    return 2;
}
