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
    if (optind >= argc)
        vt_usage_error(prog, "give the network as a CIDR, e.g. 203.0.113.0/24");
    if (optind + 1 < argc)
        vt_usage_error(prog, "unexpected argument '%s'", argv[optind + 1]);
    if (vt_cidr_parse(argv[optind], out, 24) != 0)
        vt_usage_error(prog,
                       "bad CIDR '%s': give a.b.c.d/N with the host bits zero, e.g. "
                       "203.0.113.0/24, or one address",
                       argv[optind]);
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
    struct vt_control ctl;
    vt_control_setup(&ctl, prog, control);
    json_decref(vt_control_request(&ctl, json_pack("{s:s, s:s, s:s}", "cmd", "blocklist.add",
                                                   "cidr", cidr, "reason", reason)));
    printf("blocked %s: no campaign probes it from now on\n", cidr);
    vt_stdout_done();
    return 0;
}

static void list_usage(void)
{
    printf("usage: vantage blocklist list [--json]\n"
           "\n"
           "Lists the opt-out list: each network, when it was added, and why. The\n"
           "daemon's --blocklist file (or the built-in IANA special-purpose list) is\n"
           "applied as well and is not shown here.\n"
           "\n"
           "Options:\n"
           "  -j, --json                print the daemon's list as JSON\n" VT_CONTROL_HELP "\n"
           "Example:\n"
           "  vantage blocklist list\n");
}

static int blocklist_list(int argc, char **argv)
{
    const char *prog = "vantage blocklist list";
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL;
    bool json = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, &control))
            continue;
        if (c == 'j')
            json = true;
        if (c == 'h') {
            list_usage();
            return 0;
        }
    }
    if (optind < argc)
        vt_usage_error(prog, "unexpected argument '%s'", argv[optind]);
    struct vt_control ctl;
    vt_control_setup(&ctl, prog, control);
    json_t *reply = vt_control_request(&ctl, json_pack("{s:s}", "cmd", "blocklist.list"));
    json_t *list = json_object_get(reply, "entries");
    if (!json_is_array(list)) {
        json_decref(reply);
        vt_fatal("vantage", "the coordinator's reply has no \"entries\" array (daemon and CLI of "
                            "different versions?)");
    }
    int rc;
    if (json) {
        rc = vt_json_print(stdout, list);
    } else if (json_array_size(list) == 0) {
        rc = printf("the opt-out list is empty\n") < 0;
    } else {
        static const char *const head[] = {"CIDR", "ADDED", "REASON"};
        struct vt_table *t = vt_table_new(3, head);
        size_t i;
        json_t *e;
        rc = !t;
        json_array_foreach(list, i, e)
        {
            char added[40] = "-";
            json_t *a = json_object_get(e, "added_ms");
            if (json_is_integer(a))
                vt_time_format(json_integer_value(a), added, sizeof added);
            const char *row[] = {json_string_value(json_object_get(e, "cidr")), added,
                                 json_string_value(json_object_get(e, "reason"))};
            if (t)
                rc |= vt_table_add(t, row) != 0;
        }
        if (t)
            rc |= vt_table_print(t, stdout, NULL) != 0;
        vt_table_free(t);
    }
    json_decref(reply);
    if (rc != 0 || fflush(stdout) != 0)
        vt_fatal("vantage", "cannot write the opt-out list to stdout");
    return 0;
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
    const char *prog = "vantage blocklist remove";
    static const struct option opts[] = {
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, &control))
            continue;
        if (c == 'h') {
            remove_usage();
            return 0;
        }
    }
    char cidr[24];
    one_cidr(prog, argc, argv, cidr);
    struct vt_control ctl;
    vt_control_setup(&ctl, prog, control);
    json_decref(
        vt_control_request(&ctl, json_pack("{s:s, s:s}", "cmd", "blocklist.remove", "cidr", cidr)));
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
    fprintf(out, "usage: vantage blocklist COMMAND [OPTIONS]\n"
                 "\n"
                 "The opt-out list: networks whose owners asked not to be scanned. Every\n"
                 "campaign leaves them out, on top of the daemon's --blocklist file.\n"
                 "\n"
                 "Commands:\n");
    vt_cli_list_commands(out, subcommands, sizeof subcommands / sizeof subcommands[0]);
    fprintf(out, "\n"
                 "Each command takes --control ipc://PATH (default: $VANTAGE_CONTROL, else\n"
                 "ipc:///run/vantage/control) and --help.\n"
                 "\n"
                 "Example:\n"
                 "  vantage blocklist add 203.0.113.0/24 --reason 'abuse@example.net'\n"
                 "\n"
                 "Documentation: docs/operator-guide.md.\n");
}

int vt_cmd_blocklist(int argc, char **argv)
{
    return vt_cli_dispatch("vantage blocklist", subcommands,
                           sizeof subcommands / sizeof subcommands[0], blocklist_usage, argc, argv);
}
