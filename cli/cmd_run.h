/* cmd_run: the CLI side of issue 11's run control: `hourglass run cancel
 * ID`, and the retry / overlap flags of `job create` (README, CLI). */
#ifndef HG_CLI_CMD_RUN_H
#define HG_CLI_CMD_RUN_H

#include "args.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Rows of `job create`'s flag table for the retry and overlap fields. */
#define HG_CLI_POLICY_FLAGS                                                                        \
    {"retry-max", "N", false, "attempts in all, the first included (retries: N - 1)"},             \
        {"retry-backoff", "KIND", false, "exponential (default) or fixed"},                        \
        {"retry-initial", "DURATION", false, "delay before the second attempt (default 1s)"},      \
        {"retry-factor", "X", false, "exponential growth per attempt (default 2)"},                \
        {"retry-max-delay", "DURATION", false,                                                     \
         "longest delay, Retry-After included (default 5m)"},                                      \
        {"retry-jitter", "KIND", false, "none (default) or full"},                                 \
        {"retry-on", "CLASS", true,                                                                \
         "what is retried: http_5xx http_429 connect timeout plugin_retry crashed lost"},          \
        {"overlap", "POLICY", false, "allow (default), forbid, replace or queue"},                 \
        {"max-concurrent", "N", false, "runs at once under forbid/replace/queue (default 1)"},     \
    {                                                                                              \
        "queue-max", "N", false, "fires waiting under queue (default 1)"                           \
    }

/* The "Retry:" and "Overlap:" lines of `job get`, in its layout. */
void hg_cli_policy_rows(FILE *out, const json_t *job);

/* Add the retry and overlap members the flags give to job. 0, or
 * HG_EINVAL with a message naming the flag in err. The master validates
 * the values (its errors name the field). */
int hg_cli_policy_flags(const hg_args_t *args, json_t *job, char *err, size_t err_size);

#endif
