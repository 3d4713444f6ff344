/* hg_log: timestamped, levelled lines on stderr, one write per line so that
 * lines from several threads never interleave. */
#include "hg_log.h"
#include "hg_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static hg_log_level_t s_level = HG_LOG_INFO;
static char s_component[32] = "hourglass";

void hg_log_init(const char *component, hg_log_level_t level)
{
    if (component) snprintf(s_component, sizeof s_component, "%s", component);
    s_level = level;
}

int hg_log_level_parse(const char *name)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0) return i;
    return -1;
}

void hg_log_write(hg_log_level_t level, const char *fmt, ...)
{
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < s_level) return;
    char line[2048];
    char ts[40];
    hg_time_format_ms(hg_now_ms(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "%s %-5s %s: ", ts, tags[level], s_component);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t) n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t) n + (m < 0 ? 0 : (size_t) m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void) w;
}
