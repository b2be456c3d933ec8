/* fingerprint.h: identification of services by rules in Recog's XML format.
 *
 * A rule file is `<fingerprints matches="telnet.banner">` holding
 * `<fingerprint pattern="…" flags="…">` rules, each with a `<description>`,
 * `<example>`s (the text it must match, with the captures expected as
 * attributes) and `<param pos="N" name="hw.vendor" value="…"/>`s: pos 0 is a
 * fixed value (with `{field}` replaced by another param's value), pos N > 0 is
 * capture group N. Files are read with libxml2 and patterns compiled with
 * PCRE2 (JIT where available, match and depth limits so that a catastrophic
 * pattern costs a bounded time).
 *
 * What a file matches names a part of a banner: `telnet.banner`,
 * `http_header.server`, `http_header.wwwauth`, `html_title`, `ssh.banner`,
 * … The grabber splits what it read into such parts; vt_rules_match() feeds a
 * part to every file declaring it. Within a file the first rule that matches
 * wins (as in Recog). Text is normalised first as Recog's own tools do:
 * trailing CR, LF and spaces are trimmed.
 *
 * Labels (labels.h): every param of the matching rule under its Recog name
 * (`hw.vendor`, `os.product`, …), and the normalised `vendor`, `product`,
 * `device`, `version` and `cpe` taken from hw.*, then os.*, then service.*
 * (first present wins; cpe from *.cpe23). Labels already set are kept, so the
 * caller feeds parts in order of trust.
 *
 * The project's own rules (the .xml files of rules/ in the source tree) are compiled into
 * the program: vt_rules_load_builtin() needs no file. A rule set is read-only
 * once loaded and may then be shared by threads. */
#ifndef VANTAGE_FINGERPRINT_H
#define VANTAGE_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "labels.h"

struct vt_rules;

struct vt_rules *vt_rules_new(void);
void vt_rules_free(struct vt_rules *rs);

/* Problems with single rules (a pattern that does not compile, a param with
 * no such group, …) are written to warn, one line each as "FILE:LINE: reason",
 * and the rule is skipped; the rest of the file loads. warn may be NULL. */

/* The rules built into the program. 0, or -1 with err. */
int vt_rules_load_builtin(struct vt_rules *rs, FILE *warn, char *err, size_t errlen);
/* A rule file, or every *.xml file of a directory (not recursive, in name
 * order). -1 with err when path cannot be read or a file is not a Recog
 * fingerprint file at all; otherwise 0. */
int vt_rules_load_path(struct vt_rules *rs, const char *path, FILE *warn, char *err, size_t errlen);
/* One file's contents from memory; name is used in messages. */
int vt_rules_load_buffer(struct vt_rules *rs, const char *name, const char *xml, size_t len,
                         FILE *warn, char *err, size_t errlen);

/* Rules loaded (after skipping the bad ones), and rule files. */
size_t vt_rules_count(const struct vt_rules *rs);
size_t vt_rules_files(const struct vt_rules *rs);
/* Does any file declare `matches`? */
bool vt_rules_have(const struct vt_rules *rs, const char *matches);

/* Feeds text (len bytes, not NUL-terminated) to every file that declares
 * `matches` and merges the params of each file's first matching rule into
 * out. Returns the number of files whose rule matched (0: none), or -1 out of
 * memory. A pattern that hits its match limit counts as no match. */
int vt_rules_match(const struct vt_rules *rs, const char *matches, const char *text, size_t len,
                   struct vt_labels *out);

/* Checks every <example> of every rule, as Recog's recog_verify does: the
 * example must match its own rule, and each expected capture (an attribute
 * such as hw.product="X") must equal that param's value. Each failure is
 * written to report as "FILE:LINE: …". Returns the number of failures. */
size_t vt_rules_verify(const struct vt_rules *rs, FILE *report);

#endif
