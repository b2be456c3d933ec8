/* cmd_blocklist.c: `vantage blocklist add|list|remove`, the opt-out list.
 *
 * Networks whose owners asked not to be scanned. The daemon subtracts them
 * from every campaign's space (on top of the --blocklist file it started
 * with) and tells the workers. These commands check the CIDR here and send
 * blocklist.add, blocklist.list or blocklist.remove (docs/control.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"

/* The one CIDR argument of add and remove, canonical. */
static void one_cidr(const char *prog, int argc, char **argv, char out[24])
{
    const char *arg =
        vt_control_one_arg(prog, argc, argv, "give the network as a CIDR, e.g. 203.0.113.0/24");
    if (vt_cidr_parse(arg, out, 24) != 0)
        vt_usage_error(prog,
                       "bad CIDR '%s': give a.b.c.d/N with the host bits zero, e.g. "
                       "203.0.113.0/24, or one address",
                       arg);
}

static void add_usage(void)
{
    printf(
        "usage: vantage blocklist add CIDR --reason TEXT\n"
        "\n"
        "Adds a network to the opt-out list: no campaign probes it from now on,\n"
        "including campaigns already running. The reason is kept with the entry so\n"
        "that the next operator knows who asked and when to reconsider.\n"
        "\n"
        "CIDR is a.b.c.d/N with the host bits zero, or one address (taken as /32).\n"
        "\n"
        "Options:\n"
        "  -r, --reason TEXT         who asked, and how to reach them (required)\n" VT_CONTROL_HELP
        "\n"
        "Example:\n"
        "  vantage blocklist add 203.0.113.0/24 --reason 'abuse@example.net, #4711'\n");
}

static int blocklist_add(int argc, char **argv)
{
    const char *prog = "vantage blocklist add";
    static const struct option opts[] = {
        {"reason", required_argument, NULL, 'r'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL, *reason = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":r:h", opts, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, &control))
            continue;
        if (c == 'r')
            reason = optarg;
        if (c == 'h') {
            add_usage();
            return 0;
        }
    }
    char cidr[24];
    one_cidr(prog, argc, argv, cidr);
    if (!reason || !*reason)
        vt_usage_error(prog, "--reason TEXT is required: who asked, and how to reach them");
    if (strchr(reason, '\n'))
        vt_usage_error(prog, "bad --reason: keep it to one line");
    vt_control_send(
        prog, control,
        json_pack("{s:s, s:s, s:s}", "cmd", "blocklist.add", "cidr", cidr, "reason", reason));
    printf("blocked %s: no campaign probes it from now on\n", cidr);
    vt_stdout_done();
    return 0;
}

static int add_entry_row(struct vt_table *t, json_t *e, int64_t now_ms)
{
    (void)now_ms;
    char added[40] = "-";
    json_t *a = json_object_get(e, "added_ms");
    if (json_is_integer(a))
        vt_time_format(json_integer_value(a), added, sizeof added);
    const char *row[] = {json_string_value(json_object_get(e, "cidr")), added,
                         json_string_value(json_object_get(e, "reason"))};
    return vt_table_add(t, row);
}

static int blocklist_list(int argc, char **argv)
{
    static const char *const head[] = {"CIDR", "ADDED", "REASON"};
    static const struct vt_list_command list = {
        .prog = "vantage blocklist list",
        .help = "usage: vantage blocklist list [--json]\n"
                "\n"
                "Lists the opt-out list: each network, when it was added, and why. The\n"
                "daemon's --blocklist file (or the built-in IANA special-purpose list) is\n"
                "applied as well and is not shown here.\n"
                "\n"
                "Options:\n"
                "  -j, --json                print the daemon's list as JSON\n" VT_CONTROL_HELP "\n"
                "Example:\n"
                "  vantage blocklist list\n",
        .request = "blocklist.list",
        .member = "entries",
        .noun = "opt-out list",
        .empty = "the opt-out list is empty\n",
        .ncols = 3,
        .head = head,
        .add_row = add_entry_row,
    };
    return vt_list_command_run(&list, argc, argv);
}

static void remove_usage(void)
{
    printf("usage: vantage blocklist remove CIDR\n"
           "\n"
           "Removes a network from the opt-out list (give it exactly as `blocklist list`\n"
           "shows it). Campaigns started afterwards may probe it again.\n"
           "\n"
           "Options:\n" VT_CONTROL_HELP "\n"
           "Example:\n"
           "  vantage blocklist remove 203.0.113.0/24\n");
}

static int blocklist_remove(int argc, char **argv)
{
    const char *prog = "vantage blocklist remove", *control = NULL;
    if (vt_control_leaf_opts(prog, argc, argv, &control, NULL)) {
        remove_usage();
        return 0;
    }
    char cidr[24];
    one_cidr(prog, argc, argv, cidr);
    vt_control_send(prog, control,
                    json_pack("{s:s, s:s}", "cmd", "blocklist.remove", "cidr", cidr));
    printf("unblocked %s\n", cidr);
    vt_stdout_done();
    return 0;
}

static const struct vt_command subcommands[] = {
    {"add", blocklist_add, "never probe a network again (an opt-out)"},
    {"list", blocklist_list, "show the opt-out list"},
    {"remove", blocklist_remove, "take a network off the opt-out list"},
};

static void blocklist_usage(FILE *out)
{
    vt_command_group_usage(
        out, "vantage blocklist",
        "The opt-out list: networks whose owners asked not to be scanned. Every\n"
        "campaign leaves them out, on top of the daemon's --blocklist file.\n",
        subcommands, sizeof subcommands / sizeof subcommands[0],
        "Example:\n"
        "  vantage blocklist add 203.0.113.0/24 --reason 'abuse@example.net'\n");
}

int vt_cmd_blocklist(int argc, char **argv)
{
    return vt_cli_dispatch("vantage blocklist", subcommands,
                           sizeof subcommands / sizeof subcommands[0], blocklist_usage, argc, argv);
}
