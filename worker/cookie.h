/*
 * cookie.h — stateless probe validation (the "cookie" in ZMap's sense).
 *
 * A probe to (daddr, dport) from saddr carries an identity derived from a keyed
 * SipHash-2-4 (libsodium crypto_shorthash) of (saddr, daddr, dport): the low 32
 * bits are the TCP sequence number, the high 32 bits pick the source port inside a
 * configurable range. An answer is ours exactly when its addresses and ports hash
 * back to the (seq, sport) it acknowledges, so the scanner keeps no per-probe state
 * and a forged or stray packet is rejected unless its sender knows the key.
 *
 * Every probe of one target (--probes N, retransmissions) carries the same
 * (seq, sport), so an answer to any of them validates the same way.
 *
 * All addresses and ports are in host byte order.
 */
#ifndef VANTAGE_WORKER_COOKIE_H
#define VANTAGE_WORKER_COOKIE_H

#include <stdint.h>

#include <sodium.h>

/* Default source-port range, inclusive, as ZMap's (it also avoids 1..32767, where
 * services listen, and sits mostly inside Linux's ephemeral range). */
#define VT_COOKIE_SPORT_FIRST 32768
#define VT_COOKIE_SPORT_LAST  61000

struct vt_cookie {
    unsigned char key[crypto_shorthash_KEYBYTES]; /* 16 bytes */
    uint16_t sport_first;                         /* first source port */
    uint16_t sport_count;                         /* ports in range, >= 1 */
};

/* What a probe carries: its TCP sequence number and source port. */
struct vt_probe_id {
    uint32_t seq;
    uint16_t sport;
};

/* Key from the caller's 16 bytes; default source-port range. */
void vt_cookie_init(struct vt_cookie *c, const unsigned char key[crypto_shorthash_KEYBYTES]);

/* Deterministic key derived from a seed (BLAKE2b of a fixed label and the seed), so
 * `--seed N` reproduces a scan's probes exactly. Anyone who knows the seed can forge
 * answers; use vt_cookie_init_random when the seed is not secret. */
void vt_cookie_init_seed(struct vt_cookie *c, uint64_t seed);

/* Fresh random key (randombytes_buf). Returns 0, or -1 if libsodium cannot
 * initialise (no entropy source); c is then unusable. */
int vt_cookie_init_random(struct vt_cookie *c);

/* Sets the source-port range to first..last inclusive. Returns 0, or -1 (and leaves
 * the range unchanged) if first > last or first is 0. */
int vt_cookie_set_sport_range(struct vt_cookie *c, uint16_t first, uint16_t last);

/* The raw 64-bit keyed hash of (saddr, daddr, dport), for probe kinds that want to
 * spend the bits differently. Input is the 10 bytes saddr|daddr|dport, big-endian;
 * output is SipHash's 8 bytes read little-endian, so results match on any host. */
uint64_t vt_cookie_hash(const struct vt_cookie *c, uint32_t saddr, uint32_t daddr, uint16_t dport);

/* The (seq, sport) of the probe from saddr to (daddr, dport):
 * seq = low 32 bits of the hash, sport = sport_first + (hash >> 32) % sport_count. */
struct vt_probe_id vt_cookie_probe(const struct vt_cookie *c, uint32_t saddr, uint32_t daddr,
                                   uint16_t dport);

#endif
