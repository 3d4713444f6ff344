/* cmd_admin: who may use the cluster. `hourglass token create|list|revoke`
 * (API tokens), `hourglass worker-key add|list|delete` (the CURVE keys of
 * workers, each bound to one node) and `hourglass audit` (the record of
 * every write through the API). All of them need an admin token. */
#include "cli.h"
#include "hg_error.h"
#include "hg_time.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

/* Print a list member of doc as a table of the given columns (JSON keys;
 * keys ending in "_at" or equal to "at" are shown as times). */
static int s_print_list(hg_cli_t *cli, json_t *doc, const char *member, const char *const *headers,
                        const char *const *keys, size_t ncols)
{
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
        return HG_EXIT_OK;
    }
    const json_t *list = hg_view_array(doc, member);
    if (!list) return hg_cli_fail(cli, "unexpected answer from master: no \"%s\" list", member);
    hg_table_t *table = hg_table_new(headers, ncols);
    if (!table) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row)
    {
        char bufs[8][256];
        const char *cells[8];
        for (size_t k = 0; k < ncols && k < 8; k++) {
            size_t n = strlen(keys[k]);
            bool time =
                strcmp(keys[k], "at") == 0 || (n > 3 && strcmp(keys[k] + n - 3, "_at") == 0);
            cells[k] = time ? hg_view_time(row, keys[k], bufs[k], sizeof bufs[k])
                            : hg_view_text(row, keys[k], bufs[k], sizeof bufs[k]);
        }
        hg_table_add_row(table, cells);
    }
    hg_table_print(table, cli->out);
    hg_table_destroy(&table);
    return HG_EXIT_OK;
}

/* ---------------------------------------------------------------------------
 * token
 * ------------------------------------------------------------------------ */

static const hg_flag_t s_token_create_flags[] = {
    {"role", "ROLE", false, "viewer, operator, editor or admin (required)"},
    {"namespace", "NS", false, "scope: the token sees and acts in this namespace only"},
    {"expires", "DURATION", false, "expire after DURATION (e.g. 720h); default never"},
};

static int s_token_create_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *role = hg_args_get(args, "role");
    if (!role) return hg_cli_usage_fail(cli, "token create: --role is required");
    json_t *body = json_pack("{s:s, s:s}", "name", args->pos[0], "role", role);
    if (!body) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    if (hg_args_get(args, "namespace"))
        json_object_set_new(body, "namespace", json_string(hg_args_get(args, "namespace")));
    if (hg_args_get(args, "expires"))
        json_object_set_new(body, "expires", json_string(hg_args_get(args, "expires")));
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "POST", "/api/v1/tokens", NULL, 0, body, &doc);
    json_decref(body);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else {
        const char *token = hg_view_str(doc, "token");
        /* The token alone on stdout, so that $(hourglass token create ...)
         * captures it; the advice goes to stderr. */
        fprintf(cli->out, "%s\n", token ? token : "-");
        fprintf(cli->err,
                "token \"%s\" (%s) created; it is shown only this once: keep it in "
                "~/.config/hourglass/token (mode 0600) or HOURGLASS_TOKEN\n",
                args->pos[0], role);
    }
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_token_create = {
    .group = "token",
    .name = "create",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_token_create_flags,
    .flags_n = sizeof s_token_create_flags / sizeof s_token_create_flags[0],
    .summary = "Create an API token (printed once)",
    .needs_master = true,
    .run = s_token_create_run,
};

static int s_token_list_run(hg_cli_t *cli, const hg_args_t *args)
{
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", "/api/v1/tokens", NULL, 0, NULL, &doc);
    if (rc != 0) return rc;
    static const char *const headers[] = {"name",    "role",    "namespace", "created",
                                          "expires", "revoked", "last_used"};
    static const char *const keys[] = {"name",       "role",       "namespace",   "created_at",
                                       "expires_at", "revoked_at", "last_used_at"};
    rc = s_print_list(cli, doc, "tokens", headers, keys, 7);
    json_decref(doc);
    return rc;
}

const hg_command_t hg_cmd_token_list = {
    .group = "token",
    .name = "list",
    .pos_usage = "",
    .summary = "List API tokens (never their values)",
    .needs_master = true,
    .run = s_token_list_run,
};

static int s_token_revoke_run(hg_cli_t *cli, const hg_args_t *args)
{
    char *name = hg_client_escape(cli->client, args->pos[0]);
    size_t size = name ? strlen(name) + sizeof "/api/v1/tokens/" : 0;
    char *path = name ? malloc(size) : NULL;
    if (!path) {
        free(name);
        return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    }
    snprintf(path, size, "/api/v1/tokens/%s", name);
    free(name);
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "DELETE", path, NULL, 0, NULL, &doc);
    free(path);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON)
        hg_cli_print_json(cli, doc);
    else
        fprintf(cli->out, "token \"%s\" revoked\n", args->pos[0]);
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_token_revoke = {
    .group = "token",
    .name = "revoke",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .summary = "Revoke an API token, at once on every master",
    .needs_master = true,
    .run = s_token_revoke_run,
};

/* ---------------------------------------------------------------------------
 * worker-key
 * ------------------------------------------------------------------------ */

static const hg_flag_t s_key_add_flags[] = {
    {"comment", "TEXT", false, "a note kept with the key"},
};

static int s_key_add_run(hg_cli_t *cli, const hg_args_t *args)
{
    json_t *body = json_pack("{s:s, s:s}", "node", args->pos[0], "public_key", args->pos[1]);
    if (!body) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    if (hg_args_get(args, "comment"))
        json_object_set_new(body, "comment", json_string(hg_args_get(args, "comment")));
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "POST", "/api/v1/worker-keys", NULL, 0, body, &doc);
    json_decref(body);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON)
        hg_cli_print_json(cli, doc);
    else
        fprintf(cli->out, "key %s admitted for node %s\n", args->pos[1], args->pos[0]);
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_worker_key_add = {
    .group = "worker-key",
    .name = "add",
    .pos_usage = "NODE PUBLIC_KEY",
    .pos_min = 2,
    .pos_max = 2,
    .flags = s_key_add_flags,
    .flags_n = sizeof s_key_add_flags / sizeof s_key_add_flags[0],
    .summary = "Admit a worker's CURVE public key (Z85) for one node name",
    .needs_master = true,
    .run = s_key_add_run,
};

static const hg_flag_t s_key_list_flags[] = {
    {"node", "NODE", false, "only the keys of this node"},
};

static int s_key_list_run(hg_cli_t *cli, const hg_args_t *args)
{
    hg_query_t q[] = {{"node", hg_args_get(args, "node")}};
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", "/api/v1/worker-keys", q, 1, NULL, &doc);
    if (rc != 0) return rc;
    static const char *const headers[] = {"node", "public_key", "created", "created_by", "comment"};
    static const char *const keys[] = {"node", "public_key", "created_at", "created_by", "comment"};
    rc = s_print_list(cli, doc, "worker_keys", headers, keys, 5);
    json_decref(doc);
    return rc;
}

const hg_command_t hg_cmd_worker_key_list = {
    .group = "worker-key",
    .name = "list",
    .pos_usage = "",
    .flags = s_key_list_flags,
    .flags_n = sizeof s_key_list_flags / sizeof s_key_list_flags[0],
    .summary = "List the admitted worker keys",
    .needs_master = true,
    .run = s_key_list_run,
};

static const hg_flag_t s_key_delete_flags[] = {
    {"node", "NODE", false, "delete every key of NODE instead of one key"},
};

static int s_key_delete_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *node = hg_args_get(args, "node");
    if ((args->pos_n == 0) == (node == NULL))
        return hg_cli_usage_fail(cli, "worker-key delete: give a PUBLIC_KEY or --node, not both");
    hg_query_t q[] = {{"public_key", args->pos_n ? args->pos[0] : NULL}, {"node", node}};
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "DELETE", "/api/v1/worker-keys", q, 2, NULL, &doc);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else {
        char n[32];
        fprintf(cli->out, "%s key(s) deleted\n", hg_view_text(doc, "deleted", n, sizeof n));
    }
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_worker_key_delete = {
    .group = "worker-key",
    .name = "delete",
    .pos_usage = "[PUBLIC_KEY]",
    .pos_min = 0,
    .pos_max = 1,
    .flags = s_key_delete_flags,
    .flags_n = sizeof s_key_delete_flags / sizeof s_key_delete_flags[0],
    .summary = "Stop admitting a worker key (or every key of --node)",
    .needs_master = true,
    .run = s_key_delete_run,
};

/* ---------------------------------------------------------------------------
 * audit
 * ------------------------------------------------------------------------ */

static const hg_flag_t s_audit_flags[] = {
    {"since", "TIME", false, "writes at or after TIME (RFC 3339, or a duration ago: 1h)"},
    {"limit", "N", false, "at most N rows (default 100, max 1000)"},
};

static int s_audit_run(hg_cli_t *cli, const hg_args_t *args)
{
    char msg[512], since[40] = "";
    const char *since_arg = hg_args_get(args, "since");
    if (hg_cli_check_count("limit", hg_args_get(args, "limit"), 1000, msg, sizeof msg) != 0 ||
        (since_arg &&
         hg_cli_time_arg("since", since_arg, hg_now_ms(), since, sizeof since, msg, sizeof msg)))
        return hg_cli_usage_fail(cli, "%s", msg);
    hg_query_t q[] = {{"since", since_arg ? since : NULL}, {"limit", hg_args_get(args, "limit")}};
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", "/api/v1/audit", q, 2, NULL, &doc);
    if (rc != 0) return rc;
    static const char *const headers[] = {"at",     "token",   "role",  "action",
                                          "object", "address", "status"};
    static const char *const keys[] = {"at",     "token",   "role",  "action",
                                       "object", "address", "status"};
    rc = s_print_list(cli, doc, "audit", headers, keys, 7);
    json_decref(doc);
    return rc;
}

const hg_command_t hg_cmd_audit = {
    .name = "audit",
    .pos_usage = "",
    .flags = s_audit_flags,
    .flags_n = sizeof s_audit_flags / sizeof s_audit_flags[0],
    .summary = "Show the audit log of writes through the API (admin)",
    .needs_master = true,
    .run = s_audit_run,
};
