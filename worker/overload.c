/* overload: one log line when an executor starts refusing runs, one when
 * it stops (see overload.h). */
#include "overload.h"
#include "hg_log.h"

#include <inttypes.h>
#include <string.h>

void hg_overload_note(hg_overload_t *o, const hg_run_t *run, int64_t now_mono)
{
    if (!o || !run || run->status != HG_RUN_SKIPPED || !run->error ||
        strncmp(run->error, HG_OVERLOADED, strlen(HG_OVERLOADED)) != 0)
        return;
    if (o->skipped == 0) {
        o->first_mono = now_mono;
        hg_warn("%s; %s runs are skipped until the queue has room (raise %s, or add workers)",
                run->error, o->what, o->setting);
    }
    o->skipped++;
    o->last_mono = now_mono;
}

void hg_overload_tick(hg_overload_t *o, int64_t now_mono, bool force)
{
    if (!o || o->skipped == 0) return;
    if (!force && now_mono - o->last_mono < HG_OVERLOAD_QUIET_MS) return;
    hg_warn("%s overload over: %" PRIu64 " runs skipped over %lld ms", o->what, o->skipped,
            (long long) (o->last_mono - o->first_mono));
    o->skipped = 0;
}
