/* commands.h: the operator subcommands of `vantage`, one cmd_*.c file each.
 * Each takes argv with argv[0] = the subcommand's name and returns the exit
 * status (0 ok, 1 failure, 2 bad usage). They talk to the daemon through
 * control_client.h. */
#ifndef VANTAGE_COORD_COMMANDS_H
#define VANTAGE_COORD_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

int vt_cmd_serve(int argc, char **argv); /* serve.c: the daemon */
int vt_cmd_worker(int argc, char **argv);
int vt_cmd_campaign(int argc, char **argv);
int vt_cmd_blocklist(int argc, char **argv);
int vt_cmd_query(int argc, char **argv);
int vt_cmd_relabel(int argc, char **argv);
int vt_cmd_report(int argc, char **argv);
int vt_cmd_export(int argc, char **argv);

/* count_client.c: a `count` request (docs/control.md) paged to its end; the
 * result object, or exits 1 with the daemon's reason. filters holds cmd,
 * what and the query filters. */
struct vt_control;
json_t *vt_count_devices(struct vt_control *ctl, json_t *filters);
/* The same without exiting: NULL with err set to the daemon's reason or why
 * there was no usable answer. progress (if not NULL) gets the records
 * examined so far after each page. cmd and what are set if missing. With
 * what "services", service (not NULL) gets every row of the replies'
 * "services" in order, and a non-zero return stops with that error. */
json_t *vt_count_devices_try(const struct vt_control *ctl, json_t *filters,
                             void (*progress)(void *arg, uint64_t examined),
                             int (*service)(void *arg, json_t *row), void *arg, char *err,
                             size_t errlen);

/* Output formats of `vantage query`, exposed for their unit tests. */
enum vt_query_format { VT_QUERY_TABLE, VT_QUERY_JSONL, VT_QUERY_CSV };

/* query_client.c: the filter flags of query, report and export, and the
 * paging of `query` replies. */
#define VT_FILTER_LABELS_MAX 16
struct vt_filter_flags {
    const char *campaign, *state, *vantage; /* argv strings */
    char prefix[24];                        /* canonical CIDR, or "" */
    uint64_t port;
    int64_t since, until;
    bool has_since, has_until;
    const char *labels[VT_FILTER_LABELS_MAX];
    size_t nlabels;
};
/* Takes getopt's c if it is a filter: 'c' --campaign, 'p' --port, 'x'
 * --prefix, 's' --state, 'S' --since, 'U' --until, 'v' --vantage, 'l'
 * --label. true if taken (a bad value exits 2 with one line), false if c is
 * another option. */
bool vt_filter_opt(const char *prog, int c, const char *arg, int64_t now,
                   struct vt_filter_flags *f);
/* --format: table (if allowed), jsonl or csv; exits 2 otherwise. */
enum vt_query_format vt_format_opt(const char *prog, const char *arg, bool table);
/* The filters as the request's members (docs/control.md, `query`); exits 2
 * if --since is after --until. */
json_t *vt_filter_request(const char *prog, const struct vt_filter_flags *f);
/* Sends req (a `query`, kept) page after page, calling for every row line
 * (if not NULL) with its JSON text and newline as the daemon wrote it, else
 * row with it parsed (non-zero from either: a write failed, exit 1), and
 * page after each reply (may be NULL). */
struct vt_control;
void vt_query_pages(struct vt_control *ctl, json_t *req, int (*row)(void *arg, json_t *row),
                    int (*line)(void *arg, const char *text, size_t len), void (*page)(void *arg),
                    void *arg);
/* One reply's rows frame (data, len bytes): count lines, each one JSON
 * object ended by a newline, to line or, parsed, to row, as
 * vt_query_pages does. 0, or -1 with err (a frame that is cut, holds
 * another count or a line that is not an object; a callback's failure). */
int vt_query_rows_read(const char *data, size_t len, json_int_t count,
                       int (*row)(void *arg, json_t *row),
                       int (*line)(void *arg, const char *text, size_t len), void *arg, char *err,
                       size_t errlen);
/* A line of vt_query_pages to stdout, as it is (--format jsonl). */
int vt_query_print_line(void *arg, const char *text, size_t len);

/* Prints the header line a format needs (table and csv; nothing for jsonl). */
int vt_query_print_header(FILE *out, enum vt_query_format fmt);
/* Prints one row of a `query` reply (docs/control.md) in fmt: jsonl is the
 * object exactly as the daemon sent it, compact, on one line; csv quotes a
 * field only when it must and joins vantages with '|'. 0, or -1 on a write error. */
int vt_query_print_row(FILE *out, enum vt_query_format fmt, json_t *row);
/* One CSV field, quoted (RFC 4180) only when it holds a comma, a quote or a
 * line break. 0, or -1 on a write error. */
int vt_csv_field(FILE *out, const char *s);

/* The human view of a campaign status object (docs/control.md), as
 * `campaign status` prints it and `--watch` redraws it. 0, or -1 on a write error. */
int vt_campaign_status_print(FILE *out, json_t *status, int64_t now_ms);

#endif
