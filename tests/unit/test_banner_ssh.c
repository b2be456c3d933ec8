/* test_banner_ssh.c: worker/banner_ssh.c without sockets. What a user would
 * notice: the identification line and the software version Recog matches
 * come out whatever precedes them, and the host key's fingerprint is the one
 * ssh-keygen -l would print, taken from the server's KEX_ECDH_REPLY after we
 * offered curve25519-sha256. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "banner_module.h"

struct run {
    void *state;
    uint8_t out[4096];
    size_t out_len;
    enum vt_bm_verdict v;
    struct vt_grab g;
};

static void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->state = malloc(vt_banner_ssh.state_size);
    assert_non_null(r->state);
    vt_banner_ssh.init(r->state);
}

static void run_feed(struct run *r, const void *buf, size_t n, size_t split)
{
    size_t i = 0;
    if (split == 0)
        split = n;
    while (i < n && r->v == VT_BM_MORE) {
        size_t k = n - i < split ? n - i : split;
        struct vt_bm_out o = {r->out + r->out_len, 0, 1024};
        r->v = vt_banner_ssh.on_data(r->state, (const uint8_t *)buf + i, k, &o);
        assert_true(o.len <= o.cap);
        r->out_len += o.len;
        i += k;
    }
}

static const char *part_of(const struct vt_grab *g, const char *name, size_t *len)
{
    for (size_t i = 0; i < g->nparts; i++)
        if (strcmp(g->parts[i].matches, name) == 0) {
            *len = g->parts[i].len;
            return g->parts[i].text;
        }
    return NULL;
}

static size_t packet(uint8_t *p, const uint8_t *payload, size_t n)
{
    size_t pad = 8 - (5 + n) % 8;
    if (pad < 4)
        pad += 8;
    uint32_t len = (uint32_t)(1 + n + pad);
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[4] = (uint8_t)pad;
    memcpy(p + 5, payload, n);
    memset(p + 5 + n, 0x5a, pad);
    return 4 + len;
}

static void test_identification(void **st)
{
    static const char in[] = "Welcome to the box\r\nanother line\r\n"
                             "SSH-2.0-dropbear_2019.78\r\n";
    for (size_t split = 0; split < 6; split++) {
        struct run r;
        size_t n;
        run_init(&r);
        run_feed(&r, in, sizeof(in) - 1, split);
        assert_int_equal(r.v, VT_BM_MORE); /* now waiting for the key exchange */
        assert_true(r.out_len > 20);
        assert_memory_equal(r.out, "SSH-2.0-vantage_", 16);
        /* After our line: KEXINIT (20) offering curve25519, then ECDH_INIT (30). */
        const uint8_t *p = memchr(r.out, '\n', r.out_len) + 1;
        assert_int_equal(p[5], 20);
        assert_non_null(memmem(p, r.out_len, "curve25519-sha256", 17));
        uint32_t l1 = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
        assert_int_equal(p[4 + l1 + 5], 30);
        assert_true(vt_banner_ssh.on_eof(r.state));
        vt_banner_ssh.finish(r.state, &r.g);
        assert_int_equal(r.g.banner_len, strlen("SSH-2.0-dropbear_2019.78"));
        assert_memory_equal(r.g.banner, "SSH-2.0-dropbear_2019.78", r.g.banner_len);
        const char *v = part_of(&r.g, "ssh.banner", &n);
        assert_non_null(v);
        assert_int_equal(n, strlen("dropbear_2019.78"));
        assert_memory_equal(v, "dropbear_2019.78", n);
        assert_null(part_of(&r.g, "ssh.hostkey", &n));
        free(r.state);
    }
}

static void test_hostkey(void **st)
{
    static const char id[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n";
    uint8_t blob[51], buf[2048], payload[512], h[32];
    char want[64];
    size_t n = 0, k;

    assert_true(sodium_init() >= 0);
    /* An ssh-ed25519 public key blob: string "ssh-ed25519", string key. */
    memcpy(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
    for (int i = 0; i < 32; i++)
        blob[19 + i] = (uint8_t)i;
    memcpy(buf, id, sizeof(id) - 1);
    n = sizeof(id) - 1;
    payload[0] = 20; /* the server's KEXINIT: skipped */
    memset(payload + 1, 0, 60);
    n += packet(buf + n, payload, 61);
    payload[0] = 31; /* KEX_ECDH_REPLY: string K_S, string Q_S, string sig */
    payload[1] = payload[2] = payload[3] = 0;
    payload[4] = sizeof(blob);
    memcpy(payload + 5, blob, sizeof(blob));
    k = 5 + sizeof(blob);
    memset(payload + k, 0, 40);
    k += 40;
    n += packet(buf + n, payload, k);

    crypto_hash_sha256(h, blob, sizeof(blob));
    memcpy(want, "SHA256:", 7);
    sodium_bin2base64(want + 7, sizeof(want) - 7, h, sizeof(h),
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    for (size_t split = 0; split < 40; split += 7) {
        struct run r;
        size_t len;
        run_init(&r);
        run_feed(&r, buf, n, split);
        assert_int_equal(r.v, VT_BM_DONE);
        vt_banner_ssh.finish(r.state, &r.g);
        const char *fp = part_of(&r.g, "ssh.hostkey", &len);
        assert_non_null(fp);
        assert_int_equal(len, strlen(want));
        assert_memory_equal(fp, want, len);
        assert_int_equal(len, 7 + 43);
        free(r.state);
    }
}

static void test_hostile(void **st)
{
    /* No identification within the prelude cap: done, no banner. */
    struct run r;
    char junk[600];
    memset(junk, 'a', sizeof(junk));
    junk[sizeof(junk) - 1] = '\n';
    run_init(&r);
    for (int i = 0; i < 20 && r.v == VT_BM_MORE; i++)
        run_feed(&r, junk, sizeof(junk), 0);
    assert_int_equal(r.v, VT_BM_DONE);
    vt_banner_ssh.finish(r.state, &r.g);
    assert_int_equal(r.g.nparts, 0);
    free(r.state);

    /* A huge packet length after the identification ends it. */
    static const char big[] = "SSH-2.0-x\r\n\x7f\xff\xff\xff\x04";
    run_init(&r);
    run_feed(&r, big, sizeof(big) - 1, 0);
    assert_int_equal(r.v, VT_BM_DONE);
    free(r.state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identification),
        cmocka_unit_test(test_hostkey),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
