/* log.h: the one log format of both daemons (`vantage serve`,
 * `vantage-worker run`): one line per event on stderr, naming its level and
 * the component that speaks:
 *
 *   2026-12-01T17:25:37Z info vantage: serving on tcp://0.0.0.0:7700 ...
 *   2026-12-01T17:25:38Z warning vantage-worker: cannot reach ...
 *
 * Under journald (stderr is the journal stream that JOURNAL_STREAM names)
 * the journal adds the time, so the line carries none; its level becomes a
 * syslog priority prefix ("<4>"), which journald takes as the entry's
 * priority (journalctl -p warning shows the warnings):
 *
 *   <4>vantage-worker: cannot reach ...
 *
 * Text from a peer goes into a message only escaped (the coordinator's
 * vt_escape, vt_log_escape here): a peer must not be able to forge a line. */
#ifndef VANTAGE_LOG_H
#define VANTAGE_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* syslog priorities, as journald reads them */
enum vt_log_level {
    VT_LOG_ERROR = 3,
    VT_LOG_WARNING = 4,
    VT_LOG_INFO = 6,
};

/* One line, whole (also when several threads log). */
void vt_log_line(enum vt_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vt_log_linev(enum vt_log_level level, const char *component, const char *fmt, va_list ap);

/* Is stderr the journal (the time is then the journal's)? */
int vt_log_to_journal(void);

/* Text made safe for one log line: control bytes and backslashes escaped
 * (\xNN, \\), cut with "..." to fit out. Returns out. */
const char *vt_log_escape(const char *text, char *out, size_t outlen);

#endif
