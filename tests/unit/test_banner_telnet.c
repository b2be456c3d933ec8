/* test_banner_telnet.c: worker/banner_telnet.c without sockets. What a user
 * would notice: we refuse every option with the exact bytes RFC 854 asks for
 * and never answer twice or without bound, negotiation never shows in the
 * banner wherever the reads split, and the prompt decides the exposure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "banner_module.h"

struct run {
    void *state;
    uint8_t ans[4096];
    size_t ans_len;
    enum vt_bm_verdict v;
    struct vt_grab g;
};

static void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->state = malloc(vt_banner_telnet.state_size);
    assert_non_null(r->state);
    vt_banner_telnet.init(r->state);
}

/* Feeds buf in pieces of `split` bytes (0: all at once); stops at DONE. */
static void run_feed(struct run *r, const void *buf, size_t n, size_t split)
{
    const uint8_t *p = buf;
    size_t i = 0;

    if (split == 0)
        split = n;
    while (i < n && r->v == VT_BM_MORE) {
        size_t k = n - i < split ? n - i : split;
        uint8_t out[1024];
        struct vt_bm_out o = {out, 0, sizeof(out)};
        r->v = vt_banner_telnet.on_data(r->state, p + i, k, &o);
        assert_true(o.len <= o.cap);
        assert_true(r->ans_len + o.len <= sizeof(r->ans));
        memcpy(r->ans + r->ans_len, out, o.len);
        r->ans_len += o.len;
        i += k;
    }
}

static void run_finish(struct run *r)
{
    vt_banner_telnet.finish(r->state, &r->g);
}

static void run_free(struct run *r)
{
    free(r->state);
}

static void assert_banner(const struct run *r, const char *want)
{
    size_t n = strlen(want);
    if (r->g.banner_len != n || memcmp(r->g.banner, want, n) != 0)
        fail_msg("banner '%.*s', want '%s'", (int)r->g.banner_len, r->g.banner, want);
    assert_int_equal(r->g.nparts, 1);
    assert_string_equal(r->g.parts[0].matches, "telnet.banner");
    assert_int_equal(r->g.parts[0].len, n);
}

static const char busybox[] = "\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x01\xff\xfb\x03\r\n(none) login: ";

/* DO ECHO, DO NAWS, WILL ECHO, WILL SGA → WONT ECHO, WONT NAWS, DONT ECHO, DONT SGA. */
static const uint8_t busybox_answer[] = {0xff, 0xfc, 0x01, 0xff, 0xfc, 0x1f,
                                         0xff, 0xfe, 0x01, 0xff, 0xfe, 0x03};

static void test_answers_exact(void **st)
{
    struct run r;
    run_init(&r);
    run_feed(&r, busybox, sizeof(busybox) - 1, 0);
    assert_int_equal(r.v, VT_BM_DONE);
    assert_int_equal(r.ans_len, sizeof(busybox_answer));
    assert_memory_equal(r.ans, busybox_answer, sizeof(busybox_answer));
    run_finish(&r);
    assert_banner(&r, "(none) login:");
    assert_string_equal(r.g.exposure, "telnet-login");
    run_free(&r);
}

/* Every split of the greeting, at every byte boundary, gives the same. */
static void test_split_everywhere(void **st)
{
    size_t n = sizeof(busybox) - 1;
    for (size_t a = 1; a < n; a++) {
        for (size_t split = 1; split <= n; split++) {
            struct run r;
            run_init(&r);
            run_feed(&r, busybox, a, split);
            run_feed(&r, busybox + a, n - a, split);
            assert_int_equal(r.v, VT_BM_DONE);
            assert_int_equal(r.ans_len, sizeof(busybox_answer));
            assert_memory_equal(r.ans, busybox_answer, sizeof(busybox_answer));
            run_finish(&r);
            assert_banner(&r, "(none) login:");
            assert_string_equal(r.g.exposure, "telnet-login");
            run_free(&r);
        }
    }
}

static void test_dont_wont_unanswered_and_once(void **st)
{
    static const char in[] = "\xff\xfe\x01\xff\xfc\x03"  /* DONT, WONT: no answer */
                             "\xff\xfd\x18\xff\xfd\x18"  /* DO TTYPE twice */
                             "\xff\xfb\x05\xff\xfb\x05"; /* WILL STATUS twice */
    static const uint8_t want[] = {0xff, 0xfc, 0x18, 0xff, 0xfe, 0x05};
    struct run r;
    run_init(&r);
    run_feed(&r, in, sizeof(in) - 1, 1);
    assert_int_equal(r.v, VT_BM_MORE);
    assert_int_equal(r.ans_len, sizeof(want));
    assert_memory_equal(r.ans, want, sizeof(want));
    run_free(&r);
}

static void test_sb_skipped_iac_iac_literal(void **st)
{
    /* SB TTYPE SEND IAC SE, a NOP, text with a literal 0xFF, and CR NUL. */
    static const char in[] = "\xff\xfa\x18\x01\xff\xff\x41\xff\xf0"
                             "\xff\xf1"
                             "Hello \xff\xff world\r\0\nPassword: ";
    struct run r;
    run_init(&r);
    run_feed(&r, in, sizeof(in) - 1, 0);
    assert_int_equal(r.v, VT_BM_DONE);
    assert_int_equal(r.ans_len, 0);
    run_finish(&r);
    assert_banner(&r, "Hello \xff world\r\nPassword:");
    assert_string_equal(r.g.exposure, "telnet-login");
    run_free(&r);
}

static void test_prompts(void **st)
{
    static const struct {
        const char *in;
        const char *exposure; /* NULL: none */
        enum vt_bm_verdict v;
    } cases[] = {
        {"\r\nUser Access Verification\r\n\r\nUsername: ", "telnet-login", VT_BM_DONE},
        {"MikroTik v6.42.3 (stable)\r\nLogin: ", "telnet-login", VT_BM_DONE},
        {"Welcome\r\nUSER NAME:", "telnet-login", VT_BM_DONE},
        {"Password:\r\n", "telnet-login", VT_BM_DONE},
        {"Technicolor TG582n\r\nUsername : ", "telnet-login", VT_BM_DONE},
        {"Note: ", NULL, VT_BM_MORE}, /* a colon after a word that asks nothing */
        {"\r\n\r\nBusyBox v1.19.4 (2013-07-01) built-in shell (ash)\r\n# ", "telnet-shell",
         VT_BM_DONE},
        {"root@cam:~# ", "telnet-shell", VT_BM_DONE},
        {"user@host:~$ ", "telnet-shell", VT_BM_DONE},
        {"DVR> ", "telnet-shell", VT_BM_DONE},
        {"Welcome to the device\r\n", NULL, VT_BM_MORE},
        {"Issue #", NULL, VT_BM_MORE},
        {"  ", NULL, VT_BM_MORE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        run_init(&r);
        run_feed(&r, cases[i].in, strlen(cases[i].in), 0);
        if (r.v != cases[i].v)
            fail_msg("case %zu '%s': verdict %d", i, cases[i].in, r.v);
        run_finish(&r);
        if (cases[i].exposure == NULL)
            assert_null(r.g.exposure);
        else
            assert_string_equal(r.g.exposure, cases[i].exposure);
        run_free(&r);
    }
}

/* Endless negotiation of every option: answers stop at their bound, and each
 * answer is a refusal. */
static void test_iac_flood_bounded(void **st)
{
    struct run r;
    uint8_t flood[3 * 512];
    run_init(&r);
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 512; i++) {
            flood[3 * i] = 0xff;
            flood[3 * i + 1] = i < 256 ? 0xfd : 0xfb;
            flood[3 * i + 2] = (uint8_t)i;
        }
        run_feed(&r, flood, sizeof(flood), 7);
        assert_int_equal(r.v, VT_BM_MORE);
    }
    assert_true(r.ans_len > 0 && r.ans_len <= 512);
    for (size_t i = 0; i + 2 < r.ans_len; i += 3) {
        assert_int_equal(r.ans[i], 0xff);
        assert_true(r.ans[i + 1] == 0xfc || r.ans[i + 1] == 0xfe);
    }
    run_finish(&r);
    assert_int_equal(r.g.banner_len, 0);
    assert_null(r.g.exposure);
    run_free(&r);
}

/* A long greeting: the banner keeps its start, the prompt at its end is seen. */
static void test_long_greeting(void **st)
{
    struct run r;
    char line[64];
    run_init(&r);
    memset(line, 'x', sizeof(line) - 2);
    line[62] = '\r';
    line[63] = '\n';
    for (int i = 0; i < 200; i++)
        run_feed(&r, line, sizeof(line), 0);
    run_feed(&r, "login: ", 7, 0);
    assert_int_equal(r.v, VT_BM_DONE);
    run_finish(&r);
    assert_true(r.g.banner_len > VT_BANNER_TEXT_MAX - 4 && r.g.banner_len <= VT_BANNER_TEXT_MAX);
    assert_string_equal(r.g.exposure, "telnet-login");
    run_free(&r);
}

static void test_detect(void **st)
{
    assert_ptr_equal(vt_banner_detect((const uint8_t *)busybox, 3, false), &vt_banner_telnet);
    assert_ptr_equal(vt_banner_detect((const uint8_t *)"\xff", 1, false), &vt_banner_telnet);
    assert_ptr_equal(vt_banner_detect((const uint8_t *)"\r\nlogin: ", 9, false), &vt_banner_telnet);
    assert_null(vt_banner_detect((const uint8_t *)"Welcome\r\n", 9, false));
    assert_ptr_equal(vt_banner_detect((const uint8_t *)"Welcome\r\n", 9, true), &vt_banner_generic);
    assert_ptr_equal(vt_banner_detect((const uint8_t *)"SSH-2.0-x\r\n", 11, false), &vt_banner_ssh);
    assert_ptr_equal(vt_banner_detect((const uint8_t *)"HTTP/1.0 200", 12, false), &vt_banner_http);
    assert_ptr_equal(vt_banner_detect((const uint8_t *)"\x01\x02\x03", 3, false),
                     &vt_banner_generic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_exact),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_dont_wont_unanswered_and_once),
        cmocka_unit_test(test_sb_skipped_iac_iac_literal),
        cmocka_unit_test(test_prompts),
        cmocka_unit_test(test_iac_flood_bounded),
        cmocka_unit_test(test_long_greeting),
        cmocka_unit_test(test_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
