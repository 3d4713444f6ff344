/* Test plug-in: allocates and touches memory without bound (up to 64 GiB,
 * so a run without a limit still ends). */
#include "hourglass/plugin.h"

#include <stdlib.h>
#include <string.h>

static int run(void *state, const hg_plugin_ctx_t *ctx)
{
    size_t chunk = 64u << 20, total = 0;
    (void) state;
    while (total < ((size_t) 64 << 30)) {
        char *p = malloc(chunk);
        if (!p) {
            ctx->fail(ctx, "out of memory after %zu MiB", total >> 20);
            return HG_PLUGIN_FAILED;
        }
        memset(p, 1, chunk);
        total += chunk;
    }
    return HG_PLUGIN_OK;
}

static const hg_plugin_descriptor_t d = {HG_PLUGIN_ABI_VERSION, sizeof(d), "hog", "1", 0, run, 0,
                                         {0, 0, 0, 0}};

HG_PLUGIN_EXPORT const hg_plugin_descriptor_t *hourglass_plugin(void)
{
    return &d;
}
