/* banner_generic.c: what no other module claims ("unknown"). Keeps the first
 * GENERIC_MAX bytes as they came, as the banner; writers escape them. The
 * grab ends when they are held, or at the peer's silence or close. */
#include "banner_module.h"

#include <string.h>

#define GENERIC_MAX 512

struct generic_state {
    size_t len;
    uint8_t buf[GENERIC_MAX];
};

static void generic_init(void *state)
{
    ((struct generic_state *)state)->len = 0;
}

static int generic_detect(const uint8_t *buf, size_t n)
{
    return VT_DETECT_MAYBE;
}

static enum vt_bm_verdict generic_on_data(void *state, const uint8_t *buf, size_t n,
                                          struct vt_bm_out *out)
{
    struct generic_state *s = state;
    size_t take = GENERIC_MAX - s->len;

    if (take > n)
        take = n;
    memcpy(s->buf + s->len, buf, take);
    s->len += take;
    return s->len == GENERIC_MAX ? VT_BM_DONE : VT_BM_MORE;
}

static void generic_finish(void *state, struct vt_grab *g)
{
    struct generic_state *s = state;
    g->banner = (const char *)s->buf;
    g->banner_len = s->len;
}

const struct vt_banner_module vt_banner_generic = {
    .name = "unknown",
    .detect = generic_detect,
    .probe = NULL,
    .state_size = sizeof(struct generic_state),
    .init = generic_init,
    .on_data = generic_on_data,
    .on_eof = NULL,
    .finish = generic_finish,
};
