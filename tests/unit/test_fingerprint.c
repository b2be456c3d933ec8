/* test_fingerprint.c: unit tests for proto/fingerprint.c, the Recog-format
 * rule engine.
 *
 * What a user would notice: which labels a banner gets from which rule, that
 * Recog's own files mean here what they mean in Recog (flags, Ruby regex
 * dialect, params, interpolation, examples), that a bad rule costs only
 * itself with a FILE:LINE message, that a file that is not a rule file is
 * refused, and that no pattern can stall the scan. Rule files are inline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fingerprint.h"

static char err[512];

/* Captures what a call writes to a FILE. */
struct capture {
    FILE *f;
    char *buf;
    size_t len;
};

static void capture_open(struct capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
}

static const char *capture_text(struct capture *c)
{
    fflush(c->f);
    return c->buf ? c->buf : "";
}

static void capture_close(struct capture *c)
{
    fclose(c->f);
    free(c->buf);
}

/* A rule set of one inline file, which must load. */
static struct vt_rules *load(const char *name, const char *xml)
{
    struct vt_rules *rs = vt_rules_new();
    assert_non_null(rs);
    if (vt_rules_load_buffer(rs, name, xml, strlen(xml), NULL, err, sizeof err) != 0)
        fail_msg("%s refused: %s", name, err);
    return rs;
}

/* Matches text (a C string) against `matches`; returns the file count. */
static int match(const struct vt_rules *rs, const char *matches, const char *text,
                 struct vt_labels *l)
{
    vt_labels_clear(l);
    return vt_rules_match(rs, matches, text, strlen(text), l);
}

static void assert_label(const struct vt_labels *l, const char *key, const char *want)
{
    const char *got = vt_labels_get(l, key);
    if (!want && got)
        fail_msg("%s is \"%s\", want it unset", key, got);
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("%s is %s%s%s, want \"%s\"", key, got ? "\"" : "", got ? got : "unset",
                 got ? "\"" : "", want);
}

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static void test_flags(void **state)
{
    struct vt_rules *rs = load(
        "flags.xml", HEAD "<fingerprints matches=\"t.banner\">\n"
                          "  <fingerprint pattern=\"^acme router$\" flags=\"REG_ICASE\">\n"
                          "    <param pos=\"0\" name=\"hw.vendor\" value=\"Acme\"/>\n"
                          "  </fingerprint>\n"
                          "  <fingerprint pattern=\"^begin.+end$\" flags=\"REG_DOT_NEWLINE\">\n"
                          "    <param pos=\"0\" name=\"hw.vendor\" value=\"Dotall\"/>\n"
                          "  </fingerprint>\n"
                          "  <fingerprint pattern=\"^(?m:one.two)$\">\n"
                          "    <param pos=\"0\" name=\"hw.vendor\" value=\"RubyM\"/>\n"
                          "  </fingerprint>\n"
                          "  <fingerprint pattern=\"^line2$\">\n"
                          "    <param pos=\"0\" name=\"hw.vendor\" value=\"Anchors\"/>\n"
                          "  </fingerprint>\n"
                          "  <fingerprint pattern=\"^x.y$\" flags=\"REG_ICASE|REG_MULTILINE\">\n"
                          "    <param pos=\"0\" name=\"hw.vendor\" value=\"Both\"/>\n"
                          "  </fingerprint>\n"
                          "</fingerprints>\n");
    struct vt_labels l;
    vt_labels_init(&l);
    assert_int_equal(match(rs, "t.banner", "ACME Router", &l), 1);
    assert_label(&l, "hw.vendor", "Acme");
    /* REG_DOT_NEWLINE: `.` crosses lines. */
    assert_int_equal(match(rs, "t.banner", "begin\nmiddle\nend", &l), 1);
    assert_label(&l, "hw.vendor", "Dotall");
    /* Ruby's inline (?m) is dot-matches-newline too, not PCRE2's (?m). */
    assert_int_equal(match(rs, "t.banner", "one\ntwo", &l), 1);
    assert_label(&l, "hw.vendor", "RubyM");
    /* Ruby's ^ and $ always match at line breaks. */
    assert_int_equal(match(rs, "t.banner", "line1\nline2\nline3", &l), 1);
    assert_label(&l, "hw.vendor", "Anchors");
    /* '|' separates flags too; both apply. */
    assert_int_equal(match(rs, "t.banner", "X\nY", &l), 1);
    assert_label(&l, "hw.vendor", "Both");
    /* Without the flag, no dotall and no case folding. */
    assert_int_equal(match(rs, "t.banner", "one\nTWO", &l), 0);
    assert_int_equal(l.n, 0);
    vt_labels_free(&l);
    vt_rules_free(rs);
}

static void test_ruby_dialect(void **state)
{
    struct vt_rules *rs =
        load("ruby.xml", HEAD "<fingerprints matches=\"t\">\n"
                              "  <fingerprint pattern=\"^id (\\h+) x{,2}\\z\">\n"
                              "    <param pos=\"1\" name=\"hw.serial\"/>\n"
                              "  </fingerprint>\n"
                              "  <fingerprint pattern=\"\\ASign in . GitLab\\Z\">\n"
                              "    <param pos=\"0\" name=\"service.product\" value=\"GitLab\"/>\n"
                              "  </fingerprint>\n"
                              "</fingerprints>\n");
    struct vt_labels l;
    vt_labels_init(&l);
    /* \h is a hex digit in Ruby (horizontal space in PCRE2). */
    assert_int_equal(match(rs, "t", "id 00aF9c x", &l), 1);
    assert_label(&l, "hw.serial", "00aF9c");
    assert_int_equal(match(rs, "t", "id 00aG9c x", &l), 0);
    /* {,2} is {0,2} in Ruby. */
    assert_int_equal(match(rs, "t", "id 1 x", &l), 1);
    assert_int_equal(match(rs, "t", "id 1 xxx", &l), 0);
    /* UTF-8 text is matched by characters: `.` takes all of "·". */
    assert_int_equal(match(rs, "t", "Sign in \xc2\xb7 GitLab", &l), 1);
    assert_label(&l, "service.product", "GitLab");
    vt_labels_free(&l);
    vt_rules_free(rs);
}

static void test_captures_and_interpolation(void **state)
{
    struct vt_rules *rs = load(
        "cap.xml", HEAD
        "<fingerprints matches=\"t\" protocol=\"Telnet\">\n"
        "  <fingerprint pattern=\"^Eltex (TAU-\\d+)(?: v([\\d.]+))?$\">\n"
        "    <description>Eltex TAU</description>\n"
        "    <param pos=\"0\" name=\"hw.vendor\" value=\"Eltex\"/>\n"
        "    <param pos=\"1\" name=\"hw.product\"/>\n"
        "    <param pos=\"2\" name=\"os.version\"/>\n"
        "    <param pos=\"0\" name=\"os.product\" value=\"{hw.product} Firmware\"/>\n"
        "    <param pos=\"0\" name=\"os.cpe23\" value=\"cpe:/o:eltex:{_tmp.p}:{os.version}\"/>\n"
        "    <param pos=\"0\" name=\"_tmp.p\" value=\"tau\"/>\n"
        "    <param pos=\"0\" name=\"os.family\" value=\"{no.such}\"/>\n"
        "  </fingerprint>\n"
        "</fingerprints>\n");
    struct vt_labels l;
    vt_labels_init(&l);
    assert_int_equal(match(rs, "t", "Eltex TAU-72 v2.1.3", &l), 1);
    assert_label(&l, "hw.product", "TAU-72");
    assert_label(&l, "os.version", "2.1.3");
    assert_label(&l, "os.product", "TAU-72 Firmware");
    /* Every param has its value before any is interpolated: order is free. */
    assert_label(&l, "os.cpe23", "cpe:/o:eltex:tau:2.1.3");
    assert_label(&l, "_tmp.p", NULL);               /* temporaries are not emitted */
    assert_label(&l, "os.family", NULL);            /* {no.such}: the param is dropped */
    assert_label(&l, "service.protocol", "telnet"); /* the file's protocol */

    vt_rules_free(rs);
    rs = load(
        "cpe.xml", HEAD
        "<fingerprints matches=\"t\">\n"
        "  <fingerprint pattern=\"^Eltex (TAU-\\d+)(?: v([\\d.]+))?$\">\n"
        "    <param pos=\"0\" name=\"_tmp.p\" value=\"tau\"/>\n"
        "    <param pos=\"2\" name=\"os.version\"/>\n"
        "    <param pos=\"0\" name=\"os.cpe23\" value=\"cpe:/o:eltex:{_tmp.p}:{os.version}\"/>\n"
        "  </fingerprint>\n"
        "</fingerprints>\n");
    assert_int_equal(match(rs, "t", "Eltex TAU-72 v2.1", &l), 1);
    assert_label(&l, "os.cpe23", "cpe:/o:eltex:tau:2.1");
    assert_label(&l, "cpe", "cpe:/o:eltex:tau:2.1");
    /* A capture that took no part: no label, and a cpe23 gets "-" for it. */
    assert_int_equal(match(rs, "t", "Eltex TAU-72", &l), 1);
    assert_label(&l, "os.version", NULL);
    assert_label(&l, "os.cpe23", "cpe:/o:eltex:tau:-");
    vt_labels_free(&l);
    vt_rules_free(rs);
}

static void test_first_match_wins_and_several_files(void **state)
{
    struct vt_rules *rs = vt_rules_new();
    const char *a = HEAD "<fingerprints matches=\"telnet.banner\">\n"
                         "  <fingerprint pattern=\"login:\">\n"
                         "    <param pos=\"0\" name=\"os.vendor\" value=\"First\"/>\n"
                         "  </fingerprint>\n"
                         "  <fingerprint pattern=\"^router login:\">\n"
                         "    <param pos=\"0\" name=\"os.vendor\" value=\"Second\"/>\n"
                         "  </fingerprint>\n"
                         "</fingerprints>\n";
    const char *b = HEAD "<fingerprints matches=\"telnet.banner\">\n"
                         "  <fingerprint pattern=\"^router\">\n"
                         "    <param pos=\"0\" name=\"os.vendor\" value=\"OtherFile\"/>\n"
                         "    <param pos=\"0\" name=\"hw.device\" value=\"Router\"/>\n"
                         "  </fingerprint>\n"
                         "</fingerprints>\n";
    const char *c = HEAD "<fingerprints matches=\"ssh.banner\">\n"
                         "  <fingerprint pattern=\".\">\n"
                         "    <param pos=\"0\" name=\"os.vendor\" value=\"Ssh\"/>\n"
                         "  </fingerprint>\n"
                         "</fingerprints>\n";
    assert_int_equal(vt_rules_load_buffer(rs, "a.xml", a, strlen(a), NULL, err, sizeof err), 0);
    assert_int_equal(vt_rules_load_buffer(rs, "b.xml", b, strlen(b), NULL, err, sizeof err), 0);
    assert_int_equal(vt_rules_load_buffer(rs, "c.xml", c, strlen(c), NULL, err, sizeof err), 0);
    assert_int_equal(vt_rules_files(rs), 3);
    assert_int_equal(vt_rules_count(rs), 4);
    assert_true(vt_rules_have(rs, "telnet.banner"));
    assert_true(vt_rules_have(rs, "ssh.banner"));
    assert_false(vt_rules_have(rs, "html_title"));

    struct vt_labels l;
    vt_labels_init(&l);
    /* One rule per file (the first that matches), both telnet files, not
     * the ssh one; the earlier file's value stays. */
    assert_int_equal(match(rs, "telnet.banner", "router login:", &l), 2);
    assert_label(&l, "os.vendor", "First");
    assert_label(&l, "vendor", "First");
    assert_label(&l, "hw.device", "Router");
    assert_int_equal(match(rs, "html_title", "router login:", &l), 0);
    vt_labels_free(&l);
    vt_rules_free(rs);
}

static void test_normalised_labels(void **state)
{
    struct vt_rules *rs = load(
        "norm.xml", HEAD
        "<fingerprints matches=\"t\">\n"
        "  <fingerprint pattern=\"^cam ([\\d.]+)$\">\n"
        "    <param pos=\"0\" name=\"service.vendor\" value=\"Boa\"/>\n"
        "    <param pos=\"0\" name=\"service.product\" value=\"httpd\"/>\n"
        "    <param pos=\"0\" name=\"os.vendor\" value=\"Linux\"/>\n"
        "    <param pos=\"0\" name=\"hw.vendor\" value=\"Hikvision\"/>\n"
        "    <param pos=\"0\" name=\"hw.device\" value=\"IP Camera\"/>\n"
        "    <param pos=\"1\" name=\"service.version\"/>\n"
        "    <param pos=\"0\" name=\"service.cpe23\" value=\"cpe:/a:boa:boa:{service.version}\"/>\n"
        "  </fingerprint>\n"
        "</fingerprints>\n");
    struct vt_labels l;
    vt_labels_init(&l);
    /* A label the caller set first is kept. */
    assert_int_equal(vt_labels_set(&l, "product", "Given", true), 1);
    assert_int_equal(vt_rules_match(rs, "t", "cam 0.94", 8, &l), 1);
    assert_label(&l, "vendor", "Hikvision"); /* hw before os before service */
    assert_label(&l, "product", "Given");
    assert_label(&l, "device", "IP Camera");
    assert_label(&l, "version", "0.94"); /* only service has one */
    assert_label(&l, "cpe", "cpe:/a:boa:boa:0.94");
    assert_label(&l, "os.vendor", "Linux");
    vt_labels_free(&l);
    vt_rules_free(rs);
}

static void test_trailing_crlf_trimmed(void **state)
{
    struct vt_rules *rs = load("trim.xml", HEAD "<fingerprints matches=\"t\">\n"
                                                "  <fingerprint pattern=\"^(\\S+) login:\\z\">\n"
                                                "    <param pos=\"1\" name=\"host.name\"/>\n"
                                                "  </fingerprint>\n"
                                                "</fingerprints>\n");
    struct vt_labels l;
    vt_labels_init(&l);
    assert_int_equal(match(rs, "t", "gw1 login: \r\n", &l), 1);
    assert_label(&l, "host.name", "gw1");
    assert_int_equal(match(rs, "t", "gw1 login:\n\n\r\n  ", &l), 1);
    /* Only trailing: a tab or text after it is not trimmed. */
    assert_int_equal(match(rs, "t", "gw1 login:\t", &l), 0);
    vt_labels_free(&l);
    vt_rules_free(rs);
}

static void test_examples_and_verify(void **state)
{
    /* The second example is base64 of "\xff\xfb\x01\xff\xfb\x03\r\nDVR login:",
     * a telnet banner with IAC bytes that are not UTF-8. */
    const char *good =
        HEAD "<fingerprints matches=\"telnet.banner\">\n"
             "  <fingerprint pattern=\"^(?:\\xff\\xfb.)*\\s*(\\w+) login:$\">\n"
             "    <description>DVR</description>\n"
             "    <example hw.product=\"NVR\" xml:lang=\"en\">NVR login:</example>\n"
             "    <example _encoding=\"base64\" hw.product=\"DVR\">\n"
             "      //sB//sDDQpEVlIg\n"
             "      bG9naW46</example>\n"
             "    <example _filename=\"elsewhere.txt\"/>\n"
             "    <param pos=\"1\" name=\"hw.product\"/>\n"
             "    <param pos=\"0\" name=\"hw.vendor\" value=\"Acme {hw.product}\"/>\n"
             "  </fingerprint>\n"
             "</fingerprints>\n";
    struct capture w, r;
    capture_open(&w);
    capture_open(&r);
    struct vt_rules *rs = vt_rules_new();
    assert_int_equal(vt_rules_load_buffer(rs, "good.xml", good, strlen(good), w.f, err, sizeof err),
                     0);
    /* The external example is skipped with a note, not an error. */
    assert_non_null(strstr(capture_text(&w), "good.xml:9: "));
    assert_int_equal(vt_rules_verify(rs, r.f), 0);
    assert_string_equal(capture_text(&r), "");
    struct vt_labels l;
    vt_labels_init(&l);
    const char banner[] = "\xff\xfb\x01\xff\xfb\x03\r\nDVR login:\r\n";
    assert_int_equal(vt_rules_match(rs, "telnet.banner", banner, sizeof banner - 1, &l), 1);
    assert_label(&l, "hw.vendor", "Acme DVR");
    vt_labels_free(&l);
    vt_rules_free(rs);

    /* A wrong expectation, and an example that does not match at all. */
    const char *bad = HEAD "<fingerprints matches=\"t\">\n"
                           "  <fingerprint pattern=\"^Acme (\\w+)$\">\n"
                           "    <description>Acme</description>\n"
                           "    <example hw.product=\"X100\">Acme X100</example>\n"
                           "    <example hw.product=\"X200\">Acme X300</example>\n"
                           "    <example hw.vendor=\"Acme\">Acme X100</example>\n"
                           "    <example>Other</example>\n"
                           "    <param pos=\"1\" name=\"hw.product\"/>\n"
                           "  </fingerprint>\n"
                           "</fingerprints>\n";
    rs = load("bad.xml", bad);
    assert_int_equal(vt_rules_verify(rs, r.f), 3);
    const char *rep = capture_text(&r);
    assert_non_null(strstr(rep, "bad.xml:6: "));
    assert_non_null(strstr(rep, "\"X300\""));
    assert_non_null(strstr(rep, "bad.xml:7: ")); /* hw.vendor is not set at all */
    assert_non_null(strstr(rep, "bad.xml:8: "));
    assert_null(strstr(rep, "bad.xml:5: "));
    vt_rules_free(rs);
    capture_close(&w);
    capture_close(&r);
}

static void test_bad_rules_skipped(void **state)
{
    const char *xml =
        HEAD "<fingerprints matches=\"t\">\n"
             "  <fingerprint pattern=\"^ok one$\"/>\n"
             "  <fingerprint pattern=\"^(unclosed\"/>\n"
             "  <fingerprint pattern=\"^(one) (two)$\">\n"
             "    <param pos=\"3\" name=\"hw.product\"/>\n"
             "  </fingerprint>\n"
             "  <fingerprint>\n"
             "    <param pos=\"0\" name=\"hw.product\" value=\"x\"/>\n"
             "  </fingerprint>\n"
             "  <fingerprint pattern=\"x\" flags=\"REG_BOGUS\"/>\n"
             "  <fingerprint pattern=\"x\"><param pos=\"one\" name=\"a.b\"/></fingerprint>\n"
             "  <fingerprint pattern=\"^ok two$\">\n"
             "    <param pos=\"0\" name=\"hw.product\" value=\"Two\"/>\n"
             "  </fingerprint>\n"
             "</fingerprints>\n";
    struct capture w;
    capture_open(&w);
    struct vt_rules *rs = vt_rules_new();
    assert_int_equal(vt_rules_load_buffer(rs, "mixed.xml", xml, strlen(xml), w.f, err, sizeof err),
                     0);
    assert_int_equal(vt_rules_count(rs), 2);
    const char *msg = capture_text(&w);
    assert_non_null(strstr(msg, "mixed.xml:4: pattern does not compile"));
    assert_non_null(strstr(msg, "mixed.xml:6: param hw.product takes group 3"));
    assert_non_null(strstr(msg, "mixed.xml:8: fingerprint without a pattern"));
    assert_non_null(strstr(msg, "mixed.xml:11: unknown flag REG_BOGUS"));
    assert_non_null(strstr(msg, "mixed.xml:12: param without a pos"));
    assert_null(strstr(msg, "mixed.xml:3:"));
    struct vt_labels l;
    vt_labels_init(&l);
    assert_int_equal(match(rs, "t", "ok two", &l), 1);
    assert_label(&l, "hw.product", "Two");
    vt_labels_free(&l);
    vt_rules_free(rs);
    capture_close(&w);
}

static void expect_refused(const char *name, const char *xml, const char *why)
{
    struct vt_rules *rs = vt_rules_new();
    err[0] = '\0';
    assert_int_equal(vt_rules_load_buffer(rs, name, xml, strlen(xml), NULL, err, sizeof err), -1);
    if (!strstr(err, name) || !strstr(err, why))
        fail_msg("%s: error \"%s\" should name the file and say \"%s\"", name, err, why);
    assert_int_equal(vt_rules_files(rs), 0);
    assert_int_equal(vt_rules_count(rs), 0);
    vt_rules_free(rs);
}

static void test_not_recog_refused(void **state)
{
    expect_refused("pom.xml", HEAD "<project><fingerprint pattern=\"x\"/></project>",
                   "not a Recog fingerprint file");
    expect_refused("broken.xml", HEAD "<fingerprints matches=\"t\"><fingerprint>", "not XML");
    expect_refused("empty.xml", "", "empty");
    expect_refused("text.xml", "220 ProFTPD ready\r\n", "not XML");
    /* Billion laughs: entities are never expanded; a DOCTYPE is refused. */
    expect_refused("lol.xml",
                   HEAD
                   "<!DOCTYPE fingerprints [\n"
                   " <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
                   " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
                   " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
                   " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
                   " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
                   "]>\n"
                   "<fingerprints matches=\"t\"><fingerprint pattern=\"&e;\"/></fingerprints>\n",
                   "");

    struct vt_rules *rs = vt_rules_new();
    assert_int_equal(vt_rules_load_path(rs, "/nonexistent/rules", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/rules"));
    vt_rules_free(rs);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_directory(void **state)
{
    char dir[] = "/tmp/test_fingerprint.XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/b.xml", dir);
    write_file(path, HEAD "<fingerprints><fingerprint pattern=\"^x$\">"
                          "<param pos=\"0\" name=\"hw.vendor\" value=\"B\"/></fingerprint>"
                          "</fingerprints>\n");
    snprintf(path, sizeof path, "%s/a.xml", dir);
    write_file(path, HEAD "<fingerprints matches=\"b\"><fingerprint pattern=\"^x$\">"
                          "<param pos=\"0\" name=\"hw.vendor\" value=\"A\"/></fingerprint>"
                          "</fingerprints>\n");
    snprintf(path, sizeof path, "%s/fingerprints.xsd", dir);
    write_file(path, "<xs:schema/>");

    struct vt_rules *rs = vt_rules_new();
    if (vt_rules_load_path(rs, dir, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(vt_rules_files(rs), 2);
    /* b.xml has no matches: its name says "b". a.xml is read first. */
    struct vt_labels l;
    vt_labels_init(&l);
    assert_int_equal(match(rs, "b", "x", &l), 2);
    assert_label(&l, "hw.vendor", "A");
    vt_labels_free(&l);
    vt_rules_free(rs);

    /* A file that is not a rule file fails the directory, naming it. */
    snprintf(path, sizeof path, "%s/c.xml", dir);
    write_file(path, HEAD "<html/>");
    rs = vt_rules_new();
    assert_int_equal(vt_rules_load_path(rs, dir, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "c.xml"));
    vt_rules_free(rs);

    const char *names[] = {"a.xml", "b.xml", "c.xml", "fingerprints.xsd"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_catastrophic_pattern_bounded(void **state)
{
    struct vt_rules *rs =
        load("evil.xml", HEAD "<fingerprints matches=\"t\">\n"
                              "  <fingerprint pattern=\"(a+)+$\">\n"
                              "    <param pos=\"0\" name=\"hw.vendor\" value=\"Evil\"/>\n"
                              "  </fingerprint>\n"
                              "  <fingerprint pattern=\"b$\">\n"
                              "    <param pos=\"0\" name=\"hw.vendor\" value=\"Next\"/>\n"
                              "  </fingerprint>\n"
                              "</fingerprints>\n");
    char text[4097];
    memset(text, 'a', sizeof text - 2);
    text[sizeof text - 2] = '!';
    text[sizeof text - 1] = '\0';
    struct vt_labels l;
    vt_labels_init(&l);
    double t0 = now();
    /* Unbounded, this takes longer than the universe has left. */
    assert_int_equal(match(rs, "t", text, &l), 0);
    double spent = now() - t0;
    if (spent > 2.0)
        fail_msg("a catastrophic pattern ran %.1f s", spent);
    /* Hitting the limit is just "not this rule": the next one is tried. */
    text[sizeof text - 2] = 'b';
    assert_int_equal(match(rs, "t", text, &l), 1);
    vt_labels_free(&l);
    vt_rules_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_ruby_dialect),
        cmocka_unit_test(test_captures_and_interpolation),
        cmocka_unit_test(test_first_match_wins_and_several_files),
        cmocka_unit_test(test_normalised_labels),
        cmocka_unit_test(test_trailing_crlf_trimmed),
        cmocka_unit_test(test_examples_and_verify),
        cmocka_unit_test(test_bad_rules_skipped),
        cmocka_unit_test(test_not_recog_refused),
        cmocka_unit_test(test_load_directory),
        cmocka_unit_test(test_catastrophic_pattern_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
