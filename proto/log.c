/* log.c: the daemons' log lines. See log.h. */
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static int journal; /* set once, read only after */

/* systemd sets JOURNAL_STREAM=DEV:INODE for a unit's stderr; it is the
 * journal only if stderr is still that file (a child may have redirected). */
static void journal_check(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    journal = env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
              (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int vt_log_to_journal(void)
{
    pthread_once(&journal_once, journal_check);
    return journal;
}

static const char *level_name(enum vt_log_level level)
{
    return level <= VT_LOG_ERROR ? "error" : level == VT_LOG_WARNING ? "warning" : "info";
}

void vt_log_linev(enum vt_log_level level, const char *component, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* a message is one line: a newline in it (a bug, or a peer's text not
     * escaped) must not start a line of its own */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    flockfile(stderr);
    if (vt_log_to_journal()) {
        fprintf(stderr, "<%d>%s: %s\n", (int)level, component, msg);
    } else {
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(stderr, "%s %s %s: %s\n", ts, level_name(level), component, msg);
    }
    fflush(stderr);
    funlockfile(stderr);
}

void vt_log_line(enum vt_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_log_linev(level, component, fmt, ap);
    va_end(ap);
}

const char *vt_log_escape(const char *text, char *out, size_t outlen)
{
    size_t n = 0;
    if (!outlen)
        return out;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        char piece[5];
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            snprintf(piece, sizeof piece, *p == '\\' ? "\\\\" : "\\x%02x", *p);
        else
            piece[0] = (char)*p, piece[1] = '\0';
        size_t len = strlen(piece);
        if (n + len + 4 >= outlen) { /* room for "..." */
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
    return out;
}
