/* cli.c: command-line helpers shared by both programs (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "version.h"

void vt_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try '%s --help')\n", prog);
    exit(2);
}

void vt_fatal(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Reads the decimal digits at *p into *v, advancing *p. -1 if there are none
 * or the value does not fit in 64 bits. */
static int read_digits(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t n = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *p = s;
    *v = n;
    return 0;
}

void vt_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int vt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (!s || read_digits(&s, &v) < 0 || *s != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int vt_parse_duration(const char *s, uint64_t *seconds)
{
    uint64_t total = 0, prev_unit = UINT64_MAX;
    int parts = 0;
    if (!s || !*s)
        return -1;
    while (*s) {
        uint64_t n, unit;
        if (read_digits(&s, &n) < 0)
            return -1;
        switch (*s) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        case '\0':
            /* A bare number means seconds, but only on its own: "1h30" is
             * more likely a typo than 1 hour and 30 seconds. */
            if (parts > 0)
                return -1;
            unit = 1;
            break;
        default:
            return -1;
        }
        if (*s)
            s++;
        if (unit >= prev_unit) /* "1m1h", "5m5m": units must shrink */
            return -1;
        prev_unit = unit;
        if (n > UINT64_MAX / unit || total > UINT64_MAX - n * unit)
            return -1;
        total += n * unit;
        parts++;
    }
    *seconds = total;
    return 0;
}

int vt_cli_dispatch(const char *prog, const struct vt_command *cmds, size_t n,
                    void (*usage)(FILE *out), int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") && argc > 2) {
        /* `PROG help CMD [SUB]` is `PROG CMD [SUB] --help`. */
        char **args = calloc((size_t)argc, sizeof *args);
        if (!args)
            vt_fatal(prog, "out of memory");
        for (int i = 2; i < argc; i++)
            args[i - 2] = argv[i];
        args[argc - 2] = "--help";
        for (size_t i = 0; i < n; i++)
            if (!strcmp(argv[2], cmds[i].name)) {
                int rc = cmds[i].run(argc - 1, args);
                free(args);
                return rc;
            }
        free(args);
        vt_usage_error(prog, "help: unknown command '%s'", argv[2]);
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("%s %s\n", prog, VANTAGE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].run(argc - 1, argv + 1);
    vt_usage_error(prog, "unknown %s '%s'", cmd[0] == '-' ? "option" : "command", cmd);
}

void vt_cli_list_commands(FILE *out, const struct vt_command *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
}

const char *vt_rfc3339_ms(uint64_t ts_ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ts_ms % 1000));
    return buf;
}
