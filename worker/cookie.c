/*
 * cookie.c — stateless probe validation: the keyed SipHash that gives each probe its
 * TCP sequence number and source port (see cookie.h for the contract).
 *
 * This sits on the send path (once per probe) and the receive path (once per
 * candidate answer), so it allocates nothing and makes no system call.
 */
#include "cookie.h"

#include <assert.h>
#include <string.h>

/* Domain separation for seed-derived keys: bump the version if the derivation or the
 * hash input layout ever changes, so old and new scans cannot be confused. */
static const char seed_label[] = "vantage cookie key v1";

static void set_default_range(struct vt_cookie *c)
{
    c->sport_first = VT_COOKIE_SPORT_FIRST;
    c->sport_count = VT_COOKIE_SPORT_LAST - VT_COOKIE_SPORT_FIRST + 1;
}

void vt_cookie_init(struct vt_cookie *c, const unsigned char key[crypto_shorthash_KEYBYTES])
{
    assert(c != NULL && key != NULL);
    memcpy(c->key, key, sizeof c->key);
    set_default_range(c);
}

void vt_cookie_init_seed(struct vt_cookie *c, uint64_t seed)
{
    unsigned char msg[sizeof seed_label - 1 + 8];
    unsigned char key[crypto_shorthash_KEYBYTES];

    assert(c != NULL);
    memcpy(msg, seed_label, sizeof seed_label - 1);
    for (unsigned i = 0; i < 8; i++) /* little-endian, host independent */
        msg[sizeof seed_label - 1 + i] = (unsigned char)(seed >> (8 * i));
    /* crypto_generichash_BYTES_MIN is 16, exactly the SipHash key size. */
    crypto_generichash(key, sizeof key, msg, sizeof msg, NULL, 0);
    vt_cookie_init(c, key);
    sodium_memzero(key, sizeof key);
}

int vt_cookie_init_random(struct vt_cookie *c)
{
    assert(c != NULL);
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(c->key, sizeof c->key);
    set_default_range(c);
    return 0;
}

int vt_cookie_set_sport_range(struct vt_cookie *c, uint16_t first, uint16_t last)
{
    assert(c != NULL);
    if (first == 0 || first > last)
        return -1;
    /* count fits in uint16_t: first >= 1, so last - first + 1 <= 65535. */
    c->sport_first = first;
    c->sport_count = (uint16_t)(last - first + 1);
    return 0;
}

uint64_t vt_cookie_hash(const struct vt_cookie *c, uint32_t saddr, uint32_t daddr, uint16_t dport)
{
    unsigned char in[10], out[crypto_shorthash_BYTES];
    uint64_t h = 0;

    in[0] = (unsigned char)(saddr >> 24);
    in[1] = (unsigned char)(saddr >> 16);
    in[2] = (unsigned char)(saddr >> 8);
    in[3] = (unsigned char)saddr;
    in[4] = (unsigned char)(daddr >> 24);
    in[5] = (unsigned char)(daddr >> 16);
    in[6] = (unsigned char)(daddr >> 8);
    in[7] = (unsigned char)daddr;
    in[8] = (unsigned char)(dport >> 8);
    in[9] = (unsigned char)dport;
    crypto_shorthash(out, in, sizeof in, c->key);
    for (int i = 7; i >= 0; i--)
        h = (h << 8) | out[i];
    return h;
}

struct vt_probe_id vt_cookie_probe(const struct vt_cookie *c, uint32_t saddr, uint32_t daddr,
                                   uint16_t dport)
{
    uint64_t h = vt_cookie_hash(c, saddr, daddr, dport);
    struct vt_probe_id id;

    assert(c->sport_count > 0);
    id.seq = (uint32_t)h;
    id.sport = (uint16_t)(c->sport_first + (uint32_t)(h >> 32) % c->sport_count);
    return id;
}
