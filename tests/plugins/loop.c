/* Test plug-in: spins forever, ignoring cancellation. With param
 * "polite" it returns once ctx->cancelled() turns on. */
#include "hourglass/plugin.h"

static int run(void *state, const hg_plugin_ctx_t *ctx)
{
    volatile unsigned long n = 0;
    int polite = ctx->param(ctx, "polite") != 0;
    (void) state;
    for (;;) {
        n++;
        if (polite && (n & 0xffff) == 0 && ctx->cancelled(ctx)) return HG_PLUGIN_FAILED;
    }
}

static const hg_plugin_descriptor_t d = {HG_PLUGIN_ABI_VERSION, sizeof(d), "loop", "1", 0, run, 0,
                                         {0, 0, 0, 0}};

HG_PLUGIN_EXPORT const hg_plugin_descriptor_t *hourglass_plugin(void)
{
    return &d;
}
