/* fingerprint.c: the Recog-format rule engine (see fingerprint.h).
 *
 * A rule set is a list of files in load order; a file is its `matches` name
 * and its rules in document order; a rule is a compiled PCRE2 pattern, its
 * params and its examples. Loading does all the work that can fail (parsing,
 * translating Ruby's regex dialect, compiling, checking params against the
 * capture count), so matching only runs patterns and copies strings, and
 * touches nothing shared but read-only data: the rule set can serve many
 * threads at once. Each call to vt_rules_match() or vt_rules_verify() makes
 * its own match data.
 *
 * Recog's patterns are Ruby (Onigmo) regexes. What differs from PCRE2 and
 * occurs in rule files is translated in translate_pattern(); see there.
 *
 * Inputs are hostile (an operator's --rules directory, a fuzzer): files are
 * capped at RULE_FILE_MAX, libxml2 never touches the network and never
 * expands entities (a document with a DOCTYPE is refused outright, so there
 * are no entities to expand), and every pattern runs under a match limit. */
#include "fingerprint.h"
#include "fingerprint_builtin.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pcre2.h>

#define RULE_FILE_MAX (64u << 20) /* bytes; larger files are refused */
/* A pattern's budget per subject. The match limit bounds backtracking (JIT
 * and interpreter alike): a million steps is a few milliseconds, far more
 * than any sane banner pattern needs on a few KiB of text, and stops
 * catastrophic ones such as (a+)+$. Depth and heap bound the interpreter's
 * memory when JIT is unavailable. */
#define MATCH_LIMIT    1000000
#define DEPTH_LIMIT    10000
#define HEAP_LIMIT_KIB 8192
/* An interpolated value is cut here: params may refer to each other, and a
 * chain of "{a}{a}" values would otherwise double at every link. */
#define INTERP_MAX 4096

struct param {
    char *name;
    char *value;  /* pos 0: the fixed value, {field}s not yet replaced */
    uint32_t pos; /* capture group, or 0 */
};

struct expect {
    char *key, *value;
};

struct example {
    char *text; /* decoded; may hold NULs */
    size_t len;
    long line;
    struct expect *expect;
    size_t nexpect;
};

struct rule {
    pcre2_code *re;     /* byte mode: for ASCII text and text not UTF-8 */
    pcre2_code *re_utf; /* UTF mode: for UTF-8 text, or NULL (re then) */
    char *description;
    long line;
    struct param *param;
    size_t nparam;
    struct example *example;
    size_t nexample;
};

struct rule_file {
    char *name;     /* for messages */
    char *matches;  /* the banner part it identifies */
    char *protocol; /* lower case, or NULL: Recog's service.protocol default */
    struct rule *rule;
    size_t nrule;
};

struct vt_rules {
    struct rule_file *file;
    size_t nfile, capfile;
    size_t nrule;
    uint32_t max_groups; /* of all patterns: sizes the match data */
    /* Set once in vt_rules_new(), then only read (pcre2_match() does not
     * write to a match context, so threads may share it). */
    pcre2_match_context *mctx;
    pcre2_compile_context *cctx;
};

/* --- small helpers --- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void warnf(FILE *warn, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void warnf(FILE *warn, const char *file, long line, const char *fmt, ...)
{
    if (!warn)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(warn, "%s:%ld: ", file, line);
    vfprintf(warn, fmt, ap);
    fputc('\n', warn);
    va_end(ap);
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* libxml2's strings are freed with xmlFree; ours with free. */
static char *xml_take(xmlChar *x)
{
    if (!x)
        return NULL;
    char *s = strdup((const char *)x);
    xmlFree(x);
    return s;
}

/* An attribute's value as our string; *oom set when it exists but could not
 * be copied. */
static char *attr(xmlNodePtr n, const char *name, bool *oom)
{
    xmlChar *x = xmlGetNoNsProp(n, (const xmlChar *)name);
    char *s = xml_take(x);
    if (x && !s)
        *oom = true;
    return s;
}

static bool is_elem(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* What a message shows of text: at most 60 bytes, unprintables as \xHH. */
static void show(FILE *f, const char *s, size_t len)
{
    size_t n = len < 60 ? len : 60;
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, f);
        else
            fprintf(f, "\\x%02x", c);
    }
    fputs(n < len ? "\"..." : "\"", f);
}

/* --- Ruby regexes as PCRE2 patterns --- */

/* Rewrites what Ruby's dialect means differently in PCRE2, as far as rule
 * files use it:
 *  - inline options: Ruby's (?m) is dot-matches-newline, PCRE2's (?s); Ruby
 *    has no PCRE2-style (?m) because its ^ and $ always match at lines
 *    (compile_rule() sets PCRE2_MULTILINE for that).
 *  - \h is a hex digit in Ruby, horizontal space in PCRE2; \H its negation.
 *  - {,n} is {0,n} in Ruby, literal text in PCRE2 10.42.
 * \A, \z, \Z, \d, \s, \w (ASCII in both), lookaround and POSIX classes mean
 * the same in both. Character classes are skipped the way PCRE2 reads them
 * (a leading ] is literal, [:name:] is a POSIX class), so that what follows
 * them is seen as PCRE2 will see it. Returns a malloc'd string or NULL. */
static char *translate_pattern(const char *p)
{
    size_t len = strlen(p);
    char *out = malloc(len * 6 + 1); /* \h, 2 bytes, becomes 11 at most */
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    bool in_class = false;
    while (i < len) {
        char c = p[i];
        if (c == '\\' && i + 1 < len) {
            char e = p[i + 1];
            const char *rep = NULL;
            if (e == 'h')
                rep = in_class ? "0-9a-fA-F" : "[0-9a-fA-F]";
            else if (e == 'H' && !in_class)
                rep = "[^0-9a-fA-F]";
            if (rep) {
                memcpy(out + o, rep, strlen(rep));
                o += strlen(rep);
            } else {
                out[o++] = c;
                out[o++] = e;
            }
            i += 2;
            continue;
        }
        if (in_class) {
            if (c == '[' && i + 1 < len && p[i + 1] == ':') {
                const char *end = strstr(p + i + 2, ":]");
                if (end) {
                    size_t n = (size_t)(end + 2 - (p + i));
                    memcpy(out + o, p + i, n);
                    o += n;
                    i += n;
                    continue;
                }
            }
            if (c == ']')
                in_class = false;
            out[o++] = c;
            i++;
            continue;
        }
        if (c == '[') {
            in_class = true;
            out[o++] = p[i++];
            if (i < len && p[i] == '^')
                out[o++] = p[i++];
            if (i < len && p[i] == ']') /* literal in PCRE2 */
                out[o++] = p[i++];
            continue;
        }
        if (c == '(' && i + 2 < len && p[i + 1] == '?') {
            size_t j = i + 2;
            while (j < len && strchr("imx-", p[j]) && p[j] != '\0')
                j++;
            if (j > i + 2 && j < len && (p[j] == ':' || p[j] == ')')) {
                out[o++] = '(';
                out[o++] = '?';
                for (size_t k = i + 2; k < j; k++)
                    out[o++] = p[k] == 'm' ? 's' : p[k];
                i = j;
                continue;
            }
        }
        if (c == '{' && i + 1 < len && p[i + 1] == ',') {
            size_t j = i + 2;
            while (j < len && p[j] >= '0' && p[j] <= '9')
                j++;
            if (j > i + 2 && j < len && p[j] == '}') {
                memcpy(out + o, "{0,", 3);
                o += 3;
                i += 2;
                continue;
            }
        }
        out[o++] = c;
        i++;
    }
    out[o] = '\0';
    return out;
}

/* Recog's flags attribute: names separated by commas (Recog's own files) or
 * '|'. REG_DOT_NEWLINE, REG_MULTILINE and REG_LINE_ANY_CRLF all mean Ruby's
 * Regexp::MULTILINE, which is dot-matches-newline (PCRE2_DOTALL);
 * REG_ICASE and IGNORECASE are PCRE2_CASELESS. -1 for an unknown name. */
static int parse_flags(const char *flags, uint32_t *opts, char *bad, size_t badlen)
{
    *opts = 0;
    if (!flags)
        return 0;
    const char *s = flags;
    while (*s) {
        size_t n = strcspn(s, ",| \t\r\n");
        if (n > 0) {
            if ((n == 15 && strncmp(s, "REG_DOT_NEWLINE", n) == 0) ||
                (n == 13 && strncmp(s, "REG_MULTILINE", n) == 0) ||
                (n == 17 && strncmp(s, "REG_LINE_ANY_CRLF", n) == 0))
                *opts |= PCRE2_DOTALL;
            else if ((n == 9 && strncmp(s, "REG_ICASE", n) == 0) ||
                     (n == 10 && strncmp(s, "IGNORECASE", n) == 0))
                *opts |= PCRE2_CASELESS;
            else {
                snprintf(bad, badlen, "%.*s", (int)(n > 40 ? 40 : n), s);
                return -1;
            }
        }
        s += n;
        if (*s)
            s++;
    }
    return 0;
}

/* Compiles a Recog pattern, twice. Ruby's ^ and $ are always line anchors,
 * so PCRE2_MULTILINE is always on, with LF as the only newline (the compile
 * context says so), as in Ruby.
 *
 * Text mode: a banner is bytes, often not UTF-8 (telnet's IAC bytes, binary
 * protocols, Latin-1 pages), and Ruby matches such a string byte by byte; a
 * UTF-8 banner it matches character by character (`.` takes all of "·").
 * One PCRE2 mode cannot do both: in UTF mode (even with MATCH_INVALID_UTF)
 * \xff means U+00FF and `.` never takes a byte that is not UTF-8, and in
 * byte mode `.` takes a third of "·". So each rule has a byte-mode pattern,
 * for text that is ASCII (both modes agree there, bytes are faster) or not
 * valid UTF-8, and a PCRE2_UTF one for valid UTF-8 with non-ASCII
 * characters (vt_rules_match() checks which the text is, once). The cost is
 * memory: Recog's 4,600 rules take 35 MiB resident instead of 24. Returns 0, or -1 with the reason
 * in why (the byte pattern does not compile); *utf is NULL when only the UTF one fails (never seen
 * in practice: the byte one then serves all text). */
static int compile_rule(const struct vt_rules *rs, const char *pattern, uint32_t flags,
                        pcre2_code **bytes, pcre2_code **utf, char *why, size_t whylen)
{
    uint32_t opts = flags | PCRE2_MULTILINE | PCRE2_NEVER_BACKSLASH_C;
    *bytes = *utf = NULL;
    char *p = translate_pattern(pattern);
    if (!p) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int code;
    PCRE2_SIZE off;
    *bytes = pcre2_compile((PCRE2_SPTR)p, PCRE2_ZERO_TERMINATED, opts, &code, &off, rs->cctx);
    if (!*bytes) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(why, whylen, "pattern does not compile (near offset %zu): %s", (size_t)off,
                 (const char *)msg);
        free(p);
        return -1;
    }
    int ucode;
    *utf = pcre2_compile((PCRE2_SPTR)p, PCRE2_ZERO_TERMINATED, opts | PCRE2_UTF, &ucode, &off,
                         rs->cctx);
    free(p);
    /* JIT is much faster; without it (an architecture PCRE2 has no JIT for,
     * or no executable memory allowed) the interpreter does the same work. */
    (void)pcre2_jit_compile(*bytes, PCRE2_JIT_COMPLETE);
    if (*utf)
        (void)pcre2_jit_compile(*utf, PCRE2_JIT_COMPLETE);
    else if (ucode == PCRE2_ERROR_NOMEMORY) {
        pcre2_code_free(*bytes);
        *bytes = NULL;
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    return 0;
}

/* What kind of text a subject is: which of a rule's two patterns runs on it. */
enum text_kind { TEXT_BYTES, TEXT_UTF8 };

/* TEXT_UTF8 for valid UTF-8 holding a non-ASCII character (shortest forms,
 * no surrogates, at most U+10FFFF, as PCRE2 checks), else TEXT_BYTES. */
static enum text_kind text_kind(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    bool wide = false;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        wide = true;
        size_t n;
        unsigned min, cp;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, min = 0x10000, cp = c & 0x07;
        else
            return TEXT_BYTES;
        if (len - i - 1 < n)
            return TEXT_BYTES;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return TEXT_BYTES;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return TEXT_BYTES;
        i += n + 1;
    }
    return wide ? TEXT_UTF8 : TEXT_BYTES;
}

/* --- examples --- */

/* Base64 as Ruby's unpack('m') reads it: characters outside the alphabet
 * (line breaks, spaces) are skipped, '=' ends the data. */
static size_t base64_decode(const char *in, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (const char *s = in; *s && *s != '='; s++) {
        int v;
        if (*s >= 'A' && *s <= 'Z')
            v = *s - 'A';
        else if (*s >= 'a' && *s <= 'z')
            v = *s - 'a' + 26;
        else if (*s >= '0' && *s <= '9')
            v = *s - '0' + 52;
        else if (*s == '+')
            v = 62;
        else if (*s == '/')
            v = 63;
        else
            continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return o;
}

static void example_free(struct example *e)
{
    free(e->text);
    for (size_t i = 0; i < e->nexpect; i++) {
        free(e->expect[i].key);
        free(e->expect[i].value);
    }
    free(e->expect);
}

/* Reads one <example>. 1 read, 0 skipped (with a warning), -1 out of memory. */
static int parse_example(xmlNodePtr n, const char *file, struct example *e, FILE *warn)
{
    memset(e, 0, sizeof *e);
    e->line = xmlGetLineNo(n);
    bool base64 = false;
    size_t nattr = 0;
    /* Attributes in a namespace (xml:lang, …) are not Recog's: ignored. */
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        const char *name = (const char *)a->name;
        if (a->ns)
            continue;
        if (strcmp(name, "_filename") == 0) {
            warnf(warn, file, e->line,
                  "example read from a file is not supported, example not checked");
            return 0;
        }
        if (strcmp(name, "_encoding") == 0) {
            xmlChar *v = xmlGetNoNsProp(n, a->name);
            bool ok = v && strcmp((const char *)v, "base64") == 0;
            xmlFree(v);
            if (!ok) {
                warnf(warn, file, e->line, "unknown _encoding (only base64), example skipped");
                return 0;
            }
            base64 = true;
            continue;
        }
        nattr++;
    }
    if (nattr > 0) {
        e->expect = calloc(nattr, sizeof *e->expect);
        if (!e->expect)
            return -1;
    }
    bool oom = false;
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        const char *name = (const char *)a->name;
        if (a->ns || strcmp(name, "_encoding") == 0)
            continue;
        struct expect *x = &e->expect[e->nexpect++];
        x->key = strdup(name);
        x->value = attr(n, name, &oom);
        if (!x->key || !x->value || oom) {
            example_free(e);
            return -1;
        }
    }
    xmlChar *content = xmlNodeGetContent(n);
    const char *text = content ? (const char *)content : "";
    size_t tlen = strlen(text);
    e->text = malloc(tlen + 1);
    if (!e->text) {
        xmlFree(content);
        example_free(e);
        return -1;
    }
    if (base64)
        e->len = base64_decode(text, e->text);
    else {
        memcpy(e->text, text, tlen);
        e->len = tlen;
    }
    e->text[e->len] = '\0';
    xmlFree(content);
    return 1;
}

/* --- rules --- */

static void rule_free(struct rule *r)
{
    pcre2_code_free(r->re);
    pcre2_code_free(r->re_utf);
    free(r->description);
    for (size_t i = 0; i < r->nparam; i++) {
        free(r->param[i].name);
        free(r->param[i].value);
    }
    free(r->param);
    for (size_t i = 0; i < r->nexample; i++)
        example_free(&r->example[i]);
    free(r->example);
}

static size_t count_children(xmlNodePtr n, const char *name)
{
    size_t k = 0;
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (is_elem(c, name))
            k++;
    return k;
}

/* A decimal number in 0..65535, nothing else. */
static bool parse_pos(const char *s, uint32_t *pos)
{
    if (!s || !*s)
        return false;
    uint32_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 6553)
            return false;
        v = v * 10 + (uint32_t)(*s - '0');
    }
    if (v > 65535)
        return false;
    *pos = v;
    return true;
}

/* Collapses runs of white space to one space and trims, as Recog does with
 * descriptions. In place. */
static void squeeze(char *s)
{
    char *o = s;
    bool space = false;
    for (char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
            space = o != s;
        else {
            if (space)
                *o++ = ' ';
            space = false;
            *o++ = *p;
        }
    }
    *o = '\0';
}

/* Reads one <fingerprint>. 1 read, 0 skipped (with a warning), -1 out of
 * memory. */
static int parse_rule(struct vt_rules *rs, xmlNodePtr n, const char *file, struct rule *r,
                      FILE *warn)
{
    memset(r, 0, sizeof *r);
    r->line = xmlGetLineNo(n);
    bool oom = false;
    char *pattern = attr(n, "pattern", &oom);
    char *flags = attr(n, "flags", &oom);
    int ret = -1;
    if (oom)
        goto out;
    if (!pattern) {
        warnf(warn, file, r->line, "fingerprint without a pattern, skipped");
        ret = 0;
        goto out;
    }
    uint32_t opts;
    char why[256];
    if (parse_flags(flags, &opts, why, sizeof why) != 0) {
        warnf(warn, file, r->line, "unknown flag %s, fingerprint skipped", why);
        ret = 0;
        goto out;
    }
    if (compile_rule(rs, pattern, opts, &r->re, &r->re_utf, why, sizeof why) != 0) {
        if (strcmp(why, "out of memory") == 0)
            goto out;
        warnf(warn, file, r->line, "%s, fingerprint skipped", why);
        ret = 0;
        goto out;
    }
    uint32_t groups = 0;
    pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &groups);

    size_t np = count_children(n, "param"), ne = count_children(n, "example");
    r->param = np ? calloc(np, sizeof *r->param) : NULL;
    r->example = ne ? calloc(ne, sizeof *r->example) : NULL;
    if ((np && !r->param) || (ne && !r->example))
        goto out;

    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (is_elem(c, "description") && !r->description) {
            xmlChar *x = xmlNodeGetContent(c);
            r->description = x ? xml_take(x) : strdup("");
            if (!r->description)
                goto out;
            squeeze(r->description);
        } else if (is_elem(c, "param")) {
            long line = xmlGetLineNo(c);
            char *name = attr(c, "name", &oom), *spos = attr(c, "pos", &oom);
            char *value = attr(c, "value", &oom);
            uint32_t pos = 0;
            const char *bad = NULL;
            if (oom)
                bad = "";
            else if (!name || !*name)
                bad = "param without a name";
            else if (!parse_pos(spos, &pos))
                bad = "param without a pos number";
            else if (pos > groups) {
                warnf(warn, file, line,
                      "param %s takes group %u but the pattern has %u, fingerprint skipped", name,
                      pos, groups);
                bad = "";
            }
            free(spos);
            if (bad) {
                free(name);
                free(value);
                if (oom)
                    goto out;
                if (*bad)
                    warnf(warn, file, line, "%s, fingerprint skipped", bad);
                ret = 0;
                goto out;
            }
            if (pos > 0) { /* Recog ignores a value on a capture */
                free(value);
                value = NULL;
            } else if (!value && !(value = strdup(""))) {
                free(name);
                goto out;
            }
            /* A name given twice: the later one wins, as in Recog. */
            struct param *p = NULL;
            for (size_t i = 0; i < r->nparam; i++)
                if (strcmp(r->param[i].name, name) == 0)
                    p = &r->param[i];
            if (p) {
                free(p->name);
                free(p->value);
            } else
                p = &r->param[r->nparam++];
            p->name = name;
            p->value = value;
            p->pos = pos;
        } else if (is_elem(c, "example")) {
            int k = parse_example(c, file, &r->example[r->nexample], warn);
            if (k < 0)
                goto out;
            r->nexample += (size_t)k;
        }
    }
    if (!r->description && !(r->description = strdup("")))
        goto out;
    if (groups > rs->max_groups)
        rs->max_groups = groups;
    ret = 1;
out:
    free(pattern);
    free(flags);
    if (ret != 1)
        rule_free(r);
    return ret;
}

/* --- files --- */

static void file_free(struct rule_file *f)
{
    free(f->name);
    free(f->matches);
    free(f->protocol);
    for (size_t i = 0; i < f->nrule; i++)
        rule_free(&f->rule[i]);
    free(f->rule);
}

/* Recog's default for a file without matches: its name without .xml. */
static char *default_matches(const char *name)
{
    const char *b = strrchr(name, '/');
    b = b ? b + 1 : name;
    size_t n = strlen(b);
    if (n > 4 && strcmp(b + n - 4, ".xml") == 0)
        n -= 4;
    return dup_bytes(b, n);
}

static int parse_doc(struct vt_rules *rs, xmlDocPtr doc, const char *name, struct rule_file *f,
                     FILE *warn, char *err, size_t errlen)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || !is_elem(root, "fingerprints")) {
        set_err(err, errlen,
                "%s: not a Recog fingerprint file (the root element is <%.40s>, not "
                "<fingerprints>)",
                name, root ? (const char *)root->name : "");
        return -1;
    }
    if (doc->intSubset || doc->extSubset) {
        set_err(err, errlen,
                "%s: has a DOCTYPE, which rule files may not have (entities are not expanded)",
                name);
        return -1;
    }
    bool oom = false;
    f->name = strdup(name);
    f->matches = attr(root, "matches", &oom);
    f->protocol = attr(root, "protocol", &oom);
    if (!f->name || oom)
        goto nomem;
    if (!f->matches && !(f->matches = default_matches(name)))
        goto nomem;
    if (f->protocol)
        for (char *p = f->protocol; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    size_t n = count_children(root, "fingerprint");
    if (n && !(f->rule = calloc(n, sizeof *f->rule)))
        goto nomem;
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (!is_elem(c, "fingerprint"))
            continue;
        int k = parse_rule(rs, c, name, &f->rule[f->nrule], warn);
        if (k < 0)
            goto nomem;
        f->nrule += (size_t)k;
    }
    return 0;
nomem:
    set_err(err, errlen, "%s: out of memory", name);
    return -1;
}

static void quiet(void *context, xmlErrorPtr e) {}

int vt_rules_load_buffer(struct vt_rules *rs, const char *name, const char *xml, size_t len,
                         FILE *warn, char *err, size_t errlen)
{
    assert(rs != NULL);
    if (!name)
        name = "(buffer)";
    if (len > RULE_FILE_MAX) {
        set_err(err, errlen, "%s: larger than %u MiB, not read", name, RULE_FILE_MAX >> 20);
        return -1;
    }
    if (!xml || len == 0) {
        set_err(err, errlen, "%s: empty, not a Recog fingerprint file", name);
        return -1;
    }
    if (rs->nfile == rs->capfile) {
        size_t cap = rs->capfile ? rs->capfile * 2 : 16;
        struct rule_file *v = realloc(rs->file, cap * sizeof *v);
        if (!v) {
            set_err(err, errlen, "%s: out of memory", name);
            return -1;
        }
        rs->file = v;
        rs->capfile = cap;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        set_err(err, errlen, "%s: out of memory", name);
        return -1;
    }
    /* NONET: no fetching of anything named in the file. No NOENT, DTDLOAD
     * or HUGE: entities stay unexpanded and libxml2's size limits hold.
     * NOERROR keeps the parser quiet, but libxml2's encoding converter
     * reports to the thread's handler directly: that one is silenced for
     * the parse (the error still reaches ctxt, and so err). */
    xmlStructuredErrorFunc old_handler = xmlStructuredError;
    void *old_context = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(NULL, quiet);
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, xml, (int)len, name, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                          XML_PARSE_BIG_LINES);
    xmlSetStructuredErrorFunc(old_context, old_handler);
    if (!doc) {
        xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
        char msg[200] = "cannot be parsed";
        int line = 0;
        if (e && e->message) {
            snprintf(msg, sizeof msg, "%s", e->message);
            msg[strcspn(msg, "\n")] = '\0';
            line = e->line;
        }
        set_err(err, errlen, "%s:%d: not XML: %s", name, line, msg);
        xmlFreeParserCtxt(ctxt);
        return -1;
    }
    struct rule_file f;
    memset(&f, 0, sizeof f);
    int rc = parse_doc(rs, doc, name, &f, warn, err, errlen);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    if (rc != 0) {
        file_free(&f);
        return -1;
    }
    rs->file[rs->nfile++] = f;
    rs->nrule += f.nrule;
    return 0;
}

static int load_file(struct vt_rules *rs, const char *path, FILE *warn, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, errlen, "cannot read %s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((uintmax_t)st.st_size > RULE_FILE_MAX) {
        set_err(err, errlen, "%s: larger than %u MiB, not read", path, RULE_FILE_MAX >> 20);
        close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size, got = 0;
    char *buf = malloc(len ? len : 1);
    if (!buf) {
        set_err(err, errlen, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    while (got < len) {
        ssize_t k = read(fd, buf + got, len - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            set_err(err, errlen, "cannot read %s: %s", path, k < 0 ? strerror(errno) : "cut short");
            free(buf);
            close(fd);
            return -1;
        }
        got += (size_t)k;
    }
    close(fd);
    int rc = vt_rules_load_buffer(rs, path, buf, len, warn, err, errlen);
    free(buf);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vt_rules_load_path(struct vt_rules *rs, const char *path, FILE *warn, char *err, size_t errlen)
{
    assert(rs != NULL && path != NULL);
    struct stat st;
    if (stat(path, &st) != 0) {
        set_err(err, errlen, "cannot read rules %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return load_file(rs, path, warn, err, errlen);

    DIR *d = opendir(path);
    if (!d) {
        set_err(err, errlen, "cannot read rules directory %s: %s", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **v = realloc(names, cap * sizeof *v);
            if (!v) {
                rc = -1;
                break;
            }
            names = v;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != 0)
        set_err(err, errlen, "%s: out of memory", path);
    else if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t l = strlen(path) + strlen(names[i]) + 2;
        char *full = malloc(l);
        if (!full) {
            set_err(err, errlen, "%s: out of memory", path);
            rc = -1;
            break;
        }
        snprintf(full, l, "%s/%s", path, names[i]);
        rc = load_file(rs, full, warn, err, errlen);
        free(full);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int vt_rules_load_builtin(struct vt_rules *rs, FILE *warn, char *err, size_t errlen)
{
    for (size_t i = 0; i < vt_builtin_rule_files_n; i++) {
        const struct vt_builtin_rule_file *b = &vt_builtin_rule_files[i];
        if (vt_rules_load_buffer(rs, b->name, (const char *)b->xml, b->len, warn, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* --- the rule set --- */

struct vt_rules *vt_rules_new(void)
{
    xmlInitParser();
    struct vt_rules *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    rs->mctx = pcre2_match_context_create(NULL);
    rs->cctx = pcre2_compile_context_create(NULL);
    if (!rs->mctx || !rs->cctx) {
        vt_rules_free(rs);
        return NULL;
    }
    pcre2_set_match_limit(rs->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(rs->mctx, DEPTH_LIMIT);
    pcre2_set_heap_limit(rs->mctx, HEAP_LIMIT_KIB);
    pcre2_set_newline(rs->cctx, PCRE2_NEWLINE_LF);
    return rs;
}

void vt_rules_free(struct vt_rules *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->nfile; i++)
        file_free(&rs->file[i]);
    free(rs->file);
    pcre2_match_context_free(rs->mctx);
    pcre2_compile_context_free(rs->cctx);
    free(rs);
}

size_t vt_rules_count(const struct vt_rules *rs)
{
    return rs->nrule;
}

size_t vt_rules_files(const struct vt_rules *rs)
{
    return rs->nfile;
}

bool vt_rules_have(const struct vt_rules *rs, const char *matches)
{
    for (size_t i = 0; i < rs->nfile; i++)
        if (strcmp(rs->file[i].matches, matches) == 0)
            return true;
    return false;
}

/* --- matching --- */

/* What one rule says about a text: its params' values (NULL for a capture
 * that did not take part, or an interpolation that could not be made) and
 * service.protocol from the file, Recog's `result` hash. */
struct result {
    const char **key;
    char **value;
    size_t n;
};

static void result_free(struct result *res)
{
    for (size_t i = 0; i < res->n; i++)
        free(res->value[i]);
    free(res->key);
    free(res->value);
    res->key = NULL;
    res->value = NULL;
    res->n = 0;
}

static const char *result_get(const struct result *res, const char *key, size_t klen)
{
    for (size_t i = 0; i < res->n; i++)
        if (res->value[i] && strlen(res->key[i]) == klen && memcmp(res->key[i], key, klen) == 0)
            return res->value[i];
    return NULL;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* A fixed value with each {field} replaced by that field's value in res.
 * A field with no value makes the whole value missing (NULL, *ok true),
 * except a *.version in a *.cpe23, which becomes "-" as in Recog (an
 * optional version). *ok false: out of memory. */
static char *interpolate(const char *key, const char *v, const struct result *res, bool *ok)
{
    *ok = true;
    if (!strchr(v, '{')) {
        char *d = strdup(v);
        *ok = d != NULL;
        return d;
    }
    char *out = malloc(INTERP_MAX + 1);
    if (!out) {
        *ok = false;
        return NULL;
    }
    size_t o = 0;
    for (const char *s = v; *s && o < INTERP_MAX;) {
        const char *name = s + 1;
        size_t nlen = strcspn(name, " \t\r\n\f\v{}");
        if (*s != '{' || nlen == 0 || name[nlen] != '}') {
            out[o++] = *s++;
            continue;
        }
        const char *rep = result_get(res, name, nlen);
        if (!rep) {
            if (ends_with(key, strlen(key), ".cpe23") && ends_with(name, nlen, ".version"))
                rep = "-";
            else {
                free(out);
                return NULL;
            }
        }
        size_t rlen = strlen(rep);
        if (rlen > INTERP_MAX - o)
            rlen = INTERP_MAX - o;
        memcpy(out + o, rep, rlen);
        o += rlen;
        s = name + nlen + 1;
    }
    out[o] = '\0';
    return out;
}

/* Runs r on text. 1 matched (res filled), 0 no match (or match limit hit),
 * -1 out of memory. */
static int rule_match(const struct vt_rules *rs, const struct rule_file *f, const struct rule *r,
                      const char *text, size_t len, enum text_kind kind, pcre2_match_data *md,
                      struct result *res)
{
    int rc;
    if (kind == TEXT_UTF8 && r->re_utf) /* text_kind() has checked it */
        rc = pcre2_match(r->re_utf, (PCRE2_SPTR)text, len, 0, PCRE2_NO_UTF_CHECK, md, rs->mctx);
    else
        rc = pcre2_match(r->re, (PCRE2_SPTR)text, len, 0, 0, md, rs->mctx);
    if (rc == PCRE2_ERROR_NOMEMORY)
        return -1;
    if (rc <= 0) /* no match, or a limit: both are "not this rule" */
        return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t cap = r->nparam + 1;
    res->key = calloc(cap, sizeof *res->key);
    res->value = calloc(cap, sizeof *res->value);
    res->n = 0;
    if (!res->key || !res->value)
        goto nomem;
    bool has_protocol = false;
    for (size_t i = 0; i < r->nparam; i++) {
        const struct param *p = &r->param[i];
        res->key[res->n] = p->name;
        if (p->pos == 0) {
            if (!(res->value[res->n] = strdup(p->value)))
                goto nomem;
        } else if (p->pos < (uint32_t)rc && ov[2 * p->pos] != PCRE2_UNSET) {
            PCRE2_SIZE a = ov[2 * p->pos], b = ov[2 * p->pos + 1];
            if (b < a) /* \K in a lookahead can do that */
                b = a;
            if (!(res->value[res->n] = dup_bytes(text + a, b - a)))
                goto nomem;
        }
        res->n++;
        if (strcmp(p->name, "service.protocol") == 0)
            has_protocol = true;
    }
    if (f->protocol && !has_protocol) {
        res->key[res->n] = "service.protocol";
        if (!(res->value[res->n++] = strdup(f->protocol)))
            goto nomem;
    }
    /* Interpolation, in param order, each value seeing the ones before it
     * already done (as Recog's loop over its result hash does). */
    for (size_t i = 0; i < r->nparam; i++) {
        if (r->param[i].pos != 0 || !strchr(r->param[i].value, '{'))
            continue;
        bool ok;
        char *v = interpolate(r->param[i].name, r->param[i].value, res, &ok);
        if (!ok)
            goto nomem;
        free(res->value[i]);
        res->value[i] = v;
    }
    return 1;
nomem:
    result_free(res);
    return -1;
}

/* Sets one label unless the key is taken. -1 only when out of memory: a
 * full label set or a key labels.h refuses is not an error here. */
static int put_label(struct vt_labels *out, const char *key, const char *value)
{
    if (vt_labels_set(out, key, value, false) >= 0)
        return 0;
    size_t klen = strlen(key);
    if (klen == 0 || klen > VT_LABEL_MAX_KEY || out->n >= VT_LABELS_MAX)
        return 0;
    return -1;
}

static int put_labels(const struct result *res, struct vt_labels *out)
{
    static const char *const norm[][4] = {
        {"vendor", "hw.vendor", "os.vendor", "service.vendor"},
        {"product", "hw.product", "os.product", "service.product"},
        {"device", "hw.device", "os.device", "service.device"},
        {"version", "hw.version", "os.version", "service.version"},
        {"cpe", "hw.cpe23", "os.cpe23", "service.cpe23"},
    };
    for (size_t i = 0; i < sizeof norm / sizeof norm[0]; i++)
        for (size_t j = 1; j < 4; j++) {
            const char *v = result_get(res, norm[i][j], strlen(norm[i][j]));
            if (v && *v) {
                if (put_label(out, norm[i][0], v) != 0)
                    return -1;
                break;
            }
        }
    for (size_t i = 0; i < res->n; i++)
        if (res->value[i] && strncmp(res->key[i], "_tmp.", 5) != 0 &&
            put_label(out, res->key[i], res->value[i]) != 0)
            return -1;
    return 0;
}

/* Recog's normalisation of a banner: trailing CR, LF and spaces go. */
static size_t trimmed(const char *text, size_t len)
{
    while (len > 0 && (text[len - 1] == '\r' || text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    return len;
}

int vt_rules_match(const struct vt_rules *rs, const char *matches, const char *text, size_t len,
                   struct vt_labels *out)
{
    assert(rs != NULL && matches != NULL && out != NULL);
    if (!text)
        len = 0;
    if (!text)
        text = "";
    len = trimmed(text, len);
    enum text_kind kind = text_kind(text, len);
    pcre2_match_data *md = pcre2_match_data_create(rs->max_groups + 1, NULL);
    if (!md)
        return -1;
    int found = 0;
    for (size_t i = 0; i < rs->nfile; i++) {
        const struct rule_file *f = &rs->file[i];
        if (strcmp(f->matches, matches) != 0)
            continue;
        for (size_t j = 0; j < f->nrule; j++) {
            struct result res = {0};
            int k = rule_match(rs, f, &f->rule[j], text, len, kind, md, &res);
            if (k == 0)
                continue;
            if (k < 0 || put_labels(&res, out) != 0) {
                result_free(&res);
                pcre2_match_data_free(md);
                return -1;
            }
            result_free(&res);
            found++;
            break; /* first match wins within a file */
        }
    }
    pcre2_match_data_free(md);
    return found;
}

/* --- verification --- */

static void report_head(FILE *report, const struct rule_file *f, const struct rule *r,
                        const struct example *e)
{
    fprintf(report, "%s:%ld: example ", f->name, e->line);
    show(report, e->text, e->len);
    fprintf(report, " of '%s'", r->description);
}

/* Checks one example. true when it holds. */
static bool verify_example(const struct vt_rules *rs, const struct rule_file *f,
                           const struct rule *r, const struct example *e, pcre2_match_data *md,
                           FILE *report)
{
    struct result res = {0};
    /* As recog_verify: the example as written, not trimmed. */
    int k = rule_match(rs, f, r, e->text, e->len, text_kind(e->text, e->len), md, &res);
    if (k < 0) {
        if (report)
            fprintf(report, "%s:%ld: out of memory checking an example\n", f->name, e->line);
        return false;
    }
    if (k == 0) {
        if (report) {
            report_head(report, f, r, e);
            fprintf(report, " does not match its pattern\n");
        }
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < e->nexpect; i++) {
        const struct expect *x = &e->expect[i];
        const char *got = result_get(&res, x->key, strlen(x->key));
        if (got && strcmp(got, x->value) == 0)
            continue;
        ok = false;
        if (report) {
            report_head(report, f, r, e);
            fprintf(report, ": %s is ", x->key);
            if (got)
                show(report, got, strlen(got));
            else
                fputs("not set", report);
            fprintf(report, ", expected ");
            show(report, x->value, strlen(x->value));
            fputc('\n', report);
        }
    }
    result_free(&res);
    return ok;
}

size_t vt_rules_verify(const struct vt_rules *rs, FILE *report)
{
    assert(rs != NULL);
    size_t failures = 0;
    pcre2_match_data *md = pcre2_match_data_create(rs->max_groups + 1, NULL);
    if (!md) {
        if (report)
            fprintf(report, "out of memory: no example checked\n");
        return 1;
    }
    for (size_t i = 0; i < rs->nfile; i++) {
        const struct rule_file *f = &rs->file[i];
        for (size_t j = 0; j < f->nrule; j++) {
            const struct rule *r = &f->rule[j];
            for (size_t k = 0; k < r->nexample; k++)
                if (!verify_example(rs, f, r, &r->example[k], md, report))
                    failures++;
        }
    }
    pcre2_match_data_free(md);
    return failures;
}
