/* hg_config: table-driven daemon settings (in the manner of Redis's
 * config.c). Each row names a setting once; from that name follow its INI
 * key ("mysql.host" is key host in section [mysql]), its environment
 * variable (HOURGLASS_MYSQL_HOST) and its flag (--mysql-host).
 *
 * Precedence, lowest to highest: built-in default, config file
 * (--config FILE or HOURGLASS_CONFIG), environment, command-line flags. */
#ifndef HG_CONFIG_H
#define HG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    HG_CFG_STR,      /* any string */
    HG_CFG_INT,      /* integer within [min, max] */
    HG_CFG_DURATION, /* Go-style duration ("500ms", "2s"), stored as ms within [min, max] */
    HG_CFG_BOOL,     /* true/false, yes/no, on/off, 1/0 */
} hg_cfg_type_t;

typedef struct {
    const char *name;   /* dotted name, e.g. "mysql.host" */
    hg_cfg_type_t type; /* value type */
    const char *def;    /* default, as text */
    int64_t min, max;   /* bounds for INT and DURATION */
    const char *help;   /* one line for --help */
} hg_cfg_def_t;

typedef struct hg_config hg_config_t;

/* defs must outlive the config. NULL on allocation failure. */
hg_config_t *hg_config_new(const hg_cfg_def_t *defs, size_t defs_n);
void hg_config_destroy(hg_config_t **cfg);

/* Apply file, environment and flags. Returns 0, 1 when --help was given
 * (usage already printed to stdout), or HG_ECONFIG with a message naming
 * the setting and its source in err. */
int hg_config_load(hg_config_t *cfg, const char *prog, int argc, char **argv, char *err,
                   size_t err_size);

/* Typed getters; the name must be one of the table's (programmer error
 * otherwise, asserted). Strings stay owned by the config. */
const char *hg_config_str(const hg_config_t *cfg, const char *name);
int64_t hg_config_int(const hg_config_t *cfg, const char *name);
bool hg_config_bool(const hg_config_t *cfg, const char *name);

/* Where the current value came from: "default", "file", "env" or "flag". */
const char *hg_config_source(const hg_config_t *cfg, const char *name);

/* Print every setting with flag, environment variable, default and help. */
void hg_config_usage(const hg_config_t *cfg, const char *prog, FILE *out);

#endif
