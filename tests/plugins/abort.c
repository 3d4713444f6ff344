/* Test plug-in: calls abort(). */
#include "hourglass/plugin.h"

#include <stdlib.h>

static int run(void *state, const hg_plugin_ctx_t *ctx)
{
    (void) state;
    (void) ctx;
    abort();
}

static const hg_plugin_descriptor_t d = {HG_PLUGIN_ABI_VERSION, sizeof(d), "abort", "1", 0, run, 0,
                                         {0, 0, 0, 0}};

HG_PLUGIN_EXPORT const hg_plugin_descriptor_t *hourglass_plugin(void)
{
    return &d;
}
