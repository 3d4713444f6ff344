/* hg_config: defaults < file < environment < flags, from one table. */
#include "hg_config.h"
#include "hg_error.h"
#include "hg_time.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *value;        /* current value as text (owned) */
    const char *source; /* "default", "file", "env", "flag" */
    int64_t number;     /* parsed value for INT, DURATION and BOOL */
} s_slot_t;

struct hg_config {
    const hg_cfg_def_t *defs; /* the table (borrowed) */
    size_t defs_n;            /* rows in the table */
    s_slot_t *slots;          /* one per row */
    char *file;               /* config file path, if any (owned) */
    char *err;                /* first error while parsing the file */
    size_t err_size;          /* size of err */
    int failed;               /* an error was recorded */
};

hg_config_t *hg_config_new(const hg_cfg_def_t *defs, size_t defs_n)
{
    hg_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    cfg->defs = defs;
    cfg->defs_n = defs_n;
    cfg->slots = calloc(defs_n, sizeof *cfg->slots);
    if (!cfg->slots) {
        free(cfg);
        return NULL;
    }
    return cfg;
}

void hg_config_destroy(hg_config_t **p)
{
    if (!p || !*p) return;
    hg_config_t *cfg = *p;
    for (size_t i = 0; i < cfg->defs_n; i++)
        free(cfg->slots[i].value);
    free(cfg->slots);
    free(cfg->file);
    free(cfg);
    *p = NULL;
}

/* "mysql.host" -> "HOURGLASS_MYSQL_HOST" or "--mysql-host". */
static void s_env_name(const char *name, char *buf, size_t size)
{
    size_t n = (size_t) snprintf(buf, size, "HOURGLASS_");
    for (const char *p = name; *p && n + 1 < size; p++)
        buf[n++] = (*p == '.' || *p == '-') ? '_' : (char) toupper((unsigned char) *p);
    buf[n] = '\0';
}

static void s_flag_name(const char *name, char *buf, size_t size)
{
    size_t n = (size_t) snprintf(buf, size, "--");
    for (const char *p = name; *p && n + 1 < size; p++)
        buf[n++] = (*p == '.' || *p == '_') ? '-' : *p;
    buf[n] = '\0';
}

static int s_find(const hg_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->defs_n; i++)
        if (strcmp(cfg->defs[i].name, name) == 0) return (int) i;
    return -1;
}

static int s_parse_bool(const char *v, int64_t *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return HG_EINVAL;
}

/* Validate and store one value. On failure writes a message naming the
 * setting and where the value came from. */
static int s_set(hg_config_t *cfg, size_t i, const char *value, const char *source, char *err,
                 size_t err_size)
{
    const hg_cfg_def_t *d = &cfg->defs[i];
    int64_t number = 0;
    switch (d->type) {
    case HG_CFG_STR:
        break;
    case HG_CFG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end) {
            snprintf(err, err_size, "%s (from %s): \"%s\" is not an integer", d->name, source,
                     value);
            return HG_ECONFIG;
        }
        number = v;
        break;
    }
    case HG_CFG_DURATION:
        if (hg_duration_parse_ms(value, &number) != 0) {
            snprintf(err, err_size, "%s (from %s): \"%s\" is not a duration (e.g. 500ms, 2s, 1m)",
                     d->name, source, value);
            return HG_ECONFIG;
        }
        break;
    case HG_CFG_BOOL:
        if (s_parse_bool(value, &number) != 0) {
            snprintf(err, err_size, "%s (from %s): \"%s\" is not a boolean (true/false)", d->name,
                     source, value);
            return HG_ECONFIG;
        }
        break;
    }
    if ((d->type == HG_CFG_INT || d->type == HG_CFG_DURATION) && (d->min || d->max) &&
        (number < d->min || number > d->max)) {
        if (d->type == HG_CFG_INT)
            snprintf(err, err_size, "%s (from %s): %lld is out of range %lld-%lld", d->name, source,
                     (long long) number, (long long) d->min, (long long) d->max);
        else
            snprintf(err, err_size, "%s (from %s): \"%s\" is out of range %lldms-%lldms", d->name,
                     source, value, (long long) d->min, (long long) d->max);
        return HG_ECONFIG;
    }
    char *copy = strdup(value);
    if (!copy) return HG_ENOMEM;
    free(cfg->slots[i].value);
    cfg->slots[i].value = copy;
    cfg->slots[i].source = source;
    cfg->slots[i].number = number;
    return 0;
}

static int s_ini_handler(void *user, const char *section, const char *key, const char *value)
{
    hg_config_t *cfg = user;
    if (cfg->failed) return 0;
    char name[128];
    if (section && *section)
        snprintf(name, sizeof name, "%s.%s", section, key);
    else
        snprintf(name, sizeof name, "%s", key);
    /* Accept "api_port" in a file for the setting "api.port" too. */
    int i = s_find(cfg, name);
    if (i < 0) {
        for (char *p = name; *p; p++)
            if (*p == '_' || *p == '-') *p = '.';
        i = s_find(cfg, name);
    }
    if (i < 0) {
        snprintf(cfg->err, cfg->err_size, "%s: unknown setting \"%s\"", cfg->file, name);
        cfg->failed = 1;
        return 0;
    }
    if (s_set(cfg, (size_t) i, value, "file", cfg->err, cfg->err_size) != 0) {
        cfg->failed = 1;
        return 0;
    }
    return 1;
}

int hg_config_load(hg_config_t *cfg, const char *prog, int argc, char **argv, char *err,
                   size_t err_size)
{
    assert(cfg);
    cfg->failed = 0;
    free(cfg->file);
    cfg->file = NULL;
    for (size_t i = 0; i < cfg->defs_n; i++) {
        int rc = s_set(cfg, i, cfg->defs[i].def ? cfg->defs[i].def : "", "default", err, err_size);
        if (rc) return rc;
    }
    /* First pass over argv: --help and --config. */
    const char *file = getenv("HOURGLASS_CONFIG");
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            hg_config_usage(cfg, prog, stdout);
            return 1;
        }
        if (strcmp(argv[a], "--config") == 0) {
            if (a + 1 >= argc) {
                snprintf(err, err_size, "--config needs a file name");
                return HG_ECONFIG;
            }
            file = argv[++a];
        } else if (strncmp(argv[a], "--config=", 9) == 0) {
            file = argv[a] + 9;
        }
    }
    if (file && *file) {
        cfg->file = strdup(file);
        cfg->err = err;
        cfg->err_size = err_size;
        int rc = ini_parse(file, s_ini_handler, cfg);
        if (cfg->failed) return HG_ECONFIG;
        if (rc < 0) {
            snprintf(err, err_size, "%s: cannot read config file", file);
            return HG_ECONFIG;
        }
        if (rc > 0) {
            snprintf(err, err_size, "%s:%d: syntax error", file, rc);
            return HG_ECONFIG;
        }
    }
    for (size_t i = 0; i < cfg->defs_n; i++) {
        char env[128];
        s_env_name(cfg->defs[i].name, env, sizeof env);
        const char *v = getenv(env);
        if (v) {
            int rc = s_set(cfg, i, v, "env", err, err_size);
            if (rc) return rc;
        }
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--config") == 0) {
            a++;
            continue;
        }
        if (strncmp(arg, "--config=", 9) == 0) continue;
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, err_size, "unexpected argument \"%s\" (see --help)", arg);
            return HG_ECONFIG;
        }
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t) (eq - arg) : strlen(arg);
        int found = -1;
        for (size_t i = 0; i < cfg->defs_n; i++) {
            char flag[128];
            s_flag_name(cfg->defs[i].name, flag, sizeof flag);
            if (strlen(flag) == len && strncmp(flag, arg, len) == 0) {
                found = (int) i;
                break;
            }
        }
        if (found < 0) {
            snprintf(err, err_size, "unknown option \"%.*s\" (see --help)", (int) len, arg);
            return HG_ECONFIG;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (cfg->defs[found].type == HG_CFG_BOOL &&
                   (a + 1 >= argc || strncmp(argv[a + 1], "--", 2) == 0)) {
            value = "true";
        } else if (a + 1 < argc) {
            value = argv[++a];
        } else {
            snprintf(err, err_size, "option %s needs a value", arg);
            return HG_ECONFIG;
        }
        int rc = s_set(cfg, (size_t) found, value, "flag", err, err_size);
        if (rc) return rc;
    }
    return 0;
}

const char *hg_config_str(const hg_config_t *cfg, const char *name)
{
    int i = s_find(cfg, name);
    assert(i >= 0);
    return cfg->slots[i].value;
}

int64_t hg_config_int(const hg_config_t *cfg, const char *name)
{
    int i = s_find(cfg, name);
    assert(i >= 0);
    return cfg->slots[i].number;
}

bool hg_config_bool(const hg_config_t *cfg, const char *name)
{
    return hg_config_int(cfg, name) != 0;
}

const char *hg_config_source(const hg_config_t *cfg, const char *name)
{
    int i = s_find(cfg, name);
    assert(i >= 0);
    return cfg->slots[i].source;
}

void hg_config_usage(const hg_config_t *cfg, const char *prog, FILE *out)
{
    static const char *types[] = {"TEXT", "INT", "DURATION", "BOOL"};
    fprintf(out, "usage: %s [--config FILE] [--SETTING VALUE]...\n\n", prog);
    fprintf(out, "Settings (precedence: flag > environment > config file > default):\n\n");
    for (size_t i = 0; i < cfg->defs_n; i++) {
        const hg_cfg_def_t *d = &cfg->defs[i];
        char flag[128], env[128];
        s_flag_name(d->name, flag, sizeof flag);
        s_env_name(d->name, env, sizeof env);
        fprintf(out, "  %s %s\n      %s\n      env %s, file key %s, default \"%s\"\n", flag,
                types[d->type], d->help, env, d->name, d->def ? d->def : "");
    }
    fprintf(out, "\nConfig file: INI; \"mysql.host\" is key host in section [mysql].\n"
                 "Also read from HOURGLASS_CONFIG when --config is not given.\n");
}
