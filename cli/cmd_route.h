/* cmd_route: the routing flags of `hourglass job create` (issue 11):
 * --labels 'region=eu,zone!=a,gpu,!spot', --strategy, --mode and
 * --shards, turned into the job's executor object, and the routing rows
 * of `job get` (placement, or why the job is unplaced). */
#ifndef HG_CLI_CMD_ROUTE_H
#define HG_CLI_CMD_ROUTE_H

#include "args.h"
#include "cli.h"

#include <jansson.h>

/* The routing flags, for a subcommand's flag table. */
#define HG_CLI_ROUTE_FLAGS                                                                         \
    {"labels", "SELECTOR", false,                                                                  \
     "run on workers whose labels match: k=v, k!=v, k (exists), !k (absent), comma-separated"},    \
        {"strategy", "NAME", false,                                                                \
         "least_loaded (default), round_robin, random or consistent_hash"},                        \
        {"mode", "MODE", false, "single (default) or broadcast (every matching worker runs it)"},  \
    {                                                                                              \
        "shards", "N", false, "run each fire as N shard runs spread over the workers"              \
    }

/* The selector text of --labels as the API's JSON form (a new object),
 * or NULL with a message in err naming the bad term. */
json_t *hg_cli_labels_parse(const char *text, char *err, size_t err_size);

/* Put the routing flags given in args into job's "executor" (made when
 * absent). 0, or HG_EINVAL with a message in err. */
int hg_cli_route_apply(const hg_args_t *args, json_t *job, char *err, size_t err_size);

/* The routing rows of the job detail view (labels, strategy, mode,
 * shards, placement) in the view's "LABEL: value" layout. */
void hg_cli_route_print(hg_cli_t *cli, const json_t *job);

#endif
