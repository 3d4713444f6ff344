/* Test plug-in: logs, echoes its parameters and context as the result.
 * Params: "fail" -> fails with a message; "retry" -> asks for a retry. */
#include "hourglass/plugin.h"

#include <stdio.h>
#include <string.h>

static int run(void *state, const hg_plugin_ctx_t *ctx)
{
    char buf[2048];
    size_t used = 0, i;
    (void) state;
    ctx->log(ctx, HG_PLUGIN_LOG_INFO, "hello from %s", ctx->job_name(ctx));
    ctx->log(ctx, HG_PLUGIN_LOG_WARN, "attempt %u shard %u/%u", ctx->attempt(ctx),
             ctx->shard_index(ctx), ctx->shard_total(ctx));
    if (ctx->param(ctx, "fail")) {
        ctx->fail(ctx, "asked to fail: %s", ctx->param(ctx, "fail"));
        return HG_PLUGIN_FAILED;
    }
    if (ctx->param(ctx, "retry")) {
        ctx->fail(ctx, "try again later");
        return HG_PLUGIN_RETRY;
    }
    used += (size_t) snprintf(buf + used, sizeof(buf) - used, "run=%s n=%zu", ctx->run_id(ctx),
                              ctx->param_count(ctx));
    for (i = 0; i < ctx->param_count(ctx) && used < sizeof(buf); i++) {
        const hg_plugin_kv_t *kv = ctx->param_at(ctx, i);
        used += (size_t) snprintf(buf + used, sizeof(buf) - used, " %s=%s", kv->key, kv->value);
    }
    if (used >= sizeof(buf)) used = sizeof(buf) - 1;
    ctx->set_result(ctx, buf, used);
    return HG_PLUGIN_OK;
}

static const hg_plugin_descriptor_t d = {HG_PLUGIN_ABI_VERSION, sizeof(d), "echo", "2.1", 0, run, 0,
                                         {0, 0, 0, 0}};

HG_PLUGIN_EXPORT const hg_plugin_descriptor_t *hourglass_plugin(void)
{
    return &d;
}
