/* Test plug-in: dereferences NULL. */
#include "hourglass/plugin.h"

static int run(void *state, const hg_plugin_ctx_t *ctx)
{
    volatile int *p = (volatile int *) (ctx->size > 1000000u ? ctx : 0);
    (void) state;
    return *p;
}

static const hg_plugin_descriptor_t d = {HG_PLUGIN_ABI_VERSION, sizeof(d), "segv", "1", 0, run, 0,
                                         {0, 0, 0, 0}};

HG_PLUGIN_EXPORT const hg_plugin_descriptor_t *hourglass_plugin(void)
{
    return &d;
}
