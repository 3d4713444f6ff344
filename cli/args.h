/* args: flags and positionals of one CLI subcommand, with the global flags
 * (--master, --token, -o/--output, --help) accepted anywhere on the line.
 *
 * hg_config serves the daemons, whose settings are one flat table; the CLI
 * needs a flag set per subcommand plus positionals, hence this small
 * parser. Values are not copied: they point into argv, which outlives them. */
#ifndef HG_CLI_ARGS_H
#define HG_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define HG_CLI_DEFAULT_MASTER "http://127.0.0.1:8642"

typedef struct {
    const char *name;    /* long name without "--", e.g. "http-url" */
    const char *metavar; /* value placeholder for usage ("URL"); NULL for a boolean flag */
    bool repeat;         /* may be given several times (otherwise the last one wins) */
    const char *help;    /* one line for --help */
} hg_flag_t;

/* Global flags as given on the command line; NULL when absent. */
typedef struct {
    const char *master; /* --master URL */
    const char *token;  /* --token T */
    const char *output; /* -o / --output table|json */
    bool help;          /* -h / --help */
} hg_globals_t;

typedef struct {
    const hg_flag_t *flags; /* the subcommand's flag table */
    size_t flags_n;         /* entries in flags */
    size_t *given_flag;     /* per occurrence: index into flags */
    const char **given_val; /* per occurrence: its value ("" for a boolean) */
    size_t given_n;         /* occurrences */
    const char **pos;       /* positional arguments, in order */
    size_t pos_n;           /* positionals */
} hg_args_t;

/* Parse argv[0..argc) against flags (the subcommand's words already
 * stripped). Global flags go into *globals, overriding what an earlier call
 * put there. Accepts "--flag value", "--flag=value", "-o json", "-ojson" and
 * "--" (everything after it is positional). Returns 0, or HG_EINVAL with a
 * one-line message in err (unknown flag, missing value), or HG_ENOMEM.
 * Free with hg_args_free even on failure. */
int hg_args_parse(hg_args_t *args, const hg_flag_t *flags, size_t flags_n, int argc, char **argv,
                  hg_globals_t *globals, char *err, size_t err_size);

/* Parse leading global flags only, stopping at the first word that is not
 * one (the command). *next gets the index of that word (argc when none).
 * 0 or HG_EINVAL with a message. */
int hg_args_parse_globals(int argc, char **argv, hg_globals_t *globals, int *next, char *err,
                          size_t err_size);

void hg_args_free(hg_args_t *args);

/* Accessors by flag name; the name must be in the table (asserted). */
size_t hg_args_count(const hg_args_t *args, const char *name);
const char *hg_args_nth(const hg_args_t *args, const char *name, size_t n); /* NULL past end */
const char *hg_args_get(const hg_args_t *args, const char *name);           /* last value or NULL */
bool hg_args_has(const hg_args_t *args, const char *name);

typedef enum { HG_OUTPUT_TABLE = 0, HG_OUTPUT_JSON = 1 } hg_output_t;

/* Global settings after precedence: flag > environment
 * (HOURGLASS_MASTER, HOURGLASS_TOKEN) > default. */
typedef struct {
    char master[2048];  /* base URL, no trailing slash; several are separated by commas */
    const char *token;  /* NULL when none */
    hg_output_t output; /* table or json */
} hg_settings_t;

/* Where the CLI keeps a token when neither --token nor HOURGLASS_TOKEN
 * gives one: $XDG_CONFIG_HOME/hourglass/token, else
 * $HOME/.config/hourglass/token. "" when neither variable is set. */
void hg_token_file_path(char *buf, size_t size);

/* Read the token kept in path (one line; blanks around it dropped) into
 * buf. 0; HG_ENOTFOUND when there is no such file; HG_EINVAL with a
 * message in err when group or others may read it (the token would be
 * theirs too), or when it is empty; HG_EIO when it cannot be read. */
int hg_token_file_load(const char *path, char *buf, size_t size, char *err, size_t err_size);

/* 0, or HG_EINVAL with a message (bad -o value, master URL not http(s)). */
int hg_settings_resolve(const hg_globals_t *globals, hg_settings_t *settings, char *err,
                        size_t err_size);

#endif
