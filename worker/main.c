/* main.c: the `vantage-worker` program's entry point.
 *
 * Dispatches to one subcommand. Each subcommand lives in its own cmd_*.c file,
 * parses its own flags and returns the process exit status: 0 success,
 * 1 failure, 2 bad usage (docs/partner-guide.md). */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "keys.h"

static int cmd_keygen(int argc, char **argv)
{
    return vt_keygen_main("vantage-worker", argc, argv);
}

static int cmd_pubkey(int argc, char **argv)
{
    return vt_pubkey_main("vantage-worker", argc, argv);
}

static const struct vt_command commands[] = {
    {"scan", vt_cmd_scan, "SYN-scan targets from this host, as zmap does"},
    {"run", vt_cmd_run, "work for a vantage coordinator: take leases, stream results"},
    {"keygen", cmd_keygen, "create this worker's key pair; prints the public key"},
    {"pubkey", cmd_pubkey, "print the public key of the secret key on stdin"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vantage-worker COMMAND [OPTIONS]\n"
                 "\n"
                 "The vantage scanning worker: a stateless TCP SYN scanner that runs alone\n"
                 "or takes leases from a vantage coordinator.\n"
                 "\n"
                 "Commands:\n");
    vt_cli_list_commands(out, commands, sizeof commands / sizeof commands[0]);
    fprintf(out, "\n"
                 "Options:\n"
                 "  -h, --help     show this help (also 'vantage-worker help COMMAND' or\n"
                 "                 'vantage-worker COMMAND --help')\n"
                 "  -V, --version  show the version\n"
                 "\n"
                 "Example:\n"
                 "  vantage-worker scan 198.18.0.0/16 --ports 23,80 --rate 10000\n"
                 "\n"
                 "Documentation: docs/worker-scan.md, man vantage-worker.\n");
}

int main(int argc, char **argv)
{
    return vt_cli_dispatch("vantage-worker", commands, sizeof commands / sizeof commands[0], usage,
                           argc, argv);
}
