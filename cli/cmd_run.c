/* cmd_run: `hourglass run cancel ID` and the retry / overlap flags of
 * `job create` (see cmd_run.h). */
#include "cmd_run.h"
#include "cli.h"
#include "client.h"
#include "hg_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A positive integer flag, or an error naming it. */
static int s_count(const char *flag, const char *text, json_int_t *out, char *err, size_t size)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || !end || *end || end == text || v < 1 || v > 1000000) {
        snprintf(err, size, "--%s: \"%s\" is not a positive integer", flag, text);
        return HG_EINVAL;
    }
    *out = v;
    return 0;
}

int hg_cli_policy_flags(const hg_args_t *args, json_t *job, char *err, size_t err_size)
{
    json_int_t n;
    const char *v;
    static const char *const retry_strs[][2] = {{"retry-backoff", "backoff"},
                                                {"retry-initial", "initial"},
                                                {"retry-max-delay", "max_delay"},
                                                {"retry-jitter", "jitter"}};
    bool any_retry = hg_args_has(args, "retry-factor") || hg_args_count(args, "retry-on") > 0;
    for (size_t i = 0; i < 4; i++)
        any_retry = any_retry || hg_args_has(args, retry_strs[i][0]);
    if (any_retry && !hg_args_has(args, "retry-max")) {
        snprintf(err, err_size, "--retry-max is required with the other --retry-* flags");
        return HG_EINVAL;
    }
    if ((v = hg_args_get(args, "retry-max"))) {
        if (s_count("retry-max", v, &n, err, err_size)) return HG_EINVAL;
        json_t *retry = json_object();
        json_object_set_new(job, "retry", retry);
        json_object_set_new(retry, "max_attempts", json_integer(n));
        for (size_t i = 0; i < 4; i++)
            if ((v = hg_args_get(args, retry_strs[i][0])))
                json_object_set_new(retry, retry_strs[i][1], json_string(v));
        if ((v = hg_args_get(args, "retry-factor"))) {
            char *end = NULL;
            double f = strtod(v, &end);
            if (!end || *end || end == v) {
                snprintf(err, err_size, "--retry-factor: \"%s\" is not a number", v);
                return HG_EINVAL;
            }
            json_object_set_new(retry, "factor", json_real(f));
        }
        size_t on_n = hg_args_count(args, "retry-on");
        if (on_n) {
            json_t *on = json_array();
            json_object_set_new(retry, "on", on);
            for (size_t i = 0; i < on_n; i++) {
                /* --retry-on a,b and --retry-on a --retry-on b alike */
                char *copy = strdup(hg_args_nth(args, "retry-on", i)), *save = NULL;
                for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
                     t = strtok_r(NULL, ",", &save))
                    json_array_append_new(on, json_string(t));
                free(copy);
            }
        }
    }
    if ((v = hg_args_get(args, "overlap"))) json_object_set_new(job, "overlap", json_string(v));
    static const char *const ints[][2] = {{"max-concurrent", "max_concurrent"},
                                          {"queue-max", "queue_max"}};
    for (size_t i = 0; i < 2; i++) {
        if (!(v = hg_args_get(args, ints[i][0]))) continue;
        if (s_count(ints[i][0], v, &n, err, err_size)) return HG_EINVAL;
        json_object_set_new(job, ints[i][1], json_integer(n));
    }
    return 0;
}

void hg_cli_policy_rows(FILE *out, const json_t *job)
{
    const json_t *r = json_object_get(job, "retry");
    if (json_is_object(r)) {
        char on[256] = "";
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(r, "on"), i, c)
            snprintf(on + strlen(on), sizeof on - strlen(on), "%s%s", i ? "," : "",
                     json_string_value(c) ? json_string_value(c) : "?");
        const char *backoff = hg_view_str(r, "backoff");
        fprintf(out, "%-14s %lld attempts, %s from %s",
                "Retry:", (long long) json_integer_value(json_object_get(r, "max_attempts")),
                backoff ? backoff : "?",
                hg_view_str(r, "initial") ? hg_view_str(r, "initial") : "?");
        if (backoff && strcmp(backoff, "exponential") == 0)
            fprintf(out, " x%g", json_number_value(json_object_get(r, "factor")));
        fprintf(out, " up to %s, jitter %s, on %s\n",
                hg_view_str(r, "max_delay") ? hg_view_str(r, "max_delay") : "?",
                hg_view_str(r, "jitter") ? hg_view_str(r, "jitter") : "?", on);
    } else {
        fprintf(out, "%-14s %s\n", "Retry:", "none");
    }
    const char *overlap = hg_view_str(job, "overlap");
    if (!overlap || strcmp(overlap, "allow") == 0) {
        fprintf(out, "%-14s %s\n", "Overlap:", "allow");
        return;
    }
    fprintf(out, "%-14s %s (max_concurrent %lld", "Overlap:", overlap,
            (long long) json_integer_value(json_object_get(job, "max_concurrent")));
    if (strcmp(overlap, "queue") == 0)
        fprintf(out, ", queue_max %lld",
                (long long) json_integer_value(json_object_get(job, "queue_max")));
    fprintf(out, ")\n");
}

static int s_cancel_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *id = args->pos[0];
    char *escaped = hg_client_escape(cli->client, id);
    if (!escaped) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    char path[256];
    snprintf(path, sizeof path, "/api/v1/runs/%.200s/cancel", escaped);
    free(escaped);
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "POST", path, NULL, 0, NULL, &doc);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else {
        const char *node = hg_view_str(doc, "node");
        fprintf(cli->out, "cancelling run %s%s%s\n", id, node ? " on " : "", node ? node : "");
    }
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_run_cancel = {
    .group = "run",
    .name = "cancel",
    .pos_usage = "ID",
    .pos_min = 1,
    .pos_max = 1,
    .summary = "Cancel a run in flight (the run is recorded \"cancelled\")",
    .needs_master = true,
    .run = s_cancel_run,
};
