/* config.c: settings of `vantage-worker run` from a file. See config.h. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(name, member)                                                                        \
    {                                                                                              \
        name, offsetof(struct vt_worker_config, member)                                            \
    }

static const struct {
    const char *key;
    size_t off;
} fields[] = {
    FIELD("coordinator", coordinator),
    FIELD("server-key", server_key),
    FIELD("key", key),
    FIELD("name", name),
    FIELD("interface", interface),
    FIELD("source-ip", source_ip),
    FIELD("gateway-mac", gateway_mac),
    FIELD("max-rate", max_rate),
    FIELD("scope", scope),
    FIELD("exclude", exclude),
    FIELD("allow-ports", allow_ports),
    FIELD("user", user),
    FIELD("spool", spool),
    FIELD("spool-max", spool_max),
    FIELD("banner-concurrency", banner_concurrency),
    FIELD("host-cap", host_cap),
    FIELD("rules", rules),
    FIELD("user-agent", user_agent),
    FIELD("banner-timeout", banner_timeout),
    FIELD("metrics", metrics),
};

#define NFIELDS (sizeof fields / sizeof fields[0])

static char **slot(struct vt_worker_config *c, size_t i)
{
    return (char **)((char *)c + fields[i].off);
}

int vt_worker_config_set(struct vt_worker_config *c, const char *key, const char *value)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        if (strcmp(fields[i].key, key) != 0)
            continue;
        char *old = *slot(c, i), *copy;
        if (strcmp(key, "rules") == 0 && old) { /* a list: one more path */
            size_t n = strlen(old), m = strlen(value);
            copy = malloc(n + m + 2);
            if (copy) {
                memcpy(copy, old, n);
                copy[n] = '\n';
                memcpy(copy + n + 1, value, m + 1);
            }
        } else {
            copy = strdup(value);
        }
        if (!copy)
            return -1;
        free(old);
        *slot(c, i) = copy;
        return 0;
    }
    return -1;
}

struct load_ctx {
    struct vt_worker_config *c;
    char bad[128];
};

static int on_entry(void *arg, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = arg;
    if (section[0] != '\0' || vt_worker_config_set(ctx->c, name, value) != 0) {
        snprintf(ctx->bad, sizeof ctx->bad, "%s%s%s", section, section[0] ? "." : "", name);
        return 0;
    }
    return 1;
}

int vt_worker_config_load(struct vt_worker_config *c, const char *path, char *err, size_t errlen)
{
    struct load_ctx ctx = {c, ""};
    int rc = ini_parse(path, on_entry, &ctx);
    if (rc == -1) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    if (rc != 0) {
        if (ctx.bad[0])
            snprintf(err, errlen,
                     "%s:%d: unknown key '%s' (keys are the flags of 'vantage-worker run', "
                     "without '--'; no sections)",
                     path, rc, ctx.bad);
        else
            snprintf(err, errlen, "%s:%d: not a 'key = value' line", path, rc);
        return -1;
    }
    return 0;
}

int vt_worker_config_merge(struct vt_worker_config *base, const struct vt_worker_config *over)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        char *v = *slot((struct vt_worker_config *)over, i);
        if (v && vt_worker_config_set(base, fields[i].key, v) != 0)
            return -1;
    }
    return 0;
}

size_t vt_worker_config_changed(const struct vt_worker_config *a, const struct vt_worker_config *b,
                                const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < NFIELDS && n < max; i++) {
        const char *x = *slot((struct vt_worker_config *)a, i),
                   *y = *slot((struct vt_worker_config *)b, i);
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
            names[n++] = fields[i].key;
    }
    return n;
}

void vt_worker_config_free(struct vt_worker_config *c)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        free(*slot(c, i));
        *slot(c, i) = NULL;
    }
}
