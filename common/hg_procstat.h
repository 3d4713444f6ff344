/* hg_procstat: this process's standard Prometheus figures (CPU, memory,
 * descriptors, start time, from /proc), appended to an exposition that the
 * master's /metrics and the worker's metrics.bind both serve. */
#ifndef HG_PROCSTAT_H
#define HG_PROCSTAT_H

#include <stdbool.h>
#include <stddef.h>

/* Append process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_start_time_seconds,
 * process_open_fds and process_max_fds, each with # HELP and # TYPE, to a
 * growing malloc'ed buffer: *buf holds *len bytes (NUL-terminated) in *cap.
 * false when out of memory (the buffer stays valid). */
bool hg_procstat_append(char **buf, size_t *len, size_t *cap);

#endif
