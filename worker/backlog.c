/* backlog: fires not run while the worker's records wait for the master,
 * tallied per job (see backlog.h). */
#include "backlog.h"
#include "hg_error.h"
#include "hg_log.h"

#include <czmq.h>
#include <inttypes.h>

/* While an episode lasts, its tallies are recorded this often, so that a
 * long one shows in the history before it ends. */
#define S_REPORT_MS 5000

struct hg_backlog_t {
    uint32_t max;        /* enter at this many held records; leave below max / 2 */
    bool full;           /* in an episode */
    int64_t since_mono;  /* its start */
    int64_t report_mono; /* next periodic report */
    bool ended;          /* the episode ended; its tallies are due */
    size_t round_left;   /* tallies still to take in the report under way */
    zhashx_t *tallies;   /* job id -> hg_backlog_tally_t */
    uint64_t episode;    /* fires not run in this episode */
    uint64_t total;      /* ... since the start */
};

static size_t s_hash(const void *key)
{
    uint64_t x = *(const uint64_t *) key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t) x;
}

static int s_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static void s_free(void **item)
{
    free(*item);
    *item = NULL;
}

hg_backlog_t *hg_backlog_new(uint32_t max)
{
    hg_backlog_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->max = max;
    self->tallies = zhashx_new();
    if (!self->tallies) {
        free(self);
        return NULL;
    }
    /* The key is the tally's own job_id: no copy, no destructor. */
    zhashx_set_key_hasher(self->tallies, s_hash);
    zhashx_set_key_comparator(self->tallies, s_compare);
    zhashx_set_key_duplicator(self->tallies, NULL);
    zhashx_set_key_destructor(self->tallies, NULL);
    zhashx_set_destructor(self->tallies, s_free);
    return self;
}

void hg_backlog_destroy(hg_backlog_t **self_p)
{
    if (!self_p || !*self_p) return;
    zhashx_destroy(&(*self_p)->tallies);
    free(*self_p);
    *self_p = NULL;
}

bool hg_backlog_full(hg_backlog_t *self, size_t held, int64_t now_mono_ms)
{
    if (!self->max) return false;
    if (!self->full && held >= self->max) {
        self->full = true;
        self->since_mono = now_mono_ms;
        self->report_mono = now_mono_ms + S_REPORT_MS;
        self->episode = 0;
        hg_warn("%zu run records wait for the master (report.backlog_max %u): fires are skipped "
                "until fewer than %u wait, one skipped record per job for all its fires",
                held, self->max, self->max / 2);
    } else if (self->full && held < self->max / 2) {
        self->full = false;
        self->ended = true;
        hg_warn("backlog over after %lld ms: %" PRIu64 " fires skipped",
                (long long) (now_mono_ms - self->since_mono), self->episode);
    }
    return self->full;
}

int hg_backlog_skip(hg_backlog_t *self, uint64_t job_id, int64_t scheduled_ms)
{
    hg_backlog_tally_t *t = zhashx_lookup(self->tallies, &job_id);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) return HG_ENOMEM;
        t->job_id = job_id;
        t->first_ms = scheduled_ms;
        zhashx_insert(self->tallies, &t->job_id, t);
    }
    if (scheduled_ms < t->first_ms) t->first_ms = scheduled_ms;
    if (scheduled_ms > t->last_ms) t->last_ms = scheduled_ms;
    if (t->fires < UINT32_MAX) t->fires++;
    self->episode++;
    self->total++;
    return 0;
}

bool hg_backlog_due(hg_backlog_t *self, int64_t now_mono_ms)
{
    size_t n = zhashx_size(self->tallies);
    if (!n) {
        self->ended = false;
        self->round_left = 0;
        return false;
    }
    if (self->round_left) return true; /* a report under way goes on */
    bool periodic = self->full && now_mono_ms >= self->report_mono;
    if (!self->ended && !periodic) return false;
    /* A report covers the tallies there are now; those begun while it is
     * taken wait for the next one (one record per job and report). */
    self->ended = false;
    self->report_mono = now_mono_ms + S_REPORT_MS;
    self->round_left = n;
    return true;
}

bool hg_backlog_pop(hg_backlog_t *self, hg_backlog_tally_t *out)
{
    hg_backlog_tally_t *t = zhashx_first(self->tallies);
    if (!t) {
        self->ended = false;
        self->round_left = 0;
        return false;
    }
    *out = *t;
    zhashx_delete(self->tallies, &t->job_id);
    if (self->round_left) self->round_left--;
    return true;
}

bool hg_backlog_reporting(const hg_backlog_t *self)
{
    return self->round_left > 0;
}

uint64_t hg_backlog_skipped_total(const hg_backlog_t *self)
{
    return self->total;
}
