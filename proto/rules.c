/* rules.c: the built-in rules plus --rules paths (rules.h). */
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vt_rules *vt_rules_open(const char *const *paths, size_t npaths, FILE *warn, char *err,
                               size_t errlen)
{
    char why[400];
    struct vt_rules *rs = vt_rules_new();
    if (!rs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (vt_rules_load_builtin(rs, warn, why, sizeof why) != 0) {
        snprintf(err, errlen, "the built-in rules do not load: %s", why);
        vt_rules_free(rs);
        return NULL;
    }
    for (size_t i = 0; i < npaths; i++)
        if (vt_rules_load_path(rs, paths[i], warn, why, sizeof why) != 0) {
            snprintf(err, errlen, "--rules %s: %s", paths[i], why);
            vt_rules_free(rs);
            return NULL;
        }
    return rs;
}

struct vt_rules *vt_rules_open_lines(const char *lines, FILE *warn, char *err, size_t errlen)
{
    const char *paths[VT_RULES_MAX_PATHS];
    size_t n = 0;
    char *copy = lines ? strdup(lines) : NULL;
    if (lines && !copy) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (char *p = copy, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        if ((nl = strchr(p, '\n')))
            *nl = '\0';
        if (n == VT_RULES_MAX_PATHS) {
            free(copy);
            snprintf(err, errlen, "too many --rules: at most %d (give a directory)",
                     VT_RULES_MAX_PATHS);
            return NULL;
        }
        paths[n++] = p;
    }
    struct vt_rules *rs = vt_rules_open(paths, n, warn, err, errlen);
    free(copy);
    return rs;
}
