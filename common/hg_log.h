/* hg_log: the one logging macro of the daemons. Lines go to stderr as
 * "2026-11-21T10:00:00.123Z LEVEL component: message". Libraries in common/
 * do not log; the programs do. */
#ifndef HG_LOG_H
#define HG_LOG_H

typedef enum { HG_LOG_DEBUG = 0, HG_LOG_INFO, HG_LOG_WARN, HG_LOG_ERROR } hg_log_level_t;

/* Set the minimum level and the component name printed on every line. */
void hg_log_init(const char *component, hg_log_level_t level);

/* Parse "debug", "info", "warn", "error"; returns -1 when unknown. */
int hg_log_level_parse(const char *name);

void hg_log_write(hg_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hg_debug(...) hg_log_write(HG_LOG_DEBUG, __VA_ARGS__)
#define hg_info(...)  hg_log_write(HG_LOG_INFO, __VA_ARGS__)
#define hg_warn(...)  hg_log_write(HG_LOG_WARN, __VA_ARGS__)
#define hg_error(...) hg_log_write(HG_LOG_ERROR, __VA_ARGS__)

#endif
