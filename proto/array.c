/* array.c: see array.h. */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>

int vt_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -1;
        n *= 2;
    }
    if (size && n > SIZE_MAX / size)
        return -1;
    void *q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int cmp_run(const void *a, const void *b)
{
    const struct vt_run *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

size_t vt_runs_union(struct vt_run *r, size_t n)
{
    if (n > 1)
        qsort(r, n, sizeof *r, cmp_run);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && r[i].lo <= (uint64_t)r[m - 1].hi + 1) {
            if (r[i].hi > r[m - 1].hi)
                r[m - 1].hi = r[i].hi;
        } else {
            r[m++] = r[i];
        }
    }
    return m;
}
