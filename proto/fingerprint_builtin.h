/* fingerprint_builtin.h: the table of rule files compiled into the program.
 *
 * The build writes it (proto/embed_rules.cmake makes rules_builtin.c from
 * every .xml file of rules/ in the source tree, in name order); fingerprint.c reads it
 * in vt_rules_load_builtin(). Nobody else needs it. */
#ifndef VANTAGE_FINGERPRINT_BUILTIN_H
#define VANTAGE_FINGERPRINT_BUILTIN_H

#include <stddef.h>

struct vt_builtin_rule_file {
    const char *name;         /* "rules/telnet.xml", for messages */
    const unsigned char *xml; /* the file's bytes, not NUL-terminated */
    size_t len;
};

/* vt_builtin_rule_files_n entries (0 when rules/ holds no file). */
extern const struct vt_builtin_rule_file vt_builtin_rule_files[];
extern const size_t vt_builtin_rule_files_n;

#endif
