/* control_client.h: the operator CLI's side of the control socket (docs/control.md).
 *
 * `vantage worker|campaign|blocklist|query` each turn their flags into one JSON
 * request, send it over a REQ socket to the daemon's ipc:// control socket and
 * print the reply. This file holds what they share: finding the socket
 * (--control, else VANTAGE_CONTROL, else the default path), one request → one
 * reply with a time bound, turning CLI values into protocol values (times,
 * keys, names, CIDRs) and back (times for humans), aligned text tables, and
 * the shapes their commands have in common: a leaf that takes only --control
 * and --help (and perhaps --json) and one argument, a `list` leaf, and the
 * help of a command group.
 *
 * Every call opens a fresh socket and closes it before returning: a REQ socket
 * whose request went unanswered cannot be reused, and the CLI makes few calls. */
#ifndef VANTAGE_CONTROL_CLIENT_H
#define VANTAGE_CONTROL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define VT_CONTROL_DEFAULT     "ipc:///run/vantage/control"
#define VT_CONTROL_ENV         "VANTAGE_CONTROL"
#define VT_CONTROL_TIMEOUT_MS  10000
#define VT_CONTROL_MAX_MSGSIZE (4 * 1024 * 1024)

/* Where and how to reach the daemon. timeout_ms is a field, not a constant,
 * so that tests can shorten it. */
struct vt_control {
    char endpoint[512]; /* "ipc://PATH" */
    int timeout_ms;
};

/* Picks the endpoint: flag (from --control) if non-NULL, else $VANTAGE_CONTROL,
 * else VT_CONTROL_DEFAULT, and checks it is ipc://PATH. 0, or -1 with err set
 * (a usage error: the caller exits 2). */
int vt_control_init(struct vt_control *c, const char *flag, char *err, size_t errlen);

/* Sends req (not consumed) and waits for the reply. On {"ok": true, ...}
 * returns 0 with *reply set (the caller json_decref()s it). Otherwise -1 with
 * *reply NULL and err set to one line: the daemon's own "error" text, or why
 * there was no usable answer (no socket file, no permission, timeout, a reply
 * that is not a JSON object). */
int vt_control_call(const struct vt_control *c, json_t *req, json_t **reply, char *err,
                    size_t errlen);

/* vt_control_call in two halves, so that a client can send its next request
 * and work on the last reply while the daemon makes the next one: begin
 * sends req (not consumed) on a socket of its own and returns it, or NULL
 * with err set; end waits for that reply as vt_control_call does, and frees
 * the pending request whatever the outcome (NULL: returns -1). */
struct vt_control_pending;
struct vt_control_pending *vt_control_begin(const struct vt_control *c, json_t *req, char *err,
                                            size_t errlen);
int vt_control_end(struct vt_control_pending *p, json_t **reply, char *err, size_t errlen);
/* vt_control_end for a reply of two frames (docs/control.md: `query`):
 * *data gets the second (malloc'ed, NUL-terminated, *len bytes without the
 * NUL) when the reply says ok; a reply that should have one and has not is
 * an error. */
int vt_control_end_data(struct vt_control_pending *p, json_t **reply, char **data, size_t *len,
                        char *err, size_t errlen);
/* Drops a pending request without waiting for its reply (NULL: nothing). */
void vt_control_cancel(struct vt_control_pending *p);

/* vt_control_init and vt_control_call for a command's main path: a bad endpoint is a usage
 * error (exit 2, naming prog); a failed call prints "vantage: <why>" and
 * exits 1. req is consumed; the reply is the caller's to json_decref(). */
void vt_control_setup(struct vt_control *c, const char *prog, const char *flag);
json_t *vt_control_request(const struct vt_control *c, json_t *req);

/* Option handling every leaf command shares. Give --control the value
 * VT_OPT_CONTROL in its struct option table and put ':' first in its short
 * options; then call vt_control_opt() first for each getopt_long() result: it
 * takes --control, exits 2 on a missing value or an unknown option, and
 * returns false for anything else. VT_CONTROL_HELP is the matching --help text. */
enum { VT_OPT_CONTROL = 1000 };
bool vt_control_opt(const char *prog, int c, char **argv, const char **control);
#define VT_CONTROL_HELP                                                                            \
    "      --control ipc://PATH  the daemon's control socket (default:\n"                          \
    "                            $VANTAGE_CONTROL, else ipc:///run/vantage/control)\n"             \
    "  -h, --help                show this help\n"

/* The whole option parsing of a leaf command whose only options are
 * --control, --help and, when json is non-NULL, -j/--json (which sets *json).
 * Returns true as soon as --help is seen: the caller prints its usage and
 * returns 0. Otherwise false, with optind at the first argument. */
bool vt_control_leaf_opts(const char *prog, int argc, char **argv, const char **control,
                          bool *json);

/* The one argument left after the options (`worker revoke NAME`). With none,
 * exits 2 saying missing ("give the worker's NAME"); with more, naming the
 * first one too many. */
const char *vt_control_one_arg(const char *prog, int argc, char **argv, const char *missing);

/* vt_control_setup() from control, then vt_control_request() of req
 * (consumed), dropping the reply: all the talking of a command that only
 * says it was done. */
void vt_control_send(const char *prog, const char *control, json_t *req);

/* The array named member in reply. If the reply has none, frees the reply
 * and exits 1: "the coordinator's <reply_name> has no "<member>" array",
 * with reply_name "reply" unless the command names it otherwise. */
json_t *vt_reply_array(json_t *reply, const char *member, const char *reply_name);

/* Parses a time given on the command line into Unix milliseconds: RFC 3339
 * ("2026-11-28T10:00:00Z", "2026-11-28T10:00:00.250+02:00"), a date
 * ("2026-11-28", midnight UTC), a duration ago ("2h", "1d12h", "90s"; a
 * bare number is refused as ambiguous), or "now". now_ms is the present.
 * 0, or -1. */
int vt_time_parse(const char *s, int64_t now_ms, int64_t *out_ms);

/* Formats Unix milliseconds as RFC 3339 UTC with seconds ("2026-11-28T10:00:00Z").
 * buf needs at least 32 bytes. Returns buf. */
const char *vt_time_format(int64_t ms, char *buf, size_t len);

/* "just now", "42s ago", "5m ago", "3h ago", "2d ago"; older than 30 days (or
 * in the future), the RFC 3339 time. buf needs at least 32 bytes. */
const char *vt_time_ago(int64_t ms, int64_t now_ms, char *buf, size_t len);

/* Seconds as "42s", "5m03s", "2h10m", "3d04h". */
const char *vt_duration_format(uint64_t s, char *buf, size_t len);

/* Milliseconds since the Unix epoch, now. */
int64_t vt_now_ms(void);

/* A worker or campaign name: 1 to 64 of [A-Za-z0-9._-]. */
bool vt_name_valid(const char *s);

/* One CIDR ("198.18.0.0/16", host bits zero) or one address (taken as /32).
 * Writes the canonical "a.b.c.d/n" into out (at least 19 bytes). 0, or -1. */
int vt_cidr_parse(const char *s, char *out, size_t outlen);

/* A text table: add cells row by row, then print with every column as wide
 * as its widest cell (the last column is not padded). Small lists only: it
 * keeps every cell in memory. */
struct vt_table;
struct vt_table *vt_table_new(size_t ncols, const char *const *headers);
/* Appends a row of ncols strings (copied; NULL prints as "-"). 0, or -1 on ENOMEM. */
int vt_table_add(struct vt_table *t, const char *const *cells);
size_t vt_table_rows(const struct vt_table *t);
/* 0, or -1 if writing failed. */
int vt_table_print(const struct vt_table *t, FILE *out, const char *indent);
void vt_table_free(struct vt_table *t);

/* Formats one object of a reply's list as a table row and vt_table_add()s
 * it: 0, or -1. now_ms is the present, for cells such as "5m ago". */
typedef int vt_row_fn(struct vt_table *t, json_t *elem, int64_t now_ms);

/* A table of ncols columns headed head, one row per element of array (as
 * add_row makes it), printed with vt_table_print(). 0, or -1 if memory or
 * writing failed. */
int vt_table_print_array(FILE *out, const char *indent, size_t ncols, const char *const *head,
                         json_t *array, vt_row_fn *add_row, int64_t now_ms);

/* A `list` leaf command (`vantage worker list [--format table|jsonl]`): it
 * takes --format (table, the default, or jsonl: one compact object a line),
 * --json (the array, indented), --control and --help, sends {"cmd": request}
 * and prints the reply's array member so, or for a table with nothing in it
 * the line empty. VT_LIST_FORMAT_HELP is the --help text of the first two. */
#define VT_LIST_FORMAT_HELP                                                                        \
    "  -f, --format FMT          table (default) or jsonl: one JSON object a line\n"               \
    "  -j, --json                print the daemon's list as one JSON array\n"
struct vt_list_command {
    const char *prog;       /* "vantage worker list", for messages */
    const char *help;       /* the --help text */
    const char *request;    /* "worker.list" */
    const char *member;     /* the reply's array of objects: "workers" */
    const char *reply_name; /* how a reply without it is named; NULL: "reply" */
    const char *noun;       /* "worker list": "cannot write the worker list to stdout" */
    const char *empty;      /* the line (with its newline) an empty list prints */
    size_t ncols;
    const char *const *head;
    vt_row_fn *add_row;
};

/* Runs one: the exit status, or it exits itself on a usage error (2) or a
 * failure (1). */
int vt_list_command_run(const struct vt_list_command *lc, int argc, char **argv);

/* The help of a command group (`vantage worker --help`): the usage line,
 * about, the commands with their summaries, the line on --control and --help
 * every command takes, examples, and where the documentation is. about and
 * examples end with a newline; examples begins with its heading. */
struct vt_command;
void vt_command_group_usage(FILE *out, const char *prog, const char *about,
                            const struct vt_command *cmds, size_t n, const char *examples);

/* Prints j (a reply, or part of one) as indented JSON and a newline, without
 * the "ok" member. 0, or -1 if writing failed. */
int vt_json_print(FILE *out, json_t *j);

/* Flushes stdout; if anything written to it failed (a full disk, a closed
 * pipe), prints "vantage: cannot write to stdout" and exits 1. */
void vt_stdout_done(void);

#endif
