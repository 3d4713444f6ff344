/* Test plug-in: claims ABI version 99. */
#include "hourglass/plugin.h"

static int run(void *state, const hg_plugin_ctx_t *ctx)
{
    (void) state;
    (void) ctx;
    return HG_PLUGIN_OK;
}

static const hg_plugin_descriptor_t d = {99, sizeof(d), "badabi", "1", 0, run, 0, {0, 0, 0, 0}};

HG_PLUGIN_EXPORT const hg_plugin_descriptor_t *hourglass_plugin(void)
{
    return &d;
}
