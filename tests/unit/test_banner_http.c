/* test_banner_http.c: worker/banner_http.c without sockets. What a user would
 * notice: the Server header, the realm and the page title come out right
 * however the answer is framed or split, logins are flagged, and hostile
 * answers (huge heads, bad chunks, garbage) end the parse quietly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "banner_module.h"

struct run {
    void *state;
    enum vt_bm_verdict v;
    size_t fed;
    struct vt_grab g;
};

static void run_all(struct run *r, const char *in, size_t n, size_t split, bool eof)
{
    memset(r, 0, sizeof(*r));
    r->state = malloc(vt_banner_http.state_size);
    assert_non_null(r->state);
    vt_banner_http.init(r->state);
    if (split == 0)
        split = n;
    while (r->fed < n && r->v == VT_BM_MORE) {
        size_t k = n - r->fed < split ? n - r->fed : split;
        uint8_t out[16];
        struct vt_bm_out o = {out, 0, sizeof(out)};
        r->v = vt_banner_http.on_data(r->state, (const uint8_t *)in + r->fed, k, &o);
        assert_int_equal(o.len, 0);
        r->fed += k;
    }
    if (eof && r->v == VT_BM_MORE)
        vt_banner_http.on_eof(r->state);
    vt_banner_http.finish(r->state, &r->g);
}

static const struct vt_banner_part *part(const struct run *r, const char *matches)
{
    for (size_t i = 0; i < r->g.nparts; i++)
        if (strcmp(r->g.parts[i].matches, matches) == 0)
            return &r->g.parts[i];
    return NULL;
}

static void assert_part(const struct run *r, const char *matches, const char *want)
{
    const struct vt_banner_part *p = part(r, matches);
    if (want == NULL) {
        if (p != NULL)
            fail_msg("%s: '%.*s', want none", matches, (int)p->len, p->text);
        return;
    }
    if (p == NULL)
        fail_msg("%s: none, want '%s'", matches, want);
    if (p->len != strlen(want) || memcmp(p->text, want, p->len) != 0)
        fail_msg("%s: '%.*s', want '%s'", matches, (int)p->len, p->text, want);
}

static void test_content_length(void **st)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nServer: Boa/0.94.14rc21\r\n"
                             "X-Powered-By: PHP/5.2.17\r\nContent-Length: 46\r\n\r\n"
                             "<html><TITLE>\n  NETSurveillance   WEB\n</TITLE>"
                             "trailing bytes that are not the body";
    for (size_t split = 0; split < 8; split++) {
        struct run r;
        run_all(&r, in, sizeof(in) - 1, split, false);
        assert_int_equal(r.v, VT_BM_DONE);
        assert_part(&r, "http_header.server", "Boa/0.94.14rc21");
        assert_part(&r, "http_header.x-powered-by", "PHP/5.2.17");
        assert_part(&r, "html_title", "NETSurveillance WEB");
        assert_null(r.g.exposure);
        const char *want = "HTTP/1.1 200 OK\r\nServer: Boa/0.94.14rc21\r\n"
                           "X-Powered-By: PHP/5.2.17\r\nContent-Length: 46\r\n\r\n"
                           "title: NETSurveillance WEB";
        assert_int_equal(r.g.banner_len, strlen(want));
        assert_memory_equal(r.g.banner, want, strlen(want));
        free(r.state);
    }
}

static void test_chunked(void **st)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                             "Server: lighttpd\r\n\r\n"
                             "7\r\n<title>\r\n"
                             "5;ext=1\r\nRoute\r\n"
                             "3\r\nr 1\r\n"
                             "8\r\n</title>\r\n"
                             "0\r\n\r\n";
    for (size_t split = 0; split < 5; split++) {
        struct run r;
        run_all(&r, in, sizeof(in) - 1, split, false);
        assert_int_equal(r.v, VT_BM_DONE);
        assert_true(r.fed >= sizeof(in) - 3); /* the trailers are not read */
        assert_part(&r, "html_title", "Router 1");
        assert_part(&r, "http_header.server", "lighttpd");
        assert_true(vt_banner_http.on_eof(r.state)); /* read to its end */
        free(r.state);
    }
}

static void test_bad_chunk(void **st)
{
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n<title>x</title>",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n123456789\r\nx",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < 3; i++) {
        struct run r;
        run_all(&r, bad[i], strlen(bad[i]), 0, false);
        assert_int_equal(r.v, VT_BM_DONE);
        assert_false(vt_banner_http.on_eof(r.state));
        free(r.state);
    }
}

static void test_until_close_and_truncated(void **st)
{
    static const char in[] = "HTTP/1.0 200 OK\r\nServer: GoAhead-Webs\r\n\r\n<title>IPCam</t";
    struct run r;
    run_all(&r, in, sizeof(in) - 1, 3, false);
    assert_int_equal(r.v, VT_BM_MORE);
    assert_true(vt_banner_http.on_eof(r.state));
    assert_part(&r, "http_header.server", "GoAhead-Webs");
    assert_part(&r, "html_title", "IPCam");
    free(r.state);

    /* Cut inside the head: the complete header lines are kept. */
    static const char cut[] = "HTTP/1.1 200 OK\r\nServer: uc-httpd 1.0.0\r\nContent-Ty";
    run_all(&r, cut, sizeof(cut) - 1, 0, false);
    assert_int_equal(r.v, VT_BM_MORE);
    assert_part(&r, "http_header.server", "uc-httpd 1.0.0");
    assert_int_equal(r.g.banner_len, strlen("HTTP/1.1 200 OK\r\nServer: uc-httpd 1.0.0"));
    free(r.state);

    /* Content-Length longer than what came. */
    static const char shortb[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<title>A</title>";
    run_all(&r, shortb, sizeof(shortb) - 1, 0, true);
    assert_int_equal(r.v, VT_BM_MORE);
    assert_false(vt_banner_http.on_eof(r.state));
    assert_part(&r, "html_title", "A");
    free(r.state);
}

static void test_oversized_head(void **st)
{
    size_t n = 100000;
    char *in = malloc(n);
    struct run r;
    memcpy(in, "HTTP/1.1 200 OK\r\nServer: big\r\n", 31);
    for (size_t i = 31; i < n; i += 20)
        memcpy(in + i, "X-Junk: aaaaaaaaa\r\n\0", n - i < 20 ? n - i : 20);
    run_all(&r, in, n, 1000, false);
    assert_int_equal(r.v, VT_BM_DONE);
    assert_true(r.fed <= 17000); /* stopped at the head cap */
    assert_part(&r, "http_header.server", "big");
    assert_true(r.g.banner_len <= VT_BANNER_TEXT_MAX);
    free(r.state);
    free(in);

    /* More than 100 headers: the ones past the cap are not read. */
    char many[8192];
    size_t k = (size_t)snprintf(many, sizeof(many), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 120; i++)
        k += (size_t)snprintf(many + k, sizeof(many) - k, "A%d: b\r\n", i);
    k += (size_t)snprintf(many + k, sizeof(many) - k, "Server: late\r\n\r\n");
    run_all(&r, many, k, 0, true);
    assert_part(&r, "http_header.server", NULL);
    free(r.state);
}

static void test_garbage(void **st)
{
    uint8_t junk[3000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(junk); i++) {
        x = x * 1103515245 + 12345;
        junk[i] = (uint8_t)(x >> 16);
    }
    struct run r;
    run_all(&r, (const char *)junk, sizeof(junk), 17, true);
    assert_true(r.g.banner_len <= VT_BANNER_TEXT_MAX);
    assert_null(r.g.exposure);
    free(r.state);
}

static void test_401_realm(void **st)
{
    static const char in[] = "HTTP/1.1 401 Unauthorized\r\nServer: Hikvision-Webs\r\n"
                             "WWW-Authenticate: Basic realm=\"DVR\",\r\n charset=\"UTF-8\"\r\n"
                             "Content-Length: 0\r\n\r\n";
    struct run r;
    run_all(&r, in, sizeof(in) - 1, 0, false);
    assert_int_equal(r.v, VT_BM_DONE);
    assert_part(&r, "http_header.wwwauth", "Basic realm=\"DVR\",   charset=\"UTF-8\"");
    assert_string_equal(r.g.exposure, "http-login");
    free(r.state);
}

static void test_password_form(void **st)
{
    static const char *const pages[] = {
        "<form><INPUT name=p TYPE=\"Password\"></form>",
        "<input id='x' type = 'password' />",
        "<input\ttype=password>",
    };
    for (size_t i = 0; i < 3; i++) {
        char in[512];
        int n = snprintf(in, sizeof(in), "HTTP/1.0 200 OK\r\n\r\n<title>Login</title>%s", pages[i]);
        struct run r;
        run_all(&r, in, (size_t)n, 0, true);
        assert_string_equal(r.g.exposure, "http-login");
        free(r.state);
    }
    static const char no[] = "HTTP/1.0 200 OK\r\n\r\n<input type=text name=password>"
                             "<inputs type=password><p>type=password</p>";
    struct run r;
    run_all(&r, no, sizeof(no) - 1, 0, true);
    assert_null(r.g.exposure);
    free(r.state);
}

static void test_probe(void **st)
{
    char buf[512];
    struct vt_bm_target t = {0x7f000001, 8080, "ua/1"};
    size_t n = vt_banner_http.probe(&t, buf, sizeof(buf));
    buf[n] = '\0';
    assert_string_equal(buf, "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: ua/1\r\n"
                             "Accept: */*\r\nConnection: close\r\n\r\n");
    t.port = 80;
    t.user_agent = NULL;
    n = vt_banner_http.probe(&t, buf, sizeof(buf));
    buf[n] = '\0';
    assert_non_null(strstr(buf, "Host: 127.0.0.1\r\n"));
    assert_non_null(strstr(buf, "User-Agent: vantage/"));
    assert_int_equal(vt_banner_http.probe(&t, buf, 10), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length), cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_bad_chunk),      cmocka_unit_test(test_until_close_and_truncated),
        cmocka_unit_test(test_oversized_head), cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_401_realm),      cmocka_unit_test(test_password_form),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
