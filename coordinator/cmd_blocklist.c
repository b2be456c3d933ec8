/* cmd_blocklist.c: `vantage blocklist add|list|remove`, the opt-out list.
 *
 * Networks whose owners asked not to be scanned. The daemon subtracts them
 * from every campaign's space (on top of the --blocklist file it started
 * with) and tells the workers. Each entry keeps its history: who asked
 * (--by, by default the user running this command), when, and why; adding
 * an entry again adds to its history. These commands check the range here
 * and send blocklist.add, blocklist.list or blocklist.remove
 * (docs/control.md). */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"
#include "targets.h"

#define WARN_ABOVE (1u << 24) /* addresses in a /8: more than this is warned of */

/* The one range argument of add and remove, canonical (as the daemon keys it). */
static void one_range(const char *prog, int argc, char **argv, char out[32], uint64_t *size)
{
    const char *arg = vt_control_one_arg(
        prog, argc, argv, "give the network: a CIDR, a range a.b.c.d-e.f.g.h or one address");
    uint32_t first, last;
    char err[256];
    if (vt_range_parse(arg, &first, &last, err, sizeof err) != 0)
        vt_usage_error(prog, "%s", err);
    vt_range_format(first, last, out, 32);
    *size = (uint64_t)last - first + 1;
}

static void add_usage(void)
{
    printf("usage: vantage blocklist add TARGET --reason TEXT [--by NAME] [--force]\n"
           "\n"
           "Adds a network to the opt-out list: no campaign probes it from now on,\n"
           "including campaigns already running. The entry keeps its history: who asked,\n"
           "when, and why, so that the next operator knows whom to ask before taking it\n"
           "off. Adding an entry that is on the list already adds the new reason to its\n"
           "history; nothing is overwritten.\n"
           "\n"
           "TARGET is one CIDR (a.b.c.d/N, host bits zero), one range\n"
           "(a.b.c.d-e.f.g.h) or one address, as --targets takes them. An entry larger\n"
           "than a /8 is added with a warning; the whole IPv4 space (0.0.0.0/0) only\n"
           "with --force, since it stops every campaign (to halt scanning for a while,\n"
           "pause the campaigns instead).\n"
           "\n"
           "Options:\n"
           "      --reason TEXT         who asked, and how to reach them (required)\n"
           "      --by NAME             who recorded it (default: the user running this\n"
           "                            command)\n"
           "      --force               allow the whole IPv4 space\n" VT_CONTROL_HELP "\n"
           "Examples:\n"
           "  vantage blocklist add 203.0.113.0/24 --reason 'abuse@example.net, #4711'\n"
           "  vantage blocklist add 192.0.2.10-192.0.2.20 --reason 'ticket 812' --by alice\n");
}

static int blocklist_add(int argc, char **argv)
{
    const char *prog = "vantage blocklist add";
    enum { OPT_REASON = 1100, OPT_BY, OPT_FORCE };
    static const struct option opts[] = {
        {"reason", required_argument, NULL, OPT_REASON},
        {"by", required_argument, NULL, OPT_BY},
        {"force", no_argument, NULL, OPT_FORCE},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL, *reason = NULL, *by = NULL;
    bool force = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, &control))
            continue;
        if (c == OPT_REASON)
            reason = optarg;
        if (c == OPT_BY)
            by = optarg;
        if (c == OPT_FORCE)
            force = true;
        if (c == 'h') {
            add_usage();
            return 0;
        }
    }
    char entry[32];
    uint64_t size;
    one_range(prog, argc, argv, entry, &size);
    if (!reason || !*reason)
        vt_usage_error(prog, "--reason TEXT is required: who asked, and how to reach them");
    if (strchr(reason, '\n') || strlen(reason) > 1024)
        vt_usage_error(prog, "bad --reason: keep it to one line of at most 1024 characters");
    if (!by) {
        struct passwd *pw = getpwuid(getuid());
        by = pw ? pw->pw_name : "";
    }
    if (strlen(by) > 64 || strpbrk(by, "\n\t"))
        vt_usage_error(prog, "bad --by: give a name of at most 64 characters");
    if (size > 0xffffffffull && !force)
        vt_usage_error(prog,
                       "%s is the whole IPv4 space: every campaign would stop. To halt "
                       "scanning, pause the campaigns; to opt out everything, add --force",
                       entry);
    if (size > WARN_ABOVE)
        fprintf(stderr,
                "vantage blocklist add: warning: %s covers %llu addresses, more than a /8; "
                "adding it all the same\n",
                entry, (unsigned long long)size);
    json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "cmd", "blocklist.add", "cidr", entry, "reason",
                            reason, "by", by);
    if (req && force)
        json_object_set_new(req, "force", json_true());
    vt_control_send(prog, control, req);
    printf("blocked %s: no campaign probes it from now on\n", entry);
    vt_stdout_done();
    return 0;
}

/* One row per request that added the entry: the entry on its first. */
static int add_entry_rows(struct vt_table *t, json_t *e, int64_t now_ms)
{
    (void)now_ms;
    const char *entry = json_string_value(json_object_get(e, "cidr"));
    json_t *history = json_object_get(e, "history"), *h;
    size_t i;
    json_array_foreach(history, i, h)
    {
        char when[40] = "-";
        json_t *at = json_object_get(h, "at_ms");
        if (json_is_integer(at) && json_integer_value(at) > 0)
            vt_time_format(json_integer_value(at), when, sizeof when);
        const char *by = json_string_value(json_object_get(h, "by"));
        const char *row[] = {i == 0 ? entry : "", when, by && *by ? by : "-",
                             json_string_value(json_object_get(h, "reason"))};
        if (vt_table_add(t, row) != 0)
            return -1;
    }
    if (json_array_size(history) == 0) {
        const char *row[] = {entry, "-", "-", json_string_value(json_object_get(e, "reason"))};
        return vt_table_add(t, row);
    }
    return 0;
}

static int blocklist_list(int argc, char **argv)
{
    static const char *const head[] = {"ENTRY", "WHEN", "BY", "REASON"};
    static const struct vt_list_command list = {
        .prog = "vantage blocklist list",
        .help = "usage: vantage blocklist list [--format table|jsonl | --json]\n"
                "\n"
                "Lists the opt-out list in address order: each entry with its history, one\n"
                "line per request that added it (when, by whom, why). The daemon's\n"
                "--blocklist file (or the built-in IANA special-purpose list) is applied as\n"
                "well and is not shown here.\n"
                "\n"
                "Options:\n" VT_LIST_FORMAT_HELP VT_CONTROL_HELP "\n"
                "Examples:\n"
                "  vantage blocklist list\n"
                "  vantage blocklist list --format jsonl | jq -r .cidr\n",
        .request = "blocklist.list",
        .member = "entries",
        .noun = "opt-out list",
        .empty = "the opt-out list is empty\n",
        .ncols = 4,
        .head = head,
        .add_row = add_entry_rows,
    };
    return vt_list_command_run(&list, argc, argv);
}

static void remove_usage(void)
{
    printf("usage: vantage blocklist remove TARGET\n"
           "\n"
           "Removes an entry from the opt-out list, with its history (give it as it was\n"
           "added, or as `blocklist list` shows it). Campaigns started afterwards may\n"
           "probe it again.\n"
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
    char entry[32];
    uint64_t size;
    one_range(prog, argc, argv, entry, &size);
    vt_control_send(prog, control,
                    json_pack("{s:s, s:s}", "cmd", "blocklist.remove", "cidr", entry));
    printf("unblocked %s\n", entry);
    vt_stdout_done();
    return 0;
}

static const struct vt_command subcommands[] = {
    {"add", blocklist_add, "never probe a network again (an opt-out)"},
    {"list", blocklist_list, "show the opt-out list and its history"},
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
