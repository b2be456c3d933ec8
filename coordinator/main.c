/* main.c: the `vantage` program's entry point: the coordinator daemon and the
 * operator's command line.
 *
 * Dispatches to one subcommand; each returns the process exit status: 0 success,
 * 1 failure, 2 bad usage (DESIGN.md, "Command line"). */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "keys.h"

static int cmd_keygen(int argc, char **argv)
{
    return vt_keygen_main("vantage", argc, argv);
}

static const struct vt_command commands[] = {
    {"serve", vt_cmd_serve, "run the coordinator daemon"},
    {"keygen", cmd_keygen, "create the coordinator's key pair; prints the public key"},
    {"worker", vt_cmd_worker, "enroll, list and revoke partner workers"},
    {"campaign", vt_cmd_campaign, "start, follow, pause and cancel scan campaigns"},
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
                 "  -h, --help     show this help (also 'vantage COMMAND --help')\n"
                 "  -V, --version  show the version\n"
                 "\n"
                 "Documentation: docs/architecture.md.\n");
}

int main(int argc, char **argv)
{
    return vt_cli_dispatch("vantage", commands, sizeof commands / sizeof commands[0], usage, argc,
                           argv);
}
