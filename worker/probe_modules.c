/*
 * probe_modules.c — the table of probe kinds (see probe.h) and what the scan loop
 * needs around it: lookup by name and the capture filter for a module.
 */
#include "probe.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const struct vt_probe_module *const modules[] = {
    &vt_probe_tcp_syn,
    NULL,
};

const struct vt_probe_module *vt_probe_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; modules[i] != NULL; i++)
        if (strcmp(modules[i]->name, name) == 0)
            return modules[i];
    return NULL;
}

const struct vt_probe_module *const *vt_probe_list(void)
{
    return modules;
}

int vt_probe_bpf_filter(const struct vt_probe_module *m, uint32_t saddr, char *buf, size_t bufsize)
{
    int n;

    assert(m != NULL && buf != NULL);
    n = snprintf(buf, bufsize, "(%s) and dst host %u.%u.%u.%u", m->bpf_filter,
                 (unsigned)(saddr >> 24), (unsigned)(saddr >> 16 & 0xff),
                 (unsigned)(saddr >> 8 & 0xff), (unsigned)(saddr & 0xff));
    if (n < 0 || (size_t)n >= bufsize)
        return -1;
    return n;
}
