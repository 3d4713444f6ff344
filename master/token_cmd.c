/* token_cmd: API tokens managed from the master's host (token_cmd.h). */
#include "token_cmd.h"
#include "auth.h"
#include "db.h"
#include "hg_error.h"
#include "hg_time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_usage =
    "usage: hourglass-master token create --role ROLE --name NAME [--namespace NS]\n"
    "                                     [--expires DURATION] [master settings]\n"
    "       hourglass-master token list [master settings]\n"
    "       hourglass-master token revoke NAME [master settings]\n"
    "Works straight against MySQL (mysql.* settings, as the master reads them).\n"
    "ROLE: viewer, operator, editor or admin. create prints the token once.\n";

/* The command's own flags, taken out of argv; what is left are master
 * settings for hg_config_load. */
typedef struct {
    const char *role, *name, *ns, *expires; /* create's flags */
    const char *positional;                 /* revoke's NAME */
} s_flags_t;

static int s_split(int argc, char **argv, s_flags_t *f, char **rest, int *rest_n)
{
    static const char *own[] = {"--role", "--name", "--namespace", "--expires"};
    *rest_n = 0;
    rest[(*rest_n)++] = argv[0];
    for (int i = 3; i < argc; i++) {
        const char **slot[] = {&f->role, &f->name, &f->ns, &f->expires};
        bool taken = false;
        for (int k = 0; k < 4 && !taken; k++) {
            size_t n = strlen(own[k]);
            if (strcmp(argv[i], own[k]) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "hourglass-master: %s needs a value\n", own[k]);
                    return 2;
                }
                *slot[k] = argv[++i];
                taken = true;
            } else if (strncmp(argv[i], own[k], n) == 0 && argv[i][n] == '=') {
                *slot[k] = argv[i] + n + 1;
                taken = true;
            }
        }
        if (taken) continue;
        if (argv[i][0] != '-' && !f->positional) {
            f->positional = argv[i];
            continue;
        }
        rest[(*rest_n)++] = argv[i];
        /* A setting's value follows its flag unless written --flag=value. */
        if (argv[i][0] == '-' && !strchr(argv[i], '=') && strcmp(argv[i], "--help") != 0 &&
            i + 1 < argc)
            rest[(*rest_n)++] = argv[++i];
    }
    rest[*rest_n] = NULL;
    return 0;
}

static int s_create(MYSQL *db, const s_flags_t *f)
{
    hg_role_t role = hg_role_parse(f->role);
    if (!f->name || role == HG_ROLE_NONE) {
        fprintf(stderr,
                "hourglass-master: token create needs --name and --role "
                "(viewer, operator, editor or admin)\n%s",
                s_usage);
        return 2;
    }
    int64_t expires_ms = 0;
    if (f->expires) {
        int64_t d;
        if (hg_duration_parse_ms(f->expires, &d) != 0 || d <= 0) {
            fprintf(stderr, "hourglass-master: --expires: \"%s\" is not a duration (e.g. 720h)\n",
                    f->expires);
            return 2;
        }
        expires_ms = hg_now_ms() + d;
    }
    char text[HG_TOKEN_TEXT_SIZE], err[1024];
    int rc =
        hg_token_create(db, f->name, role, f->ns, expires_ms, "cli", text, NULL, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "hourglass-master: token create: %s\n", err);
        return 1;
    }
    /* The only place the token is ever shown: stdout, for the caller to
     * keep; the message goes to stderr so that $(...) captures the token
     * alone. */
    printf("%s\n", text);
    fflush(stdout);
    sodium_memzero(text, sizeof text);
    fprintf(stderr, "token \"%s\" (%s%s%s) created; it is shown only this once\n", f->name,
            hg_role_name(role), f->ns && *f->ns ? ", namespace " : "", f->ns ? f->ns : "");
    return 0;
}

static int s_list(MYSQL *db)
{
    json_t *list = NULL;
    char err[1024];
    if (hg_token_list(db, &list, err, sizeof err) != 0) {
        fprintf(stderr, "hourglass-master: token list: %s\n", err);
        return 1;
    }
    printf("%-24s %-9s %-16s %-25s %s\n", "NAME", "ROLE", "NAMESPACE", "EXPIRES", "REVOKED");
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        const char *ns = json_string_value(json_object_get(t, "namespace"));
        const char *ex = json_string_value(json_object_get(t, "expires_at"));
        const char *rv = json_string_value(json_object_get(t, "revoked_at"));
        printf("%-24s %-9s %-16s %-25s %s\n", json_string_value(json_object_get(t, "name")),
               json_string_value(json_object_get(t, "role")), ns ? ns : "*", ex ? ex : "-",
               rv ? rv : "-");
    }
    json_decref(list);
    return 0;
}

int hg_token_cmd_main(int argc, char **argv, const hg_cfg_def_t *defs, size_t defs_n)
{
    const char *sub = argc > 2 ? argv[2] : "";
    if (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "revoke") != 0) {
        fputs(s_usage, strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0 ? stdout : stderr);
        return strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0 ? 0 : 2;
    }
    s_flags_t f = {0};
    char **rest = calloc((size_t) argc + 1, sizeof *rest);
    int rest_n = 0;
    if (!rest) return 1;
    int rc = s_split(argc, argv, &f, rest, &rest_n);
    if (rc == 0 && strcmp(sub, "revoke") == 0 && !f.positional) {
        fprintf(stderr, "hourglass-master: token revoke needs the token's NAME\n");
        rc = 2;
    }
    hg_config_t *cfg = rc == 0 ? hg_config_new(defs, defs_n) : NULL;
    char err[1024] = "";
    if (rc == 0 && !cfg) rc = 1;
    if (rc == 0) {
        int lrc = hg_config_load(cfg, "hourglass-master token", rest_n, rest, err, sizeof err);
        if (lrc == 1) {
            fputs(s_usage, stdout);
            rc = -1;
        } else if (lrc != 0) {
            fprintf(stderr, "hourglass-master: %s\n", err);
            rc = 2;
        }
    }
    MYSQL *db = NULL;
    if (rc == 0) {
        hg_db_params_t p;
        if (hg_db_params_from_config(cfg, &p, err, sizeof err) == 0)
            db = hg_db_connect(&p, err, sizeof err);
        if (!db || sodium_init() < 0) {
            fprintf(stderr, "hourglass-master: %s\n", db ? "cannot initialise libsodium" : err);
            rc = 1;
        }
    }
    if (rc == 0) {
        if (strcmp(sub, "create") == 0) {
            rc = s_create(db, &f);
        } else if (strcmp(sub, "list") == 0) {
            rc = s_list(db);
        } else if (hg_token_revoke(db, f.positional, err, sizeof err) != 0) {
            fprintf(stderr, "hourglass-master: token revoke: %s\n", err);
            rc = 1;
        } else {
            fprintf(stderr, "token \"%s\" revoked\n", f.positional);
        }
    }
    hg_db_close(&db);
    hg_config_destroy(&cfg);
    free(rest);
    return rc < 0 ? 0 : rc;
}
