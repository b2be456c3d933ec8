/* banner_ssh.c: the SSH module. Reads the server's identification line
 * (RFC 4253 §4.2: "SSH-protoversion-softwareversion SP comments CR LF", at
 * most 255 bytes; a server may send other lines before it, which are
 * skipped, up to SSH_PRELUDE_MAX bytes).
 *
 * The banner is the whole line without its CR LF ("SSH-2.0-OpenSSH_9.2p1
 * Debian-2"). The `ssh.banner` part is what Recog's ssh_banners.xml matches:
 * the software version and comments, after "SSH-protoversion-"
 * ("OpenSSH_9.2p1 Debian-2").
 *
 * The host key, where it is cheap: once the server has identified itself we
 * send our identification, a KEXINIT that offers only curve25519-sha256 and
 * at once a KEX_ECDH_INIT with an ephemeral libsodium key, and read the
 * server's packets (unencrypted until NEWKEYS) up to its KEX_ECDH_REPLY. Its
 * host key blob K_S gives the `ssh.hostkey` part, "SHA256:<base64 without
 * padding>" as ssh-keygen -l prints it (a label, not a Recog matches name).
 * The key exchange goes no further: we never send NEWKEYS, and close. A
 * server that does not speak curve25519 disconnects and the grab keeps its
 * banner. At most SSH_PKT_MAX bytes per packet and SSH_PKTS_MAX packets are
 * read before the reply. */
#include "banner_module.h"

#include <sodium.h>
#include <string.h>

#include "version.h"

#define SSH_LINE_MAX    255
#define SSH_PRELUDE_MAX 8192 /* bytes of other lines before the identification */
#define SSH_PKT_MAX     8192 /* bytes of one binary packet read */
#define SSH_PKTS_MAX    8    /* packets read before KEX_ECDH_REPLY */

#define MSG_DISCONNECT     1
#define MSG_KEXINIT        20
#define MSG_KEX_ECDH_INIT  30
#define MSG_KEX_ECDH_REPLY 31

struct ssh_state {
    bool found;     /* line holds the identification */
    bool kex;       /* our KEXINIT went out: reading packets */
    size_t prelude; /* bytes of other lines so far */
    size_t line_len;
    size_t pkt_len, pkts;
    size_t fp_len;
    char line[SSH_LINE_MAX];
    char fp[8 + sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
                                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
    uint8_t pkt[SSH_PKT_MAX];
};

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *put_str(uint8_t *p, const void *s, size_t n)
{
    p = put_u32(p, (uint32_t)n);
    memcpy(p, s, n);
    return p + n;
}

/* Frames payload as an unencrypted binary packet (RFC 4253 §6) at out.
 * Returns false if it does not fit. */
static bool put_packet(struct vt_bm_out *out, const uint8_t *payload, size_t n)
{
    size_t pad = 8 - (4 + 1 + n) % 8;
    if (pad < 4)
        pad += 8;
    size_t total = 4 + 1 + n + pad;
    if (out->cap - out->len < total)
        return false;
    uint8_t *p = put_u32(out->buf + out->len, (uint32_t)(1 + n + pad));
    *p++ = (uint8_t)pad;
    memcpy(p, payload, n);
    memset(p + n, 0, pad);
    out->len += total;
    return true;
}

/* Our identification, KEXINIT and KEX_ECDH_INIT, all at once. */
static bool ssh_send_kex(struct vt_bm_out *out)
{
    static const char ident[] = "SSH-2.0-vantage_" VANTAGE_VERSION "\r\n";
    static const char *const lists[10] = {
        "curve25519-sha256,curve25519-sha256@libssh.org",
        "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
        "rsa-sha2-512,rsa-sha2-256,ssh-rsa",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,"
        "aes256-gcm@openssh.com,aes128-cbc",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,"
        "aes256-gcm@openssh.com,aes128-cbc",
        "hmac-sha2-256,hmac-sha2-512,hmac-sha1",
        "hmac-sha2-256,hmac-sha2-512,hmac-sha1",
        "none",
        "none",
        "",
        "",
    };
    uint8_t kexinit[1024], *p = kexinit, secret[crypto_scalarmult_SCALARBYTES];
    uint8_t pub[crypto_scalarmult_BYTES], init[64];
    size_t start = out->len;

    if (out->cap - out->len < sizeof(ident) - 1)
        return false;
    memcpy(out->buf + out->len, ident, sizeof(ident) - 1);
    out->len += sizeof(ident) - 1;
    *p++ = MSG_KEXINIT;
    randombytes_buf(p, 16); /* cookie */
    p += 16;
    for (int i = 0; i < 10; i++)
        p = put_str(p, lists[i], strlen(lists[i]));
    *p++ = 0;          /* first_kex_packet_follows */
    p = put_u32(p, 0); /* reserved */
    randombytes_buf(secret, sizeof(secret));
    crypto_scalarmult_base(pub, secret);
    init[0] = MSG_KEX_ECDH_INIT;
    put_str(init + 1, pub, sizeof(pub));
    if (!put_packet(out, kexinit, (size_t)(p - kexinit)) ||
        !put_packet(out, init, 1 + 4 + sizeof(pub))) {
        out->len = start;
        return false;
    }
    return true;
}

/* Reads binary packets from pkt; true when the grab has what it can get. */
static bool ssh_packets(struct ssh_state *s)
{
    while (s->pkt_len >= 5) {
        uint32_t len = get_u32(s->pkt);
        if (len < 5 || len > SSH_PKT_MAX - 4)
            return true; /* not a packet we read */
        if (s->pkt_len < 4 + (size_t)len)
            return false;
        size_t pad = s->pkt[4];
        const uint8_t *pl = s->pkt + 5;
        size_t n = pad + 1 <= len ? len - 1 - pad : 0;
        if (n > 0 && pl[0] == MSG_KEX_ECDH_REPLY && n >= 5) {
            uint32_t kl = get_u32(pl + 1);
            if (kl > 0 && kl <= n - 5) {
                uint8_t h[crypto_hash_sha256_BYTES];
                crypto_hash_sha256(h, pl + 5, kl);
                memcpy(s->fp, "SHA256:", 7);
                sodium_bin2base64(s->fp + 7, sizeof(s->fp) - 7, h, sizeof(h),
                                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
                s->fp_len = strlen(s->fp);
            }
            return true;
        }
        if (n > 0 && pl[0] == MSG_DISCONNECT)
            return true;
        if (++s->pkts >= SSH_PKTS_MAX)
            return true;
        memmove(s->pkt, s->pkt + 4 + len, s->pkt_len - 4 - len);
        s->pkt_len -= 4 + len;
    }
    return false;
}

static void ssh_init(void *state)
{
    memset(state, 0, offsetof(struct ssh_state, line));
    if (sodium_init() < 0)
        ((struct ssh_state *)state)->kex = true; /* no randomness: banner only */
}

static enum vt_bm_verdict ssh_on_data(void *state, const uint8_t *buf, size_t n,
                                      struct vt_bm_out *out)
{
    struct ssh_state *s = state;
    size_t i = 0;

    if (s->found) {
        size_t k = sizeof(s->pkt) - s->pkt_len < n ? sizeof(s->pkt) - s->pkt_len : n;
        memcpy(s->pkt + s->pkt_len, buf, k);
        s->pkt_len += k;
        return ssh_packets(s) ? VT_BM_DONE : VT_BM_MORE;
    }
    for (; i < n && !s->found; i++) {
        char c = (char)buf[i];
        if (c == '\n') {
            if (s->line_len >= 4 && memcmp(s->line, "SSH-", 4) == 0) {
                s->found = true;
                i++;
                break;
            }
            s->prelude += s->line_len + 1;
            s->line_len = 0;
            if (s->prelude > SSH_PRELUDE_MAX)
                return VT_BM_DONE;
            continue;
        }
        if (s->line_len < sizeof(s->line)) {
            s->line[s->line_len++] = c;
        } else if (memcmp(s->line, "SSH-", 4) == 0) {
            s->found = true; /* longer than the RFC allows: keep its start */
        } else {
            s->prelude++;
            if (s->prelude > SSH_PRELUDE_MAX)
                return VT_BM_DONE;
        }
    }
    if (!s->found)
        return VT_BM_MORE;
    /* The identification is in: ask for the host key, or stop here. */
    if (s->kex || !ssh_send_kex(out))
        return VT_BM_DONE;
    s->kex = true;
    return i < n ? ssh_on_data(s, buf + i, n - i, out) : VT_BM_MORE;
}

static bool ssh_on_eof(void *state)
{
    return ((struct ssh_state *)state)->found;
}

static void ssh_finish(void *state, struct vt_grab *g)
{
    struct ssh_state *s = state;
    size_t n = s->line_len;

    if (n < 4 || memcmp(s->line, "SSH-", 4) != 0)
        return;
    if (s->line[n - 1] == '\r')
        n--;
    g->banner = s->line;
    g->banner_len = n;
    const char *v = memchr(s->line + 4, '-', n - 4);
    if (v != NULL)
        vt_grab_add_part(g, "ssh.banner", v + 1, (size_t)(s->line + n - (v + 1)));
    vt_grab_add_part(g, "ssh.hostkey", s->fp, s->fp_len);
}

/* "SSH-" first, or on a later line after others (RFC 4253 allows them). */
static int ssh_detect(const uint8_t *buf, size_t n)
{
    size_t k = n < 4 ? n : 4;

    if (memcmp(buf, "SSH-", k) == 0)
        return k == 4 ? VT_DETECT_YES : VT_DETECT_MAYBE;
    for (size_t i = 0; i + 5 <= n; i++)
        if (buf[i] == '\n' && memcmp(buf + i + 1, "SSH-", 4) == 0)
            return VT_DETECT_YES;
    return VT_DETECT_NO;
}

const struct vt_banner_module vt_banner_ssh = {
    .name = "ssh",
    .detect = ssh_detect,
    .probe = NULL,
    .state_size = sizeof(struct ssh_state),
    .init = ssh_init,
    .on_data = ssh_on_data,
    .on_eof = ssh_on_eof,
    .finish = ssh_finish,
};
