/* output_modules.c: the table of output formats and what they share. */
#include "output.h"

#include <string.h>
#include <time.h>

extern const struct vt_output_module vt_output_jsonl;
extern const struct vt_output_module vt_output_csv;

static const struct vt_output_module *const modules[] = {
    &vt_output_jsonl,
    &vt_output_csv,
};

const struct vt_output_module *vt_output_find(const char *name)
{
    for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++)
        if (!strcmp(modules[i]->name, name))
            return modules[i];
    return NULL;
}

const char *vt_output_names(void)
{
    return "jsonl|csv";
}

const char *vt_state_name(enum vt_state s)
{
    return s == VT_STATE_OPEN ? "open" : "closed";
}
