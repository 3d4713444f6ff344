/* noop: the smallest Hourglass plug-in. It succeeds at once; the
 * benchmarks use it to measure the cost of a plug-in run itself. */
#include "hourglass/plugin.h"

static int noop_run(void *state, const hg_plugin_ctx_t *ctx)
{
    (void) state;
    (void) ctx;
    return HG_PLUGIN_OK;
}

static const hg_plugin_descriptor_t noop_descriptor = {
    HG_PLUGIN_ABI_VERSION,   sizeof(hg_plugin_descriptor_t), "noop", "1.0.0", NULL, noop_run, NULL,
    {NULL, NULL, NULL, NULL}};

HG_PLUGIN_EXPORT const hg_plugin_descriptor_t *hourglass_plugin(void)
{
    return &noop_descriptor;
}
