/* devices.h: how many devices a period's records stand for — an estimate
 * with a 95% interval, not a union of addresses (docs/storage.md, "Counting devices").
 *
 * The store keeps one record per (window, ip, port). A device whose dynamic
 * address changes is a new address in every window, so distinct addresses
 * over a period overcount. The devices that show a unique identifier in a
 * banner (SSH host key, serial, MAC) can be followed across windows: they
 * tell how many addresses a device uses per window it is seen in (a) and in
 * how many windows it is seen (r). If they are a representative sample, one
 * device stands for a*r of the period's host-windows, and the devices are
 * N = sum_w hosts_w / (a*r). The interval is a bootstrap over the identified
 * devices with a finite-population correction.
 *
 * Pure computation: the caller (the report) reads the store and fills a
 * vt_dev_input; nothing here touches the store, the network or any global. */
#ifndef VANTAGE_DEVICES_H
#define VANTAGE_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One identified device seen at ip in window. */
struct vt_dev_sighting {
    uint32_t window, ip;
};

/* One identified device: s sorted by (window, ip), no duplicates, n >= 1. */
struct vt_dev_history {
    const struct vt_dev_sighting *s;
    size_t n;
};

struct vt_dev_input {
    /* The windows of the period that hold any host, strictly ascending. */
    const uint32_t *windows;
    /* hosts[i]: distinct IPs with a matching open record in windows[i],
     * identified or not. Every identified sighting of windows[i] is one of
     * them, so it must be >= the identified sightings of that window. */
    const uint64_t *hosts;
    size_t nwindows;
    /* Identified devices, firmware-default identifiers (one identifier on
     * many addresses) already removed; each sighting's window must be one of
     * windows[]. */
    const struct vt_dev_history *devices;
    size_t ndevices;
    /* Distinct IPs over the whole period (the naive count): between
     * max_w hosts_w and sum_w hosts_w. */
    uint64_t distinct_ips;
    /* Churn "crossed a prefix" boundary: /prefix_len, 1..32; 0 = 24. */
    unsigned prefix_len;
    /* Bootstrap resamples; 0 = 1000. */
    unsigned bootstrap;
    /* The bootstrap's PRNG seed: the same input and seed give the same
     * output, bit for bit. */
    uint64_t seed;
};

struct vt_dev_estimate {
    /* false: no identified device, so no estimate, only bounds: low =
     * max_window_hosts, high = distinct_ips, estimate and the ratios NAN. */
    bool estimated;
    /* Devices seen in at least one window of the period, and its 95%
     * interval; low <= estimate <= high. */
    double estimate, low, high;
    /* true: the floor (a window's devices, below) lies above the whole
     * interval of the ratio estimate: the identified devices cannot be a
     * representative sample. The estimate is then the floor and high is
     * distinct_ips (docs/storage.md, "The floor"). */
    bool unrepresentative;
    /* a: addresses per identified device per window it was seen in. */
    double addresses_per_window;
    /* r: windows an identified device was seen in, mean over them. */
    double windows_per_device;
    /* a*r: what one device contributes to sum_w hosts_w. The report divides
     * a part's host-windows (one ASN's, say) by it. */
    double host_windows_per_device;
    /* max over windows of hosts. */
    uint64_t max_window_hosts;
    /* Identified devices seen in >= 2 distinct windows ... */
    size_t churn_base;
    /* ... the share of them whose address set differs between two of their
     * windows (NAN when churn_base is 0) ... */
    double churn_changed;
    /* ... and the share whose addresses are not all in one /prefix_len. */
    double churn_crossed;
};

/* Fills *out from *in. 0, or -1 with errno EINVAL (in or out NULL, an array
 * NULL that has elements, windows not ascending, a history unsorted or
 * empty, a sighting in no window of windows[], more identified sightings in
 * a window than hosts, distinct_ips outside [max hosts, sum hosts],
 * prefix_len > 32) or ENOMEM. An empty period (no window, no device) is no
 * error: estimated false, low = high = 0. */
int vt_dev_estimate(const struct vt_dev_input *in, struct vt_dev_estimate *out);

#endif
