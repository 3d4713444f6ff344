/* hg_time: clocks and RFC 3339 formatting shared by every process.
 * Wall-clock times are int64 milliseconds (or microseconds where named
 * _us) since the Unix epoch, UTC. Monotonic times are only for intervals. */
#ifndef HG_TIME_H
#define HG_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, ms / us since the epoch. */
int64_t hg_now_ms(void);
int64_t hg_now_us(void);

/* Monotonic clock, ms / us; never jumps. */
int64_t hg_mono_ms(void);
int64_t hg_mono_us(void);

/* "2026-11-21T10:00:00.123Z". Returns the length written. buf >= 32 bytes. */
int hg_time_format_ms(int64_t ms, char *buf, size_t size);

/* Parse an RFC 3339 timestamp ("2026-11-21T10:00:00Z", optional fraction,
 * "Z" or "+hh:mm" offset) into ms since the epoch. 0 or HG_EINVAL. */
int hg_time_parse_rfc3339(const char *text, int64_t *ms);

/* Parse a Go-style duration ("1h30m", "250ms", "10s", "2h45m10s") into ms.
 * Units: h m s ms us (rounded up to ms). 0 or HG_EINVAL. */
int hg_duration_parse_ms(const char *text, int64_t *ms);

#endif
