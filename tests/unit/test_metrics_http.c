/* test_metrics_http.c: proto/metrics_http.c, the /metrics of both daemons:
 * the exposition text (HELP and TYPE before every family, label values
 * escaped as the format asks, integers exact, histograms cumulative with
 * +Inf, _sum and _count), the server on loopback (GET /metrics answers the
 * text published last, with the format's content type; other paths 404,
 * other methods 405), and the refusals of a bad --metrics value (exit 2) or
 * a port in use (exit 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics_http.h"

static void test_families_and_escaping(void **state)
{
    (void)state;
    struct vt_buf t = {0};
    vt_metrics_one(&t, "vantage_things_total", "counter", "Things, with a \\ and a\nnewline.", 42);
    vt_metrics_family(&t, "vantage_campaign_found", "gauge", "Found.");
    vt_metrics_sample(&t, "vantage_campaign_found",
                      (const char *const[]){"campaign", "a\"b\\c\nd", "state", "open", NULL},
                      12345678901234.0);
    vt_metrics_sample(&t, "vantage_campaign_found", NULL, 0.25);
    assert_false(t.oom);
    assert_string_equal(t.p, "# HELP vantage_things_total Things, with a \\\\ and a\\nnewline.\n"
                             "# TYPE vantage_things_total counter\n"
                             "vantage_things_total 42\n"
                             "# HELP vantage_campaign_found Found.\n"
                             "# TYPE vantage_campaign_found gauge\n"
                             "vantage_campaign_found{campaign=\"a\\\"b\\\\c\\nd\",state=\"open\"} "
                             "12345678901234\n"
                             "vantage_campaign_found 0.25\n");
    vt_buf_reset(&t);
    assert_int_equal(t.len, 0);
    vt_buf_free(&t);
}

static void test_histogram_is_cumulative(void **state)
{
    (void)state;
    struct vt_histogram h = {0};
    vt_histogram_observe(&h, 0.0001);
    vt_histogram_observe(&h, 0.003);
    vt_histogram_observe(&h, 0.003);
    vt_histogram_observe(&h, 60);
    vt_histogram_observe(&h, -1); /* a clock that went back counts as 0 */
    struct vt_buf t = {0};
    vt_metrics_histogram(&t, "vantage_sync_seconds", "Syncs.", &h);
    assert_non_null(strstr(t.p, "# TYPE vantage_sync_seconds histogram\n"));
    assert_non_null(strstr(t.p, "vantage_sync_seconds_bucket{le=\"0.0005\"} 2\n"));
    assert_non_null(strstr(t.p, "vantage_sync_seconds_bucket{le=\"0.0025\"} 2\n"));
    assert_non_null(strstr(t.p, "vantage_sync_seconds_bucket{le=\"0.005\"} 4\n"));
    assert_non_null(strstr(t.p, "vantage_sync_seconds_bucket{le=\"5\"} 4\n"));
    assert_non_null(strstr(t.p, "vantage_sync_seconds_bucket{le=\"+Inf\"} 5\n"));
    assert_non_null(strstr(t.p, "vantage_sync_seconds_sum 60.0061\n"));
    assert_non_null(strstr(t.p, "vantage_sync_seconds_count 5\n"));
    vt_buf_free(&t);
}

/* A port on loopback nothing listens on now. */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* One HTTP/1.0 request; the whole answer into buf. */
static void http(int port, const char *request, char *buf, size_t len)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(s, request, strlen(request)), (ssize_t)strlen(request));
    size_t n = 0;
    ssize_t r;
    while (n + 1 < len && (r = read(s, buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(s);
}

static void test_serves_what_was_published(void **state)
{
    (void)state;
    int port = free_port(), st = 0;
    char addr[64], err[512], reply[8192];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    struct vt_metrics_http *h = vt_metrics_http_start(addr, &st, err, sizeof err);
    assert_non_null(h);
    http(port, "GET /metrics HTTP/1.0\r\n\r\n", reply, sizeof reply);
    assert_non_null(strstr(reply, " 200 "));

    struct vt_buf t = {0};
    vt_metrics_one(&t, "vantage_up", "gauge", "Up.", 1);
    vt_metrics_http_publish(h, &t);
    http(port, "GET /metrics HTTP/1.0\r\n\r\n", reply, sizeof reply);
    assert_non_null(strstr(reply, "text/plain; version=0.0.4"));
    assert_non_null(strstr(reply, "\r\n\r\n# HELP vantage_up Up.\n# TYPE vantage_up gauge\n"
                                  "vantage_up 1\n"));
    http(port, "GET /other HTTP/1.0\r\n\r\n", reply, sizeof reply);
    assert_non_null(strstr(reply, " 404 "));
    http(port, "DELETE /metrics HTTP/1.0\r\n\r\n", reply, sizeof reply);
    assert_non_null(strstr(reply, " 405 "));

    /* the port is taken now: a second server says so, exit 1 */
    assert_null(vt_metrics_http_start(addr, &st, err, sizeof err));
    assert_int_equal(st, 1);
    assert_non_null(strstr(err, "Address already in use"));
    vt_metrics_http_stop(&h);
    assert_null(h);
    vt_buf_free(&t);
}

static void test_bad_values_are_usage_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "9100",      "localhost:9100", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
        "[::1:9100", "[nope]:9100",    ":9100",      "1.2.3.4:x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = 0;
        char err[512];
        assert_null(vt_metrics_http_start(bad[i], &st, err, sizeof err));
        assert_int_equal(st, 2);
        assert_non_null(strstr(err, "bad --metrics"));
        assert_null(strchr(err, '\n'));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families_and_escaping),
        cmocka_unit_test(test_histogram_is_cumulative),
        cmocka_unit_test(test_serves_what_was_published),
        cmocka_unit_test(test_bad_values_are_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
