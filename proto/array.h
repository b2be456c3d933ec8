/* array.h: growing an array held as a pointer and a capacity, and runs of
 * consecutive numbers (windows) made into a sorted union. */
#ifndef VANTAGE_ARRAY_H
#define VANTAGE_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* Makes *p hold at least need elements of size bytes: the capacity *cap
 * doubles (from 16) until it does, the contents are kept. 0, or -1 on
 * ENOMEM or a size that does not fit in size_t (*p and *cap unchanged). */
int vt_grow(void **p, size_t *cap, size_t need, size_t size);

/* Numbers lo..hi, both in. */
struct vt_run {
    uint32_t lo, hi;
};

/* Sorts the n runs of r and merges those that overlap or touch, in place;
 * returns how many remain (ascending, disjoint, not adjacent). */
size_t vt_runs_union(struct vt_run *r, size_t n);

#endif
