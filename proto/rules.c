/* rules.c: the built-in rules plus --rules paths (rules.h). */
#include "rules.h"

#include <stdio.h>

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
