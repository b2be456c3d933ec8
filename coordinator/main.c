/* main.c: the `vantage` program's entry point: the coordinator daemon and the
 * operator's command line.
 *
 * Dispatches to one subcommand; each returns the process exit status: 0 success,
 * 1 failure, 2 bad usage (DESIGN.md, "Command line"). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "keys.h"
#include "version.h"

static int cmd_keygen(int argc, char **argv)
{
    return vt_keygen_main("vantage", argc, argv);
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"keygen", cmd_keygen, "create the coordinator's key pair; prints the public key"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vantage COMMAND [OPTIONS]\n"
                 "\n"
                 "The vantage coordinator and operator command line: leases scan shards to\n"
                 "enrolled workers and keeps the consolidated results.\n"
                 "\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n"
                 "Options:\n"
                 "  -h, --help     show this help (also 'vantage COMMAND --help')\n"
                 "  -V, --version  show the version\n"
                 "\n"
                 "Documentation: docs/architecture.md.\n");
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
        printf("vantage %s\n", VANTAGE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    if (cmd[0] == '-')
        vt_usage_error("vantage", "unknown option '%s'", cmd);
    vt_usage_error("vantage", "unknown command '%s'", cmd);
    return 2;
}
