/* refire: the decision for a scheduled time whose request a lapsed lease
 * kept from being sent (or from being known to be sent), and the memory
 * that makes each such run re-run at most once. See refire.h. */
#include "refire.h"
#include "hg_fence_note.h"
#include "hg_runid.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

struct hg_refire {
    zhashx_t *claimed; /* claim key (hg_refire_key) -> its place in order */
    zlistx_t *order;   /* claim keys (owned copies), oldest claim first */
};

static bool s_starts(const char *text, const char *prefix)
{
    return text && strncmp(text, prefix, strlen(prefix)) == 0;
}

hg_fence_kind_t hg_refire_kind(const hg_run_t *run)
{
    if (!run) return HG_FENCE_NONE;
    if (run->status == HG_RUN_SKIPPED && s_starts(run->error, HG_FENCE_NOT_SENT))
        return HG_FENCE_UNSENT;
    if (run->status == HG_RUN_FAILED && s_starts(run->error, HG_FENCE_RESET))
        return HG_FENCE_UNKNOWN;
    return HG_FENCE_NONE;
}

/* Whether the holder the job has (or will get) starts its schedule after
 * scheduled_ms without having fired it: then only a refire sends it. */
static bool s_holder_passed_it(int64_t scheduled_ms, const hg_refire_ctx_t *ctx)
{
    if (ctx->moved == HG_MOVED_ONCE) return scheduled_ms <= ctx->handed_last_ms;
    /* Not moved: a holder is the worker that fired it (it keeps its own
     * last fire time, which is past it); with no holder, the next one gets
     * the master's last fire time. */
    return ctx->held || scheduled_ms <= ctx->last_fire_ms;
}

hg_refire_action_t hg_refire_decide(hg_fence_kind_t kind, int64_t scheduled_ms,
                                    const hg_refire_ctx_t *ctx, char *note, size_t note_size)
{
    const char *policy = hg_misfire_name(ctx->policy);
    if (kind == HG_FENCE_UNKNOWN) {
        if (ctx->recover) {
            snprintf(note, note_size, "; run again once (recover)");
            return HG_REFIRE_RECOVER;
        }
        snprintf(note, note_size,
                 "; not run again (at most once: set recover to re-run runs "
                 "that may not have reached the endpoint)");
        return HG_REFIRE_NONE;
    }
    if (kind != HG_FENCE_UNSENT) {
        if (note_size) note[0] = '\0';
        return HG_REFIRE_NONE;
    }
    if (ctx->policy == HG_MISFIRE_SKIP && !ctx->recover) {
        snprintf(note, note_size, "; not fired again (misfire policy skip)");
        return HG_REFIRE_NONE;
    }
    if (ctx->moved == HG_MOVED_MORE) {
        snprintf(note, note_size,
                 "; not fired again: the job moved more than once since, so whether a later "
                 "holder fired this time is not known (at most once)");
        return HG_REFIRE_NONE;
    }
    if (!s_holder_passed_it(scheduled_ms, ctx)) {
        snprintf(note, note_size,
                 "; the job's next holder fires this time if its misfire policy (%s) does", policy);
        return HG_REFIRE_NONE;
    }
    snprintf(note, note_size, "; fired again once by the job's %s (%s)",
             ctx->held ? "holder" : "next holder",
             ctx->policy == HG_MISFIRE_SKIP ? "recover" : policy);
    return HG_REFIRE_AGAIN;
}

/* ------------------------------------------------------------------ claims */

hg_refire_t *hg_refire_new(void)
{
    hg_refire_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->claimed = zhashx_new();
    self->order = zlistx_new();
    if (!self->claimed || !self->order) {
        hg_refire_destroy(&self);
        return NULL;
    }
    /* Keys come from workers: keyed hash (hg_runid_hash). */
    zhashx_set_key_hasher(self->claimed, hg_runid_hash);
    zhashx_set_key_comparator(self->claimed, hg_runid_compare);
    zhashx_set_key_duplicator(self->claimed, hg_runid_dup);
    zhashx_set_key_destructor(self->claimed, hg_runid_free);
    zlistx_set_destructor(self->order, hg_runid_free);
    return self;
}

void hg_refire_destroy(hg_refire_t **p)
{
    if (!p || !*p) return;
    zhashx_destroy(&(*p)->claimed);
    zlistx_destroy(&(*p)->order);
    free(*p);
    *p = NULL;
}

void hg_refire_key(const hg_run_t *run, uint8_t key[HG_PROTO_RUN_ID_SIZE])
{
    bool rerun =
        run->reason && (strcmp(run->reason, "refire") == 0 || strcmp(run->reason, "recover") == 0);
    if (rerun) {
        memcpy(key, run->run_id, HG_PROTO_RUN_ID_SIZE);
        return;
    }
    uint64_t at = (uint64_t) run->scheduled_ms;
    uint32_t attempt = run->attempt ? run->attempt : 1;
    for (int i = 0; i < 6; i++) /* 48 bits of milliseconds: to the year 10889 */
        key[i] = (uint8_t) (at >> (40 - 8 * i));
    key[6] = (uint8_t) (0xf0 | ((attempt >> 8) & 0x0f));
    key[7] = (uint8_t) attempt;
    for (int i = 0; i < 8; i++)
        key[8 + i] = (uint8_t) (run->job_id >> (56 - 8 * i));
}

/* Remember key: true the first time, false when it was known (or could
 * not be remembered). The oldest are forgotten first. */
static bool s_remember(hg_refire_t *self, const uint8_t key[HG_PROTO_RUN_ID_SIZE])
{
    if (zhashx_lookup(self->claimed, key)) return false;
    if (zlistx_size(self->order) >= HG_REFIRE_CLAIMS_MAX) {
        void *oldest = zlistx_first(self->order);
        zhashx_delete(self->claimed, oldest);
        zlistx_delete(self->order, zlistx_cursor(self->order));
    }
    void *copy = hg_runid_dup(key);
    if (!copy) return false;
    void *handle = zlistx_add_end(self->order, copy);
    if (!handle) {
        hg_runid_free(&copy);
        return false;
    }
    if (zhashx_insert(self->claimed, key, handle) != 0) {
        zlistx_delete(self->order, handle);
        return false;
    }
    return true;
}

bool hg_refire_claim(hg_refire_t *self, const hg_run_t *run)
{
    if (!self || !run) return false;
    uint8_t key[HG_PROTO_RUN_ID_SIZE];
    hg_refire_key(run, key);
    return s_remember(self, key);
}

/* The key of a re-run's TRIGGER sent under epoch: 0xe in the version
 * nibble of byte 6, where claims by time have 0xf and run ids 7. */
static void s_superseded_key(uint64_t job_id, int64_t scheduled_ms, uint32_t attempt, bool refire,
                             uint64_t epoch, uint8_t key[HG_PROTO_RUN_ID_SIZE])
{
    uint64_t at = (uint64_t) scheduled_ms;
    for (int i = 0; i < 6; i++)
        key[i] = (uint8_t) (at >> (40 - 8 * i));
    key[6] = (uint8_t) (0xe0 | (refire ? 0x08 : 0) | ((attempt >> 8) & 0x07));
    key[7] = (uint8_t) attempt;
    uint64_t mix = job_id ^ (epoch * 0x9e3779b97f4a7c15ull);
    for (int i = 0; i < 8; i++)
        key[8 + i] = (uint8_t) (mix >> (56 - 8 * i));
}

void hg_refire_supersede(hg_refire_t *self, uint64_t job_id, int64_t scheduled_ms, uint32_t attempt,
                         bool refire, uint64_t epoch)
{
    if (!self) return;
    uint8_t key[HG_PROTO_RUN_ID_SIZE];
    s_superseded_key(job_id, scheduled_ms, attempt, refire, epoch, key);
    (void) s_remember(self, key);
}

bool hg_refire_superseded(hg_refire_t *self, const hg_run_t *run)
{
    if (!self || !run || !run->reason) return false;
    bool refire = strcmp(run->reason, "refire") == 0;
    if (!refire && strcmp(run->reason, "recover") != 0) return false;
    uint8_t key[HG_PROTO_RUN_ID_SIZE];
    s_superseded_key(run->job_id, run->scheduled_ms, run->attempt ? run->attempt : 1, refire,
                     run->epoch, key);
    return zhashx_lookup(self->claimed, key) != NULL;
}
