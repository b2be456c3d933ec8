/* metrics_http.c: /metrics over libmicrohttpd, and the exposition text.
 * See metrics_http.h.
 *
 * The listening socket is made here, not by libmicrohttpd, so that a port
 * in use fails the daemon's start with the errno that says so; MHD then
 * serves on it with one internal thread (a handful of scrapers, bounded
 * connections and a short timeout: a slow client cannot hold it). */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- the text ---- */

/* HELP text escapes \ and newline; a label value also ". */
static void put_escaped(struct vt_buf *t, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            vt_buf_str(t, "\\\\");
        else if (*s == '\n')
            vt_buf_str(t, "\\n");
        else if (*s == '"' && quote)
            vt_buf_str(t, "\\\"");
        else
            vt_buf_add(t, s, 1);
    }
}

void vt_metrics_family(struct vt_buf *t, const char *name, const char *type, const char *help)
{
    vt_buf_str(t, "# HELP ");
    vt_buf_str(t, name);
    vt_buf_str(t, " ");
    put_escaped(t, help, false);
    vt_buf_str(t, "\n# TYPE ");
    vt_buf_str(t, name);
    vt_buf_str(t, " ");
    vt_buf_str(t, type);
    vt_buf_str(t, "\n");
}

void vt_metrics_sample(struct vt_buf *t, const char *name, const char *const *labels, double value)
{
    vt_buf_str(t, name);
    if (labels && labels[0]) {
        vt_buf_str(t, "{");
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
            if (i)
                vt_buf_str(t, ",");
            vt_buf_str(t, labels[i]);
            vt_buf_str(t, "=\"");
            put_escaped(t, labels[i + 1], true);
            vt_buf_str(t, "\"");
        }
        vt_buf_str(t, "}");
    }
    char num[64];
    if (isnan(value))
        snprintf(num, sizeof num, " NaN\n");
    else if (isinf(value))
        snprintf(num, sizeof num, " %s\n", value > 0 ? "+Inf" : "-Inf");
    else if (value == floor(value) && fabs(value) < 9e15) /* counts: exact integers */
        snprintf(num, sizeof num, " %" PRId64 "\n", (int64_t)value);
    else
        snprintf(num, sizeof num, " %.9g\n", value);
    vt_buf_str(t, num);
}

void vt_metrics_one(struct vt_buf *t, const char *name, const char *type, const char *help,
                    double value)
{
    vt_metrics_family(t, name, type, help);
    vt_metrics_sample(t, name, NULL, value);
}

static const double bucket_le[VT_HISTOGRAM_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
static const char *const bucket_text[VT_HISTOGRAM_BUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1",    "0.25",  "0.5",    "1",     "2.5",  "5"};

void vt_histogram_observe(struct vt_histogram *h, double seconds)
{
    if (!(seconds >= 0)) /* NaN, or a clock that went back */
        seconds = 0;
    for (int i = 0; i < VT_HISTOGRAM_BUCKETS; i++)
        if (seconds <= bucket_le[i]) {
            h->in[i]++;
            break;
        }
    h->count++;
    h->sum += seconds;
}

void vt_metrics_histogram(struct vt_buf *t, const char *name, const char *help,
                          const struct vt_histogram *h)
{
    char bucket[128], sum[128], count[128];
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    snprintf(sum, sizeof sum, "%s_sum", name);
    snprintf(count, sizeof count, "%s_count", name);
    vt_metrics_family(t, name, "histogram", help);
    uint64_t below = 0;
    for (int i = 0; i < VT_HISTOGRAM_BUCKETS; i++) {
        below += h->in[i];
        vt_metrics_sample(t, bucket, (const char *const[]){"le", bucket_text[i], NULL},
                          (double)below);
    }
    vt_metrics_sample(t, bucket, (const char *const[]){"le", "+Inf", NULL}, (double)h->count);
    vt_metrics_sample(t, sum, NULL, h->sum);
    vt_metrics_sample(t, count, NULL, (double)h->count);
}

/* ---- the server ---- */

struct vt_metrics_http {
    struct MHD_Daemon *mhd;
    int fd;
    pthread_mutex_t mu; /* text: the loop publishes, the HTTP thread copies */
    char *text;
    size_t len;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **con_cls)
{
    struct vt_metrics_http *h = cls;
    (void)version, (void)upload, (void)con_cls;
    if (*upload_len) { /* a body: not ours to read */
        *upload_len = 0;
        return MHD_YES;
    }
    unsigned code = MHD_HTTP_OK;
    struct MHD_Response *r;
    static const char not_found[] = "vantage: the metrics are at /metrics\n";
    static const char not_allowed[] = "vantage: /metrics answers GET only\n";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        code = MHD_HTTP_METHOD_NOT_ALLOWED;
        r = MHD_create_response_from_buffer(sizeof not_allowed - 1, (void *)not_allowed,
                                            MHD_RESPMEM_PERSISTENT);
    } else if (strcmp(url, "/metrics") != 0) {
        code = MHD_HTTP_NOT_FOUND;
        r = MHD_create_response_from_buffer(sizeof not_found - 1, (void *)not_found,
                                            MHD_RESPMEM_PERSISTENT);
    } else {
        pthread_mutex_lock(&h->mu);
        r = MHD_create_response_from_buffer(h->len, h->text ? h->text : "", MHD_RESPMEM_MUST_COPY);
        pthread_mutex_unlock(&h->mu);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
    }
    if (!r)
        return MHD_NO;
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return rc;
}

static struct vt_metrics_http *fail(int *status, int st, char *err, size_t errlen, const char *fmt,
                                    ...) __attribute__((format(printf, 5, 6)));
static struct vt_metrics_http *fail(int *status, int st, char *err, size_t errlen, const char *fmt,
                                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    *status = st;
    return NULL;
}

/* addr as a socket address; 0, or -1 with err set (bad usage). */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
                      size_t errlen)
{
    static const char how[] = "give IP:PORT, e.g. 127.0.0.1:9100 or [::1]:9100";
    const char *colon = strrchr(addr, ':');
    uint64_t port;
    int st;
    memset(ss, 0, sizeof *ss);
    if (!colon || colon == addr || vt_parse_u64(colon + 1, 1, 65535, &port) != 0) {
        fail(&st, 2, err, errlen, "bad --metrics '%s': no address, or a port not in 1-65535; %s",
             addr, how);
        return -1;
    }
    char host[INET6_ADDRSTRLEN + 2];
    size_t n = (size_t)(colon - addr);
    if (n >= sizeof host) {
        fail(&st, 2, err, errlen, "bad --metrics '%s': %s", addr, how);
        return -1;
    }
    memcpy(host, addr, n);
    host[n] = '\0';
    if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        host[n - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) {
            fail(&st, 2, err, errlen, "bad --metrics '%s': not an IPv6 address; %s", addr, how);
            return -1;
        }
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *sslen = sizeof *a;
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
        fail(&st, 2, err, errlen,
             "bad --metrics '%s': '%s' is not an IP address (no host names); %s", addr, host, how);
        return -1;
    }
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *sslen = sizeof *a;
    return 0;
}

int vt_metrics_http_check(const char *addr, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    return parse_addr(addr, &ss, &len, err, errlen);
}

struct vt_metrics_http *vt_metrics_http_start(const char *addr, int *status, char *err,
                                              size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (parse_addr(addr, &ss, &sslen, err, errlen) != 0) {
        *status = 2;
        return NULL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(status, 1, err, errlen, "cannot serve --metrics %s: %s", addr, strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 16) != 0) {
        int e = errno;
        close(fd);
        return fail(status, 1, err, errlen, "cannot serve --metrics on %s: %s%s", addr, strerror(e),
                    e == EADDRINUSE      ? " (another program has that port: ss -ltnp shows which)"
                    : e == EADDRNOTAVAIL ? " (no interface of this host has that address)"
                    : e == EACCES        ? " (a port below 1024 needs privilege: use 9100 or so)"
                                         : "");
    }
    struct vt_metrics_http *h = calloc(1, sizeof *h);
    if (!h) {
        close(fd);
        return fail(status, 1, err, errlen, "out of memory");
    }
    h->fd = fd;
    pthread_mutex_init(&h->mu, NULL);
    h->mhd =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer, h,
                         MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!h->mhd) {
        pthread_mutex_destroy(&h->mu);
        close(fd);
        free(h);
        return fail(status, 1, err, errlen,
                    "cannot serve --metrics on %s: libmicrohttpd did not start", addr);
    }
    return h;
}

void vt_metrics_http_publish(struct vt_metrics_http *h, const struct vt_buf *t)
{
    if (!h || t->oom)
        return;
    char *copy = malloc(t->len + 1);
    if (!copy)
        return; /* the last text stays */
    memcpy(copy, t->p ? t->p : "", t->len);
    copy[t->len] = '\0';
    pthread_mutex_lock(&h->mu);
    char *old = h->text;
    h->text = copy;
    h->len = t->len;
    pthread_mutex_unlock(&h->mu);
    free(old);
}

void vt_metrics_http_stop(struct vt_metrics_http **hp)
{
    struct vt_metrics_http *h = *hp;
    if (!h)
        return;
    MHD_stop_daemon(h->mhd);
    close(h->fd); /* given with MHD_OPTION_LISTEN_SOCKET: ours to close */
    pthread_mutex_destroy(&h->mu);
    free(h->text);
    free(h);
    *hp = NULL;
}
