/* cmd_deps: the dependency parts of the CLI (issue 11): `hourglass job
 * tree NAME`, `hourglass job delete NAME [--cascade]`, and the
 * --depends-on / --trigger-rule flags of `job create` (hg_cli_deps_spec). */
#include "cli.h"
#include "hg_error.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hg_cli_deps_spec(const hg_args_t *args, json_t *job, char *err, size_t err_size)
{
    size_t n = hg_args_count(args, "depends-on");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *v = hg_args_nth(args, "depends-on", i);
        const char *colon = strchr(v, ':');
        size_t name_len = colon ? (size_t) (colon - v) : strlen(v);
        const char *on = colon ? colon + 1 : "success";
        if (name_len == 0 || (strcmp(on, "success") != 0 && strcmp(on, "failure") != 0 &&
                              strcmp(on, "always") != 0)) {
            json_decref(list);
            snprintf(err, err_size,
                     "--depends-on: \"%s\" is not JOB or JOB:ON (ON: success, failure, always)", v);
            return HG_EINVAL;
        }
        json_array_append_new(list, json_pack("{s:s%, s:s}", "job", v, name_len, "on", on));
    }
    if (n > 0)
        json_object_set_new(job, "depends_on", list);
    else
        json_decref(list);
    const char *rule = hg_args_get(args, "trigger-rule");
    if (rule) json_object_set_new(job, "trigger_rule", json_string(rule));
    return 0;
}

const char *hg_cli_deps_view(const json_t *job, char *buf, size_t size)
{
    size_t used = 0, i;
    json_t *d;
    buf[0] = '\0';
    json_array_foreach(json_object_get(job, "depends_on"), i, d)
    {
        int w = snprintf(buf + used, size - used, "%s%s (%s)", i ? ", " : "",
                         json_string_value(json_object_get(d, "job")),
                         json_string_value(json_object_get(d, "on")));
        if (w < 0 || (size_t) w >= size - used) return buf;
        used += (size_t) w;
    }
    const char *rule = json_string_value(json_object_get(job, "trigger_rule"));
    snprintf(buf + used, size - used, "; trigger_rule %s", rule ? rule : "all");
    return buf;
}

/* One level of the tree, indented; key is "parents" or "children". */
static void s_print_branch(hg_cli_t *cli, json_t *list, const char *key, const char *arrow,
                           int depth)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        fprintf(cli->out, "%*s%s %s (on %s)\n", depth * 2, "", arrow,
                json_string_value(json_object_get(e, "job")),
                json_string_value(json_object_get(e, "on")));
        s_print_branch(cli, json_object_get(e, key), key, arrow, depth + 1);
    }
}

static int s_tree_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *name = args->pos[0];
    char *path = hg_cli_job_path(cli, name, "/tree");
    if (!path) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    hg_query_t q[] = {{"namespace", hg_args_get(args, "namespace")}};
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", path, q, 1, NULL, &doc);
    free(path);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else {
        json_t *parents = json_object_get(doc, "parents");
        json_t *children = json_object_get(doc, "children");
        fprintf(cli->out, "%s", name);
        if (json_array_size(parents) > 0)
            fprintf(cli->out, " (trigger_rule %s)",
                    json_string_value(json_object_get(doc, "trigger_rule")));
        fprintf(cli->out, "\nparents (runs after):%s\n", json_array_size(parents) ? "" : " none");
        s_print_branch(cli, parents, "parents", "<-", 1);
        fprintf(cli->out, "children (run after it):%s\n", json_array_size(children) ? "" : " none");
        s_print_branch(cli, children, "children", "->", 1);
    }
    json_decref(doc);
    return HG_EXIT_OK;
}

static int s_delete_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *name = args->pos[0];
    char *path = hg_cli_job_path(cli, name, "");
    if (!path) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    hg_query_t q[] = {{"namespace", hg_args_get(args, "namespace")},
                      {"cascade", hg_args_has(args, "cascade") ? "true" : NULL}};
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "DELETE", path, q, 2, NULL, &doc);
    free(path);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else {
        fprintf(cli->out, "deleted job %s\n", name);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(doc, "cascaded"), i, c)
            fprintf(cli->out, "deleted job %s (depends on it)\n", json_string_value(c));
    }
    json_decref(doc);
    return HG_EXIT_OK;
}

static const hg_flag_t s_tree_flags[] = {
    {"namespace", "NS", false, "namespace of the job (default \"default\")"},
};

static const hg_flag_t s_delete_flags[] = {
    {"namespace", "NS", false, "namespace of the job (default \"default\")"},
    {"cascade", NULL, false, "also delete the jobs that depend on it (else refused)"},
};

const hg_command_t hg_cmd_job_tree = {
    .group = "job",
    .name = "tree",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_tree_flags,
    .flags_n = sizeof s_tree_flags / sizeof s_tree_flags[0],
    .summary = "Show the jobs a job depends on and the jobs that depend on it",
    .needs_master = true,
    .run = s_tree_run,
};

const hg_command_t hg_cmd_job_delete = {
    .group = "job",
    .name = "delete",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_delete_flags,
    .flags_n = sizeof s_delete_flags / sizeof s_delete_flags[0],
    .summary = "Delete a job (--cascade: and its dependents)",
    .needs_master = true,
    .run = s_delete_run,
};
