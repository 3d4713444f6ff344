/* token_cmd: `hourglass-master token create|list|revoke`, the way back in
 * when no admin token is at hand: it works straight against MySQL with the
 * master's own settings (config file, environment, --mysql-* flags). */
#ifndef HG_MASTER_TOKEN_CMD_H
#define HG_MASTER_TOKEN_CMD_H

#include "hg_config.h"

#include <stddef.h>

/* Run `hourglass-master token ...` (argv[1] is "token"); defs are the
 * master's settings. Returns the exit status. */
int hg_token_cmd_main(int argc, char **argv, const hg_cfg_def_t *defs, size_t defs_n);

#endif
