/* hg_procstat: this process's figures from /proc (hg_procstat.h). */
#include "hg_procstat.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A growing text buffer; oom once any append failed. */
typedef struct {
    char *buf;  /* text */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    bool oom;   /* an allocation failed */
} s_out_t;

__attribute__((format(printf, 2, 3))) static void s_printf(s_out_t *o, const char *fmt, ...)
{
    if (o->oom) return;
    va_list ap;
    va_start(ap, fmt);
    char line[512];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t need = o->len + (size_t) n + 1;
    if (need > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4096;
        while (cap < need)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->oom = true;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, line, (size_t) n + 1);
    o->len += (size_t) n;
}

static void s_head(s_out_t *o, const char *name, const char *type, const char *help)
{
    s_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Process start time (Unix seconds) and CPU seconds from /proc/self/stat,
 * and the resident and virtual sizes; false when it cannot be read. */
static bool s_proc_stat(double *start_s, double *cpu_s, uint64_t *vsize, uint64_t *rss)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return false;
    char line[2048];
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    /* The command name may hold spaces: fields count from its ')'. */
    char *p = ok ? strrchr(line, ')') : NULL;
    if (!p) return false;
    unsigned long utime = 0, stime = 0, vs = 0;
    unsigned long long starttime = 0;
    long rs = 0;
    /* Fields 3.. after ')': state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime cutime cstime priority nice
     * threads itrealvalue starttime vsize rss */
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d "
               "%llu %lu %ld",
               &utime, &stime, &starttime, &vs, &rs) != 5)
        return false;
    double hz = (double) sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    *cpu_s = (double) (utime + stime) / hz;
    *vsize = vs;
    *rss = (uint64_t) rs * (uint64_t) page;
    double btime = 0;
    f = fopen("/proc/stat", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) btime = strtod(line + 6, NULL);
    if (f) fclose(f);
    *start_s = btime + (double) starttime / hz;
    return true;
}

static size_t s_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n ? n - 1 : 0; /* not the one opendir holds */
}

bool hg_procstat_append(char **buf, size_t *len, size_t *cap)
{
    s_out_t o = {*buf, *len, *cap, false};
    double start_s = 0, cpu_s = 0;
    uint64_t vsize = 0, rss = 0;
    if (s_proc_stat(&start_s, &cpu_s, &vsize, &rss)) {
        s_head(&o, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
        s_printf(&o, "process_cpu_seconds_total %.2f\n", cpu_s);
        s_head(&o, "process_resident_memory_bytes", "gauge", "Resident memory size.");
        s_printf(&o, "process_resident_memory_bytes %" PRIu64 "\n", rss);
        s_head(&o, "process_virtual_memory_bytes", "gauge", "Virtual memory size.");
        s_printf(&o, "process_virtual_memory_bytes %" PRIu64 "\n", vsize);
        s_head(&o, "process_start_time_seconds", "gauge", "Start time (Unix seconds).");
        s_printf(&o, "process_start_time_seconds %.2f\n", start_s);
    }
    s_head(&o, "process_open_fds", "gauge", "Open file descriptors.");
    s_printf(&o, "process_open_fds %zu\n", s_open_fds());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        s_head(&o, "process_max_fds", "gauge", "Limit of open file descriptors.");
        s_printf(&o, "process_max_fds %llu\n", (unsigned long long) rl.rlim_cur);
    }
    *buf = o.buf;
    *len = o.len;
    *cap = o.cap;
    return !o.oom;
}
