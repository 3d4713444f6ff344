/* cmd_retention: `hourglass runs purge --before T [--job NAME]
 * [--namespace NS]`, the manual purge of run history (POST
 * /api/v1/runs:purge; admin token). The leader also purges by itself
 * with the retention.runs rule (docs/observability.md, Retention). */
#include "cli.h"
#include "hg_time.h"

#include <inttypes.h>
#include <stdio.h>

static const hg_flag_t s_purge_flags[] = {
    {"before", "TIME", false,
     "delete runs scheduled before TIME (RFC 3339, or a duration ago: 720h); required"},
    {"job", "NAME", false, "only the runs of this job"},
    {"namespace", "NS", false, "only this namespace (of --job: default \"default\")"},
};

static int s_purge_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *before = hg_args_get(args, "before");
    if (!before) return hg_cli_usage_fail(cli, "--before TIME is required");
    char cut[40], msg[512];
    if (hg_cli_time_arg("before", before, hg_now_ms(), cut, sizeof cut, msg, sizeof msg) != 0)
        return hg_cli_usage_fail(cli, "%s", msg);
    json_t *body = json_pack("{s:s}", "before", cut);
    const char *job = hg_args_get(args, "job"), *ns = hg_args_get(args, "namespace");
    if (job) json_object_set_new(body, "job", json_string(job));
    if (ns) json_object_set_new(body, "namespace", json_string(ns));
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "POST", "/api/v1/runs:purge", NULL, 0, body, &doc);
    json_decref(body);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else {
        /* The batches say how long it held MySQL: retention.batch rows
         * a statement (docs/observability.md). */
        const json_t *deleted = json_object_get(doc, "deleted");
        json_int_t batches = json_integer_value(json_object_get(doc, "batches"));
        fprintf(cli->out,
                "purged %" JSON_INTEGER_FORMAT " runs scheduled before %s in %" JSON_INTEGER_FORMAT
                " batch%s\n",
                json_integer_value(json_object_get(deleted, "runs")), cut, batches,
                batches == 1 ? "" : "es");
    }
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_runs_purge = {
    .group = "runs",
    .name = "purge",
    .pos_usage = "",
    .flags = s_purge_flags,
    .flags_n = sizeof s_purge_flags / sizeof s_purge_flags[0],
    .summary = "Delete the runs scheduled before a time (admin)",
    .needs_master = true,
    .run = s_purge_run,
};
