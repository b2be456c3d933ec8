/* control_client.c: the operator CLI's side of the control socket. See
 * control_client.h and docs/control.md. */
#include "control_client.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "targets.h"
#include "zmtp.h"

int vt_control_init(struct vt_control *c, const char *flag, char *err, size_t errlen)
{
    const char *ep = flag;
    const char *from = "--control";
    if (!ep) {
        ep = getenv(VT_CONTROL_ENV);
        from = VT_CONTROL_ENV;
        if (!ep || !*ep) {
            ep = VT_CONTROL_DEFAULT;
            from = "the default";
        }
    }
    if (strncmp(ep, "ipc://", 6) != 0 || ep[6] == '\0') {
        snprintf(err, errlen, "bad control socket '%s' (from %s): give ipc://PATH", ep, from);
        return -1;
    }
    if (strlen(ep) >= sizeof c->endpoint) {
        snprintf(err, errlen, "control socket path too long (from %s)", from);
        return -1;
    }
    snprintf(c->endpoint, sizeof c->endpoint, "%s", ep);
    c->timeout_ms = VT_CONTROL_TIMEOUT_MS;
    return 0;
}

/* The socket file must exist and be writable by us before a connect makes
 * sense: checked first, the reason can say how to mend it. */
static int check_socket_file(const char *endpoint, char *err, size_t errlen)
{
    const char *path = endpoint + strlen("ipc://");
    struct stat st;
    if (path[0] == '@') /* Linux abstract namespace: nothing on disk to check */
        return 0;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            snprintf(err, errlen,
                     "no control socket at %s (is `vantage serve` running? set --control or "
                     "%s)",
                     path, VT_CONTROL_ENV);
        else
            snprintf(err, errlen, "cannot use control socket %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s is not a socket (set --control or %s to the daemon's ipc://PATH)",
                 path, VT_CONTROL_ENV);
        return -1;
    }
    if (access(path, W_OK) != 0) {
        snprintf(err, errlen,
                 "cannot use control socket %s: %s (it is mode 0600: run as the user that runs "
                 "`vantage serve`)",
                 path, strerror(errno));
        return -1;
    }
    return 0;
}

static void timeout_text(int ms, char *buf, size_t len)
{
    if (ms % 1000 == 0)
        snprintf(buf, len, "%d s", ms / 1000);
    else
        snprintf(buf, len, "%.1f s", ms / 1000.0);
}

/* Checks the reply's shape and turns {"ok": false} into err. */
static int check_reply(json_t *r, char *err, size_t errlen)
{
    if (!json_is_object(r)) {
        snprintf(err, errlen,
                 "the coordinator's reply is not a JSON object (daemon and CLI of "
                 "different versions?)");
        return -1;
    }
    json_t *ok = json_object_get(r, "ok");
    if (!json_is_boolean(ok)) {
        snprintf(err, errlen,
                 "the coordinator's reply has no \"ok\" (daemon and CLI of "
                 "different versions?)");
        return -1;
    }
    if (json_is_false(ok)) {
        const char *e = json_string_value(json_object_get(r, "error"));
        snprintf(err, errlen, "%s",
                 e && *e ? e : "the coordinator refused the request and gave no reason");
        return -1;
    }
    return 0;
}

/* The CLI speaks ZMTP itself (zmtp.h says why): one connection per request,
 * as a REQ socket whose request went unanswered cannot be reused anyway. */
struct vt_control_pending {
    const struct vt_control *c;
    struct vt_zmtp z;
};

/* The hint every "cannot reach the daemon" message ends with. */
#define RUNNING_HINT "(is `vantage serve` running? set --control or " VT_CONTROL_ENV ")"

struct vt_control_pending *vt_control_begin(const struct vt_control *c, json_t *req, char *err,
                                            size_t errlen)
{
    if (check_socket_file(c->endpoint, err, errlen) != 0)
        return NULL;
    char *text = json_dumps(req, JSON_COMPACT);
    struct vt_control_pending *p = text ? malloc(sizeof *p) : NULL;
    if (!p) {
        snprintf(err, errlen, "%s",
                 text ? "out of memory for a request" : "cannot encode the request as JSON");
        free(text);
        return NULL;
    }
    p->c = c;
    char why[512], tbuf[32];
    const char *path = c->endpoint + strlen("ipc://");
    if (vt_zmtp_connect(&p->z, path, c->timeout_ms, VT_CONTROL_MAX_MSGSIZE, why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot reach the coordinator at %s: %s " RUNNING_HINT, c->endpoint,
                 why);
        goto fail;
    }
    if (vt_zmtp_send(&p->z, text, strlen(text), c->timeout_ms, why, sizeof why) != 0) {
        timeout_text(c->timeout_ms, tbuf, sizeof tbuf);
        snprintf(err, errlen, "cannot send to the coordinator at %s within %s: %s " RUNNING_HINT,
                 c->endpoint, tbuf, why);
        vt_zmtp_close(&p->z);
        goto fail;
    }
    free(text);
    return p;
fail:
    free(p);
    free(text);
    return NULL;
}

int vt_control_end_data(struct vt_control_pending *p, json_t **reply, char **data, size_t *len,
                        char *err, size_t errlen)
{
    *reply = NULL;
    if (data) {
        *data = NULL;
        *len = 0;
    }
    if (!p)
        return -1;
    const struct vt_control *c = p->c;
    struct vt_zmtp_frame f[2];
    size_t n = 0;
    bool late;
    char why[512], tbuf[32];
    int rc = vt_zmtp_recv(&p->z, f, 2, &n, c->timeout_ms, &late, why, sizeof why);
    vt_zmtp_close(&p->z); /* one request per connection */
    free(p);
    if (rc != 0) {
        timeout_text(c->timeout_ms, tbuf, sizeof tbuf);
        if (late)
            snprintf(err, errlen, "no answer from the coordinator at %s within %s " RUNNING_HINT,
                     c->endpoint, tbuf);
        else
            snprintf(err, errlen, "cannot read the coordinator's reply: %s", why);
        return -1;
    }
    json_error_t jerr;
    json_t *r = json_loadb(f[0].data, f[0].len, 0, &jerr);
    free(f[0].data);
    char *second = n == 2 ? f[1].data : NULL;
    size_t second_len = n == 2 ? f[1].len : 0;
    if (!r) {
        snprintf(err, errlen, "the coordinator's reply is not JSON: %s", jerr.text);
        rc = -1;
    } else {
        rc = check_reply(r, err, errlen);
    }
    if (rc == 0 && data && !second) {
        snprintf(err, errlen,
                 "the coordinator's reply has no second frame (daemon and CLI of different "
                 "versions?)");
        rc = -1;
    }
    if (rc != 0) {
        json_decref(r);
        free(second);
        return -1;
    }
    if (data) {
        *data = second;
        *len = second_len;
    } else {
        free(second); /* a second frame this caller has no use for */
    }
    *reply = r;
    return 0;
}

int vt_control_end(struct vt_control_pending *p, json_t **reply, char *err, size_t errlen)
{
    return vt_control_end_data(p, reply, NULL, NULL, err, errlen);
}

void vt_control_cancel(struct vt_control_pending *p)
{
    if (!p)
        return;
    vt_zmtp_close(&p->z); /* the reply, when it comes, has nowhere to go */
    free(p);
}

int vt_control_call(const struct vt_control *c, json_t *req, json_t **reply, char *err,
                    size_t errlen)
{
    *reply = NULL;
    struct vt_control_pending *p = vt_control_begin(c, req, err, errlen);
    return p ? vt_control_end(p, reply, err, errlen) : -1;
}

void vt_control_setup(struct vt_control *c, const char *prog, const char *flag)
{
    char err[600];
    if (vt_control_init(c, flag, err, sizeof err) != 0)
        vt_usage_error(prog, "%s", err);
}

json_t *vt_control_request(const struct vt_control *c, json_t *req)
{
    char err[1024];
    json_t *reply;
    if (!req)
        vt_fatal("vantage", "cannot build the request (is every argument valid UTF-8 text?)");
    int rc = vt_control_call(c, req, &reply, err, sizeof err);
    json_decref(req);
    if (rc != 0)
        vt_fatal("vantage", "%s", err);
    return reply;
}

bool vt_control_opt(const char *prog, int c, char **argv, const char **control)
{
    switch (c) {
    case VT_OPT_CONTROL:
        *control = optarg;
        return true;
    case ':':
        vt_usage_error(prog, "%s needs a value", argv[optind - 1]);
    case '?':
        vt_usage_error(prog, "unknown option '%s'", argv[optind - 1]);
    default:
        return false;
    }
}

bool vt_control_leaf_opts(const char *prog, int argc, char **argv, const char **control, bool *json)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* Without json, --json is an unknown option like any other. */
    const struct option *table = json ? opts : opts + 1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, json ? ":jh" : ":h", table, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, control))
            continue;
        if (c == 'j')
            *json = true;
        if (c == 'h')
            return true;
    }
    return false;
}

const char *vt_control_one_arg(const char *prog, int argc, char **argv, const char *missing)
{
    if (optind >= argc)
        vt_usage_error(prog, "%s", missing);
    if (optind + 1 < argc)
        vt_usage_error(prog, "unexpected argument '%s'", argv[optind + 1]);
    return argv[optind];
}

void vt_control_send(const char *prog, const char *control, json_t *req)
{
    struct vt_control ctl;
    vt_control_setup(&ctl, prog, control);
    json_decref(vt_control_request(&ctl, req));
}

json_t *vt_reply_array(json_t *reply, const char *member, const char *reply_name)
{
    json_t *a = json_object_get(reply, member);
    if (!json_is_array(a)) {
        json_decref(reply);
        vt_fatal("vantage",
                 "the coordinator's %s has no \"%s\" array (daemon and CLI of different "
                 "versions?)",
                 reply_name ? reply_name : "reply", member);
    }
    return a;
}

/* Reads exactly n decimal digits at *p. */
static int fixed_digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return -1;
        x = x * 10 + (ch - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

static int parse_rfc3339(const char *s, int64_t *out_ms)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off_min = 0;
    if (fixed_digits(&p, 4, &y) || *p++ != '-' || fixed_digits(&p, 2, &mo) || *p++ != '-' ||
        fixed_digits(&p, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (*p != '\0') {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -1;
        p++;
        if (fixed_digits(&p, 2, &h) || *p++ != ':' || fixed_digits(&p, 2, &mi) || *p++ != ':' ||
            fixed_digits(&p, 2, &sec))
            return -1;
        if (h > 23 || mi > 59 || sec > 60) /* 60: a leap second, taken as :59 */
            return -1;
        if (sec == 60)
            sec = 59;
        if (*p == '.') {
            p++;
            int digits = 0;
            if (*p < '0' || *p > '9')
                return -1;
            for (; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3)
                    ms = ms * 10 + (*p - '0');
            for (; digits < 3; digits++)
                ms *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (fixed_digits(&p, 2, &oh) || *p++ != ':' || fixed_digits(&p, 2, &om) || oh > 23 ||
                om > 59)
                return -1;
            off_min = sign * (oh * 60 + om);
        } else {
            return -1; /* a time without a zone would mean whatever the local zone is */
        }
        if (*p != '\0')
            return -1;
    }
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
        return -1;
    *out_ms = ((int64_t)t - (int64_t)off_min * 60) * 1000 + ms;
    return 0;
}

int vt_time_parse(const char *s, int64_t now_ms, int64_t *out_ms)
{
    if (!s || !*s)
        return -1;
    if (!strcmp(s, "now")) {
        *out_ms = now_ms;
        return 0;
    }
    if (strlen(s) >= 10 && s[4] == '-')
        return parse_rfc3339(s, out_ms);
    /* A duration ago, but not a bare number: "1764290000" is more likely an
     * epoch time than 56 years ago. */
    size_t n = strlen(s);
    if (s[n - 1] >= '0' && s[n - 1] <= '9')
        return -1;
    uint64_t secs;
    if (vt_parse_duration(s, &secs) != 0 || secs > (uint64_t)INT64_MAX / 1000 ||
        (int64_t)(secs * 1000) > now_ms)
        return -1;
    *out_ms = now_ms - (int64_t)secs * 1000;
    return 0;
}

const char *vt_time_format(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%" PRId64 "ms", ms);
    return buf;
}

const char *vt_time_ago(int64_t ms, int64_t now_ms, char *buf, size_t len)
{
    int64_t d = (now_ms - ms) / 1000;
    if (d < 0 || d >= 30 * 86400)
        return vt_time_format(ms, buf, len);
    if (d < 2)
        snprintf(buf, len, "just now");
    else if (d < 120)
        snprintf(buf, len, "%" PRId64 "s ago", d);
    else if (d < 7200)
        snprintf(buf, len, "%" PRId64 "m ago", d / 60);
    else if (d < 2 * 86400)
        snprintf(buf, len, "%" PRId64 "h ago", d / 3600);
    else
        snprintf(buf, len, "%" PRId64 "d ago", d / 86400);
    return buf;
}

const char *vt_duration_format(uint64_t s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%" PRIu64 "s", s);
    else if (s < 3600)
        snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
    return buf;
}

int64_t vt_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool vt_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

int vt_cidr_parse(const char *s, char *out, size_t outlen)
{
    char addr[16];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    uint64_t bits = 32;
    uint32_t ip;
    if (alen == 0 || alen >= sizeof addr)
        return -1;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (vt_ip_parse(addr, &ip) != 0)
        return -1;
    if (slash && vt_parse_u64(slash + 1, 0, 32, &bits) != 0)
        return -1;
    uint32_t mask = bits == 0 ? 0 : ~(uint32_t)0 << (32 - bits);
    if (ip & ~mask)
        return -1;
    char buf[16];
    snprintf(out, outlen, "%s/%u", vt_ip_str(ip, buf), (unsigned)bits);
    return 0;
}

struct vt_table {
    size_t ncols, nrows, cap;
    char **cells; /* row-major, nrows + 1 rows (the first is the header) */
};

struct vt_table *vt_table_new(size_t ncols, const char *const *headers)
{
    struct vt_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    if (vt_table_add(t, headers) != 0) {
        free(t->cells);
        free(t);
        return NULL;
    }
    t->nrows = 0; /* the header is not a row */
    return t;
}

int vt_table_add(struct vt_table *t, const char *const *cells)
{
    size_t used = (t->nrows + (t->cells ? 1 : 0)) * t->ncols;
    if (used + t->ncols > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16 * t->ncols;
        while (cap < used + t->ncols)
            cap *= 2;
        char **c = realloc(t->cells, cap * sizeof *c);
        if (!c)
            return -1;
        t->cells = c;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        t->cells[used + i] = strdup(cells[i] ? cells[i] : "-");
        if (!t->cells[used + i]) {
            for (size_t j = 0; j < i; j++)
                free(t->cells[used + j]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

size_t vt_table_rows(const struct vt_table *t)
{
    return t->nrows;
}

int vt_table_print(const struct vt_table *t, FILE *out, const char *indent)
{
    size_t total = t->nrows + 1, width[32] = {0};
    size_t ncols = t->ncols < 32 ? t->ncols : 32;
    for (size_t r = 0; r < total; r++)
        for (size_t c = 0; c < ncols; c++) {
            size_t w = strlen(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < total; r++) {
        if (fputs(indent ? indent : "", out) == EOF)
            return -1;
        for (size_t c = 0; c < ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            int rc = c + 1 < ncols ? fprintf(out, "%-*s  ", (int)width[c], cell)
                                   : fprintf(out, "%s\n", cell);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

void vt_table_free(struct vt_table *t)
{
    if (!t)
        return;
    size_t n = (t->nrows + 1) * t->ncols;
    for (size_t i = 0; i < n; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

int vt_table_print_array(FILE *out, const char *indent, size_t ncols, const char *const *head,
                         json_t *array, vt_row_fn *add_row, int64_t now_ms)
{
    struct vt_table *t = vt_table_new(ncols, head);
    int rc = t ? 0 : -1;
    size_t i;
    json_t *e;
    json_array_foreach(array, i, e)
    {
        if (rc == 0)
            rc = add_row(t, e, now_ms) != 0 ? -1 : 0;
    }
    if (rc == 0)
        rc = vt_table_print(t, out, indent);
    vt_table_free(t);
    return rc;
}

int vt_list_command_run(const struct vt_list_command *lc, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"format", required_argument, NULL, 'f'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum { TABLE, JSONL, JSON } fmt = TABLE;
    const char *control = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":jf:h", opts, NULL)) != -1) {
        if (vt_control_opt(lc->prog, c, argv, &control))
            continue;
        if (c == 'j')
            fmt = JSON;
        if (c == 'f') {
            if (!strcmp(optarg, "table"))
                fmt = TABLE;
            else if (!strcmp(optarg, "jsonl"))
                fmt = JSONL;
            else
                vt_usage_error(lc->prog, "bad --format '%s': give table or jsonl", optarg);
        }
        if (c == 'h') {
            fputs(lc->help, stdout);
            return 0;
        }
    }
    if (optind < argc)
        vt_usage_error(lc->prog, "unexpected argument '%s'", argv[optind]);
    struct vt_control ctl;
    vt_control_setup(&ctl, lc->prog, control);
    json_t *reply = vt_control_request(&ctl, json_pack("{s:s}", "cmd", lc->request));
    json_t *list = vt_reply_array(reply, lc->member, lc->reply_name);
    int rc = 0;
    if (fmt == JSON) {
        rc = vt_json_print(stdout, list);
    } else if (fmt == JSONL) {
        /* one object a line, compact, as the daemon sent it: for jq and scripts */
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e)
        {
            if (json_dumpf(e, stdout, JSON_COMPACT) != 0 || fputc('\n', stdout) == EOF)
                rc = -1;
        }
    } else if (json_array_size(list) == 0) {
        rc = fputs(lc->empty, stdout) == EOF ? -1 : 0;
    } else {
        rc =
            vt_table_print_array(stdout, NULL, lc->ncols, lc->head, list, lc->add_row, vt_now_ms());
    }
    json_decref(reply);
    if (rc != 0 || fflush(stdout) != 0)
        vt_fatal("vantage", "cannot write the %s to stdout", lc->noun);
    return 0;
}

void vt_command_group_usage(FILE *out, const char *prog, const char *about,
                            const struct vt_command *cmds, size_t n, const char *examples)
{
    fprintf(out, "usage: %s COMMAND [OPTIONS]\n\n%s\nCommands:\n", prog, about);
    vt_cli_list_commands(out, cmds, n);
    fprintf(out,
            "\n"
            "Each command takes --control ipc://PATH (default: $VANTAGE_CONTROL, else\n"
            "ipc:///run/vantage/control) and --help.\n"
            "\n"
            "%s"
            "\n"
            "Documentation: docs/operator-guide.md.\n",
            examples);
}

int vt_json_print(FILE *out, json_t *j)
{
    json_t *copy = json_is_object(j) ? json_copy(j) : json_incref(j);
    if (!copy)
        return -1;
    if (json_is_object(copy))
        json_object_del(copy, "ok");
    int rc = json_dumpf(copy, out, JSON_INDENT(2));
    json_decref(copy);
    if (rc != 0 || fputc('\n', out) == EOF)
        return -1;
    return 0;
}

void vt_stdout_done(void)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        vt_fatal("vantage", "cannot write to stdout");
}
