/* banner_modules.c: the table of banner modules (banner_module.h) and the
 * detection that picks one from a server's first bytes, LZR's way (Izhikevich
 * et al., USENIX Security 2021): the bytes name the protocol, never the port.
 *
 * Every module but generic is asked; the first to say VT_DETECT_YES wins (the
 * table's order breaks ties, and no two protocols share a first byte here:
 * IAC or a prompt, "SSH-", "HTTP/"). If none says yes and none says maybe,
 * waiting longer cannot help and generic takes the bytes at once. */
#include "banner_module.h"

#include <string.h>

static const struct vt_banner_module *const modules[] = {
    &vt_banner_telnet,
    &vt_banner_ssh,
    &vt_banner_http,
    &vt_banner_generic, /* last: claims what no other module does */
    NULL,
};

const struct vt_banner_module *const *vt_banner_modules(void)
{
    return modules;
}

size_t vt_banner_state_max(void)
{
    size_t max = 0;
    for (size_t i = 0; modules[i] != NULL; i++)
        if (modules[i]->state_size > max)
            max = modules[i]->state_size;
    return max;
}

const struct vt_banner_module *vt_banner_detect(const uint8_t *buf, size_t n, bool final)
{
    bool maybe = false;

    if (n == 0) /* nothing to tell by (the engine never asks so; a caller might) */
        return final ? &vt_banner_generic : NULL;
    for (size_t i = 0; modules[i] != NULL; i++) {
        if (modules[i] == &vt_banner_generic)
            continue;
        int c = modules[i]->detect(buf, n);
        if (c >= VT_DETECT_YES)
            return modules[i];
        if (c > VT_DETECT_NO)
            maybe = true;
    }
    if (maybe && !final)
        return NULL;
    return &vt_banner_generic;
}

const struct vt_banner_module *vt_banner_prober(void)
{
    for (size_t i = 0; modules[i] != NULL; i++)
        if (modules[i]->probe != NULL)
            return modules[i];
    return NULL;
}

void vt_grab_add_part(struct vt_grab *g, const char *matches, const char *text, size_t len)
{
    if (len == 0 || text == NULL || g->nparts >= VT_BANNER_PARTS)
        return;
    g->parts[g->nparts].matches = matches;
    g->parts[g->nparts].text = text;
    g->parts[g->nparts].len = len;
    g->nparts++;
}
