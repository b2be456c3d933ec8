/*
 * world.h: the lab's simulated Internet, placed deterministically from a seed.
 *
 * The world lives in 198.18.0.0/16. It holds devices (each of a catalogue type,
 * with a MAC and maybe a serial number), closed hosts (addresses that answer RST
 * on every lab port), and per vantage one blocked /24 (a network that drops that
 * vantage's packets; none with no_blocked). Static devices keep their address forever; dynamic
 * devices live in pools (/22 blocks) and take a new address in their pool at every epoch.
 *
 * Availability: in each epoch a device is online with probability
 * availability_pct / 100, drawn per (device, epoch). An offline device keeps its
 * address (nobody else takes it) but is absent: silent on every port, in no nft
 * set, not served. Shared identifiers: shared_ids_pct of the devices of each type
 * that shows an identifier show that type's firmware default instead of their
 * own (the same serial or MAC for all of them), as devices on the Internet do.
 *
 * Same parameters, same world: every choice comes from the seed through
 * splitmix64, never from the clock. world_set_epoch() recomputes the addresses of
 * an epoch from epoch 0, so any process can jump to any epoch.
 */
#ifndef VANTAGE_LAB_WORLD_H
#define VANTAGE_LAB_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"

#define WORLD_NET          0xc6120000u /* 198.18.0.0 */
#define WORLD_NET_BITS     16
#define WORLD_SIZE         (1u << (32 - WORLD_NET_BITS))
#define WORLD_POOL_BITS    22 /* dynamic pools are /22 blocks */
#define WORLD_POOL_SIZE    (1u << (32 - WORLD_POOL_BITS))
#define WORLD_MAX_POOLS    16
#define WORLD_MAX_DEVICES  20000
#define WORLD_MAX_VANTAGES 64
#define WORLD_MAX_EPOCH    100000

struct world_params {
    uint64_t seed;
    unsigned devices;          /* number of devices */
    unsigned churn_pct;        /* share of devices that are dynamic, 0..100 */
    unsigned vantages;         /* number of vantages, 1..WORLD_MAX_VANTAGES */
    unsigned closed_permille;  /* closed hosts per thousand addresses of the space */
    unsigned availability_pct; /* chance that a device is online in an epoch, 0..100 */
    unsigned shared_ids_pct;   /* share of identifier-showing devices that show the default */
    bool no_blocked;           /* no vantage-blocked /24s */
};

struct device {
    unsigned id;
    const struct device_type *type;
    struct device_ident ident; /* what it shows: its own, or its type's default */
    bool ident_shared;         /* ident is the type's firmware default (world_default_ident) */
    bool dynamic;
    bool online;   /* in the current epoch; an offline device answers on no port */
    int pool;      /* index into world.pools, -1 for a static device */
    uint32_t addr; /* host byte order, in the current epoch */
};

struct blocked_net {
    unsigned vantage; /* 1-based */
    uint32_t net;     /* a /24, host byte order */
};

/* Marks in world.owner for addresses that hold no device. */
#define OWNER_NONE   (-1)
#define OWNER_CLOSED (-2)

struct world {
    struct world_params p;
    unsigned epoch;
    struct device *dev;
    unsigned ndev;
    uint32_t pools[WORLD_MAX_POOLS]; /* base addresses of the /22 pools */
    unsigned npools;
    uint32_t *closed_hosts;
    unsigned nclosed;
    struct blocked_net blocked[WORLD_MAX_VANTAGES];
    unsigned nblocked;
    int32_t *owner; /* WORLD_SIZE entries: device index, OWNER_NONE or OWNER_CLOSED */
    /* history[e * ndev + i]: address of device i in epoch e, for e in 0..epoch */
    uint32_t *history;
    /* online_hist[e * ndev + i]: device i online in epoch e, for e in 0..epoch */
    bool *online_hist;
};

/* Builds the world in epoch 0. On failure writes a one-line reason to err. */
int world_build(struct world *w, const struct world_params *p, char *err, size_t errlen);
void world_free(struct world *w);
/* Moves the dynamic devices to their addresses of the given epoch. */
int world_set_epoch(struct world *w, unsigned epoch, char *err, size_t errlen);
/* The online device at addr in the current epoch, or NULL (none, or offline). */
const struct device *world_device_at(const struct world *w, uint32_t addr);
/* Is addr a closed host (no device, RST on every lab port)? */
bool world_is_closed_host(const struct world *w, uint32_t addr);
/* The vantage-blocked /24 that holds addr for vantage v, or false. */
bool world_blocked_for(const struct world *w, unsigned vantage, uint32_t addr);
/* The firmware-default identity of type t: serial <prefix>000000000, MAC <OUI>:00:00:00. */
void world_default_ident(const struct device_type *t, struct device_ident *id);

/* Formats a host-order address as dotted quad into buf (at least 16 bytes). */
const char *ip_str(uint32_t addr, char *buf);

#endif
