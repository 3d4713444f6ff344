/* cmd_alert: `hourglass alert create|list|get|delete|test|history`, the
 * alert rules of the cluster and their deliveries (docs/api.md, Alerts;
 * docs/observability.md). A channel secret is read from a file when given
 * as --secret-file / --smtp-password-file, so it stays out of `ps`. */
#include "cli.h"
#include "hg_error.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest secret file read. */
#define S_SECRET_MAX 512

static const hg_flag_t s_create_flags[] = {
    {"event", "EVENT", true,
     "event to alert on (repeatable): failed, timeout, crashed, lost, skipped, late, recovered, "
     "missed"},
    {"namespace", "NS", false, "only jobs of this namespace (default: every namespace)"},
    {"job", "GLOB", false, "job name or glob (default: *)"},
    {"webhook", "URL", false, "webhook channel: POST the event as JSON to URL"},
    {"secret", "KEY", false, "webhook HMAC-SHA256 key (prefer --secret-file)"},
    {"secret-file", "FILE", false, "read the webhook key from FILE"},
    {"smtp-url", "URL", false, "e-mail channel: smtp://host[:port] or smtps://..."},
    {"from", "ADDR", false, "e-mail sender"},
    {"to", "ADDR", true, "e-mail recipient (repeatable)"},
    {"smtp-user", "USER", false, "SMTP login"},
    {"smtp-password-file", "FILE", false, "read the SMTP password from FILE"},
    {"starttls", "MODE", false, "required, try (default) or none"},
    {"threshold", "N", false, "send once N events happened within --window"},
    {"window", "DURATION", false, "threshold window, e.g. 10m"},
    {"silence", "DURATION", false,
     "after a send, nothing more for this job and event for DURATION"},
    {"no-dedup", NULL, false, "alert every event, not once per problem until it recovers"},
    {"late", "DURATION", false, "late: a start this long after the scheduled time"},
    {"missed", "DURATION", false, "missed: no success this long after a scheduled fire"},
};

/* Read a one-line secret from path (a trailing newline dropped). */
static int s_read_secret(hg_cli_t *cli, const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) return hg_cli_usage_fail(cli, "cannot read %s", path);
    size_t n = fread(buf, 1, size - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    buf[n] = '\0';
    if (more || n == 0) return hg_cli_usage_fail(cli, "%s: must hold 1-%zu bytes", path, size - 2);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return HG_EXIT_OK;
}

/* The channel object from the flags; NULL with the error printed. */
static json_t *s_channel(hg_cli_t *cli, const hg_args_t *args, int *rc)
{
    char secret[S_SECRET_MAX + 2] = "";
    const char *webhook = hg_args_get(args, "webhook"), *smtp = hg_args_get(args, "smtp-url");
    *rc = HG_EXIT_USAGE;
    if (!webhook == !smtp) {
        hg_cli_usage_fail(cli, "alert create: give one channel: --webhook URL or --smtp-url URL");
        return NULL;
    }
    if (webhook) {
        const char *key = hg_args_get(args, "secret"), *file = hg_args_get(args, "secret-file");
        if (file && (*rc = s_read_secret(cli, file, secret, sizeof secret)) != 0) return NULL;
        return json_pack("{s:s, s:s, s:s}", "type", "webhook", "url", webhook, "secret",
                         file  ? secret
                         : key ? key
                               : "");
    }
    json_t *to = json_array();
    for (size_t i = 0; i < hg_args_count(args, "to"); i++)
        json_array_append_new(to, json_string(hg_args_nth(args, "to", i)));
    json_t *ch = json_pack("{s:s, s:s, s:s, s:o}", "type", "email", "smtp_url", smtp, "from",
                           hg_args_get(args, "from") ?: "", "to", to);
    if (ch && hg_args_get(args, "smtp-user"))
        json_object_set_new(ch, "username", json_string(hg_args_get(args, "smtp-user")));
    if (ch && hg_args_get(args, "starttls"))
        json_object_set_new(ch, "starttls", json_string(hg_args_get(args, "starttls")));
    const char *file = hg_args_get(args, "smtp-password-file");
    if (ch && file) {
        if ((*rc = s_read_secret(cli, file, secret, sizeof secret)) != 0) {
            json_decref(ch);
            return NULL;
        }
        json_object_set_new(ch, "password", json_string(secret));
    }
    return ch;
}

static int s_create_run(hg_cli_t *cli, const hg_args_t *args)
{
    if (hg_args_count(args, "event") == 0)
        return hg_cli_usage_fail(cli, "alert create: --event is required");
    int rc;
    json_t *ch = s_channel(cli, args, &rc);
    if (!ch) return rc;
    json_t *events = json_array();
    for (size_t i = 0; i < hg_args_count(args, "event"); i++)
        json_array_append_new(events, json_string(hg_args_nth(args, "event", i)));
    json_t *body =
        json_pack("{s:s, s:o, s:o}", "name", args->pos[0], "events", events, "channel", ch);
    static const char *const strs[] = {"namespace", "job", "window", "silence", "late", "missed"};
    for (size_t i = 0; body && i < sizeof strs / sizeof strs[0]; i++)
        if (hg_args_get(args, strs[i]))
            json_object_set_new(body, strs[i], json_string(hg_args_get(args, strs[i])));
    const char *threshold = hg_args_get(args, "threshold");
    if (threshold) {
        char err[200];
        if (hg_cli_check_count("--threshold", threshold, 100000, err, sizeof err) != 0) {
            json_decref(body);
            return hg_cli_usage_fail(cli, "%s", err);
        }
        json_object_set_new(body, "threshold", json_integer(atol(threshold)));
    }
    if (hg_args_has(args, "no-dedup")) json_object_set_new(body, "dedup", json_false());
    json_t *doc = NULL;
    rc = hg_cli_call(cli, "POST", "/api/v1/alerts", NULL, 0, body, &doc);
    json_decref(body);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON)
        hg_cli_print_json(cli, doc);
    else
        fprintf(cli->out, "alert rule \"%s\" created\n", args->pos[0]);
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_alert_create = {
    .group = "alert",
    .name = "create",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_create_flags,
    .flags_n = sizeof s_create_flags / sizeof s_create_flags[0],
    .summary = "Create an alert rule (webhook or e-mail)",
    .needs_master = true,
    .run = s_create_run,
};

/* Print rows of list as a table of keys under headers. */
static void s_table(hg_cli_t *cli, const json_t *list, const char *const *headers,
                    const char *const *keys, size_t ncols)
{
    hg_table_t *table = hg_table_new(headers, ncols);
    if (!table) return;
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row)
    {
        char bufs[8][256], tmp[1100];
        const char *cells[8];
        for (size_t k = 0; k < ncols && k < 8; k++) {
            if (strcmp(keys[k], "events") == 0)
                cells[k] = hg_view_list(row, keys[k], bufs[k], sizeof bufs[k]);
            else if (strcmp(keys[k], "channel") == 0)
                cells[k] =
                    hg_view_text(json_object_get(row, "channel"), "type", bufs[k], sizeof bufs[k]);
            else if (strstr(keys[k], "_at"))
                cells[k] = hg_view_time(row, keys[k], bufs[k], sizeof bufs[k]);
            else
                cells[k] = hg_view_truncate(hg_view_text(row, keys[k], tmp, sizeof tmp), 60,
                                            bufs[k], sizeof bufs[k]);
        }
        hg_table_add_row(table, cells);
    }
    hg_table_print(table, cli->out);
    hg_table_destroy(&table);
}

static int s_list_run(hg_cli_t *cli, const hg_args_t *args)
{
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", "/api/v1/alerts", NULL, 0, NULL, &doc);
    if (rc != 0) return rc;
    const json_t *list = hg_view_array(doc, "alerts");
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else if (!list) {
        rc = hg_cli_fail(cli, "unexpected answer from master: no \"alerts\" list");
    } else {
        static const char *const headers[] = {"name",   "namespace", "job",
                                              "events", "channel",   "threshold"};
        static const char *const keys[] = {"name",   "namespace", "job",
                                           "events", "channel",   "threshold"};
        s_table(cli, list, headers, keys, 6);
    }
    json_decref(doc);
    return rc;
}

const hg_command_t hg_cmd_alert_list = {
    .group = "alert",
    .name = "list",
    .pos_usage = "",
    .summary = "List alert rules",
    .needs_master = true,
    .run = s_list_run,
};

/* "/api/v1/alerts/<name><suffix>"; caller frees. */
static char *s_path(hg_cli_t *cli, const char *name, const char *suffix)
{
    char *esc = hg_client_escape(cli->client, name);
    size_t size = esc ? strlen(esc) + strlen(suffix) + sizeof "/api/v1/alerts/" : 0;
    char *path = esc ? malloc(size) : NULL;
    if (path) snprintf(path, size, "/api/v1/alerts/%s%s", esc, suffix);
    free(esc);
    return path;
}

/* One call on a rule's path, its answer printed as JSON (or done). */
static int s_rule_call(hg_cli_t *cli, const char *method, const char *name, const char *suffix,
                       const char *done)
{
    char *path = s_path(cli, name, suffix);
    if (!path) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, method, path, NULL, 0, NULL, &doc);
    free(path);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON || !done)
        hg_cli_print_json(cli, doc);
    else
        fprintf(cli->out, done, name);
    json_decref(doc);
    return HG_EXIT_OK;
}

static int s_get_run(hg_cli_t *cli, const hg_args_t *args)
{
    return s_rule_call(cli, "GET", args->pos[0], "", NULL);
}

const hg_command_t hg_cmd_alert_get = {
    .group = "alert",
    .name = "get",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .summary = "Show an alert rule (its secret redacted)",
    .needs_master = true,
    .run = s_get_run,
};

static int s_delete_run(hg_cli_t *cli, const hg_args_t *args)
{
    return s_rule_call(cli, "DELETE", args->pos[0], "", "alert rule \"%s\" deleted\n");
}

const hg_command_t hg_cmd_alert_delete = {
    .group = "alert",
    .name = "delete",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .summary = "Delete an alert rule",
    .needs_master = true,
    .run = s_delete_run,
};

static int s_test_run(hg_cli_t *cli, const hg_args_t *args)
{
    return s_rule_call(cli, "POST", args->pos[0], "/test",
                       "test message of alert rule \"%s\" delivered\n");
}

const hg_command_t hg_cmd_alert_test = {
    .group = "alert",
    .name = "test",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .summary = "Deliver a test message over an alert rule's channel",
    .needs_master = true,
    .run = s_test_run,
};

static const hg_flag_t s_history_flags[] = {
    {"limit", "N", false, "at most N deliveries (default 100, at most 1000)"},
};

static int s_history_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *limit = hg_args_get(args, "limit");
    char err[200];
    if (hg_cli_check_count("--limit", limit, 1000, err, sizeof err) != 0)
        return hg_cli_usage_fail(cli, "%s", err);
    hg_query_t q[1] = {{"limit", limit}};
    char *path =
        args->pos_n ? s_path(cli, args->pos[0], "/history") : strdup("/api/v1/alerts:history");
    if (!path) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", path, q, 1, NULL, &doc);
    free(path);
    if (rc != 0) return rc;
    const json_t *list = hg_view_array(doc, "deliveries");
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else if (!list) {
        rc = hg_cli_fail(cli, "unexpected answer from master: no \"deliveries\" list");
    } else {
        static const char *const headers[] = {"id",     "rule",     "event",   "job",
                                              "status", "attempts", "created", "last_error"};
        static const char *const keys[] = {"id",     "rule",     "event",      "job",
                                           "status", "attempts", "created_at", "last_error"};
        s_table(cli, list, headers, keys, 8);
    }
    json_decref(doc);
    return rc;
}

const hg_command_t hg_cmd_alert_history = {
    .group = "alert",
    .name = "history",
    .pos_usage = "[NAME]",
    .pos_min = 0,
    .pos_max = 1,
    .flags = s_history_flags,
    .flags_n = sizeof s_history_flags / sizeof s_history_flags[0],
    .summary = "Alert deliveries (of one rule, or all): status, attempts, last error",
    .needs_master = true,
    .run = s_history_run,
};
