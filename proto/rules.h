/* rules.h: the rule set a program runs with: the built-in rules plus every
 * --rules PATH (a file or a directory of *.xml), as both programs and
 * `vantage relabel` load it. */
#ifndef VANTAGE_RULES_H
#define VANTAGE_RULES_H

#include <stddef.h>
#include <stdio.h>

#include "fingerprint.h"

/* The most --rules a program takes. */
#define VT_RULES_MAX_PATHS 32

/* Loads the built-in rules, then each path in order. Bad single rules are
 * reported on warn ("FILE:LINE: reason") and skipped; a path that cannot be
 * read fails the whole load (NULL with a one-line reason in err, naming the
 * path and what to do). */
struct vt_rules *vt_rules_open(const char *const *paths, size_t npaths, FILE *warn, char *err,
                               size_t errlen);

/* The same from the paths of a repeatable --rules as a config keeps them:
 * one per line (NULL or "": none). */
struct vt_rules *vt_rules_open_lines(const char *lines, FILE *warn, char *err, size_t errlen);

#endif
