/* test_keys.c: unit tests for proto/keys.c, the key files both programs make
 * and read without libzmq.
 *
 * What a user would notice: a key file CZMQ wrote (an older vantage, or any
 * ZeroMQ tool) loads, and one vantage writes loads in CZMQ, with the same
 * keys; Z85 matches RFC 32; keygen never overwrites and never leaves half a
 * pair; a torn pair, a .pub given as the secret, and hostile or broken text
 * are each refused with a reason that names the line, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"

static char dir[] = "/tmp/vt-keys-XXXXXX";

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void write_text(const char *path, const char *text, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* ---- Z85 ---- */

static void test_z85_rfc_vector(void **state)
{
    (void)state;
    /* The example of ZeroMQ RFC 32. */
    static const uint8_t hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char text[11];
    vt_z85_encode(text, hello, sizeof hello);
    assert_string_equal(text, "HelloWorld");
    uint8_t back[8];
    assert_int_equal(vt_z85_decode(back, "HelloWorld", 10), 0);
    assert_memory_equal(back, hello, 8);
}

static void test_z85_round_trip_and_libzmq(void **state)
{
    (void)state;
    srand(7);
    for (int i = 0; i < 200; i++) {
        uint8_t raw[32], back[32];
        for (size_t k = 0; k < sizeof raw; k++)
            raw[k] = (uint8_t)(i < 2 ? (i ? 0xff : 0) : rand());
        char ours[41], theirs[41];
        vt_z85_encode(ours, raw, 32);
        assert_non_null(zmq_z85_encode(theirs, raw, 32));
        assert_string_equal(ours, theirs);
        assert_true(vt_z85_key_valid(ours));
        assert_int_equal(vt_z85_decode(back, ours, 40), 0);
        assert_memory_equal(back, raw, 32);
    }
}

static void test_z85_refusals(void **state)
{
    (void)state;
    uint8_t out[32];
    assert_int_equal(vt_z85_decode(out, "Hello", 4), -1);  /* not a multiple of 5 */
    assert_int_equal(vt_z85_decode(out, "Hell\"", 5), -1); /* outside the alphabet */
    assert_int_equal(vt_z85_decode(out, "#####", 5), -1);  /* 85^5 - 1 > 2^32 - 1 */
    assert_int_equal(vt_z85_decode(out, "%nSc0", 5), 0);   /* 2^32 - 1 */
    assert_int_equal(vt_z85_decode(out, "%nSc1", 5), -1);  /* 2^32 */
    assert_true(vt_z85_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
    assert_true(vt_z85_key_valid("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"));
    assert_false(vt_z85_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf"));   /* 39 */
    assert_false(vt_z85_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7x")); /* 41 */
    assert_false(vt_z85_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\"")); /* '"' */
    assert_false(vt_z85_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y f"));  /* space */
    assert_false(vt_z85_key_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y,f"));  /* ',' */
    assert_false(vt_z85_key_valid("########################################"));  /* overflow */
    assert_false(vt_z85_key_valid(""));
    assert_false(vt_z85_key_valid(NULL));
}

/* ---- files between vantage and CZMQ ---- */

/* A pair CZMQ writes loads here with the same keys, its secret file as a key
 * the daemons accept, its public file as a public key only. */
static void test_czmq_files_load(void **state)
{
    (void)state;
    char sec[300], pub[300], err[256];
    path_in(sec, sizeof sec, "czmq.key");
    path_in(pub, sizeof pub, "czmq.key.pub");
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, "name", "%s", "partner-a");
    assert_int_equal(zcert_save_secret(cert, sec), 0);
    assert_int_equal(zcert_save_public(cert, pub), 0);
    assert_int_equal(chmod(sec, 0600), 0);

    struct vt_keypair kp;
    assert_int_equal(vt_key_load_secret(sec, "vantage", &kp, err, sizeof err), 0);
    assert_true(kp.has_secret);
    assert_memory_equal(kp.public_key, zcert_public_key(cert), 32);
    assert_memory_equal(kp.secret_key, zcert_secret_key(cert), 32);
    assert_string_equal(kp.public_txt, zcert_public_txt(cert));
    vt_keypair_wipe(&kp);

    assert_int_equal(vt_key_file_read(pub, &kp, err, sizeof err), 0);
    assert_false(kp.has_secret);
    assert_string_equal(kp.public_txt, zcert_public_txt(cert));
    assert_int_equal(vt_key_load_secret(pub, "vantage", &kp, err, sizeof err), -1);
    assert_non_null(strstr(err, "holds no secret key"));
    zcert_destroy(&cert);
}

/* A pair keygen writes loads in CZMQ with the same keys, the secret making
 * the public; the modes are 0600 and 0644. */
static void test_our_files_load_in_czmq(void **state)
{
    (void)state;
    char sec[300], pub[310], printed[41], err[256];
    path_in(sec, sizeof sec, "ours.key");
    snprintf(pub, sizeof pub, "%s.pub", sec);
    assert_int_equal(vt_keygen(sec, printed, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    zcert_t *cert = zcert_load(sec);
    assert_non_null(cert);
    assert_string_equal(zcert_public_txt(cert), printed);
    char derived[41];
    assert_int_equal(zmq_curve_public(derived, zcert_secret_txt(cert)), 0);
    assert_string_equal(derived, printed);
    zcert_destroy(&cert);

    cert = zcert_load(pub);
    assert_non_null(cert);
    assert_string_equal(zcert_public_txt(cert), printed);
    static const uint8_t zero[32];
    assert_memory_equal(zcert_secret_key(cert), zero, 32);
    zcert_destroy(&cert);

    struct vt_keypair kp;
    assert_int_equal(vt_key_load_secret(sec, "vantage", &kp, err, sizeof err), 0);
    assert_string_equal(kp.public_txt, printed);
    vt_keypair_wipe(&kp);
}

/* Two keygens make two different pairs. */
static void test_keygen_pairs_differ(void **state)
{
    (void)state;
    char a[300], b[300], pa[41], pb[41], err[256];
    path_in(a, sizeof a, "a.key");
    path_in(b, sizeof b, "b.key");
    assert_int_equal(vt_keygen(a, pa, err, sizeof err), 0);
    assert_int_equal(vt_keygen(b, pb, err, sizeof err), 0);
    assert_string_not_equal(pa, pb);
}

/* keygen refuses an existing FILE or FILE.pub and leaves it as it was; when
 * the second file cannot be made, the first is removed: no half pair. */
static void test_keygen_never_overwrites(void **state)
{
    (void)state;
    char sec[300], pub[310], z85[41], err[256];
    path_in(sec, sizeof sec, "taken.key");
    snprintf(pub, sizeof pub, "%s.pub", sec);
    write_text(sec, "mine\n", 5, 0600);
    assert_int_equal(vt_keygen(sec, z85, err, sizeof err), -1);
    assert_non_null(strstr(err, "already exists"));
    char buf[16] = "";
    FILE *f = fopen(sec, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "mine\n");
    assert_int_equal(access(pub, F_OK), -1);

    /* FILE.pub a dangling symlink: access() does not see it, O_EXCL does. */
    path_in(sec, sizeof sec, "half.key");
    snprintf(pub, sizeof pub, "%s.pub", sec);
    assert_int_equal(symlink("/nonexistent/target", pub), 0);
    assert_int_equal(vt_keygen(sec, z85, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create"));
    assert_non_null(strstr(err, "half.key.pub"));
    assert_int_equal(access(sec, F_OK), -1); /* the secret half is gone */

    path_in(sec, sizeof sec, "no/such/dir.key");
    assert_int_equal(vt_keygen(sec, z85, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create"));
}

/* A pair whose public key is another's: refused as torn. */
static void test_torn_pair_refused(void **state)
{
    (void)state;
    char sec[300], err[256], text[512];
    path_in(sec, sizeof sec, "torn.key");
    zcert_t *a = zcert_new(), *b = zcert_new();
    int n = snprintf(text, sizeof text, "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
                     zcert_public_txt(b), zcert_secret_txt(a));
    write_text(sec, text, (size_t)n, 0600);
    struct vt_keypair kp;
    assert_int_equal(vt_key_load_secret(sec, "vantage-worker", &kp, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not the one its secret key makes"));
    assert_non_null(strstr(err, "vantage-worker keygen"));
    zcert_destroy(&a);
    zcert_destroy(&b);
}

/* ---- the text: what is taken, what is refused ---- */

#define PUB "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

/* Variants of the layout that ZPL allows: each gives the same public key
 * here and in CZMQ's reader. */
static void test_zpl_variants_taken(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "curve\n    public-key = \"" PUB "\"\n",
        "curve\r\n    public-key = \"" PUB "\"\r\n",           /* CRLF */
        "curve\n    public-key = '" PUB "'\n",                 /* single quotes */
        "curve\n    public-key = \"" PUB "\"   # a comment\n", /* a trailing comment */
        "curve\n    public-key=\"" PUB "\"",                   /* no spaces, no newline */
        "# head\n\n    # an indented comment\nmetadata\n    name = \"isp-a\"\n    email = "
        "\"noc@isp.example\"\ncurve\n    public-key = \"" PUB "\"\n", /* metadata */
        "metadata\n    owner\n        name = x\ncurve\n    public-key = \"" PUB "\"\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        struct vt_keypair kp;
        char err[256] = "";
        int rc = vt_key_text_parse(texts[i], strlen(texts[i]), &kp, err, sizeof err);
        if (rc != 0)
            fail_msg("variant %zu refused: %s", i, err);
        assert_string_equal(kp.public_txt, PUB);
        assert_false(kp.has_secret);
        zconfig_t *root = zconfig_str_load(texts[i]);
        assert_non_null(root);
        assert_string_equal(zconfig_get(root, "curve/public-key", ""), PUB);
        zconfig_destroy(&root);
    }
}

/* Broken or hostile text: refused, each with its reason. */
static void test_zpl_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *reason;
    } bad[] = {
        {"curve\n\tpublic-key = \"" PUB "\"\n", "line 2: indent by 4 spaces"},
        {"curve\n   public-key = \"" PUB "\"\n", "line 2: indent by 4 spaces"},
        {"curve\n        public-key = \"" PUB "\"\n", "line 2: indented deeper"},
        {"    curve\n", "line 1: indented deeper"},
        {"  # a comment\ncurve\n    public-key = \"" PUB "\"\n", "line 1: indent by 4"},
        {"curve\n    public-key = \"" PUB "\n", "line 2: a quote is not closed"},
        {"curve\n    public-key = \"" PUB "\" junk\n", "line 2: unexpected 'j'"},
        {"curve\n    = \"" PUB "\"\n", "line 2: expected a name"},
        {"curve\n    public-key = \"short\"\n", "line 2: public-key is not a 40-character"},
        {"curve\n    public-key = \"########################################\"\n",
         "public-key is not a 40-character Z85 key"},
        {"curve\n    public-key = \"" PUB "\"\n    public-key = \"" PUB "\"\n",
         "line 3: a second public-key"},
        {"curve\n    public-key = \"" PUB "\"\n    secret-key = \"x\"\n",
         "line 3: secret-key is not"},
        {"public-key = \"" PUB "\"\n", "no curve/public-key"}, /* outside curve */
        {"metadata\n    curve\n        public-key = \"" PUB "\"\n", "no curve/public-key"},
        {"", "no curve/public-key"},
        {"root:x:0:0:root:/root:/bin/bash\n", "line 1: unexpected ':'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct vt_keypair kp;
        char err[256] = "";
        assert_int_equal(vt_key_text_parse(bad[i].text, strlen(bad[i].text), &kp, err, sizeof err),
                         -1);
        if (!strstr(err, bad[i].reason))
            fail_msg("text %zu: '%s' does not say '%s'", i, err, bad[i].reason);
    }
    /* A NUL byte, and nesting deeper than the reader follows. */
    struct vt_keypair kp;
    char err[256];
    static const char nul[] = "curve\n\0    public-key = \"" PUB "\"\n";
    assert_int_equal(vt_key_text_parse(nul, sizeof nul - 1, &kp, err, sizeof err), -1);
    assert_non_null(strstr(err, "NUL"));
    char deep[4096] = "";
    for (int level = 0; level < 40; level++) {
        for (int s = 0; s < level * 4; s++)
            strcat(deep, " ");
        strcat(deep, "a\n");
    }
    assert_int_equal(vt_key_text_parse(deep, strlen(deep), &kp, err, sizeof err), -1);
    assert_non_null(strstr(err, "indented deeper"));
}

/* A file larger than any key file is refused without reading it all. */
static void test_file_too_large(void **state)
{
    (void)state;
    char path[300], err[256];
    path_in(path, sizeof path, "large.key");
    size_t n = VT_KEY_FILE_MAX + 100;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, '#', n);
    write_text(path, text, n, 0600);
    free(text);
    struct vt_keypair kp;
    assert_int_equal(vt_key_file_read(path, &kp, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger than a key file"));
    assert_int_equal(vt_key_file_read(dir, &kp, err, sizeof err), -1); /* a directory */
    assert_non_null(strstr(err, "not a regular file"));
}

/* pubkey's reader: a bare key, a key file, a public file, and junk. */
static void test_public_from_text(void **state)
{
    (void)state;
    zcert_t *cert = zcert_new();
    char text[512], z85[41], err[256];
    snprintf(text, sizeof text, "%s\r\n", zcert_secret_txt(cert));
    assert_int_equal(vt_key_public_from_text(text, z85, err, sizeof err), 0);
    assert_string_equal(z85, zcert_public_txt(cert));
    snprintf(text, sizeof text, "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
             zcert_public_txt(cert), zcert_secret_txt(cert));
    assert_int_equal(vt_key_public_from_text(text, z85, err, sizeof err), 0);
    assert_string_equal(z85, zcert_public_txt(cert));
    snprintf(text, sizeof text, "curve\n    public-key = \"%s\"\n", zcert_public_txt(cert));
    assert_int_equal(vt_key_public_from_text(text, z85, err, sizeof err), -1);
    assert_non_null(strstr(err, "this is a public key file"));
    assert_int_equal(vt_key_public_from_text("hello\n", z85, err, sizeof err), -1);
    assert_non_null(strstr(err, "stdin holds no secret key"));
    zcert_destroy(&cert);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_z85_rfc_vector),
        cmocka_unit_test(test_z85_round_trip_and_libzmq),
        cmocka_unit_test(test_z85_refusals),
        cmocka_unit_test(test_czmq_files_load),
        cmocka_unit_test(test_our_files_load_in_czmq),
        cmocka_unit_test(test_keygen_pairs_differ),
        cmocka_unit_test(test_keygen_never_overwrites),
        cmocka_unit_test(test_torn_pair_refused),
        cmocka_unit_test(test_zpl_variants_taken),
        cmocka_unit_test(test_zpl_refusals),
        cmocka_unit_test(test_file_too_large),
        cmocka_unit_test(test_public_from_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
