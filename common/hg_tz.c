/* hg_tz: TZif reader (RFC 8536) and UTC <-> local conversion.
 *
 * Why our own reader: the C library only converts through the process-wide
 * TZ (localtime_r after setenv/tzset), which is neither thread-safe nor
 * per-job, and no maintained C library for IANA zones is packaged for
 * Debian. The format is small and specified by RFC 8536.
 *
 * A zone is the version-2+ (64-bit) data block when present, else the
 * version-1 block, plus the footer POSIX TZ string, which we expand into
 * explicit transitions up to HG_TZ_EXPAND_YEAR at load time. Every lookup is
 * then a binary search over one sorted table.
 */
#include "hg_tz.h"
#include "hg_error.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HG_TZ_EXPAND_YEAR 2400      /* footer rules expanded up to this year */
#define HG_TZ_EXPAND_FROM 1800      /* ... and from no earlier than this year */
#define HG_TZ_MAX_FILE    (1 << 20) /* zoneinfo files are a few KB */
/* Sanity bounds of TZif data (RFC 8536 section 3.2): no real offset
 * reaches 26 hours and zic writes no transition before -2**59 (the "big
 * bang"); anything beyond is corrupt, and would overflow the local-time
 * arithmetic. */
#define HG_TZ_MAX_UTOFF 93599
#define HG_TZ_MAX_AT    (INT64_C(1) << 60)

typedef struct {
    int32_t utoff; /* seconds east of UTC */
    bool is_dst;   /* daylight-saving time */
    int abbr;      /* index into the zone's abbreviation chars */
} s_type_t;

struct hg_tz {
    char *name;         /* as looked up */
    int64_t *at;        /* transition instants (UTC seconds), ascending */
    int *type_of;       /* local time type in force from at[i] */
    int32_t *before;    /* utoff in force just before at[i] */
    int64_t *key;       /* at[i] + min(before, after): local-time search key */
    size_t count;       /* number of transitions */
    s_type_t *types;    /* local time types */
    size_t type_count;  /* number of types */
    char *chars;        /* NUL-separated abbreviations */
    bool utc;           /* the built-in UTC zone */
    struct hg_tz *next; /* cache list */
};

static hg_tz_t s_utc = {.name = "UTC", .utc = true};
static hg_tz_t *s_cache;
static pthread_mutex_t s_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---------------------------------------------------------------------------
 * POSIX TZ strings (footer), e.g. "EST5EDT,M3.2.0,M11.1.0" or
 * "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0/2"
 */

typedef struct {
    int kind;     /* 'J' Julian 1-365, 'D' zero-based day 0-365, 'M' month.week.day */
    int a, b, c;  /* day / month, week, weekday */
    int32_t time; /* seconds after local midnight (may be negative or > 24h) */
} s_rule_t;

typedef struct {
    char std_name[16], dst_name[16]; /* abbreviations */
    int32_t std_off, dst_off;        /* utoff (east positive) */
    bool has_dst;                    /* DST part present */
    s_rule_t start, end;             /* DST start (in std time) and end (in dst time) */
} s_posix_t;

static bool s_posix_name(const char **p, char *out, size_t size)
{
    const char *q = *p;
    size_t n = 0;
    if (*q == '<') {
        q++;
        while (*q && *q != '>') {
            if (n + 1 < size) out[n++] = *q;
            q++;
        }
        if (*q != '>') return false;
        q++;
    } else {
        while (isalpha((unsigned char) *q)) {
            if (n + 1 < size) out[n++] = *q;
            q++;
        }
    }
    out[n] = '\0';
    if (n < 3) return false;
    *p = q;
    return true;
}

/* A run of decimal digits at *q (possibly empty: 0). A long run, which no
 * real footer has, saturates above every limit instead of overflowing. */
static int s_posix_num(const char **q)
{
    int v = 0;
    while (isdigit((unsigned char) **q)) {
        if (v < 100000) v = v * 10 + (**q - '0');
        (*q)++;
    }
    return v;
}

/* [+-]hh[:mm[:ss]]; hours up to 167 (RFC 8536 extension). */
static bool s_posix_time(const char **p, int32_t *secs)
{
    const char *q = *p;
    int sign = 1;
    if (*q == '+' || *q == '-') sign = *q++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char) *q)) return false;
    int h = s_posix_num(&q), m = 0, s = 0;
    if (*q == ':') {
        q++;
        m = s_posix_num(&q);
        if (*q == ':') {
            q++;
            s = s_posix_num(&q);
        }
    }
    if (h > 167 || m > 59 || s > 59) return false;
    *secs = sign * (h * 3600 + m * 60 + s);
    *p = q;
    return true;
}

static bool s_posix_rule(const char **p, s_rule_t *r)
{
    const char *q = *p;
    r->time = 7200;
    if (*q == 'M') {
        q++;
        r->kind = 'M';
        /* Digits only: sscanf would also take signs, blanks and numbers
         * too large for an int. */
        int *part[3] = {&r->a, &r->b, &r->c};
        for (int i = 0; i < 3; i++) {
            if (!isdigit((unsigned char) *q)) return false;
            *part[i] = s_posix_num(&q);
            if (i < 2 && *q++ != '.') return false;
        }
        if (r->a < 1 || r->a > 12 || r->b < 1 || r->b > 5 || r->c < 0 || r->c > 6) return false;
    } else {
        r->kind = 'D';
        if (*q == 'J') {
            r->kind = 'J';
            q++;
        }
        if (!isdigit((unsigned char) *q)) return false;
        r->a = s_posix_num(&q);
        if (r->a > 365 || (r->kind == 'J' && r->a < 1)) return false;
    }
    if (*q == '/') {
        q++;
        if (!s_posix_time(&q, &r->time)) return false;
    }
    *p = q;
    return true;
}

static bool s_posix_parse(const char *text, s_posix_t *tz)
{
    const char *p = text;
    memset(tz, 0, sizeof *tz);
    int32_t off;
    if (!s_posix_name(&p, tz->std_name, sizeof tz->std_name) || !s_posix_time(&p, &off))
        return false;
    if (off < -HG_TZ_MAX_UTOFF || off > HG_TZ_MAX_UTOFF) return false;
    tz->std_off = -off; /* POSIX offsets are west-positive */
    if (!*p) return true;
    if (!s_posix_name(&p, tz->dst_name, sizeof tz->dst_name)) return false;
    tz->has_dst = true;
    tz->dst_off = tz->std_off + 3600;
    if (*p && *p != ',') {
        if (!s_posix_time(&p, &off) || off < -HG_TZ_MAX_UTOFF || off > HG_TZ_MAX_UTOFF)
            return false;
        tz->dst_off = -off;
    }
    if (*p != ',') {
        /* POSIX leaves the default rule to the implementation; TZif footers
         * always carry one. */
        return false;
    }
    p++;
    if (!s_posix_rule(&p, &tz->start) || *p++ != ',' || !s_posix_rule(&p, &tz->end) || *p)
        return false;
    return true;
}

/* Local (wall) seconds since the epoch at which rule r fires in year y,
 * before adding the rule time. */
static int64_t s_rule_day(const s_rule_t *r, int64_t y)
{
    int64_t jan1 = hg_days_from_civil(y, 1, 1);
    switch (r->kind) {
    case 'J': { /* 1-365, February 29 never counted */
        int64_t d = r->a - 1;
        if (hg_is_leap_year(y) && r->a >= 60) d++;
        return jan1 + d;
    }
    case 'D':
        return jan1 + r->a;
    default: { /* Mm.w.d: day d of week w (5 = last) of month m */
        int64_t first = hg_days_from_civil(y, r->a, 1);
        int w0 = hg_weekday_from_days(first);
        int64_t d = first + (r->c - w0 + 7) % 7 + 7 * (r->b - 1);
        int dim = hg_days_in_month(y, r->a);
        while (d >= first + dim)
            d -= 7;
        return d;
    }
    }
}

/* ---------------------------------------------------------------------------
 * Loading
 */

static uint32_t s_be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static int64_t s_be64(const unsigned char *p)
{
    return (int64_t) ((uint64_t) s_be32(p) << 32 | s_be32(p + 4));
}

static void s_tz_free(hg_tz_t *tz)
{
    if (!tz || tz->utc) return;
    free(tz->name);
    free(tz->at);
    free(tz->type_of);
    free(tz->before);
    free(tz->key);
    free(tz->types);
    free(tz->chars);
    free(tz);
}

/* Adds a type (utoff, dst, abbreviation) unless an equal one exists. */
static int s_add_type(hg_tz_t *tz, size_t *chars_len, int32_t utoff, bool dst, const char *abbr)
{
    for (size_t i = 0; i < tz->type_count; i++)
        if (tz->types[i].utoff == utoff && tz->types[i].is_dst == dst &&
            strcmp(tz->chars + tz->types[i].abbr, abbr) == 0)
            return (int) i;
    size_t n = strlen(abbr) + 1;
    char *chars = realloc(tz->chars, *chars_len + n);
    s_type_t *types = realloc(tz->types, (tz->type_count + 1) * sizeof *types);
    if (chars) tz->chars = chars;
    if (types) tz->types = types;
    if (!chars || !types) return -1;
    memcpy(tz->chars + *chars_len, abbr, n);
    tz->types[tz->type_count] = (s_type_t){utoff, dst, (int) *chars_len};
    *chars_len += n;
    return (int) tz->type_count++;
}

static int s_push_transition(hg_tz_t *tz, size_t *cap, int64_t at, int type)
{
    if (tz->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        int64_t *a = realloc(tz->at, ncap * sizeof *a);
        if (a) tz->at = a;
        int *t = realloc(tz->type_of, ncap * sizeof *t);
        if (t) tz->type_of = t;
        if (!a || !t) return -1;
        *cap = ncap;
    }
    tz->at[tz->count] = at;
    tz->type_of[tz->count] = type;
    tz->count++;
    return 0;
}

/* Parses TZif data. Returns NULL with a reason in *why on failure. */
static hg_tz_t *s_tz_parse(const unsigned char *buf, size_t len, const char **why)
{
    *why = "not a TZif file";
    if (len < 44 || memcmp(buf, "TZif", 4) != 0) return NULL;
    int version = buf[4] ? buf[4] - '0' : 1;
    const unsigned char *h = buf;
    size_t tsize = 4;
    for (int pass = 0;; pass++) {
        uint32_t isutcnt = s_be32(h + 20), isstdcnt = s_be32(h + 24), leapcnt = s_be32(h + 28);
        uint32_t timecnt = s_be32(h + 32), typecnt = s_be32(h + 36), charcnt = s_be32(h + 40);
        size_t body = (size_t) timecnt * tsize + timecnt + (size_t) typecnt * 6 + charcnt +
                      (size_t) leapcnt * (tsize + 4) + isstdcnt + isutcnt;
        if ((size_t) (h - buf) + 44 + body > len || typecnt == 0 || typecnt > 256) return NULL;
        if (pass == 0 && version >= 2) {
            h += 44 + body; /* skip the 32-bit block */
            tsize = 8;
            if ((size_t) (h - buf) + 44 > len || memcmp(h, "TZif", 4) != 0) return NULL;
            continue;
        }
        if (leapcnt > 0) {
            *why = "zones with leap seconds (right/...) are not supported";
            return NULL;
        }
        hg_tz_t *tz = calloc(1, sizeof *tz);
        if (!tz) return NULL;
        const unsigned char *p = h + 44;
        size_t cap = 0;
        const unsigned char *idx = p + (size_t) timecnt * tsize;
        const unsigned char *tt = idx + timecnt;
        const unsigned char *ch = tt + (size_t) typecnt * 6;
        tz->types = calloc(typecnt, sizeof *tz->types);
        tz->chars = malloc(charcnt + 1);
        if (!tz->types || !tz->chars) goto oom;
        memcpy(tz->chars, ch, charcnt);
        tz->chars[charcnt] = '\0';
        size_t chars_len = charcnt + 1;
        tz->type_count = typecnt;
        for (uint32_t i = 0; i < typecnt; i++) {
            tz->types[i].utoff = (int32_t) s_be32(tt + 6 * i);
            if (tz->types[i].utoff < -HG_TZ_MAX_UTOFF || tz->types[i].utoff > HG_TZ_MAX_UTOFF)
                goto bad;
            tz->types[i].is_dst = tt[6 * i + 4] != 0;
            tz->types[i].abbr = tt[6 * i + 5] < charcnt ? tt[6 * i + 5] : (int) charcnt;
        }
        for (uint32_t i = 0; i < timecnt; i++) {
            int64_t at = tsize == 8 ? s_be64(p + 8 * i) : (int32_t) s_be32(p + 4 * i);
            if (idx[i] >= typecnt || (tz->count && at <= tz->at[tz->count - 1]) ||
                at < -HG_TZ_MAX_AT || at > HG_TZ_MAX_AT)
                goto bad;
            if (s_push_transition(tz, &cap, at, idx[i]) < 0) goto oom;
        }

        /* Footer: "\n<POSIX TZ>\n", for instants after the last transition. */
        const unsigned char *foot =
            ch + charcnt + (size_t) leapcnt * (tsize + 4) + isstdcnt + isutcnt;
        char posix_text[128] = "";
        if (version >= 2 && foot < buf + len && *foot == '\n') {
            const unsigned char *e = memchr(foot + 1, '\n', (size_t) (buf + len - foot - 1));
            size_t n = e ? (size_t) (e - foot - 1) : 0;
            if (e && n < sizeof posix_text) {
                memcpy(posix_text, foot + 1, n);
                posix_text[n] = '\0';
            }
        }
        s_posix_t px;
        if (posix_text[0] && s_posix_parse(posix_text, &px)) {
            int std_t = s_add_type(tz, &chars_len, px.std_off, false, px.std_name);
            int dst_t =
                px.has_dst ? s_add_type(tz, &chars_len, px.dst_off, true, px.dst_name) : std_t;
            if (std_t < 0 || dst_t < 0) goto oom;
            int64_t last = tz->count ? tz->at[tz->count - 1] : INT64_MIN;
            if (!px.has_dst) {
                if (tz->count == 0 && typecnt == 1 && tz->types[0].utoff != px.std_off) goto bad;
            } else {
                int64_t y0 = 1970;
                if (tz->count) {
                    int64_t yy;
                    int mm, dd;
                    hg_civil_from_days(hg_floor_div(last, 86400), &yy, &mm, &dd);
                    y0 = yy;
                }
                /* The rule is expanded for at most the years from
                 * HG_TZ_EXPAND_FROM to HG_TZ_EXPAND_YEAR, wherever the last
                 * transition is: a file whose last one is a billion years
                 * back would otherwise cost billions of transitions. */
                if (y0 < HG_TZ_EXPAND_FROM) y0 = HG_TZ_EXPAND_FROM;
                for (int64_t y = y0; y <= HG_TZ_EXPAND_YEAR; y++) {
                    /* start is given in standard time, end in daylight time */
                    int64_t on = s_rule_day(&px.start, y) * 86400 + px.start.time - px.std_off;
                    int64_t off = s_rule_day(&px.end, y) * 86400 + px.end.time - px.dst_off;
                    int64_t first = on < off ? on : off, second = on < off ? off : on;
                    int t1 = on < off ? dst_t : std_t, t2 = on < off ? std_t : dst_t;
                    if (first > last && s_push_transition(tz, &cap, first, t1) < 0) goto oom;
                    if (first > last) last = first;
                    if (second > last && s_push_transition(tz, &cap, second, t2) < 0) goto oom;
                    if (second > last) last = second;
                }
            }
        }

        /* Search keys for local -> UTC (see hg_tz_local_to_utc). */
        if (tz->count) {
            tz->before = malloc(tz->count * sizeof *tz->before);
            tz->key = malloc(tz->count * sizeof *tz->key);
            if (!tz->before || !tz->key) goto oom;
            for (size_t i = 0; i < tz->count; i++) {
                int32_t b = tz->types[i ? tz->type_of[i - 1] : 0].utoff;
                int32_t a = tz->types[tz->type_of[i]].utoff;
                tz->before[i] = b;
                tz->key[i] = tz->at[i] + (a < b ? a : b);
            }
        }
        return tz;
    oom:
        *why = "out of memory";
        s_tz_free(tz);
        return NULL;
    bad:
        *why = "corrupt TZif data";
        s_tz_free(tz);
        return NULL;
    }
}

static bool s_name_ok(const char *name)
{
    if (!*name || name[0] == '/' || strlen(name) > 100) return false;
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char) *p) && !strchr("/_+-.", *p)) return false;
        /* no ".." components, no hidden files */
        if (*p == '.' && (p == name || p[-1] == '/')) return false;
    }
    return true;
}

int hg_tz_parse(const char *name, const uint8_t *buf, size_t len, hg_tz_t **out, char *err,
                size_t err_size)
{
    if (!err) err_size = 0;
    *out = NULL;
    const char *why = "out of memory";
    hg_tz_t *tz = s_tz_parse(buf, len, &why);
    if (tz && !(tz->name = strdup(name))) {
        s_tz_free(tz);
        tz = NULL;
        why = "out of memory";
    }
    if (!tz) {
        if (err_size) snprintf(err, err_size, "time zone: \"%s\": %s", name, why);
        return strcmp(why, "out of memory") == 0 ? HG_ENOMEM : HG_ETZ;
    }
    *out = tz;
    return 0;
}

void hg_tz_free(hg_tz_t **tz)
{
    if (tz && *tz) {
        s_tz_free(*tz);
        *tz = NULL;
    }
}

static hg_tz_t *s_tz_load(const char *name, char *err, size_t err_size)
{
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir) dir = "/usr/share/zoneinfo";
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err_size)
            snprintf(err, err_size, "time zone: \"%s\" is not a known IANA zone (%s)", name,
                     errno == ENOENT ? "no such zone in the system zoneinfo" : strerror(errno));
        return NULL;
    }
    unsigned char *buf = malloc(HG_TZ_MAX_FILE);
    size_t len = buf ? fread(buf, 1, HG_TZ_MAX_FILE, f) : 0;
    fclose(f);
    hg_tz_t *tz = NULL;
    if (buf)
        hg_tz_parse(name, buf, len, &tz, err, err_size);
    else if (err_size)
        snprintf(err, err_size, "time zone: \"%s\": out of memory", name);
    free(buf);
    return tz;
}

int hg_tz_get(const char *name, const hg_tz_t **out, char *err, size_t err_size)
{
    if (!err) err_size = 0;
    if (!name || !*name || strcmp(name, "UTC") == 0) {
        *out = &s_utc;
        return 0;
    }
    if (!s_name_ok(name)) {
        if (err_size)
            snprintf(err, err_size,
                     "time zone: \"%s\" is not a valid zone name (allowed: an IANA name such as "
                     "Europe/London)",
                     name);
        return HG_ETZ;
    }
    pthread_mutex_lock(&s_cache_lock);
    hg_tz_t *tz;
    for (tz = s_cache; tz; tz = tz->next)
        if (strcmp(tz->name, name) == 0) break;
    if (!tz) {
        /* Loading under the lock keeps one copy per zone; it happens once
         * per zone per process. */
        tz = s_tz_load(name, err, err_size);
        if (tz) {
            tz->next = s_cache;
            s_cache = tz;
        }
    }
    pthread_mutex_unlock(&s_cache_lock);
    if (!tz) return HG_ETZ;
    *out = tz;
    return 0;
}

const char *hg_tz_name(const hg_tz_t *tz)
{
    return tz ? tz->name : "UTC";
}

bool hg_tz_is_utc(const hg_tz_t *tz)
{
    return !tz || tz->utc;
}

/* Index of the last transition at or before utc_s, or -1. */
static long s_find(const hg_tz_t *tz, int64_t utc_s)
{
    size_t lo = 0, hi = tz->count; /* answer in [lo - 1, hi - 1] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= utc_s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long) lo - 1;
}

int32_t hg_tz_offset(const hg_tz_t *tz, int64_t utc_s, const char **abbr, bool *is_dst)
{
    if (hg_tz_is_utc(tz)) {
        if (abbr) *abbr = "UTC";
        if (is_dst) *is_dst = false;
        return 0;
    }
    long i = s_find(tz, utc_s);
    /* Before the first transition, RFC 8536 says time type 0 applies. */
    const s_type_t *t = &tz->types[i < 0 ? 0 : tz->type_of[i]];
    if (abbr) *abbr = tz->chars + t->abbr;
    if (is_dst) *is_dst = t->is_dst;
    return t->utoff;
}

hg_tz_local_t hg_tz_local_to_utc(const hg_tz_t *tz, int64_t local_s, int64_t *utc_s,
                                 int64_t *edge_local_s)
{
    int64_t edge_dummy;
    if (!edge_local_s) edge_local_s = &edge_dummy;
    if (hg_tz_is_utc(tz)) {
        *utc_s = local_s;
        return HG_TZ_LOCAL_UNIQUE;
    }
    /* key[i] is the lowest local time touched by transition i (its start
     * when clocks go back, the start of the gap when they go forward). The
     * last transition with key <= local decides. */
    size_t lo = 0, hi = tz->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->key[mid] <= local_s)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) {
        *utc_s = local_s - tz->types[0].utoff;
        return HG_TZ_LOCAL_UNIQUE;
    }
    size_t i = lo - 1;
    int32_t before = tz->before[i], after = tz->types[tz->type_of[i]].utoff;
    if (after > before) {
        /* clocks went forward: [at + before, at + after) does not exist */
        if (local_s < tz->at[i] + after) {
            *edge_local_s = tz->at[i] + after;
            return HG_TZ_LOCAL_SKIPPED;
        }
        *utc_s = local_s - after;
        return HG_TZ_LOCAL_UNIQUE;
    }
    if (after < before && local_s < tz->at[i] + before) {
        /* clocks went back: [at + after, at + before) occurs twice */
        *utc_s = local_s - before;
        *edge_local_s = tz->at[i] + before;
        return HG_TZ_LOCAL_REPEATED;
    }
    *utc_s = local_s - after;
    return HG_TZ_LOCAL_UNIQUE;
}
