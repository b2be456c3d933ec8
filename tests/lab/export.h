/*
 * export.h: the two views of a world that leave devsim: the ground truth as JSON
 * (for tests that measure recall, precision and device counts) and the nftables
 * script that makes the target namespace's packet filter agree with it.
 */
#ifndef VANTAGE_LAB_EXPORT_H
#define VANTAGE_LAB_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "world.h"

/* The nftables table in the target namespace that `lab up` creates. */
#define LAB_NFT_TABLE "inet vantage_lab"

/* Vantage v's network: 198.19.v.0/24 (the lab's addressing plan, see README). */
#define VANTAGE_NET(v) (0xc6130000u | ((uint32_t)(v) << 8))

/* Writes the ground truth of the world's current epoch as one JSON document. */
int export_truth(const struct world *w, FILE *out, char *err, size_t errlen);
/*
 * Writes an `nft -f` script that, in one transaction, flushes and refills the
 * sets of open and closed (address . port) pairs and the vantage-blocking rules.
 */
int export_nft(const struct world *w, FILE *out, char *err, size_t errlen);

#endif
