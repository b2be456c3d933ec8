/* cli.h: command-line helpers shared by `vantage` and `vantage-worker`.
 *
 * Both programs follow one convention (docs/operator-guide.md): errors go to
 * stderr on one line prefixed with the program name; bad usage exits 2 and
 * points at --help, any other failure exits 1. Numbers and durations given on
 * the command line or in a config file are parsed strictly here, so "10x",
 * "-1" or "5 m" never silently become something else. */
#ifndef VANTAGE_CLI_H
#define VANTAGE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A subcommand: run() gets argv with argv[0] = its name and returns the exit
 * status (0 ok, 1 failure, 2 bad usage). */
struct vt_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* The top level of both programs, and of command groups: --help/-h/help
 * prints usage (which should list the commands, see vt_cli_list_commands)
 * and exits 0, `help CMD [ARGS]` runs CMD [ARGS] --help (so `vantage help
 * campaign start` is `vantage campaign start --help`), --version/-V prints
 * "PROG VERSION", a known command runs, anything else is a usage error. */
int vt_cli_dispatch(const char *prog, const struct vt_command *cmds, size_t n,
                    void (*usage)(FILE *out), int argc, char **argv);

/* "  name     summary" lines for a usage text. */
void vt_cli_list_commands(FILE *out, const struct vt_command *cmds, size_t n);

/* Prints "PROG: <message> (try 'PROG --help')" on stderr and exits 2. */
void vt_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* Prints "PROG: <message>" on stderr and exits 1. */
void vt_fatal(const char *prog, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* snprintf into an error buffer that may be NULL (then nothing is written):
 * how library code reports "what failed and how to mend it" in one line. */
void vt_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses s as a plain decimal number (digits only: no sign, no space, no
 * suffix) within [min, max]. 0 with *out set, or -1 (and *out untouched). */
int vt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a duration: "90" or "90s" (seconds), "5m", "1h", "7d", or several
 * of those run together, largest unit first ("1h30m"). 0 with *seconds set, or -1 on junk,
 * a missing number, or overflow. */
int vt_parse_duration(const char *s, uint64_t *seconds);

/* Formats a Unix time in ms as RFC 3339 UTC with milliseconds into buf (>= 25 bytes). */
const char *vt_rfc3339_ms(uint64_t ts_ms, char *buf, size_t len);

#endif
